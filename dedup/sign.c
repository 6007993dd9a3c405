/*
 * sign.c - shingling, densification and the kernel dispatch.
 *
 * A signature is computed in three steps:
 *  1. tokens (split on ' ') are hashed with XXH3 into 64-bit token hashes, in
 *     chunks on the stack (no allocation);
 *  2. a kernel folds each window of k token hashes into one shingle hash
 *     (nd_shingle_mix) and keeps the per-slot minimum: one-permutation MinHash,
 *     the top ND_SIG_SLOT_BITS bits pick the slot;
 *  3. empty slots are filled by optimal densification (Shrivastava, ICML 2017):
 *     slot j borrows the value of the first originally non-empty slot in a
 *     pseudo-random probe sequence seeded by j, which keeps the collision
 *     probability of two signatures equal to their Jaccard similarity.
 * Steps 1 and 3 are shared by every kernel, so kernels differ only in step 2.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <pthread.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dedup_int.h"

/* Token hashes per chunk handed to a kernel. */
#define ND_TOK_CHUNK 512
#define ND_K_MAX     16

/* Kernels this build and CPU can run, "scalar" first, best last. Filled
 * once (pthread_once): the only global of the program. */
static nd_sign_kernel_t nd_kernels[4];
static const char *nd_kernel_names[4];
static int nd_kernel_count;
static pthread_once_t nd_kernel_once = PTHREAD_ONCE_INIT;

static void nd_kernels_init(void)
{
    int n = 0;
    nd_kernels[n++] = (nd_sign_kernel_t){"scalar", nd_sign_kernel_scalar};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        nd_kernels[n++] = (nd_sign_kernel_t){"avx2", nd_sign_kernel_avx2};
#endif
#if defined(__aarch64__)
    nd_kernels[n++] = (nd_sign_kernel_t){"neon", nd_sign_kernel_neon};
#endif
    for (int i = 0; i < n; i++)
        nd_kernel_names[i] = nd_kernels[i].name;
    nd_kernel_names[n] = NULL;
    nd_kernel_count = n;
}

const char *const *nd_sign_kernels(void)
{
    pthread_once(&nd_kernel_once, nd_kernels_init);
    return nd_kernel_names;
}

const nd_sign_kernel_t *nd_sign_kernel_find(const char *name)
{
    pthread_once(&nd_kernel_once, nd_kernels_init);
    if (!name || !*name || !strcmp(name, "auto"))
        return &nd_kernels[nd_kernel_count - 1];
    for (int i = 0; i < nd_kernel_count; i++)
        if (!strcmp(nd_kernels[i].name, name))
            return &nd_kernels[i];
    return NULL;
}

/* The probe sequence of optimal densification: attempt a for empty slot j. */
static inline uint32_t nd_densify_probe(uint64_t seed, uint32_t j, uint32_t a)
{
    uint64_t x = seed ^ ((uint64_t)j << 32 | a);
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return (uint32_t)(x >> (64 - ND_SIG_SLOT_BITS));
}

static void nd_densify(uint64_t seed, uint32_t slots[ND_SIG_SLOTS])
{
    uint32_t orig[ND_SIG_SLOTS];
    int filled = 0;
    memcpy(orig, slots, sizeof(orig));
    for (int j = 0; j < ND_SIG_SLOTS; j++)
        filled += orig[j] != ND_SLOT_EMPTY;
    if (filled == 0 || filled == ND_SIG_SLOTS)
        return;
    for (uint32_t j = 0; j < ND_SIG_SLOTS; j++) {
        if (orig[j] != ND_SLOT_EMPTY)
            continue;
        uint32_t a = 1, d = nd_densify_probe(seed, j, a);
        while (orig[d] == ND_SLOT_EMPTY) {
            if (++a > 4096) { /* astronomically unlikely; stay deterministic */
                d = j;
                while (orig[d] == ND_SLOT_EMPTY)
                    d = (d + 1) & (ND_SIG_SLOTS - 1);
                break;
            }
            d = nd_densify_probe(seed, j, a);
        }
        slots[j] = orig[d];
    }
}

/*
 * Token hashing. A token of at most 16 bytes (nearly every word) is read as two
 * little-endian 64-bit words, zero-padded past its end, and hashed with the
 * body of XXH3's 9-16 byte path (secret-derived bit flips, a 128-bit multiply
 * fold, the XXH3 avalanche) with its length folded in, so that every length
 * takes the same branch-free route. Longer tokens go through
 * XXH3_64bits_withSeed(). The result is a function of the token's bytes and the
 * seed only, identical on every platform.
 */
typedef struct nd_tokhash_s {
    uint64_t flip_lo, flip_hi, seed;
} nd_tokhash_t;

static void nd_tokhash_init(nd_tokhash_t *th, uint64_t seed)
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

/*
 * nd_block_masks: for the 64 bytes at p (fewer when avail < 64): bit i of *sp
 * set when p[i] == ' ' and, when avail < 64, bit `avail` too (the end of the
 * text ends a token); bit i of *dg set when p[i] is an ASCII digit.
 */
static inline void nd_block_masks(const char *p, size_t avail, uint64_t *sp, uint64_t *dg)
{
    uint64_t m = 0, d = 0;
#if defined(__SSE2__)
    if (avail >= 64) {
        const __m128i blank = _mm_set1_epi8(' '), zero = _mm_set1_epi8('0');
        const __m128i nine = _mm_set1_epi8(9);
        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
            __m128i x = _mm_sub_epi8(v, zero); /* digits become 0..9 */
            __m128i isd = _mm_cmpeq_epi8(_mm_min_epu8(x, nine), x);
            m |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, blank)) << (16 * i);
            d |= (uint64_t)(uint32_t)_mm_movemask_epi8(isd) << (16 * i);
        }
        *sp = m;
        *dg = d;
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
    *dg = d;
}

