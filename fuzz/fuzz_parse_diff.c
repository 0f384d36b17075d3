/* fuzz_parse_diff.c -- the line parser against a slow reference parser.
 *
 * The reference below reads a `common` line (%h %l %u %t "%r" %>s %b) the
 * plain way, one byte at a time, from the rules as README ("What is
 * counted") and lib/parse.c's top comment state them, and shares no code
 * with lib/:
 *
 *   line     := CLIENT SEP IDENT SEP USER SEP TIME SEP REQUEST SEP STATUS
 *               SEP SIZE [ ' ' anything ]          (one trailing '\r' dropped)
 *   SEP      := one or more spaces
 *   CLIENT   := a token, and while it ends with ',' and another token
 *               follows the spaces after it, that one too ("a, b, c")
 *   IDENT, USER, STATUS, SIZE := a token: one or more non-space bytes
 *   TIME     := '[' dd/Mon/yyyy:HH:MM:SS (+|-)hhmm ']', year >= 1970, a real
 *               day of that month, 00..23, 00..59, 00..60, zone hh 00..23
 *               and mm 00..59
 *   REQUEST  := '"' ... '"' where a backslash escapes the byte after it
 *   STATUS   := three digits; SIZE := '-' or 1..19 digits
 *
 * A line that breaks the grammar is malformed, and the reason is the first
 * field that cannot be read, a missing separator being blamed on the field
 * it should introduce (IDENT and USER give LT_PARSE_FIELD).  The URL is the
 * second of two or three space-separated tokens of the request, when the
 * first is a method (RFC 9110 tchar only) and the URL a path, "*" or
 * "scheme:..." (a letter, then letters, digits, + - .); a request whose
 * first token is not a method, or whose URL is not one, is not HTTP
 * (non_http).  The client is the last element of the field split at commas
 * and spaces when it holds a comma, else the field: IPv4 (a dotted quad,
 * no leading zeros), else IPv6 (brackets and a %zone removed, then
 * inet_pton(); ::ffff:a.b.c.d is IPv4), else a.b.c.d:PORT or [v6]:PORT,
 * else a host.
 * Timestamps are converted with a closed-form day count, not the library's
 * days-from-civil.
 *
 * The walked part of `combined` and `nginx` is exactly `common`, so every
 * line goes through three parsers (one each, kept across the lines of an
 * input so that their timestamp caches are exercised), twice each, and
 * through lt_parse_line_generic() (the plan walker without the fast path):
 * every answer must equal the reference's, code, client, timestamp, url,
 * status and size.
 *
 * Each line with a timestamp is followed by three edits of it (other
 * seconds, minute, zone, day, month, year; chosen by the line's bytes), so
 * that cache hits and near misses are tried on every input.
 *
 * Input: lines separated by '\n'.  Each is copied into an exact-size heap
 * block first, so a read past its end is caught.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"

/* ---- The reference ---------------------------------------------------- */

struct ref {
    lt_client_kind client;
    uint32_t ipv4;
    uint8_t ipv6[16];
    size_t host_off, host_len;
    int64_t ts;
    bool has_url, non_http;
    size_t url_off, url_len;
    unsigned status;
    uint64_t bytes;
    size_t time_at;     /* where the 26 bytes inside [ ] start, or 0 */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Dotted quad: exactly four parts of 1..3 digits, 0..255, no leading zero. */
static bool ref_ipv4(const char *s, size_t n, uint32_t *out)
{
    uint32_t addr = 0;
    int parts = 0;
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        size_t plen = i - start;
        if (plen < 1 || plen > 3 || ++parts > 4)
            return false;
        unsigned v = 0;
        for (size_t k = start; k < i; k++) {
            if (!is_digit(s[k]))
                return false;
            v = v * 10 + (unsigned)(s[k] - '0');
        }
        if ((plen > 1 && s[start] == '0') || v > 255)
            return false;
        addr = addr << 8 | v;
        start = i + 1;
    }
    if (parts != 4)
        return false;
    *out = addr;
    return true;
}

static bool ref_ipv6(const char *s, size_t n, uint8_t out[16])
{
    if (n >= 2 && s[0] == '[') {
        if (s[n - 1] != ']')
            return false;
        s++;
        n -= 2;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] == '%') {
            if (i + 1 == n)
                return false;    /* an empty zone */
            n = i;
            break;
        }
    if (memchr(s, '\0', n) != NULL)
        return false;
    char *z = fuzz_strndup(s, n);
    int ok = inet_pton(AF_INET6, z, out);
    free(z);
    return ok == 1;
}

