/* test_follow.c -- Check suite for lib/follow.c: appends, partial lines,
 * copytruncate, rename rotation, deletion, overlong lines, resuming. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "follow.h"
#include "lt_test.h"

static char dir[64], path[128];
static lt_format *fmt;
static lt_parser *ps;
static const lt_limits limits = {1 << 20, 1000, 0, {0}, 0};

static void setup(void)
{
    char err[64];
    strcpy(dir, "/tmp/lt-follow-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/access.log", dir);
    fmt = lt_format_new("common", err, sizeof(err));
    ps = lt_parser_new(fmt);
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    lt_parser_free(ps);
    lt_format_free(fmt);
}

/* Appends n valid lines for client 10.0.0.<first..first+n-1>. */
static void append(const char *p, int first, int n, const char *tail)
{
    FILE *f = fopen(p, "a");
    ck_assert_ptr_nonnull(f);
    for (int i = first; i < first + n; i++)
        fprintf(f, "10.0.%d.%d - - [17/May/2015:10:05:03 +0000] \"GET /%d HTTP/1.1\" 200 1\n",
                i / 256, i % 256, i);
    if (tail)
        fputs(tail, f);
    fclose(f);
}

/* pread() as the library sees it in this suite: the kernel's, except that
 * when armed, the first read at offset `when` first cuts the file to `at`.
 * The part's first chunk reads first at the part's start, after the
 * chunk's end was found; so a cut there comes while the part is read, on
 * whichever thread, as a copytruncate racing the reader would, but at the
 * same point every run. */
struct cut_plan {
    int armed, done, rc;
    uint64_t when, at;
};
static struct cut_plan cut_plan;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    struct cut_plan *c = &cut_plan;
    if (__atomic_load_n(&c->armed, __ATOMIC_ACQUIRE) && (uint64_t)off == c->when &&
        __atomic_exchange_n(&c->armed, 0, __ATOMIC_ACQ_REL)) {
        c->rc = truncate(path, (off_t)c->at);    /* fd is read-only */
        __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    }
    return syscall(SYS_pread64, fd, buf, n, off);
}

static uint64_t newlines(const char *p)
{
    FILE *fp = fopen(p, "r");
    ck_assert_ptr_nonnull(fp);
    int c;
    uint64_t nl = 0;
    while ((c = fgetc(fp)) != EOF)
        nl += c == '\n';
    fclose(fp);
    return nl;
}

static uint64_t valid(lt_tally *t)
{
    return lt_tally_counters(t)->valid;
}

static int info_size_before_x(lt_follow *f)
{
    lt_follow_info i;
    lt_follow_info_get(f, &i);
    return (int)i.offset;
}

static int64_t read_all(lt_follow *f, lt_tally *t, int final)
{
    char err[256];
    int more;
    int64_t n = lt_follow_read(f, t, ps, UINT64_MAX, final, &more, err, sizeof(err));
    ck_assert_msg(n >= 0, "%s", err);
    return n;
}

START_TEST(appends_and_partial_lines)
{
    char err[256];
    lt_follow *f = lt_follow_new(path, 3);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), -ENOENT);
    ck_assert_msg(strstr(err, "access.log: No such file") != NULL, "%s", err);
    append(path, 0, 100, "10.9.9.9 - - [17/May/2015:10:05:03 +0000] \"GET /partial");
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    ck_assert_uint_eq(valid(t), 100);
    /* The writer finishes the partial line: counted once, whole. */
    append(path, 0, 0, " HTTP/1.1\" 200 1\n");
    read_all(f, t, 0);
    ck_assert_uint_eq(valid(t), 101);
    ck_assert_int_eq(read_all(f, t, 0), 0);
    ck_assert_int_eq(lt_follow_pending(f), 0);
    append(path, 0, 0, "x");
    ck_assert_int_eq(lt_follow_pending(f), 1);
    ck_assert_int_eq(truncate(path, info_size_before_x(f)), 0);
    lt_follow_info info;
    lt_follow_info_get(f, &info);
    ck_assert_uint_eq(info.lines, 101);
    ck_assert_uint_eq(info.offset, info.size);
    ck_assert_uint_eq(info.source, 3);
    /* max_bytes bounds one read (to a whole 2 MiB buffer) and says there
     * is more: 40,000 lines are about 2.6 MB. */
    append(path, 200, 40000, NULL);
    int more = 0;
    int64_t n = lt_follow_read(f, t, ps, 4096, 0, &more, err, sizeof(err));
    ck_assert_int_gt(n, 0);
    ck_assert(more);
    read_all(f, t, 0);
    ck_assert_uint_eq(valid(t), 40101);
    lt_tally_free(t);
    lt_follow_free(f);
}
END_TEST

