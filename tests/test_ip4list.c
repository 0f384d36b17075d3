/* test_ip4list.c -- Check suite for lib/ip4list.c. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ip4list.h"
#include "ip4set.h"
#include "lt_test.h"

static uint64_t rng = 0x2545f4914f6cdd1du;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct walk {
    uint32_t prev;
    uint64_t n;
    int ascending;
    lt_ip4set *seen;
};

static int visit(uint32_t a, void *arg)
{
    struct walk *w = arg;
    if (w->n > 0 && a <= w->prev)
        w->ascending = 0;
    w->prev = a;
    w->n++;
    if (w->seen != NULL && lt_ip4set_add(w->seen, a) < 0)
        return -1;
    return 0;
}

/* The list against an ip4set fed the same appends: same members, and once
 * compact, each member once in ascending order. */
static void check_against(lt_ip4list *l, lt_ip4set *ref)
{
    struct walk w = {0, 0, 1, lt_ip4set_new()};
    ck_assert_int_eq(lt_ip4list_foreach(l, visit, &w), 0);
    ck_assert_uint_eq(lt_ip4set_size(w.seen), lt_ip4set_size(ref));
    lt_ip4set *both = lt_ip4set_new();
    lt_ip4set_merge(both, ref);
    lt_ip4set_merge(both, w.seen);
    ck_assert_uint_eq(lt_ip4set_size(both), lt_ip4set_size(ref));
    lt_ip4set_free(both);
    lt_ip4set_free(w.seen);

    ck_assert_int_ge(lt_ip4list_compact(l), 0);
    ck_assert(lt_ip4list_is_compact(l));
    ck_assert_uint_eq(lt_ip4list_size(l), lt_ip4set_size(ref));
    struct walk c = {0, 0, 1, NULL};
    lt_ip4list_foreach(l, visit, &c);
    ck_assert(c.ascending);
    ck_assert_uint_eq(c.n, lt_ip4set_size(ref));
}

START_TEST(appends_with_repeats)
{
    /* Populations from all-distinct to each address appended ~50 times,
     * with 0 and 0xffffffff among them. */
    static const uint32_t spreads[] = {0, 1000, 40000, 2000000};
    for (size_t s = 0; s < sizeof(spreads) / sizeof(*spreads); s++) {
        lt_ip4list *l = lt_ip4list_new();
        lt_ip4set *ref = lt_ip4set_new();
        for (int i = 0; i < 100000; i++) {
            uint32_t a = spreads[s] ? (uint32_t)(next() % spreads[s]) * 2654435761u
                                    : (uint32_t)next();
            if (i == 500)
                a = 0;
            if (i == 501)
                a = 0xffffffffu;
            ck_assert_int_ge(lt_ip4list_add(l, a), 0);
            lt_ip4set_add(ref, a);
        }
        /* Memory follows the distinct addresses, not the appends. */
        ck_assert_int_ge(lt_ip4list_compact(l), 0);
        ck_assert_uint_le(lt_ip4list_bytes(l), 64 + 16 * lt_ip4set_size(ref) + 64);
        for (int i = 0; i < 1000; i++) {
            uint32_t a = (uint32_t)next();
            lt_ip4list_add(l, a);
            lt_ip4set_add(ref, a);
        }
        check_against(l, ref);
        lt_ip4list_free(l);
        lt_ip4set_free(ref);
    }
    lt_ip4list_free(NULL);
}
END_TEST

/* Clients of one network: the digits of the sort that every address
 * shares are skipped, the others sorted, at tail sizes on both sides of
 * RADIX_LARGE (2048) and well past it. */
START_TEST(one_network)
{
    static const struct { uint32_t base; unsigned bits; } nets[] = {
        {0x0a000000u, 24}, {0xc0a80000u, 16}, {0xc0a81000u, 11}, {0x64400000u, 22},
        {0xfffff800u, 11}, {0x00000000u, 8},
    };
    static const unsigned sizes[] = {1000, 3000, 70000};
    for (size_t i = 0; i < sizeof(nets) / sizeof(*nets); i++)
        for (size_t j = 0; j < sizeof(sizes) / sizeof(*sizes); j++) {
            lt_ip4list *l = lt_ip4list_new();
            lt_ip4set *ref = lt_ip4set_new();
            uint32_t mask = (uint32_t)((1ull << nets[i].bits) - 1);
            for (unsigned k = 0; k < sizes[j]; k++) {
                uint32_t a = nets[i].base | ((uint32_t)next() & mask);
                ck_assert_int_ge(lt_ip4list_add(l, a), 0);
                lt_ip4set_add(ref, a);
            }
            check_against(l, ref);
            lt_ip4list_free(l);
            lt_ip4set_free(ref);
        }
}
END_TEST

