/* test_buckets.c -- Check suite for lib/buckets.c.
 *
 * Random records over three days (IPv4, IPv6 and hostname clients, many
 * codes and methods, out of order) are counted, and every answer is held
 * to a naive reference computed from the list of records: every hour,
 * random bucket-aligned windows, merges of two halves, snapshots written
 * and read back.  With the client budget lowered the estimate must be
 * within 3 standard errors; with few URL counters the top list must keep
 * Space-Saving's bound. */
#include "buckets.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "ip4set.h"
#include "lt_test.h"

#define FAST_EQ(a, b) do { if ((a) != (b)) ck_assert_uint_eq(a, b); } while (0)

#define T0 1700006400LL   /* 2023-11-15T00:00:00Z */
#define HOUR 3600
#define DAYS 3
#define N_RECORDS 60000

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static const char *const methods[] = {"GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE",
                                      "OPTIONS", "PROPFIND", "get"};
static const unsigned codes[] = {200, 200, 200, 200, 304, 301, 404, 500, 503, 418, 999, 0};
static const char *const vhosts[] = {"a.example", "b.example", "c.example"};

typedef struct ev {
    lt_record rec;
    char url[32];
    size_t url_len;
    char host[24];
    unsigned method;
    int vhost;
} ev;

static ev *evs;
static size_t n_evs;

/* n records over DAYS days, clients from a pool of pool_size. */
static void make_events(size_t n, uint32_t pool_size, size_t n_urls)
{
    free(evs);
    evs = calloc(n, sizeof(*evs));
    ck_assert_ptr_nonnull(evs);
    n_evs = n;
    for (size_t i = 0; i < n; i++) {
        ev *e = &evs[i];
        lt_record *r = &e->rec;
        /* Nearly in order, with some lines minutes and hours late. */
        int64_t t = T0 + (int64_t)(i * (uint64_t)DAYS * 86400 / n);
        if (rng() % 20 == 0)
            t -= (int64_t)(rng() % 7200);
        r->ts = t < T0 ? T0 : t;
        uint32_t c = (uint32_t)(rng() % pool_size);
        switch (c % 10) {
        case 0:
            r->client = LT_CLIENT_IPV6;
            memset(r->ipv6, 0, 16);
            r->ipv6[0] = 0x20;
            r->ipv6[1] = 0x01;
            memcpy(r->ipv6 + 12, &c, 4);
            break;
        case 1:
            r->client = LT_CLIENT_HOST;
            /* 16 bytes, like an IPv6 address, for some of them. */
            snprintf(e->host, sizeof(e->host), c % 20 == 1 ? "h%015u" : "host%u.example", c);
            r->host = e->host;
            r->host_len = strlen(e->host);
            break;
        default:
            r->client = LT_CLIENT_IPV4;
            r->ipv4 = 0x0a000000u + c;
        }
        r->status = codes[rng() % (sizeof(codes) / sizeof(codes[0]))];
        r->bytes = rng() % 100000;
        int has_url = rng() % 50 != 0;
        const char *m = methods[rng() % (sizeof(methods) / sizeof(methods[0]))];
        if (has_url) {
            /* A skewed popularity, so that there is a clear top. */
            uint64_t u = rng() % n_urls;
            u = u * u / n_urls;
            snprintf(e->url, sizeof(e->url), "/p/%llu", (unsigned long long)u);
            e->url_len = strlen(e->url);
            r->url = e->url;
            r->url_len = e->url_len;
            r->method = m;
            r->method_len = strlen(m);
        }
        e->method = lt_buckets_method(r->method, r->method_len);
        e->vhost = (int)(rng() % 3);
        r->vhost = vhosts[e->vhost];
        r->vhost_len = strlen(r->vhost);
        /* Response times from 0 to about 4 s, skewed low; one line in
         * eight logs none. */
        uint64_t d = rng() % 2000;
        r->duration_us = rng() % 8 == 0 ? LT_NO_DURATION : d * d + rng() % 1000;
    }
}

static lt_buckets *count_events(const lt_buckets_conf *conf, size_t from, size_t to)
{
    lt_buckets *b = lt_buckets_new(conf);
    ck_assert_ptr_nonnull(b);
    /* As a tally counts: every other IPv4 line is told by a stamped
     * all-time set whether its bucket has the client (the late lines
     * included), the rest are not (as past the set's budget). */
    lt_ip4set *all = lt_ip4set_new_stamped();
    for (size_t i = from; i < to; i++) {
        const ev *e = &evs[i];
        const char *u = e->rec.url;
        int seen = 0, fresh;
        uint32_t stamp = lt_buckets_stamp(b, e->rec.ts);
        if (e->rec.client == LT_CLIENT_IPV4 && i % 2 == 0) {
            ck_assert_int_ge(lt_ip4set_add_stamped(all, e->rec.ipv4, stamp, &fresh), 0);
            seen = stamp != 0 && !fresh;
        }
        ck_assert_int_eq(lt_buckets_add(b, &e->rec, u, e->url_len,
                                        u ? lt_urls_hash(u, e->url_len) : 0, seen), 0);
    }
    lt_ip4set_free(all);
    return b;
}

