/*
 * normalize_int.h - ingest internals shared by parser.c, tests, fuzzers and
 * benches. Not API: nothing outside ingest/ may rely on it except test and
 * bench programs.
 */
#ifndef ND_NORMALIZE_INT_H
#define ND_NORMALIZE_INT_H

#include "nd_ingest.h"

/* Process ASCII through the general (utf8proc) path too: the reference that
 * the ASCII fast path must match byte for byte. */
#define ND_NORM_NO_ASCII_FAST 0x1u
/* Keep the ASCII fast path on SSE2 even where the CPU has AVX2 (tests and
 * benches compare the two). */
#define ND_NORM_NO_AVX2 0x2u
/* The input is the text of a JSON string whose only escapes are the
 * one-character ones (\" \\ \/ \b \f \n \r \t; no \u): each escape is
 * read as the character it stands for, so the output is that of the decoded
 * string. Every such character is a separator in text, which is what lets
 * the normaliser skip decoding; in HTML markup it is read decoded ("<\/p>",
 * quotes as "\""). */
#define ND_NORM_JSON_ESCAPES 0x4u

/*
 * nd_normalize_ex: nd_normalize() with flags (ND_NORM_*). With flags 0 it is
 * exactly nd_normalize().
 */
nd_err_t nd_normalize_ex(const char *in, size_t len, int is_html, unsigned flags, nd_buf_t *out);

/*
 * nd_utf8_check: validate strict UTF-8 (no overlongs, no surrogates, nothing
 * above U+10FFFF). @return len when s is valid, else the byte offset of the
 * first invalid sequence.
 */
size_t nd_utf8_check(const char *s, size_t len);

/*
 * nd_parser_set_fast_json: on (the default) a document is first walked by
 * the parser's own JSON walker, and only when that gives up (anything but a
 * well-formed document it takes whole) is it parsed again by yajl, the
 * reference; off, yajl parses every document. The results are the same
 * either way: tests and fuzzers compare the two.
 */
void nd_parser_set_fast_json(nd_parser_t *p, int on);

#endif /* ND_NORMALIZE_INT_H */
