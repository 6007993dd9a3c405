/*
 * state_record.c - the state record: what the state topic keeps per accepted
 * article, enough to re-index it after a restart (nd_dedup_restore).
 *
 * Layout, little-endian:
 *   "NDS1" | u64 cluster | i64 event_time_ms | u64 body_len | u8 canonical |
 *   u32 uri_len | u32 source_len | signature (nd_sig_encode) | uri | source
 */
#include "nd_sinks.h"

#include <string.h>

#define ND_STATE_HDR (4 + 8 + 8 + 8 + 1 + 4 + 4)

static void nd_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t nd_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void nd_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t nd_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

nd_err_t nd_state_record_encode(nd_buf_t *out, const nd_article_t *art, const nd_sig_t *sig,
                                const nd_decision_t *d)
{
    uint8_t hdr[ND_STATE_HDR], wire[ND_SIG_WIRE_SIZE];
    if (art->uri_len == 0 || art->uri_len > UINT32_MAX || art->source_len > UINT32_MAX)
        return ND_ERR_INVALID_ARG;
    memcpy(hdr, ND_STATE_RECORD_MAGIC, 4);
    nd_put_u64(hdr + 4, d->cluster.id);
    nd_put_u64(hdr + 12, (uint64_t)art->event_time_ms);
    nd_put_u64(hdr + 20, (uint64_t)art->body_len);
    hdr[28] = (uint8_t)(d->verdict == ND_VERDICT_NEW || d->canonical_changed);
    nd_put_u32(hdr + 29, (uint32_t)art->uri_len);
    nd_put_u32(hdr + 33, (uint32_t)art->source_len);
    nd_sig_encode(sig, wire);
    nd_buf_reset(out);
    nd_err_t err;
    if ((err = nd_buf_append(out, hdr, sizeof(hdr))) ||
        (err = nd_buf_append(out, wire, sizeof(wire))) ||
        (err = nd_buf_append(out, art->uri, art->uri_len)) ||
        (err = nd_buf_append(out, art->source, art->source_len)))
        return err;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_state_record_decode(const void *buf, size_t len, nd_state_record_t *rec)
{
    const uint8_t *v = buf;
    if (!v || len < ND_STATE_HDR + ND_SIG_WIRE_SIZE || memcmp(v, ND_STATE_RECORD_MAGIC, 4))
        return ND_ERR_INVALID_ARG;
    uint32_t ulen = nd_get_u32(v + 29), slen = nd_get_u32(v + 33);
    if ((uint64_t)ND_STATE_HDR + ND_SIG_WIRE_SIZE + ulen + slen != len || ulen == 0 || v[28] > 1)
        return ND_ERR_INVALID_ARG;
    if (nd_sig_decode(v + ND_STATE_HDR, ND_SIG_WIRE_SIZE, &rec->sig))
        return ND_ERR_INVALID_ARG;
    const char *uri = (const char *)v + ND_STATE_HDR + ND_SIG_WIRE_SIZE;
    rec->item.uri = uri;
    rec->item.uri_len = ulen;
    rec->item.source = uri + ulen;
    rec->item.source_len = slen;
    rec->item.event_time_ms = (int64_t)nd_get_u64(v + 12);
    rec->item.body_len = (size_t)nd_get_u64(v + 20);
    rec->cluster_id = nd_get_u64(v + 4);
    rec->is_canonical = v[28];
    return ND_ERR_NO_ERROR;
}
