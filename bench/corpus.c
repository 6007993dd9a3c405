/*
 * corpus.c - nd-corpus: base stories in, a syndicated ninjs wire feed with
 * known truth out.
 *
 *   nd-corpus --stories bench/demo/stories --seed 7 --out feed.jsonl --truth truth.tsv
 *   nd-corpus --reuters ../shared/data/reuters21578 --limit 3000 --out f.jsonl --truth t.tsv
 *
 * Each base story is published once by an agency (the original), then
 * republished by outlets the way syndication really looks: a new headline,
 * trimmed to the first half or two thirds, a lead or a footer added, a few
 * words edited, typography changed, HTML or plain bodies, ninjs 1.x, 2.x or
 * 3.x, over the following hours. A few documents are delivered again under
 * the same uri (re-deliveries, corrected versions), and --bad N adds lines
 * that must be rejected. The truth file maps every distinct uri to the id of
 * its base story; bad lines are not in it.
 *
 * Everything depends only on the inputs and --seed: the same command writes
 * the same bytes.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "nd_common.h"

#define HOUR_MS   (3600LL * 1000)
#define MIN_MS    (60LL * 1000)
#define TIME_NONE INT64_MIN

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** seeded through splitmix64.             */

typedef struct rng_s {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* rng_below: uniform in [0, n); n == 0 gives 0. */
static uint32_t rng_below(rng_t *r, uint32_t n)
{
    if (n == 0)
        return 0;
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* rng_range: uniform in [lo, hi]. */
static int64_t rng_range(rng_t *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double rng_unit(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_chance(rng_t *r, double p)
{
    return rng_unit(r) < p;
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nd-corpus: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* x*: the allocation seam, exiting with a message when memory runs out. */
static void *xmalloc(size_t n)
{
    void *p = nd_malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = nd_realloc(p, n ? n : 1);
    if (!q)
        die("out of memory");
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = nd_strndup(s, n);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static void buf_check(nd_err_t err)
{
    if (err != ND_ERR_NO_ERROR)
        die("out of memory");
}

#define BUF_ADD(b, s, n) buf_check(nd_buf_append((b), (s), (n)))
/* buf_str: append a NUL-terminated string (evaluated once, unlike a macro). */
static void buf_str(nd_buf_t *b, const char *s)
{
    buf_check(nd_buf_append(b, s, strlen(s)));
}
#define BUF_STR(b, s)      buf_str((b), (s))
#define BUF_PRINTF(b, ...) buf_check(nd_buf_printf((b), __VA_ARGS__))

/* buf_take: the buffer's content as a fresh NUL-terminated string; b is emptied. */
static char *buf_take(nd_buf_t *b)
{
    char *s = xstrndup(b->p ? b->p : "", b->len);
    nd_buf_reset(b);
    return s;
}

/* read_file: the whole file, NUL-terminated, in an nd_malloc'd block (exits on error). */
static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    nd_buf_t b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        BUF_ADD(&b, chunk, n);
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    if (!b.p)
        BUF_ADD(&b, "", 0);
    *len_out = b.len;
    return b.p;
}

/* collapse_ws: copy s[0..len) with runs of ASCII white space made one
 * space and the ends trimmed. */
static char *collapse_ws(const char *s, size_t len)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = 1;
            continue;
        }
        if (space && o > 0)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Base stories.                                                       */

typedef struct story_s {
    char *id;       /* the story id written to the truth file */
    char *headline; /* as the agency wrote it */
    char *dateline; /* e.g. "MOSCOW"; may be "" */
    char **paras;
    size_t n_paras;
    int64_t time_ms; /* the original's publication time */
} story_t;

typedef struct stories_s {
    story_t *v;
    size_t n, cap;
} stories_t;

/* stories_push: a zeroed story appended to ss. */
static story_t *stories_push(stories_t *ss)
{
    if (ss->n == ss->cap) {
        ss->cap = ss->cap ? ss->cap * 2 : 64;
        ss->v = xrealloc(ss->v, ss->cap * sizeof(*ss->v));
    }
    story_t *st = &ss->v[ss->n++];
    memset(st, 0, sizeof(*st));
    return st;
}

/* story_add_para: append paragraph p; the story takes ownership of it. */
static void story_add_para(story_t *st, char *p)
{
    st->paras = xrealloc(st->paras, (st->n_paras + 1) * sizeof(char *));
    st->paras[st->n_paras++] = p;
}

/* story_bytes: the story's text size, one separator per paragraph. */
static size_t story_bytes(const story_t *st)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n_paras; i++)
        n += strlen(st->paras[i]) + 1;
    return n;
}

/* story_free: free what the story owns (not st itself). */
static void story_free(story_t *st)
{
    for (size_t i = 0; i < st->n_paras; i++)
        nd_free(st->paras[i]);
    nd_free(st->paras);
    nd_free(st->id);
    nd_free(st->headline);
    nd_free(st->dateline);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* load_story_dir: every *.txt of dir, in name order. A story file is its
 * headline on the first line, then one paragraph per non-empty line. The
 * story id is the file name without ".txt". */
static void load_story_dir(const char *dir, stories_t *ss)
{
    DIR *d = opendir(dir);
    if (!d)
        die("%s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0 && de->d_name[0] != '.') {
            names = xrealloc(names, (n + 1) * sizeof(char *));
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        story_t *st = stories_push(ss);
        st->id = xstrndup(names[i], strlen(names[i]) - 4);
        st->dateline = xstrdup("");
        st->time_ms = TIME_NONE;
        const char *p = text, *end = text + len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            char *line = collapse_ws(p, (size_t)(le - p));
            if (line[0] == '\0')
                nd_free(line);
            else if (!st->headline)
                st->headline = line;
            else
                story_add_para(st, line);
            p = nl ? nl + 1 : end;
        }
        nd_free(text);
        if (!st->headline || st->n_paras == 0)
            die("%s: a story needs a headline line and at least one paragraph", path);
        nd_free(names[i]);
    }
    nd_free(names);
    if (ss->n == 0)
        die("%s: no *.txt stories", dir);
}

/* ------------------------------------------------------------------ */
/* Reuters-21578 SGML.                                                 */

/* put_utf8: append code point cp as UTF-8. */
static void put_utf8(nd_buf_t *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    BUF_ADD(b, u, n);
}

/* sgml_decode: Latin-1 SGML text -> UTF-8 with &lt; &gt; &amp; &quot; and
 * &#N; resolved. Control characters other than '\n' and '\t' are dropped
 * (the collection uses &#2; &#3; &#5; ... as wire markers). */
static char *sgml_decode(const char *s, size_t len)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        if (c == '&') {
            const char *semi = memchr(s + i, ';', len - i < 10 ? len - i : 10);
            if (semi) {
                size_t n = (size_t)(semi - (s + i)) + 1;
                if (n >= 4 && s[i + 1] == '#') {
                    cp = (uint32_t)strtoul(s + i + 2, NULL, 10);
                    i += n - 1;
                } else if (n == 4 && memcmp(s + i, "&lt;", 4) == 0) {
                    cp = '<', i += 3;
                } else if (n == 4 && memcmp(s + i, "&gt;", 4) == 0) {
                    cp = '>', i += 3;
                } else if (n == 5 && memcmp(s + i, "&amp;", 5) == 0) {
                    cp = '&', i += 4;
                } else if (n == 6 && memcmp(s + i, "&quot;", 6) == 0) {
                    cp = '"', i += 5;
                }
            }
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            continue;
        put_utf8(&b, cp);
    }
    return b.p;
}

/* sgml_elem: the content of the first <tag ...>...</tag> in [p, end), or NULL. */
static const char *sgml_elem(const char *p, const char *end, const char *tag, size_t *len)
{
    char open[32], close[32];
    snprintf(open, sizeof(open), "<%s", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    size_t ol = strlen(open), cl = strlen(close);
    for (const char *q = p; q + ol < end; q++) {
        if (*q != '<' || memcmp(q, open, ol) != 0 || (q[ol] != '>' && q[ol] != ' '))
            continue;
        const char *gt = memchr(q, '>', (size_t)(end - q));
        if (!gt)
            return NULL;
        const char *c = gt + 1;
        for (const char *e = c; e + cl <= end; e++)
            if (*e == '<' && memcmp(e, close, cl) == 0) {
                *len = (size_t)(e - c);
                return c;
            }
        return NULL;
    }
    return NULL;
}

/* days_from_civil: days since 1970-01-01 of a proleptic Gregorian date
 * (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* reuters_date: "26-FEB-1987 15:01:01.79" -> ms, or TIME_NONE when malformed. */
static int64_t reuters_date(const char *s)
{
    static const char *mons[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    while (*s == ' ')
        s++;
    int d, y, hh, mm, ss;
    char mon[4];
    if (sscanf(s, "%d-%3s-%d %d:%d:%d", &d, mon, &y, &hh, &mm, &ss) != 6)
        return TIME_NONE;
    int m = 0;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, mons[i]) == 0)
            m = i + 1;
    if (!m || d < 1 || d > 31 || y < 1900 || y > 2100 || hh > 23 || mm > 59 || ss > 60)
        return TIME_NONE;
    return (days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss) * 1000LL;
}

/* body_key: XXH3 of a body's letters and digits, lower-cased: exact
 * re-sends in the collection get the same key. */
static uint64_t body_key(const story_t *st)
{
    XXH3_state_t *h = XXH3_createState();
    if (!h)
        die("out of memory");
    XXH3_64bits_reset(h);
    for (size_t i = 0; i < st->n_paras; i++)
        for (const char *p = st->paras[i]; *p; p++)
            if (isalnum((unsigned char)*p)) {
                char c = (char)tolower((unsigned char)*p);
                XXH3_64bits_update(h, &c, 1);
            }
    uint64_t k = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return k;
}

/* lead_key: XXH3 of the first paragraph's letters and digits, lower-cased,
 * in a different key space from body_key. */
static uint64_t lead_key(const story_t *st)
{
    nd_buf_t b = {0};
    BUF_STR(&b, "lead:");
    for (const char *p = st->paras[0]; *p; p++)
        if (isalnum((unsigned char)*p)) {
            char c = (char)tolower((unsigned char)*p);
            BUF_ADD(&b, &c, 1);
        }
    uint64_t k = XXH3_64bits(b.p, b.len);
    nd_buf_free(&b);
    return k;
}

typedef struct keyset_s {
    uint64_t *k;
    size_t cap, n;
} keyset_t;

/* keyset_add: add k (never 0); @return 1 if it was new, 0 if present. */
static int keyset_add(keyset_t *ks, uint64_t k)
{
    if (k == 0)
        k = 1;
    if ((ks->n + 1) * 2 > ks->cap) {
        keyset_t nk = {0};
        nk.cap = ks->cap ? ks->cap * 2 : 1024;
        nk.k = xmalloc(nk.cap * sizeof(uint64_t));
        memset(nk.k, 0, nk.cap * sizeof(uint64_t));
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->k[i])
                keyset_add(&nk, ks->k[i]);
        nd_free(ks->k);
        *ks = nk;
    }
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (ks->cap - 1);
    while (ks->k[i]) {
        if (ks->k[i] == k)
            return 0;
        i = (i + 1) & (ks->cap - 1);
    }
    ks->k[i] = k;
    ks->n++;
    return 1;
}

