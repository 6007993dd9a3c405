/* label: unit */
/*
 * test_normalize.c - nd_normalize() on every script the engine must handle,
 * HTML, typography, the ASCII fast path against the general path, and the
 * per-code-point path against utf8proc's whole-string NFKC map.
 */
#include "normalize_int.h"
#include "nd_test.h"

#include <utf8proc.h>

static const struct {
    const char *name;
    const char *in;
    int html;
    const char *want;
} cases[] = {
    {"english typography",
     "The \xe2\x80\x9cQuick\xe2\x80\x9d brown\xe2\x80\x94"
     "fox\xe2\x80\x99s \xef\xac\x81ne "
     "caf\xc3\xa9\xe2\x80\xa6 1,000\xc2\xa0votes \xe2\x80\x93 NAI\xcc\x88VE",
     0, "the quick brown fox s fine cafe 1 000 votes naive"},
    {"straight and curly quotes agree", "don't \"stop\" -- now...", 0, "don t stop now"},
    {"curly", "don\xe2\x80\x99t \xe2\x80\x9cstop\xe2\x80\x9d \xe2\x80\x94 now\xe2\x80\xa6", 0,
     "don t stop now"},
    {"fullwidth and ligatures",
     "\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3 \xef\xbc\x91\xef\xbc\x92 "
     "\xef\xac\x80",
     0, "abc 12 ff"},
    {"html",
     "<p>Hello&nbsp;<b>wo</b>rld &amp; co &mdash; it&rsquo;s &#233;t&#xE9;</p>"
     "<script>var x = 1;</script><style>p{}</style><div>next</div><br/>end",
     1, "hello world co it s ete next end"},
    {"html comments, head, literal <",
     "<html><head><title>T</title></head><body><!-- c -->"
     "a < b &unknown; c&lt;d</body></html>",
     1, "a b unknown c d"},
    {"german",
     "F\xc3\xbcr Lucien Favre war es \xc2\xab"
     "der gr\xc3\xb6\xc3\x9f"
     "te Skandal im "
     "Fu\xc3\x9f"
     "ball\xc2\xbb",
     0, "fur lucien favre war es der grosste skandal im fussball"},
    {"french",
     "\xc3\x89l\xc3\xa8ve fran\xc3\xa7"
     "ais : \xc3\xa0 l\xe2\x80\x99h\xc3\xb4pital, "
     "\xc3\xa7"
     "a co\xc3\xbbte",
     0, "eleve francais a l hopital ca coute"},
    {"russian",
     "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0\xcc\x81 \xe2\x80\x94 "
     "\xd1\x81\xd1\x82\xd0\xbe\xd0\xbb\xd0\xb8\xd1\x86\xd0\xb0 \xd0\xa0\xd0\xbe\xd1\x81"
     "\xd1\x81\xd0\xb8\xd0\xb8. \xd0\x81\xd0\xbb\xd0\xba\xd0\xb0",
     0, "москва столица россии елка"},
    {"greek",
     "\xce\x97 \xce\x91\xce\xb8\xce\xae\xce\xbd\xce\xb1 \xce\xb5\xce\xaf\xce\xbd\xce\xb1"
     "\xce\xb9 \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3 \xcf\x83\xce\xbf\xcf\x86\xcf\x8c"
     "\xcf\x82",
     0, "η αθηνα ειναι σοφοσ σοφοσ"},
    {"arabic with harakat and tatweel",
     "\xd8\xa7\xd9\x84\xd9\x92\xd8\xb9\xd9\x8e\xd8\xb1\xd9\x8e\xd8\xa8\xd9\x90\xd9\x8a\xd9\x8e"
     "\xd9\x91\xd8\xa9 \xd9\x85\xd9\x80\xd9\x80\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7\xd8\x8c "
     "\xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85",
     0, "العربية مرحبا بالعالم"},
    {"persian with zwnj",
     "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85 "
     "\xd8\xa8\xd9\x87 \xd8\xae\xd8\xa7\xd9\x86\xd9\x87 \xd8\xa8\xd8\xb1\xd9"
     "\x88\xd9\x85\xd8\x9f",
     0, "میخواهم به خانه بروم"},
    {"chinese",
     "\xe5\x8c\x97\xe4\xba\xac\xe6\xac\xa2\xe8\xbf\x8e\xe4\xbd\xa0\xe3\x80\x82"
     "Cambrios\xe8\xa2\xab Gartner",
     0, "北 京 欢 迎 你 cambrios 被 gartner"},
    {"japanese",
     "\xe6\x9d\xb1\xe4\xba\xac\xe3\x82\xbf\xe3\x83\xaf\xe3\x83\xbc\xe3\x81\xaf\xe9\xab"
     "\x98\xe3\x81\x84\xe3\x80\x82\xef\xbd\xb6\xef\xbe\x80\xef\xbd\xb6\xef\xbe\x85",
     0, "東 京 タ ワ ー は 高 い カ タ カ ナ"},
    {"thai",
     "\xe0\xb8\xa0\xe0\xb8\xb2\xe0\xb8\xa9\xe0\xb8\xb2\xe0\xb9\x84\xe0\xb8\x97\xe0\xb8"
     "\xa2 \xe0\xb8\x87\xe0\xb9\x88\xe0\xb8\xb2\xe0\xb8\xa2",
     0, "ภ า ษ า ไ ท ย ง า ย"},
    {"korean stays in words",
     "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xed\x85\x8d\xec\x8a\xa4"
     "\xed\x8a\xb8",
     0, "한국어 텍스트"},
    {"nothing", " -- !!! ... \xe2\x80\x94 ", 0, ""},
    {"empty", "", 0, ""},
};

