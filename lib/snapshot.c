/* snapshot.c -- a tally, and the positions in the files it came from, as bytes.
 *
 * Layout (all integers little-endian)
 * -----------------------------------
 *
 *   0        8      12     16        24          32
 *   +--------+------+------+---------+-----------+---------------------+
 *   |LOGTALLY| ver  | n    | created | checksum  | n x section entry   | sections...
 *   +--------+------+------+---------+-----------+---------------------+
 *    magic    u32=2  u32    i64 epoch XXH64 of the header (checksum
 *                                     zeroed) and the section table
 *
 *   section entry (32 bytes): u32 type, u32 reserved (0), u64 offset,
 *                             u64 length, u64 XXH64 of the section's bytes
 *
 * Sections follow the table in table order, back to back.  Types:
 *
 *   1 counters  u64 lines, valid, malformed, unparsed_requests, bytes,
 *               then, only when either is not zero (so absent in files
 *               of logtally before response times), u64
 *               non_http_requests and the response time histogram as
 *               lt_hist_write() lays it out
 *   2 limits    u64 exact_clients_bytes, u64 url_entries, u8 strip_query
 *   3 clients   u8 exact; u64 n, n x u32 IPv4 (ascending); u64 n, n x 16-byte
 *               IPv6 (ascending); u64 n, n x (u32 len, bytes) hostnames
 *               (ascending bytes); the three counts are 0 when not exact
 *   4 hll       3 x 16,384 register bytes (IPv4, IPv6, hostname sketches)
 *   5 urls      u8 exact, u64 error_bound, u64 total, u64 n,
 *               n x (u32 len, bytes, u64 count, u64 error), ascending bytes
 *   6 rps       u64 n, n x (varint second delta, varint count), seconds
 *               ascending; the first delta is from 0, zigzag-encoded
 *   7 samples   u32 n, n x (u32 source, u64 line, i32 reason, u32 len, bytes)
 *   8 sources   u32 n, n x (u32 len, path, u64 dev, ino, offset, size, lines,
 *               malformed, truncations, rotations, u32 fp_len, u64 fp_hash,
 *               u8 state: 0 being read, 1 done, 2 an earlier content, a ghost)
 *                                              (checkpoints only)
 *   9 windows   u64 bucket width, retention, clients_bytes, urls, vhosts (the
 *               bucket limits); then 5 x the rps layout: the per-second
 *               tables of 1xx, 3xx, 4xx, 5xx and other statuses (version 2)
 *  10 buckets   the time buckets, in the layout of buckets.c   (version 2;
 *               response times per bucket from version 3, clients per
 *               virtual host from version 4)
 *
 * Version 1 had sections 1..8 only; it still loads, with empty buckets and
 * class tables (its all-time totals are all there is of its past).  The
 * counters' tail may be in a file of either version: it came without a
 * version bump, and a version-1 file that has it loads its response
 * times and non-HTTP requests too.
 *
 * Sets and tables are written in sorted order, so two tallies that counted
 * the same lines give the same bytes whatever order or thread counted them.
 *
 * Reading trusts nothing: the header checksum covers the table, each
 * section has its own checksum, every count is checked against the bytes
 * left before anything is allocated for it, every value against what the
 * structures allow (registers <= 51, errors <= counts, sorted keys, counts
 * that add up: per-second counts to valid lines, URL hits to valid lines
 * with a URL), and every error names the byte offset where reading
 * stopped.  Bump LT_SNAPSHOT_VERSION whenever this layout changes.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "buckets.h"
#include "hist.h"
#include "hll.h"
#include "ip4set.h"
#include "keyset.h"
#include "parse.h"
#include "rps.h"
#include "urls.h"

enum {
    SEC_COUNTERS = 1,
    SEC_LIMITS,
    SEC_CLIENTS,
    SEC_HLL,
    SEC_URLS,
    SEC_RPS,
    SEC_SAMPLES,
    SEC_SOURCES,
    SEC_WINDOWS,
    SEC_BUCKETS,
    SEC_MAX = SEC_BUCKETS,
};

/* The oldest version read. */
#define MIN_VERSION 1

static const char *const section_names[] = {
    "?", "counters", "limits", "clients", "hll", "urls", "rps", "samples", "sources",
    "windows", "buckets",
};

#define HEADER_BYTES 32
#define ENTRY_BYTES 32
#define MAX_PATH 4096

/* --- writing ------------------------------------------------------------ */

static void put_u8(lt_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    lt_buf_append(b, &c, 1);
}

static void put_u32(lt_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    lt_buf_append(b, c, 4);
}

static void put_u64(lt_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_varint(lt_buf *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c[n] |= 0x80;
        n++;
    } while (v);
    lt_buf_append(b, c, n);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : alen < blen ? -1 : alen > blen;
}

struct key {
    const void *p;
    size_t len;
};

static int cmp_key(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    return cmp_bytes(x->p, x->len, y->p, y->len);
}

struct collect {
    void *items;
    size_t n, cap, size;
    int failed;
};

