/* cidr.h -- a set of IPv4 and IPv6 address ranges: the trusted proxies.
 *
 * Ranges are written as an address ("10.0.0.1", "::1") or an address and a
 * prefix length ("10.0.0.0/8", "2001:db8::/32").  IPv4-mapped IPv6 ranges
 * (::ffff:10.0.0.0/104) are the IPv4 ranges they map. */
#ifndef LT_CIDR_H
#define LT_CIDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct lt_cidr lt_cidr;

lt_cidr *lt_cidr_new(void);                  /* NULL when out of memory */
void lt_cidr_free(lt_cidr *c);               /* NULL is a no-op */

/* Adds one range written as text.  Returns 0, -EINVAL (with a reason in
 * err: "not an IPv4 or IPv6 address", "prefix length 33 is more than
 * 32", ...) or -ENOMEM. */
int lt_cidr_add(lt_cidr *c, const char *text, char *err, size_t errlen);

/* Whether an address is in one of the ranges: a.b.c.d as (a << 24 | ...),
 * or 16 bytes in network order. */
int lt_cidr_has_ipv4(const lt_cidr *c, uint32_t a);
int lt_cidr_has_ipv6(const lt_cidr *c, const uint8_t a[16]);

size_t lt_cidr_count(const lt_cidr *c);      /* ranges added */

#endif
