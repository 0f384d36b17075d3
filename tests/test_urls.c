/* test_urls.c -- Check suite for lib/urls.c.
 *
 * Exact counting is compared with a naive reference (an array of counts
 * per key of a fixed pool); Space-Saving and merges are checked against
 * the guarantees of urls.h with the true counts known; out-of-memory paths
 * are driven by a real address-space limit (RLIMIT_AS), not by hooks in the
 * library. */
#include "urls.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "lt_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Check records every passing assertion (a write to its log), which would
 * dominate the loops below; FAST() asserts only when the check fails. */
#define FAST_EQ(a, b) do { if ((a) != (b)) ck_assert_uint_eq(a, b); } while (0)
#define FAST_LE(a, b) do { if ((a) > (b)) ck_assert_uint_le(a, b); } while (0)
#define FAST_TRUE(expr) do { if (!(expr)) ck_assert(expr); } while (0)

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: deterministic, so a failure reproduces. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n == 0 ? 0 : memcmp(a, b, n);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Sorts by bytes, so two collections of distinct keys line up. */
static int by_bytes(const void *pa, const void *pb)
{
    const lt_url_count *a = pa, *b = pb;
    return compare_bytes(a->url, a->len, b->url, b->len);
}

/* Sorts in the order lt_urls_top() promises. */
static int by_rank(const void *pa, const void *pb)
{
    const lt_url_count *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return by_bytes(pa, pb);
}

struct collection {
    lt_url_count *v;
    size_t n, cap;
};

static int collect_one(const lt_url_count *e, void *arg)
{
    struct collection *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap * 2 + 16;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        FAST_TRUE(c->v != NULL);
    }
    c->v[c->n++] = *e;
    return 0;
}

/* Returns every entry of u, sorted by bytes; the caller frees .v. */
static struct collection collect(const lt_urls *u)
{
    struct collection c = {0};
    ck_assert_int_eq(lt_urls_foreach(u, collect_one, &c), 0);
    ck_assert_uint_eq(c.n, lt_urls_size(u));
    if (c.n > 0)
        qsort(c.v, c.n, sizeof(*c.v), by_bytes);
    return c;
}

/* Two tables hold the same URLs with the same counts and errors. */
static void assert_same(const lt_urls *a, const lt_urls *b)
{
    struct collection x = collect(a), y = collect(b);
    ck_assert_uint_eq(x.n, y.n);
    for (size_t i = 0; i < x.n; i++) {
        FAST_EQ(x.v[i].len, y.v[i].len);
        FAST_TRUE(compare_bytes(x.v[i].url, x.v[i].len, y.v[i].url, y.v[i].len) == 0);
        FAST_EQ(x.v[i].count, y.v[i].count);
        FAST_EQ(x.v[i].error, y.v[i].error);
    }
    ck_assert_uint_eq(lt_urls_total(a), lt_urls_total(b));
    /* And rank alike, whichever walk top takes (arena or index). */
    lt_url_count *ta = calloc(x.n + 1, sizeof(*ta)), *tb = calloc(x.n + 1, sizeof(*tb));
    ck_assert_uint_eq(lt_urls_top(a, x.n + 1, ta), x.n);
    ck_assert_uint_eq(lt_urls_top(b, x.n + 1, tb), x.n);
    for (size_t i = 0; i < x.n; i++) {
        FAST_EQ(ta[i].count, tb[i].count);
        FAST_EQ(ta[i].len, tb[i].len);
        FAST_TRUE(compare_bytes(ta[i].url, ta[i].len, tb[i].url, tb[i].len) == 0);
    }
    free(ta);
    free(tb);
    free(x.v);
    free(y.v);
}

/* A pool of distinct keys full of awkward bytes, with reference counts. */
struct pool {
    char **key;
    size_t *len;
    uint64_t *count;
    size_t n;
};

static void pool_add(struct pool *p, const char *key, size_t len)
{
    p->key[p->n] = malloc(len + 1);
    FAST_TRUE(p->key[p->n] != NULL);
    memcpy(p->key[p->n], key, len);
    p->len[p->n] = len;
    p->count[p->n] = 0;
    p->n++;
}

#define POOL_RANDOM 3000
#define LONG_KEY (100 * 1024)

