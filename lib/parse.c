/* parse.c -- access-log line parser: a compiled format plan and its walker.
 *
 * Formats
 * -------
 * Every format, named or custom, is an Apache LogFormat string compiled into
 * a plan: a sequence of items, each either literal text or a field.
 *
 *   combined = %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
 *
 *   plan:  CLIENT ' ' OTHER ' ' OTHER ' ' TIME ' ' REQUEST(q) ' ' STATUS ' '
 *          SIZE | ' ' OTHER(q) ' ' OTHER(q)
 *                ^ the walk stops here: nothing after SIZE feeds a count
 *
 * A field written between double quotes in the format ("%r") is a quoted
 * field: it runs from its opening quote to the first quote not escaped by a
 * backslash, so Apache's \" \\ and \xhh escapes never split it.  Any other
 * field is a token that ends at the first byte of the literal text that
 * follows it in the format (a space, or ':' after %v in vhost_combined).
 * A space in the literal text matches a run of one or more spaces.
 *
 * Validity
 * --------
 * A line is valid when every item up to the last field that feeds a count
 * (client, time, request, status, size, vhost) matches.  Whatever follows
 * is not looked at: nginx's extra trailing fields, a truncated User-Agent or
 * a `common` line read as `combined` all stay valid, which is what SPEC's
 * definition of a valid record asks for (client, timestamp, quoted request,
 * 3-digit status, size).  The request field is split into tokens at runs of
 * spaces; "METHOD TARGET" or "METHOD TARGET PROTOCOL" yields the target as
 * the URL, bytes as logged (escapes are not decoded, so the URL is what
 * `awk '{print $7}'` sees); any other shape, `-` included, leaves url NULL
 * and the caller counts an unparsed request.
 *
 * Timestamps
 * ----------
 *   [10/Oct/2000:13:55:36 -0700]
 *    0123456789012345678901234567     offsets inside the brackets
 *    date------   hms-----  zone
 * The date and the zone (bytes 0..10 and 21..25) decide a base epoch second;
 * the time of day adds HH*3600 + MM*60 + SS.  A small direct-mapped cache of
 * (date, zone) -> base in the parser makes the common case two short
 * compares and no calendar arithmetic; a miss validates and converts the
 * date (days-from-civil, proleptic Gregorian).  The cache is per parser, so
 * one parser per thread.
 *
 * Clients
 * -------
 * A dotted quad with octets 0..255 and no leading zeros is IPv4.  A field
 * with a ':' is tried as IPv6 after removing [brackets] and a %zone, with
 * inet_pton() on a bounded, NUL-free copy; ::ffff:a.b.c.d (IPv4-mapped) is
 * reported as that IPv4.  Anything else is a hostname client.
 *
 * Nothing here allocates per line; no byte value (NUL, 0xff, '\r') or line
 * length makes the walker read outside [line, line + len).
 */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum item_kind {
    ITEM_LITERAL,
    ITEM_CLIENT,    /* %h %a */
    ITEM_TIME,      /* %t */
    ITEM_REQUEST,   /* %r, always quoted */
    ITEM_STATUS,    /* %s %>s %<s */
    ITEM_SIZE,      /* the first of %b %B %O */
    ITEM_VHOST,     /* %v %V */
    ITEM_OTHER,     /* any other directive: matched, not used */
} item_kind;

struct item {
    item_kind kind;
    int quoted;         /* field is between double quotes */
    char stop;          /* unquoted field: the byte that ends it */
    size_t off, len;    /* literal: bytes lits[off .. off+len) */
    size_t col;         /* 1-based column in the format string */
};

struct lt_format {
    char *spec;         /* the LogFormat string */
    char *lits;         /* literal text of all literal items */
    struct item *items;
    size_t n_items;
    size_t n_plan;      /* items walked per line: up to the last counted field */
};

#define DATE_CACHE_SLOTS 16

struct date_slot {
    char date[11];      /* "dd/Mon/yyyy" */
    char zone[5];       /* "+hhmm" */
    int valid;
    int64_t base;       /* epoch second of 00:00:00 that day in that zone */
};

struct lt_parser {
    const lt_format *f;
    struct date_slot cache[DATE_CACHE_SLOTS];
};

/* ------------------------------------------------------------------------
 * Format compilation
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *spec;
} builtin_formats[] = {
    {"common", "%h %l %u %t \"%r\" %>s %b"},
    {"combined", "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""},
    {"nginx", "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""},
    {"vhost_combined", "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""},
};

/* Writes "column N: what" into err; column 0 means the whole format. */
static void set_err(char *err, size_t errlen, size_t col, const char *what)
{
    if (errlen == 0)
        return;
    if (col == 0)
        snprintf(err, errlen, "%s", what);
    else
        snprintf(err, errlen, "column %zu: %s", col, what);
}

