/* clients.c -- distinct clients: exact sets with a HyperLogLog behind them.
 *
 * Three exact sets, one per kind of client (ip4set for IPv4, keysets for
 * 16-byte IPv6 addresses and for hostnames), answer while together they fit
 * the budget.  Behind each set is a HyperLogLog of the same kind, fed every
 * distinct client from the first line on, so that when the sets are dropped
 * the sketches already know everything and the count carries on without a
 * restart.
 *
 * A sketch only needs each distinct element once (adding an element twice
 * never changes a register), so while a set is exact the sketch is fed
 * only when the set reports a new element: about one hash per distinct
 * client instead of one per line.  Once the sets are gone every line is
 * hashed.  The union sketch (register-wise max of the three) is the one
 * exported in Redis's format.
 *
 * Budget: each set is capped at what the budget leaves after the other two,
 * re-divided whenever a set grows, so that a growth that would pass the
 * budget is refused before it allocates (the transient of a table doubling,
 * old and new arrays together, is the one excursion).  A refused growth, or
 * an allocation failure, drops all three sets: the answer switches to the
 * sketches for every kind at once, so ipv4 + ipv6 + other always describe
 * one consistent state.
 *
 * Sharing the IPv4 set: parallel readers count each chunk of a file into a
 * partial counter of their own, but the IPv4 set, which holds most clients
 * of most logs, is the owner's, shared (lt_clients_share(), then
 * lt_clients_borrow() for each partial; see "Shared mode" in ip4set.c).
 * An address new to the shared set feeds the HLL of the partial that added
 * it, so the merged sketches are a single reader's.  A partial does not cap
 * its own IPv6 and hostname sets (a chunk bounds them); the budget is
 * enforced on the owner as they are merged, and on the shared set as it
 * grows.  When the owner stops being exact while its set is shared, the
 * set's limit drops to what it holds, so every partial soon drops out of
 * exact counting too, and the set is freed once unshared.
 *
 * Stamps for the time buckets: a tally that keeps buckets makes the IPv4
 * set stamped, and lt_clients_add() hands the stamp of the line's bucket
 * to the lookup it makes anyway; its return says whether the bucket
 * already has the address ("Stamps" in ip4set.c).  Once the sets are
 * dropped it says "not known" (0), and the buckets append every line.
 *
 * Element encoding in the sketches: IPv4 as 4 bytes in network order, IPv6
 * as its 16 bytes, hostnames as their bytes.
 */
#include "clients.h"

#include <stdlib.h>


enum { KIND_IPV4, KIND_IPV6, KIND_HOST, KINDS };

struct lt_clients {
    size_t budget;
    int exact;
    lt_ip4set *v4;
    lt_keyset *v6;
    lt_keyset *host;
    lt_hll *hll[KINDS];
    int sharing;                /* v4 is shared with partial counters */
    int borrowed;               /* v4 is the owner's; reader is ours */
    int entered;
    lt_ip4set_reader *reader;
    lt_ip4set *retired;         /* the owner's v4 dropped while shared */
    lt_ip4set *shared;          /* the set shared, fixed while sharing: what
                                   partials borrow, read by every worker */
};

static void drop_exact(lt_clients *c)
{
    if (c->borrowed) {
        if (c->entered && c->exact)
            lt_ip4set_leave(c->reader);
        c->entered = 0;
    } else if (c->sharing && c->v4 != NULL) {
        lt_ip4set_set_limit(c->v4, 1);
        c->retired = c->v4;
    } else {
        lt_ip4set_free(c->v4);
    }
    lt_keyset_free(c->v6);
    lt_keyset_free(c->host);
    c->v4 = NULL;
    c->v6 = NULL;
    c->host = NULL;
    c->exact = 0;
}

static size_t exact_bytes(const lt_clients *c)
{
    if (!c->exact)
        return 0;
    return lt_ip4set_bytes(c->v4) + lt_keyset_bytes(c->v6) + lt_keyset_bytes(c->host);
}

/* Caps each set at its current size plus what the budget leaves, so that
 * whichever set grows next cannot take the three past the budget. */
static void share_budget(lt_clients *c)
{
    if (c->borrowed)
        return;
    size_t b4 = lt_ip4set_bytes(c->v4), b6 = lt_keyset_bytes(c->v6),
           bh = lt_keyset_bytes(c->host), all = b4 + b6 + bh;
    size_t left = c->budget > all ? c->budget - all : 0;
    lt_ip4set_set_limit(c->v4, b4 + left);
    lt_keyset_set_limit(c->v6, b6 + left);
    lt_keyset_set_limit(c->host, bh + left);
}

