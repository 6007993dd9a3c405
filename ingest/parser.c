/*
 * parser.c - ninjs 1.x / 2.x / 3.x documents to nd_article_t.
 *
 * yajl in SAX mode (chosen by measurement: docs/BENCHMARKS.md, "JSON
 * library"). The callbacks keep only the fields an article needs and ignore
 * the rest at any depth. Design points:
 *
 *  - yajl is the reference and the validator of record, but a well-formed
 *    document is first walked by fast_walk(), our own walker, which makes
 *    the same callbacks with the same strings. It gives up on anything it
 *    does not take whole (a syntax error, an odd escape or space, a callback
 *    refusing the content); the document is then parsed again by yajl from
 *    scratch, so every reject keeps yajl's message and offset.
 *  - The document is validated as strict UTF-8 once, up front, so the
 *    walker and yajl take its bytes as they are (yajl with string validation
 *    off) and a bad byte anywhere is ND_ERR_BAD_UTF8. With yajl alone that is
 *    done in the pass that finds its long strings (scan_doc()); the walker
 *    finds them itself, and scan_doc() runs only when yajl has to.
 *  - Strings without escapes are used in place (they point into the input);
 *    only escaped strings, which yajl decodes into a scratch buffer, are
 *    copied into per-field buffers owned by the handle and reused across
 *    documents. Steady state: no allocation per document or per field.
 *  - Long string values (bodies) bypass yajl's byte-at-a-time string lexer:
 *    see scan_doc(). A long body candidate with escapes is kept raw (its
 *    JSON text) and never decoded: the normaliser reads the escapes as the
 *    characters they stand for (ND_NORM_JSON_ESCAPES), text or HTML.
 *  - yajl does not check its own allocations, so it allocates from an arena
 *    in the handle (reset per document, no free list). If the arena cannot
 *    grow, the allocator longjmp()s back to nd_parser_parse(), which returns
 *    ND_ERR_NOMEM; yajl holds nothing that needs freeing outside the arena.
 *  - Known keys match ASCII case-insensitively, so "versioncreated" (1.x,
 *    2.x) and "versionCreated" (3.x) are one field; a camelCase spelling is
 *    how a 3.x document is recognised when it names no schema.
 *  - Duplicate keys: the last occurrence wins (a repeated "bodies" array
 *    replaces the earlier one). A null value counts as absent.
 */
#include "normalize_int.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ND_PARSER_HAVE_AVX2 1
#else
#define ND_PARSER_HAVE_AVX2 0
#endif

#define ND_ARENA_CHUNK  (64 * 1024)
#define ND_ARENA_RETAIN (1024 * 1024)

/* String values at least this long are lexed by us, not yajl (run_yajl). */
#define ND_ELIDE_MIN 128
#define ND_ELIDE_MAX 8

/* Known keys. Top-level ones first, then those inside array entries. */
enum {
    K_NONE = 0,
    K_URI,
    K_HEADLINE,
    K_BODY_TEXT,
    K_BODY_HTML,
    K_BODY_XHTML,
    K_DESC_TEXT,
    K_DESC_HTML,
    K_VERSIONCREATED,
    K_FIRSTCREATED,
    K_LANGUAGE,
    K_COPYRIGHTHOLDER,
    K_SCHEMA,
    K_HEADLINES, /* arrays of objects */
    K_BODIES,
    K_DESCRIPTIONS,
    K_INFOSOURCES,
    K_STANDARD, /* object */
    K_VALUE,    /* inside entries */
    K_CONTENTTYPE,
    K_NAME,
    K_VERSION,
};

typedef struct nd_key_s {
    const char *name;
    size_t len;
    int id;
    const char *camel; /* the 3.x spelling (len bytes) when it differs from name, else NULL */
} nd_key_t;

static const nd_key_t nd_top_keys[] = {
    {"uri", 3, K_URI, NULL},
    {"headline", 8, K_HEADLINE, NULL},
    {"body_text", 9, K_BODY_TEXT, NULL},
    {"body_html", 9, K_BODY_HTML, NULL},
    {"body_xhtml", 10, K_BODY_XHTML, NULL},
    {"description_text", 16, K_DESC_TEXT, NULL},
    {"description_html", 16, K_DESC_HTML, NULL},
    {"versioncreated", 14, K_VERSIONCREATED, "versionCreated"},
    {"firstcreated", 12, K_FIRSTCREATED, "firstCreated"},
    {"language", 8, K_LANGUAGE, NULL},
    {"copyrightholder", 15, K_COPYRIGHTHOLDER, "copyrightHolder"},
    {"$schema", 7, K_SCHEMA, NULL},
    {"headlines", 9, K_HEADLINES, NULL},
    {"bodies", 6, K_BODIES, NULL},
    {"descriptions", 12, K_DESCRIPTIONS, NULL},
    {"infosources", 11, K_INFOSOURCES, "infoSources"},
    {"standard", 8, K_STANDARD, NULL},
};

/* Known keys are shorter than this (lookup() compares up to 16 bytes). */
#define ND_KEY_LEN_MAX 17
/* The size of lookup()'s hash table (a power of 2). */
#define ND_KEY_SLOTS 64

static const nd_key_t nd_entry_keys[] = {
    {"value", 5, K_VALUE, NULL},   {"contenttype", 11, K_CONTENTTYPE, "contentType"},
    {"name", 4, K_NAME, NULL},     {"version", 7, K_VERSION, NULL},
    {"schema", 6, K_SCHEMA, NULL},
};
_Static_assert(sizeof(nd_top_keys) / sizeof(nd_top_keys[0]) <= 32 &&
                   sizeof(nd_entry_keys) / sizeof(nd_entry_keys[0]) <= 32,
               "index_keys() takes up to 32 keys a table");

/* Body content types, in order of preference within bodies[]. */
enum { CT_NONE = 0, CT_PLAIN = 1, CT_HTML = 2, CT_OTHER = 3 };

/* A string field: points into the input, or into buf for decoded strings;
 * p, len, raw and dec_len are meaningful only while set.
 * A body candidate may be left raw: p..p+len is then the JSON text of the
 * string, simple escapes undecoded (see body_raw()), dec_len its decoded
 * length. */
typedef struct nd_field_s {
    const char *p;
    size_t len;
    int set;
    int raw;
    size_t dec_len;
    nd_buf_t buf;
} nd_field_t;

/* The best entry seen so far in bodies[] or descriptions[]. */
typedef struct nd_pick_s {
    nd_field_t f;
    int rank; /* CT_* of the kept entry; CT_NONE when none */
    int html;
} nd_pick_t;

/* A key table's lookup() index: slot[h] is the set of its entries that
 * key_hash() puts in slot h; w[k] is entry k's name as key_words(), cw[k]
 * its 3.x spelling (its name when it has none); bit k of camel is set when
 * entry k has a 3.x spelling; b[k] and cb[k] are the name and the 3.x
 * spelling as 16 bytes, zero-padded. */
typedef struct nd_key_index_s {
    uint32_t slot[ND_KEY_SLOTS];
    uint32_t camel;
    uint64_t w[32][2];
    uint64_t cw[32][2];
    unsigned char b[32][16];
    unsigned char cb[32][16];
} nd_key_index_t;

typedef struct nd_chunk_s {
    struct nd_chunk_s *next;
    size_t size, used;
    max_align_t data[];
} nd_chunk_t;

struct nd_parser_s {
    nd_parser_conf_t conf;
    nd_key_index_t top_idx, ent_idx; /* index_keys() */
    int avx2;                        /* the CPU has AVX2 (scan_stop_avx2) */
    int fast_json;                   /* try fast_walk() before yajl (nd_parser_set_fast_json) */

    /* yajl's arena */
    nd_chunk_t *chunks, *cur;
    jmp_buf oom_jmp;
    yajl_alloc_funcs afs;

    /* the document */
    const char *in;
    size_t in_len;
    nd_err_t err;
    char errmsg[200];

    /* SAX position */
    int depth;
    int top_key;       /* key at depth 1 whose value is being read */
    char key_name[48]; /* a copy of the key, when it is not in the input */
    const char *key_p; /* the key, for messages: key_n bytes, in the input or key_name */
    size_t key_n;
    int arr_key;  /* known array open at depth 2, or K_NONE */
    long arr_idx; /* index of the current entry in it */
    int ent_key;  /* key at depth 3 inside a known array entry / standard */
    char ent_name[24];
    const char *ent_p; /* as key_p, key_n */
    size_t ent_n;
    int ent_ct; /* content type of the current entry */
    nd_field_t ent_value;
    int saw_names; /* infoSources: a name was already taken from this array */

