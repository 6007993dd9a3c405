/*
 * snapshot.c - save the engine to a file and load it back.
 *
 * File layout (little-endian):
 *     "NDSNAP\r\n"            8   magic (a text editor or a wrong file shows at once)
 *     version                 u32 ND_SNAP_VERSION
 *     slots                   u32 ND_SIG_SLOTS of the writer
 *     fingerprint             u64 nd_dedup_fingerprint() of the writer's settings
 *     payload_len             u64
 *     payload                 engine scalars, clusters, articles (in arrival order)
 *     checksum                u64 XXH3 of every byte before it
 * The load order is the check order: magic (foreign), version (version), size
 * and checksum (corrupt), fingerprint (config), then a bounds-checked parse
 * (corrupt). Articles are re-indexed in arrival order, so a loaded engine
 * makes the same decisions as the one that was saved.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup_int.h"

#define ND_SNAP_MAGIC   "NDSNAP\r\n"
#define ND_SNAP_VERSION 4u /* 4: band masks; 3: epoch, 32-bit times, masks and seqs; 2: NDS2 */
#define ND_SNAP_HDR     32

/* ------------------------------------------------------------------ write */

static nd_err_t w64(nd_buf_t *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return nd_buf_append(b, p, 8);
}
static nd_err_t w32(nd_buf_t *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return nd_buf_append(b, p, 4);
}

static int seq_cmp_ctx(const void *a, const void *b, void *ctx)
{
    const nd_dedup_t *dd = ctx;
    uint32_t x = nd_art_age(dd, nd_art(dd, *(const uint32_t *)a));
    uint32_t y = nd_art_age(dd, nd_art(dd, *(const uint32_t *)b));
    return x > y ? -1 : x < y;
}

/* Sort article indices by seq (heap order is not arrival order). */
static void sort_by_seq(const nd_dedup_t *dd, uint32_t *v, uint32_t n)
{
    /* heap sort: no recursion, no allocation, no qsort_r portability issue */
    for (uint32_t i = n / 2; i-- > 0;) {
        for (uint32_t r = i;;) {
            uint32_t c = 2 * r + 1;
            if (c >= n)
                break;
            if (c + 1 < n && seq_cmp_ctx(&v[c], &v[c + 1], (void *)dd) < 0)
                c++;
            if (seq_cmp_ctx(&v[r], &v[c], (void *)dd) >= 0)
                break;
            uint32_t t = v[r];
            v[r] = v[c];
            v[c] = t;
            r = c;
        }
    }
    for (uint32_t e = n; e-- > 1;) {
        uint32_t t = v[0];
        v[0] = v[e];
        v[e] = t;
        for (uint32_t r = 0;;) {
            uint32_t c = 2 * r + 1;
            if (c >= e)
                break;
            if (c + 1 < e && seq_cmp_ctx(&v[c], &v[c + 1], (void *)dd) < 0)
                c++;
            if (seq_cmp_ctx(&v[r], &v[c], (void *)dd) >= 0)
                break;
            uint32_t tt = v[r];
            v[r] = v[c];
            v[c] = tt;
            r = c;
        }
    }
}

