/* test_ingest.c -- Check suite for lib/ingest.c: any number of threads
 * gives the single reader's result, streams read like files, and errors
 * name the file. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest.h"
#include "summary.h"
#include "lt_test.h"

/* Few URL counters per time bucket: a partial tally's bucket table would
 * otherwise double its URLs, and many_chunks_agree measures how much of
 * the tally's own tables partial tallies hold. */
static const lt_limits limits = {64 << 20, 100000, 0, {.urls = 16}, 0};
static char path[64];
static lt_format *fmt;

/* About 6 MiB of lines, a malformed one every 1000 (line 1000k + 7), no
 * '\n' after the last line. */
static void setup(void)
{
    char err[64];
    fmt = lt_format_new("combined", err, sizeof(err));
    strcpy(path, "/tmp/lt-ingest-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 50000; i++) {
        if (i % 1000 == 6)
            fprintf(f, "garbage line %d\n", i);
        else
            fprintf(f, "10.%d.%d.%d - - [17/May/2015:%02d:%02d:%02d +0200] \"GET /page/%d HTTP/1.1\" "
                       "200 %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) test agent\"%s",
                    i % 3, (i / 7) % 256, i % 256, (i / 3600) % 24, (i / 60) % 60, i % 60,
                    (int)((unsigned)i * (unsigned)i % 997u), i, i == 49999 ? "" : "\n");
    }
    fclose(f);
}

static void teardown(void)
{
    unlink(path);
    lt_format_free(fmt);
}

/* The summary of t as JSON, less its memory figures. */
static char *json_tally(lt_tally *t)
{
    lt_summary s;
    lt_buf b;
    ck_assert_int_eq(lt_summary_fill(&s, t, 20), 0);
    memset(&s.memory, 0, sizeof(s.memory));    /* partial tables differ in size */
    s.url_bytes = s.rps_bytes = s.bucket_bytes = 0;
    lt_buf_init(&b);
    lt_summary_json(&b, &s, NULL, 0);
    lt_summary_release(&s);
    return b.data;
}

static char *json_limited(const char *p, const lt_limits *lim, unsigned threads, uint64_t chunk,
                          lt_ingest_stats *st, size_t *bytes)
{
    char err[256];
    lt_tally *t = lt_tally_new(lim);
    ck_assert_int_eq(lt_ingest_chunked(t, p, 0, fmt, threads, chunk, st, err, sizeof(err)), 0);
    if (bytes != NULL)
        *bytes = lt_tally_bytes(t);
    char *json = json_tally(t);
    lt_tally_free(t);
    return json;
}

static char *json_chunked(const char *p, unsigned threads, uint64_t chunk, lt_ingest_stats *st,
                          size_t *bytes)
{
    return json_limited(p, &limits, threads, chunk, st, bytes);
}

static char *json_of(const char *p, unsigned threads)
{
    return json_chunked(p, threads, 0, NULL, NULL);
}

START_TEST(threads_agree)
{
    char *one = json_of(path, 1);
    ck_assert_ptr_nonnull(strstr(one, "\"lines\":50000,\"valid\":49950,\"malformed\":50,"));
    /* The last malformed line is garbage line 49006, on line 49007. */
    ck_assert_ptr_nonnull(strstr(one, "\"line\":49007,"));
    for (unsigned n = 2; n <= 5; n++) {
        char *many = json_of(path, n);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        free(many);
    }
    free(one);
}
END_TEST

/* Small chunks: about eighty of them, merged in file order whichever
 * worker finishes first; every line has its own URL, so partial tallies
 * that piled up (or covered half the file each) would hold about as much
 * as the result. */
START_TEST(many_chunks_agree)
{
    char p[64] = "/tmp/lt-ingest-chunks-XXXXXX";
    FILE *f = fdopen(mkstemp(p), "w");
    for (int i = 0; i < 60000; i++)
        fprintf(f, "10.%d.%d.%d - - [17/May/2015:10:%02d:%02d +0000] \"GET /u/%d/%x HTTP/1.1\" "
                   "200 %d\n%s",
                i >> 16, (i >> 8) & 255, i & 255, (i / 60) % 60, i % 60, i, i * 7919, i,
                i % 7000 == 3 ? "not a log line\n" : "");
    fclose(f);

    /* Room for every URL in each worker's table: a worker that reads most
     * chunks (the other one descheduled) would otherwise hand its table
     * over at half of url_entries, and that table, waiting to be merged,
     * is not the partial tallies this test bounds. */
    lt_limits roomy = limits;
    roomy.url_entries = 1000000;
    lt_ingest_stats st;
    size_t whole;
    char *one = json_limited(p, &roomy, 1, 64 << 10, &st, &whole);
    ck_assert_uint_eq(st.chunks, 1);
    ck_assert_ptr_nonnull(strstr(one, "\"lines\":60009,\"valid\":60000,\"malformed\":9,"));
    for (unsigned n = 2; n <= 4; n++) {
        char *many = json_limited(p, &roomy, n, 64 << 10, &st, NULL);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        ck_assert_uint_gt(st.chunks, 60);
        ck_assert_uint_gt(st.peak_partial_bytes, 0);
        ck_assert_msg(st.peak_partial_bytes < whole / 4, "%u threads: %zu bytes waiting of %zu", n,
                      st.peak_partial_bytes, whole);
        free(many);
    }
    free(one);
    unlink(p);
}
END_TEST