/* The reference answer for [from, to]. */
typedef struct ref {
    uint64_t requests, bytes, unparsed, methods[LT_METHODS], codes[LT_STATUS_CODES];
    uint64_t clients, ipv4, ipv6, other;
    uint64_t vhost_clients[3];                /* distinct clients per vhosts[] */
    uint64_t durations, p50, p90, p99, max;   /* response times, exact */
} ref;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The value of rank ceil(q * n) of the n sorted values v, as lt_hist's. */
static uint64_t rank_value(const uint64_t *v, size_t n, double q)
{
    size_t r = (size_t)ceil(q * (double)n);
    return v[r == 0 ? 0 : r - 1];
}

static void reference(int64_t from, int64_t to, ref *out)
{
    memset(out, 0, sizeof(*out));
    char **keys = malloc(n_evs * sizeof(*keys)), **pairs = malloc(n_evs * sizeof(*pairs));
    uint64_t *d = malloc(n_evs * sizeof(*d));
    size_t nk = 0, nd = 0;
    for (size_t i = 0; i < n_evs; i++) {
        const ev *e = &evs[i];
        if (e->rec.ts < from || e->rec.ts > to)
            continue;
        out->requests++;
        out->bytes += e->rec.bytes;
        out->unparsed += e->rec.url == NULL;
        out->methods[e->method]++;
        out->codes[e->rec.status]++;
        if (e->rec.duration_us != LT_NO_DURATION)
            d[nd++] = e->rec.duration_us;
        char k[64];
        if (e->rec.client == LT_CLIENT_IPV4)
            snprintf(k, sizeof(k), "4:%u", e->rec.ipv4);
        else if (e->rec.client == LT_CLIENT_IPV6)
            snprintf(k, sizeof(k), "6:%02x%02x%02x%02x", e->rec.ipv6[12], e->rec.ipv6[13],
                     e->rec.ipv6[14], e->rec.ipv6[15]);
        else
            snprintf(k, sizeof(k), "h:%s", e->host);
        keys[nk] = strdup(k);
        /* The same client with its virtual host in front. */
        char pk[80];
        snprintf(pk, sizeof(pk), "%d%s", e->vhost, k);
        pairs[nk++] = strdup(pk);
    }
    qsort(keys, nk, sizeof(*keys), cmp_key);
    qsort(pairs, nk, sizeof(*pairs), cmp_key);
    for (size_t i = 0; i < nk; i++) {
        if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0) {
            out->clients++;
            out->ipv4 += keys[i][0] == '4';
            out->ipv6 += keys[i][0] == '6';
            out->other += keys[i][0] == 'h';
        }
        if (i == 0 || strcmp(pairs[i], pairs[i - 1]) != 0)
            out->vhost_clients[pairs[i][0] - '0']++;
    }
    for (size_t i = 0; i < nk; i++) {
        free(keys[i]);
        free(pairs[i]);
    }
    free(keys);
    free(pairs);
    qsort(d, nd, sizeof(*d), cmp_u64);
    out->durations = nd;
    if (nd > 0) {
        out->p50 = rank_value(d, nd, 0.50);
        out->p90 = rank_value(d, nd, 0.90);
        out->p99 = rank_value(d, nd, 0.99);
        out->max = d[nd - 1];
    }
    free(d);
}

/* A quantile of the window's histogram is within LT_HIST_REL_ERROR of the
 * value of that rank in the buckets it covers. */
static void assert_quantile(const lt_hist *h, double q, uint64_t truth)
{
    uint64_t got = lt_hist_quantile(h, q);
    ck_assert_msg(fabs((double)got - (double)truth) <= (double)truth * LT_HIST_REL_ERROR + 1,
                  "p%g %llu, truth %llu", q * 100, (unsigned long long)got,
                  (unsigned long long)truth);
}

static void assert_window(const lt_buckets *b, int64_t from, int64_t to, int clients_exact)
{
    lt_window w;
    ref r;
    ck_assert_int_eq(lt_buckets_window(b, from, to, 100000, &w), 0);
    reference(w.covered_from, w.covered_to, &r);
    FAST_EQ(w.requests, r.requests);
    FAST_EQ(w.bytes, r.bytes);
    FAST_EQ(w.unparsed, r.unparsed);
    for (size_t m = 0; m < LT_METHODS; m++)
        FAST_EQ(w.methods[m], r.methods[m]);
    for (size_t c = 0; c < LT_STATUS_CODES; c++)
        FAST_EQ(w.codes[c], r.codes[c]);
    FAST_EQ(lt_urls_total(w.urls), r.requests - r.unparsed);
    FAST_EQ(lt_urls_total(w.vhosts), r.requests);
    FAST_EQ(lt_hist_count(w.durations), r.durations);
    FAST_EQ(lt_hist_max(w.durations), r.max);
    assert_quantile(w.durations, 0.50, r.p50);
    assert_quantile(w.durations, 0.90, r.p90);
    assert_quantile(w.durations, 0.99, r.p99);
    /* Clients per virtual host: exact wherever they are known. */
    if (w.vhost_clients != NULL) {
        ck_assert(lt_urls_exact(w.vhost_clients));
        for (int v = 0; v < 3; v++) {
            lt_url_count c = {0};
            bool held = lt_urls_get(w.vhost_clients, vhosts[v], strlen(vhosts[v]), &c);
            ck_assert_int_eq(held, r.vhost_clients[v] > 0);
            FAST_EQ(c.count, r.vhost_clients[v]);
        }
    }
    if (clients_exact) {
        ck_assert_int_eq(w.clients.exact, 1);
        FAST_EQ(w.clients.total, r.clients);
        FAST_EQ(w.clients.ipv4, r.ipv4);
        FAST_EQ(w.clients.ipv6, r.ipv6);
        FAST_EQ(w.clients.other, r.other);
    } else if (!w.clients.exact && r.clients > 0) {
        double se = w.clients.std_error * (double)r.clients;
        ck_assert_msg(fabs((double)w.clients.total - (double)r.clients) <= 3 * se + 3,
                      "estimate %llu, truth %llu (se %.1f)", (unsigned long long)w.clients.total,
                      (unsigned long long)r.clients, se);
    }
    lt_window_release(&w);
}

