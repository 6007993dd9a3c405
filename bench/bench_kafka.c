/*
 * bench_kafka.c - nd-bench-kafka: the pipeline end to end over a broker.
 *
 *   nd-bench-kafka -b BROKERS [--newsdedup PATH] [--feed FILE] [--repeat N]
 *                  [--rate MSGS_PER_S] [--batch-size N] [--run-arg ARG]...
 *                  [--live-only] [--same-times]
 *
 * Throughput (backfill): the feed, N times over (copies under new uris and,
 * unless --same-times, with their event times moved past the previous copy's
 * window: see nd_bk_load()), is produced to three fresh wire topics; then a
 * consume-only librdkafka
 * consumer reads them to the end (the baseline), then `newsdedup run
 * --exit-at-end` processes them. Both rates count from the first message to
 * the end, and the ratio is printed.
 * Latency (live): a pipeline runs on three more fresh topics while the feed
 * is produced at --rate; for every article, the time from the input's
 * CreateTime to (a) its membership's CreateTime and (b) the moment a
 * read_committed consumer sees the membership; p50/p95/p99/max printed.
 * --run-arg passes ARG on to `newsdedup run` (repeatable); --live-only skips
 * the backfill (diagnosis).
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "nd_common.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

extern char **environ;

typedef struct nd_bk_s {
    const char *brokers, *newsdedup, *feed;
    int repeat, rate, batch_size;
    int live_only;            /* skip the backfill (diagnosis) */
    int same_times;           /* --same-times: copies keep the feed's event times */
    int64_t shift_days;       /* event times of copy r move r * shift_days later */
    const char *run_args[32]; /* extra arguments for `newsdedup run` (--run-arg) */
    int n_run_args;
    char run_id[64];
    char **lines; /* feed lines, with uris made unique per repeat */
    size_t *lens;
    size_t n;
} nd_bk_t;

static double nd_bk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void nd_bk_die(const char *msg)
{
    fprintf(stderr, "nd-bench-kafka: %s\n", msg);
    exit(1);
}

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (a year taken to
 * start in March, so that the leap day is the last of its year). */
static int64_t nd_bk_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + doe - 719468;
}

/* The inverse of nd_bk_days(). */
static void nd_bk_date(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/*
 * Visit the date of every event-time field of a ninjs line (versioncreated,
 * firstcreated, any case, at any depth: their "YYYY-MM-DD" prefix). With
 * shift 0, widen [*lo, *hi] to take in each date (days since the epoch); else
 * move each date shift days later, in place. @return 0, or -1 when a shifted
 * date would need more than four digits of year.
 */
static int nd_bk_dates(char *line, int64_t shift, int64_t *lo, int64_t *hi)
{
    static const char *const keys[] = {"\"versioncreated\"", "\"firstcreated\""};
    for (size_t k = 0; k < 2; k++) {
        for (char *p = line; (p = strcasestr(p, keys[k])) != NULL;) {
            p += strlen(keys[k]);
            char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q++ != ':')
                continue;
            while (*q == ' ' || *q == '\t')
                q++;
            int y, m, d, n = 0;
            if (*q != '"' || sscanf(q + 1, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
                continue;
            int64_t z = nd_bk_days(y, m, d);
            if (shift == 0) {
                *lo = z < *lo ? z : *lo;
                *hi = z > *hi ? z : *hi;
                continue;
            }
            int64_t ny;
            nd_bk_date(z + shift, &ny, &m, &d);
            if (ny > 9999)
                return -1;
            char date[16];
            snprintf(date, sizeof(date), "%04d-%02d-%02d", (int)ny, m, d);
            memcpy(q + 1, date, 10);
        }
    }
    return 0;
}

/*
 * Load the feed, repeat times over. Copy r > 0 gets "#rR" appended to its uri
 * and, unless same_times, its event times moved r * shift_days later, where
 * shift_days is the feed's span in days plus 30: each copy is then a timeline
 * of its own, decided as the feed is (its articles out of reach of the
 * previous copy's under any window up to 30 days), not the exact duplicates
 * of a copy still in the window, nor articles already older than the window.
 */
static void nd_bk_load(nd_bk_t *b)
{
    FILE *f = fopen(b->feed, "r");
    if (!f)
        nd_bk_die("cannot open the feed (give --feed FILE)");
    char *line = NULL;
    size_t cap = 0, alloc = 1024;
    ssize_t len;
    char **base = nd_malloc(alloc * sizeof(*base));
    size_t nb = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (nb == alloc)
            base = nd_realloc(base, (alloc *= 2) * sizeof(*base));
        base[nb++] = nd_strndup(line, (size_t)len);
    }
    free(line); /* getline's buffer comes from libc */
    fclose(f);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < nb && !b->same_times; i++)
        nd_bk_dates(base[i], 0, &lo, &hi);
    b->shift_days = lo <= hi ? hi - lo + 30 : 0;
    b->n = nb * (size_t)b->repeat;
    b->lines = nd_calloc(b->n, sizeof(*b->lines));
    b->lens = nd_calloc(b->n, sizeof(*b->lens));
    for (int r = 0; r < b->repeat; r++) {
        for (size_t i = 0; i < nb; i++) {
            size_t k = (size_t)r * nb + i;
            const char *u = strstr(base[i], "\"uri\":\"");
            const char *e = u ? strchr(u + 7, '"') : NULL;
            if (r == 0 || !e) {
                b->lines[k] = nd_strndup(base[i], strlen(base[i]));
            } else {
                nd_buf_t nb2 = {0};
                nd_buf_append(&nb2, base[i], (size_t)(e - base[i]));
                nd_buf_printf(&nb2, "#r%d", r);
                nd_buf_append(&nb2, e, strlen(e));
                b->lines[k] = nb2.p;
                if (b->shift_days && nd_bk_dates(b->lines[k], r * b->shift_days, &lo, &hi))
                    nd_bk_die("event times shifted past the year 9999: use a smaller --repeat");
            }
            b->lens[k] = strlen(b->lines[k]);
        }
    }
    for (size_t i = 0; i < nb; i++)
        nd_free(base[i]);
    nd_free(base);
}

