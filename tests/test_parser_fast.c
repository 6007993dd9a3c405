/* label: unit */
/*
 * test_parser_fast.c - the parser's fast paths give what the plain reading
 * of the document gives: long bodies left raw (JSON escapes undecoded) until
 * chosen, several long strings in one document, the body's decoded length,
 * markup detection on a raw body, and HTML bodies decoded before the walk.
 * The parser's own JSON walker gives what yajl alone gives (fast_json_*):
 * the same article or the same error, message and offset, on hand-written
 * tricky documents and every truncation and insertion of them, and with
 * invalid UTF-8 at every offset (fast_json_bad_utf8). Key lookup takes a
 * known key in any case and nothing near it (key_spellings).
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

/* Parse doc[0..len) with the JSON walker on and off (yajl alone) and
 * require the same result; @return the status. what names the case. */
static nd_err_t same_both_ways(nd_parser_t *fast, nd_parser_t *ref, const char *doc, size_t len,
                               const char *what)
{
    char e1[256], e2[256];
    nd_article_t a, r;
    nd_err_t err = nd_parser_parse(fast, doc, len, &a, e1, sizeof(e1));
    nd_err_t ref_err = nd_parser_parse(ref, doc, len, &r, e2, sizeof(e2));
    ND_EXPECT(err == ref_err && strcmp(e1, e2) == 0, "%s: \"%s\" vs \"%s\" for %.*s", what, e1, e2,
              (int)len, doc);
    if (err || ref_err)
        return err;
#define SAME(f) (a.f##_len == r.f##_len && (a.f##_len == 0 || memcmp(a.f, r.f, a.f##_len) == 0))
    ND_EXPECT(SAME(uri) && SAME(headline) && SAME(source) && SAME(language) && SAME(text) &&
                  a.event_time_ms == r.event_time_ms && a.body_len == r.body_len &&
                  a.ninjs_major == r.ninjs_major && a.doc == r.doc && a.doc_len == r.doc_len,
              "%s: articles differ for %.*s", what, (int)len, doc);
#undef SAME
    return err;
}

/* Two parsers with small limits: the walker on, and yajl alone. */
static void two_parsers(nd_parser_t **fast, nd_parser_t **ref)
{
    nd_parser_conf_t c;
    char errstr[256];
    nd_parser_conf_init(&c);
    c.max_depth = 8;
    *fast = nd_parser_new(&c, errstr, sizeof(errstr));
    *ref = nd_parser_new(&c, errstr, sizeof(errstr));
    nd_parser_set_fast_json(*ref, 0);
}

/* Hand-written documents: each parsed whole, and with every one of its
 * prefixes (truncated at every byte offset). */
