/* daemon.h -- logtallyd's shared state and the pieces that compose it.
 *
 *   main.c     arguments, configuration, start, signals, shutdown
 *   sources.c  where lines enter: files and globs followed, read on the
 *              thread pool into tallies of their own
 *   commit.c   where those enter the live tally: merged on the pool, one
 *              merge at a time, while the loop answers from the cache or
 *              holds the question
 *   http.c     HTTP/1.1 over the Unix socket: connections, limits, timeouts
 *   request.c  one request read from http-parser and held to its limits
 *   api.c      where a query is answered: the /v1 endpoints
 *   log.c      messages to stderr (journald priorities), systemd notify
 *
 *   discover.c finding the files the sources name (a job on the pool)
 *
 * Threads.  Everything here runs on the libuv loop thread except jobs on
 * libuv's thread pool: a file's read job (sources.c; one that reads a
 * large backlog starts reader threads of its own, lib/ingest.c, and joins
 * them before it ends), a merge (commit.c), a scan (discover.c) and a
 * checkpoint (main.c).  The rule:
 * a job touches only what it owns -- the state the loop handed it before
 * queueing it (for a read job: the file's follower, parser and job fields,
 * with its start position claimed from the registry on the loop; for a
 * scan: its struct scan; for a checkpoint: its positions and bytes) -- and
 * the loop touches that state again only in the job's after-work callback.
 * The live tally is handed over in two ways: a merge job owns it while
 * d->merging is set (the loop does not touch it), and a checkpoint reads
 * it on the pool while d->tally_frozen is set (the loop only reads it, and
 * no merge starts), and so does an answer job while d->tally_readers is
 * not 0 (api.c); commit.c says how answers and checkpoints wait.
 * Nothing else is shared: the registry, the lists of files and the
 * configuration belong to the loop. */
#ifndef LT_DAEMON_H
#define LT_DAEMON_H

#include <stdarg.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "tally.h"

struct sources;
struct http_server;

/* Read tallies waiting to be merged into the live one (commit.c), and
 * the one merge that runs at a time (no allocation to start it). */
typedef struct commit_queue {
    lt_tally **deltas;
    size_t n, cap;
    size_t held;                   /* queued, or in the merge running */
    struct merge_job {
        uv_work_t work;
        struct lt_daemon *d;
        lt_tally **deltas;
        size_t n;
        size_t failed;             /* deltas not merged in full: out of memory */
    } job;
} commit_queue;

typedef struct lt_daemon {
    uv_loop_t *loop;
    const char *config_path;       /* NULL: built-in defaults */
    char **extra_paths;            /* sources given on the command line */
    size_t n_extra_paths;
    const char *extra_format;      /* their format */
    lt_config *config;
    lt_tally *tally;               /* the live aggregates */
    int tally_frozen;              /* a checkpoint is serialising it on the pool */
    int merging;                   /* a merge job owns it (commit.c) */
    unsigned tally_readers;        /* answer jobs reading it on the pool (api.c) */
    int answers_first;             /* a merge just ended: held questions start their jobs */
    struct answer_job *answer_jobs;   /* those jobs, and their answers until taken */
    uint64_t merges;               /* merges ended: the tally's version */
    uint64_t answers_earlier;      /* asked during a merge: given as last given */
    uint64_t answers_held;         /* asked during a merge: held until its end */
    int draining;                  /* a checkpoint or a snapshot waits for the merges
                                      in flight (commit.c) */
    int checkpoint_waits;          /* ... a checkpoint, taken when they are done */
    commit_queue commit;
    uint64_t generation;           /* bumped whenever tally or sources change */
    struct sources *sources;
    struct lt_snapshot_source *resume;   /* the checkpoint's positions, until sources start */
    size_t n_resume;
    int64_t resume_ms;             /* when that checkpoint was written (wall clock, ms) */
    char *state_path;              /* state_dir/logtally.state */
    uv_timer_t checkpoint_timer;
    int checkpoint_busy;
    int64_t checkpoint_time;       /* of the last successful checkpoint; 0: none yet */
    int checkpoint_failed;         /* the last attempt failed */
    uint64_t checkpoint_failures;  /* attempts that failed, since start */
    char checkpoint_error[512];    /* why the last failed */
    struct http_server *http;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t status_timer;       /* STATUS= and the watchdog */
    uint64_t watchdog_usec;
    uint64_t started_ms;
    unsigned pool_threads;         /* libuv's thread pool, fixed at start */
    unsigned cpus;                 /* online CPUs at start: threads: 0 */
    int stopping;
} lt_daemon;

/* log.c: priorities as syslog's. */
enum { LOG_ERR_ = 3, LOG_WARNING_ = 4, LOG_NOTICE_ = 5, LOG_INFO_ = 6, LOG_DEBUG_ = 7 };
void daemon_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a state string to systemd ("READY=1", "STATUS=..."); a no-op when
 * not started by systemd or built without libsystemd. */
void daemon_notify(const char *state);

/* main.c: rereads the configuration; returns 0, or -1 with the reason in
 * err (the old configuration then stays). */
