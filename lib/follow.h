/* follow.h -- one log file being followed: new lines, truncation, rotation. */
#ifndef LT_FOLLOW_H
#define LT_FOLLOW_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "parse.h"
#include "tally.h"

typedef struct lt_follow lt_follow;

/* The content a truncation cut off: its fingerprint, and how far it had
 * been read. */
struct lt_follow_cut {
    uint32_t fp_len;
    uint64_t fp_hash;
    uint64_t offset, lines, malformed;
};

typedef struct lt_follow_info {
    const char *path;         /* owned by the follower */
    uint32_t source;          /* label of the file's malformed samples */
    int open;                 /* the file is open */
    uint64_t dev, ino;        /* of the open file */
    uint64_t offset;          /* bytes consumed: complete lines counted */
    uint64_t size;            /* size seen by the last read */
    uint64_t lines;           /* lines counted since offset 0 */
    uint64_t malformed;       /* of those, malformed */
    uint64_t truncations;     /* times the file shrank below offset (copytruncate) */
    uint32_t fp_len;          /* fingerprint: XXH64 of the file's first fp_len */
    uint64_t fp_hash;         /* bytes (up to LT_FOLLOW_FP_BYTES) */
    struct lt_follow_cut cut; /* of the last truncation (truncations > 0) */
} lt_follow_info;

/* Bytes of a file's start that identify it across renames and restarts:
 * enough to hold a log line's client and timestamp, so two logs differ. */
#define LT_FOLLOW_FP_BYTES 256

/* Returns a follower of path (not opened yet), or NULL when out of memory.
 * source labels the samples of its malformed lines. */
lt_follow *lt_follow_new(const char *path, uint32_t source);
void lt_follow_free(lt_follow *f);        /* closes the file; NULL is a no-op */

/* Opens the file when it is not open and starts at offset (0 for a new
 * file; a checkpoint's offset on restart; an offset past the end means the
 * file was truncated: the first read starts at 0 and counts a truncation).  Returns 0, or a negative
 * errno with a message naming the file in err (-ENOENT: not there yet). */
int lt_follow_open(lt_follow *f, uint64_t offset, char *err, size_t errlen);

/* The same, refusing what is not a regular file (-EINVAL, -EISDIR:
 * opened without blocking, so a FIFO never holds the caller) and, when dev
 * and ino are not 0, a file other than that one (-ESTALE: the name was
 * given to another file since it was found). */
int lt_follow_open_file(lt_follow *f, uint64_t offset, uint64_t dev, uint64_t ino, char *err,
                        size_t errlen);

/* Restores the line counters of a resumed file (a checkpoint's), so line
 * numbers and per-file counts carry on. */
void lt_follow_resume_counts(lt_follow *f, uint64_t lines, uint64_t malformed,
                             uint64_t truncations);

/* Restores the fingerprint the file had when it was last read (its
 * registry's), so that the next read sees a content that changed since
 * (a truncation refilled while it was closed) as a truncation. */
void lt_follow_resume_fingerprint(lt_follow *f, uint32_t fp_len, uint64_t fp_hash);

/* 1 when the open file starts with the fp_len bytes whose XXH64 is
 * fp_hash (the same file as a checkpoint's, whatever its name now), 0 when
 * not, a negative errno when it cannot be read. */
int lt_follow_same_start(const lt_follow *f, uint32_t fp_len, uint64_t fp_hash);

/* Counts into t, with parser p, the complete lines added since the last
 * read, up to about max_bytes; a last line without '\n' waits for it unless
 * final is set (the file is finished: rotated away, or read once).  A file
 * smaller than the offset was truncated in place: reading starts again at
 * 0; so is a file whose first bytes changed (a truncation refilled past
 * the offset between two reads).  Returns the bytes consumed (>= 0) and sets *more when bytes remain
 * past max_bytes, or returns a negative errno with a message in err
 * (-ENOMEM: the tally could not grow).  Uses pread(), not mmap: a file
 * truncated while mapped would kill the process with SIGBUS. */
int64_t lt_follow_read(lt_follow *f, lt_tally *t, lt_parser *p, uint64_t max_bytes, int final,
                       int *more, char *err, size_t errlen);

/* Reading a large backlog on several threads.  lt_follow_plan() marks out
 * the next part of the backlog; lt_follow_read_part() counts it into a
 * tally of its own on `threads` workers (lt_ingest_range_read(): the
 * engine of `analyze`, with pread()), on any thread, numbering its lines
 * from 1; then, on the follower's thread, lt_follow_advance() moves the
 * follower past it, and the caller merges the part's tally (its line
 * numbers shifted by the lines counted before it) only when advance said
 * so.  The follower must not be read in between.  A part stops at the
 * last complete line; one that found the file cut short (truncated since)
 * counts nothing, and the caller reads on with lt_follow_read(), which
 * sees the truncation.  A part is the range lt_ingest_range_read() reads:
 * the plan sets from, to and size; the read, the rest. */
typedef lt_ingest_range lt_follow_part;

/* Plans the part of the backlog from the offset, max_bytes at most (to the
 * file's size as it stands now, one fstat); returns 1, or 0 when the
 * backlog is smaller than min_bytes (not worth it), the file shrank or
 * its first bytes changed (a truncation, maybe refilled past the offset
 * since: for lt_follow_read()) or the follower is inside an overlong
 * line. */
int lt_follow_plan(const lt_follow *f, uint64_t max_bytes, uint64_t min_bytes,
                   lt_follow_part *part);

/* Counts the lines of a planned part into t (fresh: it is dropped when the
 * part is cut short) with parsers for fmt on `threads` workers.  Touches
 * only part and t.  Returns 0 or a negative errno with a message in err. */
int lt_follow_read_part(const lt_follow *f, lt_follow_part *part, lt_tally *t,
                        const lt_format *fmt, unsigned threads, char *err, size_t errlen);

/* Moves the follower past a part that was read, when it starts where the
 * follower stands.  Returns 1 when the part was read whole, 0 when its
 * tally is to be merged but it ended early (a partial line), -1 when it
 * does not start where the follower stands or was cut short (its tally
 * must be dropped). */
int lt_follow_advance(lt_follow *f, const lt_follow_part *part);

/* 1 when the open file's size differs from the offset (new bytes, or a
 * truncation), 0 when not, a negative errno when fstat fails.  Cheap: one
 * fstat, so a poll can skip files with nothing new. */
int lt_follow_pending(const lt_follow *f);

/* 1 when the path no longer names the open file (renamed away, deleted,
 * or replaced: a rotation), 0 when it does, a negative errno when stat
 * fails otherwise.  A follower that is not open is never replaced. */
int lt_follow_replaced(const lt_follow *f);

void lt_follow_info_get(const lt_follow *f, lt_follow_info *out);

#endif
