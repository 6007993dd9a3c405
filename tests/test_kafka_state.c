/* label: unit */
/* test_kafka_state.c - the state record codec (sinks): round trip through a
 * real signature and a restore into a fresh engine, and every kind of
 * corrupt record refused without reading outside it. */
#include "nd_sinks.h"
#include "nd_test.h"

#include <string.h>

static const char text[] = "the two presidents signed a strategic partnership treaty in moscow "
                           "covering trade energy transport and security for twenty years";

/* An engine, a signed article and the decision of adding it. */
typedef struct fixture_s {
    nd_dedup_t *dd;
    nd_article_t art;
    nd_sig_t sig;
    nd_decision_t d;
} fixture_t;

static int fixture_init(fixture_t *f)
{
    char errstr[256];
    nd_dedup_conf_t conf;
    nd_dedup_conf_init(&conf);
    memset(f, 0, sizeof(*f));
    if (!(f->dd = nd_dedup_new(&conf, errstr, sizeof(errstr))))
        return -1;
    f->art.uri = "urn:test:state:1";
    f->art.uri_len = strlen(f->art.uri);
    f->art.source = "Agency";
    f->art.source_len = 6;
    f->art.event_time_ms = 1705483800000LL;
    f->art.body_len = 4321;
    f->art.text = text;
    f->art.text_len = sizeof(text) - 1;
    nd_dedup_sign(f->dd, text, sizeof(text) - 1, &f->sig);
    nd_item_t it = {f->art.uri,        f->art.uri_len,       f->art.source,
                    f->art.source_len, f->art.event_time_ms, f->art.body_len};
    return nd_dedup_add(f->dd, &it, &f->sig, &f->d) ? -1 : 0;
}

static void round_trip(void)
{
    fixture_t f;
    nd_buf_t b = {0};
    nd_state_record_t rec;
    ND_ASSERT(fixture_init(&f) == 0);
    ND_ASSERT(nd_state_record_encode(&b, &f.art, &f.sig, &f.d) == ND_ERR_NO_ERROR);
    ND_EXPECT(b.len == 37 + ND_SIG_WIRE_SIZE + f.art.uri_len + 6, "length %zu", b.len);
    ND_EXPECT(!memcmp(b.p, ND_STATE_RECORD_MAGIC, 4), "magic");
    ND_ASSERT(nd_state_record_decode(b.p, b.len, &rec) == ND_ERR_NO_ERROR);
    ND_EXPECT(rec.item.uri_len == f.art.uri_len && !memcmp(rec.item.uri, f.art.uri, f.art.uri_len),
              "uri");
    ND_EXPECT(rec.item.source_len == 6 && !memcmp(rec.item.source, "Agency", 6), "source");
    ND_EXPECT(rec.item.event_time_ms == f.art.event_time_ms, "event time");
    ND_EXPECT(rec.item.body_len == 4321, "body length");
    ND_EXPECT(rec.cluster_id == f.d.cluster.id, "cluster");
    ND_EXPECT(rec.is_canonical == 1, "a NEW article is its cluster's canonical");
    ND_EXPECT(rec.sig.text_hash == f.sig.text_hash && rec.sig.num_mask == f.sig.num_mask &&
                  rec.sig.n_shingles == f.sig.n_shingles &&
                  !memcmp(rec.sig.slots, f.sig.slots, sizeof(f.sig.slots)),
              "signature");
    /* ND_TIME_NONE survives the unsigned wire field. */
    f.art.event_time_ms = ND_TIME_NONE;
    f.d.verdict = ND_VERDICT_DUPLICATE;
    f.d.canonical_changed = 0;
    ND_ASSERT(nd_state_record_encode(&b, &f.art, &f.sig, &f.d) == ND_ERR_NO_ERROR);
    ND_ASSERT(nd_state_record_decode(b.p, b.len, &rec) == ND_ERR_NO_ERROR);
    ND_EXPECT(rec.item.event_time_ms == ND_TIME_NONE, "no event time");
    ND_EXPECT(rec.is_canonical == 0, "a duplicate is not canonical");
    nd_buf_free(&b);
    nd_dedup_destroy(f.dd);
}

/* A decoded record restored into a fresh engine makes the same article a
 * redelivery there, in the same cluster. */
