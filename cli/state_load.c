/*
 * state_load.c - rebuild the engine from the state topic: every state record
 * the pipeline committed, read from the beginning to the end of each
 * partition with read_committed, restored with nd_dedup_restore.
 */
#include "kafka_int.h"

#include <stdio.h>

/* A consumer of its own for the state topic: the user's settings, then ours
 * (this reader must see only committed state). @return NULL with errstr. */
static rd_kafka_t *nd_state_reader_new(const nd_cli_conf_t *c, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
    if (nd_kafka_conf_apply_user(c, conf, tconf, errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        rd_kafka_topic_conf_destroy(tconf);
        return NULL;
    }
    rd_kafka_conf_set_default_topic_conf(conf, tconf);
    char gid[600];
    snprintf(gid, sizeof(gid), "%s.state-reader", c->group);
    rd_kafka_conf_set(conf, "group.id", gid, NULL, 0);
    rd_kafka_conf_set(conf, "group.instance.id", NULL, NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", NULL, 0);
    rd_kafka_conf_set(conf, "statistics.interval.ms", "0", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, nd_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Assign every non-empty partition of the topic from its beginning.
 * @return the partitions already at their end (empty ones give no EOF
 * event), or -1 when the topic does not exist (no state yet). */
static int nd_state_assign(rd_kafka_t *rk, const char *topic, int *nparts, char *errstr,
                           size_t errstr_size)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (err) {
        snprintf(errstr, errstr_size, "state topic %s: metadata: %s", topic, rd_kafka_err2str(err));
        return -2;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt == 0) {
        rd_kafka_metadata_destroy(md);
        return -1;
    }
    int at_end = 0;
    *nparts = md->topics[0].partition_cnt;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(*nparts);
    for (int p = 0; p < *nparts; p++) {
        int32_t id = md->topics[0].partitions[p].id;
        int64_t lo = 0, hi = 0;
        if (!rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi, 10000) && hi <= lo) {
            at_end++;
            continue;
        }
        rd_kafka_topic_partition_list_add(l, topic, id)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (l->cnt)
        rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_metadata_destroy(md);
    return at_end;
}

/* Restore one consumed message. @return 0, or -1 on engine failure. */
static int nd_state_restore1(nd_dedup_t *dd, const rd_kafka_message_t *m, uint64_t *restored)
{
    nd_state_record_t rec;
    if (nd_state_record_decode(m->payload, m->len, &rec))
        return 0; /* not one of ours: skipped */
    if (nd_dedup_restore(dd, &rec.item, &rec.sig, rec.cluster_id, rec.is_canonical))
        return -1;
    (*restored)++;
    return 0;
}

int nd_state_load(const nd_cli_conf_t *c, nd_dedup_t *dd, uint64_t *restored, char *errstr,
                  size_t errstr_size)
{
    int nparts = 0, rc = -1;
    *restored = 0;
    rd_kafka_t *rk = nd_state_reader_new(c, errstr, errstr_size);
    if (!rk)
        return -1;
    int at_end = nd_state_assign(rk, c->state_topic, &nparts, errstr, errstr_size);
    if (at_end < 0) {
        rc = at_end == -1 ? 0 : -1; /* -1: no state yet */
        goto out;
    }
    for (uint64_t k = 0; at_end < nparts; k++) {
        /* a signal check is a system call: once per 1024 records, and when idle */
        if (k % 1024 == 0 && nd_signalled()) {
            snprintf(errstr, errstr_size, "interrupted while restoring state");
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            k = (k | 1023); /* the next turn checks */
            continue;
        }
        int fail = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end++;
        } else if (m->err) {
            fprintf(stderr, "newsdedup run: reading state: %s\n", rd_kafka_message_errstr(m));
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                snprintf(errstr, errstr_size, "reading state: fatal error");
                fail = 1;
            }
        } else if (nd_state_restore1(dd, m, restored)) {
            snprintf(errstr, errstr_size, "restoring state: out of memory");
            fail = 1;
        }
        rd_kafka_message_destroy(m);
        if (fail)
            goto out;
    }
    rc = 0;
out:
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
