/*
 * nd_sinks.h - decisions in, records out.
 *
 * One encoder for the four record kinds (used by every sink), and sinks that
 * carry them: JSON Lines files (nd_sink_jsonl_new) and Kafka topics
 * (nd_sink_kafka_new). A sink turns each engine decision into the records it
 * implies, so every sink emits exactly the same records:
 *
 *   verdict NEW           canonical + membership + cluster
 *   DUPLICATE             membership + cluster (+ canonical if the policy
 *                         made this article the new canonical)
 *   REDELIVERY            nothing: the uri is already a member
 *   a rejected input      reject
 *
 * Example:
 *
 *     nd_sink_t *s = nd_sink_jsonl_new("out", errstr, sizeof(errstr));
 *     nd_sink_emit(s, &art, &decision);        // after nd_dedup_add
 *     nd_sink_reject(s, &rej);                 // after a parse error
 *     nd_sink_flush(s, errstr, sizeof(errstr));
 *     nd_sink_destroy(s);
 *
 * Record formats (JSON objects, one per line / message value; times are
 * ISO 8601 UTC strings, cluster ids 16 lower-case hex digits):
 *
 *   canonical   (key: cluster id)
 *     {"cluster":"…","uri":"…","source":"…","headline":"…","event_time":"…",
 *      "document":{ …the article's original ninjs document, unchanged… }}
 *   memberships (key: article uri)
 *     {"id":"<uri>","cluster":"…","duplicate":true|false,
 *      "duplicate_of":"<canonical uri>"|null,"matched":"<uri>"|null,
 *      "similarity":0.93,"exact":false,"source":"…","event_time":"…"}
 *   clusters    (key: cluster id)
 *     {"cluster":"…","count":3,"sources":2,"first_seen":"…","last_seen":"…",
 *      "canonical":"<uri>"}
 *   rejects     (key: none)
 *     JSON Lines: {"reason":"bad_json","error":"…","origin":"<file or topic>",
 *      "partition":-1,"offset":<line number or Kafka offset>,"input":"<the input as
 *      a string, invalid UTF-8 replaced by U+FFFD, cut at 64 KiB>"}
 *     Kafka: the value is the input bytes unchanged; the reason, error, source
 *      topic, partition and offset travel in headers (see nd_sink_kafka_new).
 */
#ifndef ND_SINKS_H
#define ND_SINKS_H

#include "nd_common.h"
#include "nd_dedup.h"
#include "nd_ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The four outputs. */
typedef enum nd_out_e {
    ND_OUT_CANONICAL = 0,
    ND_OUT_MEMBERSHIPS,
    ND_OUT_CLUSTERS,
    ND_OUT_REJECTS,
    ND_OUT__CNT
} nd_out_t;

/* nd_out_name: "canonical", "memberships", "clusters" or "rejects". */
const char *nd_out_name(nd_out_t out);

/* An input that could not be processed, and where it came from. */
typedef struct nd_reject_s {
    nd_err_t reason;    /* the stable reason code (nd_err_name) */
    const char *detail; /* human explanation (the parser's errstr); may be NULL */
    const char *origin; /* input file name ("-" for stdin) or Kafka topic */
    int32_t partition;  /* Kafka partition, -1 for files */
    int64_t offset;     /* Kafka offset, or 1-based line number for files */
    const char *input;  /* the input bytes as received (may be NULL if empty) */
    size_t input_len;
} nd_reject_t;

/*
 * Encoders. Each appends one JSON record (no newline) to out.
 * @return ND_ERR_NO_ERROR or ND_ERR_NOMEM (out then holds a partial record:
 * reset it before reuse).
 */
nd_err_t nd_record_canonical(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d);
nd_err_t nd_record_membership(nd_buf_t *out, const nd_article_t *art, const nd_decision_t *d);
nd_err_t nd_record_cluster(nd_buf_t *out, const nd_decision_t *d);
nd_err_t nd_record_reject(nd_buf_t *out, const nd_reject_t *r);

/*
 * nd_sink_ops_t: what a sink implementation provides. write() receives one
 * encoded record with its key (NULL for rejects) and, for rejects, the reject
 * itself (for headers). flush() makes everything written so far durable.
 */
typedef struct nd_sink_ops_s {
    nd_err_t (*write)(void *opaque, nd_out_t out, const char *key, size_t key_len,
                      const char *value, size_t value_len, const nd_reject_t *rej);
    nd_err_t (*flush)(void *opaque, char *errstr, size_t errstr_size);
    void (*destroy)(void *opaque);
} nd_sink_ops_t;

typedef struct nd_sink_s nd_sink_t;

/*
 * nd_sink_new: wrap an implementation. The sink takes ownership of opaque
 * (ops->destroy frees it). @return NULL on out of memory (opaque is then
 * destroyed too).
 */
nd_sink_t *nd_sink_new(const nd_sink_ops_t *ops, void *opaque);

/* nd_sink_destroy: destroy the sink and its implementation; NULL is a no-op.
 * Does not flush. */
