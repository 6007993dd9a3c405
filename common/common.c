/*
 * common.c - error names, the allocation seam, nd_buf_t and ISO 8601 times.
 */
#include "nd_common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static const struct {
    const char *name;
    const char *str;
} nd_err_table[ND_ERR__END] = {
    [ND_ERR_NO_ERROR] = {"no_error", "Success"},
    [ND_ERR_NOMEM] = {"nomem", "Out of memory"},
    [ND_ERR_INVALID_ARG] = {"invalid_arg", "Invalid argument or configuration"},
    [ND_ERR_IO] = {"io", "I/O error"},
    [ND_ERR_EMPTY] = {"empty", "Empty input"},
    [ND_ERR_BAD_JSON] = {"bad_json", "Malformed JSON"},
    [ND_ERR_NOT_OBJECT] = {"not_object", "JSON document is not an object"},
    [ND_ERR_WRONG_TYPE] = {"wrong_type", "A ninjs field has the wrong type"},
    [ND_ERR_BAD_UTF8] = {"bad_utf8", "Invalid UTF-8"},
    [ND_ERR_TOO_LARGE] = {"too_large", "Document exceeds the size limit"},
    [ND_ERR_TOO_DEEP] = {"too_deep", "Document exceeds the nesting limit"},
    [ND_ERR_MISSING_URI] = {"missing_uri", "Article has no uri"},
    [ND_ERR_MISSING_TEXT] = {"missing_text", "Article has no usable text"},
    [ND_ERR_BAD_TIME] = {"bad_time", "Time field is not ISO 8601"},
    [ND_ERR_SNAPSHOT_FOREIGN] = {"snapshot_foreign", "Not a newsdedup snapshot"},
    [ND_ERR_SNAPSHOT_VERSION] = {"snapshot_version", "Unsupported snapshot version"},
    [ND_ERR_SNAPSHOT_CORRUPT] = {"snapshot_corrupt", "Snapshot is corrupt or truncated"},
    [ND_ERR_SNAPSHOT_CONFIG] = {"snapshot_config",
                                "Snapshot was made with incompatible engine settings"},
    [ND_ERR_KAFKA] = {"kafka", "Kafka error"},
    [ND_ERR_KAFKA_FATAL] = {"kafka_fatal", "Fatal Kafka error"},
};

const char *nd_err_name(nd_err_t err)
{
    if ((int)err < 0 || err >= ND_ERR__END || !nd_err_table[err].name)
        return "unknown";
    return nd_err_table[err].name;
}

const char *nd_err_str(nd_err_t err)
{
    if ((int)err < 0 || err >= ND_ERR__END || !nd_err_table[err].str)
        return "Unknown error";
    return nd_err_table[err].str;
}

/* Failure injection countdown: -1 = off. The one process-wide mutable,
 * documented in the header as a test seam. */
static atomic_long nd_alloc_countdown = -1;

void nd_alloc_fail_after(long n)
{
    atomic_store(&nd_alloc_countdown, n);
}

/* nd_alloc_should_fail: consume one tick of the countdown. */
static int nd_alloc_should_fail(void)
{
    long v = atomic_load_explicit(&nd_alloc_countdown, memory_order_relaxed);
    if (v < 0)
        return 0;
    if (v == 0)
        return 1;
    atomic_fetch_sub(&nd_alloc_countdown, 1);
    return 0;
}

