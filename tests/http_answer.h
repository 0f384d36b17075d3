/* http_answer.h -- reading one HTTP/1.1 answer of the daemon, for the test
 * and benchmark clients (load_clients, bench/follow). */
#ifndef LT_HTTP_ANSWER_H
#define LT_HTTP_ANSWER_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads one "200" answer (headers, then Content-Length bytes) from fd into
 * buf; sets *body to its body.  Returns 0, or -1 on another status, a
 * closed connection or an answer larger than cap. */
static inline int http_read_answer(int fd, char *buf, size_t cap, char **body)
{
    size_t got = 0;
    long length = -1;
    char *head_end = NULL;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (head_end == NULL && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strstr(buf, "Content-Length: ");
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || cl == NULL)
                return -1;
            length = strtol(cl + 16, NULL, 10);
        }
        if (head_end != NULL && (long)(got - (size_t)(head_end + 4 - buf)) >= length) {
            *body = head_end + 4;
            return 0;
        }
        if (got + 1 >= cap)
            return -1;
    }
}

#endif
