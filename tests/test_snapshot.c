/* test_snapshot.c -- Check suite for lib/snapshot.c: round trips, merges,
 * and corrupted snapshots that must be refused, never read out of bounds. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "lt_test.h"
#include "snapshot.h"
#include "summary.h"

static lt_format *fmt;
static lt_parser *ps;

static void setup(void)
{
    char err[64];
    fmt = lt_format_new("combined", err, sizeof(err));
    ps = lt_parser_new(fmt);
}

static void teardown(void)
{
    lt_parser_free(ps);
    lt_format_free(fmt);
}

/* Counts lines [from, to) of a deterministic log mix: IPv4, IPv6 and
 * hostname clients, malformed lines, two days of seconds. */
static void feed(lt_tally *t, int from, int to)
{
    char line[512];
    for (int i = from; i < to; i++) {
        char c[64];
        int k = (i * 7919) % 5000;
        if (i % 17 == 0)
            snprintf(c, sizeof(c), "2001:db8::%x", k);
        else if (i % 13 == 0)
            snprintf(c, sizeof(c), "host-%d.example", k);
        else
            snprintf(c, sizeof(c), "10.%d.%d.1", k / 256, k % 256);
        if (i % 101 == 0)
            snprintf(line, sizeof(line), "junk line %d", i);
        else
            snprintf(line, sizeof(line),
                     "%s - - [%02d/Jan/2024:%02d:%02d:%02d +0000] \"GET /p/%d?q=%d HTTP/1.1\" 200 %d \"-\" \"ua\"",
                     c, 1 + (i / 86400) % 2, (i / 3600) % 24, (i / 60) % 60, i % 60, (i * 31) % 997,
                     i % 3, i);
        lt_tally_line(t, ps, line, strlen(line), 0, (uint64_t)i + 1);
    }
}

static char *json_of(const lt_tally *t)
{
    lt_summary s;
    lt_buf b;
    ck_assert_int_eq(lt_summary_fill(&s, t, 50), 0);
    memset(&s.memory, 0, sizeof(s.memory));
    s.url_bytes = s.rps_bytes = s.bucket_bytes = 0;
    lt_buf_init(&b);
    lt_summary_json(&b, &s, NULL, 0);
    lt_summary_release(&s);
    return b.data;
}

static lt_buf snap_of(const lt_tally *t, const lt_snapshot_source *src, size_t n)
{
    lt_buf b;
    lt_buf_init(&b);
    ck_assert_int_eq(lt_snapshot_write(&b, t, src, n, 1700000000), 0);
    return b;
}

/* Write, read, write again: the same bytes and the same report. */
static void round_trip(const lt_tally *t)
{
    char err[256];
    lt_buf a = snap_of(t, NULL, 0);
    lt_tally *back = NULL;
    ck_assert_msg(lt_snapshot_read(a.data, a.len, NULL, &back, NULL, NULL, err, sizeof(err)) == 0,
                  "%s", err);
    lt_buf b = snap_of(back, NULL, 0);
    ck_assert_uint_eq(a.len, b.len);
    ck_assert(memcmp(a.data, b.data, a.len) == 0);
    char *x = json_of(t), *y = json_of(back);
    ck_assert_str_eq(x, y);
    free(x);
    free(y);
    lt_tally_free(back);
    lt_buf_free(&a);
    lt_buf_free(&b);
}

START_TEST(exact_round_trip)
{
    lt_limits l = {64 << 20, 100000, 0, {0}, 0};
    lt_tally *t = lt_tally_new(&l);
    feed(t, 0, 30000);
    lt_client_counts c;
    lt_clients_counts(lt_tally_clients(t), &c);
    ck_assert(c.exact && c.ipv6 > 0 && c.other > 0);
    round_trip(t);
    lt_tally_free(t);
    /* An empty tally too. */
    t = lt_tally_new(&l);
    round_trip(t);
    lt_tally_free(t);
}
END_TEST

START_TEST(inexact_round_trip)
{
    /* No exact client sets, and a URL table past its bound. */
    lt_limits l = {0, 50, 1, {0}, 0};
    lt_tally *t = lt_tally_new(&l);
    feed(t, 0, 30000);
    ck_assert(!lt_urls_exact(lt_tally_urls(t)));
    lt_client_counts c;
    lt_clients_counts(lt_tally_clients(t), &c);
    ck_assert(!c.exact);
    round_trip(t);
    lt_tally_free(t);
}
END_TEST

