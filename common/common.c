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

nd_err_t nd_buf_append(nd_buf_t *b, const void *data, size_t len)
{
    if (nd_buf_reserve(b, len))
        return ND_ERR_NOMEM;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
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

nd_err_t nd_buf_json_str(nd_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX. */
    if (nd_buf_reserve(b, len * 6 + 2))
        return ND_ERR_NOMEM;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
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
