/* main.c -- logtallyd: start, signals, reload, shutdown.
 *
 *   logtallyd [-c FILE] [-s SOCKET] [-S STATE_DIR] [-f FORMAT] [PATH...]
 *
 * Runs in the foreground (systemd style) and logs to stderr.  With no -c it
 * runs on the built-in defaults; PATHs (files or globs) add sources in
 * FORMAT (default combined).  Start-up order: configuration, the
 * checkpoint, the socket, then the sources (so no number of files can
 * starve the API of descriptors, and nothing is read before the positions
 * are known); READY=1 goes to systemd once the socket listens.
 *
 * State: the tally and every file's position are checkpointed together to
 * state_dir/logtally.state every checkpoint_interval and at shutdown
 * (lib/snapshot.c: temporary file, fsync, rename, directory fsync).  The
 * positions are taken on the loop thread, between two merges; the tally is
 * then serialised on the thread pool while no merge happens (read jobs that
 * end meanwhile wait, job and position together: sources_thaw()), so counts
 * and offsets always agree and the loop never serialises a large tally;
 * the file is written on the pool too, merges going on.  At start
 * the state is loaded and each file resumes at its offset when it is the
 * same file (device, inode, first bytes: lib/registry.c).  A state file
 * that is corrupt (it reads, but its bytes are wrong) is moved aside with a
 * message and the daemon starts from nothing; one that cannot be read at
 * all (permissions, I/O errors) stops the start: history is never thrown
 * away for an operator's mistake.
 *
 * Signals only wake the loop (uv_signal): SIGTERM and SIGINT stop it
 * cleanly (the socket is removed, jobs in flight are merged), SIGHUP
 * rereads the configuration and keeps the old one when the new one is
 * invalid.
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon.h"
#include "report.h"
#include "snapshot.h"

void sources_free(lt_daemon *d);

static void usage(FILE *out)
{
    fputs("usage: logtallyd [-c FILE] [-s SOCKET] [-S STATE_DIR] [-f FORMAT] [PATH...]\n"
          "\n"
          "Follows web-server access logs and answers queries over a Unix socket.\n"
          "\n"
          "  -c, --config FILE    YAML configuration (default: built-in defaults)\n"
          "  -s, --socket PATH    listen on PATH instead of the configured socket\n"
          "  -S, --state-dir DIR  keep checkpoints in DIR instead of the configured state_dir\n"
          "  -f, --format F       format of the PATHs given here (default combined)\n"
          "      --check          check the configuration and exit\n"
          "  -h, --help\n"
          "  -V, --version\n",
          out);
}

/* The version, and the optional features this binary was built with
 * (libsystemd is optional at build time: without it there is no sd_notify,
 * no watchdog and no socket activation). */
static void print_version(void)
{
    printf("logtallyd %s\n", LT_VERSION);
#ifdef HAVE_SYSTEMD
    puts("features: +systemd (sd_notify readiness and status, watchdog, socket activation)");
#else
    puts("features: -systemd (built without libsystemd: no sd_notify, watchdog or socket "
         "activation)");
#endif
}

static const char *socket_override, *state_override;

