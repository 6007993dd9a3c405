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

/* Append "key": as a JSON member name (key is a plain ASCII literal). */
static nd_err_t nd_json_key(nd_buf_t *b, const char *key, int first)
{
    if (!first && nd_buf_putc(b, ','))
        return ND_ERR_NOMEM;
    if (nd_buf_putc(b, '"') || nd_buf_append(b, key, strlen(key)) || nd_buf_append(b, "\":", 2))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

/* Append a string member, or null when s is NULL. */
static nd_err_t nd_json_str_member(nd_buf_t *b, const char *key, const char *s, size_t len)
{
    if (nd_json_key(b, key, 0))
        return ND_ERR_NOMEM;
    if (!s)
        return nd_buf_append(b, "null", 4);
    return nd_buf_json_str(b, s, len);
}

/* Append an ISO 8601 time member, or null for ND_TIME_NONE. */
static nd_err_t nd_json_time_member(nd_buf_t *b, const char *key, int64_t ms)
{
    char t[40];
    if (ms == ND_TIME_NONE)
        return nd_json_str_member(b, key, NULL, 0);
    size_t n = nd_time_format_iso(ms, t, sizeof(t));
    return nd_json_str_member(b, key, t, n);
}

/* Append "cluster":"<16 hex>" as the first member. */
static nd_err_t nd_json_cluster_first(nd_buf_t *b, uint64_t id)
{
    char cid[17];
    nd_cluster_id_str(id, cid);
    if (nd_buf_putc(b, '{') || nd_json_key(b, "cluster", 1))
        return ND_ERR_NOMEM;
    return nd_buf_json_str(b, cid, 16);
}

nd_err_t nd_record_canonical(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d)
{
    size_t doc_len = art->doc_len;
    while (doc_len && (art->doc[doc_len - 1] == '\n' || art->doc[doc_len - 1] == '\r' ||
                       art->doc[doc_len - 1] == ' ' || art->doc[doc_len - 1] == '\t'))
        doc_len--;
    if (nd_json_cluster_first(out, d->cluster.id) ||
        nd_json_str_member(out, "uri", art->uri, art->uri_len) ||
        nd_json_str_member(out, "source", art->source, art->source_len) ||
        nd_json_str_member(out, "headline", art->headline, art->headline_len) ||
        nd_json_time_member(out, "event_time", art->event_time_ms) ||
        nd_json_key(out, "document", 0) || nd_buf_append(out, art->doc, doc_len) ||
        nd_buf_putc(out, '}'))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_record_membership(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d)
{
    int dup = d->verdict == ND_VERDICT_DUPLICATE;
    if (nd_buf_putc(out, '{') || nd_json_key(out, "id", 1) ||
        nd_buf_json_str(out, art->uri, art->uri_len))
        return ND_ERR_NOMEM;
    char cid[17];
    nd_cluster_id_str(d->cluster.id, cid);
    if (nd_json_str_member(out, "cluster", cid, 16) || nd_json_key(out, "duplicate", 0) ||
        nd_buf_printf(out, "%s", dup ? "true" : "false") ||
        nd_json_str_member(out, "duplicate_of", dup ? d->canonical_uri : NULL,
                           d->canonical_uri_len) ||
        nd_json_str_member(out, "matched", dup ? d->matched_uri : NULL, d->matched_uri_len) ||
        nd_json_key(out, "similarity", 0) || nd_buf_printf(out, "%.4f", d->similarity) ||
        nd_json_key(out, "exact", 0) || nd_buf_printf(out, "%s", d->exact ? "true" : "false") ||
        nd_json_str_member(out, "source", art->source, art->source_len) ||
        nd_json_time_member(out, "event_time", art->event_time_ms) || nd_buf_putc(out, '}'))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_record_cluster(nd_buf_t *out, const nd_decision_t *d)
{
    const nd_cluster_info_t *c = &d->cluster;
    if (nd_json_cluster_first(out, c->id) || nd_json_key(out, "count", 0) ||
        nd_buf_printf(out, "%u", c->count) || nd_json_key(out, "sources", 0) ||
        nd_buf_printf(out, "%u", c->sources) ||
        nd_json_time_member(out, "first_seen", c->first_seen_ms) ||
        nd_json_time_member(out, "last_seen", c->last_seen_ms) ||
        nd_json_str_member(out, "canonical", d->canonical_uri, d->canonical_uri_len) ||
        nd_buf_putc(out, '}'))
        return ND_ERR_NOMEM;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_record_reject(nd_buf_t *out, const nd_reject_t *r)
{
    const char *detail = r->detail ? r->detail : nd_err_str(r->reason);
    const char *name = nd_err_name(r->reason);
    if (nd_buf_putc(out, '{') || nd_json_key(out, "reason", 1) ||
        nd_buf_json_str(out, name, strlen(name)) ||
        nd_json_str_member(out, "error", detail, strlen(detail)) ||
        nd_json_str_member(out, "origin", r->origin, r->origin ? strlen(r->origin) : 0) ||
        nd_json_key(out, "partition", 0) || nd_buf_printf(out, "%d", (int)r->partition) ||
        nd_json_key(out, "offset", 0) || nd_buf_printf(out, "%lld", (long long)r->offset) ||
        nd_json_key(out, "input", 0))
        return ND_ERR_NOMEM;
    /* Echo the input as a valid JSON string: invalid UTF-8 becomes U+FFFD. */
    size_t len = r->input_len < ND_REJECT_ECHO_MAX ? r->input_len : ND_REJECT_ECHO_MAX;
    const unsigned char *s = (const unsigned char *)r->input;
    nd_buf_t clean = {0};
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80 ? 1 : nd_utf8_seq((const char *)s, len, i);
        if (n == 0) {
            if (nd_buf_append(&clean, "\xEF\xBF\xBD", 3))
                goto nomem;
            i++;
        } else {
            if (nd_buf_append(&clean, s + i, n))
                goto nomem;
            i += n;
        }
    }
    if (nd_buf_json_str(out, clean.p ? clean.p : "", clean.len) ||
        nd_json_key(out, "truncated", 0) ||
        nd_buf_printf(out, "%s", r->input_len > len ? "true" : "false") || nd_buf_putc(out, '}'))
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
        if ((err = nd_record_canonical(&s->buf, art, d)) ||
            (err = nd_sink_put(s, ND_OUT_CANONICAL, cid, 16, NULL)))
            return err;
    }
    nd_buf_reset(&s->buf);
    if ((err = nd_record_membership(&s->buf, art, d)) ||
        (err = nd_sink_put(s, ND_OUT_MEMBERSHIPS, art->uri, art->uri_len, NULL)))
        return err;
    nd_buf_reset(&s->buf);
    if ((err = nd_record_cluster(&s->buf, d)) ||
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
