/*
 * dedup_int.h - internals of the dedup module, shared by its files only.
 *
 * Layout of the index (see docs/BENCHMARKS.md "Engine memory" for the bytes):
 *  - articles live in a chunked pool (nd_pool_t) and are named by a 32-bit
 *    index; every table holds such indices, never pointers;
 *  - nd_itab_t is an open-addressed table of 32-bit entries (8-bit tag from
 *    the key's hash, 24-bit index) that grows (and, after evictions, shrinks)
 *    by Redis-style incremental rehash: the hash of an entry is recomputed
 *    from the record it names, so the table itself stores 4 bytes per entry;
 *  - one table per LSH band, one for uris, one for exact empty texts (other
 *    exact duplicates are found through the bands), one for cluster ids; a
 *    binary min-heap on (event time, arrival) drives eviction.
 */
#ifndef ND_DEDUP_INT_H
#define ND_DEDUP_INT_H

#include "nd_dedup.h"

/* ---------------------------------------------------------------- kernels */

/* log2(ND_SIG_SLOTS): the top bits of a shingle hash pick its slot. */
#define ND_SIG_SLOT_BITS 7
_Static_assert((1u << ND_SIG_SLOT_BITS) == ND_SIG_SLOTS, "ND_SIG_SLOTS must be 2^SLOT_BITS");

/* The empty-slot sentinel; real minima are clamped to ND_SLOT_EMPTY - 1. */
#define ND_SLOT_EMPTY UINT32_MAX

/* Rotation applied per token when combining token hashes into a shingle. */
#define ND_SHINGLE_ROT 27
#define ND_MIX_C1      0x9E3779B1u
#define ND_MIX_C2      0x85EBCA77u

/* The stored digit mask: the signature's 64-bit one, or folded (OR) to 32 bits. */
#ifndef ND_MASK_BITS_
#define ND_MASK_BITS_ 64
#endif
#if ND_MASK_BITS_ == 64
typedef uint64_t nd_nmask_t;
#else
typedef uint32_t nd_nmask_t;
#endif
static inline nd_nmask_t nd_mask_fold(uint64_t m)
{
    return (nd_nmask_t)(ND_MASK_BITS_ == 64 ? m : m | m >> 32);
}

/*
 * A signature kernel: the one-permutation slots of text[0..len) with shingles
 * of k tokens (tokenising, token hashes, shingle fold; see sign_int.h),
 * before densification, which nd_sign_with() does for every kernel. Every
 * kernel must give the same signature as the scalar reference for every input.
 */
typedef void (*nd_sign_kernel_fn)(uint32_t k, uint64_t seed, const char *text, size_t len,
                                  nd_sig_t *sig);

/* The slot comparison of verification (nd_lsh_slot_matches and its SIMD
 * forms), chosen with the kernel: same counts on every path. */
typedef void (*nd_slot_matches_fn)(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                                   const uint8_t *bhi, int *m_lo, int *mh);

/* The packing of a signature into its stored form (nd_sig_pack and its SIMD
 * forms), chosen with the kernel: same bytes on every path. */
typedef void (*nd_sig_pack_fn)(const nd_sig_t *sig, uint8_t *plo, uint8_t *hi, nd_nmask_t *mask);

/* The keys of 2-row bands from packed low slots (nd_band_keys2 and its SIMD
 * forms), chosen with the kernel: same keys on every path. */
typedef void (*nd_band_keys2_fn)(const uint64_t *seed, const uint8_t *plo, uint32_t bands,
                                 uint64_t *bh);

typedef struct nd_sign_kernel_s {
    const char *name;
    nd_sign_kernel_fn fn;
    nd_slot_matches_fn slot_matches;
    nd_sig_pack_fn sig_pack;
    nd_band_keys2_fn band_keys2;
} nd_sign_kernel_t;

/*
 * nd_shingle_mix: the reference shingle hash of th[0..k). Kernels reproduce
 * exactly this: rotate-xor fold, then a 32x32->64 multiply mix (the AVX2
 * _mm256_mul_epu32 / NEON vmull_u32 shape).
 */
static inline uint64_t nd_shingle_mix(const uint64_t *th, uint32_t k)
{
    uint64_t x = th[0];
    for (uint32_t j = 1; j < k; j++)
        x = ((x << ND_SHINGLE_ROT) | (x >> (64 - ND_SHINGLE_ROT))) ^ th[j];
    x ^= x >> 29;
    x = (uint64_t)(uint32_t)x * ND_MIX_C1 + (x >> 32) * ND_MIX_C2;
    x ^= x >> 32;
    return x;
}

