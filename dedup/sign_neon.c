/*
 * sign_neon.c - the NEON signature kernel (aarch64 builds only). Token hashes
 * are the scalar reference's (sign_int.h); the shingle fold works on two
 * shingle hashes per vector with the same operations as nd_shingle_mix():
 * rotate-xor fold, then the 32x32->64 multiply mix with vmull_u32.
 */
#include <arm_neon.h>

#include "sign_int.h"

static inline uint64x2_t nd_mix2(uint64x2_t x)
{
    x = veorq_u64(x, vshrq_n_u64(x, 29));
    uint64x2_t a = vmull_u32(vmovn_u64(x), vdup_n_u32(ND_MIX_C1));
    uint64x2_t b = vmull_u32(vmovn_u64(vshrq_n_u64(x, 32)), vdup_n_u32(ND_MIX_C2));
    x = vaddq_u64(a, b);
    return veorq_u64(x, vshrq_n_u64(x, 32));
}

static void nd_fold_neon(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS])
{
    size_t m = n >= k ? n - k + 1 : 0, i = 0;

    for (; i + 2 <= m; i += 2) {
        uint64x2_t x = vld1q_u64(th + i);
        for (uint32_t j = 1; j < k; j++) {
            uint64x2_t r =
                vorrq_u64(vshlq_n_u64(x, ND_SHINGLE_ROT), vshrq_n_u64(x, 64 - ND_SHINGLE_ROT));
            x = veorq_u64(r, vld1q_u64(th + i + j));
        }
        x = nd_mix2(x);
        nd_slot_update(slots, vgetq_lane_u64(x, 0));
        nd_slot_update(slots, vgetq_lane_u64(x, 1));
    }
    for (; i < m; i++)
        nd_slot_update(slots, nd_shingle_mix(th + i, k));
}

static size_t nd_seg_hash_neon(const nd_tokhash_t *hs, const char *text, size_t len,
                               const uint32_t *ends, size_t np, const uint64_t *dig_end, size_t seg,
                               uint64_t *th, uint64_t *num_mask)
{
    return nd_seg_hash_scalar(hs, text, len, ends, np, dig_end, seg, th, num_mask);
}

void nd_sign_kernel_neon(uint32_t k, uint64_t seed, const char *text, size_t len, nd_sig_t *sig)
{
    nd_sign_drive(k, seed, text, len, sig, 1, nd_seg_hash_neon, nd_fold_neon);
}
