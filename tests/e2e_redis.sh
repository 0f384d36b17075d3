#!/usr/bin/env bash
# e2e_redis.sh LOGTALLY LOGGEN
# The fleet path, against a real redis-server:
#   - snapshots of two halves of a log, merged, report what the whole does;
#   - the merged HyperLogLog SET into Redis gives PFCOUNT equal to our
#     hll_estimate, for a small (sparse) and a large (dense) sketch;
#   - PFMERGE of the halves' sketches equals our merge's estimate;
#   - a Redis GET of our key merges back; a forged sketch (a sparse run past
#     register 16,383, as in CVE-2025-32023) and a damaged snapshot are
#     refused with a message.
# Skips (77) with a notice when redis-server is not installed.
set -euo pipefail
logtally=$1
loggen=$2
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "NOTICE: redis-server not installed; the Redis fleet check is skipped"
  exit 77
fi
tmp=$(mktemp -d)
rpid=
cleanup() { [ -n "$rpid" ] && kill "$rpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
sock=$tmp/redis.sock
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
  --dir "$tmp" >"$tmp/redis.log" 2>&1 &
rpid=$!
for _ in $(seq 50); do redis-cli -s "$sock" PING >/dev/null 2>&1 && break; sleep 0.1; done
cli() { redis-cli -s "$sock" "$@"; }

for size in 150 60000; do
  "$loggen" --lines "$size" --seed "$size" --out "$tmp/all.log" --clients $((size / 3)) >/dev/null
  half=$((size / 2))
  head -n "$half" "$tmp/all.log" >"$tmp/a.log"
  tail -n +$((half + 1)) "$tmp/all.log" >"$tmp/b.log"
  "$logtally" analyze --json --save "$tmp/a.snap" "$tmp/a.log" >/dev/null
  "$logtally" analyze --json --save "$tmp/b.snap" "$tmp/b.log" >/dev/null
  "$logtally" analyze --json "$tmp/all.log" >"$tmp/whole.json"
  "$logtally" merge --json --hll "$tmp/ab.hll" "$tmp/a.snap" "$tmp/b.snap" >"$tmp/merged.json"
  "$logtally" merge --json --hll "$tmp/a.hll" "$tmp/a.snap" >"$tmp/a.json"
  "$logtally" merge --json --hll "$tmp/b.hll" "$tmp/b.snap" >/dev/null

  report='del(.memory, .malformed_samples) | .malformed_samples = null'
  [ "$(jq -S "$report" "$tmp/whole.json")" = "$(jq -S "$report" "$tmp/merged.json")" ] ||
    fail "$size lines: merge(snapshot(A), snapshot(B)) differs from analyze(A+B)"

  enc=$(head -c 5 "$tmp/ab.hll" | tail -c 1 | od -An -tu1 | tr -d ' ')
  kind=$([ "$enc" = 1 ] && echo sparse || echo dense)
  cli -x SET ab <"$tmp/ab.hll" >/dev/null
  cli -x SET a <"$tmp/a.hll" >/dev/null
  cli -x SET b <"$tmp/b.hll" >/dev/null
  ours=$(jq .clients.hll_estimate "$tmp/merged.json")
  theirs=$(cli PFCOUNT ab)
  [ "$ours" = "$theirs" ] || fail "$size lines ($kind): PFCOUNT $theirs, our estimate $ours"
  [ "$(cli PFCOUNT a)" = "$(jq .clients.hll_estimate "$tmp/a.json")" ] || fail "PFCOUNT of half A"
  cli DEL m >/dev/null    # PFMERGE counts an existing destination in
  cli PFMERGE m a b >/dev/null
  [ "$(cli PFCOUNT m)" = "$ours" ] || fail "$size lines: PFMERGE gives $(cli PFCOUNT m), our merge $ours"
  # Redis's own bytes of the merged key come back through logtally merge.
  cli --raw GET m | head -c -1 >"$tmp/m.hll"
  back=$("$logtally" merge --json "$tmp/m.hll" | jq .clients.hll_estimate)
  [ "$back" = "$ours" ] || fail "Redis's PFMERGE blob read back as $back, not $ours"
  echo "$size lines: merge = whole; $kind sketch: PFCOUNT = $theirs = ours; PFMERGE agrees; Redis's blob reads back"
done

# A forged sparse sketch: XZERO of 16,384 registers, then one more run.
printf 'HYLL\001\000\000\000\000\000\000\000\000\000\000\200\177\377\000' >"$tmp/forged.hll"
if "$logtally" merge "$tmp/forged.hll" 2>"$tmp/err"; then fail "a forged sketch was accepted"; fi
grep -q "forged.hll" "$tmp/err" || fail "the message does not name the file: $(cat "$tmp/err")"
echo "forged sketch refused: $(cat "$tmp/err")"
# A damaged snapshot.
cp "$tmp/a.snap" "$tmp/bad.snap"
printf '\377' | dd of="$tmp/bad.snap" bs=1 seek=200 conv=notrunc 2>/dev/null
if "$logtally" merge "$tmp/bad.snap" 2>"$tmp/err"; then fail "a damaged snapshot was accepted"; fi
echo "damaged snapshot refused: $(cat "$tmp/err")"