static void *collect_slot(struct collect *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        void *n = realloc(c->items, cap * c->size);
        if (n == NULL) {
            c->failed = 1;
            return NULL;
        }
        c->items = n;
        c->cap = cap;
    }
    return (char *)c->items + c->n++ * c->size;
}

static int collect_v4(uint32_t addr, void *arg)
{
    uint32_t *slot = collect_slot(arg);
    if (slot == NULL)
        return -ENOMEM;
    *slot = addr;
    return 0;
}

static int collect_key(const void *k, size_t len, void *arg)
{
    struct key *slot = collect_slot(arg);
    if (slot == NULL)
        return -ENOMEM;
    slot->p = k;
    slot->len = len;
    return 0;
}

static int collect_url(const lt_url_count *e, void *arg)
{
    lt_url_count *slot = collect_slot(arg);
    if (slot == NULL)
        return -ENOMEM;
    *slot = *e;
    return 0;
}

static int cmp_url(const void *a, const void *b)
{
    const lt_url_count *x = a, *y = b;
    return cmp_bytes(x->url, x->len, y->url, y->len);
}

struct rps_writer {
    lt_buf *b;
    int64_t prev;
    uint64_t n;
};

static int write_second(int64_t second, uint64_t count, void *arg)
{
    struct rps_writer *w = arg;
    int64_t d = second - w->prev;
    put_varint(w->b, w->n == 0 ? ((uint64_t)d << 1) ^ (uint64_t)(d >> 63) : (uint64_t)d);
    put_varint(w->b, count);
    w->prev = second;
    w->n++;
    return 0;
}

static int count_second(int64_t second, uint64_t count, void *arg)
{
    (void)second;
    (void)count;
    (*(uint64_t *)arg)++;
    return 0;
}

static void write_rps(lt_buf *b, const lt_rps *r)
{
    uint64_t count = 0;
    lt_rps_foreach(r, count_second, &count);
    put_u64(b, count);
    struct rps_writer w = {b, 0, 0};
    lt_rps_foreach(r, write_second, &w);
}

static int write_clients(lt_buf *b, const lt_tally *t)
{
    lt_clients_parts p;
    lt_clients_get_parts(lt_tally_clients(t), &p);
    put_u8(b, (unsigned)p.exact);
    if (!p.exact) {
        for (int i = 0; i < 3; i++)
            put_u64(b, 0);
        return 0;
    }
    struct collect v4 = {.size = sizeof(uint32_t)}, v6 = {.size = sizeof(struct key)},
                   host = {.size = sizeof(struct key)};
    int rc = -ENOMEM;
    if (lt_ip4set_foreach(p.v4, collect_v4, &v4) < 0 ||
        lt_keyset_foreach(p.v6, collect_key, &v6) < 0 ||
        lt_keyset_foreach(p.host, collect_key, &host) < 0)
        goto out;
    /* qsort wants a real pointer even for nothing to sort. */
    if (v4.n > 1)
        qsort(v4.items, v4.n, sizeof(uint32_t), cmp_u32);
    if (v6.n > 1)
        qsort(v6.items, v6.n, sizeof(struct key), cmp_key);
    if (host.n > 1)
        qsort(host.items, host.n, sizeof(struct key), cmp_key);
    put_u64(b, v4.n);
    for (size_t i = 0; i < v4.n; i++)
        put_u32(b, ((uint32_t *)v4.items)[i]);
    put_u64(b, v6.n);
    for (size_t i = 0; i < v6.n; i++)
        lt_buf_append(b, ((struct key *)v6.items)[i].p, 16);
    put_u64(b, host.n);
    for (size_t i = 0; i < host.n; i++) {
        const struct key *k = &((struct key *)host.items)[i];
        put_u32(b, (uint32_t)k->len);
        lt_buf_append(b, k->p, k->len);
    }
    rc = 0;
out:
    free(v4.items);
    free(v6.items);
    free(host.items);
    return rc;
}

static int write_urls(lt_buf *b, const lt_tally *t)
{
    const lt_urls *u = lt_tally_urls(t);
    struct collect all = {.size = sizeof(lt_url_count)};
    if (lt_urls_foreach(u, collect_url, &all) < 0) {
        free(all.items);
        return -ENOMEM;
    }
    if (all.n > 1)
        qsort(all.items, all.n, sizeof(lt_url_count), cmp_url);
    put_u8(b, lt_urls_exact(u));
    put_u64(b, lt_urls_error_bound(u));
    put_u64(b, lt_urls_total(u));
    put_u64(b, all.n);
    for (size_t i = 0; i < all.n; i++) {
        const lt_url_count *e = &((lt_url_count *)all.items)[i];
        put_u32(b, (uint32_t)e->len);
        lt_buf_append(b, e->url, e->len);
        put_u64(b, e->count);
        put_u64(b, e->error);
    }
    free(all.items);
    return 0;
}

