/* tally.h -- everything counted about a stream of log lines. */
#ifndef LT_TALLY_H
#define LT_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "buckets.h"
#include "clients.h"
#include "hist.h"
#include "parse.h"
#include "rps.h"
#include "scan.h"
#include "urls.h"

typedef struct lt_limits {
    size_t exact_clients_bytes;   /* budget of the exact client sets */
    size_t url_entries;           /* URLs counted exactly before top-k */
    int strip_query;              /* count "/a?x=1" as "/a" */
    lt_buckets_conf buckets;      /* time buckets (zero fields: the defaults) */
    size_t rps_bytes;             /* per-second table, 0 for no cap; past it
                                     the oldest hours count per minute
                                     (lt_rps_set_limit()) */
} lt_limits;

#define LT_DEFAULT_EXACT_CLIENTS_BYTES ((size_t)256 << 20)
#define LT_DEFAULT_URL_ENTRIES 1000000
#define LT_DEFAULT_RPS_BYTES ((size_t)128 << 20)

/* A malformed line kept for inspection: its first bytes, raw. */
#define LT_SAMPLES 5
#define LT_SAMPLE_BYTES 200

typedef struct lt_sample {
    uint32_t source;              /* caller's index of the file */
    uint64_t line;                /* 1-based line number in that file */
    int reason;                   /* an LT_PARSE_ code */
    size_t len;                   /* bytes in text */
    char text[LT_SAMPLE_BYTES];
} lt_sample;

typedef struct lt_counters {
    uint64_t lines;               /* every line read, empty ones included */
    uint64_t valid;               /* lines that parsed: the requests */
    uint64_t malformed;           /* lines == valid + malformed */
    uint64_t unparsed_requests;   /* valid lines with no readable request target */
    uint64_t bytes;               /* sum of response sizes */
    uint64_t non_http_requests;   /* unparsed requests that are not HTTP (parse.h) */
} lt_counters;

typedef struct lt_tally lt_tally;

/* Returns a new empty tally, or NULL when out of memory. */
lt_tally *lt_tally_new(const lt_limits *limits);
void lt_tally_free(lt_tally *t);        /* NULL is a no-op */

/* Parses one line (without '\n') with p and counts it: as a request when
 * valid, as malformed otherwise (with a sample).  source and line number
 * only label the sample.  Returns LT_PARSE_OK or the LT_PARSE_ reason the
 * line is malformed (both counted), or -ENOMEM when a table could not grow:
 * the line may then be partly counted, and the caller must give up on the
 * tally (report the error, not the numbers). */
int lt_tally_line(lt_tally *t, lt_parser *p, const char *line, size_t len, uint32_t source,
                  uint64_t lineno);

/* Counts n lines (at most LT_SCAN_BATCH) exactly as lt_tally_line() on each
 * (lt_tally_overlong() on an overlong one) would, numbered first_lineno,
 * first_lineno + 1, ..., but in two passes: every line is parsed and the
 * table slots it will touch are prefetched, then all are counted, so the
 * cache misses of the n lines overlap.  Returns 0 or -ENOMEM, as
 * lt_tally_line() (malformed lines are counted, not returned). */
int lt_tally_lines(lt_tally *t, lt_parser *p, const lt_line *lines, size_t n, uint32_t source,
                   uint64_t first_lineno);

/* Counts a line longer than LT_LINE_MAX as malformed; head holds its first
 * len bytes, kept as the sample. */
void lt_tally_overlong(lt_tally *t, const char *head, size_t len, uint32_t source,
                       uint64_t lineno);

/* Adds delta to the line numbers of the kept samples from source: a
 * reader that numbered lines from the start of its part of a file fixes
 * them up once it knows how many lines came before. */
void lt_tally_shift_lines(lt_tally *t, uint32_t source, uint64_t delta);

/* Adds src into dst (as if dst had read src's lines after its own; samples
 * keep the most recent of dst's then src's).  Returns 0 or -ENOMEM. */
