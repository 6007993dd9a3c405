/* label: unit */
/*
 * test_sign.c - signature kernels: known answers on every kernel the CPU has,
 * every kernel equal to the scalar reference on random input, edge cases
 * (empty, one token, CJK), the wire encoding, and estimate sanity.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdint.h>

#include "dedup_int.h"
#include "nd_dedup.h"
#include "nd_test.h"

#define SEED 0x6e6464656475700aULL

static uint64_t sig_digest(const nd_sig_t *s)
{
    uint64_t h = XXH3_64bits(s->slots, sizeof(s->slots));
    return h ^ XXH3_64bits_withSeed(&s->n_shingles, 4, s->text_hash ^ s->num_mask);
}

/* Deterministic pseudo-random words from a small vocabulary. */
static uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static size_t make_text(uint64_t seed, size_t ntok, char *out, size_t cap)
{
    static const char *words[] = {
        "the",    "minister", "said",   "on",     "tuesday", "that",   "russia", "and",   "iran",
        "signed", "a",        "treaty", "of",     "2025",    "oil",    "prices", "rose",  "12",
        "pct",    "in",       "march",  "shares", "fell",    "москва", "ηλιος",  "طهران", "x"};
    uint64_t s = seed;
    size_t len = 0;
    for (size_t i = 0; i < ntok; i++) {
        const char *w = words[rng_next(&s) % (sizeof(words) / sizeof(words[0]))];
        size_t wl = strlen(w);
        if (len + wl + 2 >= cap)
            break;
        if (i)
            out[len++] = ' ';
        memcpy(out + len, w, wl);
        len += wl;
    }
    out[len] = '\0';
    return len;
}

static char big[65536];

/* nd_sig_t has tail padding: compare field by field. */
static int sig_eq(const nd_sig_t *a, const nd_sig_t *b)
{
    return a->text_hash == b->text_hash && a->num_mask == b->num_mask &&
           a->n_shingles == b->n_shingles && !memcmp(a->slots, b->slots, sizeof(a->slots));
}

struct kat {
    const char *name;
    uint32_t k;
    uint64_t want;
};

static const char *kat_text(int i, size_t *len)
{
    switch (i) {
    case 0:
        *len = 0;
        return "";
    case 1:
        *len = 4;
        return "word";
    case 2: {
        static const char t[] = "russia and iran signed a strategic cooperation agreement in "
                                "moscow on friday the kremlin said";
        *len = sizeof(t) - 1;
        return t;
    }
    case 3: {
        static const char t[] = "中 国 和 俄 罗 斯 签 署 了 协 议 ไ ท ย";
        *len = sizeof(t) - 1;
        return t;
    }
    default:
        *len = make_text(42, 700, big, sizeof(big)); /* ~4 KB article */
        return big;
    }
}

/* Known answers, computed once with the scalar reference kernel (token hash
 * "NDS2": XXH3's 9-16 byte body over zero-padded tokens of <= 16 bytes). */
static const struct kat kats[] = {
    {"empty k4", 4, 0x9d8a1004ca9ab519ULL},    {"one token k4", 4, 0x140da1238a334a1aULL},
    {"sentence k4", 4, 0x5057a5f54a151289ULL}, {"cjk k4", 4, 0x612daf70b31e3f94ULL},
    {"4KB k4", 4, 0xd7c46789db13cd59ULL},      {"sentence k1", 1, 0xb9b1ac0b7d706edeULL},
    {"4KB k7", 7, 0x2be86367afa1c758ULL},
};

