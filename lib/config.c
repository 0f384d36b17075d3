/* config.c -- logtallyd's configuration: built-in defaults, a YAML reader
 * on top of them, and validation that says where and why.
 *
 * Shape
 * -----
 * The configuration is one YAML document whose root is a mapping.  Every
 * key is optional; a missing key keeps its built-in default, so an empty
 * file (or one holding only comments, or a bare "---") is the default
 * configuration.  Two keys hold sub-mappings (limits, http) and one a
 * sequence of mappings (sources):
 *
 *     root ── socket, socket_mode, socket_group, listen, state_dir,
 *      │      checkpoint_interval, threads, strip_query,    (scalars)
 *      │      bucket_width, retention
 *      ├── limits:  exact_clients_bytes, url_entries, rps_bytes, (scalars)
 *      │            bucket_clients_bytes, bucket_urls, vhosts
 *      ├── http:    max_connections, max_header_bytes,
 *      │            request_timeout                         (scalars)
 *      └── sources: - path, format                          (scalars)
 *
 * The schema is data: each mapping is a table of cfg_key rows giving the
 * key's name, the kind of value it takes, where the value is stored
 * (offsetof into lt_config, or into lt_source_conf for a source) and its
 * bounds.  One walker, read_mapping(), serves every mapping, so unknown
 * keys, duplicate keys, wrong types and the "did you mean" hint behave the
 * same at every level.  config/logtally.yaml documents every row, and
 * tests/test_config.c loads it and checks that it states the defaults, so
 * the two cannot drift apart.
 *
 * Reading
 * -------
 * libyaml's event API (not its document API) drives the walk: events are
 * pulled one at a time and checked against the schema as they come, so
 * the document is never held as a tree and an error is reported at the
 * first event that is wrong.  The
 * walker never recurses deeper than the schema (root, section, source), so
 * a hostile document nested a million levels deep is refused at its second
 * level without using stack.  libyaml itself checks the text: a NUL byte,
 * a control character or invalid UTF-8 is a reader error, which is
 * reported with the line and column of the offending byte.
 *
 * Exactly one reader state, cfg_reader, owns the libyaml parser and the
 * current event; next() releases the previous event before pulling the
 * next one, so every exit from lt_config_parse() releases at most one event
 * and the parser.
 *
 * Choices
 * -------
 *  - Aliases (*name) are refused with an error: the configuration is small,
 *    an alias would only hide where a value comes from, and refusing them
 *    rules out alias-expansion blow-ups.  Anchors (&name) alone are
 *    harmless and ignored; the merge key "<<" is an unknown key.
 *  - Tags (!!str, !!int, !custom) are ignored: every key already knows what
 *    it expects and reads the scalar's text accordingly.
 *  - A second document ("---" after the first) is an error rather than
 *    being silently ignored or merged.
 *  - A plain empty scalar, "~" or "null" is YAML's null.  For socket_group
 *    and listen it means "unset"; for limits, http and sources it means
 *    "nothing given" (so a section whose keys are all commented out is
 *    fine); for any other key it is an error.  A quoted "" is an empty
 *    string, never null.
 *  - socket_mode is always read as octal, quoted ("0660") or not (0660,
 *    660, 0o660), as chmod reads it, whatever YAML 1.1 or 1.2 would say.
 *  - Sizes and durations are an unsigned decimal integer immediately
 *    followed by an optional unit: "10 MiB" (with a space), "1.5GiB"
 *    (a fraction), "-1" and "+1" are refused, so a value is always an
 *    exact count of bytes or milliseconds.  All size units are powers of
 *    1024, KB included, as in Apache's and nginx's own configurations.
 *  - A scalar holding a NUL byte (possible through a "\0" escape) is
 *    refused rather than silently cut at the NUL.
 *
 * Messages
 * --------
 * Every error is "name:line:col: what" (1-based; libyaml's marks are
 * 0-based), naming the key by its path (limits.url_entries,
 * sources[2].format) and saying what was expected.  Text copied from the
 * document into a message is cut to a few dozen bytes and has every byte
 * outside printable ASCII written as \xHH, so a message is one line of
 * plain text whatever the document holds.
 *
 * Cost: linear in the length of the text; sources grow by doubling. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

/* lt_config_load() refuses larger files: a real configuration is a few
 * kilobytes, and a cap keeps a wrong path (a log file, /dev/zero) from
 * being read into memory whole. */
#define CFG_MAX_FILE_BYTES ((size_t)1 << 20)

/* At most this many bytes of document text are quoted in a message. */
#define CFG_SHOWN_BYTES 40
#define CFG_SHOWN_MAX (CFG_SHOWN_BYTES * 4 + 4)

/* Keys longer than this get no "did you mean" hint; the edit distance
 * table is sized for it. */
#define CFG_HINT_KEY_MAX 32

typedef enum cfg_kind {
    CFG_PATH,        /* char *: a non-empty string */
    CFG_OPT_STRING,  /* char *: a non-empty string, or null for NULL */
    CFG_LISTEN,      /* char *: "host:port" or "[v6]:port", or null for NULL */
    CFG_FORMAT,      /* char *: a non-empty format name or LogFormat string */
    CFG_MODE,        /* unsigned: octal permission bits */
    CFG_DURATION,    /* uint64_t: milliseconds */
    CFG_SIZE,        /* size_t: bytes */
    CFG_UINT,        /* unsigned: a plain integer */
    CFG_SIZE_COUNT,  /* size_t: a plain integer */
    CFG_BOOL,        /* int: 0 or 1 */
    CFG_LIMITS,      /* the limits: mapping */
    CFG_HTTP,        /* the http: mapping */
    CFG_SOURCES,     /* the sources: sequence */
    CFG_CLIENT,      /* a source's client: mapping */
    CFG_JSON,        /* a source's json_fields: mapping */
    CFG_LIST,        /* char **, size_t after it: a sequence of non-empty strings */
} cfg_kind;