/* story_shingles: the distinct XXH3 hashes of the story's 4-word shingles
 * (words: ASCII letters and digits, lower-cased), sorted. */
static uint64_t *story_shingles(const story_t *st, size_t *n_out)
{
    nd_buf_t words = {0};
    size_t *starts = NULL, n_words = 0, cap = 0;
    for (size_t pi = 0; pi < st->n_paras; pi++)
        for (const char *p = st->paras[pi]; *p;) {
            if (!isalnum((unsigned char)*p)) {
                p++;
                continue;
            }
            if (n_words == cap) {
                cap = cap ? cap * 2 : 256;
                starts = xrealloc(starts, cap * sizeof(size_t));
            }
            starts[n_words++] = words.len;
            for (; isalnum((unsigned char)*p); p++) {
                char c = (char)tolower((unsigned char)*p);
                BUF_ADD(&words, &c, 1);
            }
            BUF_ADD(&words, " ", 1);
        }
    size_t n = n_words >= 4 ? n_words - 3 : (n_words ? 1 : 0);
    uint64_t *h = xmalloc((n ? n : 1) * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        size_t end = i + 4 < n_words ? starts[i + 4] : words.len;
        h[i] = XXH3_64bits(words.p + starts[i], end - starts[i]);
    }
    qsort(h, n, sizeof(uint64_t), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || h[i] != h[u - 1])
            h[u++] = h[i];
    nd_buf_free(&words);
    nd_free(starts);
    *n_out = u;
    return h;
}

/* drop_near_resends: remove every story that shares at least min_share of
 * its distinct 4-word shingles (or of an earlier story's, whichever set is
 * smaller) with an earlier kept story. The collection holds re-sent and
 * reworded versions of one story under different NEWIDs; counting them as
 * different stories would mark a correct merge as an error. Templated
 * reports (earnings tables, weekly figures) differ in their numbers, so
 * they share far fewer shingles and stay. @return the number removed. */
static size_t drop_near_resends(stories_t *ss, double min_share)
{
    /* Inverted index: shingle -> postings list of kept stories. */
    size_t cap = 1 << 16, n_post = 0, post_cap = 1 << 16;
    uint64_t *keys = xmalloc(cap * sizeof(uint64_t));
    uint32_t *head = xmalloc(cap * sizeof(uint32_t));
    memset(keys, 0, cap * sizeof(uint64_t));
    uint32_t *p_story = xmalloc(post_cap * sizeof(uint32_t));
    uint32_t *p_next = xmalloc(post_cap * sizeof(uint32_t));
    size_t n_keys = 0;
    uint32_t *hits = xmalloc((ss->n + 1) * sizeof(uint32_t));
    uint32_t *size = xmalloc((ss->n + 1) * sizeof(uint32_t));
    uint32_t *touched = xmalloc((ss->n + 1) * sizeof(uint32_t));
    memset(hits, 0, (ss->n + 1) * sizeof(uint32_t));
    size_t kept = 0, dropped = 0;
    for (size_t j = 0; j < ss->n; j++) {
        size_t n_sh;
        uint64_t *sh = story_shingles(&ss->v[j], &n_sh);
        size_t n_touched = 0;
        for (size_t i = 0; i < n_sh; i++) {
            uint64_t k = sh[i] ? sh[i] : 1;
            size_t slot = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
            while (keys[slot] && keys[slot] != k)
                slot = (slot + 1) & (cap - 1);
            if (!keys[slot])
                continue;
            for (uint32_t e = head[slot]; e != UINT32_MAX; e = p_next[e])
                if (hits[p_story[e]]++ == 0)
                    touched[n_touched++] = p_story[e];
        }
        int dup = 0;
        for (size_t t = 0; t < n_touched; t++) {
            uint32_t i = touched[t];
            double smaller = (double)(size[i] < n_sh ? size[i] : n_sh);
            if (smaller > 0 && hits[i] >= min_share * smaller)
                dup = 1;
            hits[i] = 0;
        }
        if (dup) {
            story_free(&ss->v[j]);
            dropped++;
            nd_free(sh);
            continue;
        }
        /* Keep it: move it down and index its shingles. */
        ss->v[kept] = ss->v[j];
        size[kept] = (uint32_t)n_sh;
        for (size_t i = 0; i < n_sh; i++) {
            if ((n_keys + 1) * 2 > cap) {
                size_t ncap = cap * 2;
                uint64_t *nk = xmalloc(ncap * sizeof(uint64_t));
                uint32_t *nh = xmalloc(ncap * sizeof(uint32_t));
                memset(nk, 0, ncap * sizeof(uint64_t));
                for (size_t o = 0; o < cap; o++)
                    if (keys[o]) {
                        size_t s2 = (size_t)(keys[o] * 0x9e3779b97f4a7c15ULL >> 20) & (ncap - 1);
                        while (nk[s2])
                            s2 = (s2 + 1) & (ncap - 1);
                        nk[s2] = keys[o];
                        nh[s2] = head[o];
                    }
                nd_free(keys);
                nd_free(head);
                keys = nk;
                head = nh;
                cap = ncap;
            }
            uint64_t k = sh[i] ? sh[i] : 1;
            size_t slot = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
            while (keys[slot] && keys[slot] != k)
                slot = (slot + 1) & (cap - 1);
            if (!keys[slot]) {
                keys[slot] = k;
                head[slot] = UINT32_MAX;
                n_keys++;
            }
            if (n_post == post_cap) {
                post_cap *= 2;
                p_story = xrealloc(p_story, post_cap * sizeof(uint32_t));
                p_next = xrealloc(p_next, post_cap * sizeof(uint32_t));
            }
            p_story[n_post] = (uint32_t)kept;
            p_next[n_post] = head[slot];
            head[slot] = (uint32_t)n_post++;
        }
        kept++;
        nd_free(sh);
    }
    ss->n = kept;
    nd_free(keys);
    nd_free(head);
    nd_free(p_story);
    nd_free(p_next);
    nd_free(hits);
    nd_free(size);
    nd_free(touched);
    return dropped;
}

