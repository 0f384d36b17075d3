/* stream.c -- lines from a byte stream that can only be read forward.
 *
 * Pipes, standard input and decompressed files cannot be mapped or read at
 * an offset.  They are read into one buffer of twice LT_LINE_MAX and cut by
 * lt_cut_lines() (scan.h), the cutter of every reader: complete lines are
 * passed on, and the partial line at the end, at most LT_LINE_MAX bytes
 * (a longer one is cut short there), moves to the front before the next
 * read.
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
    size_t have = 0;    /* a partial line, searched already, at the front */
    int rc = 0, skipping = 0;

    if (buf == NULL)
        return -ENOMEM;
    for (;;) {
        ssize_t got = rd(src, buf + have, STREAM_BUF - have, err, errlen);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        size_t end = have + (size_t)got, used;
        rc = lt_cut_lines(buf, end, have, got == 0, &skipping, fn, arg, &used);
        if (rc != 0 || got == 0)
            break;
        /* What is left is a partial line of at most LT_LINE_MAX bytes, so
         * the next read always has room. */
        memmove(buf, buf + used, end - used);
        have = end - used;
    }
    free(buf);
    return rc;
}