/* Every split of a small run into prefix and tail, with overlaps: the
 * in-place merge from the back keeps what it has not read yet. */
START_TEST(merge_every_split)
{
    for (unsigned p = 0; p < 70; p++)
        for (unsigned t = 1; t < 70; t += 3) {
            lt_ip4list *l = lt_ip4list_new();
            lt_ip4set *ref = lt_ip4set_new();
            for (unsigned i = 0; i < p; i++) {
                lt_ip4list_add(l, 10 * i + 5);
                lt_ip4set_add(ref, 10 * i + 5);
            }
            ck_assert(lt_ip4list_is_compact(l));
            for (unsigned i = 0; i < t; i++) {
                uint32_t a = (uint32_t)(next() % (10 * (p + 2)));
                lt_ip4list_add(l, a);
                lt_ip4set_add(ref, a);
            }
            check_against(l, ref);
            lt_ip4list_free(l);
            lt_ip4set_free(ref);
        }
}
END_TEST

START_TEST(ascending_stays_compact)
{
    lt_ip4list *l = lt_ip4list_new();
    for (uint32_t a = 1; a < 100000; a += 3)
        ck_assert_int_ge(lt_ip4list_add(l, a), 0);
    ck_assert(lt_ip4list_is_compact(l));
    ck_assert_uint_eq(lt_ip4list_size(l), 33333);
    lt_ip4list_add(l, 1);
    ck_assert(!lt_ip4list_is_compact(l));
    ck_assert_uint_eq(lt_ip4list_size(l), 33334);   /* an upper bound until compact */
    ck_assert_int_ge(lt_ip4list_compact(l), 0);
    ck_assert_uint_eq(lt_ip4list_size(l), 33333);
    lt_ip4list_free(l);
}
END_TEST

/* A trimmed list costs 4 bytes an address, and still takes appends. */
START_TEST(trim_to_the_entries)
{
    lt_ip4list *l = lt_ip4list_new();
    for (int i = 0; i < 30000; i++)
        lt_ip4list_add(l, (uint32_t)(next() % 20000));
    size_t before = lt_ip4list_bytes(l);
    ck_assert_int_eq(lt_ip4list_trim(l), 1);
    uint64_t n = lt_ip4list_size(l);
    ck_assert_uint_lt(lt_ip4list_bytes(l), before);
    lt_ip4list *empty = lt_ip4list_new();
    ck_assert_uint_eq(lt_ip4list_bytes(l) - lt_ip4list_bytes(empty), 4 * n);
    ck_assert_int_eq(lt_ip4list_trim(l), 0);   /* nothing more to give back */
    lt_ip4list_add(l, 0xfffffff0u);
    ck_assert_int_ge(lt_ip4list_compact(l), 0);
    ck_assert_uint_eq(lt_ip4list_size(l), n + 1);
    lt_ip4list_free(l);
    lt_ip4list_free(empty);
}
END_TEST

START_TEST(merge_is_union)
{
    lt_ip4list *a = lt_ip4list_new(), *b = lt_ip4list_new();
    lt_ip4set *ref = lt_ip4set_new();
    for (int i = 0; i < 50000; i++) {
        uint32_t x = (uint32_t)(next() % 60000), y = (uint32_t)(next() % 60000) + 30000;
        lt_ip4list_add(a, x);
        lt_ip4list_add(b, y);
        lt_ip4set_add(ref, x);
        lt_ip4set_add(ref, y);
    }
    ck_assert_int_ge(lt_ip4list_merge(a, b), 0);
    check_against(a, ref);
    lt_ip4list_free(a);
    lt_ip4list_free(b);
    lt_ip4set_free(ref);
}
END_TEST

