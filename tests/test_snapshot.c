/* label: unit */
/*
 * test_snapshot.c - snapshot save/load: a round trip gives the same decisions
 * as an engine that never restarted; a corrupt, truncated, foreign, other-
 * version or other-settings file is refused with the right error.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <unistd.h>

#include "dedup_int.h"
#include "nd_dedup.h"
#include "nd_test.h"

#define T0 1700000000000LL

static void gen_text(uint64_t seed, int ntok, char *out, size_t cap)
{
    size_t len = 0;
    uint64_t s = seed;
    for (int i = 0; i < ntok && len + 16 < cap; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        len += (size_t)snprintf(out + len, cap - len, "%sw%llu", i ? " " : "",
                                (unsigned long long)((s >> 33) % 20000));
    }
}

/* Item i of a stream with syndicated, trimmed copies and redeliveries. */
static void item(int i, char *uri, size_t ucap, char *src, char *text, size_t tcap, int64_t *t)
{
    int story = i % 41;
    gen_text((uint64_t)story * 31 + 1, 120 + story * 7, text, tcap);
    if (i >= 41 && i % 4) {
        size_t n = strlen(text) * (size_t)(50 + i % 45) / 100;
        while (n && text[n] != ' ')
            n--;
        text[n] = 0;
        strncat(text, " distributed by wire", tcap - strlen(text) - 1);
    }
    snprintf(uri, ucap, "urn:%d", i % 97 == 5 ? i - 1 : i); /* some redeliveries */
    snprintf(src, 16, "src%d", i % 5);
    *t = T0 + (int64_t)i * 3600 * 1000 / 4; /* spans > 72 h: eviction happens */
}

static nd_err_t feed(nd_dedup_t *dd, int i, nd_decision_t *d)
{
    char uri[32], src[16], text[8192];
    int64_t t;
    item(i, uri, sizeof(uri), src, text, sizeof(text), &t);
    nd_sig_t sig;
    nd_dedup_sign(dd, text, strlen(text), &sig);
    nd_item_t it = {uri, strlen(uri), src, strlen(src), t, strlen(text)};
    return nd_dedup_add(dd, &it, &sig, d);
}

static char path[256];

static int same(const nd_decision_t *a, const nd_decision_t *b)
{
    return a->verdict == b->verdict && !memcmp(&a->cluster, &b->cluster, sizeof(a->cluster)) &&
           a->exact == b->exact && a->similarity == b->similarity &&
           a->canonical_changed == b->canonical_changed &&
           a->canonical_uri_len == b->canonical_uri_len &&
           !memcmp(a->canonical_uri, b->canonical_uri, a->canonical_uri_len);
}

static void round_trip_same_decisions(void)
{
    char err[256];
    nd_dedup_conf_t c;
    nd_dedup_conf_init(&c);
    c.canonical = ND_CANON_LONGEST;
    nd_dedup_t *a = nd_dedup_new(&c, err, sizeof(err)), *b = nd_dedup_new(&c, err, sizeof(err));
    ND_ASSERT(a && b);
    nd_decision_t da, db;
    for (int i = 0; i < 500; i++) {
        feed(a, i, &da);
        feed(b, i, &db);
    }
    ND_ASSERT(nd_dedup_save(b, path, err, sizeof(err)) == ND_ERR_NO_ERROR, "%s", err);
    nd_dedup_stats_t sb, sl;
    nd_dedup_stats(b, &sb);
    nd_dedup_destroy(b);
    nd_err_t e;
    nd_dedup_t *l = nd_dedup_load(&c, path, &e, err, sizeof(err));
    ND_ASSERT(l && e == ND_ERR_NO_ERROR, "%s", err);
    nd_dedup_stats(l, &sl);
    ND_EXPECT(sl.indexed == sb.indexed && sl.added == sb.added && sl.clusters == sb.clusters);
    /* band keys are indexed once per cluster: the loaded tables hold the same
     * entries as the saved engine's twin, fewer than one per article and band */
    uint64_t band_entries = 0;
    for (uint32_t bb = 0; bb < c.bands; bb++) {
        ND_EXPECT(l->band_tab[bb].live == a->band_tab[bb].live, "band %u: %u entries, saved %u", bb,
                  l->band_tab[bb].live, a->band_tab[bb].live);
        band_entries += a->band_tab[bb].live;
    }
    ND_EXPECT(band_entries < (uint64_t)c.bands * sb.indexed, "%llu band entries, %llu indexed",
              (unsigned long long)band_entries, (unsigned long long)sb.indexed);
    int dups = 0, diff = 0;
    for (int i = 500; i < 900; i++) {
        ND_EXPECT(feed(a, i, &da) == ND_ERR_NO_ERROR && feed(l, i, &db) == ND_ERR_NO_ERROR);
        diff += !same(&da, &db);
        dups += da.verdict == ND_VERDICT_DUPLICATE;
    }
    ND_EXPECT(diff == 0, "%d decisions differ after the restart", diff);
    ND_EXPECT(dups > 100, "the stream has duplicates after the restart: %d", dups);
    /* a snapshot of an empty engine round-trips too */
    nd_dedup_t *z = nd_dedup_new(&c, err, sizeof(err));
    ND_EXPECT(nd_dedup_save(z, path, err, sizeof(err)) == ND_ERR_NO_ERROR);
    nd_dedup_destroy(z);
    z = nd_dedup_load(&c, path, &e, err, sizeof(err));
    ND_EXPECT(z != NULL, "%s", err);
    nd_dedup_destroy(z);
    nd_dedup_destroy(a);
    nd_dedup_destroy(l);
}

