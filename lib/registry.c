/* registry.c -- every file the daemon has seen, known by identity, never by path.
 *
 * Representation
 * --------------
 * Entries are allocated one by one (a caller may hold a pointer to one
 * until it is removed) and listed in an array for iteration; removal swaps
 * the last entry into the hole.  A hash table with chaining indexes the
 * entries that have an identity (device, inode) -- ghosts have none -- so
 * finding a file is O(1) whatever the number of files (a glob over
 * thousands of rotated logs is resolved every second).  A second table
 * indexes them by fingerprint (its length and hash), with a count of the
 * entries of each length, so a file never seen under its identity (rule 2
 * of lt_registry_resolve) is matched by hashing its start once per length
 * in use, not by comparing it with every entry.
 *
 * Why a fingerprint and not only the inode
 * ----------------------------------------
 * An inode number is reused as soon as a file is deleted (logrotate's
 * `rotate N` deletes the oldest on every rotation), and copytruncate keeps
 * the inode while replacing the content.  The hash of the first bytes
 * (LT_REG_FP_BYTES: a log line's client and timestamp) tells contents
 * apart; the same hash over a gzip file's decompressed start recognises
 * `compress`'s access.log.2.gz as the access.log.1 already read, and over a
 * plain file copytruncate's access.log.1 as the content cut off access.log.
 *
 * Invariants
 * ----------
 *   - at most one non-ghost entry per (device, inode);
 *   - an entry's offset never exceeds what it counted lines up to;
 *   - a ghost is claimed (removed) by the first copy that continues it, so
 *     its lines are handed on once.
 */
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct node {
    lt_reg_entry e;
    size_t index;             /* in r->list */
    struct node *chain;       /* next with the same identity bucket */
    int hashed;
    struct node *fp_chain;    /* next with the same fingerprint bucket */
    int fp_hashed;
};

#define FP_BUCKETS 4096

struct lt_registry {
    struct node **list;
    size_t n, cap;
    struct node **buckets;
    size_t n_buckets;         /* a power of two */
    size_t n_hashed;
    /* Entries by fingerprint (length and hash), and how many have each
     * length: a probe hashes its start once per length in use. */
    struct node *fp_buckets[FP_BUCKETS];
    size_t fp_lengths[LT_REG_FP_BYTES + 1];
};

static size_t bucket_of(const lt_registry *r, uint64_t dev, uint64_t ino)
{
    uint64_t k[2] = {dev, ino};
    return (size_t)(XXH3_64bits(k, sizeof(k)) & (r->n_buckets - 1));
}

static void unhash(lt_registry *r, struct node *n)
{
    if (!n->hashed)
        return;
    struct node **pp = &r->buckets[bucket_of(r, n->e.dev, n->e.ino)];
    while (*pp != n)
        pp = &(*pp)->chain;
    *pp = n->chain;
    n->chain = NULL;
    n->hashed = 0;
    r->n_hashed--;
}

static int grow_buckets(lt_registry *r)
{
    size_t nb = r->n_buckets ? r->n_buckets * 2 : 64;
    struct node **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    struct node **old = r->buckets;
    size_t old_n = r->n_buckets;
    r->buckets = b;
    r->n_buckets = nb;
    for (size_t i = 0; i < old_n; i++)
        for (struct node *n = old[i], *next; n != NULL; n = next) {
            next = n->chain;
            size_t k = bucket_of(r, n->e.dev, n->e.ino);
            n->chain = b[k];
            b[k] = n;
        }
    free(old);
    return 0;
}

static size_t fp_bucket(uint32_t len, uint64_t hash)
{
    return (size_t)((hash ^ ((uint64_t)len * 0x9E3779B97F4A7C15ull)) & (FP_BUCKETS - 1));
}

static void fp_out(lt_registry *r, struct node *n)
{
    if (!n->fp_hashed)
        return;
    struct node **pp = &r->fp_buckets[fp_bucket(n->e.fp_len, n->e.fp_hash)];
    while (*pp != n)
        pp = &(*pp)->fp_chain;
    *pp = n->fp_chain;
    n->fp_chain = NULL;
    n->fp_hashed = 0;
    r->fp_lengths[n->e.fp_len]--;
}

/* Only fingerprints long enough to tell files apart are indexed. */
static void fp_in(lt_registry *r, struct node *n)
{
    if (n->e.fp_len < LT_REG_FP_MIN || n->e.fp_len > LT_REG_FP_BYTES)
        return;
    size_t k = fp_bucket(n->e.fp_len, n->e.fp_hash);
    n->fp_chain = r->fp_buckets[k];
    r->fp_buckets[k] = n;
    n->fp_hashed = 1;
    r->fp_lengths[n->e.fp_len]++;
}

void lt_registry_set_fp(lt_registry *r, lt_reg_entry *e, uint32_t fp_len, uint64_t fp_hash)
{
    struct node *n = (struct node *)e;
    if (e->fp_len == fp_len && e->fp_hash == fp_hash)
        return;
    fp_out(r, n);
    e->fp_len = fp_len;
    e->fp_hash = fp_hash;
    fp_in(r, n);
}

