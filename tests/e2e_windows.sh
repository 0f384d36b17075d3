#!/usr/bin/env bash
# e2e_windows.sh LOGTALLYD LOGTALLY LOGGEN
# Windows of time, end to end, against the generator's per-line truth:
#   1. a log of 2+ days (five zones, so out of order at the hour edges,
#      late lines, IPv6, hostnames, malformed lines) is saved once by
#      `analyze --save`; for every hour and for 50 random windows with
#      unaligned edges, `merge --from --to` of that snapshot reports
#      requests and status classes equal to the truth over the window
#      itself, and status codes, methods, bytes, distinct clients (exact)
#      and the top 10 URLs (exact, or within their stated error) equal to the
#      truth over the buckets it names as covered;
#   2. `analyze --from --to` of the log, the daemon's /v1/summary (through
#      `logtally summary --from --to`), /v1/status and /v1/top, and `merge`
#      of the snapshots of the log's two halves give the same answers;
#   3. with the bucket client budget lowered, every hour's clients are an
#      estimate, said to be one, within 3 standard errors of the truth;
#   4. `logtally summary --since 1h` on a followed file counts the lines of
#      the last hour by the clock as they arrive, and none older.
#   5. on a log with response times, every hour's p50/p90/p99 are within
#      their stated relative error of the truth's and the maximum is exact;
#      `analyze --from --to`, `merge` and a merge of two halves agree.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
export LC_ALL=C

log=$tmp/access.log
"$loggen" --lines 120000 --rps 0.65 --seed 12 --out "$log" --truth-lines "$tmp/truth.tsv"
read -r first last < <(awk -F'\t' 'NR == 1 || $1 < a { a = $1 } NR == 1 || $1 > b { b = $1 }
                                    END { print a, b }' "$tmp/truth.tsv")
[ $((last - first)) -ge $((2 * 86400)) ] || fail "the log spans $((last - first)) s, not 2 days"
grep -q '^[0-9a-fA-F:]*:[0-9a-fA-F:]* ' "$log" || fail "no IPv6 client in the log"

# The truth over [a, b] for the window's own counts (requests, classes)
# and over [ca, cb] for the buckets' (codes, methods, bytes, clients, top).
truth() {
  local a=$1 b=$2 ca=$3 cb=$4
  awk -F'\t' -v a="$a" -v b="$b" -v ca="$ca" -v cb="$cb" '
    $1 >= a && $1 <= b { req++; k = int($2 / 100); cl[(k >= 1 && k <= 5) ? k "xx" : "other"]++ }
    $1 >= ca && $1 <= cb { code[$2]++; m[$3]++; bytes += $4; if (!($5 in seen)) { seen[$5]; n++ } }
    END {
      printf "requests=%d classes=", req
      split("1xx 2xx 3xx 4xx 5xx other", c, " ")
      for (i = 1; i <= 6; i++) printf "%s%s:%d", (i > 1 ? "," : ""), c[i], cl[c[i]]
      printf " codes="; s = ""
      for (x in code) s = s sprintf("%03d:%d\n", x, code[x])
      printf "%s", s | "sort | paste -sd, - | tr -d \"\\n\""; close("sort | paste -sd, - | tr -d \"\\n\"")
      printf " methods="; s = ""
      for (x in m) s = s sprintf("%s:%d\n", x, m[x])
      printf "%s", s | "sort | paste -sd, - | tr -d \"\\n\""; close("sort | paste -sd, - | tr -d \"\\n\"")
      printf " bytes=%d clients=%d\n", bytes, n
    }' "$tmp/truth.tsv"
}
# The true top 10 URLs of [ca, cb]: count descending, then URL bytes.
truth_top() {
  awk -F'\t' -v ca="$1" -v cb="$2" '$1 >= ca && $1 <= cb && $6 != "-" { u[$6]++ }
    END { for (x in u) printf "%d\t%s\n", u[x], x }' "$tmp/truth.tsv" |
    sort -t"$(printf '\t')" -k1,1nr -k2,2 | awk 'NR <= 10'
}
# The same fields from a summary object.
canon='"requests=\(.requests) classes=" + ([.status | to_entries[] | select(.key != "codes") |
        "\(.key):\(.value)"] | join(",")) +
       " codes=" + ([.status.codes | to_entries[] | "\(.key):\(.value)"] | sort | join(",")) +
       " methods=" + ([.methods | to_entries[] | select(.value > 0) | "\(.key):\(.value)"] | sort |
        join(",")) + " bytes=\(.bytes) clients=\(.clients.total)"'

