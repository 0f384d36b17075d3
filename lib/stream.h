/* stream.h -- lines from a byte stream that can only be read forward. */
#ifndef LT_STREAM_H
#define LT_STREAM_H

#include <stddef.h>
#include <sys/types.h>

#include "scan.h"

/* Reads up to cap bytes into buf; returns the count, 0 at the end, or a
 * negative errno with a message in err. */
typedef ssize_t (*lt_read_fn)(void *src, char *buf, size_t cap, char *err, size_t errlen);

/* Reads the whole stream through rd and calls fn for each line, exactly as
 * lt_scan_fd() does for a mapped file read with `final` set: lines without
 * their '\n', a line longer than LT_LINE_MAX passed once by its head with
 * overlong set and the rest skipped, a last line without '\n' counted.
 * Returns 0, fn's non-zero value, or rd's negative errno (message in err).
 * Memory: one buffer of twice LT_LINE_MAX. */
int lt_stream_lines(lt_read_fn rd, void *src, lt_line_fn fn, void *arg, char *err, size_t errlen);

#endif
