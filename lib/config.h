/* config.h -- logtallyd's configuration: defaults, YAML, validation.
 *
 * A configuration is loaded from YAML text (libyaml) on top of the built-in
 * defaults; every key is optional, unknown keys are errors, and every error
 * names the file, line and column and what was expected. */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "tally.h"

/* The default of a source's rotate_wait. */
#define LT_ROTATE_WAIT_MS 60000

typedef struct lt_source_conf {
    char *path;               /* a path or a glob */
    uint64_t rotate_wait_ms;  /* a rotated file is read until quiet this long; default 60 s */
    char *format;             /* "combined" (default), another name, a LogFormat or
                                 log_format string */
    /* client: header, trusted_proxies (NULL, 0: the client field alone) */
    char *client_header;
    char **trusted_proxies;
    size_t n_trusted_proxies;
    /* json_fields: time, client, method, uri, request, status, size,
     * duration (by LT_JSON_ index; NULL: the json format's default) */
    char *json_fields[LT_JSON_FIELDS];
} lt_source_conf;

/* The options of a source's format, borrowing its strings: pass them to
 * lt_format_new_with(s->format, o, ...). */
void lt_source_format_opts(const lt_source_conf *s, lt_format_opts *o);

typedef struct lt_config {
    char *socket;             /* default "/run/logtally/logtally.sock" */
    unsigned socket_mode;     /* default 0660 (YAML: "0660" or 0660, always read as octal;
                                 at most 0777, never world-writable) */
    char *socket_group;       /* group owning the socket; NULL (default) = the daemon's */
    char *listen;             /* optional TCP "host:port"; NULL (default) = off */
    char *state_dir;          /* default "/var/lib/logtally" */
    uint64_t checkpoint_interval_ms;  /* default 30 s */
    unsigned threads;         /* reader threads; 0 (default) = online CPUs */
    lt_limits limits;         /* exact_clients_bytes 256 MiB, url_entries 1,000,000,
                                 strip_query (top-level key `strip_query`) false;
                                 buckets: width and retention from the two keys
                                 below, clients_bytes (limits.bucket_clients_bytes)
                                 64 MiB, urls (limits.bucket_urls) 1000, vhosts
                                 (limits.vhosts) 1000 */
    uint64_t bucket_width_ms; /* default 1h; 1m..1d, dividing a day */
    uint64_t retention_ms;    /* default 31d; at least one bucket */
    struct {
        size_t max_connections;        /* default 256 */
        size_t max_header_bytes;       /* default 16 KiB */
        uint64_t request_timeout_ms;   /* default 10 s */
    } http;
    lt_source_conf *sources;  /* n_sources entries */
    size_t n_sources;
} lt_config;

/* Returns a new configuration holding the built-in defaults (no sources),
 * or NULL when out of memory. */
lt_config *lt_config_new_default(void);
void lt_config_free(lt_config *c);      /* NULL is a no-op */

/* Parses YAML text (len bytes, need not be NUL-terminated; name is the
 * file name used in messages) on top of the defaults.  Returns 0 and a new
 * configuration in *out, owned by the caller (lt_config_free()), or a
 * negative errno (-EINVAL for a bad document, -ENOMEM) with
 * "name:line:col: what" in err (cut to errlen; err may be NULL when errlen
 * is 0); *out is then NULL.  Each source's format is compiled with its
 * options once, so that an unknown format name or a bad trusted proxy is
 * an error at its line; the caller compiles its own with
 * lt_format_new_with() and lt_source_format_opts(). */
int lt_config_parse(const char *text, size_t len, const char *name, lt_config **out, char *err,
                    size_t errlen);
/* Reads and parses the file at path; errors as above (a file that cannot be
 * read gives -errno and "path: strerror"; a file over 1 MiB gives -EFBIG
 * and "path: file too large ..."). */
int lt_config_load(const char *path, lt_config **out, char *err, size_t errlen);

/* "30s", "250ms", "5m", "1h" (a bare number is seconds) -> milliseconds.
 * An unsigned decimal integer directly followed by the unit: no sign, no
 * space, no fraction.  Returns 0 or -EINVAL (also on overflow); *ms is
 * left alone on error. */
int lt_config_parse_duration(const char *s, uint64_t *ms);
/* "256MiB", "64KiB", "1GiB", "4096" (bytes; units B, KiB, MiB, GiB, TiB,
 * also K/M/G/T and KB/MB/GB/TB, all powers of 1024) -> bytes.  The same
 * shape as a duration: "10 MiB" and "1.5GiB" are refused.  Returns 0 or
 * -EINVAL (also on overflow); *bytes is left alone on error. */
int lt_config_parse_size(const char *s, size_t *bytes);

#endif
