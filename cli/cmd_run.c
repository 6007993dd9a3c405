/*
 * cmd_run.c - `newsdedup run`: the Kafka pipeline.
 *
 * One loop, one thread of decisions:
 *   consume a batch -> parse + sign (batcher threads) -> nd_dedup_add ->
 *   nd_sink_emit / nd_sink_reject + a state record per accepted article ->
 *   commit the input offsets.
 *
 * Exactly-once (default): all of a batch's output, its state records and
 * its input offsets go in one Kafka transaction. When a transaction must be
 * aborted, the engine is rebuilt from the state topic (exactly what was
 * committed) and the consumer rewinds to the committed offsets, so the
 * aborted batch is decided again from the same state: the same decisions.
 *
 * At-least-once (--at-least-once): idempotent producer, outputs and state
 * flushed before the offsets are committed. A replay after a crash sees the
 * state already restored, so a re-delivered uri is a REDELIVERY: no records.
 *
 * One engine per group: transactional.id and group.instance.id are both
 * derived from the group, so a second instance fences the first (producer
 * fenced, static member replaced) and takes over every partition. If the
 * assignment ever covers only part of the subscription (ids overridden,
 * several instances), processing pauses with a loud error until it is whole.
 *
 * State record (topic dedup.state, compacted, key = uri), little-endian:
 *   "NDS1" | u64 cluster | i64 event_time_ms | u64 body_len | u8 canonical |
 *   u32 uri_len | u32 source_len | signature (nd_sig_encode) | uri | source
 */
#include "batch.h"
#include "cli.h"
#include "kafka_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define ND_STATE_MAGIC "NDS1"
#define ND_STATE_HDR   (4 + 8 + 8 + 8 + 1 + 4 + 4)

/* Counters shared with the metrics thread. */
typedef struct nd_counters_s {
    atomic_uint_fast64_t consumed, input_bytes, articles, duplicates, redeliveries, rejects,
        produced, clusters, indexed, lag, transactions, aborts, restored, paused;
} nd_counters_t;

typedef struct nd_run_s {
    const nd_cli_conf_t *conf;
    int eos;
    char txn_id[512];
    char instance_id[512];
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *state_rkt;
    nd_dedup_t *dd;
    nd_batcher_t *batcher;
    nd_sink_t *sink;
    nd_summary_t *summary;
    /* assignment, maintained by the rebalance callback */
    rd_kafka_topic_partition_list_t *assignment;
    int rebalanced;    /* set by the callback; the loop clears it */
    int complete;      /* the assignment covers the whole subscription */
    double next_check; /* when to re-check an incomplete assignment */
    /* delivery failures (at-least-once) */
    atomic_uint_fast64_t dr_failed;
    char dr_error[256];
    nd_counters_t c;
    /* librdkafka statistics, a few numbers per client */
    pthread_mutex_t stats_lock;
    int64_t stats[2][6];
    /* metrics HTTP server */
    int http_fd;
    pthread_t http_thread;
    int http_running;
    atomic_int http_stop;
    double t_first;
} nd_run_t;

static const char *const nd_stat_names[6] = {"msg_cnt", "tx", "rx", "txmsgs", "rxmsgs", "replyq"};

/* Whether SIGINT or SIGTERM is pending (they are blocked in every thread). */
static int nd_run_signalled(nd_run_t *r)
{
    sigset_t pend;
    (void)r;
    sigpending(&pend);
    return sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM);
}

/* ------------------------------------------------------------------------
 * Configuration: -b, -F FILE, -X prop=val ("topic." prefix: topic property)
 * ------------------------------------------------------------------------ */

/* Set one property on conf, or on tconf with a "topic." prefix. */
static int nd_conf_set1(rd_kafka_conf_t *conf, rd_kafka_topic_conf_t *tconf, const char *prop,
                        size_t plen, const char *val, char *errstr, size_t errstr_size)
{
    char name[256];
    if (plen == 0 || plen >= sizeof(name)) {
        snprintf(errstr, errstr_size, "bad property name");
        return -1;
    }
    memcpy(name, prop, plen);
    name[plen] = '\0';
    rd_kafka_conf_res_t res;
    if (!strncmp(name, "topic.", 6))
        res = rd_kafka_topic_conf_set(tconf, name + 6, val, errstr, errstr_size);
    else
        res = rd_kafka_conf_set(conf, name, val, errstr, errstr_size);
    return res == RD_KAFKA_CONF_OK ? 0 : -1;
}

/* Apply -F FILE (property=value lines, '#' comments) and then every -X. */
static int nd_conf_apply_user(const nd_cli_conf_t *c, rd_kafka_conf_t *conf,
                              rd_kafka_topic_conf_t *tconf, char *errstr, size_t errstr_size)
{
    if (c->brokers && rd_kafka_conf_set(conf, "bootstrap.servers", c->brokers, errstr, errstr_size))
        return -1;
    if (c->config_file) {
        FILE *f = fopen(c->config_file, "r");
        if (!f) {
            snprintf(errstr, errstr_size, "%s: %s", c->config_file, strerror(errno));
            return -1;
        }
        char line[4096];
        int lineno = 0;
        while (fgets(line, sizeof(line), f)) {
            lineno++;
            char *s = line, *e = line + strlen(line);
            while (isspace((unsigned char)*s))
                s++;
            while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
            if (!*s || *s == '#')
                continue;
            char *eq = strchr(s, '=');
            char err2[256];
            if (!eq) {
                snprintf(errstr, errstr_size, "%s:%d: want property=value", c->config_file, lineno);
                fclose(f);
                return -1;
            }
            if (nd_conf_set1(conf, tconf, s, (size_t)(eq - s), eq + 1, err2, sizeof(err2))) {
                snprintf(errstr, errstr_size, "%s:%d: %s", c->config_file, lineno, err2);
                fclose(f);
                return -1;
            }
        }
        fclose(f);
    }
    for (int i = 0; i < c->n_kafka_props; i++) {
        const char *p = c->kafka_props[i];
        const char *eq = strchr(p, '=');
        char err2[256];
        if (!eq) {
            snprintf(errstr, errstr_size, "-X %s: want property=value", p);
            return -1;
        }
        if (nd_conf_set1(conf, tconf, p, (size_t)(eq - p), eq + 1, err2, sizeof(err2))) {
            snprintf(errstr, errstr_size, "-X %s: %s", p, err2);
            return -1;
        }
    }
    return 0;
}

