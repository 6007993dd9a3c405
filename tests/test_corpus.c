/* label: unit */
/*
 * test_corpus.c - the bench's quality metrics on hand-computed cases, and the
 * corpus generator (nd-corpus) end to end: deterministic output, every
 * document parses, the truth file matches the feed, the committed demo feed
 * has the shape the demo relies on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nd_test.h"
#include "nd_ingest.h"

/* The metrics are bench code, not a library: compile them in. */
#include "../bench/metrics.c"

#define NEAR(a, b) (fabs_((a) - (b)) < 1e-9)

static double fabs_(double x)
{
    return x < 0 ? -x : x;
}

static void metrics_identical(void)
{
    uint64_t t[] = {7, 7, 9, 9, 11};
    uint64_t p[] = {1, 1, 2, 2, 3};
    nd_pair_metrics_t m;
    ND_ASSERT(nd_pair_metrics(t, p, 5, &m) == 0);
    ND_EXPECT(m.true_pairs == 2 && m.pred_pairs == 2 && m.tp_pairs == 2);
    ND_EXPECT(NEAR(m.precision, 1) && NEAR(m.recall, 1) && NEAR(m.f1, 1), "%f", m.f1);
    ND_EXPECT(NEAR(m.ari, 1), "ari %f", m.ari);
}

/* The example of scikit-learn's adjusted_rand_score documentation:
 * truth [0,0,0,1,1,1], pred [0,0,1,1,2,2]. Contingency pairs: together in
 * both 1+1 = 2, truth 3+3 = 6, pred 1+1+1 = 3, all C(6,2) = 15; expected
 * 6*3/15 = 1.2, max (6+3)/2 = 4.5, ARI = 0.8/3.3. */
static void metrics_sklearn_example(void)
{
    uint64_t t[] = {0, 0, 0, 1, 1, 1};
    uint64_t p[] = {0, 0, 1, 1, 2, 2};
    nd_pair_metrics_t m;
    ND_ASSERT(nd_pair_metrics(t, p, 6, &m) == 0);
    ND_EXPECT(m.tp_pairs == 2 && m.true_pairs == 6 && m.pred_pairs == 3);
    ND_EXPECT(NEAR(m.precision, 2.0 / 3), "%f", m.precision);
    ND_EXPECT(NEAR(m.recall, 1.0 / 3), "%f", m.recall);
    ND_EXPECT(NEAR(m.f1, 4.0 / 9), "%f", m.f1);
    ND_EXPECT(NEAR(m.ari, 0.8 / 3.3), "ari %f", m.ari);
    /* Renaming labels changes nothing; swapping the roles swaps P and R. */
    uint64_t p2[] = {50, 50, 40, 40, 30, 30};
    nd_pair_metrics_t m2;
    ND_ASSERT(nd_pair_metrics(t, p2, 6, &m2) == 0);
    ND_EXPECT(NEAR(m2.ari, m.ari) && NEAR(m2.f1, m.f1));
    ND_ASSERT(nd_pair_metrics(p, t, 6, &m2) == 0);
    ND_EXPECT(NEAR(m2.precision, m.recall) && NEAR(m2.recall, m.precision));
    ND_EXPECT(NEAR(m2.ari, m.ari));
}

/* Everything merged: truth {A,A,B,B}, one predicted cluster. tp 2, truth 2,
 * pred 6: P = 1/3, R = 1, F1 = 1/2; expected = 2*6/6 = 2, max = 4: ARI 0. */
static void metrics_all_merged(void)
{
    uint64_t t[] = {1, 1, 2, 2};
    uint64_t p[] = {5, 5, 5, 5};
    nd_pair_metrics_t m;
    ND_ASSERT(nd_pair_metrics(t, p, 4, &m) == 0);
    ND_EXPECT(NEAR(m.precision, 1.0 / 3) && NEAR(m.recall, 1) && NEAR(m.f1, 0.5), "%f", m.f1);
    ND_EXPECT(NEAR(m.ari, 0), "ari %f", m.ari);
}

/* Nothing merged: truth {A,A,B}, all singletons: no predicted pairs, so
 * precision is 1 by convention, recall 0, F1 0; ARI (0-0)/(0.5-0) = 0. */
