#!/usr/bin/env bash
# e2e_analyze.sh LOGTALLY LOGGEN
# Generates a 300,000-line log (IPv6 and hostname clients, a +0530 zone
# among others, 0.5 % malformed lines, time disorder) whose exact truth the
# generator writes beside it, runs the real `logtally analyze --json` on it
# and requires every count to equal the truth.  Then checks that 1 and 2
# reader threads print the same report, and that stdin reads the same.
set -euo pipefail
logtally=$1
loggen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$loggen" --lines 300000 --seed 20261123 --malformed 5 --zones +0530,+0000,-0400,+0330,-0930 \
  --out "$tmp/access.log" --truth "$tmp/truth.json"

fields='[.lines, .valid, .malformed, .unparsed_requests, .requests, .bytes,
         .clients.ipv4, .clients.ipv6, .clients.other, .clients.total,
         .first_ts, .last_ts, .peak.second, .peak.requests,
         (.top[:10] | map([.url, .count]))]'

# Two threads and one: the file is 50+ MB, so the two-thread run splits it.
"$logtally" analyze --json --threads 2 "$tmp/access.log" >"$tmp/t2.json"
"$logtally" analyze --json --threads 1 "$tmp/access.log" >"$tmp/t1.json"

want=$(jq -c "$fields" "$tmp/truth.json")
got=$(jq -c "$fields" "$tmp/t2.json")
if [ "$want" != "$got" ]; then
  echo "MISMATCH against the generator's truth"
  echo "fields: lines valid malformed unparsed requests bytes ipv4 ipv6 other total first last peak_second peak top10"
  echo "want: $want"
  echo "got:  $got"
  exit 1
fi
jq -e '.clients.exact == true and (.malformed_samples | length) == 5' "$tmp/t2.json" >/dev/null ||
  { echo "expected an exact count and 5 malformed samples"; exit 1; }
echo "truth matched: $got" | cut -c1-200

# The report does not depend on the number of threads (memory use may).
if ! diff <(jq -S 'del(.memory)' "$tmp/t1.json") <(jq -S 'del(.memory)' "$tmp/t2.json") >/dev/null; then
  echo "1 thread and 2 threads differ:"
  diff <(jq -S 'del(.memory)' "$tmp/t1.json") <(jq -S 'del(.memory)' "$tmp/t2.json") | head -20
  exit 1
fi
echo "1 and 2 threads agree"

# Standard input is read as a stream and gives the same counts.
"$logtally" analyze --json - <"$tmp/access.log" >"$tmp/stdin.json"
[ "$(jq -c "$fields" "$tmp/stdin.json")" = "$want" ] || { echo "stdin differs"; exit 1; }
echo "stdin agrees"

# The human report names the numbers too.
"$logtally" analyze "$tmp/access.log" >"$tmp/report.txt"
grep -q "^Lines *$(jq -r '.lines' "$tmp/truth.json" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') " "$tmp/report.txt" ||
  { echo "text report lacks the line count:"; head -3 "$tmp/report.txt"; exit 1; }
echo "text report ok"

# A rotated, gzip-compressed copy reads the same.
gzip -c "$tmp/access.log" >"$tmp/access.log.1.gz"
"$logtally" analyze --json "$tmp/access.log.1.gz" >"$tmp/gz.json"
[ "$(jq -c "$fields" "$tmp/gz.json")" = "$want" ] || { echo "the .gz copy differs"; exit 1; }
echo "gzip copy agrees"
