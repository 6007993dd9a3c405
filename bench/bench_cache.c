/*
 * bench_cache.c - how long a software prefetch keeps its line on this
 * machine. The engine's add reads ~32 random lines of a multi-megabyte index
 * (one bucket per LSH band), and can start those loads early (its eviction
 * pipeline does, an add ahead). Whether that pays depends on how long a line stays
 * in the caches between the prefetch and the load, which on a shared or
 * virtualised host is set by the neighbours, not by this program.
 *
 *     bench_cache [table-MB] [steps]   (default 4 MB, the index of the 4 KB
 *                                       feed, and 20000 steps)
 *
 * A step does some work (a chain of multiplies lasting the "lead"), then
 * loads 32 random lines of the table and times those loads alone. With
 * prefetch, the step's lines were prefetched one step earlier, i.e. one lead
 * before; the baseline, in the same run, loads lines nobody prefetched. Each
 * row prints nanoseconds per loaded line, both ways, and their ratio.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nd_common.h"

#define LINES_PER_STEP 32

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A dependent chain of `iters` multiply-adds: work the loads cannot overlap
 * with (the result is returned so that it is not optimised away). */
static uint64_t work(uint64_t acc, long iters)
{
    for (long w = 0; w < iters; w++)
        acc = acc * 6364136223846793005ULL + (acc >> 17);
    return acc;
}

/* One measurement: @return ns per loaded line over `steps` steps of `iters`
 * work each; *sink collects the loaded values and the work. */
static double run(const uint32_t *t, const uint32_t *idx, long steps, long iters, int prefetch,
                  uint64_t *sink)
{
    double ns = 0, empty = 1e30;
    uint64_t acc = 1, sum = 0;
    for (int k = 0; k < 64; k++) { /* the clock's own cost, least of 64 */
        double a = now_ns(), b = now_ns();
        empty = b - a < empty ? b - a : empty;
    }
    for (long i = 0; i < steps; i++) {
        const uint32_t *cur = idx + (size_t)i * LINES_PER_STEP;
        if (prefetch)
            for (int j = 0; j < LINES_PER_STEP; j++)
                __builtin_prefetch(&t[(size_t)cur[LINES_PER_STEP + j] * 16]);
        acc = work(acc, iters);
        double a = now_ns();
        uint32_t x = 0;
        for (int j = 0; j < LINES_PER_STEP; j++)
            x += t[(size_t)cur[j] * 16];
        sum += x;
        __asm__ volatile("" : : "r"(x) : "memory"); /* the loads complete before the clock */
        ns += now_ns() - a - empty;
    }
    *sink += sum + acc;
    return ns / ((double)steps * LINES_PER_STEP);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 4;
    long steps = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    if (mb < 1 || mb > 4096 || steps < 100) {
        fprintf(stderr, "usage: bench_cache [table-MB 1..4096] [steps >= 100]\n");
        return 2;
    }
    size_t bytes = mb << 20, lines = bytes / 64;
    uint32_t *t = nd_malloc(bytes);
    uint32_t *idx = nd_malloc(((size_t)steps + 1) * LINES_PER_STEP * sizeof(uint32_t));
    if (!t || !idx) {
        fprintf(stderr, "bench_cache: out of memory\n");
        return 1;
    }
    memset(t, 1, bytes);
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < ((size_t)steps + 1) * LINES_PER_STEP; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        idx[i] = (uint32_t)(s % lines);
    }
    /* ns per work iteration, to express the leads in time */
    double a = now_ns();
    uint64_t sink = work(1, 10000000);
    double ns_iter = (now_ns() - a) / 1e7;

    printf("bench_cache: %zu MB table, %d random lines a step, %ld steps; work %.2f ns/iter\n", mb,
           LINES_PER_STEP, steps, ns_iter);
    printf("%12s %16s %16s %8s\n", "lead (us)", "prefetched ns", "baseline ns", "ratio");
    static const double lead_us[] = {0.1, 0.3, 1.0, 3.0, 10.0};
    for (size_t r = 0; r < sizeof(lead_us) / sizeof(lead_us[0]); r++) {
        long iters = (long)(lead_us[r] * 1000 / ns_iter);
        long n = steps;
        if (lead_us[r] >= 3.0)
            n = steps / 4; /* bounded run time */
        double pf = run(t, idx, n, iters, 1, &sink);
        double base = run(t, idx, n, iters, 0, &sink);
        printf("%12.1f %16.1f %16.1f %8.2f\n", lead_us[r], pf, base, pf / base);
    }
    printf("(prefetched: lines loaded one lead after their prefetch; baseline: the same loads, "
           "never prefetched; sink %llu)\n",
           (unsigned long long)(sink & 1));
    nd_free(idx);
    nd_free(t);
    return 0;
}
