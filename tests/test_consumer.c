/* label: kafka-mock  timeout: 120 */
/* test_consumer.c - the pipeline's group consumer (ingest/consumer.c) on
 * librdkafka's mock cluster: batches come in event order across partitions
 * and across batches (a backfill's partitions fetched in chunks must not run
 * ahead of each other), equal timestamps take turns, and a partition at its
 * end holds nothing back. The mock fills each fetch from one partition while
 * it has data, so with 3,000 messages a partition the held-back messages
 * reach their bound and the partitions ahead must be paused (without the
 * pausing: 933 messages late). */
#include "nd_ingest.h"
#include "nd_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define N_PARTS 3
#define N_MSGS  9000
#define PER_MS  100 /* messages stamped with one millisecond */
#define T0      1700000000000LL

typedef struct fixture_s {
    rd_kafka_t *mrk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *producer;
    char bootstraps[256];
} fixture_t;

static int fixture_init(fixture_t *f)
{
    char errstr[256];
    memset(f, 0, sizeof(*f));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
    if (!(f->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))))
        return -1;
    if (!(f->mc = rd_kafka_mock_cluster_new(f->mrk, 1)))
        return -1;
    snprintf(f->bootstraps, sizeof(f->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
    if (rd_kafka_mock_topic_create(f->mc, "wire", N_PARTS, 1))
        return -1;
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, NULL, 0);
    rd_kafka_conf_set(conf, "linger.ms", "50", NULL, 0); /* chunky batches */
    if (!(f->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr))))
        return -1;
    return 0;
}

static void fixture_free(fixture_t *f)
{
    if (f->producer)
        rd_kafka_destroy(f->producer);
    if (f->mc)
        rd_kafka_mock_cluster_destroy(f->mc);
    if (f->mrk)
        rd_kafka_destroy(f->mrk);
}

/* Produce message i (its number as the value) to partition i % N_PARTS,
 * stamped T0 + i / PER_MS (+ extra_ms). */
static int produce(fixture_t *f, int i, int partition, int64_t extra_ms)
{
    char v[32];
    int len = snprintf(v, sizeof(v), "%d", i);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        f->producer, RD_KAFKA_V_TOPIC("wire"), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(T0 + i / PER_MS + extra_ms), RD_KAFKA_V_END);
    return err ? -1 : 0;
}

static nd_consumer_t *consumer_new(fixture_t *f, const char *group)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", f->bootstraps, NULL, 0);
    rd_kafka_conf_set(conf, "group.id", group, NULL, 0);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", NULL, 0);
    rd_kafka_conf_set(conf, "session.timeout.ms", "3000", NULL, 0);
    rd_kafka_conf_set(conf, "heartbeat.interval.ms", "300", NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
    /* small fetches: each partition arrives in many chunks */
    rd_kafka_conf_set(conf, "message.max.bytes", "1000", NULL, 0);
    rd_kafka_conf_set(conf, "fetch.max.bytes", "2048", NULL, 0);
    rd_kafka_conf_set(conf, "max.partition.fetch.bytes", "1024", NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
    const char *topics[] = {"wire"};
    nd_consumer_t *c = nd_consumer_new(conf, topics, 1, NULL, errstr, sizeof(errstr));
    if (!c) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "consumer: %s\n", errstr);
    }
    return c;
}

/* Collect batches of at most cap until want messages came (or 30 s passed),
 * alternating a waiting collect and a take-what-is-here one, as the pipeline
 * does while a batch is in flight. Records each message's value, partition
 * and timestamp in arrival order; @return how many came. */
static int drain(nd_consumer_t *c, size_t cap, int want, int *val, int *part, int64_t *ts)
{
    rd_kafka_message_t *msgs[256];
    char errstr[256];
    int got = 0;
    for (int round = 0; got < want && round < 3000; round++) {
        size_t n = 0;
        int wait = round % 2 ? 0 : 100;
        if (nd_consumer_collect(c, msgs, cap, &n, wait, wait, errstr, sizeof(errstr)))
            break;
        for (size_t i = 0; i < n && got < want + 10; i++) {
            val[got] = atoi((const char *)msgs[i]->payload);
            part[got] = msgs[i]->partition;
            ts[got++] = rd_kafka_message_timestamp(msgs[i], NULL);
        }
        nd_consumer_store_offsets(c, msgs, n);
        nd_consumer_messages_destroy(msgs, n);
    }
    return got;
}

