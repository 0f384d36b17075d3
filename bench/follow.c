/* follow.c -- the daemon following a file that grows at a steady rate.
 *
 *   follow SOCKET SOURCE TARGET RATE SECONDS
 *
 * Appends the lines of SOURCE to TARGET (which logtallyd follows) at RATE
 * lines per second for SECONDS, a write every 10 ms, while a second thread
 * asks the daemon for /v1/summary?n=10 every 10 ms over one kept-alive
 * connection.  When the writing ends it keeps asking until the daemon
 * counts every appended line (or 30 s pass).  Prints, as one line of
 * key=value pairs:
 *
 *   lines      lines appended
 *   offered    lines per second offered (appended / writing time)
 *   sustained  lines per second counted: appended / time from the first
 *              write until the daemon counted the last line
 *   tail_ms    from the last write until every line was counted
 *   vis_p50_ms, vis_p99_ms, vis_max_ms
 *              visibility delay of each write: from the write until an
 *              answer counts its lines
 *   api_p50_ms, api_p99_ms, api_max_ms
 *              answer times of the queries made while writing
 *
 * The line count in each answer is that of the whole tally, so TARGET
 * must be the daemon's only source and start empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_answer.h"

#define TICK_MS 10
#define MAX_SAMPLES 100000

struct sample {
    double t;                 /* ms since the start */
    uint64_t lines;           /* written so far, or counted by the daemon */
    double latency;           /* of the answer (polls only) */
};

static double t0;
static struct sample writes[MAX_SAMPLES], polls[MAX_SAMPLES];
static size_t n_writes, n_polls;
static volatile int writing = 1;
static volatile uint64_t written_total;
static const char *sock_path;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 - t0;
}

static void sleep_until(double ms)
{
    double d = ms - now_ms();
    if (d > 0) {
        struct timespec ts = {(time_t)(d / 1e3), (long)((d - (double)(time_t)(d / 1e3) * 1e3) * 1e6)};
        nanosleep(&ts, NULL);
    }
}

/* One request on fd; returns the "lines" of the answer, or -1. */
static long long ask(int fd, char *buf, size_t cap)
{
    static const char req[] = "GET /v1/summary?n=10 HTTP/1.1\r\nHost: x\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
        return -1;
    char *body;
    if (http_read_answer(fd, buf, cap, &body) < 0)
        return -1;
    char *l = strstr(body, "\"lines\":");
    return l ? strtoll(l + 8, NULL, 10) : -1;
}

static void *poll_daemon(void *arg)
{
    (void)arg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("follow: connect");
        exit(1);
    }
    char *buf = malloc(1 << 20);
    double next = 0, give_up = -1;
    while (n_polls < MAX_SAMPLES) {
        sleep_until(next);
        next += TICK_MS;
        double a = now_ms();
        long long lines = ask(fd, buf, 1 << 20);
        double b = now_ms();
        if (lines < 0) {
            fprintf(stderr, "follow: the daemon did not answer\n");
            exit(1);
        }
        polls[n_polls++] = (struct sample){b, (uint64_t)lines, b - a};
        if (!writing) {
            if (give_up < 0)
                give_up = b + 30000;
            if ((uint64_t)lines >= written_total || b > give_up)
                break;
        }
    }
    free(buf);
    close(fd);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, int p)
{
    return n ? v[(n - 1) * (size_t)p / 100] : 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: follow SOCKET SOURCE TARGET RATE SECONDS\n");
        return 2;
    }
    sock_path = argv[1];
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    int in = open(argv[2], O_RDONLY);
    int out = open(argv[3], O_WRONLY | O_APPEND);
    struct stat st;
    if (in < 0 || out < 0 || fstat(in, &st) < 0 || rate <= 0 || seconds <= 0) {
        fprintf(stderr, "follow: %s\n", in < 0 || out < 0 ? strerror(errno) : "bad arguments");
        return 2;
    }
    const char *src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in, 0);
    if (src == MAP_FAILED) {
        perror("follow: mmap");
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;

    pthread_t poller;
    pthread_create(&poller, NULL, poll_daemon, NULL);

    const char *p = src, *end = src + st.st_size;
    uint64_t lines = 0;
    double start = now_ms(), last = start;
    for (double tick = start; tick - start < seconds * 1e3 && p < end && n_writes < MAX_SAMPLES;
         tick += TICK_MS) {
        sleep_until(tick);
        uint64_t want = (uint64_t)((now_ms() - start) / 1e3 * rate);
        const char *q = p;
        while (lines < want && q < end) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            q = nl ? nl + 1 : end;
            lines++;
        }
        if (q > p && write(out, p, (size_t)(q - p)) != q - p) {
            perror("follow: write");
            return 1;
        }
        p = q;
        last = now_ms();
        writes[n_writes++] = (struct sample){last, lines, 0};
        written_total = lines;
    }
    writing = 0;
    pthread_join(poller, NULL);

    /* Visibility: each write against the first answer that counts it. */
    double *vis = malloc(n_writes * sizeof(double)), *api = malloc(n_polls * sizeof(double));
    size_t nv = 0, na = 0, j = 0;
    for (size_t i = 0; i < n_writes; i++) {
        while (j < n_polls && (polls[j].t < writes[i].t || polls[j].lines < writes[i].lines))
            j++;
        if (j == n_polls)
            break;
        vis[nv++] = polls[j].t - writes[i].t;
    }
    for (size_t i = 0; i < n_polls; i++)
        if (polls[i].t <= last)
            api[na++] = polls[i].latency;
    qsort(vis, nv, sizeof(double), cmp);
    qsort(api, na, sizeof(double), cmp);
    const struct sample *fin = &polls[n_polls - 1];
    int all = fin->lines >= lines;
    printf("lines=%llu offered=%.0f sustained=%.0f tail_ms=%.1f vis_p50_ms=%.1f vis_p99_ms=%.1f "
           "vis_max_ms=%.1f api_p50_ms=%.2f api_p99_ms=%.2f api_max_ms=%.2f counted=%llu\n",
           (unsigned long long)lines, lines / ((last - start) / 1e3),
           all ? lines / ((fin->t - start) / 1e3) : 0, all ? fin->t - last : -1, pct(vis, nv, 50),
           pct(vis, nv, 99), nv ? vis[nv - 1] : 0, pct(api, na, 50), pct(api, na, 99),
           na ? api[na - 1] : 0, (unsigned long long)fin->lines);
    free(vis);
    free(api);
    return all ? 0 : 1;
}
