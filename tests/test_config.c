/* test_config.c -- Check suite for lib/config.c: defaults, every key, sizes
 * and durations, the exact wording and position of errors, the example
 * configuration against the defaults, and documents cut short or corrupted
 * at random (run it under ASan: nothing may crash or leak). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lt_test.h"

/* CMake points this at the source tree; by hand, run from the top of it. */
#ifndef LT_SOURCE_DIR
#define LT_SOURCE_DIR "."
#endif
#define EXAMPLE LT_SOURCE_DIR "/config/logtally.yaml"

static char err[1024];

/* Parses text as "t.yaml", which must succeed; the caller frees. */
static lt_config *good(const char *text)
{
    lt_config *c = (lt_config *)1;
    int rc = lt_config_parse(text, strlen(text), "t.yaml", &c, err, sizeof err);
    ck_assert_msg(rc == 0, "unexpected error for <<%s>>: %s", text, err);
    ck_assert_ptr_nonnull(c);
    return c;
}

/* Parses text as "t.yaml", which must fail with -EINVAL; returns the
 * message. */
static const char *bad_n(const char *text, size_t len)
{
    lt_config *c = (lt_config *)1;
    int rc = lt_config_parse(text, len, "t.yaml", &c, err, sizeof err);
    ck_assert_msg(rc == -EINVAL, "expected an error for <<%s>>, got %d", text, rc);
    ck_assert_ptr_null(c);
    ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0, "message without the file: %s", err);
    return err;
}

static const char *bad(const char *text)
{
    return bad_n(text, strlen(text));
}

/* Asserts that text fails with a message containing want. */
static void bad_with(const char *text, const char *want)
{
    const char *e = bad(text);
    ck_assert_msg(strstr(e, want) != NULL, "<<%s>>: message '%s' lacks '%s'", text, e, want);
}

/* The documented defaults, written out independently of
 * lt_config_new_default() so that a changed default fails here. */
static void assert_defaults(const lt_config *c)
{
    ck_assert_str_eq(c->socket, "/run/logtally/logtally.sock");
    ck_assert_uint_eq(c->socket_mode, 0660);
    ck_assert_ptr_null(c->socket_group);
    ck_assert_ptr_null(c->listen);
    ck_assert_str_eq(c->state_dir, "/var/lib/logtally");
    ck_assert_uint_eq(c->checkpoint_interval_ms, 30000);
    ck_assert_uint_eq(c->threads, 0);
    ck_assert_int_eq(c->limits.strip_query, 0);
    ck_assert_uint_eq(c->limits.exact_clients_bytes, (size_t)256 * 1024 * 1024);
    ck_assert_uint_eq(c->limits.url_entries, 1000000);
    ck_assert_uint_eq(c->limits.rps_bytes, (size_t)128 * 1024 * 1024);
    ck_assert_uint_eq(c->http.max_connections, 256);
    ck_assert_uint_eq(c->http.max_header_bytes, 16 * 1024);
    ck_assert_uint_eq(c->http.request_timeout_ms, 10000);
}

START_TEST(defaults)
{
    lt_config *c = lt_config_new_default();
    ck_assert_ptr_nonnull(c);
    assert_defaults(c);
    ck_assert_uint_eq(c->n_sources, 0);
    lt_config_free(c);
    lt_config_free(NULL);

    /* Documents that say nothing give the defaults. */
    static const char *const empty[] = {"", "\n\n", "# only a comment\n# and another\n",
                                        "---\n", "--- ~\n", "---\n...\n", "~\n", "{}\n",
                                        "\xef\xbb\xbfsocket_mode: '0660'\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        c = good(empty[i]);
        assert_defaults(c);
        ck_assert_uint_eq(c->n_sources, 0);
        lt_config_free(c);
    }
    /* Sections left empty keep their defaults too. */
    c = good("limits:\nhttp: ~\nsources: []\n");
    assert_defaults(c);
    ck_assert_uint_eq(c->n_sources, 0);
    lt_config_free(c);

    /* A NULL text with no length is the empty document. */
    ck_assert_int_eq(lt_config_parse(NULL, 0, "t.yaml", &c, err, sizeof err), 0);
    assert_defaults(c);
    lt_config_free(c);
}
END_TEST

