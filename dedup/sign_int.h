/*
 * sign_int.h - the signature body shared by the kernels (sign_scalar.c,
 * sign_avx2.c, sign_neon.c). Each kernel file instantiates nd_sign_drive()
 * with its own token hasher and shingle fold, compiled for its own ISA, so
 * the whole signature (tokens, token hashes, fold, the whole-text XXH3) runs
 * with that ISA's instructions and everything is inlined into one function.
 *
 * A signature is computed in three steps:
 *  1. tokens (split on ' ') are hashed with XXH3 into 64-bit token hashes, in
 *     chunks on the stack (no allocation);
 *  2. a fold turns each window of k token hashes into one shingle hash
 *     (nd_shingle_mix) and keeps the per-slot minimum: one-permutation MinHash,
 *     the top ND_SIG_SLOT_BITS bits pick the slot;
 *  3. empty slots are filled by optimal densification (nd_sign_densify), which
 *     nd_sign_with() does after the kernel.
 * Every kernel must give exactly the scalar kernel's signature.
 */
#ifndef ND_SIGN_INT_H
#define ND_SIGN_INT_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string.h>
#if defined(__AVX2__) || defined(__BMI__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dedup_int.h"

#define ND_ALWAYS_INLINE inline __attribute__((always_inline))

/* Token hashes per chunk handed to a fold. */
#define ND_TOK_CHUNK 512
#define ND_K_MAX     16

/* Bytes scanned per segment: the ends of its tokens are listed first, then
 * hashed in one loop (long enough that its exit is the only mispredicted
 * branch, with many independent hashes in flight). 2048 (a 4 KB article in
 * two segments) was ~2% faster than 1024 and ~4% than 512; the drive's
 * stack buffers take ~29 KB. */
#define ND_SEG_BYTES 2048

/*
 * Token hashing. A token of at most 16 bytes (nearly every word) is read as two
 * little-endian 64-bit words, zero-padded past its end, and hashed with the
 * body of XXH3's 9-16 byte path (secret-derived bit flips, a 128-bit multiply
 * fold, the XXH3 avalanche) with its length folded in, so that every length
 * takes the same branch-free route. Longer tokens go through
 * XXH3_64bits_withSeed(). The result is a function of the token's bytes and the
 * seed only, identical on every platform and kernel.
 */
typedef struct nd_tokhash_s {
    uint64_t flip_lo, flip_hi, seed;
} nd_tokhash_t;

static inline void nd_tokhash_init(nd_tokhash_t *th, uint64_t seed)
{
    th->flip_lo = (XXH_readLE64(XXH3_kSecret + 24) ^ XXH_readLE64(XXH3_kSecret + 32)) + seed;
    th->flip_hi = (XXH_readLE64(XXH3_kSecret + 40) ^ XXH_readLE64(XXH3_kSecret + 48)) - seed;
    th->seed = seed;
}

/* Masks keeping the first l bytes of a 16-byte little-endian pair (a table:
 * a branch on l < 8 would be mispredicted for half the words). */
#define M_(b)  ((b) >= 64 ? ~0ULL : (1ULL << ((b)&63)) - 1)
#define ML_(l) M_(8 * (l) > 64 ? 64 : 8 * (l))
#define MH_(l) ((l) <= 8 ? 0 : M_(8 * ((l)-8)))
static const uint64_t nd_mask_lo[17] = {ML_(0),  ML_(1),  ML_(2),  ML_(3),  ML_(4),  ML_(5),
                                        ML_(6),  ML_(7),  ML_(8),  ML_(9),  ML_(10), ML_(11),
                                        ML_(12), ML_(13), ML_(14), ML_(15), ML_(16)};
static const uint64_t nd_mask_hi[17] = {MH_(0),  MH_(1),  MH_(2),  MH_(3),  MH_(4),  MH_(5),
                                        MH_(6),  MH_(7),  MH_(8),  MH_(9),  MH_(10), MH_(11),
                                        MH_(12), MH_(13), MH_(14), MH_(15), MH_(16)};
#undef M_
#undef ML_
#undef MH_

/* Hash of a token of 1..16 bytes given as its zero-padded words. */
static inline uint64_t nd_tok16(const nd_tokhash_t *th, uint64_t lo, uint64_t hi, size_t l)
{
    uint64_t a = lo ^ th->flip_lo, b = hi ^ th->flip_hi;
    uint64_t acc = l + XXH_swap64(a) + b + XXH3_mul128_fold64(a, b);
    return XXH3_avalanche(acc);
}

