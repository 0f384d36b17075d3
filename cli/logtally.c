/* logtally.c -- the `logtally` command: subcommand dispatch.
 *
 *   logtally analyze [OPTIONS] FILE...    count logs once, offline
 *   logtally detect FILE...               which built-in format reads a file
 *   logtally [-s SOCKET] summary|top|rps|status|vhosts|sources|hll|reload
 *                                         ask the running daemon
 *
 * Each subcommand lives in its own file and returns an exit code from
 * cli.h: 0 success, 1 failure (a file unreadable, ...), 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fputs("usage: logtally [-s SOCKET] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "offline:\n"
          "  analyze [--format F] [--top N] [--json] [--save SNAP] [--from T] [--to T] FILE...\n"
          "                                         count access logs once and report\n"
          "  merge [--json] [--save OUT] [--hll OUT] [--from T] [--to T] SNAP...\n"
          "                                         one report from snapshots and Redis sketches\n"
          "  detect FILE...                         name the built-in format of each file\n"
          "\n"
          "asking the daemon (on -s SOCKET, $LOGTALLY_SOCKET or /run/logtally/logtally.sock):\n"
          "  summary [--wait] [--top N] [--json]    the report; --wait until it has caught up\n"
          "  top [N] [--json]                       the N hottest URLs\n"
          "  rps [--step S] [--status 5xx] [--json] requests per 1s, 1m, 1h or 1d\n"
          "  status [--json]                        requests by status code and method\n"
          "  vhosts [--top N] [--json]              requests per virtual host\n"
          "  (summary, top, rps, status and vhosts take --since 1h, or --from T and --to T:\n"
          "   epoch seconds, ISO 8601, now, or -15m)\n"
          "  sources [--json]                       the files followed\n"
          "  hll > FILE                             the clients' HyperLogLog (Redis format)\n"
          "  snapshot > FILE                        the daemon's snapshot (for logtally merge)\n"
          "  reload                                 reread the daemon's configuration\n"
          "\n"
          "  logtally COMMAND --help    options of a command\n"
          "  logtally --version\n",
          out);
}

int main(int argc, char **argv)
{
    const char *sock = client_default_socket();
    int first = 1;
    if (argc > 2 && (strcmp(argv[1], "-s") == 0 || strcmp(argv[1], "--socket") == 0)) {
        sock = argv[2];
        first = 3;
    } else if (argc > 1 && strncmp(argv[1], "--socket=", 9) == 0) {
        sock = argv[1] + 9;
        first = 2;
    }
    if (argc <= first) {
        usage(stderr);
        return EXIT_USAGE;
    }
    argc -= first - 1;
    argv += first - 1;
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        /* The client has no optional parts: zlib (.gz input) and
         * http-parser are required at build time. */
        printf("logtally %s\nfeatures: no optional ones (gzip input and the daemon client are "
               "always built in)\n", LT_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "analyze") == 0)
        return cmd_analyze(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0)
        return cmd_merge(argc - 1, argv + 1);
    if (strcmp(cmd, "detect") == 0)
        return cmd_detect(argc - 1, argv + 1);
    static const char *const daemon_cmds[] = {"summary", "top",  "rps",     "status", "vhosts",
                                               "sources", "hll", "snapshot", "reload"};
    for (size_t i = 0; i < sizeof(daemon_cmds) / sizeof(daemon_cmds[0]); i++)
        if (strcmp(cmd, daemon_cmds[i]) == 0)
            return cmd_client(sock, argc - 1, argv + 1);
    fprintf(stderr, "logtally: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