static void kat_every_kernel(void)
{
    const char *const *names = nd_sign_kernels();
    ND_ASSERT(names && names[0] && !strcmp(names[0], "scalar"));
    int print = getenv("ND_KAT_PRINT") != NULL;
    for (int n = 0; names[n]; n++) {
        const nd_sign_kernel_t *kern = nd_sign_kernel_find(names[n]);
        ND_ASSERT(kern != NULL, "kernel %s listed but not found", names[n]);
        for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
            size_t len;
            int ti = i < 5 ? (int)i : (i == 5 ? 2 : 4);
            const char *t = kat_text(ti, &len);
            nd_sig_t sig;
            nd_sign_with(kern, NULL, kats[i].k, SEED, t, len, &sig);
            uint64_t d = sig_digest(&sig);
            if (print)
                printf("%s %s 0x%016llxULL\n", names[n], kats[i].name, (unsigned long long)d);
            else
                ND_EXPECT(d == kats[i].want, "kernel %s, %s: digest 0x%016llx", names[n],
                          kats[i].name, (unsigned long long)d);
        }
    }
}

static void kernels_equal_on_random_input(void)
{
    const char *const *names = nd_sign_kernels();
    const nd_sign_kernel_t *ref = nd_sign_kernel_find("scalar");
    uint64_t s = 7;
    int compared = 0;
    for (int round = 0; round < 300; round++) {
        size_t ntok = rng_next(&s) % 1500;
        uint32_t k = 1 + (uint32_t)(rng_next(&s) % 9);
        size_t len = make_text(rng_next(&s), ntok, big, sizeof(big));
        nd_sig_t a, b;
        nd_sign_with(ref, NULL, k, SEED + (uint64_t)round, big, len, &a);
        for (int n = 1; names[n]; n++) {
            nd_sign_with(nd_sign_kernel_find(names[n]), NULL, k, SEED + (uint64_t)round, big, len,
                         &b);
            ND_ASSERT(sig_eq(&a, &b), "kernel %s differs: round %d ntok %zu k %u", names[n], round,
                      ntok, k);
            compared++;
        }
    }
    if (!names[1])
        printf("only the scalar kernel on this CPU: nothing to compare\n");
    else
        ND_EXPECT(compared > 0);
}

/*
 * Densification from the seed's probe table (what the engine does) equals
 * densification that hashes every probe, on every kernel: texts of 0 to 300
 * tokens (short ones leave most slots empty, so probes run past the table's
 * ND_DENSIFY_TAB attempts), k of 1 to 9, and a table built for another seed
 * (ignored).
 */
static void densify_table_matches(void)
{
    const char *const *names = nd_sign_kernels();
    static nd_densify_tab_t tab, other;
    nd_densify_tab_init(&tab, SEED);
    nd_densify_tab_init(&other, SEED + 1);
    uint64_t s = 11;
    int long_probes = 0;
    for (int round = 0; round < 600; round++) {
        size_t ntok = round < 100 ? (size_t)round / 10 : rng_next(&s) % 300;
        uint32_t k = 1 + (uint32_t)(rng_next(&s) % 9);
        size_t len = make_text(rng_next(&s), ntok, big, sizeof(big));
        for (int n = 0; names[n]; n++) {
            const nd_sign_kernel_t *kern = nd_sign_kernel_find(names[n]);
            nd_sig_t a, b, c;
            nd_sign_with(kern, NULL, k, SEED, big, len, &a);
            nd_sign_with(kern, &tab, k, SEED, big, len, &b);
            nd_sign_with(kern, &other, k, SEED, big, len, &c);
            ND_ASSERT(sig_eq(&a, &b) && sig_eq(&a, &c), "kernel %s: round %d ntok %zu k %u",
                      names[n], round, ntok, k);
        }
        /* how often a probe sequence outran the table */
        nd_sig_t raw;
        nd_sign_kernel_find("scalar")->fn(k, SEED, big, len, &raw);
        int empty = 0;
        for (int j = 0; j < ND_SIG_SLOTS; j++)
            empty += raw.slots[j] == ND_SLOT_EMPTY;
        long_probes += empty > ND_SIG_SLOTS - 8 && empty < ND_SIG_SLOTS;
    }
    ND_EXPECT(long_probes > 10, "only %d signatures with 120+ empty slots", long_probes);
}

