/* buckets.h -- what happened in each stretch of time: aggregates per bucket.
 *
 * Requests are counted per UTC-aligned bucket of a fixed width (1 minute to
 * 1 day): by status code and class, by method, bytes, distinct clients
 * (exact sets while a budget allows, then HyperLogLogs), hot URLs and
 * virtual hosts (bounded Space-Saving tables), and distinct clients per
 * virtual host (exact sets of (host, client) pairs, under the same budget).  Any range of buckets merges
 * into one answer that says whether its clients and URLs are exact, and
 * their error bound when not.  See buckets.c for the design. */
#ifndef LT_BUCKETS_H
#define LT_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clients.h"
#include "hist.h"
#include "parse.h"
#include "urls.h"

/* One hour: the month the README sizes (720 buckets) fits in tens of MiB,
 * the per-second table answers counts at any finer edge, and an hour is
 * the window operators name most ("between 10:00 and 11:00"). */
#define LT_BUCKETS_DEFAULT_WIDTH 3600
#define LT_BUCKETS_DEFAULT_RETENTION (31 * 86400)
#define LT_BUCKETS_DEFAULT_CLIENTS_BYTES ((size_t)64 << 20)
#define LT_BUCKETS_DEFAULT_URLS 1000
#define LT_BUCKETS_DEFAULT_VHOSTS 1000
/* URLs the two newest buckets count exactly before they close (buckets.c). */
#define LT_BUCKETS_OPEN_URLS 65536

typedef struct lt_buckets_conf {
    int64_t width;          /* seconds; divides 86400, 60..86400 (0: default) */
    int64_t retention;      /* seconds of buckets kept (0: default) */
    size_t clients_bytes;   /* exact client sets of all buckets together (0: default) */
    size_t urls;            /* Space-Saving counters per bucket (0: default) */
    size_t vhosts;          /* virtual-host counters per bucket and all time (0: default) */
    int totals_only;        /* keep the all-time totals only, no buckets (a report of
                               all time that no window will be asked of) */
} lt_buckets_conf;

/* Request methods counted by name; any other token is "other", a request
 * field without a METHOD TARGET shape "none". */
enum {
    LT_METHOD_GET, LT_METHOD_HEAD, LT_METHOD_POST, LT_METHOD_PUT, LT_METHOD_DELETE,
    LT_METHOD_PATCH, LT_METHOD_OPTIONS, LT_METHOD_CONNECT, LT_METHOD_TRACE,
    LT_METHOD_OTHER, LT_METHOD_NONE,
    LT_METHODS
};
/* "GET", ..., "other", "none". */
const char *lt_buckets_method_name(unsigned m);
/* The LT_METHOD_ index of the len bytes at s (NULL: LT_METHOD_NONE). */
unsigned lt_buckets_method(const char *s, size_t len);

#define LT_STATUS_CODES 1000   /* a status is 0..999 (three digits) */

typedef struct lt_buckets lt_buckets;

/* Returns new empty buckets (conf NULL or zero fields: the defaults), or
 * NULL when out of memory or when conf is out of range (see
 * lt_buckets_conf_check()). */
lt_buckets *lt_buckets_new(const lt_buckets_conf *conf);
void lt_buckets_free(lt_buckets *b);    /* NULL is a no-op */

/* Fills zero fields of conf with the defaults and checks the rest: returns
 * 0, or -EINVAL with a reason in err. */
int lt_buckets_conf_check(lt_buckets_conf *conf, char *err, size_t errlen);
const lt_buckets_conf *lt_buckets_get_conf(const lt_buckets *b);

/* Counts a valid record: url (url_len bytes hashing to url_hash with
 * lt_urls_hash(), NULL for a request without one) as counted after any
 * query stripping.  client_seen is 1 when rec's client is known to be in
 * its bucket already: an IPv4 address that the tally's stamped all-time
 * set held with lt_buckets_stamp(b, rec->ts) (lt_clients_add() says so);
 * 0 when not or not known.  A record older than every retained bucket
 * while the buckets are full counts in the totals only.  Returns 0 or
 * -ENOMEM (the record may then be partly counted). */
int lt_buckets_add(lt_buckets *b, const lt_record *rec, const char *url, size_t url_len,
                   uint64_t url_hash, int client_seen);

/* The stamp of the bucket of time ts: nonzero and different for every
 * bucket while buckets are kept, else 0 (none).  See "Stamps" in ip4set.c:
 * an IPv4 address stamped so in the tally's all-time set is in that
 * bucket, so lt_buckets_add() needs no lookup of its own. */
uint32_t lt_buckets_stamp(lt_buckets *b, int64_t ts);

/* A hint, changing nothing: lt_buckets_add() of this valid record is
 * coming (url_hash as it will be given), so start loading the slots of its
 * bucket's tables it will read first (second = 0), or, once those have had
 * time to arrive, the URL record they point at (second = 1).  Only the
 * bucket of the previous record is looked at. */
void lt_buckets_prefetch(const lt_buckets *b, const lt_record *rec, uint64_t url_hash,
                         int second);

/* Adds src into dst, bucket by bucket (widths must be equal: -EINVAL
 * otherwise).  Returns 0, -EINVAL or -ENOMEM. */
int lt_buckets_merge(lt_buckets *dst, const lt_buckets *src);