START_TEST(copytruncate_starts_over)
{
    char err[256];
    append(path, 0, 50, NULL);
    lt_follow *f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    /* copytruncate: the content is copied away and the file emptied. */
    ck_assert_int_eq(truncate(path, 0), 0);
    append(path, 1000, 20, NULL);
    ck_assert_int_eq(lt_follow_replaced(f), 0);
    read_all(f, t, 0);
    ck_assert_uint_eq(valid(t), 70);
    lt_follow_info info;
    lt_follow_info_get(f, &info);
    ck_assert_uint_eq(info.truncations, 1);
    ck_assert_uint_eq(info.lines, 20);
    lt_tally_free(t);
    lt_follow_free(f);
}
END_TEST

START_TEST(rename_rotation_and_deletion)
{
    char err[256], old[160];
    snprintf(old, sizeof(old), "%s.1", path);
    append(path, 0, 30, NULL);
    lt_follow *f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    ck_assert_int_eq(rename(path, old), 0);
    ck_assert_int_eq(lt_follow_replaced(f), 1);     /* gone */
    append(path, 500, 5, NULL);                        /* a new file appears */
    ck_assert_int_eq(lt_follow_replaced(f), 1);     /* another file */
    /* The writer still finishes the old file: the follower reads it, and
     * its last line without '\n' counts once it is final. */
    append(old, 100, 10, "10.7.7.7 - - [17/May/2015:10:05:03 +0000] \"GET /last HTTP/1.1\" 200 1");
    read_all(f, t, 0);
    ck_assert_uint_eq(valid(t), 40);
    read_all(f, t, 1);
    ck_assert_uint_eq(valid(t), 41);
    lt_follow_free(f);
    /* The new file, from its start. */
    lt_follow *g = lt_follow_new(path, 1);
    ck_assert_int_eq(lt_follow_open(g, 0, err, sizeof(err)), 0);
    read_all(g, t, 0);
    ck_assert_uint_eq(valid(t), 46);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(lt_follow_replaced(g), 1);
    lt_follow_free(g);
    lt_tally_free(t);
}
END_TEST

START_TEST(overlong_line_between_reads)
{
    char err[256];
    append(path, 0, 3, NULL);
    /* 3 MiB without '\n' arrives in two parts, then its end and a line. */
    size_t part = (size_t)3 << 19;
    char *junk = malloc(part + 1);
    memset(junk, 'j', part);
    junk[part] = '\0';
    append(path, 0, 0, junk);
    lt_follow *f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    append(path, 0, 0, junk);
    read_all(f, t, 0);
    append(path, 0, 0, "end of junk\n");
    append(path, 9, 2, NULL);
    read_all(f, t, 0);
    const lt_counters *n = lt_tally_counters(t);
    ck_assert_uint_eq(n->valid, 5);
    ck_assert_uint_eq(n->malformed, 1);
    ck_assert_uint_eq(n->lines, 6);
    free(junk);
    lt_tally_free(t);
    lt_follow_free(f);
}
END_TEST

/* Reads the backlog of f into t in planned parts of up to part_bytes on
 * `threads` workers, the way the daemon does, while there is one; returns
 * the parts. */
static int read_in_parts(lt_follow *f, lt_tally *t, unsigned threads, uint64_t part_bytes)
{
    lt_follow_part part;
    char err[256];
    int used = 0;
    while (lt_follow_plan(f, part_bytes, 4096, &part)) {
        lt_tally *d = lt_tally_new(&limits);
        ck_assert_int_eq(lt_follow_read_part(f, &part, d, fmt, threads, err, sizeof(err)), 0);
        lt_follow_info i;
        lt_follow_info_get(f, &i);
        int r = lt_follow_advance(f, &part);
        ck_assert_int_ge(r, 0);
        lt_tally_shift_lines(d, 0, i.lines);
        ck_assert_int_eq(lt_tally_absorb(t, d), 0);
        lt_tally_free(d);
        used++;
        if (r == 0)
            break;    /* a partial line: a plain read waits for it */
    }
    return used;
}