    /* what the document said */
    nd_field_t uri, headline, language, holder, infosrc, vtime, ftime;
    nd_field_t body_text, body_html, body_xhtml, desc_text, desc_html;
    nd_pick_t bodies, descs;
    int camel, v2_shape, schema_major, standard_major;

    nd_buf_t text; /* normalised body */

    /* Long string values yajl is given as "": offsets of their quotes. */
    struct {
        size_t open, close;
        size_t nesc; /* simple escapes it holds (never \\u) */
    } elide[ND_ELIDE_MAX];
    int n_elide;
    int elide_cur;   /* index of the elided string yajl reports next, or -1 */
    int elide_bad;   /* an elided string landed where it cannot be used */
    nd_buf_t unesc;  /* an elided string with its escapes decoded */
    int unesc_owned; /* unesc holds the string being reported */
    int cur_raw;     /* the string being reported is raw JSON text ... */
    size_t cur_dec;  /* ... of this decoded length */
};

/* ---- the arena yajl allocates from ---- */

typedef struct {
    size_t size;
    size_t pad;
} nd_blk_t; /* 16 bytes before every block: its usable size */

static void *arena_alloc(void *ctx, size_t sz)
{
    nd_parser_t *p = ctx;
    size_t need = sizeof(nd_blk_t) + ((sz + 15) & ~(size_t)15);
    nd_chunk_t *c = p->cur;
    while (c && c->size - c->used < need)
        c = c->next;
    if (!c) {
        size_t size = need > ND_ARENA_CHUNK ? need * 2 : ND_ARENA_CHUNK;
        c = nd_malloc(sizeof(nd_chunk_t) + size);
        if (!c)
            longjmp(p->oom_jmp, 1);
        c->size = size;
        c->used = 0;
        c->next = NULL;
        nd_chunk_t **tail = &p->chunks;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
    }
    p->cur = c;
    nd_blk_t *b = (nd_blk_t *)((char *)c->data + c->used);
    b->size = need - sizeof(nd_blk_t);
    c->used += need;
    return b + 1;
}

static void *arena_realloc(void *ctx, void *ptr, size_t sz)
{
    nd_parser_t *p = ctx;
    if (!ptr)
        return arena_alloc(ctx, sz);
    nd_blk_t *b = (nd_blk_t *)ptr - 1;
    if (sz <= b->size)
        return ptr;
    nd_chunk_t *c = p->cur;
    size_t grow = ((sz + 15) & ~(size_t)15) - b->size;
    if ((char *)ptr + b->size == (char *)c->data + c->used && c->size - c->used >= grow) {
        c->used += grow; /* the last block of the chunk grows in place */
        b->size += grow;
        return ptr;
    }
    void *n = arena_alloc(ctx, sz);
    memcpy(n, ptr, b->size);
    return n;
}

static void arena_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr; /* everything goes at the next reset */
}

/* Empty the arena for the next document, keeping at most ND_ARENA_RETAIN. */
static void arena_reset(nd_parser_t *p)
{
    size_t kept = 0;
    nd_chunk_t **link = &p->chunks;
    while (*link) {
        nd_chunk_t *c = *link;
        if (kept + c->size > ND_ARENA_RETAIN && kept > 0) {
            *link = c->next;
            nd_free(c);
            continue;
        }
        kept += c->size;
        c->used = 0;
        link = &c->next;
    }
    p->cur = p->chunks;
}

/* ---- errors and fields ---- */

__attribute__((format(printf, 3, 4))) static int fail(nd_parser_t *p, nd_err_t err, const char *fmt,
                                                      ...)
{
    if (p->err)
        return 0;
    p->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errmsg, sizeof(p->errmsg), fmt, ap);
    va_end(ap);
    return 0; /* yajl: cancel the parse */
}

/* The name of the field being read, as spelled in the document. */
static const char *field_name(nd_parser_t *p, char *tmp, size_t tmp_size)
{
    if (p->depth >= 3 || (p->depth == 2 && p->top_key == K_STANDARD))
        snprintf(tmp, tmp_size, "%.*s[%ld].%.*s", (int)p->key_n, p->key_p, p->arr_idx,
                 (int)p->ent_n, p->ent_p);
    else if (p->depth == 2)
        snprintf(tmp, tmp_size, "%.*s[%ld]", (int)p->key_n, p->key_p, p->arr_idx);
    else
        snprintf(tmp, tmp_size, "%.*s", (int)p->key_n, p->key_p);
    return tmp;
}

/* set_field() for a string that is not in the input: decoded by us (taken
 * from unesc) or by yajl (copied, after a check). */
static __attribute__((noinline)) int set_field_copy(nd_parser_t *p, nd_field_t *f,
                                                    const unsigned char *s, size_t len)
{
    if (p->unesc_owned && (const char *)s == p->unesc.p) {
        /* Decoded by us from simple escapes of valid UTF-8: take the buffer. */
        nd_buf_t t = f->buf;
        f->buf = p->unesc;
        p->unesc = t;
        p->unesc_owned = 0;
        f->p = f->buf.p;
        f->len = len;
        f->set = 1;
        f->raw = 0;
        f->dec_len = len;
        return 1;
    }
    /* Decoded by yajl from escapes: "\udc00" alone decodes to a surrogate. */
    if (nd_utf8_check((const char *)s, len) != len) {
        char tmp[100];
        return fail(p, ND_ERR_BAD_UTF8, "field \"%s\" has an escape that is not a valid character",
                    field_name(p, tmp, sizeof(tmp)));
    }
    nd_buf_reset(&f->buf);
    if (nd_buf_append(&f->buf, s, len))
        return fail(p, ND_ERR_NOMEM, "out of memory copying a field");
    f->p = f->buf.p;
    f->len = len;
    f->set = 1;
    f->raw = 0;
    f->dec_len = len;
    return 1;
}

/* Set f to the string s[0..len) being reported: in place when it is in the
 * input (raw or not, p->cur_raw), else see set_field_copy(). 0 on failure
 * (p->err set). */
static inline int set_field(nd_parser_t *p, nd_field_t *f, const unsigned char *s, size_t len)
{
    uintptr_t a = (uintptr_t)s, lo = (uintptr_t)p->in;
    if (a >= lo && a + len <= lo + p->in_len) {
        f->p = (const char *)s;
        f->len = len;
        f->set = 1;
        f->raw = p->cur_raw;
        f->dec_len = p->cur_raw ? p->cur_dec : len;
        return 1;
    }
    return set_field_copy(p, f, s, len);
}

/* The field is absent (its other members are then left as they were: they
 * mean nothing until set_field()). */
static void clear_field(nd_field_t *f)
{
    f->set = 0;
}

/* s[0..n) equals lower[0..n) (lowercase ASCII) ignoring ASCII case; what
 * strncasecmp() answers for these strings, without the call. */
static inline int eq_nocase(const char *s, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        if (c - 'A' < 26u)
            c += 32;
        if (c != (unsigned char)lower[i])
            return 0;
    }
    return 1;
}

/* The bytes of s[0..len) (1 <= len <= 16) as two words, each byte once at
 * least: the first and the last 8 (or 4) bytes, which may overlap. */
static inline void key_words(const char *s, size_t len, uint64_t w[2])
{
    if (len >= 8) {
        memcpy(&w[0], s, 8);
        memcpy(&w[1], s + len - 8, 8);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        w[0] = a;
        w[1] = b;
    } else {
        w[0] = (unsigned char)s[0] | (unsigned)(unsigned char)s[len / 2] << 8 |
               (unsigned)(unsigned char)s[len - 1] << 16;
        w[1] = 0;
    }
}

/* The ASCII uppercase letters of the bytes of w, as 0x80 in their byte. */
static inline uint64_t word_upper(uint64_t w)
{
    const uint64_t h = 0x8080808080808080ull, ones = 0x0101010101010101ull;
    uint64_t t = w & ~h;
    return (t + ones * (0x80 - 'A')) & ~(t + ones * (0x80 - 'Z' - 1)) & ~w & h;
}

_Static_assert(ND_KEY_SLOTS == 64, "key_hash() relies on 2 * 32 == 0 modulo ND_KEY_SLOTS");

/* The slot of a key of len bytes whose first and last bytes, lowercased,
 * are c0 and c1; the same for c1 in either case. No two keys of a table
 * share a slot (the tables' first and last bytes and lengths). */
static inline unsigned key_hash(size_t len, unsigned c0, unsigned c1)
{
    return (unsigned)(len + c0 * 3 + c1 * 2) & (ND_KEY_SLOTS - 1);
}

