/* test_rps.c -- Check suite for lib/rps.c.
 *
 * Every query is compared with a naive reference computed from the list of
 * added (second, count) events; out-of-memory paths are driven by a real
 * address-space limit (RLIMIT_AS), not by hooks in the library. */
#include "rps.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
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
 * dominate the loops below; these assert only when the check fails. */
#define FAST_EQ(a, b) do { if ((a) != (b)) ck_assert_int_eq(a, b); } while (0)
#define FAST_TRUE(expr) do { if (!(expr)) ck_assert(expr); } while (0)

#define DAY 86400
#define YEAR (365 * (int64_t)DAY)

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: deterministic, so a failure reproduces. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

struct event {
    int64_t second;
    uint64_t count;
};

struct events {
    struct event *v;
    size_t n, cap;
};

static void push(struct events *e, int64_t second, uint64_t count)
{
    if (e->n == e->cap) {
        e->cap = e->cap * 2 + 64;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        FAST_TRUE(e->v != NULL);
    }
    e->v[e->n].second = second;
    e->v[e->n].count = count;
    e->n++;
}

static int by_second(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    return a->second < b->second ? -1 : a->second > b->second;
}

/* The reference: events summed per second, in time order. */
static struct events aggregate(const struct events *in)
{
    struct events out = {0};
    struct event *tmp = malloc((in->n + 1) * sizeof(*tmp));
    ck_assert_ptr_nonnull(tmp);
    memcpy(tmp, in->v, in->n * sizeof(*tmp));
    qsort(tmp, in->n, sizeof(*tmp), by_second);
    for (size_t i = 0; i < in->n; i++) {
        if (out.n > 0 && out.v[out.n - 1].second == tmp[i].second)
            out.v[out.n - 1].count += tmp[i].count;
        else if (tmp[i].count > 0)
            push(&out, tmp[i].second, tmp[i].count);
    }
    free(tmp);
    return out;
}

static uint64_t naive_range(const struct events *e, int64_t from, int64_t to)
{
    uint64_t s = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].second >= from && e->v[i].second <= to)
            s += e->v[i].count;
    return s;
}

/* The same sums in O(log n): the aggregated events with prefix sums. */
struct reference {
    struct events agg;
    uint64_t *prefix;    /* prefix[i] = sum of agg counts before i */
};

static struct reference reference_new(const struct events *e)
{
    struct reference ref = {aggregate(e), NULL};
    ref.prefix = malloc((ref.agg.n + 1) * sizeof(*ref.prefix));
    ck_assert_ptr_nonnull(ref.prefix);
    ref.prefix[0] = 0;
    for (size_t i = 0; i < ref.agg.n; i++)
        ref.prefix[i + 1] = ref.prefix[i] + ref.agg.v[i].count;
    return ref;
}

/* Index of the first aggregated second >= s. */
static size_t reference_lower(const struct reference *ref, int64_t s)
{
    size_t lo = 0, hi = ref->agg.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ref->agg.v[mid].second < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t reference_range(const struct reference *ref, int64_t from, int64_t to)
{
    return ref->prefix[reference_lower(ref, to + 1)] - ref->prefix[reference_lower(ref, from)];
}

static int collect_one(int64_t second, uint64_t count, void *arg)
{
    push(arg, second, count);
    return 0;
}

static struct events collect(const lt_rps *r)
{
    struct events e = {0};
    ck_assert_int_eq(lt_rps_foreach(r, collect_one, &e), 0);
    return e;
}

static void assert_events_equal(const struct events *a, const struct events *b)
{
    ck_assert_uint_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        FAST_EQ(a->v[i].second, b->v[i].second);
        FAST_EQ(a->v[i].count, b->v[i].count);
    }
}

/* r holds exactly the reference want (aggregated), with matching totals,
 * span and peak (earliest second among ties). */
static void assert_matches(const lt_rps *r, const struct events *want)
{
    struct events got = collect(r);
    assert_events_equal(&got, want);
    free(got.v);
    uint64_t total = 0, peak = 0;
    int64_t peak_second = 0;
    for (size_t i = 0; i < want->n; i++) {
        total += want->v[i].count;
        if (want->v[i].count > peak) {
            peak = want->v[i].count;
            peak_second = want->v[i].second;
        }
    }
    ck_assert_uint_eq(lt_rps_total(r), total);
    ck_assert_uint_eq(lt_rps_active_seconds(r), want->n);
    int64_t first, last, ps;
    uint64_t pc;
    if (want->n == 0) {
        ck_assert(!lt_rps_span(r, &first, &last));
        ck_assert(!lt_rps_peak(r, &ps, &pc));
        return;
    }
    ck_assert(lt_rps_span(r, &first, &last));
    ck_assert_int_eq(first, want->v[0].second);
    ck_assert_int_eq(last, want->v[want->n - 1].second);
    ck_assert(lt_rps_peak(r, &ps, &pc));
    ck_assert_uint_eq(pc, peak);
    ck_assert_int_eq(ps, peak_second);
}