static void empty_and_one_token(void)
{
    nd_sig_t e, w;
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, "", 0, &e);
    ND_EXPECT(e.n_shingles == 0);
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        ND_EXPECT(e.slots[i] == ND_SLOT_EMPTY);
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, "word", 4, &w);
    ND_EXPECT(w.n_shingles == 1);
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        ND_EXPECT(w.slots[i] == w.slots[0] && w.slots[i] != ND_SLOT_EMPTY,
                  "densified from the one shingle");
    ND_EXPECT(w.num_mask == 0);
    nd_sig_t d;
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, "q3 2025", 7, &d);
    ND_EXPECT(__builtin_popcountll(d.num_mask) >= 1 && d.n_shingles == 1);
}

/* Fraction of equal slots: an unbiased Jaccard estimate. */
static double agree(const nd_sig_t *a, const nd_sig_t *b)
{
    int m = 0;
    for (int i = 0; i < ND_SIG_SLOTS; i++)
        m += a->slots[i] == b->slots[i];
    return (double)m / ND_SIG_SLOTS;
}

static void cjk_half_copy_is_similar(void)
{
    /* one token per character: k=4 shingles are character 4-grams */
    char a[8192], b[8192];
    size_t la = 0, lb = 0;
    uint64_t s = 99;
    static const char *han[] = {"中", "国", "俄", "罗", "斯", "伊", "朗", "签", "署", "协",
                                "议", "战", "略", "合", "作", "总", "统", "表", "示", "年"};
    for (int i = 0; i < 600; i++) {
        const char *c = han[rng_next(&s) % 20];
        if (la)
            a[la++] = ' ';
        memcpy(a + la, c, 3);
        la += 3;
    }
    lb = la / 2;
    while (b[0] = 0, lb > 0 && a[lb] != ' ')
        lb--;
    memcpy(b, a, lb);
    nd_sig_t sa, sb, sc;
    const nd_sign_kernel_t *k = nd_sign_kernel_find(NULL);
    nd_sign_with(k, NULL, 4, SEED, a, la, &sa);
    nd_sign_with(k, NULL, 4, SEED, b, lb, &sb);
    double j = agree(&sa, &sb);
    ND_EXPECT(j > 0.3 && j < 0.7, "half copy Jaccard estimate %.3f", j);
    make_text(5, 300, big, sizeof(big));
    nd_sign_with(k, NULL, 4, SEED, big, strlen(big), &sc);
    ND_EXPECT(agree(&sa, &sc) < 0.05, "unrelated texts agree %.3f", agree(&sa, &sc));
}

static void jaccard_estimate_is_unbiased(void)
{
    /* texts of 1000 distinct tokens sharing the first 500: J = 497/1503 ~ 0.33 for k=4 */
    char *a = malloc(20000), *b = malloc(20000);
    double sum = 0;
    int trials = 40;
    for (int t = 0; t < trials; t++) {
        size_t la = 0, lb = 0;
        for (int i = 0; i < 1000; i++) {
            la += (size_t)sprintf(a + la, "%sw%dx%d", i ? " " : "", i, t);
            lb += (size_t)sprintf(b + lb, "%sw%dx%d", i ? " " : "", i < 500 ? i : i + 5000, t);
        }
        nd_sig_t sa, sb;
        nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, a, la, &sa);
        nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, b, lb, &sb);
        sum += agree(&sa, &sb);
    }
    double mean = sum / trials, want = 497.0 / 1503.0;
    ND_EXPECT(mean > want - 0.03 && mean < want + 0.03, "mean estimate %.3f, true %.3f", mean,
              want);
    free(a);
    free(b);
}

/* Words of 1..40 bytes, some with digits, some UTF-8: every length class of
 * the token hash and tokens that straddle 64-byte blocks. */
