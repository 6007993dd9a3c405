/*
 * normalize.c - body text to the token string the engine shingles.
 *
 * Two layers. The text layer turns plain UTF-8 into tokens: ASCII bytes go
 * through a 128-entry table (lowercase letters and digits, everything else a
 * separator); any other code point goes through utf8proc_decompose_char()
 * with compatibility decomposition, case folding, mark stripping, lumping and
 * ignorable removal, and each resulting code point is classified by its
 * Unicode category. ASCII runs take a block path with the same output as the
 * table: 32 bytes at a time with AVX2 (norm_ascii_avx2, chosen per call from
 * the CPU), else 16 with SSE2; ND_NORM_NO_ASCII_FAST and ND_NORM_NO_AVX2
 * force the slower paths, which the tests hold the fast ones to. The AVX2
 * path also reads, inside its blocks, the few constructs that only separate
 * (<p>, </p>, entities such as &nbsp; and &#8217;, typographic quotes, dashes
 * and the no-break space) as separator bytes, so that a body is mostly one
 * run. The HTML layer walks tags and entities and feeds the text runs
 * between them to the text layer, so decoded entities can never be mistaken
 * for markup.
 *
 * Why per code point and not utf8proc_map() over the string: the map
 * allocates, decomposes, reorders and recomposes the whole string (about
 * 60 MB/s on English); here ASCII never reaches utf8proc and no allocation
 * happens beyond the output buffer. Since marks are stripped, recomposition
 * changes nothing except for Hangul, whose precomposed syllables are kept
 * whole (they have no case and no compatibility mapping).
 */
#include "normalize_int.h"

#include <string.h>
#include <strings.h>
#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ND_NORM_HAVE_AVX2 1
#else
#define ND_NORM_HAVE_AVX2 0
#endif

/* Bytes a block of the ASCII path may write past what it keeps. */
#define ND_NORM_SIMD_SLACK 40

#define ND_UTF8PROC_OPTS                                                                           \
    (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |               \
     UTF8PROC_IGNORE | UTF8PROC_LUMP)

/* Room the general path may need for one input code point: the longest
 * decomposition (U+FDFA, 18 code points of up to 3 bytes) with separators. */
#define ND_NORM_CP_ROOM 160

/* Up to 8 bytes of a tag or entity name packed little-endian, so that a
 * name compares as one integer; ND_NAME_KEY() is the same for a literal. */
#define ND_NAME_KEY(lit)                                                                           \
    ((uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[0] |                                        \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[1] << 8 |                                   \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[2] << 16 |                                  \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[3] << 24 |                                  \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[4] << 32 |                                  \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[5] << 40 |                                  \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[6] << 48 |                                  \
     (uint64_t)(unsigned char)(lit "\0\0\0\0\0\0\0\0")[7] << 56)

/* ASCII map: 0 for a separator, else the lowercase byte. */
static const unsigned char nd_ascii_map[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
    ['E'] = 'e', ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k',
    ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
    ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
    ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm',
    ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
    ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
};

/* What one folded code point does to the output. */
enum { NK_DROP = 0, NK_SEP, NK_WORD, NK_ALONE };

/*
 * A direct-mapped cache, per call, of input code points whose folding gives
 * at most one output code point (Cyrillic, Greek, accented Latin, quotes,
 * dashes, ...): utf8proc runs once per distinct character, not per
 * occurrence. Filled lazily, so pure ASCII never touches it.
 */
#define ND_NORM_CACHE 256

typedef struct nd_norm_s {
    nd_buf_t *out;
    int sep; /* a separator came after the last token character */
    unsigned flags;
    int avx2; /* the ASCII path runs norm_ascii_avx2() */
    int esc;  /* ND_NORM_JSON_ESCAPES: a '\\' and the byte after it separate */
    int html; /* norm_text() stops at '<' and '&' (the HTML walk's markup) */
    int cache_ready;
    int32_t ckey[ND_NORM_CACHE];
    int32_t cval[ND_NORM_CACHE];
    unsigned char ckind[ND_NORM_CACHE];
} nd_norm_t;

size_t nd_utf8_check(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs a block at a time: the common case in JSON and text. */
#ifdef __SSE2__
        while (i + 64 <= len) { /* 64 bytes a test: loads are cheaper than branches */
            const __m128i *q = (const __m128i *)(const void *)(p + i);
            __m128i v = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                                     _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
            if (_mm_movemask_epi8(v))
                break;
            i += 64;
        }
        while (i + 16 <= len &&
               !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i))))
            i += 16;