START_TEST(every_key)
{
    lt_config *c = good("socket: /tmp/lt.sock\n"
                        "socket_mode: \"0640\"\n"
                        "socket_group: www-data\n"
                        "listen: '[::1]:8080'\n"
                        "state_dir: /srv/state\n"
                        "checkpoint_interval: 5m\n"
                        "threads: 8\n"
                        "strip_query: yes\n"
                        "limits:\n"
                        "  exact_clients_bytes: 1GiB\n"
                        "  url_entries: 5000\n"
                        "  rps_bytes: 3MiB\n"
                        "http:\n"
                        "  max_connections: 10\n"
                        "  max_header_bytes: 8KiB\n"
                        "  request_timeout: 1500ms\n"
                        "sources:\n"
                        "  - path: /var/log/apache2/access.log\n"
                        "    format: vhost_combined\n"
                        "  - path: '/var/log/nginx/*.log'\n"
                        "  - format: '%h %l %u %t \"%r\" %>s %b'\n"
                        "    path: /x\n");
    ck_assert_str_eq(c->socket, "/tmp/lt.sock");
    ck_assert_uint_eq(c->socket_mode, 0640);
    ck_assert_str_eq(c->socket_group, "www-data");
    ck_assert_str_eq(c->listen, "[::1]:8080");
    ck_assert_str_eq(c->state_dir, "/srv/state");
    ck_assert_uint_eq(c->checkpoint_interval_ms, 300000);
    ck_assert_uint_eq(c->threads, 8);
    ck_assert_int_eq(c->limits.strip_query, 1);
    ck_assert_uint_eq(c->limits.exact_clients_bytes, (size_t)1 << 30);
    ck_assert_uint_eq(c->limits.url_entries, 5000);
    ck_assert_uint_eq(c->limits.rps_bytes, (size_t)3 << 20);
    ck_assert_uint_eq(c->http.max_connections, 10);
    ck_assert_uint_eq(c->http.max_header_bytes, 8192);
    ck_assert_uint_eq(c->http.request_timeout_ms, 1500);
    ck_assert_uint_eq(c->n_sources, 3);
    ck_assert_str_eq(c->sources[0].path, "/var/log/apache2/access.log");
    ck_assert_str_eq(c->sources[0].format, "vhost_combined");
    ck_assert_str_eq(c->sources[1].path, "/var/log/nginx/*.log");
    ck_assert_str_eq(c->sources[1].format, "combined");
    ck_assert_str_eq(c->sources[2].path, "/x");
    ck_assert_str_eq(c->sources[2].format, "%h %l %u %t \"%r\" %>s %b");
    lt_config_free(c);

    /* Flow style is the same YAML. */
    c = good("{socket: /a, threads: 2, http: {max_connections: 3}, sources: [{path: /l}]}");
    ck_assert_str_eq(c->socket, "/a");
    ck_assert_uint_eq(c->threads, 2);
    ck_assert_uint_eq(c->http.max_connections, 3);
    ck_assert_uint_eq(c->n_sources, 1);
    ck_assert_str_eq(c->sources[0].format, "combined");
    lt_config_free(c);

    /* Optional strings can be set back to unset, and booleans have six
     * spellings in any case. */
    c = good("socket_group: ~\nlisten:\nstrip_query: ON\n");
    ck_assert_ptr_null(c->socket_group);
    ck_assert_ptr_null(c->listen);
    ck_assert_int_eq(c->limits.strip_query, 1);
    lt_config_free(c);
    static const char *const bools[] = {"true", "false", "yes", "no", "on", "off", "True", "NO"};
    for (size_t i = 0; i < 8; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "strip_query: %s\n", bools[i]);
        c = good(doc);
        ck_assert_int_eq(c->limits.strip_query, i % 2 == 0);
        lt_config_free(c);
    }
}
END_TEST

START_TEST(sizes)
{
    static const struct {
        const char *s;
        size_t v;
    } ok[] = {
        {"0", 0},           {"4096", 4096},           {"7B", 7},
        {"1K", 1024},       {"1KB", 1024},            {"3KiB", 3072},
        {"2M", 2 << 20},    {"2MB", 2 << 20},         {"256MiB", (size_t)256 << 20},
        {"1G", 1 << 30},    {"5GB", (size_t)5 << 30}, {"1GiB", 1 << 30},
        {"2T", (size_t)2 << 40}, {"1TB", (size_t)1 << 40}, {"3TiB", (size_t)3 << 40},
        {"007KiB", 7168},   {"18446744073709551615", SIZE_MAX},
        {"16777215TiB", (size_t)16777215 << 40},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t v = 12345;
        ck_assert_msg(lt_config_parse_size(ok[i].s, &v) == 0, "%s refused", ok[i].s);
        ck_assert_msg(v == ok[i].v, "%s gave %zu", ok[i].s, v);
    }
    static const char *const no[] = {
        "",          "MiB",          "-1",       "+1",       "10 MiB",  " 10MiB",
        "10MiB ",    "1.5GiB",       "1e3",      "0x10",     "10mib",   "10Mi",
        "10KiBs",    "10b",          "16777216TiB", "18446744073709551616",
        "99999999999999999999GiB",   "17179869184GiB", "1 ",   "1_000",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        size_t v = 12345;
        ck_assert_msg(lt_config_parse_size(no[i], &v) == -EINVAL, "'%s' accepted", no[i]);
        ck_assert_uint_eq(v, 12345);  /* untouched on error */
    }
    /* The same through the document, with the position of the value. */
    ck_assert_str_eq(bad("limits:\n  exact_clients_bytes: 10 MiB\n"),
                     "t.yaml:2:24: limits.exact_clients_bytes: expected a size such as "
                     "256MiB, 64KiB or 4096, found '10 MiB'");
    ck_assert_str_eq(bad("limits: {exact_clients_bytes: 99999999999999999999GiB}"),
                     "t.yaml:1:31: limits.exact_clients_bytes: 99999999999999999999GiB is too "
                     "large");
    bad_with("limits: {exact_clients_bytes: 16777216TiB}", "16777216TiB is too large");
    bad_with("limits: {exact_clients_bytes: -1}", "expected a size");
    bad_with("limits: {exact_clients_bytes: ''}", "found ''");
    bad_with("limits: {exact_clients_bytes: }", "found nothing (null)");
}
END_TEST

START_TEST(durations)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {
        {"0", 0},           {"30", 30000},       {"30s", 30000},    {"250ms", 250},
        {"5m", 300000},     {"1h", 3600000},     {"0ms", 0},        {"1ms", 1},
        {"18446744073709551615ms", UINT64_MAX},  {"18446744073709551s", 18446744073709551000u},
        {"1d", 86400000},   {"31d", 2678400000u},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        ck_assert_msg(lt_config_parse_duration(ok[i].s, &v) == 0, "%s refused", ok[i].s);
        ck_assert_msg(v == ok[i].ms, "%s gave %llu", ok[i].s, (unsigned long long)v);
    }
    static const char *const no[] = {
        "",    "s",     "-1s",   "+1s",  "1 s",  "1.5s", "1D",  "1S",  "1sec", "1hm",
        "1m30s", "18446744073709552s", "18446744073709551616ms", "99999999999999999999h",
        "5124095576030432h", "1h ",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        uint64_t v = 12345;
        ck_assert_msg(lt_config_parse_duration(no[i], &v) == -EINVAL, "'%s' accepted", no[i]);
        ck_assert_uint_eq(v, 12345);
    }
    ck_assert_str_eq(bad("checkpoint_interval: 10 s\n"),
                     "t.yaml:1:22: checkpoint_interval: expected a duration such as 30s, 250ms, "
                     "5m or 1h, found '10 s'");
}
END_TEST

