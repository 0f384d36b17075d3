/* sources.c -- where lines enter the daemon: files and globs, followed.
 *
 * Each configured source is a pattern (a path or a glob) with a format.
 * Each file a pattern names is a `tracked` entry holding a follower
 * (lib/follow.c), a parser and a libuv fs event watch.  Files are read by
 * jobs on libuv's thread pool: a job counts new complete lines into a
 * private tally; its after-work callback, on the loop thread, merges that
 * tally into the live one.  So reading never blocks the loop, and every API
 * answer sees whole jobs only.  A file has at most one job (or one set of
 * parts, below) in flight; a job reads at most JOB_BYTES, or PART_BYTES
 * when the file is far behind, so a large backlog is merged (and visible
 * in the progress) piece by piece, and no merge holds the loop for long
 * (8 MiB of lines merge in about a millisecond, 32 MiB in a few).
 *
 * When a job runs
 * ---------------
 *   - an fs event on the file (inotify: the usual, low-latency path);
 *   - the poll timer, every POLL_MS (the safety net: events can be lost,
 *     and a file that does not exist yet cannot be watched);
 *   - right after a job that stopped at JOB_BYTES.
 * Globs are expanded again every RESCAN_MS, so new files are picked up.
 *
 * Rotation
 * --------
 *   copytruncate      the follower sees the file shrink below its offset
 *                     and starts again at 0 (lib/follow.c);
 *   rename + create   a job sees the path name another file (or none): the
 *                     entry retires, and a new entry follows the path from
 *                     offset 0.  A retiring entry keeps reading the renamed
 *                     file, which a writer may still be finishing, until it
 *                     has not grown for RETIRE_MS; a last job then counts a
 *                     final line without '\n', and the entry is dropped;
 *   delete, re-create the same: the new entry waits for the path to exist.
 *
 * A large backlog (a first start on big logs, or a burst) is read in
 * parallel: lt_follow_plan() marks out one PART_BYTES part per reader
 * thread, each part is a job of its own with its own parser and tally, and
 * when the last of them ends the follower advances past them and their
 * tallies are merged in file order, as if one job had read them all.
 *
 * A source whose name ends in .gz is a compressed rotated log: it is read
 * once, whole, through zlib (lib/gz.c), and then left alone.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "daemon.h"
#include "follow.h"
#include "gz.h"
#include "parse.h"
#include "report.h"
#include "snapshot.h"

#define POLL_MS 100
#define RESCAN_MS 1000
#define RETIRE_MS 2000
#define JOB_BYTES ((uint64_t)8 << 20)
/* Parts are larger than plain jobs: fewer partial tallies to fill from
 * empty and merge (the initial ingest of the 880 MB benchmark log takes
 * 1.5 s with 8 MiB parts on 2 threads, 1.0 s with 32 MiB), and a merge of
 * one still holds the loop for only a few milliseconds. */
#define PART_BYTES ((uint64_t)32 << 20)
#define MAX_PARTS 16

struct tracked;

/* One part of a backlog read in parallel: a job of its own. */
struct part_job {
    uv_work_t work;
    struct tracked *t;
    lt_follow_part part;
    lt_parser *parser;       /* kept from one backlog to the next */
    lt_tally *delta;
    int rc;
    char err[256];
};

struct pattern {
    char *spec;              /* path or glob */
    char *format_spec;
    lt_format *format;       /* compiled once to check it; files compile their own */
};

typedef struct tracked {
    struct sources *src;
    struct pattern *pat;     /* NULL once its pattern was removed */
    char *path;
    uint32_t id;             /* index into names: labels its samples */
    lt_follow *follow;
    lt_format *format;       /* its own, so a reload never frees it under a job */
    lt_parser *parser;
    uv_fs_event_t watch;
    int watching;
    uv_work_t work;
    int busy;
    int again;               /* poll again when the job ends */
    int retiring;            /* renamed away or deleted: finishing */
    uint64_t grew_ms;        /* the last time a retiring file grew */
    int drop;                /* remove once no job runs */
    int logged_error;        /* an open error was reported once */
    long resumed;            /* index of the checkpoint position resumed, or -1 */
    int gz;                  /* a compressed rotated log: read once, whole */
    int gz_done;
    uint64_t gz_dev, gz_ino;  /* of the .gz file read */
    uint64_t rotations;      /* renames seen on this path */
    lt_follow_info info;     /* the follower's state after the last job:
                                what the loop thread reads while a job runs */
    lt_sample samples[LT_SAMPLES];
    uint64_t n_samples;
    struct tracked *next;
    struct part_job parts[MAX_PARTS];
    unsigned n_parts, parts_left;   /* of the parallel read in flight */
    int plain_next;          /* parts ended early: a plain job reads next */
    /* the job's input and output */
    int job_final;
    uint64_t job_bytes;      /* read at most this much */
    lt_tally *delta;
    int64_t consumed;
    int more, replaced, rc;
    char err[512];
} tracked;

