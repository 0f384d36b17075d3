/* urls.c -- hits per request target: exact open addressing, then Space-Saving.
 *
 * Representation
 * --------------
 * An index of 8-byte slots and one contiguous arena of records.  A slot
 * holds the top 32 bits of the key's XXH3 hash (the tag) and the record's
 * offset in the arena in units of 8 bytes (0 = empty slot: the arena's
 * first 8 bytes are never a record).  A record holds the count next to the
 * key, so a hit costs two cache misses (slot, record) and no more:
 *
 *   slots (8 B):   [tag|0] [tag|off] [tag|off] [tag|0] ...  home = tag >> (32 - log2 cap)
 *                             |         |
 *                             |         +-------------------+
 *                             v                             v
 *   arena:  |unused 8|count|len|key bytes..|pad|count|len|key..|pad| ...
 *
 *   exact record         = count (8) | varint len | key bytes | pad to 8
 *   Space-Saving record  = count (8) | err (8) | heap pos (4) | varint len | key | pad
 *
 * The length is a LEB128 varint, one byte for the usual URL (< 128 bytes).
 * Keys are any bytes (NUL, invalid UTF-8, any size_t length); the 32-bit
 * offsets address 32 GiB of arena, past which an add fails with -ENOMEM.
 * The home slot is the tag's top bits, so growth rehashes from the slots
 * alone, never touching the arena (slots are capped at 2^32, which the 2^31
 * entry cap below never needs).  A probe compares the tag before touching
 * the record, so most mismatches cost nothing.
 *
 * Load factor: at most 3/4.  Slots are 8 to a cache line, so the expected
 * 2.5 probes of a hit and 8.5 of a miss at the worst load stay within one
 * or two lines, and the index costs 10.7 to 21.3 bytes per URL instead of
 * 16 to 32 at 1/2.  The arena grows by half (realloc; glibc moves large
 * blocks with mremap, without copying).  Measured with 1 to 3 million URLs
 * of 12 bytes: 30 to 36 bytes per URL besides the key's own bytes.
 *
 * Exact mode and the switch
 * -------------------------
 * While size < max_entries every count is exact.  The first new URL past
 * the bound switches the table, for good, to Space-Saving (Metwally,
 * Agrawal, El Abbadi, "Efficient computation of frequent and top-k elements
 * in data streams", ICDT 2005) over the same max_entries records: the URL
 * of smallest count m is evicted and the new URL gets count m + c and
 * error m.  The switch rewrites the arena once into the Space-Saving
 * layout, so exact tables do not carry the 12 bytes of err and heap
 * position.  The minimum is found with a binary min-heap of record offsets
 * keyed by count, each record storing its heap position, so an eviction or
 * an increment costs O(log k).  The stream-summary bucket list is O(1) only
 * for +1 increments, but the API adds arbitrary counts (and merges add
 * whole tables); and in a skewed stream an increment of a hot URL sifts
 * down from a leaf, which is O(1) in practice anyway.
 *
 * Error bound B (bound): 0 while exact; afterwards the largest count ever
 * evicted.  B never exceeds the smallest count in the table (the textbook
 * Space-Saving bound) and is what the guarantees need:
 *   (1) every record has count - err <= true <= count and err <= B;
 *   (2) a URL not in the table has true count <= B;
 *   (3) every count in the table is >= B;
 *   (4) for a table built by adds alone, B <= total / max_entries, because
 *       the counts then sum to the total.
 * A new URL that arrives while the table is inexact but not full (only
 * after a merge) gets count B + c and error B, by (2).
 *
 * Eviction and the memory bound
 * -----------------------------
 * The evicted key leaves the index by backward-shift deletion (no
 * tombstones, so the load stays exact); its slot is found by probing from
 * its recomputed hash for its offset.  Its record becomes garbage.  When
 * the arena is full and the garbage is at least half the live records, the
 * live records are copied into a new arena of 1.5 times their size instead
 * of growing.  So in Space-Saving mode the arena stays below about 2.25
 * times the live records (plus one record), 3.75 times briefly during a
 * compaction, and a compaction copies no more bytes than were evicted
 * since the previous one: O(1) amortised per evicted byte.  Exact tables
 * have no garbage.
 *
 * Merge (lt_urls_merge)
 * ---------------------
 * Two exact tables whose union fits stay exact: counts are summed in place.
 *
 * An exact src that does not fit (the common case: a parallel reader's
 * partial table for one chunk, merged into a table that has turned
 * Space-Saving) is added into dst URL by URL, each with its count, exactly
 * as lt_urls_add() of that count would: dst reads src as a stream of
 * weighted items.  Weighted Space-Saving keeps (1)-(3) (the proof of each
 * add does not depend on the weight being 1) and (4): every add of c raises
 * the sum of the counts by exactly c (an eviction moves m from the victim
 * to the newcomer), so the counts still sum to the total and the largest
 * count ever evicted, the smallest of k counts at the time, is at most
 * total / k.  The cost is O(|src| log k), whatever the size of dst: a
 * merge never touches the records src lacks.  (Rebuilding dst and sorting
 * the union at each merge, as the general rule below does, made 60 % of the
 * cycles of a 50 GB log with a 1 M-entry table: 22 MB/s.)
 *
 * An inexact src (a table of k entries already) is merged by the rule of
 * mergeable summaries, in O(|dst| + |src|) = O(k), as follows.  With Bd
 * and Bs the bounds of dst and src (0 when exact), every
 * URL of the union gets
 *   count = cd + cs,  err = ed + es,
 * where a side that lacks the URL contributes its bound B for both (its
 * true count there lies in [0, B] by (2)).  When more than k = max_entries
 * URLs remain, the k of largest count are kept (ties: bytes ascending;
 * found by selection, O(n), not by a sort) and C = the (k+1)-th count is
 * dropped with the rest.  The new bound is
 *   B = max(Bd + Bs, C),
 * which keeps (1)-(3): kept counts are >= Bd + Bs and >= C, a URL absent
 * from both sides has true count <= Bd + Bs, a dropped one <= C.  This is
 * the Space-Saving form of the mergeable summaries of Agarwal, Cormode,
 * Huang, Phillips, Wei, Yi (PODS 2012).  For two add-built inputs of the
 * same k the padded counts sum to at most 2 * total, so C <= 2 * total /
 * (k + 1) and B <= 2 * total / k; for two exact inputs C <= total/(k + 1).
 * The result is built in a new table and swapped in, so a failed merge of
 * an inexact src leaves dst unchanged.
 *
 * Limits: max_entries is clamped to [1, 2^31] so the heap positions fit 32
 * bits; a bound above 2^31 could not be reached in memory anyway.  Counts
 * and the total saturate at UINT64_MAX instead of wrapping.  Every
 * allocation an add needs happens before its first change, so -ENOMEM
 * always leaves the table as it was.
 *
 * Complexity: add O(1) expected (exact) or O(log k) (Space-Saving, plus
 * O(len) to rehash an evicted key); growth O(1) amortised; top O(size log
 * n) with no allocation; merge O(|src|) exact, O(|src| log k) when an
 * exact src overflows dst, O(|dst| + |src|) from an inexact src.
 */
