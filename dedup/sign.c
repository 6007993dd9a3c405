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

void nd_sign_with(const nd_sign_kernel_t *kern, uint32_t k, uint64_t seed, const char *text,
                  size_t len, nd_sig_t *sig)
{
    uint64_t th[ND_TOK_CHUNK + ND_K_MAX];
    size_t n = 0, ntok = 0;
    uint64_t num_mask = 0;
    const char *p = text, *end = text + len;

    if (k < 1)
        k = 1;
    if (k > ND_K_MAX)
        k = ND_K_MAX;
    memset(sig->slots, 0xff, sizeof(sig->slots));
    sig->text_hash = XXH3_64bits_withSeed(text, len, seed);

    while (p < end) {
        const char *t = p;
        int digit = 0;
        while (p < end && *p != ' ') {
            digit |= (unsigned)(*p - '0') < 10;
            p++;
        }
        if (p > t) {
            uint64_t h = XXH3_64bits_withSeed(t, (size_t)(p - t), seed);
            if (digit)
                num_mask |= 1ULL << (h >> 58);
            th[n++] = h;
            ntok++;
            if (n == ND_TOK_CHUNK + k - 1) {
                kern->fn(th, n, k, sig->slots);
                memmove(th, th + n - (k - 1), (k - 1) * sizeof(th[0]));
                n = k - 1;
            }
        }
        p++; /* the separator */
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

#define ND_SIG_TAG 0x3153444Eu /* "NDS1" little-endian */

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
