/* ip4set.h -- an exact set of IPv4 addresses (packed uint32_t). */
#ifndef LT_IP4SET_H
#define LT_IP4SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_ip4set lt_ip4set;

/* Returns a new empty set, or NULL when out of memory.  A stamped set
 * keeps a 32-bit stamp beside each address, at 8 bytes a slot instead of 4
 * ("Stamps" in ip4set.c). */
lt_ip4set *lt_ip4set_new(void);
lt_ip4set *lt_ip4set_new_stamped(void);
/* Drops a stamped set's stamps (no-op for a plain or a shared set): it
 * then costs what a plain set of its addresses costs. */
void lt_ip4set_unstamp(lt_ip4set *s);
void lt_ip4set_free(lt_ip4set *s);     /* NULL is a no-op */

/* Caps the memory the set may hold (0, the default, means no cap): a growth
 * that would pass it fails with -ENOSPC instead. */
void lt_ip4set_set_limit(lt_ip4set *s, size_t bytes);

/* Adds addr.  Returns 1 when it was new, 0 when already present, -ENOMEM
 * or -ENOSPC when the set had to grow and could not (it is then
 * unchanged). */
int lt_ip4set_add(lt_ip4set *s, uint32_t addr);
/* lt_ip4set_add() that also stamps: when fresh is non-NULL, *fresh is set
 * to 0 when addr was present with this very stamp, else 1 (a new address,
 * another stamp, 0.0.0.0, or a set without stamps); the address's stamp
 * then becomes the larger of the two.  An address added unstamped (by
 * lt_ip4set_add() or a merge) has stamp 0. */
int lt_ip4set_add_stamped(lt_ip4set *s, uint32_t addr, uint32_t stamp, int *fresh);
int lt_ip4set_contains(const lt_ip4set *s, uint32_t addr);
/* A hint, changing nothing: start loading the slot where a lookup of addr
 * begins (see lt_urls_prefetch()). */
void lt_ip4set_prefetch(const lt_ip4set *s, uint32_t addr);

uint64_t lt_ip4set_size(const lt_ip4set *s);     /* distinct addresses */
size_t lt_ip4set_bytes(const lt_ip4set *s);      /* bytes of memory held */

/* Calls fn for every address, in no particular order; a non-zero return
 * from fn stops the walk and is returned. */
int lt_ip4set_foreach(const lt_ip4set *s, int (*fn)(uint32_t addr, void *arg), void *arg);

/* Sharing: many threads adding to one set at once
 * ---------------------------------------------------
 * lt_ip4set_share() makes the set take adds from up to `readers` threads at
 * once, each through its own reader (lt_ip4set_reader_at(s, i)); one thread
 * uses one reader.  A thread brackets a run of adds (a batch of lines) with
 * lt_ip4set_enter() and lt_ip4set_leave(); between them it may call
 * lt_ip4set_add_shared() and lt_ip4set_prefetch().  Outside those brackets
 * only lt_ip4set_set_limit() and lt_ip4set_bytes() may be called while the
 * set is shared; lt_ip4set_unshare(), called when no reader is inside,
 * makes it a plain set again. */
#define LT_IP4SET_READERS 64

typedef struct lt_ip4set_reader lt_ip4set_reader;

/* Returns 0, -ENOMEM, or -EINVAL (readers is 0 or more than
 * LT_IP4SET_READERS, or the set is already shared). */
int lt_ip4set_share(lt_ip4set *s, unsigned readers);
/* Reader i (< the readers given to lt_ip4set_share()). */
lt_ip4set_reader *lt_ip4set_reader_at(lt_ip4set *s, unsigned i);
void lt_ip4set_enter(lt_ip4set_reader *r);
void lt_ip4set_leave(lt_ip4set_reader *r);
/* lt_ip4set_add() for a reader inside enter/leave: 1 when new (to exactly
 * one of the threads that add the same address at once), 0 when present,
 * -ENOMEM or -ENOSPC for a new address once a growth failed (then for
 * every reader, for good: the set holds what it held).  May wait while another reader grows
 * the table. */
int lt_ip4set_add_shared(lt_ip4set_reader *r, uint32_t addr);
/* Both at once: lt_ip4set_add_stamped() for a reader inside enter/leave. */
int lt_ip4set_add_shared_stamped(lt_ip4set_reader *r, uint32_t addr, uint32_t stamp, int *fresh);
/* Ends sharing.  Returns 0, or the error that made adds fail. */
int lt_ip4set_unshare(lt_ip4set *s);

/* Adds every address of src to dst.  Returns 0, -ENOMEM or -ENOSPC (dst
 * then holds part of src). */
int lt_ip4set_merge(lt_ip4set *dst, const lt_ip4set *src);

#endif
