/* hotpath.c -- where the time of one line goes: split, parse, count.
 *
 * Maps a log file whole (a measurement tool, not the product: logtally
 * itself maps windows) and times, on the same bytes, three nested loops:
 *
 *   scan    lt_scan_fd() with a callback that only counts: the cost of
 *           reading through 8 MiB mmap windows (faults, unmapping)
 *   split   memchr for '\n' only, over a whole pre-faulted mapping (the
 *           floor: what `wc -l` does)
 *   parse   split + lt_parse_line()
 *   tally   split + lt_tally_line() (parse and count, as analyze does
 *           with one thread)
 *
 * Each stage runs --reps times (default 5) and the fastest is reported,
 * in ns per line and MB/s, so that one noisy run does not decide a design.
 *
 *   bench/hotpath FILE [--format F] [--reps N]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "scan.h"
#include "tally.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum stage { SCAN, SPLIT, PARSE, TALLY };

static int count_only(void *arg, const char *line, size_t len, int overlong)
{
    (void)line, (void)len, (void)overlong;
    ++*(size_t *)arg;
    return 0;
}

/* The scan stage: the file read as logtally reads it, lines not looked at. */
static size_t run_scan(int fd, uint64_t size)
{
    lt_scan_pos pos = {0, 0};
    size_t lines = 0;
    char err[256];
    if (lt_scan_fd(fd, &pos, size, 1, count_only, &lines, err, sizeof(err)) != 0) {
        fprintf(stderr, "hotpath: %s\n", err);
        exit(1);
    }
    return lines;
}

/* Runs one stage over the whole text; returns lines seen and adds the
 * parse results into *valid so the work cannot be optimised away. */
static size_t run(enum stage st, const char *text, size_t n, const lt_format *f, uint64_t *valid)
{
    lt_parser *ps = lt_parser_new(f);
    lt_limits lim = {LT_DEFAULT_EXACT_CLIENTS_BYTES, LT_DEFAULT_URL_ENTRIES, 0, {0}, 0};
    lt_tally *t = st == TALLY ? lt_tally_new(&lim) : NULL;
    lt_record rec;
    size_t lines = 0;

    for (const char *p = text, *end = text + n; p < end; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        if (st == PARSE)
            *valid += lt_parse_line(ps, p, len, &rec) == LT_PARSE_OK;
        else if (st == TALLY && len <= LT_LINE_MAX)
            *valid += lt_tally_line(t, ps, p, len, 0, lines + 1) == LT_PARSE_OK;
        p += len + 1;
    }
    lt_tally_free(t);
    lt_parser_free(ps);
    return lines;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *format = "combined";
    int reps = 5;
    char err[256];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            path = argv[i];
    }
    if (path == NULL || reps < 1) {
        fprintf(stderr, "usage: hotpath FILE [--format F] [--reps N]\n");
        return 2;
    }
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
        fprintf(stderr, "hotpath: %s: %s\n", path, fd < 0 ? strerror(errno) : "empty or unreadable");
        return 1;
    }
    size_t n = (size_t)st.st_size;
    const char *text = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (text == MAP_FAILED) {
        fprintf(stderr, "hotpath: mmap: %s\n", strerror(errno));
        return 1;
    }
    lt_format *f = lt_format_new(format, err, sizeof(err));
    if (f == NULL) {
        fprintf(stderr, "hotpath: --format: %s\n", err);
        return 2;
    }

    static const char *const names[] = {"scan", "split", "parse", "tally"};
    printf("%-6s %10s %10s %10s\n", "stage", "ns/line", "MB/s", "lines");
    for (int s = SCAN; s <= TALLY; s++) {
        double best = 1e30;
        size_t lines = 0;
        uint64_t valid = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            lines = s == SCAN ? run_scan(fd, n) : run((enum stage)s, text, n, f, &valid);
            double dt = now() - t0;
            if (dt < best)
                best = dt;
        }
        printf("%-6s %10.1f %10.0f %10zu\n", names[s], best * 1e9 / (double)lines,
               (double)n / best / 1e6, lines);
    }
    lt_format_free(f);
    return 0;
}
