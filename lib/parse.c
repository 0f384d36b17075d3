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
 * the URL (and METHOD as the method), bytes as logged (escapes are not decoded, so the URL is what
 * `awk '{print $7}'` sees); any other shape, `-` included, leaves url NULL
 * and the caller counts an unparsed request.
 *
 * Timestamps
 * ----------
 *   [10/Oct/2000:13:55:36 -0700]
 *    0123456789012345678901234567     offsets inside the brackets
 *    date------   hms-----  zone
 * The date, hour, minute and zone (bytes 0..16 and 21..25) decide the
 * epoch second the minute starts; the seconds (18..19) add to it.  A small
 * direct-mapped cache of (minute, zone) -> start in the parser makes the
 * common case three word compares and two digits; a miss validates and
 * converts the whole timestamp (days-from-civil, proleptic Gregorian).
 * Lines mostly arrive within the same few minutes, even when their zones
 * differ, so misses are about one per minute of log per zone.  The cache
 * is per parser, so one parser per thread.
 *
 * Clients
 * -------
 * A dotted quad with octets 0..255 and no leading zeros is IPv4.  A field
 * with a ':' is tried as IPv6 after removing [brackets] and a %zone, with
 * inet_pton() on a bounded, NUL-free copy; ::ffff:a.b.c.d (IPv4-mapped) is
 * reported as that IPv4.  Anything else is a hostname client.
 *
 * The fast path
 * -------------
 * Nearly every line in the wild follows the plan that common, combined and
 * nginx share (%h %l %u %t "%r" %>s %b) with single spaces.  For those
 * formats lt_parse_line() first tries parse_common(), which reads exactly
 * that spelling with SSE2 scans and a loop-free dotted-quad reader, and
 * gives up on anything else; the walker then reads the line and alone
 * decides validity and error codes.  The fast path only accepts lines the
 * walker accepts, with the same record (lt_parse_line_generic() is the
 * walker alone, and tests/test_parse.c holds the two together on real logs
 * and random mutations of them).
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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
    int common_prefix;  /* the plan is %h %l %u %t "%r" %>s %b: see parse_common() */
};

/* The minute cache: 256 direct-mapped slots.  A log interleaves about two
 * minutes (lines are written at completion) times its zones; on a
 * generated log with five zones this misses on 0.4 % of lines, where 16
 * slots missed on 8 %.  8 KiB per parser, of which only the live minutes'
 * lines are touched. */
#define MINUTE_SLOTS 256

/* A validated "dd/Mon/yyyy:HH:MM" and zone, as three words loaded from the
 * timestamp (see minute_key()), and the epoch second that minute starts.
 * An empty slot has key[2] = all ones, which no timestamp produces (bytes
 * 1 and 2 of key[2] are always zero), so it needs no separate flag. */
struct minute_slot {
    uint64_t key[3];
    int64_t base;
};