static int write_section(lt_buf *b, int type, const lt_tally *t, const lt_snapshot_source *src,
                         size_t n_src)
{
    const lt_counters *n = lt_tally_counters(t);
    const lt_limits *l = lt_tally_limits(t);

    switch (type) {
    case SEC_COUNTERS:
        put_u64(b, n->lines);
        put_u64(b, n->valid);
        put_u64(b, n->malformed);
        put_u64(b, n->unparsed_requests);
        put_u64(b, n->bytes);
        /* The tail only when it holds something, so that a snapshot of a
         * log without either writes the bytes it always did. */
        if (n->non_http_requests > 0 || lt_hist_count(lt_tally_durations(t)) > 0) {
            put_u64(b, n->non_http_requests);
            lt_hist_write(b, lt_tally_durations(t));
        }
        return 0;
    case SEC_LIMITS:
        put_u64(b, l->exact_clients_bytes);
        put_u64(b, l->url_entries);
        put_u8(b, l->strip_query != 0);
        return 0;
    case SEC_CLIENTS:
        return write_clients(b, t);
    case SEC_HLL: {
        lt_clients_parts p;
        uint8_t regs[LT_HLL_REGISTERS];
        lt_clients_get_parts(lt_tally_clients(t), &p);
        for (int k = 0; k < 3; k++) {
            lt_hll_get_registers(p.hll[k], regs);
            lt_buf_append(b, regs, sizeof(regs));
        }
        return 0;
    }
    case SEC_URLS:
        return write_urls(b, t);
    case SEC_RPS:
        write_rps(b, lt_tally_rps(t));
        return 0;
    case SEC_WINDOWS: {
        const lt_buckets_conf *bc = lt_buckets_get_conf(lt_tally_buckets(t));
        put_u64(b, (uint64_t)bc->width);
        put_u64(b, (uint64_t)bc->retention);
        put_u64(b, bc->clients_bytes);
        put_u64(b, bc->urls);
        put_u64(b, bc->vhosts);
        for (int k = 0; k < LT_CLASSES; k++)
            write_rps(b, lt_tally_class_rps(t, k));
        return 0;
    }
    case SEC_BUCKETS:
        return lt_buckets_write(b, lt_tally_buckets(t));
    case SEC_SAMPLES: {
        lt_sample s[LT_SAMPLES];
        size_t k = lt_tally_samples(t, s);
        put_u32(b, (uint32_t)k);
        for (size_t i = 0; i < k; i++) {
            put_u32(b, s[i].source);
            put_u64(b, s[i].line);
            put_u32(b, (uint32_t)s[i].reason);
            put_u32(b, (uint32_t)s[i].len);
            lt_buf_append(b, s[i].text, s[i].len);
        }
        return 0;
    }
    case SEC_SOURCES:
        put_u32(b, (uint32_t)n_src);
        for (size_t i = 0; i < n_src; i++) {
            size_t len = strlen(src[i].path);
            put_u32(b, (uint32_t)len);
            lt_buf_append(b, src[i].path, len);
            put_u64(b, src[i].dev);
            put_u64(b, src[i].ino);
            put_u64(b, src[i].offset);
            put_u64(b, src[i].size);
            put_u64(b, src[i].lines);
            put_u64(b, src[i].malformed);
            put_u64(b, src[i].truncations);
            put_u64(b, src[i].rotations);
            put_u32(b, src[i].fp_len);
            put_u64(b, src[i].fp_hash);
            put_u8(b, (uint8_t)src[i].done);
        }
        return 0;
    }
    return -EINVAL;
}

int lt_snapshot_write(lt_buf *out, const lt_tally *t, const lt_snapshot_source *sources,
                      size_t n_sources, int64_t created)
{
    lt_buf sec[SEC_MAX + 1];
    uint32_t types[SEC_MAX + 1], n = 0;
    int rc = 0;

    /* Every section but sources, which only checkpoints have. */
    for (uint32_t ty = 1; ty <= SEC_MAX; ty++)
        if (ty != SEC_SOURCES || sources != NULL)
            types[++n] = ty;
    for (uint32_t i = 1; i <= SEC_MAX; i++)
        lt_buf_init(&sec[i]);
    for (uint32_t i = 1; i <= n && rc == 0; i++) {
        rc = write_section(&sec[i], (int)types[i], t, sources, n_sources);
        if (rc == 0 && lt_buf_failed(&sec[i]))
            rc = -ENOMEM;
    }
    if (rc == 0) {
        lt_buf head;
        lt_buf_init(&head);
        lt_buf_append(&head, LT_SNAPSHOT_MAGIC, 8);
        put_u32(&head, LT_SNAPSHOT_VERSION);
        put_u32(&head, n);
        put_u64(&head, (uint64_t)created);
        put_u64(&head, 0);    /* checksum, filled below */
        uint64_t off = HEADER_BYTES + (uint64_t)n * ENTRY_BYTES;
        for (uint32_t i = 1; i <= n; i++) {
            put_u32(&head, types[i]);
            put_u32(&head, 0);
            put_u64(&head, off);
            put_u64(&head, sec[i].len);
            put_u64(&head, XXH64(sec[i].data, sec[i].len, 0));
            off += sec[i].len;
        }
        if (lt_buf_failed(&head)) {
            rc = -ENOMEM;
        } else {
            uint64_t sum = XXH64(head.data, head.len, 0);
            for (int k = 0; k < 8; k++)
                head.data[24 + k] = (char)(sum >> (8 * k));
            lt_buf_append(out, head.data, head.len);
            for (uint32_t i = 1; i <= n; i++)
                lt_buf_append(out, sec[i].data, sec[i].len);
            if (lt_buf_failed(out))
                rc = -ENOMEM;
        }
        lt_buf_free(&head);
    }
    for (uint32_t i = 1; i <= SEC_MAX; i++)
        lt_buf_free(&sec[i]);
    return rc;
}

