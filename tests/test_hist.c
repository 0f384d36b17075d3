/* test_hist.c -- Check suite for lib/hist.c: buckets, quantiles within the
 * stated error, merge, serialisation and its corruption checks. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "lt_test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The value of rank ceil(q n) of sorted values, as lt_hist_quantile()
 * defines it. */
static uint64_t exact_quantile(const uint64_t *v, size_t n, double q)
{
    double r = ceil(q * (double)n);
    size_t rank = r < 1 ? 1 : (size_t)r;
    return v[rank - 1];
}

START_TEST(empty_and_small_values_are_exact)
{
    lt_hist *h = lt_hist_new();
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(lt_hist_count(h), 0);
    ck_assert_uint_eq(lt_hist_quantile(h, 0.5), 0);
    ck_assert_uint_eq(lt_hist_max(h), 0);
    for (uint64_t v = 0; v < 128; v++)
        ck_assert_int_eq(lt_hist_add(h, v, 1), 0);
    ck_assert_uint_eq(lt_hist_count(h), 128);
    ck_assert_uint_eq(lt_hist_sum(h), 127 * 128 / 2);
    ck_assert_uint_eq(lt_hist_min(h), 0);
    ck_assert_uint_eq(lt_hist_max(h), 127);
    /* Below 128 every bucket is one value wide. */
    ck_assert_uint_eq(lt_hist_quantile(h, 0.5), 63);
    ck_assert_uint_eq(lt_hist_quantile(h, 0.25), 31);
    ck_assert_uint_eq(lt_hist_quantile(h, 1.0), 127);
    ck_assert_uint_eq(lt_hist_quantile(h, 0.0), 0);
    lt_hist_free(h);
    lt_hist_free(NULL);
}
END_TEST

/* Quantiles of random log-normal-ish response times stay within the
 * stated relative error of the exact ones. */
START_TEST(quantiles_within_the_stated_error)
{
    enum { N = 50000 };
    static uint64_t v[N];
    uint64_t x = 88172645463325252u;
    lt_hist *h = lt_hist_new();
    for (size_t i = 0; i < N; i++) {
        /* 1 us .. about 1,000 s, log-uniform. */
        double e = (double)(next(&x) % 1000000) / 1000000.0 * 9.0;
        v[i] = (uint64_t)pow(10.0, e);
        ck_assert_int_eq(lt_hist_add(h, v[i], 1), 0);
    }
    qsort(v, N, sizeof(v[0]), cmp_u64);
    static const double qs[] = {0.001, 0.1, 0.5, 0.9, 0.99, 0.999};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        uint64_t want = exact_quantile(v, N, qs[k]), got = lt_hist_quantile(h, qs[k]);
        double err = fabs((double)got - (double)want) / (double)want;
        ck_assert_msg(err <= LT_HIST_REL_ERROR, "q %.3f: %llu for %llu (error %.5f)", qs[k],
                      (unsigned long long)got, (unsigned long long)want, err);
    }
    ck_assert_uint_eq(lt_hist_max(h), v[N - 1]);
    ck_assert_uint_eq(lt_hist_min(h), v[0]);
    /* Buckets only for the powers of two seen: well under the dense 35 x 512 B. */
    ck_assert_uint_lt(lt_hist_bytes(h), 35 * 512 + 200);
    lt_hist_free(h);
}
END_TEST

START_TEST(merge_equals_one_histogram)
{
    lt_hist *all = lt_hist_new(), *a = lt_hist_new(), *b = lt_hist_new();
    uint64_t x = 42;
    for (int i = 0; i < 20000; i++) {
        uint64_t v = next(&x) % 5000000;
        lt_hist_add(all, v, 1);
        lt_hist_add(i % 3 ? a : b, v, 1);
    }
    lt_hist_add(all, (uint64_t)1 << 50, 2);    /* past the last bucket: max stays exact */
    lt_hist_add(b, (uint64_t)1 << 50, 2);
    ck_assert_int_eq(lt_hist_merge(a, b), 0);
    lt_buf x1, x2;
    lt_buf_init(&x1);
    lt_buf_init(&x2);
    lt_hist_write(&x1, all);
    lt_hist_write(&x2, a);
    ck_assert_uint_eq(x1.len, x2.len);
    ck_assert_int_eq(memcmp(x1.data, x2.data, x1.len), 0);
    ck_assert_uint_eq(lt_hist_max(a), (uint64_t)1 << 50);
    ck_assert_uint_eq(lt_hist_quantile(a, 1.0), (uint64_t)1 << 50);
    lt_buf_free(&x1);
    lt_buf_free(&x2);
    lt_hist_free(all);
    lt_hist_free(a);
    lt_hist_free(b);
}
END_TEST

