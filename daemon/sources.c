/* sources.c -- where lines enter the daemon: files found by patterns, read by jobs.
 *
 * Each configured source is a pattern (a path or a glob) with a format and
 * a rotate_wait.  A pattern only finds files: a file is known by its
 * identity (device, inode, the fingerprint of its first bytes) in the
 * registry (lib/registry.c), which is part of the checkpoint.  So a file
 * reached through two names, renamed, linked, symlink-switched, re-added by
 * reload or compressed by logrotate is read once, from where it was left.
 *
 * The pieces
 * ----------
 *   scan      one job at a time on the thread pool (discover.c) expands the
 *             patterns, refuses what is not a regular file, and reads the
 *             first bytes of files not known yet; scan_done, on the loop,
 *             asks the registry about each and starts reading new ones.
 *             Every RESCAN_MS, and soon after a directory of a pattern
 *             changes (inotify on the directories).
 *   tracked   a file being read: its registry entry, a follower
 *             (lib/follow.c), a parser, an inotify watch.  At most one job
 *             in flight; a job counts new
 *             complete lines into a private tally that job_done, on the
 *             loop, hands to commit.c, which merges it into the live one
 *             on the pool.  So neither reading nor merging blocks the
 *             loop, and every answer sees whole jobs only.
 *
 * What is shared with jobs (the rule daemon.h states)
 * ---------------------------------------------------
 * A job owns its tracked's follower, parser and job fields from the moment
 * it is queued until job_done runs; everything it needs (where to start, the
 * identity to expect, line counts) is copied into those fields on the loop
 * before it is queued.  The loop reads only t->info, the copy of the
 * follower's state that job_done takes.  The scan owns its struct scan.
 *
 * Rotation
 * --------
 *   rename + create   the scan sees the tracked file's path name another
 *                     file (or none): the tracked file is finishing, read
 *                     through its descriptor until its writer has been quiet
 *                     for rotate_wait, then a last job counts a final line
 *                     without '\n' and it is done; the new file at the path
 *                     is a new identity, read from 0;
 *   copytruncate      the follower sees the file shrink below its offset,
 *                     or its first bytes change, and starts it again at 0;
 *                     the content cut off is a registry ghost, so
 *                     logrotate's copy (access.log.1, when a glob names it)
 *                     continues where the original was left;
 *   compress          a .gz whose decompressed start matches a known file
 *                     continues at that file's offset, once complete (its
 *                     size stable and its stream whole); an incomplete one
 *                     is read again when it changes, never marked done;
 *   while down        files of the checkpoint that no pattern names are
 *                     looked for among the siblings of their last path
 *                     (discover.c), and their unread tails counted.
 *
 * Descriptors
 * -----------
 * Open followers are held to a budget (the descriptor limit, raised to its
 * hard maximum, less room for the API's connections).  A file over it is
 * queued; when files are queued, the idle file read longest ago is closed
 * (its position stays in the registry; the scan sees it grow) to make room.
 * An idle follower holds a descriptor and no read buffer.
 *
 * A large backlog (a first start on big logs, or a burst) is read by the
 * engine `analyze` uses (lib/ingest.c, with pread): a job finds a backlog
 * of BACKLOG_MIN or more, lt_follow_plan() marks out up to BACKLOG_BYTES
 * of it, and lt_follow_read_part() counts that on every reader thread
 * into one tally (one shared IPv4 set, a URL table per thread), which is
 * queued for the merge like any job's.  Into a live tally that has counted
 * nothing yet (a first start) the merge is a move, so a first start counts
 * its logs as fast as `analyze` with windows kept.  Measured on this
 * project's 2-core machine, the 887 MB, 1.58 M-client benchmark log,
 * page-cached, threads: 2, from start to /v1/summary counting every line:
 *
 *                                            wall     CPU
 *   two 32 MiB parts at a time, each a job   1.65 s   2.1 s
 *   of its own, merged into the live tally
 *   one part on both threads (now)           1.00 s   1.35 s
 *
 * (analyze: 0.56 s without windows, 0.8-0.9 s with them).  A part is read
 * whole before any of it is answered, so answers move in BACKLOG_BYTES
 * steps while a large backlog is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "buf.h"
#include "daemon.h"
#include "discover.h"
#include "follow.h"
#include "gz.h"
#include "parse.h"
#include "registry.h"
#include "report.h"
#include "snapshot.h"

#define POLL_MS 100
#define RESCAN_MS 1000
#define RESCAN_SOON_MS 20
#define JOB_BYTES ((uint64_t)8 << 20)
/* A backlog is read BACKLOG_BYTES at a time by lib/ingest.c's engine, the
 * one `analyze` uses; less than BACKLOG_MIN goes to plain jobs. */
#define BACKLOG_BYTES ((uint64_t)1 << 30)
#define BACKLOG_MIN (2 * JOB_BYTES)
/* A .gz is read once its size has not changed for this long. */
#define GZ_STABLE_MS 1000
/* Finished files are forgotten a day after they were last found, and the
 * registry holds at most this many (the least recently found go first). */
#define FORGET_AFTER_S (24 * 3600)
#define REGISTRY_MAX 100000
/* Descriptors kept for everything but followed files, beyond the API's
 * connections: the listeners, inotify, the loop, checkpoints, scans. */
#define FD_RESERVE 64

struct pattern {
    char *spec;              /* path or glob */
    char *format_spec;       /* its format and the format's options, as one key */
    char *format;            /* its format alone */
    long conf;               /* index of its lt_source_conf, or -1 (command line) */
    uint64_t rotate_wait_ms;
};

struct watched_dir {
    uv_fs_event_t ev;
    struct sources *src;
    char *dir;
    int keep;
    struct watched_dir *next;
};

typedef struct tracked {
    struct sources *src;
    lt_reg_entry *reg;       /* its registry entry (active, user = this) */
    uint64_t dev, ino;
    char *path;              /* the name it is read through: the latest found */
    uint32_t id;             /* labels its samples: the name it was found under */
    size_t pat;              /* the pattern naming it; SIZE_MAX: found as a sibling */
    char *format_spec;       /* of its parser */
    lt_format *format;       /* its own, so a reload never frees it under a job */
    lt_parser *parser;       /* made when a job needs it, freed when idle */
    char *new_format;        /* a reload's format, applied between jobs */
    uint64_t rotate_wait_ms;
    lt_follow *follow;       /* NULL while closed (queued, or closed when idle) */
    int open;                /* holds (or its job is taking) a descriptor */
    uv_fs_event_t watch;
    int watching;
    uv_work_t work;
    int busy;
    int again;               /* read again when the job ends */
    int queued;              /* waiting for a descriptor */
    int named;               /* a pattern named it in the last scan */
    int at_path;             /* the last scan found it at its path: 1 by a glob, 2 plainly */
    const char *alt;         /* another name the last scan found it under (the scan's) */
    int finishing;           /* rotated away or no longer named: read until quiet */
    int drop;                /* remove once no job runs */
    int freed;               /* out of the lists; freed when its watch closes */
    uint64_t grew_ms;        /* the last time it grew (or was found to) */
    uint64_t active_ms;      /* the last time a job read it */
    int logged_error;        /* an error was reported once */
    int gz;                  /* a compressed rotated log: read once, whole */
    uint64_t gz_size, gz_since_ms;  /* its size, and since when */
    int gz_incomplete;       /* its last read found the stream unfinished */
    int hinted;              /* the format hint was looked for (job) and said (loop) */
    char hint[160];          /* a built-in format that parses a file with no valid line */
    lt_follow_info info;     /* the follower's state after the last job */
    lt_sample samples[LT_SAMPLES];
    uint64_t n_samples;
    struct tracked *next;
    struct tracked *queue_next;
    int try_backlog;         /* the job reads a backlog part if there is one,
                                holding the one backlog read allowed */
    unsigned readers;        /* on this many threads */
    int in_backlog;          /* it did: the job's output is the part */
    lt_follow_part part;
    int plain_next;          /* a backlog read ended early: a plain job reads next */
    /* the job's input, set on the loop before it is queued */
    uint64_t start_offset, start_lines, start_malformed, start_truncations;
    uint32_t start_fp_len;
    uint64_t start_fp_hash;
    int job_final;
    uint64_t job_bytes;
    /* the job's output */
    lt_tally *delta;
    int64_t consumed;
    uint64_t gz_total, gz_lines;
    int more, rc;
    char err[512];
} tracked;

/* What the last scan saw that is not being read: shown in /v1/sources. */
struct seen {
    char *path;
    int kind;                /* FOUND_MISSING, FOUND_REFUSED, or FOUND_FILE: done */
    char reason[96];
    uint64_t dev, ino;
};