typedef struct cfg_key {
    const char *name;
    cfg_kind kind;
    size_t offset;        /* of the value in the struct the mapping fills */
    uint64_t min, max;    /* numbers only: bounds, in bytes or ms for sizes and durations */
    const char *range;    /* numbers only: the bounds said to a human, with why */
} cfg_key;

typedef struct cfg_section {
    const char *name;     /* as written in the document; NULL for the root */
    const cfg_key *keys;
    size_t n_keys;
} cfg_section;

#define CFG_OFF(field) offsetof(lt_config, field)

static const cfg_key top_keys[] = {
    {"socket", CFG_PATH, CFG_OFF(socket), 0, 0, NULL},
    {"socket_mode", CFG_MODE, CFG_OFF(socket_mode), 0, 0777, NULL},
    {"socket_group", CFG_OPT_STRING, CFG_OFF(socket_group), 0, 0, NULL},
    {"listen", CFG_LISTEN, CFG_OFF(listen), 0, 0, NULL},
    {"state_dir", CFG_PATH, CFG_OFF(state_dir), 0, 0, NULL},
    {"checkpoint_interval", CFG_DURATION, CFG_OFF(checkpoint_interval_ms), 100, UINT64_MAX,
     "expected at least 100ms, since every checkpoint writes and fsyncs the whole state"},
    {"threads", CFG_UINT, CFG_OFF(threads), 0, 64,
     "expected 0 (one per online CPU) to 64"},
    {"strip_query", CFG_BOOL, CFG_OFF(limits.strip_query), 0, 0, NULL},
    {"bucket_width", CFG_DURATION, CFG_OFF(bucket_width_ms), 60 * 1000, 24 * 60 * 60 * 1000,
     "expected whole seconds from 1m to 1d that divide a day (1m, 5m, 10m, 15m, 30m, 1h, 2h, "
     "... 1d), so that buckets fall on UTC hours and days"},
    {"retention", CFG_DURATION, CFG_OFF(retention_ms), 60 * 1000,
     (uint64_t)100 * 366 * 24 * 60 * 60 * 1000, "expected 1m to 100 years (and one bucket or more)"},
    {"limits", CFG_LIMITS, 0, 0, 0, NULL},
    {"http", CFG_HTTP, 0, 0, 0, NULL},
    {"sources", CFG_SOURCES, 0, 0, 0, NULL},
};

static const cfg_key limits_keys[] = {
    {"exact_clients_bytes", CFG_SIZE, CFG_OFF(limits.exact_clients_bytes), 0, SIZE_MAX, NULL},
    {"url_entries", CFG_SIZE_COUNT, CFG_OFF(limits.url_entries), 1, SIZE_MAX,
     "expected at least 1, since the URL table must hold the URL being counted"},
    {"rps_bytes", CFG_SIZE, CFG_OFF(limits.rps_bytes), 0, SIZE_MAX, NULL},
    {"bucket_clients_bytes", CFG_SIZE, CFG_OFF(limits.buckets.clients_bytes), 1, SIZE_MAX,
     "expected at least 1 byte (the buckets then keep HyperLogLogs only)"},
    {"bucket_urls", CFG_SIZE_COUNT, CFG_OFF(limits.buckets.urls), 1, (uint64_t)1 << 31,
     "expected 1 to 2^31 URL counters per bucket"},
    {"vhosts", CFG_SIZE_COUNT, CFG_OFF(limits.buckets.vhosts), 1, (uint64_t)1 << 31,
     "expected 1 to 2^31 virtual-host counters"},
};

static const cfg_key http_keys[] = {
    {"max_connections", CFG_SIZE_COUNT, CFG_OFF(http.max_connections), 1, SIZE_MAX,
     "expected at least 1"},
    {"max_header_bytes", CFG_SIZE, CFG_OFF(http.max_header_bytes), 1024, SIZE_MAX,
     "expected at least 1KiB, the room a request line and its headers need"},
    {"request_timeout", CFG_DURATION, CFG_OFF(http.request_timeout_ms), 100, UINT64_MAX,
     "expected at least 100ms, or clients would be cut off mid-request"},
};

static const cfg_key source_keys[] = {
    {"path", CFG_PATH, offsetof(lt_source_conf, path), 0, 0, NULL},
    {"format", CFG_FORMAT, offsetof(lt_source_conf, format), 0, 0, NULL},
    {"rotate_wait", CFG_DURATION, offsetof(lt_source_conf, rotate_wait_ms), 0, 86400000,
     "expected at most 24h: a rotated file holds a descriptor while it is waited for"},
    {"client", CFG_CLIENT, 0, 0, 0, NULL},
    {"json_fields", CFG_JSON, 0, 0, 0, NULL},
};

static const cfg_key client_keys[] = {
    {"header", CFG_OPT_STRING, offsetof(lt_source_conf, client_header), 0, 0, NULL},
    {"trusted_proxies", CFG_LIST, offsetof(lt_source_conf, trusted_proxies), 0, 0, NULL},
};

