/* api.c -- where a query is answered: the /v1 endpoints.
 *
 *   GET  /healthz                       liveness
 *   GET  /v1/summary?from=&to=&n=       the report of `logtally analyze --json`, plus "ingest"
 *   GET  /v1/top?from=&to=&n=10         the top URLs
 *   GET  /v1/rps?from=&to=&step=&status= requests (of a status class) per second, minute,
 *                                       hour or day
 *   GET  /v1/status?from=&to=           requests by status class, code and method
 *   GET  /v1/vhosts?from=&to=&n=        requests per virtual host
 *   GET  /v1/sources                    the files followed
 *   GET  /v1/hll                        the clients' HyperLogLog in Redis's format
 *   GET  /v1/snapshot                   the tally and positions (lib/snapshot.c)
 *   POST /v1/reload                     reread the configuration (root or the
 *                                       daemon's user, on the Unix socket)
 *   GET  /metrics                       OpenMetrics text for Prometheus
 *
 * Every GET but /v1/hll takes format=text for the table the `logtally`
 * client prints on a terminal (so the client needs no JSON parser).  Query
 * parameters are strict: an unknown one, or a value that does not parse, is
 * a 400 that says which.  Every answer is computed from the live tally
 * while no merge runs, so it is a consistent snapshot: read jobs merge
 * into it between requests, never during one.  Answers whose work is
 * bounded by their size are computed on the loop; windows and snapshots,
 * whose work grows with the data, by answer jobs on the pool (below).
 *
 * Windows: from and to (inclusive) are read by lib/qtime.c (epoch, strict
 * ISO 8601, now, -15m).  A missing from is the first second with a
 * request; a missing to is the last one, or now when from is relative to
 * now (so `from=-1h` is the last hour by the clock, lines arriving or not).
 * With neither, summary, top, status and vhosts answer for all time; with
 * either, for the window (lt_summary_fill_window(): exact counts at any
 * edge from the per-second tables, the rest from the time buckets, which
 * the answer's "window" names).
 *
 * A window's summary is filled off the loop.  It unions the buckets'
 * client sets and URL tables, work that grows with the window: 100 ms
 * for eleven days of 358 K distinct clients, the loop held meanwhile
 * before.  So fill_summary() queues an answer job on the pool (two at a time) and
 * the request is held (API_HOLD).  While answer jobs run, d->tally_readers
 * keeps merges from starting; the loop reads the tally meanwhile, as it
 * does while a checkpoint serialises it.  Merges and answer jobs take
 * turns (commit.c).  The job's end calls http_release(), which asks
 * again: the request takes the summary of the job of its peer (its
 * connection) and question, and formats it on the loop, where the
 * answer's size is bounded by n.  A job nobody waits for (its asker was
 * answered from the cache, asked something else, or closed) is freed.
 * GET /v1/snapshot is such a job too: serialising the tally (44 MB for
 * 1.58 M clients) held the loop 0.7 s, and /healthz as long.  Its job
 * starts only when no delta is queued or merging (as a checkpoint,
 * commit.c), and takes the sources' positions on the loop then, so that
 * they and the tally it reads are one instant; the bytes move to the
 * answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "daemon.h"
#include "hll.h"
#include "qtime.h"
#include "report.h"
#include "snapshot.h"
#include "rps.h"
#include "summary.h"

#define MAX_TOP 100000
#define MAX_BUCKETS 100000
#define MAX_PARAMS 8

typedef struct request {
    lt_daemon *d;
    const api_peer *peer;
    const char *method;
    const char *path, *query;
    struct {
        char key[32];
        char value[256];
    } params[MAX_PARAMS];
    size_t n_params;
    int text;               /* format=text */
    lt_buf *out;
    const char **content_type;
} request;

static int fail(request *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(request *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lt_buf_reset(r->out);
    lt_buf_puts(r->out, "{\"error\":");
    lt_buf_json_string(r->out, msg, strlen(msg));
    lt_buf_printf(r->out, ",\"status\":%d}\n", status);
    *r->content_type = "application/json";
    return status;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Splits "a=1&b=x%20y" into decoded pairs.  Returns 0, or a 400. */
static int parse_query(request *r, const char *q)
{
    while (*q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len > 0) {
            if (r->n_params == MAX_PARAMS)
                return fail(r, 400, "too many query parameters");
            char *dst = r->params[r->n_params].key;
            size_t cap = sizeof(r->params[0].key), n = 0;
            for (size_t i = 0; i < len; i++) {
                char c = q[i];
                if (c == '=' && dst == r->params[r->n_params].key) {
                    dst[n] = '\0';
                    dst = r->params[r->n_params].value;
                    cap = sizeof(r->params[0].value);
                    n = 0;
                    continue;
                }
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    int h = i + 2 < len ? hexval(q[i + 1]) : -1, l = h >= 0 ? hexval(q[i + 2]) : -1;
                    if (h < 0 || l < 0)
                        return fail(r, 400, "bad percent-encoding in the query");
                    c = (char)(h * 16 + l);
                    i += 2;
                }
                if (n + 1 >= cap || c == '\0')
                    return fail(r, 400, "a query parameter is too long or holds a NUL");
                dst[n++] = c;
            }
            dst[n] = '\0';
            r->n_params++;
        }
        q += len + (end != NULL);
    }
    return 0;
}

static const char *param(request *r, const char *key)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (strcmp(r->params[i].key, key) == 0)
            return r->params[i].value;
    return NULL;
}

/* Accepts only the listed keys (plus format); returns 0 or a 400. */
static int allow_params(request *r, const char *const *keys)
{
    for (size_t i = 0; i < r->n_params; i++) {
        const char *k = r->params[i].key;
        int known = strcmp(k, "format") == 0;
        for (size_t j = 0; keys[j] != NULL && !known; j++)
            known = strcmp(k, keys[j]) == 0;
        if (!known)
            return fail(r, 400, "unknown query parameter '%s'", k);
    }
    const char *f = param(r, "format");
    if (f != NULL && strcmp(f, "text") != 0 && strcmp(f, "json") != 0)
        return fail(r, 400, "format must be json or text, not '%s'", f);
    r->text = f != NULL && strcmp(f, "text") == 0;
    *r->content_type = r->text ? "text/plain; charset=utf-8" : "application/json";
    return 0;
}