static int code_step(int64_t start, uint64_t count, void *arg)
{
    struct { uint64_t n[64]; int64_t start[64]; size_t k; } *s = arg;
    if (s->k < 64) {
        s->n[s->k] = count;
        s->start[s->k] = start;
    }
    s->k++;
    return 0;
}

START_TEST(every_hour_and_random_windows)
{
    rng_state = 1;
    make_events(N_RECORDS, 5000, 300);
    lt_buckets *b = count_events(NULL, 0, n_evs);
    ck_assert_uint_eq(lt_buckets_count(b), DAYS * 24);
    for (int64_t h = 0; h < DAYS * 24; h++)
        assert_window(b, T0 + h * HOUR, T0 + h * HOUR + HOUR - 1, 1);
    for (int i = 0; i < 50; i++) {
        int64_t a = T0 - HOUR + (int64_t)(rng() % ((DAYS + 1) * 86400));
        int64_t z = a + (int64_t)(rng() % (20 * HOUR));
        lt_window w;
        ck_assert_int_eq(lt_buckets_window(b, a, z, 10, &w), 0);
        ck_assert(w.covered_from <= a && w.covered_to >= z);
        ck_assert(w.covered_from % HOUR == 0 && (w.covered_to + 1) % HOUR == 0);
        ck_assert_int_eq(w.aligned, a % HOUR == 0 && (z + 1) % HOUR == 0);
        lt_window_release(&w);
        assert_window(b, a, z, 1);
    }
    /* The all-time totals. */
    ref r;
    reference(INT64_MIN, INT64_MAX, &r);
    lt_window all;
    ck_assert_int_eq(lt_buckets_window(b, T0, T0 + DAYS * 86400 - 1, 10, &all), 0);
    ck_assert_ptr_nonnull(all.vhost_clients);
    lt_window_release(&all);
    const lt_urls *vc = lt_buckets_vhost_clients(b);
    ck_assert_ptr_nonnull(vc);
    for (int v = 0; v < 3; v++) {
        lt_url_count c;
        ck_assert(lt_urls_get(vc, vhosts[v], strlen(vhosts[v]), &c));
        ck_assert_uint_eq(c.count, r.vhost_clients[v]);
        ck_assert_uint_lt(c.count, r.clients);   /* not every client saw every host */
    }
    for (size_t c = 0; c < LT_STATUS_CODES; c++)
        FAST_EQ(lt_buckets_codes(b)[c], r.codes[c]);
    for (size_t m = 0; m < LT_METHODS; m++)
        FAST_EQ(lt_buckets_methods(b)[m], r.methods[m]);
    ck_assert_uint_eq(lt_urls_total(lt_buckets_vhosts(b)), n_evs);
    for (unsigned m = 0; m < LT_METHODS; m++) {
        uint64_t by_class[LT_STATUS_CLASSES] = {0}, sum = 0;
        for (size_t i = 0; i < n_evs; i++)
            if (evs[i].method == m)
                by_class[lt_buckets_status_class(evs[i].rec.status)]++;
        for (unsigned c = 0; c < LT_STATUS_CLASSES; c++) {
            FAST_EQ(lt_buckets_class_method(b, c, m), by_class[c]);
            sum += by_class[c];
        }
        FAST_EQ(sum, r.methods[m]);
    }
    /* The series of one code, per 2 hours, against the records. */
    struct { uint64_t n[64]; int64_t start[64]; size_t k; } ser = {{0}, {0}, 0};
    int (*take)(int64_t, uint64_t, void *) = code_step;
    ck_assert_int_eq(lt_buckets_code_series(b, 404, T0 - 1, T0 + 20 * HOUR - 1, 2 * HOUR, take,
                                            &ser), 0);
    ck_assert_uint_eq(ser.k, 11);
    for (size_t i = 0; i < ser.k; i++) {
        uint64_t want = 0;
        for (size_t e = 0; e < n_evs; e++)
            want += evs[e].rec.status == 404 && evs[e].rec.ts >= ser.start[i] &&
                    evs[e].rec.ts < ser.start[i] + 2 * HOUR;
        FAST_EQ(ser.n[i], want);
    }
    ck_assert_int_eq(ser.start[0], T0 - 2 * HOUR);
    ck_assert_int_eq(lt_buckets_code_series(b, 404, T0, T0 + HOUR, 1800, take, &ser), -EINVAL);
    ck_assert_int_eq(lt_buckets_code_series(b, 1000, T0, T0 + HOUR, 3600, take, &ser), -EINVAL);
    ck_assert_uint_eq(lt_buckets_status_class(999), 5);
    ck_assert_uint_eq(lt_buckets_status_class(0), 5);
    ck_assert_uint_eq(lt_buckets_status_class(503), 4);
    ck_assert(r.methods[LT_METHOD_OTHER] > 0 && r.methods[LT_METHOD_NONE] > 0);
    lt_buckets_free(b);
}
END_TEST