int daemon_reload(lt_daemon *d, char *err, size_t errlen);
/* main.c: reader threads for a backlog, as the configuration says them
 * (threads: 0 is one per online CPU). */
unsigned daemon_readers(const lt_daemon *d);
/* Called first by every job on the thread pool: the calling thread (and
 * the reader threads it starts) runs 10 nice levels below the loop, so
 * that the loop, woken by a request, gets a core at once.  A no-op on the
 * loop's own thread. */
void daemon_pool_thread(void);
/* main.c: starts a clean shutdown. */
void daemon_stop(lt_daemon *d);

/* sources.c */
typedef struct ingest_progress {
    uint64_t done, total;          /* bytes counted, bytes in the files */
    uint64_t parts;                /* backlog parts read on the reader threads so far */
    double rate;                   /* bytes per second, recent */
    int catching_up;               /* more than a little is still to read */
    size_t files_open;             /* files holding a descriptor */
    size_t files_queued;           /* files waiting for one (over the budget) */
} ingest_progress;

int sources_start(lt_daemon *d);
/* Replaces the followed patterns with those of the current configuration
 * (plus the command line's); returns 0 or -1 with a message in err. */
int sources_apply(lt_daemon *d, char *err, size_t errlen);
void sources_progress(lt_daemon *d, ingest_progress *out);
/* Once a second: updates the smoothed ingest rate. */
void sources_tick(lt_daemon *d);
/* Appends the JSON array (or, when text is set, a table) of followed files. */
struct lt_buf;
void sources_describe(lt_daemon *d, struct lt_buf *b, int text);
/* The position of every followed file as of its last merged job, so that
 * with the live tally it makes a consistent checkpoint.  Returns the count
 * and a new array in *out (lt_snapshot_sources_free), or -1 when out of
 * memory. */
struct lt_snapshot_source;
long sources_positions(lt_daemon *d, struct lt_snapshot_source **out);
/* Hands a checkpoint's positions to the sources (before sources_start):
 * a file that is the same file (device, inode and first bytes) resumes at
 * its offset.  Takes ownership of the array. */
void sources_resume_from(lt_daemon *d, struct lt_snapshot_source *pos, size_t n);

/* Ends the read jobs that ended while a checkpoint waited for the merges
 * in flight, in the order they ended (commit.c, once it has started). */
void sources_thaw(lt_daemon *d);
/* A merge has ended (commit.c): files waiting for room are read, and a
 * stop that waited for the merges goes on once nothing is left. */
void sources_committed(lt_daemon *d);

/* commit.c: queues a read's tally for the live one (takes it) and starts
 * a merge when none runs. */
void commit_add(lt_daemon *d, lt_tally *delta);
/* Starts a merge of what is queued, unless one runs or the tally is frozen. */
void commit_kick(lt_daemon *d);
/* Nothing queued, nothing merging: the live tally holds every read that ended. */
static inline int commit_idle(const lt_daemon *d)
{
    return !d->merging && d->commit.n == 0;
}
/* Frees what is still queued (after the loop has ended). */
void commit_free(lt_daemon *d);

/* main.c: takes a checkpoint now (serialised and written on the pool). */
void daemon_checkpoint(lt_daemon *d);
/* main.c: appends {"time": epoch or null, "ok": bool, "error": string or
 * null, "failures": n} for the last checkpoint. */
void daemon_checkpoint_json(lt_daemon *d, struct lt_buf *b);

/* The names of the files, for malformed samples (index = sample source). */
const char *const *sources_names(lt_daemon *d, size_t *n);
/* Stops following: no new jobs; once the jobs in flight are merged, calls
 * done (the final checkpoint, every position still known), then frees the
 * followed files' entries. */
void sources_stop(lt_daemon *d, void (*done)(lt_daemon *d));

/* http.c */
int http_start(lt_daemon *d, char *err, size_t errlen);
void http_stop(lt_daemon *d);
/* Answers the requests held while a merge owned the tally (commit.c). */
void http_release(lt_daemon *d);

/* Who sent a request. */
typedef struct api_peer {
    int tcp;                 /* came through the TCP listener: read-only */
    int uid_known;           /* Unix socket: the peer's uid (SO_PEERCRED) */
    unsigned uid;
} api_peer;

/* api.c: answers one request.  Returns the HTTP status; fills body and
 * content_type (a static string).  Or returns API_HOLD, filling nothing,
 * when the answer needs the live tally while a merge owns it, or waits for
 * an answer job on the pool (a window's summary): the caller asks again,
 * with the same peer, method, path and query, after http_release(). */
#define API_HOLD 0
struct lt_buf;
int api_handle(lt_daemon *d, const api_peer *peer, const char *method, const char *path,
               const char *query, const char *body, size_t body_len, struct lt_buf *out,
               const char **content_type);
/* api.c: peer's connection is closing: an answer job of its is not to
 * be taken (its summary is freed when the job ends). */
void api_forget(lt_daemon *d, const api_peer *peer);

#endif
