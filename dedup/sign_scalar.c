/*
 * sign_scalar.c - the reference signature kernel. It is the truth: every other
 * kernel must produce exactly these signatures.
 */
#include "sign_int.h"

static size_t nd_seg_hash_ref(const nd_tokhash_t *hs, const char *text, size_t len,
                              const uint32_t *ends, size_t np, const uint64_t *dig_end, size_t seg,
                              uint64_t *th, uint64_t *num_mask)
{
    return nd_seg_hash_scalar(hs, text, len, ends, np, dig_end, seg, th, num_mask);
}

static void nd_fold_ref(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS])
{
    nd_fold_scalar(th, n, k, slots);
}

void nd_sign_kernel_scalar(uint32_t k, uint64_t seed, const char *text, size_t len, nd_sig_t *sig)
{
    nd_sign_drive(k, seed, text, len, sig, 1, nd_seg_hash_ref, nd_fold_ref);
}