START_TEST(lowered_budget_estimates)
{
    rng_state = 2;
    make_events(N_RECORDS, 30000, 300);
    /* Day buckets of ~20,000 lines: each set is far larger than a sketch,
     * and the budget holds one of them. */
    lt_buckets_conf conf = {.width = 86400, .clients_bytes = 600 * 1024};
    lt_buckets *b = count_events(&conf, 0, n_evs);
    lt_buckets_memory m;
    lt_buckets_bytes(b, &m);
    ck_assert(m.hll > 0);
    ck_assert_uint_le(m.client_sets, 600 * 1024);
    ck_assert_uint_gt(m.client_sets, 0);
    /* The pairs of hosts and clients have a budget of their own (see
     * pair_budget): the client sets' stayed theirs. */
    ck_assert_uint_le(m.vhost_clients, 2 * 600 * 1024 + 65536);
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(b, T0, T0 + DAYS * 86400 - 1, 10, &w), 0);
    ck_assert_int_eq(w.clients.exact, 0);
    ck_assert(w.clients.std_error > 0);
    lt_window_release(&w);
    for (int64_t d = 0; d < DAYS; d++)
        assert_window(b, T0 + d * 86400, T0 + d * 86400 + 86399, 0);
    assert_window(b, T0, T0 + DAYS * 86400 - 1, 0);
    /* The newest bucket is the last to be sketched. */
    ck_assert_int_eq(lt_buckets_window(b, T0 + DAYS * 86400 - HOUR, T0 + DAYS * 86400 - 1, 10, &w),
                     0);
    ref r;
    reference(w.covered_from, w.covered_to, &r);
    ck_assert_uint_eq(w.clients.total, r.clients);
    ck_assert_int_eq(w.clients.exact, 1);
    lt_window_release(&w);
    lt_buckets_free(b);
}
END_TEST

/* The pairs of hosts and clients have a budget of their own, for the
 * buckets and again for all time.  Here it holds every client set but
 * not every day's pairs: the newest day keeps them, the oldest not, all
 * time has passed it, and where known they are exact (assert_window). */
START_TEST(pair_budget)
{
    rng_state = 2;
    make_events(N_RECORDS, 30000, 300);
    lt_buckets_conf conf = {.width = 86400, .clients_bytes = 1800 * 1024};
    lt_buckets *b = count_events(&conf, 0, n_evs);
    lt_buckets_memory m;
    lt_buckets_bytes(b, &m);
    ck_assert_uint_eq(m.hll, 0);
    ck_assert_uint_gt(m.vhost_clients, 0);
    ck_assert_uint_le(m.vhost_clients, 2 * 1800 * 1024);
    ck_assert_ptr_null(lt_buckets_vhost_clients(b));
    lt_window old, young;
    ck_assert_int_eq(lt_buckets_window(b, T0, T0 + 86399, 10, &old), 0);
    ck_assert_int_eq(lt_buckets_window(b, T0 + 2 * 86400, T0 + 3 * 86400 - 1, 10, &young), 0);
    ck_assert_ptr_null(old.vhost_clients);
    ck_assert_ptr_nonnull(young.vhost_clients);
    ck_assert_int_eq(old.clients.exact, 1);
    lt_window_release(&old);
    lt_window_release(&young);
    for (int64_t d = 0; d < DAYS; d++)
        assert_window(b, T0 + d * 86400, T0 + d * 86400 + 86399, 1);
    lt_buckets_free(b);
}
END_TEST

/* The true hits of url over [from, to]. */
static uint64_t true_hits(const char *url, size_t len, int64_t from, int64_t to)
{
    uint64_t n = 0;
    for (size_t i = 0; i < n_evs; i++)
        if (evs[i].rec.url && evs[i].rec.ts >= from && evs[i].rec.ts <= to &&
            evs[i].url_len == len && memcmp(evs[i].url, url, len) == 0)
            n++;
    return n;
}

