/* ip4set.c -- exact IPv4 set: a packed open-addressing table of uint32_t.
 *
 * Representation
 * --------------
 * slots[0 .. mask] holds addresses; 0 marks an empty slot, so the address
 * 0.0.0.0 is kept aside in has_zero.  A key's home slot is the top bits of
 * a multiplicative hash (Fibonacci hashing); collisions probe linearly.
 *
 *   slots: | 0 | 0a000001 | c0000201 | 0 | 0 | 08080808 | ... |
 *                 ^ home(k) ... linear probe ... first 0 = absent
 *
 * Invariants: count <= (mask + 1) / 2 (load factor at most 1/2, so an
 * absent key is found after about 2.5 probes on average); mask + 1 is a
 * power of two; there are no deletions, so no tombstones.
 *
 * Why not CRoaring
 * ----------------
 * Measured with bench/ipv4set.c on this project's 2-core machine (Debian 12,
 * libroaring-dev 0.2.66, gcc -O2):
 *
 *   stream                         CRoaring              this table
 *   20 M skewed adds, 1 M distinct  2.2 M adds/s 4.6 B/addr   50.3 M adds/s  8.4 B/addr
 *   1 M random distinct             1.8 M adds/s 4.6 B/addr   18.6 M adds/s  8.4 B/addr
 *   50 M skewed adds, 9.2 M distinct 2.0 M adds/s 2.3 B/addr  20.2 M adds/s 14.6 B/addr
 *   0.9 M clustered distinct       13.9 M adds/s 0.6 B/addr   23.6 M adds/s  9.5 B/addr
 *
 * CRoaring is 2 to 6 times more compact but 10 to 25 times slower to add to
 * in the packaged version, and the set is touched once per log line; at
 * 2 M adds/s it alone would take longer than the whole target time for a
 * 5 M-line file.  The table costs 8 to 16 bytes per address (load 1/4 .. 1/2
 * between doublings), so the default 256 MiB client budget holds at least
 * 16 M distinct addresses exactly; past the budget the HyperLogLog takes
 * over (see clients.c).
 *
 * Complexity: add and contains O(1) expected; growth doubles and rehashes,
 * O(n) amortised O(1).
 *
 * Shared mode: one set, many adding threads
 * -----------------------------------------
 * Parallel readers of one file used to fill a fresh set per 32 MiB chunk
 * and merge it into the caller's set, one chunk after the other: every
 * distinct address of a chunk was added twice, and the second add was
 * serial.  On a 5 M-line log with 1.58 M distinct clients, 2 threads spent
 * 18 to 30 % of their cycles in lt_ip4set_merge() and were no faster than
 * one.  A packed IPv4 address is one 32-bit word, so the set can instead
 * take adds from every thread at once (Xue and Marcus, "Global Hash Tables
 * Strike Back!", VLDB 2025): an add probes as usual and claims an empty
 * slot with a single compare-and-swap of 0 to the address.  Slots only ever
 * go from 0 to an address, so two threads adding the same address follow
 * the same probe, one CAS wins and the loser then reads the address in
 * that slot: exactly one of them reports it new, which is what feeds the
 * HyperLogLog once per address (clients.c).  The total work is the single
 * reader's, whatever the thread count, and the memory is one set.
 *
 * Growth needs the table to itself.  Each reader has a flag on its own
 * cache line, set by lt_ip4set_enter() and cleared by lt_ip4set_leave()
 * (once per batch of lines, so no shared line moves between cores on the
 * hot path).  A reader that must grow the table raises `growing`, waits
 * until every flag is clear, rehashes alone and lowers `growing`; enter()
 * waits while it is raised.  Both sides store then load with sequentially
 * consistent atomics, so either the grower sees the reader's flag or the
 * reader sees `growing` (Dekker).
 *
 * The load factor stays at most 1/2 through reservations: a reader takes
 * QUOTA slots at a time from a shared counter, with a CAS that cannot pass
 * the table's capacity, and spends one per address it inserts; so the
 * shared counter moves once per QUOTA new addresses, not per line.  A
 * failed reservation calls for a barrier, which folds the readers' counts
 * and doubles the table when fewer than QUOTA slots per reader are left.
 * When that doubling would pass the limit, the set goes on at one slot per
 * reservation instead, so it fills to the same load as a plain set before
 * refusing with -ENOSPC: the exact budget ends where a single reader's
 * would.
 *
 * Stamps: which time bucket last saw an address
 * ---------------------------------------------
 * A tally that keeps time buckets (buckets.c) also needs each bucket's
 * distinct clients.  Adding every line's address to a second table, the
 * bucket's, cost as much again as this one and most of the time a window
 * costs: on a 5 M-line log with 1.58 M clients, `analyze` with buckets took
 * 1.5 to 1.9 times as long, and 138 MB of RSS against 53.  A stamped set
 * (lt_ip4set_new_stamped()) keeps beside each address, in the same slot (8
 * bytes instead of 4, so the probe loads one cache line as before), the
 * stamp of the newest bucket it was handed to; lt_ip4set_add_stamped()
 * tells whether the address already carried the stamp, and the bucket
 * appends the address to a plain array (ip4list.c) only when it did not.
 * The invariant, for the set and the buckets of one tally: an address
 * stamped s is in the bucket of stamp s.  So a stamp is written only with
 * an append, merged addresses arrive stamped 0 (no bucket), and stamps
 * only grow: a late line for an older bucket appends without restamping,
 * so two readers of one shared set in neighbouring hours never make a
 * slot's line go back and forth between their cores.  Two readers may
 * both find an address unstamped and both append it: a list is
 * deduplicated when it is sorted, so that costs a duplicate, not a count.
 * 0.0.0.0, kept aside, is never reported as stamped.  The stamps double
 * the slots, so they are the first thing the budget takes: a doubling
 * that would pass the limit drops them instead, when the plain table fits,
 * and the set then holds as many addresses as an unstamped one would.
 * The buckets carry on without the hint (every line appends; the lists
 * sort the repeats out), a little slower.
 */
