/* summary.c -- the answer to "what do the logs say", and its JSON form.
 *
 * The JSON object (README "Output") has a fixed key order, integers printed
 * exactly and doubles with fixed precision, so two tallies that counted the
 * same lines print the same bytes: a parallel run, a merge of snapshots and
 * a single-threaded run can be compared with cmp.  Times with no requests
 * are null.  Every string goes through lt_buf_json_string(), so a URL or a
 * sample of any bytes keeps the output valid JSON.
 */
#include "summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rps.h"

int lt_summary_fill(lt_summary *s, const lt_tally *t, size_t top_n)
{
    const lt_urls *u = lt_tally_urls(t);
    const lt_rps *r = lt_tally_rps(t);

    memset(s, 0, sizeof(*s));
    s->n = *lt_tally_counters(t);
    lt_clients_counts(lt_tally_clients(t), &s->clients);
    lt_clients_memory(lt_tally_clients(t), &s->memory);

    if (lt_rps_span(r, &s->first_ts, &s->last_ts)) {
        s->has_requests = 1;
        lt_rps_peak(r, &s->peak_second, &s->peak_requests);
        s->active_seconds = lt_rps_active_seconds(r);
        double total = (double)lt_rps_total(r);
        s->avg_rps = total / (double)(s->last_ts - s->first_ts + 1);
        s->avg_rps_active = total / (double)s->active_seconds;
    }

    s->distinct_urls = lt_urls_size(u);
    s->urls_exact = lt_urls_exact(u);
    s->url_error_bound = lt_urls_error_bound(u);
    s->url_bytes = lt_urls_bytes(u);
    s->rps_bytes = lt_rps_bytes(r);
    s->rps_coarse = lt_rps_coarse(r, &s->rps_coarse_until);
    if (top_n > 0) {
        s->top = calloc(top_n, sizeof(*s->top));
        if (s->top == NULL)
            return -ENOMEM;
        s->n_top = lt_urls_top(u, top_n, s->top);
    }
    s->n_samples = lt_tally_samples(t, s->samples);
    const lt_hist *d = lt_tally_durations(t);
    s->durations = lt_hist_count(d);
    s->duration_p50 = lt_hist_quantile(d, 0.50);
    s->duration_p90 = lt_hist_quantile(d, 0.90);
    s->duration_p99 = lt_hist_quantile(d, 0.99);
    s->duration_max = lt_hist_max(d);
    return 0;
}

void lt_summary_release(lt_summary *s)
{
    free(s->top);
    s->top = NULL;
    s->n_top = 0;
}

void lt_format_utc(int64_t t, char *out, size_t outlen)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, outlen, "@%lld", (long long)t);
}

static void json_time(lt_buf *b, const char *key, int has, int64_t t)
{
    char iso[32];
    if (!has) {
        lt_buf_printf(b, "\"%s\":null,\"%s_time\":null", key, key);
        return;
    }
    lt_format_utc(t, iso, sizeof(iso));
    lt_buf_printf(b, "\"%s\":%lld,\"%s_time\":\"%s\"", key, (long long)t, key, iso);
}