/* nd_slot_update: fold one mixed shingle hash into slots. */
static inline void nd_slot_update(uint32_t slots[ND_SIG_SLOTS], uint64_t x)
{
    /* branch-free: about a third of updates lower the minimum, at random */
    uint32_t b = (uint32_t)(x >> (64 - ND_SIG_SLOT_BITS));
    uint32_t v = (uint32_t)x - ((uint32_t)x == ND_SLOT_EMPTY);
    uint32_t s = slots[b];
    slots[b] = v < s ? v : s;
}

void nd_sign_kernel_scalar(uint32_t k, uint64_t seed, const char *text, size_t len, nd_sig_t *sig);
#if defined(__x86_64__) || defined(__i386__)
void nd_sign_kernel_avx2(uint32_t k, uint64_t seed, const char *text, size_t len, nd_sig_t *sig);
#endif
#if defined(__aarch64__)
void nd_sign_kernel_neon(uint32_t k, uint64_t seed, const char *text, size_t len, nd_sig_t *sig);
#endif

/* nd_sign_kernel_find: the kernel called name (NULL or "auto": the best the
 * CPU has), or NULL when this build or CPU cannot run it. */
const nd_sign_kernel_t *nd_sign_kernel_find(const char *name);

/*
 * The first ND_DENSIFY_TAB targets of the densification probe sequence of
 * each slot for one seed (nd_densify_tab_init), so that densifying a short
 * text (many empty slots) reads a byte per probe instead of hashing.
 */
#define ND_DENSIFY_TAB 16
typedef struct nd_densify_tab_s {
    uint64_t seed;
    uint8_t probe[ND_SIG_SLOTS][ND_DENSIFY_TAB]; /* probe[j][a - 1]: attempt a of slot j */
} nd_densify_tab_t;

/* nd_densify_tab_init: the table of seed. */
void nd_densify_tab_init(nd_densify_tab_t *tab, uint64_t seed);

/*
 * nd_sign_densify: fill the empty slots by optimal densification (Shrivastava,
 * ICML 2017): slot j borrows the value of the first originally non-empty slot
 * in a pseudo-random probe sequence seeded by j, which keeps the collision
 * probability of two signatures equal to their Jaccard similarity. All-empty
 * slots stay empty. tab: the probes of seed (nd_densify_tab_init), or NULL
 * (computed); the result is the same.
 */
void nd_sign_densify(uint64_t seed, const nd_densify_tab_t *tab, uint32_t slots[ND_SIG_SLOTS]);

/*
 * nd_sign_with: sign text with the given kernel, then densify (the body of
 * nd_dedup_sign, exposed for tests and the bench). k = tokens per shingle;
 * tab: as for nd_sign_densify().
 */
void nd_sign_with(const nd_sign_kernel_t *kern, const nd_densify_tab_t *tab, uint32_t k,
                  uint64_t seed, const char *text, size_t len, nd_sig_t *sig);

/* ------------------------------------------------------------ pool, table */

/*
 * nd_pool_t: fixed-size records in chunks of 2^ND_POOL_SHIFT; growth never
 * moves a record, so it costs one chunk allocation, never a copy. A take always
 * hands out the lowest free index (a bitmap of used records and a per-chunk
 * count find it), so that when the number of live records falls (a window
 * evicting more than arrives) the high chunks empty out within one turnover of
 * the window and are freed: the pool follows the live count without moving a
 * record and without a free list of its own.
 */
#define ND_POOL_SHIFT 8
#define ND_POOL_WORDS ((1u << ND_POOL_SHIFT) / 64)
typedef struct nd_pool_chunk_s {
    char *rec;                    /* NULL: freed (every record free) */
    uint32_t used;                /* live records in this chunk */
    uint64_t bits[ND_POOL_WORDS]; /* bit i set: record i is live */
} nd_pool_chunk_t;
typedef struct nd_pool_s {
    nd_pool_chunk_t *chunks;
    uint32_t nchunks, chunks_cap; /* chunks [0, nchunks) exist (some may be freed) */
    uint32_t esize;
    uint32_t live;
    uint32_t allocated; /* chunks with records */
    uint32_t low;       /* no chunk below this one has a free record */
} nd_pool_t;