static void scripts(void)
{
    nd_buf_t out = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nd_err_t err = nd_normalize(cases[i].in, strlen(cases[i].in), cases[i].html, &out);
        ND_EXPECT(err == ND_ERR_NO_ERROR, "%s: %s", cases[i].name, nd_err_name(err));
        ND_EXPECT(out.len == strlen(cases[i].want) && memcmp(out.p, cases[i].want, out.len) == 0,
                  "%s:\n  got  [%s]\n  want [%s]", cases[i].name, out.p, cases[i].want);
        ND_EXPECT(out.p[out.len] == '\0');
    }
    nd_buf_free(&out);
}

static void bad_utf8(void)
{
    static const char *const bad[] = {
        "caf\xc3", "\xff", "a\xed\xa0\x80z", "\xc0\xaf", "\xf4\x90\x80\x80", "ok \xe2\x82"};
    nd_buf_t out = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ND_EXPECT(nd_normalize(bad[i], strlen(bad[i]), 0, &out) == ND_ERR_BAD_UTF8, "case %zu", i);
        ND_EXPECT(nd_normalize(bad[i], strlen(bad[i]), 1, &out) == ND_ERR_BAD_UTF8, "case %zu", i);
        ND_EXPECT(nd_utf8_check(bad[i], strlen(bad[i])) < strlen(bad[i]));
    }
    ND_EXPECT(nd_utf8_check("\xf0\x9f\x98\x80 \xe2\x82\xac", 8) == 8);
    nd_buf_free(&out);
}

/* Inputs mixing ASCII and everything else, in awkward places. */
static const char *const mixed[] = {
    "Caf\xc3\xa9 au lait, na\xc3\xafve r\xc3\xa9sum\xc3\xa9! 42\xc2\xb2 \xe2\x85\xa0\xe2\x85\xa1",
    "e\xcc\x81t\xcc\x81\xc3\xa9 ABC\xe2\x80\x8d"
    "DEF x\xe2\x80\x8by",
    "mixed\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0text\xe5\x8c\x97\xe4\xba\xac"
    "end",
    "\xef\xbc\xa8\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x8f, World\xe2\x80\xa6 "
    "\xe2\x80\x9cq\xe2\x80\x9d",
    "<p>HTML &amp; \xc3\xa9l\xc3\xa8ve&#x301;s</p><p>\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 "
    "1\xc2\xbd</p>",
    "  lead and trail  \t\n",
    "\xef\xb7\xba \xe3\x8d\xbf \xe2\x84\xab\xe2\x84\xa6 \xc7\x85 \xe1\xba\x9e",
};