struct lt_parser {
    const lt_format *f;
    struct minute_slot cache[MINUTE_SLOTS];
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

/* Whether the walked plan is exactly that of `common` (also the walked
 * part of `combined` and `nginx`): CLIENT ' ' OTHER ' ' OTHER ' ' TIME ' '
 * "REQUEST" ' ' STATUS ' ' SIZE, every unquoted field ending at a space. */
static int is_common_prefix(const lt_format *f)
{
    static const item_kind shape[] = {
        ITEM_CLIENT, ITEM_LITERAL, ITEM_OTHER, ITEM_LITERAL, ITEM_OTHER, ITEM_LITERAL, ITEM_TIME,
        ITEM_LITERAL, ITEM_REQUEST, ITEM_LITERAL, ITEM_STATUS, ITEM_LITERAL, ITEM_SIZE,
    };
    const size_t n = sizeof(shape) / sizeof(shape[0]);

    if (f->n_plan != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &f->items[i];
        if (it->kind != shape[i])
            return 0;
        if (it->kind == ITEM_LITERAL && (it->len != 1 || f->lits[it->off] != ' '))
            return 0;
        if (it->kind != ITEM_LITERAL && it->kind != ITEM_TIME &&
            (it->quoted != (it->kind == ITEM_REQUEST) || (!it->quoted && it->stop != ' ')))
            return 0;
    }
    return 1;
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
    f->common_prefix = is_common_prefix(f);
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
    if (p == NULL)
        return NULL;
    p->f = f;
    for (size_t i = 0; i < MINUTE_SLOTS; i++)
        p->cache[i].key[2] = UINT64_MAX;
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

static uint64_t load64(const char *s)
{
    uint64_t v;
    memcpy(&v, s, sizeof(v));
    return v;
}

/* The bytes of the timestamp at s that name its minute, as three words:
 * s[0..8) "dd/Mon/y", s[8..16) "yyy:HH:M", and s[16] (the minute's last
 * digit) with s[21..26) (the zone), taken from the words at s + 16 and
 * s + 18 with masks written in memory order, so whatever the byte order.
 * Reads s[0..26), all inside the 26-byte timestamp, with whole-word loads
 * (assembling a word from smaller stores would stall on store forwarding). */
static void minute_key(const char *s, uint64_t key[3])
{
    static const union {
        unsigned char b[8];
        uint64_t w;
    } first_byte = {{0xff, 0, 0, 0, 0, 0, 0, 0}}, last_five = {{0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff}};

    key[0] = load64(s);
    key[1] = load64(s + 8);
    key[2] = (load64(s + 16) & first_byte.w) | (load64(s + 18) & last_five.w);
}

/* lt_parse_time() through the parser's minute cache: a hit checks only
 * ":SS " (the rest of the timestamp equals one validated before). */
static inline int cached_time(lt_parser *ps, const char *s, int64_t *out)
{
    uint64_t key[3];
    minute_key(s, key);
    int sec = two_digits(s + 18);
    if (s[17] != ':' || s[20] != ' ' || sec < 0 || sec > 60)
        return LT_PARSE_TIME;

    uint64_t h = (key[0] ^ key[1] * 31 ^ key[2] * 961) * 0x9e3779b97f4a7c15u;
    struct minute_slot *slot = &ps->cache[h >> 56];
    _Static_assert(MINUTE_SLOTS == 256, "the slot is the top 8 bits of the hash");
    if (slot->key[0] != key[0] || slot->key[1] != key[1] || slot->key[2] != key[2]) {
        int64_t base;
        int hms = parse_hms(s);
        if (hms < 0 || parse_date(s, s + 21, &base) < 0)
            return LT_PARSE_TIME;
        memcpy(slot->key, key, sizeof(key));
        slot->base = base + hms - sec;
    }
    *out = slot->base + sec;
    return 0;
}

/* ------------------------------------------------------------------------
 * Clients
 * ---------------------------------------------------------------------- */

/* Reads a dotted quad: four decimal octets 0..255 of one to three digits
 * without a leading zero, joined by dots, and nothing else.  Unrolled per
 * octet because every line's client goes through here first. */
static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
    const char *p = s, *end = s + len;
    uint32_t addr = 0;

    if (len < 7 || len > 15)
        return 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0 && (p == end || *p++ != '.'))
            return 0;
        if (p == end || digit(*p) < 0)
            return 0;
        unsigned v = (unsigned)digit(*p++);
        if (p < end && digit(*p) >= 0) {
            if (v == 0)
                return 0;    /* a leading zero */
            v = v * 10 + (unsigned)digit(*p++);
            if (p < end && digit(*p) >= 0) {
                v = v * 10 + (unsigned)digit(*p++);
                if (v > 255)
                    return 0;
            }
        }
        addr = addr << 8 | v;
    }
    if (p != end)
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

/* The first byte at or after s that is not a space, or e. */
static const char *skip_spaces(const char *s, const char *e)
{
    while (s < e && *s == ' ')
        s++;
    return s;
}

/* The first space in [s, e), or e. */
static const char *token_end(const char *s, const char *e)
{
    const char *sp = memchr(s, ' ', (size_t)(e - s));
    return sp != NULL ? sp : e;
}

/* Splits the request field [s, e) into METHOD TARGET [PROTOCOL] (tokens
 * separated by runs of spaces, which may also lead and trail) and stores
 * TARGET in rec->url, or leaves rec->url NULL for any other shape. */
