/*
 * nd_common.h - what every newsdedup module shares: the error enum, the one
 * allocation seam, and a growable byte buffer.
 *
 * This header is the contract. What is not declared here is not API.
 *
 * Errors follow librdkafka's habit: one enum, a stable machine-readable name
 * per code (used as the reason code of reject records) and a human sentence.
 *
 *     nd_err_t err = nd_parser_parse(p, line, len, &art, errstr, sizeof(errstr));
 *     if (err != ND_ERR_NO_ERROR)
 *         fprintf(stderr, "%s: %s\n", nd_err_name(err), errstr);
 */
#ifndef ND_COMMON_H
#define ND_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ND_VERSION_STR "0.1.0"

/*
 * nd_err_t: every error a newsdedup function can return.
 * The numeric values and names are stable: they appear in reject records.
 */
typedef enum nd_err_e {
    ND_ERR_NO_ERROR = 0,
    /* Resources */
    ND_ERR_NOMEM,       /* an allocation failed */
    ND_ERR_INVALID_ARG, /* a caller passed an invalid argument or config value */
    ND_ERR_IO,          /* a read or write failed */
    /* Input articles (each is a reject reason) */
    ND_ERR_EMPTY,        /* the message or line is empty or blank */
    ND_ERR_BAD_JSON,     /* not well-formed JSON */
    ND_ERR_NOT_OBJECT,   /* JSON, but the top level is not an object */
    ND_ERR_WRONG_TYPE,   /* a known ninjs field has the wrong JSON type */
    ND_ERR_BAD_UTF8,     /* invalid UTF-8 in the document */
    ND_ERR_TOO_LARGE,    /* the document exceeds the configured size limit */
    ND_ERR_TOO_DEEP,     /* nesting exceeds the configured depth limit */
    ND_ERR_MISSING_URI,  /* no uri (or an empty one) */
    ND_ERR_MISSING_TEXT, /* no body text, or the text normalises to nothing */
    ND_ERR_BAD_TIME,     /* a time field is present but not ISO 8601 */
    /* Snapshots */
    ND_ERR_SNAPSHOT_FOREIGN, /* the file is not a newsdedup snapshot */
    ND_ERR_SNAPSHOT_VERSION, /* a snapshot of an unsupported format version */
    ND_ERR_SNAPSHOT_CORRUPT, /* checksum mismatch or truncated snapshot */
    ND_ERR_SNAPSHOT_CONFIG,  /* snapshot made with incompatible engine settings */
    /* Kafka */
    ND_ERR_KAFKA,       /* a Kafka client error; the errstr says which */
    ND_ERR_KAFKA_FATAL, /* a fatal Kafka error (fenced producer, ...) */
    ND_ERR__END         /* not an error: number of codes */
} nd_err_t;

/*
 * nd_err_name: the stable snake_case name of an error code, e.g. "bad_json".
 * @return a static string; "unknown" for a value outside the enum.
 */
const char *nd_err_name(nd_err_t err);

/*
 * nd_err_str: a human-readable description of an error code.
 * @return a static string; never NULL.
 */
const char *nd_err_str(nd_err_t err);

/*
 * Allocation seam. Every allocation in newsdedup goes through these; the
 * binaries link jemalloc, which provides malloc underneath. Same contracts as
 * the libc functions: nd_free(NULL) is a no-op; nd_realloc returns NULL and
 * leaves the block alone on failure.
 */
void *nd_malloc(size_t size);
void *nd_calloc(size_t n, size_t size);
void *nd_realloc(void *ptr, size_t size);
void nd_free(void *ptr);
/* nd_strndup: a NUL-terminated copy of the first len bytes of s, or NULL. */
char *nd_strndup(const char *s, size_t len);

/*
 * nd_alloc_fail_after: test seam (SQLite's habit). After this call, the
 * (n+1)-th allocation through nd_malloc/nd_calloc/nd_realloc/nd_strndup
 * fails, and every one after it too, until nd_alloc_fail_after(-1) turns
 * failure injection off. Process-wide and atomic: meant for tests only.
 */
void nd_alloc_fail_after(long n);

/*
 * nd_buf_t: a growable byte buffer. Zero-initialise it ({0}) or call
 * nd_buf_init; free it with nd_buf_free. Appends return ND_ERR_NOMEM on
 * allocation failure and leave the buffer's content as it was.
 * The content is always NUL-terminated when p != NULL.
 */
typedef struct nd_buf_s {
    char *p;
    size_t len;
    size_t cap;
} nd_buf_t;

