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
 * An nginx log_format string ($remote_addr [$time_local] "$request" ...)
 * compiles to the same items: each known $variable is the field Apache
 * names with a directive, any other is ITEM_OTHER, and the brackets around
 * $time_local fold into %t's 28-byte time, so nginx's main format has the
 * plan of `combined` (its literal " - " is read as %l: see read_nginx()).
 * Other times are $time_iso8601 (ISO 8601) and $msec (epoch seconds).  A
 * pasted `LogFormat "..." name` or `log_format name '...' '...';` line is
 * first unwrapped to its format string.  A name that is not a built-in
 * format is refused with the names within two edits (or that it starts).
 *
 * JSON formats (`caddy`, `json`) have no plan: lib/jsonscan.c checks the
 * line and returns the values of a few dotted paths, and parse_json()
 * reads them with the same rules (status, size, times, request, client).
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
 * and the caller counts an unparsed request.  A request whose first token
 * is not an RFC 9110 method token, or whose target is not a path, `*` or
 * `scheme:...` (is_target()), is not HTTP (a TLS or RDP handshake on a
 * plain port): no URL, and rec->non_http.  The same holds for
 * $request_method and $request_uri logged apart.
 *
 * Response times
 * --------------
 * %D, %{us}T (microseconds), %{ms}T, %T and %{s}T, $request_time and
 * Caddy's duration (seconds with a fraction), $upstream_response_time (a
 * list "0.004, 0.012 : 0.030", its last value) become rec->duration_us;
 * "-" is none, anything else not a number makes the line malformed.
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
 * reported as that IPv4.  Then a.b.c.d:port and [v6]:port count as their
 * address.  Anything else is a hostname client.
 *
 * An unquoted client field whose token ends with ',' goes on past the
 * spaces after it ("10.0.0.2, 10.0.0.1, 127.0.0.1"); a client field with a
 * comma is a list.  resolve_client() walks the client field's list and
 * then the logged header's (lt_format_opts.client_header) from the right
 * and takes the first address that is not a trusted proxy (lib/cidr.c), or
 * the leftmost when all are: nginx's realip with real_ip_recursive, and
 * Apache's mod_remoteip.  With no trusted proxies a list gives its
 * rightmost address, the peer that connected.
 *
 * The fast path
 * -------------
 * Nearly every line in the wild follows the plan that common, combined and
 * nginx share (%h %l %u %t "%r" %>s %b) with single spaces.  For those
 * formats lt_parse_line() first tries parse_common(), which reads exactly
 * that spelling with SSE2 scans and a loop-free dotted-quad reader, and
 * gives up on anything else (a client list, a method with a byte that is
 * not a token's, a target that does not start with '/'); the walker then
 * reads the line and alone decides validity and error codes.  The fast path only accepts lines the
 * walker accepts, with the same record (lt_parse_line_generic() is the
 * walker alone, and tests/test_parse.c holds the two together on real logs
 * and random mutations of them).
 *
 * Nothing here allocates per line; no byte value (NUL, 0xff, '\r') or line
 * length makes the walker read outside [line, line + len).
 */
#include "parse.h"

#include "cidr.h"
#include "jsonscan.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef enum item_kind {
    ITEM_LITERAL,
    ITEM_CLIENT,    /* %h %a $remote_addr */
    ITEM_TIME,      /* %t $time_local $time_iso8601 $msec (see time_style) */
    ITEM_REQUEST,   /* %r $request, always quoted */
    ITEM_STATUS,    /* %s %>s %<s $status */
    ITEM_SIZE,      /* the first of %b %B %O $body_bytes_sent $bytes_sent */
    ITEM_VHOST,     /* %v %V $host $server_name $http_host */
    ITEM_METHOD,    /* %m $request_method */
    ITEM_URI,       /* $request_uri */
    ITEM_DURATION,  /* %D %T %{UNIT}T $request_time $upstream_response_time */
    ITEM_XFF,       /* the header of lt_format_opts.client_header */
    ITEM_OTHER,     /* any other directive: matched, not used */
} item_kind;

typedef enum time_style {
    TS_BRACKETED,   /* [dd/Mon/yyyy:HH:MM:SS +hhmm]: %t, [$time_local] */
    TS_CLF,         /* the same 26 bytes without brackets: $time_local */
    TS_ISO8601,     /* yyyy-mm-ddTHH:MM:SS[.frac](Z|+hh:mm|+hhmm): $time_iso8601 */
    TS_EPOCH,       /* seconds since 1970, with a fraction: $msec, Caddy's ts */
} time_style;

typedef enum duration_unit {
    DU_MICRO,       /* %D, %{us}T: integer microseconds */
    DU_MILLI,       /* %{ms}T: integer milliseconds */
    DU_SECONDS,     /* %T, %{s}T, $request_time, Caddy: seconds, maybe a fraction */
} duration_unit;

struct item {
    item_kind kind;
    int quoted;         /* field is between double quotes */
    char stop;          /* unquoted field: the byte that ends it */
    int style;          /* ITEM_TIME: a time_style; ITEM_DURATION: a duration_unit */
    int list;           /* a list ("a, b : c"): client, $upstream_response_time */
    size_t off, len;    /* literal: bytes lits[off .. off+len) */
    size_t col;         /* 1-based column in the format string */
};

/* The roles of a JSON format's paths (see json_paths()). */
typedef enum json_role {
    JR_TIME, JR_CLIENT, JR_CLIENT_RESOLVED, JR_METHOD, JR_URI, JR_REQUEST, JR_STATUS,
    JR_SIZE, JR_DURATION, JR_VHOST, JR_XFF, JR_COUNT,
} json_role;

struct lt_format {
    char *spec;         /* the format string (a name is expanded) */
    char *lits;         /* literal text of all literal items */
    struct item *items;
    size_t n_items;
    size_t n_plan;      /* items walked per line: up to the last counted field */
    int common_prefix;  /* the plan is %h %l %u %t "%r" %>s %b: see parse_common() */
    lt_cidr *trusted;   /* trusted proxies, or NULL */
    int has_xff;        /* the plan has an ITEM_XFF */
    /* JSON formats: a scanner, and which of its paths has which role. */
    lt_jsonscan *json;
    int json_path[JR_COUNT];    /* index into the scanner's paths, or -1 */
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
    {"caddy", "caddy"},
    {"json", "json"},
};