/* Random events in a few clusters of hours, days apart, around the epoch
 * so that negative seconds occur. */
static struct events random_events(size_t n)
{
    struct events e = {0};
    int64_t centres[] = {-3 * DAY - 1800, -1, 5 * DAY + 3599, 40 * DAY};
    for (size_t i = 0; i < n; i++) {
        int64_t c = centres[rng() % 4];
        int64_t s = c + (int64_t)(rng() % 20000) - 10000;
        push(&e, s, 1 + rng() % 5);
    }
    return e;
}

START_TEST(random_order_equals_ordered)
{
    rng_state = 1;
    struct events e = random_events(30000);
    struct events want = aggregate(&e);
    lt_rps *shuffled = lt_rps_new(), *ordered = lt_rps_new();
    ck_assert(shuffled != NULL && ordered != NULL);
    for (size_t i = 0; i < e.n; i++)
        FAST_EQ(lt_rps_add(shuffled, e.v[i].second, (uint32_t)e.v[i].count), 0);
    qsort(e.v, e.n, sizeof(*e.v), by_second);
    for (size_t i = 0; i < e.n; i++)
        FAST_EQ(lt_rps_add(ordered, e.v[i].second, (uint32_t)e.v[i].count), 0);
    assert_matches(shuffled, &want);
    assert_matches(ordered, &want);
    ck_assert_uint_eq(lt_rps_bytes(shuffled), lt_rps_bytes(ordered));
    lt_rps_free(shuffled);
    lt_rps_free(ordered);
    free(e.v);
    free(want.v);
}
END_TEST

struct series {
    int64_t start[64];
    uint64_t count[64];
    size_t n;
};

static int series_one(int64_t start, uint64_t count, void *arg)
{
    struct series *s = arg;
    ck_assert_uint_lt(s->n, 64);
    s->start[s->n] = start;
    s->count[s->n] = count;
    s->n++;
    return 0;
}

START_TEST(block_boundaries_and_negative_seconds)
{
    static const int64_t seconds[] = {
        INT64_MIN, INT64_MIN + 1, -3601, -3600, -1, 0, 3599, 3600, 7199, INT64_MAX,
    };
    size_t n = sizeof(seconds) / sizeof(seconds[0]);
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    struct events e = {0};
    /* Added backwards, so every block arrives before the ones it follows. */
    for (size_t i = n; i-- > 0;) {
        ck_assert_int_eq(lt_rps_add(r, seconds[i], (uint32_t)(i + 1)), 0);
        push(&e, seconds[i], i + 1);
    }
    struct events want = aggregate(&e);
    assert_matches(r, &want);
    /* -1 is the last second of block -1, 0 the first of block 0. */
    ck_assert_uint_eq(lt_rps_range_total(r, -1, 0), 5 + 6);
    ck_assert_uint_eq(lt_rps_range_total(r, -3600, -1), 4 + 5);
    ck_assert_uint_eq(lt_rps_range_total(r, -3601, -3601), 3);
    ck_assert_uint_eq(lt_rps_range_total(r, 1, 3598), 0);
    ck_assert_uint_eq(lt_rps_range_total(r, INT64_MIN, INT64_MAX), lt_rps_total(r));
    ck_assert_uint_eq(lt_rps_range_total(r, 1, 0), 0);

    struct series s = {0};
    ck_assert_int_eq(lt_rps_series(r, -7200, 3600, LT_RPS_STEP_HOUR, series_one, &s), 0);
    ck_assert_uint_eq(s.n, 4);
    int64_t starts[] = {-7200, -3600, 0, 3600};
    uint64_t counts[] = {3, 4 + 5, 6 + 7, 8 + 9};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(s.start[i], starts[i]);
        ck_assert_uint_eq(s.count[i], counts[i]);
    }
    /* from = -1 at a minute step starts at -60. */
    s.n = 0;
    ck_assert_int_eq(lt_rps_series(r, -1, 0, LT_RPS_STEP_MINUTE, series_one, &s), 0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_int_eq(s.start[0], -60);
    ck_assert_uint_eq(s.count[0], 5);
    ck_assert_int_eq(s.start[1], 0);
    ck_assert_uint_eq(s.count[1], 6);
    /* The ends of int64_t: seconds work; a bucket start below INT64_MIN
     * cannot be reported. */
    s.n = 0;
    ck_assert_int_eq(lt_rps_series(r, INT64_MIN, INT64_MIN + 2, LT_RPS_STEP_SECOND, series_one, &s), 0);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_int_eq(s.start[0], INT64_MIN);
    ck_assert_uint_eq(s.count[0], 1);
    ck_assert_uint_eq(s.count[1], 2);
    ck_assert_uint_eq(s.count[2], 0);
    s.n = 0;
    ck_assert_int_eq(lt_rps_series(r, INT64_MAX - 1, INT64_MAX, LT_RPS_STEP_SECOND, series_one, &s), 0);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_uint_eq(s.count[1], 10);
    ck_assert_int_eq(lt_rps_series(r, INT64_MIN, 0, LT_RPS_STEP_MINUTE, series_one, &s), -EINVAL);
    ck_assert_uint_eq(lt_rps_range_total(r, INT64_MAX, INT64_MAX), 10);
    lt_rps_free(r);
    free(e.v);
    free(want.v);
}
END_TEST