#endif
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = nd_utf8_seq(s, len, i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

/* Decode one code point at s[0..n) (n >= 1), strictly; -1 if invalid. */
static inline int32_t utf8_decode(const unsigned char *s, size_t n, size_t *used)
{
    unsigned c = s[0];
    int32_t cp;
    if (c < 0x80) {
        *used = 1;
        return (int32_t)c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return -1;
        *used = 2;
        return (int32_t)(((c & 0x1F) << 6) | (s[1] & 0x3F));
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return -1;
        cp = (int32_t)(((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F));
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        *used = 3;
        return cp;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return -1;
        cp = (int32_t)(((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) |
                       (s[3] & 0x3F));
        if (cp < 0x10000 || cp > 0x10FFFF)
            return -1;
        *used = 4;
        return cp;
    }
    return -1;
}

static size_t utf8_encode(int32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Scripts written without spaces between words: one token per character. */
static int is_nospace_script(int32_t cp)
{
    if (cp < 0x0E00)
        return 0;
    return (cp >= 0x0E00 && cp <= 0x0EFF)       /* Thai, Lao */
           || (cp >= 0x1000 && cp <= 0x109F)    /* Myanmar */
           || (cp >= 0x1780 && cp <= 0x17FF)    /* Khmer */
           || (cp >= 0x19E0 && cp <= 0x19FF)    /* Khmer symbols */
           || (cp >= 0x2E80 && cp <= 0x2FDF)    /* CJK and Kangxi radicals */
           || (cp >= 0x3005 && cp <= 0x3007)    /* iteration mark, ideographic zero */
           || (cp >= 0x3021 && cp <= 0x3029)    /* Hangzhou numerals */
           || (cp >= 0x3038 && cp <= 0x303B)    /* Hangzhou numerals, vertical iteration */
           || (cp >= 0x3040 && cp <= 0x312F)    /* Hiragana, Katakana, Bopomofo */
           || (cp >= 0x31A0 && cp <= 0x31BF)    /* Bopomofo extended */
           || (cp >= 0x31F0 && cp <= 0x31FF)    /* Katakana phonetic extensions */
           || (cp >= 0x3400 && cp <= 0x4DBF)    /* CJK extension A */
           || (cp >= 0x4E00 && cp <= 0x9FFF)    /* CJK unified ideographs */
           || (cp >= 0xA9E0 && cp <= 0xA9FF)    /* Myanmar extended-B */
           || (cp >= 0xAA60 && cp <= 0xAA7F)    /* Myanmar extended-A */
           || (cp >= 0xF900 && cp <= 0xFAFF)    /* CJK compatibility ideographs */
           || (cp >= 0xFF66 && cp <= 0xFF9F)    /* halfwidth Katakana */
           || (cp >= 0x1B000 && cp <= 0x1B16F)  /* Kana supplement and extended */
           || (cp >= 0x20000 && cp <= 0x3FFFF); /* CJK extensions B.. */
}

/* Append one token character (already folded), with a space before it when
 * a separator came since the previous one. Room is reserved by the caller. */
static inline void emit_cp(nd_norm_t *st, int32_t cp, int alone)
{
    nd_buf_t *b = st->out;
    if ((st->sep || alone) && b->len > 0)
        b->p[b->len++] = ' ';
    b->len += utf8_encode(cp, b->p + b->len);
    st->sep = alone;
}

/* What a folded code point is: a token character (alone or not), a
 * separator, or dropped. ASCII comes back lowercased in *cp. */
static int classify_cp(int32_t *cp)
{
    if (*cp < 0x80) {
        unsigned char m = nd_ascii_map[*cp];
        *cp = m;
        return m ? NK_WORD : NK_SEP;
    }
    if (*cp == 0x0640 || *cp == 0x200C || *cp == 0x200D) /* tatweel, ZWNJ, ZWJ */
        return NK_DROP;
    switch (utf8proc_category(*cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return is_nospace_script(*cp) ? NK_ALONE : NK_WORD;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
        return NK_DROP; /* marks and format characters never split a word */
    default:
        return NK_SEP;
    }
}

static inline void apply(nd_norm_t *st, int kind, int32_t cp)
{
    if (kind == NK_SEP)
        st->sep = 1;
    else if (kind != NK_DROP)
        emit_cp(st, cp, kind == NK_ALONE);
}

/* The general path for one input code point. */
static nd_err_t norm_cp(nd_norm_t *st, int32_t cp)
{
    if (st->out->cap - st->out->len <= ND_NORM_CP_ROOM && nd_buf_reserve(st->out, ND_NORM_CP_ROOM))
        return ND_ERR_NOMEM;
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: keep composed */
        emit_cp(st, cp, 0);
        return ND_ERR_NO_ERROR;
    }
    if (!st->cache_ready) {
        memset(st->ckey, 0xff, sizeof(st->ckey));
        st->cache_ready = 1;
    }
    unsigned h = ((unsigned)cp ^ ((unsigned)cp >> 7)) & (ND_NORM_CACHE - 1);
    if (st->ckey[h] == cp) {
        apply(st, st->ckind[h], st->cval[h]);
        return ND_ERR_NO_ERROR;
    }
    utf8proc_int32_t d[32];
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 32, ND_UTF8PROC_OPTS, NULL);
    if (n < 0 || n > 32) {
        st->sep = 1;
        return ND_ERR_NO_ERROR;
    }
    int kept = 0, last_kind = NK_DROP;
    int32_t last_cp = 0;
    for (utf8proc_ssize_t k = 0; k < n; k++) {
        int32_t c = d[k];
        int kind = classify_cp(&c);
        apply(st, kind, c);
        if (kind != NK_DROP) {
            kept++;
            last_kind = kind;
            last_cp = c;
        }
    }
    if (kept <= 1) {
        st->ckey[h] = cp;
        st->cval[h] = last_cp;
        st->ckind[h] = (unsigned char)last_kind;
    }
    return ND_ERR_NO_ERROR;
}

#ifdef __SSE2__
/* Fold 16 ASCII bytes: letters lowercased, digits kept, every other byte a
 * space. *wordm gets the mask of token bytes (letters and digits). */
static inline __m128i ascii_fold16(__m128i v, unsigned *wordm)
{
    __m128i low = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i let = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
                                _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
    __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i word = _mm_or_si128(let, dig);
    *wordm = (unsigned)_mm_movemask_epi8(word);
    return _mm_or_si128(_mm_or_si128(_mm_and_si128(let, low), _mm_and_si128(dig, v)),
                        _mm_andnot_si128(word, _mm_set1_epi8(' ')));
}

/*
 * Append the first popcount(valid) bytes of a folded block (valid is a
 * low-bit mask, wm the token bytes within it) at o[len], with the same
 * output as the scalar loop: each run of separators between two tokens
 * becomes one space. The first separator of a run is written as the space;
 * a run still open at the end of the block is taken back and left pending
 * in *sep, so the output never ends in a space. Writes up to 17 bytes past
 * len whatever it keeps. @return the new length.
 */
static inline size_t ascii_emit16(char *o, size_t len, __m128i out, unsigned wm, unsigned valid,
                                  int *sep)
{
    unsigned sepm = ~wm & valid;
    unsigned prev0 = 0; /* 1: the output so far ends a token */
    if (len > 0) {
        if (*sep)
            o[len++] = ' '; /* the pending run's space, taken back if no token follows */
        else
            prev0 = 1;
    }
    unsigned keep = wm | (sepm & ((wm << 1) | prev0));
    if (keep == 0xFFFFu) {
        _mm_storeu_si128((__m128i *)(void *)(o + len), out);
        len += 16;
    } else {
        unsigned char tmp[16];
        _mm_storeu_si128((__m128i *)(void *)tmp, out);
        for (unsigned k = 0; k < 16; k++) { /* branch-free left-pack */
            o[len] = (char)tmp[k];
            len += (keep >> k) & 1u;
        }
    }
    unsigned top = (valid + 1u) >> 1; /* the last valid byte */
    if (sepm & top) {
        if (len > 0 && o[len - 1] == ' ')
            len--;
        *sep = 1;
    } else {
        *sep = 0;
    }
    return len;
}
#endif

#if ND_NORM_HAVE_AVX2
/*
 * The AVX2 ASCII path: 32 bytes a block, folded as ascii_fold16() does, then
 * the bytes to keep (token bytes and the first separator after each token)
 * are packed left 8 at a time with a byte shuffle whose control comes from
 * nd_pack8: entry m lists the positions of the set bits of m, then 0x80
 * (a zero byte, never kept); nd_pack8h is the same for the high half of a
 * lane. Only this code is compiled for AVX2 (function attribute); it runs
 * only when the CPU reports AVX2.
 */
#define ND_AVX2 __attribute__((target("avx2,popcnt")))

/* The entries of nd_pack8, once: F(entry) for m = 0..255. */
/* clang-format off */
#define ND_PACK8_ENTRIES(F) \
    F(0x8080808080808080ull) F(0x8080808080808000ull) F(0x8080808080808001ull) F(0x8080808080800100ull) \
    F(0x8080808080808002ull) F(0x8080808080800200ull) F(0x8080808080800201ull) F(0x8080808080020100ull) \
    F(0x8080808080808003ull) F(0x8080808080800300ull) F(0x8080808080800301ull) F(0x8080808080030100ull) \
    F(0x8080808080800302ull) F(0x8080808080030200ull) F(0x8080808080030201ull) F(0x8080808003020100ull) \
    F(0x8080808080808004ull) F(0x8080808080800400ull) F(0x8080808080800401ull) F(0x8080808080040100ull) \
    F(0x8080808080800402ull) F(0x8080808080040200ull) F(0x8080808080040201ull) F(0x8080808004020100ull) \
    F(0x8080808080800403ull) F(0x8080808080040300ull) F(0x8080808080040301ull) F(0x8080808004030100ull) \
    F(0x8080808080040302ull) F(0x8080808004030200ull) F(0x8080808004030201ull) F(0x8080800403020100ull) \
    F(0x8080808080808005ull) F(0x8080808080800500ull) F(0x8080808080800501ull) F(0x8080808080050100ull) \
    F(0x8080808080800502ull) F(0x8080808080050200ull) F(0x8080808080050201ull) F(0x8080808005020100ull) \
    F(0x8080808080800503ull) F(0x8080808080050300ull) F(0x8080808080050301ull) F(0x8080808005030100ull) \
    F(0x8080808080050302ull) F(0x8080808005030200ull) F(0x8080808005030201ull) F(0x8080800503020100ull) \
    F(0x8080808080800504ull) F(0x8080808080050400ull) F(0x8080808080050401ull) F(0x8080808005040100ull) \
    F(0x8080808080050402ull) F(0x8080808005040200ull) F(0x8080808005040201ull) F(0x8080800504020100ull) \
    F(0x8080808080050403ull) F(0x8080808005040300ull) F(0x8080808005040301ull) F(0x8080800504030100ull) \
    F(0x8080808005040302ull) F(0x8080800504030200ull) F(0x8080800504030201ull) F(0x8080050403020100ull) \
    F(0x8080808080808006ull) F(0x8080808080800600ull) F(0x8080808080800601ull) F(0x8080808080060100ull) \
    F(0x8080808080800602ull) F(0x8080808080060200ull) F(0x8080808080060201ull) F(0x8080808006020100ull) \
    F(0x8080808080800603ull) F(0x8080808080060300ull) F(0x8080808080060301ull) F(0x8080808006030100ull) \
    F(0x8080808080060302ull) F(0x8080808006030200ull) F(0x8080808006030201ull) F(0x8080800603020100ull) \
    F(0x8080808080800604ull) F(0x8080808080060400ull) F(0x8080808080060401ull) F(0x8080808006040100ull) \
    F(0x8080808080060402ull) F(0x8080808006040200ull) F(0x8080808006040201ull) F(0x8080800604020100ull) \
    F(0x8080808080060403ull) F(0x8080808006040300ull) F(0x8080808006040301ull) F(0x8080800604030100ull) \
    F(0x8080808006040302ull) F(0x8080800604030200ull) F(0x8080800604030201ull) F(0x8080060403020100ull) \
    F(0x8080808080800605ull) F(0x8080808080060500ull) F(0x8080808080060501ull) F(0x8080808006050100ull) \
    F(0x8080808080060502ull) F(0x8080808006050200ull) F(0x8080808006050201ull) F(0x8080800605020100ull) \
    F(0x8080808080060503ull) F(0x8080808006050300ull) F(0x8080808006050301ull) F(0x8080800605030100ull) \
    F(0x8080808006050302ull) F(0x8080800605030200ull) F(0x8080800605030201ull) F(0x8080060503020100ull) \
    F(0x8080808080060504ull) F(0x8080808006050400ull) F(0x8080808006050401ull) F(0x8080800605040100ull) \
    F(0x8080808006050402ull) F(0x8080800605040200ull) F(0x8080800605040201ull) F(0x8080060504020100ull) \
    F(0x8080808006050403ull) F(0x8080800605040300ull) F(0x8080800605040301ull) F(0x8080060504030100ull) \
    F(0x8080800605040302ull) F(0x8080060504030200ull) F(0x8080060504030201ull) F(0x8006050403020100ull) \
    F(0x8080808080808007ull) F(0x8080808080800700ull) F(0x8080808080800701ull) F(0x8080808080070100ull) \
    F(0x8080808080800702ull) F(0x8080808080070200ull) F(0x8080808080070201ull) F(0x8080808007020100ull) \
    F(0x8080808080800703ull) F(0x8080808080070300ull) F(0x8080808080070301ull) F(0x8080808007030100ull) \
    F(0x8080808080070302ull) F(0x8080808007030200ull) F(0x8080808007030201ull) F(0x8080800703020100ull) \
    F(0x8080808080800704ull) F(0x8080808080070400ull) F(0x8080808080070401ull) F(0x8080808007040100ull) \
    F(0x8080808080070402ull) F(0x8080808007040200ull) F(0x8080808007040201ull) F(0x8080800704020100ull) \
    F(0x8080808080070403ull) F(0x8080808007040300ull) F(0x8080808007040301ull) F(0x8080800704030100ull) \
    F(0x8080808007040302ull) F(0x8080800704030200ull) F(0x8080800704030201ull) F(0x8080070403020100ull) \
    F(0x8080808080800705ull) F(0x8080808080070500ull) F(0x8080808080070501ull) F(0x8080808007050100ull) \
    F(0x8080808080070502ull) F(0x8080808007050200ull) F(0x8080808007050201ull) F(0x8080800705020100ull) \
    F(0x8080808080070503ull) F(0x8080808007050300ull) F(0x8080808007050301ull) F(0x8080800705030100ull) \
    F(0x8080808007050302ull) F(0x8080800705030200ull) F(0x8080800705030201ull) F(0x8080070503020100ull) \
    F(0x8080808080070504ull) F(0x8080808007050400ull) F(0x8080808007050401ull) F(0x8080800705040100ull) \
    F(0x8080808007050402ull) F(0x8080800705040200ull) F(0x8080800705040201ull) F(0x8080070504020100ull) \
    F(0x8080808007050403ull) F(0x8080800705040300ull) F(0x8080800705040301ull) F(0x8080070504030100ull) \
    F(0x8080800705040302ull) F(0x8080070504030200ull) F(0x8080070504030201ull) F(0x8007050403020100ull) \
    F(0x8080808080800706ull) F(0x8080808080070600ull) F(0x8080808080070601ull) F(0x8080808007060100ull) \
    F(0x8080808080070602ull) F(0x8080808007060200ull) F(0x8080808007060201ull) F(0x8080800706020100ull) \
    F(0x8080808080070603ull) F(0x8080808007060300ull) F(0x8080808007060301ull) F(0x8080800706030100ull) \
    F(0x8080808007060302ull) F(0x8080800706030200ull) F(0x8080800706030201ull) F(0x8080070603020100ull) \
    F(0x8080808080070604ull) F(0x8080808007060400ull) F(0x8080808007060401ull) F(0x8080800706040100ull) \
    F(0x8080808007060402ull) F(0x8080800706040200ull) F(0x8080800706040201ull) F(0x8080070604020100ull) \
    F(0x8080808007060403ull) F(0x8080800706040300ull) F(0x8080800706040301ull) F(0x8080070604030100ull) \
    F(0x8080800706040302ull) F(0x8080070604030200ull) F(0x8080070604030201ull) F(0x8007060403020100ull) \
    F(0x8080808080070605ull) F(0x8080808007060500ull) F(0x8080808007060501ull) F(0x8080800706050100ull) \
    F(0x8080808007060502ull) F(0x8080800706050200ull) F(0x8080800706050201ull) F(0x8080070605020100ull) \
    F(0x8080808007060503ull) F(0x8080800706050300ull) F(0x8080800706050301ull) F(0x8080070605030100ull) \
    F(0x8080800706050302ull) F(0x8080070605030200ull) F(0x8080070605030201ull) F(0x8007060503020100ull) \
    F(0x8080808007060504ull) F(0x8080800706050400ull) F(0x8080800706050401ull) F(0x8080070605040100ull) \
    F(0x8080800706050402ull) F(0x8080070605040200ull) F(0x8080070605040201ull) F(0x8007060504020100ull) \
    F(0x8080800706050403ull) F(0x8080070605040300ull) F(0x8080070605040301ull) F(0x8007060504030100ull) \
    F(0x8080070605040302ull) F(0x8007060504030200ull) F(0x8007060504030201ull) F(0x0706050403020100ull)
/* clang-format on */
#define ND_PACK8_LO(e) e,
/* The high half of a 16-byte lane takes bytes 8..15: each position plus 8
 * (0x80 + 8 still selects a zero byte, and no byte carries into the next). */
#define ND_PACK8_HI(e) (e) + 0x0808080808080808ull,
static const uint64_t nd_pack8[256] = {ND_PACK8_ENTRIES(ND_PACK8_LO)};
static const uint64_t nd_pack8h[256] = {ND_PACK8_ENTRIES(ND_PACK8_HI)};
#undef ND_PACK8_LO
#undef ND_PACK8_HI
#undef ND_PACK8_ENTRIES

/* Append the bytes of a folded 16-byte lane selected by keep16 at o + len. */
ND_AVX2 static inline size_t pack16(char *o, size_t len, __m128i lane, unsigned keep16)
{
    unsigned k0 = keep16 & 0xFFu, k1 = keep16 >> 8;
    __m128d ctl = _mm_loadh_pd(_mm_castsi128_pd(_mm_loadl_epi64((const __m128i *)&nd_pack8[k0])),
                               (const double *)&nd_pack8h[k1]);
    __m128i r = _mm_shuffle_epi8(lane, _mm_castpd_si128(ctl));
    _mm_storel_epi64((__m128i *)(void *)(o + len), r);
    len += (size_t)__builtin_popcount(k0);
    _mm_storeh_pi((__m64 *)(void *)(o + len), _mm_castsi128_ps(r));
    return len + (size_t)__builtin_popcount(k1);
}

/* s[0..m) (m < 32) padded with 0x80 bytes to 32, with no call (a call in
 * the block loop costs it its vector registers). */
ND_AVX2 static inline __m256i load_tail(const unsigned char *s, size_t m)
{
    union {
        unsigned char b[32];
        __m256i v;
    } t;
    t.v = _mm256_set1_epi8((char)0x80);
    if (m >= 16) {
        _mm_storeu_si128((__m128i *)(void *)t.b, _mm_loadu_si128((const __m128i *)(const void *)s));
        _mm_storeu_si128((__m128i *)(void *)(t.b + m - 16),
                         _mm_loadu_si128((const __m128i *)(const void *)(s + m - 16)));
    } else if (m >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + m - 8, 8);
        memcpy(t.b, &a, 8);
        memcpy(t.b + m - 8, &b, 8);
    } else {
        for (size_t k = 0; k < m; k++)
            t.b[k] = s[k];
    }
    return t.v;
}

/*
 * The length of the separator-only construct at s[0] (a stop byte of the
 * block loop), 0 when there is none: each of its bytes can then be read as a
 * separator byte, with the same output as the paths that decode it. Plain
 * text: the typographic characters U+00A0 and U+2013/2014/2018/2019/201C/
 * 201D/2026, all separators once folded. With html also the tags <p> and
 * </p> (not inline: they break words) and the entities that decode to
 * separators. Needs 8 readable bytes (left >= 8), else says 0.
 */
static inline size_t norm_sep_len(const unsigned char *s, size_t left, int html)
{
    if (left < 8)
        return 0;
    uint64_t w;
    memcpy(&w, s, 8);
    switch (s[0]) {
    case 0xC2:
        return (w & 0xFFFFu) == 0xA0C2u ? 2 : 0;
    case 0xE2:
        if ((w & 0xFFFFu) != 0x80E2u)
            return 0;
        switch ((unsigned)(w >> 16) & 0xFFu) {
        case 0x93:
        case 0x94:
        case 0x98:
        case 0x99:
        case 0x9C:
        case 0x9D:
        case 0xA6:
            return 3;
        default:
            return 0;
        }
    case '<':
        if (!html)
            return 0;
        if ((w & 0xFFFFFFu) == ND_NAME_KEY("<p>"))
            return 3;
        return (w & 0xFFFFFFFFu) == ND_NAME_KEY("</p>") ? 4 : 0;
    case '&': {
        if (!html)
            return 0;
        uint64_t w4 = w & 0xFFFFFFFFu, w6 = w & 0xFFFFFFFFFFFFull, w7 = w & 0xFFFFFFFFFFFFFFull;
        if (w4 == ND_NAME_KEY("&lt;") || w4 == ND_NAME_KEY("&gt;"))
            return 4;
        if ((w & 0xFFFFFFFFFFull) == ND_NAME_KEY("&amp;"))
            return 5;
        if (w6 == ND_NAME_KEY("&nbsp;") || w6 == ND_NAME_KEY("&quot;"))
            return 6;
        if (w7 == ND_NAME_KEY("&#8217;") || w7 == ND_NAME_KEY("&mdash;") ||
            w7 == ND_NAME_KEY("&ldquo;") || w7 == ND_NAME_KEY("&rdquo;") ||
            w7 == ND_NAME_KEY("&rsquo;") || w7 == ND_NAME_KEY("&lsquo;") ||
            w7 == ND_NAME_KEY("&ndash;"))
            return 7;
        return 0;
    }
    default:
        return 0;
    }
}

/*
 * The bytes of the tags "<p>" and "</p>" in the block v whose '<' is in ltm
 * (the tag whole within the block): separators, as norm_html() reads them.
 * *tags gets the mask of their '<' bytes.
 */
ND_AVX2 static inline uint32_t ptag_bytes(__m256i v, uint32_t ltm, uint32_t *tags)
{
    uint32_t pm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('p')));
    uint32_t sl = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('/')));
    uint32_t gt = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('>')));
    uint32_t t3 = ltm & (pm >> 1) & (gt >> 2);
    uint32_t t4 = ltm & (sl >> 1) & (pm >> 2) & (gt >> 3);
    *tags = t3 | t4;
    return t3 | t3 << 1 | t3 << 2 | t4 | t4 << 1 | t4 << 2 | t4 << 3;
}

