/*
 * cmd_dedup.c - `newsdedup dedup`: ninjs JSON Lines in, four JSON Lines
 * files out, in input order.
 */
#include "batch.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ND_DEDUP_BATCH 2048

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
        nd_batch_item_prefetch(dd, items, n, i);
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

    FILE *in = strcmp(conf.in, "-") ? fopen(conf.in, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "newsdedup dedup: cannot open %s: %s\n", conf.in, strerror(errno));
        return 1;
    }
    nd_dedup_t *dd = NULL;
    nd_sink_t *sink = NULL;
    nd_batcher_t *bat = NULL;
    nd_summary_t *sum = NULL;
    nd_batch_item_t *items = NULL;
    nd_buf_t lines = {0};
    size_t *offs = NULL;
    char *line = NULL;
    size_t line_cap = 0;
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
    uint64_t in_bytes = 0;
    const char *origin = strcmp(conf.in, "-") ? conf.in : "-";
    for (int eof = 0; !eof;) {
        size_t n = 0;
        nd_buf_reset(&lines);
        while (n < ND_DEDUP_BATCH) {
            ssize_t len = getline(&line, &line_cap, in);
            if (len < 0) {
                eof = 1;
                break;
            }
            in_bytes += (uint64_t)len;
            /* Keep no more of a huge line than the parser needs to refuse it. */
            size_t keep = (size_t)len;
            if (keep > conf.parser.max_doc_bytes + 1)
                keep = conf.parser.max_doc_bytes + 1;
            offs[n] = lines.len;
            if (nd_buf_append(&lines, line, keep)) {
                fprintf(stderr, "newsdedup dedup: out of memory\n");
                goto out;
            }
            items[n].input_len = keep;
            n++;
        }
        if (ferror(in)) {
            fprintf(stderr, "newsdedup dedup: reading %s: %s\n", conf.in, strerror(errno));
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            items[i].input = lines.p + offs[i];
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
            secs > 0 ? (double)in_bytes / secs / 1e6 : 0.0, nd_dedup_kernel_name(dd));
    status = 0;
out:
    if (in && in != stdin)
        fclose(in);
    free(line);
    nd_buf_free(&lines);
    nd_free(items);
    nd_free(offs);
    nd_summary_destroy(sum);
    nd_batcher_destroy(bat);
    nd_sink_destroy(sink);
    nd_dedup_destroy(dd);
    return status;
}
