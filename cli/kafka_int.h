/*
 * kafka_int.h - the Kafka side of the CLI, shared by `run`, `broker`, `demo`
 * (cmd_run.c, cmd_broker.c, cmd_demo.c). Internal to the CLI folder.
 */
#ifndef ND_KAFKA_INT_H
#define ND_KAFKA_INT_H

#include <stdint.h>

#include "cli.h"

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