/* load_reuters: the stories of every reut2-*.sgm in dir, in file and NEWID
 * order, skipping those without a <BODY>, with fewer than min_body bytes of
 * text, or whose text or long first paragraph repeats an earlier story's. Stops after limit
 * stories (0: no limit). */
static void load_reuters(const char *dir, size_t min_body, size_t limit, stories_t *ss)
{
    size_t skipped_small = 0, skipped_dup = 0, bad_dates = 0;
    keyset_t seen = {0};
    int64_t last_time = 0;
    for (int fi = 0; fi < 100 && (!limit || ss->n < limit); fi++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/reut2-%03d.sgm", dir, fi);
        FILE *probe = fopen(path, "rb");
        if (!probe) {
            if (fi == 0)
                die("%s: %s", path, strerror(errno));
            break;
        }
        fclose(probe);
        size_t len;
        char *text = read_file(path, &len);
        const char *p = text, *end = text + len;
        while (p < end && (!limit || ss->n < limit)) {
            const char *r = strstr(p, "<REUTERS");
            if (!r)
                break;
            const char *re = strstr(r, "</REUTERS>");
            if (!re)
                break;
            p = re + 10;
            const char *nid = strstr(r, "NEWID=\"");
            if (!nid || nid > re)
                continue;
            long newid = strtol(nid + 7, NULL, 10);
            size_t bl, tl = 0, dl = 0, dtl = 0;
            const char *body = sgml_elem(r, re, "BODY", &bl);
            if (!body)
                continue;
            const char *title = sgml_elem(r, re, "TITLE", &tl);
            const char *dline = sgml_elem(r, re, "DATELINE", &dl);
            const char *date = sgml_elem(r, re, "DATE", &dtl);

            char *btxt = sgml_decode(body, bl);
            /* Strip the trailing "Reuter" sign-off. */
            size_t blen = strlen(btxt);
            while (blen && isspace((unsigned char)btxt[blen - 1]))
                blen--;
            if (blen >= 6 && strncasecmp(btxt + blen - 6, "Reuter", 6) == 0)
                blen -= 6;
            btxt[blen] = '\0';

            story_t st = {0};
            /* Paragraphs: a line that starts with white space opens one. */
            nd_buf_t para = {0};
            const char *q = btxt, *qe = btxt + blen;
            while (q < qe) {
                const char *nl = memchr(q, '\n', (size_t)(qe - q));
                const char *le = nl ? nl : qe;
                if ((*q == ' ' || *q == '\t') && para.len) {
                    char *pp = collapse_ws(para.p, para.len);
                    if (*pp)
                        story_add_para(&st, pp);
                    else
                        nd_free(pp);
                    nd_buf_reset(&para);
                }
                BUF_ADD(&para, q, (size_t)(le - q));
                BUF_ADD(&para, " ", 1);
                q = nl ? nl + 1 : qe;
            }
            if (para.len) {
                char *pp = collapse_ws(para.p, para.len);
                if (*pp)
                    story_add_para(&st, pp);
                else
                    nd_free(pp);
            }
            nd_buf_free(&para);
            nd_free(btxt);

            if (st.n_paras == 0 || story_bytes(&st) < min_body) {
                skipped_small++;
                story_free(&st);
                continue;
            }
            /* A re-send, or a corrected version that keeps the lead: the
             * same story to a reader, so not a second base story. */
            int lead_seen = strlen(st.paras[0]) >= 120 && !keyset_add(&seen, lead_key(&st));
            if (lead_seen || !keyset_add(&seen, body_key(&st))) {
                skipped_dup++;
                story_free(&st);
                continue;
            }
            char idbuf[32];
            snprintf(idbuf, sizeof(idbuf), "reuters-%ld", newid);
            st.id = xstrdup(idbuf);
            if (title) {
                char *t = sgml_decode(title, tl);
                st.headline = collapse_ws(t, strlen(t));
                nd_free(t);
            } else {
                st.headline = xstrdup("REUTERS NEWS");
            }
            st.dateline = xstrdup("");
            if (dline) {
                char *t = sgml_decode(dline, dl);
                char *c = collapse_ws(t, strlen(t));
                char *comma = strchr(c, ',');
                if (comma)
                    *comma = '\0';
                nd_free(st.dateline);
                st.dateline = c;
                nd_free(t);
            }
            st.time_ms = TIME_NONE;
            if (date) {
                char *t = xstrndup(date, dtl);
                st.time_ms = reuters_date(t);
                nd_free(t);
            }
            if (st.time_ms == TIME_NONE) {
                bad_dates++;
                st.time_ms = last_time + MIN_MS;
            }
            last_time = st.time_ms;
            *stories_push(ss) = st;
        }
        nd_free(text);
    }
    nd_free(seen.k);
    fprintf(stderr,
            "nd-corpus: reuters: %zu stories (skipped %zu short, %zu re-sends; "
            "%zu malformed dates)\n",
            ss->n, skipped_small, skipped_dup, bad_dates);
    if (ss->n == 0)
        die("%s: no usable stories", dir);
}

/* ------------------------------------------------------------------ */
/* Who publishes: fictional agencies and outlets (the demo texts are    */
/* our own, so they are not attributed to real news organisations).    */

typedef struct pub_s {
    const char *name;
    const char *domain;
} pub_t;

static const pub_t agencies[] = {
    {"Northwind Wire", "northwindwire.example"},
    {"Meridian Press Agency", "meridianpress.example"},
    {"Continental News Service", "cns.example"},
    {"Atlas Newswire", "atlasnewswire.example"},
};