static int load_config(const char *path, const char *socket, lt_config **out, char *err,
                       size_t errlen)
{
    lt_config *c = NULL;
    if (path != NULL) {
        if (lt_config_load(path, &c, err, errlen) < 0)
            return -1;
    } else if ((c = lt_config_new_default()) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Command-line overrides of the file's socket and state_dir. */
    const char *over[2] = {socket, state_override};
    char **field[2] = {&c->socket, &c->state_dir};
    for (int i = 0; i < 2; i++) {
        if (over[i] == NULL)
            continue;
        char *s = strdup(over[i]);
        if (s == NULL) {
            lt_config_free(c);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*field[i]);
        *field[i] = s;
    }
    *out = c;
    return 0;
}


int daemon_reload(lt_daemon *d, char *err, size_t errlen)
{
    lt_config *next, *prev = d->config;
    if (load_config(d->config_path, socket_override, &next, err, errlen) < 0)
        return -1;
    d->config = next;
    if (sources_apply(d, err, errlen) < 0) {
        d->config = prev;
        lt_config_free(next);
        return -1;
    }
    if (strcmp(prev->socket, next->socket) != 0 || prev->socket_mode != next->socket_mode ||
        memcmp(&prev->limits, &next->limits, sizeof(prev->limits)) != 0)
        daemon_log(LOG_NOTICE_, "socket and limits changes take effect at the next start");
    lt_config_free(prev);
    daemon_log(LOG_INFO_, "configuration reloaded");
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

struct checkpoint_job {
    uv_work_t work;
    lt_daemon *d;
    lt_snapshot_source *pos;    /* the positions, taken on the loop */
    size_t n_pos;
    int64_t now;
    lt_buf bytes;
    int rc;
    char err[512];
};

static int final_checkpoint_pending;

static void checkpoint_write(uv_work_t *w)
{
    daemon_pool_thread();
    struct checkpoint_job *j = w->data;
    /* A state_dir deleted under the daemon is made again. */
    if (mkdir(j->d->config->state_dir, 0700) < 0 && errno != EEXIST) {
        j->rc = -errno;
        snprintf(j->err, sizeof(j->err), "state_dir %s: %s", j->d->config->state_dir,
                 strerror(errno));
        return;
    }
    j->rc = lt_snapshot_save_bytes(j->d->state_path, j->bytes.data, j->bytes.len, j->err,
                                   sizeof(j->err));
}

/* Records how a checkpoint went, for /healthz, /v1/sources and /metrics;
 * a failure is said when it starts and when it ends, not every time. */
static void checkpoint_result(lt_daemon *d, int rc, const char *err)
{
    d->generation++;    /* /metrics says it */
    if (rc < 0) {
        if (!d->checkpoint_failed || strcmp(d->checkpoint_error, err) != 0)
            daemon_log(LOG_ERR_, "checkpoint not written: %s", err);
        d->checkpoint_failed = 1;
        d->checkpoint_failures++;
        snprintf(d->checkpoint_error, sizeof(d->checkpoint_error), "%s", err);
        return;
    }
    if (d->checkpoint_failed)
        daemon_log(LOG_NOTICE_, "checkpoint written again to %s", d->state_path);
    d->checkpoint_failed = 0;
    d->checkpoint_error[0] = '\0';
    d->checkpoint_time = (int64_t)time(NULL);
}

void daemon_checkpoint_json(lt_daemon *d, lt_buf *b)
{
    if (d->checkpoint_time)
        lt_buf_printf(b, "{\"time\":%lld,", (long long)d->checkpoint_time);
    else
        lt_buf_puts(b, "{\"time\":null,");
    lt_buf_printf(b, "\"ok\":%s,\"error\":", d->checkpoint_failed ? "false" : "true");
    if (d->checkpoint_failed)
        lt_buf_json_string(b, d->checkpoint_error, strlen(d->checkpoint_error));
    else
        lt_buf_puts(b, "null");
    lt_buf_printf(b, ",\"failures\":%llu}", (unsigned long long)d->checkpoint_failures);
}

static void checkpoint_job_free(struct checkpoint_job *j)
{
    lt_snapshot_sources_free(j->pos, j->n_pos);
    lt_buf_free(&j->bytes);
    free(j);
}

/* A checkpoint has ended, written or not: the final one, asked for
 * meanwhile, is taken now. */
static void checkpoint_over(lt_daemon *d)
{
    d->checkpoint_busy = 0;
    if (final_checkpoint_pending) {
        final_checkpoint_pending = 0;
        daemon_checkpoint(d);
    }
}

static void checkpoint_written(uv_work_t *w, int status)
{
    struct checkpoint_job *j = w->data;
    lt_daemon *d = j->d;
    if (status == 0)
        checkpoint_result(d, j->rc, j->err);
    checkpoint_job_free(j);
    checkpoint_over(d);
}

/* On the thread pool, while the tally is frozen: only reads it. */
static void checkpoint_serialise(uv_work_t *w)
{
    daemon_pool_thread();
    struct checkpoint_job *j = w->data;
    j->rc = lt_snapshot_write(&j->bytes, j->d->tally, j->pos, j->n_pos, j->now);
    if (j->rc < 0)
        snprintf(j->err, sizeof(j->err), "out of memory serialising the state");
}

/* On the loop: the tally is the loop's again, merges go on (the reads'
 * tallies queued meanwhile first); the bytes are written on the pool. */
static void checkpoint_serialised(uv_work_t *w, int status)
{
    struct checkpoint_job *j = w->data;
    lt_daemon *d = j->d;
    d->tally_frozen = 0;
    commit_kick(d);
    if (status == 0 && j->rc == 0 &&
        uv_queue_work(d->loop, &j->work, checkpoint_write, checkpoint_written) == 0)
        return;
    if (status == 0 && j->rc < 0)
        checkpoint_result(d, j->rc, j->err);
    checkpoint_job_free(j);
    checkpoint_over(d);
}

/* Takes the positions now (a consistent instant on the loop thread: every
 * read that moved one is merged) and serialises the tally with them on
 * the thread pool, then writes them there; all on the loop when the
 * daemon is stopping (nothing is read any more, and the loop is about to
 * end).  While merges are in flight it waits for them (commit.c). */
void daemon_checkpoint(lt_daemon *d)
{
    if (d->state_path == NULL)
        return;
    if (d->checkpoint_busy) {
        if (d->stopping)
            final_checkpoint_pending = 1;
        return;
    }
    if (!commit_idle(d)) {
        d->draining = 1;
        d->checkpoint_waits = 1;
        return;
    }
    lt_snapshot_source *pos = NULL;
    long n = sources_positions(d, &pos);
    struct checkpoint_job *j = calloc(1, sizeof(*j));
    if (n < 0 || j == NULL) {
        daemon_log(LOG_ERR_, "checkpoint skipped: out of memory");
        lt_snapshot_sources_free(pos, n < 0 ? 0 : (size_t)n);
        free(j);
        return;
    }
    j->d = d;
    j->work.data = j;
    j->pos = pos;
    j->n_pos = (size_t)n;
    j->now = (int64_t)time(NULL);
    lt_buf_init(&j->bytes);
    if (d->stopping) {
        checkpoint_serialise(&j->work);
        if (j->rc == 0)
            checkpoint_write(&j->work);
        checkpoint_result(d, j->rc, j->err);
        checkpoint_job_free(j);
        return;
    }
    if (uv_queue_work(d->loop, &j->work, checkpoint_serialise, checkpoint_serialised) != 0) {
        checkpoint_job_free(j);
        return;
    }
    d->checkpoint_busy = 1;
    d->tally_frozen = 1;
}

static void on_checkpoint_timer(uv_timer_t *t)
{
    daemon_checkpoint(t->data);
}

/* Every job has been merged: the last checkpoint holds everything read. */
static void on_sources_stopped(lt_daemon *d)
{
    daemon_checkpoint(d);
}

/* Keeps at most this many state files refused as corrupt. */
#define MAX_BAD_STATES 5

static int older_first(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest refused state files beyond MAX_BAD_STATES (their
 * names end in the time they were refused, so they sort by age). */
static void prune_bad_states(const char *state_path)
{
    char pattern[4200];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "%s.bad-*", state_path);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), older_first);
    for (size_t i = 0; i + MAX_BAD_STATES < g.gl_pathc; i++)
        unlink(g.gl_pathv[i]);
    globfree(&g);
}

