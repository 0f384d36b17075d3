/* analyze.c -- `logtally analyze`: the whole pipeline once, no daemon.
 *
 * Every file is read into one tally (lib/ingest.c: mapped in windows, on
 * all cores; lib/gz.c for a rotated FILE.gz), then the summary is printed as a table on a terminal or as
 * the JSON object of GET /v1/summary with --json.  A file that cannot be
 * read is reported on stderr and skipped; the report covers the others and
 * the exit code is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "gz.h"
#include "ingest.h"
#include "parse.h"
#include "qtime.h"
#include "report.h"
#include "snapshot.h"
#include "summary.h"
#include "tally.h"

static void analyze_usage(FILE *out)
{
    fputs("usage: logtally analyze [OPTIONS] FILE...\n"
          "\n"
          "Counts access logs once and prints the report (FILE '-' reads standard input;\n"
          "a FILE ending in .gz is decompressed).\n"
          "\n"
          "  -f, --format F             common | combined | vhost_combined | nginx, or an\n"
          "                             Apache LogFormat string (default combined)\n"
          "  -n, --top N                URLs in the top list (default 10)\n"
          "  -j, --json                 print one JSON object instead of a table\n"
          "  -t, --threads N            reader threads (default: online CPUs)\n"
          "      --strip-query          count /a?x=1 as /a\n"
          "      --exact-clients-bytes SIZE\n"
          "                             memory for exact client sets before the\n"
          "                             HyperLogLog takes over (default 256MiB)\n"
          "      --url-entries N        URLs counted exactly before top-k (default 1000000)\n"
          "      --save SNAP            also write the snapshot (for logtally merge)\n"
          "      --bucket-width D       time bucket width, 1m to 1d dividing a day (default 1h)\n"
          "      --bucket-clients-bytes SIZE\n"
          "                             memory for the buckets' exact client sets before\n"
          "                             their HyperLogLogs take over (default 64MiB)\n"
          "      --from T, --to T       report the window from T to T (inclusive): epoch\n"
          "                             seconds, ISO 8601, now or -15m\n"
          "  -h, --help\n",
          out);
}

static int parse_count(const char *s, size_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cli_print_report(const char *cmd, const lt_tally *t, size_t top, int json,
                     const char *const *names, size_t n_names)
{
    return cli_print_window_report(cmd, t, top, json, names, n_names, NULL, NULL);
}

int cli_print_window_report(const char *cmd, const lt_tally *t, size_t top, int json,
                            const char *const *names, size_t n_names, const char *from,
                            const char *to)
{
    lt_summary s;
    lt_buf b;
    int rc = EXIT_OK;
    int windowed = from != NULL || to != NULL;

    if (windowed) {
        int64_t f, l, wf, wt;
        char err[300];
        int any = lt_rps_span(lt_tally_rps(t), &f, &l);
        if (lt_qtime_window(from, to, (int64_t)time(NULL), any, f, l, &wf, &wt, err,
                            sizeof(err)) < 0) {
            fprintf(stderr, "logtally %s: %s\n", cmd, err);
            return EXIT_USAGE;
        }
        if (lt_summary_fill_window(&s, t, wf, wt, top, 10) < 0) {
            fprintf(stderr, "logtally %s: out of memory\n", cmd);
            return EXIT_FAILED;
        }
    } else if (lt_summary_fill(&s, t, top) < 0) {
        fprintf(stderr, "logtally %s: out of memory\n", cmd);
        return EXIT_FAILED;
    }
    lt_buf_init(&b);
    if (json) {
        lt_summary_json(&b, &s, names, n_names);
        lt_buf_puts(&b, "\n");
    } else {
        lt_report_text(&b, &s, names, n_names);
    }
    if (lt_buf_failed(&b)) {
        fprintf(stderr, "logtally %s: out of memory\n", cmd);
        rc = EXIT_FAILED;
    } else {
        fwrite(b.data, 1, b.len, stdout);
    }
    lt_buf_free(&b);
    lt_summary_release(&s);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "logtally %s: writing the report: %s\n", cmd, strerror(errno));
        rc = EXIT_FAILED;
    }
    return rc;
}

int cmd_analyze(int argc, char **argv)
{
    enum { OPT_STRIP = 256, OPT_EXACT, OPT_URLS, OPT_SAVE, OPT_FROM, OPT_TO, OPT_BWIDTH,
           OPT_BCLIENTS };
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"threads", required_argument, NULL, 't'},
        {"strip-query", no_argument, NULL, OPT_STRIP},
        {"exact-clients-bytes", required_argument, NULL, OPT_EXACT},
        {"url-entries", required_argument, NULL, OPT_URLS},
        {"save", required_argument, NULL, OPT_SAVE},
        {"bucket-width", required_argument, NULL, OPT_BWIDTH},
        {"bucket-clients-bytes", required_argument, NULL, OPT_BCLIENTS},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "combined", *save = NULL, *from = NULL, *to = NULL;
    size_t top = 10, threads = 0;
    int json = 0, c;
    lt_limits limits = {
        .exact_clients_bytes = LT_DEFAULT_EXACT_CLIENTS_BYTES,
        .url_entries = LT_DEFAULT_URL_ENTRIES,
        .strip_query = 0,
    };

    optind = 1;
    while ((c = getopt_long(argc, argv, "f:n:jt:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'j': json = 1; break;
        case OPT_STRIP: limits.strip_query = 1; break;
        case OPT_SAVE: save = optarg; break;
        case OPT_FROM: from = optarg; break;
        case OPT_BWIDTH: {
            int64_t w;
            char why[160];
            lt_buckets_conf bc = {0};
            if (lt_qtime_duration(optarg, &w, why, sizeof(why)) == 0) {
                bc.width = w;
                if (lt_buckets_conf_check(&bc, why, sizeof(why)) == 0) {
                    limits.buckets.width = w;
                    break;
                }
            }
            fprintf(stderr, "logtally analyze: --bucket-width: %s\n", why);
            return EXIT_USAGE;
        }
        case OPT_BCLIENTS:
            if (lt_config_parse_size(optarg, &limits.buckets.clients_bytes) < 0 ||
                limits.buckets.clients_bytes == 0) {
                fprintf(stderr, "logtally analyze: --bucket-clients-bytes: '%s' is not a size of at least 1 byte\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TO: to = optarg; break;
        case 'n':
            if (parse_count(optarg, &top) < 0 || top > 1000000) {
                fprintf(stderr, "logtally analyze: --top: '%s' is not a count from 0 to 1000000\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 't':
            if (parse_count(optarg, &threads) < 0 || threads < 1 || threads > 64) {
                fprintf(stderr, "logtally analyze: --threads: '%s' is not a count from 1 to 64\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_EXACT:
            if (lt_config_parse_size(optarg, &limits.exact_clients_bytes) < 0) {
                fprintf(stderr, "logtally analyze: --exact-clients-bytes: '%s' is not a size (e.g. 256MiB)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_URLS:
            if (parse_count(optarg, &limits.url_entries) < 0 || limits.url_entries < 1) {
                fprintf(stderr, "logtally analyze: --url-entries: '%s' is not a count of at least 1\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h':
            analyze_usage(stdout);
            return EXIT_OK;
        default:
            analyze_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "logtally analyze: no file given\n");
        analyze_usage(stderr);
        return EXIT_USAGE;
    }
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 64 ? 64 : (size_t)n;
    }

    char err[512];
    lt_format *fmt = lt_format_new(format, err, sizeof(err));
    if (fmt == NULL) {
        fprintf(stderr, "logtally analyze: --format: %s\n", err);
        return EXIT_USAGE;
    }
    /* A report of all time with no snapshot asks nothing of the time
     * buckets but their all-time totals: skip the per-bucket sets and
     * tables, which would cost a third more per line for nothing. */
    limits.buckets.totals_only = from == NULL && to == NULL && save == NULL;
    lt_tally *t = lt_tally_new(&limits);
    if (t == NULL) {
        fprintf(stderr, "logtally analyze: out of memory\n");
        lt_format_free(fmt);
        return EXIT_FAILED;
    }

    int rc = EXIT_OK;
    const char *const *names = (const char *const *)(argv + optind);
    size_t n_files = (size_t)(argc - optind);
    for (size_t i = 0; i < n_files; i++) {
        const char *path = strcmp(names[i], "-") == 0 ? "/dev/stdin" : names[i];
        int r;
        if (lt_gz_is_gz(path)) {
            lt_parser *p = lt_parser_new(fmt);
            r = p ? lt_gz_read(path, t, p, (uint32_t)i, err, sizeof(err)) : -ENOMEM;
            if (p == NULL)
                snprintf(err, sizeof(err), "%s: out of memory", path);
            lt_parser_free(p);
        } else {
            r = lt_ingest_path(t, path, (uint32_t)i, fmt, (unsigned)threads, err, sizeof(err));
        }
        if (r == -ENOMEM) {
            fprintf(stderr, "logtally analyze: %s\n", err);
            rc = EXIT_FAILED;
            goto out;
        }
        if (r < 0) {
            fprintf(stderr, "logtally analyze: %s\n", err);
            rc = EXIT_FAILED;
        }
    }

    if (save != NULL && lt_snapshot_save(save, t, NULL, 0, (int64_t)time(NULL), err, sizeof(err)) < 0) {
        fprintf(stderr, "logtally analyze: --save: %s\n", err);
        rc = EXIT_FAILED;
    }
    int prc = cli_print_window_report("analyze", t, top, json, names, n_files, from, to);
    if (prc != EXIT_OK)
        rc = prc;

out:
    lt_tally_free(t);
    lt_format_free(fmt);
    return rc;
}
