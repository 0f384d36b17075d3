/* tally.c -- everything counted about a stream of log lines.
 *
 * This is where a line is parsed and counted; read lt_tally_line() top to
 * bottom for the whole hot path:
 *
 *   line --lt_parse_line--> record --+--> counters (lines, valid, bytes)
 *                                    +--> clients (exact sets + HLL)
 *                                    +--> urls    (exact, then top-k)
 *                                    +--> rps     (per UTC second)
 *                                    +--> class rps (per second, non-2xx)
 *                                    +--> buckets (codes, methods, clients,
 *                                                  URLs, vhosts per bucket)
 *                                    +--> durations (response times, when logged)
 *
 * lt_tally_lines() is the same path for a batch of lines in two passes
 * (parse and prefetch every line, then count every line), which lets the
 * cache misses of up to LT_SCAN_BATCH lines overlap: the URL index, the
 * IPv4 set and the URL records are far larger than the caches, and a
 * lookup that waits for memory on every line is most of a line's cost.
 *
 * Invariant: counters.lines == counters.valid + counters.malformed, and
 * lt_rps_total(rps) == counters.valid.  A tally is used by one thread;
 * parallel readers each fill their own and merge them at the end.
 */
#include "tally.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lt_tally {
    lt_limits limits;
    lt_counters n;
    lt_clients *clients;
    lt_urls *urls;
    lt_rps *rps;
    lt_rps *class_rps[LT_CLASSES];
    lt_buckets *buckets;
    lt_hist *durations;
    int urls_borrowed;               /* urls belongs to a reader (lt_tally_borrow_urls) */
    lt_sample samples[LT_SAMPLES];   /* ring: next at n.malformed % LT_SAMPLES */
};

int lt_tally_status_class(unsigned status)
{
    switch (status / 100) {
    case 1: return LT_CLASS_1XX;
    case 2: return -1;
    case 3: return LT_CLASS_3XX;
    case 4: return LT_CLASS_4XX;
    case 5: return LT_CLASS_5XX;
    default: return LT_CLASS_OTHER;
    }
}

/* Creates the buckets and class tables; returns 0 or -ENOMEM. */
static int windows_new(lt_tally *t)
{
    t->buckets = lt_buckets_new(&t->limits.buckets);
    if (t->buckets == NULL)
        return -ENOMEM;
    for (int c = 0; c < LT_CLASSES; c++)
        if ((t->class_rps[c] = lt_rps_new()) == NULL)
            return -ENOMEM;
    return 0;
}

static void windows_free(lt_tally *t)
{
    lt_buckets_free(t->buckets);
    for (int c = 0; c < LT_CLASSES; c++)
        lt_rps_free(t->class_rps[c]);
}

lt_tally *lt_tally_new(const lt_limits *limits)
{
    lt_tally *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->limits = *limits;
    /* With buckets kept, the all-time set stamps addresses for them. */
    t->clients = lt_clients_new(limits->exact_clients_bytes, !limits->buckets.totals_only);
    t->urls = lt_urls_new(limits->url_entries > 0 ? limits->url_entries : 1);
    t->rps = lt_rps_new();
    t->durations = lt_hist_new();
    if (t->clients == NULL || t->urls == NULL || t->rps == NULL || t->durations == NULL ||
        windows_new(t) < 0) {
        lt_tally_free(t);
        return NULL;
    }
    lt_rps_set_limit(t->rps, limits->rps_bytes);
    return t;
}

lt_tally *lt_tally_from_parts(const lt_limits *limits, const lt_counters *n, lt_clients *clients,
                              lt_urls *urls, lt_rps *rps, const lt_sample *samples,
                              size_t n_samples)
{
    lt_tally *t = calloc(1, sizeof(*t));
    lt_hist *durations = lt_hist_new();
    if (t == NULL || clients == NULL || urls == NULL || rps == NULL || durations == NULL ||
        n_samples > LT_SAMPLES) {
        free(t);
        lt_hist_free(durations);
        lt_clients_free(clients);
        lt_urls_free(urls);
        lt_rps_free(rps);
        return NULL;
    }
    t->limits = *limits;
    t->clients = clients;
    t->urls = urls;
    t->rps = rps;
    t->durations = durations;
    lt_rps_set_limit(rps, limits->rps_bytes);
    if (windows_new(t) < 0) {
        lt_tally_free(t);
        return NULL;
    }
    /* The ring's next slot is n.malformed % LT_SAMPLES: put the kept
     * samples in the slots that precede it, oldest first. */
    t->n = *n;
    for (size_t i = 0; i < n_samples; i++)
        t->samples[(t->n.malformed - n_samples + i) % LT_SAMPLES] = samples[i];
    return t;
}

