/* test_cidr.c -- Check suite for lib/cidr.c: ranges of both families,
 * prefix edges, mapped IPv6, and the text it refuses. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>

#include "cidr.h"
#include "lt_test.h"

static uint32_t v4(const char *s)
{
    struct in_addr a;
    ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
    return ntohl(a.s_addr);
}

static int has6(const lt_cidr *c, const char *s)
{
    struct in6_addr a;
    ck_assert_int_eq(inet_pton(AF_INET6, s, &a), 1);
    return lt_cidr_has_ipv6(c, a.s6_addr);
}

START_TEST(ranges_of_both_families)
{
    char err[128];
    lt_cidr *c = lt_cidr_new();
    static const char *const ranges[] = {"10.0.0.0/8", "192.0.2.77", "172.16.0.0/12",
                                         "2001:db8::/32", "fe80::1/128", "::ffff:198.51.100.0/120",
                                         "203.0.113.9/0"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(lt_cidr_add(c, ranges[i], err, sizeof(err)) == 0, "%s: %s", ranges[i], err);
    ck_assert_uint_eq(lt_cidr_count(c), 6);
    ck_assert(lt_cidr_has_ipv4(c, v4("10.255.1.2")));
    ck_assert(!lt_cidr_has_ipv4(c, v4("11.0.0.1")));
    ck_assert(lt_cidr_has_ipv4(c, v4("192.0.2.77")));
    ck_assert(!lt_cidr_has_ipv4(c, v4("192.0.2.78")));
    ck_assert(lt_cidr_has_ipv4(c, v4("172.31.255.255")));
    ck_assert(!lt_cidr_has_ipv4(c, v4("172.32.0.0")));
    ck_assert(lt_cidr_has_ipv4(c, v4("198.51.100.200")));    /* the mapped range */
    ck_assert(!lt_cidr_has_ipv4(c, v4("198.51.101.1")));
    ck_assert(has6(c, "2001:db8:ffff::1"));
    ck_assert(!has6(c, "2001:db9::1"));
    ck_assert(has6(c, "fe80::1"));
    ck_assert(!has6(c, "fe80::2"));
    /* A prefix not on a byte boundary, and host bits in the network. */
    ck_assert_int_eq(lt_cidr_add(c, "2001:db8:8000::1/33", err, sizeof(err)), 0);
    ck_assert(has6(c, "2001:db8:ffff::"));
    /* /0 covers its whole family. */
    ck_assert_int_eq(lt_cidr_add(c, ranges[6], err, sizeof(err)), 0);
    ck_assert(lt_cidr_has_ipv4(c, v4("1.1.1.1")));
    ck_assert(!has6(c, "3000::1"));
    lt_cidr_free(c);
    lt_cidr_free(NULL);
}
END_TEST

START_TEST(refused)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"10.0.0.0/33", "more than 32"},
        {"::/129", "more than 128"},
        {"10.0.0.0/", "not a number"},
        {"10.0.0.0/+8", "not a number"},
        {"10.0.0.0/8/8", "not a number"},
        {"10.0.0", "not an IPv4 or IPv6"},
        {"example.com", "not an IPv4 or IPv6"},
        {"", "not an IPv4 or IPv6"},
        {"/8", "not an IPv4 or IPv6"},
        {"10.0.0.0/0008", "not a number"},
    };
    lt_cidr *c = lt_cidr_new();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        ck_assert_msg(lt_cidr_add(c, bad[i].text, err, sizeof(err)) == -EINVAL, "'%s' accepted",
                      bad[i].text);
        ck_assert_msg(strstr(err, bad[i].msg) != NULL, "'%s': '%s'", bad[i].text, err);
    }
    ck_assert_uint_eq(lt_cidr_count(c), 0);
    lt_cidr_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cidr");
    TCase *tc = tcase_create("cidr");
    tcase_add_test(tc, ranges_of_both_families);
    tcase_add_test(tc, refused);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