/* --- reading ------------------------------------------------------------ */

typedef struct cursor {
    const unsigned char *base;    /* the whole snapshot, for offsets */
    const unsigned char *p, *end;
    const char *section;
    char *err;
    size_t errlen;
    int failed;
} cursor;

static int bad(cursor *c, const char *what)
{
    if (!c->failed && c->errlen > 0)
        snprintf(c->err, c->errlen, "byte %zu: %s%s%s", (size_t)(c->p - c->base),
                 c->section ? c->section : "", c->section ? ": " : "", what);
    c->failed = 1;
    return -EINVAL;
}

static size_t left(const cursor *c)
{
    return (size_t)(c->end - c->p);
}

static int need(cursor *c, size_t n)
{
    return left(c) >= n ? 0 : bad(c, "truncated");
}

static uint64_t get_le(cursor *c, int bytes)
{
    uint64_t v = 0;
    if (need(c, (size_t)bytes) < 0)
        return 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)c->p[i] << (8 * i);
    c->p += bytes;
    return v;
}

static uint64_t get_u64(cursor *c) { return get_le(c, 8); }
static uint32_t get_u32(cursor *c) { return (uint32_t)get_le(c, 4); }
static unsigned get_u8(cursor *c) { return (unsigned)get_le(c, 1); }

static uint64_t get_varint(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (need(c, 1) < 0)
            return 0;
        unsigned b = *c->p++;
        if (shift == 63 && (b & 0x7e)) {
            bad(c, "varint overflows 64 bits");
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    bad(c, "varint longer than 10 bytes");
    return 0;
}

/* A count of items of at least `each` bytes, checked against the bytes
 * left so that no allocation can be asked for more than the file holds. */
static uint64_t get_count(cursor *c, size_t each, int wide)
{
    uint64_t n = wide ? get_u64(c) : get_u32(c);
    if (!c->failed && n > left(c) / each)
        bad(c, "count larger than the section");
    return c->failed ? 0 : n;
}

struct parts {
    lt_counters n;
    lt_limits limits;
    lt_ip4set *v4;
    lt_keyset *v6, *host;
    lt_hll *hll[3];
    lt_urls *urls;
    lt_rps *rps;
    lt_rps *class_rps[LT_CLASSES];
    lt_buckets_conf stored_buckets;   /* the windows section's bucket limits */
    lt_buckets *buckets;
    lt_sample samples[LT_SAMPLES];
    size_t n_samples;
    lt_snapshot_source *sources;
    size_t n_sources;
    int exact;
    lt_hist *durations;     /* NULL: none in the file */
};

static int read_counters(cursor *c, struct parts *P)
{
    P->n.lines = get_u64(c);
    P->n.valid = get_u64(c);
    P->n.malformed = get_u64(c);
    P->n.unparsed_requests = get_u64(c);
    P->n.bytes = get_u64(c);
    if (!c->failed && (P->n.valid > P->n.lines || P->n.lines - P->n.valid != P->n.malformed))
        return bad(c, "lines != valid + malformed");
    if (!c->failed && P->n.unparsed_requests > P->n.valid)
        return bad(c, "more unparsed requests than valid lines");
    if (!c->failed && c->p != c->end) {
        P->n.non_http_requests = get_u64(c);
        if (!c->failed && P->n.non_http_requests > P->n.unparsed_requests)
            return bad(c, "more requests that are not HTTP than unparsed requests");
        size_t used = 0;
        int rc = c->failed ? -EINVAL : lt_hist_read(c->p, (size_t)(c->end - c->p), &used, &P->durations);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0 || lt_hist_count(P->durations) > P->n.valid)
            return bad(c, "a damaged response time histogram");
        if (P->n.non_http_requests == 0 && lt_hist_count(P->durations) == 0)
            return bad(c, "an empty tail after the counters (never written)");
        c->p += used;
    }
    return c->failed ? -EINVAL : 0;
}

static int read_limits(cursor *c, struct parts *P, const lt_limits *override)
{
    P->limits.exact_clients_bytes = (size_t)get_u64(c);
    uint64_t urls = get_u64(c);
    unsigned strip = get_u8(c);
    if (c->failed)
        return -EINVAL;
    if (urls < 1 || urls > ((uint64_t)1 << 31) || strip > 1)
        return bad(c, "limits out of range");
    P->limits.url_entries = (size_t)urls;
    P->limits.strip_query = (int)strip;
    if (override != NULL)
        P->limits = *override;
    return 0;
}