/*
 * nd_tok_hash: the 64-bit hash of token p[0..l) (l >= 1); p[0..avail) is
 * readable, avail >= l.
 */
static inline uint64_t nd_tok_hash(const nd_tokhash_t *th, const char *p, size_t l, size_t avail)
{
    uint64_t lo, hi;
    if (l > 16)
        return XXH3_64bits_withSeed(p, l, th->seed);
    if (avail >= 16) {
        lo = XXH_readLE64(p);
        hi = XXH_readLE64(p + 8);
    } else {
        unsigned char b[16] = {0};
        memcpy(b, p, l);
        lo = XXH_readLE64(b);
        hi = XXH_readLE64(b + 8);
    }
    return nd_tok16(th, lo & nd_mask_lo[l], hi & nd_mask_hi[l], l);
}

/* nd_tok_has_digit: 1 when p[0..l) holds an ASCII digit. */
static inline uint64_t nd_tok_has_digit(const char *p, size_t l)
{
    unsigned d = 0;
    for (size_t i = 0; i < l; i++)
        d |= (unsigned)((unsigned char)p[i] - '0') < 10;
    return d;
}

#if defined(__AVX2__)
/*
 * The whole-text XXH3_64bits_withSeed() of a text over 240 bytes (XXH3's long
 * path), computed stripe by stripe from the blocks the token scan loads
 * anyway, so that its vector work overlaps the scan's integer work. Same
 * algorithm as xxHash's: 8 64-bit lanes, each 64-byte stripe j accumulated
 * with the secret at 8 (j mod 16), a scramble after every 16 stripes of a
 * full 1024-byte block, the text's last 64 bytes accumulated with the secret
 * at 121, then the lanes merged with the secret at 11 and avalanched.
 */
typedef struct nd_xxh3_s {
    __m256i acc[2];
    unsigned char secret[XXH_SECRET_DEFAULT_SIZE];
} nd_xxh3_t;

static inline void nd_xxh3_init(nd_xxh3_t *x, uint64_t seed)
{
    static const uint64_t init[8] = {XXH_PRIME32_3, XXH_PRIME64_1, XXH_PRIME64_2, XXH_PRIME64_3,
                                     XXH_PRIME64_4, XXH_PRIME32_2, XXH_PRIME64_5, XXH_PRIME32_1};
    for (int i = 0; i < XXH_SECRET_DEFAULT_SIZE / 16; i++) {
        uint64_t lo = XXH_readLE64(XXH3_kSecret + 16 * i) + seed;
        uint64_t hi = XXH_readLE64(XXH3_kSecret + 16 * i + 8) - seed;
        memcpy(x->secret + 16 * i, &lo, 8);
        memcpy(x->secret + 16 * i + 8, &hi, 8);
    }
    x->acc[0] = _mm256_loadu_si256((const __m256i *)init);
    x->acc[1] = _mm256_loadu_si256((const __m256i *)(init + 4));
}

/* Accumulate the 64-byte stripe p with the secret at key. */
static ND_ALWAYS_INLINE void nd_xxh3_stripe(nd_xxh3_t *x, const char *p, const unsigned char *key)
{
    for (int h = 0; h < 2; h++) {
        __m256i d = _mm256_loadu_si256((const __m256i *)(p + 32 * h));
        __m256i dk = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(key + 32 * h)));
        __m256i prod = _mm256_mul_epu32(dk, _mm256_srli_epi64(dk, 32));
        __m256i sw = _mm256_shuffle_epi32(d, _MM_SHUFFLE(1, 0, 3, 2));
        x->acc[h] = _mm256_add_epi64(_mm256_add_epi64(x->acc[h], sw), prod);
    }
}

/* The scramble after each full block of 16 stripes. */
static ND_ALWAYS_INLINE void nd_xxh3_scramble(nd_xxh3_t *x)
{
    const __m256i prime = _mm256_set1_epi64x(XXH_PRIME32_1);
    for (int h = 0; h < 2; h++) {
        __m256i a = _mm256_xor_si256(x->acc[h], _mm256_srli_epi64(x->acc[h], 47));
        a = _mm256_xor_si256(
            a, _mm256_loadu_si256(
                   (const __m256i *)(x->secret + XXH_SECRET_DEFAULT_SIZE - 64 + 32 * h)));
        __m256i lo = _mm256_mul_epu32(a, prime);
        __m256i hi = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), prime);
        x->acc[h] = _mm256_add_epi64(lo, _mm256_slli_epi64(hi, 32));
    }
}

