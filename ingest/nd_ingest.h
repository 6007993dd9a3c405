/*
 * nd_ingest.h - bytes in, articles out.
 *
 * The ninjs parser (1.x, 2.x, 3.x), HTML stripping and text normalisation.
 * Knows nothing about similarity. The Kafka group consumer (nd_consumer_t) is
 * declared in the last section of this header.
 *
 * Example:
 *
 *     char errstr[256];
 *     nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
 *     nd_article_t art;
 *     nd_err_t err = nd_parser_parse(p, line, len, &art, errstr, sizeof(errstr));
 *     if (err)
 *         reject(nd_err_name(err), errstr);      // the run goes on
 *     else
 *         use(art.uri, art.text);                 // valid until the next parse
 *     nd_parser_destroy(p);
 *
 * Thread-safety: a parser handle is used by one thread at a time; several
 * handles may be used concurrently.
 */
#ifndef ND_INGEST_H
#define ND_INGEST_H

#include "nd_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Event time value meaning "the document carries no time". */
#define ND_TIME_NONE INT64_MIN

/*
 * nd_article_t: one parsed article. Every pointer is owned by the parser
 * handle that filled it and is valid until the next nd_parser_parse() or
 * nd_parser_destroy() on that handle. Strings are UTF-8 and not
 * NUL-terminated unless said so; lengths are in bytes.
 */
typedef struct nd_article_s {
    const char *uri; /* ninjs "uri"; never empty */
    size_t uri_len;
    /* The publishing source: copyrightholder / copyrightHolder, else the
     * first infoSources[].name, else "" (source_len 0). */
    const char *source;
    size_t source_len;
    /* The headline: "headline" (1.x) or headlines[0].value (2.x/3.x); may be
     * empty. Unescaped, not normalised. */
    const char *headline;
    size_t headline_len;
    /* versioncreated / versionCreated (else firstcreated / firstCreated) in ms
     * since the epoch; ND_TIME_NONE when absent. */
    int64_t event_time_ms;
    const char *language; /* "language" or ""; e.g. "en", "de" */
    size_t language_len;
    /* The normalised body text: tokens separated by exactly one ASCII space,
     * no leading or trailing space. See nd_normalize(). Never empty. */
    const char *text;
    size_t text_len;
    size_t body_len; /* length in bytes of the body before normalisation */
    int ninjs_major; /* 1, 2 or 3 as detected from the document shape */
    /* The original document bytes, as given, less what nd_parser_parse()
     * ignores around it: a trailing newline, a leading byte order mark and
     * leading blanks. */
    const char *doc;
    size_t doc_len;
} nd_article_t;

/* nd_parser_conf_t: parser limits. Initialise with nd_parser_conf_init(). */
typedef struct nd_parser_conf_s {
    size_t max_doc_bytes; /* larger documents are ND_ERR_TOO_LARGE; default 4 MiB */
    int max_depth;        /* deeper nesting is ND_ERR_TOO_DEEP; default 64 */
} nd_parser_conf_t;

/* nd_parser_conf_init: fill conf with the defaults documented above. */
void nd_parser_conf_init(nd_parser_conf_t *conf);

typedef struct nd_parser_s nd_parser_t;

/*
 * nd_parser_new: create a parser. conf may be NULL for the defaults; it is
 * copied. @return the handle, or NULL with a reason in errstr.
 */
nd_parser_t *nd_parser_new(const nd_parser_conf_t *conf, char *errstr, size_t errstr_size);

/* nd_parser_destroy: free the parser; NULL is a no-op. */
void nd_parser_destroy(nd_parser_t *p);

/*
 * nd_parser_parse: parse one ninjs document (one JSON Lines line or one Kafka
 * message value; a trailing "\r\n" or "\n" and a leading UTF-8 byte order
 * mark are ignored) and normalise its body. Byte offsets in errstr count
 * from the first byte after the mark and any leading blanks.
 *
 * Body choice: 1.x body_text, else body_html, else body_xhtml (HTML
 * stripped); 2.x/3.x the first bodies[] entry of contentType text/plain,
 * else text/html (stripped), else the first entry (markup if it starts with
 * '<'). With no body at all, the description is used the same way
 * (description_text / description_html, descriptions[]), since some wires
 * send short items that way. Empty strings do not count as a body.
 *
 * Keys are matched ASCII case-insensitively ("versioncreated" of 1.x/2.x and
 * "versionCreated" of 3.x are one field) and only at their ninjs position
 * (an "uri" inside "associations" is not the article's). A duplicate key:
 * the last occurrence wins. A null value counts as absent. ninjs_major comes
 * from "$schema" (".../ninjs-schema_3.0.json") or "standard.version" when
 * present, else the shape: camelCase keys -> 3, headlines/bodies/
 * descriptions/infoSources arrays -> 2, else 1.
 *
 * @return ND_ERR_NO_ERROR and fills *out, or an input error code (ND_ERR_EMPTY,
 *   ND_ERR_BAD_JSON, ND_ERR_NOT_OBJECT, ND_ERR_WRONG_TYPE, ND_ERR_BAD_UTF8,
 *   ND_ERR_TOO_LARGE, ND_ERR_TOO_DEEP, ND_ERR_MISSING_URI, ND_ERR_MISSING_TEXT,
 *   ND_ERR_BAD_TIME) with a one-line human explanation in errstr, or
 *   ND_ERR_NOMEM. Never crashes and never reads outside buf[0..len).
 */
