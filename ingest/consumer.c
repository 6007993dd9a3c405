/*
 * consumer.c - the Kafka group consumer of the pipeline (nd_ingest.h).
 *
 * One engine must see every input partition, so the consumer watches its
 * assignment: after each rebalance (and every few seconds while it is not
 * whole) it compares the assignment with every partition of every subscribed
 * topic, and pauses everything while another member holds part of it.
 * Each partition's state (quiet, heard from in this collect, at its end) is
 * tracked in the assignment list's opaque field (see ND_PART_*).
 */
#include "nd_ingest.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define ND_RECHECK_MS       3000 /* re-check of an incomplete assignment */
#define ND_RECHECK_EMPTY_MS 500  /* ... while the topics do not exist yet */

struct nd_consumer_s {
    rd_kafka_t *rk;
    char **topics;
    int n_topics;
    char group[256];
    nd_consumer_hooks_t hooks;
    rd_kafka_topic_partition_list_t *assignment; /* kept by the rebalance callback */
    uint64_t generation;
    int complete;      /* the assignment covers the whole subscription */
    int paused;        /* partitions paused because it does not */
    double next_check; /* when to re-check an incomplete assignment */
    int subscribed;
};

static double nd_consumer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Assign or revoke as the rebalance protocol wants; remember the result. */
static void nd_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    nd_consumer_t *c = opaque;
    int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (c->assignment) {
        rd_kafka_topic_partition_list_destroy(c->assignment);
        c->assignment = NULL;
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
    /* rd_kafka_assignment() is not called while closing: librdkafka 2.0
     * can deadlock in it when the callback runs inside consumer close. */
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !coop)
        c->assignment = rd_kafka_topic_partition_list_copy(parts);
    else if (coop && !rd_kafka_consumer_closed(rk))
        rd_kafka_assignment(rk, &c->assignment);
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++)
        c->assignment->elems[i].opaque = NULL;
    c->generation++;
    c->complete = 0;
    c->next_check = 0;
}

/* Forward librdkafka statistics to the hook. */
static int nd_consumer_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    nd_consumer_t *c = opaque;
    (void)rk;
    if (c->hooks.stats)
        c->hooks.stats(c->hooks.opaque, json, json_len);
    return 0; /* librdkafka frees json */
}

/* Free the copied topic list. */
static void nd_consumer_free_topics(nd_consumer_t *c)
{
    for (int i = 0; c->topics && i < c->n_topics; i++)
        nd_free(c->topics[i]);
    nd_free(c->topics);
}