static void ascii_fast_path_matches_general(void)
{
    nd_buf_t a = {0}, b = {0};
    for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
        for (int html = 0; html < 2; html++) {
            ND_EXPECT(nd_normalize_ex(mixed[i], strlen(mixed[i]), html, 0, &a) == 0);
            ND_EXPECT(
                nd_normalize_ex(mixed[i], strlen(mixed[i]), html, ND_NORM_NO_ASCII_FAST, &b) == 0);
            ND_EXPECT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
                      "mixed %zu html %d:\n  fast    [%s]\n  general [%s]", i, html, a.p, b.p);
        }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nd_normalize_ex(cases[i].in, strlen(cases[i].in), cases[i].html, ND_NORM_NO_ASCII_FAST, &b);
        ND_EXPECT(strcmp(b.p, cases[i].want) == 0, "general path on %s: [%s]", cases[i].name, b.p);
    }
    nd_buf_free(&a);
    nd_buf_free(&b);
}

/*
 * The reference: utf8proc_map() over the whole string (NFKC, case fold,
 * strip marks, ignorables, lump), then the same word rules. The per-code-
 * point path must give the same tokens.
 */
static void reference_tokens(const char *in, nd_buf_t *out)
{
    utf8proc_uint8_t *m = NULL;
    nd_buf_reset(out);
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)strlen(in), &m,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                         UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_LUMP);
    if (n < 0)
        return;
    int sep = 0;
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        i += utf8proc_iterate(m + i, n - i, &cp);
        utf8proc_category_t c = utf8proc_category(cp);
        if (cp == 0x640 || cp == 0x200C || cp == 0x200D || c == UTF8PROC_CATEGORY_MN ||
            c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF)
            continue;
        int word = c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL ||
                   c == UTF8PROC_CATEGORY_LT || c == UTF8PROC_CATEGORY_LM ||
                   c == UTF8PROC_CATEGORY_LO || c == UTF8PROC_CATEGORY_ND ||
                   c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
        if (!word) {
            sep = 1;
            continue;
        }
        int alone = (cp >= 0x0E00 && cp <= 0x0EFF) || (cp >= 0x3040 && cp <= 0x30FF) ||
                    (cp >= 0x4E00 && cp <= 0x9FFF);
        if ((sep || alone) && out->len)
            nd_buf_putc(out, ' ');
        utf8proc_uint8_t enc[4];
        nd_buf_append(out, enc, (size_t)utf8proc_encode_char(cp, enc));
        sep = alone;
    }
    free(m);
}

static void matches_utf8proc_map(void)
{
    nd_buf_t a = {0}, ref = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].html)
            continue;
        nd_normalize(cases[i].in, strlen(cases[i].in), 0, &a);
        reference_tokens(cases[i].in, &ref);
        ND_EXPECT(a.len == ref.len && memcmp(a.p, ref.p, a.len) == 0,
                  "%s:\n  ours [%s]\n  map  [%s]", cases[i].name, a.p, ref.p);
    }
    for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++) {
        if (mixed[i][0] == '<')
            continue;
        nd_normalize(mixed[i], strlen(mixed[i]), 0, &a);
        reference_tokens(mixed[i], &ref);
        ND_EXPECT(a.len == ref.len && memcmp(a.p, ref.p, a.len) == 0,
                  "mixed %zu:\n  ours [%s]\n  map  [%s]", i, a.p, ref.p);
    }
    nd_buf_free(&a);
    nd_buf_free(&ref);
}

static void output_shape_and_reuse(void)
{
    nd_buf_t out = {0};
    const char *s = "  Many   spaces\t\tand\n\nlines  ";
    ND_EXPECT(nd_normalize(s, strlen(s), 0, &out) == 0);
    ND_EXPECT(strcmp(out.p, "many spaces and lines") == 0, "[%s]", out.p);
    /* out is reset, not appended to */
    ND_EXPECT(nd_normalize("x", 1, 0, &out) == 0);
    ND_EXPECT(strcmp(out.p, "x") == 0);
    /* allocation failure leaves an error, not a crash */
    nd_buf_t fresh = {0};
    nd_alloc_fail_after(0);
    nd_err_t err = nd_normalize(s, strlen(s), 0, &fresh);
    nd_alloc_fail_after(-1);
    ND_EXPECT(err == ND_ERR_NOMEM);
    nd_buf_free(&fresh);
    nd_buf_free(&out);
}