static uint8_t *snap_bytes(size_t *len)
{
    char err[256];
    nd_dedup_t *dd = nd_dedup_new(NULL, err, sizeof(err));
    nd_decision_t d;
    for (int i = 0; i < 120; i++)
        feed(dd, i, &d);
    nd_dedup_save(dd, path, err, sizeof(err));
    nd_dedup_destroy(dd);
    return (uint8_t *)nd_test_read_file(path, len);
}

static nd_err_t load_bytes(const uint8_t *p, size_t len, const nd_dedup_conf_t *c, char *err,
                           size_t errlen)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, len, f);
    fclose(f);
    nd_err_t e = ND_ERR_NO_ERROR;
    nd_dedup_t *dd = nd_dedup_load(c, path, &e, err, errlen);
    nd_dedup_destroy(dd);
    return dd ? ND_ERR_NO_ERROR : e;
}

static void refuses_bad_files(void)
{
    size_t len;
    uint8_t *good = snap_bytes(&len), *p = malloc(len + 16);
    ND_ASSERT(good && p && len > 300); /* > 300: the damage below stays in the payload */
    char err[256];
    nd_err_t e;

    ND_EXPECT(load_bytes(good, len, NULL, err, sizeof(err)) == ND_ERR_NO_ERROR, "%s", err);

    memcpy(p, good, len);
    p[len / 2] ^= 0x40;
    e = load_bytes(p, len, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_CORRUPT && strstr(err, "checksum"), "flipped bit: %s %s",
              nd_err_name(e), err);

    e = load_bytes(good, len - 9, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_CORRUPT && strstr(err, "truncated"), "truncated: %s %s",
              nd_err_name(e), err);
    e = load_bytes(good, 20, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_CORRUPT, "truncated header: %s %s", nd_err_name(e), err);

    const char *json = "{\"uri\":\"not a snapshot\"}";
    e = load_bytes((const uint8_t *)json, strlen(json), NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_FOREIGN && strstr(err, "not a newsdedup snapshot"), "%s", err);
    e = load_bytes((const uint8_t *)"", 0, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_FOREIGN, "empty file: %s", nd_err_name(e));

    memcpy(p, good, len);
    p[8] = 99; /* version */
    e = load_bytes(p, len, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_VERSION && strstr(err, "version 99"), "%s %s", nd_err_name(e),
              err);

    nd_dedup_conf_t c;
    nd_dedup_conf_init(&c);
    c.shingle_tokens = 5;
    e = load_bytes(good, len, &c, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_SNAPSHOT_CONFIG && strstr(err, "settings"), "%s %s", nd_err_name(e), err);
    nd_dedup_conf_init(&c);
    c.kernel = "scalar"; /* the kernel does not change decisions: accepted */
    ND_EXPECT(load_bytes(good, len, &c, err, sizeof(err)) == ND_ERR_NO_ERROR, "%s", err);

    e = ND_ERR_NO_ERROR;
    ND_EXPECT(nd_dedup_load(NULL, "/nonexistent/dir/snap", &e, err, sizeof(err)) == NULL &&
              e == ND_ERR_IO && strstr(err, "cannot open"));
    nd_dedup_t *dd = nd_dedup_new(NULL, err, sizeof(err));
    ND_EXPECT(nd_dedup_save(dd, "/nonexistent/dir/snap", err, sizeof(err)) == ND_ERR_IO);
    nd_dedup_destroy(dd);

    /* every truncation is refused, never crashes */
    for (size_t n = 0; n < len; n += 1 + n / 7)
        ND_EXPECT(load_bytes(good, n, NULL, err, sizeof(err)) != ND_ERR_NO_ERROR, "len %zu", n);
    /* a valid checksum over a damaged payload is still refused by the parser */
    memcpy(p, good, len);
    size_t at = len - 209;
    if (at < len) /* always; tells the compiler the index is in range */
        p[at] ^= 0xff;
    uint64_t ck = XXH3_64bits(p, len - 8);
    for (int i = 0; i < 8; i++)
        p[len - 8 + i] = (uint8_t)(ck >> (8 * i));
    e = load_bytes(p, len, NULL, err, sizeof(err));
    ND_EXPECT(e == ND_ERR_NO_ERROR || e == ND_ERR_SNAPSHOT_CORRUPT, "%s", nd_err_name(e));
    free(good);
    free(p);
}

int main(void)
{
    snprintf(path, sizeof(path), "/tmp/nd_test_snapshot.%d", (int)getpid());
    ND_TEST(round_trip_same_decisions);
    ND_TEST(refuses_bad_files);
    remove(path);
    return nd_test_done();
}