static const pub_t outlets[] = {
    {"The Harbour Gazette", "harbourgazette.example"},
    {"Riverside Daily", "riversidedaily.example"},
    {"Lakeside Herald", "lakesideherald.example"},
    {"Capital Post", "capitalpost.example"},
    {"Morning Ledger", "morningledger.example"},
    {"Evening Courier", "eveningcourier.example"},
    {"Valley Tribune", "valleytribune.example"},
    {"Metro Chronicle", "metrochronicle.example"},
    {"Coastal Times", "coastaltimes.example"},
    {"Northern Star", "northernstar.example"},
    {"Daily Beacon", "dailybeacon.example"},
    {"Summit Observer", "summitobserver.example"},
    {"Prairie Journal", "prairiejournal.example"},
    {"Bay City Sentinel", "baycitysentinel.example"},
    {"Union Register", "unionregister.example"},
    {"Highland News", "highlandnews.example"},
    {"World Brief", "worldbrief.example"},
    {"Business Desk Today", "businessdesk.example"},
    {"The Evening Standard-Bearer", "standardbearer.example"},
    {"Global Affairs Digest", "globalaffairs.example"},
    {"Central Asia Monitor", "centralasiamonitor.example"},
    {"Eurasia Review Online", "eurasiareview.example"},
    {"Market Pulse", "marketpulse.example"},
    {"Sports Line", "sportsline.example"},
};

static const char *people[] = {
    "Anna Keller",   "Omar Haddad", "Lena Petrova",    "James Whitfield", "Sara Moreno",
    "Daniel Okafor", "Mira Jensen", "Tomas Novak",     "Priya Raman",     "Victor Lindqvist",
    "Helen Brooks",  "Yusuf Demir", "Claire Fontaine", "Ivan Sokolov",    "Nadia Karimi",
};

static const char *headline_prefixes[] = {
    "UPDATE 1-", "UPDATE 2-", "Exclusive: ", "Analysis: ", "WRAPUP 1-", "Breaking: ", "Latest: "};

static const char *lead_paras[] = {
    "Here is the latest on this developing story.",
    "This report was compiled with material from %A.",
    "%O brings you the main points below.",
    "Updated with more details and background.",
    "What we know so far, according to wire reports.",
};

static const char *footers[] = {
    "(Reporting by %P; Additional reporting by %P; Editing by %P)",
    "(Reporting by %P; Writing by %P; Editing by %P)",
    "(c) %Y %O. All rights reserved.",
    "Copyright %Y %A. This material may not be published, broadcast, rewritten or "
    "redistributed.",
    "Read more stories like this at %D.",
    "%O contributed to this report.",
};

/* Word edits an outlet's sub-editor makes: whole-word from -> to. */
static const char *const synonyms[][2] = {
    {"said", "says"},
    {"says", "said"},
    {"percent", "per cent"},
    {"per cent", "percent"},
    {"U.S.", "US"},
    {"United States", "U.S."},
    {"million", "mln"},
    {"mln", "million"},
    {"billion", "bln"},
    {"bln", "billion"},
    {"dlrs", "dollars"},
    {"expected", "anticipated"},
    {"also", "additionally"},
    {"about", "around"},
    {"around", "about"},
    {"rose", "climbed"},
    {"fell", "dropped"},
    {"increase", "rise"},
    {"big", "large"},
    {"large", "big"},
    {"announced", "unveiled"},
    {"officials", "authorities"},
    {"agreement", "deal"},
    {"president", "leader"},
    {"government", "administration"},
    {"company", "firm"},
    {"firm", "company"},
    {"shares", "stock"},
    {"residents", "locals"},
    {"week", "seven days"},
};

/* ------------------------------------------------------------------ */
/* Text perturbations. Each returns a new string and frees nothing.     */

/* is_word_char: ASCII letter or digit, or any byte of a multi-byte character. */
static int is_word_char(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

/* splice: s with [pos, pos+len) replaced by repl. */
static char *splice(const char *s, size_t pos, size_t len, const char *repl)
{
    size_t sl = strlen(s), rl = strlen(repl);
    char *out = xmalloc(sl - len + rl + 1);
    memcpy(out, s, pos);
    memcpy(out + pos, repl, rl);
    memcpy(out + pos + rl, s + pos + len, sl - pos - len + 1);
    return out;
}

/* word_edit: one sub-editor edit of s, or NULL when s offers none: a
 * synonym swap or a number written without its thousands separators. */
static char *word_edit(rng_t *r, const char *s)
{
    /* Collect candidate sites, then pick one. */
    typedef struct site {
        size_t pos, len;
        int syn; /* index into synonyms, or -1 for a number */
    } site_t;
    site_t sites[64];
    size_t n = 0;
    size_t sl = strlen(s);
    for (size_t i = 0; i < sl && n < 64; i++) {
        if (i > 0 && is_word_char(s[i - 1]))
            continue;
        if (isdigit((unsigned char)s[i])) {
            size_t j = i;
            int commas = 0;
            while (j < sl &&
                   (isdigit((unsigned char)s[j]) ||
                    (s[j] == ',' && j + 3 < sl && isdigit((unsigned char)s[j + 1]) &&
                     isdigit((unsigned char)s[j + 2]) && isdigit((unsigned char)s[j + 3]))))
                commas += s[j++] == ',';
            if (commas)
                sites[n++] = (site_t){i, j - i, -1};
            i = j;
            continue;
        }
        for (size_t k = 0; k < sizeof(synonyms) / sizeof(synonyms[0]) && n < 64; k++) {
            size_t fl = strlen(synonyms[k][0]);
            if (i + fl <= sl && memcmp(s + i, synonyms[k][0], fl) == 0 &&
                (i + fl == sl || !is_word_char(s[i + fl]))) {
                sites[n++] = (site_t){i, fl, (int)k};
                break;
            }
        }
    }
    if (n == 0)
        return NULL;
    site_t st = sites[rng_below(r, (uint32_t)n)];
    if (st.syn >= 0)
        return splice(s, st.pos, st.len, synonyms[st.syn][1]);
    char num[64];
    size_t o = 0;
    for (size_t i = st.pos; i < st.pos + st.len && o + 1 < sizeof(num); i++)
        if (s[i] != ',')
            num[o++] = s[i];
    num[o] = '\0';
    return splice(s, st.pos, st.len, num);
}

/* typography: straight quotes made curly, " - " and "--" made em dashes,
 * and some spaces after a number made no-break spaces. */
static char *typography(rng_t *r, const char *s)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    int dq_open = 1;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        char prev = i ? s[i - 1] : ' ';
        if (c == '"') {
            BUF_STR(&b, dq_open ? "\xE2\x80\x9C" : "\xE2\x80\x9D");
            dq_open = !dq_open;
        } else if (c == '\'') {
            BUF_STR(&b, is_word_char(prev) ? "\xE2\x80\x99" : "\xE2\x80\x98");
        } else if (c == ' ' && s[i + 1] == '-' && s[i + 2] == ' ') {
            BUF_STR(&b, " \xE2\x80\x94 ");
            i += 2;
        } else if (c == '-' && s[i + 1] == '-') {
            BUF_STR(&b, "\xE2\x80\x94");
            i += 1;
        } else if (c == ' ' && isdigit((unsigned char)prev) && isalpha((unsigned char)s[i + 1]) &&
                   rng_chance(r, 0.5)) {
            BUF_STR(&b, "\xC2\xA0");
        } else {
            BUF_ADD(&b, &c, 1);
        }
    }
    return b.p;
}

/* scramble_words: the replica transform of --scale: most words of three or
 * more letters rotated, so that replicas are different texts of the same
 * length and character mix. */
