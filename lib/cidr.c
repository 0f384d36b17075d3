/* cidr.c -- a set of IPv4 and IPv6 address ranges.
 *
 * Representation: two arrays of (network, prefix length), one per family,
 * with the host bits of each network cleared when it is added.  A lookup
 * compares the address with every range of its family: trusted-proxy
 * lists are short (a load balancer, a CDN's few dozen ranges), and a
 * linear scan of a few cache lines beats a trie at that size.
 *
 * Text is read with inet_pton() on a bounded copy; "a.b.c.d/n" needs
 * n <= 32 and "v6/n" n <= 128, written in decimal without a sign.  An
 * IPv4-mapped IPv6 range with a prefix of at least 96 is stored as the
 * IPv4 range it maps, so that ::ffff:10.0.0.0/104 and 10.0.0.0/8 agree,
 * as the parser turns mapped clients into IPv4 ones.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct v4_range {
    uint32_t net;
    unsigned bits;
};

struct v6_range {
    uint8_t net[16];
    unsigned bits;
};

struct lt_cidr {
    struct v4_range *v4;
    size_t n4, cap4;
    struct v6_range *v6;
    size_t n6, cap6;
};

lt_cidr *lt_cidr_new(void)
{
    return calloc(1, sizeof(lt_cidr));
}

void lt_cidr_free(lt_cidr *c)
{
    if (c == NULL)
        return;
    free(c->v4);
    free(c->v6);
    free(c);
}

static uint32_t mask4(unsigned bits)
{
    return bits == 0 ? 0 : UINT32_MAX << (32 - bits);
}

static int grow(void **arr, size_t *cap, size_t n, size_t each)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, ncap * each);
    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int add_v4(lt_cidr *c, uint32_t a, unsigned bits)
{
    if (grow((void **)&c->v4, &c->cap4, c->n4, sizeof(*c->v4)) < 0)
        return -ENOMEM;
    c->v4[c->n4++] = (struct v4_range){a & mask4(bits), bits};
    return 0;
}

int lt_cidr_add(lt_cidr *c, const char *text, char *err, size_t errlen)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    long bits = -1;

    if (alen == 0 || alen >= sizeof(buf)) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address or range", text);
        return -EINVAL;
    }
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    if (slash != NULL) {
        const char *d = slash + 1;
        bits = 0;
        if (*d == '\0' || strlen(d) > 3)
            bits = -2;
        for (; bits >= 0 && *d != '\0'; d++)
            bits = (*d >= '0' && *d <= '9') ? bits * 10 + (*d - '0') : -2;
        if (bits < 0) {
            snprintf(err, errlen, "'%s': the prefix length is not a number", text);
            return -EINVAL;
        }
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        if (bits > 32) {
            snprintf(err, errlen, "'%s': prefix length %ld is more than 32", text, bits);
            return -EINVAL;
        }
        return add_v4(c, ntohl(a4.s_addr), bits < 0 ? 32 : (unsigned)bits);
    }
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        if (bits > 128) {
            snprintf(err, errlen, "'%s': prefix length %ld is more than 128", text, bits);
            return -EINVAL;
        }
        unsigned b = bits < 0 ? 128 : (unsigned)bits;
        const uint8_t *n = a6.s6_addr;
        if (b >= 96 && memcmp(n, mapped, 12) == 0)
            return add_v4(c, (uint32_t)n[12] << 24 | (uint32_t)n[13] << 16 | (uint32_t)n[14] << 8 | n[15],
                          b - 96);
        if (grow((void **)&c->v6, &c->cap6, c->n6, sizeof(*c->v6)) < 0)
            return -ENOMEM;
        struct v6_range *r = &c->v6[c->n6++];
        r->bits = b;
        for (unsigned i = 0; i < 16; i++) {
            unsigned keep = b >= 8 * (i + 1) ? 8 : b > 8 * i ? b - 8 * i : 0;
            r->net[i] = (uint8_t)(n[i] & (keep == 0 ? 0 : 0xff << (8 - keep)));
        }
        return 0;
    }
    snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address or range", text);
    return -EINVAL;
}

int lt_cidr_has_ipv4(const lt_cidr *c, uint32_t a)
{
    for (size_t i = 0; i < c->n4; i++)
        if ((a & mask4(c->v4[i].bits)) == c->v4[i].net)
            return 1;
    return 0;
}

int lt_cidr_has_ipv6(const lt_cidr *c, const uint8_t a[16])
{
    for (size_t i = 0; i < c->n6; i++) {
        const struct v6_range *r = &c->v6[i];
        unsigned full = r->bits / 8, rest = r->bits % 8;
        if (memcmp(a, r->net, full) != 0)
            continue;
        if (rest != 0 && (a[full] & (0xff << (8 - rest)) & 0xff) != r->net[full])
            continue;
        return 1;
    }
    return 0;
}

size_t lt_cidr_count(const lt_cidr *c)
{
    return c->n4 + c->n6;
}
