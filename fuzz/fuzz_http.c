/* fuzz_http.c -- the daemon's request handling (daemon/request.c and
 * daemon/api.c), without sockets.
 *
 * daemon/api.c and daemon/request.c are compiled into this target; what
 * they call from the other daemon files (sources.c, main.c, log.c, http.c,
 * commit.c) is stubbed below (a request held for a window's answer job is
 * asked again once the loop has run the job, as http.c does), answering
 * from the daemon's generation so that, as in the daemon, every answer
 * changes only when the generation does (api.c caches answers by
 * generation).  The daemon is real: d->loop is
 * uv_default_loop(), and d->tally one of three tallies built once from a
 * few dozen lines: empty, exact, and inexact (no client set budget, 5
 * exact URLs, so top-k), picked by generation % 3.
 *
 * Input layout
 * ------------
 *   byte 0      bits 0-1  the peer: TCP, Unix socket with unknown uid, uid 0
 *                         (root), uid 4242 (neither root nor the daemon's);
 *               bit 2     raw HTTP (below) instead of a split request;
 *               bit 3     uv_update_time() first (the cache keys the second)
 *   bytes 1-4   the generation (u32, little-endian)
 *   the rest    split request: method up to the first ' ', path up to the
 *               first '?', query the rest ("GET /v1/top?n=3");
 *               raw HTTP: bytes fed in two pieces (cut at generation >> 24,
 *               modulo the length) to daemon/request.c, the request reader
 *               daemon/http.c feeds, with its limits (8 KiB URL -> 414,
 *               16 KiB of headers, the configuration's default, -> 431,
 *               64 KiB body -> 413); each complete message, its URL split
 *               into path and query, goes to api_handle(), pipelined
 *               messages too, until a parse error or "Connection: close".
 *
 * Checked on every answer
 * -----------------------
 *  - the status is 200, 400, 403, 404 or 405 (500 only from the stubbed
 *    sources_positions() running out of memory): 404 exactly for a path
 *    that is no endpoint, 405 exactly for a known path with another method;
 *    POST /v1/reload is refused (403) over TCP, with an unknown uid and for
 *    uid 4242, and never reaches daemon_reload() then;
 *  - the content type is one of the four api.c sets; application/json is
 *    one valid JSON value (strict RFC 8259, UTF-8 checked, nesting <= 64);
 *    an error is {"error":"...","status":N} with N the status;
 *  - text/plain is valid UTF-8 without control bytes other than '\n'
 *    (terminal-safe); OpenMetrics is printable ASCII lines ending "# EOF";
 *  - /v1/hll imports again with lt_hll_import(); /v1/snapshot reads again
 *    with lt_snapshot_read(), with the stub's positions and the tally's
 *    counters;
 *  - asking the same again gives the same status, type and bytes (the
 *    second answer usually comes from api.c's cache) within one second of
 *    the wall clock, which relative windows follow; /v1/snapshot aside
 *    (it holds the clock).
 * No crash, no leak, no sanitizer report, in api.c or in lib/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "buf.h"
#include "daemon.h"
#include "fuzz.h"
#include "hll.h"
#include "parse.h"
#include "request.h"
#include "snapshot.h"
#include "tally.h"

#define MAX_HEADER_BYTES (16 * 1024)    /* config.c's default http.max_header_bytes */
#define OTHER_UID 4242u

static lt_daemon daemon_;
static lt_tally *tallies[3];

/* --- what api.c calls from the rest of the daemon ----------------------- */

static int reload_calls;
static int positions_failed;

/* A window's summary is filled by an answer job on the pool, the request
 * held meanwhile (API_HOLD).  The job's end calls http_release(), which
 * asks the held request again then and there, as http.c does. */
static struct held {
    const api_peer *peer;
    const char *method, *path, *query, *body, **type;
    size_t body_len;
    lt_buf *out;
    int status;
    int released;
} held;

void daemon_pool_thread(void) {}
void http_release(lt_daemon *d)
{
    struct held *h = &held;
    if (h->out == NULL || h->status != API_HOLD)
        return;
    h->released = 1;
    h->status = api_handle(d, h->peer, h->method, h->path, h->query, h->body, h->body_len,
                           h->out, h->type);
}
void commit_kick(lt_daemon *d)
{
    (void)d;
}