/*
 * The prefix of s[0..n) (n >= 1, s[0] < 0x80, with st->esc s[0] not '\\',
 * with st->html s[0] not '<' or '&') that ends before the first stop byte
 * (non-ASCII, with st->html '<' or '&') not starting a separator construct
 * of the block (norm_sep_len(), ptag_bytes()), appended to b as norm_text()
 * and norm_html() would, escapes included: @return the bytes consumed. The
 * caller reserved n + ND_NORM_SIMD_SLACK bytes: up to 32 bytes past the
 * final length may be written.
 */
ND_AVX2 static inline __attribute__((always_inline)) size_t
norm_ascii_avx2_body(nd_norm_t *st, const unsigned char *s, size_t n, const int esc, const int html)
{
    nd_buf_t *b = st->out;
    char *o = b->p;
    size_t len = b->len, i = 0;
    /* Range checks with one signed compare each: x + (0x80 - lo) wraps the
     * range [lo, lo + w) to the w lowest signed bytes. */
    __m256i space = _mm256_set1_epi8(' '); /* 0x20 too: the case bit */
    __m256i la = _mm256_set1_epi8((char)(0x80 - 'a')), lz = _mm256_set1_epi8(-128 + 26);
    __m256i d0 = _mm256_set1_epi8((char)(0x80 - '0')), d9 = _mm256_set1_epi8(-128 + 10);
    __m256i bsl = _mm256_set1_epi8('\\');
    __m256i lt = _mm256_set1_epi8('<'), amp = _mm256_set1_epi8('&');
    /* Opaque to the compiler, so that it keeps them in registers instead of
     * building them again in every block. */
    __asm__("" : "+x"(space), "+x"(la), "+x"(lz), "+x"(d0), "+x"(d9));
    if (esc)
        __asm__("" : "+x"(bsl));
    if (html)
        __asm__("" : "+x"(lt), "+x"(amp));
    uint32_t carry = 0; /* 1: the byte before the block ended a token */
    if (len > 0) {
        if (st->sep)
            o[len++] = ' '; /* the pending space, taken back if no token follows */
        else
            carry = 1;
    }
    for (;;) {
        /* Blocks with no stop byte (but <p> and </p>) and only plain escapes:
         * the common case. */
        while (n - i >= 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
            /* Escapes here are pairs apart from each other and from the
             * block's end: the backslash a separator, the byte after it
             * never kept. */
            uint32_t escd = 0, sepx = 0;
            if (esc) { /* no branch on bm itself: a block has one or not at random */
                uint32_t bm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bsl));
                uint64_t esc2 = (uint64_t)bm << 1; /* bit 32: a '\\' ends the block */
                if (esc2 & (bm | UINT64_C(1) << 32))
                    break;
                escd = (uint32_t)esc2;
            }
            if (html) {
                if (_mm256_movemask_epi8(_mm256_or_si256(v, _mm256_cmpeq_epi8(v, amp))))
                    break;
                uint32_t ltm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, lt)), tags;
                if (ltm) {
                    sepx = ptag_bytes(v, ltm & ~escd, &tags);
                    if (ltm & ~tags)
                        break;
                }
            } else if (_mm256_movemask_epi8(v)) { /* non-ASCII */
                break;
            }
            __m256i low = _mm256_or_si256(v, space);
            __m256i let = _mm256_cmpgt_epi8(lz, _mm256_add_epi8(low, la));
            __m256i dig = _mm256_cmpgt_epi8(d9, _mm256_add_epi8(v, d0));
            __m256i word = _mm256_or_si256(let, dig);
            __m256i out = _mm256_blendv_epi8(space, low, word);
            uint32_t wm = (uint32_t)_mm256_movemask_epi8(word) & ~(sepx | escd);
            uint32_t keep = wm | (~wm & ((wm << 1) | carry));
            len = pack16(o, len, _mm256_castsi256_si128(out), keep & 0xFFFFu);
            len = pack16(o, len, _mm256_extracti128_si256(out, 1), keep >> 16);
            carry = wm >> 31;
            i += 32;
        }
        if (i == n)
            break;
        /* The general block: stop bytes, escapes, the tail. */
        __m256i v;
        if (n - i >= 32)
            v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        else
            v = load_tail(s + i, n - i); /* the padding stops the run */
        uint32_t starts = 0, escd = 0;
        if (esc) {
            uint32_t bs = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, bsl));
            if (bs) {
                /* Escapes in order: a '\\' not itself escaped starts one,
                 * and the byte after it is a separator too (it follows a
                 * separator, so it is never kept). An escape whose second
                 * byte is not in the block is left to the caller. */
                starts = bs, escd = bs << 1;
                if (bs & escd) { /* adjacent backslashes: pair them in order */
                    starts = escd = 0;
                    for (uint32_t m = bs; m; m &= m - 1) {
                        unsigned k = (unsigned)__builtin_ctz(m);
                        if ((escd >> k) & 1u)
                            continue;
                        starts |= 1u << k;
                        if (k < 31)
                            escd |= 2u << k;
                    }
                }
            }
        }
        uint32_t stop = (uint32_t)_mm256_movemask_epi8(v); /* non-ASCII */
        uint32_t sepx = 0;
        if (html) {
            uint32_t ltm = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, lt)), tags;
            stop |= ltm | (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, amp));
            if (ltm) {
                sepx = ptag_bytes(v, ltm & ~escd, &tags);
                stop &= ~tags;
            }
        }
        /* Other stop bytes that start a separator-only construct within the
         * block become separator bytes; one that runs past the block ends
         * the block before it, and the next block starts with it. */
        int cut = 0;
        while (stop) {
            unsigned k = (unsigned)__builtin_ctz(stop);
            size_t m;
            if (((escd >> k) & 1u) || (m = norm_sep_len(s + i + k, n - i - k, html)) == 0)
                break;
            if (k + m > 32) {
                cut = 1;
                break;
            }
            uint32_t bits = ((1u << m) - 1) << k;
            sepx |= bits;
            stop &= ~bits;
        }
        uint32_t valid = stop ? (1u << __builtin_ctz(stop)) - 1 : 0xFFFFFFFFu;
        __m256i low = _mm256_or_si256(v, space); /* digits have 0x20 set already */
        __m256i let = _mm256_cmpgt_epi8(lz, _mm256_add_epi8(low, la));
        __m256i dig = _mm256_cmpgt_epi8(d9, _mm256_add_epi8(v, d0));
        __m256i word = _mm256_or_si256(let, dig);
        __m256i out = _mm256_blendv_epi8(space, low, word);
        uint32_t wm = (uint32_t)_mm256_movemask_epi8(word) & ~sepx;
        if (esc && (starts | escd)) {
            uint32_t top = valid ^ (valid >> 1);
            if (starts & top)
                valid &= ~top;
            wm &= ~escd;
        }
        wm &= valid;
        uint32_t keep = wm | (~wm & valid & ((wm << 1) | carry));
        len = pack16(o, len, _mm256_castsi256_si128(out), keep & 0xFFFFu);
        len = pack16(o, len, _mm256_extracti128_si256(out, 1), keep >> 16);
        if (valid != 0xFFFFFFFFu) {
            unsigned used = (unsigned)__builtin_popcount(valid);
            i += used;
            if ((stop && !cut) || used == 0)
                break;                       /* the run ends here */
            carry = (wm >> (used - 1)) & 1u; /* cut before an escape or construct: go on */
        } else {
            carry = wm >> 31;
            i += 32;
        }
        if (i == n)
            break;
    }
    /* A run of separators at the end is left pending, never written. */
    if (len > 0 && o[len - 1] == ' ') {
        len--;
        st->sep = 1;
    } else {
        st->sep = 0;
    }
    b->len = len;
    return i;
}