struct sources {
    lt_daemon *d;
    lt_snapshot_source *resume;   /* a checkpoint's positions, read-only */
    size_t n_resume;
    char *claimed;           /* resume[i] taken by a file */
    struct pattern *pats;
    size_t n_pats;
    tracked *list;
    char **names;
    size_t n_names, cap_names;
    uv_timer_t poll;
    uint64_t last_rescan_ms;
    uint64_t rate_done, rate_ms;
    double rate;
    uint64_t parts_read;
    int stopping;
    size_t jobs;
    void (*on_stopped)(lt_daemon *d);
};

static void schedule(tracked *t);

/* --- names of files, for malformed samples ------------------------------ */

static int name_id(struct sources *s, const char *path, uint32_t *id)
{
    for (size_t i = 0; i < s->n_names; i++)
        if (strcmp(s->names[i], path) == 0) {
            *id = (uint32_t)i;
            return 0;
        }
    if (s->n_names == s->cap_names) {
        size_t cap = s->cap_names ? s->cap_names * 2 : 16;
        char **n = realloc(s->names, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        s->names = n;
        s->cap_names = cap;
    }
    if ((s->names[s->n_names] = strdup(path)) == NULL)
        return -ENOMEM;
    *id = (uint32_t)s->n_names++;
    return 0;
}

const char *const *sources_names(lt_daemon *d, size_t *n)
{
    *n = d->sources ? d->sources->n_names : 0;
    return d->sources ? (const char *const *)d->sources->names : NULL;
}

/* --- tracked files ------------------------------------------------------ */

static void on_watch_closed(uv_handle_t *h)
{
    tracked *t = h->data;
    for (unsigned k = 0; k < MAX_PARTS; k++)
        lt_parser_free(t->parts[k].parser);
    lt_follow_free(t->follow);
    lt_parser_free(t->parser);
    lt_format_free(t->format);
    free(t->path);
    free(t);
}

static void free_tracked(tracked *t)
{
    struct sources *s = t->src;
    tracked **pp = &s->list;
    while (*pp != t)
        pp = &(*pp)->next;
    *pp = t->next;
    uv_close((uv_handle_t *)&t->watch, on_watch_closed);
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)name;
    (void)events;
    (void)status;
    schedule(h->data);
}

static void start_watch(tracked *t)
{
    if (!t->watching && uv_fs_event_start(&t->watch, on_fs_event, t->path, 0) == 0)
        t->watching = 1;
}

static tracked *add_tracked(struct sources *s, struct pattern *p, const char *path,
                            uint64_t rotations)
{
    tracked *t = calloc(1, sizeof(*t));
    uint32_t id;
    if (t == NULL || name_id(s, path, &id) < 0)
        goto fail;
    t->src = s;
    t->pat = p;
    t->id = id;
    t->rotations = rotations;
    t->resumed = -1;
    t->path = strdup(path);
    t->gz = lt_gz_is_gz(path);
    t->follow = lt_follow_new(path, id);
    /* The pattern's format string compiled when the configuration was
     * applied, so this can only fail for memory. */
    t->format = lt_format_new(p->format_spec, t->err, sizeof(t->err));
    t->parser = t->format ? lt_parser_new(t->format) : NULL;
    if (t->path == NULL || t->follow == NULL || t->parser == NULL)
        goto fail;
    uv_fs_event_init(s->d->loop, &t->watch);
    t->watch.data = t;
    t->next = s->list;
    s->list = t;
    start_watch(t);
    schedule(t);
    return t;

fail:
    if (t != NULL) {
        lt_follow_free(t->follow);
        lt_parser_free(t->parser);
        lt_format_free(t->format);
        free(t->path);
        free(t);
    }
    daemon_log(LOG_ERR_, "%s: out of memory; not followed", path);
    return NULL;
}