struct sum {
    uint64_t buckets, total, nonzero;
    int64_t prev;
};

static int sum_one(int64_t start, uint64_t count, void *arg)
{
    struct sum *s = arg;
    if (s->buckets > 0)
        FAST_EQ(start - s->prev, DAY);
    s->prev = start;
    s->buckets++;
    s->total += count;
    s->nonzero += count != 0;
    return 0;
}

START_TEST(year_with_gaps)
{
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    /* 2024-01-01 10:00 UTC, every second of the hour, and the same hour a
     * year later. */
    int64_t h = 1704103200;
    for (int64_t s = 0; s < 3600; s++) {
        FAST_EQ(lt_rps_add(r, h + s, 1), 0);
        FAST_EQ(lt_rps_add(r, h + YEAR + s, 2), 0);
    }
    ck_assert_uint_eq(lt_rps_active_seconds(r), 7200);
    ck_assert_uint_eq(lt_rps_total(r), 3 * 3600);
    /* Two blocks of 14.4 KB, not 8,760. */
    ck_assert_uint_lt(lt_rps_bytes(r), 40 * 1024);

    struct sum s = {0};
    ck_assert_int_eq(lt_rps_series(r, h, h + YEAR + 3599, LT_RPS_STEP_DAY, sum_one, &s), 0);
    ck_assert_uint_eq(s.buckets, 366);
    ck_assert_uint_eq(s.nonzero, 2);
    ck_assert_uint_eq(s.total, 3 * 3600);
    /* Ten thousand years by day: 3.65 M buckets.  A walk over seconds
     * (3 * 10^11) would not finish within the test's timeout. */
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(lt_rps_series(r, h - 5000 * YEAR, h + 5000 * YEAR, LT_RPS_STEP_DAY, sum_one, &s), 0);
    ck_assert_uint_eq(s.buckets, 10000 * 365 + 1);
    ck_assert_uint_eq(s.nonzero, 2);
    ck_assert_uint_eq(s.total, 3 * 3600);
    ck_assert_uint_eq(lt_rps_range_total(r, h - 5000 * YEAR, h + 5000 * YEAR), 3 * 3600);
    lt_rps_free(r);
}
END_TEST

static int hour_one(int64_t start, uint64_t count, void *arg)
{
    struct sum *s = arg;
    if (s->buckets > 0)
        FAST_EQ(start - s->prev, 3600);
    s->prev = start;
    s->buckets++;
    s->total += count;
    s->nonzero += count != 0;
    return 0;
}

/* One request an hour for ten years: 87,600 blocks of one second each
 * cost about a hundred bytes apiece, not 14.4 KB (1.2 GB in all), and
 * every reader still sees each request. */
