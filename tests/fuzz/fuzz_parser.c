/*
 * fuzz_parser.c - libFuzzer harness for nd_parser_parse(): any bytes in,
 * an article or a documented error out, never a crash, leak or read past
 * the input. Checks the article invariants on success. Differential: each
 * input is parsed with the parser's own JSON walker on (the default) and off
 * (yajl alone, the reference), and the two results must be identical: the
 * status, the message and every field of the article.
 */
#include "normalize_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a[0..an) and b[0..bn) hold the same bytes. */
static int same(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_parser_conf_t conf;
    nd_parser_conf_init(&conf);
    conf.max_depth = 16;
    conf.max_doc_bytes = 64 * 1024;
    char errstr[256], ref_errstr[256];
    nd_parser_t *p = nd_parser_new(&conf, errstr, sizeof(errstr));
    nd_parser_t *ref = nd_parser_new(&conf, errstr, sizeof(errstr));
    if (!p || !ref)
        abort();
    nd_parser_set_fast_json(ref, 0);
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    nd_article_t a, r;
    nd_err_t err = nd_parser_parse(p, buf, size, &a, errstr, sizeof(errstr));
    nd_err_t ref_err = nd_parser_parse(ref, buf, size, &r, ref_errstr, sizeof(ref_errstr));
    if (err == ND_ERR_NO_ERROR) {
        if (a.uri_len == 0 || a.text_len == 0 || a.text[0] == ' ' ||
            a.text[a.text_len - 1] == ' ' || strstr(a.text, "  ") != NULL)
            abort();
        /* the document handed on lies inside the input and starts at its
         * object (a byte order mark and blanks before it are skipped) */
        if (a.ninjs_major < 1 || a.ninjs_major > 3 || a.doc < buf || a.doc_len == 0 ||
            a.doc_len > size || (size_t)(a.doc - buf) > size - a.doc_len || a.doc[0] != '{')
            abort();
    } else if (err >= ND_ERR__END || errstr[0] == '\0') {
        abort();
    }
    if (err != ref_err || strcmp(errstr, ref_errstr) != 0)
        abort();
    if (err == ND_ERR_NO_ERROR &&
        (!same(a.uri, a.uri_len, r.uri, r.uri_len) ||
         !same(a.headline, a.headline_len, r.headline, r.headline_len) ||
         !same(a.source, a.source_len, r.source, r.source_len) ||
         !same(a.language, a.language_len, r.language, r.language_len) ||
         !same(a.text, a.text_len, r.text, r.text_len) || a.event_time_ms != r.event_time_ms ||
         a.body_len != r.body_len || a.ninjs_major != r.ninjs_major || a.doc != r.doc ||
         a.doc_len != r.doc_len))
        abort();
    free(buf);
    nd_parser_destroy(ref);
    nd_parser_destroy(p);
    return 0;
}