START_TEST(top_urls_bound)
{
    rng_state = 3;
    make_events(N_RECORDS / 2, 2000, 3000);
    lt_buckets_conf conf = {.urls = 50};
    lt_buckets *b = count_events(&conf, 0, n_evs);
    int64_t from = T0 + 5 * HOUR, to = T0 + 29 * HOUR - 1;
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(b, from, to, 50, &w), 0);
    ck_assert(!lt_urls_exact(w.urls));
    uint64_t bound = lt_urls_error_bound(w.urls);
    lt_url_count top[10];
    size_t n = lt_urls_top(w.urls, 10, top);
    ck_assert_uint_eq(n, 10);
    for (size_t i = 0; i < n; i++) {
        uint64_t t = true_hits(top[i].url, top[i].len, from, to);
        ck_assert_msg(top[i].count - top[i].error <= t && t <= top[i].count,
                      "%.*s: %llu - %llu vs true %llu", (int)top[i].len, top[i].url,
                      (unsigned long long)top[i].count, (unsigned long long)top[i].error,
                      (unsigned long long)t);
        ck_assert_uint_le(top[i].error, bound);
    }
    /* Every URL whose true count passes the bound is listed. */
    for (int u = 0; u < 3000; u++) {
        char url[32];
        snprintf(url, sizeof(url), "/p/%d", u);
        uint64_t t = true_hits(url, strlen(url), from, to);
        if (t <= bound)
            continue;
        int found = 0;
        lt_url_count all[50];
        size_t na = lt_urls_top(w.urls, 50, all);
        for (size_t i = 0; i < na; i++)
            found |= all[i].len == strlen(url) && memcmp(all[i].url, url, all[i].len) == 0;
        ck_assert_msg(found, "%s (%llu hits > bound %llu) missing", url, (unsigned long long)t,
                      (unsigned long long)bound);
    }
    lt_window_release(&w);
    /* With room, the same range is exact and equals the truth. */
    lt_buckets_free(b);
    b = count_events(NULL, 0, n_evs);
    ck_assert_int_eq(lt_buckets_window(b, from, to, 100000, &w), 0);
    ck_assert(lt_urls_exact(w.urls));
    n = lt_urls_top(w.urls, 10, top);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(top[i].count, true_hits(top[i].url, top[i].len, from, to));
    lt_window_release(&w);
    lt_buckets_free(b);
}
END_TEST

static void assert_same_windows(const lt_buckets *a, const lt_buckets *b)
{
    for (int64_t h = -1; h <= DAYS * 24; h += 5) {
        lt_window x, y;
        int64_t from = T0 + h * HOUR, to = from + 7 * HOUR - 1;
        ck_assert_int_eq(lt_buckets_window(a, from, to, 100000, &x), 0);
        ck_assert_int_eq(lt_buckets_window(b, from, to, 100000, &y), 0);
        FAST_EQ(x.requests, y.requests);
        FAST_EQ(x.bytes, y.bytes);
        FAST_EQ(x.clients.total, y.clients.total);
        FAST_EQ(x.clients.exact, y.clients.exact);
        FAST_EQ(x.clients.hll_estimate, y.clients.hll_estimate);
        ck_assert(memcmp(x.codes, y.codes, LT_STATUS_CODES * sizeof(*x.codes)) == 0);
        ck_assert(memcmp(x.methods, y.methods, sizeof(x.methods)) == 0);
        FAST_EQ(lt_hist_count(x.durations), lt_hist_count(y.durations));
        FAST_EQ(lt_hist_sum(x.durations), lt_hist_sum(y.durations));
        FAST_EQ(lt_hist_max(x.durations), lt_hist_max(y.durations));
        FAST_EQ(lt_hist_quantile(x.durations, 0.99), lt_hist_quantile(y.durations, 0.99));
        lt_url_count tx[10], ty[10];
        size_t nx = lt_urls_top(x.urls, 10, tx), ny = lt_urls_top(y.urls, 10, ty);
        ck_assert_uint_eq(nx, ny);
        for (size_t i = 0; i < nx; i++) {
            ck_assert_uint_eq(tx[i].count, ty[i].count);
            ck_assert(tx[i].len == ty[i].len && memcmp(tx[i].url, ty[i].url, tx[i].len) == 0);
        }
        lt_window_release(&x);
        lt_window_release(&y);
    }
}

START_TEST(merge_of_halves)
{
    rng_state = 4;
    make_events(N_RECORDS, 5000, 300);
    lt_buckets *whole = count_events(NULL, 0, n_evs);
    lt_buckets *a = count_events(NULL, 0, n_evs / 2);
    lt_buckets *b = count_events(NULL, n_evs / 2, n_evs);
    ck_assert_int_eq(lt_buckets_merge(a, b), 0);
    assert_same_windows(whole, a);
    for (int64_t h = 0; h < DAYS * 24; h += 7)
        assert_window(a, T0 + h * HOUR, T0 + h * HOUR + HOUR - 1, 1);
    /* One half sketched: the merge is an estimate that keeps its bound. */
    lt_buckets_conf small = {.clients_bytes = 1};
    lt_buckets *c = count_events(&small, 0, n_evs / 2);
    ck_assert_int_eq(lt_buckets_merge(c, b), 0);
    assert_window(c, T0, T0 + DAYS * 86400 - 1, 0);
    lt_buckets_conf other = {.width = 600};
    lt_buckets *d = lt_buckets_new(&other);
    ck_assert_int_eq(lt_buckets_merge(d, b), -EINVAL);
    lt_buckets_free(d);
    lt_buckets_free(c);
    lt_buckets_free(a);
    lt_buckets_free(b);
    lt_buckets_free(whole);
}
END_TEST

/* The bytes of b in the snapshot's layout (equal buckets, equal bytes). */
static lt_buf written(const lt_buckets *b)
{
    lt_buf out;
    lt_buf_init(&out);
    ck_assert_int_eq(lt_buckets_write(&out, b), 0);
    return out;
}