static tracked *find_current(struct sources *s, const char *path)
{
    for (tracked *t = s->list; t != NULL; t = t->next)
        if (!t->retiring && !t->drop && strcmp(t->path, path) == 0)
            return t;
    return NULL;
}

/* Follows every file the patterns name that is not followed yet.  A plain
 * path is followed even before it exists; a glob, its current matches. */
static void rescan(struct sources *s)
{
    for (size_t i = 0; i < s->n_pats; i++) {
        struct pattern *p = &s->pats[i];
        if (strpbrk(p->spec, "*?[") == NULL) {
            if (find_current(s, p->spec) == NULL)
                add_tracked(s, p, p->spec, 0);
            continue;
        }
        glob_t g;
        if (glob(p->spec, GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t j = 0; j < g.gl_pathc; j++)
                if (find_current(s, g.gl_pathv[j]) == NULL)
                    add_tracked(s, p, g.gl_pathv[j], 0);
        }
        globfree(&g);
    }
}

/* --- jobs ---------------------------------------------------------------- */

/* Opens t's file, at the offset of the checkpoint's position for the same
 * file when there is one: same device and inode, and the same first bytes
 * (an inode number can be reused by a new file).  Runs on the thread pool;
 * the positions are read-only there, and each is claimed by the loop
 * thread's job_done through t->resumed. */
static int open_resuming(tracked *t)
{
    struct sources *s = t->src;
    struct stat st;
    t->resumed = -1;
    if (stat(t->path, &st) == 0)
        for (size_t i = 0; i < s->n_resume; i++) {
            const lt_snapshot_source *p = &s->resume[i];
            if (s->claimed[i] || p->dev != (uint64_t)st.st_dev || p->ino != (uint64_t)st.st_ino)
                continue;
            int rc = lt_follow_open(t->follow, p->offset, t->err, sizeof(t->err));
            if (rc < 0)
                return rc;
            if (lt_follow_same_start(t->follow, p->fp_len, p->fp_hash) == 1) {
                lt_follow_resume_counts(t->follow, p->lines, p->malformed, p->truncations);
                t->resumed = (long)i;
                return 0;
            }
            /* Another file under a reused inode: start it from the top. */
            lt_follow_free(t->follow);
            t->follow = lt_follow_new(t->path, t->id);
            if (t->follow == NULL)
                return -ENOMEM;
            break;
        }
    return lt_follow_open(t->follow, 0, t->err, sizeof(t->err));
}

/* On the thread pool: touches only t's follower, parser and delta. */
static void job_run(uv_work_t *w)
{
    tracked *t = w->data;
    lt_follow_info info;

    t->err[0] = '\0';
    t->consumed = 0;
    t->more = 0;
    t->replaced = 0;
    t->rc = 0;
    if (t->gz) {
        if (t->gz_done)
            return;
        /* A checkpoint that already read this very file (same inode). */
        struct stat st;
        if (stat(t->path, &st) == 0)
            for (size_t i = 0; i < t->src->n_resume; i++) {
                const lt_snapshot_source *p = &t->src->resume[i];
                if (p->done && p->dev == (uint64_t)st.st_dev && p->ino == (uint64_t)st.st_ino) {
                    t->gz_done = 1;
                    t->gz_ino = p->ino;
                    t->gz_dev = p->dev;
                    return;
                }
            }
        t->delta = lt_tally_new(lt_tally_limits(t->src->d->tally));
        t->rc = t->delta ? lt_gz_read(t->path, t->delta, t->parser, t->id, t->err, sizeof(t->err))
                         : -ENOMEM;
        /* Read once, damaged or not: the error is said, the lines before
         * the damage are counted, and a missing file is tried again. */
        t->gz_done = t->rc != -ENOENT;
        if (stat(t->path, &st) == 0) {
            t->gz_ino = (uint64_t)st.st_ino;
            t->gz_dev = (uint64_t)st.st_dev;
        }
        return;
    }
    lt_follow_info_get(t->follow, &info);
    if (!info.open) {
        t->rc = open_resuming(t);
        if (t->rc < 0)
            return;
    }
    if (lt_follow_pending(t->follow) > 0 || t->job_final) {
        t->delta = lt_tally_new(lt_tally_limits(t->src->d->tally));
        if (t->delta == NULL) {
            t->rc = -ENOMEM;
            snprintf(t->err, sizeof(t->err), "%s: out of memory", t->path);
            return;
        }
        t->consumed = lt_follow_read(t->follow, t->delta, t->parser, t->job_bytes, t->job_final,
                                     &t->more, t->err, sizeof(t->err));
        if (t->consumed < 0) {
            t->rc = (int)t->consumed;
            t->consumed = 0;
        }
    }
    if (!t->retiring)
        t->replaced = lt_follow_replaced(t->follow) == 1;
}

