/* test_parse.c -- Check suite for lib/parse.c: formats, fields, escapes,
 * timestamps, clients, and lines that try to break the walker. */
#include <check.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"
#include "lt_test.h"

static lt_format *fmt;
static lt_parser *ps;
static lt_record rec;

static void use_format(const char *spec)
{
    char err[256];
    lt_parser_free(ps);
    lt_format_free(fmt);
    fmt = lt_format_new(spec, err, sizeof(err));
    ck_assert_msg(fmt != NULL, "format '%s': %s", spec, err);
    ps = lt_parser_new(fmt);
    ck_assert_ptr_nonnull(ps);
}

static void setup(void)
{
    use_format("combined");
}

static void teardown(void)
{
    lt_parser_free(ps);
    lt_format_free(fmt);
    ps = NULL;
    fmt = NULL;
}

static int parse(const char *line)
{
    memset(&rec, 0xa5, sizeof(rec));
    return lt_parse_line(ps, line, strlen(line), &rec);
}

static void assert_url(const char *want)
{
    ck_assert_ptr_nonnull(rec.url);
    ck_assert_uint_eq(rec.url_len, strlen(want));
    ck_assert_msg(memcmp(rec.url, want, rec.url_len) == 0, "url '%.*s' != '%s'",
                  (int)rec.url_len, rec.url, want);
}

#define COMBINED_OK                                                                          \
    "192.0.2.7 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?x=1 HTTP/1.0\" 200 " \
    "2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""

/* The method is the request's first token, both through the fast path and
 * the plan walker, and absent exactly when the URL is. */
START_TEST(request_method)
{
    static const struct {
        const char *request;
        const char *method;   /* NULL: none */
    } cases[] = {
        {"GET /a HTTP/1.1", "GET"},
        {"POST /a", "POST"},
        {"  DELETE   /a   HTTP/1.1  ", "DELETE"},
        {"BREW /pot HTCPCP/1.0", "BREW"},
        {"GET", NULL},
        {"-", NULL},
        {"GET /a HTTP/1.1 extra", NULL},
    };
    char line[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] \"%s\" 200 1",
                 cases[i].request);
        for (int generic = 0; generic < 2; generic++) {
            memset(&rec, 0xa5, sizeof(rec));
            int rc = generic ? lt_parse_line_generic(ps, line, strlen(line), &rec)
                             : lt_parse_line(ps, line, strlen(line), &rec);
            ck_assert_int_eq(rc, LT_PARSE_OK);
            if (cases[i].method == NULL) {
                ck_assert_msg(rec.method == NULL && rec.url == NULL, "'%s': a method", line);
                continue;
            }
            ck_assert_msg(rec.method != NULL && rec.method_len == strlen(cases[i].method) &&
                              memcmp(rec.method, cases[i].method, rec.method_len) == 0,
                          "'%s' (generic %d): method '%.*s'", line, generic,
                          rec.method ? (int)rec.method_len : 0, rec.method ? rec.method : "");
        }
    }
}
END_TEST

START_TEST(combined_line)
{
    ck_assert_int_eq(parse(COMBINED_OK), LT_PARSE_OK);
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(rec.ipv4, 0xc0000207u);
    ck_assert_int_eq(rec.ts, 971211336);
    assert_url("/apache_pb.gif?x=1");
    ck_assert_uint_eq(rec.status, 200);
    ck_assert_uint_eq(rec.bytes, 2326);
    ck_assert_ptr_null(rec.vhost);
}
END_TEST

START_TEST(common_line_and_combined_leniency)
{
    static const char *nasa =
        "199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] \"GET /history/apollo/ HTTP/1.0\" 200 6245";
    use_format("common");
    ck_assert_int_eq(parse(nasa), LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 804571201);
    assert_url("/history/apollo/");
    /* A combined line read as common: the trailing fields are not looked at. */
    ck_assert_int_eq(parse(COMBINED_OK), LT_PARSE_OK);
    ck_assert_uint_eq(rec.bytes, 2326);
    /* A common line read as combined is valid too (SPEC's validity rule). */
    use_format("combined");
    ck_assert_int_eq(parse(nasa), LT_PARSE_OK);
    ck_assert_uint_eq(rec.bytes, 6245);
}
END_TEST

START_TEST(escapes_in_quoted_fields)
{
    /* An escaped quote inside the request must not end it. */
    ck_assert_int_eq(parse("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /a\\\"b HTTP/1.1\" 404 12 \"-\" \"x\""),
                     LT_PARSE_OK);
    assert_url("/a\\\"b");
    ck_assert_uint_eq(rec.status, 404);
    /* An escaped backslash right before the closing quote ends the field. */
    ck_assert_int_eq(parse("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /dir\\\\\" 200 5 \"-\" \"x\""),
                     LT_PARSE_OK);
    assert_url("/dir\\\\");
    ck_assert_uint_eq(rec.bytes, 5);
    /* \xhh escapes are kept as logged. */
    ck_assert_int_eq(parse("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /\\xff\\x00 HTTP/1.1\" 200 1 \"ref \\\"q\\\" \\\\\" \"ua\\x7f\""),
                     LT_PARSE_OK);
    assert_url("/\\xff\\x00");
    /* A request whose closing quote is escaped never ends: malformed. */
    ck_assert_int_eq(parse("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\\\" 200 1"),
                     LT_PARSE_REQUEST);
}
END_TEST

START_TEST(request_shapes)
{
    static const char *pre = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] ";
    char line[256];
    static const struct {
        const char *req;
        const char *url;   /* NULL: unparsed request */
    } cases[] = {
        {"\"GET   /x    HTTP/1.0\"", "/x"},
        {"\"  GET /lead HTTP/1.0  \"", "/lead"},
        {"\"GET /ksc.html\"", "/ksc.html"},
        {"\"-\"", NULL},
        {"\"\"", NULL},
        {"\"GET\"", NULL},
        {"\"GET /a b HTTP/1.0\"", NULL},
        {"\"\\x16\\x03\\x01\\x00\"", NULL},
        {"\"OPTIONS * HTTP/1.1\"", "*"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "%s%s 200 1 \"-\" \"-\"", pre, cases[i].req);
        ck_assert_msg(parse(line) == LT_PARSE_OK, "%s", line);
        if (cases[i].url)
            assert_url(cases[i].url);
        else
            ck_assert_msg(rec.url == NULL, "%s should be unparsed", cases[i].req);
    }
}
END_TEST