# 1. Every hour and 50 random windows, from the snapshot.
"$logtally" analyze --save "$tmp/all.snap" "$log" >/dev/null
check_window() {
  local a=$1 b=$2 j got want
  j=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/all.snap")
  [ "$(jq -r '.clients.exact' <<<"$j")" = true ] || fail "[$a, $b]: clients not exact"
  local ca cb
  ca=$(jq -r '.window.covered_from' <<<"$j")
  cb=$(jq -r '.window.covered_to' <<<"$j")
  [ "$ca" -le "$a" ] && [ "$cb" -ge "$b" ] || fail "[$a, $b]: covered [$ca, $cb] does not hold it"
  got=$(jq -r "$canon" <<<"$j")
  want=$(truth "$a" "$b" "$ca" "$cb")
  [ "$got" = "$want" ] || fail "[$a, $b] (buckets [$ca, $cb]):
  got  $got
  want $want"
  # Top 10: equal while exact; within each count's error otherwise.
  jq -r '.top[] | "\(.count)\t\(.error // 0)\t\(.url)"' <<<"$j" >"$tmp/got.top"
  truth_top "$ca" "$cb" >"$tmp/want.top"
  if [ "$(jq -r '.urls.exact' <<<"$j")" = true ]; then
    cut -f1,3 "$tmp/got.top" | cmp -s - "$tmp/want.top" ||
      fail "[$a, $b]: top URLs differ from the truth: $(diff <(cut -f1,3 "$tmp/got.top") "$tmp/want.top" | head -5)"
  else
    awk -F'\t' -v ca="$ca" -v cb="$cb" 'NR == FNR { c[$3] = $1; e[$3] = $2; next }
      $1 >= ca && $1 <= cb && ($6 in c) { t[$6]++ }
      END { for (u in c) if (t[u] > c[u] || t[u] < c[u] - e[u]) { print u, c[u], e[u], t[u]; bad = 1 }
            exit bad }' "$tmp/got.top" "$tmp/truth.tsv" ||
      fail "[$a, $b]: a top-k count outside its stated error"
    # The true top 10 above the bound must all be listed.
    bound=$(jq -r '.urls.error_bound' <<<"$j")
    awk -F'\t' -v b="$bound" '$1 > b { print $2 }' "$tmp/want.top" | while read -r u; do
      grep -qF "	$u" "$tmp/got.top" || fail "[$a, $b]: $u passes the bound $bound but is not listed"
    done
  fi
}
h0=$((first - first % 3600))
hours=0
for ((h = h0; h <= last; h += 3600)); do
  check_window "$h" $((h + 3599))
  hours=$((hours + 1))
done
echo "1. $hours hours equal the truth"
RANDOM=7
windows=()
for i in $(seq 50); do
  a=$((first - 600 + (RANDOM * 32768 + RANDOM) % (last - first + 1200)))
  b=$((a + (RANDOM * 32768 + RANDOM) % (9 * 3600)))
  windows+=("$a:$b")
  check_window "$a" "$b"
done
echo "   and 50 random windows"

# 2. analyze, the daemon and a merge of two halves say the same.
head -n 60000 "$log" >"$tmp/half1.log"
tail -n +60001 "$log" >"$tmp/half2.log"
"$logtally" analyze --save "$tmp/h1.snap" "$tmp/half1.log" >/dev/null
"$logtally" analyze --save "$tmp/h2.snap" "$tmp/half2.log" >/dev/null
sock=$tmp/logtally.sock
cat >"$tmp/logtally.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
sources:
  - path: $log
