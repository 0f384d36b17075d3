/* buckets.c -- what happened in each stretch of time: aggregates per bucket.
 *
 * Representation
 * --------------
 * A bucket covers [start, start + width) with start a multiple of width
 * counted from the epoch (width divides 86400, so buckets fall on UTC
 * minutes, hours and days).  The buckets are an array of pointers sorted
 * by start; only buckets that saw a request exist.  Lines arrive nearly in
 * time order, so the bucket of the last record is tried first and a
 * binary search finds the others.
 *
 *   bucket: start | requests bytes unparsed | methods[11] | codes (sparse)
 *           | clients: exact {IPv4 set, tagged key set}  or  {3 HLLs}
 *           | urls (Space-Saving, conf.urls) | vhosts (Space-Saving, conf.vhosts)
 *           | pairs: the (virtual host, client) pairs, while their budget allows
 *
 * Status codes are a short array of {code, count} in first-seen order: a
 * bucket sees a dozen codes, so a scan beats an 8 KB dense table per bucket.
 * The all-time totals (codes, methods, vhosts) are kept apart, dense, and
 * are never dropped.
 *
 * Distinct clients
 * ----------------
 * While exact, a bucket holds IPv4 clients in an lt_ip4list and IPv6 and
 * hostname clients in one lt_keyset, each key tagged by its kind (0x06 and
 * 16 bytes, or 'h' and the name), so a hostname of 16 bytes can never equal
 * an IPv6 address.  The IPv4 list is appended to only when the tally's
 * all-time set says the address is not yet stamped with this bucket
 * (lt_buckets_stamp(), "Stamps" in ip4set.c): the lookup the all-time
 * count makes anyway serves the bucket too, and a closed bucket's list is
 * a sorted array of 4 bytes per client (trimmed when the bucket closes).
 * Open, a list costs 4 to 16 bytes per client, as a hash set would cost 8
 * to 16.  The exact sets of all buckets share one budget
 * (conf.clients_bytes).  Past it, the oldest exact bucket is turned into
 * HyperLogLogs (one per kind present,
 * fed with the elements of its sets in the encoding of clients.c, so the
 * sketch is the one streaming would have built), until the total fits.
 * Recent buckets, the ones most asked about, stay exact longest.  The union
 * over a range is exact when every bucket in it is (a union of the sets);
 * otherwise it is the HLL union (exact buckets' elements added to it), an
 * estimate with standard error LT_HLL_STD_ERROR.
 *
 * Clients per virtual host
 * ------------------------
 * A log with %v counts each (host, client) pair once: a key of the host's
 * length (u32), the host and the client's tagged key (TAG_IPV4 and the 4
 * address bytes here, so one key set holds every kind).  Each bucket keeps
 * its pairs in an lt_keyset.  A pair costs about 80 bytes (slot and key)
 * where an IPv4 client costs 4..8, so the pairs have a budget of their own (the figure
 * of conf.clients_bytes again) and never push a client set into its
 * sketches: past it the oldest buckets drop their pairs, and a window that
 * reads such a bucket (one that saw a virtual host) cannot say how many
 * clients each host had.  A window
 * unions its buckets' pairs, and every pair new to the union is one client
 * more of its host in the window's table (vhost_clients).  All time, one
 * more set of pairs and its table are kept the same way, with a budget of
 * their own (conf.clients_bytes again); past it the all-time figure is no
 * longer known (lt_buckets_vhost_clients() is NULL) and the buckets still
 * answer.  Per host this is exact where an HLL per host would cost 12 KiB
 * each; a log of one host costs a pair per client, some ten times what its
 * IPv4 set costs.  Logs without %v pay nothing.
 *
 * Hot URLs
 * --------
 * The newest bucket and the one before it are open: their lt_urls tables
 * hold up to LT_BUCKETS_OPEN_URLS URLs exactly (Space-Saving past that).
 * When a newer bucket opens, the buckets before those two are closed: each
 * table is cut to its conf.urls largest counts, kept exactly, and the
 * largest count cut becomes its error bound (no URL missing from it had
 * more hits).  Counting into a large open table costs one hash lookup per
 * line; a small Space-Saving table would evict (and sift its heap) on
 * almost every hit of a long tail.  A late line for a closed bucket goes to
 * its Space-Saving table.  A range merges its
 * buckets' tables with lt_urls_merge() (mergeable summaries): the result's
 * error bound is the sum of the buckets' bounds plus any count dropped, and
 * every URL of true count above it is listed.  Virtual hosts use the same
 * table, bounded by conf.vhosts.
 *
 * Response times
 * --------------
 * A bucket's response times are an lt_hist (hist.h), made on the bucket's
 * first logged time, so a log without %D/%T costs nothing.  A histogram
 * allocates 64 counters (512 bytes) per power of two of microseconds seen:
 * times of 1 ms .. 10 s cost about 14 x 512 bytes, some 7 KiB a bucket, 5
 * MiB for the 720 hourly buckets of a month.  A window merges the
 * histograms of the buckets it reads (lt_hist_merge), so its quantiles
 * keep LT_HIST_REL_ERROR and cover [covered_from, covered_to], like its
 * codes and clients.  Their bytes are lt_buckets_memory.durations.
 *
 * Retention
 * ---------
 * At most retention / width buckets are kept: a new bucket past that count
 * drops the oldest (its counts remain in the all-time totals and in the
 * tally's).  Bounding the count rather than the age means that one line
 * stamped far in the future costs one bucket, not every bucket before it;
 * with gaps in the logs the buckets kept reach further back than retention.
 * A record older than every bucket kept when the count is reached is not
 * bucketed (lt_buckets_dropped() counts it).  Older buckets are dropped,
 * not folded into coarser ones: the tally's all-time totals already answer
 * "since the start".
 *
 * Section layout (lt_buckets_write; little-endian; u16/u32/u64 fixed)
 * ----------------------------------------------------------------
 *   u64 width, i64 dropped_before, u64 dropped,
 *   totals: 11 x u64 methods, 6 x 11 x u64 (class x method), codes, table (vhosts)
 *   u32 n, n x bucket, starts ascending
 *   bucket: i64 start, u64 requests, bytes, unparsed, 11 x u64 methods,
 *           codes, u8 exact,
 *           exact: u32 n4, n4 x u32 IPv4 ascending; u32 nk, nk x (u32 len, bytes)
 *                  ascending bytes (tagged keys)
 *           else:  3 x (u32 len, Redis HLL blob; len 0 for a kind never seen)
 *           table (urls), table (vhosts)
 *   then, from snapshot version 3, n x response times (lt_hist_write(), an
 *   empty histogram for a bucket without any), in the buckets' order; a
 *   section that ends after the last bucket (version 2) has none
 *   then, from version 4, u8 all-time pairs known, when 1: keys (pairs),
 *   table (clients per virtual host); n x (u8 known, when 1: keys (pairs))
 *   (a section that ends before: pairs unknown wherever a host was counted)
 *   keys:   u32 n, n x (u32 len, bytes), ascending bytes
 *   codes:  u16 n, n x (u16 code, u64 count), codes ascending
 *   table:  u8 exact, u64 bound, u64 total, u32 n, n x (u32 len, bytes, u64 count,
 *           u64 error), ascending bytes
 *
 * Complexity: lt_buckets_add is O(1) expected (O(log buckets) when the time
 * jumps); a window is O(buckets in range x their sizes).
 */
#include "buckets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"
#include "hll.h"
#include "ip4list.h"
#include "keyset.h"

#define TAG_IPV4 0x04   /* in pair keys only: the client sets keep IPv4 apart */
#define TAG_IPV6 0x06
#define TAG_HOST 'h'

enum { KIND_IPV4, KIND_IPV6, KIND_HOST, KINDS };

struct code_count {
    uint16_t code;
    uint64_t count;
};

struct bucket {
    int64_t start;
    uint64_t requests, bytes, unparsed;
    uint64_t methods[LT_METHODS];
    struct code_count *codes;
    uint16_t n_codes, cap_codes;
    int exact;
    int open;                   /* urls may hold LT_BUCKETS_OPEN_URLS, not conf.urls */
    lt_ip4list *v4;             /* exact: IPv4 clients (NULL until one) */
    lt_keyset *keys;            /* exact: tagged IPv6 and hostname clients */
    size_t set_bytes;           /* bytes of v4 and keys when last measured */
    lt_hll *hll[KINDS];         /* not exact: a sketch per kind seen */
    lt_keyset *pairs;           /* (virtual host, client) pairs (NULL until one) */
    size_t pair_bytes;          /* bytes of pairs when last measured */
    int pairs_unknown;          /* pairs dropped for their budget, or read from a
                                   snapshot without them (version 3 or older) */
    lt_urls *urls, *vhosts;
    lt_hist *durations;         /* response times (NULL until one is logged) */
};

struct lt_buckets {
    lt_buckets_conf conf;
    size_t max_buckets;
    struct bucket **b;
    size_t n, cap;
    size_t last;                /* index of the bucket of the last record */
    int64_t newest;             /* start of the newest bucket seen; INT64_MIN: none */
    size_t exact_bytes;         /* set_bytes summed over the exact buckets */
    size_t pair_bytes;          /* pair_bytes summed over the buckets */
    size_t sketch_tried_at;     /* exact_bytes when no bucket could be sketched */
    int64_t dropped_before;     /* no bucket before this start is kept; INT64_MIN: none dropped */
    uint64_t dropped;
    uint64_t codes[LT_STATUS_CODES];
    uint64_t methods[LT_METHODS];
    uint64_t class_methods[LT_STATUS_CLASSES][LT_METHODS];
    lt_urls *vhosts;            /* all time */
    lt_keyset *pairs;           /* all time: (virtual host, client) pairs (NULL until one) */
    lt_urls *vhost_clients;     /* all time: distinct clients per virtual host */
    int pairs_lost;             /* the pairs passed their budget: vhost_clients is stale */
    unsigned char *scratch;     /* a tagged key being built */
    size_t scratch_cap;
    int64_t stamp_start;        /* the bucket of the last lt_buckets_stamp() */
    uint32_t stamp;             /* and its stamp */
};