static const char *const fast_docs[] = {
    /* escapes in keys and values, the body long enough to be elided */
    "{\"uri\":\"u\\/1\",\"head\\u006cine\":\"x\",\"headline\":\"A \\\"q\\\" \\\\ \\/ "
    "\\b\\f\\n\\r\\t"
    "z\",\"body_text\":\"Some words \\\"here\\\" and there, quite a few of them, enough to make "
    "a body that the scan hands over as one long string; more words\\nand more words\\tto "
    "follow.\"}",
    /* nested arrays of objects, 2.x shape, unknown keys with deep values */
    "{ \"uri\" : \"urn:x\" , \"headlines\" : [ { \"value\" : \"H1\" } , { \"value\" : \"H2\" } ] ,"
    " \"x\" : [ [ { \"a\" : [ 1 , { \"b\" : [ ] } ] } ] , { } , [ ] ] ,"
    " \"bodies\" : [ null , { \"contenttype\" : \"text/html\" , \"value\" : \"<p>Hi "
    "<b>there</b></p>\" } , { \"value\" : \"plain words\" , \"contentType\" : \"text/plain\" } ] ,"
    " \"infoSources\" : [ { \"name\" : \"\" } , { \"name\" : \"Src\" } ] }",
    /* numbers in every form, true/false/null, at every depth */
    "{\"uri\":\"n\",\"a\":0,\"b\":-0,\"c\":12,\"d\":-3.25,\"e\":1e5,\"f\":1E+5,\"g\":-2.5e-3,"
    "\"h\":[0,1,-1,0.0,10e0,true,false,null],\"i\":{\"j\":123456789012345678901234567890},"
    "\"body_text\":\"one two\",\"language\":\"en\",\"versioncreated\":\"2024-01-02T03:04:05Z\"}",
    /* keys repeated: the last wins */
    "{\"uri\":\"first\",\"uri\":\"second\",\"body_text\":\"a\",\"body_text\":\"b c\","
    "\"bodies\":[{\"value\":\"x\"}],\"bodies\":[{\"value\":\"y\"}],\"uri\":\"third\","
    "\"$schema\":\"http://www.iptc.org/std/ninjs/ninjs-schema_2.0.json\"}",
    /* 3.x camelCase, standard object, whitespace of every kind */
    "\r\n\t {\n\"uri\"\t:\r\"u3\" ,\"versionCreated\":\"2024-05-06T07:08:09+02:00\",\n"
    "\"standard\":{\"name\":\"ninjs\",\"version\":\"3.0\",\"schema\":\"s\"},\"copyrightHolder\":"
    "\"Wire\",\"descriptions\":[{\"value\":\"desc words\",\"contenttype\":\"text/plain\"}]\t}\r\n",
    /* \\u escapes of every size, both cases, in keys and values, a pair */
    "{\"\\u0075ri\":\"\\u0041\\u00e9\\u00E9\\u20ac\\uD83D\\uDE00\\ud83d\\ude00\\uFFFF.\","
    "\"body_text\":\"caf\\u00e9 \\u201cquoted\\u201d na\\u00efve \\u4e2d\\u6587 and enough more "
    "words to make it a long string, one that the scan does not hand over since it has "
    "escapes.\"}",
    /* rejected for its content: wrong types, not an object */
    "{\"uri\":1,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"bodies\":{\"value\":\"x\"}}",
    "{\"uri\":\"u\",\"bodies\":[{\"value\":[\"x\"]}]}",
    "[{\"uri\":\"u\",\"body_text\":\"x\"}]",
    "{\"uri\":\"u\",\"a\":[[[[[[[[1]]]]]]]],\"body_text\":\"deep\"}",
    /* not well-formed, or not taken by the walker */
    "{\"uri\":\"u\",\"body_text\":\"x\",}",
    "{\"uri\":\"u\",\"a\":[1,],\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":01,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":1.,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":-,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":1e,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":tru,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"a\":nulls,\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"body_text\":\"x\"} {}",
    "{\"uri\":\"u\",\"body_text\":\"x\"}]",
    "{\"uri\":\"u\"\"body_text\":\"x\"}",
    "{\"uri\" \"u\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"body_text\":\"x\\q\"}",
    "{\"uri\":\"u\\u00e9\\ud83d\\ude00\\ud800\",\"body_text\":\"x\\u0041\"}",
    "{\"uri\":\"u\\ud800x\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\\ud800\\u0041\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\\udc00\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\\u0000\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\\u00G0\",\"body_text\":\"x\"}",
    "{\"uri\":\"u\\u00e\"}",
    "{\"uri\":\"u\",\v\"body_text\":\"x\"\f}",
    "{\"uri\":\"u\",\"body_text\":\"x\t\"}",
    "{\"uri\":\"u\",/*c*/\"body_text\":\"x\"}",
    "{\"uri\":\"u\",\"body_text\":\"x\"",
};

