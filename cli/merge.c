/* merge.c -- `logtally merge`: one report from the snapshots of many hosts.
 *
 *   logtally merge [--json] [--top N] [--save OUT] [--hll OUT] SNAP...
 *
 * Each SNAP is a logtally snapshot (`analyze --save`, `logtally snapshot`,
 * a daemon's checkpoint) or a Redis HyperLogLog string (`logtally hll`, or
 * a Redis GET of a PFADD key).  Snapshots merge as lib/tally.c merges: sets
 * unioned, sketches maxed, URL counts and seconds summed.  A Redis sketch
 * brings only clients, of unknown kinds: it joins the union as "other",
 * and the client counts become estimates.  Every input is validated
 * (lib/snapshot.c, lt_hll_import) and refused with its name and the byte
 * where it is wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hll.h"
#include "rps.h"
#include "snapshot.h"
#include "urls.h"

#define MAX_INPUT ((size_t)4 << 30)

static void merge_usage(FILE *out)
{
    fputs("usage: logtally merge [OPTIONS] SNAP...\n"
          "\n"
          "Merges snapshots (logtally analyze --save, logtally snapshot, checkpoints) and\n"
          "Redis HyperLogLog strings (logtally hll) into one report.\n"
          "\n"
          "  -j, --json          print one JSON object instead of a table\n"
          "  -n, --top N         URLs in the top list (default 10)\n"
          "      --save OUT      write the merged snapshot\n"
          "      --hll OUT       write the merged clients' HyperLogLog in Redis's format\n"
          "      --from T, --to T  report the window from T to T (inclusive), as analyze\n"
          "  -h, --help\n",
          out);
}

/* A tally holding only a Redis sketch's clients, as "other". */
static lt_tally *tally_of_sketch(const lt_hll *h, const lt_limits *limits)
{
    lt_hll *parts[3] = {lt_hll_new(), lt_hll_new(), lt_hll_new()};
    if (parts[0] == NULL || parts[1] == NULL || parts[2] == NULL) {
        for (int i = 0; i < 3; i++)
            lt_hll_free(parts[i]);
        return NULL;
    }
    lt_hll_merge(parts[2], h);
    lt_counters zero = {0};
    lt_clients *c = lt_clients_from_parts(0, NULL, NULL, NULL, parts);
    return lt_tally_from_parts(limits, &zero, c, lt_urls_new(limits->url_entries), lt_rps_new(),
                               NULL, 0);
}

int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"top", required_argument, NULL, 'n'},
        {"save", required_argument, NULL, 'S'},
        {"hll", required_argument, NULL, 'H'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *save = NULL, *hll_out = NULL, *from = NULL, *to = NULL;
    size_t top = 10;
    int json = 0, c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'S': save = optarg; break;
        case 'H': hll_out = optarg; break;
        case 'F': from = optarg; break;
        case 'T': to = optarg; break;
        case 'n': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0' || v > 1000000) {
                fprintf(stderr, "logtally merge: --top: '%s' is not a count from 0 to 1000000\n", optarg);
                return EXIT_USAGE;
            }
            top = v;
            break;
        }
        case 'h': merge_usage(stdout); return EXIT_OK;
        default: merge_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "logtally merge: no snapshot given\n");
        merge_usage(stderr);
        return EXIT_USAGE;
    }

    lt_tally *acc = NULL;
    int rc = EXIT_OK;
    char err[512];
    for (int i = optind; i < argc; i++) {
        char *data = NULL;
        size_t len = 0;
        lt_tally *t = NULL;
        if (lt_snapshot_slurp(argv[i], MAX_INPUT, &data, &len, err, sizeof(err)) < 0) {
            fprintf(stderr, "logtally merge: %s\n", err);
            rc = EXIT_FAILED;
            goto out;
        }
        /* The first input's limits hold for the merge (a later input with
         * a bigger URL table is merged into the first one's bound). */
        const lt_limits *limits = acc ? lt_tally_limits(acc) : NULL;
        if (len >= 4 && memcmp(data, "HYLL", 4) == 0) {
            lt_hll *h = lt_hll_new();
            lt_limits def = {LT_DEFAULT_EXACT_CLIENTS_BYTES, LT_DEFAULT_URL_ENTRIES, 0, {0}, LT_DEFAULT_RPS_BYTES};
            if (h == NULL || lt_hll_import(h, data, len, err, sizeof(err)) < 0 ||
                (t = tally_of_sketch(h, limits ? limits : &def)) == NULL) {
                fprintf(stderr, "logtally merge: %s: %s\n", argv[i],
                        h == NULL || t == NULL ? (err[0] ? err : "out of memory") : err);
                lt_hll_free(h);
                free(data);
                rc = EXIT_FAILED;
                goto out;
            }
            lt_hll_free(h);
        } else if (lt_snapshot_read(data, len, limits, &t, NULL, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "logtally merge: %s: %s\n", argv[i], err);
            free(data);
            rc = EXIT_FAILED;
            goto out;
        }
        free(data);
        if (acc == NULL) {
            acc = t;
        } else {
            int m = lt_tally_merge(acc, t);
            lt_tally_free(t);
            if (m < 0) {
                fprintf(stderr, "logtally merge: out of memory merging %s\n", argv[i]);
                rc = EXIT_FAILED;
                goto out;
            }
        }
    }
    if (save != NULL &&
        lt_snapshot_save(save, acc, NULL, 0, (int64_t)time(NULL), err, sizeof(err)) < 0) {
        fprintf(stderr, "logtally merge: --save: %s\n", err);
        rc = EXIT_FAILED;
        goto out;
    }
    if (hll_out != NULL) {
        lt_hll *h = lt_hll_new();
        unsigned char *blob = malloc(LT_HLL_DENSE_BYTES);
        FILE *f = NULL;
        int ok = h != NULL && blob != NULL;
        if (ok) {
            lt_clients_hll(lt_tally_clients(acc), h);
            size_t n = lt_hll_export(h, blob);
            ok = (f = fopen(hll_out, "wb")) != NULL && fwrite(blob, 1, n, f) == n;
            ok = (f != NULL && fclose(f) == 0) && ok;
        }
        lt_hll_free(h);
        free(blob);
        if (!ok) {
            fprintf(stderr, "logtally merge: --hll: %s: %s\n", hll_out, strerror(errno));
            rc = EXIT_FAILED;
            goto out;
        }
    }
    rc = cli_print_window_report("merge", acc, top, json, NULL, 0, NULL, from, to);
out:
    lt_tally_free(acc);
    return rc;
}
