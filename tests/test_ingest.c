/* label: unit */
/*
 * test_ingest.c - the ninjs parser: every shared example, every kind of bad
 * input, body choice, version detection, and the allocation-failure path.
 */
#include "nd_ingest.h"
#include "nd_test.h"

#include <dirent.h>

static nd_parser_t *new_parser(void)
{
    char errstr[256];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    if (!p)
        fprintf(stderr, "nd_parser_new: %s\n", errstr);
    return p;
}

/* Parse a NUL-terminated document; the error text goes to errstr. */
static nd_err_t parse(nd_parser_t *p, const char *doc, nd_article_t *a, char *errstr,
                      size_t errstr_size)
{
    return nd_parser_parse(p, doc, strlen(doc), a, errstr, errstr_size);
}

static int str_is(const char *p, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(p, want, len) == 0;
}

/* What each shared example must give. */
static const struct {
    const char *file;
    int major;
    const char *uri;
    const char *source;
    const char *language;
    const char *text_prefix;
} examples[] = {
    {"1.4_businesswire-newsml-20130605006126.json", 1,
     "http://www.businesswire.com/news/home/20130605006126/zh", "", "zh", "美 國 商 業"},
    {"1.4_ninjsExComplex1.json", 1, "http://ninjs.example.com/newsitems/20130709cplx123", "", "en",
     "grosseto italy ap the trial of the captain"},
    {"1.4_ninjsExMediumText1.json", 1, "http://ninjs.example.com/newsitems/20130709med123", "",
     "en", "grosseto italy ap the trial"},
    {"1.4_ninjsExSimpleText1.json", 1, "http://ninjs.example.com/newsitems/20130709simp123", "", "",
     "grosseto italy ap the trial"},
    {"2.1_dpa_text.json", 2, "urn:newsml:dpa.com:20090101:190510-99-167362", "dpa", "de",
     "fur lucien favre war es der grosste skandal im fussball"},
    {"2.1_ntb_text.json", 2, "urn:8d19cf88-b3ab-4972-8fec-1207599f2872", "NTB", "nb-NO",
     "it giganten google har kjøpt en tomt pa nærmere 2 000 mal"},
    {"2.1_tt_text_image_2.json", 2, "http://tt.se/media/text/210526-militarovning-a0f2d045", "TT",
     "sv", "militarovning i jatteformat halls 2023 forsvar tt pandemin"},
    {"3.0_businesswire-newsml-20130605006126.json", 3,
     "http://www.businesswire.com/news/home/20130605006126/zh", "", "zh", "美 國 商 業"},
    {"3.0_dpa_text.json", 3, "urn:newsml:dpa.com:20090101:190510-99-167362", "dpa", "de",
     "fur lucien favre war es"},
    {"3.0_ninjsExSimpleText_3.json", 3, "http://ninjs.example.com/newsitems/20130709simp123", "",
     "", "grosseto italy ap the trial"},
    {"3.0_ntb_text.json", 3, "urn:8d19cf88-b3ab-4972-8fec-1207599f2872", "NTB", "nb-NO",
     "it giganten google"},
};

