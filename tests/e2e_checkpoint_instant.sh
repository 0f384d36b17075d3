#!/usr/bin/env bash
# e2e_checkpoint_instant.sh LOGTALLYD LOGTALLY LOGGEN
# Every checkpoint is one instant: its counts are exactly the lines before
# its positions.  The daemon reads a large backlog (parallel parts, then
# plain jobs) while it checkpoints every 100 ms; the tally is serialised on
# the thread pool while read jobs keep ending.  Every state file written
# during the ingest is copied, and each must:
#   - read back (`logtally merge` checks its internal sums);
#   - count in its counters exactly the lines its source entry says were
#     read, and that many newlines lie before the entry's offset.
# A read job merged while a checkpoint is serialised breaks one of these.
# Then the same of every /v1/snapshot taken back to back while a file grows
# 1,000 lines at a time: a snapshot whose job started while a read's delta
# was still queued held that read's position but not its lines (5 of 111
# before the snapshot waited for the queue to empty, as a checkpoint does).
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -15 "$tmp/daemon.err" | sed 's/^/  daemon: /'; exit 1; }

# Many clients and URLs, so a serialisation takes long enough to overlap
# the merges of the jobs that end meanwhile.
"$loggen" --lines 1500000 --seed 7 --clients 400000 --urls 150000 --out "$tmp/access.log"
# start_daemon NAME INTERVAL LOG: logtallyd on $tmp/NAME.sock, state in
# $tmp/NAME, checkpoints every INTERVAL, following LOG; its pid in $pid.
start_daemon() {
  printf 'socket: %s\nstate_dir: %s\ncheckpoint_interval: %s\nthreads: 2\nsources:\n  - path: %s\n' \
    "$tmp/$1.sock" "$tmp/$1" "$2" "$3" >"$tmp/$1.yaml"
  "$logtallyd" -c "$tmp/$1.yaml" 2>"$tmp/daemon.err" &
  pid=$!
}
start_daemon state 100ms "$tmp/access.log"
mkdir "$tmp/copies"
state=$tmp/state/logtally.state
last=
n=0
done_at=
for k in $(seq 6000); do
  if [ -f "$state" ]; then
    id=$(stat -c '%i %Y %s' "$state" 2>/dev/null || true)
    if [ -n "$id" ] && [ "$id" != "$last" ]; then
      # Written by rename: a copy is one whole checkpoint.
      cp "$state" "$tmp/copies/$n" 2>/dev/null && n=$((n + 1))
      last=$id
    fi
  fi
  if [ -z "$done_at" ] && [ $((k % 10)) -eq 0 ] &&
     "$logtally" -s "$tmp/state.sock" summary --json 2>/dev/null | grep -q '"catching_up":false'; then
    done_at=$n
  fi
  [ -n "$done_at" ] && [ $((n - done_at)) -ge 2 ] && break
  sleep 0.01
done
kill "$pid"
wait "$pid" || fail "the daemon did not stop cleanly"
pid=
[ -n "$done_at" ] || fail "the daemon did not catch up"
cp "$state" "$tmp/copies/$n"
n=$((n + 1))
[ "$n" -ge 3 ] || fail "only $n checkpoints taken during the ingest"

for i in $(seq 0 $((n - 1))); do
  "$logtally" merge --json "$tmp/copies/$i" >"$tmp/merged.json" 2>"$tmp/merge.err" ||
    fail "checkpoint $i does not read back: $(cat "$tmp/merge.err")"
done
python3 "$(dirname "$0")/snapshot_instant.py" "$tmp/access.log" "$tmp/copies" "$n" checkpoint

# Snapshots while lines arrive.
"$loggen" --lines 1500000 --seed 8 --clients 300000 --urls 100000 --out "$tmp/src.log"
split -l 1000 -d -a 4 "$tmp/src.log" "$tmp/part."
: >"$tmp/grows.log"
start_daemon g 1h "$tmp/grows.log"
for _ in $(seq 100); do [ -S "$tmp/g.sock" ] && break; sleep 0.05; done
(for f in "$tmp"/part.*; do cat "$f" >>"$tmp/grows.log"; sleep 0.002; done) &
writer=$!
rm -rf "$tmp/copies" && mkdir "$tmp/copies"
n=0
while kill -0 "$writer" 2>/dev/null; do
  curl -sf --max-time 20 --unix-socket "$tmp/g.sock" -o "$tmp/copies/$n" \
    http://localhost/v1/snapshot || fail "snapshot $n"
  n=$((n + 1))
done
kill "$pid"
wait "$pid" || fail "the daemon did not stop cleanly"
pid=
[ "$n" -ge 5 ] || fail "only $n snapshots taken while the file grew"
python3 "$(dirname "$0")/snapshot_instant.py" "$tmp/grows.log" "$tmp/copies" "$n" snapshot
echo "PASS: every checkpoint taken during the ingest, and every snapshot taken while lines arrived, is one instant"
