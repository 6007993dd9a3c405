/*
 * sign_avx2.c - the AVX2 signature kernel (this file alone is compiled with
 * -mavx2 -mbmi -mbmi2; it runs only when the CPU reports AVX2 and BMI2).
 * Tokens are hashed four at a time: XXH3's 9-16 byte body with its 64x64->128
 * multiply built from 32x32->64 partial products (_mm256_mul_epu32), the digit
 * test on the token's own bytes; eight shingle hashes are folded and mixed at
 * once with exactly the operations of nd_shingle_mix(); the per-slot minimum
 * stays scalar (AVX2 has no conflict-free scatter).
 */
#include <immintrin.h>

#include "sign_int.h"

/* Also marked per function, so that builds which compile this file without
 * -mavx2 (the fuzzers) still get AVX2 code here and only here. */
#define ND_AVX2 __attribute__((target("avx2,bmi,bmi2")))

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

ND_AVX2 static void nd_fold_avx2(const uint64_t *th, size_t n, uint32_t k,
                                 uint32_t slots[ND_SIG_SLOTS])
{
    const __m256i c1 = _mm256_set1_epi64x(ND_MIX_C1);
    const __m256i c2 = _mm256_set1_epi64x(ND_MIX_C2);
    /* the low 32 bits (the slot value) clamped below ND_SLOT_EMPTY, the rest kept */
    const __m256i clamp = _mm256_set1_epi64x((long long)(0xFFFFFFFFFFFFFFFFULL - 1));
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
        _mm256_storeu_si256((__m256i *)out, _mm256_min_epu32(nd_mix4(x, c1, c2), clamp));
        _mm256_storeu_si256((__m256i *)(out + 4), _mm256_min_epu32(nd_mix4(y, c1, c2), clamp));
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) {
            /* nd_slot_update() with the clamp done above */
            uint32_t b = (uint32_t)(out[l] >> (64 - ND_SIG_SLOT_BITS)), v = (uint32_t)out[l];
            uint32_t s = slots[b];
            slots[b] = v < s ? v : s;
        }
    }
    for (; i < m; i++)
        nd_slot_update(slots, nd_shingle_mix(th + i, k));
}

/* The multiplier of XXH3_avalanche() (xxHash 0.8.1 has no name for it). */
#define ND_AVALANCHE_MUL 0x165667919E3779F9ULL

/* x * (chi:clo) mod 2^64 per lane, from 32x32->64 products. */
ND_AVX2 static inline __m256i nd_mullo64(__m256i x, __m256i clo, __m256i chi)
{
    __m256i cross =
        _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(x, 32), clo), _mm256_mul_epu32(x, chi));
    return _mm256_add_epi64(_mm256_mul_epu32(x, clo), _mm256_slli_epi64(cross, 32));
}

/* XXH3_mul128_fold64 per lane: the low and high halves of the 128-bit
 * product a * b, xored. Partial sums never overflow 64 bits. */
ND_AVX2 static inline __m256i nd_mul128_fold(__m256i a, __m256i b)
{
    __m256i a1 = _mm256_srli_epi64(a, 32), b1 = _mm256_srli_epi64(b, 32);
    __m256i p00 = _mm256_mul_epu32(a, b), p01 = _mm256_mul_epu32(a, b1);
    __m256i p10 = _mm256_mul_epu32(a1, b), p11 = _mm256_mul_epu32(a1, b1);
    __m256i t = _mm256_add_epi64(p10, _mm256_srli_epi64(p00, 32));
    __m256i u = _mm256_add_epi64(p01, _mm256_blend_epi32(t, _mm256_setzero_si256(), 0xAA));
    __m256i hi =
        _mm256_add_epi64(p11, _mm256_add_epi64(_mm256_srli_epi64(t, 32), _mm256_srli_epi64(u, 32)));
    __m256i lo = _mm256_blend_epi32(p00, _mm256_slli_epi64(u, 32), 0xAA);
    return _mm256_xor_si256(lo, hi);
}

