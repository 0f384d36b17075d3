/* gz.h -- rotated logs compressed with gzip, read once through zlib. */
#ifndef LT_GZ_H
#define LT_GZ_H

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

#endif
