/* ingest.c -- reading whole files into a tally, on all cores.
 *
 * A large regular file is split into `threads` ranges that start at line
 * starts (lt_scan_split); worker 0 counts its range into the caller's tally,
 * workers 1..n-1 into fresh tallies of the same limits, each with its own
 * parser (the timestamp cache is per thread).  When all are done the
 * partial tallies are merged in file order, so the result, samples
 * included, is the one a single reader would get as long as the exact
 * tables fit their limits (sets union, HLL registers max, URL counts and
 * seconds add).  Line numbers of samples are fixed up once the line count
 * of every earlier range is known.
 *
 * A worker holds its own exact tables while it runs, so during a parallel
 * read memory can reach `threads` times the configured limits; the merged
 * result is within them.
 *
 * Streams (pipes, /dev/stdin) cannot be mapped or split: they are read
 * sequentially in chunks by one thread.
 */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan.h"

#define MAX_THREADS 64
#define STREAM_CHUNK (2u * LT_LINE_MAX)

struct worker {
    lt_tally *tally;
    lt_parser *parser;
    uint32_t source;
    uint64_t lineno;          /* lines seen in this worker's range */
    int fd;
    lt_scan_pos pos;
    uint64_t to;
    int rc;
    char err[256];
};

static int count_line(void *arg, const char *line, size_t len, int overlong)
{
    struct worker *w = arg;
    w->lineno++;
    if (overlong) {
        lt_tally_overlong(w->tally, line, len, w->source, w->lineno);
        return 0;
    }
    return lt_tally_line(w->tally, w->parser, line, len, w->source, w->lineno) == -ENOMEM
               ? -ENOMEM
               : 0;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    w->rc = lt_scan_fd(w->fd, &w->pos, w->to, 1, count_line, w, w->err, sizeof(w->err));
    if (w->rc == -ENOMEM && w->err[0] == '\0')
        snprintf(w->err, sizeof(w->err), "out of memory while counting");
    return NULL;
}

/* Reads a stream that cannot be mapped, chunk by chunk; a line that
 * straddles chunks is carried over to the front of the buffer. */
static int read_stream(struct worker *w)
{
    char *buf = malloc(STREAM_CHUNK);
    size_t have = 0;
    int rc = 0, skipping = 0;

    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got = read(w->fd, buf + have, STREAM_CHUNK - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            snprintf(w->err, sizeof(w->err), "read: %s", strerror(errno));
            break;
        }
        size_t end = have + (size_t)got, start = 0;
        const char *nl;
        while ((nl = memchr(buf + start, '\n', end - start)) != NULL) {
            size_t len = (size_t)(nl - (buf + start));
            int overlong = len > LT_LINE_MAX;
            if (!skipping &&
                (rc = count_line(w, buf + start, overlong ? LT_SCAN_HEAD : len, overlong)) != 0)
                goto out;
            skipping = 0;
            start += len + 1;
        }
        if (got == 0) {
            size_t len = end - start;
            if (len > 0 && !skipping)
                rc = count_line(w, buf + start, len > LT_LINE_MAX ? LT_SCAN_HEAD : len,
                                len > LT_LINE_MAX);
            break;
        }
        if (start == 0 && end == STREAM_CHUNK) {
            /* A line longer than the buffer (twice LT_LINE_MAX): report
             * its head once and drop bytes until its '\n'. */
            if (!skipping && (rc = count_line(w, buf, LT_SCAN_HEAD, 1)) != 0)
                break;
            skipping = 1;
            have = 0;
            continue;
        }
        memmove(buf, buf + start, end - start);
        have = end - start;
    }
out:
    free(buf);
    return rc;
}

int lt_ingest_path(lt_tally *t, const char *path, uint32_t source, const lt_format *f,
                   unsigned threads, char *err, size_t errlen)
{
    struct worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    uint64_t starts[MAX_THREADS + 1];
    unsigned n = 0, started = 0;
    int rc = 0;
    struct stat st;

    memset(w, 0, sizeof(w));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        snprintf(err, errlen, "%s: is a directory", path);
        goto out;
    }

    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < LT_INGEST_SPLIT_MIN)
        threads = 1;
    n = threads;

    for (unsigned i = 0; i < n; i++) {
        w[i].tally = i == 0 ? t : lt_tally_new(lt_tally_limits(t));
        w[i].parser = lt_parser_new(f);
        w[i].source = source;
        w[i].fd = fd;
        if (w[i].tally == NULL || w[i].parser == NULL) {
            rc = -ENOMEM;
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
    }

    if (!S_ISREG(st.st_mode)) {
        rc = read_stream(&w[0]);
        if (rc != 0)
            snprintf(err, errlen, "%s: %s", path, w[0].err[0] ? w[0].err : strerror(-rc));
        goto out;
    }

    if ((rc = lt_scan_split(fd, (uint64_t)st.st_size, n, starts)) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    starts[n] = (uint64_t)st.st_size;
    for (unsigned i = 0; i < n; i++) {
        w[i].pos.offset = starts[i];
        w[i].to = starts[i + 1];
    }
    for (started = 1; started < n; started++)
        if (pthread_create(&tid[started], NULL, run_worker, &w[started]) != 0)
            break;
    /* Ranges whose thread could not start are read here, in order. */
    run_worker(&w[0]);
    for (unsigned i = started; i < n; i++)
        run_worker(&w[i]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(tid[i], NULL);

    uint64_t before = w[0].lineno;
    for (unsigned i = 0; i < n; i++) {
        if (w[i].rc != 0) {
            rc = w[i].rc < 0 ? w[i].rc : -EIO;
            snprintf(err, errlen, "%s: %s", path, w[i].err[0] ? w[i].err : strerror(-rc));
            goto out;
        }
    }
    for (unsigned i = 1; i < n; i++) {
        lt_tally_shift_lines(w[i].tally, source, before);
        before += w[i].lineno;
        if (lt_tally_merge(t, w[i].tally) < 0) {
            rc = -ENOMEM;
            snprintf(err, errlen, "%s: out of memory while merging", path);
            goto out;
        }
    }

out:
    for (unsigned i = 0; i < n; i++) {
        if (i > 0)
            lt_tally_free(w[i].tally);
        lt_parser_free(w[i].parser);
    }
    close(fd);
    return rc;
}
