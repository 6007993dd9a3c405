/*
 * normalize.c - body text to the token string the engine shingles.
 *
 * Two layers. The text layer turns plain UTF-8 into tokens: ASCII bytes go
 * through a 128-entry table (lowercase letters and digits, everything else a
 * separator); any other code point goes through utf8proc_decompose_char()
 * with compatibility decomposition, case folding, mark stripping, lumping and
 * ignorable removal, and each resulting code point is classified by its
 * Unicode category. The HTML layer walks tags and entities and feeds the text
 * runs between them to the text layer, so decoded entities can never be
 * mistaken for markup.
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

#define ND_UTF8PROC_OPTS                                                                           \
    (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |               \
     UTF8PROC_IGNORE | UTF8PROC_LUMP)

/* Room the general path may need for one input code point: the longest
 * decomposition (U+FDFA, 18 code points of up to 3 bytes) with separators. */
#define ND_NORM_CP_ROOM 160

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
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
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

/* Feed a run of plain UTF-8 text. */
static nd_err_t norm_text(nd_norm_t *st, const unsigned char *s, size_t n)
{
    nd_buf_t *b = st->out;
    size_t i = 0;
    const int fast = !(st->flags & ND_NORM_NO_ASCII_FAST);
    while (i < n) {
        if (fast && s[i] < 0x80) {
            /* ASCII output is at most one byte per input byte plus one
             * space before the first token. */
            if (nd_buf_reserve(b, n - i + 1))
                return ND_ERR_NOMEM;
            char *o = b->p;
            size_t len = b->len;
            int sep = st->sep;
#ifdef __SSE2__
            while (n - i >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
                unsigned valid = 0xFFFFu, na = (unsigned)_mm_movemask_epi8(v);
                if (na) { /* the ASCII bytes before the first non-ASCII one */
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
                if (c >= 0x80)
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

/* Inline elements join the text around them; every other tag breaks words. */
static int tag_is_inline(const unsigned char *name, size_t n)
{
    /* Inline tags, by length (none is longer than 6), so a tag costs a
     * lower-casing of at most 6 bytes and a few memcmp of that length. */
    static const char *const inl[7] = {
        "",
        "abiqsu",                               /* 1 letter: a b i q s u */
        "emtt",                                 /* em tt */
        "bdibdodfnkbdsubsupvarwbrbiginsdel",    /* 3 letters */
        "abbrcitecodedatafontmarksampspantime", /* 4 letters */
        "small",                                /* 5 letters */
        "strongstrike",                         /* 6 letters */
    };
    char low[6];
    if (n == 0 || n > 6)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    for (const char *t = inl[n]; *t; t += n)
        if (memcmp(t, low, n) == 0)
            return 1;
    return 0;
}

/* Elements whose content is not body text. */
static int tag_is_skipped(const unsigned char *name, size_t n)
{
    return (n == 6 && strncasecmp((const char *)name, "script", 6) == 0) ||
           (n == 5 && strncasecmp((const char *)name, "style", 5) == 0) ||
           (n == 4 && strncasecmp((const char *)name, "head", 4) == 0);
}

/* Offset just past the '>' closing the tag that starts at s[i] == '<'
 * (quoted attribute values may hold '>'); n when unterminated. */
static size_t tag_end(const unsigned char *s, size_t n, size_t i)
{
    unsigned quote = 0;
    for (i++; i < n; i++) {
        unsigned c = s[i];
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

/* Offset past the end tag "</name ...>" at or after i, n when absent. */
static size_t skip_to_end_tag(const unsigned char *s, size_t n, size_t i, const unsigned char *name,
                              size_t nl)
{
    for (; i + 2 + nl <= n; i++) {
        if (s[i] == '<' && s[i + 1] == '/' &&
            strncasecmp((const char *)s + i + 2, (const char *)name, nl) == 0) {
            unsigned c = i + 2 + nl < n ? s[i + 2 + nl] : '>';
            if (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/')
                return tag_end(s, n, i);
        }
    }
    return n;
}

/* Offset of the first '<' or '&' at or after i, n when none. */
static inline size_t markup_next(const unsigned char *s, size_t n, size_t i)
{
#ifdef __SSE2__
    const __m128i lt = _mm_set1_epi8('<'), amp = _mm_set1_epi8('&');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(v, lt), _mm_cmpeq_epi8(v, amp)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && s[i] != '<' && s[i] != '&')
        i++;
    return i;
}

static nd_err_t norm_html(nd_norm_t *st, const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = markup_next(s, n, i);
        nd_err_t err = norm_text(st, s + i, j - i);
        if (err)
            return err;
        if (j >= n)
            break;
        if (s[j] == '&') {
            int32_t cp = 0;
            size_t used = html_entity(s + j, n - j, &cp);
            if (used == 0) {
                st->sep = 1; /* a literal '&' */
                i = j + 1;
                continue;
            }
            char tmp[4];
            size_t tl = utf8_encode(cp, tmp);
            err = norm_text(st, (const unsigned char *)tmp, tl);
            if (err)
                return err;
            i = j + used;
            continue;
        }
        /* '<' */
        unsigned c = j + 1 < n ? s[j + 1] : 0;
        if (c == '!') {
            if (j + 3 < n && s[j + 2] == '-' && s[j + 3] == '-') {
                size_t k = j + 4;
                while (k + 2 < n && !(s[k] == '-' && s[k + 1] == '-' && s[k + 2] == '>'))
                    k++;
                i = k + 2 < n ? k + 3 : n;
            } else {
                i = tag_end(s, n, j);
            }
            st->sep = 1;
            continue;
        }
        if (c == '?') {
            i = tag_end(s, n, j);
            st->sep = 1;
            continue;
        }
        int closing = c == '/';
        size_t ns = j + 1 + (size_t)closing, ne = ns;
        while (ne < n && (((s[ne] | 0x20) >= 'a' && (s[ne] | 0x20) <= 'z') ||
                          (ne > ns && s[ne] >= '0' && s[ne] <= '9')))
            ne++;
        if (ne == ns) { /* not a tag: a literal '<' */
            st->sep = 1;
            i = j + 1;
            continue;
        }
        i = tag_end(s, n, j);
        if (!tag_is_inline(s + ns, ne - ns))
            st->sep = 1;
        if (!closing && tag_is_skipped(s + ns, ne - ns))
            i = skip_to_end_tag(s, n, i, s + ns, ne - ns);
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
    st.cache_ready = 0;
    nd_err_t err = is_html ? norm_html(&st, (const unsigned char *)in, len)
                           : norm_text(&st, (const unsigned char *)in, len);
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
