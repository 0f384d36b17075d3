/* report.c -- the human-readable report of a summary.
 *
 * Numbers get thousands separators, times are UTC ISO 8601, and every byte
 * that came from a log (URLs, malformed samples) goes through
 * print_escaped(): a log line can hold escape sequences meant for the
 * reader's terminal.
 */
#include <stdint.h>
#include <string.h>

#include "cli.h"

void print_escaped(FILE *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] >= 0x20 && s[i] != 0x7f ? lt_utf8_sequence(s + i, n - i) : 0;
        if (len > 0) {
            fwrite(s + i, 1, len, out);
            i += len;
        } else {
            fprintf(out, "\\x%02x", s[i]);
            i++;
        }
    }
}

/* Formats v with thousands separators into buf (>= 32 bytes). */
static const char *group(uint64_t v, char *buf)
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

static const char *human_bytes(uint64_t v, char *buf)
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

void report_text(FILE *out, const lt_summary *s, const char *const *sources, size_t n_sources)
{
    char a[32], b[32], c[32], d[32];
    const lt_client_counts *cl = &s->clients;

    fprintf(out, "Lines        %s (%s valid, %s malformed)\n", group(s->n.lines, a),
            group(s->n.valid, b), group(s->n.malformed, c));
    fprintf(out, "Requests     %s (%s without a readable URL), %s served\n", group(s->n.valid, a),
            group(s->n.unparsed_requests, b), human_bytes(s->n.bytes, c));
    if (s->has_requests) {
        lt_format_utc(s->first_ts, a, sizeof(a));
        lt_format_utc(s->last_ts, b, sizeof(b));
        fprintf(out, "Time span    %s .. %s\n", a, b);
        lt_format_utc(s->peak_second, a, sizeof(a));
        fprintf(out, "Peak second  %s with %s requests\n", a, group(s->peak_requests, b));
        fprintf(out, "Average      %.3f req/s over the span, %.3f req/s over %s active seconds\n",
                s->avg_rps, s->avg_rps_active, group(s->active_seconds, c));
    }
    if (cl->exact)
        fprintf(out, "Clients      %s exact: %s IPv4, %s IPv6, %s other", group(cl->total, a),
                group(cl->ipv4, b), group(cl->ipv6, c), group(cl->other, d));
    else
        fprintf(out, "Clients      ~%s estimated (+-%.2f%%): ~%s IPv4, ~%s IPv6, ~%s other",
                group(cl->total, a), cl->std_error * 100, group(cl->ipv4, b), group(cl->ipv6, c),
                group(cl->other, d));
    fprintf(out, " (HyperLogLog: %s)\n", group(cl->hll_estimate, a));
    fprintf(out, "URLs         %s distinct, %s\n", group(s->distinct_urls, a),
            s->urls_exact ? "counted exactly" : "top-k counts");
    if (!s->urls_exact)
        fprintf(out, "             counts may exceed the truth by up to %s\n",
                group(s->url_error_bound, a));

    if (s->n_top > 0) {
        fprintf(out, "\nTop %zu URLs\n", s->n_top);
        for (size_t i = 0; i < s->n_top; i++) {
            fprintf(out, "  %12s  ", group(s->top[i].count, a));
            print_escaped(out, s->top[i].url, s->top[i].len);
            fputc('\n', out);
        }
    }
    if (s->n_samples > 0) {
        fprintf(out, "\nRecent malformed lines\n");
        for (size_t i = 0; i < s->n_samples; i++) {
            const lt_sample *sm = &s->samples[i];
            const char *src = sm->source < n_sources ? sources[sm->source] : "?";
            fprintf(out, "  %s:%llu: %s: ", src, (unsigned long long)sm->line,
                    lt_parse_strerror(sm->reason));
            print_escaped(out, sm->text, sm->len);
            fputc('\n', out);
        }
    }
    fprintf(out, "\nMemory       client sets %s, HLL %s, URLs %s, seconds %s\n",
            human_bytes(s->memory.ipv4_set + s->memory.ipv6_set + s->memory.host_set, a),
            human_bytes(s->memory.hll, b), human_bytes(s->url_bytes, c),
            human_bytes(s->rps_bytes, d));
}