START_TEST(timestamps_and_zones)
{
    static const struct {
        const char *ts;
        int64_t want;
    } cases[] = {
        {"17/May/2015:10:05:03 +0000", 1431857103},
        {"22/Jan/2019:03:56:14 +0330", 1548116774},
        {"29/Feb/2016:23:59:59 +0530", 1456770599},
        {"01/Jan/1970:00:00:00 +0100", -3600},
        {"31/Dec/9999:23:59:59 -0930", 253402334999},
        {"01/Jul/1995:00:00:01 -0400", 804571201},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t t = 0;
        ck_assert_int_eq(lt_parse_time(cases[i].ts, &t), 0);
        ck_assert_msg(t == cases[i].want, "%s: %lld", cases[i].ts, (long long)t);
        char line[200];
        snprintf(line, sizeof(line), "::1 - - [%s] \"GET / HTTP/1.1\" 200 1", cases[i].ts);
        ck_assert_int_eq(parse(line), LT_PARSE_OK);
        ck_assert_int_eq(rec.ts, cases[i].want);
    }
    static const char *bad[] = {
        "29/Feb/2015:00:00:00 +0000", "31/Apr/2015:00:00:00 +0000", "00/Jan/2015:00:00:00 +0000",
        "10/Foo/2015:00:00:00 +0000", "10/Oct/2015:25:00:00 +0000", "10/Oct/2015:23:60:00 +0000",
        "10/Oct/2015:23:00:61 +0000", "10/Oct/1900:00:00:00 +0000", "10/Oct/2015:00:00:00 *0000",
        "10/Oct/2015:00:00:00 +0060", "10/Oct/2015 00:00:00 +0000", "1O/Oct/2015:00:00:00 +0000",
        "10/oct/2015:00:00:00 +0000", "10-Oct-2015:00:00:00 +0000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t;
        ck_assert_msg(lt_parse_time(bad[i], &t) == LT_PARSE_TIME, "%s accepted", bad[i]);
        char line[200];
        snprintf(line, sizeof(line), "::1 - - [%s] \"GET / HTTP/1.1\" 200 1", bad[i]);
        ck_assert_int_eq(parse(line), LT_PARSE_TIME);
    }
    /* Missing brackets, a truncated stamp. */
    ck_assert_int_eq(parse("::1 - - 10/Oct/2000:13:55:36 -0700 \"GET / HTTP/1.1\" 200 1"), LT_PARSE_TIME);
    ck_assert_int_eq(parse("::1 - - [10/Oct/2000:13:55:36 -0700 \"GET / HTTP/1.1\" 200 1"), LT_PARSE_TIME);
    ck_assert_int_eq(parse("::1 - - [10/Oct/2000:13:55"), LT_PARSE_TIME);
}
END_TEST

/* The cached path must agree with the uncached one and with libc's timegm
 * for every day 1970..2100 in a mix of zones, interleaved to stress the
 * cache's slots. */
START_TEST(timestamp_cache_matches_timegm)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *zones[] = {"+0000", "-0400", "+0530", "+0330", "-0930", "+1400", "-1200"};
    static const int zone_sec[] = {0, -14400, 19800, 12600, -34200, 50400, -43200};
    char line[200];
    for (time_t day = 0; day < (time_t)48000 * 86400; day += 86400 * 3 + 3600 * 7 + 61) {
        for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
            struct tm tm;
            gmtime_r(&day, &tm);
            snprintf(line, sizeof(line), "h - - [%02d/%s/%04d:%02d:%02d:%02d %s] \"GET / H\" 200 1",
                     tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, zones[z]);
            if (parse(line) != LT_PARSE_OK)
                ck_abort_msg("%s rejected", line);
            int64_t want = (int64_t)timegm(&tm) - zone_sec[z];
            if (rec.ts != want)
                ck_abort_msg("%s: %lld != %lld", line, (long long)rec.ts, (long long)want);
        }
    }
}
END_TEST

static void client_of(const char *s, lt_record *r)
{
    memset(r, 0, sizeof(*r));
    lt_parse_client(s, strlen(s), r);
}

START_TEST(ipv4_clients)
{
    lt_record r;
    client_of("0.0.0.0", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0);
    client_of("255.255.255.255", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0xffffffffu);
    client_of("10.0.0.1", &r);
    ck_assert_uint_eq(r.ipv4, 0x0a000001u);
    static const char *hosts[] = {"1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4.5", "1..2.3",
                                  "1.2.3.4 ", "a.b.c.d", "1.2.3.-4", "1234.1.1.1", "-"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        client_of(hosts[i], &r);
        ck_assert_msg(r.client == LT_CLIENT_HOST, "%s is not a hostname", hosts[i]);
        ck_assert_uint_eq(r.host_len, strlen(hosts[i]));
    }
}
END_TEST

START_TEST(ipv6_clients)
{
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const char *same[] = {"2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001",
                                 "[2001:db8::1]", "2001:db8::1%eth0", "[2001:db8:0::1%25]",
                                 "2001:db8:0:0:0:0:0.0.0.1"};
    lt_record r;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        client_of(same[i], &r);
        ck_assert_msg(r.client == LT_CLIENT_IPV6, "%s is not IPv6", same[i]);
        ck_assert_msg(memcmp(r.ipv6, want, 16) == 0, "%s parsed wrongly", same[i]);
    }
    /* IPv4-mapped addresses count as the IPv4 address, in both spellings. */
    client_of("::ffff:192.0.2.1", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0xc0000201u);
    client_of("[::FFFF:c000:0201]", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0xc0000201u);
    client_of("::1", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV6);
    /* Not addresses: hostnames. */
    static const char *hosts[] = {"2001:db8::1::2", "[2001:db8::1", "2001:db8::1]", "fe80::1%",
                                  "2001:db8::g", ":::", "[::1]:", "[::1]:8a", "a:b",
                                  "1.2.3.4:", "1.2.3.4:80x", "1.2.3.4::80", "01.2.3.4:80"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        client_of(hosts[i], &r);
        ck_assert_msg(r.client == LT_CLIENT_HOST, "%s is not a hostname", hosts[i]);
    }
    /* A NUL inside the field must not cut it short into "::1". */
    lt_parse_client("::1\0junk", 8, &r);
    ck_assert_int_eq(r.client, LT_CLIENT_HOST);
    ck_assert_uint_eq(r.host_len, 8);
}
END_TEST

START_TEST(status_and_size)
{
    static const char *pre = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" ";
    char line[256];
    static const struct {
        const char *tail;
        int rc;
        uint64_t bytes;
    } cases[] = {
        {"200 -", LT_PARSE_OK, 0},
        {"200 0", LT_PARSE_OK, 0},
        {"599 18446744073709551", LT_PARSE_OK, 18446744073709551u},
        {"200 9999999999999999999", LT_PARSE_OK, 9999999999999999999u},
        {"200 99999999999999999999", LT_PARSE_SIZE, 0},
        {"200 12a", LT_PARSE_SIZE, 0},
        {"200 --", LT_PARSE_SIZE, 0},
        {"200", LT_PARSE_SIZE, 0},
        {"200 ", LT_PARSE_SIZE, 0},
        {"20 1", LT_PARSE_STATUS, 0},
        {"2000 1", LT_PARSE_STATUS, 0},
        {"2x0 1", LT_PARSE_STATUS, 0},
        {"- 1", LT_PARSE_STATUS, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "%s%s", pre, cases[i].tail);
        ck_assert_msg(parse(line) == cases[i].rc, "'%s': %d", cases[i].tail, parse(line));
        if (cases[i].rc == LT_PARSE_OK)
            ck_assert_uint_eq(rec.bytes, cases[i].bytes);
    }
}
END_TEST

