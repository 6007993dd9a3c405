/*
 * engine.c - configuration, the add/restore decision path, eviction, stats.
 *
 * nd_dedup_add() works in three phases so that an allocation failure leaves
 * the engine as it was: (1) evict what is due (frees only), (2) reserve every
 * table slot, pool record and string the commit may need, deciding the match
 * on the way (read-only), (3) commit, which cannot fail.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdio.h>
#include <string.h>

#include "dedup_int.h"

#define ND_TIME_NONE_ INT64_MIN

void nd_dedup_conf_init(nd_dedup_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->window_ms = 72LL * 3600 * 1000;
    conf->max_articles = 1000000;
    conf->shingle_tokens = 4;
    conf->bands = 32;
    conf->rows = 2;
    conf->threshold = 0.5;
    conf->canonical = ND_CANON_FIRST;
    conf->preferred_sources = NULL;
    conf->kernel = NULL;
    conf->seed = 0x6e6464656475700aULL;
}

uint64_t nd_dedup_fingerprint(const nd_dedup_conf_t *c)
{
    char buf[256];
    int n = snprintf(
        buf, sizeof(buf), "slots=%d/%d/%d k=%u b=%u r=%u t=%.17g seed=%llu w=%lld m=%u p=%d",
        ND_SIG_SLOTS, ND_LO_BITS, ND_HI_BITS, c->shingle_tokens, c->bands, c->rows, c->threshold,
        (unsigned long long)c->seed, (long long)c->window_ms, c->max_articles, (int)c->canonical);
    uint64_t h = XXH3_64bits(buf, (size_t)n);
    const char *ps = c->preferred_sources ? c->preferred_sources : "";
    return XXH3_64bits_withSeed(ps, strlen(ps), h);
}

uint64_t nd_dedup_uri_hash(const nd_dedup_t *dd, const char *uri, size_t len)
{
    return XXH3_64bits_withSeed(uri, len, dd->conf.seed);
}

uint32_t nd_dedup_src_hash(const nd_dedup_t *dd, const char *src, size_t len)
{
    return (uint32_t)XXH3_64bits_withSeed(src, len, dd->conf.seed ^ 0x5352435352435352ULL);
}

/* ------------------------------------------------------ table hash funcs */

static void uri_hash_fn(const void *ctx, uint32_t aux, const uint32_t *idx, uint32_t n, uint64_t *h)
{
    (void)aux;
    for (uint32_t i = 0; i < n; i++)
        __builtin_prefetch(nd_art(ctx, idx[i]));
    for (uint32_t i = 0; i < n; i++)
        h[i] = nd_art(ctx, idx[i])->uri_hash;
}
/* The text table (empty texts only) is keyed by the stored 32 bits. */
static inline uint64_t text_key(uint32_t text_hash)
{
    return text_hash * 0x9E3779B97F4A7C15ULL;
}
static void text_hash_fn(const void *ctx, uint32_t aux, const uint32_t *idx, uint32_t n,
                         uint64_t *h)
{
    (void)aux;
    for (uint32_t i = 0; i < n; i++)
        h[i] = text_key(nd_art(ctx, idx[i])->text_hash);
}
static void band_hash_fn(const void *ctx, uint32_t aux, const uint32_t *idx, uint32_t n,
                         uint64_t *h)
{
    const nd_dedup_t *dd = ctx;
    uint32_t rows = dd->conf.rows, off = aux * rows;
    for (uint32_t i = 0; i < n; i++)
        __builtin_prefetch(nd_art(dd, idx[i])->lo + 3 * (off >> 1));
#if ND_LO_BITS == 12
    if (rows == 2) {
        for (uint32_t i = 0; i < n; i++)
            h[i] = nd_band_hash2(dd, nd_art(dd, idx[i])->lo, aux);
        return;
    }
#endif
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = nd_art(dd, idx[i])->lo;
        uint16_t lo[ND_SIG_LO];
        for (uint32_t r = 0; r < rows; r++)
            lo[off + r] = (uint16_t)nd_lo_get(p, off + r);
        h[i] = nd_band_hash(dd->conf.seed, aux, lo, rows);
    }
}
static void clu_hash_fn(const void *ctx, uint32_t aux, const uint32_t *idx, uint32_t n, uint64_t *h)
{
    (void)aux;
    for (uint32_t i = 0; i < n; i++)
        h[i] = nd_clu(ctx, idx[i])->id;
}

/* ------------------------------------------------------------ new, destroy */

static void errf(char *errstr, size_t errstr_size, const char *msg)
{
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s", msg);
}

static nd_err_t parse_preferred(nd_dedup_t *dd)
{
    const char *s = dd->preferred;
    uint32_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    dd->pref_hash = nd_calloc(n, sizeof(uint32_t));
    if (!dd->pref_hash)
        return ND_ERR_NOMEM;
    while (*s) {
        const char *e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        const char *a = s, *b = e;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a)
            dd->pref_hash[dd->n_pref++] = nd_dedup_src_hash(dd, a, (size_t)(b - a));
        s = *e ? e + 1 : e;
    }
    return ND_ERR_NO_ERROR;
}