static void keep_samples(tracked *t, const lt_tally *delta)
{
    lt_sample got[LT_SAMPLES];
    size_t n = lt_tally_samples(delta, got);
    for (size_t i = 0; i < n; i++)
        t->samples[t->n_samples++ % LT_SAMPLES] = got[i];
}

/* Every job has been merged: the daemon's last word (the final
 * checkpoint, with every file's position), then the entries go. */
static void finish_stop(struct sources *s)
{
    void (*done)(lt_daemon *d) = s->on_stopped;
    s->on_stopped = NULL;
    if (done != NULL)
        done(s->d);
    while (s->list != NULL)
        free_tracked(s->list);
}

/* On the loop thread, after job_run. */
static void job_done(uv_work_t *w, int status)
{
    tracked *t = w->data;
    struct sources *s = t->src;
    lt_daemon *d = s->d;
    uint64_t now = uv_now(d->loop);

    /* The job's results, taken before a next job may be queued. */
    lt_tally *delta = t->delta;
    int rc = status == 0 ? t->rc : 0, more = t->more, replaced = t->replaced;
    int final = t->job_final;
    int64_t consumed = t->consumed;
    char err[sizeof(t->err)];
    memcpy(err, t->err, sizeof(err));

    t->busy = 0;
    t->delta = NULL;
    t->plain_next = 0;
    s->jobs--;
    if (t->resumed >= 0) {
        s->claimed[t->resumed] = 1;
        t->rotations = s->resume[t->resumed].rotations;
        daemon_log(LOG_INFO_, "%s: resuming at byte %llu of the checkpoint", t->path,
                   (unsigned long long)s->resume[t->resumed].offset);
        t->resumed = -1;
    }
    d->generation++;
    lt_follow_info_get(t->follow, &t->info);
    if (delta != NULL)
        keep_samples(t, delta);
    /* With a backlog in a plain read, the next read starts before this
     * merge, so the thread pool keeps parsing while the loop merges and
     * answers.  Jobs that end a file or see a rotation go the long way. */
    if (more && status == 0 && rc == 0 && !replaced && !final && !t->retiring && !t->drop &&
        !s->stopping) {
        more = 0;
        schedule(t);
    }
    if (delta != NULL) {
        if (lt_tally_merge(d->tally, delta) < 0)
            daemon_log(LOG_ERR_, "%s: out of memory merging new lines; counts may be short",
                       t->path);
        lt_tally_free(delta);
    }
    if (rc < 0) {
        /* A missing file is normal (not created yet, rotated away); other
         * errors are said once per file until it opens. */
        if (rc != -ENOENT && !t->logged_error) {
            daemon_log(LOG_WARNING_, "%s", err);
            t->logged_error = 1;
        }
    } else if (status == 0) {
        t->logged_error = 0;
        start_watch(t);
    }

    if (t->retiring && consumed > 0)
        t->grew_ms = now;
    if (final)
        t->drop = 1;
    if (replaced && !t->retiring && !t->drop) {
        /* Renamed away or deleted: finish this file, follow the path anew. */
        t->retiring = 1;
        t->grew_ms = now;
        daemon_log(LOG_INFO_, "%s: rotated; finishing the old file, following the new one",
                   t->path);
        if (t->pat != NULL && !s->stopping)
            add_tracked(s, t->pat, t->path, t->rotations + 1);
    }
    if (s->stopping) {
        if (s->jobs == 0)
            finish_stop(s);
        return;
    }
    if (t->drop && !t->busy) {
        free_tracked(t);
        return;
    }
    if (more || t->again) {
        t->again = 0;
        schedule(t);
    }
}