START_TEST(line_endings_and_junk)
{
    char line[512];
    snprintf(line, sizeof(line), "%s\r", COMBINED_OK);
    ck_assert_int_eq(parse(line), LT_PARSE_OK);
    ck_assert_uint_eq(rec.bytes, 2326);
    ck_assert_int_eq(parse(""), LT_PARSE_EMPTY);
    ck_assert_int_eq(parse("\r"), LT_PARSE_EMPTY);
    ck_assert_int_eq(parse(" "), LT_PARSE_CLIENT);
    ck_assert_int_eq(parse("\x16\x03\x01\x02\x00"), LT_PARSE_FIELD);
    /* NUL bytes inside a quoted field are just bytes. */
    static const char nul_ua[] = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /n HTTP/1.1\" "
                                 "200 7 \"-\" \"a\0b\"";
    ck_assert_int_eq(lt_parse_line(ps, nul_ua, sizeof(nul_ua) - 1, &rec), LT_PARSE_OK);
    ck_assert_uint_eq(rec.bytes, 7);
    /* NUL inside the URL is kept. */
    static const char nul_url[] = "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a\0b HTTP/1.1\" 200 7";
    ck_assert_int_eq(lt_parse_line(ps, nul_url, sizeof(nul_url) - 1, &rec), LT_PARSE_OK);
    ck_assert_uint_eq(rec.url_len, 4);
    ck_assert_int_eq(memcmp(rec.url, "/a\0b", 4), 0);
}
END_TEST

/* Every prefix of a valid line is read without going past its end (run
 * under ASan with a heap copy of exactly that length), and every prefix
 * that stops before the size field is malformed. */
START_TEST(every_prefix_is_safe)
{
    const char *full = COMBINED_OK;
    size_t n = strlen(full), size_at = (size_t)(strstr(full, " 2326 ") - full) + 1;
    for (size_t len = 0; len <= n; len++) {
        char *copy = malloc(len ? len : 1);
        memcpy(copy, full, len);
        int rc = lt_parse_line(ps, copy, len, &rec);
        if (len <= size_at)
            ck_assert_msg(rc != LT_PARSE_OK, "prefix of %zu bytes accepted", len);
        free(copy);
    }
}
END_TEST

START_TEST(vhost_and_nginx)
{
    use_format("vhost_combined");
    ck_assert_int_eq(parse("www.example.com:443 2001:db8::5 - - [10/Oct/2000:13:55:36 -0700] "
                           "\"GET /v HTTP/2.0\" 301 0 \"-\" \"curl/8\""),
                     LT_PARSE_OK);
    ck_assert_ptr_nonnull(rec.vhost);
    ck_assert_uint_eq(rec.vhost_len, strlen("www.example.com"));
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV6);
    assert_url("/v");
    ck_assert_uint_eq(rec.status, 301);
    use_format("nginx");
    /* nginx combined with an extra quoted X-Forwarded-For field. */
    ck_assert_int_eq(parse("54.36.149.41 - - [22/Jan/2019:03:56:14 +0330] \"GET /filter/27 HTTP/1.1\" "
                           "200 30577 \"-\" \"Mozilla/5.0\" \"-\""),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 1548116774);
}
END_TEST

START_TEST(custom_formats)
{
    use_format("%h %l %u %t \"%r\" %>s %b %D \"%{User-Agent}i\"");
    ck_assert_int_eq(parse("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /d HTTP/1.1\" 200 9 1234 \"ua\""),
                     LT_PARSE_OK);
    assert_url("/d");
    /* Fields in another order, client last, literal text between. */
    use_format("[%v] %t \"%r\" status=%>s size=%B from %a");
    ck_assert_int_eq(parse("[site] [10/Oct/2000:13:55:36 -0700] \"POST /p HTTP/1.1\" status=201 size=15 from 10.1.2.3"),
                     LT_PARSE_OK);
    ck_assert_uint_eq(rec.status, 201);
    ck_assert_uint_eq(rec.bytes, 15);
    ck_assert_uint_eq(rec.ipv4, 0x0a010203u);
    ck_assert_uint_eq(rec.vhost_len, 4);   /* not "site]": the field stops at the literal "]" */
    ck_assert_int_eq(memcmp(rec.vhost, "site", 4), 0);
    ck_assert_int_eq(parse("[site] [10/Oct/2000:13:55:36 -0700] \"POST /p HTTP/1.1\" status=201 size=15 by 10.1.2.3"),
                     LT_PARSE_CLIENT);
    /* %% is a literal percent sign. */
    use_format("%h 100%% %t \"%r\" %s %b");
    ck_assert_int_eq(parse("h 100% [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 1"), LT_PARSE_OK);
}
END_TEST

START_TEST(format_errors)
{
    static const struct {
        const char *spec;
        const char *msg;
    } bad[] = {
        {"%h %l %u \"%r\" %>s %b", "no timestamp"},
        {"%h %t %r %>s %b", "between double quotes"},
        {"%t \"%r\" %>s %b", "no client"},
        {"%h %t \"%r\" %b", "no status"},
        {"%h %t \"%r\" %s", "no response size"},
        {"%h %{%d/%b}t \"%r\" %s %b", "custom time formats"},
        {"%h %t \"%r\" %s %b %", "directive letter"},
        {"%h %t \"%r\" %s %b %{Referer", "without '}'"},
        {"", "no client"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256];
        lt_format *f = lt_format_new(bad[i].spec, err, sizeof(err));
        ck_assert_msg(f == NULL, "'%s' accepted", bad[i].spec);
        ck_assert_msg(strstr(err, bad[i].msg) != NULL, "'%s': message '%s'", bad[i].spec, err);
    }
    char err[256];
    ck_assert_ptr_null(lt_format_new("%h %t %r %>s %b", err, sizeof(err)));
    ck_assert_msg(strncmp(err, "column 7:", 9) == 0, "message '%s' lacks the column", err);
    ck_assert_str_eq(lt_format_string(fmt), "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"");
}
END_TEST

/* Random bytes and random mutations of a valid line: no crash, no read past
 * the end (ASan), and the result is one of the documented codes. */
START_TEST(random_junk)
{
    uint64_t x = 0x12345678;
    char buf[400];
    for (int iter = 0; iter < 200000; iter++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t len;
        if (iter % 2) {
            len = x % sizeof(buf);
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (char)x;
            }
        } else {
            len = strlen(COMBINED_OK);
            memcpy(buf, COMBINED_OK, len);
            for (int k = 0; k < 3; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[x % len] = (char)(x >> 32);
            }
        }
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        int rc = lt_parse_line(ps, copy, len, &rec);
        if (rc > 0 || rc < LT_PARSE_FIELD)
            ck_abort_msg("undocumented result %d", rc);
        free(copy);
    }
}
END_TEST

/* ------------------------------------------------------------------------
 * The fast path against the plan walker
 *
 * lt_parse_line() tries a fast path for the common/combined prefix and
 * falls back to the plan walker; lt_parse_line_generic() only walks.  They
 * must agree on every line: the same code, and for a valid line the same
 * record.
 * ---------------------------------------------------------------------- */

static const char *const fast_formats[] = {
    "combined", "common", "%h %l %u %t \"%r\" %>s %b %D \"%{User-Agent}i\"",
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
    "\"$http_referer\" \"$http_user_agent\"",
};

