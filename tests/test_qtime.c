/* test_qtime.c -- Check suite for lib/qtime.c.
 *
 * Accepted forms are compared with values worked out by hand and, for
 * every day of 1900..2100, with timegm(); refused forms must be refused
 * with a reason, and *out left alone. */
#define _DEFAULT_SOURCE
#include "qtime.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lt_test.h"

#define NOW 1700000000LL   /* 2023-11-14T22:13:20Z */

static int64_t parse_ok(const char *s)
{
    int64_t v = -1;
    char err[256] = "";
    int rc = lt_qtime_parse(s, NOW, &v, err, sizeof(err));
    ck_assert_msg(rc == 0, "'%s' refused: %s", s, err);
    return v;
}

static void parse_bad(const char *s)
{
    int64_t v = 12345;
    char err[256] = "";
    int rc = lt_qtime_parse(s, NOW, &v, err, sizeof(err));
    ck_assert_msg(rc == -EINVAL, "'%s' accepted as %lld", s, (long long)v);
    ck_assert_msg(err[0] != '\0', "'%s' refused without a reason", s);
    ck_assert_int_eq(v, 12345);
}

START_TEST(epoch_and_relative)
{
    ck_assert_int_eq(parse_ok("0"), 0);
    ck_assert_int_eq(parse_ok("1431857103"), 1431857103);
    ck_assert_int_eq(parse_ok("-15"), -15);
    ck_assert_int_eq(parse_ok("now"), NOW);
    ck_assert_int_eq(parse_ok("-15m"), NOW - 900);
    ck_assert_int_eq(parse_ok("-90s"), NOW - 90);
    ck_assert_int_eq(parse_ok("-1h"), NOW - 3600);
    ck_assert_int_eq(parse_ok("-2d"), NOW - 2 * 86400);
    ck_assert_int_eq(parse_ok("-1w"), NOW - 7 * 86400);
    ck_assert_int_eq(parse_ok("now-30"), NOW - 30);
    ck_assert_int_eq(parse_ok("now-5m"), NOW - 300);
    ck_assert_int_eq(parse_ok("253402300799"), LT_QTIME_MAX);
    ck_assert_int_eq(parse_ok("-62167219200"), LT_QTIME_MIN);
    parse_bad("");
    parse_bad("-");
    parse_bad("now-");
    parse_bad("-15x");
    parse_bad("-15mm");
    parse_bad("-m");
    parse_bad("+15m");
    parse_bad("15m");
    parse_bad("now+5m");
    parse_bad(" 0");
    parse_bad("0 ");
    parse_bad("253402300800");
    parse_bad("-62167219201");
    parse_bad("99999999999999999999999");
    parse_bad("-99999999999999999999999");
    parse_bad("-999999999999999999m");
    parse_bad("NOW");
}
END_TEST