static int read_clients(cursor *c, struct parts *P)
{
    unsigned exact = get_u8(c);
    if (!c->failed && exact > 1)
        return bad(c, "exact flag is neither 0 nor 1");
    P->exact = (int)exact;
    uint64_t n4 = get_count(c, 4, 1);
    if (c->failed)
        return -EINVAL;
    if (exact && (P->v4 = lt_ip4set_new()) == NULL)
        return -ENOMEM;
    uint32_t prev = 0;
    for (uint64_t i = 0; i < n4; i++) {
        uint32_t a = get_u32(c);
        if (i > 0 && a <= prev)
            return bad(c, "IPv4 addresses not in ascending order");
        prev = a;
        if (!exact)
            return bad(c, "client sets in an inexact snapshot");
        if (lt_ip4set_add(P->v4, a) < 0)
            return -ENOMEM;
    }
    uint64_t n6 = get_count(c, 16, 1);
    if (c->failed)
        return -EINVAL;
    if (exact && (P->v6 = lt_keyset_new()) == NULL)
        return -ENOMEM;
    const unsigned char *last = NULL;
    for (uint64_t i = 0; i < n6; i++) {
        if (need(c, 16) < 0)
            return -EINVAL;
        if (last != NULL && memcmp(c->p, last, 16) <= 0)
            return bad(c, "IPv6 addresses not in ascending order");
        if (!exact)
            return bad(c, "client sets in an inexact snapshot");
        last = c->p;
        if (lt_keyset_add(P->v6, c->p, 16) < 0)
            return -ENOMEM;
        c->p += 16;
    }
    uint64_t nh = get_count(c, 4, 1);
    if (c->failed)
        return -EINVAL;
    if (exact && (P->host = lt_keyset_new()) == NULL)
        return -ENOMEM;
    const unsigned char *prev_host = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < nh; i++) {
        uint32_t len = get_u32(c);
        if (c->failed || need(c, len) < 0)
            return -EINVAL;
        if (len > LT_LINE_MAX)
            return bad(c, "hostname longer than a line");
        if (prev_host != NULL && cmp_bytes(prev_host, prev_len, c->p, len) >= 0)
            return bad(c, "hostnames not in ascending order");
        if (!exact)
            return bad(c, "client sets in an inexact snapshot");
        prev_host = c->p;
        prev_len = len;
        if (lt_keyset_add(P->host, c->p, len) < 0)
            return -ENOMEM;
        c->p += len;
    }
    return 0;
}

static int read_hll(cursor *c, struct parts *P)
{
    if (left(c) != 3 * (size_t)LT_HLL_REGISTERS)
        return bad(c, "the three sketches must be 49,152 bytes");
    for (int k = 0; k < 3; k++) {
        if ((P->hll[k] = lt_hll_new()) == NULL)
            return -ENOMEM;
        if (lt_hll_set_registers(P->hll[k], c->p) < 0)
            return bad(c, "a register above 51");
        c->p += LT_HLL_REGISTERS;
    }
    return 0;
}

static int read_urls(cursor *c, struct parts *P, int overridden)
{
    unsigned exact = get_u8(c);
    uint64_t bound = get_u64(c), total = get_u64(c);
    uint64_t n = get_count(c, 20, 1);
    if (c->failed)
        return -EINVAL;
    if (exact > 1 || (exact && bound != 0))
        return bad(c, "exact flag and error bound disagree");
    if (total != P->n.valid - P->n.unparsed_requests)
        return bad(c, "URL hits differ from the requests with a URL");
    /* No table holds more exact URLs than its bound; with the caller's
     * smaller bound (a merge) the table turns top-k as it fills. */
    if (exact && !overridden && n > P->limits.url_entries)
        return bad(c, "an exact URL table larger than url_entries");
    if ((P->urls = lt_urls_new(P->limits.url_entries)) == NULL)
        return -ENOMEM;
    lt_url_count *e = exact ? NULL : calloc(n ? n : 1, sizeof(*e));
    if (!exact && e == NULL)
        return -ENOMEM;
    int rc = 0;
    uint64_t sum = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        uint32_t len = get_u32(c);
        if (c->failed || need(c, len) < 0) {
            rc = -EINVAL;
            break;
        }
        const char *url = (const char *)c->p;
        if (prev != NULL && cmp_bytes(prev, prev_len, url, len) >= 0) {
            rc = bad(c, "URLs not in ascending order");
            break;
        }
        prev = url;
        prev_len = len;
        c->p += len;
        uint64_t count = get_u64(c), error = get_u64(c);
        if (c->failed) {
            rc = -EINVAL;
            break;
        }
        if (count == 0 || error > count || (exact && error != 0) || (!exact && count < bound)) {
            rc = bad(c, "a URL count out of range");
            break;
        }
        sum += count;
        if (exact)
            rc = lt_urls_add(P->urls, url, len, count);
        else
            e[i] = (lt_url_count){url, len, count, error};
    }
    if (rc == 0 && exact && sum != total)
        rc = bad(c, "URL counts do not add up to the URL hits");
    if (rc == 0 && !exact) {
        if (n > P->limits.url_entries)
            rc = bad(c, "more URLs than url_entries allows");
        else if ((rc = lt_urls_restore(P->urls, e, n, bound, total)) == -EINVAL)
            rc = bad(c, "URL table inconsistent with its error bound");
    }
    free(e);
    return rc;
}