static void shared_examples(void)
{
    const char *shared = nd_test_shared_dir();
    if (!shared)
        ND_SKIP("ND_SHARED_DIR not present: the ninjs examples are not available");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/data/ninjs-examples", shared);
    nd_parser_t *p = new_parser();
    ND_ASSERT(p);
    size_t nfiles = 0;
    DIR *d = opendir(dir);
    ND_ASSERT(d, "cannot open %s", dir);
    struct dirent *e;
    /* Every .json file there parses, listed or not. */
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 5, ".json") != 0)
            continue;
        char path[2048], errstr[256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *doc = nd_test_read_file(path, &len);
        ND_EXPECT(doc, "read %s", path);
        if (!doc)
            continue;
        nd_article_t a;
        nd_err_t err = nd_parser_parse(p, doc, len, &a, errstr, sizeof(errstr));
        ND_EXPECT(err == ND_ERR_NO_ERROR, "%s: %s: %s", e->d_name, nd_err_name(err), errstr);
        if (err == ND_ERR_NO_ERROR) {
            nfiles++;
            printf("%-46s ninjs %d uri=%.*s source=\"%.*s\" lang=\"%.*s\" time=%lld "
                   "headline=\"%.*s\" body=%zu B text=%zu B \"%.50s...\"\n",
                   e->d_name, a.ninjs_major, (int)a.uri_len, a.uri, (int)a.source_len, a.source,
                   (int)a.language_len, a.language, (long long)a.event_time_ms, (int)a.headline_len,
                   a.headline, a.body_len, a.text_len, a.text);
            ND_EXPECT(a.text_len > 0 && a.text[0] != ' ' && a.text[a.text_len - 1] != ' ');
            ND_EXPECT(a.event_time_ms != ND_TIME_NONE, "%s has a time", e->d_name);
            ND_EXPECT(a.headline_len > 0, "%s has a headline", e->d_name);
            ND_EXPECT(a.doc == doc && a.doc_len <= len);
            for (size_t k = 0; k < sizeof(examples) / sizeof(examples[0]); k++) {
                if (strcmp(examples[k].file, e->d_name) != 0)
                    continue;
                ND_EXPECT(a.ninjs_major == examples[k].major, "%s: major %d", e->d_name,
                          a.ninjs_major);
                ND_EXPECT(str_is(a.uri, a.uri_len, examples[k].uri), "%s uri", e->d_name);
                ND_EXPECT(str_is(a.source, a.source_len, examples[k].source), "%s source",
                          e->d_name);
                ND_EXPECT(str_is(a.language, a.language_len, examples[k].language), "%s lang",
                          e->d_name);
                ND_EXPECT(a.text_len >= strlen(examples[k].text_prefix) &&
                              memcmp(a.text, examples[k].text_prefix,
                                     strlen(examples[k].text_prefix)) == 0,
                          "%s text starts \"%.60s\"", e->d_name, a.text);
            }
        }
        free(doc);
    }
    closedir(d);
    ND_EXPECT(nfiles >= sizeof(examples) / sizeof(examples[0]), "parsed %zu files", nfiles);
    nd_parser_destroy(p);
}

static void ninjs1_fields(void)
{
    nd_parser_t *p = new_parser();
    ND_ASSERT(p);
    char errstr[256];
    nd_article_t a;
    const char *doc = "{\"uri\":\"u:1\",\"headline\":\"Big \\\"news\\\"\",\"language\":\"en\","
                      "\"copyrightholder\":\"AP\",\"versioncreated\":\"2024-01-17T09:30:00Z\","
                      "\"body_html\":\"<p>Ignored html</p>\",\"body_text\":\"Hello, World!\"}\n";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(a.ninjs_major == 1);
    ND_EXPECT(str_is(a.uri, a.uri_len, "u:1"));
    ND_EXPECT(str_is(a.headline, a.headline_len, "Big \"news\""));
    ND_EXPECT(str_is(a.source, a.source_len, "AP"));
    ND_EXPECT(str_is(a.language, a.language_len, "en"));
    ND_EXPECT(str_is(a.text, a.text_len, "hello world"), "text %s", a.text);
    ND_EXPECT(a.event_time_ms == 1705483800000LL);
    ND_EXPECT(a.body_len == 13);
    ND_EXPECT(a.doc_len == strlen(doc) - 1, "trailing newline is not part of the doc");
    /* body_html only: stripped */
    doc = "{\"uri\":\"u:2\",\"body_html\":\"<p>A&amp;B</p><p>c</p>\",\"firstcreated\":"
          "\"2024-01-17\"}\r\n";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.text, a.text_len, "a b c"), "text %s", a.text);
    ND_EXPECT(a.event_time_ms == 1705449600000LL, "falls back to firstcreated");
    ND_EXPECT(a.headline_len == 0 && a.source_len == 0 && a.language_len == 0);
    /* duplicate keys: the last one wins */
    doc = "{\"uri\":\"first\",\"body_text\":\"one\",\"uri\":\"second\",\"body_text\":\"two\"}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.uri, a.uri_len, "second"));
    ND_EXPECT(str_is(a.text, a.text_len, "two"));
    /* a leading UTF-8 byte order mark and blanks are skipped, and are not
     * part of the document handed on */
    doc = "\xEF\xBB\xBF \t{\"uri\":\"bom\",\"body_text\":\"marked\"} \r\n";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.uri, a.uri_len, "bom"));
    ND_EXPECT(str_is(a.doc, a.doc_len, "{\"uri\":\"bom\",\"body_text\":\"marked\"} "), "doc %.*s",
              (int)a.doc_len, a.doc);
    /* fields nested in other objects are not the article's */
    doc = "{\"associations\":{\"pic\":{\"uri\":\"nested\",\"body_text\":\"x\"}},\"uri\":\"top\","
          "\"body_text\":\"top text\",\"x\":[[{\"uri\":1}]]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.uri, a.uri_len, "top"));
    ND_EXPECT(str_is(a.text, a.text_len, "top text"));
    nd_parser_destroy(p);
}

