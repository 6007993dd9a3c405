/*
 * metrics.h - clustering quality against a known truth, for the bench.
 *
 * Items are labelled twice: by their true story and by the cluster the engine
 * gave them. Pairwise scores count pairs of items: a pair is a true positive
 * when both labellings put the two items together.
 *
 *     nd_pair_metrics_t m;
 *     nd_pair_metrics(truth, pred, n, &m);
 *     printf("P %.4f R %.4f F1 %.4f ARI %.4f\n", m.precision, m.recall, m.f1, m.ari);
 */
#ifndef ND_BENCH_METRICS_H
#define ND_BENCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct nd_pair_metrics_s {
    size_t n;            /* items scored */
    uint64_t true_pairs; /* pairs in the same true story */
    uint64_t pred_pairs; /* pairs in the same predicted cluster */
    uint64_t tp_pairs;   /* pairs together in both */
    double precision;    /* tp / pred_pairs; 1 when pred_pairs is 0 */
    double recall;       /* tp / true_pairs; 1 when true_pairs is 0 */
    double f1;           /* harmonic mean of precision and recall; 0 when both are 0 */
    double ari;          /* Adjusted Rand Index (Hubert & Arabie); 1 when both labellings
                            are trivial in the same way (all singletons or one group) */
} nd_pair_metrics_t;

/*
 * nd_pair_metrics: score the predicted labelling pred[] against truth[], both
 * of n items (label values are opaque ids: only equality matters).
 * @return 0, or -1 if memory ran out (out is then zeroed).
 */
int nd_pair_metrics(const uint64_t *truth, const uint64_t *pred, size_t n, nd_pair_metrics_t *out);

#endif /* ND_BENCH_METRICS_H */
