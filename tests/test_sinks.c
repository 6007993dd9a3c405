/* label: unit */
/* test_sinks.c - the record encoders and the decision -> records mapping. */
#include "nd_sinks.h"
#include "nd_test.h"

#include <unistd.h>

static nd_article_t sample_article(void)
{
    static const char doc[] = "{\"uri\":\"urn:a:1\",\"headline\":\"Pact \\\"signed\\\"\"}\n";
    nd_article_t a = {0};
    a.uri = "urn:a:1";
    a.uri_len = 7;
    a.source = "Agency";
    a.source_len = 6;
    a.headline = "Pact \"signed\"";
    a.headline_len = 13;
    a.event_time_ms = 1705483800000LL;
    a.language = "en";
    a.language_len = 2;
    a.doc = doc;
    a.doc_len = sizeof(doc) - 1;
    return a;
}

static nd_decision_t sample_decision(nd_verdict_t v)
{
    nd_decision_t d = {0};
    d.verdict = v;
    d.cluster.id = 0x00ab00cd00ef0012ull;
    d.cluster.count = 3;
    d.cluster.sources = 2;
    d.cluster.first_seen_ms = 1705483800000LL;
    d.cluster.last_seen_ms = 1705487400000LL;
    d.canonical_uri = "urn:a:0";
    d.canonical_uri_len = 7;
    if (v == ND_VERDICT_DUPLICATE) {
        d.matched_uri = "urn:a:0";
        d.matched_uri_len = 7;
        d.similarity = 0.87654;
    }
    return d;
}

static void canonical_embeds_document_unchanged(void)
{
    nd_buf_t b = {0};
    nd_article_t a = sample_article();
    nd_decision_t d = sample_decision(ND_VERDICT_NEW);
    ND_ASSERT(nd_record_canonical(&b, &a, &d) == ND_ERR_NO_ERROR);
    const char *want =
        "{\"cluster\":\"00ab00cd00ef0012\",\"uri\":\"urn:a:1\",\"source\":\"Agency\","
        "\"headline\":\"Pact \\\"signed\\\"\",\"event_time\":"
        "\"2024-01-17T09:30:00.000Z\",\"document\":{\"uri\":\"urn:a:1\","
        "\"headline\":\"Pact \\\"signed\\\"\"}}";
    ND_EXPECT(!strcmp(b.p, want), "got %s", b.p);
    nd_buf_free(&b);
}

static void membership_of_duplicate_and_new(void)
{
    nd_buf_t b = {0};
    nd_article_t a = sample_article();
    nd_decision_t d = sample_decision(ND_VERDICT_DUPLICATE);
    ND_ASSERT(nd_record_membership(&b, &a, &d) == ND_ERR_NO_ERROR);
    ND_EXPECT(!strcmp(b.p,
                      "{\"id\":\"urn:a:1\",\"cluster\":\"00ab00cd00ef0012\",\"duplicate\":true,"
                      "\"duplicate_of\":\"urn:a:0\",\"matched\":\"urn:a:0\",\"similarity\":"
                      "0.8765,\"exact\":false,\"source\":\"Agency\",\"event_time\":"
                      "\"2024-01-17T09:30:00.000Z\"}"),
              "got %s", b.p);
    nd_buf_reset(&b);
    d = sample_decision(ND_VERDICT_NEW);
    a.event_time_ms = ND_TIME_NONE;
    nd_record_membership(&b, &a, &d);
    ND_EXPECT(strstr(b.p, "\"duplicate\":false,\"duplicate_of\":null,\"matched\":null") != NULL,
              "got %s", b.p);
    ND_EXPECT(strstr(b.p, "\"event_time\":null") != NULL, "got %s", b.p);
    nd_buf_free(&b);
}

static void cluster_record_counts(void)
{
    nd_buf_t b = {0};
    nd_decision_t d = sample_decision(ND_VERDICT_DUPLICATE);
    ND_ASSERT(nd_record_cluster(&b, &d) == ND_ERR_NO_ERROR);
    ND_EXPECT(!strcmp(b.p, "{\"cluster\":\"00ab00cd00ef0012\",\"count\":3,\"sources\":2,"
                           "\"first_seen\":\"2024-01-17T09:30:00.000Z\",\"last_seen\":"
                           "\"2024-01-17T10:30:00.000Z\",\"canonical\":\"urn:a:0\"}"),
              "got %s", b.p);
    nd_buf_free(&b);
}

