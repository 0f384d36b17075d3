/* report.c -- the human-readable report of a summary.
 *
 * Written into a buffer, so that `logtally analyze` prints it and the
 * daemon serves it (GET /v1/summary?format=text) from the same code.
 * Numbers get thousands separators, times are UTC ISO 8601, and every byte
 * that came from a log (URLs, malformed samples) goes through
 * lt_buf_text_escaped(): a log line can hold escape sequences meant for the
 * reader's terminal.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

const char *lt_report_group(uint64_t v, char *buf)
{
    char digits[24];
    int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *lt_report_bytes(uint64_t v, char *buf)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    snprintf(buf, 32, u == 0 ? "%.0f %s" : "%.1f %s", d, units[u]);
    return buf;
}

void lt_report_window(lt_buf *out, const lt_summary *s)
{
    char x[32], y[32];
    if (!s->has_window)
        return;
    lt_format_utc(s->window.from, x, sizeof(x));
    lt_format_utc(s->window.to, y, sizeof(y));
    lt_buf_printf(out, "Window       %s .. %s\n", x, y);
    if (!s->window.aligned) {
        lt_format_utc(s->window.covered_from, x, sizeof(x));
        lt_format_utc(s->window.covered_to, y, sizeof(y));
        lt_buf_printf(out, "             requests and classes exact; bytes, codes, methods, clients\n"
                           "             and URLs of the buckets %s .. %s\n", x, y);
    }
    if (!s->window.complete)
        lt_buf_puts(out, "             (part of the window is older than the buckets kept)\n");
}

void lt_report_text(lt_buf *out, const lt_summary *s, const char *const *sources,
                    size_t n_sources)
{
    char a[32], b[32], c[32], d[32];
    const lt_client_counts *cl = &s->clients;

    lt_report_window(out, s);

    lt_buf_printf(out, "Lines        %s (%s valid, %s malformed)\n", lt_report_group(s->n.lines, a),
            lt_report_group(s->n.valid, b), lt_report_group(s->n.malformed, c));
    lt_buf_printf(out, "Requests     %s (%s without a readable URL), %s served\n", lt_report_group(s->n.valid, a),
            lt_report_group(s->n.unparsed_requests, b), lt_report_bytes(s->n.bytes, c));
    if (s->has_requests) {
        lt_format_utc(s->first_ts, a, sizeof(a));
        lt_format_utc(s->last_ts, b, sizeof(b));
        lt_buf_printf(out, "Time span    %s .. %s\n", a, b);
        lt_format_utc(s->peak_second, a, sizeof(a));
        lt_buf_printf(out, "Peak second  %s with %s requests\n", a, lt_report_group(s->peak_requests, b));
        lt_buf_printf(out, "Average      %.3f req/s over the span, %.3f req/s over %s active seconds\n",
                s->avg_rps, s->avg_rps_active, lt_report_group(s->active_seconds, c));
    }
    if (s->n.non_http_requests > 0)
        lt_buf_printf(out, "Not HTTP     %s requests (counted, no URL)\n",
                      lt_report_group(s->n.non_http_requests, a));
    if (s->durations > 0)
        lt_buf_printf(out, "Resp. time   p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s (%s timed)\n",
                      (double)s->duration_p50 / 1e6, (double)s->duration_p90 / 1e6,
                      (double)s->duration_p99 / 1e6, (double)s->duration_max / 1e6,
                      lt_report_group(s->durations, a));
    if (cl->exact)
        lt_buf_printf(out, "Clients      %s exact: %s IPv4, %s IPv6, %s other", lt_report_group(cl->total, a),
                lt_report_group(cl->ipv4, b), lt_report_group(cl->ipv6, c), lt_report_group(cl->other, d));
    else
        lt_buf_printf(out, "Clients      ~%s estimated (+-%.2f%%): ~%s IPv4, ~%s IPv6, ~%s other",
                lt_report_group(cl->total, a), cl->std_error * 100, lt_report_group(cl->ipv4, b), lt_report_group(cl->ipv6, c),
                lt_report_group(cl->other, d));
    lt_buf_printf(out, " (HyperLogLog: %s)\n", lt_report_group(cl->hll_estimate, a));
    static const char *const classes[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    lt_buf_puts(out, "Status      ");
    for (int k = 0; k < 6; k++)
        if (s->status_classes[k] || k == 1)
            lt_buf_printf(out, " %s %s", classes[k], lt_report_group(s->status_classes[k], a));
    lt_buf_puts(out, "\nMethods     ");
    for (unsigned m = 0; m < LT_METHODS; m++)
        if (s->methods[m])
            lt_buf_printf(out, " %s %s", lt_buckets_method_name(m), lt_report_group(s->methods[m], a));
    lt_buf_puts(out, "\n");
    if (s->distinct_vhosts > 0)
        lt_buf_printf(out, "Vhosts       %s distinct%s\n", lt_report_group(s->distinct_vhosts, a),
                      s->vhosts_exact ? "" : " (top-k counts)");
    lt_buf_printf(out, "URLs         %s distinct, %s\n", lt_report_group(s->distinct_urls, a),
            s->urls_exact ? "counted exactly" : "top-k counts");
    if (!s->urls_exact)
        lt_buf_printf(out, "             counts may exceed the truth by up to %s\n",
                lt_report_group(s->url_error_bound, a));

    if (s->n_top > 0) {
        lt_buf_printf(out, "\nTop %zu URLs\n", s->n_top);
        for (size_t i = 0; i < s->n_top; i++) {
            lt_buf_printf(out, "  %12s  ", lt_report_group(s->top[i].count, a));
            lt_buf_text_escaped(out, s->top[i].url, s->top[i].len);
            lt_buf_puts(out, "\n");
        }
    }
    if (s->n_samples > 0) {
        lt_buf_printf(out, "\nRecent malformed lines\n");
        for (size_t i = 0; i < s->n_samples; i++) {
            const lt_sample *sm = &s->samples[i];
            const char *src = sm->source < n_sources ? sources[sm->source] : "?";
            /* A file name is bytes too: escape it like the sample. */
            lt_buf_puts(out, "  ");
            lt_buf_text_escaped(out, src, strlen(src));
            lt_buf_printf(out, ":%llu: %s: ", (unsigned long long)sm->line,
                          lt_parse_strerror(sm->reason));
            lt_buf_text_escaped(out, sm->text, sm->len);
            lt_buf_puts(out, "\n");
        }
    }
    lt_buf_printf(out, "\nMemory       client sets %s, HLL %s, URLs %s, seconds %s\n",
            lt_report_bytes(s->memory.ipv4_set + s->memory.ipv6_set + s->memory.host_set, a),
            lt_report_bytes(s->memory.hll, b), lt_report_bytes(s->url_bytes, c),
            lt_report_bytes(s->rps_bytes, d));
}