/* --- a backlog in parallel parts ---------------------------------------- */

/* Reader threads for a backlog: the configuration's, within the pool
 * (which keeps a thread for checkpoints and other files). */
static unsigned reader_parts(const struct sources *s)
{
    const lt_daemon *d = s->d;
    unsigned n = daemon_readers(d);
    if (d->pool_threads > 1 && n > d->pool_threads - 1)
        n = d->pool_threads - 1;
    return n > MAX_PARTS ? MAX_PARTS : n;
}

/* On the thread pool: touches only its part, parser and delta. */
static void part_run(uv_work_t *w)
{
    struct part_job *pj = w->data;
    tracked *t = pj->t;
    pj->rc = 0;
    pj->err[0] = '\0';
    pj->delta = lt_tally_new(lt_tally_limits(t->src->d->tally));
    if (pj->delta == NULL) {
        pj->rc = -ENOMEM;
        snprintf(pj->err, sizeof(pj->err), "%s: out of memory", t->path);
        return;
    }
    pj->rc = lt_follow_read_part(t->follow, &pj->part, pj->delta, pj->parser, pj->err,
                                 sizeof(pj->err));
}

static void part_done(uv_work_t *w, int status);

/* Queues the parts of t's backlog when it is large enough to share out;
 * returns 1 when they run, 0 when t is to be read by one plain job. */
static int schedule_parts(tracked *t)
{
    struct sources *s = t->src;
    lt_follow_part plan[MAX_PARTS];
    unsigned n = reader_parts(s);

    if (n < 2 || t->gz || t->retiring || t->job_final || !t->info.open || t->plain_next)
        return 0;
    /* Parts shrink as the backlog does, down to JOB_BYTES, so the end of
     * a large file is shared out too. */
    int planned = lt_follow_plan(t->follow, n, PART_BYTES, JOB_BYTES, plan);
    if (planned <= 0)
        return 0;
    for (int k = 0; k < planned; k++) {
        struct part_job *pj = &t->parts[k];
        if (pj->parser == NULL && (pj->parser = lt_parser_new(t->format)) == NULL)
            return 0;
    }
    t->n_parts = t->parts_left = 0;
    for (int k = 0; k < planned; k++) {
        struct part_job *pj = &t->parts[k];
        pj->t = t;
        pj->part = plan[k];
        pj->delta = NULL;
        pj->work.data = pj;
        if (uv_queue_work(s->d->loop, &pj->work, part_run, part_done) != 0)
            break;
        t->n_parts++;
        t->parts_left++;
        s->jobs++;
    }
    if (t->n_parts == 0)
        return 0;
    t->busy = 1;
    return 1;
}

/* On the loop thread, after each part; the last one to end moves the
 * follower past the parts and merges their tallies in file order. */
static void part_done(uv_work_t *w, int status)
{
    struct part_job *pj = w->data;
    tracked *t = pj->t;
    struct sources *s = t->src;
    lt_daemon *d = s->d;

    if (status != 0 && pj->rc == 0)
        pj->rc = -ECANCELED;
    s->jobs--;
    if (--t->parts_left > 0)
        return;

    /* Advance first, so the next read can start while this one merges;
     * the tallies to merge are taken out of the part jobs it reuses. */
    lt_tally *merge[MAX_PARTS];
    unsigned n_merge = 0;
    int go = 1, failed = 0;
    for (unsigned k = 0; k < t->n_parts; k++) {
        struct part_job *p = &t->parts[k];
        lt_follow_info before;
        lt_follow_info_get(t->follow, &before);
        int r = go && p->rc == 0 && p->delta != NULL ? lt_follow_advance(t->follow, &p->part) : -1;
        if (p->rc < 0 && go) {
            failed = 1;
            if (p->rc != -ECANCELED && !t->logged_error) {
                daemon_log(LOG_WARNING_, "%s", p->err);
                t->logged_error = 1;
            }
        }
        if (r < 0) {
            lt_tally_free(p->delta);
        } else {
            lt_tally_shift_lines(p->delta, t->id, before.lines);
            merge[n_merge++] = p->delta;
            s->parts_read++;
        }
        p->delta = NULL;
        go = r == 1;
    }
    t->n_parts = 0;
    lt_follow_info_get(t->follow, &t->info);
    d->generation++;
    t->busy = 0;
    /* A chain that stopped early (a truncation, a failed part) is taken
     * up by a plain job, which sees a truncation and says an error; after
     * an error that is the poll's next round, not at once. */
    t->plain_next = !go;
    if (!failed)
        t->logged_error = 0;
    if (!s->stopping && !t->drop && !failed) {
        t->again = 0;
        schedule(t);
    }
    for (unsigned k = 0; k < n_merge; k++) {
        keep_samples(t, merge[k]);
        if (lt_tally_merge(d->tally, merge[k]) < 0)
            daemon_log(LOG_ERR_, "%s: out of memory merging new lines; counts may be short",
                       t->path);
        lt_tally_free(merge[k]);
    }
    if (s->stopping) {
        if (s->jobs == 0)
            finish_stop(s);
    } else if (t->drop && !t->busy) {
        free_tracked(t);
    }
}