/* norm_ascii_avx2_body() for each value of st->esc and st->html, so that
 * each loop has only the tests it needs. */
ND_AVX2 static size_t norm_ascii_avx2_plain(nd_norm_t *st, const unsigned char *s, size_t n)
{
    return norm_ascii_avx2_body(st, s, n, 0, 0);
}

ND_AVX2 static size_t norm_ascii_avx2_esc(nd_norm_t *st, const unsigned char *s, size_t n)
{
    return norm_ascii_avx2_body(st, s, n, 1, 0);
}

ND_AVX2 static size_t norm_ascii_avx2_html(nd_norm_t *st, const unsigned char *s, size_t n)
{
    return norm_ascii_avx2_body(st, s, n, 0, 1);
}

ND_AVX2 static size_t norm_ascii_avx2_html_esc(nd_norm_t *st, const unsigned char *s, size_t n)
{
    return norm_ascii_avx2_body(st, s, n, 1, 1);
}

static size_t norm_ascii_avx2(nd_norm_t *st, const unsigned char *s, size_t n)
{
    if (st->html)
        return st->esc ? norm_ascii_avx2_html_esc(st, s, n) : norm_ascii_avx2_html(st, s, n);
    return st->esc ? norm_ascii_avx2_esc(st, s, n) : norm_ascii_avx2_plain(st, s, n);
}
#endif