START_TEST(sparse_hours_cost_bytes)
{
    lt_rps *r = lt_rps_new(), *m = lt_rps_new();
    ck_assert(r != NULL && m != NULL);
    int64_t h = 1704067200;
    size_t hours = 10 * 8760;
    for (size_t k = 0; k < hours; k++)
        FAST_EQ(lt_rps_add(r, h + (int64_t)k * 3600 + (int64_t)(k % 3600), 1), 0);
    ck_assert_uint_eq(lt_rps_total(r), hours);
    ck_assert_uint_eq(lt_rps_active_seconds(r), hours);
    ck_assert_uint_lt(lt_rps_bytes(r), hours * 160);
    struct sum s = {0};
    ck_assert_int_eq(lt_rps_series(r, h, h + (int64_t)hours * 3600 - 1, LT_RPS_STEP_HOUR, hour_one,
                                   &s), 0);
    ck_assert_uint_eq(s.buckets, hours);
    ck_assert_uint_eq(s.nonzero, hours);
    ck_assert_uint_eq(lt_rps_range_total(r, h + 3600 + 1, h + 3600 + 1), 1);
    ck_assert_uint_eq(lt_rps_range_total(r, h + 3600 + 2, h + 7199), 0);
    struct events e = collect(r);
    ck_assert_uint_eq(e.n, hours);
    ck_assert_int_eq(e.v[1].second, h + 3600 + 1);
    free(e.v);
    /* Merged, the blocks stay lists. */
    ck_assert_int_eq(lt_rps_merge(m, r), 0);
    ck_assert_int_eq(lt_rps_merge(m, r), 0);
    ck_assert_uint_eq(lt_rps_total(m), 2 * hours);
    ck_assert_uint_lt(lt_rps_bytes(m), hours * 160);
    int64_t ps;
    uint64_t pc;
    ck_assert(lt_rps_peak(m, &ps, &pc));
    ck_assert_int_eq(ps, h);
    ck_assert_uint_eq(pc, 2);

    /* A busy hour turns dense past its list's limit, counts unchanged. */
    lt_rps *d = lt_rps_new();
    for (int64_t k = 3599; k >= 0; k--)
        FAST_EQ(lt_rps_add(d, h + k, (uint32_t)(k % 7 + 1)), 0);
    uint64_t want = 0;
    for (int64_t k = 0; k < 3600; k++)
        want += (uint64_t)(k % 7 + 1);
    ck_assert_uint_eq(lt_rps_total(d), want);
    ck_assert_uint_eq(lt_rps_range_total(d, h + 5, h + 5), 6);
    ck_assert_uint_gt(lt_rps_bytes(d), 3600 * 4);
    ck_assert_uint_lt(lt_rps_bytes(d), 3600 * 4 + 2048);
    lt_rps_free(d);
    lt_rps_free(r);
    lt_rps_free(m);
}
END_TEST

static int minute_one(int64_t start, uint64_t count, void *arg)
{
    struct series *s = arg;
    (void)start;
    if (s->n < sizeof(s->count) / sizeof(s->count[0]))
        s->count[s->n] = count;
    s->n++;
    return 0;
}

/* Past lt_rps_set_limit() the oldest hours count per minute, then per
 * hour; totals and whole-minute (hour) answers stay exact, the table fits,
 * and lt_rps_coarse() says how far the coarsening went. */
