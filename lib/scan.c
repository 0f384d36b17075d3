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

/* Lines collected for the callback: handed over when max are waiting, and
 * at the end of every window, before it is unmapped. */
struct batch {
    lt_line lines[LT_SCAN_BATCH];
    size_t n, max;
    lt_lines_fn fn;
    void *arg;
};

static int flush(struct batch *b)
{
    size_t n = b->n;
    b->n = 0;
    return n == 0 ? 0 : b->fn(b->arg, b->lines, n);
}

static int emit(struct batch *b, const char *text, size_t len, int overlong)
{
    b->lines[b->n++] = (lt_line){text, len, overlong};
    return b->n == b->max ? flush(b) : 0;
}

/* The window walk behind lt_scan_fd() (batches of one line) and
 * lt_scan_fd_lines(). */
static int scan(int fd, lt_scan_pos *pos, uint64_t to, int final, struct batch *b, char *err,
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

        const char *p = map + (pos->offset - map_start), *e = map + map_len;
        int rc = 0;
        while (p < e) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            if (pos->skipping) {
                if (nl == NULL) {
                    p = e;    /* the whole rest of the window is that line */
                    break;
                }
                pos->skipping = 0;
                p = nl + 1;
                continue;
            }
            if (nl == NULL) {
                size_t len = (size_t)(e - p);
                if (len > LT_LINE_MAX) {
                    /* Too long to be a line: report its head, skip the rest. */
                    rc = emit(b, p, LT_SCAN_HEAD, 1);
                    pos->skipping = 1;
                    p = e;
                } else if (at_end && final) {
                    rc = emit(b, p, len, 0);
                    p = e;
                }
                break;    /* otherwise the partial line waits */
            }
            size_t len = (size_t)(nl - p);
            rc = len > LT_LINE_MAX ? emit(b, p, LT_SCAN_HEAD, 1) : emit(b, p, len, 0);
            p = nl + 1;
            if (rc != 0)
                break;
        }
        if (rc == 0)
            rc = flush(b);    /* the lines point into the window */
        b->n = 0;
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
    struct batch b = {.max = 1, .fn = each_line, .arg = &o};
    return scan(fd, pos, to, final, &b, err, errlen);
}

int lt_scan_fd_lines(int fd, lt_scan_pos *pos, uint64_t to, int final, lt_lines_fn fn, void *arg,
                     char *err, size_t errlen)
{
    struct batch b = {.max = LT_SCAN_BATCH, .fn = fn, .arg = arg};
    return scan(fd, pos, to, final, &b, err, errlen);
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
