/*
 * batch.c - the parallel parse+sign stage. Worker w takes a contiguous
 * slice of the batch, so its copies of article strings stay local. It works
 * through its slice ND_BATCH_GROUP items at a time, each with its own parser:
 * the group is parsed, then signed, so that each stage's code and tables stay
 * in the caches for a whole group (nd-bench measured 3-5% per article).
 */
#include "batch.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ND_BATCH_GROUP 16

typedef struct nd_worker_s {
    nd_parser_t *parser[ND_BATCH_GROUP];
    nd_buf_t arena; /* copies of the article strings of this worker's slice */
    nd_batch_item_t *items;
    size_t n;
    const nd_dedup_t *dd;
    nd_err_t err;
} nd_worker_t;

struct nd_batcher_s {
    int threads;
    const nd_dedup_t *dd;
    nd_worker_t *w;
};

nd_batcher_t *nd_batcher_new(int threads, const nd_parser_conf_t *pconf, const nd_dedup_t *dd,
                             char *errstr, size_t errstr_size)
{
    if (threads < 1)
        threads = 1;
    nd_batcher_t *b = nd_calloc(1, sizeof(*b));
    if (!b || !(b->w = nd_calloc((size_t)threads, sizeof(*b->w)))) {
        nd_free(b);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    b->threads = threads;
    b->dd = dd;
    for (int i = 0; i < threads; i++) {
        b->w[i].dd = dd;
        for (int k = 0; k < ND_BATCH_GROUP; k++)
            if (!(b->w[i].parser[k] = nd_parser_new(pconf, errstr, errstr_size))) {
                nd_batcher_destroy(b);
                return NULL;
            }
    }
    return b;
}

void nd_batcher_destroy(nd_batcher_t *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->threads; i++) {
        for (int k = 0; k < ND_BATCH_GROUP; k++)
            nd_parser_destroy(b->w[i].parser[k]);
        nd_buf_free(&b->w[i].arena);
    }
    nd_free(b->w);
    nd_free(b);
}

/* Copy one string of the article into the arena; store its offset for now. */
static nd_err_t nd_stash(nd_buf_t *arena, const char **s, size_t len)
{
    size_t off = arena->len;
    if (nd_buf_append(arena, *s ? *s : "", len) || nd_buf_putc(arena, '\0'))
        return ND_ERR_NOMEM;
    *s = (const char *)(uintptr_t)off;
    return ND_ERR_NO_ERROR;
}

/* Turn a stashed offset back into a pointer into the final arena. */
static void nd_unstash(const nd_buf_t *arena, const char **s)
{
    *s = arena->p + (uintptr_t)*s;
}

/* Parse and sign the worker's slice, a group at a time. */
static void *nd_worker_main(void *arg)
{
    nd_worker_t *w = arg;
    nd_buf_reset(&w->arena);
    w->err = ND_ERR_NO_ERROR;
    for (size_t g = 0; g < w->n; g += ND_BATCH_GROUP) {
        size_t ng = w->n - g < ND_BATCH_GROUP ? w->n - g : ND_BATCH_GROUP;
        for (size_t k = 0; k < ng; k++) {
            nd_batch_item_t *it = &w->items[g + k];
            it->errstr[0] = '\0';
            it->err = nd_parser_parse(w->parser[k], it->input, it->input_len, &it->art, it->errstr,
                                      sizeof(it->errstr));
        }
        for (size_t k = 0; k < ng; k++) {
            nd_batch_item_t *it = &w->items[g + k];
            if (it->err)
                continue;
            nd_dedup_sign(w->dd, it->art.text, it->art.text_len, &it->sig);
            it->art.text = NULL;
            it->art.text_len = 0;
            if (nd_stash(&w->arena, &it->art.uri, it->art.uri_len) ||
                nd_stash(&w->arena, &it->art.source, it->art.source_len) ||
                nd_stash(&w->arena, &it->art.headline, it->art.headline_len) ||
                nd_stash(&w->arena, &it->art.language, it->art.language_len)) {
                it->err = w->err = ND_ERR_NOMEM;
                snprintf(it->errstr, sizeof(it->errstr), "out of memory");
            }
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        nd_batch_item_t *it = &w->items[i];
        if (it->err)
            continue;
        nd_unstash(&w->arena, &it->art.uri);
        nd_unstash(&w->arena, &it->art.source);
        nd_unstash(&w->arena, &it->art.headline);
        nd_unstash(&w->arena, &it->art.language);
    }
    return NULL;
}

nd_err_t nd_batcher_run(nd_batcher_t *b, nd_batch_item_t *items, size_t n)
{
    int t = b->threads;
    if ((size_t)t > n / 16 + 1)
        t = (int)(n / 16 + 1); /* small batches are not worth a thread */
    pthread_t tid[64];
    int created[64] = {0};
    if (t > 64)
        t = 64;
    size_t per = (n + (size_t)t - 1) / (size_t)t, start = 0;
    for (int i = 0; i < t; i++) {
        nd_worker_t *w = &b->w[i];
        w->items = items + start;
        w->n = start < n ? (n - start < per ? n - start : per) : 0;
        start += w->n;
        if (i == 0)
            continue; /* worker 0 runs on the calling thread */
        if (pthread_create(&tid[i], NULL, nd_worker_main, w) == 0)
            created[i] = 1;
        else
            nd_worker_main(w); /* no thread: do its slice here */
    }
    nd_worker_main(&b->w[0]);
    nd_err_t err = b->w[0].err;
    for (int i = 1; i < t; i++) {
        if (created[i])
            pthread_join(tid[i], NULL);
        if (b->w[i].err)
            err = b->w[i].err;
    }
    return err;
}