/* Lines longer than a chunk, and longer than LT_LINE_MAX, across cuts. */
START_TEST(long_lines_across_chunks)
{
    char p[64] = "/tmp/lt-ingest-long-XXXXXX";
    int fd = mkstemp(p);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 60000; i++) {
        if (i % 9000 == 5) {
            size_t n = i % 18000 == 5 ? (3u << 20) : (200u << 10);    /* overlong, long */
            for (size_t k = 0; k < n; k++)
                fputc('a' + (int)(k % 26), f);
            fputc('\n', f);
        }
        fprintf(f, "192.0.2.%d - - [17/May/2015:10:%02d:%02d +0000] \"GET /x/%d HTTP/1.1\" 200 %d\n",
                i % 200, (i / 60) % 60, i % 60, i % 777, i);
    }
    fclose(f);
    char *one = json_chunked(p, 1, 0, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(one, "\"lines\":60007,\"valid\":60000,\"malformed\":7,"));
    for (unsigned n = 2; n <= 3; n++) {
        char *many = json_chunked(p, n, 64 << 10, NULL, NULL);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        free(many);
    }
    free(one);
    unlink(p);
}
END_TEST

/* Writes lines of n distinct URLs: /hot/0../hot/4 on every tenth line,
 * /u/<i * 7919 mod n> on the others, whose counts go to u_truth; returns
 * how many lines. */
static unsigned u_truth[60000];

static unsigned write_urls(const char *p, unsigned lines, unsigned n)
{
    FILE *f = fopen(p, "w");
    memset(u_truth, 0, sizeof(u_truth));
    for (unsigned i = 0; i < lines; i++) {
        unsigned u = (i * 7919u) % n;
        fprintf(f, "10.0.%u.%u - - [17/May/2015:10:%02u:%02u +0000] \"GET ", (i >> 8) & 255,
                i & 255, (i / 60) % 60, i % 60);
        if (i % 10 == 0) {
            fprintf(f, "/hot/%u", (i / 10) % 5);
        } else {
            fprintf(f, "/u/%u", u);
            u_truth[u]++;
        }
        fprintf(f, " HTTP/1.1\" 200 1\n");
    }
    fclose(f);
    return lines;
}

/* Workers keep their URL tables across chunks and hand them over for a
 * merge once they hold half the URL limit: with 18,005 URLs, each seen
 * several times all over the file, and a limit of 18,005, the tables are
 * handed over many times and the result is still the single reader's. */
START_TEST(url_handovers_agree)
{
    char p[64] = "/tmp/lt-ingest-urls-XXXXXX";
    close(mkstemp(p));
    write_urls(p, 120000, 20000);
    lt_limits lim = limits;
    lim.url_entries = 18005;
    lt_ingest_stats st;
    char *one = json_limited(p, &lim, 1, 64 << 10, &st, NULL);
    ck_assert_ptr_nonnull(strstr(one, "\"distinct\":18005,"));
    ck_assert_ptr_nonnull(strstr(one, "\"exact\":true"));
    for (unsigned n = 2; n <= 4; n++) {
        char *many = json_limited(p, &lim, n, 64 << 10, &st, NULL);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        ck_assert_uint_gt(st.url_handovers, n);
        free(many);
    }
    free(one);
    unlink(p);
}
END_TEST

/* Past the limit the merged table is Space-Saving: every count it reports
 * is within its stated error of the truth, and the five hot URLs lead. */