static char *scramble_words(rng_t *r, const char *s)
{
    char *out = xstrdup(s);
    size_t n = strlen(out);
    for (size_t i = 0; i < n;) {
        if (!isalpha((unsigned char)out[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && isalpha((unsigned char)out[j]))
            j++;
        size_t wl = j - i;
        if (wl >= 3 && rng_chance(r, 0.85)) {
            size_t k = 1 + rng_below(r, (uint32_t)(wl - 1));
            char tmp[256];
            if (wl <= sizeof(tmp)) {
                for (size_t t = 0; t < wl; t++)
                    tmp[t] = out[i + (t + k) % wl];
                memcpy(out + i, tmp, wl);
            }
        }
        i = j;
    }
    return out;
}

/* expand: a template with %O outlet, %A agency, %D outlet domain, %P a
 * person, %Y the year. */
static char *expand(rng_t *r, const char *tpl, const pub_t *outlet, const pub_t *agency, int year)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    for (const char *p = tpl; *p; p++) {
        if (*p != '%' || !p[1]) {
            BUF_ADD(&b, p, 1);
            continue;
        }
        switch (*++p) {
        case 'O':
            BUF_STR(&b, outlet->name);
            break;
        case 'A':
            BUF_STR(&b, agency->name);
            break;
        case 'D':
            BUF_STR(&b, outlet->domain);
            break;
        case 'P':
            BUF_STR(&b, PICK(r, people));
            break;
        case 'Y':
            BUF_PRINTF(&b, "%d", year);
            break;
        default:
            BUF_ADD(&b, p - 1, 2);
        }
    }
    return b.p;
}

/* new_headline: how an outlet retitles a story. */
static char *new_headline(rng_t *r, const char *h, const pub_t *outlet)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    switch (rng_below(r, 6)) {
    case 0:
        BUF_STR(&b, h);
        break;
    case 1:
        BUF_STR(&b, PICK(r, headline_prefixes));
        BUF_STR(&b, h);
        break;
    case 2:
        BUF_PRINTF(&b, "%s %s %s", h, rng_chance(r, 0.5) ? "-" : "|", outlet->name);
        break;
    case 3: {
        /* Case change: capitalise each word's first letter only. */
        int start = 1;
        for (const char *p = h; *p; p++) {
            char c = *p;
            if (isalpha((unsigned char)c))
                c = start ? (char)toupper((unsigned char)c) : (char)tolower((unsigned char)c);
            start = (*p == ' ' || *p == '-');
            BUF_ADD(&b, &c, 1);
        }
        break;
    }
    case 4: {
        /* The first few words, then an ellipsis. */
        int words = 0;
        const char *p = h;
        for (; *p; p++)
            if (*p == ' ' && ++words == 5)
                break;
        BUF_ADD(&b, h, (size_t)(p - h));
        if (*p)
            BUF_STR(&b, "\xE2\x80\xA6");
        break;
    }
    default:
        BUF_PRINTF(&b, "%s: %s", rng_chance(r, 0.5) ? "World" : "Report", h);
    }
    return b.p;
}

/* ------------------------------------------------------------------ */
/* ninjs documents.                                                    */

typedef struct art_s {
    const char *uri;
    const char *headline;
    char **paras;
    size_t n_paras;
    const char *source;   /* publisher name */
    const char *provider; /* agency the text came from (infoSources) */
    int64_t vtime_ms;
    int version;
    int html;   /* body_html / text/html instead of plain text */
    int shape;  /* 1: ninjs 1.x, 2: 2.x (lower-case names), 3: 3.x (camelCase) */
    int tz_min; /* offset written in versioncreated, minutes east of UTC */
} art_t;

/* fmt_time: ISO 8601 with a fixed offset (Z when 0). */
static void fmt_time(int64_t ms, int tz_min, char out[40])
{
    int64_t s = ms / 1000 + (int64_t)tz_min * 60;
    int64_t days = s / 86400, rem = s % 86400;
    if (rem < 0)
        rem += 86400, days--;
    /* civil_from_days (Howard Hinnant's algorithm). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    int n = snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d, (int)(rem / 3600),
                     (int)(rem / 60 % 60), (int)(rem % 60));
    if (tz_min == 0)
        snprintf(out + n, (size_t)(40 - n), "Z");
    else
        snprintf(out + n, (size_t)(40 - n), "%c%02d:%02d", tz_min < 0 ? '-' : '+', abs(tz_min) / 60,
                 abs(tz_min) % 60);
}

/* year_of: the UTC calendar year of a time in ms since the epoch. */
static int year_of(int64_t ms)
{
    char t[40];
    fmt_time(ms, 0, t);
    return atoi(t);
}

/* html_escape_into: s with & < > escaped; typographic characters written as
 * named entities when entities is set. */
static void html_escape_into(nd_buf_t *b, const char *s, int entities)
{
    for (const char *p = s; *p; p++) {
        if (*p == '&')
            BUF_STR(b, "&amp;");
        else if (*p == '<')
            BUF_STR(b, "&lt;");
        else if (*p == '>')
            BUF_STR(b, "&gt;");
        else if (entities && strncmp(p, "\xE2\x80\x9C", 3) == 0)
            BUF_STR(b, "&ldquo;"), p += 2;
        else if (entities && strncmp(p, "\xE2\x80\x9D", 3) == 0)
            BUF_STR(b, "&rdquo;"), p += 2;
        else if (entities && strncmp(p, "\xE2\x80\x99", 3) == 0)
            BUF_STR(b, "&#8217;"), p += 2;
        else if (entities && strncmp(p, "\xE2\x80\x94", 3) == 0)
            BUF_STR(b, "&mdash;"), p += 2;
        else if (entities && strncmp(p, "\xC2\xA0", 2) == 0)
            BUF_STR(b, "&nbsp;"), p += 1;
        else
            BUF_ADD(b, p, 1);
    }
}

/* body_of: the article body as the publisher's CMS would render it. */
static char *body_of(rng_t *r, const art_t *a)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    if (a->html) {
        int entities = rng_chance(r, 0.5);
        int wrap = rng_chance(r, 0.4);
        const char *sep = rng_chance(r, 0.5) ? "\n" : "";
        if (wrap)
            BUF_STR(&b, "<div class=\"article-body\">");
        for (size_t i = 0; i < a->n_paras; i++) {
            BUF_STR(&b, i ? sep : "");
            BUF_STR(&b, "<p>");
            html_escape_into(&b, a->paras[i], entities);
            BUF_STR(&b, "</p>");
        }
        if (wrap)
            BUF_STR(&b, "</div>");
    } else {
        const char *sep = rng_chance(r, 0.6) ? "\n\n" : "\n";
        for (size_t i = 0; i < a->n_paras; i++) {
            BUF_STR(&b, i ? sep : "");
            BUF_STR(&b, a->paras[i]);
        }
    }
    return b.p;
}

#define JSTR(b, s) buf_check(nd_buf_json_str((b), (s), strlen(s)))

