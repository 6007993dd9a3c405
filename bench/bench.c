/*
 * bench.c - nd-bench: the engine from ninjs lines to decisions, in one
 * process and one thread, measured against a truth file.
 *
 *   nd-bench --feed bench/demo/feed.jsonl --truth bench/demo/truth.tsv --repeat 5
 *
 * The whole feed is read into memory first; each pass then runs
 * nd_parser_parse -> nd_dedup_sign -> nd_dedup_add over every line with a
 * fresh parser and engine, so passes are independent and the timing covers
 * exactly the engine path. Timed passes take the lines in batches, as
 * `newsdedup dedup` does (parse a batch, sign it, then add its articles in
 * order). Reported in one run:
 *  - throughput (articles/s and input MB/s on one core), best and median of
 *    --repeat passes; the sum of each 1024-line segment's least time over
 *    those passes (less disturbed by bursts of load on a shared machine);
 *    the second half of the feed alone (a fuller index); and a split by
 *    stage from up to three extra passes that read the clock around each
 *    stage of each article (least time of each stage);
 *  - how much of its core the run had: a register-only loop (coreprobe.h)
 *    timed before each segment of the timed passes, outside their clocks,
 *    as a share of its best rate in the run, and how much slower the
 *    segments after high and after low shares ran than their least time;
 *  - peak RSS and index bytes per indexed article (nd_dedup_stats);
 *  - pairwise precision, recall, F1 and the Adjusted Rand Index against the
 *    truth (uri -> story);
 *  - the same for a naive baseline in the same run: exact duplicates only,
 *    by XXH3 of the normalised text, and the throughput ratio.
 * For comparing builds on a noisy machine: --segments and --stage-segments
 * write each timed pass's per-segment times (bench/segmin.sh takes their
 * minima), and --add-only N times the add stage alone over articles parsed
 * and signed once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <xxhash.h>

#include "coreprobe.h"
#include "metrics.h"
#include "nd_common.h"
#include "nd_dedup.h"
#include "nd_ingest.h"

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nd-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* xcalloc: nd_calloc that exits with a message when memory runs out. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = nd_calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory");
    return p;
}

/* now_s: monotonic clock in seconds. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* read_file: the whole file, NUL-terminated, in an nd_malloc'd block (exits on error). */
static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    nd_buf_t b = {0};
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (nd_buf_append(&b, chunk, n) != ND_ERR_NO_ERROR)
            die("out of memory");
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    if (!b.p && nd_buf_append(&b, "", 0) != ND_ERR_NO_ERROR)
        die("out of memory");
    *len_out = b.len;
    return b.p;
}

/* ------------------------------------------------------------------ */
/* u64map: open addressing, uint64 key -> uint64 value; key 0 is stored  */
/* as 1 (a 64-bit hash is 0 or 1 with negligible probability).         */

typedef struct u64map_s {
    uint64_t *keys, *vals;
    size_t cap, n;
} u64map_t;

static uint64_t fix_key(uint64_t k)
{
    return k ? k : 1;
}

/* u64map_init: an empty map sized for about expect keys. */
static void u64map_init(u64map_t *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2)
        cap *= 2;
    m->cap = cap;
    m->n = 0;
    m->keys = xcalloc(cap, sizeof(uint64_t));
    m->vals = xcalloc(cap, sizeof(uint64_t));
}

static void u64map_free(u64map_t *m)
{
    nd_free(m->keys);
    nd_free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* u64map_slot: the slot of key k (where it is, or where it would go). */
static size_t u64map_slot(const u64map_t *m, uint64_t k)
{
    size_t i = (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 7) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void u64map_put(u64map_t *m, uint64_t k, uint64_t v);

static void u64map_grow(u64map_t *m)
{
    u64map_t nm;
    u64map_init(&nm, m->cap);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            u64map_put(&nm, m->keys[i], m->vals[i]);
    u64map_free(m);
    *m = nm;
}

/* u64map_put: set k -> v, growing the table at half load. */
static void u64map_put(u64map_t *m, uint64_t k, uint64_t v)
{
    k = fix_key(k);
    if ((m->n + 1) * 2 > m->cap)
        u64map_grow(m);
    size_t i = u64map_slot(m, k);
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->n++;
    }
    m->vals[i] = v;
}

/* u64map_get: @return 1 and *v if k is present, else 0. */
static int u64map_get(const u64map_t *m, uint64_t k, uint64_t *v)
{
    k = fix_key(k);
    size_t i = u64map_slot(m, k);
    if (!m->keys[i])
        return 0;
    *v = m->vals[i];
    return 1;
}

/* ------------------------------------------------------------------ */

typedef struct feed_s {
    char *buf;
    size_t bytes;
    const char **line;
    size_t *len;
    size_t n;
} feed_t;

/* feed_load: read the feed and index its lines (without their '\n'); a
 * final line without a newline counts, an empty tail does not. */
static void feed_load(const char *path, feed_t *f)
{
    f->buf = read_file(path, &f->bytes);
    size_t cap = 1024;
    f->line = xcalloc(cap, sizeof(char *));
    f->len = xcalloc(cap, sizeof(size_t));
    const char *p = f->buf, *end = f->buf + f->bytes;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (f->n == cap) {
            cap *= 2;
            f->line = nd_realloc(f->line, cap * sizeof(char *));
            f->len = nd_realloc(f->len, cap * sizeof(size_t));
            if (!f->line || !f->len)
                die("out of memory");
        }
        f->line[f->n] = p;
        f->len[f->n++] = (size_t)(le - p);
        p = nl ? nl + 1 : end;
    }
}