/* Reads the count parameter key into *out (def when absent); returns 0, or
 * a 400 when it is not a number from min to max. */
static int param_count(request *r, const char *key, size_t def, size_t min, size_t max,
                       size_t *out)
{
    const char *v = param(r, key);
    *out = def;
    if (v == NULL)
        return 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != '\0' || n < min || n > max)
        return fail(r, 400, "%s must be a number from %zu to %zu", key, min, max);
    *out = (size_t)n;
    return 0;
}

/* The window of a request (see the top of the file).  *windowed is 0 when
 * neither from nor to was given.  Returns 0 or a 400. */
static int param_window(request *r, int64_t *from, int64_t *to, int *windowed)
{
    const char *fs = param(r, "from"), *ts = param(r, "to");
    int64_t first = 0, last = 0;
    int any = lt_rps_span(lt_tally_rps(r->d->tally), &first, &last);
    char why[300];
    if (lt_qtime_window(fs, ts, (int64_t)time(NULL), any, first, last, from, to, why,
                        sizeof(why)) < 0)
        return fail(r, 400, "%s", why);
    *windowed = fs != NULL || ts != NULL;
    return 0;
}

/* --- endpoints ---------------------------------------------------------- */

static void ingest_json(lt_daemon *d, lt_buf *b)
{
    ingest_progress p;
    sources_progress(d, &p);
    lt_buf_printf(b, "\"ingest\":{\"bytes_done\":%llu,\"bytes_total\":%llu,\"rate\":%.0f,",
                  (unsigned long long)p.done, (unsigned long long)p.total, p.rate);
    if (p.catching_up && p.rate > 0)
        lt_buf_printf(b, "\"eta_seconds\":%.0f,", (double)(p.total - p.done) / p.rate);
    else
        lt_buf_puts(b, "\"eta_seconds\":null,");
    lt_buf_printf(b, "\"catching_up\":%s},\"uptime_seconds\":%llu",
                  p.catching_up ? "true" : "false",
                  (unsigned long long)((uv_now(d->loop) - d->started_ms) / 1000));
}


/* --- answers off the loop (see the top of the file) -------------------- */

struct answer_job {
    uv_work_t work;
    lt_daemon *d;
    const api_peer *peer;         /* who asked; NULL once nobody waits for it */
    char *question;               /* "path?query" as asked */
    int done, rc;
    int snapshot;                 /* /v1/snapshot: body, not s */
    int64_t from, to;             /* a window's summary: */
    size_t top_n, top_vhosts;
    lt_summary s;                 /* filled on the pool; the asker's once taken */
    lt_snapshot_source *pos;      /* a snapshot: the sources' positions as asked */
    size_t n_pos;
    int64_t now;
    lt_buf body;                  /* its bytes, filled on the pool */
    struct answer_job *next;
};

static void answer_run(uv_work_t *w)
{
    daemon_pool_thread();
    struct answer_job *j = w->data;
    if (j->snapshot)
        j->rc = lt_snapshot_write(&j->body, j->d->tally, j->pos, j->n_pos, j->now) < 0 ? -ENOMEM
                                                                                       : 0;
    else
        j->rc = lt_summary_fill_window(&j->s, j->d->tally, j->from, j->to, j->top_n,
                                       j->top_vhosts) < 0
                    ? -ENOMEM
                    : 0;
}

static void answer_job_free(struct answer_job *j)
{
    if (j->rc == 0 && !j->snapshot)
        lt_summary_release(&j->s);
    lt_buf_free(&j->body);
    lt_snapshot_sources_free(j->pos, j->n_pos);
    free(j->question);
    free(j);
}

static void answer_done(uv_work_t *w, int status)
{
    struct answer_job *j = w->data;
    lt_daemon *d = j->d;
    if (status != 0)    /* never ran */
        j->rc = -ENOMEM;
    j->done = 1;
    d->tally_readers--;
    http_release(d);
    /* Every asker of a job done was asked again just now and took its
     * summary (no merge can start in between); what is left is nobody's,
     * and is freed, so that no later question finds an older answer. */
    for (struct answer_job **p = &d->answer_jobs; (j = *p) != NULL;) {
        if (!j->done) {
            p = &j->next;
            continue;
        }
        *p = j->next;
        answer_job_free(j);
    }
    commit_kick(d);
}

void api_forget(lt_daemon *d, const api_peer *peer)
{
    for (struct answer_job **p = &d->answer_jobs, *j; (j = *p) != NULL;) {
        if (j->peer != peer) {
            p = &j->next;
            continue;
        }
        j->peer = NULL;
        if (j->done) {    /* else freed at its end */
            *p = j->next;
            answer_job_free(j);
        } else {
            p = &j->next;
        }
    }
}

#define SUMMARY_HOLD 1
/* Answer jobs at once: each holds a window's union (client lists, URL
 * tables) until its asker takes it, and a pool thread; more questions
 * wait for one to end, and by then the cache may have their answer. */
#define MAX_ANSWER_JOBS 2

/* The answer job of r's question: 0 with *got the job done (unlinked: the
 * caller takes its result and frees it), or SUMMARY_HOLD when r is held
 * until one ends, or -ENOMEM.  A new job starts from *want, which prepare
 * (may be NULL) completes on the loop (a snapshot's positions), at the
 * instant of the tally the job will read: no merge starts until it ends. */
