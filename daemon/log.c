/* log.c -- messages to stderr and state to systemd.
 *
 * When stderr is connected to the journal (JOURNAL_STREAM names its
 * device:inode, as systemd documents) each line starts with "<N>", the
 * syslog priority, which journald turns into the entry's priority; it adds
 * the timestamp itself.  Elsewhere a line is "logtallyd: message". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon.h"

void daemon_log(int priority, const char *fmt, ...)
{
    static int journal = -1;
    char line[1024];
    va_list ap;

    if (journal < 0) {
        const char *js = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                  (unsigned long long)st.st_ino == ino;
    }
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
