/* parse.h -- one access-log line in, one record out.
 *
 * A format (Apache `common`, `combined`, `vhost_combined`, nginx `combined`,
 * Caddy's JSON log, JSON lines with a field map, any Apache LogFormat
 * string or nginx log_format string) is compiled once into a plan; a parser
 * follows the plan over each line without allocating.  See parse.c for the
 * grammar, the validity rules and the timestamp cache. */
#ifndef LT_PARSE_H
#define LT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lt_format lt_format;
typedef struct lt_parser lt_parser;

typedef enum lt_client_kind {
    LT_CLIENT_IPV4 = 0,
    LT_CLIENT_IPV6 = 1,
    LT_CLIENT_HOST = 2,   /* anything that is not an IP address */
} lt_client_kind;

/* What a valid line yields.  Pointers point into the line passed to
 * lt_parse_line() and are valid as long as it is. */
typedef struct lt_record {
    lt_client_kind client;
    uint32_t ipv4;           /* a.b.c.d as (a << 24 | b << 16 | c << 8 | d) */
    uint8_t ipv6[16];        /* network order; IPv4-mapped ones become ipv4 */
    const char *host;        /* LT_CLIENT_HOST: the field's bytes */
    size_t host_len;
    int64_t ts;              /* UTC epoch seconds */
    const char *url;         /* request target as logged; NULL when the */
    size_t url_len;          /* request field is `-` or not METHOD TARGET [PROTO] */
    unsigned status;         /* 0..999 */
    uint64_t bytes;          /* response size; 0 for `-` */
    const char *vhost;       /* %v when the format has it, else NULL */
    size_t vhost_len;
    const char *method;      /* METHOD of a request with a url, else NULL */
    size_t method_len;
    uint64_t duration_us;    /* response time; LT_NO_DURATION when not logged */
    int non_http;            /* url is NULL because the request is not HTTP */
} lt_record;

/* duration_us of a record whose format logs no response time, or whose
 * line logs "-" for it. */
#define LT_NO_DURATION UINT64_MAX

/* Why a line is malformed (negative, so that 0 is success). */
enum {
    LT_PARSE_OK = 0,
    LT_PARSE_EMPTY = -1,     /* an empty line */
    LT_PARSE_CLIENT = -2,    /* missing client field */
    LT_PARSE_TIME = -3,      /* missing or invalid [timestamp] */
    LT_PARSE_REQUEST = -4,   /* missing or unterminated quoted request */
    LT_PARSE_STATUS = -5,    /* status is not 3 digits */
    LT_PARSE_SIZE = -6,      /* size is neither digits nor `-` */
    LT_PARSE_LAYOUT = -7,    /* text between fields does not match the format */
    LT_PARSE_FIELD = -8,     /* another field of the format is missing */
    LT_PARSE_TOO_LONG = -9,  /* longer than LT_LINE_MAX (reported by readers) */
    LT_PARSE_JSON = -10,     /* a JSON format's line is not one JSON object */
    LT_PARSE_LAST = LT_PARSE_JSON,
};

/* Lines longer than this are malformed without being parsed.  No web server
 * logs a request this long; a longer "line" is junk or a missing newline. */
#define LT_LINE_MAX (1u << 20)

/* How the client of a line is found, and the JSON field map; all members
 * may be zero.  Strings are copied by lt_format_new_with(). */
#define LT_JSON_FIELDS 8
typedef struct lt_format_opts {
    /* A logged header that holds the proxies' X-Forwarded-For list
     * ("X-Forwarded-For" matches %{X-Forwarded-For}i and
     * $http_x_forwarded_for), or NULL: the client field alone. */
    const char *client_header;
    /* Trusted proxies: addresses and CIDR ranges, IPv4 or IPv6.  The
     * client is the rightmost address of (header list, client field) that
     * is not one of them, as nginx's realip and Apache's mod_remoteip. */
    const char *const *trusted;
    size_t n_trusted;
    /* The json format's field names, by LT_JSON_ index; NULL keeps the
     * default (see parse.c).  A dotted name ("request.uri") reads a member
     * of a nested object. */
    const char *json[LT_JSON_FIELDS];
} lt_format_opts;