void lt_tally_free(lt_tally *t)
{
    if (t == NULL)
        return;
    lt_clients_free(t->clients);
    if (!t->urls_borrowed)
        lt_urls_free(t->urls);
    lt_rps_free(t->rps);
    windows_free(t);
    lt_hist_free(t->durations);
    free(t);
}

static void keep_sample(lt_tally *t, int reason, const char *line, size_t len, uint32_t source,
                        uint64_t lineno)
{
    lt_sample *s = &t->samples[t->n.malformed % LT_SAMPLES];
    s->source = source;
    s->line = lineno;
    s->reason = reason;
    s->len = len < LT_SAMPLE_BYTES ? len : LT_SAMPLE_BYTES;
    memcpy(s->text, line, s->len);
}

/* The URL of a valid record as counted: the target as logged, without its
 * query string when the limits say so.  Returns its length. */
static size_t counted_url_len(const lt_tally *t, const lt_record *rec)
{
    size_t len = rec->url_len;
    if (t->limits.strip_query) {
        const char *q = memchr(rec->url, '?', len);
        if (q != NULL)
            len = (size_t)(q - rec->url);
    }
    return len;
}

/* Counts a valid record whose URL (when it has one) is url_len bytes
 * hashing to url_hash.  Returns 0 or -ENOMEM. */
static int count_record(lt_tally *t, const lt_record *rec, size_t url_len, uint64_t url_hash)
{
    if (lt_rps_add(t->rps, rec->ts, 1) < 0)
        return -ENOMEM;
    if (rec->url != NULL) {
        if (lt_urls_add_hashed(t->urls, rec->url, url_len, url_hash, 1) < 0)
            return -ENOMEM;
    } else {
        t->n.unparsed_requests++;
        t->n.non_http_requests += rec->non_http != 0;
    }
    int c = lt_tally_status_class(rec->status);
    if (c >= 0 && lt_rps_add(t->class_rps[c], rec->ts, 1) < 0)
        return -ENOMEM;
    if (rec->duration_us != LT_NO_DURATION && lt_hist_add(t->durations, rec->duration_us, 1) < 0)
        return -ENOMEM;
    /* The all-time set's lookup tells the bucket whether it has the client
     * (the plain path skips the call: 2 % of its instructions). */
    uint32_t stamp = t->limits.buckets.totals_only ? 0 : lt_buckets_stamp(t->buckets, rec->ts);
    int seen = lt_clients_add(t->clients, rec, stamp);
    if (lt_buckets_add(t->buckets, rec, rec->url, url_len, url_hash, seen) < 0)
        return -ENOMEM;
    t->n.lines++;
    t->n.valid++;
    t->n.bytes += rec->bytes;
    return 0;
}

static void count_malformed(lt_tally *t, int reason, const char *line, size_t len,
                            uint32_t source, uint64_t lineno)
{
    keep_sample(t, reason, line, len, source, lineno);
    t->n.lines++;
    t->n.malformed++;
}

int lt_tally_line(lt_tally *t, lt_parser *p, const char *line, size_t len, uint32_t source,
                  uint64_t lineno)
{
    lt_record rec;
    int rc = lt_parse_line(p, line, len, &rec);
    if (rc != LT_PARSE_OK) {
        count_malformed(t, rc, line, len, source, lineno);
        return rc;
    }
    size_t url_len = rec.url != NULL ? counted_url_len(t, &rec) : 0;
    uint64_t url_hash = rec.url != NULL ? lt_urls_hash(rec.url, url_len) : 0;
    return count_record(t, &rec, url_len, url_hash);
}