#include "ip4set.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define INITIAL_SLOTS 1024
/* Slots a reader reserves at a time in shared mode. */
#define QUOTA 256

struct lt_ip4set_reader {
    _Atomic int active;         /* inside enter/leave */
    uint32_t quota;             /* reserved slots left, valid for gen */
    unsigned gen;
    uint64_t added;             /* addresses this reader inserted */
    struct lt_ip4set *set;
} __attribute__((aligned(64)));

struct shared {
    pthread_mutex_t mu;         /* held by the grower; guards limit too */
    pthread_cond_t cv;
    _Atomic int growing;
    _Atomic int failed;         /* a growth failed: rc, for good */
    int rc;
    _Atomic uint64_t reserved;  /* slots handed out, at most max_count */
    uint64_t max_count;
    _Atomic unsigned gen;       /* bumped at each barrier: old quotas lapse */
    int precise;                /* reserve one slot at a time */
    _Atomic int has_zero;
    unsigned nreaders;
    struct lt_ip4set_reader readers[LT_IP4SET_READERS];
};

struct lt_ip4set {
    uint32_t *slots;   /* the address of slot j at slots[j << wide], its stamp after it */
    unsigned wide;     /* 1 when stamped: 2 words a slot */
    size_t mask;
    uint64_t count;    /* addresses in slots (0.0.0.0 excluded) */
    int has_zero;
    unsigned shift;    /* 64 - log2(mask + 1) */
    size_t limit;      /* cap on lt_ip4set_bytes(), 0 for none */
    struct shared *sh; /* non-NULL while shared */
};

static size_t home(const lt_ip4set *s, uint32_t addr)
{
    return (size_t)(((uint64_t)addr * 0x9e3779b97f4a7c15u) >> s->shift);
}