void nd_pool_init(nd_pool_t *p, size_t esize);
void nd_pool_free(nd_pool_t *p);
/* nd_pool_reserve: make the next nd_pool_take() infallible. */
nd_err_t nd_pool_reserve(nd_pool_t *p);
/* nd_pool_take: the lowest free index, its record zeroed; nd_pool_reserve()
 * must have succeeded. */
uint32_t nd_pool_take(nd_pool_t *p);
/* nd_pool_put: release idx; a chunk left empty is freed (except chunk 0). */
void nd_pool_put(nd_pool_t *p, uint32_t idx);
/* nd_pool_live_at: 1 if record idx is handed out. */
static inline int nd_pool_live_at(const nd_pool_t *p, uint32_t idx)
{
    uint32_t c = idx >> ND_POOL_SHIFT, o = idx & ((1u << ND_POOL_SHIFT) - 1);
    return c < p->nchunks && (p->chunks[c].bits[o >> 6] >> (o & 63) & 1);
}
static inline void *nd_pool_get(const nd_pool_t *p, uint32_t idx)
{
    return p->chunks[idx >> ND_POOL_SHIFT].rec +
           (size_t)(idx & ((1u << ND_POOL_SHIFT) - 1)) * p->esize;
}
/* nd_pool_end: one past the highest index that may be live. */
uint32_t nd_pool_end(const nd_pool_t *p);
size_t nd_pool_bytes(const nd_pool_t *p);

/* Largest record index an nd_itab_t entry can name. */
#define ND_ITAB_MAX_IDX ((1u << 24) - 3)

/* Buckets a rehash moves per batch: their records are hashed in one call
 * (hash_fn can prefetch them all first) and their new buckets prefetched
 * before any is placed, so the cache misses of a batch overlap. */
#define ND_REHASH_BATCH 32

/* nd_itab_hash_fn: h[i] = the 64-bit hash of the record idx[i] names, as
 * inserted, for i < n <= ND_REHASH_BATCH. */
typedef void (*nd_itab_hash_fn)(const void *ctx, uint32_t aux, const uint32_t *idx, uint32_t n,
                                uint64_t *h);

typedef struct nd_itab_s {
    uint32_t *t[2]; /* t[0] the table being drained during a rehash, t[1] the live one */
    uint32_t mask[2];
    uint32_t used[2]; /* entries + tombstones */
    uint32_t live;    /* entries */
    int64_t rehash;   /* next bucket of t[0] to move, or -1 when not rehashing */
    uint32_t aux;     /* passed to hash_fn (band number) */
    nd_itab_hash_fn hash_fn;
    const void *ctx;
} nd_itab_t;

void nd_itab_init(nd_itab_t *t, nd_itab_hash_fn fn, const void *ctx, uint32_t aux);
void nd_itab_free(nd_itab_t *t);
/* Smallest table; a table is resized when more than ND_ITAB_FILL20 / 20 (85%)
 * of it is used (entries + tombstones) or, above the smallest, less than 25%
 * holds entries. (At 75%, adds took 4% fewer instructions on the 4 KB feed,
 * but the 100k feed ended with 570 B of index per article instead of 388.) */
#define ND_ITAB_MIN    16
#define ND_ITAB_FILL20 17

/* nd_itab_reserve_step: nd_itab_reserve() when there is work to do. */
nd_err_t nd_itab_reserve_step(nd_itab_t *t);

/* nd_itab_reserve: room for one more insert; also advances a rehash a little.
 * Inline: the common case (no rehash under way, no resize due) is a few
 * compares, and an add reserves in all 35 tables.
 * @return ND_ERR_NOMEM when the table must grow and cannot; nothing lost. */
static inline nd_err_t nd_itab_reserve(nd_itab_t *t)
{
    uint64_t size = (uint64_t)t->mask[1] + 1;
    if (t->rehash < 0 && t->t[1] && (t->used[1] + 1) * 20ULL <= size * ND_ITAB_FILL20 &&
        (size <= ND_ITAB_MIN || t->live * 4ULL >= size))
        return ND_ERR_NO_ERROR;
    return nd_itab_reserve_step(t);
}
/* nd_itab_insert: add (h, idx); nd_itab_reserve() must have succeeded. */
void nd_itab_insert(nd_itab_t *t, uint64_t h, uint32_t idx);
/* nd_itab_delete: remove the entry (h, idx) if present. @return 1 if removed. */
int nd_itab_delete(nd_itab_t *t, uint64_t h, uint32_t idx);
/* nd_itab_replace: make the entry (h, old) name new_idx. @return 1 if found. */
int nd_itab_replace(nd_itab_t *t, uint64_t h, uint32_t old_idx, uint32_t new_idx);