START_TEST(limit_coarsens_oldest_hours)
{
    lt_rps *r = lt_rps_new(), *full = lt_rps_new();
    ck_assert(r != NULL && full != NULL);
    int64_t h = 1704067200;
    lt_rps_set_limit(r, 300 * 1024);
    /* 48 busy hours: 690 KB per second, dense. */
    for (int64_t k = 0; k < 48 * 3600; k++) {
        uint32_t c = (uint32_t)(k % 5 + 1);
        FAST_EQ(lt_rps_add(r, h + k, c), 0);
        FAST_EQ(lt_rps_add(full, h + k, c), 0);
    }
    ck_assert_uint_le(lt_rps_bytes(r), 300 * 1024);
    ck_assert_uint_gt(lt_rps_bytes(full), 600 * 1024);
    int64_t until = 0;
    ck_assert_int_eq(lt_rps_coarse(r, &until), 60);
    ck_assert_int_eq(lt_rps_coarse(full, NULL), 0);
    ck_assert_int_gt(until, h);
    ck_assert_int_lt(until, h + 48 * 3600 - 1);
    ck_assert_int_eq((until + 1 - h) % 3600, 0);
    ck_assert_uint_eq(lt_rps_total(r), lt_rps_total(full));
    /* The newest hour still counts per second. */
    ck_assert_uint_eq(lt_rps_range_total(r, h + 47 * 3600 + 7, h + 47 * 3600 + 7),
                      lt_rps_range_total(full, h + 47 * 3600 + 7, h + 47 * 3600 + 7));
    /* The oldest counts per minute: minutes are exact, seconds are not. */
    struct series a = {0}, b = {0};
    ck_assert_int_eq(lt_rps_series(r, h, h + 48 * 3600 - 1, LT_RPS_STEP_MINUTE, minute_one, &a), 0);
    ck_assert_int_eq(lt_rps_series(full, h, h + 48 * 3600 - 1, LT_RPS_STEP_MINUTE, minute_one, &b), 0);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_mem_eq(a.count, b.count, sizeof(a.count));
    ck_assert_uint_eq(lt_rps_range_total(r, h + 60, h + 119), lt_rps_range_total(full, h + 60, h + 119));
    ck_assert_uint_eq(lt_rps_range_total(r, h + 61, h + 61), 0);
    /* The peak is among the seconds counted per second. */
    int64_t ps;
    uint64_t pc;
    ck_assert(lt_rps_peak(r, &ps, &pc));
    ck_assert_uint_eq(pc, 5);
    /* Later adds to a coarsened hour go to their minute. */
    ck_assert_int_eq(lt_rps_add(r, h + 61, 2), 0);
    ck_assert_uint_eq(lt_rps_range_total(r, h + 60, h + 60), lt_rps_range_total(full, h + 60, h + 119) + 2);

    /* A limit below what minutes take: hours, the oldest first. */
    lt_rps_set_limit(r, 16 * 1024);
    ck_assert_int_eq(lt_rps_coarse(r, &until), 3600);
    ck_assert_uint_le(lt_rps_bytes(r), 16 * 1024);
    ck_assert_uint_eq(lt_rps_total(r), lt_rps_total(full) + 2);
    ck_assert_uint_eq(lt_rps_range_total(r, h + 3600, h + 7199), lt_rps_range_total(full, h + 3600, h + 7199));

    /* Merged into a table without a limit, the coarse hours stay coarse. */
    lt_rps *m = lt_rps_new();
    ck_assert_int_eq(lt_rps_add(m, h + 5, 1), 0);
    ck_assert_int_eq(lt_rps_merge(m, r), 0);
    ck_assert_uint_eq(lt_rps_total(m), lt_rps_total(r) + 1);
    ck_assert_uint_eq(lt_rps_range_total(m, h, h + 3599), lt_rps_range_total(full, h, h + 3599) + 3);
    ck_assert_uint_eq(lt_rps_range_total(m, h + 5, h + 5), 0);
    ck_assert_int_eq(lt_rps_coarse(m, NULL), 3600);
    lt_rps_free(m);
    lt_rps_free(r);
    lt_rps_free(full);
}
END_TEST

START_TEST(peak_and_ties)
{
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    int64_t ps, first, last;
    uint64_t pc;
    ck_assert(!lt_rps_peak(r, &ps, &pc));
    ck_assert(!lt_rps_span(r, &first, &last));
    size_t empty = lt_rps_bytes(r);
    ck_assert_int_eq(lt_rps_add(r, 100, 0), 0);
    ck_assert(!lt_rps_peak(r, &ps, &pc));
    ck_assert_uint_eq(lt_rps_bytes(r), empty);

    struct {
        int64_t second;
        uint32_t count;
        int64_t peak_second;
        uint64_t peak;
    } steps[] = {
        {100, 5, 100, 5},
        {50, 5, 50, 5},      /* a tie: the earlier second wins */
        {200, 4, 50, 5},
        {200, 1, 50, 5},     /* a tie reached later, at a later second */
        {200, 1, 200, 6},
        {-10, 6, -10, 6},    /* a tie at an earlier (negative) second */
        {7200, 7, 7200, 7},
        {3600, 7, 3600, 7},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        ck_assert_int_eq(lt_rps_add(r, steps[i].second, steps[i].count), 0);
        ck_assert(lt_rps_peak(r, &ps, &pc));
        ck_assert_int_eq(ps, steps[i].peak_second);
        ck_assert_uint_eq(pc, steps[i].peak);
    }
    ck_assert(lt_rps_span(r, &first, &last));
    ck_assert_int_eq(first, -10);
    ck_assert_int_eq(last, 7200);
    lt_rps_free(r);
}
END_TEST

