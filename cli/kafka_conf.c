/*
 * kafka_conf.c - librdkafka configuration from the command line (-b, -F,
 * -X), the log callback, creation of missing output topics, signals.
 */
#include "kafka_int.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void nd_signals_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

int nd_signalled(void)
{
    sigset_t pend;
    sigpending(&pend);
    return sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM);
}

void nd_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)level;
    fprintf(stderr, "newsdedup run: %s: %s: %s\n", rd_kafka_name(rk), fac, buf);
}

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

/* Apply one "property=value" setting; where names the source in errors. */
static int nd_conf_set_pair(rd_kafka_conf_t *conf, rd_kafka_topic_conf_t *tconf, const char *s,
                            const char *where, char *errstr, size_t errstr_size)
{
    const char *eq = strchr(s, '=');
    char err2[256];
    if (!eq) {
        snprintf(errstr, errstr_size, "%s: want property=value", where);
        return -1;
    }
    if (nd_conf_set1(conf, tconf, s, (size_t)(eq - s), eq + 1, err2, sizeof(err2))) {
        snprintf(errstr, errstr_size, "%s: %s", where, err2);
        return -1;
    }
    return 0;
}

/* Apply -F FILE: property=value lines, blank lines and '#' comments. */
static int nd_conf_apply_file(const char *path, rd_kafka_conf_t *conf, rd_kafka_topic_conf_t *tconf,
                              char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], where[600];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = line, *e = line + strlen(line);
        while (isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (!*s || *s == '#')
            continue;
        snprintf(where, sizeof(where), "%.500s:%d", path, lineno);
        rc = nd_conf_set_pair(conf, tconf, s, where, errstr, errstr_size);
    }
    fclose(f);
    return rc;
}

int nd_kafka_conf_apply_user(const nd_cli_conf_t *c, rd_kafka_conf_t *conf,
                             rd_kafka_topic_conf_t *tconf, char *errstr, size_t errstr_size)
{
    if (c->brokers && rd_kafka_conf_set(conf, "bootstrap.servers", c->brokers, errstr, errstr_size))
        return -1;
    if (c->config_file && nd_conf_apply_file(c->config_file, conf, tconf, errstr, errstr_size))
        return -1;
    for (int i = 0; i < c->n_kafka_props; i++) {
        char where[300];
        snprintf(where, sizeof(where), "-X %.250s", c->kafka_props[i]);
        if (nd_conf_set_pair(conf, tconf, c->kafka_props[i], where, errstr, errstr_size))
            return -1;
    }
    return 0;
}

/* The names of the topics the pipeline writes that are missing from md, as
 * NewTopic objects (state, canonical and clusters compacted). @return count. */
static int nd_missing_topics(const nd_cli_conf_t *c, const rd_kafka_metadata_t *md,
                             rd_kafka_NewTopic_t *nt[5])
{
    const char *names[5] = {c->state_topic, c->out_topics[ND_OUT_CANONICAL],
                            c->out_topics[ND_OUT_CLUSTERS], c->out_topics[ND_OUT_MEMBERSHIPS],
                            c->out_topics[ND_OUT_REJECTS]};
    const int compact[5] = {1, 1, 1, 0, 0};
    int n = 0;
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int t = 0; t < md->topic_cnt && !found; t++)
            found = !strcmp(md->topics[t].topic, names[i]) && !md->topics[t].err;
        if (found || !(nt[n] = rd_kafka_NewTopic_new(names[i], 1, -1, NULL, 0)))
            continue;
        if (compact[i])
            rd_kafka_NewTopic_set_config(nt[n], "cleanup.policy", "compact");
        n++;
    }
    return n;
}

/* Log what one CreateTopics result event says. */
static void nd_log_create_result(rd_kafka_event_t *ev)
{
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
            fprintf(stderr, "newsdedup run: creating %s: %s\n", rd_kafka_topic_result_name(tr[i]),
                    rd_kafka_err2str(e));
        else if (!e)
            fprintf(stderr, "newsdedup run: created topic %s\n", rd_kafka_topic_result_name(tr[i]));
    }
}

void nd_kafka_ensure_topics(rd_kafka_t *rk, const nd_cli_conf_t *c)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_NewTopic_t *nt[5];
    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000))
        return;
    int n = nd_missing_topics(c, md, nt);
    rd_kafka_metadata_destroy(md);
    if (n == 0)
        return;
    if (rd_kafka_controllerid(rk, 2000) < 0) {
        /* No controller (librdkafka's mock cluster): no CreateTopics either. */
        fprintf(stderr, "newsdedup run: no controller to create topics; relying on "
                        "auto-create\n");
        rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
        return;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
    rd_kafka_AdminOptions_set_request_timeout(o, 3000, NULL, 0);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, o, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 5000);
    if (ev) {
        nd_log_create_result(ev);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(nt, (size_t)n);
}
