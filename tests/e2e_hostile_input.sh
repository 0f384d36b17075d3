#!/usr/bin/env bash
# e2e_hostile_input.sh LOGTALLY LOGTALLYD
# Input an attacker writes into a log, fed to `logtally analyze` and to the
# daemon: 20 MB of random bytes, a 50 MB line followed by a valid line, NUL
# bytes inside a line, CRLF endings, a final line without '\n', invalid
# UTF-8 in URLs, impossible timestamps.  Never a crash or a hang, never a
# lost next line; the counts say what happened and the JSON stays valid
# (checked by jq, a real JSON parser).  Then memory: analyze under a 64 MiB
# address-space limit fails with a message, not a crash.
set -euo pipefail
logtally=$1
logtallyd=$2
. "$(dirname "$0")/e2e_common.sh"
ok='10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET /ok HTTP/1.1" 200 5 "-" "ua"'

f=$tmp/hostile.log
{
  head -c 20000000 /dev/urandom | tr '\n' 'x'; echo     # 20 MB of junk: one overlong line
  echo "$ok"
  head -c 50000000 /dev/zero | tr '\0' 'a'; echo        # a 50 MB line
  echo "$ok"
  printf '10.0.0.2 - - [17/May/2015:10:05:03 +0000] "GET /n\0ul HTTP/1.1" 200 5 "-" "u\0a"\n'
  printf '10.0.0.3 - - [17/May/2015:10:05:03 +0000] "GET /crlf HTTP/1.1" 200 5 "-" "ua"\r\n'
  printf '10.0.0.4 - - [17/May/2015:10:05:03 +0000] "GET /\xff\xfe\xc3\x28\xed\xa0\x80 HTTP/1.1" 200 5\n'
  printf '10.0.0.5 - - [17/May/1900:10:05:03 +0000] "GET / HTTP/1.1" 200 5\n'
  printf '10.0.0.5 - - [17/Foo/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5\n'
  printf '10.0.0.5 - - [17/May/2015:25:05:03 +0000] "GET / HTTP/1.1" 200 5\n'
  printf '10.0.0.6 - - [31/Dec/9999:23:59:59 +0000] "GET /late HTTP/1.1" 200 5\n'
  printf '%s' "$ok"                                      # no final newline
} >"$f"

check() {   # check JSON-FILE WHAT
  jq -e . "$1" >/dev/null || fail "$2: the output is not valid JSON"
  local got
  got=$(jq -c '[.lines, .valid, .malformed]' "$1")
  # 2 overlong + 3 bad timestamps malformed; 2 ok + NUL + CRLF + UTF-8 + 9999 + last = 7 valid
  [ "$got" = "[12,7,5]" ] || fail "$2: lines, valid, malformed = $got, not [12,7,5]"
  jq -e '.top | map(.url) | index("/crlf") != null and index("/late") != null' "$1" >/dev/null ||
    fail "$2: the CRLF line or the year-9999 line was lost"
  jq -e '.top | map(.url) | map(select(startswith("/\\xff"))) | length == 1' "$1" >/dev/null ||
    fail "$2: the invalid UTF-8 URL is not escaped as \\xHH"
}

timeout 60 "$logtally" analyze --json --top 20 "$f" >"$tmp/a.json" || fail "analyze failed"
check "$tmp/a.json" analyze
timeout 60 "$logtally" analyze --json --top 20 - <"$f" >"$tmp/s.json" || fail "analyze of stdin failed"
check "$tmp/s.json" "analyze of stdin"
echo "analyze: 12 lines, 7 valid, 5 malformed; valid JSON; nothing after the junk lost"

sock=$tmp/s.sock
"$logtallyd" -s "$sock" -S "$tmp/state" "$tmp/follow.log" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 150); do [ -S "$sock" ] && break; sleep 0.1; done
cp "$f" "$tmp/follow.log"
echo >>"$tmp/follow.log"     # the daemon waits for the last line's '\n'
start=$(date +%s)
until curl -sf --unix-socket "$sock" 'http://localhost/v1/summary?n=20' >"$tmp/d.json" &&
      [ "$(jq .lines "$tmp/d.json")" = 12 ]; do
  [ $(( $(date +%s) - start )) -lt 30 ] || fail "daemon: $(jq -c '[.lines,.valid]' "$tmp/d.json") after 30 s"
  sleep 0.2
done
check "$tmp/d.json" daemon
curl -sf --unix-socket "$sock" http://localhost/v1/sources | jq -e . >/dev/null || fail "sources JSON"
kill -TERM "$pid"
wait "$pid" || fail "daemon exit status $?"
pid=
echo "daemon: the same counts, valid JSON, clean exit"

# Out of memory: a 64 MiB address space cannot hold the tables; the
# failure is a message and exit 1, not a crash.  AddressSanitizer reserves
# terabytes of address space, so a sanitized build skips this part.
# (grep without -q reads all of ldd's output: an early exit would kill ldd with SIGPIPE,
# and pipefail would make the test miss the sanitizer.)
if ldd "$logtally" 2>/dev/null | grep libasan >/dev/null; then
  echo "NOTICE: sanitized build: the address-space limit check is skipped"
  exit 0
fi
big=$tmp/big.log
# 1.5 million distinct 100-byte URLs: about 200 MB of URL table.
awk 'BEGIN { pad = sprintf("%90s", ""); gsub(/ /, "p", pad);
             for (i = 0; i < 1500000; i++)
               printf "10.%d.%d.%d - - [17/May/2015:10:05:03 +0000] \"GET /%s%d HTTP/1.1\" 200 5\n",
                      int(i / 65536) % 256, int(i / 256) % 256, i % 256, pad, i }' >"$big"
set +e
( ulimit -v 65536; "$logtally" analyze --threads 1 "$big" >/dev/null 2>"$tmp/oom.err" )
status=$?
set -e
[ "$status" = 1 ] || fail "under a 64 MiB limit analyze exited $status (stderr: $(cat "$tmp/oom.err"))"
grep -q "out of memory" "$tmp/oom.err" || fail "no out-of-memory message: $(cat "$tmp/oom.err")"
echo "under a 64 MiB limit: exit 1, $(cat "$tmp/oom.err")"