static void ninjs2_and_3_fields(void)
{
    nd_parser_t *p = new_parser();
    ND_ASSERT(p);
    char errstr[256];
    nd_article_t a;
    /* 2.x: lowercase keys, text/plain preferred even when it comes second */
    const char *doc =
        "{\"uri\":\"u:2\",\"versioncreated\":\"2019-05-10T16:02:28+02:00\","
        "\"headlines\":[{\"role\":\"main\",\"value\":\"First\"},{\"value\":\"Second\"}],"
        "\"bodies\":[{\"value\":\"<p>html body</p>\",\"contenttype\":\"text/html\"},"
        "{\"contenttype\":\"text/plain\",\"value\":\"plain body\"}],"
        "\"infosources\":[{\"role\":\"x\"},{\"name\":\"Reuters\"},{\"name\":\"AFP\"}]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(a.ninjs_major == 2, "major %d", a.ninjs_major);
    ND_EXPECT(str_is(a.headline, a.headline_len, "First"));
    ND_EXPECT(str_is(a.text, a.text_len, "plain body"), "text %s", a.text);
    ND_EXPECT(str_is(a.source, a.source_len, "Reuters"), "first infoSources name");
    ND_EXPECT(a.event_time_ms == 1557496948000LL);
    /* 3.x: camelCase keys, html only, copyrightHolder beats infoSources */
    doc =
        "{\"uri\":\"u:3\",\"versionCreated\":\"2019-05-10T14:02:28Z\",\"copyrightHolder\":\"dpa\","
        "\"infoSources\":[{\"name\":\"Reuters\"}],"
        "\"bodies\":[{\"role\":\"x\",\"contentType\":\"application/xml\",\"value\":\"<a>xml</a>\"},"
        "{\"contentType\":\"text/html\",\"value\":\"<p>Caf&eacute; <b>au</b> lait</p>\"}]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(a.ninjs_major == 3, "major %d", a.ninjs_major);
    ND_EXPECT(str_is(a.text, a.text_len, "cafe au lait"), "text %s", a.text);
    ND_EXPECT(str_is(a.source, a.source_len, "dpa"));
    ND_EXPECT(a.event_time_ms == 1557496948000LL);
    /* no text/plain nor html: the first entry */
    doc = "{\"uri\":\"u:4\",\"bodies\":[{\"contentType\":\"text/x-foo\",\"value\":\"one\"},"
          "{\"contentType\":\"text/x-bar\",\"value\":\"two\"}]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.text, a.text_len, "one"), "text %s", a.text);
    /* no bodies at all: descriptions are the fallback */
    doc = "{\"uri\":\"u:5\",\"descriptions\":[{\"value\":\"A short summary\"}]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.text, a.text_len, "a short summary"), "text %s", a.text);
    /* the version from $schema wins over the shape */
    doc = "{\"$schema\":\"http://www.iptc.org/std/ninjs/ninjs-schema_2.0.json\",\"uri\":\"u:6\","
          "\"versionCreated\":\"2019-05-10T14:02:28Z\",\"bodies\":[{\"value\":\"x\"}]}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(a.ninjs_major == 2, "major %d", a.ninjs_major);
    /* escaped non-ASCII and surrogate pairs decode */
    doc = "{\"uri\":\"u:\\u00e9\",\"body_text\":\"\\u0417\\u0434\\u0440\\u0430\\u0432 "
          "\\ud83d\\ude00 ok\"}";
    ND_ASSERT(parse(p, doc, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    ND_EXPECT(str_is(a.uri, a.uri_len, "u:\xc3\xa9"));
    ND_EXPECT(str_is(a.text, a.text_len, "здрав ok"), "text %s", a.text);
    nd_parser_destroy(p);
}

static void bad_input(void)
{
    static const struct {
        const char *doc;
        size_t len; /* 0: strlen */
        nd_err_t want;
        const char *errstr_has;
    } cases[] = {
        {"", 0, ND_ERR_EMPTY, "empty"},
        {"  \t \r\n", 0, ND_ERR_EMPTY, "empty"},
        {"\n", 0, ND_ERR_EMPTY, "empty"},
        {"\xEF\xBB\xBF \r\n", 0, ND_ERR_EMPTY, "empty"}, /* a byte order mark alone */
        /* one mark is skipped, not two, nor one inside the document */
        {"\xEF\xBB\xBF\xEF\xBB\xBF{\"uri\":\"x\",\"body_text\":\"y\"}", 0, ND_ERR_BAD_JSON, "JSON"},
        {" \xEF\xBB\xBF{\"uri\":\"x\",\"body_text\":\"y\"}", 0, ND_ERR_BAD_JSON, "JSON"},
        {"not json", 0, ND_ERR_BAD_JSON, "byte"},
        {"{\"uri\":\"x\",", 0, ND_ERR_BAD_JSON, "JSON"},
        {"{\"uri\":\"x\",\"body_text\":\"y\"} trailing", 0, ND_ERR_BAD_JSON, "JSON"},
        {"{\"uri\":\"x\" \"body_text\":\"y\"}", 0, ND_ERR_BAD_JSON, "JSON"},
        {"[1,2,3]", 0, ND_ERR_NOT_OBJECT, "array"},
        {"\"a string\"", 0, ND_ERR_NOT_OBJECT, "string"},
        {"42", 0, ND_ERR_NOT_OBJECT, "number"},
        {"{\"uri\":42,\"body_text\":\"y\"}", 0, ND_ERR_WRONG_TYPE, "\"uri\" is a number"},
        {"{\"uri\":\"x\",\"bodies\":{\"value\":\"y\"}}", 0, ND_ERR_WRONG_TYPE,
         "\"bodies\" is an object"},
        {"{\"uri\":\"x\",\"bodies\":[\"y\"]}", 0, ND_ERR_WRONG_TYPE, "bodies[0]"},
        {"{\"uri\":\"x\",\"bodies\":[{\"value\":7}]}", 0, ND_ERR_WRONG_TYPE, "bodies[0].value"},
        {"{\"uri\":\"x\",\"headlines\":[{\"value\":\"h\"},{\"value\":[]}],\"body_text\":\"y\"}", 0,
         ND_ERR_WRONG_TYPE, "headlines[1].value"},
        {"{\"uri\":\"x\",\"body_text\":true}", 0, ND_ERR_WRONG_TYPE, "body_text"},
        {"{\"uri\":\"x\",\"versionCreated\":1700000000,\"body_text\":\"y\"}", 0, ND_ERR_WRONG_TYPE,
         "versionCreated"},
        {"{\"uri\":\"x\",\"body_text\":\"caf\xc3\"}", 0, ND_ERR_BAD_UTF8, "UTF-8"},
        {"{\"uri\":\"x\",\"body_text\":\"y\",\"other\":\"\xff\"}", 0, ND_ERR_BAD_UTF8, "byte 36"},
        {"{\"uri\":\"x\",\"body_text\":\"\xed\xa0\x80\"}", 0, ND_ERR_BAD_UTF8, "UTF-8"},
        {"{\"uri\":\"x\",\"body_text\":\"\xc0\xaf\"}", 0, ND_ERR_BAD_UTF8, "UTF-8"},
        {"{\"uri\":\"x\",\"body_text\":\"a\\udc00b\"}", 0, ND_ERR_BAD_UTF8, "body_text"},
        {"{\"body_text\":\"y\"}", 0, ND_ERR_MISSING_URI, "uri"},
        {"{\"uri\":\"\",\"body_text\":\"y\"}", 0, ND_ERR_MISSING_URI, "empty"},
        {"{\"uri\":null,\"body_text\":\"y\"}", 0, ND_ERR_MISSING_URI, "uri"},
        {"{\"uri\":\"x\"}", 0, ND_ERR_MISSING_TEXT, "body"},
        {"{\"uri\":\"x\",\"body_text\":\"\"}", 0, ND_ERR_MISSING_TEXT, "body"},
        {"{\"uri\":\"x\",\"body_text\":\" -- !!! ... \"}", 0, ND_ERR_MISSING_TEXT,
         "letters or digits"},
        {"{\"uri\":\"x\",\"body_html\":\"<p> </p><script>x</script>\"}", 0, ND_ERR_MISSING_TEXT,
         "letters"},
        {"{\"uri\":\"x\",\"bodies\":[]}", 0, ND_ERR_MISSING_TEXT, "body"},
        {"{\"uri\":\"x\",\"body_text\":\"y\",\"versioncreated\":\"yesterday\"}", 0, ND_ERR_BAD_TIME,
         "versioncreated"},
        {"{\"uri\":\"x\",\"body_text\":\"y\",\"firstCreated\":\"2024-13-45T99:00:00Z\"}", 0,
         ND_ERR_BAD_TIME, "firstCreated"},
        {"{\"uri\":\"x\",\"body_text\":\"a\0b\"}", 29, ND_ERR_BAD_JSON, "JSON"},
    };
    nd_parser_t *p = new_parser();
    ND_ASSERT(p);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char errstr[256] = "unset";
        nd_article_t a;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].doc);
        nd_err_t err = nd_parser_parse(p, cases[i].doc, len, &a, errstr, sizeof(errstr));
        printf("case %2zu: %-12s %s\n", i, nd_err_name(err), errstr);
        ND_EXPECT(err == cases[i].want, "case %zu: got %s want %s (%s)", i, nd_err_name(err),
                  nd_err_name(cases[i].want), errstr);
        ND_EXPECT(strstr(errstr, cases[i].errstr_has) != NULL, "case %zu: errstr \"%s\" lacks %s",
                  i, errstr, cases[i].errstr_has);
        ND_EXPECT(strchr(errstr, '\n') == NULL, "one line");
    }
    /* the parser is still good after all that */
    char errstr[256];
    nd_article_t a;
    ND_EXPECT(parse(p, "{\"uri\":\"x\",\"body_text\":\"fine\"}", &a, errstr, sizeof(errstr)) ==
              ND_ERR_NO_ERROR);
    nd_parser_destroy(p);
}