/* Table entries: an 8-bit tag (the hash's top byte) and index + 2. */
#define ND_ITAB_EMPTY 0u
#define ND_ITAB_TOMB  1u
static inline uint32_t nd_itab_ent_make(uint64_t h, uint32_t idx)
{
    return (uint32_t)(h >> 56) << 24 | (idx + 2);
}
static inline uint32_t nd_itab_ent_idx(uint32_t e)
{
    return (e & 0xffffffu) - 2;
}

/*
 * Probe sequences. In the live table (w = 1), from the home bucket to the first
 * empty one. In the draining table (w = 0), buckets [0, rehash) have been moved
 * out and are empty: every entry still there sits at or after the cursor on its
 * chain (the move goes in bucket order), so a probe starts at the cursor when
 * its home is before it, and jumps from the end of the table to the cursor, not
 * to 0.
 */
static inline uint32_t nd_itab_probe_start(const nd_itab_t *t, int w, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask[w];
    if (w == 0 && i < (uint32_t)t->rehash)
        i = (uint32_t)t->rehash;
    return i;
}
static inline uint32_t nd_itab_probe_next(const nd_itab_t *t, int w, uint32_t i)
{
    i = (i + 1) & t->mask[w];
    if (w == 0 && i == 0)
        i = (uint32_t)t->rehash;
    return i;
}

/*
 * nd_itab_find: call fn(arg, idx) for each entry whose tag matches h (the
 * caller checks the record) until fn returns non-zero. @return the bucket of
 * that entry (the caller may make it name another record of the same hash:
 * nd_itab_ent_make(h, idx)), or NULL when fn accepted none. Inline, so that a
 * constant fn is inlined into the probe loop.
 */
static inline uint32_t *nd_itab_find(const nd_itab_t *t, uint64_t h,
                                     int (*fn)(void *arg, uint32_t idx), void *arg)
{
    uint32_t tag = (uint32_t)(h >> 56);
    for (int w = 1; w >= 0; w--) {
        uint32_t *tab = t->t[w];
        if (!tab)
            continue;
        uint32_t mask = t->mask[w], i = nd_itab_probe_start(t, w, h);
        for (uint32_t n = 0; n <= mask && tab[i] != ND_ITAB_EMPTY;
             n++, i = nd_itab_probe_next(t, w, i)) {
            uint32_t e = tab[i];
            if (e > ND_ITAB_TOMB && e >> 24 == tag && fn(arg, nd_itab_ent_idx(e)))
                return &tab[i];
        }
    }
    return NULL;
}
/* nd_itab_prefetch: start loading the buckets a probe for h reads first (the
 * eviction pipeline's loads and the add's uri probe; the band probes load
 * their home buckets with nd_lsh_touch). */
static inline void nd_itab_prefetch(const nd_itab_t *t, uint64_t h)
{
    if (t->t[1])
        __builtin_prefetch(&t->t[1][(uint32_t)h & t->mask[1]]);
    if (t->t[0])
        __builtin_prefetch(&t->t[0][nd_itab_probe_start(t, 0, h)]);
}
size_t nd_itab_bytes(const nd_itab_t *t);

/* ------------------------------------------------------------------ engine */

/* Slots that carry the LSH band keys (stored at ND_LO_BITS), and the rest
 * (verification only, stored at ND_HI_BITS). */
#define ND_SIG_LO ND_LSH_SLOTS
#define ND_SIG_HI (ND_SIG_SLOTS - ND_SIG_LO)

/* Sets smaller than this (in shingles) are compared by Jaccard, not containment:
 * the containment estimate of a tiny set is too noisy, and tiny templated notices
 * (dividends) are contained in each other word for word. 16 (was 30): a short
 * copy that kept only a first paragraph and added a footer has 16-30 shingles,
 * and Jaccard split it from its original (see docs/BENCHMARKS.md). */