static int hash_in(lt_registry *r, struct node *n)
{
    if (n->e.state == LT_REG_GHOST)
        return 0;
    if (r->n_hashed + 1 > r->n_buckets / 2 && grow_buckets(r) < 0)
        return -ENOMEM;
    size_t k = bucket_of(r, n->e.dev, n->e.ino);
    n->chain = r->buckets[k];
    r->buckets[k] = n;
    n->hashed = 1;
    r->n_hashed++;
    return 0;
}

lt_registry *lt_registry_new(void)
{
    lt_registry *r = calloc(1, sizeof(*r));
    if (r != NULL && grow_buckets(r) < 0) {
        free(r);
        return NULL;
    }
    return r;
}

static void free_node(struct node *n)
{
    free(n->e.path);
    free(n);
}

void lt_registry_free(lt_registry *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        free_node(r->list[i]);
    free(r->list);
    free(r->buckets);
    free(r);
}

size_t lt_registry_count(const lt_registry *r)
{
    return r->n;
}

lt_reg_entry *lt_registry_at(lt_registry *r, size_t i)
{
    return i < r->n ? &r->list[i]->e : NULL;
}

lt_reg_entry *lt_registry_find(lt_registry *r, uint64_t dev, uint64_t ino)
{
    for (struct node *n = r->buckets[bucket_of(r, dev, ino)]; n != NULL; n = n->chain)
        if (n->e.dev == dev && n->e.ino == ino)
            return &n->e;
    return NULL;
}

lt_reg_entry *lt_registry_add(lt_registry *r, const lt_reg_entry *e)
{
    struct node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->e = *e;
    n->e.path = strdup(e->path ? e->path : "");
    if (n->e.path == NULL)
        goto fail;
    if (e->state != LT_REG_GHOST && lt_registry_find(r, e->dev, e->ino) != NULL) {
        /* One entry per identity: a second (a damaged checkpoint's) is
         * not added, the first stays. */
        free_node(n);
        return lt_registry_find(r, e->dev, e->ino);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct node **l = realloc(r->list, cap * sizeof(*l));
        if (l == NULL)
            goto fail;
        r->list = l;
        r->cap = cap;
    }
    if (hash_in(r, n) < 0)
        goto fail;
    fp_in(r, n);
    n->index = r->n;
    r->list[r->n++] = n;
    return &n->e;

fail:
    free_node(n);
    return NULL;
}

void lt_registry_remove(lt_registry *r, lt_reg_entry *e)
{
    struct node *n = (struct node *)e;    /* e is the node's first member */
    unhash(r, n);
    fp_out(r, n);
    size_t i = n->index;
    r->list[i] = r->list[--r->n];
    r->list[i]->index = i;
    free_node(n);
}

uint64_t lt_registry_fp(const unsigned char *head, size_t n)
{
    return XXH64(head, n, 0);
}

/* 1 when the probe's start is the content e was fingerprinted from. */
static int starts_as(const lt_reg_entry *e, const lt_reg_probe *p)
{
    return e->fp_len <= p->head_len && lt_registry_fp(p->head, e->fp_len) == e->fp_hash;
}

/* The fingerprint of the probe's start as an entry keeps it. */
static void fingerprint(lt_registry *r, lt_reg_entry *e, const lt_reg_probe *p)
{
    uint32_t len = p->head_len < LT_REG_FP_BYTES ? (uint32_t)p->head_len : LT_REG_FP_BYTES;
    if (r != NULL) {
        lt_registry_set_fp(r, e, len, lt_registry_fp(p->head, len));
    } else {
        e->fp_len = len;
        e->fp_hash = lt_registry_fp(p->head, len);
    }
}

int lt_registry_ghost(lt_registry *r, const lt_reg_entry *e, uint32_t fp_len, uint64_t fp_hash,
                      uint64_t offset, uint64_t lines, uint64_t malformed)
{
    if (fp_len < LT_REG_FP_MIN || offset == 0)
        return 0;    /* nothing a copy could be recognised by, or nothing read */
    lt_reg_entry g = *e;
    g.dev = g.ino = 0;
    g.state = LT_REG_GHOST;
    g.active = 0;
    g.fp_len = fp_len;
    g.fp_hash = fp_hash;
    g.offset = g.size = offset;
    g.lines = lines;
    g.malformed = malformed;
    return lt_registry_add(r, &g) != NULL ? 0 : -ENOMEM;
}

/* Among the entries whose fingerprint (LT_REG_FP_MIN bytes or more) the
 * probe's start matches, the one being read, else the one read furthest;
 * NULL when none. */
static lt_reg_entry *known_content(const lt_registry *r, const lt_reg_probe *p)
{
    lt_reg_entry *best = NULL;
    size_t top = p->head_len < LT_REG_FP_BYTES ? p->head_len : LT_REG_FP_BYTES;
    for (size_t len = LT_REG_FP_MIN; len <= top; len++) {
        if (r->fp_lengths[len] == 0)
            continue;
        uint64_t h = lt_registry_fp(p->head, len);
        for (struct node *n = r->fp_buckets[fp_bucket((uint32_t)len, h)]; n; n = n->fp_chain) {
            lt_reg_entry *c = &n->e;
            if (c->fp_len != len || c->fp_hash != h)
                continue;
            if (best == NULL || (c->active && !best->active) ||
                (c->active == best->active && c->offset > best->offset))
                best = c;
        }
    }
    return best;
}

