/* buckets.c -- the memory of a month of time buckets (lib/buckets.c).
 *
 * Feeds lt_buckets the month README and bench/RESULTS.md size: 30 days of
 * hourly buckets at 100 requests per second, each hour from 50,000
 * distinct clients (IPv4, 3 % IPv6, 5 % hostnames, a new draw of the
 * population every hour) and URLs drawn from a skewed population of
 * 20,000, with statuses, methods and four virtual hosts.  Prints the bytes
 * each part holds (lt_buckets_bytes()), the number of buckets whose clients
 * stayed exact and of those that kept their (host, client) pairs, the
 * time of a window of the whole span, and the peak RSS.
 *
 *   bench/buckets [days] [rps] [clients_per_hour] [bucket_clients_bytes] [urls]
 *
 * (urls: the size of the URL population, 20,000 by default.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buckets.h"

static uint64_t state = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    long days = argc > 1 ? atol(argv[1]) : 30;
    long rps = argc > 2 ? atol(argv[2]) : 100;
    long per_hour = argc > 3 ? atol(argv[3]) : 50000;
    lt_buckets_conf conf = {0};
    if (argc > 4 && atoll(argv[4]) > 0)
        conf.clients_bytes = (size_t)atoll(argv[4]);
    uint64_t population = argc > 5 ? (uint64_t)atoll(argv[5]) : 20000;
    lt_buckets *b = lt_buckets_new(&conf);
    if (b == NULL || days < 1 || rps < 1 || per_hour < 1 || population < 1) {
        fprintf(stderr, "usage: buckets [days] [rps] [clients_per_hour] [bucket_clients_bytes] "
                        "[urls]\n");
        return 2;
    }
    static const char *const methods[] = {"GET", "GET", "GET", "GET", "POST", "HEAD"};
    static const unsigned codes[] = {200, 200, 200, 200, 200, 200, 304, 301, 404, 500};
    static const char *const vhosts[] = {"www.example.com", "api.example.com",
                                         "static.example.com", "example.com"};
    char url[64], host[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t start = 1704067200;
    uint64_t lines = 0;
    for (int64_t s = 0; s < days * 86400; s++) {
        /* Each hour, a fresh population of per_hour clients: the worst
         * case for the sets, as no hour shares clients with another. */
        uint64_t hour = (uint64_t)s / 3600;
        for (long k = 0; k < rps; k++) {
            lt_record r;
            memset(&r, 0, sizeof(r));
            r.ts = start + s;
            uint64_t x = next();
            uint32_t c = (uint32_t)(hour * (uint64_t)per_hour + x % (uint64_t)per_hour);
            unsigned kind = (unsigned)(x >> 40) % 100;
            if (kind < 3) {
                r.client = LT_CLIENT_IPV6;
                r.ipv6[0] = 0x20;
                r.ipv6[1] = 0x01;
                memcpy(r.ipv6 + 12, &c, 4);
            } else if (kind < 8) {
                r.client = LT_CLIENT_HOST;
                r.host = host;
                r.host_len = (size_t)snprintf(host, sizeof(host), "host-%u.example.net", c);
            } else {
                r.client = LT_CLIENT_IPV4;
                r.ipv4 = 0x0a000000u + c;
            }
            uint64_t y = next();
            uint64_t u = y % population;
            u = u * u / population;   /* skewed: low indices are hot */
            size_t ul = (size_t)snprintf(url, sizeof(url), "/page/%llu", (unsigned long long)u);
            r.method = methods[(y >> 20) % 6];
            r.method_len = strlen(r.method);
            r.url = url;
            r.url_len = ul;
            r.status = codes[(y >> 30) % 10];
            r.bytes = (y >> 40) % 50000;
            r.vhost = vhosts[(y >> 50) % 4];
            r.vhost_len = strlen(r.vhost);
            if (lt_buckets_add(b, &r, url, ul, lt_urls_hash(url, ul), 0) < 0) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            lines++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    lt_buckets_memory m;
    size_t total = lt_buckets_bytes(b, &m);
    size_t exact = 0, pairs = 0;
    int64_t first, end;
    lt_buckets_span(b, &first, &end);
    for (int64_t h = first; h < end; h += 3600) {
        lt_window w;
        if (lt_buckets_window(b, h, h + 3599, 1000, &w) == 0) {
            exact += w.clients.exact && w.buckets > 0;
            pairs += w.vhost_clients != NULL && w.buckets > 0;
            lt_window_release(&w);
        }
    }
    /* The whole span as one window ("the last month"), with the daemon's
     * default url_entries. */
    struct timespec w0, w1;
    lt_window whole;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    int wrc = lt_buckets_window(b, first, end, 1000000, &whole);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    if (wrc == 0) {
        printf("the whole span as one window: %zu buckets, %zu URLs, in %.3f s\n", whole.buckets,
               lt_urls_size(whole.urls),
               (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
        lt_window_release(&whole);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%ld days, %ld req/s, %ld clients/hour: %llu lines in %.1f s\n", days, rps, per_hour,
           (unsigned long long)lines,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    printf("buckets %zu, with exact clients %zu, with clients per virtual host %zu\n",
           lt_buckets_count(b), exact, pairs);
    printf("bytes: total %.1f MiB = counters %.1f + client sets %.1f + HLL %.1f + URLs %.1f + "
           "vhosts %.1f + vhost clients %.1f MiB\n",
           total / 1048576.0, m.counters / 1048576.0, m.client_sets / 1048576.0,
           m.hll / 1048576.0, m.urls / 1048576.0, m.vhosts / 1048576.0,
           m.vhost_clients / 1048576.0);
    printf("peak RSS %.1f MiB\n", ru.ru_maxrss / 1024.0);
    lt_buckets_free(b);
    return 0;
}