YAML
"$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
"$logtally" -s "$sock" summary --wait >/dev/null
same='del(.memory, .ingest, .uptime_seconds, .malformed_samples, .lines, .malformed)'
for w in "${windows[@]:0:12}" "$h0:$((h0 + 7199))" "$((h0 + 86400)):$((h0 + 86400 + 3599))"; do
  a=${w%:*} b=${w#*:}
  want=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/all.snap" | jq -S "$same")
  got=$("$logtally" analyze --json --from "$a" --to "$b" "$log" | jq -S "$same")
  [ "$got" = "$want" ] || fail "analyze [$a, $b] differs from the snapshot's answer"
  got=$("$logtally" -s "$sock" summary --json --from "$a" --to "$b" | jq -S "$same")
  [ "$got" = "$want" ] || fail "the daemon's /v1/summary [$a, $b] differs: $(diff <(echo "$got") <(echo "$want") | head -6)"
  got=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/h1.snap" "$tmp/h2.snap" | jq -S "$same")
  [ "$got" = "$want" ] || fail "merge of two halves [$a, $b] differs: $(diff <(echo "$got") <(echo "$want") | head -6)"
  got=$("$logtally" -s "$sock" status --json --from "$a" --to "$b" | jq -S '[.requests, .status, .methods]')
  [ "$got" = "$(jq -S '[.requests, .status, .methods]' <<<"$want")" ] || fail "/v1/status [$a, $b] differs"
  got=$("$logtally" -s "$sock" top 10 --json --from "$a" --to "$b" | jq -cS '.top')
  [ "$got" = "$(jq -cS '.top' <<<"$want")" ] || fail "/v1/top [$a, $b] differs"
done
# status=5xx per hour adds up to the 5xx class of the whole log.
fivexx=$(awk -F'\t' '$2 >= 500 && $2 < 600' "$tmp/truth.tsv" | wc -l)
got=$("$logtally" -s "$sock" rps --json --status 5xx --step 1h | jq '[.series[][1]] | add')
[ "$got" = "$fivexx" ] || fail "rps --status 5xx sums to $got, not $fivexx"
got=$("$logtally" -s "$sock" rps --json --status 2xx --step 1h | jq '[.series[][1]] | add')
[ "$got" = "$(awk -F'\t' '$2 >= 200 && $2 < 300' "$tmp/truth.tsv" | wc -l)" ] ||
  fail "rps --status 2xx does not add up"
# A code per hour, from the buckets; a step finer than a bucket is refused.
n503=$(awk -F'\t' '$2 == 503' "$tmp/truth.tsv" | wc -l)
got=$("$logtally" -s "$sock" rps --json --status 503 --step 1h | jq '[.series[][1]] | add')
[ "$got" = "$n503" ] || fail "rps --status 503 sums to $got, not $n503"
"$logtally" -s "$sock" rps --status 503 --step 1m >/dev/null 2>&1 && fail "a code per minute was accepted"
# Metrics: requests by class and method sum to every request.
got=$(curl -sf --unix-socket "$sock" http://x/metrics | awk '/^logtally_requests_total[{]/ { s += $2 } END { print s }')
[ "$got" = "$(wc -l <"$tmp/truth.tsv")" ] || fail "logtally_requests_total sums to $got"
curl -sf --unix-socket "$sock" "http://x/v1/summary?from=2024-02-31" | grep -q . &&
  fail "from=2024-02-31 was accepted"
curl -s --unix-socket "$sock" "http://x/v1/summary?from=2024-02-31" | grep -q 'day 31 is not in 2024-02' ||
  fail "from=2024-02-31 refused without saying why"
kill "$pid"; wait "$pid" || true; pid=
echo "2. analyze, the daemon (summary, status, top, rps, metrics) and a merge of halves agree"

# 3. A lowered budget: estimates, said to be, within 3 standard errors.
"$logtally" analyze --bucket-clients-bytes 1 --save "$tmp/small.snap" "$log" >/dev/null
for ((h = h0; h <= last; h += 3600)); do
  j=$("$logtally" merge --json --from "$h" --to $((h + 3599)) "$tmp/small.snap")
  [ "$(jq -r '.clients.exact' <<<"$j")" = false ] || fail "hour $h: exact under a 1-byte budget"
  est=$(jq -r '.clients.total' <<<"$j")
  se=$(jq -r '.clients.std_error' <<<"$j")
  t=$(truth "$h" $((h + 3599)) "$h" $((h + 3599)) | sed 's/.*clients=//')
  awk -v e="$est" -v t="$t" -v s="$se" 'BEGIN { d = e - t; if (d < 0) d = -d; exit !(s > 0 && d <= 3 * s * t + 1) }' ||
    fail "hour $h: estimate $est, truth $t, std_error $se"
done
echo "3. with a 1-byte budget every hour is an estimate within 3 standard errors"

# 5. Response times per hour, against the truth's (microseconds as logged),
# each percentile within its stated relative error and the maximum exact;
# analyze --from --to and a merge of two halves say the same; an unaligned
# window says its times are those of the buckets it covers.
fmt='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time'
"$loggen" --lines 30000 --rps 0.4 --seed 21 --format "nginx:$fmt" --out "$tmp/timed.log" \
  --truth-lines "$tmp/timed.tsv"
"$logtally" analyze -f "$fmt" --save "$tmp/timed.snap" "$tmp/timed.log" >/dev/null
head -n 15000 "$tmp/timed.log" >"$tmp/timed1.log"
tail -n +15001 "$tmp/timed.log" >"$tmp/timed2.log"
"$logtally" analyze -f "$fmt" --save "$tmp/t1.snap" "$tmp/timed1.log" >/dev/null
"$logtally" analyze -f "$fmt" --save "$tmp/t2.snap" "$tmp/timed2.log" >/dev/null
read -r tfirst tlast < <(awk -F'\t' 'NR == 1 || $1 < a { a = $1 } NR == 1 || $1 > b { b = $1 }
                                      END { print a, b }' "$tmp/timed.tsv")
hours=0
for ((h = tfirst - tfirst % 3600; h <= tlast; h += 3600)); do
  j=$("$logtally" merge --json --from "$h" --to $((h + 3599)) "$tmp/timed.snap")
  rt=$(jq -r '.response_time | "\(.count) \(.p50) \(.p90) \(.p99) \(.max) \(.relative_error) \(.covers)"' <<<"$j")
  want=$(awk -F'\t' -v a="$h" -v b=$((h + 3599)) '$1 >= a && $1 <= b && $7 != "-" { print $7 }' \
           "$tmp/timed.tsv" | sort -n | awk '{ v[NR] = $1 }
      function at(q,  r) { r = int(q * NR); if (r < q * NR) r++; if (r < 1) r = 1; return v[r] }
      END { print NR, at(0.5), at(0.9), at(0.99), v[NR] }')
  awk -v got="$rt" -v want="$want" 'BEGIN {
      split(got, g, " "); split(want, t, " ")
      if (g[1] != t[1] || g[7] != "window") exit 1
      if (g[5] * 1e6 - t[5] > 0.5 || t[5] - g[5] * 1e6 > 0.5) exit 1
      for (i = 2; i <= 4; i++) { d = g[i] * 1e6 - t[i]; if (d < 0) d = -d; if (d > t[i] * g[6] + 1) exit 1 }
    }' || fail "hour $h: response times $rt, truth (count p50 p90 p99 max, us) $want"
  got=$("$logtally" merge --json --from "$h" --to $((h + 3599)) "$tmp/t1.snap" "$tmp/t2.snap" |
          jq -c '.response_time')
  [ "$got" = "$(jq -c '.response_time' <<<"$j")" ] || fail "hour $h: the halves' merge says $got"
  hours=$((hours + 1))
done
[ "$hours" -ge 12 ] || fail "only $hours hours of response times"
a=$((tfirst + 1800)) b=$((tfirst + 3 * 3600))
j=$("$logtally" analyze -f "$fmt" --json --from "$a" --to "$b" "$tmp/timed.log")
[ "$(jq -c '.response_time' <<<"$j")" = "$("$logtally" merge --json --from "$a" --to "$b" "$tmp/timed.snap" | jq -c '.response_time')" ] ||
  fail "analyze and merge of [$a, $b] differ in response times"
[ "$(jq -r '.response_time.covers' <<<"$j")" = buckets ] || fail "an unaligned window does not say its times cover its buckets"
# The daemon following the timed log answers the same windows.
cat >"$tmp/timed.yaml" <<YAML
socket: $tmp/timed.sock
state_dir: $tmp/state-timed
sources:
  - path: $tmp/timed.log
    format: '$fmt'
YAML
"$logtallyd" -c "$tmp/timed.yaml" 2>"$tmp/daemon.err" &
pid=$!    # e2e_cleanup kills it if the test fails
for _ in $(seq 50); do [ -S "$tmp/timed.sock" ] && break; sleep 0.1; done
"$logtally" -s "$tmp/timed.sock" summary --wait >/dev/null
for w in "$a:$b" "$((tfirst - tfirst % 3600)):$((tfirst - tfirst % 3600 + 3599))"; do
  got=$("$logtally" -s "$tmp/timed.sock" summary --json --from "${w%:*}" --to "${w#*:}" | jq -c '.response_time')
  want=$("$logtally" merge --json --from "${w%:*}" --to "${w#*:}" "$tmp/timed.snap" | jq -c '.response_time')
  [ "$got" = "$want" ] && [ "$got" != null ] || fail "the daemon's response times for [$w]: $got, not $want"
done
kill "$pid"
wait "$pid" || fail "the daemon on the timed log did not stop cleanly"
echo "5. response times of $hours hours within their relative error; analyze, merge, halves and the daemon agree"

# 4. --since 1h on a followed file, lines arriving.
now=$(date +%s)
: >"$tmp/live.log"
cat >"$tmp/live.yaml" <<YAML
socket: $sock
state_dir: $tmp/state-live
sources:
  - path: $tmp/live.log
YAML
"$logtallyd" -c "$tmp/live.yaml" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
"$loggen" --lines 400 --rps 1 --malformed 0 --zones +0000 --start $((now - 3 * 3600)) \
  --seed 3 --out "$tmp/old.log" --truth-lines "$tmp/old.tsv"
"$loggen" --lines 300 --rps 1 --malformed 0 --start $((now - 1800)) --seed 4 \
  --out "$tmp/new1.log" --truth-lines "$tmp/new1.tsv"
"$loggen" --lines 300 --rps 1 --malformed 0 --start $((now - 900)) --seed 5 \
  --out "$tmp/new2.log" --truth-lines "$tmp/new2.tsv"
since() { "$logtally" -s "$sock" summary --json --since 1h | jq -r '.requests'; }
wait_for() {
  local want=$1 got=
  for _ in $(seq 50); do got=$(since); [ "$got" = "$want" ] && return 0; sleep 0.1; done
  fail "summary --since 1h: $got requests, not $want"
}
cat "$tmp/old.log" >>"$tmp/live.log"
wait_for 0
cat "$tmp/new1.log" >>"$tmp/live.log"
wait_for "$(wc -l <"$tmp/new1.tsv")"
cat "$tmp/new2.log" >>"$tmp/live.log"
wait_for $(($(wc -l <"$tmp/new1.tsv") + $(wc -l <"$tmp/new2.tsv")))
"$logtally" -s "$sock" summary --since 1h | grep -q '^Window ' || fail "the text summary does not say its window"
echo "4. summary --since 1h follows the last hour as lines arrive"