static rd_kafka_t *nd_bk_client(nd_bk_t *b, rd_kafka_type_t type, const char *group)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", b->brokers, NULL, 0);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    } else {
        rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
        rd_kafka_topic_conf_set(tc, "auto.offset.reset", "earliest", NULL, 0);
        rd_kafka_conf_set_default_topic_conf(conf, tc);
        rd_kafka_conf_set(conf, "group.id", group, NULL, 0);
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", NULL, 0);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        nd_bk_die(errstr);
    return rk;
}

/* Produce the feed to PREFIX.wire.{a,b,c} (round robin), at rate msgs/s (0: flat out).
 * Flat out, message i is stamped (start - n + i) ms, 1 ms apart in feed order as a wire's
 * history would be (the producer's own stamps give hundreds of messages one millisecond,
 * whose order across partitions nothing then tells); at a rate, with the time it is sent
 * (the live latency counts from it). */
static void nd_bk_produce(nd_bk_t *b, const char *prefix, int rate)
{
    static const char *const w[3] = {"a", "b", "c"};
    rd_kafka_t *rk = nd_bk_client(b, RD_KAFKA_PRODUCER, NULL);
    char topic[3][128];
    for (int i = 0; i < 3; i++)
        snprintf(topic[i], sizeof(topic[i]), "%s.wire.%s", prefix, w[i]);
    double t0 = nd_bk_now();
    for (size_t i = 0; i < b->n; i++) {
        if (rate > 0) {
            double due = t0 + i * 1e3 / rate;
            while (nd_bk_now() < due)
                rd_kafka_poll(rk, 1);
        }
        int64_t ts = rate > 0 ? 0 : (int64_t)t0 - (int64_t)b->n + (int64_t)i; /* 0: now */
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic[i % 3]),
                                 RD_KAFKA_V_VALUE(b->lines[i], b->lens[i]),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000))
        nd_bk_die("the feed was not all delivered");
    rd_kafka_destroy(rk);
}

