#!/usr/bin/env bash
# e2e_pipeline.sh LOGTALLYD PIPELINE_FLOOD LOGGEN
# A client that pipelines 2,000 GET /v1/top?n=100000 (about 5 MB of
# answer each) and never reads, on the Unix socket and then on the TCP
# listener: the daemon must build answers only as fast as they are read,
# staying under 64 MiB above its baseline, and answer /healthz within
# 50 ms meanwhile.
set -euo pipefail
logtallyd=$1
flood=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock
port=$((20000 + RANDOM % 20000))

"$loggen" --lines 300000 --urls 150000 --seed 9 --out "$tmp/access.log"
cat >"$tmp/d.yaml" <<YAML
socket: $sock
listen: 127.0.0.1:$port
YAML
"$logtallyd" -c "$tmp/d.yaml" -S "$tmp/state" "$tmp/access.log" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
start=$(date +%s)
until [ "$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq .lines)" = 300000 ]; do
  [ $(( $(date +%s) - start )) -lt 30 ] || fail "the daemon did not read the log"
  sleep 0.2
done
# The first checkpoint follows the initial ingest; the flood starts after
# it, so what is timed is the pipelining alone.
until [ "$(curl -sf --unix-socket "$sock" http://localhost/healthz | jq .checkpoint.time)" != null ]; do
  [ $(( $(date +%s) - start )) -lt 30 ] || fail "no first checkpoint after the initial ingest"
  sleep 0.2
done
bytes=$(curl -sf --unix-socket "$sock" 'http://localhost/v1/top?n=100000' | wc -c)
echo "one answer to /v1/top?n=100000: $bytes bytes (2,000 of them: $((bytes * 2000 / 1048576)) MiB)"
[ "$bytes" -gt 2000000 ] || fail "the answer is too small to test anything"

echo "1. on the Unix socket"
# Instrumented code measures the sanitizer: there every /healthz must still
# be answered and memory stay bounded, within a looser time.
max_ms=50
if ldd "$logtallyd" 2>/dev/null | grep libasan >/dev/null; then
  max_ms=1000
  echo "NOTICE: sanitized build: /healthz within $max_ms ms, not 50"
fi
"$flood" "$sock" "$pid" 2000 4 "$max_ms" || fail "pipelined requests on the Unix socket"
echo "2. on the TCP listener"
"$flood" "127.0.0.1:$port" "$pid" 2000 4 "$max_ms" || fail "pipelined requests on TCP"
kill -0 "$pid" 2>/dev/null || fail "the daemon died"
curl -sf --unix-socket "$sock" http://localhost/healthz >/dev/null || fail "no /healthz after the floods"
kill -TERM "$pid"
wait "$pid" || fail "exit status $? after SIGTERM"
pid=
echo "pipelined non-readers: ok"