int lt_tally_lines(lt_tally *t, lt_parser *p, const lt_line *lines, size_t n, uint32_t source,
                   uint64_t first_lineno)
{
    struct {
        lt_record rec;
        int rc;
        size_t url_len;
        uint64_t url_hash;
    } parsed[LT_SCAN_BATCH];

    if (n > LT_SCAN_BATCH)
        return -EINVAL;
    /* A shared IPv4 set is entered once per batch, not per line. */
    lt_clients_enter(t->clients);
    /* Pass 1: parse, hash, and start loading the slots pass 2 will read. */
    for (size_t i = 0; i < n; i++) {
        lt_record *rec = &parsed[i].rec;
        parsed[i].url_hash = 0;
        parsed[i].rc = lines[i].overlong ? LT_PARSE_TOO_LONG
                                         : lt_parse_line(p, lines[i].text, lines[i].len, rec);
        if (parsed[i].rc != LT_PARSE_OK)
            continue;
        if (rec->url != NULL) {
            parsed[i].url_len = counted_url_len(t, rec);
            parsed[i].url_hash = lt_urls_hash(rec->url, parsed[i].url_len);
            lt_urls_prefetch(t->urls, parsed[i].url_hash);
        }
        lt_clients_prefetch(t->clients, rec);
        lt_buckets_prefetch(t->buckets, rec, parsed[i].url_hash, 0);
    }
    /* The slots have arrived meanwhile: start loading the URL records. */
    for (size_t i = 0; i < n; i++)
        if (parsed[i].rc == LT_PARSE_OK) {
            if (parsed[i].rec.url != NULL)
                lt_urls_prefetch_record(t->urls, parsed[i].url_hash);
            lt_buckets_prefetch(t->buckets, &parsed[i].rec, parsed[i].url_hash, 1);
        }
    /* Pass 2: count, in line order (the samples keep the most recent). */
    for (size_t i = 0; i < n; i++) {
        if (parsed[i].rc != LT_PARSE_OK)
            count_malformed(t, parsed[i].rc, lines[i].text, lines[i].len, source, first_lineno + i);
        else if (count_record(t, &parsed[i].rec, parsed[i].url_len, parsed[i].url_hash) < 0) {
            lt_clients_leave(t->clients);
            return -ENOMEM;
        }
    }
    lt_clients_leave(t->clients);
    return 0;
}

void lt_tally_overlong(lt_tally *t, const char *head, size_t len, uint32_t source,
                       uint64_t lineno)
{
    count_malformed(t, LT_PARSE_TOO_LONG, head, len, source, lineno);
}

void lt_tally_shift_lines(lt_tally *t, uint32_t source, uint64_t delta)
{
    for (size_t i = 0; i < LT_SAMPLES; i++)
        if (t->samples[i].source == source)
            t->samples[i].line += delta;
}

static int merge(lt_tally *dst, lt_tally *src, int take);

int lt_tally_merge(lt_tally *dst, const lt_tally *src)
{
    /* With take unset, src is only read. */
    return merge(dst, (lt_tally *)src, 0);
}

static int same_limits(const lt_limits *a, const lt_limits *b)
{
    const lt_buckets_conf *x = &a->buckets, *y = &b->buckets;
    return a->exact_clients_bytes == b->exact_clients_bytes && a->url_entries == b->url_entries &&
           a->strip_query == b->strip_query && a->rps_bytes == b->rps_bytes &&
           x->width == y->width && x->retention == y->retention &&
           x->clients_bytes == y->clients_bytes && x->urls == y->urls && x->vhosts == y->vhosts &&
           x->totals_only == y->totals_only;
}

int lt_tally_absorb(lt_tally *dst, lt_tally *src)
{
    /* A tally that has counted nothing (a first start's backlog, read into
     * a tally of its own) takes src's tables as they are: a move, where a
     * merge would copy millions of clients and URLs. */
    if (dst->n.lines == 0 && dst->n.bytes == 0 && !dst->urls_borrowed && !src->urls_borrowed &&
        same_limits(&dst->limits, &src->limits)) {
        lt_tally swap = *dst;
        *dst = *src;
        *src = swap;
        /* Its stamps served src's own counting; a tally that absorbs
         * others (the daemon's live counts) adds no line itself. */
        lt_clients_unstamp(dst->clients);
        return 0;
    }
    return merge(dst, src, 1);
}

static int merge(lt_tally *dst, lt_tally *src, int take)
{
    if (lt_rps_merge(dst->rps, src->rps) < 0 ||
        (!src->urls_borrowed && lt_urls_merge(dst->urls, src->urls) < 0) ||
        lt_hist_merge(dst->durations, src->durations) < 0)
        return -ENOMEM;
    for (int c = 0; c < LT_CLASSES; c++)
        if (lt_rps_merge(dst->class_rps[c], src->class_rps[c]) < 0)
            return -ENOMEM;
    int brc = take ? lt_buckets_absorb(dst->buckets, src->buckets)
                   : lt_buckets_merge(dst->buckets, src->buckets);
    if (brc < 0)
        return brc;
    lt_clients_merge(dst->clients, src->clients);

    /* src's malformed lines come after dst's: its kept samples take the
     * ring slots of the last of them, as if dst had read them itself. */
    uint64_t kept = src->n.malformed < LT_SAMPLES ? src->n.malformed : LT_SAMPLES;
    uint64_t after = dst->n.malformed + src->n.malformed;
    for (uint64_t i = 0; i < kept; i++) {
        const lt_sample *s = &src->samples[(src->n.malformed - kept + i) % LT_SAMPLES];
        dst->samples[(after - kept + i) % LT_SAMPLES] = *s;
    }
    dst->n.lines += src->n.lines;
    dst->n.valid += src->n.valid;
    dst->n.malformed += src->n.malformed;
    dst->n.unparsed_requests += src->n.unparsed_requests;
    dst->n.non_http_requests += src->n.non_http_requests;
    dst->n.bytes += src->n.bytes;
    return 0;
}

