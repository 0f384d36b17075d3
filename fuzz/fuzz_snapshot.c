/* fuzz_snapshot.c -- lt_snapshot_read() on arbitrary bytes.
 *
 * Input layout
 * ------------
 *   byte 0     the mode:
 *                bits 0-1  0  the rest is read as it is (checksums and all);
 *                          1  resealed: every section checksum the table
 *                             names, then the header checksum, recomputed
 *                             first (as tests/test_snapshot.c's reseal()),
 *                             so mutations reach the section decoders;
 *                          2  compact: the table's offsets laid out again
 *                             back to back from its lengths, the hll section
 *                             (49,152 bytes in a real snapshot) padded with
 *                             zeros when shorter, then resealed: a seed of a
 *                             few hundred bytes reaches every decoder;
 *                          3  compact, the hll section's bytes repeated to
 *                             fill it instead of zeros;
 *                bit 2     the first read asks for the sources (out-params);
 *                bits 3-4  the first read's limits override: none, tiny
 *                          (0 bytes, 1 URL), small (4 KiB, 3 URLs, strip
 *                          queries) or the defaults;
 *   the rest   the snapshot, copied into a heap block of exactly its size.
 *
 * Checked
 * -------
 *  - the code is 0 or -EINVAL; a refusal leaves *out NULL and says
 *    "byte N: ..." (or a header message) in printable ASCII, N within the
 *    input; nothing leaks either way (LeakSanitizer);
 *  - without an override, asking for the sources or not changes neither
 *    the code nor the message;
 *  - an accepted snapshot (read with sources, no override) holds a tally
 *    with lines == valid + malformed, lt_rps_total() == valid, and URL
 *    hits == valid - unparsed; lt_snapshot_write() of it, with the sources
 *    and the input's `created` (bytes 16..23), gives back the input byte
 *    for byte (the writer is canonical, so the reader must refuse whatever
 *    no tally could have written), and that reads again;
 *  - with an override, an accepted tally carries the override's limits, its
 *    snapshot reads again without an override, and writing that gives the
 *    same bytes once more.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <xxhash.h>

#include "clients.h"
#include "fuzz.h"
#include "rps.h"
#include "snapshot.h"
#include "urls.h"

#define HEADER 32
#define ENTRY 32
#define MAX_SECTIONS 8
#define SEC_HLL 4
#define HLL_BYTES (3 * 16384)

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

/* The section count when the header and table are whole, else 0. */
static uint32_t table_entries(const unsigned char *d, size_t len)
{
    if (len < HEADER)
        return 0;
    uint32_t n = get32(d + 12);
    if (n == 0 || n > MAX_SECTIONS || len - HEADER < (size_t)n * ENTRY)
        return 0;
    return n;
}

/* Recomputes every section checksum (of the sections inside the input)
 * and then the header checksum. */
static void reseal(unsigned char *d, size_t len)
{
    uint32_t n = table_entries(d, len);
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *e = d + HEADER + ENTRY * i;
        uint64_t off = get64(e + 8), slen = get64(e + 16);
        if (off <= len && slen <= len - off)
            put64(e + 24, XXH64(d + off, slen, 0));
    }
    memset(d + 24, 0, 8);
    put64(d + 24, XXH64(d, HEADER + (size_t)n * ENTRY, 0));
}

/* Compact mode: lays the sections out back to back from the table's
 * lengths, padding the first hll section to its full size.  Returns a new
 * block of exactly *len bytes. */
static unsigned char *expand(const unsigned char *in, size_t *len, bool tile)
{
    size_t n_in = *len;
    uint32_t n = table_entries(in, n_in);
    if (n == 0)
        return (unsigned char *)fuzz_dup(in, n_in);
    unsigned char *out = malloc(n_in + HLL_BYTES);
    if (out == NULL)
        abort();
    size_t head = HEADER + (size_t)n * ENTRY, at = head, from = head;
    bool padded = false;
    memcpy(out, in, head);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *e = out + HEADER + ENTRY * i;
        uint64_t slen = get64(e + 16);
        size_t take = slen < n_in - from ? (size_t)slen : n_in - from;
        put64(e + 8, at);
        memcpy(out + at, in + from, take);
        at += take;
        from += take;
        if (get32(e) == SEC_HLL && !padded && slen < HLL_BYTES) {
            padded = true;
            for (size_t k = take; k < HLL_BYTES; k++, at++)
                out[at] = tile && take > 0 ? out[at - take] : 0;
            put64(e + 16, HLL_BYTES);
        }
    }
    memcpy(out + at, in + from, n_in - from);
    at += n_in - from;
    /* An exact-size block, for ASan. */
    unsigned char *exact = (unsigned char *)fuzz_dup(out, at);
    free(out);
    *len = at;
    return exact;
}

