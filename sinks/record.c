/*
 * record.c - the JSON encodings of the four record kinds, and the sink core
 * that maps decisions to records. Every sink uses these; nothing else in
 * newsdedup writes record JSON.
 */
#include "nd_sinks.h"

#include <string.h>

/* Cut for the input echoed in a JSON Lines reject record. */
#define ND_REJECT_ECHO_MAX (64 * 1024)

struct nd_sink_s {
    nd_sink_ops_t ops;
    void *opaque;
    nd_buf_t buf; /* reused for every record */
    nd_sink_stats_t stats;
};

const char *nd_out_name(nd_out_t out)
{
    static const char *names[ND_OUT__CNT] = {"canonical", "memberships", "clusters", "rejects"};
    return (unsigned)out < ND_OUT__CNT ? names[out] : "unknown";
}

/* Append a string literal (a constant key such as ",\"uri\":", or JSON
 * punctuation) without measuring it at run time. */
#define ND_LIT(b, lit) nd_buf_append((b), "" lit, sizeof(lit) - 1)

/* Append s as a JSON string, or null when s is NULL. */
static nd_err_t nd_json_str_or_null(nd_buf_t *b, const char *s, size_t len)
{
    if (!s)
        return ND_LIT(b, "null");
    return nd_buf_json_str(b, s, len);
}

/* Append an ISO 8601 time as a JSON string, or null for ND_TIME_NONE (the
 * time's characters never need escaping). */
