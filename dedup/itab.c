/*
 * itab.c - the record pool and the index table every part of the engine uses.
 *
 * nd_itab_t is a multi-map from 64-bit hashes to 24-bit record indices with
 * linear probing. An entry is 32 bits: an 8-bit tag (the hash's top byte) and
 * index + 2 (0 = empty, 1 = tombstone). The hash itself is not stored: during
 * a rehash it is recomputed from the record (hash_fn), which is what keeps an
 * LSH band at 4 bytes per article.
 *
 * Growth is incremental, after Redis' dictRehash: when the live table passes
 * 85% (entries + tombstones) a new one sized for twice the entries is made and
 * each later reserve moves ND_ITAB_STEP buckets of the old one across. The same
 * move halves a table whose load fell under 0.25 (after evictions). Moved
 * buckets become empty; probes of the draining table start at the move cursor
 * (see probe_start), which keeps its chains intact and short. A deletion in the
 * live table that ends a chain leaves no tombstone.
 */
#include <string.h>

#include "dedup_int.h"

#define ND_ITAB_STEP 64

#define ENT_EMPTY   ND_ITAB_EMPTY
#define ENT_TOMB    ND_ITAB_TOMB
#define ent_idx     nd_itab_ent_idx
#define ent_make    nd_itab_ent_make
#define probe_start nd_itab_probe_start
#define probe_next  nd_itab_probe_next

/* ------------------------------------------------------------------ pool */

void nd_pool_init(nd_pool_t *p, size_t esize)
{
    memset(p, 0, sizeof(*p));
    p->esize = (uint32_t)esize;
}

void nd_pool_free(nd_pool_t *p)
{
    for (uint32_t i = 0; i < p->nchunks; i++)
        nd_free(p->chunks[i].rec);
    nd_free(p->chunks);
    memset(p, 0, sizeof(*p));
}

/* The first chunk at or after p->low with a free record, or nchunks. */
static uint32_t pool_first_free(nd_pool_t *p)
{
    if (p->low > p->nchunks)
        p->low = p->nchunks;
    while (p->low < p->nchunks && p->chunks[p->low].used == (1u << ND_POOL_SHIFT))
        p->low++;
    return p->low;
}

nd_err_t nd_pool_reserve(nd_pool_t *p)
{
    uint32_t c = pool_first_free(p);
    if (c < p->nchunks && p->chunks[c].rec)
        return ND_ERR_NO_ERROR;
    if (c == p->nchunks) {
        if ((uint64_t)c << ND_POOL_SHIFT > ND_ITAB_MAX_IDX)
            return ND_ERR_NOMEM;
        if (p->nchunks == p->chunks_cap) {
            uint32_t nc = p->chunks_cap ? p->chunks_cap * 2 : 8;
            nd_pool_chunk_t *n = nd_realloc(p->chunks, nc * sizeof(*n));
            if (!n)
                return ND_ERR_NOMEM;
            p->chunks = n;
            p->chunks_cap = nc;
        }
        memset(&p->chunks[c], 0, sizeof(p->chunks[c]));
        p->nchunks++;
    }
    p->chunks[c].rec = nd_malloc((size_t)p->esize << ND_POOL_SHIFT);
    if (!p->chunks[c].rec)
        return ND_ERR_NOMEM;
    p->allocated++;
    return ND_ERR_NO_ERROR;
}

uint32_t nd_pool_take(nd_pool_t *p)
{
    uint32_t c = pool_first_free(p);
    nd_pool_chunk_t *ch = &p->chunks[c];
    uint32_t w = 0;
    while (ch->bits[w] == ~0ULL)
        w++;
    uint32_t o = w * 64 + (uint32_t)__builtin_ctzll(~ch->bits[w]);
    ch->bits[w] |= 1ULL << (o & 63);
    ch->used++;
    p->live++;
    uint32_t idx = c << ND_POOL_SHIFT | o;
    memset(nd_pool_get(p, idx), 0, p->esize);
    return idx;
}

void nd_pool_put(nd_pool_t *p, uint32_t idx)
{
    uint32_t c = idx >> ND_POOL_SHIFT, o = idx & ((1u << ND_POOL_SHIFT) - 1);
    nd_pool_chunk_t *ch = &p->chunks[c];
    ch->bits[o >> 6] &= ~(1ULL << (o & 63));
    ch->used--;
    p->live--;
    if (c < p->low)
        p->low = c;
    if (ch->used == 0 && c > 0) {
        nd_free(ch->rec);
        ch->rec = NULL;
        p->allocated--;
        while (p->nchunks > 1 && !p->chunks[p->nchunks - 1].rec)
            p->nchunks--;
    }
}

uint32_t nd_pool_end(const nd_pool_t *p)
{
    return p->nchunks << ND_POOL_SHIFT;
}

size_t nd_pool_bytes(const nd_pool_t *p)
{
    return ((size_t)p->allocated << ND_POOL_SHIFT) * p->esize +
           p->chunks_cap * sizeof(nd_pool_chunk_t);
}

/* ----------------------------------------------------------------- table */

void nd_itab_init(nd_itab_t *t, nd_itab_hash_fn fn, const void *ctx, uint32_t aux)
{
    memset(t, 0, sizeof(*t));
    t->rehash = -1;
    t->hash_fn = fn;
    t->ctx = ctx;
    t->aux = aux;
}

void nd_itab_free(nd_itab_t *t)
{
    nd_free(t->t[0]);
    nd_free(t->t[1]);
    t->t[0] = t->t[1] = NULL;
}

