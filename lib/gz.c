/* gz.c -- rotated logs compressed with gzip, read once through zlib.
 *
 * logrotate's `compress` leaves access.log.2.gz and older as gzip files;
 * they are complete and never grow, so they are read once, start to end,
 * through zlib's gzread() (which also reads concatenated members, as
 * `cat a.gz b.gz` makes) and lt_stream_lines().  A damaged stream is an
 * error naming the file; what was read before the damage is counted into
 * the caller's tally, which the daemon drops: a .gz still being written
 * ends inside its stream, and is read again once it is complete.
 *
 * The daemon recognises `compress`'s access.log.2.gz as the access.log.1
 * it read by the fingerprint of the decompressed start (lt_gz_head(), see
 * lib/registry.c), and counts only what follows the offset it had reached
 * (lt_gz_count()'s skip), so no line is counted twice.
 */
#include "gz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "stream.h"

int lt_gz_is_gz(const char *path)
{
    size_t n = strlen(path);
    return n > 3 && strcmp(path + n - 3, ".gz") == 0;
}

struct gz_source {
    gzFile gz;
    const char *path;
    uint64_t skip;            /* decompressed bytes still to pass over */
    uint64_t total;           /* decompressed bytes read */
};

static ssize_t gz_read_some(void *arg, char *buf, size_t cap, char *err, size_t errlen)
{
    struct gz_source *s = arg;
    for (;;) {
        unsigned want = cap > (1u << 30) ? 1u << 30 : (unsigned)cap;
        int got = gzread(s->gz, buf, want);
        int zerr;
        const char *msg = gzerror(s->gz, &zerr);
        if (got == 0 && zerr == Z_BUF_ERROR) {
            /* zlib's way of saying the file ends inside a compressed stream. */
            snprintf(err, errlen, "%s: truncated gzip stream", s->path);
            return -EIO;
        }
        if (got < 0 || (got == 0 && zerr != Z_OK)) {
            snprintf(err, errlen, "%s: %s", s->path,
                     zerr == Z_ERRNO ? strerror(errno) : (msg && *msg ? msg : "corrupt gzip stream"));
            return zerr == Z_MEM_ERROR ? -ENOMEM : -EIO;
        }
        s->total += (uint64_t)got;
        if (s->skip == 0 || got == 0)
            return got;
        /* Bytes already counted through the file this one compresses:
         * passed over, up to the line start where counting stopped. */
        if ((uint64_t)got <= s->skip) {
            s->skip -= (uint64_t)got;
            continue;
        }
        size_t keep = (size_t)((uint64_t)got - s->skip);
        memmove(buf, buf + s->skip, keep);
        s->skip = 0;
        return (ssize_t)keep;
    }
}

struct gz_counter {
    lt_tally *t;
    lt_parser *p;
    uint32_t source;
    uint64_t lineno;
};

static int count_line(void *arg, const char *line, size_t len, int overlong)
{
    struct gz_counter *c = arg;
    c->lineno++;
    if (overlong) {
        lt_tally_overlong(c->t, line, len, c->source, c->lineno);
        return 0;
    }
    return lt_tally_line(c->t, c->p, line, len, c->source, c->lineno) == -ENOMEM ? -ENOMEM : 0;
}

/* gzread() passes a file that is not gzip through unchanged; a rotated log
 * named .gz that is not compressed is a mistake worth saying. */
static gzFile open_gz(int fd, const char *path, char *err, size_t errlen, int *rc)
{
    unsigned char magic[2];
    if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        snprintf(err, errlen, "%s: not a gzip file", path);
        *rc = -EINVAL;
        return NULL;
    }
    gzFile gz = gzdopen(fd, "rb");
    if (gz == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        *rc = -ENOMEM;
    }
    return gz;
}

int lt_gz_head(int fd, const char *path, unsigned char *buf, size_t cap, size_t *got, char *err,
               size_t errlen)
{
    int rc = 0;
    *got = 0;
    gzFile gz = open_gz(fd, path, err, errlen, &rc);
    if (gz == NULL) {
        close(fd);
        return rc;
    }
    while (*got < cap) {
        int n = gzread(gz, buf + *got, (unsigned)(cap - *got));
        if (n <= 0)
            break;    /* the end, or damage: what came before is the head */
        *got += (size_t)n;
    }
    gzclose(gz);
    return 0;
}

int lt_gz_count(int fd, const char *path, uint64_t skip, uint64_t first_line, lt_tally *t,
                lt_parser *p, uint32_t source, uint64_t *total, uint64_t *lines, char *err,
                size_t errlen)
{
    int rc = 0;
    gzFile gz = open_gz(fd, path, err, errlen, &rc);
    if (gz == NULL) {
        close(fd);
        return rc;
    }
    gzbuffer(gz, 256 * 1024);
    struct gz_source src = {gz, path, skip, 0};
    struct gz_counter c = {t, p, source, first_line};
    rc = lt_stream_lines(gz_read_some, &src, count_line, &c, err, errlen);
    if (rc == -ENOMEM && err[0] == '\0')
        snprintf(err, errlen, "%s: out of memory while counting", path);
    if (total != NULL)
        *total = src.total;
    if (lines != NULL)
        *lines = c.lineno - first_line;
    gzclose(gz);    /* closes fd */
    return rc;
}

int lt_gz_read(const char *path, lt_tally *t, lt_parser *p, uint32_t source, char *err,
               size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    return lt_gz_count(fd, path, 0, 0, t, p, source, NULL, NULL, err, errlen);
}
