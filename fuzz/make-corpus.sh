#!/usr/bin/env bash
# Writes the seed corpora in fuzz/corpus/ from the project's own tools
# (build/tools/loggen, config/logtally.yaml; for the snapshot seeds also
# build/cli/logtally and build/daemon/logtallyd, found next to LOGGEN) and
# from hand-written lines.  The committed corpus is this script's output;
# run it again after changing it.  Real logs never go in here.  The
# snapshot seeds differ from run to run in their `created` field (and the
# daemon's in its sources' paths, devices and inodes); the rest is the same
# bytes every time.
#
#   fuzz/make-corpus.sh [LOGGEN]      (default build/tools/loggen)
set -euo pipefail
cd "$(dirname "$0")/.."
loggen=${1:-build/tools/loggen}
[ -x "$loggen" ] || { echo "make-corpus: build $loggen first (scripts/build.sh build)" >&2; exit 2; }
bin=$(dirname "$loggen")/..
logtally=$bin/cli/logtally
logtallyd=$bin/daemon/logtallyd
for b in "$logtally" "$logtallyd"; do
  [ -x "$b" ] || { echo "make-corpus: build $b first (scripts/build.sh build)" >&2; exit 2; }
done
out=fuzz/corpus
rm -rf "$out"
mkdir -p "$out"/{parse,parse_diff,config,hll_import,json_string,gz,snapshot,http,jsonscan,qtime,cut}