static struct pool pool_new(void)
{
    struct pool p = {0};
    size_t cap = POOL_RANDOM + 32;
    p.key = calloc(cap, sizeof(*p.key));
    p.len = calloc(cap, sizeof(*p.len));
    p.count = calloc(cap, sizeof(*p.count));
    char *big = malloc(LONG_KEY + 1);
    ck_assert(p.key != NULL && p.len != NULL && p.count != NULL && big != NULL);
    /* Keys that differ only by a trailing NUL, prefixes of each other, the
     * empty key, 0xff bytes, and lengths around the varint boundaries. */
    pool_add(&p, "", 0);
    pool_add(&p, "\0", 1);
    pool_add(&p, "\0\0", 2);
    pool_add(&p, "a", 1);
    pool_add(&p, "a\0", 2);
    pool_add(&p, "\xff", 1);
    pool_add(&p, "\xff\xff", 2);
    pool_add(&p, "\xff\0", 2);
    pool_add(&p, "/index.html", 11);
    pool_add(&p, "/index.html?", 12);
    for (size_t i = 0; i < LONG_KEY + 1; i++)
        big[i] = (char)rng();
    pool_add(&p, big, LONG_KEY);
    pool_add(&p, big, LONG_KEY - 1);
    pool_add(&p, big, LONG_KEY + 1);
    big[LONG_KEY - 1] ^= 1;
    pool_add(&p, big, LONG_KEY);
    size_t edges[] = {127, 128, 129, 8191, 8192, 16383, 16384};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        memset(big, 'x', edges[i]);
        big[0] = 'E';
        pool_add(&p, big, edges[i]);
    }
    /* Random keys: a tag byte and a 4-byte serial make them distinct from
     * each other and from the keys above; the tail is random bytes. */
    for (uint32_t i = 0; i < POOL_RANDOM; i++) {
        size_t len = 5 + (size_t)(rng() % 120);
        big[0] = 'R';
        memcpy(big + 1, &i, 4);
        for (size_t j = 5; j < len; j++)
            big[j] = (char)rng();
        pool_add(&p, big, len);
    }
    free(big);
    return p;
}

static void pool_free(struct pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->key[i]);
    free(p->key);
    free(p->len);
    free(p->count);
}

/* Zipf-ish pick: small indices are much more frequent. */
static size_t pick(size_t n)
{
    size_t i = (size_t)((double)n * pow(rng_unit(), 3.0));
    return i < n ? i : n - 1;
}

/* Feeds u a random stream over the pool, every key at least once, with
 * counts mostly 1 and sometimes larger, half through lt_urls_add_hashed. */
static void feed_pool(lt_urls *u, struct pool *p, size_t hits)
{
    for (size_t i = 0; i < p->n + hits; i++) {
        size_t k = i < p->n ? i : pick(p->n);
        uint64_t c = rng() % 8 == 0 ? 1 + rng() % 1000 : 1;
        p->count[k] += c;
        if (i % 2 == 0)
            FAST_EQ(lt_urls_add(u, p->key[k], p->len[k], c), 0);
        else
            FAST_EQ(lt_urls_add_hashed(u, p->key[k], p->len[k],
                                                lt_urls_hash(p->key[k], p->len[k]), c), 0);
    }
}

/* The pool's reference counts as lt_url_count, sorted by bytes. */
static struct collection pool_expected(const struct pool *p)
{
    struct collection c = {0};
    c.v = calloc(p->n, sizeof(*c.v));
    ck_assert_ptr_nonnull(c.v);
    for (size_t i = 0; i < p->n; i++)
        if (p->count[i] > 0)
            c.v[c.n++] = (lt_url_count){p->key[i], p->len[i], p->count[i], 0};
    qsort(c.v, c.n, sizeof(*c.v), by_bytes);
    return c;
}

/* The prefetch hints change nothing, on an empty table, for absent and
 * present URLs, through growth and in Space-Saving mode. */
START_TEST(prefetch_changes_nothing)
{
    lt_urls *u = lt_urls_new(64);
    char url[32];
    for (int i = 0; i < 200; i++) {
        int len = snprintf(url, sizeof(url), "/p%d", i % 100);
        uint64_t h = lt_urls_hash(url, (size_t)len);
        lt_urls_prefetch(u, h);
        lt_urls_prefetch_record(u, h);
        lt_urls_prefetch_record(u, ~h);
        size_t size = lt_urls_size(u);
        uint64_t total = lt_urls_total(u);
        lt_urls_prefetch(u, ~h);
        ck_assert_uint_eq(lt_urls_size(u), size);
        ck_assert_uint_eq(lt_urls_total(u), total);
        ck_assert_int_eq(lt_urls_add_hashed(u, url, (size_t)len, h, 1), 0);
    }
    ck_assert(!lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_total(u), 200);
    lt_urls_free(u);
}
END_TEST