/* write_doc: one ninjs document as one JSON line (with '\n') into b. */
static void write_doc(rng_t *r, nd_buf_t *b, const art_t *a)
{
    char t[40];
    fmt_time(a->vtime_ms, a->tz_min, t);
    char *body = body_of(r, a);
    const char *ctype = a->html ? "text/html" : "text/plain";
    BUF_STR(b, "{\"uri\":");
    JSTR(b, a->uri);
    BUF_PRINTF(b, ",\"type\":\"text\",\"version\":\"%d\"", a->version);
    if (a->shape == 1) {
        BUF_STR(b, ",\"versioncreated\":");
        JSTR(b, t);
        BUF_STR(b, ",\"language\":\"en\",\"headline\":");
        JSTR(b, a->headline);
        BUF_STR(b, a->html ? ",\"body_html\":" : ",\"body_text\":");
        JSTR(b, body);
        BUF_STR(b, ",\"copyrightholder\":");
        JSTR(b, a->source);
    } else if (a->shape == 2) {
        BUF_STR(b, ",\"versioncreated\":");
        JSTR(b, t);
        BUF_STR(b, ",\"pubstatus\":\"usable\",\"language\":\"en\",\"copyrightholder\":");
        JSTR(b, a->source);
        BUF_STR(b, ",\"headlines\":[{\"role\":\"main\",\"value\":");
        JSTR(b, a->headline);
        BUF_PRINTF(b, "}],\"bodies\":[{\"role\":\"main\",\"contenttype\":\"%s\",\"value\":", ctype);
        JSTR(b, body);
        BUF_STR(b, "}]");
    } else {
        BUF_STR(b, ",\"versionCreated\":");
        JSTR(b, t);
        BUF_STR(b, ",\"pubStatus\":\"usable\",\"language\":\"en\"");
        /* Some 3.x publishers name themselves only in infoSources. */
        if (rng_chance(r, 0.6)) {
            BUF_STR(b, ",\"copyrightHolder\":");
            JSTR(b, a->source);
            BUF_STR(b, ",\"infoSources\":[{\"name\":");
            JSTR(b, a->provider);
            BUF_STR(b, ",\"role\":\"originSource\"}]");
        } else {
            BUF_STR(b, ",\"infoSources\":[{\"name\":");
            JSTR(b, a->source);
            BUF_STR(b, ",\"role\":\"publisher\"}]");
        }
        BUF_STR(b, ",\"headlines\":[{\"role\":\"main\",\"contentType\":\"text/plain\",\"value\":");
        JSTR(b, a->headline);
        BUF_PRINTF(b, "}],\"bodies\":[{\"role\":\"main\",\"contentType\":\"%s\",\"value\":", ctype);
        JSTR(b, body);
        BUF_STR(b, "}]");
    }
    BUF_STR(b, "}\n");
    nd_free(body);
}

/* ------------------------------------------------------------------ */
/* The feed.                                                           */

typedef struct doc_s {
    int64_t arrival_ms;
    uint64_t seq;
    char *line;  /* one JSON line, '\n'-terminated */
    char *truth; /* "uri\tstory\n", or NULL (re-delivery, correction, bad line) */
} doc_t;

typedef struct gen_s {
    rng_t rng;
    const stories_t *ss;
    doc_t *docs;
    size_t n_docs, cap_docs;
    uint64_t seq;
    /* options */
    int max_copies;
    double redeliver_p, correct_p;
    const char **boost_ids; /* --copies ID=N */
    int *boost_n;
    size_t n_boost;
    int reuters;
    /* counters */
    size_t n_orig, n_copies, n_redeliveries, n_corrections, n_bad;
} gen_t;

/* gen_push: queue one feed line (owned from now on) with its arrival time and
 * truth line (owned, or NULL); seq keeps equal arrival times in push order. */
static void gen_push(gen_t *g, int64_t arrival, char *line, char *truth)
{
    if (g->n_docs == g->cap_docs) {
        g->cap_docs = g->cap_docs ? g->cap_docs * 2 : 1024;
        g->docs = xrealloc(g->docs, g->cap_docs * sizeof(doc_t));
    }
    g->docs[g->n_docs++] = (doc_t){arrival, g->seq++, line, truth};
}

/* cmp_doc: by arrival time, then push order: a total order, so the sort is
 * deterministic. */