struct sources {
    lt_daemon *d;
    lt_registry *reg;
    struct pattern *pats;
    size_t n_pats;
    uint64_t pat_gen;        /* bumped by every reload */
    int reloaded;            /* unnamed files stop once a scan of the new patterns ends */
    tracked *list;
    size_t n_tracked;
    tracked *queue, **queue_tail;
    size_t n_queued;
    size_t n_open, fd_budget;
    /* names of files, for malformed samples (index = sample source) */
    char **names;
    tracked **holder;        /* names[i] is the path of holder[i] */
    size_t n_names, cap_names;
    uint32_t *name_slots;    /* open addressing: index + 1, 0 empty */
    size_t n_slots;
    /* the scan */
    uv_work_t scan_work;
    scan sc;
    int scanning, scan_again, first_scan_done;
    uint64_t scan_gen;
    uv_timer_t rescan;
    uv_timer_t poll;
    struct watched_dir *dirs;
    struct seen *seen;
    size_t n_seen;
    scan_family *families;   /* for the next scan (discover.h) */
    size_t n_families;
    int64_t scan_wall_ms, prev_scan_wall_ms;  /* when the last two scans started */
    /* progress */
    uint64_t rate_done, rate_ms;
    double rate;
    uint64_t parts_read;
    unsigned backlog_jobs;   /* jobs that may read a backlog part: 0 or 1 */
    int initial_done;        /* the first catch-up ended: checkpointed at once */
    int stop_waiting;        /* stopped, every job ended: waits for the merges */
    int stopping;
    size_t jobs;
    void (*on_stopped)(lt_daemon *d);
    /* Jobs that ended while a checkpoint waited for the merges, in the
     * order they ended (sources_thaw() finishes them). */
    struct ended {
        uv_work_t *w;
        int status;
        void (*fn)(uv_work_t *w, int status);
    } *ended;
    size_t n_ended, cap_ended;
};

static void schedule(tracked *t);
static void request_scan(struct sources *s, uint64_t delay_ms);
static void balance(struct sources *s);
static int64_t wall_ms(void);
static void add_family(struct sources *s, const char *path, int64_t since_ms);

/* --- names of files, for malformed samples ------------------------------ */

static int name_id(struct sources *s, const char *path, uint32_t *id)
{
    size_t len = strlen(path);
    if ((s->n_names + 1) * 2 > s->n_slots) {
        size_t ns = s->n_slots ? s->n_slots * 2 : 64;
        uint32_t *slots = calloc(ns, sizeof(*slots));
        if (slots == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < s->n_names; i++) {
            size_t k = (size_t)XXH3_64bits(s->names[i], strlen(s->names[i])) & (ns - 1);
            while (slots[k] != 0)
                k = (k + 1) & (ns - 1);
            slots[k] = (uint32_t)i + 1;
        }
        free(s->name_slots);
        s->name_slots = slots;
        s->n_slots = ns;
    }
    size_t k = (size_t)XXH3_64bits(path, len) & (s->n_slots - 1);
    for (; s->name_slots[k] != 0; k = (k + 1) & (s->n_slots - 1))
        if (strcmp(s->names[s->name_slots[k] - 1], path) == 0) {
            *id = s->name_slots[k] - 1;
            return 0;
        }
    if (s->n_names == s->cap_names) {
        size_t cap = s->cap_names ? s->cap_names * 2 : 16;
        char **n = realloc(s->names, cap * sizeof(*n));
        tracked **h = n ? realloc(s->holder, cap * sizeof(*h)) : NULL;
        if (n != NULL)
            s->names = n;
        if (h == NULL)
            return -ENOMEM;
        s->holder = h;
        s->cap_names = cap;
    }
    if ((s->names[s->n_names] = strdup(path)) == NULL)
        return -ENOMEM;
    s->holder[s->n_names] = NULL;
    s->name_slots[k] = (uint32_t)s->n_names + 1;
    *id = (uint32_t)s->n_names++;
    return 0;
}

const char *const *sources_names(lt_daemon *d, size_t *n)
{
    *n = d->sources ? d->sources->n_names : 0;
    return d->sources ? (const char *const *)d->sources->names : NULL;
}

/* Records that t is read through path now (and was, as holder, not before). */
static void set_path(tracked *t, const char *path)
{
    struct sources *s = t->src;
    uint32_t id;
    if (t->path != NULL && name_id(s, t->path, &id) == 0 && s->holder[id] == t)
        s->holder[id] = NULL;
    char *p = strdup(path);
    if (p == NULL)
        return;    /* keeps the old name; only the display is stale */
    free(t->path);
    t->path = p;
    if (name_id(s, path, &id) == 0)
        s->holder[id] = t;
}

/* --- tracked files ------------------------------------------------------ */

/* What a file holds only while it is read: its parser. */
static void free_readers(tracked *t)
{
    lt_parser_free(t->parser);
    t->parser = NULL;
}

static void on_watch_closed(uv_handle_t *h)
{
    tracked *t = h->data;
    free_readers(t);
    lt_follow_free(t->follow);
    lt_format_free(t->format);
    free(t->format_spec);
    free(t->new_format);
    free(t->path);
    free(t);
}

static void unqueue(tracked *t)
{
    struct sources *s = t->src;
    if (!t->queued)
        return;
    tracked **pp = &s->queue;
    while (*pp != t)
        pp = &(*pp)->queue_next;
    *pp = t->queue_next;
    if (s->queue_tail == &t->queue_next)
        s->queue_tail = pp;
    t->queue_next = NULL;
    t->queued = 0;
    s->n_queued--;
}

/* Takes t out of every list and closes its watch; t itself is freed in
 * the close callback, so a caller may still look at it (t->freed) until
 * it returns to the loop. */
static void free_tracked(tracked *t)
{
    struct sources *s = t->src;
    uint32_t id;
    if (t->freed)
        return;
    t->freed = 1;
    tracked **pp = &s->list;
    while (*pp != t)
        pp = &(*pp)->next;
    *pp = t->next;
    s->n_tracked--;
    unqueue(t);
    if (t->open)
        s->n_open--;
    if (t->path != NULL && name_id(s, t->path, &id) == 0 && s->holder[id] == t)
        s->holder[id] = NULL;
    if (t->reg != NULL) {
        t->reg->active = 0;
        t->reg->user = NULL;
    }
    uv_close((uv_handle_t *)&t->watch, on_watch_closed);
}

/* Stops reading t: done is the state its registry entry keeps (DONE, or
 * FOLLOWING when it is to be found again). */
static void retire(tracked *t, int state)
{
    if (t->reg != NULL)
        t->reg->state = state;
    t->drop = 1;
    if (!t->busy)
        free_tracked(t);
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    tracked *t = h->data;
    (void)name;
    (void)status;
    if (events & UV_RENAME)
        request_scan(t->src, RESCAN_SOON_MS);
    schedule(t);
}

static void start_watch(tracked *t)
{
    if (!t->watching && uv_fs_event_start(&t->watch, on_fs_event, t->path, 0) == 0)
        t->watching = 1;
}

static void stop_watch(tracked *t)
{
    if (t->watching) {
        uv_fs_event_stop(&t->watch);
        t->watching = 0;
    }
}

/* Compiles t's format, named by a pattern's format key (not while a job
 * runs); its parsers are made anew for the next job. */
static int compile_format(tracked *t, const char *spec)
{
    struct sources *s = t->src;
    char err[256];
    lt_format_opts opts;
    const char *fmt = spec;
    memset(&opts, 0, sizeof(opts));
    for (size_t i = 0; i < s->n_pats; i++)
        if (strcmp(s->pats[i].format_spec, spec) == 0) {
            fmt = s->pats[i].format;
            if (s->pats[i].conf >= 0)
                lt_source_format_opts(&s->d->config->sources[s->pats[i].conf], &opts);
            break;
        }
    lt_format *f = lt_format_new_with(fmt, &opts, err, sizeof(err));
    char *copy = strdup(spec);
    if (f == NULL || copy == NULL) {
        lt_format_free(f);
        free(copy);
        return -ENOMEM;    /* formats were checked when the configuration loaded */
    }
    free_readers(t);
    lt_format_free(t->format);
    free(t->format_spec);
    t->format = f;
    t->format_spec = copy;
    return 0;
}