void *nd_malloc(size_t size)
{
    if (nd_alloc_should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *nd_calloc(size_t n, size_t size)
{
    if (nd_alloc_should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *nd_realloc(void *ptr, size_t size)
{
    if (nd_alloc_should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void nd_free(void *ptr)
{
    free(ptr);
}

char *nd_strndup(const char *s, size_t len)
{
    char *d = nd_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void nd_buf_init(nd_buf_t *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void nd_buf_free(nd_buf_t *b)
{
    nd_free(b->p);
    nd_buf_init(b);
}

void nd_buf_reset(nd_buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

nd_err_t nd_buf_reserve(nd_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return ND_ERR_NO_ERROR;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = nd_realloc(b->p, cap);
    if (!p)
        return ND_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_buf_putc(nd_buf_t *b, char c)
{
    return nd_buf_append(b, &c, 1);
}

nd_err_t nd_buf_printf(nd_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return ND_ERR_INVALID_ARG;
    if ((size_t)n < sizeof(small))
        return nd_buf_append(b, small, (size_t)n);
    if (nd_buf_reserve(b, (size_t)n))
        return ND_ERR_NOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ND_ERR_NO_ERROR;
}

/* SWAR test of 8 bytes: nonzero iff one of them is below 0x20, '"' or '\\'
 * (each "has zero byte" test is exact about whether any byte matches,
 * though not about which). */
static inline uint64_t nd_json_word_needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    uint64_t lt = (w - ones * 0x20) & ~w;
    return (lt | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high;
}

/* Whether byte c must be escaped in a JSON string. */
static inline int nd_json_byte_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

nd_err_t nd_buf_json_str(nd_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* The common case, nothing to escape, is one scan and one copy. */
    size_t i = 0;
#ifdef __SSE2__
    /* 16 bytes a step: '"', '\\', or c <= 0x1F (min(c, 0x1F) == c). */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  ctl = _mm_set1_epi8(0x1F);
    while (i + 16 <= len) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
        if (_mm_movemask_epi8(hit))
            break;
        i += 16;
    }
#endif
    while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (nd_json_word_needs_escape(w))
            break;
        i += 8;
    }
    while (i < len && !nd_json_byte_needs_escape((unsigned char)s[i]))
        i++;
    /* Room for the clean prefix, and every later byte as \u00XX. */
    if (nd_buf_reserve(b, i + (len - i) * 6 + 2))
        return ND_ERR_NOMEM;
    char *o = b->p + b->len;
    *o++ = '"';
    memcpy(o, s, i);
    o += i;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!nd_json_byte_needs_escape(c)) {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
    return ND_ERR_NO_ERROR;
}

/* "00" to "99": two decimal digits per lookup. */
static const char nd_d2[201] = "00010203040506070809101112131415161718192021222324"
                               "25262728293031323334353637383940414243444546474849"
                               "50515253545556575859606162636465666768697071727374"
                               "75767778798081828384858687888990919293949596979899";

/* Write v (< 100) as two digits at p. */
static inline void nd_fmt_2(char *p, unsigned v)
{
    memcpy(p, nd_d2 + 2 * v, 2);
}

/* Write v's decimal digits ending just before end. @return the first digit. */
static char *nd_fmt_u64_rev(uint64_t v, char *end)
{
    const char *d2 = nd_d2;
    char *p = end;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, d2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, d2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

nd_err_t nd_buf_append_u64(nd_buf_t *b, uint64_t v)
{
    char t[24], *end = t + sizeof(t);
    char *p = nd_fmt_u64_rev(v, end);
    return nd_buf_append(b, p, (size_t)(end - p));
}

nd_err_t nd_buf_append_i64(nd_buf_t *b, int64_t v)
{
    char t[24], *end = t + sizeof(t);
    /* Negate in unsigned arithmetic: INT64_MIN has no positive int64_t. */
    char *p = nd_fmt_u64_rev(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, end);
    if (v < 0)
        *--p = '-';
    return nd_buf_append(b, p, (size_t)(end - p));
}

nd_err_t nd_buf_append_fixed(nd_buf_t *b, double v, int prec)
{
#ifdef __SIZEOF_INT128__
    static const uint64_t pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};
    if (prec >= 0 && prec <= 9 && v > -1e9 && v < 1e9) { /* false for NaN */
        /* v = m * 2^e exactly; q = m * 10^prec * 2^e rounded half to even. */
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        int neg = (int)(bits >> 63);
        int bexp = (int)((bits >> 52) & 0x7FF);
        uint64_t m = bits & ((1ull << 52) - 1);
        if (bexp)
            m |= 1ull << 52;
        else
            bexp = 1; /* subnormal */
        int e = bexp - 1075;
        unsigned __int128 prod = (unsigned __int128)m * pow10[prec];
        uint64_t q;
        if (e >= 0) {
            q = (uint64_t)(prod << e); /* |v| < 1e9: fits */
        } else if (-e >= 128) {
            q = 0; /* prod < 2^83, far below half a unit */
        } else {
            int sh = -e;
            unsigned __int128 one = 1, rem = prod & ((one << sh) - 1), half = one << (sh - 1);
            q = (uint64_t)(prod >> sh);
            if (rem > half || (rem == half && (q & 1)))
                q++;
        }
        /* "-" + up to 10 integer digits + "." + 9 decimals. */
        char t[32], *end = t + sizeof(t), *p = end;
        if (prec) {
            uint64_t frac = q % pow10[prec];
            q /= pow10[prec];
            for (int k = 0; k < prec; k++) {
                *--p = (char)('0' + frac % 10);
                frac /= 10;
            }
            *--p = '.';
        }
        p = nd_fmt_u64_rev(q, p);
        if (neg)
            *--p = '-';
        return nd_buf_append(b, p, (size_t)(end - p));
    }
#endif
    return nd_buf_printf(b, "%.*f", prec, v);
}

/* Civil date of a day count since 1970-01-01 (the inverse of
 * nd_days_from_civil below, Howard Hinnant's algorithm written out). */
static void nd_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

nd_err_t nd_buf_append_iso_time(nd_buf_t *b, int64_t ms)
{
    /* Years 0000..9999: ms in [-62167219200000, 253402300800000). */
    if (ms < -62167219200000LL || ms >= 253402300800000LL) {
        char t[64];
        size_t n = nd_time_format_iso(ms, t, sizeof(t));
        return nd_buf_append(b, t, n);
    }
    int64_t days = ms >= 0 ? ms / 86400000 : (ms - 86399999) / 86400000;
    unsigned msod = (unsigned)(ms - days * 86400000);
    int64_t y;
    unsigned mo, d;
    nd_civil_from_days(days, &y, &mo, &d);
    char t[24];
    nd_fmt_2(t, (unsigned)y / 100);
    nd_fmt_2(t + 2, (unsigned)y % 100);
    t[4] = '-';
    nd_fmt_2(t + 5, mo);
    t[7] = '-';
    nd_fmt_2(t + 8, d);
    t[10] = 'T';
    unsigned sod = msod / 1000, msec = msod % 1000;
    nd_fmt_2(t + 11, sod / 3600);
    t[13] = ':';
    nd_fmt_2(t + 14, sod / 60 % 60);
    t[16] = ':';
    nd_fmt_2(t + 17, sod % 60);
    t[19] = '.';
    t[20] = (char)('0' + msec / 100);
    nd_fmt_2(t + 21, msec % 100);
    t[23] = 'Z';
    return nd_buf_append(b, t, 24);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * well-known civil-days algorithm, written out here). */
static int64_t nd_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

size_t nd_time_format_iso(int64_t ms, char *out, size_t out_size)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int msec = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
    return n < 0 ? 0 : (size_t)n;
}

/* Read exactly n digits at *p, advancing it. @return -1 if not digits. */
static int nd_digits(const char **p, const char *end, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

int nd_time_parse_iso(const char *s, size_t len, int64_t *ms_out)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Fast path for the common shapes "YYYY-MM-DDTHH:MM:SSZ" (20 bytes) and
     * "YYYY-MM-DDTHH:MM:SS+HH:MM" / "-HH:MM" (25), with the same result as
     * the general parser below, which takes every other input and every
     * field out of range. The shape is checked 8 bytes a word (bytes 0-7,
     * 8-15, 11-18 and, for 25, 17-24): dm[] marks a word's digit bytes,
     * sm[] its separator bytes and sv[] their values. */
    if (len == 20 || len == 25) {
        static const uint64_t dm[4] = {0x00FFFF00FFFFFFFFull, 0xFFFF00FFFF00FFFFull,
                                       0xFFFF00FFFF00FFFFull, 0xFFFF00FFFF00FFFFull};
        static const uint64_t sm[4] = {0xFF0000FF00000000ull, 0x0000FF0000FF0000ull,
                                       0x0000FF0000FF0000ull, 0x0000FF0000000000ull};
        static const uint64_t sv[4] = {0x2D00002D00000000ull, 0x00003A0000540000ull,
                                       0x00003A00003A0000ull, 0x00003A0000000000ull};
        const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, n0 = 0x3030303030303030ull,
                       n6 = 0x0606060606060606ull;
        uint64_t w[4], bad;
        memcpy(&w[0], s, 8);
        memcpy(&w[1], s + 8, 8);
        memcpy(&w[2], s + 11, 8);
        if (len == 20) {
            bad = s[19] != 'Z';
            w[3] = sv[3] | n0; /* a word that passes */
        } else {
            bad = s[19] != '+' && s[19] != '-';
            memcpy(&w[3], s + 17, 8);
        }
        for (int i = 0; i < 4; i++) {
            /* A digit byte is 0x30..0x39: high nibble 3, before and after +6. */
            bad |= ((w[i] & sm[i]) ^ sv[i]) | ((w[i] & dm[i] & hi) ^ (n0 & dm[i])) |
                   (((w[i] + (n6 & dm[i])) & dm[i] & hi) ^ (n0 & dm[i]));
        }
        if (!bad) {
#define ND_D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[(i) + 1] - '0'))
            unsigned mo = ND_D2(5), d = ND_D2(8), hh = ND_D2(11), mi = ND_D2(14), ss = ND_D2(17);
            unsigned oh = 0, om = 0;
            if (len == 25) {
                oh = ND_D2(20);
                om = ND_D2(23);
            }
            if (mo - 1 < 12u && d - 1 < 31u && hh < 24u && mi < 60u && ss < 61u && oh < 24u &&
                om < 60u) {
                int off_min = (int)(oh * 60 + om);
                if (s[19] == '-')
                    off_min = -off_min;
                int64_t days = nd_days_from_civil(ND_D2(0) * 100 + ND_D2(2), mo, d);
                int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - (int64_t)off_min * 60;
                *ms_out = secs * 1000;
                return 0;
            }
#undef ND_D2
        }
    }
#endif
    const char *p = s, *end = s + len;
    int y = nd_digits(&p, end, 4);
    if (y < 0 || p >= end || *p++ != '-')
        return -1;
    int mo = nd_digits(&p, end, 2);
    if (mo < 1 || mo > 12 || p >= end || *p++ != '-')
        return -1;
    int d = nd_digits(&p, end, 2);
    if (d < 1 || d > 31)
        return -1;
    int hh = 0, mi = 0, ss = 0, frac_ms = 0, off_min = 0;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        hh = nd_digits(&p, end, 2);
        if (hh < 0 || hh > 23 || p >= end || *p++ != ':')
            return -1;
        mi = nd_digits(&p, end, 2);
        if (mi < 0 || mi > 59)
            return -1;
        if (p < end && *p == ':') {
            p++;
            ss = nd_digits(&p, end, 2);
            if (ss < 0 || ss > 60)
                return -1;
        }
        if (p < end && (*p == '.' || *p == ',')) {
            p++;
            int nd = 0;
            if (p >= end || *p < '0' || *p > '9')
                return -1;
            while (p < end && *p >= '0' && *p <= '9') {
                if (nd < 3)
                    frac_ms = frac_ms * 10 + (*p - '0');
                nd++;
                p++;
            }
            for (; nd < 3; nd++)
                frac_ms *= 10;
        }
        if (p < end && (*p == 'Z' || *p == 'z')) {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p++ == '-' ? -1 : 1;
            int oh = nd_digits(&p, end, 2);
            if (oh < 0 || oh > 23)
                return -1;
            if (p < end && *p == ':')
                p++;
            int om = nd_digits(&p, end, 2);
            if (om < 0 || om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (p != end)
        return -1;
    int64_t days = nd_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - (int64_t)off_min * 60;
    *ms_out = secs * 1000 + frac_ms;
    return 0;
}