lt_clients *lt_clients_new(size_t exact_bytes_limit, int stamped)
{
    lt_clients *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->budget = exact_bytes_limit;
    for (int k = 0; k < KINDS; k++)
        if ((c->hll[k] = lt_hll_new()) == NULL)
            goto fail;
    c->v4 = stamped ? lt_ip4set_new_stamped() : lt_ip4set_new();
    c->v6 = lt_keyset_new();
    c->host = lt_keyset_new();
    c->exact = 1;
    if (c->v4 == NULL || c->v6 == NULL || c->host == NULL)
        goto fail;
    /* Stamps yield to the budget from the start, as at every growth. */
    if (exact_bytes(c) > exact_bytes_limit)
        lt_ip4set_unstamp(c->v4);
    if (exact_bytes(c) > exact_bytes_limit)
        drop_exact(c);
    else
        share_budget(c);
    return c;

fail:
    lt_clients_free(c);
    return NULL;
}

void lt_clients_free(lt_clients *c)
{
    if (c == NULL)
        return;
    lt_clients_unshare(c);
    drop_exact(c);
    for (int k = 0; k < KINDS; k++)
        lt_hll_free(c->hll[k]);
    free(c);
}

/* Acts on what an exact set said of an element: 1 new, 0 seen, < 0 full.
 * Returns whether the sketch must see the element. */
static int after_set_add(lt_clients *c, int rc)
{
    if (rc == 0)
        return 0;
    if (rc < 0)
        drop_exact(c);
    else
        share_budget(c);
    return 1;
}

int lt_clients_add(lt_clients *c, const lt_record *rec, uint32_t stamp)
{
    switch (rec->client) {
    case LT_CLIENT_IPV4: {
        int fresh = 1;
        if (c->exact && c->borrowed) {
            int entered = c->entered;
            if (!entered)
                lt_clients_enter(c);
            int rc = lt_ip4set_add_shared_stamped(c->reader, rec->ipv4, stamp, &fresh);
            if (rc < 0)
                drop_exact(c);
            else if (!entered)
                lt_clients_leave(c);
            if (rc == 0)
                return stamp != 0 && !fresh;
        } else if (c->exact &&
                   !after_set_add(c, lt_ip4set_add_stamped(c->v4, rec->ipv4, stamp, &fresh))) {
            return stamp != 0 && !fresh;
        }
        unsigned char b[4] = {(unsigned char)(rec->ipv4 >> 24), (unsigned char)(rec->ipv4 >> 16),
                              (unsigned char)(rec->ipv4 >> 8), (unsigned char)rec->ipv4};
        lt_hll_add(c->hll[KIND_IPV4], b, sizeof(b));
        break;
    }
    case LT_CLIENT_IPV6:
        if (c->exact && !after_set_add(c, lt_keyset_add(c->v6, rec->ipv6, 16)))
            return 0;
        lt_hll_add(c->hll[KIND_IPV6], rec->ipv6, 16);
        break;
    case LT_CLIENT_HOST:
        if (c->exact && !after_set_add(c, lt_keyset_add(c->host, rec->host, rec->host_len)))
            return 0;
        lt_hll_add(c->hll[KIND_HOST], rec->host, rec->host_len);
        break;
    }
    return 0;
}

void lt_clients_prefetch(const lt_clients *c, const lt_record *rec)
{
    if (c->exact && rec->client == LT_CLIENT_IPV4 && (!c->borrowed || c->entered))
        lt_ip4set_prefetch(c->v4, rec->ipv4);
}

void lt_clients_unstamp(lt_clients *c)
{
    if (c->exact && !c->borrowed && !c->sharing) {
        lt_ip4set_unstamp(c->v4);
        share_budget(c);
    }
}

void lt_clients_hll(const lt_clients *c, lt_hll *out)
{
    lt_hll_reset(out);
    for (int k = 0; k < KINDS; k++)
        lt_hll_merge(out, c->hll[k]);
}

void lt_clients_counts(const lt_clients *c, lt_client_counts *out)
{
    lt_hll *all = lt_hll_new();
    if (all != NULL) {
        lt_clients_hll(c, all);
        out->hll_estimate = lt_hll_count(all);
        lt_hll_free(all);
    } else {
        /* Without memory for the union, the sum of the parts is the best
         * upper estimate (the kinds are disjoint). */
        out->hll_estimate = 0;
        for (int k = 0; k < KINDS; k++)
            out->hll_estimate += lt_hll_count(c->hll[k]);
    }
    out->exact = c->exact;
    if (c->exact) {
        out->ipv4 = lt_ip4set_size(c->v4);
        out->ipv6 = lt_keyset_size(c->v6);
        out->other = lt_keyset_size(c->host);
        out->total = out->ipv4 + out->ipv6 + out->other;
        out->std_error = 0.0;
    } else {
        out->ipv4 = lt_hll_count(c->hll[KIND_IPV4]);
        out->ipv6 = lt_hll_count(c->hll[KIND_IPV6]);
        out->other = lt_hll_count(c->hll[KIND_HOST]);
        out->total = out->hll_estimate;
        out->std_error = LT_HLL_STD_ERROR;
    }
}