/* Stripe j (the 64 bytes at 64 j) of a text of len > 240 bytes: accumulated
 * when j < (len - 1) / 64, i.e. for every stripe but a last one ending at len. */
static ND_ALWAYS_INLINE void nd_xxh3_block(nd_xxh3_t *x, const char *p, size_t j, size_t len)
{
    if (j < (len - 1) / 64) {
        nd_xxh3_stripe(x, p, x->secret + 8 * (j & 15));
        if ((j & 15) == 15)
            nd_xxh3_scramble(x);
    }
}

/* The hash of text[0..len) (len > 240) once every block went through
 * nd_xxh3_block(). */
static inline uint64_t nd_xxh3_final(nd_xxh3_t *x, const char *text, size_t len)
{
    uint64_t acc[8], r = (uint64_t)len * XXH_PRIME64_1;
    nd_xxh3_stripe(x, text + len - 64, x->secret + XXH_SECRET_DEFAULT_SIZE - 64 - 7);
    _mm256_storeu_si256((__m256i *)acc, x->acc[0]);
    _mm256_storeu_si256((__m256i *)(acc + 4), x->acc[1]);
    for (int i = 0; i < 4; i++)
        r += XXH3_mul128_fold64(acc[2 * i] ^ XXH_readLE64(x->secret + 11 + 16 * i),
                                acc[2 * i + 1] ^ XXH_readLE64(x->secret + 11 + 16 * i + 8));
    return XXH3_avalanche(r);
}
#endif

/*
 * nd_block_masks: for the 64 bytes at p (fewer when avail < 64): bit i of *sp
 * set when p[i] == ' ' and, when avail < 64, bit `avail` too (the end of the
 * text ends a token); bit i of *dg set when p[i] is an ASCII digit (only when
 * dg is not NULL).
 */
static ND_ALWAYS_INLINE void nd_block_masks(const char *p, size_t avail, uint64_t *sp, uint64_t *dg)
{
    uint64_t m = 0, d = 0;
#if defined(__AVX2__)
    if (avail >= 64 && !dg) {
        const __m256i blank = _mm256_set1_epi8(' ');
        __m256i v0 = _mm256_loadu_si256((const __m256i *)p);
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + 32));
        *sp = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, blank)) |
              (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, blank)) << 32;
        return;
    }
#endif
#if defined(__SSE2__)
    if (avail >= 64) {
        const __m128i blank = _mm_set1_epi8(' '), zero = _mm_set1_epi8('0');
        const __m128i nine = _mm_set1_epi8(9);
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, blank)) << (16 * i);
            if (dg) {
                __m128i x = _mm_sub_epi8(v, zero); /* digits become 0..9 */
                __m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(x, nine), x);
                d |= (uint64_t)(uint32_t)_mm_movemask_epi8(isd) << (16 * i);
            }
        }
        *sp = m;
        if (dg)
            *dg = d;
        return;
    }
#endif
#if defined(__SSE2__)
    if (!dg && avail >= 16) {
        /* the text's last block, 16..63 bytes: 16-byte loads, the last one
         * ending at the text's end (overlapping the one before it) */
        const __m128i blank = _mm_set1_epi8(' ');
        size_t off = 0;
        for (; off + 16 <= avail; off += 16)
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(
                     _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + off)), blank))
                 << off;
        if (off < avail)
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(
                     _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + avail - 16)), blank))
                 << (avail - 16);
        *sp = m | 1ULL << avail;
        return;
    }
#endif
    size_t n = avail < 64 ? avail : 64;
    for (size_t i = 0; i < n; i++) {
        m |= (uint64_t)(p[i] == ' ') << i;
        d |= (uint64_t)((unsigned)((unsigned char)p[i] - '0') < 10) << i;
    }
    if (avail < 64)
        m |= 1ULL << avail;
    *sp = m;
    if (dg)
        *dg = d;
}

/*
 * nd_seg_ends: append to ends the positions base + i of the set bits i of sp,
 * in order; @return their number. Writes up to 12 entries past the last one
 * (12 unconditional: prose has ~10 tokens per 64 bytes, so a branch at 8 would
 * be mispredicted at random).
 */