/* Feed a run of plain UTF-8 text; with st->html, only up to its first '<' or
 * '&'. *used gets the bytes consumed (n, or that markup's offset). */
static inline __attribute__((always_inline)) nd_err_t
norm_text(nd_norm_t *st, const unsigned char *s, size_t n, size_t *used)
{
    nd_buf_t *b = st->out;
    size_t i = 0;
    const int fast = !(st->flags & ND_NORM_NO_ASCII_FAST);
    *used = n;
    while (i < n) {
        if (st->html && (s[i] == '<' || s[i] == '&')) {
            *used = i;
            break;
        }
        if (st->esc && s[i] == '\\') { /* an escape stands for a separator */
            st->sep = 1;
            i = n - i >= 2 ? i + 2 : n;
            continue;
        }
        if (fast && s[i] < 0x80) {
            /* ASCII output is at most one byte per input byte plus one
             * space before the first token. */
            if (b->cap - b->len < n - i + 1 + ND_NORM_SIMD_SLACK &&
                nd_buf_reserve(b, n - i + 1 + ND_NORM_SIMD_SLACK))
                return ND_ERR_NOMEM;
#if ND_NORM_HAVE_AVX2
            if (st->avx2) {
                i += norm_ascii_avx2(st, s + i, n - i);
                continue;
            }
#endif
            char *o = b->p;
            size_t len = b->len;
            int sep = st->sep;
#ifdef __SSE2__
            const __m128i bsl = _mm_set1_epi8(st->esc ? '\\' : 0x80);
            const __m128i lt = _mm_set1_epi8(st->html ? '<' : 0x80);
            const __m128i amp = _mm_set1_epi8(st->html ? '&' : 0x80);
            while (n - i >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                __m128i hit =
                    _mm_or_si128(_mm_cmpeq_epi8(v, bsl),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp)));
                unsigned valid = 0xFFFFu, na = (unsigned)_mm_movemask_epi8(_mm_or_si128(v, hit));
                if (na) { /* the ASCII bytes before the first stop byte */
                    valid = (1u << __builtin_ctz(na)) - 1;
                    if (!valid)
                        break;
                }
                unsigned wm;
                __m128i out = ascii_fold16(v, &wm);
                wm &= valid;
                len = ascii_emit16(o, len, out, wm, valid, &sep);
                if (valid != 0xFFFFu) {
                    i += (size_t)__builtin_popcount(valid);
                    break;
                }
                i += 16;
            }
#endif
            for (; i < n; i++) {
                unsigned c = s[i];
                if (c >= 0x80 || (c == '\\' && st->esc) || (st->html && (c == '<' || c == '&')))
                    break;
                unsigned m = nd_ascii_map[c];
                if (m) {
                    if (sep && len > 0)
                        o[len++] = ' ';
                    o[len++] = (char)m;
                    sep = 0;
                } else {
                    sep = 1;
                }
            }
            b->len = len;
            st->sep = sep;
            continue;
        }
        size_t used = 0;
        int32_t cp = utf8_decode(s + i, n - i, &used);
        if (cp < 0)
            return ND_ERR_BAD_UTF8;
        i += used;
        nd_err_t err = norm_cp(st, cp);
        if (err)
            return err;
    }
    return ND_ERR_NO_ERROR;
}