/* Consume-only baseline: read PREFIX.wire.* to the end. @return msgs/s. */
static double nd_bk_baseline(nd_bk_t *b, const char *prefix, size_t *count)
{
    char group[128], re[128];
    snprintf(group, sizeof(group), "%s-baseline", prefix);
    snprintf(re, sizeof(re), "^%s\\.wire\\.", prefix);
    rd_kafka_t *rk = nd_bk_client(b, RD_KAFKA_CONSUMER, group);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, re, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    size_t n = 0;
    double t_first = 0, t_last = 0, deadline = nd_bk_now() + 120000;
    uint64_t bytes = 0;
    while (n < b->n && nd_bk_now() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            if (!n)
                t_first = nd_bk_now();
            n++;
            bytes += m->len; /* touch the payload as the pipeline would */
            t_last = nd_bk_now();
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *count = n;
    (void)bytes;
    return t_last > t_first ? n * 1e3 / (t_last - t_first) : 0;
}

/* Start `newsdedup run` on PREFIX topics; its stderr goes to errpath. */
static pid_t nd_bk_spawn(nd_bk_t *b, const char *prefix, int exit_at_end, const char *errpath)
{
    char group[128], re[128], t[5][128], bs[32];
    const char *names[5] = {"canonical", "memberships", "clusters", "rejects", "state"};
    snprintf(group, sizeof(group), "%s-pipeline", prefix);
    snprintf(re, sizeof(re), "^%s\\.wire\\.", prefix);
    for (int i = 0; i < 5; i++)
        snprintf(t[i], sizeof(t[i]), "%s.%s", prefix, names[i]);
    snprintf(bs, sizeof(bs), "%d", b->batch_size);
    const char *fixed[] = {b->newsdedup,
                           "run",
                           "-b",
                           b->brokers,
                           "-G",
                           group,
                           "--log-interval",
                           "0",
                           "--batch-size",
                           bs,
                           "--canonical-topic",
                           t[0],
                           "--memberships-topic",
                           t[1],
                           "--clusters-topic",
                           t[2],
                           "--rejects-topic",
                           t[3],
                           "--state-topic",
                           t[4]};
    const char *argv[64];
    int n = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[n++] = fixed[i];
    for (int i = 0; i < b->n_run_args; i++)
        argv[n++] = b->run_args[i];
    if (exit_at_end)
        argv[n++] = "--exit-at-end";
    argv[n++] = re;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, b->newsdedup, &fa, NULL, (char *const *)argv, environ))
        nd_bk_die("cannot start newsdedup (give --newsdedup PATH)");
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* The "msg/s" figure of the pipeline's closing line (line: from "done: "),
 * and its time line (tline: from "time: "; "" when absent). */
static double nd_bk_pipeline_rate(const char *errpath, char *line, size_t line_size, char *tline,
                                  size_t tline_size)
{
    FILE *f = fopen(errpath, "r");
    char buf[1024];
    double rate = 0;
    line[0] = tline[0] = '\0';
    while (f && fgets(buf, sizeof(buf), f)) {
        const char *d = strstr(buf, "done: ");
        const char *c = strrchr(buf, ',');
        const char *t = strstr(buf, "time: ");
        if (d && c) {
            rate = strtod(c + 1, NULL);
            snprintf(line, line_size, "%s", d);
        }
        if (t)
            snprintf(tline, tline_size, "%s", t);
    }
    if (f)
        fclose(f);
    return rate;
}

static int nd_bk_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void nd_bk_pct(const char *what, double *v, size_t n)
{
    if (!n) {
        printf("  %-34s no samples\n", what);
        return;
    }
    qsort(v, n, sizeof(*v), nd_bk_cmp);
    printf("  %-34s p50 %7.1f ms  p95 %7.1f ms  p99 %7.1f ms  max %7.1f ms  (n=%zu)\n", what,
           v[n / 2], v[(size_t)(n * 0.95)], v[(size_t)(n * 0.99)], v[n - 1], n);
}

typedef struct nd_bk_uri_s {
    const char *uri;
    size_t len;
    double sent; /* ms, CLOCK_REALTIME, when produced */
} nd_bk_uri_t;