int lt_tally_merge(lt_tally *dst, const lt_tally *src);
/* lt_tally_merge() of a src that is no longer needed: parts of src that
 * dst lacks, such as the time buckets of a new hour, are moved instead of
 * copied, and so is all of src when dst has counted nothing yet under the
 * same limits.  src is left fit only for lt_tally_free(), which the caller
 * calls (also on failure). */
int lt_tally_absorb(lt_tally *dst, lt_tally *src);

/* Parallel readers of one file: the owner's IPv4 client set is shared
 * with up to `readers` partial tallies, each of which borrows it with its
 * own reader index, so that its addresses are added once, not once per
 * partial and again at the merge (see clients.c).  Partials are merged and
 * freed before lt_tally_unshare_clients(owner).  Returns 0 or -ENOMEM. */
int lt_tally_share_clients(lt_tally *t, unsigned readers);
void lt_tally_borrow_clients(lt_tally *partial, lt_tally *owner, unsigned reader);
void lt_tally_unshare_clients(lt_tally *t);

/* A parallel reader's URL table that outlives its partial tallies: the
 * partial counts its URLs into urls, which it does not own (nor reads once
 * its lines are counted), and lt_tally_merge() of the partial leaves them
 * out; the reader hands urls to the owner once, with lt_tally_merge_urls(),
 * which takes it (also on failure) and returns 0 or -ENOMEM.  While the
 * tables are exact the sums are the same in any order.  urls NULL gives
 * the borrowed table back (the partial then counts no more URLs). */
void lt_tally_borrow_urls(lt_tally *partial, lt_urls *urls);
int lt_tally_merge_urls(lt_tally *t, lt_urls *urls);

/* A tally made of parts (the snapshot reader's), taking ownership of
 * clients, urls and rps, also on failure; samples (n <= LT_SAMPLES, oldest
 * first) are copied.  Returns NULL when out of memory. */
lt_tally *lt_tally_from_parts(const lt_limits *limits, const lt_counters *n, lt_clients *clients,
                              lt_urls *urls, lt_rps *rps, const lt_sample *samples,
                              size_t n_samples);

const lt_counters *lt_tally_counters(const lt_tally *t);
const lt_clients *lt_tally_clients(const lt_tally *t);
const lt_urls *lt_tally_urls(const lt_tally *t);
const lt_rps *lt_tally_rps(const lt_tally *t);
const lt_limits *lt_tally_limits(const lt_tally *t);
/* Response times of the valid lines that logged one (microseconds). */
const lt_hist *lt_tally_durations(const lt_tally *t);
/* Replaces the tally's response times by h, which it takes (a snapshot
 * reader's); h may not be NULL. */
void lt_tally_set_durations(lt_tally *t, lt_hist *h);

/* The time buckets (lib/buckets.h): status codes, methods, clients, URLs
 * and virtual hosts per bucket, and the all-time status, method and vhost
 * totals. */
const lt_buckets *lt_tally_buckets(const lt_tally *t);

/* Status classes with a per-second table of their own: 1xx, 3xx, 4xx, 5xx
 * and "other" (0xx, 6xx..9xx).  2xx, the bulk of most logs, has none: it
 * is the total less the others, which saves a second table update on most
 * lines. */
enum { LT_CLASS_1XX, LT_CLASS_3XX, LT_CLASS_4XX, LT_CLASS_5XX, LT_CLASS_OTHER, LT_CLASSES };
/* The class table of a status (-1 for 2xx). */
int lt_tally_status_class(unsigned status);
/* The per-second table of class c (an LT_CLASS_ value). */
const lt_rps *lt_tally_class_rps(const lt_tally *t, int c);

/* Replaces t's buckets and class tables with these (the snapshot reader's),
 * taking ownership of all of them, also on failure (NULL entries of
 * class_rps become empty tables).  Returns 0 or -ENOMEM. */
int lt_tally_set_windows(lt_tally *t, lt_buckets *buckets, lt_rps *class_rps[LT_CLASSES]);

/* Bytes of memory the tally holds: its client sets and sketches, URL
 * table, seconds and buckets. */
size_t lt_tally_bytes(const lt_tally *t);

/* Copies the kept samples into out, oldest first; returns how many. */
size_t lt_tally_samples(const lt_tally *t, lt_sample out[LT_SAMPLES]);

#endif