nd_dedup_t *nd_dedup_new(const nd_dedup_conf_t *conf, char *errstr, size_t errstr_size)
{
    nd_dedup_conf_t def;
    if (!conf) {
        nd_dedup_conf_init(&def);
        conf = &def;
    }
    if (conf->shingle_tokens < 1 || conf->shingle_tokens > 16) {
        errf(errstr, errstr_size, "shingle_tokens must be 1..16");
        return NULL;
    }
    if (conf->rows < 2 || conf->bands < 1 || conf->bands * conf->rows > ND_SIG_LO) {
        snprintf(errstr, errstr_size, "bands x rows must have rows >= 2 and bands*rows <= %d",
                 ND_SIG_LO);
        return NULL;
    }
    if (!(conf->threshold > 0.0 && conf->threshold <= 1.0)) {
        errf(errstr, errstr_size, "threshold must be in (0, 1]");
        return NULL;
    }
    if (conf->window_ms <= 0) {
        errf(errstr, errstr_size, "window_ms must be positive");
        return NULL;
    }
    if (conf->max_articles < 1 || conf->max_articles > ND_ITAB_MAX_IDX) {
        snprintf(errstr, errstr_size, "max_articles must be 1..%u", ND_ITAB_MAX_IDX);
        return NULL;
    }
    if (conf->canonical > ND_CANON_SOURCE) {
        errf(errstr, errstr_size, "unknown canonical policy");
        return NULL;
    }
    const nd_sign_kernel_t *kern = nd_sign_kernel_find(conf->kernel);
    if (!kern) {
        snprintf(errstr, errstr_size,
                 "signature kernel \"%s\" is unknown or not supported "
                 "by this build and CPU",
                 conf->kernel);
        return NULL;
    }
    nd_dedup_t *dd = nd_calloc(1, sizeof(*dd));
    if (!dd) {
        errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    dd->conf = *conf;
    dd->kern = kern;
    dd->watermark = ND_TIME_NONE_;
    dd->ev_idx = UINT32_MAX;
    dd->conf.kernel = NULL; /* not owned; the kernel is dd->kern */
    dd->preferred = nd_strndup(conf->preferred_sources ? conf->preferred_sources : "",
                               conf->preferred_sources ? strlen(conf->preferred_sources) : 0);
    dd->band_tab = nd_calloc(conf->bands, sizeof(nd_itab_t));
    if (!dd->preferred || !dd->band_tab || parse_preferred(dd) != ND_ERR_NO_ERROR) {
        nd_free(dd->preferred);
        nd_free(dd->band_tab);
        nd_free(dd->pref_hash);
        nd_free(dd);
        errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    dd->conf.preferred_sources = dd->preferred;
    nd_pool_init(&dd->arts, sizeof(nd_art_t));
    nd_pool_init(&dd->clus, sizeof(nd_clu_t));
    nd_itab_init(&dd->uri_tab, uri_hash_fn, dd, 0);
    nd_itab_init(&dd->text_tab, text_hash_fn, dd, 0);
    nd_itab_init(&dd->clu_tab, clu_hash_fn, dd, 0);
    for (uint32_t b = 0; b < conf->bands; b++) {
        nd_itab_init(&dd->band_tab[b], band_hash_fn, dd, b);
        dd->band_seed[b] = nd_band_seed(conf->seed, b);
    }
    nd_densify_tab_init(&dd->dens, conf->seed);
    return dd;
}

void nd_dedup_destroy(nd_dedup_t *dd)
{
    if (!dd)
        return;
    for (uint32_t i = 0; i < nd_pool_end(&dd->clus); i++) {
        if (!nd_pool_live_at(&dd->clus, i))
            continue;
        nd_clu_t *c = nd_clu(dd, i);
        nd_free(c->canon_uri);
        nd_free(c->src);
    }
    nd_pool_free(&dd->arts);
    nd_pool_free(&dd->clus);
    nd_itab_free(&dd->uri_tab);
    nd_itab_free(&dd->text_tab);
    nd_itab_free(&dd->clu_tab);
    for (uint32_t b = 0; b < dd->conf.bands; b++)
        nd_itab_free(&dd->band_tab[b]);
    nd_free(dd->band_tab);
    nd_free(dd->heap);
    nd_free(dd->pref_hash);
    nd_free(dd->preferred);
    nd_free(dd->prev_canon);
    nd_free(dd);
}

const char *nd_dedup_kernel_name(const nd_dedup_t *dd)
{
    return dd->kern->name;
}

nd_err_t nd_dedup_sign(const nd_dedup_t *dd, const char *text, size_t len, nd_sig_t *sig)
{
    nd_sign_with(dd->kern, &dd->dens, dd->conf.shingle_tokens, dd->conf.seed, text ? text : "",
                 text ? len : 0, sig);
    return ND_ERR_NO_ERROR;
}

void nd_cluster_id_str(uint64_t id, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 15; k >= 0; k--, id >>= 4)
        out[k] = hex[id & 15];
    out[16] = '\0';
}

/* ------------------------------------------------------------------- heap */

/* Eviction order: event time, then arrival (the older first). Only the top is
 * ever removed, so articles need not know their heap position. */
static inline int heap_less(const nd_dedup_t *dd, const nd_heap_ent_t *x, const nd_heap_ent_t *y)
{
    return x->time_s < y->time_s ||
           (x->time_s == y->time_s &&
            nd_art_age(dd, nd_art(dd, x->idx)) > nd_art_age(dd, nd_art(dd, y->idx)));
}

static void heap_up(nd_dedup_t *dd, uint32_t pos)
{
    nd_heap_ent_t e = dd->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!heap_less(dd, &e, &dd->heap[parent]))
            break;
        dd->heap[pos] = dd->heap[parent];
        pos = parent;
    }
    dd->heap[pos] = e;
}