/* Starts reading the file of registry entry e, found at path. */
static tracked *add_tracked(struct sources *s, lt_reg_entry *e, const char *path, size_t pat,
                            const char *format_spec, uint64_t rotate_wait_ms, int finishing)
{
    tracked *t = calloc(1, sizeof(*t));
    uint32_t id;
    if (t == NULL || name_id(s, path, &id) < 0)
        goto fail;
    t->src = s;
    t->reg = e;
    t->dev = e->dev;
    t->ino = e->ino;
    t->id = id;
    t->pat = pat;
    t->gz = e->gz;
    t->rotate_wait_ms = rotate_wait_ms;
    t->finishing = finishing;
    t->grew_ms = t->active_ms = uv_now(s->d->loop);
    if (compile_format(t, format_spec) < 0)
        goto fail;
    /* The new file at a path where another was read: a rotation. */
    tracked *before = s->holder[id];
    if (before != NULL && before != t && e->rotations <= before->reg->rotations)
        e->rotations = before->reg->rotations + 1;
    set_path(t, path);
    if (t->path == NULL)
        goto fail;
    t->info.path = t->path;
    t->info.dev = e->dev;
    t->info.ino = e->ino;
    t->info.offset = e->offset;
    t->info.size = e->size;
    t->info.lines = e->lines;
    t->info.malformed = e->malformed;
    t->info.truncations = e->truncations;
    e->active = 1;
    e->user = t;
    e->state = LT_REG_FOLLOWING;
    uv_fs_event_init(s->d->loop, &t->watch);
    t->watch.data = t;
    t->next = s->list;
    s->list = t;
    s->n_tracked++;
    schedule(t);
    return t;

fail:
    if (t != NULL) {
        lt_format_free(t->format);
        free(t->format_spec);
        free(t->path);
        free(t);
    }
    daemon_log(LOG_ERR_, "%s: out of memory; not followed", path);
    return NULL;
}

/* Copies the follower's state after a job into the registry entry (the
 * checkpoint's position of the file), keeping a ghost of a content that a
 * truncation cut off. */
static void sync_entry(tracked *t, uint64_t truncations_before)
{
    lt_reg_entry *e = t->reg;
    const lt_follow_info *i = &t->info;
    if (i->truncations > truncations_before &&
        lt_registry_ghost(t->src->reg, e, i->cut.fp_len, i->cut.fp_hash, i->cut.offset,
                          i->cut.lines, i->cut.malformed) < 0)
        daemon_log(LOG_ERR_, "%s: out of memory; a copy of its old content may be counted again",
                   t->path);
    e->offset = i->offset;
    e->size = i->size >= i->offset ? i->size : i->offset;
    e->lines = i->lines;
    e->malformed = i->malformed;
    e->truncations = i->truncations;
    if (i->fp_len > 0)
        lt_registry_set_fp(t->src->reg, e, i->fp_len, i->fp_hash);
}

/* --- jobs ---------------------------------------------------------------- */

/* A .gz: the whole stream after the bytes already read, or nothing. */
static void gz_job(tracked *t)
{
    struct stat st;
    int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        t->rc = -errno;
        snprintf(t->err, sizeof(t->err), "%s: %s", t->path, strerror(errno));
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_dev != t->dev ||
        (uint64_t)st.st_ino != t->ino) {
        close(fd);
        t->rc = -ESTALE;
        snprintf(t->err, sizeof(t->err), "%s: another file than expected", t->path);
        return;
    }
    t->delta = lt_tally_new(lt_tally_limits(t->src->d->tally));
    if (t->delta == NULL) {
        close(fd);
        t->rc = -ENOMEM;
        snprintf(t->err, sizeof(t->err), "%s: out of memory", t->path);
        return;
    }
    t->rc = lt_gz_count(fd, t->path, t->start_offset, t->start_lines, t->delta, t->parser, t->id,
                        &t->gz_total, &t->gz_lines, t->err, sizeof(t->err));
}

/* A file whose lines so far are all malformed: which built-in format
 * would parse its first lines (on the pool, in t's job). */
static void find_hint(tracked *t)
{
    enum { HEAD = 256 * 1024 };
    char *buf = malloc(HEAD);
    int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    ssize_t got = buf != NULL && fd >= 0 ? pread(fd, buf, HEAD, 0) : -1;
    lt_detection det = {0};
    t->hinted = 1;
    if (got > 0 && lt_format_detect(buf, (size_t)got, &det) == 0 && det.name != NULL &&
        strcmp(det.name, t->format_spec) != 0)
        snprintf(t->hint, sizeof(t->hint), "these lines parse as %s (%zu of the first %zu)",
                 det.name, det.valid, det.tried);
    if (fd >= 0)
        close(fd);
    free(buf);
}

/* On the thread pool: touches only t's follower, parser and job fields. */
static void job_run(uv_work_t *w)
{
    daemon_pool_thread();
    tracked *t = w->data;
    lt_follow_info info;

    t->err[0] = '\0';
    t->consumed = 0;
    t->more = 0;
    t->rc = 0;
    t->delta = NULL;
    if (t->gz) {
        gz_job(t);
        return;
    }
    if (t->follow == NULL) {
        if ((t->follow = lt_follow_new(t->path, t->id)) == NULL) {
            t->rc = -ENOMEM;
            snprintf(t->err, sizeof(t->err), "%s: out of memory", t->path);
            return;
        }
        t->rc = lt_follow_open_file(t->follow, t->start_offset, t->dev, t->ino, t->err,
                                    sizeof(t->err));
        if (t->rc < 0) {
            lt_follow_free(t->follow);
            t->follow = NULL;
            return;
        }
        lt_follow_resume_counts(t->follow, t->start_lines, t->start_malformed,
                                t->start_truncations);
        lt_follow_resume_fingerprint(t->follow, t->start_fp_len, t->start_fp_hash);
    }
    /* A backlog, read on every reader thread by the engine `analyze`
     * uses (lib/ingest.c): backlog_done() takes it. */
    if (t->try_backlog && lt_follow_plan(t->follow, BACKLOG_BYTES, BACKLOG_MIN, &t->part)) {
        t->in_backlog = 1;
        if ((t->delta = lt_tally_new(lt_tally_limits(t->src->d->tally))) == NULL) {
            t->rc = -ENOMEM;
            snprintf(t->err, sizeof(t->err), "%s: out of memory", t->path);
            return;
        }
        t->rc = lt_follow_read_part(t->follow, &t->part, t->delta, t->format, t->readers, t->err,
                                    sizeof(t->err));
        return;
    }
    lt_follow_info_get(t->follow, &info);
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
    lt_follow_info_get(t->follow, &info);
    if (!t->hinted && info.lines >= 20 && info.malformed == info.lines)
        find_hint(t);
}

static void keep_samples(tracked *t, const lt_tally *delta)
{
    lt_sample got[LT_SAMPLES];
    size_t n = lt_tally_samples(delta, got);
    for (size_t i = 0; i < n; i++)
        t->samples[t->n_samples++ % LT_SAMPLES] = got[i];
}

static void merge_delta(tracked *t, lt_tally *delta)
{
    if (delta == NULL)
        return;
    keep_samples(t, delta);
    commit_add(t->src->d, delta);
}

/* Every job has ended and been merged: the daemon's last word (the final
 * checkpoint, with every file's position), then the entries go. */
static void finish_stop(struct sources *s)
{
    if (!commit_idle(s->d)) {
        s->stop_waiting = 1;    /* sources_committed() goes on */
        return;
    }
    s->stop_waiting = 0;
    void (*done)(lt_daemon *d) = s->on_stopped;
    s->on_stopped = NULL;
    if (done != NULL)
        done(s->d);
    while (s->list != NULL)
        free_tracked(s->list);
}

/* After a job or the parts of one: stopping, dropping, or reading on. */
static void after_job(tracked *t, int more)
{
    struct sources *s = t->src;
    if (t->freed) {
        if (s->stopping && s->jobs == 0)
            finish_stop(s);
        return;
    }
    if (t->new_format != NULL) {
        if (compile_format(t, t->new_format) < 0)
            daemon_log(LOG_ERR_, "%s: out of memory; keeping its old format", t->path);
        free(t->new_format);
        t->new_format = NULL;
    }
    if (s->stopping) {
        if (s->jobs == 0)
            finish_stop(s);
        return;
    }
    if (t->drop) {
        free_tracked(t);
        return;
    }
    if (more || t->again) {
        t->again = 0;
        schedule(t);
    }
    if (!t->busy)
        free_readers(t);    /* idle: a few hundred bytes and a descriptor */
    if (s->queue != NULL)
        balance(s);
}

