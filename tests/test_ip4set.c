/* test_ip4set.c -- Check suite for lib/ip4set.c. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
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

/* Shared mode: four threads add overlapping streams (every address is
 * added by two of them, at about the same time) through a dozen growths.
 * Each address must be reported new exactly once across the threads, and
 * the set must hold exactly the union. */
#define SHARED_N 300000u
struct adder {
    lt_ip4set *s;
    unsigned i;
    uint64_t news;
    int errors;
};

static uint32_t shared_addr(uint32_t k)
{
    return (k + 1) * 2654435761u;    /* distinct and non-zero for k < 2^32 - 1 */
}

static void *add_shared(void *arg)
{
    struct adder *a = arg;
    lt_ip4set_reader *r = lt_ip4set_reader_at(a->s, a->i);
    /* Thread i adds the keys of quarters i and i + 1 (mod 4), in batches. */
    for (uint32_t n = 0; n < SHARED_N / 2; n += 16) {
        lt_ip4set_enter(r);
        for (uint32_t m = n; m < n + 16 && m < SHARED_N / 2; m++) {
            uint32_t k = (a->i * (SHARED_N / 4) + m) % SHARED_N;
            int rc = lt_ip4set_add_shared(r, shared_addr(k));
            if (rc < 0)
                a->errors++;
            else
                a->news += (uint64_t)rc;
        }
        lt_ip4set_leave(r);
    }
    if (a->i == 0) {
        lt_ip4set_enter(r);
        a->news += (uint64_t)lt_ip4set_add_shared(r, 0);
        a->news += (uint64_t)lt_ip4set_add_shared(r, 0);
        lt_ip4set_leave(r);
    }
    return NULL;
}

START_TEST(shared_adds_once)
{
    lt_ip4set *s = lt_ip4set_new();
    ck_assert_int_eq(lt_ip4set_share(s, 4), 0);
    ck_assert_int_eq(lt_ip4set_share(s, 4), -EINVAL);
    ck_assert_ptr_null(lt_ip4set_reader_at(s, 4));
    pthread_t tid[4];
    struct adder a[4];
    for (unsigned i = 0; i < 4; i++) {
        a[i] = (struct adder){s, i, 0, 0};
        pthread_create(&tid[i], NULL, add_shared, &a[i]);
    }
    uint64_t news = 0;
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        ck_assert_int_eq(a[i].errors, 0);
        news += a[i].news;
    }
    ck_assert_int_eq(lt_ip4set_unshare(s), 0);
    ck_assert_uint_eq(news, SHARED_N + 1);
    ck_assert_uint_eq(lt_ip4set_size(s), SHARED_N + 1);
    for (uint32_t k = 0; k < SHARED_N; k++)
        ck_assert(lt_ip4set_contains(s, shared_addr(k)));
    ck_assert(lt_ip4set_contains(s, 0));
    /* A plain set again: adds work as before. */
    ck_assert_int_eq(lt_ip4set_add(s, shared_addr(SHARED_N)), 1);
    ck_assert_uint_eq(lt_ip4set_size(s), SHARED_N + 2);
    /* The table is the size a plain set of the same addresses grows to. */
    lt_ip4set *plain = lt_ip4set_new();
    for (uint32_t k = 0; k <= SHARED_N; k++)
        lt_ip4set_add(plain, shared_addr(k));
    lt_ip4set_add(plain, 0);
    ck_assert_uint_eq(lt_ip4set_bytes(s), lt_ip4set_bytes(plain));
    lt_ip4set_free(plain);
    lt_ip4set_free(s);
}
END_TEST

/* A shared set under a limit fills to the same size as a plain one before
 * refusing, and then refuses every reader for good. */