START_TEST(unknown_keys)
{
    ck_assert_str_eq(bad("socket: /a\n\nsockett: /b\n"),
                     "t.yaml:3:1: unknown key 'sockett' (did you mean 'socket'?)");
    ck_assert_str_eq(bad("limits:\n  url_entries: 5\n  exact_client_bytes: 1MiB\n"),
                     "t.yaml:3:3: unknown key 'exact_client_bytes' in limits "
                     "(did you mean 'exact_clients_bytes'?)");
    ck_assert_str_eq(bad("http:\n    request_timout: 1s\n"),
                     "t.yaml:2:5: unknown key 'request_timout' in http "
                     "(did you mean 'request_timeout'?)");
    ck_assert_str_eq(bad("sources:\n  - path: /a\n  - path: /b\n    fromat: nginx\n"),
                     "t.yaml:4:5: unknown key 'fromat' in sources (did you mean 'format'?)");
    /* Nothing close: no hint. */
    ck_assert_str_eq(bad("colour: blue\n"), "t.yaml:1:1: unknown key 'colour'");
    /* A key in the wrong section says where it belongs. */
    ck_assert_str_eq(bad("limits:\n  strip_query: true\n"),
                     "t.yaml:2:3: unknown key 'strip_query' in limits "
                     "('strip_query' belongs at the top level)");
    ck_assert_str_eq(bad("url_entries: 10\n"),
                     "t.yaml:1:1: unknown key 'url_entries' ('url_entries' belongs under limits)");
    /* Keys are compared whole and by case. */
    bad_with("Socket: /a\n", "unknown key 'Socket'");
    bad_with("socket_: /a\n", "unknown key 'socket_'");
    bad_with("sock: /a\n", "unknown key 'sock'");
    /* Odd bytes in a key are shown escaped and cut short. */
    ck_assert_str_eq(bad("\"a\\tb\\0\\u00e9\": 1\n"),
                     "t.yaml:1:1: unknown key 'a\\x09b\\x00\\xc3\\xa9'");
    char doc[300];
    memset(doc, 'k', 200);
    strcpy(doc + 200, ": 1\n");
    ck_assert_str_eq(bad(doc), "t.yaml:1:1: unknown key "
                               "'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'");
    /* A YAML merge key is just an unknown key. */
    bad_with("<<: {socket: /a}\n", "unknown key '<<'");
}
END_TEST

