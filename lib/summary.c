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

/* Virtual hosts in the all-time summary's list. */
#define LT_SUMMARY_VHOSTS 10

static int fill_vhosts(lt_summary *s, const lt_urls *v, const lt_urls *clients, size_t n)
{
    s->vhost_clients = clients;
    s->distinct_vhosts = lt_urls_size(v);
    s->vhosts_exact = lt_urls_exact(v);
    s->vhost_error_bound = lt_urls_error_bound(v);
    s->vhost_total = lt_urls_total(v);
    if (n == 0 || s->distinct_vhosts == 0)
        return 0;
    s->vhosts = calloc(n, sizeof(*s->vhosts));
    if (s->vhosts == NULL)
        return -ENOMEM;
    s->n_vhosts = lt_urls_top(v, n, s->vhosts);
    return 0;
}

/* What a walk of the seconds of a window gathers. */
struct seconds {
    uint64_t total, active, peak;
    int64_t first, last, peak_second;
};

/* The seconds of a window, walked from coarse to fine so that the cost
 * follows the active days and hours, not the window's length (which may
 * be ten thousand years): days with a request, then their hours with one,
 * then those hours' seconds, each within [from, to]. */
struct descent {
    const lt_rps *r;
    int64_t from, to;
    struct seconds *sec;
};

static int walk_second(int64_t second, uint64_t count, void *arg);

static int walk_hour(int64_t start, uint64_t count, void *arg)
{
    struct descent *d = arg;
    if (count == 0)
        return 0;
    int64_t a = start > d->from ? start : d->from, b = start + 3599 < d->to ? start + 3599 : d->to;
    return a <= b ? lt_rps_series(d->r, a, b, LT_RPS_STEP_SECOND, walk_second, d->sec) : 0;
}

static int walk_day(int64_t start, uint64_t count, void *arg)
{
    struct descent *d = arg;
    if (count == 0)
        return 0;
    int64_t a = start > d->from ? start : d->from, b = start + 86399 < d->to ? start + 86399 : d->to;
    return a <= b ? lt_rps_series(d->r, a, b, LT_RPS_STEP_HOUR, walk_hour, d) : 0;
}

static void walk_window(const lt_rps *r, int64_t from, int64_t to, struct seconds *sec)
{
    int64_t first, last;
    if (!lt_rps_span(r, &first, &last))
        return;
    struct descent d = {r, from > first ? from : first, to < last ? to : last, sec};
    if (d.from <= d.to)
        lt_rps_series(r, d.from, d.to, LT_RPS_STEP_DAY, walk_day, &d);
}

static int walk_second(int64_t second, uint64_t count, void *arg)
{
    struct seconds *s = arg;
    if (count == 0)
        return 0;
    if (s->active == 0)
        s->first = second;
    s->last = second;
    s->active++;
    s->total += count;
    if (count > s->peak) {
        s->peak = count;
        s->peak_second = second;
    }
    return 0;
}

/* The response-time fields, from all time's histogram or a window's. */
static void fill_durations(lt_summary *s, const lt_hist *d)
{
    s->durations = lt_hist_count(d);
    s->duration_p50 = lt_hist_quantile(d, 0.50);
    s->duration_p90 = lt_hist_quantile(d, 0.90);
    s->duration_p99 = lt_hist_quantile(d, 0.99);
    s->duration_max = lt_hist_max(d);
}

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

    fill_durations(s, lt_tally_durations(t));

    const lt_buckets *b = lt_tally_buckets(t);
    memcpy(s->status_codes, lt_buckets_codes(b), sizeof(s->status_codes));
    memcpy(s->methods, lt_buckets_methods(b), sizeof(s->methods));
    for (unsigned c = 0; c < LT_STATUS_CODES; c++)
        s->status_classes[c / 100 >= 1 && c / 100 <= 5 ? c / 100 - 1 : 5] += s->status_codes[c];
    s->bucket_bytes = lt_buckets_bytes(b, NULL);
    return fill_vhosts(s, lt_buckets_vhosts(b), lt_buckets_vhost_clients(b), LT_SUMMARY_VHOSTS);
}

