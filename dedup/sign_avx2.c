/*
 * sign_avx2.c - the AVX2 signature kernel (this file alone is compiled with
 * -mavx2; it runs only when the CPU reports AVX2). Eight shingle hashes are
 * folded and mixed at once in two vectors of four 64-bit lanes, with exactly
 * the operations of nd_shingle_mix(); the per-slot minimum stays scalar (AVX2
 * has no conflict-free scatter).
 */
#include <immintrin.h>

#include "dedup_int.h"

/* Also marked per function, so that builds which compile this file without
 * -mavx2 (the fuzzers) still get AVX2 code here and only here. */
#define ND_AVX2 __attribute__((target("avx2")))

ND_AVX2 static inline __m256i nd_rotl27(__m256i x)
{
    return _mm256_or_si256(_mm256_slli_epi64(x, ND_SHINGLE_ROT),
                           _mm256_srli_epi64(x, 64 - ND_SHINGLE_ROT));
}

ND_AVX2 static inline __m256i nd_mix4(__m256i x, __m256i c1, __m256i c2)
{
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 29));
    __m256i a = _mm256_mul_epu32(x, c1);
    __m256i b = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), c2);
    x = _mm256_add_epi64(a, b);
    return _mm256_xor_si256(x, _mm256_srli_epi64(x, 32));
}

ND_AVX2 void nd_sign_kernel_avx2(const uint64_t *th, size_t n, uint32_t k,
                                 uint32_t slots[ND_SIG_SLOTS])
{
    const __m256i c1 = _mm256_set1_epi64x(ND_MIX_C1);
    const __m256i c2 = _mm256_set1_epi64x(ND_MIX_C2);
    size_t m = n >= k ? n - k + 1 : 0, i = 0;
    uint64_t out[8];

    for (; i + 8 <= m; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(th + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(th + i + 4));
        for (uint32_t j = 1; j < k; j++) {
            x = _mm256_xor_si256(nd_rotl27(x), _mm256_loadu_si256((const __m256i *)(th + i + j)));
            y = _mm256_xor_si256(nd_rotl27(y),
                                 _mm256_loadu_si256((const __m256i *)(th + i + 4 + j)));
        }
        _mm256_storeu_si256((__m256i *)out, nd_mix4(x, c1, c2));
        _mm256_storeu_si256((__m256i *)(out + 4), nd_mix4(y, c1, c2));
        for (int l = 0; l < 8; l++)
            nd_slot_update(slots, out[l]);
    }
    for (; i < m; i++)
        nd_slot_update(slots, nd_shingle_mix(th + i, k));
}
