/*
 * lsh_avx2.c - the AVX2 slot matcher (this file alone is compiled with
 * -mavx2 -mpopcnt; it runs only when the CPU reports AVX2, as part of the
 * "avx2" kernel, see sign.c). It counts what nd_lsh_slot_matches() counts,
 * the equal stored slots of two packed signatures, 16 low slots or 32 high
 * slots a step instead of 4 or 8: each 3-byte group of the xor of the two
 * (two 12-bit low slots, or four 6-bit high ones) is moved into a 32-bit lane,
 * and each slot's bits are tested for zero there.
 */
#include <immintrin.h>

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

#else

void nd_lsh_slot_matches_avx2(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                              const uint8_t *bhi, int *m_lo_out, int *mh_out)
{
    nd_lsh_slot_matches(alo, ahi, blo, bhi, m_lo_out, mh_out); /* other widths: the reference */
}

#endif