static int cmp_doc(const void *a, const void *b)
{
    const doc_t *x = a, *y = b;
    if (x->arrival_ms != y->arrival_ms)
        return x->arrival_ms < y->arrival_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* slugify: the first eight words of a headline as a lower-case URL slug. */
static char *slugify(const char *h)
{
    nd_buf_t b = {0};
    BUF_ADD(&b, "", 0);
    int dash = 0, words = 0;
    for (const char *p = h; *p && words < 8; p++) {
        if (isalnum((unsigned char)*p)) {
            if (dash && b.len)
                BUF_ADD(&b, "-", 1);
            char c = (char)tolower((unsigned char)*p);
            BUF_ADD(&b, &c, 1);
            dash = 0;
        } else if (!dash) {
            dash = 1;
            words++;
        }
    }
    if (b.len == 0)
        BUF_STR(&b, "story");
    return b.p;
}

/* n_copies_for: how many outlets republish a story. Most take a few, some
 * none, a tenth of the stories are picked up widely. */
static int n_copies_for(gen_t *g, const char *id)
{
    for (size_t i = 0; i < g->n_boost; i++)
        if (strcmp(g->boost_ids[i], id) == 0)
            return g->boost_n[i];
    double u = rng_unit(&g->rng);
    if (u < 0.2)
        return 0;
    if (u < 0.9)
        return (int)rng_range(&g->rng, 1, g->max_copies);
    return (int)rng_range(&g->rng, g->max_copies + 1, g->max_copies * 5 / 2);
}

/* emit: queue document a and its truth line; by chance also a later
 * re-delivery of the same bytes and a corrected version under the same uri
 * (neither in the truth: a uri is one article). */
static void emit(gen_t *g, art_t *a, const char *story_id, int64_t arrival)
{
    nd_buf_t b = {0};
    write_doc(&g->rng, &b, a);
    char *line = buf_take(&b);
    nd_buf_t t = {0};
    BUF_PRINTF(&t, "%s\t%s\n", a->uri, story_id);
    char *truth = buf_take(&t);
    nd_buf_free(&b);
    nd_buf_free(&t);
    /* A re-delivery: the same bytes again, later. */
    if (rng_chance(&g->rng, g->redeliver_p)) {
        gen_push(g, arrival + rng_range(&g->rng, MIN_MS, 4 * HOUR_MS), xstrdup(line), NULL);
        g->n_redeliveries++;
    }
    /* A corrected version: same uri, later time, one more edit. */
    if (rng_chance(&g->rng, g->correct_p)) {
        art_t c = *a;
        c.version = a->version + 1;
        c.vtime_ms = a->vtime_ms + rng_range(&g->rng, 10 * MIN_MS, 3 * HOUR_MS);
        char **paras = xmalloc((a->n_paras + 1) * sizeof(char *));
        for (size_t i = 0; i < a->n_paras; i++)
            paras[i] = xstrdup(a->paras[i]);
        size_t pi = rng_below(&g->rng, (uint32_t)a->n_paras);
        char *e = word_edit(&g->rng, paras[pi]);
        if (e) {
            nd_free(paras[pi]);
            paras[pi] = e;
        }
        paras[a->n_paras] = xstrdup("(Corrects a figure in an earlier paragraph.)");
        c.paras = paras;
        c.n_paras = a->n_paras + 1;
        nd_buf_t cb = {0};
        write_doc(&g->rng, &cb, &c);
        gen_push(g, c.vtime_ms + rng_range(&g->rng, 0, 2 * MIN_MS), buf_take(&cb), NULL);
        nd_buf_free(&cb);
        for (size_t i = 0; i <= a->n_paras; i++)
            nd_free(paras[i]);
        nd_free(paras);
        g->n_corrections++;
    }
    gen_push(g, arrival, line, truth);
}

/* random_shape: ninjs 1.x 40%, 2.x 30%, 3.x 30%. */
static int random_shape(rng_t *r)
{
    uint32_t u = rng_below(r, 10);
    return u < 4 ? 1 : u < 7 ? 2 : 3;
}

/* random_tz: the UTC offset an outlet writes its times in, in minutes. */
static int random_tz(rng_t *r)
{
    static const int tzs[] = {0, 0, 0, 60, 120, 180, 210, -300, -240, 330, 540};
    return PICK(r, tzs);
}

/* syndicate: the original and its copies for one base story. */
static void syndicate(gen_t *g, const story_t *st, int64_t t0, int replica)
{
    rng_t *r = &g->rng;
    const pub_t *agency =
        g->reuters ? &(const pub_t){"Reuters", "reuters.com"} : &PICK(r, agencies);
    char *slug = slugify(st->headline);
    char tbuf[40];
    fmt_time(t0, 0, tbuf);
    char date[9] = {0};
    memcpy(date, tbuf, 4);
    memcpy(date + 4, tbuf + 5, 2);
    memcpy(date + 6, tbuf + 8, 2);
    char story_id[160];
    if (replica)
        snprintf(story_id, sizeof(story_id), "%s~%d", st->id, replica);
    else
        snprintf(story_id, sizeof(story_id), "%s", st->id);

    /* The original, as the agency sent it. */
    char uri[512];
    snprintf(uri, sizeof(uri), "urn:newsml:%s:%s:%s-%llu", agency->domain, date, slug,
             (unsigned long long)g->seq);
    art_t a = {.uri = uri,
               .headline = st->headline,
               .paras = st->paras,
               .n_paras = st->n_paras,
               .source = agency->name,
               .provider = agency->name,
               .vtime_ms = t0,
               .version = 1,
               .html = rng_chance(r, 0.3),
               .shape = random_shape(r),
               .tz_min = 0};
    emit(g, &a, story_id, t0 + rng_range(r, 0, 30 * 1000));
    g->n_orig++;

    int n = n_copies_for(g, st->id);
    int year = year_of(t0);
    for (int c = 0; c < n; c++) {
        const pub_t *out = &PICK(r, outlets);
        /* Arrival: most within three hours, the rest up to twelve. */
        int64_t delay = rng_chance(r, 0.7) ? rng_range(r, 5 * MIN_MS, 3 * HOUR_MS)
                                           : rng_range(r, 3 * HOUR_MS, 12 * HOUR_MS);
        /* Trim: keep all, the first two thirds, or the first half. */
        size_t keep = st->n_paras;
        double u = rng_unit(r);
        if (u < 0.3)
            keep = (st->n_paras + 1) / 2;
        else if (u < 0.55)
            keep = (st->n_paras * 2 + 2) / 3;
        if (keep < 1)
            keep = 1;
        char **paras = xmalloc((keep + 3) * sizeof(char *));
        size_t np = 0;
        int lead = rng_chance(r, 0.35);
        if (lead && rng_chance(r, 0.5))
            paras[np++] = expand(r, PICK(r, lead_paras), out, agency, year);
        for (size_t i = 0; i < keep; i++) {
            if (i == 0 && lead && np == 0) {
                /* A dateline with the outlet's credit in front of the lead. */
                nd_buf_t b = {0};
                if (st->dateline[0])
                    BUF_PRINTF(&b, "%s (%s) - %s", st->dateline, out->name, st->paras[0]);
                else
                    BUF_PRINTF(&b, "(%s) - %s", out->name, st->paras[0]);
                paras[np++] = buf_take(&b);
                nd_buf_free(&b);
            } else {
                paras[np++] = xstrdup(st->paras[i]);
            }
        }
        /* A few word edits. */
        int edits = (int)rng_range(r, 0, 4);
        for (int e = 0; e < edits; e++) {
            size_t pi = rng_below(r, (uint32_t)np);
            char *s = word_edit(r, paras[pi]);
            if (s) {
                nd_free(paras[pi]);
                paras[pi] = s;
            }
        }
        if (rng_chance(r, 0.4))
            for (size_t i = 0; i < np; i++) {
                char *s = typography(r, paras[i]);
                nd_free(paras[i]);
                paras[i] = s;
            }
        if (rng_chance(r, 0.5))
            paras[np++] = expand(r, PICK(r, footers), out, agency, year);

        char *headline = new_headline(r, st->headline, out);
        char curi[512];
        if (rng_chance(r, 0.7))
            snprintf(curi, sizeof(curi), "https://%s/%s/%s-%llu", out->domain,
                     rng_chance(r, 0.5) ? "world" : "news", slug, (unsigned long long)g->seq);
        else
            snprintf(curi, sizeof(curi), "urn:uuid:%08llx-%04x-4%03x-8%03x-%012llx",
                     (unsigned long long)(rng_next(r) & 0xffffffffULL),
                     (unsigned)rng_below(r, 0x10000), (unsigned)rng_below(r, 0x1000),
                     (unsigned)rng_below(r, 0x1000),
                     (unsigned long long)(g->seq & 0xffffffffffffULL));
        art_t ca = {.uri = curi,
                    .headline = headline,
                    .paras = paras,
                    .n_paras = np,
                    .source = out->name,
                    .provider = agency->name,
                    .vtime_ms = t0 + delay,
                    .version = 1,
                    .html = rng_chance(r, 0.5),
                    .shape = random_shape(r),
                    .tz_min = random_tz(r)};
        emit(g, &ca, story_id, ca.vtime_ms + rng_range(r, 0, 2 * MIN_MS));
        g->n_copies++;
        for (size_t i = 0; i < np; i++)
            nd_free(paras[i]);
        nd_free(paras);
        nd_free(headline);
    }
    nd_free(slug);
}

/* add_bad_lines: n lines the engine must reject, one of each kind in turn. */
static void add_bad_lines(gen_t *g, size_t n, int64_t t_lo, int64_t t_hi)
{
    for (size_t i = 0; i < n; i++) {
        nd_buf_t b = {0};
        switch (i % 6) {
        case 0:
            BUF_PRINTF(&b, "this line is not JSON at all (bad line %zu)\n", i);
            break;
        case 1:
            BUF_PRINTF(&b,
                       "{\"headline\":\"No uri here\",\"body_text\":\"A document without a uri "
                       "cannot be tracked. Bad line %zu.\"}\n",
                       i);
            break;
        case 2: {
            /* A document cut off in the middle. */
            const doc_t *d = &g->docs[rng_below(&g->rng, (uint32_t)g->n_docs)];
            size_t cut = strlen(d->line) / 2;
            BUF_ADD(&b, d->line, cut);
            BUF_STR(&b, "\n");
            break;
        }
        case 3:
            BUF_PRINTF(&b, "[\"an array\", \"not an object\", %zu]\n", i);
            break;
        case 4:
            BUF_PRINTF(&b,
                       "{\"uri\":\"urn:bad:wrong-type-%zu\",\"headline\":\"Wrong type\","
                       "\"body_text\":12345}\n",
                       i);
            break;
        default:
            BUF_PRINTF(&b, "{\"uri\":\"urn:bad:no-text-%zu\",\"headline\":\"No body\"}\n", i);
        }
        gen_push(g, rng_range(&g->rng, t_lo, t_hi), buf_take(&b), NULL);
        nd_buf_free(&b);
        g->n_bad++;
    }
}

/* make_base: a copy of story idx (scrambled for replicas > 0) grown to at least
 * min_bytes by appending paragraphs taken at random from other stories. */
static void make_base(rng_t *r, const stories_t *ss, size_t idx, size_t min_bytes, int replica,
                      story_t *out)
{
    const story_t *st = &ss->v[idx];
    memset(out, 0, sizeof(*out));
    out->id = xstrdup(st->id);
    out->headline = xstrdup(st->headline);
    out->dateline = xstrdup(st->dateline);
    out->time_ms = st->time_ms;
    for (size_t i = 0; i < st->n_paras; i++)
        story_add_para(out, xstrdup(st->paras[i]));
    size_t bytes = story_bytes(out);
    while (bytes < min_bytes && ss->n > 1) {
        size_t k = rng_below(r, (uint32_t)ss->n);
        if (k == idx)
            continue;
        const story_t *o = &ss->v[k];
        char *p = xstrdup(o->paras[rng_below(r, (uint32_t)o->n_paras)]);
        bytes += strlen(p) + 1;
        story_add_para(out, p);
    }
    if (replica > 0)
        for (size_t i = 0; i < out->n_paras; i++) {
            char *s = scramble_words(r, out->paras[i]);
            nd_free(out->paras[i]);
            out->paras[i] = s;
        }
}

static void usage(void)
{
    fputs("usage: nd-corpus (--stories DIR | --reuters DIR) --out FILE --truth FILE [options]\n"
          "  --stories DIR     base stories: DIR/*.txt, headline line then one paragraph a line\n"
          "  --reuters DIR     base stories from Reuters-21578 reut2-*.sgm in DIR\n"
          "  --out FILE        ninjs JSON Lines feed, sorted by arrival time\n"
          "  --truth FILE      uri<TAB>story-id, one line per distinct uri\n"
          "  --seed N          random seed (default 1); same seed, same bytes\n"
          "  --limit N         use at most N base stories (default all)\n"
          "  --min-body N      Reuters: skip bodies under N bytes (default 300)\n"
          "  --resend-share X  Reuters: drop a story sharing >= X of its 4-word shingles\n"
          "                    with an earlier one, a re-send (default 0.5; 0: keep all)\n"
          "  --max-copies N    typical upper bound of copies per story (default 8)\n"
          "  --copies ID=N     exactly N copies of story ID (repeatable)\n"
          "  --scale N         N replicas of every story, replicas > 1 with scrambled words\n"
          "                    and fresh uris, for throughput runs (default 1)\n"
          "  --min-bytes N     pad each base story to N bytes with paragraphs of others\n"
          "  --redeliver P     probability a document is delivered twice (default 0.02)\n"
          "  --corrections P   probability of a corrected version, same uri (default 0.02)\n"
          "  --bad N           add N lines that must be rejected (default 0)\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *stories_dir = NULL, *reuters_dir = NULL, *out_path = NULL, *truth_path = NULL;
    uint64_t seed = 1;
    size_t limit = 0, min_body = 300, min_bytes = 0, bad = 0;
    double resend_share = 0.5;
    int scale = 1;
    gen_t g = {0};
    g.max_copies = 8;
    g.redeliver_p = 0.02;
    g.correct_p = 0.02;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && (v || (usage(), die("%s needs a value", name), 0)))
        if (OPT("--stories"))
            stories_dir = v, i++;
        else if (OPT("--reuters"))
            reuters_dir = v, i++;
        else if (OPT("--out"))
            out_path = v, i++;
        else if (OPT("--truth"))
            truth_path = v, i++;
        else if (OPT("--seed"))
            seed = strtoull(v, NULL, 10), i++;
        else if (OPT("--limit"))
            limit = strtoull(v, NULL, 10), i++;
        else if (OPT("--min-body"))
            min_body = strtoull(v, NULL, 10), i++;
        else if (OPT("--max-copies"))
            g.max_copies = atoi(v), i++;
        else if (OPT("--scale"))
            scale = atoi(v), i++;
        else if (OPT("--resend-share"))
            resend_share = atof(v), i++;
        else if (OPT("--min-bytes"))
            min_bytes = strtoull(v, NULL, 10), i++;
        else if (OPT("--redeliver"))
            g.redeliver_p = atof(v), i++;
        else if (OPT("--corrections"))
            g.correct_p = atof(v), i++;
        else if (OPT("--bad"))
            bad = strtoull(v, NULL, 10), i++;
        else if (OPT("--copies")) {
            const char *eq = strchr(v, '=');
            if (!eq)
                die("--copies wants ID=N");
            g.boost_ids = xrealloc(g.boost_ids, (g.n_boost + 1) * sizeof(char *));
            g.boost_n = xrealloc(g.boost_n, (g.n_boost + 1) * sizeof(int));
            g.boost_ids[g.n_boost] = xstrndup(v, (size_t)(eq - v));
            g.boost_n[g.n_boost++] = atoi(eq + 1);
            i++;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        } else {
            usage();
            die("unknown option %s", a);
        }
#undef OPT
    }
    if ((!stories_dir == !reuters_dir) || !out_path || !truth_path) {
        usage();
        die("give one of --stories or --reuters, and --out and --truth");
    }
    if (scale < 1 || g.max_copies < 1)
        die("--scale and --max-copies must be at least 1");

    stories_t ss = {0};
    if (stories_dir) {
        load_story_dir(stories_dir, &ss);
    } else {
        /* Read a margin beyond --limit: the re-send filter removes some. */
        load_reuters(reuters_dir, min_body, limit ? limit + limit / 3 + 100 : 0, &ss);
        if (resend_share > 0) {
            size_t d = drop_near_resends(&ss, resend_share);
            fprintf(stderr,
                    "nd-corpus: reuters: dropped %zu near re-sends (>= %.0f%% shared "
                    "4-word shingles with an earlier story)\n",
                    d, resend_share * 100);
        }
    }
    if (limit && ss.n > limit) {
        for (size_t i = limit; i < ss.n; i++)
            story_free(&ss.v[i]);
        ss.n = limit;
    }
    g.reuters = reuters_dir != NULL;
    g.ss = &ss;
    rng_seed(&g.rng, seed);

    /* Folder stories carry no time: the originals go out over 30 hours. */
    const int64_t t_base = days_from_civil(2026, 3, 2) * 86400000LL + 6 * HOUR_MS;
    int64_t t_lo = INT64_MAX, t_hi = INT64_MIN;
    for (int rep = 0; rep < scale; rep++)
        for (size_t i = 0; i < ss.n; i++) {
            story_t base;
            make_base(&g.rng, &ss, i, min_bytes, rep, &base);
            int64_t t0 = base.time_ms != TIME_NONE ? base.time_ms
                                                   : t_base + rng_range(&g.rng, 0, 30 * HOUR_MS);
            if (rep > 0)
                t0 += rng_range(&g.rng, 0, 24 * HOUR_MS);
            syndicate(&g, &base, t0, rep);
            story_free(&base);
            t_lo = t0 < t_lo ? t0 : t_lo;
            t_hi = t0 > t_hi ? t0 : t_hi;
        }
    if (bad)
        add_bad_lines(&g, bad, t_lo, t_hi + 12 * HOUR_MS);
    qsort(g.docs, g.n_docs, sizeof(doc_t), cmp_doc);

    FILE *fo = fopen(out_path, "wb");
    if (!fo)
        die("%s: %s", out_path, strerror(errno));
    FILE *ft = fopen(truth_path, "wb");
    if (!ft)
        die("%s: %s", truth_path, strerror(errno));
    size_t bytes = 0;
    for (size_t i = 0; i < g.n_docs; i++) {
        size_t l = strlen(g.docs[i].line);
        bytes += l;
        fwrite(g.docs[i].line, 1, l, fo);
        if (g.docs[i].truth)
            fputs(g.docs[i].truth, ft);
        nd_free(g.docs[i].line);
        nd_free(g.docs[i].truth);
    }
    if (fclose(fo) != 0 || fclose(ft) != 0)
        die("write failed: %s", strerror(errno));
    fprintf(stderr,
            "nd-corpus: %zu base stories x %d: %zu originals, %zu copies, %zu re-deliveries, "
            "%zu corrections, %zu bad lines; %zu lines, %.1f MB\n",
            ss.n, scale, g.n_orig, g.n_copies, g.n_redeliveries, g.n_corrections, g.n_bad, g.n_docs,
            bytes / 1e6);
    for (size_t i = 0; i < ss.n; i++)
        story_free(&ss.v[i]);
    nd_free(ss.v);
    nd_free(g.docs);
    for (size_t i = 0; i < g.n_boost; i++)
        nd_free((void *)g.boost_ids[i]);
    nd_free(g.boost_ids);
    nd_free(g.boost_n);
    return 0;
}