/* feed_free: what feed_load() allocated. */
static void feed_free(feed_t *f)
{
    nd_free(f->buf);
    nd_free(f->line);
    nd_free(f->len);
}

/* truth_load: uri hash -> story label (XXH3 of the story id). */
static size_t truth_load(const char *path, u64map_t *m, size_t *n_stories)
{
    size_t len;
    char *buf = read_file(path, &len);
    u64map_init(m, 1024);
    u64map_t stories;
    u64map_init(&stories, 256);
    size_t n = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *tab = memchr(p, '\t', (size_t)(le - p));
        if (tab) {
            uint64_t story = XXH3_64bits(tab + 1, (size_t)(le - tab - 1));
            u64map_put(m, XXH3_64bits(p, (size_t)(tab - p)), story);
            u64map_put(&stories, story, 1);
            n++;
        } else if (le > p) {
            die("%s: a line without a tab", path);
        }
        p = nl ? nl + 1 : end;
    }
    *n_stories = stories.n;
    u64map_free(&stories);
    nd_free(buf);
    return n;
}

/* What one pass decided, line by line. */
typedef enum { OUT_REJECT = 0, OUT_ACCEPT, OUT_REPEAT } outcome_t;

/* Lines per segment of a timed pass (a multiple of ND_BENCH_BATCH). */
#define ND_SEG_LINES 1024

typedef struct pass_s {
    double seconds;
    double *seg;         /* timed pass: seconds of each ND_SEG_LINES lines (caller's array) */
    double *seg_stage;   /* timed pass: per segment, seconds of parse, sign, add (3 each) */
    double *probe;       /* timed pass: per segment, nd_coreprobe_rate() just before it */
    double seconds_late; /* timed pass: lines n/2.. (the index at its window size) */
    double t_parse, t_sign, t_add; /* split pass: per article; timed pass: per group */
    size_t accepted, rejected, repeats, clusters;
    size_t rejects_by[ND_ERR__END];
    nd_dedup_stats_t st;
    const char *kernel;
} pass_t;

typedef struct run_s {
    const feed_t *feed;
    nd_dedup_conf_t conf;
    uint8_t *outcome;   /* per line */
    uint64_t *cluster;  /* per line: predicted label when accepted */
    uint64_t *uri_hash; /* per line: XXH3 of the uri when parsed */
} run_t;

/* decide: add article i (parsed into *art, signed into *sig) and record its
 * outcome. */
static void decide(run_t *run, nd_dedup_t *dd, size_t i, const nd_article_t *art,
                   const nd_sig_t *sig, pass_t *out)
{
    nd_decision_t d;
    nd_item_t it = {art->uri,        art->uri_len,       art->source,
                    art->source_len, art->event_time_ms, art->body_len};
    nd_err_t err = nd_dedup_add(dd, &it, sig, &d);
    if (err != ND_ERR_NO_ERROR)
        die("nd_dedup_add: %s", nd_err_str(err));
    run->uri_hash[i] = XXH3_64bits(art->uri, art->uri_len);
    if (d.verdict == ND_VERDICT_REDELIVERY) {
        out->repeats++;
        run->outcome[i] = OUT_REPEAT;
    } else {
        out->accepted++;
        run->outcome[i] = OUT_ACCEPT;
        run->cluster[i] = d.cluster.id;
    }
}

/* Lines parsed and signed before any of them is added, in timed passes. */
#ifndef ND_BENCH_BATCH
#define ND_BENCH_BATCH 16
#endif

/*
 * engine_pass: one pass of the engine over the feed. Timed passes drive it
 * as `newsdedup dedup` does: a batch of ND_BENCH_BATCH lines is parsed, then
 * signed, then its articles are added in order. With split, the clock is read
 * around each stage of each article instead, one article at a time.
 */
