/*
 * fuzz_normalize.c - libFuzzer harness for nd_normalize(). The first byte
 * picks text or HTML; the rest is the input. Besides not crashing, checks
 * the output shape (single spaces, no leading or trailing space, valid
 * UTF-8), that the ASCII fast paths (AVX2 where the CPU has it, SSE2) agree
 * with the general path, and that the input written as JSON string text
 * (one-character escapes) normalises with ND_NORM_JSON_ESCAPES, on every
 * path, to the same output.
 */
#include "normalize_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* in[0..len) as JSON string text, escaping only what has a one-character
 * escape ('/' too when slash); other bytes stay as they are. */
static char *json_escape(const char *in, size_t len, int slash, size_t *out_len)
{
    char *o = malloc(2 * len + 1);
    if (!o)
        abort();
    static const char special[] = "\"\\/\b\f\n\r\t", letter[] = "\"\\/bfnrt";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *e = strchr(special, in[i]);
        if (in[i] != '\0' && e && (in[i] != '/' || slash)) {
            o[n++] = '\\';
            o[n++] = letter[e - special];
        } else {
            o[n++] = in[i];
        }
    }
    *out_len = n;
    return o;
}

/* flags on every path give e and out (same error, same bytes). */
static void expect_same(const char *in, size_t len, int html, unsigned flags, nd_err_t e,
                        const nd_buf_t *want)
{
    static const unsigned paths[] = {0, ND_NORM_NO_AVX2, ND_NORM_NO_ASCII_FAST};
    nd_buf_t got = {0};
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        nd_err_t e2 = nd_normalize_ex(in, len, html, flags | paths[k], &got);
        if (e2 != e)
            abort();
        if (e == ND_ERR_NO_ERROR && (got.len != want->len || memcmp(got.p, want->p, got.len) != 0))
            abort();
    }
    nd_buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int html = data[0] & 1;
    size_t len = size - 1;
    char *in = malloc(len ? len : 1);
    if (!in)
        abort();
    if (len)
        memcpy(in, data + 1, len);
    nd_buf_t fast = {0}, general = {0};
    nd_err_t e1 = nd_normalize(in, len, html, &fast);
    nd_err_t e2 = nd_normalize_ex(in, len, html, ND_NORM_NO_ASCII_FAST, &general);
    if (e1 != e2)
        abort();
    if (e1 == ND_ERR_NO_ERROR) {
        if (fast.len != general.len || memcmp(fast.p, general.p, fast.len) != 0)
            abort();
        if (fast.len && (fast.p[0] == ' ' || fast.p[fast.len - 1] == ' '))
            abort();
        if (strstr(fast.p, "  ") != NULL || strlen(fast.p) != fast.len)
            abort();
        if (nd_utf8_check(fast.p, fast.len) != fast.len)
            abort();
    } else if (e1 != ND_ERR_BAD_UTF8) {
        abort();
    }
    expect_same(in, len, html, 0, e1, &fast);
    size_t rl;
    char *raw = json_escape(in, len, data[0] & 2, &rl);
    expect_same(raw, rl, html, ND_NORM_JSON_ESCAPES, e1, &fast);
    free(raw);
    nd_buf_free(&fast);
    nd_buf_free(&general);
    free(in);
    return 0;
}