#define JSON_OFF(i) (offsetof(lt_source_conf, json_fields) + (i) * sizeof(char *))
static const cfg_key json_keys[] = {
    {"time", CFG_OPT_STRING, JSON_OFF(LT_JSON_TIME), 0, 0, NULL},
    {"client", CFG_OPT_STRING, JSON_OFF(LT_JSON_CLIENT), 0, 0, NULL},
    {"method", CFG_OPT_STRING, JSON_OFF(LT_JSON_METHOD), 0, 0, NULL},
    {"uri", CFG_OPT_STRING, JSON_OFF(LT_JSON_URI), 0, 0, NULL},
    {"request", CFG_OPT_STRING, JSON_OFF(LT_JSON_REQUEST), 0, 0, NULL},
    {"status", CFG_OPT_STRING, JSON_OFF(LT_JSON_STATUS), 0, 0, NULL},
    {"size", CFG_OPT_STRING, JSON_OFF(LT_JSON_SIZE), 0, 0, NULL},
    {"duration", CFG_OPT_STRING, JSON_OFF(LT_JSON_DURATION), 0, 0, NULL},
};

#define CFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const cfg_section top_section = {NULL, top_keys, CFG_COUNT(top_keys)};
static const cfg_section limits_section = {"limits", limits_keys, CFG_COUNT(limits_keys)};
static const cfg_section http_section = {"http", http_keys, CFG_COUNT(http_keys)};
static const cfg_section source_section = {"sources", source_keys, CFG_COUNT(source_keys)};
static const cfg_section client_section = {"client", client_keys, CFG_COUNT(client_keys)};
static const cfg_section json_section = {"json_fields", json_keys, CFG_COUNT(json_keys)};

/* read_mapping() remembers which keys it has seen in an unsigned bitmask
 * and their first positions in a fixed array of this size. */
#define CFG_MAX_KEYS 16
_Static_assert(CFG_COUNT(top_keys) <= CFG_MAX_KEYS, "top_keys outgrew the seen-key mask");
_Static_assert(CFG_COUNT(limits_keys) <= CFG_MAX_KEYS, "limits_keys outgrew the seen-key mask");
_Static_assert(CFG_COUNT(http_keys) <= CFG_MAX_KEYS, "http_keys outgrew the seen-key mask");
_Static_assert(CFG_COUNT(source_keys) <= CFG_MAX_KEYS, "source_keys outgrew the seen-key mask");

/* The state of one lt_config_parse() call.  ev is owned while ev_live. */
typedef struct cfg_reader {
    yaml_parser_t parser;
    yaml_event_t ev;
    int ev_live;
    const char *text;
    size_t len;
    const char *name;
    char *err;
    size_t errlen;
} cfg_reader;

/* ---- Messages ---------------------------------------------------------- */

/* Formats "name:line:col: what" into the caller's buffer (line and col
 * 1-based) and returns -EINVAL, so a caller can `return at(...)`. */
