/*
 * coreprobe.c - the core probe (coreprobe.h).
 */
#include "coreprobe.h"

#include <stdint.h>
#include <time.h>

/* Four 32-bit lanes: a 128-bit register on every target (SSE2, NEON). */
typedef uint32_t probe_v4 __attribute__((vector_size(16)));

/* Sink of every probe's result, so the loop is never optimised away. */
static volatile uint32_t probe_sink;

/* One step of a chain: two operations deep, three operations of work. */
#define PROBE_STEP(v, c) v = ((v) + (c)) ^ ((v) >> 5)

/* n iterations of six vector and four integer chains, independent of each
 * other: the loop is bound by how many operations the core issues for it
 * (~30 an iteration), not by the latency of a chain, so it slows down as soon
 * as another thread takes some of the core's units. @return all lanes mixed. */
__attribute__((noinline)) static uint32_t probe_loop(long n)
{
    probe_v4 a = {1, 2, 3, 4}, b = a + 4, c = a + 8, d = a + 12, e = a + 16, f = a + 20;
    const probe_v4 k = {0x9E3779B1u, 0x85EBCA77u, 0xC2B2AE3Du, 0x27D4EB2Fu};
    uint32_t x = 1, y = 2, z = 3, w = 4;
    for (long i = 0; i < n; i++) {
        PROBE_STEP(a, k);
        PROBE_STEP(b, k);
        PROBE_STEP(c, k);
        PROBE_STEP(d, k);
        PROBE_STEP(e, k);
        PROBE_STEP(f, k);
        PROBE_STEP(x, 0x9E3779B1u);
        PROBE_STEP(y, 0x85EBCA77u);
        PROBE_STEP(z, 0xC2B2AE3Du);
        PROBE_STEP(w, 0x27D4EB2Fu);
    }
    a ^= b ^ c ^ d ^ e ^ f;
    return x ^ y ^ z ^ w ^ a[0] ^ a[1] ^ a[2] ^ a[3];
}

static double probe_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double nd_coreprobe_rate(void)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = probe_now();
        probe_sink += probe_loop(ND_COREPROBE_ITERS);
        double t = probe_now() - t0;
        if (t > 0 && (best == 0 || t < best))
            best = t;
    }
    return best > 0 ? ND_COREPROBE_ITERS / best / 1e6 : 0;
}
