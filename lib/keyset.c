/* keyset.c -- exact set of byte strings: open addressing over an arena.
 *
 * Representation
 * --------------
 * Keys live in an arena of chunks, each key as a 4-byte little-endian
 * length followed by its bytes; chunks are never moved, so a key's address
 * is stable.  The index is an open-addressing table of slots {hash, key},
 * with linear probing from the hash's top bits.
 *
 *   slots:  [h|*]--+   [0|-]   [h|*]--+
 *                  v                  v
 *   chunk:  |len|bytes......|len|bytes....|len|...      (1 KiB doubling to 64 KiB)
 *
 * Invariants: count <= (mask + 1) / 2; a slot is empty iff key == NULL;
 * equal keys have equal XXH3 hashes, and a probe compares the hash before
 * the bytes, so most mismatches cost no memcmp.
 *
 * Memory: 32 bytes of index per key at the worst load, plus the key and its
 * 4-byte length.  IPv6 clients (16-byte keys) cost about 36..52 bytes each.
 */
#include "keyset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
/* XXH3 compiled in (see urls.c): IPv6 and hostname clients hash per line. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "mem.h"

#define INITIAL_SLOTS 64
#define CHUNK_BYTES (64 * 1024)
#define FIRST_CHUNK_BYTES 1024

struct slot {
    uint64_t hash;
    const unsigned char *key;   /* points at the 4-byte length */
};

struct chunk {
    struct chunk *next;
    size_t used, cap;
    unsigned char data[];
};

struct lt_keyset {
    struct slot *slots;
    size_t mask;
    unsigned shift;
    uint64_t count;
    struct chunk *chunks;       /* oldest first */
    struct chunk *tail;         /* the chunk being filled */
    size_t chunk_bytes;         /* sum of chunk allocations */
    size_t limit;               /* cap on lt_keyset_bytes(), 0 for none */
};