/* Bytes scanned per segment: the ends of its tokens are listed first, then
 * hashed in one loop (long enough that its exit is the only mispredicted
 * branch, with many independent hashes in flight). */
#define ND_SEG_BYTES 512

/*
 * nd_seg_ends: append to ends the positions base + i of the set bits i of sp,
 * in order; @return their number. Writes up to 8 entries past the last one.
 */
static inline uint32_t nd_seg_ends(uint32_t *ends, size_t base, uint64_t sp)
{
    uint64_t c = sp - (sp >> 1 & 0x5555555555555555ULL); /* popcount (SWAR: no libgcc call) */
    c = (c & 0x3333333333333333ULL) + (c >> 2 & 0x3333333333333333ULL);
    c = (c + (c >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    uint32_t pc = (uint32_t)((c * 0x0101010101010101ULL) >> 56);
    const uint64_t top = 1ULL << 63; /* keeps ctz defined once sp is used up */
    for (int j = 0; j < 8; j++) {
        ends[j] = (uint32_t)(base + (size_t)__builtin_ctzll(sp | top));
        sp &= sp - 1;
    }
    if (pc > 8) {
        for (int j = 8; j < 16; j++) {
            ends[j] = (uint32_t)(base + (size_t)__builtin_ctzll(sp | top));
            sp &= sp - 1;
        }
        for (uint32_t j = 16; j < pc; j++) {
            ends[j] = (uint32_t)(base + (size_t)__builtin_ctzll(sp));
            sp &= sp - 1;
        }
    }
    return pc;
}

/*
 * Tokens are found ND_SEG_BYTES at a time: the blocks' space masks give the
 * ends of the tokens (branch-free), then the segment's tokens are hashed.
 * Which tokens hold a digit is found by carry propagation: adding the digit
 * mask to the non-space mask overflows each run of non-spaces (a token) that
 * holds a digit into the space that ends it, and only there; the carry out of
 * bit 63 continues a token into the next block. The end of the text ends the
 * last token (bit `avail` of the last block); empty tokens are dropped.
 */
void nd_sign_with(const nd_sign_kernel_t *kern, uint32_t k, uint64_t seed, const char *text,
                  size_t len, nd_sig_t *sig)
{
    uint64_t th[ND_TOK_CHUNK + ND_K_MAX + ND_SEG_BYTES];
    uint32_t ends[ND_SEG_BYTES + 16];
    uint64_t dig_end[ND_SEG_BYTES / 64]; /* per block: bit i, the token ending at i has a digit */
    size_t n = 0, ntok = 0, start = 0, base = 0;
    uint64_t num_mask = 0, carry = 0;
    nd_tokhash_t hs;

    if (k < 1)
        k = 1;
    if (k > ND_K_MAX)
        k = ND_K_MAX;
    memset(sig->slots, 0xff, sizeof(sig->slots));
    sig->text_hash = XXH3_64bits_withSeed(text, len, seed);
    nd_tokhash_init(&hs, seed);

    while (base <= len) {
        size_t seg = base, np = 0, n0 = n;
        for (int b = 0; b < ND_SEG_BYTES / 64 && base <= len; b++, base += 64) {
            uint64_t sp, dg, sum;
            nd_block_masks(text + base, len - base, &sp, &dg);
            uint64_t c1 = __builtin_add_overflow(~sp, dg, &sum);
            uint64_t c2 = __builtin_add_overflow(sum, carry, &sum);
            carry = c1 | c2;
            dig_end[b] = sum & sp;
            np += nd_seg_ends(ends + np, base, sp);
        }
        for (size_t i = 0; i < np; i++) {
            size_t e = ends[i], l = e - start;
            uint64_t h = nd_tok_hash(&hs, text + start, l, len - start);
            uint64_t d = dig_end[(e - seg) >> 6] >> (e & 63) & 1; /* 0 when l == 0 */
            num_mask |= d << (h >> 58);
            th[n] = h;
            n += l != 0;
            start = e + 1;
        }
        ntok += n - n0;
        if (n >= ND_TOK_CHUNK + k - 1) {
            kern->fn(th, n, k, sig->slots);
            memmove(th, th + n - (k - 1), (k - 1) * sizeof(th[0]));
            n = k - 1;
        }
    }
    if (ntok == 0) {
        sig->n_shingles = 0;
    } else if (ntok < k) {
        kern->fn(th, n, (uint32_t)n, sig->slots);
        sig->n_shingles = 1;
    } else {
        if (n >= k)
            kern->fn(th, n, k, sig->slots);
        sig->n_shingles = (uint32_t)(ntok - k + 1);
    }
    sig->num_mask = num_mask;
    nd_densify(seed, sig->slots);
}

/* ---------------------------------------------------------- wire encoding */

#define ND_SIG_TAG 0x3253444Eu /* "NDS2" little-endian (NDS1: the old token hash) */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void nd_sig_encode(const nd_sig_t *sig, uint8_t out[ND_SIG_WIRE_SIZE])
{
    put32(out, ND_SIG_TAG);
    put64(out + 4, sig->text_hash);
    put64(out + 12, sig->num_mask);
    put32(out + 20, sig->n_shingles);
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        put32(out + 24 + 4 * i, sig->slots[i]);
}

int nd_sig_decode(const uint8_t *in, size_t len, nd_sig_t *sig)
{
    if (len != ND_SIG_WIRE_SIZE || get32(in) != ND_SIG_TAG)
        return -1;
    sig->text_hash = get64(in + 4);
    sig->num_mask = get64(in + 12);
    sig->n_shingles = get32(in + 20);
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        sig->slots[i] = get32(in + 24 + 4 * i);
    return 0;
}