# The JSON and nginx forms: loggen's, and hand-written corners (escapes,
# surrogates, nesting, duplicates, numbers as strings, truncations).
json_edges() {
  cat <<'EOF'
{"ts":1.5e9,"request":{"remote_ip":"10.0.0.9","client_ip":"[2001:db8::1]:443","method":"GET","uri":"/\u00e9\ud83d\ude00"},"status":"200","size":"7","duration":5e-07}
{"ts":1,"request":{"remote_ip":"1.2.3.4","remote_ip":"5.6.7.8","uri":"/a","x":[[[{"y":null}]]]},"status":200}
{"ts":1,"request":{"remote_ip":"1.2.3.4","uri":"/\udc00"},"status":200,"size":-1}
{"t":"10/Oct/2000:13:55:36 -0700","c":{"ip":"1.2.3.4, 10.0.0.1"},"u":"/x","m":"\\x16","s":404,"d":{"x":"0.5"},"xff":"198.51.100.1"}
{"time":"2000-10-10T13:55:36.25Z","remote_addr":"::1","request":"GET /q HTTP/1.1","status":200,"request_time":"1e3"}
{"ts":1,"request":{"remote_ip":"1.2.3.4","uri":"/"},"status":200
EOF
}
new_forms() {
  local caddy json i=0
  caddy=$("$loggen" --format caddy --lines 6 --seed 21 --malformed 200 --handshakes 100)
  json=$("$loggen" --format json --lines 6 --seed 22 --proxies 3 --ports 300)
  { printf j; printf '%s\n' "$caddy"; json_edges; } >"$out/parse/format-j"
  { printf J; printf '%s\n' "$json"; json_edges; } >"$out/parse/format-J"
  { printf m; json_edges; } >"$out/parse/format-m"
  { printf x; "$loggen" --format 'nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"' \
      --lines 8 --seed 23 --proxies 3 --handshakes 100; } >"$out/parse/format-x"
  { printf u; "$loggen" --format 'nginx:$remote_addr $host $time_iso8601 "$request" $status $upstream_response_time $msec' \
      --lines 8 --seed 24; } >"$out/parse/format-u"
  { printf M; printf '%s\n' '1.2.3.4|971211336.123|GET /a?b|200|0.004' '::1|1|\x16\x03 /|400|-'; } >"$out/parse/format-M"
  { printf T; "$loggen" --lines 8 --seed 25 --proxies 2 --ports 300 | sed 's/$/ 1234 15 0/'; } >"$out/parse/format-T"
  { printf '%s\n' "$caddy" "$json"; json_edges; } | while IFS= read -r l; do
    printf '%s' "$l" >"$out/jsonscan/line-$i"
    i=$((i + 1))
  done
}

# Hand-written lines that reach the corners: IPv6 spellings, escapes, runs
# of spaces, CRLF, leap days and leap seconds, bad fields of every kind.
edge_lines() {
  cat <<'EOF'
::1 - - [29/Feb/2024:23:59:60 -0000] "GET /leap HTTP/1.1" 200 1
[2001:db8::1] - - [01/Jan/1970:00:00:00 +2359] "GET / HTTP/1.0" 200 -
fe80::1%eth0 - - [31/Dec/9999:23:59:59 -2359] "POST /a?b=c HTTP/2.0" 201 9999999999999999999
::ffff:192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET /mapped HTTP/1.1" 304 0
::FFFF:C000:0201 - - [10/Oct/2000:13:55:36 -0700] "GET /mapped-hex HTTP/1.1" 304 0
host.example.com   -   frank   [10/Oct/2000:13:55:36 -0700]   "GET  /spaces  HTTP/1.0"   200   2326   "-" "UA"
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /esc\"aped \\ HTTP/1.1" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /trail\\" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET\" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a\" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1\" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1\" 200 5 "-" 200 6
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.1\\" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a\\\" x" 200 5
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET" 400 0
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 extra" 400 0
10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "" 400 0
010.0.0.1 - - [30/Feb/2023:13:55:36 -0700] "GET / HTTP/1.1" 200 1
256.1.1.1 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 2000 1
1.2.3.4 - - [10/Oct/1969:13:55:36 -0700] "GET / HTTP/1.1" 200 12a
1.2.3.4 - - [10/Oct/2000:24:55:36 +2400] "GET / HTTP/1.1" 200 1
1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 200 1
1.2.3.4 - - [10/Oct/2000:13:55:36 -0700]"GET / HTTP/1.1" 200 1
1.2.3.4 - -
1.2.3.4
 1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1
1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 12345678901234567890

EOF
  printf '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /crlf HTTP/1.1" 200 1\r\n'
  printf '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /x\\xff\xff\x00 HTTP/1.1" 200 1\n'
  printf '::1\x00junk - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1\n'
  printf '\r\n'
}

# ---- parse: byte 0 picks the format (see fuzz_parse.c) ----
common() { "$loggen" --format common --malformed 150 --ipv6 200 --hostnames 150 "$@"; }
{ printf c; common --lines 20 --seed 1; } >"$out/parse/common"
{ printf C; "$loggen" --lines 20 --seed 2 --malformed 150; } >"$out/parse/combined"
{ printf v; "$loggen" --format vhost_combined --lines 12 --seed 3 --malformed 150; } \
  >"$out/parse/vhost_combined"
{ printf n; "$loggen" --lines 8 --seed 4 | sed 's/$/ "-" rt=0.012 uct="0.000"/'; } >"$out/parse/nginx"
{ printf c; edge_lines; } >"$out/parse/edge"
{ printf a; printf '%s\n' '1.2.3.4 frank [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326' \
    '::1 - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.0" 404 0'; } >"$out/parse/format-a"
{ printf o; printf '%s\n' \
    '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "curl/8" 2300 1234'; } \
  >"$out/parse/format-o"
{ printf p; printf '%s\n' '1.2.3.4|-|[10/Oct/2000:13:55:36 -0700]|"GET /p HTTP/1.0"|200|5|10.0.0.2' \
    'h|x|[10/Oct/2000:13:55:36 -0700]|"GET /p|q HTTP/1.0"|500|-|-'; } >"$out/parse/format-p"
{ printf t; printf '%s\n' '[10/Oct/2000:13:55:36 -0700] www.example.com 1.2.3.4 "GET / HTTP/1.1" 200 1'; } \
  >"$out/parse/format-t"
{ printf q; printf '%s\n' '"1.2.3.4" "Mozilla/5.0" [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" "200" 1' \
    '"" "" [10/Oct/2000:13:55:36 -0700] "" "" -'; } >"$out/parse/format-q"
{ printf V; printf '%s\n' 'www.example.com:443 1.2.3.4[10/Oct/2000:13:55:36 -0700]"GET / HTTP/1.1"200 1'; } \
  >"$out/parse/format-V"
{ printf '%%%s\n' '%h %l %u %t "%r" %>s %b'; common --lines 10 --seed 5; } >"$out/parse/custom-common"
{ printf '%%%s\n' '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'
  "$loggen" --format vhost_combined --lines 6 --seed 6; } >"$out/parse/custom-vhost"
{ printf '%%%s\n' '%{X-Forwarded-For}i %a %!200,304l %<u [%t] "%r" %>s %B %% "%{Host}i"'
  printf '%s\n' '10.0.0.1 1.2.3.4 - - [[10/Oct/2000:13:55:36 -0700]] "GET / HTTP/1.1" 200 17 % "example.com"'; } \
  >"$out/parse/custom-modifiers"
printf '%%%s\n%s\n' '%{Referer %h %t "%r" %>s %b' 'x' >"$out/parse/custom-bad-brace"
printf '%%%s\n%s\n' '%h %t %r %>s %b' 'x' >"$out/parse/custom-bad-unquoted"
printf '%%%s\n%s\n' '%h %{%d/%b}t "%r" %s %b' 'x' >"$out/parse/custom-bad-time"
printf '%%%s\n%s\n' 'common' 'x' >"$out/parse/custom-name"
new_forms

# ---- parse_diff: common lines ----
common --lines 30 --seed 11 >"$out/parse_diff/loggen-1"
common --lines 30 --seed 12 --zones +0000,+1400,-1200,+0545 >"$out/parse_diff/loggen-2"
"$loggen" --format combined --lines 10 --seed 13 >"$out/parse_diff/combined"
edge_lines >"$out/parse_diff/edge"

# ---- config: the documented example and hand-written documents ----
cp config/logtally.yaml "$out/config/logtally.yaml"
printf '' >"$out/config/empty"
cat >"$out/config/flow" <<'EOF'
{socket: "/tmp/a.sock", socket_mode: 0o640, socket_group: adm, listen: "[::1]:8080",
 threads: 4, strip_query: yes, limits: {exact_clients_bytes: 1GiB, url_entries: 10},
 http: {max_connections: 1, max_header_bytes: 1KB, request_timeout: 250ms},
 sources: [{path: "/var/log/*.log"}, {path: /x, format: "%h %l %u %t \"%r\" %>s %b"}]}
EOF
cat >"$out/config/errors" <<'EOF'
%YAML 1.1
--- !!map
socket: &s /a
state_dir: *s
limits: ~
http:
sources:
  - path: /x
    format: combined
    extra: 1
socket_mod: 0777
---
second: doc
EOF
printf 'threads: 65\nlisten: host:0\ncheckpoint_interval: 99ms\n' >"$out/config/ranges"
printf 'socket: "\\0"\nstate_dir: "\xff\xfe"\n' >"$out/config/bytes"

# ---- hll_import: Redis blobs made with printf ----
hdr() { printf 'HYLL'; printf "\\x0$1"; printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80'; }
{ hdr 1; printf '\x7f\xff'; } >"$out/hll_import/sparse-empty"
{ hdr 1; printf '\x80\x7f\xfd\x00'; } >"$out/hll_import/sparse-one"   # VAL 1 x1, XZERO 16382, ZERO 1
{ hdr 1; printf '\xfc\x84\x3f\x7f\xbd'; } >"$out/hll_import/sparse-mixed"
{ hdr 1; printf '\x7f\xff\x00'; } >"$out/hll_import/sparse-past-end"
{ hdr 1; printf '\x7f'; } >"$out/hll_import/sparse-cut"
{ hdr 0; head -c 12288 /dev/zero; } >"$out/hll_import/dense-zero"
# Four registers of 1 in three bytes (41 10 04); of 51 (f3 3c cf).
{ hdr 0; for _ in $(seq 4096); do printf '\x41\x10\x04'; done; } >"$out/hll_import/dense-ones"
{ hdr 0; for _ in $(seq 4096); do printf '\xf3\x3c\xcf'; done; } >"$out/hll_import/dense-max"
{ hdr 0; for _ in $(seq 4096); do printf '\x61\x18\x86'; done; } >"$out/hll_import/dense-33"
{ hdr 2; printf '\x7f\xff'; } >"$out/hll_import/bad-encoding"

# ---- json_string: byte 0 is the prefix length ----
printf '\x00/index.html?q=a+b' >"$out/json_string/ascii"
printf '\x05caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf' >"$out/json_string/utf8"
printf '\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe0\x80\x80\xc2\xff\x80' >"$out/json_string/invalid"
printf '\x01"\\\x01\x08\x09\x0a\x0c\x0d\x1f\x7f\\x41' >"$out/json_string/controls"

# ---- gz: flags, 4 seed bytes, then the stream ----
{ printf '\x03\x00\x00\x00\x01'; common --lines 10 --seed 21; } >"$out/gz/lines-mixed"
{ printf '\x00\x00\x00\x00\x02'; printf 'a\n\nb\r\nlast'; } >"$out/gz/lines-tiny"
{ printf '\x06\x00\x00\x00\x03'; printf 'a\n'; printf '\xfe\x10\x00\x01'; printf '\nb\n'; } \
  >"$out/gz/overlong"
{ printf '\x0b\x00\x00\x00\x04'; printf '\xfe\x20\x00\x00'; printf '\n'; printf '\xfe\x0f\xff\xff'; } \
  >"$out/gz/buffer-full"
gz() { printf '\x02\x00\x00\x00\x05'; gzip -9 -n -c; }
common --lines 15 --seed 22 | gz >"$out/gz/gzip"
{ printf '\x02\x00\x00\x00\x06'; common --lines 3 --seed 23 | gzip -n -c
  printf 'tail without newline' | gzip -n -c; } >"$out/gz/gzip-members"
# (gzip may die of SIGPIPE when head stops reading: not a failure here.)
{ common --lines 15 --seed 24 | gz || true; } | head -c 120 >"$out/gz/gzip-truncated"

# ---- snapshot: byte 0 is the mode (see fuzz_snapshot.c), then a snapshot ----
# Real snapshots: `logtally analyze --save` (exact, and inexact with no
# client budget and 5 exact URLs), one with virtual hosts, an empty one, and a daemon's with its
# sources (a plain file and a .gz read whole).
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  [ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
common --lines 40 --seed 31 --rps 1 --malformed 100 >"$tmp/a.log"
"$loggen" --lines 60 --seed 32 --rps 2 --malformed 80 --ipv6 200 --hostnames 150 >"$tmp/b.log"
: >"$tmp/empty.log"
"$logtally" analyze --format common --save "$tmp/exact.snap" "$tmp/a.log" >/dev/null
"$logtally" analyze --strip-query --save "$tmp/exact-b.snap" "$tmp/b.log" >/dev/null
"$logtally" analyze --exact-clients-bytes 0 --url-entries 5 --save "$tmp/inexact.snap" \
  "$tmp/b.log" >/dev/null
"$logtally" analyze --save "$tmp/empty.snap" "$tmp/empty.log" >/dev/null
"$loggen" --format vhost_combined --lines 50 --seed 35 --rps 1 --malformed 60 --ipv6 200 \
  --hostnames 150 >"$tmp/v.log"
"$logtally" analyze -f vhost_combined --save "$tmp/vhost.snap" "$tmp/v.log" >/dev/null
"$loggen" --lines 30 --seed 33 --rps 1 --malformed 100 >"$tmp/d.log"
"$loggen" --lines 10 --seed 34 | gzip -n -c >"$tmp/e.log.gz"
mkdir "$tmp/state"
"$logtallyd" -s "$tmp/sock" -S "$tmp/state" "$tmp/d.log" "$tmp/e.log.gz" 2>/dev/null &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
"$logtally" -s "$tmp/sock" summary --wait >/dev/null
"$logtally" -s "$tmp/sock" snapshot >"$tmp/daemon.snap"
kill "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=

# mode byte, then the file
seed() { { printf "$2"; cat "$tmp/$1.snap"; } >"$out/snapshot/$3"; }
seed exact '\x04' exact
seed exact '\x09' exact-reseal-tiny
seed exact-b '\x00' exact-strip
seed inexact '\x04' inexact
seed inexact '\x19' inexact-reseal-defaults
seed exact-b '\x15' exact-strip-reseal-small
seed empty '\x1c' empty-defaults
seed daemon '\x04' daemon
seed daemon '\x00' daemon-no-sources
seed vhost '\x04' vhost
# Compact seeds (modes 2 and 3): the hll section (table entry 3, whose
# length is at byte 144) cut to its first K bytes; the target lays the
# sections out again and reseals, so offsets and checksums may stay stale.
u64at() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
le64() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))"; printf '\0\0\0\0\0\0'; }
slice() { [ "$3" -eq 0 ] || head -c $(($2 + $3)) "$1" | tail -c "$3"; }    # FILE FROM BYTES
compact() {    # SNAP MODE K NAME
  local f=$tmp/$1.snap off size
  off=$(u64at "$f" 136)
  size=$(wc -c <"$f")
  { printf "$2"; head -c 144 "$f"; le64 "$3"; slice "$f" 152 $((off - 152)); slice "$f" "$off" "$3"
    slice "$f" $((off + 49152)) $((size - off - 49152)); } >"$out/snapshot/$4"
}
compact exact '\x06' 0 compact-exact
compact exact-b '\x03' 96 compact-exact-strip-tile
compact inexact '\x06' 0 compact-inexact
compact inexact '\x1f' 256 compact-inexact-tile-defaults
compact empty '\x02' 0 compact-empty
compact daemon '\x06' 16 compact-daemon
compact daemon '\x0a' 0 compact-daemon-tiny
compact vhost '\x06' 0 compact-vhost

# ---- http: flags, generation (u32), then "METHOD PATH?QUERY" or raw HTTP ----
# flags: bits 0-1 peer (0 TCP, 1 unknown uid, 2 root, 3 other uid), bit 2 raw
req() { { printf "$1"; printf "$2"; printf '%s' "$3"; } >"$out/http/$4"; }
req '\x02' '\x01\x00\x00\x00' 'GET /healthz' health
req '\x02' '\x01\x00\x00\x00' 'GET /healthz?format=text' health-text
req '\x00' '\x01\x00\x00\x00' 'GET /v1/summary?n=3' summary
req '\x00' '\x20\x00\x00\x00' 'GET /v1/summary?format=text&n=0' summary-text-catching-up
req '\x00' '\x02\x00\x00\x00' 'GET /v1/summary?n=100000' summary-inexact
req '\x01' '\x01\x00\x00\x00' 'GET /v1/top?n=5' top
req '\x01' '\x02\x00\x00\x00' 'GET /v1/top?n=7&format=text' top-text-inexact
req '\x02' '\x01\x00\x00\x00' 'GET /v1/rps' rps
req '\x02' '\x01\x00\x00\x00' 'GET /v1/rps?from=2024-01-01T00:00:00Z&to=2024-01-01T00:10%3A00%2B01:00&step=1m' rps-iso
req '\x02' '\x04\x00\x00\x00' 'GET /v1/rps?from=1704067200&to=1704153600&step=1h&format=text' rps-text
req '\x02' '\x00\x00\x00\x00' 'GET /v1/rps?from=-9223372036854775807&to=0&step=1d' rps-empty-far
req '\x02' '\x01\x00\x00\x00' 'GET /v1/rps?from=2024-01-31+10:00-0530&step=1s' rps-offset
# A relative window's long series, too big for the cache: two asks a
# second apart differ (fuzz_http compares them only within one second).
req '\x02' '\x00\x00\xc8\x00' 'GET /v1/rps?from=-780775&to=-77h' rps-relative-long-series
req '\x00' '\x25\x00\x00\x00' 'GET /v1/sources' sources
req '\x00' '\x25\x00\x00\x00' 'GET /v1/sources?format=text' sources-text
req '\x00' '\x01\x00\x00\x00' 'GET /v1/hll' hll
req '\x00' '\x02\x00\x00\x00' 'GET /v1/snapshot' snapshot
req '\x00' '\x50\x01\x00\x00' 'GET /v1/snapshot' snapshot-no-memory
req '\x00' '\x01\x00\x00\x00' 'GET /metrics' metrics
req '\x02' '\x01\x00\x00\x00' 'POST /v1/reload' reload-root
req '\x02' '\x40\x00\x00\x00' 'POST /v1/reload?format=text' reload-fails
req '\x00' '\x01\x00\x00\x00' 'POST /v1/reload' reload-tcp
req '\x03' '\x01\x00\x00\x00' 'POST /v1/reload' reload-other-uid
req '\x01' '\x01\x00\x00\x00' 'POST /v1/reload' reload-unknown-uid
req '\x00' '\x01\x00\x00\x00' 'DELETE /v1/summary' wrong-method
req '\x00' '\x01\x00\x00\x00' 'GET /v2/nothing' not-found
req '\x00' '\x01\x00\x00\x00' 'GET /v1/top?n=1&x=%ff&format=yaml&a&b=&c=1&d=2&e=3&f=4' bad-params
req '\x00' '\x01\x00\x00\x00' 'GET /v1/top?n=%4' bad-percent
req '\x06' '\x01\x00\x00\x00' $'GET /v1/summary?n=2 HTTP/1.1\r\nHost: x\r\n\r\n' raw-get
req '\x06' '\x01\x00\x00\x20' $'GET /healthz HTTP/1.1\r\n\r\nGET /v1/top?n=1&format=text HTTP/1.1\r\n\r\nPOST /v1/reload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n' raw-pipelined
req '\x04' '\x01\x00\x00\x00' $'POST /v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' raw-chunked
req '\x06' '\x02\x00\x00\x05' $'GET http://localhost/v1/rps?step=1h HTTP/1.0\r\n\r\n' raw-absolute
req '\x06' '\x01\x00\x00\x00' $'GET * HTTP/1.1\r\n\r\n' raw-star
req '\x06' '\x01\x00\x00\x00' $'CONNECT localhost:80 HTTP/1.1\r\n\r\n' raw-connect
req '\x06' '\x01\x00\x00\x00' $'GET /healthz HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' raw-upgrade

# Query times (lib/qtime.c): the forms the API accepts, and near misses.
i=0
for q in now -15m now-1h 2024-02-29T10:00:00+05:30 1431857103 '2015-05-17 10:05' 2024-02-31 \
         2024-01-01T-1:-5 9999-12-31T23:59:59Z 1w; do
  i=$((i + 1))
  printf '%s' "$q" >"$out/qtime/seed$i"
done

# The cutter (fuzz_cut.c): a flags byte (1: the file ends; 2: the searched
# hint), then bytes with 0xff for 300,000 'x' and 0xfe for a read boundary.
cut() { printf "$2" >"$out/cut/$1"; }
cut lines '\x01a\nbb\n\xfeccc\ndd'
cut partial-waits '\x02a\nb\xfeb\xfeb\n\xfec'
cut crlf-empty '\x03\r\n\n\n\xfe\r\nx'
cut overlong-whole '\x01\xff\xff\xff\xff\n\xfeshort\n'
cut overlong-across-reads '\x02\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\nnext\n'
cut overlong-at-end '\x00a\n\xff\xff\xff\xff'
cut overlong-final '\x01a\n\xff\xff\xff\xfe\xff'