START_TEST(range_totals)
{
    rng_state = 2;
    struct events e = random_events(20000);
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < e.n; i++)
        FAST_EQ(lt_rps_add(r, e.v[i].second, (uint32_t)e.v[i].count), 0);
    for (int t = 0; t < 3000; t++) {
        int64_t a = e.v[rng() % e.n].second + (int64_t)(rng() % 7201) - 3600;
        int64_t b = t % 3 == 0 ? a + (int64_t)(rng() % 10) : e.v[rng() % e.n].second;
        if (t % 5 == 0) {
            /* Block-aligned edges. */
            a -= ((a % 3600) + 3600) % 3600;
            b = a + 3599;
        }
        FAST_EQ(lt_rps_range_total(r, a, b), naive_range(&e, a, b));
    }
    ck_assert_uint_eq(lt_rps_range_total(r, INT64_MIN, INT64_MAX), lt_rps_total(r));
    lt_rps_free(r);
    free(e.v);
}
END_TEST

struct checked_series {
    const struct reference *ref;
    int64_t step, from, to, expect;
    size_t buckets;
    int stop_at;
};

static int check_bucket(int64_t start, uint64_t count, void *arg)
{
    struct checked_series *c = arg;
    FAST_EQ(start, c->expect);
    FAST_TRUE(start <= c->to);
    FAST_EQ(count, reference_range(c->ref, start, start + c->step - 1));
    c->expect = start + c->step;
    c->buckets++;
    if (c->stop_at != 0 && (int)c->buckets == c->stop_at)
        return 7;
    return 0;
}

static int64_t floor_to(int64_t a, int64_t step)
{
    int64_t q = a / step;
    if (a % step < 0)
        q--;
    return q * step;
}

START_TEST(series_at_every_step)
{
    rng_state = 3;
    struct events e = random_events(5000);
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < e.n; i++)
        FAST_EQ(lt_rps_add(r, e.v[i].second, (uint32_t)e.v[i].count), 0);
    struct reference ref = reference_new(&e);
    static const lt_rps_step steps[] = {
        LT_RPS_STEP_SECOND, LT_RPS_STEP_MINUTE, LT_RPS_STEP_HOUR, LT_RPS_STEP_DAY,
    };
    for (size_t k = 0; k < 4; k++) {
        int64_t step = steps[k];
        for (int t = 0; t < 40; t++) {
            /* Ranges over gaps and clusters, the longest about 60 days. */
            int64_t from = e.v[rng() % e.n].second - (int64_t)(rng() % (uint64_t)(step * 50));
            int64_t to = from + (int64_t)(rng() % (uint64_t)(step * 1000));
            if (step == 1)
                to = from + (int64_t)(rng() % 20000);
            struct checked_series c = {&ref, step, from, to, floor_to(from, step), 0, 0};
            ck_assert_int_eq(lt_rps_series(r, from, to, steps[k], check_bucket, &c), 0);
            /* The last bucket holds to. */
            ck_assert_int_eq(c.expect, floor_to(to, step) + step);
            ck_assert_uint_eq(c.buckets, (uint64_t)((floor_to(to, step) - floor_to(from, step)) / step + 1));
        }
    }
    /* A non-zero return stops the walk and is returned. */
    struct checked_series c = {&ref, 60, 0, 6000, 0, 0, 3};
    ck_assert_int_eq(lt_rps_series(r, 0, 6000, LT_RPS_STEP_MINUTE, check_bucket, &c), 7);
    ck_assert_uint_eq(c.buckets, 3);
    /* Bad arguments. */
    ck_assert_int_eq(lt_rps_series(r, 10, 9, LT_RPS_STEP_SECOND, check_bucket, &c), -EINVAL);
    ck_assert_int_eq(lt_rps_series(r, 0, 9, (lt_rps_step)0, check_bucket, &c), -EINVAL);
    ck_assert_int_eq(lt_rps_series(r, 0, 9, (lt_rps_step)2, check_bucket, &c), -EINVAL);
    ck_assert_int_eq(lt_rps_series(r, 0, 9, (lt_rps_step)7200, check_bucket, &c), -EINVAL);
    ck_assert_int_eq(lt_rps_series(r, 0, 9, (lt_rps_step)-1, check_bucket, &c), -EINVAL);
    ck_assert_uint_eq(c.buckets, 3);
    lt_rps_free(r);
    free(e.v);
    free(ref.agg.v);
    free(ref.prefix);
}
END_TEST