/* name[0..n) (n <= 8) packed; with fold, ASCII letters lowercased (a tag
 * name holds only letters and digits, and digits have 0x20 set already). */
static inline uint64_t name_key(const unsigned char *name, size_t n, int fold)
{
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k |= (uint64_t)(fold ? name[i] | 0x20u : name[i]) << (8 * i);
    return k;
}

/*
 * HTML entities: the Latin-1 block by position (U+00A0..U+00FF), then the
 * other common names.
 */
static const char *const nd_latin1_names[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml",
};

static const struct {
    const char *name;
    int32_t cp;
} nd_entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
    {"apos", '\''},     {"OElig", 0x152},   {"oelig", 0x153},  {"Scaron", 0x160},
    {"scaron", 0x161},  {"Yuml", 0x178},    {"fnof", 0x192},   {"circ", 0x2C6},
    {"tilde", 0x2DC},   {"ensp", 0x2002},   {"emsp", 0x2003},  {"thinsp", 0x2009},
    {"zwnj", 0x200C},   {"zwj", 0x200D},    {"lrm", 0x200E},   {"rlm", 0x200F},
    {"ndash", 0x2013},  {"mdash", 0x2014},  {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"sbquo", 0x201A},  {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bdquo", 0x201E},
    {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},  {"hellip", 0x2026},
    {"permil", 0x2030}, {"prime", 0x2032},  {"Prime", 0x2033}, {"lsaquo", 0x2039},
    {"rsaquo", 0x203A}, {"oline", 0x203E},  {"euro", 0x20AC},  {"trade", 0x2122},
    {"minus", 0x2212},  {"larr", 0x2190},   {"rarr", 0x2192},  {"hyphen", 0x2010},
    {"dash", 0x2010},   {"horbar", 0x2015}, {"nbhy", 0x2011},  {"NewLine", '\n'},
    {"Tab", '\t'},      {"period", '.'},    {"comma", ','},    {"colon", ':'},
    {"semi", ';'},      {"excl", '!'},      {"quest", '?'},    {"lpar", '('},
    {"rpar", ')'},      {"sol", '/'},       {"num", '#'},      {"percnt", '%'},
    {"alpha", 0x3B1},   {"beta", 0x3B2},    {"gamma", 0x3B3},  {"delta", 0x3B4},
    {"mu", 0x3BC},      {"pi", 0x3C0},      {"sigma", 0x3C3},  {"omega", 0x3C9},
};