START_TEST(url_handovers_bounded)
{
    char p[64] = "/tmp/lt-ingest-urlss-XXXXXX";
    close(mkstemp(p));
    unsigned lines = write_urls(p, 120000, 60000);
    lt_limits lim = limits;
    lim.url_entries = 4000;
    for (unsigned n = 1; n <= 4; n++) {
        char err[256];
        lt_ingest_stats st;
        lt_tally *t = lt_tally_new(&lim);
        ck_assert_int_eq(lt_ingest_chunked(t, p, 0, fmt, n, 64 << 10, &st, err, sizeof(err)), 0);
        const lt_urls *u = lt_tally_urls(t);
        ck_assert(!lt_urls_exact(u));
        ck_assert_uint_eq(lt_urls_total(u), lines);
        lt_url_count top[8];
        ck_assert_uint_eq(lt_urls_top(u, 8, top), 8);
        for (unsigned k = 0; k < 8; k++) {
            char url[32];
            snprintf(url, sizeof(url), "%.*s", (int)top[k].len, top[k].url);
            uint64_t truth = strncmp(url, "/hot/", 5) == 0 ? lines / 50
                             : strncmp(url, "/u/", 3) == 0 ? u_truth[strtoul(url + 3, NULL, 10)]
                                                           : UINT64_MAX;
            ck_assert_msg(top[k].count - top[k].error <= truth && truth <= top[k].count,
                          "%u threads: %s %" PRIu64 " - %" PRIu64, n, url, top[k].count,
                          top[k].error);
            if (k < 5)
                ck_assert_msg(truth == lines / 50, "%u threads: %s in the top 5", n, url);
        }
        lt_tally_free(t);
    }
    unlink(p);
}
END_TEST

/* 150,000 lines of 120,000 distinct IPv4 clients (and some IPv6 and
 * hostname ones) in 64 KiB chunks: the shared IPv4 set grows through many
 * barriers while partial tallies come and go.  Exact, every thread count
 * gives the single reader's report; with a budget the clients pass
 * mid-file, every thread count switches to the same HyperLogLog answer. */
START_TEST(many_clients_agree)
{
    char p[64] = "/tmp/lt-ingest-clients-XXXXXX";
    FILE *f = fdopen(mkstemp(p), "w");
    for (unsigned i = 0; i < 150000; i++) {
        unsigned c = (i * 7919u) % 120000u;
        if (i % 50 == 1)
            fprintf(f, "2001:db8::%x", c);
        else if (i % 50 == 2)
            fprintf(f, "host-%u.example.net", c);
        else
            fprintf(f, "%u.%u.%u.%u", 11 + c % 200, (c >> 4) & 255, (c >> 8) & 255, c & 255);
        fprintf(f, " - - [17/May/2015:10:%02u:%02u +0000] \"GET /c/%u HTTP/1.1\" 200 %u\n",
                (i / 60) % 60, i % 60, i % 5000, i);
    }
    fclose(f);

    char *one = json_chunked(p, 1, 64 << 10, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(one, "\"exact\":true"));
    for (unsigned n = 2; n <= 4; n++) {
        char *many = json_chunked(p, n, 64 << 10, NULL, NULL);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        free(many);
    }
    free(one);

    /* 512 KiB holds the first few ten thousand addresses, not 120,000. */
    lt_limits small = limits;
    small.exact_clients_bytes = 512 << 10;
    one = json_limited(p, &small, 1, 64 << 10, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(one, "\"exact\":false"));
    for (unsigned n = 2; n <= 4; n++) {
        char *many = json_limited(p, &small, n, 64 << 10, NULL, NULL);
        ck_assert_msg(strcmp(one, many) == 0, "%u threads differ:\n%s\n%s", n, one, many);
        free(many);
    }
    free(one);
    unlink(p);
}
END_TEST

struct feeder {
    int out;
    const char *from;
};

static void *feed_pipe(void *arg)
{
    struct feeder *f = arg;
    char buf[65536];
    int in = open(f->from, O_RDONLY);
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(f->out, buf, (size_t)n) != n)
            break;
    close(in);
    close(f->out);
    return NULL;
}

/* Counts [from, to) of the file into a new tally (lines numbered from
 * `before` + 1) with lt_ingest_range_read(), and checks what it says. */
static lt_tally *read_range(int fd, uint64_t from, uint64_t to, uint64_t size, int final,
                            unsigned threads, uint64_t before, lt_ingest_range *r)
{
    char err[256];
    lt_tally *t = lt_tally_new(&limits);
    *r = (lt_ingest_range){.fd = fd, .from = from, .to = to, .size = size, .final = final};
    ck_assert_int_eq(lt_ingest_range_read(t, r, 0, fmt, threads, err, sizeof(err)), 0);
    ck_assert_int_eq(r->cut_short, 0);
    ck_assert_uint_eq(r->lines, lt_tally_counters(t)->lines);
    ck_assert_uint_eq(r->malformed, lt_tally_counters(t)->malformed);
    lt_tally_shift_lines(t, 0, before);
    return t;
}

/* The daemon's reads: a range that ends at the file's end leaves the last
 * line (no '\n') unless final; one that ends inside a line stops at the
 * next line start; ranges read one after another, on any thread count,
 * give the whole file's counts and sample line numbers. */
