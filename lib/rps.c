/* rps.c -- requests per UTC second: sparse blocks of dense counters.
 *
 * Representation
 * --------------
 * Time is cut into blocks of LT_RPS_BLOCK = 3600 seconds aligned on
 * multiples of 3600 (UTC hours).  Block number n covers the seconds
 * [3600 n, 3600 n + 3599]; it is floor(second / 3600), so second -1 is in
 * block -1 at index 3599, never in block 0.  A block exists only once a
 * request fell into it, and costs what its active seconds cost: up to
 * SPARSE_MAX of them are a sorted list of (index, count) pairs, 8 bytes
 * each; past that the block turns into a dense array of 32-bit counters
 * (14,400 bytes, cheaper than the list from 1,800 active seconds on):
 *
 *   map (open addressing, number -> block)      order (sorted by number)
 *   [n=-1|*] [    ] [n=4|*] [    ] [n=5|*]      [*-1] [*4] [*5]
 *       |               |             |            |     |    |
 *       v               v             v            v     v    v
 *   block -1            block 4       block 5     (the same blocks)
 *   | num | total | count | wide | sparse | nsparse | cap |      48 bytes
 *                   |                |
 *                   |                +--> [i << 32 | c] [..] ...  sparse: 8 B per second
 *                   +--> count[0] ... count[3599]                 dense: 14,400 B
 *
 * A list's capacity is a power of two that depends only on its length, so
 * the same seconds cost the same bytes in whatever order they came.  Logs
 * are time-ordered, so a second is almost always appended to its list;
 * an older one costs a binary search and a memmove within the list.
 *
 * The map finds a block in O(1) from its number (a splitmix64 mix, linear
 * probing, load at most 1/2; blocks are never removed, so no tombstones).
 * The order array lists the blocks by number, so ranges, series and walks
 * visit only the blocks that exist, in time order, after one binary search.
 * Logs are mostly time-ordered, so a new block is almost always appended;
 * an older one costs a memmove of the pointers after it (8 bytes per
 * active hour).  A one-block cache of the last block used makes most adds
 * a compare and an increment.
 *
 * Counter width: 32 bits, 4.3 billion requests in one second.  A count
 * that would pass it does not wrap or saturate: the block is widened, once,
 * to 64-bit counters (the `wide` array, 28,800 bytes, which replaces the
 * list or the 32-bit array), so totals, ranges and merges stay exact
 * whatever is added.  Every reader goes through count_at() or a walk.
 *
 * The limit (lt_rps_set_limit): past it, enforce_limit() coarsens the
 * oldest hours, first to minutes (a list of at most 60 entries, each at
 * its minute's first index; later adds to such an hour go to their
 * minute), then, once every hour counts by minutes, to hours (one entry).
 * Two cursors into order[] remember how far each pass got, so a
 * coarsening costs O(1) amortised per hour, not a walk from the oldest
 * block; a block inserted before a cursor pulls it back.  So a table
 * costs at most the limit, or about 100 bytes per active hour when even
 * that is more (the floor: 87,600 active hours, ten years, are 8 MB).
 *
 * Running totals: total, active seconds, first and last second, and the
 * peak (count and second).  An add only raises one second's count, so the
 * peak can only move to that second: it does when the new count is larger,
 * or equal and the second earlier (ties go to the earliest second).  A
 * merge applies the same rule to every second it raises.
 *
 * Memory: a block is 48 bytes, plus 8 per active second up to SPARSE_MAX
 * (rounded up to a power of two) or 14,400 dense (28,800 wide), plus 8
 * bytes of order and 16 to 32 of map.  A log of one request an hour for
 * ten years costs about 10 MB (87,600 blocks of one second), not the
 * 1.26 GB of a dense array per active hour; a year with two active hours
 * costs two blocks, not 8,760.
 *
 * Complexity: add O(1) (new block: O(1) expected plus the order insert);
 * range total and series O(log blocks + blocks in range + buckets), where a
 * bucket inside a block costs O(step) for steps up to a minute and O(1)
 * for an hour or a day (block totals); foreach and merge O(active seconds
 * of sparse blocks + 3600 per dense block).  All allocations of an add or a merge come
 * before their first change, so -ENOMEM leaves the counts as they were.
 */