static void split_request(const char *s, const char *e, lt_record *rec)
{
    s = skip_spaces(s, e);
    if (s == e)
        return;                              /* no token */
    const char *method = s, *method_end = token_end(s, e);
    s = skip_spaces(method_end, e);          /* past METHOD */
    if (s == e)
        return;                              /* one token */
    const char *target = s, *target_end = token_end(s, e);
    s = skip_spaces(target_end, e);
    if (s != e && skip_spaces(token_end(s, e), e) != e)
        return;                              /* a fourth token */
    rec->url = target;
    rec->url_len = (size_t)(target_end - target);
    rec->method = method;
    rec->method_len = (size_t)(method_end - method);
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

/* The plan walker: any format, any spacing.  [p, end) is a non-empty line
 * without its '\r'. */
static int walk_plan(lt_parser *ps, const char *p, const char *end, lt_record *rec)
{
    const lt_format *f = ps->f;

    rec->url = NULL;
    rec->url_len = 0;
    rec->method = NULL;
    rec->method_len = 0;
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

/* The first byte in [s, e) equal to a or b, or e.  Sixteen bytes at a
 * time where SSE2 is available (every x86-64), never reading past e. */
static const char *find_either(const char *s, const char *e, char a, char b)
{
#ifdef __SSE2__
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    for (; e - s >= 16; s += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (m != 0)
            return s + __builtin_ctz(m);
    }
#endif
    while (s < e && *s != a && *s != b)
        s++;
    return s;
}

/* parse_ipv4() for a field of len bytes at s when at least 16 bytes can be
 * read at s (the fast path knows the line goes on).  With SSE2 the 16
 * bytes are classified at once and each octet is read without a loop, so
 * the varying octet lengths cost no mispredicted branches:
 *
 *   s:      1  9  2  .  1  6  8  .  0  .  1  7        (len 12)
 *   dots:   ---------x-----------x-----x----          3 dots, else not IPv4
 *   digit:  the byte - '0', or 0 for a dot; three zeros are put in front
 *   octet ending before e (n digits):  d[e-1] + 10 d[e-2] + 100 d[e-3],
 *           where d[e-2] is a dot's 0 when n = 1 and the hundreds term
 *           counts only when n = 3
 *
 * and then the same rules as parse_ipv4(): 1 to 3 digits, no leading zero,
 * at most 255.  Elsewhere this is parse_ipv4() itself. */
static int parse_ipv4_wide(const char *s, size_t len, uint32_t *out)
{
#ifdef __SSE2__
    if (len < 7 || len > 15)
        return 0;
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    const unsigned inside = (1u << len) - 1;
    const __m128i is_digit = _mm_andnot_si128(
        _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8('0')), _mm_cmpgt_epi8(x, _mm_set1_epi8('9'))),
        _mm_set1_epi8(-1));
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))) & inside;
    unsigned digits = (unsigned)_mm_movemask_epi8(is_digit) & inside;
    unsigned two_cleared = dots & (dots - 1) & ((dots & (dots - 1)) - 1);
    if ((dots | digits) != inside || two_cleared == 0 || (two_cleared & (two_cleared - 1)) != 0)
        return 0;    /* not digits and exactly three dots */

    unsigned char d[3 + 16] = {0};
    _mm_storeu_si128((__m128i *)(void *)(d + 3),
                     _mm_and_si128(_mm_sub_epi8(x, _mm_set1_epi8('0')), is_digit));
    uint32_t addr = 0;
    unsigned start = 0;
    for (int octet = 0; octet < 4; octet++) {
        unsigned e = octet < 3 ? (unsigned)__builtin_ctz(dots) : (unsigned)len;
        unsigned n = e - start;    /* d[k + 3] is the digit at s[k] */
        unsigned v = d[e + 2] + 10u * d[e + 1] + (n == 3 ? 100u * d[e] : 0u);
        if (n - 1 > 2 || v > 255 || (n > 1 && s[start] == '0'))
            return 0;
        addr = addr << 8 | v;
        dots &= dots - 1;
        start = e + 1;
    }
    *out = addr;
    return 1;
#else
    return parse_ipv4(s, len, out);
#endif
}

/* The fast path for the plan every common, combined and nginx line
 * follows:
 *
 *   %h SP %l SP %u SP [28-byte %t] SP "%r" SP %>s SP %b [SP ...]
 *
 * in its usual spelling: single spaces, a 3-digit status, and a size of
 * digits or '-'.  It returns LT_PARSE_OK with rec filled exactly as
 * walk_plan() fills it, or FAST_UNSURE for anything else (a run of spaces,
 * a bad field, a line that ends early); the caller then walks the plan,
 * which decides validity and the error code.  So the fast path only ever
 * accepts lines the walker accepts, with the same record: tests/test_parse.c
 * checks that on real logs and on random mutations of them. */
