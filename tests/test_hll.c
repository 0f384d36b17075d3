/* test_hll.c -- Check suite for lib/hll.c.
 *
 * The hash and register mapping are checked against values taken from a real
 * redis-server and against an independent reference written here; the Redis
 * formats against hand-built blobs; the importer against every kind of
 * corruption we can think of.  tests/hll_redis.sh compares PFCOUNT itself. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "lt_test.h"

/* Check reports every passing ck_assert to its parent process with a
 * write(), microseconds each; these checks run millions of times, so they
 * call into Check only when they fail. */
#define EXPECT(expr)                                                       \
    do {                                                                   \
        if (!(expr))                                                       \
            ck_abort_msg("Assertion '%s' failed", #expr);                 \
    } while (0)
#define EXPECT_EQ(a, b)                                                    \
    do {                                                                   \
        intmax_t x_ = (intmax_t)(a), y_ = (intmax_t)(b);                   \
        if (x_ != y_)                                                      \
            ck_abort_msg("Assertion '%s == %s' failed: %jd != %jd", #a, #b, \
                         x_, y_);                                          \
    } while (0)

static uint64_t rng = 88172645463325252u;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Returns a hash that lt_hll_add_hash() maps to register index with value
 * (1..51): the index in the low 14 bits and the sentinel-style lowest set
 * bit at position 14 + value - 1 (value 51 has no bit set above 14). */
static uint64_t hash_for(unsigned index, unsigned value)
{
    uint64_t h = index;
    if (value <= 50)
        h |= (uint64_t)1 << (14 + value - 1);
    return h;
}

/* Sets register index of h to exactly value, h being empty there. */
static void set_reg(lt_hll *h, unsigned index, unsigned value)
{
    if (value > 0)
        lt_hll_add_hash(h, hash_for(index, value));
}

static int same_registers(const lt_hll *a, const lt_hll *b)
{
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        if (lt_hll_register(a, i) != lt_hll_register(b, i))
            return 0;
    return 1;
}

/* --- The hash ---------------------------------------------------------- */

/* Obtained from redis-server 7.0.15: for each element, PFADD into an empty
 * key, GET the (sparse) blob, and decode its opcodes by hand (a Python
 * decoder of the format in hll.c's header): the single VAL opcode gives the
 * register's index and value.  The full 64-bit hashes come from a separate
 * Python MurmurHash64A whose low 14 bits and trailing-zero counts agree with
 * these Redis registers. */
static const struct {
    const char *bytes;
    size_t len;
    uint64_t hash;
    unsigned index, value;
} redis_vectors[] = {
    {"", 0, 0xd8dfea6585bc9732u, 5938, 2},
    {"a", 1, 0x53d2470a9b43b1a7u, 12711, 2},
    {"foo", 3, 0xe64609b8b0141cb4u, 7348, 5},
    {"hello", 5, 0x0f656f01eecfe400u, 9216, 1},
    {"elem-0", 6, 0x5fada0f9ea5468c5u, 10437, 1},
    {"12345678", 8, 0x95ebb86389132953u, 10579, 3},
    {"123456789", 9, 0x217532cb09f2a44du, 9293, 2},
    {"logtally", 8, 0x91dd6f4801d11a97u, 6807, 3},
    {"The quick brown fox jumps over the lazy dog", 43, 0x51606c5c5b561aceu, 6862, 4},
    {"\xc0\x00\x02\x01", 4, 0x169041df10ca4c0bu, 3083, 1},   /* 192.0.2.1 */
    {"\x0a\x00\x00\x01", 4, 0x9285906408276ed4u, 11988, 1},   /* 10.0.0.1 */
    {"\x00", 1, 0xa55b92ce23afa288u, 8840, 2},
    {"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7", 9, 0x4ac83f6fca97d5c2u, 5570, 1},
    {"x37506", 6, 0x1ebec2f9c0002567u, 9575, 17},
    {"x86071", 6, 0x05f25e6080002726u, 10022, 18},
    {"x309480", 7, 0xfb7e0a98000031a6u, 12710, 22},
};

START_TEST(hash_matches_redis)
{
    size_t n = sizeof(redis_vectors) / sizeof(redis_vectors[0]);
    for (size_t k = 0; k < n; k++) {
        EXPECT_EQ(lt_hll_hash(redis_vectors[k].bytes, redis_vectors[k].len),
                          redis_vectors[k].hash);
        lt_hll *h = lt_hll_new();
        EXPECT_EQ(lt_hll_add(h, redis_vectors[k].bytes, redis_vectors[k].len), 1);
        EXPECT_EQ(lt_hll_add(h, redis_vectors[k].bytes, redis_vectors[k].len), 0);
        for (unsigned i = 0; i < LT_HLL_REGISTERS; i++) {
            unsigned want = i == redis_vectors[k].index ? redis_vectors[k].value : 0;
            EXPECT_EQ(lt_hll_register(h, i), want);
        }
        lt_hll_free(h);
    }
}
END_TEST

/* A second MurmurHash64A, written differently on purpose: bytes are folded
 * into the word one at a time, and the tail is a fall-through switch. */
static uint64_t ref_murmur(const unsigned char *p, size_t len)
{
    const uint64_t m = 0xc6a4a7935bd1e995u;
    uint64_t h = 0xadc83b19u ^ (len * m);
    size_t blocks = len / 8;
    for (size_t b = 0; b < blocks; b++) {
        uint64_t k = 0;
        for (int j = 7; j >= 0; j--)
            k = k << 8 | p[8 * b + (size_t)j];
        k *= m;
        k ^= k >> 47;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *t = p + 8 * blocks;
    switch (len & 7) {
    case 7: h ^= (uint64_t)t[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)t[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)t[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)t[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)t[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)t[1] << 8;  /* fall through */
    case 1: h ^= (uint64_t)t[0]; h *= m;
    }
    h ^= h >> 47;
    h *= m;
    h ^= h >> 47;
    return h;
}

/* Index and value computed from the description: low 14 bits, then 1 plus
 * the count of zero bits from bit 14 upwards, stopping at bit 63 (value 51
 * when bits 14..63 are all zero). */
static void ref_register(uint64_t hash, unsigned *index, unsigned *value)
{
    *index = (unsigned)(hash % 16384);
    unsigned v = 1;
    for (int bit = 14; bit < 64 && !((hash >> bit) & 1); bit++)
        v++;
    *value = v;
}

START_TEST(hash_and_registers_match_reference)
{
    static unsigned char buf[64 + 8];
    static uint8_t want[LT_HLL_REGISTERS];
    lt_hll *h = lt_hll_new();
    memset(want, 0, sizeof(want));
    for (int n = 0; n < 200000; n++) {
        size_t len = next() % 41;
        size_t off = next() % 8;          /* unaligned starts too */
        for (size_t j = 0; j < len; j++)
            buf[off + j] = (unsigned char)next();
        uint64_t hash = ref_murmur(buf + off, len);
        EXPECT_EQ(lt_hll_hash(buf + off, len), hash);
        unsigned index, value;
        ref_register(hash, &index, &value);
        int changed = value > want[index];
        if (changed)
            want[index] = (uint8_t)value;
        EXPECT_EQ(lt_hll_add(h, buf + off, len), changed);
    }
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        EXPECT_EQ(lt_hll_register(h, i), want[i]);
    lt_hll_free(h);
}
END_TEST

START_TEST(register_value_extremes)
{
    lt_hll *h = lt_hll_new();
    unsigned index, value;
    /* Bits 14..63 all zero: the sentinel stops the count at 51. */
    EXPECT_EQ(lt_hll_add_hash(h, 5), 1);
    EXPECT_EQ(lt_hll_register(h, 5), 51);
    ref_register(5, &index, &value);
    EXPECT_EQ(value, 51);
    /* Only bit 63 set: 49 zeros above bit 14, value 50. */
    EXPECT_EQ(lt_hll_add_hash(h, (uint64_t)1 << 63 | 7), 1);
    EXPECT_EQ(lt_hll_register(h, 7), 50);
    /* Bit 14 set: value 1. */
    EXPECT_EQ(lt_hll_add_hash(h, (uint64_t)1 << 14 | 16383), 1);
    EXPECT_EQ(lt_hll_register(h, 16383), 1);
    EXPECT_EQ(lt_hll_add_hash(h, (uint64_t)1 << 14 | 16383), 0);
    EXPECT_EQ(lt_hll_register(h, 16384), 0);    /* out of range */
    EXPECT(lt_hll_bytes(h) >= LT_HLL_REGISTERS);
    lt_hll_reset(h);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        EXPECT_EQ(lt_hll_register(h, i), 0);
    lt_hll_free(h);
    lt_hll_free(NULL);
}
END_TEST

/* --- Estimates ----------------------------------------------------------- */

static void check_estimate(uint64_t n)
{
    lt_hll *h = lt_hll_new();
    unsigned char b[4];
    for (uint64_t i = 0; i < n; i++) {
        b[0] = (unsigned char)i;
        b[1] = (unsigned char)(i >> 8);
        b[2] = (unsigned char)(i >> 16);
        b[3] = (unsigned char)(i >> 24);
        lt_hll_add(h, b, 4);
    }
    double e = (double)lt_hll_count(h);
    double bound = 3 * LT_HLL_STD_ERROR * (double)n;
    ck_assert_msg(e >= (double)n - bound && e <= (double)n + bound,
                  "n = %llu, estimate %.0f, allowed +- %.0f",
                  (unsigned long long)n, e, bound);
    lt_hll_free(h);
}

START_TEST(estimate_small)
{
    lt_hll *h = lt_hll_new();
    EXPECT_EQ(lt_hll_count(h), 0);
    lt_hll_add(h, "a", 1);
    EXPECT_EQ(lt_hll_count(h), 1);
    lt_hll_add(h, "b", 1);
    EXPECT_EQ(lt_hll_count(h), 2);
    lt_hll_free(h);
}
END_TEST

/* Sets every register of h to the value given by fill(i). */
static lt_hll *filled(unsigned (*fill)(unsigned))
{
    lt_hll *h = lt_hll_new();
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        set_reg(h, i, fill(i));
    return h;
}

static unsigned fill_20(unsigned i) { (void)i; return 20; }
static unsigned fill_30(unsigned i) { (void)i; return 30; }
static unsigned fill_40(unsigned i) { (void)i; return 40; }
static unsigned fill_51(unsigned i) { (void)i; return 51; }
static unsigned fill_half_51(unsigned i) { return i < LT_HLL_REGISTERS / 2 ? 51 : 0; }

START_TEST(estimate_matches_redis_on_extreme_registers)
{
    /* Obtained from redis-server 7.0.15: a dense blob with these registers,
     * built by a Python script, SET into a key, then PFCOUNT.  For every
     * register at 51 Redis on x86 replies -9223372036854775808, which is
     * 2^63 as an unsigned 64-bit number. */
    static const struct {
        unsigned (*fill)(unsigned);
        uint64_t want;
    } cases[] = {
        {fill_20, 12392656037u},
        {fill_30, 12690079782337u},
        {fill_40, 12994641697113596u},
        {fill_half_51, 13268},
        {fill_51, (uint64_t)1 << 63},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        lt_hll *h = filled(cases[k].fill);
        ck_assert_uint_eq(lt_hll_count(h), cases[k].want);
        lt_hll_free(h);
    }
}
END_TEST

START_TEST(estimate_within_three_sigma)
{
    for (uint64_t n = 1000; n <= 10000000; n *= 10)
        check_estimate(n);
}
END_TEST

/* --- Merge --------------------------------------------------------------- */

START_TEST(merge_is_registerwise_max)
{
    lt_hll *a = lt_hll_new(), *b = lt_hll_new(), *both = lt_hll_new();
    for (uint32_t i = 0; i < 300000; i++) {
        uint32_t x = i * 3, y = i * 5;   /* overlap: multiples of 15 */
        lt_hll_add(a, &x, sizeof(x));
        lt_hll_add(b, &y, sizeof(y));
        lt_hll_add(both, &x, sizeof(x));
        lt_hll_add(both, &y, sizeof(y));
    }
    static uint8_t ra[LT_HLL_REGISTERS], rb[LT_HLL_REGISTERS];
    int a_wins = 0, b_wins = 0;
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++) {
        ra[i] = (uint8_t)lt_hll_register(a, i);
        rb[i] = (uint8_t)lt_hll_register(b, i);
        a_wins += ra[i] > rb[i];
        b_wins += rb[i] > ra[i];
    }
    ck_assert_int_gt(a_wins, 0);       /* both directions are exercised */
    ck_assert_int_gt(b_wins, 0);
    lt_hll_merge(a, b);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        EXPECT_EQ(lt_hll_register(a, i), ra[i] > rb[i] ? ra[i] : rb[i]);
    EXPECT(same_registers(a, both));
    EXPECT_EQ(lt_hll_count(a), lt_hll_count(both));
    lt_hll_free(a);
    lt_hll_free(b);
    lt_hll_free(both);
}
END_TEST

/* --- Export and import ----------------------------------------------------- */

static unsigned char blob[LT_HLL_DENSE_BYTES];
static unsigned char blob2[LT_HLL_DENSE_BYTES];
static unsigned char bad[LT_HLL_DENSE_BYTES + 64];

static void check_header(const unsigned char *b, int enc)
{
    EXPECT(memcmp(b, "HYLL", 4) == 0);
    EXPECT_EQ(b[4], enc);
    for (int i = 5; i < 15; i++)
        EXPECT_EQ(b[i], 0);
    EXPECT_EQ(b[15], 0x80);      /* stale: Redis recomputes */
}

/* Register i read bit by bit from a dense blob, as the format describes. */
static unsigned dense_bits(const unsigned char *b, unsigned i)
{
    unsigned v = 0;
    for (unsigned k = 0; k < 6; k++) {
        size_t bit = (size_t)6 * i + k;
        v |= (unsigned)((b[16 + bit / 8] >> (bit % 8)) & 1) << k;
    }
    return v;
}

START_TEST(export_empty_is_redis_empty)
{
    /* Byte for byte what redis-server 7.0.15 returns for GET after a PFADD
     * with no element: the header and one XZERO of 16384. */
    static const unsigned char redis_empty[18] = {
        'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xff};
    lt_hll *h = lt_hll_new();
    EXPECT_EQ(lt_hll_export(h, blob), sizeof(redis_empty));
    EXPECT(memcmp(blob, redis_empty, sizeof(redis_empty)) == 0);
    lt_hll_free(h);
}
END_TEST

START_TEST(export_sparse_opcodes)
{
    lt_hll *h = lt_hll_new();
    /* 0..63 zero (ZERO 64), 64..69 value 3 (VAL x4, VAL x2), 70 value 32
     * (VAL), 71..16382 zero (XZERO 16312), 16383 value 1 (VAL). */
    for (unsigned i = 64; i < 70; i++)
        set_reg(h, i, 3);
    set_reg(h, 70, 32);
    set_reg(h, 16383, 1);
    static const unsigned char want[] = {
        0x3f, 0x80 | 2 << 2 | 3, 0x80 | 2 << 2 | 1, 0x80 | 31 << 2,
        0x40 | (16312 - 1) >> 8, (16312 - 1) & 0xff, 0x80};
    size_t len = lt_hll_export(h, blob);
    check_header(blob, 1);
    EXPECT_EQ(len, 16 + sizeof(want));
    EXPECT(memcmp(blob + 16, want, sizeof(want)) == 0);
    lt_hll_free(h);
}
END_TEST

START_TEST(round_trip_sparse_and_dense)
{
    static const uint32_t sizes[] = {0, 1, 100, 1000, 3000, 20000, 1000000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        lt_hll *h = lt_hll_new(), *g = lt_hll_new();
        for (uint32_t i = 0; i < sizes[k]; i++)
            lt_hll_add(h, &i, sizeof(i));
        lt_hll_add_hash(g, 1);          /* import must replace, not merge */
        size_t len = lt_hll_export(h, blob);
        int dense = sizes[k] >= 3000;
        check_header(blob, dense ? 0 : 1);
        EXPECT_EQ(len == LT_HLL_DENSE_BYTES, dense);
        EXPECT(dense || len <= LT_HLL_SPARSE_MAX_BYTES);
        if (dense)
            for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
                EXPECT_EQ(dense_bits(blob, i), lt_hll_register(h, i));
        EXPECT_EQ(lt_hll_import(g, blob, len, NULL, 0), 0);
        EXPECT(same_registers(g, h));
        EXPECT_EQ(lt_hll_count(g), lt_hll_count(h));
        EXPECT_EQ(lt_hll_export(g, blob2), len);
        EXPECT(memcmp(blob, blob2, len) == 0);
        lt_hll_free(h);
        lt_hll_free(g);
    }
}
END_TEST

START_TEST(dense_packing_every_value)
{
    /* Every value 0..51 at every position modulo 4 of the byte packing. */
    lt_hll *h = lt_hll_new(), *g = lt_hll_new();
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        set_reg(h, i, (i * 7 + i / 52) % 52);
    EXPECT_EQ(lt_hll_export(h, blob), LT_HLL_DENSE_BYTES);
    check_header(blob, 0);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        EXPECT_EQ(dense_bits(blob, i), (i * 7 + i / 52) % 52);
    EXPECT_EQ(lt_hll_import(g, blob, LT_HLL_DENSE_BYTES, NULL, 0), 0);
    EXPECT(same_registers(g, h));
    lt_hll_free(h);
    lt_hll_free(g);
}
END_TEST

START_TEST(sparse_or_dense_choice)
{
    /* A single value of 33 cannot be written sparse. */
    lt_hll *h = lt_hll_new();
    set_reg(h, 9, 32);
    EXPECT_EQ(lt_hll_export(h, blob), 16 + 1 + 1 + 2);
    set_reg(h, 10, 33);
    EXPECT_EQ(lt_hll_export(h, blob), LT_HLL_DENSE_BYTES);
    lt_hll_free(h);

    /* k registers alternating 1, 2 cost k VAL bytes, then one XZERO: the
     * blob is 16 + k + 2 bytes, sparse up to exactly 3000 bytes. */
    for (unsigned k = 2980; k <= 2984; k++) {
        h = lt_hll_new();
        for (unsigned i = 0; i < k; i++)
            set_reg(h, i, 1 + i % 2);
        size_t len = lt_hll_export(h, blob);
        if (16 + k + 2 <= LT_HLL_SPARSE_MAX_BYTES) {
            EXPECT_EQ(len, 16 + k + 2);
            check_header(blob, 1);
        } else {
            EXPECT_EQ(len, LT_HLL_DENSE_BYTES);
            check_header(blob, 0);
        }
        lt_hll *g = lt_hll_new();
        EXPECT_EQ(lt_hll_import(g, blob, len, NULL, 0), 0);
        EXPECT(same_registers(g, h));
        lt_hll_free(g);
        lt_hll_free(h);
    }
}
END_TEST

START_TEST(import_accepts_any_valid_encoding)
{
    /* 16384 single-register ZERO opcodes, then XZERO of 1 per register,
     * with a garbage cached cardinality and reserved bytes: all valid. */
    lt_hll *h = lt_hll_new();
    size_t len = 16;
    static unsigned char big[16 + 2 * LT_HLL_REGISTERS];
    memcpy(big, "HYLL\x01\x07\x07\x07\x01\x02\x03\x04\x05\x06\x07\x08", 16);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        big[len++] = 0x00;
    lt_hll_add_hash(h, 3);
    EXPECT_EQ(lt_hll_import(h, big, len, NULL, 0), 0);
    EXPECT_EQ(lt_hll_count(h), 0);
    len = 16;
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++) {
        if (i == 77) {
            big[len++] = 0x80 | 4 << 2;          /* register 77 = 5 */
        } else {
            big[len++] = 0x40;
            big[len++] = 0x00;
        }
    }
    EXPECT_EQ(lt_hll_import(h, big, len, NULL, 0), 0);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        EXPECT_EQ(lt_hll_register(h, i), i == 77 ? 5 : 0);
    lt_hll_free(h);
}
END_TEST

/* Imports len bytes of b into h, which must fail with -EINVAL, leave h's
 * registers as in snapshot, and put a message with a byte offset in err. */
static void expect_rejected(lt_hll *h, const lt_hll *snapshot, const void *b, size_t len)
{
    char err[160];
    err[0] = '\0';
    EXPECT_EQ(lt_hll_import(h, b, len, err, sizeof(err)), -EINVAL);
    ck_assert_msg(strstr(err, "byte ") != NULL, "no offset in \"%s\"", err);
    EXPECT(same_registers(h, snapshot));
}

/* A sketch with some registers set, so "unchanged" means something. */
static lt_hll *nonempty(void)
{
    lt_hll *h = lt_hll_new();
    for (uint32_t i = 0; i < 5000; i++)
        lt_hll_add(h, &i, sizeof(i));
    return h;
}

static size_t sparse_blob(unsigned char *b, const unsigned char *ops, size_t n)
{
    memcpy(b, "HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80", 16);
    memcpy(b + 16, ops, n);
    return 16 + n;
}

START_TEST(import_rejects_bad_headers_and_lengths)
{
    lt_hll *h = nonempty(), *snap = nonempty();
    lt_hll *d = lt_hll_new();
    for (uint32_t i = 0; i < 100000; i++)
        lt_hll_add(d, &i, sizeof(i));
    size_t len = lt_hll_export(d, blob);
    EXPECT_EQ(len, LT_HLL_DENSE_BYTES);

    memcpy(bad, blob, len);
    bad[0] = 'h';                               /* wrong magic */
    expect_rejected(h, snap, bad, len);
    memcpy(bad, blob, len);
    bad[3] = 'X';
    expect_rejected(h, snap, bad, len);
    for (int enc = 2; enc < 256; enc++) {       /* wrong encoding */
        memcpy(bad, blob, len);
        bad[4] = (unsigned char)enc;
        expect_rejected(h, snap, bad, len);
    }
    expect_rejected(h, snap, blob, len - 1);    /* truncated dense */
    memcpy(bad, blob, len);
    bad[len] = 0;
    expect_rejected(h, snap, bad, len + 1);     /* dense with a tail */
    expect_rejected(h, snap, "HYLL", 4);
    expect_rejected(h, snap, "", 0);

    /* The message names the failing byte. */
    char err[160];
    memcpy(bad, blob, len);
    bad[4] = 9;
    lt_hll_import(h, bad, len, err, sizeof(err));
    ck_assert_str_eq(err, "hll import: byte 4: unknown encoding (neither 0 dense nor 1 sparse)");
    EXPECT_EQ(lt_hll_import(h, bad, len, err, 0), -EINVAL);
    lt_hll_free(h);
    lt_hll_free(snap);
    lt_hll_free(d);
}
END_TEST

START_TEST(import_rejects_sparse_runs)
{
    lt_hll *h = nonempty(), *snap = nonempty();
    size_t len;
    char err[160];

    /* XZERO 16384 then ZERO 1: one register too many. */
    static const unsigned char over[] = {0x7f, 0xff, 0x00};
    len = sparse_blob(bad, over, sizeof(over));
    expect_rejected(h, snap, bad, len);
    lt_hll_import(h, bad, len, err, sizeof(err));
    ck_assert_str_eq(err, "hll import: byte 18: opcodes after the last register");

    /* A run that straddles the end: XZERO 16383 then VAL x2. */
    static const unsigned char straddle[] = {0x7f, 0xfe, 0x81};
    len = sparse_blob(bad, straddle, sizeof(straddle));
    expect_rejected(h, snap, bad, len);
    lt_hll_import(h, bad, len, err, sizeof(err));
    ck_assert_str_eq(err, "hll import: byte 18: run goes past register 16383");

    /* Five XZERO 16384: 81,920 registers, which is 16,384 again modulo
     * 65,536.  A 16-bit position would wrap and accept it
     * (CVE-2025-32023's class of bug). */
    static const unsigned char wrap[] = {0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff, 0x7f, 0xff,
                                         0x7f, 0xff};
    len = sparse_blob(bad, wrap, sizeof(wrap));
    expect_rejected(h, snap, bad, len);

    /* Total below 16384: XZERO 16383 alone, and VAL runs only. */
    static const unsigned char shortz[] = {0x7f, 0xfe};
    len = sparse_blob(bad, shortz, sizeof(shortz));
    expect_rejected(h, snap, bad, len);
    lt_hll_import(h, bad, len, err, sizeof(err));
    ck_assert_str_eq(err, "hll import: byte 18: sparse opcodes cover fewer than 16384 registers");
    static const unsigned char vals[] = {0xff, 0xff, 0xff};
    len = sparse_blob(bad, vals, sizeof(vals));
    expect_rejected(h, snap, bad, len);
    len = sparse_blob(bad, vals, 0);           /* no opcode at all */
    expect_rejected(h, snap, bad, len);

    /* XZERO whose second byte is missing. */
    static const unsigned char cut[] = {0x7f, 0xfe, 0x40};
    len = sparse_blob(bad, cut, sizeof(cut));
    expect_rejected(h, snap, bad, len);
    lt_hll_free(h);
    lt_hll_free(snap);
}
END_TEST

START_TEST(import_rejects_dense_values_above_51)
{
    lt_hll *h = nonempty(), *snap = nonempty();
    lt_hll *d = lt_hll_new();
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        set_reg(d, i, 51);                     /* 51 itself is fine */
    EXPECT_EQ(lt_hll_export(d, blob), LT_HLL_DENSE_BYTES);
    lt_hll *g = lt_hll_new();
    EXPECT_EQ(lt_hll_import(g, blob, LT_HLL_DENSE_BYTES, NULL, 0), 0);
    EXPECT(same_registers(g, d));
    lt_hll_free(g);

    /* One register of 52..63 at each of the four positions in a 3-byte
     * group, at the start, middle and end of the data. */
    static const unsigned where[] = {0, 1, 2, 3, 8190, 8193, 16380, 16381, 16382, 16383};
    for (size_t w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
        for (unsigned v = 52; v < 64; v++) {
            memcpy(bad, blob, LT_HLL_DENSE_BYTES);
            for (unsigned k = 0; k < 6; k++) {
                size_t bit = (size_t)6 * where[w] + k;
                unsigned char mask = (unsigned char)(1u << (bit % 8));
                if ((v >> k) & 1)
                    bad[16 + bit / 8] |= mask;
                else
                    bad[16 + bit / 8] &= (unsigned char)~mask;
            }
            EXPECT_EQ(dense_bits(bad, where[w]), v);
            expect_rejected(h, snap, bad, LT_HLL_DENSE_BYTES);
        }
    }
    lt_hll_free(h);
    lt_hll_free(snap);
    lt_hll_free(d);
}
END_TEST

START_TEST(import_rejects_every_prefix)
{
    lt_hll *h = nonempty(), *snap = nonempty();
    static const uint32_t sizes[] = {300, 100000};   /* sparse, dense */
    for (size_t k = 0; k < 2; k++) {
        lt_hll *src = lt_hll_new();
        for (uint32_t i = 0; i < sizes[k]; i++)
            lt_hll_add(src, &i, sizeof(i));
        size_t len = lt_hll_export(src, blob);
        EXPECT_EQ(blob[4], k == 0 ? 1 : 0);
        for (size_t n = 0; n < len; n++) {
            /* A copy of exactly n bytes, so ASan sees any read past it. */
            unsigned char *p = malloc(n ? n : 1);
            memcpy(p, blob, n);
            EXPECT_EQ(lt_hll_import(h, p, n, NULL, 0), -EINVAL);
            free(p);
        }
        EXPECT(same_registers(h, snap));
        EXPECT_EQ(lt_hll_import(h, blob, len, NULL, 0), 0);
        EXPECT(same_registers(h, src));
        lt_hll_import(h, blob2, lt_hll_export(snap, blob2), NULL, 0);
        lt_hll_free(src);
    }
    lt_hll_free(h);
    lt_hll_free(snap);
}
END_TEST

/* Imports the corrupted blob; on success every register must be in range,
 * on failure h must be unchanged (checked on a sample to stay fast). */
static void import_flipped(lt_hll *h, const lt_hll *snap, const unsigned char *b,
                           size_t len, int check_unchanged)
{
    unsigned char *p = malloc(len);
    memcpy(p, b, len);
    int rc = lt_hll_import(h, p, len, NULL, 0);
    free(p);
    EXPECT(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
            EXPECT(lt_hll_register(h, i) <= 51);
        lt_hll_count(h);
        lt_hll_export(h, blob2);
        lt_hll_import(h, blob2, lt_hll_export(snap, blob2), NULL, 0);
    } else if (check_unchanged) {
        EXPECT(same_registers(h, snap));
    }
}

START_TEST(import_survives_byte_flips)
{
    lt_hll *h = nonempty(), *snap = nonempty();
    lt_hll *src = lt_hll_new();
    for (uint32_t i = 0; i < 200; i++)
        lt_hll_add(src, &i, sizeof(i));
    size_t len = lt_hll_export(src, blob);
    EXPECT_EQ(blob[4], 1);
    /* Sparse: every byte, every single-bit flip and a few whole values. */
    for (size_t at = 0; at < len; at++) {
        for (int x = 0; x < 11; x++) {
            memcpy(bad, blob, len);
            unsigned char flip = x < 8 ? (unsigned char)(1u << x) : (unsigned char)(x * 0x55);
            bad[at] ^= flip;
            import_flipped(h, snap, bad, len, x % 4 == 0);
        }
    }
    /* Dense: every byte flipped by a random non-zero mask. */
    for (uint32_t i = 200; i < 100000; i++)
        lt_hll_add(src, &i, sizeof(i));
    len = lt_hll_export(src, blob);
    EXPECT_EQ(blob[4], 0);
    for (size_t at = 0; at < len; at++) {
        memcpy(bad, blob, len);
        bad[at] ^= (unsigned char)(next() % 255 + 1);
        import_flipped(h, snap, bad, len, at % 64 == 0);
    }
    lt_hll_free(src);
    lt_hll_free(h);
    lt_hll_free(snap);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hll");
    TCase *tc = tcase_create("hll");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hash_matches_redis);
    tcase_add_test(tc, hash_and_registers_match_reference);
    tcase_add_test(tc, register_value_extremes);
    tcase_add_test(tc, estimate_small);
    tcase_add_test(tc, estimate_matches_redis_on_extreme_registers);
    tcase_add_test(tc, estimate_within_three_sigma);
    tcase_add_test(tc, merge_is_registerwise_max);
    tcase_add_test(tc, export_empty_is_redis_empty);
    tcase_add_test(tc, export_sparse_opcodes);
    tcase_add_test(tc, round_trip_sparse_and_dense);
    tcase_add_test(tc, dense_packing_every_value);
    tcase_add_test(tc, sparse_or_dense_choice);
    tcase_add_test(tc, import_accepts_any_valid_encoding);
    tcase_add_test(tc, import_rejects_bad_headers_and_lengths);
    tcase_add_test(tc, import_rejects_sparse_runs);
    tcase_add_test(tc, import_rejects_dense_values_above_51);
    tcase_add_test(tc, import_rejects_every_prefix);
    tcase_add_test(tc, import_survives_byte_flips);
    suite_add_tcase(s, tc);
    return lt_test_run(s);
}
