#!/usr/bin/env bash
# e2e_hostile.sh LOGTALLYD HOSTILE_CLIENTS LOGGEN
# Hostile clients on the socket while the daemon ingests appends: the
# daemon must stay up, keep ingesting (every appended line counted), answer
# a polite client within 1 s throughout, and keep its memory bounded.
set -euo pipefail
logtallyd=$1
hostile=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock

"$loggen" --lines 60000 --seed 5 --malformed 0 --out "$tmp/all.log"
: >"$tmp/access.log"
"$logtallyd" -s "$sock" -S "$tmp/state" "$tmp/access.log" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# Append 60,000 lines in 20 bursts while the clients misbehave.
( for i in $(seq 0 19); do
    sed -n "$((i * 3000 + 1)),$(((i + 1) * 3000))p" "$tmp/all.log" >>"$tmp/access.log"
    sleep 0.25
  done ) &
writer=$!
"$hostile" "$sock" 6 | tee "$tmp/hostile.out" || fail "hostile clients: see above"
wait "$writer"
kill -0 "$pid" 2>/dev/null || fail "the daemon died"

start=$(date +%s)
until [ "$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq .valid)" = 60000 ]; do
  [ $(( $(date +%s) - start )) -lt 5 ] || fail "ingest fell behind: $(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq .valid) of 60000"
  sleep 0.1
done
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "every appended line counted; daemon peak RSS ${rss} kB"
[ "$rss" -lt 262144 ] || fail "peak RSS ${rss} kB is over 256 MiB"
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=
echo "hostile clients: ok"