#include "rps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_MAP 16
/* Active seconds a block holds as a sorted list before it turns dense: at
 * 8 bytes each, 1,024 cost 8 KiB against the dense array's 14.4 KB, and an
 * insertion's memmove stays within a few pages. */
#define SPARSE_MAX 1024

struct block {
    int64_t num;                   /* block number: seconds [3600 num, 3600 num + 3599] */
    uint64_t total;                /* requests in the block */
    uint32_t *count;               /* dense: LT_RPS_BLOCK counters, or NULL */
    uint64_t *wide;                /* dense 64-bit counters, or NULL */
    uint64_t *sparse;              /* when neither: index << 32 | count, sorted */
    uint32_t nsparse, sparse_cap;
    int coarse;                    /* 0, or 60 / 3600: counts per minute / hour */
};

struct map_slot {
    int64_t num;
    struct block *b;               /* NULL for an empty slot */
};

struct lt_rps {
    struct map_slot *map;
    size_t mask;                   /* map size - 1, a power of two - 1 */
    struct block **order;          /* blocks sorted by number */
    size_t nblocks, order_alloc;
    size_t ndense;                 /* blocks with 32-bit dense counters */
    size_t nwide;                  /* blocks with 64-bit counters */
    size_t sparse_bytes;           /* bytes of the sparse lists */
    struct block *cache;           /* the block of the last add */
    size_t limit;                  /* lt_rps_set_limit(), 0 for none */
    size_t fine_from[2];           /* order[] before these are coarse to minutes, hours */
    int coarse;                    /* coarsest step of any block: 0, 60 or 3600 */
    int64_t coarse_until;          /* last second of the latest coarsened block */