START_TEST(syntax_errors)
{
    ck_assert_str_eq(bad("socket: x\n  state_dir: y\n"),
                     "t.yaml:2:12: mapping values are not allowed in this context");
    ck_assert_str_eq(bad("socket: \"abc\n"),
                     "t.yaml:2:1: found unexpected end of stream "
                     "(while scanning a quoted scalar at 1:9)");
    bad_with("socket: x\n\tstate_dir: y\n", "t.yaml:2:1: found a tab character");
    bad_with("sources: [ {path: /a}\n", "t.yaml:2:1: ");
    bad_with("threads: 1\n- 2\n", "t.yaml:2:1: ");
    /* The file name given is the one in the message. */
    lt_config *c;
    ck_assert_int_eq(lt_config_parse("a: [", 4, "/etc/logtally/x.yaml", &c, err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_eq(strstr(err, "/etc/logtally/x.yaml:1:"), err);
}
END_TEST

START_TEST(wrong_types)
{
    ck_assert_str_eq(bad("socket: [a, b]\n"),
                     "t.yaml:1:9: socket: expected a non-empty path, found a sequence");
    ck_assert_str_eq(bad("sources:\n  path: /a\n"),
                     "t.yaml:2:3: sources: expected a sequence of sources, each a mapping with "
                     "path: and format:, found a mapping");
    ck_assert_str_eq(bad("sources:\n  - /var/log/a.log\n"),
                     "t.yaml:2:5: sources[0]: expected a mapping with path: and format:, "
                     "found '/var/log/a.log'");
    bad_with("sources: /var/log/a.log\n", "t.yaml:1:10: sources: expected a sequence");
    bad_with("limits: 5\n", "t.yaml:1:9: limits: expected a mapping of keys, found '5'");
    bad_with("http: [1]\n", "t.yaml:1:7: http: expected a mapping of keys, found a sequence");
    bad_with("threads: {a: 1}\n", "threads: expected a non-negative integer, found a mapping");
    bad_with("threads: two\n", "threads: expected a non-negative integer, found 'two'");
    bad_with("threads: -1\n", "threads: expected a non-negative integer, found '-1'");
    bad_with("threads: 1.0\n", "found '1.0'");
    bad_with("strip_query: 1\n", "strip_query: expected true or false, found '1'");
    bad_with("state_dir: ''\n", "state_dir: expected a non-empty path, found ''");
    bad_with("socket: ~\n", "socket: expected a non-empty path, found nothing (null)");
    bad_with("socket_group: ''\n", "socket_group: expected a non-empty name");
    bad_with("sources:\n  - path: [a]\n",
             "t.yaml:2:11: sources[0].path: expected a non-empty path");
    bad_with("sources:\n  - path: /a\n  - path: /b\n    format: {x: 1}\n",
             "t.yaml:4:13: sources[1].format: expected a format name");
    bad_with("[socket, threads]\n", "t.yaml:1:1: expected a mapping of keys");
    bad_with("just text\n", "found 'just text'");
    bad_with("? [a, b]\n: c\n", "t.yaml:1:3: expected a key, found a sequence");
    bad_with("http: {? {a: 1} : 2}\n", "http: expected a key, found a mapping");
}
END_TEST

START_TEST(duplicate_keys)
{
    ck_assert_str_eq(bad("threads: 1\nsocket: /a\nthreads: 2\n"),
                     "t.yaml:3:1: duplicate key 'threads' (first given at 1:1)");
    ck_assert_str_eq(bad("limits:\n  url_entries: 1\nhttp: {}\nlimits: {}\n"),
                     "t.yaml:4:1: duplicate key 'limits' (first given at 1:1)");
    ck_assert_str_eq(bad("http:\n  max_connections: 1\n  max_connections: 2\n"),
                     "t.yaml:3:3: duplicate key 'max_connections' (first given at 2:3)");
    bad_with("sources:\n  - {path: /a, format: common, path: /b}\n",
             "t.yaml:2:32: duplicate key 'path' (first given at 2:6)");
    /* The same key in two sources is no duplicate. */
    lt_config *c = good("sources:\n  - path: /a\n  - path: /a\n");
    ck_assert_uint_eq(c->n_sources, 2);
    lt_config_free(c);
}
END_TEST

START_TEST(socket_mode)
{
    static const struct {
        const char *s;
        unsigned mode;
    } ok[] = {{"\"0660\"", 0660}, {"0660", 0660}, {"'600'", 0600}, {"0o750", 0750},
              {"0", 0},           {"0775", 0775}, {"0000640", 0640}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "socket_mode: %s\n", ok[i].s);
        lt_config *c = good(doc);
        ck_assert_uint_eq(c->socket_mode, ok[i].mode);
        lt_config_free(c);
    }
    ck_assert_str_eq(bad("socket_mode: \"0666\"\n"),
                     "t.yaml:1:14: socket_mode: 0666 is world-writable, which would let any "
                     "local user reload the daemon and read its statistics; use 0660 with "
                     "socket_group");
    bad_with("socket_mode: 0662\n", "world-writable");
    bad_with("socket_mode: 0777\n", "world-writable");
    bad_with("socket_mode: 2\n", "world-writable");
    ck_assert_str_eq(bad("socket_mode: 01660\n"),
                     "t.yaml:1:14: socket_mode: 01660 is out of range: expected 0 to 0777 "
                     "(permission bits only)");
    bad_with("socket_mode: 1000\n", "out of range");
    bad_with("socket_mode: 7777777777777777777777\n", "out of range");
    static const char *const no[] = {"0x1b0", "0668", "8", "''", "-0660", "+660", "0o", "rw-rw----",
                                     "06 60", "0660.0"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "socket_mode: %s\n", no[i]);
        bad_with(doc, "socket_mode: expected an octal mode such as \"0660\"");
    }
}
END_TEST

START_TEST(validation)
{
    lt_config *c;
    ck_assert_str_eq(bad("limits:\n  url_entries: 0\n"),
                     "t.yaml:2:16: limits.url_entries: 0 is out of range: expected at least 1, "
                     "since the URL table must hold the URL being counted");
    bad_with("limits: {url_entries: 18446744073709551616}", "out of range");
    bad_with("checkpoint_interval: 99ms\n", "checkpoint_interval: 99ms is out of range");
    bad_with("checkpoint_interval: 0\n", "out of range");
    c = good("checkpoint_interval: 100ms\nthreads: 64\n");
    ck_assert_uint_eq(c->checkpoint_interval_ms, 100);
    ck_assert_uint_eq(c->threads, 64);
    lt_config_free(c);
    ck_assert_str_eq(bad("threads: 65\n"),
                     "t.yaml:1:10: threads: 65 is out of range: expected 0 (one per online CPU) "
                     "to 64");
    bad_with("threads: 4294967297\n", "out of range");
    bad_with("http: {max_connections: 0}", "http.max_connections: 0 is out of range");
    bad_with("http: {max_header_bytes: 1023}", "http.max_header_bytes: 1023 is out of range");
    bad_with("http: {request_timeout: 99ms}", "http.request_timeout: 99ms is out of range");
    c = good("limits: {exact_clients_bytes: 0}\nhttp: {max_header_bytes: 1KiB}\n");
    ck_assert_uint_eq(c->limits.exact_clients_bytes, 0);
    ck_assert_uint_eq(c->http.max_header_bytes, 1024);
    lt_config_free(c);

    static const char *const listen_ok[] = {"127.0.0.1:9369", "localhost:1", "'[::1]:65535'",
                                            "'[::]:80'", "'[fe80::1%eth0]:80'", "0.0.0.0:8080",
                                            "my-host.example.org:443"};
    for (size_t i = 0; i < sizeof listen_ok / sizeof listen_ok[0]; i++) {
        char doc[96];
        snprintf(doc, sizeof doc, "listen: %s\n", listen_ok[i]);
        c = good(doc);
        ck_assert_ptr_nonnull(c->listen);
        lt_config_free(c);
    }
    static const char *const listen_no[] = {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
                                            "':80'", "h:", "h:80x", "h:+80", "'[::1]'",
                                            "'[::1]80'", "'[]:80'", "h:000080", "'a b:80'",
                                            "''", "h:-1", "'[::1:80'"};
    for (size_t i = 0; i < sizeof listen_no / sizeof listen_no[0]; i++) {
        char doc[96];
        snprintf(doc, sizeof doc, "listen: %s\n", listen_no[i]);
        bad_with(doc, "t.yaml:1:9: listen: expected host:port or [v6]:port");
    }
    bad_with("listen: '::1:9369'\n", "write an IPv6 address in brackets");
}
END_TEST