static int ask_job(request *r, const struct answer_job *want,
                   int (*prepare)(request *r, struct answer_job *j), struct answer_job **got)
{
    lt_daemon *d = r->d;
    size_t qlen = strlen(r->path) + strlen(r->query) + 2;
    char *q = malloc(qlen);
    if (q == NULL)
        return -ENOMEM;
    snprintf(q, qlen, "%s?%s", r->path, r->query);
    /* The asker's job, if it has one for this question: one connection
     * waits for one answer at a time, so one of another question is
     * nobody's (its asker was answered from the cache). */
    struct answer_job **p = &d->answer_jobs, *j;
    while ((j = *p) != NULL && (j->peer != r->peer || strcmp(j->question, q) != 0))
        p = &j->next;
    if (j != NULL) {
        free(q);
        if (!j->done)
            return SUMMARY_HOLD;
        *p = j->next;
        *got = j;
        return 0;
    }
    api_forget(d, r->peer);
    /* The lines first: with merges queued, a question waits for them, but
     * not past the end of one (d->answers_first), so steady lines do not
     * keep questions out either.  A snapshot's positions and counts must
     * be one instant: it waits until nothing is queued or merging, and
     * holds the ends of reads meanwhile (d->draining, as a checkpoint
     * does; commit.c), so that the queue empties. */
    int wait = want->snapshot ? !commit_idle(d) : d->commit.n > 0 && !d->answers_first;
    if (want->snapshot && wait)
        d->draining = 1;
    if (wait || d->tally_readers >= MAX_ANSWER_JOBS) {
        free(q);
        return SUMMARY_HOLD;
    }
    if ((j = calloc(1, sizeof(*j))) == NULL) {
        free(q);
        return -ENOMEM;
    }
    *j = *want;
    j->d = d;
    j->peer = r->peer;
    j->question = q;
    j->work.data = j;
    lt_buf_init(&j->body);
    if (prepare != NULL && prepare(r, j) < 0) {
        j->rc = -1;
        answer_job_free(j);
        return -ENOMEM;
    }
    if (uv_queue_work(d->loop, &j->work, answer_run, answer_done) != 0) {
        answer_run(&j->work);    /* no pool: in place, as before the pool */
        *got = j;
        return 0;
    }
    d->tally_readers++;
    j->next = d->answer_jobs;
    d->answer_jobs = j;
    return SUMMARY_HOLD;
}

/* The summary for all time or for [from, to].  Returns 0, -ENOMEM, or
 * SUMMARY_HOLD when an answer job fills it: the request is held, and asked
 * again when the job has ended. */
static int fill_summary(request *r, lt_summary *s, int windowed, int64_t from, int64_t to,
                        size_t top_n, size_t top_vhosts)
{
    if (!windowed)
        return lt_summary_fill(s, r->d->tally, top_n) < 0 ? -ENOMEM : 0;
    struct answer_job want = {.from = from, .to = to, .top_n = top_n, .top_vhosts = top_vhosts};
    struct answer_job *j;
    int rc = ask_job(r, &want, NULL, &j);
    if (rc != 0)
        return rc;
    rc = j->rc;
    *s = j->s;
    j->rc = -1;    /* the summary is the asker's now */
    answer_job_free(j);
    return rc;
}

/* The summary a windowed handler answers from: the request's window read
 * (param_window) and its summary filled (fill_summary).  Returns 1 with *s
 * filled, or 0 with *status what the handler returns: a 400, a 500, or
 * API_HOLD while an answer job fills it. */
static int window_summary(request *r, lt_summary *s, int *windowed, size_t top_n,
                          size_t top_vhosts, int *status)
{
    int64_t from, to;
    int rc = param_window(r, &from, &to, windowed);
    if (rc == 0)
        rc = fill_summary(r, s, *windowed, from, to, top_n, top_vhosts);
    if (rc == 0)
        return 1;
    *status = rc == SUMMARY_HOLD ? API_HOLD : rc < 0 ? fail(r, 500, "out of memory") : rc;
    return 0;
}

static int get_summary(request *r)
{
    size_t n;
    int windowed, status;
    lt_summary s;
    int rc = param_count(r, "n", 10, 0, MAX_TOP, &n);
    if (rc)
        return rc;
    if (!window_summary(r, &s, &windowed, n, 10, &status))
        return status;
    size_t n_names;
    const char *const *names = sources_names(r->d, &n_names);
    if (r->text) {
        ingest_progress p;
        sources_progress(r->d, &p);
        if (p.catching_up) {
            char a[32], b[32];
            lt_buf_printf(r->out, "Ingest       %s of %s read (%.0f%%)", lt_report_bytes(p.done, a),
                          lt_report_bytes(p.total, b),
                          p.total ? 100.0 * (double)p.done / (double)p.total : 100.0);
            if (p.rate > 0)
                lt_buf_printf(r->out, ", %s/s, about %.0f s left",
                              lt_report_bytes((uint64_t)p.rate, a),
                              (double)(p.total - p.done) / p.rate);
            lt_buf_puts(r->out, "\n");
        }
        lt_report_text(r->out, &s, names, n_names);
    } else {
        lt_summary_json(r->out, &s, names, n_names);
        /* The summary object ends with '}': add the daemon's keys inside. */
        if (r->out->len > 0 && r->out->data[r->out->len - 1] == '}') {
            r->out->len--;
            lt_buf_puts(r->out, ",");
            ingest_json(r->d, r->out);
            lt_buf_puts(r->out, "}\n");
        }
    }
    lt_summary_release(&s);
    return 200;
}

static int get_top(request *r)
{
    size_t n;
    int windowed, status;
    lt_summary s;
    int rc = param_count(r, "n", 10, 1, MAX_TOP, &n);
    if (rc)
        return rc;
    if (!window_summary(r, &s, &windowed, n, 0, &status))
        return status;
    const lt_url_count *top = s.top;
    size_t got = s.n_top;
    int exact = s.urls_exact;
    char a[32];
    if (r->text) {
        if (windowed)
            lt_report_window(r->out, &s);
        if (!exact)
            lt_buf_printf(r->out, "(top-k counts: each may exceed the truth by up to %s)\n",
                          lt_report_group(s.url_error_bound, a));
        for (size_t i = 0; i < got; i++) {
            lt_buf_printf(r->out, "%12s  ", lt_report_group(top[i].count, a));
            lt_buf_text_escaped(r->out, top[i].url, top[i].len);
            lt_buf_puts(r->out, "\n");
        }
    } else {
        lt_buf_puts(r->out, "{");
        if (windowed) {
            lt_summary_json_window(r->out, &s);
            lt_buf_puts(r->out, ",");
        }
        lt_buf_printf(r->out, "\"exact\":%s,\"error_bound\":%llu,\"distinct\":%zu,\"top\":[",
                      exact ? "true" : "false", (unsigned long long)s.url_error_bound,
                      s.distinct_urls);
        for (size_t i = 0; i < got; i++) {
            lt_buf_puts(r->out, i ? ",{\"url\":" : "{\"url\":");
            lt_buf_json_string(r->out, top[i].url, top[i].len);
            lt_buf_printf(r->out, ",\"count\":%llu", (unsigned long long)top[i].count);
            if (!exact)
                lt_buf_printf(r->out, ",\"error\":%llu", (unsigned long long)top[i].error);
            lt_buf_puts(r->out, "}");
        }
        lt_buf_puts(r->out, "]}\n");
    }
    lt_summary_release(&s);
    return 200;
}