static int at(cfg_reader *r, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int at(cfg_reader *r, size_t line, size_t col, const char *fmt, ...)
{
    if (r->err == NULL || r->errlen == 0)
        return -EINVAL;
    int n = snprintf(r->err, r->errlen, "%s:%zu:%zu: ", r->name, line, col);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* The same, at a libyaml mark (0-based). */
#define AT_MARK(r, mark, ...) at((r), (mark).line + 1, (mark).column + 1, __VA_ARGS__)

/* Says "name: out of memory" and returns -ENOMEM. */
static int out_of_memory(cfg_reader *r)
{
    if (r->err != NULL && r->errlen > 0)
        snprintf(r->err, r->errlen, "%s: out of memory", r->name);
    return -ENOMEM;
}

/* Writes n bytes of s into out (CFG_SHOWN_MAX bytes) for quoting in a
 * message: printable ASCII as is, anything else as \xHH, and "..." after
 * CFG_SHOWN_BYTES bytes.  Returns out. */
static const char *shown(char *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n && i < CFG_SHOWN_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (n > CFG_SHOWN_BYTES) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* Reports libyaml's own error (a reader, scanner or parser problem) and
 * returns -EINVAL, or -ENOMEM when libyaml ran out of memory. */
static int yaml_failure(cfg_reader *r)
{
    const yaml_parser_t *p = &r->parser;
    const char *problem = p->problem ? p->problem : "unreadable YAML";

    if (p->error == YAML_MEMORY_ERROR)
        return out_of_memory(r);
    if (p->error == YAML_READER_ERROR) {
        /* A reader error carries a byte offset, not a mark: count lines
         * and characters (UTF-8 lead bytes) up to it, the way libyaml
         * counts its marks. */
        size_t line = 1, col = 1, end = p->problem_offset < r->len ? p->problem_offset : r->len;
        for (size_t i = 0; i < end; i++) {
            unsigned char c = (unsigned char)r->text[i];
            if (c == '\n')
                line++, col = 1;
            else if ((c & 0xc0) != 0x80)
                col++;
        }
        if (p->problem_value == -1)
            return at(r, line, col, "%s", problem);
        if (strstr(problem, "octet") != NULL)
            return at(r, line, col, "%s (byte 0x%02X)", problem, (unsigned)p->problem_value);
        return at(r, line, col, "%s (U+%04X)", problem, (unsigned)p->problem_value);
    }
    if (p->context != NULL)
        return AT_MARK(r, p->problem_mark, "%s (%s at %zu:%zu)", problem, p->context,
                       p->context_mark.line + 1, p->context_mark.column + 1);
    return AT_MARK(r, p->problem_mark, "%s", problem);
}

/* ---- Events -------------------------------------------------------------- */

/* Releases the current event and pulls the next one into r->ev.  Returns 0,
 * or the negative errno of yaml_failure(). */
static int next(cfg_reader *r)
{
    if (r->ev_live) {
        yaml_event_delete(&r->ev);
        r->ev_live = 0;
    }
    if (!yaml_parser_parse(&r->parser, &r->ev))
        return yaml_failure(r);
    r->ev_live = 1;
    return 0;
}

/* Returns whether ev is YAML's null: a plain scalar that is empty, "~" or
 * "null" in one of its three spellings. */
static int is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Describes what ev is, for "found ..." in a message; uses buf
 * (CFG_SHOWN_MAX + 2 bytes) for a scalar.  Returns a string that lives as
 * long as buf. */
static const char *found(const yaml_event_t *ev, char *buf)
{
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_SCALAR_EVENT:
        if (is_null(ev))
            return "nothing (null)";
        buf[0] = '\'';
        shown(buf + 1, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        strcat(buf, "'");
        return buf;
    default:
        return "something else";
    }
}

/* What a key of this kind takes, for "expected ..." in a message. */
static const char *expects(cfg_kind kind)
{
    switch (kind) {
    case CFG_PATH:
        return "a non-empty path";
    case CFG_OPT_STRING:
        return "a non-empty name, or nothing";
    case CFG_LISTEN:
        return "host:port or [v6]:port with a port from 1 to 65535, or nothing";
    case CFG_FORMAT:
        return "a format name (common, combined, vhost_combined, nginx, caddy, json), a "
               "LogFormat string or an nginx log_format string";
    case CFG_CLIENT:
        return "a mapping with header: and trusted_proxies:";
    case CFG_JSON:
        return "a mapping of field names (time, client, method, uri, request, status, size, "
               "duration)";
    case CFG_LIST:
        return "a sequence of addresses or CIDR ranges";
    case CFG_MODE:
        return "an octal mode such as \"0660\"";
    case CFG_DURATION:
        return "a duration such as 30s, 250ms, 5m or 1h";
    case CFG_SIZE:
        return "a size such as 256MiB, 64KiB or 4096";
    case CFG_UINT:
    case CFG_SIZE_COUNT:
        return "a non-negative integer";
    case CFG_BOOL:
        return "true or false";
    case CFG_LIMITS:
    case CFG_HTTP:
        return "a mapping of keys";
    case CFG_SOURCES:
        return "a sequence of sources, each a mapping with path: and format:";
    }
    return "something else";
}

/* Reports that the current event is not what key (at path) takes. */
static int wrong_value(cfg_reader *r, const char *path, const cfg_key *key)
{
    char buf[CFG_SHOWN_MAX + 2];
    if (r->ev.type == YAML_ALIAS_EVENT)
        return AT_MARK(r, r->ev.start_mark,
                       "%s: aliases (*%s) are not supported; write the value out", path,
                       r->ev.data.alias.anchor ? (const char *)r->ev.data.alias.anchor : "");
    return AT_MARK(r, r->ev.start_mark, "%s: expected %s, found %s", path, expects(key->kind),
                   found(&r->ev, buf));
}

/* ---- Scalars ------------------------------------------------------------- */

/* Parses the decimal digits at the start of s (no sign, no space).  Returns
 * how many there are (0 when none) with their value in *v, or SIZE_MAX
 * when the value overflows 64 bits (*v is then untouched). */
static size_t parse_digits(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return SIZE_MAX;
        x = x * 10 + d;
    }
    *v = x;
    return i;
}

/* Returns 1 and the value of an integer that is all of s, or 0. */
static int parse_count(const char *s, uint64_t *v)
{
    size_t end = parse_digits(s, v);
    return end != 0 && end != SIZE_MAX && s[end] == '\0';
}

/* Multiplies an integer prefix of s by the unit that must fill the rest of
 * s, looked up in units (NULL-terminated names, their factors alongside).
 * Returns 0 and the product, -ERANGE when well-formed but above max, or
 * -EINVAL. */
static int parse_with_unit(const char *s, const char *const *units, const uint64_t *factors,
                           uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t end = parse_digits(s, &v), digits = strspn(s, "0123456789");
    if (digits == 0)
        return -EINVAL;
    for (size_t u = 0; units[u] != NULL; u++) {
        if (strcmp(s + digits, units[u]) != 0)
            continue;
        if (end == SIZE_MAX || v > max / factors[u])
            return -ERANGE;
        *out = v * factors[u];
        return 0;
    }
    return -EINVAL;
}

/* Size units, all powers of 1024, and duration units, in milliseconds; the
 * empty unit is bytes and seconds. */
static const char *const size_units[] = {"",  "B",   "K", "KB", "KiB", "M",  "MB", "MiB",
                                         "G", "GB", "GiB", "T", "TB",  "TiB", NULL};
static const uint64_t size_factors[] = {1,          1,          1 << 10,    1 << 10,   1 << 10,
                                        1 << 20,    1 << 20,    1 << 20,    1 << 30,   1 << 30,
                                        1 << 30,    1ULL << 40, 1ULL << 40, 1ULL << 40};
static const char *const duration_units[] = {"", "ms", "s", "m", "h", "d", NULL};
static const uint64_t duration_factors[] = {1000, 1, 1000, 60 * 1000, 60 * 60 * 1000,
                                            24 * 60 * 60 * 1000};

int lt_config_parse_size(const char *s, size_t *bytes)
{
    uint64_t v;
    if (parse_with_unit(s, size_units, size_factors, SIZE_MAX, &v) < 0)
        return -EINVAL;
    *bytes = (size_t)v;
    return 0;
}

int lt_config_parse_duration(const char *s, uint64_t *ms)
{
    return parse_with_unit(s, duration_units, duration_factors, UINT64_MAX, ms) < 0 ? -EINVAL : 0;
}

/* Parses an octal permission mode: "0660", "660" or "0o660".  Returns 0,
 * -EINVAL when s is not octal, or -ERANGE when it is above 0777. */
static int parse_mode(const char *s, unsigned *mode)
{
    unsigned v = 0;
    size_t i = 0;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        s += 2;
    for (; s[i] >= '0' && s[i] <= '7'; i++)
        if (v <= 07777)
            v = v * 8 + (unsigned)(s[i] - '0');
    if (i == 0 || s[i] != '\0')
        return -EINVAL;
    if (v > 0777)
        return -ERANGE;
    *mode = v;
    return 0;
}

/* Returns 1 if s is true/yes/on, 0 if false/no/off (any case), -1 if
 * neither. */
static int parse_bool(const char *s)
{
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0)
        return 1;
    if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 || strcasecmp(s, "off") == 0)
        return 0;
    return -1;
}

