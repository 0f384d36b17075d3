/* urls.h -- hits per request target, exact until a bound, then top-k.
 *
 * The table counts exactly while it holds at most max_entries distinct URLs.
 * When one more distinct URL arrives it switches, for good, to the
 * Space-Saving algorithm (Metwally, Agrawal, El Abbadi 2005) over the same
 * max_entries counters: a new URL evicts the URL with the smallest count c
 * and inherits count c + 1 with error c.  From then on every reported count
 * may exceed the truth by at most its error, and any URL whose true count
 * exceeds lt_urls_error_bound() is guaranteed to be in the table. */
#ifndef LT_URLS_H
#define LT_URLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lt_urls lt_urls;

typedef struct lt_url_count {
    const char *url;   /* bytes as logged, not NUL-terminated; owned by the table */
    size_t len;
    uint64_t count;    /* reported count (an upper bound when not exact) */
    uint64_t error;    /* count - error <= true count <= count */
} lt_url_count;

/* Returns a new table bounded to max_entries (>= 1) URLs, or NULL when out
 * of memory.  0 is taken as 1 and bounds above 2^31 as 2^31; nothing is
 * allocated in proportion to the bound up front. */
lt_urls *lt_urls_new(size_t max_entries);
/* lt_urls_free(NULL) is a no-op. */
void lt_urls_free(lt_urls *u);

/* The hash lt_urls uses for a URL (XXH3 64-bit), so a caller that already
 * computed it can pass it to lt_urls_add_hashed(); any other value there
 * breaks lookups. */
uint64_t lt_urls_hash(const char *url, size_t len);

/* A hint, changing nothing: an add of the URL whose lt_urls_hash() is hash
 * is coming, so start loading what its lookup reads first (its slot in the
 * index).  A caller that counts a batch of lines calls this for every line
 * before adding any, so the cache misses of the batch overlap instead of
 * following one another. */
void lt_urls_prefetch(const lt_urls *u, uint64_t hash);
/* The second step of that hint, once lt_urls_prefetch() of the same hash
 * has had time to complete: reads the slot (now cached) and starts loading
 * the record it points at, whose bytes the add compares and whose count it
 * raises.  Changes nothing either. */
void lt_urls_prefetch_record(const lt_urls *u, uint64_t hash);

/* Adds count hits to the URL (len bytes, any bytes allowed; the table keeps
 * its own copy).  A count of 0 changes nothing; counts saturate at
 * UINT64_MAX.  Returns 0 or -ENOMEM; on -ENOMEM the table is unchanged. */
int lt_urls_add(lt_urls *u, const char *url, size_t len, uint64_t count);
int lt_urls_add_hashed(lt_urls *u, const char *url, size_t len, uint64_t hash, uint64_t count);

/* true while every count is exact. */
bool lt_urls_exact(const lt_urls *u);
/* 0 when exact; otherwise the largest overcount any reported count can have,
 * and the most hits a URL missing from the table can have had: the largest
 * count evicted so far (never more than the smallest count in the table),
 * or after a merge the merged bound (see lt_urls_merge()). */
uint64_t lt_urls_error_bound(const lt_urls *u);
/* Distinct URLs held. */
size_t lt_urls_size(const lt_urls *u);
/* Sum of all hits added. */
uint64_t lt_urls_total(const lt_urls *u);
/* The entry limit the table was made with (clamped as lt_urls_new() does). */
size_t lt_urls_max(const lt_urls *u);
/* Bytes of memory held (table, keys, heap). */
size_t lt_urls_bytes(const lt_urls *u);

/* Fills out[0..n) with the n URLs of highest count, sorted by count
 * descending, then by URL bytes ascending (memcmp order, a prefix first).
 * Returns how many were written (<= n).  Pointers stay valid until the next
 * change to the table.  O(size log n). */
size_t lt_urls_top(const lt_urls *u, size_t n, lt_url_count *out);

/* Fills *out with the entry of the len bytes at url and returns true, or
 * returns false when the table does not hold them.  O(1) expected. */
bool lt_urls_get(const lt_urls *u, const char *url, size_t len, lt_url_count *out);

/* Calls fn for every URL held, in no particular order.  A non-zero return
 * from fn stops the walk and is returned. */
int lt_urls_foreach(const lt_urls *u, int (*fn)(const lt_url_count *e, void *arg), void *arg);

/* Makes the empty table u an inexact (Space-Saving) table holding the n
 * entries (count and error each) with error bound `bound` and total hits
 * `total`, as a snapshot recorded them.  Returns 0, -ENOMEM, or -EINVAL
 * when u is not empty, n > max_entries, an error exceeds its count, or a
 * count is below the bound (no Space-Saving table holds such entries).
 * u is unchanged on error.  Exact tables are restored with lt_urls_add. */
int lt_urls_restore(lt_urls *u, const lt_url_count *e, size_t n, uint64_t bound, uint64_t total);

/* Adds every count of src into dst (a union of two streams).  When src is
 * exact and the union does not fit dst's bound, src's URLs are added to
 * dst as weighted Space-Saving updates, in O(|src| log max_entries): the
 * bound stays the largest count evicted, at most total / max_entries.
 * When src is inexact, dst keeps the max_entries largest of the union and
 * the error bounds add up (mergeable summaries, Agarwal et al. 2012): the
 * new bound is max(bound(dst) + bound(src), the largest count dropped).
 * dst may be src.  Returns 0 or -ENOMEM: dst is then unchanged, except
 * after an exact src overflowed it (dst then holds part of src). */
int lt_urls_merge(lt_urls *dst, const lt_urls *src);

#endif
