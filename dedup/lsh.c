/*
 * lsh.c - LSH banding over the low slots, candidate gathering and the
 * verification measure.
 *
 * Band b is the low slots [b*rows, (b+1)*rows), stored at ND_LO_BITS (12); with
 * rows = 2 its key is 24 exact bits, so a band collision is a real signature
 * agreement, not a hash accident (the truncation adds a 2^-24 chance per pair
 * and band: with 100,000 articles indexed, 0.2 stray candidates per add over
 * 32 bands, which verification rejects).
 *
 * Verification estimates containment, not Jaccard: a syndicated copy that keeps
 * half of the original has Jaccard ~0.4 but containment ~0.9. From the slot
 * agreement J, |A∩B| ≈ J(|A|+|B|)/(1+J), and containment = |A∩B| / min(|A|,|B|).
 * Templated look-alikes (earnings, shipment figures) share sentences but not
 * numbers, so the estimate is scaled down by the share of the smaller text's
 * digit-bearing tokens missing from the other (beyond two, for a dateline and
 * a footer year).
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dedup_int.h"

void nd_band_keys2(const uint64_t *seed, const uint8_t *plo, uint32_t bands, uint64_t *bh)
{
    for (uint32_t b = 0; b < bands; b++)
        bh[b] = nd_band_key2_of(seed[b], nd_lo_get(plo, 2 * b), nd_lo_get(plo, 2 * b + 1));
}

void nd_band_hashes(const nd_dedup_t *dd, const uint8_t *plo, uint32_t mask, uint64_t *bh)
{
    if (dd->conf.rows == 2) { /* every band's key at once, the kernel's way */
        uint64_t all[ND_BANDS_MAX];
        dd->kern->band_keys2(dd->band_seed, plo, dd->conf.bands, all);
        for (uint32_t b = 0; b < dd->conf.bands; b++)
            if (mask >> b & 1) {
                bh[b] = all[b];
                nd_itab_prefetch(&dd->band_tab[b], bh[b]);
            }
        return;
    }
    uint16_t lo[ND_SIG_LO];
    nd_lo_unpack(plo, lo);
    for (uint32_t b = 0; b < dd->conf.bands; b++)
        if (mask >> b & 1) {
            bh[b] = nd_band_hash(dd->conf.seed, b, lo, dd->conf.rows);
            nd_itab_prefetch(&dd->band_tab[b], bh[b]);
        }
}

void nd_lo_unpack(const uint8_t *p, uint16_t lo[ND_SIG_LO])
{
    for (uint32_t i = 0; i < ND_SIG_LO; i++)
        lo[i] = (uint16_t)nd_lo_get(p, i);
}

void nd_sig_pack(const nd_sig_t *sig, uint8_t plo[ND_LO_BYTES], uint8_t hi[ND_HI_BYTES],
                 nd_nmask_t *mask)
{
    const uint32_t *lo = sig->slots; /* stored: the low ND_LO_BITS of each */
#if ND_LO_BITS == 12
    for (int i = 0; i < ND_SIG_LO / 2; i++) {
        uint32_t v = (lo[2 * i] & ND_LO_MASK) | (lo[2 * i + 1] & ND_LO_MASK) << 12;
        plo[3 * i] = (uint8_t)v;
        plo[3 * i + 1] = (uint8_t)(v >> 8);
        plo[3 * i + 2] = (uint8_t)(v >> 16);
    }
#else
    for (int i = 0; i < ND_SIG_LO; i++) {
        plo[2 * i] = (uint8_t)(lo[i] & ND_LO_MASK);
        plo[2 * i + 1] = (uint8_t)((lo[i] & ND_LO_MASK) >> 8);
    }
#endif
#if ND_HI_BITS == 8
    for (int i = 0; i < ND_SIG_HI; i++)
        hi[i] = (uint8_t)sig->slots[ND_SIG_LO + i];
#elif ND_HI_BITS == 6
    for (int i = 0; i < ND_SIG_HI / 4; i++) {
        const uint32_t *q = sig->slots + ND_SIG_LO + 4 * i;
        uint32_t v = (q[0] & 63) | (q[1] & 63) << 6 | (q[2] & 63) << 12 | (q[3] & 63) << 18;
        hi[3 * i] = (uint8_t)v;
        hi[3 * i + 1] = (uint8_t)(v >> 8);
        hi[3 * i + 2] = (uint8_t)(v >> 16);
    }
#else
    for (int i = 0; i < ND_HI_BYTES; i++)
        hi[i] = (uint8_t)((sig->slots[ND_SIG_LO + 2 * i] & 15) |
                          (sig->slots[ND_SIG_LO + 2 * i + 1] & 15) << 4);
#endif
    *mask = nd_mask_fold(sig->num_mask);
}