/* lt_buckets_merge() of a src that is about to be freed: a bucket dst
 * lacks is moved into it instead of copied (a reader's part of a log that
 * reaches a new hour costs a pointer, not a merge of its client sets and
 * URLs).  src is left with its totals and no bucket.  Same returns. */
int lt_buckets_absorb(lt_buckets *dst, lt_buckets *src);

/* Adds only src's all-time totals (codes, methods, vhosts) into dst, and
 * src's bucketed requests to dst's dropped ones: the way to keep the
 * totals of buckets of another width.  Returns 0 or -ENOMEM. */
int lt_buckets_merge_totals(lt_buckets *dst, const lt_buckets *src);

/* The answer for a range of time. */
typedef struct lt_window {
    int64_t from, to;                /* asked, inclusive seconds */
    int64_t covered_from, covered_to;/* the buckets read: from the first one's start to the
                                        last one's end, inclusive; equal to from/to when
                                        the range falls on bucket edges */
    int aligned;                     /* 1 when from and to fall on bucket edges */
    int complete;                    /* 0 when buckets of the range were dropped (retention) */
    size_t buckets;                  /* buckets with requests in the range */
    uint64_t requests, bytes, unparsed;
    uint64_t methods[LT_METHODS];
    uint64_t *codes;                 /* LT_STATUS_CODES counts, owned */
    lt_client_counts clients;
    lt_urls *urls;                   /* hot URLs of the range, owned */
    lt_urls *vhosts;                 /* requests per virtual host, owned */
    lt_urls *vhost_clients;          /* distinct clients per virtual host, owned; NULL when
                                        a bucket read lost them (sketched clients) */
    lt_hist *durations;              /* response times of the buckets read, owned */
} lt_window;

/* Merges the buckets that overlap [from, to] into w, the URLs into a table
 * of at most max_urls entries (exact while the union fits and every bucket
 * was exact).  Returns 0, -EINVAL (from > to) or -ENOMEM (w is then
 * released). */
int lt_buckets_window(const lt_buckets *b, int64_t from, int64_t to, size_t max_urls,
                      lt_window *w);
void lt_window_release(lt_window *w);   /* frees what lt_buckets_window() allocated */

/* The series of one status code over [from, to] at step seconds (a
 * multiple of the bucket width): one call of fn(start, count, arg) per
 * step from from rounded down to a multiple of step, through the step
 * holding to, empty ones included, in time order; each step counts its
 * whole buckets.  A non-zero return of fn stops the walk and is returned.
 * Returns -EINVAL when from > to, code >= LT_STATUS_CODES or step is not a
 * positive multiple of the width. */
int lt_buckets_code_series(const lt_buckets *b, unsigned code, int64_t from, int64_t to,
                           int64_t step, int (*fn)(int64_t start, uint64_t count, void *arg),
                           void *arg);

/* The totals since the first record, never dropped by retention: requests
 * by status code and method, and the all-time virtual-host table. */
const uint64_t *lt_buckets_codes(const lt_buckets *b);      /* LT_STATUS_CODES entries */
const uint64_t *lt_buckets_methods(const lt_buckets *b);    /* LT_METHODS entries */
const lt_urls *lt_buckets_vhosts(const lt_buckets *b);
/* Distinct clients per virtual host since the first record (a table of
 * the same bound as the vhosts'), or NULL once the (host, client) pairs
 * passed conf.clients_bytes or came from a snapshot without them. */
const lt_urls *lt_buckets_vhost_clients(const lt_buckets *b);
/* Status classes: 1xx..5xx, then "other" (0xx and 6xx..9xx). */
#define LT_STATUS_CLASSES 6
unsigned lt_buckets_status_class(unsigned status);   /* 0..5 */
/* All-time requests of a status class and a method (for labels that sum). */
uint64_t lt_buckets_class_method(const lt_buckets *b, unsigned status_class, unsigned method);
/* Requests that came before every retained bucket (counted in the totals,
 * in no bucket). */
uint64_t lt_buckets_dropped(const lt_buckets *b);
/* Retained buckets, and the span they cover; false when there are none. */
size_t lt_buckets_count(const lt_buckets *b);
bool lt_buckets_span(const lt_buckets *b, int64_t *first_start, int64_t *last_end);

/* Bytes of memory held, in total and by part. */
typedef struct lt_buckets_memory {
    size_t counters, client_sets, hll, urls, vhosts, durations;
    size_t vhost_clients;   /* the (host, client) pairs, all time and per bucket */
} lt_buckets_memory;
size_t lt_buckets_bytes(const lt_buckets *b, lt_buckets_memory *parts);   /* parts may be NULL */

/* Appends the buckets to out in the layout of buckets.c (the snapshot's
 * buckets section; sorted, so equal buckets give equal bytes).  Returns 0
 * or -ENOMEM. */
int lt_buckets_write(lt_buf *out, const lt_buckets *b);
/* Reads len bytes written by lt_buckets_write() into new buckets with conf
 * (the width must match the data's; other limits may differ).  Every count
 * is checked against the bytes left before anything is allocated for it.
 * Returns 0 with *out, or -EINVAL with "byte N: what" in err, or -ENOMEM. */
int lt_buckets_read(const void *data, size_t len, const lt_buckets_conf *conf, lt_buckets **out,
                    char *err, size_t errlen);

#endif