static int nd_bk_uri_cmp(const void *a, const void *b)
{
    const nd_bk_uri_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->uri, y->uri, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

typedef struct nd_bk_reader_s {
    rd_kafka_t *rk;
    nd_bk_uri_t *uris;
    size_t nuris;
    double *proc, *vis;
    size_t n, want;
    volatile int stop;
} nd_bk_reader_t;

/* Read memberships as they become visible (read_committed). */
static void *nd_bk_reader_main(void *arg)
{
    nd_bk_reader_t *r = arg;
    while (!r->stop && r->n < r->want) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
        if (!m)
            continue;
        if (!m->err && m->key) {
            double now = nd_bk_now();
            nd_bk_uri_t k = {m->key, m->key_len, 0};
            nd_bk_uri_t *u = bsearch(&k, r->uris, r->nuris, sizeof(k), nd_bk_uri_cmp);
            if (u && u->sent > 0) {
                r->proc[r->n] = (double)rd_kafka_message_timestamp(m, NULL) - u->sent;
                r->vis[r->n] = now - u->sent;
                r->n++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* Live latency: the pipeline runs; the feed is produced at b->rate while a
 * reader thread sees the memberships appear. */
static void nd_bk_latency(nd_bk_t *b, size_t expect)
{
    static const char *const w[3] = {"a", "b", "c"};
    char prefix[96], errpath[160], mt[128], group[128], topic[3][128];
    snprintf(prefix, sizeof(prefix), "%s-live", b->run_id);
    snprintf(errpath, sizeof(errpath), "/tmp/nd-bench-kafka-%s.err", prefix);
    snprintf(mt, sizeof(mt), "%s.memberships", prefix);
    snprintf(group, sizeof(group), "%s-reader", prefix);
    for (int i = 0; i < 3; i++)
        snprintf(topic[i], sizeof(topic[i]), "%s.wire.%s", prefix, w[i]);

    /* uri of each line, sorted for lookup */
    nd_bk_uri_t *uris = nd_calloc(b->n, sizeof(*uris));
    size_t *slot = nd_calloc(b->n, sizeof(*slot));
    size_t nu = 0;
    for (size_t i = 0; i < b->n; i++) {
        const char *u = strstr(b->lines[i], "\"uri\":\"");
        const char *e = u ? strchr(u + 7, '"') : NULL;
        if (e) {
            uris[nu].uri = u + 7;
            uris[nu].len = (size_t)(e - u - 7);
            nu++;
        }
    }
    qsort(uris, nu, sizeof(*uris), nd_bk_uri_cmp);

    /* Prime: create the topics, start the pipeline, wait for it to decide. */
    rd_kafka_t *pr = nd_bk_client(b, RD_KAFKA_PRODUCER, NULL);
    for (int i = 0; i < 3; i++)
        rd_kafka_producev(pr, RD_KAFKA_V_TOPIC(topic[i]), RD_KAFKA_V_VALUE("prime", 5),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(pr, 10000);
    pid_t pid = nd_bk_spawn(b, prefix, 0, errpath);
    for (int i = 0; i < 300; i++) {
        char line[512];
        usleep(100000);
        FILE *f = fopen(errpath, "r");
        int ready = 0;
        while (f && fgets(line, sizeof(line), f))
            ready |= strstr(line, "transactional.id") != NULL;
        if (f)
            fclose(f);
        if (ready)
            break;
    }
    sleep(3); /* group join */

    nd_bk_reader_t rd = {0};
    rd.rk = nd_bk_client(b, RD_KAFKA_CONSUMER, group);
    rd.uris = uris;
    rd.nuris = nu;
    rd.proc = nd_calloc(b->n, sizeof(double));
    rd.vis = nd_calloc(b->n, sizeof(double));
    rd.want = expect;
    rd_kafka_poll_set_consumer(rd.rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, mt, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rd.rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    pthread_t th;
    pthread_create(&th, NULL, nd_bk_reader_main, &rd);
    sleep(2); /* reader joins its group */

    double t0 = nd_bk_now();
    for (size_t i = 0; i < b->n; i++) {
        double due = t0 + i * 1e3 / b->rate;
        while (nd_bk_now() < due)
            rd_kafka_poll(pr, 1);
        const char *u = strstr(b->lines[i], "\"uri\":\"");
        const char *e = u ? strchr(u + 7, '"') : NULL;
        if (e) {
            nd_bk_uri_t k = {u + 7, (size_t)(e - u - 7), 0};
            nd_bk_uri_t *f = bsearch(&k, uris, nu, sizeof(k), nd_bk_uri_cmp);
            if (f && f->sent == 0)
                f->sent = nd_bk_now();
        }
        while (rd_kafka_producev(pr, RD_KAFKA_V_TOPIC(topic[i % 3]),
                                 RD_KAFKA_V_VALUE(b->lines[i], b->lens[i]),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(pr, 10);
        rd_kafka_poll(pr, 0);
    }
    rd_kafka_flush(pr, 30000);
    printf("  produced %zu articles at %.0f msgs/s\n", b->n, b->n * 1e3 / (nd_bk_now() - t0));
    /* Wait for the stragglers: until all are in, or nothing new for 3 s. */
    size_t seen = rd.n;
    for (int i = 0, idle = 0; i < 600 && rd.n < rd.want && idle < 30; i++) {
        usleep(100000);
        idle = rd.n == seen ? idle + 1 : 0;
        seen = rd.n;
    }
    rd.stop = 1;
    pthread_join(th, NULL);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    rd_kafka_consumer_close(rd.rk);
    rd_kafka_destroy(rd.rk);
    rd_kafka_destroy(pr);
    nd_bk_pct("input -> membership produced", rd.proc, rd.n);
    nd_bk_pct("input -> membership visible (RC)", rd.vis, rd.n);
    nd_free(rd.proc);
    nd_free(rd.vis);
    nd_free(uris);
    nd_free(slot);
}

int main(int argc, char **argv)
{
    nd_bk_t b = {0};
    b.newsdedup = "build/cli/newsdedup";
    b.feed = "bench/demo/feed.jsonl";
    b.repeat = 20;
    b.rate = 2000;
    b.batch_size = 5000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-b") && v)
            b.brokers = argv[++i];
        else if (!strcmp(a, "--newsdedup") && v)
            b.newsdedup = argv[++i];
        else if (!strcmp(a, "--feed") && v)
            b.feed = argv[++i];
        else if (!strcmp(a, "--repeat") && v)
            b.repeat = atoi(argv[++i]);
        else if (!strcmp(a, "--rate") && v)
            b.rate = atoi(argv[++i]);
        else if (!strcmp(a, "--batch-size") && v)
            b.batch_size = atoi(argv[++i]);
        else if (!strcmp(a, "--run-arg") && v && b.n_run_args < 32)
            b.run_args[b.n_run_args++] = argv[++i];
        else if (!strcmp(a, "--live-only"))
            b.live_only = 1;
        else if (!strcmp(a, "--same-times"))
            b.same_times = 1;
        else {
            fprintf(stderr, "usage: nd-bench-kafka -b BROKERS [--newsdedup PATH] [--feed FILE] "
                            "[--repeat N] [--rate MSGS_PER_S] [--batch-size N] [--run-arg ARG]... "
                            "[--live-only] [--same-times]\n");
            return 2;
        }
    }
    if (!b.brokers || b.repeat < 1 || b.batch_size < 1)
        nd_bk_die("-b BROKERS is required (e.g. from scripts/kafka-real.sh start DIR)");
    snprintf(b.run_id, sizeof(b.run_id), "bench%ld", (long)time(NULL) % 1000000);
    nd_bk_load(&b);
    char line[512];
    uint64_t bytes = 0;
    for (size_t i = 0; i < b.n; i++)
        bytes += b.lens[i];
    printf("nd-bench-kafka: %zu articles (%s x %d, %.1f MB) on %s, batch size %d\n", b.n, b.feed,
           b.repeat, bytes / 1e6, b.brokers, b.batch_size);
    if (b.repeat > 1 && b.shift_days)
        printf("  copies: uri + \"#rR\", event times R x %" PRId64 " days later (the feed's span + "
               "30 days)\n",
               b.shift_days);
    else if (b.repeat > 1)
        printf("  copies: uri + \"#rR\", event times unchanged%s\n",
               b.same_times ? " (--same-times)" : " (the feed has none)");

    char prefix[96], errpath[160], tline[256];
    snprintf(prefix, sizeof(prefix), "%s-fill", b.run_id);
    snprintf(errpath, sizeof(errpath), "/tmp/nd-bench-kafka-%s.err", prefix);
    if (b.live_only) {
        printf("live (pipeline running, feed at %d msgs/s):\n", b.rate);
        nd_bk_latency(&b, b.n);
        return 0;
    }
    nd_bk_produce(&b, prefix, 0);
    size_t nbase = 0;
    double base = nd_bk_baseline(&b, prefix, &nbase);
    pid_t pid = nd_bk_spawn(&b, prefix, 1, errpath);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        nd_bk_die("newsdedup run failed (see /tmp/nd-bench-kafka-*.err)");
    double pipe = nd_bk_pipeline_rate(errpath, line, sizeof(line), tline, sizeof(tline));
    printf("backfill (first message to end):\n");
    printf("  consume-only baseline   %9.0f articles/s  (%zu messages)\n", base, nbase);
    printf("  newsdedup run (EOS)     %9.0f articles/s  %s", pipe, line);
    if (tline[0])
        printf("                                        %s", tline);
    printf("  ratio                   %9.2f\n", base > 0 ? pipe / base : 0);
    printf("live (pipeline running, feed at %d msgs/s):\n", b.rate);
    nd_bk_latency(
        &b, (size_t)atoll(strstr(line, "messages, ") ? strstr(line, "messages, ") + 10 : "0"));
    for (size_t i = 0; i < b.n; i++)
        nd_free(b.lines[i]);
    nd_free(b.lines);
    nd_free(b.lens);
    return 0;
}
