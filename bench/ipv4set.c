/* ipv4set.c -- measures the two candidate exact IPv4 sets for lib/clients.c:
 * CRoaring (libroaring-dev) and a packed open-addressing uint32_t table
 * (linear probing, load <= 1/2, key 0 stored aside).  Prints inserts per
 * second and bytes per distinct address for streams shaped like logs:
 * mostly repeats of a skewed population, and all-distinct addresses.
 *
 *   bench/ipv4set [distinct] [inserts]
 */
#include <roaring/roaring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    uint32_t *slots;
    size_t mask, n;
    int has_zero;
} oa_set;

static void oa_add(oa_set *s, uint32_t x)
{
    if (x == 0) {
        s->has_zero = 1;
        return;
    }
    if ((s->n + 1) * 2 > s->mask + 1) {
        size_t ncap = (s->mask + 1) * 2;
        uint32_t *n = calloc(ncap, 4);
        for (size_t i = 0; i <= s->mask; i++) {
            uint32_t k = s->slots[i];
            if (k == 0)
                continue;
            size_t j = (k * 0x9e3779b1u) & (ncap - 1);
            while (n[j])
                j = (j + 1) & (ncap - 1);
            n[j] = k;
        }
        free(s->slots);
        s->slots = n;
        s->mask = ncap - 1;
    }
    size_t j = (x * 0x9e3779b1u) & s->mask;
    while (s->slots[j]) {
        if (s->slots[j] == x)
            return;
        j = (j + 1) & s->mask;
    }
    s->slots[j] = x;
    s->n++;
}

static void run(const char *label, const uint32_t *stream, size_t n)
{
    roaring_bitmap_t *r = roaring_bitmap_create();
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        roaring_bitmap_add(r, stream[i]);
    double t1 = now();
    roaring_statistics_t st;
    roaring_bitmap_statistics(r, &st);
    size_t rbytes = st.n_bytes_array_containers + st.n_bytes_run_containers +
                    st.n_bytes_bitset_containers + st.n_containers * 40;
    uint64_t card = roaring_bitmap_get_cardinality(r);

    oa_set s = {calloc(1024, 4), 1023, 0, 0};
    double t2 = now();
    for (size_t i = 0; i < n; i++)
        oa_add(&s, stream[i]);
    double t3 = now();
    printf("%-28s distinct %9llu  roaring %6.1f M ins/s %5.2f B/addr | open-addr %6.1f M ins/s %5.2f B/addr\n",
           label, (unsigned long long)card, n / (t1 - t0) / 1e6, (double)rbytes / card,
           n / (t3 - t2) / 1e6, (double)(s.mask + 1) * 4 / (s.n + s.has_zero));
    roaring_bitmap_free(r);
    free(s.slots);
}

int main(int argc, char **argv)
{
    size_t distinct = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t inserts = argc > 2 ? strtoull(argv[2], NULL, 10) : 20000000;
    uint32_t *pop = calloc(distinct, 4), *stream = calloc(inserts, 4);
    if (distinct == 0 || pop == NULL || stream == NULL) {
        fprintf(stderr, "ipv4set: need distinct > 0 and memory for the streams\n");
        return 1;
    }
    for (size_t i = 0; i < distinct; i++)
        pop[i] = (uint32_t)next();
    /* Skewed repeats: index = distinct * u^3 favours the head like a log. */
    for (size_t i = 0; i < inserts; i++) {
        double u = (next() >> 11) * 0x1.0p-53;
        stream[i] = pop[(size_t)(distinct * u * u * u)];
    }
    run("skewed repeats", stream, inserts);
    run("all distinct (random)", pop, distinct);
    /* Addresses clustered in a few /16 networks, as a busy site's clients. */
    for (size_t i = 0; i < distinct; i++)
        pop[i] = (uint32_t)(0x0a000000u + (next() % (distinct * 4)));
    run("all distinct (clustered)", pop, distinct);
    free(pop);
    free(stream);
    return 0;
}