/* Vector constants the hasher reads from memory as operands: with sixteen
 * registers in use, GCC would otherwise rebuild them in every iteration
 * (mov, vmovd, vpbroadcast) when it knows their values. */
typedef struct nd_avx2_consts_s {
    uint8_t d50[32];  /* + 0x50 moves '0'..'9' to the 10 lowest signed bytes */
    uint8_t d8a[32];  /* (signed) -118: bytes below it were digits */
    uint64_t one[4];  /* 1 per lane */
    uint64_t ones[4]; /* all bits */
    uint64_t c128[4]; /* 128 per lane */
} nd_avx2_consts_t;
#define ND_X32(v)                                                                                  \
    v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const nd_avx2_consts_t nd_avx2_k
    __attribute__((aligned(32))) = {{ND_X32(0x50)},
                                    {ND_X32(0x8A)},
                                    {1, 1, 1, 1},
                                    {~0ULL, ~0ULL, ~0ULL, ~0ULL},
                                    {128, 128, 128, 128}};
#undef ND_X32
#define ND_K(f) _mm256_load_si256((const __m256i *)K->f)

/* Per lane: 1 when one of the bytes of lo or hi is an ASCII digit, else 0. */
ND_AVX2 static inline __m256i nd_has_digit4(const nd_avx2_consts_t *K, __m256i lo, __m256i hi)
{
    __m256i dx = _mm256_cmpgt_epi8(ND_K(d8a), _mm256_add_epi8(lo, ND_K(d50)));
    __m256i dy = _mm256_cmpgt_epi8(ND_K(d8a), _mm256_add_epi8(hi, ND_K(d50)));
    __m256i none = _mm256_cmpeq_epi64(_mm256_or_si256(dx, dy), _mm256_setzero_si256());
    return _mm256_andnot_si256(none, ND_K(one));
}

/* One token the scalar way (empty, long, or near the end of the text). */
ND_AVX2 static inline size_t nd_tok_one(const nd_tokhash_t *hs, const char *text, size_t len,
                                        size_t start, size_t e, uint64_t *th, uint64_t *nm)
{
    size_t l = e - start;
    uint64_t h = nd_tok_hash(hs, text + start, l, len - start);
    *nm |= nd_tok_has_digit(text + start, l) << (h >> 58);
    *th = h;
    return l != 0;
}

/*
 * The segment hasher (nd_seg_hash_fn, without dig_end): groups of four tokens
 * of 1..16 bytes whose 16-byte loads stay inside the text are hashed in one
 * vector; any other group goes token by token.
 */