static nd_err_t serialize(const nd_dedup_t *dd, nd_buf_t *b)
{
    nd_err_t err = ND_ERR_NO_ERROR;
    uint32_t ncl = nd_pool_end(&dd->clus), *map = NULL, *arts = NULL;
    map = nd_malloc(((size_t)ncl + 1) * sizeof(uint32_t));
    arts = nd_malloc(((size_t)dd->heap_len + 1) * sizeof(uint32_t));
    if (!map || !arts) {
        err = ND_ERR_NOMEM;
        goto done;
    }
#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((err = (x)))                                                                           \
            goto done;                                                                             \
    } while (0)
    TRY(nd_buf_append(b, ND_SNAP_MAGIC, 8));
    TRY(w32(b, ND_SNAP_VERSION));
    TRY(w32(b, ND_SIG_SLOTS));
    TRY(w64(b, nd_dedup_fingerprint(&dd->conf)));
    TRY(w64(b, 0)); /* payload length, patched below */
    TRY(w64(b, dd->next_seq));
    TRY(w64(b, (uint64_t)dd->watermark));
    TRY(w64(b, (uint64_t)dd->epoch_ms));
    TRY(w32(b, (uint32_t)dd->epoch_set));
    const nd_dedup_stats_t *s = &dd->st;
    TRY(w64(b, s->added));
    TRY(w64(b, s->duplicates));
    TRY(w64(b, s->redeliveries));
    TRY(w64(b, s->clusters));
    TRY(w64(b, s->evicted));
    TRY(w64(b, s->candidates));

    uint32_t live = 0;
    for (uint32_t i = 0; i < ncl; i++)
        map[i] = nd_pool_live_at(&dd->clus, i) && nd_clu(dd, i)->live ? live++ : UINT32_MAX;
    TRY(w32(b, live));
    for (uint32_t i = 0; i < ncl; i++) {
        if (map[i] == UINT32_MAX)
            continue;
        const nd_clu_t *c = nd_clu(dd, i);
        TRY(w64(b, c->id));
        TRY(w64(b, (uint64_t)c->first_ms));
        TRY(w64(b, (uint64_t)c->last_ms));
        TRY(w64(b, c->canon_body_len));
        TRY(w32(b, c->canon_rank));
        TRY(w32(b, c->count));
        TRY(w32(b, c->n_src));
        for (uint32_t j = 0; j < c->n_src; j++)
            TRY(w32(b, c->src[j]));
        TRY(w32(b, c->canon_uri_len));
        TRY(nd_buf_append(b, c->canon_uri, c->canon_uri_len));
    }

    for (uint32_t i = 0; i < dd->heap_len; i++)
        arts[i] = dd->heap[i].idx;
    sort_by_seq(dd, arts, dd->heap_len);
    TRY(w32(b, dd->heap_len));
    for (uint32_t i = 0; i < dd->heap_len; i++) {
        const nd_art_t *a = nd_art(dd, arts[i]);
        TRY(w64(b, a->uri_hash));
        TRY(w32(b, a->text_hash));
        TRY(w64(b, a->num_mask));
        TRY(w32(b, (uint32_t)a->time_s));
        TRY(w64(b, dd->next_seq - nd_art_age(dd, a)));
        TRY(w32(b, map[a->cluster]));
        TRY(w32(b, a->n_shingles));
        TRY(w32(b, a->band_mask));
        TRY(nd_buf_append(b, a->lo, ND_LO_BYTES));
        TRY(nd_buf_append(b, a->hi, ND_HI_BYTES));
    }
    uint64_t plen = b->len - ND_SNAP_HDR;
    for (int i = 0; i < 8; i++)
        b->p[24 + i] = (char)(plen >> (8 * i));
    TRY(w64(b, XXH3_64bits(b->p, b->len)));
#undef TRY
done:
    nd_free(map);
    nd_free(arts);
    return err;
}

nd_err_t nd_dedup_save(const nd_dedup_t *dd, const char *path, char *errstr, size_t errstr_size)
{
    nd_buf_t b = {0};
    nd_err_t err = serialize(dd, &b);
    if (err) {
        snprintf(errstr, errstr_size, "snapshot: out of memory");
        nd_buf_free(&b);
        return err;
    }
    size_t plen = strlen(path);
    char *tmp = nd_malloc(plen + 5);
    if (!tmp) {
        nd_buf_free(&b);
        snprintf(errstr, errstr_size, "snapshot: out of memory");
        return ND_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(errstr, errstr_size, "snapshot: cannot create %s: %s", tmp, strerror(errno));
        err = ND_ERR_IO;
    } else {
        int bad = fwrite(b.p, 1, b.len, f) != b.len;
        bad |= fflush(f) != 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0) {
            snprintf(errstr, errstr_size, "snapshot: cannot write %s: %s", path, strerror(errno));
            remove(tmp);
            err = ND_ERR_IO;
        }
    }
    nd_free(tmp);
    nd_buf_free(&b);
    return err;
}

/* ------------------------------------------------------------------- read */

typedef struct rd_s {
    const uint8_t *p, *end;
    int bad;
} rd_t;