/* Subscribe to the topics. @return 0, or -1 with errstr. */
static int nd_consumer_subscribe(nd_consumer_t *c, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(c->n_topics);
    for (int i = 0; i < c->n_topics; i++)
        rd_kafka_topic_partition_list_add(subs, c->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    c->subscribed = 1;
    return 0;
}

nd_consumer_t *nd_consumer_new(struct rd_kafka_conf_s *conf, const char *const *topics,
                               int n_topics, const nd_consumer_hooks_t *hooks, char *errstr,
                               size_t errstr_size)
{
    size_t glen = sizeof(((nd_consumer_t *)0)->group);
    if (!conf || !topics || n_topics < 1) {
        snprintf(errstr, errstr_size, "no configuration or no topics");
        return NULL;
    }
    nd_consumer_t *c = nd_calloc(1, sizeof(*c));
    if (!c || !(c->topics = nd_calloc((size_t)n_topics, sizeof(*c->topics)))) {
        nd_free(c);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->n_topics = n_topics;
    for (int i = 0; i < n_topics; i++) {
        if (!(c->topics[i] = nd_strndup(topics[i], strlen(topics[i])))) {
            nd_consumer_free_topics(c);
            nd_free(c);
            snprintf(errstr, errstr_size, "out of memory");
            return NULL;
        }
    }
    if (hooks)
        c->hooks = *hooks;
    if (rd_kafka_conf_get(conf, "group.id", c->group, &glen) != RD_KAFKA_CONF_OK)
        c->group[0] = '\0';
    /* The pipeline's correctness depends on these. */
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set_rebalance_cb(conf, nd_consumer_rebalance_cb);
    rd_kafka_conf_set_stats_cb(conf, nd_consumer_stats_cb);
    rd_kafka_conf_set_opaque(conf, c);
    if (!(c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size))) {
        nd_consumer_free_topics(c);
        nd_free(c);
        return NULL;
    }
    rd_kafka_poll_set_consumer(c->rk);
    if (nd_consumer_subscribe(c, errstr, errstr_size)) {
        nd_consumer_destroy(c);
        return NULL;
    }
    return c;
}

void nd_consumer_destroy(nd_consumer_t *c)
{
    if (!c)
        return;
    if (rd_kafka_fatal_error(c->rk, NULL, 0))
        return; /* see the header: librdkafka 2.0 hangs closing a fenced consumer */
    if (c->subscribed)
        rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    if (c->assignment)
        rd_kafka_topic_partition_list_destroy(c->assignment);
    nd_consumer_free_topics(c);
    nd_free(c);
}

struct rd_kafka_s *nd_consumer_handle(const nd_consumer_t *c)
{
    return c->rk;
}

uint64_t nd_consumer_generation(const nd_consumer_t *c)
{
    return c->generation;
}

int nd_consumer_whole(const nd_consumer_t *c)
{
    return c->complete;
}

int nd_consumer_paused(const nd_consumer_t *c)
{
    return c->paused;
}

/* Whether topic is named by the subscription (a name, or a ^regex). */
static int nd_consumer_subscribes(const nd_consumer_t *c, const char *topic)
{
    for (int i = 0; i < c->n_topics; i++) {
        const char *s = c->topics[i];
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
static int nd_consumer_assignment_whole(nd_consumer_t *c, int *want_out, int *have_out)
{
    const rd_kafka_metadata_t *md;
    if (rd_kafka_metadata(c->rk, 1, NULL, &md, 5000))
        return -1;
    int want = 0, have = 0;
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (mt->err || !nd_consumer_subscribes(c, mt->topic))
            continue;
        for (int p = 0; p < mt->partition_cnt; p++) {
            want++;
            if (c->assignment &&
                rd_kafka_topic_partition_list_find(c->assignment, mt->topic, mt->partitions[p].id))
                have++;
        }
    }
    rd_kafka_metadata_destroy(md);
    *want_out = want;
    *have_out = have;
    return want > 0 && have == want;
}

/* After a rebalance and every few seconds while the assignment is not
 * whole: pause or resume the partitions accordingly. */
static void nd_consumer_check_assignment(nd_consumer_t *c)
{
    double now = nd_consumer_now_ms();
    if (c->complete || now < c->next_check || !c->assignment)
        return;
    int want = 0, have = 0;
    int whole = nd_consumer_assignment_whole(c, &want, &have);
    c->next_check = now + ND_RECHECK_MS;
    if (whole == 1) {
        /* Resume only what was paused: librdkafka 2.0 resumes from the
         * stored offset, which re-fetches anything taken after it. */
        if (c->paused) {
            rd_kafka_resume_partitions(c->rk, c->assignment);
            fprintf(stderr, "newsdedup: assignment whole again (%d partitions): resuming\n", have);
        }
        c->paused = 0;
        c->complete = 1;
        return;
    }
    rd_kafka_pause_partitions(c->rk, c->assignment);
    c->paused = 1;
    if (whole == 0 && want > 0)
        fprintf(stderr,
                "newsdedup: ERROR: this instance holds %d of the %d input partitions of "
                "group \"%s\": another instance shares the group, and one engine must see "
                "every partition. Paused until the assignment is whole; stop the other "
                "instance.\n",
                have, want, c->group);
    else if (want == 0)
        c->next_check = now + ND_RECHECK_EMPTY_MS; /* topics not there yet */
}

/* Mark a partition at its end (or not). */
/* Partition states kept in the assignment elements' opaque. */
#define ND_PART_QUIET NULL        /* nothing heard from it in this collect */
#define ND_PART_EOF   ((void *)1) /* at its end */
#define ND_PART_HEARD ((void *)2) /* delivered a message in this collect */

/* Set the state of one assigned partition. */
static void nd_consumer_mark(nd_consumer_t *c, const char *topic, int32_t part, void *state)
{
    if (!c->assignment)
        return;
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(c->assignment, topic, part);
    if (tp)
        tp->opaque = state;
}

/* Start a collect: partitions not at their end are quiet again. */
static void nd_consumer_mark_quiet(nd_consumer_t *c)
{
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++)
        if (c->assignment->elems[i].opaque == ND_PART_HEARD)
            c->assignment->elems[i].opaque = ND_PART_QUIET;
}

/* Has every assigned partition delivered a message in this collect or is at its end? */
static int nd_consumer_all_heard(const nd_consumer_t *c)
{
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++)
        if (c->assignment->elems[i].opaque == ND_PART_QUIET)
            return 0;
    return 1;
}