ND_AVX2 static size_t nd_seg_hash_avx2(const nd_tokhash_t *hs, const char *text, size_t len,
                                       const uint32_t *ends, size_t np, const uint64_t *dig_end,
                                       size_t seg, uint64_t *th, uint64_t *num_mask)
{
    const __m256i flo = _mm256_set1_epi64x((long long)hs->flip_lo);
    const __m256i fhi = _mm256_set1_epi64x((long long)hs->flip_hi);
    const __m256i mlo = _mm256_set1_epi64x((long long)(ND_AVALANCHE_MUL & 0xffffffff));
    const __m256i mhi = _mm256_set1_epi64x((long long)(ND_AVALANCHE_MUL >> 32));
    const __m256i swap = _mm256_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                                          6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    const __m128i one32 = _mm_set1_epi32(1);
    const nd_avx2_consts_t *K = &nd_avx2_k;
    __m256i nmv = _mm256_setzero_si256();
    uint64_t nm = *num_mask;
    __asm__("" : "+r"(K)); /* hide the values: operands from memory, not rebuilt */
    size_t n = 0, i = 0;
    (void)dig_end;
    (void)seg;

    /* groups whose last 16-byte load would pass the end of the text go token
     * by token: the tokens starting in the last 16 bytes */
    size_t nfast = np;
    while (nfast > 0 && (size_t)ends[nfast - 1] + 17 > len)
        nfast--;
    nfast = nfast + 1 < np ? nfast + 1 : np;
    for (; i + 4 <= nfast; i += 4) {
        uint32_t e0 = ends[i - 1], e1 = ends[i], e2 = ends[i + 1], e3 = ends[i + 2];
        uint32_t e4 = ends[i + 3];
        /* length - 1 of each token, in 0..15 unless empty or over 16 bytes:
         * tested with integer instructions (the vector units are the busy ones) */
        uint32_t lm1 = (e1 - e0 - 2) | (e2 - e1 - 2) | (e3 - e2 - 2) | (e4 - e3 - 2);
        size_t s0 = (uint32_t)(e0 + 1), s1 = (size_t)e1 + 1, s2 = (size_t)e2 + 1;
        size_t s3 = (size_t)e3 + 1;
        if (__builtin_expect(lm1 > 15, 0)) {
            size_t st = s0;
            for (int j = 0; j < 4; j++) {
                n += nd_tok_one(hs, text, len, st, ends[i + j], th + n, &nm);
                st = (size_t)ends[i + j] + 1;
            }
            continue;
        }
        __m256i a = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(text + s0))),
            _mm_loadu_si128((const __m128i *)(text + s2)), 1);
        __m256i b = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(text + s1))),
            _mm_loadu_si128((const __m128i *)(text + s3)), 1);
        __m128i l32 =
            _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(ends + i)),
                          _mm_add_epi32(_mm_loadu_si128((const __m128i *)(ends + i - 1)), one32));
        /* zero each token's bytes past its end */
        __m256i l = _mm256_cvtepu32_epi64(l32), l8 = _mm256_slli_epi64(l, 3);
        __m256i lo =
            _mm256_andnot_si256(_mm256_sllv_epi64(ND_K(ones), l8), _mm256_unpacklo_epi64(a, b));
        __m256i hi =
            _mm256_and_si256(_mm256_srlv_epi64(ND_K(ones), _mm256_sub_epi64(ND_K(c128), l8)),
                             _mm256_unpackhi_epi64(a, b));
        __m256i dig = nd_has_digit4(K, lo, hi);
        lo = _mm256_xor_si256(lo, flo);
        hi = _mm256_xor_si256(hi, fhi);
        __m256i acc = _mm256_add_epi64(_mm256_add_epi64(l, _mm256_shuffle_epi8(lo, swap)),
                                       _mm256_add_epi64(hi, nd_mul128_fold(lo, hi)));
        acc = _mm256_xor_si256(acc, _mm256_srli_epi64(acc, 37));
        acc = nd_mullo64(acc, mlo, mhi);
        acc = _mm256_xor_si256(acc, _mm256_srli_epi64(acc, 32));
        nmv = _mm256_or_si256(nmv, _mm256_sllv_epi64(dig, _mm256_srli_epi64(acc, 58)));
        _mm256_storeu_si256((__m256i *)(th + n), acc);
        n += 4;
    }
    for (; i < np; i++)
        n += nd_tok_one(hs, text, len, (uint32_t)(ends[i - 1] + 1), ends[i], th + n, &nm);
    __m128i r = _mm_or_si128(_mm256_castsi256_si128(nmv), _mm256_extracti128_si256(nmv, 1));
    nm |= (uint64_t)_mm_cvtsi128_si64(r) | (uint64_t)_mm_extract_epi64(r, 1);
    *num_mask = nm;
    return n;
}

/* Token lengths are compared as signed 32-bit lanes: texts of 2^31 bytes or
 * more take the reference kernel (same signature). */
ND_AVX2 void nd_sign_kernel_avx2(uint32_t k, uint64_t seed, const char *text, size_t len,
                                 nd_sig_t *sig)
{
    if (len >= (size_t)1 << 31) {
        nd_sign_kernel_scalar(k, seed, text, len, sig);
        return;
    }
    nd_sign_drive(k, seed, text, len, sig, 0, nd_seg_hash_avx2, nd_fold_avx2);
}
