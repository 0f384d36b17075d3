/* test_tally.c -- Check suite for lib/tally.c: what a line adds to each
 * count, the malformed samples, and merging. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "tally.h"
#include "lt_test.h"

static lt_format *fmt;
static lt_parser *ps;
static const lt_limits limits = {1 << 20, 1000, 0, {0}, 0};

static void setup(void)
{
    char err[128];
    fmt = lt_format_new("combined", err, sizeof(err));
    ps = lt_parser_new(fmt);
}

static void teardown(void)
{
    lt_parser_free(ps);
    lt_format_free(fmt);
}

static int feed(lt_tally *t, const char *line, uint64_t lineno)
{
    return lt_tally_line(t, ps, line, strlen(line), 0, lineno);
}

#define L(client, sec, req, size) \
    client " - - [17/May/2015:10:05:" sec " +0000] \"" req "\" 200 " size " \"-\" \"ua\""

START_TEST(counts_of_each_kind)
{
    lt_tally *t = lt_tally_new(&limits);
    ck_assert_int_eq(feed(t, L("1.2.3.4", "03", "GET /a HTTP/1.1", "100"), 1), LT_PARSE_OK);
    ck_assert_int_eq(feed(t, L("1.2.3.4", "03", "GET /a?x=1 HTTP/1.1", "-"), 2), LT_PARSE_OK);
    ck_assert_int_eq(feed(t, L("2001:db8::1", "04", "-", "7"), 3), LT_PARSE_OK);
    ck_assert_int_eq(feed(t, L("host.example", "04", "GET /b", "3"), 4), LT_PARSE_OK);
    ck_assert_int_eq(feed(t, "", 5), LT_PARSE_EMPTY);
    ck_assert_int_eq(feed(t, "junk", 6), LT_PARSE_FIELD);
    lt_tally_overlong(t, "xxxx", 4, 0, 7);

    const lt_counters *n = lt_tally_counters(t);
    ck_assert_uint_eq(n->lines, 7);
    ck_assert_uint_eq(n->valid, 4);
    ck_assert_uint_eq(n->malformed, 3);
    ck_assert_uint_eq(n->unparsed_requests, 1);
    ck_assert_uint_eq(n->bytes, 110);
    ck_assert_uint_eq(lt_rps_total(lt_tally_rps(t)), n->valid);
    int64_t peak;
    uint64_t peak_n;
    ck_assert(lt_rps_peak(lt_tally_rps(t), &peak, &peak_n));
    ck_assert_int_eq(peak, 1431857103);   /* the earlier of two seconds with 2 */
    ck_assert_uint_eq(peak_n, 2);
    lt_client_counts c;
    lt_clients_counts(lt_tally_clients(t), &c);
    ck_assert_uint_eq(c.total, 3);
    ck_assert_uint_eq(lt_urls_size(lt_tally_urls(t)), 3);   /* /a, /a?x=1, /b */
    ck_assert_uint_eq(lt_urls_total(lt_tally_urls(t)), 3);
    lt_tally_free(t);
    lt_tally_free(NULL);
}
END_TEST

/* Requests that are not HTTP, and response times, through lines and
 * batches and a merge. */
