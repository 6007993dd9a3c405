/*
 * sign_avx2.c - the AVX2 signature kernel (this file alone is compiled with
 * -mavx2 -mbmi -mbmi2; it runs only when the CPU reports AVX2 and BMI2).
 * Tokens are hashed five at a time: four in a vector (XXH3's 9-16 byte body
 * with its 64x64->128 multiply built from 32x32->64 partial products,
 * _mm256_mul_epu32, the digit test on the token's own bytes) and the fifth in
 * integer registers (mulx), so that the vector and the integer units both
 * work. Shingle hashes are folded and mixed eight at a time with exactly the
 * operations of nd_shingle_mix(); the per-slot minimum stays scalar (AVX2 has
 * no conflict-free scatter). The whole-text XXH3 is computed by the drive
 * (sign_int.h) from the blocks its token scan loads.
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

/* The mixed shingle hashes of the 8 windows of k tokens starting at p[0..8),
 * stored to out[0..8) as nd_slot_update() wants them after its clamp (the low
 * 32 bits below ND_SLOT_EMPTY), with bit 56 cleared: the top byte is then
 * twice the slot, i.e. half the slot's byte offset. */
ND_AVX2 static inline void nd_mix8(const uint64_t *p, uint32_t k, uint64_t out[8])
{
    const __m256i c1 = _mm256_set1_epi64x(ND_MIX_C1);
    const __m256i c2 = _mm256_set1_epi64x(ND_MIX_C2);
    const __m256i clamp = _mm256_set1_epi64x((long long)(0xFFFFFFFFFFFFFFFFULL - 1));
    const __m256i bit56 = _mm256_set1_epi64x((long long)~(1ULL << 56));
    __m256i x, y;
#define ND_ROTL(v, r) _mm256_or_si256(_mm256_slli_epi64(v, r), _mm256_srli_epi64(v, 64 - (r)))
#define ND_LD(o)      _mm256_loadu_si256((const __m256i *)(p + (o)))
    if (k == 4) {
        /* the common k unrolled: token j rotated by 27 (3 - j) mod 64, the
         * rotations independent of each other (no chain through x) */
        x = _mm256_xor_si256(_mm256_xor_si256(ND_ROTL(ND_LD(0), 17), ND_ROTL(ND_LD(1), 54)),
                             _mm256_xor_si256(ND_ROTL(ND_LD(2), 27), ND_LD(3)));
        y = _mm256_xor_si256(_mm256_xor_si256(ND_ROTL(ND_LD(4), 17), ND_ROTL(ND_LD(5), 54)),
                             _mm256_xor_si256(ND_ROTL(ND_LD(6), 27), ND_LD(7)));
    } else {
        x = ND_LD(0);
        y = ND_LD(4);
        for (uint32_t j = 1; j < k; j++) {
            x = _mm256_xor_si256(nd_rotl27(x), ND_LD(j));
            y = _mm256_xor_si256(nd_rotl27(y), ND_LD(4 + j));
        }
    }
#undef ND_ROTL
#undef ND_LD
    x = _mm256_and_si256(_mm256_min_epu32(nd_mix4(x, c1, c2), clamp), bit56);
    y = _mm256_and_si256(_mm256_min_epu32(nd_mix4(y, c1, c2), clamp), bit56);
    _mm256_storeu_si256((__m256i *)out, x);
    _mm256_storeu_si256((__m256i *)(out + 4), y);
}

/* nd_slot_update() of the hash o (as nd_mix8() stores it), in integer
 * registers (GCC would otherwise move the minimum to the vector unit). */
ND_AVX2 static inline void nd_slot_update8(uint32_t slots[ND_SIG_SLOTS], const uint64_t *o)
{
    uint32_t v, s;
    size_t ix = ((const uint8_t *)o)[7]; /* twice the slot */
    memcpy(&v, o, 4);
    /* the slot addressed twice with its index, not through a pointer GCC
     * would compute first (one instruction fewer a shingle) */
    __asm__("movl (%[sl],%[ix],2), %[s]\n\t"
            "cmpl %[v], %[s]\n\t"
            "cmova %[v], %[s]\n\t"
            "movl %[s], (%[sl],%[ix],2)"
            : [s] "=&r"(s), "+m"(*(uint32_t(*)[ND_SIG_SLOTS])slots)
            : [sl] "r"(slots), [ix] "r"(ix), [v] "r"(v)
            : "cc");
}

/*
 * The fold (nd_fold_fn): sixteen shingles at a time are mixed in vectors and
 * stored; the slots are updated from the previous step's sixteen, read back
 * from stores that have left the store queue by then (a 64-bit load from a
 * 256-bit store still in flight waits). The last 1..15 shingles are mixed,
 * eight at a time, from a zero-padded copy of their windows.
 */