    uint64_t total;
    uint64_t active;
    int64_t first, last;           /* valid when active > 0 */
    int64_t peak_second;
    uint64_t peak;                 /* 0 when empty */
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s < a ? UINT64_MAX : s;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* The second at index i of block num.  Computed from the nearer end of the
 * block so that it never overflows for a second that fits int64_t: block
 * floor(INT64_MIN / 3600) starts before INT64_MIN. */
static int64_t second_of(int64_t num, size_t i)
{
    if (num >= 0)
        return num * LT_RPS_BLOCK + (int64_t)i;
    return (num + 1) * LT_RPS_BLOCK - (LT_RPS_BLOCK - (int64_t)i);
}

/* Where index i is, or would be inserted, in a sparse block's list. */
static size_t sparse_pos(const struct block *b, size_t i)
{
    size_t lo = 0, hi = b->nsparse;
    /* The usual cases: the latest second again, or the next one. */
    if (hi > 0 && (b->sparse[hi - 1] >> 32) <= i)
        return (b->sparse[hi - 1] >> 32) == i ? hi - 1 : hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((b->sparse[mid] >> 32) < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t count_at(const struct block *b, size_t i)
{
    if (b->wide != NULL)
        return b->wide[i];
    if (b->count != NULL)
        return b->count[i];
    size_t p = sparse_pos(b, i);
    return p < b->nsparse && (b->sparse[p] >> 32) == i ? (uint32_t)b->sparse[p] : 0;
}

/* Walks the non-zero seconds of a block from index `from` on: next()
 * returns 1 with the index and count of the next one below `to`, else 0. */
struct walk {
    const struct block *b;
    size_t at, to;
};

static struct walk walk_from(const struct block *b, size_t from, size_t to)
{
    struct walk w = {b, from, to};
    if (b->wide == NULL && b->count == NULL)
        w.at = sparse_pos(b, from);
    return w;
}

static int walk_next(struct walk *w, size_t *i, uint64_t *c)
{
    const struct block *b = w->b;
    if (b->wide == NULL && b->count == NULL) {
        if (w->at >= b->nsparse || (b->sparse[w->at] >> 32) >= w->to)
            return 0;
        *i = (size_t)(b->sparse[w->at] >> 32);
        *c = (uint32_t)b->sparse[w->at];
        w->at++;
        return 1;
    }
    for (; w->at < w->to; w->at++) {
        uint64_t v = b->wide != NULL ? b->wide[w->at] : b->count[w->at];
        if (v != 0) {
            *i = w->at++;
            *c = v;
            return 1;
        }
    }
    return 0;
}

/* Requests at indices [from, to) of the block. */
static uint64_t block_sum(const struct block *b, size_t from, size_t to)
{
    if (from == 0 && to == LT_RPS_BLOCK)
        return b->total;
    uint64_t s = 0;
    if (b->wide != NULL) {
        for (size_t i = from; i < to; i++)
            s = sat_add(s, b->wide[i]);
    } else if (b->count != NULL) {
        for (size_t i = from; i < to; i++)
            s += b->count[i];
    } else {
        struct walk w = walk_from(b, from, to);
        size_t i;
        uint64_t c;
        while (walk_next(&w, &i, &c))
            s += c;
    }
    return s;
}

/* The capacity a sparse list of n entries has: a function of n alone, so
 * that the same seconds cost the same bytes however they arrived. */
static uint32_t sparse_cap_for(size_t n)
{
    uint32_t cap = 2;
    while (cap < n)
        cap *= 2;
    return cap;
}

static size_t map_home(const lt_rps *r, int64_t num)
{
    /* splitmix64's finaliser: consecutive block numbers spread evenly. */
    uint64_t x = (uint64_t)num;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    return (size_t)x & r->mask;
}

static struct block *map_find(const lt_rps *r, int64_t num)
{
    for (size_t j = map_home(r, num);; j = (j + 1) & r->mask) {
        if (r->map[j].b == NULL)
            return NULL;
        if (r->map[j].num == num)
            return r->map[j].b;
    }
}

static void map_put(struct map_slot *map, size_t mask, const lt_rps *r, struct block *b)
{
    size_t j = map_home(r, b->num);
    while (map[j].b != NULL)
        j = (j + 1) & mask;
    map[j].num = b->num;
    map[j].b = b;
}

/* Doubles the map.  Returns 0 or -ENOMEM (map unchanged). */
static int map_grow(lt_rps *r)
{
    size_t cap = r->mask + 1;
    if (cap > SIZE_MAX / 2 / sizeof(struct map_slot))
        return -ENOMEM;
    struct map_slot *n = calloc(cap * 2, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    struct map_slot *old = r->map;
    r->map = n;
    r->mask = cap * 2 - 1;
    for (size_t j = 0; j < cap; j++)
        if (old[j].b != NULL)
            map_put(n, r->mask, r, old[j].b);
    free(old);
    return 0;
}

/* Index in order of the first block numbered num or later. */
static size_t order_lower_bound(const lt_rps *r, int64_t num)
{
    size_t lo = 0, hi = r->nblocks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->order[mid]->num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Returns the block numbered num, created empty if need be, or NULL when
 * out of memory (nothing changed then). */
static struct block *block_get(lt_rps *r, int64_t num)
{
    struct block *b = map_find(r, num);
    if (b != NULL)
        return b;
    if ((r->nblocks + 1) * 2 > r->mask + 1 && map_grow(r) != 0)
        return NULL;
    if (r->nblocks == r->order_alloc) {
        size_t n = r->order_alloc * 2 + 16;
        if (n > SIZE_MAX / sizeof(*r->order))
            return NULL;
        struct block **o = realloc(r->order, n * sizeof(*o));
        if (o == NULL)
            return NULL;
        r->order = o;
        r->order_alloc = n;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    /* Room for the first second comes with the block, so that the add
     * that creates a block cannot fail after it. */
    b->sparse_cap = sparse_cap_for(1);
    if ((b->sparse = malloc(b->sparse_cap * sizeof(*b->sparse))) == NULL) {
        free(b);
        return NULL;
    }
    r->sparse_bytes += b->sparse_cap * sizeof(*b->sparse);
    b->num = num;
    map_put(r->map, r->mask, r, b);
    size_t at = r->nblocks;
    if (at > 0 && r->order[at - 1]->num > num) {
        at = order_lower_bound(r, num);
        memmove(&r->order[at + 1], &r->order[at], (r->nblocks - at) * sizeof(*r->order));
    }
    r->order[at] = b;
    r->nblocks++;
    for (int k = 0; k < 2; k++)
        if (r->fine_from[k] > at)
            r->fine_from[k] = at;    /* a new block is fine */
    return b;
}

/* Makes a sparse block's list hold n entries.  Returns 0 or -ENOMEM
 * (block unchanged). */
static int sparse_reserve(lt_rps *r, struct block *b, size_t n)
{
    uint32_t cap = sparse_cap_for(n);
    if (cap <= b->sparse_cap)
        return 0;
    uint64_t *v = realloc(b->sparse, cap * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    r->sparse_bytes += (cap - b->sparse_cap) * sizeof(*v);
    b->sparse = v;
    b->sparse_cap = cap;
    return 0;
}

static void drop_sparse(lt_rps *r, struct block *b)
{
    r->sparse_bytes -= b->sparse_cap * sizeof(*b->sparse);
    free(b->sparse);
    b->sparse = NULL;
    b->nsparse = b->sparse_cap = 0;
}

/* Switches a sparse block to dense 32-bit counters.  Returns 0 or -ENOMEM
 * (block unchanged). */
static int densify(lt_rps *r, struct block *b)
{
    if (b->count != NULL || b->wide != NULL)
        return 0;
    uint32_t *c = calloc(LT_RPS_BLOCK, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    for (size_t k = 0; k < b->nsparse; k++)
        c[b->sparse[k] >> 32] = (uint32_t)b->sparse[k];
    drop_sparse(r, b);
    b->count = c;
    r->ndense++;
    return 0;
}

/* Switches a block to 64-bit counters.  Returns 0 or -ENOMEM (block
 * unchanged). */
static int widen(lt_rps *r, struct block *b)
{
    if (b->wide != NULL)
        return 0;
    uint64_t *w = malloc(LT_RPS_BLOCK * sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < LT_RPS_BLOCK; i++)
        w[i] = count_at(b, i);
    if (b->count != NULL) {
        free(b->count);
        b->count = NULL;
        r->ndense--;
    } else {
        drop_sparse(r, b);
    }
    b->wide = w;
    r->nwide++;
    return 0;
}

/* Adds c (> 0) at index i of b, changing representation when it must;
 * *before and *after get the second's count around the add.  Returns 0 or
 * -ENOMEM (block unchanged). */
static int block_add(lt_rps *r, struct block *b, size_t i, uint64_t c, uint64_t *before,
                     uint64_t *after)
{
    if (b->coarse != 0)
        i -= i % (size_t)b->coarse;
    if (b->wide == NULL && b->count == NULL) {
        size_t p = sparse_pos(b, i);
        if (p < b->nsparse && (b->sparse[p] >> 32) == i) {
            uint64_t v = (uint32_t)b->sparse[p];
            if (c <= UINT32_MAX && v <= UINT32_MAX - c) {
                b->sparse[p] += c;
                *before = v;
                *after = v + c;
                return 0;
            }
            if (widen(r, b) != 0)
                return -ENOMEM;
        } else if (b->nsparse < SPARSE_MAX && c <= UINT32_MAX) {
            if (sparse_reserve(r, b, b->nsparse + 1) != 0)
                return -ENOMEM;
            memmove(&b->sparse[p + 1], &b->sparse[p], (b->nsparse - p) * sizeof(*b->sparse));
            b->sparse[p] = (uint64_t)i << 32 | c;
            b->nsparse++;
            *before = 0;
            *after = c;
            return 0;
        } else if (densify(r, b) != 0) {
            return -ENOMEM;
        }
    }
    if (b->wide == NULL && (c > UINT32_MAX || b->count[i] > UINT32_MAX - c) && widen(r, b) != 0)
        return -ENOMEM;
    if (b->wide != NULL) {
        *before = b->wide[i];
        b->wide[i] = sat_add(*before, c);
    } else {
        *before = b->count[i];
        b->count[i] += (uint32_t)c;
    }
    *after = count_at(b, i);
    return 0;
}

/* Updates the running totals after the second's count went from before to
 * after (after > before). */
static void note(lt_rps *r, struct block *b, int64_t second, uint64_t before, uint64_t after)
{
    uint64_t added = after - before;
    b->total = sat_add(b->total, added);
    r->total = sat_add(r->total, added);
    if (before == 0) {
        if (r->active == 0 || second < r->first)
            r->first = second;
        if (r->active == 0 || second > r->last)
            r->last = second;
        r->active++;
    }
    /* A coarse block's counts are minutes or hours, not seconds. */
    if (b->coarse == 0 && (after > r->peak || (after == r->peak && second < r->peak_second))) {
        r->peak = after;
        r->peak_second = second;
    }
}

/* Makes b count per step (60 or 3600) seconds: each minute's (hour's)
 * requests move to its first second, in a list.  Returns 0, -ENOMEM or
 * -EOVERFLOW (a minute past 32 bits; the block is then left as it was). */
static int coarsen(lt_rps *r, struct block *b, int step)
{
    if (b->coarse >= step)
        return 0;
    uint64_t sums[LT_RPS_BLOCK / 60] = {0};
    size_t n = 0, active = 0, i;
    uint64_t c;
    struct walk w = walk_from(b, 0, LT_RPS_BLOCK);
    while (walk_next(&w, &i, &c)) {
        sums[i / (size_t)step] = sat_add(sums[i / (size_t)step], c);
        active++;
    }
    for (size_t m = 0; m < LT_RPS_BLOCK / (size_t)step; m++) {
        if (sums[m] > UINT32_MAX)
            return -EOVERFLOW;
        n += sums[m] != 0;
    }
    uint32_t cap = sparse_cap_for(n);
    uint64_t *list = malloc(cap * sizeof(*list));
    if (list == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t m = 0; m < LT_RPS_BLOCK / (size_t)step; m++)
        if (sums[m] != 0)
            list[k++] = (uint64_t)(m * (size_t)step) << 32 | sums[m];
    if (b->wide != NULL) {
        free(b->wide);
        b->wide = NULL;
        r->nwide--;
    } else if (b->count != NULL) {
        free(b->count);
        b->count = NULL;
        r->ndense--;
    } else {
        drop_sparse(r, b);
    }
    b->sparse = list;
    b->nsparse = (uint32_t)n;
    b->sparse_cap = cap;
    r->sparse_bytes += cap * sizeof(*list);
    b->coarse = step;
    r->active -= active - n;
    if (step > r->coarse)
        r->coarse = step;
    int64_t end = second_of(b->num, LT_RPS_BLOCK - 1);
    if (r->coarse_until == 0 || end > r->coarse_until)
        r->coarse_until = end;
    return 0;
}

/* Brings the table back within its limit: the oldest blocks first count
 * per minute, then, once every block does, per hour.  Stops at the first
 * allocation that fails (the table is then only over its limit). */
static void enforce_limit(lt_rps *r)
{
    for (int k = 0; k < 2 && lt_rps_bytes(r) > r->limit; k++) {
        int step = k == 0 ? 60 : LT_RPS_BLOCK;
        while (r->fine_from[k] < r->nblocks && lt_rps_bytes(r) > r->limit) {
            if (coarsen(r, r->order[r->fine_from[k]], step) == -ENOMEM)
                return;
            r->fine_from[k]++;
        }
    }
}

void lt_rps_set_limit(lt_rps *r, size_t bytes)
{
    r->limit = bytes;
    if (r->limit != 0 && lt_rps_bytes(r) > r->limit)
        enforce_limit(r);
}

int lt_rps_coarse(const lt_rps *r, int64_t *until)
{
    if (r->coarse != 0 && until != NULL)
        *until = r->coarse_until;
    return r->coarse;
}

lt_rps *lt_rps_new(void)
{
    lt_rps *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->map = calloc(INITIAL_MAP, sizeof(*r->map));
    if (r->map == NULL) {
        free(r);
        return NULL;
    }
    r->mask = INITIAL_MAP - 1;
    return r;
}

void lt_rps_free(lt_rps *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nblocks; i++) {
        free(r->order[i]->wide);
        free(r->order[i]->count);
        free(r->order[i]->sparse);
        free(r->order[i]);
    }
    free(r->order);
    free(r->map);
    free(r);
}

int lt_rps_add(lt_rps *r, int64_t second, uint32_t count)
{
    /* No request, no active second: an add of 0 creates nothing. */
    if (count == 0)
        return 0;
    int64_t num = floor_div(second, LT_RPS_BLOCK);
    struct block *b = r->cache;
    if (b == NULL || b->num != num) {
        b = block_get(r, num);
        if (b == NULL)
            return -ENOMEM;
        r->cache = b;
    }
    size_t i = (size_t)floor_mod(second, LT_RPS_BLOCK);
    uint64_t before, after;
    /* A new block comes with room for its first second, so a failure
     * here never leaves an empty block behind. */
    if (block_add(r, b, i, count, &before, &after) != 0)
        return -ENOMEM;
    if (after != before)
        note(r, b, second, before, after);
    if (r->limit != 0 && lt_rps_bytes(r) > r->limit)
        enforce_limit(r);
    return 0;
}

uint64_t lt_rps_total(const lt_rps *r)
{
    return r->total;
}

uint64_t lt_rps_active_seconds(const lt_rps *r)
{
    return r->active;
}

bool lt_rps_span(const lt_rps *r, int64_t *first, int64_t *last)
{
    if (r->active == 0)
        return false;
    *first = r->first;
    *last = r->last;
    return true;
}

bool lt_rps_peak(const lt_rps *r, int64_t *second, uint64_t *count)
{
    if (r->active == 0)
        return false;
    *second = r->peak_second;
    *count = r->peak;
    return true;
}

uint64_t lt_rps_range_total(const lt_rps *r, int64_t from, int64_t to)
{
    if (from > to)
        return 0;
    int64_t bfrom = floor_div(from, LT_RPS_BLOCK), bto = floor_div(to, LT_RPS_BLOCK);
    uint64_t s = 0;
    for (size_t k = order_lower_bound(r, bfrom); k < r->nblocks && r->order[k]->num <= bto; k++) {
        const struct block *b = r->order[k];
        size_t lo = b->num == bfrom ? (size_t)floor_mod(from, LT_RPS_BLOCK) : 0;
        size_t hi = b->num == bto ? (size_t)floor_mod(to, LT_RPS_BLOCK) + 1 : LT_RPS_BLOCK;
        s = sat_add(s, block_sum(b, lo, hi));
    }
    return s;
}

int lt_rps_series(const lt_rps *r, int64_t from, int64_t to, lt_rps_step step,
                  int (*fn)(int64_t start, uint64_t count, void *arg), void *arg)
{
    if (from > to)
        return -EINVAL;
    int64_t st;
    switch (step) {
    case LT_RPS_STEP_SECOND:
    case LT_RPS_STEP_MINUTE:
    case LT_RPS_STEP_HOUR:
    case LT_RPS_STEP_DAY:
        st = (int64_t)step;
        break;
    default:
        return -EINVAL;
    }
    /* Buckets are numbered q = floor(second / step); q * step is their
     * start.  The first start can fall below INT64_MIN, where no start can
     * be reported; every later one fits. */
    int64_t qa = floor_div(from, st), qb = floor_div(to, st), start;
    if (__builtin_mul_overflow(qa, st, &start))
        return -EINVAL;

    /* A bucket counts all its seconds, also those before from or after to:
     * the walk starts at the block of the first bucket's start. */
    size_t k = order_lower_bound(r, floor_div(start, LT_RPS_BLOCK));
    for (int64_t q = qa;; q++) {
        uint64_t c = 0;
        if (st <= LT_RPS_BLOCK) {
            /* Steps up to an hour divide the block: the bucket is one slice
             * of one block. */
            int64_t per = LT_RPS_BLOCK / st;
            int64_t num = floor_div(q, per);
            while (k < r->nblocks && r->order[k]->num < num)
                k++;
            if (k < r->nblocks && r->order[k]->num == num) {
                size_t lo = (size_t)(floor_mod(q, per) * st);
                c = block_sum(r->order[k], lo, lo + (size_t)st);
            }
        } else {
            /* A day is blocks 24 q .. 24 q + 23. */
            int64_t per = st / LT_RPS_BLOCK;
            while (k < r->nblocks && r->order[k]->num < q * per)
                k++;
            for (; k < r->nblocks && r->order[k]->num < q * per + per; k++)
                c = sat_add(c, r->order[k]->total);
        }
        int rc = fn(q * st, c, arg);
        if (rc != 0)
            return rc;
        if (q == qb)
            break;
    }
    return 0;
}

int lt_rps_foreach(const lt_rps *r, int (*fn)(int64_t second, uint64_t count, void *arg), void *arg)
{
    for (size_t k = 0; k < r->nblocks; k++) {
        const struct block *b = r->order[k];
        if (b->total == 0)
            continue;
        struct walk w = walk_from(b, 0, LT_RPS_BLOCK);
        size_t i;
        uint64_t c;
        while (walk_next(&w, &i, &c)) {
            int rc = fn(second_of(b->num, i), c, arg);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Makes db able to take every count of sb without an allocation or a
 * change of representation: widened where a sum would pass 32 bits, dense
 * when the union of their seconds passes SPARSE_MAX, else a sparse list
 * with room for the union.  Returns 0 or -ENOMEM (db's counts unchanged). */
static int prepare_merge(lt_rps *r, struct block *db, const struct block *sb)
{
    size_t uni = db->nsparse, i;
    uint64_t c;
    /* Seconds already counted per minute cannot be split again: dst's
     * block becomes as coarse as src's. */
    if (sb->coarse > db->coarse && coarsen(r, db, sb->coarse) < 0)
        return -ENOMEM;
    struct walk w = walk_from(sb, 0, LT_RPS_BLOCK);
    while (walk_next(&w, &i, &c)) {
        if (db->coarse != 0)
            i -= i % (size_t)db->coarse;
        uint64_t have = count_at(db, i);
        if (have == 0)
            uni++;
        if (db->wide == NULL && (c > UINT32_MAX || have > UINT32_MAX - c))
            return widen(r, db);
    }
    if (db->wide != NULL || db->count != NULL)
        return 0;
    if (uni > SPARSE_MAX)
        return densify(r, db);
    return sparse_reserve(r, db, uni);
}

int lt_rps_merge(lt_rps *dst, const lt_rps *src)
{
    /* First every block dst will need, created and prepared: blocks left
     * empty by a later failure hold no request, so the counts are
     * unchanged whatever happens. */
    for (size_t k = 0; k < src->nblocks; k++) {
        const struct block *sb = src->order[k];
        if (sb->total == 0)
            continue;
        struct block *db = block_get(dst, sb->num);
        if (db == NULL || (db != sb && prepare_merge(dst, db, sb) != 0))
            return -ENOMEM;
    }
    if (dst == src) {
        /* Doubling: every count of a block at once, each read before it
         * is written. */
        for (size_t k = 0; k < src->nblocks; k++) {
            struct block *b = dst->order[k];
            if (b->total == 0)
                continue;
            int wide = 0;
            for (size_t i = 0; i < LT_RPS_BLOCK && !wide; i++)
                wide = count_at(b, i) > UINT32_MAX / 2;
            if (wide && widen(dst, b) != 0)
                return -ENOMEM;
        }
    }

    /* Then the sums, which cannot fail.  A walk reads each count before
     * the add writes it, and adds to seconds already present change no
     * list, so lt_rps_merge(r, r) doubles r.  src->nblocks is read once:
     * with dst == src no block is created above. */
    size_t n = src->nblocks;
    for (size_t k = 0; k < n; k++) {
        const struct block *sb = src->order[k];
        if (sb->total == 0)
            continue;
        struct block *db = map_find(dst, sb->num);
        struct walk w = walk_from(sb, 0, LT_RPS_BLOCK);
        size_t i;
        uint64_t c, before, after;
        while (walk_next(&w, &i, &c))
            if (block_add(dst, db, i, c, &before, &after) == 0 && after != before)
                note(dst, db, second_of(sb->num, i), before, after);
    }
    if (dst->limit != 0 && lt_rps_bytes(dst) > dst->limit)
        enforce_limit(dst);
    return 0;
}

size_t lt_rps_bytes(const lt_rps *r)
{
    return sizeof(*r) + (r->mask + 1) * sizeof(struct map_slot)
           + r->order_alloc * sizeof(*r->order) + r->nblocks * sizeof(struct block)
           + r->ndense * LT_RPS_BLOCK * sizeof(uint32_t)
           + r->nwide * LT_RPS_BLOCK * sizeof(uint64_t) + r->sparse_bytes;
}
