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

#endif /* ND_NORMALIZE_INT_H */
