/* ingest.c -- reading whole files, or ranges of followed ones, into a tally, on all cores.
 *
 * A large regular file is cut into chunks of about `chunk` bytes (smaller
 * towards the end, so the workers finish together) that start at line
 * starts (lt_scan_line_start: both neighbours of a cut find the same
 * line).  Workers claim chunks in file order, count each into a
 * fresh partial tally with their own parser (the timestamp cache is per
 * thread), and hand it back; partial tallies are merged into the caller's
 * tally strictly in file order by whichever worker finds the next one
 * ready, so the result, samples included, is the one a single reader gets
 * as long as the exact tables fit their limits (sets union, HLL registers
 * max, URL counts and seconds add).  Line numbers of samples are fixed up
 * at the merge, when the lines of every earlier chunk are known.
 *
 *   file:    |  chunk 0  |  chunk 1  |  chunk 2  |  chunk 3  | ...
 *   workers:    A           B           A (ahead)   waits: at most `slots`
 *   merged:  t <- 0 <- 1 <- ...                     chunks out at once
 *
 * The IPv4 client set is not partial: every worker adds to the caller's
 * set at once (lt_tally_share_clients(), a compare-and-swap per new
 * address; see "Shared mode" in ip4set.c), so its addresses, most of the
 * distinct keys of most logs, are added once and never merged.  Measured
 * on this project's 2-core machine, a 5 M-line combined log (887 MB) with
 * 1.58 M distinct clients and 200 K URLs, page-cached, `analyze --json`:
 *
 *                                       1 thread        2 threads
 *   partial IPv4 set per chunk, merged  1.09 s CPU      1.41 s CPU, 30 % in
 *   (before)                                            lt_ip4set_merge
 *   one shared IPv4 set (now)           1.10 s CPU      1.03-1.17 s CPU,
 *                                       1.11 s wall     0.69-0.72 s wall
 *
 * so the total work no longer grows with the thread count for the IPv4
 * set.  The URL table is not partial either: each worker counts the URLs
 * of all its chunks into one table of its own, which a chunk's partial
 * tally borrows (lt_tally_borrow_urls()), and hands it over to be merged
 * once it holds URLS_HANDOVER_BYTES or half the URL limit (so it stays
 * exact while the result can be), and at the end; the first table merged
 * into an empty one becomes it.  A URL seen in many chunks is then merged
 * once per handover instead of once per chunk: on a log with 2.85 M
 * clients and 390 K distinct URLs, a 32 MiB chunk holds about 120 K of
 * them, and their merges, one chunk at a time, cost about half of reading
 * the chunk, so 2 threads were no faster than one.  Same sitting, medians
 * of 5 runs, CPU seconds (wall) of `analyze --json`:
 *
 *                            1 thread        2 threads
 *   138 K clients, 100 K URLs
 *     a URL table per chunk  1.57 (1.59 s)   1.84 (0.95 s)
 *     a table per worker     1.52 (1.54 s)   1.68 (0.88 s)
 *   2.85 M clients, 390 K URLs
 *     a URL table per chunk  2.33 (2.36 s)   2.61 (1.42 s)
 *     a table per worker     2.27 (2.29 s)   2.46 (1.37 s)
 *
 * What still grows with the threads is the IPv6 and hostname sets'
 * merges (about 6 % of the cycles at 2.85 M clients: their keys are
 * variable-length, so they stay partial, and most are new to each chunk),
 * the contention on the shared IPv4 set's cache lines, and the last
 * worker table's merge, which runs alone.  Options measured and
 * left: partitioning the URL and client tables by key between workers
 * would add a hand-over of every record between threads; per-thread
 * whole-file tallies would hold the tables once per thread, when the
 * limits are the process's, not a thread's; and larger chunks (64, 128 MiB) did not
 * lower the CPU time.  With --url-entries 100000 on the same log, where
 * the URL table turns Space-Saving, 2 threads went from 3.98 s to 0.87 s
 * (urls.c's merge is now weighted Space-Saving updates, no sort).
 *
 * Memory: the caller's tally stays within its limits (the shared IPv4 set
 * is its own, counted once against exact_clients_bytes), at most
 * 2 x threads partial tallies exist at once, each holding one chunk's
 * worth of seconds and other clients, and each worker's URL table at most
 * URLS_HANDOVER_BYTES and one chunk's URLs, or waits for its merge (it is
 * counted with the chunk that handed it over); so the peak is the limits
 * plus a constant per thread, whatever the file's size.
 *
 * Past the URL limit the tables are Space-Saving, and which chunks share
 * a worker's table depends on the threads' timing: the top URLs then stay
 * within their stated error bound, but may differ from run to run.  While
 * the tables are exact, any thread count gives the single reader's result.  (Whole-range
 * partial tallies would each grow to the limits; they are slower too: a
 * table that starts empty for each chunk stays small and in cache, which
 * pays for its merge.)
 *
 * Lines come from the mapped windows in batches (lt_scan_fd_lines()) and
 * each batch is counted by lt_tally_lines(), which overlaps the table
 * lookups of the batch's lines.
 *
 * The daemon reads a followed file's backlog the same way
 * (lt_ingest_range_read()): a range of an open file, by pread() into a
 * buffer per worker instead of mapped windows, since another program may
 * truncate the file meanwhile (a mapped page past the new end raises
 * SIGBUS).  Only the last chunk may end early (at a partial line that the
 * writer has not finished); a chunk before it that ends early means the
 * file was cut short while it was read, and since the shared IPv4 set then
 * holds addresses of lines that will be read again, the whole range is
 * dropped (cut_short) for the follower to start over.  On the benchmark
 * log above, page-cached, the pread workers were no slower than the
 * mapped ones (0.63 s against 0.75-0.81 s on 2 threads, without windows).
 *
 * One thread, or a small file, counts straight into the caller's tally.
 * Streams (pipes, /dev/stdin) cannot be mapped or split: they are read
 * sequentially by one thread (lt_stream_lines).
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
#include "stream.h"

#define MAX_THREADS 64
#define MIN_CHUNK ((uint64_t)1 << 20)
/* A worker's URL table is handed over to be merged once it holds this
 * many bytes, or half the URL limit's entries (so that it stays exact). */