static void assert_records_equal(const lt_record *a, const lt_record *b, const char *line,
                                 size_t len)
{
    int same = a->client == b->client && a->ts == b->ts && a->url == b->url &&
               a->url_len == b->url_len && a->status == b->status && a->bytes == b->bytes &&
               a->vhost == b->vhost && a->vhost_len == b->vhost_len &&
               a->method == b->method && a->method_len == b->method_len &&
               a->duration_us == b->duration_us && a->non_http == b->non_http;
    if (same && a->client == LT_CLIENT_IPV4)
        same = a->ipv4 == b->ipv4;
    if (same && a->client == LT_CLIENT_IPV6)
        same = memcmp(a->ipv6, b->ipv6, 16) == 0;
    if (same && a->client == LT_CLIENT_HOST)
        same = a->host == b->host && a->host_len == b->host_len;
    ck_assert_msg(same, "fast path and walker give different records for '%.*s'", (int)len, line);
}

/* Parses len bytes at line both ways (from a heap copy of exactly len
 * bytes, so ASan sees any read past the end). */
static void assert_fast_matches_walker(const char *line, size_t len)
{
    char *copy = malloc(len ? len : 1);
    lt_record a, b;
    memcpy(copy, line, len);
    memset(&a, 0x5a, sizeof(a));
    memset(&b, 0x5a, sizeof(b));
    int ra = lt_parse_line(ps, copy, len, &a);
    int rb = lt_parse_line_generic(ps, copy, len, &b);
    ck_assert_msg(ra == rb, "fast path %d, walker %d for '%.*s'", ra, rb, (int)len, line);
    if (ra == LT_PARSE_OK)
        assert_records_equal(&a, &b, copy, len);
    free(copy);
}

/* The repository root, from this file's path (tests/test_parse.c). */
static void repo_path(char *out, size_t outlen, const char *rel)
{
    const char *file = __FILE__, *cut = strstr(file, "tests/test_parse.c");
    int root = cut != NULL ? (int)(cut - file) : 0;
    snprintf(out, outlen, "%.*s%s", root, file, rel);
}

/* Reads the whole file at the repository-relative path, or returns NULL. */
static char *slurp(const char *rel, size_t *len)
{
    char path[4096];
    repo_path(path, sizeof(path), rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

static const char *const corpus[] = {
    "sample/access.log",
    "../shared/reallogs/elastic-apache_logs.log",
    "../shared/reallogs/nasa-aug95-first20000.log",
    "../shared/reallogs/nielsbasjes-hackers-access.log",
    "../shared/reallogs/lnav-zanbil-shop-access.log",
};

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Rewrites line (len bytes, room for cap) by one to three random edits
 * aimed at the fast path's assumptions: separators, quotes, escapes,
 * digits, line ends.  Returns the new length. */
static size_t mutate(char *line, size_t len, size_t cap, uint64_t *x)
{
    static const char bytes[] = " \"\\-[]:./09a+\r\xff";
    int edits = 1 + (int)(xorshift(x) % 3);
    for (int k = 0; k < edits && len > 0; k++) {
        size_t at = xorshift(x) % len;
        char c = bytes[xorshift(x) % (sizeof(bytes) - 1)];
        if (xorshift(x) % 16 == 0)
            c = '\0';
        switch (xorshift(x) % 5) {
        case 0:    /* replace */
            line[at] = c;
            break;
        case 1:    /* delete */
            memmove(line + at, line + at + 1, len - at - 1);
            len--;
            break;
        case 2:    /* insert */
        case 3:    /* double a space, or insert next to where one would be */
            if (len == cap)
                break;
            memmove(line + at + 1, line + at, len - at);
            line[at] = (xorshift(x) % 5 == 3 || line[at + 1] == ' ') ? ' ' : c;
            len++;
            break;
        default:    /* truncate */
            len = at;
            break;
        }
    }
    return len;
}

/* Every line of the sample log and of the real logs (when ../shared/
 * reallogs exists), read by every format that has the fast path, and
 * twenty random mutations of each line. */
START_TEST(fast_path_matches_walker)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t files = 0, lines = 0;
    for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
        size_t n;
        char *text = slurp(corpus[i], &n);
        if (text == NULL) {
            ck_assert_msg(i > 0, "%s is missing", corpus[i]);
            continue;
        }
        files++;
        for (size_t fi = 0; fi < sizeof(fast_formats) / sizeof(fast_formats[0]); fi++) {
            use_format(fast_formats[fi]);
            for (char *p = text, *end = text + n; p < end;) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
                assert_fast_matches_walker(p, len);
                lines++;
                if (fi == 0) {
                    char buf[8192];
                    for (int m = 0; m < 20 && len + 8 <= sizeof(buf); m++) {
                        memcpy(buf, p, len);
                        assert_fast_matches_walker(buf, mutate(buf, len, sizeof(buf), &x));
                    }
                }
                p += len + 1;
            }
        }
        free(text);
    }
    ck_assert_uint_ge(files, 1);
    ck_assert_uint_ge(lines, 3000);
}
END_TEST

/* Hand-made lines at each edge of the fast path. */
START_TEST(fast_path_edges)
{
    static const char *const lines[] = {
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"-\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET \" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \" GET /a\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET  /a HTTP/1.1\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a  HTTP/1.1\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1 \" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1 x\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a\\\" HTTP/1.1\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a\\\\\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\\\"\" 200 -",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\"  200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200  5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 2000 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 -5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5x",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 1234567890123456789",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 12345678901234567890",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 ",
        "1.2.3.4  - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 frank bob [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - -  [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700]  \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:60 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:61 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:3x -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36-0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55-36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:24:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0760] \"GET /a HTTP/1.1\" 200 5",
        "01.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "256.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "::ffff:1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "[2001:db8::1] - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "host.example - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5\r",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.1",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /a/with/a/long/path/past/sixteen/bytes?q=1",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700]",
        "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] ",
        "1.2.3.4 - -",
        "1.2.3.4",
    };
    for (size_t fi = 0; fi < sizeof(fast_formats) / sizeof(fast_formats[0]); fi++) {
        use_format(fast_formats[fi]);
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            for (size_t len = 0; len <= strlen(lines[i]); len++)
                assert_fast_matches_walker(lines[i], len);
    }
    /* Minutes the cache holds, read again in another order and zone. */
    use_format("combined");
    static const char *const times[] = {
        "[10/Oct/2000:13:55:36 -0700]", "[10/Oct/2000:13:56:36 -0700]",
        "[10/Oct/2000:13:55:59 +0000]", "[10/Oct/2000:13:55:00 -0700]",
        "[11/Oct/2000:13:55:36 -0700]", "[10/Oct/2001:13:55:36 -0700]",
        "[10/Oct/2000:13:55:36 -0730]", "[10/Oct/2000:23:55:36 -0700]",
        "[10/Oct/2100:13:55:36 -0700]", "[10/Oct/2000:13:55:60 -0700]",
        "[10/Oct/2000:13:55:36 -0701]",
    };
    /* Broken in the bytes a cache hit still checks, right after the same
     * minute was cached. */
    static const char *const bad_times[] = {
        "[10/Oct/2000:13:55:36x-0700]", "[10/Oct/2000:13:55x36 -0700]",
        "[10/Oct/2000:13:55:3a -0700]", "[10/Oct/2000:13:55:61 -0700]",
        "[10/Oct/2000:13x55:36 -0700]", "[10/Oct/2000:13:55:36 -07x0]",
    };
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            char line[128];
            int64_t want;
            snprintf(line, sizeof(line), "1.2.3.4 - - %s \"GET / HTTP/1.1\" 200 1", times[i]);
            ck_assert_int_eq(lt_parse_time(times[i] + 1, &want), 0);
            ck_assert_int_eq(parse(line), LT_PARSE_OK);
            ck_assert_int_eq(rec.ts, want);
            assert_fast_matches_walker(line, strlen(line));
        }
    /* A timestamp of NUL bytes but for ":00 " must not match an empty
     * cache slot. */
    use_format("combined");
    static const char zeros[] = "1.2.3.4 - - [\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0:00 "
                                "\0\0\0\0\0] \"GET / HTTP/1.1\" 200 1";
    ck_assert_int_eq(lt_parse_line(ps, zeros, sizeof(zeros) - 1, &rec), LT_PARSE_TIME);
    assert_fast_matches_walker(zeros, sizeof(zeros) - 1);
    for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "1.2.3.4 - - %s \"GET / HTTP/1.1\" 200 1", times[0]);
        ck_assert_int_eq(parse(line), LT_PARSE_OK);
        snprintf(line, sizeof(line), "1.2.3.4 - - %s \"GET / HTTP/1.1\" 200 1", bad_times[i]);
        ck_assert_msg(parse(line) == LT_PARSE_TIME, "%s accepted", bad_times[i]);
        assert_fast_matches_walker(line, strlen(line));
    }
}
END_TEST

