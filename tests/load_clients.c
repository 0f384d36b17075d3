/* load_clients.c -- concurrent clients timing the daemon's answers.
 *
 *   load_clients SOCKET CLIENTS QUERIES TARGET
 *
 * CLIENTS threads each send QUERIES requests for TARGET over one kept-alive
 * connection, one at a time, and time each answer.  Prints the count and
 * the p50, p99 and maximum latency; exits 1 when any request failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_answer.h"

static const char *sock_path, *target;
static int queries;

struct worker {
    pthread_t tid;
    double *lat;
    int done, failed;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        w->failed = queries;
        return NULL;
    }
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    char *buf = malloc(1 << 20), *body;
    for (int i = 0; i < queries; i++) {
        double t0 = now_ms();
        if (write(fd, req, (size_t)n) != n || http_read_answer(fd, buf, 1 << 20, &body) < 0) {
            w->failed = queries - i;
            break;
        }
        w->lat[w->done++] = now_ms() - t0;
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

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: load_clients SOCKET CLIENTS QUERIES TARGET\n");
        return 2;
    }
    sock_path = argv[1];
    int clients = atoi(argv[2]);
    queries = atoi(argv[3]);
    target = argv[4];
    struct worker *w = calloc((size_t)clients, sizeof(*w));
    double *all = calloc((size_t)clients * (size_t)queries, sizeof(double));
    for (int i = 0; i < clients; i++) {
        w[i].lat = all + (size_t)i * (size_t)queries;
        pthread_create(&w[i].tid, NULL, run, &w[i]);
    }
    int done = 0, failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(w[i].tid, NULL);
        failed += w[i].failed;
    }
    for (int i = 0; i < clients; i++)
        for (int j = 0; j < w[i].done; j++)
            all[done++] = w[i].lat[j];
    qsort(all, (size_t)done, sizeof(double), cmp);
    printf("%d answered, %d failed; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", done, failed,
           done ? all[done / 2] : 0, done ? all[(done * 99) / 100] : 0, done ? all[done - 1] : 0);
    free(all);
    free(w);
    return failed ? 1 : 0;
}
