/* hist.c -- a log-linear histogram of response times.
 *
 * Layout
 * ------
 * A value v (microseconds) falls in bucket index(v) of 35 groups of 64:
 *
 *   group 0:       v in [0, 64), one bucket per value (exact)
 *   group g >= 1:  v in [2^(g+5), 2^(g+6)), 64 buckets of width 2^(g-1);
 *                  bucket s starts at (64 + s) << (g - 1)
 *
 *   index = v                                  v < 64
 *         = 64 g + (v >> (g - 1)) - 64         e = floor(log2 v), g = e - 5
 *
 * so a bucket is at most 1/64 of its lower bound wide, and its middle is
 * within 1/128 of every value in it (HdrHistogram's idea with 6 bits of
 * sub-bucket; Prometheus' native histograms and circllhist are cousins).
 * Values from LT_HIST_MAX_VALUE (2^40 us) on go to the last bucket.
 *
 * Each group's 64 counters are allocated the first time a value falls in
 * it, so a histogram costs its header plus 512 bytes per power of two of
 * response time seen.  Merge adds counters group by group; the result does
 * not depend on the order of adds and merges.  Quantiles walk the groups
 * in order: O(35 x 64).
 */
#include "hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SUB 64
#define GROUPS 35
#define BUCKETS (GROUPS * SUB)

struct lt_hist {
    uint64_t *group[GROUPS];
    uint64_t count, sum, min, max;
    size_t n_groups;            /* groups allocated */
};

lt_hist *lt_hist_new(void)
{
    return calloc(1, sizeof(lt_hist));
}

void lt_hist_free(lt_hist *h)
{
    if (h == NULL)
        return;
    for (size_t g = 0; g < GROUPS; g++)
        free(h->group[g]);
    free(h);
}

static unsigned bucket_of(uint64_t v)
{
    if (v >= LT_HIST_MAX_VALUE)
        return BUCKETS - 1;
    if (v < SUB)
        return (unsigned)v;
    unsigned g = 63u - (unsigned)__builtin_clzll(v) - 5u;
    return g * SUB + (unsigned)(v >> (g - 1)) - SUB;
}

static uint64_t bucket_low(unsigned i)
{
    unsigned g = i / SUB, s = i % SUB;
    return g == 0 ? s : (uint64_t)(SUB + s) << (g - 1);
}

static uint64_t bucket_mid(unsigned i)
{
    unsigned g = i / SUB;
    return g <= 1 ? bucket_low(i) : bucket_low(i) + ((uint64_t)1 << (g - 2));
}

static uint64_t *counter(lt_hist *h, unsigned i)
{
    uint64_t **grp = &h->group[i / SUB];
    if (*grp == NULL) {
        if ((*grp = calloc(SUB, sizeof(uint64_t))) == NULL)
            return NULL;
        h->n_groups++;
    }
    return &(*grp)[i % SUB];
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static void note_extremes(lt_hist *h, uint64_t lo, uint64_t hi, uint64_t n, uint64_t sum)
{
    if (h->count == 0 || lo < h->min)
        h->min = lo;
    if (h->count == 0 || hi > h->max)
        h->max = hi;
    h->count += n;
    h->sum = sat_add(h->sum, sum);
}

int lt_hist_add(lt_hist *h, uint64_t v, uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t *c = counter(h, bucket_of(v));
    if (c == NULL)
        return -ENOMEM;
    *c += n;
    uint64_t sum = v != 0 && n > UINT64_MAX / v ? UINT64_MAX : v * n;
    note_extremes(h, v, v, n, sum);
    return 0;
}

int lt_hist_merge(lt_hist *dst, const lt_hist *src)
{
    if (src->count == 0)
        return 0;
    for (unsigned g = 0; g < GROUPS; g++) {
        if (src->group[g] == NULL)
            continue;
        uint64_t *d = counter(dst, g * SUB);
        if (d == NULL)
            return -ENOMEM;
        for (unsigned s = 0; s < SUB; s++)
            d[s] += src->group[g][s];
    }
    note_extremes(dst, src->min, src->max, src->count, src->sum);
    return 0;
}

uint64_t lt_hist_count(const lt_hist *h) { return h->count; }
uint64_t lt_hist_sum(const lt_hist *h) { return h->sum; }
uint64_t lt_hist_min(const lt_hist *h) { return h->min; }
uint64_t lt_hist_max(const lt_hist *h) { return h->max; }

uint64_t lt_hist_quantile(const lt_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (!(q > 0))
        return h->min;
    if (q >= 1)
        return h->max;
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned g = 0; g < GROUPS; g++) {
        if (h->group[g] == NULL)
            continue;
        for (unsigned s = 0; s < SUB; s++) {
            seen += h->group[g][s];
            if (seen >= rank) {
                /* The middle of the bucket, but never outside what was seen. */
                uint64_t v = bucket_mid(g * SUB + s);
                return v < h->min ? h->min : v > h->max ? h->max : v;
            }
        }
    }
    return h->max;
}