int lt_summary_fill_window(lt_summary *s, const lt_tally *t, int64_t from, int64_t to,
                           size_t top_n, size_t top_vhosts)
{
    const lt_rps *r = lt_tally_rps(t);
    const lt_limits *lim = lt_tally_limits(t);
    lt_window *w = &s->window;

    memset(s, 0, sizeof(*s));
    if (from > to)
        return -EINVAL;
    int rc = lt_buckets_window(lt_tally_buckets(t), from, to, lim->url_entries, w);
    if (rc < 0)
        return rc;
    s->has_window = 1;

    /* The per-second tables: exact over [from, to] whatever the buckets. */
    struct seconds sec = {0};
    walk_window(r, from, to, &sec);
    s->n.valid = s->n.lines = sec.total;
    if (sec.active > 0) {
        s->has_requests = 1;
        s->first_ts = sec.first;
        s->last_ts = sec.last;
        s->peak_second = sec.peak_second;
        s->peak_requests = sec.peak;
        s->active_seconds = sec.active;
        s->avg_rps = (double)sec.total / (double)(sec.last - sec.first + 1);
        s->avg_rps_active = (double)sec.total / (double)sec.active;
    }
    uint64_t others = 0;
    static const int slot[LT_CLASSES] = {0, 2, 3, 4, 5};   /* LT_CLASS_ -> status_classes */
    for (int c = 0; c < LT_CLASSES; c++) {
        uint64_t n = lt_rps_range_total(lt_tally_class_rps(t, c), from, to);
        s->status_classes[slot[c]] = n;
        others += n;
    }
    s->status_classes[1] = sec.total - others;

    /* The buckets: exact over [covered_from, covered_to]. */
    s->n.bytes = w->bytes;
    s->n.unparsed_requests = w->unparsed;
    fill_durations(s, w->durations);
    memcpy(s->status_codes, w->codes, sizeof(s->status_codes));
    memcpy(s->methods, w->methods, sizeof(s->methods));
    s->clients = w->clients;
    s->distinct_urls = lt_urls_size(w->urls);
    s->urls_exact = lt_urls_exact(w->urls);
    s->url_error_bound = lt_urls_error_bound(w->urls);
    lt_clients_memory(lt_tally_clients(t), &s->memory);
    s->url_bytes = lt_urls_bytes(lt_tally_urls(t));
    s->rps_bytes = lt_rps_bytes(r);
    s->bucket_bytes = lt_buckets_bytes(lt_tally_buckets(t), NULL);
    if (top_n > 0) {
        s->top = calloc(top_n, sizeof(*s->top));
        if (s->top == NULL) {
            lt_summary_release(s);
            return -ENOMEM;
        }
        s->n_top = lt_urls_top(w->urls, top_n, s->top);
    }
    rc = fill_vhosts(s, w->vhosts, w->vhost_clients, top_vhosts);
    if (rc < 0)
        lt_summary_release(s);
    return rc;
}