/* Client fields made of digits and dots (and a few other bytes): the fast
 * path's dotted-quad reader against the walker's. */
START_TEST(fast_path_ipv4_clients)
{
    static const char alphabet[] = "0123456789.........0125a:";
    uint64_t x = 0x2545f4914f6cdd1du;
    char line[128];
    for (int fi = 0; fi < 2; fi++) {
        use_format(fast_formats[fi]);
        for (int iter = 0; iter < 200000; iter++) {
            size_t n = 1 + xorshift(&x) % 16;
            for (size_t i = 0; i < n; i++)
                line[i] = alphabet[xorshift(&x) % (sizeof(alphabet) - 1)];
            int len = snprintf(line + n, sizeof(line) - n,
                               " - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1");
            assert_fast_matches_walker(line, n + (size_t)len);
        }
        /* Every octet value, with and without leading zeros, in each place. */
        for (int v = 0; v < 1000; v++)
            for (int place = 0; place < 4; place++)
                for (int width = 1; width <= 3; width++) {
                    char octet[8];
                    snprintf(octet, sizeof(octet), "%0*d", width, v);
                    int len = snprintf(line, sizeof(line),
                                       "%s.%s.%s.%s - - [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 1",
                                       place == 0 ? octet : "10", place == 1 ? octet : "2",
                                       place == 2 ? octet : "255", place == 3 ? octet : "0");
                    assert_fast_matches_walker(line, (size_t)len);
                }
    }
}
END_TEST


/* ------------------------------------------------------------------------
 * The logs people have: ports, proxies, nginx and JSON formats, response
 * times, requests that are not HTTP
 * ---------------------------------------------------------------------- */

static void use_format_with(const char *spec, const lt_format_opts *o)
{
    char err[256];
    lt_parser_free(ps);
    lt_format_free(fmt);
    fmt = lt_format_new_with(spec, o, err, sizeof(err));
    ck_assert_msg(fmt != NULL, "format '%s': %s", spec, err);
    ps = lt_parser_new(fmt);
    ck_assert_ptr_nonnull(ps);
}

static void assert_ipv4(uint32_t want)
{
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV4);
    ck_assert_msg(rec.ipv4 == want, "client %08x != %08x", rec.ipv4, want);
}

START_TEST(clients_with_ports)
{
    lt_record r;
    client_of("1.2.3.4:5678", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0x01020304u);
    client_of("[2001:db8::1]:5678", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV6);
    ck_assert_int_eq(r.ipv6[0], 0x20);
    ck_assert_int_eq(r.ipv6[15], 1);
    client_of("[::ffff:192.0.2.1]:443", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV4);
    ck_assert_uint_eq(r.ipv4, 0xc0000201u);
    /* A bare IPv6 address keeps its last group: it is no port. */
    client_of("2001:db8::1:80", &r);
    ck_assert_int_eq(r.client, LT_CLIENT_IPV6);
    ck_assert_int_eq(r.ipv6[15], 0x80);
    ck_assert_int_eq(parse("1.2.3.4:5678 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5"),
                     LT_PARSE_OK);
    assert_ipv4(0x01020304u);
    ck_assert_int_eq(parse("[2001:db8::1]:5678 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5"),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV6);
}
END_TEST

#define REST " - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\""

START_TEST(client_lists_and_trusted_proxies)
{
    /* A list in the first field is read whole; with no trusted proxy the
     * client is the address nearest to the server. */
    ck_assert_int_eq(parse("10.0.0.2, 10.0.0.1, 127.0.0.1" REST), LT_PARSE_OK);
    assert_ipv4(0x7f000001u);
    ck_assert_int_eq(rec.status, 200);
    assert_url("/");

    static const char *const trusted[] = {"127.0.0.1", "10.0.0.0/8", "2001:db8::/32"};
    lt_format_opts o = {.trusted = trusted, .n_trusted = 3};
    use_format_with("combined", &o);
    ck_assert_int_eq(parse("203.0.113.9, 10.0.0.1, 127.0.0.1" REST), LT_PARSE_OK);
    assert_ipv4(0xcb007109u);
    /* Every address trusted: the leftmost, as realip does. */
    ck_assert_int_eq(parse("10.0.0.2, 10.0.0.1, 127.0.0.1" REST), LT_PARSE_OK);
    assert_ipv4(0x0a000002u);
    /* An untrusted address in the middle stops the walk there. */
    ck_assert_int_eq(parse("10.0.0.2, 198.51.100.1, 10.0.0.1" REST), LT_PARSE_OK);
    assert_ipv4(0xc6336401u);
    ck_assert_int_eq(parse("198.51.100.7, 2001:db8::5" REST), LT_PARSE_OK);
    assert_ipv4(0xc6336407u);
    ck_assert_int_eq(parse("2001:db9::5, [2001:db8::5]:443" REST), LT_PARSE_OK);
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV6);
    ck_assert_int_eq(rec.ipv6[3], 0xb9);
    /* A single address is the client, trusted or not. */
    ck_assert_int_eq(parse("127.0.0.1" REST), LT_PARSE_OK);
    assert_ipv4(0x7f000001u);

    /* From a logged header: the peer, then the header's list. */
    lt_format_opts h = {.client_header = "X-Forwarded-For", .trusted = trusted, .n_trusted = 3};
    use_format_with("%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" \"%{X-Forwarded-For}i\"", &h);
    ck_assert_int_eq(parse("10.0.0.5" REST " \"198.51.100.7, 10.0.0.3\""), LT_PARSE_OK);
    assert_ipv4(0xc6336407u);
    ck_assert_int_eq(parse("192.0.2.1" REST " \"198.51.100.7\""), LT_PARSE_OK);
    assert_ipv4(0xc0000201u);     /* an untrusted peer is the client */
    ck_assert_int_eq(parse("10.0.0.5" REST " \"-\""), LT_PARSE_OK);
    assert_ipv4(0x0a000005u);     /* no header: the peer */
    ck_assert_int_eq(parse("10.0.0.5" REST), LT_PARSE_FIELD);    /* the header is counted */
    use_format_with("$remote_addr - $remote_user [$time_local] \"$request\" $status "
                    "$body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\"", &h);
    ck_assert_int_eq(parse("10.0.0.5" REST " \"198.51.100.7, 10.0.0.3\""), LT_PARSE_OK);
    assert_ipv4(0xc6336407u);

    char err[256];
    lt_format_opts none = {.client_header = "X-Real-IP"};
    ck_assert_ptr_null(lt_format_new_with("combined", &none, err, sizeof(err)));
    ck_assert_msg(strstr(err, "X-Real-IP") != NULL, "message '%s'", err);
    static const char *const bad[] = {"10.0.0.0/33"};
    lt_format_opts b = {.trusted = bad, .n_trusted = 1};
    ck_assert_ptr_null(lt_format_new_with("combined", &b, err, sizeof(err)));
    ck_assert_msg(strstr(err, "more than 32") != NULL, "message '%s'", err);
}
END_TEST

