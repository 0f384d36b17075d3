/* analyze.c -- `logtally analyze` and `logtally detect`: the whole
 * pipeline once, no daemon.
 *
 * Every file is read into one tally (lib/ingest.c: mapped in windows, on
 * all cores; lib/gz.c for a rotated FILE.gz), then the summary is printed as a table on a terminal or as
 * the JSON object of GET /v1/summary with --json.  A file that cannot be
 * read is reported on stderr and skipped; the report covers the others and
 * the exit code is 1.  When lines were read but none was valid, the report
 * is printed, the exit code is 1, and each file's first lines are tried
 * with every built-in format (lt_format_detect()) to say which would have
 * parsed them.  `-f auto` runs that detection before reading.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

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
          "  -f, --format F             common | combined | vhost_combined | nginx | caddy |\n"
          "                             json | auto, an Apache LogFormat string or an nginx\n"
          "                             log_format string (default combined)\n"
          "      --client-header H      take the client from the logged header H (such as\n"
          "                             X-Forwarded-For) behind the trusted proxies\n"
          "      --trusted-proxy CIDR   a trusted proxy address or range (repeatable, or\n"
          "                             comma-separated)\n"
          "      --json-field K=PATH    the json format's field K (time, client, method, uri,\n"
          "                             request, status, size, duration) is at PATH\n"
          "  -n, --top N                URLs in the top list (default 10)\n"
          "  -j, --json                 print one JSON object instead of a table\n"
          "  -t, --threads N            reader threads (default: online CPUs)\n"
          "      --strip-query          count /a?x=1 as /a\n"
          "      --exact-clients-bytes SIZE\n"
          "                             memory for exact client sets before the\n"
          "                             HyperLogLog takes over (default 256MiB)\n"
          "      --url-entries N        URLs counted exactly before top-k (default 1000000)\n"
          "      --rps-bytes SIZE       memory for the requests per second before the\n"
          "                             oldest hours count per minute (default 128MiB)\n"
          "      --save SNAP            also write the snapshot (for logtally merge)\n"
          "      --bucket-width D       time bucket width, 1m to 1d dividing a day (default 1h)\n"
          "      --bucket-clients-bytes SIZE\n"
          "                             memory for the buckets' exact client sets before\n"
          "                             their HyperLogLogs take over, and again for the\n"
          "                             (vhost, client) pairs (default 64MiB)\n"
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
                     const char *const *names, size_t n_names, const char *client_rule)
{
    return cli_print_window_report(cmd, t, top, json, names, n_names, client_rule, NULL,
                                   NULL);
}

int cli_print_window_report(const char *cmd, const lt_tally *t, size_t top, int json,
                            const char *const *names, size_t n_names,
                            const char *client_rule, const char *from, const char *to)
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
    s.client_rule = client_rule;
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

long cli_read_head(const char *path, char *buf, size_t cap)
{
    gzFile z = gzopen(path, "rb");
    if (z == NULL) {
        if (errno == 0)
            errno = ENOMEM;
        return -1;
    }
    long n = 0;
    while ((size_t)n < cap) {
        int r = gzread(z, buf + n, (unsigned)((cap - (size_t)n) > (1u << 20) ? (1u << 20) : cap - (size_t)n));
        if (r <= 0)
            break;
        n += r;
    }
    gzclose(z);
    return n;
}

/* How many bytes of a file detection reads: LT_DETECT_LINES lines of a
 * few hundred bytes, with room for long ones. */
#define DETECT_BYTES (256u << 10)

/* Runs detection on the head of path into d; returns 0 or -1 (message
 * printed, naming cmd). */
static int detect_file(const char *cmd, const char *path, lt_detection *d)
{
    char *buf = malloc(DETECT_BYTES);
    if (buf == NULL) {
        fprintf(stderr, "logtally %s: out of memory\n", cmd);
        return -1;
    }
    long n = cli_read_head(path, buf, DETECT_BYTES);
    if (n < 0) {
        fprintf(stderr, "logtally %s: %s: %s\n", cmd, path, strerror(errno));
        free(buf);
        return -1;
    }
    /* Only whole lines: a cut last line would count as one that fails. */
    size_t len = (size_t)n;
    if (len == DETECT_BYTES) {
        char *nl = memrchr(buf, '\n', len);
        len = nl != NULL ? (size_t)(nl - buf) : len;
    }
    int rc = lt_format_detect(buf, len, d);
    free(buf);
    if (rc < 0) {
        fprintf(stderr, "logtally %s: out of memory\n", cmd);
        return -1;
    }
    return 0;
}