#define URLS_HANDOVER_BYTES ((size_t)32 << 20)

/* Where a chunk's read ended. */
struct chunk_end {
    uint64_t consumed;        /* bytes of whole lines counted */
    int whole;                /* read to its end, not inside an overlong line */
    int at_end;               /* its end is the range's: it may end early */
    int empty;                /* it starts where it ends (inside a long line) */
    int skipping;             /* ended inside an overlong line */
};

/* A chunk's partial tally, waiting for its turn to be merged. */
struct piece {
    lt_tally *delta;          /* NULL for an empty chunk */
    uint64_t lines;
    size_t bytes;
    struct chunk_end end;
    int ready;
};

/* What the workers share; the fields below `mu` are guarded by it. */
struct job {
    lt_tally *t;
    int fd;
    int use_pread;            /* a followed file: pread, never a mapping */
    int final;                /* the bytes after the last '\n' at size are a line */
    uint64_t end;             /* the range ends here, at size or before it */
    uint64_t size, nchunks;
    uint64_t *cuts;           /* chunk k is [cuts[k], cuts[k + 1]) before
                                 moving each inner cut to a line start */
    uint32_t source;
    unsigned nslots;
    struct piece slots[2 * MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next;            /* the next chunk to claim */
    uint64_t merged;          /* chunks merged into t */
    uint64_t lines;           /* lines of the merged chunks */
    uint64_t consumed;        /* their bytes of whole lines */
    int skipping;             /* the last merged chunk ended inside an overlong line */
    int cut_short;            /* a chunk before the last one ended early */
    int merging;              /* a worker is merging (outside the lock) */
    lt_urls *handed[4 * MAX_THREADS]; /* workers' full URL tables, to merge */
    unsigned nhanded;
    size_t waiting_bytes;     /* held by ready partial tallies */
    lt_ingest_stats stats;
    int rc;
    char err[256];
};

struct worker {
    struct job *j;
    unsigned index;           /* the worker's reader of the shared set */
    lt_tally *tally;
    lt_urls *urls;            /* the URLs of every chunk since the last handover */
    lt_parser *parser;
    uint32_t source;
    uint64_t lineno;          /* lines seen in the current chunk or stream */
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

/* Counts a batch of lines from a mapped window (see lt_tally_lines()). */
static int count_lines(void *arg, const lt_line *lines, size_t n)
{
    struct worker *w = arg;
    int rc = lt_tally_lines(w->tally, w->parser, lines, n, w->source, w->lineno + 1);
    w->lineno += n;
    return rc;
}

static ssize_t read_fd(void *src, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = *(int *)src;
    for (;;) {
        ssize_t got = read(fd, buf, cap);
        if (got >= 0)
            return got;
        if (errno != EINTR) {
            int e = errno;
            snprintf(err, errlen, "read: %s", strerror(e));
            return -e;
        }
    }
}

/* Counts chunk k into a new partial tally, w->tally, and says in *p how
 * much of it was read. */
static int read_chunk(struct worker *w, uint64_t k, struct chunk_end *p)
{
    struct job *j = w->j;
    uint64_t from = j->cuts[0], to = j->end;
    int rc;

    w->tally = NULL;
    w->lineno = 0;
    *p = (struct chunk_end){.whole = 1};
    /* Every cut inside the range moves to a line start: both neighbours
     * of a cut find the same one. */
    if ((k > 0 && (rc = lt_scan_line_start(j->fd, j->cuts[k], j->size, &from)) < 0) ||
        (k + 1 < j->nchunks &&
         (rc = lt_scan_line_start(j->fd, j->cuts[k + 1], j->size, &to)) < 0)) {
        snprintf(w->err, sizeof(w->err), "read: %s", strerror(-rc));
        return rc;
    }
    /* The cuts near the end of the range may all move to its end (a long
     * last line): the chunk that reaches it is the one that may stop at a
     * partial line. */
    p->at_end = to >= j->end;
    p->empty = from >= to;
    if (from >= to)
        return 0;    /* inside a line longer than the chunk */
    const lt_limits *lim = lt_tally_limits(j->t);
    if (w->urls == NULL &&
        (w->urls = lt_urls_new(lim->url_entries > 0 ? lim->url_entries : 1)) == NULL)
        return -ENOMEM;
    if ((w->tally = lt_tally_new(lim)) == NULL)
        return -ENOMEM;
    lt_tally_borrow_clients(w->tally, j->t, w->index);
    lt_tally_borrow_urls(w->tally, w->urls);
    lt_scan_pos pos = {from, 0};
    int final = to >= j->size && j->final, more;
    if (j->use_pread)
        rc = lt_scan_pread_lines(j->fd, &pos, to, final, UINT64_MAX, &more, count_lines, w,
                                 w->err, sizeof(w->err));
    else
        rc = lt_scan_fd_lines(j->fd, &pos, to, final, count_lines, w, w->err, sizeof(w->err));
    p->consumed = pos.offset - from;
    p->skipping = pos.skipping;
    p->whole = pos.offset == to && !pos.skipping;
    /* The worker's table may be handed over and freed before this partial
     * is merged: the partial keeps no pointer to it. */
    lt_tally_borrow_urls(w->tally, NULL);
    return rc;
}

static void fail(struct job *j, int rc, const char *err)
{
    if (j->rc == 0) {
        j->rc = rc;
        snprintf(j->err, sizeof(j->err), "%s",
                 err[0] ? err : rc == -ENOMEM ? "out of memory while counting" : strerror(-rc));
    }
    pthread_cond_broadcast(&j->cv);
}

/* Merges the ready chunks that come next in file order.  Called with the
 * lock held; one worker merges at a time, the others go on reading. */
static void merge_ready(struct job *j)
{
    if (j->merging)
        return;
    j->merging = 1;
    for (;;) {
        while (j->rc == 0 && j->nhanded > 0) {
            lt_urls *u = j->handed[--j->nhanded];
            pthread_mutex_unlock(&j->mu);
            int rc = lt_tally_merge_urls(j->t, u);
            pthread_mutex_lock(&j->mu);
            if (rc < 0)
                fail(j, rc, "out of memory while merging");
        }
        if (j->rc != 0 || j->merged >= j->nchunks || !j->slots[j->merged % j->nslots].ready)
            break;
        struct piece *p = &j->slots[j->merged % j->nslots];
        if (!p->end.whole && !p->end.at_end) {
            /* Only the chunk that reaches the range's end may end early
             * (at a partial line): the file was cut short while it was
             * read. */
            j->cut_short = 1;
            fail(j, -EAGAIN, "the file shrank while it was read");
            break;
        }
        int rc = 0;
        pthread_mutex_unlock(&j->mu);
        if (p->delta != NULL) {
            lt_tally_shift_lines(p->delta, j->source, j->lines);
            rc = lt_tally_absorb(j->t, p->delta);
            lt_tally_free(p->delta);
        }
        pthread_mutex_lock(&j->mu);
        p->delta = NULL;
        p->ready = 0;
        j->lines += p->lines;
        j->consumed += p->end.consumed;
        if (!p->end.empty)
            j->skipping = p->end.skipping;
        j->waiting_bytes -= p->bytes;
        j->merged++;
        if (rc < 0)
            fail(j, rc, "out of memory while merging");
        pthread_cond_broadcast(&j->cv);
    }
    j->merging = 0;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct job *j = w->j;

    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->rc == 0 && j->next < j->nchunks && j->next - j->merged >= j->nslots)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->rc != 0 || j->next >= j->nchunks)
            break;
        uint64_t k = j->next++;
        pthread_mutex_unlock(&j->mu);

