/*
 * metrics.c - the Prometheus endpoint of `run`: a tiny HTTP/1.0 server on its
 * own thread answering GET /metrics (and GET /) with the pipeline's counters
 * and a few librdkafka statistics per client. One request per connection.
 */
#include "kafka_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ND_STATS_N 6

static const char *const nd_stat_names[ND_STATS_N] = {"msg_cnt", "tx",     "rx",
                                                      "txmsgs",  "rxmsgs", "replyq"};

struct nd_metrics_s {
    const nd_counters_t *c;
    int fd;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t lock; /* guards stats */
    int64_t stats[2][ND_STATS_N];
};

void nd_metrics_rdkafka_stats(nd_metrics_t *m, int client, const char *json)
{
    int64_t v[ND_STATS_N] = {0};
    if (!m || client < 0 || client > 1)
        return;
    for (int i = 0; i < ND_STATS_N; i++) {
        char pat[32];
        snprintf(pat, sizeof(pat), "\"%s\":", nd_stat_names[i]);
        const char *p = strstr(json, pat); /* top-level fields come first */
        if (p)
            v[i] = strtoll(p + strlen(pat), NULL, 10);
    }
    pthread_mutex_lock(&m->lock);
    memcpy(m->stats[client], v, sizeof(v));
    pthread_mutex_unlock(&m->lock);
}

/* The Prometheus text exposition of everything, into b. */
static void nd_metrics_text(nd_metrics_t *m, nd_buf_t *b)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
        int us; /* the counter holds microseconds, shown in seconds */
    } k[] = {
#define C(f, t, h) {"newsdedup_" #f, t, h, offsetof(nd_counters_t, f), 0}
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
        C(held, "gauge", "input messages held back so that no partition runs ahead of the others"),
        /* microseconds, shown in seconds */
        {"newsdedup_decide_seconds", "counter",
         "time spent deciding batches and producing their records",
         offsetof(nd_counters_t, decide_us), 1},
        {"newsdedup_commit_seconds", "counter",
         "time spent committing batches (offsets and commit, or flush and offset commit)",
         offsetof(nd_counters_t, commit_us), 1},
#undef C
    };
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        uint64_t v = atomic_load((const atomic_uint_fast64_t *)((const char *)m->c + k[i].off));
        nd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", k[i].name, k[i].help, k[i].name,
                      k[i].type);
        if (k[i].us)
            nd_buf_printf(b, "%s %" PRIu64 ".%06" PRIu64 "\n", k[i].name, v / 1000000, v % 1000000);
        else
            nd_buf_printf(b, "%s %" PRIu64 "\n", k[i].name, v);
    }
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < ND_STATS_N; i++) {
        nd_buf_printf(b, "# HELP newsdedup_rdkafka_%s librdkafka statistics: %s\n",
                      nd_stat_names[i], nd_stat_names[i]);
        nd_buf_printf(b, "# TYPE newsdedup_rdkafka_%s gauge\n", nd_stat_names[i]);
        for (int w = 0; w < 2; w++)
            nd_buf_printf(b, "newsdedup_rdkafka_%s{client=\"%s\"} %" PRId64 "\n", nd_stat_names[i],
                          w ? "consumer" : "producer", m->stats[w][i]);
    }
    pthread_mutex_unlock(&m->lock);
}

/* Answer one connection: read the request line, send the response. */
static void nd_metrics_serve(nd_metrics_t *m, int fd, nd_buf_t *body, nd_buf_t *resp)
{
    char req[2048];
    struct pollfd cp = {fd, POLLIN, 0};
    ssize_t n = poll(&cp, 1, 1000) > 0 ? recv(fd, req, sizeof(req) - 1, 0) : -1;
    if (n <= 0)
        return;
    req[n] = '\0';
    int ok = !strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET / ", 6);
    nd_buf_reset(body);
    nd_buf_reset(resp);
    if (ok)
        nd_metrics_text(m, body);
    else
        nd_buf_printf(body, "not found: try /metrics\n");
    nd_buf_printf(resp,
                  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                  ok ? "200 OK" : "404 Not Found", body->len);
    nd_buf_append(resp, body->p, body->len);
    for (size_t off = 0; resp->p && off < resp->len;) {
        ssize_t w = send(fd, resp->p + off, resp->len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

/* The server thread: accept until told to stop (checked every 200 ms). */
static void *nd_metrics_main(void *arg)
{
    nd_metrics_t *m = arg;
    nd_buf_t body = {0}, resp = {0};
    while (!atomic_load(&m->stop)) {
        struct pollfd pfd = {m->fd, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        int fd = accept(m->fd, NULL, NULL);
        if (fd < 0)
            continue;
        nd_metrics_serve(m, fd, &body, &resp);
        close(fd);
    }
    nd_buf_free(&body);
    nd_buf_free(&resp);
    return NULL;
}

/* A listening socket on addr:port. @return the fd, or -1 with errstr. */
static int nd_metrics_listen(const char *addr, int port, char *errstr, size_t errstr_size)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size, "bad metrics address %s (want an IPv4 address)", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
        snprintf(errstr, errstr_size, "metrics endpoint %s:%d: %s", addr, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

nd_metrics_t *nd_metrics_new(const char *addr, int port, const nd_counters_t *counters,
                             char *errstr, size_t errstr_size)
{
    nd_metrics_t *m = nd_calloc(1, sizeof(*m));
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    m->c = counters;
    pthread_mutex_init(&m->lock, NULL);
    if ((m->fd = nd_metrics_listen(addr, port, errstr, errstr_size)) < 0) {
        pthread_mutex_destroy(&m->lock);
        nd_free(m);
        return NULL;
    }
    if (pthread_create(&m->thread, NULL, nd_metrics_main, m)) {
        close(m->fd);
        pthread_mutex_destroy(&m->lock);
        nd_free(m);
        snprintf(errstr, errstr_size, "cannot start the metrics thread");
        return NULL;
    }
    fprintf(stderr, "newsdedup run: metrics on http://%s:%d/metrics\n", addr, port);
    return m;
}

void nd_metrics_destroy(nd_metrics_t *m)
{
    if (!m)
        return;
    atomic_store(&m->stop, 1);
    pthread_join(m->thread, NULL);
    close(m->fd);
    pthread_mutex_destroy(&m->lock);
    nd_free(m);
}
