/*
 * fuzz_normalize.c - libFuzzer harness for nd_normalize(). The first byte
 * picks text or HTML; the rest is the input. Besides not crashing, checks
 * the output shape (single spaces, no leading or trailing space, valid
 * UTF-8) and that the ASCII fast path agrees with the general path.
 */
#include "normalize_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    nd_buf_free(&fast);
    nd_buf_free(&general);
    free(in);
    return 0;
}
