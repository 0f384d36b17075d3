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
 * URLs; returns an exit code.  cmd names the command in messages;
 * client_rule (or NULL) says how clients were counted. */
int cli_print_report(const char *cmd, const lt_tally *t, size_t top, int json,
                     const char *const *names, size_t n_names, const char *client_rule);
/* The same for a window: from and to (either may be NULL; both NULL is all
 * time) as GET /v1/summary reads them (lib/qtime.c). */
int cli_print_window_report(const char *cmd, const lt_tally *t, size_t top, int json,
                            const char *const *names, size_t n_names,
                            const char *client_rule, const char *from, const char *to);

/* `logtally detect FILE...`: names the built-in format of each file. */
int cmd_detect(int argc, char **argv);

/* Reads up to cap bytes from the start of path (decompressed when it is
 * gzip) into buf; returns the bytes read or -1 with errno set. */
long cli_read_head(const char *path, char *buf, size_t cap);

/* summary, top, rps, sources, hll, reload: asks the daemon on sock.
 * argv[0] is the command. */
int cmd_client(const char *sock, int argc, char **argv);
/* $LOGTALLY_SOCKET, or /run/logtally/logtally.sock. */
const char *client_default_socket(void);

#endif