/* Counts the events in `pieces` consecutive ranges, in the order given,
 * each into buckets of its own that are then merged (take 0) or absorbed
 * (take 1) into the first; returns the result. */
static lt_buckets *merged_pieces(const lt_buckets_conf *conf, const size_t *order, size_t pieces,
                                 int take)
{
    lt_buckets *acc = NULL;
    for (size_t p = 0; p < pieces; p++) {
        size_t k = order[p];
        lt_buckets *b = count_events(conf, n_evs * k / pieces, n_evs * (k + 1) / pieces);
        if (acc == NULL) {
            acc = b;
            continue;
        }
        ck_assert_int_eq(take ? lt_buckets_absorb(acc, b) : lt_buckets_merge(acc, b), 0);
        lt_buckets_free(b);
    }
    return acc;
}

/* Absorbing moves the buckets dst lacks instead of copying them, which
 * must make no difference: pieces in file order, in reverse (older
 * buckets moved in after newer ones, so open ones close), shuffled, with
 * retention dropping buckets and with the client budget sketching them. */
START_TEST(absorb_is_merge)
{
    rng_state = 9;
    make_events(N_RECORDS, 5000, 300);
    static const size_t forward[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static const size_t backward[8] = {7, 6, 5, 4, 3, 2, 1, 0};
    static const size_t shuffled[8] = {3, 0, 6, 1, 7, 2, 5, 4};
    const size_t *orders[] = {forward, backward, shuffled};
    lt_buckets_conf confs[] = {{0}, {.retention = 24 * HOUR}, {.clients_bytes = 400000}};
    for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++)
        for (size_t o = 0; o < 3; o++) {
            lt_buckets *x = merged_pieces(&confs[c], orders[o], 8, 0);
            lt_buckets *y = merged_pieces(&confs[c], orders[o], 8, 1);
            lt_buf bx = written(x), by = written(y);
            ck_assert_msg(bx.len == by.len && memcmp(bx.data, by.data, bx.len) == 0,
                          "conf %zu, order %zu: absorbed buckets differ", c, o);
            /* The same bytes, but for the slack of the two newest buckets'
             * client lists (4 to 16 bytes an address, by their history);
             * the older ones are trimmed alike. */
            int64_t first, end;
            ck_assert(lt_buckets_span(y, &first, &end));
            lt_window w2;
            ck_assert_int_eq(lt_buckets_window(y, end - 2 * HOUR, end - 1, 10, &w2), 0);
            size_t bx_ = lt_buckets_bytes(x, NULL), by_ = lt_buckets_bytes(y, NULL);
            size_t slack = 12 * (size_t)w2.clients.total + 2 * 64;
            lt_window_release(&w2);
            ck_assert_msg(bx_ <= by_ + slack && by_ <= bx_ + slack,
                          "conf %zu, order %zu: %zu and %zu bytes, slack %zu", c, o, bx_, by_, slack);
            if (o == 0 && c == 0)
                assert_same_windows(x, y);
            if (c == 2) {
                /* The budget holds some hours' sets, not all. */
                size_t exact = 0, hours = 0;
                for (int64_t h = 0; h < DAYS * 24; h++, hours++) {
                    lt_window w;
                    ck_assert_int_eq(lt_buckets_window(y, T0 + h * HOUR, T0 + h * HOUR + HOUR - 1,
                                                       10, &w), 0);
                    exact += w.clients.exact;
                    lt_window_release(&w);
                }
                ck_assert_msg(exact > 0 && exact < hours, "%zu of %zu hours exact", exact, hours);
            }
            lt_buf_free(&bx);
            lt_buf_free(&by);
            lt_buckets_free(x);
            lt_buckets_free(y);
        }
}
END_TEST

START_TEST(retention_by_count)
{
    rng_state = 5;
    make_events(N_RECORDS / 4, 500, 100);
    lt_buckets_conf conf = {.retention = 24 * HOUR};
    lt_buckets *b = count_events(&conf, 0, n_evs);
    ck_assert_uint_eq(lt_buckets_count(b), 24);
    int64_t first, end;
    ck_assert(lt_buckets_span(b, &first, &end));
    ck_assert_int_eq(end, T0 + DAYS * 86400);
    ck_assert_int_eq(first, end - 24 * HOUR);
    ck_assert_uint_eq(lt_buckets_dropped(b), 0);
    /* A line older than every bucket kept is counted in the totals only. */
    lt_record old = evs[0].rec;
    ck_assert_int_eq(lt_buckets_add(b, &old, NULL, 0, 0, 0), 0);
    ck_assert_uint_eq(lt_buckets_dropped(b), 1);
    ck_assert_uint_eq(lt_buckets_count(b), 24);
    /* The last day is complete and exact; a range reaching before it says
     * it is not complete. */
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(b, first, end - 1, 100, &w), 0);
    ck_assert_int_eq(w.complete, 1);
    lt_window_release(&w);
    assert_window(b, first, end - 1, 1);
    ck_assert_int_eq(lt_buckets_window(b, first - 1, end - 1, 100, &w), 0);
    ck_assert_int_eq(w.complete, 0);
    lt_window_release(&w);
    /* A line stamped in 2100 costs one bucket, not the day before it. */
    lt_record r = evs[0].rec;
    r.ts = 4102444800LL;
    ck_assert_int_eq(lt_buckets_add(b, &r, NULL, 0, 0, 0), 0);
    ck_assert_uint_eq(lt_buckets_count(b), 24);
    ck_assert(lt_buckets_span(b, &first, &end));
    ck_assert_int_eq(first, T0 + DAYS * 86400 - 23 * HOUR);
    /* The totals keep everything. */
    uint64_t all = 0;
    for (size_t c = 0; c < LT_STATUS_CODES; c++)
        all += lt_buckets_codes(b)[c];
    ck_assert_uint_eq(all, n_evs + 2);
    lt_buckets_free(b);
}
END_TEST