/* Reads one per-second table into *out, whose counts may add up to at
 * most max (exactly max when exact). */
static int read_seconds(cursor *c, lt_rps **out, uint64_t max, int exact);

static int read_rps(cursor *c, struct parts *P)
{
    return read_seconds(c, &P->rps, P->n.valid, 1);
}

static int read_windows(cursor *c, struct parts *P, int overridden)
{
    lt_buckets_conf bc;
    bc.width = (int64_t)get_u64(c);
    bc.retention = (int64_t)get_u64(c);
    bc.clients_bytes = (size_t)get_u64(c);
    bc.urls = (size_t)get_u64(c);
    bc.vhosts = (size_t)get_u64(c);
    if (c->failed)
        return -EINVAL;
    char why[256];
    if (bc.width <= 0 || bc.retention <= 0 || bc.urls == 0 || bc.vhosts == 0 ||
        lt_buckets_conf_check(&bc, why, sizeof(why)) < 0)
        return bad(c, "bucket limits out of range");
    /* Buckets of another width than the override's (a configuration that
     * changed bucket_width) are read with their own, and only their
     * all-time totals kept (read_buckets()). */
    P->stored_buckets = bc;
    if (!overridden)
        P->limits.buckets = bc;
    uint64_t sum = 0;
    for (int k = 0; k < LT_CLASSES; k++) {
        int rc = read_seconds(c, &P->class_rps[k], P->n.valid - sum, 0);
        if (rc < 0)
            return rc;
        sum += lt_rps_total(P->class_rps[k]);
    }
    return 0;
}

static int read_buckets(cursor *c, struct parts *P)
{
    char why[256];
    size_t len = (size_t)(c->end - c->p);
    lt_buckets_conf want = P->limits.buckets;
    if (lt_buckets_conf_check(&want, why, sizeof(why)) < 0)
        return bad(c, why);
    lt_buckets_conf stored = want;
    stored.width = P->stored_buckets.width;
    int rc = lt_buckets_read(c->p, len, &stored, &P->buckets, why, sizeof(why));
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        return bad(c, why);
    if (stored.width != want.width) {
        lt_buckets *fresh = lt_buckets_new(&want);
        if (fresh == NULL || lt_buckets_merge_totals(fresh, P->buckets) < 0) {
            lt_buckets_free(fresh);
            return -ENOMEM;
        }
        lt_buckets_free(P->buckets);
        P->buckets = fresh;
    }
    uint64_t total = 0;
    for (unsigned k = 0; k < LT_STATUS_CODES; k++)
        total += lt_buckets_codes(P->buckets)[k];
    if (total > P->n.valid)
        return bad(c, "the buckets count more requests than the valid lines");
    c->p = c->end;
    return 0;
}

static int read_seconds(cursor *c, lt_rps **out, uint64_t max, int exact)
{
    uint64_t n = get_count(c, 2, 1), sum = 0;
    int64_t sec = 0;
    if (c->failed)
        return -EINVAL;
    if ((*out = lt_rps_new()) == NULL)
        return -ENOMEM;
    lt_rps *r = *out;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t d = get_varint(c), count = get_varint(c);
        if (c->failed)
            return -EINVAL;
        if (i == 0) {
            sec = (int64_t)(d >> 1) ^ -(int64_t)(d & 1);
        } else {
            if (d == 0 || d > (uint64_t)INT64_MAX || sec > INT64_MAX - (int64_t)d)
                return bad(c, "seconds not in ascending order");
            sec += (int64_t)d;
        }
        if (count == 0 || count > max - sum)
            return bad(c, "per-second counts exceed the valid lines");
        sum += count;
        while (count > 0) {
            uint32_t part = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
            if (lt_rps_add(r, sec, part) < 0)
                return -ENOMEM;
            count -= part;
        }
    }
    if (exact && sum != max)
        return bad(c, "per-second counts do not add up to the valid lines");
    return 0;
}

static int read_samples(cursor *c, struct parts *P)
{
    uint32_t n = get_u32(c);
    uint64_t want = P->n.malformed < LT_SAMPLES ? P->n.malformed : LT_SAMPLES;
    if (!c->failed && n != want)
        return bad(c, "sample count disagrees with the malformed lines");
    for (uint32_t i = 0; i < n && !c->failed; i++) {
        lt_sample *s = &P->samples[i];
        s->source = get_u32(c);
        s->line = get_u64(c);
        s->reason = (int)get_u32(c);
        uint32_t len = get_u32(c);
        if (c->failed)
            break;
        if (s->reason > LT_PARSE_EMPTY || s->reason < LT_PARSE_LAST || len > LT_SAMPLE_BYTES)
            return bad(c, "a sample out of range");
        if (need(c, len) < 0)
            break;
        memcpy(s->text, c->p, len);
        s->len = len;
        c->p += len;
    }
    P->n_samples = n;
    return c->failed ? -EINVAL : 0;
}