int cmd_detect(int argc, char **argv)
{
    int rc = EXIT_OK;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs("usage: logtally detect FILE...\n"
              "\n"
              "Tries every built-in format on the first lines of each FILE and names the\n"
              "one that parses, with the share of lines it parsed.  Exit status 1 when no\n"
              "format parses a file.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        lt_detection d;
        if (detect_file("detect", argv[i], &d) < 0) {
            rc = EXIT_FAILED;
            continue;
        }
        if (d.name == NULL) {
            printf("%s: no built-in format parses these lines (0 of %zu)\n", argv[i], d.tried);
            rc = EXIT_FAILED;
        } else {
            printf("%s: %s (%zu of %zu lines, %.1f %%)\n", argv[i], d.name, d.valid, d.tried,
                   100.0 * (double)d.valid / (double)d.tried);
        }
    }
    return rc;
}

/* Appends one value of a repeatable option to a list. */
static int push_arg(const char ***list, size_t *n, const char *v)
{
    const char **grown = realloc(*list, (*n + 1) * sizeof(**list));
    if (grown == NULL)
        return -1;
    *list = grown;
    grown[(*n)++] = v;
    return 0;
}

int cmd_analyze(int argc, char **argv)
{
    enum { OPT_STRIP = 256, OPT_EXACT, OPT_URLS, OPT_RPS, OPT_SAVE, OPT_FROM, OPT_TO, OPT_BWIDTH,
           OPT_BCLIENTS, OPT_HEADER, OPT_TRUSTED, OPT_JSON_FIELD };
    static const char *const json_keys[LT_JSON_FIELDS] = {
        [LT_JSON_TIME] = "time", [LT_JSON_CLIENT] = "client", [LT_JSON_METHOD] = "method",
        [LT_JSON_URI] = "uri", [LT_JSON_REQUEST] = "request", [LT_JSON_STATUS] = "status",
        [LT_JSON_SIZE] = "size", [LT_JSON_DURATION] = "duration",
    };
    lt_format_opts fo = {0};
    const char **trusted = NULL;
    size_t n_trusted = 0;
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"threads", required_argument, NULL, 't'},
        {"strip-query", no_argument, NULL, OPT_STRIP},
        {"exact-clients-bytes", required_argument, NULL, OPT_EXACT},
        {"url-entries", required_argument, NULL, OPT_URLS},
        {"rps-bytes", required_argument, NULL, OPT_RPS},
        {"save", required_argument, NULL, OPT_SAVE},
        {"bucket-width", required_argument, NULL, OPT_BWIDTH},
        {"bucket-clients-bytes", required_argument, NULL, OPT_BCLIENTS},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"client-header", required_argument, NULL, OPT_HEADER},
        {"trusted-proxy", required_argument, NULL, OPT_TRUSTED},
        {"json-field", required_argument, NULL, OPT_JSON_FIELD},
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
        .rps_bytes = LT_DEFAULT_RPS_BYTES,
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
            free(trusted);
            return EXIT_USAGE;
        }
        case OPT_BCLIENTS:
            if (lt_config_parse_size(optarg, &limits.buckets.clients_bytes) < 0 ||
                limits.buckets.clients_bytes == 0) {
                fprintf(stderr, "logtally analyze: --bucket-clients-bytes: '%s' is not a size of at least 1 byte\n", optarg);
                free(trusted);
                return EXIT_USAGE;
            }
            break;
        case OPT_TO: to = optarg; break;
        case OPT_HEADER: fo.client_header = optarg; break;
        case OPT_TRUSTED:
            /* Comma-separated values are split in place (optarg is argv's). */
            for (char *tok = strtok(optarg, ", "); tok != NULL; tok = strtok(NULL, ", "))
                if (push_arg(&trusted, &n_trusted, tok) < 0) {
                    fprintf(stderr, "logtally analyze: out of memory\n");
                    free(trusted);
                    return EXIT_FAILED;
                }
            break;
        case OPT_JSON_FIELD: {
            const char *eq = strchr(optarg, '=');
            int k = -1;
            for (int j = 0; eq != NULL && j < LT_JSON_FIELDS; j++)
                if (strlen(json_keys[j]) == (size_t)(eq - optarg) &&
                    strncmp(optarg, json_keys[j], (size_t)(eq - optarg)) == 0)
                    k = j;
            if (k < 0) {
                fprintf(stderr, "logtally analyze: --json-field: '%s' is not KEY=PATH with KEY one "
                                "of time, client, method, uri, request, status, size, duration\n",
                        optarg);
                free(trusted);
                return EXIT_USAGE;
            }
            fo.json[k] = eq + 1;
            break;
        }
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
        case OPT_RPS:
            if (lt_config_parse_size(optarg, &limits.rps_bytes) < 0) {
                fprintf(stderr, "logtally analyze: --rps-bytes: '%s' is not a size (e.g. 128MiB)\n", optarg);
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
    fo.trusted = trusted;
    fo.n_trusted = n_trusted;
    if (strcmp(format, "auto") == 0) {
        lt_detection d;
        if (strcmp(argv[optind], "-") == 0) {
            fprintf(stderr, "logtally analyze: --format auto needs a file, not standard input\n");
            free(trusted);
            return EXIT_USAGE;
        }
        if (detect_file("analyze", argv[optind], &d) < 0) {
            free(trusted);
            return EXIT_FAILED;
        }
        if (d.name == NULL) {
            fprintf(stderr, "logtally analyze: --format auto: no built-in format parses the first "
                            "lines of %s\n", argv[optind]);
            free(trusted);
            return EXIT_FAILED;
        }
        fprintf(stderr, "logtally analyze: format %s (%zu of the first %zu lines of %s)\n", d.name,
                d.valid, d.tried, argv[optind]);
        format = d.name;
    }
    lt_format *fmt = lt_format_new_with(format, &fo, err, sizeof(err));
    if (fmt == NULL) {
        fprintf(stderr, "logtally analyze: --format: %s\n", err);
        free(trusted);
        return EXIT_USAGE;
    }
    /* A report of all time with no snapshot asks nothing of the time
     * buckets but their all-time totals: skip the per-bucket sets and
     * tables, which would cost a third more per line for nothing. */
    limits.buckets.totals_only = from == NULL && to == NULL && save == NULL;
    /* The rule is said when it is not the plain client field, so that a
     * default report stays the one `logtally merge` prints. */
    char rule[256];
    const char *client_rule = rule;
    if (fo.client_header != NULL)
        snprintf(rule, sizeof(rule), "the rightmost address of %s and the client field not among "
                 "%zu trusted proxies", fo.client_header, n_trusted);
    else if (n_trusted > 0)
        snprintf(rule, sizeof(rule), "the rightmost address of the client field not among %zu "
                 "trusted proxies", n_trusted);
    else
        client_rule = NULL;
    lt_tally *t = lt_tally_new(&limits);
    if (t == NULL) {
        fprintf(stderr, "logtally analyze: out of memory\n");
        lt_format_free(fmt);
        free(trusted);
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
    int prc = cli_print_window_report("analyze", t, top, json, names, n_files, client_rule,
                                      from, to);
    if (prc != EXIT_OK)
        rc = prc;
    const lt_counters *n = lt_tally_counters(t);
    if (n->valid == 0 && n->lines > 0) {
        /* Every line malformed: say which format would have read them. */
        for (size_t i = 0; i < n_files; i++) {
            lt_detection d;
            if (strcmp(names[i], "-") == 0 || detect_file("analyze", names[i], &d) < 0)
                continue;
            if (d.name != NULL)
                fprintf(stderr, "logtally analyze: %s: 0 valid lines; these lines parse as %s "
                                "(%zu of the first %zu): try --format %s\n",
                        names[i], d.name, d.valid, d.tried, d.name);
            else if (d.tried > 0)
                fprintf(stderr, "logtally analyze: %s: 0 valid lines, and no built-in format "
                                "parses them\n", names[i]);
        }
        rc = EXIT_FAILED;
    }

out:
    lt_tally_free(t);
    lt_format_free(fmt);
    free(trusted);
    return rc;
}