static void engine_pass(run_t *run, int split, pass_t *out)
{
    enum { B = ND_BENCH_BATCH };
    char errstr[512];
    double *seg = out->seg, *seg_stage = out->seg_stage, *probe = out->probe;
    memset(out, 0, sizeof(*out));
    out->seg = seg;
    out->seg_stage = seg_stage;
    out->probe = probe;
    nd_parser_t *p[B];
    for (int k = 0; k < B; k++)
        if (!(p[k] = nd_parser_new(NULL, errstr, sizeof(errstr))))
            die("nd_parser_new: %s", errstr);
    nd_dedup_t *dd = nd_dedup_new(&run->conf, errstr, sizeof(errstr));
    if (!dd)
        die("nd_dedup_new: %s", errstr);
    out->kernel = nd_dedup_kernel_name(dd);
    const feed_t *f = run->feed;
    nd_article_t art[B];
    nd_sig_t sig[B];
    int ok[B];
    if (probe)
        probe[0] = nd_coreprobe_rate();
    /* paused: seconds spent in the probes, left out of the pass's times */
    double t0 = now_s(), t_late = t0, t_seg = t0, ta, tb, tc, td, paused = 0, paused_late = 0;
    for (size_t i0 = 0; i0 < f->n; i0 += B) {
        size_t nb = f->n - i0 < B ? f->n - i0 : B;
        if (seg && i0 % ND_SEG_LINES == 0 && i0 > 0) {
            double t = now_s();
            seg[i0 / ND_SEG_LINES - 1] = t - t_seg;
            if (probe) {
                probe[i0 / ND_SEG_LINES] = nd_coreprobe_rate();
                double t2 = now_s();
                paused += t2 - t;
                t = t2;
            }
            t_seg = t;
        }
        if (i0 <= f->n / 2 && f->n / 2 < i0 + nb) {
            t_late = now_s();
            paused_late = paused;
        }
        double g0 = split ? 0 : now_s(), g1, g2;
        for (size_t j = 0; j < nb; j++) {
            size_t i = i0 + j;
            ta = split ? now_s() : 0;
            nd_err_t err =
                nd_parser_parse(p[j], f->line[i], f->len[i], &art[j], errstr, sizeof(errstr));
            ok[j] = err == ND_ERR_NO_ERROR;
            if (!ok[j]) {
                if (err == ND_ERR_NOMEM)
                    die("parser: out of memory");
                out->rejected++;
                out->rejects_by[err < ND_ERR__END ? err : 0]++;
                run->outcome[i] = OUT_REJECT;
                if (split)
                    out->t_parse += now_s() - ta;
                continue;
            }
            if (!split)
                continue; /* signed below, after the whole batch is parsed */
            tb = now_s();
            nd_dedup_sign(dd, art[j].text, art[j].text_len, &sig[j]);
            tc = now_s();
            decide(run, dd, i, &art[j], &sig[j], out);
            td = now_s();
            out->t_parse += tb - ta;
            out->t_sign += tc - tb;
            out->t_add += td - tc;
        }
        if (split)
            continue;
        g1 = now_s();
        for (size_t j = 0; j < nb; j++)
            if (ok[j])
                nd_dedup_sign(dd, art[j].text, art[j].text_len, &sig[j]);
        g2 = now_s();
        for (size_t j = 0; j < nb; j++)
            if (ok[j])
                decide(run, dd, i0 + j, &art[j], &sig[j], out);
        double g3 = now_s();
        out->t_parse += g1 - g0;
        out->t_sign += g2 - g1;
        out->t_add += g3 - g2;
        if (seg_stage) {
            double *st = seg_stage + 3 * (i0 / ND_SEG_LINES);
            st[0] += g1 - g0;
            st[1] += g2 - g1;
            st[2] += g3 - g2;
        }
    }
    out->seconds = now_s() - t0 - paused;
    out->seconds_late = now_s() - t_late - (paused - paused_late);
    if (seg && f->n)
        seg[(f->n - 1) / ND_SEG_LINES] = now_s() - t_seg;
    nd_dedup_stats(dd, &out->st);
    out->clusters = (size_t)out->st.clusters;
    nd_dedup_destroy(dd);
    for (int k = 0; k < B; k++)
        nd_parser_destroy(p[k]);
}

/*
 * add_only: the add stage alone, for comparing builds that change only it.
 * Every line is parsed and signed once; then `passes` passes each add the
 * whole feed to a fresh engine as the timed passes do (groups of
 * ND_BENCH_BATCH), timing only that.
 * A pass takes a tenth of a full one, so many fit in a run and the sum of
 * per-segment minima settles. Prints that figure, the best pass and a digest
 * of every decision (equal digests: the builds decided the same).
 */
