/* label: unit */
/*
 * test_parser_fast.c - the parser's fast paths give what the plain reading
 * of the document gives: long bodies left raw (JSON escapes undecoded) until
 * chosen, several long strings in one document, the body's decoded length,
 * markup detection on a raw body, and HTML bodies decoded before the walk.
 */
#include "normalize_int.h"
#include "nd_test.h"

static void put(nd_buf_t *b, const char *s)
{
    nd_buf_append(b, s, strlen(s));
}

/* Decode the one-character escapes of s (the test's own reading). */
static void unescape(const char *s, nd_buf_t *out)
{
    nd_buf_reset(out);
    for (; *s; s++) {
        char c = *s;
        if (c == '\\') {
            s++;
            c = *s == 'n'   ? '\n'
                : *s == 't' ? '\t'
                : *s == 'r' ? '\r'
                : *s == 'b' ? '\b'
                : *s == 'f' ? '\f'
                            : *s;
        }
        nd_buf_putc(out, c);
    }
}

/* A body of about 600 bytes with every one-character escape, an escaped
 * backslash before a letter, and some non-ASCII. */
static const char *long_body(void)
{
    return "First line\\nSecond \\\"quoted\\\" line\\twith tab\\\\nnot a newline, "
           "caf\xc3\xa9 and \xe2\x80\x9c"
           "curly\xe2\x80\x9d quotes\\r\\n\\/slash\\/ \\b\\f end of the first part. "
           "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
           "incididunt ut labore et dolore magna aliqua.\\n\\nUt enim ad minim veniam, quis "
           "nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. "
           "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
           "fugiat nulla pariatur.\\n\\nExcepteur sint occaecat cupidatat non proident, sunt "
           "in culpa qui officia deserunt mollit anim id est laborum. \\\\\\\\ back\\\\slash";
}

static int text_is(const nd_article_t *a, const nd_buf_t *want)
{
    return a->text_len == want->len && memcmp(a->text, want->p, want->len) == 0;
}

static void raw_text_bodies(void)
{
    char errstr[256];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    ND_ASSERT(p != NULL, "%s", errstr);
    nd_buf_t doc = {0}, dec = {0}, want = {0};
    nd_article_t a;
    unescape(long_body(), &dec);
    ND_ASSERT(nd_normalize(dec.p, dec.len, 0, &want) == 0);
    ND_EXPECT(strstr(want.p, "with tab nnot a newline") != NULL, "[%s]", want.p);

    /* 1.x body_text, 1.x description_text, 2.x bodies[] and descriptions[] */
    const char *shapes[][2] = {
        {"{\"uri\":\"u\",\"body_text\":\"", "\"}"},
        {"{\"uri\":\"u\",\"description_text\":\"", "\"}"},
        {"{\"uri\":\"u\",\"bodies\":[{\"contentType\":\"text/plain\",\"value\":\"", "\"}]}"},
        {"{\"uri\":\"u\",\"bodies\":[{\"value\":\"", "\",\"contentType\":\"text/plain\"}]}"},
        {"{\"uri\":\"u\",\"descriptions\":[{\"value\":\"", "\"}]}"},
    };
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
        nd_buf_reset(&doc);
        put(&doc, shapes[k][0]);
        put(&doc, long_body());
        put(&doc, shapes[k][1]);
        nd_err_t err = nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr));
        ND_EXPECT(err == 0, "shape %zu: %s", k, errstr);
        if (err)
            continue;
        ND_EXPECT(text_is(&a, &want), "shape %zu: [%.*s]", k, (int)a.text_len, a.text);
        ND_EXPECT(a.body_len == dec.len, "shape %zu: body_len %zu, want %zu", k, a.body_len,
                  dec.len);
    }

    /* several long strings: a long escaped headline is decoded, the body is
     * the text one, a long description and a long unknown field are skipped */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u\",\"headline\":\"");
    put(&doc, long_body());
    put(&doc, "\",\"x\":\"");
    put(&doc, long_body());
    put(&doc, "\",\"description_text\":\"Other ");
    put(&doc, long_body());
    put(&doc, "\",\"body_text\":\"");
    put(&doc, long_body());
    put(&doc, "\"}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.headline_len == dec.len && memcmp(a.headline, dec.p, dec.len) == 0,
              "headline [%.*s]", (int)a.headline_len, a.headline);
    ND_EXPECT(text_is(&a, &want), "[%.*s]", (int)a.text_len, a.text);

    /* bodies[]: the text/plain entry wins over an earlier text/html one */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u\",\"bodies\":[{\"contentType\":\"text/html\",\"value\":\"<p>Html ");
    put(&doc, long_body());
    put(&doc, "</p>\"},{\"contentType\":\"text/plain\",\"value\":\"");
    put(&doc, long_body());
    put(&doc, "\"}]}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(text_is(&a, &want), "[%.*s]", (int)a.text_len, a.text);

    nd_buf_free(&doc);
    nd_buf_free(&dec);
    nd_buf_free(&want);
    nd_parser_destroy(p);
}

/* Raw HTML bodies are decoded before the walk; an entry without a content
 * type is markup when it starts with '<' after blanks, escaped or not. */