/* Fill x, the lookup() index of t[0..n) (n <= 32); x starts zeroed. */
static void index_keys(const nd_key_t *t, size_t n, nd_key_index_t *x)
{
    for (size_t k = 0; k < n; k++) {
        if (t[k].len == 0 || t[k].len >= ND_KEY_LEN_MAX)
            continue;
        x->slot[key_hash(t[k].len, (unsigned char)t[k].name[0],
                         (unsigned char)t[k].name[t[k].len - 1])] |= 1u << k;
        key_words(t[k].name, t[k].len, x->w[k]);
        key_words(t[k].camel ? t[k].camel : t[k].name, t[k].len, x->cw[k]);
        if (t[k].camel)
            x->camel |= 1u << k;
        memcpy(x->b[k], t[k].name, t[k].len);
        memcpy(x->cb[k], t[k].camel ? t[k].camel : t[k].name, t[k].len);
    }
}

/* The id of a key (ASCII case-insensitive); sets *camel when a key whose
 * 3.x spelling is camelCase is written with an uppercase letter. x is t's
 * index_keys(). wide: key[0..16) may be read whatever len is. */
static inline __attribute__((always_inline)) int lookup(const char *key, size_t len,
                                                        const nd_key_t *t, const nd_key_index_t *x,
                                                        int *camel, int wide)
{
    if (len == 0 || len >= ND_KEY_LEN_MAX)
        return K_NONE;
    unsigned c0 = (unsigned char)key[0], c1 = (unsigned char)key[len - 1];
    if (c0 - 'A' < 26u)
        c0 += 32; /* c1 needs none: key_hash() takes 2 * c1 modulo 64 */
    uint32_t m = x->slot[key_hash(len, c0, c1)];
    if (!m)
        return K_NONE;
#ifdef __SSE2__
    if (wide) {
        /* As below, one 16-byte compare a spelling, without a branch on len. */
        unsigned k0 = (unsigned)__builtin_ctz(m), need = (1u << len) - 1;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)key);
        unsigned el = (unsigned)_mm_movemask_epi8(
                     _mm_cmpeq_epi8(v, _mm_loadu_si128((const __m128i *)(const void *)x->b[k0]))),
                 ec = (unsigned)_mm_movemask_epi8(
                     _mm_cmpeq_epi8(v, _mm_loadu_si128((const __m128i *)(const void *)x->cb[k0])));
        unsigned hc = (ec & need) == need;
        if ((t[k0].len == len) & (hc | ((el & need) == need))) {
            *camel |= (int)(x->camel >> k0 & hc);
            return t[k0].id;
        }
    }
#else
    (void)wide;
#endif
    uint64_t w[2];
    key_words(key, len, w);
    /* The common case first, without a branch on the spelling: the key is
     * spelt exactly as the first entry of its slot's name or 3.x spelling
     * (the slots hold one entry each). Else the ASCII case fold below. */
    unsigned k0 = (unsigned)__builtin_ctz(m);
    uint64_t dc = (w[0] ^ x->cw[k0][0]) | (w[1] ^ x->cw[k0][1]);
    uint64_t dl = (w[0] ^ x->w[k0][0]) | (w[1] ^ x->w[k0][1]);
    if ((t[k0].len == len) & ((dc == 0) | (dl == 0))) {
        *camel |= (int)(x->camel >> k0 & (dc == 0));
        return t[k0].id;
    }
    uint64_t u0 = word_upper(w[0]), u1 = word_upper(w[1]);
    w[0] |= u0 >> 2; /* 0x80 >> 2: the 0x20 that lowercases a letter */
    w[1] |= u1 >> 2;
    for (; m; m &= m - 1) {
        unsigned k = (unsigned)__builtin_ctz(m);
        if (t[k].len != len || w[0] != x->w[k][0] || w[1] != x->w[k][1])
            continue;
        if (t[k].camel && (u0 | u1))
            *camel = 1;
        return t[k].id;
    }
    return K_NONE;
}

static int is_array_key(int k)
{
    return k == K_HEADLINES || k == K_BODIES || k == K_DESCRIPTIONS || k == K_INFOSOURCES;
}

/* The major version number in a schema URL or version string, 0 if none:
 * "...ninjs-schema_2.1.json" -> 2, "3.0" -> 3. */
static int version_major(const char *s, size_t len)
{
    for (size_t i = 0; i + 7 < len; i++)
        if (eq_nocase(s + i, "schema_", 7) && s[i + 7] >= '1' && s[i + 7] <= '9')
            return s[i + 7] - '0';
    for (size_t i = 0; i < len; i++)
        if (s[i] >= '1' && s[i] <= '9' && (i + 1 == len || s[i + 1] == '.'))
            return s[i] - '0';
    return 0;
}

static const char *json_type_name(int t)
{
    static const char *const names[] = {"null",     "a boolean", "a number",
                                        "a string", "an object", "an array"};
    return names[t];
}

enum { T_NULL, T_BOOL, T_NUMBER, T_STRING, T_MAP, T_ARRAY };

/* Reject a value of the wrong JSON type at the current field. */
static __attribute__((noinline, cold)) int wrong_type(nd_parser_t *p, int type,
                                                      const char *expected)
{
    char tmp[100];
    return fail(p, ND_ERR_WRONG_TYPE, "field \"%s\" is %s, expected %s",
                field_name(p, tmp, sizeof(tmp)), json_type_name(type), expected);
}

/*
 * A value starts (scalar or container) in the current position. Checks the
 * type of known fields. @return 1 to go on, 0 to cancel.
 */
static inline __attribute__((always_inline)) int on_value(nd_parser_t *p, int type)
{
    if (p->depth == 0) {
        if (type != T_MAP)
            return fail(p, ND_ERR_NOT_OBJECT, "the document is %s, not a JSON object",
                        json_type_name(type));
        return 1;
    }
    if (p->depth == 1) {
        int k = p->top_key;
        if (k == K_NONE || type == T_NULL)
            return 1;
        if (is_array_key(k)) {
            if (type != T_ARRAY)
                return wrong_type(p, type, "an array");
        } else if (k == K_STANDARD) {
            return 1; /* informative only */
        } else if (type != T_STRING) {
            return wrong_type(p, type, "a string");
        }
        return 1;
    }
    if (p->depth == 2 && p->arr_key != K_NONE) {
        if (type == T_NULL) {
            p->arr_idx++;
            return 1;
        }
        if (type != T_MAP)
            return wrong_type(p, type, "an object");
        return 1;
    }
    if (p->depth == 3 && p->arr_key != K_NONE) {
        int k = p->ent_key;
        int wanted = (k == K_VALUE && p->arr_key != K_INFOSOURCES) || k == K_CONTENTTYPE ||
                     (k == K_NAME && p->arr_key == K_INFOSOURCES);
        if (wanted && type != T_STRING && type != T_NULL)
            return wrong_type(p, type, "a string");
    }
    return 1;
}

static int classify_ct(const char *s, size_t len)
{
    if (len >= 10 && eq_nocase(s, "text/plain", 10))
        return CT_PLAIN;
    for (size_t i = 0; i + 4 <= len; i++)
        if (eq_nocase(s + i, "html", 4))
            return CT_HTML;
    return CT_OTHER;
}

/* ---- yajl callbacks ---- */

static inline __attribute__((always_inline)) int cb_string_at(nd_parser_t *p,
                                                              const unsigned char *s, size_t len)
{
    nd_field_t *f;
    if (p->depth == 1) {
        switch (p->top_key) {
        case K_URI:
            f = &p->uri;
            break;
        case K_HEADLINE:
            f = &p->headline;
            break;
        case K_BODY_TEXT:
            f = &p->body_text;
            break;
        case K_BODY_HTML:
            f = &p->body_html;
            break;
        case K_BODY_XHTML:
            f = &p->body_xhtml;
            break;
        case K_DESC_TEXT:
            f = &p->desc_text;
            break;
        case K_DESC_HTML:
            f = &p->desc_html;
            break;
        case K_VERSIONCREATED:
            f = &p->vtime;
            break;
        case K_FIRSTCREATED:
            f = &p->ftime;
            break;
        case K_LANGUAGE:
            f = &p->language;
            break;
        case K_COPYRIGHTHOLDER:
            f = &p->holder;
            break;
        case K_SCHEMA:
            p->schema_major = version_major((const char *)s, len);
            return 1;
        default:
            return 1;
        }
        return set_field(p, f, s, len);
    }
    if (p->depth == 2 && p->top_key == K_STANDARD) {
        if (p->ent_key == K_VERSION || p->ent_key == K_SCHEMA) {
            int m = version_major((const char *)s, len);
            if (m && !p->standard_major)
                p->standard_major = m;
        }
        return 1;
    }
    if (p->depth == 3 && p->arr_key != K_NONE) {
        switch (p->ent_key) {
        case K_VALUE:
            if (p->arr_key == K_HEADLINES && p->arr_idx == 0)
                return set_field(p, &p->headline, s, len);
            if (p->arr_key == K_BODIES || p->arr_key == K_DESCRIPTIONS)
                return set_field(p, &p->ent_value, s, len);
            return 1;
        case K_CONTENTTYPE:
            p->ent_ct = classify_ct((const char *)s, len);
            return 1;
        case K_NAME:
            if (p->arr_key == K_INFOSOURCES && !p->saw_names && len > 0) {
                p->saw_names = 1;
                return set_field(p, &p->infosrc, s, len);
            }
            return 1;
        default:
            return 1;
        }
    }
    return 1;
}