static void limits(void)
{
    nd_parser_conf_t conf;
    nd_parser_conf_init(&conf);
    ND_EXPECT(conf.max_doc_bytes == 4u << 20 && conf.max_depth == 64);
    conf.max_depth = 8;
    conf.max_doc_bytes = 1000;
    char errstr[256];
    nd_parser_t *p = nd_parser_new(&conf, errstr, sizeof(errstr));
    ND_ASSERT(p, "%s", errstr);
    nd_article_t a;
    /* depth 8 is fine, 9 is not */
    const char *ok = "{\"uri\":\"x\",\"body_text\":\"y\",\"z\":[[[[[[[1]]]]]]]}";
    ND_EXPECT(parse(p, ok, &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR, "%s", errstr);
    const char *deep = "{\"uri\":\"x\",\"body_text\":\"y\",\"z\":[[[[[[[[1]]]]]]]]}";
    ND_EXPECT(parse(p, deep, &a, errstr, sizeof(errstr)) == ND_ERR_TOO_DEEP, "%s", errstr);
    ND_EXPECT(strstr(errstr, "8") != NULL, "%s", errstr);
    /* extreme nesting, even unterminated, is refused without recursion */
    size_t n = 900;
    char *big = malloc(n + 1);
    ND_ASSERT(big);
    memset(big, '[', n);
    big[n] = '\0';
    big[0] = '{';
    ND_EXPECT(nd_parser_parse(p, big, n, &a, errstr, sizeof(errstr)) == ND_ERR_BAD_JSON, "%s",
              errstr);
    memcpy(big, "{\"a\":", 5);
    ND_EXPECT(nd_parser_parse(p, big, n, &a, errstr, sizeof(errstr)) == ND_ERR_TOO_DEEP, "%s",
              errstr);
    /* the size limit */
    free(big);
    size_t bl = 1200;
    char *large = malloc(bl + 1);
    ND_ASSERT(large);
    memset(large, 'a', bl);
    memcpy(large, "{\"uri\":\"x\",\"body_text\":\"", 25);
    memcpy(large + bl - 2, "\"}", 2);
    large[bl] = '\0';
    ND_EXPECT(nd_parser_parse(p, large, bl, &a, errstr, sizeof(errstr)) == ND_ERR_TOO_LARGE, "%s",
              errstr);
    ND_EXPECT(strstr(errstr, "1000") != NULL, "%s", errstr);
    free(large);
    nd_parser_destroy(p);
    nd_parser_destroy(NULL);
    conf.max_depth = 0;
    ND_EXPECT(nd_parser_new(&conf, errstr, sizeof(errstr)) == NULL);
    ND_EXPECT(strstr(errstr, "max_depth") != NULL);
}

/* A big document with many escaped strings: the arena and every field
 * buffer must grow, so every allocation site is reached. */
static void put(nd_buf_t *b, const char *s)
{
    nd_buf_append(b, s, strlen(s));
}

static char *alloc_doc(size_t *len)
{
    nd_buf_t b = {0};
    put(&b, "{\"uri\":\"u\\u00e9\",\"headlines\":[{\"value\":\"H\\u00e9\"}],");
    put(&b, "\"copyrightHolder\":\"\\u00c9d\",\"bodies\":[{\"contentType\":\"text/html\","
            "\"value\":\"");
    for (int i = 0; i < 3000; i++)
        put(&b, "<p>Caf\\u00e9 \\\"x\\\"</p>");
    put(&b, "\"}]}");
    char *s = malloc(b.len + 1);
    memcpy(s, b.p, b.len + 1);
    *len = b.len;
    nd_buf_free(&b);
    return s;
}

static void allocation_failures(void)
{
    size_t len;
    char *doc = alloc_doc(&len);
    ND_ASSERT(doc);
    long n;
    int nomem = 0, ok = 0;
    for (n = 0; n < 1000; n++) {
        char errstr[256] = "";
        nd_alloc_fail_after(n);
        nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
        if (!p) {
            nd_alloc_fail_after(-1);
            ND_EXPECT(strstr(errstr, "memory") != NULL, "%s", errstr);
            nomem++;
            continue;
        }
        nd_article_t a;
        nd_err_t err = nd_parser_parse(p, doc, len, &a, errstr, sizeof(errstr));
        nd_alloc_fail_after(-1);
        if (err == ND_ERR_NOMEM) {
            ND_EXPECT(strstr(errstr, "memory") != NULL, "%s", errstr);
            /* the handle still works once memory is back */
            err = nd_parser_parse(p, doc, len, &a, errstr, sizeof(errstr));
            ND_EXPECT(err == ND_ERR_NO_ERROR, "after NOMEM: %s", errstr);
            nomem++;
            nd_parser_destroy(p);
            continue;
        }
        ND_EXPECT(err == ND_ERR_NO_ERROR, "n=%ld: %s %s", n, nd_err_name(err), errstr);
        ND_EXPECT(a.text_len > 0 && str_is(a.source, a.source_len,
                                           "\xc3\x89"
                                           "d"));
        ok = 1;
        nd_parser_destroy(p);
        break;
    }
    nd_alloc_fail_after(-1);
    printf("allocation failure: %d failing points before success at n=%ld\n", nomem, n);
    ND_EXPECT(ok, "parse eventually succeeds");
    ND_EXPECT(nomem >= 5, "every allocation site was reached (%d)", nomem);
    free(doc);
}

/* Buffers are reused: a later, smaller document does not see the earlier
 * one's data, and results of a parse stay valid until the next one. */
static void reuse(void)
{
    nd_parser_t *p = new_parser();
    ND_ASSERT(p);
    char errstr[256];
    nd_article_t a;
    ND_ASSERT(parse(p,
                    "{\"uri\":\"long\\/uri\",\"headline\":\"h\\u00e9\",\"language\":\"de\","
                    "\"body_text\":\"eins zwei drei\"}",
                    &a, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR);
    ND_EXPECT(str_is(a.uri, a.uri_len, "long/uri"));
    ND_ASSERT(parse(p, "{\"uri\":\"b\",\"body_text\":\"vier\"}", &a, errstr, sizeof(errstr)) ==
              ND_ERR_NO_ERROR);
    ND_EXPECT(str_is(a.uri, a.uri_len, "b"));
    ND_EXPECT(a.headline_len == 0 && a.language_len == 0);
    ND_EXPECT(str_is(a.text, a.text_len, "vier"));
    ND_EXPECT(a.event_time_ms == ND_TIME_NONE);
    nd_parser_destroy(p);
}

/*
 * Long string values are lexed by the parser itself, not yajl: check that
 * every kind of long string gives the same fields and errors as yajl does
 * (escapes decoded, \u left to yajl, bad bytes and bad escapes rejected with
 * yajl's message and offset, long keys, several long strings).
 */
static void long_strings(void)
{
    char errstr[256];
    nd_parser_t *p = nd_parser_new(NULL, errstr, sizeof(errstr));
    ND_EXPECT(p != NULL, "%s", errstr);
    nd_buf_t doc = {0}, pad = {0};
    for (int i = 0; i < 40; i++)
        put(&pad, "Lorem ipsum "); /* 480 bytes */
    nd_article_t a;

    /* simple escapes in a long body, a long headline, a long unknown value */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u1\",\"headline\":\"H ");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\",\"extra\":\"");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\",\"body_html\":\"<p class=\\\"x\\\">Tab\\there\\/now\\\\ ");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "</p>\"}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.headline_len == 2 + pad.len && memcmp(a.headline, "H Lorem", 7) == 0,
              "headline %zu", a.headline_len);
    ND_EXPECT(a.text_len > 11 && memcmp(a.text, "tab here now lorem", 18) == 0, "text [%.*s]",
              (int)(a.text_len > 40 ? 40 : a.text_len), a.text);
    ND_EXPECT(a.body_len == pad.len + 31, "body_len %zu", a.body_len);

    /* \u escapes in a long body: yajl decodes them */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u2\",\"body_text\":\"caf\\u00e9 ");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\"}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.text_len > 5 && memcmp(a.text, "cafe lorem", 10) == 0, "text [%.*s]",
              (int)(a.text_len > 20 ? 20 : a.text_len), a.text);

    /* a lone low surrogate escape in a long string */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u3\",\"body_text\":\"x\\udc00 ");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\"}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == ND_ERR_BAD_UTF8,
              "%s", errstr);

    /* a raw control byte, then a bad escape, in a long string: yajl's error */
    const char *bad[] = {"\t", "\\x"};
    const char *want[] = {"near byte 225: lexical error: invalid character inside string",
                          "near byte 226: lexical error: inside a string, '\\' occurs before a"};
    for (int k = 0; k < 2; k++) {
        nd_buf_reset(&doc);
        put(&doc, "{\"uri\":\"u4\",\"body_text\":\"");
        nd_buf_append(&doc, pad.p, 200);
        put(&doc, bad[k]);
        nd_buf_append(&doc, pad.p, pad.len);
        put(&doc, "\"}");
        ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == ND_ERR_BAD_JSON,
                  "case %d: %s", k, errstr);
        ND_EXPECT(strstr(errstr, want[k]) != NULL, "case %d: %s", k, errstr);
    }

    /* a long key, a long string in an array, then a syntax error after them */
    nd_buf_reset(&doc);
    put(&doc, "{\"uri\":\"u5\",\"");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\" : [\"");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\"],\"bodies\":[{\"contentType\":\"text/plain\",\"value\":\"");
    nd_buf_append(&doc, pad.p, pad.len);
    put(&doc, "\"}]}");
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == 0, "%s", errstr);
    ND_EXPECT(a.body_len == pad.len && a.ninjs_major == 3, "body_len %zu", a.body_len);
    doc.p[doc.len - 1] = ']';
    ND_EXPECT(nd_parser_parse(p, doc.p, doc.len, &a, errstr, sizeof(errstr)) == ND_ERR_BAD_JSON,
              "%s", errstr);
    char at[40];
    snprintf(at, sizeof(at), "near byte %zu", doc.len - 1);
    ND_EXPECT(strstr(errstr, at) != NULL, "want %s: %s", at, errstr);

    nd_buf_free(&doc);
    nd_buf_free(&pad);
    nd_parser_destroy(p);
}

int main(void)
{
    ND_TEST(shared_examples);
    ND_TEST(ninjs1_fields);
    ND_TEST(ninjs2_and_3_fields);
    ND_TEST(bad_input);
    ND_TEST(limits);
    ND_TEST(allocation_failures);
    ND_TEST(reuse);
    ND_TEST(long_strings);
    return nd_test_done();
}
