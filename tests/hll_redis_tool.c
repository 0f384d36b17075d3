/* hll_redis_tool.c -- our side of tests/hll_redis.sh, which compares
 * lib/hll.c with a real redis-server.
 *
 * Elements are the strings "elem-<d>" for FROM <= d < TO, the same bytes the
 * script makes Redis PFADD.  Commands:
 *
 *   export FROM TO OUT        write our blob to OUT, print our count
 *   pfadd KEY FROM TO         print PFADD commands in RESP for redis-cli --pipe
 *   compare FROM TO FILE      import Redis's blob from FILE; exit 1 unless its
 *                             registers equal ours (and, when both are dense,
 *                             its register bytes equal our export's); print
 *                             our count of the imported registers
 *   merge FROM1 TO1 FROM2 TO2 print the count of the merge of both ranges
 *   random SEED OUT           write a blob of pseudo-random registers (0..51,
 *                             shaped by SEED) to OUT, print our count
 *
 * Exit status: 0, 1 on a mismatch, 2 on a usage or I/O error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"

#define PFADD_BATCH 1000

static unsigned char blob[LT_HLL_DENSE_BYTES];
static unsigned char theirs[LT_HLL_DENSE_BYTES + 1];

static long arg_long(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < 0) {
        fprintf(stderr, "hll_redis_tool: bad number \"%s\"\n", s);
        exit(2);
    }
    return v;
}

/* Returns a new sketch holding "elem-<d>" for from <= d < to. */
static lt_hll *sketch_range(long from, long to)
{
    lt_hll *h = lt_hll_new();
    char e[32];
    if (h == NULL) {
        fprintf(stderr, "hll_redis_tool: out of memory\n");
        exit(2);
    }
    for (long d = from; d < to; d++) {
        int n = snprintf(e, sizeof(e), "elem-%ld", d);
        lt_hll_add(h, e, (size_t)n);
    }
    return h;
}

static void write_file(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "hll_redis_tool: cannot write %s\n", path);
        exit(2);
    }
}

/* Reads at most sizeof(theirs) bytes of path into theirs; returns the
 * length (one more than the largest valid blob means "too long"). */
static size_t read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "hll_redis_tool: cannot read %s\n", path);
        exit(2);
    }
    size_t len = fread(theirs, 1, sizeof(theirs), f);
    fclose(f);
    return len;
}

static void export_to(const lt_hll *h, const char *path)
{
    size_t len = lt_hll_export(h, blob);
    write_file(path, blob, len);
    printf("%llu\n", (unsigned long long)lt_hll_count(h));
}

static void pfadd(const char *key, long from, long to)
{
    char e[32];
    long d = from;
    do {
        long n = to - d < PFADD_BATCH ? to - d : PFADD_BATCH;
        printf("*%ld\r\n$5\r\nPFADD\r\n$%zu\r\n%s\r\n", n + 2, strlen(key), key);
        for (long k = 0; k < n; k++, d++) {
            int len = snprintf(e, sizeof(e), "elem-%ld", d);
            printf("$%d\r\n%s\r\n", len, e);
        }
    } while (d < to);
}

static int compare(long from, long to, const char *path)
{
    lt_hll *ours = sketch_range(from, to);
    lt_hll *imported = lt_hll_new();
    char err[160];
    size_t len = read_file(path);

    if (lt_hll_import(imported, theirs, len, err, sizeof(err)) != 0) {
        fprintf(stderr, "hll_redis_tool: Redis's blob (%zu bytes) rejected: %s\n", len, err);
        return 1;
    }
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++) {
        if (lt_hll_register(ours, i) != lt_hll_register(imported, i)) {
            fprintf(stderr, "hll_redis_tool: register %u: ours %u, Redis %u\n", i,
                    lt_hll_register(ours, i), lt_hll_register(imported, i));
            return 1;
        }
    }
    size_t ours_len = lt_hll_export(ours, blob);
    if (theirs[4] == 0 && blob[4] == 0 &&
        memcmp(theirs + LT_HLL_HEADER_BYTES, blob + LT_HLL_HEADER_BYTES,
               LT_HLL_DENSE_BYTES - LT_HLL_HEADER_BYTES) != 0) {
        fprintf(stderr, "hll_redis_tool: dense register bytes differ\n");
        return 1;
    }
    fprintf(stderr, " Redis blob %s %zu bytes, ours %s %zu bytes%s\n",
            theirs[4] ? "sparse" : "dense", len, blob[4] ? "sparse" : "dense", ours_len,
            len == ours_len && memcmp(theirs + LT_HLL_HEADER_BYTES, blob + LT_HLL_HEADER_BYTES,
                                      len - LT_HLL_HEADER_BYTES) == 0
                ? ", data identical" : "");
    printf("%llu\n", (unsigned long long)lt_hll_count(imported));
    lt_hll_free(ours);
    lt_hll_free(imported);
    return 0;
}

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Registers shaped by seed: a share of zeros from none to all but one, the
 * rest mostly geometric around a level (as a real sketch of some size has)
 * with a few uniform 1..51 outliers, so every estimator branch, including
 * registers at 51 (tau), meets a range of histograms. */
static void random_blob(long seed, const char *path)
{
    lt_hll *h = lt_hll_new();
    rng = 0x9e3779b97f4a7c15u ^ (uint64_t)seed * 0xbf58476d1ce4e5b9u;
    for (int k = 0; k < 8; k++)
        next();
    uint64_t zero_permille = seed % 7 == 0 ? 0 : seed % 11 == 0 ? 990 + next() % 10 : next() % 1001;
    unsigned level = (unsigned)(next() % 20);
    unsigned outlier_permille = (unsigned)(next() % 50);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++) {
        unsigned v;
        if (next() % 1000 < zero_permille) {
            v = 0;
        } else if (next() % 1000 < outlier_permille) {
            v = (unsigned)(next() % 51) + 1;
        } else {
            v = level + 1;
            while (v < 51 && (next() & 1))
                v++;
        }
        if (v > 0)
            lt_hll_add_hash(h, v == 51 ? i : (uint64_t)i | (uint64_t)1 << (14 + v - 1));
    }
    if (lt_hll_count(h) == 0)            /* keep at least one register set */
        lt_hll_add_hash(h, (uint64_t)1 << 20);
    export_to(h, path);
    lt_hll_free(h);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "export") == 0) {
        lt_hll *h = sketch_range(arg_long(argv[2]), arg_long(argv[3]));
        export_to(h, argv[4]);
        lt_hll_free(h);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "pfadd") == 0) {
        pfadd(argv[2], arg_long(argv[3]), arg_long(argv[4]));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "compare") == 0)
        return compare(arg_long(argv[2]), arg_long(argv[3]), argv[4]);
    if (argc == 6 && strcmp(argv[1], "merge") == 0) {
        lt_hll *a = sketch_range(arg_long(argv[2]), arg_long(argv[3]));
        lt_hll *b = sketch_range(arg_long(argv[4]), arg_long(argv[5]));
        lt_hll_merge(a, b);
        printf("%llu\n", (unsigned long long)lt_hll_count(a));
        lt_hll_free(a);
        lt_hll_free(b);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "random") == 0) {
        random_blob(arg_long(argv[2]), argv[3]);
        return 0;
    }
    fprintf(stderr, "usage: hll_redis_tool export|pfadd|compare|merge|random ...\n");
    return 2;
}