static nd_err_t nd_json_time(nd_buf_t *b, int64_t ms)
{
    if (ms == ND_TIME_NONE)
        return ND_LIT(b, "null");
    if (ND_LIT(b, "\"") || nd_buf_append_iso_time(b, ms) || ND_LIT(b, "\""))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

/* Append true or false. */
static nd_err_t nd_json_bool(nd_buf_t *b, int v)
{
    return v ? ND_LIT(b, "true") : ND_LIT(b, "false");
}

/* Append "\"cluster\":\"<cid>\"" after the opening brace (cid: 16 hex). */
static nd_err_t nd_json_cluster_first(nd_buf_t *b, const char cid[17])
{
    if (ND_LIT(b, "{\"cluster\":\"") || nd_buf_append(b, cid, 16) || ND_LIT(b, "\""))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

/* The encoders, given the cluster id's text (nd_sink_emit makes it once). */
static nd_err_t nd_record_canonical_cid(nd_buf_t *out, const nd_article_t *art, const char cid[17])
{
    size_t doc_len = art->doc_len;
    while (doc_len && (art->doc[doc_len - 1] == '\n' || art->doc[doc_len - 1] == '\r' ||
                       art->doc[doc_len - 1] == ' ' || art->doc[doc_len - 1] == '\t'))
        doc_len--;
    if (nd_json_cluster_first(out, cid) || ND_LIT(out, ",\"uri\":") ||
        nd_json_str_or_null(out, art->uri, art->uri_len) || ND_LIT(out, ",\"source\":") ||
        nd_json_str_or_null(out, art->source, art->source_len) || ND_LIT(out, ",\"headline\":") ||
        nd_json_str_or_null(out, art->headline, art->headline_len) ||
        ND_LIT(out, ",\"event_time\":") || nd_json_time(out, art->event_time_ms) ||
        ND_LIT(out, ",\"document\":") || nd_buf_append(out, art->doc, doc_len) || ND_LIT(out, "}"))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

static nd_err_t nd_record_membership_cid(nd_buf_t *out, const nd_article_t *art,
                                         const nd_decision_t *d, const char cid[17])
{
    int dup = d->verdict == ND_VERDICT_DUPLICATE;
    if (ND_LIT(out, "{\"id\":") || nd_buf_json_str(out, art->uri, art->uri_len) ||
        ND_LIT(out, ",\"cluster\":\"") || nd_buf_append(out, cid, 16) ||
        (dup ? ND_LIT(out, "\",\"duplicate\":true,\"duplicate_of\":")
             : ND_LIT(out, "\",\"duplicate\":false,\"duplicate_of\":")) ||
        nd_json_str_or_null(out, dup ? d->canonical_uri : NULL, d->canonical_uri_len) ||
        ND_LIT(out, ",\"matched\":") ||
        nd_json_str_or_null(out, dup ? d->matched_uri : NULL, d->matched_uri_len) ||
        ND_LIT(out, ",\"similarity\":") || nd_buf_append_fixed(out, d->similarity, 4) ||
        ND_LIT(out, ",\"exact\":") || nd_json_bool(out, d->exact) || ND_LIT(out, ",\"source\":") ||
        nd_json_str_or_null(out, art->source, art->source_len) || ND_LIT(out, ",\"event_time\":") ||
        nd_json_time(out, art->event_time_ms) || ND_LIT(out, "}"))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

static nd_err_t nd_record_cluster_cid(nd_buf_t *out, const nd_decision_t *d, const char cid[17])
{
    const nd_cluster_info_t *c = &d->cluster;
    if (nd_json_cluster_first(out, cid) || ND_LIT(out, ",\"count\":") ||
        nd_buf_append_u64(out, c->count) || ND_LIT(out, ",\"sources\":") ||
        nd_buf_append_u64(out, c->sources) || ND_LIT(out, ",\"first_seen\":") ||
        nd_json_time(out, c->first_seen_ms) || ND_LIT(out, ",\"last_seen\":") ||
        nd_json_time(out, c->last_seen_ms) || ND_LIT(out, ",\"canonical\":") ||
        nd_json_str_or_null(out, d->canonical_uri, d->canonical_uri_len) || ND_LIT(out, "}"))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_record_canonical(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d)
{
    char cid[17];
    nd_cluster_id_str(d->cluster.id, cid);
    return nd_record_canonical_cid(out, art, cid);
}

nd_err_t nd_record_membership(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d)
{
    char cid[17];
    nd_cluster_id_str(d->cluster.id, cid);
    return nd_record_membership_cid(out, art, d, cid);
}

nd_err_t nd_record_cluster(nd_buf_t *out, const nd_decision_t *d)
{
    char cid[17];
    nd_cluster_id_str(d->cluster.id, cid);
    return nd_record_cluster_cid(out, d, cid);
}

/* The length of the longest prefix of s[0..len) that is valid UTF-8. */
static size_t nd_utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = nd_utf8_seq((const char *)s, len, i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

nd_err_t nd_record_reject(nd_buf_t *out, const nd_reject_t *r)
{
    const char *detail = r->detail ? r->detail : nd_err_str(r->reason);
    const char *name = nd_err_name(r->reason);
    if (ND_LIT(out, "{\"reason\":") || nd_buf_json_str(out, name, strlen(name)) ||
        ND_LIT(out, ",\"error\":") || nd_buf_json_str(out, detail, strlen(detail)) ||
        ND_LIT(out, ",\"origin\":") ||
        nd_json_str_or_null(out, r->origin, r->origin ? strlen(r->origin) : 0) ||
        ND_LIT(out, ",\"partition\":") || nd_buf_append_i64(out, r->partition) ||
        ND_LIT(out, ",\"offset\":") || nd_buf_append_i64(out, r->offset) ||
        ND_LIT(out, ",\"input\":"))
        return ND_ERR_NOMEM;
    /* Echo the input as a valid JSON string: invalid UTF-8 becomes U+FFFD.
     * Valid input (the usual case) is escaped in place, without a copy. */
    size_t len = r->input_len < ND_REJECT_ECHO_MAX ? r->input_len : ND_REJECT_ECHO_MAX;
    int truncated = r->input_len > len;
    const unsigned char *s = (const unsigned char *)(r->input ? r->input : "");
    if (!r->input)
        len = 0;
    size_t valid = nd_utf8_valid_prefix(s, len);
    nd_buf_t clean = {0};
    const char *echo = (const char *)s;
    size_t echo_len = valid;
    if (valid < len) {
        if (nd_buf_append(&clean, s, valid))
            goto nomem;
        for (size_t i = valid; i < len;) {
            size_t n = s[i] < 0x80 ? 1 : nd_utf8_seq((const char *)s, len, i);
            if (n == 0) {
                if (ND_LIT(&clean, "\xEF\xBF\xBD"))
                    goto nomem;
                i++;
            } else {
                if (nd_buf_append(&clean, s + i, n))
                    goto nomem;
                i += n;
            }
        }
        echo = clean.p;
        echo_len = clean.len;
    }
    if (nd_buf_json_str(out, echo, echo_len) || ND_LIT(out, ",\"truncated\":") ||
        nd_json_bool(out, truncated) || ND_LIT(out, "}"))
        goto nomem;
    nd_buf_free(&clean);
    return ND_ERR_NO_ERROR;
nomem:
    nd_buf_free(&clean);
    return ND_ERR_NOMEM;
}

nd_sink_t *nd_sink_new(const nd_sink_ops_t *ops, void *opaque)
{
    nd_sink_t *s = nd_calloc(1, sizeof(*s));
    if (!s) {
        if (ops->destroy)
            ops->destroy(opaque);
        return NULL;
    }
    s->ops = *ops;
    s->opaque = opaque;
    return s;
}

void nd_sink_destroy(nd_sink_t *s)
{
    if (!s)
        return;
    if (s->ops.destroy)
        s->ops.destroy(s->opaque);
    nd_buf_free(&s->buf);
    nd_free(s);
}

/* Write the record now in s->buf to output out. */
static nd_err_t nd_sink_put(nd_sink_t *s, nd_out_t out, const char *key, size_t key_len,
                            const nd_reject_t *rej)
{
    nd_err_t err = s->ops.write(s->opaque, out, key, key_len, s->buf.p, s->buf.len, rej);
    if (!err)
        s->stats.records[out]++;
    return err;
}

nd_err_t nd_sink_emit(nd_sink_t *s, const nd_article_t *art, const nd_decision_t *d)
{
    nd_err_t err;
    char cid[17];
    if (d->verdict == ND_VERDICT_REDELIVERY)
        return ND_ERR_NO_ERROR;
    nd_cluster_id_str(d->cluster.id, cid);
    if (d->verdict == ND_VERDICT_NEW || d->canonical_changed) {
        nd_buf_reset(&s->buf);
        if ((err = nd_record_canonical_cid(&s->buf, art, cid)) ||
            (err = nd_sink_put(s, ND_OUT_CANONICAL, cid, 16, NULL)))
            return err;
    }
    nd_buf_reset(&s->buf);
    if ((err = nd_record_membership_cid(&s->buf, art, d, cid)) ||
        (err = nd_sink_put(s, ND_OUT_MEMBERSHIPS, art->uri, art->uri_len, NULL)))
        return err;
    nd_buf_reset(&s->buf);
    if ((err = nd_record_cluster_cid(&s->buf, d, cid)) ||
        (err = nd_sink_put(s, ND_OUT_CLUSTERS, cid, 16, NULL)))
        return err;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_sink_reject(nd_sink_t *s, const nd_reject_t *r)
{
    nd_err_t err;
    nd_buf_reset(&s->buf);
    if ((err = nd_record_reject(&s->buf, r)))
        return err;
    return nd_sink_put(s, ND_OUT_REJECTS, NULL, 0, r);
}

nd_err_t nd_sink_flush(nd_sink_t *s, char *errstr, size_t errstr_size)
{
    if (!s->ops.flush)
        return ND_ERR_NO_ERROR;
    return s->ops.flush(s->opaque, errstr, errstr_size);
}

void nd_sink_stats(const nd_sink_t *s, nd_sink_stats_t *st)
{
    *st = s->stats;
}
