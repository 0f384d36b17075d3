/* test_clients.c -- Check suite for lib/clients.c: exact counts by kind,
 * the switch to the HyperLogLog at the budget without a jump, the budget
 * kept at every step, and merges. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "parse.h"
#include "lt_test.h"

/* Counts the client written s with the bucket stamp given; returns what
 * lt_clients_add() tells the buckets. */
static int add_stamped(lt_clients *c, const char *s, uint32_t stamp)
{
    lt_record r;
    memset(&r, 0, sizeof(r));
    lt_parse_client(s, strlen(s), &r);
    return lt_clients_add(c, &r, stamp);
}

static void add_text(lt_clients *c, const char *s)
{
    add_stamped(c, s, 0);
}

static void add_v4(lt_clients *c, uint32_t a)
{
    lt_record r;
    memset(&r, 0, sizeof(r));
    r.client = LT_CLIENT_IPV4;
    r.ipv4 = a;
    lt_clients_add(c, &r, 0);
}

START_TEST(exact_by_kind)
{
    lt_clients *c = lt_clients_new(1 << 20, 0);
    static const char *seen[] = {
        "192.0.2.1", "192.0.2.1", "::ffff:192.0.2.1", "198.51.100.7",   /* 2 IPv4 */
        "2001:db8::1", "[2001:DB8:0::1]", "2001:db8::1%eth0", "::1",    /* 2 IPv6 */
        "crawler.example.com", "crawler.example.com", "CRAWLER.example.com", "-", /* 3 other */
    };
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++)
        add_text(c, seen[i]);
    lt_client_counts n;
    lt_clients_counts(c, &n);
    ck_assert_uint_eq(n.ipv4, 2);
    ck_assert_uint_eq(n.ipv6, 2);
    ck_assert_uint_eq(n.other, 3);
    ck_assert_uint_eq(n.total, 7);
    ck_assert(n.exact);
    ck_assert(n.std_error == 0.0);
    /* At 7 elements the HyperLogLog is exact too. */
    ck_assert_uint_eq(n.hll_estimate, 7);
    lt_clients_free(c);
    lt_clients_free(NULL);
}
END_TEST

START_TEST(switch_without_jump)
{
    const size_t budget = 256 * 1024;
    lt_clients *c = lt_clients_new(budget, 0);
    lt_client_counts n;
    uint64_t last_exact = 0, first_estimate = 0;
    uint32_t switched_at = 0;
    for (uint32_t i = 1; i <= 400000; i++) {
        add_v4(c, i * 2654435761u);
        if (i % 97 == 0)
            add_text(c, (i % 2) ? "2001:db8::7" : "host.example");
        lt_client_memory m;
        lt_clients_memory(c, &m);
        ck_assert_uint_le(m.ipv4_set + m.ipv6_set + m.host_set, budget);
        if (switched_at == 0 && i % 64 == 0) {
            lt_clients_counts(c, &n);
            if (n.exact) {
                last_exact = n.total;
            } else {
                switched_at = i;
                first_estimate = n.total;
            }
        }
    }
    ck_assert_msg(switched_at > 0, "the budget never ran out");
    /* No restart from zero: the first estimate is within 3 standard errors
     * of the last exact count (64 additions apart). */
    double rel = fabs((double)first_estimate - (double)last_exact) / (double)last_exact;
    ck_assert_msg(rel < 3 * LT_HLL_STD_ERROR, "jump of %.2f%% at %u (%llu -> %llu)", rel * 100,
                  switched_at, (unsigned long long)last_exact, (unsigned long long)first_estimate);
    lt_clients_counts(c, &n);
    ck_assert(!n.exact);
    ck_assert(n.std_error > 0.008 && n.std_error < 0.0082);
    ck_assert_uint_eq(n.total, n.hll_estimate);
    double err = fabs((double)n.ipv4 - 400000.0) / 400000.0;
    ck_assert_msg(err < 3 * LT_HLL_STD_ERROR, "IPv4 estimate %llu", (unsigned long long)n.ipv4);
    lt_clients_free(c);
}
END_TEST