#include "urls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* XXH3 compiled in here rather than called in libxxhash: every counted
 * line hashes its URL, and the inlined short-input path skips a call and
 * the library's dispatch.  Same function, same values. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "mem.h"

#define INITIAL_SLOTS 16
#define INITIAL_ARENA 4096
#define EXACT_HDR 8                        /* count */
#define SS_HDR 20                          /* count, err, heap position */
#define MAX_ENTRIES ((size_t)1 << 31)
#define MAX_ARENA ((uint64_t)UINT32_MAX * 8)

struct slot {
    uint32_t tag;    /* top 32 bits of the key's hash */
    uint32_t off;    /* record offset / 8; 0 for an empty slot */
};

struct lt_urls {
    struct slot *slots;
    size_t mask;            /* slot count - 1 (a power of two - 1) */
    unsigned shift;         /* 32 - log2(slot count) */
    size_t slot_limit;      /* records allowed before the slots double (3/4) */

    unsigned char *arena;
    size_t used;            /* bytes in use, garbage included; a multiple of 8 */
    size_t cap;             /* bytes allocated */
    size_t live;            /* bytes of records the slots point at */
    size_t hdr;             /* EXACT_HDR or SS_HDR: where the key starts */

    size_t size;            /* records in the index */
    size_t max;             /* max_entries, clamped */

    uint32_t *heap;         /* Space-Saving: record offsets, a min-heap by count */
    size_t heap_alloc;
    bool ss_on;             /* Space-Saving mode: counts are upper bounds */
    uint64_t bound;         /* B of the design comment; 0 while exact */
    uint64_t total;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;
    return s < a ? UINT64_MAX : s;
}

/* The arena holds no declared objects, so fields are read and written with
 * memcpy, which compiles to plain moves. */
static uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void store64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static uint32_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void store32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static unsigned char *rec_at(const lt_urls *u, uint32_t off)
{
    return u->arena + (size_t)off * 8;
}

static size_t varint_size(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Bytes of a record with a hdr-byte header and a len-byte key, or 0 when
 * it could never fit the arena. */
static size_t rec_size_for(size_t hdr, size_t len)
{
    if ((uint64_t)len >= MAX_ARENA || len > SIZE_MAX / 2)
        return 0;
    return (hdr + varint_size(len) + len + 7) & ~(size_t)7;
}

/* Writes the key part of a record (varint length and bytes) at p. */
static void put_key(unsigned char *p, const char *key, size_t len)
{
    size_t v = len;
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    if (len != 0)
        memcpy(p, key, len);
}

/* Returns the key bytes of the record at rec and stores their length in
 * *len. */
static const char *rec_key(const lt_urls *u, const unsigned char *rec, size_t *len)
{
    const unsigned char *p = rec + u->hdr;
    if (p[0] < 0x80) {
        *len = p[0];
        return (const char *)p + 1;
    }
    size_t v = 0;
    unsigned sh = 0;
    while (*p >= 0x80) {
        v |= (size_t)(*p++ & 0x7f) << sh;
        sh += 7;
    }
    *len = v | (size_t)*p << sh;
    return (const char *)p + 1;
}

static bool rec_equals(const lt_urls *u, const unsigned char *rec, const char *key, size_t len)
{
    size_t rlen;
    const char *k = rec_key(u, rec, &rlen);
    return rlen == len && (len == 0 || memcmp(k, key, len) == 0);
}

static size_t home(const lt_urls *u, uint32_t tag)
{
    return (size_t)(tag >> u->shift);
}

/* Returns the index of the slot holding the key, or of the empty slot
 * where the probe for it ended. */
static size_t find(const lt_urls *u, const char *url, size_t len, uint64_t h)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t j = home(u, tag);; j = (j + 1) & u->mask) {
        struct slot s = u->slots[j];
        if (s.off == 0)
            return j;
        if (s.tag == tag && rec_equals(u, rec_at(u, s.off), url, len))
            return j;
    }
}