static void schedule(tracked *t)
{
    struct sources *s = t->src;
    if (s->stopping || t->drop)
        return;
    if (t->busy) {
        t->again = 1;
        return;
    }
    t->job_final = t->retiring && uv_now(s->d->loop) - t->grew_ms >= RETIRE_MS;
    if (schedule_parts(t))
        return;
    /* Far behind (one reader thread), larger jobs: fewer partial tallies
     * to fill from empty and merge. */
    t->job_bytes = t->info.size - t->info.offset > 2 * PART_BYTES ? PART_BYTES : JOB_BYTES;
    if (t->info.size < t->info.offset)
        t->job_bytes = JOB_BYTES;
    t->work.data = t;
    if (uv_queue_work(s->d->loop, &t->work, job_run, job_done) == 0) {
        t->busy = 1;
        s->jobs++;
    }
}

static void on_poll(uv_timer_t *timer)
{
    struct sources *s = timer->data;
    uint64_t now = uv_now(s->d->loop);

    if (now - s->last_rescan_ms >= RESCAN_MS) {
        s->last_rescan_ms = now;
        rescan(s);
        /* Recent ingest rate, smoothed over about five seconds. */
        ingest_progress p;
        sources_progress(s->d, &p);
        if (s->rate_ms != 0 && now > s->rate_ms) {
            double inst = (double)(p.done - (p.done >= s->rate_done ? s->rate_done : p.done)) *
                          1000.0 / (double)(now - s->rate_ms);
            s->rate = s->rate == 0 ? inst : 0.8 * s->rate + 0.2 * inst;
        }
        s->rate_done = p.done;
        s->rate_ms = now;
    }
    for (tracked *t = s->list; t != NULL; t = t->next)
        if (!t->busy)
            schedule(t);
}

/* --- configuration ------------------------------------------------------ */

static void free_patterns(struct pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].spec);
        free(p[i].format_spec);
        lt_format_free(p[i].format);
    }
    free(p);
}

/* Compiles the configuration's sources and the command line's paths. */
static int build_patterns(lt_daemon *d, struct pattern **out, size_t *n_out, char *err,
                          size_t errlen)
{
    const lt_config *c = d->config;
    size_t n = c->n_sources + d->n_extra_paths;
    struct pattern *p = calloc(n ? n : 1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *spec = i < c->n_sources ? c->sources[i].path : d->extra_paths[i - c->n_sources];
        const char *fmt = i < c->n_sources ? c->sources[i].format : d->extra_format;
        char ferr[256];
        p[i].spec = strdup(spec);
        p[i].format_spec = strdup(fmt);
        p[i].format = lt_format_new(fmt, ferr, sizeof(ferr));
        if (p[i].format == NULL || p[i].spec == NULL || p[i].format_spec == NULL) {
            snprintf(err, errlen, "source %s: format: %s", spec,
                     p[i].format == NULL ? ferr : "out of memory");
            free_patterns(p, n);
            return -1;
        }
    }
    *out = p;
    *n_out = n;
    return 0;
}

