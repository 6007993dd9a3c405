/*
 * cmd_dedup.c - `newsdedup dedup`: ninjs JSON Lines in, four JSON Lines
 * files out, in input order.
 */
#include "batch.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ND_DEDUP_BATCH 2048
/* Bytes asked of each read(2) of the input. */
#define ND_DEDUP_READ (1024 * 1024)

/*
 * The input's lines, read in large blocks straight into one buffer that the
 * batch's items point into (no per-line copy). Lines are cut as getline()
 * cuts them: at each '\n' (kept), the last one possibly without it. Only
 * the first keep_max bytes of a longer line are kept; the rest is read and
 * dropped.
 */
typedef struct nd_lines_s {
    int fd;
    nd_buf_t buf;    /* bytes read and kept: [0, buf.len) */
    size_t pos;      /* where the first line not yet handed out starts */
    size_t scanned;  /* [pos, scanned) is known to hold no '\n' */
    size_t keep_max; /* the most bytes of one line kept */
    uint64_t bytes;  /* bytes read in all, dropped ones included */
    int eof;
} nd_lines_t;

/* Start a new batch: forget the lines handed out (their items are consumed)
 * and move the partial line after them to the front. */
static void nd_lines_compact(nd_lines_t *r)
{
    size_t left = r->buf.len - r->pos;
    if (r->pos && left)
        memmove(r->buf.p, r->buf.p + r->pos, left);
    r->scanned -= r->pos;
    r->pos = 0;
    r->buf.len = left;
    if (r->buf.p)
        r->buf.p[left] = '\0';
}

/* Read one block into the buffer's free space at buf.len (NOT advancing
 * buf.len). @return bytes read, 0 at end of input, -1 on error (errno). */
static ssize_t nd_lines_read(nd_lines_t *r)
{
    if (nd_buf_reserve(&r->buf, ND_DEDUP_READ)) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t n = read(r->fd, r->buf.p + r->buf.len, r->buf.cap - r->buf.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0)
            r->bytes += (uint64_t)n;
        return n;
    }
}

/* The line at pos has no '\n' within its first keep_max bytes: keep those,
 * drop the rest of the line up to and including its '\n' (reading on as
 * needed), keep what follows, and hand the kept part out.
 * @return 1, or -1 on a read error (errno). */
static int nd_lines_cut(nd_lines_t *r, size_t *off, size_t *len)
{
    size_t cut = r->pos + r->keep_max;
    r->buf.len = cut; /* what was read past cut holds no '\n' */
    while (!r->eof) {
        ssize_t n = nd_lines_read(r);
        if (n < 0)
            return -1;
        if (n == 0) {
            r->eof = 1;
            break;
        }
        char *from = r->buf.p + cut, *nl = memchr(from, '\n', (size_t)n);
        if (nl) {
            size_t after = (size_t)(from + n - (nl + 1));
            memmove(from, nl + 1, after);
            r->buf.len = cut + after;
            break;
        }
    }
    r->buf.p[r->buf.len] = '\0';
    *off = r->pos;
    *len = r->keep_max;
    r->pos = r->scanned = cut;
    return 1;
}

/*
 * nd_lines_next: the next line as an offset into r->buf and a length: the
 * line with its '\n', or its first keep_max bytes if it is longer. The
 * offset stays valid until nd_lines_compact; r->buf.p may move on any call.
 * @return 1, 0 at the end of the input, or -1 on a read error (errno).
 */
static int nd_lines_next(nd_lines_t *r, size_t *off, size_t *len)
{
    for (;;) {
        char *nl = r->scanned < r->buf.len
                       ? memchr(r->buf.p + r->scanned, '\n', r->buf.len - r->scanned)
                       : NULL;
        if (nl) {
            size_t end = (size_t)(nl - r->buf.p) + 1;
            *off = r->pos;
            *len = end - r->pos < r->keep_max ? end - r->pos : r->keep_max;
            r->pos = r->scanned = end;
            return 1;
        }
        r->scanned = r->buf.len;
        if (r->buf.len - r->pos > r->keep_max)
            return nd_lines_cut(r, off, len);
        if (r->eof) {
            if (r->pos == r->buf.len)
                return 0;
            *off = r->pos;
            *len = r->buf.len - r->pos;
            r->pos = r->scanned = r->buf.len;
            return 1;
        }
        ssize_t n = nd_lines_read(r);
        if (n < 0)
            return -1;
        if (n == 0)
            r->eof = 1;
        r->buf.len += (size_t)n;
        r->buf.p[r->buf.len] = '\0';
    }
}