static uint64_t xorshift(uint64_t *r)
{
    *r ^= *r << 13;
    *r ^= *r >> 7;
    *r ^= *r << 17;
    return *r;
}

/* The flags of every ASCII path this build and CPU can run. */
static const unsigned path_flags[] = {0, ND_NORM_NO_AVX2, ND_NORM_NO_ASCII_FAST};
static const char *const path_names[] = {"best (AVX2 where the CPU has it)", "SSE2", "general"};

/*
 * The AVX2 ASCII path against the SSE2 one and the general path: random
 * English-like texts (runs of letters, separators, digits, some non-ASCII and
 * markup) up to 700 bytes (so runs end at every offset of a
 * 32-byte block and the tail is padded), text and HTML.
 */
static void simd_paths_agree(void)
{
    static const char *const pieces[] = {
        "the",
        "Trial",
        "of",
        "CAPTAIN",
        "a",
        "x1",
        "2024",
        " ",
        " ",
        " ",
        ", ",
        ". ",
        "--",
        "\n",
        "\t",
        "'",
        "(",
        ")",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
        "                                         ",
        "e\xcc\x81",
        "caf\xc3\xa9",
        "\xe2\x80\x94",
        "\xe2\x80\x99",
        "\xd0\x96",
        "\xe5\x8c\x97",
        "<p>",
        "&amp;",
        "&#233;",
        "</b>",
        "<STRONG>",
        "&nbsp;",
        "&lt;",
        "\\",
        "@",
        "[",
        "`",
        "{",
        "~",
        "\x7f",
        "ab",
        "Z",
        "9",
        "  ",
        "...",
    };
    const size_t np = sizeof(pieces) / sizeof(pieces[0]);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    nd_buf_t in = {0}, out[3] = {{0}, {0}, {0}};
    int mismatches = 0;
    if (!__builtin_cpu_supports("avx2"))
        fprintf(stderr, "note: no AVX2 on this CPU: the best path is SSE2\n");
    for (int t = 0; t < 4000 && mismatches < 5; t++) {
        nd_buf_reset(&in);
        size_t target = (size_t)(t % 700);
        int ascii_only = t % 3 == 0;
        while (in.len < target) {
            const char *pc = pieces[xorshift(&rng) % (ascii_only ? 20 : np)];
            nd_buf_append(&in, pc, strlen(pc));
        }
        int html = t % 4 == 0;
        for (int k = 0; k < 3; k++)
            ND_EXPECT(nd_normalize_ex(in.p ? in.p : "", in.len, html, path_flags[k], &out[k]) == 0);
        for (int k = 1; k < 3; k++)
            if (out[0].len != out[k].len || memcmp(out[0].p, out[k].p, out[0].len) != 0) {
                mismatches++;
                ND_EXPECT(0, "random %d html %d: in [%s]\n  %s [%s]\n  %s [%s]", t, html, in.p,
                          path_names[0], out[0].p, path_names[k], out[k].p);
            }
    }
    nd_buf_free(&in);
    for (int k = 0; k < 3; k++)
        nd_buf_free(&out[k]);
}

/* Append s[0..n) to b as the inside of a JSON string with one-character
 * escapes only; '/' is escaped when slash is set. */
static void json_escape(nd_buf_t *b, const char *s, size_t n, int slash)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        case '/':
            e = slash ? "\\/" : NULL;
            break;
        default:
            break;
        }
        if (e)
            nd_buf_append(b, e, strlen(e));
        else
            nd_buf_append(b, s + i, 1);
    }
}

