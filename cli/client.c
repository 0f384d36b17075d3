/* client.c -- `logtally summary|top|rps|status|vhosts|sources|hll|reload`: ask the daemon.
 *
 * One HTTP/1.1 request over the Unix socket per command; the response is
 * read whole and parsed with http-parser.  The daemon is asked for its
 * text form (format=text), so the client prints what it gets and needs no
 * JSON parser; with --json it asks for, and prints, the JSON.  `summary
 * --wait` polls until the daemon has caught up with its files, drawing a
 * progress bar on stderr.
 *
 * Exit codes: 0 success; 1 the daemon answered with an error; 2 bad usage;
 * 3 the daemon is not running (no socket, or nobody listening); 4 access
 * denied (to the socket, or 403 from the daemon: reload by another user).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <http_parser.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "qtime.h"

#define DEFAULT_SOCKET "/run/logtally/logtally.sock"
#define RESPONSE_TIMEOUT_MS 30000

enum { EXIT_NOT_RUNNING = 3, EXIT_DENIED = 4 };

struct response {
    int status;
    lt_buf body;
    int complete;
};

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct response *r = p->data;
    lt_buf_append(&r->body, at, len);
    return 0;
}

static int on_complete(http_parser *p)
{
    struct response *r = p->data;
    r->status = (int)p->status_code;
    r->complete = 1;
    return 0;
}

/* request_once() found the connection closed before the first byte of a
 * response: a daemon that was stopping when it accepted us. */
#define RETRY (-1)
#define ATTEMPTS 3

/* Sends one request and reads the response.  Returns 0, an exit code
 * after printing why, or RETRY (printing nothing). */
static int request_once(const char *sock, const char *method, const char *target,
                        struct response *r)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "logtally: socket path %s is too long\n", sock);
        return EXIT_USAGE;
    }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (e == ENOENT || e == ECONNREFUSED) {
            fprintf(stderr, "logtally: the daemon is not running (nothing listens on %s)\n", sock);
            return EXIT_NOT_RUNNING;
        }
        if (e == EACCES || e == EPERM) {
            /* Name the group: being added to it is the usual fix. */
            struct stat st;
            struct group *g = stat(sock, &st) == 0 ? getgrgid(st.st_gid) : NULL;
            if (g != NULL)
                fprintf(stderr, "logtally: permission denied on %s: only members of the group "
                        "'%s' may use it (usermod -aG %s USER)\n", sock, g->gr_name, g->gr_name);
            else
                fprintf(stderr, "logtally: permission denied on %s (are you in its group?)\n",
                        sock);
            return EXIT_DENIED;
        }
        fprintf(stderr, "logtally: cannot connect to %s: %s\n", sock, strerror(e));
        return EXIT_FAILED;
    }
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: logtally/" LT_VERSION "\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     method, target);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        fprintf(stderr, "logtally: the request to %s is too long\n", sock);
        close(fd);
        return EXIT_USAGE;
    }
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        int e = errno;
        close(fd);
        if (e == EPIPE || e == ECONNRESET)
            return RETRY;
        fprintf(stderr, "logtally: cannot send the request to %s: %s\n", sock, strerror(e));
        return EXIT_FAILED;
    }

    http_parser_settings settings;
    http_parser p;
    memset(&settings, 0, sizeof(settings));
    settings.on_body = on_body;
    settings.on_message_complete = on_complete;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = r;
    lt_buf_init(&r->body);
    r->complete = 0;
    char buf[65536];
    size_t received = 0;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, RESPONSE_TIMEOUT_MS) == 0) {
            fprintf(stderr, "logtally: the daemon did not answer within %d s\n",
                    RESPONSE_TIMEOUT_MS / 1000);
            close(fd);
            return EXIT_FAILED;
        }
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (received == 0 && (got == 0 || (got < 0 && errno == ECONNRESET))) {
            lt_buf_free(&r->body);
            close(fd);
            return RETRY;
        }
        if (got < 0)
            break;
        received += (size_t)got;
        size_t done = http_parser_execute(&p, &settings, buf, (size_t)got);
        if (HTTP_PARSER_ERRNO(&p) != HPE_OK || done != (size_t)got || got == 0 || r->complete)
            break;
    }
    close(fd);
    if (!r->complete || lt_buf_failed(&r->body)) {
        fprintf(stderr, "logtally: the daemon's answer was cut short or malformed\n");
        lt_buf_free(&r->body);
        return EXIT_FAILED;
    }
    return 0;
}

