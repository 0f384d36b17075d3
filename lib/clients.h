/* clients.h -- distinct clients: exact sets with a HyperLogLog behind them. */
#ifndef LT_CLIENTS_H
#define LT_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "hll.h"
#include "ip4set.h"
#include "keyset.h"
#include "parse.h"

typedef struct lt_clients lt_clients;

typedef struct lt_client_counts {
    uint64_t ipv4, ipv6, other, total;
    int exact;             /* 1 while the exact sets answer */
    double std_error;      /* 0 when exact, else the HLL's relative error */
    uint64_t hll_estimate; /* the HLL's estimate of total, always */
} lt_client_counts;

/* Returns a new counter whose exact sets may use up to exact_bytes_limit bytes
 * together (0 means no exact sets at all: HLL only), or NULL when out of
 * memory.  With stamped set, its IPv4 set keeps a stamp per address (the
 * time buckets' hint, see lt_clients_add()), at twice the bytes. */
lt_clients *lt_clients_new(size_t exact_bytes_limit, int stamped);
void lt_clients_free(lt_clients *c);    /* NULL is a no-op */

/* Counts the client of a parsed record.  Never fails: when the exact sets
 * would pass their budget, or memory runs out, they are dropped and the
 * HyperLogLog, fed from the first client on, answers from then on.
 * Returns 1 when the client is an IPv4 address that the exact set already
 * held with this stamp (0 is no stamp), else 0; see "Stamps" in ip4set.c. */
int lt_clients_add(lt_clients *c, const lt_record *rec, uint32_t stamp);

/* Drops the IPv4 set's stamps, for a counter that only collects others
 * (its adds, if it gets any, then always return 0). */
void lt_clients_unstamp(lt_clients *c);

/* A hint, changing nothing: lt_clients_add() of this record is coming, so
 * start loading the part of the exact set its lookup reads first (IPv4
 * clients, the bulk of most logs; the others are left alone). */
void lt_clients_prefetch(const lt_clients *c, const lt_record *rec);

void lt_clients_counts(const lt_clients *c, lt_client_counts *out);

/* Stores into out the union sketch of all clients (what GET /v1/hll
 * exports). */
void lt_clients_hll(const lt_clients *c, lt_hll *out);

/* Adds src's clients to dst.  The result is exact only when both are and
 * the union fits dst's budget. */
void lt_clients_merge(lt_clients *dst, const lt_clients *src);

/* Sharing the IPv4 set with parallel readers (see clients.c): the owner
 * shares its set with up to `readers` partial counters (0 or -ENOMEM; a
 * counter no longer exact shares nothing); each partial borrows it with its
 * own reader index, and brackets a batch of adds with enter/leave (adds
 * outside enter one by one).  Partials are merged into the owner and freed
 * before lt_clients_unshare(owner), which makes its set its own again (it
 * may then drop to the sketches, when the shared set filled its budget). */
int lt_clients_share(lt_clients *c, unsigned readers);
void lt_clients_borrow(lt_clients *c, lt_clients *owner, unsigned reader);
void lt_clients_enter(lt_clients *c);
void lt_clients_leave(lt_clients *c);
void lt_clients_unshare(lt_clients *c);

/* Bytes held by the exact sets (0 once they are dropped) and by the
 * sketches. */
typedef struct lt_client_memory {
    size_t ipv4_set, ipv6_set, host_set, hll;
} lt_client_memory;
void lt_clients_memory(const lt_clients *c, lt_client_memory *out);

/* The parts of a counter, borrowed, for the snapshot writer: the sets are
 * NULL once the counter is no longer exact.  hll[] is IPv4, IPv6, host. */
typedef struct lt_clients_parts {
    int exact;
    const lt_ip4set *v4;
    const lt_keyset *v6, *host;
    const lt_hll *hll[3];
} lt_clients_parts;
void lt_clients_get_parts(const lt_clients *c, lt_clients_parts *out);

/* A counter made of parts (the snapshot reader's), taking ownership of
 * all of them, also on failure.  With all three sets it is exact (unless
 * they pass exact_bytes_limit: then they are dropped); with none, it
 * answers from the sketches.  Returns NULL when out of memory. */
lt_clients *lt_clients_from_parts(size_t exact_bytes_limit, lt_ip4set *v4, lt_keyset *v6,
                                  lt_keyset *host, lt_hll *hll[3]);

#endif
