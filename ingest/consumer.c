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

/* c->assignment is our own copy of the assignment: its elements' opaque
 * holds the partition's state (ND_PART_*, below) and their offset field,
 * used by nothing else, the newest message timestamp the partition has
 * delivered (INT64_MIN before its first). */
#define ND_PART_NEWEST(tp) ((tp)->offset)

#define ND_RECHECK_MS       3000 /* re-check of an incomplete assignment */
#define ND_HOLD_MIN         4096 /* messages held back at most (or a batch, if more) */
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
    /* Messages taken from librdkafka but held back from the batches handed
     * out so far, in event order (see nd_consumer_collect), valid under
     * generation held_gen; pool has room for them and a batch more. */
    rd_kafka_message_t **pool;
    size_t n_held, pool_cap;
    uint64_t held_gen;
    /* Scratch of nd_consumer_order_cut(), pool_cap entries each: per message
     * (in, next), per partition run (the rest). */
    struct nd_cut_s {
        rd_kafka_message_t **in;
        size_t *next, *head, *tail, *same;
        int64_t *newest, *last;
        rd_kafka_topic_partition_t **tp;
        unsigned char *held;
    } cut;
    /* Partitions paused because they hold messages back (they ran ahead):
     * librdkafka then drops what it fetched of them, so the partitions
     * behind come next; resumed, they continue after the last message
     * taken. NULL when none. */
    rd_kafka_topic_partition_list_t *ahead;
    /* Per assigned partition (the assignment's order): the timestamp of the
     * last message handed out and how many of that timestamp were, so that
     * partitions keep taking turns at one timestamp across batches. */
    int64_t *tie_ts;
    size_t *tie_k;
    /* Per assigned partition: the offset after the last message taken (-1
     * before the first), to tell a partition that has caught up with its
     * high watermark before its end-of-partition event comes. */
    int64_t *next_off;
};

static double nd_consumer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Free the per-partition state (tie_ts, tie_k, next_off). */
static void nd_consumer_part_state_free(nd_consumer_t *c)
{
    nd_free(c->tie_ts);
    nd_free(c->tie_k);
    nd_free(c->next_off);
    c->tie_ts = NULL;
    c->tie_k = NULL;
    c->next_off = NULL;
}

/* (Re)make the per-partition state for the assignment, all of it or none
 * (out of memory: batches are still in event order, partitions then take
 * turns at one timestamp only within a batch, and a caught-up partition
 * waits for its end event). */
static void nd_consumer_part_state_new(nd_consumer_t *c)
{
    nd_consumer_part_state_free(c);
    if (!c->assignment || c->assignment->cnt <= 0)
        return;
    size_t cnt = (size_t)c->assignment->cnt;
    c->tie_ts = nd_malloc(cnt * sizeof(*c->tie_ts));
    c->tie_k = nd_calloc(cnt, sizeof(*c->tie_k));
    c->next_off = nd_malloc(cnt * sizeof(*c->next_off));
    if (!c->tie_ts || !c->tie_k || !c->next_off) {
        nd_consumer_part_state_free(c);
        return;
    }
    for (size_t i = 0; i < cnt; i++) {
        c->tie_ts[i] = INT64_MIN;
        c->next_off[i] = -1;
    }
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
    nd_consumer_part_state_new(c);
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++) {
        c->assignment->elems[i].opaque = NULL;
        ND_PART_NEWEST(&c->assignment->elems[i]) = INT64_MIN;
    }
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

/* Free the scratch of nd_consumer_order_cut(). */
static void nd_consumer_cut_free(struct nd_cut_s *k)
{
    nd_free(k->in);
    nd_free(k->next);
    nd_free(k->head);
    nd_free(k->tail);
    nd_free(k->same);
    nd_free(k->newest);
    nd_free(k->last);
    nd_free(k->tp);
    nd_free(k->held);
    memset(k, 0, sizeof(*k));
}

/* Size the pool and the scratch for n messages. @return 0, or -1 (out of
 * memory; the old ones stay). */
