/*
 * cmd_run.c - `newsdedup run`: the Kafka pipeline's run loop, its
 * transaction boundary and signals.
 *
 *   consume a batch (nd_consumer_t, ingest) -> parse + sign (prep thread) ->
 *   nd_dedup_add -> nd_sink_emit / nd_sink_reject + a state record per
 *   accepted article (sinks) -> commit the input offsets.
 *
 * Two batches are in flight: while batch N is decided, produced and
 * committed on this thread, batch N+1 is parsed and signed on the prep
 * thread. Decisions stay sequential, in input order.
 *
 * Exactly-once (default): all of a batch's output, its state records and
 * its input offsets go in one Kafka transaction. When a transaction must be
 * aborted, the batch parsed ahead is dropped, the engine is rebuilt from the
 * state topic (exactly what was committed) and the consumer rewinds to the
 * committed offsets, so the aborted batch is decided again from the same
 * state: the same decisions.
 *
 * At-least-once (--at-least-once): idempotent producer, outputs and state
 * flushed before the offsets are committed. A replay after a crash sees the
 * state already restored, so a re-delivered uri is a REDELIVERY: no records.
 *
 * One engine per group: transactional.id and group.instance.id are both
 * derived from the group, so a second instance fences the first (producer
 * fenced, static member replaced) and takes over every partition. If the
 * assignment ever covers only part of the subscription (ids overridden,
 * several instances), the consumer pauses with a loud error until it is whole.
 */
#include "batch.h"
#include "cli.h"
#include "kafka_int.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Waiting for the first message of a batch when nothing is in flight. */
#define ND_RUN_WAIT_MS 100
/* How long a batch waits for more input after its first message. */
#define ND_RUN_LINGER_MS 100

/* One batch: its messages, their parse+sign results, the batcher that owns
 * the article strings, the consumer generation it was collected under. */
typedef struct nd_slot_s {
    rd_kafka_message_t **msgs;
    nd_batch_item_t *items;
    size_t n, cap;
    nd_batcher_t *batcher;
    uint64_t gen;
} nd_slot_t;

typedef struct nd_run_s {
    const nd_cli_conf_t *conf;
    int eos;
    char txn_id[512];
    char instance_id[512];
    nd_consumer_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *state_rkt;
    nd_dedup_t *dd;
    nd_prep_t *prep;
    nd_slot_t slot[2];
    nd_sink_t *sink;
    nd_summary_t *summary;
    nd_buf_t state; /* one encoded state record */
    nd_metrics_t *metrics;
    /* delivery failures (at-least-once) */
    atomic_uint_fast64_t dr_failed;
    char dr_error[256];
    nd_counters_t c;
    double t_first;
} nd_run_t;

/* Producer statistics to the metrics endpoint. */
static int nd_producer_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    nd_run_t *r = opaque;
    (void)rk;
    (void)json_len;
    nd_metrics_rdkafka_stats(r->metrics, ND_CLIENT_PRODUCER, json);
    return 0; /* librdkafka frees json */
}

/* Consumer statistics to the metrics endpoint (nd_consumer_hooks_t). */
static void nd_consumer_stats(void *opaque, const char *json, size_t json_len)
{
    nd_run_t *r = opaque;
    (void)json_len;
    nd_metrics_rdkafka_stats(r->metrics, ND_CLIENT_CONSUMER, json);
}

/* Delivery reports: count failures (they matter without transactions). */
static void nd_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    nd_run_t *r = opaque;
    (void)rk;
    if (m->err) {
        if (atomic_fetch_add(&r->dr_failed, 1) == 0)
            snprintf(r->dr_error, sizeof(r->dr_error), "%s [%" PRId32 "]: %s",
                     rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&r->c.produced, 1);
    }
}

/* ------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------ */

