/* follow.c -- one log file being followed: new lines, truncation, rotation.
 *
 * A follower owns an open descriptor and the offset of the first byte not
 * yet counted; the offset always sits at a line start, so a line is counted
 * exactly once whatever the writer's pace.  Each read takes a buffer of
 * pread()s from the offset to the current size, counts the complete lines,
 * and leaves a partial last line for next time (re-reading its few bytes is
 * cheaper than carrying them).  A line longer than LT_LINE_MAX is counted
 * once, by its head, and skipped to its '\n' however many reads that takes
 * (pos.skipping).
 *
 * The caller decides what a change of the path means: lt_follow_replaced()
 * tells that the path now names another file (rename-and-create rotation)
 * or none; the follower keeps reading the file it has open, which is the
 * rotated-away file that a writer may still be finishing.  A size below the
 * offset is copytruncate: the same file, restarted at 0.
 *
 * Identity: the device and inode say which file is open; the fingerprint,
 * a hash of its first bytes (LT_FOLLOW_FP_BYTES, or fewer while it is that
 * short), lets a restart recognise a checkpoint's file under a new name or
 * see that an inode number was reused.  After a truncation it is taken
 * again, from the new first bytes.
 *
 * pread() rather than mmap: the daemon follows files that other programs
 * truncate (copytruncate), and touching a mapped page past a new end of
 * file raises SIGBUS.  The buffer bounds memory the same way a window does;
 * it is allocated for each read and freed after it, so a follower that waits
 * (thousands of idle files) holds a descriptor and a few hundred bytes.
 */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "scan.h"

struct lt_follow {
    char *path;
    uint32_t source;
    int fd;
    uint64_t dev, ino;
    lt_scan_pos pos;
    uint64_t size;
    uint64_t lines, malformed, truncations;
    uint32_t fp_len;
    uint64_t fp_hash;
    struct lt_follow_cut cut;  /* the content the last truncation cut off */
};

/* Hashes the first n bytes of fd; returns 0 or a negative errno. */
static int hash_start(int fd, uint32_t n, uint64_t *out)
{
    char b[LT_FOLLOW_FP_BYTES];
    ssize_t got;
    do
        got = pread(fd, b, n, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    if ((uint32_t)got != n)
        return -ENODATA;
    *out = XXH64(b, n, 0);
    return 0;
}

/* Takes the fingerprint again while the file is shorter than its full
 * length: an empty file gets one once its first bytes arrive. */
static void update_fingerprint(lt_follow *f)
{
    if (f->fp_len >= LT_FOLLOW_FP_BYTES || f->size <= f->fp_len)
        return;
    uint32_t n = f->size < LT_FOLLOW_FP_BYTES ? (uint32_t)f->size : LT_FOLLOW_FP_BYTES;
    uint64_t h = 0;
    if (hash_start(f->fd, n, &h) == 0) {
        f->fp_len = n;
        f->fp_hash = h;
    }
}

lt_follow *lt_follow_new(const char *path, uint32_t source)
{
    lt_follow *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->path = strdup(path);
    if (f->path == NULL) {
        lt_follow_free(f);
        return NULL;
    }
    f->source = source;
    f->fd = -1;
    return f;
}

void lt_follow_free(lt_follow *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

int lt_follow_open(lt_follow *f, uint64_t offset, char *err, size_t errlen)
{
    return lt_follow_open_file(f, offset, 0, 0, err, errlen);
}

int lt_follow_open_file(lt_follow *f, uint64_t offset, uint64_t dev, uint64_t ino, char *err,
                        size_t errlen)
{
    struct stat st;

    if (f->fd >= 0)
        return 0;
    /* O_NONBLOCK: a FIFO put where a log was must not hold the thread in
     * open(); it is refused below.  Reads of a regular file ignore it. */
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", f->path, strerror(e));
        return -e;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (e == 0 || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode))
            e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        snprintf(err, errlen, "%s: %s", f->path,
                 e == EINVAL ? "not a regular file" : strerror(e));
        close(fd);
        return -e;
    }
    if (dev != 0 && ino != 0 && ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)) {
        /* Renamed or replaced since it was found: the caller finds it again. */
        snprintf(err, errlen, "%s: another file than expected", f->path);
        close(fd);
        return -ESTALE;
    }
    f->fd = fd;
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->size = (uint64_t)st.st_size;
    /* Past the end: truncated meanwhile; the first read sees it. */
    f->pos.offset = offset;
    f->pos.skipping = 0;
    f->fp_len = 0;
    update_fingerprint(f);
    return 0;
}

void lt_follow_resume_counts(lt_follow *f, uint64_t lines, uint64_t malformed,
                             uint64_t truncations)
{
    f->lines = lines;
    f->malformed = malformed;
    f->truncations = truncations;
}

void lt_follow_resume_fingerprint(lt_follow *f, uint32_t fp_len, uint64_t fp_hash)
{
    if (fp_len == 0 || fp_len > LT_FOLLOW_FP_BYTES)
        return;
    f->fp_len = fp_len;
    f->fp_hash = fp_hash;
}

int lt_follow_same_start(const lt_follow *f, uint32_t fp_len, uint64_t fp_hash)
{
    uint64_t h = 0;
    if (f->fd < 0 || fp_len > LT_FOLLOW_FP_BYTES)
        return 0;
    int rc = hash_start(f->fd, fp_len, &h);
    if (rc == -ENODATA)
        return 0;    /* shorter than the fingerprint: not that file */
    return rc < 0 ? rc : h == fp_hash;
}

/* 1 while the file still starts with the bytes it was fingerprinted from
 * (or has none yet); 0 when they changed: a truncation refilled. */
