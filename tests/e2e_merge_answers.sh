#!/usr/bin/env bash
# e2e_merge_answers.sh LOGTALLYD LOGTALLY LOGGEN
# Answers while merges run off the loop (daemon/commit.c).  The daemon
# follows a log that grows in eight bursts of about 33 MB with many
# clients and URLs (each burst a backlog part read on both threads and
# merged on the thread pool into the counts of the bursts before it) and
# checkpoints every 100 ms, while two
# clients ask for summaries: one the same question again and again, the
# other a different one each time (so it often finds no earlier answer and
# is held until a merge ends).  Then:
#   1. every question was answered (none held for good), in the order
#      asked on its connection;
#   2. every answer is one instant: lines = valid + malformed, and the
#      status classes and the methods each sum to the valid lines;
#   3. no client sees the counts go back: each answer counts at least the
#      lines of the one before it;
#   4. /metrics says both ways of answering during a merge were taken
#      (so 1-3 were tried on them; a run where the askers, slowed by a busy
#      machine, missed one way is tried again, up to 3 runs), and the last
#      answer equals `logtally analyze` of the file.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
sock=$tmp/s.sock
log=$tmp/access.log

"$loggen" --lines 1500000 --seed 17 --clients 500000 --client-skew 0 --urls 200000 --out "$tmp/full"
split -n l/8 "$tmp/full" "$tmp/burst."
cp "$tmp/full" "$log"
fields='[.lines, .valid, .malformed, .bytes, .clients.total, .peak, .status, .methods,
         (.top[:10] | map([.url, .count]))]'
"$logtally" analyze --json --top 10 "$log" | jq -c "$fields" >"$tmp/want"
total=$(jq '.[0]' "$tmp/want")

# asker NAME MODE: questions on one kept-alive connection each round (curl
# reuses it for the URLs of one call), until one counts every line.
asker() {
  local name=$1 mode=$2 round=0 urls n
  while :; do
    urls=()
    for k in 1 2 3 4 5 6 7 8; do
      if [ "$mode" = same ]; then n=10; else n=$(( (round * 8 + k) % 97 + 1 )); fi
      urls+=("http://localhost/v1/summary?n=$n")
    done
    curl -sSf --fail-early --max-time 20 --unix-socket "$sock" "${urls[@]}" \
      >"$tmp/$name.round" 2>"$tmp/$name.curl" ||
      { echo "curl: $(cat "$tmp/$name.curl")" >"$tmp/$name.err"; return 0; }
    [ "$(jq -s length "$tmp/$name.round")" = 8 ] ||
      { echo "$(jq -s length "$tmp/$name.round") answers to 8 questions" >"$tmp/$name.err"; return 0; }
    cat "$tmp/$name.round" >>"$tmp/$name.out"
    [ "$(jq -s '.[-1].lines' "$tmp/$name.round")" = "$total" ] && return 0
    round=$((round + 1))
  done
}
for attempt in 1 2 3; do
  cat >"$tmp/c.yaml" <<YAML
socket: $sock
state_dir: $tmp/state$attempt
checkpoint_interval: 100ms
threads: 2
http:
  request_timeout: 120s    # a request held for good is not closed, and retried by curl
sources:
  - path: $log
YAML
  rm -f "$sock" "$tmp"/same.* "$tmp"/varied.*
  : >"$log"
  "$logtallyd" -c "$tmp/c.yaml" 2>"$tmp/daemon.err" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
  [ -S "$sock" ] || fail "the daemon did not create its socket"
  for b in "$tmp"/burst.*; do cat "$b" >>"$log"; sleep 0.2; done &

  asker same same &
  a1=$!
  asker varied varied &
  a2=$!
  wait "$a1" "$a2"
  for name in same varied; do
    [ ! -e "$tmp/$name.err" ] || fail "$name: a question was not answered: $(cat "$tmp/$name.err")"
  done

  # 2 and 3, each client's answers in the order given.
  for name in same varied; do
    jq -s -r 'def sum(o): [o[]] | add;
      . as $a | [range(0; length) as $i | $a[$i] |
        if .lines != .valid + .malformed then "answer \($i): lines \(.lines) != valid + malformed"
        elif sum(.status | del(.codes)) != .valid then "answer \($i): status classes sum to \(sum(.status | del(.codes))), valid \(.valid)"
        elif sum(.status.codes) + .status.other != .valid then "answer \($i): status codes do not sum to valid"
        elif sum(.methods) != .valid then "answer \($i): methods sum to \(sum(.methods)), valid \(.valid)"
        elif $i > 0 and .lines < $a[$i - 1].lines then "answer \($i): \(.lines) lines after \($a[$i - 1].lines)"
        else empty end] | .[:3][]' "$tmp/$name.out" >"$tmp/$name.bad"
    [ ! -s "$tmp/$name.bad" ] || fail "$name: $(cat "$tmp/$name.bad")"
    during=$(jq -s --argjson t "$total" '[.[] | select(.lines > 0 and .lines < $t)] | length' \
             "$tmp/$name.out")
    echo "$name: $(jq -s length "$tmp/$name.out") answers, $during of them during the ingest"
  done

  metrics=$(curl -sf --unix-socket "$sock" http://localhost/metrics)
  earlier=$(awk '/^logtally_answers_during_merge_total\{as="earlier"\}/ { print $2 }' <<<"$metrics")
  held=$(awk '/^logtally_answers_during_merge_total\{as="held"\}/ { print $2 }' <<<"$metrics")
  merges=$(awk '/^logtally_merges_total/ { print $2 }' <<<"$metrics")
  echo "merges $merges; answered during one: $earlier as given earlier, $held held"
  [ "${earlier:-0}" -gt 0 ] && [ "${held:-0}" -gt 0 ] && break
  [ "$attempt" -lt 3 ] || fail "in 3 runs, no answer was given from an earlier one ($earlier) or held ($held) during a merge"
  # A busy machine can leave the merges too short to be asked during: again.
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done

curl -sf --unix-socket "$sock" 'http://localhost/v1/summary?n=10' | jq -c "$fields" >"$tmp/got"
cmp -s "$tmp/want" "$tmp/got" || fail "the daemon's answer differs from analyze:
  $(cat "$tmp/got")
  $(cat "$tmp/want")"
echo "PASS"