/* Parse a few top-level numbers out of a librdkafka statistics JSON. */
static int nd_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    nd_run_t *r = opaque;
    int which = rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? 0 : 1;
    int64_t v[6] = {0};
    (void)json_len;
    for (int i = 0; i < 6; i++) {
        char pat[32];
        snprintf(pat, sizeof(pat), "\"%s\":", nd_stat_names[i]);
        const char *p = strstr(json, pat); /* top-level fields come first */
        if (p)
            v[i] = strtoll(p + strlen(pat), NULL, 10);
    }
    pthread_mutex_lock(&r->stats_lock);
    memcpy(r->stats[which], v, sizeof(v));
    pthread_mutex_unlock(&r->stats_lock);
    return 0; /* librdkafka frees json */
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

static void nd_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)level;
    fprintf(stderr, "newsdedup run: %s: %s: %s\n", rd_kafka_name(rk), fac, buf);
}

/* ------------------------------------------------------------------------
 * Assignment: rebalances, completeness, end of partitions
 * ------------------------------------------------------------------------ */

static void nd_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    nd_run_t *r = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (getenv("ND_DEBUG_TXN"))
        fprintf(stderr, "DEBUG rebalance %s %d\n", rd_kafka_err2name(err), parts->cnt);
    if (r->assignment) {
        rd_kafka_topic_partition_list_destroy(r->assignment);
        r->assignment = NULL;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        if (coop)
            rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    rd_kafka_assignment(rk, &r->assignment);
    for (int i = 0; r->assignment && i < r->assignment->cnt; i++)
        r->assignment->elems[i].opaque = NULL; /* NULL: not at end */
    r->rebalanced = 1;
    r->complete = 0;
    r->next_check = 0;
}

/* Whether topic is named by the subscription (a name, or a ^regex). */
static int nd_topic_subscribed(const nd_cli_conf_t *c, const char *topic)
{
    for (int i = 0; i < c->n_args; i++) {
        const char *s = c->args[i];
        if (s[0] != '^') {
            if (!strcmp(s, topic))
                return 1;
            continue;
        }
        regex_t re;
        if (regcomp(&re, s, REG_EXTENDED | REG_NOSUB) != 0)
            continue;
        int m = regexec(&re, topic, 0, NULL, 0) == 0;
        regfree(&re);
        if (m)
            return 1;
    }
    return 0;
}

/*
 * Compare the assignment with every partition of every subscribed topic.
 * @return 1 when the assignment is whole, 0 when it is not (another member
 * holds part of the subscription), -1 when metadata could not be had.
 */
static int nd_assignment_whole(nd_run_t *r, int *want_out, int *have_out)
{
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(r->consumer, 1, NULL, &md, 5000))
        return -1;
    int want = 0, have = 0;
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (mt->err || !nd_topic_subscribed(r->conf, mt->topic))
            continue;
        for (int p = 0; p < mt->partition_cnt; p++) {
            want++;
            if (r->assignment &&
                rd_kafka_topic_partition_list_find(r->assignment, mt->topic, mt->partitions[p].id))
                have++;
        }
    }
    rd_kafka_metadata_destroy(md);
    *want_out = want;
    *have_out = have;
    return want > 0 && have == want;
}

/* Called by the loop after a rebalance and every few seconds while the
 * assignment is not whole: pause or resume the partitions accordingly. */
static void nd_check_assignment(nd_run_t *r)
{
    double now = nd_now_ms();
    if (r->complete || now < r->next_check || !r->assignment)
        return;
    int want = 0, have = 0;
    int whole = nd_assignment_whole(r, &want, &have);
    r->next_check = now + 3000;
    if (whole == 1) {
        /* Resume only what was paused: librdkafka 2.0 resumes from the
         * stored offset, which re-fetches anything taken after it. */
        if (atomic_load(&r->c.paused)) {
            rd_kafka_resume_partitions(r->consumer, r->assignment);
            fprintf(stderr, "newsdedup run: assignment whole again (%d partitions): resuming\n",
                    have);
        }
        atomic_store(&r->c.paused, 0);
        r->complete = 1;
        return;
    }
    rd_kafka_pause_partitions(r->consumer, r->assignment);
    atomic_store(&r->c.paused, 1);
    if (whole == 0 && want > 0)
        fprintf(stderr,
                "newsdedup run: ERROR: this instance holds %d of the %d input partitions of "
                "group \"%s\": another instance shares the group, and one engine must see "
                "every partition. Paused until the assignment is whole; stop the other "
                "instance.\n",
                have, want, r->conf->group);
    else if (want == 0)
        r->next_check = now + 500; /* topics not there yet */
}

/* Mark a partition at its end (or not). */
static void nd_mark_eof(nd_run_t *r, const char *topic, int32_t part, int eof)
{
    if (!r->assignment)
        return;
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(r->assignment, topic, part);
    if (tp)
        tp->opaque = eof ? (void *)1 : NULL;
}