/* Loads state_dir/logtally.state into d->tally and the positions, when it
 * exists.  A corrupt one is moved aside (starting from nothing); one that
 * cannot be read returns -1 with the reason in err: the daemon does not
 * start. */
static int load_state(lt_daemon *d, const lt_limits *limits, char *err, size_t errlen)
{
    const char *dir = d->config->state_dir;
    char why[1024];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        daemon_log(LOG_WARNING_, "state_dir %s: %s; checkpoints will fail until it can be made",
                   dir, strerror(errno));
    else if (access(dir, W_OK) < 0)
        daemon_log(LOG_WARNING_, "state_dir %s is not writable; checkpoints will fail", dir);
    size_t plen = strlen(dir) + sizeof("/logtally.state");
    if ((d->state_path = malloc(plen)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(d->state_path, plen, "%s/logtally.state", dir);

    char *data = NULL;
    size_t len = 0;
    int rc = lt_snapshot_slurp(d->state_path, (size_t)16 << 30, &data, &len, why, sizeof(why));
    if (rc == -ENOENT)
        return 0;
    if (rc < 0 && rc != -EINVAL && rc != -EFBIG) {
        snprintf(err, errlen,
                 "state file %s cannot be read: %.300s; it holds the counts so far, so logtallyd "
                 "does not start without it: fix its permissions or its disk, or move it away "
                 "to start from nothing", d->state_path, why);
        return -1;
    }
    lt_tally *t = NULL;
    lt_snapshot_source *pos = NULL;
    size_t n = 0;
    if (rc == 0) {
        rc = lt_snapshot_read(data, len, limits, &t, &pos, &n, why, sizeof(why));
        free(data);
    }
    if (rc == -ENOMEM) {
        snprintf(err, errlen, "state file %s: out of memory reading it", d->state_path);
        return -1;
    }
    if (rc < 0) {
        char aside[4200];
        snprintf(aside, sizeof(aside), "%s.bad-%lld", d->state_path, (long long)time(NULL));
        int moved = rename(d->state_path, aside) == 0;
        daemon_log(LOG_ERR_, "state file %s refused: %s; %s%s; starting from nothing",
                   d->state_path, why, moved ? "moved aside to " : "could not move it aside",
                   moved ? aside : "");
        prune_bad_states(d->state_path);
        return 0;
    }
    lt_tally_free(d->tally);
    d->tally = t;
    sources_resume_from(d, pos, n);
    struct stat st;
    if (stat(d->state_path, &st) == 0)
        d->resume_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    daemon_log(LOG_INFO_, "resumed from %s: %llu lines, %zu files", d->state_path,
               (unsigned long long)lt_tally_counters(t)->lines, n);
    return 0;
}

void daemon_stop(lt_daemon *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    daemon_notify("STOPPING=1");
    daemon_log(LOG_INFO_, "stopping");
    http_stop(d);
    uv_close((uv_handle_t *)&d->status_timer, on_closed);
    uv_close((uv_handle_t *)&d->checkpoint_timer, on_closed);
    uv_close((uv_handle_t *)&d->sig_term, on_closed);
    uv_close((uv_handle_t *)&d->sig_int, on_closed);
    uv_close((uv_handle_t *)&d->sig_hup, on_closed);
    sources_stop(d, on_sources_stopped);
}

static void on_signal(uv_signal_t *h, int signum)
{
    lt_daemon *d = h->data;
    if (signum == SIGHUP) {
        char err[1024];
        if (daemon_reload(d, err, sizeof(err)) < 0)
            daemon_log(LOG_ERR_, "configuration not reloaded, keeping the old one: %s", err);
        return;
    }
    daemon_stop(d);
}

/* Every second: progress for systemd's STATUS=, and the watchdog ping. */
static void on_status(uv_timer_t *t)
{
    lt_daemon *d = t->data;
    ingest_progress p;
    char status[256], a[32], b[32], c[32];

    sources_tick(d);
    sources_progress(d, &p);
    status[0] = '\0';
    if (p.catching_up)
        snprintf(status, sizeof(status), "STATUS=Reading: %s of %s (%.0f%%), %s/s",
                 lt_report_bytes(p.done, a), lt_report_bytes(p.total, b),
                 p.total ? 100.0 * (double)p.done / (double)p.total : 100.0,
                 lt_report_bytes((uint64_t)p.rate, c));
    else if (!d->merging)    /* else the counters are the merge's: next second */
        snprintf(status, sizeof(status), "STATUS=Following: %s lines, %s valid",
                 lt_report_group(lt_tally_counters(d->tally)->lines, a),
                 lt_report_group(lt_tally_counters(d->tally)->valid, b));
    if (status[0] != '\0')
        daemon_notify(status);
    if (d->watchdog_usec != 0)
        daemon_notify("WATCHDOG=1");
}

/* The thread pool's threads run POOL_NICE below the loop's priority (its
 * nice value plus POOL_NICE, at most 19).  On two cores, with both reading
 * a backlog, /v1/summary asked every 3 ms during the initial ingest of the
 * 1.58 M-client benchmark log waited up to 3.6-5.4 ms at p99 for a core
 * with the pool at the loop's priority, 0.4-2.7 ms 10 below it and
 * 0.3-0.5 ms at nice 19 (SCHED_BATCH: no better).  The unit starts the
 * daemon at Nice=-10, so that its pool competes with a web server at nice
 * 0 as an equal (a merge holding answers is not starved by it), while the
 * loop comes first. */
#define POOL_NICE 10

void daemon_pool_thread(void)
{
    static _Thread_local int lowered;
    if (lowered)
        return;
    lowered = 1;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (tid == getpid())
        return;    /* the loop's thread, running a job in place */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)tid);
    if (nice == -1 && errno != 0)
        return;
    (void)setpriority(PRIO_PROCESS, (id_t)tid, nice + POOL_NICE > 19 ? 19 : nice + POOL_NICE);
}