/* Returns whether [s, s + n) is a plausible host name or IPv4 address
 * (letters, digits, '.', '-', '_'), or, when v6, the inside of an IPv6
 * bracket (hex digits, ':', '.', and a '%' zone).  Resolving is the
 * daemon's job; this only catches what cannot be an address. */
static int host_ok(const char *s, size_t n, int v6)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 c == '.' || c == '-' || c == '_' || (v6 && (c == ':' || c == '%'));
        if (!ok)
            return 0;
    }
    return 1;
}

/* Returns whether s is "host:port" or "[v6]:port" with port 1..65535. */
static int listen_ok(const char *s)
{
    const char *port;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || !host_ok(s + 1, (size_t)(close - s - 1), 1))
            return 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || !host_ok(s, (size_t)(colon - s), 0))
            return 0;
        port = colon + 1;
    }
    uint64_t v;
    return strlen(port) <= 5 && parse_count(port, &v) && v >= 1 && v <= 65535;
}

/* Replaces *field (freed) with a copy of the current scalar.  Returns 0 or
 * -ENOMEM. */
static int set_string(cfg_reader *r, char **field)
{
    size_t n = r->ev.data.scalar.length;
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return out_of_memory(r);
    memcpy(copy, r->ev.data.scalar.value, n + 1);
    free(*field);
    *field = copy;
    return 0;
}

/* Reports a number outside key's bounds. */
static int out_of_range(cfg_reader *r, const char *path, const cfg_key *key, const char *value)
{
    char buf[CFG_SHOWN_MAX];
    const char *range = key->range != NULL ? key->range : "see the documentation";
    return AT_MARK(r, r->ev.start_mark, "%s: %s is out of range: %s", path,
                   shown(buf, value, strlen(value)), range);
}

/* Reports a size or duration too large to hold. */
static int too_large(cfg_reader *r, const char *path, const char *value)
{
    char buf[CFG_SHOWN_MAX];
    return AT_MARK(r, r->ev.start_mark, "%s: %s is too large", path,
                   shown(buf, value, strlen(value)));
}

/* Stores the current event, a scalar, as key's value in base.  Returns 0
 * or a negative errno with the message written. */
static int read_scalar(cfg_reader *r, const char *path, const cfg_key *key, char *base)
{
    const char *s = (const char *)r->ev.data.scalar.value;
    size_t n = r->ev.data.scalar.length;
    char buf[CFG_SHOWN_MAX];
    void *field = base + key->offset;
    uint64_t v;
    size_t size;
    int rc;

    if (memchr(s, '\0', n) != NULL)
        return AT_MARK(r, r->ev.start_mark, "%s: '%s' holds a NUL byte", path,
                       shown(buf, s, n));
    if (is_null(&r->ev)) {
        if (key->kind != CFG_OPT_STRING && key->kind != CFG_LISTEN)
            return wrong_value(r, path, key);
        free(*(char **)field);
        *(char **)field = NULL;
        return 0;
    }

    switch (key->kind) {
    case CFG_PATH:
    case CFG_OPT_STRING:
    case CFG_FORMAT:
        if (n == 0)
            return wrong_value(r, path, key);
        return set_string(r, field);
    case CFG_LISTEN:
        if (!listen_ok(s)) {
            if (s[0] != '[' && strchr(s, ':') != strrchr(s, ':'))
                return AT_MARK(r, r->ev.start_mark,
                               "%s: expected %s, found '%s' (write an IPv6 address in "
                               "brackets, as in [::1]:9369)",
                               path, expects(key->kind), shown(buf, s, n));
            return wrong_value(r, path, key);
        }
        return set_string(r, field);
    case CFG_MODE:
        rc = parse_mode(s, field);
        if (rc == -ERANGE)
            return AT_MARK(r, r->ev.start_mark,
                           "%s: %s is out of range: expected 0 to 0777 (permission bits only)",
                           path, shown(buf, s, n));
        if (rc < 0)
            return wrong_value(r, path, key);
        if (*(unsigned *)field & 0002)
            return AT_MARK(r, r->ev.start_mark,
                           "%s: %s is world-writable, which would let any local user reload "
                           "the daemon and read its statistics; use 0660 with socket_group",
                           path, shown(buf, s, n));
        return 0;
    case CFG_DURATION:
        rc = parse_with_unit(s, duration_units, duration_factors, UINT64_MAX, &v);
        if (rc == -ERANGE)
            return too_large(r, path, s);
        if (rc < 0)
            return wrong_value(r, path, key);
        if (v < key->min || v > key->max)
            return out_of_range(r, path, key, s);
        /* A bucket width must cut a day into whole seconds. */
        if (key->offset == CFG_OFF(bucket_width_ms) &&
            (v % 1000 != 0 || (uint64_t)24 * 60 * 60 * 1000 % v != 0))
            return out_of_range(r, path, key, s);
        *(uint64_t *)field = v;
        return 0;
    case CFG_SIZE:
        rc = parse_with_unit(s, size_units, size_factors, SIZE_MAX, &v);
        if (rc == -ERANGE)
            return too_large(r, path, s);
        if (rc < 0)
            return wrong_value(r, path, key);
        size = (size_t)v;
        if (size < key->min || size > key->max)
            return out_of_range(r, path, key, s);
        *(size_t *)field = size;
        return 0;
    case CFG_UINT:
    case CFG_SIZE_COUNT:
        if (!parse_count(s, &v)) {
            /* All digits but too many is a range problem, not a type one. */
            if (n > 0 && strspn(s, "0123456789") == n)
                return out_of_range(r, path, key, s);
            return wrong_value(r, path, key);
        }
        if (v < key->min || v > key->max)
            return out_of_range(r, path, key, s);
        if (key->kind == CFG_UINT)
            *(unsigned *)field = (unsigned)v;
        else
            *(size_t *)field = (size_t)v;
        return 0;
    case CFG_BOOL:
        rc = parse_bool(s);
        if (rc < 0)
            return wrong_value(r, path, key);
        *(int *)field = rc;
        return 0;
    case CFG_LIMITS:
    case CFG_HTTP:
    case CFG_SOURCES:
    case CFG_CLIENT:
    case CFG_JSON:
    case CFG_LIST:
        break;
    }
    return wrong_value(r, path, key);
}

