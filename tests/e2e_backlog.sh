#!/usr/bin/env bash
# e2e_backlog.sh LOGTALLYD LOGTALLY LOGGEN
# The daemon's initial ingest of a large file, read in backlog parts on
# every reader thread (lib/ingest.c's engine, up to 1 GiB a part):
#   1. with `threads: 1` and `threads: 2`, a 1.6-million-line (285 MB) log
#      (four copies of a generated one) that is there before the daemon
#      starts is counted exactly as `logtally
#      analyze` counts it: counters, clients, peak, top URLs, the malformed
#      samples with their line numbers, and the file's position and line
#      counts in /v1/sources;
#      the backlog was read in parts (logtally_ingest_parts_total > 0 in
#      /metrics) with either, by pool threads 10 nice levels below the
#      loop;
#   2. killed with SIGKILL between two parts of a 1.1 GB log (four copies
#      again) and started again, the daemon resumes from its checkpoint and
#      ends with the numbers of `analyze`: nothing lost, nothing counted
#      twice;
#   3. the file copy-truncated while its part is read and refilled with
#      1,000 lines: the part is dropped, and the daemon sees the truncation
#      and ends with exactly those 1,000 lines read since;
#   4. a 21 MB backlog that ends inside an unfinished line of 1.5 MiB is
#      read in a part, whole (not taken for a truncation and dropped), the
#      line counted once.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock
log=$tmp/access.log

"$loggen" --lines 400000 --seed 4242 --out "$tmp/one" --truth "$tmp/truth.json"
cat "$tmp/one" "$tmp/one" "$tmp/one" "$tmp/one" >"$log"
rm "$tmp/one"
size=$(stat -c %s "$log")
fields='[.lines, .valid, .malformed, .unparsed_requests, .bytes, .clients, .first_ts, .last_ts, .peak,
         (.top[:10] | map([.url, .count])), (.malformed_samples | map([.line, .reason, .text]))]'
"$logtally" analyze --json --threads 1 --top 10 "$log" | jq -c "$fields" >"$tmp/want"
[ "$(jq -r '.[0]' "$tmp/want")" = 1600000 ] || fail "analyze read $(jq -r '.[0]' "$tmp/want") lines"

api() { curl -sf --unix-socket "$sock" "http://localhost$1"; }
start_daemon() {    # threads
  cat >"$tmp/c.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
checkpoint_interval: 100ms
threads: $1
sources:
  - path: $log
YAML
  rm -f "$sock"
  "$logtallyd" -c "$tmp/c.yaml" 2>>"$tmp/daemon.err" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || fail "the daemon did not create its socket"
}
stop_daemon() { kill "$pid"; wait "$pid" || fail "logtallyd exited $?"; pid=; }
# Waits (up to 120 s: sanitizer builds are slow) until every line is read.
lines=1600000
wait_all() {
  for _ in $(seq 1200); do
    [ "$(api /v1/summary | jq -r .lines)" = "$lines" ] && return 0
    sleep 0.1
  done
  fail "the daemon did not read the whole backlog: $(api /v1/summary | jq -c '[.lines, .valid]')"
}
check_numbers() {    # label
  api "/v1/summary?n=10" | jq -c "$fields" >"$tmp/got"
  cmp -s "$tmp/want" "$tmp/got" || fail "$1: the daemon's numbers differ from analyze's
  want $(cat "$tmp/want")
  got  $(cat "$tmp/got")"
  local src
  src=$(api /v1/sources | jq -c '.sources[0] | [.offset, .size, .lines, .malformed]')
  [ "$src" = "[$size,$size,$lines,$(jq -r ".[2]" "$tmp/want")]" ] ||
    fail "$1: /v1/sources says $src"
}
parts() { api /metrics | awk '$1 == "logtally_ingest_parts_total" { print $2 }'; }

