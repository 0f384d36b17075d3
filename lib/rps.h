/* rps.h -- requests per UTC second, sparse over any time span.
 *
 * Seconds are grouped into aligned blocks of LT_RPS_BLOCK seconds; only
 * blocks that saw a request exist, and a block holds a short list of its
 * active seconds until it has many (then a dense array of counters), so a
 * table costs about 8 bytes per active second up to 14.4 KB per busy hour.
 * Seconds may arrive in any order. */
#ifndef LT_RPS_H
#define LT_RPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_RPS_BLOCK 3600   /* one UTC hour per block */

typedef struct lt_rps lt_rps;

typedef enum lt_rps_step {
    LT_RPS_STEP_SECOND = 1,
    LT_RPS_STEP_MINUTE = 60,
    LT_RPS_STEP_HOUR = 3600,
    LT_RPS_STEP_DAY = 86400,
} lt_rps_step;

lt_rps *lt_rps_new(void);
void lt_rps_free(lt_rps *r);           /* NULL is a no-op */

/* Adds count requests at the UTC epoch second (any int64_t).  A count of 0
 * changes nothing.  Per-second counts never wrap: a block whose second
 * would pass UINT32_MAX switches to 64-bit counters.  Returns 0 or -ENOMEM
 * (the table is then unchanged). */
int lt_rps_add(lt_rps *r, int64_t second, uint32_t count);

uint64_t lt_rps_total(const lt_rps *r);           /* all requests */
uint64_t lt_rps_active_seconds(const lt_rps *r);  /* seconds with >= 1 request */
/* Earliest and latest second with a request; false when empty. */
bool lt_rps_span(const lt_rps *r, int64_t *first, int64_t *last);
/* The busiest second (the earliest one among ties); false when empty. */
bool lt_rps_peak(const lt_rps *r, int64_t *second, uint64_t *count);
/* Requests in [from, to] (inclusive seconds). */
uint64_t lt_rps_range_total(const lt_rps *r, int64_t from, int64_t to);

/* The time series over [from, to] at the given step: buckets start at
 * from rounded down to a multiple of step (UTC-aligned), one per step up to
 * and including the bucket that holds `to`.  For each bucket fn(start,
 * count, arg) is called, empty buckets included, in time order; a bucket
 * counts all its seconds, also those before from or after to.  A non-zero
 * return stops the walk and is returned.  Returns -EINVAL when from > to,
 * step is not one of lt_rps_step, or the first bucket would start before
 * INT64_MIN. Cost: O(buckets + active blocks in range). */
int lt_rps_series(const lt_rps *r, int64_t from, int64_t to, lt_rps_step step,
                  int (*fn)(int64_t start, uint64_t count, void *arg), void *arg);

/* Calls fn for every active second (count >= 1) in time order. */
int lt_rps_foreach(const lt_rps *r, int (*fn)(int64_t second, uint64_t count, void *arg), void *arg);

/* dst += src, second by second; dst may be src.  Returns 0 or -ENOMEM (the
 * counts of dst are then unchanged). */
int lt_rps_merge(lt_rps *dst, const lt_rps *src);

size_t lt_rps_bytes(const lt_rps *r);   /* bytes of memory held */

/* Caps the table at about `bytes` (0, the default, for no cap).  Past it
 * the oldest hours count per minute instead of per second (each minute's
 * requests at its first second), and once every hour does, the oldest
 * count per hour (at the hour's first second), until the table fits; a
 * table of N active hours cannot shrink below about 100 N bytes.  Totals,
 * ranges of whole minutes (hours) and series at a step of a minute (an
 * hour) or more stay exact; series by the second show a coarsened minute
 * at its first second; the peak is the busiest second among those counted
 * per second (and those seen before their hour was coarsened), and a
 * coarsened minute counts as one active second. */
void lt_rps_set_limit(lt_rps *r, size_t bytes);
/* 0 while every hour counts per second; else 60 or 3600, the coarsest
 * step any hour now counts by, with the last second of the latest
 * coarsened hour in *until (may be NULL). */
int lt_rps_coarse(const lt_rps *r, int64_t *until);

#endif