static unsigned log2_size(size_t n)
{
    unsigned b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

static size_t slot_bytes(const lt_ip4set *s)
{
    return sizeof(uint32_t) << s->wide;
}

static lt_ip4set *set_new(unsigned wide)
{
    lt_ip4set *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->wide = wide;
    s->slots = calloc(INITIAL_SLOTS, slot_bytes(s));
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    s->mask = INITIAL_SLOTS - 1;
    s->shift = 64 - log2_size(INITIAL_SLOTS);
    return s;
}

lt_ip4set *lt_ip4set_new(void) { return set_new(0); }
lt_ip4set *lt_ip4set_new_stamped(void) { return set_new(1); }

void lt_ip4set_unstamp(lt_ip4set *s)
{
    if (!s->wide || s->sh != NULL)
        return;
    /* Same capacity, same homes, same probes: slot i's address moves from
     * word 2i to word i, front to back, and the array halves. */
    size_t cap = s->mask + 1;
    for (size_t i = 0; i < cap; i++)
        s->slots[i] = s->slots[i << 1];
    s->wide = 0;
    uint32_t *n = realloc(s->slots, cap * sizeof(uint32_t));
    if (n != NULL)
        s->slots = n;
}

void lt_ip4set_free(lt_ip4set *s)
{
    if (s == NULL)
        return;
    lt_ip4set_unshare(s);
    free(s->slots);
    free(s);
}

/* Doubles the table.  A stamped set whose doubling would pass the limit
 * drops its stamps instead, if the table of plain slots fits: stamps are a
 * hint, and the budget is for addresses. */
static int grow(lt_ip4set *s)
{
    size_t ncap = (s->mask + 1) * 2;
    unsigned w = s->wide, nw = w;
    if (s->limit != 0 && sizeof(*s) + ncap * slot_bytes(s) > s->limit) {
        if (w == 0 || sizeof(*s) + ncap * sizeof(uint32_t) > s->limit)
            return -ENOSPC;
        nw = 0;
    }
    uint32_t *n = lt_mem_table(ncap, sizeof(uint32_t) << nw);
    if (n == NULL)
        return -ENOMEM;
    uint32_t *old = s->slots;
    size_t oldcap = s->mask + 1;
    s->slots = n;
    s->wide = nw;
    s->mask = ncap - 1;
    s->shift = 64 - log2_size(ncap);
    for (size_t i = 0; i < oldcap; i++) {
        uint32_t k = old[i << w];
        if (k == 0)
            continue;
        size_t j = home(s, k);
        while (n[j << nw] != 0)
            j = (j + 1) & s->mask;
        n[j << nw] = k;
        if (nw)
            n[(j << nw) + 1] = old[(i << w) + 1];
    }
    free(old);
    return 0;
}

/* The stamp rule of the design comment: sets *fresh (when asked) and
 * raises the stamp at p. */
static void restamp(uint32_t *p, uint32_t stamp, int *fresh)
{
    if (fresh != NULL)
        *fresh = *p != stamp;
    if (*p < stamp)
        *p = stamp;
}

/* A new address that needs a growth first: kept out of line, so that the
 * probe's registers stay free of it. */
static __attribute__((noinline)) int add_after_growth(lt_ip4set *s, uint32_t addr, uint32_t stamp)
{
    int rc = grow(s);
    return rc < 0 ? rc : lt_ip4set_add_stamped(s, addr, stamp, NULL);
}

/* lt_ip4set_add_stamped() for slots of 1 << w words, w a constant where it
 * is inlined, so that a plain set's probe has no shifts. */
static inline __attribute__((always_inline)) int add(lt_ip4set *s, uint32_t addr, uint32_t stamp,
                                                     int *fresh, unsigned w)
{
    if (fresh != NULL)
        *fresh = 1;
    if (addr == 0) {
        int added = !s->has_zero;
        s->has_zero = 1;
        return added;
    }
    size_t j = home(s, addr);
    for (;;) {
        uint32_t k = s->slots[j << w];
        if (k == addr) {
            if (w)
                restamp(&s->slots[(j << w) + 1], stamp, fresh);
            return 0;
        }
        if (k == 0)
            break;
        j = (j + 1) & s->mask;
    }
    if ((s->count + 1) * 2 > s->mask + 1)
        return add_after_growth(s, addr, stamp);
    s->slots[j << w] = addr;
    if (w)
        s->slots[(j << w) + 1] = stamp;
    s->count++;
    return 1;
}

int lt_ip4set_add_stamped(lt_ip4set *s, uint32_t addr, uint32_t stamp, int *fresh)
{
    return s->wide ? add(s, addr, stamp, fresh, 1) : add(s, addr, stamp, fresh, 0);
}

int lt_ip4set_add(lt_ip4set *s, uint32_t addr)
{
    return lt_ip4set_add_stamped(s, addr, 0, NULL);
}

int lt_ip4set_contains(const lt_ip4set *s, uint32_t addr)
{
    if (addr == 0)
        return s->has_zero;
    for (size_t j = home(s, addr);; j = (j + 1) & s->mask) {
        if (s->slots[j << s->wide] == addr)
            return 1;
        if (s->slots[j << s->wide] == 0)
            return 0;
    }
}

void lt_ip4set_prefetch(const lt_ip4set *s, uint32_t addr)
{
    __builtin_prefetch(&s->slots[home(s, addr) << s->wide]);
}

void lt_ip4set_set_limit(lt_ip4set *s, size_t bytes)
{
    if (s->sh != NULL)
        pthread_mutex_lock(&s->sh->mu);
    s->limit = bytes;
    if (s->sh != NULL)
        pthread_mutex_unlock(&s->sh->mu);
}

uint64_t lt_ip4set_size(const lt_ip4set *s)
{
    return s->count + (uint64_t)s->has_zero;
}

size_t lt_ip4set_bytes(const lt_ip4set *s)
{
    if (s->sh == NULL)
        return sizeof(*s) + (s->mask + 1) * slot_bytes(s);
    pthread_mutex_lock(&s->sh->mu);
    size_t b = sizeof(*s) + (s->mask + 1) * slot_bytes(s);
    pthread_mutex_unlock(&s->sh->mu);
    return b;
}

int lt_ip4set_foreach(const lt_ip4set *s, int (*fn)(uint32_t addr, void *arg), void *arg)
{
    int rc;
    if (s->has_zero && (rc = fn(0, arg)) != 0)
        return rc;
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slots[i << s->wide] != 0 && (rc = fn(s->slots[i << s->wide], arg)) != 0)
            return rc;
    return 0;
}

