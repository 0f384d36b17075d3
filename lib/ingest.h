/* ingest.h -- reading whole files into a tally, on all cores. */
#ifndef LT_INGEST_H
#define LT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "tally.h"

/* Files smaller than this are read by one thread: splitting costs more. */
#define LT_INGEST_SPLIT_MIN (4u << 20)
/* Bytes a worker counts into one partial tally before it is merged. */
#define LT_INGEST_CHUNK ((uint64_t)32 << 20)

/* Reads every line of the file at path (a regular file, mapped window by
 * window; or a pipe or other stream, read sequentially) and counts it into
 * t, with `threads` workers for a large regular file.  source labels its
 * malformed samples.  The last line counts even without its '\n'.  The
 * result is the same whatever `threads` is.  Returns 0, or a negative errno
 * with a message naming the file in err. */
int lt_ingest_path(lt_tally *t, const char *path, uint32_t source, const lt_format *f,
                   unsigned threads, char *err, size_t errlen);

typedef struct lt_ingest_stats {
    uint64_t chunks;              /* pieces the file was read in */
    size_t peak_partial_bytes;    /* most memory held at once by partial
                                     tallies waiting for their merge */
    uint64_t url_handovers;       /* workers' URL tables merged before the end */
} lt_ingest_stats;

/* lt_ingest_path() with the chunk size chosen (0: LT_INGEST_CHUNK), and
 * what the read took in *stats (may be NULL). */
int lt_ingest_chunked(lt_tally *t, const char *path, uint32_t source, const lt_format *f,
                      unsigned threads, uint64_t chunk, lt_ingest_stats *stats, char *err,
                      size_t errlen);

#endif