static void metrics_all_split(void)
{
    uint64_t t[] = {1, 1, 2};
    uint64_t p[] = {1, 2, 3};
    nd_pair_metrics_t m;
    ND_ASSERT(nd_pair_metrics(t, p, 3, &m) == 0);
    ND_EXPECT(m.pred_pairs == 0 && m.true_pairs == 1);
    ND_EXPECT(NEAR(m.precision, 1) && NEAR(m.recall, 0) && NEAR(m.f1, 0));
    ND_EXPECT(NEAR(m.ari, 0), "ari %f", m.ari);
    /* Both all singletons: identical partitions, ARI 1. Empty input too. */
    uint64_t s[] = {4, 5, 6};
    ND_ASSERT(nd_pair_metrics(s, p, 3, &m) == 0);
    ND_EXPECT(NEAR(m.ari, 1) && NEAR(m.f1, 1));
    ND_ASSERT(nd_pair_metrics(NULL, NULL, 0, &m) == 0);
    ND_EXPECT(m.n == 0 && NEAR(m.ari, 1));
}

/* ------------------------------------------------------------------ */

static char corpus_bin[4096];

static int have_corpus(void)
{
    const char *b = getenv("ND_BUILD_DIR");
    if (!b)
        return 0;
    snprintf(corpus_bin, sizeof(corpus_bin), "%s/bench/nd-corpus", b);
    return access(corpus_bin, X_OK) == 0;
}

static int run_corpus(const char *args, const char *out, const char *truth)
{
    char cmd[16384];
    snprintf(cmd, sizeof(cmd), "'%s' %s --out '%s' --truth '%s' 2>/dev/null", corpus_bin, args, out,
             truth);
    return system(cmd);
}

/* feed_check: parse every line of feed; count lines and rejects; check each
 * accepted uri is in truth (as "uri\t") and that every truth uri occurs. */
typedef struct check_s {
    size_t lines, rejects, accepted, truth_lines, truth_dups, missing_in_truth;
    size_t story_count;  /* uris of the story named in want_story */
    int first_is_agency; /* each story's first uri in the feed is the agency's */
} check_t;