void lt_clients_merge(lt_clients *dst, const lt_clients *src)
{
    for (int k = 0; k < KINDS; k++)
        lt_hll_merge(dst->hll[k], src->hll[k]);
    if (!dst->exact)
        return;
    if (!src->exact) {
        drop_exact(dst);
        return;
    }
    /* Caps stay in force while merging, so an oversized union is refused
     * set by set rather than allocated.  A borrowed set is dst's own. */
    share_budget(dst);
    if (!(src->borrowed && src->v4 == dst->v4) && lt_ip4set_merge(dst->v4, src->v4) < 0)
        goto full;
    share_budget(dst);
    if (lt_keyset_merge(dst->v6, src->v6) < 0)
        goto full;
    share_budget(dst);
    if (lt_keyset_merge(dst->host, src->host) < 0)
        goto full;
    share_budget(dst);
    return;

full:
    drop_exact(dst);
}

void lt_clients_memory(const lt_clients *c, lt_client_memory *out)
{
    out->ipv4_set = c->exact && !c->borrowed ? lt_ip4set_bytes(c->v4) : 0;
    out->ipv6_set = c->exact ? lt_keyset_bytes(c->v6) : 0;
    out->host_set = c->exact ? lt_keyset_bytes(c->host) : 0;
    out->hll = 0;
    for (int k = 0; k < KINDS; k++)
        out->hll += lt_hll_bytes(c->hll[k]);
}

void lt_clients_get_parts(const lt_clients *c, lt_clients_parts *out)
{
    out->exact = c->exact;
    out->v4 = c->v4;
    out->v6 = c->v6;
    out->host = c->host;
    for (int k = 0; k < KINDS; k++)
        out->hll[k] = c->hll[k];
}

lt_clients *lt_clients_from_parts(size_t exact_bytes_limit, lt_ip4set *v4, lt_keyset *v6,
                                  lt_keyset *host, lt_hll *hll[3])
{
    lt_clients *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        lt_ip4set_free(v4);
        lt_keyset_free(v6);
        lt_keyset_free(host);
        for (int k = 0; k < KINDS; k++)
            lt_hll_free(hll[k]);
        return NULL;
    }
    c->budget = exact_bytes_limit;
    c->v4 = v4;
    c->v6 = v6;
    c->host = host;
    for (int k = 0; k < KINDS; k++)
        c->hll[k] = hll[k];
    c->exact = v4 != NULL && v6 != NULL && host != NULL;
    if (!c->exact || exact_bytes(c) > exact_bytes_limit)
        drop_exact(c);
    else
        share_budget(c);
    return c;
}

int lt_clients_share(lt_clients *c, unsigned readers)
{
    if (!c->exact || c->sharing || c->borrowed)
        return 0;
    int rc = lt_ip4set_share(c->v4, readers);
    if (rc == 0) {
        c->sharing = 1;
        c->shared = c->v4;
    }
    return rc;
}

void lt_clients_borrow(lt_clients *c, lt_clients *owner, unsigned reader)
{
    /* Only owner->shared is read: the owner's other fields change under
     * the merges of other workers.  A set the owner has dropped since
     * refuses new addresses (its limit fell), so the partial soon drops
     * out of exact counting too. */
    if (owner->shared == NULL || !c->exact || c->borrowed)
        return;
    lt_ip4set_free(c->v4);
    c->v4 = owner->shared;
    c->reader = lt_ip4set_reader_at(owner->shared, reader);
    c->borrowed = 1;
}

void lt_clients_enter(lt_clients *c)
{
    if (c->borrowed && c->exact && !c->entered) {
        lt_ip4set_enter(c->reader);
        c->entered = 1;
    }
}

void lt_clients_leave(lt_clients *c)
{
    if (c->borrowed && c->exact && c->entered) {
        lt_ip4set_leave(c->reader);
        c->entered = 0;
    }
}

void lt_clients_unshare(lt_clients *c)
{
    if (!c->sharing)
        return;
    lt_ip4set *v4 = c->retired != NULL ? c->retired : c->v4;
    int rc = lt_ip4set_unshare(v4);
    c->sharing = 0;
    c->shared = NULL;
    if (c->retired != NULL) {
        lt_ip4set_free(c->retired);
        c->retired = NULL;
    } else if (rc < 0 || exact_bytes(c) > c->budget) {
        drop_exact(c);
    } else {
        share_budget(c);
    }
}