void lt_summary_release(lt_summary *s)
{
    free(s->top);
    s->top = NULL;
    s->n_top = 0;
    free(s->vhosts);
    s->vhosts = NULL;
    s->n_vhosts = 0;
    if (s->has_window)
        lt_window_release(&s->window);
    s->has_window = 0;
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

static const char *const class_names[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

void lt_summary_json_status(lt_buf *b, const lt_summary *s)
{
    lt_buf_puts(b, "\"status\":{");
    for (int c = 0; c < 6; c++)
        lt_buf_printf(b, "\"%s\":%llu,", class_names[c], (unsigned long long)s->status_classes[c]);
    lt_buf_puts(b, "\"codes\":{");
    int any = 0;
    for (unsigned c = 0; c < LT_STATUS_CODES; c++)
        if (s->status_codes[c]) {
            lt_buf_printf(b, "%s\"%03u\":%llu", any ? "," : "", c,
                          (unsigned long long)s->status_codes[c]);
            any = 1;
        }
    lt_buf_puts(b, "}},\"methods\":{");
    for (unsigned m = 0; m < LT_METHODS; m++)
        lt_buf_printf(b, "%s\"%s\":%llu", m ? "," : "", lt_buckets_method_name(m),
                      (unsigned long long)s->methods[m]);
    lt_buf_puts(b, "}");
    if (s->distinct_vhosts == 0)
        return;
    lt_buf_puts(b, ",");
    lt_summary_json_vhosts(b, s);
}

bool lt_summary_vhost_clients(const lt_summary *s, size_t i, lt_url_count *out)
{
    return s->vhost_clients != NULL &&
           lt_urls_get(s->vhost_clients, s->vhosts[i].url, s->vhosts[i].len, out);
}

void lt_summary_json_vhosts(lt_buf *b, const lt_summary *s)
{
    int clients_exact = s->vhost_clients != NULL && lt_urls_exact(s->vhost_clients);
    lt_buf_printf(b,
                  "\"vhosts\":{\"distinct\":%zu,\"exact\":%s,\"error_bound\":%llu,"
                  "\"clients_exact\":%s,\"top\":[",
                  s->distinct_vhosts, s->vhosts_exact ? "true" : "false",
                  (unsigned long long)s->vhost_error_bound, clients_exact ? "true" : "false");
    for (size_t i = 0; i < s->n_vhosts; i++) {
        lt_buf_puts(b, i ? ",{\"vhost\":" : "{\"vhost\":");
        lt_buf_json_string(b, s->vhosts[i].url, s->vhosts[i].len);
        lt_buf_printf(b, ",\"requests\":%llu", (unsigned long long)s->vhosts[i].count);
        if (!s->vhosts_exact)
            lt_buf_printf(b, ",\"error\":%llu", (unsigned long long)s->vhosts[i].error);
        lt_url_count c;
        if (!lt_summary_vhost_clients(s, i, &c))
            lt_buf_puts(b, ",\"clients\":null");
        else if (clients_exact)
            lt_buf_printf(b, ",\"clients\":%llu", (unsigned long long)c.count);
        else
            lt_buf_printf(b, ",\"clients\":%llu,\"clients_error\":%llu",
                          (unsigned long long)c.count, (unsigned long long)c.error);
        lt_buf_puts(b, "}");
    }
    lt_buf_puts(b, "]}");
}

void lt_summary_json_window(lt_buf *b, const lt_summary *s)
{
    const lt_window *w = &s->window;
    lt_buf_puts(b, "\"window\":{");
    json_time(b, "from", 1, w->from);
    lt_buf_puts(b, ",");
    json_time(b, "to", 1, w->to);
    lt_buf_puts(b, ",");
    json_time(b, "covered_from", 1, w->covered_from);
    lt_buf_puts(b, ",");
    json_time(b, "covered_to", 1, w->covered_to);
    lt_buf_printf(b, ",\"aligned\":%s,\"complete\":%s,\"buckets\":%zu}",
                  w->aligned ? "true" : "false", w->complete ? "true" : "false", w->buckets);
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

    /* The time buckets do not keep the non-HTTP requests, so a window says
     * null (not known) rather than a zero or the all-time figure.  Its
     * response times are those of the buckets read: "covers" is "window"
     * when the range falls on bucket edges, "buckets" when they reach past
     * it (window.covered_from .. covered_to), as for its clients and URLs. */
    if (s->has_window)
        lt_buf_puts(b, "\"non_http_requests\":null,");
    else
        lt_buf_printf(b, "\"non_http_requests\":%llu,",
                      (unsigned long long)s->n.non_http_requests);
    if (s->durations == 0)
        lt_buf_puts(b, "\"response_time\":null,");
    else
        lt_buf_printf(b,
                      "\"response_time\":{\"count\":%llu,\"p50\":%.6f,\"p90\":%.6f,"
                      "\"p99\":%.6f,\"max\":%.6f,\"relative_error\":%.4f%s},",
                      (unsigned long long)s->durations, (double)s->duration_p50 / 1e6,
                      (double)s->duration_p90 / 1e6, (double)s->duration_p99 / 1e6,
                      (double)s->duration_max / 1e6, LT_HIST_REL_ERROR,
                      !s->has_window        ? ""
                      : s->window.aligned ? ",\"covers\":\"window\""
                                          : ",\"covers\":\"buckets\"");
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

    lt_summary_json_status(b, s);
    lt_buf_puts(b, ",");

    lt_buf_printf(b,
                  "\"memory\":{\"ipv4_set\":%zu,\"ipv6_set\":%zu,\"host_set\":%zu,\"hll\":%zu,"
                  "\"urls\":%zu,\"rps\":%zu,\"buckets\":%zu},",
                  s->memory.ipv4_set, s->memory.ipv6_set, s->memory.host_set, s->memory.hll,
                  s->url_bytes, s->rps_bytes, s->bucket_bytes);
    if (s->has_window) {
        lt_summary_json_window(b, s);
        lt_buf_puts(b, ",");
    }

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
