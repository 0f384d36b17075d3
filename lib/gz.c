/* gz.c -- rotated logs compressed with gzip, read once through zlib.
 *
 * logrotate's `compress` leaves access.log.2.gz and older as gzip files;
 * they are complete and never grow, so they are read once, start to end,
 * through zlib's gzread() (which also reads concatenated members, as
 * `cat a.gz b.gz` makes) and lt_stream_lines().  A damaged stream is an
 * error naming the file; what was read before the damage is counted.
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
};

static ssize_t gz_read_some(void *arg, char *buf, size_t cap, char *err, size_t errlen)
{
    struct gz_source *s = arg;
    unsigned want = cap > (1u << 30) ? 1u << 30 : (unsigned)cap;
    int got = gzread(s->gz, buf, want);
    int zerr;
    const char *msg = gzerror(s->gz, &zerr);
    if (got > 0 || (got == 0 && zerr == Z_OK))
        return got;
    if (got == 0 && zerr == Z_BUF_ERROR) {
        /* zlib's way of saying the file ends inside a compressed stream. */
        snprintf(err, errlen, "%s: truncated gzip stream", s->path);
        return -EIO;
    }
    snprintf(err, errlen, "%s: %s", s->path,
             zerr == Z_ERRNO ? strerror(errno) : (msg && *msg ? msg : "corrupt gzip stream"));
    return zerr == Z_MEM_ERROR ? -ENOMEM : -EIO;
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

int lt_gz_read(const char *path, lt_tally *t, lt_parser *p, uint32_t source, char *err,
               size_t errlen)
{
    unsigned char magic[2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    /* gzread() passes a file that is not gzip through unchanged; a rotated
     * log named .gz that is not compressed is a mistake worth saying. */
    if (pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
        snprintf(err, errlen, "%s: not a gzip file", path);
        close(fd);
        return -EINVAL;
    }
    struct gz_source src = {gzdopen(fd, "rb"), path};
    if (src.gz == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -ENOMEM;
    }
    gzbuffer(src.gz, 256 * 1024);
    struct gz_counter c = {t, p, source, 0};
    int rc = lt_stream_lines(gz_read_some, &src, count_line, &c, err, errlen);
    if (rc == -ENOMEM && err[0] == '\0')
        snprintf(err, errlen, "%s: out of memory while counting", path);
    gzclose(src.gz);
    return rc;
}