static void assert_same_tally(const lt_tally *a, const lt_tally *b)
{
    const lt_counters *x = lt_tally_counters(a), *y = lt_tally_counters(b);
    ck_assert_uint_eq(x->lines, y->lines);
    ck_assert_uint_eq(x->valid, y->valid);
    ck_assert_uint_eq(x->malformed, y->malformed);
    ck_assert_uint_eq(x->bytes, y->bytes);
    ck_assert_uint_eq(lt_urls_size(lt_tally_urls(a)), lt_urls_size(lt_tally_urls(b)));
    lt_sample sa[LT_SAMPLES], sb[LT_SAMPLES];
    size_t na = lt_tally_samples(a, sa), nb = lt_tally_samples(b, sb);
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_uint_eq(sa[i].line, sb[i].line);
        ck_assert_int_eq(sa[i].reason, sb[i].reason);
    }
}

/* A backlog read in parts on "threads" equals one plain read: the same
 * counts, line numbers, offset; lines longer than a part and than
 * LT_LINE_MAX across the cuts; the partial last line left waiting. */
START_TEST(parts_read_like_one_reader)
{
    /* Many small parts, each one chunk; or the whole backlog in one part
     * cut into 1 MiB chunks, on 3 threads or 1. */
    static const struct { unsigned threads; uint64_t part_bytes; } runs[] = {
        {3, 64 << 10}, {3, UINT64_MAX}, {1, UINT64_MAX}, {2, 1 << 20}};
    unsigned threads = runs[_i].threads;
    uint64_t part_bytes = runs[_i].part_bytes;
    char err[256];
    size_t big = (size_t)3 << 19;    /* 1.5 MiB: overlong */
    char *junk = malloc(big + 2);
    memset(junk, 'j', big);
    strcpy(junk + big, "\n");
    append(path, 0, 10000, "not a line\n");
    append(path, 10000, 10000, junk);
    junk[200000] = '\n';            /* 200 KB: longer than a part */
    junk[200001] = '\0';
    append(path, 20000, 10000, junk);
    append(path, 30000, 15000, "10.9.9.9 - - [17/May/2015:10:05:03 +0000] \"GET /partial");
    free(junk);

    lt_follow *f = lt_follow_new(path, 0), *g = lt_follow_new(path, 0);
    lt_tally *a = lt_tally_new(&limits), *b = lt_tally_new(&limits);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_follow_open(g, 0, err, sizeof(err)), 0);
    read_all(f, a, 0);
    int more;
    ck_assert_int_ge(lt_follow_read(g, b, ps, 4096, 0, &more, err, sizeof(err)), 4096);
    ck_assert_int_gt(read_in_parts(g, b, threads, part_bytes), (part_bytes < (1 << 20) ? 20 : 0));
    read_all(g, b, 0);
    assert_same_tally(a, b);
    lt_follow_info fi, gi;
    lt_follow_info_get(f, &fi);
    lt_follow_info_get(g, &gi);
    ck_assert_uint_eq(fi.offset, gi.offset);
    ck_assert_uint_eq(fi.lines, gi.lines);
    ck_assert_uint_eq(fi.malformed, gi.malformed);
    ck_assert_uint_eq(gi.lines, 45003);
    ck_assert_uint_eq(gi.malformed, 3);
    /* The partial line waits in both. */
    ck_assert_uint_lt(gi.offset, gi.size);
    lt_tally_free(a);
    lt_tally_free(b);
    lt_follow_free(f);
    lt_follow_free(g);
}
END_TEST

/* A follower of an 8 MB file after its first read (2 MiB), so that the
 * rest is a part of 6 chunks of 1 MiB on 3 threads; *t holds that read. */
static lt_follow *behind(lt_tally **t)
{
    char err[256];
    int more;
    append(path, 0, 60000, NULL);
    append(path, 0, 60000, NULL);
    lt_follow *f = lt_follow_new(path, 0);
    *t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    ck_assert_int_ge(lt_follow_read(f, *t, ps, 1, 0, &more, err, sizeof(err)), 1);
    return f;
}

/* Cut while the part is read, inside its first chunk: the later chunks
 * have counted lines the file no longer holds (and their clients are in
 * the part's shared set), so the whole part is dropped (cut_short), the
 * follower does not advance, and its next read counts every line left in
 * the file once. */