/* A bucket's stamp is its start / width plus STAMP_BASE, or 0 (no stamp)
 * outside the range of uint32_t: injective over the parser's years 1970 to
 * 9999 at any width of a minute or more, so two buckets never share one. */
#define STAMP_BASE ((int64_t)1 << 20)

static const char *const method_names[LT_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other", "none",
};

const char *lt_buckets_method_name(unsigned m)
{
    return m < LT_METHODS ? method_names[m] : "?";
}

/* The 3 to 7 bytes of s as a little-endian integer, read byte by byte (no
 * call, no load past the token, no loop). */
static inline uint64_t method_word(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t v = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16;
    switch (len) {
    case 7: v |= (uint64_t)p[6] << 48; /* fall through */
    case 6: v |= (uint64_t)p[5] << 40; /* fall through */
    case 5: v |= (uint64_t)p[4] << 32; /* fall through */
    case 4: v |= (uint64_t)p[3] << 24; /* fall through */
    default: return v;
    }
}

#define W3(a, b, c) ((uint64_t)(a) | (uint64_t)(b) << 8 | (uint64_t)(c) << 16)
#define W4(a, b, c, d) (W3(a, b, c) | (uint64_t)(d) << 24)
#define W5(a, b, c, d, e) (W4(a, b, c, d) | (uint64_t)(e) << 32)
#define W6(a, b, c, d, e, f) (W5(a, b, c, d, e) | (uint64_t)(f) << 40)
#define W7(a, b, c, d, e, f, g) (W6(a, b, c, d, e, f) | (uint64_t)(g) << 48)

unsigned lt_buckets_method(const char *s, size_t len)
{
    if (s == NULL)
        return LT_METHOD_NONE;
    if (len < 3 || len > 7)
        return LT_METHOD_OTHER;
    /* Methods are case-sensitive (RFC 9110 9.1): "get" is some other token.
     * This runs per line, so the token is compared as one integer. */
    switch (method_word(s, len)) {
    case W3('G', 'E', 'T'): return LT_METHOD_GET;
    case W3('P', 'U', 'T'): return LT_METHOD_PUT;
    case W4('H', 'E', 'A', 'D'): return LT_METHOD_HEAD;
    case W4('P', 'O', 'S', 'T'): return LT_METHOD_POST;
    case W5('P', 'A', 'T', 'C', 'H'): return LT_METHOD_PATCH;
    case W5('T', 'R', 'A', 'C', 'E'): return LT_METHOD_TRACE;
    case W6('D', 'E', 'L', 'E', 'T', 'E'): return LT_METHOD_DELETE;
    case W7('O', 'P', 'T', 'I', 'O', 'N', 'S'): return LT_METHOD_OPTIONS;
    case W7('C', 'O', 'N', 'N', 'E', 'C', 'T'): return LT_METHOD_CONNECT;
    default: return LT_METHOD_OTHER;
    }
}

int lt_buckets_conf_check(lt_buckets_conf *c, char *err, size_t errlen)
{
    if (c->width == 0)
        c->width = LT_BUCKETS_DEFAULT_WIDTH;
    if (c->retention == 0)
        c->retention = LT_BUCKETS_DEFAULT_RETENTION;
    if (c->clients_bytes == 0)
        c->clients_bytes = LT_BUCKETS_DEFAULT_CLIENTS_BYTES;
    if (c->urls == 0)
        c->urls = LT_BUCKETS_DEFAULT_URLS;
    if (c->vhosts == 0)
        c->vhosts = LT_BUCKETS_DEFAULT_VHOSTS;
    if (c->width < 60 || c->width > 86400 || 86400 % c->width != 0) {
        if (errlen > 0)
            snprintf(err, errlen, "bucket width %llds must divide a day and be 1m to 1d "
                     "(60, 120, 300, 600, 900, 1800, 3600, 7200, ... 86400 s)",
                     (long long)c->width);
        return -EINVAL;
    }
    if (c->retention < c->width || c->retention > 100LL * 366 * 86400) {
        if (errlen > 0)
            snprintf(err, errlen, "retention %llds must be at least one bucket (%llds) and at "
                     "most 100 years", (long long)c->retention, (long long)c->width);
        return -EINVAL;
    }
    if (c->urls > ((size_t)1 << 31) || c->vhosts > ((size_t)1 << 31)) {
        if (errlen > 0)
            snprintf(err, errlen, "bucket URL and vhost limits are at most 2^31");
        return -EINVAL;
    }
    return 0;
}

lt_buckets *lt_buckets_new(const lt_buckets_conf *conf)
{
    lt_buckets_conf c = conf ? *conf : (lt_buckets_conf){0};
    if (lt_buckets_conf_check(&c, NULL, 0) < 0)
        return NULL;
    lt_buckets *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->conf = c;
    b->max_buckets = (size_t)(c.retention / c.width);
    b->dropped_before = INT64_MIN;
    b->newest = INT64_MIN;
    b->stamp_start = INT64_MAX;
    b->vhosts = lt_urls_new(c.vhosts);
    b->vhost_clients = lt_urls_new(c.vhosts);
    if (b->vhosts == NULL || b->vhost_clients == NULL) {
        lt_urls_free(b->vhosts);
        lt_urls_free(b->vhost_clients);
        free(b);
        return NULL;
    }
    return b;
}

static void bucket_free(struct bucket *k)
{
    if (k == NULL)
        return;
    free(k->codes);
    lt_ip4list_free(k->v4);
    lt_keyset_free(k->keys);
    lt_keyset_free(k->pairs);
    for (int i = 0; i < KINDS; i++)
        lt_hll_free(k->hll[i]);
    lt_urls_free(k->urls);
    lt_urls_free(k->vhosts);
    lt_hist_free(k->durations);
    free(k);
}

void lt_buckets_free(lt_buckets *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        bucket_free(b->b[i]);
    free(b->b);
    lt_urls_free(b->vhosts);
    lt_keyset_free(b->pairs);
    lt_urls_free(b->vhost_clients);
    free(b->scratch);
    free(b);
}

const lt_buckets_conf *lt_buckets_get_conf(const lt_buckets *b) { return &b->conf; }
const uint64_t *lt_buckets_codes(const lt_buckets *b) { return b->codes; }
const uint64_t *lt_buckets_methods(const lt_buckets *b) { return b->methods; }

/* The class of each hundred: 0xx and 6xx..9xx are "other". */
static const unsigned char code_class[10] = {5, 0, 1, 2, 3, 4, 5, 5, 5, 5};

unsigned lt_buckets_status_class(unsigned status)
{
    return status < LT_STATUS_CODES ? code_class[status / 100] : LT_STATUS_CLASSES - 1;
}

uint64_t lt_buckets_class_method(const lt_buckets *b, unsigned status_class, unsigned method)
{
    return status_class < LT_STATUS_CLASSES && method < LT_METHODS
               ? b->class_methods[status_class][method] : 0;
}
const lt_urls *lt_buckets_vhosts(const lt_buckets *b) { return b->vhosts; }
const lt_urls *lt_buckets_vhost_clients(const lt_buckets *b)
{
    return b->pairs_lost ? NULL : b->vhost_clients;
}
uint64_t lt_buckets_dropped(const lt_buckets *b) { return b->dropped; }
size_t lt_buckets_count(const lt_buckets *b) { return b->n; }

bool lt_buckets_span(const lt_buckets *b, int64_t *first_start, int64_t *last_end)
{
    if (b->n == 0)
        return false;
    *first_start = b->b[0]->start;
    *last_end = b->b[b->n - 1]->start + b->conf.width;
    return true;
}

static int64_t bucket_start(const lt_buckets *b, int64_t ts)
{
    int64_t w = b->conf.width, r = ts % w;
    return ts - (r < 0 ? r + w : r);
}

/* Whether ts falls in the bucket that starts at start: a subtraction
 * where bucket_start() divides. */
static inline int in_bucket(const lt_buckets *b, int64_t start, int64_t ts)
{
    return ts >= start && (uint64_t)ts - (uint64_t)start < (uint64_t)b->conf.width;
}

/* Index of the first bucket whose start is >= start. */
static size_t lower_bound(const lt_buckets *b, int64_t start)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->b[mid]->start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct bucket *bucket_new(const lt_buckets *b, int64_t start, int open)
{
    struct bucket *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    k->start = start;
    k->exact = 1;
    k->open = open && b->conf.urls < LT_BUCKETS_OPEN_URLS;
    k->urls = lt_urls_new(k->open ? LT_BUCKETS_OPEN_URLS : b->conf.urls);
    k->vhosts = lt_urls_new(b->conf.vhosts);
    if (k->urls == NULL || k->vhosts == NULL) {
        bucket_free(k);
        return NULL;
    }
    return k;
}

static void drop_oldest(lt_buckets *b)
{
    struct bucket *k = b->b[0];
    if (k->exact)
        b->exact_bytes -= k->set_bytes;
    b->pair_bytes -= k->pair_bytes;
    b->dropped_before = k->start + b->conf.width;
    bucket_free(k);
    memmove(b->b, b->b + 1, (b->n - 1) * sizeof(*b->b));
    b->n--;
    b->last = 0;
}

static void remeasure(lt_buckets *b, struct bucket *k);

/* Cuts an open bucket's URL table to its conf.urls largest counts (see
 * the design comment), and sorts its IPv4 clients.  Returns 0 or -ENOMEM
 * (the bucket then stays open, which costs memory, not truth). */
static int close_bucket(lt_buckets *b, struct bucket *k)
{
    if (k->exact && k->v4 != NULL && lt_ip4list_trim(k->v4) > 0)
        remeasure(b, k);
    size_t keep = b->conf.urls;
    lt_urls *u = k->urls, *c = lt_urls_new(keep);
    int rc = c == NULL ? -ENOMEM : 0;
    if (rc == 0 && lt_urls_size(u) <= keep) {
        rc = lt_urls_merge(c, u);
    } else if (rc == 0) {
        lt_url_count *top = malloc((keep + 1) * sizeof(*top));
        if (top == NULL) {
            rc = -ENOMEM;
        } else {
            size_t n = lt_urls_top(u, keep + 1, top);
            uint64_t bound = lt_urls_error_bound(u);
            if (n > keep && top[keep].count > bound)
                bound = top[keep].count;
            rc = lt_urls_restore(c, top, n < keep ? n : keep, bound, lt_urls_total(u));
            free(top);
        }
    }
    if (rc < 0) {
        lt_urls_free(c);
        return rc;
    }
    lt_urls_free(u);
    k->urls = c;
    k->open = 0;
    return 0;
}

