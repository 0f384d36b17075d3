/* fuzz_gz.c -- lines from a forward-only stream (lt_stream_lines) fed in
 * random chunks, and gzip files (lt_gz_read) of arbitrary bytes.
 *
 * Input layout
 * ------------
 *   byte 0      flags: bits 0-1 chunk sizes (1..7 bytes, 1..4 KiB, up to the
 *               whole room, a mix), bit 2 the reader fails part-way, bit 3
 *               the line callback stops the scan part-way
 *   bytes 1..4  seed of the chunk sizes and of where things fail or stop
 *   the rest    the stream.  0xFE a b c stands for a run of
 *               (a << 16 | b << 8 | c) bytes 'x' (at most 3 MiB), so that
 *               lines around LT_LINE_MAX (1 MiB) and the 2 MiB buffer are
 *               reachable from small inputs.  When the raw rest starts with
 *               the gzip magic 1f 8b it is also written to a memfd and read
 *               with lt_gz_read().
 *
 * Stream checks: the lines lt_stream_lines() passes are exactly those of a
 * plain split of the stream at '\n' (a last line without '\n' included,
 * an empty remainder not), each line longer than LT_LINE_MAX passed once
 * as its first LT_SCAN_HEAD bytes with overlong set; the reader is never
 * asked for zero bytes.  A reader error is returned with its message, after
 * every line ended before the failure (and at most one overlong head more);
 * a callback's non-zero value stops the scan at once and is returned.
 *
 * gzip checks: lt_gz_read() succeeds exactly when zlib's own gzread() reads
 * the file to its end without error, and then counts as many lines as
 * that output holds, with lines = valid + malformed; a failure says why,
 * naming the file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "fuzz.h"
#include "gz.h"
#include "parse.h"
#include "stream.h"
#include "tally.h"

/* Enough for a line past LT_LINE_MAX, one that fills the 2 MiB buffer,
 * and lines after it; more only slows every run down. */
#define RUN_MAX ((size_t)3 << 20)
#define STREAM_MAX ((size_t)6 << 20)

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* ---- The stream ---------------------------------------------------------- */

struct line {
    size_t off, len;    /* len is the full length, '\n' excluded */
    size_t end;         /* offset of its '\n', or the stream's size */
};

struct source {
    const char *buf;
    size_t size, at;
    int chunks;         /* the chunk-size mode */
    size_t fail_at;     /* SIZE_MAX: never */
};

static ssize_t read_chunk(void *arg, char *out, size_t cap, char *err, size_t errlen)
{
    struct source *s = arg;
    FUZZ_CHECK(cap > 0, "asked for zero bytes");
    if (s->at >= s->fail_at) {
        snprintf(err, errlen, "fuzz: injected read error");
        return -EIO;
    }
    size_t left = (s->fail_at < s->size ? s->fail_at : s->size) - s->at, n;
    if (left == 0)
        return 0;
    int mode = s->chunks == 3 ? (int)(rng() % 3) : s->chunks;
    /* Small chunks only on small streams: the scan for '\n' in a partial
     * line starts again at each read, so 1-byte reads of a 2 MiB line would
     * take minutes. */
    if (mode == 0 && s->size > (64u << 10))
        mode = 1;
    switch (mode) {
    case 0: n = 1 + rng() % 7; break;
    case 1: n = 1 + rng() % (s->size > (256u << 10) ? 262144 : 4096); break;
    default: n = cap; break;
    }
    if (n > cap)
        n = cap;
    if (n > left)
        n = left;
    memcpy(out, s->buf + s->at, n);
    s->at += n;
    return (ssize_t)n;
}

struct seen {
    const char *buf;
    const struct line *lines;
    size_t n_lines, i;
    size_t stop_at;     /* SIZE_MAX: never */
};

static int on_line(void *arg, const char *line, size_t len, int overlong)
{
    struct seen *v = arg;
    FUZZ_CHECK(v->i < v->n_lines, "line %zu passed, the stream has %zu", v->i + 1, v->n_lines);
    const struct line *w = &v->lines[v->i];
    if (w->len > LT_LINE_MAX) {
        FUZZ_CHECK(overlong && len == LT_SCAN_HEAD, "line %zu (%zu bytes): overlong %d, len %zu",
                   v->i + 1, w->len, overlong, len);
    } else {
        FUZZ_CHECK(!overlong && len == w->len, "line %zu (%zu bytes): overlong %d, len %zu",
                   v->i + 1, w->len, overlong, len);
    }
    FUZZ_CHECK(memcmp(line, v->buf + w->off, len) == 0, "line %zu: other bytes", v->i + 1);
    return v->i++ == v->stop_at ? 7 : 0;
}

/* Expands the 0xFE runs of [p, end) into a new buffer; returns its size. */
static size_t expand(const uint8_t *p, const uint8_t *end, char **out)
{
    size_t size = 0, cap = 0;
    char *buf = NULL;
    while (p < end && size < STREAM_MAX) {
        size_t n = 1;
        int c = *p;
        if (*p == 0xfe && end - p >= 4) {
            n = ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
            if (n > RUN_MAX)
                n = RUN_MAX;
            c = 'x';
            p += 4;
        } else {
            p++;
        }
        if (n == 0)
            continue;
        if (size + n > cap) {
            cap = (size + n) * 2;
            if ((buf = realloc(buf, cap)) == NULL)
                abort();
        }
        memset(buf + size, c, n);
        size += n;
    }
    *out = buf;
    return size;
}