/* Sends one request and reads the response, again when the connection was
 * closed before any answer: a daemon that stops (systemctl restart) may
 * have accepted the connection and closed it unanswered, and under socket
 * activation the next connection waits for the next daemon.  Every
 * request of the client may be sent twice: the GETs read, and a second
 * reload rereads the same file.  Returns 0, or an exit code after
 * printing why. */
static int request(const char *sock, const char *method, const char *target, struct response *r)
{
    for (int attempt = 1;; attempt++) {
        int rc = request_once(sock, method, target, r);
        if (rc != RETRY)
            return rc;
        if (attempt == ATTEMPTS) {
            fprintf(stderr, "logtally: %s closed the connection %d times without an answer\n",
                    sock, ATTEMPTS);
            return EXIT_FAILED;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Prints the body; an error status prints the daemon's message on stderr
 * and gives exit code 1. */
static int finish(struct response *r, FILE *out)
{
    int rc = EXIT_OK;
    if (r->status >= 400) {
        fprintf(stderr, "logtally: the daemon answered %d: ", r->status);
        fwrite(r->body.data, 1, r->body.len, stderr);
        rc = r->status == 403 ? EXIT_DENIED : EXIT_FAILED;
    } else {
        fwrite(r->body.data, 1, r->body.len, out);
    }
    lt_buf_free(&r->body);
    if (fflush(out) != 0)
        rc = EXIT_FAILED;
    return rc;
}

static int get(const char *sock, const char *target)
{
    struct response r;
    int rc = request(sock, "GET", target, &r);
    return rc ? rc : finish(&r, stdout);
}

/* Reads a number out of a flat JSON key ("\"bytes_done\":123"); enough for
 * the progress fields, which the daemon writes as plain integers. */
static double json_number(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* Polls the summary until the daemon has caught up, with a progress bar
 * when stderr is a terminal. */
static int wait_for_ingest(const char *sock)
{
    for (;;) {
        struct response r;
        int rc = request(sock, "GET", "/v1/summary?n=0", &r);
        if (rc)
            return rc;
        lt_buf_append(&r.body, "", 1);
        int caught_up = strstr(r.body.data, "\"catching_up\":false") != NULL;
        double done = json_number(r.body.data, "bytes_done");
        double total = json_number(r.body.data, "bytes_total");
        double rate = json_number(r.body.data, "rate");
        lt_buf_free(&r.body);
        if (caught_up || r.status != 200)
            break;
        if (isatty(STDERR_FILENO) && total > 0) {
            int width = 40, fill = (int)(width * done / total);
            fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %.0f MB/s  ETA %.0f s ", fill,
                    "########################################", width - fill, "",
                    100.0 * done / total, rate / 1e6, rate > 0 ? (total - done) / rate : 0.0);
        }
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (isatty(STDERR_FILENO))
        fputs("\r\033[K", stderr);
    return 0;
}

static void client_usage(FILE *out)
{
    fputs("usage: logtally [-s SOCKET] COMMAND [--json]\n"
          "\n"
          "  summary [--wait] [--top N]   the report (--wait: until the daemon has caught up)\n"
          "  top [N]                      the N hottest URLs (default 10)\n"
          "  rps [--step 1s|1m|1h|1d] [--status 5xx|503]\n"
          "                               requests (of a status class or code) per step\n"
          "  status                       requests by status class, code and method\n"
          "  vhosts [--top N]             requests per virtual host\n"
          "\n"
          "summary, top, rps, status and vhosts answer for a window:\n"
          "  --since D                    the last D (90s, 15m, 1h, 2d, 1w), up to now\n"
          "  --from T, --to T             T is epoch seconds, ISO 8601 (2024-05-17T10:00,\n"
          "                               2024-05-17T10:00:00+02:00), now, or -15m\n"
          "  sources                      the files followed\n"
          "  hll                          the clients' HyperLogLog, Redis format, to stdout\n"
          "  snapshot                     the daemon's snapshot, to stdout (logtally merge)\n"
          "  reload                       make the daemon reread its configuration\n"
          "\n"
          "The socket is " DEFAULT_SOCKET " unless -s or LOGTALLY_SOCKET says otherwise.\n",
          out);
}

/* Appends key=value to a query string, percent-encoding the value. */
static void add_param(char *q, size_t cap, const char *key, const char *value)
{
    size_t n = strlen(q);
    n += (size_t)snprintf(q + n, cap > n ? cap - n : 0, "%s%s=", n ? "&" : "", key);
    for (const unsigned char *v = (const unsigned char *)value; *v && n + 4 < cap; v++) {
        if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
            strchr("-_.:", *v))
            q[n++] = (char)*v;
        else
            n += (size_t)snprintf(q + n, cap - n, "%%%02X", *v);
    }
    q[n < cap ? n : cap - 1] = '\0';
}

int cmd_client(const char *sock, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"wait", no_argument, NULL, 'w'},
        {"top", required_argument, NULL, 'n'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"step", required_argument, NULL, 'S'},
        {"since", required_argument, NULL, 'D'},
        {"status", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    char query[1024] = "";
    int json = 0, wait = 0, c;
    const char *top = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jwn:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'w': wait = 1; break;
        case 'n': top = optarg; break;
        case 'F': add_param(query, sizeof(query), "from", optarg); break;
        case 'T': add_param(query, sizeof(query), "to", optarg); break;
        case 'S': add_param(query, sizeof(query), "step", optarg); break;
        case 'C': add_param(query, sizeof(query), "status", optarg); break;
        case 'D': {
            /* --since D is from=-D: the daemon takes it relative to its clock. */
            int64_t secs;
            char err[128], rel[64];
            if (lt_qtime_duration(optarg, &secs, err, sizeof(err)) < 0) {
                fprintf(stderr, "logtally %s: --since: %s\n", cmd, err);
                return EXIT_USAGE;
            }
            snprintf(rel, sizeof(rel), "-%llds", (long long)secs);
            add_param(query, sizeof(query), "from", rel);
            break;
        }
        case 'h': client_usage(stdout); return EXIT_OK;
        default: client_usage(stderr); return EXIT_USAGE;
        }
    }
    int rest = argc - optind;
    int is_top = strcmp(cmd, "top") == 0;
    if (rest > (is_top ? 1 : 0)) {
        fprintf(stderr, "logtally %s: unexpected argument '%s'\n", cmd, argv[optind + (is_top ? 1 : 0)]);
        return EXIT_USAGE;
    }
    if (is_top && rest == 1)
        top = argv[optind];
    if (top != NULL) {
        char *end;
        unsigned long v = strtoul(top, &end, 10);
        unsigned long least = is_top ? 1 : 0;
        if (*top < '0' || *top > '9' || *end != '\0' || v < least || v > 100000) {
            fprintf(stderr, "logtally %s: '%s' is not a count from %lu to 100000\n", cmd, top, least);
            return EXIT_USAGE;
        }
        add_param(query, sizeof(query), "n", top);
    }
    if (!json && strcmp(cmd, "hll") != 0 && strcmp(cmd, "snapshot") != 0)
        add_param(query, sizeof(query), "format", "text");

    char target[1100];
    if (strcmp(cmd, "reload") == 0) {
        struct response r;
        snprintf(target, sizeof(target), "/v1/reload%s%s", query[0] ? "?" : "", query);
        int rc = request(sock, "POST", target, &r);
        return rc ? rc : finish(&r, stdout);
    }
    static const char *const gets[] = {"summary", "top",     "rps", "status",
                                       "vhosts",  "sources", "hll", "snapshot"};
    for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
        if (strcmp(cmd, gets[i]) != 0)
            continue;
        int binary = strcmp(cmd, "hll") == 0 || strcmp(cmd, "snapshot") == 0;
        if (binary && isatty(STDOUT_FILENO)) {
            fprintf(stderr, "logtally %s: the output is binary; redirect it to a file\n", cmd);
            return EXIT_USAGE;
        }
        if (wait && strcmp(cmd, "summary") == 0) {
            int rc = wait_for_ingest(sock);
            if (rc)
                return rc;
        }
        snprintf(target, sizeof(target), "/v1/%s%s%s", cmd, query[0] ? "?" : "", query);
        return get(sock, target);
    }
    fprintf(stderr, "logtally: unknown command '%s'\n", cmd);
    return EXIT_USAGE;
}

const char *client_default_socket(void)
{
    const char *env = getenv("LOGTALLY_SOCKET");
    return env && *env ? env : DEFAULT_SOCKET;
}