        w->err[0] = '\0';
        struct chunk_end got;
        int rc = read_chunk(w, k, &got);
        size_t bytes = w->tally ? lt_tally_bytes(w->tally) : 0;

        pthread_mutex_lock(&j->mu);
        if (rc != 0) {
            lt_tally_free(w->tally);
            fail(j, rc < 0 ? rc : -EIO, w->err);
            break;
        }
        struct piece *p = &j->slots[k % j->nslots];
        p->end = got;
        p->delta = w->tally;
        p->lines = w->lineno;
        p->bytes = bytes;
        p->ready = 1;
        if (w->urls != NULL) {
            size_t half = lt_tally_limits(j->t)->url_entries / 2;
            if ((lt_urls_bytes(w->urls) >= URLS_HANDOVER_BYTES || lt_urls_size(w->urls) >= half) &&
                j->nhanded < sizeof(j->handed) / sizeof(j->handed[0])) {
                j->handed[j->nhanded++] = w->urls;
                j->stats.url_handovers++;
                p->bytes += lt_urls_bytes(w->urls);    /* waiting too, until merged */
                bytes = p->bytes;
                w->urls = NULL;
            }
        }
        j->waiting_bytes += bytes;
        if (j->waiting_bytes > j->stats.peak_partial_bytes)
            j->stats.peak_partial_bytes = j->waiting_bytes;
        merge_ready(j);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Cuts [from, to) into chunks of `chunk` bytes, smaller towards the end
 * (lt_plan_piece(), down to MIN_CHUNK), so the workers finish together
 * instead of one reading the last big chunk alone.  Returns the array of
 * nchunks + 1 offsets, or NULL when out of memory. */
static uint64_t *cut_chunks(uint64_t from, uint64_t to, uint64_t chunk, unsigned n,
                            uint64_t *nchunks)
{
    uint64_t count = 0, cap = (to - from) / chunk + 2 * n * 16 + 2, pos = from;
    uint64_t least = chunk < MIN_CHUNK ? chunk : MIN_CHUNK;
    uint64_t *cuts = malloc(cap * sizeof(*cuts));
    if (cuts == NULL)
        return NULL;
    cuts[count++] = from;
    while (pos < to && count + 1 < cap) {
        pos += lt_plan_piece(to - pos, chunk, least, n);
        cuts[count++] = pos;
    }
    cuts[count - 1] = to;
    *nchunks = count - 1;
    return cuts;
}

/* Reads r's range of a regular file with n workers (this thread one of
 * them), by pread() when use_pread is set, through mapped windows if not. */
static int read_parallel(lt_tally *t, lt_ingest_range *r, int use_pread, uint32_t source,
                         const lt_format *f, unsigned n, uint64_t chunk, lt_ingest_stats *stats,
                         char *err, size_t errlen)
{
    struct job *j = calloc(1, sizeof(*j));
    struct worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    unsigned started = 0;
    int rc;

    if (j == NULL)
        return -ENOMEM;
    j->t = t;
    j->fd = r->fd;
    j->use_pread = use_pread;
    j->final = r->final;
    j->size = r->size;
    j->end = r->to;
    if ((j->cuts = cut_chunks(r->from, r->to, chunk, n, &j->nchunks)) == NULL) {
        free(j);
        return -ENOMEM;
    }
    j->source = source;
    j->nslots = 2 * n;
    j->stats.chunks = j->nchunks;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);