static int cb_null(void *ctx)
{
    return on_value(ctx, T_NULL);
}

static int cb_boolean(void *ctx, int v)
{
    (void)v;
    return on_value(ctx, T_BOOL);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    (void)s;
    (void)len;
    return on_value(ctx, T_NUMBER);
}

/* Decode the simple escapes (never \\u) of the JSON string text r..end into
 * out, NUL-terminated. 0 on out of memory. */
static int unescape_simple(const char *r, const char *end, nd_buf_t *out)
{
    nd_buf_reset(out);
    if (nd_buf_reserve(out, (size_t)(end - r) + 16))
        return 0;
    char *o = out->p;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time, stored whole; o never runs ahead of r. */
        const __m128i bs = _mm_set1_epi8('\\');
        while (end - r >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)r);
            _mm_storeu_si128((__m128i *)(void *)o, v);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bs));
            if (m) {
                unsigned k = (unsigned)__builtin_ctz(m);
                r += k;
                o += k;
                break;
            }
            r += 16;
            o += 16;
        }
#endif
        while (r < end && *r != '\\')
            *o++ = *r++;
        if (r >= end)
            break;
        switch (r[1]) { /* the scan admitted only these */
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        default:
            *o++ = r[1];
            break; /* " \\ / */
        }
        r += 2;
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = '\0';
    return 1;
}

/* The raw text of elided string k, its simple escapes decoded into unesc if
 * it has any. 0 on out of memory. */
static int elided_text(nd_parser_t *p, int k, const unsigned char **s, size_t *len)
{
    const char *r = p->in + p->elide[k].open + 1, *end = p->in + p->elide[k].close;
    if (!p->elide[k].nesc) {
        *s = (const unsigned char *)r;
        *len = (size_t)(end - r);
        return 1;
    }
    if (!unescape_simple(r, end, &p->unesc))
        return 0;
    p->unesc_owned = 1;
    *s = (const unsigned char *)p->unesc.p;
    *len = p->unesc.len;
    return 1;
}

/* The string being reported goes to a body candidate, which may stay raw:
 * the same routing as cb_string_at(). */
static int body_target(const nd_parser_t *p)
{
    if (p->depth == 1)
        return p->top_key == K_BODY_TEXT || p->top_key == K_BODY_HTML ||
               p->top_key == K_BODY_XHTML || p->top_key == K_DESC_TEXT || p->top_key == K_DESC_HTML;
    return p->depth == 3 && (p->arr_key == K_BODIES || p->arr_key == K_DESCRIPTIONS) &&
           p->ent_key == K_VALUE;
}

/* A string value (yajl's string callback; the fast walk inlines it). */
static inline __attribute__((always_inline)) int string_value(nd_parser_t *p,
                                                              const unsigned char *s, size_t len)
{
    if (p->elide_cur >= 0) {
        int k = p->elide_cur;
        p->elide_cur = -1;
        if (p->elide[k].nesc && body_target(p)) {
            /* Left raw: decoded, if ever, only when chosen as the body. */
            s = (const unsigned char *)p->in + p->elide[k].open + 1;
            len = p->elide[k].close - p->elide[k].open - 1;
            p->cur_raw = 1;
            p->cur_dec = len - p->elide[k].nesc;
        } else if (!elided_text(p, k, &s, &len)) {
            return fail(p, ND_ERR_NOMEM, "out of memory copying a field");
        }
    }
    int r = on_value(p, T_STRING) && cb_string_at(p, s, len);
    p->unesc_owned = 0;
    p->cur_raw = 0;
    return r;
}

static inline __attribute__((always_inline)) int enter(nd_parser_t *p, int type)
{
    if (!on_value(p, type))
        return 0;
    if (p->depth >= p->conf.max_depth)
        return fail(p, ND_ERR_TOO_DEEP, "nesting deeper than %d levels", p->conf.max_depth);
    if (p->depth == 1 && type == T_ARRAY && is_array_key(p->top_key)) {
        p->arr_key = p->top_key;
        p->arr_idx = 0;
        p->saw_names = 0;
        p->v2_shape = 1;
        if (p->arr_key == K_HEADLINES)
            clear_field(&p->headline);
        else if (p->arr_key == K_INFOSOURCES)
            clear_field(&p->infosrc);
        else {
            nd_pick_t *pk = p->arr_key == K_BODIES ? &p->bodies : &p->descs;
            clear_field(&pk->f);
            pk->rank = CT_NONE;
        }
    } else if (p->depth == 1 && p->top_key == K_STANDARD) {
        p->ent_key = K_NONE;
    } else if (p->depth == 2 && type == T_MAP && p->arr_key != K_NONE) {
        p->ent_key = K_NONE;
        p->ent_ct = CT_NONE;
        clear_field(&p->ent_value);
    }
    p->depth++;
    return 1;
}

static int cb_start_map(void *ctx)
{
    return enter(ctx, T_MAP);
}

static int cb_start_array(void *ctx)
{
    return enter(ctx, T_ARRAY);
}

/* An entry of bodies[] or descriptions[] ends: keep it if it is better. */
static void entry_done(nd_parser_t *p)
{
    if (p->arr_key != K_BODIES && p->arr_key != K_DESCRIPTIONS)
        return;
    if (!p->ent_value.set || p->ent_value.len == 0)
        return;
    nd_pick_t *pk = p->arr_key == K_BODIES ? &p->bodies : &p->descs;
    int rank = p->ent_ct == CT_NONE ? CT_OTHER : p->ent_ct;
    if (pk->rank != CT_NONE && pk->rank <= rank)
        return;
    nd_field_t t = pk->f; /* swap: the buffers change hands, nothing is copied */
    pk->f = p->ent_value;
    p->ent_value = t;
    pk->rank = rank;
    if (p->ent_ct == CT_NONE) { /* no content type: markup if it starts with a tag */
        const char *t = pk->f.p;
        size_t i = 0, n = pk->f.len;
        for (;;) {
            if (i < n && (t[i] == ' ' || (!pk->f.raw && (t[i] == '\n' || t[i] == '\t'))))
                i++;
            else if (pk->f.raw && i + 1 < n && t[i] == '\\' && (t[i + 1] == 'n' || t[i + 1] == 't'))
                i += 2; /* a raw string holds no control byte, only its escape */
            else
                break;
        }
        pk->html = i < n && t[i] == '<';
    } else {
        pk->html = p->ent_ct == CT_HTML;
    }
}

static inline __attribute__((always_inline)) int leave(nd_parser_t *p)
{
    p->depth--;
    if (p->depth == 2 && p->arr_key != K_NONE) {
        entry_done(p);
        p->arr_idx++;
    } else if (p->depth == 1) {
        p->arr_key = K_NONE;
    }
    return 1;
}

static int cb_end_map(void *ctx)
{
    return leave(ctx);
}

static int cb_end_array(void *ctx)
{
    return leave(ctx);
}

/* The first n bytes of a key, kept for messages: in place when they are in
 * the input (which outlives the parse), else copied to buf (room for n). */
static inline const char *key_ref(const nd_parser_t *p, const char *key, size_t n, char *buf)
{
    uintptr_t a = (uintptr_t)key, lo = (uintptr_t)p->in;
    if (a >= lo && a + n <= lo + p->in_len)
        return key;
    memcpy(buf, key, n);
    return buf;
}

/* A key (yajl's map key callback; the fast walk inlines it). */
static inline __attribute__((always_inline)) int map_key(nd_parser_t *p, const unsigned char *key,
                                                         size_t len)
{
    if (p->elide_cur >= 0) { /* cannot happen: the scan skips keys */
        p->elide_bad = 1;
        return 0;
    }
    const char *k = (const char *)key;
    uintptr_t a = (uintptr_t)key, lo = (uintptr_t)p->in;
    int wide = a >= lo && a + 16 <= lo + p->in_len; /* 16 bytes of the input */
    if (p->depth == 1) {
        p->top_key = lookup(k, len, nd_top_keys, &p->top_idx, &p->camel, wide);
        size_t n = len < sizeof(p->key_name) - 1 ? len : sizeof(p->key_name) - 1;
        p->key_p = key_ref(p, k, n, p->key_name);
        p->key_n = n;
    } else if ((p->depth == 3 && p->arr_key != K_NONE) ||
               (p->depth == 2 && p->top_key == K_STANDARD)) {
        p->ent_key = lookup(k, len, nd_entry_keys, &p->ent_idx, &p->camel, wide);
        size_t n = len < sizeof(p->ent_name) - 1 ? len : sizeof(p->ent_name) - 1;
        p->ent_p = key_ref(p, k, n, p->ent_name);
        p->ent_n = n;
    }
    return 1;
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    return string_value(ctx, s, len);
}