static void gz_done(tracked *t, int rc, const char *err)
{
    lt_reg_entry *e = t->reg;
    if (rc == 0) {
        merge_delta(t, t->delta);
        t->delta = NULL;
        e->offset = e->size = t->gz_total > e->offset ? t->gz_total : e->offset;
        e->lines += t->gz_lines;
        t->info.offset = t->info.size = e->offset;
        t->info.lines = e->lines;
        if (t->logged_error)
            daemon_log(LOG_INFO_, "%s: complete now, read", t->path);
        retire(t, LT_REG_DONE);
        return;
    }
    /* Unfinished or damaged: nothing of it counts; it is read again, whole,
     * when its size changes. */
    lt_tally_free(t->delta);
    t->delta = NULL;
    t->gz_incomplete = 1;
    if (rc == -ENOENT || rc == -ESTALE) {
        retire(t, LT_REG_DONE);
        return;
    }
    if (!t->logged_error) {
        daemon_log(LOG_WARNING_, "%s; not counted until it is whole (read again when it changes)",
                   err);
        t->logged_error = 1;
    }
}

static void backlog_done(tracked *t);

/* On the loop thread, after job_run. */
static void job_done(uv_work_t *w, int status)
{
    tracked *t = w->data;
    struct sources *s = t->src;
    lt_daemon *d = s->d;
    uint64_t now = uv_now(d->loop);

    if (t->try_backlog) {
        t->try_backlog = 0;
        s->backlog_jobs--;
    }
    if (status == 0 && t->in_backlog) {
        t->in_backlog = 0;
        backlog_done(t);
        return;
    }

    lt_tally *delta = t->delta;
    int rc = status == 0 ? t->rc : -ECANCELED, more = t->more, final = t->job_final;
    int64_t consumed = t->consumed;
    char err[sizeof(t->err)];
    memcpy(err, t->err, sizeof(err));

    t->busy = 0;
    t->delta = NULL;
    t->plain_next = 0;
    s->jobs--;
    d->generation++;
    uint64_t read_before_ms = t->active_ms;
    t->active_ms = now;
    if (t->gz) {
        t->delta = delta;
        if (status == 0)
            gz_done(t, rc, err);
        else
            lt_tally_free(delta), t->delta = NULL;
        after_job(t, 0);
        return;
    }
    if (t->follow == NULL) {
        /* Could not be opened: gone, renamed since it was found, or no
         * longer a regular file.  The registry keeps its position; the
         * next scan finds it again (among its siblings when no pattern
         * names it). */
        if (rc == -ESTALE || rc == -ENOENT) {
            retire(t, LT_REG_FOLLOWING);
            request_scan(s, RESCAN_SOON_MS);
        } else if (rc < 0) {
            if (!t->logged_error)
                daemon_log(LOG_WARNING_, "%s", err);
            t->logged_error = 1;
            retire(t, LT_REG_FOLLOWING);
        }
        lt_tally_free(delta);
        after_job(t, 0);
        return;
    }
    uint64_t truncations = t->info.truncations;
    lt_follow_info_get(t->follow, &t->info);
    sync_entry(t, truncations);
    if (t->info.truncations > truncations) {
        daemon_log(LOG_INFO_, "%s: truncated (copytruncate); reading it again from the start",
                   t->path);
        /* Lines written just before the copy was taken are only in the
         * copy now: it continues the content that was cut off (a ghost in
         * the registry), whether or not a pattern names it. */
        if (t->pat < s->n_pats && strpbrk(s->pats[t->pat].spec, "*?[") == NULL) {
            add_family(s, s->pats[t->pat].spec, wall_ms() - (int64_t)(now - read_before_ms) - 1000);
            request_scan(s, RESCAN_SOON_MS);
        }
    }
    merge_delta(t, delta);
    if (rc < 0 && rc != -ECANCELED && !t->logged_error) {
        daemon_log(LOG_WARNING_, "%s", err);
        t->logged_error = 1;
    } else if (rc == 0) {
        t->logged_error = 0;
        start_watch(t);
    }
    if (consumed > 0)
        t->grew_ms = now;
    if (t->hint[0] != '\0') {
        daemon_log(LOG_WARNING_, "%s: 0 valid lines of %llu; %s: set its format", t->path,
                   (unsigned long long)t->info.lines, t->hint);
        t->hint[0] = '\0';
    }
    if (final && rc == 0 && !more) {
        t->info.size = t->info.offset;
        retire(t, LT_REG_DONE);
        daemon_log(LOG_INFO_, "%s: finished at byte %llu", t->path,
                   (unsigned long long)t->info.offset);
    }
    after_job(t, more && rc == 0);
}

/* --- a backlog on every reader thread ----------------------------------- */

/* On the loop thread, after a job that read a backlog part: moves the follower past what was
 * read and queues its tally. */
static void backlog_done(tracked *t)
{
    struct sources *s = t->src;
    lt_daemon *d = s->d;
    lt_tally *delta = t->delta;
    int rc = t->rc;

    t->delta = NULL;
    s->jobs--;
    uint64_t truncations = t->info.truncations, lines_before = t->info.lines;
    /* Advance first, so the next read can start while this one merges. */
    int r = rc == 0 && delta != NULL ? lt_follow_advance(t->follow, &t->part) : -1;
    if (rc < 0 && rc != -ECANCELED && !t->logged_error) {
        daemon_log(LOG_WARNING_, "%s", t->err);
        t->logged_error = 1;
    }
    if (r < 0) {
        lt_tally_free(delta);
        delta = NULL;
    } else {
        lt_tally_shift_lines(delta, t->id, lines_before);
        s->parts_read++;
    }
    lt_follow_info_get(t->follow, &t->info);
    sync_entry(t, truncations);
    d->generation++;
    t->busy = 0;
    t->grew_ms = t->active_ms = uv_now(d->loop);
    /* A read that stopped early (a partial line, a truncation, an error)
     * is taken up by a plain job, which waits for the line or sees the
     * truncation; after an error that is the poll's next round, not at
     * once. */
    t->plain_next = r != 1;
    if (rc == 0) {
        t->logged_error = 0;
        start_watch(t);
    }
    merge_delta(t, delta);
    /* The next read is queued by after_job(), once a reload's new format
     * (if any) has replaced the old one: never under a job using it. */
    after_job(t, rc == 0);
}

/* --- jobs that end while a checkpoint waits ---------------------------- */

static size_t job_limit(const struct sources *s);

/* A job's end moves its file's position and queues its tally for a merge;
 * while a checkpoint waits for the merges in flight (d->draining, see
 * commit.c), the end waits here instead, job and position together, so
 * the checkpoint's positions and counts are one instant.  Each waiting job
 * is still counted in s->jobs, so their number is held to job_limit(). */
static void end_or_wait(struct sources *s, uv_work_t *w, int status,
                        void (*fn)(uv_work_t *w, int status))
{
    if (!s->d->draining && s->n_ended == 0) {
        fn(w, status);
        return;
    }
    if (s->n_ended == s->cap_ended) {
        size_t cap = s->cap_ended ? 2 * s->cap_ended : job_limit(s) + 1;
        struct ended *e = realloc(s->ended, cap * sizeof(*e));
        if (e == NULL) {
            /* Ended now, its tally queues too: the checkpoint waits for
             * it as well. */
            fn(w, status);
            return;
        }
        s->ended = e;
        s->cap_ended = cap;
    }
    s->ended[s->n_ended++] = (struct ended){w, status, fn};
}

static void job_ended(uv_work_t *w, int status)
{
    end_or_wait(((tracked *)w->data)->src, w, status, job_done);
}

void sources_committed(lt_daemon *d)
{
    struct sources *s = d->sources;
    if (s == NULL)
        return;
    if (s->stop_waiting)
        finish_stop(s);
    else if (s->queue != NULL)
        balance(s);
}

void sources_thaw(lt_daemon *d)
{
    struct sources *s = d->sources;
    /* In the order they ended; one may end the daemon's stop, and each
     * may queue more jobs, which end later. */
    size_t i = 0;
    while (i < s->n_ended && !d->draining) {
        struct ended e = s->ended[i++];
        e.fn(e.w, e.status);
    }
    /* One of them asked for a checkpoint (the first after the initial
     * ingest): the rest wait for that one. */
    if (i > 0 && i < s->n_ended)
        memmove(s->ended, s->ended + i, (s->n_ended - i) * sizeof(*s->ended));
    s->n_ended -= i;
}

/* --- scheduling ---------------------------------------------------------- */

/* Read jobs in flight at most: enough to keep every pool thread busy. */
static size_t job_limit(const struct sources *s)
{
    return 2 * (size_t)(s->d->pool_threads ? s->d->pool_threads : 4);
}

/* Tallies held for the live one: jobs in flight (each fills one), and
 * those ended and waiting for a merge or in it.  New jobs wait while
 * these reach job_limit(), so reads that outrun the merges cannot pile
 * up tallies (sources_committed() starts them again). */