START_TEST(iso_forms)
{
    ck_assert_int_eq(parse_ok("2015-05-17"), 1431820800);
    ck_assert_int_eq(parse_ok("2015-05-17T10:05"), 1431857100);
    ck_assert_int_eq(parse_ok("2015-05-17T10:05:03"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17 10:05:03"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17T10:05:03Z"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17T12:05:03+02:00"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17T12:05:03+0200"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17T12:05:03+02"), 1431857103);
    ck_assert_int_eq(parse_ok("2015-05-17T04:35:03-05:30"), 1431857103);
    ck_assert_int_eq(parse_ok("2024-02-29"), 1709164800);
    ck_assert_int_eq(parse_ok("2000-02-29"), 951782400);
    ck_assert_int_eq(parse_ok("0000-01-01"), LT_QTIME_MIN);
    ck_assert_int_eq(parse_ok("9999-12-31T23:59:59Z"), LT_QTIME_MAX);
    ck_assert_int_eq(parse_ok("1969-12-31T23:59:59Z"), -1);
}
END_TEST

START_TEST(iso_refused)
{
    parse_bad("2024-02-31");   /* was read as 2 March */
    parse_bad("2024-02-30");
    parse_bad("2023-02-29");
    parse_bad("1900-02-29");
    parse_bad("2024-04-31");
    parse_bad("2024-00-10");
    parse_bad("2024-13-01");
    parse_bad("2024-01-00");
    parse_bad("2024-01-32");
    parse_bad("2024-1-01");
    parse_bad("24-01-01");
    parse_bad("2024/01/01");
    parse_bad("2024-01-01T");
    parse_bad("2024-01-01T10");
    parse_bad("2024-01-01T10:5");
    parse_bad("2024-01-01T24:00");
    parse_bad("2024-01-01T23:60");
    parse_bad("2024-01-01T23:59:60");
    parse_bad("2024-01-01T23:59:5");
    parse_bad("2024-01-01T10:00:00+99:99");
    parse_bad("2024-01-01T10:00:00+24:00");
    parse_bad("2024-01-01T10:00:00+05:60");
    parse_bad("2024-01-01T-1:-5");
    parse_bad("2024-01-01T10:00+5");
    parse_bad("2024-01-01T10:00+05:");
    parse_bad("2024-01-01T10:00+05:3");
    parse_bad("2024-01-01T10:00+053");
    parse_bad("2024-01-01T10:00+05300");
    parse_bad("2024-01-01T10:00Zjunk");
    parse_bad("2024-01-01T10:00z");
    parse_bad("2024-01-01T10:00:00.5Z");
    parse_bad("0000-01-01T00:00:00+00:01");   /* before year 0 in UTC */
    parse_bad("9999-12-31T23:59:59-00:01");   /* after year 9999 in UTC */
}
END_TEST

/* Every day of 1900..2100 against timegm(), and the day after the last
 * of each month refused. */
START_TEST(calendar_against_timegm)
{
    char s[32];
    for (int y = 1900; y <= 2100; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 32; d++) {
                struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 7,
                                .tm_min = 8, .tm_sec = 9};
                time_t want = timegm(&tm);
                int real = tm.tm_mday == d && tm.tm_mon == m - 1;
                snprintf(s, sizeof(s), "%04d-%02d-%02dT07:08:09", y, m, d);
                int64_t v = 0;
                int rc = lt_qtime_parse(s, NOW, &v, NULL, 0);
                if (real && (rc != 0 || v != (int64_t)want))
                    ck_abort_msg("%s: rc %d, %lld, want %lld", s, rc, (long long)v,
                                 (long long)want);
                if (!real && rc != -EINVAL)
                    ck_abort_msg("%s accepted", s);
            }
}
END_TEST

START_TEST(durations)
{
    int64_t v;
    char err[128];
    ck_assert_int_eq(lt_qtime_duration("1h", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 3600);
    ck_assert_int_eq(lt_qtime_duration("90", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 90);
    ck_assert_int_eq(lt_qtime_duration("15m", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 900);
    ck_assert_int_eq(lt_qtime_duration("2w", &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 14 * 86400);
    v = 7;
    ck_assert_int_eq(lt_qtime_duration("", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("-1h", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("1.5h", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("1 h", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("1hh", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("1y", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(lt_qtime_duration("99999999w", &v, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(windows)
{
    int64_t f, t;
    char err[256];
    /* Neither: the data's span. */
    ck_assert_int_eq(lt_qtime_window(NULL, NULL, NOW, 1, 100, 200, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, 100);
    ck_assert_int_eq(t, 200);
    /* A relative from ends at now, an absolute one at the last second. */
    ck_assert_int_eq(lt_qtime_window("-1h", NULL, NOW, 1, 100, 200, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, NOW - 3600);
    ck_assert_int_eq(t, NOW);
    ck_assert_int_eq(lt_qtime_window("150", NULL, NOW, 1, 100, 200, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, 150);
    ck_assert_int_eq(t, 200);
    ck_assert_int_eq(lt_qtime_window(NULL, "150", NOW, 1, 100, 200, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, 100);
    ck_assert_int_eq(t, 150);
    /* A to before the data: an empty window at to. */
    ck_assert_int_eq(lt_qtime_window(NULL, "50", NOW, 1, 100, 200, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, 50);
    ck_assert_int_eq(t, 50);
    /* No data at all. */
    ck_assert_int_eq(lt_qtime_window(NULL, NULL, NOW, 0, 0, 0, &f, &t, err, sizeof(err)), 0);
    ck_assert_int_eq(f, NOW);
    ck_assert_int_eq(t, NOW);
    f = t = 7;
    ck_assert_int_eq(lt_qtime_window("300", "200", NOW, 1, 100, 200, &f, &t, err, sizeof(err)),
                     -EINVAL);
    ck_assert_str_eq(err, "from is after to");
    ck_assert_int_eq(lt_qtime_window("2024-02-31", NULL, NOW, 1, 100, 200, &f, &t, err,
                                     sizeof(err)), -EINVAL);
    ck_assert(strncmp(err, "from: ", 6) == 0);
    ck_assert_int_eq(lt_qtime_window(NULL, "x", NOW, 1, 100, 200, &f, &t, err, sizeof(err)),
                     -EINVAL);
    ck_assert(strncmp(err, "to: ", 4) == 0);
    ck_assert_int_eq(f, 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qtime");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, epoch_and_relative);
    tcase_add_test(tc, iso_forms);
    tcase_add_test(tc, iso_refused);
    tcase_add_test(tc, calendar_against_timegm);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, windows);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