static int cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
    return map_key(ctx, key, len);
}

static const yajl_callbacks nd_callbacks = {
    cb_null,      cb_boolean, NULL,       NULL,           cb_number,    cb_string,
    cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

/* ---- public ---- */

void nd_parser_conf_init(nd_parser_conf_t *conf)
{
    conf->max_doc_bytes = 4u << 20;
    conf->max_depth = 64;
}

nd_parser_t *nd_parser_new(const nd_parser_conf_t *conf, char *errstr, size_t errstr_size)
{
    nd_parser_conf_t c;
    if (conf)
        c = *conf;
    else
        nd_parser_conf_init(&c);
    if (c.max_depth < 2 || c.max_doc_bytes < 2) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "parser: max_depth must be >= 2 and max_doc_bytes >= 2");
        return NULL;
    }
    nd_parser_t *p = nd_calloc(1, sizeof(*p));
    if (!p) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "parser: out of memory");
        return NULL;
    }
    p->conf = c;
#if ND_PARSER_HAVE_AVX2
    p->avx2 = __builtin_cpu_supports("avx2");
#endif
    p->fast_json = 1;
    index_keys(nd_top_keys, sizeof(nd_top_keys) / sizeof(nd_top_keys[0]), &p->top_idx);
    index_keys(nd_entry_keys, sizeof(nd_entry_keys) / sizeof(nd_entry_keys[0]), &p->ent_idx);
    p->afs.malloc = arena_alloc;
    p->afs.realloc = arena_realloc;
    p->afs.free = arena_free;
    p->afs.ctx = p;
    return p;
}

void nd_parser_destroy(nd_parser_t *p)
{
    if (!p)
        return;
    while (p->chunks) {
        nd_chunk_t *c = p->chunks;
        p->chunks = c->next;
        nd_free(c);
    }
    nd_field_t *fields[] = {&p->uri,       &p->headline,   &p->language,  &p->holder,
                            &p->infosrc,   &p->vtime,      &p->ftime,     &p->body_text,
                            &p->body_html, &p->body_xhtml, &p->desc_text, &p->desc_html,
                            &p->bodies.f,  &p->descs.f,    &p->ent_value};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        nd_buf_free(&fields[i]->buf);
    nd_buf_free(&p->text);
    nd_buf_free(&p->unesc);
    nd_free(p);
}

static void reset_doc(nd_parser_t *p, const char *buf, size_t len)
{
    p->in = buf;
    p->in_len = len;
    p->err = ND_ERR_NO_ERROR;
    p->errmsg[0] = '\0';
    p->depth = 0;
    p->top_key = p->arr_key = p->ent_key = K_NONE;
    p->key_p = p->ent_p = "";
    p->key_n = p->ent_n = 0;
    p->arr_idx = 0;
    p->uri.set = p->headline.set = p->language.set = p->holder.set = p->infosrc.set = 0;
    p->vtime.set = p->ftime.set = p->body_text.set = p->body_html.set = p->body_xhtml.set = 0;
    p->desc_text.set = p->desc_html.set = p->bodies.f.set = p->descs.f.set = 0;
    p->ent_value.set = 0; /* clear_field() of each */
    p->bodies.rank = p->descs.rank = CT_NONE;
    p->camel = p->v2_shape = p->schema_major = p->standard_major = 0;
    p->elide_cur = -1;
    p->elide_bad = 0;
    p->unesc_owned = 0;
    p->cur_raw = 0;
}

#if ND_PARSER_HAVE_AVX2
/* scan_stop() 32 bytes a step (AVX2 only: the caller checks the CPU). */
__attribute__((target("avx2"))) static inline size_t scan_stop_avx2(const unsigned char *s,
                                                                    size_t len, size_t i, int high)
{
    const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
    const __m256i c1f = _mm256_set1_epi8(0x1F);
    __m256i c20 = _mm256_set1_epi8(0x20);
    /* Opaque, so that the compiler keeps the one signed compare (it would
     * make a min and a compare of it). */
    __asm__("" : "+x"(c20));
    if (high) {
        while (len - i >= 64) { /* two blocks a step, each its own exit */
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
            unsigned m = (unsigned)_mm256_movemask_epi8(
                _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs)),
                                _mm256_cmpgt_epi8(c20, v)));
            if (m)
                return i + (size_t)__builtin_ctz(m);
            v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 32));
            m = (unsigned)_mm256_movemask_epi8(
                _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs)),
                                _mm256_cmpgt_epi8(c20, v)));
            if (m)
                return i + 32 + (size_t)__builtin_ctz(m);
            i += 64;
        }
    }
    while (len - i >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        __m256i hit;
        if (high) { /* signed, the control and the non-ASCII bytes are below 0x20 */
            hit =
                _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs)),
                                _mm256_cmpgt_epi8(c20, v));
        } else {
            /* control bytes: v <= 0x1F unsigned */
            __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v);
            hit = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpeq_epi8(v, q), _mm256_cmpeq_epi8(v, bs)), ctl);
        }
        unsigned m = (unsigned)_mm256_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 32;
    }
    while (i < len && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20 && (!high || s[i] < 0x80))
        i++;
    return i;
}
#endif

#if ND_PARSER_HAVE_AVX2
/* Bit k set where byte k of v is one that may follow a '\\' in a simple
 * escape ("\\/bfnrt): a low-nibble table and a high-nibble table whose
 * entries share a bit only for those eight bytes. */
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) __m256i
simple_esc_avx2(__m256i v)
{
    /* high nibble 2 -> 1, 5 -> 2, 6 -> 4, 7 -> 8; 8..F (non-ASCII) -> 0 */
    const __m256i hi_tbl = _mm256_setr_epi8(0, 0, 1, 0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                            0, 0, 2, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0);
    /* low nibble 2: '"' 'b' 'r'; 4: 't'; 6: 'f'; C: '\\'; E: 'n'; F: '/' */
    const __m256i lo_tbl = _mm256_setr_epi8(0, 0, 1 | 4 | 8, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1,
                                            0, 0, 1 | 4 | 8, 0, 8, 0, 4, 0, 0, 0, 0, 0, 2, 0, 4, 1);
    const __m256i nib = _mm256_set1_epi8(0x0F);
    __m256i hi = _mm256_shuffle_epi8(hi_tbl, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
    __m256i lo = _mm256_shuffle_epi8(lo_tbl, _mm256_and_si256(v, nib));
    return _mm256_cmpgt_epi8(_mm256_and_si256(hi, lo), _mm256_setzero_si256());
}

/*
 * Where scan_stop(s, len, i, 1, 1) stops at a '\\' (s[i]), the scan of the
 * rest of the string text, stepping over its simple escapes (a '\\' and one
 * of "\\/bfnrt) 64 bytes a step and adding their number to *nsimple. It
 * returns the offset of the first '"' that is not escaped, control or
 * non-ASCII byte, or of the first '\\' of a block whose escapes it does not
 * take (a \\u or other byte after one, two '\\' in a row, one as the
 * block's last byte): escapes before that offset are counted, none after.
 * s[i - 1] must not be an unconsumed '\\'.
 */
__attribute__((target("avx2"))) static size_t scan_esc_avx2(const unsigned char *s, size_t len,
                                                            size_t i, size_t *nsimple)
{
    const __m256i q = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
    __m256i c20 = _mm256_set1_epi8(0x20);
    __asm__("" : "+x"(c20)); /* as in scan_stop_avx2() */
    while (len - i >= 64) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(s + i + 32));
        __m256i b0 = _mm256_cmpeq_epi8(v0, bs), b1 = _mm256_cmpeq_epi8(v1, bs);
        __m256i t0 = _mm256_or_si256(_mm256_cmpeq_epi8(v0, q), _mm256_cmpgt_epi8(c20, v0));
        __m256i t1 = _mm256_or_si256(_mm256_cmpeq_epi8(v1, q), _mm256_cmpgt_epi8(c20, v1));
        if (!_mm256_movemask_epi8(
                _mm256_or_si256(_mm256_or_si256(b0, t0), _mm256_or_si256(b1, t1)))) {
            i += 64;
            continue;
        }
        uint64_t bm =
            (uint32_t)_mm256_movemask_epi8(b0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(b1) << 32;
        uint64_t sm =
            (uint32_t)_mm256_movemask_epi8(t0) | (uint64_t)(uint32_t)_mm256_movemask_epi8(t1) << 32;
        if (!bm)
            return i + (size_t)__builtin_ctzll(sm);
        uint64_t esc = bm << 1;
        if ((bm & esc) || (bm >> 63))
            return i + (size_t)__builtin_ctzll(bm | sm);
        uint64_t ok = (uint32_t)_mm256_movemask_epi8(simple_esc_avx2(v0)) |
                      (uint64_t)(uint32_t)_mm256_movemask_epi8(simple_esc_avx2(v1)) << 32;
        if (esc & ~ok)
            return i + (size_t)__builtin_ctzll(bm | sm);
        uint64_t real = sm & ~esc;
        if (real) {
            unsigned r = (unsigned)__builtin_ctzll(real);
            *nsimple += (size_t)__builtin_popcountll(bm & ((UINT64_C(1) << r) - 1));
            return i + r;
        }
        *nsimple += (size_t)__builtin_popcountll(bm);
        i += 64;
    }
    return scan_stop_avx2(s, len, i, 1);
}
#endif