START_TEST(exact_matches_reference)
{
    rng_state = 1;
    struct pool p = pool_new();
    lt_urls *u = lt_urls_new(100000);
    ck_assert_ptr_nonnull(u);
    feed_pool(u, &p, 300000);

    struct collection want = pool_expected(&p), got = collect(u);
    ck_assert(lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_error_bound(u), 0);
    ck_assert_uint_eq(got.n, want.n);
    uint64_t total = 0;
    for (size_t i = 0; i < want.n; i++) {
        FAST_EQ(got.v[i].len, want.v[i].len);
        FAST_TRUE(compare_bytes(got.v[i].url, got.v[i].len, want.v[i].url, want.v[i].len) == 0);
        FAST_EQ(got.v[i].count, want.v[i].count);
        FAST_EQ(got.v[i].error, 0);
        total += want.v[i].count;
    }
    ck_assert_uint_eq(lt_urls_total(u), total);
    /* The long keys alone take 400 KiB; the table must count them. */
    ck_assert_uint_ge(lt_urls_bytes(u), 4 * (size_t)LONG_KEY);
    free(want.v);
    free(got.v);
    lt_urls_free(u);
    pool_free(&p);
}
END_TEST

START_TEST(top_order_and_ties)
{
    lt_urls *u = lt_urls_new(100);
    ck_assert_ptr_nonnull(u);
    static const struct {
        const char *s;
        size_t len;
        uint64_t count;
    } in[] = {
        {"b", 1, 5}, {"a\0", 2, 5}, {"c", 1, 7}, {"", 0, 5}, {"a", 1, 5},
        {"\xff", 1, 5}, {"ab", 2, 1}, {"\0", 1, 5},
    };
    /* Expected: c(7), then the fives by bytes ("" < "\0" < "a" < "a\0" <
     * "b" < "\xff"), then ab(1). */
    static const size_t order[] = {2, 3, 7, 4, 1, 0, 5, 6};
    for (size_t i = 0; i < 8; i++)
        ck_assert_int_eq(lt_urls_add(u, in[i].s, in[i].len, in[i].count), 0);
    lt_url_count out[10];
    for (size_t n = 0; n <= 10; n++) {
        size_t got = lt_urls_top(u, n, out);
        ck_assert_uint_eq(got, n < 8 ? n : 8);
        for (size_t i = 0; i < got; i++) {
            ck_assert_uint_eq(out[i].len, in[order[i]].len);
            ck_assert(compare_bytes(out[i].url, out[i].len, in[order[i]].s, in[order[i]].len) == 0);
            ck_assert_uint_eq(out[i].count, in[order[i]].count);
        }
    }
    lt_urls_free(u);

    /* On a random stream, top(n) is the prefix of the fully sorted list. */
    rng_state = 2;
    struct pool p = pool_new();
    u = lt_urls_new(100000);
    ck_assert_ptr_nonnull(u);
    feed_pool(u, &p, 50000);
    struct collection want = pool_expected(&p);
    qsort(want.v, want.n, sizeof(*want.v), by_rank);
    lt_url_count *top = calloc(want.n + 5, sizeof(*top));
    ck_assert_ptr_nonnull(top);
    size_t ns[] = {1, 7, 100, want.n - 1, want.n, want.n + 5};
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        size_t got = lt_urls_top(u, ns[t], top);
        ck_assert_uint_eq(got, ns[t] < want.n ? ns[t] : want.n);
        for (size_t i = 0; i < got; i++) {
            ck_assert_uint_eq(top[i].count, want.v[i].count);
            ck_assert_uint_eq(top[i].len, want.v[i].len);
            ck_assert(compare_bytes(top[i].url, top[i].len, want.v[i].url, want.v[i].len) == 0);
        }
    }
    free(top);
    free(want.v);
    lt_urls_free(u);
    pool_free(&p);
}
END_TEST

#define GROWTH_URLS 1000000

static int check_growth(const lt_url_count *e, void *arg)
{
    unsigned char *seen = arg;
    unsigned i;
    char buf[32];
    FAST_TRUE(e->len < sizeof(buf));
    memcpy(buf, e->url, e->len);
    buf[e->len] = '\0';
    FAST_EQ(sscanf(buf, "/page/%u", &i), 1);
    FAST_TRUE(i < GROWTH_URLS);
    FAST_TRUE(!seen[i]);
    seen[i] = 1;
    FAST_EQ(e->count, i % 5 + 2);
    return 0;
}