#ifndef ND_CONTAIN_MIN_SHINGLES
#define ND_CONTAIN_MIN_SHINGLES 16
#endif

/* Candidates gathered per add (distinct articles), and how many are verified. */
#define ND_CAND_MAX   1024
#define ND_VERIFY_MAX 24

/* Band entries remembered per add for the index step (see nd_dedup_s.same_slot). */
#define ND_SAME_MAX 256

/* Evictions done per add at most (beyond the one a full index needs). */
#define ND_EVICT_STEP 4

/*
 * Stored slot widths (b-bit MinHash). The first ND_SIG_LO slots carry the LSH
 * band keys and are kept at ND_LO_BITS (12: two slots pack into 3 bytes, and a
 * 2-row band key is those 24 bits); the other ND_SIG_HI at ND_HI_BITS. Both
 * take part in verification, corrected for chance agreement (2^-bits). The
 * widths (and the digit mask's) are build-time constants so that the measured
 * alternatives (docs/BENCHMARKS.md "Engine memory") can be rebuilt with -D.
 */
#ifndef ND_LO_BITS_
#define ND_LO_BITS_ 12
#endif
#ifndef ND_HI_BITS_
#define ND_HI_BITS_ 6
#endif
#define ND_LO_BITS  ND_LO_BITS_
#define ND_HI_BITS  ND_HI_BITS_
#define ND_LO_MASK  ((1u << ND_LO_BITS) - 1)
#define ND_LO_BYTES (ND_SIG_LO * ND_LO_BITS / 8)
#define ND_HI_BYTES (ND_SIG_HI * ND_HI_BITS / 8)
_Static_assert(ND_LO_BITS == 12 || ND_LO_BITS == 16, "ND_LO_BITS: 12 or 16");
_Static_assert(ND_HI_BITS == 4 || ND_HI_BITS == 6 || ND_HI_BITS == 8, "ND_HI_BITS: 4, 6 or 8");

/* nd_popcount64: the number of set bits of x (SWAR: the baseline x86-64
 * target has no popcnt instruction, and libgcc's is a call). */