/*
 * scan_stop: the offset of the first '"', '\' or control byte at or after i
 * (and, when high, the first non-ASCII byte: the document scan and the
 * fast walk validate those where they meet them), len if none. high and
 * avx2 are constants at each call, so each use compiles to one loop.
 */
static inline __attribute__((always_inline)) size_t scan_stop(const unsigned char *s, size_t len,
                                                              size_t i, int avx2, int high)
{
#if ND_PARSER_HAVE_AVX2
    if (avx2)
        return scan_stop_avx2(s, len, i, high);
#else
    (void)avx2;
#endif
#ifdef __SSE2__
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)), ctl);
        if (high)
            hit = _mm_or_si128(hit, v);
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < len && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20 && (!high || s[i] < 0x80))
        i++;
    return i;
}

/* The rest of the document from i validated: @return len, or the offset of
 * its first invalid UTF-8 sequence. */
static size_t utf8_rest(const unsigned char *s, size_t len, size_t i)
{
    return i + nd_utf8_check((const char *)s + i, len - i);
}

/* Validate the UTF-8 sequences from s[j] (>= 0x80) on, up to the next ASCII
 * byte. @return that offset, or (size_t)-1 with *bad set. */
static size_t utf8_run(const unsigned char *s, size_t len, size_t j, size_t *bad)
{
    while (j < len && s[j] >= 0x80) {
        size_t n = nd_utf8_seq((const char *)s, len, j);
        if (n == 0) {
            *bad = j;
            return (size_t)-1;
        }
        j += n;
    }
    return j;
}

/*
 * One pass over the document before yajl sees it: validate it as strict
 * UTF-8 (so yajl runs with string validation off) and find its long string
 * values, which run_yajl hands to yajl as "" and cb_string takes from the
 * input: yajl's string lexer and decoder go a byte at a time, and on a 4 KB
 * body they were most of the parse. Only strings yajl would accept and
 * decode exactly as elided_text() does are chosen: no control bytes, escapes
 * only of the one-character kind (no \\u), and values, not keys. The scan
 * takes every '"' outside a string as the start of one, as yajl's lexer
 * does; in a document that is not valid JSON the spans may be wrong, but
 * yajl then fails and run_yajl parses again without them, so every error is
 * reported as before. Where the spans end early, the rest is only validated.
 * @return in_len, or the offset of the first invalid UTF-8 sequence (what
 * nd_utf8_check() returns).
 */
static inline __attribute__((always_inline)) size_t scan_doc_body(nd_parser_t *p, const int avx2)
{
    const unsigned char *s = (const unsigned char *)p->in;
    size_t len = p->in_len, i = 0, bad = len;
    p->n_elide = 0;
    while (p->n_elide < ND_ELIDE_MAX) {
        /* Between two strings of a document there are a few bytes (":",
         * ",", "[{"): look at them before calling memchr. */
        size_t g = i, gend = len - i > 16 ? i + 16 : len;
        while (g < gend && s[g] != '"') {
            if (s[g] >= 0x80)
                return utf8_rest(s, len, g);
            g++;
        }
        if (g == gend) {
            const unsigned char *q = memchr(s + g, '"', len - g);
            if (!q)
                return utf8_rest(s, len, g);
            size_t ok = nd_utf8_check((const char *)s + g, (size_t)(q - s) - g);
            if (g + ok != (size_t)(q - s))
                return g + ok;
            g = (size_t)(q - s);
        }
        size_t open = g, j = open + 1, nesc = 0;
        int keep = 1;
        for (;;) {
            j = scan_stop(s, len, j, avx2, 1);
            if (j < len && s[j] >= 0x80) {
                if ((j = utf8_run(s, len, j, &bad)) == (size_t)-1)
                    return bad;
                continue;
            }
            if (j >= len || s[j] < 0x20)
                return utf8_rest(s, len, j); /* yajl will fail: nothing more to gain */
            if (s[j] == '"')
                break;
            if (j + 1 >= len)
                return utf8_rest(s, len, j);
            unsigned c = s[j + 1];
            if (c == 'u')
                keep = 0; /* yajl's decoding of \\u is not repeated here */
            else if (!(c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't'))
                return utf8_rest(s, len, j);
            nesc++;
            j += 2;
        }
        size_t k = j + 1;
        while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' ||
                           s[k] == '\v' || s[k] == '\f'))
            k++;
        if (keep && j - open - 1 >= ND_ELIDE_MIN && !(k < len && s[k] == ':')) {
            p->elide[p->n_elide].open = open;
            p->elide[p->n_elide].close = j;
            p->elide[p->n_elide].nesc = nesc;
            p->n_elide++;
        }
        i = j + 1;
    }
    return utf8_rest(s, len, i);
}

#if ND_PARSER_HAVE_AVX2
/* scan_doc_body() compiled for AVX2, so that scan_stop_avx2() inlines. */
__attribute__((target("avx2"))) static size_t scan_doc_avx2(nd_parser_t *p)
{
    return scan_doc_body(p, 1);
}
#endif

/* scan_doc_body() for the CPU. */
static size_t scan_doc(nd_parser_t *p)
{
#if ND_PARSER_HAVE_AVX2
    if (p->avx2)
        return scan_doc_avx2(p);
#endif
    return scan_doc_body(p, 0);
}

static nd_err_t ret(nd_err_t err, const char *msg, char *errstr, size_t errstr_size)
{
    if (errstr && errstr_size) {
        if (err)
            snprintf(errstr, errstr_size, "%s", msg);
        else
            errstr[0] = '\0';
    }
    return err;
}

/*
 * One yajl run over the document. With spans to elide, yajl is fed in
 * pieces: up to each long string's opening quote, then on from its closing
 * one, so it lexes "" there and cb_string takes the text from the input.
 * @return 1 when the run must be repeated without elision (yajl found an
 * error, whose offset is only right over the whole document, or an elided
 * string was not reported where expected), else 0 with p->err set.
 */
static int yajl_once(nd_parser_t *p)
{
    const unsigned char *in = (const unsigned char *)p->in;
    arena_reset(p);
    yajl_handle h = yajl_alloc(&nd_callbacks, &p->afs, p);
    if (!h) {
        snprintf(p->errmsg, sizeof(p->errmsg), "out of memory while parsing JSON");
        p->err = ND_ERR_NOMEM;
        return 0;
    }
    yajl_config(h, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_status_ok;
    size_t pos = 0;
    int cut = 0;
    for (int k = 0; k < p->n_elide; k++) {
        /* From the previous string's closing quote (yajl lexes "" there and
         * reports that string) up to this one's opening quote. */
        st = yajl_parse(h, in + pos, p->elide[k].open + 1 - pos);
        if (st != yajl_status_ok || p->elide_cur >= 0 || p->elide_bad) {
            cut = 1;
            break;
        }
        p->elide_cur = k;
        pos = p->elide[k].close;
    }
    if (!cut)
        st = yajl_parse(h, in + pos, p->in_len - pos);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (p->n_elide && (st == yajl_status_error || p->elide_bad || p->elide_cur >= 0))
        return 1;
    if (st == yajl_status_error) {
        size_t at = yajl_get_bytes_consumed(h);
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        char *nl = msg ? strchr((char *)msg, '\n') : NULL;
        if (nl)
            *nl = '\0';
        p->err = ND_ERR_BAD_JSON;
        snprintf(p->errmsg, sizeof(p->errmsg), "not well-formed JSON near byte %zu: %s", at,
                 msg ? (const char *)msg : "syntax error");
    }
    return 0; /* client_canceled: p->err says why */
}

/* Run yajl over the document. Kept apart from nd_parser_parse so that no
 * local of the caller lives across the setjmp. */
static nd_err_t run_yajl(nd_parser_t *p)
{
    if (setjmp(p->oom_jmp)) {
        /* The arena could not grow inside yajl: drop yajl's state (it lives
         * only in the arena) and report. */
        arena_reset(p);
        p->err = ND_ERR_NOMEM;
        snprintf(p->errmsg, sizeof(p->errmsg), "out of memory while parsing JSON");
        return ND_ERR_NOMEM;
    }
    if (yajl_once(p)) {
        reset_doc(p, p->in, p->in_len);
        p->n_elide = 0;
        yajl_once(p);
    }
    return p->err;
}

/* ---- the fast path: our own walk of a well-formed document ---- */

/* JSON whitespace as the fast walk takes it (yajl also takes \v and \f; a
 * document with those is left to yajl). */
#define ND_FAST_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\r' || (c) == '\t')

/* Containers the fast walk nests, at most (one bit each in a uint64_t). */
#define ND_FAST_DEPTH 63

/* The value of the 4 hex digits at s, or (unsigned)-1 (never a code unit)
 * when one is not a hex digit. */
static inline unsigned hex4(const unsigned char *s)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = s[k], d;
        if (c - '0' < 10u)
            d = c - '0';
        else if ((c | 0x20) - 'a' < 6u)
            d = (c | 0x20) - 'a' + 10;
        else
            return (unsigned)-1;
        v = v << 4 | d;
    }
    return v;
}