START_TEST(growth_through_resizes)
{
    lt_urls *u = lt_urls_new(GROWTH_URLS);
    ck_assert_ptr_nonnull(u);
    char buf[32];
    size_t key_bytes = 0;
    for (unsigned i = 0; i < GROWTH_URLS; i++) {
        int len = snprintf(buf, sizeof(buf), "/page/%u", i);
        key_bytes += (size_t)len;
        FAST_EQ(lt_urls_add(u, buf, (size_t)len, i % 5 + 1), 0);
    }
    /* Every URL again, as a hit, after all the resizes. */
    for (unsigned i = 0; i < GROWTH_URLS; i++) {
        int len = snprintf(buf, sizeof(buf), "/page/%u", i);
        FAST_EQ(lt_urls_add(u, buf, (size_t)len, 1), 0);
    }
    ck_assert(lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_size(u), GROWTH_URLS);
    unsigned char *seen = calloc(GROWTH_URLS, 1);
    ck_assert_ptr_nonnull(seen);
    ck_assert_int_eq(lt_urls_foreach(u, check_growth, seen), 0);
    free(seen);
    /* Per URL: at most 32 bytes of entries, 21.3 of slots, one length byte
     * and a little chunk slack beyond its bytes. */
    size_t bytes = lt_urls_bytes(u);
    ck_assert_uint_le(bytes, key_bytes + (size_t)GROWTH_URLS * 56);
    ck_assert_uint_ge(bytes, key_bytes + (size_t)GROWTH_URLS * 16);
    lt_urls_free(u);
}
END_TEST

/* Keys of the Space-Saving tests: a 4-byte id, then id % 5 bytes of NUL and
 * 0xff, so the id is recoverable and the keys are binary. */
static size_t ss_key(uint32_t id, char *buf)
{
    memcpy(buf, &id, 4);
    size_t len = 4 + id % 5;
    for (size_t i = 4; i < len; i++)
        buf[i] = i % 2 ? '\xff' : '\0';
    return len;
}

static uint32_t ss_id(const lt_url_count *e)
{
    uint32_t id;
    FAST_TRUE(e->len >= 4);
    memcpy(&id, e->url, 4);
    FAST_EQ(e->len, 4 + id % 5);
    return id;
}

#define SS_IDS 100000

/* Checks the guarantees of urls.h against the true counts truth[id]. */
static void check_guarantees(const lt_urls *u, const uint64_t *truth)
{
    struct collection c = collect(u);
    unsigned char *present = calloc(SS_IDS, 1);
    ck_assert_ptr_nonnull(present);
    uint64_t bound = lt_urls_error_bound(u), total = 0, min = UINT64_MAX;
    for (size_t i = 0; i < c.n; i++) {
        uint32_t id = ss_id(&c.v[i]);
        FAST_TRUE(id < SS_IDS);
        FAST_TRUE(!present[id]);
        present[id] = 1;
        FAST_LE(c.v[i].error, c.v[i].count);
        FAST_LE(c.v[i].count - c.v[i].error, truth[id]);
        FAST_LE(truth[id], c.v[i].count);
        FAST_LE(c.v[i].error, bound);
        if (c.v[i].count < min)
            min = c.v[i].count;
    }
    for (uint32_t id = 0; id < SS_IDS; id++) {
        total += truth[id];
        if (truth[id] > bound && !present[id])
            ck_assert_msg(present[id], "id %u with %llu hits > bound %llu is missing", id,
                          (unsigned long long)truth[id], (unsigned long long)bound);
    }
    ck_assert_uint_eq(lt_urls_total(u), total);
    if (!lt_urls_exact(u))
        ck_assert_uint_le(bound, min);
    free(present);
    free(c.v);
}

/* Adds a shuffled stream of `hits` hits: ten heavy hitters with 10% .. 4.6%
 * shares, the rest spread over light ids in [light_from, light_from +
 * light_n); some adds carry a count of 3. */
static void feed_heavy(lt_urls *u, uint64_t *truth, size_t hits, uint32_t light_from,
                       uint32_t light_n)
{
    uint32_t *stream = malloc(hits * sizeof(*stream));
    ck_assert_ptr_nonnull(stream);
    size_t n = 0;
    for (uint32_t h = 0; h < 10; h++)
        for (size_t i = 0; i < hits * (10 - h * 0.6) / 100 && n < hits; i++)
            stream[n++] = h;
    while (n < hits)
        stream[n++] = light_from + (uint32_t)(rng() % light_n);
    for (size_t i = hits - 1; i > 0; i--) {
        size_t j = rng() % (i + 1);
        uint32_t t = stream[i];
        stream[i] = stream[j];
        stream[j] = t;
    }
    char buf[16];
    for (size_t i = 0; i < hits; i++) {
        uint64_t c = i % 10 == 0 ? 3 : 1;
        truth[stream[i]] += c;
        FAST_EQ(lt_urls_add(u, buf, ss_key(stream[i], buf), c), 0);
    }
    free(stream);
}