struct series_out {
    request *r;
    size_t n;
    uint64_t total;
};

static int emit_bucket(int64_t start, uint64_t count, void *arg)
{
    struct series_out *o = arg;
    if (o->r->text) {
        char iso[32], a[32];
        lt_format_utc(start, iso, sizeof(iso));
        lt_buf_printf(o->r->out, "%s  %12s\n", iso, lt_report_group(count, a));
    } else {
        lt_buf_printf(o->r->out, "%s[%lld,%llu]", o->n ? "," : "", (long long)start,
                      (unsigned long long)count);
    }
    o->n++;
    o->total += count;
    return 0;
}

/* Collects a series into counts[], one per bucket from the first; with
 * subtract, takes it away from what is there. */
struct series_into {
    uint64_t *counts;
    size_t n, cap;
    int subtract;
};

static int collect_bucket(int64_t start, uint64_t count, void *arg)
{
    struct series_into *c = arg;
    (void)start;
    if (c->n < c->cap) {
        if (c->subtract)
            c->counts[c->n] -= count;
        else
            c->counts[c->n] = count;
    }
    c->n++;
    return 0;
}

static int get_rps(request *r)
{
    static const struct {
        const char *name;
        lt_rps_step step;
    } steps[] = {{"1s", LT_RPS_STEP_SECOND}, {"1m", LT_RPS_STEP_MINUTE},
                 {"1h", LT_RPS_STEP_HOUR}, {"1d", LT_RPS_STEP_DAY}};
    static const char *const classes[LT_CLASSES] = {"1xx", "3xx", "4xx", "5xx", "other"};
    const lt_rps *t = lt_tally_rps(r->d->tally);
    int64_t first = 0, last = 0, from, to;
    int any = lt_rps_span(t, &first, &last), windowed;
    int rc = param_window(r, &from, &to, &windowed);
    if (rc)
        return rc;
    const char *ss = param(r, "step"), *cs = param(r, "status");
    /* -1: every request; LT_CLASSES: 2xx (the total less the others). */
    int cls = -1;
    if (cs != NULL) {
        for (cls = 0; cls < LT_CLASSES && strcmp(cs, classes[cls]) != 0; cls++)
            ;
        if (cls == LT_CLASSES && strcmp(cs, "2xx") != 0) {
            /* A code: from the time buckets, at steps of whole buckets. */
            if (strlen(cs) != 3 || strspn(cs, "0123456789") != 3)
                return fail(r, 400, "status must be 1xx, 2xx, 3xx, 4xx, 5xx, other or a "
                            "3-digit code, not '%s'", cs);
            cls = LT_CLASSES + 1;
        }
    }
    size_t si = 0;
    if (ss != NULL) {
        for (si = 0; si < 4 && strcmp(ss, steps[si].name) != 0; si++)
            ;
        if (si == 4)
            return fail(r, 400, "step must be 1s, 1m, 1h or 1d, not '%s'", ss);
    } else {
        /* The finest step that gives at most 1440 buckets (for a code, of
         * whole time buckets). */
        int64_t width = lt_buckets_get_conf(lt_tally_buckets(r->d->tally))->width;
        while (si < 3 && ((uint64_t)(to - from) / (uint64_t)steps[si].step >= 1440 ||
                          (cls == LT_CLASSES + 1 && (int64_t)steps[si].step % width != 0)))
            si++;
    }
    if (cls == LT_CLASSES + 1 &&
        (int64_t)steps[si].step % lt_buckets_get_conf(lt_tally_buckets(r->d->tally))->width != 0)
        return fail(r, 400, "a status code is counted per time bucket (%llds): the step must "
                    "be a multiple of it", (long long)lt_buckets_get_conf(
                        lt_tally_buckets(r->d->tally))->width);
    int64_t step = (int64_t)steps[si].step;
    int64_t start = from - ((from % step) + step) % step;
    uint64_t buckets = (uint64_t)(to - start) / (uint64_t)step + 1;
    if (buckets > MAX_BUCKETS)
        return fail(r, 400, "%llu buckets is more than %d; use a larger step or a shorter range",
                    (unsigned long long)buckets, MAX_BUCKETS);
    struct series_out o = {r, 0, 0};
    if (!r->text) {
        lt_buf_printf(r->out, "{\"from\":%lld,\"to\":%lld,\"step\":\"%s\",", (long long)from,
                      (long long)to, steps[si].name);
        if (cs != NULL)
            lt_buf_printf(r->out, "\"status\":\"%s\",", cs);
        lt_buf_puts(r->out, "\"series\":[");
    }
    if (any && cls == LT_CLASSES + 1) {
        lt_buckets_code_series(lt_tally_buckets(r->d->tally), (unsigned)atoi(cs), from, to,
                               step, emit_bucket, &o);
    } else if (any && cls >= 0 && cls < LT_CLASSES) {
        lt_rps_series(lt_tally_class_rps(r->d->tally, cls), from, to, steps[si].step,
                      emit_bucket, &o);
    } else if (any && cls == LT_CLASSES) {
        struct series_into c = {calloc((size_t)buckets, sizeof(uint64_t)), 0, (size_t)buckets, 0};
        if (c.counts == NULL)
            return fail(r, 500, "out of memory");
        lt_rps_series(t, from, to, steps[si].step, collect_bucket, &c);
        c.subtract = 1;
        for (int k = 0; k < LT_CLASSES; k++) {
            c.n = 0;
            lt_rps_series(lt_tally_class_rps(r->d->tally, k), from, to, steps[si].step,
                          collect_bucket, &c);
        }
        for (size_t i = 0; i < (size_t)buckets; i++)
            emit_bucket(start + (int64_t)i * step, c.counts[i], &o);
        free(c.counts);
    } else if (any) {
        lt_rps_series(t, from, to, steps[si].step, emit_bucket, &o);
    }
    if (!r->text)
        lt_buf_printf(r->out, "],\"total\":%llu}\n", (unsigned long long)o.total);
    return 200;
}