static const char *const names_all[] = {
    "/var/log/nginx/access.log",
    "/var/log/apache2/other_vhosts_access.log",
    "/srv/logs/caf\xc3\xa9 \"quoted\" \\ back.log",
};

void daemon_log(int priority, const char *fmt, ...)
{
    (void)priority;
    (void)fmt;
}

void daemon_notify(const char *state)
{
    (void)state;
}

int daemon_reload(lt_daemon *d, char *err, size_t errlen)
{
    reload_calls++;
    if (d->generation & 0x40) {
        snprintf(err, errlen, "/etc/logtally.yaml:3:7: unknown key \"x\\\x01\xff\"");
        return -1;
    }
    return 0;
}

void sources_progress(lt_daemon *d, ingest_progress *out)
{
    memset(out, 0, sizeof(*out));
    switch (d->generation / 3 % 4) {
    case 1:
        out->done = out->total = 123456789;
        out->rate = 1024.5;
        break;
    case 2:
        out->done = 1000000;
        out->total = 5000000000ull;
        out->rate = 25e6;
        out->catching_up = 1;
        break;
    case 3:
        out->done = 0;
        out->total = 1ull << 40;
        out->catching_up = 1;
        break;
    }
}

const char *const *sources_names(lt_daemon *d, size_t *n)
{
    *n = d->generation / 12 % 4;
    return *n ? names_all : NULL;
}

/* The last checkpoint, as main.c writes it. */
void daemon_checkpoint_json(lt_daemon *d, lt_buf *b)
{
    if (d->checkpoint_failed)
        lt_buf_printf(b, "{\"time\":null,\"ok\":false,\"error\":\"x\",\"failures\":%llu}",
                      (unsigned long long)d->checkpoint_failures);
    else
        lt_buf_puts(b, "{\"time\":null,\"ok\":true,\"error\":null,\"failures\":0}");
}

void sources_describe(lt_daemon *d, lt_buf *b, int text)
{
    size_t n;
    const char *const *names = sources_names(d, &n);
    if (!text)
        lt_buf_puts(b, "{\"sources\":[");
    for (size_t i = 0; i < n; i++) {
        if (text) {
            lt_buf_text_escaped(b, names[i], strlen(names[i]));
            lt_buf_printf(b, "\n  following, inode %zu\n", i + 100);
        } else {
            lt_buf_puts(b, i ? ",{\"path\":" : "{\"path\":");
            lt_buf_json_string(b, names[i], strlen(names[i]));
            lt_buf_printf(b, ",\"pattern\":null,\"state\":\"following\",\"inode\":%zu,"
                             "\"malformed_samples\":[]}",
                          i + 100);
        }
    }
    if (!text)
        lt_buf_puts(b, "]}\n");
    else if (n == 0)
        lt_buf_puts(b, "no sources\n");
}

long sources_positions(lt_daemon *d, lt_snapshot_source **out)
{
    if (d->generation / 48 % 8 == 7) {
        positions_failed = 1;
        return -1;
    }
    size_t n;
    const char *const *names = sources_names(d, &n);
    lt_snapshot_source *p = calloc(n ? n : 1, sizeof(*p));
    if (p == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        p[i].path = strdup(names[i]);
        if (p[i].path == NULL)
            abort();
        p[i].dev = 2049;
        p[i].ino = 100 + i;
        p[i].size = 1000 * (i + 1);
        p[i].offset = p[i].size - i;
        p[i].lines = 10 * i;
        p[i].malformed = i;
        p[i].fp_len = 256;
        p[i].fp_hash = 0x0123456789abcdefull * (i + 1);
    }
    *out = p;
    return (long)n;
}

/* --- a small strict JSON validator --------------------------------------- */

typedef struct json {
    const unsigned char *p, *end;
    int depth;
} json;

static void ws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool lit(json *j, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
        return false;
    j->p += n;
    return true;
}

static bool digits(json *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool number(json *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (j->p >= j->end || *j->p < '1' || *j->p > '9' || !digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!digits(j))
            return false;
    }
    return true;
}