START_TEST(switch_to_space_saving)
{
    char buf[16];
    /* The bound is exact up to max_entries URLs; one more switches. */
    lt_urls *u = lt_urls_new(100);
    ck_assert_ptr_nonnull(u);
    for (uint32_t id = 0; id < 100; id++)
        ck_assert_int_eq(lt_urls_add(u, buf, ss_key(id, buf), 1), 0);
    ck_assert(lt_urls_exact(u));
    ck_assert_int_eq(lt_urls_add(u, buf, ss_key(0, buf), 1), 0);
    ck_assert(lt_urls_exact(u));
    ck_assert_int_eq(lt_urls_add(u, buf, ss_key(100, buf), 1), 0);
    ck_assert(!lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_size(u), 100);
    ck_assert_uint_eq(lt_urls_error_bound(u), 1);
    lt_url_count top[2];
    ck_assert_uint_eq(lt_urls_top(u, 2, top), 2);
    ck_assert_uint_eq(top[0].count, 2);
    ck_assert_uint_eq(top[1].count, 2);
    ck_assert_uint_eq(top[0].error + top[1].error, 1);
    lt_urls_free(u);

    /* 100,000 hits over 10 heavy hitters and 50,000 light URLs. */
    rng_state = 3;
    uint64_t *truth = calloc(SS_IDS, sizeof(*truth));
    ck_assert_ptr_nonnull(truth);
    u = lt_urls_new(100);
    ck_assert_ptr_nonnull(u);
    feed_heavy(u, truth, 100000, 10, 50000);
    ck_assert(!lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_size(u), 100);
    ck_assert_uint_gt(lt_urls_error_bound(u), 0);
    ck_assert_uint_le(lt_urls_error_bound(u), lt_urls_total(u) / 100);
    check_guarantees(u, truth);
    /* The heavy hitters lead the top list, in their true order. */
    lt_url_count t10[10];
    ck_assert_uint_eq(lt_urls_top(u, 10, t10), 10);
    for (uint32_t h = 0; h < 10; h++)
        ck_assert_uint_eq(ss_id(&t10[h]), h);
    /* Evicted keys do not make the memory grow without bound. */
    ck_assert_uint_le(lt_urls_bytes(u), 400 * 1024);
    lt_urls_free(u);
    free(truth);
}
END_TEST

START_TEST(space_saving_memory_is_bounded)
{
    /* Every hit a new 1 KiB URL: a million evictions, 1 GiB of keys seen,
     * while the table holds 100 of them. */
    lt_urls *u = lt_urls_new(100);
    ck_assert_ptr_nonnull(u);
    char *key = calloc(1, 1024);
    ck_assert_ptr_nonnull(key);
    size_t most = 0;
    for (uint32_t i = 0; i < 1000000; i++) {
        memcpy(key, &i, 4);
        FAST_EQ(lt_urls_add(u, key, 1024, 1), 0);
        size_t b = lt_urls_bytes(u);
        if (b > most)
            most = b;
    }
    ck_assert_uint_eq(lt_urls_size(u), 100);
    /* The design comment's bound: 2.25 times the live records (100 of 1,048
     * bytes) plus a record or two, and the index and heap. */
    ck_assert_uint_le(most, 9 * 100 * 1048 / 4 + 2 * 1048 + 4096);
    free(key);
    lt_urls_free(u);
}
END_TEST

START_TEST(merge_exact_equals_concatenation)
{
    rng_state = 4;
    struct pool p = pool_new();
    lt_urls *a = lt_urls_new(100000), *b = lt_urls_new(100000), *ab = lt_urls_new(100000);
    ck_assert(a != NULL && b != NULL && ab != NULL);
    /* Two streams with different skews over the same pool; ab sees both. */
    for (int i = 0; i < 60000; i++) {
        size_t k = pick(p.n / 2), c = 1 + rng() % 3;
        FAST_EQ(lt_urls_add(a, p.key[k], p.len[k], c), 0);
        FAST_EQ(lt_urls_add(ab, p.key[k], p.len[k], c), 0);
    }
    for (int i = 0; i < 60000; i++) {
        size_t k = p.n - 1 - pick(p.n), c = 1 + rng() % 3;
        FAST_EQ(lt_urls_add(b, p.key[k], p.len[k], c), 0);
        FAST_EQ(lt_urls_add(ab, p.key[k], p.len[k], c), 0);
    }
    ck_assert_int_eq(lt_urls_merge(a, b), 0);
    ck_assert(lt_urls_exact(a));
    assert_same(a, ab);
    /* Merging a table into itself doubles it. */
    uint64_t total = lt_urls_total(a);
    ck_assert_int_eq(lt_urls_merge(ab, ab), 0);
    ck_assert_int_eq(lt_urls_merge(a, a), 0);
    assert_same(a, ab);
    ck_assert_uint_eq(lt_urls_total(a), 2 * total);
    lt_urls_free(a);
    lt_urls_free(b);
    lt_urls_free(ab);
    pool_free(&p);
}
END_TEST