int sources_apply(lt_daemon *d, char *err, size_t errlen)
{
    struct sources *s = d->sources;
    struct pattern *pats;
    size_t n;

    if (build_patterns(d, &pats, &n, err, errlen) < 0)
        return -1;
    /* Files follow their pattern into the new array, or stop being
     * followed when it is gone. */
    for (tracked *t = s->list; t != NULL; t = t->next) {
        struct pattern *keep = NULL;
        for (size_t i = 0; i < n && keep == NULL && t->pat != NULL; i++)
            if (strcmp(pats[i].spec, t->pat->spec) == 0 &&
                strcmp(pats[i].format_spec, t->pat->format_spec) == 0)
                keep = &pats[i];
        if (keep == NULL && !t->drop) {
            daemon_log(LOG_INFO_, "%s: no longer a source", t->path);
            t->drop = 1;
        }
        t->pat = keep;
    }
    free_patterns(s->pats, s->n_pats);
    s->pats = pats;
    s->n_pats = n;
    tracked *t = s->list;
    while (t != NULL) {
        tracked *next = t->next;
        if (t->drop && !t->busy)
            free_tracked(t);
        t = next;
    }
    rescan(s);
    return 0;
}

int sources_start(lt_daemon *d)
{
    struct sources *s = calloc(1, sizeof(*s));
    char err[512];
    if (s == NULL)
        return -1;
    s->d = d;
    d->sources = s;
    s->resume = d->resume;
    s->n_resume = d->n_resume;
    d->resume = NULL;
    d->n_resume = 0;
    s->claimed = calloc(s->n_resume ? s->n_resume : 1, 1);
    if (s->claimed == NULL)
        return -1;
    if (sources_apply(d, err, sizeof(err)) < 0) {
        daemon_log(LOG_ERR_, "%s", err);
        return -1;
    }
    uv_timer_init(d->loop, &s->poll);
    s->poll.data = s;
    uv_timer_start(&s->poll, on_poll, POLL_MS, POLL_MS);
    return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
    (void)h;
}

void sources_stop(lt_daemon *d, void (*done)(lt_daemon *d))
{
    struct sources *s = d->sources;
    s->stopping = 1;
    s->on_stopped = done;
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
    /* Jobs in flight finish and merge first (job_done calls finish_stop). */
    if (s->jobs == 0)
        finish_stop(s);
}

/* Frees what is left once the loop has closed every handle. */
void sources_free(lt_daemon *d);
void sources_free(lt_daemon *d)
{
    struct sources *s = d->sources;
    if (s == NULL)
        return;
    free_patterns(s->pats, s->n_pats);
    lt_snapshot_sources_free(s->resume, s->n_resume);
    free(s->claimed);
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i]);
    free(s->names);
    free(s);
    d->sources = NULL;
}

/* --- checkpoints --------------------------------------------------------- */

long sources_positions(lt_daemon *d, lt_snapshot_source **out)
{
    struct sources *s = d->sources;
    size_t n = 0;
    for (tracked *t = s ? s->list : NULL; t != NULL; t = t->next)
        n++;
    /* Positions of the checkpoint not yet claimed by a file stay: a file
     * that is missing now may come back. */
    for (size_t i = 0; s && i < s->n_resume; i++)
        n += !s->claimed[i];
    lt_snapshot_source *p = calloc(n ? n : 1, sizeof(*p));
    if (p == NULL)
        return -1;
    size_t k = 0;
    for (tracked *t = s ? s->list : NULL; t != NULL; t = t->next) {
        const lt_follow_info *i = &t->info;
        if (!i->open && !(t->gz && t->gz_done))
            continue;
        lt_snapshot_source *q = &p[k];
        if ((q->path = strdup(t->path)) == NULL)
            goto nomem;
        k++;
        if (t->gz) {
            q->dev = t->gz_dev;
            q->ino = t->gz_ino;
            q->done = t->gz_done;
            continue;
        }
        q->dev = i->dev;
        q->ino = i->ino;
        q->offset = i->offset;
        q->size = i->size >= i->offset ? i->size : i->offset;
        q->lines = i->lines;
        q->malformed = i->malformed;
        q->truncations = i->truncations;
        q->rotations = t->rotations;
        q->fp_len = i->fp_len;
        q->fp_hash = i->fp_hash;
    }
    for (size_t i = 0; s && i < s->n_resume; i++) {
        if (s->claimed[i])
            continue;
        p[k] = s->resume[i];
        if ((p[k].path = strdup(s->resume[i].path)) == NULL)
            goto nomem;
        k++;
    }
    *out = p;
    return (long)k;

nomem:
    lt_snapshot_sources_free(p, k);
    return -1;
}

