/*
 * lsh_avx2.c - the AVX2 forms of the packing and the comparison of stored
 * signatures (this file alone is compiled with -mavx2 -mpopcnt; it runs only
 * when the CPU reports AVX2, as part of the "avx2" kernel, see sign.c), with
 * the results of lsh.c's references. nd_sig_pack_avx2 packs 8 slots a step.
 * The matcher counts what nd_lsh_slot_matches() counts,
 * the equal stored slots of two packed signatures, 16 low slots or 32 high
 * slots a step instead of 4 or 8: each 3-byte group of the xor of the two
 * (two 12-bit low slots, or four 6-bit high ones) is moved into a 32-bit lane,
 * and each slot's bits are tested for zero there.
 */
#include <immintrin.h>
#include <string.h>

#include "dedup_int.h"

#define ND_AVX2 __attribute__((target("avx2,popcnt")))

#if ND_LO_BITS == 12 && ND_HI_BITS == 6

/* The xor of the 24 bytes at a + o and b + o as eight 3-byte groups, group g
 * in the low 3 bytes of lane g. The 32 bytes loaded start at a + o - skip
 * (skip 0 or 8: a load that would run past the array starts 8 bytes early). */
ND_AVX2 static inline __m256i groups8(const uint8_t *a, const uint8_t *b, size_t o, int skip)
{
    const __m256i take = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1, 0,
                                          1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    /* bytes 0..11 of the 24 to the low lane, 12..23 to the high one */
    const __m256i lanes = skip ? _mm256_setr_epi32(2, 3, 4, 0, 5, 6, 7, 0)
                               : _mm256_setr_epi32(0, 1, 2, 0, 3, 4, 5, 0);
    __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + o - skip)),
                                 _mm256_loadu_si256((const __m256i *)(b + o - skip)));
    return _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(x, lanes), take);
}

/* How many lanes of v have all the bits of m clear. */
ND_AVX2 static inline int zero_lanes(__m256i v, uint32_t m)
{
    __m256i z =
        _mm256_cmpeq_epi32(_mm256_and_si256(v, _mm256_set1_epi32((int)m)), _mm256_setzero_si256());
    return __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(z)));
}

ND_AVX2 void nd_lsh_slot_matches_avx2(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                                      const uint8_t *bhi, int *m_lo_out, int *mh_out)
{
    _Static_assert(ND_LO_BYTES == 96 && ND_HI_BYTES == 48, "the default slot widths");
    int m_lo = 0, mh = 0;
    for (size_t o = 0; o < ND_LO_BYTES; o += 24) { /* 16 low slots a step */
        __m256i g = groups8(alo, blo, o, o + 32 > ND_LO_BYTES ? 8 : 0);
        m_lo += zero_lanes(g, 0x000FFF) + zero_lanes(g, 0xFFF000);
    }
    for (size_t o = 0; o < ND_HI_BYTES; o += 24) { /* 32 high slots a step */
        __m256i g = groups8(ahi, bhi, o, o + 32 > ND_HI_BYTES ? 8 : 0);
        mh += zero_lanes(g, 0x00003F) + zero_lanes(g, 0x000FC0) + zero_lanes(g, 0x03F000) +
              zero_lanes(g, 0xFC0000);
    }
    *m_lo_out = m_lo;
    *mh_out = mh;
}

ND_AVX2 void nd_sig_pack_avx2(const nd_sig_t *sig, uint8_t plo[ND_LO_BYTES],
                              uint8_t hi[ND_HI_BYTES], nd_nmask_t *mask)
{
    /* stores of 8 and 4 bytes run up to 5 past the last kept byte */
    uint8_t lo_buf[ND_LO_BYTES + 8], hi_buf[ND_HI_BYTES + 8];
    const __m256i m12 = _mm256_set1_epi64x(0xFFF), m12h = _mm256_set1_epi64x(0xFFF000);
    for (int i = 0; i < ND_SIG_LO; i += 8) {
        /* slots 2j, 2j + 1 in 64-bit lane j: their low 12 bits side by side */
        __m256i x = _mm256_loadu_si256((const __m256i *)(sig->slots + i));
        __m256i v = _mm256_or_si256(_mm256_and_si256(x, m12),
                                    _mm256_and_si256(_mm256_srli_epi64(x, 20), m12h));
        /* 3 bytes of each lane: bytes 0-2 and 8-10 of each half to its bytes 0-5 */
        v = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 1, 2, 8, 9, 10, -1, -1, -1, -1, -1, -1, -1,
                                                    -1, -1, -1, 0, 1, 2, 8, 9, 10, -1, -1, -1, -1,
                                                    -1, -1, -1, -1, -1, -1));
        uint8_t *o = lo_buf + 3 * (i / 2);
        _mm_storel_epi64((__m128i *)o, _mm256_castsi256_si128(v));
        _mm_storel_epi64((__m128i *)(o + 6), _mm256_extracti128_si256(v, 1));
    }
    const __m256i m6 = _mm256_set1_epi64x(0x3F), m6h = _mm256_set1_epi64x(0xFC0);
    for (int i = 0; i < ND_SIG_HI; i += 8) {
        /* slots 4j..4j + 3 in 128-bit half j: their low 6 bits side by side */
        __m256i x = _mm256_loadu_si256((const __m256i *)(sig->slots + ND_SIG_LO + i));
        __m256i t = _mm256_or_si256(_mm256_and_si256(x, m6),
                                    _mm256_and_si256(_mm256_srli_epi64(x, 26), m6h));
        __m256i v = _mm256_or_si256(t, _mm256_slli_epi64(_mm256_bsrli_epi128(t, 8), 12));
        uint8_t *o = hi_buf + 3 * (i / 4);
        uint32_t w0 = (uint32_t)_mm256_cvtsi256_si32(v);
        uint32_t w1 = (uint32_t)_mm_cvtsi128_si32(_mm256_extracti128_si256(v, 1));
        memcpy(o, &w0, 4);
        memcpy(o + 3, &w1, 4);
    }
    memcpy(plo, lo_buf, ND_LO_BYTES);
    memcpy(hi, hi_buf, ND_HI_BYTES);
    *mask = nd_mask_fold(sig->num_mask);
}