void lt_summary_json(lt_buf *b, const lt_summary *s, const char *const *sources,
                     size_t n_sources)
{
    const lt_client_counts *c = &s->clients;

    lt_buf_printf(b,
                  "{\"lines\":%llu,\"valid\":%llu,\"malformed\":%llu,"
                  "\"unparsed_requests\":%llu,\"requests\":%llu,\"bytes\":%llu,",
                  (unsigned long long)s->n.lines, (unsigned long long)s->n.valid,
                  (unsigned long long)s->n.malformed,
                  (unsigned long long)s->n.unparsed_requests, (unsigned long long)s->n.valid,
                  (unsigned long long)s->n.bytes);
    lt_buf_printf(b,
                  "\"clients\":{\"ipv4\":%llu,\"ipv6\":%llu,\"other\":%llu,\"total\":%llu,"
                  "\"exact\":%s,\"std_error\":%.4f,\"hll_estimate\":%llu},",
                  (unsigned long long)c->ipv4, (unsigned long long)c->ipv6,
                  (unsigned long long)c->other, (unsigned long long)c->total,
                  c->exact ? "true" : "false", c->std_error,
                  (unsigned long long)c->hll_estimate);
    json_time(b, "first_ts", s->has_requests, s->first_ts);
    lt_buf_puts(b, ",");
    json_time(b, "last_ts", s->has_requests, s->last_ts);
    lt_buf_puts(b, ",\"peak\":{");
    json_time(b, "second", s->has_requests, s->peak_second);
    lt_buf_printf(b, ",\"requests\":%llu},", (unsigned long long)s->peak_requests);
    lt_buf_printf(b, "\"avg_rps\":%.3f,\"avg_rps_active\":%.3f,\"active_seconds\":%llu,",
                  s->avg_rps, s->avg_rps_active, (unsigned long long)s->active_seconds);
    if (s->rps_coarse != 0) {
        /* Only when limits.rps_bytes made hours coarser than seconds. */
        lt_buf_printf(b, "\"rps_coarse\":{\"step\":%d,", s->rps_coarse);
        json_time(b, "until", 1, s->rps_coarse_until);
        lt_buf_puts(b, "},");
    }
    lt_buf_printf(b, "\"urls\":{\"distinct\":%zu,\"exact\":%s,\"error_bound\":%llu},",
                  s->distinct_urls, s->urls_exact ? "true" : "false",
                  (unsigned long long)s->url_error_bound);

    lt_buf_printf(b, "\"non_http_requests\":%llu,", (unsigned long long)s->n.non_http_requests);
    if (s->durations == 0)
        lt_buf_puts(b, "\"response_time\":null,");
    else
        lt_buf_printf(b,
                      "\"response_time\":{\"count\":%llu,\"p50\":%.6f,\"p90\":%.6f,"
                      "\"p99\":%.6f,\"max\":%.6f,\"relative_error\":%.4f},",
                      (unsigned long long)s->durations, (double)s->duration_p50 / 1e6,
                      (double)s->duration_p90 / 1e6, (double)s->duration_p99 / 1e6,
                      (double)s->duration_max / 1e6, LT_HIST_REL_ERROR);
    if (s->client_rule != NULL) {
        lt_buf_puts(b, "\"client_rule\":");
        lt_buf_json_string(b, s->client_rule, strlen(s->client_rule));
        lt_buf_puts(b, ",");
    }
    lt_buf_puts(b, "\"top\":[");
    for (size_t i = 0; i < s->n_top; i++) {
        lt_buf_puts(b, i ? ",{\"url\":" : "{\"url\":");
        lt_buf_json_string(b, s->top[i].url, s->top[i].len);
        lt_buf_printf(b, ",\"count\":%llu", (unsigned long long)s->top[i].count);
        if (!s->urls_exact)
            lt_buf_printf(b, ",\"error\":%llu", (unsigned long long)s->top[i].error);
        lt_buf_puts(b, "}");
    }
    lt_buf_puts(b, "],");

    lt_buf_printf(b,
                  "\"memory\":{\"ipv4_set\":%zu,\"ipv6_set\":%zu,\"host_set\":%zu,\"hll\":%zu,"
                  "\"urls\":%zu,\"rps\":%zu},",
                  s->memory.ipv4_set, s->memory.ipv6_set, s->memory.host_set, s->memory.hll,
                  s->url_bytes, s->rps_bytes);

    lt_buf_puts(b, "\"malformed_samples\":[");
    for (size_t i = 0; i < s->n_samples; i++) {
        const lt_sample *sm = &s->samples[i];
        lt_buf_puts(b, i ? ",{\"source\":" : "{\"source\":");
        if (sm->source < n_sources)
            lt_buf_json_string(b, sources[sm->source], strlen(sources[sm->source]));
        else
            lt_buf_puts(b, "null");
        lt_buf_printf(b, ",\"line\":%llu,\"reason\":", (unsigned long long)sm->line);
        const char *why = lt_parse_strerror(sm->reason);
        lt_buf_json_string(b, why, strlen(why));
        lt_buf_puts(b, ",\"text\":");
        lt_buf_json_string(b, sm->text, sm->len);
        lt_buf_puts(b, "}");
    }
    lt_buf_puts(b, "]}");
}