/*
 * ND_NORM_JSON_ESCAPES: the raw JSON text of a string normalises, on every
 * path, to what its decoded text does. An escaped backslash before a letter
 * ("\\\\n") leaves the letter a letter.
 */
static void json_escapes_match_decoded(void)
{
    static const struct {
        const char *raw, *want;
    } fixed[] = {
        {"a\\nb", "a b"},     {"a\\\\nb", "a nb"},
        {"a\\\\\\nb", "a b"}, {"\\\"Quoted\\\" and\\/or\\ttab\\r\\f\\b", "quoted and or tab"},
        {"\\\\\\\\x", "x"},   {"tail\\\\", "tail"},
    };
    nd_buf_t out = {0}, dec = {0}, raw = {0};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (int k = 0; k < 3; k++) {
            nd_err_t err = nd_normalize_ex(fixed[i].raw, strlen(fixed[i].raw), 0,
                                           path_flags[k] | ND_NORM_JSON_ESCAPES, &out);
            ND_EXPECT(err == 0 && strcmp(out.p, fixed[i].want) == 0, "%s, %s: [%s] want [%s]",
                      fixed[i].raw, path_names[k], out.p, fixed[i].want);
        }

    static const char *const pieces[] = {
        "word",
        "Mixed",
        "42",
        " ",
        " ",
        ", ",
        "\"",
        "\\",
        "\\n",
        "/",
        "\b",
        "\f",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        "n",
        "t",
        "u",
        "x\\y",
        "caf\xc3\xa9",
        "\xe2\x80\x9c",
        "\xe2\x80\x9d",
        "\xd0\x96",
        "\xe5\x8c\x97",
        "abcdefghijklmnopqrstuvwxyzabcdefghijk",
    };
    const size_t np = sizeof(pieces) / sizeof(pieces[0]);
    uint64_t rng = 88172645463325252ull;
    nd_buf_t want = {0};
    int mismatches = 0;
    for (int t = 0; t < 3000 && mismatches < 5; t++) {
        nd_buf_reset(&dec);
        nd_buf_reset(&raw);
        size_t target = (size_t)(t % 500);
        while (dec.len < target) {
            const char *pc = pieces[xorshift(&rng) % (t % 2 ? 20 : np)];
            nd_buf_append(&dec, pc, strlen(pc));
        }
        json_escape(&raw, dec.p ? dec.p : "", dec.len, t % 3 == 0);
        ND_EXPECT(nd_normalize_ex(dec.p ? dec.p : "", dec.len, 0, ND_NORM_NO_ASCII_FAST, &want) ==
                  0);
        for (int k = 0; k < 3; k++) {
            ND_EXPECT(nd_normalize_ex(raw.p ? raw.p : "", raw.len, 0,
                                      path_flags[k] | ND_NORM_JSON_ESCAPES, &out) == 0);
            if (out.len != want.len || memcmp(out.p, want.p, out.len) != 0) {
                mismatches++;
                ND_EXPECT(0, "random %d, %s: raw [%s]\n  got  [%s]\n  want [%s]", t, path_names[k],
                          raw.p, out.p, want.p);
            }
        }
    }
    /* Outside the contract too (a '\\' before any byte, a lone one at the
     * end), every path gives the same output. */
    nd_buf_t alt = {0};
    for (int t = 0; t < 3000 && mismatches < 5; t++) {
        nd_buf_reset(&raw);
        size_t target = (size_t)(t % 300);
        while (raw.len < target) {
            const char *pc = pieces[xorshift(&rng) % np];
            nd_buf_append(&raw, pc, strlen(pc));
        }
        nd_err_t e0 = nd_normalize_ex(raw.p ? raw.p : "", raw.len, 0,
                                      ND_NORM_NO_ASCII_FAST | ND_NORM_JSON_ESCAPES, &want);
        for (int k = 0; k < 2; k++) {
            nd_err_t e1 = nd_normalize_ex(raw.p ? raw.p : "", raw.len, 0,
                                          path_flags[k] | ND_NORM_JSON_ESCAPES, &alt);
            if (e0 != e1 || (e0 == 0 && (alt.len != want.len || memcmp(alt.p, want.p, alt.len)))) {
                mismatches++;
                ND_EXPECT(0, "raw %d, %s: [%s]\n  got  %d [%s]\n  want %d [%s]", t, path_names[k],
                          raw.p, e1, alt.p, e0, want.p);
            }
        }
    }
    nd_buf_free(&alt);
    nd_buf_free(&want);
    nd_buf_free(&out);
    nd_buf_free(&dec);
    nd_buf_free(&raw);
}