START_TEST(sources)
{
    ck_assert_str_eq(bad("sources:\n  - format: nginx\n"),
                     "t.yaml:2:5: sources[0]: a source needs a path:");
    ck_assert_str_eq(bad("sources:\n  - path: /a\n  - path: /b\n    format: ''\n"),
                     "t.yaml:4:13: sources[1].format: expected a format name (common, combined, "
                     "vhost_combined, nginx, caddy, json), a LogFormat string or an nginx "
                     "log_format string, found ''");
    bad_with("sources:\n  - path: ''\n", "sources[0].path: expected a non-empty path, found ''");
    bad_with("sources:\n  - {}\n", "t.yaml:2:5: sources[0]: a source needs a path:");
    bad_with("sources:\n  - path: /a\n    format:\n", "found nothing (null)");
    /* Formats are compiled with their options, so a bad one is an error at
     * its source's line. */
    ck_assert_str_eq(bad("sources:\n  - path: /a\n  - path: /b\n    format: combine\n"),
                     "t.yaml:3:5: sources[1]: unknown format 'combine' (did you mean combined?)");
    bad_with("sources:\n  - path: /a\n    format: no such format\n",
             "t.yaml:2:5: sources[0]: the format has no client field");
    bad_with("sources:\n  - path: /a\n    client:\n      trusted_proxies: [10.0.0.0/33]\n",
             "t.yaml:2:5: sources[0]: trusted proxies: '10.0.0.0/33': prefix length 33 is more than 32");
    bad_with("sources:\n  - path: /a\n    client:\n      header: X-Real-IP\n",
             "sources[0]: the client header X-Real-IP is not logged by the format");
    bad_with("sources:\n  - path: /a\n    client:\n      trusted_proxies: [10.0.0.1, '']\n",
             "t.yaml:4:35: sources[0].client.trusted_proxies[1]: expected an address or CIDR range");
    bad_with("sources:\n  - path: /a\n    client:\n      trusted_proxy: [10.0.0.1]\n",
             "unknown key 'trusted_proxy' in client (did you mean 'trusted_proxies'?)");
    bad_with("sources:\n  - path: /a\n    json_fields: {time: ts}\n    format: json\n    "
             "client: {header: xff}\n    client: {}\n", "duplicate key 'client'");
    lt_config *c = good("sources:\n  - path: /a\n    format: '%h %l %u %t \"%r\" %>s %b \"%{X-Forwarded-For}i\"'\n"
                        "    client:\n      header: X-Forwarded-For\n"
                        "      trusted_proxies:\n        - 10.0.0.0/8\n        - 2001:db8::/32\n"
                        "  - path: /b\n    format: json\n    json_fields:\n      time: '@timestamp'\n"
                        "      client: client.ip\n");
    ck_assert_str_eq(c->sources[0].client_header, "X-Forwarded-For");
    ck_assert_uint_eq(c->sources[0].n_trusted_proxies, 2);
    ck_assert_str_eq(c->sources[0].trusted_proxies[1], "2001:db8::/32");
    ck_assert_str_eq(c->sources[1].json_fields[LT_JSON_TIME], "@timestamp");
    ck_assert_str_eq(c->sources[1].json_fields[LT_JSON_CLIENT], "client.ip");
    ck_assert_ptr_null(c->sources[1].json_fields[LT_JSON_URI]);
    lt_format_opts o;
    lt_source_format_opts(&c->sources[0], &o);
    ck_assert_uint_eq(o.n_trusted, 2);
    ck_assert_str_eq(o.client_header, "X-Forwarded-For");
    lt_config_free(c);

    /* Many sources grow the array. */
    size_t n = 1000, len = 0;
    char *doc = malloc(n * 40 + 16);
    len += (size_t)sprintf(doc, "sources:\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(doc + len, "  - path: /var/log/%zu.log\n", i);
    c = good(doc);
    ck_assert_uint_eq(c->n_sources, n);
    ck_assert_str_eq(c->sources[999].path, "/var/log/999.log");
    ck_assert_str_eq(c->sources[999].format, "combined");
    lt_config_free(c);
    free(doc);
}
END_TEST

START_TEST(yaml_features)
{
    /* Anchors alone are harmless; aliases are refused. */
    lt_config *c = good("socket: &s /a\nstate_dir: /b\n");
    ck_assert_str_eq(c->socket, "/a");
    lt_config_free(c);
    ck_assert_str_eq(bad("socket: &s /a\nstate_dir: *s\n"),
                     "t.yaml:2:12: state_dir: aliases (*s) are not supported; write the value out");
    bad_with("limits: &l {url_entries: 5}\nhttp: *l\n", "t.yaml:2:7: http: aliases (*l)");
    bad_with("sources:\n  - &a {path: /x}\n  - *a\n", "t.yaml:3:5: sources[1]: aliases (*a)");
    c = good("&r {socket: /a}\n");
    ck_assert_str_eq(c->socket, "/a");
    lt_config_free(c);
    bad_with("*r\n", "t.yaml:1:1: aliases are not supported");
    bad_with("socket: /a\n*k : 1\n", "t.yaml:2:1: expected a key, found an alias");

    /* Tags are ignored: the key decides how the text reads. */
    c = good("socket: !!str /a\nthreads: !!int 3\nsocket_mode: !!int 0640\n"
             "strip_query: !custom on\n");
    ck_assert_str_eq(c->socket, "/a");
    ck_assert_uint_eq(c->threads, 3);
    ck_assert_uint_eq(c->socket_mode, 0640);
    ck_assert_int_eq(c->limits.strip_query, 1);
    lt_config_free(c);

    /* One document, with its markers and directives, is fine; a second is
     * an error, even an empty one. */
    c = good("%YAML 1.1\n---\nthreads: 2\n...\n# trailing comment\n");
    ck_assert_uint_eq(c->threads, 2);
    lt_config_free(c);
    ck_assert_str_eq(bad("threads: 1\n---\nthreads: 2\n"),
                     "t.yaml:2:1: a second YAML document; the configuration is a single document");
    bad_with("threads: 1\n...\n---\n", "t.yaml:3:1: a second YAML document");

    /* Quoting styles all give the text. */
    c = good("socket: \"/a\\x41\"\nstate_dir: '/it''s'\nsocket_group: >-\n  adm\n");
    ck_assert_str_eq(c->socket, "/aA");
    ck_assert_str_eq(c->state_dir, "/it's");
    ck_assert_str_eq(c->socket_group, "adm");
    lt_config_free(c);
}
END_TEST

START_TEST(bad_bytes)
{
    ck_assert_str_eq(bad_n("threads: 1\nsocket: /a\0b\n", 22),
                     "t.yaml:2:11: control characters are not allowed (U+0000)");
    ck_assert_str_eq(bad_n("socket: /a\xff\n", 12),
                     "t.yaml:1:11: invalid leading UTF-8 octet (byte 0xFF)");
    ck_assert_str_eq(bad("s\xc3\xa9: /a\xc3\n"),
                     "t.yaml:1:8: invalid trailing UTF-8 octet (byte 0x0A)");
    ck_assert_str_eq(bad("socket:\n  /a\xc3"), "t.yaml:2:5: incomplete UTF-8 octet sequence");
    ck_assert_str_eq(bad("socket: \"/a\\0b\"\n"),
                     "t.yaml:1:9: socket: '/a\\x00b' holds a NUL byte");
    bad_with("socket: \x01\n", "control characters are not allowed (U+0001)");
    bad_with("socket: \"\xed\xa0\x80\"\n", "t.yaml:1:10: ");
    /* Non-ASCII text is kept as UTF-8. */
    lt_config *c = good("socket: /run/caf\xc3\xa9.sock\n");
    ck_assert_str_eq(c->socket, "/run/caf\xc3\xa9.sock");
    lt_config_free(c);
}
END_TEST

START_TEST(error_buffers)
{
    lt_config *c = (lt_config *)1;
    char small[12];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(lt_config_parse("sockett: 1", 10, "t.yaml", &c, small, sizeof small), -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(small, "t.yaml:1:1:");
    ck_assert_int_eq(lt_config_parse("sockett: 1", 10, "t.yaml", &c, NULL, 0), -EINVAL);
    ck_assert_int_eq(lt_config_parse("sockett: 1", 10, "t.yaml", &c, small, 0), -EINVAL);
    ck_assert_int_eq(lt_config_load("/nonexistent/x.yaml", &c, NULL, 0), -ENOENT);
    /* Success clears the buffer. */
    strcpy(err, "stale");
    ck_assert_int_eq(lt_config_parse("", 0, "t.yaml", &c, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    lt_config_free(c);
}
END_TEST

/* Writes text to a new temporary file; returns its path (static). */
static const char *temp_file(const void *text, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/test_config.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

START_TEST(load)
{
    lt_config *c = (lt_config *)1;
    char want[300];

    ck_assert_int_eq(lt_config_load("/nonexistent/logtally.yaml", &c, err, sizeof err), -ENOENT);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, "/nonexistent/logtally.yaml: No such file or directory");
    ck_assert_int_eq(lt_config_load("/tmp", &c, err, sizeof err), -EISDIR);
    ck_assert_str_eq(err, "/tmp: Is a directory");

    /* Errors name the file that was loaded. */
    const char *path = temp_file("threads: 1\nsocket_mode: \"0666\"\n", 31);
    ck_assert_int_eq(lt_config_load(path, &c, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want, "%s:2:14: socket_mode: 0666 is world-writable", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    unlink(path);

    path = temp_file("threads: 3\n", 11);
    ck_assert_int_eq(lt_config_load(path, &c, err, sizeof err), 0);
    ck_assert_uint_eq(c->threads, 3);
    lt_config_free(c);
    unlink(path);

    /* A file of exactly 1 MiB is read; one byte more is refused. */
    size_t cap = (size_t)1 << 20;
    char *big = malloc(cap + 1);
    memset(big, '#', cap + 1);
    big[cap - 1] = '\n';
    path = temp_file(big, cap);
    ck_assert_int_eq(lt_config_load(path, &c, err, sizeof err), 0);
    assert_defaults(c);
    lt_config_free(c);
    unlink(path);
    path = temp_file(big, cap + 1);
    ck_assert_int_eq(lt_config_load(path, &c, err, sizeof err), -EFBIG);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof want, "%s: file too large (a configuration is at most 1024 KiB)", path);
    ck_assert_str_eq(err, want);
    unlink(path);
    free(big);

    ck_assert_int_eq(lt_config_load("/dev/null", &c, err, sizeof err), 0);
    assert_defaults(c);
    lt_config_free(c);
}
END_TEST

/* The example configuration loads, states every default exactly, and
 * mentions every key, so docs and defaults cannot drift apart. */
START_TEST(example_is_the_defaults)
{
    lt_config *c;
    int rc = lt_config_load(EXAMPLE, &c, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    assert_defaults(c);
    lt_config *d = lt_config_new_default();
    ck_assert_str_eq(c->socket, d->socket);
    ck_assert_str_eq(c->state_dir, d->state_dir);
    ck_assert_uint_eq(c->socket_mode, d->socket_mode);
    ck_assert_uint_eq(c->checkpoint_interval_ms, d->checkpoint_interval_ms);
    ck_assert_uint_eq(c->threads, d->threads);
    ck_assert_int_eq(c->limits.strip_query, d->limits.strip_query);
    ck_assert_uint_eq(c->limits.exact_clients_bytes, d->limits.exact_clients_bytes);
    ck_assert_uint_eq(c->limits.url_entries, d->limits.url_entries);
    ck_assert_uint_eq(c->http.max_connections, d->http.max_connections);
    ck_assert_uint_eq(c->http.max_header_bytes, d->http.max_header_bytes);
    ck_assert_uint_eq(c->http.request_timeout_ms, d->http.request_timeout_ms);
    ck_assert_ptr_eq(c->socket_group, d->socket_group);
    ck_assert_ptr_eq(c->listen, d->listen);
    lt_config_free(d);

    ck_assert_uint_eq(c->n_sources, 2);
    ck_assert_str_eq(c->sources[0].path, "/var/log/apache2/access.log");
    ck_assert_str_eq(c->sources[0].format, "combined");
    ck_assert_str_eq(c->sources[1].path, "/var/log/nginx/access.log");
    ck_assert_str_eq(c->sources[1].format, "nginx");
    lt_config_free(c);

    /* Every key appears as "key:" (the optional ones commented out). */
    FILE *f = fopen(EXAMPLE, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    static const char *const keys[] = {
        "socket:",          "socket_mode:",     "socket_group:", "listen:",
        "state_dir:",       "checkpoint_interval:", "threads:",  "strip_query:",
        "limits:",          "exact_clients_bytes:", "url_entries:", "http:",
        "max_connections:", "max_header_bytes:", "request_timeout:", "sources:",
        "path:",            "format:",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(strstr(text, keys[i]) != NULL, "%s is not documented", keys[i]);

    /* Uncommenting the commented examples gives a valid configuration. */
    size_t len = 0;
    char *un = malloc(n + 1);
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) + 1 : strlen(line);
        char *p = line;
        while (*p == ' ')
            p++;
        int example = strncmp(p, "# socket_group:", 15) == 0 || strncmp(p, "# listen:", 9) == 0 ||
                      strncmp(p, "# - path:", 9) == 0 || strncmp(p, "#   format:", 11) == 0;
        if (example) {
            size_t indent = (size_t)(p - line);
            memcpy(un + len, line, indent);
            memcpy(un + len + indent, p + 2, ll - indent - 2);
            len += ll - 2;
        } else {
            memcpy(un + len, line, ll);
            len += ll;
        }
        line += ll;
    }
    un[len] = '\0';
    c = good(un);
    ck_assert_str_eq(c->socket_group, "adm");
    ck_assert_str_eq(c->listen, "127.0.0.1:9369");
    ck_assert_uint_eq(c->n_sources, 5);
    ck_assert_ptr_nonnull(strstr(c->sources[2].format, "%D"));
    ck_assert_ptr_nonnull(strstr(c->sources[3].format, "$http_x_forwarded_for"));
    ck_assert_str_eq(c->sources[4].format, "caddy");
    lt_config_free(c);
    free(un);
}
END_TEST

/* A document that uses every feature, for the prefix and corruption runs. */
static const char rich[] =
    "%YAML 1.1\n"
    "---\n"
    "# logtally\n"
    "socket: /run/logtally/logtally.sock\n"
    "socket_mode: \"0640\"\n"
    "socket_group: adm\n"
    "listen: '[::1]:9369'\n"
    "state_dir: &d /var/lib/logtally\n"
    "checkpoint_interval: 30s\n"
    "threads: 4\n"
    "strip_query: on\n"
    "limits:\n"
    "  exact_clients_bytes: 256MiB\n"
    "  url_entries: 1000000\n"
    "http: {max_connections: 256, max_header_bytes: 16KiB, request_timeout: 10s}\n"
    "sources:\n"
    "  - path: /var/log/apache2/access.log\n"
    "    format: combined\n"
    "  - path: \"/var/log/nginx/*.log\"\n"
    "    format: |\n"
    "      %h %l %u %t \"%r\" %>s %b\n"
    "  - {path: /x, format: !!str nginx}\n"
    "...\n";

/* Parses len bytes copied into a buffer of exactly that size (so ASan sees
 * any read past the end) and checks the contract's invariants. */
static void parse_anything(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    lt_config *c = (lt_config *)1;
    err[0] = 'x';
    int rc = lt_config_parse(copy, len, "t.yaml", &c, err, sizeof err);
    if (rc == 0) {
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_nonnull(c->socket);
        ck_assert_ptr_nonnull(c->state_dir);
        for (size_t i = 0; i < c->n_sources; i++)
            ck_assert(c->sources[i].path[0] != '\0' && c->sources[i].format[0] != '\0');
    } else {
        ck_assert_int_eq(rc, -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_msg(strncmp(err, "t.yaml:", 7) == 0, "%s", err);
        ck_assert(strchr(err, '\n') == NULL);
    }
    lt_config_free(c);
    free(copy);
}

START_TEST(every_prefix_is_safe)
{
    lt_config *c = good(rich);
    ck_assert_uint_eq(c->n_sources, 3);
    ck_assert_str_eq(c->sources[1].format, "%h %l %u %t \"%r\" %>s %b\n");
    lt_config_free(c);
    for (size_t len = 0; len <= sizeof rich - 1; len++)
        parse_anything(rich, len);
}
END_TEST

START_TEST(random_corruption_is_safe)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    char doc[sizeof rich];
    static const char interesting[] = "\0\n\t :-[]{}&*!|>'\"#%?,\\\x80\xff\xc3";
    for (int round = 0; round < 20000; round++) {
        memcpy(doc, rich, sizeof rich);
        int flips = 1 + round % 4;
        for (int f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t at = x % (sizeof rich - 1);
            if ((x >> 32) & 1)
                doc[at] = interesting[(x >> 40) % (sizeof interesting - 1)];
            else
                doc[at] ^= (char)(1u << ((x >> 40) % 8));
        }
        parse_anything(doc, (round % 7 == 0) ? (x >> 20) % sizeof rich : sizeof rich - 1);
    }
    /* Pure noise. */
    char noise[256];
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof noise; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            noise[i] = (char)x;
        }
        parse_anything(noise, (size_t)round % sizeof noise);
    }
}
END_TEST

START_TEST(huge_inputs_are_safe)
{
    /* Deep nesting is refused where it starts, whatever follows: the
     * reader walks the schema, never the document's depth. */
    size_t depth = 200000, len;
    char *deep = malloc(2 * depth + 64);
    len = (size_t)sprintf(deep, "socket: ");
    memset(deep + len, '[', depth);
    memset(deep + len + depth, ']', depth);
    deep[len + 2 * depth] = '\0';
    ck_assert_str_eq(bad(deep), "t.yaml:1:9: socket: expected a non-empty path, found a sequence");
    ck_assert_str_eq(bad(deep + len), "t.yaml:1:1: expected a mapping of keys such as socket: "
                                      "and sources:, found a sequence");
    len = (size_t)sprintf(deep, "sources: ");
    memset(deep + len, '[', depth);
    deep[len + depth] = '\0';
    bad_with(deep, "t.yaml:1:11: sources[0]: expected a mapping with path: and format:");
    free(deep);

    /* A long value is kept whole; a long bad value is quoted cut short. */
    size_t n = 900000;
    char *doc = malloc(n + 64);
    len = (size_t)sprintf(doc, "socket: /");
    memset(doc + len, 'a', n);
    doc[len + n] = '\0';
    lt_config *c = good(doc);
    ck_assert_uint_eq(strlen(c->socket), n + 1);
    lt_config_free(c);
    len = (size_t)sprintf(doc, "threads: ");
    memset(doc + len, '7', n);
    doc[len + n] = '\0';
    ck_assert_str_eq(bad(doc), "t.yaml:1:10: threads: 7777777777777777777777777777777777777777... "
                               "is out of range: expected 0 (one per online CPU) to 64");
    free(doc);

    /* Many small sources. */
    size_t count = 50000;
    doc = malloc(count * 24 + 16);
    len = (size_t)sprintf(doc, "sources:\n");
    for (size_t i = 0; i < count; i++)
        len += (size_t)sprintf(doc + len, "- path: /l/%zu\n", i);
    c = good(doc);
    ck_assert_uint_eq(c->n_sources, count);
    ck_assert_str_eq(c->sources[count - 1].path, "/l/49999");
    lt_config_free(c);
    free(doc);
}
END_TEST

/* The time buckets: width and retention at the top, their limits in
 * limits:, each refused with its line and column when out of range. */
START_TEST(bucket_keys)
{
    lt_config *c = NULL;
    const char *doc = "bucket_width: 15m\nretention: 7d\nlimits:\n  bucket_clients_bytes: 8MiB\n"
                      "  bucket_urls: 500\n  vhosts: 20\n";
    ck_assert_msg(lt_config_parse(doc, strlen(doc), "t.yaml", &c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(c->limits.buckets.width, 900);
    ck_assert_int_eq(c->limits.buckets.retention, 7 * 86400);
    ck_assert_uint_eq(c->limits.buckets.clients_bytes, 8 << 20);
    ck_assert_uint_eq(c->limits.buckets.urls, 500);
    ck_assert_uint_eq(c->limits.buckets.vhosts, 20);
    lt_config_free(c);
    ck_assert_int_eq(lt_config_parse("", 0, "t.yaml", &c, err, sizeof err), 0);
    ck_assert_int_eq(c->limits.buckets.width, 3600);
    ck_assert_int_eq(c->limits.buckets.retention, 31 * 86400);
    lt_config_free(c);
    ck_assert_ptr_nonnull(strstr(bad("bucket_width: 7m\n"), "t.yaml:1:15: bucket_width: 7m is out of range"));
    ck_assert_ptr_nonnull(strstr(bad("bucket_width: 30s\n"), "t.yaml:1:15: bucket_width:"));
    ck_assert_ptr_nonnull(strstr(bad("bucket_width: 2d\n"), "t.yaml:1:15: bucket_width:"));
    ck_assert_ptr_nonnull(strstr(bad("bucket_width: 90500ms\n"), "bucket_width:"));
    ck_assert_ptr_nonnull(strstr(bad("bucket_width: 2h\nretention: 1h\n"),
                                 "retention (3600s) is shorter than one bucket (7200s)"));
    ck_assert_ptr_nonnull(strstr(bad("limits:\n  bucket_urls: 0\n"), "t.yaml:2:16: limits.bucket_urls:"));
    ck_assert_ptr_nonnull(strstr(bad("limits:\n  vhosts: x\n"), "t.yaml:2:11: limits.vhosts:"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, bucket_keys);
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, syntax_errors);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, duplicate_keys);
    tcase_add_test(tc, socket_mode);
    tcase_add_test(tc, validation);
    tcase_add_test(tc, sources);
    tcase_add_test(tc, yaml_features);
    tcase_add_test(tc, bad_bytes);
    tcase_add_test(tc, error_buffers);
    tcase_add_test(tc, load);
    tcase_add_test(tc, example_is_the_defaults);
    tcase_add_test(tc, every_prefix_is_safe);
    tcase_add_test(tc, random_corruption_is_safe);
    tcase_add_test(tc, huge_inputs_are_safe);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
