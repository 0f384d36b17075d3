/* request.c -- one HTTP request collected from http-parser, without sockets.
 *
 * The callbacks below gather the URL and the body into buffers, count the
 * bytes of the request line and headers, and stop the parser (returning 1)
 * at the first limit passed, leaving its status in error_status for the
 * caller's answer.  On a complete message the URL is split by
 * http_parser_parse_url() into path and query and handed to on_request.
 */
#include "request.h"

#include <string.h>

static int on_message_begin(http_parser *p)
{
    http_request *r = p->data;
    lt_buf_reset(&r->url);
    lt_buf_reset(&r->body);
    r->header_bytes = 0;
    r->error_status = 0;
    if (r->on_begin != NULL)
        r->on_begin(r);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    http_request *r = p->data;
    r->header_bytes += len;
    if (r->url.len + len > HTTP_MAX_URL_BYTES) {
        r->error_status = 414;
        return 1;
    }
    lt_buf_append(&r->url, at, len);
    return 0;
}

static int on_header_bytes(http_parser *p, const char *at, size_t len)
{
    http_request *r = p->data;
    (void)at;
    r->header_bytes += len;
    if (r->header_bytes > r->max_header_bytes) {
        r->error_status = 431;
        return 1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    http_request *r = p->data;
    if (r->body.len + len > HTTP_MAX_BODY_BYTES) {
        r->error_status = 413;
        return 1;
    }
    lt_buf_append(&r->body, at, len);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_request *r = p->data;
    struct http_parser_url u;
    char path[HTTP_MAX_URL_BYTES + 1], query[HTTP_MAX_URL_BYTES + 1];
    const char *method = http_method_str((enum http_method)p->method);
    int keep_alive = http_should_keep_alive(p);

    path[0] = query[0] = '\0';
    http_parser_url_init(&u);
    if (lt_buf_failed(&r->url) || lt_buf_failed(&r->body) || r->url.len == 0 ||
        http_parser_parse_url(r->url.data, r->url.len, 0, &u) != 0 ||
        !(u.field_set & (1 << UF_PATH))) {
        r->on_request(r, method, NULL, NULL, 0);
        return 1;    /* the caller answered 400: stop */
    }
    memcpy(path, r->url.data + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
    path[u.field_data[UF_PATH].len] = '\0';
    if (u.field_set & (1 << UF_QUERY)) {
        memcpy(query, r->url.data + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
        query[u.field_data[UF_QUERY].len] = '\0';
    }
    return r->on_request(r, method, path, query, keep_alive);
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_bytes,
    .on_header_value = on_header_bytes,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_request_init(http_request *r, size_t max_header_bytes, http_request_fn on_request,
                       void *data)
{
    memset(r, 0, sizeof(*r));
    lt_buf_init(&r->url);
    lt_buf_init(&r->body);
    r->max_header_bytes = max_header_bytes;
    r->on_request = on_request;
    r->data = data;
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
}

void http_request_free(http_request *r)
{
    lt_buf_free(&r->url);
    lt_buf_free(&r->body);
}

size_t http_request_feed(http_request *r, const char *buf, size_t n)
{
    return http_parser_execute(&r->parser, &settings, buf, n);
}