static void heap_down(nd_dedup_t *dd, uint32_t pos)
{
    nd_heap_ent_t e = dd->heap[pos];
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= dd->heap_len)
            break;
        if (c + 1 < dd->heap_len && heap_less(dd, &dd->heap[c + 1], &dd->heap[c]))
            c++;
        if (!heap_less(dd, &dd->heap[c], &e))
            break;
        dd->heap[pos] = dd->heap[c];
        pos = c;
    }
    dd->heap[pos] = e;
}

/* Remove the top; give back memory when the heap is a quarter full. */
static void heap_pop(nd_dedup_t *dd)
{
    nd_heap_ent_t last = dd->heap[--dd->heap_len];
    if (dd->heap_len) {
        dd->heap[0] = last;
        heap_down(dd, 0);
    }
    if (dd->heap_cap > 1024 && dd->heap_len < dd->heap_cap / 4) {
        nd_heap_ent_t *h = nd_realloc(dd->heap, (size_t)(dd->heap_cap / 2) * sizeof(*h));
        if (h) {
            dd->heap = h;
            dd->heap_cap /= 2;
        }
    }
}

static nd_err_t heap_reserve(nd_dedup_t *dd)
{
    if (dd->heap_len < dd->heap_cap)
        return ND_ERR_NO_ERROR;
    uint32_t nc = dd->heap_cap ? dd->heap_cap * 2 : 1024;
    nd_heap_ent_t *h = nd_realloc(dd->heap, (size_t)nc * sizeof(*h));
    if (!h)
        return ND_ERR_NOMEM;
    dd->heap = h;
    dd->heap_cap = nc;
    return ND_ERR_NO_ERROR;
}

/* --------------------------------------------------------------- eviction */

/* The keys of article idx's bands (those of its band_mask) into bh, and the
 * loads of its buckets, uri bucket and cluster started. */
static void evict_load(nd_dedup_t *dd, uint32_t idx, uint64_t *bh)
{
    const nd_art_t *a = nd_art(dd, idx);
    __builtin_prefetch(nd_clu(dd, a->cluster));
    nd_itab_prefetch(&dd->uri_tab, a->uri_hash);
    if (a->band_mask)
        nd_band_hashes(dd, a->lo, a->band_mask, bh); /* which prefetches the buckets */
}

/* evict_load(), or what the eviction pipeline loaded an add ago. */
static void evict_keys(nd_dedup_t *dd, uint32_t idx, uint64_t *bh)
{
    if (idx == dd->ev_idx) { /* evict_ahead() did it */
        memcpy(bh, dd->ev_bh, sizeof(dd->ev_bh));
        dd->ev_idx = UINT32_MAX;
        return;
    }
    evict_load(dd, idx, bh);
}

/*
 * Load the home bucket of every band entry the evictions of due[0..n) will
 * delete, in one loop with no branch on the tables' contents, so that their
 * cache misses are in flight together: each deletion's probe ends in a
 * mispredicted branch, which stops the processor from running ahead to the
 * next one's loads (the candidate search's touch loop, for the same reason).
 */
static void evict_touch(const nd_dedup_t *dd, const uint32_t *due, uint64_t (*bh)[ND_BANDS_MAX],
                        uint32_t n)
{
    uint32_t touch = 0;
    for (uint32_t i = 0; i < n; i++) {
        const nd_art_t *a = nd_art(dd, due[i]);
        if (!a->n_shingles)
            continue;
        for (uint32_t m = a->band_mask; m; m &= m - 1) {
            uint32_t b = (uint32_t)__builtin_ctz(m);
            const nd_itab_t *t = &dd->band_tab[b];
            if (t->t[1])
                touch += t->t[1][(uint32_t)bh[i][b] & t->mask[1]];
        }
    }
    __asm__ volatile("" : : "r"(touch)); /* keep the loads */
}

/* Remove article idx, already off the heap, with the keys evict_keys() gave:
 * its entries, its cluster's hold, its record. */
static void evict_one(nd_dedup_t *dd, uint32_t idx, const uint64_t *bh)
{
    nd_art_t *a = nd_art(dd, idx);
    nd_clu_t *c = nd_clu(dd, a->cluster);
    nd_itab_delete(&dd->uri_tab, a->uri_hash, idx);
    if (!a->n_shingles)
        nd_itab_delete(&dd->text_tab, text_key(a->text_hash), idx);
    else
        for (uint32_t b = 0; b < dd->conf.bands; b++)
            if (a->band_mask >> b & 1)
                nd_itab_delete(&dd->band_tab[b], bh[b], idx);
    dd->itab_del--;
    if (--c->live == 0)
        nd_clu_release(dd, a->cluster);
    nd_pool_put(&dd->arts, idx);
    dd->st.indexed--;
    dd->st.evicted++;
}

/* Evict the article at the top of the heap. */
static void evict_top(nd_dedup_t *dd)
{
    uint64_t bh[ND_BANDS_MAX];
    uint32_t idx = dd->heap[0].idx;
    evict_keys(dd, idx, bh);
    heap_pop(dd);
    evict_one(dd, idx, bh);
}

/*
 * The eviction pipeline, run at the end of each add's eviction step: the
 * article at the top of the heap, whose record an earlier add prefetched,
 * gets its band keys computed and the buckets, uri bucket and cluster its
 * eviction will touch prefetched, and the record of the next in line (the
 * lesser child of the top) is prefetched. An eviction a later add makes then
 * finds its lines in the cache instead of waiting for ~35 misses.
 */