static size_t tallies_held(const struct sources *s)
{
    return s->jobs + s->d->commit.held;
}

static void enqueue(tracked *t)
{
    struct sources *s = t->src;
    if (t->queued)
        return;
    t->queued = 1;
    t->queue_next = NULL;
    *s->queue_tail = t;
    s->queue_tail = &t->queue_next;
    s->n_queued++;
}

static void schedule(tracked *t)
{
    struct sources *s = t->src;
    uint64_t now = uv_now(s->d->loop);
    if (s->stopping || t->drop)
        return;
    if (t->busy) {
        t->again = 1;
        return;
    }
    if (t->gz && (t->gz_incomplete || now - t->gz_since_ms < GZ_STABLE_MS))
        return;    /* the scan says when its size is stable, or changed */
    /* In turn: over the descriptor budget, with jobs enough in flight
     * (each holds a tally until it is merged), or behind others waiting. */
    if ((!t->open && s->n_open >= s->fd_budget) || tallies_held(s) >= job_limit(s) ||
        (s->queue != NULL && s->queue != t)) {
        enqueue(t);
        return;
    }
    unqueue(t);
    if (!t->open) {
        t->open = 1;
        s->n_open++;
    }
    if (t->follow == NULL) {
        /* Where the job starts, claimed here on the loop. */
        lt_reg_entry *e = t->reg;
        t->start_offset = e->offset;
        t->start_lines = e->lines;
        t->start_malformed = e->malformed;
        t->start_truncations = e->truncations;
        t->start_fp_len = e->fp_len;
        t->start_fp_hash = e->fp_hash;
    }
    if (t->parser == NULL && (t->parser = lt_parser_new(t->format)) == NULL) {
        daemon_log(LOG_ERR_, "%s: out of memory; read later", t->path);
        return;
    }
    t->job_final = t->finishing && now - t->grew_ms >= t->rotate_wait_ms;
    t->job_bytes = JOB_BYTES;
    /* One backlog at a time: each takes every reader thread, and a tally
     * of up to BACKLOG_BYTES of lines. */
    t->try_backlog = !t->gz && !t->job_final && !t->plain_next && s->backlog_jobs == 0;
    t->in_backlog = 0;
    unsigned readers = daemon_readers(s->d);
    t->readers = readers > 64 ? 64 : readers;
    t->work.data = t;
    if (uv_queue_work(s->d->loop, &t->work, job_run, job_ended) == 0) {
        t->busy = 1;
        s->jobs++;
        s->backlog_jobs += (unsigned)t->try_backlog;
    } else {
        t->try_backlog = 0;
    }
}

/* Closes the descriptor of an idle file, to make room for a queued one;
 * its position is in the registry, and the scan sees it grow. */
static void close_idle(tracked *t)
{
    struct sources *s = t->src;
    stop_watch(t);
    lt_follow_free(t->follow);
    t->follow = NULL;
    free_readers(t);
    t->open = 0;
    s->n_open--;
}

/* Starts queued files in turn while jobs may be queued: with free
 * descriptors first, then with those of the files read longest ago that
 * have nothing to read. */
static void balance(struct sources *s)
{
    while (s->queue != NULL && !s->stopping && tallies_held(s) < job_limit(s)) {
        if (s->queue->open || s->n_open < s->fd_budget) {
            tracked *t = s->queue;
            if (t->busy || t->drop) {
                unqueue(t);
                continue;
            }
            schedule(t);    /* at the head of the queue: takes the room */
            if (t->queued)
                break;
            continue;
        }
        tracked *idle = NULL;
        for (tracked *t = s->list; t != NULL; t = t->next)
            if (t->open && !t->busy && t->follow != NULL && !t->finishing && !t->gz && !t->drop &&
                t->info.offset >= t->info.size && (idle == NULL || t->active_ms < idle->active_ms))
                idle = t;
        if (idle == NULL)
            break;
        close_idle(idle);
    }
}

/* Files that inotify does not wake (finishing, unwatched) and .gz files
 * waiting for a stable size are looked at every POLL_MS. */
static void on_poll(uv_timer_t *timer)
{
    struct sources *s = timer->data;
    uint64_t now = uv_now(s->d->loop);
    for (tracked *t = s->list; t != NULL; t = t->next) {
        if (t->busy || t->drop || t->queued)
            continue;
        if (t->gz ? !t->gz_incomplete && now - t->gz_since_ms >= GZ_STABLE_MS
                  : t->open && (t->finishing || !t->watching))
            schedule(t);
    }
}

/* --- the scan ------------------------------------------------------------ */

static void scan_work(uv_work_t *w)
{
    daemon_pool_thread();
    struct sources *s = w->data;
    scan_run(&s->sc);
}

static void scan_done(uv_work_t *w, int status);

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks the next scan for the rotated siblings of a plain path changed
 * since since_ms (rotations that were not seen happen). */
static void add_family(struct sources *s, const char *path, int64_t since_ms)
{
    for (size_t i = 0; i < s->n_families; i++)
        if (strcmp(s->families[i].path, path) == 0) {
            if (since_ms < s->families[i].since_ms)
                s->families[i].since_ms = since_ms;
            return;
        }
    scan_family *f = realloc(s->families, (s->n_families + 1) * sizeof(*f));
    if (f == NULL)
        return;
    s->families = f;
    if ((f[s->n_families].path = strdup(path)) == NULL)
        return;
    f[s->n_families++].since_ms = since_ms;
}

static char *dup_or_null(const char *p)
{
    return p ? strdup(p) : NULL;
}

/* Fills the scan's input (copies: the scan owns them) and queues it. */
static void start_scan(struct sources *s)
{
    scan *sc = &s->sc;
    lt_daemon *d = s->d;
    if (s->scanning || s->stopping)
        return;
    memset(sc, 0, sizeof(*sc));
    sc->patterns = calloc(s->n_pats ? s->n_pats : 1, sizeof(char *));
    size_t n_reg = lt_registry_count(s->reg);
    sc->skip = calloc(n_reg + 1, sizeof(*sc->skip));
    sc->lost = calloc(n_reg + 1, sizeof(*sc->lost));
    if (sc->patterns == NULL || sc->skip == NULL || sc->lost == NULL)
        goto nomem;
    for (size_t i = 0; i < s->n_pats; i++) {
        if ((sc->patterns[i] = strdup(s->pats[i].spec)) == NULL)
            goto nomem;
        sc->n_patterns++;
    }
    sc->own[0] = dup_or_null(d->state_path);
    sc->own[1] = dup_or_null(d->config->socket);
    for (size_t i = 0; i < n_reg; i++) {
        const lt_reg_entry *e = lt_registry_at(s->reg, i);
        if (e->state == LT_REG_GHOST)
            continue;
        if (e->active || e->state == LT_REG_DONE) {
            scan_skip *k = &sc->skip[sc->n_skip++];
            k->dev = e->dev;
            k->ino = e->ino;
            /* A finished file is looked at again when its size changes. */
            k->size = e->active ? UINT64_MAX : e->size;
        } else if ((sc->lost[sc->n_lost].path = strdup(e->path)) != NULL) {
            sc->lost[sc->n_lost].dev = e->dev;
            sc->lost[sc->n_lost].ino = e->ino;
            sc->n_lost++;
        }
    }
    scan_sort_skip(sc);
    sc->families = s->families;
    sc->n_families = s->n_families;
    s->families = NULL;
    s->n_families = 0;
    s->prev_scan_wall_ms = s->scan_wall_ms;
    s->scan_wall_ms = wall_ms();
    s->scan_gen = s->pat_gen;
    s->scan_work.data = s;
    if (uv_queue_work(d->loop, &s->scan_work, scan_work, scan_done) == 0) {
        s->scanning = 1;
        return;
    }
nomem:
    scan_clear(sc);
    daemon_log(LOG_ERR_, "out of memory; files not looked for this time");
}

static void on_rescan(uv_timer_t *timer)
{
    struct sources *s = timer->data;
    if (s->scanning) {
        s->scan_again = 1;
        return;
    }
    start_scan(s);
    uv_timer_start(&s->rescan, on_rescan, RESCAN_MS, 0);
}

static void request_scan(struct sources *s, uint64_t delay_ms)
{
    if (s->stopping)
        return;
    if (s->scanning) {
        s->scan_again = 1;
        return;
    }
    if (!uv_is_active((uv_handle_t *)&s->rescan) || uv_timer_get_due_in(&s->rescan) > delay_ms)
        uv_timer_start(&s->rescan, on_rescan, delay_ms, 0);
}

static void free_seen(struct sources *s)
{
    for (size_t i = 0; i < s->n_seen; i++)
        free(s->seen[i].path);
    free(s->seen);
    s->seen = NULL;
    s->n_seen = 0;
}

