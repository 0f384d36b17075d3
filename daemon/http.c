/* http.c -- HTTP/1.1 over the Unix socket.
 *
 * Connections
 * -----------
 * Each accepted connection is a uv_pipe_t and a uv_timer_t embedded in a
 * struct conn; the conn is freed in the close callback of the last of the
 * two (libuv's rule: a handle's memory lives until its close callback).
 * Requests are parsed by http-parser (libhttp-parser-dev) as bytes arrive;
 * each complete request is answered by api_handle() and the response is
 * queued with uv_write, in order, so pipelined requests are answered in the
 * order they came.  Keep-alive follows the request (HTTP/1.1 default on).
 *
 * Limits, so that no client can hold the loop or the daemon's memory
 * -----------------------------------------------------------------
 *   connections     config http.max_connections; at the limit the connection
 *                   idle the longest (no request in progress) is closed to
 *                   make room, as a busy web server reuses keep-alive
 *                   slots, so idle clients cannot lock others out; when
 *                   every slot is inside a request the newcomer is closed
 *                   (libuv's own reserve descriptor covers running out of
 *                   descriptors)
 *   headers         http.max_header_bytes (request line included) -> 431
 *   URL             8 KiB -> 414;  body  64 KiB -> 413
 *   time            http.request_timeout from the first byte of a request
 *                   (or of idleness on a kept-alive connection) to its end;
 *                   a slow or silent client is closed
 *   unread output   answers are built only as fast as the client reads
 *                   them: before each pipelined request is answered (at
 *                   its first byte) the unread output is checked, and past
 *                   1 MiB the parser pauses there; the bytes of that read
 *                   not yet parsed (at most one 64 KiB read) wait in the
 *                   connection, reading stops, and both resume once the
 *                   client has read all but 256 KiB.  So a connection
 *                   holds at most 1 MiB of unread output plus the one
 *                   answer that passed it, 64 KiB of unparsed input, and
 *                   the request being read (URL 8 KiB, headers
 *                   max_header_bytes, body 64 KiB), however many requests
 *                   it pipelines
 * A malformed request gets 400 and the connection is closed.
 *
 * The socket is created with the configured mode (0660 by default) and
 * group; a socket file left by a daemon that died is removed, but a socket
 * where another daemon answers makes this one refuse to start.  On stop the
 * socket is unlinked before it is closed.
 *
 * Socket activation: when systemd passes a listening Unix stream socket
 * (logtallyd.socket; sd_listen_fds(3)), that socket is used as it is and
 * the configured path, mode and group are systemd's business.  The socket
 * file then belongs to systemd: it outlives the daemon (clients that
 * connect during a restart wait in its backlog and are answered by the
 * next daemon), so on stop the daemon closes its descriptor and leaves the
 * file alone.
 *
 * The optional TCP listener (`listen:`, loopback unless configured
 * otherwise) shares the connection code; its clients are marked so that
 * api.c serves them read-only endpoints.  On the Unix socket the peer's
 * uid comes from SO_PEERCRED, for the endpoints that change state.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "buf.h"
#include "daemon.h"
#include "request.h"

#define PAUSE_OUTPUT_BYTES (1024 * 1024)
#define RESUME_OUTPUT_BYTES (256 * 1024)

struct conn;

struct http_server {
    lt_daemon *d;
    uv_pipe_t pipe;
    uv_tcp_t tcp;           /* the optional TCP listener */
    int tcp_inited;
    int closing;            /* listeners whose close callback is pending */
    char *path;
    int inited;             /* pipe initialised: must be closed */
    int bound;              /* the socket file is ours: must be unlinked */
    size_t n_conns;
    struct conn *conns;
};

