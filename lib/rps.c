/* rps.c -- requests per UTC second: sparse blocks of dense counters.
 *
 * Representation
 * --------------
 * Time is cut into blocks of LT_RPS_BLOCK = 3600 seconds aligned on
 * multiples of 3600 (UTC hours).  Block number n covers the seconds
 * [3600 n, 3600 n + 3599]; it is floor(second / 3600), so second -1 is in
 * block -1 at index 3599, never in block 0.  A block exists only once a
 * request fell into it and is a dense array of 32-bit counters with its
 * running total:
 *
 *   map (open addressing, number -> block)      order (sorted by number)
 *   [n=-1|*] [    ] [n=4|*] [    ] [n=5|*]      [*-1] [*4] [*5]
 *       |               |             |            |     |    |
 *       v               v             v            v     v    v
 *   block -1            block 4       block 5     (the same blocks)
 *   | num | total | wide | count[0] ... count[3599] |     14,424 bytes
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
 * to 64-bit counters (the `wide` array, 28,800 more bytes), so totals,
 * ranges and merges stay exact whatever is added.  Every reader goes
 * through count_at().
 *
 * Running totals: total, active seconds, first and last second, and the
 * peak (count and second).  An add only raises one second's count, so the
 * peak can only move to that second: it does when the new count is larger,
 * or equal and the second earlier (ties go to the earliest second).  A
 * merge applies the same rule to every second it raises.
 *
 * Memory: a block is 14,424 bytes (plus 28,800 if widened) and 8 bytes of
 * order plus 16 to 32 of map, so a year with two active hours costs two
 * blocks, not 8,760.
 *
 * Complexity: add O(1) (new block: O(1) expected plus the order insert);
 * range total and series O(log blocks + blocks in range + buckets), where a
 * bucket inside a block costs O(step) for steps up to a minute and O(1)
 * for an hour or a day (block totals); foreach O(active blocks * 3600);
 * merge O(src blocks * 3600).  All allocations of an add or a merge come
 * before their first change, so -ENOMEM leaves the counts as they were.
 */
#include "rps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_MAP 16

struct block {
    int64_t num;                   /* block number: seconds [3600 num, 3600 num + 3599] */
    uint64_t total;                /* requests in the block */
    uint64_t *wide;                /* 64-bit counters once one would overflow, else NULL */
    uint32_t count[LT_RPS_BLOCK];  /* stale once wide is set */
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
    size_t nwide;                  /* blocks with 64-bit counters */
    struct block *cache;           /* the block of the last add */

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

static uint64_t count_at(const struct block *b, size_t i)
{
    return b->wide != NULL ? b->wide[i] : b->count[i];
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
    } else {
        for (size_t i = from; i < to; i++)
            s += b->count[i];
    }
    return s;
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
    b->num = num;
    map_put(r->map, r->mask, r, b);
    size_t at = r->nblocks;
    if (at > 0 && r->order[at - 1]->num > num) {
        at = order_lower_bound(r, num);
        memmove(&r->order[at + 1], &r->order[at], (r->nblocks - at) * sizeof(*r->order));
    }
    r->order[at] = b;
    r->nblocks++;
    return b;
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
        w[i] = b->count[i];
    b->wide = w;
    r->nwide++;
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
    if (after > r->peak || (after == r->peak && second < r->peak_second)) {
        r->peak = after;
        r->peak_second = second;
    }
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
    if (b->wide == NULL && b->count[i] <= UINT32_MAX - count) {
        before = b->count[i];
        b->count[i] += count;
        after = b->count[i];
    } else {
        /* A new block cannot overflow, so a failure here leaves no empty
         * block behind. */
        if (widen(r, b) != 0)
            return -ENOMEM;
        before = b->wide[i];
        b->wide[i] = sat_add(before, count);
        after = b->wide[i];
        if (after == before)
            return 0;
    }
    note(r, b, second, before, after);
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
        for (size_t i = 0; i < LT_RPS_BLOCK; i++) {
            uint64_t c = count_at(b, i);
            if (c == 0)
                continue;
            int rc = fn(second_of(b->num, i), c, arg);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

int lt_rps_merge(lt_rps *dst, const lt_rps *src)
{
    /* First every block dst will need, created and widened where a sum
     * would pass 32 bits: blocks left empty by a later failure hold no
     * request, so the counts are unchanged whatever happens. */
    for (size_t k = 0; k < src->nblocks; k++) {
        const struct block *sb = src->order[k];
        if (sb->total == 0)
            continue;
        struct block *db = block_get(dst, sb->num);
        if (db == NULL)
            return -ENOMEM;
        if (db->wide != NULL)
            continue;
        for (size_t i = 0; i < LT_RPS_BLOCK; i++)
            if (count_at(sb, i) > UINT32_MAX - db->count[i]) {
                if (widen(dst, db) != 0)
                    return -ENOMEM;
                break;
            }
    }

    /* Then the sums, which cannot fail.  Each value is read before its
     * destination is written, so lt_rps_merge(r, r) doubles r.  src->nblocks
     * is read once: with dst == src no block is created above. */
    size_t n = src->nblocks;
    for (size_t k = 0; k < n; k++) {
        const struct block *sb = src->order[k];
        if (sb->total == 0)
            continue;
        struct block *db = map_find(dst, sb->num);
        for (size_t i = 0; i < LT_RPS_BLOCK; i++) {
            uint64_t c = count_at(sb, i);
            if (c == 0)
                continue;
            uint64_t before, after;
            if (db->wide != NULL) {
                before = db->wide[i];
                db->wide[i] = sat_add(before, c);
                after = db->wide[i];
            } else {
                before = db->count[i];
                db->count[i] = (uint32_t)(before + c);
                after = db->count[i];
            }
            if (after != before)
                note(dst, db, second_of(sb->num, i), before, after);
        }
    }
    return 0;
}

size_t lt_rps_bytes(const lt_rps *r)
{
    return sizeof(*r) + (r->mask + 1) * sizeof(struct map_slot)
           + r->order_alloc * sizeof(*r->order) + r->nblocks * sizeof(struct block)
           + r->nwide * LT_RPS_BLOCK * sizeof(uint64_t);
}
