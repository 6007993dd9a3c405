/*
 * fuzz_parser.c - libFuzzer harness for nd_parser_parse(): any bytes in,
 * an article or a documented error out, never a crash, leak or read past
 * the input. Checks the article invariants on success.
 */
#include "nd_ingest.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nd_parser_conf_t conf;
    nd_parser_conf_init(&conf);
    conf.max_depth = 16;
    conf.max_doc_bytes = 64 * 1024;
    char errstr[256];
    nd_parser_t *p = nd_parser_new(&conf, errstr, sizeof(errstr));
    if (!p)
        abort();
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    nd_article_t a;
    nd_err_t err = nd_parser_parse(p, buf, size, &a, errstr, sizeof(errstr));
    if (err == ND_ERR_NO_ERROR) {
        if (a.uri_len == 0 || a.text_len == 0 || a.text[0] == ' ' ||
            a.text[a.text_len - 1] == ' ' || strstr(a.text, "  ") != NULL)
            abort();
        if (a.ninjs_major < 1 || a.ninjs_major > 3 || a.doc != buf || a.doc_len > size)
            abort();
    } else if (err >= ND_ERR__END || errstr[0] == '\0') {
        abort();
    }
    free(buf);
    nd_parser_destroy(p);
    return 0;
}