/* Remembers for /v1/sources what the scan found that is not being read,
 * and says once when a name starts being refused. */
static void note_seen(struct sources *s, const struct seen *old, size_t n_old, const found *f,
                      size_t *cap)
{
    if (f->kind == FOUND_REFUSED) {
        int known = 0;
        for (size_t i = 0; i < n_old && !known; i++)
            known = old[i].kind == FOUND_REFUSED && strcmp(old[i].path, f->path) == 0;
        if (!known)
            daemon_log(LOG_WARNING_, "%s: not read: %s", f->path, f->reason);
    }
    if (s->n_seen == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct seen *v = realloc(s->seen, nc * sizeof(*v));
        if (v == NULL)
            return;
        s->seen = v;
        *cap = nc;
    }
    struct seen *e = &s->seen[s->n_seen];
    if ((e->path = strdup(f->path)) == NULL)
        return;
    e->kind = f->kind;
    snprintf(e->reason, sizeof(e->reason), "%s", f->reason);
    e->dev = f->dev;
    e->ino = f->ino;
    s->n_seen++;
}

/* A file the scan read the start of, not being read: what the registry
 * says of it decides whether and where reading starts. */
static void consider(struct sources *s, const found *f, int64_t now_s)
{
    const struct pattern *p = f->pattern < s->n_pats ? &s->pats[f->pattern] : NULL;
    lt_reg_probe probe = {f->dev, f->ino, f->size, f->gz, f->head, f->head_len};
    lt_reg_entry *known = lt_registry_find(s->reg, f->dev, f->ino);
    int was_done = known != NULL && known->state == LT_REG_DONE;
    int was_following = known != NULL && known->state == LT_REG_FOLLOWING;
    lt_reg_entry *e;
    int v = lt_registry_resolve(s->reg, &probe, f->path, now_s, &e);

    if (v < 0) {
        daemon_log(LOG_ERR_, "%s: out of memory; not followed", f->path);
        return;
    }
    if (v == LT_REG_WAIT || v == LT_REG_SKIP)
        return;
    if (p == NULL && v == LT_REG_NEW && !f->sibling) {
        /* A sibling that is no file of ours: left alone. */
        lt_registry_remove(s->reg, e);
        return;
    }
    /* A finished file found again: read on only when it grew (a glob
     * naming rotated files), or when it is a plain path's file. */
    if (was_done && v == LT_REG_SAME && (p == NULL || f->glob) && !e->gz && f->size <= e->offset) {
        e->state = LT_REG_DONE;
        return;
    }
    const char *fmt = p ? p->format_spec : NULL;
    uint64_t wait = p ? p->rotate_wait_ms : LT_ROTATE_WAIT_MS;
    if (fmt == NULL) {
        /* Found as a sibling: read with the format of the pattern whose
         * directory it is in, or the first one's. */
        fmt = s->n_pats ? s->pats[0].format_spec : "combined";
        wait = s->n_pats ? s->pats[0].rotate_wait_ms : LT_ROTATE_WAIT_MS;
    }
    if (v == LT_REG_CONTINUES)
        daemon_log(LOG_INFO_, "%s: continues a file already read up to byte %llu", f->path,
                   (unsigned long long)e->offset);
    else if (v == LT_REG_SAME && e->offset > 0)
        daemon_log(LOG_INFO_, "%s: resuming at byte %llu", f->path, (unsigned long long)e->offset);
    int finishing = p == NULL || (was_done && f->glob);
    tracked *t = add_tracked(s, e, f->path, f->pattern, fmt, wait, finishing);
    if (t == NULL)
        return;
    t->named = p != NULL;
    t->at_path = p == NULL ? 0 : f->glob ? 1 : 2;
    /* A file found after the daemon was down: quiet since its last change. */
    if (was_following && f->mtime_ms > 0) {
        int64_t age = (int64_t)time(NULL) * 1000 - f->mtime_ms;
        uint64_t now = uv_now(s->d->loop);
        t->grew_ms = age > 0 && (uint64_t)age < now ? now - (uint64_t)age : 0;
    }
    if (t->gz) {
        t->gz_size = f->size;
        t->gz_since_ms = uv_now(s->d->loop);
    }
}

static void scan_done(uv_work_t *w, int status)
{
    struct sources *s = w->data;
    scan *sc = &s->sc;
    uint64_t now = uv_now(s->d->loop);
    int64_t now_s = (int64_t)time(NULL);

    s->scanning = 0;
    if (status != 0 || s->stopping) {
        scan_clear(sc);
        return;
    }
    struct seen *old = s->seen;
    size_t n_old = s->n_seen, cap = 0;
    s->seen = NULL;
    s->n_seen = 0;
    for (tracked *t = s->list; t != NULL; t = t->next)
        t->named = 0;

    /* Names of files being read first: they say which files are still
     * where they were, under which other name, and which grew. */
    for (tracked *t = s->list; t != NULL; t = t->next) {
        t->at_path = 0;
        t->alt = NULL;
    }
    for (size_t i = 0; i < sc->n_found; i++) {
        found *f = &sc->found[i];
        if (f->kind != FOUND_FILE) {
            note_seen(s, old, n_old, f, &cap);
            continue;
        }
        lt_reg_entry *e = lt_registry_find(s->reg, f->dev, f->ino);
        if (e == NULL || !e->active || f->pattern == SIZE_MAX)
            continue;
        tracked *t = e->user;
        if (strcmp(f->path, t->path) == 0)
            t->at_path = f->glob ? 1 : 2;
        else if (t->alt == NULL)
            t->alt = f->path;
        if (!t->named) {
            t->named = 1;
            t->pat = f->pattern;
            t->rotate_wait_ms = s->pats[f->pattern].rotate_wait_ms;
            const char *fmt = s->pats[f->pattern].format_spec;
            if (strcmp(fmt, t->format_spec) != 0 &&
                (t->new_format == NULL || strcmp(t->new_format, fmt) != 0)) {
                daemon_log(LOG_INFO_, "%s: format %s from byte %llu on", t->path,
                           s->pats[f->pattern].format, (unsigned long long)t->info.offset);
                free(t->new_format);
                t->new_format = NULL;
                if (t->busy)
                    t->new_format = strdup(fmt);    /* applied when the job ends */
                else if (compile_format(t, fmt) < 0)
                    daemon_log(LOG_ERR_, "%s: out of memory; keeping its old format", t->path);
            }
        }
        if (t->gz && f->size != t->gz_size) {
            t->gz_size = f->size;
            t->gz_since_ms = now;
            t->gz_incomplete = 0;
        }
        if (!t->gz && f->size != t->info.offset)
            schedule(t);
    }
    /* New files, and known files found again. */
    for (size_t i = 0; i < sc->n_found; i++) {
        const found *f = &sc->found[i];
        if (f->kind != FOUND_FILE)
            continue;
        lt_reg_entry *e = lt_registry_find(s->reg, f->dev, f->ino);
        if (e != NULL && e->active)
            continue;
        if (e != NULL)
            e->seen = now_s;
        if (f->probed)
            consider(s, f, now_s);
        e = lt_registry_find(s->reg, f->dev, f->ino);
        if (e != NULL && !e->active && e->state == LT_REG_DONE && f->pattern != SIZE_MAX) {
            found done = *f;
            done.kind = FOUND_FILE;
            note_seen(s, old, n_old, &done, &cap);
        }
    }
    /* Files no longer at their path: renamed away, deleted, or no longer
     * named after a reload. */
    int reloaded = s->reloaded && s->scan_gen == s->pat_gen;
    for (tracked *t = s->list, *next; t != NULL; t = next) {
        next = t->next;
        if (t->drop || t->pat == SIZE_MAX)
            continue;
        if (t->at_path) {
            if (t->finishing && t->at_path == 2 && !t->gz) {
                daemon_log(LOG_INFO_, "%s: back at its path; following it again", t->path);
                t->finishing = 0;
            }
            continue;
        }
        if (reloaded && !t->named) {
            daemon_log(LOG_INFO_, "%s: no longer a source; stopped at byte %llu", t->path,
                       (unsigned long long)t->info.offset);
            retire(t, LT_REG_DONE);
            continue;
        }
        if (t->gz)
            continue;
        if (!t->finishing) {
            t->finishing = 1;
            t->grew_ms = now;
            /* Another rotation may have come and gone since the last scan:
             * its file is among the siblings. */
            if (t->pat < s->n_pats && strpbrk(s->pats[t->pat].spec, "*?[") == NULL)
                add_family(s, s->pats[t->pat].spec,
                           (s->prev_scan_wall_ms ? s->prev_scan_wall_ms : s->scan_wall_ms) - 1000);
            daemon_log(LOG_INFO_, "%s: rotated; finishing the old file (quiet for %llu ms), "
                       "following the new one", t->path, (unsigned long long)t->rotate_wait_ms);
            if (t->open && !t->busy)
                schedule(t);
        }
        if (t->alt != NULL)
            set_path(t, t->alt);
    }
    if (reloaded)
        s->reloaded = 0;
    /* Files of the checkpoint looked for and not found anywhere: the one
     * case that cannot be counted. */
    for (size_t i = 0; i < sc->n_lost; i++) {
        lt_reg_entry *e = lt_registry_find(s->reg, sc->lost[i].dev, sc->lost[i].ino);
        if (e == NULL || e->active || e->state != LT_REG_FOLLOWING)
            continue;
        daemon_log(LOG_WARNING_,
                   "%s (inode %llu): not found again (deleted while not being read?); lines "
                   "written to it after byte %llu cannot be counted",
                   e->path, (unsigned long long)e->ino, (unsigned long long)e->offset);
        e->state = LT_REG_DONE;
    }
    size_t gone = lt_registry_expire(s->reg, now_s, FORGET_AFTER_S, REGISTRY_MAX);
    if (gone > 0)
        daemon_log(LOG_DEBUG_, "%zu finished files forgotten", gone);
    for (size_t i = 0; i < n_old; i++)
        free(old[i].path);
    free(old);
    scan_clear(sc);
    s->first_scan_done = 1;
    s->d->generation++;
    if (s->queue != NULL)
        balance(s);
    /* The first catch-up ended: checkpoint at once, not a whole interval
     * later. */
    if (!s->initial_done) {
        ingest_progress p;
        sources_progress(s->d, &p);
        if (!p.catching_up && s->n_queued == 0) {
            int busy = 0;
            for (tracked *t = s->list; t != NULL && !busy; t = t->next)
                busy = t->busy;
            if (!busy) {
                s->initial_done = 1;
                daemon_checkpoint(s->d);
            }
        }
    }
    if (s->scan_again) {
        s->scan_again = 0;
        request_scan(s, RESCAN_SOON_MS);
    }
}

