/* ip4list.c -- a set of IPv4 addresses kept as an array, sorted lazily.
 *
 * What it is for
 * --------------
 * A time bucket's distinct IPv4 clients (buckets.c).  The tally's all-time
 * set already looks every address up, and its stamps (see "Stamps" in
 * ip4set.c) say when an address is new to the newest bucket, so the
 * bucket needs no lookup of its own: it appends.  An append is a store to
 * the end of an array, where a second hash table cost a cache miss per
 * line and a rehash at each doubling.
 *
 * Representation
 * --------------
 *   a: | ascending, distinct (sorted) | appended since, any order (tail) | free |
 *      0                        sorted                                   n    cap
 *
 * Duplicates arrive when the stamps cannot tell (a late line for an older
 * bucket, two readers at once, a tally whose set has no stamps or has
 * turned into a HyperLogLog), and so a list is made compact (sorted,
 * duplicates dropped) when its array is full, before growing it: the array
 * doubles only when it stays more than half full, and halves when it
 * falls under a quarter, so its size follows the distinct addresses, not
 * the appends; a list that is done growing (a closed bucket's) is trimmed
 * to its entries, 4 bytes an address.  The tail is sorted aside by a
 * radix sort (3 passes of 11 bits, or 4 of 8 for a short tail) and merged
 * into the prefix from the back, without branches on the keys.  An
 * address larger than every other, appended to a compact list, keeps it
 * compact (the order of a snapshot's addresses).
 *
 * A window's clients are the union of its buckets' lists, most of them
 * closed and so compact: lt_ip4list_union() merges sorted runs pairwise,
 * a binary counter's way (a run is merged with the one below it once that
 * one is at most twice its size), each address moved O(log lists) times
 * and never sorted again.  Appending every list and compacting sorted all
 * of them once more: on a 1 M-line log of 940 K clients, the whole-log
 * window (lt_buckets_window, callgrind) took 224.8 M instructions with
 * appends and 176.8 M with the union, of which 39 M are the union itself.
 *
 * Complexity: append O(1) amortised (each compaction sorts what was
 * appended since the last and moves the array once, and happens after at
 * least cap / 2 appends); size and foreach O(n).  Memory: 4 bytes per
 * entry, 4 to 16 per distinct address between doublings, and a transient
 * of the tail's size while compacting.
 */
#include "ip4list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 16
/* Up to this many entries, insertion sort beats the radix sort's passes. */
#define SMALL_SORT 48

struct lt_ip4list {
    uint32_t *a;
    size_t n, sorted, cap;
};

lt_ip4list *lt_ip4list_new(void)
{
    return calloc(1, sizeof(lt_ip4list));
}

void lt_ip4list_free(lt_ip4list *l)
{
    if (l == NULL)
        return;
    free(l->a);
    free(l);
}