/* Counters printed at the end of a run. */
typedef struct nd_dedup_counts_s {
    uint64_t lines, accepted, rejects;
} nd_dedup_counts_t;

/*
 * Decide and emit one parsed batch in input order. first_line is the line
 * number of items[0]. @return 0, or -1 on a fatal error (message printed).
 */
static int nd_dedup_consume(nd_dedup_t *dd, nd_sink_t *sink, nd_summary_t *sum,
                            nd_batch_item_t *items, size_t n, uint64_t first_line,
                            const char *origin, nd_dedup_counts_t *cnt)
{
    char errstr[256];
    for (size_t i = 0; i < n; i++) {
        nd_batch_item_t *it = &items[i];
        nd_err_t err = it->err;
        if (err == ND_ERR_NO_ERROR) {
            nd_item_t item = {it->art.uri,        it->art.uri_len,       it->art.source,
                              it->art.source_len, it->art.event_time_ms, it->art.body_len};
            nd_decision_t d;
            err = nd_dedup_add(dd, &item, &it->sig, &d);
            if (err == ND_ERR_NO_ERROR) {
                cnt->accepted++;
                if ((err = nd_sink_emit(sink, &it->art, &d)) != ND_ERR_NO_ERROR) {
                    fprintf(stderr, "newsdedup dedup: writing output: %s\n", nd_err_str(err));
                    return -1;
                }
                if (sum && nd_summary_add(sum, &it->art, &d)) {
                    fprintf(stderr, "newsdedup dedup: out of memory\n");
                    return -1;
                }
                continue;
            }
            if (err == ND_ERR_NOMEM) {
                fprintf(stderr, "newsdedup dedup: out of memory in the engine\n");
                return -1;
            }
            snprintf(it->errstr, sizeof(it->errstr), "engine refused the article: %s",
                     nd_err_str(err));
        }
        if (err == ND_ERR_NOMEM) {
            fprintf(stderr, "newsdedup dedup: out of memory while parsing\n");
            return -1;
        }
        nd_reject_t rej = {err,          it->errstr[0] ? it->errstr : NULL, origin,
                           -1,           (int64_t)(first_line + i),         it->input,
                           it->input_len};
        cnt->rejects++;
        if ((err = nd_sink_reject(sink, &rej)) != ND_ERR_NO_ERROR) {
            fprintf(stderr, "newsdedup dedup: writing rejects: %s\n", nd_err_str(err));
            return -1;
        }
    }
    if (nd_sink_flush(sink, errstr, sizeof(errstr))) {
        fprintf(stderr, "newsdedup dedup: %s\n", errstr);
        return -1;
    }
    return 0;
}

