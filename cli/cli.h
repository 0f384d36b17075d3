/* cli.h -- the pieces of the `logtally` command. */
#ifndef LT_CLI_H
#define LT_CLI_H

#include <stdio.h>

#include "summary.h"

/* Exit codes shared by every subcommand. */
enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,     /* a file could not be read, the daemon failed, ... */
    EXIT_USAGE = 2,      /* bad arguments */
};

int cmd_analyze(int argc, char **argv);

/* Prints the human-readable report of s to out.  sources names the files
 * of malformed samples. */
void report_text(FILE *out, const lt_summary *s, const char *const *sources, size_t n_sources);

/* Writes n bytes of untrusted text to out with control bytes and bytes
 * that are not valid UTF-8 shown as \xHH, so a hostile URL cannot drive
 * the terminal. */
void print_escaped(FILE *out, const char *s, size_t n);

/* Parses "256MiB", "64k", "1000000" into *out; returns 0 or -1. */
int parse_size(const char *s, size_t *out);

#endif