static void check_message(const char *err, size_t len)
{
    size_t n = strlen(err);
    FUZZ_CHECK(n > 0, "a refusal without a message");
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f, "byte 0x%02x in the message: %s",
                   (unsigned char)err[i], err);
    unsigned long at;
    if (sscanf(err, "byte %lu: ", &at) == 1)
        FUZZ_CHECK(at <= len, "offset %lu in a %zu-byte snapshot: %s", at, len, err);
    else
        FUZZ_CHECK(strstr(err, "snapshot") != NULL || strstr(err, "version") != NULL,
                   "a message without an offset: %s", err);
}

static void check_tally(const lt_tally *t)
{
    const lt_counters *n = lt_tally_counters(t);
    FUZZ_CHECK(n->lines == n->valid + n->malformed, "lines %llu != valid %llu + malformed %llu",
               (unsigned long long)n->lines, (unsigned long long)n->valid,
               (unsigned long long)n->malformed);
    FUZZ_CHECK(n->valid >= n->unparsed_requests, "unparsed %llu > valid %llu",
               (unsigned long long)n->unparsed_requests, (unsigned long long)n->valid);
    uint64_t rps = lt_rps_total(lt_tally_rps(t));
    FUZZ_CHECK(rps == n->valid, "rps total %llu, valid %llu", (unsigned long long)rps,
               (unsigned long long)n->valid);
    uint64_t hits = lt_urls_total(lt_tally_urls(t));
    FUZZ_CHECK(hits == n->valid - n->unparsed_requests, "URL hits %llu, requests with a URL %llu",
               (unsigned long long)hits, (unsigned long long)(n->valid - n->unparsed_requests));
    lt_sample s[LT_SAMPLES];
    size_t k = lt_tally_samples(t, s);
    FUZZ_CHECK(k == (n->malformed < LT_SAMPLES ? n->malformed : LT_SAMPLES),
               "%zu samples for %llu malformed lines", k, (unsigned long long)n->malformed);
}

/* LT_FUZZ_SKIP_KNOWN set (fuzz/run.sh sets it): step around the bugs
 * already recorded in fuzz/crashes/, so that a run looks for new ones.
 * Each guard goes when its bug is fixed.
 *
 *   snapshot-exact-clients-over-budget.bin: exact client sets larger than
 *   the snapshot's own exact_clients_bytes are accepted and silently
 *   dropped (lt_clients_from_parts()), so the tally writes back inexact.
 *   Guard: the byte-for-byte comparison is skipped when the input's
 *   clients section says exact and the tally read from it is not. */
static bool skip_known;

/* The first byte of section `type` when the table places it inside the
 * input, else -1. */
static int section_flag(const unsigned char *d, size_t len, uint32_t type)
{
    uint32_t n = table_entries(d, len);
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *e = d + HEADER + ENTRY * i;
        uint64_t off = get64(e + 8), slen = get64(e + 16);
        if (get32(e) == type && off < len && slen > 0 && slen <= len - off)
            return d[off];
    }
    return -1;
}

static bool known_exactness_loss(const unsigned char *d, size_t len, const lt_tally *t)
{
    lt_clients_parts p;
    lt_clients_get_parts(lt_tally_clients(t), &p);
    return section_flag(d, len, 3) == 1 && !p.exact;
}