static int nd_all_eof(nd_run_t *r)
{
    if (!r->complete || !r->assignment || r->assignment->cnt == 0)
        return 0;
    for (int i = 0; i < r->assignment->cnt; i++)
        if (!r->assignment->elems[i].opaque)
            return 0;
    return 1;
}

/* Seek every assigned partition back to its committed offset. */
static int nd_rewind(nd_run_t *r, char *errstr, size_t errstr_size)
{
    if (!r->assignment || r->assignment->cnt == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(r->assignment);
    rd_kafka_resp_err_t err = rd_kafka_committed(r->consumer, l, 10000);
    if (err) {
        snprintf(errstr, errstr_size, "reading committed offsets: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].offset < 0)
            l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING; /* nothing committed yet */
        nd_mark_eof(r, l->elems[i].topic, l->elems[i].partition, 0);
    }
    rd_kafka_error_t *e = rd_kafka_seek_partitions(r->consumer, l, 10000);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(errstr, errstr_size, "rewinding: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

/* Input lag: sum over the assignment of high watermark - position. */
static void nd_update_lag(nd_run_t *r)
{
    if (!r->assignment)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(r->assignment);
    int64_t lag = 0;
    if (!rd_kafka_position(r->consumer, l)) {
        for (int i = 0; i < l->cnt; i++) {
            int64_t lo, hi;
            if (rd_kafka_get_watermark_offsets(r->consumer, l->elems[i].topic,
                                               l->elems[i].partition, &lo, &hi))
                continue;
            (void)lo;
            if (l->elems[i].offset >= 0 && hi > l->elems[i].offset)
                lag += hi - l->elems[i].offset; /* unknown before the first fetch */
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    atomic_store(&r->c.lag, (uint64_t)lag);
}

/* ------------------------------------------------------------------------
 * State records and the restore
 * ------------------------------------------------------------------------ */

static void nd_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t nd_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void nd_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t nd_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Encode the state record of an accepted article into b. */
static nd_err_t nd_state_encode(nd_buf_t *b, const nd_article_t *art, const nd_sig_t *sig,
                                const nd_decision_t *d)
{
    uint8_t hdr[ND_STATE_HDR], wire[ND_SIG_WIRE_SIZE];
    int is_canonical = d->verdict == ND_VERDICT_NEW || d->canonical_changed;
    memcpy(hdr, ND_STATE_MAGIC, 4);
    nd_put_u64(hdr + 4, d->cluster.id);
    nd_put_u64(hdr + 12, (uint64_t)art->event_time_ms);
    nd_put_u64(hdr + 20, (uint64_t)art->body_len);
    hdr[28] = (uint8_t)is_canonical;
    nd_put_u32(hdr + 29, (uint32_t)art->uri_len);
    nd_put_u32(hdr + 33, (uint32_t)art->source_len);
    nd_sig_encode(sig, wire);
    nd_buf_reset(b);
    nd_err_t err;
    if ((err = nd_buf_append(b, hdr, sizeof(hdr))) ||
        (err = nd_buf_append(b, wire, sizeof(wire))) ||
        (err = nd_buf_append(b, art->uri, art->uri_len)) ||
        (err = nd_buf_append(b, art->source, art->source_len)))
        return err;
    return ND_ERR_NO_ERROR;
}

/* Decode one state record and restore it into the engine. @return 0, 1 if
 * the record is not one of ours (skipped), -1 on engine failure. */
static int nd_state_restore1(nd_dedup_t *dd, const uint8_t *v, size_t len)
{
    if (len < ND_STATE_HDR + ND_SIG_WIRE_SIZE || memcmp(v, ND_STATE_MAGIC, 4))
        return 1;
    uint32_t ulen = nd_get_u32(v + 29), slen = nd_get_u32(v + 33);
    if ((uint64_t)ND_STATE_HDR + ND_SIG_WIRE_SIZE + ulen + slen != len || ulen == 0)
        return 1;
    nd_sig_t sig;
    if (nd_sig_decode(v + ND_STATE_HDR, ND_SIG_WIRE_SIZE, &sig))
        return 1;
    const char *uri = (const char *)v + ND_STATE_HDR + ND_SIG_WIRE_SIZE;
    nd_item_t it = {
        uri, ulen, uri + ulen, slen, (int64_t)nd_get_u64(v + 12), (size_t)nd_get_u64(v + 20)};
    return nd_dedup_restore(dd, &it, &sig, nd_get_u64(v + 4), v[28]) ? -1 : 0;
}

/*
 * Read the state topic from the beginning to its end (read_committed) and
 * restore every record into r->dd. A missing topic is an empty state.
 */
static int nd_state_load(nd_run_t *r, char *errstr, size_t errstr_size)
{
    const nd_cli_conf_t *c = r->conf;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    if (nd_conf_apply_user(c, conf, tconf, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_conf_destroy(tconf);
        return -1;
    }
    rd_kafka_conf_set_default_topic_conf(conf, tconf);
    char gid[600];
    snprintf(gid, sizeof(gid), "%s.state-reader", c->group);
    /* Our settings win here: this reader must see only committed state. */
    rd_kafka_conf_set(conf, "group.id", gid, NULL, 0);
    rd_kafka_conf_set(conf, "group.instance.id", NULL, NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", NULL, 0);
    rd_kafka_conf_set(conf, "statistics.interval.ms", "0", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, nd_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    int rc = -1;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, c->state_topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        snprintf(errstr, errstr_size, "state topic %s: metadata: %s", c->state_topic,
                 rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rc = 0; /* no state yet */
        goto out;
    }
    int nparts = md->topics[0].partition_cnt, at_end = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts);
    for (int p = 0; p < nparts; p++) {
        int32_t id = md->topics[0].partitions[p].id;
        int64_t lo = 0, hi = 0;
        /* An empty partition gives no EOF event: count it as at its end. */
        if (!rd_kafka_query_watermark_offsets(rk, c->state_topic, id, &lo, &hi, 10000) &&
            hi <= lo) {
            at_end++;
            continue;
        }
        rd_kafka_topic_partition_list_add(l, c->state_topic, id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    if (l->cnt)
        rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (at_end < nparts) {
        if (nd_run_signalled(r)) {
            snprintf(errstr, errstr_size, "interrupted while restoring state");
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (m->err) {
            fprintf(stderr, "newsdedup run: reading state: %s\n", rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                snprintf(errstr, errstr_size, "reading state: fatal error");
                rd_kafka_message_destroy(m);
                goto out;
            }
        } else {
            int x = nd_state_restore1(r->dd, m->payload, m->len);
            if (x < 0) {
                snprintf(errstr, errstr_size, "restoring state: out of memory");
                rd_kafka_message_destroy(m);
                goto out;
            }
            if (x == 0)
                atomic_fetch_add(&r->c.restored, 1);
        }
        rd_kafka_message_destroy(m);
    }
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* (Re)build the engine and batcher from the settings and the state topic. */
static int nd_engine_rebuild(nd_run_t *r, char *errstr, size_t errstr_size)
{
    nd_batcher_destroy(r->batcher);
    nd_dedup_destroy(r->dd);
    r->batcher = NULL;
    atomic_store(&r->c.restored, 0);
    if (!(r->dd = nd_dedup_new(&r->conf->engine, errstr, errstr_size)))
        return -1;
    if (!(r->batcher =
              nd_batcher_new(r->conf->threads, &r->conf->parser, r->dd, errstr, errstr_size)))
        return -1;
    double t0 = nd_now_ms();
    if (nd_state_load(r, errstr, errstr_size))
        return -1;
    nd_dedup_stats_t st;
    nd_dedup_stats(r->dd, &st);
    atomic_store(&r->c.clusters, st.clusters);
    fprintf(
        stderr,
        "newsdedup run: restored %" PRIu64 " articles in %" PRIu64 " clusters from %s in %.0f ms\n",
        (uint64_t)atomic_load(&r->c.restored), st.clusters, r->conf->state_topic, nd_now_ms() - t0);
    return 0;
}

/* ------------------------------------------------------------------------
 * Topics: create what is missing (state, canonical, clusters compacted)
 * ------------------------------------------------------------------------ */

static void nd_ensure_topics(nd_run_t *r)
{
    const nd_cli_conf_t *c = r->conf;
    const char *names[5] = {c->state_topic, c->out_topics[ND_OUT_CANONICAL],
                            c->out_topics[ND_OUT_CLUSTERS], c->out_topics[ND_OUT_MEMBERSHIPS],
                            c->out_topics[ND_OUT_REJECTS]};
    const int compact[5] = {1, 1, 1, 0, 0};
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(r->producer, 1, NULL, &md, 10000))
        return;
    rd_kafka_NewTopic_t *nt[5];
    int n = 0;
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int t = 0; t < md->topic_cnt && !found; t++)
            found = !strcmp(md->topics[t].topic, names[i]) && !md->topics[t].err;
        if (found)
            continue;
        nt[n] = rd_kafka_NewTopic_new(names[i], 1, -1, NULL, 0);
        if (!nt[n])
            continue;
        if (compact[i])
            rd_kafka_NewTopic_set_config(nt[n], "cleanup.policy", "compact");
        n++;
    }
    rd_kafka_metadata_destroy(md);
    if (n > 0 && rd_kafka_controllerid(r->producer, 2000) < 0) {
        /* No controller (librdkafka's mock cluster): no CreateTopics either. */
        fprintf(stderr, "newsdedup run: no controller to create topics; relying on "
                        "auto-create\n");
        rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
        return;
    }
    if (n == 0)
        return;
    rd_kafka_queue_t *q = rd_kafka_queue_new(r->producer);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(r->producer, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_request_timeout(o, 3000, NULL, 0);
    rd_kafka_CreateTopics(r->producer, nt, (size_t)n, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 5000);
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t cnt = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
        if (rd_kafka_event_error(ev))
            fprintf(stderr, "newsdedup run: cannot create topics (%s); relying on auto-create\n",
                    rd_kafka_event_error_string(ev));
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                fprintf(stderr, "newsdedup run: creating %s: %s\n",
                        rd_kafka_topic_result_name(tr[i]), rd_kafka_err2str(e));
            else if (!e)
                fprintf(stderr, "newsdedup run: created topic %s\n",
                        rd_kafka_topic_result_name(tr[i]));
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
}

/* ------------------------------------------------------------------------
 * Metrics: a tiny loopback HTTP server answering GET /metrics
 * ------------------------------------------------------------------------ */

static void nd_metrics_text(nd_run_t *r, nd_buf_t *b)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } m[] = {
#define C(f, t, h) {"newsdedup_" #f, t, h, offsetof(nd_counters_t, f)}
        C(consumed, "counter", "input messages processed"),
        C(input_bytes, "counter", "input message bytes processed"),
        C(articles, "counter", "articles accepted (new or duplicate)"),
        C(duplicates, "counter", "articles that joined an existing cluster"),
        C(redeliveries, "counter", "inputs whose uri was already a member"),
        C(rejects, "counter", "rejected inputs"),
        C(produced, "counter", "output messages delivered"),
        C(clusters, "gauge", "clusters created, restored ones included"),
        C(indexed, "gauge", "articles in the index"),
        C(lag, "gauge", "input messages not yet consumed (sum over partitions)"),
        C(transactions, "counter", "committed transactions or offset commits"),
        C(aborts, "counter", "aborted transactions"),
        C(restored, "gauge", "state records replayed at the last (re)start"),
        C(paused, "gauge", "1 while paused for an incomplete assignment"),
#undef C
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        uint64_t v = atomic_load((atomic_uint_fast64_t *)((char *)&r->c + m[i].off));
        nd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", m[i].name, m[i].help,
                      m[i].name, m[i].type, m[i].name, v);
    }
    pthread_mutex_lock(&r->stats_lock);
    for (int i = 0; i < 6; i++) {
        nd_buf_printf(b, "# HELP newsdedup_rdkafka_%s librdkafka statistics: %s\n",
                      nd_stat_names[i], nd_stat_names[i]);
        nd_buf_printf(b, "# TYPE newsdedup_rdkafka_%s gauge\n", nd_stat_names[i]);
        for (int w = 0; w < 2; w++)
            nd_buf_printf(b, "newsdedup_rdkafka_%s{client=\"%s\"} %" PRId64 "\n", nd_stat_names[i],
                          w ? "consumer" : "producer", r->stats[w][i]);
    }
    pthread_mutex_unlock(&r->stats_lock);
}

static void *nd_http_main(void *arg)
{
    nd_run_t *r = arg;
    nd_buf_t body = {0}, resp = {0};
    while (!atomic_load(&r->http_stop)) {
        struct pollfd pfd = {r->http_fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        int fd = accept(r->http_fd, NULL, NULL);
        if (fd < 0)
            continue;
        char req[2048];
        struct pollfd cp = {fd, POLLIN, 0};
        ssize_t n = poll(&cp, 1, 1000) > 0 ? recv(fd, req, sizeof(req) - 1, 0) : -1;
        if (n > 0) {
            req[n] = '\0';
            int ok = !strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET / ", 6);
            nd_buf_reset(&body);
            nd_buf_reset(&resp);
            if (ok)
                nd_metrics_text(r, &body);
            else
                nd_buf_printf(&body, "not found: try /metrics\n");
            nd_buf_printf(&resp,
                          "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          ok ? "200 OK" : "404 Not Found", body.len);
            nd_buf_append(&resp, body.p, body.len);
            size_t off = 0;
            while (resp.p && off < resp.len) {
                ssize_t w = send(fd, resp.p + off, resp.len - off, MSG_NOSIGNAL);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
        close(fd);
    }
    nd_buf_free(&body);
    nd_buf_free(&resp);
    return NULL;
}

static int nd_http_start(nd_run_t *r, char *errstr, size_t errstr_size)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)r->conf->metrics_port);
    if (inet_pton(AF_INET, r->conf->metrics_addr, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size, "bad metrics address %s (want an IPv4 address)",
                 r->conf->metrics_addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
        snprintf(errstr, errstr_size, "metrics endpoint %s:%d: %s", r->conf->metrics_addr,
                 r->conf->metrics_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    r->http_fd = fd;
    if (pthread_create(&r->http_thread, NULL, nd_http_main, r)) {
        close(fd);
        snprintf(errstr, errstr_size, "cannot start the metrics thread");
        return -1;
    }
    r->http_running = 1;
    fprintf(stderr, "newsdedup run: metrics on http://%s:%d/metrics\n", r->conf->metrics_addr,
            r->conf->metrics_port);
    return 0;
}

static void nd_http_stop(nd_run_t *r)
{
    if (!r->http_running)
        return;
    atomic_store(&r->http_stop, 1);
    pthread_join(r->http_thread, NULL);
    close(r->http_fd);
    r->http_running = 0;
}

/* ------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------ */

static rd_kafka_t *nd_client_new(nd_run_t *r, rd_kafka_type_t type, char *errstr,
                                 size_t errstr_size)
{
    const nd_cli_conf_t *c = r->conf;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    char err2[512];
    /* Our defaults first, so that -F and -X override them. */
    rd_kafka_conf_set(conf, "client.id", "newsdedup", NULL, 0);
    if (c->metrics_port > 0)
        rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", NULL, 0);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
        /* Back-to-back transactions meet CONCURRENT_TRANSACTIONS while the
         * previous markers are written: retry soon, not after 100 ms. */
        rd_kafka_conf_set(conf, "retry.backoff.ms", "10", NULL, 0);
        rd_kafka_conf_set(conf, "enable.idempotence", "true", NULL, 0);
        if (r->eos)
            rd_kafka_conf_set(conf, "transactional.id", r->txn_id, NULL, 0);
        rd_kafka_conf_set_dr_msg_cb(conf, nd_dr_cb);
    } else {
        rd_kafka_conf_set(conf, "group.id", c->group, NULL, 0);
        rd_kafka_conf_set(conf, "group.instance.id", r->instance_id, NULL, 0);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", NULL, 0);
        rd_kafka_topic_conf_set(tconf, "auto.offset.reset", "earliest", NULL, 0);
        rd_kafka_conf_set(conf, "session.timeout.ms", "10000", NULL, 0);
        rd_kafka_conf_set_rebalance_cb(conf, nd_rebalance_cb);
    }
    if (nd_conf_apply_user(c, conf, tconf, err2, sizeof(err2))) {
        snprintf(errstr, errstr_size, "%s", err2);
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_conf_destroy(tconf);
        return NULL;
    }
    if (type == RD_KAFKA_CONSUMER) {
        /* The pipeline's correctness depends on these. */
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    }
    rd_kafka_conf_set_default_topic_conf(conf, tconf);
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_stats_cb(conf, nd_stats_cb);
    rd_kafka_conf_set_log_cb(conf, nd_log_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
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
 * The loop
 * ------------------------------------------------------------------------ */

typedef struct nd_batch_s {
    rd_kafka_message_t **msgs;
    nd_batch_item_t *items;
    size_t n, cap;
} nd_batch_t;

static void nd_batch_clear(nd_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    b->n = 0;
}

/*
 * Fill b with up to batch_size messages, waiting at most ~100 ms after the
 * first. @return 0, or -1 on a fatal consumer error (message in errstr).
 */
static int nd_collect(nd_run_t *r, nd_batch_t *b, char *errstr, size_t errstr_size)
{
    double deadline = 0;
    while (b->n < b->cap) {
        int wait = 100;
        if (b->n) {
            double left = deadline - nd_now_ms();
            if (left <= 0)
                break;
            wait = (int)left + 1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer, wait);
        if (r->rebalanced) {
            /* Messages taken before a rebalance belong to the old assignment:
             * drop them; fetching restarts from the committed offsets. */
            nd_batch_clear(b);
            r->rebalanced = 0;
            nd_check_assignment(r);
        }
        if (!m) {
            if (b->n || nd_run_signalled(r) || nd_all_eof(r))
                break;
            nd_check_assignment(r);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            nd_mark_eof(r, rd_kafka_topic_name(m->rkt), m->partition, 1);
            rd_kafka_message_destroy(m);
            if (nd_all_eof(r))
                break;
            continue;
        }
        if (m->err) {
            char fe[256];
            if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
                rd_kafka_fatal_error(r->consumer, fe, sizeof(fe))) {
                rd_kafka_fatal_error(r->consumer, fe, sizeof(fe));
                snprintf(errstr, errstr_size,
                         "consumer: %s (a newer instance of group \"%.200s\" took over)", fe,
                         r->conf->group);
                rd_kafka_message_destroy(m);
                return -1;
            }
            fprintf(stderr, "newsdedup run: consumer: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!r->complete) {
            rd_kafka_message_destroy(m); /* paused: not ours to decide */
            continue;
        }
        nd_mark_eof(r, rd_kafka_topic_name(m->rkt), m->partition, 0);
        if (b->n == 0)
            deadline = nd_now_ms() + 100;
        b->msgs[b->n++] = m;
    }
    return 0;
}

/* The offsets to commit for a batch: per partition, last offset + 1. */
static rd_kafka_topic_partition_list_t *nd_batch_offsets(const nd_batch_t *b)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->msgs[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, t, m->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, t, m->partition);
        if (m->offset + 1 > tp->offset)
            tp->offset = m->offset + 1;
    }
    return l;
}

/* Keep the consumer's stored offsets at what was committed, so that a
 * pause/resume or a rebalance fetches from there. */
static void nd_store_offsets(nd_run_t *r, const nd_batch_t *b)
{
    rd_kafka_topic_partition_list_t *offs = nd_batch_offsets(b);
    rd_kafka_offsets_store(r->consumer, offs);
    rd_kafka_topic_partition_list_destroy(offs);
}

/*
 * Decide and produce one batch (inside the open transaction, if any).
 * @return ND_ERR_NO_ERROR or the first error.
 */
static nd_err_t nd_process(nd_run_t *r, nd_batch_t *b, nd_buf_t *state, char *errstr,
                           size_t errstr_size)
{
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].input = b->msgs[i]->payload ? b->msgs[i]->payload : "";
        b->items[i].input_len = b->msgs[i]->len;
    }
    nd_err_t err = nd_batcher_run(r->batcher, b->items, b->n);
    if (err && err != ND_ERR_NOMEM)
        err = ND_ERR_NO_ERROR; /* per-item errors are rejects */
    if (err) {
        snprintf(errstr, errstr_size, "parsing: %s", nd_err_str(err));
        return err;
    }
    for (size_t i = 0; i < b->n; i++) {
        nd_batch_item_t *it = &b->items[i];
        const rd_kafka_message_t *m = b->msgs[i];
        atomic_fetch_add(&r->c.consumed, 1);
        atomic_fetch_add(&r->c.input_bytes, m->len);
        if (it->err) {
            nd_reject_t rej = {it->err,      it->errstr, rd_kafka_topic_name(m->rkt),
                               m->partition, m->offset,  m->payload,
                               m->len};
            if ((err = nd_sink_reject(r->sink, &rej))) {
                snprintf(errstr, errstr_size, "producing a reject: %s", nd_err_str(err));
                return err;
            }
            atomic_fetch_add(&r->c.rejects, 1);
            continue;
        }
        nd_item_t item = {it->art.uri,        it->art.uri_len,       it->art.source,
                          it->art.source_len, it->art.event_time_ms, it->art.body_len};
        nd_decision_t d;
        if ((err = nd_dedup_add(r->dd, &item, &it->sig, &d))) {
            snprintf(errstr, errstr_size, "engine: %s", nd_err_str(err));
            return err;
        }
        if (d.verdict == ND_VERDICT_REDELIVERY) {
            atomic_fetch_add(&r->c.redeliveries, 1);
            continue;
        }
        if ((err = nd_sink_emit(r->sink, &it->art, &d))) {
            snprintf(errstr, errstr_size, "producing records: %s", nd_err_str(err));
            return err;
        }
        if ((err = nd_state_encode(state, &it->art, &it->sig, &d)))
            return err;
        for (;;) {
            rd_kafka_resp_err_t e =
                rd_kafka_produce(r->state_rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, state->p,
                                 state->len, it->art.uri, it->art.uri_len, NULL);
            if (!e)
                break;
            if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(r->producer, 50);
                continue;
            }
            snprintf(errstr, errstr_size, "producing state: %s",
                     rd_kafka_err2str(rd_kafka_last_error()));
            return ND_ERR_KAFKA;
        }
        if (r->summary)
            nd_summary_add(r->summary, &it->art, &d);
        atomic_fetch_add(&r->c.articles, 1);
        if (d.verdict == ND_VERDICT_DUPLICATE)
            atomic_fetch_add(&r->c.duplicates, 1);
    }
    return ND_ERR_NO_ERROR;
}

/*
 * Process one batch as a transaction. @return 0 done, 1 aborted (state
 * rolled back, consumer rewound), -1 fatal (errstr).
 */
static int nd_txn_batch(nd_run_t *r, nd_batch_t *b, nd_buf_t *state, char *errstr,
                        size_t errstr_size)
{
    rd_kafka_error_t *e;
    int kind;
    if ((e = rd_kafka_begin_transaction(r->producer))) {
        kind = nd_txn_error("begin_transaction", e);
        snprintf(errstr, errstr_size, "cannot begin a transaction");
        return -1;
    }
    double tp0 = nd_now_ms();
    nd_err_t err = nd_process(r, b, state, errstr, errstr_size);
    double tp1 = nd_now_ms();
    if (getenv("ND_DEBUG_TXN"))
        fprintf(stderr, "DEBUG process %zu in %.1f ms\n", b->n, tp1 - tp0);
    if (err == ND_ERR_NOMEM || err == ND_ERR_INVALID_ARG)
        return -1;
    if (err == ND_ERR_KAFKA_FATAL || rd_kafka_fatal_error(r->producer, NULL, 0))
        goto fatal;
    if (!err) {
        rd_kafka_topic_partition_list_t *offs = nd_batch_offsets(b);
        rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata(r->consumer);
        e = rd_kafka_send_offsets_to_transaction(r->producer, offs, cgmd, -1);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        rd_kafka_topic_partition_list_destroy(offs);
        if (getenv("ND_DEBUG_TXN"))
            fprintf(stderr, "DEBUG send_offsets %.1f ms\n", nd_now_ms() - tp1);
        if (e && (kind = nd_txn_error("send_offsets_to_transaction", e)) == 2)
            goto fatal;
        if (!e) {
            for (int tries = 0;; tries++) {
                e = rd_kafka_commit_transaction(r->producer, -1);
                if (getenv("ND_DEBUG_TXN"))
                    fprintf(stderr, "DEBUG commit done %.1f ms after process\n", nd_now_ms() - tp1);
                if (!e) {
                    atomic_fetch_add(&r->c.transactions, 1);
                    nd_store_offsets(r, b);
                    return 0;
                }
                kind = nd_txn_error("commit_transaction", e);
                if (kind == 2)
                    goto fatal;
                if (kind != 3 || tries > 5)
                    break;
            }
        }
    } else {
        fprintf(stderr, "newsdedup run: %s; aborting the transaction\n", errstr);
    }
    /* Abort, then roll back: rewind the input and rebuild the engine from
     * exactly what was committed. */
    if ((e = rd_kafka_abort_transaction(r->producer, -1))) {
        if (nd_txn_error("abort_transaction", e) == 2)
            goto fatal;
        snprintf(errstr, errstr_size, "cannot abort the transaction");
        return -1;
    }
    atomic_fetch_add(&r->c.aborts, 1);
    if (nd_rewind(r, errstr, errstr_size) || nd_engine_rebuild(r, errstr, errstr_size))
        return -1;
    return 1;
fatal : {
    char fe[256];
    rd_kafka_fatal_error(r->producer, fe, sizeof(fe));
    snprintf(errstr, errstr_size,
             "fatal producer error: %s (fenced: a newer instance with transactional.id "
             "\"%.200s\" took over)",
             fe, r->txn_id);
    return -1;
}
}

/* Process one batch without transactions: outputs and state first, then
 * the offsets. @return 0, or -1 (errstr). */
static int nd_alo_batch(nd_run_t *r, nd_batch_t *b, nd_buf_t *state, char *errstr,
                        size_t errstr_size)
{
    if (nd_process(r, b, state, errstr, errstr_size))
        return -1;
    if (nd_sink_flush(r->sink, errstr, errstr_size))
        return -1;
    if (atomic_load(&r->dr_failed)) {
        snprintf(errstr, errstr_size,
                 "%" PRIu64 " output message(s) not delivered, first: %s; offsets not "
                 "committed (a restart replays them harmlessly)",
                 (uint64_t)atomic_load(&r->dr_failed), r->dr_error);
        return -1;
    }
    rd_kafka_topic_partition_list_t *offs = nd_batch_offsets(b);
    rd_kafka_offsets_store(r->consumer, offs);
    rd_kafka_resp_err_t err = rd_kafka_commit(r->consumer, offs, 0);
    rd_kafka_topic_partition_list_destroy(offs);
    if (err) {
        /* Not fatal: the batch is replayed later, harmlessly. */
        fprintf(stderr, "newsdedup run: committing offsets: %s\n", rd_kafka_err2str(err));
        return 0;
    }
    atomic_fetch_add(&r->c.transactions, 1);
    return 0;
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

int nd_run_pipeline(const nd_cli_conf_t *conf, nd_summary_t *summary, nd_run_result_t *res)
{
    nd_run_t *r = nd_calloc(1, sizeof(*r));
    char errstr[1024];
    int rc = 1, subscribed = 0;
    nd_batch_t b = {0};
    nd_buf_t state = {0};
    rd_kafka_topic_partition_list_t *subs = NULL;
    if (!r) {
        fprintf(stderr, "newsdedup run: out of memory\n");
        return 1;
    }
    r->conf = conf;
    r->summary = summary;
    r->eos = !conf->at_least_once;
    pthread_mutex_init(&r->stats_lock, NULL);
    snprintf(r->txn_id, sizeof(r->txn_id), "newsdedup-%s", conf->group);
    snprintf(r->instance_id, sizeof(r->instance_id), "newsdedup-%s", conf->group);
    errstr[0] = '\0';

    if (conf->metrics_port > 0 && nd_http_start(r, errstr, sizeof(errstr)))
        goto out;
    if (!(r->producer = nd_client_new(r, RD_KAFKA_PRODUCER, errstr, sizeof(errstr))))
        goto out;
    if (r->eos) {
        /* Fences any older instance of this group and aborts its open
         * transaction, before the state is read. */
        rd_kafka_error_t *e = rd_kafka_init_transactions(r->producer, 30000);
        if (e) {
            snprintf(errstr, sizeof(errstr),
                     "init_transactions: %s (use --at-least-once with brokers without "
                     "transactions)",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            goto out;
        }
    }
    nd_ensure_topics(r);
    if (!(r->state_rkt = rd_kafka_topic_new(r->producer, conf->state_topic, NULL))) {
        snprintf(errstr, sizeof(errstr), "state topic: %s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto out;
    }
    if (!(r->sink = nd_sink_kafka_new(r->producer, conf->out_topics, errstr, sizeof(errstr))))
        goto out;
    if (nd_engine_rebuild(r, errstr, sizeof(errstr)))
        goto out;

    if (!(r->consumer = nd_client_new(r, RD_KAFKA_CONSUMER, errstr, sizeof(errstr))))
        goto out;
    rd_kafka_poll_set_consumer(r->consumer);
    subs = rd_kafka_topic_partition_list_new(conf->n_args);
    for (int i = 0; i < conf->n_args; i++)
        rd_kafka_topic_partition_list_add(subs, conf->args[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(r->consumer, subs);
    if (err) {
        snprintf(errstr, sizeof(errstr), "subscribe: %s", rd_kafka_err2str(err));
        goto out;
    }
    subscribed = 1;
    fprintf(stderr, "newsdedup run: group %s, %d topic pattern(s), %s%s%s\n", conf->group,
            conf->n_args, r->eos ? "exactly-once, transactional.id " : "at-least-once",
            r->eos ? r->txn_id : "", r->eos ? "" : " (no transactions)");

    b.cap = (size_t)(conf->batch_size > 0 ? conf->batch_size : 1000);
    b.msgs = nd_calloc(b.cap, sizeof(*b.msgs));
    b.items = nd_calloc(b.cap, sizeof(*b.items));
    if (!b.msgs || !b.items) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        goto out;
    }
    double t0 = nd_now_ms(), next_log = t0 + conf->log_interval_s * 1e3;
    for (;;) {
        if (nd_run_signalled(r)) {
            fprintf(stderr, "newsdedup run: signalled, stopping\n");
            break;
        }
        if (nd_collect(r, &b, errstr, sizeof(errstr)))
            goto out;
        if (b.n) {
            if (r->t_first == 0)
                r->t_first = nd_now_ms();
            int x = r->eos ? nd_txn_batch(r, &b, &state, errstr, sizeof(errstr))
                           : nd_alo_batch(r, &b, &state, errstr, sizeof(errstr));
            nd_batch_clear(&b);
            if (x < 0)
                goto out;
            nd_update_lag(r);
        }
        rd_kafka_poll(r->producer, 0);
        if (conf->log_interval_s > 0 && nd_now_ms() >= next_log) {
            nd_log_line(r, r->t_first ? r->t_first : t0);
            next_log = nd_now_ms() + conf->log_interval_s * 1e3;
        }
        if (conf->exit_at_end && nd_all_eof(r)) {
            fprintf(stderr, "newsdedup run: every partition at its end\n");
            break;
        }
    }
    rc = 0;
out:
    if (rc && errstr[0])
        fprintf(stderr, "newsdedup run: %s\n", errstr);
    nd_batch_clear(&b);
    if (r->producer && !rd_kafka_fatal_error(r->producer, NULL, 0)) {
        char e2[256];
        if (r->sink && nd_sink_flush(r->sink, e2, sizeof(e2)))
            fprintf(stderr, "newsdedup run: %s\n", e2);
    }
    double end = nd_now_ms();
    if (r->dd) {
        nd_log_line(r, r->t_first ? r->t_first : end);
        nd_dedup_stats_t st;
        nd_dedup_stats(r->dd, &st);
        if (res) {
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
            res->eos = r->eos;
        }
    }
    if (r->consumer) {
        /* A fenced (fatal) consumer is left as it is: with librdkafka 2.0
         * neither its close nor its destroy returns, and the process is
         * about to exit with an error anyway. */
        if (!rd_kafka_fatal_error(r->consumer, NULL, 0)) {
            if (subscribed)
                rd_kafka_consumer_close(r->consumer);
            rd_kafka_destroy(r->consumer);
        }
    }
    if (subs)
        rd_kafka_topic_partition_list_destroy(subs);
    if (r->assignment)
        rd_kafka_topic_partition_list_destroy(r->assignment);
    nd_sink_destroy(r->sink);
    if (r->state_rkt)
        rd_kafka_topic_destroy(r->state_rkt);
    if (r->producer)
        rd_kafka_destroy(r->producer);
    nd_http_stop(r);
    nd_batcher_destroy(r->batcher);
    nd_dedup_destroy(r->dd);
    nd_buf_free(&state);
    nd_free(b.msgs);
    nd_free(b.items);
    pthread_mutex_destroy(&r->stats_lock);
    nd_free(r);
    return rc;
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
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    nd_run_result_t res;
    rc = nd_run_pipeline(&conf, NULL, &res);
    if (rc == 0)
        fprintf(stderr,
                "newsdedup run: done: %" PRIu64 " messages, %" PRIu64 " articles, %" PRIu64
                " duplicates, %" PRIu64 " rejects, %" PRIu64 " clusters, %.0f msg/s\n",
                res.consumed, res.articles, res.duplicates, res.rejects, res.clusters,
                res.busy_ms > 0 ? res.consumed * 1e3 / res.busy_ms : 0.0);
    return rc;
}