/* Decode the escapes of the JSON string text r..end into out, NUL-
 * terminated: the one-character ones and \\u ones as fast_string() admits
 * them (no \\u0000, surrogates only in valid pairs), which is what yajl
 * makes of them. 0 on out of memory. */
static int unescape_json(const char *r, const char *end, nd_buf_t *out)
{
    nd_buf_reset(out);
    if (nd_buf_reserve(out, (size_t)(end - r) + 16)) /* decoding never grows the text */
        return 0;
    char *o = out->p;
    while (r < end) {
        const char *b = memchr(r, '\\', (size_t)(end - r));
        size_t n = (size_t)((b ? b : end) - r);
        memcpy(o, r, n);
        o += n;
        r += n;
        if (!b)
            break;
        char c = r[1];
        if (c != 'u') {
            *o++ = c == 'b'   ? '\b'
                   : c == 'f' ? '\f'
                   : c == 'n' ? '\n'
                   : c == 'r' ? '\r'
                   : c == 't' ? '\t'
                              : c; /* " \\ / */
            r += 2;
            continue;
        }
        unsigned cp = hex4((const unsigned char *)r + 2);
        r += 6;
        if (cp - 0xD800u < 0x400u) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4((const unsigned char *)r + 2) - 0xDC00);
            r += 6;
        }
        if (cp < 0x80) {
            *o++ = (char)cp;
        } else if (cp < 0x800) {
            *o++ = (char)(0xC0 | cp >> 6);
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *o++ = (char)(0xE0 | cp >> 12);
            *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (char)(0xF0 | cp >> 18);
            *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
            *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    out->len = (size_t)(o - out->p);
    out->p[out->len] = '\0';
    return 1;
}

/*
 * The string whose opening quote is s[*i]: on success *i is just past its
 * closing quote and *str, *n are its text, in place when it has no escapes,
 * else decoded into p->unesc (*dec set). A value that scan_doc() would keep
 * as a long string is not decoded: it is recorded in p->elide as the scan
 * would record it, and p->elide_cur set, for cb_string() to take it (*str
 * is then ""). Its non-ASCII bytes are validated as strict UTF-8 here, as
 * nd_utf8_check() would. @return 0 when the string is not one the fast walk
 * handles (no end, a control byte, invalid UTF-8, an invalid escape, a
 * \\u0000 or a surrogate not in a valid pair) or on out of memory.
 */
static inline __attribute__((always_inline)) int fast_string(nd_parser_t *p, size_t *i,
                                                             const unsigned char **str, size_t *n,
                                                             int *dec, const int value,
                                                             const int avx2)
{
    const unsigned char *s = (const unsigned char *)p->in;
    size_t len = p->in_len, open = *i, j = open + 1, nsimple = 0;
    int nesc = 0;
    for (;;) {
        j = scan_stop(s, len, j, avx2, 1);
#if ND_PARSER_HAVE_AVX2
        if (avx2 && j < len && s[j] == '\\')
            j = scan_esc_avx2(s, len, j, &nsimple);
#endif
        if (j < len && s[j] >= 0x80) {
            size_t bad;
            if ((j = utf8_run(s, len, j, &bad)) == (size_t)-1)
                return 0; /* invalid UTF-8: the fallback validates and reports it */
            continue;
        }
        if (j >= len || s[j] < 0x20)
            return 0;
        if (s[j] == '"')
            break;
        if (j + 1 >= len)
            return 0;
        unsigned c = s[j + 1];
        if (c == 'u') {
            unsigned cp, lo;
            if (len - j < 6 || (cp = hex4(s + j + 2)) == 0 || cp > 0xFFFF || cp - 0xDC00u < 0x400u)
                return 0; /* \\u0000, a lone low surrogate: left to yajl */
            j += 6;
            if (cp - 0xD800u < 0x400u) {
                if (len - j < 6 || s[j] != '\\' || s[j + 1] != 'u' ||
                    (lo = hex4(s + j + 2)) - 0xDC00u >= 0x400u)
                    return 0; /* a high surrogate without its low half */
                j += 6;
            }
            nesc |= 2;
            continue;
        }
        if (!(c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
              c == 't'))
            return 0;
        nsimple++;
        j += 2;
    }
    if (nsimple)
        nesc |= 1;
    *i = j + 1;
    *dec = 0;
    if (value && !(nesc & 2) && j - open - 1 >= ND_ELIDE_MIN && p->n_elide < ND_ELIDE_MAX) {
        p->elide[p->n_elide].open = open;
        p->elide[p->n_elide].close = j;
        p->elide[p->n_elide].nesc = nsimple;
        p->elide_cur = p->n_elide++;
        *str = (const unsigned char *)"";
        *n = 0;
        return 1;
    }
    *dec = nesc != 0;
    if (!nesc) {
        *str = s + open + 1;
        *n = j - open - 1;
        return 1;
    }
    if (!(nesc & 2 ? unescape_json : unescape_simple)((const char *)s + open + 1,
                                                      (const char *)s + j, &p->unesc))
        return 0;
    *str = (const unsigned char *)p->unesc.p;
    *n = p->unesc.len;
    return 1;
}

/*
 * Walk the document and make the callbacks yajl_once() would
 * make after scan_doc(), in the same order and with the same strings: the
 * walk finds and records the long strings as the scan does (fast_string()). It handles only the
 * well-formed common case: on any syntax error, any token it does not take (see fast_string(), \v
 * or \f as space, nesting deeper than ND_FAST_DEPTH), on any invalid UTF-8 (so a document it takes
 * whole is valid UTF-8: outside strings it takes only ASCII) and on any callback refusing (a
 * document rejected for its content), it gives up. @return 1 when the whole document was walked and
 * accepted, 0 when it gave up: the state is then partial and the caller must reset_doc() and run
 * yajl, which stays the reference and gives every error its message and offset.
 */