/* The 48-bit little-endian value of p[0..6). */
static inline uint64_t ld48(const uint8_t *p)
{
    uint32_t a;
    uint16_t b;
    memcpy(&a, p, 4); /* two loads, not six */
    memcpy(&b, p + 4, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    a = __builtin_bswap32(a);
    b = __builtin_bswap16(b);
#endif
    return (uint64_t)a | (uint64_t)b << 32;
}

void nd_lsh_slot_matches(const uint8_t *alo, const uint8_t *ahi, const uint8_t *blo,
                         const uint8_t *bhi, int *m_lo_out, int *mh_out)
{
    int m_lo = 0, mh = 0;
#if ND_LO_BITS == 12
    /* 6 bytes = four 12-bit slots at a time: a slot of x is non-zero when adding
     * its low 11 bits to 0x7ff carries into its bit 11, or that bit is set */
    _Static_assert(ND_LO_BYTES % 6 == 0, "whole 6-byte groups");
    for (int i = 0; i < ND_LO_BYTES; i += 6) {
        uint64_t x = ld48(alo + i) ^ ld48(blo + i);
        uint64_t nz = (((x & 0x7ff7ff7ff7ffULL) + 0x7ff7ff7ff7ffULL) | x) & 0x800800800800ULL;
        /* the four flags (bits 11, 23, 35, 47) summed into bits 36..38 */
        m_lo += 4 - (int)(((nz >> 11) * 0x001001001001ULL) >> 36 & 7);
    }
#else
    for (int i = 0; i < ND_LO_BYTES; i += 2)
        m_lo += alo[i] == blo[i] && alo[i + 1] == blo[i + 1];
#endif
#if ND_HI_BITS == 8
    for (int i = 0; i < ND_SIG_HI; i++)
        mh += ahi[i] == bhi[i];
#elif ND_HI_BITS == 6
    _Static_assert(ND_HI_BYTES % 6 == 0, "whole 6-byte groups");
    for (int i = 0; i < ND_HI_BYTES; i += 6) { /* eight 6-bit slots, the same way */
        uint64_t x = ld48(ahi + i) ^ ld48(bhi + i);
        uint64_t nz = (((x & 0x7df7df7df7dfULL) + 0x7df7df7df7dfULL) | x) & 0x820820820820ULL;
        /* the eight flags (bits 5, 11, ..., 47) summed into bits 42..45 */
        mh += 8 - (int)(((nz >> 5) * 0x041041041041ULL) >> 42 & 15);
    }
#else
    for (int i = 0; i < ND_HI_BYTES; i++) {
        uint8_t x = ahi[i] ^ bhi[i];
        mh += !(x & 15) + !(x >> 4);
    }
#endif
    *m_lo_out = m_lo;
    *mh_out = mh;
}

double nd_lsh_similarity(const uint8_t *alo, const uint8_t *ahi, uint32_t na, nd_nmask_t ma,
                         const uint8_t *blo, const uint8_t *bhi, uint32_t nb, nd_nmask_t mb)
{
    if (na == 0 || nb == 0)
        return 0.0;
    int m_lo, mh;
    nd_lsh_slot_matches(alo, ahi, blo, bhi, &m_lo, &mh);
    return nd_lsh_similarity_of(m_lo, mh, na, ma, nb, mb);
}

double nd_lsh_similarity_of(int m_lo, int mh, uint32_t na, nd_nmask_t ma, uint32_t nb,
                            nd_nmask_t mb)
{
    if (na == 0 || nb == 0)
        return 0.0;
    /* b-bit slots agree by chance 2^-b of the time: b-bit MinHash correction */
    const double cl = 1.0 / (1u << ND_LO_BITS), ch = 1.0 / (1u << ND_HI_BITS);
    double pl = ((double)m_lo / ND_SIG_LO - cl) / (1.0 - cl);
    double ph = ((double)mh / ND_SIG_HI - ch) / (1.0 - ch);
    if (pl < 0)
        pl = 0;
    if (ph < 0)
        ph = 0;
    double j = (pl * ND_SIG_LO + ph * ND_SIG_HI) / ND_SIG_SLOTS;
    if (j > 1)
        j = 1;
    uint32_t small = na < nb ? na : nb;
    double sim = j;
    if (small >= ND_CONTAIN_MIN_SHINGLES) {
        sim = j * ((double)na + nb) / (1.0 + j) / small;
        if (sim > 1)
            sim = 1;
    }
    uint64_t ms = na <= nb ? ma : mb, ml = na <= nb ? mb : ma;
    int tot = nd_popcount64(ms), miss = nd_popcount64(ms & ~ml);
    if (miss > 2)
        sim *= 1.0 - (double)(miss - 2) / tot;
    return sim;
}

/* Count one band hit of article idx (band band), keeping the candidate set;
 * @return 1 when the set is full and idx is new (the band's chain stops). */
static inline int cand_hit(nd_dedup_t *dd, uint32_t band, uint32_t idx, uint32_t *slot)
{
    const nd_art_t *a = nd_art(dd, idx);
    uint32_t r = dd->conf.rows, off = band * r;
#if ND_LO_BITS == 12
    if (r == 2) { /* the band is 3 whole bytes of the packed slots */
        const uint8_t *x = a->lo + 3 * band, *y = dd->probe_lo + 3 * band;
        if ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]))
            return 0;
    } else