nd_err_t nd_parser_parse(nd_parser_t *p, const char *buf, size_t len, nd_article_t *out,
                         char *errstr, size_t errstr_size);

/*
 * Text normalisation.
 *
 * nd_normalize: turn body text into the token string the engine shingles.
 *  - if is_html: tags removed (block tags become word breaks, inline ones
 *    such as <b>, <a>, <span> do not), comments removed, entities decoded
 *    (named, decimal, hex; an unknown one stays literal text),
 *    <script>/<style>/<head> content dropped;
 *  - Unicode NFKC with case folding; combining marks removed in every
 *    script (so also Japanese dakuten and Thai vowel signs: lossy, but the
 *    same on every copy of a text);
 *  - typographic variants folded: curly quotes to straight, all dashes to '-',
 *    no-break and other spaces to ' ', ellipsis to "...";
 *  - split into words: letters and digits of any script (Latin, Cyrillic,
 *    Greek, Arabic, Persian, ...) form words; punctuation and spaces separate
 *    them; Arabic tatweel and zero-width joiners are dropped;
 *  - scripts written without spaces (Han, Hiragana, Katakana, Thai, Lao,
 *    Khmer, Myanmar) emit one token per character, so word shingles over
 *    them are character n-grams;
 *  - tokens are joined with one ' '.
 * Plain ASCII runs take a fast path with no Unicode tables.
 *
 * out is reset first. @return ND_ERR_NO_ERROR, ND_ERR_BAD_UTF8 or ND_ERR_NOMEM.
 * The result may be empty (no letters or digits). Thread-safe.
 */
nd_err_t nd_normalize(const char *in, size_t len, int is_html, nd_buf_t *out);

/* ------------------------------------------------------------------------
 * Kafka consumer (ingest/consumer.c)
 *
 * A group consumer for a pipeline in which one engine must see every input
 * partition: it subscribes to topics (names, or "^regex" as librdkafka takes
 * them), follows rebalances, pauses while the assignment covers only part of
 * the subscription, tracks the end of each partition, and hands out batches
 * of messages. Offsets are the caller's: it commits them (in a transaction
 * with rd_kafka_send_offsets_to_transaction, or with nd_consumer_commit),
 * then records them with nd_consumer_store_offsets.
 *
 * Example:
 *
 *     rd_kafka_conf_t *conf = rd_kafka_conf_new();     // bootstrap, group.id, ...
 *     const char *topics[] = {"^wire\\."};
 *     nd_consumer_t *c = nd_consumer_new(conf, topics, 1, NULL, errstr, sizeof(errstr));
 *     rd_kafka_message_t *msgs[1000];
 *     size_t n;
 *     while (!stop) {
 *         if (nd_consumer_collect(c, msgs, 1000, &n, 100, 100, errstr, sizeof(errstr)))
 *             break;                                // fatal (fenced, ...)
 *         ... decide msgs[0..n), commit their offsets ...
 *         nd_consumer_store_offsets(c, msgs, n);
 *         nd_consumer_messages_destroy(msgs, n);
 *     }
 *     nd_consumer_destroy(c);
 *
 * Thread-safety: one thread uses a consumer (librdkafka serves its rebalance
 * callback from inside nd_consumer_collect, on that thread).
 * ------------------------------------------------------------------------ */

struct rd_kafka_s;                      /* rd_kafka_t */
struct rd_kafka_conf_s;                 /* rd_kafka_conf_t */
struct rd_kafka_message_s;              /* rd_kafka_message_t */
struct rd_kafka_topic_partition_list_s; /* rd_kafka_topic_partition_list_t */

typedef struct nd_consumer_s nd_consumer_t;

/* Optional hooks of a consumer; NULL members are off. */
typedef struct nd_consumer_hooks_s {
    /* librdkafka statistics (statistics.interval.ms): the JSON, valid for the
     * call only. Called on a librdkafka thread. */
    void (*stats)(void *opaque, const char *json, size_t json_len);
    void *opaque;
} nd_consumer_hooks_t;

/*
 * nd_consumer_new: create a group consumer and subscribe it to topics[0..n).
 * conf must carry bootstrap.servers and group.id; the consumer overrides
 * enable.auto.commit=false, enable.partition.eof=true and the rebalance
 * callback, and takes conf's opaque for itself (librdkafka callbacks set on
 * conf receive the rd_kafka_t only; use hooks for statistics). On success
 * conf belongs to the consumer; on failure it is still the caller's. hooks
 * is copied and may be NULL. @return NULL with errstr on failure.
 */
nd_consumer_t *nd_consumer_new(struct rd_kafka_conf_s *conf, const char *const *topics,
                               int n_topics, const nd_consumer_hooks_t *hooks, char *errstr,
                               size_t errstr_size);