static void reject_replaces_invalid_utf8(void)
{
    nd_buf_t b = {0};
    const char input[] = "{\"uri\":\"x\xff\xc3\"}";
    nd_reject_t r = {ND_ERR_BAD_UTF8, "invalid UTF-8 at byte 9", "feed.jsonl", -1, 7,
                     input,           sizeof(input) - 1};
    ND_ASSERT(nd_record_reject(&b, &r) == ND_ERR_NO_ERROR);
    ND_EXPECT(!strcmp(b.p, "{\"reason\":\"bad_utf8\",\"error\":\"invalid UTF-8 at byte 9\","
                           "\"origin\":\"feed.jsonl\",\"partition\":-1,\"offset\":7,\"input\":"
                           "\"{\\\"uri\\\":\\\"x\xef\xbf\xbd\xef\xbf\xbd\\\"}\","
                           "\"truncated\":false}"),
              "got %s", b.p);
    nd_buf_free(&b);
}

/* The echo keeps every valid sequence and replaces each byte of an invalid
 * one (overlong, surrogate, past U+10FFFF, cut short) by U+FFFD. */
static void reject_echo_keeps_valid_utf8(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xc3\xa9\xe2\x80\x99\xf0\x9f\x93\xb0", "\xc3\xa9\xe2\x80\x99\xf0\x9f\x93\xb0"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* a surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"a\xe2\x80", "a\xef\xbf\xbd\xef\xbf\xbd"},                               /* cut short */
        {"\xe0\xa0\x80\xf0\x90\x80\x80", "\xe0\xa0\x80\xf0\x90\x80\x80"}, /* smallest 3, 4 */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        nd_buf_t b = {0};
        nd_reject_t r = {ND_ERR_BAD_UTF8, "x", "o", 0, 0, cases[k].in, strlen(cases[k].in)};
        ND_ASSERT(nd_record_reject(&b, &r) == ND_ERR_NO_ERROR);
        const char *p = strstr(b.p, "\"input\":\"");
        ND_ASSERT(p, "case %zu: no input in %s", k, b.p);
        p += strlen("\"input\":\"");
        size_t n = strlen(cases[k].want);
        ND_EXPECT(!strncmp(p, cases[k].want, n) && p[n] == '"', "case %zu: got %s", k, b.p);
        nd_buf_free(&b);
    }
}

/* The echo stops at 64 KiB and says so; a NULL input echoes as "". */
static void reject_echo_is_cut_at_64k(void)
{
    size_t n = 70000;
    char *in = malloc(n);
    ND_ASSERT(in);
    memset(in, 'a', n);
    in[65536] = '\xff'; /* past the cut: never seen */
    nd_buf_t b = {0};
    nd_reject_t r = {ND_ERR_TOO_LARGE, "x", "o", -1, 1, in, n};
    ND_ASSERT(nd_record_reject(&b, &r) == ND_ERR_NO_ERROR);
    const char *p = strstr(b.p, "\"input\":\"");
    ND_ASSERT(p);
    p += strlen("\"input\":\"");
    ND_EXPECT(strspn(p, "a") == 65536 && !strcmp(p + 65536, "\",\"truncated\":true}"),
              "echo of %zu bytes", strspn(p, "a"));
    nd_buf_reset(&b);
    nd_reject_t e = {ND_ERR_EMPTY, NULL, NULL, -1, 2, NULL, 0};
    ND_ASSERT(nd_record_reject(&b, &e) == ND_ERR_NO_ERROR);
    ND_EXPECT(!strcmp(b.p, "{\"reason\":\"empty\",\"error\":\"Empty input\",\"origin\":null,"
                           "\"partition\":-1,\"offset\":2,\"input\":\"\",\"truncated\":false}"),
              "got %s", b.p);
    nd_buf_free(&b);
    free(in);
}

/* A sink that counts records per output and keeps the last key. */
typedef struct {
    int n[ND_OUT__CNT];
    char last_key[64];
    int fail;
} mem_sink_t;

static nd_err_t mem_write(void *o, nd_out_t out, const char *key, size_t key_len, const char *v,
                          size_t vl, const nd_reject_t *rej)
{
    mem_sink_t *m = o;
    (void)v;
    (void)vl;
    (void)rej;
    if (m->fail)
        return ND_ERR_IO;
    m->n[out]++;
    snprintf(m->last_key, sizeof(m->last_key), "%.*s", (int)key_len, key ? key : "");
    return ND_ERR_NO_ERROR;
}

