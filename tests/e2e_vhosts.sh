#!/usr/bin/env bash
# e2e_vhosts.sh LOGTALLYD LOGTALLY LOGGEN
# Distinct clients per virtual host, end to end, against the generator's
# per-line truth (its eighth column is the host):
#   1. all time, `analyze --json` of a 2-day vhost_combined log gives every
#      host's requests and distinct clients, said to be exact, and 1 and 2
#      threads give the same JSON byte for byte;
#   2. for every hour and 30 random windows, `merge --from --to` of its
#      snapshot gives them for the buckets the window names as covered;
#   3. `analyze --from --to`, the daemon's /v1/vhosts (`logtally vhosts`)
#      and `merge` of the snapshots of the log's two halves say the same;
#      the daemon's all-time answer, its text table and /metrics too;
#   4. with the buckets' budget lowered below a day's pairs, old hours say
#      their clients per host are not known (null, clients_exact false)
#      while the newest hours still give them exactly; nothing else moves.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"
export LC_ALL=C

log=$tmp/access.log
"$loggen" --format vhost_combined --lines 150000 --rps 0.8 --seed 21 --out "$log" \
  --truth-lines "$tmp/truth.tsv"
read -r first last < <(awk -F'\t' 'NR == 1 || $1 < a { a = $1 } NR == 1 || $1 > b { b = $1 }
                                    END { print a, b }' "$tmp/truth.tsv")
[ $((last - first)) -ge $((2 * 86400)) ] || fail "the log spans $((last - first)) s, not 2 days"
[ "$(cut -f8 "$tmp/truth.tsv" | sort -u | wc -l)" -ge 3 ] || fail "fewer than 3 virtual hosts"

# "host requests clients" per host over [a, b], sorted by host.
truth() {
  awk -F'\t' -v a="$1" -v b="$2" '$1 >= a && $1 <= b && $8 != "-" {
      r[$8]++; if (!(($8, $5) in s)) { s[$8, $5]; c[$8]++ } }
    END { for (v in r) print v, r[v], c[v] }' "$tmp/truth.tsv" | sort
}
got() { jq -r '.vhosts.top[] | "\(.vhost) \(.requests) \(.clients)"' | sort; }

# 1. All time.
"$logtally" analyze --json -f vhost_combined "$log" >"$tmp/all.json"
[ "$(jq -r '.vhosts.clients_exact' "$tmp/all.json")" = true ] || fail "all time: clients_exact is not true"
want=$(truth 0 99999999999)
[ "$(got <"$tmp/all.json")" = "$want" ] || fail "all time:
  got  $(got <"$tmp/all.json" | paste -sd' ')
  want $(paste -sd' ' <<<"$want")"
# Big enough for several 32 MiB chunks, so that 2 threads merge parts.
"$loggen" --format vhost_combined --lines 500000 --seed 22 --clients 60000 --out "$tmp/big.log"
"$logtally" analyze --json -f vhost_combined --threads 1 "$tmp/big.log" >"$tmp/one.json"
"$logtally" analyze --json -f vhost_combined --threads 2 "$tmp/big.log" >"$tmp/two.json"
cmp -s "$tmp/one.json" "$tmp/two.json" ||
  fail "1 and 2 threads differ: $(diff <(jq -S . "$tmp/one.json") <(jq -S . "$tmp/two.json") | head -6)"
echo "1. all time: $(paste -sd' ' <<<"$want" | sed 's/ \([a-z]\)/; \1/g') (host requests clients)"

# 2. Every hour and 30 random windows, from the snapshot.
"$logtally" analyze --save "$tmp/all.snap" -f vhost_combined "$log" >/dev/null
check_window() {
  local a=$1 b=$2 j ca cb
  j=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/all.snap")
  [ "$(jq -r '.vhosts.clients_exact // "none"' <<<"$j")" != false ] || fail "[$a, $b]: clients per host not exact"
  ca=$(jq -r '.window.covered_from' <<<"$j")
  cb=$(jq -r '.window.covered_to' <<<"$j")
  [ "$(got <<<"$j")" = "$(truth "$ca" "$cb")" ] || fail "[$a, $b] (buckets [$ca, $cb]):
  got  $(got <<<"$j" | paste -sd' ')
  want $(truth "$ca" "$cb" | paste -sd' ')"
}
h0=$((first - first % 3600))
hours=0
for ((h = h0; h <= last; h += 3600)); do
  check_window "$h" $((h + 3599))
  hours=$((hours + 1))
done
RANDOM=11
windows=()
for _ in $(seq 30); do
  a=$((first - 600 + (RANDOM * 32768 + RANDOM) % (last - first + 1200)))
  b=$((a + (RANDOM * 32768 + RANDOM) % (12 * 3600)))
  windows+=("$a:$b")
  check_window "$a" "$b"
done
echo "2. $hours hours and 30 random windows equal the truth"