static int nd_consumer_pool_size(nd_consumer_t *c, size_t n)
{
    if (c->pool_cap >= n)
        return 0;
    struct nd_cut_s k = {nd_malloc(n * sizeof(*k.in)),   nd_malloc(n * sizeof(*k.next)),
                         nd_malloc(n * sizeof(*k.head)), nd_malloc(n * sizeof(*k.tail)),
                         nd_malloc(n * sizeof(*k.same)), nd_malloc(n * sizeof(*k.newest)),
                         nd_malloc(n * sizeof(*k.last)), nd_malloc(n * sizeof(*k.tp)),
                         nd_malloc(n * sizeof(*k.held))};
    rd_kafka_message_t **p = NULL;
    if (!k.in || !k.next || !k.head || !k.tail || !k.same || !k.newest || !k.last || !k.tp ||
        !k.held || !(p = nd_realloc(c->pool, n * sizeof(*p)))) {
        nd_consumer_cut_free(&k);
        return -1;
    }
    nd_consumer_cut_free(&c->cut);
    c->cut = k;
    c->pool = p;
    c->pool_cap = n;
    return 0;
}

/* Resume the partitions paused for running ahead. */
static void nd_consumer_resume_ahead(nd_consumer_t *c)
{
    if (!c->ahead)
        return;
    if (c->ahead->cnt)
        rd_kafka_resume_partitions(c->rk, c->ahead);
    rd_kafka_topic_partition_list_destroy(c->ahead);
    c->ahead = NULL;
}

/* Forget the held-back messages (fetching restarts from the committed
 * offsets after a rebalance or a rewind, so they come again) and the
 * partitions paused for them, resuming those when resume is set (not when
 * everything is being paused). */
static void nd_consumer_forget_held(nd_consumer_t *c, int resume)
{
    nd_consumer_messages_destroy(c->pool, c->n_held);
    c->n_held = 0;
    if (resume)
        nd_consumer_resume_ahead(c);
    else if (c->ahead)
        rd_kafka_topic_partition_list_destroy(c->ahead);
    c->ahead = NULL;
}

/* nd_consumer_forget_held(), resuming. */
static void nd_consumer_drop_held(nd_consumer_t *c)
{
    nd_consumer_forget_held(c, 1);
}

void nd_consumer_destroy(nd_consumer_t *c)
{
    if (!c)
        return;
    if (rd_kafka_fatal_error(c->rk, NULL, 0))
        return; /* see the header: librdkafka 2.0 hangs closing a fenced consumer */
    nd_consumer_drop_held(c);
    if (c->subscribed)
        rd_kafka_consumer_close(c->rk); /* runs the rebalance callback (revoke) */
    rd_kafka_destroy(c->rk);
    if (c->assignment)
        rd_kafka_topic_partition_list_destroy(c->assignment);
    nd_free(c->pool);
    nd_consumer_cut_free(&c->cut);
    nd_consumer_part_state_free(c);
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
    /* everything paused: held messages are not ours to decide, and the
     * partitions paused for running ahead are paused with the rest */
    nd_consumer_forget_held(c, 0);
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

size_t nd_consumer_held(const nd_consumer_t *c)
{
    return c->n_held;
}

int nd_consumer_at_end(const nd_consumer_t *c)
{
    if (!c->complete || !c->assignment || c->assignment->cnt == 0 || c->n_held)
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

/* Is message a (the head of a partition that has handed out sa messages of
 * its timestamp so far) before b (sb) in event order? By timestamp; at equal
 * timestamps the partitions take turns (the one that gave fewer of them goes
 * first: a producer stamps a whole batch with one millisecond, and a
 * backfill's thousands of messages a millisecond are interleaved, not taken
 * one partition after another), then by topic and partition. */
static int nd_consumer_msg_before(const rd_kafka_message_t *a, size_t sa,
                                  const rd_kafka_message_t *b, size_t sb)
{
    int64_t ta = rd_kafka_message_timestamp(a, NULL), tb = rd_kafka_message_timestamp(b, NULL);
    if (ta != tb)
        return ta < tb;
    if (sa != sb)
        return sa < sb;
    int t = strcmp(rd_kafka_topic_name(a->rkt), rd_kafka_topic_name(b->rkt));
    if (t)
        return t < 0;
    return a->partition < b->partition;
}

/* Has assigned partition i nothing more at the broker, as far as the last
 * fetch told (its high watermark), though its end event has not come yet? */
static int nd_consumer_caught_up(const nd_consumer_t *c, int i)
{
    int64_t lo, hi;
    const rd_kafka_topic_partition_t *tp = &c->assignment->elems[i];
    return c->next_off && c->next_off[i] >= 0 &&
           !rd_kafka_get_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi) && hi >= 0 &&
           c->next_off[i] >= hi;
}

/* The safe time: the least newest timestamp of the assigned partitions that
 * may have more to deliver, i.e. are neither at their end nor caught up
 * (INT64_MAX when there is none). */
static int64_t nd_consumer_safe(const nd_consumer_t *c)
{
    int64_t safe = INT64_MAX;
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &c->assignment->elems[i];
        if (tp->opaque != ND_PART_EOF && ND_PART_NEWEST(tp) < safe && !nd_consumer_caught_up(c, i))
            safe = ND_PART_NEWEST(tp);
    }
    return safe;
}

