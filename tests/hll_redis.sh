#!/usr/bin/env bash
# hll_redis.sh HLL_REDIS_TOOL
# Cross-checks lib/hll.c against a real redis-server on a private Unix
# socket.  For each cardinality N (sparse and dense):
#   1. our exported blob, SET into Redis: PFCOUNT equals our count;
#   2. the same N elements PFADDed by Redis: its PFCOUNT equals ours, and its
#      GET blob imports into exactly our 16,384 registers;
#   3. PFMERGE of two of our exported blobs equals our lt_hll_merge count.
# Then blobs of pseudo-random registers (values up to 51) check that the
# estimator's floating-point result is bit-for-bit Redis's.
# Skips (exit 77) with a notice when redis-server or redis-cli is missing.
set -euo pipefail
tool=$1

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "NOTICE: redis-server/redis-cli not installed; HLL cross-check skipped"
  exit 77
fi

tmp=$(mktemp -d)
redis_pid=
cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

sock=$tmp/redis.sock
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
  --dir "$tmp" --logfile "$tmp/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -s "$sock" PING >/dev/null 2>&1 && break
  sleep 0.05
done
cli() { redis-cli -s "$sock" "$@"; }
cli PING >/dev/null || { echo "redis-server did not start:"; cat "$tmp/redis.log"; exit 1; }

fail=0
check() { # check WHAT GOT WANT
  if [ "$2" != "$3" ]; then
    echo "MISMATCH $1: got '$2', want '$3'"
    fail=1
  fi
}

for n in 0 1 10 100 1000 3000 10000 100000 1000000; do
  # 1. Our blob in Redis.
  ours=$("$tool" export 0 "$n" "$tmp/a.blob")
  cli -x SET "ours:$n" <"$tmp/a.blob" >/dev/null
  check "PFCOUNT of our blob, N=$n" "$(cli PFCOUNT "ours:$n")" "$ours"

  # 2. Redis's own PFADD of the same elements.
  cli DEL "red:$n" >/dev/null
  pipe=$("$tool" pfadd "red:$n" 0 "$n" | cli --pipe)
  case "$pipe" in *"errors: 0"*) ;; *) echo "redis-cli --pipe: $pipe"; fail=1 ;; esac
  check "Redis PFCOUNT after PFADD, N=$n" "$(cli PFCOUNT "red:$n")" "$ours"
  # --raw writes the bulk string's bytes unchanged and then one newline.
  cli --raw GET "red:$n" >"$tmp/r.blob"
  truncate -s -1 "$tmp/r.blob"
  imported=$("$tool" compare 0 "$n" "$tmp/r.blob" 2>"$tmp/note") ||
    { cat "$tmp/note"; echo "registers differ, N=$n"; fail=1; }
  check "our count of Redis's registers, N=$n" "$imported" "$ours"

  # 3. Merge of two overlapping ranges.
  half=$((n / 2))
  "$tool" export "$half" $((n + half)) "$tmp/b.blob" >/dev/null
  cli -x SET "ours2:$n" <"$tmp/b.blob" >/dev/null
  cli PFMERGE "merged:$n" "ours:$n" "ours2:$n" >/dev/null
  merged=$("$tool" merge 0 "$n" "$half" $((n + half)))
  check "PFMERGE count, N=$n" "$(cli PFCOUNT "merged:$n")" "$merged"
  echo "N=$n: count $ours, PFCOUNT $(cli PFCOUNT "ours:$n") (our blob) $(cli PFCOUNT "red:$n") (PFADD);" \
    "merge $merged, PFMERGE $(cli PFCOUNT "merged:$n");$(cat "$tmp/note")"
done

same=0
for seed in $(seq 1 150); do
  ours=$("$tool" random "$seed" "$tmp/x.blob")
  cli -x SET x <"$tmp/x.blob" >/dev/null
  theirs=$(cli PFCOUNT x)
  check "PFCOUNT of random registers, seed $seed" "$theirs" "$ours"
  [ "$theirs" != "$ours" ] || same=$((same + 1))
done
echo "random register sets: PFCOUNT equal to our count for $same of 150"

exit $fail
