/* scan.c -- reading a file's lines through a sliding mmap window.
 *
 * A file is never mapped whole: a window of LT_SCAN_WINDOW bytes, starting
 * at the page that holds the first unread byte, is mapped, advised
 * sequential, walked line by line with memchr, and unmapped before the next
 * one.  Resident memory therefore stays at about one window per reader
 * whatever the file's size (the page cache keeps the data; our mapping
 * does not pin it).
 *
 *   file:    |....line....\n....line....\n..partial|...rest\n|
 *   window:  [map_start                    map_end)
 *                                           ^ next window starts at the page
 *                                             holding the partial line
 *
 * A line that straddles the window's end is re-read in the next window,
 * which starts at its page.  A line longer than LT_LINE_MAX is reported
 * once with its head, then skipped to its '\n' window by window, however
 * long it is (pos->skipping carries that across calls while following a
 * file).  The bytes after the last '\n' form a line only at the end of a
 * file read once (`final`); a followed file keeps them until the writer
 * finishes the line.
 *
 * Lines are handed to the caller one at a time (lt_scan_fd()) or in
 * batches of up to LT_SCAN_BATCH (lt_scan_fd_lines()), so that a counter
 * can overlap the cache misses of neighbouring lines; a batch never spans
 * two windows, since its bytes live in the mapping.
 */
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parse.h"

_Static_assert(LT_SCAN_WINDOW > LT_LINE_MAX + 65536, "a window must hold the longest line");

static void set_err(char *err, size_t errlen, const char *op, int e)
{
    if (errlen > 0)
        snprintf(err, errlen, "%s: %s", op, strerror(e));
}

int lt_cut_lines(const char *buf, size_t n, size_t searched, int last, int *skipping,
                 lt_line_fn fn, void *arg, size_t *used)
{
    size_t start = 0;
    int rc = 0;
    const char *nl;

    if (searched > n)
        searched = n;
    while ((nl = memchr(buf + (start ? start : searched), '\n',
                        n - (start ? start : searched))) != NULL) {
        size_t len = (size_t)(nl - (buf + start));
        if (*skipping)
            *skipping = 0;    /* the rest of an overlong line ends here */
        else
            rc = len > LT_LINE_MAX ? fn(arg, buf + start, LT_SCAN_HEAD, 1)
                                   : fn(arg, buf + start, len, 0);
        start += len + 1;
        if (rc != 0)
            goto out;
    }
    size_t rest = n - start;
    if (*skipping) {
        /* No '\n' yet: all of it belongs to the line being dropped. */
        *skipping = !last;
        start = n;
    } else if (rest > 0 && (last || rest > LT_LINE_MAX)) {
        /* A final partial line, or one too long to wait for: pass it on
         * now (its head), and drop what is left of it. */
        int overlong = rest > LT_LINE_MAX;
        rc = fn(arg, buf + start, overlong ? LT_SCAN_HEAD : rest, overlong);
        *skipping = overlong && !last;
        start = n;
    }
out:
    *used = start;
    return rc;
}

int lt_batch_flush(lt_batch *b)
{
    size_t n = b->n;
    b->n = 0;
    return n == 0 ? 0 : b->fn(b->arg, b->lines, n);
}

int lt_batch_line(void *batch, const char *text, size_t len, int overlong)
{
    lt_batch *b = batch;
    b->lines[b->n++] = (lt_line){text, len, overlong};
    return b->n == b->max ? lt_batch_flush(b) : 0;
}

/* The window walk behind lt_scan_fd() (batches of one line) and
 * lt_scan_fd_lines(). */