static void add_only(const feed_t *f, const nd_dedup_conf_t *conf, int passes)
{
    enum { B = ND_BENCH_BATCH };
    char errstr[512];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    nd_dedup_t *signer = p ? nd_dedup_new(conf, errstr, sizeof(errstr)) : NULL;
    if (!p || !signer)
        die("add-only: %s", errstr);
    nd_item_t *it = xcalloc(f->n + 1, sizeof(nd_item_t));
    nd_sig_t *sig = xcalloc(f->n + 1, sizeof(nd_sig_t));
    uint8_t *ok = xcalloc(f->n + 1, 1);
    for (size_t i = 0; i < f->n; i++) {
        nd_article_t art;
        if (nd_parser_parse(p, f->line[i], f->len[i], &art, errstr, sizeof(errstr)))
            continue;
        nd_dedup_sign(signer, art.text, art.text_len, &sig[i]);
        char *uri = xcalloc(art.uri_len + art.source_len + 2, 1);
        memcpy(uri, art.uri, art.uri_len);
        if (art.source)
            memcpy(uri + art.uri_len + 1, art.source, art.source_len);
        it[i] = (nd_item_t){
            uri,         art.uri_len, uri + art.uri_len + 1, art.source_len, art.event_time_ms,
            art.body_len};
        ok[i] = 1;
    }
    nd_dedup_destroy(signer);
    nd_parser_destroy(p);

    size_t n_seg = (f->n + ND_SEG_LINES - 1) / ND_SEG_LINES;
    double *seg_min = xcalloc(n_seg + 1, sizeof(double)), best = 0;
    uint64_t digest = 0;
    nd_dedup_stats_t st = {0};
    for (int r = 0; r < passes; r++) {
        nd_dedup_t *dd = nd_dedup_new(conf, errstr, sizeof(errstr));
        if (!dd)
            die("nd_dedup_new: %s", errstr);
        uint64_t dg = 0;
        double t0 = now_s(), t_seg = t0;
        for (size_t i0 = 0; i0 < f->n; i0 += B) {
            size_t nb = f->n - i0 < B ? f->n - i0 : B;
            if (i0 % ND_SEG_LINES == 0 && i0 > 0) {
                double t = now_s(), d = t - t_seg;
                size_t g = i0 / ND_SEG_LINES - 1;
                seg_min[g] = r == 0 || d < seg_min[g] ? d : seg_min[g];
                t_seg = t;
            }
            for (size_t j = 0; j < nb; j++) {
                size_t i = i0 + j;
                if (!ok[i])
                    continue;
                nd_decision_t d;
                if (nd_dedup_add(dd, &it[i], &sig[i], &d))
                    die("nd_dedup_add failed");
                dg = (dg ^ (d.verdict * 0x9E3779B97F4A7C15ULL) ^ d.cluster.id) * 0x100000001B3ULL;
            }
        }
        double t = now_s(), d = t - t_seg;
        size_t g = (f->n - 1) / ND_SEG_LINES;
        seg_min[g] = r == 0 || d < seg_min[g] ? d : seg_min[g];
        best = r == 0 || t - t0 < best ? t - t0 : best;
        if (r > 0 && dg != digest)
            die("add-only: pass %d decided differently", r);
        digest = dg;
        nd_dedup_stats(dd, &st);
        nd_dedup_destroy(dd);
    }
    double sum = 0;
    for (size_t g = 0; g < n_seg; g++)
        sum += seg_min[g];
    printf("add-only: %zu lines, %d passes: segment minima %.3f us/line, best pass %.3f us/line; "
           "decisions %016llx (duplicates %llu, clusters %llu)\n",
           f->n, passes, 1e6 * sum / (double)f->n, 1e6 * best / (double)f->n,
           (unsigned long long)digest, (unsigned long long)st.duplicates,
           (unsigned long long)st.clusters);
    for (size_t i = 0; i < f->n; i++)
        nd_free((void *)it[i].uri);
    nd_free(seg_min);
    nd_free(ok);
    nd_free(sig);
    nd_free(it);
}

/* baseline_pass: exact duplicates only. Same parse and normalisation, then
 * XXH3 of the normalised text looked up in a hash table; a uri seen before
 * is a re-delivery. */
static void baseline_pass(run_t *run, pass_t *out)
{
    char errstr[512];
    memset(out, 0, sizeof(*out));
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    if (!p)
        die("nd_parser_new: %s", errstr);
    const feed_t *f = run->feed;
    u64map_t texts, uris;
    u64map_init(&texts, 1024);
    u64map_init(&uris, 1024);
    nd_article_t art;
    double t0 = now_s();
    for (size_t i = 0; i < f->n; i++) {
        nd_err_t err = nd_parser_parse(p, f->line[i], f->len[i], &art, errstr, sizeof(errstr));
        if (err != ND_ERR_NO_ERROR) {
            out->rejected++;
            run->outcome[i] = OUT_REJECT;
            continue;
        }
        uint64_t uh = XXH3_64bits(art.uri, art.uri_len), v;
        run->uri_hash[i] = uh;
        if (u64map_get(&uris, uh, &v)) {
            out->repeats++;
            run->outcome[i] = OUT_REPEAT;
            continue;
        }
        u64map_put(&uris, uh, 1);
        uint64_t th = XXH3_64bits(art.text, art.text_len);
        uint64_t cl;
        if (!u64map_get(&texts, th, &cl)) {
            cl = uh;
            u64map_put(&texts, th, cl);
            out->clusters++;
        }
        out->accepted++;
        run->outcome[i] = OUT_ACCEPT;
        run->cluster[i] = cl;
    }
    out->seconds = now_s() - t0;
    out->st.index_bytes = (uint64_t)(texts.cap + uris.cap) * 16;
    out->st.indexed = texts.n;
    u64map_free(&texts);
    u64map_free(&uris);
    nd_parser_destroy(p);
}