/*
 * nd_consumer_destroy: leave the group (consumer close) and free everything;
 * NULL is a no-op. A consumer with a fatal error (fenced static member) is
 * neither closed nor destroyed, since librdkafka 2.0 hangs in both: its
 * memory is left to the exiting process.
 */
void nd_consumer_destroy(nd_consumer_t *c);

/* nd_consumer_handle: the underlying rd_kafka_t (for
 * rd_kafka_consumer_group_metadata, statistics, ...); owned by c. */
struct rd_kafka_s *nd_consumer_handle(const nd_consumer_t *c);

/*
 * nd_consumer_collect: take up to cap messages into msgs[0..*n). Waits up to
 * wait_ms for the first one; then keeps taking until cap, until linger_ms
 * have passed since the first, or as soon as no message is queued locally
 * while every assigned partition is at its end (so a live stream is batched
 * by what has arrived, not cut at each end-of-partition event). Every
 * message returned has no error; the caller destroys them
 * (nd_consumer_messages_destroy).
 *
 * Batches come in event order, within and across batches: the partitions'
 * messages are merged by message timestamp, each partition in offset order,
 * partitions taking turns at equal timestamps (then by topic and partition),
 * so which article of a story is "first seen" follows the wires' timestamps,
 * not fetch order. A batch ends at the safe time (the least newest timestamp
 * delivered by the partitions not at their end): what a partition delivered
 * at or beyond it is held back for a later batch, and once held messages pile
 * up the partitions ahead are paused until the others catch up (at most
 * max(cap, 4096) messages are held; past that the oldest go anyway). So in
 * a backfill no partition runs ahead of the others, and a live stream that
 * has caught up is not delayed. Held messages are not handed out, so their
 * offsets are never the caller's to commit.
 *
 * Messages of a partition set that is not whole are dropped (not ours to
 * decide while paused); a rebalance during the call drops what was taken or
 * held before it (fetching restarts from the committed offsets) and bumps
 * nd_consumer_generation(). Also re-checks an incomplete assignment every few
 * seconds. @return 0, or -1 on a fatal consumer error (e.g. fenced by a newer
 * instance of the group) with errstr.
 */
int nd_consumer_collect(nd_consumer_t *c, struct rd_kafka_message_s **msgs, size_t cap, size_t *n,
                        int wait_ms, int linger_ms, char *errstr, size_t errstr_size);

/* nd_consumer_messages_destroy: destroy msgs[0..n). */
void nd_consumer_messages_destroy(struct rd_kafka_message_s **msgs, size_t n);

/* nd_consumer_generation: bumped by every rebalance; messages collected under
 * an older generation belong to an old assignment and must not be decided. */
uint64_t nd_consumer_generation(const nd_consumer_t *c);

/* nd_consumer_whole: 1 when the assignment covers every partition of every
 * subscribed topic (so deciding is allowed), else 0. */
int nd_consumer_whole(const nd_consumer_t *c);

/* nd_consumer_paused: 1 while the partitions are paused because the
 * assignment is not whole. */
int nd_consumer_paused(const nd_consumer_t *c);

/* nd_consumer_held: how many messages are taken from librdkafka but held
 * back for a later batch (see nd_consumer_collect). */
size_t nd_consumer_held(const nd_consumer_t *c);

/* nd_consumer_at_end: 1 when the assignment is whole and non-empty, every
 * assigned partition has reported its end since its last message, and no
 * message is held back. */
int nd_consumer_at_end(const nd_consumer_t *c);

/* nd_consumer_rewind: drop the messages held back and seek every assigned
 * partition back to its committed offset (the beginning where nothing is
 * committed). @return 0, or -1 with errstr. */
int nd_consumer_rewind(nd_consumer_t *c, char *errstr, size_t errstr_size);

/* nd_consumer_lag: input messages not yet consumed, summed over the
 * assignment (high watermark, or last stable offset with read_committed,
 * minus position; partitions not yet fetched count 0). */
int64_t nd_consumer_lag(nd_consumer_t *c);

/*
 * nd_consumer_offsets: the offsets that commit msgs[0..n): per partition, the
 * highest offset + 1. @return a new list (the caller destroys it with
 * rd_kafka_topic_partition_list_destroy), or NULL on out of memory.
 */
struct rd_kafka_topic_partition_list_s *nd_consumer_offsets(struct rd_kafka_message_s *const *msgs,
                                                            size_t n);

/* nd_consumer_store_offsets: record msgs[0..n) as committed, so that a
 * pause/resume or rebalance fetches from after them. */
void nd_consumer_store_offsets(nd_consumer_t *c, struct rd_kafka_message_s *const *msgs, size_t n);

/* nd_consumer_commit: store and synchronously commit the offsets of
 * msgs[0..n) (pipelines without transactions). @return 0, or -1 with errstr
 * (not fatal: the messages are delivered again later). */
int nd_consumer_commit(nd_consumer_t *c, struct rd_kafka_message_s *const *msgs, size_t n,
                       char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* ND_INGEST_H */
