/* test_gz.c -- Check suite for lib/gz.c and lib/stream.c: compressed
 * rotated logs, concatenated members, damage, and the stream splitter's
 * overlong and unterminated lines. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gz.h"
#include "lt_test.h"

static char path[64];
static lt_format *fmt;
static lt_parser *ps;
static const lt_limits limits = {1 << 20, 1000, 0, {0}, 0};

static void setup(void)
{
    char err[64];
    strcpy(path, "/tmp/lt-gz-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    fmt = lt_format_new("common", err, sizeof(err));
    ps = lt_parser_new(fmt);
}

static void teardown(void)
{
    unlink(path);
    lt_parser_free(ps);
    lt_format_free(fmt);
}

/* Writes n lines (clients 10.0.x.y) as one gzip member, appended when
 * append is set; tail is written after them. */
static void write_gz(int first, int n, const char *tail, int append)
{
    gzFile g = gzopen(path, append ? "ab" : "wb");
    ck_assert_ptr_nonnull(g);
    for (int i = first; i < first + n; i++)
        gzprintf(g, "10.0.%d.%d - - [17/May/2015:10:05:03 +0000] \"GET /%d HTTP/1.1\" 200 1\n",
                 i / 256, i % 256, i % 10);
    if (tail)
        gzwrite(g, tail, (unsigned)strlen(tail));
    gzclose(g);
}

START_TEST(members_and_last_line)
{
    char err[256];
    write_gz(0, 5000, NULL, 0);
    write_gz(5000, 3000, "10.9.9.9 - - [17/May/2015:10:05:03 +0000] \"GET /end HTTP/1.1\" 200 1", 1);
    lt_tally *t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_gz_read(path, t, ps, 0, err, sizeof(err)), 0);
    const lt_counters *n = lt_tally_counters(t);
    ck_assert_uint_eq(n->lines, 8001);
    ck_assert_uint_eq(n->valid, 8001);
    lt_client_counts c;
    lt_clients_counts(lt_tally_clients(t), &c);
    ck_assert_uint_eq(c.total, 8001);
    lt_tally_free(t);
}
END_TEST

START_TEST(overlong_line_inside)
{
    char err[256];
    size_t big = (size_t)5 << 20;    /* longer than the stream buffer */
    char *junk = malloc(big + 2);
    memset(junk, 'z', big);
    strcpy(junk + big, "\n");
    write_gz(0, 10, junk, 0);
    write_gz(10, 10, NULL, 1);
    lt_tally *t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_gz_read(path, t, ps, 4, err, sizeof(err)), 0);
    const lt_counters *n = lt_tally_counters(t);
    ck_assert_uint_eq(n->valid, 20);
    ck_assert_uint_eq(n->malformed, 1);
    lt_sample s[LT_SAMPLES];
    ck_assert_uint_eq(lt_tally_samples(t, s), 1);
    ck_assert_int_eq(s[0].reason, LT_PARSE_TOO_LONG);
    ck_assert_uint_eq(s[0].line, 11);
    ck_assert_uint_eq(s[0].source, 4);
    free(junk);
    lt_tally_free(t);
}
END_TEST

START_TEST(damage_is_an_error_naming_the_file)
{
    char err[256];
    write_gz(0, 20000, NULL, 0);
    /* Cut the compressed file in half: the lines before the cut count. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(path, size / 2), 0);
    lt_tally *t = lt_tally_new(&limits);
    ck_assert_int_lt(lt_gz_read(path, t, ps, 0, err, sizeof(err)), 0);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "message '%s' does not name the file", err);
    ck_assert_uint_gt(lt_tally_counters(t)->valid, 0);
    ck_assert_uint_lt(lt_tally_counters(t)->valid, 20000);
    lt_tally_free(t);

    /* A plain file named .gz, and a missing one. */
    f = fopen(path, "w");
    fputs("10.0.0.1 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 1\n", f);
    fclose(f);
    t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_gz_read(path, t, ps, 0, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a gzip file"));
    ck_assert_int_eq(lt_gz_read("/nonexistent.gz", t, ps, 0, err, sizeof(err)), -ENOENT);
    ck_assert_str_eq(err, "/nonexistent.gz: No such file or directory");
    ck_assert_uint_eq(lt_tally_counters(t)->lines, 0);
    lt_tally_free(t);
    ck_assert(lt_gz_is_gz("access.log.2.gz"));
    ck_assert(!lt_gz_is_gz("access.log"));
    ck_assert(!lt_gz_is_gz(".gz"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gz");
    TCase *tc = tcase_create("gz");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, members_and_last_line);
    tcase_add_test(tc, overlong_line_inside);
    tcase_add_test(tc, damage_is_an_error_naming_the_file);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