static void raw_html_bodies(void)
{
    char errstr[256];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    ND_ASSERT(p != NULL, "%s", errstr);
    nd_buf_t doc = {0}, pad = {0}, dec = {0}, want = {0};
    for (int i = 0; i < 20; i++)
        put(&pad, "Lorem ipsum ");
    nd_article_t a;

    /* a quoted attribute holding '>' and an escaped end tag "<\/p>" */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u\",\"body_html\":\"<p title=\\\"a > gone\\\">Kept ");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "<\\/p>\\n<p>next<\\/p>\"}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.text_len > 10 && memcmp(a.text, "kept lorem", 10) == 0 &&
                  memcmp(a.text + a.text_len - 10, "ipsum next", 10) == 0,
              "[%.*s]", (int)a.text_len, a.text);

    static const struct {
        const char *lead;
        int html;
    } leads[] = {
        {"<p>", 1},     {"\\n\\t <p>", 1}, {"  \\n<div>", 1}, {"\\r<p>", 0},
        {"\\\\<p>", 0}, {"x <p>", 0},      {"\\\"<p>", 0},    {"\\/<p>", 0},
    };
    for (size_t k = 0; k < sizeof(leads) / sizeof(leads[0]); k++) {
        nd_buf_reset(&doc);
        put(&doc, "{\"uri\":\"u\",\"bodies\":[{\"value\":\"");
        put(&doc, leads[k].lead);
        put(&doc, "Word&amp;more ");
        nd_buf_append(&doc, pad.p, pad.len);
        put(&doc, "\"}]}");
        ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s",
                  errstr);
        /* as markup, "&amp;" is '&' (a separator); as text it is "amp" */
        nd_buf_reset(&dec);
        put(&dec, leads[k].lead);
        put(&dec, "Word&amp;more ");
        nd_buf_append(&dec, pad.p, pad.len);
        nd_buf_putc(&dec, '\0');
        nd_buf_t tmp = {0};
        unescape(dec.p, &tmp);
        ND_EXPECT(nd_normalize(tmp.p, tmp.len, leads[k].html, &want) == 0);
        nd_buf_free(&tmp);
        ND_EXPECT(text_is(&a, &want), "lead %zu: [%.*s] want [%s]", k, (int)a.text_len, a.text,
                  want.p);
        ND_EXPECT((strstr(want.p, "amp") == NULL) == leads[k].html, "lead %zu: [%s]", k, want.p);
    }
    nd_buf_free(&doc);
    nd_buf_free(&pad);
    nd_buf_free(&dec);
    nd_buf_free(&want);
    nd_parser_destroy(p);
}

/* Out of memory while decoding a raw HTML body is reported, not a crash. */
static void raw_body_nomem(void)
{
    char errstr[256];
    nd_buf_t doc = {0};
    put(&doc, "{\"uri\":\"u\",\"body_html\":\"<p>");
    for (int i = 0; i < 30; i++)
        put(&doc, "Escaped \\\"words\\\" ");
    put(&doc, "</p>\"}");
    int saw_nomem = 0, saw_ok = 0;
    for (long n = 0; n < 40 && !saw_ok; n++) {
        nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
        ND_ASSERT(p != NULL, "%s", errstr);
        nd_article_t a;
        nd_alloc_fail_after(n);
        nd_err_t err = nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr));
        nd_alloc_fail_after(-1);
        ND_EXPECT(err == 0 || err == ND_ERR_NOMEM, "n %ld: %s", n, errstr);
        saw_nomem |= err == ND_ERR_NOMEM;
        saw_ok |= err == 0;
        if (err == 0)
            ND_EXPECT(a.text_len > 7 && memcmp(a.text, "escaped", 7) == 0);
        nd_parser_destroy(p);
    }
    ND_EXPECT(saw_nomem && saw_ok);
    nd_buf_free(&doc);
}

/*
 * UTF-8 is validated in the pass that finds the long strings: wherever a
 * bad sequence lands (between tokens, in a key, in a long or short string,
 * after an escape, after the last long string the scan keeps), the parser
 * reports the offset nd_utf8_check() gives for the whole document.
 */
static void utf8_anywhere(void)
{
    char errstr[256];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    ND_ASSERT(p != NULL, "%s", errstr);
    nd_buf_t base = {0}, doc = {0};
    put(&base, "{\"uri\":\"caf\xc3\xa9\",\"headline\":\"H\\u00e9 \xe2\x80\x9c\",\"bodies\":[");
    for (int k = 0; k < 10; k++) { /* more long strings than the scan keeps */
        put(&base, k ? ",{\"value\":\"" : "{\"value\":\"");
        put(&base, long_body());
        put(&base, "\",\"contentType\":\"text/plain\"}");
    }
    put(&base, "],\"x\":[1,2.5e3,true,null,\"\\/\\u0041\xd0\x96\"]}");
    static const char *const bad[] = {
        "\xff",     "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe2\x80", "\x80", "\xc3\xa9", "\xe2\x80\x99",
    };
    const size_t nb = sizeof(bad) / sizeof(bad[0]);
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    int failures = 0;
    for (int t = 0; t < 4000 && failures < 5; t++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        size_t at = (size_t)(rng % (base.len + 1));
        const char *ins = bad[(rng >> 32) % nb];
        nd_buf_reset(&doc);
        nd_buf_append(&doc, base.p, at);
        put(&doc, ins);
        nd_buf_append(&doc, base.p + at, base.len - at);
        size_t want = nd_utf8_check(doc.p, doc.len);
        nd_article_t a;
        nd_err_t err = nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr));
        char msg[64];
        snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu ", want);
        int ok = want == doc.len ? err != ND_ERR_BAD_UTF8
                                 : err == ND_ERR_BAD_UTF8 && strstr(errstr, msg) == errstr;
        if (!ok) {
            failures++;
            ND_EXPECT(0, "insert %zu at %zu: err %d [%s], want offset %zu", strlen(ins), at,
                      (int)err, errstr, want);
        }
    }
    nd_buf_free(&base);
    nd_buf_free(&doc);
    nd_parser_destroy(p);
}

int main(void)
{
    ND_TEST(raw_text_bodies);
    ND_TEST(raw_html_bodies);
    ND_TEST(raw_body_nomem);
    ND_TEST(utf8_anywhere);
    return nd_test_done();
}
