/*
 * bench_neighbour.c - a noisy neighbour on demand: reads and writes every
 * cache line of a block of MB megabytes, over and over, until killed (or for
 * SECONDS seconds). Run on the other core while a benchmark runs (segmin.sh
 * does this when ND_NEIGHBOUR_MB is set), it evicts the benchmark's lines
 * from the shared last-level cache the way other tenants of a shared host do
 * in its busy minutes, but the same way every time: changes that make the
 * engine wait less for memory can then be compared without waiting for the
 * host's noise to repeat itself.
 *
 *     bench_neighbour [MB] [SECONDS]   (default 64 MB, no time limit)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nd_common.h"

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    double limit = argc > 2 ? strtod(argv[2], NULL) : 0;
    if (mb == 0 || mb > 65536) {
        fprintf(stderr, "usage: bench_neighbour [MB (1..65536)] [SECONDS]\n");
        return 2;
    }
    size_t words = (mb << 20) / sizeof(uint64_t);
    volatile uint64_t *p = nd_malloc(words * sizeof(uint64_t));
    if (!p) {
        fprintf(stderr, "bench_neighbour: out of memory for %zu MB\n", mb);
        return 1;
    }
    for (size_t i = 0; i < words; i++)
        p[i] = i;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t s = 0;
    for (;;) {
        for (size_t i = 0; i < words; i += 8) { /* one word a 64-byte line */
            s += p[i];
            p[i] = s;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (limit > 0 && (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (t.tv_nsec - t0.tv_nsec) > limit)
            break;
    }
    nd_free((void *)p);
    return 0;
}
