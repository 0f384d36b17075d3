/* test_summary.c -- Check suite for lib/summary.c: the JSON report. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"
#include "lt_test.h"

static const lt_limits limits = {1 << 20, 100, 0, {0}, 0};

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
    ck_assert_ptr_nonnull(strstr(j, "\"non_http_requests\":0,\"response_time\":null,\"top\":[]"));
    ck_assert_ptr_nonnull(strstr(j, "\"malformed_samples\":[]}"));
    free(j);
    lt_tally_free(t);
}
END_TEST

START_TEST(response_times_and_client_rule)
{
    char err[64];
    lt_format *f = lt_format_new("%h %t \"%r\" %s %b %{ms}T", err, sizeof(err));
    lt_parser *p = lt_parser_new(f);
    lt_tally *t = lt_tally_new(&limits);
    for (int i = 1; i <= 100; i++) {
        char line[160];
        snprintf(line, sizeof(line), "1.2.3.4 [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 1 %d", i);
        ck_assert_int_eq(lt_tally_line(t, p, line, strlen(line), 0, (uint64_t)i), 0);
    }
    lt_summary s;
    ck_assert_int_eq(lt_summary_fill(&s, t, 0), 0);
    s.client_rule = "the client field";
    lt_buf b;
    lt_buf_init(&b);
    lt_summary_json(&b, &s, NULL, 0);
    /* The values of ranks 50, 90 and 99 are 50, 90 and 99 ms: each within
     * 1/128; the maximum is exact. */
    ck_assert_msg(strstr(b.data, "\"response_time\":{\"count\":100,\"p50\":0.0") != NULL, "%s", b.data);
    ck_assert_ptr_nonnull(strstr(b.data, "\"max\":0.100000,\"relative_error\":0.0078}"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"client_rule\":\"the client field\","));
    static const uint64_t want[3] = {50000, 90000, 99000};
    const uint64_t got[3] = {s.duration_p50, s.duration_p90, s.duration_p99};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(got[i] + want[i] / 128 >= want[i] && got[i] <= want[i] + want[i] / 128,
                      "%llu for %llu", (unsigned long long)got[i], (unsigned long long)want[i]);
    lt_buf_free(&b);
    lt_summary_release(&s);
    lt_tally_free(t);
    lt_parser_free(p);
    lt_format_free(f);
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

/* A window with unaligned edges: requests and status classes over the
 * window itself (the per-second tables), codes, methods, bytes and clients
 * over the hour it overlaps (the buckets), and the window said in JSON. */
START_TEST(window_and_status)
{
    char err[64];
    lt_format *f = lt_format_new("vhost_combined", err, sizeof(err));
    lt_parser *p = lt_parser_new(f);
    lt_tally *t = lt_tally_new(&limits);
    static const struct {
        int min, code;
        const char *method, *vhost;
    } lines[] = {
        {0, 200, "GET", "a"}, {10, 503, "POST", "a"}, {20, 404, "GET", "b"},
        {30, 503, "HEAD", "a"}, {59, 200, "BREW", "b"}, {61, 500, "GET", "a"},
    };
    char line[256];
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        int n = snprintf(line, sizeof(line),
                         "%s:80 10.0.0.%zu - - [17/May/2015:%02d:%02d:00 +0000] \"%s /x HTTP/1.1\" "
                         "%d 100 \"-\" \"ua\"",
                         lines[i].vhost, i, 10 + lines[i].min / 60, lines[i].min % 60,
                         lines[i].method, lines[i].code);
        ck_assert_int_eq(lt_tally_line(t, p, line, (size_t)n, 0, i + 1), LT_PARSE_OK);
    }
    /* 10:05 .. 10:35: three requests, two of them 5xx. */
    int64_t from = 1431857100 + 300, to = 1431857100 + 35 * 60;
    lt_summary s;
    ck_assert_int_eq(lt_summary_fill_window(&s, t, from, to, 10, 10), 0);
    ck_assert_uint_eq(s.n.valid, 3);
    ck_assert_uint_eq(s.status_classes[4], 2);   /* 5xx */
    ck_assert_uint_eq(s.status_classes[3], 1);   /* 4xx */
    ck_assert_uint_eq(s.status_classes[1], 0);   /* 2xx */
    /* The hour 10:00..10:59 answers the rest: five requests. */
    ck_assert_int_eq(s.window.covered_from, 1431856800);
    ck_assert_int_eq(s.window.covered_to, 1431860399);
    ck_assert_int_eq(s.window.aligned, 0);
    ck_assert_uint_eq(s.status_codes[503], 2);
    ck_assert_uint_eq(s.status_codes[200], 2);
    ck_assert_uint_eq(s.status_codes[500], 0);
    ck_assert_uint_eq(s.methods[LT_METHOD_GET], 2);
    ck_assert_uint_eq(s.methods[LT_METHOD_OTHER], 1);
    ck_assert_uint_eq(s.n.bytes, 500);
    ck_assert_uint_eq(s.clients.total, 5);
    ck_assert_uint_eq(s.distinct_vhosts, 2);
    lt_buf b;
    lt_buf_init(&b);
    lt_summary_json(&b, &s, NULL, 0);
    ck_assert_ptr_nonnull(strstr(b.data, "\"status\":{\"1xx\":0,\"2xx\":0,\"3xx\":0,\"4xx\":1,\"5xx\":2,"
                                         "\"other\":0,\"codes\":{\"200\":2,\"404\":1,\"503\":2}}"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"methods\":{\"GET\":2,\"HEAD\":1,\"POST\":1,"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"vhosts\":{\"distinct\":2,\"exact\":true"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"window\":{\"from\":1431857400,"));
    ck_assert_ptr_nonnull(strstr(b.data, "\"aligned\":false,\"complete\":true,\"buckets\":1}"));
    lt_buf_free(&b);
    lt_summary_release(&s);
    /* All time: six requests; 2xx from the codes. */
    ck_assert_int_eq(lt_summary_fill(&s, t, 10), 0);
    ck_assert_uint_eq(s.status_classes[1], 2);
    ck_assert_uint_eq(s.status_classes[4], 3);
    ck_assert_uint_eq(s.status_codes[500], 1);
    ck_assert_int_eq(s.has_window, 0);
    lt_summary_release(&s);
    ck_assert_int_eq(lt_summary_fill_window(&s, t, 5, 4, 10, 10), -EINVAL);
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
    tcase_add_test(tc, response_times_and_client_rule);
    tcase_add_test(tc, values_and_escaping);
    tcase_add_test(tc, utc_format);
    tcase_add_test(tc, window_and_status);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