ND_AVX2 static inline __attribute__((always_inline)) void
nd_fold_body(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS])
{
    size_t m = n >= k ? n - k + 1 : 0, i = 0;
    uint64_t out[2][16];
    int cur = 0;

    for (; i + 16 <= m; i += 16, cur ^= 1) {
        nd_mix8(th + i, k, out[cur]);
        nd_mix8(th + i + 8, k, out[cur] + 8);
        if (i > 0) {
#pragma GCC unroll 16
            for (int l = 0; l < 16; l++)
                nd_slot_update8(slots, out[cur ^ 1] + l);
        }
    }
    if (i > 0) {
#pragma GCC unroll 16
        for (int l = 0; l < 16; l++)
            nd_slot_update8(slots, out[cur ^ 1] + l);
    }
    for (; i < m; i += 8) {
        uint64_t win[8 + ND_K_MAX] = {0};
        size_t r = m - i < 8 ? m - i : 8;
        memcpy(win, th + i, (r + k - 1) * sizeof(win[0]));
        nd_mix8(win, k, out[0]);
        for (size_t l = 0; l < r; l++)
            nd_slot_update8(slots, out[0] + l);
    }
}

/* The fold for the default k = 4 with k a constant (the mix has no test of k
 * in its loop), any other k as given. */