enum {
    LT_JSON_TIME = 0, LT_JSON_CLIENT, LT_JSON_METHOD, LT_JSON_URI, LT_JSON_REQUEST,
    LT_JSON_STATUS, LT_JSON_SIZE, LT_JSON_DURATION,
};

/* Compiles a format: one of the names "common", "combined",
 * "vhost_combined", "nginx" (an alias of combined), "caddy" and "json", an
 * Apache LogFormat string such as "%h %l %u %t \"%r\" %>s %b" (also with
 * apache2.conf's \" quoting, or as the whole `LogFormat "..." name` line),
 * or an nginx log_format string with $variables (also as the whole
 * `log_format name '...' '...';` line).  Returns a new format, or NULL with
 * a message in err: an unknown name with the closest known ones, or the
 * offending directive and its column.  The format must contain a client
 * (%h, %a, $remote_addr), a timestamp, a request (a quoted "%r", $request,
 * or $request_uri), a status and, in Apache's syntax, a size. */
lt_format *lt_format_new(const char *spec, char *err, size_t errlen);
/* The same with options (NULL: none). */
lt_format *lt_format_new_with(const char *spec, const lt_format_opts *opts, char *err,
                              size_t errlen);
void lt_format_free(lt_format *f);                 /* NULL is a no-op */
/* The LogFormat string the format was compiled from (a name is expanded). */
const char *lt_format_string(const lt_format *f);

/* A parser holds per-thread state (the timestamp cache).  It borrows f,
 * which must outlive it.  Returns NULL when out of memory. */
lt_parser *lt_parser_new(const lt_format *f);
void lt_parser_free(lt_parser *p);                 /* NULL is a no-op */

/* Parses len bytes at line (no '\n'; a trailing '\r' is ignored; any byte,
 * NUL included, may occur).  Returns LT_PARSE_OK and fills rec, or one of the
 * negative LT_PARSE_ codes; rec is then unspecified. */
int lt_parse_line(lt_parser *p, const char *line, size_t len, lt_record *rec);

/* The same through the general plan walker alone, without the fast path
 * for the common/combined prefix that lt_parse_line() tries first.  Both
 * give the same result for every line; this is the reference the tests
 * hold the fast path to. */
int lt_parse_line_generic(lt_parser *p, const char *line, size_t len, lt_record *rec);

/* The names of the built-in formats, NULL-terminated. */
extern const char *const lt_format_names[];

/* Detection: tries every built-in format but json on the first lines of
 * text (len bytes, lines separated by '\n'; at most LT_DETECT_LINES
 * non-empty lines are tried).  Fills the best format's name (NULL when no
 * format parses any line), how many lines it parsed and how many were
 * tried.  The format with the most valid lines wins; of those, the one
 * whose whole format (not only its counted part) matches the most lines;
 * of those, the longest: a combined log is combined, not common. */
#define LT_DETECT_LINES 200
typedef struct lt_detection {
    const char *name;
    size_t valid, tried;
} lt_detection;
int lt_format_detect(const char *text, size_t len, lt_detection *out);

/* A short English reason for a LT_PARSE_ code ("invalid timestamp"). */
const char *lt_parse_strerror(int code);

/* Classifies a client field (len bytes) as in a log line: dotted-quad IPv4;
 * IPv6 in any textual form, bracketed or with a %zone, where IPv4-mapped
 * ::ffff:a.b.c.d counts as IPv4; anything else a hostname.  Fills the
 * client fields of rec. */
void lt_parse_client(const char *s, size_t len, lt_record *rec);

/* Converts the 26 bytes "dd/Mon/yyyy:HH:MM:SS +hhmm" (as inside %t's
 * brackets) to UTC epoch seconds.  Returns 0, or LT_PARSE_TIME when any
 * part is invalid (years 1970..9999 are accepted). */
int lt_parse_time(const char *s, int64_t *out);

#endif