static void insertion_sort(uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Sorts v[0..n) with tmp[0..n) as scratch, least significant digit of
 * bits first, a pass skipped when every key has the same digit there.
 * Returns where the sorted keys are: v or tmp.  Inlined with a constant
 * bits, so that the counting loop unrolls. */
static inline __attribute__((always_inline)) uint32_t *
radix_digits(uint32_t *v, uint32_t *tmp, size_t n, size_t *count, unsigned bits)
{
    const unsigned passes = (32 + bits - 1) / bits;
    const uint32_t size = 1u << bits, mask = size - 1;
    memset(count, 0, passes * size * sizeof(*count));
    for (size_t i = 0; i < n; i++)
        for (unsigned d = 0; d < passes; d++)
            count[d * size + ((v[i] >> (d * bits)) & mask)]++;
    uint32_t *src = v, *dst = tmp;
    for (unsigned d = 0; d < passes; d++) {
        size_t *c = count + d * size;
        const unsigned sh = d * bits;
        if (c[(src[0] >> sh) & mask] == n)
            continue;
        size_t sum = 0;
        for (uint32_t b = 0; b < size; b++) {
            size_t k = c[b];
            c[b] = sum;
            sum += k;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> sh) & mask]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* Many keys go in three passes of 11 bits (2048 counts a pass stay in
 * L1/L2, and a pass over millions of keys costs more than that: a fill
 * and a union of 3 M addresses took 10 to 35 % less than in four passes
 * of 8); fewer keys in four of 8, whose 256 counts cost less to clear and
 * sum. */
#define RADIX_LARGE 2048
static uint32_t *radix_sort(uint32_t *v, uint32_t *tmp, size_t n)
{
    size_t count[3 << 11];
    return n >= RADIX_LARGE ? radix_digits(v, tmp, n, count, 11)
                            : radix_digits(v, tmp, n, count, 8);
}

/* Drops repeats from ascending v[0..n); returns the count left. */
static size_t unique(uint32_t *v, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || v[m - 1] != v[i])
            v[m++] = v[i];
    return m;
}

/* Merges the ascending, distinct run r[0..t) into the ascending, distinct
 * v[0..p), which has room for both, dropping what both hold; returns the
 * count.  From the back, the write index w stays at or above i + j, so it
 * never reaches a prefix entry not yet read. */
static size_t merge_run(uint32_t *v, size_t p, const uint32_t *r, size_t t)
{
    size_t i = p, j = t, w = p + t;
    /* Without branches on the keys: random addresses would mispredict
     * every other comparison.  The larger key goes out; an equal pair is
     * one entry, both sides stepping. */
    while (i > 0 && j > 0) {
        uint32_t a = v[i - 1], b = r[j - 1];
        v[--w] = a > b ? a : b;
        i -= a >= b;
        j -= a <= b;
    }
    while (j > 0)
        v[--w] = r[--j];
    /* The rest of the prefix is where it belongs, w - i slots too high. */
    size_t m = p + t - w + i;
    if (w > i)
        memmove(v + i, v + w, (p + t - w) * sizeof(*v));
    return m;
}

/* Resizes the array to cap entries: 0 or -ENOMEM. */
static int resize(lt_ip4list *l, size_t cap)
{
    uint32_t *a = realloc(l->a, cap * sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    l->a = a;
    l->cap = cap;
    return 0;
}

int lt_ip4list_compact(lt_ip4list *l)
{
    size_t t = l->n - l->sorted;
    if (t == 0)
        return 0;
    uint32_t small[SMALL_SORT], *tmp = small, *run = l->a + l->sorted;
    if (t <= SMALL_SORT) {
        memcpy(tmp, run, t * sizeof(*run));
        insertion_sort(tmp, t);
        run = tmp;
    } else {
        if ((tmp = malloc(t * sizeof(*tmp))) == NULL)
            return -ENOMEM;
        if ((run = radix_sort(run, tmp, t)) != tmp) {
            memcpy(tmp, run, t * sizeof(*run));
            run = tmp;
        }
    }
    t = unique(run, t);
    l->n = l->sorted = merge_run(l->a, l->sorted, run, t);
    if (tmp != small)
        free(tmp);
    /* Shrinking is a hint: a failed realloc leaves the larger array. */
    if (l->cap > INITIAL_CAP && l->n < l->cap / 4 && resize(l, l->cap / 2) == 0)
        return 1;
    return 0;
}

int lt_ip4list_trim(lt_ip4list *l)
{
    int rc = lt_ip4list_compact(l);
    if (rc < 0)
        return rc;
    size_t cap = l->n > INITIAL_CAP ? l->n : INITIAL_CAP;
    /* Shrinking is a hint, as in compaction. */
    if (cap < l->cap && resize(l, cap) == 0)
        return 1;
    return rc;
}

int lt_ip4list_copy(const lt_ip4list *l, uint32_t **out, size_t *n)
{
    /* A list of its own over a copy of the array, compacted. */
    lt_ip4list c = {malloc((l->n ? l->n : 1) * sizeof(uint32_t)), l->n, l->sorted, l->n};
    if (c.a == NULL)
        return -ENOMEM;
    if (l->n > 0)
        memcpy(c.a, l->a, l->n * sizeof(*c.a));
    if (lt_ip4list_compact(&c) < 0) {
        free(c.a);
        return -ENOMEM;
    }
    *out = c.a;
    *n = c.n;
    return 0;
}

/* Makes room for one more entry: 0, 1 when the memory changed, or -ENOMEM. */
static int make_room(lt_ip4list *l)
{
    if (l->cap == 0)
        return resize(l, INITIAL_CAP) < 0 ? -ENOMEM : 1;
    int rc = lt_ip4list_compact(l);
    if (rc < 0)
        return rc;
    if (l->n <= l->cap / 2)
        return rc;
    return resize(l, l->cap * 2) < 0 ? -ENOMEM : 1;
}

int lt_ip4list_add(lt_ip4list *l, uint32_t addr)
{
    int rc = 0;
    if (l->n == l->cap && (rc = make_room(l)) < 0)
        return rc;
    if (l->sorted == l->n && (l->n == 0 || l->a[l->n - 1] < addr))
        l->sorted++;
    l->a[l->n++] = addr;
    return rc;
}

int lt_ip4list_merge(lt_ip4list *dst, const lt_ip4list *src)
{
    int changed = 0;
    for (size_t i = 0; i < src->n; i++) {
        int rc = lt_ip4list_add(dst, src->a[i]);
        if (rc < 0)
            return rc;
        changed |= rc;
    }
    return changed;
}

/* Writes the union of the ascending, distinct a[0..na) and b[0..nb) to
 * out (room for na + nb), each address once; returns the count.  Forward
 * and without branches on the keys, as merge_run. */
static size_t union_runs(uint32_t *out, const uint32_t *a, size_t na, const uint32_t *b,
                         size_t nb)
{
    size_t i = 0, j = 0, w = 0;
    while (i < na && j < nb) {
        uint32_t x = a[i], y = b[j];
        out[w++] = x < y ? x : y;
        i += x <= y;
        j += y <= x;
    }
    if (i < na)
        memcpy(out + w, a + i, (na - i) * sizeof(*out));
    w += na - i;
    if (j < nb)
        memcpy(out + w, b + j, (nb - j) * sizeof(*out));
    return w + nb - j;
}

/* A run of the union in progress: ascending, distinct; owned when it was
 * made here (a merge, or a copy of a list that was not compact). */
struct run {
    uint32_t *a;
    size_t n;
    int owned;
};

static void run_free(struct run *r)
{
    if (r->owned)
        free(r->a);
}

/* Replaces the top two runs of the stack by their union: 0 or -ENOMEM. */
static int merge_top(struct run *st, size_t *depth)
{
    struct run *x = &st[*depth - 2], *y = &st[*depth - 1];
    uint32_t *out = malloc((x->n + y->n ? x->n + y->n : 1) * sizeof(*out));
    if (out == NULL)
        return -ENOMEM;
    size_t n = union_runs(out, x->a, x->n, y->a, y->n);
    run_free(x);
    run_free(y);
    *x = (struct run){out, n, 1};
    (*depth)--;
    return 0;
}

int lt_ip4list_union(lt_ip4list *dst, const lt_ip4list *const *src, size_t n)
{
    /* Each run below the top holds more than twice the one above it, so
     * the stack is at most 64 deep and an address is copied O(log n)
     * times (the merge policy of a binary counter, as in timsort). */
    struct run st[66];
    size_t depth = 0;
    int rc = lt_ip4list_compact(dst), changed = rc;
    if (rc < 0)
        return rc;
    if (dst->n > 0)
        st[depth++] = (struct run){dst->a, dst->n, 0};
    for (size_t i = 0; i < n && rc >= 0; i++) {
        const lt_ip4list *l = src[i];
        struct run r = {l->a, l->n, 0};
        if (l->n == 0)
            continue;
        if (l->sorted != l->n) {
            if (lt_ip4list_copy(l, &r.a, &r.n) < 0) {
                rc = -ENOMEM;
                break;
            }
            r.owned = 1;
        }
        st[depth++] = r;
        while (depth >= 2 && st[depth - 2].n <= 2 * st[depth - 1].n && rc >= 0)
            rc = merge_top(st, &depth);
    }
    while (depth >= 2 && rc >= 0)
        rc = merge_top(st, &depth);
    if (rc < 0) {
        while (depth > 0)
            run_free(&st[--depth]);
        return -ENOMEM;
    }
    if (depth == 0 || st[0].a == dst->a)
        return changed;    /* nothing to add */
    if (!st[0].owned) {
        /* One compact list into an empty dst: dst takes a copy. */
        uint32_t *a = malloc(st[0].n * sizeof(*a));
        if (a == NULL)
            return -ENOMEM;
        memcpy(a, st[0].a, st[0].n * sizeof(*a));
        st[0] = (struct run){a, st[0].n, 1};
    }
    free(dst->a);
    dst->a = st[0].a;
    dst->n = dst->sorted = dst->cap = st[0].n;
    if (dst->cap < INITIAL_CAP)
        resize(dst, INITIAL_CAP);    /* a hint, as in compaction: it may fail */
    return 1;
}

uint64_t lt_ip4list_size(const lt_ip4list *l) { return l->n; }
int lt_ip4list_is_compact(const lt_ip4list *l) { return l->sorted == l->n; }
size_t lt_ip4list_bytes(const lt_ip4list *l) { return sizeof(*l) + l->cap * sizeof(*l->a); }

int lt_ip4list_foreach(const lt_ip4list *l, int (*fn)(uint32_t addr, void *arg), void *arg)
{
    for (size_t i = 0; i < l->n; i++) {
        int rc = fn(l->a[i], arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}