unsigned daemon_readers(const lt_daemon *d)
{
    return d->config->threads ? d->config->threads : d->cpus;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'S'},
        {"format", required_argument, NULL, 'f'},
        {"check", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    lt_daemon d;
    char err[1024];
    int c, check_only = 0;

    memset(&d, 0, sizeof(d));
    d.extra_format = "combined";
    while ((c = getopt_long(argc, argv, "c:s:S:f:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': d.config_path = optarg; break;
        case 's': socket_override = optarg; break;
        case 'S': state_override = optarg; break;
        case 'f': d.extra_format = optarg; break;
        case 'C': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': print_version(); return 0;
        default: usage(stderr); return 2;
        }
    }
    d.extra_paths = argv + optind;
    d.n_extra_paths = (size_t)(argc - optind);

    if (load_config(d.config_path, socket_override, &d.config, err, sizeof(err)) < 0) {
        fprintf(stderr, "logtallyd: %s\n", err);
        return 1;
    }
    /* Formats are compiled here too, so --check and a bad start say so. */
    for (size_t i = 0; i < d.config->n_sources + d.n_extra_paths; i++) {
        const char *f = i < d.config->n_sources ? d.config->sources[i].format : d.extra_format;
        lt_format *fmt = lt_format_new(f, err, sizeof(err));
        if (fmt == NULL) {
            fprintf(stderr, "logtallyd: %s: source %zu: format: %s\n",
                    d.config_path ? d.config_path : "command line", i + 1, err);
            lt_config_free(d.config);
            return 1;
        }
        lt_format_free(fmt);
    }
    if (check_only) {
        printf("%s: ok\n", d.config_path ? d.config_path : "built-in defaults");
        lt_config_free(d.config);
        return 0;
    }

    /* The thread pool reads files (a job reading a backlog part starts
     * the other reader threads itself) and has room for merges,
     * checkpoints and scans meanwhile.  Its size is fixed when it first
     * runs: a reload cannot grow it. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    d.cpus = cpus > 0 ? (unsigned)cpus : 1;
    unsigned readers = daemon_readers(&d);
    const char *pool = getenv("UV_THREADPOOL_SIZE");
    if (pool == NULL) {
        char n[16];
        d.pool_threads = readers + 2 < 4 ? 4 : readers + 2 > 64 ? 64 : readers + 2;
        snprintf(n, sizeof(n), "%u", d.pool_threads);
        setenv("UV_THREADPOOL_SIZE", n, 1);
    } else {
        long n = strtol(pool, NULL, 10);
        d.pool_threads = n < 1 ? 4 : n > 1024 ? 1024 : (unsigned)n;
    }

    lt_limits limits = d.config->limits;
    d.tally = lt_tally_new(&limits);
    if (d.tally == NULL) {
        fprintf(stderr, "logtallyd: out of memory\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    d.loop = uv_default_loop();
    d.started_ms = uv_now(d.loop);
    uv_signal_init(d.loop, &d.sig_term);
    uv_signal_init(d.loop, &d.sig_int);
    uv_signal_init(d.loop, &d.sig_hup);
    d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
    uv_signal_start(&d.sig_term, on_signal, SIGTERM);
    uv_signal_start(&d.sig_int, on_signal, SIGINT);
    uv_signal_start(&d.sig_hup, on_signal, SIGHUP);
    uv_timer_init(d.loop, &d.status_timer);
    d.status_timer.data = &d;
    uv_timer_init(d.loop, &d.checkpoint_timer);
    d.checkpoint_timer.data = &d;
    if (load_state(&d, &limits, err, sizeof(err)) < 0) {
        daemon_log(LOG_ERR_, "%s", err);
        free(d.state_path);
        lt_snapshot_sources_free(d.resume, d.n_resume);
        lt_tally_free(d.tally);
        lt_config_free(d.config);
        return 1;
    }

    int rc = 0;
    err[0] = '\0';
    if (http_start(&d, err, sizeof(err)) < 0 || sources_start(&d) < 0) {
        if (err[0] != '\0')
            daemon_log(LOG_ERR_, "%s", err);
        rc = 1;
        daemon_stop(&d);
    } else {
#ifdef HAVE_SYSTEMD
        if (sd_watchdog_enabled(0, &d.watchdog_usec) <= 0)
            d.watchdog_usec = 0;
#endif
        uint64_t every = 1000;
        if (d.watchdog_usec != 0 && d.watchdog_usec / 2000 < every)
            every = d.watchdog_usec / 2000 ? d.watchdog_usec / 2000 : 1;
        uv_timer_start(&d.status_timer, on_status, every, every);
        if (d.state_path != NULL)
            uv_timer_start(&d.checkpoint_timer, on_checkpoint_timer,
                           d.config->checkpoint_interval_ms, d.config->checkpoint_interval_ms);
        daemon_log(LOG_INFO_, "listening on %s", d.config->socket);
        daemon_notify("READY=1");
    }
    uv_run(d.loop, UV_RUN_DEFAULT);

    sources_free(&d);
    commit_free(&d);
    lt_snapshot_sources_free(d.resume, d.n_resume);
    free(d.state_path);
    lt_tally_free(d.tally);
    lt_config_free(d.config);
    uv_loop_close(d.loop);
    return rc;
}