/* ---- Mappings and sequences -------------------------------------------- */

/* Returns the edit distance between a and b, or a large number when either
 * is too long to be worth comparing. */
static size_t edit_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), row[CFG_HINT_KEY_MAX + 1];
    if (na > CFG_HINT_KEY_MAX || nb > CFG_HINT_KEY_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* Reports the current event, a scalar key, as unknown in sec, with a hint:
 * the closest key of sec when it is close, or the section where a key of
 * that exact name belongs. */
static int unknown_key(cfg_reader *r, const cfg_section *sec)
{
    static const cfg_section *const all[] = {&top_section, &limits_section, &http_section,
                                             &source_section, &client_section, &json_section};
    const char *k = (const char *)r->ev.data.scalar.value;
    size_t n = r->ev.data.scalar.length, best = SIZE_MAX;
    const char *hint = NULL;
    char buf[CFG_SHOWN_MAX], where[32];

    shown(buf, k, n);
    if (sec->name != NULL)
        snprintf(where, sizeof where, " in %s", sec->name);
    else
        where[0] = '\0';

    for (size_t s = 0; s < CFG_COUNT(all); s++) {
        if (all[s] == sec)
            continue;
        for (size_t i = 0; i < all[s]->n_keys; i++)
            if (strlen(all[s]->keys[i].name) == n && memcmp(all[s]->keys[i].name, k, n) == 0)
                return AT_MARK(r, r->ev.start_mark, "unknown key '%s'%s ('%s' belongs %s%s)", buf,
                               where, buf, all[s]->name ? "under " : "at the top level",
                               all[s]->name ? all[s]->name : "");
    }
    for (size_t i = 0; i < sec->n_keys; i++) {
        size_t d = edit_distance(k, n, sec->keys[i].name), len = strlen(sec->keys[i].name);
        if (d < best && (d <= 2 || d <= len / 3)) {
            best = d;
            hint = sec->keys[i].name;
        }
    }
    if (hint != NULL)
        return AT_MARK(r, r->ev.start_mark, "unknown key '%s'%s (did you mean '%s'?)", buf, where,
                       hint);
    return AT_MARK(r, r->ev.start_mark, "unknown key '%s'%s", buf, where);
}

static int read_value(cfg_reader *r, const char *path, const cfg_key *key, char *base);

/* Reads the mapping whose start is the current event, storing the value of
 * each key of sec into base; prefix ("" at the root) names the mapping in
 * messages.  On return 0 the current event is the mapping's end. */
static int read_mapping(cfg_reader *r, const cfg_section *sec, const char *prefix, char *base)
{
    yaml_mark_t first[CFG_MAX_KEYS];
    unsigned seen = 0;
    char path[96], buf[CFG_SHOWN_MAX + 2];
    int rc;

    for (;;) {
        if ((rc = next(r)) < 0)
            return rc;
        if (r->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if (r->ev.type != YAML_SCALAR_EVENT)
            return AT_MARK(r, r->ev.start_mark, "%s%sexpected a key, found %s", prefix,
                           *prefix ? ": " : "",
                           r->ev.type == YAML_ALIAS_EVENT ? "an alias" : found(&r->ev, buf));

        const char *k = (const char *)r->ev.data.scalar.value;
        size_t n = r->ev.data.scalar.length, i = 0;
        while (i < sec->n_keys && !(strlen(sec->keys[i].name) == n &&
                                    memcmp(sec->keys[i].name, k, n) == 0))
            i++;
        if (i == sec->n_keys)
            return unknown_key(r, sec);
        if (seen & (1u << i))
            return AT_MARK(r, r->ev.start_mark, "duplicate key '%s' (first given at %zu:%zu)",
                           sec->keys[i].name, first[i].line + 1, first[i].column + 1);
        seen |= 1u << i;
        first[i] = r->ev.start_mark;

        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", sec->keys[i].name);
        if ((rc = read_value(r, path, &sec->keys[i], base)) < 0)
            return rc;
    }
}

/* Reads the sequence of sources whose start is the current event, appending
 * each to c->sources (owned by c as soon as it is appended, so a failure
 * part-way leaves c consistent for lt_config_free()). */
static int read_sources(cfg_reader *r, lt_config *c)
{
    size_t cap = c->n_sources;
    char prefix[48], buf[CFG_SHOWN_MAX + 2];
    int rc;

    for (;;) {
        if ((rc = next(r)) < 0)
            return rc;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        snprintf(prefix, sizeof prefix, "sources[%zu]", c->n_sources);
        if (r->ev.type == YAML_ALIAS_EVENT)
            return AT_MARK(r, r->ev.start_mark,
                           "%s: aliases (*%s) are not supported; write the value out", prefix,
                           r->ev.data.alias.anchor ? (const char *)r->ev.data.alias.anchor : "");
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return AT_MARK(r, r->ev.start_mark,
                           "%s: expected a mapping with path: and format:, found %s", prefix,
                           found(&r->ev, buf));
        yaml_mark_t start = r->ev.start_mark;

        if (c->n_sources == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            lt_source_conf *grown = realloc(c->sources, ncap * sizeof *grown);
            if (grown == NULL)
                return out_of_memory(r);
            c->sources = grown;
            cap = ncap;
        }
        lt_source_conf *src = &c->sources[c->n_sources++];
        memset(src, 0, sizeof(*src));
        src->rotate_wait_ms = LT_ROTATE_WAIT_MS;

        if ((rc = read_mapping(r, &source_section, prefix, (char *)src)) < 0)
            return rc;
        if (src->path == NULL)
            return AT_MARK(r, start, "%s: a source needs a path:", prefix);
        if (src->format == NULL && (src->format = strdup("combined")) == NULL)
            return out_of_memory(r);
        /* The format and its options, compiled once to be checked here,
         * where the message can name the source's line. */
        lt_format_opts o;
        char why[256];
        lt_source_format_opts(src, &o);
        lt_format *f = lt_format_new_with(src->format, &o, why, sizeof why);
        if (f == NULL)
            return strcmp(why, "out of memory") == 0 ? out_of_memory(r)
                                                    : AT_MARK(r, start, "%s: %s", prefix, why);
        lt_format_free(f);
    }
}

/* Reads a sequence of non-empty strings whose start is the current event
 * into the char ** at key's offset and the count after it, replacing what
 * was there. */
static int read_list(cfg_reader *r, const char *path, const cfg_key *key, char *base)
{
    char ***items = (char ***)(void *)(base + key->offset);
    size_t *n = (size_t *)(void *)(base + key->offset + sizeof(char **)), cap = 0;
    char buf[CFG_SHOWN_MAX + 2];
    int rc;

    for (size_t i = 0; i < *n; i++)
        free((*items)[i]);
    free(*items);
    *items = NULL;
    *n = 0;
    for (;;) {
        if ((rc = next(r)) < 0)
            return rc;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (r->ev.type != YAML_SCALAR_EVENT || r->ev.data.scalar.length == 0 ||
            is_null(&r->ev) || memchr(r->ev.data.scalar.value, '\0', r->ev.data.scalar.length))
            return AT_MARK(r, r->ev.start_mark, "%s[%zu]: expected an address or CIDR range, "
                           "found %s", path, *n, found(&r->ev, buf));
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **grown = realloc(*items, ncap * sizeof(*grown));
            if (grown == NULL)
                return out_of_memory(r);
            *items = grown;
            cap = ncap;
        }
        (*items)[*n] = NULL;
        if ((rc = set_string(r, &(*items)[*n])) < 0)
            return rc;
        (*n)++;
    }
}

void lt_source_format_opts(const lt_source_conf *s, lt_format_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->client_header = s->client_header;
    o->trusted = (const char *const *)s->trusted_proxies;
    o->n_trusted = s->n_trusted_proxies;
    for (int i = 0; i < LT_JSON_FIELDS; i++)
        o->json[i] = s->json_fields[i];
}

/* Pulls key's value and stores it in base (the lt_config, or a source). */
static int read_value(cfg_reader *r, const char *path, const cfg_key *key, char *base)
{
    int rc;
    if ((rc = next(r)) < 0)
        return rc;

    switch (key->kind) {
    case CFG_LIMITS:
    case CFG_HTTP:
        if (is_null(&r->ev))
            return 0;
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return wrong_value(r, path, key);
        return read_mapping(r, key->kind == CFG_LIMITS ? &limits_section : &http_section, path,
                            base);
    case CFG_SOURCES:
        if (is_null(&r->ev))
            return 0;
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return wrong_value(r, path, key);
        return read_sources(r, (lt_config *)(void *)base);
    case CFG_CLIENT:
    case CFG_JSON:
        if (is_null(&r->ev))
            return 0;
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return wrong_value(r, path, key);
        return read_mapping(r, key->kind == CFG_CLIENT ? &client_section : &json_section, path,
                            base);
    case CFG_LIST:
        if (is_null(&r->ev))
            return 0;
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return wrong_value(r, path, key);
        return read_list(r, path, key, base);
    default:
        if (r->ev.type != YAML_SCALAR_EVENT)
            return wrong_value(r, path, key);
        return read_scalar(r, path, key, base);
    }
}

/* ---- Public API -------------------------------------------------------- */

lt_config *lt_config_new_default(void)
{
    lt_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        goto fail;
    if ((c->socket = strdup("/run/logtally/logtally.sock")) == NULL)
        goto fail;
    if ((c->state_dir = strdup("/var/lib/logtally")) == NULL)
        goto fail;
    c->socket_mode = 0660;
    c->checkpoint_interval_ms = 30 * 1000;
    c->threads = 0;
    c->limits.exact_clients_bytes = LT_DEFAULT_EXACT_CLIENTS_BYTES;
    c->limits.url_entries = LT_DEFAULT_URL_ENTRIES;
    c->limits.rps_bytes = LT_DEFAULT_RPS_BYTES;
    c->limits.strip_query = 0;
    c->limits.buckets.clients_bytes = LT_BUCKETS_DEFAULT_CLIENTS_BYTES;
    c->limits.buckets.urls = LT_BUCKETS_DEFAULT_URLS;
    c->limits.buckets.vhosts = LT_BUCKETS_DEFAULT_VHOSTS;
    c->bucket_width_ms = (uint64_t)LT_BUCKETS_DEFAULT_WIDTH * 1000;
    c->retention_ms = (uint64_t)LT_BUCKETS_DEFAULT_RETENTION * 1000;
    c->limits.buckets.width = LT_BUCKETS_DEFAULT_WIDTH;
    c->limits.buckets.retention = LT_BUCKETS_DEFAULT_RETENTION;
    c->http.max_connections = 256;
    c->http.max_header_bytes = 16 << 10;
    c->http.request_timeout_ms = 10 * 1000;
    return c;

fail:
    lt_config_free(c);
    return NULL;
}

void lt_config_free(lt_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_sources; i++) {
        lt_source_conf *src = &c->sources[i];
        free(src->path);
        free(src->format);
        free(src->client_header);
        for (size_t k = 0; k < src->n_trusted_proxies; k++)
            free(src->trusted_proxies[k]);
        free(src->trusted_proxies);
        for (int k = 0; k < LT_JSON_FIELDS; k++)
            free(src->json_fields[k]);
    }
    free(c->sources);
    free(c->state_dir);
    free(c->listen);
    free(c->socket_group);
    free(c->socket);
    free(c);
}

