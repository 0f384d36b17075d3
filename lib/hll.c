/* hll.c -- HyperLogLog with P = 14, byte-compatible with Redis's PFADD,
 * PFCOUNT and PFMERGE.
 *
 * References
 * ----------
 * Flajolet, Fusy, Gandouet, Meunier, "HyperLogLog: the analysis of a
 * near-optimal cardinality estimation algorithm" (2007) for the sketch, and
 * Otmar Ertl, "New cardinality estimation algorithms for HyperLogLog
 * sketches", arXiv:1702.01284, for the estimator ("improved raw estimator",
 * no empirical bias tables, no linear-counting switch), which is the one
 * Redis uses since 5.0.  The Redis string formats below are described from
 * their documented, observable bytes; no Redis code is used.
 *
 * Representation in memory
 * ------------------------
 * One byte per register, uint8_t regs[16384], 16 KiB.  Packing six-bit
 * registers would save 4 KiB but cost a shift-and-mask read-modify-write on
 * every add, and lt_hll_add_hash() runs once per log line on a parser doing
 * tens of millions of lines a second.  With one byte per register an add is
 * a load, a compare and (rarely) a store, and merge and histogram are plain
 * byte loops the compiler vectorizes.  The Redis encodings exist only in
 * lt_hll_export() and lt_hll_import().
 *
 * Invariant: every register holds 0..51.  The hash cannot produce more
 * (see below) and lt_hll_import() refuses larger values, so the estimator's
 * histogram of 52 buckets never overflows.
 *
 * From a 64-bit hash to a register
 * --------------------------------
 * The hash is MurmurHash64A (Austin Appleby, public domain) with seed
 * 0xadc83b19, its input read as little-endian 64-bit words using byte loads,
 * so the result is the same on every host and no unaligned access happens.
 *
 *     bit 63                                  14 13             0
 *    +------------------------------------------+----------------+
 *    |   w = hash >> 14 (50 bits)               |  index (P=14)  |
 *    +------------------------------------------+----------------+
 *
 *    value = 1 + trailing zeros of (w | 1 << 50)      -> 1..51
 *
 * The sentinel bit 50 bounds the count when the 50 bits of w are all zero,
 * which is why a register can never exceed 51 (Q + 1 with Q = 64 - P).
 *
 * Redis string format (what GET on a PFADD key returns)
 * ------------------------------------------------------
 *
 *     byte  0   1   2   3   4     5   6   7   8 ............ 15  16 ...
 *         +---+---+---+---+-----+-----------+-------------------+-------
 *         | H | Y | L | L | enc | reserved  | cached card. (LE) | data
 *         +---+---+---+---+-----+-----------+-------------------+-------
 *           enc: 0 dense, 1 sparse       bit 7 of byte 15 set = stale
 *
 * Dense data is 12,288 bytes: register i occupies bits 6i..6i+5 of the data
 * area counted least significant bit first, so registers straddle bytes and
 * every four registers fill exactly three bytes:
 *
 *        data byte 0       data byte 1       data byte 2
 *     +-----------------+-----------------+-----------------+
 *     |1 0|5 4 3 2 1 0  |3 2 1 0|5 4 3 2  |5 4 3 2 1 0|5 4  |  (bit 7..0)
 *     |r1 |    r0       |  r2   |   r1    |    r3     | r2  |
 *     +-----------------+-----------------+-----------------+
 *
 * Sparse data is a sequence of opcodes covering the registers in order from
 * register 0; their runs must add up to exactly 16,384:
 *
 *     ZERO   00xxxxxx           x+1 registers set to 0        (1..64)
 *     XZERO  01xxxxxx yyyyyyyy  (x << 8 | y) + 1 registers 0  (1..16,384)
 *     VAL    1vvvvvxx           x+1 registers set to v+1      (1..4 of 1..32)
 *
 * A value above 32 cannot be written in sparse form, and Redis converts a
 * sparse string to dense once it would exceed hll-sparse-max-bytes (3,000 by
 * default, header included).  lt_hll_export() follows the same rule on the
 * shortest encoding of the registers; Redis's own incremental encoding can be
 * a few bytes longer, so near the limit the two can choose differently,
 * which does not matter since both encodings give the same registers.
 *
 * The exported cached cardinality is zero with the stale bit set, so Redis
 * recomputes it on the first PFCOUNT.
 *
 * Untrusted blobs
 * ---------------
 * lt_hll_import() checks the magic, the encoding byte and, for dense, the
 * exact length and that no register exceeds 51.  For sparse, every run is
 * added to a 32-bit position that is checked against 16,384 before any
 * register is touched (a run that ran past the end and wrapped a narrow
 * counter is the bug behind CVE-2025-32023); the opcodes must end exactly at
 * register 16,384 and exactly at the end of the blob.  The three reserved
 * bytes and the cached cardinality are ignored, as Redis ignores them: a
 * blob Redis accepts is accepted here.  The blob is validated completely
 * before the sketch is written, so a rejected import leaves it unchanged.
 *
 * Estimator
 * ---------
 * With C[k] the number of registers holding k, m = 16,384, Q = 50:
 *
 *     z = m * tau((m - C[Q+1]) / m)
 *     for k = Q down to 1:  z = (z + C[k]) * 0.5
 *     z = z + m * sigma(C[0] / m)
 *     E = round(alpha_inf * m * m / z),  alpha_inf = 1 / (2 ln 2)
 *
 * sigma and tau are the series of the paper, summed until the sum stops
 * changing.  Floating-point addition is not associative, so the operations
 * are done in exactly this order; PFCOUNT of an exported blob is checked to
 * equal lt_hll_count() by tests/hll_redis.sh against a real redis-server.
 * An empty sketch gives sigma(1) = infinity, hence z = infinity and E = 0.
 * The tau term is halved 50 times on its way into z, so it only matters
 * when almost every register is 51, which no real input produces.
 *
 * Costs: add O(1); count, merge, reset, export and import O(m).
 */