void nd_sink_destroy(nd_sink_t *s);

/*
 * nd_sink_emit: write the records one decision implies (table above).
 * @return ND_ERR_NO_ERROR, ND_ERR_NOMEM, or the implementation's error.
 */
nd_err_t nd_sink_emit(nd_sink_t *s, const nd_article_t *art, const nd_decision_t *d);

/* nd_sink_reject: write one reject record. */
nd_err_t nd_sink_reject(nd_sink_t *s, const nd_reject_t *r);

/* nd_sink_flush: flush the implementation. */
nd_err_t nd_sink_flush(nd_sink_t *s, char *errstr, size_t errstr_size);

/* Counters of records written, by output. */
typedef struct nd_sink_stats_s {
    uint64_t records[ND_OUT__CNT];
} nd_sink_stats_t;

/* nd_sink_stats: records written so far through s. */
void nd_sink_stats(const nd_sink_t *s, nd_sink_stats_t *st);

/*
 * nd_sink_jsonl_new: a sink writing DIR/canonical.jsonl, DIR/memberships.jsonl,
 * DIR/clusters.jsonl and DIR/rejects.jsonl (created or truncated; DIR is
 * created if missing). @return NULL with errstr on failure.
 */
nd_sink_t *nd_sink_jsonl_new(const char *dir, char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------------
 * Kafka sink (sinks/sink_kafka.c)
 * ------------------------------------------------------------------------ */

struct rd_kafka_s; /* rd_kafka_t of <librdkafka/rdkafka.h> */

/*
 * nd_sink_kafka_new: a sink producing each record to its output topic
 * through producer, which the caller creates, owns and outlives the sink
 * with (the caller runs its transactions and polls it for delivery reports).
 * topics[ND_OUT_*] names the topics; topics == NULL or a NULL entry takes the
 * default: dedup.canonical, dedup.memberships, dedup.clusters, dedup.rejects.
 *
 * Keys: canonical and clusters messages are keyed by cluster id (16 hex
 * digits), memberships by article uri; rejects have no key. A reject's value
 * is the input bytes unchanged, with headers "reason" (nd_err_name), "error"
 * (human text), "topic", "partition" and "offset" (decimal) of the input.
 *
 * write() returns ND_ERR_KAFKA (or ND_ERR_KAFKA_FATAL once the producer has
 * a fatal error) when librdkafka refuses a message; a full queue is waited
 * out. flush() waits (60 s at most) for every message to be delivered or to
 * fail: per-message delivery errors reach only the caller's dr_msg_cb (or
 * fail its commit_transaction), so a caller without transactions must watch
 * them there. @return NULL with errstr on failure.
 */
nd_sink_t *nd_sink_kafka_new(struct rd_kafka_s *producer, const char *const topics[ND_OUT__CNT],
                             char *errstr, size_t errstr_size);

/* nd_sink_kafka_default_topic: "dedup.canonical", ... for out; NULL if out is
 * not an output. */
const char *nd_sink_kafka_default_topic(nd_out_t out);

/* ------------------------------------------------------------------------
 * State records (sinks/state_record.c)
 *
 * The state topic (dedup.state, compacted, key = uri) holds one record per
 * accepted article, written in the same transaction as its outputs: enough to
 * re-index the article after a restart with nd_dedup_restore(). Binary,
 * little-endian:
 *   "NDS1" | u64 cluster | i64 event_time_ms | u64 body_len | u8 canonical |
 *   u32 uri_len | u32 source_len | signature (nd_sig_encode) | uri | source
 * ------------------------------------------------------------------------ */

#define ND_STATE_RECORD_MAGIC "NDS1"

/* One decoded state record. item.uri and item.source point into the encoded
 * bytes given to nd_state_record_decode (valid as long as they are). */
typedef struct nd_state_record_s {
    nd_item_t item;
    nd_sig_t sig;
    uint64_t cluster_id;
    int is_canonical; /* the article was its cluster's canonical when decided */
} nd_state_record_t;

/*
 * nd_state_record_encode: the state record of an accepted article (art, its
 * signature and the engine's decision for it) into out, which is reset first.
 * @return ND_ERR_NO_ERROR, ND_ERR_INVALID_ARG (empty or > 4 GiB uri/source)
 * or ND_ERR_NOMEM.
 */
nd_err_t nd_state_record_encode(nd_buf_t *out, const nd_article_t *art, const nd_sig_t *sig,
                                const nd_decision_t *d);

/*
 * nd_state_record_decode: parse buf[0..len) into *rec. Never reads outside
 * buf. @return ND_ERR_NO_ERROR, or ND_ERR_INVALID_ARG when the bytes are not a
 * well-formed state record (other magic, lengths that do not add up, empty
 * uri, bad signature tag): such a record is to be skipped.
 */
nd_err_t nd_state_record_decode(const void *buf, size_t len, nd_state_record_t *rec);

#ifdef __cplusplus
}
#endif
#endif /* ND_SINKS_H */