static void evict_ahead(nd_dedup_t *dd)
{
    if (!dd->heap_len)
        return;
    uint32_t top = dd->heap[0].idx;
    if (top != dd->ev_idx) {
        evict_load(dd, top, dd->ev_bh);
        dd->ev_idx = top;
    }
    if (dd->heap_len > 1) {
        uint32_t n = dd->heap_len > 2 && heap_less(dd, &dd->heap[2], &dd->heap[1]) ? 2 : 1;
        const char *r = (const char *)nd_art(dd, dd->heap[n].idx);
        __builtin_prefetch(r); /* the fields up to lo: 136 bytes, up to 4 lines */
        __builtin_prefetch(r + 64);
        __builtin_prefetch(r + 128);
        __builtin_prefetch(r + offsetof(nd_art_t, lo) + ND_LO_BYTES - 1);
    }
}

static int64_t window_cutoff(const nd_dedup_t *dd, int64_t wm)
{
    if (wm == ND_TIME_NONE_ || wm < INT64_MIN + dd->conf.window_ms)
        return INT64_MIN;
    return wm - dd->conf.window_ms;
}

/* The cutoff (ms) as stored seconds: an article is out when its time_s is
 * below it (kept up to a second longer than the exact cutoff). */
static int32_t cutoff_s(const nd_dedup_t *dd, int64_t cutoff)
{
    int64_t d;
    if (cutoff == INT64_MIN || !dd->epoch_set)
        return INT32_MIN;
    if (__builtin_sub_overflow(cutoff, dd->epoch_ms, &d))
        return cutoff > dd->epoch_ms ? INT32_MAX : INT32_MIN;
    if (d <= (int64_t)INT32_MIN * 1000)
        return INT32_MIN;
    if (d >= (int64_t)INT32_MAX * 1000)
        return INT32_MAX;
    return (int32_t)(d >= 0 ? d / 1000 : -((-d + 999) / 1000)); /* floor */
}

int32_t nd_dedup_time_s(nd_dedup_t *dd, int64_t t)
{
    if (!dd->epoch_set) {
        dd->epoch_ms = t;
        dd->epoch_set = 1;
    }
    return cutoff_s(dd, t);
}

int64_t nd_dedup_time_ms(const nd_dedup_t *dd, int32_t s)
{
    int64_t t;
    if (__builtin_add_overflow(dd->epoch_ms, (int64_t)s * 1000, &t))
        return s < 0 ? INT64_MIN + 1 : INT64_MAX; /* only from a damaged snapshot */
    return t;
}

/* Evict a bounded number of articles out of the window, and make room for one
 * more under max_articles. */
static void evict_due(nd_dedup_t *dd, int32_t cut)
{
    /* The due articles leave the heap first, then their keys are computed and
     * their lines loaded together, then they are removed in the same order
     * (the tables end as if each were evicted in turn): the misses of several
     * evictions overlap. */
    uint32_t due[ND_EVICT_STEP], n = 0;
    uint64_t bh[ND_EVICT_STEP][ND_BANDS_MAX];
    while (n < ND_EVICT_STEP && dd->heap_len && dd->heap[0].time_s < cut) {
        due[n] = dd->heap[0].idx;
        evict_keys(dd, due[n], bh[n]);
        heap_pop(dd);
        n++;
    }
    if (n)
        evict_touch(dd, due, bh, n);
    for (uint32_t i = 0; i < n; i++)
        evict_one(dd, due[i], bh[i]);
    while (dd->heap_len && dd->heap_len >= dd->conf.max_articles)
        evict_top(dd);
    evict_ahead(dd);
}

/* --------------------------------------------------------------- add path */

uint64_t nd_dedup_cluster_id(const char *uri, size_t len)
{
    return XXH3_64bits(uri, len);
}

struct find_s {
    const nd_dedup_t *dd;
    uint64_t h;
    int32_t cutoff; /* INT32_MIN: any */
    uint32_t found;
};

static int uri_find_cb(void *arg, uint32_t idx)
{
    struct find_s *f = arg;
    if (nd_art(f->dd, idx)->uri_hash != f->h)
        return 0;
    f->found = idx;
    return 1;
}

static int text_find_cb(void *arg, uint32_t idx)
{
    struct find_s *f = arg;
    const nd_art_t *a = nd_art(f->dd, idx);
    if (text_key(a->text_hash) != f->h || a->time_s < f->cutoff)
        return 0;
    f->found = idx;
    return 1;
}

static uint32_t find_uri(const nd_dedup_t *dd, uint64_t h)
{
    struct find_s f = {dd, h, INT32_MIN, UINT32_MAX};
    nd_itab_find(&dd->uri_tab, h, uri_find_cb, &f);
    return f.found;
}

static uint32_t find_text(const nd_dedup_t *dd, uint64_t h, int32_t cutoff)
{
    struct find_s f = {dd, h, cutoff, UINT32_MAX};
    nd_itab_find(&dd->text_tab, h, text_find_cb, &f);
    return f.found;
}

/* Sort candidates by band hits (desc) then arrival (asc): deterministic. */
static void sort_cands(nd_dedup_t *dd)
{
    /* insertion sort keyed on (hits desc, seq asc); n is small in practice */
    for (uint32_t i = 1; i < dd->n_cand; i++) {
        nd_cand_t c = dd->cand[i];
        uint32_t cs = nd_art_age(dd, nd_art(dd, c.idx));
        uint32_t j = i;
        while (j > 0) {
            nd_cand_t *p = &dd->cand[j - 1];
            if (p->hits > c.hits || (p->hits == c.hits && nd_art_age(dd, nd_art(dd, p->idx)) > cs))
                break;
            dd->cand[j] = *p;
            j--;
        }
        dd->cand[j] = c;
    }
}

