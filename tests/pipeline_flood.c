/* pipeline_flood.c -- a client that pipelines big requests and never reads.
 *
 *   pipeline_flood TARGET PID COUNT SECONDS
 *
 * TARGET is a Unix socket path or HOST:PORT.  Sends COUNT pipelined
 * "GET /v1/top?n=100000" requests on one connection (as fast as the socket
 * takes them, for SECONDS) and never reads an answer.  Meanwhile a polite
 * client asks /healthz every 20 ms on fresh connections to TARGET, and the
 * resident memory of process PID (the daemon) is sampled.  Prints what was
 * sent, the daemon's memory above its baseline and the polite latencies;
 * exits 1 when a /healthz failed or took 50 ms or more, or the daemon grew
 * by 64 MiB or more.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *target;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dial(void)
{
    const char *colon = strrchr(target, ':');
    int fd;
    if (target[0] != '/' && colon != NULL) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
        char host[64];
        snprintf(host, sizeof(host), "%.*s", (int)(colon - target), target);
        if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
            return -1;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            goto fail;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", target);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            goto fail;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;

fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Resident kB of process pid, or -1. */
static long rss_kb(const char *pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* One /healthz on a fresh connection; its latency in ms, or -1. */
static double healthz(void)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char resp[4096];
    double t0 = now_ms();
    int fd = dial();
    if (fd < 0)
        return -1;
    size_t got = 0;
    int sent = send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1;
    while (sent && now_ms() - t0 < 2000) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got < 12 || strncmp(resp, "HTTP/1.1 200", 12) != 0)
        return -1;
    return now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: pipeline_flood TARGET PID COUNT SECONDS [MAX_MS]\n");
        return 2;
    }
    target = argv[1];
    const char *pid = argv[2];
    int count = atoi(argv[3]);
    double seconds = atof(argv[4]);
    double max_ms = argc == 6 ? atof(argv[5]) : 50;
    signal(SIGPIPE, SIG_IGN);

    static const char one[] = "GET /v1/top?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t len = (sizeof(one) - 1) * (size_t)count, sent = 0;
    char *reqs = malloc(len);
    for (int i = 0; i < count; i++)
        memcpy(reqs + (size_t)i * (sizeof(one) - 1), one, sizeof(one) - 1);

    long base = rss_kb(pid), most = base;
    int flood = dial();
    if (flood < 0 || base < 0) {
        fprintf(stderr, "pipeline_flood: cannot reach %s or read process %s\n", target, pid);
        return 2;
    }
    double lat[4096];
    int n_lat = 0, n_fail = 0;
    double start = now_ms(), next_poll = start + 200;
    while (now_ms() - start < seconds * 1000) {
        if (sent < len) {
            ssize_t n = send(flood, reqs + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0)
                sent += (size_t)n;
        }
        long kb = rss_kb(pid);
        if (kb > most)
            most = kb;
        if (now_ms() >= next_poll && n_lat + n_fail < 4096) {
            double l = healthz();
            if (l < 0)
                n_fail++;
            else
                lat[n_lat++] = l;
            next_poll = now_ms() + 20;
        } else {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    qsort(lat, (size_t)n_lat, sizeof(double), cmp_double);
    double p50 = n_lat ? lat[n_lat / 2] : 0, p99 = n_lat ? lat[(n_lat * 99) / 100] : 0,
           max = n_lat ? lat[n_lat - 1] : 0;
    printf("flood: sent %zu of %zu request bytes (%zu requests), read nothing\n", sent, len,
           sent / (sizeof(one) - 1));
    printf("daemon RSS: baseline %ld kB, most %ld kB (+%ld kB)\n", base, most, most - base);
    printf("/healthz: %d answered, %d failed; p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", n_lat,
           n_fail, p50, p99, max);
    int failed = 0;
    if (n_fail > 0 || n_lat == 0 || max >= max_ms) {
        printf("FAIL: every /healthz must answer within %.0f ms\n", max_ms);
        failed = 1;
    }
    if (most - base >= 64 * 1024) {
        printf("FAIL: the daemon grew by 64 MiB or more\n");
        failed = 1;
    }
    close(flood);
    free(reqs);
    return failed;
}
