/*
 * cmd_broker.c - `newsdedup broker`: librdkafka's mock cluster on loopback,
 * usable by any Kafka client (kcat included) until SIGINT/SIGTERM.
 */
#include "cli.h"
#include "kafka_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

struct nd_mock_s {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

nd_mock_t *nd_mock_new(int broker_count, char *errstr, size_t errstr_size)
{
    nd_mock_t *m = nd_calloc(1, sizeof(*m));
    if (!m) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The handle only hosts the cluster: keep it quiet and off the network. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "", NULL, 0);
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!m->rk) {
        rd_kafka_conf_destroy(conf);
        nd_free(m);
        return NULL;
    }
    m->mc = rd_kafka_mock_cluster_new(m->rk, broker_count);
    if (!m->mc) {
        snprintf(errstr, errstr_size, "cannot start a mock cluster of %d brokers", broker_count);
        nd_mock_destroy(m);
        return NULL;
    }
    return m;
}

void nd_mock_destroy(nd_mock_t *m)
{
    if (!m)
        return;
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
    nd_free(m);
}

const char *nd_mock_bootstraps(const nd_mock_t *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->mc);
}

int nd_mock_topic_create(nd_mock_t *m, const char *spec, char *errstr, size_t errstr_size)
{
    char name[256];
    int partitions = 1;
    const char *colon = strrchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    if (n == 0 || n >= sizeof(name)) {
        snprintf(errstr, errstr_size, "bad topic \"%s\": want NAME[:PARTITIONS]", spec);
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (*end || p < 1 || p > 10000) {
            snprintf(errstr, errstr_size, "bad partition count in \"%s\"", spec);
            return -1;
        }
        partitions = (int)p;
    }
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(m->mc, name, partitions, 1);
    if (err) {
        snprintf(errstr, errstr_size, "creating topic %s: %s", name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int nd_cmd_broker(int argc, char **argv)
{
    nd_cli_conf_t conf;
    char errstr[512];
    int rc = nd_cli_parse(ND_CMD_BROKER, argc, argv, &conf);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (conf.n_args > 0) {
        fprintf(stderr, "newsdedup broker: unexpected argument \"%s\"\n", conf.args[0]);
        return 2;
    }

    /* Block the signals before any thread starts, then wait for them. */
    sigset_t set;
    nd_signals_block(&set);

    nd_mock_t *m = nd_mock_new(conf.broker_count, errstr, sizeof(errstr));
    if (!m) {
        fprintf(stderr, "newsdedup broker: %s\n", errstr);
        return 1;
    }
    for (int i = 0; i < conf.n_broker_topics; i++) {
        if (nd_mock_topic_create(m, conf.broker_topics[i], errstr, sizeof(errstr)) != 0) {
            fprintf(stderr, "newsdedup broker: %s\n", errstr);
            nd_mock_destroy(m);
            return 1;
        }
    }
    printf("%s\n", nd_mock_bootstraps(m));
    fflush(stdout);
    fprintf(stderr, "newsdedup broker: %d broker(s) at %s; Ctrl-C to stop\n", conf.broker_count,
            nd_mock_bootstraps(m));

    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "newsdedup broker: %s, stopping\n", strsignal(sig));
    nd_mock_destroy(m);
    return 0;
}
