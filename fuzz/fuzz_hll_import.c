/* fuzz_hll_import.c -- lt_hll_import() on arbitrary blobs.
 *
 * The input is the blob.  A reference decoder written here from the format
 * described in lib/hll.c (and Redis's documentation) decides independently
 * whether the blob is valid and what its registers are:
 *
 *   16-byte header: "HYLL", encoding (0 dense, 1 sparse), 3 reserved
 *   bytes and 8 bytes of cached cardinality, all ignored;
 *   dense:  exactly 12,288 data bytes, register i at bits 6i..6i+5 counted
 *           from the least significant bit of byte 0, each at most 51;
 *   sparse: ZERO 00xxxxxx, XZERO 01xxxxxx yyyyyyyy, VAL 1vvvvvxx, whose
 *           runs cover registers 0..16383 exactly and end with the blob.
 *
 * Checked:
 *  - the library accepts exactly the blobs the reference accepts, with the
 *    same registers; a refused blob leaves the sketch as it was (it starts
 *    out holding a few elements) and says "hll import: byte N: ..." with N
 *    at most the blob's length;
 *  - an accepted sketch exports to a blob the reference decodes to the
 *    same registers, sparse exactly when every register is at most 32 and
 *    the sparse form fits 3,000 bytes, that imports again to the same
 *    registers, the same count, and exports to the same bytes;
 *  - merging into the sketch it replaced gives the register-wise maximum.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "hll.h"

#define M LT_HLL_REGISTERS

static bool ref_decode(const uint8_t *b, size_t len, uint8_t regs[M])
{
    if (len < 16 || memcmp(b, "HYLL", 4) != 0)
        return false;
    const uint8_t *d = b + 16;
    size_t n = len - 16;

    if (b[4] == 0) {
        if (n != M * 6 / 8)
            return false;
        for (size_t i = 0; i < M; i++) {
            unsigned v = 0;
            for (unsigned bit = 0; bit < 6; bit++) {
                size_t at = i * 6 + bit;
                v |= (unsigned)(d[at / 8] >> (at % 8) & 1) << bit;
            }
            if (v > 51)
                return false;
            regs[i] = (uint8_t)v;
        }
        return true;
    }
    if (b[4] != 1)
        return false;
    size_t reg = 0;
    for (size_t at = 0; at < n;) {
        uint8_t op = d[at];
        size_t run;
        uint8_t value = 0;
        if (op >> 6 == 0) {
            run = (op & 63u) + 1;
            at += 1;
        } else if (op >> 6 == 1) {
            if (at + 1 >= n)
                return false;
            run = ((size_t)(op & 63u) << 8 | d[at + 1]) + 1;
            at += 2;
        } else {
            value = (uint8_t)(((op >> 2) & 31u) + 1);
            run = (op & 3u) + 1;
            at += 1;
        }
        if (reg + run > M)
            return false;
        for (size_t k = 0; k < run; k++)
            regs[reg++] = value;
    }
    return reg == M;
}

/* The bytes of the shortest sparse encoding of regs, or 0 when a register
 * exceeds 32 (it cannot be written sparse). */
static size_t sparse_bytes(const uint8_t regs[M])
{
    size_t bytes = 16;
    for (size_t i = 0; i < M;) {
        size_t j = i;
        while (j < M && regs[j] == regs[i])
            j++;
        size_t run = j - i;
        if (regs[i] == 0) {
            while (run > 0) {
                size_t take = run > 16384 ? 16384 : run;
                bytes += take <= 64 ? 1 : 2;
                run -= take;
            }
        } else {
            if (regs[i] > 32)
                return 0;
            bytes += (run + 3) / 4;
        }
        i = j;
    }
    return bytes;
}

