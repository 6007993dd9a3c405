/*
 * batch.h - parse, normalise and sign a batch of inputs on several threads.
 * Decisions stay with the caller, in input order, so results are the same
 * for any thread count.
 */
#ifndef ND_BATCH_H
#define ND_BATCH_H

#include "nd_dedup.h"
#include "nd_ingest.h"

/* One input of a batch; the caller fills the first block, nd_batcher_run the second. */
typedef struct nd_batch_item_s {
    const char *input; /* caller-owned, valid until the batch is consumed */
    size_t input_len;
    /* Results. */
    nd_err_t err; /* ND_ERR_NO_ERROR, or why the input is rejected */
    char errstr[192];
    nd_article_t art; /* strings live in the batcher until its next run; text is NULL */
    nd_sig_t sig;
} nd_batch_item_t;

typedef struct nd_batcher_s nd_batcher_t;

/*
 * nd_batcher_new: a batcher with `threads` workers (1 = the calling thread
 * only), each with its own parser. dd is used only for nd_dedup_sign().
 * @return NULL with errstr on failure.
 */
nd_batcher_t *nd_batcher_new(int threads, const nd_parser_conf_t *pconf, const nd_dedup_t *dd,
                             char *errstr, size_t errstr_size);

/* nd_batcher_destroy: free the batcher; NULL is a no-op. */
void nd_batcher_destroy(nd_batcher_t *b);

/*
 * nd_batcher_run: parse and sign items[0..n). Invalidates the article
 * strings of the previous run. @return ND_ERR_NO_ERROR, or ND_ERR_NOMEM /
 * an internal error (items' err fields then say which failed).
 */
nd_err_t nd_batcher_run(nd_batcher_t *b, nd_batch_item_t *items, size_t n);

#endif /* ND_BATCH_H */