# 3. analyze, the daemon and a merge of two halves say the same.
head -n 75000 "$log" >"$tmp/half1.log"
tail -n +75001 "$log" >"$tmp/half2.log"
"$logtally" analyze --save "$tmp/h1.snap" -f vhost_combined "$tmp/half1.log" >/dev/null
"$logtally" analyze --save "$tmp/h2.snap" -f vhost_combined "$tmp/half2.log" >/dev/null
sock=$tmp/logtally.sock
cat >"$tmp/logtally.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
sources:
  - path: $log
    format: vhost_combined
YAML
"$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
"$logtally" -s "$sock" summary --wait >/dev/null
v='.vhosts'
for w in "${windows[@]:0:8}" "$h0:$((h0 + 7199))"; do
  a=${w%:*} b=${w#*:}
  want=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/all.snap" | jq -cS "$v")
  got=$("$logtally" analyze --json -f vhost_combined --from "$a" --to "$b" "$log" | jq -cS "$v")
  [ "$got" = "$want" ] || fail "analyze [$a, $b] differs: $got, not $want"
  got=$("$logtally" -s "$sock" vhosts --json --from "$a" --to "$b" | jq -cS "$v")
  [ "$got" = "$want" ] || fail "the daemon's /v1/vhosts [$a, $b] differs: $got, not $want"
  got=$("$logtally" merge --json --from "$a" --to "$b" "$tmp/h1.snap" "$tmp/h2.snap" | jq -cS "$v")
  [ "$got" = "$want" ] || fail "merge of two halves [$a, $b] differs: $got, not $want"
done
want=$(jq -cS "$v" "$tmp/all.json")
got=$("$logtally" -s "$sock" vhosts --json | jq -cS "$v")
[ "$got" = "$want" ] || fail "the daemon's all-time /v1/vhosts differs: $got, not $want"
got=$("$logtally" merge --json "$tmp/h1.snap" "$tmp/h2.snap" | jq -cS "$v")
[ "$got" = "$want" ] || fail "merge of two halves, all time, differs: $got, not $want"
www=$(jq -r '.vhosts.top[] | select(.vhost == "www.example.com") | .clients' "$tmp/all.json")
"$logtally" -s "$sock" vhosts >"$tmp/vhosts.txt"
grouped=$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$www")
grep -Eq "^ +[0-9,]+ +$grouped +www\.example\.com$" "$tmp/vhosts.txt" ||
  fail "the text table lacks www.example.com's $www clients: $(cat "$tmp/vhosts.txt")"
curl -s --unix-socket "$sock" http://localhost/metrics >"$tmp/metrics.txt"
grep -qx "logtally_vhost_clients{vhost=\"www.example.com\"} $www" "$tmp/metrics.txt" ||
  fail "/metrics lacks logtally_vhost_clients of www.example.com = $www: $(grep vhost_clients "$tmp/metrics.txt")"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
echo "3. analyze, /v1/vhosts, the text table, /metrics and merge of two halves agree"

# 4. A budget below a day's pairs: the newest hours keep them, old ones say
#    they are not known, and everything else is as before.
small=(--bucket-clients-bytes 256KiB)
"$logtally" analyze --json -f vhost_combined "${small[@]}" --from "$h0" --to "$last" "$log" >"$tmp/small.json"
[ "$(jq -r '.vhosts.clients_exact' "$tmp/small.json")" = false ] || fail "small budget: the whole span says exact"
[ "$(jq -r '[.vhosts.top[].clients] | map(. == null) | all' "$tmp/small.json")" = true ] ||
  fail "small budget: the whole span gives clients per host"
[ "$(jq -cS 'del(.vhosts.top[].clients, .vhosts.clients_exact) | .vhosts' "$tmp/small.json")" = \
  "$("$logtally" merge --json --from "$h0" --to "$last" "$tmp/all.snap" |
     jq -cS 'del(.vhosts.top[].clients, .vhosts.clients_exact) | .vhosts')" ] ||
  fail "small budget: the requests per host moved"
lh=$((last - last % 3600))
j=$("$logtally" analyze --json -f vhost_combined "${small[@]}" --from "$lh" --to $((lh + 3599)) "$log")
[ "$(jq -r '.vhosts.clients_exact' <<<"$j")" = true ] || fail "small budget: the newest hour is not exact"
ca=$(jq -r '.window.covered_from' <<<"$j")
cb=$(jq -r '.window.covered_to' <<<"$j")
[ "$(got <<<"$j")" = "$(truth "$ca" "$cb")" ] || fail "small budget: the newest hour differs from the truth"
j=$("$logtally" analyze --json -f vhost_combined "${small[@]}" --from "$h0" --to $((h0 + 3599)) "$log")
[ "$(jq -r '.vhosts.clients_exact' <<<"$j")" = false ] || fail "small budget: the oldest hour says exact"
echo "4. budget 256 KiB: the newest hour exact, the oldest and the whole span say not known"
echo "e2e_vhosts: ok"