ND_AVX2 static void nd_fold_avx2(const uint64_t *th, size_t n, uint32_t k,
                                 uint32_t slots[ND_SIG_SLOTS])
{
    if (k == 4)
        nd_fold_body(th, n, 4, slots);
    else
        nd_fold_body(th, n, k, slots);
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

/* One token of 1..16 bytes at text + s whose 16-byte load stays inside the
 * text, hashed in integer registers (mulx) while the vector units hash a
 * group: @return its hash, with its digit bit or'ed into *nm. The digit test
 * is SWAR: a byte b is a digit when (b ^ '0') < 10, and any byte below 10
 * in a word shows in (w - 0x0A..) & ~w & 0x80.. (exact for "any"). */
ND_AVX2 static inline uint64_t nd_tok_int(const nd_avx2_consts_t *K, const nd_tokhash_t *hs,
                                          const char *text, size_t s, size_t l, uint64_t *nm)
{
    uint64_t lo = XXH_readLE64(text + s) & nd_mask_lo[l];
    uint64_t hi = XXH_readLE64(text + s + 8) & nd_mask_hi[l];
    __m128i t = _mm_loadu_si128((const __m128i *)(text + s));
    uint32_t dm = (uint32_t)_mm_movemask_epi8(_mm_cmpgt_epi8(
        _mm256_castsi256_si128(ND_K(d8a)), _mm_add_epi8(t, _mm256_castsi256_si128(ND_K(d50)))));
    uint64_t a = lo ^ hs->flip_lo, b = hi ^ hs->flip_hi;
    /* mulx written out: GCC 12 passes the high half of _mulx_u64() and of a
     * 128-bit product through the stack (a store and a load a token) */
    uint64_t pl, ph;
    __asm__("mulxq %[b], %[lo], %[hi]" : [lo] "=r"(pl), [hi] "=r"(ph) : "d"(a), [b] "rm"(b));
    uint64_t h = XXH3_avalanche(l + __builtin_bswap64(a) + b + (pl ^ ph));
    *nm |= (uint64_t)(_bzhi_u32(dm, (uint32_t)l) != 0) << (h >> 58);
    return h;
}

/* One token ending at e (exclusive) and starting at s, any length, its
 * 16-byte load inside the text: @return 1 when hashed into *th, 0 when empty. */
ND_AVX2 static inline size_t nd_tok_fast(const nd_avx2_consts_t *K, const nd_tokhash_t *hs,
                                         const char *text, size_t len, size_t s, size_t e,
                                         uint64_t *th, uint64_t *nm)
{
    if (e - s - 1 < 16) {
        *th = nd_tok_int(K, hs, text, s, e - s, nm);
        return 1;
    }
    return nd_tok_one(hs, text, len, s, e, th, nm);
}

/*
 * The segment hasher (nd_seg_hash_fn, without dig_end). Five tokens per step
 * while they are 1..16 bytes long and their 16-byte loads stay inside the
 * text: four in one vector, the fifth in integer registers (mulx), so that
 * both the vector and the integer units work. Any other token goes alone.
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
    const __m128i one32 = _mm_set1_epi32(1), not15 = _mm_set1_epi32(~15);
    const nd_avx2_consts_t *K = &nd_avx2_k;
    __m256i nmv = _mm256_setzero_si256();
    uint64_t nm = *num_mask, nmi = 0;
    __asm__("" : "+r"(K)); /* hide the values: operands from memory, not rebuilt */
    size_t n = 0, i = 0;
    (void)dig_end;
    (void)seg;

    /* the tokens starting in the last 16 bytes of the text go alone: token i
     * starts at ends[i - 1] + 1, so when token 0 is the last to end 17 bytes
     * or more before the end, tokens 0 and 1 start in time */
    size_t nfast = np;
    while (nfast > 0 && (size_t)ends[nfast - 1] + 17 > len)
        nfast--;
    nfast = nfast == 0 ? 0 : nfast + 1 < np ? nfast + 1 : np;
    while (i + 5 <= nfast) {
        const uint32_t *e = ends + i;
        uint64_t *out = th + n;
        __m128i l32 =
            _mm_sub_epi32(_mm_loadu_si128((const __m128i *)e),
                          _mm_add_epi32(_mm_loadu_si128((const __m128i *)(e - 1)), one32));
        uint32_t l4 = e[4] - e[3] - 1;
        /* every length in 1..16: the four vector ones tested in the vector */
        if (__builtin_expect(!_mm_testz_si128(_mm_sub_epi32(l32, one32), not15) || l4 - 1 > 15,
                             0)) {
            size_t st = (uint32_t)(e[-1] + 1);
            for (int j = 0; j < 5; j++) {
                n += nd_tok_fast(K, hs, text, len, st, e[j], th + n, &nm);
                st = (size_t)e[j] + 1;
            }
            i += 5;
            continue;
        }
        __m256i a = _mm256_inserti128_si256(
            _mm256_castsi128_si256(
                _mm_loadu_si128((const __m128i *)(text + (uint32_t)(e[-1] + 1)))),
            _mm_loadu_si128((const __m128i *)(text + (uint32_t)(e[1] + 1))), 1);
        __m256i b = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(text + (uint32_t)(e[0] + 1)))),
            _mm_loadu_si128((const __m128i *)(text + (uint32_t)(e[2] + 1))), 1);
        /* zero each token's bytes past its end */
        __m256i l = _mm256_cvtepu32_epi64(l32), l8 = _mm256_slli_epi64(l, 3);
        __m256i lo =
            _mm256_andnot_si256(_mm256_sllv_epi64(ND_K(ones), l8), _mm256_unpacklo_epi64(a, b));
        __m256i hi =
            _mm256_and_si256(_mm256_srlv_epi64(ND_K(ones), _mm256_sub_epi64(ND_K(c128), l8)),
                             _mm256_unpackhi_epi64(a, b));
        __m256i dig = nd_has_digit4(K, lo, hi);
        out[4] = nd_tok_int(K, hs, text, (size_t)e[3] + 1, l4, &nmi);
        lo = _mm256_xor_si256(lo, flo);
        hi = _mm256_xor_si256(hi, fhi);
        __m256i acc = _mm256_add_epi64(_mm256_add_epi64(l, _mm256_shuffle_epi8(lo, swap)),
                                       _mm256_add_epi64(hi, nd_mul128_fold(lo, hi)));
        acc = _mm256_xor_si256(acc, _mm256_srli_epi64(acc, 37));
        acc = nd_mullo64(acc, mlo, mhi);
        acc = _mm256_xor_si256(acc, _mm256_srli_epi64(acc, 32));
        nmv = _mm256_or_si256(nmv, _mm256_sllv_epi64(dig, _mm256_srli_epi64(acc, 58)));
        _mm256_storeu_si256((__m256i *)out, acc);
        n += 5;
        i += 5;
    }
    for (; i < nfast; i++)
        n += nd_tok_fast(K, hs, text, len, (uint32_t)(ends[i - 1] + 1), ends[i], th + n, &nm);
    if (i < np) {
        /* the last tokens (starting in the text's last 16 bytes) from a
         * zero-padded copy of its last 32 bytes, so that they too are read
         * 16 bytes at a time */
        unsigned char tail[48] = {0};
        size_t off = len > 32 ? len - 32 : 0;
        memcpy(tail, text + off, len - off);
        for (; i < np; i++) {
            size_t st = (uint32_t)(ends[i - 1] + 1);
            if (st >= off)
                n += nd_tok_fast(K, hs, (const char *)tail, len - off, st - off, ends[i] - off,
                                 th + n, &nm);
            else
                n += nd_tok_one(hs, text, len, st, ends[i], th + n, &nm);
        }
    }
    __m128i r = _mm_or_si128(_mm256_castsi256_si128(nmv), _mm256_extracti128_si256(nmv, 1));
    nm |= nmi | (uint64_t)_mm_cvtsi128_si64(r) | (uint64_t)_mm_extract_epi64(r, 1);
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