/* IPv6 (or mapped IPv4) into r; false when s is not IPv6. */
static bool ref_ipv6_client(const char *s, size_t n, struct ref *r)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memchr(s, ':', n) == NULL || !ref_ipv6(s, n, r->ipv6))
        return false;
    if (memcmp(r->ipv6, mapped, 12) == 0) {
        r->client = LT_CLIENT_IPV4;
        r->ipv4 = (uint32_t)r->ipv6[12] << 24 | (uint32_t)r->ipv6[13] << 16 |
                  (uint32_t)r->ipv6[14] << 8 | r->ipv6[15];
    } else {
        r->client = LT_CLIENT_IPV6;
    }
    return true;
}

/* One address at s + off (n bytes). */
static void ref_address(const char *s, size_t off, size_t n, struct ref *r)
{
    const char *a = s + off;
    r->host_off = off;
    r->host_len = n;
    if (ref_ipv4(a, n, &r->ipv4)) {
        r->client = LT_CLIENT_IPV4;
        return;
    }
    if (ref_ipv6_client(a, n, r))
        return;
    /* ADDRESS:PORT, the port one or more digits after the last colon. */
    size_t c = n;
    while (c > 0 && a[c - 1] != ':')
        c--;
    if (c > 1 && c < n) {
        bool digits = true;
        for (size_t i = c; i < n; i++)
            digits &= is_digit(a[i]);
        size_t alen = c - 1;
        if (digits && memchr(a, ':', alen) == NULL && ref_ipv4(a, alen, &r->ipv4)) {
            r->client = LT_CLIENT_IPV4;
            return;
        }
        if (digits && a[0] == '[' && a[alen - 1] == ']' && memchr(a, '%', alen) == NULL &&
            ref_ipv6_client(a, alen, r))
            return;
    }
    r->client = LT_CLIENT_HOST;
}

/* The client field [0, n): the last element of a list, else the field. */
static void ref_client(const char *s, size_t n, struct ref *r)
{
    if (memchr(s, ',', n) != NULL) {
        size_t e = n;
        while (e > 0 && (s[e - 1] == ',' || s[e - 1] == ' '))
            e--;
        size_t b = e;
        while (b > 0 && s[b - 1] != ',' && s[b - 1] != ' ')
            b--;
        if (b < e) {
            ref_address(s, b, e - b, r);
            return;
        }
    }
    ref_address(s, 0, n, r);
}

static bool ref_method(const char *s, size_t n)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(tchar, s[i]) == NULL)
            return false;
    return true;
}

static bool ref_target(const char *s, size_t n)
{
    if (s[0] == '/' || (n == 1 && s[0] == '*'))
        return true;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (c == ':')
            return true;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' ||
              c == '-' || c == '.'))
            return false;
    }
    return false;
}

static bool leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Leap years in [1, y]. */
static int64_t leaps_through(int64_t y)
{
    return y / 4 - y / 100 + y / 400;
}

/* n decimal digits at s, or -1. */
static int64_t number(const char *s, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The 26 bytes "dd/Mon/yyyy:HH:MM:SS +hhmm". */
static bool ref_time(const char *t, int64_t *out)
{
    static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const int length[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (t[2] != '/' || t[6] != '/' || t[11] != ':' || t[14] != ':' || t[17] != ':' ||
        t[20] != ' ' || (t[21] != '+' && t[21] != '-'))
        return false;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(t + 3, months[i], 3) == 0)
            m = i;
    int64_t day = number(t, 2), year = number(t + 7, 4), hh = number(t + 12, 2),
            mm = number(t + 15, 2), ss = number(t + 18, 2), zh = number(t + 22, 2),
            zm = number(t + 24, 2);
    if (m < 0 || day < 0 || year < 0 || hh < 0 || mm < 0 || ss < 0 || zh < 0 || zm < 0)
        return false;
    int dim = length[m] + (m == 1 && leap(year));
    if (year < 1970 || day < 1 || day > dim || hh > 23 || mm > 59 || ss > 60 || zh > 23 ||
        zm > 59)
        return false;
    int64_t days = 365 * (year - 1970) + leaps_through(year - 1) - leaps_through(1969) +
                   before[m] + (m > 1 && leap(year)) + day - 1;
    int64_t zone = (zh * 3600 + zm * 60) * (t[21] == '+' ? 1 : -1);
    *out = days * 86400 + hh * 3600 + mm * 60 + ss - zone;
    return true;
}

/* Tokens of the request [a, b) separated by runs of spaces: the second of
 * two or three is the URL. */
static void ref_request(const char *s, size_t a, size_t b, struct ref *r)
{
    size_t start[4], len[4];
    int n = 0;

    for (size_t i = a; i < b && n < 4;) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        start[n] = i;
        while (i < b && s[i] != ' ')
            i++;
        len[n] = i - start[n];
        n++;
    }
    if (n > 0 && !ref_method(s + start[0], len[0])) {
        r->non_http = true;
        return;
    }
    r->has_url = n == 2 || n == 3;
    if (r->has_url && !ref_target(s + start[1], len[1])) {
        r->has_url = false;
        r->non_http = true;
    }
    if (r->has_url) {
        r->url_off = start[1];
        r->url_len = len[1];
    }
}