int nd_consumer_at_end(const nd_consumer_t *c)
{
    if (!c->complete || !c->assignment || c->assignment->cnt == 0)
        return 0;
    for (int i = 0; i < c->assignment->cnt; i++)
        if (c->assignment->elems[i].opaque != ND_PART_EOF)
            return 0;
    return 1;
}

void nd_consumer_messages_destroy(struct rd_kafka_message_s **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
}

/* A consumer error: @return -1 with errstr if fatal, else 0 (logged). */
static int nd_consumer_error(nd_consumer_t *c, rd_kafka_message_t *m, char *errstr,
                             size_t errstr_size)
{
    char fe[256];
    if (m->err == RD_KAFKA_RESP_ERR__FATAL || rd_kafka_fatal_error(c->rk, fe, sizeof(fe))) {
        rd_kafka_fatal_error(c->rk, fe, sizeof(fe));
        snprintf(errstr, errstr_size,
                 "consumer: %s (a newer instance of group \"%.200s\" took over)", fe, c->group);
        return -1;
    }
    fprintf(stderr, "newsdedup: consumer: %s\n", rd_kafka_message_errstr(m));
    return 0;
}

/* Is message a before b in event order: timestamp, then topic, partition? */
static int nd_consumer_msg_before(const rd_kafka_message_t *a, const rd_kafka_message_t *b)
{
    int64_t ta = rd_kafka_message_timestamp(a, NULL), tb = rd_kafka_message_timestamp(b, NULL);
    if (ta != tb)
        return ta < tb;
    int t = strcmp(rd_kafka_topic_name(a->rkt), rd_kafka_topic_name(b->rkt));
    if (t)
        return t < 0;
    return a->partition < b->partition;
}

/*
 * Put a batch in event order: the partitions' runs are merged by message
 * timestamp (ties by topic and partition) while each partition keeps its
 * offset order. Near-duplicates arrive on different topics and partitions,
 * and "first seen" should not depend on which partition librdkafka happened
 * to fetch first. O(n x partitions in the batch). Without memory for the
 * scratch arrays the batch keeps its fetch order (still correct, less
 * faithful to time).
 */
static void nd_consumer_order(rd_kafka_message_t **msgs, size_t n)
{
    if (n < 2)
        return;
    rd_kafka_message_t **in = nd_malloc(n * sizeof(*in));
    size_t *next = nd_malloc(n * sizeof(*next)); /* next message of the same partition */
    size_t *head = nd_malloc(n * sizeof(*head)); /* per run: its first untaken message */
    size_t *tail = nd_malloc(n * sizeof(*tail)); /* per run: its last message so far */
    if (in && next && head && tail) {
        size_t runs = 0;
        memcpy(in, msgs, n * sizeof(*in));
        for (size_t i = 0; i < n; i++) {
            size_t r = 0;
            while (r < runs &&
                   !(in[head[r]]->rkt == in[i]->rkt && in[head[r]]->partition == in[i]->partition))
                r++;
            next[i] = n;
            if (r == runs)
                head[runs++] = i;
            else
                next[tail[r]] = i;
            tail[r] = i;
        }
        for (size_t out = 0; out < n; out++) {
            size_t best = runs;
            for (size_t r = 0; r < runs; r++)
                if (head[r] < n &&
                    (best == runs || nd_consumer_msg_before(in[head[r]], in[head[best]])))
                    best = r;
            msgs[out] = in[head[best]];
            head[best] = next[head[best]];
        }
    }
    nd_free(in);
    nd_free(next);
    nd_free(head);
    nd_free(tail);
}