/*
 * ND_NORM_JSON_ESCAPES on HTML: the raw JSON text walks as its decoded text
 * does, on every path, with escapes inside markup ("<\\/p>", a '>' quoted
 * by "\\\"", "</script\\n>") and next to it.
 */
static void json_escapes_html_match_decoded(void)
{
    static const struct {
        const char *raw, *want;
    } fixed[] = {
        {"a<p>b<\\/p>c", "a b c"},
        {"x<a title=\\\"1>2\\\">y<\\/a>z", "xyz"},
        {"<script>q<\\/script\\n>w", "w"},
        {"<style>q</style\\t>w<\\\\/p>v", "w p v"},
        {"a<\\nb>c&lt;d&#92;e", "a b c d e"},
    };
    nd_buf_t out = {0}, dec = {0}, raw = {0}, want = {0};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (int k = 0; k < 3; k++) {
            nd_err_t err = nd_normalize_ex(fixed[i].raw, strlen(fixed[i].raw), 1,
                                           path_flags[k] | ND_NORM_JSON_ESCAPES, &out);
            ND_EXPECT(err == 0 && strcmp(out.p, fixed[i].want) == 0, "%s, %s: [%s] want [%s]",
                      fixed[i].raw, path_names[k], out.p, fixed[i].want);
        }
    static const char *const pieces[] = {
        "word",
        "Mixed 42",
        " ",
        "\"",
        "\\",
        "/",
        "\n",
        "\t",
        "<p>",
        "</p>",
        "<b>",
        "</b\t>",
        "<div class=\"a>b\">",
        "<a title='x\">y'>",
        "<script>",
        "</script>",
        "</SCRIPT\n>",
        "</script/>",
        "<style>",
        "</style\r>",
        "<!-- c -->",
        "-->",
        "<!x>",
        "<?p?>",
        "<",
        "<\n",
        "</",
        "&",
        "&lt;",
        "&amp",
        "&#92;",
        "&#x5C;",
        "&nbsp;",
        "caf\xc3\xa9",
        "\xe2\x80\x9c",
        "abcdefghijklmnopqrstuvwxyzabcdefghijk",
    };
    const size_t np = sizeof(pieces) / sizeof(pieces[0]);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int mismatches = 0;
    for (int t = 0; t < 4000 && mismatches < 5; t++) {
        nd_buf_reset(&dec);
        nd_buf_reset(&raw);
        size_t target = (size_t)(t % 400);
        while (dec.len < target) {
            const char *pc = pieces[xorshift(&rng) % np];
            nd_buf_append(&dec, pc, strlen(pc));
        }
        json_escape(&raw, dec.p ? dec.p : "", dec.len, t % 2 == 0);
        ND_EXPECT(nd_normalize_ex(dec.p ? dec.p : "", dec.len, 1, ND_NORM_NO_ASCII_FAST, &want) ==
                  0);
        for (int k = 0; k < 3; k++) {
            ND_EXPECT(nd_normalize_ex(raw.p ? raw.p : "", raw.len, 1,
                                      path_flags[k] | ND_NORM_JSON_ESCAPES, &out) == 0);
            if (out.len != want.len || memcmp(out.p, want.p, out.len) != 0) {
                mismatches++;
                ND_EXPECT(0, "random %d, %s: raw [%s]\n  got  [%s]\n  want [%s]", t, path_names[k],
                          raw.p, out.p, want.p);
            }
        }
    }
    nd_buf_free(&want);
    nd_buf_free(&out);
    nd_buf_free(&dec);
    nd_buf_free(&raw);
}

/* Tag names (inline ones join words, others break them, any case) and the
 * entities that are looked up before the tables. */