static size_t make_mixed(uint64_t *s, size_t ntok, char *out, size_t cap)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t len = 0;
    for (size_t i = 0; i < ntok && len + 48 < cap; i++) {
        uint64_t r = rng_next(s);
        size_t wl = 1 + r % (r & 0x100 ? 40 : 12);
        if (i)
            out[len++] = ' ';
        for (size_t j = 0; j < wl; j++) {
            uint64_t c = rng_next(s);
            if (c % 23 == 0 && j + 2 <= wl) { /* a two-byte UTF-8 letter */
                out[len++] = (char)0xd0;
                out[len++] = (char)0xb0;
                j++;
            } else {
                out[len++] = alpha[c % (c & 0x40 ? 36 : 26)];
            }
        }
    }
    out[len] = '\0';
    return len;
}

/*
 * The tokeniser works on 64-byte blocks: whatever the alignment, a text
 * signs like its tokens. Oracles: extra blanks (leading, trailing, doubled)
 * change nothing but the exact-text hash; the digit mask is the union of the
 * digit masks of the tokens signed one by one; n_shingles follows the count.
 */
static void tokens_independent_of_blocks(void)
{
    static char a[8192], b[8192 + 512];
    uint64_t s = 2024;
    const char *const *names = nd_sign_kernels();
    for (int round = 0; round < 200; round++) {
        size_t ntok = rng_next(&s) % 300, la = make_mixed(&s, ntok, a, sizeof(a) - 8);
        size_t lb = 0, ntok_a = 0;
        uint64_t want_mask = 0;
        /* b: the same tokens, each preceded by 1..3 blanks, then 0..2 trailing */
        for (size_t i = 0; i < la;) {
            size_t e = i;
            while (e < la && a[e] != ' ')
                e++;
            size_t blanks = 1 + rng_next(&s) % 3;
            while (blanks--)
                b[lb++] = ' ';
            memcpy(b + lb, a + i, e - i);
            lb += e - i;
            nd_sig_t one;
            nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, a + i, e - i, &one);
            ND_ASSERT(one.n_shingles == 1);
            want_mask |= one.num_mask;
            ntok_a++;
            i = e + 1;
        }
        for (size_t t = rng_next(&s) % 3; t > 0; t--)
            b[lb++] = ' ';
        for (int n = 0; names[n]; n++) {
            const nd_sign_kernel_t *kern = nd_sign_kernel_find(names[n]);
            nd_sig_t sa, sb;
            nd_sign_with(kern, NULL, 4, SEED, a, la, &sa);
            nd_sign_with(kern, NULL, 4, SEED, b, lb, &sb);
            ND_ASSERT(!memcmp(sa.slots, sb.slots, sizeof(sa.slots)) && sa.num_mask == sb.num_mask &&
                          sa.n_shingles == sb.n_shingles,
                      "kernel %s round %d: blanks changed the signature", names[n], round);
            ND_ASSERT(sa.num_mask == want_mask, "round %d: digit mask %llx, tokens give %llx",
                      round, (unsigned long long)sa.num_mask, (unsigned long long)want_mask);
            uint32_t want_n = ntok_a == 0 ? 0 : ntok_a < 4 ? 1 : (uint32_t)ntok_a - 3;
            ND_ASSERT(sa.n_shingles == want_n, "n_shingles %u for %zu tokens", sa.n_shingles,
                      ntok_a);
        }
    }
    /* a digit anywhere in a token marks it, wherever the token sits */
    nd_sig_t x, y;
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, "abcdefghijklmnopqrstuvwxyz", 26,
                 &x);
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, "abcdefghijklmnopqrstuvwxy9", 26,
                 &y);
    ND_EXPECT(x.num_mask == 0 && __builtin_popcountll(y.num_mask) == 1);
}

/*
 * One token of 1..20 bytes with a digit at each position (or none), placed at
 * each of the last 12 token positions of a text of digit-free words: the AVX2
 * kernel hashes tokens four at a time with 16-byte loads, falling back one by
 * one for tokens over 16 bytes, empty ones and those in the last 16 bytes of
 * the text. Every kernel equals scalar; exactly the one token sets num_mask.
 */