static int read_sources(cursor *c, struct parts *P)
{
    uint64_t n = get_count(c, 4 + 8 * 8 + 4 + 8 + 1, 0);
    if (c->failed)
        return -EINVAL;
    if ((P->sources = calloc(n ? n : 1, sizeof(*P->sources))) == NULL)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        lt_snapshot_source *s = &P->sources[i];
        uint32_t len = get_u32(c);
        if (c->failed || need(c, len) < 0)
            return -EINVAL;
        if (len == 0 || len > MAX_PATH || memchr(c->p, '\0', len) != NULL)
            return bad(c, "a source path that is empty, too long or holds a NUL");
        if ((s->path = strndup((const char *)c->p, len)) == NULL)
            return -ENOMEM;
        P->n_sources = i + 1;
        c->p += len;
        s->dev = get_u64(c);
        s->ino = get_u64(c);
        s->offset = get_u64(c);
        s->size = get_u64(c);
        s->lines = get_u64(c);
        s->malformed = get_u64(c);
        s->truncations = get_u64(c);
        s->rotations = get_u64(c);
        s->fp_len = get_u32(c);
        s->fp_hash = get_u64(c);
        unsigned done = get_u8(c);
        if (c->failed)
            return -EINVAL;
        if (s->offset > s->size || s->malformed > s->lines || s->fp_len > 256 || done > 2)
            return bad(c, "a source position out of range");
        s->done = (int)done;
    }
    return 0;
}

static void free_parts(struct parts *P)
{
    lt_ip4set_free(P->v4);
    lt_keyset_free(P->v6);
    lt_keyset_free(P->host);
    for (int k = 0; k < 3; k++)
        lt_hll_free(P->hll[k]);
    lt_urls_free(P->urls);
    lt_rps_free(P->rps);
    for (int k = 0; k < LT_CLASSES; k++)
        lt_rps_free(P->class_rps[k]);
    lt_buckets_free(P->buckets);
    lt_snapshot_sources_free(P->sources, P->n_sources);
    lt_hist_free(P->durations);
}

