/*
 * sink_kafka.c - the Kafka sink: each record becomes one message on its
 * output topic, produced through a producer handle the caller owns (the run
 * loop owns transactions, so it owns the producer).
 */
#include "nd_sinks.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static const char *const nd_sink_kafka_default_topics[ND_OUT__CNT] = {
    "dedup.canonical", "dedup.memberships", "dedup.clusters", "dedup.rejects"};

typedef struct nd_sink_kafka_s {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt[ND_OUT__CNT];
    int flush_timeout_ms;
} nd_sink_kafka_t;

const char *nd_sink_kafka_default_topic(nd_out_t out)
{
    return out >= 0 && out < ND_OUT__CNT ? nd_sink_kafka_default_topics[out] : NULL;
}

/* The reject's provenance as message headers; NULL on out of memory. */
static rd_kafka_headers_t *nd_kafka_reject_headers(const nd_reject_t *r)
{
    char num[32];
    const char *reason = nd_err_name(r->reason);
    rd_kafka_headers_t *h = rd_kafka_headers_new(5);
    if (!h)
        return NULL;
    rd_kafka_header_add(h, "reason", -1, reason, -1);
    rd_kafka_header_add(h, "error", -1, r->detail ? r->detail : nd_err_str(r->reason), -1);
    rd_kafka_header_add(h, "topic", -1, r->origin ? r->origin : "", -1);
    snprintf(num, sizeof(num), "%" PRId32, r->partition);
    rd_kafka_header_add(h, "partition", -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, r->offset);
    rd_kafka_header_add(h, "offset", -1, num, -1);
    return h;
}

/*
 * Produce one record. A full local queue is waited out (serving delivery
 * reports meanwhile); any other error is returned as ND_ERR_KAFKA, or
 * ND_ERR_KAFKA_FATAL when the producer has raised a fatal error.
 */
static nd_err_t nd_kafka_write(void *opaque, nd_out_t out, const char *key, size_t key_len,
                               const char *value, size_t value_len, const nd_reject_t *rej)
{
    nd_sink_kafka_t *k = opaque;
    rd_kafka_headers_t *hdrs = NULL;
    if (out == ND_OUT_REJECTS && rej) {
        /* Kafka rejects carry the input unchanged; provenance goes in headers. */
        value = rej->input;
        value_len = rej->input ? rej->input_len : 0;
        if (!(hdrs = nd_kafka_reject_headers(rej)))
            return ND_ERR_NOMEM;
    }
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(k->rkt[out]), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (!err)
            return ND_ERR_NO_ERROR; /* the headers now belong to the message */
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(k->rk, 50);
            continue;
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return err == RD_KAFKA_RESP_ERR__FATAL ? ND_ERR_KAFKA_FATAL : ND_ERR_KAFKA;
    }
}

/* Wait until every message produced so far is delivered or failed. */
static nd_err_t nd_kafka_flush(void *opaque, char *errstr, size_t errstr_size)
{
    nd_sink_kafka_t *k = opaque;
    rd_kafka_resp_err_t err = rd_kafka_flush(k->rk, k->flush_timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "flushing the producer: %s (%d messages left)",
                 rd_kafka_err2str(err), rd_kafka_outq_len(k->rk));
        return ND_ERR_KAFKA;
    }
    return ND_ERR_NO_ERROR;
}

/* Drop the topic handles; the producer is the caller's. */
static void nd_kafka_destroy(void *opaque)
{
    nd_sink_kafka_t *k = opaque;
    for (int i = 0; i < ND_OUT__CNT; i++)
        if (k->rkt[i])
            rd_kafka_topic_destroy(k->rkt[i]);
    nd_free(k);
}

nd_sink_t *nd_sink_kafka_new(struct rd_kafka_s *producer, const char *const topics[ND_OUT__CNT],
                             char *errstr, size_t errstr_size)
{
    static const nd_sink_ops_t ops = {nd_kafka_write, nd_kafka_flush, nd_kafka_destroy};
    if (!producer) {
        snprintf(errstr, errstr_size, "no producer given");
        return NULL;
    }
    nd_sink_kafka_t *k = nd_calloc(1, sizeof(*k));
    if (!k) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    k->rk = producer;
    k->flush_timeout_ms = 60000;
    for (int i = 0; i < ND_OUT__CNT; i++) {
        const char *name = topics && topics[i] ? topics[i] : nd_sink_kafka_default_topics[i];
        k->rkt[i] = rd_kafka_topic_new(producer, name, NULL);
        if (!k->rkt[i]) {
            snprintf(errstr, errstr_size, "topic %s: %s", name,
                     rd_kafka_err2str(rd_kafka_last_error()));
            nd_kafka_destroy(k);
            return NULL;
        }
    }
    nd_sink_t *s = nd_sink_new(&ops, k);
    if (!s)
        snprintf(errstr, errstr_size, "out of memory");
    return s;
}