/* The headroom of table t after a reserve that passed: *ins lowered to the
 * inserts (one a reserve) it takes before it must grow, *del to the deletes
 * before it may shrink (nd_itab_reserve's two tests); 0 while it rehashes. */
static void itab_headroom(const nd_itab_t *t, uint32_t *ins, int64_t *del)
{
    uint64_t size = (uint64_t)t->mask[1] + 1;
    if (t->rehash >= 0 || !t->t[1] || (t->used[1] + 1) * 20ULL > size * ND_ITAB_FILL20) {
        *ins = 0;
        return;
    }
    uint64_t room = size * ND_ITAB_FILL20 / 20 - 1 - t->used[1];
    if (room < *ins)
        *ins = (uint32_t)room;
    if (size > ND_ITAB_MIN) {
        int64_t d = (int64_t)t->live - (int64_t)((size + 3) / 4);
        if (d < *del)
            *del = d;
    }
}

nd_err_t nd_dedup_reserve(nd_dedup_t *dd)
{
    nd_err_t err;
    if ((err = nd_pool_reserve(&dd->arts)) || (err = nd_pool_reserve(&dd->clus)) ||
        (err = heap_reserve(dd)))
        return err;
    /* Each add inserts at most one entry in each table and each eviction
     * deletes at most one from each: within the headroom measured at the last
     * full look, every nd_itab_reserve() below would pass without work. */
    if (dd->itab_ins > 0 && dd->itab_del >= 0) {
        dd->itab_ins--;
        return ND_ERR_NO_ERROR;
    }
    if ((err = nd_itab_reserve(&dd->uri_tab)) || (err = nd_itab_reserve(&dd->text_tab)) ||
        (err = nd_itab_reserve(&dd->clu_tab)))
        return err;
    for (uint32_t b = 0; b < dd->conf.bands; b++)
        if ((err = nd_itab_reserve(&dd->band_tab[b])))
            return err;
    uint32_t ins = UINT32_MAX;
    int64_t del = INT64_MAX;
    itab_headroom(&dd->uri_tab, &ins, &del);
    itab_headroom(&dd->text_tab, &ins, &del);
    itab_headroom(&dd->clu_tab, &ins, &del);
    for (uint32_t b = 0; b < dd->conf.bands && ins; b++)
        itab_headroom(&dd->band_tab[b], &ins, &del);
    dd->itab_ins = ins;
    dd->itab_del = del;
    return ND_ERR_NO_ERROR;
}

/* Prepared changes to a cluster that need memory. */
struct clu_prep_s {
    char *canon; /* new canonical uri copy, or NULL */
    uint32_t src_hash;
    int add_src;
};

static nd_err_t prep_cluster(nd_dedup_t *dd, nd_clu_t *c, const nd_item_t *it, int becomes_canon,
                             struct clu_prep_s *pp)
{
    memset(pp, 0, sizeof(*pp));
    if (it->source_len) {
        pp->src_hash = nd_dedup_src_hash(dd, it->source, it->source_len);
        pp->add_src = !c || !nd_clu_has_source(c, pp->src_hash);
    }
    if (becomes_canon) {
        pp->canon = nd_strndup(it->uri, it->uri_len);
        if (!pp->canon)
            return ND_ERR_NOMEM;
    }
    if (pp->add_src && c && c->n_src == c->src_cap) {
        uint32_t nc = c->src_cap ? c->src_cap * 2 : 4;
        uint32_t *s = nd_realloc(c->src, nc * sizeof(uint32_t));
        if (!s) {
            nd_free(pp->canon);
            return ND_ERR_NOMEM;
        }
        dd->extra_bytes += (size_t)(nc - c->src_cap) * sizeof(uint32_t);
        c->src = s;
        c->src_cap = nc;
    }
    return ND_ERR_NO_ERROR;
}

/* Apply a prepared change; the article (already counted) joins cluster c. */
static void apply_cluster(nd_dedup_t *dd, nd_clu_t *c, const nd_item_t *it, int64_t t,
                          struct clu_prep_s *pp)
{
    if (pp->canon) {
        if (c->canon_uri) {
            nd_free(dd->prev_canon);
            dd->prev_canon = c->canon_uri; /* a decision may still point at it */
            dd->extra_bytes -= (size_t)c->canon_uri_len + 1;
        }
        c->canon_uri = pp->canon;
        c->canon_uri_len = (uint32_t)it->uri_len;
        c->canon_body_len = it->body_len;
        c->canon_rank = it->source_len
                            ? nd_source_rank(dd, nd_dedup_src_hash(dd, it->source, it->source_len))
                            : dd->n_pref;
        dd->extra_bytes += it->uri_len + 1;
    }
    if (pp->add_src && c->n_src < c->src_cap)
        c->src[c->n_src++] = pp->src_hash;
    c->count++;
    c->live++;
    if (c->count == 1 || t < c->first_ms)
        c->first_ms = t;
    if (c->count == 1 || t > c->last_ms)
        c->last_ms = t;
}

static int becomes_canonical(const nd_dedup_t *dd, const nd_clu_t *c, const nd_item_t *it)
{
    switch (dd->conf.canonical) {
    case ND_CANON_LONGEST:
        return it->body_len > c->canon_body_len;
    case ND_CANON_SOURCE: {
        uint32_t r = it->source_len
                         ? nd_source_rank(dd, nd_dedup_src_hash(dd, it->source, it->source_len))
                         : dd->n_pref;
        return r < c->canon_rank;
    }
    default:
        return 0;
    }
}