static int same_start(const lt_follow *f)
{
    uint64_t h = 0;
    if (f->fp_len == 0 || f->pos.offset == 0)
        return 1;
    return hash_start(f->fd, f->fp_len, &h) != 0 || h == f->fp_hash;
}

/* Counts lines into a tally, numbering them on from `lines`, in batches
 * (lt_tally_lines() overlaps the table lookups of a batch's lines). */
struct counter {
    lt_tally *t;
    lt_parser *p;
    uint32_t source;
    uint64_t lines, malformed;
};

static int count_lines(void *arg, const lt_line *lines, size_t n)
{
    struct counter *c = arg;
    uint64_t before = lt_tally_counters(c->t)->malformed;
    int rc = lt_tally_lines(c->t, c->p, lines, n, c->source, c->lines + 1);
    c->lines += n;
    c->malformed += lt_tally_counters(c->t)->malformed - before;
    return rc;
}

/* Counts the lines of [pos->offset, to) by pread(), advancing pos past
 * what was consumed (see lt_scan_pread_lines()).  Returns 0 or a negative
 * errno with a message naming the file in err. */
static int count_range(int fd, const char *path, struct counter *c, lt_scan_pos *pos, uint64_t to,
                       uint64_t max_bytes, int final, int *more, char *err, size_t errlen)
{
    char why[128] = "";
    int rc = lt_scan_pread_lines(fd, pos, to, final, max_bytes, more, count_lines, c, why,
                                 sizeof(why));
    if (rc != 0) {
        if (rc > 0)
            rc = -EIO;
        snprintf(err, errlen, "%s: %s", path,
                 why[0] ? why : rc == -ENOMEM ? "out of memory while counting" : strerror(-rc));
    }
    return rc;
}

int64_t lt_follow_read(lt_follow *f, lt_tally *t, lt_parser *p, uint64_t max_bytes, int final,
                       int *more, char *err, size_t errlen)
{
    struct stat st;

    *more = 0;
    if (f->fd < 0)
        return 0;
    if (fstat(f->fd, &st) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", f->path, strerror(e));
        return -e;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < f->pos.offset || !same_start(f)) {
        /* Truncated in place (copytruncate): the same file starts over.  A
         * truncation refilled past the offset between two reads shows only
         * in the first bytes.  What was cut off is kept for the caller,
         * which may meet a copy of it (copytruncate's access.log.1). */
        f->cut.fp_len = f->fp_len;
        f->cut.fp_hash = f->fp_hash;
        f->cut.offset = f->pos.offset;
        f->cut.lines = f->lines;
        f->cut.malformed = f->malformed;
        f->pos.offset = 0;
        f->pos.skipping = 0;
        f->lines = 0;
        f->malformed = 0;
        f->truncations++;
        f->fp_len = 0;
    }
    f->size = size;
    update_fingerprint(f);

    struct counter c = {.t = t, .p = p, .source = f->source, .lines = f->lines,
                        .malformed = f->malformed};
    uint64_t start = f->pos.offset;
    int rc = count_range(f->fd, f->path, &c, &f->pos, size, max_bytes, final, more, err, errlen);
    f->lines = c.lines;
    f->malformed = c.malformed;
    return rc < 0 ? rc : (int64_t)(f->pos.offset - start);
}

int lt_follow_plan(const lt_follow *f, uint64_t max_bytes, uint64_t min_bytes,
                   lt_follow_part *part)
{
    struct stat st;

    if (f->fd < 0 || f->pos.skipping || min_bytes == 0 || fstat(f->fd, &st) < 0)
        return 0;
    uint64_t size = (uint64_t)st.st_size;
    if (size < f->pos.offset || size - f->pos.offset < min_bytes || !same_start(f))
        return 0;    /* truncated, maybe refilled since (lt_follow_read() starts
                        it over), or too little */
    memset(part, 0, sizeof(*part));
    part->from = f->pos.offset;
    part->to = size - f->pos.offset > max_bytes ? f->pos.offset + max_bytes : size;
    part->size = size;
    return 1;
}

int lt_follow_read_part(const lt_follow *f, lt_follow_part *part, lt_tally *t,
                        const lt_format *fmt, unsigned threads, char *err, size_t errlen)
{
    char why[256] = "";
    part->fd = f->fd;
    int rc = lt_ingest_range_read(t, part, f->source, fmt, threads, why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", f->path, why);
    return rc;
}

int lt_follow_advance(lt_follow *f, const lt_follow_part *part)
{
    if (part->from != f->pos.offset || f->pos.skipping || part->cut_short)
        return -1;
    f->pos.offset += part->consumed;
    f->pos.skipping = part->skipping;
    f->lines += part->lines;
    f->malformed += part->malformed;
    return part->consumed == part->to - part->from && !part->skipping ? 1 : 0;
}

int lt_follow_pending(const lt_follow *f)
{
    struct stat st;
    if (f->fd < 0)
        return 0;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    return (uint64_t)st.st_size != f->pos.offset;
}

int lt_follow_replaced(const lt_follow *f)
{
    struct stat st;
    if (f->fd < 0)
        return 0;
    if (stat(f->path, &st) < 0)
        return errno == ENOENT ? 1 : -errno;
    return (uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino;
}

void lt_follow_info_get(const lt_follow *f, lt_follow_info *out)
{
    out->path = f->path;
    out->source = f->source;
    out->open = f->fd >= 0;
    out->dev = f->dev;
    out->ino = f->ino;
    out->offset = f->pos.offset;
    out->size = f->size;
    out->lines = f->lines;
    out->malformed = f->malformed;
    out->truncations = f->truncations;
    out->fp_len = f->fp_len;
    out->fp_hash = f->fp_hash;
    out->cut = f->cut;
}