START_TEST(non_http_and_response_times)
{
    char err[128];
    lt_format *f = lt_format_new("%h %l %u %t \"%r\" %>s %b %D", err, sizeof(err));
    lt_parser *p = lt_parser_new(f);
    lt_tally *a = lt_tally_new(&limits), *b = lt_tally_new(&limits), *all = lt_tally_new(&limits);
    static const char *const lines[] = {
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET /a HTTP/1.1\" 200 5 1000",
        "1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"\\x16\\x03\\x01 \\xC0/\\xC00\" 400 5 20",
        "1.2.3.4 - - [17/May/2015:10:05:04 +0000] \"GET /a HTTP/1.1\" 200 5 -",
        "1.2.3.4 - - [17/May/2015:10:05:04 +0000] \"-\" 408 5 3000000",
        "1.2.3.4 - - [17/May/2015:10:05:05 +0000] \"GET \\xC0 HTTP/1.1\" 400 5 5000",
    };
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(lt_tally_line(i < 2 ? a : b, p, lines[i], strlen(lines[i]), 0, i + 1), 0);
        ck_assert_int_eq(lt_tally_line(all, p, lines[i], strlen(lines[i]), 0, i + 1), 0);
    }
    ck_assert_int_eq(lt_tally_merge(a, b), 0);
    for (int k = 0; k < 2; k++) {
        const lt_tally *t = k ? a : all;
        const lt_counters *n = lt_tally_counters(t);
        ck_assert_uint_eq(n->valid, 5);
        ck_assert_uint_eq(n->unparsed_requests, 3);
        ck_assert_uint_eq(n->non_http_requests, 2);
        ck_assert_uint_eq(lt_urls_total(lt_tally_urls(t)), 2);    /* no binary URL */
        const lt_hist *h = lt_tally_durations(t);
        ck_assert_uint_eq(lt_hist_count(h), 4);                  /* "-" logs none */
        ck_assert_uint_eq(lt_hist_max(h), 3000000);
        uint64_t p50 = lt_hist_quantile(h, 0.5);    /* 1000, within 1/128 */
        ck_assert_msg(p50 >= 1000 - 1000 / 128 && p50 <= 1000 + 1000 / 128, "p50 %llu",
                      (unsigned long long)p50);
        ck_assert_uint_eq(lt_hist_sum(h), 3006020);
    }
    ck_assert_uint_gt(lt_tally_bytes(all), 0);
    lt_tally_free(a);
    lt_tally_free(b);
    lt_tally_free(all);
    lt_parser_free(p);
    lt_format_free(f);
}
END_TEST

START_TEST(strip_query)
{
    lt_limits l = limits;
    l.strip_query = 1;
    lt_tally *t = lt_tally_new(&l);
    feed(t, L("1.2.3.4", "03", "GET /a HTTP/1.1", "1"), 1);
    feed(t, L("1.2.3.4", "03", "GET /a?x=1 HTTP/1.1", "1"), 2);
    feed(t, L("1.2.3.4", "03", "GET /a?y HTTP/1.1", "1"), 3);
    lt_url_count top[2];
    ck_assert_uint_eq(lt_urls_top(lt_tally_urls(t), 2, top), 1);
    ck_assert_uint_eq(top[0].count, 3);
    ck_assert_uint_eq(top[0].len, 2);
    lt_tally_free(t);
}
END_TEST

START_TEST(samples_keep_the_most_recent)
{
    lt_tally *t = lt_tally_new(&limits);
    char line[32];
    for (int i = 1; i <= 8; i++) {
        snprintf(line, sizeof(line), "bad %d", i);
        feed(t, line, (uint64_t)i * 10);
        feed(t, L("1.2.3.4", "03", "GET / HTTP/1.1", "1"), (uint64_t)i * 10 + 1);
    }
    lt_sample s[LT_SAMPLES];
    ck_assert_uint_eq(lt_tally_samples(t, s), LT_SAMPLES);
    for (int i = 0; i < LT_SAMPLES; i++) {
        snprintf(line, sizeof(line), "bad %d", i + 4);
        ck_assert_uint_eq(s[i].line, (uint64_t)(i + 4) * 10);
        ck_assert_uint_eq(s[i].len, strlen(line));
        ck_assert_int_eq(memcmp(s[i].text, line, s[i].len), 0);
        ck_assert_int_eq(s[i].reason, LT_PARSE_FIELD);
    }
    lt_tally_shift_lines(t, 0, 1000);
    lt_tally_shift_lines(t, 1, 5);   /* another source: no effect */
    lt_tally_samples(t, s);
    ck_assert_uint_eq(s[0].line, 1040);
    /* A long malformed line keeps its first LT_SAMPLE_BYTES bytes. */
    char longline[600];
    memset(longline, 'q', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    feed(t, longline, 99);
    lt_tally_samples(t, s);
    ck_assert_uint_eq(s[LT_SAMPLES - 1].len, LT_SAMPLE_BYTES);
    lt_tally_free(t);
}
END_TEST

/* Counting lines in two tallies and merging gives the tally of all lines. */
START_TEST(merge_equals_one_pass)
{
    lt_tally *all = lt_tally_new(&limits), *a = lt_tally_new(&limits), *b = lt_tally_new(&limits);
    char line[256];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof(line),
                 "10.0.%d.%d - - [17/May/2015:10:%02d:%02d +0000] \"GET /p%d HTTP/1.1\" 200 %d",
                 i % 7, i % 251, (i / 60) % 60, i % 60, i % 37, i);
        if (i % 500 == 0)
            strcpy(line, "malformed");
        feed(all, line, (uint64_t)i + 1);
        /* b gets 8 malformed lines: more than the ring holds. */
        feed(i < 1000 ? a : b, line, (uint64_t)i + 1);
    }
    ck_assert_int_eq(lt_tally_merge(a, b), 0);
    const lt_counters *x = lt_tally_counters(all), *y = lt_tally_counters(a);
    ck_assert_int_eq(memcmp(x, y, sizeof(*x)), 0);
    lt_client_counts cx, cy;
    lt_clients_counts(lt_tally_clients(all), &cx);
    lt_clients_counts(lt_tally_clients(a), &cy);
    ck_assert_uint_eq(cx.total, cy.total);
    ck_assert_uint_eq(cx.hll_estimate, cy.hll_estimate);
    lt_url_count tx[5], ty[5];
    ck_assert_uint_eq(lt_urls_top(lt_tally_urls(all), 5, tx), 5);
    ck_assert_uint_eq(lt_urls_top(lt_tally_urls(a), 5, ty), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(tx[i].count, ty[i].count);
        ck_assert_uint_eq(tx[i].len, ty[i].len);
        ck_assert_int_eq(memcmp(tx[i].url, ty[i].url, tx[i].len), 0);
    }
    int64_t px, py;
    uint64_t nx, ny;
    lt_rps_peak(lt_tally_rps(all), &px, &nx);
    lt_rps_peak(lt_tally_rps(a), &py, &ny);
    ck_assert_int_eq(px, py);
    ck_assert_uint_eq(nx, ny);
    lt_sample sx[LT_SAMPLES], sy[LT_SAMPLES];
    ck_assert_uint_eq(lt_tally_samples(all, sx), lt_tally_samples(a, sy));
    for (int i = 0; i < LT_SAMPLES; i++)
        ck_assert_uint_eq(sx[i].line, sy[i].line);
    lt_tally_free(all);
    lt_tally_free(a);
    lt_tally_free(b);
}
END_TEST

