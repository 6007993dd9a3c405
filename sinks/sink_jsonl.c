/*
 * sink_jsonl.c - the JSON Lines sink: one file per output in a directory.
 */
#include "nd_sinks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct nd_sink_jsonl_s {
    FILE *f[ND_OUT__CNT];
} nd_sink_jsonl_t;

/* Append the record and a newline to the output's file. */
static nd_err_t nd_jsonl_write(void *opaque, nd_out_t out, const char *key, size_t key_len,
                               const char *value, size_t value_len, const nd_reject_t *rej)
{
    nd_sink_jsonl_t *j = opaque;
    (void)key;
    (void)key_len;
    (void)rej;
    if (fwrite(value, 1, value_len, j->f[out]) != value_len || fputc('\n', j->f[out]) == EOF)
        return ND_ERR_IO;
    return ND_ERR_NO_ERROR;
}

/* Flush every file to the OS. */
static nd_err_t nd_jsonl_flush(void *opaque, char *errstr, size_t errstr_size)
{
    nd_sink_jsonl_t *j = opaque;
    for (int i = 0; i < ND_OUT__CNT; i++) {
        if (fflush(j->f[i]) != 0) {
            snprintf(errstr, errstr_size, "flushing %s.jsonl: %s", nd_out_name(i), strerror(errno));
            return ND_ERR_IO;
        }
    }
    return ND_ERR_NO_ERROR;
}

/* Close every file (a final flush happens in fclose). */
static void nd_jsonl_destroy(void *opaque)
{
    nd_sink_jsonl_t *j = opaque;
    for (int i = 0; i < ND_OUT__CNT; i++)
        if (j->f[i])
            fclose(j->f[i]);
    nd_free(j);
}

nd_sink_t *nd_sink_jsonl_new(const char *dir, char *errstr, size_t errstr_size)
{
    static const nd_sink_ops_t ops = {nd_jsonl_write, nd_jsonl_flush, nd_jsonl_destroy};
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "cannot create %s: %s", dir, strerror(errno));
        return NULL;
    }
    nd_sink_jsonl_t *j = nd_calloc(1, sizeof(*j));
    if (!j) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < ND_OUT__CNT; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.jsonl", dir, nd_out_name(i));
        j->f[i] = fopen(path, "w");
        if (!j->f[i]) {
            snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
            nd_jsonl_destroy(j);
            return NULL;
        }
    }
    nd_sink_t *s = nd_sink_new(&ops, j);
    if (!s)
        snprintf(errstr, errstr_size, "out of memory");
    return s;
}
