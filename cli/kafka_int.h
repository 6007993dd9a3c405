/*
 * kafka_int.h - the Kafka side of the CLI, shared by `run`, `broker`, `demo`
 * (cmd_run.c, cmd_broker.c, cmd_demo.c) and their helpers: client
 * configuration (kafka_conf.c), the metrics endpoint (metrics.c), the state
 * topic restore (state_load.c) and the background parse+sign stage (prep.c).
 * Internal to the CLI folder. The group consumer is in ingest (nd_consumer_t),
 * the Kafka sink and the state-record codec in sinks.
 */
#ifndef ND_KAFKA_INT_H
#define ND_KAFKA_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "batch.h"
#include "cli.h"

#include <signal.h>

/* ---- Client configuration, kafka_conf.c ---- */

/*
 * nd_kafka_conf_apply_user: apply the user's settings to conf/tconf: -b as
 * bootstrap.servers, then -F FILE (property=value lines, '#' comments), then
 * every -X (a "topic." prefix sets a topic property). Call after setting our
 * defaults so that the user's win. @return 0, or -1 with errstr.
 */
int nd_kafka_conf_apply_user(const nd_cli_conf_t *c, rd_kafka_conf_t *conf,
                             rd_kafka_topic_conf_t *tconf, char *errstr, size_t errstr_size);

/* nd_kafka_log_cb: librdkafka log lines to stderr, prefixed "newsdedup run:". */
void nd_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/*
 * nd_kafka_ensure_topics: create the state topic and the four outputs where
 * missing (one partition; state, canonical and clusters compacted), if the
 * cluster has a controller. Failures are logged, never fatal: the broker may
 * auto-create, or the user creates them.
 */
void nd_kafka_ensure_topics(rd_kafka_t *rk, const nd_cli_conf_t *c);

/* nd_signals_block: block SIGINT and SIGTERM in this thread and every thread
 * it starts later (librdkafka's inherit the mask); set receives them, for
 * sigwait(). Call before creating any librdkafka handle. */
void nd_signals_block(sigset_t *set);

/* nd_signalled: whether SIGINT or SIGTERM is pending (the run blocks them in
 * every thread and polls with this). */
int nd_signalled(void);

/* ---- Counters and the metrics endpoint, metrics.c ---- */

/* What the pipeline counts; read by the metrics thread. */
typedef struct nd_counters_s {
    atomic_uint_fast64_t consumed, input_bytes, articles, duplicates, redeliveries, rejects,
        produced, clusters, indexed, lag, transactions, aborts, restored, paused, held;
    /* Microseconds the run loop spent deciding and producing batches, and
     * committing them (offsets and commit, or flush and offset commit with
     * --at-least-once): which of the two bounds a pipeline. */
    atomic_uint_fast64_t decide_us, commit_us;
} nd_counters_t;

/* librdkafka statistics kept per client. */
enum { ND_CLIENT_PRODUCER = 0, ND_CLIENT_CONSUMER = 1 };

typedef struct nd_metrics_s nd_metrics_t;

/*
 * nd_metrics_new: serve GET /metrics (Prometheus text: the counters, then a
 * few librdkafka statistics per client) on addr:port (IPv4) from a thread of
 * its own. counters must outlive the server. @return NULL with errstr.
 */
nd_metrics_t *nd_metrics_new(const char *addr, int port, const nd_counters_t *counters,
                             char *errstr, size_t errstr_size);

/* nd_metrics_destroy: stop the thread, close the socket; NULL is a no-op. */
void nd_metrics_destroy(nd_metrics_t *m);

/* nd_metrics_rdkafka_stats: keep a few numbers of one librdkafka statistics
 * JSON of client (ND_CLIENT_*). m may be NULL (nothing kept). Thread-safe. */
void nd_metrics_rdkafka_stats(nd_metrics_t *m, int client, const char *json);

/* ---- The state topic, state_load.c ---- */