/* The assignment element of m's partition, or NULL. */
static rd_kafka_topic_partition_t *nd_consumer_part(const nd_consumer_t *c,
                                                    const rd_kafka_message_t *m)
{
    return c->assignment ? rd_kafka_topic_partition_list_find(
                               c->assignment, rd_kafka_topic_name(m->rkt), m->partition)
                         : NULL;
}

/* The state of the assigned partition of m (ND_PART_*; ND_PART_EOF when it
 * is no longer assigned: it constrains nothing). */
static void *nd_consumer_state(const nd_consumer_t *c, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_t *tp = nd_consumer_part(c, m);
    return tp ? tp->opaque : ND_PART_EOF;
}

/*
 * Put the n messages of pool in event order and hand out what may be decided
 * now, keeping the rest for the next collect. The partitions' runs are merged
 * by message timestamp (partitions taking turns at one timestamp: see
 * nd_consumer_msg_before), each partition keeping its offset order:
 * near-duplicates arrive on different topics and partitions, and "first
 * seen" should not depend on which partition librdkafka happened to fetch
 * first.
 *
 * Across batches the same holds only if no partition runs ahead of another:
 * in a backfill, librdkafka fetches each partition in chunks, so a batch can
 * end at one partition's newest message and another's oldest, and the next
 * batch would bring that one's messages after newer ones were decided, late
 * by more than the window in a dense backfill (on the Reuters feed over three
 * topics: 4,337 clusters instead of 3,077). So the batch is cut at the safe
 * time: the least, over the assigned partitions not at their end, of the
 * newest timestamp each has delivered (so far, this pool included; a
 * partition yet to deliver holds everything back until it does or reaches its
 * end). What lies at or beyond it (in each partition, from its first such
 * message on: the partition at the safe time may have more of that
 * millisecond to come) is held back, at most hold messages (beyond that the
 * oldest go anyway: a bound on memory and on the wait for a stalled
 * partition, at the cost of order), and once they pile up
 * nd_consumer_pause_ahead() stops fetching the partitions past it.
 * Partitions at their end hold nothing back, so a live stream that has
 * caught up is not delayed.
 *
 * Takes the n messages at the front of c->pool, fills msgs[0..*nout) (at
 * most cap), leaves the held messages at the front of c->pool and sets
 * *safe_out to the safe time; @return how many are held. O(n x partitions in
 * the pool), on the scratch arrays c->cut (nd_consumer_pool_size()).
 */