static int scan(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_batch *b, char *err,
                size_t errlen)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

    while (pos->offset < to) {
        uint64_t map_start = pos->offset & ~(page - 1);
        uint64_t map_len = to - map_start < LT_SCAN_WINDOW ? to - map_start : LT_SCAN_WINDOW;
        int at_end = map_start + map_len == to;
        char *map = mmap(NULL, (size_t)map_len, PROT_READ, MAP_PRIVATE, fd, (off_t)map_start);
        if (map == MAP_FAILED) {
            int e = errno;
            set_err(err, errlen, "mmap", e);
            return -e;
        }
        (void)madvise(map, (size_t)map_len, MADV_SEQUENTIAL);
        /* From a cold cache, faulting the window in page by page leaves
         * the disk idle while the lines are counted: ask for the next
         * window now, so that it is read meanwhile. */
        if (!at_end) {
            uint64_t ahead = to - (map_start + map_len);
            (void)posix_fadvise(fd, (off_t)(map_start + map_len),
                                (off_t)(ahead < LT_SCAN_WINDOW ? ahead : LT_SCAN_WINDOW),
                                POSIX_FADV_WILLNEED);
        }

        size_t from = (size_t)(pos->offset - map_start), used;
        int rc = lt_cut_lines(map + from, (size_t)map_len - from, 0, at_end && final,
                              &pos->skipping, lt_batch_line, b, &used);
        if (rc == 0)
            rc = lt_batch_flush(b);    /* the lines point into the window */
        b->n = 0;
        const char *p = map + from + used;
        uint64_t next = map_start + (uint64_t)(p - map);
        munmap(map, (size_t)map_len);
        int progressed = next > pos->offset;
        pos->offset = next;
        if (rc != 0)
            return rc;
        if (!progressed || at_end)
            break;
    }
    /* A final overlong line without '\n' ends with the file. */
    if (final && pos->offset >= to)
        pos->skipping = 0;
    return 0;
}

struct one_by_one {
    lt_line_fn fn;
    void *arg;
};

static int each_line(void *arg, const lt_line *lines, size_t n)
{
    const struct one_by_one *o = arg;
    (void)n;    /* always 1 */
    return o->fn(o->arg, lines[0].text, lines[0].len, lines[0].overlong);
}

int lt_scan_fd(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_line_fn fn, void *arg,
               char *err, size_t errlen)
{
    struct one_by_one o = {fn, arg};
    lt_batch b = {.max = 1, .fn = each_line, .arg = &o};
    return scan(fd, pos, to, final, &b, err, errlen);
}

int lt_scan_fd_lines(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_lines_fn fn, void *arg,
                     char *err, size_t errlen)
{
    lt_batch b = {.max = LT_SCAN_BATCH, .fn = fn, .arg = arg};
    return scan(fd, pos, to, final, &b, err, errlen);
}

int lt_scan_pread_lines(int fd, lt_scan_pos *pos, uint64_t to, int final, uint64_t max_bytes,
                        int *more, lt_lines_fn fn, void *arg, char *err, size_t errlen)
{
    lt_batch b = {.max = LT_SCAN_BATCH, .fn = fn, .arg = arg};
    uint64_t consumed = 0;
    int rc = 0;

    *more = 0;
    char *buf = malloc(LT_SCAN_PREAD_BUF);
    if (buf == NULL) {
        set_err(err, errlen, "read", ENOMEM);
        return -ENOMEM;
    }
    while (pos->offset < to) {
        if (consumed >= max_bytes) {
            *more = 1;
            break;
        }
        uint64_t want = to - pos->offset;
        size_t n = want < LT_SCAN_PREAD_BUF ? (size_t)want : LT_SCAN_PREAD_BUF;
        ssize_t got = pread(fd, buf, n, (off_t)pos->offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            set_err(err, errlen, "read", -rc);
            break;
        }
        if (got == 0)
            break;    /* truncated since: the caller's next look sees it */
        int at_end = pos->offset + (uint64_t)got >= to;
        size_t used;
        rc = lt_cut_lines(buf, (size_t)got, 0, final && at_end, &pos->skipping, lt_batch_line,
                          &b, &used);
        if (rc == 0)
            rc = lt_batch_flush(&b);    /* the lines point into buf */
        b.n = 0;
        pos->offset += used;
        consumed += used;
        if (rc != 0 || used == 0)
            break;    /* fn stopped, or only a partial line: wait for its '\n' */
    }
    if (rc == 0 && final && pos->offset >= to)
        pos->skipping = 0;
    free(buf);
    return rc;
}

uint64_t lt_plan_piece(uint64_t left, uint64_t max, uint64_t min, unsigned n)
{
    uint64_t share = left / (2 * (uint64_t)(n ? n : 1)), piece = max;
    if (share < max)
        piece = share > min ? share : min;
    return piece < left ? piece : left;
}

int lt_scan_line_start(int fd, uint64_t off, uint64_t size, uint64_t *out)
{
    char buf[4096];

    for (;;) {
        if (off >= size) {
            *out = size;
            return 0;
        }
        /* Never past size: a file that grows meanwhile must not move a
         * cut that another reader already made at size. */
        size_t want = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0) {
            *out = size;
            return 0;
        }
        const char *nl = memchr(buf, '\n', (size_t)got);
        if (nl != NULL) {
            *out = off + (uint64_t)(nl - buf) + 1;
            return 0;
        }
        off += (uint64_t)got;
    }
}