START_TEST(merge_past_the_bound)
{
    char buf[16];
    uint64_t *truth = calloc(SS_IDS, sizeof(*truth));
    ck_assert_ptr_nonnull(truth);

    /* Two exact tables whose union (130 URLs) does not fit 100. */
    lt_urls *a = lt_urls_new(100), *b = lt_urls_new(100);
    ck_assert(a != NULL && b != NULL);
    rng_state = 5;
    for (uint32_t id = 0; id < 80; id++) {
        uint64_t c = 1 + rng() % 50;
        truth[id] += c;
        ck_assert_int_eq(lt_urls_add(a, buf, ss_key(id, buf), c), 0);
    }
    for (uint32_t id = 50; id < 130; id++) {
        uint64_t c = 1 + rng() % 50;
        truth[id] += c;
        ck_assert_int_eq(lt_urls_add(b, buf, ss_key(id, buf), c), 0);
    }
    ck_assert(lt_urls_exact(a) && lt_urls_exact(b));
    ck_assert_int_eq(lt_urls_merge(a, b), 0);
    ck_assert(!lt_urls_exact(a));
    ck_assert_uint_eq(lt_urls_size(a), 100);
    ck_assert_uint_le(lt_urls_error_bound(a), lt_urls_total(a) / 100);
    check_guarantees(a, truth);
    lt_urls_free(a);
    lt_urls_free(b);

    /* Two Space-Saving tables over overlapping streams, then more adds. */
    memset(truth, 0, SS_IDS * sizeof(*truth));
    a = lt_urls_new(100);
    b = lt_urls_new(100);
    ck_assert(a != NULL && b != NULL);
    feed_heavy(a, truth, 50000, 10, 30000);
    feed_heavy(b, truth, 50000, 20000, 30000);
    ck_assert_int_eq(lt_urls_merge(a, b), 0);
    ck_assert(!lt_urls_exact(a));
    ck_assert_uint_eq(lt_urls_size(a), 100);
    ck_assert_uint_le(lt_urls_error_bound(a), 2 * lt_urls_total(a) / 100);
    check_guarantees(a, truth);
    feed_heavy(a, truth, 30000, 40000, 30000);
    check_guarantees(a, truth);
    /* A table merged into itself: every count and error doubles. */
    for (uint32_t id = 0; id < SS_IDS; id++)
        truth[id] *= 2;
    ck_assert_int_eq(lt_urls_merge(a, a), 0);
    check_guarantees(a, truth);
    lt_urls_free(a);
    lt_urls_free(b);

    /* An exact table with room merged with a Space-Saving one: inexact but
     * not full, so a new URL must inherit the bound. */
    memset(truth, 0, SS_IDS * sizeof(*truth));
    a = lt_urls_new(1000);
    b = lt_urls_new(100);
    ck_assert(a != NULL && b != NULL);
    for (uint32_t id = 0; id < 50; id++) {
        truth[id] += id + 1;
        ck_assert_int_eq(lt_urls_add(a, buf, ss_key(id, buf), id + 1), 0);
    }
    feed_heavy(b, truth, 40000, 10, 20000);
    ck_assert_int_eq(lt_urls_merge(a, b), 0);
    ck_assert(!lt_urls_exact(a));
    ck_assert_uint_lt(lt_urls_size(a), 1000);
    check_guarantees(a, truth);
    feed_heavy(a, truth, 60000, 5000, 30000);
    ck_assert_uint_eq(lt_urls_size(a), 1000);
    check_guarantees(a, truth);
    lt_urls_free(a);
    lt_urls_free(b);
    free(truth);
}
END_TEST

/* A parallel reader's pattern: 300 exact partial tables, each over more
 * distinct URLs than the result holds, merged one after the other into a
 * Space-Saving table.  Each merge adds the partial's URLs as weighted
 * updates; after all of them the guarantees hold against the truth, the
 * bound is at most total / k (what adds alone give), and the ten heavy
 * hitters rank first.  Then inexact partials: the bounds add up, and the
 * guarantees still hold. */