START_TEST(merge_equals_both_streams)
{
    rng_state = 4;
    struct events ea = random_events(20000), eb = random_events(20000);
    lt_rps *a = lt_rps_new(), *b = lt_rps_new(), *ab = lt_rps_new();
    ck_assert(a != NULL && b != NULL && ab != NULL);
    /* b also reaches far from a's blocks. */
    for (size_t i = 0; i < eb.n; i++)
        eb.v[i].second += i % 2 ? 0 : 90 * DAY;
    for (size_t i = 0; i < ea.n; i++) {
        FAST_EQ(lt_rps_add(a, ea.v[i].second, (uint32_t)ea.v[i].count), 0);
        FAST_EQ(lt_rps_add(ab, ea.v[i].second, (uint32_t)ea.v[i].count), 0);
    }
    for (size_t i = 0; i < eb.n; i++) {
        FAST_EQ(lt_rps_add(b, eb.v[i].second, (uint32_t)eb.v[i].count), 0);
        FAST_EQ(lt_rps_add(ab, eb.v[i].second, (uint32_t)eb.v[i].count), 0);
    }
    ck_assert_int_eq(lt_rps_merge(a, b), 0);
    struct events both = {0};
    for (size_t i = 0; i < ea.n; i++)
        push(&both, ea.v[i].second, ea.v[i].count);
    for (size_t i = 0; i < eb.n; i++)
        push(&both, eb.v[i].second, eb.v[i].count);
    struct events want = aggregate(&both);
    assert_matches(a, &want);
    assert_matches(ab, &want);
    ck_assert_uint_eq(lt_rps_bytes(a), lt_rps_bytes(ab));

    /* Merging a table into itself doubles it. */
    ck_assert_int_eq(lt_rps_merge(a, a), 0);
    for (size_t i = 0; i < want.n; i++)
        want.v[i].count *= 2;
    assert_matches(a, &want);
    lt_rps_free(a);
    lt_rps_free(b);
    lt_rps_free(ab);

    /* A merged second becomes the peak, and a merged tie at an earlier
     * second takes it. */
    a = lt_rps_new();
    b = lt_rps_new();
    ck_assert(a != NULL && b != NULL);
    ck_assert_int_eq(lt_rps_add(a, 1000, 5), 0);
    ck_assert_int_eq(lt_rps_add(a, 2000, 6), 0);
    ck_assert_int_eq(lt_rps_add(b, 1000, 3), 0);
    ck_assert_int_eq(lt_rps_merge(a, b), 0);
    int64_t ps;
    uint64_t pc;
    ck_assert(lt_rps_peak(a, &ps, &pc));
    ck_assert_int_eq(ps, 1000);
    ck_assert_uint_eq(pc, 8);
    lt_rps_free(b);
    b = lt_rps_new();
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(lt_rps_add(a, 3000, 9), 0);
    ck_assert_int_eq(lt_rps_add(b, 2000, 3), 0);
    ck_assert_int_eq(lt_rps_merge(a, b), 0);
    ck_assert(lt_rps_peak(a, &ps, &pc));
    ck_assert_int_eq(ps, 2000);
    ck_assert_uint_eq(pc, 9);
    lt_rps_free(a);
    lt_rps_free(b);
    free(ea.v);
    free(eb.v);
    free(both.v);
    free(want.v);
}
END_TEST

START_TEST(counts_past_32_bits_widen)
{
    lt_rps *r = lt_rps_new(), *m = lt_rps_new();
    ck_assert(r != NULL && m != NULL);
    size_t narrow = 0;
    ck_assert_int_eq(lt_rps_add(r, 5000, UINT32_MAX), 0);
    ck_assert_int_eq(lt_rps_add(r, 5001, 1), 0);
    narrow = lt_rps_bytes(r);
    ck_assert_int_eq(lt_rps_add(r, 5000, 1), 0);
    /* 64-bit counters replace the block's list: 28,800 bytes, less the
     * list's. */
    ck_assert_uint_gt(lt_rps_bytes(r), narrow + 3600 * 7);
    ck_assert_uint_le(lt_rps_bytes(r), narrow + 3600 * 8);
    ck_assert_int_eq(lt_rps_add(r, 5000, UINT32_MAX), 0);
    uint64_t want = (uint64_t)UINT32_MAX * 2 + 1;
    ck_assert_uint_eq(lt_rps_total(r), want + 1);
    ck_assert_uint_eq(lt_rps_range_total(r, 5000, 5000), want);
    ck_assert_uint_eq(lt_rps_range_total(r, 3600, 7199), want + 1);
    int64_t ps;
    uint64_t pc;
    ck_assert(lt_rps_peak(r, &ps, &pc));
    ck_assert_int_eq(ps, 5000);
    ck_assert_uint_eq(pc, want);
    struct series s = {0};
    ck_assert_int_eq(lt_rps_series(r, 5000, 5001, LT_RPS_STEP_SECOND, series_one, &s), 0);
    ck_assert_uint_eq(s.count[0], want);
    ck_assert_uint_eq(s.count[1], 1);

    /* A merge whose sum passes 32 bits widens the destination block. */
    ck_assert_int_eq(lt_rps_add(m, 5001, UINT32_MAX), 0);
    ck_assert_int_eq(lt_rps_merge(m, r), 0);
    ck_assert_uint_eq(lt_rps_range_total(m, 5001, 5001), (uint64_t)UINT32_MAX + 1);
    ck_assert_uint_eq(lt_rps_range_total(m, 5000, 5000), want);
    ck_assert(lt_rps_peak(m, &ps, &pc));
    ck_assert_int_eq(ps, 5000);
    ck_assert_uint_eq(pc, want);
    ck_assert_uint_eq(lt_rps_total(m), lt_rps_total(r) + UINT32_MAX);
    lt_rps_free(r);
    lt_rps_free(m);
}
END_TEST