/* --- directories of the patterns, watched for new and renamed files ----- */

static void on_dir_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    struct watched_dir *w = h->data;
    (void)name;
    (void)status;
    if (events & UV_RENAME)
        request_scan(w->src, RESCAN_SOON_MS);
}

static void on_dir_closed(uv_handle_t *h)
{
    struct watched_dir *w = h->data;
    free(w->dir);
    free(w);
}

static void watch_dirs(struct sources *s)
{
    for (struct watched_dir *w = s->dirs; w != NULL; w = w->next)
        w->keep = 0;
    for (size_t i = 0; i < s->n_pats; i++) {
        char dir[4096];
        const char *spec = s->pats[i].spec, *slash = strrchr(spec, '/');
        if (slash == NULL)
            snprintf(dir, sizeof(dir), ".");
        else
            snprintf(dir, sizeof(dir), "%.*s", slash == spec ? 1 : (int)(slash - spec), spec);
        if (strpbrk(dir, "*?[") != NULL)
            continue;    /* a glob in the directory part: the scan's timer finds its files */
        struct watched_dir *w = s->dirs;
        while (w != NULL && strcmp(w->dir, dir) != 0)
            w = w->next;
        if (w != NULL) {
            w->keep = 1;
            continue;
        }
        if ((w = calloc(1, sizeof(*w))) == NULL || (w->dir = strdup(dir)) == NULL) {
            free(w);
            continue;
        }
        w->src = s;
        w->keep = 1;
        uv_fs_event_init(s->d->loop, &w->ev);
        w->ev.data = w;
        uv_fs_event_start(&w->ev, on_dir_event, dir, 0);
        w->next = s->dirs;
        s->dirs = w;
    }
    for (struct watched_dir **pp = &s->dirs; *pp != NULL;) {
        struct watched_dir *w = *pp;
        if (w->keep) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        uv_close((uv_handle_t *)&w->ev, on_dir_closed);
    }
}

/* --- configuration ------------------------------------------------------ */

static void free_patterns(struct pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].spec);
        free(p[i].format_spec);
        free(p[i].format);
    }
    free(p);
}

/* A source's format with its options, as one string: two sources read a
 * file alike exactly when their keys are equal. */
static char *format_key(const char *fmt, const lt_source_conf *c)
{
    lt_buf b;
    lt_buf_init(&b);
    lt_buf_puts(&b, fmt);
    if (c != NULL) {
        lt_buf_printf(&b, "\n%s", c->client_header ? c->client_header : "");
        for (size_t i = 0; i < c->n_trusted_proxies; i++)
            lt_buf_printf(&b, "%c%s", i ? ',' : '\n', c->trusted_proxies[i]);
        for (size_t i = 0; i < LT_JSON_FIELDS; i++)
            lt_buf_printf(&b, "\n%s", c->json_fields[i] ? c->json_fields[i] : "");
    }
    char *key = b.data && !b.failed ? strndup(b.data, b.len) : NULL;
    lt_buf_free(&b);
    return key;
}

/* The configuration's sources and the command line's paths; formats were
 * compiled when the configuration was loaded. */
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
        int conf = i < c->n_sources;
        const char *spec = conf ? c->sources[i].path : d->extra_paths[i - c->n_sources];
        const char *fmt = conf ? c->sources[i].format : d->extra_format;
        char ferr[256];
        lt_format_opts opts;
        memset(&opts, 0, sizeof(opts));
        if (conf)
            lt_source_format_opts(&c->sources[i], &opts);
        lt_format *f = lt_format_new_with(fmt, &opts, ferr, sizeof(ferr));
        p[i].spec = strdup(spec);
        p[i].format = strdup(fmt);
        p[i].format_spec = format_key(fmt, conf ? &c->sources[i] : NULL);
        p[i].conf = conf ? (long)i : -1;
        p[i].rotate_wait_ms = conf ? c->sources[i].rotate_wait_ms : LT_ROTATE_WAIT_MS;
        lt_format_free(f);
        if (f == NULL || p[i].spec == NULL || p[i].format_spec == NULL || p[i].format == NULL) {
            snprintf(err, errlen, "source %s: format: %s", spec, f == NULL ? ferr : "out of memory");
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
    free_patterns(s->pats, s->n_pats);
    s->pats = pats;
    s->n_pats = n;
    s->pat_gen++;
    s->reloaded = 1;
    for (tracked *t = s->list; t != NULL; t = t->next)
        if (t->pat != SIZE_MAX && t->pat >= n)
            t->pat = 0;    /* the scan says which pattern names it now */
    watch_dirs(s);
    request_scan(s, 0);
    return 0;
}

/* The descriptor budget for followed files: the limit, raised to its hard
 * maximum, less what the API and the rest need. */
static size_t fd_budget(const lt_daemon *d)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 256;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    size_t reserve = d->config->http.max_connections + FD_RESERVE;
    size_t lim = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t)rl.rlim_cur;
    return lim > reserve + 16 ? lim - reserve : 16;
}

int sources_start(lt_daemon *d)
{
    struct sources *s = calloc(1, sizeof(*s));
    char err[512];
    if (s == NULL)
        return -1;
    s->d = d;
    d->sources = s;
    s->queue_tail = &s->queue;
    s->fd_budget = fd_budget(d);
    if (s->reg == NULL && (s->reg = lt_registry_new()) == NULL)
        return -1;
    /* The checkpoint's files: where each was left. */
    int64_t now_s = (int64_t)time(NULL);
    for (size_t i = 0; i < d->n_resume; i++) {
        const lt_snapshot_source *p = &d->resume[i];
        lt_reg_entry e = {0};
        e.path = p->path;
        e.dev = p->dev;
        e.ino = p->ino;
        e.offset = p->offset;
        e.size = p->size;
        e.lines = p->lines;
        e.malformed = p->malformed;
        e.truncations = p->truncations;
        e.rotations = p->rotations;
        e.fp_len = p->fp_len;
        e.fp_hash = p->fp_hash;
        e.state = p->done;
        e.gz = lt_gz_is_gz(p->path);
        e.seen = now_s;
        if (lt_registry_add(s->reg, &e) == NULL)
            return -1;
    }
    lt_snapshot_sources_free(d->resume, d->n_resume);
    d->resume = NULL;
    d->n_resume = 0;
    uv_timer_init(d->loop, &s->rescan);
    s->rescan.data = s;
    uv_timer_init(d->loop, &s->poll);
    s->poll.data = s;
    uv_timer_start(&s->poll, on_poll, POLL_MS, POLL_MS);
    if (sources_apply(d, err, sizeof(err)) < 0) {
        daemon_log(LOG_ERR_, "%s", err);
        return -1;
    }
    /* Rotations while the daemon was down: files changed since the
     * checkpoint among the siblings of each plain path. */
    if (d->resume_ms != 0)
        for (size_t i = 0; i < s->n_pats; i++)
            if (strpbrk(s->pats[i].spec, "*?[") == NULL)
                add_family(s, s->pats[i].spec, d->resume_ms - 2000);
    daemon_log(LOG_DEBUG_, "up to %zu files open at once", s->fd_budget);
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    (void)h;
}