uint64_t lt_hist_count_le(const lt_hist *h, uint64_t le)
{
    uint64_t n = 0;
    for (unsigned g = 0; g < GROUPS; g++) {
        if (h->group[g] == NULL)
            continue;
        for (unsigned s = 0; s < SUB; s++)
            if (bucket_low(g * SUB + s) <= le)
                n += h->group[g][s];
    }
    return n;
}

size_t lt_hist_bytes(const lt_hist *h)
{
    return sizeof(*h) + h->n_groups * SUB * sizeof(uint64_t);
}

/* ------------------------------------------------------------------------
 * Serialisation
 * ---------------------------------------------------------------------- */

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

void lt_hist_write(lt_buf *b, const lt_hist *h)
{
    uint64_t nonempty = 0;
    for (unsigned g = 0; g < GROUPS; g++)
        for (unsigned s = 0; h->group[g] != NULL && s < SUB; s++)
            nonempty += h->group[g][s] != 0;
    put_varint(b, nonempty);
    unsigned next = 0;
    for (unsigned g = 0; g < GROUPS; g++)
        for (unsigned s = 0; h->group[g] != NULL && s < SUB; s++)
            if (h->group[g][s] != 0) {
                put_varint(b, g * SUB + s - next);
                put_varint(b, h->group[g][s]);
                next = g * SUB + s + 1;
            }
    put_varint(b, h->min);
    put_varint(b, h->max);
    put_varint(b, h->sum);
}

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p == end)
            return -EINVAL;
        unsigned char c = *(*p)++;
        if (shift == 63 && (c & 0x7e) != 0)
            return -EINVAL;    /* more than 64 bits */
        if (c == 0 && shift > 0)
            return -EINVAL;    /* a longer spelling than lt_hist_write()'s */
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -EINVAL;
}

int lt_hist_read(const unsigned char *p, size_t len, size_t *used, lt_hist **out)
{
    const unsigned char *start = p, *end = p + len;
    uint64_t n, min, max, sum;
    lt_hist *h = lt_hist_new();
    int rc = -EINVAL;

    *out = NULL;
    if (h == NULL)
        return -ENOMEM;
    if (get_varint(&p, end, &n) < 0 || n > BUCKETS)
        goto fail;
    uint64_t next = 0, lo = 0, hi = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t delta, count;
        if (get_varint(&p, end, &delta) < 0 || get_varint(&p, end, &count) < 0)
            goto fail;
        if (delta >= BUCKETS - next || count == 0 || h->count + count < h->count)
            goto fail;
        unsigned i = (unsigned)(next + delta);
        uint64_t *c = counter(h, i);
        if (c == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        *c = count;
        if (h->count == 0)
            lo = i;
        hi = i;
        h->count += count;
        next = i + 1;
    }
    if (get_varint(&p, end, &min) < 0 || get_varint(&p, end, &max) < 0 ||
        get_varint(&p, end, &sum) < 0)
        goto fail;
    /* The extremes must lie in the first and last non-empty buckets. */
    if (h->count == 0 ? (min | max | sum) != 0
                      : (bucket_of(min) != lo || bucket_of(max) != hi || min > max))
        goto fail;
    h->min = min;
    h->max = max;
    h->sum = sum;
    *used = (size_t)(p - start);
    *out = h;
    return 0;

fail:
    lt_hist_free(h);
    return rc;
}
