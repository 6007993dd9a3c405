/*
 * coreprobe.h - how much of its core the bench is getting right now.
 *
 * A vCPU of a shared host is often one hardware thread of a core whose other
 * thread runs someone else's work: the two then share the core's execution
 * units, and everything the bench times runs slower, in bursts, with no
 * stolen time to show for it. The probe times a fixed loop of register-only
 * work (vector and integer multiplies, adds, shifts: no loads or stores, so
 * caches and memory play no part) between timed stretches; its rate against
 * the best rate seen in the same run is the share of the core the bench had.
 *
 *     double best = 0, r = nd_coreprobe_rate();
 *     best = r > best ? r : best;  ... share = r / best
 */
#ifndef ND_BENCH_COREPROBE_H
#define ND_BENCH_COREPROBE_H

/*
 * nd_coreprobe_rate: the probe loop's rate in millions of iterations a second,
 * the best of three runs of ND_COREPROBE_ITERS iterations (~40 us each on a
 * 3 GHz core of its own). Touches no memory; its cost is only its time, which
 * callers keep out of what they measure.
 */
double nd_coreprobe_rate(void);

#define ND_COREPROBE_ITERS 20000

#endif /* ND_BENCH_COREPROBE_H */