static void html_names(void)
{
    static const char *const inl[] = {
        "a",    "b",     "i",      "q",      "s",    "u",    "em",   "tt",     "bdi",
        "bdo",  "dfn",   "kbd",    "sub",    "sup",  "var",  "wbr",  "big",    "ins",
        "del",  "abbr",  "cite",   "code",   "data", "font", "mark", "samp",   "span",
        "time", "small", "strong", "strike", "B",    "Em",   "SPAN", "StRoNg",
    };
    static const char *const block[] = {
        "p",     "c",      "r",       "z",       "h1",         "br", "bd", "div", "sub1",
        "abbrx", "smalll", "strongg", "strikes", "blockquote", "x",  "t",  "P",   "DIV",
    };
    nd_buf_t in = {0}, out = {0};
    for (size_t i = 0; i < sizeof(inl) / sizeof(inl[0]); i++) {
        nd_buf_reset(&in);
        nd_buf_printf(&in, "ab<%s class=\"k\">cd</%s>ef", inl[i], inl[i]);
        ND_EXPECT(nd_normalize(in.p, in.len, 1, &out) == 0 && strcmp(out.p, "abcdef") == 0,
                  "<%s>: [%s]", inl[i], out.p);
    }
    for (size_t i = 0; i < sizeof(block) / sizeof(block[0]); i++) {
        nd_buf_reset(&in);
        nd_buf_printf(&in, "ab<%s>cd</%s>ef", block[i], block[i]);
        ND_EXPECT(nd_normalize(in.p, in.len, 1, &out) == 0 && strcmp(out.p, "ab cd ef") == 0,
                  "<%s>: [%s]", block[i], out.p);
    }
    const char *sk = "a<SCRIPT>x</script>b<Style>y</STYLE>c<head>z</head>d<scripts>w</scripts>e";
    ND_EXPECT(nd_normalize(sk, strlen(sk), 1, &out) == 0 && strcmp(out.p, "a b c d w e") == 0,
              "[%s]", out.p);
    static const struct {
        const char *in, *want;
    } ent[] = {
        {"x&lt;y&gt;z&amp;w&quot;v", "x y z w v"},
        {"a&nbsp;b&mdash;c&ndash;d", "a b c d"},
        {"&ldquo;Hi&rdquo; it&rsquo;s &lsquo;q&rsquo;", "hi it s q"},
        {"&LT;x &Lt;y &ltx; &lt", "lt x lt y ltx lt"},
        {"&Agrave;&eacute;&szlig;&euro;&frac12;&sup2;", "aess 1 22"},
        {"&Aacute;&amp&AMP;&Nbsp;", "a amp amp nbsp"},
    };
    for (size_t i = 0; i < sizeof(ent) / sizeof(ent[0]); i++)
        ND_EXPECT(nd_normalize(ent[i].in, strlen(ent[i].in), 1, &out) == 0 &&
                      strcmp(out.p, ent[i].want) == 0,
                  "%s: [%s] want [%s]", ent[i].in, out.p, ent[i].want);
    nd_buf_free(&in);
    nd_buf_free(&out);
}

/*
 * The AVX2 path reads some markup, entities and typographic characters as
 * separator bytes inside its block loop (norm_sep_len(), ptag_bytes()).
 * Each of those, and near misses, at every offset across the first two
 * 32-byte block boundaries, glued to words or spaced, after an escape or
 * an escaped backslash, with and without html and JSON escapes: every path
 * must give the same output, and a few known answers are checked.
 */
