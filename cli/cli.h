/* cli.h -- the pieces of the `logtally` command. */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <stdio.h>

#include "summary.h"
#include "tally.h"

/* Exit codes shared by every subcommand. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,     /* a file could not be read, the daemon failed, ... */
    EXIT_USAGE = 2,      /* bad arguments */
};

int cmd_analyze(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* Prints the report of t (a table, or JSON when json is set) with the top
 * URLs; returns an exit code.  cmd names the command in messages. */
int cli_print_report(const char *cmd, const lt_tally *t, size_t top, int json,
                     const char *const *names, size_t n_names);
/* The same for a window: from and to (either may be NULL; both NULL is all
 * time) as GET /v1/summary reads them (lib/qtime.c). */
int cli_print_window_report(const char *cmd, const lt_tally *t, size_t top, int json,
                            const char *const *names, size_t n_names, const char *from,
                            const char *to);

/* summary, top, rps, sources, hll, reload: asks the daemon on sock.
 * argv[0] is the command. */
int cmd_client(const char *sock, int argc, char **argv);
/* $LOGTALLY_SOCKET, or /run/logtally/logtally.sock. */
const char *client_default_socket(void);

#endif