static size_t nd_consumer_order_cut(nd_consumer_t *c, size_t n, rd_kafka_message_t **msgs,
                                    size_t cap, size_t hold, size_t *nout, int64_t *safe_out)
{
    rd_kafka_message_t **pool = c->pool, **in = c->cut.in;
    size_t *next = c->cut.next, *head = c->cut.head, *tail = c->cut.tail, *same = c->cut.same;
    int64_t *newest = c->cut.newest, *last = c->cut.last;
    rd_kafka_topic_partition_t **rtp = c->cut.tp;
    unsigned char *held = c->cut.held;
    size_t runs = 0, nh = 0;
    *nout = 0;
    *safe_out = INT64_MAX;
    if (n == 0)
        return 0;
    memcpy(in, pool, n * sizeof(*in));
    /* the partitions' runs: next links each message to the next of its
     * partition; per run, its ends, its newest timestamp, where its turn at
     * one timestamp stands (kept from the last batch), its assignment element
     * (NULL when no longer assigned) */
    for (size_t i = 0; i < n; i++) {
        size_t r = 0;
        while (r < runs &&
               !(in[head[r]]->rkt == in[i]->rkt && in[head[r]]->partition == in[i]->partition))
            r++;
        int64_t ts = rd_kafka_message_timestamp(in[i], NULL);
        next[i] = n;
        if (r == runs) {
            rtp[runs] = nd_consumer_part(c, in[i]);
            ptrdiff_t x = rtp[runs] && c->tie_ts ? rtp[runs] - c->assignment->elems : -1;
            head[runs] = i;
            newest[runs] = ts;
            last[runs] = x >= 0 ? c->tie_ts[x] : INT64_MIN;
            same[runs] = x >= 0 ? c->tie_k[x] : 0;
            held[runs++] = 0;
        } else {
            next[tail[r]] = i;
            newest[r] = ts > newest[r] ? ts : newest[r];
        }
        tail[r] = i;
        if (rtp[r] && c->next_off && in[i]->offset + 1 > c->next_off[rtp[r] - c->assignment->elems])
            c->next_off[rtp[r] - c->assignment->elems] = in[i]->offset + 1;
    }
    /* what each partition has delivered now includes the pool */
    for (size_t r = 0; r < runs; r++)
        if (rtp[r] && newest[r] > ND_PART_NEWEST(rtp[r]))
            ND_PART_NEWEST(rtp[r]) = newest[r];
    int64_t safe = *safe_out = nd_consumer_safe(c);
    /* the merge: held-back messages (beyond the safe time, or after one in
     * their partition) go to the pool, in event order; the others to msgs
     * until cap, then to the pool too */
    for (size_t k = 0; k < n; k++) {
        size_t best = runs;
        size_t sbest = 0;
        for (size_t r = 0; r < runs; r++) {
            if (head[r] == n)
                continue;
            size_t sr = rd_kafka_message_timestamp(in[head[r]], NULL) == last[r] ? same[r] : 0;
            if (best == runs || nd_consumer_msg_before(in[head[r]], sr, in[head[best]], sbest)) {
                best = r;
                sbest = sr;
            }
        }
        rd_kafka_message_t *m = in[head[best]];
        head[best] = next[head[best]];
        last[best] = rd_kafka_message_timestamp(m, NULL);
        same[best] = sbest + 1;
        /* a message without a timestamp (-1: a pre-0.10 message format) has no
         * place in time and is never held */
        if (held[best] || (safe != INT64_MAX && last[best] >= 0 && last[best] >= safe)) {
            held[best] = 1;
            pool[nh++] = m;
        } else if (*nout < cap) {
            msgs[(*nout)++] = m;
            if (rtp[best] && c->tie_ts) { /* handed out: the turn is taken */
                c->tie_ts[rtp[best] - c->assignment->elems] = last[best];
                c->tie_k[rtp[best] - c->assignment->elems] = same[best];
            }
        } else {
            held[best] = 1;
            pool[nh++] = m;
        }
    }
    /* more than hold held back: the oldest go now after all (room permitting) */
    if (nh > hold && *nout < cap) {
        size_t k = nh - hold < cap - *nout ? nh - hold : cap - *nout;
        memcpy(msgs + *nout, pool, k * sizeof(*msgs));
        memmove(pool, pool + k, (nh - k) * sizeof(*pool));
        *nout += k;
        nh -= k;
    }
    return nh;
}

/* Pause the partitions that ran ahead (hold messages back and have
 * delivered past the safe time), resume those that no longer do (c->ahead).
 * A partition ahead is then not fetched while the others catch up, instead
 * of filling the local queue in front of them; those at the safe time keep
 * fetching, so that it moves on. */
static void nd_consumer_pause_ahead(nd_consumer_t *c, int64_t safe)
{
    rd_kafka_topic_partition_list_t *now = rd_kafka_topic_partition_list_new(4);
    if (!now)
        return; /* no pausing: order still holds, within the hold-back bound */
    for (size_t i = 0; i < c->n_held; i++) {
        const char *t = rd_kafka_topic_name(c->pool[i]->rkt);
        const rd_kafka_topic_partition_t *tp = nd_consumer_part(c, c->pool[i]);
        if (tp && ND_PART_NEWEST(tp) > safe &&
            !rd_kafka_topic_partition_list_find(now, t, c->pool[i]->partition))
            rd_kafka_topic_partition_list_add(now, t, c->pool[i]->partition);
    }
    rd_kafka_topic_partition_list_t *go = rd_kafka_topic_partition_list_new(4),
                                    *stop = rd_kafka_topic_partition_list_new(4);
    for (int i = 0; c->ahead && go && i < c->ahead->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &c->ahead->elems[i];
        if (!rd_kafka_topic_partition_list_find(now, tp->topic, tp->partition))
            rd_kafka_topic_partition_list_add(go, tp->topic, tp->partition);
    }
    for (int i = 0; stop && i < now->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &now->elems[i];
        if (!c->ahead || !rd_kafka_topic_partition_list_find(c->ahead, tp->topic, tp->partition))
            rd_kafka_topic_partition_list_add(stop, tp->topic, tp->partition);
    }
    if (go && stop) {
        if (go->cnt)
            rd_kafka_resume_partitions(c->rk, go);
        if (stop->cnt)
            rd_kafka_pause_partitions(c->rk, stop);
        if (c->ahead)
            rd_kafka_topic_partition_list_destroy(c->ahead);
        c->ahead = now;
        now = NULL;
    }
    if (go)
        rd_kafka_topic_partition_list_destroy(go);
    if (stop)
        rd_kafka_topic_partition_list_destroy(stop);
    if (now)
        rd_kafka_topic_partition_list_destroy(now);
}