static void token_lengths_and_digits(void)
{
    static char t[1024];
    const char *const *names = nd_sign_kernels();
    const nd_sign_kernel_t *ref = nd_sign_kernel_find("scalar");
    uint64_t s = 77;
    int checked = 0;
    for (size_t l = 1; l <= 20; l++) {
        for (int dp = -1; dp < (int)l; dp++) {
            for (int q = 0; q < 12; q++) {
                size_t len = 0;
                int ntok = 24 + (int)(rng_next(&s) % 9);
                for (int i = 0; i < ntok; i++) {
                    if (i)
                        t[len++] = ' ';
                    if (i == ntok - 1 - q) {
                        for (size_t j = 0; j < l; j++)
                            t[len++] = (int)j == dp ? (char)('0' + j % 10) : (char)('a' + j);
                    } else {
                        size_t wl = 1 + rng_next(&s) % 12;
                        for (size_t j = 0; j < wl; j++)
                            t[len++] = (char)('a' + rng_next(&s) % 26);
                    }
                }
                nd_sig_t a, b;
                nd_sign_with(ref, NULL, 4, SEED, t, len, &a);
                ND_ASSERT(__builtin_popcountll(a.num_mask) == (dp >= 0),
                          "len %zu digit at %d: num_mask %llx", l, dp,
                          (unsigned long long)a.num_mask);
                ND_ASSERT(a.n_shingles == (uint32_t)ntok - 3);
                for (int n = 1; names[n]; n++) {
                    nd_sign_with(nd_sign_kernel_find(names[n]), NULL, 4, SEED, t, len, &b);
                    ND_ASSERT(sig_eq(&a, &b),
                              "kernel %s: token of %zu bytes, digit at %d, %d from the end",
                              names[n], l, dp, q);
                    checked++;
                }
            }
        }
    }
    if (!names[1])
        printf("only the scalar kernel on this CPU: nothing to compare\n");
    else
        ND_EXPECT(checked > 0);
}

/*
 * Tokens of 0 (two blanks in a row), 1, 15, 16, 17 and 40 bytes at every place
 * in a group of four, far from the end of the text: the AVX2 kernel takes a
 * group into the vector only when all four tokens have 1..16 bytes (a group
 * with one other token goes token by token). The other tokens have 1..16
 * bytes, or all 1 byte. Every kernel equals scalar.
 */
static void group_token_lengths(void)
{
    static char t[4096];
    static const size_t lens[] = {0, 1, 15, 16, 17, 40};
    const char *const *names = nd_sign_kernels();
    const nd_sign_kernel_t *ref = nd_sign_kernel_find("scalar");
    uint64_t s = 99;
    int checked = 0;
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        for (int at = 0; at < 16; at++) {
            size_t len = 0;
            for (int i = 0; i < 120; i++) {
                size_t wl = i % 8 == at % 8 ? lens[li] : at < 8 ? 1 + rng_next(&s) % 16 : 1;
                if (i)
                    t[len++] = ' ';
                for (size_t j = 0; j < wl; j++)
                    t[len++] = (char)('a' + rng_next(&s) % 26);
            }
            for (uint32_t k = 1; k <= 7; k += 3) {
                nd_sig_t a, b;
                nd_sign_with(ref, NULL, k, SEED, t, len, &a);
                for (int n = 1; names[n]; n++) {
                    nd_sign_with(nd_sign_kernel_find(names[n]), NULL, k, SEED, t, len, &b);
                    ND_ASSERT(sig_eq(&a, &b),
                              "kernel %s: tokens of %zu bytes at %d mod 8 (%s), k %u", names[n],
                              lens[li], at % 8, at < 8 ? "random" : "ones", k);
                    checked++;
                }
            }
        }
    }
    if (!names[1])
        printf("only the scalar kernel on this CPU: nothing to compare\n");
    else
        ND_EXPECT(checked > 0);
}

/*
 * Every text length from 0 to 2200 bytes and a sample up to 4200 (XXH3's
 * short and long paths, its 1024-byte blocks, the AVX2 kernel's 2048-byte
 * segments, and texts cut inside a word): text_hash is XXH3_64bits_withSeed()
 * of the text on every kernel, and every kernel equals scalar. Each text is
 * copied to a heap block of its exact size, so that the sanitizer build
 * catches a read past its end.
 */