/* Reads the one document of the stream, after STREAM-START, into c: no
 * document at all is the defaults, and so is a null root. */
static int read_document(cfg_reader *r, lt_config *c)
{
    char buf[CFG_SHOWN_MAX + 2];
    int rc;

    if ((rc = next(r)) < 0)
        return rc;
    if (r->ev.type == YAML_STREAM_END_EVENT)
        return 0;
    if ((rc = next(r)) < 0)
        return rc;
    if (r->ev.type == YAML_MAPPING_START_EVENT) {
        if ((rc = read_mapping(r, &top_section, "", (char *)c)) < 0)
            return rc;
    } else if (r->ev.type == YAML_ALIAS_EVENT) {
        return AT_MARK(r, r->ev.start_mark, "aliases are not supported; write the value out");
    } else if (!is_null(&r->ev)) {
        return AT_MARK(r, r->ev.start_mark,
                       "expected a mapping of keys such as socket: and sources:, found %s",
                       found(&r->ev, buf));
    }
    /* DOCUMENT-END, then STREAM-END: anything else starts a second
     * document, which would otherwise be silently ignored. */
    if ((rc = next(r)) < 0 || (rc = next(r)) < 0)
        return rc;
    if (r->ev.type != YAML_STREAM_END_EVENT)
        return AT_MARK(r, r->ev.start_mark,
                       "a second YAML document; the configuration is a single document");
    return 0;
}