/* How many addresses ahead lt_ip4set_merge() starts loading the dst slot
 * an address will probe, and twice that the src slot it comes from. */
#define MERGE_AHEAD 16
/* Odd, so that i * MERGE_STRIDE modulo a power of two visits every slot. */
#define MERGE_STRIDE ((size_t)0x9e3779b97f4a7c15u)

/* A set's slots hold its addresses in the order of their hash (the home
 * slot is the hash's top bits), and dst's homes follow the same order.
 * Added in slot order, src's addresses would fill dst front to back at the
 * union's final density long before the count calls for a growth, and
 * linear probing would then walk clusters as long as what was added so far:
 * merging the 32 MiB parts of a 2.85 M-client log into the daemon's tally
 * spent 40 % of its cycles there, and 14 % more in the growths.  So the
 * slots are visited in a scattered order (i * an odd number is a
 * permutation of 0..2^k - 1), which makes the arrivals random, and the
 * cache misses this costs overlap through prefetches. */
int lt_ip4set_merge(lt_ip4set *dst, const lt_ip4set *src)
{
    int rc;
    if (src->has_zero && (rc = lt_ip4set_add(dst, 0)) < 0)
        return rc;
    size_t n = src->mask + 1;
    unsigned w = src->wide;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 * MERGE_AHEAD < n)
            __builtin_prefetch(
                &src->slots[(((i + 2 * MERGE_AHEAD) * MERGE_STRIDE) & src->mask) << w]);
        if (i + MERGE_AHEAD < n) {
            uint32_t ahead = src->slots[(((i + MERGE_AHEAD) * MERGE_STRIDE) & src->mask) << w];
            if (ahead != 0)
                lt_ip4set_prefetch(dst, ahead);
        }
        uint32_t a = src->slots[((i * MERGE_STRIDE) & src->mask) << w];
        if (a != 0 && (rc = lt_ip4set_add(dst, a)) < 0)
            return rc;
    }
    return 0;
}