/* The length of the valid UTF-8 sequence at s, or 0; written here, not
 * lt_utf8_sequence(), so that the check does not trust the library. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int hexdigit(unsigned c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool string(json *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        unsigned c = *j->p;
        if (c == '"') {
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->end - j->p < 2)
                return false;
            unsigned e = j->p[1];
            if (e == 'u') {
                if (j->end - j->p < 6)
                    return false;
                for (int k = 2; k < 6; k++)
                    if (!hexdigit(j->p[k]))
                        return false;
                j->p += 6;
            } else if (strchr("\"\\/bfnrt", (int)e) != NULL && e != '\0') {
                j->p += 2;
            } else {
                return false;
            }
            continue;
        }
        size_t n = utf8_len(j->p, (size_t)(j->end - j->p));
        if (n == 0)
            return false;
        j->p += n;
    }
    return false;
}

static bool value(json *j);

static bool array_or_object(json *j, bool object)
{
    if (++j->depth > 64)
        return false;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == (object ? '}' : ']')) {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            if (!string(j))
                return false;
            ws(j);
            if (j->p >= j->end || *j->p != ':')
                return false;
            j->p++;
        }
        if (!value(j))
            return false;
        ws(j);
        if (j->p >= j->end)
            return false;
        if (*j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        if (*j->p != (object ? '}' : ']'))
            return false;
        j->p++;
        j->depth--;
        return true;
    }
}

static bool value(json *j)
{
    ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return array_or_object(j, true);
    case '[': return array_or_object(j, false);
    case '"': return string(j);
    case 't': return lit(j, "true");
    case 'f': return lit(j, "false");
    case 'n': return lit(j, "null");
    default: return number(j);
    }
}

/* 0 when body is one JSON value (whitespace around it), else the offset of
 * the first byte the validator refused, plus one. */
static size_t json_invalid(const char *body, size_t len)
{
    json j = {(const unsigned char *)body, (const unsigned char *)body + len, 0};
    bool ok = value(&j);
    if (ok) {
        ws(&j);
        ok = j.p == j.end;
    }
    return ok ? 0 : (size_t)(j.p - (const unsigned char *)body) + 1;
}

/* --- checking one answer ------------------------------------------------- */

static const char *const routes[][2] = {
    {"/healthz", "GET"},       {"/v1/summary", "GET"}, {"/v1/top", "GET"},
    {"/v1/rps", "GET"},        {"/v1/sources", "GET"}, {"/v1/hll", "GET"},
    {"/v1/snapshot", "GET"},   {"/v1/reload", "POST"}, {"/metrics", "GET"},
    {"/v1/status", "GET"},     {"/v1/vhosts", "GET"},
};

static const char *const T_JSON = "application/json";
static const char *const T_TEXT = "text/plain; charset=utf-8";
static const char *const T_BIN = "application/octet-stream";
static const char *const T_METRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

static void fail_dump(const char *method, const char *path, const char *query, const lt_buf *out)
{
    fuzz_dump("method", method, strlen(method));
    fuzz_dump("path", path, strlen(path));
    fuzz_dump("query", query, strlen(query));
    fuzz_dump("body", out->data, out->len);
}

/* FUZZ_CHECK that first prints the request and the answer. */
#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            fail_dump(method, path, query, out);                                      \
            abort();                                                                  \
        }                                                                             \
    } while (0)