#endif
        for (uint32_t i = 0; i < r; i++)
            if (nd_lo_get(a->lo, off + i) != nd_lo_get(dd->probe_lo, off + i))
                return 0;
    if (dd->n_same < ND_SAME_MAX) {
        dd->same_slot[dd->n_same] = slot;
        dd->same_idx[dd->n_same] = idx;
        dd->same_band[dd->n_same++] = (uint8_t)band;
    } else {
        dd->same_ok = 0;
    }
    if (a->time_s < dd->cutoff_s)
        return 0; /* out of the window, not yet evicted */
    uint32_t mask = 2 * ND_CAND_MAX - 1, i = (idx * 0x9E3779B1u) & mask;
    while (dd->cand_set[i]) {
        nd_cand_t *c = &dd->cand[dd->cand_set[i] - 1];
        if (c->idx == idx) {
            c->hits++;
            return 0;
        }
        i = (i + 1) & mask;
    }
    if (dd->n_cand == ND_CAND_MAX)
        return 1; /* full: keep the first ND_CAND_MAX */
    dd->cand[dd->n_cand] = (nd_cand_t){idx, 1};
    dd->cand_set[i] = ++dd->n_cand;
    return 0;
}

#if defined(__SSE2__)
/* The 8 buckets at p: *match bit j when p[j] is an entry (not empty, not a
 * tombstone) with this tag, *empty bit j when p[j] is empty. */
static inline void scan8(const uint32_t *p, uint32_t tag, uint32_t *match, uint32_t *empty)
{
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi32(1);
    const __m128i tg = _mm_set1_epi32((int)tag);
    __m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 4));
#define ND_MASK4_(v) ((uint32_t)_mm_movemask_ps(_mm_castsi128_ps(v)))
    uint32_t em = ND_MASK4_(_mm_cmpeq_epi32(a, zero)) | ND_MASK4_(_mm_cmpeq_epi32(b, zero)) << 4;
    uint32_t tm = ND_MASK4_(_mm_cmpeq_epi32(a, one)) | ND_MASK4_(_mm_cmpeq_epi32(b, one)) << 4;
    uint32_t mm = ND_MASK4_(_mm_cmpeq_epi32(_mm_srli_epi32(a, 24), tg)) |
                  ND_MASK4_(_mm_cmpeq_epi32(_mm_srli_epi32(b, 24), tg)) << 4;
#undef ND_MASK4_
    *match = mm & ~(em | tm);
    *empty = em;
}
#endif

/* Tag matches gathered from the band tables before any record is read. */
#define ND_HIT_BATCH 512
typedef struct nd_hits_s {
    uint32_t n;
    uint32_t stop;                /* a band whose chain has stopped (set full) */
    uint32_t *slot[ND_HIT_BATCH]; /* the bucket of each match */
    uint8_t band[ND_HIT_BATCH];
} nd_hits_t;

/* Check the batch of tag matches in order, then empty it (their records
 * were prefetched as they were met, see hit_add). */
static void cand_batch(nd_dedup_t *dd, nd_hits_t *h)
{
    for (uint32_t j = 0; j < h->n; j++) {
        if (h->band[j] == h->stop)
            dd->same_ok = 0; /* a stopped chain: the list may miss entries */
        else if (cand_hit(dd, h->band[j], nd_itab_ent_idx(*h->slot[j]), h->slot[j]))
            h->stop = h->band[j];
    }
    h->n = 0;
}

/* Add the tag match in bucket slot of band b to the batch. */
static inline void hit_add(nd_dedup_t *dd, nd_hits_t *h, uint32_t *slot, uint32_t b)
{
    /* the record's lines that cand_hit() reads: the rest of the band walk
     * runs while they load */
    const nd_art_t *a = nd_art(dd, nd_itab_ent_idx(*slot));
    __builtin_prefetch(a);
    __builtin_prefetch(a->lo + 3 * (b * dd->conf.rows / 2));
    h->slot[h->n] = slot;
    h->band[h->n++] = (uint8_t)b;
    if (h->n == ND_HIT_BATCH)
        cand_batch(dd, h);
}

/* The tag matches of band b's chain for key h, in probe order, added to the
 * batch: the live table's chain from bucket start1 (its home bucket, or where
 * a caller that scanned the chain before it stopped), then the draining
 * table's whole chain. */
