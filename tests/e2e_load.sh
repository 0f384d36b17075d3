#!/usr/bin/env bash
# e2e_load.sh LOGTALLYD LOAD_CLIENTS LOGGEN
# 10 concurrent clients issue 200 summary queries each while the daemon
# ingests appended lines at full speed: all must be answered; the p99
# latency is printed (target: under 5 ms); the ingest time of the same
# amount of lines with and without the load is compared (the loaded rate
# must be at least 80 % of the unloaded one).
set -euo pipefail
logtallyd=$1
load=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock
lines=${LT_LOAD_LINES:-500000}

# The same part is appended again and again: the first warms the tables
# up, then rounds of alone / under load, each doing the same work (repeats
# add no new keys), up to five rounds until one reaches the bar: the best
# ratio counts.  On two cores, one of them sometimes taken by a neighbour,
# a passing scheduler hiccup must not decide the result; a daemon that
# slows under load fails every round.
"$loggen" --lines "$lines" --seed 11 --malformed 0 --out "$tmp/part"
: >"$tmp/access.log"
"$logtallyd" -s "$sock" -S "$tmp/state" "$tmp/access.log" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
valid() { curl -sf --unix-socket "$sock" 'http://localhost/v1/summary?n=0' | jq .valid; }

# Appends a part and returns the ms until every line is counted.
ingest() {
  local want=$2 start
  start=$(date +%s%N)
  cat "$1" >>"$tmp/access.log"
  until [ "$(valid)" = "$want" ]; do
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 60000 ] || fail "ingest stalled at $(valid)"
    sleep 0.02
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}

ingest "$tmp/part" "$lines" >/dev/null
best=0
sanitized=0
ldd "$logtallyd" 2>/dev/null | grep libasan >/dev/null && sanitized=1
for round in 1 2 3 4 5; do
  quiet=$(ingest "$tmp/part" $(((2 * round) * lines)))
  ( sleep 0.05; "$load" "$sock" 10 200 '/v1/summary?n=10' >"$tmp/load.out" ) &
  loader=$!
  loaded=$(ingest "$tmp/part" $(((2 * round + 1) * lines)))
  wait "$loader" || { cat "$tmp/load.out"; fail "some queries failed"; }
  # The polling of this script adds up to 20 ms to both.
  ratio=$(( (quiet + 20) * 100 / loaded ))
  echo "round $round: $lines lines in ${quiet} ms alone, ${loaded} ms under load ($ratio %)"
  echo "  10 clients x 200 queries while ingesting: $(cat "$tmp/load.out")"
  [ "$ratio" -gt "$best" ] && best=$ratio
  if [ "$sanitized" = 1 ]; then [ "$round" -lt 2 ] || break; else [ "$best" -lt 80 ] || break; fi
done
if [ "$sanitized" = 1 ]; then
  # Instrumented code measures the sanitizer, not the daemon: correctness
  # (every query answered) is checked, the ratio only printed.
  echo "NOTICE: sanitized build: ingest ratio $best % printed, not checked"
else
  [ "$best" -ge 80 ] || fail "ingest under load fell to $best % of the unloaded rate"
fi
"$load" "$sock" 10 200 '/v1/summary?n=10' | sed 's/^/after ingest: /'
kill -TERM "$pid"
wait "$pid"
pid=