struct conn {
    union {                 /* the connection: Unix socket or TCP */
        uv_handle_t any;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    api_peer peer;
    uv_timer_t timer;
    http_request req;       /* the request being read (request.c) */
    struct http_server *srv;
    int closing;
    int open_handles;       /* freed when the last one is closed */
    int paused;             /* reading stopped: the client is not reading */
    int held;               /* the parser paused before a request's answer */
    int waiting;            /* ... or after a request the tally must answer */
    struct {                /* that request, while waiting */
        const char *method;
        char *path, *query;
        int keep_alive;
    } wait;
    char *pending;          /* bytes read but not parsed while held */
    size_t pending_len;
    int in_request;         /* bytes of a request arrived, no response yet */
    struct conn *prev, *next;   /* most recently active first */
};

struct write_req {
    uv_write_t req;
    struct conn *conn;
    int close_after;
    lt_buf head, body;      /* the status line and headers; the answer, moved in */
};

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    http_request_free(&c->req);
    free(c->pending);
    free(c->wait.path);
    free(c->wait.query);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    struct http_server *srv = c->srv;
    api_forget(srv->d, &c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
    uv_close(&c->h.any, on_conn_closed);
}

/* Moves c to the front of the list: the most recently active. */
static void touch(struct conn *c)
{
    struct http_server *srv = c->srv;
    if (srv->conns == c)
        return;
    c->prev->next = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = srv->conns;
    srv->conns->prev = c;
    srv->conns = c;
}

/* Closes the connection idle the longest; returns 0 when every one is
 * inside a request. */
static int evict_idle(struct http_server *srv)
{
    struct conn *last = srv->conns, *victim = NULL;
    while (last && last->next)
        last = last->next;
    for (struct conn *c = last; c != NULL; c = c->prev)
        if (!c->in_request && !c->closing) {
            victim = c;
            break;
        }
    if (victim == NULL)
        return 0;
    conn_close(victim);
    return 1;
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void arm_timer(struct conn *c)
{
    uv_timer_start(&c->timer, on_timeout, c->srv->d->config->http.request_timeout_ms, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void feed(struct conn *c, const char *data, size_t n);

/* The client has read its answers down to the resume mark: parse what
 * waited (which may hold the parser again), then read on. */
static void resume(struct conn *c)
{
    if (c->waiting)
        return;    /* http_release() answers it, then resumes */
    if (c->held) {
        c->held = 0;
        http_parser_pause(&c->req.parser, 0);
        if (c->pending_len > 0)
            feed(c, c->pending, c->pending_len);
        if (c->closing || c->held)
            return;
    }
    free(c->pending);
    c->pending = NULL;
    c->pending_len = 0;
    if (c->paused && !c->closing) {
        c->paused = 0;
        uv_read_start(&c->h.stream, on_alloc, on_read);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct conn *c = w->conn;
    if (!c->closing) {
        if (status < 0 || w->close_after)
            conn_close(c);
        else if (c->paused &&
                 uv_stream_get_write_queue_size(&c->h.stream) < RESUME_OUTPUT_BYTES)
            resume(c);
    }
    lt_buf_free(&w->head);
    lt_buf_free(&w->body);
    free(w);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/* Queues a response, whose body moves into the write (*body is left
 * empty): the loop copies no answer, whatever its size (a snapshot is tens
 * of megabytes).  close_after closes the connection once it is sent. */
static void respond(struct conn *c, int status, const char *type, lt_buf *body, int close_after)
{
    struct write_req *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        conn_close(c);
        return;
    }
    w->conn = c;
    w->close_after = close_after;
    w->body = *body;
    lt_buf_init(body);
    lt_buf_init(&w->head);
    lt_buf_printf(&w->head,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                  "Cache-Control: no-store\r\nConnection: %s\r\n\r\n",
                  status, reason(status), type, w->body.len, close_after ? "close" : "keep-alive");
    uv_buf_t b[2] = {uv_buf_init(w->head.data, (unsigned)w->head.len),
                     uv_buf_init(w->body.data, (unsigned)w->body.len)};
    if (lt_buf_failed(&w->head) || w->body.len > UINT_MAX ||
        uv_write(&w->req, &c->h.stream, b, w->body.len > 0 ? 2 : 1, on_written) < 0) {
        lt_buf_free(&w->head);
        lt_buf_free(&w->body);
        free(w);
        conn_close(c);
        return;
    }
    if (!c->paused &&
        uv_stream_get_write_queue_size(&c->h.stream) > PAUSE_OUTPUT_BYTES) {
        c->paused = 1;
        uv_read_stop(&c->h.stream);
    }
}

static void respond_error(struct conn *c, int status, const char *message, int close_after)
{
    lt_buf b;
    lt_buf_init(&b);
    lt_buf_printf(&b, "{\"error\":");
    lt_buf_json_string(&b, message, strlen(message));
    lt_buf_printf(&b, ",\"status\":%d}\n", status);
    respond(c, status, "application/json", &b, close_after);
    lt_buf_free(&b);
}

/* --- a request: begun, then complete (request.c collects it) ------------ */

static void on_request_begin(http_request *r)
{
    struct conn *c = r->data;
    r->max_header_bytes = c->srv->d->config->http.max_header_bytes;    /* a reload's */
    c->in_request = 1;
    touch(c);
    arm_timer(c);
    /* The check before every answer, pipelined ones included: hold the
     * parser here while the client leaves too much unread. */
    if (uv_stream_get_write_queue_size(&c->h.stream) > PAUSE_OUTPUT_BYTES) {
        http_parser_pause(&r->parser, 1);
        c->held = 1;
    }
}

/* Answers one request and queues the response; returns 0 to read on, 1
 * when the connection is to close after it, or -1 when the answer waits
 * for the tally (API_HOLD). */
static int answer(struct conn *c, const char *method, const char *path, const char *query,
                  int keep_alive)
{
    const char *content_type = "application/json";
    lt_buf out;
    lt_buf_init(&out);
    int status = api_handle(c->srv->d, &c->peer, method, path, query, c->req.body.data,
                            c->req.body.len, &out, &content_type);
    if (status == API_HOLD) {
        lt_buf_free(&out);
        return -1;
    }
    if (lt_buf_failed(&out)) {
        lt_buf_free(&out);
        respond_error(c, 500, "out of memory", 1);
        return 1;
    }
    respond(c, status, content_type, &out, !keep_alive);
    lt_buf_free(&out);
    c->in_request = 0;
    if (keep_alive)
        arm_timer(c);    /* now the idle timeout of a kept-alive connection */
    return keep_alive ? 0 : 1;
}

static int on_request(http_request *r, const char *method, const char *path, const char *query,
                      int keep_alive)
{
    struct conn *c = r->data;

    if (path == NULL) {
        respond_error(c, 400, "the request target is not a valid URL path", 1);
        return 1;
    }
    int rc = answer(c, method, path, query, keep_alive);
    if (rc >= 0)
        return rc;
    /* A merge owns the tally: keep the request (its body is not used),
     * hold the parser after it, as for unread output, and answer it in
     * http_release().  Pipelined requests after it wait in c->pending. */
    c->wait.method = method;
    c->wait.path = strdup(path);
    c->wait.query = strdup(query);
    c->wait.keep_alive = keep_alive;
    if (c->wait.path == NULL || c->wait.query == NULL) {
        free(c->wait.path);
        free(c->wait.query);
        c->wait.path = c->wait.query = NULL;
        respond_error(c, 500, "out of memory", 1);
        return 1;
    }
    c->waiting = c->held = 1;
    http_parser_pause(&r->parser, 1);
    return 0;
}

void http_release(lt_daemon *d)
{
    struct http_server *srv = d->http;
    if (srv == NULL)
        return;
    /* Least recently active first: the one that has waited longest (an
     * answer moves its connection to the front), so that when only some
     * can go on (answer jobs are few), none waits behind the others for
     * ever. */
    struct conn *c = srv->conns, *prev;
    while (c != NULL && c->next != NULL)
        c = c->next;
    for (; c != NULL; c = prev) {
        prev = c->prev;
        if (!c->waiting || c->closing)
            continue;
        c->waiting = 0;
        int rc = answer(c, c->wait.method, c->wait.path, c->wait.query, c->wait.keep_alive);
        if (rc < 0) {
            /* Still waiting: for a merge, or for its answer job (api.c);
             * the end of either calls this again. */
            c->waiting = 1;
            continue;
        }
        free(c->wait.path);
        free(c->wait.query);
        c->wait.path = c->wait.query = NULL;
        if (rc == 1) {
            uv_read_stop(&c->h.stream);    /* closes once the answer is sent */
            continue;
        }
        if (!c->closing &&
            uv_stream_get_write_queue_size(&c->h.stream) <= PAUSE_OUTPUT_BYTES)
            resume(c);    /* else on_written resumes it */
    }
}

/* --- reading ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[64 * 1024];    /* the loop thread reads one at a time */
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->closing)
        return;
    feed(c, buf->base, (size_t)nread);
}

/* Parses n bytes read from the connection (or kept from an earlier read:
 * data may be c->pending). */
static void feed(struct conn *c, const char *data, size_t n)
{
    uv_stream_t *s = &c->h.stream;
    size_t parsed = http_request_feed(&c->req, data, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->req.parser);
    if (e == HPE_OK && parsed == n && !c->req.parser.upgrade)
        return;
    if (c->closing)
        return;
    if (e == HPE_PAUSED) {
        /* Held before an answer: keep the rest of this read, stop reading
         * until the client catches up (on_written resumes). */
        size_t rest = n - parsed;
        if (data != c->pending) {
            char *p = rest > 0 ? malloc(rest) : NULL;
            if (rest > 0 && p == NULL) {
                conn_close(c);
                return;
            }
            free(c->pending);
            c->pending = p;
        }
        if (rest > 0)
            memmove(c->pending, data + parsed, rest);
        c->pending_len = rest;
        if (!c->paused) {
            c->paused = 1;
            uv_read_stop(s);
        }
        return;
    }
    if (e == HPE_CB_message_complete) {
        /* The response said "close": stop reading this connection. */
        uv_read_stop(s);
        return;
    }
    if (c->req.error_status == 414)
        respond_error(c, 414, "the request target is longer than 8 KiB", 1);
    else if (c->req.error_status == 431)
        respond_error(c, 431, "the request headers are too large", 1);
    else if (c->req.error_status == 413)
        respond_error(c, 413, "the request body is larger than 64 KiB", 1);
    else
        respond_error(c, 400, http_errno_description(e), 1);
    uv_read_stop(s);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct http_server *srv = server->data;
    if (status < 0) {
        daemon_log(LOG_WARNING_, "accept: %s", uv_strerror(status));
        return;
    }
    if (srv->n_conns >= srv->d->config->http.max_connections)
        evict_idle(srv);
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->srv = srv;
    http_request_init(&c->req, srv->d->config->http.max_header_bytes, on_request, c);
    c->req.on_begin = on_request_begin;
    if (server == (uv_stream_t *)&srv->tcp) {
        uv_tcp_init(srv->d->loop, &c->h.tcp);
        c->peer.tcp = 1;
    } else {
        uv_pipe_init(srv->d->loop, &c->h.pipe, 0);
    }
    uv_timer_init(srv->d->loop, &c->timer);
    c->h.any.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    if (uv_accept(server, &c->h.stream) < 0 ||
        srv->n_conns > srv->d->config->http.max_connections) {
        conn_close(c);
        return;
    }
    if (!c->peer.tcp) {
        /* Who is on the other end, for the endpoints that change state. */
        struct ucred cred;
        socklen_t len = sizeof(cred);
        uv_os_fd_t fd;
        if (uv_fileno(&c->h.any, &fd) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
            c->peer.uid_known = 1;
            c->peer.uid = cred.uid;
        }
    }
    arm_timer(c);
    uv_read_start(&c->h.stream, on_alloc, on_read);
}

/* 1 when a daemon answers on path, 0 when nothing does (a stale socket is
 * removed), -1 with a message when path is something else. */
static int probe_socket(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket; not touching it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int alive = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    if (alive) {
        snprintf(err, errlen, "another logtallyd answers on %s", path);
        return 1;
    }
    unlink(path);
    return 0;
}

/* Listens on "host:port" or "[v6]:port" (the configuration checked the
 * form; a name is resolved once, here, at start).  The TCP listener serves
 * the read-only endpoints and /metrics. */
static int listen_tcp(struct http_server *srv, const char *spec, char *err, size_t errlen)
{
    char host[256], port[16];
    struct sockaddr_storage ss;
    const char *colon = strrchr(spec, ':');
    int rc;

    size_t hl = colon ? (size_t)(colon - spec) : 0;
    if (colon == NULL || hl >= sizeof(host) || strlen(colon + 1) >= sizeof(port)) {
        snprintf(err, errlen, "listen: '%s' is not host:port", spec);
        return -1;
    }
    if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
        memcpy(host, spec + 1, hl - 2);
        host[hl - 2] = '\0';
    } else {
        memcpy(host, spec, hl);
        host[hl] = '\0';
    }
    strcpy(port, colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res = NULL;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL) {
        snprintf(err, errlen, "listen: cannot resolve '%s': %s", spec, gai_strerror(rc));
        return -1;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    uv_tcp_init(srv->d->loop, &srv->tcp);
    srv->tcp.data = srv;
    srv->tcp_inited = 1;
    if ((rc = uv_tcp_bind(&srv->tcp, (struct sockaddr *)&ss, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->tcp, 128, on_connection)) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", spec, uv_strerror(rc));
        return -1;
    }
    daemon_log(LOG_INFO_, "listening on %s (read-only endpoints and /metrics)", spec);
    return 0;
}

/* The listening socket systemd passed (LISTEN_FDS, for this process), or
 * -1 when there is none: the daemon then binds its own.  Returns -2 with
 * a message when what was passed is not a listening Unix stream socket.
 * The variables are removed from the environment either way. */
static int inherited_socket(char *err, size_t errlen)
{
#ifdef HAVE_SYSTEMD
    int n = sd_listen_fds(1);
    if (n <= 0)
        return -1;
    if (n > 1)
        daemon_log(LOG_WARNING_, "systemd passed %d sockets; using the first, closing the others",
                   n);
    for (int fd = SD_LISTEN_FDS_START + 1; fd < SD_LISTEN_FDS_START + n; fd++)
        close(fd);
    if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
        snprintf(err, errlen, "the socket systemd passed (fd %d) is not a listening Unix "
                 "stream socket; check ListenStream= in logtallyd.socket", SD_LISTEN_FDS_START);
        return -2;
    }
    return SD_LISTEN_FDS_START;
#else
    (void)err;
    (void)errlen;
    if (getenv("LISTEN_FDS") != NULL)
        daemon_log(LOG_WARNING_, "LISTEN_FDS is set, but this logtallyd is built without "
                   "libsystemd: binding the configured socket itself");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    return -1;
#endif
}

/* Listens on the socket systemd passed: its path (for messages) replaces
 * the configured one, which may differ when logtallyd.socket was edited. */
static int listen_inherited(struct http_server *srv, int fd, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    int rc;

    memset(&sa, 0, sizeof(sa));
    if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_path[0] != '\0' &&
        strcmp(sa.sun_path, srv->path) != 0) {
        daemon_log(LOG_NOTICE_, "listening on %s, the socket systemd passed, not on %s",
                   sa.sun_path, srv->path);
        char *p = strdup(sa.sun_path);
        if (p != NULL) {
            free(srv->path);
            srv->path = p;
        }
    }
    uv_pipe_init(srv->d->loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    srv->inited = 1;
    if ((rc = uv_pipe_open(&srv->pipe, fd)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->pipe, 128, on_connection)) < 0) {
        snprintf(err, errlen, "cannot listen on the socket systemd passed: %s", uv_strerror(rc));
        return -1;
    }
    return 0;     /* not bound: the socket file is systemd's, left at stop */
}

int http_start(lt_daemon *d, char *err, size_t errlen)
{
    const lt_config *cfg = d->config;
    struct http_server *srv = calloc(1, sizeof(*srv));
    int rc;

    if (srv == NULL || (srv->path = strdup(cfg->socket)) == NULL) {
        snprintf(err, errlen, "out of memory");
        free(srv);
        return -1;
    }
    srv->d = d;
    d->http = srv;

    int fd = inherited_socket(err, errlen);
    if (fd == -2)
        return -1;
    if (fd >= 0) {
        if (listen_inherited(srv, fd, err, errlen) < 0)
            return -1;
        return cfg->listen != NULL ? listen_tcp(srv, cfg->listen, err, errlen) : 0;
    }
    if (strlen(cfg->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "socket path %s is too long for a Unix socket", cfg->socket);
        return -1;
    }
    if (probe_socket(cfg->socket, err, errlen) != 0)
        return -1;
    uv_pipe_init(d->loop, &srv->pipe, 0);
    srv->pipe.data = srv;
    srv->inited = 1;
    /* Create the socket with no access for others, then open it up to the
     * configured mode: no window where it is wider than asked. */
    mode_t old = umask(0177);
    rc = uv_pipe_bind(&srv->pipe, cfg->socket);
    umask(old);
    if (rc < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", cfg->socket, uv_strerror(rc));
        return -1;
    }
    srv->bound = 1;
    if (cfg->socket_group != NULL) {
        struct group *g = getgrnam(cfg->socket_group);
        if (g == NULL || chown(cfg->socket, (uid_t)-1, g->gr_gid) < 0) {
            snprintf(err, errlen, "cannot give %s to group %s: %s", cfg->socket,
                     cfg->socket_group, g == NULL ? "no such group" : strerror(errno));
            return -1;
        }
    }
    if (chmod(cfg->socket, cfg->socket_mode) < 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", cfg->socket, strerror(errno));
        return -1;
    }
    if ((rc = uv_listen((uv_stream_t *)&srv->pipe, 128, on_connection)) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", cfg->socket, uv_strerror(rc));
        return -1;
    }
    return cfg->listen != NULL ? listen_tcp(srv, cfg->listen, err, errlen) : 0;
}

static void on_server_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    if (--srv->closing > 0)
        return;
    free(srv->path);
    free(srv);
}

void http_stop(lt_daemon *d)
{
    struct http_server *srv = d->http;
    if (srv == NULL)
        return;
    d->http = NULL;
    while (srv->conns)
        conn_close(srv->conns);
    /* Unlink first, so no new client finds a socket nobody will accept.
     * A socket systemd passed is not ours to remove: it stays, and its
     * backlog waits for the next daemon. */
    if (srv->bound)
        unlink(srv->path);
    srv->closing = srv->inited + srv->tcp_inited;
    if (srv->inited)
        uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
    if (srv->tcp_inited)
        uv_close((uv_handle_t *)&srv->tcp, on_server_closed);
    if (srv->closing == 0) {
        free(srv->path);
        free(srv);
    }
}
