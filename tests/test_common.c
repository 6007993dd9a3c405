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

int main(void)
{
    ND_TEST(err_names_are_unique_and_stable);
    ND_TEST(alloc_fail_after_counts_calls);
    ND_TEST(buf_appends_and_escapes);
    ND_TEST(buf_append_fails_cleanly);
    ND_TEST(iso_times_parse_and_format);
    return nd_test_done();
}
