/* test_scan.c -- Check suite for lib/scan.c: windows, straddling lines,
 * overlong lines, a last line without '\n', and newline-aligned splits. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "scan.h"
#include "lt_test.h"

struct seen {
    uint64_t lines, overlong, bytes;
    uint64_t hash;          /* order-sensitive digest of the lines */
    size_t last_len;
    char last[64];
};

static int see(void *arg, const char *line, size_t len, int overlong)
{
    struct seen *s = arg;
    s->lines++;
    s->overlong += (uint64_t)overlong;
    s->bytes += len;
    for (size_t i = 0; i < len; i++)
        s->hash = (s->hash ^ (unsigned char)line[i]) * 0x100000001b3u;
    s->hash = (s->hash ^ 0x0a) * 0x100000001b3u;
    s->last_len = len < sizeof(s->last) ? len : sizeof(s->last);
    memcpy(s->last, line, s->last_len);
    return 0;
}

static char path[64];

static int make_file(const char *data, size_t len)
{
    strcpy(path, "/tmp/lt-scan-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    unlink(path);
    return fd;
}

/* lt_scan_fd_lines()'s callback: checks the batch size and sees each line. */
static int see_batch(void *arg, const lt_line *lines, size_t n)
{
    ck_assert(n >= 1 && n <= LT_SCAN_BATCH);
    for (size_t i = 0; i < n; i++)
        see(arg, lines[i].text, lines[i].len, lines[i].overlong);
    return 0;
}

/* Scans the whole file one line at a time and in batches; both must see
 * the same lines in the same order and end at the same place. */
static struct seen scan_all(int fd, uint64_t size, int final)
{
    struct seen s = {0}, b = {0};
    lt_scan_pos pos = {0}, bpos = {0};
    char err[128];
    ck_assert_int_eq(lt_scan_fd(fd, &pos, size, final, see, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(lt_scan_fd_lines(fd, &bpos, size, final, see_batch, &b, err, sizeof(err)), 0);
    ck_assert_uint_eq(b.lines, s.lines);
    ck_assert_uint_eq(b.overlong, s.overlong);
    ck_assert_uint_eq(b.bytes, s.bytes);
    ck_assert_uint_eq(b.hash, s.hash);
    ck_assert_uint_eq(bpos.offset, pos.offset);
    ck_assert_int_eq(bpos.skipping, pos.skipping);
    return s;
}

START_TEST(straddling_windows)
{
    /* Lines of varying length over three windows: every line is seen once,
     * whole, whatever window boundary it crosses. */
    size_t cap = 3 * LT_SCAN_WINDOW + 1000, len = 0;
    char *data = malloc(cap);
    uint64_t lines = 0;
    struct seen want = {0};
    while (len + 300 < cap) {
        size_t n = 1 + (lines * 7919) % 250;
        for (size_t i = 0; i < n; i++)
            data[len + i] = (char)('a' + (lines + i) % 26);
        see(&want, data + len, n, 0);
        len += n;
        data[len++] = '\n';
        lines++;
    }
    int fd = make_file(data, len);
    struct seen got = scan_all(fd, len, 1);
    ck_assert_uint_eq(got.lines, lines);
    ck_assert_uint_eq(got.hash, want.hash);
    ck_assert_uint_eq(got.overlong, 0);

    /* The same lines through ranges cut at line starts, read range by
     * range. */
    for (unsigned parts = 2; parts <= 7; parts++) {
        uint64_t starts[8] = {0};
        for (unsigned i = 1; i < parts; i++)
            ck_assert_int_eq(lt_scan_line_start(fd, len / parts * i, len, &starts[i]), 0);
        struct seen s = {0};
        for (unsigned i = 0; i < parts; i++) {
            lt_scan_pos pos = {starts[i], 0};
            uint64_t to = i + 1 < parts ? starts[i + 1] : len;
            ck_assert(starts[i] == 0 || data[starts[i] - 1] == '\n');
            char err[128];
            ck_assert_int_eq(lt_scan_fd(fd, &pos, to, 1, see, &s, err, sizeof(err)), 0);
            ck_assert_uint_eq(pos.offset, to);
        }
        ck_assert_uint_eq(s.lines, lines);
        ck_assert_uint_eq(s.hash, want.hash);
    }
    close(fd);
    free(data);
}
END_TEST

START_TEST(last_line_without_newline)
{
    static const char data[] = "one\ntwo\r\n\nlast";
    int fd = make_file(data, sizeof(data) - 1);
    struct seen s = scan_all(fd, sizeof(data) - 1, 1);
    ck_assert_uint_eq(s.lines, 4);
    ck_assert_uint_eq(s.last_len, 4);
    ck_assert_int_eq(memcmp(s.last, "last", 4), 0);

    /* Following a file: the partial line waits for its '\n'. */
    struct seen f = {0};
    lt_scan_pos pos = {0};
    char err[128];
    ck_assert_int_eq(lt_scan_fd(fd, &pos, sizeof(data) - 1, 0, see, &f, err, sizeof(err)), 0);
    ck_assert_uint_eq(f.lines, 3);
    ck_assert_uint_eq(pos.offset, sizeof(data) - 1 - 4);
    ck_assert_int_eq(write(fd, "-line\n", 6), 6);
    ck_assert_int_eq(lt_scan_fd(fd, &pos, sizeof(data) - 1 + 6, 0, see, &f, err, sizeof(err)), 0);
    ck_assert_uint_eq(f.lines, 4);
    ck_assert_int_eq(memcmp(f.last, "last-line", 9), 0);
    close(fd);

    /* An empty file has no lines. */
    fd = make_file("", 0);
    s = scan_all(fd, 0, 1);
    ck_assert_uint_eq(s.lines, 0);
    close(fd);
}
END_TEST

START_TEST(overlong_lines)
{
    /* A 3 MiB line (inside a window) and a 20 MiB line (longer than a
     * window), each followed by a normal line that must not be lost. */
    size_t a = 3u << 20, b = 20u << 20, len = a + 1 + 5 + b + 1 + 5;
    char *data = malloc(len);
    memset(data, 'x', len);
    data[a] = '\n';
    memcpy(data + a + 1, "next\n", 5);
    data[a + 6 + b] = '\n';
    memcpy(data + a + 6 + b + 1, "tail\n", 5);
    int fd = make_file(data, len);
    struct seen s = scan_all(fd, len, 1);
    ck_assert_uint_eq(s.lines, 4);
    ck_assert_uint_eq(s.overlong, 2);
    ck_assert_int_eq(memcmp(s.last, "tail", 4), 0);
    /* Overlong lines pass only their head. */
    ck_assert_uint_eq(s.bytes, 2 * LT_SCAN_HEAD + 8);

    /* Followed in two steps with the long line cut in the middle: it is
     * reported once, and its rest is skipped on the next call. */
    struct seen f = {0};
    lt_scan_pos pos = {0};
    char err[128];
    uint64_t cut = a + 6 + b / 2;
    ck_assert_int_eq(lt_scan_fd(fd, &pos, cut, 0, see, &f, err, sizeof(err)), 0);
    ck_assert_uint_eq(f.lines, 3);
    ck_assert_int_eq(pos.skipping, 1);
    ck_assert_int_eq(lt_scan_fd(fd, &pos, len, 0, see, &f, err, sizeof(err)), 0);
    ck_assert_uint_eq(f.lines, 4);
    ck_assert_uint_eq(f.overlong, 2);
    ck_assert_uint_eq(pos.offset, len);
    close(fd);
    free(data);
}
END_TEST

/* A callback's non-zero return stops a batched scan after that batch. */
static int stop_after_two(void *arg, const lt_line *lines, size_t n)
{
    (void)lines;
    *(size_t *)arg += n;
    return *(size_t *)arg >= 2 * LT_SCAN_BATCH ? 42 : 0;
}

START_TEST(batches_stop_when_asked)
{
    char data[4 * LT_SCAN_BATCH * 3];
    for (size_t i = 0; i < sizeof(data); i += 3)
        memcpy(data + i, "ab\n", 3);
    int fd = make_file(data, sizeof(data));
    size_t seen = 0;
    lt_scan_pos pos = {0};
    char err[128];
    ck_assert_int_eq(lt_scan_fd_lines(fd, &pos, sizeof(data), 1, stop_after_two, &seen, err,
                                      sizeof(err)),
                     42);
    ck_assert_uint_eq(seen, 2 * LT_SCAN_BATCH);
    ck_assert_uint_eq(pos.offset, 2 * LT_SCAN_BATCH * 3);
    close(fd);
}
END_TEST

/* The planner: max while a 2n-th of what is left is larger, then that
 * share, never under min nor over what is left; planned to the end, the
 * pieces never grow and add up to the range. */
START_TEST(plan_pieces_shrink_to_the_end)
{
    ck_assert_uint_eq(lt_plan_piece(1000, 100, 10, 2), 100);
    ck_assert_uint_eq(lt_plan_piece(300, 100, 10, 2), 75);
    ck_assert_uint_eq(lt_plan_piece(30, 100, 10, 2), 10);
    ck_assert_uint_eq(lt_plan_piece(5, 100, 10, 2), 5);
    ck_assert_uint_eq(lt_plan_piece(0, 100, 10, 2), 0);
    ck_assert_uint_eq(lt_plan_piece(1000, 100, 10, 0), 100);    /* n 0 counts as 1 */
    uint64_t left = 10007, sum = 0, last = UINT64_MAX;
    while (left > 0) {
        uint64_t p = lt_plan_piece(left, 512, 16, 3);
        ck_assert_uint_gt(p, 0);
        ck_assert_uint_le(p, last);
        sum += p;
        left -= p;
        last = p;
    }
    ck_assert_uint_eq(sum, 10007);
}
END_TEST

START_TEST(bad_fd_is_an_error)
{
    struct seen s = {0};
    lt_scan_pos pos = {0};
    char err[128] = "";
    ck_assert_int_lt(lt_scan_fd(-1, &pos, 100, 1, see, &s, err, sizeof(err)), 0);
    ck_assert_msg(strncmp(err, "mmap:", 5) == 0, "message '%s'", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scan");
    TCase *tc = tcase_create("scan");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, straddling_windows);
    tcase_add_test(tc, last_line_without_newline);
    tcase_add_test(tc, overlong_lines);
    tcase_add_test(tc, batches_stop_when_asked);
    tcase_add_test(tc, bad_fd_is_an_error);
    tcase_add_test(tc, plan_pieces_shrink_to_the_end);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
