/* ingest.h -- reading whole files, or ranges of followed ones, into a tally, on all cores. */
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

/* A range of an open regular file that another program may write or
 * truncate meanwhile: the daemon's backlog of a followed file. */
typedef struct lt_ingest_range {
    int fd;
    uint64_t from;            /* a line start */
    uint64_t to;              /* where to stop: size, or before it; then
                                 lt_ingest_range_read() moves it on to
                                 the next line start */
    uint64_t size;            /* the file's size when the range was planned:
                                 no cut looks past it */
    int final;                /* the bytes after the last '\n' at size are a
                                 line (the file is finished) */
    /* Set by lt_ingest_range_read(): */
    uint64_t consumed;        /* bytes of whole lines counted from `from` */
    uint64_t lines, malformed;
    int skipping;             /* ended inside an overlong line */
    int cut_short;            /* the file was cut short while it was read */
} lt_ingest_range;

/* Counts r's range into t, as lt_ingest_path() does a whole file, on
 * `threads` workers (this thread one of them), reading with pread(): a
 * file truncated meanwhile would kill a process that maps it with SIGBUS.
 * Lines are numbered from 1 at r->from.  When the file turns out shorter
 * than a cut inside the range (truncated since), r->cut_short is set,
 * nothing is consumed and t holds part of the range: the caller drops it
 * and reads the file again, which then sees the truncation.  Returns 0 or
 * a negative errno with a message in err. */
int lt_ingest_range_read(lt_tally *t, lt_ingest_range *r, uint32_t source, const lt_format *f,
                         unsigned threads, char *err, size_t errlen);

#endif