/*
 * nd_state_load: read the state topic c->state_topic from its beginning to
 * its end (read_committed, a consumer of its own in group "GROUP.state-reader")
 * and restore every state record into dd; records that are not state records
 * are skipped. A missing topic is an empty state. Stops early with an error
 * when SIGINT/SIGTERM is pending. *restored counts the records restored.
 * @return 0, or -1 with errstr.
 */
int nd_state_load(const nd_cli_conf_t *c, nd_dedup_t *dd, uint64_t *restored, char *errstr,
                  size_t errstr_size);

/* ---- Background parse+sign, prep.c ---- */

typedef struct nd_prep_s nd_prep_t;

/* nd_prep_new: start the stage's thread. @return NULL with errstr. */
nd_prep_t *nd_prep_new(char *errstr, size_t errstr_size);

/* nd_prep_destroy: wait for the current job, stop the thread; NULL is a no-op. */
void nd_prep_destroy(nd_prep_t *p);

/*
 * nd_prep_submit: run nd_batcher_run(b, items, n) on the stage's thread. One
 * job at a time: the previous one must have been waited for. b and items
 * belong to the job until nd_prep_wait returns.
 */
void nd_prep_submit(nd_prep_t *p, nd_batcher_t *b, nd_batch_item_t *items, size_t n);

/* nd_prep_wait: wait for the submitted job (at once if none). @return its
 * nd_batcher_run result, or ND_ERR_NO_ERROR when there was none. */
nd_err_t nd_prep_wait(nd_prep_t *p);

/* ---- The embedded broker (librdkafka's mock cluster), cmd_broker.c ---- */

typedef struct nd_mock_s nd_mock_t;

/* nd_mock_new: start a mock cluster of broker_count brokers on loopback
 * ports. @return NULL with errstr on failure. */
nd_mock_t *nd_mock_new(int broker_count, char *errstr, size_t errstr_size);

/* nd_mock_destroy: stop the cluster; NULL is a no-op. */
void nd_mock_destroy(nd_mock_t *m);

/* nd_mock_bootstraps: "127.0.0.1:port,..."; owned by the cluster. */
const char *nd_mock_bootstraps(const nd_mock_t *m);

/* nd_mock_topic_create: create topic "NAME[:PARTITIONS]" (default 1
 * partition). @return 0, or -1 with errstr. */
int nd_mock_topic_create(nd_mock_t *m, const char *spec, char *errstr, size_t errstr_size);

/* ---- The pipeline, cmd_run.c ---- */

/* What one nd_run_pipeline() did. */
typedef struct nd_run_result_s {
    uint64_t consumed;     /* input messages processed (committed) */
    uint64_t input_bytes;  /* their value bytes */
    uint64_t articles;     /* accepted articles (NEW + DUPLICATE) */
    uint64_t duplicates;   /* DUPLICATE verdicts */
    uint64_t redeliveries; /* REDELIVERY verdicts */
    uint64_t rejects;      /* rejected inputs */
    uint64_t clusters;     /* clusters in the engine at the end (restored included) */
    uint64_t restored;     /* state records replayed at start */
    uint64_t transactions; /* committed transactions (or offset commits) */
    uint64_t aborts;       /* aborted transactions */
    double busy_ms;        /* from the first input message to the end */
    double decide_ms;      /* of which deciding batches and producing their records */
    double commit_ms;      /* and committing them */
    int eos;               /* 1 if transactions were used */
} nd_run_result_t;

/*
 * nd_run_pipeline: run the Kafka pipeline with conf (brokers, group, topics
 * in conf->args, ...) until SIGINT/SIGTERM, or, with conf->exit_at_end,
 * until every partition of the subscription is at its end. The caller must
 * have blocked SIGINT and SIGTERM in every thread (the loop polls for them).
 * summary, if not NULL, is fed with every decision. res may be NULL.
 * @return the process exit status: 0 on a clean stop, 1 on a fatal error
 * (printed to stderr).
 */
int nd_run_pipeline(const nd_cli_conf_t *conf, nd_summary_t *summary, nd_run_result_t *res);

#endif /* ND_KAFKA_INT_H */
