/* ip4set.h -- an exact set of IPv4 addresses (packed uint32_t). */
#ifndef LT_IP4SET_H
#define LT_IP4SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_ip4set lt_ip4set;

/* Returns a new empty set, or NULL when out of memory. */
lt_ip4set *lt_ip4set_new(void);
void lt_ip4set_free(lt_ip4set *s);     /* NULL is a no-op */

/* Caps the memory the set may hold (0, the default, means no cap): a growth
 * that would pass it fails with -ENOSPC instead. */
void lt_ip4set_set_limit(lt_ip4set *s, size_t bytes);

/* Adds addr.  Returns 1 when it was new, 0 when already present, -ENOMEM
 * or -ENOSPC when the set had to grow and could not (it is then
 * unchanged). */
int lt_ip4set_add(lt_ip4set *s, uint32_t addr);
int lt_ip4set_contains(const lt_ip4set *s, uint32_t addr);
/* A hint, changing nothing: start loading the slot where a lookup of addr
 * begins (see lt_urls_prefetch()). */
void lt_ip4set_prefetch(const lt_ip4set *s, uint32_t addr);

uint64_t lt_ip4set_size(const lt_ip4set *s);     /* distinct addresses */
size_t lt_ip4set_bytes(const lt_ip4set *s);      /* bytes of memory held */

/* Calls fn for every address, in no particular order; a non-zero return
 * from fn stops the walk and is returned. */
int lt_ip4set_foreach(const lt_ip4set *s, int (*fn)(uint32_t addr, void *arg), void *arg);

/* Adds every address of src to dst.  Returns 0, -ENOMEM or -ENOSPC (dst
 * then holds part of src). */
int lt_ip4set_merge(lt_ip4set *dst, const lt_ip4set *src);

#endif