static void restore_into_a_new_engine(void)
{
    fixture_t f;
    nd_buf_t b = {0};
    nd_state_record_t rec;
    char errstr[256];
    nd_dedup_conf_t conf;
    ND_ASSERT(fixture_init(&f) == 0);
    ND_ASSERT(nd_state_record_encode(&b, &f.art, &f.sig, &f.d) == ND_ERR_NO_ERROR);
    ND_ASSERT(nd_state_record_decode(b.p, b.len, &rec) == ND_ERR_NO_ERROR);
    nd_dedup_conf_init(&conf);
    nd_dedup_t *dd2 = nd_dedup_new(&conf, errstr, sizeof(errstr));
    ND_ASSERT(dd2 != NULL);
    ND_ASSERT(nd_dedup_restore(dd2, &rec.item, &rec.sig, rec.cluster_id, rec.is_canonical) ==
              ND_ERR_NO_ERROR);
    nd_item_t it = {f.art.uri, f.art.uri_len, "Other", 5, f.art.event_time_ms, 1};
    nd_decision_t d2;
    ND_ASSERT(nd_dedup_add(dd2, &it, &f.sig, &d2) == ND_ERR_NO_ERROR);
    ND_EXPECT(d2.verdict == ND_VERDICT_REDELIVERY, "verdict %d", (int)d2.verdict);
    nd_item_t it3 = {"urn:test:state:2", 16, "Other", 5, f.art.event_time_ms, 1};
    ND_ASSERT(nd_dedup_add(dd2, &it3, &f.sig, &d2) == ND_ERR_NO_ERROR);
    ND_EXPECT(d2.verdict == ND_VERDICT_DUPLICATE && d2.cluster.id == f.d.cluster.id,
              "a copy joins the restored cluster (verdict %d)", (int)d2.verdict);
    nd_dedup_destroy(dd2);
    nd_buf_free(&b);
    nd_dedup_destroy(f.dd);
}

/* Decode a private copy of len bytes, so ASan sees any read past the end. */
static nd_err_t decode_copy(const void *p, size_t len)
{
    nd_state_record_t rec;
    char *copy = nd_malloc(len ? len : 1);
    memcpy(copy, p, len);
    nd_err_t err = nd_state_record_decode(copy, len, &rec);
    nd_free(copy);
    return err;
}

static void corrupt_records_refused(void)
{
    fixture_t f;
    nd_buf_t b = {0};
    ND_ASSERT(fixture_init(&f) == 0);
    ND_ASSERT(nd_state_record_encode(&b, &f.art, &f.sig, &f.d) == ND_ERR_NO_ERROR);
    ND_EXPECT(decode_copy(b.p, b.len) == ND_ERR_NO_ERROR, "the intact record");
    ND_EXPECT(nd_state_record_decode(NULL, 0, NULL) == ND_ERR_INVALID_ARG, "NULL");
    for (size_t cut = 0; cut < b.len; cut += 7)
        ND_EXPECT(decode_copy(b.p, cut) == ND_ERR_INVALID_ARG, "truncated at %zu", cut);
    ND_EXPECT(decode_copy(b.p, b.len - 1) == ND_ERR_INVALID_ARG, "one byte short");
    char *p = nd_malloc(b.len + 1);
    memcpy(p, b.p, b.len);
    p[b.len] = 'x';
    ND_EXPECT(decode_copy(p, b.len + 1) == ND_ERR_INVALID_ARG, "a byte too many");
    memcpy(p, b.p, b.len);
    p[0] = 'X';
    ND_EXPECT(decode_copy(p, b.len) == ND_ERR_INVALID_ARG, "other magic");
    memcpy(p, b.p, b.len);
    p[29] ^= 0x40; /* uri length */
    ND_EXPECT(decode_copy(p, b.len) == ND_ERR_INVALID_ARG, "uri length off");
    memcpy(p, b.p, b.len);
    p[36] = 0x7f; /* source length high byte: huge */
    ND_EXPECT(decode_copy(p, b.len) == ND_ERR_INVALID_ARG, "huge source length");
    memcpy(p, b.p, b.len);
    p[28] = 7; /* canonical flag */
    ND_EXPECT(decode_copy(p, b.len) == ND_ERR_INVALID_ARG, "bad canonical flag");
    memcpy(p, b.p, b.len);
    memset(p + 37, 0xee, 4); /* the signature's tag */
    ND_EXPECT(decode_copy(p, b.len) == ND_ERR_INVALID_ARG, "bad signature tag");
    nd_free(p);
    /* An empty uri is refused on both sides. */
    f.art.uri_len = 0;
    ND_EXPECT(nd_state_record_encode(&b, &f.art, &f.sig, &f.d) == ND_ERR_INVALID_ARG,
              "empty uri encoded");
    nd_buf_free(&b);
    nd_dedup_destroy(f.dd);
}

int main(void)
{
    ND_TEST(round_trip);
    ND_TEST(restore_into_a_new_engine);
    ND_TEST(corrupt_records_refused);
    return nd_test_done();
}
