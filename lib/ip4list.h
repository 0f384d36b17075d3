/* ip4list.h -- a set of IPv4 addresses kept as an array, sorted lazily. */
#ifndef LT_IP4LIST_H
#define LT_IP4LIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_ip4list lt_ip4list;

/* Returns a new empty list, or NULL when out of memory. */
lt_ip4list *lt_ip4list_new(void);
void lt_ip4list_free(lt_ip4list *l);    /* NULL is a no-op */

/* Appends addr, which may already be in the list (a compact list that
 * gets addresses in ascending order stays compact).  Returns 1 when the
 * list's memory changed, 0 when not, or -ENOMEM (the list then holds what
 * it held). */
int lt_ip4list_add(lt_ip4list *l, uint32_t addr);

/* Adds every address of src to dst: 0, 1 or -ENOMEM as above. */
int lt_ip4list_merge(lt_ip4list *dst, const lt_ip4list *src);

/* Makes dst the union of itself and the n lists of src, compact, in
 * O(entries x log n) moves without a sort of lists that are compact (a
 * closed bucket's): the lists are merged pairwise, a binary counter's
 * way, where n lt_ip4list_merge() calls append and sort again.  The lists
 * in src are not changed (one that is not compact is read through a
 * sorted copy).  Returns 0, 1 when dst's memory changed, or -ENOMEM (dst
 * then holds what it held, compacted). */
int lt_ip4list_union(lt_ip4list *dst, const lt_ip4list *const *src, size_t n);

/* Sorts the list and drops its duplicates.  Returns 0, 1 when its memory
 * changed, or -ENOMEM (the list is then unchanged). */
int lt_ip4list_compact(lt_ip4list *l);

/* lt_ip4list_compact(), then gives back the room past the last entry (a
 * list that will rarely grow again: a closed bucket's).  Same returns. */
int lt_ip4list_trim(lt_ip4list *l);

/* Stores into *out a new array of the list's addresses, ascending and
 * each once, and their count into *n (the list itself unchanged: a const
 * reader's compaction).  Returns 0 or -ENOMEM. */
int lt_ip4list_copy(const lt_ip4list *l, uint32_t **out, size_t *n);

/* Distinct addresses: exact once the list is compact; before, the entries,
 * an upper bound. */
uint64_t lt_ip4list_size(const lt_ip4list *l);
int lt_ip4list_is_compact(const lt_ip4list *l);
size_t lt_ip4list_bytes(const lt_ip4list *l);

/* Calls fn for every entry: in ascending order and each address once when
 * the list is compact, else in no particular order and possibly more than
 * once.  A non-zero return from fn stops the walk and is returned. */
int lt_ip4list_foreach(const lt_ip4list *l, int (*fn)(uint32_t addr, void *arg), void *arg);

#endif