START_TEST(requests_that_are_not_http)
{
    static const struct {
        const char *request;
        const char *url;     /* NULL: none */
        int non_http;
    } cases[] = {
        {"GET /a HTTP/1.1", "/a", 0},
        {"OPTIONS * HTTP/1.1", "*", 0},
        {"GET http://example.com/x HTTP/1.1", "http://example.com/x", 0},
        {"CONNECT example.com:443 HTTP/1.1", "example.com:443", 0},
        {"M-SEARCH * HTTP/1.1", "*", 0},
        {"-", NULL, 0},
        {"GET", NULL, 0},
        {"SSH-2.0-Go", NULL, 0},
        {"GET /a b HTTP/1.1", NULL, 0},
        /* A TLS ClientHello and an RDP connection request on a plain port. */
        {"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03", NULL, 1},
        {"\\x03\\x00\\x00/*\\xE0\\x00\\x00\\x00\\x00\\x00Cookie: mstshash=Administr", NULL, 1},
        {"\\x16\\x03\\x01 \\xC0/\\xC00\\xC0+", NULL, 1},
        {"GET \\xC0/\\xC00\\xC0+ HTTP/1.1", NULL, 1},
        {"G(T /a HTTP/1.1", NULL, 1},
        {"GET a HTTP/1.1", NULL, 1},
        {"GET :x HTTP/1.1", NULL, 1},
        {"GET 1http://x HTTP/1.1", NULL, 1},
    };
    for (int f = 0; f < 2; f++) {
        use_format(f == 0 ? "combined" : "%h %l %u %t \"%r\" %>s %b %D");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            char line[512];
            snprintf(line, sizeof(line), "1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"%s\" 400 5 7",
                     cases[i].request);
            ck_assert_msg(parse(line) == LT_PARSE_OK, "'%s' is not valid", cases[i].request);
            ck_assert_msg(rec.non_http == cases[i].non_http, "'%s': non_http %d", cases[i].request,
                          rec.non_http);
            if (cases[i].url == NULL)
                ck_assert_msg(rec.url == NULL, "'%s' gave a URL", cases[i].request);
            else
                assert_url(cases[i].url);
            assert_fast_matches_walker(line, strlen(line));
        }
    }
    use_format("$remote_addr [$time_local] $request_method $request_uri $status");
    ck_assert_int_eq(parse("1.2.3.4 [10/Oct/2000:13:55:36 -0700] \\x16\\x03 /a 400"), LT_PARSE_OK);
    ck_assert_ptr_null(rec.url);
    ck_assert_int_eq(rec.non_http, 1);
    ck_assert_int_eq(rec.method_len, 0);
    ck_assert_int_eq(parse("1.2.3.4 [10/Oct/2000:13:55:36 -0700] GET /a?b 200"), LT_PARSE_OK);
    assert_url("/a?b");
    ck_assert_int_eq(rec.non_http, 0);
    /* $request_method logged apart is the record's method too. */
    ck_assert_ptr_nonnull(rec.method);
    ck_assert_int_eq(rec.method_len, 3);
    ck_assert_int_eq(memcmp(rec.method, "GET", 3), 0);
}
END_TEST