#define FAST_UNSURE 1

static int parse_common(lt_parser *ps, const char *p, const char *end, lt_record *rec)
{
    const char *sp;

    /* %h: up to the first space. */
    if ((sp = find_either(p, end, ' ', ' ')) == end || sp == p)
        return FAST_UNSURE;
    if (end - p >= 16 && parse_ipv4_wide(p, (size_t)(sp - p), &rec->ipv4))
        rec->client = LT_CLIENT_IPV4;
    else
        lt_parse_client(p, (size_t)(sp - p), rec);
    p = sp + 1;

    /* %l and %u: any tokens, almost always "-". */
    for (int field = 0; field < 2; field++) {
        if (end - p >= 2 && p[0] == '-' && p[1] == ' ') {
            p += 2;
            continue;
        }
        if (p == end || *p == ' ' || (sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
            return FAST_UNSURE;
        p = sp + 1;
    }

    /* %t and the opening quote of %r. */
    if (end - p < 30 || p[0] != '[' || p[27] != ']' || p[28] != ' ' || p[29] != '"' ||
        cached_time(ps, p + 1, &rec->ts) < 0)
        return FAST_UNSURE;
    p += 29;

    /* "%r": METHOD, or METHOD SP TARGET, or METHOD SP TARGET SP PROTOCOL,
     * up to the first quote, which must not follow a backslash (the walker
     * reads escapes).  One pass stops at each space and at that quote. */
    const char *method = p + 1, *q = find_either(method, end, ' ', '"');
    rec->url = NULL;
    rec->url_len = 0;
    rec->method = NULL;
    rec->method_len = 0;
    if (q == end || q == method || q[-1] == '\\')
        return FAST_UNSURE;
    if (*q == ' ') {
        const char *target = q + 1, *target_end = find_either(target, end, ' ', '"');
        if (target_end == end || target_end == target || target_end[-1] == '\\')
            return FAST_UNSURE;
        q = target_end;
        if (*q == ' ') {
            const char *proto = q + 1;
            q = find_either(proto, end, ' ', '"');
            if (q == end || *q != '"' || q == proto || q[-1] == '\\')
                return FAST_UNSURE;
        }
        rec->url = target;
        rec->url_len = (size_t)(target_end - target);
        rec->method = method;
        rec->method_len = (size_t)(target - 1 - method);
    }
    p = q + 1;

    /* %>s: " ddd " */
    if (end - p < 6 || p[0] != ' ' || digit(p[1]) < 0 || digit(p[2]) < 0 || digit(p[3]) < 0 ||
        p[4] != ' ')
        return FAST_UNSURE;
    rec->status = (unsigned)(digit(p[1]) * 100 + digit(p[2]) * 10 + digit(p[3]));
    p += 5;

    /* %b: digits (at most 19, which always fit 64 bits) or '-', then a
     * space or the end of the line.  A second space before it is neither. */
    uint64_t bytes = 0;
    const char *s = p;
    while (p < end && digit(*p) >= 0)
        bytes = bytes * 10 + (uint64_t)digit(*p++);
    if (p == s) {
        if (*p != '-')
            return FAST_UNSURE;
        p++;
    } else if (p - s > 19) {
        return FAST_UNSURE;
    }
    if (p < end && *p != ' ')
        return FAST_UNSURE;
    rec->bytes = bytes;
    rec->vhost = NULL;
    rec->vhost_len = 0;
    return LT_PARSE_OK;
}

int lt_parse_line(lt_parser *ps, const char *line, size_t len, lt_record *rec)
{
    const char *end = line + len;

    if (len > 0 && end[-1] == '\r')
        end--;
    if (line == end)
        return LT_PARSE_EMPTY;
    if (ps->f->common_prefix && parse_common(ps, line, end, rec) == LT_PARSE_OK)
        return LT_PARSE_OK;
    return walk_plan(ps, line, end, rec);
}

int lt_parse_line_generic(lt_parser *ps, const char *line, size_t len, lt_record *rec)
{
    const char *end = line + len;

    if (len > 0 && end[-1] == '\r')
        end--;
    if (line == end)
        return LT_PARSE_EMPTY;
    return walk_plan(ps, line, end, rec);
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
