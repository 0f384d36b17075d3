/* test_summary.c -- Check suite for lib/summary.c: the JSON report. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"
#include "lt_test.h"

static const lt_limits limits = {1 << 20, 100, 0, {0}};

static char *report(lt_tally *t, size_t top)
{
    lt_summary s;
    lt_buf b;
    static const char *const names[] = {"a.log"};
    ck_assert_int_eq(lt_summary_fill(&s, t, top), 0);
    lt_buf_init(&b);
    lt_summary_json(&b, &s, names, 1);
    ck_assert(!lt_buf_failed(&b));
    lt_summary_release(&s);
    return b.data;
}

START_TEST(empty_tally)
{
    lt_tally *t = lt_tally_new(&limits);
    char *j = report(t, 10);
    static const char head[] =
        "{\"lines\":0,\"valid\":0,\"malformed\":0,\"unparsed_requests\":0,"
        "\"requests\":0,\"bytes\":0,\"clients\":{\"ipv4\":0,\"ipv6\":0,"
        "\"other\":0,\"total\":0,\"exact\":true,\"std_error\":0.0000,"
        "\"hll_estimate\":0},\"first_ts\":null,\"first_ts_time\":null,";
    ck_assert_msg(strncmp(j, head, sizeof(head) - 1) == 0, "%s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"peak\":{\"second\":null,\"second_time\":null,\"requests\":0}"));
    ck_assert_ptr_nonnull(strstr(j, "\"top\":[]"));
    ck_assert_ptr_nonnull(strstr(j, "\"malformed_samples\":[]}"));
    free(j);
    lt_tally_free(t);
}
END_TEST

START_TEST(values_and_escaping)
{
    char err[64];
    lt_format *f = lt_format_new("common", err, sizeof(err));
    lt_parser *p = lt_parser_new(f);
    lt_tally *t = lt_tally_new(&limits);
    static const char l1[] = "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a\xff\x01 HTTP/1.1\" 200 10";
    static const char l2[] = "1.2.3.5 - - [17/May/2015:10:05:05 +0000] \"GET /b HTTP/1.1\" 200 5";
    lt_tally_line(t, p, l1, sizeof(l1) - 1, 0, 1);
    lt_tally_line(t, p, l1, sizeof(l1) - 1, 0, 2);
    lt_tally_line(t, p, l2, sizeof(l2) - 1, 0, 3);
    lt_tally_line(t, p, "bad\x1b[31m", 8, 0, 4);
    char *j = report(t, 1);
    ck_assert_ptr_nonnull(strstr(j, "\"lines\":4,\"valid\":3,\"malformed\":1,"));
    ck_assert_ptr_nonnull(strstr(j, "\"bytes\":25,"));
    ck_assert_ptr_nonnull(strstr(j, "\"first_ts\":1431857103,\"first_ts_time\":\"2015-05-17T10:05:03Z\""));
    ck_assert_ptr_nonnull(strstr(j, "\"last_ts\":1431857105,"));
    ck_assert_ptr_nonnull(strstr(j, "\"peak\":{\"second\":1431857103,\"second_time\":\"2015-05-17T10:05:03Z\",\"requests\":2}"));
    /* 3 requests over a 3-second span, 2 of them active. */
    ck_assert_ptr_nonnull(strstr(j, "\"avg_rps\":1.000,\"avg_rps_active\":1.500,\"active_seconds\":2,"));
    ck_assert_ptr_nonnull(strstr(j, "\"top\":[{\"url\":\"/a\\\\xff\\u0001\",\"count\":2}]"));
    ck_assert_ptr_nonnull(strstr(j, "{\"source\":\"a.log\",\"line\":4,\"reason\":\"a field of the format is missing\",\"text\":\"bad\\u001b[31m\"}"));
    free(j);
    lt_tally_free(t);
    lt_parser_free(p);
    lt_format_free(f);
}
END_TEST

START_TEST(utc_format)
{
    char out[32];
    lt_format_utc(0, out, sizeof(out));
    ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
    lt_format_utc(253402300799, out, sizeof(out));
    ck_assert_str_eq(out, "9999-12-31T23:59:59Z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("summary");
    TCase *tc = tcase_create("summary");
    tcase_add_test(tc, empty_tally);
    tcase_add_test(tc, values_and_escaping);
    tcase_add_test(tc, utc_format);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