static void text_counts(lt_buf *b, const char *label, const char *name, uint64_t n,
                        uint64_t total)
{
    char a[32];
    lt_buf_printf(b, "%-8s %-8s %12s  %5.1f%%\n", label, name, lt_report_group(n, a),
                  total ? 100.0 * (double)n / (double)total : 0.0);
}

static int get_status(request *r)
{
    int windowed, status;
    lt_summary s;
    if (!window_summary(r, &s, &windowed, 0, 0, &status))
        return status;
    static const char *const names[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    if (r->text) {
        if (windowed)
            lt_report_window(r->out, &s);
        uint64_t codes = 0;
        for (unsigned c = 0; c < LT_STATUS_CODES; c++)
            codes += s.status_codes[c];
        for (int c = 0; c < 6; c++)
            text_counts(r->out, c ? "" : "class", names[c], s.status_classes[c], s.n.valid);
        int any = 0;
        for (unsigned c = 0; c < LT_STATUS_CODES; c++) {
            if (s.status_codes[c] == 0)
                continue;
            char code[8];
            snprintf(code, sizeof(code), "%03u", c);
            text_counts(r->out, any ? "" : "code", code, s.status_codes[c], codes);
            any = 1;
        }
        any = 0;
        for (unsigned m = 0; m < LT_METHODS; m++)
            if (s.methods[m]) {
                text_counts(r->out, any ? "" : "method", lt_buckets_method_name(m), s.methods[m],
                            codes);
                any = 1;
            }
    } else {
        lt_buf_puts(r->out, "{");
        if (windowed) {
            lt_summary_json_window(r->out, &s);
            lt_buf_puts(r->out, ",");
        }
        lt_buf_printf(r->out, "\"requests\":%llu,", (unsigned long long)s.n.valid);
        lt_summary_json_status(r->out, &s);
        lt_buf_puts(r->out, "}\n");
    }
    lt_summary_release(&s);
    return 200;
}

static int get_vhosts(request *r)
{
    size_t n;
    int windowed, status;
    lt_summary s;
    int rc = param_count(r, "n", 10, 1, MAX_TOP, &n);
    if (rc)
        return rc;
    if (!window_summary(r, &s, &windowed, 0, n, &status))
        return status;
    if (!windowed) {
        /* All time, the summary keeps its own short list: ask for n. */
        free(s.vhosts);
        s.vhosts = NULL;
        s.n_vhosts = 0;
        if (s.distinct_vhosts > 0) {
            if ((s.vhosts = calloc(n, sizeof(*s.vhosts))) == NULL) {
                lt_summary_release(&s);
                return fail(r, 500, "out of memory");
            }
            s.n_vhosts = lt_urls_top(lt_buckets_vhosts(lt_tally_buckets(r->d->tally)), n, s.vhosts);
        }
    }
    char a[32];
    if (r->text) {
        if (windowed)
            lt_report_window(r->out, &s);
        if (!s.vhosts_exact)
            lt_buf_printf(r->out, "(top-k counts: each may exceed the truth by up to %s)\n",
                          lt_report_group(s.vhost_error_bound, a));
        if (s.n_vhosts > 0)
            lt_buf_printf(r->out, "%12s  %12s  %s\n", "requests", "clients", "virtual host");
        for (size_t i = 0; i < s.n_vhosts; i++) {
            lt_url_count c;
            char b2[32];
            lt_buf_printf(r->out, "%12s  %12s  ", lt_report_group(s.vhosts[i].count, a),
                          lt_summary_vhost_clients(&s, i, &c) ? lt_report_group(c.count, b2)
                                                              : "?");
            lt_buf_text_escaped(r->out, s.vhosts[i].url, s.vhosts[i].len);
            lt_buf_puts(r->out, "\n");
        }
    } else {
        lt_buf_puts(r->out, "{");
        if (windowed) {
            lt_summary_json_window(r->out, &s);
            lt_buf_puts(r->out, ",");
        }
        lt_summary_json_vhosts(r->out, &s);
        lt_buf_puts(r->out, "}\n");
    }
    lt_summary_release(&s);
    return 200;
}

static int get_sources(request *r)
{
    sources_describe(r->d, r->out, r->text);
    return 200;
}

static int get_hll(request *r)
{
    lt_hll *h = lt_hll_new();
    unsigned char *blob = malloc(LT_HLL_DENSE_BYTES);
    if (h == NULL || blob == NULL) {
        lt_hll_free(h);
        free(blob);
        return fail(r, 500, "out of memory");
    }
    lt_clients_hll(lt_tally_clients(r->d->tally), h);
    size_t n = lt_hll_export(h, blob);
    lt_buf_append(r->out, blob, n);
    lt_hll_free(h);
    free(blob);
    *r->content_type = "application/octet-stream";
    return 200;
}

/* One OpenMetrics sample line; labels is "" or "{k=\"v\"}". */
static void metric(lt_buf *b, const char *name, const char *labels, double v)
{
    lt_buf_printf(b, "%s%s %.17g\n", name, labels, v);
}

static void metric_head(lt_buf *b, const char *name, const char *type, const char *help)
{
    lt_buf_printf(b, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

/* logtally_requests_total{status_class, method}: the non-zero pairs of the
 * all-time totals, and the requests restored from a version-1 snapshot
 * (which kept neither) as "unknown", so the series always sum to every
 * request. */
static void requests_by_class_method(lt_buf *b, const lt_tally *t, uint64_t valid)
{
    static const char *const classes[LT_STATUS_CLASSES] = {"1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "other"};
    const lt_buckets *bk = lt_tally_buckets(t);
    uint64_t sum = 0;
    char labels[96];
    for (unsigned c = 0; c < LT_STATUS_CLASSES; c++)
        for (unsigned m = 0; m < LT_METHODS; m++) {
            uint64_t n = lt_buckets_class_method(bk, c, m);
            if (n == 0)
                continue;
            snprintf(labels, sizeof(labels), "{status_class=\"%s\",method=\"%s\"}", classes[c],
                     lt_buckets_method_name(m));
            metric(b, "logtally_requests_total", labels, (double)n);
            sum += n;
        }
    if (sum < valid || sum == 0)
        metric(b, "logtally_requests_total", "{status_class=\"unknown\",method=\"unknown\"}",
               (double)(valid - sum));
}

/* A label value: printable ASCII as is (\\ and \" escaped), any other byte
 * as '_', so a virtual host of any bytes keeps the text valid. */
static void label_value(lt_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"')
            lt_buf_printf(b, "\\%c", c);
        else
            lt_buf_printf(b, "%c", c >= 0x20 && c < 0x7f ? c : '_');
    }
}

/* Requests per virtual host: the summary's top ten, and the rest as
 * vhost="" so that they sum to every request with a virtual host. */
static void vhost_metrics(lt_buf *b, const lt_summary *s)
{
    if (s->distinct_vhosts == 0)
        return;
    metric_head(b, "logtally_vhost_requests", "counter",
                "Requests per virtual host: the busiest ten, the rest under vhost=\"\".");
    uint64_t listed = 0;
    for (size_t i = 0; i < s->n_vhosts; i++) {
        lt_buf_puts(b, "logtally_vhost_requests_total{vhost=\"");
        label_value(b, s->vhosts[i].url, s->vhosts[i].len);
        lt_buf_printf(b, "\"} %llu\n", (unsigned long long)s->vhosts[i].count);
        listed += s->vhosts[i].count;
    }
    lt_buf_printf(b, "logtally_vhost_requests_total{vhost=\"\"} %llu\n",
                  (unsigned long long)(s->vhost_total > listed ? s->vhost_total - listed : 0));
    if (s->vhost_clients == NULL)
        return;
    /* A gauge of distinct clients does not sum across hosts, so no rest. */
    metric_head(b, "logtally_vhost_clients", "gauge",
                "Distinct clients per virtual host since the start: the busiest ten.");
    for (size_t i = 0; i < s->n_vhosts; i++) {
        lt_url_count c;
        if (!lt_summary_vhost_clients(s, i, &c))
            continue;
        lt_buf_puts(b, "logtally_vhost_clients{vhost=\"");
        label_value(b, s->vhosts[i].url, s->vhosts[i].len);
        lt_buf_printf(b, "\"} %llu\n", (unsigned long long)c.count);
    }
}

/* The response times as an OpenMetrics histogram with Prometheus' default
 * buckets, taken from the tally's log-linear one (lib/hist.h: a bucket
 * counts within one fine bucket's width of its bound). */
static void metric_durations(lt_buf *b, const lt_hist *h)
{
    static const struct {
        const char *le;
        uint64_t us;
    } bounds[] = {
        {"0.005", 5000}, {"0.01", 10000}, {"0.025", 25000}, {"0.05", 50000},
        {"0.1", 100000}, {"0.25", 250000}, {"0.5", 500000}, {"1", 1000000},
        {"2.5", 2500000}, {"5", 5000000}, {"10", 10000000},
    };
    metric_head(b, "logtally_request_duration_seconds", "histogram",
                "Response times of the requests that logged one (%D, %T, $request_time, ...).");
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
        lt_buf_printf(b, "logtally_request_duration_seconds_bucket{le=\"%s\"} %llu\n", bounds[i].le,
                      (unsigned long long)lt_hist_count_le(h, bounds[i].us));
    lt_buf_printf(b, "logtally_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)lt_hist_count(h));
    metric(b, "logtally_request_duration_seconds_sum", "", (double)lt_hist_sum(h) / 1e6);
    metric(b, "logtally_request_duration_seconds_count", "", (double)lt_hist_count(h));
}

static int get_metrics(request *r)
{
    lt_summary s;
    if (lt_summary_fill(&s, r->d->tally, 0) < 0)
        return fail(r, 500, "out of memory");
    ingest_progress p;
    sources_progress(r->d, &p);
    lt_buf *b = r->out;
    metric_head(b, "logtally_lines", "counter", "Log lines read, valid and malformed.");
    metric(b, "logtally_lines_total", "", (double)s.n.lines);
    metric_head(b, "logtally_malformed_lines", "counter", "Lines that did not parse.");
    metric(b, "logtally_malformed_lines_total", "", (double)s.n.malformed);
    metric_head(b, "logtally_requests", "counter",
                "Valid lines: requests, by status class and method (they sum to all requests).");
    requests_by_class_method(b, r->d->tally, s.n.valid);
    metric_head(b, "logtally_unparsed_requests", "counter", "Requests without a readable URL.");
    metric(b, "logtally_unparsed_requests_total", "", (double)s.n.unparsed_requests);
    metric_head(b, "logtally_non_http_requests", "counter",
                "Unparsed requests that are not HTTP (TLS or RDP handshakes, ...).");
    metric(b, "logtally_non_http_requests_total", "", (double)s.n.non_http_requests);
    metric_durations(b, lt_tally_durations(r->d->tally));
    metric_head(b, "logtally_response_bytes", "counter", "Sum of response sizes.");
    metric(b, "logtally_response_bytes_total", "", (double)s.n.bytes);
    metric_head(b, "logtally_clients", "gauge", "Distinct clients by kind (they sum to all clients).");
    metric(b, "logtally_clients", "{kind=\"ipv4\"}", (double)s.clients.ipv4);
    metric(b, "logtally_clients", "{kind=\"ipv6\"}", (double)s.clients.ipv6);
    metric(b, "logtally_clients", "{kind=\"other\"}", (double)s.clients.other);
    metric_head(b, "logtally_clients_exact", "gauge", "1 while client counts are exact.");
    metric(b, "logtally_clients_exact", "", s.clients.exact);
    metric_head(b, "logtally_peak_second_requests", "gauge", "Requests in the busiest second.");
    metric(b, "logtally_peak_second_requests", "", (double)s.peak_requests);
    metric_head(b, "logtally_distinct_urls", "gauge", "Distinct URLs held.");
    metric(b, "logtally_distinct_urls", "", (double)s.distinct_urls);
    metric_head(b, "logtally_memory_bytes", "gauge", "Bytes held by each structure.");
    metric(b, "logtally_memory_bytes", "{structure=\"ipv4_set\"}", (double)s.memory.ipv4_set);
    metric(b, "logtally_memory_bytes", "{structure=\"ipv6_set\"}", (double)s.memory.ipv6_set);
    metric(b, "logtally_memory_bytes", "{structure=\"host_set\"}", (double)s.memory.host_set);
    metric(b, "logtally_memory_bytes", "{structure=\"hll\"}", (double)s.memory.hll);
    metric(b, "logtally_memory_bytes", "{structure=\"urls\"}", (double)s.url_bytes);
    metric(b, "logtally_memory_bytes", "{structure=\"rps\"}", (double)s.rps_bytes);
    metric(b, "logtally_memory_bytes", "{structure=\"buckets\"}", (double)s.bucket_bytes);
    vhost_metrics(b, &s);
    metric_head(b, "logtally_ingest_read_bytes", "gauge", "Bytes of the followed files counted.");
    metric(b, "logtally_ingest_read_bytes", "", (double)p.done);
    metric_head(b, "logtally_ingest_size_bytes", "gauge", "Bytes in the followed files.");
    metric(b, "logtally_ingest_size_bytes", "", (double)p.total);
    metric_head(b, "logtally_ingest_parts", "counter",
                "Backlog parts read in parallel by the reader threads.");
    metric(b, "logtally_ingest_parts_total", "", (double)p.parts);
    metric_head(b, "logtally_merges", "counter",
                "Merge jobs that moved read tallies into the live one, off the loop.");
    metric(b, "logtally_merges_total", "", (double)r->d->merges);
    metric_head(b, "logtally_answers_during_merge", "counter",
                "Answers asked for while a merge held the tally: given as last given "
                "since the previous merge, or held until the merge ended.");
    metric(b, "logtally_answers_during_merge_total", "{as=\"earlier\"}",
           (double)r->d->answers_earlier);
    metric(b, "logtally_answers_during_merge_total", "{as=\"held\"}",
           (double)r->d->answers_held);
    metric_head(b, "logtally_files_open", "gauge", "Followed files holding a descriptor.");
    metric(b, "logtally_files_open", "", (double)p.files_open);
    metric_head(b, "logtally_files_queued", "gauge",
                "Files waiting for a descriptor (over the descriptor budget).");
    metric(b, "logtally_files_queued", "", (double)p.files_queued);
    const lt_daemon *d = r->d;
    metric_head(b, "logtally_checkpoint_failures", "counter", "Checkpoints that failed.");
    metric(b, "logtally_checkpoint_failures_total", "", (double)d->checkpoint_failures);
    metric_head(b, "logtally_checkpoint_last_success_timestamp_seconds", "gauge",
                "When the last checkpoint was written (0: none yet).");
    metric(b, "logtally_checkpoint_last_success_timestamp_seconds", "",
           (double)d->checkpoint_time);
    lt_buf_puts(b, "# EOF\n");
    lt_summary_release(&s);
    *r->content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    return 200;
}

/* A snapshot's positions, taken when its job starts. */
static int snapshot_positions(request *r, struct answer_job *j)
{
    long n = sources_positions(r->d, &j->pos);
    if (n < 0)
        return -ENOMEM;
    j->n_pos = (size_t)n;
    j->now = (int64_t)time(NULL);
    return 0;
}

/* Serialised by an answer job, as a checkpoint is: tens of megabytes for
 * millions of clients, which took the loop 0.7 s (1.58 M clients). */
static int get_snapshot(request *r)
{
    struct answer_job want = {.snapshot = 1}, *j = NULL;
    int rc = ask_job(r, &want, snapshot_positions, &j);
    if (rc == SUMMARY_HOLD)
        return API_HOLD;
    if (rc == 0) {
        rc = j->rc;
        if (rc == 0 && r->out->len == 0) {
            lt_buf t = *r->out;    /* the bytes move to the answer */
            *r->out = j->body;
            j->body = t;
        } else if (rc == 0) {
            lt_buf_append(r->out, j->body.data, j->body.len);
        }
        answer_job_free(j);
    }
    if (rc < 0)
        return fail(r, 500, "out of memory");
    *r->content_type = "application/octet-stream";
    return 200;
}

/* Degraded, not ok, while checkpoints fail: counts are still served, but
 * a crash now would read again what the last good checkpoint did not hold. */
static int get_health(request *r)
{
    const char *status = r->d->checkpoint_failed ? "degraded" : "ok";
    if (r->text) {
        lt_buf_printf(r->out, "%s\n", status);
        if (r->d->checkpoint_failed)
            lt_buf_printf(r->out, "checkpoint: %s\n", r->d->checkpoint_error);
        return 200;
    }
    lt_buf_printf(r->out, "{\"status\":\"%s\",\"checkpoint\":", status);
    daemon_checkpoint_json(r->d, r->out);
    lt_buf_puts(r->out, "}\n");
    return 200;
}

static int post_reload(request *r)
{
    char err[1024];
    /* Anyone the socket's mode lets in may read; changing the daemon is for
     * root and the daemon's own user, checked with SO_PEERCRED. */
    if (r->peer->tcp)
        return fail(r, 403, "the TCP listener is read-only; reload over the Unix socket");
    if (!r->peer->uid_known || (r->peer->uid != 0 && r->peer->uid != (unsigned)geteuid()))
        return fail(r, 403, "reload is for root and the daemon's user (uid %u), not uid %u",
                    (unsigned)geteuid(), r->peer->uid);
    if (daemon_reload(r->d, err, sizeof(err)) < 0)
        return fail(r, 400, "configuration not reloaded: %s", err);
    lt_buf_puts(r->out, r->text ? "reloaded\n" : "{\"reloaded\":true}\n");
    return 200;
}

/* Answers to repeated GETs, kept while the tally, the sources and the
 * clock's second stay the same: a dashboard polling the summary costs one
 * computation per change, not one per request.  The second is part of the
 * key because summaries carry the uptime and the ingest rate. */
#define CACHE_SLOTS 8
#define CACHE_KEY 256

static struct cached {
    uint64_t generation, second;
    uint64_t merges;               /* d->merges when it was taken */
    char key[CACHE_KEY];
    int status;
    const char *content_type;
    lt_buf body;
} cache[CACHE_SLOTS];
static unsigned cache_next;

static struct cached *cache_find(lt_daemon *d, const char *key)
{
    uint64_t second = uv_now(d->loop) / 1000;
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].body.data != NULL && cache[i].generation == d->generation &&
            cache[i].second == second && strcmp(cache[i].key, key) == 0)
            return &cache[i];
    return NULL;
}

/* While a merge owns the tally: the newest answer to the same question
 * taken since the last merge ended, whatever its generation and second.
 * It was taken on the loop at one instant, on the tally as it is until
 * this merge ends: a consistent snapshot, older than the merge only. */
static struct cached *cache_find_newest(lt_daemon *d, const char *key)
{
    struct cached *best = NULL;
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].body.data != NULL && cache[i].merges == d->merges &&
            strcmp(cache[i].key, key) == 0 &&
            (best == NULL || cache[i].generation > best->generation ||
             (cache[i].generation == best->generation && cache[i].second > best->second)))
            best = &cache[i];
    return best;
}