const char *const lt_format_names[] = {
    "common", "combined", "vhost_combined", "nginx", "caddy", "json", NULL,
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

/* Appends one literal byte, merged with the literal item before it. */
static int push_literal(lt_format *f, size_t *cap, size_t *nlit, char c)
{
    if (f->n_items == 0 || f->items[f->n_items - 1].kind != ITEM_LITERAL) {
        struct item lit = {.kind = ITEM_LITERAL, .off = *nlit, .len = 0};
        if (push_item(f, cap, lit) < 0)
            return -ENOMEM;
    }
    f->lits[(*nlit)++] = c;
    f->items[f->n_items - 1].len++;
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
        if (it->kind == ITEM_TIME && it->style != TS_BRACKETED)
            return 0;
        if (it->kind != ITEM_LITERAL && it->kind != ITEM_TIME &&
            (it->quoted != (it->kind == ITEM_REQUEST) || (!it->quoted && it->stop != ' ')))
            return 0;
    }
    return 1;
}

/* Marks fields enclosed in literal double quotes as quoted and removes those
 * quotes from the neighbouring literals (and the brackets around a
 * $time_local), then decides where each unquoted field stops.  Returns 0
 * or -1 when the request is not quoted. */
static int finish_plan(lt_format *f, char *err, size_t errlen)
{
    for (size_t i = 0; i < f->n_items; i++) {
        struct item *it = &f->items[i];
        if (it->kind == ITEM_LITERAL || i == 0 || i + 1 == f->n_items)
            continue;
        struct item *prev = &f->items[i - 1], *next = &f->items[i + 1];
        if (prev->kind != ITEM_LITERAL || next->kind != ITEM_LITERAL || prev->len == 0 ||
            next->len == 0)
            continue;
        char open = f->lits[prev->off + prev->len - 1], close = f->lits[next->off];
        if (open == '"' && close == '"') {
            it->quoted = 1;
        } else if (it->kind == ITEM_TIME && it->style == TS_CLF && open == '[' && close == ']') {
            it->style = TS_BRACKETED;    /* nginx's [$time_local] is Apache's %t */
        } else {
            continue;
        }
        prev->len--;
        next->off++;
        next->len--;
    }
    for (size_t i = 0; i < f->n_items; i++) {
        struct item *it = &f->items[i];
        if (it->kind == ITEM_REQUEST && !it->quoted) {
            set_err(err, errlen, it->col, "the request line (%r, $request) must be written "
                                          "between double quotes");
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
            else if (n->kind == ITEM_TIME && n->style == TS_BRACKETED)
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

/* Whether a logged header's name (as in %{NAME}i, or the NAME of nginx's
 * $http_NAME) is the header of the client option: compared without case,
 * '-' and '_' alike. */
static int is_client_header(const lt_format_opts *o, const char *name, size_t len)
{
    if (o == NULL || o->client_header == NULL || strlen(o->client_header) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char a = (char)tolower((unsigned char)name[i]), b = (char)tolower((unsigned char)o->client_header[i]);
        if (a == '_')
            a = '-';
        if (b == '_')
            b = '-';
        if (a != b)
            return 0;
    }
    return 1;
}

/* Reads an Apache LogFormat string into items.  Returns 0, -1 (err set)
 * or -ENOMEM. */
static int read_apache(lt_format *f, const char *spec, const lt_format_opts *o, size_t *cap,
                       char *err, size_t errlen)
{
    size_t nlit = 0;
    const char *s = spec;

    while (*s) {
        size_t col = (size_t)(s - spec) + 1;
        if (*s != '%' || s[1] == '%') {
            /* Literal text.  apache2.conf writes a quote as \" (and a
             * backslash as \\) inside its LogFormat strings; so may we. */
            char c = *s;
            if (c == '\\' && (s[1] == '"' || s[1] == '\\'))
                c = *++s;
            s += (*s == '%') ? 2 : 1;
            if (push_literal(f, cap, &nlit, c) < 0)
                return -ENOMEM;
            continue;
        }
        s++;
        /* Modifiers: status conditions ("%400,501{...}i", "%!200u") and the
         * original/final request markers '<' '>' do not change the syntax. */
        while (*s == '!' || *s == ',' || (*s >= '0' && *s <= '9'))
            s++;
        while (*s == '<' || *s == '>')
            s++;
        const char *arg = NULL;
        size_t arglen = 0;
        if (*s == '{') {
            const char *close = strchr(s, '}');
            if (close == NULL) {
                set_err(err, errlen, col, "'{' without '}'");
                return -1;
            }
            arg = s + 1;
            arglen = (size_t)(close - arg);
            s = close + 1;
        }
        char d = *s;
        if (d == '\0' || !((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z'))) {
            set_err(err, errlen, col, "'%' must be followed by a directive letter");
            return -1;
        }
        s++;
        struct item it = {.kind = ITEM_OTHER, .col = col};
        switch (d) {
        case 'h': case 'a': it.kind = ITEM_CLIENT; break;
        case 't':
            if (arg != NULL) {
                set_err(err, errlen, col,
                        "%{...}t custom time formats are not supported; use %t");
                return -1;
            }
            it.kind = ITEM_TIME;
            it.style = TS_BRACKETED;
            break;
        case 'r': it.kind = ITEM_REQUEST; break;
        case 's': it.kind = ITEM_STATUS; break;
        case 'b': case 'B': case 'O': it.kind = ITEM_SIZE; break;
        case 'v': case 'V': it.kind = ITEM_VHOST; break;
        case 'm': it.kind = ITEM_METHOD; break;
        case 'D': it.kind = ITEM_DURATION; it.style = DU_MICRO; break;
        case 'T':
            it.kind = ITEM_DURATION;
            if (arg == NULL || (arglen == 1 && arg[0] == 's'))
                it.style = DU_SECONDS;
            else if (arglen == 2 && memcmp(arg, "ms", 2) == 0)
                it.style = DU_MILLI;
            else if (arglen == 2 && memcmp(arg, "us", 2) == 0)
                it.style = DU_MICRO;
            else {
                set_err(err, errlen, col, "%{UNIT}T takes s, ms or us");
                return -1;
            }
            break;
        case 'i':
            if (arg != NULL && is_client_header(o, arg, arglen))
                it.kind = ITEM_XFF;
            break;
        default: break;
        }
        if (push_item(f, cap, it) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* nginx variables and what they are. */
static const struct {
    const char *name;
    item_kind kind;
    int style, list;
} nginx_vars[] = {
    {"remote_addr", ITEM_CLIENT, 0, 0},
    {"time_local", ITEM_TIME, TS_CLF, 0},
    {"time_iso8601", ITEM_TIME, TS_ISO8601, 0},
    {"msec", ITEM_TIME, TS_EPOCH, 0},
    {"request", ITEM_REQUEST, 0, 0},
    {"request_method", ITEM_METHOD, 0, 0},
    {"request_uri", ITEM_URI, 0, 0},
    {"status", ITEM_STATUS, 0, 0},
    {"body_bytes_sent", ITEM_SIZE, 0, 0},
    {"bytes_sent", ITEM_SIZE, 0, 0},
    {"host", ITEM_VHOST, 0, 0},
    {"server_name", ITEM_VHOST, 0, 0},
    {"http_host", ITEM_VHOST, 0, 0},
    {"request_time", ITEM_DURATION, DU_SECONDS, 0},
    {"upstream_response_time", ITEM_DURATION, DU_SECONDS, 1},
};

static int is_var_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Reads an nginx log_format string into items: $name or ${name} is a
 * variable, everything else literal text.  Returns 0, -1 or -ENOMEM. */
static int read_nginx(lt_format *f, const char *spec, const lt_format_opts *o, size_t *cap,
                      char *err, size_t errlen)
{
    size_t nlit = 0;
    const char *s = spec;

    while (*s) {
        size_t col = (size_t)(s - spec) + 1;
        if (*s != '$') {
            /* nginx writes the ident field of Apache's formats as a literal
             * "-".  Read right after the client, between single spaces, it
             * is taken as that field (matching any token), so that the
             * `main` format of nginx.conf has the plan of `combined` and its
             * lines the fast path. */
            if (s[0] == ' ' && s[1] == '-' && s[2] == ' ' && f->n_items > 0 &&
                f->items[f->n_items - 1].kind == ITEM_CLIENT) {
                struct item other = {.kind = ITEM_OTHER, .col = col + 1};
                if (push_literal(f, cap, &nlit, ' ') < 0 || push_item(f, cap, other) < 0 ||
                    push_literal(f, cap, &nlit, ' ') < 0)
                    return -ENOMEM;
                s += 3;
                continue;
            }
            if (push_literal(f, cap, &nlit, *s++) < 0)
                return -ENOMEM;
            continue;
        }
        const char *name = ++s;
        int braced = *s == '{';
        if (braced)
            name = ++s;
        while (is_var_char(*s))
            s++;
        size_t len = (size_t)(s - name);
        if (len == 0 || (braced && *s != '}')) {
            set_err(err, errlen, col, "'$' must be followed by a variable name");
            return -1;
        }
        if (braced)
            s++;
        struct item it = {.kind = ITEM_OTHER, .col = col};
        for (size_t i = 0; i < sizeof(nginx_vars) / sizeof(nginx_vars[0]); i++)
            if (strlen(nginx_vars[i].name) == len && memcmp(nginx_vars[i].name, name, len) == 0) {
                it.kind = nginx_vars[i].kind;
                it.style = nginx_vars[i].style;
                it.list = nginx_vars[i].list;
            }
        if (len > 5 && memcmp(name, "http_", 5) == 0 && is_client_header(o, name + 5, len - 5))
            it.kind = ITEM_XFF;
        if (push_item(f, cap, it) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* Whether spec is written in nginx's syntax: a '$' starting a variable
 * name, and no Apache directive. */
static int is_nginx_syntax(const char *spec)
{
    int dollar = 0;
    for (const char *s = spec; *s; s++) {
        if (*s == '%' && s[1] != '\0' && s[1] != '%')
            return 0;
        if (*s == '$' && (is_var_char(s[1]) || s[1] == '{'))
            dollar = 1;
    }
    return dollar;
}

/* A whole configuration line pasted as a format: Apache's
 *   LogFormat "%h %l ..." combined
 * or nginx's
 *   log_format main [escape=json] '$remote_addr - ...'
 *                   '"$http_user_agent"';
 * becomes the format string it holds (quoted pieces concatenated, Apache's
 * \" and \\ undone for Apache's line).  Returns a new string, NULL with
 * *bad set when the line does not read, or NULL when spec is not such a
 * line.  Out of memory is reported as a line that does not read. */
static char *unwrap_config_line(const char *spec, int *bad)
{
    const char *s = spec;
    int apache;

    *bad = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "LogFormat", 9) == 0 && (s[9] == ' ' || s[9] == '\t'))
        apache = 1;
    else if (strncmp(s, "log_format", 10) == 0 && (s[10] == ' ' || s[10] == '\t'))
        apache = 0;
    else
        return NULL;
    s += apache ? 9 : 10;
    char *out = malloc(strlen(s) + 1), *o = out;
    if (out == NULL)
        goto bad;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!apache) {
        /* The name, then options such as escape=json or if=$loggable. */
        while (*s && *s != '\'' && *s != '"') {
            while (*s && *s != ' ' && *s != '\t')
                s++;
            while (*s == ' ' || *s == '\t' || *s == '\n')
                s++;
        }
    }
    int pieces = 0;
    while (*s == '\'' || *s == '"') {
        char q = *s++;
        while (*s && *s != q) {
            if (*s == '\\' && (s[1] == q || s[1] == '\\'))
                s++;
            *o++ = *s++;
        }
        if (*s != q)
            goto bad;
        s++;
        pieces++;
        if (apache)
            break;    /* the nickname follows */
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
    }
    if (pieces == 0)
        goto bad;
    *o = '\0';
    return out;

bad:
    free(out);
    *bad = 1;
    return NULL;
}

/* The edit distance of a and b without case (Levenshtein), capped at 9. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[32];
    if (la > 30 || lb > 30)
        return 9;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + !same;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 9 ? 9 : row[lb];
}

/* Whether spec looks like a format's name rather than a format string. */
static int is_name_like(const char *spec)
{
    if (*spec == '\0')
        return 0;
    for (const char *s = spec; *s; s++)
        if (!is_var_char(*s) && *s != '-')
            return 0;
    return 1;
}

/* "unknown format 'combine' (did you mean combined?)": the names within
 * two edits, or that start with spec (three letters at least), or else
 * the list of all names. */
static void unknown_name(const char *spec, char *err, size_t errlen)
{
    char near[128] = "";
    size_t n = 0, slen = strlen(spec);
    for (size_t i = 0; lt_format_names[i] != NULL; i++) {
        const char *name = lt_format_names[i];
        if (edit_distance(spec, name) <= 2 || (slen >= 3 && strncasecmp(name, spec, slen) == 0)) {
            size_t used = strlen(near);
            snprintf(near + used, sizeof(near) - used, "%s%s", n ? " or " : "", name);
            n++;
        }
    }
    if (n > 0) {
        snprintf(err, errlen, "unknown format '%s' (did you mean %s?)", spec, near);
        return;
    }
    snprintf(err, errlen, "unknown format '%s' (known: common, combined, vhost_combined, nginx, "
                          "caddy, json, or a LogFormat or log_format string)", spec);
}

/* The paths of a JSON format and their roles: Caddy's names, or the json
 * format's (nginx escape=json conventions) with the options' overrides. */
static int json_paths(lt_format *f, int caddy, const lt_format_opts *o, char *err,
                      size_t errlen)
{
    static const char *const generic[LT_JSON_FIELDS] = {
        [LT_JSON_TIME] = "time", [LT_JSON_CLIENT] = "remote_addr",
        [LT_JSON_METHOD] = "request_method", [LT_JSON_URI] = "request_uri",
        [LT_JSON_REQUEST] = "request", [LT_JSON_STATUS] = "status",
        [LT_JSON_SIZE] = "body_bytes_sent", [LT_JSON_DURATION] = "request_time",
    };
    static const json_role generic_role[LT_JSON_FIELDS] = {
        JR_TIME, JR_CLIENT, JR_METHOD, JR_URI, JR_REQUEST, JR_STATUS, JR_SIZE, JR_DURATION,
    };
    const char *paths[LT_JSONSCAN_MAX_PATHS];
    size_t n = 0;

    for (int r = 0; r < JR_COUNT; r++)
        f->json_path[r] = -1;
    if (caddy) {
        static const struct {
            json_role role;
            const char *path;
        } names[] = {
            {JR_TIME, "ts"}, {JR_CLIENT, "request.remote_ip"},
            {JR_CLIENT_RESOLVED, "request.client_ip"}, {JR_METHOD, "request.method"},
            {JR_URI, "request.uri"}, {JR_VHOST, "request.host"}, {JR_STATUS, "status"},
            {JR_SIZE, "size"}, {JR_DURATION, "duration"},
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            f->json_path[names[i].role] = (int)n;
            paths[n++] = names[i].path;
        }
    } else {
        for (int i = 0; i < LT_JSON_FIELDS; i++) {
            const char *p = o != NULL && o->json[i] != NULL ? o->json[i] : generic[i];
            if (*p == '\0')
                continue;    /* an empty name: the field is not logged */
            f->json_path[generic_role[i]] = (int)n;
            paths[n++] = p;
        }
        if (o != NULL && o->client_header != NULL) {
            f->json_path[JR_XFF] = (int)n;
            paths[n++] = o->client_header;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(paths[i], paths[j]) == 0) {
                snprintf(err, errlen, "the JSON field '%s' is mapped twice", paths[i]);
                return -1;
            }
    if ((f->json = lt_jsonscan_new(paths, n)) == NULL) {
        snprintf(err, errlen, "a JSON field name is empty or nested too deep");
        return -1;
    }
    if (f->json_path[JR_TIME] < 0 || f->json_path[JR_CLIENT] < 0 || f->json_path[JR_STATUS] < 0 ||
        (f->json_path[JR_URI] < 0 && f->json_path[JR_REQUEST] < 0)) {
        snprintf(err, errlen, "the JSON field map needs a time, a client, a status, and a "
                              "request or a URI");
        return -1;
    }
    return 0;
}

lt_format *lt_format_new(const char *spec, char *err, size_t errlen)
{
    return lt_format_new_with(spec, NULL, err, errlen);
}

lt_format *lt_format_new_with(const char *spec, const lt_format_opts *o, char *err,
                              size_t errlen)
{
    lt_format *f = NULL;
    char *unwrapped = NULL;
    size_t cap = 0;
    int bad;

    if (errlen > 0)
        err[0] = '\0';
    if ((unwrapped = unwrap_config_line(spec, &bad)) != NULL) {
        spec = unwrapped;
    } else if (bad) {
        set_err(err, errlen, 0, "the LogFormat or log_format line has no complete quoted "
                                "format string");
        return NULL;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof(builtin_formats) / sizeof(builtin_formats[0]); i++)
        if (strcmp(spec, builtin_formats[i].name) == 0) {
            spec = builtin_formats[i].spec;
            known = 1;
        }
    if (!known && is_name_like(spec)) {
        unknown_name(spec, err, errlen);
        goto fail;
    }

    f = calloc(1, sizeof(*f));
    if (f == NULL)
        goto nomem;
    f->spec = strdup(spec);
    f->lits = malloc(3 * strlen(spec) + 1);
    if (f->spec == NULL || f->lits == NULL)
        goto nomem;
    if (o != NULL && o->n_trusted > 0) {
        if ((f->trusted = lt_cidr_new()) == NULL)
            goto nomem;
        for (size_t i = 0; i < o->n_trusted; i++) {
            char why[160];
            int rc = lt_cidr_add(f->trusted, o->trusted[i], why, sizeof(why));
            if (rc == -ENOMEM)
                goto nomem;
            if (rc < 0) {
                snprintf(err, errlen, "trusted proxies: %s", why);
                goto fail;
            }
        }
    }

    if (strcmp(spec, "caddy") == 0 || strcmp(spec, "json") == 0) {
        if (json_paths(f, spec[0] == 'c', o, err, errlen) < 0)
            goto fail;
        free(unwrapped);
        return f;
    }

    int nginx = is_nginx_syntax(spec);
    int rc = nginx ? read_nginx(f, spec, o, &cap, err, errlen)
                   : read_apache(f, spec, o, &cap, err, errlen);
    if (rc == -ENOMEM)
        goto nomem;
    if (rc < 0)
        goto fail;

    /* The first field of each kind counts; a repeat (%O after %b, a second
     * %h) is only matched. */
    int have[ITEM_OTHER + 1] = {0};
    for (size_t i = 0; i < f->n_items; i++) {
        struct item *it = &f->items[i];
        if (it->kind != ITEM_LITERAL && it->kind != ITEM_OTHER && have[it->kind])
            it->kind = ITEM_OTHER;
        have[it->kind] = 1;
    }
    f->has_xff = have[ITEM_XFF];
    if (o != NULL && o->client_header != NULL && !f->has_xff) {
        snprintf(err, errlen, "the client header %s is not logged by the format (%%{%s}i, "
                              "$http_NAME)", o->client_header, o->client_header);
        goto fail;
    }
    if (!have[ITEM_CLIENT]) {
        set_err(err, errlen, 0, nginx ? "the format has no client field ($remote_addr)"
                                      : "the format has no client field (%h or %a)");
        goto fail;
    }
    if (!have[ITEM_TIME]) {
        set_err(err, errlen, 0, nginx ? "the format has no timestamp ($time_local, "
                                        "$time_iso8601 or $msec)"
                                      : "the format has no timestamp (%t)");
        goto fail;
    }
    if (!have[ITEM_REQUEST] && !have[ITEM_URI]) {
        set_err(err, errlen, 0, nginx ? "the format has no request (\"$request\" or "
                                        "$request_uri)"
                                      : "the format has no request line (\"%r\")");
        goto fail;
    }
    if (have[ITEM_REQUEST] && have[ITEM_URI])
        for (size_t i = 0; i < f->n_items; i++)
            if (f->items[i].kind == ITEM_URI || f->items[i].kind == ITEM_METHOD)
                f->items[i].kind = ITEM_OTHER;    /* the request line decides */
    if (!have[ITEM_STATUS]) {
        set_err(err, errlen, 0, nginx ? "the format has no status ($status)"
                                      : "the format has no status (%>s or %s)");
        goto fail;
    }
    /* SPEC makes a size part of a valid Apache line; nginx formats often
     * leave $body_bytes_sent out, and their lines then count 0 bytes. */
    if (!nginx && !have[ITEM_SIZE]) {
        set_err(err, errlen, 0, "the format has no response size (%b, %B or %O)");
        goto fail;
    }
    if (finish_plan(f, err, errlen) < 0)
        goto fail;
    free(unwrapped);
    return f;

nomem:
    set_err(err, errlen, 0, "out of memory");
fail:
    free(unwrapped);
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
    lt_cidr_free(f->trusted);
    lt_jsonscan_free(f->json);
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

/* "yyyy-mm-ddTHH:MM:SS" then an optional fraction and a zone: Z, +hh:mm or
 * +hhmm (len bytes at s).  Returns 0 and the epoch second, or
 * LT_PARSE_TIME. */
static int parse_iso8601(const char *s, size_t len, int64_t *out)
{
    static const unsigned char mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':')
        return LT_PARSE_TIME;
    int yh = two_digits(s), yl = two_digits(s + 2), mon = two_digits(s + 5),
        day = two_digits(s + 8), h = two_digits(s + 11), m = two_digits(s + 14),
        sec = two_digits(s + 17);
    if (yh < 0 || yl < 0 || mon < 1 || mon > 12 || day < 1 || h < 0 || h > 23 || m < 0 ||
        m > 59 || sec < 0 || sec > 60)
        return LT_PARSE_TIME;
    int year = yh * 100 + yl;
    if (year < 1970 || day > mdays[mon] ||
        (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))))
        return LT_PARSE_TIME;
    size_t i = 19;
    if (i < len && s[i] == '.') {
        i++;
        size_t digits = 0;
        while (i < len && digit(s[i]) >= 0 && digits < 12)
            i++, digits++;
        if (digits == 0)
            return LT_PARSE_TIME;
    }
    int64_t offset = 0;
    if (i + 1 == len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int zh = i + 3 <= len ? two_digits(s + i + 1) : -1, zm = -1;
        size_t zend = i + 3;
        if (zend < len && s[zend] == ':')
            zend++;
        if (zend + 2 == len)
            zm = two_digits(s + zend);
        if (zh < 0 || zh > 23 || zm < 0 || zm > 59)
            return LT_PARSE_TIME;
        offset = ((int64_t)zh * 3600 + zm * 60) * (s[i] == '+' ? 1 : -1);
        i = len;
    }
    if (i != len)
        return LT_PARSE_TIME;
    *out = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + h * 3600 + m * 60 + sec -
           offset;
    return 0;
}

/* A decimal number of len bytes at s: digits, an optional fraction, an
 * optional exponent (JSON's number grammar without a sign), scaled by
 * 10^scale and rounded down.  Returns 0 and the value, or -1 when it is no
 * such number or the value is not below 2^62. */
static int parse_decimal(const char *s, size_t len, int scale, uint64_t *out)
{
    const char *p = s, *end = s + len;
    uint64_t mant = 0;
    int exp10 = scale, digits = 0;

    if (p == end || digit(*p) < 0)
        return -1;
    while (p < end && digit(*p) >= 0) {
        if (digits < 18)
            mant = mant * 10 + (uint64_t)digit(*p), digits += mant != 0;
        else
            exp10++;    /* digits past 18 only scale the number */
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || digit(*p) < 0)
            return -1;
        while (p < end && digit(*p) >= 0) {
            if (digits < 18) {
                mant = mant * 10 + (uint64_t)digit(*p);
                digits += mant != 0;
                exp10--;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int sign = 1, e = 0;
        if (p < end && (*p == '+' || *p == '-'))
            sign = *p++ == '-' ? -1 : 1;
        if (p == end || digit(*p) < 0)
            return -1;
        while (p < end && digit(*p) >= 0) {
            if (e < 1000)
                e = e * 10 + digit(*p);
            p++;
        }
        exp10 += sign * e;
    }
    if (p != end)
        return -1;
    if (mant == 0) {
        *out = 0;
        return 0;
    }
    for (; exp10 > 0; exp10--) {
        if (mant >= ((uint64_t)1 << 62) / 10)
            return -1;
        mant *= 10;
    }
    for (; exp10 < 0 && mant != 0; exp10++)
        mant /= 10;
    *out = mant;
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
    int has_colon = memchr(s, ':', len) != NULL;
    if (has_colon && parse_ipv6(s, len, rec->ipv6)) {
        if (memcmp(rec->ipv6, mapped_prefix, 12) == 0) {
            const uint8_t *a = rec->ipv6 + 12;
            rec->client = LT_CLIENT_IPV4;
            rec->ipv4 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        } else {
            rec->client = LT_CLIENT_IPV6;
        }
        return;
    }
    /* addr:port and [v6]:port, as some balancers log the peer: the port
     * is dropped.  Only tried once the field is neither address alone. */
    const char *colon = s + len;
    if (!has_colon)
        colon = s;
    while (colon > s && colon[-1] != ':')
        colon--;
    colon = colon > s ? colon - 1 : NULL;
    if (len > 2 && colon != NULL && colon + 1 < s + len) {
        int port = 1;
        for (const char *d = colon + 1; d < s + len && port; d++)
            port = digit(*d) >= 0;
        size_t alen = (size_t)(colon - s);
        if (port && colon - s > 0 && colon - s <= 15 && memchr(s, ':', alen) == NULL &&
            parse_ipv4(s, alen, &rec->ipv4)) {
            rec->client = LT_CLIENT_IPV4;
            return;
        }
        if (port && s[0] == '[' && colon[-1] == ']' && memchr(s, '%', alen) == NULL &&
            parse_ipv6(s, alen, rec->ipv6)) {
            if (memcmp(rec->ipv6, mapped_prefix, 12) == 0) {
                const uint8_t *a = rec->ipv6 + 12;
                rec->client = LT_CLIENT_IPV4;
                rec->ipv4 = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
            } else {
                rec->client = LT_CLIENT_IPV6;
            }
            return;
        }
    }
    rec->client = LT_CLIENT_HOST;
    rec->host = s;
    rec->host_len = len;
}

/* Whether the client of rec is a trusted proxy. */
static int is_trusted(const lt_format *f, const lt_record *rec)
{
    if (rec->client == LT_CLIENT_IPV4)
        return lt_cidr_has_ipv4(f->trusted, rec->ipv4);
    if (rec->client == LT_CLIENT_IPV6)
        return lt_cidr_has_ipv6(f->trusted, rec->ipv6);
    return 0;
}

/* The element of a list "a, b , c" that ends at e (exclusive; e > s):
 * its first byte, after skipping the separators before e. */
static const char *list_last(const char *s, const char *e, const char **elem_end)
{
    while (e > s && (e[-1] == ' ' || e[-1] == ','))
        e--;
    const char *b = e;
    while (b > s && b[-1] != ' ' && b[-1] != ',')
        b--;
    *elem_end = e;
    return b;
}

/* The client of a line from its client field [cs, ce) and, when the format
 * logs one, the header list [xs, xe) (NULL: none): both are lists of
 * addresses "a, b, c", the client field's nearest to us.  The client is
 * the rightmost address, of the client field then of the header, that is
 * not a trusted proxy; if all are, the leftmost (nginx's realip with
 * real_ip_recursive, Apache's mod_remoteip).  A header of "-" is no list. */
static void resolve_client(const lt_format *f, const char *cs, const char *ce, const char *xs,
                           const char *xe, lt_record *rec)
{
    const char *lists[2][2] = {{cs, ce}, {xs, xe}};
    int seen = 0;

    if (xs != NULL && xe - xs == 1 && xs[0] == '-')
        xs = NULL;
    for (int l = 0; l < (xs != NULL ? 2 : 1); l++) {
        const char *s = lists[l][0], *e = lists[l][1];
        while (e > s) {
            const char *ee, *b = list_last(s, e, &ee);
            if (b == ee)
                break;
            lt_parse_client(b, (size_t)(ee - b), rec);
            seen = 1;
            if (f->trusted == NULL || !is_trusted(f, rec))
                return;
            e = b;
        }
    }
    if (!seen)
        lt_parse_client(cs, (size_t)(ce - cs), rec);
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

/* RFC 9110's tchar: the bytes of a method token. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

static int is_method(const char *s, const char *e)
{
    if (s == e)
        return 0;
    for (; s < e; s++)
        if (!tchar[(unsigned char)*s])
            return 0;
    return 1;
}

/* is_method() for the fast path, where the byte at e (a space or the
 * closing quote) may be read: GET, POST and HEAD, nearly every request,
 * cost one word compare each; anything else goes to is_method(). */
static int is_method_fast(const char *s, const char *e)
{
    if (e - s == 3 || e - s == 4) {
        uint32_t w, get, post, head;
        memcpy(&w, s, 4);    /* s[3] is the byte at e for GET */
        memcpy(&get, "GET ", 4);
        memcpy(&post, "POST", 4);
        memcpy(&head, "HEAD", 4);
        if (w == get || (e - s == 4 && (w == post || w == head)))
            return 1;
    }
    return is_method(s, e);
}

/* Whether [s, e) (non-empty) is a request target HTTP allows: a path
 * ("/..."), "*", or an absolute URI or authority ("scheme:...",
 * "host:port" for CONNECT: a letter, then letters, digits, '+', '-' or
 * '.', then ':'). */
static int is_target(const char *s, const char *e)
{
    if (*s == '/' || (e - s == 1 && *s == '*'))
        return 1;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (const char *p = s + 1; p < e; p++) {
        if (*p == ':')
            return 1;
        if (!(tchar[(unsigned char)*p] && *p != '!' && *p != '#' && *p != '$' && *p != '%' &&
              *p != '&' && *p != '\'' && *p != '*' && *p != '^' && *p != '_' && *p != '`' &&
              *p != '|' && *p != '~'))
            return 0;
    }
    return 0;
}

/* Splits the request field [s, e) into METHOD TARGET [PROTOCOL] (tokens
 * separated by runs of spaces, which may also lead and trail) and stores
 * TARGET in rec->url, or leaves rec->url NULL for any other shape.  A
 * request whose first token is not a method, or whose target is not one
 * (is_target()), is not HTTP: rec->non_http, and no URL. */
static void split_request(const char *s, const char *e, lt_record *rec)
{
    s = skip_spaces(s, e);
    if (s == e)
        return;                              /* no token */
    const char *method = s, *method_end = token_end(s, e);
    if (!is_method(method, method_end)) {
        rec->non_http = 1;
        return;
    }
    s = skip_spaces(method_end, e);          /* past METHOD */
    if (s == e)
        return;                              /* one token */
    const char *target = s, *target_end = token_end(s, e);
    s = skip_spaces(target_end, e);
    if (s != e && skip_spaces(token_end(s, e), e) != e)
        return;                              /* a fourth token */
    if (!is_target(target, target_end)) {
        rec->non_http = 1;
        return;
    }
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
    case ITEM_REQUEST: case ITEM_URI: case ITEM_METHOD: return LT_PARSE_REQUEST;
    case ITEM_STATUS: return LT_PARSE_STATUS;
    case ITEM_SIZE: return LT_PARSE_SIZE;
    default: return LT_PARSE_FIELD;
    }
}

/* The end of an unquoted list field starting at p: tokens joined by ","
 * and, when colons is set, by " : " too ("0.004, 0.012 : -"), each ending
 * at stop or a space. */
static const char *list_end(const char *p, const char *end, char stop, int colons)
{
    while (1) {
        const char *token = p;
        while (p < end && *p != stop && *p != ' ')
            p++;
        const char *q = skip_spaces(p, end);
        if (p == end || q == end || p == token)
            return p;
        if (p[-1] == ',' && *q != stop) {
            p = q;
            continue;
        }
        if (colons && *q == ':' && q + 1 < end && q[1] == ' ') {
            p = skip_spaces(q + 1, end);
            if (p == end)
                return q + 1;
            continue;
        }
        return p;
    }
}

/* A response time of [s, e) in unit u into *us; "-" is none.  Returns 0,
 * or -1 when it is not a number. */
static int read_duration(const char *s, const char *e, int unit, int list, uint64_t *us)
{
    if (list) {
        const char *b = e;
        while (b > s && b[-1] != ' ' && b[-1] != ',')
            b--;
        s = b;
    }
    if (e - s == 1 && *s == '-') {
        *us = LT_NO_DURATION;
        return 0;
    }
    static const int scale[] = {[DU_MICRO] = 0, [DU_MILLI] = 3, [DU_SECONDS] = 6};
    if (unit != DU_SECONDS && memchr(s, '.', (size_t)(e - s)) != NULL)
        return -1;
    return parse_decimal(s, (size_t)(e - s), scale[unit], us);
}

/* A timestamp of the style of it, at [fs, fe). */
static int read_time(lt_parser *ps, int style, const char *fs, const char *fe, int64_t *ts)
{
    switch (style) {
    case TS_CLF:
        return fe - fs == 26 ? cached_time(ps, fs, ts) : LT_PARSE_TIME;
    case TS_ISO8601:
        return parse_iso8601(fs, (size_t)(fe - fs), ts);
    case TS_EPOCH: {
        uint64_t v;
        if (parse_decimal(fs, (size_t)(fe - fs), 0, &v) < 0 || v > (uint64_t)253402300799)
            return LT_PARSE_TIME;
        *ts = (int64_t)v;
        return 0;
    }
    default:
        return fe - fs == 28 && fs[0] == '[' && fs[27] == ']' ? cached_time(ps, fs + 1, ts)
                                                              : LT_PARSE_TIME;
    }
}

/* The plan walker: any format, any spacing, its first n items.  [p, end)
 * is a non-empty line without its '\r'. */
static int walk_items(lt_parser *ps, const char *p, const char *end, lt_record *rec, size_t n)
{
    const lt_format *f = ps->f;
    const char *cs = NULL, *ce = NULL, *xs = NULL, *xe = NULL, *ms = NULL, *me = NULL;
    int client_list = 0;

    rec->url = NULL;
    rec->url_len = 0;
    rec->method = NULL;
    rec->method_len = 0;
    rec->vhost = NULL;
    rec->vhost_len = 0;
    rec->bytes = 0;
    rec->duration_us = LT_NO_DURATION;
    rec->non_http = 0;

    for (size_t i = 0; i < n; i++) {
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
        if (it->kind == ITEM_TIME && !it->quoted && (it->style == TS_BRACKETED || it->style == TS_CLF)) {
            /* Fixed width: "[dd/Mon/yyyy:HH:MM:SS +hhmm]" is 28 bytes, and
             * holds a space. */
            size_t w = it->style == TS_BRACKETED ? 28 : 26;
            if ((size_t)(end - p) < w || read_time(ps, it->style, p, p + w, &rec->ts) < 0)
                return LT_PARSE_TIME;
            p += w;
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
            if (it->kind == ITEM_CLIENT || it->list || it->kind == ITEM_XFF) {
                /* "a, b, c" in an unquoted field: X-Forwarded-For lists and
                 * $upstream_response_time. */
                p = list_end(p, end, it->stop, it->kind == ITEM_DURATION);
                client_list |= it->kind == ITEM_CLIENT && memchr(fs, ',', (size_t)(p - fs)) != NULL;
            } else {
                while (p < end && *p != it->stop && *p != ' ')
                    p++;
            }
            fe = p;
            if (fs == fe)
                return field_error(it->kind);
        }

        size_t flen = (size_t)(fe - fs);
        switch (it->kind) {
        case ITEM_CLIENT:
            cs = fs;
            ce = fe;
            if (it->quoted)
                client_list |= memchr(fs, ',', flen) != NULL;
            break;
        case ITEM_XFF:
            xs = fs;
            xe = fe;
            break;
        case ITEM_TIME:
            if (read_time(ps, it->style, fs, fe, &rec->ts) < 0)
                return LT_PARSE_TIME;
            break;
        case ITEM_REQUEST:
            split_request(fs, fe, rec);
            break;
        case ITEM_METHOD:
            ms = fs;
            me = fe;
            break;
        case ITEM_URI:
            rec->url = fs;
            rec->url_len = flen;
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
        case ITEM_DURATION:
            if (read_duration(fs, fe, it->style, it->list, &rec->duration_us) < 0)
                return LT_PARSE_FIELD;
            break;
        default:
            break;
        }
    }
    if (cs == NULL)
        return LT_PARSE_CLIENT;    /* only when n stops before the client */
    if (client_list || xs != NULL || f->trusted != NULL)
        resolve_client(f, cs, ce, xs, xe, rec);
    else
        lt_parse_client(cs, (size_t)(ce - cs), rec);
    /* $request_method and $request_uri: the same rule as a request line. */
    if (rec->url != NULL && rec->url_len == 0)
        rec->url = NULL;
    if (rec->url != NULL && ((ms != NULL && !is_method(ms, me)) ||
                             !is_target(rec->url, rec->url + rec->url_len) ||
                             memchr(rec->url, ' ', rec->url_len) != NULL)) {
        rec->url = NULL;
        rec->url_len = 0;
        rec->non_http = 1;
    }
    if (rec->url != NULL && ms != NULL) {
        rec->method = ms;
        rec->method_len = (size_t)(me - ms);
    }
    return LT_PARSE_OK;
}

static int walk_plan(lt_parser *ps, const char *p, const char *end, lt_record *rec)
{
    return walk_items(ps, p, end, rec, ps->f->n_plan);
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
    if ((sp = find_either(p, end, ' ', ' ')) == end || sp == p || sp[-1] == ',')
        return FAST_UNSURE;    /* a list "a, b" is the walker's */
    if (end - p >= 16 && parse_ipv4_wide(p, (size_t)(sp - p), &rec->ipv4))
        rec->client = LT_CLIENT_IPV4;
    else if (memchr(p, ',', (size_t)(sp - p)) != NULL)
        return FAST_UNSURE;    /* "a,b" is a list too */
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
    if (q == end || q == method || q[-1] == '\\' || !is_method_fast(method, q))
        return FAST_UNSURE;
    if (*q == ' ') {
        const char *target = q + 1, *target_end = find_either(target, end, ' ', '"');
        if (target_end == end || target_end == target || target_end[-1] == '\\' ||
            *target != '/')
            return FAST_UNSURE;    /* "*", absolute URIs and non-HTTP are the walker's */
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
    rec->duration_us = LT_NO_DURATION;
    rec->non_http = 0;
    return LT_PARSE_OK;
}

/* ------------------------------------------------------------------------
 * JSON lines
 * ---------------------------------------------------------------------- */

/* A JSON value that is a string of digits or a number: its bytes. */
static int json_scalar(const lt_json_value *v, const char **s, size_t *len)
{
    if (v->type != LT_JSON_STRING && v->type != LT_JSON_NUMBER)
        return -1;
    *s = v->p;
    *len = v->len;
    return 0;
}

/* A JSON time: a number or numeric string of epoch seconds (Caddy's ts,
 * nginx's $msec), an ISO 8601 string ($time_iso8601), or a CLF string
 * ($time_local, with or without brackets). */
static int json_time(lt_parser *ps, const lt_json_value *v, int64_t *ts)
{
    const char *s;
    size_t len;
    if (json_scalar(v, &s, &len) < 0 || len == 0)
        return LT_PARSE_TIME;
    if (v->type == LT_JSON_NUMBER || digit(s[0]) >= 0) {
        if (len >= 20 && s[4] == '-')
            return parse_iso8601(s, len, ts);
        if (len == 26 && s[2] == '/')
            return cached_time(ps, s, ts);
        return read_time(ps, TS_EPOCH, s, s + len, ts);
    }
    if (len == 28 && s[0] == '[')
        return read_time(ps, TS_BRACKETED, s, s + len, ts);
    return LT_PARSE_TIME;
}

/* A JSON non-negative integer, as a number or a string of digits. */
static int json_uint(const lt_json_value *v, uint64_t *out)
{
    const char *s;
    size_t len;
    if (json_scalar(v, &s, &len) < 0 || len == 0 || len > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (digit(s[i]) < 0)
            return -1;
        x = x * 10 + (uint64_t)digit(s[i]);
    }
    *out = x;
    return 0;
}

/* One JSON line: see README, "JSON lines".  String values are used as
 * logged, escapes undecoded, as Apache's \xhh are: a URL "\u0026" counts
 * as those six bytes, and a client written with escapes is a hostname. */
static int parse_json(lt_parser *ps, const char *line, const char *end, lt_record *rec)
{
    const lt_format *f = ps->f;
    lt_json_value v[LT_JSONSCAN_MAX_PATHS];
    static const lt_json_value absent = {LT_JSON_ABSENT, NULL, 0};
#define FIELD(role) (f->json_path[role] >= 0 ? &v[f->json_path[role]] : &absent)

    rec->url = NULL;
    rec->url_len = 0;
    rec->method = NULL;
    rec->method_len = 0;
    rec->vhost = NULL;
    rec->vhost_len = 0;
    rec->bytes = 0;
    rec->duration_us = LT_NO_DURATION;
    rec->non_http = 0;
    if (lt_jsonscan_line(f->json, line, (size_t)(end - line), v) < 0)
        return LT_PARSE_JSON;

    const lt_json_value *c = FIELD(JR_CLIENT_RESOLVED);
    if (c->type != LT_JSON_STRING || c->len == 0)
        c = FIELD(JR_CLIENT);
    if (c->type != LT_JSON_STRING || c->len == 0)
        return LT_PARSE_CLIENT;
    if (json_time(ps, FIELD(JR_TIME), &rec->ts) < 0)
        return LT_PARSE_TIME;

    const lt_json_value *req = FIELD(JR_REQUEST), *uri = FIELD(JR_URI), *m = FIELD(JR_METHOD);
    if (uri->type == LT_JSON_STRING) {
        if (uri->len > 0) {
            rec->url = uri->p;
            rec->url_len = uri->len;
        }
        if (rec->url != NULL &&
            ((m->type == LT_JSON_STRING && !is_method(m->p, m->p + m->len)) ||
             !is_target(rec->url, rec->url + rec->url_len) ||
             memchr(rec->url, ' ', rec->url_len) != NULL)) {
            rec->url = NULL;
            rec->url_len = 0;
            rec->non_http = 1;
        }
        if (rec->url != NULL && m->type == LT_JSON_STRING && m->len > 0) {
            rec->method = m->p;
            rec->method_len = m->len;
        }
    } else if (req->type == LT_JSON_STRING) {
        split_request(req->p, req->p + req->len, rec);
    } else {
        return LT_PARSE_REQUEST;
    }

    uint64_t status;
    if (json_uint(FIELD(JR_STATUS), &status) < 0 || status < 100 || status > 999)
        return LT_PARSE_STATUS;
    rec->status = (unsigned)status;
    const lt_json_value *size = FIELD(JR_SIZE);
    if (size->type != LT_JSON_ABSENT && size->type != LT_JSON_NULL &&
        !(size->type == LT_JSON_STRING && size->len == 1 && size->p[0] == '-') &&
        json_uint(size, &rec->bytes) < 0)
        return LT_PARSE_SIZE;
    const lt_json_value *d = FIELD(JR_DURATION);
    if (d->type == LT_JSON_NUMBER || (d->type == LT_JSON_STRING && d->len > 0)) {
        if (read_duration(d->p, d->p + d->len, DU_SECONDS, 1, &rec->duration_us) < 0)
            return LT_PARSE_FIELD;
    } else if (d->type != LT_JSON_ABSENT && d->type != LT_JSON_NULL) {
        return LT_PARSE_FIELD;
    }
    const lt_json_value *h = FIELD(JR_VHOST);
    if (h->type == LT_JSON_STRING && h->len > 0) {
        rec->vhost = h->p;
        rec->vhost_len = h->len;
    }
    const lt_json_value *x = FIELD(JR_XFF);
    if (x->type == LT_JSON_STRING || f->trusted != NULL)
        resolve_client(f, c->p, c->p + c->len, x->type == LT_JSON_STRING ? x->p : NULL,
                       x->type == LT_JSON_STRING ? x->p + x->len : NULL, rec);
    else
        lt_parse_client(c->p, c->len, rec);
    return LT_PARSE_OK;
#undef FIELD
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
    if (ps->f->json != NULL)
        return parse_json(ps, line, end, rec);
    return walk_plan(ps, line, end, rec);
}

int lt_parse_line_generic(lt_parser *ps, const char *line, size_t len, lt_record *rec)
{
    const char *end = line + len;

    if (len > 0 && end[-1] == '\r')
        end--;
    if (line == end)
        return LT_PARSE_EMPTY;
    if (ps->f->json != NULL)
        return parse_json(ps, line, end, rec);
    return walk_plan(ps, line, end, rec);
}

int lt_format_detect(const char *text, size_t len, lt_detection *out)
{
    static const char *const candidates[] = {"common", "combined", "vhost_combined", "caddy",
                                             "json"};
    enum { N = sizeof(candidates) / sizeof(candidates[0]) };
    size_t valid[N] = {0}, whole[N] = {0}, tried = 0;
    lt_format *f[N] = {NULL};
    lt_parser *p[N] = {NULL};
    lt_record rec;
    int rc = 0;

    for (size_t k = 0; k < N; k++) {
        char err[64];
        if ((f[k] = lt_format_new(candidates[k], err, sizeof(err))) == NULL ||
            (p[k] = lt_parser_new(f[k])) == NULL) {
            rc = -ENOMEM;
            goto out;
        }
    }
    const char *s = text, *end = text + len;
    while (s < end && tried < LT_DETECT_LINES) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl != NULL ? nl : end;
        size_t n = (size_t)(e - s);
        if (n > 0 && !(n == 1 && s[0] == '\r') && n <= LT_LINE_MAX) {
            tried++;
            for (size_t k = 0; k < N; k++) {
                if (lt_parse_line(p[k], s, n, &rec) != LT_PARSE_OK)
                    continue;
                valid[k]++;
                /* Whether the whole format, not only its counted part,
                 * matches: combined over common when referers follow. */
                const char *le = s + n - (s[n - 1] == '\r');
                whole[k] += f[k]->json != NULL ||
                            walk_items(p[k], s, le, &rec, f[k]->n_items) == LT_PARSE_OK;
            }
        }
        s = nl != NULL ? nl + 1 : end;
    }
    size_t best = 0;
    for (size_t k = 1; k < N; k++)
        if (valid[k] > valid[best] ||
            (valid[k] == valid[best] &&
             (whole[k] > whole[best] ||
              (whole[k] == whole[best] && f[k]->n_items > f[best]->n_items))))
            best = k;    /* of two that match whole lines, the one that says more */
    out->name = valid[best] > 0 ? candidates[best] : NULL;
    out->valid = valid[best];
    out->tried = tried;
out:
    for (size_t k = 0; k < N; k++) {
        lt_parser_free(p[k]);
        lt_format_free(f[k]);
    }
    return rc;
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
    case LT_PARSE_JSON: return "not one JSON object";
    default: return "unknown parse error";
    }
}