static void mem_destroy(void *o)
{
    (void)o;
}

static void emit_maps_verdicts_to_records(void)
{
    static const nd_sink_ops_t ops = {mem_write, NULL, mem_destroy};
    mem_sink_t m = {0};
    nd_sink_t *s = nd_sink_new(&ops, &m);
    ND_ASSERT(s);
    nd_article_t a = sample_article();
    nd_decision_t d = sample_decision(ND_VERDICT_NEW);
    nd_sink_emit(s, &a, &d);
    ND_EXPECT(m.n[ND_OUT_CANONICAL] == 1 && m.n[ND_OUT_MEMBERSHIPS] == 1 &&
              m.n[ND_OUT_CLUSTERS] == 1);
    ND_EXPECT(!strcmp(m.last_key, "00ab00cd00ef0012"), "clusters keyed by id: %s", m.last_key);
    d = sample_decision(ND_VERDICT_DUPLICATE);
    nd_sink_emit(s, &a, &d);
    ND_EXPECT(m.n[ND_OUT_CANONICAL] == 1 && m.n[ND_OUT_MEMBERSHIPS] == 2);
    d.canonical_changed = 1;
    nd_sink_emit(s, &a, &d);
    ND_EXPECT(m.n[ND_OUT_CANONICAL] == 2, "a new canonical by policy is emitted");
    d = sample_decision(ND_VERDICT_REDELIVERY);
    nd_sink_emit(s, &a, &d);
    ND_EXPECT(m.n[ND_OUT_MEMBERSHIPS] == 3 && m.n[ND_OUT_CLUSTERS] == 3,
              "a redelivery writes nothing");
    nd_reject_t r = {ND_ERR_BAD_JSON, NULL, "-", -1, 1, "{", 1};
    ND_EXPECT(nd_sink_reject(s, &r) == ND_ERR_NO_ERROR && m.n[ND_OUT_REJECTS] == 1);
    m.fail = 1;
    ND_EXPECT(nd_sink_reject(s, &r) == ND_ERR_IO, "the implementation's error comes back");
    nd_sink_stats_t st;
    nd_sink_stats(s, &st);
    ND_EXPECT(st.records[ND_OUT_MEMBERSHIPS] == 3 && st.records[ND_OUT_REJECTS] == 1);
    nd_sink_destroy(s);
    nd_sink_destroy(NULL);
}

/* A JSON Lines sink into a new temporary directory (dir: a mkdtemp template,
 * filled in), or NULL. */
static nd_sink_t *new_tmp_sink(char *dir)
{
    char errstr[256];
    if (!mkdtemp(dir))
        return NULL;
    return nd_sink_jsonl_new(dir, errstr, sizeof(errstr));
}

/* The contents of output i's file in dir (NULL if unreadable), the file
 * removed. */
static char *take_output(const char *dir, int i, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.jsonl", dir, nd_out_name((nd_out_t)i));
    char *txt = nd_test_read_file(path, len);
    unlink(path);
    return txt;
}