static inline int nd_popcount64(uint64_t x)
{
    x = x - (x >> 1 & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + (x >> 2 & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* nd_lo_get: stored slot i (< ND_SIG_LO) of packed low slots p. */
static inline uint32_t nd_lo_get(const uint8_t *p, uint32_t i)
{
#if ND_LO_BITS == 12
    const uint8_t *q = p + 3 * (i >> 1);
    uint32_t v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16;
    return i & 1 ? v >> 12 : v & 0xfff;
#else
    return (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
#endif
}

/*
 * An indexed article: 4-byte aligned and packed (no tail padding). Event time
 * is kept in whole seconds relative to the engine's epoch (the first event
 * time it saw), so a window boundary is honoured to within a second; the
 * arrival number keeps its low 32 bits and is compared by age (next_seq - seq),
 * which is exact while the oldest indexed article is less than 2^32 arrivals
 * old. (A 32-bit digit mask was tried: it let templated reports merge.)
 */
typedef struct __attribute__((packed, aligned(4))) nd_art_s {
    uint64_t uri_hash;
    uint32_t text_hash; /* low 32 bits of the signature's text hash */
    int32_t time_s;     /* seconds since dd->epoch_ms (clamped) */
    uint32_t seq;       /* arrival number, low 32 bits: the tie-breaker everywhere */
    uint32_t cluster;   /* pool index of its cluster */
    uint32_t n_shingles;
    uint32_t band_mask; /* bit b: the article is indexed in band b (see nd_dedup_index_article) */
    nd_nmask_t num_mask;
    uint8_t lo[ND_LO_BYTES]; /* packed, see nd_lo_get */
    uint8_t hi[ND_HI_BYTES];
} nd_art_t;

/* An eviction heap entry: the article's event time (as in its record) and its
 * index; only equal times make a comparison read the records (arrival). */
typedef struct nd_heap_ent_s {
    int32_t time_s;
    uint32_t idx;
} nd_heap_ent_t;

typedef struct nd_clu_s {
    uint64_t id;
    int64_t first_ms, last_ms;
    uint64_t canon_body_len;
    char *canon_uri;
    uint32_t canon_uri_len;
    uint32_t canon_rank;
    uint32_t count; /* distinct articles ever accepted */
    uint32_t live;  /* articles still indexed */
    uint32_t n_src, src_cap;
    uint32_t *src; /* 32-bit hashes of distinct non-empty sources */
} nd_clu_t;

typedef struct nd_cand_s {
    uint32_t idx;
    uint32_t hits;
} nd_cand_t;

/* Most bands an engine can have (bands * rows <= ND_SIG_LO, rows >= 2). */
#define ND_BANDS_MAX (ND_SIG_LO / 2)

struct nd_dedup_s {
    nd_dedup_conf_t conf;
    char *preferred;     /* owned copy of conf.preferred_sources */
    uint32_t *pref_hash; /* 32-bit hashes of the preferred sources, best first */
    uint32_t n_pref;
    const nd_sign_kernel_t *kern;
    nd_pool_t arts, clus;
    nd_itab_t uri_tab, text_tab, clu_tab;
    nd_itab_t *band_tab;              /* conf.bands tables */
    uint64_t band_seed[ND_BANDS_MAX]; /* nd_band_seed() of each band */
    nd_densify_tab_t dens;            /* densification probes of conf.seed */
    nd_heap_ent_t *heap;              /* min-heap on (time_s, age); the times are copied in, so
                                       * that sifting reads records only on equal times */
    uint32_t heap_len, heap_cap;
    int64_t watermark; /* greatest event time seen; INT64_MIN before any */
    int64_t epoch_ms;  /* article times are seconds since this (the first time seen) */
    int epoch_set;
    uint64_t next_seq;
    nd_dedup_stats_t st;
    size_t extra_bytes;          /* canonical uri strings and source arrays */
    char *prev_canon;            /* a replaced canonical uri, kept until the next call */
    nd_cand_t cand[ND_CAND_MAX]; /* scratch for one add */
    uint32_t n_cand;
    uint32_t cand_set[2 * ND_CAND_MAX]; /* scratch: idx -> position + 1 in cand */
    int32_t cutoff_s;                   /* scratch: articles older than this are out */
    const uint8_t *probe_lo;            /* scratch: the probing signature's packed low slots */
    /* scratch: the band entries whose slots equal the probe's, in probe order, as
     * nd_lsh_candidates() met them, for nd_dedup_index_article() to take over
     * without walking the chains again; same_ok: the list is complete and
     * valid (cleared by the next index) */
    uint32_t *same_slot[ND_SAME_MAX];
    uint32_t same_idx[ND_SAME_MAX];
    uint8_t same_band[ND_SAME_MAX];
    uint32_t n_same;
    int same_ok;
    /* Tables' headroom (nd_dedup_reserve): the next itab_ins reserves need not
     * look at the tables while no more than itab_del evictions happen. */
    uint32_t itab_ins;
    int64_t itab_del;
    /* The eviction pipeline (evict_ahead): ev_idx, the heap top whose band
     * keys ev_bh were computed and buckets prefetched by an earlier add
     * (UINT32_MAX: none). */
    uint32_t ev_idx;
    uint64_t ev_bh[ND_BANDS_MAX];
};

static inline nd_art_t *nd_art(const nd_dedup_t *dd, uint32_t idx)
{
    return (nd_art_t *)nd_pool_get(&dd->arts, idx);
}
static inline nd_clu_t *nd_clu(const nd_dedup_t *dd, uint32_t idx)
{
    return (nd_clu_t *)nd_pool_get(&dd->clus, idx);
}

/* lsh.c */
/*
 * nd_band_hash: the table key of band `band` of the low slots lo (unpacked).
 * A band key is at most 64 low slots; for the default 2 rows, 24 bits. It is
 * hashed with a multiply-xorshift mix (not XXH3: it is a table key, not a
 * similarity hash, and it is computed 32 times per add and per eviction).
 * nd_band_seed() and nd_band_mix() are its first and last steps, for the
 * 2-row keys below (nd_band_key2).
 */
static inline uint64_t nd_band_seed(uint64_t seed, uint32_t band)
{
    return seed ^ (0x9E3779B97F4A7C15ULL * (band + 1));
}
#define ND_BAND_MUL     0xBF58476D1CE4E5B9ULL
#define ND_BAND_MIX_MUL 0x94D049BB133111EBULL
static inline uint64_t nd_band_mix(uint64_t x)
{
    x ^= x >> 31;
    x *= ND_BAND_MIX_MUL;
    x ^= x >> 29;
    return x;
}
static inline uint64_t nd_band_hash(uint64_t seed, uint32_t band, const uint16_t *lo, uint32_t rows)
{
    const uint16_t *p = lo + (size_t)band * rows;
    uint64_t x = nd_band_seed(seed, band);
    for (uint32_t r = 0; r + 1 < rows; r += 2)
        x = (x ^ ((uint64_t)p[r] | (uint64_t)p[r + 1] << 16)) * ND_BAND_MUL;
    if (rows & 1)
        x = (x ^ p[rows - 1]) * ND_BAND_MUL;
    return nd_band_mix(x);
}
/* nd_band_key2_of: nd_band_hash() of a band of 2 rows whose stored slots are
 * s0 and s1, its seed nd_band_seed() of the band. */
static inline uint64_t nd_band_key2_of(uint64_t band_seed, uint32_t s0, uint32_t s1)
{
    return nd_band_mix((band_seed ^ ((uint64_t)s0 | (uint64_t)s1 << 16)) * ND_BAND_MUL);
}
/* nd_band_key2: the same for band b, with dd->band_seed. */
static inline uint64_t nd_band_key2(const nd_dedup_t *dd, uint32_t b, uint32_t s0, uint32_t s1)
{
    return nd_band_key2_of(dd->band_seed[b], s0, s1);
}
#if ND_LO_BITS == 12
/* nd_band_hash2: nd_band_key2() from the packed low slots plo (band b is the
 * 3 bytes at 3 b). */
static inline uint64_t nd_band_hash2(const nd_dedup_t *dd, const uint8_t *plo, uint32_t b)
{
    const uint8_t *q = plo + 3 * b;
    uint32_t v24 = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16;
    return nd_band_key2(dd, b, v24 & 0xfff, v24 >> 12);
}
#endif
/* nd_band_keys2: bh[b] = the key of 2-row band b (nd_band_hash2 with seeds
 * seed[b]) for every b < bands, from the packed low slots plo: the reference
 * for every kernel's band_keys2. */
void nd_band_keys2(const uint64_t *seed, const uint8_t *plo, uint32_t bands, uint64_t *bh);
/* nd_lo_unpack: the ND_SIG_LO stored low slots of p as integers. */
void nd_lo_unpack(const uint8_t *p, uint16_t lo[ND_SIG_LO]);
/* nd_band_hashes: the key bh[b] of each band b in mask (bit b; bh[b] of the
 * others is left alone) of the packed low slots plo, each table's buckets
 * prefetched. */
void nd_band_hashes(const nd_dedup_t *dd, const uint8_t *plo, uint32_t mask, uint64_t *bh);
/* Every band of an engine, as a band mask. */
static inline uint32_t nd_bands_all(const nd_dedup_t *dd)
{
    return dd->conf.bands >= 32 ? UINT32_MAX : (1u << dd->conf.bands) - 1;
}
/* nd_sig_pack: the stored form of a signature: low slots packed (plo; band
 * keys are hashed from it), high slots packed (hi), the folded digit mask. */
void nd_sig_pack(const nd_sig_t *sig, uint8_t plo[ND_LO_BYTES], uint8_t hi[ND_HI_BYTES],
                 nd_nmask_t *mask);
/*
 * nd_lsh_similarity: the verified similarity of two packed signatures with set
 * sizes na, nb and digit masks ma, mb: estimated containment (Jaccard for tiny
 * sets), or 0 when the smaller text's numbers are mostly absent from the other.
 */
double nd_lsh_similarity(const uint8_t *alo, const uint8_t *ahi, uint32_t na, nd_nmask_t ma,
                         const uint8_t *blo, const uint8_t *bhi, uint32_t nb, nd_nmask_t mb);
/* nd_lsh_similarity_of: nd_lsh_similarity() from the slot counts
 * nd_lsh_slot_matches() gives. */
double nd_lsh_similarity_of(int m_lo, int mh, uint32_t na, nd_nmask_t ma, uint32_t nb,
                            nd_nmask_t mb);
/* nd_lsh_slot_matches: how many stored low slots (*m_lo) and high slots (*mh)
 * two packed signatures have equal: the reference for every kernel's
 * slot_matches. */
void nd_lsh_slot_matches(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                         const uint8_t *bhi, int *m_lo, int *mh);
#if defined(__x86_64__) || defined(__i386__)
/* nd_lsh_slot_matches_avx2: the same, 16 low or 32 high slots a step (lsh_avx2.c;
 * only where the CPU has AVX2). */
void nd_lsh_slot_matches_avx2(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                              const uint8_t *bhi, int *m_lo, int *mh);
/* nd_band_keys2_avx2: nd_band_keys2(), 4 bands a step (lsh_avx2.c). */
void nd_band_keys2_avx2(const uint64_t *seed, const uint8_t *plo, uint32_t bands, uint64_t *bh);
/* nd_sig_pack_avx2: nd_sig_pack(), 8 slots a step (lsh_avx2.c). */
void nd_sig_pack_avx2(const nd_sig_t *sig, uint8_t plo[ND_LO_BYTES], uint8_t hi[ND_HI_BYTES],
                      nd_nmask_t *mask);
#endif
/* nd_lsh_touch: start loading the buckets nd_lsh_candidates() will probe for
 * the band keys bh (see lsh.c). */
void nd_lsh_touch(const nd_dedup_t *dd, const uint64_t *bh);
/* nd_lsh_candidates: fill dd->cand from the band tables, given the probing
 * signature's packed low slots (nd_sig_pack) and band keys (nd_band_hashes);
 * @return their number. */
uint32_t nd_lsh_candidates(nd_dedup_t *dd, const uint8_t *plo, const uint64_t *bh,
                           uint32_t n_shingles);

/* cluster.c */
uint32_t nd_clu_find(const nd_dedup_t *dd, uint64_t id);
uint32_t nd_source_rank(const nd_dedup_t *dd, uint32_t src_hash);
int nd_clu_has_source(const nd_clu_t *c, uint32_t src_hash);
void nd_clu_release(nd_dedup_t *dd, uint32_t cidx);
size_t nd_clu_bytes(const nd_dedup_t *dd);

/* engine.c: the internal steps snapshot.c replays */
uint64_t nd_dedup_fingerprint(const nd_dedup_conf_t *conf);
uint64_t nd_dedup_uri_hash(const nd_dedup_t *dd, const char *uri, size_t len);
uint32_t nd_dedup_src_hash(const nd_dedup_t *dd, const char *src, size_t len);
/* nd_dedup_cluster_id: the id of a cluster founded by uri (XXH3, seed 0). */
uint64_t nd_dedup_cluster_id(const char *uri, size_t len);
/* nd_dedup_reserve: room in every pool and table for one more article. */
nd_err_t nd_dedup_reserve(nd_dedup_t *dd);
/*
 * nd_dedup_index_article: index an article into cluster cidx (reserved:
 * cannot fail). Fills the record from the arguments; bh: the band keys
 * (nd_band_hashes). A band key is indexed once per cluster: when an article
 * of cluster cidx already holds the same key in band b, the new article takes
 * its entry (the newest member stays findable the longest) and the old one
 * loses bit b of its band_mask. band_mask non-NULL (a snapshot load): index
 * exactly the bands it names, no rule. same: take the entries from the list
 * the last nd_lsh_candidates() made for this signature (dd->same_ok, nothing
 * in the band tables changed since) instead of walking the chains again: the
 * same entries are taken. @return the new record's index.
 */
uint32_t nd_dedup_index_article(nd_dedup_t *dd, uint64_t uri_hash, int64_t t, const nd_sig_t *sig,
                                const uint8_t *plo, const uint8_t *hi, const uint64_t *bh,
                                uint32_t cidx, const uint32_t *band_mask, int same);
/* nd_dedup_time_s: event time t (ms) as an article's stored seconds (sets the
 * epoch on first use); nd_dedup_time_ms: the inverse, to the second. */
int32_t nd_dedup_time_s(nd_dedup_t *dd, int64_t t);
int64_t nd_dedup_time_ms(const nd_dedup_t *dd, int32_t s);
/* nd_art_age: how many arrivals ago article a came (larger = older). */
static inline uint32_t nd_art_age(const nd_dedup_t *dd, const nd_art_t *a)
{
    return (uint32_t)dd->next_seq - a->seq;
}

/* snapshot.c: load from memory (the file reader and the fuzzer use it). */
nd_dedup_t *nd_dedup_load_mem(const nd_dedup_conf_t *conf, const uint8_t *data, size_t len,
                              nd_err_t *err, char *errstr, size_t errstr_size);

#endif /* ND_DEDUP_INT_H */