static void backfill_in_event_order(void)
{
    fixture_t f;
    ND_ASSERT(fixture_init(&f) == 0, "mock cluster");
    for (int i = 0; i < N_MSGS; i++)
        ND_ASSERT(produce(&f, i, i % N_PARTS, 0) == 0);
    ND_ASSERT(rd_kafka_flush(f.producer, 10000) == 0);
    nd_consumer_t *c = consumer_new(&f, "order");
    ND_ASSERT(c);
    static int val[N_MSGS + 64], part[N_MSGS + 64];
    static int64_t ts[N_MSGS + 64];
    int got = drain(c, 64, N_MSGS, val, part, ts);
    ND_EXPECT(got == N_MSGS, "got %d of %d messages", got, N_MSGS);
    /* every message once */
    static unsigned char seen[N_MSGS];
    memset(seen, 0, sizeof(seen));
    int dup = 0, late = 0, turns = 0, ties = 0, far = 0;
    int64_t newest = INT64_MIN;
    for (int i = 0; i < got; i++) {
        if (val[i] < 0 || val[i] >= N_MSGS || seen[val[i]]++)
            dup++;
        if (ts[i] < newest)
            late++; /* decided after a newer one: what the window cannot forgive */
        newest = ts[i] > newest ? ts[i] : newest;
        if (i > 0 && ts[i] == ts[i - 1]) {
            ties++;
            turns += part[i] != part[i - 1];
        }
        far += abs(val[i] - i) >= N_PARTS; /* more than a turn from where it was produced */
    }
    printf("%d messages: %d repeated, %d older than one before them, %d of %d equal-time "
           "neighbours from different partitions, %d more than a turn from their place\n",
           got, dup, late, turns, ties, far);
    ND_EXPECT(dup == 0, "%d messages repeated", dup);
    ND_EXPECT(late == 0, "%d messages came after a newer one", late);
    /* equal timestamps take turns (round robin, as they were produced); a
     * batch boundary may break a turn */
    ND_EXPECT(ties > 0 && turns * 10 >= ties * 9, "only %d of %d equal-time neighbours alternate",
              turns, ties);
    /* round robin at each millisecond, as produced: each message within a
     * turn of its place (which partition starts a turn is not known) */
    ND_EXPECT(far == 0, "%d of %d messages more than a turn from their place", far, got);
    /* at the end once every partition says so (a resumed one needs a fetch) */
    for (int round = 0; round < 100 && !nd_consumer_at_end(c); round++) {
        rd_kafka_message_t *msgs[8];
        size_t n = 0;
        char errstr[256];
        nd_consumer_collect(c, msgs, 8, &n, 50, 50, errstr, sizeof(errstr));
        ND_EXPECT(n == 0, "%zu messages after the last", n);
        nd_consumer_messages_destroy(msgs, n);
    }
    ND_EXPECT(nd_consumer_at_end(c), "every partition at its end, nothing held");

    /* Live: new messages on one partition while the others are at their end
     * are handed out at once, not held for partitions with nothing to say. */
    for (int i = 0; i < 10; i++)
        ND_ASSERT(produce(&f, N_MSGS + i, 0, 1000) == 0);
    ND_ASSERT(rd_kafka_flush(f.producer, 10000) == 0);
    got = drain(c, 64, 10, val, part, ts);
    ND_EXPECT(got == 10, "a live partition's 10 messages: got %d", got);
    for (int i = 0; i < got; i++)
        ND_EXPECT(val[i] == N_MSGS + i, "live message %d is %d", i, val[i]);
    nd_consumer_destroy(c);
    fixture_free(&f);
}

int main(void)
{
    ND_TEST(backfill_in_event_order);
    return nd_test_done();
}