int lt_tally_share_clients(lt_tally *t, unsigned readers)
{
    return lt_clients_share(t->clients, readers);
}

void lt_tally_borrow_clients(lt_tally *partial, lt_tally *owner, unsigned reader)
{
    lt_clients_borrow(partial->clients, owner->clients, reader);
}

void lt_tally_unshare_clients(lt_tally *t)
{
    lt_clients_unshare(t->clients);
}

void lt_tally_borrow_urls(lt_tally *partial, lt_urls *urls)
{
    if (!partial->urls_borrowed)
        lt_urls_free(partial->urls);
    partial->urls = urls;
    partial->urls_borrowed = 1;
}

int lt_tally_merge_urls(lt_tally *t, lt_urls *urls)
{
    /* Into an empty table of the same limit, the merge is the table. */
    if (!t->urls_borrowed && lt_urls_size(t->urls) == 0 && lt_urls_total(t->urls) == 0 &&
        lt_urls_max(t->urls) == lt_urls_max(urls)) {
        lt_urls_free(t->urls);
        t->urls = urls;
        return 0;
    }
    int rc = lt_urls_merge(t->urls, urls);
    lt_urls_free(urls);
    return rc;
}

const lt_counters *lt_tally_counters(const lt_tally *t) { return &t->n; }
const lt_clients *lt_tally_clients(const lt_tally *t) { return t->clients; }
const lt_urls *lt_tally_urls(const lt_tally *t) { return t->urls; }
const lt_rps *lt_tally_rps(const lt_tally *t) { return t->rps; }
const lt_limits *lt_tally_limits(const lt_tally *t) { return &t->limits; }
const lt_buckets *lt_tally_buckets(const lt_tally *t) { return t->buckets; }
const lt_rps *lt_tally_class_rps(const lt_tally *t, int c) { return t->class_rps[c]; }

int lt_tally_set_windows(lt_tally *t, lt_buckets *buckets, lt_rps *class_rps[LT_CLASSES])
{
    int rc = 0;
    for (int c = 0; c < LT_CLASSES; c++)
        if (class_rps[c] == NULL && (class_rps[c] = lt_rps_new()) == NULL)
            rc = -ENOMEM;
    if (buckets == NULL || rc < 0) {
        lt_buckets_free(buckets);
        for (int c = 0; c < LT_CLASSES; c++)
            lt_rps_free(class_rps[c]);
        return -ENOMEM;
    }
    windows_free(t);
    t->buckets = buckets;
    for (int c = 0; c < LT_CLASSES; c++)
        t->class_rps[c] = class_rps[c];
    return 0;
}

const lt_hist *lt_tally_durations(const lt_tally *t) { return t->durations; }

void lt_tally_set_durations(lt_tally *t, lt_hist *h)
{
    lt_hist_free(t->durations);
    t->durations = h;
}

size_t lt_tally_bytes(const lt_tally *t)
{
    lt_client_memory m;
    lt_clients_memory(t->clients, &m);
    size_t classes = 0;
    for (int c = 0; c < LT_CLASSES; c++)
        classes += lt_rps_bytes(t->class_rps[c]);
    return sizeof(*t) + m.ipv4_set + m.ipv6_set + m.host_set + m.hll +
           (t->urls_borrowed ? 0 : lt_urls_bytes(t->urls)) + lt_rps_bytes(t->rps) + classes +
           lt_buckets_bytes(t->buckets, NULL) + lt_hist_bytes(t->durations);
}

size_t lt_tally_samples(const lt_tally *t, lt_sample out[LT_SAMPLES])
{
    uint64_t kept = t->n.malformed < LT_SAMPLES ? t->n.malformed : LT_SAMPLES;
    for (uint64_t i = 0; i < kept; i++)
        out[i] = t->samples[(t->n.malformed - kept + i) % LT_SAMPLES];
    return (size_t)kept;
}