START_TEST(cut_while_a_part_is_read)
{
    char err[256];
    lt_tally *t;
    lt_follow *f = behind(&t);
    lt_follow_part part;
    ck_assert_int_eq(lt_follow_plan(f, UINT64_MAX, 4096, &part), 1);
    ck_assert_uint_gt(part.to - part.from, 4 << 20);
    cut_plan = (struct cut_plan){.armed = 1, .when = part.from, .at = part.from + (256 << 10) + 17};
    lt_tally *d = lt_tally_new(&limits);
    ck_assert_int_eq(lt_follow_read_part(f, &part, d, fmt, 3, err, sizeof(err)), 0);
    ck_assert_int_eq(cut_plan.done, 1);
    ck_assert_int_eq(cut_plan.rc, 0);
    ck_assert_int_eq(part.cut_short, 1);
    ck_assert_uint_eq(part.consumed, 0);
    ck_assert_uint_eq(part.lines, 0);
    ck_assert_int_eq(lt_follow_advance(f, &part), -1);
    lt_tally_free(d);

    uint64_t before = lt_tally_counters(t)->lines;
    read_all(f, t, 0);
    ck_assert_uint_gt(lt_tally_counters(t)->lines, before);
    ck_assert_uint_eq(lt_tally_counters(t)->lines, newlines(path));
    ck_assert_uint_eq(valid(t), newlines(path));
    lt_tally_free(t);
    lt_follow_free(f);
}
END_TEST

/* A file truncated while its parts are read: the chain stops at the short
 * part, nothing is counted twice, and the follower goes on from there. */
START_TEST(parts_stop_at_a_truncation)
{
    char err[256];
    lt_tally *t;
    lt_follow *f = behind(&t);
    int more;
    lt_follow_part part;
    lt_follow_info i;
    lt_follow_info_get(f, &i);
    ck_assert_int_eq(lt_follow_plan(f, 64 << 20, 4096, &part), 1);
    ck_assert_uint_eq(part.from, i.offset);
    ck_assert_uint_eq(part.to, i.size);
    ck_assert_int_eq(lt_follow_plan(f, 64 << 20, i.size, &part), 0);    /* too small */
    ck_assert_int_eq(lt_follow_plan(f, 64 << 10, 4096, &part), 1);
    ck_assert_uint_eq(part.to - part.from, 64 << 10);
    ck_assert_int_eq(lt_follow_plan(f, UINT64_MAX, 4096, &part), 1);
    /* Cut the file inside the second of the part's 1 MiB chunks before it
     * is read: every cut past the new end falls at the planned size, so
     * the chunk that meets the end is the range's last, and the part
     * counts the whole lines before the cut, as a plain read would.  (A
     * cut made while the chunks are read, when a later chunk has counted
     * lines already, drops the whole part: cut_short.) */
    off_t cut = (off_t)(part.from + (1 << 20) + (32 << 10));
    ck_assert_int_eq(truncate(path, cut), 0);
    lt_tally *d = lt_tally_new(&limits);
    ck_assert_int_eq(lt_follow_read_part(f, &part, d, fmt, 3, err, sizeof(err)), 0);
    ck_assert_int_eq(part.cut_short, 0);
    ck_assert_uint_gt(part.consumed, (uint64_t)cut - part.from - 200);
    ck_assert_uint_le(part.consumed, (uint64_t)cut - part.from);
    ck_assert_int_eq(lt_follow_advance(f, &part), 0);    /* ended early */
    lt_follow_info j;
    lt_follow_info_get(f, &j);
    lt_tally_shift_lines(d, 0, i.lines);
    ck_assert_int_eq(lt_tally_absorb(t, d), 0);
    lt_tally_free(d);
    ck_assert_uint_eq(j.offset, part.from + part.consumed);
    ck_assert_uint_eq(j.lines, lt_tally_counters(t)->lines);
    /* Every whole line left in the file counted once. */
    read_all(f, t, 0);
    ck_assert_uint_eq(lt_tally_counters(t)->lines, newlines(path));

    lt_tally_free(t);
    lt_follow_free(f);

    /* Cut below the offset (copytruncate) while far behind: no part is
     * planned from the old offset; the plain read starts over. */
    ck_assert_int_eq(truncate(path, 0), 0);
    append(path, 0, 60000, NULL);
    f = lt_follow_new(path, 0);
    t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    ck_assert_int_ge(lt_follow_read(f, t, ps, 1, 0, &more, err, sizeof(err)), 1);
    ck_assert_int_eq(lt_follow_plan(f, 64 << 10, 4096, &part), 1);
    lt_follow_info_get(f, &i);
    ck_assert_int_eq(truncate(path, (off_t)(i.offset / 2)), 0);
    ck_assert_int_eq(lt_follow_plan(f, 64 << 10, 4096, &part), 0);
    ck_assert_int_ge(lt_follow_read(f, t, ps, UINT64_MAX, 0, &more, err, sizeof(err)), 1);
    lt_follow_info_get(f, &i);
    ck_assert_uint_eq(i.truncations, 1);

    /* Cut and refilled past the offset with other lines (a copytruncate
     * while the file was closed, then a burst): no part is planned from
     * the old offset, whose bytes are other lines now; the plain read sees
     * the new first bytes and starts over. */
    uint64_t before = lt_tally_counters(t)->lines;
    ck_assert_int_eq(truncate(path, 0), 0);
    append(path, 70000, 120000, NULL);
    ck_assert_int_eq(lt_follow_plan(f, 64 << 10, 4096, &part), 0);
    ck_assert_int_ge(lt_follow_read(f, t, ps, UINT64_MAX, 0, &more, err, sizeof(err)), 1);
    lt_follow_info_get(f, &i);
    ck_assert_uint_eq(i.truncations, 2);
    ck_assert_uint_eq(lt_tally_counters(t)->lines - before, 120000);
    lt_tally_free(t);
    lt_follow_free(f);
}
END_TEST