static void check_stream(uint8_t flags, const uint8_t *p, const uint8_t *end)
{
    char *buf;
    size_t size = expand(p, end, &buf);
    char err[128];

    /* The plain split. */
    size_t n_lines = 0, cap = 16;
    struct line *lines = malloc(cap * sizeof *lines);
    if (lines == NULL)
        abort();
    for (size_t at = 0; at < size;) {
        const char *nl = memchr(buf + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (buf + at)) : size - at;
        if (n_lines == cap && (lines = realloc(lines, (cap *= 2) * sizeof *lines)) == NULL)
            abort();
        lines[n_lines++] = (struct line){at, len, at + len};
        at += len + 1;
    }

    struct source src = {buf, size, 0, flags & 3, SIZE_MAX};
    struct seen v = {buf, lines, n_lines, 0, SIZE_MAX};
    if (flags & 4)
        src.fail_at = size ? rng() % size : 0;
    if ((flags & 8) && n_lines > 0)
        v.stop_at = rng() % n_lines;

    err[0] = '\0';
    int rc = lt_stream_lines(read_chunk, &src, on_line, &v, err, sizeof err);

    /* Where the stream should have ended, and why. */
    size_t ended = 0;    /* lines whose '\n' came before the failure */
    while (ended < n_lines && lines[ended].end < src.fail_at && lines[ended].end < size)
        ended++;
    if (v.stop_at != SIZE_MAX && (src.fail_at == SIZE_MAX || v.stop_at < ended)) {
        FUZZ_CHECK(rc == 7 && v.i == v.stop_at + 1, "rc %d after %zu lines, stop at %zu", rc, v.i,
                   v.stop_at + 1);
    } else if (src.fail_at != SIZE_MAX) {
        /* The callback may also have stopped at the one overlong head the
         * stream may pass before the failure. */
        if (rc == 7) {
            FUZZ_CHECK(v.i == v.stop_at + 1 && v.i == ended + 1, "rc 7 after %zu lines", v.i);
        } else {
            FUZZ_CHECK(rc == -EIO, "rc %d with a read error at %zu", rc, src.fail_at);
            FUZZ_CHECK(strcmp(err, "fuzz: injected read error") == 0, "message: %s", err);
            FUZZ_CHECK(v.i == ended || (v.i == ended + 1 && lines[ended].len > LT_LINE_MAX),
                       "%zu lines before a read error at %zu, %zu ended there", v.i,
                       src.fail_at, ended);
        }
    } else {
        FUZZ_CHECK(rc == 0 && v.i == n_lines, "rc %d after %zu of %zu lines", rc, v.i, n_lines);
    }
    free(lines);
    free(buf);
}

/* ---- gzip ---------------------------------------------------------------- */

/* Reads the whole gzip file at path with zlib alone; returns its lines, or
 * -1 when zlib reports an error or a truncated stream. */
static long long zlib_lines(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    static char buf[1 << 16];
    long long lines = 0;
    int last = '\n', zerr = Z_OK;

    if (gz == NULL)
        abort();
    for (;;) {
        int got = gzread(gz, buf, sizeof buf);
        gzerror(gz, &zerr);
        if (got <= 0)
            break;
        for (int i = 0; i < got; i++)
            lines += buf[i] == '\n';
        last = buf[got - 1];
    }
    gzclose(gz);
    if (zerr != Z_OK)
        return -1;
    return lines + (last != '\n');
}

static void check_gz(const uint8_t *p, size_t n)
{
    int fd = memfd_create("fuzz.gz", MFD_CLOEXEC);
    char path[64], err[256];
    if (fd < 0)
        abort();
    if (write(fd, p, n) != (ssize_t)n)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    lt_limits limits = {1u << 20, 1000, 0, {0}, 0};
    lt_tally *t = lt_tally_new(&limits);
    lt_format *f = lt_format_new("combined", err, sizeof err);
    lt_parser *ps = f ? lt_parser_new(f) : NULL;
    if (t == NULL || ps == NULL)
        abort();

    err[0] = '\0';
    int rc = lt_gz_read(path, t, ps, 0, err, sizeof err);
    long long want = zlib_lines(path);
    const lt_counters *c = lt_tally_counters(t);
    FUZZ_CHECK(c->lines == c->valid + c->malformed, "lines %llu, valid %llu, malformed %llu",
               (unsigned long long)c->lines, (unsigned long long)c->valid,
               (unsigned long long)c->malformed);
    if (rc == 0) {
        FUZZ_CHECK(want >= 0, "lt_gz_read succeeds where zlib fails");
        FUZZ_CHECK(c->lines == (unsigned long long)want, "%llu lines, zlib reads %lld",
                   (unsigned long long)c->lines, want);
    } else {
        FUZZ_CHECK(rc == -EIO || rc == -EINVAL, "code %d: %s", rc, err);
        FUZZ_CHECK(want < 0, "lt_gz_read fails (%s) where zlib reads %lld lines", err, want);
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "message without the file: %s", err);
    }
    lt_parser_free(ps);
    lt_format_free(f);
    lt_tally_free(t);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    rng_state = ((uint64_t)data[1] << 24 | (uint64_t)data[2] << 16 | (uint64_t)data[3] << 8 |
                 data[4]) * 2 + 1;
    const uint8_t *p = data + 5, *end = data + size;

    check_stream(data[0], p, end);
    if (end - p >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        check_gz(p, (size_t)(end - p));
    return 0;
}
