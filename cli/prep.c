/*
 * prep.c - the background parse+sign stage of `run`: while the run loop
 * decides, produces and commits batch N, this thread parses and signs batch
 * N+1 (with the batcher's own -j threads), so both cores work and the
 * commit's network wait overlaps useful work.
 */
#include "kafka_int.h"

#include <pthread.h>
#include <stdio.h>

struct nd_prep_s {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int pending, done, stop;
    nd_batcher_t *batcher;
    nd_batch_item_t *items;
    size_t n;
    nd_err_t err;
};

/* The thread: run each submitted job, signal its end. */
static void *nd_prep_main(void *arg)
{
    nd_prep_t *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->pending && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (!p->pending)
            break;
        pthread_mutex_unlock(&p->lock);
        nd_err_t err = nd_batcher_run(p->batcher, p->items, p->n);
        pthread_mutex_lock(&p->lock);
        p->err = err;
        p->pending = 0;
        p->done = 1;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

nd_prep_t *nd_prep_new(char *errstr, size_t errstr_size)
{
    nd_prep_t *p = nd_calloc(1, sizeof(*p));
    if (!p) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, nd_prep_main, p)) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        nd_free(p);
        snprintf(errstr, errstr_size, "cannot start the parse+sign thread");
        return NULL;
    }
    return p;
}

void nd_prep_destroy(nd_prep_t *p)
{
    if (!p)
        return;
    nd_prep_wait(p);
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    nd_free(p);
}

void nd_prep_submit(nd_prep_t *p, nd_batcher_t *b, nd_batch_item_t *items, size_t n)
{
    pthread_mutex_lock(&p->lock);
    p->batcher = b;
    p->items = items;
    p->n = n;
    p->done = 0;
    p->pending = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

nd_err_t nd_prep_wait(nd_prep_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->pending)
        pthread_cond_wait(&p->cond, &p->lock);
    nd_err_t err = p->done ? p->err : ND_ERR_NO_ERROR;
    p->done = 0;
    pthread_mutex_unlock(&p->lock);
    return err;
}