int lt_ip4set_share(lt_ip4set *s, unsigned readers)
{
    if (s->sh != NULL || readers == 0 || readers > LT_IP4SET_READERS)
        return -EINVAL;
    struct shared *sh = aligned_alloc(64, sizeof(*sh));
    if (sh == NULL)
        return -ENOMEM;
    memset(sh, 0, sizeof(*sh));
    if (pthread_mutex_init(&sh->mu, NULL) != 0) {
        free(sh);
        return -ENOMEM;
    }
    if (pthread_cond_init(&sh->cv, NULL) != 0) {
        pthread_mutex_destroy(&sh->mu);
        free(sh);
        return -ENOMEM;
    }
    sh->nreaders = readers;
    sh->max_count = (s->mask + 1) / 2;
    atomic_store(&sh->reserved, s->count);
    atomic_store(&sh->has_zero, s->has_zero);
    for (unsigned i = 0; i < readers; i++)
        sh->readers[i].set = s;
    s->sh = sh;
    return 0;
}

lt_ip4set_reader *lt_ip4set_reader_at(lt_ip4set *s, unsigned i)
{
    return s->sh != NULL && i < s->sh->nreaders ? &s->sh->readers[i] : NULL;
}

void lt_ip4set_enter(lt_ip4set_reader *r)
{
    struct shared *sh = r->set->sh;
    for (;;) {
        atomic_store(&r->active, 1);
        if (!atomic_load(&sh->growing))
            return;
        atomic_store(&r->active, 0);
        pthread_mutex_lock(&sh->mu);
        while (atomic_load(&sh->growing))
            pthread_cond_wait(&sh->cv, &sh->mu);
        pthread_mutex_unlock(&sh->mu);
    }
}

void lt_ip4set_leave(lt_ip4set_reader *r)
{
    atomic_store_explicit(&r->active, 0, memory_order_release);
}

/* Takes slots for r from the shared reservation.  Returns 0, or -EAGAIN
 * when the table is at its load limit. */
static int reserve(lt_ip4set_reader *r)
{
    struct shared *sh = r->set->sh;
    unsigned gen = atomic_load_explicit(&sh->gen, memory_order_relaxed);
    uint64_t cur = atomic_load_explicit(&sh->reserved, memory_order_relaxed);
    for (;;) {
        if (cur >= sh->max_count) {
            r->quota = 0;
            r->gen = gen;    /* what barrier() compares with */
            return -EAGAIN;
        }
        uint64_t take = sh->precise ? 1 : QUOTA;
        if (take > sh->max_count - cur)
            take = sh->max_count - cur;
        if (atomic_compare_exchange_weak(&sh->reserved, &cur, cur + take)) {
            r->quota = (uint32_t)take;
            r->gen = gen;
            return 0;
        }
    }
}

/* The barrier of the design comment, called by a reader inside whose
 * reservation failed; it leaves inside again, with the table grown, or
 * the set failed. */
