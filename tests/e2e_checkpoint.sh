#!/usr/bin/env bash
# e2e_checkpoint.sh LOGTALLYD LOGTALLY LOGGEN [CHECK...]
# Exactly once across stops, crashes and checkpoint trouble:
#   kill_early     kill -9 5 s after the start (before the first periodic
#                  checkpoint), a rotation, a restart: the first checkpoint
#                  is written when the initial ingest ends (truth 6,100;
#                  the daemon of commit 90cc6cc reported 100);
#   clean_stop     SIGTERM, 300 lines appended, a rotation, a start: the
#                  rotated file's tail is found among the path's siblings
#                  (truth 1,500; was 1,200);
#   root_only      a checkpoint only root may read, the daemon started as
#                  another user: it refuses to start, naming the state
#                  file, and leaves it unchanged; once the operator fixes
#                  the ownership, nothing is lost (truth 2,100; was 100,
#                  the history moved aside for good);
#   state_dir      a deleted state_dir is recreated by the next checkpoint;
#   failures       a checkpoint that cannot be written shows in /healthz
#                  (degraded, with the error) and /metrics, and clears once
#                  it can be written again;
#   inode_taken    an empty rotated file of the checkpoint (known by its
#                  inode alone) is gone while the daemon is stopped, and its
#                  inode is taken by logrotate's state file beside the logs'
#                  directory: not a log (truth 1,000; was 1,002, the state
#                  file's two lines counted as malformed, seen in a CI run
#                  of e2e_logrotate's copytruncate);
#   inode_copied   the same empty file's inode taken by logrotate's copy of
#                  access.log (copytruncate): the copy continues what was
#                  read through access.log (truth 1,000; was 1,600).
#                  Inode reuse cannot be forced, so both stand it in with
#                  the same inode: the empty file is moved, or filled.
# root_only and failures need root (to run the daemon as nobody); without
# it they are skipped with a notice.  With CHECK names, only those run.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
shift 3
here=$(dirname "$0")
. "$here/e2e_common.sh"
. "$here/e2e_once_common.sh"

check_kill_early() {
  gen 6100 201
  part 1 6000 >"$tmp/access.log"
  # The default checkpoint_interval (30 s): only the first checkpoint,
  # at the end of the initial ingest, can be there at the kill.
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log"
  local t0
  t0=$(date +%s%N)
  start_daemon "$tmp/c.yaml"
  want_lines 6000 "initial ingest" 0.2
  local left=$(( 5000 - ($(date +%s%N) - t0) / 1000000 ))
  [ "$left" -le 0 ] || sleep "$(awk -v ms="$left" 'BEGIN{print ms/1000}')"
  kill_daemon
  echo "  killed with SIGKILL 5 s after the start"
  mv "$tmp/access.log" "$tmp/access.log.1"
  part 6001 6100 >"$tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_truth "restarted after a rotation" 3
}

check_clean_stop() {
  gen 1500 202
  part 1 1200 >"$tmp/access.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_lines 1200 "before the stop" 0.2
  stop_daemon
  part 1201 1500 >>"$tmp/access.log"
  mv "$tmp/access.log" "$tmp/access.log.1"
  : >"$tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_truth "300 lines appended while stopped, then a rotation, then a start" 3
}