START_TEST(ranges_read_like_the_file)
{
    char *want = json_of(path, 1);
    int fd = open(path, O_RDONLY);
    uint64_t size = (uint64_t)lseek(fd, 0, SEEK_END);
    for (unsigned threads = 1; threads <= 3; threads++) {
        lt_ingest_range r1, r2, r3;
        /* The whole file, not final: every line but the last. */
        lt_tally *t = read_range(fd, 0, size, size, 0, threads, 0, &r1);
        ck_assert_uint_eq(r1.lines, 49999);
        ck_assert_uint_eq(r1.to, size);
        ck_assert_uint_lt(r1.consumed, size);
        lt_tally *last = read_range(fd, r1.consumed, size, size, 1, threads, r1.lines, &r2);
        ck_assert_uint_eq(r2.lines, 1);
        ck_assert_uint_eq(r1.consumed + r2.consumed, size);
        ck_assert_int_eq(lt_tally_absorb(t, last), 0);
        lt_tally_free(last);
        char *got = json_tally(t);
        ck_assert_str_eq(got, want);
        free(got);
        lt_tally_free(t);

        /* Cut in the middle of a line, then the rest. */
        uint64_t mid = size / 2 + 17;
        t = read_range(fd, 0, mid, size, 0, threads, 0, &r1);
        ck_assert_uint_gt(r1.to, mid);
        ck_assert_uint_eq(r1.consumed, r1.to);
        last = read_range(fd, r1.to, size, size, 1, threads, r1.lines, &r3);
        ck_assert_uint_eq(r1.lines + r3.lines, 50000);
        ck_assert_int_eq(lt_tally_absorb(t, last), 0);
        lt_tally_free(last);
        got = json_tally(t);
        ck_assert_str_eq(got, want);
        free(got);
        lt_tally_free(t);
    }
    close(fd);
    free(want);
}
END_TEST

/* A writer stopped inside a line longer than LT_LINE_MAX at the end: the
 * cuts near the end all fall inside it, and the chunk that reaches the end
 * of the range (not the nominal last one) ends early, which is no
 * truncation.  The line is counted by its head, once, and the range ends
 * inside it (skipping). */
START_TEST(range_ends_inside_an_overlong_line)
{
    FILE *f = fopen(path, "a");
    fputc('\n', f);
    for (int i = 0; i < (3 << 19); i++)
        fputc('x', f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    uint64_t size = (uint64_t)lseek(fd, 0, SEEK_END);
    for (unsigned threads = 2; threads <= 3; threads++) {
        lt_ingest_range r;
        lt_tally *t = read_range(fd, 0, size, size, 0, threads, 0, &r);
        ck_assert_uint_eq(r.consumed, size);
        ck_assert_uint_eq(r.lines, 50001);
        ck_assert_uint_eq(lt_tally_counters(t)->malformed, 51);
        ck_assert_int_eq(r.skipping, 1);
        lt_tally_free(t);
    }
    close(fd);
}
END_TEST

START_TEST(stream_reads_like_a_file)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    struct feeder f = {p[1], path};
    pthread_t tid;
    pthread_create(&tid, NULL, feed_pipe, &f);
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", p[0]);
    char *streamed = json_of(fdpath, 4);
    pthread_join(tid, NULL);
    close(p[0]);
    char *mapped = json_of(path, 1);
    ck_assert_str_eq(streamed, mapped);
    free(streamed);
    free(mapped);
}
END_TEST

START_TEST(errors_name_the_file)
{
    char err[256];
    lt_tally *t = lt_tally_new(&limits);
    ck_assert_int_eq(lt_ingest_path(t, "/nonexistent/x.log", 0, fmt, 2, err, sizeof(err)), -ENOENT);
    ck_assert_str_eq(err, "/nonexistent/x.log: No such file or directory");
    ck_assert_int_eq(lt_ingest_path(t, "/tmp", 0, fmt, 2, err, sizeof(err)), -EISDIR);
    ck_assert_str_eq(err, "/tmp: is a directory");
    ck_assert_uint_eq(lt_tally_counters(t)->lines, 0);
    lt_tally_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ingest");
    TCase *tc = tcase_create("ingest");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, threads_agree);
    tcase_add_test(tc, many_chunks_agree);
    tcase_add_test(tc, long_lines_across_chunks);
    tcase_add_test(tc, many_clients_agree);
    tcase_add_test(tc, url_handovers_agree);
    tcase_add_test(tc, url_handovers_bounded);
    tcase_add_test(tc, ranges_read_like_the_file);
    tcase_add_test(tc, range_ends_inside_an_overlong_line);
    tcase_add_test(tc, stream_reads_like_a_file);
    tcase_add_test(tc, errors_name_the_file);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
