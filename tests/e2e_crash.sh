#!/usr/bin/env bash
# e2e_crash.sh LOGTALLYD LOGGEN [ROUNDS]
# Exactly once across crashes: a writer appends a generated log in chunks of
# random size while the daemon, checkpointing every 100 ms, is killed with
# SIGKILL at random moments (mid-ingest, mid-append, mid-checkpoint) and
# restarted, ROUNDS times (default 20).  Once everything is written, the
# final summary must equal the generator's truth exactly.
set -euo pipefail
logtallyd=$1
loggen=$2
rounds=${3:-20}
tmp=$(mktemp -d)
pid=
writer=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$writer" ] && kill "$writer" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
sock=$tmp/s.sock
fail() { echo "FAIL: $*"; tail -15 "$tmp/daemon.err" | sed 's/^/  daemon: /'; exit 1; }

"$loggen" --lines 150000 --seed 99 --out "$tmp/all.log" --truth "$tmp/truth.json"
cat >"$tmp/c.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
checkpoint_interval: 100ms
sources:
  - path: $tmp/access.log
YAML
: >"$tmp/access.log"

start_daemon() {
  rm -f "$sock"
  "$logtallyd" -c "$tmp/c.yaml" 2>>"$tmp/daemon.err" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.02; done
  fail "the daemon did not start"
}

# The writer: chunks of 1..4000 lines, with pauses, until the log is out.
( total=$(wc -l <"$tmp/all.log"); at=1
  while [ "$at" -le "$total" ]; do
    n=$((RANDOM % 4000 + 1))
    sed -n "${at},$((at + n - 1))p" "$tmp/all.log" >>"$tmp/access.log"
    at=$((at + n))
    sleep "0.0$((RANDOM % 5))"
  done ) &
writer=$!

start_daemon
for round in $(seq "$rounds"); do
  sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  start_daemon
done
wait "$writer"
writer=

fields='[.lines, .valid, .malformed, .unparsed_requests, .bytes, .clients.ipv4, .clients.ipv6,
         .clients.other, .peak.requests, (.top[:10] | map([.url, .count]))]'
want=$(jq -c "$fields" "$tmp/truth.json")
start=$(date +%s)
while :; do
  got=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq -c "$fields")
  [ "$got" = "$want" ] && break
  [ $(( $(date +%s) - start )) -lt 20 ] || fail "after $rounds kills the counts differ
  want $want
  got  $got"
  sleep 0.2
done
echo "$rounds kills -9 at random moments: every line counted exactly once"
echo "  $(grep -c 'resuming at byte' "$tmp/daemon.err") resumptions; final: $(echo "$got" | cut -c1-120)"
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=

# A damaged state file is refused, moved aside, and the daemon starts fresh.
printf 'LOGTALLY garbage' >"$tmp/state/logtally.state"
start_daemon
grep -q "refused: .*moved aside to" "$tmp/daemon.err" || fail "no message about the bad state file"
ls "$tmp"/state/logtally.state.bad-* >/dev/null || fail "the bad state file was not kept"
kill -TERM "$pid"
wait "$pid"
pid=
echo "a damaged state file is refused and kept aside"
