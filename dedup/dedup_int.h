/*
 * dedup_int.h - internals of the dedup module, shared by its files only.
 *
 * Layout of the index (see docs/BENCHMARKS.md "Engine memory" for the bytes):
 *  - articles live in a chunked pool (nd_pool_t) and are named by a 32-bit
 *    index; every table holds such indices, never pointers;
 *  - nd_itab_t is an open-addressed table of 32-bit entries (8-bit tag from
 *    the key's hash, 24-bit index) that grows by Redis-style incremental
 *    rehash: the hash of an entry is recomputed from the record it names, so
 *    the table itself stores 4 bytes per entry;
 *  - one table per LSH band, one for uris, one for exact texts, one for
 *    cluster ids; a binary min-heap on (event time, seq) drives eviction.
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

/*
 * A signature kernel: fold the shingles of the n token hashes th[0..n) (one
 * shingle per window of k consecutive tokens, n >= k >= 1) into slots by
 * keeping the per-slot minimum. Every kernel must give the same slots as the
 * scalar reference for every input.
 */
typedef void (*nd_sign_kernel_fn)(const uint64_t *th, size_t n, uint32_t k,
                                  uint32_t slots[ND_SIG_SLOTS]);

typedef struct nd_sign_kernel_s {
    const char *name;
    nd_sign_kernel_fn fn;
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

void nd_sign_kernel_scalar(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS]);
#if defined(__x86_64__) || defined(__i386__)
void nd_sign_kernel_avx2(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS]);
#endif
#if defined(__aarch64__)
void nd_sign_kernel_neon(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS]);
#endif

/* nd_sign_kernel_find: the kernel called name (NULL or "auto": the best the
 * CPU has), or NULL when this build or CPU cannot run it. */
const nd_sign_kernel_t *nd_sign_kernel_find(const char *name);

/*
 * nd_sign_with: sign text with the given kernel (the body of nd_dedup_sign,
 * exposed for tests and the bench). k = tokens per shingle.
 */
void nd_sign_with(const nd_sign_kernel_t *kern, uint32_t k, uint64_t seed, const char *text,
                  size_t len, nd_sig_t *sig);

/* ------------------------------------------------------------ pool, table */

/* nd_pool_t: fixed-size records in chunks of 2^ND_POOL_SHIFT; growth never
 * moves a record, so it costs one chunk allocation, never a copy. */
#define ND_POOL_SHIFT 10
typedef struct nd_pool_s {
    char **chunks;
    uint32_t nchunks, chunks_cap;
    uint32_t esize;
    uint32_t next;  /* records [0, next) have been handed out at least once */
    uint32_t *free; /* released indices, reused LIFO */
    uint32_t nfree, free_cap;
    uint32_t live;
} nd_pool_t;

void nd_pool_init(nd_pool_t *p, size_t esize);
void nd_pool_free(nd_pool_t *p);
/* nd_pool_reserve: make the next nd_pool_take() infallible. */
nd_err_t nd_pool_reserve(nd_pool_t *p);
/* nd_pool_take: a zeroed record's index; nd_pool_reserve() must have succeeded. */
uint32_t nd_pool_take(nd_pool_t *p);
/* nd_pool_put: release idx (its free-list room was reserved by take). */
void nd_pool_put(nd_pool_t *p, uint32_t idx);
static inline void *nd_pool_get(const nd_pool_t *p, uint32_t idx)
{
    return p->chunks[idx >> ND_POOL_SHIFT] + (size_t)(idx & ((1u << ND_POOL_SHIFT) - 1)) * p->esize;
}
size_t nd_pool_bytes(const nd_pool_t *p);

/* Largest record index an nd_itab_t entry can name. */
#define ND_ITAB_MAX_IDX ((1u << 24) - 3)

/* nd_itab_hash_fn: the 64-bit hash of the record idx names, as inserted. */
typedef uint64_t (*nd_itab_hash_fn)(const void *ctx, uint32_t aux, uint32_t idx);

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
/* nd_itab_reserve: room for one more insert; also advances a rehash a little.
 * @return ND_ERR_NOMEM when the table must grow and cannot; nothing lost. */
nd_err_t nd_itab_reserve(nd_itab_t *t);
/* nd_itab_insert: add (h, idx); nd_itab_reserve() must have succeeded. */
void nd_itab_insert(nd_itab_t *t, uint64_t h, uint32_t idx);
/* nd_itab_delete: remove the entry (h, idx) if present. @return 1 if removed. */
int nd_itab_delete(nd_itab_t *t, uint64_t h, uint32_t idx);
/* nd_itab_replace: make the entry (h, old) name new_idx. @return 1 if found. */
int nd_itab_replace(nd_itab_t *t, uint64_t h, uint32_t old_idx, uint32_t new_idx);
/*
 * nd_itab_find: call fn(arg, idx) for each entry whose tag matches h (the
 * caller checks the record); stops early when fn returns non-zero.
 */
void nd_itab_find(const nd_itab_t *t, uint64_t h, int (*fn)(void *arg, uint32_t idx), void *arg);
/* nd_itab_prefetch: start loading the buckets a probe for h reads first. The
 * band tables are probed 32 at a time: issuing every load before the first
 * probe overlaps their cache misses, which dominate the cost of an add. */
