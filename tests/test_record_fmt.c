/* label: unit */
/*
 * test_record_fmt.c - the formatting appends of nd_common.h that the record
 * encoders use instead of printf, held byte for byte against snprintf (or
 * against the function they stand in for), and the records built with them
 * against a printf-based encoding of the same decision.
 */
#include "nd_sinks.h"
#include "nd_test.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>

/* A deterministic generator (splitmix64), so failures reproduce. */
static uint64_t rnd_next(uint64_t *st)
{
    uint64_t z = (*st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A double uniform in [0, 1). */
static double rnd_unit(uint64_t *st)
{
    return (double)(rnd_next(st) >> 11) * 0x1.0p-53;
}

/* The next double after v toward +inf (dir > 0) or -inf (nextafter
 * without libm, which the tests do not link). v is finite. */
static double step(double v, int dir)
{
    if (v == 0)
        return dir > 0 ? DBL_TRUE_MIN : -DBL_TRUE_MIN;
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    if ((v > 0) == (dir > 0))
        bits++;
    else
        bits--;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

/* 2^e for -1022 <= e <= 1023 (ldexp's scale, without libm). */
static double pow2(int e)
{
    uint64_t bits = (uint64_t)(e + 1023) << 52;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static int fixed_fails;

/* nd_buf_append_fixed(v, prec) == snprintf("%.*f"); counts and reports the
 * first few mismatches. */
static void check_fixed(double v, int prec)
{
    char want[512];
    snprintf(want, sizeof(want), "%.*f", prec, v);
    nd_buf_t b = {0};
    nd_buf_append(&b, "x", 1); /* appends after existing content */
    ND_ASSERT(nd_buf_append_fixed(&b, v, prec) == ND_ERR_NO_ERROR);
    if (strcmp(b.p + 1, want) || b.len != 1 + strlen(want)) {
        if (fixed_fails++ < 10)
            ND_EXPECT(0, "%%.%df of %a: got %s, printf says %s", prec, v, b.p + 1, want);
    }
    nd_buf_free(&b);
}

static void fixed_matches_printf_on_ties_and_edges(void)
{
    fixed_fails = 0;
    static const double edge[] = {0.0,
                                  -0.0,
                                  0.00005,
                                  0.99995,
                                  1.0,
                                  0.5,
                                  0.00015,
                                  0.00025,
                                  0.12345,
                                  0.87654,
                                  0.999949999,
                                  0.99994999999999,
                                  0.9999500000001,
                                  1.5,
                                  2.5,
                                  0.125,
                                  0.375,
                                  -0.5,
                                  -1.5,
                                  -0.00005,
                                  -0.00001,
                                  1e-300,
                                  DBL_MIN,
                                  DBL_TRUE_MIN,
                                  -DBL_TRUE_MIN,
                                  999999999.99995,
                                  999999999.5,
                                  -999999999.5,
                                  1e9,
                                  -1e9,
                                  1e15,
                                  1e300,
                                  DBL_MAX,
                                  -DBL_MAX,
                                  0x1.fffffffffffffp-1,
                                  4503599627370495.5,
                                  4503599627370496.0};
    for (size_t k = 0; k < sizeof(edge) / sizeof(edge[0]); k++)
        for (int prec = 0; prec <= 12; prec++) {
            check_fixed(edge[k], prec);
            if (edge[k] != DBL_MAX)
                check_fixed(step(edge[k], 1), prec);
            if (edge[k] != -DBL_MAX)
                check_fixed(step(edge[k], -1), prec);
        }
    check_fixed(NAN, 4);
    check_fixed(-NAN, 4);
    check_fixed(INFINITY, 4);
    check_fixed(-INFINITY, 4);
    check_fixed(0.5, -1); /* printf's default precision */
    ND_EXPECT(fixed_fails == 0, "%d mismatches", fixed_fails);
}

/* Every k / 10^5 and its neighbours: each is near a %.4f rounding tie. */
static void fixed_matches_printf_near_every_4_decimal_tie(void)
{
    fixed_fails = 0;
    for (int k = 0; k <= 200000; k++) {
        double v = k / 100000.0;
        check_fixed(v, 4);
        check_fixed(step(v, 1), 4);
        check_fixed(step(v, -1), 4);
        check_fixed(v / 10, 5);
    }
    ND_EXPECT(fixed_fails == 0, "%d mismatches", fixed_fails);
}

static void fixed_matches_printf_on_random_values(void)
{
    fixed_fails = 0;
    uint64_t st = 42;
    for (int i = 0; i < 200000; i++) {
        double u = rnd_unit(&st);
        check_fixed(u, 4);                                    /* similarities */
        check_fixed(u * pow2((int)(rnd_next(&st) % 80) - 40), /* any magnitude */
                    (int)(rnd_next(&st) % 11));
        uint64_t bits = rnd_next(&st); /* any bit pattern */
        double any;
        memcpy(&any, &bits, sizeof(any));
        check_fixed(any, (int)(rnd_next(&st) % 10));
        /* Halfway between two 4-decimal values, rounded to binary. */
        check_fixed(((double)(rnd_next(&st) % 10000) + 0.5) / 10000, 4);
    }
    ND_EXPECT(fixed_fails == 0, "%d mismatches", fixed_fails);
}

static void integers_match_printf(void)
{
    uint64_t st = 7;
    int fails = 0;
    nd_buf_t b = {0}, want = {0};
    uint64_t special[] = {0,
                          1,
                          9,
                          10,
                          99,
                          100,
                          101,
                          999,
                          1000,
                          UINT32_MAX,
                          UINT64_MAX,
                          (uint64_t)INT64_MAX,
                          (uint64_t)INT64_MAX + 1};
    for (int i = 0; i < 300000; i++) {
        uint64_t u;
        if (i < (int)(sizeof(special) / sizeof(special[0])))
            u = special[i];
        else if (i < 100000)
            u = (uint64_t)i;
        else if (i < 100000 + 20 * 64)
            u = (1ull << ((i - 100000) % 64)) + (uint64_t)((i - 100000) / 64) - 10;
        else
            u = rnd_next(&st) >> (rnd_next(&st) % 64);
        int64_t s = (int64_t)u;
        for (int neg = 0; neg < 2; neg++) {
            int64_t v = neg ? (s == INT64_MIN ? s : -s) : s;
            nd_buf_reset(&b);
            nd_buf_reset(&want);
            ND_ASSERT(nd_buf_append_i64(&b, v) == ND_ERR_NO_ERROR);
            nd_buf_printf(&want, "%" PRId64, v);
            if (strcmp(b.p, want.p) || b.len != want.len)
                ND_EXPECT(fails++ > 10, "i64 %s: got %s", want.p, b.p);
        }
        nd_buf_reset(&b);
        nd_buf_reset(&want);
        ND_ASSERT(nd_buf_append_u64(&b, u) == ND_ERR_NO_ERROR);
        nd_buf_printf(&want, "%" PRIu64, u);
        if (strcmp(b.p, want.p) || b.len != want.len)
            ND_EXPECT(fails++ > 10, "u64 %s: got %s", want.p, b.p);
    }
    nd_buf_reset(&b);
    nd_buf_append_i64(&b, INT64_MIN);
    ND_EXPECT(!strcmp(b.p, "-9223372036854775808"), "got %s", b.p);
    ND_EXPECT(fails == 0, "%d mismatches", fails);
    nd_buf_free(&b);
    nd_buf_free(&want);
}

/* nd_buf_append_iso_time(ms) == nd_time_format_iso(ms). */
static int check_iso(int64_t ms)
{
    char want[64];
    size_t n = nd_time_format_iso(ms, want, sizeof(want));
    nd_buf_t b = {0};
    int bad = nd_buf_append_iso_time(&b, ms) != ND_ERR_NO_ERROR || b.len != n ||
              memcmp(b.p, want, n) != 0;
    if (bad)
        fprintf(stderr, "iso time %lld: got %s, want %s\n", (long long)ms, b.p ? b.p : "(null)",
                want);
    nd_buf_free(&b);
    return bad;
}

static void iso_time_matches_nd_time_format_iso(void)
{
    int fails = 0;
    uint64_t st = 99;
    /* Around the epoch, the ends of years 0000 and 9999, leap days, and
     * every millisecond remainder. */
    static const int64_t edge[] = {0,
                                   1,
                                   -1,
                                   999,
                                   1000,
                                   -999,
                                   -1000,
                                   -1001,
                                   86399999,
                                   86400000,
                                   -86400000,
                                   -86400001,
                                   951782400000LL,    /* 2000-02-29 */
                                   4107542400000LL,   /* 2100-02-28 */
                                   1705483800250LL,   /* 2024-01-17T09:30:00.250 */
                                   -62167219200000LL, /* 0000-01-01 */
                                   -62167219200001LL, /* year -1: fallback */
                                   253402300799999LL, /* 9999-12-31T23:59:59.999 */
                                   253402300800000LL, /* 10000-01-01: fallback */
                                   -62135596800000LL, /* 0001-01-01 */
                                   -2208988800000LL}; /* 1900-01-01 */
    for (size_t k = 0; k < sizeof(edge) / sizeof(edge[0]); k++)
        for (int64_t d = -2; d <= 2; d++)
            fails += check_iso(edge[k] + d);
    for (int i = 0; i < 200000; i++) {
        /* Any time from year 0 to 9999, then a wider range (fallback). */
        int64_t span = 253402300800000LL + 62167219200000LL;
        fails += check_iso((int64_t)(rnd_next(&st) % (uint64_t)span) - 62167219200000LL);
        if (i % 16 == 0)
            fails += check_iso((int64_t)(rnd_next(&st) % 1000000000000000ull) - 300000000000000LL);
    }
    for (int64_t day = -800000; day < 3000000; day += 37) /* every month of 0..9999 */
        fails += check_iso(day * 86400000 + (day % 86400) * 1000 + day % 1000);
    ND_EXPECT(fails == 0, "%d mismatches", fails);
}

/* The JSON string escape as a plain byte loop (the reference). */
static void json_str_ref(nd_buf_t *b, const char *s, size_t len)
{
    nd_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            nd_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            nd_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            nd_buf_append(b, "\\n", 2);
            break;
        case '\r':
            nd_buf_append(b, "\\r", 2);
            break;
        case '\t':
            nd_buf_append(b, "\\t", 2);
            break;
        case '\b':
            nd_buf_append(b, "\\b", 2);
            break;
        case '\f':
            nd_buf_append(b, "\\f", 2);
            break;
        default:
            if (c < 0x20)
                nd_buf_printf(b, "\\u%04x", c);
            else
                nd_buf_putc(b, (char)c);
        }
    }
    nd_buf_putc(b, '"');
}

/* Clean runs of every length with one byte needing an escape (or none) at
 * every position, so each scan width (16, 8, 1) meets it; then random text. */
static void json_str_matches_byte_loop(void)
{
    static const unsigned char special[] = {'"', '\\', '\n', '\r', '\t', '\b', '\f', 0,
                                            1,   0x1F, 0x7F, 0x80, 0xFF, ' ',  '!',  0xE2};
    char s[80];
    int fails = 0;
    nd_buf_t got = {0}, want = {0};
    for (size_t len = 0; len <= 70; len++) {
        for (size_t at = 0; at <= len; at++) {
            for (size_t k = 0; k < sizeof(special); k++) {
                for (size_t i = 0; i < len; i++)
                    s[i] = (char)('a' + i % 26);
                if (at < len)
                    s[at] = (char)special[k];
                nd_buf_reset(&got);
                nd_buf_reset(&want);
                nd_buf_append(&got, "pre", 3);
                nd_buf_append(&want, "pre", 3);
                ND_ASSERT(nd_buf_json_str(&got, s, len) == ND_ERR_NO_ERROR);
                json_str_ref(&want, s, len);
                if (got.len != want.len || memcmp(got.p, want.p, got.len))
                    ND_EXPECT(fails++ > 5, "len %zu, byte 0x%02x at %zu: got %s want %s", len,
                              special[k], at, got.p, want.p);
            }
        }
    }
    uint64_t st = 3;
    for (int i = 0; i < 20000; i++) {
        size_t len = rnd_next(&st) % sizeof(s);
        unsigned odds = (unsigned)(rnd_next(&st) % 64) + 1;
        for (size_t j = 0; j < len; j++) {
            uint64_t r = rnd_next(&st);
            s[j] = r % odds == 0 ? (char)special[(r >> 8) % sizeof(special)]
                                 : (char)(0x20 + (r >> 16) % 0x60);
        }
        nd_buf_reset(&got);
        nd_buf_reset(&want);
        ND_ASSERT(nd_buf_json_str(&got, s, len) == ND_ERR_NO_ERROR);
        json_str_ref(&want, s, len);
        if (got.len != want.len || memcmp(got.p, want.p, got.len))
            ND_EXPECT(fails++ > 5, "random case %d: got %s want %s", i, got.p, want.p);
    }
    ND_EXPECT(fails == 0, "%d mismatches", fails);
    nd_buf_free(&got);
    nd_buf_free(&want);
}

/* On allocation failure each helper returns NOMEM and leaves the buffer as
 * it was (content and NUL). */
static void helpers_fail_cleanly(void)
{
    for (int h = 0; h < 6; h++) {
        nd_buf_t b = {0};
        nd_buf_append(&b, "keep", 4);
        /* Fill the buffer to its capacity so the next append must grow it. */
        while (b.cap - b.len > 1)
            nd_buf_putc(&b, 'k');
        size_t len = b.len;
        nd_alloc_fail_after(0);
        nd_err_t err = h == 0   ? nd_buf_append_u64(&b, 12345)
                       : h == 1 ? nd_buf_append_i64(&b, -12345)
                       : h == 2 ? nd_buf_append_fixed(&b, 0.5, 4)
                       : h == 3 ? nd_buf_append_iso_time(&b, 0)
                       : h == 4 ? nd_buf_json_str(&b, "abc", 3)
                                : nd_buf_append(&b, "abc", 3);
        nd_alloc_fail_after(-1);
        ND_EXPECT(err == ND_ERR_NOMEM, "helper %d: %d", h, err);
        ND_EXPECT(b.len == len && b.p[len] == '\0' && !memcmp(b.p, "keep", 4), "helper %d", h);
        nd_buf_free(&b);
    }
    nd_buf_t e = {0};
    ND_EXPECT(nd_buf_append(&e, "ab", 2) == ND_ERR_NO_ERROR && e.len == 2 && !strcmp(e.p, "ab"));
    ND_EXPECT(nd_buf_append(&e, "", 0) == ND_ERR_NO_ERROR && e.len == 2);
    nd_buf_free(&e);
}

/* The JSON a time member had under the printf encoder. */
static void time_ref(nd_buf_t *b, int64_t ms)
{
    char t[64];
    if (ms == ND_TIME_NONE) {
        nd_buf_printf(b, "null");
        return;
    }
    nd_time_format_iso(ms, t, sizeof(t));
    nd_buf_printf(b, "\"%s\"", t);
}

/* A string member as the printf encoder wrote it (null when s is NULL). */
static void str_ref(nd_buf_t *b, const char *s, size_t len)
{
    if (s)
        json_str_ref(b, s, len);
    else
        nd_buf_printf(b, "null");
}

/* Membership and cluster records of random decisions equal the printf-based
 * encoding, and nd_cluster_id_str equals "%016llx". */
static void records_match_printf_encoding(void)
{
    static const char *strs[] = {"urn:a:1", "https://x.example/a\"b", "", "tab\there", NULL};
    uint64_t st = 11;
    int fails = 0;
    nd_buf_t got = {0}, want = {0};
    for (int i = 0; i < 20000; i++) {
        nd_article_t a = {0};
        nd_decision_t d = {0};
        a.uri = strs[rnd_next(&st) % 4];
        a.uri_len = strlen(a.uri);
        a.source = strs[rnd_next(&st) % 5];
        a.source_len = a.source ? strlen(a.source) : 0;
        a.event_time_ms =
            rnd_next(&st) % 8 ? (int64_t)(rnd_next(&st) % 4102444800000ull) : ND_TIME_NONE;
        d.verdict = rnd_next(&st) % 2 ? ND_VERDICT_DUPLICATE : ND_VERDICT_NEW;
        d.cluster.id = rnd_next(&st);
        d.cluster.count = (uint32_t)(rnd_next(&st) >> (rnd_next(&st) % 64));
        d.cluster.sources = (uint32_t)rnd_next(&st) % 1000;
        d.cluster.first_seen_ms = (int64_t)(rnd_next(&st) % 4102444800000ull);
        d.cluster.last_seen_ms = i % 5 ? d.cluster.first_seen_ms + i : ND_TIME_NONE;
        d.canonical_uri = strs[rnd_next(&st) % 5];
        d.canonical_uri_len = d.canonical_uri ? strlen(d.canonical_uri) : 0;
        d.matched_uri = strs[rnd_next(&st) % 4];
        d.matched_uri_len = strlen(d.matched_uri);
        d.similarity = i % 3 ? rnd_unit(&st) : (double)(rnd_next(&st) % 20001) / 20000;
        d.exact = (int)(rnd_next(&st) % 2);
        int dup = d.verdict == ND_VERDICT_DUPLICATE;
        char cid[17], cid2[17];
        snprintf(cid, sizeof(cid), "%016llx", (unsigned long long)d.cluster.id);
        nd_cluster_id_str(d.cluster.id, cid2);
        ND_ASSERT(memcmp(cid, cid2, 17) == 0);

        nd_buf_reset(&got);
        nd_buf_reset(&want);
        ND_ASSERT(nd_record_membership(&got, &a, &d) == ND_ERR_NO_ERROR);
        nd_buf_printf(&want, "{\"id\":");
        json_str_ref(&want, a.uri, a.uri_len);
        nd_buf_printf(&want, ",\"cluster\":\"%s\",\"duplicate\":%s,\"duplicate_of\":", cid,
                      dup ? "true" : "false");
        str_ref(&want, dup ? d.canonical_uri : NULL, d.canonical_uri_len);
        nd_buf_printf(&want, ",\"matched\":");
        str_ref(&want, dup ? d.matched_uri : NULL, d.matched_uri_len);
        nd_buf_printf(&want, ",\"similarity\":%.4f,\"exact\":%s,\"source\":", d.similarity,
                      d.exact ? "true" : "false");
        str_ref(&want, a.source, a.source_len);
        nd_buf_printf(&want, ",\"event_time\":");
        time_ref(&want, a.event_time_ms);
        nd_buf_printf(&want, "}");
        if (got.len != want.len || strcmp(got.p, want.p))
            ND_EXPECT(fails++ > 5, "membership %d:\n got %s\nwant %s", i, got.p, want.p);

        nd_buf_reset(&got);
        nd_buf_reset(&want);
        ND_ASSERT(nd_record_cluster(&got, &d) == ND_ERR_NO_ERROR);
        nd_buf_printf(&want, "{\"cluster\":\"%s\",\"count\":%u,\"sources\":%u,\"first_seen\":", cid,
                      d.cluster.count, d.cluster.sources);
        time_ref(&want, d.cluster.first_seen_ms);
        nd_buf_printf(&want, ",\"last_seen\":");
        time_ref(&want, d.cluster.last_seen_ms);
        nd_buf_printf(&want, ",\"canonical\":");
        str_ref(&want, d.canonical_uri, d.canonical_uri_len);
        nd_buf_printf(&want, "}");
        if (got.len != want.len || strcmp(got.p, want.p))
            ND_EXPECT(fails++ > 5, "cluster %d:\n got %s\nwant %s", i, got.p, want.p);
    }
    ND_EXPECT(fails == 0, "%d mismatches", fails);
    nd_buf_free(&got);
    nd_buf_free(&want);
}

/* A reject record's numbers: partition and offset at their extremes. */
static void reject_numbers_match_printf(void)
{
    static const int64_t offs[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1234567890123LL};
    static const int32_t parts[] = {-1, 0, 7, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        for (size_t j = 0; j < sizeof(parts) / sizeof(parts[0]); j++) {
            nd_buf_t b = {0};
            nd_reject_t r = {ND_ERR_EMPTY, NULL, "o", parts[j], offs[i], "", 0};
            ND_ASSERT(nd_record_reject(&b, &r) == ND_ERR_NO_ERROR);
            char want[256];
            snprintf(want, sizeof(want),
                     "{\"reason\":\"empty\",\"error\":\"Empty input\",\"origin\":\"o\","
                     "\"partition\":%d,\"offset\":%lld,\"input\":\"\",\"truncated\":false}",
                     (int)parts[j], (long long)offs[i]);
            ND_EXPECT(!strcmp(b.p, want), "got %s want %s", b.p, want);
            nd_buf_free(&b);
        }
    }
}

int main(void)
{
    ND_TEST(fixed_matches_printf_on_ties_and_edges);
    ND_TEST(fixed_matches_printf_near_every_4_decimal_tie);
    ND_TEST(fixed_matches_printf_on_random_values);
    ND_TEST(integers_match_printf);
    ND_TEST(iso_time_matches_nd_time_format_iso);
    ND_TEST(json_str_matches_byte_loop);
    ND_TEST(helpers_fail_cleanly);
    ND_TEST(records_match_printf_encoding);
    ND_TEST(reject_numbers_match_printf);
    return nd_test_done();
}
