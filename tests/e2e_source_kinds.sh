#!/usr/bin/env bash
# e2e_source_kinds.sh LOGTALLYD LOGTALLY LOGGEN [CHECK...]
# Only regular files are read, and many of them cost little:
#   fifo_ingest    four FIFOs among the sources do not stop a regular file
#                  from being read, and /v1/sources shows each as "refused"
#                  with a reason (the daemon of commit 90cc6cc blocked a
#                  pool thread in open() on each: no ingest at all);
#   fifo_sigterm   with a FIFO among the sources SIGTERM completes, within
#                  2 s (it never did);
#   state_socket   the state file and the socket, named as sources, are
#                  refused, never counted as lines (the checkpoints were
#                  counted as malformed lines);
#   many_files     5,000 matched files under `ulimit -n 1024`: the daemon
#                  starts, /healthz answers, the files beyond the descriptor
#                  budget wait in state "queued", and every line is counted
#                  (it failed to start: "cannot bind ...: too many open
#                  files");
#   idle_files     5,000 idle files followed through inotify cost under 5 %
#                  of a core and under 64 MiB of resident memory (they cost
#                  a core and 352 MB: a 2 MiB buffer each).  Sanitized
#                  builds measure the sanitizer: there the CPU bound is 10 %
#                  and the memory is printed, not checked.
# With CHECK names, only those run.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
shift 3
here=$(dirname "$0")
. "$here/e2e_common.sh"
. "$here/e2e_once_common.sh"
sanitized=0
if ldd "$logtallyd" 2>/dev/null | grep libasan >/dev/null; then sanitized=1; fi

# want_refused PATH: /v1/sources shows PATH as refused, with a reason.
want_refused() {
  local got
  got=$(api /v1/sources | jq -c --arg p "$1" '[.sources[] | select(.path == $p) | {state, reason}]')
  jq -e 'length == 1 and .[0].state == "refused" and (.[0].reason | type) == "string" and
         (.[0].reason | length) > 0' >/dev/null <<<"$got" ||
    fail "$1: want one entry, refused with a reason, got $got"
  echo "  $(basename "$1"): $got"
}

check_fifo_ingest() {
  gen 1000 301
  local f conf=("sources:")
  for f in 1 2 3 4; do
    mkfifo "$tmp/fifo$f"
    conf+=("  - path: $tmp/fifo$f")
  done
  conf+=("  - path: $tmp/a.log")
  write_config "$tmp/c.yaml" "${conf[@]}"
  part 1 1000 >"$tmp/a.log"
  start_daemon "$tmp/c.yaml"
  want_deadline=15 want_truth "a regular file beside four FIFOs" 1
  for f in 1 2 3 4; do want_refused "$tmp/fifo$f"; done
  wait_health '.status == "ok"' "still healthy"
}

check_fifo_sigterm() {
  gen 10 302
  mkfifo "$tmp/fifo"
  part 1 10 >"$tmp/a.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/fifo" "  - path: $tmp/a.log"
  start_daemon "$tmp/c.yaml"
  sleep 1
  local t0 i status=running
  t0=$(date +%s%N)
  kill -TERM "$pid"
  for i in $(seq 20); do
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" || status=$?
      pid=
      break
    fi
    sleep 0.1
  done
  [ "$status" != running ] || fail "SIGTERM with a FIFO among the sources: still running after 2 s"
  [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
  echo "  SIGTERM: exit 0 in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

check_state_socket() {
  gen 100 303
  part 1 100 >"$tmp/a.log"
  local state=$tmp/state/logtally.state
  write_config "$tmp/c.yaml" "checkpoint_interval: 200ms" "sources:" "  - path: $tmp/a.log" \
    "  - path: $state" "  - path: $sock"
  start_daemon "$tmp/c.yaml"
  want_truth "a.log's lines only, 3 s of checkpoints later" 3
  want_refused "$state"
  want_refused "$sock"
  stop_daemon
  [ -f "$state" ] || fail "no state file"
  start_daemon "$tmp/c.yaml"
  want_truth "restarted with the state file there from the start" 2
  want_refused "$state"
  want_refused "$sock"
}

# N files of LINES lines each, from $tmp/all.log, in $tmp/logs.
split_files() {
  mkdir "$tmp/logs"
  awk -v d="$tmp/logs" -v per="$1" '{
    f = sprintf("%s/f%04d.log", d, int((NR - 1) / per)); print > f
    if (NR % per == 0) close(f) }' "$tmp/all.log"
}

check_many_files() {
  gen 200000 304
  split_files 40
  echo "  $(ls "$tmp/logs" | wc -l) files of 40 lines"
  write_config "$tmp/c.yaml" "sources:" "  - path: \"$tmp/logs/*.log\""
  rm -f "$sock"
  ( ulimit -n 1024 && exec "$logtallyd" -c "$tmp/c.yaml" ) 2>>"$tmp/daemon.err" &
  pid=$!
  wait_ready
  echo "  under ulimit -n 1024: /healthz $(health)"
  local want got lines n states queued_seen=0 observed=0 start
  want=$(jq -c "$fields" "$tmp/truth.json")
  start=$(date +%s)
  while :; do
    lines=$(lines_now)
    got=$(api /v1/sources | jq -c '[(.sources | length), (.sources | group_by(.state) |
      map({(.[0].state): length}) | add)]') || got='?'
    if [ "$lines" != 200000 ]; then
      observed=$((observed + 1))
      jq -e '.[1].queued > 0' >/dev/null 2>&1 <<<"$got" && queued_seen=1
      echo "  $lines lines; sources and their states: $got"
    else
      break
    fi
    [ $(( $(date +%s) - start )) -lt 180 ] || fail "after 180 s: $lines lines of 200000; $got"
    sleep 0.5
  done
  want_deadline=30 want_truth "5,000 files under ulimit -n 1024" 1
  n=$(api /v1/sources | jq '.sources | length')
  [ "$n" = 5000 ] || fail "/v1/sources lists $n files, not 5000"
  if [ "$observed" = 0 ]; then
    echo "  NOTICE: every line was read before the first look at /v1/sources: queued not seen"
  else
    [ "$queued_seen" = 1 ] || fail "over the descriptor budget, no file was ever shown queued"
    echo "  files beyond the descriptor budget were shown queued"
  fi
  wait_health '.status == "ok"' "after the ingest"
}

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

check_idle_files() {
  gen 25000 305
  split_files 5
  write_config "$tmp/c.yaml" "sources:" "  - path: \"$tmp/logs/*.log\""
  start_daemon "$tmp/c.yaml"
  want_deadline=120 want_truth "5,000 files read" 1
  sleep 2
  local hz t0 t1 pct rss max_pct=5
  [ "$sanitized" = 0 ] || max_pct=10
  hz=$(getconf CLK_TCK)
  t0=$(cpu_ticks "$pid")
  sleep 10
  t1=$(cpu_ticks "$pid")
  pct=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.1f", (b - a) / hz / 10 * 100}')
  rss=$(awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$pid/status")
  echo "  5,000 idle files: $pct % of a core over 10 s, resident $rss MiB"
  awk -v p="$pct" -v m="$max_pct" 'BEGIN{exit !(p < m)}' ||
    fail "5,000 idle files cost $pct % of a core, not under $max_pct %"
  if [ "$sanitized" = 1 ]; then
    echo "  NOTICE: sanitized build: resident memory printed, not checked"
  else
    [ "$rss" -lt 64 ] || fail "5,000 idle files: resident $rss MiB, not under 64 MiB"
  fi
}

run_checks fifo_ingest fifo_sigterm state_socket many_files idle_files -- "$@"
