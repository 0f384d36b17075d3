/* main.c -- logtallyd: start, signals, reload, shutdown.
 *
 *   logtallyd [-c FILE] [-s SOCKET] [-f FORMAT] [PATH...]
 *
 * Runs in the foreground (systemd style) and logs to stderr.  With no -c it
 * runs on the built-in defaults; PATHs (files or globs) add sources in
 * FORMAT (default combined).  Start-up order: configuration, sources, then
 * the socket; READY=1 goes to systemd once the socket listens.
 *
 * Signals only wake the loop (uv_signal): SIGTERM and SIGINT stop it
 * cleanly (the socket is removed, jobs in flight are merged), SIGHUP
 * rereads the configuration and keeps the old one when the new one is
 * invalid.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon.h"
#include "report.h"

void sources_free(lt_daemon *d);

static void usage(FILE *out)
{
    fputs("usage: logtallyd [-c FILE] [-s SOCKET] [-f FORMAT] [PATH...]\n"
          "\n"
          "Follows web-server access logs and answers queries over a Unix socket.\n"
          "\n"
          "  -c, --config FILE    YAML configuration (default: built-in defaults)\n"
          "  -s, --socket PATH    listen on PATH instead of the configured socket\n"
          "  -f, --format F       format of the PATHs given here (default combined)\n"
          "      --check          check the configuration and exit\n"
          "  -h, --help\n"
          "  -V, --version\n",
          out);
}

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
    if (socket != NULL) {
        char *s = strdup(socket);
        if (s == NULL) {
            lt_config_free(c);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(c->socket);
        c->socket = s;
    }
    *out = c;
    return 0;
}

static const char *socket_override;

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

static void on_sources_stopped(lt_daemon *d)
{
    (void)d;
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

    sources_progress(d, &p);
    const lt_counters *n = lt_tally_counters(d->tally);
    if (p.catching_up)
        snprintf(status, sizeof(status), "STATUS=Reading: %s of %s (%.0f%%), %s/s",
                 lt_report_bytes(p.done, a), lt_report_bytes(p.total, b),
                 p.total ? 100.0 * (double)p.done / (double)p.total : 100.0,
                 lt_report_bytes((uint64_t)p.rate, c));
    else
        snprintf(status, sizeof(status), "STATUS=Following: %s lines, %s valid",
                 lt_report_group(n->lines, a), lt_report_group(n->valid, b));
    daemon_notify(status);
    if (d->watchdog_usec != 0)
        daemon_notify("WATCHDOG=1");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
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
    while ((c = getopt_long(argc, argv, "c:s:f:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': d.config_path = optarg; break;
        case 's': socket_override = optarg; break;
        case 'f': d.extra_format = optarg; break;
        case 'C': check_only = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("logtallyd %s\n", LT_VERSION); return 0;
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

    int rc = 0;
    if (sources_start(&d) < 0 || http_start(&d, err, sizeof(err)) < 0) {
        if (d.http != NULL)
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
        daemon_log(LOG_INFO_, "listening on %s", d.config->socket);
        daemon_notify("READY=1");
    }
    uv_run(d.loop, UV_RUN_DEFAULT);

    sources_free(&d);
    lt_tally_free(d.tally);
    lt_config_free(d.config);
    uv_loop_close(d.loop);
    return rc;
}