START_TEST(shared_limit_as_plain)
{
    lt_ip4set *plain = lt_ip4set_new(), *s = lt_ip4set_new();
    lt_ip4set_set_limit(plain, 64 * 1024);
    lt_ip4set_set_limit(s, 64 * 1024);
    uint32_t k = 0;
    while (lt_ip4set_add(plain, shared_addr(k)) == 1)
        k++;
    ck_assert_int_eq(lt_ip4set_share(s, 2), 0);
    lt_ip4set_reader *r0 = lt_ip4set_reader_at(s, 0), *r1 = lt_ip4set_reader_at(s, 1);
    uint32_t j = 0;
    int rc;
    lt_ip4set_enter(r0);
    while ((rc = lt_ip4set_add_shared(r0, shared_addr(j))) == 1)
        j++;
    lt_ip4set_leave(r0);
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_eq(j, k);
    lt_ip4set_enter(r1);
    ck_assert_int_eq(lt_ip4set_add_shared(r1, shared_addr(j + 1000)), -ENOSPC);
    ck_assert_int_eq(lt_ip4set_add_shared(r1, shared_addr(0)), 0);    /* present still answers */
    lt_ip4set_leave(r1);
    ck_assert_int_eq(lt_ip4set_unshare(s), -ENOSPC);
    ck_assert_uint_eq(lt_ip4set_size(s), lt_ip4set_size(plain));
    lt_ip4set_free(plain);
    lt_ip4set_free(s);
}
END_TEST

/* Stamps: fresh unless the address carries this very stamp; stamps only
 * rise; they survive growth; unstamped adds and merges stamp 0. */
