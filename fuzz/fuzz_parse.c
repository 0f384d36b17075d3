/* fuzz_parse.c -- the line parser on arbitrary lines, in every format.
 *
 * Input layout
 * ------------
 *   byte 0     the format: a key of the table below ('c' common, 'C'
 *              combined, ...), any other byte picks formats[byte % N];
 *              '%' (or the byte that lands on it) means a custom format:
 *   '%' mode   the rest up to the first '\n' is a LogFormat string compiled
 *              with lt_format_new(), the rest after it the log;
 *   the log    split at '\n' into lines, each parsed in turn by one parser
 *              (so the timestamp cache carries over from line to line).
 *
 * Every line is copied into a heap block of exactly its length first, so a
 * read past its end is an ASan report, not a silent read of the next line.
 *
 * Invariants checked on every line
 * --------------------------------
 *  - the code is LT_PARSE_OK or one of the negative LT_PARSE_ codes a
 *    parser returns (never LT_PARSE_TOO_LONG, a reader's code);
 *  - LT_PARSE_EMPTY exactly when the line is empty or a lone "\r";
 *  - a fresh parser (empty cache) gives the same code and record, and so
 *    does the shared parser on a second pass: the cache changes nothing;
 *  - lt_parse_line_generic() (the plan walker without the fast path) gives
 *    the same code and record;
 *  - on LT_PARSE_OK every pointer of the record (host, url, vhost) lies
 *    inside the line, a url is a non-empty token without spaces, the
 *    status is 0..999, the timestamp lies between 1970-01-01 00:00 +2359
 *    and 9999-12-31 23:59:60 -2359;
 *  - lt_parse_client() on the whole line and lt_parse_time() on its first
 *    26 bytes stay inside them and give in-range results;
 *  - a record's non_http has no URL, a response time is below 2^62 us;
 *  - a custom format that compiles compiles again from lt_format_string()
 *    and parses every line the same; one that does not says why, and says
 *    a prefix of the same thing into a short buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"

static const char *const trusted[] = {"10.0.0.0/8", "127.0.0.1", "2001:db8::/32", "::ffff:192.0.2.0/120"};
static const lt_format_opts xff = {.client_header = "X-Forwarded-For", .trusted = trusted, .n_trusted = 4};
static const lt_format_opts proxies = {.trusted = trusted, .n_trusted = 4};
static const lt_format_opts mapped = {.json = {[LT_JSON_TIME] = "t", [LT_JSON_CLIENT] = "c.ip",
                                               [LT_JSON_URI] = "u", [LT_JSON_METHOD] = "m",
                                               [LT_JSON_STATUS] = "s", [LT_JSON_DURATION] = "d.x"},
                                      .client_header = "xff", .trusted = trusted, .n_trusted = 4};

static const struct {
    char key;
    const char *spec;    /* NULL: the custom format from the input */
    const lt_format_opts *opts;
} formats[] = {
    {'c', "common", NULL},
    {'C', "combined", NULL},
    {'v', "vhost_combined", NULL},
    {'n', "nginx", NULL},
    /* %a, %s and %B; no %l. */
    {'a', "%a %u %t \"%r\" %s %B", NULL},
    /* A trailing counted-then-ignored field and a repeated size. */
    {'o', "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\" %b %D", NULL},
    /* Fields that stop at something other than a space. */
    {'p', "%h|%l|%t|\"%r\"|%>s|%b|%{X-Forwarded-For}i", NULL},
    /* The time first and the vhost in the middle. */
    {'t', "%t %v %h \"%r\" %>s %b", NULL},
    /* Quoted client and status, condition modifiers on a header. */
    {'q', "\"%h\" %400,501{User-agent}i %t \"%r\" \"%>s\" %b", NULL},
    /* vhost stopping at ':' as in vhost_combined, fields run together. */
    {'V', "%V:%p %a[%t]\"%r\"%>s %b", NULL},
    /* JSON lines: Caddy's, and a field map with nesting and a header. */
    {'j', "caddy", NULL},
    {'J', "json", NULL},
    {'m', "json", &mapped},
    /* nginx log_format strings: main with X-Forwarded-For and trusted
     * proxies, ISO and epoch times, upstream lists, method and URI apart. */
    {'x', "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '"
          " '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\"';",
     &xff},
    {'u', "$remote_addr $host $time_iso8601 \"$request\" $status $upstream_response_time $msec", NULL},
    {'M', "${remote_addr}|$msec|$request_method $request_uri|$status|$request_time", NULL},
    /* Response times, and a client list behind trusted proxies. */
    {'T', "%h %l %u %t \\\"%r\\\" %>s %b %D %{ms}T %T", &proxies},
    {'%', NULL, NULL},
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

#define TS_MIN (-(int64_t)(23 * 3600 + 59 * 60))
#define TS_MAX ((int64_t)253402300800 + 23 * 3600 + 59 * 60)

static bool inside(const char *p, size_t n, const char *line, size_t len)
{
    return p >= line && p <= line + len && n <= (size_t)(line + len - p);
}

/* Whether two records of the same line say the same thing. */
static bool same_record(const lt_record *a, const lt_record *b)
{
    if (a->client != b->client || a->ts != b->ts || a->url != b->url ||
        a->url_len != b->url_len || a->status != b->status || a->bytes != b->bytes ||
        a->vhost != b->vhost || a->vhost_len != b->vhost_len || a->method != b->method ||
        a->method_len != b->method_len || a->duration_us != b->duration_us ||
        a->non_http != b->non_http)
        return false;
    switch (a->client) {
    case LT_CLIENT_IPV4: return a->ipv4 == b->ipv4;
    case LT_CLIENT_IPV6: return memcmp(a->ipv6, b->ipv6, 16) == 0;
    case LT_CLIENT_HOST: return a->host == b->host && a->host_len == b->host_len;
    }
    return false;
}

static void check_client(const lt_record *r, const char *field, size_t flen)
{
    FUZZ_CHECK(r->client == LT_CLIENT_IPV4 || r->client == LT_CLIENT_IPV6 ||
                   r->client == LT_CLIENT_HOST,
               "client kind %d", (int)r->client);
    if (r->client == LT_CLIENT_HOST)
        FUZZ_CHECK(inside(r->host, r->host_len, field, flen), "host outside its field");
}

static void check_record(const lt_record *r, const char *line, size_t len)
{
    check_client(r, line, len);
    FUZZ_CHECK(r->ts >= TS_MIN && r->ts <= TS_MAX, "ts %lld out of range", (long long)r->ts);
    FUZZ_CHECK(r->status <= 999, "status %u", r->status);
    if (r->url != NULL) {
        FUZZ_CHECK(inside(r->url, r->url_len, line, len), "url outside the line");
        FUZZ_CHECK(r->url_len > 0, "empty url");
        FUZZ_CHECK(memchr(r->url, ' ', r->url_len) == NULL, "url with a space");
    } else {
        FUZZ_CHECK(r->url_len == 0, "NULL url with length %zu", r->url_len);
    }
    FUZZ_CHECK(!r->non_http || r->url == NULL, "a URL for a request that is not HTTP");
    FUZZ_CHECK(r->duration_us == LT_NO_DURATION || r->duration_us < ((uint64_t)1 << 62),
               "response time %llu", (unsigned long long)r->duration_us);
    if (r->vhost != NULL)
        FUZZ_CHECK(inside(r->vhost, r->vhost_len, line, len), "vhost outside the line");
}

/* Parses one line every way there is and checks that they agree. */
static void parse_one(const lt_format *f, lt_parser *shared, const char *data, size_t len)
{
    char *line = fuzz_dup(data, len);
    lt_record rec, again, fresh_rec, gen;
    size_t body = len > 0 && line[len - 1] == '\r' ? len - 1 : len;

    memset(&rec, 0xa5, sizeof rec);
    int rc = lt_parse_line(shared, line, len, &rec);
    FUZZ_CHECK(rc <= LT_PARSE_OK && rc >= LT_PARSE_LAST && rc != LT_PARSE_TOO_LONG, "code %d", rc);
    FUZZ_CHECK((rc == LT_PARSE_EMPTY) == (body == 0), "code %d for a %zu-byte line", rc, body);
    FUZZ_CHECK(strcmp(lt_parse_strerror(rc), "unknown parse error") != 0, "code %d", rc);
    if (rc == LT_PARSE_OK)
        check_record(&rec, line, len);

    /* The same parser again: the minute is now surely cached. */
    memset(&again, 0x5a, sizeof again);
    int rc2 = lt_parse_line(shared, line, len, &again);
    FUZZ_CHECK(rc2 == rc && (rc != LT_PARSE_OK || same_record(&rec, &again)),
               "second parse differs: %d then %d", rc, rc2);

    /* A parser with an empty cache. */
    lt_parser *fresh = lt_parser_new(f);
    if (fresh == NULL)
        abort();
    memset(&fresh_rec, 0x3c, sizeof fresh_rec);
    int rc3 = lt_parse_line(fresh, line, len, &fresh_rec);
    FUZZ_CHECK(rc3 == rc && (rc != LT_PARSE_OK || same_record(&rec, &fresh_rec)),
               "fresh parser differs: %d vs %d", rc, rc3);

    /* The plan walker alone, through a fresh parser and the shared one. */
    memset(&gen, 0xc3, sizeof gen);
    int rc4 = lt_parse_line_generic(fresh, line, len, &gen);
    if (rc4 != rc || (rc == LT_PARSE_OK && !same_record(&rec, &gen)))
        fuzz_dump("line", line, len);
    FUZZ_CHECK(rc4 == rc && (rc != LT_PARSE_OK || same_record(&rec, &gen)),
               "lt_parse_line %d, lt_parse_line_generic %d (format %s)", rc, rc4,
               lt_format_string(f));
    rc4 = lt_parse_line_generic(shared, line, len, &gen);
    FUZZ_CHECK(rc4 == rc && (rc != LT_PARSE_OK || same_record(&rec, &gen)),
               "generic through the shared parser differs: %d vs %d", rc, rc4);
    lt_parser_free(fresh);

    /* The client classifier on the whole line, and the timestamp reader on
     * its first 26 bytes (exactly what it reads). */
    lt_record c;
    lt_parse_client(line, len, &c);
    check_client(&c, line, len);
    if (len >= 26) {
        char *ts = fuzz_dup(line, 26);
        int64_t t = 0;
        if (lt_parse_time(ts, &t) == 0)
            FUZZ_CHECK(t >= TS_MIN && t <= TS_MAX, "lt_parse_time %lld", (long long)t);
        free(ts);
    }
    free(line);
}

/* Parses every line of [p, end) with f; with g (the same format compiled
 * again from its string) as well, when given. */
static void parse_log(const lt_format *f, const lt_format *g, const char *p, const char *end)
{
    lt_parser *ps = lt_parser_new(f);
    lt_parser *pg = g ? lt_parser_new(g) : NULL;
    if (ps == NULL || (g != NULL && pg == NULL))
        abort();
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        parse_one(f, ps, p, len);
        if (pg != NULL) {
            char *line = fuzz_dup(p, len);
            lt_record a, b;
            int ra = lt_parse_line(ps, line, len, &a), rb = lt_parse_line(pg, line, len, &b);
            FUZZ_CHECK(ra == rb && (ra != LT_PARSE_OK || same_record(&a, &b)),
                       "recompiled format differs: %d vs %d", ra, rb);
            free(line);
        }
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    lt_parser_free(pg);
    lt_parser_free(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t fi = N_FORMATS;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (formats[i].key == (char)data[0])
            fi = i;
    if (fi == N_FORMATS)
        fi = data[0] % N_FORMATS;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    char err[256], small[12];

    if (formats[fi].spec != NULL) {
        lt_format *f = lt_format_new_with(formats[fi].spec, formats[fi].opts, err, sizeof err);
        FUZZ_CHECK(f != NULL, "built-in %s: %s", formats[fi].spec, err);
        parse_log(f, NULL, p, end);
        lt_format_free(f);
        return 0;
    }

    /* A custom format: the first line of the input. */
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *spec_end = nl ? nl : end;
    char *spec = fuzz_strndup(p, (size_t)(spec_end - p));
    memset(err, 'x', sizeof err);
    lt_format *f = lt_format_new(spec, err, sizeof err);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "error message not terminated");
    memset(small, 'x', sizeof small);
    lt_format *g = lt_format_new(spec, small, sizeof small);
    FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL, "short error message not terminated");
    FUZZ_CHECK((f == NULL) == (g == NULL), "compiles with one buffer, not the other");
    if (f == NULL) {
        FUZZ_CHECK(err[0] != '\0', "no reason given for refusing \"%s\"", spec);
        FUZZ_CHECK(strncmp(err, small, strlen(small)) == 0, "\"%s\" is not a prefix of \"%s\"",
                   small, err);
        free(spec);
        return 0;
    }
    lt_format_free(g);
    g = lt_format_new(lt_format_string(f), err, sizeof err);
    FUZZ_CHECK(g != NULL, "\"%s\" does not compile again: %s", lt_format_string(f), err);
    if (nl != NULL)
        parse_log(f, g, nl + 1, end);
    lt_format_free(g);
    lt_format_free(f);
    free(spec);
    return 0;
}