void nd_itab_prefetch(const nd_itab_t *t, uint64_t h);
size_t nd_itab_bytes(const nd_itab_t *t);

/* ------------------------------------------------------------------ engine */

/* Slots kept at 16 bits (LSH band keys and verification); the rest at 8 bits. */
#define ND_SIG_LO 64
#define ND_SIG_HI (ND_SIG_SLOTS - ND_SIG_LO)

/* Sets smaller than this (in shingles) are compared by Jaccard, not containment:
 * the containment estimate of a tiny set is too noisy, and tiny templated notices
 * (dividends) are contained in each other word for word. */
#define ND_CONTAIN_MIN_SHINGLES 30

/* Candidates gathered per add (distinct articles), and how many are verified. */
#define ND_CAND_MAX   1024
#define ND_VERIFY_MAX 24

/* Evictions done per add at most (beyond the one a full index needs). */
#define ND_EVICT_STEP 4

typedef struct nd_art_s {
    uint64_t uri_hash;
    uint64_t text_hash;
    uint64_t num_mask;
    int64_t time_ms;
    uint64_t seq;     /* arrival number: the tie-breaker everywhere */
    uint32_t cluster; /* pool index of its cluster */
    uint32_t n_shingles;
    uint32_t heap_pos;
    uint16_t lo[ND_SIG_LO];
    uint8_t hi[ND_SIG_HI];
} nd_art_t;

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

struct nd_dedup_s {
    nd_dedup_conf_t conf;
    char *preferred;     /* owned copy of conf.preferred_sources */
    uint32_t *pref_hash; /* 32-bit hashes of the preferred sources, best first */
    uint32_t n_pref;
    const nd_sign_kernel_t *kern;
    nd_pool_t arts, clus;
    nd_itab_t uri_tab, text_tab, clu_tab;
    nd_itab_t *band_tab; /* conf.bands tables */
    uint32_t *heap;      /* article indices, min-heap on (time_ms, seq) */
    uint32_t heap_len, heap_cap;
    int64_t watermark; /* greatest event time seen; INT64_MIN before any */
    uint64_t next_seq;
    nd_dedup_stats_t st;
    size_t extra_bytes;          /* canonical uri strings and source arrays */
    char *prev_canon;            /* a replaced canonical uri, kept until the next call */
    nd_cand_t cand[ND_CAND_MAX]; /* scratch for one add */
    uint32_t n_cand;
    uint32_t cand_set[2 * ND_CAND_MAX]; /* scratch: idx -> position + 1 in cand */
    int64_t cutoff;                     /* scratch: articles older than this are out */
    uint32_t band_cur;                  /* scratch: band being probed */
    const uint16_t *probe_lo;           /* scratch: the probing signature's 16-bit slots */
};

static inline nd_art_t *nd_art(const nd_dedup_t *dd, uint32_t idx)
{
    return (nd_art_t *)nd_pool_get(&dd->arts, idx);
}
static inline nd_clu_t *nd_clu(const nd_dedup_t *dd, uint32_t idx)
{
    return (nd_clu_t *)nd_pool_get(&dd->clus, idx);
}

/* Most bands an engine can have (bands * rows <= ND_SIG_LO, rows >= 2). */
#define ND_BANDS_MAX (ND_SIG_LO / 2)

/* lsh.c */
/* nd_band_hash: the table key of band `band` of the 16-bit slots lo. */
uint64_t nd_band_hash(uint64_t seed, uint32_t band, const uint16_t *lo, uint32_t rows);
/* nd_band_hashes: every band's key, bh[0..bands), each table's buckets prefetched. */
void nd_band_hashes(const nd_dedup_t *dd, const uint16_t *lo, uint64_t *bh);
void nd_sig_pack(const nd_sig_t *sig, uint16_t lo[ND_SIG_LO], uint8_t hi[ND_SIG_HI]);
/*
 * nd_lsh_similarity: the verified similarity of two packed signatures with set
 * sizes na, nb and digit masks ma, mb: estimated containment (Jaccard for tiny
 * sets), or 0 when the smaller text's numbers are mostly absent from the other.
 */
double nd_lsh_similarity(const uint16_t *alo, const uint8_t *ahi, uint32_t na, uint64_t ma,
                         const uint16_t *blo, const uint8_t *bhi, uint32_t nb, uint64_t mb);
/* nd_lsh_candidates: fill dd->cand from the band tables, given the probing
 * signature's slots and band keys (nd_band_hashes); @return their number. */
uint32_t nd_lsh_candidates(nd_dedup_t *dd, const uint16_t *lo, const uint64_t *bh,
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
/* nd_dedup_index_article: index an article into cluster cidx (reserved:
 * cannot fail). Fills the record from the arguments; bh: the band keys
 * (nd_band_hashes). @return its index. */
uint32_t nd_dedup_index_article(nd_dedup_t *dd, uint64_t uri_hash, int64_t t, const nd_sig_t *sig,
                                const uint16_t *lo, const uint8_t *hi, const uint64_t *bh,
                                uint32_t cidx);

/* snapshot.c: load from memory (the file reader and the fuzzer use it). */
nd_dedup_t *nd_dedup_load_mem(const nd_dedup_conf_t *conf, const uint8_t *data, size_t len,
                              nd_err_t *err, char *errstr, size_t errstr_size);

#endif /* ND_DEDUP_INT_H */