static void sep_constructs_in_blocks(void)
{
    static const char *const cons[] = {
        "<p>",
        "</p>",
        "&nbsp;",
        "&lt;",
        "&gt;",
        "&amp;",
        "&quot;",
        "&#8217;",
        "&mdash;",
        "&ldquo;",
        "&rdquo;",
        "&rsquo;",
        "&lsquo;",
        "&ndash;",
        "\xc2\xa0",
        "\xe2\x80\x93",
        "\xe2\x80\x94",
        "\xe2\x80\x98",
        "\xe2\x80\x99",
        "\xe2\x80\x9c",
        "\xe2\x80\x9d",
        "\xe2\x80\xa6",
        /* near misses */
        "<P>",
        "</P>",
        "<p",
        "</p",
        "<pp>",
        "<p/>",
        "<b>",
        "</b>",
        "<\\/p>",
        "&nbsp",
        "&NBSP;",
        "&#82170;",
        "&#8217",
        "&amp",
        "&mdash;x",
        "\xe2\x80\x9a",
        "\xe2\x80\x8b",
        "\xc2\xa1",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "</p><p>",
        "&lt;&gt;",
        "\xe2\x80\x9c\xe2\x80\x9d",
    };
    static const char *const before[] = {"", " ", "\\n", "\\\\", "\\"};
    static const char *const after[] = {"", " ", "x", "\\n"};
    const size_t nc = sizeof(cons) / sizeof(cons[0]);
    nd_buf_t in = {0}, out[3] = {{0}, {0}, {0}};
    int mismatches = 0;
    for (size_t c = 0; c < nc && mismatches < 5; c++)
        for (size_t off = 0; off < 72; off++)
            for (size_t bi = 0; bi < 5; bi++)
                for (size_t ai = 0; ai < 4; ai++) {
                    nd_buf_reset(&in);
                    for (size_t k = 0; k < off; k++)
                        nd_buf_append(&in, k % 6 == 5 ? " " : "w", 1);
                    nd_buf_append(&in, before[bi], strlen(before[bi]));
                    nd_buf_append(&in, cons[c], strlen(cons[c]));
                    nd_buf_append(&in, after[ai], strlen(after[ai]));
                    nd_buf_append(&in, "Word tail of the text", ai == 3 ? 21 : 4);
                    for (unsigned mode = 0; mode < 4; mode++) {
                        int html = mode & 1;
                        unsigned esc = mode & 2 ? ND_NORM_JSON_ESCAPES : 0;
                        nd_err_t e[3];
                        for (int k = 0; k < 3; k++)
                            e[k] =
                                nd_normalize_ex(in.p, in.len, html, path_flags[k] | esc, &out[k]);
                        for (int k = 1; k < 3; k++)
                            if (e[0] != e[k] || out[0].len != out[k].len ||
                                memcmp(out[0].p, out[k].p, out[0].len) != 0) {
                                mismatches++;
                                ND_EXPECT(0, "mode %u: in [%s]\n  %s %d [%s]\n  %s %d [%s]", mode,
                                          in.p, path_names[0], (int)e[0], out[0].p, path_names[k],
                                          (int)e[k], out[k].p);
                            }
                    }
                }
    static const struct {
        const char *in, *want;
        int html;
    } known[] = {
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa</p><p>bb&nbsp;c&#8217;d&mdash;e",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb c d e", 1},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx<p>y<pp>z<b>w</b>v",
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx y zwv", 1},
        {"it\xe2\x80\x99s \xe2\x80\x9c"
         "q\xe2\x80\x9d a\xc2\xa0"
         "b\xe2\x80\xa6"
         "c",
         "it s q a b c", 0},
        {"p<p>q&amp;r", "p p q amp r", 0},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        ND_EXPECT(nd_normalize(known[i].in, strlen(known[i].in), known[i].html, &out[0]) == 0 &&
                      strcmp(out[0].p, known[i].want) == 0,
                  "%s: [%s] want [%s]", known[i].in, out[0].p, known[i].want);
    nd_buf_free(&in);
    for (int k = 0; k < 3; k++)
        nd_buf_free(&out[k]);
}

int main(void)
{
    ND_TEST(scripts);
    ND_TEST(bad_utf8);
    ND_TEST(ascii_fast_path_matches_general);
    ND_TEST(matches_utf8proc_map);
    ND_TEST(output_shape_and_reuse);
    ND_TEST(simd_paths_agree);
    ND_TEST(json_escapes_match_decoded);
    ND_TEST(json_escapes_html_match_decoded);
    ND_TEST(html_names);
    ND_TEST(sep_constructs_in_blocks);
    return nd_test_done();
}