/* x * c mod 2^64 per 64-bit lane, from 32x32->64 products. */
ND_AVX2 static inline __m256i mullo64(__m256i x, uint64_t c)
{
    const __m256i lo = _mm256_set1_epi64x((long long)(c & 0xFFFFFFFFu));
    const __m256i hi = _mm256_set1_epi64x((long long)(c >> 32));
    __m256i cross =
        _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(x, 32), lo), _mm256_mul_epu32(x, hi));
    return _mm256_add_epi64(_mm256_mul_epu32(x, lo), _mm256_slli_epi64(cross, 32));
}

/* nd_band_key2_of() of 4 bands: x holds s0 | s1 << 16 of each, seed[0..4)
 * their seeds. */
ND_AVX2 static inline __m256i band_keys4(__m256i x, const uint64_t *seed)
{
    x = _mm256_xor_si256(x, _mm256_loadu_si256((const __m256i *)seed));
    x = mullo64(x, ND_BAND_MUL);
    x = _mm256_xor_si256(x, _mm256_srli_epi64(x, 31)); /* nd_band_mix() */
    x = mullo64(x, ND_BAND_MIX_MUL);
    return _mm256_xor_si256(x, _mm256_srli_epi64(x, 29));
}

ND_AVX2 void nd_band_keys2_avx2(const uint64_t *seed, const uint8_t *plo, uint32_t bands,
                                uint64_t *bh)
{
    /* band b's 3 bytes to 32-bit lane b: the 16 bytes loaded hold bands 4q..4q+3
     * from byte 0, or (the last group, not to read past plo) from byte 4 */
    const __m128i take0 = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1);
    const __m128i take4 = _mm_setr_epi8(4, 5, 6, -1, 7, 8, 9, -1, 10, 11, 12, -1, 13, 14, 15, -1);
    uint32_t b = 0;
    for (; b + 4 <= bands; b += 4) {
        size_t o = 3 * (size_t)b, start = o + 16 > ND_LO_BYTES ? o - 4 : o;
        __m128i v = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(plo + start)),
                                     o == start ? take0 : take4);
        /* the two 12-bit slots s0 | s1 << 12 as s0 | s1 << 16, as 64-bit lanes */
        v = _mm_or_si128(_mm_and_si128(v, _mm_set1_epi32(0xFFF)),
                         _mm_slli_epi32(_mm_and_si128(v, _mm_set1_epi32(0xFFF000)), 4));
        _mm256_storeu_si256((__m256i *)(bh + b), band_keys4(_mm256_cvtepu32_epi64(v), seed + b));
    }
    nd_band_keys2(seed + b, plo + 3 * b, bands - b, bh + b); /* the last 0..3 */
}

#else

void nd_band_keys2_avx2(const uint64_t *seed, const uint8_t *plo, uint32_t bands, uint64_t *bh)
{
    nd_band_keys2(seed, plo, bands, bh); /* other widths: the reference */
}

void nd_sig_pack_avx2(const nd_sig_t *sig, uint8_t plo[ND_LO_BYTES], uint8_t hi[ND_HI_BYTES],
                      nd_nmask_t *mask)
{
    nd_sig_pack(sig, plo, hi, mask); /* other widths: the reference */
}

void nd_lsh_slot_matches_avx2(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                              const uint8_t *bhi, int *m_lo_out, int *mh_out)
{
    nd_lsh_slot_matches(alo, ahi, blo, bhi, m_lo_out, mh_out); /* other widths: the reference */
}

#endif