static void fast_json_docs(void)
{
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    int ok = 0;
    for (size_t k = 0; k < sizeof(fast_docs) / sizeof(fast_docs[0]); k++) {
        const char *d = fast_docs[k];
        size_t n = strlen(d);
        ok += same_both_ways(fast, ref, d, n, "whole") == ND_ERR_NO_ERROR;
        for (size_t cut = 0; cut < n; cut++)
            same_both_ways(fast, ref, d, cut, "truncated");
    }
    /* the first six; the \\u ones yajl takes whole (lone high surrogates, \\u0000)
     * and the one spaced with \\v \\f, all left to yajl */
    ND_EXPECT(ok == 11, "%d documents parsed", ok);

    /* Known answers, so that "the same" is also "right". */
    char errstr[256];
    nd_article_t a;
    const char *d = fast_docs[0];
    ND_ASSERT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.uri_len == 3 && memcmp(a.uri, "u/1", 3) == 0);
    ND_EXPECT(a.headline_len == 16 && memcmp(a.headline, "A \"q\" \\ / \b\f\n\r\tz", 16) == 0);
    d = fast_docs[1];
    ND_ASSERT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.text_len == 11 && memcmp(a.text, "plain words", 11) == 0);
    ND_EXPECT(a.headline_len == 2 && memcmp(a.headline, "H1", 2) == 0);
    ND_EXPECT(a.ninjs_major == 3); /* "infoSources" */
    ND_EXPECT(a.source_len == 3 && memcmp(a.source, "Src", 3) == 0);
    d = fast_docs[3];
    ND_ASSERT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.uri_len == 5 && memcmp(a.uri, "third", 5) == 0);
    ND_EXPECT(a.text_len == 3 && memcmp(a.text, "b c", 3) == 0 && a.ninjs_major == 2);
    d = fast_docs[4];
    ND_ASSERT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.ninjs_major == 3 && a.source_len == 4 && memcmp(a.source, "Wire", 4) == 0);
    d = fast_docs[5];
    ND_ASSERT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(
        a.uri_len == 20 &&
            memcmp(a.uri,
                   "A\xc3\xa9\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xef\xbf\xbf.",
                   20) == 0,
        "%.*s", (int)a.uri_len, a.uri);
    ND_EXPECT(a.text_len > 20 && memcmp(a.text, "cafe quoted naive ", 18) == 0, "%.*s",
              (int)a.text_len, a.text);
    d = fast_docs[6];
    ND_EXPECT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) ==
                      ND_ERR_WRONG_TYPE &&
                  strstr(errstr, "\"uri\" is a number") != NULL,
              "%s", errstr);
    d = fast_docs[10];
    ND_EXPECT(nd_parser_parse(fast, d, strlen(d), &a, errstr, sizeof(errstr)) == ND_ERR_TOO_DEEP,
              "%s", errstr);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* Every escape, whitespace byte and JSON token inserted at every byte
 * offset of a few documents, and every byte replaced by each of them. */