int lt_registry_resolve(lt_registry *r, const lt_reg_probe *p, const char *path, int64_t now,
                        lt_reg_entry **out)
{
    lt_reg_entry *e = lt_registry_find(r, p->dev, p->ino), *best = NULL;
    char *name = strdup(path);
    uint64_t carried_truncations = 0, carried_rotations = 0;

    *out = NULL;
    if (name == NULL)
        return -ENOMEM;
    if (e != NULL && !e->gz && e->offset == 0 && e->fp_len < LT_REG_FP_MIN &&
        (best = known_content(r, p)) != NULL) {
        /* Nothing read from it and too few bytes seen to recognise it:
         * only the inode says it is that file, and its bytes now start as
         * a content already known.  A freed inode taken by a copy of that
         * content (copytruncate's, while the daemon was down): rule 2. */
        carried_truncations = e->truncations;
        carried_rotations = e->rotations;
        lt_registry_remove(r, e);
        e = NULL;
    }
    if (e != NULL) {
        /* Rule 1: the same identity. */
        if (starts_as(e, p) && (e->fp_len > 0 || p->size >= e->offset)) {
            free(e->path);
            e->path = name;
            e->seen = now;
            e->gz = p->gz;
            if (e->gz && e->state == LT_REG_DONE)
                return LT_REG_SKIP;
            if (!e->gz && p->size < e->offset) {
                if (lt_registry_ghost(r, e, e->fp_len, e->fp_hash, e->offset, e->lines,
                                      e->malformed) < 0)
                    return -ENOMEM;
                e->offset = 0;
                e->lines = e->malformed = 0;
                e->truncations++;
                fingerprint(r, e, p);
            }
            if (e->fp_len < LT_REG_FP_BYTES && p->head_len > e->fp_len)
                fingerprint(r, e, p);
            e->size = p->size;
            *out = e;
            return LT_REG_SAME;
        }
        /* Other bytes under a known inode: keep the old content as a ghost
         * (a copy of it may turn up), and decide for the new one. */
        if (!e->gz && lt_registry_ghost(r, e, e->fp_len, e->fp_hash, e->offset, e->lines,
                                        e->malformed) < 0) {
            free(name);
            return -ENOMEM;
        }
        carried_truncations = e->gz ? 0 : e->truncations + 1;
        carried_rotations = e->rotations;
        lt_registry_remove(r, e);
        e = NULL;
    }

    /* Rule 2: the start of a content already known. */
    if (best == NULL)
        best = known_content(r, p);
    if (best != NULL && best->active) {
        free(name);
        return LT_REG_WAIT;
    }
    lt_reg_entry n = {0};
    n.path = name;
    n.dev = p->dev;
    n.ino = p->ino;
    n.gz = p->gz;
    n.seen = now;
    n.size = p->size;
    n.state = LT_REG_FOLLOWING;
    n.truncations = carried_truncations;
    n.rotations = carried_rotations;
    int verdict = LT_REG_NEW;
    if (best != NULL) {
        n.offset = best->offset;
        n.lines = best->lines;
        n.malformed = best->malformed;
        n.rotations = best->rotations;
        verdict = LT_REG_CONTINUES;
        if (!p->gz && n.offset > p->size)
            n.offset = p->size;    /* a copy shorter than what was read: nothing left */
    }
    fingerprint(NULL, &n, p);
    if (best != NULL && best->state == LT_REG_GHOST)
        lt_registry_remove(r, best);
    *out = lt_registry_add(r, &n);
    free(name);
    return *out != NULL ? verdict : -ENOMEM;
}

static int forgettable(const lt_reg_entry *e)
{
    return !e->active && e->state != LT_REG_FOLLOWING;
}

static int by_seen(const void *a, const void *b)
{
    const lt_reg_entry *x = *(lt_reg_entry *const *)a, *y = *(lt_reg_entry *const *)b;
    return x->seen < y->seen ? -1 : x->seen > y->seen;
}

size_t lt_registry_expire(lt_registry *r, int64_t now, int64_t max_age, size_t max_entries)
{
    size_t gone = 0;
    for (size_t i = 0; i < r->n;) {
        lt_reg_entry *e = &r->list[i]->e;
        if (forgettable(e) && now - e->seen > max_age) {
            lt_registry_remove(r, e);
            gone++;
        } else {
            i++;
        }
    }
    if (r->n <= max_entries)
        return gone;
    lt_reg_entry **old = malloc(r->n * sizeof(*old));
    size_t k = 0;
    if (old == NULL)
        return gone;
    for (size_t i = 0; i < r->n; i++)
        if (forgettable(&r->list[i]->e))
            old[k++] = &r->list[i]->e;
    qsort(old, k, sizeof(*old), by_seen);
    for (size_t i = 0; i < k && r->n > max_entries; i++, gone++)
        lt_registry_remove(r, old[i]);
    free(old);
    return gone;
}