typedef struct quality_s {
    nd_pair_metrics_t m;
    size_t missing;    /* truth uris never accepted */
    size_t unexpected; /* accepted uris not in the truth */
} quality_t;

/* score: the accepted articles of the last pass against the truth. */
static void score(const run_t *run, const u64map_t *truth, size_t n_truth, quality_t *q)
{
    const feed_t *f = run->feed;
    uint64_t *tl = xcalloc(f->n, sizeof(uint64_t));
    uint64_t *pl = xcalloc(f->n, sizeof(uint64_t));
    size_t n = 0;
    memset(q, 0, sizeof(*q));
    for (size_t i = 0; i < f->n; i++) {
        if (run->outcome[i] != OUT_ACCEPT)
            continue;
        uint64_t story;
        if (!u64map_get(truth, run->uri_hash[i], &story)) {
            q->unexpected++;
            continue;
        }
        tl[n] = story;
        pl[n] = run->cluster[i];
        n++;
    }
    q->missing = n_truth > n ? n_truth - n : 0;
    if (nd_pair_metrics(tl, pl, n, &q->m) != 0)
        die("out of memory");
    nd_free(tl);
    nd_free(pl);
}

/* dump_decisions: uri, story label and cluster of each accepted article of
 * the last pass, for error analysis (TSV; labels as 16 hex digits). */
static void dump_decisions(const run_t *run, const u64map_t *truth, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("%s: %s", path, strerror(errno));
    const feed_t *fd = run->feed;
    for (size_t i = 0; i < fd->n; i++) {
        if (run->outcome[i] != OUT_ACCEPT)
            continue;
        uint64_t story = 0;
        u64map_get(truth, run->uri_hash[i], &story);
        fprintf(f, "%zu\t%016llx\t%016llx\n", i + 1, (unsigned long long)story,
                (unsigned long long)run->cluster[i]);
    }
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* What the core probes of the timed passes say (see coreprobe.h). */
typedef struct core_s {
    size_t n;                     /* segments with a probe */
    double best_rate;             /* the fastest probe, M iterations/s */
    double median, lowest;        /* probe rate / best_rate */
    double high_ratio, low_ratio; /* segment time / its least time: median */
    size_t n_high, n_low;         /* after a share >= 0.9, < 0.8 */
} core_t;

/* The median of v[0..n) (sorted in place); 0 when n is 0. */
static double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * core_share: from passes x n_seg segment times seg[] and the probe rates
 * before them probe[] (row per pass), and each segment's least time seg_min[],
 * the shares of the core the probes saw and how much slower the segments
 * after high and after low shares ran than their least time.
 */
static void core_share(const double *seg, const double *probe, const double *seg_min, size_t passes,
                       size_t n_seg, core_t *out)
{
    size_t n = passes * n_seg;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out->best_rate = probe[i] > out->best_rate ? probe[i] : out->best_rate;
    if (out->best_rate <= 0)
        return;
    double *share = xcalloc(n, sizeof(double)), *high = xcalloc(n, sizeof(double));
    double *low = xcalloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double s = probe[i] / out->best_rate, m = seg_min[i % n_seg];
        share[out->n++] = s;
        if (m > 0 && s >= 0.9)
            high[out->n_high++] = seg[i] / m;
        else if (m > 0 && s < 0.8)
            low[out->n_low++] = seg[i] / m;
    }
    out->median = median_of(share, out->n);
    out->lowest = share[0]; /* sorted by median_of */
    out->high_ratio = median_of(high, out->n_high);
    out->low_ratio = median_of(low, out->n_low);
    nd_free(share);
    nd_free(high);
    nd_free(low);
}