int lt_config_parse(const char *text, size_t len, const char *name, lt_config **out, char *err,
                    size_t errlen)
{
    cfg_reader r;
    lt_config *c = NULL;
    int rc, parser_live = 0;

    *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    memset(&r, 0, sizeof r);
    r.text = text != NULL ? text : "";
    r.len = text != NULL ? len : 0;
    r.name = name != NULL ? name : "<config>";
    r.err = err;
    r.errlen = errlen;

    if ((c = lt_config_new_default()) == NULL) {
        rc = out_of_memory(&r);
        goto fail;
    }
    if (!yaml_parser_initialize(&r.parser)) {
        rc = out_of_memory(&r);
        goto fail;
    }
    parser_live = 1;
    /* libyaml wants a non-NULL pointer even for an empty input. */
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)r.text, r.len);
    if ((rc = next(&r)) < 0)                /* STREAM-START */
        goto fail;
    if ((rc = read_document(&r, c)) < 0)
        goto fail;
    c->limits.buckets.width = (int64_t)(c->bucket_width_ms / 1000);
    c->limits.buckets.retention = (int64_t)(c->retention_ms / 1000);
    if (c->limits.buckets.retention < c->limits.buckets.width) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: retention (%llus) is shorter than one bucket (%llds)",
                     r.name, (unsigned long long)(c->retention_ms / 1000),
                     (long long)c->limits.buckets.width);
        rc = -EINVAL;
        goto fail;
    }
    *out = c;
    c = NULL;

fail:
    /* Also the way out on success, with c handed over and NULL. */
    if (r.ev_live)
        yaml_event_delete(&r.ev);
    if (parser_live)
        yaml_parser_delete(&r.parser);
    lt_config_free(c);
    return rc;
}

/* Writes "path: strerror(-rc)" into err and returns rc. */
static int load_error(const char *path, int rc, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    return rc;
}

int lt_config_load(const char *path, lt_config **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = load_error(path, -errno, err, errlen);
        goto fail;
    }
    for (;;) {
        if (len == cap) {
            /* One byte beyond the cap is enough to know the file is too large. */
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > CFG_MAX_FILE_BYTES + 1)
                ncap = CFG_MAX_FILE_BYTES + 1;
            char *grown = realloc(text, ncap);
            if (grown == NULL) {
                rc = load_error(path, -ENOMEM, err, errlen);
                goto fail;
            }
            text = grown;
            cap = ncap;
        }
        ssize_t got = read(fd, text + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = load_error(path, -errno, err, errlen);
            goto fail;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > CFG_MAX_FILE_BYTES) {
            rc = -EFBIG;
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "%s: file too large (a configuration is at most %zu KiB)",
                         path, CFG_MAX_FILE_BYTES >> 10);
            goto fail;
        }
    }
    rc = lt_config_parse(text, len, path, out, err, errlen);

fail:
    /* Also the way out on success: the text is parsed and no longer needed. */
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}
