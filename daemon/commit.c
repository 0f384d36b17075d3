/* commit.c -- where a read's lines enter the live tally.
 *
 * A read job ends with a tally of its own (a delta).  Merging that into
 * the live tally is work that grows with the data: one part of a large
 * backlog brings hundreds of thousands of clients and URLs, and merging
 * them took a third of the daemon's cycles.  So the loop does not merge.
 * commit_add() queues the delta; one merge job at a time, on the thread
 * pool, absorbs every delta queued when it starts, in the order the
 * reads ended, and frees them there.
 *
 * Who owns the live tally:
 *   d->merging       a merge job: the loop does not touch d->tally at all.
 *                    An answer that needs it is the cached answer to the
 *                    same question given since the previous merge ended
 *                    (a consistent snapshot of the tally as it is until
 *                    this merge ends), or waits: http.c holds the request
 *                    and http_release() answers it once the merge has
 *                    ended (api.c, API_HOLD).  /metrics counts both.
 *   d->tally_frozen  a checkpoint serialises it: the loop only reads it,
 *                    and no merge starts (deltas queue meanwhile).
 *   d->tally_readers answer jobs fill windows' summaries from it on the
 *                    pool (api.c): the same.  Merges and answer jobs take
 *                    turns: no answer job starts while deltas wait, but
 *                    at the end of each merge the questions held start
 *                    theirs, so neither questions asked back to back nor
 *                    lines arriving without a pause keep the other out.
 *   otherwise        the loop.
 *
 * A checkpoint's positions and counts must be one instant.  A read's end
 * moves its file's position at once and queues its delta, so positions
 * run ahead of the tally until the delta is merged.  daemon_checkpoint()
 * therefore starts only when nothing is queued or merging: otherwise it
 * sets d->draining, which holds the ends of reads (sources.c) until the
 * merges in flight are done, and is taken then (merge_done()).  A
 * snapshot (GET /v1/snapshot, api.c) holds the same two, so its job starts
 * the same way: at the end of the merge that empties the queue, before
 * the reads held meanwhile end. */
#include <stdlib.h>

#include "daemon.h"

static void merge_run(uv_work_t *w)
{
    daemon_pool_thread();
    struct merge_job *j = w->data;
    for (size_t i = 0; i < j->n; i++) {
        if (lt_tally_absorb(j->d->tally, j->deltas[i]) < 0)
            j->failed++;
        lt_tally_free(j->deltas[i]);
    }
}

static void merge_done(uv_work_t *w, int status)
{
    struct merge_job *j = w->data;
    lt_daemon *d = j->d;
    if (status != 0) {    /* never ran */
        for (size_t i = 0; i < j->n; i++)
            lt_tally_free(j->deltas[i]);
        j->failed = j->n;
    }
    if (j->failed)
        daemon_log(LOG_ERR_, "out of memory merging new lines; counts may be short");
    d->commit.held -= j->n;
    free(j->deltas);
    *j = (struct merge_job){0};
    d->merging = 0;
    d->merges++;
    d->generation++;
    /* The tally is the loop's again: answers held meanwhile first (and
     * windows' answer jobs start, deltas queued or not), then what waited
     * for the queue to empty, then the next merge. */
    d->answers_first = 1;
    http_release(d);    /* a snapshot waiting for this instant starts here */
    d->answers_first = 0;
    if (d->draining && commit_idle(d)) {
        d->draining = 0;
        if (d->checkpoint_waits) {
            d->checkpoint_waits = 0;
            daemon_checkpoint(d);
        }
        sources_thaw(d);
    }
    sources_committed(d);
    commit_kick(d);
}

void commit_kick(lt_daemon *d)
{
    commit_queue *q = &d->commit;
    if (d->merging || d->tally_frozen || d->tally_readers > 0 || q->n == 0)
        return;
    struct merge_job *j = &q->job;
    *j = (struct merge_job){.d = d, .deltas = q->deltas, .n = q->n};
    j->work.data = j;
    q->deltas = NULL;
    q->n = q->cap = 0;
    d->merging = 1;
    if (uv_queue_work(d->loop, &j->work, merge_run, merge_done) != 0) {
        merge_run(&j->work);
        merge_done(&j->work, 0);
    }
}

void commit_add(lt_daemon *d, lt_tally *delta)
{
    commit_queue *q = &d->commit;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 8;
        lt_tally **p = realloc(q->deltas, cap * sizeof(*p));
        if (p == NULL) {
            daemon_log(LOG_ERR_, "out of memory queueing new lines for a merge; not counted");
            lt_tally_free(delta);
            return;
        }
        q->deltas = p;
        q->cap = cap;
    }
    q->deltas[q->n++] = delta;
    q->held++;
    commit_kick(d);
}

void commit_free(lt_daemon *d)
{
    for (size_t i = 0; i < d->commit.n; i++)    /* no merge runs: the loop has ended */
        lt_tally_free(d->commit.deltas[i]);
    free(d->commit.deltas);
    d->commit = (commit_queue){0};
}
