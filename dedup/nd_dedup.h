/*
 * nd_dedup.h - articles in, decisions out: the near-duplicate engine.
 *
 * A pure library: no I/O except snapshot files, no Kafka, no JSON. It sees an
 * article as its normalised token string (tokens separated by one ' ', as
 * nd_normalize() in ingest produces) plus a little metadata.
 *
 * Two steps, so that signing can run on many threads while deciding stays
 * sequential and deterministic:
 *
 *     nd_dedup_conf_t conf;
 *     nd_dedup_conf_init(&conf);
 *     nd_dedup_t *dd = nd_dedup_new(&conf, errstr, sizeof(errstr));
 *
 *     nd_sig_t sig;                                  // any thread
 *     nd_dedup_sign(dd, art.text, art.text_len, &sig);
 *
 *     nd_item_t it = {art.uri, art.uri_len, art.source, art.source_len,
 *                     art.event_time_ms, art.body_len};
 *     nd_decision_t d;                               // one thread, input order
 *     nd_dedup_add(dd, &it, &sig, &d);
 *     if (d.verdict == ND_VERDICT_DUPLICATE) ...
 *
 *     nd_dedup_destroy(dd);
 *
 * Similarity: text shingles (k consecutive tokens) hashed with XXH3 build a
 * one-permutation MinHash signature with densification; LSH bands over the
 * signature find candidates; candidates are verified before an article joins
 * a cluster. Same input in the same order gives the same decisions on every
 * kernel and every run.
 *
 * Thread-safety: nd_dedup_sign() may be called concurrently with anything
 * (it reads only immutable configuration). Every other call on one handle
 * must be serialised by the caller.
 */
#ifndef ND_DEDUP_H
#define ND_DEDUP_H

#include "nd_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of signature slots. Fixed at compile time so kernels unroll. */
#define ND_SIG_SLOTS 128

/* Signature slots the LSH bands may use: bands * rows <= ND_LSH_SLOTS. */
#define ND_LSH_SLOTS 64

/*
 * nd_sig_t: an article's signature. Plain data: copy it freely.
 */
typedef struct nd_sig_s {
    uint64_t text_hash;           /* XXH3 of the whole token string: exact-duplicate key */
    uint64_t num_mask;            /* one bit per distinct token holding a digit (64-bit
                                   * Bloom mask): templated look-alikes differ here */
    uint32_t n_shingles;          /* number of shingles hashed (set size estimate) */
    uint32_t slots[ND_SIG_SLOTS]; /* densified one-permutation minima; UINT32_MAX in
                                   * every slot for an empty text */
} nd_sig_t;

/* Bytes of a signature in its portable encoding (nd_sig_encode). */
#define ND_SIG_WIRE_SIZE (4 + 8 + 8 + 4 + 4 * ND_SIG_SLOTS)

/* nd_sig_encode: write sig as ND_SIG_WIRE_SIZE bytes, little-endian, with a
 * format tag. */
void nd_sig_encode(const nd_sig_t *sig, uint8_t out[ND_SIG_WIRE_SIZE]);

/* nd_sig_decode: the inverse. @return 0, or -1 if len or the tag is wrong. */
int nd_sig_decode(const uint8_t *in, size_t len, nd_sig_t *sig);

/* Which article becomes a cluster's canonical. */
typedef enum nd_canon_policy_e {
    ND_CANON_FIRST = 0, /* the first article seen (default) */
    ND_CANON_LONGEST,   /* the article with the longest body so far */
    ND_CANON_SOURCE,    /* the first article from the most preferred source */
} nd_canon_policy_t;

/*
 * nd_dedup_conf_t: engine settings. Initialise with nd_dedup_conf_init();
 * nd_dedup_new() copies it (strings included).
 */
typedef struct nd_dedup_conf_s {
    int64_t window_ms;       /* event-time window; default 72 h */
    uint32_t max_articles;   /* cap on indexed articles; default 1,000,000 */
    uint32_t shingle_tokens; /* k, tokens per shingle */
    uint32_t bands;          /* LSH bands */
    uint32_t rows;           /* signature slots per band; bands*rows <= ND_SIG_SLOTS */
    double threshold;        /* verified similarity needed to join a cluster */
    nd_canon_policy_t canonical;
    const char *preferred_sources; /* comma-separated, best first; for ND_CANON_SOURCE */
    const char *kernel; /* NULL or "auto": best the CPU has; else "scalar", "avx2", "neon" */
    uint64_t seed;      /* hash seed; part of the snapshot's compatibility check */
} nd_dedup_conf_t;

/* nd_dedup_conf_init: fill conf with the defaults. */
void nd_dedup_conf_init(nd_dedup_conf_t *conf);

typedef struct nd_dedup_s nd_dedup_t;

/*
 * nd_dedup_new: create an engine. @return the handle, or NULL with the reason
 * in errstr (invalid setting, unknown or unavailable kernel, out of memory).
 */
nd_dedup_t *nd_dedup_new(const nd_dedup_conf_t *conf, char *errstr, size_t errstr_size);

/* nd_dedup_destroy: free the engine; NULL is a no-op. */
void nd_dedup_destroy(nd_dedup_t *dd);

/* nd_dedup_kernel_name: the signature kernel this engine uses ("avx2", ...). */
const char *nd_dedup_kernel_name(const nd_dedup_t *dd);

/*
 * nd_sign_kernels: the kernels this build and CPU can run, best last,
 * NULL-terminated; "scalar" is always first.
 */