static ND_ALWAYS_INLINE uint32_t nd_seg_ends(uint32_t *ends, size_t base, uint64_t sp)
{
#if defined(__POPCNT__)
    uint32_t pc = (uint32_t)__builtin_popcountll(sp);
#else
    uint64_t c = sp - (sp >> 1 & 0x5555555555555555ULL); /* popcount (SWAR: no libgcc call) */
    c = (c & 0x3333333333333333ULL) + (c >> 2 & 0x3333333333333333ULL);
    c = (c + (c >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    uint32_t pc = (uint32_t)((c * 0x0101010101010101ULL) >> 56);
#endif
#if defined(__BMI__)
#define ND_CTZ_ANY(x) _tzcnt_u64(x) /* 64 for 0 */
#else
#define ND_CTZ_ANY(x) __builtin_ctzll((x) | 1ULL << 63) /* defined once x is used up */
#endif
#pragma GCC unroll 12
    for (int j = 0; j < 12; j++) {
        ends[j] = (uint32_t)(base + (size_t)ND_CTZ_ANY(sp));
        sp &= sp - 1;
    }
    if (pc > 12) {
#pragma GCC unroll 4
        for (int j = 12; j < 16; j++) {
            ends[j] = (uint32_t)(base + (size_t)ND_CTZ_ANY(sp));
            sp &= sp - 1;
        }
        for (uint32_t j = 16; j < pc; j++) {
            ends[j] = (uint32_t)(base + (size_t)__builtin_ctzll(sp));
            sp &= sp - 1;
        }
    }
#undef ND_CTZ_ANY
    return pc;
}

/*
 * A segment hasher: hash the np tokens of a segment, token i ending at
 * ends[i] (exclusive) and starting after ends[i - 1] (ends[-1] + 1 is the
 * start of the first, modulo 2^32); append the hashes of the non-empty ones
 * to th, set bit (h >> 58) of *num_mask for each token (hash h) holding a
 * digit, and @return how many were appended. dig_end[b] bit i tells whether
 * the token ending at seg + 64 b + i holds a digit (NULL: the hasher finds
 * out from the token's bytes).
 */
typedef size_t (*nd_seg_hash_fn)(const nd_tokhash_t *hs, const char *text, size_t len,
                                 const uint32_t *ends, size_t np, const uint64_t *dig_end,
                                 size_t seg, uint64_t *th, uint64_t *num_mask);

/* A fold: fold the shingles of the n token hashes th[0..n) (one shingle per
 * window of k consecutive tokens, n >= k >= 1, hashed by nd_shingle_mix) into
 * slots by keeping the per-slot minimum (nd_slot_update). */
typedef void (*nd_fold_fn)(const uint64_t *th, size_t n, uint32_t k, uint32_t slots[ND_SIG_SLOTS]);

/* The reference segment hasher: one token at a time, digits from dig_end. */
static ND_ALWAYS_INLINE size_t nd_seg_hash_scalar(const nd_tokhash_t *hs, const char *text,
                                                  size_t len, const uint32_t *ends, size_t np,
                                                  const uint64_t *dig_end, size_t seg, uint64_t *th,
                                                  uint64_t *num_mask)
{
    size_t n = 0, start = (uint32_t)(ends[-1] + 1);
    uint64_t nm = *num_mask;
    for (size_t i = 0; i < np; i++) {
        size_t e = ends[i], l = e - start;
        uint64_t h = nd_tok_hash(hs, text + start, l, len - start);
        uint64_t d = dig_end[(e - seg) >> 6] >> (e & 63) & 1; /* 0 when l == 0 */
        nm |= d << (h >> 58);
        th[n] = h;
        n += l != 0;
        start = e + 1;
    }
    *num_mask = nm;
    return n;
}

/* The reference fold. */
static ND_ALWAYS_INLINE void nd_fold_scalar(const uint64_t *th, size_t n, uint32_t k,
                                            uint32_t slots[ND_SIG_SLOTS])
{
    for (size_t i = 0; i + k <= n; i++)
        nd_slot_update(slots, nd_shingle_mix(th + i, k));
}

/*
 * nd_sign_drive: the signature of text[0..len) (len < 2^32) with shingles of k
 * tokens; the body of every kernel, instantiated with constant seg_hash and
 * fold (inlined), and with_digits telling whether seg_hash wants dig_end.
 *
 * Tokens are found ND_SEG_BYTES at a time: the blocks' space masks give the
 * ends of the tokens (branch-free), then the segment's tokens are hashed.
 * Which tokens hold a digit is found by carry propagation: adding the digit
 * mask to the non-space mask overflows each run of non-spaces (a token) that
 * holds a digit into the space that ends it, and only there; the carry out of
 * bit 63 continues a token into the next block. The end of the text ends the
 * last token (bit `avail` of the last block); empty tokens are dropped.
 */
static ND_ALWAYS_INLINE void nd_sign_drive(uint32_t k, uint64_t seed, const char *text, size_t len,
                                           nd_sig_t *sig, int with_digits, nd_seg_hash_fn seg_hash,
                                           nd_fold_fn fold)
{
    uint64_t th[ND_TOK_CHUNK + ND_K_MAX + ND_SEG_BYTES];
    uint32_t endbuf[1 + ND_SEG_BYTES + 16], *ends = endbuf + 1;
    uint64_t dig_end[ND_SEG_BYTES / 64]; /* per block: bit i, the token ending at i has a digit */
    size_t n = 0, ntok = 0, start = 0, base = 0;
    uint64_t num_mask = 0, carry = 0;
    nd_tokhash_t hs;

    if (k < 1)
        k = 1;
    if (k > ND_K_MAX)
        k = ND_K_MAX;
#if defined(__AVX2__)
    /* GCC makes memset() and a plain loop `rep stos`, slow to start for 512
     * bytes; a value it cannot see through stays vector stores */
    __m256i empty = _mm256_set1_epi32(-1);
    __asm__("" : "+x"(empty));
    for (int i = 0; i < ND_SIG_SLOTS / 8; i++)
        _mm256_storeu_si256((__m256i *)(sig->slots + 8 * i), empty);
#else
    memset(sig->slots, 0xff, sizeof(sig->slots));
#endif
#if defined(__AVX2__)
    nd_xxh3_t xh;
    int long_text = len > XXH3_MIDSIZE_MAX; /* else XXH3 takes its short paths */
    if (long_text)
        nd_xxh3_init(&xh, seed);
    else
        sig->text_hash = XXH3_64bits_withSeed(text, len, seed);
#else
    sig->text_hash = XXH3_64bits_withSeed(text, len, seed);
#endif
    nd_tokhash_init(&hs, seed);

    while (base <= len) {
        size_t seg = base, np = 0, got;
        for (int b = 0; b < ND_SEG_BYTES / 64 && base <= len; b++, base += 64) {
            uint64_t sp, dg, sum;
            if (with_digits) {
                nd_block_masks(text + base, len - base, &sp, &dg);
                uint64_t c1 = __builtin_add_overflow(~sp, dg, &sum);
                uint64_t c2 = __builtin_add_overflow(sum, carry, &sum);
                carry = c1 | c2;
                dig_end[b] = sum & sp;
            } else {
                nd_block_masks(text + base, len - base, &sp, NULL);
            }
#if defined(__AVX2__)
            if (long_text)
                nd_xxh3_block(&xh, text + base, base / 64, len);
#endif
            np += nd_seg_ends(ends + np, base, sp);
        }
        if (np == 0)
            continue;
        ends[-1] = (uint32_t)(start - 1);
        got = seg_hash(&hs, text, len, ends, np, with_digits ? dig_end : NULL, seg, th + n,
                       &num_mask);
        n += got;
        ntok += got;
        start = (size_t)ends[np - 1] + 1;
        if (n >= ND_TOK_CHUNK + k - 1) {
            fold(th, n, k, sig->slots);
            memmove(th, th + n - (k - 1), (k - 1) * sizeof(th[0]));
            n = k - 1;
        }
    }
#if defined(__AVX2__)
    if (long_text)
        sig->text_hash = nd_xxh3_final(&xh, text, len);
#endif
    if (ntok == 0) {
        sig->n_shingles = 0;
    } else if (ntok < k) {
        fold(th, n, (uint32_t)n, sig->slots);
        sig->n_shingles = 1;
    } else {
        if (n >= k)
            fold(th, n, k, sig->slots);
        sig->n_shingles = (uint32_t)(ntok - k + 1);
    }
    sig->num_mask = num_mask;
}

#endif