int nd_consumer_collect(nd_consumer_t *c, struct rd_kafka_message_s **msgs, size_t cap, size_t *n,
                        int wait_ms, int linger_ms, char *errstr, size_t errstr_size)
{
    double start = nd_consumer_now_ms(), deadline = start + wait_ms, hard = 0;
    *n = 0;
    if (cap == 0)
        return 0;
    size_t hold = cap > ND_HOLD_MIN ? cap : ND_HOLD_MIN;
    /* held messages stay at the front; room for them and cap more */
    if (nd_consumer_pool_size(c, hold + cap)) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    nd_consumer_check_assignment(c);
    if (c->held_gen != c->generation || !c->complete)
        nd_consumer_drop_held(c); /* the old assignment's, or not ours while paused */
    uint64_t gen = c->held_gen = c->generation;
    nd_consumer_mark_quiet(c);
    /* The held messages' partitions delivered in this collect too. */
    size_t np = c->n_held, limit = c->n_held + cap;
    c->n_held = 0;
    for (size_t i = 0; i < np; i++)
        if (nd_consumer_state(c, c->pool[i]) == ND_PART_QUIET)
            nd_consumer_mark(c, rd_kafka_topic_name(c->pool[i]->rkt), c->pool[i]->partition,
                             ND_PART_HEARD);
    if (np) {
        deadline = nd_consumer_now_ms() + linger_ms;
        hard = deadline + 9.0 * linger_ms;
    }
    while (np < limit) {
        /* At the end of every partition, a batch takes only what is queued
         * already; an empty one waits for the next message (up to wait_ms),
         * so that a caught-up pipeline sleeps in poll instead of spinning. */
        double left = np && nd_consumer_at_end(c) ? 0 : deadline - nd_consumer_now_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, left > 0 ? (int)left + 1 : 0);
        if (c->generation != gen) {
            /* Taken before a rebalance: the old assignment's; fetching
             * restarts from the committed offsets. */
            c->n_held = np;
            nd_consumer_drop_held(c);
            np = 0;
            limit = cap;
            gen = c->held_gen = c->generation;
            nd_consumer_check_assignment(c);
        }
        if (!m) {
            /* A batch with messages waits a little longer (up to 10 x linger
             * in all) for partitions not yet heard from, so that it holds the
             * head of every partition and its event order means something. */
            if (np && linger_ms > 0 && !nd_consumer_all_heard(c) && nd_consumer_now_ms() < hard) {
                deadline = nd_consumer_now_ms() + linger_ms;
                continue;
            }
            if (left <= 0 || np)
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
                c->n_held = np;
                nd_consumer_drop_held(c);
                return -1;
            }
            continue;
        }
        if (!c->complete) {
            rd_kafka_message_destroy(m); /* paused: not ours to decide */
            continue;
        }
        nd_consumer_mark(c, rd_kafka_topic_name(m->rkt), m->partition, ND_PART_HEARD);
        if (np == 0) {
            deadline = nd_consumer_now_ms() + linger_ms;
            hard = deadline + 9.0 * linger_ms;
        }
        c->pool[np++] = m;
    }
    if (!c->complete) { /* the assignment broke up during the collect */
        nd_consumer_messages_destroy(c->pool, np);
        return 0;
    }
    int64_t safe;
    c->n_held = nd_consumer_order_cut(c, np, msgs, cap, hold, n, &safe);
    /* Pausing costs fetch round trips (a backfill of the Reuters feed that
     * paused at a quarter of the bound ran at a third of the speed): only as
     * the held-back messages near their bound (a partition fetched far ahead
     * of the others, as a broker that fills each fetch from one partition
     * does), and then until none is ahead any more. */
    if (c->n_held > hold * 3 / 4 || c->ahead)
        nd_consumer_pause_ahead(c, safe);
    return 0;
}

int nd_consumer_rewind(nd_consumer_t *c, char *errstr, size_t errstr_size)
{
    nd_consumer_drop_held(c);
    for (int i = 0; c->assignment && i < c->assignment->cnt; i++) {
        ND_PART_NEWEST(&c->assignment->elems[i]) = INT64_MIN; /* re-read from the commit */
        if (c->next_off)
            c->next_off[i] = -1;
    }
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