START_TEST(count_le_for_prometheus)
{
    lt_hist *h = lt_hist_new();
    lt_hist_add(h, 1000, 3);      /* 1 ms */
    lt_hist_add(h, 250000, 2);    /* 250 ms */
    lt_hist_add(h, 3000000, 1);   /* 3 s */
    ck_assert_uint_eq(lt_hist_count_le(h, 999), 0);
    ck_assert_uint_eq(lt_hist_count_le(h, 5000), 3);
    ck_assert_uint_eq(lt_hist_count_le(h, 250000), 5);
    ck_assert_uint_eq(lt_hist_count_le(h, 2500000), 5);
    ck_assert_uint_eq(lt_hist_count_le(h, 10000000), 6);
    ck_assert_uint_eq(lt_hist_sum(h), 3000 + 500000 + 3000000);
    lt_hist_free(h);
}
END_TEST

START_TEST(serialisation_round_trip_and_corruption)
{
    lt_hist *h = lt_hist_new();
    uint64_t x = 7;
    for (int i = 0; i < 3000; i++)
        lt_hist_add(h, next(&x) % 100000000, 1 + i % 3);
    lt_buf b;
    lt_buf_init(&b);
    lt_hist_write(&b, h);
    ck_assert(!lt_buf_failed(&b));
    lt_hist *r;
    size_t used;
    ck_assert_int_eq(lt_hist_read((const unsigned char *)b.data, b.len, &used, &r), 0);
    ck_assert_uint_eq(used, b.len);
    ck_assert_uint_eq(lt_hist_count(r), lt_hist_count(h));
    ck_assert_uint_eq(lt_hist_quantile(r, 0.9), lt_hist_quantile(h, 0.9));
    ck_assert_uint_eq(lt_hist_sum(r), lt_hist_sum(h));
    lt_hist_free(r);

    /* Every truncation is refused. */
    for (size_t n = 0; n < b.len; n++) {
        ck_assert_int_eq(lt_hist_read((const unsigned char *)b.data, n, &used, &r), -EINVAL);
        ck_assert_ptr_null(r);
    }
    /* Flipped bytes: refused, or read as some histogram; never a crash. */
    size_t refused = 0;
    for (size_t i = 0; i < b.len; i++) {
        char *c = malloc(b.len);
        memcpy(c, b.data, b.len);
        c[i] ^= 0x41;
        int rc = lt_hist_read((const unsigned char *)c, b.len, &used, &r);
        refused += rc < 0;
        lt_hist_free(r);
        free(c);
    }
    ck_assert_uint_gt(refused, b.len / 4);    /* a flipped count is still a histogram */
    /* Hand-made bad ones: an index past the last bucket, a zero count, a
     * maximum outside its bucket. */
    static const unsigned char past[] = {1, 0xc0, 0x11, 1, 0, 0, 0};       /* index 2240 */
    static const unsigned char zero[] = {1, 5, 0, 5, 5, 5};
    static const unsigned char maxbad[] = {1, 5, 1, 5, 9, 5};
    static const unsigned char ok[] = {1, 5, 1, 5, 5, 5};
    ck_assert_int_eq(lt_hist_read(past, sizeof(past), &used, &r), -EINVAL);
    ck_assert_int_eq(lt_hist_read(zero, sizeof(zero), &used, &r), -EINVAL);
    ck_assert_int_eq(lt_hist_read(maxbad, sizeof(maxbad), &used, &r), -EINVAL);
    ck_assert_int_eq(lt_hist_read(ok, sizeof(ok), &used, &r), 0);
    ck_assert_uint_eq(lt_hist_max(r), 5);
    lt_hist_free(r);
    lt_buf_free(&b);
    lt_hist_free(h);
}
END_TEST

START_TEST(out_of_memory_counts_nothing)
{
#ifdef UNDER_ASAN
    return;    /* ASan reserves address space: an RLIMIT_AS cannot be set under it */
#endif
    enum { MAX_HISTS = 1 << 16 };
    lt_hist **hs = calloc(MAX_HISTS, sizeof(*hs));
    size_t n = 0;
    int rc = 0;
    uint64_t before = 0, after = 0;
    /* No ck_assert while the limit holds: Check allocates to report.  Each
     * histogram takes a group per power of two until memory runs out. */
    struct rlimit old = lt_test_limit_memory(1 << 20);
    while (rc == 0 && n < MAX_HISTS && (hs[n] = lt_hist_new()) != NULL) {
        lt_hist *h = hs[n++];
        for (uint64_t v = 64; v < LT_HIST_MAX_VALUE && rc == 0; v <<= 1) {
            before = lt_hist_count(h);
            rc = lt_hist_add(h, v, 1);
            after = lt_hist_count(h);
        }
    }
    setrlimit(RLIMIT_AS, &old);
    ck_assert_msg(rc == -ENOMEM || n < MAX_HISTS, "memory never ran out");
    if (rc != 0) {
        ck_assert_int_eq(rc, -ENOMEM);
        ck_assert_uint_eq(after, before);    /* the failed add counted nothing */
    }
    for (size_t i = 0; i < n; i++)
        lt_hist_free(hs[i]);
    free(hs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, empty_and_small_values_are_exact);
    tcase_add_test(tc, quantiles_within_the_stated_error);
    tcase_add_test(tc, merge_equals_one_histogram);
    tcase_add_test(tc, count_le_for_prometheus);
    tcase_add_test(tc, serialisation_round_trip_and_corruption);
    tcase_add_test(tc, out_of_memory_counts_nothing);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