START_TEST(sources_round_trip)
{
    char err[256];
    lt_limits l = {1 << 20, 1000, 0, {0}, 0};
    lt_tally *t = lt_tally_new(&l);
    feed(t, 0, 100);
    lt_snapshot_source src[3] = {
        {"/var/log/a.log", 2049, 12345, 100, 200, 7, 1, 2, 3, 256, 0xdeadbeefcafef00du, 0},
        {"/var/log/b.log.2.gz", 2049, 99, 0, 0, 0, 0, 0, 0, 0, 0, 1},
        /* a ghost: the content a copytruncate cut off, kept for its copy */
        {"/var/log/c.log", 0, 0, 500, 500, 5, 0, 1, 0, 256, 0x1234u, 2},
    };
    lt_buf a = snap_of(t, src, 3);
    lt_tally *back;
    lt_snapshot_source *got;
    size_t n;
    ck_assert_int_eq(lt_snapshot_read(a.data, a.len, NULL, &back, &got, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(got[2].done, 2);
    ck_assert_uint_eq(got[2].offset, 500);
    ck_assert_str_eq(got[0].path, "/var/log/a.log");
    ck_assert_uint_eq(got[0].ino, 12345);
    ck_assert_uint_eq(got[0].offset, 100);
    ck_assert_uint_eq(got[0].fp_hash, 0xdeadbeefcafef00du);
    ck_assert_uint_eq(got[0].rotations, 3);
    ck_assert_int_eq(got[1].done, 1);
    lt_snapshot_sources_free(got, n);
    lt_tally_free(back);
    lt_buf_free(&a);
    lt_tally_free(t);
}
END_TEST

/* Two halves, snapshotted and read back, merged: the whole. */
START_TEST(merge_of_halves_is_the_whole)
{
    char err[256];
    /* Bucket URL tables large enough to stay exact: a merge of top-k
     * tables keeps the bound, not the bytes of a single pass. */
    lt_limits l = {64 << 20, 100000, 0, {.urls = 100000}, 0};
    lt_tally *whole = lt_tally_new(&l), *a = lt_tally_new(&l), *b = lt_tally_new(&l);
    feed(whole, 0, 20000);
    feed(a, 0, 9000);
    feed(b, 9000, 20000);
    lt_buf sa = snap_of(a, NULL, 0), sb = snap_of(b, NULL, 0);
    lt_tally *ra, *rb;
    ck_assert_int_eq(lt_snapshot_read(sa.data, sa.len, NULL, &ra, NULL, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_snapshot_read(sb.data, sb.len, NULL, &rb, NULL, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_tally_merge(ra, rb), 0);
    char *x = json_of(whole), *y = json_of(ra);
    ck_assert_str_eq(x, y);
    free(x);
    free(y);
    /* And the merged snapshot is byte for byte the whole's. */
    lt_buf sw = snap_of(whole, NULL, 0), sm = snap_of(ra, NULL, 0);
    ck_assert(sw.len == sm.len && memcmp(sw.data, sm.data, sw.len) == 0);
    lt_buf_free(&sw);
    lt_buf_free(&sm);
    lt_buf_free(&sa);
    lt_buf_free(&sb);
    lt_tally_free(ra);
    lt_tally_free(rb);
    lt_tally_free(whole);
    lt_tally_free(a);
    lt_tally_free(b);
}
END_TEST

static lt_buf small_snapshot(void)
{
    lt_limits l = {1 << 20, 1000, 0, {0}, 0};
    lt_tally *t = lt_tally_new(&l);
    feed(t, 0, 300);
    lt_snapshot_source src = {"/var/log/a.log", 1, 2, 3, 4, 5, 1, 0, 0, 16, 42, 0};
    lt_buf b = snap_of(t, &src, 1);
    lt_tally_free(t);
    return b;
}

static int read_copy(const char *data, size_t len, char *err, size_t errlen)
{
    /* An exact-size heap copy, so ASan sees any read past the end. */
    char *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    lt_tally *t = NULL;
    lt_snapshot_source *s = NULL;
    size_t n = 0;
    int rc = lt_snapshot_read(copy, len, NULL, &t, &s, &n, err, errlen);
    lt_tally_free(t);
    lt_snapshot_sources_free(s, n);
    free(copy);
    return rc;
}

START_TEST(every_prefix_is_refused)
{
    char err[256];
    lt_buf b = small_snapshot();
    ck_assert_int_eq(read_copy(b.data, b.len, err, sizeof(err)), 0);
    for (size_t len = 0; len < b.len; len++) {
        int rc = read_copy(b.data, len, err, sizeof(err));
        if (rc != -EINVAL)
            ck_abort_msg("prefix of %zu bytes: %d", len, rc);
        if (strncmp(err, "byte ", 5) != 0)
            ck_abort_msg("prefix of %zu bytes: message '%s' gives no byte offset", len, err);
    }
    lt_buf_free(&b);
}
END_TEST

START_TEST(byte_flips_are_refused)
{
    char err[256];
    lt_buf b = small_snapshot();
    /* Every byte of the header and table, and every 7th byte after. */
    for (size_t i = 0; i < b.len; i += i < 32 + 8 * 32 ? 1 : 7) {
        for (int bit = 0; bit < 8; bit += 3) {
            b.data[i] ^= (char)(1 << bit);
            int rc = read_copy(b.data, b.len, err, sizeof(err));
            b.data[i] ^= (char)(1 << bit);
            if (rc != -EINVAL)
                ck_abort_msg("flip of bit %d at byte %zu was accepted", bit, i);
        }
    }
    lt_buf_free(&b);
}
END_TEST

/* Recomputes every checksum after an edit, as a forger would: the reader
 * must still refuse what no tally could have written. */
static void reseal(lt_buf *b)
{
    unsigned char *d = (unsigned char *)b->data;
    uint32_t n = d[12] | d[13] << 8 | (uint32_t)d[14] << 16 | (uint32_t)d[15] << 24;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *e = d + 32 + 32 * i;
        uint64_t off = 0, len = 0;
        for (int k = 0; k < 8; k++) {
            off |= (uint64_t)e[8 + k] << (8 * k);
            len |= (uint64_t)e[16 + k] << (8 * k);
        }
        uint64_t sum = XXH64(d + off, len, 0);
        for (int k = 0; k < 8; k++)
            e[24 + k] = (unsigned char)(sum >> (8 * k));
    }
    memset(d + 24, 0, 8);
    uint64_t sum = XXH64(d, 32 + 32 * n, 0);
    for (int k = 0; k < 8; k++)
        d[24 + k] = (unsigned char)(sum >> (8 * k));
}

/* The offset of section `type`'s data. */
static size_t section_at(const lt_buf *b, int type)
{
    const unsigned char *d = (const unsigned char *)b->data;
    for (int i = 0; i < 8; i++) {
        const unsigned char *e = d + 32 + 32 * i;
        if (e[0] == type) {
            size_t off = 0;
            for (int k = 0; k < 8; k++)
                off |= (size_t)e[8 + k] << (8 * k);
            return off;
        }
    }
    ck_abort_msg("no section %d", type);
    return 0;
}

static void expect_refusal(lt_buf *b, const char *what)
{
    char err[256];
    reseal(b);
    ck_assert_int_eq(read_copy(b->data, b->len, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
}

START_TEST(forged_values_are_refused)
{
    lt_buf b;
    /* A register of 52 in the HLL section (type 4). */
    b = small_snapshot();
    b.data[section_at(&b, 4) + 100] = 52;
    expect_refusal(&b, "register above 51");
    lt_buf_free(&b);
    /* A count of clients far beyond the section (type 3: u8 exact, u64 n). */
    b = small_snapshot();
    memset(b.data + section_at(&b, 3) + 1, 0xff, 8);
    expect_refusal(&b, "count larger than the section");
    lt_buf_free(&b);
    /* Counters that do not add up (type 1: lines first). */
    b = small_snapshot();
    b.data[section_at(&b, 1)] ^= 1;
    expect_refusal(&b, "lines != valid + malformed");
    lt_buf_free(&b);
    /* A version from the future. */
    b = small_snapshot();
    b.data[8] = LT_SNAPSHOT_VERSION + 1;
    expect_refusal(&b, "version 5");
    lt_buf_free(&b);
    /* Not a snapshot at all. */
    b = small_snapshot();
    memcpy(b.data, "LOGTALLX", 8);
    expect_refusal(&b, "bad magic");
    lt_buf_free(&b);
}
END_TEST

/* A version-1 snapshot (sections 1..7, as logtally wrote before the time
 * buckets), made from a version-2 one by dropping its windows and buckets
 * sections: it loads with its all-time totals, and empty buckets. */
/* The version-1 snapshot of the version-2 one v2 (sections 1..7, no
 * sources), made by dropping its windows and buckets sections. */
static lt_buf version_1_of(const lt_buf *v2)
{
    const unsigned char *d = (const unsigned char *)v2->data;
    uint32_t n = d[12] | d[13] << 8;
    ck_assert_uint_eq(n, 9);
    lt_buf v1;
    lt_buf_init(&v1);
    lt_buf_append(&v1, d, 32);
    v1.data[8] = 1;
    v1.data[12] = 7;
    size_t shift = 2 * 32;
    for (uint32_t i = 0; i < 7; i++) {
        unsigned char e[32];
        memcpy(e, d + 32 + 32 * i, 32);
        ck_assert_uint_eq(e[0], i + 1);
        uint64_t off = 0;
        for (int k = 0; k < 8; k++)
            off |= (uint64_t)e[8 + k] << (8 * k);
        off -= shift;
        for (int k = 0; k < 8; k++)
            e[8 + k] = (unsigned char)(off >> (8 * k));
        lt_buf_append(&v1, e, 32);
    }
    size_t first = section_at(v2, 1), after7 = section_at(v2, 9);
    lt_buf_append(&v1, d + first, after7 - first);
    reseal(&v1);
    return v1;
}

START_TEST(version_1_still_loads)
{
    lt_tally *t = lt_tally_new(&(lt_limits){1 << 20, 1000, 0, {0}, 0});
    feed(t, 0, 20000);
    lt_buf v2 = snap_of(t, NULL, 0);
    lt_buf v1 = version_1_of(&v2);
    char err[256];
    lt_tally *back = NULL;
    ck_assert_msg(lt_snapshot_read(v1.data, v1.len, NULL, &back, NULL, NULL, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(lt_tally_counters(back)->valid, lt_tally_counters(t)->valid);
    ck_assert_uint_eq(lt_rps_total(lt_tally_rps(back)), lt_tally_counters(t)->valid);
    ck_assert_uint_eq(lt_buckets_count(lt_tally_buckets(back)), 0);
    ck_assert_uint_eq(lt_buckets_count(lt_tally_buckets(t)), 6);
    /* Written again, it is a snapshot of today's version that reads back. */
    lt_buf again = snap_of(back, NULL, 0);
    ck_assert_uint_eq((unsigned char)again.data[8], LT_SNAPSHOT_VERSION);
    lt_tally *third = NULL;
    ck_assert_int_eq(lt_snapshot_read(again.data, again.len, NULL, &third, NULL, NULL, err,
                                      sizeof(err)), 0);
    lt_tally_free(third);
    /* A version-1 snapshot has no sections 9 and 10 to offer. */
    v1.data[32] = 9;
    reseal(&v1);
    ck_assert_int_eq(read_copy(v1.data, v1.len, err, sizeof(err)), -EINVAL);
    lt_buf_free(&again);
    lt_buf_free(&v1);
    lt_buf_free(&v2);
    lt_tally_free(back);
    lt_tally_free(t);
}
END_TEST

/* Requests that are not HTTP and response times survive a round trip. */
START_TEST(response_times_round_trip)
{
    char err[128];
    lt_format *f = lt_format_new("%h %l %u %t \"%r\" %>s %b %D", err, sizeof(err));
    lt_parser *p = lt_parser_new(f);
    lt_limits l = {1 << 20, 1000, 0, {0}, 0};
    lt_tally *t = lt_tally_new(&l);
    for (int i = 0; i < 500; i++) {
        char line[200];
        snprintf(line, sizeof(line), "10.0.%d.1 - - [01/Jan/2024:00:00:%02d +0000] \"%s\" 200 1 %d",
                 i % 50, i % 60, i % 10 ? "GET /a HTTP/1.1" : "\\x16\\x03 /", i * 997);
        ck_assert_int_eq(lt_tally_line(t, p, line, strlen(line), 0, (uint64_t)i + 1), 0);
    }
    lt_buf b;
    lt_buf_init(&b);
    ck_assert_int_eq(lt_snapshot_write(&b, t, NULL, 0, 1), 0);
    lt_tally *r = NULL;
    ck_assert_int_eq(lt_snapshot_read(b.data, b.len, NULL, &r, NULL, NULL, err, sizeof(err)), 0);
    ck_assert_uint_eq(lt_tally_counters(r)->non_http_requests, 50);
    const lt_hist *h = lt_tally_durations(t), *g = lt_tally_durations(r);
    ck_assert_uint_eq(lt_hist_count(g), 500);
    ck_assert_uint_eq(lt_hist_sum(g), lt_hist_sum(h));
    ck_assert_uint_eq(lt_hist_quantile(g, 0.99), lt_hist_quantile(h, 0.99));
    ck_assert_uint_eq(lt_hist_max(g), 499 * 997);
    /* The counters' tail came without a version bump: a version-1 file
     * that has it keeps its response times and non-HTTP requests. */
    lt_buf v1 = version_1_of(&b);
    lt_tally *old = NULL;
    ck_assert_msg(lt_snapshot_read(v1.data, v1.len, NULL, &old, NULL, NULL, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(lt_tally_counters(old)->non_http_requests, 50);
    ck_assert_uint_eq(lt_hist_count(lt_tally_durations(old)), 500);
    ck_assert_uint_eq(lt_hist_sum(lt_tally_durations(old)), lt_hist_sum(h));
    lt_tally_free(old);
    lt_buf_free(&v1);
    /* Version 3 keeps them per bucket too; a version-2 file (its buckets
     * section ends at the last bucket: made here by cutting the one
     * bucket's histogram off the last section) loads, with all-time
     * response times and none in its windows. */
    lt_window w;
    ck_assert_int_eq(lt_buckets_window(lt_tally_buckets(r), 1704067200, 1704067200 + 3599, 10, &w), 0);
    ck_assert_uint_eq(lt_hist_count(w.durations), 500);
    lt_buf tail;
    lt_buf_init(&tail);
    lt_hist_write(&tail, w.durations);
    lt_window_release(&w);
    lt_buf v2;
    lt_buf_init(&v2);
    lt_buf_append(&v2, b.data, b.len);
    unsigned char *d = (unsigned char *)v2.data;
    uint32_t n = d[12] | d[13] << 8;
    unsigned char *e = d + 32 + 32 * (n - 1);
    uint64_t off = 0, len = 0;
    for (int k = 0; k < 8; k++) {
        off |= (uint64_t)e[8 + k] << (8 * k);
        len |= (uint64_t)e[16 + k] << (8 * k);
    }
    ck_assert_uint_eq(e[0], 10);
    ck_assert_uint_eq(off + len, v2.len);
    /* The histogram, then version 4's pairs of hosts and clients. */
    size_t cut = v2.len - tail.len;
    while (cut > off && memcmp(d + cut, tail.data, tail.len) != 0)
        cut--;
    ck_assert_uint_gt(cut, off);
    len -= v2.len - cut;
    for (int k = 0; k < 8; k++)
        e[16 + k] = (unsigned char)(len >> (8 * k));
    v2.len = cut;
    d[8] = 2;
    reseal(&v2);
    ck_assert_msg(lt_snapshot_read(v2.data, v2.len, NULL, &old, NULL, NULL, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(lt_hist_count(lt_tally_durations(old)), 500);
    ck_assert_int_eq(lt_buckets_window(lt_tally_buckets(old), 1704067200, 1704067200 + 3599, 10, &w), 0);
    ck_assert_uint_eq(w.requests, 500);
    ck_assert_uint_eq(lt_hist_count(w.durations), 0);
    lt_window_release(&w);
    lt_tally_free(old);
    lt_buf_free(&v2);
    lt_buf_free(&tail);
    /* Forged: more requests that are not HTTP than unparsed ones. */
    size_t at = section_at(&b, 1) + 40;
    memset(b.data + at, 0x7f, 8);
    expect_refusal(&b, "not HTTP than unparsed");
    lt_buf_free(&b);
    lt_tally_free(r);
    lt_tally_free(t);
    lt_parser_free(p);
    lt_format_free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, version_1_still_loads);
    tcase_add_test(tc, exact_round_trip);
    tcase_add_test(tc, response_times_round_trip);
    tcase_add_test(tc, inexact_round_trip);
    tcase_add_test(tc, sources_round_trip);
    tcase_add_test(tc, merge_of_halves_is_the_whole);
    tcase_add_test(tc, every_prefix_is_refused);
    tcase_add_test(tc, byte_flips_are_refused);
    tcase_add_test(tc, forged_values_are_refused);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