#include "hll.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HLL_Q (64 - LT_HLL_P)              /* bits of w: 50 */
#define HLL_MAX_VALUE (HLL_Q + 1)          /* 51 */
#define HLL_DATA_BYTES (LT_HLL_DENSE_BYTES - LT_HLL_HEADER_BYTES) /* 12,288 */
#define HLL_ENC_DENSE 0
#define HLL_ENC_SPARSE 1
#define HLL_SPARSE_VAL_MAX 32              /* largest value VAL can hold */
#define HLL_SPARSE_VAL_RUN 4               /* longest run one VAL can hold */
#define HLL_SPARSE_ZERO_RUN 64             /* longest run one ZERO can hold */
#define HLL_MURMUR_SEED 0xadc83b19u

struct lt_hll {
    uint8_t regs[LT_HLL_REGISTERS];
};

void lt_hll_get_registers(const lt_hll *h, uint8_t regs[LT_HLL_REGISTERS])
{
    memcpy(regs, h->regs, LT_HLL_REGISTERS);
}

int lt_hll_set_registers(lt_hll *h, const uint8_t regs[LT_HLL_REGISTERS])
{
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        if (regs[i] > 51)
            return -EINVAL;
    memcpy(h->regs, regs, LT_HLL_REGISTERS);
    return 0;
}

lt_hll *lt_hll_new(void)
{
    return calloc(1, sizeof(lt_hll));
}

void lt_hll_free(lt_hll *h)
{
    free(h);
}

/* Returns the 8 bytes at p as a little-endian integer.  Byte loads keep it
 * correct on big-endian hosts and on unaligned input; compilers turn this
 * into a single load where that is allowed. */