/* The producer: our defaults, then -F/-X. @return NULL with errstr. */
static rd_kafka_t *nd_producer_new(nd_run_t *r, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    rd_kafka_conf_set(conf, "client.id", "newsdedup", NULL, 0);
    if (r->conf->metrics_port > 0)
        rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", NULL, 0);
    rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    /* Compressed batches: the broker stores, replicates and serves a third of
     * the bytes (zstd; lz4 half), and backfills ran 1.6-2x faster on a shared
     * broker (docs/BENCHMARKS.md, "Kafka"). zstd needs brokers >= 2.1, as
     * transactions with group metadata (2.5) already do. */
    rd_kafka_conf_set(conf, "compression.type", "zstd", NULL, 0);
    /* Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the
     * previous markers are written: retry soon, not after 100 ms. */
    rd_kafka_conf_set(conf, "retry.backoff.ms", "10", NULL, 0);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", NULL, 0);
    if (r->eos)
        rd_kafka_conf_set(conf, "transactional.id", r->txn_id, NULL, 0);
    if (nd_kafka_conf_apply_user(r->conf, conf, tconf, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_conf_destroy(tconf);
        return NULL;
    }
    rd_kafka_conf_set_default_topic_conf(conf, tconf);
    rd_kafka_conf_set_dr_msg_cb(conf, nd_dr_cb);
    rd_kafka_conf_set_stats_cb(conf, nd_producer_stats_cb);
    rd_kafka_conf_set_log_cb(conf, nd_kafka_log_cb);
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* The group consumer: our defaults, then -F/-X. @return NULL with errstr. */
static nd_consumer_t *nd_run_consumer_new(nd_run_t *r, char *errstr, size_t errstr_size)
{
    const nd_cli_conf_t *c = r->conf;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    rd_kafka_conf_set(conf, "client.id", "newsdedup", NULL, 0);
    if (c->metrics_port > 0)
        rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", NULL, 0);
    rd_kafka_conf_set(conf, "group.id", c->group, NULL, 0);
    rd_kafka_conf_set(conf, "group.instance.id", r->instance_id, NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", NULL, 0);
    rd_kafka_conf_set(conf, "session.timeout.ms", "10000", NULL, 0);
    rd_kafka_topic_conf_set(tconf, "auto.offset.reset", "earliest", NULL, 0);
    if (nd_kafka_conf_apply_user(c, conf, tconf, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_conf_destroy(tconf);
        return NULL;
    }
    rd_kafka_conf_set_default_topic_conf(conf, tconf);
    rd_kafka_conf_set_log_cb(conf, nd_kafka_log_cb);
    nd_consumer_hooks_t hooks = {nd_consumer_stats, r};
    nd_consumer_t *cons =
        nd_consumer_new(conf, (const char *const *)c->args, c->n_args, &hooks, errstr, errstr_size);
    if (!cons)
        rd_kafka_conf_destroy(conf);
    return cons;
}

/* Print and classify a transactional API error. @return 1 if it requires
 * an abort, 2 if it is fatal, 3 if retriable, 0 otherwise. */
static int nd_txn_error(const char *what, rd_kafka_error_t *e)
{
    int kind = rd_kafka_error_is_fatal(e)             ? 2
               : rd_kafka_error_txn_requires_abort(e) ? 1
               : rd_kafka_error_is_retriable(e)       ? 3
                                                      : 0;
    fprintf(stderr, "newsdedup run: %s: %s%s\n", what, rd_kafka_error_string(e),
            kind == 2   ? " (fatal)"
            : kind == 1 ? " (aborting the transaction)"
                        : "");
    rd_kafka_error_destroy(e);
    return kind;
}

/* ------------------------------------------------------------------------
 * The engine and its batches
 * ------------------------------------------------------------------------ */

/* Drop a slot's messages. */
static void nd_slot_clear(nd_slot_t *s)
{
    nd_consumer_messages_destroy(s->msgs, s->n);
    s->n = 0;
}

/*
 * (Re)build the engine and the slots' batchers from the settings and the
 * state topic. Nothing may be on the prep thread. @return 0, or -1 (errstr).
 */
static int nd_engine_rebuild(nd_run_t *r, char *errstr, size_t errstr_size)
{
    uint64_t restored = 0;
    for (int i = 0; i < 2; i++) {
        nd_batcher_destroy(r->slot[i].batcher);
        r->slot[i].batcher = NULL;
    }
    nd_dedup_destroy(r->dd);
    atomic_store(&r->c.restored, 0);
    if (!(r->dd = nd_dedup_new(&r->conf->engine, errstr, errstr_size)))
        return -1;
    for (int i = 0; i < 2; i++)
        if (!(r->slot[i].batcher =
                  nd_batcher_new(r->conf->threads, &r->conf->parser, r->dd, errstr, errstr_size)))
            return -1;
    double t0 = nd_now_ms();
    if (nd_state_load(r->conf, r->dd, &restored, errstr, errstr_size))
        return -1;
    nd_dedup_stats_t st;
    nd_dedup_stats(r->dd, &st);
    atomic_store(&r->c.restored, restored);
    atomic_store(&r->c.clusters, st.clusters);
    fprintf(stderr,
            "newsdedup run: restored %" PRIu64 " articles in %" PRIu64 " clusters from %s in %.0f "
            "ms\n",
            restored, st.clusters, r->conf->state_topic, nd_now_ms() - t0);
    return 0;
}

/* Produce the state record in r->state, keyed by uri, waiting out a full
 * queue. @return ND_ERR_NO_ERROR or ND_ERR_KAFKA (errstr). */
static nd_err_t nd_produce_state(nd_run_t *r, const nd_article_t *art, char *errstr,
                                 size_t errstr_size)
{
    for (;;) {
        if (!rd_kafka_produce(r->state_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, r->state.p,
                              r->state.len, art->uri, art->uri_len, NULL))
            return ND_ERR_NO_ERROR;
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(r->producer, 50);
    }
    snprintf(errstr, errstr_size, "producing state: %s", rd_kafka_err2str(rd_kafka_last_error()));
    return ND_ERR_KAFKA;
}

/* A rejected input to the sink, with its provenance. */
static nd_err_t nd_process_reject(nd_run_t *r, const nd_batch_item_t *it,
                                  const rd_kafka_message_t *m, char *errstr, size_t errstr_size)
{
    nd_reject_t rej = {it->err,    it->errstr, rd_kafka_topic_name(m->rkt), m->partition, m->offset,
                       m->payload, m->len};
    nd_err_t err = nd_sink_reject(r->sink, &rej);
    if (err)
        snprintf(errstr, errstr_size, "producing a reject: %s", nd_err_str(err));
    else
        atomic_fetch_add(&r->c.rejects, 1);
    return err;
}

/* Decide one parsed article; produce its records and its state record. */
static nd_err_t nd_process_article(nd_run_t *r, nd_batch_item_t *it, char *errstr,
                                   size_t errstr_size)
{
    nd_item_t item = {it->art.uri,        it->art.uri_len,       it->art.source,
                      it->art.source_len, it->art.event_time_ms, it->art.body_len};
    nd_decision_t d;
    nd_err_t err;
    if ((err = nd_dedup_add(r->dd, &item, &it->sig, &d))) {
        snprintf(errstr, errstr_size, "engine: %s", nd_err_str(err));
        return err;
    }
    if (d.verdict == ND_VERDICT_REDELIVERY) {
        atomic_fetch_add(&r->c.redeliveries, 1);
        return ND_ERR_NO_ERROR;
    }
    if ((err = nd_sink_emit(r->sink, &it->art, &d))) {
        snprintf(errstr, errstr_size, "producing records: %s", nd_err_str(err));
        return err;
    }
    if ((err = nd_state_record_encode(&r->state, &it->art, &it->sig, &d))) {
        snprintf(errstr, errstr_size, "state record: %s", nd_err_str(err));
        return err;
    }
    if ((err = nd_produce_state(r, &it->art, errstr, errstr_size)))
        return err;
    if (r->summary)
        nd_summary_add(r->summary, &it->art, &d);
    atomic_fetch_add(&r->c.articles, 1);
    if (d.verdict == ND_VERDICT_DUPLICATE)
        atomic_fetch_add(&r->c.duplicates, 1);
    return ND_ERR_NO_ERROR;
}

/* Add the microseconds since t0 (nd_now_ms()) to the counter c. */
static void nd_count_since(atomic_uint_fast64_t *c, double t0)
{
    atomic_fetch_add(c, (uint64_t)((nd_now_ms() - t0) * 1e3));
}

/*
 * Decide and produce one parsed batch (inside the open transaction, if any),
 * in input order. @return ND_ERR_NO_ERROR or the first error (errstr).
 */
static nd_err_t nd_process(nd_run_t *r, nd_slot_t *s, char *errstr, size_t errstr_size)
{
    double t0 = nd_now_ms();
    nd_err_t err = ND_ERR_NO_ERROR;
    for (size_t i = 0; i < s->n && !err; i++) {
        nd_batch_item_t *it = &s->items[i];
        const rd_kafka_message_t *m = s->msgs[i];
        atomic_fetch_add(&r->c.consumed, 1);
        atomic_fetch_add(&r->c.input_bytes, m->len);
        err = it->err ? nd_process_reject(r, it, m, errstr, errstr_size)
                      : nd_process_article(r, it, errstr, errstr_size);
    }
    nd_count_since(&r->c.decide_us, t0);
    return err;
}

/* The fatal-producer message. @return -1. */
static int nd_txn_fatal(nd_run_t *r, char *errstr, size_t errstr_size)
{
    char fe[256];
    rd_kafka_fatal_error(r->producer, fe, sizeof(fe));
    snprintf(errstr, errstr_size,
             "fatal producer error: %s (fenced: a newer instance with transactional.id "
             "\"%.200s\" took over)",
             fe, r->txn_id);
    return -1;
}

/* Add the batch's offsets to the transaction and commit it (retrying a
 * retriable commit a few times). @return 0 committed, 1 must abort, 2 fatal. */
static int nd_txn_commit(nd_run_t *r, nd_slot_t *s)
{
    rd_kafka_t *crk = nd_consumer_handle(r->consumer);
    rd_kafka_topic_partition_list_t *offs = nd_consumer_offsets(s->msgs, s->n);
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(crk);
    rd_kafka_error_t *e = rd_kafka_send_offsets_to_transaction(r->producer, offs, cgmd, -1);
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    rd_kafka_topic_partition_list_destroy(offs);
    if (e)
        return nd_txn_error("send_offsets_to_transaction", e) == 2 ? 2 : 1;
    for (int tries = 0;; tries++) {
        if (!(e = rd_kafka_commit_transaction(r->producer, -1)))
            return 0;
        int kind = nd_txn_error("commit_transaction", e);
        if (kind == 2)
            return 2;
        if (kind != 3 || tries > 5)
            return 1;
    }
}

/*
 * Process one parsed batch as a transaction. @return 0 committed, 1 aborted
 * (the caller rewinds and rebuilds), -1 fatal (errstr).
 */
static int nd_txn_batch(nd_run_t *r, nd_slot_t *s, char *errstr, size_t errstr_size)
{
    rd_kafka_error_t *e;
    if ((e = rd_kafka_begin_transaction(r->producer))) {
        nd_txn_error("begin_transaction", e);
        snprintf(errstr, errstr_size, "cannot begin a transaction");
        return -1;
    }
    nd_err_t err = nd_process(r, s, errstr, errstr_size);
    if (err == ND_ERR_NOMEM || err == ND_ERR_INVALID_ARG)
        return -1;
    if (err == ND_ERR_KAFKA_FATAL || rd_kafka_fatal_error(r->producer, NULL, 0))
        return nd_txn_fatal(r, errstr, errstr_size);
    int x = 1;
    if (!err) {
        double t0 = nd_now_ms();
        x = nd_txn_commit(r, s);
        nd_count_since(&r->c.commit_us, t0);
    } else
        fprintf(stderr, "newsdedup run: %s; aborting the transaction\n", errstr);
    if (x == 2)
        return nd_txn_fatal(r, errstr, errstr_size);
    if (x == 0) {
        atomic_fetch_add(&r->c.transactions, 1);
        nd_consumer_store_offsets(r->consumer, s->msgs, s->n);
        return 0;
    }
    if ((e = rd_kafka_abort_transaction(r->producer, -1))) {
        if (nd_txn_error("abort_transaction", e) == 2)
            return nd_txn_fatal(r, errstr, errstr_size);
        snprintf(errstr, errstr_size, "cannot abort the transaction");
        return -1;
    }
    atomic_fetch_add(&r->c.aborts, 1);
    return 1;
}

/* The at-least-once commit of a processed batch: flush, then the offsets.
 * @return 0, or -1 (errstr). */
static int nd_alo_commit(nd_run_t *r, nd_slot_t *s, char *errstr, size_t errstr_size)
{
    char e2[256];
    if (nd_sink_flush(r->sink, errstr, errstr_size))
        return -1;
    if (atomic_load(&r->dr_failed)) {
        snprintf(errstr, errstr_size,
                 "%" PRIu64 " output message(s) not delivered, first: %s; offsets not "
                 "committed (a restart replays them harmlessly)",
                 (uint64_t)atomic_load(&r->dr_failed), r->dr_error);
        return -1;
    }
    if (nd_consumer_commit(r->consumer, s->msgs, s->n, e2, sizeof(e2))) {
        /* Not fatal: the batch is replayed later, harmlessly. */
        fprintf(stderr, "newsdedup run: %s\n", e2);
        return 0;
    }
    atomic_fetch_add(&r->c.transactions, 1);
    return 0;
}

/* Process one parsed batch without transactions: outputs and state first,
 * then the offsets. @return 0, or -1 (errstr). */
static int nd_alo_batch(nd_run_t *r, nd_slot_t *s, char *errstr, size_t errstr_size)
{
    if (nd_process(r, s, errstr, errstr_size))
        return -1;
    double t0 = nd_now_ms();
    int rc = nd_alo_commit(r, s, errstr, errstr_size);
    nd_count_since(&r->c.commit_us, t0);
    return rc;
}

static void nd_log_line(nd_run_t *r, double t0)
{
    nd_dedup_stats_t st;
    nd_dedup_stats(r->dd, &st);
    atomic_store(&r->c.clusters, st.clusters);
    atomic_store(&r->c.indexed, st.indexed);
    double secs = (nd_now_ms() - t0) / 1e3;
    uint64_t consumed = atomic_load(&r->c.consumed);
    fprintf(stderr,
            "newsdedup run: consumed %" PRIu64 " (%.0f/s) articles %" PRIu64 " duplicates %" PRIu64
            " redeliveries %" PRIu64 " rejects %" PRIu64 " clusters %" PRIu64 " indexed %" PRIu64
            " lag %" PRIu64 " %s %" PRIu64 "%s\n",
            consumed, secs > 0 ? consumed / secs : 0.0, (uint64_t)atomic_load(&r->c.articles),
            (uint64_t)atomic_load(&r->c.duplicates), (uint64_t)atomic_load(&r->c.redeliveries),
            (uint64_t)atomic_load(&r->c.rejects), st.clusters, st.indexed,
            (uint64_t)atomic_load(&r->c.lag), r->eos ? "txns" : "commits",
            (uint64_t)atomic_load(&r->c.transactions),
            atomic_load(&r->c.paused) ? " PAUSED (assignment incomplete)" : "");
}

/* ------------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------------ */

/* Hand a collected batch to the prep thread. */
static void nd_slot_submit(nd_run_t *r, nd_slot_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->items[i].input = s->msgs[i]->payload ? s->msgs[i]->payload : "";
        s->items[i].input_len = s->msgs[i]->len;
    }
    nd_prep_submit(r->prep, s->batcher, s->items, s->n);
}

/* Roll back after an abort: drop what was parsed ahead, rewind the input
 * and rebuild the engine from exactly what was committed. */
static int nd_rollback(nd_run_t *r, nd_slot_t *ahead, char *errstr, size_t errstr_size)
{
    nd_prep_wait(r->prep);
    nd_slot_clear(ahead);
    if (nd_consumer_rewind(r->consumer, errstr, errstr_size) ||
        nd_engine_rebuild(r, errstr, errstr_size))
        return -1;
    return 0;
}

/*
 * Decide, produce and commit the parsed batch cur while next (if any) is
 * parsed on the prep thread. @return 0, or -1 (errstr).
 */
static int nd_run_batch(nd_run_t *r, nd_slot_t *cur, nd_slot_t *next, char *errstr,
                        size_t errstr_size)
{
    nd_err_t perr = nd_prep_wait(r->prep);
    if (perr == ND_ERR_NOMEM) {
        snprintf(errstr, errstr_size, "parsing: %s", nd_err_str(perr));
        return -1;
    }
    if (next->n)
        nd_slot_submit(r, next);
    if (r->t_first == 0)
        r->t_first = nd_now_ms();
    int x = r->eos ? nd_txn_batch(r, cur, errstr, errstr_size)
                   : nd_alo_batch(r, cur, errstr, errstr_size);
    nd_slot_clear(cur);
    if (x == 1)
        return nd_rollback(r, next, errstr, errstr_size);
    atomic_store(&r->c.lag, (uint64_t)nd_consumer_lag(r->consumer));
    return x < 0 ? -1 : 0;
}

/*
 * Consume and process until signalled, or (exit_at_end) until every
 * partition is at its end. @return 0, or -1 (errstr).
 */
static int nd_run_loop(nd_run_t *r, char *errstr, size_t errstr_size)
{
    const nd_cli_conf_t *conf = r->conf;
    nd_slot_t *cur = &r->slot[0], *next = &r->slot[1];
    double t0 = nd_now_ms(), next_log = t0 + conf->log_interval_s * 1e3;
    for (;;) {
        if (nd_signalled()) {
            fprintf(stderr, "newsdedup run: signalled, stopping\n");
            break;
        }
        /* With a batch in flight, take only what is already here. */
        int wait = cur->n ? 0 : ND_RUN_WAIT_MS, linger = cur->n ? 0 : ND_RUN_LINGER_MS;
        if (nd_consumer_collect(r->consumer, next->msgs, next->cap, &next->n, wait, linger, errstr,
                                errstr_size))
            return -1;
        atomic_store(&r->c.paused, (uint64_t)nd_consumer_paused(r->consumer));
        atomic_store(&r->c.held, (uint64_t)nd_consumer_held(r->consumer));
        uint64_t gen = nd_consumer_generation(r->consumer);
        next->gen = gen;
        if (cur->n && cur->gen != gen) {
            nd_prep_wait(r->prep); /* collected before a rebalance: not ours now */
            nd_slot_clear(cur);
        }
        if (cur->n) {
            if (nd_run_batch(r, cur, next, errstr, errstr_size))
                return -1;
        } else if (next->n) {
            nd_slot_submit(r, next);
        }
        nd_slot_t *t = cur;
        cur = next;
        next = t;
        rd_kafka_poll(r->producer, 0);
        if (conf->log_interval_s > 0 && nd_now_ms() >= next_log) {
            nd_log_line(r, r->t_first ? r->t_first : t0);
            next_log = nd_now_ms() + conf->log_interval_s * 1e3;
        }
        if (!cur->n && conf->exit_at_end && nd_consumer_at_end(r->consumer)) {
            fprintf(stderr, "newsdedup run: every partition at its end\n");
            break;
        }
    }
    nd_prep_wait(r->prep); /* a batch parsed ahead is not committed: dropped */
    nd_slot_clear(cur);
    return 0;
}

/* ------------------------------------------------------------------------
 * Set-up and tear-down
 * ------------------------------------------------------------------------ */

/* Producer, transactions, topics, sink, engine, consumer, slots. */
static int nd_run_open(nd_run_t *r, char *errstr, size_t errstr_size)
{
    const nd_cli_conf_t *conf = r->conf;
    if (conf->metrics_port > 0 &&
        !(r->metrics =
              nd_metrics_new(conf->metrics_addr, conf->metrics_port, &r->c, errstr, errstr_size)))
        return -1;
    if (!(r->producer = nd_producer_new(r, errstr, errstr_size)))
        return -1;
    if (r->eos) {
        /* Fences any older instance of this group and aborts its open
         * transaction, before the state is read. */
        rd_kafka_error_t *e = rd_kafka_init_transactions(r->producer, 30000);
        if (e) {
            snprintf(errstr, errstr_size,
                     "init_transactions: %s (use --at-least-once with brokers without "
                     "transactions)",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return -1;
        }
    }
    nd_kafka_ensure_topics(r->producer, conf);
    if (!(r->state_rkt = rd_kafka_topic_new(r->producer, conf->state_topic, NULL))) {
        snprintf(errstr, errstr_size, "state topic: %s", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    if (!(r->sink = nd_sink_kafka_new(r->producer, conf->out_topics, errstr, errstr_size)) ||
        !(r->prep = nd_prep_new(errstr, errstr_size)) ||
        nd_engine_rebuild(r, errstr, errstr_size) ||
        !(r->consumer = nd_run_consumer_new(r, errstr, errstr_size)))
        return -1;
    for (int i = 0; i < 2; i++) {
        nd_slot_t *s = &r->slot[i];
        s->cap = (size_t)(conf->batch_size > 0 ? conf->batch_size : ND_RUN_BATCH_SIZE);
        s->msgs = nd_calloc(s->cap, sizeof(*s->msgs));
        s->items = nd_calloc(s->cap, sizeof(*s->items));
        if (!s->msgs || !s->items) {
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }
    }
    fprintf(stderr, "newsdedup run: group %s, %d topic pattern(s), %s%s%s\n", conf->group,
            conf->n_args, r->eos ? "exactly-once, transactional.id " : "at-least-once",
            r->eos ? r->txn_id : "", r->eos ? "" : " (no transactions)");
    return 0;
}

/* What the run did, for the caller. */
static void nd_run_result_fill(nd_run_t *r, nd_run_result_t *res, double end)
{
    nd_dedup_stats_t st;
    nd_dedup_stats(r->dd, &st);
    memset(res, 0, sizeof(*res));
    res->consumed = atomic_load(&r->c.consumed);
    res->input_bytes = atomic_load(&r->c.input_bytes);
    res->articles = atomic_load(&r->c.articles);
    res->duplicates = atomic_load(&r->c.duplicates);
    res->redeliveries = atomic_load(&r->c.redeliveries);
    res->rejects = atomic_load(&r->c.rejects);
    res->clusters = st.clusters;
    res->restored = atomic_load(&r->c.restored);
    res->transactions = atomic_load(&r->c.transactions);
    res->aborts = atomic_load(&r->c.aborts);
    res->busy_ms = r->t_first ? end - r->t_first : 0;
    res->decide_ms = atomic_load(&r->c.decide_us) / 1e3;
    res->commit_ms = atomic_load(&r->c.commit_us) / 1e3;
    res->eos = r->eos;
}

/* Flush, report, close the consumer, free everything. */
static void nd_run_close(nd_run_t *r, nd_run_result_t *res)
{
    if (r->producer && !rd_kafka_fatal_error(r->producer, NULL, 0)) {
        char e2[256];
        if (r->sink && nd_sink_flush(r->sink, e2, sizeof(e2)))
            fprintf(stderr, "newsdedup run: %s\n", e2);
    }
    double end = nd_now_ms();
    if (r->dd) {
        nd_log_line(r, r->t_first ? r->t_first : end);
        if (res)
            nd_run_result_fill(r, res, end);
    }
    nd_consumer_destroy(r->consumer);
    nd_sink_destroy(r->sink);
    if (r->state_rkt)
        rd_kafka_topic_destroy(r->state_rkt);
    if (r->producer)
        rd_kafka_destroy(r->producer);
    nd_metrics_destroy(r->metrics);
    nd_prep_destroy(r->prep);
    for (int i = 0; i < 2; i++) {
        nd_slot_clear(&r->slot[i]);
        nd_batcher_destroy(r->slot[i].batcher);
        nd_free(r->slot[i].msgs);
        nd_free(r->slot[i].items);
    }
    nd_dedup_destroy(r->dd);
    nd_buf_free(&r->state);
    nd_free(r);
}

int nd_run_pipeline(const nd_cli_conf_t *conf, nd_summary_t *summary, nd_run_result_t *res)
{
    nd_run_t *r = nd_calloc(1, sizeof(*r));
    char errstr[1024] = "";
    if (!r) {
        fprintf(stderr, "newsdedup run: out of memory\n");
        return 1;
    }
    r->conf = conf;
    r->summary = summary;
    r->eos = !conf->at_least_once;
    snprintf(r->txn_id, sizeof(r->txn_id), "newsdedup-%s", conf->group);
    snprintf(r->instance_id, sizeof(r->instance_id), "newsdedup-%s", conf->group);
    int rc = nd_run_open(r, errstr, sizeof(errstr)) || nd_run_loop(r, errstr, sizeof(errstr));
    if (rc && errstr[0])
        fprintf(stderr, "newsdedup run: %s\n", errstr);
    nd_run_close(r, res);
    return rc ? 1 : 0;
}

int nd_cmd_run(int argc, char **argv)
{
    nd_cli_conf_t conf;
    int rc = nd_cli_parse(ND_CMD_RUN, argc, argv, &conf);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (!conf.brokers || !conf.group || conf.n_args == 0) {
        fprintf(stderr, "newsdedup run: -b BROKERS, -G GROUP and at least one TOPIC are "
                        "required\n");
        nd_cli_usage(ND_CMD_RUN, stderr);
        return 2;
    }
    /* Block the signals in every thread (librdkafka's inherit the mask);
     * the loop polls for them, so a signal never interrupts a transaction. */
    sigset_t set;
    nd_signals_block(&set);
    nd_run_result_t res;
    rc = nd_run_pipeline(&conf, NULL, &res);
    if (rc == 0)
        fprintf(stderr,
                "newsdedup run: done: %" PRIu64 " messages, %" PRIu64 " articles, %" PRIu64
                " duplicates, %" PRIu64 " rejects, %" PRIu64 " clusters, %.0f msg/s\n",
                res.consumed, res.articles, res.duplicates, res.rejects, res.clusters,
                res.busy_ms > 0 ? res.consumed * 1e3 / res.busy_ms : 0.0);
    if (rc == 0)
        fprintf(stderr,
                "newsdedup run: time: %.2f s from the first message, of which deciding and "
                "producing %.2f s, committing %.2f s\n",
                res.busy_ms / 1e3, res.decide_ms / 1e3, res.commit_ms / 1e3);
    return rc;
}