static void jsonl_sink_writes_four_files(void)
{
    char dir[] = "/tmp/nd_test_sinks_XXXXXX", errstr[256];
    nd_sink_t *s = new_tmp_sink(dir);
    ND_ASSERT(s, "no sink in %s", dir);
    nd_article_t a = sample_article();
    nd_decision_t d = sample_decision(ND_VERDICT_NEW);
    nd_sink_emit(s, &a, &d);
    nd_reject_t r = {ND_ERR_EMPTY, NULL, "-", -1, 2, "", 0};
    nd_sink_reject(s, &r);
    ND_EXPECT(nd_sink_flush(s, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR);
    nd_sink_destroy(s);
    for (int i = 0; i < 4; i++) {
        size_t len = 0;
        char *txt = take_output(dir, i, &len);
        ND_EXPECT(txt && len > 2 && txt[0] == '{' && txt[len - 1] == '\n' &&
                      strchr(txt, '\n') == txt + len - 1,
                  "%s holds one line", nd_out_name((nd_out_t)i));
        free(txt);
    }
    rmdir(dir);
    ND_EXPECT(nd_sink_jsonl_new("/proc/nonexistent/x", errstr, sizeof(errstr)) == NULL);
    ND_EXPECT(strstr(errstr, "cannot create") != NULL, "errstr: %s", errstr);
}

/* Through its own buffer the sink writes every record whole and in order:
 * many small ones, and ones larger than the buffer between them. */
static void jsonl_sink_keeps_order_across_buffer_sizes(void)
{
    char dir[] = "/tmp/nd_test_sinks_XXXXXX", errstr[256];
    nd_sink_t *s = new_tmp_sink(dir);
    ND_ASSERT(s, "no sink in %s", dir);
    nd_buf_t want = {0}, err = {0};
    size_t big = 700 * 1024;
    char *text = malloc(big);
    ND_ASSERT(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + i % 26);
    for (int i = 0; i < 3000; i++) {
        /* Errors of 10 to ~2000 bytes, and now and then 300 or 700 KiB. */
        size_t n = i % 997 == 5 ? big : i % 501 == 7 ? 300 * 1024 : 10 + (size_t)(i * 7) % 2000;
        nd_buf_reset(&err);
        nd_buf_append(&err, text, n);
        nd_reject_t r = {ND_ERR_EMPTY, err.p, "-", -1, i + 1, "", 0};
        ND_ASSERT(nd_sink_reject(s, &r) == ND_ERR_NO_ERROR);
        ND_ASSERT(nd_record_reject(&want, &r) == ND_ERR_NO_ERROR);
        nd_buf_putc(&want, '\n');
        if (i == 1500)
            ND_EXPECT(nd_sink_flush(s, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR);
    }
    ND_EXPECT(nd_sink_flush(s, errstr, sizeof(errstr)) == ND_ERR_NO_ERROR);
    nd_sink_destroy(s);
    for (int i = 0; i < 4; i++) {
        size_t len = 0;
        char *txt = take_output(dir, i, &len);
        if (i == ND_OUT_REJECTS)
            ND_EXPECT(txt && len == want.len && !memcmp(txt, want.p, len),
                      "rejects.jsonl holds %zu bytes, want %zu", len, want.len);
        else
            ND_EXPECT(txt && len == 0, "%s is empty", nd_out_name((nd_out_t)i));
        free(txt);
    }
    rmdir(dir);
    free(text);
    nd_buf_free(&want);
    nd_buf_free(&err);
}

/* A full disk comes back as an error: from a write once the buffer is
 * spilled, else from the flush, naming the file and the reason. */
static void jsonl_sink_reports_write_errors(void)
{
    if (access("/dev/full", W_OK) != 0)
        ND_SKIP("no /dev/full");
    char dir[] = "/tmp/nd_test_sinks_XXXXXX";
    ND_ASSERT(mkdtemp(dir));
    char path[512], errstr[256];
    snprintf(path, sizeof(path), "%s/memberships.jsonl", dir);
    ND_ASSERT(symlink("/dev/full", path) == 0);
    nd_sink_t *s = nd_sink_jsonl_new(dir, errstr, sizeof(errstr));
    ND_ASSERT(s, "%s", errstr);
    nd_article_t a = sample_article();
    nd_decision_t d = sample_decision(ND_VERDICT_NEW);
    ND_EXPECT(nd_sink_emit(s, &a, &d) == ND_ERR_NO_ERROR, "buffered");
    ND_EXPECT(nd_sink_flush(s, errstr, sizeof(errstr)) == ND_ERR_IO);
    ND_EXPECT(strstr(errstr, "flushing memberships.jsonl: No space left on device") != NULL,
              "errstr: %s", errstr);
    /* A failed file stays failed; enough records to spill the buffer fail. */
    nd_err_t err = ND_ERR_NO_ERROR;
    for (int i = 0; i < 10000 && !err; i++)
        err = nd_sink_emit(s, &a, &d);
    ND_EXPECT(err == ND_ERR_IO, "got %d", err);
    nd_sink_destroy(s);
    for (int i = 0; i < 4; i++) {
        size_t len;
        free(take_output(dir, i, &len));
    }
    rmdir(dir);
}

int main(void)
{
    ND_TEST(canonical_embeds_document_unchanged);
    ND_TEST(membership_of_duplicate_and_new);
    ND_TEST(cluster_record_counts);
    ND_TEST(reject_replaces_invalid_utf8);
    ND_TEST(reject_echo_keeps_valid_utf8);
    ND_TEST(reject_echo_is_cut_at_64k);
    ND_TEST(emit_maps_verdicts_to_records);
    ND_TEST(jsonl_sink_writes_four_files);
    ND_TEST(jsonl_sink_keeps_order_across_buffer_sizes);
    ND_TEST(jsonl_sink_reports_write_errors);
    return nd_test_done();
}