static void check_answer(const api_peer *peer, const char *method, const char *path,
                         const char *query, int status, const char *type, const lt_buf *out,
                         int reloads_before)
{
    int route = -1;
    for (int i = 0; i < (int)(sizeof(routes) / sizeof(routes[0])); i++)
        if (strcmp(path, routes[i][0]) == 0)
            route = i;
    bool reload = route >= 0 && strcmp(routes[route][0], "/v1/reload") == 0;
    bool snapshot = route >= 0 && strcmp(routes[route][0], "/v1/snapshot") == 0;

    CHECK(!lt_buf_failed(out), "the answer ran out of memory");
    CHECK(status == 200 || status == 400 || status == 403 || status == 404 || status == 405 ||
              (status == 500 && snapshot && positions_failed),
          "status %d", status);
    CHECK((status == 404) == (route < 0), "status %d for %s a known path", status,
          route < 0 ? "not" : "");
    CHECK((status == 405) == (route >= 0 && strcmp(method, routes[route][1]) != 0),
          "status %d for method %s", status, method);
    CHECK(status != 403 || reload, "403 from %s", path);
    if (reload) {
        bool allowed = !peer->tcp && peer->uid_known &&
                       (peer->uid == 0 || peer->uid == (unsigned)geteuid());
        CHECK(status != 200 || allowed, "reload allowed for tcp %d uid_known %d uid %u",
              peer->tcp, peer->uid_known, peer->uid);
        CHECK(allowed || reload_calls == reloads_before, "daemon_reload() called for a peer "
                                                         "that may not reload");
    }

    CHECK(type == T_JSON || strcmp(type, T_JSON) == 0 || strcmp(type, T_TEXT) == 0 ||
              strcmp(type, T_BIN) == 0 || strcmp(type, T_METRICS) == 0,
          "content type %s", type);
    if (strcmp(type, T_JSON) == 0) {
        size_t bad = json_invalid(out->data, out->len);
        CHECK(bad == 0, "invalid JSON at byte %zu of %zu", bad - 1, out->len);
        if (status != 200) {
            char tail[32];
            int n = snprintf(tail, sizeof tail, ",\"status\":%d}\n", status);
            CHECK(out->len > 9 + (size_t)n && memcmp(out->data, "{\"error\":\"", 10) == 0 &&
                      memcmp(out->data + out->len - n, tail, (size_t)n) == 0,
                  "error %d not as {\"error\":...,\"status\":%d}", status, status);
        }
    } else {
        CHECK(status == 200, "status %d with content type %s", status, type);
    }
    if (strcmp(type, T_TEXT) == 0) {
        const unsigned char *s = (const unsigned char *)out->data;
        for (size_t i = 0; i < out->len;) {
            size_t n = utf8_len(s + i, out->len - i);
            CHECK(n > 0, "text: invalid UTF-8 at byte %zu", i);
            CHECK(n > 1 || s[i] == '\n' || (s[i] >= 0x20 && s[i] != 0x7f),
                  "text: control byte 0x%02x at byte %zu", s[i], i);
            CHECK(n != 2 || s[i] != 0xc2 || s[i + 1] >= 0xa0, "text: C1 control at byte %zu", i);
            i += n;
        }
    }
    if (strcmp(type, T_METRICS) == 0) {
        CHECK(out->len >= 6 && memcmp(out->data + out->len - 6, "# EOF\n", 6) == 0,
              "metrics do not end with # EOF");
        for (size_t i = 0; i < out->len; i++)
            CHECK(out->data[i] == '\n' || (out->data[i] >= 0x20 && out->data[i] < 0x7f),
                  "metrics: byte 0x%02x", (unsigned char)out->data[i]);
    }
    if (strcmp(type, T_BIN) == 0 && !snapshot) {
        lt_hll *h = lt_hll_new();
        char err[128];
        CHECK(h != NULL, "out of memory");
        CHECK(lt_hll_import(h, out->data, out->len, err, sizeof err) == 0,
              "/v1/hll does not import: %s", err);
        lt_hll_free(h);
    }
    if (strcmp(type, T_BIN) == 0 && snapshot) {
        lt_tally *t = NULL;
        lt_snapshot_source *src = NULL;
        size_t n_src = 0, want;
        char err[256];
        (void)sources_names(&daemon_, &want);
        CHECK(lt_snapshot_read(out->data, out->len, NULL, &t, &src, &n_src, err, sizeof err) == 0,
              "/v1/snapshot does not read: %s", err);
        CHECK(n_src == want, "%zu positions in the snapshot, %zu given", n_src, want);
        CHECK(memcmp(lt_tally_counters(t), lt_tally_counters(daemon_.tally),
                     sizeof(lt_counters)) == 0,
              "the snapshot's counters differ from the tally's");
        lt_snapshot_sources_free(src, n_src);
        lt_tally_free(t);
    }
}

/* api_handle() as http.c drives it: a held request is asked again, with
 * the same peer and words, once the loop has run what it waits for. */