START_TEST(write_read_round_trip)
{
    rng_state = 6;
    make_events(N_RECORDS / 2, 20000, 2000);
    for (int variant = 0; variant < 2; variant++) {
        lt_buckets_conf conf = {.urls = variant ? 40 : 0, .clients_bytes = variant ? 100000 : 0};
        lt_buckets *b = count_events(&conf, 0, n_evs);
        lt_buf one, two;
        lt_buf_init(&one);
        lt_buf_init(&two);
        ck_assert_int_eq(lt_buckets_write(&one, b), 0);
        lt_buckets *c = NULL;
        char err[256] = "";
        ck_assert_msg(lt_buckets_read(one.data, one.len, &conf, &c, err, sizeof(err)) == 0, "%s",
                      err);
        ck_assert_int_eq(lt_buckets_write(&two, c), 0);
        ck_assert_uint_eq(one.len, two.len);
        ck_assert(memcmp(one.data, two.data, one.len) == 0);
        assert_same_windows(b, c);
        /* Cut anywhere, or a byte changed: refused with an offset, or
         * (a changed count that still adds up) read; never a crash. */
        for (size_t cut = 0; cut < one.len; cut += 1 + one.len / 300) {
            lt_buckets *d = (lt_buckets *)1;
            ck_assert_int_eq(lt_buckets_read(one.data, cut, &conf, &d, err, sizeof(err)), -EINVAL);
            ck_assert_ptr_null(d);
            ck_assert_msg(strncmp(err, "byte ", 5) == 0, "%s", err);
        }
        for (size_t at = 0; at < one.len; at += 1 + one.len / 300) {
            one.data[at] ^= 0x5a;
            lt_buckets *d = NULL;
            int rc = lt_buckets_read(one.data, one.len, &conf, &d, err, sizeof(err));
            ck_assert(rc == 0 || rc == -EINVAL);
            lt_buckets_free(d);
            one.data[at] ^= 0x5a;
        }
        lt_buckets_conf wrong = {.width = 1800};
        lt_buckets *d = NULL;
        ck_assert_int_eq(lt_buckets_read(one.data, one.len, &wrong, &d, err, sizeof(err)), -EINVAL);
        ck_assert(strstr(err, "width") != NULL);
        lt_buf_free(&one);
        lt_buf_free(&two);
        lt_buckets_free(b);
        lt_buckets_free(c);
    }
}
END_TEST

/* A buckets section of snapshot version 2 ends at its last bucket, with no
 * response times after it: it reads, as buckets whose windows have none,
 * and the same counts otherwise.  It is made here from today's section by
 * cutting off the histograms, whose lengths the one-bucket windows give. */
