/* test_ip4set.c -- Check suite for lib/ip4set.c. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ip4set.h"
#include "lt_test.h"

static uint64_t rng = 88172645463325252u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

START_TEST(add_contains_size)
{
    lt_ip4set *s = lt_ip4set_new();
    ck_assert_int_eq(lt_ip4set_add(s, 0), 1);   /* 0.0.0.0 is kept aside */
    ck_assert_int_eq(lt_ip4set_add(s, 0), 0);
    ck_assert_int_eq(lt_ip4set_add(s, 0xffffffffu), 1);
    ck_assert_int_eq(lt_ip4set_add(s, 0xffffffffu), 0);
    ck_assert_uint_eq(lt_ip4set_size(s), 2);
    ck_assert(lt_ip4set_contains(s, 0));
    ck_assert(!lt_ip4set_contains(s, 1));
    /* A prefetch hint changes nothing. */
    lt_ip4set_prefetch(s, 1);
    lt_ip4set_prefetch(s, 0);
    ck_assert_uint_eq(lt_ip4set_size(s), 2);
    ck_assert(!lt_ip4set_contains(s, 1));
    lt_ip4set_free(s);
    lt_ip4set_free(NULL);
}
END_TEST

/* Against a reference: a sorted array of what was added. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int collect(uint32_t addr, void *arg)
{
    uint32_t **p = arg;
    *(*p)++ = addr;
    return 0;
}

START_TEST(many_through_growth)
{
    enum { N = 2000000 };
    uint32_t *added = malloc(N * sizeof(uint32_t));
    lt_ip4set *s = lt_ip4set_new();
    uint64_t fresh = 0;
    for (size_t i = 0; i < N; i++) {
        /* Half repeats of earlier values, clustered and random addresses. */
        uint32_t a = (i > 0 && next() % 2) ? added[next() % i]
                   : (i % 3 == 0) ? (uint32_t)(0x0a000000u + next() % 100000) : (uint32_t)next();
        added[i] = a;
        int rc = lt_ip4set_add(s, a);
        /* Check's asserts cost a write() each in fork mode: test in C and
         * report only a failure. */
        if (rc < 0)
            ck_abort_msg("add failed: %d", rc);
        fresh += (uint64_t)rc;
    }
    qsort(added, N, sizeof(uint32_t), cmp_u32);
    size_t distinct = 0;
    for (size_t i = 0; i < N; i++)
        if (i == 0 || added[i] != added[i - 1])
            added[distinct++] = added[i];
    ck_assert_uint_eq(lt_ip4set_size(s), distinct);
    ck_assert_uint_eq(fresh, distinct);
    for (size_t i = 0; i < distinct; i++)
        if (!lt_ip4set_contains(s, added[i]))
            ck_abort_msg("%08x missing", added[i]);
    /* foreach yields each exactly once. */
    uint32_t *walked = malloc(distinct * sizeof(uint32_t)), *p = walked;
    ck_assert_int_eq(lt_ip4set_foreach(s, collect, &p), 0);
    ck_assert_uint_eq((size_t)(p - walked), distinct);
    qsort(walked, distinct, sizeof(uint32_t), cmp_u32);
    for (size_t i = 0; i < distinct; i++)
        if (walked[i] != added[i])
            ck_abort_msg("walk %zu: %08x != %08x", i, walked[i], added[i]);
    /* 8 to 16 bytes per address at load 1/4 .. 1/2. */
    ck_assert_uint_le(lt_ip4set_bytes(s), distinct * 16 + 4096);
    ck_assert_uint_ge(lt_ip4set_bytes(s), distinct * 8);
    free(walked);
    free(added);
    lt_ip4set_free(s);
}
END_TEST

START_TEST(limit_refuses_growth)
{
    lt_ip4set *s = lt_ip4set_new();
    lt_ip4set_set_limit(s, 64 * 1024);
    int rc = 0;
    uint32_t a = 1;
    while ((rc = lt_ip4set_add(s, a)) == 1)
        a++;
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_le(lt_ip4set_bytes(s), 64 * 1024);
    /* The refused address is not in the set; the rest are intact. */
    ck_assert(!lt_ip4set_contains(s, a));
    ck_assert_uint_eq(lt_ip4set_size(s), a - 1);
    for (uint32_t i = 1; i < a; i++)
        if (!lt_ip4set_contains(s, i))
            ck_abort_msg("%u missing", i);
    lt_ip4set_free(s);
}
END_TEST

START_TEST(merge_is_union)
{
    lt_ip4set *a = lt_ip4set_new(), *b = lt_ip4set_new();
    for (uint32_t i = 0; i < 100000; i++) {
        lt_ip4set_add(a, i * 7);
        lt_ip4set_add(b, i * 11);
    }
    ck_assert_int_eq(lt_ip4set_merge(a, b), 0);
    /* |A u B| = |A| + |B| - |A n B|; multiples of 77 below 700000 are shared. */
    ck_assert_uint_eq(lt_ip4set_size(a), 100000 + 100000 - (699999 / 77 + 1));
    lt_ip4set_free(a);
    lt_ip4set_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ip4set");
    TCase *tc = tcase_create("ip4set");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, add_contains_size);
    tcase_add_test(tc, many_through_growth);
    tcase_add_test(tc, limit_refuses_growth);
    tcase_add_test(tc, merge_is_union);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