static uint32_t key_len(const unsigned char *k)
{
    return (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

static unsigned log2_size(size_t n)
{
    unsigned b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

lt_keyset *lt_keyset_new(void)
{
    lt_keyset *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->slots = calloc(INITIAL_SLOTS, sizeof(struct slot));
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    s->mask = INITIAL_SLOTS - 1;
    s->shift = 64 - log2_size(INITIAL_SLOTS);
    return s;
}

void lt_keyset_free(lt_keyset *s)
{
    if (s == NULL)
        return;
    struct chunk *c = s->chunks;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(s->slots);
    free(s);
}

/* Finds the slot of key, or the empty slot where it would go. */
static struct slot *find(const lt_keyset *s, const void *key, size_t len, uint64_t h)
{
    for (size_t j = (size_t)(h >> s->shift);; j = (j + 1) & s->mask) {
        struct slot *sl = &s->slots[j];
        if (sl->key == NULL)
            return sl;
        if (sl->hash == h && key_len(sl->key) == len && memcmp(sl->key + 4, key, len) == 0)
            return sl;
    }
}

static int grow(lt_keyset *s)
{
    size_t ncap = (s->mask + 1) * 2;
    if (s->limit != 0 && lt_keyset_bytes(s) + (ncap / 2) * sizeof(struct slot) > s->limit)
        return -ENOSPC;
    struct slot *n = lt_mem_table(ncap, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    struct slot *old = s->slots;
    size_t oldcap = s->mask + 1;
    s->slots = n;
    s->mask = ncap - 1;
    s->shift = 64 - log2_size(ncap);
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key == NULL)
            continue;
        size_t j = (size_t)(old[i].hash >> s->shift);
        while (n[j].key != NULL)
            j = (j + 1) & s->mask;
        n[j] = old[i];
    }
    free(old);
    return 0;
}

/* Copies the key into the arena; returns its address, or NULL when out of
 * memory or over the limit. */
static unsigned char *store(lt_keyset *s, const void *key, size_t len)
{
    size_t need = 4 + len;
    struct chunk *c = s->tail;
    if (c == NULL || c->cap - c->used < need) {
        /* Chunks double from FIRST_CHUNK_BYTES up to CHUNK_BYTES, so that a
         * small set (a time bucket's few IPv6 clients) holds a small arena. */
        size_t cap = s->chunk_bytes < FIRST_CHUNK_BYTES ? FIRST_CHUNK_BYTES
                   : s->chunk_bytes < CHUNK_BYTES ? s->chunk_bytes : CHUNK_BYTES;
        if (need > cap)
            cap = need;
        if (s->limit != 0 && lt_keyset_bytes(s) + sizeof(*c) + cap > s->limit)
            return NULL;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = NULL;
        if (s->tail != NULL)
            s->tail->next = c;
        else
            s->chunks = c;
        s->tail = c;
        s->chunk_bytes += sizeof(*c) + cap;
    }
    unsigned char *k = c->data + c->used;
    k[0] = (unsigned char)len;
    k[1] = (unsigned char)(len >> 8);
    k[2] = (unsigned char)(len >> 16);
    k[3] = (unsigned char)(len >> 24);
    memcpy(k + 4, key, len);
    c->used += need;
    return k;
}

/* lt_keyset_add() of a key whose hash is h. */
static int add_hashed(lt_keyset *s, const void *key, size_t len, uint64_t h)
{
    struct slot *sl = find(s, key, len, h);
    if (sl->key != NULL)
        return 0;
    if ((s->count + 1) * 2 > s->mask + 1) {
        int rc = grow(s);
        if (rc < 0)
            return rc;
        sl = find(s, key, len, h);
    }
    const unsigned char *k = store(s, key, len);
    if (k == NULL)
        return s->limit != 0 ? -ENOSPC : -ENOMEM;
    sl->hash = h;
    sl->key = k;
    s->count++;
    return 1;
}

uint64_t lt_keyset_hash(const void *key, size_t len)
{
    return XXH3_64bits(key, len);
}

int lt_keyset_add_hashed(lt_keyset *s, const void *key, size_t len, uint64_t hash)
{
    if (len > UINT32_MAX - 4)
        return -EINVAL;
    return add_hashed(s, key, len, hash);
}

int lt_keyset_add(lt_keyset *s, const void *key, size_t len)
{
    return lt_keyset_add_hashed(s, key, len, XXH3_64bits(key, len));
}

int lt_keyset_contains(const lt_keyset *s, const void *key, size_t len)
{
    if (len > UINT32_MAX - 4)
        return 0;
    return find(s, key, len, XXH3_64bits(key, len))->key != NULL;
}

void lt_keyset_set_limit(lt_keyset *s, size_t bytes)
{
    s->limit = bytes;
}

uint64_t lt_keyset_size(const lt_keyset *s)
{
    return s->count;
}

size_t lt_keyset_bytes(const lt_keyset *s)
{
    return sizeof(*s) + (s->mask + 1) * sizeof(struct slot) + s->chunk_bytes;
}

int lt_keyset_foreach(const lt_keyset *s, int (*fn)(const void *key, size_t len, void *arg),
                      void *arg)
{
    /* Chunks are filled in order, oldest first, so keys come in insertion
     * order. */
    for (const struct chunk *c = s->chunks; c != NULL; c = c->next)
        for (size_t off = 0; off < c->used;) {
            uint32_t len = key_len(c->data + off);
            int rc = fn(c->data + off + 4, len, arg);
            if (rc != 0)
                return rc;
            off += 4 + (size_t)len;
        }
    return 0;
}

/* How many slots ahead lt_keyset_merge() starts loading a key and the dst
 * slot it will probe. */
#define MERGE_AHEAD 8
/* Odd, so that i * MERGE_STRIDE modulo a power of two visits every slot. */
#define MERGE_STRIDE ((size_t)0x9e3779b97f4a7c15u)

/* src's slots are walked in a scattered order, not in slot order: slot
 * order is hash order, which would fill dst front to back at the union's
 * final density before it grows (see lt_ip4set_merge()); and each slot's
 * hash is reused, not computed again. */
int lt_keyset_merge(lt_keyset *dst, const lt_keyset *src)
{
    size_t n = src->mask + 1;
    for (size_t i = 0; i < n; i++) {
        if (i + MERGE_AHEAD < n) {
            const struct slot *a = &src->slots[((i + MERGE_AHEAD) * MERGE_STRIDE) & src->mask];
            if (a->key != NULL) {
                __builtin_prefetch(a->key);
                __builtin_prefetch(&dst->slots[(size_t)(a->hash >> dst->shift)]);
            }
        }
        const struct slot *sl = &src->slots[(i * MERGE_STRIDE) & src->mask];
        if (sl->key == NULL)
            continue;
        int rc = add_hashed(dst, sl->key + 4, key_len(sl->key), sl->hash);
        if (rc < 0)
            return rc;
    }
    return 0;
}