    memset(w, 0, sizeof(w));
    if (lt_tally_share_clients(t, n) < 0) {
        j->rc = -ENOMEM;
        snprintf(j->err, sizeof(j->err), "out of memory");
        n = 0;
    }
    for (unsigned i = 0; i < n; i++) {
        w[i].j = j;
        w[i].index = i;
        w[i].source = source;
        if ((w[i].parser = lt_parser_new(f)) == NULL) {
            n = i;
            j->rc = -ENOMEM;
            snprintf(j->err, sizeof(j->err), "out of memory");
            break;
        }
    }
    if (j->rc == 0) {
        for (started = 1; started < n; started++)
            if (pthread_create(&tid[started], NULL, run_worker, &w[started]) != 0)
                break;
        run_worker(&w[0]);    /* fewer threads than asked if some did not start */
        for (unsigned i = 1; i < started; i++)
            pthread_join(tid[i], NULL);
    }
    /* What the workers counted since their last handover, in worker order
     * (while exact, the sums are the same in any order). */
    pthread_mutex_lock(&j->mu);
    merge_ready(j);
    pthread_mutex_unlock(&j->mu);
    for (unsigned i = 0; i < n; i++) {
        if (j->rc != 0)
            lt_urls_free(w[i].urls);
        else if (w[i].urls != NULL && lt_tally_merge_urls(t, w[i].urls) < 0)
            fail(j, -ENOMEM, "out of memory while merging");
    }
    while (j->nhanded > 0)
        lt_urls_free(j->handed[--j->nhanded]);    /* left by a failure */
    for (unsigned s = 0; s < j->nslots; s++)
        lt_tally_free(j->slots[s].delta);    /* left by a failure */
    lt_tally_unshare_clients(t);
    for (unsigned i = 0; i < n; i++)
        lt_parser_free(w[i].parser);
    rc = j->rc;
    r->consumed = j->consumed;
    r->lines = j->lines;
    r->skipping = j->skipping;
    r->cut_short = j->cut_short;
    if (j->cut_short)
        rc = 0;    /* not an error: the caller starts over where the file now ends */
    else if (rc != 0)
        snprintf(err, errlen, "%s", j->err);
    if (stats != NULL)
        *stats = j->stats;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j->cuts);
    free(j);
    return rc;
}

