#!/usr/bin/env bash
# e2e_window_answers.sh LOGTALLYD LOGTALLY LOGGEN
# A window's summary unions its buckets' clients and URLs, work that grows
# with the window; the daemon does it on its thread pool, not its loop:
#   1. on eleven days of 358 K distinct clients, while windowed summaries
#      are asked back to back (each one new to the answer cache), /healthz
#      answers within 50 ms every time, and each windowed answer took
#      longer than that, so that a loop doing the work would have missed;
#   2. the answers are analyze's for the same window, and the text form
#      (`logtally summary --from --to`) comes through the same way;
#   3. while six clients ask windows without a pause and lines arrive in
#      small appends, every question is answered and every line counted:
#      neither keeps the other out;
#   4. /v1/snapshot (tens of megabytes of sets and tables) is serialised
#      off the loop too: /healthz within 50 ms while three are taken, and
#      each snapshot merges back into the daemon's counts.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock
log=$tmp/access.log
lines=${LT_WINDOW_LINES:-2000000}

"$loggen" --lines "$lines" --rps 2 --seed 5 --clients 1000000 --client-skew 0 --out "$log"
"$logtallyd" -s "$sock" -S "$tmp/state" "$log" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
ask() { curl -sf --max-time 20 --unix-socket "$sock" "http://localhost$1"; }
for _ in $(seq 1200); do
  [ "$(ask '/v1/summary?n=0' | jq .lines)" = "$lines" ] && break
  sleep 0.1
done
[ "$(ask '/v1/summary?n=0' | jq .lines)" = "$lines" ] || fail "not every line counted"

# poll_health N: /healthz N times, 5 ms apart, in the background; the
# times go to $tmp/health and the poller's pid to $poller.
poll_health() {
  (for _ in $(seq "$1"); do
     curl -s --unix-socket "$sock" -o /dev/null -w '%{time_total}\n' http://localhost/healthz
     sleep 0.005
   done) >"$tmp/health" &
  poller=$!
  sleep 0.05
}

from=2024-01-01T00:00:00Z to=2024-01-13T00:00:00Z
# 1. /healthz every 5 ms while eight windowed summaries are asked in turn.
poll_health 400
: >"$tmp/windows"
for n in 10 11 12 13 14 15 16 17; do
  curl -sf --unix-socket "$sock" -o "$tmp/w$n" -w '%{time_total}\n' \
    "http://localhost/v1/summary?from=$from&to=$to&n=$n" >>"$tmp/windows" || fail "window n=$n"
done
wait "$poller"
slowest_health=$(sort -g "$tmp/health" | tail -1)
fastest_window=$(sort -g "$tmp/windows" | head -1)
echo "windowed summaries: $(sort -g "$tmp/windows" | tr '\n' ' ')s; /healthz meanwhile: max ${slowest_health}s of $(wc -l <"$tmp/health")"
awk -v h="$slowest_health" 'BEGIN { exit !(h < 0.050) }' ||
  fail "/healthz took ${slowest_health}s while windows were answered"
awk -v w="$fastest_window" 'BEGIN { exit !(w > 0.050) }' ||
  fail "the windows took ${fastest_window}s: too little work to tell the loop was spared"

# 2. The same answer as analyze's, and the text form.
fields='[.window, .lines, .bytes, .clients, .status, .methods, (.top | map([.url, .count]))]'
"$logtally" analyze --json --from "$from" --to "$to" -n 17 "$log" >"$tmp/analyze.json"
[ "$(jq -c "$fields" "$tmp/w17")" = "$(jq -c "$fields" "$tmp/analyze.json")" ] ||
  fail "the daemon's window is not analyze's: $(jq -c "$fields" "$tmp/w17" | head -c 300)"
"$logtally" -s "$sock" summary --from "$from" --to "$to" >"$tmp/text" || fail "logtally summary"
grep -q "clients" "$tmp/text" || fail "the text summary has no clients: $(head -5 "$tmp/text")"

# 3. Six clients ask windows without a pause while lines arrive in 40
#    appends 50 ms apart: every question is answered (a window does not
#    wait for the lines to stop), and every line is counted (nor do the
#    lines wait for the questions to stop).
"$loggen" --lines 100000 --rps 2 --seed 6 --clients 1000000 --client-skew 0 --start 1706745600 \
  --out "$tmp/more"
split -n l/40 "$tmp/more" "$tmp/piece."
: >"$tmp/asked"
askers=
for k in 1 2 3 4 5 6; do
  (while :; do
     if ask "/v1/summary?from=$from&to=$to&n=$((RANDOM % 1000 + 20))" >/dev/null; then
       echo "ok $k" >>"$tmp/asked"
     else
       echo "failed $k" >>"$tmp/asked"
     fi
   done) &
  askers="$askers $!"
done
for f in "$tmp"/piece.*; do cat "$f" >>"$log"; sleep 0.05; done
want=$((lines + 100000))
for _ in $(seq 300); do
  [ "$(ask '/v1/summary?n=0' | jq .lines)" = "$want" ] && break
  sleep 0.1
done
got=$(ask '/v1/summary?n=0' | jq .lines)
# shellcheck disable=SC2086
kill $askers 2>/dev/null || true
# shellcheck disable=SC2086
wait $askers 2>/dev/null || true
[ "$got" = "$want" ] || fail "lines appended under window questions: $got of $want counted in 30 s"
! grep -q failed "$tmp/asked" || fail "window questions failed while lines arrived: $(grep -c failed "$tmp/asked")"
for k in 1 2 3 4 5 6; do
  grep -q "ok $k" "$tmp/asked" || fail "client $k got no window answered while lines arrived"
done
echo "while lines arrived: $(grep -c ok "$tmp/asked") windows answered, none failed"
# 4. Snapshots, /healthz asked every 5 ms meanwhile.
poll_health 200
: >"$tmp/snaps"
for k in 1 2 3; do
  curl -sf --unix-socket "$sock" -o "$tmp/snap$k" -w '%{time_total}\n' \
    http://localhost/v1/snapshot >>"$tmp/snaps" || fail "snapshot $k"
done
wait "$poller"
snap_health=$(sort -g "$tmp/health" | tail -1)
echo "snapshots: $(sort -g "$tmp/snaps" | tr '\n' ' ')s, $(stat -c %s "$tmp/snap3") bytes; /healthz meanwhile: max ${snap_health}s"
awk -v h="$snap_health" 'BEGIN { exit !(h < 0.050) }' ||
  fail "/healthz took ${snap_health}s while snapshots were taken"
awk -v w="$(sort -g "$tmp/snaps" | head -1)" 'BEGIN { exit !(w > 0.050) }' ||
  fail "the snapshots took too little to tell the loop was spared"
[ "$("$logtally" merge --json "$tmp/snap3" | jq .lines)" = "$want" ] ||
  fail "the snapshot does not hold the $want lines counted"

echo "OK: windows and snapshots answered off the loop (healthz max ${slowest_health}s, ${snap_health}s), as analyze, lines kept flowing"