/* A separator: one or more spaces at *i, skipped.  False when none. */
static bool sep(const char *s, size_t n, size_t *i)
{
    if (*i >= n || s[*i] != ' ')
        return false;
    while (*i < n && s[*i] == ' ')
        (*i)++;
    return true;
}

/* The token at i: up to the next space or the end. */
static size_t token(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != ' ')
        i++;
    return i;
}

static int ref_parse(const char *s, size_t n, struct ref *r)
{
    size_t i = 0, j;

    memset(r, 0, sizeof *r);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n == 0)
        return LT_PARSE_EMPTY;

    j = token(s, n, 0);
    if (j == 0)
        return LT_PARSE_CLIENT;
    /* A list: "a, b" goes on past the spaces after a comma. */
    while (s[j - 1] == ',') {
        size_t k = j;
        while (k < n && s[k] == ' ')
            k++;
        if (k == n)
            break;
        j = token(s, n, k);
    }
    ref_client(s, j, r);
    i = j;

    for (int field = 0; field < 2; field++) {    /* %l, %u */
        if (!sep(s, n, &i) || (j = token(s, n, i)) == i)
            return LT_PARSE_FIELD;
        i = j;
    }

    if (!sep(s, n, &i) || n - i < 28 || s[i] != '[')
        return LT_PARSE_TIME;
    r->time_at = i + 1;
    if (s[i + 27] != ']' || !ref_time(s + i + 1, &r->ts))
        return LT_PARSE_TIME;
    i += 28;

    if (!sep(s, n, &i) || i == n || s[i] != '"')
        return LT_PARSE_REQUEST;
    size_t q = i + 1;
    while (q < n && s[q] != '"')
        q += s[q] == '\\' ? 2 : 1;
    if (q >= n)
        return LT_PARSE_REQUEST;
    ref_request(s, i + 1, q, r);
    i = q + 1;

    if (!sep(s, n, &i))
        return LT_PARSE_STATUS;
    j = token(s, n, i);
    if (j - i != 3 || !is_digit(s[i]) || !is_digit(s[i + 1]) || !is_digit(s[i + 2]))
        return LT_PARSE_STATUS;
    r->status = (unsigned)((s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0'));
    i = j;

    if (!sep(s, n, &i))
        return LT_PARSE_SIZE;
    j = token(s, n, i);
    if (j - i == 1 && s[i] == '-')
        return LT_PARSE_OK;
    if (j == i || j - i > 19)
        return LT_PARSE_SIZE;
    for (size_t k = i; k < j; k++) {
        if (!is_digit(s[k]))
            return LT_PARSE_SIZE;
        r->bytes = r->bytes * 10 + (uint64_t)(s[k] - '0');
    }
    return LT_PARSE_OK;
}

/* ---- The comparison ---------------------------------------------------- */

static void fail(const char *who, const char *line, size_t len, int want, int got,
                 const char *what)
{
    fuzz_dump("line", line, len);
    fprintf(stderr, "  %s: reference %d (%s), library %d (%s): %s\n", who, want,
            lt_parse_strerror(want), got, lt_parse_strerror(got), what);
    abort();
}

static void compare(const char *who, const char *line, size_t len, int want, const struct ref *r,
                    int got, const lt_record *rec)
{
    if (want != got)
        fail(who, line, len, want, got, "codes differ");
    if (got != LT_PARSE_OK)
        return;
    if (rec->client != r->client)
        fail(who, line, len, want, got, "client kinds differ");
    if (r->client == LT_CLIENT_IPV4 && rec->ipv4 != r->ipv4)
        fail(who, line, len, want, got, "IPv4 addresses differ");
    if (r->client == LT_CLIENT_IPV6 && memcmp(rec->ipv6, r->ipv6, 16) != 0)
        fail(who, line, len, want, got, "IPv6 addresses differ");
    if (r->client == LT_CLIENT_HOST &&
        (rec->host != line + r->host_off || rec->host_len != r->host_len))
        fail(who, line, len, want, got, "host clients differ");
    if (rec->ts != r->ts) {
        fprintf(stderr, "  ts: reference %lld, library %lld\n", (long long)r->ts,
                (long long)rec->ts);
        fail(who, line, len, want, got, "timestamps differ");
    }
    if ((rec->url != NULL) != r->has_url ||
        (r->has_url && (rec->url != line + r->url_off || rec->url_len != r->url_len)))
        fail(who, line, len, want, got, "urls differ");
    if (rec->non_http != r->non_http)
        fail(who, line, len, want, got, "non_http differs");
    if (rec->duration_us != LT_NO_DURATION)
        fail(who, line, len, want, got, "a response time without %D");
    if (rec->status != r->status)
        fail(who, line, len, want, got, "statuses differ");
    if (rec->bytes != r->bytes)
        fail(who, line, len, want, got, "sizes differ");
    if (rec->vhost != NULL)
        fail(who, line, len, want, got, "a vhost without %v");
}

static const char *const names[] = {"common", "combined", "nginx"};
#define N_PARSERS (sizeof(names) / sizeof(names[0]))

/* Edits of a timestamp (offsets inside the brackets) tried on each line
 * that has one, right after the line itself: the same minute with other
 * seconds hits the minute cache the line has just filled, the other edits
 * miss it next to an entry that differs by one field.  A mutation of the
 * input rarely makes such a pair; this makes one on every line. */
static const struct {
    unsigned char at, len;
    const char *bytes;
} edits[] = {
    {18, 2, "00"}, {18, 2, "59"}, {18, 2, "60"}, {18, 2, "61"}, {18, 2, "99"}, {18, 2, "6:"},
    {17, 1, "."}, {20, 1, "\t"}, {16, 1, "0"}, {16, 1, "9"}, {15, 2, "60"}, {12, 2, "24"},
    {21, 5, "+0000"}, {21, 5, "-0000"}, {21, 5, "+2359"}, {21, 5, "+2400"}, {21, 5, "-0060"},
    {21, 1, "*"}, {0, 2, "29"}, {0, 2, "31"}, {0, 2, "00"}, {3, 3, "Feb"}, {3, 3, "feb"},
    {7, 4, "1969"}, {7, 4, "2000"}, {7, 4, "2100"},
};
#define N_EDITS (sizeof(edits) / sizeof(edits[0]))
#define EDITS_PER_LINE 3

static void check_line(lt_parser *parsers[N_PARSERS], const char *line, size_t len,
                       struct ref *r)
{
    int want = ref_parse(line, len, r);

    for (size_t k = 0; k < N_PARSERS; k++) {
        lt_record rec;
        /* Twice: the second time the minute is in the cache. */
        for (int pass = 0; pass < 2; pass++) {
            memset(&rec, pass ? 0x5a : 0xa5, sizeof rec);
            compare(names[k], line, len, want, r, lt_parse_line(parsers[k], line, len, &rec),
                    &rec);
        }
        memset(&rec, 0x3c, sizeof rec);
        compare("generic", line, len, want, r, lt_parse_line_generic(parsers[k], line, len, &rec),
                &rec);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lt_format *formats[N_PARSERS];
    lt_parser *parsers[N_PARSERS];
    char err[256];

    for (size_t k = 0; k < N_PARSERS; k++) {
        if (formats[k] == NULL) {
            formats[k] = lt_format_new(names[k], err, sizeof err);
            FUZZ_CHECK(formats[k] != NULL, "%s: %s", names[k], err);
        }
        if ((parsers[k] = lt_parser_new(formats[k])) == NULL)
            abort();
    }

    const char *p = (const char *)data, *end = p + size;
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = fuzz_dup(p, len);
        struct ref r;
        check_line(parsers, line, len, &r);

        /* A few timestamp edits, chosen by the line's bytes. */
        if (r.time_at != 0) {
            size_t h = len;
            for (size_t i = 0; i < len; i++)
                h = h * 31 + (unsigned char)line[i];
            for (size_t e = 0; e < EDITS_PER_LINE; e++) {
                size_t k = (h + e * 7) % N_EDITS;
                char *edited = fuzz_dup(line, len);
                memcpy(edited + r.time_at + edits[k].at, edits[k].bytes, edits[k].len);
                struct ref r2;
                check_line(parsers, edited, len, &r2);
                free(edited);
            }
        }
        free(line);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    for (size_t k = 0; k < N_PARSERS; k++)
        lt_parser_free(parsers[k]);
    return 0;
}