static void usage(void)
{
    fputs("usage: nd-bench --feed FILE --truth FILE [options]\n"
          "  --feed FILE        ninjs JSON Lines (as nd-corpus writes)\n"
          "  --truth FILE       uri<TAB>story-id lines\n"
          "  --repeat N         timed passes of each contender (default 5); best and median\n"
          "  --kernel NAME      signature kernel: auto, scalar, avx2, neon (default auto)\n"
          "  --threshold X      verified similarity to join a cluster (engine default)\n"
          "  --shingle K        tokens per shingle (engine default)\n"
          "  --bands B          LSH bands (engine default)\n"
          "  --rows R           slots per band (engine default)\n"
          "  --window-hours H   event-time window (engine default)\n"
          "  --max-articles N   cap on indexed articles (engine default)\n"
          "  --no-baseline      skip the exact-hash baseline\n"
          "  --dump FILE        write line<TAB>story<TAB>cluster for each accepted article\n"
          "  --segments FILE    append, per timed pass, the seconds of each 1024-line segment\n"
          "                     (one line a pass: for minima over many runs, see\n"
          "                     bench/segmin.sh)\n"
          "  --stage-segments FILE  append, per timed pass, three lines: the seconds of\n"
          "                     parse+normalise, sign and add in each 1024-line segment\n"
          "  --add-only N       only N passes of the add stage over articles parsed and\n"
          "                     signed once: its segment minima and a digest of the\n"
          "                     decisions (for comparing builds that change only add)\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *feed_path = NULL, *truth_path = NULL, *dump_path = NULL, *seg_path = NULL;
    const char *stage_path = NULL;
    int repeat = 5, baseline = 1, add_passes = 0;
    run_t run = {0};
    nd_dedup_conf_init(&run.conf);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v || (usage(), die("%s needs a value", name), 0)))
        if (OPT("--feed"))
            feed_path = v, i++;
        else if (OPT("--truth"))
            truth_path = v, i++;
        else if (OPT("--repeat"))
            repeat = atoi(v), i++;
        else if (OPT("--kernel"))
            run.conf.kernel = v, i++;
        else if (OPT("--threshold"))
            run.conf.threshold = atof(v), i++;
        else if (OPT("--shingle"))
            run.conf.shingle_tokens = (uint32_t)atoi(v), i++;
        else if (OPT("--bands"))
            run.conf.bands = (uint32_t)atoi(v), i++;
        else if (OPT("--rows"))
            run.conf.rows = (uint32_t)atoi(v), i++;
        else if (OPT("--window-hours"))
            run.conf.window_ms = (int64_t)(atof(v) * 3600 * 1000), i++;
        else if (OPT("--max-articles"))
            run.conf.max_articles = (uint32_t)strtoul(v, NULL, 10), i++;
        else if (OPT("--dump"))
            dump_path = v, i++;
        else if (OPT("--segments"))
            seg_path = v, i++;
        else if (OPT("--stage-segments"))
            stage_path = v, i++;
        else if (OPT("--add-only"))
            add_passes = atoi(v), i++;
        else if (strcmp(a, "--no-baseline") == 0)
            baseline = 0;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else {
            usage();
            die("unknown option %s", a);
        }