echo "1. the initial ingest with 1 and 2 reader threads"
for threads in 1 2; do
  rm -rf "$tmp/state"
  start=$(date +%s%N)
  start_daemon "$threads"
  wait_all
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  check_numbers "threads: $threads"
  n=$(parts)
  echo "  threads: $threads: all 1,600,000 lines in $ms ms, equal to analyze; $n backlog parts"
  [ "$n" -gt 0 ] || fail "threads: $threads read no backlog part"
  # The loop answers at the test's nice value; the pool threads that read
  # run 10 below it.
  loop_nice=$(awk '{ print $19 }' "/proc/$pid/stat")
  want=$(( $(nice) + 10 > 19 ? 19 : $(nice) + 10 ))
  niced=$(cat /proc/"$pid"/task/*/stat | awk -v w="$want" '$19 == w' | wc -l)
  [ "$loop_nice" = "$(nice)" ] && [ "$niced" -ge 1 ] ||
    fail "threads: $threads: the loop runs at nice $loop_nice, $niced threads at nice $want"
  stop_daemon
done

echo "2. SIGKILL while a backlog part is read, then a restart"
cp "$log" "$tmp/small.log"
"$logtally" analyze --json --top 10 <(cat "$log" "$log") | jq -c "$fields" >"$tmp/want2"
rm -rf "$tmp/state"
start_daemon 2
wait_all
before=$(api /metrics | awk '$1 == "logtally_checkpoint_last_success_timestamp_seconds" { print $2 }')
for _ in $(seq 300); do
  now=$(api /metrics | awk '$1 == "logtally_checkpoint_last_success_timestamp_seconds" { print $2 }')
  [ "$now" != "$before" ] && break
  sleep 0.02
done
cat "$tmp/small.log" >>"$log"    # a second part, read while the daemon is killed
size=$(stat -c %s "$log")
lines=3200000
sleep 0.05
done_bytes=$(api /metrics | awk '$1 == "logtally_ingest_read_bytes" { print $2 }')
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "  killed after $done_bytes of $size bytes"
mv "$tmp/want2" "$tmp/want"
start_daemon 2
wait_all
check_numbers "after SIGKILL"
grep -q "resuming at byte" "$tmp/daemon.err" || fail "the restart did not resume from the checkpoint"
echo "  resumed from the checkpoint; the same numbers as analyze"
stop_daemon

echo "3. copytruncate while a backlog part is read"
mv "$tmp/small.log" "$log"
head -n 1000 "$log" >"$tmp/head"
rm -rf "$tmp/state"
lines=1600000
start_daemon 2
wait_all
cat "$log" >>"$log.more" && cat "$log.more" >>"$log" && rm "$log.more"    # a second part
sleep 0.05
done_bytes=$(api /metrics | awk '$1 == "logtally_ingest_read_bytes" { print $2 }')
: >"$log"
cat "$tmp/head" >>"$log"
want="[$(stat -c %s "$log"),1000,1]"
for _ in $(seq 300); do
  src=$(api /v1/sources | jq -c '.sources[0] | [.offset, .lines, .truncations]')
  [ "$src" = "$want" ] && break
  sleep 0.1
done
[ "$src" = "$want" ] || fail "after the truncation /v1/sources says [offset, lines, truncations] = $src, not $want"
echo "  truncated after $done_bytes bytes; the 1,000 lines written since are read, once"
stop_daemon

echo "4. a backlog that ends inside an unfinished line over 1 MiB"
"$loggen" --lines 120000 --seed 5 --out "$log"
head -c $((3 << 19)) /dev/zero | tr '\0' x >>"$log"    # a writer stalled mid-line
lines=120001    # the overlong line counts once, by its head, as malformed
rm -rf "$tmp/state"
start_daemon 2
wait_all
n=$(parts)
src=$(api /v1/sources | jq -c '.sources[0] | [.offset, .size]')
[ "$src" = "[$(stat -c %s "$log"),$(stat -c %s "$log")]" ] || fail "/v1/sources says [offset, size] = $src"
# Each part that is read counts; one dropped as if the file had shrunk
# would not, and the backlog would be read again by 8 MiB plain jobs.
[ "$n" -ge 1 ] || fail "the backlog was not read in a part ($n parts): the part was dropped"
echo "  $(stat -c %s "$log") bytes in $n part(s); the unfinished line counted once"
stop_daemon
echo "e2e_backlog: ok"