static uint64_t load64le(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint64_t lt_hll_hash(const void *data, size_t len)
{
    const uint64_t m = 0xc6a4a7935bd1e995u;
    const int r = 47;
    const unsigned char *p = data;
    const unsigned char *end = p + (len & ~(size_t)7);
    uint64_t h = HLL_MURMUR_SEED ^ ((uint64_t)len * m);

    for (; p != end; p += 8) {
        uint64_t k = load64le(p);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    /* The tail (0..7 bytes) is folded in as a little-endian partial word,
     * the same as the algorithm's fall-through switch over the remainder. */
    size_t tail = len & 7;
    if (tail != 0) {
        for (size_t i = tail; i-- > 0;)
            h ^= (uint64_t)p[i] << (8 * i);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

/* Returns the number of trailing zero bits of x, which must not be 0. */
static unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while ((x & 1) == 0) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

int lt_hll_add_hash(lt_hll *h, uint64_t hash)
{
    unsigned index = (unsigned)(hash & (LT_HLL_REGISTERS - 1));
    uint64_t w = hash >> LT_HLL_P | (uint64_t)1 << HLL_Q;
    uint8_t value = (uint8_t)(ctz64(w) + 1);

    if (h->regs[index] >= value)
        return 0;
    h->regs[index] = value;
    return 1;
}

int lt_hll_add(lt_hll *h, const void *data, size_t len)
{
    return lt_hll_add_hash(h, lt_hll_hash(data, len));
}

unsigned lt_hll_register(const lt_hll *h, unsigned i)
{
    return i < LT_HLL_REGISTERS ? h->regs[i] : 0;
}

/* Ertl's sigma(x) for 0 <= x <= 1: x + sum over k >= 1 of x^(2^k) * 2^(k-1),
 * summed until adding a term no longer changes the sum.  Returns infinity
 * for x == 1 (every register zero). */
static double hll_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0;
    double z = x;
    double prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

/* Ertl's tau(x) for 0 <= x <= 1: (1 - x - sum over k >= 1 of
 * (1 - x^(2^-k))^2 * 2^-k) / 3, summed until the sum stops changing.
 * Returns 0 at both ends, where the series is exactly 0. */
static double hll_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0;
    double z = 1.0 - x;
    double prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= pow(1.0 - x, 2) * y;
    } while (z != prev);
    return z / 3.0;
}

uint64_t lt_hll_count(const lt_hll *h)
{
    /* Counts fit easily in unsigned (at most 16,384 per bucket). */
    unsigned histo[HLL_MAX_VALUE + 1] = {0};
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        histo[h->regs[i]]++;

    const double m = LT_HLL_REGISTERS;
    const double alpha_inf = 0.721347520444481703680; /* 1 / (2 ln 2) */
    double z = m * hll_tau((m - histo[HLL_Q + 1]) / m);
    for (int k = HLL_Q; k >= 1; k--) {
        z += histo[k];
        z *= 0.5;
    }
    z += m * hll_sigma(histo[0] / m);
    double e = alpha_inf * m * m / z;
    /* Only a crafted blob (nearly every register at 40 or more) gets here:
     * z is 0 when every register is 51, and llround() of infinity or of
     * 2^63 and above is undefined.  2^63 is also the bit pattern x86 Redis
     * replies with (as -9223372036854775808) for such blobs. */
    if (!(e < 9223372036854775808.0))
        return (uint64_t)1 << 63;
    return (uint64_t)llround(e);
}

void lt_hll_merge(lt_hll *dst, const lt_hll *src)
{
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i++)
        if (src->regs[i] > dst->regs[i])
            dst->regs[i] = src->regs[i];
}

void lt_hll_reset(lt_hll *h)
{
    memset(h->regs, 0, sizeof(h->regs));
}

size_t lt_hll_bytes(const lt_hll *h)
{
    (void)h;
    return sizeof(lt_hll);
}

/* Writes the 16-byte header for encoding enc into out: magic, encoding,
 * reserved zeros, and a zero cached cardinality marked stale. */
static void hll_write_header(unsigned char *out, int enc)
{
    memcpy(out, "HYLL", 4);
    out[4] = (unsigned char)enc;
    memset(out + 5, 0, LT_HLL_HEADER_BYTES - 5);
    out[15] = 0x80;
}

/* Appends a run of n (1..16,384) zero registers to the sparse data at out
 * and returns the bytes written (1 or 2). */
static size_t hll_sparse_zero(unsigned char *out, unsigned n)
{
    if (n <= HLL_SPARSE_ZERO_RUN) {
        out[0] = (unsigned char)(n - 1);
        return 1;
    }
    out[0] = (unsigned char)(0x40 | (n - 1) >> 8);
    out[1] = (unsigned char)((n - 1) & 0xff);
    return 2;
}

/* Encodes h as sparse into out (room for LT_HLL_SPARSE_MAX_BYTES) and
 * returns the total length, header included, or 0 when a value is above 32
 * or the encoding would exceed LT_HLL_SPARSE_MAX_BYTES (then the content of
 * out is unspecified).  Each run of equal registers gets the fewest opcodes:
 * zero runs one ZERO or XZERO, value runs one VAL per four registers. */
static size_t hll_export_sparse(const lt_hll *h, unsigned char *out)
{
    size_t len = LT_HLL_HEADER_BYTES;
    unsigned i = 0;

    hll_write_header(out, HLL_ENC_SPARSE);
    while (i < LT_HLL_REGISTERS) {
        unsigned v = h->regs[i];
        unsigned run = 1;
        while (i + run < LT_HLL_REGISTERS && h->regs[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            /* Checked before writing, so out never overflows its
             * LT_HLL_SPARSE_MAX_BYTES. */
            size_t need = run <= HLL_SPARSE_ZERO_RUN ? 1 : 2;
            if (len + need > LT_HLL_SPARSE_MAX_BYTES)
                return 0;
            len += hll_sparse_zero(out + len, run);
            continue;
        }
        if (v > HLL_SPARSE_VAL_MAX)
            return 0;
        while (run > 0) {
            unsigned n = run < HLL_SPARSE_VAL_RUN ? run : HLL_SPARSE_VAL_RUN;
            if (len + 1 > LT_HLL_SPARSE_MAX_BYTES)
                return 0;
            out[len++] = (unsigned char)(0x80 | (v - 1) << 2 | (n - 1));
            run -= n;
        }
    }
    return len;
}

/* Packs the registers of h as dense into out (LT_HLL_DENSE_BYTES) and
 * returns LT_HLL_DENSE_BYTES.  Four six-bit registers make three bytes. */
static size_t hll_export_dense(const lt_hll *h, unsigned char *out)
{
    unsigned char *p = out + LT_HLL_HEADER_BYTES;

    hll_write_header(out, HLL_ENC_DENSE);
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i += 4, p += 3) {
        uint32_t w = (uint32_t)h->regs[i] | (uint32_t)h->regs[i + 1] << 6 |
                     (uint32_t)h->regs[i + 2] << 12 | (uint32_t)h->regs[i + 3] << 18;
        p[0] = (unsigned char)w;
        p[1] = (unsigned char)(w >> 8);
        p[2] = (unsigned char)(w >> 16);
    }
    return LT_HLL_DENSE_BYTES;
}

size_t lt_hll_export(const lt_hll *h, unsigned char *out)
{
    size_t len = hll_export_sparse(h, out);
    return len != 0 ? len : hll_export_dense(h, out);
}

/* Formats "hll import: byte OFFSET: WHY" into err (errlen bytes, may be 0)
 * and returns -EINVAL, so that every validation failure reads the same. */
static int hll_invalid(char *err, size_t errlen, size_t offset, const char *why)
{
    if (errlen > 0)
        snprintf(err, errlen, "hll import: byte %zu: %s", offset, why);
    return -EINVAL;
}

/* Walks the sparse opcodes in data[0..len) (the blob after its header; base
 * is the header size, used only for offsets in messages).  With regs NULL it
 * only validates; with regs non-NULL it also writes the registers, so the
 * caller validates first and writes on a second walk.  Returns 0 or -EINVAL
 * with a message in err. */
static int hll_sparse_walk(const unsigned char *data, size_t len, size_t base,
                           uint8_t *regs, char *err, size_t errlen)
{
    /* Each run is compared with the registers left before it is added, so
     * pos never passes 16,384; in 32 bits no sum of two runs can wrap. */
    uint32_t pos = 0;
    size_t at = 0;
    size_t op_at = 0;
    const char *why = NULL;

    while (at < len) {
        unsigned char op = data[at];
        uint32_t run;
        unsigned value = 0;

        op_at = at;
        if (pos == LT_HLL_REGISTERS) {
            why = "opcodes after the last register";
            goto invalid;
        }
        if ((op & 0xc0) == 0x00) {                 /* ZERO */
            run = (uint32_t)(op & 0x3f) + 1;
            at += 1;
        } else if ((op & 0xc0) == 0x40) {          /* XZERO */
            if (len - at < 2) {
                why = "XZERO opcode cut short";
                goto invalid;
            }
            run = ((uint32_t)(op & 0x3f) << 8 | data[at + 1]) + 1;
            at += 2;
        } else {                                   /* VAL */
            value = ((op >> 2) & 0x1f) + 1;
            run = (uint32_t)(op & 0x03) + 1;
            at += 1;
        }
        if (run > LT_HLL_REGISTERS - pos) {
            why = "run goes past register 16383";
            goto invalid;
        }
        if (regs != NULL)
            memset(regs + pos, (int)value, run);
        pos += run;
    }
    if (pos != LT_HLL_REGISTERS) {
        why = "sparse opcodes cover fewer than 16384 registers";
        op_at = len;
        goto invalid;
    }
    return 0;

invalid:
    return hll_invalid(err, errlen, base + op_at, why);
}

/* Unpacks the four six-bit registers stored in the three bytes at p. */
static void hll_dense_group(const unsigned char *p, uint8_t v[4])
{
    uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    v[0] = (uint8_t)(w & 0x3f);
    v[1] = (uint8_t)(w >> 6 & 0x3f);
    v[2] = (uint8_t)(w >> 12 & 0x3f);
    v[3] = (uint8_t)(w >> 18 & 0x3f);
}

int lt_hll_import(lt_hll *h, const void *blob, size_t len, char *err, size_t errlen)
{
    const unsigned char *b = blob;
    const unsigned char *data;
    size_t offset = 0;
    const char *why = NULL;
    uint8_t v[4];

    if (len < LT_HLL_HEADER_BYTES) {
        why = "shorter than the 16-byte header";
        offset = len;
        goto invalid;
    }
    if (memcmp(b, "HYLL", 4) != 0) {
        why = "no \"HYLL\" magic";
        goto invalid;
    }
    data = b + LT_HLL_HEADER_BYTES;
    if (b[4] == HLL_ENC_SPARSE) {
        size_t n = len - LT_HLL_HEADER_BYTES;
        int rc = hll_sparse_walk(data, n, LT_HLL_HEADER_BYTES, NULL, err, errlen);
        if (rc != 0)
            return rc;
        return hll_sparse_walk(data, n, LT_HLL_HEADER_BYTES, h->regs, NULL, 0);
    }
    if (b[4] != HLL_ENC_DENSE) {
        why = "unknown encoding (neither 0 dense nor 1 sparse)";
        offset = 4;
        goto invalid;
    }
    if (len != LT_HLL_DENSE_BYTES) {
        why = "dense blob is not exactly 12304 bytes";
        offset = len < LT_HLL_DENSE_BYTES ? len : LT_HLL_DENSE_BYTES;
        goto invalid;
    }
    /* Every register is checked before any is written, so h is untouched
     * when one of them is out of range. */
    for (size_t at = 0; at < HLL_DATA_BYTES; at += 3) {
        hll_dense_group(data + at, v);
        for (int k = 0; k < 4; k++) {
            if (v[k] > HLL_MAX_VALUE) {
                why = "dense register value above 51";
                offset = LT_HLL_HEADER_BYTES + at + (size_t)(6 * k) / 8;
                goto invalid;
            }
        }
    }
    for (unsigned i = 0; i < LT_HLL_REGISTERS; i += 4, data += 3)
        hll_dense_group(data, h->regs + i);
    return 0;

invalid:
    return hll_invalid(err, errlen, offset, why);
}
