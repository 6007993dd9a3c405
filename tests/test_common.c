/* label: unit */
/* test_common.c - errors, the allocation seam, nd_buf_t, ISO 8601 times. */
#include "nd_common.h"
#include "nd_test.h"

static void err_names_are_unique_and_stable(void)
{
    ND_EXPECT(!strcmp(nd_err_name(ND_ERR_BAD_JSON), "bad_json"));
    ND_EXPECT(!strcmp(nd_err_name(ND_ERR_MISSING_URI), "missing_uri"));
    ND_EXPECT(!strcmp(nd_err_name((nd_err_t)999), "unknown"));
    for (int i = 0; i < ND_ERR__END; i++) {
        ND_EXPECT(strcmp(nd_err_name(i), "unknown"), "code %d has no name", i);
        ND_EXPECT(strcmp(nd_err_str(i), "Unknown error"), "code %d has no text", i);
        for (int j = 0; j < i; j++)
            ND_EXPECT(strcmp(nd_err_name(i), nd_err_name(j)), "codes %d and %d share a name", i, j);
    }
}

static void alloc_fail_after_counts_calls(void)
{
    nd_alloc_fail_after(2);
    void *a = nd_malloc(8), *b = nd_calloc(1, 8), *c = nd_malloc(8), *d = nd_strndup("x", 1);
    nd_alloc_fail_after(-1);
    ND_EXPECT(a && b, "the first two allocations succeed");
    ND_EXPECT(!c && !d, "the third and later fail");
    void *e = nd_malloc(8);
    ND_EXPECT(e, "failure injection is off again");
    nd_free(a);
    nd_free(b);
    nd_free(e);
    nd_free(NULL);
}

static void buf_appends_and_escapes(void)
{
    nd_buf_t b = {0};
    ND_ASSERT(nd_buf_append(&b, "ab", 2) == ND_ERR_NO_ERROR);
    nd_buf_printf(&b, "%d-%s", 42, "x");
    ND_EXPECT(!strcmp(b.p, "ab42-x"));
    nd_buf_reset(&b);
    const char raw[] = "q\"b\\n\n\x01\xc3\xa9";
    nd_buf_json_str(&b, raw, sizeof(raw) - 1);
    ND_EXPECT(!strcmp(b.p, "\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\""), "got %s", b.p);
    /* Growth past the first block keeps content. */
    nd_buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        nd_buf_putc(&b, (char)('a' + i % 26));
    ND_EXPECT(b.len == 1000 && b.p[999] == 'a' + 999 % 26 && b.p[1000] == '\0');
    nd_buf_free(&b);
    ND_EXPECT(b.p == NULL && b.len == 0);
}

static void buf_append_fails_cleanly(void)
{
    nd_buf_t b = {0};
    nd_buf_append(&b, "keep", 4);
    char big[1024];
    memset(big, 'z', sizeof(big));
    nd_alloc_fail_after(0);
    nd_err_t err = nd_buf_append(&b, big, sizeof(big));
    nd_alloc_fail_after(-1);
    ND_EXPECT(err == ND_ERR_NOMEM);
    ND_EXPECT(b.len == 4 && !strcmp(b.p, "keep"), "content unchanged after failure");
    nd_buf_free(&b);
}