static void barrier(lt_ip4set_reader *r)
{
    lt_ip4set *s = r->set;
    struct shared *sh = s->sh;
    unsigned seen = r->gen;

    lt_ip4set_leave(r);
    pthread_mutex_lock(&sh->mu);
    if (atomic_load(&sh->failed) || atomic_load(&sh->gen) != seen ||
        atomic_load(&sh->reserved) < sh->max_count)
        goto out;    /* another reader's barrier came first */
    atomic_store(&sh->growing, 1);
    for (unsigned i = 0; i < sh->nreaders; i++)
        while (atomic_load(&sh->readers[i].active))
            sched_yield();
    for (unsigned i = 0; i < sh->nreaders; i++) {
        s->count += sh->readers[i].added;
        sh->readers[i].added = 0;
    }
    size_t cap = s->mask + 1;
    if ((s->count + (uint64_t)QUOTA * sh->nreaders) * 2 > cap) {
        int rc = grow(s);
        if (rc < 0 && (s->count + 1) * 2 > cap) {
            sh->rc = rc;
            atomic_store(&sh->failed, 1);
        }
        /* Refused but not yet full: fill up one slot at a time. */
        sh->precise = rc < 0;
    }
    sh->max_count = (s->mask + 1) / 2;
    atomic_store(&sh->reserved, s->count);
    atomic_fetch_add(&sh->gen, 1);
    atomic_store(&sh->growing, 0);
    pthread_cond_broadcast(&sh->cv);
out:
    pthread_mutex_unlock(&sh->mu);
    lt_ip4set_enter(r);
}

/* restamp() for a slot other readers may stamp at once (relaxed: a stamp
 * is a hint whose races cost a duplicate, see the design comment). */
static void restamp_shared(uint32_t *p, uint32_t stamp, int *fresh)
{
    uint32_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
    if (fresh != NULL)
        *fresh = old != stamp;
    /* A compare-and-swap, so that a lower stamp never overwrites a higher
     * one stored meanwhile; it runs once per address and bucket. */
    while (old < stamp &&
           !__atomic_compare_exchange_n(p, &old, stamp, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

int lt_ip4set_add_shared_stamped(lt_ip4set_reader *r, uint32_t addr, uint32_t stamp, int *fresh)
{
    lt_ip4set *s = r->set;
    struct shared *sh = s->sh;
    if (fresh != NULL)
        *fresh = 1;
    if (addr == 0)
        return atomic_exchange(&sh->has_zero, 1) == 0;
    for (;;) {
        /* Read again after each barrier: a growth may drop the stamps. */
        uint32_t *slots = s->slots;
        unsigned w = s->wide;
        size_t mask = s->mask, j = home(s, addr);
        for (;;) {
            uint32_t k = __atomic_load_n(&slots[j << w], __ATOMIC_RELAXED);
            if (k == addr) {
                if (w)
                    restamp_shared(&slots[(j << w) + 1], stamp, fresh);
                return 0;
            }
            if (k != 0) {
                j = (j + 1) & mask;
                continue;
            }
            if (atomic_load_explicit(&sh->failed, memory_order_relaxed))
                return sh->rc;
            if (r->quota == 0 || r->gen != atomic_load_explicit(&sh->gen, memory_order_relaxed))
                if (reserve(r) < 0)
                    break;
            uint32_t expect = 0;
            if (__atomic_compare_exchange_n(&slots[j << w], &expect, addr, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
                r->quota--;
                r->added++;
                if (w)
                    restamp_shared(&slots[(j << w) + 1], stamp, NULL);
                return 1;
            }
            if (expect == addr) {
                if (w)
                    restamp_shared(&slots[(j << w) + 1], stamp, fresh);
                return 0;
            }
            j = (j + 1) & mask;
        }
        barrier(r);
    }
}

int lt_ip4set_add_shared(lt_ip4set_reader *r, uint32_t addr)
{
    return lt_ip4set_add_shared_stamped(r, addr, 0, NULL);
}

int lt_ip4set_unshare(lt_ip4set *s)
{
    struct shared *sh = s->sh;
    if (sh == NULL)
        return 0;
    for (unsigned i = 0; i < sh->nreaders; i++)
        s->count += sh->readers[i].added;
    s->has_zero = atomic_load(&sh->has_zero);
    int rc = atomic_load(&sh->failed) ? sh->rc : 0;
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->cv);
    free(sh);
    s->sh = NULL;
    return rc;
}