/* Fails unless the two tallies give the same answers. */
static void assert_same_tallies(const lt_tally *x, const lt_tally *y)
{
    ck_assert_int_eq(memcmp(lt_tally_counters(x), lt_tally_counters(y), sizeof(lt_counters)), 0);
    lt_client_counts cx, cy;
    lt_clients_counts(lt_tally_clients(x), &cx);
    lt_clients_counts(lt_tally_clients(y), &cy);
    ck_assert_int_eq(memcmp(&cx, &cy, sizeof(cx)), 0);
    const lt_urls *ux = lt_tally_urls(x), *uy = lt_tally_urls(y);
    ck_assert_uint_eq(lt_urls_size(ux), lt_urls_size(uy));
    ck_assert_uint_eq(lt_urls_error_bound(ux), lt_urls_error_bound(uy));
    lt_url_count tx[50], ty[50];
    size_t n = lt_urls_top(ux, 50, tx);
    ck_assert_uint_eq(lt_urls_top(uy, 50, ty), n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(tx[i].count, ty[i].count);
        ck_assert_uint_eq(tx[i].error, ty[i].error);
        ck_assert_uint_eq(tx[i].len, ty[i].len);
        ck_assert_int_eq(memcmp(tx[i].url, ty[i].url, tx[i].len), 0);
    }
    ck_assert_uint_eq(lt_rps_total(lt_tally_rps(x)), lt_rps_total(lt_tally_rps(y)));
    ck_assert_uint_eq(lt_rps_active_seconds(lt_tally_rps(x)), lt_rps_active_seconds(lt_tally_rps(y)));
    lt_sample sx[LT_SAMPLES], sy[LT_SAMPLES];
    size_t k = lt_tally_samples(x, sx);
    ck_assert_uint_eq(lt_tally_samples(y, sy), k);
    for (size_t i = 0; i < k; i++) {
        ck_assert_uint_eq(sx[i].line, sy[i].line);
        ck_assert_int_eq(sx[i].reason, sy[i].reason);
        ck_assert_uint_eq(sx[i].len, sy[i].len);
        ck_assert_int_eq(memcmp(sx[i].text, sy[i].text, sx[i].len), 0);
    }
}