START_TEST(out_of_memory_leaves_table_unchanged)
{
#ifdef UNDER_ASAN
    /* AddressSanitizer reserves terabytes of shadow memory up front, so an
     * address-space limit cannot be used under it. */
    return;
#endif
    lt_rps *r = lt_rps_new();
    ck_assert_ptr_nonnull(r);
    /* No ck_assert while the limit holds: Check allocates to report. */
    struct rlimit old = lt_test_limit_memory(8 << 20);
    int rc = 0;
    int64_t hour;
    uint64_t total_before = 0, active_before = 0;
    size_t bytes_before = 0;
    for (hour = 0; hour < 10000000; hour++) {
        total_before = lt_rps_total(r);
        active_before = lt_rps_active_seconds(r);
        bytes_before = lt_rps_bytes(r);
        /* Every other hour, newest first, so the order array moves. */
        rc = lt_rps_add(r, -hour * 7200 + 17, 3);
        if (rc != 0)
            break;
    }
    int hit = lt_rps_add(r, 17, 1);
    setrlimit(RLIMIT_AS, &old);
    ck_assert_int_eq(rc, -ENOMEM);
    ck_assert_int_gt(hour, 10);
    ck_assert_int_eq(hit, 0);
    ck_assert_uint_eq(lt_rps_total(r), total_before + 1);
    ck_assert_uint_eq(lt_rps_active_seconds(r), active_before);
    ck_assert_uint_eq(lt_rps_bytes(r), bytes_before);
    ck_assert_uint_eq(lt_rps_range_total(r, INT64_MIN, INT64_MAX), 3 * (uint64_t)hour + 1);

    /* A merge refused for memory leaves the counts of dst as they were. */
    lt_rps *d = lt_rps_new();
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(lt_rps_add(d, 17, 2), 0);
    old = lt_test_limit_memory(1 << 20);
    rc = lt_rps_merge(d, r);
    setrlimit(RLIMIT_AS, &old);
    ck_assert_int_eq(rc, -ENOMEM);
    ck_assert_uint_eq(lt_rps_total(d), 2);
    ck_assert_uint_eq(lt_rps_active_seconds(d), 1);
    ck_assert_uint_eq(lt_rps_range_total(d, INT64_MIN, INT64_MAX), 2);
    struct events e = collect(d);
    ck_assert_uint_eq(e.n, 1);
    ck_assert_int_eq(e.v[0].second, 17);
    free(e.v);
    ck_assert_int_eq(lt_rps_merge(d, r), 0);
    ck_assert_uint_eq(lt_rps_total(d), lt_rps_total(r) + 2);
    lt_rps_free(d);
    lt_rps_free(r);
}
END_TEST

START_TEST(free_null)
{
    lt_rps_free(NULL);
}
END_TEST

static Suite *rps_suite(void)
{
    Suite *s = suite_create("rps");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, random_order_equals_ordered);
    tcase_add_test(tc, block_boundaries_and_negative_seconds);
    tcase_add_test(tc, year_with_gaps);
    tcase_add_test(tc, peak_and_ties);
    tcase_add_test(tc, sparse_hours_cost_bytes);
    tcase_add_test(tc, limit_coarsens_oldest_hours);
    tcase_add_test(tc, range_totals);
    tcase_add_test(tc, series_at_every_step);
    tcase_add_test(tc, merge_equals_both_streams);
    tcase_add_test(tc, counts_past_32_bits_widen);
    tcase_add_test(tc, out_of_memory_leaves_table_unchanged);
    tcase_add_test(tc, free_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return lt_test_run(rps_suite());
}
