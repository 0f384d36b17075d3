/* request.h -- one HTTP request collected from http-parser, without sockets.
 *
 * The connection code (http.c) feeds the bytes it reads; the fuzz target
 * fuzz/fuzz_http.c feeds its input through the same code.  A request's URL,
 * headers and body are held to their limits as they arrive; a complete
 * request is handed over with its method, path and query split out.
 */
#ifndef LT_REQUEST_H
#define LT_REQUEST_H

#include <http_parser.h>
#include <stddef.h>

#include "buf.h"

#define HTTP_MAX_URL_BYTES (8 * 1024)       /* longer -> 414 */
#define HTTP_MAX_BODY_BYTES (64 * 1024)     /* larger -> 413 */

typedef struct http_request http_request;

/* A complete request: path and query NUL-terminated (query "" when none);
 * path NULL when the target is not a URL with a path (answer 400 and
 * close).  Returns 0 to read on (keep-alive), 1 to stop reading. */
typedef int (*http_request_fn)(http_request *r, const char *method, const char *path,
                               const char *query, int keep_alive);

struct http_request {
    http_parser parser;
    lt_buf url, body;
    size_t header_bytes;          /* request line and headers so far */
    size_t max_header_bytes;      /* more -> 431 */
    int error_status;             /* 414, 431 or 413 when a limit stopped it */
    http_request_fn on_request;
    void (*on_begin)(http_request *r);   /* the first byte of a request; may be NULL */
    void *data;                   /* the caller's */
};

void http_request_init(http_request *r, size_t max_header_bytes, http_request_fn on_request,
                       void *data);
void http_request_free(http_request *r);

/* Parses buf[0, n) (http_parser_execute); returns the bytes parsed.  After
 * a short count, HTTP_PARSER_ERRNO(&r->parser) and r->error_status say why:
 * HPE_CB_message_complete when on_request asked to stop. */
size_t http_request_feed(http_request *r, const char *buf, size_t n);

#endif