int nd_cmd_dedup(int argc, char **argv)
{
    nd_cli_conf_t conf;
    char errstr[512];
    int rc = nd_cli_parse(ND_CMD_DEDUP, argc, argv, &conf);
    if (rc)
        return rc > 0 ? 0 : 2;
    if (!conf.in || !conf.out_dir || conf.n_args) {
        fprintf(stderr, "newsdedup dedup: --in and --out-dir are required"
                        " (no other arguments)\nTry 'newsdedup dedup --help'.\n");
        return 2;
    }

    nd_lines_t rd = {0};
    rd.fd = strcmp(conf.in, "-") ? open(conf.in, O_RDONLY) : STDIN_FILENO;
    if (rd.fd < 0) {
        fprintf(stderr, "newsdedup dedup: cannot open %s: %s\n", conf.in, strerror(errno));
        return 1;
    }
    /* Keep no more of a huge line than the parser needs to refuse it. */
    rd.keep_max = conf.parser.max_doc_bytes + 1;
    nd_dedup_t *dd = NULL;
    nd_sink_t *sink = NULL;
    nd_batcher_t *bat = NULL;
    nd_summary_t *sum = NULL;
    nd_batch_item_t *items = NULL;
    size_t *offs = NULL;
    int status = 1;
    nd_dedup_counts_t cnt = {0};

    if (conf.load_snapshot) {
        nd_err_t err;
        dd = nd_dedup_load(&conf.engine, conf.load_snapshot, &err, errstr, sizeof(errstr));
    } else {
        dd = nd_dedup_new(&conf.engine, errstr, sizeof(errstr));
    }
    if (!dd) {
        fprintf(stderr, "newsdedup dedup: %s\n", errstr);
        goto out;
    }
    if (!(sink = nd_sink_jsonl_new(conf.out_dir, errstr, sizeof(errstr))) ||
        !(bat = nd_batcher_new(conf.threads, &conf.parser, dd, errstr, sizeof(errstr)))) {
        fprintf(stderr, "newsdedup dedup: %s\n", errstr);
        goto out;
    }
    items = nd_calloc(ND_DEDUP_BATCH, sizeof(*items));
    offs = nd_calloc(ND_DEDUP_BATCH, sizeof(*offs));
    if (!items || !offs || (conf.summary && !(sum = nd_summary_new()))) {
        fprintf(stderr, "newsdedup dedup: out of memory\n");
        goto out;
    }

    double t0 = nd_now_ms();
    const char *origin = strcmp(conf.in, "-") ? conf.in : "-";
    for (int eof = 0; !eof;) {
        size_t n = 0;
        nd_lines_compact(&rd);
        while (n < ND_DEDUP_BATCH) {
            size_t off, len;
            int rc = nd_lines_next(&rd, &off, &len);
            if (rc < 0) {
                fprintf(stderr, "newsdedup dedup: reading %s: %s\n", conf.in, strerror(errno));
                goto out;
            }
            if (rc == 0) {
                eof = 1;
                break;
            }
            offs[n] = off;
            items[n].input_len = len;
            n++;
        }
        for (size_t i = 0; i < n; i++) {
            items[i].input = rd.buf.p + offs[i];
            /* The line's newline is not part of the input. */
            while (items[i].input_len && (items[i].input[items[i].input_len - 1] == '\n' ||
                                          items[i].input[items[i].input_len - 1] == '\r'))
                items[i].input_len--;
        }
        if (n == 0)
            break;
        nd_err_t err = nd_batcher_run(bat, items, n);
        (void)err; /* per-item errors are handled below, NOMEM included */
        if (nd_dedup_consume(dd, sink, sum, items, n, cnt.lines + 1, origin, &cnt))
            goto out;
        cnt.lines += n;
    }
    double secs = (nd_now_ms() - t0) / 1e3;

    if (conf.save_snapshot &&
        nd_dedup_save(dd, conf.save_snapshot, errstr, sizeof(errstr)) != ND_ERR_NO_ERROR) {
        fprintf(stderr, "newsdedup dedup: saving snapshot: %s\n", errstr);
        goto out;
    }
    nd_dedup_stats_t st;
    nd_dedup_stats(dd, &st);
    if (sum)
        nd_summary_print(sum, conf.summary, stdout);
    fprintf(stderr,
            "newsdedup dedup: %llu lines: %llu articles, %llu clusters, %llu duplicates, "
            "%llu redeliveries, %llu rejects; %.3f s, %.0f articles/s, %.1f MB/s (%s kernel)\n",
            (unsigned long long)cnt.lines, (unsigned long long)(cnt.accepted - st.redeliveries),
            (unsigned long long)st.clusters, (unsigned long long)st.duplicates,
            (unsigned long long)st.redeliveries, (unsigned long long)cnt.rejects, secs,
            secs > 0 ? (double)cnt.lines / secs : 0.0,
            secs > 0 ? (double)rd.bytes / secs / 1e6 : 0.0, nd_dedup_kernel_name(dd));
    status = 0;
out:
    if (rd.fd != STDIN_FILENO)
        close(rd.fd);
    nd_buf_free(&rd.buf);
    nd_free(items);
    nd_free(offs);
    nd_summary_destroy(sum);
    nd_batcher_destroy(bat);
    nd_sink_destroy(sink);
    nd_dedup_destroy(dd);
    return status;
}