static int answer_of(const api_peer *peer, const char *method, const char *path,
                     const char *query, const char *body, size_t body_len, lt_buf *out,
                     const char **type)
{
    held = (struct held){peer, method, path, query, body, type, body_len, out, 0, 0};
    held.status = api_handle(&daemon_, peer, method, path, query, body, body_len, out, type);
    while (held.status == API_HOLD) {
        FUZZ_CHECK(out->len == 0, "a held request wrote %zu bytes", out->len);
        held.released = 0;
        while (!held.released && uv_run(daemon_.loop, UV_RUN_ONCE) != 0)
            ;
        FUZZ_CHECK(held.released, "a request held with nothing to release it");
    }
    int status = held.status;
    held.out = NULL;
    return status;
}

/* Asks api_handle() and checks the answer, then asks again. */
static void ask(const api_peer *peer, const char *method, const char *path, const char *query,
                const char *body, size_t body_len)
{
    lt_buf out, again;
    const char *type = NULL, *type2 = NULL;
    lt_buf_init(&out);
    lt_buf_init(&again);
    positions_failed = 0;
    int reloads = reload_calls;
    time_t before = time(NULL);
    int status = answer_of(peer, method, path, query, body, body_len, &out, &type);
    check_answer(peer, method, path, query, status, type, &out, reloads);
    if (strcmp(path, "/v1/snapshot") != 0) {
        int status2 = answer_of(peer, method, path, query, body, body_len, &again, &type2);
        /* A relative window ("to=-1h") moves with the wall clock: the two
         * answers are held to each other only within one second. */
        bool same = time(NULL) != before ||
                    (status2 == status && strcmp(type, type2) == 0 && again.len == out.len &&
                     (out.len == 0 || memcmp(again.data, out.data, out.len) == 0));
        if (!same) {
            fail_dump(method, path, query, &out);
            fuzz_dump("second body", again.data, again.len);
        }
        FUZZ_CHECK(same, "asked twice: %d %s, then %d %s", status, type, status2, type2);
    }
    lt_buf_free(&out);
    lt_buf_free(&again);
}

/* --- raw HTTP through daemon/request.c, fed as daemon/http.c feeds it ---- */

static int on_request(http_request *r, const char *method, const char *path, const char *query,
                      int keep_alive)
{
    const api_peer *peer = r->data;
    FUZZ_CHECK(r->url.len <= HTTP_MAX_URL_BYTES, "a URL of %zu bytes", r->url.len);
    FUZZ_CHECK(r->body.len <= HTTP_MAX_BODY_BYTES, "a body of %zu bytes", r->body.len);
    if (path == NULL)
        return 1;    /* http.c answers 400 and closes */
    size_t plen = strlen(path), qlen = strlen(query);
    FUZZ_CHECK(plen + qlen <= r->url.len && memmem(r->url.data, r->url.len, path, plen) != NULL &&
                   (qlen == 0 || memmem(r->url.data, r->url.len, query, qlen) != NULL),
               "the path or the query is not in the URL");
    ask(peer, method, path, query, r->body.data, r->body.len);
    return keep_alive ? 0 : 1;
}

static void raw_http(const api_peer *peer, const uint8_t *data, size_t size, uint32_t cut)
{
    http_request req;
    http_request_init(&req, MAX_HEADER_BYTES, on_request, (void *)peer);
    size_t first = size ? cut % (size + 1) : 0;
    const uint8_t *pieces[2] = {data, data + first};
    size_t lens[2] = {first, size - first};
    for (int i = 0; i < 2; i++) {
        if (lens[i] == 0)
            continue;
        /* Each piece in a block of its own size, as a read into the slab. */
        char *piece = fuzz_dup(pieces[i], lens[i]);
        size_t parsed = http_request_feed(&req, piece, lens[i]);
        free(piece);
        enum http_errno e = HTTP_PARSER_ERRNO(&req.parser);
        FUZZ_CHECK(parsed <= lens[i], "parsed %zu of %zu", parsed, lens[i]);
        FUZZ_CHECK(req.error_status == 0 || req.error_status == 413 || req.error_status == 414 ||
                       req.error_status == 431,
                   "error status %d", req.error_status);
        if (e != HPE_OK || parsed != lens[i] || req.parser.upgrade)
            break;    /* http.c answers the error and stops reading */
    }
    http_request_free(&req);
}

/* --- setup and the entry point ------------------------------------------ */