static inline __attribute__((always_inline)) int fast_walk_body(nd_parser_t *p, const int avx2)
{
    const unsigned char *s = (const unsigned char *)p->in;
    size_t len = p->in_len, i = 0;
    uint64_t arr = 0; /* bit d: the container at nesting d is an array */
    p->n_elide = 0;
    int d = 0;
    const unsigned char *str;
    size_t n;
    int dec;

value:
    while (i < len && ND_FAST_WS(s[i]))
        i++;
    if (i >= len)
        return 0;
    switch (s[i]) {
    case '{':
        if (d >= ND_FAST_DEPTH || !enter(p, T_MAP))
            return 0;
        arr &= ~((uint64_t)1 << d);
        d++;
        i++;
        while (i < len && ND_FAST_WS(s[i]))
            i++;
        if (i < len && s[i] == '}') {
            i++;
            d--;
            if (!leave(p))
                return 0;
            goto after;
        }
        goto key;
    case '[':
        if (d >= ND_FAST_DEPTH || !enter(p, T_ARRAY))
            return 0;
        arr |= (uint64_t)1 << d;
        d++;
        i++;
        while (i < len && ND_FAST_WS(s[i]))
            i++;
        if (i < len && s[i] == ']') {
            i++;
            d--;
            if (!leave(p))
                return 0;
            goto after;
        }
        goto value;
    case '"':
        if (!fast_string(p, &i, &str, &n, &dec, 1, avx2))
            return 0;
        p->unesc_owned = dec; /* set_field() takes the decoded buffer */
        if (!string_value(p, str, n))
            return 0;
        goto after;
    case 't':
        if (len - i < 4 || memcmp(s + i, "true", 4) != 0)
            return 0;
        i += 4;
        if (!on_value(p, T_BOOL))
            return 0;
        goto after;
    case 'f':
        if (len - i < 5 || memcmp(s + i, "false", 5) != 0)
            return 0;
        i += 5;
        if (!on_value(p, T_BOOL))
            return 0;
        goto after;
    case 'n':
        if (len - i < 4 || memcmp(s + i, "null", 4) != 0)
            return 0;
        i += 4;
        if (!on_value(p, T_NULL))
            return 0;
        goto after;
    default: {
        /* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
        if (s[i] == '-')
            i++;
        if (i >= len || (unsigned)(s[i] - '0') > 9)
            return 0;
        if (s[i] == '0')
            i++;
        else
            while (i < len && (unsigned)(s[i] - '0') <= 9)
                i++;
        if (i < len && s[i] == '.') {
            i++;
            if (i >= len || (unsigned)(s[i] - '0') > 9)
                return 0;
            while (i < len && (unsigned)(s[i] - '0') <= 9)
                i++;
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < len && (s[i] == '+' || s[i] == '-'))
                i++;
            if (i >= len || (unsigned)(s[i] - '0') > 9)
                return 0;
            while (i < len && (unsigned)(s[i] - '0') <= 9)
                i++;
        }
        if (!on_value(p, T_NUMBER))
            return 0;
        goto after;
    }
    }

key:
    if (i >= len || s[i] != '"')
        return 0;
    if (!fast_string(p, &i, &str, &n, &dec, 0, avx2))
        return 0;
    if (!map_key(p, str, n))
        return 0;
    while (i < len && ND_FAST_WS(s[i]))
        i++;
    if (i >= len || s[i] != ':')
        return 0;
    i++;
    goto value;

after:
    while (i < len && ND_FAST_WS(s[i]))
        i++;
    if (d == 0)
        return i == len && !p->err;
    if (i >= len)
        return 0;
    if (s[i] == ',') {
        i++;
        while (i < len && ND_FAST_WS(s[i]))
            i++;
        if (arr >> (d - 1) & 1)
            goto value;
        goto key;
    }
    if (s[i] == (arr >> (d - 1) & 1 ? ']' : '}')) {
        i++;
        d--;
        if (!leave(p)) /* cb_end_array() or cb_end_map() */
            return 0;
        goto after;
    }
    return 0;
}

#if ND_PARSER_HAVE_AVX2
/* fast_walk_body() compiled for AVX2, so that scan_stop_avx2() inlines. */
__attribute__((target("avx2"))) static int fast_walk_avx2(nd_parser_t *p)
{
    return fast_walk_body(p, 1);
}
#endif

/* fast_walk_body() for the CPU. */
static int fast_walk(nd_parser_t *p)
{
#if ND_PARSER_HAVE_AVX2
    if (p->avx2)
        return fast_walk_avx2(p);
#endif
    return fast_walk_body(p, 0);
}

void nd_parser_set_fast_json(nd_parser_t *p, int on)
{
    p->fast_json = on;
}

static nd_err_t check_time(nd_parser_t *p, nd_field_t *f, const char *name, int64_t *ms)
{
    if (!f->set)
        return ND_ERR_NO_ERROR;
    if (nd_time_parse_iso(f->p, f->len, ms) != 0) {
        snprintf(p->errmsg, sizeof(p->errmsg), "field \"%s\" is not an ISO 8601 time: \"%.*s\"",
                 name, (int)(f->len > 40 ? 40 : f->len), f->p);
        return ND_ERR_BAD_TIME;
    }
    return ND_ERR_NO_ERROR;
}

nd_err_t nd_parser_parse(nd_parser_t *p, const char *buf, size_t len, nd_article_t *out,
                         char *errstr, size_t errstr_size)
{
    char msg[200];
    if (!p || !out || (!buf && len))
        return ret(ND_ERR_INVALID_ARG, "nd_parser_parse: NULL argument", errstr, errstr_size);
    memset(out, 0, sizeof(*out));
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    /* A UTF-8 byte order mark (files saved by some editors, messages from
     * some producers) is not JSON: RFC 8259 lets a parser ignore it, so it is
     * skipped, as are the blanks before the document. */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (i == len)
        return ret(ND_ERR_EMPTY, "the document is empty or blank", errstr, errstr_size);
    buf += i;
    len -= i;
    if (len > p->conf.max_doc_bytes) {
        snprintf(msg, sizeof(msg), "the document is %zu bytes, over the limit of %zu", len,
                 p->conf.max_doc_bytes);
        return ret(ND_ERR_TOO_LARGE, msg, errstr, errstr_size);
    }
    reset_doc(p, buf, len);
    nd_err_t err = ND_ERR_NO_ERROR;
    /* With the walker on, the long strings are found by the walk (and by
     * scan_doc() only if yajl has to run). The walk validates the UTF-8 of each string as it meets
     * it (outside strings only ASCII is JSON) and gives up on any invalid sequence; a document it
     * takes whole is therefore valid. Else what it did is dropped and the document validated up
     * front, as without the walk, so that every reject is the same either way. */
    if (!p->fast_json || !fast_walk(p)) {
        if (p->fast_json)
            reset_doc(p, buf, len);
        size_t bad = scan_doc(p);
        if (bad != len) {
            snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu (0x%02x)", bad,
                     (unsigned char)buf[bad]);
            return ret(ND_ERR_BAD_UTF8, msg, errstr, errstr_size);
        }
        err = run_yajl(p);
    }
    if (err)
        return ret(err, p->errmsg, errstr, errstr_size);

    if (!p->uri.set || p->uri.len == 0)
        return ret(ND_ERR_MISSING_URI,
                   p->uri.set ? "field \"uri\" is empty" : "the document has no \"uri\"", errstr,
                   errstr_size);
    int64_t vms = ND_TIME_NONE, fms = ND_TIME_NONE;
    if ((err = check_time(p, &p->vtime, p->camel ? "versionCreated" : "versioncreated", &vms)) ||
        (err = check_time(p, &p->ftime, p->camel ? "firstCreated" : "firstcreated", &fms)))
        return ret(err, p->errmsg, errstr, errstr_size);

    /* Body choice, most specific first. */
    struct {
        nd_field_t *f;
        int html;
    } cand[] = {
        {&p->body_text, 0},           {&p->body_html, 1},
        {&p->body_xhtml, 1},          {&p->bodies.f, p->bodies.html},
        {&p->desc_text, 0},           {&p->desc_html, 1},
        {&p->descs.f, p->descs.html},
    };
    nd_field_t *body = NULL;
    int html = 0;
    for (size_t k = 0; k < sizeof(cand) / sizeof(cand[0]); k++)
        if (cand[k].f->set && cand[k].f->len > 0) {
            body = cand[k].f;
            html = cand[k].html;
            break;
        }
    if (!body)
        return ret(ND_ERR_MISSING_TEXT, "the document has no body text", errstr, errstr_size);
    const char *bp = body->p;
    size_t blen = body->len;
    /* A raw body is walked as it is, escapes and all. */
    err = nd_normalize_ex(bp, blen, html, body->raw ? ND_NORM_JSON_ESCAPES : 0, &p->text);
    if (err == ND_ERR_NOMEM)
        return ret(err, "out of memory normalising the body", errstr, errstr_size);
    if (err)
        return ret(err, "the body is not valid UTF-8", errstr, errstr_size);
    if (p->text.len == 0)
        return ret(ND_ERR_MISSING_TEXT, "the body text has no letters or digits", errstr,
                   errstr_size);

    out->uri = p->uri.p;
    out->uri_len = p->uri.len;
    nd_field_t *src = p->holder.set && p->holder.len ? &p->holder : &p->infosrc;
    out->source = src->set ? src->p : "";
    out->source_len = src->set ? src->len : 0;
    out->headline = p->headline.set ? p->headline.p : "";
    out->headline_len = p->headline.set ? p->headline.len : 0;
    out->event_time_ms = vms != ND_TIME_NONE ? vms : fms;
    out->language = p->language.set ? p->language.p : "";
    out->language_len = p->language.set ? p->language.len : 0;
    out->text = p->text.p;
    out->text_len = p->text.len;
    out->body_len = body->dec_len;
    if (p->schema_major >= 1 && p->schema_major <= 3)
        out->ninjs_major = p->schema_major;
    else if (p->standard_major >= 1 && p->standard_major <= 3)
        out->ninjs_major = p->standard_major;
    else
        out->ninjs_major = p->camel ? 3 : p->v2_shape ? 2 : 1;
    out->doc = buf;
    out->doc_len = len;
    return ret(ND_ERR_NO_ERROR, "", errstr, errstr_size);
}