static void registers(const lt_hll *h, uint8_t regs[M])
{
    for (unsigned i = 0; i < M; i++)
        regs[i] = (uint8_t)lt_hll_register(h, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t before[M], after[M], want[M], again[M];
    static unsigned char blob[LT_HLL_DENSE_BYTES], blob2[LT_HLL_DENSE_BYTES];
    char err[128];
    uint8_t *copy = (uint8_t *)fuzz_dup(data, size);
    lt_hll *h = lt_hll_new(), *h2 = lt_hll_new(), *old = lt_hll_new();
    if (h == NULL || h2 == NULL || old == NULL)
        abort();

    /* A sketch that is not empty, so that "unchanged" means something. */
    for (size_t i = 0; i + 4 <= size && i < 64; i += 4) {
        lt_hll_add(h, data + i, 4);
        lt_hll_add(old, data + i, 4);
    }
    registers(h, before);

    bool valid = ref_decode(copy, size, want);
    err[0] = '\0';
    int rc = lt_hll_import(h, copy, size, err, sizeof err);
    registers(h, after);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL, "code %d", rc);
    FUZZ_CHECK((rc == 0) == valid, "library %s, reference %s (%s)", rc ? "refuses" : "accepts",
               valid ? "accepts" : "refuses", err);
    if (rc != 0) {
        FUZZ_CHECK(memcmp(before, after, M) == 0, "a refused import changed the sketch");
        unsigned long at = 0;
        FUZZ_CHECK(sscanf(err, "hll import: byte %lu: ", &at) == 1, "message: %s", err);
        FUZZ_CHECK(at <= size, "offset %lu in a %zu-byte blob: %s", at, size, err);
        /* Nothing written into a zero-length buffer, and the same answer. */
        FUZZ_CHECK(lt_hll_import(h, copy, size, NULL, 0) == rc, "code differs without a buffer");
        goto out;
    }
    for (unsigned i = 0; i < M; i++)
        FUZZ_CHECK(after[i] == want[i], "register %u: library %u, reference %u", i, after[i],
                   want[i]);

    uint64_t count = lt_hll_count(h);
    FUZZ_CHECK(count <= (uint64_t)1 << 63, "count %llu", (unsigned long long)count);

    size_t len = lt_hll_export(h, blob);
    size_t sparse = sparse_bytes(after);
    bool want_sparse = sparse != 0 && sparse <= LT_HLL_SPARSE_MAX_BYTES;
    FUZZ_CHECK(len >= 16 && len <= LT_HLL_DENSE_BYTES, "export of %zu bytes", len);
    FUZZ_CHECK(memcmp(blob, "HYLL", 4) == 0 && (blob[15] & 0x80), "magic or stale bit missing");
    FUZZ_CHECK(blob[4] == (want_sparse ? 1 : 0), "encoding %u, sparse form %zu bytes", blob[4],
               sparse);
    FUZZ_CHECK(!want_sparse || len == sparse, "sparse export of %zu bytes, shortest %zu", len,
               sparse);
    FUZZ_CHECK(ref_decode(blob, len, again) && memcmp(again, after, M) == 0,
               "the reference reads other registers from the export");
    FUZZ_CHECK(lt_hll_import(h2, blob, len, err, sizeof err) == 0, "export refused: %s", err);
    registers(h2, again);
    FUZZ_CHECK(memcmp(again, after, M) == 0, "re-import gives other registers");
    FUZZ_CHECK(lt_hll_count(h2) == count, "count %llu, after re-import %llu",
               (unsigned long long)count, (unsigned long long)lt_hll_count(h2));
    FUZZ_CHECK(lt_hll_export(h2, blob2) == len && memcmp(blob, blob2, len) == 0,
               "the second export differs");

    lt_hll_merge(old, h);
    for (unsigned i = 0; i < M; i++) {
        unsigned m = before[i] > after[i] ? before[i] : after[i];
        FUZZ_CHECK(lt_hll_register(old, i) == m, "merge: register %u", i);
    }

out:
    lt_hll_free(old);
    lt_hll_free(h2);
    lt_hll_free(h);
    free(copy);
    return 0;
}
