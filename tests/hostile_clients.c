/* hostile_clients.c -- abuses logtallyd's socket while timing a polite client.
 *
 *   hostile_clients SOCKET SECONDS
 *
 * Opens, all at once: 500 idle connections; 5 slowloris clients that send a
 * request one byte every 200 ms; a request with a 1 MiB header; 64 KiB of
 * random bytes; a client that pipelines 5,000 requests and never reads the
 * answers; and, during the run, 50 clients that ask for a large answer and
 * disconnect before reading it.  Meanwhile a polite client asks /healthz
 * and /v1/summary every 100 ms with a fresh connection.  Prints what each
 * hostile client got and the polite client's latencies; exits 1 when a
 * polite request failed or took 1 s or more, or the big header did not get
 * 431, or the random bytes did not get 400.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dial(int nonblock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    if (nonblock)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Writes as much of buf as the socket takes within ms; returns bytes sent. */
static size_t send_some(int fd, const char *buf, size_t len, int ms)
{
    size_t done = 0;
    double until = now_ms() + ms;
    while (done < len && now_ms() < until) {
        ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, 10);
    }
    return done;
}

/* Reads what arrives within ms into buf (NUL-terminated); returns bytes. */
static size_t read_some(int fd, char *buf, size_t cap, int ms)
{
    size_t got = 0;
    double until = now_ms() + ms;
    while (got + 1 < cap && now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* One polite request on a fresh connection; returns its latency in ms, or
 * -1 when it failed. */
static double polite(const char *target)
{
    char req[256], resp[65536];
    double t0 = now_ms();
    int fd = dial(1);
    if (fd < 0)
        return -1;
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
    send_some(fd, req, (size_t)n, 1000);
    size_t got = 0;
    while (now_ms() - t0 < 2000) {
        size_t r = read_some(fd, resp + got, sizeof(resp) - got, 50);
        got += r;
        if (r == 0 && got > 0)
            break;
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
    if (argc != 3) {
        fprintf(stderr, "usage: hostile_clients SOCKET SECONDS\n");
        return 2;
    }
    sock_path = argv[1];
    double seconds = atof(argv[2]);
    int failed = 0;
    char resp[4096];
    signal(SIGPIPE, SIG_IGN);

    /* 500 idle connections. */
    int idle[500], n_idle = 0;
    for (int i = 0; i < 500; i++)
        if ((idle[n_idle] = dial(1)) >= 0)
            n_idle++;
    printf("idle: %d connections opened\n", n_idle);

    /* Slowloris: a request trickled a byte at a time. */
    static const char slow_req[] = "GET /v1/summary HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    int slow[5];
    size_t slow_at[5] = {0};
    for (int i = 0; i < 5; i++)
        slow[i] = dial(1);

    /* A 1 MiB header: 431. */
    size_t big = 1 << 20;
    char *hdr = malloc(big + 64);
    int hn = snprintf(hdr, 64, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(hdr + hn, 'a', big);
    int bigfd = dial(1);
    size_t sent = send_some(bigfd, hdr, (size_t)hn + big, 2000);
    read_some(bigfd, resp, sizeof(resp), 1000);
    printf("big header: sent %zu bytes, got \"%.12s\"\n", sent, resp);
    if (strncmp(resp, "HTTP/1.1 431", 12) != 0) {
        printf("FAIL: a 1 MiB header did not get 431\n");
        failed = 1;
    }
    close(bigfd);
    free(hdr);

    /* Random bytes: 400. */
    char junk[65536];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(x >> 16);
    }
    int junkfd = dial(1);
    send_some(junkfd, junk, sizeof(junk), 1000);
    read_some(junkfd, resp, sizeof(resp), 1000);
    printf("random bytes: got \"%.12s\"\n", resp);
    if (strncmp(resp, "HTTP/1.1 400", 12) != 0) {
        printf("FAIL: random bytes did not get 400\n");
        failed = 1;
    }
    close(junkfd);

    /* A client that pipelines requests and never reads. */
    static const char one[] = "GET /v1/summary?n=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t plen = (sizeof(one) - 1) * 5000;
    char *pipe_reqs = malloc(plen);
    for (int i = 0; i < 5000; i++)
        memcpy(pipe_reqs + i * (sizeof(one) - 1), one, sizeof(one) - 1);
    int noread = dial(1);
    size_t pipelined = send_some(noread, pipe_reqs, plen, 1000);
    printf("non-reader: pipelined %zu of %zu request bytes before the daemon stopped reading\n",
           pipelined, plen);
    free(pipe_reqs);

    /* The run: polite requests every 100 ms, slowloris bytes every 200 ms,
     * a disconnect mid-response now and then. */
    double lat[1000];
    int n_lat = 0, n_fail = 0, disconnects = 0;
    double start = now_ms(), next_slow = start;
    while (now_ms() - start < seconds * 1000 && n_lat + n_fail < 1000) {
        if (now_ms() >= next_slow) {
            for (int i = 0; i < 5; i++)
                if (slow[i] >= 0 && slow_at[i] < sizeof(slow_req) - 1 &&
                    send(slow[i], slow_req + slow_at[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
                    slow_at[i]++;
            next_slow += 200;
        }
        if (disconnects < 50) {
            int fd = dial(1);
            static const char req[] = "GET /v1/top?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n";
            if (fd >= 0) {
                send_some(fd, req, sizeof(req) - 1, 100);
                close(fd);
                disconnects++;
            }
        }
        double l = polite(n_lat % 2 ? "/healthz" : "/v1/summary?n=5");
        if (l < 0)
            n_fail++;
        else
            lat[n_lat++] = l;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    qsort(lat, (size_t)n_lat, sizeof(double), cmp_double);
    double p50 = n_lat ? lat[n_lat / 2] : 0, p99 = n_lat ? lat[(n_lat * 99) / 100] : 0,
           max = n_lat ? lat[n_lat - 1] : 0;
    printf("polite client: %d answered, %d failed; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           n_lat, n_fail, p50, p99, max);
    printf("disconnected mid-response: %d; slowloris bytes sent: %zu\n", disconnects, slow_at[0]);
    if (n_fail > 0 || max >= 1000 || n_lat == 0) {
        printf("FAIL: polite requests must all succeed within 1 s\n");
        failed = 1;
    }
    for (int i = 0; i < n_idle; i++)
        close(idle[i]);
    for (int i = 0; i < 5; i++)
        if (slow[i] >= 0)
            close(slow[i]);
    close(noread);
    return failed;
}