/* Create the cluster record (memory reserved) with id, taking src0 (room for
 * 4 sources, or NULL) as its source array; its counts start at zero. */
static uint32_t new_cluster(nd_dedup_t *dd, uint64_t id, uint32_t *src0)
{
    uint32_t cidx = nd_pool_take(&dd->clus);
    nd_clu_t *c = nd_clu(dd, cidx);
    c->id = id;
    c->canon_rank = UINT32_MAX;
    if (src0) {
        c->src = src0;
        c->src_cap = 4;
        dd->extra_bytes += 4 * sizeof(uint32_t);
    }
    nd_itab_insert(&dd->clu_tab, id, cidx);
    dd->st.clusters++;
    return cidx;
}

struct band_same_s {
    const nd_dedup_t *dd;
    const uint8_t *plo; /* the new article's packed low slots */
    uint32_t cidx, off, rows;
};

/* A record of cluster f->cidx with the same slots as f->plo in the band. */
static int band_same_cb(void *arg, uint32_t idx)
{
    const struct band_same_s *f = arg;
    const nd_art_t *a = nd_art(f->dd, idx);
    if (a->cluster != f->cidx)
        return 0;
    for (uint32_t r = 0; r < f->rows; r++)
        if (nd_lo_get(a->lo, f->off + r) != nd_lo_get(f->plo, f->off + r))
            return 0;
    return 1;
}

uint32_t nd_dedup_index_article(nd_dedup_t *dd, uint64_t uh, int64_t t, const nd_sig_t *sig,
                                const uint8_t *plo, const uint8_t *hi, const uint64_t *bh,
                                uint32_t cidx, const uint32_t *band_mask, int same)
{
    int32_t ts = nd_dedup_time_s(dd, t);
    uint32_t idx = nd_pool_take(&dd->arts);
    nd_art_t *a = nd_art(dd, idx);
    a->uri_hash = uh;
    a->text_hash = (uint32_t)sig->text_hash;
    a->num_mask = nd_mask_fold(sig->num_mask);
    a->time_s = ts;
    a->seq = (uint32_t)dd->next_seq++;
    a->cluster = cidx;
    a->n_shingles = sig->n_shingles;
    memcpy(a->lo, plo, sizeof(a->lo));
    memcpy(a->hi, hi, sizeof(a->hi));
    nd_itab_insert(&dd->uri_tab, uh, idx);
    if (!sig->n_shingles) {
        uint64_t k = text_key((uint32_t)sig->text_hash);
        uint32_t old = find_text(dd, k, INT32_MIN);
        if (old == UINT32_MAX || !nd_itab_replace(&dd->text_tab, k, old, idx))
            nd_itab_insert(&dd->text_tab, k, idx);
    } else if (band_mask) {
        a->band_mask = *band_mask;
        for (uint32_t b = 0; b < dd->conf.bands; b++)
            if (*band_mask >> b & 1)
                nd_itab_insert(&dd->band_tab[b], bh[b], idx);
    } else {
        uint32_t taken = 0; /* bands whose entry was taken over */
        if (same) {
            for (uint32_t j = 0; j < dd->n_same; j++) {
                uint32_t b = dd->same_band[j], old = dd->same_idx[j];
                if (!(taken >> b & 1) && nd_art(dd, old)->cluster == cidx) {
                    *dd->same_slot[j] = nd_itab_ent_make(bh[b], idx);
                    nd_art(dd, old)->band_mask &= ~(1u << b);
                    taken |= 1u << b;
                }
            }
        } else {
            struct band_same_s f = {dd, plo, cidx, 0, dd->conf.rows};
            for (uint32_t b = 0; b < dd->conf.bands; b++, f.off += f.rows) {
                uint32_t *s = nd_itab_find(&dd->band_tab[b], bh[b], band_same_cb, &f);
                if (s) {
                    nd_art(dd, nd_itab_ent_idx(*s))->band_mask &= ~(1u << b);
                    *s = nd_itab_ent_make(bh[b], idx);
                    taken |= 1u << b;
                }
            }
        }
        for (uint32_t b = 0; b < dd->conf.bands; b++)
            if (!(taken >> b & 1))
                nd_itab_insert(&dd->band_tab[b], bh[b], idx);
        a->band_mask = nd_bands_all(dd);
    }
    dd->heap[dd->heap_len++] = (nd_heap_ent_t){ts, idx};
    heap_up(dd, dd->heap_len - 1);
    dd->st.indexed++;
    return idx;
}

/* A signature in the forms the index uses (nd_sig_pack) and its band keys. */
struct sig_keys_s {
    uint8_t plo[ND_LO_BYTES], hi[ND_HI_BYTES];
    nd_nmask_t mask;
    uint64_t bh[ND_BANDS_MAX];
};

static void sig_keys(const nd_dedup_t *dd, const nd_sig_t *sig, struct sig_keys_s *k)
{
    dd->kern->sig_pack(sig, k->plo, k->hi, &k->mask);
    /* 2-row keys without prefetching their buckets: the add's touch loop
     * (nd_lsh_touch) has those loads in flight together (nd_band_hashes's
     * prefetches were ~480 instructions an add, and a hint that started them
     * an add ahead measured no faster on a shared host, docs/BENCHMARKS.md) */
    if (dd->conf.rows == 2)
        dd->kern->band_keys2(dd->band_seed, k->plo, dd->conf.bands, k->bh);
    else
        nd_band_hashes(dd, k->plo, nd_bands_all(dd), k->bh);
}