static void iso_times_parse_and_format(void)
{
    int64_t ms;
    ND_ASSERT(nd_time_parse_iso("2024-01-17T09:30:00Z", 20, &ms) == 0);
    ND_EXPECT(ms == 1705483800000LL, "got %lld", (long long)ms);
    ND_ASSERT(nd_time_parse_iso("2024-01-17T10:30:00+01:00", 25, &ms) == 0);
    ND_EXPECT(ms == 1705483800000LL);
    ND_ASSERT(nd_time_parse_iso("2024-01-17T09:30:00.250Z", 24, &ms) == 0);
    ND_EXPECT(ms == 1705483800250LL);
    ND_ASSERT(nd_time_parse_iso("1987-02-26", 10, &ms) == 0);
    ND_EXPECT(ms == 541296000000LL, "got %lld", (long long)ms);
    ND_EXPECT(nd_time_parse_iso("2024-13-01T00:00:00Z", 20, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("yesterday", 9, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("2024-01-17T09:30:00Zjunk", 24, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("", 0, &ms) == -1);
    char out[40];
    nd_time_format_iso(1705483800250LL, out, sizeof(out));
    ND_EXPECT(!strcmp(out, "2024-01-17T09:30:00.250Z"), "got %s", out);
    int64_t back;
    ND_EXPECT(nd_time_parse_iso(out, strlen(out), &back) == 0 && back == 1705483800250LL);
}

/* The parse of s[0..len) with a 'T' at byte 10 spelled 't': the general
 * parser takes both alike, and the fast path (which wants 'T') none. */
static int parse_general(const char *s, size_t len, int64_t *ms)
{
    char t[32];
    memcpy(t, s, len);
    if (len > 10 && t[10] == 'T')
        t[10] = 't';
    return nd_time_parse_iso(t, len, ms);
}

/* Fast path and general parser agree on s[0..len); counts a mismatch. */
static int time_paths_agree(const char *s, size_t len)
{
    int64_t a = -7, b = -7;
    int ra = nd_time_parse_iso(s, len, &a), rb = parse_general(s, len, &b);
    return ra == rb && (ra != 0 || a == b);
}

static void iso_time_fast_shapes_match_general(void)
{
    static const char *tpl[] = {"2024-01-17T09:30:00Z",      "1987-02-26T15:01:01+05:30",
                                "1999-12-31T23:59:60-11:59", "0000-03-01T00:00:00Z",
                                "2000-02-29T12:00:00-00:00", "9999-12-31T23:59:59+23:59"};
    int64_t ms;
    ND_ASSERT(nd_time_parse_iso("1987-02-26T15:01:01+05:30", 25, &ms) == 0);
    ND_EXPECT(ms == 541296000000LL + (15 * 3600 + 61 - 330 * 60) * 1000LL, "got %lld",
              (long long)ms);
    ND_ASSERT(nd_time_parse_iso("1999-12-31T23:59:60-11:59", 25, &ms) == 0);
    ND_EXPECT(ms == 946684800000LL + (11 * 3600 + 59 * 60) * 1000LL, "got %lld", (long long)ms);
    ND_EXPECT(nd_time_parse_iso("2024-01-17T09:30:61Z", 20, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("2024-01-17T09:30:00+24:00", 25, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("2024-01-17T09:30:00+01:60", 25, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("2024-01-17T09:30:00+01-00", 25, &ms) == -1);
    ND_EXPECT(nd_time_parse_iso("2024-01-32T09:30:00Z", 20, &ms) == -1);
    long bad = 0, n = 0, ok = 0;
    char s[32];
    /* Every byte value at every position of each template. */
    for (size_t k = 0; k < sizeof(tpl) / sizeof(tpl[0]); k++) {
        size_t len = strlen(tpl[k]);
        for (size_t i = 0; i < len; i++)
            for (int c = 0; c < 256; c++) {
                memcpy(s, tpl[k], len);
                s[i] = (char)c;
                bad += !time_paths_agree(s, len);
                n++;
            }
    }
    /* Random digits in the digit places (every field's range edges), random
     * signs, and now and then a random byte anywhere. */
    static const unsigned char tens[25] = {10, 10, 10, 10, 0, 2,  10, 0, 4,  10, 0, 3, 10,
                                           0,  7,  10, 0,  7, 10, 0,  3, 10, 0,  7, 10};
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (int t = 0; t < 200000; t++) {
        size_t len = t & 1 ? 25 : 20;
        memcpy(s, tpl[t & 1], len);
        for (size_t i = 0; i < len; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            unsigned v = (unsigned)(r >> 33);
            if (s[i] >= '0' && s[i] <= '9')
                s[i] = (char)('0' + v % tens[i]);
            else if (i == 19 && len == 25)
                s[i] = v & 1 ? '-' : '+';
            if ((v >> 8) % 64 == 0)
                s[i] = (char)(v >> 16);
        }
        int64_t x;
        ok += nd_time_parse_iso(s, len, &x) == 0;
        bad += !time_paths_agree(s, len);
        n++;
    }
    ND_EXPECT(bad == 0, "%ld of %ld inputs differ between the fast path and the general one", bad,
              n);
    ND_EXPECT(ok > 30000, "only %ld random times parsed", ok);
}

int main(void)
{
    ND_TEST(err_names_are_unique_and_stable);
    ND_TEST(alloc_fail_after_counts_calls);
    ND_TEST(buf_appends_and_escapes);
    ND_TEST(buf_append_fails_cleanly);
    ND_TEST(iso_times_parse_and_format);
    ND_TEST(iso_time_fast_shapes_match_general);
    return nd_test_done();
}