START_TEST(fingerprint_follows_the_file)
{
    char err[256], moved[160];
    lt_follow *f = lt_follow_new(path, 0);
    append(path, 0, 0, "");
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_follow_info info;
    lt_follow_info_get(f, &info);
    ck_assert_uint_eq(info.fp_len, 0);     /* empty: nothing to recognise yet */
    append(path, 0, 20, NULL);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    lt_follow_info_get(f, &info);
    ck_assert_uint_eq(info.fp_len, LT_FOLLOW_FP_BYTES);
    lt_follow_free(f);
    /* Renamed, the file is still recognised; another file is not. */
    snprintf(moved, sizeof(moved), "%s.1", path);
    ck_assert_int_eq(rename(path, moved), 0);
    append(path, 500, 20, NULL);
    lt_follow *old = lt_follow_new(moved, 0), *fresh = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(old, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_follow_open(fresh, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_follow_same_start(old, info.fp_len, info.fp_hash), 1);
    ck_assert_int_eq(lt_follow_same_start(fresh, info.fp_len, info.fp_hash), 0);
    /* After copytruncate the fingerprint is taken from the new start. */
    read_all(old, t, 0);
    ck_assert_int_eq(truncate(moved, 0), 0);
    append(moved, 900, 1, NULL);
    read_all(old, t, 0);
    lt_follow_info two;
    lt_follow_info_get(old, &two);
    ck_assert_uint_lt(two.fp_len, LT_FOLLOW_FP_BYTES);
    ck_assert_uint_ne(two.fp_hash, info.fp_hash);
    ck_assert_int_eq(lt_follow_same_start(old, info.fp_len, info.fp_hash), 0);
    lt_follow_free(old);
    lt_follow_free(fresh);
    lt_tally_free(t);
}
END_TEST

START_TEST(resume_at_offset)
{
    char err[256];
    append(path, 0, 10, NULL);
    lt_follow *f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, 0, err, sizeof(err)), 0);
    lt_tally *t = lt_tally_new(&limits);
    read_all(f, t, 0);
    lt_follow_info info;
    lt_follow_info_get(f, &info);
    uint64_t saved = info.offset;
    lt_follow_free(f);
    /* A restart resumes at the saved offset: only new lines count. */
    append(path, 10, 7, NULL);
    f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, saved, err, sizeof(err)), 0);
    lt_tally *u = lt_tally_new(&limits);
    read_all(f, u, 0);
    ck_assert_uint_eq(valid(u), 7);
    lt_follow_free(f);
    /* An offset past the end (the file was truncated meanwhile) restarts. */
    f = lt_follow_new(path, 0);
    ck_assert_int_eq(lt_follow_open(f, 1u << 30, err, sizeof(err)), 0);
    lt_tally *w = lt_tally_new(&limits);
    read_all(f, w, 0);
    ck_assert_uint_eq(valid(w), 17);
    lt_follow_free(f);
    lt_tally_free(t);
    lt_tally_free(u);
    lt_tally_free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("follow");
    TCase *tc = tcase_create("follow");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, appends_and_partial_lines);
    tcase_add_test(tc, copytruncate_starts_over);
    tcase_add_test(tc, rename_rotation_and_deletion);
    tcase_add_test(tc, overlong_line_between_reads);
    tcase_add_test(tc, resume_at_offset);
    tcase_add_test(tc, fingerprint_follows_the_file);
    tcase_add_loop_test(tc, parts_read_like_one_reader, 0, 4);
    tcase_add_test(tc, parts_stop_at_a_truncation);
    tcase_add_test(tc, cut_while_a_part_is_read);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