static void fast_json_insertions(void)
{
    static const char *const ins[] = {
        "\\\"",    "\\\\",    "\\/",     "\\b",     "\\f",     "\\n",
        "\\r",     "\\t",     "\\u0041", "\\u00e9", "\\u20AC", "\\ud83d\\ude00",
        "\\ud800", "\\udc00", "\\u0000", "\\u00g0", "\\x",     " ",
        "\t",      "\n",      "\r",      "\v",      "\f",      "\"",
        ",",       ":",       "[",       "]",       "{",       "}",
        "0",       "-1",      "1.5",     "e9",      "true",    "null",
        "\\",      "\x01",    "\xc3\xa9"};
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    nd_buf_t doc = {0};
    for (size_t k = 0; k < 6; k++) {
        const char *d = fast_docs[k];
        size_t n = strlen(d);
        for (size_t at = 0; at <= n; at++)
            for (size_t m = 0; m < sizeof(ins) / sizeof(ins[0]); m++) {
                size_t il = strlen(ins[m]);
                for (size_t repl = 0; repl < 2 && repl + at <= n; repl++) {
                    nd_buf_reset(&doc);
                    nd_buf_append(&doc, d, at);
                    nd_buf_append(&doc, ins[m], il);
                    nd_buf_append(&doc, d + at + repl, n - at - repl);
                    same_both_ways(fast, ref, doc.p, doc.len, repl ? "replaced" : "inserted");
                }
            }
    }
    nd_buf_free(&doc);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* Invalid UTF-8 at every byte offset of documents with non-ASCII in keys,
 * values and long bodies (plain, escaped, \\u): the walker, which validates
 * strings where it meets them, gives what yajl alone after up-front
 * validation gives, and that is the reject of nd_utf8_check()'s offset, even
 * where the walk would have given up earlier for another reason. */
static void fast_json_bad_utf8(void)
{
    static const char *const bad[] = {
        "\xff",        "\xc3", "\xc0\xaf",         "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe2\x80",    "\x80", "\xf0\x8f\xbf\xbf", "\xe0\x9f\xbf", "\xc3\xa9\xa9",
        "\xf0\x9f\x98"};
    nd_buf_t docs[4] = {{0}};
    put(&docs[0],
        "{\"uri\":\"u-caf\xc3\xa9\",\"h\xc3\xa9\xe2\x80\x9c\":\"x\xd0\x96y\",\"headline\":"
        "\"H\\u00e9 \xe2\x80\x9cq\xe2\x80\x9d \xf0\x9f\x98\x80\",\"bodies\":[{\"value\":\"");
    put(&docs[0], long_body());
    put(&docs[0], "\",\"contentType\":\"text/plain\"},{\"value\":\"\\u00e9t\xc3\xa9 ");
    put(&docs[0], long_body());
    put(&docs[0], "\"}],\"body_text\":\"\xc3\xa9\xc3\xa9\xc3\xa9 ");
    put(&docs[0], long_body());
    put(&docs[0], "\"}");
    /* Rejected for content (a wrong type), then a syntax error, before the
     * body: bad UTF-8 anywhere must still win, as with up-front validation. */
    put(&docs[1], "{\"uri\":\"u\",\"headline\":5,\"body_text\":\"");
    put(&docs[1], long_body());
    put(&docs[1], "\"}");
    put(&docs[2], "{\"uri\" \"u\",\"body_text\":\"\xc3\xa9 ");
    put(&docs[2], long_body());
    put(&docs[2], "\"}");
    put(&docs[3], "{\"uri\":\"\xe2\x82\xac\",\"body_text\":\"");
    for (int k = 0; k < 3; k++)
        put(&docs[3], "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe4\xb8\xad\xe6\x96\x87 "
                      "\xf0\x9f\x98\x80 caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9 \xe2\x80\x94 "
                      "\xce\xb1\xce\xb2\xce\xb3 0123456789abcdefghijklmnopqrstuvwxyz ");
    put(&docs[3], "\"}");
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    nd_buf_t doc = {0};
    int wrong = 0;
    for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++) {
        /* The documents themselves: the first and last are accepted. */
        nd_err_t e0 = same_both_ways(fast, ref, docs[k].p, docs[k].len, "whole");
        ND_EXPECT((e0 == ND_ERR_NO_ERROR) == (k == 0 || k == 3), "doc %zu: status %d", k, (int)e0);
        for (size_t at = 0; at <= docs[k].len; at++)
            for (size_t m = 0; m < sizeof(bad) / sizeof(bad[0]); m++)
                for (size_t repl = 0; repl < 2 && repl + at <= docs[k].len; repl++) {
                    nd_buf_reset(&doc);
                    nd_buf_append(&doc, docs[k].p, at);
                    put(&doc, bad[m]);
                    nd_buf_append(&doc, docs[k].p + at + repl, docs[k].len - at - repl);
                    char e1[256];
                    nd_article_t a;
                    size_t want = nd_utf8_check(doc.p, doc.len);
                    nd_err_t err = nd_parser_parse(fast, doc.p, doc.len, &a, e1, sizeof(e1));
                    char msg[64];
                    snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu ", want);
                    int ok = want == doc.len ? err != ND_ERR_BAD_UTF8
                                             : err == ND_ERR_BAD_UTF8 && strstr(e1, msg) == e1;
                    if (!ok && wrong++ < 5)
                        ND_EXPECT(0, "doc %zu, %zu at %zu: err %d [%s], want offset %zu", k,
                                  strlen(bad[m]), at, (int)err, e1, want);
                    same_both_ways(fast, ref, doc.p, doc.len, repl ? "replaced" : "inserted");
                }
    }
    ND_EXPECT(wrong == 0, "%d documents with the wrong reject", wrong);
    for (size_t k = 0; k < sizeof(docs) / sizeof(docs[0]); k++)
        nd_buf_free(&docs[k]);
    nd_buf_free(&doc);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* The fields of a key_spellings() document: the key under test is
 * fields[i][0], or the spelling given for it. */
static const char *const key_fields[][2] = {
    {"uri", "u1"},      {"body_text", "alpha beta"}, {"headline", "Head"},
    {"language", "de"}, {"copyrightholder", "Src"},  {"versioncreated", "2020-01-02T03:04:05Z"},
};
#define N_KEY_FIELDS (sizeof(key_fields) / sizeof(key_fields[0]))

/* The document of key_fields with field i's key spelt as key; *len set. */
static const char *key_doc(nd_buf_t *b, size_t i, const char *key, size_t *len)
{
    nd_buf_reset(b);
    put(b, "{");
    for (size_t f = 0; f < N_KEY_FIELDS; f++) {
        put(b, f ? ",\"" : "\"");
        put(b, f == i ? key : key_fields[f][0]);
        put(b, "\":\"");
        put(b, key_fields[f][1]);
        put(b, "\"");
    }
    put(b, "}");
    *len = b->len;
    return b->p;
}

/* s[0..n) equals the lowercase ASCII string lower ignoring ASCII case; *upper
 * set when s has an uppercase ASCII letter. */
static int same_nocase(const char *s, const char *lower, int *upper)
{
    size_t n = strlen(s);
    *upper = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            *upper = 1;
    if (n != strlen(lower))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
        if (c != lower[i])
            return 0;
    }
    return 1;
}

