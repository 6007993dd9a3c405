/*
 * sink_jsonl.c - the JSON Lines sink: one file per output in a directory.
 *
 * Each output has its own large buffer written with write(2): the records
 * arrive already encoded, so stdio's small buffer would only add a copy per
 * record, a lock per call and a system call every few kilobytes.
 */
#include "nd_sinks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes buffered per output before they are written. */
#define ND_JSONL_BUF (256 * 1024)

typedef struct nd_jsonl_file_s {
    int fd;
    char *buf; /* ND_JSONL_BUF bytes */
    size_t len;
    int err; /* errno of the first failed write, 0 if none */
} nd_jsonl_file_t;

typedef struct nd_sink_jsonl_s {
    nd_jsonl_file_t f[ND_OUT__CNT];
} nd_sink_jsonl_t;

/* Write p[0..len) to fd whole (retrying short writes and EINTR).
 * @return 0, or the errno of the failure. */
static int nd_jsonl_write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write the file's buffer out. Once a write failed, the file stays failed
 * (as a stdio stream's error flag does). @return 0 or the errno. */
static int nd_jsonl_drain(nd_jsonl_file_t *f)
{
    if (f->err)
        return f->err;
    int err = nd_jsonl_write_all(f->fd, f->buf, f->len);
    f->len = 0;
    f->err = err;
    return err;
}

/* Append the record and a newline to the output's file. */
static nd_err_t nd_jsonl_write(void *opaque, nd_out_t out, const char *key, size_t key_len,
                               const char *value, size_t value_len, const nd_reject_t *rej)
{
    nd_jsonl_file_t *f = &((nd_sink_jsonl_t *)opaque)->f[out];
    (void)key;
    (void)key_len;
    (void)rej;
    if (f->err)
        return ND_ERR_IO;
    if (value_len + 1 > ND_JSONL_BUF - f->len) {
        if (nd_jsonl_drain(f))
            return ND_ERR_IO;
        if (value_len + 1 > ND_JSONL_BUF) {
            /* Larger than the buffer: straight to the file. */
            if ((f->err = nd_jsonl_write_all(f->fd, value, value_len)))
                return ND_ERR_IO;
            value_len = 0;
        }
    }
    memcpy(f->buf + f->len, value, value_len);
    f->buf[f->len + value_len] = '\n';
    f->len += value_len + 1;
    return ND_ERR_NO_ERROR;
}

/* Write every buffer to the OS. */
static nd_err_t nd_jsonl_flush(void *opaque, char *errstr, size_t errstr_size)
{
    nd_sink_jsonl_t *j = opaque;
    for (int i = 0; i < ND_OUT__CNT; i++) {
        int err = nd_jsonl_drain(&j->f[i]);
        if (err) {
            snprintf(errstr, errstr_size, "flushing %s.jsonl: %s", nd_out_name(i), strerror(err));
            return ND_ERR_IO;
        }
    }
    return ND_ERR_NO_ERROR;
}

/* Write what is buffered (a failure here goes unreported, as with fclose
 * after no flush) and close every file. */
static void nd_jsonl_destroy(void *opaque)
{
    nd_sink_jsonl_t *j = opaque;
    for (int i = 0; i < ND_OUT__CNT; i++) {
        if (j->f[i].fd >= 0) {
            nd_jsonl_drain(&j->f[i]);
            close(j->f[i].fd);
        }
        nd_free(j->f[i].buf);
    }
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
    for (int i = 0; i < ND_OUT__CNT; i++)
        j->f[i].fd = -1;
    for (int i = 0; i < ND_OUT__CNT; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.jsonl", dir, nd_out_name(i));
        /* fopen(path, "w")'s flags and mode. */
        j->f[i].fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (j->f[i].fd < 0) {
            snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
            nd_jsonl_destroy(j);
            return NULL;
        }
        if (!(j->f[i].buf = nd_malloc(ND_JSONL_BUF))) {
            snprintf(errstr, errstr_size, "out of memory");
            nd_jsonl_destroy(j);
            return NULL;
        }
    }
    nd_sink_t *s = nd_sink_new(&ops, j);
    if (!s)
        snprintf(errstr, errstr_size, "out of memory");
    return s;
}
