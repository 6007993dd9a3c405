/*
 * metrics.c - pairwise precision/recall/F1 and the Adjusted Rand Index.
 *
 * Everything comes from the contingency table n_ij (items with true story i
 * and predicted cluster j) and its margins a_i, b_j, found by sorting label
 * pairs: pairs together in both = sum C(n_ij, 2), in the truth = sum C(a_i, 2),
 * in the prediction = sum C(b_j, 2).
 */
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

#include "nd_common.h"

typedef struct lp_s {
    uint64_t a, b;
} lp_t;

static int cmp_lp(const void *x, const void *y)
{
    const lp_t *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return 0;
}

static uint64_t choose2(uint64_t k)
{
    return k * (k - (k > 0)) / 2;
}

/* pairs_within: sum over runs of equal (a) or equal (a, b) of C(run, 2);
 * v must be sorted by (a, b). */
static uint64_t pairs_within(const lp_t *v, size_t n, int both)
{
    uint64_t sum = 0;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && v[i].a == v[i - 1].a && (!both || v[i].b == v[i - 1].b);
        if (same) {
            run++;
        } else {
            sum += choose2(run);
            run = 1;
        }
    }
    return sum + choose2(run);
}

int nd_pair_metrics(const uint64_t *truth, const uint64_t *pred, size_t n, nd_pair_metrics_t *out)
{
    memset(out, 0, sizeof(*out));
    lp_t *v = nd_malloc((n ? n : 1) * sizeof(lp_t));
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = (lp_t){truth[i], pred[i]};
    qsort(v, n, sizeof(lp_t), cmp_lp);
    uint64_t tp = pairs_within(v, n, 1);
    uint64_t tr = pairs_within(v, n, 0);
    for (size_t i = 0; i < n; i++)
        v[i] = (lp_t){pred[i], truth[i]};
    qsort(v, n, sizeof(lp_t), cmp_lp);
    uint64_t pr = pairs_within(v, n, 0);
    nd_free(v);

    out->n = n;
    out->tp_pairs = tp;
    out->true_pairs = tr;
    out->pred_pairs = pr;
    out->precision = pr ? (double)tp / (double)pr : 1.0;
    out->recall = tr ? (double)tp / (double)tr : 1.0;
    double ps = out->precision + out->recall;
    out->f1 = ps > 0 ? 2 * out->precision * out->recall / ps : 0.0;

    /* ARI = (index - expected) / (max - expected), with
     * expected = sum_a * sum_b / C(n, 2) and max = (sum_a + sum_b) / 2. */
    double all = (double)choose2(n);
    double expected = all > 0 ? (double)tr * (double)pr / all : 0.0;
    double maxi = ((double)tr + (double)pr) / 2.0;
    double den = maxi - expected;
    if (den == 0.0)
        out->ari = 1.0;
    else
        out->ari = ((double)tp - expected) / den;
    return 0;
}
