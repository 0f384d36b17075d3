#!/usr/bin/env bash
# e2e_checkpoint_instant.sh LOGTALLYD LOGTALLY LOGGEN
# Every checkpoint is one instant: its counts are exactly the lines before
# its positions.  The daemon reads a large backlog (parallel parts, then
# plain jobs) while it checkpoints every 100 ms; the tally is serialised on
# the thread pool while read jobs keep ending.  Every state file written
# during the ingest is copied, and each must:
#   - read back (`logtally merge` checks its internal sums);
#   - count in its counters exactly the lines its source entry says were
#     read, and that many newlines lie before the entry's offset.
# A read job merged while a checkpoint is serialised breaks one of these.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -15 "$tmp/daemon.err" | sed 's/^/  daemon: /'; exit 1; }

# Many clients and URLs, so a serialisation takes long enough to overlap
# the merges of the jobs that end meanwhile.
"$loggen" --lines 1500000 --seed 7 --clients 400000 --urls 150000 --out "$tmp/access.log"
cat >"$tmp/c.yaml" <<YAML
socket: $tmp/s.sock
state_dir: $tmp/state
checkpoint_interval: 100ms
threads: 2
sources:
  - path: $tmp/access.log
YAML
"$logtallyd" -c "$tmp/c.yaml" 2>"$tmp/daemon.err" &
pid=$!
mkdir "$tmp/copies"
state=$tmp/state/logtally.state
last=
n=0
done_at=
for k in $(seq 6000); do
  if [ -f "$state" ]; then
    id=$(stat -c '%i %Y %s' "$state" 2>/dev/null || true)
    if [ -n "$id" ] && [ "$id" != "$last" ]; then
      # Written by rename: a copy is one whole checkpoint.
      cp "$state" "$tmp/copies/$n" 2>/dev/null && n=$((n + 1))
      last=$id
    fi
  fi
  if [ -z "$done_at" ] && [ $((k % 10)) -eq 0 ] &&
     "$logtally" -s "$tmp/s.sock" summary --json 2>/dev/null | grep -q '"catching_up":false'; then
    done_at=$n
  fi
  [ -n "$done_at" ] && [ $((n - done_at)) -ge 2 ] && break
  sleep 0.01
done
kill "$pid"
wait "$pid" || fail "the daemon did not stop cleanly"
pid=
[ -n "$done_at" ] || fail "the daemon did not catch up"
cp "$state" "$tmp/copies/$n"
n=$((n + 1))
[ "$n" -ge 3 ] || fail "only $n checkpoints taken during the ingest"

for i in $(seq 0 $((n - 1))); do
  "$logtally" merge --json "$tmp/copies/$i" >"$tmp/merged.json" 2>"$tmp/merge.err" ||
    fail "checkpoint $i does not read back: $(cat "$tmp/merge.err")"
done
python3 - "$tmp/access.log" "$tmp/copies" "$n" <<'EOF'
import struct, sys

log, copies, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(log, 'rb').read()
seen = set()
for i in range(n):
    b = open(f'{copies}/{i}', 'rb').read()
    assert b[:8] == b'LOGTALLY', f'checkpoint {i}: no magic'
    nsec = struct.unpack_from('<I', b, 12)[0]
    sections = {}
    for k in range(nsec):
        typ, _, off, length, _ = struct.unpack_from('<IIQQQ', b, 32 + 32 * k)
        sections[typ] = (off, length)
    off, _ = sections[1]
    lines = struct.unpack_from('<Q', b, off)[0]
    off, _ = sections[8]
    count = struct.unpack_from('<I', b, off)[0]
    p = off + 4
    read = 0
    for _ in range(count):
        plen = struct.unpack_from('<I', b, p)[0]
        p += 4 + plen
        dev, ino, offset, size, slines = struct.unpack_from('<QQQQQ', b, p)
        p += 8 * 8 + 4 + 8 + 1
        read += slines
        nl = data.count(b'\n', 0, offset)
        if nl != slines:
            sys.exit(f'checkpoint {i}: {slines} lines read before byte {offset}, '
                     f'but {nl} newlines there')
    if read != lines:
        sys.exit(f'checkpoint {i}: the counters hold {lines} lines, '
                 f'the positions {read}')
    seen.add(lines)
print(f'  {n} checkpoints, {len(seen)} distinct instants, each one instant '
      f'(counts = lines before the positions)')
EOF
echo "PASS: every checkpoint taken during the ingest is one instant"
