/* gz.h -- rotated logs compressed with gzip, read once through zlib. */
#ifndef LT_GZ_H
#define LT_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "tally.h"

/* 1 when path names a gzip file by its name ("access.log.2.gz"). */
int lt_gz_is_gz(const char *path);

/* Counts every line of the gzip file at path (concatenated members
 * included) into t with parser p; source labels malformed samples.  The
 * last line counts without its '\n'.  Returns 0, or a negative errno with
 * a message naming the file: it cannot be opened, it is not gzip, or its
 * stream is corrupt or truncated (the lines before the damage stay
 * counted).  -ENOMEM: the tally could not grow. */
int lt_gz_read(const char *path, lt_tally *t, lt_parser *p, uint32_t source, char *err,
               size_t errlen);

/* Reads up to cap decompressed bytes of the start of the gzip file open
 * as fd into buf (*got: how many; fewer when the file is shorter or damaged
 * past them).  Takes ownership of fd, reading it from its current position
 * (0 for a descriptor just opened), and closes it.  Returns 0 or a negative
 * errno with a message in err (-EINVAL: not a gzip file). */
int lt_gz_head(int fd, const char *path, unsigned char *buf, size_t cap, size_t *got, char *err,
               size_t errlen);

/* Counts the lines of the gzip file open as fd (path names it in
 * messages) that follow its first skip decompressed bytes (a line start:
 * where the file it compresses was read up to), numbering them on from
 * first_line.  *total gets the decompressed size read, *lines the lines
 * counted (either may be NULL).  Takes ownership of fd and closes it.
 * Returns as lt_gz_read(); -EIO for a truncated or corrupt stream. */
int lt_gz_count(int fd, const char *path, uint64_t skip, uint64_t first_line, lt_tally *t,
                lt_parser *p, uint32_t source, uint64_t *total, uint64_t *lines, char *err,
                size_t errlen);

#endif