/* Puts the record at off, whose key hashes to h, in the first empty slot
 * of its probe. */
static void insert_slot(lt_urls *u, uint64_t h, uint32_t off)
{
    uint32_t tag = (uint32_t)(h >> 32);
    size_t j = home(u, tag);
    while (u->slots[j].off != 0)
        j = (j + 1) & u->mask;
    u->slots[j].tag = tag;
    u->slots[j].off = off;
}

/* Removes the record at off, whose key hashes to h, from the index by
 * backward-shift deletion: later members of the cluster move back when the
 * hole lies between their home and their slot.  The search goes round the
 * whole table if need be, so even a caller's wrong hash cannot make it
 * miss. */
static void delete_slot(lt_urls *u, uint64_t h, uint32_t off)
{
    size_t hole = home(u, (uint32_t)(h >> 32));
    for (size_t n = 0; n <= u->mask && u->slots[hole].off != off; n++)
        hole = (hole + 1) & u->mask;
    for (size_t j = (hole + 1) & u->mask; u->slots[j].off != 0; j = (j + 1) & u->mask) {
        size_t from_home = (j - home(u, u->slots[j].tag)) & u->mask;
        if (from_home >= ((j - hole) & u->mask)) {
            u->slots[hole] = u->slots[j];
            hole = j;
        }
    }
    u->slots[hole].tag = 0;
    u->slots[hole].off = 0;
}

