/*
 * nd_test.h - the small assertion kit every test program uses.
 *
 *     int main(void) {
 *         ND_TEST(parse_simple);     // runs static void parse_simple(void)
 *         return nd_test_done();     // prints "N passed, N failed", exit status
 *     }
 *
 * ND_EXPECT records a failure and goes on; ND_ASSERT also leaves the test
 * function (jemalloc's expect_/assert_ split).
 */
#ifndef ND_TEST_H
#define ND_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int nd_test_checks_failed_;
static int nd_test_passed_;
static int nd_test_failed_;
static int nd_test_skipped_;
static int nd_test_skip_current_;

#define ND_EXPECT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            nd_test_checks_failed_++;                                                              \
            fprintf(stderr, "%s:%d: FAILED: %s:", __FILE__, __LINE__, #cond);                      \
            fprintf(stderr, " " __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define ND_ASSERT(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ND_EXPECT(cond, __VA_ARGS__);                                                          \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* ND_SKIP: mark the current test skipped (with a reason) and leave it. */
#define ND_SKIP(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "SKIP: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                       \
        nd_test_skip_current_ = 1;                                                                 \
        return;                                                                                    \
    } while (0)

#define ND_TEST(fn)                                                                                \
    do {                                                                                           \
        int before_ = nd_test_checks_failed_;                                                      \
        nd_test_skip_current_ = 0;                                                                 \
        fn();                                                                                      \
        if (nd_test_skip_current_)                                                                 \
            nd_test_skipped_++;                                                                    \
        else if (nd_test_checks_failed_ == before_)                                                \
            nd_test_passed_++;                                                                     \
        else                                                                                       \
            nd_test_failed_++;                                                                     \
        fprintf(stderr, "%s %s\n",                                                                 \
                nd_test_skip_current_               ? "skip"                                       \
                : nd_test_checks_failed_ == before_ ? "ok  "                                       \
                                                    : "FAIL",                                      \
                #fn);                                                                              \
    } while (0)

/* nd_test_done: print the closing line; @return the process exit status. */
static inline int nd_test_done(void)
{
    printf("%d passed, %d failed, %d skipped\n", nd_test_passed_, nd_test_failed_,
           nd_test_skipped_);
    return nd_test_failed_ ? 1 : 0;
}

/*
 * nd_test_shared_dir: the shared/ folder (ND_SHARED_DIR, set by ctest), or
 * NULL when it is not there: tests that need it then skip, saying so.
 */
static inline const char *nd_test_shared_dir(void)
{
    const char *d = getenv("ND_SHARED_DIR");
    struct stat st;
    if (!d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

/* nd_test_read_file: the whole file, NUL-terminated, in a malloc'd buffer. */
static inline char *nd_test_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len_out)
            *len_out = (size_t)n;
    }
    return buf;
}

#endif /* ND_TEST_H */