static void feed_check(const char *feed, const char *truth, const char *want_story, check_t *c)
{
    memset(c, 0, sizeof(*c));
    c->first_is_agency = 1;
    size_t fl, tl;
    char *f = nd_test_read_file(feed, &fl);
    char *t = nd_test_read_file(truth, &tl);
    if (!f || !t) {
        free(f);
        free(t);
        return;
    }
    /* The truth: unique uris. */
    for (char *p = t; *p;) {
        char *nl = strchr(p, '\n');
        char *tab = strchr(p, '\t');
        if (!nl || !tab || tab > nl)
            break;
        c->truth_lines++;
        *tab = '\0';
        char *rest = strstr(nl + 1, p);
        while (rest && !((rest == t || rest[-1] == '\n') && rest[strlen(p)] == '\t'))
            rest = strstr(rest + 1, p);
        if (rest)
            c->truth_dups++;
        if (want_story && strncmp(tab + 1, want_story, (size_t)(nl - tab - 1)) == 0 &&
            strlen(want_story) == (size_t)(nl - tab - 1))
            c->story_count++;
        *tab = '\t';
        p = nl + 1;
    }
    char errstr[256];
    nd_parser_t *ps = nd_parser_new(NULL, errstr, sizeof(errstr));
    if (!ps) {
        free(f);
        free(t);
        return;
    }
    /* Seen stories, to check which uri comes first (by story id text). */
    char **seen = calloc(c->truth_lines + 1, sizeof(char *));
    size_t n_seen = 0;
    for (char *p = f; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        c->lines++;
        nd_article_t art;
        if (nd_parser_parse(ps, p, len, &art, errstr, sizeof(errstr)) != ND_ERR_NO_ERROR) {
            c->rejects++;
        } else {
            c->accepted++;
            char uri[1024];
            size_t ul = art.uri_len < sizeof(uri) - 1 ? art.uri_len : sizeof(uri) - 1;
            memcpy(uri, art.uri, ul);
            uri[ul] = '\0';
            const char *hit = NULL;
            for (const char *q = t; (q = strstr(q, uri)) != NULL; q++)
                if ((q == t || q[-1] == '\n') && q[ul] == '\t') {
                    hit = q;
                    break;
                }
            if (!hit) {
                c->missing_in_truth++;
            } else if (seen) {
                const char *sid = hit + ul + 1;
                size_t sl = strcspn(sid, "\n");
                int known = 0;
                for (size_t i = 0; i < n_seen && !known; i++)
                    known = strlen(seen[i]) == sl && memcmp(seen[i], sid, sl) == 0;
                if (!known && n_seen < c->truth_lines) {
                    seen[n_seen] = calloc(1, sl + 1);
                    if (seen[n_seen])
                        memcpy(seen[n_seen++], sid, sl);
                    if (strncmp(uri, "urn:newsml:", 11) != 0)
                        c->first_is_agency = 0;
                }
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
    nd_parser_destroy(ps);
    free(f);
    free(t);
}

static int files_equal(const char *a, const char *b)
{
    size_t la, lb;
    char *x = nd_test_read_file(a, &la), *y = nd_test_read_file(b, &lb);
    int eq = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

static void corpus_from_stories(void)
{
    const char *src = getenv("ND_SOURCE_DIR");
    if (!src || !have_corpus())
        ND_SKIP("nd-corpus not built or ND_SOURCE_DIR/ND_BUILD_DIR not set");
    char tmpl[] = "/tmp/nd-corpus-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ND_ASSERT(dir != NULL);
    char f1[512], t1[512], f2[512], t2[512], f3[512], t3[512], args[4096];
    snprintf(f1, sizeof(f1), "%s/f1.jsonl", dir);
    snprintf(t1, sizeof(t1), "%s/t1.tsv", dir);
    snprintf(f2, sizeof(f2), "%s/f2.jsonl", dir);
    snprintf(t2, sizeof(t2), "%s/t2.tsv", dir);
    snprintf(f3, sizeof(f3), "%s/f3.jsonl", dir);
    snprintf(t3, sizeof(t3), "%s/t3.tsv", dir);
    snprintf(args, sizeof(args),
             "--stories '%s/bench/demo/stories' --seed 11 --copies russia-iran-agreement=12 "
             "--bad 6",
             src);
    ND_ASSERT(run_corpus(args, f1, t1) == 0);
    ND_ASSERT(run_corpus(args, f2, t2) == 0);
    ND_EXPECT(files_equal(f1, f2) && files_equal(t1, t2), "same seed, different output");
    snprintf(args, sizeof(args), "--stories '%s/bench/demo/stories' --seed 12 --bad 6", src);
    ND_ASSERT(run_corpus(args, f3, t3) == 0);
    ND_EXPECT(!files_equal(f1, f3), "another seed gave the same feed");

    check_t c;
    feed_check(f1, t1, "russia-iran-agreement", &c);
    ND_EXPECT(c.lines > 100, "%zu lines", c.lines);
    /* Bad lines: 6 asked for, all rejected; nothing else is. */
    ND_EXPECT(c.rejects == 6, "%zu rejects", c.rejects);
    ND_EXPECT(c.truth_dups == 0, "%zu duplicate uris in the truth", c.truth_dups);
    ND_EXPECT(c.missing_in_truth == 0, "%zu parsed uris not in truth", c.missing_in_truth);
    /* Accepted lines = distinct uris + re-deliveries + corrections. */
    ND_EXPECT(c.accepted >= c.truth_lines, "%zu accepted, %zu truth", c.accepted, c.truth_lines);
    ND_EXPECT(c.story_count == 13, "agreement story: %zu uris (1 + 12 copies)", c.story_count);
    ND_EXPECT(c.first_is_agency, "a story's first article is not the agency original");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ND_EXPECT(system(cmd) == 0);
}

/* The committed demo feed: what make demo shows depends on it. */
static void demo_feed_committed(void)
{
    const char *src = getenv("ND_SOURCE_DIR");
    if (!src)
        ND_SKIP("ND_SOURCE_DIR not set");
    char f[4096], t[4096];
    snprintf(f, sizeof(f), "%s/bench/demo/feed.jsonl", src);
    snprintf(t, sizeof(t), "%s/bench/demo/truth.tsv", src);
    check_t c;
    feed_check(f, t, "russia-iran-agreement", &c);
    ND_EXPECT(c.lines > 150 && c.truth_lines > 150, "%zu lines, %zu truth", c.lines, c.truth_lines);
    ND_EXPECT(c.rejects == 6, "%zu rejects", c.rejects);
    ND_EXPECT(c.truth_dups == 0 && c.missing_in_truth == 0);
    ND_EXPECT(c.story_count >= 11, "agreement story has only %zu articles", c.story_count);
    ND_EXPECT(c.first_is_agency);
}

/* A hand-made Reuters file: which stories become base stories, and how their
 * text is decoded. */
static const char mini_sgm[] =
    "<!DOCTYPE lewis SYSTEM \"lewis.dtd\">\n"
    /* 1: a story. */
    "<REUTERS TOPICS=\"YES\" NEWID=\"1\">\n<DATE> 2-MAR-1987 10:01:02.03</DATE>\n"
    "<TEXT>&#2;\n<TITLE>GRAIN INSPECTIONS RISE</TITLE>\n<DATELINE>    WASHINGTON, March 2 - "
    "</DATELINE><BODY>The Agriculture Department said grain export inspections rose sharply\n"
    "in the week ended February 27, led by strong wheat shipments to China and Egypt, "
    "officials\nsaid on Monday.\n    Corn inspections were also higher than a year ago, while "
    "soybean\ninspections fell slightly, the department said in its weekly report issued "
    "in\nthe afternoon.\n Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n"
    /* 2: a reworded re-send of 1 (two words changed): not a new story. */
    "<REUTERS TOPICS=\"YES\" NEWID=\"2\">\n<DATE> 2-MAR-1987 10:31:02.03</DATE>\n"
    "<TEXT>&#2;\n<TITLE>GRAIN INSPECTIONS RISE</TITLE>\n<BODY>The Agriculture Department said "
    "grain export inspections rose strongly\nin the week ended February 27, led by strong "
    "wheat shipments to China and Egypt, officials\nsaid on Monday.\n    Corn inspections "
    "were also higher than a year earlier, while soybean\ninspections fell slightly, the "
    "department said in its weekly report issued in\nthe afternoon.\n Reuter\n&#3;</BODY>"
    "</TEXT>\n</REUTERS>\n"
    /* 4: references, a Latin-1 byte, a malformed date. */
    "<REUTERS TOPICS=\"NO\" NEWID=\"4\">\n<DATE>31-FOO-1987 99:99</DATE>\n<TEXT>\n"
    "<TITLE>CAF&#201; CHAIN &lt;CAFE&gt; EXPANDS</TITLE>\n<BODY>Caf\xe9 Royale Inc &lt;CAFE&gt; "
    "said it will open 40 new shops &amp; hire 600 staff this year, its chairman told the "
    "annual meeting.\n Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n"
    /* 6 and 7: templated look-alikes, every number different: both stay. */
    "<REUTERS NEWID=\"6\">\n<DATE> 3-MAR-1987 09:00:00.00</DATE>\n<TEXT><TITLE>PORT "
    "LOADINGS</TITLE><BODY>Wheat 412,300 tonnes vs 388,700\n    Corn 208,900 tonnes vs "
    "251,400\n    Soybeans 160,300 tonnes vs 163,800\n    Total 781,500 tonnes vs 803,900\n "
    "Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n"
    "<REUTERS NEWID=\"7\">\n<DATE>10-MAR-1987 09:00:00.00</DATE>\n<TEXT><TITLE>PORT "
    "LOADINGS</TITLE><BODY>Wheat 455,100 tonnes vs 412,300\n    Corn 196,200 tonnes vs "
    "208,900\n    Soybeans 118,500 tonnes vs 160,300\n    Total 769,800 tonnes vs 781,500\n "
    "Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n"
    /* 8: a brief without a body; 9: a body too short. */
    "<REUTERS NEWID=\"8\">\n<DATE> 3-MAR-1987 09:00:00.00</DATE>\n<TEXT TYPE=\"BRIEF\">"
    "<TITLE>BRIEF ONLY</TITLE></TEXT>\n</REUTERS>\n"
    "<REUTERS NEWID=\"9\">\n<DATE> 3-MAR-1987 09:00:00.00</DATE>\n<TEXT><TITLE>SHORT"
    "</TITLE><BODY>Too short.\n Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n";

static void corpus_reuters_parsing(void)
{
    if (!have_corpus())
        ND_SKIP("nd-corpus not built");
    char tmpl[] = "/tmp/nd-corpus-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ND_ASSERT(dir != NULL);
    char sgm[512], f[512], t[512], args[1024];
    snprintf(sgm, sizeof(sgm), "%s/reut2-000.sgm", dir);
    snprintf(f, sizeof(f), "%s/m.jsonl", dir);
    snprintf(t, sizeof(t), "%s/m.tsv", dir);
    FILE *fp = fopen(sgm, "wb");
    ND_ASSERT(fp != NULL);
    fwrite(mini_sgm, 1, sizeof(mini_sgm) - 1, fp);
    fclose(fp);
    snprintf(args, sizeof(args), "--reuters '%s' --min-body 50 --seed 3 --max-copies 2", dir);
    ND_ASSERT(run_corpus(args, f, t) == 0);
    size_t tl, fl;
    char *truth = nd_test_read_file(t, &tl);
    char *feed = nd_test_read_file(f, &fl);
    ND_ASSERT(truth && feed);
    const char *want[] = {"\treuters-1\n", "\treuters-4\n", "\treuters-6\n", "\treuters-7\n"};
    for (size_t i = 0; i < 4; i++)
        ND_EXPECT(strstr(truth, want[i]) != NULL, "no story%s", want[i]);
    const char *gone[] = {"\treuters-2\n", "\treuters-8\n", "\treuters-9\n"};
    for (size_t i = 0; i < 3; i++)
        ND_EXPECT(strstr(truth, gone[i]) == NULL, "unexpected story%s", gone[i]);
    /* Latin-1 and &#201; became UTF-8; &lt; &gt; &amp; were decoded (and
     * re-escaped only in HTML bodies); the sign-off and control codes went. */
    ND_EXPECT(strstr(feed, "Caf\xc3\xa9 Royale") != NULL, "Latin-1 not decoded");
    ND_EXPECT(strstr(feed, "CAF\xc3\x89 CHAIN") != NULL, "&#201; not decoded");
    ND_EXPECT(strstr(feed, "<CAFE>") != NULL || strstr(feed, "&lt;CAFE&gt;") != NULL);
    ND_EXPECT(strstr(feed, "&amp;lt;") == NULL && strstr(feed, "&amp;#") == NULL);
    ND_EXPECT(strstr(feed, "shops & hire") != NULL || strstr(feed, "shops &amp; hire") != NULL);
    /* "Reuters" (the agency's name in footers and uris) is fine; "Reuter" alone is not. */
    int signoff = 0;
    for (const char *q = feed; (q = strstr(q, "Reuter")) != NULL; q++)
        signoff |= q[6] != 's';
    ND_EXPECT(!signoff, "the Reuter sign-off was not stripped");
    ND_EXPECT(strstr(feed, "\\u0003") == NULL && strstr(feed, "\\u0002") == NULL);
    /* Two paragraphs in story 1: the indented line opened the second. */
    ND_EXPECT(strstr(feed, "on Monday.\\n") != NULL || strstr(feed, "on Monday.</p>") != NULL,
              "paragraphs not split at indented lines");
    check_t c;
    feed_check(f, t, NULL, &c);
    ND_EXPECT(c.rejects == 0 && c.missing_in_truth == 0 && c.truth_dups == 0);
    free(truth);
    free(feed);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ND_EXPECT(system(cmd) == 0);
}

/* Reuters SGML: references decoded, sign-off stripped, everything parses. */
static void corpus_from_reuters(void)
{
    const char *shared = nd_test_shared_dir();
    if (!shared)
        ND_SKIP("no shared/ folder (ND_SHARED_DIR)");
    if (!have_corpus())
        ND_SKIP("nd-corpus not built");
    char tmpl[] = "/tmp/nd-corpus-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    ND_ASSERT(dir != NULL);
    char f[512], t[512], args[4096];
    snprintf(f, sizeof(f), "%s/r.jsonl", dir);
    snprintf(t, sizeof(t), "%s/r.tsv", dir);
    snprintf(args, sizeof(args), "--reuters '%s/data/reuters21578' --limit 300 --seed 5", shared);
    ND_ASSERT(run_corpus(args, f, t) == 0);
    check_t c;
    feed_check(f, t, NULL, &c);
    ND_EXPECT(c.lines > 300 && c.rejects == 0, "%zu lines, %zu rejects", c.lines, c.rejects);
    ND_EXPECT(c.truth_dups == 0 && c.missing_in_truth == 0);
    size_t len;
    char *feed = nd_test_read_file(f, &len);
    ND_ASSERT(feed != NULL);
    /* An undecoded SGML reference would show up HTML-escaped a second time. */
    ND_EXPECT(strstr(feed, "&amp;lt;") == NULL && strstr(feed, "&amp;#") == NULL);
    ND_EXPECT(strstr(feed, "&#3;") == NULL && strstr(feed, "\\u0003") == NULL,
              "SGML control references left in the text");
    ND_EXPECT(strstr(feed, " Reuter\"") == NULL && strstr(feed, "Reuter\\n\"") == NULL,
              "the Reuter sign-off was not stripped");
    free(feed);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ND_EXPECT(system(cmd) == 0);
}

int main(void)
{
    ND_TEST(metrics_identical);
    ND_TEST(metrics_sklearn_example);
    ND_TEST(metrics_all_merged);
    ND_TEST(metrics_all_split);
    ND_TEST(corpus_from_stories);
    ND_TEST(demo_feed_committed);
    ND_TEST(corpus_reuters_parsing);
    ND_TEST(corpus_from_reuters);
    return nd_test_done();
}
