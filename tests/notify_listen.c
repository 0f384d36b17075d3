/* notify_listen.c -- a stand-in for systemd's end of sd_notify(3), for tests.
 *
 *   notify_listen SOCKET SECONDS [PROBE]
 *
 * Binds a Unix datagram socket at SOCKET (the path a test puts in
 * NOTIFY_SOCKET) and prints every assignment it receives ("READY=1",
 * "STATUS=...", "WATCHDOG=1"; a datagram may hold several, one per line)
 * as one line on stdout, flushed at once, so a shell can follow the daemon's
 * state as systemd would.  It exits 0 after SECONDS, or right after a
 * datagram holding STOPPING=1; 1 on a setup error.
 *
 * PROBE, when given, is the daemon's API socket: the moment READY=1
 * arrives, before printing it, the listener connects to PROBE and prints
 * "PROBE=ok" or "PROBE=<why not>" just before the "READY=1" line.  A
 * connect() to a listening Unix stream socket succeeds even before the
 * daemon accepts, so PROBE=ok proves that the socket existed and listened
 * when READY=1 was sent: the order systemd's Type=notify relies on.  A shell
 * that ran curl after reading READY=1 could not tell, since the daemon may
 * have started listening in the meantime.
 *
 * The socket file is removed on exit.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        fprintf(stderr, "notify_listen: %s: path too long for a Unix socket\n", path);
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Prints PROBE=ok when something listens on path, else PROBE=<reason>. */
static void probe(const char *path)
{
    struct sockaddr_un sa;
    if (fill_addr(&sa, path) < 0) {
        puts("PROBE=path too long");
        return;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        printf("PROBE=%s\n", strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        puts("PROBE=ok");
    else
        printf("PROBE=%s\n", strerror(errno));
    close(fd);
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa;
    char buf[4097];
    int rc = 1, fd = -1;

    if (argc < 3 || argc > 4) {
        fputs("usage: notify_listen SOCKET SECONDS [PROBE]\n", stderr);
        return 2;
    }
    const char *path = argv[1], *probe_path = argc == 4 ? argv[3] : NULL;
    long long deadline = now_ms() + 1000 * atoll(argv[2]);
    if (fill_addr(&sa, path) < 0)
        return 1;
    unlink(path);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "notify_listen: %s: %s\n", path, strerror(errno));
        goto out;
    }
    rc = 0;
    for (long long left; (left = deadline - now_ms()) > 0;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(left < 1000 ? left : 1000));
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "notify_listen: poll: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (n <= 0)
            continue;
        ssize_t got = recv(fd, buf, sizeof(buf) - 1, 0);
        if (got < 0)
            continue;
        buf[got] = '\0';
        int stopping = 0;
        /* One assignment per line; a trailing newline adds no empty line. */
        for (char *line = buf, *next; line != NULL && *line != '\0'; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            if (strcmp(line, "READY=1") == 0 && probe_path != NULL)
                probe(probe_path);
            stopping |= strcmp(line, "STOPPING=1") == 0;
            puts(line);
        }
        fflush(stdout);
        if (stopping)
            break;
    }
out:
    if (fd >= 0)
        close(fd);
    unlink(path);
    return rc;
}
