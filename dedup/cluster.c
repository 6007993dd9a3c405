/*
 * cluster.c - cluster lookup, source bookkeeping and release.
 *
 * A cluster keeps its canonical uri as a string (articles keep only a 64-bit
 * uri hash) and the 32-bit hashes of its distinct sources. It lives while at
 * least one of its articles is indexed; its counts never go down.
 */
#include "dedup_int.h"

struct clu_find_s {
    const nd_dedup_t *dd;
    uint64_t id;
    uint32_t found;
};

static int clu_find_cb(void *arg, uint32_t idx)
{
    struct clu_find_s *f = arg;
    if (nd_clu(f->dd, idx)->id != f->id)
        return 0;
    f->found = idx;
    return 1;
}

uint32_t nd_clu_find(const nd_dedup_t *dd, uint64_t id)
{
    struct clu_find_s f = {dd, id, UINT32_MAX};
    nd_itab_find(&dd->clu_tab, id, clu_find_cb, &f);
    return f.found;
}

uint32_t nd_source_rank(const nd_dedup_t *dd, uint32_t src_hash)
{
    for (uint32_t i = 0; i < dd->n_pref; i++)
        if (dd->pref_hash[i] == src_hash)
            return i;
    return dd->n_pref;
}

int nd_clu_has_source(const nd_clu_t *c, uint32_t src_hash)
{
    for (uint32_t i = 0; i < c->n_src; i++)
        if (c->src[i] == src_hash)
            return 1;
    return 0;
}

void nd_clu_release(nd_dedup_t *dd, uint32_t cidx)
{
    nd_clu_t *c = nd_clu(dd, cidx);
    nd_itab_delete(&dd->clu_tab, c->id, cidx);
    dd->extra_bytes -= (size_t)c->canon_uri_len + 1 + (size_t)c->src_cap * sizeof(uint32_t);
    nd_free(c->canon_uri);
    nd_free(c->src);
    c->canon_uri = NULL;
    c->src = NULL;
    nd_pool_put(&dd->clus, cidx);
}

size_t nd_clu_bytes(const nd_dedup_t *dd)
{
    return nd_pool_bytes(&dd->clus) + dd->extra_bytes;
}