static void fill_info(const nd_clu_t *c, nd_cluster_info_t *ci)
{
    ci->id = c->id;
    ci->count = c->count;
    ci->sources = c->n_src;
    ci->first_seen_ms = c->first_ms;
    ci->last_seen_ms = c->last_ms;
}

static int64_t item_time(const nd_dedup_t *dd, const nd_item_t *it)
{
    if (it->event_time_ms != ND_TIME_NONE_)
        return it->event_time_ms;
    return dd->watermark == ND_TIME_NONE_ ? 0 : dd->watermark;
}

/*
 * prep_join: the part of joining cluster c (NULL: a new one) that can fail,
 * done before anything changes: prep_cluster(), and for a new cluster with a
 * source its first source array (*src0, else NULL). On ND_ERR_NOMEM nothing
 * is left allocated.
 */
static nd_err_t prep_join(nd_dedup_t *dd, nd_clu_t *c, const nd_item_t *it, int becomes,
                          struct clu_prep_s *pp, uint32_t **src0)
{
    *src0 = NULL;
    nd_err_t err = prep_cluster(dd, c, it, becomes, pp);
    if (err)
        return err;
    if (!c && pp->add_src && !(*src0 = nd_malloc(4 * sizeof(uint32_t)))) {
        nd_free(pp->canon);
        return ND_ERR_NOMEM;
    }
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_dedup_add(nd_dedup_t *dd, const nd_item_t *it, const nd_sig_t *sig, nd_decision_t *out)
{
    if (!dd || !it || !sig || !out || !it->uri || it->uri_len == 0)
        return ND_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    nd_free(dd->prev_canon);
    dd->prev_canon = NULL;

    /* The loads of the uri bucket and of the band buckets start first and
     * complete while the band keys are computed and the eviction step runs
     * (re-deliveries, which need neither, are a few percent of a feed). */
    uint64_t uh = nd_dedup_uri_hash(dd, it->uri, it->uri_len);
    nd_itab_prefetch(&dd->uri_tab, uh);
    struct sig_keys_s k;
    sig_keys(dd, sig, &k);
    if (sig->n_shingles)
        nd_lsh_touch(dd, k.bh);
    uint32_t dup = find_uri(dd, uh);
    if (dup != UINT32_MAX) {
        const nd_clu_t *c = nd_clu(dd, nd_art(dd, dup)->cluster);
        out->verdict = ND_VERDICT_REDELIVERY;
        fill_info(c, &out->cluster);
        out->similarity = 1.0;
        out->matched_uri = out->canonical_uri = c->canon_uri;
        out->matched_uri_len = out->canonical_uri_len = c->canon_uri_len;
        dd->st.added++;
        dd->st.redeliveries++;
        return ND_ERR_NO_ERROR;
    }

    int64_t t = item_time(dd, it);
    int64_t wm = dd->watermark == ND_TIME_NONE_ || t > dd->watermark ? t : dd->watermark;
    int32_t cutoff = cutoff_s(dd, window_cutoff(dd, wm));
    evict_due(dd, cutoff);
    nd_err_t err = nd_dedup_reserve(dd);
    if (err)
        return err;

    /* decide (read-only). The exact-text fast path: an empty text through the
     * text table; any other text has the signature of its exact duplicates, so
     * they are candidates in every band (the newest in the window wins). */
    uint32_t match = UINT32_MAX;
    double best = 0.0;
    int exact = 0;
    if (!sig->n_shingles) {
        match = find_text(dd, text_key((uint32_t)sig->text_hash), cutoff);
        exact = match != UINT32_MAX;
        best = exact ? 1.0 : 0.0;
    } else {
        dd->cutoff_s = cutoff;
        nd_lsh_candidates(dd, k.plo, k.bh, sig->n_shingles);
        /* the match's cluster and its sources are read after the
         * verification: start loading those of the likeliest candidates */
        uint32_t npf = dd->n_cand < 8 ? dd->n_cand : 8;
        for (uint32_t i = 0; i < npf; i++)
            __builtin_prefetch(nd_clu(dd, nd_art(dd, dd->cand[i].idx)->cluster));
        /* and the slots the verification compares (the walk loaded the lines
         * of the band bytes only) */
        npf = dd->n_cand < ND_VERIFY_MAX ? dd->n_cand : ND_VERIFY_MAX;
        for (uint32_t i = 0; i < npf; i++) {
            const char *r = (const char *)nd_art(dd, dd->cand[i].idx);
            __builtin_prefetch(r + offsetof(nd_art_t, lo));
            __builtin_prefetch(r + offsetof(nd_art_t, lo) + 64);
            __builtin_prefetch(r + offsetof(nd_art_t, hi) + ND_HI_BYTES - 17);
            __builtin_prefetch(r + offsetof(nd_art_t, hi) + ND_HI_BYTES - 1);
        }
        uint32_t exact_age = UINT32_MAX;
        for (uint32_t i = 0; i < dd->n_cand; i++) {
            const nd_art_t *a = nd_art(dd, dd->cand[i].idx);
            if (a->text_hash == (uint32_t)sig->text_hash && a->n_shingles == sig->n_shingles &&
                !memcmp(a->lo, k.plo, ND_LO_BYTES) && nd_art_age(dd, a) < exact_age) {
                exact_age = nd_art_age(dd, a);
                match = dd->cand[i].idx;
            }
        }
        exact = match != UINT32_MAX;
        best = exact ? 1.0 : 0.0;
    }
    if (!exact && sig->n_shingles) {
        sort_cands(dd);
        uint32_t npf = dd->n_cand < 4 ? dd->n_cand : 4;
        for (uint32_t i = 0; i < npf; i++)
            __builtin_prefetch(nd_clu(dd, nd_art(dd, dd->cand[i].idx)->cluster)->src);
        uint32_t nv = dd->n_cand < ND_VERIFY_MAX ? dd->n_cand : ND_VERIFY_MAX;
        uint32_t best_age = 0;
        for (uint32_t i = 0; i < nv; i++) {
            const nd_art_t *a = nd_art(dd, dd->cand[i].idx);
            int m_lo, mh;
            dd->kern->slot_matches(k.plo, k.hi, a->lo, a->hi, &m_lo, &mh);
            double s =
                nd_lsh_similarity_of(m_lo, mh, sig->n_shingles, k.mask, a->n_shingles, a->num_mask);
            if (s > best || (s == best && nd_art_age(dd, a) > best_age)) {
                best = s;
                best_age = nd_art_age(dd, a);
                match = dd->cand[i].idx;
            }
        }
        dd->st.candidates += nv;
        if (best < dd->conf.threshold)
            match = UINT32_MAX;
    }

    struct clu_prep_s pp;
    nd_clu_t *c = match != UINT32_MAX ? nd_clu(dd, nd_art(dd, match)->cluster) : NULL;
    uint32_t *src0;
    if ((err = prep_join(dd, c, it, !c || becomes_canonical(dd, c, it), &pp, &src0)))
        return err;

    /* commit (cannot fail) */
    dd->watermark = wm;
    uint32_t cidx;
    if (!c) {
        cidx = new_cluster(dd, nd_dedup_cluster_id(it->uri, it->uri_len), src0);
        c = nd_clu(dd, cidx);
    } else {
        cidx = nd_art(dd, match)->cluster;
    }
    const char *matched = c->canon_uri;
    uint32_t matched_len = c->canon_uri_len;
    apply_cluster(dd, c, it, t, &pp);
    nd_dedup_index_article(dd, uh, t, sig, k.plo, k.hi, k.bh, cidx, NULL, dd->same_ok);

    dd->st.added++;
    out->verdict = match == UINT32_MAX ? ND_VERDICT_NEW : ND_VERDICT_DUPLICATE;
    if (out->verdict == ND_VERDICT_DUPLICATE) {
        dd->st.duplicates++;
        out->exact = exact;
        out->similarity = best;
        out->matched_uri = matched;
        out->matched_uri_len = matched_len;
    }
    fill_info(c, &out->cluster);
    out->canonical_changed = pp.canon != NULL;
    out->canonical_uri = c->canon_uri;
    out->canonical_uri_len = c->canon_uri_len;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_dedup_restore(nd_dedup_t *dd, const nd_item_t *it, const nd_sig_t *sig,
                          uint64_t cluster_id, int is_canonical)
{
    if (!dd || !it || !sig || !it->uri || it->uri_len == 0)
        return ND_ERR_INVALID_ARG;
    nd_free(dd->prev_canon);
    dd->prev_canon = NULL;
    uint64_t uh = nd_dedup_uri_hash(dd, it->uri, it->uri_len);
    if (find_uri(dd, uh) != UINT32_MAX)
        return ND_ERR_NO_ERROR;
    int64_t t = item_time(dd, it);
    int64_t wm = dd->watermark == ND_TIME_NONE_ || t > dd->watermark ? t : dd->watermark;
    evict_due(dd, cutoff_s(dd, window_cutoff(dd, wm)));
    nd_err_t err = nd_dedup_reserve(dd);
    if (err)
        return err;

    uint32_t cidx = nd_clu_find(dd, cluster_id);
    nd_clu_t *c = cidx != UINT32_MAX ? nd_clu(dd, cidx) : NULL;
    struct clu_prep_s pp;
    uint32_t *src0;
    if ((err = prep_join(dd, c, it, !c || is_canonical, &pp, &src0)))
        return err;
    dd->watermark = wm;
    if (!c) {
        cidx = new_cluster(dd, cluster_id, src0);
        c = nd_clu(dd, cidx);
    }
    struct sig_keys_s k;
    sig_keys(dd, sig, &k);
    apply_cluster(dd, c, it, t, &pp);
    nd_dedup_index_article(dd, uh, t, sig, k.plo, k.hi, k.bh, cidx, NULL, 0);
    return ND_ERR_NO_ERROR;
}

void nd_dedup_stats(const nd_dedup_t *dd, nd_dedup_stats_t *st)
{
    *st = dd->st;
    size_t b = sizeof(*dd) + nd_pool_bytes(&dd->arts) + nd_clu_bytes(dd) +
               nd_itab_bytes(&dd->uri_tab) + nd_itab_bytes(&dd->text_tab) +
               nd_itab_bytes(&dd->clu_tab) + (size_t)dd->heap_cap * sizeof(nd_heap_ent_t) +
               dd->conf.bands * sizeof(nd_itab_t) + (dd->n_pref + 1) * sizeof(uint32_t) +
               strlen(dd->preferred) + 1;
    for (uint32_t i = 0; i < dd->conf.bands; b += nd_itab_bytes(&dd->band_tab[i++]))
        ;
    st->index_bytes = b;
}
