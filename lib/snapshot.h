/* snapshot.h -- a tally, and the positions in the files it came from, as bytes.
 *
 * One format serves the daemon's checkpoints, GET /v1/snapshot, `logtally
 * analyze --save` and `logtally merge`.  See snapshot.c for the layout. */
#ifndef LT_SNAPSHOT_H
#define LT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tally.h"

#define LT_SNAPSHOT_MAGIC "LOGTALLY"
#define LT_SNAPSHOT_VERSION 4   /* 1 (no time buckets), 2 (no response times per bucket) and
                                   3 (no clients per virtual host) still read */

/* Where reading stood in one file (checkpoints only). */
typedef struct lt_snapshot_source {
    char *path;
    uint64_t dev, ino;
    uint64_t offset;          /* first byte not counted */
    uint64_t size;
    uint64_t lines, malformed, truncations, rotations;
    uint32_t fp_len;          /* fingerprint of the file's start (lib/follow.h) */
    uint64_t fp_hash;
    int done;                 /* 0 being read, 1 done (finished, or a .gz read whole),
                                 2 a ghost: an earlier content (lib/registry.h) */
} lt_snapshot_source;

/* Appends the snapshot of t (and of n_sources positions, 0 for none) to
 * out.  Equal tallies give equal bytes: sets and tables are written in
 * sorted order.  created is stored as given (epoch seconds).  Returns 0 or
 * -ENOMEM. */
int lt_snapshot_write(lt_buf *out, const lt_tally *t, const lt_snapshot_source *sources,
                      size_t n_sources, int64_t created);

/* Reads a snapshot of len bytes: every length, count and checksum is
 * checked before use, and every value against what the structures allow.
 * On success returns 0 with a new tally in *out and, when sources is not
 * NULL, the positions in *sources / *n_sources (free them with
 * lt_snapshot_sources_free).  limits, when not NULL, replace the snapshot's
 * own (a merge into a bigger budget); otherwise the snapshot's are used.
 * On error returns -EINVAL (or -ENOMEM) with a message saying what is wrong
 * and at which byte offset, and nothing is allocated. */
int lt_snapshot_read(const void *data, size_t len, const lt_limits *limits, lt_tally **out,
                     lt_snapshot_source **sources, size_t *n_sources, char *err, size_t errlen);

void lt_snapshot_sources_free(lt_snapshot_source *s, size_t n);

/* Writes a snapshot to path so that a crash leaves either the old file or
 * the new one, never a mix: the bytes go to "path.tmp", which is fsynced,
 * renamed over path, and the directory fsynced.  Returns 0 or a negative
 * errno with a message naming the file. */
int lt_snapshot_save(const char *path, const lt_tally *t, const lt_snapshot_source *sources,
                     size_t n_sources, int64_t created, char *err, size_t errlen);

/* The same for bytes already serialized (a checkpoint taken on one thread
 * and written on another). */
int lt_snapshot_save_bytes(const char *path, const void *data, size_t len, char *err,
                           size_t errlen);

/* Reads the whole file at path (at most max_bytes) into *data / *len
 * (free() it).  Returns 0 or a negative errno with a message naming the
 * file. */
int lt_snapshot_slurp(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                      size_t errlen);

#endif