/* Doubles the index.  Returns 0 or -ENOMEM (index unchanged). */
static int grow_slots(lt_urls *u)
{
    size_t cap = u->mask + 1;
    if (cap > SIZE_MAX / 2 / sizeof(struct slot) || (uint64_t)cap >= ((uint64_t)1 << 32))
        return -ENOMEM;
    size_t ncap = cap * 2;
    struct slot *old = u->slots;
    struct slot *n = lt_mem_table(ncap, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    u->slots = n;
    u->mask = ncap - 1;
    u->shift--;
    u->slot_limit = ncap - ncap / 4;
    for (size_t j = 0; j < cap; j++)
        if (old[j].off != 0) {
            size_t k = home(u, old[j].tag);
            while (n[k].off != 0)
                k = (k + 1) & u->mask;
            n[k] = old[j];
        }
    free(old);
    return 0;
}

/* The Space-Saving min-heap: heap[p] is a record offset, the record's
 * count is the key, and the record's heap position field points back. */
static uint64_t heap_count(const lt_urls *u, size_t p)
{
    return load64(rec_at(u, u->heap[p]));
}

static void heap_set(lt_urls *u, size_t p, uint32_t off)
{
    u->heap[p] = off;
    store32(rec_at(u, off) + 16, (uint32_t)p);
}

static void sift_down(lt_urls *u, size_t p)
{
    uint32_t off = u->heap[p];
    uint64_t c = load64(rec_at(u, off));
    for (;;) {
        size_t m = 2 * p + 1;
        if (m >= u->size)
            break;
        if (m + 1 < u->size && heap_count(u, m + 1) < heap_count(u, m))
            m++;
        if (heap_count(u, m) >= c)
            break;
        heap_set(u, p, u->heap[m]);
        p = m;
    }
    heap_set(u, p, off);
}

static void sift_up(lt_urls *u, size_t p)
{
    uint32_t off = u->heap[p];
    uint64_t c = load64(rec_at(u, off));
    while (p > 0 && heap_count(u, (p - 1) / 2) > c) {
        heap_set(u, p, u->heap[(p - 1) / 2]);
        p = (p - 1) / 2;
    }
    heap_set(u, p, off);
}

/* Makes the heap hold n records.  Returns 0 or -ENOMEM (heap unchanged). */
static int reserve_heap(lt_urls *u, size_t n)
{
    if (u->heap_alloc >= n)
        return 0;
    if (n > SIZE_MAX / sizeof(uint32_t))
        return -ENOMEM;
    uint32_t *h = realloc(u->heap, n * sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    u->heap = h;
    u->heap_alloc = n;
    return 0;
}

/* Copies every live record, in slot order, into a new arena of cap bytes
 * written in the layout of hdr (the old layout is u->hdr), and points the
 * slots and, in Space-Saving layout, the heap at the copies; heap
 * positions are kept when the old layout has them, else numbered in slot
 * order.  cap must hold them all.  Returns 0 or -ENOMEM (nothing moved). */
static int rewrite_arena(lt_urls *u, size_t cap, size_t hdr)
{
    unsigned char *a = malloc(cap);
    if (a == NULL)
        return -ENOMEM;
    lt_mem_hint(a, cap);
    memset(a, 0, 8);
    size_t used = 8, n = 0;
    for (size_t j = 0; j <= u->mask; j++) {
        if (u->slots[j].off == 0)
            continue;
        const unsigned char *rec = rec_at(u, u->slots[j].off);
        size_t len;
        const char *key = rec_key(u, rec, &len);
        size_t size = rec_size_for(hdr, len);
        unsigned char *to = a + used;
        uint32_t off = (uint32_t)(used / 8);
        memset(to + size - 8, 0, 8);        /* the padding */
        store64(to, load64(rec));
        if (hdr == SS_HDR) {
            uint32_t pos = u->hdr == SS_HDR ? load32(rec + 16) : (uint32_t)n;
            store64(to + 8, u->hdr == SS_HDR ? load64(rec + 8) : 0);
            store32(to + 16, pos);
            u->heap[pos] = off;
        }
        put_key(to + hdr, key, len);
        u->slots[j].off = off;
        used += size;
        n++;
    }
    free(u->arena);
    u->arena = a;
    u->cap = cap;
    u->used = used;
    u->live = used - 8;
    u->hdr = hdr;
    return 0;
}

/* Makes room for need more bytes at the end of the arena: in Space-Saving
 * mode by compaction when at least a third of the arena is garbage,
 * otherwise by growing it by half.  Returns 0 or -ENOMEM; the table is
 * logically unchanged either way. */
static int arena_room(lt_urls *u, size_t need)
{
    if (u->cap - u->used >= need)
        return 0;
    if (u->ss_on && u->used - 8 - u->live >= u->live / 2) {
        uint64_t want = (uint64_t)u->live + need + 8;
        if (want > MAX_ARENA)
            return -ENOMEM;
        want += want / 2;
        if (want > MAX_ARENA)
            want = MAX_ARENA;
        if (want > SIZE_MAX)
            return -ENOMEM;
        return rewrite_arena(u, (size_t)want, u->hdr);
    }
    uint64_t least = (uint64_t)u->used + need;
    if (least > MAX_ARENA)
        return -ENOMEM;
    uint64_t want = (uint64_t)u->cap + u->cap / 2;
    if (want < least)
        want = least;
    if (want > MAX_ARENA)
        want = MAX_ARENA;
    if (want > SIZE_MAX)
        return -ENOMEM;
    unsigned char *a = realloc(u->arena, (size_t)want);
    if (a == NULL)
        return -ENOMEM;
    lt_mem_hint(a, (size_t)want);
    u->arena = a;
    u->cap = (size_t)want;
    return 0;
}

/* Appends a record for key with the given count (and err, heap position p
 * in Space-Saving layout).  The room must have been made.  Returns its
 * offset. */
static uint32_t append_record(lt_urls *u, const char *key, size_t len, uint64_t count,
                              uint64_t err, size_t p)
{
    size_t size = rec_size_for(u->hdr, len);
    unsigned char *rec = u->arena + u->used;
    uint32_t off = (uint32_t)(u->used / 8);
    memset(rec + size - 8, 0, 8);
    store64(rec, count);
    if (u->hdr == SS_HDR) {
        store64(rec + 8, err);
        store32(rec + 16, (uint32_t)p);
    }
    put_key(rec + u->hdr, key, len);
    u->used += size;
    u->live += size;
    return off;
}

lt_urls *lt_urls_new(size_t max_entries)
{
    lt_urls *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    u->slots = calloc(INITIAL_SLOTS, sizeof(struct slot));
    u->arena = malloc(INITIAL_ARENA);
    if (u->slots == NULL || u->arena == NULL)
        goto fail;
    memset(u->arena, 0, 8);
    u->used = 8;
    u->cap = INITIAL_ARENA;
    u->hdr = EXACT_HDR;
    u->mask = INITIAL_SLOTS - 1;
    u->shift = 32 - 4;
    u->slot_limit = INITIAL_SLOTS - INITIAL_SLOTS / 4;
    u->max = max_entries < 1 ? 1 : max_entries > MAX_ENTRIES ? MAX_ENTRIES : max_entries;
    return u;

fail:
    free(u->arena);
    free(u->slots);
    free(u);
    return NULL;
}

void lt_urls_free(lt_urls *u)
{
    if (u == NULL)
        return;
    free(u->heap);
    free(u->arena);
    free(u->slots);
    free(u);
}

uint64_t lt_urls_hash(const char *url, size_t len)
{
    return XXH3_64bits(url, len);
}

void lt_urls_prefetch(const lt_urls *u, uint64_t hash)
{
    __builtin_prefetch(&u->slots[home(u, (uint32_t)(hash >> 32))]);
}

void lt_urls_prefetch_record(const lt_urls *u, uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32);
    struct slot s = u->slots[home(u, tag)];
    if (s.off != 0 && s.tag == tag)
        __builtin_prefetch(rec_at(u, s.off));
}

/* The Space-Saving step: the record of smallest count gives its place to
 * the new URL.  A table still exact is first rewritten into the Space-Saving
 * layout, with room for the new record, so nothing can fail after that.
 * Returns 0 or -ENOMEM (table unchanged). */
static int add_evicting(lt_urls *u, const char *url, size_t len, uint64_t h, uint64_t count)
{
    size_t need = rec_size_for(SS_HDR, len);
    if (need == 0)
        return -ENOMEM;
    if (!u->ss_on) {
        /* A record grows by at most 16 bytes (12 of fields, 4 of padding). */
        uint64_t cap = 8 + (uint64_t)need + (uint64_t)u->size * 16 + u->live;
        cap += cap / 2;
        if (cap > MAX_ARENA || cap > SIZE_MAX || reserve_heap(u, u->size) != 0
            || rewrite_arena(u, (size_t)cap, SS_HDR) != 0)
            return -ENOMEM;
        for (size_t p = u->size / 2; p-- > 0;)
            sift_down(u, p);
        u->ss_on = true;
    } else if (arena_room(u, need) != 0) {
        return -ENOMEM;
    }

    uint32_t victim = u->heap[0];
    unsigned char *rec = rec_at(u, victim);
    uint64_t m = load64(rec);
    size_t olen;
    const char *okey = rec_key(u, rec, &olen);
    delete_slot(u, XXH3_64bits(okey, olen), victim);
    u->live -= rec_size_for(SS_HDR, olen);

    uint32_t off = append_record(u, url, len, sat_add(m, count), m, 0);
    u->heap[0] = off;
    insert_slot(u, h, off);
    if (m > u->bound)
        u->bound = m;
    sift_down(u, 0);
    u->total = sat_add(u->total, count);
    return 0;
}

/* Adds a URL that is not in the table; slot is where find() stopped.  All
 * allocations come first, so -ENOMEM leaves the table unchanged. */
static int add_new(lt_urls *u, const char *url, size_t len, uint64_t h, uint64_t count, size_t slot)
{
    if (u->size == u->max)
        return add_evicting(u, url, len, h, count);
    size_t need = rec_size_for(u->hdr, len);
    if (need == 0)
        return -ENOMEM;
    bool grew = false;
    if (u->size >= u->slot_limit) {
        if (grow_slots(u) != 0)
            return -ENOMEM;
        grew = true;
    }
    if (u->ss_on && u->size == u->heap_alloc) {
        size_t want = u->heap_alloc + u->heap_alloc / 2 + 16;
        if (reserve_heap(u, want < u->max ? want : u->max) != 0)
            return -ENOMEM;
    }
    if (arena_room(u, need) != 0)
        return -ENOMEM;

    /* Inexact but not full happens only after a merge: the new URL may
     * already have been seen up to bound times, by invariant (2). */
    uint64_t base = u->ss_on ? u->bound : 0;
    uint32_t off = append_record(u, url, len, sat_add(base, count), base, u->size);
    if (u->ss_on) {
        u->heap[u->size] = off;
        u->size++;
        sift_up(u, u->size - 1);
    } else {
        u->size++;
    }
    if (grew) {
        insert_slot(u, h, off);
    } else {
        u->slots[slot].tag = (uint32_t)(h >> 32);
        u->slots[slot].off = off;
    }
    u->total = sat_add(u->total, count);
    return 0;
}

int lt_urls_add_hashed(lt_urls *u, const char *url, size_t len, uint64_t hash, uint64_t count)
{
    /* Zero hits add nothing; inserting the URL would give Space-Saving a
     * counter of 0 and break invariant (3). */
    if (count == 0)
        return 0;
    size_t j = find(u, url, len, hash);
    uint32_t off = u->slots[j].off;
    if (off == 0)
        return add_new(u, url, len, hash, count, j);
    unsigned char *rec = rec_at(u, off);
    store64(rec, sat_add(load64(rec), count));
    if (u->ss_on)
        sift_down(u, load32(rec + 16));
    u->total = sat_add(u->total, count);
    return 0;
}

int lt_urls_add(lt_urls *u, const char *url, size_t len, uint64_t count)
{
    return lt_urls_add_hashed(u, url, len, XXH3_64bits(url, len), count);
}

bool lt_urls_exact(const lt_urls *u)
{
    return !u->ss_on;
}

uint64_t lt_urls_error_bound(const lt_urls *u)
{
    return u->ss_on ? u->bound : 0;
}

size_t lt_urls_size(const lt_urls *u)
{
    return u->size;
}

uint64_t lt_urls_total(const lt_urls *u)
{
    return u->total;
}

size_t lt_urls_max(const lt_urls *u)
{
    return u->max;
}

size_t lt_urls_bytes(const lt_urls *u)
{
    return sizeof(*u) + (u->mask + 1) * sizeof(struct slot) + u->cap
           + u->heap_alloc * sizeof(uint32_t);
}

static void fill(const lt_urls *u, uint32_t off, lt_url_count *out)
{
    const unsigned char *rec = rec_at(u, off);
    out->url = rec_key(u, rec, &out->len);
    out->count = load64(rec);
    out->error = u->ss_on ? load64(rec + 8) : 0;
}

/* Memcmp order over the common length, a prefix first. */
static int compare_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n == 0 ? 0 : memcmp(a, b, n);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* true when a ranks before b in lt_urls_top() order. */
static bool ranks_before(const lt_url_count *a, const lt_url_count *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    return compare_bytes(a->url, a->len, b->url, b->len) < 0;
}

/* Sift-down in a heap whose root is the entry ranking last. */
static void top_sift(lt_url_count *h, size_t n, size_t p)
{
    lt_url_count x = h[p];
    for (;;) {
        size_t m = 2 * p + 1;
        if (m >= n)
            break;
        if (m + 1 < n && ranks_before(&h[m], &h[m + 1]))
            m++;
        if (!ranks_before(&x, &h[m]))
            break;
        h[p] = h[m];
        p = m;
    }
    h[p] = x;
}

/* Offers c to the heap of the best n in out, which holds *k of them. */
static inline void top_offer(lt_url_count *out, size_t n, size_t *k, const lt_url_count *c)
{
    if (*k == n && c->count < out[0].count)
        return;    /* the usual case, decided without the bytes */
    if (*k < n) {
        size_t p = (*k)++;
        while (p > 0 && ranks_before(&out[(p - 1) / 2], c)) {
            out[p] = out[(p - 1) / 2];
            p = (p - 1) / 2;
        }
        out[p] = *c;
    } else if (ranks_before(c, &out[0])) {
        out[0] = *c;
        top_sift(out, *k, 0);
    }
}

size_t lt_urls_top(const lt_urls *u, size_t n, lt_url_count *out)
{
    /* out itself is the heap of the best n seen so far, its root the one
     * ranking last, so the walk needs no memory of its own; a heap sort
     * then leaves out in rank order.  An exact table's arena holds its
     * records end to end with no garbage: walking it in address order
     * reads memory the prefetcher can follow, where the index sends every
     * record to a cache miss (2.5 ms against 0.5 for 97,000 URLs, and
     * every /v1/summary of a changing tally pays it). */
    size_t k = 0;
    lt_url_count c;
    if (n == 0)
        return 0;
    if (!u->ss_on && u->live == u->used - 8) {
        for (size_t at = 8; at < u->used; at += rec_size_for(EXACT_HDR, c.len)) {
            fill(u, (uint32_t)(at / 8), &c);
            top_offer(out, n, &k, &c);
        }
    } else {
        for (size_t j = 0; j <= u->mask; j++) {
            if (u->slots[j].off == 0)
                continue;
            fill(u, u->slots[j].off, &c);
            top_offer(out, n, &k, &c);
        }
    }
    for (size_t end = k; end > 1; end--) {
        lt_url_count last = out[0];
        out[0] = out[end - 1];
        out[end - 1] = last;
        top_sift(out, end - 1, 0);
    }
    return k;
}

int lt_urls_foreach(const lt_urls *u, int (*fn)(const lt_url_count *e, void *arg), void *arg)
{
    for (size_t j = 0; j <= u->mask; j++) {
        if (u->slots[j].off == 0)
            continue;
        lt_url_count c;
        fill(u, u->slots[j].off, &c);
        int rc = fn(&c, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Sums src into dst when both are exact and the union fits.  Returns 1
 * when it does not apply (nothing changed), 0 when done, or -ENOMEM (dst
 * logically unchanged). */
/* How many src slots ahead merge_exact() starts loading the record and the
 * dst slot a slot will need: enough to cover a memory access with the work
 * of the slots in between. */
#define MERGE_AHEAD 8

/* merge_exact() walks src's slots in order, which visits its records and
 * dst's slots in random order; this starts loading both for the slot
 * MERGE_AHEAD further on. */
static void merge_prefetch(const lt_urls *dst, const lt_urls *src, size_t j)
{
    if (j + MERGE_AHEAD > src->mask)
        return;
    struct slot s = src->slots[j + MERGE_AHEAD];
    if (s.off != 0) {
        __builtin_prefetch(rec_at(src, s.off));
        __builtin_prefetch(&dst->slots[home(dst, s.tag)]);
    }
}

/* The hash to look a src slot up by: the index uses only the top 32 bits
 * of a hash (the tag: home slot and comparison), which the slot holds, so
 * src's keys need not be hashed again. */
static uint64_t slot_hash(struct slot s)
{
    return (uint64_t)s.tag << 32;
}

static int merge_exact(lt_urls *dst, const lt_urls *src)
{
    if (dst->ss_on || src->ss_on)
        return 1;
    /* When dst has room for all of src already (the usual case: a small
     * partial table into a large one), the pass that counts the keys dst
     * lacks is skipped; it costs a lookup per key, as much as the merge. */
    if (src->size <= dst->max - dst->size && dst->size + src->size <= dst->slot_limit &&
        dst->cap - dst->used >= src->live)
        goto merge;
    size_t missing = 0;
    uint64_t bytes = 0;
    for (size_t j = 0; j <= src->mask; j++) {
        merge_prefetch(dst, src, j);
        if (src->slots[j].off == 0)
            continue;
        size_t len;
        const char *k = rec_key(src, rec_at(src, src->slots[j].off), &len);
        if (dst->slots[find(dst, k, len, slot_hash(src->slots[j]))].off == 0) {
            missing++;
            bytes += rec_size_for(EXACT_HDR, len);
        }
    }
    if (missing > dst->max - dst->size)
        return 1;
    while (dst->size + missing > dst->slot_limit)
        if (grow_slots(dst) != 0)
            return -ENOMEM;
    if (bytes > SIZE_MAX || (bytes > 0 && arena_room(dst, (size_t)bytes) != 0))
        return -ENOMEM;

    /* Nothing below can fail.  Reading src's count before writing dst's
     * makes lt_urls_merge(u, u) double every count. */
merge:;
    uint64_t total = src->total;
    for (size_t j = 0; j <= src->mask; j++) {
        merge_prefetch(dst, src, j);
        if (src->slots[j].off == 0)
            continue;
        const unsigned char *rec = rec_at(src, src->slots[j].off);
        uint64_t c = load64(rec);
        size_t len;
        const char *k = rec_key(src, rec, &len);
        uint64_t h = slot_hash(src->slots[j]);
        size_t i = find(dst, k, len, h);
        if (dst->slots[i].off != 0) {
            unsigned char *d = rec_at(dst, dst->slots[i].off);
            store64(d, sat_add(load64(d), c));
            continue;
        }
        dst->slots[i].tag = (uint32_t)(h >> 32);
        dst->slots[i].off = append_record(dst, k, len, c, 0, 0);
        dst->size++;
    }
    dst->total = sat_add(dst->total, total);
    return 0;
}

struct candidate {
    uint64_t count, err, hash;
    const char *key;
    size_t len;
};

static int compare_candidates(const struct candidate *a, const struct candidate *b)
{
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return compare_bytes(a->key, a->len, b->key, b->len);
}

static void swap_candidates(struct candidate *a, struct candidate *b)
{
    struct candidate t = *a;
    *a = *b;
    *b = t;
}

/* Reorders c[0..n) so that c[0..k) are the k first in compare_candidates()
 * order (in no particular order among themselves) and c[k] is the next
 * one (k < n): Hoare's selection with a pseudo-random pivot, O(n)
 * expected, where a sort of the union cost O(n log n).  The order is
 * total (bytes break count ties), so the k kept are the same whatever the
 * pivots. */
static void select_best(struct candidate *c, size_t n, size_t k)
{
    size_t lo = 0, hi = n;    /* the k-th lies in c[lo..hi) */
    uint64_t r = 0x9e3779b97f4a7c15u ^ n;
    while (hi - lo > 1) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        swap_candidates(&c[lo], &c[lo + r % (hi - lo)]);
        /* Three-way partition around the pivot at lo: [lo, lt) before it,
         * [lt, gt) equal (just the pivot: the order is total), [gt, hi)
         * after. */
        size_t lt = lo, i = lo + 1, gt = hi;
        struct candidate pivot = c[lo];
        while (i < gt) {
            int d = compare_candidates(&c[i], &pivot);
            if (d < 0)
                swap_candidates(&c[lt++], &c[i++]);
            else if (d > 0)
                swap_candidates(&c[i], &c[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

/* Looks up a key in a table.  Returns its record, or NULL when absent. */
static const unsigned char *lookup(const lt_urls *u, const char *key, size_t len, uint64_t h)
{
    uint32_t off = u->slots[find(u, key, len, h)].off;
    return off == 0 ? NULL : rec_at(u, off);
}

bool lt_urls_get(const lt_urls *u, const char *url, size_t len, lt_url_count *out)
{
    uint32_t off = u->slots[find(u, url, len, lt_urls_hash(url, len))].off;
    if (off == 0)
        return false;
    fill(u, off, out);
    return true;
}

/* A new Space-Saving table of the n candidates (n <= max) with the given
 * bound and total, or NULL when out of memory.  Shared by merge and by
 * lt_urls_restore(). */
static lt_urls *build_inexact(size_t max, const struct candidate *c, size_t n, uint64_t bound,
                              uint64_t total)
{
    uint64_t bytes = 8;
    for (size_t i = 0; i < n; i++)
        bytes += rec_size_for(SS_HDR, c[i].len);
    lt_urls *t = lt_urls_new(max);
    if (t == NULL || bytes > MAX_ARENA || bytes > SIZE_MAX || reserve_heap(t, n) != 0)
        goto fail;
    unsigned char *arena = realloc(t->arena, (size_t)bytes);
    if (arena == NULL)
        goto fail;
    lt_mem_hint(arena, (size_t)bytes);
    t->arena = arena;
    t->cap = (size_t)bytes;
    while (n > t->slot_limit)
        if (grow_slots(t) != 0)
            goto fail;
    t->hdr = SS_HDR;
    t->ss_on = true;
    for (size_t i = 0; i < n; i++) {
        uint32_t off = append_record(t, c[i].key, c[i].len, c[i].count, c[i].err, i);
        t->heap[i] = off;
        insert_slot(t, c[i].hash, off);
    }
    t->size = n;
    for (size_t p = n / 2; p-- > 0;)
        sift_down(t, p);
    t->bound = bound;
    t->total = total;
    return t;

fail:
    lt_urls_free(t);
    return NULL;
}

int lt_urls_restore(lt_urls *u, const lt_url_count *e, size_t n, uint64_t bound, uint64_t total)
{
    if (u->size != 0 || n > u->max)
        return -EINVAL;
    struct candidate *c = malloc((n ? n : 1) * sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (e[i].error > e[i].count || e[i].count < bound) {
            free(c);
            return -EINVAL;
        }
        c[i].key = e[i].url;
        c[i].len = e[i].len;
        c[i].hash = XXH3_64bits(e[i].url, e[i].len);
        c[i].count = e[i].count;
        c[i].err = e[i].error;
    }
    lt_urls *t = build_inexact(u->max, c, n, bound, total);
    free(c);
    if (t == NULL)
        return -ENOMEM;
    lt_urls old = *u;
    *u = *t;
    *t = old;
    lt_urls_free(t);
    return 0;
}

/* Adds src's counts to dst one URL at a time, as if dst had read src's
 * lines itself (see "Merge" in the design comment).  Returns 0 or
 * -ENOMEM (dst then holds part of src). */
static int merge_adding(lt_urls *dst, const lt_urls *src)
{
    /* Room first, for as many keys as dst may come to hold.  src is read
     * in slot order, which is hash order: into an index too small, its
     * keys fill one end of it as a single cluster that each insertion
     * probes to its end until the index doubles (a window of 16 buckets:
     * 75 % of its time in find()).  A failed growth only costs that. */
    size_t want = dst->size + src->size < dst->max ? dst->size + src->size : dst->max;
    while (want > dst->slot_limit && grow_slots(dst) == 0)
        ;
    for (size_t j = 0; j <= src->mask; j++) {
        merge_prefetch(dst, src, j);
        if (src->slots[j].off == 0)
            continue;
        const unsigned char *rec = rec_at(src, src->slots[j].off);
        size_t len;
        const char *k = rec_key(src, rec, &len);
        int rc = lt_urls_add_hashed(dst, k, len, slot_hash(src->slots[j]), load64(rec));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int lt_urls_merge(lt_urls *dst, const lt_urls *src)
{
    if (src->size == 0) {
        dst->total = sat_add(dst->total, src->total);
        return 0;
    }
    int rc = merge_exact(dst, src);
    if (rc <= 0)
        return rc;
    if (!src->ss_on && src != dst)
        return merge_adding(dst, src);

    /* The general rule of the design comment, built into a new table t. */
    uint64_t bd = dst->ss_on ? dst->bound : 0;
    uint64_t bs = src->ss_on ? src->bound : 0;
    lt_urls *t = NULL;
    size_t n = 0;
    struct candidate *c = malloc((dst->size + src->size) * sizeof(*c));
    if (c == NULL)
        goto fail;
    for (size_t j = 0; j <= dst->mask; j++) {
        if (dst->slots[j].off == 0)
            continue;
        const unsigned char *rec = rec_at(dst, dst->slots[j].off);
        struct candidate *x = &c[n++];
        x->key = rec_key(dst, rec, &x->len);
        x->hash = XXH3_64bits(x->key, x->len);
        const unsigned char *s = lookup(src, x->key, x->len, x->hash);
        uint64_t cs = s == NULL ? bs : load64(s);
        uint64_t es = s == NULL ? bs : src->ss_on ? load64(s + 8) : 0;
        x->count = sat_add(load64(rec), cs);
        x->err = sat_add(dst->ss_on ? load64(rec + 8) : 0, es);
    }
    for (size_t j = 0; j <= src->mask; j++) {
        if (src->slots[j].off == 0)
            continue;
        const unsigned char *rec = rec_at(src, src->slots[j].off);
        struct candidate *x = &c[n];
        x->key = rec_key(src, rec, &x->len);
        x->hash = XXH3_64bits(x->key, x->len);
        if (lookup(dst, x->key, x->len, x->hash) != NULL)
            continue;
        x->count = sat_add(load64(rec), bd);
        x->err = sat_add(src->ss_on ? load64(rec + 8) : 0, bd);
        n++;
    }
    uint64_t bound = sat_add(bd, bs);
    if (n > dst->max) {
        select_best(c, n, dst->max);
        if (c[dst->max].count > bound)
            bound = c[dst->max].count;
        n = dst->max;
    }

    t = build_inexact(dst->max, c, n, bound, sat_add(dst->total, src->total));
    if (t == NULL)
        goto fail;

    /* The caller holds dst's address, so the new contents move into it and
     * the old ones leave with t. */
    lt_urls old = *dst;
    *dst = *t;
    *t = old;
    lt_urls_free(t);
    free(c);
    return 0;

fail:
    lt_urls_free(t);
    free(c);
    return -ENOMEM;
}