/* Key lookup: each known key of key_fields spelt with any one byte, or all
 * of them, in uppercase is that key (and a camelCase key with an uppercase
 * letter makes the document ninjs 3.x); every near miss (one byte changed to
 * its neighbours or its other case bit, a byte left out, added or doubled,
 * other known keys) is not. Walk on and off. */
static void key_spellings(void)
{
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    nd_buf_t d = {0}, base = {0};
    char key[64], e[256];
    size_t len, nmatch = 0, nmiss = 0;
    nd_article_t want, a;
    const char *doc = key_doc(&base, N_KEY_FIELDS, "", &len);
    ND_ASSERT(nd_parser_parse(ref, doc, len, &want, e, sizeof(e)) == ND_ERR_NO_ERROR, "%s", e);
    ND_EXPECT(want.ninjs_major == 1 && want.source_len == 3 && want.language_len == 2 &&
                  want.headline_len == 4 && want.event_time_ms != ND_TIME_NONE,
              "base document");
    static const char *const others[] = {
        "bodies",      "headlines",    "schema",      "descriptions", "standard",
        "infosources", "firstcreated", "body_html",   "body_xhtml",   "description_text",
        "$schema",     "value",        "contenttype", "headlinesx",   "uri ",
        "lang",        "LANG"}; /* lookup() puts "lang" in the slot of "language" */
    for (size_t i = 0; i < N_KEY_FIELDS; i++) {
        const char *name = key_fields[i][0];
        size_t n = strlen(name);
        for (size_t v = 0;; v++) {
            /* spelling v of name: 0 all upper; then per byte j: upper, +1, -1,
             * ^0x20, dropped, doubled; then 'x' before and after; then others */
            size_t j = v == 0 ? 0 : (v - 1) / 6, op = v == 0 ? 0 : (v - 1) % 6;
            size_t o = v - 1 - 6 * n;
            if (v == 0) {
                for (size_t k = 0; k <= n; k++)
                    key[k] = name[k] >= 'a' && name[k] <= 'z' ? (char)(name[k] - 32) : name[k];
            } else if (j < n) {
                memcpy(key, name, n + 1);
                char c = name[j];
                if (op == 0 && c >= 'a' && c <= 'z')
                    key[j] = (char)(c - 32);
                else if (op == 1)
                    key[j] = (char)(c + 1);
                else if (op == 2)
                    key[j] = (char)(c - 1);
                else if (op == 3)
                    key[j] = (char)(c ^ 0x20);
                else if (op == 4)
                    memmove(key + j, key + j + 1, n - j);
                else if (op == 5)
                    memmove(key + j + 1, name + j, n - j + 1);
            } else if (o < 2) {
                snprintf(key, sizeof(key), o ? "%sx" : "x%s", name);
            } else if (o - 2 < sizeof(others) / sizeof(others[0])) {
                snprintf(key, sizeof(key), "%s", others[o - 2]);
            } else {
                break;
            }
            if (strchr(key, '"') || strchr(key, '\\') || (unsigned char)key[0] < 0x20)
                continue;
            if ((i == 1 &&
                 (strncmp(key, "body_", 5) == 0 || strcmp(key, "description_text") == 0)) ||
                (i == 5 && strcmp(key, "firstcreated") == 0))
                continue; /* other keys the field is also read from */
            int upper, match = same_nocase(key, name, &upper);
            int bad = 0;
            for (const char *q = key; *q; q++)
                bad |= (unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7F;
            doc = key_doc(&d, i, key, &len);
            nd_err_t err = same_both_ways(fast, ref, doc, len, "key spelling");
            if (bad) {
                ND_EXPECT(err != ND_ERR_NO_ERROR, "control byte in key \"%s\" taken", key);
                continue;
            }
            if (err == ND_ERR_NO_ERROR)
                ND_EXPECT(nd_parser_parse(fast, doc, len, &a, e, sizeof(e)) == ND_ERR_NO_ERROR,
                          "%s", e);
#define SAME(f) (a.f##_len == want.f##_len && memcmp(a.f, want.f, a.f##_len) == 0)
            int same = err == ND_ERR_NO_ERROR && SAME(uri) && SAME(headline) && SAME(source) &&
                       SAME(language) && SAME(text) && a.event_time_ms == want.event_time_ms;
#undef SAME
            if (match) {
                nmatch++;
                int camel = upper && (i == 4 || i == 5);
                ND_EXPECT(same && a.ninjs_major == (camel ? 3 : 1),
                          "key \"%s\" not taken as \"%s\" (%d)", key, name, (int)err);
            } else {
                nmiss++;
                ND_EXPECT(!same, "key \"%s\" taken as \"%s\"", key, name);
            }
        }
    }
    ND_EXPECT(nmatch > 40 && nmiss > 300, "%zu matches, %zu misses", nmatch, nmiss);
    nd_buf_free(&d);
    nd_buf_free(&base);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* Keys that lookup() cannot read 16 bytes of (an escaped key, decoded
 * outside the input, or a key within 16 bytes of the document's end): the
 * same ids and camelCase detection as elsewhere. Walk on and off. */
static void key_lookup_narrow(void)
{
    static const struct {
        const char *doc;
        int major;
    } cases[] = {
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"copyright\\u0048older\":\"S\"}", 3},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"copyright\\u0068older\":\"S\"}", 1},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"Copyright\\u0068older\":\"S\"}", 3},
        {"{\"u\\u0072i\":\"u1\",\"body_text\":\"a b\"}", 1},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"infoSources\":[]}", 3},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"infoSources\":[] }", 3},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"infosources\":[]}", 2},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"bodies\":[{\"contentType\":\"\"}]}", 3},
        {"{\"uri\":\"u1\",\"body_text\":\"a b\",\"bodies\":[{\"contenttype\":\"\"}]}", 2},
        {"{\"body_text\":\"a b\",\"uri\":\"u1\"}", 1},
        {"{\"body_text\":\"a b\",\"URI\":\"u1\"}", 1},
    };
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].doc);
        char *doc = nd_malloc(len); /* exactly len bytes: nothing to read past the end */
        ND_ASSERT(doc);
        memcpy(doc, cases[i].doc, len);
        nd_err_t err = same_both_ways(fast, ref, doc, len, "narrow key");
        nd_article_t a;
        char e[256];
        ND_EXPECT(
            err == ND_ERR_NO_ERROR && nd_parser_parse(fast, doc, len, &a, e, sizeof(e)) == 0 &&
                a.ninjs_major == cases[i].major && a.uri_len == 2 && memcmp(a.uri, "u1", 2) == 0,
            "case %zu: %s", i, cases[i].doc);
        nd_free(doc);
    }
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/*
 * Every control byte, and the bytes next to the walker's stop classes
 * (0x1F/0x20, '"'/'\\' neighbours, 0x7F, 0x80), put at every offset of a
 * long body and of a short string: the walk must stop at exactly the bytes
 * yajl refuses in a string (walk on vs off), and a control byte in the
 * body must be a reject.
 */
