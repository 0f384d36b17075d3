#!/usr/bin/env bash
# e2e_daemon.sh LOGTALLYD LOGTALLY LOGGEN
# Runs the real daemon and the real client over the real socket:
#   1. following an empty file that receives 30,000 lines, is rotated by
#      rename with 30,000 more in a new file, then copy-truncated with
#      30,000 more: exactly 90,000 valid lines, the generator's client count
#      and top URLs, each step visible within 2 seconds of the write;
#   2. curl --unix-socket and `logtally summary --json` agree;
#   3. SIGHUP with a broken configuration keeps the daemon on the old one;
#      SIGTERM exits 0 within a second and removes the socket;
#   4. a configuration with a YAML syntax error or an unknown key makes
#      logtallyd exit non-zero naming file:line:col;
#   5. the client's exit codes when the daemon is not running.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/logtally.sock
log=$tmp/access.log


# One 90,000-line log with its truth, written in three parts.
"$loggen" --lines 90000 --seed 777 --malformed 0 --out "$tmp/all.log" --truth "$tmp/truth.json"
head -n 30000 "$tmp/all.log" >"$tmp/part1"
sed -n '30001,60000p' "$tmp/all.log" >"$tmp/part2"
tail -n 30000 "$tmp/all.log" >"$tmp/part3"

cat >"$tmp/logtally.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
sources:
  - path: $log
    format: combined
YAML

: >"$log"
"$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "the daemon did not create its socket"

valid() { curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq -r .valid; }
# Waits until the daemon reports $1 valid lines; fails after 2 seconds.
wait_valid() {
  local want=$1 start now got
  start=$(date +%s%N)
  while :; do
    got=$(valid)
    [ "$got" = "$want" ] && break
    now=$(date +%s%N)
    [ $(( (now - start) / 1000000 )) -lt 2000 ] || fail "after 2 s the daemon reports $got valid lines, not $want"
    sleep 0.05
  done
  echo "  $want valid lines after $(( ($(date +%s%N) - start) / 1000000 )) ms"
}

echo "1. follow, rename rotation, copytruncate"
cat "$tmp/part1" >>"$log"
wait_valid 30000
mv "$log" "$log.1"
cat "$tmp/part2" >"$log"
wait_valid 60000
cp "$log" "$log.2"
: >"$log"
cat "$tmp/part3" >>"$log"
wait_valid 90000

fields='[.valid, .clients.ipv4, .clients.ipv6, .clients.other, .clients.total, .peak.requests, (.top[:10] | map([.url, .count]))]'
want=$(jq -c "$fields" "$tmp/truth.json")
got=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq -c "$fields")
[ "$want" = "$got" ] || fail "summary differs from the truth
  want $want
  got  $got"
echo "  clients and top URLs equal the generator's truth"
rotations=$(curl -sf --unix-socket "$sock" http://localhost/v1/sources |
  jq '[.sources[] | select(.state == "following")][0] | [.rotations, .truncations]' -c)
[ "$rotations" = "[1,1]" ] || fail "sources report rotations,truncations $rotations, not [1,1]"

echo "2. curl and the client agree"
a=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq -S 'del(.ingest, .uptime_seconds)')
b=$("$logtally" -s "$sock" summary --json | jq -S 'del(.ingest, .uptime_seconds)')
[ "$a" = "$b" ] || fail "curl and logtally summary --json differ"
"$logtally" -s "$sock" summary | grep '^Lines *90,000 ' >/dev/null || fail "the text summary lacks the line count"
"$logtally" -s "$sock" top 3 --json | jq -e '.top | length == 3' >/dev/null || fail "top 3"
"$logtally" -s "$sock" rps --step 1m --json | jq -e '.total == 90000' >/dev/null || fail "rps total"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" http://localhost/v1/nope)
[ "$code" = 404 ] || fail "unknown path gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$sock" http://localhost/v1/summary)
[ "$code" = 405 ] || fail "wrong method gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" 'http://localhost/v1/top?n=zero')
[ "$code" = 400 ] || fail "bad parameter gave $code"
echo "  ok (and 404, 405, 400 for a wrong path, method, parameter)"

echo "3. SIGHUP with a broken configuration, then SIGTERM"
printf 'socket: %s\nsources: [\n' "$sock" >"$tmp/logtally.yaml"
kill -HUP "$pid"
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "the daemon died on a broken reload"
grep -q "keeping the old one" "$tmp/daemon.err" || fail "no message about the rejected configuration"
[ "$(valid)" = 90000 ] || fail "the daemon lost its counts on a broken reload"
start=$(date +%s%N)
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$status" = 0 ] || fail "SIGTERM exit status $status"
[ "$elapsed" -lt 1000 ] || fail "SIGTERM took $elapsed ms"
[ ! -e "$sock" ] || fail "the socket is still there"
echo "  exit 0 in $elapsed ms, socket removed"

