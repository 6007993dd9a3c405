/*
 * bench_normalize.c - nd_normalize() against utf8proc's whole-string map.
 *
 *     bench_normalize [seconds-per-case]      (default 0.3)
 *
 * For each text (about 4 KB: plain English, English with typography,
 * German, Russian, Chinese) prints MB/s and µs per article of:
 *   utf8proc_map   NFKC + casefold + stripmark over the whole string (the
 *                  baseline: no tokenising at all, just the map)
 *   general path   nd_normalize_ex(ND_NORM_NO_ASCII_FAST): every code point
 *                  through utf8proc_decompose_char
 *   SSE2 path      nd_normalize_ex(ND_NORM_NO_AVX2): the ASCII fast path 16
 *                  bytes a block, as on a CPU without AVX2
 *   nd_normalize   the real thing, ASCII runs on the fast path (AVX2 where
 *                  the CPU has it)
 * and the ratio of nd_normalize to the baseline. Best of 5 rounds, one core.
 */
#include "normalize_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const struct {
    const char *name;
    const char *para;
} texts[] = {
    {"English, ASCII",
     "GROSSETO, Italy (AP) -- The trial of the captain of the shipwrecked Costa Concordia cruise "
     "liner has begun in a theater converted into a courtroom in Tuscany to accommodate all the "
     "survivors and relatives of the 32 victims. Pepe said some 1,000 witnesses are expected to "
     "eventually testify.\n"},
    {"English, typography",
     "GROSSETO, Italy (AP) \xe2\x80\x94 The trial of the captain of the shipwrecked Costa "
     "Concordia cruise liner has begun in a theater converted into a courtroom in Tuscany. "
     "\xe2\x80\x9cWe\xe2\x80\x99re ready,\xe2\x80\x9d his lawyer said\xe2\x80\xa6 some "
     "1,000\xc2\xa0witnesses are expected to testify.\n"},
    {"German", "F\xc3\xbcr Lucien Favre war es \xc2\xab"
               "der gr\xc3\xb6\xc3\x9f"
               "te Skandal im "
               "Fu\xc3\x9f"
               "ball seit Jahren\xc2\xbb. Der Trainer von Borussia Dortmund regte sich nach "
               "dem 2:4 im Revierderby gegen den FC Schalke 04 m\xc3\xa4"
               "chtig \xc3\xbc"
               "ber den "
               "Handelfmeter auf.\n"},
    {"Russian",
     "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0 \xd0\xb8 \xd0\xa2\xd0\xb5\xd0\xb3\xd0\xb5"
     "\xd1\x80\xd0\xb0\xd0\xbd \xd0\xbf\xd0\xbe\xd0\xb4\xd0\xbf\xd0\xb8\xd1\x81\xd0\xb0\xd0\xbb"
     "\xd0\xb8 \xd0\xb4\xd0\xbe\xd0\xb3\xd0\xbe\xd0\xb2\xd0\xbe\xd1\x80 \xd0\xbe \xd1\x81\xd1\x82"
     "\xd1\x80\xd0\xb0\xd1\x82\xd0\xb5\xd0\xb3\xd0\xb8\xd1\x87\xd0\xb5\xd1\x81\xd0\xba\xd0\xbe"
     "\xd0\xbc \xd0\xbf\xd0\xb0\xd1\x80\xd1\x82\xd0\xbd\xd1\x91\xd1\x80\xd1\x81\xd1\x82\xd0\xb2"
     "\xd0\xb5. "},
    {"Chinese",
     "(\xe7\xbe\x8e\xe5\x9c\x8b\xe5\x95\x86\xe6\xa5\xad\xe8\xb3\x87\xe8\xa8\x8a)--\xe7\x82\xba"
     "\xe9\x80\x8f\xe6\x98\x8e\xe5\x8f\x8a\xe8\xbb\x9f\xe6\x80\xa7\xe5\xb0\x8e\xe9\xab\x94\xe5"
     "\xb8\x82\xe5\xa0\xb4\xe6\x8f\x90\xe4\xbe\x9b\xe9\x8a\x80\xe5\xa5\x88\xe7\xb1\xb3\xe7\xb7"
     "\x9a\xe8\xa7\xa3\xe6\xb1\xba\xe6\x96\xb9\xe6\xa1\x88\xe7\x9a\x84\xe9\xa0\x98\xe5\xb0\x8e"
     "\xe5\xbb\xa0\xe5\x95\x86"
     "Cambrios Technologies\xe4\xbb\x8a\xe5\xa4\xa9\xe5\xae\xa3\xe5\xb8"
     "\x83\xe3\x80\x82"},
};

enum { M_MAP, M_GENERAL, M_SSE2, M_ND, M__N };

static size_t one(int mode, const char *s, size_t len, nd_buf_t *out)
{
    if (mode == M_MAP) {
        utf8proc_uint8_t *m = NULL;
        utf8proc_ssize_t n =
            utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &m,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                             UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP);
        free(m); /* utf8proc allocates with libc malloc */
        return n > 0 ? (size_t)n : 0;
    }
    nd_normalize_ex(s, len, 0,
                    mode == M_GENERAL ? ND_NORM_NO_ASCII_FAST
                    : mode == M_SSE2  ? ND_NORM_NO_AVX2
                                      : 0,
                    out);
    return out->len;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    static const char *const mode_names[M__N] = {"utf8proc_map", "general path", "SSE2 path",
                                                 "nd_normalize"};
    printf("%-22s %-14s %9s %11s %10s\n", "text (4 KB)", "method", "MB/s", "us/article", "vs map");
    nd_buf_t out = {0}, text = {0};
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        nd_buf_reset(&text);
        while (text.len < 4000)
            nd_buf_append(&text, texts[t].para, strlen(texts[t].para));
        double best[M__N] = {0};
        for (int round = 0; round < 5; round++) {
            for (int m = 0; m < M__N; m++) {
                size_t n = 0, check = 0;
                double t0 = now(), el;
                do {
                    for (int k = 0; k < 50; k++)
                        check += one(m, text.p, text.len, &out);
                    n += 50;
                    el = now() - t0;
                } while (el < secs / 5);
                double mbs = (double)n * (double)text.len / el / 1e6;
                if (check && mbs > best[m])
                    best[m] = mbs;
            }
        }
        for (int m = 0; m < M__N; m++)
            printf("%-22s %-14s %9.0f %11.2f %9.1fx\n", texts[t].name, mode_names[m], best[m],
                   (double)text.len / best[m], best[m] / best[M_MAP]);
    }
    nd_buf_free(&out);
    nd_buf_free(&text);
    return 0;
}