static lt_tally *build_tally(const lt_limits *l, lt_parser *p, int lines)
{
    static const char *const fixed[] = {
        "192.0.2.1 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8\"",
        "2001:db8::1 - - [01/Jan/2024:00:00:01 +0000] \"GET /caf\xc3\xa9?q=\x1b[31m HTTP/1.1\" 200 9 \"-\" \"-\"",
        "host.example - - [01/Jan/2024:23:59:59 -0700] \"POST /api/\xff\xfe HTTP/1.1\" 201 0 \"-\" \"-\"",
        "::ffff:10.0.0.1 - - [29/Feb/2024:12:00:00 +0530] \"-\" 400 0 \"-\" \"-\"",
        "10.0.0.2 - - [31/Dec/2023:23:59:60 +0000] \"GET /\\\"quoted\\\" HTTP/1.1\" 304 - \"-\" \"-\"",
        "not a log line \x1b]0;title\x07",
        "10.0.0.3 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 2000 1",
        "",
    };
    lt_tally *t = lt_tally_new(l);
    if (t == NULL)
        abort();
    if (lines == 0)
        return t;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (lt_tally_line(t, p, fixed[i], strlen(fixed[i]), (uint32_t)(i % 5), i + 1) == -ENOMEM)
            abort();
    for (int i = 0; i < lines; i++) {
        char line[256];
        int n = snprintf(line, sizeof line,
                         "10.%d.%d.%d - - [%02d/Jan/2024:%02d:%02d:%02d +0000] "
                         "\"GET /page/%d?id=%d HTTP/1.1\" %d %d \"-\" \"loggen\"",
                         i % 7, i % 3, i % 11, 1 + i % 3, i % 24, i * 7 % 60, i * 13 % 60,
                         i % 17, i % 4, i % 5 == 0 ? 404 : 200, i * 31);
        if (lt_tally_line(t, p, line, (size_t)n, 1, (uint64_t)i + 10) == -ENOMEM)
            abort();
    }
    return t;
}

static void setup(void)
{
    char err[128];
    lt_format *f = lt_format_new("combined", err, sizeof err);
    lt_parser *p = f ? lt_parser_new(f) : NULL;
    if (p == NULL)
        abort();
    lt_limits exact = {LT_DEFAULT_EXACT_CLIENTS_BYTES, LT_DEFAULT_URL_ENTRIES, 0, {0}, 0};
    lt_limits inexact = {0, 5, 1, {0}, 0};
    tallies[0] = build_tally(&exact, p, 0);
    tallies[1] = build_tally(&exact, p, 60);
    tallies[2] = build_tally(&inexact, p, 200);
    lt_parser_free(p);
    lt_format_free(f);
    daemon_.loop = uv_default_loop();
    uv_update_time(daemon_.loop);
    daemon_.started_ms = uv_now(daemon_.loop);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    if (size < 5)
        return 0;
    unsigned flags = data[0];
    uint32_t gen = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                   (uint32_t)data[4] << 24;
    static const api_peer peers[4] = {
        {.tcp = 1},
        {.uid_known = 0},
        {.uid_known = 1, .uid = 0},
        {.uid_known = 1, .uid = OTHER_UID},
    };
    const api_peer *peer = &peers[flags & 3];
    daemon_.generation = gen;
    daemon_.tally = tallies[gen % 3];
    if (flags & 8)
        uv_update_time(daemon_.loop);
    data += 5;
    size -= 5;

    if (flags & 4) {
        raw_http(peer, data, size, gen >> 24);
        return 0;
    }
    const uint8_t *sp = memchr(data, ' ', size);
    size_t mlen = sp ? (size_t)(sp - data) : 0, rest = sp ? size - mlen - 1 : size;
    const uint8_t *r = sp ? sp + 1 : data;
    const uint8_t *q = memchr(r, '?', rest);
    size_t plen = q ? (size_t)(q - r) : rest;
    char *method = fuzz_strndup(data, mlen);
    char *path = fuzz_strndup(r, plen);
    char *query = q ? fuzz_strndup(q + 1, rest - plen - 1) : fuzz_strndup("", 0);
    ask(peer, method, path, query, NULL, 0);
    free(method);
    free(path);
    free(query);
    return 0;
}