START_TEST(response_times)
{
    static const struct {
        const char *spec, *value;
        uint64_t us;
    } cases[] = {
        {"%D", "1234", 1234},
        {"%T", "2", 2000000},
        {"%{ms}T", "15", 15000},
        {"%{us}T", "7", 7},
        {"%{s}T", "3", 3000000},
        {"%D", "-", LT_NO_DURATION},
        {"$request_time", "0.123", 123000},
        {"$request_time", "12", 12000000},
        {"$upstream_response_time", "0.004, 0.012 : 0.030", 30000},
        {"$upstream_response_time", "0.004, 0.012 : -", LT_NO_DURATION},
        {"$upstream_response_time", "0.250", 250000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char spec[160], line[256];
        int nginx = cases[i].spec[0] == '$';
        snprintf(spec, sizeof(spec), nginx ? "$remote_addr [$time_local] \"$request\" $status %s ua"
                                           : "%%h %%t \"%%r\" %%s %%b %s ua", cases[i].spec);
        use_format(spec);
        snprintf(line, sizeof(line), nginx ? "1.2.3.4 [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 %s ua"
                                           : "1.2.3.4 [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 5 %s ua",
                 cases[i].value);
        ck_assert_msg(parse(line) == LT_PARSE_OK, "%s: '%s' is not valid", spec, line);
        ck_assert_msg(rec.duration_us == cases[i].us, "%s %s: %llu us", cases[i].spec, cases[i].value,
                      (unsigned long long)rec.duration_us);
    }
    use_format("%h %t \"%r\" %s %b %D");
    ck_assert_int_eq(parse("1.2.3.4 [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 5 1.5"), LT_PARSE_FIELD);
    ck_assert_int_eq(parse("1.2.3.4 [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 5 x"), LT_PARSE_FIELD);
    ck_assert_int_eq(parse("1.2.3.4 [10/Oct/2000:13:55:36 -0700] \"GET / H\" 200 5"), LT_PARSE_FIELD);
    use_format("combined");
    ck_assert_int_eq(parse(COMBINED_OK), LT_PARSE_OK);
    ck_assert_uint_eq(rec.duration_us, LT_NO_DURATION);
}
END_TEST

START_TEST(nginx_log_format)
{
    /* The main format of nginx.conf, pasted as it is. */
    use_format("log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '\n"
               "                  '$status $body_bytes_sent \"$http_referer\" '\n"
               "                  '\"$http_user_agent\" \"$http_x_forwarded_for\"';");
    ck_assert_int_eq(parse(COMBINED_OK " \"-\""), LT_PARSE_OK);
    ck_assert_uint_eq(rec.ipv4, 0xc0000207u);
    ck_assert_int_eq(rec.ts, 971211336);
    assert_url("/apache_pb.gif?x=1");
    ck_assert_uint_eq(rec.bytes, 2326);
    assert_fast_matches_walker(COMBINED_OK, strlen(COMBINED_OK));

    use_format("$remote_addr $host $time_iso8601 \"$request\" $status $bytes_sent $request_time");
    ck_assert_int_eq(parse("::1 example.org 2000-10-10T13:55:36-07:00 \"GET /x HTTP/2.0\" 301 0 0.001"),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);
    ck_assert_int_eq(rec.client, LT_CLIENT_IPV6);
    ck_assert_uint_eq(rec.vhost_len, 11);
    ck_assert_uint_eq(rec.duration_us, 1000);
    ck_assert_int_eq(parse("::1 example.org 2000-10-10T20:55:36Z \"GET /x HTTP/2.0\" 301 0 0.001"),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);
    ck_assert_int_eq(parse("::1 example.org 2000-10-10T20:55:36.25+0000 \"GET /x\" 301 0 0.001"),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);
    ck_assert_int_eq(parse("::1 example.org 2000-13-10T20:55:36Z \"GET /x\" 301 0 0.001"),
                     LT_PARSE_TIME);
    use_format("${remote_addr}|$msec|\"$request\"|$status");
    ck_assert_int_eq(parse("1.2.3.4|971211336.123|\"GET /x HTTP/1.1\"|200"), LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);
    ck_assert_uint_eq(rec.bytes, 0);    /* no size logged */
    use_format("$remote_addr $time_local \"$request\" $status");
    ck_assert_int_eq(parse("1.2.3.4 10/Oct/2000:13:55:36 -0700 \"GET /x HTTP/1.1\" 200"), LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);

    /* nginx's escape=json lines read through their log_format. */
    use_format("log_format j escape=json '{\"t\":\"$time_iso8601\",\"ip\":\"$remote_addr\","
               "\"r\":\"$request\",\"s\":$status,\"ua\":\"$http_user_agent\"}';");
    ck_assert_int_eq(parse("{\"t\":\"2000-10-10T13:55:36-07:00\",\"ip\":\"1.2.3.4\",\"r\":\"GET /q\\\"x HTTP/1.1\","
                           "\"s\":404,\"ua\":\"a\\\"b\"}"), LT_PARSE_OK);
    assert_url("/q\\\"x");
    ck_assert_uint_eq(rec.status, 404);

    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"$remote_addr [$time_local] $request $status", "between double quotes"},
        {"[$time_local] \"$request\" $status", "$remote_addr"},
        {"$remote_addr \"$request\" $status", "$time_local"},
        {"$remote_addr [$time_local] $status", "$request"},
        {"$remote_addr [$time_local] \"$request\"", "$status"},
        {"$remote_addr [$time_local] \"$request\" $status ${x", "variable name"},
        {"log_format main '$remote_addr", "quoted format string"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256];
        ck_assert_msg(lt_format_new(bad[i].spec, err, sizeof(err)) == NULL, "'%s' accepted", bad[i].spec);
        ck_assert_msg(strstr(err, bad[i].msg) != NULL, "'%s': message '%s'", bad[i].spec, err);
    }
}
END_TEST

START_TEST(apache_config_quoting_and_names)
{
    /* Debian's apache2.conf writes quotes as \". */
    use_format("%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"");
    ck_assert_int_eq(parse(COMBINED_OK), LT_PARSE_OK);
    assert_url("/apache_pb.gif?x=1");
    use_format("LogFormat \"%v:%p %h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" vhost_combined");
    ck_assert_int_eq(parse("www.example.com:443 " COMBINED_OK), LT_PARSE_OK);
    ck_assert_uint_eq(rec.vhost_len, 15);

    static const struct {
        const char *name, *msg;
    } names[] = {
        {"combine", "unknown format 'combine' (did you mean combined?)"},
        {"Combined", "unknown format 'Combined' (did you mean combined?)"},
        {"vhost", "unknown format 'vhost' (did you mean vhost_combined?)"},
        {"comon", "unknown format 'comon' (did you mean common?)"},
        {"apache", "unknown format 'apache' (known: common, combined"},
        {"jsn", "(did you mean json?)"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char err[256];
        ck_assert_ptr_null(lt_format_new(names[i].name, err, sizeof(err)));
        ck_assert_msg(strstr(err, names[i].msg) != NULL, "'%s': message '%s'", names[i].name, err);
    }
    for (size_t i = 0; lt_format_names[i] != NULL; i++) {
        char err[256];
        lt_format *f = lt_format_new(lt_format_names[i], err, sizeof(err));
        ck_assert_msg(f != NULL, "%s: %s", lt_format_names[i], err);
        lt_format_free(f);
    }
}
END_TEST

#define CADDY_OK                                                                             \
    "{\"level\":\"info\",\"ts\":971211336.5241024,\"logger\":\"http.log.access\",\"msg\":" \
    "\"handled request\",\"request\":{\"remote_ip\":\"10.0.0.9\",\"remote_port\":\"41342\","  \
    "\"client_ip\":\"192.0.2.7\",\"proto\":\"HTTP/2.0\",\"method\":\"GET\",\"host\":"         \
    "\"example.com\",\"uri\":\"/a?b=1\",\"headers\":{\"User-Agent\":[\"curl/7.88\"],"         \
    "\"Accept\":[\"*/*\"]},\"tls\":{\"resumed\":false}},\"bytes_read\":0,\"user_id\":\"\","   \
    "\"duration\":0.000512,\"size\":5311,\"status\":200,\"resp_headers\":{\"Server\":"        \
    "[\"Caddy\"]}}"

START_TEST(caddy_json)
{
    use_format("caddy");
    ck_assert_int_eq(parse(CADDY_OK), LT_PARSE_OK);
    assert_ipv4(0xc0000207u);    /* client_ip, Caddy's own trusted-proxy answer */
    ck_assert_int_eq(rec.ts, 971211336);
    assert_url("/a?b=1");
    ck_assert_uint_eq(rec.status, 200);
    ck_assert_uint_eq(rec.bytes, 5311);
    ck_assert_uint_eq(rec.duration_us, 512);
    ck_assert_uint_eq(rec.vhost_len, 11);
    /* Older Caddy logs no client_ip: remote_ip. */
    ck_assert_int_eq(parse("{\"ts\":1.5e9,\"request\":{\"remote_ip\":\"10.0.0.9\",\"method\":\"GET\","
                           "\"uri\":\"/\"},\"status\":404,\"size\":0,\"duration\":5e-07}"), LT_PARSE_OK);
    assert_ipv4(0x0a000009u);
    ck_assert_int_eq(rec.ts, 1500000000);
    ck_assert_uint_eq(rec.duration_us, 0);
    /* Untrusted JSON, by the documented rules. */
    static const struct {
        const char *line;
        int rc;
    } cases[] = {
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200", LT_PARSE_JSON},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200} x", LT_PARSE_JSON},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\\q\"},\"status\":200}", LT_PARSE_JSON},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\\u12\"},\"status\":200}", LT_PARSE_JSON},
        {"{\"ts\":01,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}", LT_PARSE_JSON},
        {"[1,2]", LT_PARSE_JSON},
        {"{\"ts\":1,\"request\":{\"uri\":\"/\"},\"status\":200}", LT_PARSE_CLIENT},
        {"{\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}", LT_PARSE_TIME},
        {"{\"ts\":\"x\",\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}", LT_PARSE_TIME},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\"},\"status\":200}", LT_PARSE_REQUEST},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":20}", LT_PARSE_STATUS},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":2.5e2}", LT_PARSE_STATUS},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200,\"size\":-1}", LT_PARSE_SIZE},
        /* Numbers as strings, duplicates (the last wins), escapes, nesting. */
        {"{\"ts\":\"1\",\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":\"200\",\"size\":\"7\"}", LT_PARSE_OK},
        {"{\"ts\":1,\"request\":{\"remote_ip\":\"9.9.9.9\",\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}", LT_PARSE_OK},
        {"{\"ts\":1,\"x\":[[[{\"a\":\"\\ud83d\\ude00\\u00e9\"}]]],\"request\":{\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}", LT_PARSE_OK},
        {" {\"ts\":1 , \"request\" : {\"remote_ip\":\"1.2.3.4\",\"uri\":\"/\"},\"status\":200}\r", LT_PARSE_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].line);
        ck_assert_msg(rc == cases[i].rc, "'%s': %d, not %d", cases[i].line, rc, cases[i].rc);
        if (rc == LT_PARSE_OK)
            assert_ipv4(0x01020304u);
    }
    /* Nested deeper than the scanner reads: malformed, not a crash. */
    char deep[400] = "{\"ts\":1,\"x\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    ck_assert_int_eq(parse(deep), LT_PARSE_JSON);
}
END_TEST