START_TEST(zero_budget_is_hll_only)
{
    lt_clients *c = lt_clients_new(0, 0);
    lt_record r = {.client = LT_CLIENT_IPV4, .ipv4 = 7};
    lt_clients_prefetch(c, &r);    /* no exact set to look into: a no-op */
    for (uint32_t i = 0; i < 1000; i++)
        add_v4(c, i);
    lt_client_counts n;
    lt_clients_counts(c, &n);
    ck_assert(!n.exact);
    ck_assert_uint_eq(n.total, n.hll_estimate);
    ck_assert(llabs((long long)n.total - 1000) < 30);
    lt_clients_free(c);
}
END_TEST

START_TEST(merge_union)
{
    lt_clients *a = lt_clients_new(1 << 24, 0), *b = lt_clients_new(1 << 24, 0);
    for (uint32_t i = 0; i < 50000; i++) {
        add_v4(a, i);
        add_v4(b, i + 25000);
    }
    add_text(a, "2001:db8::1");
    add_text(b, "2001:db8:0::1");
    add_text(b, "h.example");
    lt_clients_merge(a, b);
    lt_client_counts n;
    lt_clients_counts(a, &n);
    ck_assert(n.exact);
    ck_assert_uint_eq(n.ipv4, 75000);
    ck_assert_uint_eq(n.ipv6, 1);
    ck_assert_uint_eq(n.other, 1);
    ck_assert(fabs((double)n.hll_estimate - 75002.0) / 75002.0 < 3 * LT_HLL_STD_ERROR);

    /* Exact into a counter that already gave up stays an estimate. */
    lt_clients *h = lt_clients_new(0, 0);
    lt_clients_merge(h, a);
    lt_clients_counts(h, &n);
    ck_assert(!n.exact);
    /* An exact counter merged with an estimate becomes an estimate. */
    lt_clients_merge(a, h);
    lt_clients_counts(a, &n);
    ck_assert(!n.exact);
    ck_assert(fabs((double)n.total - 75002.0) / 75002.0 < 3 * LT_HLL_STD_ERROR);
    lt_clients_free(a);
    lt_clients_free(b);
    lt_clients_free(h);
}
END_TEST

/* What lt_clients_add() tells the buckets: 1 only for an IPv4 address the
 * exact set holds with this very stamp; never for other kinds, stamp 0, a
 * plain set, or once the sets are gone. */
START_TEST(stamps_told)
{
    lt_clients *c = lt_clients_new(1 << 20, 1);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 7), 0);   /* new */
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 7), 1);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 8), 0);   /* another bucket */
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 7), 0);   /* a late line */
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 8), 1);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 0), 0);
    ck_assert_int_eq(add_stamped(c, "2001:db8::1", 8), 0);
    ck_assert_int_eq(add_stamped(c, "2001:db8::1", 8), 0);
    ck_assert_int_eq(add_stamped(c, "example.org", 8), 0);
    ck_assert_int_eq(add_stamped(c, "example.org", 8), 0);
    /* A counter that only collects gives its stamps up. */
    lt_clients_unstamp(c);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 8), 0);
    lt_client_counts n;
    lt_clients_counts(c, &n);
    ck_assert(n.exact);
    ck_assert_uint_eq(n.ipv4, 1);
    lt_clients_free(c);

    /* A plain set never says seen. */
    c = lt_clients_new(1 << 20, 0);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 7), 0);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 7), 0);
    lt_clients_free(c);

    /* Past the budget the sets are dropped, and nothing is seen. */
    c = lt_clients_new(64 << 10, 1);
    for (uint32_t i = 0; i < 20000; i++) {
        char a[32];
        snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        add_stamped(c, a, 3);
    }
    lt_clients_counts(c, &n);
    ck_assert(!n.exact);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 3), 0);
    ck_assert_int_eq(add_stamped(c, "10.0.0.1", 3), 0);
    lt_clients_free(c);

    /* A budget the stamped start does not fit but a plain one does stays
     * exact: the stamps yield first. */
    lt_client_memory m;
    lt_clients *plain = lt_clients_new(1 << 20, 0);
    lt_clients_memory(plain, &m);
    size_t need = m.ipv4_set + m.ipv6_set + m.host_set;
    lt_clients_free(plain);
    c = lt_clients_new(need, 1);
    lt_clients_counts(c, &n);
    ck_assert(n.exact);
    lt_clients_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clients");
    TCase *tc = tcase_create("clients");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, exact_by_kind);
    tcase_add_test(tc, switch_without_jump);
    tcase_add_test(tc, zero_budget_is_hll_only);
    tcase_add_test(tc, merge_union);
    tcase_add_test(tc, stamps_told);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