/* Answers larger than this are not kept: the cache is for dashboards'
 * small repeated questions, and must not hold a long series per slot. */
#define CACHE_MAX_BODY (256 * 1024)

static void cache_store(lt_daemon *d, const char *key, int status, const char *type,
                        const lt_buf *body)
{
    if (body->len > CACHE_MAX_BODY)
        return;
    struct cached *c = &cache[cache_next++ % CACHE_SLOTS];
    lt_buf_reset(&c->body);
    lt_buf_append(&c->body, body->data, body->len);
    if (lt_buf_failed(&c->body)) {
        lt_buf_free(&c->body);
        return;
    }
    c->generation = d->generation;
    c->merges = d->merges;
    c->second = uv_now(d->loop) / 1000;
    c->status = status;
    c->content_type = type;
    snprintf(c->key, sizeof(c->key), "%s", key);
}

static const char *const no_params[] = {NULL},
                         *const rps_params[] = {"from", "to", "step", "status", NULL},
                         *const window_params[] = {"from", "to", NULL},
                         *const window_n_params[] = {"from", "to", "n", NULL};

static const struct route {
    const char *path;
    const char *method;
    const char *const *params;   /* accepted query keys, besides format */
    int (*fn)(request *r);
    int tally;                   /* reads the live tally: not while a merge owns it */
} routes[] = {
    {"/healthz", "GET", no_params, get_health, 0},
    {"/v1/summary", "GET", window_n_params, get_summary, 1},
    {"/v1/top", "GET", window_n_params, get_top, 1},
    {"/v1/rps", "GET", rps_params, get_rps, 1},
    {"/v1/status", "GET", window_params, get_status, 1},
    {"/v1/vhosts", "GET", window_n_params, get_vhosts, 1},
    {"/v1/sources", "GET", no_params, get_sources, 0},
    {"/v1/hll", "GET", no_params, get_hll, 1},
    {"/v1/snapshot", "GET", no_params, get_snapshot, 1},
    {"/v1/reload", "POST", no_params, post_reload, 0},
    {"/metrics", "GET", no_params, get_metrics, 1},
};