void nd_buf_init(nd_buf_t *b);
void nd_buf_free(nd_buf_t *b);
/* nd_buf_reset: empty the buffer, keeping its memory. */
void nd_buf_reset(nd_buf_t *b);
/* nd_buf_reserve: make room for at least extra more bytes. */
nd_err_t nd_buf_reserve(nd_buf_t *b, size_t extra);
/* nd_buf_append: append data[0..len). Inline: with a constant len the copy
 * becomes a few moves, and only a full buffer costs a call. */
static inline nd_err_t nd_buf_append(nd_buf_t *b, const void *data, size_t len)
{
    if (len >= b->cap - b->len && nd_buf_reserve(b, len))
        return ND_ERR_NOMEM;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return ND_ERR_NO_ERROR;
}
nd_err_t nd_buf_putc(nd_buf_t *b, char c);
/* nd_buf_printf: append printf-formatted text. */
nd_err_t nd_buf_printf(nd_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * nd_buf_json_str: append s as a JSON string literal (with the quotes),
 * escaping '"', '\\' and control characters. s must be valid UTF-8.
 */
nd_err_t nd_buf_json_str(nd_buf_t *b, const char *s, size_t len);

/*
 * Formatting appends for hot encoders (the record sinks): each appends
 * exactly the bytes the printf call named in its comment would, without
 * going through vsnprintf. On failure (ND_ERR_NOMEM) the buffer is unchanged.
 */

/* nd_buf_append_u64: append v as printf("%" PRIu64, v) does. */
nd_err_t nd_buf_append_u64(nd_buf_t *b, uint64_t v);

/* nd_buf_append_i64: append v as printf("%" PRId64, v) does. */
nd_err_t nd_buf_append_i64(nd_buf_t *b, int64_t v);

/*
 * nd_buf_append_fixed: append v as printf("%.*f", prec, v) does: the exact
 * binary value rounded to prec decimals, an exact tie to the even last digit,
 * "-" kept for negative values and -0.0. Finite |v| < 1e9 with prec 0..9 take
 * an integer path; everything else (NaN, inf, larger values, other prec)
 * goes through snprintf, so the output is printf's for every input. Assumes
 * the default rounding mode (round to nearest), like printf under it.
 */
nd_err_t nd_buf_append_fixed(nd_buf_t *b, double v, int prec);

/*
 * nd_buf_append_iso_time: append the text nd_time_format_iso writes for ms
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ"), without gmtime_r and snprintf for years
 * 0000..9999 (other years go through nd_time_format_iso itself).
 */
nd_err_t nd_buf_append_iso_time(nd_buf_t *b, int64_t ms);

/*
 * nd_time_format_iso: write ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * into out (at least 25 bytes). @return the length written.
 */
size_t nd_time_format_iso(int64_t ms, char *out, size_t out_size);

/*
 * nd_time_parse_iso: parse an ISO 8601 / RFC 3339 timestamp
 * ("2024-01-17T09:30:00Z", "...+01:00", fractional seconds, or a bare date)
 * into ms since the epoch. @return 0 on success, -1 if s is not such a time.
 */
int nd_time_parse_iso(const char *s, size_t len, int64_t *ms_out);

/*
 * nd_utf8_seq: the length (2 to 4) of the strict UTF-8 sequence (no
 * overlongs, no surrogates, nothing above U+10FFFF) that starts at s[i]
 * (i < len, s[i] >= 0x80) and ends within s[0..len), or 0 when there is
 * none. The one UTF-8 check of every module (ingest validates with it, the
 * reject sink cleans raw inputs with it); inline, because the JSON walk calls
 * it once per non-ASCII character.
 */
static inline size_t nd_utf8_seq(const char *s, size_t len, size_t i)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[i];
    size_t left = len - i;
    if (c - 0xC2u <= 0xDFu - 0xC2u) /* 2 bytes: U+0080..U+07FF */
        return left >= 2 && (p[i + 1] & 0xC0) == 0x80 ? 2 : 0;
    if (c - 0xE1u <= 0xECu - 0xE1u || c - 0xEEu <= 1u) /* 3 bytes, no special case */
        return left >= 3 && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80 ? 3 : 0;
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (c == 0xE0) {
        n = 2;
        lo = 0xA0; /* overlong */
    } else if (c == 0xED) {
        n = 2;
        hi = 0x9F; /* surrogates */
    } else if (c - 0xF0u <= 0xF4u - 0xF0u) {
        n = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (left <= n)
        return 0;
    if (p[i + 1] < lo || p[i + 1] > hi)
        return 0;
    for (size_t k = 2; k <= n; k++)
        if ((p[i + k] & 0xC0) != 0x80)
            return 0;
    return n + 1;
}

#ifdef __cplusplus
}
#endif
#endif /* ND_COMMON_H */