int lt_ingest_chunked(lt_tally *t, const char *path, uint32_t source, const lt_format *f,
                      unsigned threads, uint64_t chunk, lt_ingest_stats *stats, char *err,
                      size_t errlen)
{
    struct worker w = {.tally = t, .source = source};
    struct stat st;
    char why[256] = "";
    int rc = 0;

    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        close(fd);
        return -EISDIR;
    }

    uint64_t size = (uint64_t)st.st_size;
    if (chunk < 1)
        chunk = LT_INGEST_CHUNK;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > (size + chunk - 1) / chunk)
        threads = (unsigned)((size + chunk - 1) / chunk);
    if (S_ISREG(st.st_mode) && threads > 1 && size >= LT_INGEST_SPLIT_MIN) {
        lt_ingest_range r = {.fd = fd, .from = 0, .to = size, .size = size, .final = 1};
        rc = read_parallel(t, &r, 0, source, f, threads, chunk, stats, why, sizeof(why));
    } else if ((w.parser = lt_parser_new(f)) == NULL) {
        rc = -ENOMEM;
    } else if (S_ISREG(st.st_mode)) {
        lt_scan_pos pos = {0, 0};
        rc = lt_scan_fd_lines(fd, &pos, size, 1, count_lines, &w, why, sizeof(why));
        if (stats != NULL)
            stats->chunks = 1;
    } else {
        rc = lt_stream_lines(read_fd, &fd, count_line, &w, why, sizeof(why));
    }
    if (rc != 0) {
        if (rc > 0)
            rc = -EIO;
        snprintf(err, errlen, "%s: %s", path,
                 why[0] ? why : rc == -ENOMEM ? "out of memory while counting" : strerror(-rc));
    }
    lt_parser_free(w.parser);
    close(fd);
    return rc;
}