static void band_walk(nd_dedup_t *dd, nd_hits_t *h, const nd_itab_t *t, uint32_t b, uint64_t key,
                      uint32_t start1)
{
    uint32_t tag = (uint32_t)(key >> 56);
    for (int w = 1; w >= 0; w--) {
        uint32_t *tab = t->t[w];
        if (!tab)
            continue;
        uint32_t mask = t->mask[w], i = w == 1 ? start1 : nd_itab_probe_start(t, w, key);
        for (uint32_t n = 0; n <= mask;) {
#if defined(__SSE2__)
            /* the live table's chain, 8 buckets a step where no wrap */
            if (w == 1 && i + 8 <= mask + 1) {
                uint32_t m, em;
                scan8(tab + i, tag, &m, &em);
                if (em)
                    m &= (1u << __builtin_ctz(em)) - 1;
                for (; m; m &= m - 1)
                    hit_add(dd, h, &tab[i + (uint32_t)__builtin_ctz(m)], b);
                if (em)
                    break;
                n += 8;
                i = (i + 8) & mask;
                continue;
            }
#endif
            uint32_t e = tab[i];
            if (e == ND_ITAB_EMPTY)
                break;
            if (e > ND_ITAB_TOMB && e >> 24 == tag)
                hit_add(dd, h, &tab[i], b);
            n++;
            i = nd_itab_probe_next(t, w, i);
        }
    }
}

/*
 * nd_lsh_touch: load the first and the eighth bucket from home of every band's
 * live table (the same line unless they cross into the next) in one
 * branch-free loop, so that their cache misses are in flight together:
 * prefetches alone did not overlap them, and the chain walks end in
 * mispredicted branches, which stop the processor from running ahead.
 * (Loading the next line always was 32 more loads an add, more than half of
 * them of lines no step reads.) The add calls it before its eviction step,
 * so that the loads complete while that step runs.
 */
void nd_lsh_touch(const nd_dedup_t *dd, const uint64_t *bh)
{
    uint32_t touch = 0;
    for (uint32_t b = 0; b < dd->conf.bands; b++) {
        const nd_itab_t *t = &dd->band_tab[b];
        if (!t->t[1])
            continue;
        uint32_t i = (uint32_t)bh[b] & t->mask[1];
        touch += t->t[1][i] + t->t[1][(i + 7) & t->mask[1]];
    }
    __asm__ volatile("" : : "r"(touch)); /* keep the loads */
}

/*
 * Candidates come in band order and, within a band, in probe order (the order
 * of dd->cand, which only a full set makes matter); the chains of all bands
 * are walked first, the records read after (cand_batch).
 */
uint32_t nd_lsh_candidates(nd_dedup_t *dd, const uint8_t *plo, const uint64_t *bh,
                           uint32_t n_shingles)
{
    nd_hits_t h;
    h.n = 0;
    h.stop = UINT32_MAX;
    dd->n_cand = 0;
    dd->n_same = 0;
    dd->same_ok = 1;
    if (n_shingles == 0)
        return 0;
    dd->probe_lo = plo;
    for (uint32_t b = 0; b < dd->conf.bands; b++) {
        const nd_itab_t *t = &dd->band_tab[b];
        uint32_t i = (uint32_t)bh[b] & t->mask[1];
#if defined(__SSE2__)
        /* The common case: no rehash under way, the chain scanned 8 buckets
         * a step from the home one while the step stays inside the table,
         * up to the first empty bucket (a fifth of the chains run past the
         * first 8 buckets). A chain that reaches the end of the table goes
         * on in the general walk from where this stopped. */
        uint32_t *tab = t->t[1], m, em, tag = (uint32_t)(bh[b] >> 56);
        if (tab && !t->t[0]) {
            uint32_t end = t->mask[1] + 1;
            for (em = 0; i + 8 <= end; i += 8) {
                scan8(tab + i, tag, &m, &em);
                if (em)
                    m &= (em & -em) - 1;
                for (; m; m &= m - 1)
                    hit_add(dd, &h, &tab[i + (uint32_t)__builtin_ctz(m)], b);
                if (em)
                    break;
            }
            if (em)
                continue;
            i &= t->mask[1];
        }
#endif
        band_walk(dd, &h, t, b, bh[b], i);
    }
    cand_batch(dd, &h);
    /* clear the scratch set: every slot set belongs to a candidate */
    uint32_t mask = 2 * ND_CAND_MAX - 1;
    for (uint32_t c = 0; c < dd->n_cand; c++) {
        uint32_t i = (dd->cand[c].idx * 0x9E3779B1u) & mask;
        while (dd->cand_set[i] != c + 1)
            i = (i + 1) & mask;
        dd->cand_set[i] = 0;
    }
    return dd->n_cand;
}