START_TEST(json_field_map)
{
    use_format("json");
    ck_assert_int_eq(parse("{\"time\":\"2000-10-10T13:55:36-07:00\",\"remote_addr\":\"1.2.3.4\","
                           "\"request\":\"GET /x HTTP/1.1\",\"status\":\"200\",\"body_bytes_sent\":\"12\","
                           "\"request_time\":\"0.020\"}"), LT_PARSE_OK);
    assert_ipv4(0x01020304u);
    ck_assert_int_eq(rec.ts, 971211336);
    assert_url("/x");
    ck_assert_uint_eq(rec.bytes, 12);
    ck_assert_uint_eq(rec.duration_us, 20000);
    lt_format_opts o = {.json = {[LT_JSON_TIME] = "@timestamp", [LT_JSON_CLIENT] = "client.ip",
                                 [LT_JSON_URI] = "url.path", [LT_JSON_METHOD] = "http.method",
                                 [LT_JSON_STATUS] = "http.status", [LT_JSON_DURATION] = ""}};
    use_format_with("json", &o);
    ck_assert_int_eq(parse("{\"@timestamp\":971211336.999,\"client\":{\"ip\":\"::ffff:1.2.3.4\"},"
                           "\"url\":{\"path\":\"/y\"},\"http\":{\"method\":\"PUT\",\"status\":201},"
                           "\"request_time\":\"junk\"}"), LT_PARSE_OK);
    assert_ipv4(0x01020304u);
    ck_assert_int_eq(rec.ts, 971211336);
    assert_url("/y");
    ck_assert_uint_eq(rec.duration_us, LT_NO_DURATION);
    ck_assert_msg(rec.method != NULL && rec.method_len == 3 && memcmp(rec.method, "PUT", 3) == 0,
                  "the JSON method is the record's method");
    ck_assert_int_eq(parse("{\"@timestamp\":\"10/Oct/2000:13:55:36 -0700\",\"client\":{\"ip\":\"1.2.3.4\"},"
                           "\"url\":{\"path\":\"/y\"},\"http\":{\"method\":\"\\\\x16\",\"status\":201}}"),
                     LT_PARSE_OK);
    ck_assert_int_eq(rec.ts, 971211336);
    ck_assert_ptr_null(rec.url);
    ck_assert_ptr_null(rec.method);
    ck_assert_int_eq(rec.non_http, 1);
    char err[256];
    lt_format_opts twice = {.json = {[LT_JSON_TIME] = "status"}};
    ck_assert_ptr_null(lt_format_new_with("json", &twice, err, sizeof(err)));
    ck_assert_msg(strstr(err, "mapped twice") != NULL, "message '%s'", err);
}
END_TEST

START_TEST(format_detection)
{
    static const struct {
        const char *text, *name;
        size_t valid;
    } cases[] = {
        {"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5\n", "common", 1},
        {COMBINED_OK "\n" COMBINED_OK "\njunk\n", "combined", 2},
        {"www.example.com:443 " COMBINED_OK "\n\n", "vhost_combined", 1},
        {CADDY_OK "\n", "caddy", 1},
        {"{\"time\":\"2000-10-10T13:55:36-07:00\",\"remote_addr\":\"1.2.3.4\",\"request\":\"GET / H\","
         "\"status\":200}", "json", 1},
        {"junk\nmore junk\n", NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lt_detection d;
        ck_assert_int_eq(lt_format_detect(cases[i].text, strlen(cases[i].text), &d), 0);
        if (cases[i].name == NULL)
            ck_assert_ptr_null(d.name);
        else
            ck_assert_msg(d.name != NULL && strcmp(d.name, cases[i].name) == 0, "case %zu: %s",
                          i, d.name ? d.name : "(none)");
        ck_assert_uint_eq(d.valid, cases[i].valid);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, combined_line);
    tcase_add_test(tc, request_method);
    tcase_add_test(tc, common_line_and_combined_leniency);
    tcase_add_test(tc, escapes_in_quoted_fields);
    tcase_add_test(tc, request_shapes);
    tcase_add_test(tc, timestamps_and_zones);
    tcase_add_test(tc, timestamp_cache_matches_timegm);
    tcase_add_test(tc, ipv4_clients);
    tcase_add_test(tc, ipv6_clients);
    tcase_add_test(tc, status_and_size);
    tcase_add_test(tc, line_endings_and_junk);
    tcase_add_test(tc, every_prefix_is_safe);
    tcase_add_test(tc, vhost_and_nginx);
    tcase_add_test(tc, custom_formats);
    tcase_add_test(tc, format_errors);
    tcase_add_test(tc, random_junk);
    tcase_add_test(tc, fast_path_matches_walker);
    tcase_add_test(tc, fast_path_edges);
    tcase_add_test(tc, fast_path_ipv4_clients);
    tcase_add_test(tc, clients_with_ports);
    tcase_add_test(tc, client_lists_and_trusted_proxies);
    tcase_add_test(tc, requests_that_are_not_http);
    tcase_add_test(tc, response_times);
    tcase_add_test(tc, nginx_log_format);
    tcase_add_test(tc, apache_config_quoting_and_names);
    tcase_add_test(tc, caddy_json);
    tcase_add_test(tc, json_field_map);
    tcase_add_test(tc, format_detection);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
