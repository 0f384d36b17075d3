/* summary.h -- the answer to "what do the logs say", and its JSON form.
 *
 * One lt_summary is computed from a tally; the JSON written from it is the
 * object `logtally analyze --json` prints and GET /v1/summary serves. */
#ifndef LT_SUMMARY_H
#define LT_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clients.h"
#include "tally.h"
#include "urls.h"

typedef struct lt_summary {
    lt_counters n;
    lt_client_counts clients;
    int has_requests;            /* 0: the time fields below are unset */
    int64_t first_ts, last_ts;   /* UTC epoch seconds */
    int64_t peak_second;
    uint64_t peak_requests;
    uint64_t active_seconds;
    double avg_rps;              /* requests / seconds from first to last */
    double avg_rps_active;       /* requests / seconds with a request */
    size_t distinct_urls;
    int urls_exact;
    uint64_t url_error_bound;
    size_t n_top;
    lt_url_count *top;           /* n_top entries, owned; URLs borrowed from the tally */
    lt_client_memory memory;
    size_t url_bytes, rps_bytes;
    int rps_coarse;              /* 0, or the step (60, 3600) of coarsened hours */
    int64_t rps_coarse_until;    /* their last second */
    size_t n_samples;
    lt_sample samples[LT_SAMPLES];
    /* Status, methods and virtual hosts (all time, or the window's). */
    uint64_t status_classes[6];          /* 1xx, 2xx, 3xx, 4xx, 5xx, other */
    uint64_t status_codes[LT_STATUS_CODES];
    uint64_t methods[LT_METHODS];
    size_t n_vhosts;
    lt_url_count *vhosts;                /* n_vhosts entries, owned; names borrowed */
    size_t distinct_vhosts;
    int vhosts_exact;
    uint64_t vhost_error_bound;
    uint64_t vhost_total;                /* requests with a virtual host */
    const lt_urls *vhost_clients;        /* distinct clients per virtual host (borrowed, or
                                            the window's); NULL when not known */
    size_t bucket_bytes;
    /* Set by lt_summary_fill_window(): the range asked and what answered. */
    int has_window;
    lt_window window;                    /* its tables back top and vhosts */
    /* Response times (microseconds) of the requests that logged one. */
    uint64_t durations, duration_p50, duration_p90, duration_p99, duration_max;
    /* How clients were counted ("client field", or the header and the
     * trusted proxies), set by the caller after lt_summary_fill(); NULL is
     * left out of the JSON. */
    const char *client_rule;
} lt_summary;

/* Fills s from t with the top_n URLs.  The summary borrows URL bytes from
 * t, so t must not change while s is used.  Returns 0 or -ENOMEM. */
int lt_summary_fill(lt_summary *s, const lt_tally *t, size_t top_n);
void lt_summary_release(lt_summary *s);    /* frees what fill allocated */

/* Fills s for the range [from, to] (inclusive seconds) with the top_n URLs
 * and top_vhosts virtual hosts.  Requests, status classes, first and last
 * second, peak and averages come from the per-second tables, exact at any
 * edge; bytes, status codes, methods, clients, URLs and virtual hosts from
 * the buckets that overlap the range (s->window says which span they
 * cover and whether it is the range itself).  Malformed lines carry no
 * trustworthy time, so a window counts none and keeps no samples.  Returns
 * 0, -EINVAL (from > to) or -ENOMEM. */
int lt_summary_fill_window(lt_summary *s, const lt_tally *t, int64_t from, int64_t to,
                           size_t top_n, size_t top_vhosts);

/* Appends the summary as one JSON object.  sources[i] names the file of
 * samples with source i (n_sources names; others print as null). */
void lt_summary_json(lt_buf *b, const lt_summary *s, const char *const *sources,
                     size_t n_sources);

/* Appends the "status", "methods" and (when any) "vhosts" members of the
 * summary object, without a separator after them: the one renderer of
 * these three, also for GET /v1/status and /v1/vhosts. */
void lt_summary_json_status(lt_buf *b, const lt_summary *s);
/* The distinct clients of virtual host i of s->vhosts: false when not
 * known (see lt_buckets_vhost_clients()), or when a top-k table of hosts
 * no longer holds that host. */
bool lt_summary_vhost_clients(const lt_summary *s, size_t i, lt_url_count *out);
/* Appends the "vhosts" member alone (always, empty or not).  Each host has
 * "clients" (null when not known; with "clients_error" past the top-k
 * bound of hosts, as its requests have "error"). */
void lt_summary_json_vhosts(lt_buf *b, const lt_summary *s);
/* Appends the "window" member (only for lt_summary_fill_window()). */
void lt_summary_json_window(lt_buf *b, const lt_summary *s);

/* Formats an epoch second as "2015-05-17T10:05:03Z" into out (>= 32 bytes). */
void lt_format_utc(int64_t t, char *out, size_t outlen);

#endif
