/*
 * cmd_demo.c - `newsdedup demo`: the whole product in one command. Starts the
 * embedded broker, plays the demo wire feed onto three wire topics, runs the
 * pipeline over them to the end, then prints the biggest clusters.
 */
#include "cli.h"
#include "kafka_int.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#ifndef ND_SOURCE_DIR
#define ND_SOURCE_DIR "."
#endif

static const char *const nd_demo_wires[] = {"wire.agency", "wire.outlets", "wire.regional"};
#define ND_DEMO_WIRES      3
#define ND_DEMO_PARTITIONS 3

/* Find the bundled feed: next to the binary's source tree, or from the cwd. */
static const char *nd_demo_feed_path(char *buf, size_t size)
{
    const char *env = getenv("ND_SOURCE_DIR");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
    } else {
        exe[0] = '\0';
    }
    const char *cands[5][2] = {
        {env, ""}, {ND_SOURCE_DIR, ""}, {exe, "/.."}, {exe, "/../.."}, {".", ""}};
    for (int i = 0; i < 5; i++) {
        if (!cands[i][0] || !cands[i][0][0])
            continue;
        snprintf(buf, size, "%s%s/bench/demo/feed.jsonl", cands[i][0], cands[i][1]);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Produce every line of path across the wire topics: line i goes to wire
 * i % 3, partition (i / 3) % 3. @return lines produced, or -1. */
static long nd_demo_produce(const char *bootstraps, const char *path, char *errstr,
                            size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "cannot open %.400s", path);
        return -1;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, NULL, 0);
    rd_kafka_conf_set(conf, "linger.ms", "10", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fclose(f);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long i = 0;
    /* One millisecond apart, so the wires' timestamps carry the feed's order
     * (the pipeline decides each batch in timestamp order). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t0 = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(nd_demo_wires[i % ND_DEMO_WIRES]),
                RD_KAFKA_V_PARTITION((int32_t)((i / ND_DEMO_WIRES) % ND_DEMO_PARTITIONS)),
                RD_KAFKA_V_VALUE(line, (size_t)len), RD_KAFKA_V_TIMESTAMP(t0 + i),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 50);
                continue;
            }
            if (err) {
                snprintf(errstr, errstr_size, "producing the feed: %s", rd_kafka_err2str(err));
                i = -1;
            }
            break;
        }
        if (i < 0)
            break;
        i++;
    }
    free(line); /* getline's buffer comes from libc */
    fclose(f);
    if (rd_kafka_flush(rk, 30000) && i >= 0) {
        snprintf(errstr, errstr_size, "the feed was not all delivered");
        i = -1;
    }
    rd_kafka_destroy(rk);
    return i;
}

int nd_cmd_demo(int argc, char **argv)
{
    nd_cli_conf_t conf;
    char errstr[512], feedbuf[PATH_MAX + 64];
    int rc = nd_cli_parse(ND_CMD_DEMO, argc, argv, &conf);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const char *feed = conf.feed ? conf.feed : nd_demo_feed_path(feedbuf, sizeof(feedbuf));
    if (!feed) {
        fprintf(stderr, "newsdedup demo: cannot find bench/demo/feed.jsonl; give --feed FILE\n");
        return 1;
    }

    sigset_t set;
    nd_signals_block(&set);

    nd_mock_t *m = nd_mock_new(conf.broker_count, errstr, sizeof(errstr));
    if (!m) {
        fprintf(stderr, "newsdedup demo: %s\n", errstr);
        return 1;
    }
    const char *bs = nd_mock_bootstraps(m);
    char spec[300];
    for (int i = 0; i < ND_DEMO_WIRES; i++) {
        snprintf(spec, sizeof(spec), "%s:%d", nd_demo_wires[i], ND_DEMO_PARTITIONS);
        if (nd_mock_topic_create(m, spec, errstr, sizeof(errstr)))
            goto fail;
    }
    /* The mock has no CreateTopics: make the outputs and the state here. */
    for (int i = 0; i < ND_OUT__CNT; i++)
        if (nd_mock_topic_create(m, conf.out_topics[i], errstr, sizeof(errstr)))
            goto fail;
    if (nd_mock_topic_create(m, conf.state_topic, errstr, sizeof(errstr)))
        goto fail;

    printf("newsdedup demo: embedded Kafka broker at %s\n", bs);
    double t0 = nd_now_ms();
    long n = nd_demo_produce(bs, feed, errstr, sizeof(errstr));
    if (n < 0)
        goto fail;
    printf("newsdedup demo: produced %ld articles from %s onto %s, %s, %s (%d partitions "
           "each) in %.0f ms\n",
           n, feed, nd_demo_wires[0], nd_demo_wires[1], nd_demo_wires[2], ND_DEMO_PARTITIONS,
           nd_now_ms() - t0);
    fflush(stdout);

    char *topics[1] = {"^wire\\."};
    conf.brokers = bs;
    conf.group = "demo";
    conf.exit_at_end = 1;
    conf.args = topics;
    conf.n_args = 1;
    nd_summary_t *sum = nd_summary_new();
    nd_run_result_t res;
    if (!sum) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        goto fail;
    }
    rc = nd_run_pipeline(&conf, sum, &res);
    if (rc == 0) {
        printf("\nnewsdedup demo: %" PRIu64 " messages through Kafka (%s): %" PRIu64
               " articles, %" PRIu64 " duplicates, %" PRIu64 " rejects, %" PRIu64
               " clusters; %.0f articles/s over %.0f ms, %" PRIu64 " transactions\n\n",
               res.consumed, res.eos ? "exactly-once, transactions" : "at-least-once", res.articles,
               res.duplicates, res.rejects, res.clusters,
               res.busy_ms > 0 ? res.consumed * 1e3 / res.busy_ms : 0.0, res.busy_ms,
               res.transactions);
        nd_summary_print(sum, conf.summary > 0 ? conf.summary : 10, stdout);
    }
    nd_summary_destroy(sum);
    nd_mock_destroy(m);
    return rc;
fail:
    fprintf(stderr, "newsdedup demo: %s\n", errstr);
    nd_mock_destroy(m);
    return 1;
}