START_TEST(many_merges_keep_the_bound)
{
    uint64_t *truth = calloc(SS_IDS, sizeof(*truth));
    ck_assert_ptr_nonnull(truth);
    rng_state = 11;
    lt_urls *dst = lt_urls_new(100);
    ck_assert_ptr_nonnull(dst);
    for (int chunk = 0; chunk < 300; chunk++) {
        lt_urls *part = lt_urls_new(1000000);
        ck_assert_ptr_nonnull(part);
        feed_heavy(part, truth, 3000, 10, 30000);
        ck_assert(lt_urls_exact(part));
        ck_assert_uint_gt(lt_urls_size(part), 100);
        ck_assert_int_eq(lt_urls_merge(dst, part), 0);
        lt_urls_free(part);
    }
    ck_assert(!lt_urls_exact(dst));
    ck_assert_uint_eq(lt_urls_size(dst), 100);
    ck_assert_uint_le(lt_urls_error_bound(dst), lt_urls_total(dst) / 100);
    check_guarantees(dst, truth);
    lt_url_count top[10];
    ck_assert_uint_eq(lt_urls_top(dst, 10, top), 10);
    for (int i = 0; i < 10; i++) {
        char buf[16];
        size_t len = ss_key((uint32_t)i, buf);
        ck_assert_uint_eq(top[i].len, len);
        ck_assert_int_eq(memcmp(top[i].url, buf, len), 0);
    }

    uint64_t before = lt_urls_error_bound(dst);
    for (int chunk = 0; chunk < 20; chunk++) {
        lt_urls *part = lt_urls_new(100);
        ck_assert_ptr_nonnull(part);
        feed_heavy(part, truth, 3000, 10, 30000);
        ck_assert(!lt_urls_exact(part));
        uint64_t bs = lt_urls_error_bound(part), bd = lt_urls_error_bound(dst);
        ck_assert_int_eq(lt_urls_merge(dst, part), 0);
        ck_assert_uint_ge(lt_urls_error_bound(dst), bd + bs);
        lt_urls_free(part);
    }
    ck_assert_uint_gt(lt_urls_error_bound(dst), before);
    check_guarantees(dst, truth);
    lt_urls_free(dst);
    free(truth);
}
END_TEST

/* A window's pattern: a large table made inexact by a closed bucket's
 * Space-Saving table, then bigger exact tables merged in (open buckets),
 * each of more URLs than its index has room for: every URL of the union
 * is kept, with its count plus at most the bound, and the guarantees hold. */
START_TEST(big_exact_tables_into_a_large_inexact_one)
{
    char buf[16];
    uint64_t *truth = calloc(SS_IDS, sizeof(*truth));
    ck_assert_ptr_nonnull(truth);
    rng_state = 17;
    lt_urls *dst = lt_urls_new(1000000), *closed = lt_urls_new(100);
    ck_assert(dst != NULL && closed != NULL);
    feed_heavy(closed, truth, 20000, 10, 5000);
    ck_assert_int_eq(lt_urls_merge(dst, closed), 0);
    ck_assert(!lt_urls_exact(dst));
    uint64_t bound = lt_urls_error_bound(dst);
    ck_assert_uint_gt(bound, 0);
    size_t union_n = 0;
    unsigned char *in = calloc(SS_IDS, 1);
    ck_assert_ptr_nonnull(in);
    for (int part = 0; part < 4; part++) {
        lt_urls *open = lt_urls_new(1000000);
        ck_assert_ptr_nonnull(open);
        for (uint32_t id = (uint32_t)part * 15000; id < (uint32_t)part * 15000 + 30000; id++) {
            uint64_t c = 1 + rng() % 3;
            truth[id] += c;
            FAST_EQ(lt_urls_add(open, buf, ss_key(id, buf), c), 0);
            union_n += !in[id];
            in[id] = 1;
        }
        ck_assert_int_eq(lt_urls_merge(dst, open), 0);
        lt_urls_free(open);
    }
    ck_assert_uint_eq(lt_urls_error_bound(dst), bound);
    ck_assert_uint_ge(lt_urls_size(dst), union_n);
    check_guarantees(dst, truth);
    free(in);
    lt_urls_free(dst);
    lt_urls_free(closed);
    free(truth);
}
END_TEST

START_TEST(small_contracts)
{
    lt_urls_free(NULL);
    /* max_entries 0 behaves as 1; a huge bound allocates nothing up front. */
    lt_urls *u = lt_urls_new(0);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(lt_urls_add(u, "x", 1, 0), 0);
    ck_assert_uint_eq(lt_urls_size(u), 0);
    ck_assert_int_eq(lt_urls_add(u, "x", 1, 2), 0);
    ck_assert(lt_urls_exact(u));
    ck_assert_int_eq(lt_urls_add(u, "y", 1, 1), 0);
    ck_assert(!lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_size(u), 1);
    lt_urls_free(u);
    u = lt_urls_new(SIZE_MAX);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_lt(lt_urls_bytes(u), 8192);
    /* Counts saturate instead of wrapping. */
    ck_assert_int_eq(lt_urls_add(u, "z", 1, UINT64_MAX - 1), 0);
    ck_assert_int_eq(lt_urls_add(u, "z", 1, 5), 0);
    lt_url_count top;
    ck_assert_uint_eq(lt_urls_top(u, 1, &top), 1);
    ck_assert_uint_eq(top.count, UINT64_MAX);
    ck_assert_uint_eq(lt_urls_total(u), UINT64_MAX);
    lt_urls_free(u);
}
END_TEST

