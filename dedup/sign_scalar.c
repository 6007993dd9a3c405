/*
 * sign_scalar.c - the reference signature kernel. It is the truth: every other
 * kernel must produce exactly these slots.
 */
#include "dedup_int.h"

void nd_sign_kernel_scalar(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS])
{
    for (size_t i = 0; i + k <= n; i++)
        nd_slot_update(slots, nd_shingle_mix(th + i, k));
}
