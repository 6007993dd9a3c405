/*
 * sign.c - the kernel dispatch, densification and the wire encoding of a
 * signature. The signature itself is computed by a kernel (sign_int.h holds
 * the body they share; sign_scalar.c is the reference).
 */
#include <pthread.h>
#include <string.h>

#include "sign_int.h"

/* Kernels this build and CPU can run, "scalar" first, best last. Filled
 * once (pthread_once): the only global of the program. */
static nd_sign_kernel_t nd_kernels[4];
static const char *nd_kernel_names[4];
static int nd_kernel_count;
static pthread_once_t nd_kernel_once = PTHREAD_ONCE_INIT;

static void nd_kernels_init(void)
{
    int n = 0;
    nd_kernels[n++] = (nd_sign_kernel_t){"scalar", nd_sign_kernel_scalar, nd_lsh_slot_matches,
                                         nd_sig_pack, nd_band_keys2};
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2"))
        nd_kernels[n++] = (nd_sign_kernel_t){"avx2", nd_sign_kernel_avx2, nd_lsh_slot_matches_avx2,
                                             nd_sig_pack_avx2, nd_band_keys2_avx2};
#endif
#if defined(__aarch64__)
    nd_kernels[n++] = (nd_sign_kernel_t){"neon", nd_sign_kernel_neon, nd_lsh_slot_matches,
                                         nd_sig_pack, nd_band_keys2};
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

void nd_densify_tab_init(nd_densify_tab_t *tab, uint64_t seed)
{
    tab->seed = seed;
    for (uint32_t j = 0; j < ND_SIG_SLOTS; j++)
        for (uint32_t a = 1; a <= ND_DENSIFY_TAB; a++)
            tab->probe[j][a - 1] = (uint8_t)nd_densify_probe(seed, j, a);
}

/* The slots that are empty form a bit set (bit j: slot j); only empty slots are
 * written, so a probe reads a value the fill cannot have changed. */
void nd_sign_densify(uint64_t seed, const nd_densify_tab_t *tab, uint32_t slots[ND_SIG_SLOTS])
{
    uint64_t empty[ND_SIG_SLOTS / 64] = {0}, any = 0, all = ~0ULL;
#if defined(__SSE2__)
    const __m128i e = _mm_set1_epi32(-1);
    for (int j = 0; j < ND_SIG_SLOTS; j += 4) {
        __m128i v = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(slots + j)), e);
        empty[j >> 6] |= (uint64_t)_mm_movemask_ps(_mm_castsi128_ps(v)) << (j & 63);
    }
#else
    for (int j = 0; j < ND_SIG_SLOTS; j++)
        empty[j >> 6] |= (uint64_t)(slots[j] == ND_SLOT_EMPTY) << (j & 63);
#endif
    for (int w = 0; w < ND_SIG_SLOTS / 64; w++) {
        any |= empty[w];
        all &= empty[w];
    }
    if (any == 0 || all == ~0ULL)
        return;
    if (tab && tab->seed != seed)
        tab = NULL;
#define ND_IS_EMPTY(d) (empty[(d) >> 6] >> ((d)&63) & 1)
    for (uint32_t w = 0; w < ND_SIG_SLOTS / 64; w++) {
        for (uint64_t m = empty[w]; m; m &= m - 1) {
            uint32_t j = 64 * w + (uint32_t)__builtin_ctzll(m);
            uint32_t a = 1, d;
            if (tab) { /* the first ND_DENSIFY_TAB attempts from the table */
                const uint8_t *pr = tab->probe[j];
                for (d = pr[0]; ND_IS_EMPTY(d) && a < ND_DENSIFY_TAB; d = pr[a++])
                    ;
                if (!ND_IS_EMPTY(d)) {
                    slots[j] = slots[d];
                    continue;
                }
                d = nd_densify_probe(seed, j, ++a);
            } else {
                d = nd_densify_probe(seed, j, a);
            }
            while (ND_IS_EMPTY(d)) {
                if (++a > 4096) { /* astronomically unlikely; stay deterministic */
                    d = j;
                    while (ND_IS_EMPTY(d))
                        d = (d + 1) & (ND_SIG_SLOTS - 1);
                    break;
                }
                d = nd_densify_probe(seed, j, a);
            }
            slots[j] = slots[d];
        }
    }
#undef ND_IS_EMPTY
}

/* nd_sign_with: the kernel (see sign_int.h), then densification. */
void nd_sign_with(const nd_sign_kernel_t *kern, const nd_densify_tab_t *tab, uint32_t k,
                  uint64_t seed, const char *text, size_t len, nd_sig_t *sig)
{
    kern->fn(k, seed, text, len, sig);
    nd_sign_densify(seed, tab, sig->slots);
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