static const lt_limits overrides[4] = {
    {0, 0, 0, {0}, 0},    /* unused: no override */
    {0, 1, 0, {0}, 0},
    {4096, 3, 1, {0}, 0},
    {LT_DEFAULT_EXACT_CLIENTS_BYTES, LT_DEFAULT_URL_ENTRIES, 0, {0}, LT_DEFAULT_RPS_BYTES},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        skip_known = getenv("LT_FUZZ_SKIP_KNOWN") != NULL;
        ready = true;
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0], seal = mode & 3, ov = mode >> 3 & 3;
    bool want_src = mode & 4;
    const lt_limits *limits = ov ? &overrides[ov] : NULL;
    size_t len = size - 1;
    unsigned char *snap = seal >= 2 ? expand(data + 1, &len, seal == 3)
                                    : (unsigned char *)fuzz_dup(data + 1, len);
    if (seal != 0)
        reseal(snap, len);
    int64_t created = len >= 24 ? (int64_t)get64(snap + 16) : 0;

    char err[256], err2[256];
    lt_tally *t = (lt_tally *)1;
    lt_snapshot_source *src = (lt_snapshot_source *)1;
    size_t n_src = 12345;
    int rc = lt_snapshot_read(snap, len, limits, &t, want_src ? &src : NULL,
                              want_src ? &n_src : NULL, err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL, "code %d (%s)", rc, rc ? err : "");
    if (rc != 0) {
        FUZZ_CHECK(t == NULL, "*out not NULL after a refusal");
        check_message(err, len);
    } else {
        check_tally(t);
        if (!want_src)
            FUZZ_CHECK(src == (lt_snapshot_source *)1 && n_src == 12345,
                       "sources touched without out-params");
    }

    /* The canonical read: no override, with the sources. */
    lt_tally *c = t;
    lt_snapshot_source *csrc = want_src ? src : NULL;
    size_t n_csrc = want_src ? n_src : 0;
    if (limits != NULL || !want_src) {
        csrc = NULL;
        n_csrc = 0;
        int rc2 = lt_snapshot_read(snap, len, NULL, &c, &csrc, &n_csrc, err2, sizeof err2);
        FUZZ_CHECK(rc2 == 0 || rc2 == -EINVAL, "code %d", rc2);
        if (limits == NULL) {
            FUZZ_CHECK(rc2 == rc, "code %d without the sources, %d with them", rc, rc2);
            FUZZ_CHECK(rc != 0 || strcmp(err, err2) == 0, "message '%s' without sources, '%s' with",
                       err, err2);
        }
        if (rc2 != 0) {
            c = NULL;
            check_message(err2, len);
        } else {
            check_tally(c);
        }
    }

    if (c != NULL) {
        lt_buf out;
        lt_buf_init(&out);
        FUZZ_CHECK(lt_snapshot_write(&out, c, csrc, n_csrc, created) == 0, "write failed");
        /* A version-1 snapshot is written back as version 2 (with empty
         * buckets): the byte-for-byte check is for the current version,
         * the read-back below for both. */
        bool same = (out.len == len && memcmp(out.data, snap, len) == 0) ||
                    (len > 8 && snap[8] == 1);
        if (!same && !(skip_known && known_exactness_loss(snap, len, c))) {
            size_t at = 0;
            while (at < len && at < out.len && (unsigned char)out.data[at] == snap[at])
                at++;
            size_t from = at > 16 ? at - 16 : 0;
            fuzz_dump("read, from 16 bytes before the difference", snap + from, len - from);
            fuzz_dump("written", out.data + from, out.len - from);
            FUZZ_CHECK(same, "an accepted snapshot of %zu bytes writes back as %zu bytes, "
                             "first difference at byte %zu", len, out.len, at);
        }
        lt_tally *again = NULL;
        FUZZ_CHECK(lt_snapshot_read(out.data, out.len, NULL, &again, NULL, NULL, err2,
                                    sizeof err2) == 0,
                   "the written snapshot is refused: %s", err2);
        check_tally(again);
        lt_tally_free(again);
        lt_buf_free(&out);
    }

    if (limits != NULL && rc == 0) {
        const lt_limits *l = lt_tally_limits(t);
        FUZZ_CHECK(l->exact_clients_bytes == limits->exact_clients_bytes &&
                       l->url_entries == limits->url_entries &&
                       (l->strip_query != 0) == (limits->strip_query != 0),
                   "the override's limits were not taken");
        lt_buf w1, w2;
        lt_buf_init(&w1);
        lt_buf_init(&w2);
        FUZZ_CHECK(lt_snapshot_write(&w1, t, want_src ? src : NULL, want_src ? n_src : 0,
                                     created) == 0,
                   "write failed");
        lt_tally *again = NULL;
        lt_snapshot_source *asrc = NULL;
        size_t n_asrc = 0;
        FUZZ_CHECK(lt_snapshot_read(w1.data, w1.len, NULL, &again, &asrc, &n_asrc, err2,
                                    sizeof err2) == 0,
                   "the snapshot of a tally read with an override is refused: %s", err2);
        check_tally(again);
        FUZZ_CHECK(lt_snapshot_write(&w2, again, asrc, n_asrc, created) == 0, "write failed");
        FUZZ_CHECK(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0,
                   "written, read and written again: %zu bytes, then %zu", w1.len, w2.len);
        lt_snapshot_sources_free(asrc, n_asrc);
        lt_tally_free(again);
        lt_buf_free(&w1);
        lt_buf_free(&w2);
    }

    if (c != t) {
        lt_tally_free(c);
        lt_snapshot_sources_free(csrc, n_csrc);
    }
    if (rc == 0) {
        lt_tally_free(t);
        if (want_src)
            lt_snapshot_sources_free(src, n_src);
    }
    free(snap);
    return 0;
}