void sources_stop(lt_daemon *d, void (*done)(lt_daemon *d))
{
    struct sources *s = d->sources;
    if (s == NULL)
        return;    /* never started: nothing read, nothing to checkpoint */
    s->stopping = 1;
    s->on_stopped = done;
    uv_close((uv_handle_t *)&s->poll, on_timer_closed);
    uv_close((uv_handle_t *)&s->rescan, on_timer_closed);
    while (s->dirs != NULL) {
        struct watched_dir *w = s->dirs;
        s->dirs = w->next;
        uv_close((uv_handle_t *)&w->ev, on_dir_closed);
    }
    /* Jobs in flight finish and merge first (job_done calls finish_stop);
     * a scan in flight is dropped when it ends. */
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
    scan_clear(&s->sc);
    free_seen(s);
    for (size_t i = 0; i < s->n_families; i++)
        free(s->families[i].path);
    free(s->families);
    lt_registry_free(s->reg);
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i]);
    free(s->names);
    free(s->ended);
    free(s->holder);
    free(s->name_slots);
    free(s);
    d->sources = NULL;
}

/* --- checkpoints --------------------------------------------------------- */

long sources_positions(lt_daemon *d, lt_snapshot_source **out)
{
    struct sources *s = d->sources;
    size_t n = s ? lt_registry_count(s->reg) : 0;
    lt_snapshot_source *p = calloc(n ? n : 1, sizeof(*p));
    if (p == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const lt_reg_entry *e = lt_registry_at(s->reg, i);
        lt_snapshot_source *q = &p[k];
        if ((q->path = strdup(e->path[0] ? e->path : "?")) == NULL)
            goto nomem;
        k++;
        q->dev = e->dev;
        q->ino = e->ino;
        q->offset = e->offset;
        q->size = e->size >= e->offset ? e->size : e->offset;
        q->lines = e->lines;
        q->malformed = e->malformed <= e->lines ? e->malformed : e->lines;
        q->truncations = e->truncations;
        q->rotations = e->rotations;
        q->fp_len = e->fp_len;
        q->fp_hash = e->fp_hash;
        q->done = e->state;
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
    out->files_queued = s->n_queued;
    out->files_open = s->n_open;
    /* More than one job's worth behind: an initial ingest, or a burst;
     * and until the first catch-up ends, any read in flight (a small file
     * is less than a job's worth behind before a line of it is counted,
     * and `summary --wait` must not return then), or a merge to come. */
    int reading = s->n_queued > 0 || !commit_idle(d);
    for (tracked *t = s->list; t != NULL && !reading && !s->initial_done; t = t->next)
        reading = t->busy;
    out->catching_up = out->total - out->done > JOB_BYTES || !s->first_scan_done ||
                       (!s->initial_done && reading);
}

/* The recent ingest rate, smoothed over about five seconds (the status
 * timer calls this every second). */
void sources_tick(lt_daemon *d)
{
    struct sources *s = d->sources;
    uint64_t now = uv_now(d->loop);
    ingest_progress p;
    if (s == NULL)
        return;
    sources_progress(d, &p);
    if (s->rate_ms != 0 && now > s->rate_ms) {
        double inst = (double)(p.done - (p.done >= s->rate_done ? s->rate_done : p.done)) *
                      1000.0 / (double)(now - s->rate_ms);
        s->rate = s->rate == 0 ? inst : 0.8 * s->rate + 0.2 * inst;
    }
    s->rate_done = p.done;
    s->rate_ms = now;
}

static const char *state_of(const tracked *t)
{
    if (t->queued)
        return "queued";
    if (t->gz)
        return "waiting";
    return t->finishing ? "finishing" : "following";
}

static void describe_one(lt_buf *b, int text, int first, const char *path, const char *state,
                         const char *reason, const lt_reg_entry *e, const tracked *t)
{
    const struct sources *s = t ? t->src : NULL;
    const char *pattern = s && t->pat < s->n_pats ? s->pats[t->pat].spec : NULL;
    char a[32], c[32];
    uint64_t offset = t ? t->info.offset : e ? e->offset : 0;
    uint64_t size = t ? t->info.size : e ? e->size : 0;
    uint64_t lines = t ? t->info.lines : e ? e->lines : 0;
    uint64_t malformed = t ? t->info.malformed : e ? e->malformed : 0;
    uint64_t truncations = t ? t->info.truncations : e ? e->truncations : 0;
    uint64_t rotations = e ? e->rotations : 0;
    uint64_t dev = e ? e->dev : 0, ino = e ? e->ino : 0;
    uint64_t lag = size > offset ? size - offset : 0;
    if (text) {
        lt_buf_text_escaped(b, path, strlen(path));
        if (reason != NULL) {
            lt_buf_printf(b, "\n  %s: %s\n", state, reason);
            return;
        }
        lt_buf_printf(b, "\n  %s, inode %llu, offset %s of %s, %s lines (%s malformed), "
                      "%llu rotations, %llu truncations\n",
                      state, (unsigned long long)ino, lt_report_bytes(offset, a),
                      lt_report_bytes(size, c), lt_report_group(lines, a),
                      lt_report_group(malformed, c), (unsigned long long)rotations,
                      (unsigned long long)truncations);
    } else {
        lt_buf_puts(b, first ? "{\"path\":" : ",{\"path\":");
        lt_buf_json_string(b, path, strlen(path));
        lt_buf_puts(b, ",\"pattern\":");
        if (pattern != NULL)
            lt_buf_json_string(b, pattern, strlen(pattern));
        else
            lt_buf_puts(b, "null");
        lt_buf_printf(b, ",\"state\":\"%s\"", state);
        if (reason != NULL) {
            lt_buf_puts(b, ",\"reason\":");
            lt_buf_json_string(b, reason, strlen(reason));
        }
        lt_buf_printf(b,
                      ",\"open\":%s,\"device\":%llu,\"inode\":%llu,\"offset\":%llu,\"size\":%llu,"
                      "\"lag\":%llu,\"lines\":%llu,\"malformed\":%llu,\"rotations\":%llu,"
                      "\"truncations\":%llu,\"malformed_samples\":[",
                      t && t->open ? "true" : "false", (unsigned long long)dev,
                      (unsigned long long)ino, (unsigned long long)offset,
                      (unsigned long long)size, (unsigned long long)lag,
                      (unsigned long long)lines, (unsigned long long)malformed,
                      (unsigned long long)rotations, (unsigned long long)truncations);
    }
    uint64_t kept = t == NULL ? 0 : t->n_samples < LT_SAMPLES ? t->n_samples : LT_SAMPLES;
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

void sources_describe(lt_daemon *d, lt_buf *b, int text)
{
    struct sources *s = d->sources;
    size_t n = 0;

    if (!text)
        lt_buf_puts(b, "{\"sources\":[");
    for (tracked *t = s ? s->list : NULL; t != NULL; t = t->next, n++)
        describe_one(b, text, n == 0, t->path, state_of(t), NULL, t->reg, t);
    for (size_t i = 0; s != NULL && i < s->n_seen; i++, n++) {
        const struct seen *e = &s->seen[i];
        if (e->kind == FOUND_MISSING) {
            describe_one(b, text, n == 0, e->path, "waiting", NULL, NULL, NULL);
        } else if (e->kind == FOUND_REFUSED) {
            describe_one(b, text, n == 0, e->path, "refused", e->reason, NULL, NULL);
        } else {
            lt_reg_entry *r = lt_registry_find(s->reg, e->dev, e->ino);
            if (r == NULL || r->active) {
                n--;
                continue;
            }
            describe_one(b, text, n == 0, e->path, r->gz ? "read" : "done", NULL, r, NULL);
        }
    }
    if (!text) {
        lt_buf_puts(b, "],\"checkpoint\":");
        daemon_checkpoint_json(d, b);
        lt_buf_puts(b, "}\n");
    } else if (n == 0) {
        lt_buf_puts(b, "no sources\n");
    }
}