const char *const *nd_sign_kernels(void);

/*
 * nd_dedup_sign: compute the signature of a normalised token string.
 * Thread-safe. An empty text gives a signature that matches nothing but its
 * exact duplicates. @return ND_ERR_NO_ERROR.
 */
nd_err_t nd_dedup_sign(const nd_dedup_t *dd, const char *text, size_t len, nd_sig_t *sig);

/* What the engine needs to know of an article besides its signature. */
typedef struct nd_item_s {
    const char *uri; /* identity; must be non-empty */
    size_t uri_len;
    const char *source; /* may be empty */
    size_t source_len;
    int64_t event_time_ms; /* INT64_MIN (ND_TIME_NONE): use the engine's watermark */
    size_t body_len;       /* for ND_CANON_LONGEST */
} nd_item_t;

typedef enum nd_verdict_e {
    ND_VERDICT_NEW = 0,    /* started a new cluster; it is that cluster's canonical */
    ND_VERDICT_DUPLICATE,  /* joined an existing cluster */
    ND_VERDICT_REDELIVERY, /* uri already indexed: no state changed, counts unchanged */
} nd_verdict_t;

/* A cluster's state after a decision. */
typedef struct nd_cluster_info_s {
    uint64_t id;           /* stable: XXH3 of the founding article's uri; never changes */
    uint32_t count;        /* distinct articles (uris) ever accepted into it */
    uint32_t sources;      /* distinct non-empty sources among them */
    int64_t first_seen_ms; /* least event time among its articles */
    int64_t last_seen_ms;  /* greatest event time among its articles */
} nd_cluster_info_t;

/*
 * nd_decision_t: the engine's answer for one article. Pointers are owned by
 * the engine and valid until the next call on it.
 */
typedef struct nd_decision_s {
    nd_verdict_t verdict;
    nd_cluster_info_t cluster;
    int exact;               /* matched by the exact-text fast path */
    double similarity;       /* verified similarity to the best match; 0 for NEW */
    const char *matched_uri; /* canonical uri of the matched cluster before this
                              * decision (articles keep only uri hashes); NULL for NEW */
    size_t matched_uri_len;
    int canonical_changed;     /* this article is now its cluster's canonical */
    const char *canonical_uri; /* the cluster's canonical uri after this decision */
    size_t canonical_uri_len;
} nd_decision_t;

/*
 * nd_dedup_add: decide one article, in arrival order, and index it.
 * Evicts, a bounded amount per call, articles older than the window (by event
 * time relative to the greatest seen) and beyond max_articles.
 * @return ND_ERR_NO_ERROR and fills *out; ND_ERR_INVALID_ARG (empty uri) or
 *   ND_ERR_NOMEM, in which case no article, cluster or count changed (evictions
 *   that were due may have happened); the same call can be retried.
 */
nd_err_t nd_dedup_add(nd_dedup_t *dd, const nd_item_t *item, const nd_sig_t *sig,
                      nd_decision_t *out);

/*
 * nd_dedup_restore: re-index an article whose decision was made before (a
 * replay of committed state after a restart), into the given cluster. Cluster
 * counts are rebuilt as if the article had been added; no decision is made.
 * Restoring a uri already indexed is a no-op. @return as nd_dedup_add().
 */
nd_err_t nd_dedup_restore(nd_dedup_t *dd, const nd_item_t *item, const nd_sig_t *sig,
                          uint64_t cluster_id, int is_canonical);

/* Engine counters. */
typedef struct nd_dedup_stats_s {
    uint64_t added;      /* articles added (all verdicts) */
    uint64_t duplicates; /* ND_VERDICT_DUPLICATE */
    uint64_t redeliveries;
    uint64_t clusters;    /* clusters ever created */
    uint64_t indexed;     /* articles in the index now */
    uint64_t evicted;     /* articles evicted so far */
    uint64_t candidates;  /* LSH candidates verified */
    uint64_t index_bytes; /* bytes held by the index now */
} nd_dedup_stats_t;

/* nd_dedup_stats: fill *st with the engine's counters. */
void nd_dedup_stats(const nd_dedup_t *dd, nd_dedup_stats_t *st);

/*
 * nd_dedup_save: write the whole engine state to path (via a temporary file
 * renamed into place): magic, format version, settings fingerprint, payload,
 * XXH3 checksum. @return ND_ERR_NO_ERROR or ND_ERR_IO/ND_ERR_NOMEM.
 */
nd_err_t nd_dedup_save(const nd_dedup_t *dd, const char *path, char *errstr, size_t errstr_size);

/*
 * nd_dedup_load: create an engine from conf and a snapshot at path.
 * @return the handle, or NULL with err set to ND_ERR_IO, ND_ERR_SNAPSHOT_FOREIGN,
 *   ND_ERR_SNAPSHOT_VERSION, ND_ERR_SNAPSHOT_CORRUPT, ND_ERR_SNAPSHOT_CONFIG
 *   (settings that change decisions differ) or ND_ERR_NOMEM, and errstr.
 */
nd_dedup_t *nd_dedup_load(const nd_dedup_conf_t *conf, const char *path, nd_err_t *err,
                          char *errstr, size_t errstr_size);

/* nd_cluster_id_str: format a cluster id as its 16-hex-digit string (out >= 17 bytes). */
void nd_cluster_id_str(uint64_t id, char out[17]);

#ifdef __cplusplus
}
#endif
#endif /* ND_DEDUP_H */