START_TEST(version_2_section_reads)
{
    rng_state = 8;
    make_events(N_RECORDS / 4, 3000, 200);
    lt_buckets *b = count_events(NULL, 0, n_evs);
    lt_buf one, tail;
    lt_buf_init(&one);
    lt_buf_init(&tail);
    ck_assert_int_eq(lt_buckets_write(&one, b), 0);
    int64_t first, last;
    ck_assert(lt_buckets_span(b, &first, &last));
    for (int64_t s = first; s < last; s += HOUR) {
        lt_window w;
        ck_assert_int_eq(lt_buckets_window(b, s, s + HOUR - 1, 10, &w), 0);
        if (w.buckets == 1)
            lt_hist_write(&tail, w.durations);
        lt_window_release(&w);
    }
    ck_assert_uint_gt(tail.len, 4 * lt_buckets_count(b));
    /* The histograms, then version 4's pairs of hosts and clients. */
    size_t at = one.len - tail.len;
    while (at > 0 && memcmp(one.data + at, tail.data, tail.len) != 0)
        at--;
    ck_assert_uint_gt(at, 0);
    ck_assert_uint_gt(one.len, at + tail.len + 5 * lt_buckets_count(b));
    lt_buckets *c = NULL;
    char err[256] = "";
    ck_assert_msg(lt_buckets_read(one.data, at, NULL, &c, err, sizeof(err)) == 0, "%s", err);
    /* Version 3: response times, and no clients per virtual host. */
    lt_buckets *v3 = NULL;
    ck_assert_msg(lt_buckets_read(one.data, at + tail.len, NULL, &v3, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_ptr_nonnull(lt_buckets_vhost_clients(b));
    ck_assert_ptr_null(lt_buckets_vhost_clients(v3));
    lt_window z;
    ck_assert_int_eq(lt_buckets_window(v3, first, last, 10, &z), 0);
    ck_assert_ptr_null(z.vhost_clients);
    ck_assert_uint_gt(lt_hist_count(z.durations), 0);
    lt_window_release(&z);
    lt_buckets_free(v3);
    /* Part of the pairs is a damaged section. */
    lt_buckets *e = (lt_buckets *)1;
    ck_assert_int_eq(lt_buckets_read(one.data, at + tail.len + 3, NULL, &e, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_null(e);
    lt_window x, y;
    ck_assert_int_eq(lt_buckets_window(b, first, last, 100000, &x), 0);
    ck_assert_int_eq(lt_buckets_window(c, first, last, 100000, &y), 0);
    ck_assert_uint_eq(x.requests, y.requests);
    ck_assert_uint_eq(x.clients.total, y.clients.total);
    ck_assert_uint_gt(lt_hist_count(x.durations), 0);
    ck_assert_uint_eq(lt_hist_count(y.durations), 0);
    lt_window_release(&x);
    lt_window_release(&y);
    /* Part of the histograms only is a damaged section. */
    lt_buckets *d = (lt_buckets *)1;
    ck_assert_int_eq(lt_buckets_read(one.data, at + 4, NULL, &d, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(d);
    lt_buf_free(&one);
    lt_buf_free(&tail);
    lt_buckets_free(b);
    lt_buckets_free(c);
}
END_TEST

/* Hostname clients of one to three bytes (keys of two to four): a count
 * bound that assumed longer keys would refuse the section. */
START_TEST(short_client_keys_read)
{
    lt_buckets *b = lt_buckets_new(NULL);
    ck_assert_ptr_nonnull(b);
    char names[1000][4];
    for (int i = 0; i < 1000; i++) {
        lt_record r = {0};
        snprintf(names[i], sizeof(names[i]), "%d", i);
        r.ts = T0;
        r.status = 200;
        r.client = LT_CLIENT_HOST;
        r.host = names[i];
        r.host_len = strlen(names[i]);
        r.duration_us = LT_NO_DURATION;
        ck_assert_int_eq(lt_buckets_add(b, &r, NULL, 0, 0, 0), 0);
    }
    lt_buf one = written(b);
    lt_buckets *c = NULL;
    char err[256] = "";
    ck_assert_msg(lt_buckets_read(one.data, one.len, NULL, &c, err, sizeof(err)) == 0, "%s", err);
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(c, T0, T0, 10, &w), 0);
    ck_assert_uint_eq(w.clients.other, 1000);
    lt_window_release(&w);
    lt_buf_free(&one);
    lt_buckets_free(b);
    lt_buckets_free(c);
}
END_TEST

START_TEST(conf_and_methods)
{
    char err[256];
    lt_buckets_conf c = {0};
    ck_assert_int_eq(lt_buckets_conf_check(&c, err, sizeof(err)), 0);
    ck_assert_int_eq(c.width, 3600);
    ck_assert_int_eq(c.retention, 31 * 86400);
    for (int64_t w = 1; w <= 90000; w++) {
        lt_buckets_conf x = {.width = w};
        int ok = w >= 60 && w <= 86400 && 86400 % w == 0;
        FAST_EQ(lt_buckets_conf_check(&x, err, sizeof(err)) == 0, ok);
    }
    lt_buckets_conf r = {.width = 3600, .retention = 60};
    ck_assert_int_eq(lt_buckets_conf_check(&r, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_null(lt_buckets_new(&r));
    ck_assert_uint_eq(lt_buckets_method("GET", 3), LT_METHOD_GET);
    ck_assert_uint_eq(lt_buckets_method("GETX", 4), LT_METHOD_OTHER);
    ck_assert_uint_eq(lt_buckets_method("GE", 2), LT_METHOD_OTHER);
    ck_assert_uint_eq(lt_buckets_method("get", 3), LT_METHOD_OTHER);
    ck_assert_uint_eq(lt_buckets_method(NULL, 0), LT_METHOD_NONE);
    ck_assert_str_eq(lt_buckets_method_name(LT_METHOD_PATCH), "PATCH");
    /* Negative times fall in the bucket that holds them. */
    lt_buckets *b = lt_buckets_new(NULL);
    lt_record rec = {.client = LT_CLIENT_IPV4, .ipv4 = 1, .ts = -1, .status = 200};
    ck_assert_int_eq(lt_buckets_add(b, &rec, NULL, 0, 0, 0), 0);
    int64_t first, end;
    ck_assert(lt_buckets_span(b, &first, &end));
    ck_assert_int_eq(first, -3600);
    ck_assert_int_eq(end, 0);
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(b, 5, 4, 10, &w), -EINVAL);
    lt_buckets_free(b);
    lt_buckets_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buckets");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, every_hour_and_random_windows);
    tcase_add_test(tc, lowered_budget_estimates);
    tcase_add_test(tc, top_urls_bound);
    tcase_add_test(tc, merge_of_halves);
    tcase_add_test(tc, absorb_is_merge);
    tcase_add_test(tc, pair_budget);
    tcase_add_test(tc, short_client_keys_read);
    tcase_add_test(tc, retention_by_count);
    tcase_add_test(tc, write_read_round_trip);
    tcase_add_test(tc, version_2_section_reads);
    tcase_add_test(tc, conf_and_methods);
    suite_add_tcase(s, tc);
    int rc = lt_test_run(s);
    free(evs);
    return rc;
}