static int check_oom_entry(const lt_url_count *e, void *arg)
{
    uint32_t id;
    FAST_TRUE(e->len >= 4);
    memcpy(&id, e->url, 4);
    FAST_TRUE(id < *(uint32_t *)arg);
    FAST_EQ(e->len, id % 50 == 0 ? 20000u : 2000u);
    FAST_EQ(e->count, id == 0 ? 4u : id % 3 + 1);
    return 0;
}

START_TEST(out_of_memory_leaves_table_unchanged)
{
#ifdef UNDER_ASAN
    /* AddressSanitizer reserves terabytes of shadow memory up front, so an
     * address-space limit cannot be used under it. */
    return;
#endif
    char *key = calloc(1, 20000);
    ck_assert_ptr_nonnull(key);
    lt_urls *u = lt_urls_new(SIZE_MAX);
    ck_assert_ptr_nonnull(u);

    /* Nothing below may call ck_assert while the limit holds: Check itself
     * allocates to report. */
    struct rlimit old = lt_test_limit_memory(24 << 20);
    uint32_t id;
    int rc = 0, hit_rc = -1;
    size_t size_before = 0, bytes_before = 0, size_after = 0, bytes_after = 0;
    uint64_t total_before = 0, total_after = 0;
    for (id = 0; id < 10000000; id++) {
        memcpy(key, &id, 4);
        size_t len = id % 50 == 0 ? 20000 : 2000;
        size_before = lt_urls_size(u);
        total_before = lt_urls_total(u);
        bytes_before = lt_urls_bytes(u);
        rc = lt_urls_add(u, key, len, id % 3 + 1);
        if (rc != 0)
            break;
    }
    size_after = lt_urls_size(u);
    total_after = lt_urls_total(u);
    bytes_after = lt_urls_bytes(u);
    if (id > 0) {
        /* A hit needs no memory, so it still works. */
        uint32_t first = 0;
        memcpy(key, &first, 4);
        hit_rc = lt_urls_add(u, key, 20000, 3);
    }
    setrlimit(RLIMIT_AS, &old);

    ck_assert_int_eq(rc, -ENOMEM);
    ck_assert_uint_gt(id, 0);
    ck_assert_int_eq(hit_rc, 0);
    ck_assert_uint_eq(size_after, size_before);
    ck_assert_uint_eq(size_after, id);
    ck_assert_uint_eq(total_after, total_before);
    ck_assert_uint_le(bytes_after, bytes_before + 65536 + 20000);
    ck_assert(lt_urls_exact(u));
    ck_assert_int_eq(lt_urls_foreach(u, check_oom_entry, &id), 0);
    /* With memory back, the failed URL goes in. */
    memcpy(key, &id, 4);
    ck_assert_int_eq(lt_urls_add(u, key, id % 50 == 0 ? 20000 : 2000, id % 3 + 1), 0);
    ck_assert_uint_eq(lt_urls_size(u), (size_t)id + 1);
    lt_urls_free(u);

    /* The switch to Space-Saving allocates 16 bytes per entry; refused, the
     * table stays exact and complete. */
    char buf[16];
    u = lt_urls_new(SS_IDS);
    ck_assert_ptr_nonnull(u);
    for (uint32_t i = 0; i < SS_IDS; i++)
        FAST_EQ(lt_urls_add(u, buf, ss_key(i, buf), 1), 0);
    old = lt_test_limit_memory(256 * 1024);
    rc = lt_urls_add(u, buf, ss_key(SS_IDS, buf), 1);
    setrlimit(RLIMIT_AS, &old);
    ck_assert_int_eq(rc, -ENOMEM);
    ck_assert(lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_size(u), SS_IDS);
    ck_assert_uint_eq(lt_urls_total(u), SS_IDS);
    ck_assert_int_eq(lt_urls_add(u, buf, ss_key(SS_IDS, buf), 1), 0);
    ck_assert(!lt_urls_exact(u));
    ck_assert_uint_eq(lt_urls_error_bound(u), 1);
    lt_urls_free(u);
    free(key);
}
END_TEST

static Suite *urls_suite(void)
{
    Suite *s = suite_create("urls");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, exact_matches_reference);
    tcase_add_test(tc, top_order_and_ties);
    tcase_add_test(tc, growth_through_resizes);
    tcase_add_test(tc, switch_to_space_saving);
    tcase_add_test(tc, space_saving_memory_is_bounded);
    tcase_add_test(tc, merge_exact_equals_concatenation);
    tcase_add_test(tc, merge_past_the_bound);
    tcase_add_test(tc, many_merges_keep_the_bound);
    tcase_add_test(tc, big_exact_tables_into_a_large_inexact_one);
    tcase_add_test(tc, small_contracts);
    tcase_add_test(tc, out_of_memory_leaves_table_unchanged);
    tcase_add_test(tc, prefetch_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lt_test_run(urls_suite());
}