echo "4. bad configurations are refused with file:line:col"
printf 'socket: "/tmp/x.sock\nlimits: {url_entries: 1\n' >"$tmp/syntax.yaml"
if "$logtallyd" -c "$tmp/syntax.yaml" 2>"$tmp/err1"; then fail "a syntax error was accepted"; fi
grep -q "syntax.yaml:[0-9]*:[0-9]*:" "$tmp/err1" || fail "no file:line:col in: $(cat "$tmp/err1")"
printf 'socket: /tmp/x.sock\nsockett: 1\n' >"$tmp/unknown.yaml"
if "$logtallyd" -c "$tmp/unknown.yaml" 2>"$tmp/err2"; then fail "an unknown key was accepted"; fi
grep -q "unknown.yaml:2:1:.*sockett" "$tmp/err2" || fail "unexpected message: $(cat "$tmp/err2")"
echo "  $(head -1 "$tmp/err1")"
echo "  $(head -1 "$tmp/err2")"

echo "5. a glob picks up new files"
mkdir "$tmp/g"
head -n 100 "$tmp/part1" >"$tmp/g/a.log"
"$logtallyd" -s "$sock" -S "$tmp/state-glob" "$tmp/g/*.log" 2>>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
tail -n 50 "$tmp/part2" >"$tmp/g/b.log"
head -n 7 "$tmp/part3" >"$tmp/g/c.txt"          # not matched
start=$(date +%s%N)
until [ "$(valid)" = 150 ]; do
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] || fail "glob: $(valid) valid lines, not 150"
  sleep 0.1
done
n=$(curl -sf --unix-socket "$sock" http://localhost/v1/sources | jq '.sources | length')
[ "$n" = 2 ] || fail "glob: $n sources, not 2"
echo "  b.log counted $(( ($(date +%s%N) - start) / 1000000 )) ms after it appeared"
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=

echo "6. access: socket group, SO_PEERCRED, the read-only TCP listener"
port=$((20000 + RANDOM % 20000))
group=$(id -gn nobody 2>/dev/null || true)
cat >"$tmp/access.yaml" <<YAML
socket: $sock
listen: 127.0.0.1:$port
${group:+socket_group: $group}
YAML
"$logtallyd" -c "$tmp/access.yaml" -S "$tmp/state-access" "$tmp/g/a.log" 2>>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ "$(stat -c %a "$sock")" = 660 ] || fail "socket mode $(stat -c %a "$sock"), not 660"
[ "$(curl -sf "http://127.0.0.1:$port/metrics" |
     awk '/^logtally_requests_total[{]/ { s += $2 } END { print s + 0 }')" = 100 ] ||
  fail "/metrics over TCP: the requests by status class and method do not sum to 100"
curl -sf "http://127.0.0.1:$port/v1/summary" | jq -e '.valid == 100' >/dev/null || fail "summary over TCP"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/reload")
[ "$code" = 403 ] || fail "reload over TCP gave $code, not 403"
"$logtally" -s "$sock" reload >/dev/null || fail "root could not reload"
if [ "$(id -u)" = 0 ] && [ -n "$group" ] && command -v runuser >/dev/null; then
  [ "$(stat -c %G "$sock")" = "$group" ] || fail "socket group $(stat -c %G "$sock"), not $group"
  chmod 711 "$tmp"    # others may reach the socket, not list the directory
  runuser -u nobody -- "$logtally" -s "$sock" summary --json | jq -e '.valid == 100' >/dev/null ||
    fail "a member of the socket's group could not read"
  runuser -u nobody -- "$logtally" -s "$sock" reload 2>"$tmp/err4" && fail "nobody could reload"
  grep -q "403" "$tmp/err4" || fail "nobody's reload: $(cat "$tmp/err4")"
  chgrp root "$sock"
  runuser -u nobody -- "$logtally" -s "$sock" summary 2>"$tmp/err5" && status=0 || status=$?
  [ "$status" = 4 ] || fail "exit status $status, not 4, on permission denied"
  echo "  group readers read, only root reloads (403), others are denied (exit 4)"
else
  echo "  NOTICE: not root or no 'nobody' user: the multi-user checks were skipped"
fi
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=
echo "  TCP: /metrics and summary served, reload refused (403)"

echo "7. the client without a daemon"
"$logtally" -s "$sock" summary 2>"$tmp/err3" && status=0 || status=$?
[ "$status" = 3 ] || fail "exit status $status, not 3, when the daemon is not running"
grep -q "not running" "$tmp/err3" || fail "message: $(cat "$tmp/err3")"
echo "  exit 3: $(cat "$tmp/err3")"
echo "all daemon checks passed"