static void fast_json_string_bytes(void)
{
    nd_buf_t base = {0}, doc = {0};
    put(&base, "{\"uri\":\"u-1\",\"headline\":\"Short headline here\",\"body_text\":\"");
    size_t b0 = base.len;
    put(&base, long_body());
    size_t b1 = base.len;
    put(&base, "\"}");
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    int wrong = 0;
    for (unsigned c = 0; c <= 0x80; c++) {
        if (c > 0x21 && c != 0x5B && c != 0x5D && c != 0x7F && c != 0x80)
            continue;
        for (size_t at = 8; at < b1; at++) {
            nd_buf_reset(&doc);
            nd_buf_append(&doc, base.p, at);
            char ch = (char)c;
            nd_buf_append(&doc, &ch, 1);
            nd_buf_append(&doc, base.p + at, base.len - at);
            nd_err_t e = same_both_ways(fast, ref, doc.p, doc.len, "byte");
            /* Inside the body, after a complete escape: a control byte is a reject. */
            if (c < 0x20 && at > b0 && base.p[at - 1] != '\\' && e == ND_ERR_NO_ERROR &&
                wrong++ < 5)
                ND_EXPECT(0, "byte 0x%02x at %zu accepted", c, at);
        }
    }
    ND_EXPECT(wrong == 0, "%d control bytes accepted", wrong);
    nd_buf_free(&base);
    nd_buf_free(&doc);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* Escapes in long strings, which the AVX2 scan steps over 64 bytes at a time
 * after a first one: each kind of escape (and non-escapes, runs of them,
 * non-ASCII next to them) at every offset from the first, and the closing
 * quote at every offset, as the body and as the headline (decoded there).
 * The walk must give yajl's article, decoded lengths included, or its error. */
static void fast_json_escape_blocks(void)
{
    static const char *const esc[] = {
        "\\n",        "\\\"",    "\\\\",   "\\/",         "\\b",
        "\\f",        "\\r",     "\\t",    "\\u00e9",     "\\ud83d\\ude00",
        "\\x",        "\\\\\\n", "\\n\\t", "\\n\xc3\xa9", "\xc3\xa9\\\"",
        "\\\xc3\xa9", "\\u0000", "\\\x01", "\\\"\"",
    };
    static const char *const field[] = {"body_text", "headline"};
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    nd_buf_t doc = {0};
    char what[64];
    size_t ok = 0;
    for (size_t f = 0; f < 2; f++) {
        for (size_t e = 0; e < sizeof(esc) / sizeof(esc[0]); e++) {
            for (size_t at = 0; at < 140; at++) {
                nd_buf_reset(&doc);
                put(&doc, "{\"uri\":\"u\",\"");
                put(&doc, field[f]);
                put(&doc, "\":\"ab\\ncd");
                for (size_t k = 0; k < 300; k++) {
                    if (k == at)
                        put(&doc, esc[e]);
                    nd_buf_putc(&doc, (char)('a' + k % 26));
                }
                put(&doc, f ? "\",\"body_text\":\"t\"}" : "\"}");
                snprintf(what, sizeof(what), "%s, escape %zu at %zu", field[f], e, at);
                ok += same_both_ways(fast, ref, doc.p, doc.len, what) == ND_ERR_NO_ERROR;
            }
        }
        /* The closing quote at every offset, escapes every 7 bytes. */
        for (size_t n = 120; n < 270; n++) {
            nd_buf_reset(&doc);
            put(&doc, "{\"uri\":\"u\",\"");
            put(&doc, field[f]);
            put(&doc, "\":\"x\\\"");
            for (size_t k = 0; k < n; k++)
                put(&doc, k % 7 == 6 ? (k % 2 ? "\\n" : "\\\"") : "w");
            put(&doc, f ? "\",\"body_text\":\"t\"}" : "\",\"language\":\"en\"}");
            snprintf(what, sizeof(what), "%s, length %zu", field[f], n);
            ND_EXPECT(same_both_ways(fast, ref, doc.p, doc.len, what) == ND_ERR_NO_ERROR, "%s",
                      what);
        }
    }
    /* All but the 4 invalid ones (\\x, '\\' before a non-ASCII or a control
     * byte, an escaped quote then a quote) are taken. */
    ND_EXPECT(ok == 2 * 15 * 140, "%zu documents accepted", ok);
    nd_buf_free(&doc);
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

/* Field names in messages come from the keys as decoded (escaped keys are
 * copied, since their decoding buffer is reused by the next key), and a
 * field of one document is never seen by the next. */
static void names_and_reuse(void)
{
    static const struct {
        const char *doc, *msg;
    } bad[] = {
        {"{\"uri\":\"u\",\"bodi\\u0065s\":[{\"v\\u0061lue\":5}]}",
         "field \"bodies[0].value\" is a number, expected a string"},
        {"{\"uri\":\"u\",\"he\\u0061dline\":[1]}",
         "field \"headline\" is an array, expected a string"},
        {"{\"uri\":\"u\",\"h\\u0065adlines\":[{\"\\u0076alue\":\"x\"},7]}",
         "field \"headlines[1]\" is a number, expected an object"},
        {"{\"uri\":\"u\",\"infoSources\":[{\"name\":\"a\"}],\"infoSources\":{}}",
         "field \"infoSources\" is an object, expected an array"},
    };
    nd_parser_t *fast, *ref;
    two_parsers(&fast, &ref);
    ND_ASSERT(fast && ref);
    char errstr[256];
    nd_article_t a;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        nd_parser_t *ps[2] = {fast, ref};
        for (int w = 0; w < 2; w++) {
            nd_err_t e =
                nd_parser_parse(ps[w], bad[k].doc, strlen(bad[k].doc), &a, errstr, sizeof(errstr));
            ND_EXPECT(e == ND_ERR_WRONG_TYPE && strcmp(errstr, bad[k].msg) == 0,
                      "doc %zu walk %d: %d %s", k, !w, (int)e, errstr);
        }
    }
    /* Every field set in one document, then none of them in the next. */
    const char *full =
        "{\"uri\":\"a\",\"headline\":\"H\",\"language\":\"en\",\"copyrightHolder\":\"W\","
        "\"versioncreated\":\"2024-01-02T03:04:05Z\",\"firstcreated\":\"2024-01-01T00:00:00Z\","
        "\"body_text\":\"one\",\"body_html\":\"<p>two</p>\",\"body_xhtml\":\"<p>three</p>\","
        "\"bodies\":[{\"value\":\"four\"}],\"infoSources\":[{\"name\":\"I\"}],"
        "\"$schema\":\"http://www.iptc.org/std/ninjs/ninjs-schema_2.0.json\"}";
    static const char *const next[] = {
        "{\"uri\":\"b\",\"description_text\":\"five\"}",
        "{\"uri\":\"b\",\"description_html\":\"<p>five</p>\"}",
        "{\"uri\":\"b\",\"descriptions\":[{\"value\":\"five\"}]}",
    };
    for (int w = 0; w < 2; w++) {
        nd_parser_t *pp = w ? ref : fast;
        for (size_t k = 0; k < sizeof(next) / sizeof(next[0]); k++) {
            ND_ASSERT(nd_parser_parse(pp, full, strlen(full), &a, errstr, sizeof(errstr)) == 0,
                      "%s", errstr);
            ND_EXPECT(a.text_len == 3 && memcmp(a.text, "one", 3) == 0 && a.source_len == 1);
            ND_ASSERT(nd_parser_parse(pp, next[k], strlen(next[k]), &a, errstr, sizeof(errstr)) ==
                          0,
                      "%s", errstr);
            ND_EXPECT(a.uri_len == 1 && a.uri[0] == 'b');
            ND_EXPECT(a.text_len == 4 && memcmp(a.text, "five", 4) == 0, "doc %zu: %.*s", k,
                      (int)a.text_len, a.text);
            ND_EXPECT(a.headline_len == 0 && a.language_len == 0 && a.source_len == 0,
                      "doc %zu: %zu %zu %zu", k, a.headline_len, a.language_len, a.source_len);
            ND_EXPECT(a.event_time_ms == ND_TIME_NONE && a.ninjs_major == (k == 2 ? 2 : 1),
                      "doc %zu: %d", k, a.ninjs_major);
        }
    }
    nd_parser_destroy(fast);
    nd_parser_destroy(ref);
}

int main(void)
{
    ND_TEST(raw_text_bodies);
    ND_TEST(raw_html_bodies);
    ND_TEST(raw_body_nomem);
    ND_TEST(utf8_anywhere);
    ND_TEST(fast_json_docs);
    ND_TEST(fast_json_insertions);
    ND_TEST(fast_json_bad_utf8);
    ND_TEST(key_spellings);
    ND_TEST(key_lookup_narrow);
    ND_TEST(fast_json_string_bytes);
    ND_TEST(names_and_reuse);
    ND_TEST(fast_json_escape_blocks);
    return nd_test_done();
}