/* lt_tally_lines() on batches of every size counts exactly what
 * lt_tally_line() (and lt_tally_overlong()) count line by line: valid,
 * malformed and overlong lines, IPv4/IPv6/host clients, query strings
 * stripped or not, and URLs past the exact bound (Space-Saving). */
/* A tally absorbed whole into an empty one (the daemon's first backlog)
 * leaves its stamps behind: the collector's IPv4 set costs what a plain
 * set costs, and the answers are the same. */
START_TEST(absorbed_whole_drops_stamps)
{
    lt_tally *src = lt_tally_new(&limits), *dst = lt_tally_new(&limits);
    lt_limits plain_limits = limits;
    plain_limits.buckets.totals_only = 1;
    lt_tally *plain = lt_tally_new(&plain_limits);
    char line[160];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof(line), L("10.0.%d.%d", "07", "GET /x HTTP/1.1", "5"), i >> 8,
                 i & 255);
        ck_assert_int_eq(feed(src, line, (uint64_t)i + 1), LT_PARSE_OK);
        ck_assert_int_eq(feed(plain, line, (uint64_t)i + 1), LT_PARSE_OK);
    }
    lt_client_memory before, after, want;
    lt_clients_memory(lt_tally_clients(src), &before);
    lt_clients_memory(lt_tally_clients(plain), &want);
    ck_assert_uint_gt(before.ipv4_set, want.ipv4_set);   /* stamped while counting */
    ck_assert_int_eq(lt_tally_absorb(dst, src), 0);
    lt_clients_memory(lt_tally_clients(dst), &after);
    ck_assert_uint_eq(after.ipv4_set, want.ipv4_set);
    lt_client_counts n;
    lt_clients_counts(lt_tally_clients(dst), &n);
    ck_assert(n.exact);
    ck_assert_uint_eq(n.ipv4, 5000);
    lt_tally_free(src);
    lt_tally_free(dst);
    lt_tally_free(plain);
}
END_TEST

START_TEST(batches_equal_lines)
{
    for (int strip = 0; strip < 2; strip++) {
        const lt_limits lim = {1 << 20, 40, strip, {0}, 0};
        lt_tally *one = lt_tally_new(&lim), *many = lt_tally_new(&lim);
        static char text[3000][160];
        lt_line lines[3000];
        for (int i = 0; i < 3000; i++) {
            char client[64];
            if (i % 3 == 0)
                snprintf(client, sizeof(client), "10.0.0.%d", i % 97);
            else if (i % 3 == 1)
                snprintf(client, sizeof(client), "2001:db8::%x", i % 97);
            else
                snprintf(client, sizeof(client), "h%d.example", i % 97);
            snprintf(text[i], sizeof(text[i]),
                     "%s - - [17/May/2015:10:%02d:%02d +0000] \"GET /p%d?q=%d HTTP/1.1\" 200 %d",
                     client, (i / 60) % 60, i % 60, (i * 7) % 61, i % 3, i);
            if (i % 101 == 0)
                snprintf(text[i], sizeof(text[i]), "malformed %d", i);
            lines[i] = (lt_line){text[i], strlen(text[i]), i % 499 == 0};
            if (lines[i].overlong)
                lt_tally_overlong(one, lines[i].text, lines[i].len, 0, (uint64_t)i + 1);
            else
                lt_tally_line(one, ps, lines[i].text, lines[i].len, 0, (uint64_t)i + 1);
        }
        for (size_t i = 0, n = 1; i < 3000; i += n, n = n % LT_SCAN_BATCH + 1) {
            if (n > 3000 - i)
                n = 3000 - i;
            ck_assert_int_eq(lt_tally_lines(many, ps, lines + i, n, 0, i + 1), 0);
        }
        assert_same_tallies(one, many);
        ck_assert(!lt_urls_exact(lt_tally_urls(many)));
        lt_tally_free(one);
        lt_tally_free(many);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tally");
    TCase *tc = tcase_create("tally");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_of_each_kind);
    tcase_add_test(tc, non_http_and_response_times);
    tcase_add_test(tc, strip_query);
    tcase_add_test(tc, samples_keep_the_most_recent);
    tcase_add_test(tc, merge_equals_one_pass);
    tcase_add_test(tc, batches_equal_lines);
    tcase_add_test(tc, absorbed_whole_drops_stamps);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