#undef OPT
    }
    if (!feed_path || !truth_path) {
        usage();
        die("--feed and --truth are required");
    }
    if (repeat < 1)
        repeat = 1;

    feed_t feed = {0};
    feed_load(feed_path, &feed);
    if (add_passes > 0) {
        add_only(&feed, &run.conf, add_passes);
        feed_free(&feed);
        return 0;
    }
    u64map_t truth;
    size_t n_stories;
    size_t n_truth = truth_load(truth_path, &truth, &n_stories);
    run.feed = &feed;
    run.outcome = xcalloc(feed.n, 1);
    run.cluster = xcalloc(feed.n, sizeof(uint64_t));
    run.uri_hash = xcalloc(feed.n, sizeof(uint64_t));
    double mb = (double)feed.bytes / 1e6;

    printf("nd-bench: feed %s: %zu lines, %.2f MB (%.0f B/line); truth %zu uris, %zu stories\n",
           feed_path, feed.n, mb, feed.n ? (double)feed.bytes / (double)feed.n : 0.0, n_truth,
           n_stories);

    /* Engine: timed passes, then split passes (whose decisions are scored). */
    double *secs = xcalloc((size_t)repeat, sizeof(double));
    double *secs_late = xcalloc((size_t)repeat, sizeof(double));
    /* The least time of each segment over the timed passes, summed: a figure
     * that bursts of load on a shared machine disturb much less than a
     * whole pass (every pass does the same work in each segment). */
    size_t n_seg = (feed.n + ND_SEG_LINES - 1) / ND_SEG_LINES;
    double *seg = xcalloc(n_seg + 1, sizeof(double)), *seg_min = xcalloc(n_seg + 1, sizeof(double));
    FILE *seg_out = NULL;
    if (seg_path && !(seg_out = fopen(seg_path, "a")))
        die("%s: %s", seg_path, strerror(errno));
    double *seg_stage = xcalloc(3 * n_seg + 3, sizeof(double));
    FILE *stage_out = NULL;
    if (stage_path && !(stage_out = fopen(stage_path, "a")))
        die("%s: %s", stage_path, strerror(errno));
    /* Every timed pass's segment times and core probes, for the core line. */
    double *seg_all = xcalloc((size_t)repeat * n_seg + 1, sizeof(double));
    double *probe_all = xcalloc((size_t)repeat * n_seg + 1, sizeof(double));
    pass_t ep, sp;
    double g_parse = 0, g_sign = 0, g_add = 0; /* least over the timed passes */
    for (int r = 0; r < repeat; r++) {
        ep.seg = seg;
        ep.seg_stage = seg_stage;
        ep.probe = probe_all + (size_t)r * n_seg;
        memset(seg_stage, 0, (3 * n_seg + 3) * sizeof(double));
        engine_pass(&run, 0, &ep);
        if (r == 0 || ep.t_parse < g_parse)
            g_parse = ep.t_parse;
        if (r == 0 || ep.t_sign < g_sign)
            g_sign = ep.t_sign;
        if (r == 0 || ep.t_add < g_add)
            g_add = ep.t_add;
        secs[r] = ep.seconds;
        secs_late[r] = ep.seconds_late;
        for (size_t g = 0; g < n_seg; g++)
            seg_min[g] = r == 0 || seg[g] < seg_min[g] ? seg[g] : seg_min[g];
        memcpy(seg_all + (size_t)r * n_seg, seg, n_seg * sizeof(double));
        if (seg_out) {
            for (size_t g = 0; g < n_seg; g++)
                fprintf(seg_out, "%s%.9f", g ? " " : "", seg[g]);
            fputc('\n', seg_out);
        }
        for (int k = 0; stage_out && k < 3; k++) {
            for (size_t g = 0; g < n_seg; g++)
                fprintf(stage_out, "%s%.9f", g ? " " : "", seg_stage[3 * g + k]);
            fputc('\n', stage_out);
        }
    }
    if (stage_out && fclose(stage_out) != 0)
        die("%s: %s", stage_path, strerror(errno));
    nd_free(seg_stage);
    if (seg_out && fclose(seg_out) != 0)
        die("%s: %s", seg_path, strerror(errno));
    double e_segs = 0;
    for (size_t g = 0; g < n_seg; g++)
        e_segs += seg_min[g];
    core_t core;
    core_share(seg_all, probe_all, seg_min, (size_t)repeat, n_seg, &core);
    nd_free(seg_all);
    nd_free(probe_all);
    nd_free(seg);
    nd_free(seg_min);
    /* Split passes: the least time of each stage over a few passes. The
     * first must decide exactly as the timed (pipelined) passes did. */
    uint64_t *timed_cluster = xcalloc(feed.n, sizeof(uint64_t));
    uint8_t *timed_outcome = xcalloc(feed.n, 1);
    memcpy(timed_cluster, run.cluster, feed.n * sizeof(uint64_t));
    memcpy(timed_outcome, run.outcome, feed.n);
    int n_split = repeat < 3 ? repeat : 3;
    for (int r = 0; r < n_split; r++) {
        pass_t tmp = {0}; /* split passes: no segments, stage segments or probes */
        if (r == 0)
            memset(&sp, 0, sizeof(sp));
        engine_pass(&run, 1, r == 0 ? &sp : &tmp);
        if (r == 0 && (memcmp(timed_cluster, run.cluster, feed.n * sizeof(uint64_t)) ||
                       memcmp(timed_outcome, run.outcome, feed.n)))
            die("the pipelined and the one-at-a-time passes decided differently");
        if (r > 0) {
            sp.t_parse = tmp.t_parse < sp.t_parse ? tmp.t_parse : sp.t_parse;
            sp.t_sign = tmp.t_sign < sp.t_sign ? tmp.t_sign : sp.t_sign;
            sp.t_add = tmp.t_add < sp.t_add ? tmp.t_add : sp.t_add;
            sp.seconds = tmp.seconds < sp.seconds ? tmp.seconds : sp.seconds;
        }
    }
    free(timed_cluster);
    free(timed_outcome);
    qsort(secs, (size_t)repeat, sizeof(double), cmp_double);
    double e_best = secs[0], e_med = secs[repeat / 2];
    qsort(secs_late, (size_t)repeat, sizeof(double), cmp_double);
    double l_best = secs_late[0], l_med = secs_late[repeat / 2];
    double n_late = (double)(feed.n - feed.n / 2);
    quality_t eq;
    score(&run, &truth, n_truth, &eq);
    if (dump_path)
        dump_decisions(&run, &truth, dump_path);
    printf("engine: kernel %s, shingle %u, bands %u x rows %u, threshold %.2f, window %.0f h; "
           "%d timed passes + %d split passes\n",
           ep.kernel, run.conf.shingle_tokens, run.conf.bands, run.conf.rows, run.conf.threshold,
           (double)run.conf.window_ms / 3.6e6, repeat, n_split);

    quality_t bq = {0};
    double b_best = 0, b_med = 0;
    pass_t bp = {0};
    if (baseline) {
        for (int r = 0; r < repeat; r++) {
            baseline_pass(&run, &bp);
            secs[r] = bp.seconds;
        }
        qsort(secs, (size_t)repeat, sizeof(double), cmp_double);
        b_best = secs[0];
        b_med = secs[repeat / 2];
        score(&run, &truth, n_truth, &bq);
    }

    double n = (double)feed.n;
    printf("\n%-24s %12s %12s %8s %11s %9s %8s %8s %8s %9s\n", "", "articles/s", "(median)", "MB/s",
           "us/article", "precision", "recall", "F1", "ARI", "clusters");
    printf("%-24s %12.0f %12.0f %8.1f %11.2f %9.4f %8.4f %8.4f %8.4f %9zu\n", "engine (near-dup)",
           n / e_best, n / e_med, mb / e_best, e_best / n * 1e6, eq.m.precision, eq.m.recall,
           eq.m.f1, eq.m.ari, ep.clusters);
    printf("%-24s %12.0f %12s %8.1f %11.2f   (least time of each %d lines over the passes)\n",
           "  segment minima", n / e_segs, "", mb / e_segs, e_segs / n * 1e6, ND_SEG_LINES);
    printf("%-24s %12.0f %12.0f %8s %11.2f   (lines %zu.. alone: a fuller index)\n",
           "  its second half", n_late / l_best, n_late / l_med, "", l_best / n_late * 1e6,
           feed.n / 2);
    if (core.n) {
        printf("%-24s share of the core: median %.2f, lowest %.2f (a register-only loop timed "
               "before each segment, against its best in this run, %.0f M/s)\n",
               "  core probe", core.median, core.lowest, core.best_rate);
        char hi[32] = "-", lo[32] = "-"; /* "-": no segment followed such a probe */
        if (core.n_high)
            snprintf(hi, sizeof(hi), "%.2fx", core.high_ratio);
        if (core.n_low)
            snprintf(lo, sizeof(lo), "%.2fx", core.low_ratio);
        printf("%-24s segments after a probe of 0.90 or more took %s their least time "
               "(median of %zu), after one under 0.80 %s (of %zu)\n",
               "", hi, core.n_high, lo, core.n_low);
    }
    if (baseline) {
        printf("%-24s %12.0f %12.0f %8.1f %11.2f %9.4f %8.4f %8.4f %8.4f %9zu\n",
               "baseline (exact XXH3)", n / b_best, n / b_med, mb / b_best, b_best / n * 1e6,
               bq.m.precision, bq.m.recall, bq.m.f1, bq.m.ari, bp.clusters);
        printf("%-24s %12.2fx (engine throughput / baseline throughput, best passes)\n", "ratio",
               b_best / e_best);
    }

    double split_total = sp.t_parse + sp.t_sign + sp.t_add;
    if (split_total > 0) {
        size_t parsed = sp.accepted + sp.repeats;
        printf("\nstage split (least of %d passes that read the clock around each stage; "
               "%.2f us/article with clocks):\n",
               n_split, sp.seconds / n * 1e6);
        printf("  parse+normalise %5.1f%%  %7.2f us/line\n", 100 * sp.t_parse / split_total,
               sp.t_parse / n * 1e6);
        printf("  sign            %5.1f%%  %7.2f us/article\n", 100 * sp.t_sign / split_total,
               parsed ? sp.t_sign / (double)parsed * 1e6 : 0.0);
        printf("  cluster (add)   %5.1f%%  %7.2f us/article\n", 100 * sp.t_add / split_total,
               parsed ? sp.t_add / (double)parsed * 1e6 : 0.0);
    }
    double g_total = g_parse + g_sign + g_add;
    if (g_total > 0) {
        printf("\nstage split of the timed passes (clock read per batch of %d; least of %d "
               "passes):\n",
               ND_BENCH_BATCH, repeat);
        printf("  parse+normalise %5.1f%%  %7.2f us/line\n", 100 * g_parse / g_total,
               g_parse / n * 1e6);
        printf("  sign            %5.1f%%  %7.2f us/line\n", 100 * g_sign / g_total,
               g_sign / n * 1e6);
        printf("  cluster (add)   %5.1f%%  %7.2f us/line\n", 100 * g_add / g_total,
               g_add / n * 1e6);
    }

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nmemory: peak RSS %.1f MB (feed held in memory: %.1f MB); index %.0f B per indexed "
           "article (%llu indexed, %.2f MB)\n",
           (double)ru.ru_maxrss / 1024.0, mb,
           ep.st.indexed ? (double)ep.st.index_bytes / (double)ep.st.indexed : 0.0,
           (unsigned long long)ep.st.indexed, (double)ep.st.index_bytes / 1e6);
    printf("engine: accepted %zu, re-deliveries %zu, rejected %zu, duplicates %llu, clusters "
           "%llu, candidates verified %llu, evicted %llu\n",
           ep.accepted, ep.repeats, ep.rejected, (unsigned long long)ep.st.duplicates,
           (unsigned long long)ep.st.clusters, (unsigned long long)ep.st.candidates,
           (unsigned long long)ep.st.evicted);
    if (ep.rejected) {
        printf("rejects:");
        for (int e = 0; e < ND_ERR__END; e++)
            if (sp.rejects_by[e])
                printf(" %s %zu", nd_err_name((nd_err_t)e), sp.rejects_by[e]);
        printf("\n");
    }
    printf("quality: %zu articles scored, %llu true pairs, %llu predicted, %llu both; "
           "truth uris not accepted %zu, accepted uris not in truth %zu\n",
           eq.m.n, (unsigned long long)eq.m.true_pairs, (unsigned long long)eq.m.pred_pairs,
           (unsigned long long)eq.m.tp_pairs, eq.missing, eq.unexpected);

    nd_free(secs);
    nd_free(secs_late);
    nd_free(run.outcome);
    nd_free(run.cluster);
    nd_free(run.uri_hash);
    u64map_free(&truth);
    feed_free(&feed);
    return 0;
}