int lt_ingest_range_read(lt_tally *t, lt_ingest_range *r, uint32_t source, const lt_format *f,
                         unsigned threads, char *err, size_t errlen)
{
    char why[256] = "";
    uint64_t malformed = lt_tally_counters(t)->malformed;

    r->consumed = r->lines = r->malformed = 0;
    r->skipping = r->cut_short = 0;
    if (r->to > r->size || r->from > r->to) {
        snprintf(err, errlen, "a range past the file's size");
        return -EINVAL;
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    int rc = 0;
    if (r->to < r->size && (rc = lt_scan_line_start(r->fd, r->to, r->size, &r->to)) < 0) {
        snprintf(err, errlen, "read: %s", strerror(-rc));
        return rc;
    }
    if (r->to <= r->from) {
        /* inside a line longer than the range: nothing whole to count */
    } else if (threads > 1) {
        rc = read_parallel(t, r, 1, source, f, threads, LT_INGEST_CHUNK, NULL, why, sizeof(why));
    } else {
        /* One reader counts straight into t; a file cut short ends its
         * read early, at a line start, which is not an error. */
        struct worker w = {.tally = t, .source = source};
        lt_scan_pos pos = {r->from, 0};
        int more;
        if ((w.parser = lt_parser_new(f)) == NULL)
            rc = -ENOMEM;
        else
            rc = lt_scan_pread_lines(r->fd, &pos, r->to, r->final && r->to >= r->size,
                                     UINT64_MAX, &more, count_lines, &w, why, sizeof(why));
        lt_parser_free(w.parser);
        r->consumed = pos.offset - r->from;
        r->lines = w.lineno;
        r->skipping = pos.skipping;
    }
    if (rc != 0)
        snprintf(err, errlen, "%s", why[0] ? why : strerror(-rc));
    if (r->cut_short)
        r->consumed = r->lines = 0;
    else
        r->malformed = lt_tally_counters(t)->malformed - malformed;
    return rc;
}

int lt_ingest_path(lt_tally *t, const char *path, uint32_t source, const lt_format *f,
                   unsigned threads, char *err, size_t errlen)
{
    return lt_ingest_chunked(t, path, source, f, threads, LT_INGEST_CHUNK, NULL, err, errlen);
}