/* The union of many lists, compact or not, empty or not, overlapping or
 * not, equals an ip4set of every address: for every count of lists up to
 * 40 (so the merge stack folds every way), into an empty and a full dst. */
START_TEST(union_of_many)
{
    enum { MAX_LISTS = 40 };
    for (size_t n = 0; n <= MAX_LISTS; n++) {
        for (int full = 0; full < 2; full++) {
            lt_ip4list *dst = lt_ip4list_new(), *src[MAX_LISTS];
            lt_ip4set *ref = lt_ip4set_new();
            for (int i = 0; full && i < 3000; i++) {
                uint32_t a = (uint32_t)(next() % 50000);
                lt_ip4list_add(dst, a);
                lt_ip4set_add(ref, a);
            }
            for (size_t i = 0; i < n; i++) {
                src[i] = lt_ip4list_new();
                /* Sizes from 0 to about 8000, some lists far larger than
                 * their neighbours; ranges that overlap dst's and not. */
                size_t m = i % 7 == 3 ? 0 : (size_t)(next() % (i % 5 == 0 ? 8000 : 300));
                uint32_t base = (uint32_t)(i % 3) * 40000u;
                for (size_t e = 0; e < m; e++) {
                    uint32_t a = base + (uint32_t)(next() % 60000);
                    lt_ip4list_add(src[i], a);
                    lt_ip4set_add(ref, a);
                }
                if (i % 2 == 0)
                    ck_assert_int_ge(lt_ip4list_compact(src[i]), 0);
            }
            uint64_t sizes[MAX_LISTS];
            for (size_t i = 0; i < n; i++)
                sizes[i] = lt_ip4list_size(src[i]);
            ck_assert_int_ge(lt_ip4list_union(dst, (const lt_ip4list *const *)src, n), 0);
            ck_assert(lt_ip4list_is_compact(dst));
            check_against(dst, ref);
            for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(lt_ip4list_size(src[i]), sizes[i]);    /* unchanged */
                lt_ip4list_free(src[i]);
            }
            /* The result is an ordinary list: it takes appends. */
            ck_assert_int_ge(lt_ip4list_add(dst, 4000000000u), 0);
            lt_ip4set_add(ref, 4000000000u);
            check_against(dst, ref);
            lt_ip4list_free(dst);
            lt_ip4set_free(ref);
        }
    }
}
END_TEST

/* Into an empty list: nothing, empty lists, and one compact list, which
 * the result must copy, not share (the source is freed first here). */
START_TEST(union_into_empty)
{
    lt_ip4list *dst = lt_ip4list_new(), *e = lt_ip4list_new(), *one = lt_ip4list_new();
    ck_assert_int_eq(lt_ip4list_union(dst, NULL, 0), 0);
    const lt_ip4list *empties[2] = {e, e};
    ck_assert_int_eq(lt_ip4list_union(dst, empties, 2), 0);
    ck_assert_uint_eq(lt_ip4list_size(dst), 0);
    for (uint32_t a = 10; a < 5000; a += 7)
        lt_ip4list_add(one, a);
    ck_assert(lt_ip4list_is_compact(one));
    const lt_ip4list *both[2] = {e, one};
    ck_assert_int_eq(lt_ip4list_union(dst, both, 2), 1);
    lt_ip4list_free(one);
    ck_assert_uint_eq(lt_ip4list_size(dst), (5000 - 10 + 6) / 7);
    struct walk c = {0, 0, 1, NULL};
    lt_ip4list_foreach(dst, visit, &c);
    ck_assert(c.ascending);
    ck_assert_uint_eq(c.prev, 10 + 7 * ((5000 - 10 - 1) / 7));
    lt_ip4list_free(dst);
    lt_ip4list_free(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ip4list");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, appends_with_repeats);
    tcase_add_test(tc, merge_every_split);
    tcase_add_test(tc, one_network);
    tcase_add_test(tc, ascending_stays_compact);
    tcase_add_test(tc, merge_is_union);
    tcase_add_test(tc, trim_to_the_entries);
    tcase_add_test(tc, union_of_many);
    tcase_add_test(tc, union_into_empty);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
