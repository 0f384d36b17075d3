/* hist.h -- a log-linear histogram of response times, mergeable and
 * serialisable, with quantiles of bounded relative error.
 *
 * Values are microseconds (uint64).  Values below 64 are kept exactly;
 * above, each power of two is cut into 64 equal buckets, so a quantile is
 * reported within LT_HIST_REL_ERROR of a value that was recorded: the
 * answer is the middle of the bucket of the value of that rank, whose
 * bucket is at most 1/64 of its lower bound wide.  Buckets are allocated
 * one power of two (64 counters) at a time, when first used: response
 * times that span 1 ms .. 10 s cost about 14 x 512 bytes.  The minimum,
 * maximum, count and sum are exact.  See hist.c for the layout. */
#ifndef LT_HIST_H
#define LT_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The largest relative error of a quantile against the value of that rank:
 * half a bucket, 1/128 of the bucket's lower bound. */
#define LT_HIST_REL_ERROR (1.0 / 128)
/* Values from this on are counted in the last bucket (about 18 minutes
 * past 2^40 us, i.e. 12.7 days); the maximum stays exact. */
#define LT_HIST_MAX_VALUE ((uint64_t)1 << 40)

typedef struct lt_hist lt_hist;

lt_hist *lt_hist_new(void);                     /* NULL when out of memory */
void lt_hist_free(lt_hist *h);                  /* NULL is a no-op */

/* Counts n values of v microseconds.  Returns 0 or -ENOMEM (nothing is
 * counted then). */
int lt_hist_add(lt_hist *h, uint64_t v, uint64_t n);

/* Adds every count of src into dst.  Returns 0 or -ENOMEM (dst may then
 * hold part of src: give it up). */
int lt_hist_merge(lt_hist *dst, const lt_hist *src);

uint64_t lt_hist_count(const lt_hist *h);
uint64_t lt_hist_sum(const lt_hist *h);         /* microseconds, saturating */
uint64_t lt_hist_min(const lt_hist *h);         /* 0 when empty */
uint64_t lt_hist_max(const lt_hist *h);         /* 0 when empty */

/* The value of rank ceil(q * count) (q in [0, 1]; q = 0 is the minimum,
 * q = 1 the maximum), within LT_HIST_REL_ERROR; 0 when empty. */
uint64_t lt_hist_quantile(const lt_hist *h, double q);

/* How many values are at most le microseconds, counting a bucket when its
 * lower bound is at most le (so within one bucket's width of the exact
 * count); the Prometheus buckets are made of these. */
uint64_t lt_hist_count_le(const lt_hist *h, uint64_t le);

/* Bytes of memory the histogram holds. */
size_t lt_hist_bytes(const lt_hist *h);

/* Appends the histogram to b:
 *   varint count of non-empty buckets, then per bucket in ascending
 *   order: varint index delta (from the previous index + 1, the first
 *   from 0), varint count; then varint min, varint max, varint sum.
 * Equal histograms give equal bytes. */
void lt_hist_write(lt_buf *b, const lt_hist *h);

/* Reads what lt_hist_write() wrote from len bytes at p into a new
 * histogram; *used gets the bytes read.  Untrusted input: indices past
 * the last bucket, zero or overflowing counts, a minimum or maximum
 * outside its bucket, a varint spelled longer than lt_hist_write() spells
 * it, or a truncation give -EINVAL (so what is read writes back the same
 * bytes); -ENOMEM when out of memory. */
int lt_hist_read(const unsigned char *p, size_t len, size_t *used, lt_hist **out);

#endif