START_TEST(stamps_say_fresh)
{
    lt_ip4set *s = lt_ip4set_new_stamped();
    int fresh = -1;
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 5, &fresh), 1);
    ck_assert_int_eq(fresh, 1);
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 5, &fresh), 0);
    ck_assert_int_eq(fresh, 0);
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 1);
    /* A late, older stamp is fresh but does not lower the stamp. */
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 5, &fresh), 0);
    ck_assert_int_eq(fresh, 1);
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 0);
    /* 0.0.0.0 is never reported stamped. */
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 0, 6, &fresh), 1);
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 0, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 1);
    /* Through growth, every address keeps its stamp. */
    for (uint32_t a = 1000; a < 201000; a++)
        ck_assert_int_eq(lt_ip4set_add_stamped(s, a, a % 7 + 1, NULL), 1);
    for (uint32_t a = 1000; a < 201000; a++) {
        ck_assert_int_eq(lt_ip4set_add_stamped(s, a, a % 7 + 1, &fresh), 0);
        ck_assert_int_eq(fresh, 0);
    }
    ck_assert_int_eq(lt_ip4set_add_stamped(s, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 0);
    ck_assert_uint_eq(lt_ip4set_size(s), 200002);
    /* Twice the bytes of a plain set of the same addresses. */
    lt_ip4set *plain = lt_ip4set_new();
    ck_assert_int_eq(lt_ip4set_merge(plain, s), 0);
    ck_assert_uint_eq(lt_ip4set_size(plain), 200002);
    ck_assert_uint_gt(lt_ip4set_bytes(s), lt_ip4set_bytes(plain) * 19 / 10);
    /* A plain set says fresh always; merged-in addresses carry stamp 0. */
    ck_assert_int_eq(lt_ip4set_add_stamped(plain, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 1);
    lt_ip4set *m = lt_ip4set_new_stamped();
    ck_assert_int_eq(lt_ip4set_merge(m, s), 0);
    ck_assert_int_eq(lt_ip4set_add_stamped(m, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 1);
    ck_assert_int_eq(lt_ip4set_add_stamped(m, 7, 6, &fresh), 0);
    ck_assert_int_eq(fresh, 0);
    ck_assert_int_eq(lt_ip4set_add(m, 8), 1);
    ck_assert_int_eq(lt_ip4set_add_stamped(m, 8, 0, &fresh), 0);
    ck_assert_int_eq(fresh, 0);
    lt_ip4set_free(m);
    lt_ip4set_free(plain);
    lt_ip4set_free(s);
}
END_TEST

/* Under a limit, a stamped set drops its stamps rather than refuse a
 * growth, and holds as many addresses as a plain set before refusing; from
 * then on every address is fresh, and nothing is lost. */
START_TEST(stamps_yield_to_the_limit)
{
    lt_ip4set *plain = lt_ip4set_new(), *s = lt_ip4set_new_stamped();
    lt_ip4set_set_limit(plain, 256 * 1024);
    lt_ip4set_set_limit(s, 256 * 1024);
    uint32_t k = 0, j = 0;
    while (lt_ip4set_add(plain, shared_addr(k)) == 1)
        k++;
    int fresh, rc, dropped_at = -1;
    while ((rc = lt_ip4set_add_stamped(s, shared_addr(j), 9, &fresh)) == 1) {
        /* The first address keeps stamp 9 until the stamps go. */
        if (dropped_at < 0 && lt_ip4set_add_stamped(s, shared_addr(0), 9, &fresh) == 0 && fresh)
            dropped_at = (int)j;
        j++;
    }
    ck_assert_int_eq(rc, -ENOSPC);
    ck_assert_uint_eq(j, k);
    ck_assert_uint_eq(lt_ip4set_bytes(s), lt_ip4set_bytes(plain));
    ck_assert_int_gt(dropped_at, (int)k / 4);   /* late: the stamps were kept while they fit */
    for (uint32_t m = 0; m < j; m++) {
        ck_assert_int_eq(lt_ip4set_add_stamped(s, shared_addr(m), 9, &fresh), 0);
        ck_assert_int_eq(fresh, 1);
    }
    lt_ip4set_free(plain);
    lt_ip4set_free(s);
}
END_TEST

/* Shared and stamped: two readers each stamp every address with their own
 * stamp (1 and 2) many times over; each reader is told fresh at least once
 * per address (the append it must make), the reader of the lower stamp
 * every time after the higher one landed, and the stamps end at 2. */
struct stamper {
    lt_ip4set *s;
    unsigned i;
    uint64_t fresh, errors;
};

static void *stamp_shared(void *arg)
{
    struct stamper *a = arg;
    lt_ip4set_reader *r = lt_ip4set_reader_at(a->s, a->i);
    for (int round = 0; round < 4; round++)
        for (uint32_t n = 0; n < SHARED_N; n += 16) {
            lt_ip4set_enter(r);
            for (uint32_t m = n; m < n + 16 && m < SHARED_N; m++) {
                int fresh;
                if (lt_ip4set_add_shared_stamped(r, shared_addr(m), a->i + 1, &fresh) < 0)
                    a->errors++;
                a->fresh += (uint64_t)fresh;
            }
            lt_ip4set_leave(r);
        }
    return NULL;
}

START_TEST(shared_stamps)
{
    lt_ip4set *s = lt_ip4set_new_stamped();
    ck_assert_int_eq(lt_ip4set_share(s, 2), 0);
    pthread_t tid[2];
    struct stamper a[2];
    for (unsigned i = 0; i < 2; i++) {
        a[i] = (struct stamper){s, i, 0, 0};
        pthread_create(&tid[i], NULL, stamp_shared, &a[i]);
    }
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(tid[i], NULL);
        ck_assert_uint_eq(a[i].errors, 0);
        ck_assert_uint_ge(a[i].fresh, SHARED_N);
    }
    ck_assert_int_eq(lt_ip4set_unshare(s), 0);
    ck_assert_uint_eq(lt_ip4set_size(s), SHARED_N);
    for (uint32_t m = 0; m < SHARED_N; m++) {
        int fresh;
        ck_assert_int_eq(lt_ip4set_add_stamped(s, shared_addr(m), 2, &fresh), 0);
        ck_assert_int_eq(fresh, 0);
    }
    lt_ip4set_free(s);
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
    tcase_add_test(tc, shared_adds_once);
    tcase_add_test(tc, shared_limit_as_plain);
    tcase_add_test(tc, stamps_say_fresh);
    tcase_add_test(tc, shared_stamps);
    tcase_add_test(tc, stamps_yield_to_the_limit);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