int nd_consumer_collect(nd_consumer_t *c, struct rd_kafka_message_s **msgs, size_t cap, size_t *n,
                        int wait_ms, int linger_ms, char *errstr, size_t errstr_size)
{
    double start = nd_consumer_now_ms(), deadline = start + wait_ms, hard = 0;
    uint64_t gen = c->generation;
    *n = 0;
    nd_consumer_check_assignment(c);
    nd_consumer_mark_quiet(c);
    while (*n < cap) {
        /* At the end of every partition, a batch takes only what is queued
         * already; an empty one waits for the next message (up to wait_ms),
         * so that a caught-up pipeline sleeps in poll instead of spinning. */
        double left = *n && nd_consumer_at_end(c) ? 0 : deadline - nd_consumer_now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left + 1 : 0);
        if (c->generation != gen) {
            /* Taken before a rebalance: the old assignment's; fetching
             * restarts from the committed offsets. */
            nd_consumer_messages_destroy(msgs, *n);
            *n = 0;
            gen = c->generation;
            nd_consumer_check_assignment(c);
        }
        if (!m) {
            /* A batch with messages waits a little longer (up to 10 x linger
             * in all) for partitions not yet heard from, so that it holds the
             * head of every partition and its event order means something. */
            if (*n && linger_ms > 0 && !nd_consumer_all_heard(c) && nd_consumer_now_ms() < hard) {
                deadline = nd_consumer_now_ms() + linger_ms;
                continue;
            }
            if (left <= 0 || *n)
                break;
            nd_consumer_check_assignment(c);
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            nd_consumer_mark(c, rd_kafka_topic_name(m->rkt), m->partition, ND_PART_EOF);
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            int fatal = nd_consumer_error(c, m, errstr, errstr_size);
            rd_kafka_message_destroy(m);
            if (fatal) {
                nd_consumer_messages_destroy(msgs, *n);
                *n = 0;
                return -1;
            }
            continue;
        }
        if (!c->complete) {
            rd_kafka_message_destroy(m); /* paused: not ours to decide */
            continue;
        }
        nd_consumer_mark(c, rd_kafka_topic_name(m->rkt), m->partition, ND_PART_HEARD);
        if (*n == 0) {
            deadline = nd_consumer_now_ms() + linger_ms;
            hard = deadline + 9.0 * linger_ms;
        }
        msgs[(*n)++] = m;
    }
    nd_consumer_order(msgs, *n);
    return 0;
}

int nd_consumer_rewind(nd_consumer_t *c, char *errstr, size_t errstr_size)
{
    if (!c->assignment || c->assignment->cnt == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(c->assignment);
    rd_kafka_resp_err_t err = rd_kafka_committed(c->rk, l, 10000);
    if (err) {
        snprintf(errstr, errstr_size, "reading committed offsets: %s", rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].offset < 0)
            l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING; /* nothing committed yet */
        nd_consumer_mark(c, l->elems[i].topic, l->elems[i].partition, ND_PART_QUIET);
    }
    rd_kafka_error_t *e = rd_kafka_seek_partitions(c->rk, l, 10000);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(errstr, errstr_size, "rewinding: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

int64_t nd_consumer_lag(nd_consumer_t *c)
{
    if (!c->assignment)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(c->assignment);
    int64_t lag = 0;
    if (!rd_kafka_position(c->rk, l)) {
        for (int i = 0; i < l->cnt; i++) {
            int64_t lo, hi;
            if (rd_kafka_get_watermark_offsets(c->rk, l->elems[i].topic, l->elems[i].partition, &lo,
                                               &hi))
                continue;
            if (l->elems[i].offset >= 0 && hi > l->elems[i].offset)
                lag += hi - l->elems[i].offset; /* unknown before the first fetch */
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

struct rd_kafka_topic_partition_list_s *nd_consumer_offsets(struct rd_kafka_message_s *const *msgs,
                                                            size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; l && i < n; i++) {
        const rd_kafka_message_t *m = msgs[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(l, t, m->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, t, m->partition);
        if (m->offset + 1 > tp->offset)
            tp->offset = m->offset + 1;
    }
    return l;
}

void nd_consumer_store_offsets(nd_consumer_t *c, struct rd_kafka_message_s *const *msgs, size_t n)
{
    rd_kafka_topic_partition_list_t *offs = nd_consumer_offsets(msgs, n);
    if (offs) {
        rd_kafka_offsets_store(c->rk, offs);
        rd_kafka_topic_partition_list_destroy(offs);
    }
}

int nd_consumer_commit(nd_consumer_t *c, struct rd_kafka_message_s *const *msgs, size_t n,
                       char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *offs = nd_consumer_offsets(msgs, n);
    if (!offs) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    rd_kafka_offsets_store(c->rk, offs);
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, offs, 0);
    rd_kafka_topic_partition_list_destroy(offs);
    if (err) {
        snprintf(errstr, errstr_size, "committing offsets: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}
