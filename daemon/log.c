/* log.c -- messages to stderr and state to systemd.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with "<N>", the
 * syslog priority, which journald turns into the entry's priority; it adds
 * the timestamp itself.  Elsewhere a line is "logtallyd: message". */
#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon.h"

void daemon_log(int priority, const char *fmt, ...)
{
    static int journal = -1;
    char line[1024];
    va_list ap;

    if (journal < 0)
        journal = getenv("JOURNAL_STREAM") != NULL;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (journal)
        fprintf(stderr, "<%d>%s\n", priority, line);
    else
        fprintf(stderr, "logtallyd: %s\n", line);
}

void daemon_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    (void)sd_notify(0, state);
#else
    (void)state;
#endif
}