check_root_only() {
  need_root "the unreadable checkpoint check" || return 0
  mkdir "$tmp/state" "$tmp/run"
  chown nobody:nogroup "$tmp/state" "$tmp/run"
  sock=$tmp/run/s.sock
  gen 2100 203
  part 1 2000 >"$tmp/access.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_lines 2000 "read as root" 0.2
  stop_daemon
  local state=$tmp/state/logtally.state
  [ -f "$state" ] || fail "no state file after a clean stop"
  chmod 600 "$state"
  chown root:root "$state"
  echo "  state file: $(stat -c '%A %U' "$state")"
  local before listing
  before=$(sha256sum <"$state")
  listing=$(ls -A "$tmp/state")
  mv "$tmp/access.log" "$tmp/access.log.1"
  part 2001 2100 >"$tmp/access.log"

  rm -f "$sock"
  : >"$tmp/nobody.err"
  "${as_nobody[@]}" "$logtallyd" -c "$tmp/c.yaml" 2>"$tmp/nobody.err" &
  pid=$!
  local i status=running
  for i in $(seq 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0
      wait "$pid" || status=$?
      pid=
      break
    fi
    [ -S "$sock" ] && [ "$i" -gt 20 ] && break
    sleep 0.1
  done
  cat "$tmp/nobody.err" >>"$tmp/daemon.err"
  if [ "$status" = running ]; then
    fail "started as nobody although it cannot read $state: $(lines_now) lines counted, state_dir now holds: $(ls -A "$tmp/state" | tr '\n' ' ')"
  fi
  [ "$status" != 0 ] || fail "exit status 0 when the state file cannot be read"
  grep -q "$state" "$tmp/nobody.err" || fail "the message does not name $state: $(cat "$tmp/nobody.err")"
  [ "$(sha256sum <"$state")" = "$before" ] || fail "the state file changed"
  [ "$(ls -A "$tmp/state")" = "$listing" ] || fail "state_dir changed: $(ls -A "$tmp/state" | tr '\n' ' ')"
  echo "  as nobody: exit status $status, the state file left as it was"
  echo "    $(grep "$state" "$tmp/nobody.err" | head -1)"

  chown nobody:nogroup "$state"
  start_daemon_as_nobody "$tmp/c.yaml"
  want_truth "as nobody, once the state file is nobody's" 3
}

check_state_dir() {
  gen 300 204
  part 1 200 >"$tmp/a.log"
  write_config "$tmp/c.yaml" "checkpoint_interval: 200ms" "sources:" "  - path: $tmp/a.log"
  start_daemon "$tmp/c.yaml"
  want_lines 200 "a.log read" 0.2
  local state=$tmp/state/logtally.state i
  for i in $(seq 100); do [ -f "$state" ] && break; sleep 0.1; done
  [ -f "$state" ] || fail "no checkpoint written within 10 s"
  local t0
  t0=$(date +%s)
  rm -rf "$tmp/state"
  for i in $(seq 100); do [ -f "$state" ] && break; sleep 0.1; done
  [ -f "$state" ] || fail "state_dir deleted: not recreated within 10 s"
  echo "  state_dir deleted at $t0, recreated with a checkpoint"
  wait_health ".status == \"ok\" and .checkpoint.ok == true and .checkpoint.time >= $t0" \
    "the next checkpoint succeeded"
  part 201 300 >>"$tmp/a.log"
  want_truth "100 lines more" 0.5
  sleep 0.5
  kill_daemon
  start_daemon "$tmp/c.yaml"
  want_truth "after kill -9, from the recreated checkpoint" 2
}

check_failures() {
  need_root "the checkpoint failure check" || return 0
  mkdir "$tmp/state" "$tmp/run"
  chown nobody:nogroup "$tmp/state" "$tmp/run"
  sock=$tmp/run/s.sock
  gen 200 205
  part 1 100 >"$tmp/a.log"
  write_config "$tmp/c.yaml" "checkpoint_interval: 200ms" "sources:" "  - path: $tmp/a.log"
  start_daemon_as_nobody "$tmp/c.yaml"
  want_lines 100 "a.log read" 0.2
  wait_health '.status == "ok" and .checkpoint.ok == true and (.checkpoint.time | type) == "number"' \
    "checkpoints written"
  chmod 0500 "$tmp/state"
  wait_health '.status == "degraded" and .checkpoint.ok == false and
               (.checkpoint.error | type) == "string" and (.checkpoint.error | length) > 0' \
    "state_dir made read-only"
  local m fails last
  m=$(api /metrics)
  fails=$(awk '$1 == "logtally_checkpoint_failures_total" {print $2}' <<<"$m")
  last=$(awk '$1 == "logtally_checkpoint_last_success_timestamp_seconds" {print $2}' <<<"$m")
  echo "  /metrics: logtally_checkpoint_failures_total ${fails:-absent}," \
    "logtally_checkpoint_last_success_timestamp_seconds ${last:-absent}"
  awk -v f="${fails:-0}" 'BEGIN{exit !(f > 0)}' || fail "logtally_checkpoint_failures_total is ${fails:-absent}, not > 0"
  awk -v t="${last:-0}" 'BEGIN{exit !(t > 1000000000)}' ||
    fail "logtally_checkpoint_last_success_timestamp_seconds is ${last:-absent}"
  chmod 0700 "$tmp/state"
  wait_health '.status == "ok" and .checkpoint.ok == true' "state_dir writable again"
  part 101 200 >>"$tmp/a.log"
  want_truth "100 lines more" 0.5
}

# An empty access.log.1 beside 600 lines of access.log, under a glob, in
# the checkpoint of a stopped daemon.
empty_rotated_then_stop() {
  mkdir "$tmp/logs"
  gen 1000 "$1"
  part 1 600 >"$tmp/logs/access.log"
  : >"$tmp/logs/access.log.1"
  write_config "$tmp/c.yaml" "sources:" "  - path: \"$tmp/logs/access.log*\""
  start_daemon "$tmp/c.yaml"
  want_lines 600 "access.log read" 0.2
  local i
  for i in $(seq 100); do
    [ "$(source_state "$tmp/logs/access.log.1")" != absent ] && break
    sleep 0.1
  done
  [ "$(source_state "$tmp/logs/access.log.1")" != absent ] ||
    fail "the empty access.log.1 is not among the sources"
  stop_daemon
}

check_inode_taken() {
  empty_rotated_then_stop 206
  mv "$tmp/logs/access.log.1" "$tmp/lr.status"
  printf 'logrotate state -- version 2\n"%s" 2026-12-4-4:0:0\n' "$tmp/logs/access.log" \
    >>"$tmp/lr.status"
  part 601 1000 >>"$tmp/logs/access.log"
  start_daemon "$tmp/c.yaml"
  want_truth "access.log.1 gone, its inode now logrotate's state file" 3
}

check_inode_copied() {
  empty_rotated_then_stop 207
  cat "$tmp/logs/access.log" >>"$tmp/logs/access.log.1"
  : >"$tmp/logs/access.log"
  part 601 1000 >>"$tmp/logs/access.log"
  start_daemon "$tmp/c.yaml"
  want_truth "access.log.1's inode now holds a copy of access.log, then truncated" 3
}

run_checks kill_early clean_stop root_only state_dir failures inode_taken inode_copied -- "$@"
