/* stream.c -- lines from a byte stream that can only be read forward.
 *
 * Pipes, standard input and decompressed files cannot be mapped or read at
 * an offset.  They are read into one buffer of twice LT_LINE_MAX; complete
 * lines are passed on, and the partial line at the end moves to the front
 * before the next read.  A buffer full of one line without '\n' means a
 * line longer than LT_LINE_MAX: its head is passed on once and the rest is
 * dropped up to its '\n'.
 *
 *   buf: |line\n|line\n|partial....|          after the read
 *   buf: |partial....|<- next read ->|        after the move
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define STREAM_BUF (2u * LT_LINE_MAX)

int lt_stream_lines(lt_read_fn rd, void *src, lt_line_fn fn, void *arg, char *err, size_t errlen)
{
    char *buf = malloc(STREAM_BUF);
    size_t have = 0, searched = 0;    /* buf[0, searched) holds no '\n' */
    int rc = 0, skipping = 0;

    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got = rd(src, buf + have, STREAM_BUF - have, err, errlen);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        size_t end = have + (size_t)got, start = 0;
        const char *nl;
        /* The partial line carried over was searched already: a long line
         * arriving in small reads costs linear time, not quadratic. */
        while ((nl = memchr(buf + (start ? start : searched), '\n',
                            end - (start ? start : searched))) != NULL) {
            size_t len = (size_t)(nl - (buf + start));
            int overlong = len > LT_LINE_MAX;
            if (!skipping && (rc = fn(arg, buf + start, overlong ? LT_SCAN_HEAD : len, overlong)) != 0)
                goto out;
            skipping = 0;
            start += len + 1;
        }
        if (got == 0) {
            size_t len = end - start;
            if (len > 0 && !skipping)
                rc = fn(arg, buf + start, len > LT_LINE_MAX ? LT_SCAN_HEAD : len, len > LT_LINE_MAX);
            break;
        }
        if (start == 0 && end == STREAM_BUF) {
            /* One line fills the buffer: report its head, drop the rest. */
            if (!skipping && (rc = fn(arg, buf, LT_SCAN_HEAD, 1)) != 0)
                break;
            skipping = 1;
            have = searched = 0;
            continue;
        }
        memmove(buf, buf + start, end - start);
        have = searched = end - start;
    }
out:
    free(buf);
    return rc;
}