/* Decode the entity at s[0] == '&'. @return bytes consumed (0: not an
 * entity, the '&' is literal) and the code point in *cp. */
static size_t html_entity(const unsigned char *s, size_t n, int32_t *cp)
{
    size_t i = 1;
    if (i < n && s[i] == '#') {
        int hex = 0;
        i++;
        if (i < n && (s[i] == 'x' || s[i] == 'X')) {
            hex = 1;
            i++;
        }
        size_t start = i;
        uint32_t v = 0;
        for (; i < n && i - start < 8; i++) {
            unsigned c = s[i], d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                d = (c | 0x20) - 'a' + 10;
            else
                break;
            v = v * (hex ? 16 : 10) + d;
        }
        if (i == start)
            return 0;
        while (i < n && ((s[i] >= '0' && s[i] <= '9') ||
                         (hex && (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
            i++, v = 0x110000; /* too many digits: out of range */
        if (i < n && s[i] == ';')
            i++;
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            v = 0xFFFD;
        *cp = (int32_t)v;
        return i;
    }
    size_t start = i;
    while (i < n && i - start < 32 &&
           (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9')))
        i++;
    size_t nl = i - start;
    if (nl == 0 || i >= n || s[i] != ';')
        return 0;
    const char *name = (const char *)s + start;
    if (nl <= 5) { /* the names news bodies use most, before the tables */
        uint64_t key = name_key(s + start, nl, 0);
        int32_t c = key == ND_NAME_KEY("lt")      ? '<'
                    : key == ND_NAME_KEY("gt")    ? '>'
                    : key == ND_NAME_KEY("nbsp")  ? 0xA0
                    : key == ND_NAME_KEY("amp")   ? '&'
                    : key == ND_NAME_KEY("quot")  ? '"'
                    : key == ND_NAME_KEY("rsquo") ? 0x2019
                    : key == ND_NAME_KEY("ldquo") ? 0x201C
                    : key == ND_NAME_KEY("rdquo") ? 0x201D
                    : key == ND_NAME_KEY("lsquo") ? 0x2018
                    : key == ND_NAME_KEY("mdash") ? 0x2014
                    : key == ND_NAME_KEY("ndash") ? 0x2013
                                                  : -1;
        if (c >= 0) {
            *cp = c;
            return i + 1;
        }
    }
    /* name holds no NUL, so strncmp stops inside a shorter table name; the
     * first byte filters out almost every candidate. */
    for (size_t k = 0; k < 96; k++) {
        const char *t = nd_latin1_names[k];
        if (t[0] == name[0] && strncmp(t, name, nl) == 0 && t[nl] == '\0') {
            *cp = (int32_t)(0xA0 + k);
            return i + 1;
        }
    }
    for (size_t k = 0; k < sizeof(nd_entities) / sizeof(nd_entities[0]); k++) {
        const char *t = nd_entities[k].name;
        if (t[0] == name[0] && strncmp(t, name, nl) == 0 && t[nl] == '\0') {
            *cp = nd_entities[k].cp;
            return i + 1;
        }
    }
    return 0;
}

/* Inline elements join the text around them; every other tag breaks words.
 * key: the lowercased name of n bytes (n <= 8). */
static int tag_is_inline(uint64_t key, size_t n)
{
    switch (n) {
    case 1: /* a b i q s u */
        return key >= 'a' && key <= 'z' && ((0x150103u >> (key - 'a')) & 1u);
    case 2:
        return key == ND_NAME_KEY("em") || key == ND_NAME_KEY("tt");
    case 3:
        return key == ND_NAME_KEY("bdi") || key == ND_NAME_KEY("bdo") ||
               key == ND_NAME_KEY("dfn") || key == ND_NAME_KEY("kbd") ||
               key == ND_NAME_KEY("sub") || key == ND_NAME_KEY("sup") ||
               key == ND_NAME_KEY("var") || key == ND_NAME_KEY("wbr") ||
               key == ND_NAME_KEY("big") || key == ND_NAME_KEY("ins") || key == ND_NAME_KEY("del");
    case 4:
        return key == ND_NAME_KEY("abbr") || key == ND_NAME_KEY("cite") ||
               key == ND_NAME_KEY("code") || key == ND_NAME_KEY("data") ||
               key == ND_NAME_KEY("font") || key == ND_NAME_KEY("mark") ||
               key == ND_NAME_KEY("samp") || key == ND_NAME_KEY("span") ||
               key == ND_NAME_KEY("time");
    case 5:
        return key == ND_NAME_KEY("small");
    case 6:
        return key == ND_NAME_KEY("strong") || key == ND_NAME_KEY("strike");
    default:
        return 0;
    }
}

/* Elements whose content is not body text (key as for tag_is_inline). */
static int tag_is_skipped(uint64_t key, size_t n)
{
    return (n == 6 && key == ND_NAME_KEY("script")) || (n == 5 && key == ND_NAME_KEY("style")) ||
           (n == 4 && key == ND_NAME_KEY("head"));
}

/* The character the JSON escape "\\c" stands for. */
static inline unsigned json_unescape(unsigned c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; /* " \\ / */
    }
}

/* Offset just past the '>' closing the tag that starts at s[i] == '<'
 * (quoted attribute values may hold '>'); n when unterminated. With esc, s
 * is JSON string text: "\\\"" is a '"' and no escape is a '>'. */
static size_t tag_end(const unsigned char *s, size_t n, size_t i, int esc)
{
    unsigned quote = 0;
    for (i++; i < n; i++) {
        unsigned c = s[i];
        if (c == '\\' && esc) {
            if (++i >= n)
                break;
            c = s[i] == '"' ? '"' : 0;
        }
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '>') {
            return i + 1;
        }
    }
    return n;
}

/* Offset past the end tag "</name ...>" at or after i, n when absent (esc as
 * for tag_end(): "<\\/name\\n>" is one too). */
static size_t skip_to_end_tag(const unsigned char *s, size_t n, size_t i, const unsigned char *name,
                              size_t nl, int esc)
{
    for (; i + 2 + nl <= n; i++) {
        if (s[i] != '<')
            continue;
        size_t k = i + 1;
        if (s[k] == '/')
            k++;
        else if (esc && s[k] == '\\' && k + 1 < n && s[k + 1] == '/')
            k += 2;
        else
            continue;
        if (k + nl > n || strncasecmp((const char *)s + k, (const char *)name, nl) != 0)
            continue;
        unsigned c = k + nl < n ? s[k + nl] : '>';
        if (c == '\\' && esc)
            c = k + nl + 1 < n ? json_unescape(s[k + nl + 1]) : '>';
        if (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/')
            return tag_end(s, n, i, esc);
    }
    return n;
}

/* The HTML layer (with st->esc, over JSON string text: markup is read as
 * its decoded characters would be, and text escapes separate as in
 * norm_text()). */
static nd_err_t norm_html(nd_norm_t *st, const unsigned char *s, size_t n)
{
    const int esc = st->esc;
    size_t i = 0;
    while (i < n) {
        size_t used;
        st->html = 1;
        nd_err_t err = norm_text(st, s + i, n - i, &used);
        if (err)
            return err;
        size_t j = i + used;
        if (j >= n)
            break;
        if (s[j] == '&') {
            int32_t cp = 0;
            used = html_entity(s + j, n - j, &cp);
            if (used == 0) {
                st->sep = 1; /* a literal '&' */
                i = j + 1;
                continue;
            }
            /* The character is text ("&lt;" too), as norm_text() takes it. */
            if (cp >= 0x80 || (st->flags & ND_NORM_NO_ASCII_FAST)) {
                if ((err = norm_cp(st, cp)) != ND_ERR_NO_ERROR)
                    return err;
            } else if (nd_ascii_map[cp]) {
                nd_buf_t *b = st->out;
                if (b->cap - b->len < 3 && nd_buf_reserve(b, 3)) /* ' ', it and the NUL */
                    return ND_ERR_NOMEM;
                if (st->sep && b->len > 0)
                    b->p[b->len++] = ' ';
                b->p[b->len++] = (char)nd_ascii_map[cp];
                st->sep = 0;
            } else {
                st->sep = 1;
            }
            i = j + used;
            continue;
        }
        /* '<' */
        unsigned c = j + 1 < n ? s[j + 1] : 0;
        size_t cl = 1; /* bytes of c */
        if (c == '\\' && esc) {
            c = j + 2 < n ? json_unescape(s[j + 2]) : 0;
            cl = 2;
        }
        if (c == '!') {
            if (j + 3 < n && s[j + 2] == '-' && s[j + 3] == '-') {
                size_t k = j + 4;
                while (k + 2 < n && !(s[k] == '-' && s[k + 1] == '-' && s[k + 2] == '>'))
                    k++;
                i = k + 2 < n ? k + 3 : n;
            } else {
                i = tag_end(s, n, j, esc);
            }
            st->sep = 1;
            continue;
        }
        if (c == '?') {
            i = tag_end(s, n, j, esc);
            st->sep = 1;
            continue;
        }
        int closing = c == '/';
        size_t ns = j + 1 + (closing ? cl : 0), ne = ns;
        while (ne < n && (((s[ne] | 0x20) >= 'a' && (s[ne] | 0x20) <= 'z') ||
                          (ne > ns && s[ne] >= '0' && s[ne] <= '9')))
            ne++;
        if (ne == ns) { /* not a tag: a literal '<' */
            st->sep = 1;
            i = j + 1;
            continue;
        }
        /* The name holds no quote, '>' or escape; most tags end right after it. */
        i = ne < n && s[ne] == '>' ? ne + 1 : tag_end(s, n, ne - 1, esc);
        size_t nl = ne - ns;
        uint64_t key = nl <= 8 ? name_key(s + ns, nl, 1) : 0;
        if (!tag_is_inline(key, nl))
            st->sep = 1;
        if (!closing && tag_is_skipped(key, nl))
            i = skip_to_end_tag(s, n, i, s + ns, nl, esc);
    }
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_normalize_ex(const char *in, size_t len, int is_html, unsigned flags, nd_buf_t *out)
{
    nd_buf_reset(out);
    if (nd_buf_reserve(out, len + 1))
        return ND_ERR_NOMEM;
    nd_norm_t st; /* not zeroed: the cache is filled on first use */
    st.out = out;
    st.sep = 0;
    st.flags = flags;
    st.esc = !!(flags & ND_NORM_JSON_ESCAPES);
    st.avx2 = 0;
#if ND_NORM_HAVE_AVX2
    st.avx2 = !(flags & ND_NORM_NO_AVX2) && __builtin_cpu_supports("avx2");
#endif
    st.cache_ready = 0;
    st.html = 0;
    nd_err_t err = is_html ? norm_html(&st, (const unsigned char *)in, len)
                           : norm_text(&st, (const unsigned char *)in, len, &len);
    if (err) {
        nd_buf_reset(out);
        return err;
    }
    out->p[out->len] = '\0';
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_normalize(const char *in, size_t len, int is_html, nd_buf_t *out)
{
    return nd_normalize_ex(in, len, is_html, 0, out);
}
