#!/usr/bin/env bash
# e2e_formats.sh LOGTALLYD LOGTALLY LOGGEN
# The logs people have, end to end with the real binaries:
#   1. for Caddy's JSON log, JSON lines, two nginx log_format strings and a
#      combined log with ports, proxies and handshakes, `logtally analyze
#      --json` equals loggen's truth: lines, valid, malformed, unparsed and
#      non-HTTP requests, bytes, clients, time span, peak, top 10, and the
#      response time percentiles within the histogram's stated error;
#   2. the findings of issue 13: clients with ports are their addresses;
#      an X-Forwarded-For list in the first field gives the clients behind
#      the trusted proxies; a vhost_combined log read as combined names the
#      format that parses it and exits 1; "combine" is refused with "did you
#      mean combined?"; Debian's LogFormat line is accepted; detect names
#      each format;
#   3. the daemon follows a Caddy log and an nginx log_format log and gives
#      the truth's numbers.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
. "$(dirname "$0")/e2e_common.sh"

fields='{lines,valid,malformed,unparsed_requests,non_http_requests,bytes,
         clients:{ipv4:.clients.ipv4,ipv6:.clients.ipv6,other:.clients.other,total:.clients.total},
         first_ts,last_ts,peak:{second:.peak.second,requests:.peak.requests},top:[.top[]|{url,count}]}'
# same_as_truth TRUTH REPORT NAME
same_as_truth() {
  diff <(jq -S "$fields" "$1") <(jq -S "$fields" "$2") >"$tmp/diff" || fail "$3: differs from the truth: $(cat "$tmp/diff")"
  jq -e -n --slurpfile t "$1" --slurpfile a "$2" '
    def close(x; y): (if y == 0 then x == 0 else ((x - y) | fabs) / y <= 1 / 128 + 1e-9 end);
    if $t[0].response_time == null then $a[0].response_time == null
    else $a[0].response_time.count == $t[0].response_time.count and
         close($a[0].response_time.p50; $t[0].response_time.p50) and
         close($a[0].response_time.p90; $t[0].response_time.p90) and
         close($a[0].response_time.p99; $t[0].response_time.p99) and
         $a[0].response_time.max == $t[0].response_time.max end' >/dev/null ||
    fail "$3: response times $(jq -c .response_time "$2"), truth $(jq -c .response_time "$1")"
}

echo "1. each form against the generator's truth"
trust=(--trusted-proxy 127.0.0.0/8,fd00::/8)
main='log_format main '"'"'$remote_addr - $remote_user [$time_local] "$request" '"'"' '"'"'$status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time'"'"';'
main_spec='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $request_time'
upstream='$remote_addr $host $time_iso8601 "$request" $status $bytes_sent $upstream_response_time'
run_form() {   # NAME LOGGEN_FORMAT ANALYZE_ARGS...
  local name=$1 form=$2
  shift 2
  "$loggen" --lines 60000 --seed 13 --format "$form" --ports 50 --handshakes 5 "${extra[@]}" \
    --out "$tmp/$name.log" --truth "$tmp/$name.truth"
  "$logtally" analyze --json "$@" "$tmp/$name.log" >"$tmp/$name.json"
  same_as_truth "$tmp/$name.truth" "$tmp/$name.json" "$name"
  echo "  $name: $(jq -r '"\(.valid) valid, \(.clients.total) clients, \(.non_http_requests) not HTTP, p99 \(.response_time.p99 // "-") s"' "$tmp/$name.json"): as the truth"
}
extra=()
run_form caddy caddy -f caddy
extra=(--proxies 4)
run_form json json -f json --client-header http_x_forwarded_for "${trust[@]}"
run_form nginx-main "nginx:$main_spec" -f "$main" --client-header X-Forwarded-For "${trust[@]}"
extra=()
run_form nginx-upstream "nginx:$upstream" -f "$upstream"
extra=(--proxies 4)
run_form combined-proxies combined "${trust[@]}"
[ "$(jq -r .response_time.count "$tmp/caddy.json")" -gt 50000 ] || fail "caddy: few response times"
[ "$(jq -r .non_http_requests "$tmp/json.json")" -gt 100 ] || fail "json: the handshakes were not generated"

echo "2. the findings of the issue"
for i in $(seq 0 19); do
  case $((i % 14)) in
    1[0-3]) a="[2001:db8::$((i % 14))]" ;;
    *) a="192.0.2.$((i % 14))" ;;
  esac
  printf '%s:%d - - [10/Oct/2023:13:55:%02d +0000] "GET / HTTP/1.1" 200 5\n' "$a" $((40000 + i)) "$i"
done >"$tmp/ports.log"
[ "$("$logtally" analyze --json "$tmp/ports.log" | jq -c '[.clients.total, .clients.other]')" = "[14,0]" ] ||
  fail "clients with ports: $("$logtally" analyze --json "$tmp/ports.log" | jq -c .clients)"
echo "  20 lines from 14 addresses with ports: 14 clients, 0 other"
for i in $(seq 0 19); do
  printf '203.0.113.%d, 10.0.0.%d, 127.0.0.1 - - [10/Oct/2023:13:55:%02d +0000] "GET / HTTP/1.1" 200 5 "-" "ua"\n' $((i % 7)) $((i % 3)) "$i"
done >"$tmp/xff.log"
got=$("$logtally" analyze --json --trusted-proxy 127.0.0.1 --trusted-proxy 10.0.0.0/8 "$tmp/xff.log" |
      jq -c '[.valid, .clients.total, .client_rule]')
