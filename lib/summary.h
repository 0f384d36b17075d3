/* summary.h -- the answer to "what do the logs say", and its JSON form.
 *
 * One lt_summary is computed from a tally; the JSON written from it is the
 * object `logtally analyze --json` prints and GET /v1/summary serves. */
#ifndef LT_SUMMARY_H
#define LT_SUMMARY_H

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

/* Appends the summary as one JSON object.  sources[i] names the file of
 * samples with source i (n_sources names; others print as null). */
void lt_summary_json(lt_buf *b, const lt_summary *s, const char *const *sources,
                     size_t n_sources);

/* Formats an epoch second as "2015-05-17T10:05:03Z" into out (>= 32 bytes). */
void lt_format_utc(int64_t t, char *out, size_t outlen);

#endif