static void every_length(void)
{
    const char *const *names = nd_sign_kernels();
    const nd_sign_kernel_t *ref = nd_sign_kernel_find("scalar");
    size_t full = make_text(5, 1500, big, sizeof(big));
    int checked = 0;
    ND_ASSERT(full > 4200);
    for (size_t len = 0; len <= 4200; len += len < 2200 ? 1 : 7) {
        char *t = nd_malloc(len ? len : 1);
        ND_ASSERT(t);
        memcpy(t, big + full - len, len); /* the end of the text: a cut word first */
        uint64_t want = XXH3_64bits_withSeed(t, len, SEED);
        nd_sig_t a, b;
        nd_sign_with(ref, NULL, 4, SEED, t, len, &a);
        ND_EXPECT(a.text_hash == want, "scalar text_hash, %zu bytes", len);
        for (int n = 1; names[n]; n++) {
            nd_sign_with(nd_sign_kernel_find(names[n]), NULL, 4, SEED, t, len, &b);
            ND_EXPECT(b.text_hash == want, "kernel %s text_hash, %zu bytes", names[n], len);
            ND_EXPECT(sig_eq(&a, &b), "kernel %s differs, %zu bytes", names[n], len);
            checked++;
        }
        nd_free(t);
    }
    if (!names[1])
        printf("only the scalar kernel on this CPU: nothing to compare\n");
    else
        ND_EXPECT(checked > 0);
}

static void wire_round_trip(void)
{
    nd_sig_t s, d;
    size_t len = make_text(3, 200, big, sizeof(big));
    nd_sign_with(nd_sign_kernel_find("scalar"), NULL, 4, SEED, big, len, &s);
    uint8_t w[ND_SIG_WIRE_SIZE];
    nd_sig_encode(&s, w);
    ND_EXPECT(nd_sig_decode(w, sizeof(w), &d) == 0);
    ND_EXPECT(sig_eq(&s, &d));
    ND_EXPECT(nd_sig_decode(w, sizeof(w) - 1, &d) == -1);
    w[0] ^= 1;
    ND_EXPECT(nd_sig_decode(w, sizeof(w), &d) == -1);
}

static void kernel_selection(void)
{
    char err[256];
    nd_dedup_conf_t c;
    nd_dedup_conf_init(&c);
    c.kernel = "scalar";
    nd_dedup_t *dd = nd_dedup_new(&c, err, sizeof(err));
    ND_ASSERT(dd, "%s", err);
    ND_EXPECT(!strcmp(nd_dedup_kernel_name(dd), "scalar"));
    nd_dedup_destroy(dd);
    c.kernel = "sse9";
    err[0] = 0;
    ND_EXPECT(nd_dedup_new(&c, err, sizeof(err)) == NULL && strstr(err, "sse9"), "%s", err);
    c.kernel = NULL;
    dd = nd_dedup_new(&c, err, sizeof(err));
    ND_ASSERT(dd);
    const char *const *names = nd_sign_kernels();
    int n = 0;
    while (names[n + 1])
        n++;
    ND_EXPECT(!strcmp(nd_dedup_kernel_name(dd), names[n]), "auto picks the best");
    nd_dedup_destroy(dd);
    nd_dedup_destroy(NULL);
}

int main(void)
{
    ND_TEST(kat_every_kernel);
    ND_TEST(kernels_equal_on_random_input);
    ND_TEST(densify_table_matches);
    ND_TEST(empty_and_one_token);
    ND_TEST(tokens_independent_of_blocks);
    ND_TEST(cjk_half_copy_is_similar);
    ND_TEST(jaccard_estimate_is_unbiased);
    ND_TEST(token_lengths_and_digits);
    ND_TEST(group_token_lengths);
    ND_TEST(every_length);
    ND_TEST(wire_round_trip);
    ND_TEST(kernel_selection);
    return nd_test_done();
}
