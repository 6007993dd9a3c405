/*
 * summary.c - the end-of-run table of the biggest clusters.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct nd_sum_entry_s {
    uint64_t id;
    uint32_t count, sources;
    uint64_t order; /* arrival order of the cluster's first article */
    char *headline;
    int used;
} nd_sum_entry_t;

struct nd_summary_s {
    nd_sum_entry_t *tab;
    size_t cap, n;
    uint64_t next_order;
};

nd_summary_t *nd_summary_new(void)
{
    nd_summary_t *s = nd_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cap = 1024;
    s->tab = nd_calloc(s->cap, sizeof(*s->tab));
    if (!s->tab) {
        nd_free(s);
        return NULL;
    }
    return s;
}

void nd_summary_destroy(nd_summary_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cap; i++)
        nd_free(s->tab[i].headline);
    nd_free(s->tab);
    nd_free(s);
}

/* Find the slot of id in a table of capacity cap (a power of two). */
static nd_sum_entry_t *nd_sum_slot(nd_sum_entry_t *tab, size_t cap, uint64_t id)
{
    size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & (cap - 1);
    while (tab[i].used && tab[i].id != id)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* Double the table when it is 3/4 full. */
static int nd_sum_grow(nd_summary_t *s)
{
    size_t cap = s->cap * 2;
    nd_sum_entry_t *tab = nd_calloc(cap, sizeof(*tab));
    if (!tab)
        return -1;
    for (size_t i = 0; i < s->cap; i++)
        if (s->tab[i].used)
            *nd_sum_slot(tab, cap, s->tab[i].id) = s->tab[i];
    nd_free(s->tab);
    s->tab = tab;
    s->cap = cap;
    return 0;
}

int nd_summary_add(nd_summary_t *s, const nd_article_t *art, const nd_decision_t *d)
{
    if (d->verdict == ND_VERDICT_REDELIVERY)
        return 0;
    if ((s->n + 1) * 4 > s->cap * 3 && nd_sum_grow(s))
        return -1;
    nd_sum_entry_t *e = nd_sum_slot(s->tab, s->cap, d->cluster.id);
    if (!e->used) {
        e->used = 1;
        e->id = d->cluster.id;
        e->order = s->next_order++;
        s->n++;
    }
    e->count = d->cluster.count;
    e->sources = d->cluster.sources;
    if (d->verdict == ND_VERDICT_NEW || d->canonical_changed || !e->headline) {
        char *h = nd_strndup(art->headline ? art->headline : "", art->headline_len);
        if (!h)
            return -1;
        nd_free(e->headline);
        e->headline = h;
    }
    return 0;
}

/* Biggest first; ties by first arrival. */
static int nd_sum_cmp(const void *a, const void *b)
{
    const nd_sum_entry_t *x = *(nd_sum_entry_t *const *)a, *y = *(nd_sum_entry_t *const *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void nd_summary_print(const nd_summary_t *s, int n, FILE *f)
{
    nd_sum_entry_t **v = nd_malloc((s->n ? s->n : 1) * sizeof(*v));
    if (!v)
        return;
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++)
        if (s->tab[i].used)
            v[k++] = &s->tab[i];
    qsort(v, k, sizeof(*v), nd_sum_cmp);
    fprintf(f, "%-16s  %8s  %7s  %s\n", "cluster", "articles", "sources", "canonical headline");
    for (size_t i = 0; i < k && (int)i < n; i++) {
        char cid[17];
        nd_cluster_id_str(v[i]->id, cid);
        const char *h = v[i]->headline ? v[i]->headline : "";
        /* Cut long headlines at 70 bytes, on a UTF-8 boundary. */
        int len = (int)strlen(h);
        if (len > 70) {
            len = 70;
            while (len > 0 && ((unsigned char)h[len] & 0xC0) == 0x80)
                len--;
        }
        fprintf(f, "%-16s  %8u  %7u  %.*s%s\n", cid, v[i]->count, v[i]->sources, len, h,
                (size_t)len < strlen(h) ? "..." : "");
    }
    fprintf(f, "(%zu clusters in all)\n", k);
    nd_free(v);
}