static void put_entry(uint32_t *tab, uint32_t mask, uint32_t *used, uint64_t h, uint32_t e)
{
    uint32_t i = (uint32_t)h & mask;
    while (tab[i] > ENT_TOMB)
        i = (i + 1) & mask;
    if (tab[i] == ENT_EMPTY)
        (*used)++;
    tab[i] = e;
}

/* Move up to `buckets` buckets of the draining table into the live one. */
static void rehash_step(nd_itab_t *t, uint32_t buckets)
{
    if (t->rehash < 0)
        return;
    uint32_t size = t->mask[0] + 1;
    while (buckets && t->rehash < size) {
        uint32_t idx[ND_REHASH_BATCH], n = 0, r = (uint32_t)t->rehash;
        uint32_t end = size - r < buckets ? size : r + buckets;
        uint64_t h[ND_REHASH_BATCH];
        if (end - r > ND_REHASH_BATCH)
            end = r + ND_REHASH_BATCH;
        for (uint32_t i = r; i < end; i++) {
            uint32_t e = t->t[0][i];
            idx[n] = ent_idx(e);
            n += e > ENT_TOMB;
            t->t[0][i] = ENT_EMPTY;
        }
        t->hash_fn(t->ctx, t->aux, idx, n, h);
        for (uint32_t i = 0; i < n; i++)
            __builtin_prefetch(&t->t[1][(uint32_t)h[i] & t->mask[1]], 1);
        for (uint32_t i = 0; i < n; i++)
            put_entry(t->t[1], t->mask[1], &t->used[1], h[i], ent_make(h[i], idx[i]));
        buckets -= end - r;
        t->rehash = end;
    }
    if (t->rehash >= size) {
        nd_free(t->t[0]);
        t->t[0] = NULL;
        t->mask[0] = 0;
        t->used[0] = 0;
        t->rehash = -1;
    }
}

nd_err_t nd_itab_reserve_step(nd_itab_t *t)
{
    rehash_step(t, ND_ITAB_STEP);
    uint32_t size = t->t[1] ? t->mask[1] + 1 : 0;
    uint64_t want = ND_ITAB_MIN;
    if (t->t[1] && (uint64_t)(t->used[1] + 1) * 20 <= (uint64_t)size * ND_ITAB_FILL20) {
        /* shrink (after evictions) when the load falls under 0.25, to half the
         * size (load < 0.5): the live count must then grow by 70% or halve
         * again before the next resize, so a window whose size breathes does
         * not rehash back and forth */
        if (t->rehash >= 0 || size <= ND_ITAB_MIN || (uint64_t)t->live * 4 >= size)
            return ND_ERR_NO_ERROR;
        want = size / 2;
    } else {
        while (want < ((uint64_t)t->live + 1) * 2)
            want *= 2;
    }
    if (want > (1u << 30))
        return ND_ERR_NOMEM;
    uint32_t *nt = nd_calloc(want, sizeof(uint32_t));
    if (!nt)
        return ND_ERR_NOMEM;
    if (t->rehash >= 0)
        rehash_step(t, UINT32_MAX); /* rare: the previous growth is not done */
    t->t[0] = t->t[1];
    t->mask[0] = t->t[1] ? t->mask[1] : 0;
    t->used[0] = t->used[1];
    t->t[1] = nt;
    t->mask[1] = (uint32_t)want - 1;
    t->used[1] = 0;
    t->rehash = t->t[0] ? 0 : -1;
    return ND_ERR_NO_ERROR;
}

void nd_itab_insert(nd_itab_t *t, uint64_t h, uint32_t idx)
{
    put_entry(t->t[1], t->mask[1], &t->used[1], h, ent_make(h, idx));
    t->live++;
}

/* Find the slot holding exactly entry e, in either table; NULL if absent. */
static uint32_t *find_exact(const nd_itab_t *t, uint64_t h, uint32_t e)
{
    for (int w = 1; w >= 0; w--) {
        uint32_t *tab = t->t[w];
        if (!tab)
            continue;
        uint32_t mask = t->mask[w], i = probe_start(t, w, h);
        for (uint32_t n = 0; n <= mask && tab[i] != ENT_EMPTY; n++, i = probe_next(t, w, i))
            if (tab[i] == e)
                return &tab[i];
    }
    return NULL;
}

int nd_itab_delete(nd_itab_t *t, uint64_t h, uint32_t idx)
{
    uint32_t *s = find_exact(t, h, ent_make(h, idx));
    if (!s)
        return 0;
    t->live--;
    /* In the live table, a deleted entry followed by an empty bucket ends no
     * probe chain: it and the tombstones just before it become empty again. */
    uint32_t *tab = t->t[1], mask = t->mask[1];
    if (s >= tab && s <= tab + mask) {
        uint32_t i = (uint32_t)(s - tab);
        if (tab[(i + 1) & mask] == ENT_EMPTY) {
            uint32_t n = 0;
            do {
                tab[i] = ENT_EMPTY;
                t->used[1]--;
                i = (i - 1) & mask;
            } while (tab[i] == ENT_TOMB && ++n <= mask);
            return 1;
        }
    }
    *s = ENT_TOMB;
    return 1;
}

int nd_itab_replace(nd_itab_t *t, uint64_t h, uint32_t old_idx, uint32_t new_idx)
{
    uint32_t *s = find_exact(t, h, ent_make(h, old_idx));
    if (!s)
        return 0;
    *s = ent_make(h, new_idx);
    return 1;
}

size_t nd_itab_bytes(const nd_itab_t *t)
{
    size_t b = 0;
    if (t->t[0])
        b += ((size_t)t->mask[0] + 1) * sizeof(uint32_t);
    if (t->t[1])
        b += ((size_t)t->mask[1] + 1) * sizeof(uint32_t);
    return b;
}