/* GETs of these are answered from the cache when nothing changed. */
static int cacheable(const char *path)
{
    return strcmp(path, "/v1/summary") == 0 || strcmp(path, "/v1/top") == 0 ||
           strcmp(path, "/v1/rps") == 0 || strcmp(path, "/v1/status") == 0 ||
           strcmp(path, "/v1/vhosts") == 0 || strcmp(path, "/metrics") == 0;
}

int api_handle(lt_daemon *d, const api_peer *peer, const char *method, const char *path,
               const char *query, const char *body, size_t body_len, lt_buf *out,
               const char **content_type)
{
    request r = {.d = d, .peer = peer, .method = method, .path = path, .query = query, .out = out,
                 .content_type = content_type};
    (void)body;
    (void)body_len;
    *content_type = "application/json";
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(path, routes[i].path) != 0)
            continue;
        if (strcmp(method, routes[i].method) != 0)
            return fail(&r, 405, "%s needs %s, not %s", path, routes[i].method, method);
        char key[CACHE_KEY];
        int use_cache = cacheable(path) &&
                        (size_t)snprintf(key, sizeof(key), "%s?%s", path, query) < sizeof(key);
        struct cached *hit = use_cache ? cache_find(d, key) : NULL;
        if (routes[i].tally && d->merging) {
            /* The merge's: the last answer to this question, or later. */
            if (hit == NULL && use_cache)
                hit = cache_find_newest(d, key);
            if (hit == NULL) {
                d->answers_held++;
                return API_HOLD;
            }
            d->answers_earlier++;
        }
        if (hit != NULL) {
            api_forget(d, peer);    /* a job it waited for is nobody's now */
            lt_buf_append(out, hit->body.data, hit->body.len);
            *content_type = hit->content_type;
            return hit->status;
        }
        int rc = parse_query(&r, query);
        if (rc == 0)
            rc = allow_params(&r, routes[i].params);
        if (rc)
            return rc;
        rc = routes[i].fn(&r);
        if (use_cache && rc == 200)
            cache_store(d, key, rc, *content_type, out);
        return rc;
    }
    return fail(&r, 404, "no such endpoint: %s", path);
}