[ "$got" = '[20,7,"the rightmost address of the client field not among 2 trusted proxies"]' ] || fail "XFF list in the first field: $got"
echo "  an X-Forwarded-For list in the first field: 20 valid, the 7 clients behind the proxies"
for i in $(seq 0 19); do
  printf 'www.example.com:443 192.0.2.%d - - [10/Oct/2023:13:55:%02d +0000] "GET / HTTP/1.1" 200 5 "-" "ua"\n' "$i" "$i"
done >"$tmp/vhost.log"
status=0
"$logtally" analyze --json -f combined "$tmp/vhost.log" >"$tmp/v.json" 2>"$tmp/v.err" || status=$?
[ "$status" = 1 ] || fail "0 valid lines: exit status $status, not 1"
grep -q "0 valid lines; these lines parse as vhost_combined (20 of the first 20)" "$tmp/v.err" || fail "no hint: $(cat "$tmp/v.err")"
[ "$(jq -r .lines "$tmp/v.json")" = 20 ] || fail "0 valid lines: no report"
echo "  vhost_combined read as combined: '$(sed 's/.*: 0 valid/0 valid/' "$tmp/v.err")', exit 1"
for f in combine Combined vhost; do
  status=0
  "$logtally" analyze -f "$f" "$tmp/vhost.log" 2>"$tmp/f.err" >/dev/null || status=$?
  [ "$status" = 2 ] || fail "-f $f: exit $status"
  grep -q "unknown format '$f' (did you mean" "$tmp/f.err" || fail "-f $f: $(cat "$tmp/f.err")"
done
grep -q "did you mean vhost_combined?" "$tmp/f.err" || fail "-f vhost: $(cat "$tmp/f.err")"
echo "  -f combine, Combined, vhost: unknown format, with the closest name"
debian='LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined'
[ "$("$logtally" analyze --json -f "$debian" "$tmp/vhost.log" | jq .valid)" = 20 ] || fail "Debian's LogFormat line"
[ "$("$logtally" analyze --json -f '%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"' "$tmp/xff.log" | jq .valid)" = 20 ] ||
  fail "Debian's combined LogFormat string"
echo "  Debian's LogFormat lines: accepted"
"$logtally" detect "$tmp/vhost.log" "$tmp/caddy.log" "$tmp/json.log" "$tmp/ports.log" >"$tmp/detect.out"
for want in "vhost.log: vhost_combined (20 of 20" "caddy.log: caddy (200 of 200" "json.log: json (200 of 200" "ports.log: common (20 of 20"; do
  grep -q "$want" "$tmp/detect.out" || fail "detect: no '$want' in $(cat "$tmp/detect.out")"
done
[ "$("$logtally" analyze --json -f auto "$tmp/vhost.log" 2>/dev/null | jq .valid)" = 20 ] || fail "-f auto"
echo "  detect and -f auto name vhost_combined, caddy, json, common"

echo "3. the daemon follows the new forms"
sock=$tmp/logtally.sock
: >"$tmp/follow-caddy.log"
: >"$tmp/follow-nginx.log"
cat >"$tmp/logtally.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
sources:
  - path: $tmp/follow-caddy.log
    format: caddy
  - path: $tmp/follow-nginx.log
    format: '$upstream'
YAML
"$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/daemon.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "the daemon did not create its socket"
cat "$tmp/caddy.log" >>"$tmp/follow-caddy.log"
want=$(jq .valid "$tmp/caddy.truth")
for _ in $(seq 100); do
  got=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq .valid)
  [ "$got" = "$want" ] && break
  sleep 0.1
done
curl -sf --unix-socket "$sock" http://localhost/v1/summary?n=10 >"$tmp/d.json"
same_as_truth "$tmp/caddy.truth" "$tmp/d.json" "daemon following caddy"
curl -sf --unix-socket "$sock" http://localhost/metrics >"$tmp/metrics"
grep -q "^logtally_request_duration_seconds_count $(jq .response_time.count "$tmp/caddy.truth")\$" "$tmp/metrics" ||
  fail "/metrics: $(grep duration_seconds_count "$tmp/metrics")"
grep -q '^logtally_request_duration_seconds_bucket{le="+Inf"}' "$tmp/metrics" || fail "/metrics: no +Inf bucket"
echo "  caddy: $want valid lines, as the truth; /metrics has the response time histogram"
cat "$tmp/nginx-upstream.log" >>"$tmp/follow-nginx.log"
want=$(( want + $(jq .valid "$tmp/nginx-upstream.truth") ))
timed=$(( $(jq .response_time.count "$tmp/caddy.truth") + $(jq .response_time.count "$tmp/nginx-upstream.truth") ))
for _ in $(seq 100); do
  got=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq .valid)
  [ "$got" = "$want" ] && break
  sleep 0.1
done
[ "$got" = "$want" ] || fail "after the nginx log the daemon reports $got valid lines, not $want"
got=$(curl -sf --unix-socket "$sock" http://localhost/v1/summary | jq -c '[.response_time.count, .non_http_requests]')
want_nh=$(( $(jq .non_http_requests "$tmp/caddy.truth") + $(jq .non_http_requests "$tmp/nginx-upstream.truth") ))
[ "$got" = "[$timed,$want_nh]" ] || fail "caddy + nginx: $got, not [$timed,$want_nh]"
echo "  and an nginx log_format log beside it: $want valid lines, $timed timed, $want_nh not HTTP"
kill -TERM "$pid"
wait "$pid" || true
pid=
echo "ok"
