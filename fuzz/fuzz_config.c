/* fuzz_config.c -- lt_config_parse() on arbitrary YAML.
 *
 * The whole input is the document (an exact-size copy, not NUL-terminated,
 * as lt_config_parse() allows).  Checked:
 *  - 0 with a configuration, or -EINVAL/-ENOMEM with NULL and a message;
 *  - the message is "fuzz.yaml:LINE:COL: ..." (or "fuzz.yaml: out of
 *    memory"), one line of printable ASCII whatever the document holds,
 *    and a short buffer gets a prefix of the same message;
 *  - err NULL with errlen 0 is allowed and gives the same code;
 *  - an accepted configuration keeps every documented bound: socket mode
 *    at most 0777 and not world-writable, threads 0..64, intervals and
 *    timeouts at least 100 ms, url_entries and max_connections at least 1,
 *    max_header_bytes at least 1 KiB, paths and formats non-empty;
 *  - each source's format goes through lt_format_new(), as the daemon does
 *    with it (the result may be a refusal, never a crash).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "parse.h"

#define NAME "fuzz.yaml"

static void check_message(const char *err, size_t errlen, int rc)
{
    size_t n = strnlen(err, errlen);
    FUZZ_CHECK(n < errlen, "message not terminated");
    FUZZ_CHECK(n > 0, "no message for code %d", rc);
    FUZZ_CHECK(strncmp(err, NAME ":", sizeof NAME) == 0, "message without the name: %s", err);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f, "byte 0x%02x at %zu of the message: %s",
                   (unsigned char)err[i], i, err);
    if (rc == -EINVAL) {
        /* "fuzz.yaml:LINE:COL: " with LINE and COL at least 1. */
        const char *s = err + sizeof NAME;
        for (int part = 0; part < 2; part++) {
            FUZZ_CHECK(*s >= '1' && *s <= '9', "no line:col in: %s", err);
            while (*s >= '0' && *s <= '9')
                s++;
            FUZZ_CHECK(*s == ':', "no line:col in: %s", err);
            s++;
        }
        FUZZ_CHECK(*s == ' ' && s[1] != '\0', "nothing after line:col in: %s", err);
    }
}

static void check_string(const char *s, const char *what)
{
    FUZZ_CHECK(s != NULL && s[0] != '\0', "%s is empty", what);
}

static void check_config(const lt_config *c)
{
    check_string(c->socket, "socket");
    check_string(c->state_dir, "state_dir");
    if (c->socket_group != NULL)
        check_string(c->socket_group, "socket_group");
    if (c->listen != NULL)
        FUZZ_CHECK(strchr(c->listen, ':') != NULL, "listen without a port: %s", c->listen);
    FUZZ_CHECK(c->socket_mode <= 0777 && !(c->socket_mode & 0002), "socket_mode %o",
               c->socket_mode);
    FUZZ_CHECK(c->threads <= 64, "threads %u", c->threads);
    FUZZ_CHECK(c->checkpoint_interval_ms >= 100, "checkpoint_interval %llu ms",
               (unsigned long long)c->checkpoint_interval_ms);
    FUZZ_CHECK(c->limits.url_entries >= 1, "url_entries 0");
    FUZZ_CHECK(c->limits.strip_query == 0 || c->limits.strip_query == 1, "strip_query %d",
               c->limits.strip_query);
    FUZZ_CHECK(c->http.max_connections >= 1, "max_connections 0");
    FUZZ_CHECK(c->http.max_header_bytes >= 1024, "max_header_bytes %zu",
               c->http.max_header_bytes);
    FUZZ_CHECK(c->http.request_timeout_ms >= 100, "request_timeout %llu ms",
               (unsigned long long)c->http.request_timeout_ms);
    FUZZ_CHECK(c->n_sources == 0 || c->sources != NULL, "%zu sources, no array", c->n_sources);
    for (size_t i = 0; i < c->n_sources; i++) {
        char err[256];
        check_string(c->sources[i].path, "a source's path");
        check_string(c->sources[i].format, "a source's format");
        lt_format *f = lt_format_new(c->sources[i].format, err, sizeof err);
        FUZZ_CHECK(f != NULL || err[0] != '\0', "format refused without a reason");
        lt_format_free(f);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_dup(data, size);
    char err[512], small[24];
    lt_config *c = (lt_config *)1, *c2 = (lt_config *)1, *c3 = (lt_config *)1;

    int rc = lt_config_parse(text, size, NAME, &c, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(c != NULL, "0 without a configuration");
        check_config(c);
    } else {
        FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "code %d", rc);
        FUZZ_CHECK(c == NULL, "code %d with a configuration", rc);
        check_message(err, sizeof err, rc);

        /* A short buffer: the same code, a prefix of the same message. */
        int rc2 = lt_config_parse(text, size, NAME, &c2, small, sizeof small);
        FUZZ_CHECK(rc2 == rc && c2 == NULL, "code %d, then %d with a short buffer", rc, rc2);
        size_t n = strnlen(small, sizeof small);
        FUZZ_CHECK(n < sizeof small && strncmp(small, err, n) == 0,
                   "short message is not a prefix: \"%.*s\" vs \"%s\"", (int)n, small, err);
    }

    /* No message buffer at all. */
    int rc3 = lt_config_parse(text, size, NAME, &c3, NULL, 0);
    FUZZ_CHECK(rc3 == rc && (c3 == NULL) == (c == NULL), "code %d, then %d without a buffer",
               rc, rc3);
    lt_config_free(c3);
    lt_config_free(c);
    free(text);
    return 0;
}