void sources_resume_from(lt_daemon *d, lt_snapshot_source *pos, size_t n)
{
    d->resume = pos;
    d->n_resume = n;
}

/* --- reporting ---------------------------------------------------------- */

void sources_progress(lt_daemon *d, ingest_progress *out)
{
    struct sources *s = d->sources;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return;
    for (tracked *t = s->list; t != NULL; t = t->next) {
        const lt_follow_info i = t->info;
        out->done += i.offset <= i.size ? i.offset : i.size;
        out->total += i.size;
    }
    out->rate = s->rate;
    out->parts = s->parts_read;
    /* More than one job's worth behind: an initial ingest, or a burst. */
    out->catching_up = out->total - out->done > JOB_BYTES;
}

void sources_describe(lt_daemon *d, lt_buf *b, int text)
{
    struct sources *s = d->sources;
    size_t n = 0;
    char a[32], c[32];

    if (!text)
        lt_buf_puts(b, "{\"sources\":[");
    for (tracked *t = s ? s->list : NULL; t != NULL; t = t->next, n++) {
        const lt_follow_info i = t->info;
        uint64_t lag = i.size > i.offset ? i.size - i.offset : 0;
        const char *state = t->gz ? (t->gz_done ? "read" : "waiting")
                          : !i.open ? "waiting" : t->retiring ? "finishing" : "following";
        if (text) {
            lt_buf_text_escaped(b, t->path, strlen(t->path));
            lt_buf_printf(b, "\n  %s, inode %llu, offset %s of %s, %s lines (%s malformed), "
                          "%llu rotations, %llu truncations\n",
                          state, (unsigned long long)i.ino, lt_report_bytes(i.offset, a),
                          lt_report_bytes(i.size, c), lt_report_group(i.lines, a),
                          lt_report_group(i.malformed, c), (unsigned long long)t->rotations,
                          (unsigned long long)i.truncations);
        } else {
            lt_buf_puts(b, n ? ",{\"path\":" : "{\"path\":");
            lt_buf_json_string(b, t->path, strlen(t->path));
            lt_buf_puts(b, ",\"pattern\":");
            if (t->pat)
                lt_buf_json_string(b, t->pat->spec, strlen(t->pat->spec));
            else
                lt_buf_puts(b, "null");
            lt_buf_printf(b,
                          ",\"state\":\"%s\",\"device\":%llu,\"inode\":%llu,\"offset\":%llu,"
                          "\"size\":%llu,\"lag\":%llu,\"lines\":%llu,\"malformed\":%llu,"
                          "\"rotations\":%llu,\"truncations\":%llu,\"malformed_samples\":[",
                          state, (unsigned long long)i.dev, (unsigned long long)i.ino,
                          (unsigned long long)i.offset, (unsigned long long)i.size,
                          (unsigned long long)lag, (unsigned long long)i.lines,
                          (unsigned long long)i.malformed, (unsigned long long)t->rotations,
                          (unsigned long long)i.truncations);
        }
        uint64_t kept = t->n_samples < LT_SAMPLES ? t->n_samples : LT_SAMPLES;
        for (uint64_t k = 0; k < kept; k++) {
            const lt_sample *sm = &t->samples[(t->n_samples - kept + k) % LT_SAMPLES];
            const char *why = lt_parse_strerror(sm->reason);
            if (text) {
                lt_buf_printf(b, "  line %llu: %s: ", (unsigned long long)sm->line, why);
                lt_buf_text_escaped(b, sm->text, sm->len);
                lt_buf_puts(b, "\n");
            } else {
                lt_buf_printf(b, "%s{\"line\":%llu,\"reason\":", k ? "," : "",
                              (unsigned long long)sm->line);
                lt_buf_json_string(b, why, strlen(why));
                lt_buf_puts(b, ",\"text\":");
                lt_buf_json_string(b, sm->text, sm->len);
                lt_buf_puts(b, "}");
            }
        }
        if (!text)
            lt_buf_puts(b, "]}");
    }
    if (!text)
        lt_buf_puts(b, "]}\n");
    else if (n == 0)
        lt_buf_puts(b, "no sources\n");
}