static uint64_t r64(rd_t *r)
{
    if (r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}
static uint32_t r32(rd_t *r)
{
    if (r->end - r->p < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}
static const uint8_t *rbytes(rd_t *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static nd_dedup_t *fail(nd_dedup_t *dd, nd_err_t e, nd_err_t *err, char *errstr, size_t errstr_size,
                        const char *msg)
{
    nd_dedup_destroy(dd);
    if (err)
        *err = e;
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "snapshot: %s", msg);
    return NULL;
}

/* Parse clusters and articles into dd; @return 0 or an error message. */
static const char *parse_payload(nd_dedup_t *dd, rd_t *r, nd_err_t *e, uint32_t **cmap_out)
{
    *e = ND_ERR_SNAPSHOT_CORRUPT;
    uint64_t next_seq = r64(r);
    dd->watermark = (int64_t)r64(r);
    dd->epoch_ms = (int64_t)r64(r);
    uint32_t eset = r32(r);
    if (eset > 1)
        return "bad epoch";
    dd->epoch_set = (int)eset;
    dd->st.added = r64(r);
    dd->st.duplicates = r64(r);
    dd->st.redeliveries = r64(r);
    dd->st.clusters = r64(r);
    dd->st.evicted = r64(r);
    dd->st.candidates = r64(r);
    uint32_t ncl = r32(r);
    if (r->bad || ncl > (size_t)(r->end - r->p) / 44)
        return "truncated or impossible cluster count";
    uint32_t *cmap = nd_malloc(((size_t)ncl + 1) * sizeof(uint32_t));
    if (!cmap) {
        *e = ND_ERR_NOMEM;
        return "out of memory";
    }
    *cmap_out = cmap;
    for (uint32_t i = 0; i < ncl; i++) {
        nd_clu_t tmp = {0};
        tmp.id = r64(r);
        tmp.first_ms = (int64_t)r64(r);
        tmp.last_ms = (int64_t)r64(r);
        tmp.canon_body_len = r64(r);
        tmp.canon_rank = r32(r);
        tmp.count = r32(r);
        uint32_t nsrc = r32(r);
        if (r->bad || nsrc > (size_t)(r->end - r->p) / 4 || nsrc > tmp.count || tmp.count == 0)
            return "bad cluster record";
        if (nd_pool_reserve(&dd->clus) || nd_itab_reserve(&dd->clu_tab)) {
            *e = ND_ERR_NOMEM;
            return "out of memory";
        }
        uint32_t *src = NULL;
        if (nsrc) {
            src = nd_malloc((size_t)nsrc * sizeof(uint32_t));
            if (!src) {
                *e = ND_ERR_NOMEM;
                return "out of memory";
            }
            for (uint32_t j = 0; j < nsrc; j++)
                src[j] = r32(r);
        }
        uint32_t ulen = r32(r);
        const uint8_t *u = r->bad ? NULL : rbytes(r, ulen);
        char *canon = u && ulen ? nd_strndup((const char *)u, ulen) : NULL;
        if (!canon) {
            nd_free(src);
            if (u && ulen) {
                *e = ND_ERR_NOMEM;
                return "out of memory";
            }
            return "bad canonical uri";
        }
        uint32_t cidx = nd_pool_take(&dd->clus);
        nd_clu_t *c = nd_clu(dd, cidx);
        *c = tmp;
        c->src = src;
        c->n_src = c->src_cap = nsrc;
        c->canon_uri = canon;
        c->canon_uri_len = ulen;
        dd->extra_bytes += (size_t)ulen + 1 + (size_t)nsrc * sizeof(uint32_t);
        nd_itab_insert(&dd->clu_tab, c->id, cidx);
        cmap[i] = cidx;
    }
    uint32_t na = r32(r);
    const size_t arec = 3 * 8 + 5 * 4 + ND_LO_BYTES + ND_HI_BYTES;
    if (r->bad || na > (size_t)(r->end - r->p) / arec)
        return "truncated or impossible article count";
    if (na > dd->conf.max_articles) {
        *e = ND_ERR_SNAPSHOT_CONFIG;
        return "more articles than max_articles";
    }
    uint64_t last_seq = 0;
    for (uint32_t i = 0; i < na; i++) {
        nd_sig_t sig;
        uint64_t uh = r64(r);
        sig.text_hash = r32(r);
        sig.num_mask = r64(r);
        int64_t t = nd_dedup_time_ms(dd, (int32_t)r32(r));
        uint64_t seq = r64(r);
        uint32_t cl = r32(r);
        sig.n_shingles = r32(r);
        uint32_t band_mask = r32(r);
        const uint8_t *p = rbytes(r, ND_LO_BYTES);
        const uint8_t *hi = rbytes(r, ND_HI_BYTES);
        if (r->bad || cl >= ncl || (i && seq <= last_seq) || seq >= next_seq || !dd->epoch_set ||
            (uint64_t)band_mask >> dd->conf.bands || (!sig.n_shingles && band_mask))
            return "bad article record";
        if (nd_dedup_reserve(dd)) {
            *e = ND_ERR_NOMEM;
            return "out of memory";
        }
        nd_clu_t *c = nd_clu(dd, cmap[cl]);
        if (c->live == UINT32_MAX)
            return "bad article record";
        c->live++;
        dd->next_seq = seq;
        uint64_t bh[ND_BANDS_MAX];
        nd_band_hashes(dd, p, band_mask, bh);
        nd_dedup_index_article(dd, uh, t, &sig, p, hi, bh, cmap[cl], &band_mask, 0);
        last_seq = seq;
    }
    for (uint32_t i = 0; i < ncl; i++)
        if (nd_clu(dd, cmap[i])->live == 0)
            return "cluster without articles";
    if (r->p != r->end)
        return "trailing bytes in payload";
    dd->next_seq = next_seq;
    *e = ND_ERR_NO_ERROR;
    return NULL;
}

nd_dedup_t *nd_dedup_load_mem(const nd_dedup_conf_t *conf, const uint8_t *data, size_t len,
                              nd_err_t *err, char *errstr, size_t errstr_size)
{
    char msg[160];
    if (len < 8 || memcmp(data, ND_SNAP_MAGIC, 8) != 0)
        return fail(NULL, ND_ERR_SNAPSHOT_FOREIGN, err, errstr, errstr_size,
                    "not a newsdedup snapshot (bad magic)");
    if (len < ND_SNAP_HDR + 8)
        return fail(NULL, ND_ERR_SNAPSHOT_CORRUPT, err, errstr, errstr_size, "truncated header");
    rd_t r = {data + 8, data + len, 0};
    uint32_t version = r32(&r), slots = r32(&r);
    uint64_t fp = r64(&r), plen = r64(&r);
    if (version != ND_SNAP_VERSION) {
        snprintf(msg, sizeof(msg), "format version %u, this build reads version %u", version,
                 ND_SNAP_VERSION);
        return fail(NULL, ND_ERR_SNAPSHOT_VERSION, err, errstr, errstr_size, msg);
    }
    if (plen != len - ND_SNAP_HDR - 8) {
        snprintf(msg, sizeof(msg), "truncated or padded: payload says %llu bytes, file has %llu",
                 (unsigned long long)plen, (unsigned long long)(len - ND_SNAP_HDR - 8));
        return fail(NULL, ND_ERR_SNAPSHOT_CORRUPT, err, errstr, errstr_size, msg);
    }
    rd_t ck = {data + len - 8, data + len, 0};
    if (r64(&ck) != XXH3_64bits(data, len - 8))
        return fail(NULL, ND_ERR_SNAPSHOT_CORRUPT, err, errstr, errstr_size,
                    "checksum mismatch: the file is damaged");
    nd_dedup_conf_t def;
    if (!conf) {
        nd_dedup_conf_init(&def);
        conf = &def;
    }
    if (slots != ND_SIG_SLOTS || fp != nd_dedup_fingerprint(conf))
        return fail(NULL, ND_ERR_SNAPSHOT_CONFIG, err, errstr, errstr_size,
                    "made with different engine settings (shingle size, bands, rows, "
                    "threshold, seed, window, max_articles or canonical policy)");
    nd_dedup_t *dd = nd_dedup_new(conf, msg, sizeof(msg));
    if (!dd)
        return fail(NULL, ND_ERR_INVALID_ARG, err, errstr, errstr_size, msg);
    r.end = data + len - 8;
    nd_err_t e;
    uint32_t *cmap = NULL;
    const char *why = parse_payload(dd, &r, &e, &cmap);
    nd_free(cmap);
    if (why)
        return fail(dd, e, err, errstr, errstr_size, why);
    if (err)
        *err = ND_ERR_NO_ERROR;
    return dd;
}

nd_dedup_t *nd_dedup_load(const nd_dedup_conf_t *conf, const char *path, nd_err_t *err,
                          char *errstr, size_t errstr_size)
{
    char msg[512];
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, sizeof(msg), "cannot open %s: %s", path, strerror(errno));
        return fail(NULL, ND_ERR_IO, err, errstr, errstr_size, msg);
    }
    nd_buf_t b = {0};
    char chunk[65536];
    size_t n;
    nd_err_t e = ND_ERR_NO_ERROR;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((e = nd_buf_append(&b, chunk, n)))
            break;
    int rerr = ferror(f);
    fclose(f);
    if (e || rerr) {
        nd_buf_free(&b);
        snprintf(msg, sizeof(msg), "cannot read %s", path);
        return fail(NULL, e ? e : ND_ERR_IO, err, errstr, errstr_size, msg);
    }
    nd_dedup_t *dd =
        nd_dedup_load_mem(conf, (const uint8_t *)(b.p ? b.p : ""), b.len, err, errstr, errstr_size);
    nd_buf_free(&b);
    return dd;
}