int lt_snapshot_read(const void *data, size_t len, const lt_limits *limits, lt_tally **out,
                     lt_snapshot_source **sources, size_t *n_sources, char *err, size_t errlen)
{
    const unsigned char *d = data;
    cursor c = {d, d, d + len, NULL, err, errlen, 0};
    struct parts P;
    int rc = -EINVAL;
    uint64_t offs[SEC_MAX + 1] = {0}, lens[SEC_MAX + 1] = {0};
    int present[SEC_MAX + 1] = {0};

    memset(&P, 0, sizeof(P));
    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (len < HEADER_BYTES || memcmp(d, LT_SNAPSHOT_MAGIC, 8) != 0) {
        bad(&c, len < 8 ? "too short to be a snapshot" : "not a logtally snapshot (bad magic)");
        goto fail;
    }
    c.p += 8;
    uint32_t version = get_u32(&c), n = get_u32(&c);
    (void)get_u64(&c);    /* created */
    uint64_t sum = get_u64(&c);
    if (version < MIN_VERSION || version > LT_SNAPSHOT_VERSION) {
        char msg[96];
        snprintf(msg, sizeof(msg), "version %u; this logtally reads versions %d to %d", version,
                 MIN_VERSION, LT_SNAPSHOT_VERSION);
        bad(&c, msg);
        goto fail;
    }
    if (n == 0 || n > SEC_MAX || len - HEADER_BYTES < (size_t)n * ENTRY_BYTES) {
        bad(&c, "section table truncated or of a wrong size");
        goto fail;
    }
    {
        /* The header's checksum covers the header (its own field as 0) and
         * the table, so a flipped offset or length is caught here. */
        unsigned char head[HEADER_BYTES + SEC_MAX * ENTRY_BYTES];
        size_t hl = HEADER_BYTES + (size_t)n * ENTRY_BYTES;
        memcpy(head, d, hl);
        memset(head + 24, 0, 8);
        if (XXH64(head, hl, 0) != sum) {
            c.p = d + 24;
            bad(&c, "header checksum mismatch: the header or section table is damaged");
            goto fail;
        }
    }
    uint64_t expect = HEADER_BYTES + (uint64_t)n * ENTRY_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t type = get_u32(&c), reserved = get_u32(&c);
        uint64_t off = get_u64(&c), slen = get_u64(&c), ssum = get_u64(&c);
        if (type < 1 || type > (version == 1 ? SEC_SOURCES : SEC_MAX) || present[type] ||
            reserved != 0) {
            bad(&c, "unknown, repeated or malformed section entry");
            goto fail;
        }
        if (off != expect || slen > len - off) {
            bad(&c, "a section outside the file, or not where the table says");
            goto fail;
        }
        if (XXH64(d + off, slen, 0) != ssum) {
            char msg[96];
            snprintf(msg, sizeof(msg), "section %s at byte %llu: checksum mismatch",
                     section_names[type], (unsigned long long)off);
            bad(&c, msg);
            goto fail;
        }
        present[type] = 1;
        offs[type] = off;
        lens[type] = slen;
        expect = off + slen;
    }
    if (expect != len) {
        c.p = d + expect;
        bad(&c, "bytes after the last section");
        goto fail;
    }
    for (int t = SEC_COUNTERS; t <= SEC_BUCKETS; t++)
        if (!present[t] && t != SEC_SOURCES && (version > 1 || t <= SEC_SAMPLES)) {
            char msg[64];
            snprintf(msg, sizeof(msg), "section %s is missing", section_names[t]);
            bad(&c, msg);
            goto fail;
        }

    for (int t = SEC_COUNTERS; t <= SEC_MAX; t++) {
        if (!present[t])
            continue;
        c.p = d + offs[t];
        c.end = d + offs[t] + lens[t];
        c.section = section_names[t];
        switch (t) {
        case SEC_COUNTERS: rc = read_counters(&c, &P); break;
        case SEC_LIMITS: rc = read_limits(&c, &P, limits); break;
        case SEC_CLIENTS: rc = read_clients(&c, &P); break;
        case SEC_HLL: rc = read_hll(&c, &P); break;
        case SEC_URLS: rc = read_urls(&c, &P, limits != NULL); break;
        case SEC_RPS: rc = read_rps(&c, &P); break;
        case SEC_SAMPLES: rc = read_samples(&c, &P); break;
        case SEC_SOURCES: rc = read_sources(&c, &P); break;
        case SEC_WINDOWS: rc = read_windows(&c, &P, limits != NULL); break;
        case SEC_BUCKETS: rc = read_buckets(&c, &P); break;
        }
        if (rc == 0 && c.p != c.end)
            rc = bad(&c, "bytes left over in the section");
        if (rc < 0)
            goto fail;
    }

    lt_clients *cl = lt_clients_from_parts(P.limits.exact_clients_bytes, P.v4, P.v6, P.host, P.hll);
    P.v4 = NULL;
    P.v6 = P.host = NULL;
    memset(P.hll, 0, sizeof(P.hll));
    *out = lt_tally_from_parts(&P.limits, &P.n, cl, P.urls, P.rps, P.samples, P.n_samples);
    P.urls = NULL;
    P.rps = NULL;
    if (*out == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if (version > 1) {
        rc = lt_tally_set_windows(*out, P.buckets, P.class_rps);
        P.buckets = NULL;
        memset(P.class_rps, 0, sizeof(P.class_rps));
        if (rc < 0) {
            lt_tally_free(*out);
            *out = NULL;
            goto fail;
        }
    }
    if (P.durations != NULL) {
        lt_tally_set_durations(*out, P.durations);
        P.durations = NULL;
    }
    if (sources != NULL) {
        *sources = P.sources;
        *n_sources = P.n_sources;
        P.sources = NULL;
        P.n_sources = 0;
    }
    free_parts(&P);
    return 0;

fail:
    if (rc == -ENOMEM && errlen > 0)
        snprintf(err, errlen, "out of memory reading the snapshot");
    else if (errlen > 0 && err[0] == '\0')
        snprintf(err, errlen, "invalid snapshot");
    free_parts(&P);
    return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

void lt_snapshot_sources_free(lt_snapshot_source *s, size_t n)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i].path);
    free(s);
}

/* --- files --------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int lt_snapshot_save_bytes(const char *path, const void *data, size_t len, char *err,
                           size_t errlen)
{
    char tmp[4096 + 8], dir[4096];
    int fd, rc = 0;

    if (strlen(path) >= 4096) {
        snprintf(err, errlen, "%s: path too long", path);
        return -ENAMETOOLONG;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (rc = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
        rc = rc < 0 ? rc : -errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = -errno;
        snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(-rc));
        goto fail;
    }
    /* The rename is durable once the directory is on disk. */
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;

fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int lt_snapshot_save(const char *path, const lt_tally *t, const lt_snapshot_source *sources,
                     size_t n_sources, int64_t created, char *err, size_t errlen)
{
    lt_buf b;
    lt_buf_init(&b);
    int rc = lt_snapshot_write(&b, t, sources, n_sources, created);
    if (rc < 0)
        snprintf(err, errlen, "%s: out of memory", path);
    else
        rc = lt_snapshot_save_bytes(path, b.data, b.len, err, errlen);
    lt_buf_free(&b);
    return rc;
}

int lt_snapshot_slurp(const char *path, size_t max_bytes, char **data, size_t *len, char *err,
                      size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        close(fd);
        return -EISDIR;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max_bytes) {
                snprintf(err, errlen, "%s: larger than %zu bytes", path, max_bytes);
                rc = -EFBIG;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            if (cap > max_bytes)
                cap = max_bytes;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -ENOMEM;
                break;
            }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            snprintf(err, errlen, "%s: %s", path, strerror(-rc));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return 0;
}
