/*
 * bench_sign.c - signature cost per kernel on ~4 KB English-like articles,
 * with the ratio to the scalar reference and to a naive MinHash (128
 * independent hash functions per shingle) measured in the same run.
 *
 *     bench_sign [articles] [kernel]  (default 2000 distinct articles, 20 passes,
 *                                      every kernel; naming one skips the others
 *                                      and the naive baseline, for perf stat)
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dedup_int.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ~4 KB of lower-case words with an English-like length distribution. */
static size_t make_article(uint64_t seed, char *out, size_t cap)
{
    static const char *w[] = {
        "the",       "of",        "and",   "to",       "in",        "a",           "said",
        "on",        "for",       "that",  "minister", "agreement", "cooperation", "energy",
        "with",      "was",       "by",    "it",       "year",      "percent",     "government",
        "officials", "president", "would", "its",      "from",      "billion",     "trade"};
    size_t len = 0;
    uint64_t s = seed;
    while (len < 4000 && len + 32 < cap) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = s >> 33;
        if (len)
            out[len++] = ' ';
        if (r % 3 == 0) /* a rarer word */
            len += (size_t)snprintf(out + len, cap - len, "w%llu", (unsigned long long)(r % 30000));
        else
            len += (size_t)snprintf(out + len, cap - len, "%s", w[r % 28]);
    }
    out[len] = 0;
    return len;
}

/* Baseline: classic MinHash, ND_SIG_SLOTS independent hashes of every shingle. */
static void naive_minhash(const char *text, size_t len, uint32_t k, uint32_t out[ND_SIG_SLOTS])
{
    uint64_t th[8192];
    size_t n = 0;
    const char *p = text, *end = text + len;
    while (p < end && n < 8192) {
        const char *t = p;
        while (p < end && *p != ' ')
            p++;
        th[n++] = XXH3_64bits(t, (size_t)(p - t));
        p++;
    }
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        out[i] = UINT32_MAX;
    for (size_t i = 0; i + k <= n; i++) {
        uint64_t x = nd_shingle_mix(th + i, k);
        for (int j = 0; j < ND_SIG_SLOTS; j++) {
            uint64_t h = (x ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(j + 1))) * 0xff51afd7ed558ccdULL;
            uint32_t v = (uint32_t)(h >> 32);
            if (v < out[j])
                out[j] = v;
        }
    }
}

int main(int argc, char **argv)
{
    /* "bench_sign avx2" used to read the kernel name as 0 articles (and print
     * -nan): a first argument that is not a positive count is the kernel. */
    int narts = argc > 1 ? atoi(argv[1]) : 0, passes = 20, argk = 2;
    if (narts <= 0) {
        narts = 2000;
        argk = argc > 1 && strspn(argv[1], "0123456789") != strlen(argv[1]) ? 1 : 2;
    }
    char **arts = malloc((size_t)narts * sizeof(char *));
    size_t *lens = malloc((size_t)narts * sizeof(size_t)), total = 0;
    for (int i = 0; i < narts; i++) {
        arts[i] = malloc(8192);
        lens[i] = make_article((uint64_t)i + 1, arts[i], 8192);
        total += lens[i];
    }
    printf("bench_sign: %d articles, %.0f bytes each on average, k=4, %d slots\n", narts,
           (double)total / narts, ND_SIG_SLOTS);
    const char *const *names = nd_sign_kernels();
    double scalar_us = 0;
    uint64_t sink = 0;
    const char *only = argc > argk ? argv[argk] : NULL;
    if (only && !nd_sign_kernel_find(only)) {
        fprintf(stderr, "bench_sign: no kernel \"%s\" on this build/CPU\n", only);
        return 2;
    }
    double best_us = 1e9;
    nd_densify_tab_t dens; /* as the engine signs: with the seed's probe table */
    nd_densify_tab_init(&dens, 42);
    for (int n = 0; names[n]; n++) {
        if (only && strcmp(only, names[n]))
            continue;
        const nd_sign_kernel_t *kern = nd_sign_kernel_find(names[n]);
        nd_sig_t sig;
        double best = 1e9;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now();
            for (int p = 0; p < passes; p++)
                for (int i = 0; i < narts; i++) {
                    nd_sign_with(kern, &dens, 4, 42, arts[i], lens[i], &sig);
                    sink += sig.slots[i & (ND_SIG_SLOTS - 1)];
                }
            double us = (now() - t0) * 1e6 / ((double)passes * narts);
            if (us < best)
                best = us;
        }
        if (!strcmp(names[n], "scalar"))
            scalar_us = best;
        if (best < best_us)
            best_us = best;
        printf("  %-8s %6.2f us/article  %7.1f MB/s", names[n], best, (double)total / narts / best);
        if (scalar_us > 0)
            printf("  x%.2f vs scalar", scalar_us / best);
        printf("\n");
    }
    if (only)
        goto done;
    uint32_t out[ND_SIG_SLOTS];
    int nb = narts < 200 ? narts : 200;
    double t0 = now();
    for (int i = 0; i < nb; i++) {
        naive_minhash(arts[i], lens[i], 4, out);
        sink += out[i & (ND_SIG_SLOTS - 1)];
    }
    double naive = (now() - t0) * 1e6 / nb;
    printf("  naive    %6.2f us/article  (%d independent hashes per shingle): the best kernel "
           "is x%.1f faster\n",
           naive, ND_SIG_SLOTS, naive / best_us);
done:
    for (int i = 0; i < narts; i++)
        free(arts[i]);
    free(arts);
    free(lens);
    return sink == 42; /* keep the work */
}