/* Closes the open buckets that started before the one before the newest.
 * Open buckets are among the last few: the walk stops at the first closed
 * bucket that old. */
/* The start of the bucket before the newest: open buckets start there or
 * later (INT64_MIN when that would pass the int64_t range). */
static int64_t open_from(const lt_buckets *b)
{
    return b->newest < INT64_MIN + b->conf.width ? INT64_MIN : b->newest - b->conf.width;
}

static void close_old(lt_buckets *b)
{
    int64_t keep_from = open_from(b);
    for (size_t i = b->n; i-- > 0;) {
        struct bucket *k = b->b[i];
        if (k->start >= keep_from)
            continue;
        if (!k->open)
            break;
        close_bucket(b, k);
    }
}

/* Makes room in the index for one more bucket: 0 or -ENOMEM. */
static int room_for_one(lt_buckets *b)
{
    if (b->n < b->cap)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : 16;
    struct bucket **nb = realloc(b->b, cap * sizeof(*nb));
    if (nb == NULL)
        return -ENOMEM;
    b->b = nb;
    b->cap = cap;
    return 0;
}

/* The bucket starting at start, created when absent.  Returns NULL with
 * *rc = 0 when it is too old to keep, or with *rc = -ENOMEM. */
static struct bucket *bucket_at(lt_buckets *b, int64_t start, int *rc)
{
    *rc = 0;
    if (b->last < b->n && b->b[b->last]->start == start)
        return b->b[b->last];
    size_t i = lower_bound(b, start);
    if (i < b->n && b->b[i]->start == start) {
        b->last = i;
        return b->b[i];
    }
    if (start < b->dropped_before || (b->n >= b->max_buckets && i == 0))
        return NULL;
    if (room_for_one(b) < 0) {
        *rc = -ENOMEM;
        return NULL;
    }
    int advance = start > b->newest;
    if (advance)
        b->newest = start;
    struct bucket *k = bucket_new(b, start, start >= open_from(b));
    if (k == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    memmove(b->b + i + 1, b->b + i, (b->n - i) * sizeof(*b->b));
    b->b[i] = k;
    b->n++;
    if (b->n > b->max_buckets) {
        drop_oldest(b);
        i--;
    }
    b->last = i;
    if (advance)
        close_old(b);
    return k;
}

static int add_code_slow(struct bucket *k, unsigned code, uint64_t count);

/* Most lines have the bucket's first code (200): that case is inline. */
static inline int add_code(struct bucket *k, unsigned code, uint64_t count)
{
    if (k->n_codes > 0 && k->codes[0].code == code) {
        k->codes[0].count += count;
        return 0;
    }
    return add_code_slow(k, code, count);
}

static int add_code_slow(struct bucket *k, unsigned code, uint64_t count)
{
    for (uint16_t i = 0; i < k->n_codes; i++)
        if (k->codes[i].code == code) {
            k->codes[i].count += count;
            return 0;
        }
    if (k->n_codes == k->cap_codes) {
        uint16_t cap = k->cap_codes ? (uint16_t)(k->cap_codes * 2) : 8;
        struct code_count *nc = realloc(k->codes, cap * sizeof(*nc));
        if (nc == NULL)
            return -ENOMEM;
        k->codes = nc;
        k->cap_codes = cap;
    }
    k->codes[k->n_codes++] = (struct code_count){(uint16_t)code, count};
    return 0;
}

/* --- clients ------------------------------------------------------------ */

static size_t sets_bytes(const struct bucket *k)
{
    return (k->v4 ? lt_ip4list_bytes(k->v4) : 0) + (k->keys ? lt_keyset_bytes(k->keys) : 0);
}

static lt_hll *kind_hll(struct bucket *k, int kind)
{
    if (k->hll[kind] == NULL)
        k->hll[kind] = lt_hll_new();
    return k->hll[kind];
}

static void hll_add_ipv4(lt_hll *h, uint32_t a)
{
    unsigned char c[4] = {(unsigned char)(a >> 24), (unsigned char)(a >> 16),
                          (unsigned char)(a >> 8), (unsigned char)a};
    lt_hll_add(h, c, 4);
}

struct to_hll {
    struct bucket *k;
    int rc;
};

static int v4_to_hll(uint32_t a, void *arg)
{
    struct to_hll *t = arg;
    lt_hll *h = kind_hll(t->k, KIND_IPV4);
    if (h == NULL)
        return t->rc = -ENOMEM;
    hll_add_ipv4(h, a);
    return 0;
}

static int key_to_hll(const void *key, size_t len, void *arg)
{
    struct to_hll *t = arg;
    const unsigned char *p = key;
    lt_hll *h = kind_hll(t->k, p[0] == TAG_IPV6 ? KIND_IPV6 : KIND_HOST);
    if (h == NULL)
        return t->rc = -ENOMEM;
    lt_hll_add(h, p + 1, len - 1);
    return 0;
}

/* Turns an exact bucket into sketches.  Returns 0 or -ENOMEM (the bucket
 * is then still exact). */
static int sketch(lt_buckets *b, struct bucket *k)
{
    struct to_hll t = {k, 0};
    if (k->v4)
        lt_ip4list_foreach(k->v4, v4_to_hll, &t);
    if (t.rc == 0 && k->keys)
        lt_keyset_foreach(k->keys, key_to_hll, &t);
    if (t.rc < 0) {
        for (int i = 0; i < KINDS; i++) {
            lt_hll_free(k->hll[i]);
            k->hll[i] = NULL;
        }
        return t.rc;
    }
    b->exact_bytes -= k->set_bytes;
    lt_ip4list_free(k->v4);
    lt_keyset_free(k->keys);
    k->v4 = NULL;
    k->keys = NULL;
    k->set_bytes = 0;
    k->exact = 0;
    return 0;
}

/* Sketches the oldest exact buckets until the sets fit their budget (a
 * small set costs less than its sketches, but the budget is what the
 * configuration asked for; sketches are bounded by the bucket count).  When none is left to sketch, nothing is tried again
 * until the sets have grown by another sketch's worth, so a budget full of
 * small sets costs no scan per line. */
static void enforce_budget(lt_buckets *b)
{
    if (b->exact_bytes <= b->conf.clients_bytes || b->exact_bytes < b->sketch_tried_at)
        return;
    for (size_t i = 0; i < b->n && b->exact_bytes > b->conf.clients_bytes; i++) {
        struct bucket *k = b->b[i];
        if (k->exact && k->set_bytes > 0)
            sketch(b, k);
    }
    b->sketch_tried_at = b->exact_bytes > b->conf.clients_bytes ? b->exact_bytes + LT_HLL_REGISTERS
                                                                : 0;
}

static void remeasure(lt_buckets *b, struct bucket *k)
{
    size_t now = sets_bytes(k);
    b->exact_bytes += now - k->set_bytes;
    k->set_bytes = now;
}

/* b->scratch with room for len bytes, or NULL when out of memory. */
static unsigned char *scratch(lt_buckets *b, size_t len)
{
    if (len > b->scratch_cap) {
        size_t cap = len < 256 ? 256 : len;
        unsigned char *s = realloc(b->scratch, cap);
        if (s == NULL)
            return NULL;
        b->scratch = s;
        b->scratch_cap = cap;
    }
    return b->scratch;
}

/* The length of rec's client's tagged key. */
static size_t tagged_len(const lt_record *rec)
{
    return rec->client == LT_CLIENT_IPV4 ? 5 : rec->client == LT_CLIENT_IPV6 ? 17
                                                                             : rec->host_len + 1;
}

/* Writes the tagged key of rec's client at p (room for tagged_len(rec)
 * bytes): TAG_IPV4 only where IPv4 clients share a set with the others,
 * in pair keys. */
static void put_tagged(unsigned char *p, const lt_record *rec)
{
    if (rec->client == LT_CLIENT_IPV4) {
        p[0] = TAG_IPV4;
        p[1] = (unsigned char)(rec->ipv4 >> 24);
        p[2] = (unsigned char)(rec->ipv4 >> 16);
        p[3] = (unsigned char)(rec->ipv4 >> 8);
        p[4] = (unsigned char)rec->ipv4;
    } else if (rec->client == LT_CLIENT_IPV6) {
        p[0] = TAG_IPV6;
        memcpy(p + 1, rec->ipv6, 16);
    } else {
        p[0] = TAG_HOST;
        memcpy(p + 1, rec->host, rec->host_len);
    }
}

/* The tagged key of a non-IPv4 client in b->scratch; returns its length,
 * or 0 when out of memory. */
static size_t tagged_key(lt_buckets *b, const lt_record *rec)
{
    size_t len = tagged_len(rec);
    unsigned char *p = scratch(b, len);
    if (p == NULL)
        return 0;
    put_tagged(p, rec);
    return len;
}

static int add_client(lt_buckets *b, struct bucket *k, const lt_record *rec, int seen)
{
    int kind = rec->client == LT_CLIENT_IPV4 ? KIND_IPV4
             : rec->client == LT_CLIENT_IPV6 ? KIND_IPV6 : KIND_HOST;
    if (kind == KIND_IPV4 && seen)
        return 0;
    if (!k->exact) {
        lt_hll *h = kind_hll(k, kind);
        if (h == NULL)
            return -ENOMEM;
        if (kind == KIND_IPV4)
            hll_add_ipv4(h, rec->ipv4);
        else if (kind == KIND_IPV6)
            lt_hll_add(h, rec->ipv6, 16);
        else
            lt_hll_add(h, rec->host, rec->host_len);
        return 0;
    }
    int added;
    if (kind == KIND_IPV4) {
        if (k->v4 == NULL && (k->v4 = lt_ip4list_new()) == NULL)
            return -ENOMEM;
        added = lt_ip4list_add(k->v4, rec->ipv4);   /* 1: its memory changed */
    } else {
        size_t len = tagged_key(b, rec);
        if (len == 0 || (k->keys == NULL && (k->keys = lt_keyset_new()) == NULL))
            return -ENOMEM;
        added = lt_keyset_add(k->keys, b->scratch, len);
    }
    if (added < 0)
        return -ENOMEM;
    if (added) {
        remeasure(b, k);
        enforce_budget(b);
    }
    return 0;
}

/* --- virtual hosts' clients ---------------------------------------------- */

/* The (virtual host, client) pair of rec in b->scratch: u32 length of the
 * host (little-endian), the host, then the client's tagged key.  The length
 * first makes the split unambiguous whatever bytes either part holds.
 * Returns the key's length, or 0 when out of memory. */
static size_t pair_key(lt_buckets *b, const lt_record *rec)
{
    size_t vlen = rec->vhost_len, len = 4 + vlen + tagged_len(rec);
    unsigned char *p = vlen > UINT32_MAX ? NULL : scratch(b, len);
    if (p == NULL)
        return 0;
    p[0] = (unsigned char)vlen;
    p[1] = (unsigned char)(vlen >> 8);
    p[2] = (unsigned char)(vlen >> 16);
    p[3] = (unsigned char)(vlen >> 24);
    memcpy(p + 4, rec->vhost, vlen);
    put_tagged(p + 4 + vlen, rec);
    return len;
}

/* The virtual host of a pair key (checked by the snapshot reader). */
static const char *pair_vhost(const void *key, size_t *len)
{
    const unsigned char *p = key;
    *len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    return (const char *)p + 4;
}

/* Bucket k no longer knows its clients per host. */
static void drop_pairs(lt_buckets *b, struct bucket *k)
{
    b->pair_bytes -= k->pair_bytes;
    lt_keyset_free(k->pairs);
    k->pairs = NULL;
    k->pair_bytes = 0;
    k->pairs_unknown = 1;
}

/* Drops the pairs of the oldest buckets until the buckets' pairs fit
 * conf.clients_bytes: clients per host stay known for the recent hours. */
static void enforce_pair_budget(lt_buckets *b)
{
    for (size_t i = 0; i < b->n && b->pair_bytes > b->conf.clients_bytes; i++)
        if (b->b[i]->pairs != NULL)
            drop_pairs(b, b->b[i]);
}

static void remeasure_pairs(lt_buckets *b, struct bucket *k)
{
    size_t now = k->pairs ? lt_keyset_bytes(k->pairs) : 0;
    b->pair_bytes += now - k->pair_bytes;
    k->pair_bytes = now;
    enforce_pair_budget(b);
}

/* The all-time pairs passed their budget or memory ran out: from now on
 * distinct clients per virtual host are known for the buckets only. */
static void lose_pairs(lt_buckets *b)
{
    lt_keyset_free(b->pairs);
    b->pairs = NULL;
    b->pairs_lost = 1;
}

static lt_keyset *all_pairs(lt_buckets *b)
{
    if (b->pairs == NULL && !b->pairs_lost) {
        if ((b->pairs = lt_keyset_new()) == NULL)
            lose_pairs(b);
        else
            lt_keyset_set_limit(b->pairs, b->conf.clients_bytes);
    }
    return b->pairs;
}

struct pair_into {
    lt_keyset *dst;
    lt_urls *per_host;   /* a new pair is one more client of its host here */
    int rc;
};

static int pair_into(const void *key, size_t len, void *arg)
{
    struct pair_into *t = arg;
    int r = lt_keyset_add(t->dst, key, len);
    if (r == 1) {
        size_t hl;
        const char *h = pair_vhost(key, &hl);
        r = lt_urls_add(t->per_host, h, hl, 1);
    }
    return r < 0 ? (t->rc = r) : 0;
}

/* Counts the pair of a record with a virtual host: in the all-time set,
 * where a new pair is one more distinct client of its host, and in bucket
 * k (NULL: none) unless k dropped its pairs, against their budget. */
static int add_pair(lt_buckets *b, struct bucket *k, const lt_record *rec)
{
    size_t len = pair_key(b, rec);
    if (len == 0)
        return -ENOMEM;
    uint64_t h = lt_keyset_hash(b->scratch, len);    /* once, for both sets */
    lt_keyset *all = all_pairs(b);
    if (all != NULL) {
        int r = lt_keyset_add_hashed(all, b->scratch, len, h);
        if (r == 1)
            r = lt_urls_add(b->vhost_clients, rec->vhost, rec->vhost_len, 1);
        if (r < 0)
            lose_pairs(b);
    }
    if (k == NULL || k->pairs_unknown)
        return 0;
    if (k->pairs == NULL && (k->pairs = lt_keyset_new()) == NULL)
        return -ENOMEM;
    int added = lt_keyset_add_hashed(k->pairs, b->scratch, len, h);
    if (added < 0)
        return -ENOMEM;
    if (added)
        remeasure_pairs(b, k);
    return 0;
}

/* Adds src's all-time pairs into dst's; with take, src's may simply move
 * (it is about to be freed).  Past the budget or out of memory dst loses
 * its pairs, never its other counts. */
static void merge_pairs(lt_buckets *dst, lt_buckets *src, int take)
{
    if (dst->pairs_lost)
        return;
    if (src->pairs_lost) {
        lose_pairs(dst);
        return;
    }
    if (src->pairs == NULL)
        return;
    if (take && dst->pairs == NULL && lt_urls_size(dst->vhost_clients) == 0) {
        lt_urls *u = dst->vhost_clients;
        dst->pairs = src->pairs;
        dst->vhost_clients = src->vhost_clients;
        lt_keyset_set_limit(dst->pairs, dst->conf.clients_bytes);
        src->pairs = NULL;
        src->vhost_clients = u;
        return;
    }
    lt_keyset *all = all_pairs(dst);
    struct pair_into t = {all, dst->vhost_clients, 0};
    if (all != NULL)
        lt_keyset_foreach(src->pairs, pair_into, &t);
    if (t.rc < 0)
        lose_pairs(dst);
}

/* --- counting ----------------------------------------------------------- */

/* The bucket's histogram is made on its first response time, so that a log
 * without %D or %T costs nothing per bucket. */
static int add_duration(struct bucket *k, uint64_t us)
{
    if (k->durations == NULL && (k->durations = lt_hist_new()) == NULL)
        return -ENOMEM;
    return lt_hist_add(k->durations, us, 1);
}

/* Adds src's response times (NULL: none) into *dst, made when needed. */
static int merge_durations(lt_hist **dst, const lt_hist *src)
{
    if (src == NULL || lt_hist_count(src) == 0)
        return 0;
    if (*dst == NULL && (*dst = lt_hist_new()) == NULL)
        return -ENOMEM;
    return lt_hist_merge(*dst, src);
}

void lt_buckets_prefetch(const lt_buckets *b, const lt_record *rec, uint64_t url_hash,
                         int second)
{
    if (b->conf.totals_only || b->last >= b->n)
        return;
    const struct bucket *k = b->b[b->last];
    if (!in_bucket(b, k->start, rec->ts))
        return;    /* another bucket: rare, and found by a search */
    if (second) {
        if (rec->url != NULL)
            lt_urls_prefetch_record(k->urls, url_hash);
        return;
    }
    if (rec->url != NULL)
        lt_urls_prefetch(k->urls, url_hash);
}

uint32_t lt_buckets_stamp(lt_buckets *b, int64_t ts)
{
    if (b->conf.totals_only)
        return 0;
    if (in_bucket(b, b->stamp_start, ts))
        return b->stamp;
    int64_t start = bucket_start(b, ts), q = start / (int64_t)b->conf.width;
    b->stamp_start = start;
    b->stamp = q > -STAMP_BASE && q < (int64_t)UINT32_MAX - STAMP_BASE ? (uint32_t)(q + STAMP_BASE)
                                                                      : 0;
    return b->stamp;
}

int lt_buckets_add(lt_buckets *b, const lt_record *rec, const char *url, size_t url_len,
                   uint64_t url_hash, int client_seen)
{
    unsigned method = lt_buckets_method(rec->method, rec->method_len);
    unsigned code = rec->status < LT_STATUS_CODES ? rec->status : 0;
    b->codes[code]++;
    b->methods[method]++;
    b->class_methods[code_class[code / 100]][method]++;
    if (rec->vhost != NULL && lt_urls_add(b->vhosts, rec->vhost, rec->vhost_len, 1) < 0)
        return -ENOMEM;
    if (b->conf.totals_only)
        return rec->vhost != NULL ? add_pair(b, NULL, rec) : 0;

    int rc = 0;
    struct bucket *k = b->last < b->n && in_bucket(b, b->b[b->last]->start, rec->ts)
                           ? b->b[b->last]
                           : bucket_at(b, bucket_start(b, rec->ts), &rc);
    if (k == NULL) {
        if (rc == 0) {
            b->dropped++;
            if (rec->vhost != NULL)
                rc = add_pair(b, NULL, rec);
        }
        return rc;
    }
    k->requests++;
    k->bytes += rec->bytes;
    k->methods[method]++;
    if (url == NULL)
        k->unparsed++;
    else if (lt_urls_add_hashed(k->urls, url, url_len, url_hash, 1) < 0)
        return -ENOMEM;
    if (rec->vhost != NULL && lt_urls_add(k->vhosts, rec->vhost, rec->vhost_len, 1) < 0)
        return -ENOMEM;
    if (add_code(k, code, 1) < 0)
        return -ENOMEM;
    if (rec->duration_us != LT_NO_DURATION && add_duration(k, rec->duration_us) < 0)
        return -ENOMEM;
    if (add_client(b, k, rec, client_seen) < 0)
        return -ENOMEM;
    return rec->vhost != NULL ? add_pair(b, k, rec) : 0;
}

/* --- merging ------------------------------------------------------------ */

/* Counts a tagged IPv6 or hostname key into uint64_t kinds[KINDS]. */
static int count_kind(const void *key, size_t len, void *arg)
{
    uint64_t *kinds = arg;
    (void)len;
    kinds[((const unsigned char *)key)[0] == TAG_IPV6 ? KIND_IPV6 : KIND_HOST]++;
    return 0;
}

/* Adds the clients of src (a bucket, exact or not) into the sketches of
 * the sketched bucket k. */
static int clients_into_sketch(struct bucket *k, const struct bucket *src)
{
    if (src->exact) {
        struct to_hll t = {k, 0};
        if (src->v4)
            lt_ip4list_foreach(src->v4, v4_to_hll, &t);
        if (t.rc == 0 && src->keys)
            lt_keyset_foreach(src->keys, key_to_hll, &t);
        return t.rc;
    }
    for (int i = 0; i < KINDS; i++) {
        if (src->hll[i] == NULL)
            continue;
        lt_hll *h = kind_hll(k, i);
        if (h == NULL)
            return -ENOMEM;
        lt_hll_merge(h, src->hll[i]);
    }
    return 0;
}

static int merge_clients(lt_buckets *b, struct bucket *k, const struct bucket *src)
{
    if (k->exact && !src->exact && sketch(b, k) < 0)
        return -ENOMEM;
    if (!k->exact)
        return clients_into_sketch(k, src);
    if (src->v4) {
        if (k->v4 == NULL && (k->v4 = lt_ip4list_new()) == NULL)
            return -ENOMEM;
        if (lt_ip4list_merge(k->v4, src->v4) < 0)
            return -ENOMEM;
        /* A closed bucket's list stays sorted and trimmed, as closing
         * leaves it; an open one's is when it closes.  (With bucket_urls
         * of LT_BUCKETS_OPEN_URLS or more no bucket is open, and a merge
         * into the newest sorts its list: O(bucket), not O(src).) */
        if (!k->open && lt_ip4list_trim(k->v4) < 0)
            return -ENOMEM;
    }
    if (src->keys) {
        if (k->keys == NULL && (k->keys = lt_keyset_new()) == NULL)
            return -ENOMEM;
        if (lt_keyset_merge(k->keys, src->keys) < 0)
            return -ENOMEM;
    }
    remeasure(b, k);
    return 0;
}

static int merge_bucket_pairs(lt_buckets *b, struct bucket *k, const struct bucket *src)
{
    if (k->pairs_unknown)
        return 0;
    if (src->pairs_unknown) {
        drop_pairs(b, k);
        return 0;
    }
    if (src->pairs == NULL)
        return 0;
    if (k->pairs == NULL && (k->pairs = lt_keyset_new()) == NULL)
        return -ENOMEM;
    int rc = lt_keyset_merge(k->pairs, src->pairs);
    remeasure_pairs(b, k);
    return rc < 0 ? -ENOMEM : 0;
}

static int merge_totals(lt_buckets *dst, lt_buckets *src, int take)
{
    if (lt_urls_merge(dst->vhosts, src->vhosts) < 0)
        return -ENOMEM;
    merge_pairs(dst, src, take);
    for (size_t i = 0; i < LT_STATUS_CODES; i++)
        dst->codes[i] += src->codes[i];
    for (size_t i = 0; i < LT_METHODS; i++)
        dst->methods[i] += src->methods[i];
    for (size_t c = 0; c < LT_STATUS_CLASSES; c++)
        for (size_t i = 0; i < LT_METHODS; i++)
            dst->class_methods[c][i] += src->class_methods[c][i];
    dst->dropped += src->dropped;
    return 0;
}

int lt_buckets_merge_totals(lt_buckets *dst, const lt_buckets *src)
{
    /* With take unset, src is only read. */
    if (merge_totals(dst, (lt_buckets *)src, 0) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < src->n; i++)
        dst->dropped += src->b[i]->requests;
    return 0;
}

/* Adds bucket s into dst's bucket k of the same start. */
static int merge_bucket(lt_buckets *dst, struct bucket *k, const struct bucket *s)
{
    k->requests += s->requests;
    k->bytes += s->bytes;
    k->unparsed += s->unparsed;
    for (size_t m = 0; m < LT_METHODS; m++)
        k->methods[m] += s->methods[m];
    for (uint16_t c = 0; c < s->n_codes; c++)
        if (add_code(k, s->codes[c].code, s->codes[c].count) < 0)
            return -ENOMEM;
    if (lt_urls_merge(k->urls, s->urls) < 0 || lt_urls_merge(k->vhosts, s->vhosts) < 0)
        return -ENOMEM;
    if (merge_clients(dst, k, s) < 0 || merge_bucket_pairs(dst, k, s) < 0 ||
        merge_durations(&k->durations, s->durations) < 0)
        return -ENOMEM;
    return 0;
}

/* Moves src's bucket s, whose start dst lacks, into dst at index i, as
 * bucket_at() would have made it; returns 0, or 1 when dst keeps no
 * bucket that old (s stays src's), or -ENOMEM. */
static int move_bucket(lt_buckets *dst, size_t i, struct bucket *s)
{
    if (s->start < dst->dropped_before || (dst->n >= dst->max_buckets && i == 0))
        return 1;
    if (room_for_one(dst) < 0)
        return -ENOMEM;
    int advance = s->start > dst->newest;
    if (advance)
        dst->newest = s->start;
    memmove(dst->b + i + 1, dst->b + i, (dst->n - i) * sizeof(*dst->b));
    dst->b[i] = s;
    dst->n++;
    if (s->exact)
        dst->exact_bytes += s->set_bytes;
    dst->pair_bytes += s->pair_bytes;
    if (s->open && s->start < open_from(dst))
        close_bucket(dst, s);
    else if (!s->open && s->exact && s->v4 != NULL && lt_ip4list_trim(s->v4) > 0)
        remeasure(dst, s);    /* closed: trimmed, as closing and merging leave it */
    if (dst->n > dst->max_buckets)
        drop_oldest(dst);
    dst->last = 0;
    if (advance)
        close_old(dst);
    return 0;
}

/* The merge of lt_buckets_merge() and lt_buckets_absorb(): with take
 * set, a bucket of src that dst lacks is moved (its slot in src set to
 * NULL) instead of copied. */
static int merge_into(lt_buckets *dst, lt_buckets *src, int take)
{
    if (dst->conf.width != src->conf.width)
        return -EINVAL;
    take = take && dst->conf.urls == src->conf.urls && dst->conf.vhosts == src->conf.vhosts;
    if (merge_totals(dst, src, take) < 0)
        return -ENOMEM;
    if (src->dropped_before > dst->dropped_before)
        dst->dropped_before = src->dropped_before;
    while (dst->n > 0 && dst->b[0]->start < dst->dropped_before)
        drop_oldest(dst);
    for (size_t i = 0; i < src->n; i++) {
        struct bucket *s = src->b[i];
        int rc;
        if (take) {
            size_t at = lower_bound(dst, s->start);
            if (at >= dst->n || dst->b[at]->start != s->start) {
                if ((rc = move_bucket(dst, at, s)) < 0)
                    return rc;
                if (rc == 0) {
                    src->b[i] = NULL;
                    continue;
                }
            }
        }
        struct bucket *k = bucket_at(dst, s->start, &rc);
        if (k == NULL) {
            if (rc < 0)
                return rc;
            dst->dropped += s->requests;
            continue;
        }
        if ((rc = merge_bucket(dst, k, s)) < 0)
            return rc;
    }
    dst->sketch_tried_at = 0;
    enforce_budget(dst);
    enforce_pair_budget(dst);
    return 0;
}

int lt_buckets_merge(lt_buckets *dst, const lt_buckets *src)
{
    /* With take unset, src is only read. */
    return merge_into(dst, (lt_buckets *)src, 0);
}

int lt_buckets_absorb(lt_buckets *dst, lt_buckets *src)
{
    int rc = merge_into(dst, src, 1);
    /* src keeps its totals and no bucket (the moved ones are NULL). */
    for (size_t i = 0; i < src->n; i++)
        bucket_free(src->b[i]);
    src->n = 0;
    src->last = 0;
    src->exact_bytes = 0;
    src->pair_bytes = 0;
    return rc;
}

/* --- windows ------------------------------------------------------------ */

void lt_window_release(lt_window *w)
{
    free(w->codes);
    lt_urls_free(w->urls);
    lt_urls_free(w->vhosts);
    lt_urls_free(w->vhost_clients);
    lt_hist_free(w->durations);
    w->codes = NULL;
    w->urls = w->vhosts = w->vhost_clients = NULL;
    w->durations = NULL;
}

/* A window's union of its buckets' URL (and virtual host) tables, built
 * as a binary counter carries: rank r holds the union of 2^r tables; a
 * new table merges with rank 0, the result with rank 1, and so on, so
 * each table is merged O(log n) times.  Merged one after the other into
 * one table, every bucket that is not exact (a closed one: Space-Saving)
 * rebuilt that table whole: O(n x union) for n buckets, most of a
 * month's window.  Until something is cut (a union past max), the result
 * is the same: lt_urls_merge()'s rule is a sum. */
#define UNION_RANKS 64

struct table_union {
    lt_urls *rank[UNION_RANKS];
    size_t max;
};

static void union_free(struct table_union *u)
{
    for (int r = 0; r < UNION_RANKS; r++) {
        lt_urls_free(u->rank[r]);
        u->rank[r] = NULL;
    }
}

static int union_add(struct table_union *u, const lt_urls *src)
{
    lt_urls *t = lt_urls_new(u->max);
    if (t == NULL || lt_urls_merge(t, src) < 0)
        goto fail;
    for (int r = 0; r < UNION_RANKS; r++) {
        if (u->rank[r] == NULL) {
            u->rank[r] = t;
            return 0;
        }
        if (lt_urls_merge(u->rank[r], t) < 0)
            goto fail;
        lt_urls_free(t);
        t = u->rank[r];
        u->rank[r] = NULL;
    }
fail:
    lt_urls_free(t);
    return -ENOMEM;
}

/* Replaces *dst (an empty table) by the union, when it has a table.
 * Returns 0 or -ENOMEM. */
static int union_into(struct table_union *u, lt_urls **dst)
{
    lt_urls *top = NULL;
    for (int r = UNION_RANKS; r-- > 0;) {
        if (u->rank[r] == NULL)
            continue;
        if (top == NULL) {
            top = u->rank[r];
        } else {
            if (lt_urls_merge(top, u->rank[r]) < 0) {
                lt_urls_free(top);    /* the ranks left: union_free() */
                return -ENOMEM;
            }
            lt_urls_free(u->rank[r]);
        }
        u->rank[r] = NULL;
    }
    if (top != NULL) {
        lt_urls_free(*dst);
        *dst = top;
    }
    return 0;
}

int lt_buckets_window(const lt_buckets *b, int64_t from, int64_t to, size_t max_urls,
                      lt_window *w)
{
    memset(w, 0, sizeof(*w));
    if (from > to)
        return -EINVAL;
    int64_t width = b->conf.width;
    w->from = from;
    w->to = to;
    w->covered_from = bucket_start(b, from);
    w->covered_to = bucket_start(b, to) + (width - 1);
    w->aligned = w->covered_from == from && w->covered_to == to;
    w->complete = b->dropped_before == INT64_MIN || w->covered_from >= b->dropped_before;
    w->codes = calloc(LT_STATUS_CODES, sizeof(*w->codes));
    w->urls = lt_urls_new(max_urls);
    w->vhosts = lt_urls_new(b->conf.vhosts);
    w->vhost_clients = lt_urls_new(b->conf.vhosts);
    w->durations = lt_hist_new();
    lt_ip4list *v4 = lt_ip4list_new();
    lt_keyset *keys = lt_keyset_new(), *pairs = lt_keyset_new();
    lt_hll *hll[KINDS] = {lt_hll_new(), lt_hll_new(), lt_hll_new()};
    struct bucket sk = {.exact = 0};   /* the sketches of an inexact union */
    struct table_union urls = {.max = 0}, vhosts = {.max = 0};
    size_t first = lower_bound(b, w->covered_from), nlists = 0;
    const lt_ip4list **lists = malloc((b->n > first ? b->n - first : 1) * sizeof(*lists));
    int exact = 1, rc = -ENOMEM;
    if (lists == NULL || w->codes == NULL || w->urls == NULL || w->vhosts == NULL || w->vhost_clients == NULL ||
        w->durations == NULL || v4 == NULL || keys == NULL || pairs == NULL || hll[0] == NULL ||
        hll[1] == NULL || hll[2] == NULL)
        goto fail;
    for (int i = 0; i < KINDS; i++)
        sk.hll[i] = hll[i];

    uint64_t kinds[KINDS] = {0, 0, 0};
    int pairs_known = 1;
    urls.max = max_urls;
    vhosts.max = b->conf.vhosts;
    for (size_t i = first; i < b->n && b->b[i]->start <= to; i++) {
        const struct bucket *k = b->b[i];
        w->buckets++;
        w->requests += k->requests;
        w->bytes += k->bytes;
        w->unparsed += k->unparsed;
        for (size_t m = 0; m < LT_METHODS; m++)
            w->methods[m] += k->methods[m];
        for (uint16_t c = 0; c < k->n_codes; c++)
            w->codes[k->codes[c].code] += k->codes[c].count;
        if (union_add(&urls, k->urls) < 0 || union_add(&vhosts, k->vhosts) < 0 ||
            merge_durations(&w->durations, k->durations) < 0)
            goto fail;
        if (exact && !k->exact) {
            /* The union so far goes into the sketches, and stays there. */
            struct bucket sofar = {.exact = 1, .v4 = v4, .keys = keys};
            if (lt_ip4list_union(v4, lists, nlists) < 0 || clients_into_sketch(&sk, &sofar) < 0)
                goto fail;
            nlists = 0;
            exact = 0;
        }
        if (exact) {
            if (k->v4)
                lists[nlists++] = k->v4;    /* their union is made once, below */
            if (k->keys && lt_keyset_merge(keys, k->keys) < 0)
                goto fail;
        } else if (clients_into_sketch(&sk, k) < 0) {
            goto fail;
        }
        /* Clients per virtual host: the union of the pairs, while every
         * bucket read with a virtual host has its own. */
        if (k->pairs_unknown) {
            pairs_known &= lt_urls_total(k->vhosts) == 0;
        } else if (pairs_known && k->pairs) {
            struct pair_into t = {pairs, w->vhost_clients, 0};
            lt_keyset_foreach(k->pairs, pair_into, &t);
            if (t.rc < 0)
                goto fail;
        }
    }
    if (union_into(&urls, &w->urls) < 0 || union_into(&vhosts, &w->vhosts) < 0)
        goto fail;
    if (!pairs_known) {
        lt_urls_free(w->vhost_clients);
        w->vhost_clients = NULL;
    }
    lt_client_counts *c = &w->clients;
    if (exact) {
        if (lt_ip4list_union(v4, lists, nlists) < 0)
            goto fail;
        lt_keyset_foreach(keys, count_kind, kinds);
        c->ipv4 = lt_ip4list_size(v4);
        c->ipv6 = kinds[KIND_IPV6];
        c->other = kinds[KIND_HOST];
        c->total = c->ipv4 + c->ipv6 + c->other;
        c->exact = 1;
        /* The sketch of the exact union, so that hll_estimate is always
         * what the HyperLogLog says, as in lt_clients_counts(). */
        struct bucket sofar = {.exact = 1, .v4 = v4, .keys = keys};
        if (clients_into_sketch(&sk, &sofar) < 0)
            goto fail;
    } else {
        c->ipv4 = lt_hll_count(hll[KIND_IPV4]);
        c->ipv6 = lt_hll_count(hll[KIND_IPV6]);
        c->other = lt_hll_count(hll[KIND_HOST]);
        c->total = c->ipv4 + c->ipv6 + c->other;
        c->exact = 0;
        c->std_error = LT_HLL_STD_ERROR;
    }
    c->hll_estimate = lt_hll_count(hll[KIND_IPV4]) + lt_hll_count(hll[KIND_IPV6]) +
                      lt_hll_count(hll[KIND_HOST]);
    rc = 0;
fail:
    free(lists);
    union_free(&urls);
    union_free(&vhosts);
    for (int i = 0; i < KINDS; i++)
        lt_hll_free(hll[i]);
    lt_keyset_free(keys);
    lt_keyset_free(pairs);
    lt_ip4list_free(v4);
    if (rc < 0)
        lt_window_release(w);
    return rc;
}

int lt_buckets_code_series(const lt_buckets *b, unsigned code, int64_t from, int64_t to,
                           int64_t step, int (*fn)(int64_t start, uint64_t count, void *arg),
                           void *arg)
{
    if (from > to || code >= LT_STATUS_CODES || step <= 0 || step % b->conf.width != 0)
        return -EINVAL;
    int64_t start = from - ((from % step) + step) % step;
    size_t i = lower_bound(b, start);
    for (int64_t s = start; s <= to; s += step) {
        uint64_t n = 0;
        for (; i < b->n && b->b[i]->start < s + step; i++) {
            const struct bucket *k = b->b[i];
            for (uint16_t c = 0; c < k->n_codes; c++)
                if (k->codes[c].code == code)
                    n += k->codes[c].count;
        }
        int rc = fn(s, n, arg);
        if (rc != 0)
            return rc;
        if (s > INT64_MAX - step)
            break;
    }
    return 0;
}

/* --- memory ------------------------------------------------------------- */

size_t lt_buckets_bytes(const lt_buckets *b, lt_buckets_memory *parts)
{
    lt_buckets_memory m = {0};
    /* Not the scratch key: a tally merged from parts may never have built
     * one, and its bytes must be the single reader's. */
    m.counters = sizeof(*b) + b->cap * sizeof(*b->b);
    m.vhosts = lt_urls_bytes(b->vhosts);
    m.vhost_clients = lt_urls_bytes(b->vhost_clients) + (b->pairs ? lt_keyset_bytes(b->pairs) : 0);
    for (size_t i = 0; i < b->n; i++) {
        const struct bucket *k = b->b[i];
        m.counters += sizeof(*k) + k->cap_codes * sizeof(*k->codes);
        m.client_sets += sets_bytes(k);
        m.vhost_clients += k->pair_bytes;
        for (int j = 0; j < KINDS; j++)
            m.hll += k->hll[j] ? lt_hll_bytes(k->hll[j]) : 0;
        m.urls += lt_urls_bytes(k->urls);
        m.vhosts += lt_urls_bytes(k->vhosts);
        m.durations += k->durations ? lt_hist_bytes(k->durations) : 0;
    }
    if (parts)
        *parts = m;
    return m.counters + m.client_sets + m.hll + m.urls + m.vhosts + m.durations + m.vhost_clients;
}

/* --- writing ------------------------------------------------------------ */

static void put_u16(lt_buf *o, unsigned v)
{
    unsigned char c[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    lt_buf_append(o, c, 2);
}

static void put_u32(lt_buf *o, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    lt_buf_append(o, c, 4);
}

static void put_u64(lt_buf *o, uint64_t v)
{
    put_u32(o, (uint32_t)v);
    put_u32(o, (uint32_t)(v >> 32));
}

static int cmp_code(const void *a, const void *b)
{
    const struct code_count *x = a, *y = b;
    return (x->code > y->code) - (x->code < y->code);
}

static int put_codes_sparse(lt_buf *o, const struct code_count *codes, size_t n)
{
    struct code_count *s = malloc((n ? n : 1) * sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    memcpy(s, codes, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_code);
    put_u16(o, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        put_u16(o, s[i].code);
        put_u64(o, s[i].count);
    }
    free(s);
    return 0;
}

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int cmp_url(const void *a, const void *b)
{
    const lt_url_count *x = a, *y = b;
    return cmp_bytes(x->url, x->len, y->url, y->len);
}

struct collect_urls {
    lt_url_count *e;
    size_t n;
};

static int collect_url(const lt_url_count *e, void *arg)
{
    struct collect_urls *c = arg;
    c->e[c->n++] = *e;
    return 0;
}

static int put_table(lt_buf *o, const lt_urls *u)
{
    size_t n = lt_urls_size(u);
    struct collect_urls c = {malloc((n ? n : 1) * sizeof(lt_url_count)), 0};
    if (c.e == NULL)
        return -ENOMEM;
    lt_urls_foreach(u, collect_url, &c);
    qsort(c.e, c.n, sizeof(*c.e), cmp_url);
    lt_buf_append(o, (unsigned char[]){(unsigned char)lt_urls_exact(u)}, 1);
    put_u64(o, lt_urls_error_bound(u));
    put_u64(o, lt_urls_total(u));
    put_u32(o, (uint32_t)c.n);
    for (size_t i = 0; i < c.n; i++) {
        put_u32(o, (uint32_t)c.e[i].len);
        lt_buf_append(o, c.e[i].url, c.e[i].len);
        put_u64(o, c.e[i].count);
        put_u64(o, c.e[i].error);
    }
    free(c.e);
    return 0;
}

struct key_ref {
    const unsigned char *p;
    size_t len;
};

struct collect_keys {
    struct key_ref *k;
    size_t n;
};

static int collect_key(const void *key, size_t len, void *arg)
{
    struct collect_keys *c = arg;
    c->k[c->n++] = (struct key_ref){key, len};
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    return cmp_bytes(x->p, x->len, y->p, y->len);
}

/* u32 n, then n x (u32 len, bytes), ascending bytes (NULL: an empty set). */
static int put_keys(lt_buf *o, const lt_keyset *s)
{
    size_t nk = s ? (size_t)lt_keyset_size(s) : 0;
    struct collect_keys ck = {malloc((nk ? nk : 1) * sizeof(struct key_ref)), 0};
    if (ck.k == NULL)
        return -ENOMEM;
    if (s)
        lt_keyset_foreach(s, collect_key, &ck);
    qsort(ck.k, ck.n, sizeof(*ck.k), cmp_key);
    put_u32(o, (uint32_t)ck.n);
    for (size_t i = 0; i < ck.n; i++) {
        put_u32(o, (uint32_t)ck.k[i].len);
        lt_buf_append(o, ck.k[i].p, ck.k[i].len);
    }
    free(ck.k);
    return 0;
}

static int put_clients(lt_buf *o, const struct bucket *k)
{
    lt_buf_append(o, (unsigned char[]){(unsigned char)k->exact}, 1);
    if (!k->exact) {
        unsigned char blob[LT_HLL_DENSE_BYTES];
        for (int i = 0; i < KINDS; i++) {
            size_t n = k->hll[i] ? lt_hll_export(k->hll[i], blob) : 0;
            put_u32(o, (uint32_t)n);
            lt_buf_append(o, blob, n);
        }
        return 0;
    }
    /* An open bucket's list may hold repeats, in any order: the copy is
     * ascending and distinct. */
    uint32_t *a4 = NULL;
    size_t n4 = 0;
    if (k->v4 && lt_ip4list_copy(k->v4, &a4, &n4) < 0)
        return -ENOMEM;
    put_u32(o, (uint32_t)n4);
    for (size_t i = 0; i < n4; i++)
        put_u32(o, a4[i]);
    free(a4);
    return put_keys(o, k->keys);
}

int lt_buckets_write(lt_buf *o, const lt_buckets *b)
{
    put_u64(o, (uint64_t)b->conf.width);
    put_u64(o, (uint64_t)b->dropped_before);
    put_u64(o, b->dropped);
    for (size_t m = 0; m < LT_METHODS; m++)
        put_u64(o, b->methods[m]);
    for (size_t c = 0; c < LT_STATUS_CLASSES; c++)
        for (size_t m = 0; m < LT_METHODS; m++)
            put_u64(o, b->class_methods[c][m]);
    struct code_count all[LT_STATUS_CODES];
    size_t n = 0;
    for (unsigned c = 0; c < LT_STATUS_CODES; c++)
        if (b->codes[c])
            all[n++] = (struct code_count){(uint16_t)c, b->codes[c]};
    if (put_codes_sparse(o, all, n) < 0 || put_table(o, b->vhosts) < 0)
        return -ENOMEM;
    put_u32(o, (uint32_t)b->n);
    for (size_t i = 0; i < b->n; i++) {
        const struct bucket *k = b->b[i];
        put_u64(o, (uint64_t)k->start);
        put_u64(o, k->requests);
        put_u64(o, k->bytes);
        put_u64(o, k->unparsed);
        for (size_t m = 0; m < LT_METHODS; m++)
            put_u64(o, k->methods[m]);
        if (put_codes_sparse(o, k->codes, k->n_codes) < 0 || put_clients(o, k) < 0 ||
            put_table(o, k->urls) < 0 || put_table(o, k->vhosts) < 0)
            return -ENOMEM;
    }
    /* The response times come after every bucket, so that a section of
     * snapshot version 2, which ends at the last bucket, reads as buckets
     * without them. */
    lt_hist *none = lt_hist_new();
    if (none == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->n; i++)
        lt_hist_write(o, b->b[i]->durations ? b->b[i]->durations : none);
    lt_hist_free(none);
    /* Then, from version 4, the virtual hosts' clients, last for the same
     * reason. */
    lt_buf_append(o, (unsigned char[]){(unsigned char)!b->pairs_lost}, 1);
    if (!b->pairs_lost && (put_keys(o, b->pairs) < 0 || put_table(o, b->vhost_clients) < 0))
        return -ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        const struct bucket *k = b->b[i];
        int known = !k->pairs_unknown;
        lt_buf_append(o, (unsigned char[]){(unsigned char)known}, 1);
        if (known && put_keys(o, k->pairs) < 0)
            return -ENOMEM;
    }
    return lt_buf_failed(o) ? -ENOMEM : 0;
}

/* --- reading ------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *p;
    size_t len, off;
    char *err;
    size_t errlen;
    int failed;
} reader;

static int bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(reader *r, const char *fmt, ...)
{
    if (!r->failed && r->errlen > 0) {
        int n = snprintf(r->err, r->errlen, "byte %zu: ", r->off);
        if (n >= 0 && (size_t)n < r->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    r->failed = 1;
    return -EINVAL;
}

static int need(reader *r, size_t n)
{
    if (r->failed)
        return -EINVAL;
    return r->len - r->off < n ? bad(r, "buckets section cut short") : 0;
}

static uint64_t get_n(reader *r, int bytes)
{
    if (need(r, (size_t)bytes) < 0)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}

static int get_codes(reader *r, uint64_t *dense, struct bucket *k, uint64_t *sum)
{
    size_t n = (size_t)get_n(r, 2);
    if (r->failed || n > LT_STATUS_CODES || need(r, n * 10) < 0)
        return bad(r, "bad status code count");
    long prev = -1;
    *sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned code = (unsigned)get_n(r, 2);
        uint64_t count = get_n(r, 8);
        if ((long)code <= prev || code >= LT_STATUS_CODES || count == 0)
            return bad(r, "status codes must ascend, be below 1000 and count at least 1");
        prev = code;
        *sum += count;
        if (dense)
            dense[code] = count;
        else if (add_code(k, code, count) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int get_table(reader *r, lt_urls *u)
{
    unsigned exact = (unsigned)get_n(r, 1);
    uint64_t bound = get_n(r, 8), total = get_n(r, 8);
    size_t n = (size_t)get_n(r, 4);
    if (r->failed)
        return -EINVAL;
    if (exact > 1 || n > r->len - r->off || (exact && bound != 0))
        return bad(r, "bad table header");
    lt_url_count *e = exact ? NULL : malloc((n ? n : 1) * sizeof(*e));
    if (!exact && e == NULL)
        return -ENOMEM;
    const unsigned char *prev = NULL;
    size_t prev_len = 0;
    uint64_t sum = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = (size_t)get_n(r, 4);
        if (need(r, len) < 0) {
            rc = -EINVAL;
            break;
        }
        const unsigned char *key = r->p + r->off;
        r->off += len;
        uint64_t count = get_n(r, 8), error = get_n(r, 8);
        if (r->failed || count == 0 || error > count || (exact && error != 0) ||
            (prev != NULL && cmp_bytes(prev, prev_len, key, len) >= 0)) {
            rc = bad(r, "table entry %zu is out of order or its counts are impossible", i);
            break;
        }
        prev = key;
        prev_len = len;
        sum += count;
        if (exact)
            rc = lt_urls_add(u, (const char *)key, len, count);
        else
            e[i] = (lt_url_count){(const char *)key, len, count, error};
    }
    if (rc == 0 && exact && sum != total)
        rc = bad(r, "table counts add up to %llu, not %llu", (unsigned long long)sum,
                 (unsigned long long)total);
    if (rc == 0 && exact && !lt_urls_exact(u))
        rc = bad(r, "an exact table holds more entries than the limit");
    if (rc == 0 && !exact) {
        rc = lt_urls_restore(u, e, n, bound, total);
        if (rc == -EINVAL)
            rc = bad(r, "the top-k table does not fit the limit or its bound");
    }
    free(e);
    return rc;
}

/* A client key: a tagged IPv6 address or host. */
static int client_key_ok(const unsigned char *key, size_t len, void *arg)
{
    (void)arg;
    return len >= 1 && (key[0] == TAG_IPV6 ? len == 17 : key[0] == TAG_HOST);
}

/* A pair key: a host and a client's tagged key (pair_key()). */
static int pair_key_ok(const unsigned char *key, size_t len, void *arg)
{
    (void)arg;
    size_t hl = 0, tail = 0;
    if (len >= 4) {
        pair_vhost(key, &hl);
        tail = hl < len - 4 ? len - 4 - hl : 0;
    }
    const unsigned char *t = key + 4 + hl;
    return tail > 0 && (t[0] != TAG_IPV4 || tail == 5) && (t[0] != TAG_IPV6 || tail == 17) &&
           (t[0] != TAG_HOST || tail >= 2) &&
           (t[0] == TAG_IPV4 || t[0] == TAG_IPV6 || t[0] == TAG_HOST);
}

/* Keys written by put_keys(), each of at least min_len bytes (with its
 * u32 length, min_len + 4 in the section) and accepted by ok(key, len,
 * arg), ascending, into a new *out (left NULL when there are none). */
static int get_keys(reader *r, size_t min_len, int (*ok)(const unsigned char *, size_t, void *),
                    const char *what, void *arg, lt_keyset **out, uint64_t *count)
{
    size_t n = (size_t)get_n(r, 4);
    *count = n;
    if (r->failed || n > (r->len - r->off) / (min_len + 4))
        return bad(r, "bad count of %s keys", what);
    if (n > 0 && (*out = lt_keyset_new()) == NULL)
        return -ENOMEM;
    const unsigned char *prev = NULL;
    size_t prev_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)get_n(r, 4);
        if (need(r, len) < 0)
            return -EINVAL;
        const unsigned char *key = r->p + r->off;
        if (!ok(key, len, arg) || (prev != NULL && cmp_bytes(prev, prev_len, key, len) >= 0))
            return bad(r, "key %zu is not %s, or out of order", i, what);
        r->off += len;
        prev = key;
        prev_len = len;
        if (lt_keyset_add(*out, key, len) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int get_clients(reader *r, lt_buckets *b, struct bucket *k)
{
    unsigned exact = (unsigned)get_n(r, 1);
    if (r->failed || exact > 1)
        return bad(r, "bad clients flag");
    k->exact = (int)exact;
    if (!exact) {
        for (int i = 0; i < KINDS; i++) {
            size_t len = (size_t)get_n(r, 4);
            if (need(r, len) < 0)
                return -EINVAL;
            if (len == 0)
                continue;
            if ((k->hll[i] = lt_hll_new()) == NULL)
                return -ENOMEM;
            char why[128];
            if (lt_hll_import(k->hll[i], r->p + r->off, len, why, sizeof(why)) < 0)
                return bad(r, "%s", why);
            r->off += len;
        }
        return 0;
    }
    size_t n4 = (size_t)get_n(r, 4);
    if (r->failed || n4 > (r->len - r->off) / 4)
        return bad(r, "bad IPv4 client count");
    if (n4 > 0 && (k->v4 = lt_ip4list_new()) == NULL)
        return -ENOMEM;
    int64_t prev = -1;
    for (size_t i = 0; i < n4; i++) {
        uint32_t a = (uint32_t)get_n(r, 4);
        if ((int64_t)a <= prev)
            return bad(r, "IPv4 clients must ascend");
        prev = a;
        if (lt_ip4list_add(k->v4, a) < 0)   /* ascending: stays compact */
            return -ENOMEM;
    }
    uint64_t nk;
    int rc = get_keys(r, 1, client_key_ok, "a tagged IPv6 or host", NULL, &k->keys, &nk);
    if (rc < 0)
        return rc;
    remeasure(b, k);
    return 0;
}

#define PAIR "a virtual host and a tagged client"

/* The virtual hosts' clients (version 4), or, in an older section, the
 * mark that they are unknown wherever a virtual host was counted. */
static int get_vhost_clients(reader *r, lt_buckets *b)
{
    if (r->off == r->len) {
        b->pairs_lost = lt_urls_total(b->vhosts) > 0;
        for (size_t i = 0; i < b->n; i++)
            b->b[i]->pairs_unknown = lt_urls_total(b->b[i]->vhosts) > 0;
        return 0;
    }
    unsigned known = (unsigned)get_n(r, 1);
    uint64_t n;
    int rc;
    if (r->failed || known > 1)
        return bad(r, "bad virtual host clients flag");
    b->pairs_lost = !known;
    if (known) {
        if ((rc = get_keys(r, 6, pair_key_ok, PAIR, NULL, &b->pairs, &n)) < 0 || (rc = get_table(r, b->vhost_clients)) < 0)
            return rc;
        if (lt_urls_total(b->vhost_clients) != n)
            return bad(r, "clients per virtual host add up to %llu, not the %llu pairs",
                       (unsigned long long)lt_urls_total(b->vhost_clients), (unsigned long long)n);
        if (b->pairs != NULL)
            lt_keyset_set_limit(b->pairs, b->conf.clients_bytes);
    }
    for (size_t i = 0; i < b->n; i++) {
        struct bucket *k = b->b[i];
        known = (unsigned)get_n(r, 1);
        if (r->failed || known > 1)
            return bad(r, "bucket %lld: bad virtual host clients flag", (long long)k->start);
        k->pairs_unknown = !known;
        if (known) {
            if ((rc = get_keys(r, 6, pair_key_ok, PAIR, NULL, &k->pairs, &n)) < 0)
                return rc;
            k->pair_bytes = k->pairs ? lt_keyset_bytes(k->pairs) : 0;
            b->pair_bytes += k->pair_bytes;
        }
    }
    return 0;
}

int lt_buckets_read(const void *data, size_t len, const lt_buckets_conf *conf, lt_buckets **out,
                    char *err, size_t errlen)
{
    reader r = {data, len, 0, err, errlen, 0};
    lt_buckets *b = lt_buckets_new(conf);
    int rc = -ENOMEM;
    *out = NULL;
    if (b == NULL)
        goto fail;
    uint64_t width = get_n(&r, 8);
    if (!r.failed && width != (uint64_t)b->conf.width) {
        rc = bad(&r, "bucket width %llu s is not the configured %lld s", (unsigned long long)width,
                 (long long)b->conf.width);
        goto fail;
    }
    /* Times far from any log's (which lie in years 1970..9999) are refused,
     * so that no bucket arithmetic can overflow. */
    const int64_t far = (int64_t)1 << 62;
    b->dropped_before = (int64_t)get_n(&r, 8);
    b->dropped = get_n(&r, 8);
    if (!r.failed && b->dropped_before != INT64_MIN &&
        (b->dropped_before < -far || b->dropped_before > far)) {
        rc = bad(&r, "the retention edge is out of range");
        goto fail;
    }
    uint64_t method_sum = 0, code_sum = 0;
    for (size_t m = 0; m < LT_METHODS; m++)
        method_sum += b->methods[m] = get_n(&r, 8);
    for (size_t c = 0; c < LT_STATUS_CLASSES; c++)
        for (size_t m = 0; m < LT_METHODS; m++)
            b->class_methods[c][m] = get_n(&r, 8);
    for (size_t m = 0; m < LT_METHODS && !r.failed; m++) {
        uint64_t sum = 0;
        for (size_t c = 0; c < LT_STATUS_CLASSES; c++)
            sum += b->class_methods[c][m];
        if (sum != b->methods[m]) {
            rc = bad(&r, "requests by class and method do not add up to the method's");
            goto fail;
        }
    }
    if ((rc = get_codes(&r, b->codes, NULL, &code_sum)) < 0 || (rc = get_table(&r, b->vhosts)) < 0)
        goto fail;
    if (method_sum != code_sum) {
        rc = bad(&r, "requests by method (%llu) and by status (%llu) differ",
                 (unsigned long long)method_sum, (unsigned long long)code_sum);
        goto fail;
    }
    size_t n = (size_t)get_n(&r, 4);
    if (r.failed || n > (r.len - r.off) / 64) {
        rc = bad(&r, "bad bucket count");
        goto fail;
    }
    uint64_t in_buckets = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t start = (int64_t)get_n(&r, 8);
        if (r.failed || start < -far || start > far || bucket_start(b, start) != start ||
            (b->n > 0 && start <= b->b[b->n - 1]->start) ||
            (b->dropped_before != INT64_MIN && start < b->dropped_before)) {
            rc = bad(&r, "bucket start %lld is not aligned, ascending and retained",
                     (long long)start);
            goto fail;
        }
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            struct bucket **nb = realloc(b->b, cap * sizeof(*nb));
            if (nb == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            b->b = nb;
            b->cap = cap;
        }
        struct bucket *k = bucket_new(b, start, 1);
        if (k == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        b->b[b->n++] = k;
        b->newest = start;
        k->requests = get_n(&r, 8);
        k->bytes = get_n(&r, 8);
        k->unparsed = get_n(&r, 8);
        uint64_t msum = 0, csum = 0;
        for (size_t m = 0; m < LT_METHODS; m++)
            msum += k->methods[m] = get_n(&r, 8);
        if ((rc = get_codes(&r, NULL, k, &csum)) < 0)
            goto fail;
        if (msum != k->requests || csum != k->requests || k->unparsed > k->requests) {
            rc = bad(&r, "bucket %lld: requests by method and by status do not add up",
                     (long long)start);
            goto fail;
        }
        in_buckets += k->requests;
        if ((rc = get_clients(&r, b, k)) < 0 || (rc = get_table(&r, k->urls)) < 0 ||
            (rc = get_table(&r, k->vhosts)) < 0)
            goto fail;
        if (lt_urls_total(k->urls) != k->requests - k->unparsed) {
            rc = bad(&r, "bucket %lld: URL hits do not add up to its requests",
                     (long long)start);
            goto fail;
        }
    }
    /* Either every bucket's response times follow, or none (version 2). */
    for (size_t i = 0; r.off < r.len && i < b->n; i++) {
        struct bucket *k = b->b[i];
        size_t used;
        rc = lt_hist_read(r.p + r.off, r.len - r.off, &used, &k->durations);
        if (rc == -ENOMEM)
            goto fail;
        if (rc < 0 || lt_hist_count(k->durations) > k->requests) {
            rc = bad(&r, "bucket %lld: a damaged response time histogram", (long long)k->start);
            goto fail;
        }
        r.off += used;
        if (r.off == r.len && i + 1 < b->n) {
            rc = bad(&r, "response times of %zu buckets of %zu", i + 1, b->n);
            goto fail;
        }
        if (lt_hist_count(k->durations) == 0) {
            lt_hist_free(k->durations);
            k->durations = NULL;
        }
    }
    if ((rc = get_vhost_clients(&r, b)) < 0)
        goto fail;
    if (r.off != r.len) {
        rc = bad(&r, "%zu bytes after the last bucket", r.len - r.off);
        goto fail;
    }
    if (in_buckets + b->dropped > code_sum) {
        rc = bad(&r, "the buckets hold more requests than the totals");
        goto fail;
    }
    /* A smaller retention or budget than the writer's applies now. */
    while (b->n > b->max_buckets)
        drop_oldest(b);
    enforce_budget(b);
    enforce_pair_budget(b);
    close_old(b);
    *out = b;
    return 0;
fail:
    if (rc == -ENOMEM && errlen > 0)
        snprintf(err, errlen, "out of memory");
    lt_buckets_free(b);
    return rc;
}
