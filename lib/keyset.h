/* keyset.h -- an exact set of byte strings (IPv6 addresses, hostnames). */
#ifndef LT_KEYSET_H
#define LT_KEYSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_keyset lt_keyset;

/* Returns a new empty set, or NULL when out of memory. */
lt_keyset *lt_keyset_new(void);
void lt_keyset_free(lt_keyset *s);     /* NULL is a no-op */

/* Caps the memory the set may hold (0, the default, means no cap): a growth
 * that would pass it fails with -ENOSPC instead. */
void lt_keyset_set_limit(lt_keyset *s, size_t bytes);

/* Adds len bytes at key (any bytes; len < 4 GiB).  Returns 1 when new, 0
 * when already present, -ENOMEM or -ENOSPC (set unchanged), or -EINVAL
 * (too long).  The set keeps its own copy of the key. */
int lt_keyset_add(lt_keyset *s, const void *key, size_t len);
/* The hash lt_keyset_add() computes, for a key added to several sets:
 * lt_keyset_add_hashed() with it is lt_keyset_add(), one hash fewer. */
uint64_t lt_keyset_hash(const void *key, size_t len);
int lt_keyset_add_hashed(lt_keyset *s, const void *key, size_t len, uint64_t hash);
int lt_keyset_contains(const lt_keyset *s, const void *key, size_t len);

uint64_t lt_keyset_size(const lt_keyset *s);     /* distinct keys */
size_t lt_keyset_bytes(const lt_keyset *s);      /* bytes of memory held */

/* Calls fn for every key in insertion order; a non-zero return from fn
 * stops the walk and is returned. */
int lt_keyset_foreach(const lt_keyset *s, int (*fn)(const void *key, size_t len, void *arg),
                      void *arg);

/* Adds every key of src to dst.  Returns 0 or a negative lt_keyset_add()
 * error (dst then holds part of src). */
int lt_keyset_merge(lt_keyset *dst, const lt_keyset *src);

#endif