/* Appends an item; returns 0 or -ENOMEM.  *cap grows by doubling. */
static int push_item(lt_format *f, size_t *cap, struct item it)
{
    if (f->n_items == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct item *n = realloc(f->items, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        f->items = n;
        *cap = ncap;
    }
    f->items[f->n_items++] = it;
    return 0;
}

static int is_counted(item_kind k)
{
    return k != ITEM_LITERAL && k != ITEM_OTHER;
}

/* Marks fields enclosed in literal double quotes as quoted and removes those
 * quotes from the neighbouring literals, then decides where each unquoted
 * field stops.  Returns 0 or -1 when %r is not quoted. */
static int finish_plan(lt_format *f, char *err, size_t errlen)
{
    for (size_t i = 0; i < f->n_items; i++) {
        struct item *it = &f->items[i];
        if (it->kind == ITEM_LITERAL || i == 0 || i + 1 == f->n_items)
            continue;
        struct item *prev = &f->items[i - 1], *next = &f->items[i + 1];
        if (prev->kind == ITEM_LITERAL && next->kind == ITEM_LITERAL && prev->len > 0 &&
            next->len > 0 && f->lits[prev->off + prev->len - 1] == '"' &&
            f->lits[next->off] == '"') {
            it->quoted = 1;
            prev->len--;
            next->off++;
            next->len--;
        }
    }
    for (size_t i = 0; i < f->n_items; i++) {
        struct item *it = &f->items[i];
        if (it->kind == ITEM_REQUEST && !it->quoted) {
            set_err(err, errlen, it->col, "%r must be written between double quotes");
            return -1;
        }
        if (it->kind == ITEM_LITERAL || it->quoted)
            continue;
        /* An unquoted field ends where the text after it begins: the next
         * non-empty literal, or the quote of a quoted field that follows
         * directly.  At the end of the format it ends at a space, so that
         * trailing fields a format does not name are not swallowed. */
        it->stop = ' ';
        for (size_t j = i + 1; j < f->n_items; j++) {
            const struct item *n = &f->items[j];
            if (n->kind == ITEM_LITERAL && n->len == 0)
                continue;
            if (n->kind == ITEM_LITERAL)
                it->stop = f->lits[n->off];
            else if (n->quoted)
                it->stop = '"';
            else if (n->kind == ITEM_TIME)
                it->stop = '[';
            break;
        }
    }
    f->n_plan = 0;
    for (size_t i = 0; i < f->n_items; i++)
        if (is_counted(f->items[i].kind))
            f->n_plan = i + 1;
    return 0;
}

lt_format *lt_format_new(const char *spec, char *err, size_t errlen)
{
    lt_format *f = NULL;
    size_t cap = 0, nlit = 0;
    int have[ITEM_OTHER + 1] = {0};

    if (errlen > 0)
        err[0] = '\0';
    for (size_t i = 0; i < sizeof(builtin_formats) / sizeof(builtin_formats[0]); i++)
        if (strcmp(spec, builtin_formats[i].name) == 0)
            spec = builtin_formats[i].spec;

    f = calloc(1, sizeof(*f));
    if (f == NULL)
        goto nomem;
    f->spec = strdup(spec);
    f->lits = malloc(strlen(spec) + 1);
    if (f->spec == NULL || f->lits == NULL)
        goto nomem;

    const char *s = spec;
    while (*s) {
        size_t col = (size_t)(s - spec) + 1;
        if (*s != '%' || s[1] == '%') {
            /* Literal text, merged with the literal item before it. */
            char c = *s;
            s += (*s == '%') ? 2 : 1;
            if (f->n_items == 0 || f->items[f->n_items - 1].kind != ITEM_LITERAL) {
                struct item lit = {.kind = ITEM_LITERAL, .off = nlit, .len = 0};
                if (push_item(f, &cap, lit) < 0)
                    goto nomem;
            }
            f->lits[nlit++] = c;
            f->items[f->n_items - 1].len++;
            continue;
        }
        s++;
        /* Modifiers: status conditions ("%400,501{...}i", "%!200u") and the
         * original/final request markers '<' '>' do not change the syntax. */
        while (*s == '!' || *s == ',' || (*s >= '0' && *s <= '9'))
            s++;
        while (*s == '<' || *s == '>')
            s++;
        int braced = 0;
        if (*s == '{') {
            const char *close = strchr(s, '}');
            if (close == NULL) {
                set_err(err, errlen, col, "'{' without '}'");
                goto fail;
            }
            braced = 1;
            s = close + 1;
        }
        char d = *s;
        if (d == '\0' || !((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z'))) {
            set_err(err, errlen, col, "'%' must be followed by a directive letter");
            goto fail;
        }
        s++;
        item_kind k = ITEM_OTHER;
        switch (d) {
        case 'h': case 'a': k = ITEM_CLIENT; break;
        case 't':
            if (braced) {
                set_err(err, errlen, col,
                        "%{...}t custom time formats are not supported; use %t");
                goto fail;
            }
            k = ITEM_TIME;
            break;
        case 'r': k = ITEM_REQUEST; break;
        case 's': k = ITEM_STATUS; break;
        case 'b': case 'B': case 'O': k = ITEM_SIZE; break;
        case 'v': case 'V': k = ITEM_VHOST; break;
        default: k = ITEM_OTHER; break;
        }
        /* The first field of each kind counts; a repeat (%O after %b, a
         * second %h) is only matched. */
        if (k != ITEM_OTHER && have[k])
            k = ITEM_OTHER;
        have[k] = 1;
        struct item it = {.kind = k, .col = col};
        if (push_item(f, &cap, it) < 0)
            goto nomem;
    }

    static const struct {
        item_kind kind;
        const char *msg;
    } required[] = {
        {ITEM_CLIENT, "the format has no client field (%h or %a)"},
        {ITEM_TIME, "the format has no timestamp (%t)"},
        {ITEM_REQUEST, "the format has no request line (\"%r\")"},
        {ITEM_STATUS, "the format has no status (%>s or %s)"},
        {ITEM_SIZE, "the format has no response size (%b, %B or %O)"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!have[required[i].kind]) {
            set_err(err, errlen, 0, required[i].msg);
            goto fail;
        }
    if (finish_plan(f, err, errlen) < 0)
        goto fail;
    return f;

nomem:
    set_err(err, errlen, 0, "out of memory");
fail:
    lt_format_free(f);
    return NULL;
}

void lt_format_free(lt_format *f)
{
    if (f == NULL)
        return;
    free(f->spec);
    free(f->lits);
    free(f->items);
    free(f);
}

const char *lt_format_string(const lt_format *f)
{
    return f->spec;
}

lt_parser *lt_parser_new(const lt_format *f)
{
    lt_parser *p = calloc(1, sizeof(*p));
    if (p != NULL)
        p->f = f;
    return p;
}

void lt_parser_free(lt_parser *p)
{
    free(p);
}

/* ------------------------------------------------------------------------
 * Timestamps
 * ---------------------------------------------------------------------- */

static int digit(char c)
{
    return (unsigned)((unsigned char)c - '0') < 10u ? c - '0' : -1;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
    int a = digit(s[0]), b = digit(s[1]);
    return (a < 0 || b < 0) ? -1 : a * 10 + b;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int month_number(const char *s)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(s, names + 3 * i, 3) == 0)
            return i + 1;
    return 0;
}

/* Validates "dd/Mon/yyyy" at s and "+hhmm" at zone; on success stores the
 * epoch second of that day's midnight in that zone. */
static int parse_date(const char *s, const char *zone, int64_t *base)
{
    static const unsigned char mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int day = two_digits(s), mon = month_number(s + 3);
    int yh = two_digits(s + 7), yl = two_digits(s + 9);
    int zh = two_digits(zone + 1), zm = two_digits(zone + 3);

    if (s[2] != '/' || s[6] != '/' || day < 1 || mon == 0 || yh < 0 || yl < 0)
        return LT_PARSE_TIME;
    int year = yh * 100 + yl;
    if (year < 1970 || day > mdays[mon])
        return LT_PARSE_TIME;
    if (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return LT_PARSE_TIME;
    if ((zone[0] != '+' && zone[0] != '-') || zh < 0 || zh > 23 || zm < 0 || zm > 59)
        return LT_PARSE_TIME;
    int64_t offset = (int64_t)zh * 3600 + zm * 60;
    *base = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 -
            (zone[0] == '+' ? offset : -offset);
    return 0;
}

/* Validates ":HH:MM:SS " at s + 11 and returns the second of the day, or
 * -1.  Second 60 (a leap second) is accepted and lands on the next second. */
static int parse_hms(const char *s)
{
    if (s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ')
        return -1;
    int h = two_digits(s + 12), m = two_digits(s + 15), sec = two_digits(s + 18);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        return -1;
    return h * 3600 + m * 60 + sec;
}

int lt_parse_time(const char *s, int64_t *out)
{
    int64_t base;
    int hms = parse_hms(s);
    if (hms < 0 || parse_date(s, s + 21, &base) < 0)
        return LT_PARSE_TIME;
    *out = base + hms;
    return 0;
}

/* lt_parse_time() through the parser's date cache. */
static int cached_time(lt_parser *ps, const char *s, int64_t *out)
{
    int hms = parse_hms(s);
    if (hms < 0)
        return LT_PARSE_TIME;
    /* The slot mixes the bytes that differ between nearby days and zones. */
    unsigned h = (unsigned char)s[0] * 3u + (unsigned char)s[1] + (unsigned char)s[4] * 5u +
                 (unsigned char)s[21] + (unsigned char)s[22] * 7u + (unsigned char)s[23] * 11u +
                 (unsigned char)s[24] * 13u;
    struct date_slot *slot = &ps->cache[h % DATE_CACHE_SLOTS];
    if (!slot->valid || memcmp(slot->date, s, 11) != 0 || memcmp(slot->zone, s + 21, 5) != 0) {
        int64_t base;
        if (parse_date(s, s + 21, &base) < 0)
            return LT_PARSE_TIME;
        memcpy(slot->date, s, 11);
        memcpy(slot->zone, s + 21, 5);
        slot->base = base;
        slot->valid = 1;
    }
    *out = slot->base + hms;
    return 0;
}

/* ------------------------------------------------------------------------
 * Clients
 * ---------------------------------------------------------------------- */

static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
    uint32_t addr = 0;
    size_t i = 0;

    if (len < 7 || len > 15)
        return 0;
    for (int octet = 0; octet < 4; octet++) {
        unsigned v = 0, n = 0;
        if (octet > 0) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
        while (i < len && n < 4 && digit(s[i]) >= 0) {
            v = v * 10 + (unsigned)digit(s[i]);
            i++;
            n++;
        }
        if (n == 0 || n > 3 || v > 255 || (n > 1 && s[i - n] == '0'))
            return 0;
        addr = addr << 8 | v;
    }
    if (i != len)
        return 0;
    *out = addr;
    return 1;
}

static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    char buf[64];

    if (len >= 2 && s[0] == '[') {
        if (s[len - 1] != ']')
            return 0;
        s++;
        len -= 2;
    }
    const char *zone = memchr(s, '%', len);
    if (zone != NULL) {
        if (zone == s + len - 1)
            return 0;    /* "fe80::1%" has an empty zone */
        len = (size_t)(zone - s);
    }
    /* inet_pton() reads a C string: a NUL inside the field must not end it
     * early and turn "::1\0junk" into ::1. */
    if (len < 2 || len > 45 || memchr(s, '\0', len) != NULL)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

void lt_parse_client(const char *s, size_t len, lt_record *rec)
{
    static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (parse_ipv4(s, len, &rec->ipv4)) {
        rec->client = LT_CLIENT_IPV4;
        return;
    }
    if (memchr(s, ':', len) != NULL && parse_ipv6(s, len, rec->ipv6)) {
        if (memcmp(rec->ipv6, mapped_prefix, 12) == 0) {
            const uint8_t *a = rec->ipv6 + 12;
            rec->client = LT_CLIENT_IPV4;
            rec->ipv4 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        } else {
            rec->client = LT_CLIENT_IPV6;
        }
        return;
    }
    rec->client = LT_CLIENT_HOST;
    rec->host = s;
    rec->host_len = len;
}

/* ------------------------------------------------------------------------
 * The line walker
 * ---------------------------------------------------------------------- */

/* The end of the quoted field whose opening quote is at p: the closing
 * quote (the first '"' preceded by an even number of backslashes), or NULL
 * when the line ends first. */
static const char *quoted_end(const char *p, const char *end)
{
    const char *q = p + 1;
    while (q < end) {
        const char *c = memchr(q, '"', (size_t)(end - q));
        if (c == NULL)
            return NULL;
        size_t slashes = 0;
        while (c - slashes > p + 1 && c[-1 - (ptrdiff_t)slashes] == '\\')
            slashes++;
        if (slashes % 2 == 0)
            return c;
        q = c + 1;
    }
    return NULL;
}

/* Splits the request field [s, e) into METHOD TARGET [PROTOCOL] and stores
 * TARGET in rec->url, or leaves rec->url NULL for any other shape. */
static void split_request(const char *s, const char *e, lt_record *rec)
{
    const char *tok[3], *tok_end[3];
    int n = 0;

    while (s < e) {
        while (s < e && *s == ' ')
            s++;
        if (s == e)
            break;
        if (n == 3)
            return;    /* a fourth token: not a request line we can read */
        tok[n] = s;
        while (s < e && *s != ' ')
            s++;
        tok_end[n++] = s;
    }
    if (n < 2)
        return;
    rec->url = tok[1];
    rec->url_len = (size_t)(tok_end[1] - tok[1]);
}

static int field_error(item_kind k)
{
    switch (k) {
    case ITEM_CLIENT: return LT_PARSE_CLIENT;
    case ITEM_TIME: return LT_PARSE_TIME;
    case ITEM_REQUEST: return LT_PARSE_REQUEST;
    case ITEM_STATUS: return LT_PARSE_STATUS;
    case ITEM_SIZE: return LT_PARSE_SIZE;
    default: return LT_PARSE_FIELD;
    }
}

int lt_parse_line(lt_parser *ps, const char *line, size_t len, lt_record *rec)
{
    const lt_format *f = ps->f;
    const char *p = line, *end = line + len;

    if (len > 0 && end[-1] == '\r')
        end--;
    if (p == end)
        return LT_PARSE_EMPTY;
    rec->url = NULL;
    rec->url_len = 0;
    rec->vhost = NULL;
    rec->vhost_len = 0;
    rec->bytes = 0;

    for (size_t i = 0; i < f->n_plan; i++) {
        const struct item *it = &f->items[i];
        const char *fs, *fe;    /* the field's bytes, quotes excluded */

        if (it->kind == ITEM_LITERAL) {
            const char *l = f->lits + it->off;
            for (size_t j = 0; j < it->len; j++) {
                if (p == end || *p != l[j])
                    return i + 1 < f->n_items ? field_error(f->items[i + 1].kind) : LT_PARSE_LAYOUT;
                p++;
                if (l[j] == ' ')
                    while (p < end && *p == ' ')
                        p++;
            }
            continue;
        }
        if (it->kind == ITEM_TIME) {
            /* "[dd/Mon/yyyy:HH:MM:SS +hhmm]" is 28 bytes. */
            if (end - p < 28 || p[0] != '[' || p[27] != ']' || cached_time(ps, p + 1, &rec->ts) < 0)
                return LT_PARSE_TIME;
            p += 28;
            continue;
        }
        if (it->quoted) {
            const char *q;
            if (p == end || *p != '"' || (q = quoted_end(p, end)) == NULL)
                return field_error(it->kind);
            fs = p + 1;
            fe = q;
            p = q + 1;
        } else {
            fs = p;
            while (p < end && *p != it->stop && *p != ' ')
                p++;
            fe = p;
            if (fs == fe)
                return field_error(it->kind);
        }

        size_t flen = (size_t)(fe - fs);
        switch (it->kind) {
        case ITEM_CLIENT:
            lt_parse_client(fs, flen, rec);
            break;
        case ITEM_REQUEST:
            split_request(fs, fe, rec);
            break;
        case ITEM_STATUS:
            if (flen != 3 || digit(fs[0]) < 0 || digit(fs[1]) < 0 || digit(fs[2]) < 0)
                return LT_PARSE_STATUS;
            rec->status = (unsigned)(digit(fs[0]) * 100 + digit(fs[1]) * 10 + digit(fs[2]));
            break;
        case ITEM_SIZE:
            if (flen == 1 && fs[0] == '-')
                break;
            /* 19 digits always fit in 64 bits; 20 might not. */
            if (flen > 19)
                return LT_PARSE_SIZE;
            for (size_t j = 0; j < flen; j++) {
                if (digit(fs[j]) < 0)
                    return LT_PARSE_SIZE;
                rec->bytes = rec->bytes * 10 + (uint64_t)digit(fs[j]);
            }
            break;
        case ITEM_VHOST:
            rec->vhost = fs;
            rec->vhost_len = flen;
            break;
        default:
            break;
        }
    }
    return LT_PARSE_OK;
}

const char *lt_parse_strerror(int code)
{
    switch (code) {
    case LT_PARSE_OK: return "ok";
    case LT_PARSE_EMPTY: return "empty line";
    case LT_PARSE_CLIENT: return "missing client field";
    case LT_PARSE_TIME: return "missing or invalid [timestamp]";
    case LT_PARSE_REQUEST: return "missing or unterminated quoted request";
    case LT_PARSE_STATUS: return "status is not 3 digits";
    case LT_PARSE_SIZE: return "size is neither digits nor '-'";
    case LT_PARSE_LAYOUT: return "text between fields does not match the format";
    case LT_PARSE_FIELD: return "a field of the format is missing";
    case LT_PARSE_TOO_LONG: return "line longer than 1 MiB";
    default: return "unknown parse error";
    }
}
