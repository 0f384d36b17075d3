#!/bin/sh
# test_loggen.sh -- checks the test-log generator against awk and sort.
#
# Usage: test_loggen.sh LOGGEN
#
# loggen computes its truth while it writes; this script recomputes what
# plain tools can, from the log alone, and fails on any difference:
#
#   1. Determinism: two runs with the same seed are byte-identical (log and
#      truth), and another seed gives another log.
#   2. A default run (malformed lines, IPv6, hostnames): the line count, the
#      identities valid + malformed == lines, requests == valid, the client
#      total, and a final newline.
#   3. For each format, a run with --malformed 0 --ipv6 0, where every line is
#      valid and a client is a dotted quad or a hostname, so awk can redo it
#      all: bytes, unparsed requests, clients, first/last second, the peak
#      second (earliest on ties) and the top 10 URLs (count descending, then
#      bytes ascending, as LC_ALL=C sort orders them).
#
#   4. The other forms (--format caddy and json, with --handshakes,
#      --proxies and --ports): the same arguments give the same bytes;
#      every line is one JSON object (jq); jq recounts the lines, the
#      distinct client_ip values, the requests that are not HTTP and the
#      largest response time of the truth.
#
# IPv6 spellings and the validity of malformed lines are beyond awk; they are
# what the product's own tests and the truth itself are for.
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 LOGGEN (the loggen binary)" >&2
    exit 2
fi
LOGGEN=$1
LC_ALL=C
export LC_ALL
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_loggen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT HUP INT TERM

fail() {
    echo "test_loggen: FAIL: $*" >&2
    exit 1
}

# jget FILE KEY: the first integer value of "KEY" in FILE (the top-level
# "requests" comes before the one inside "peak").
jget() {
    v=$(grep -o "\"$2\": -\{0,1\}[0-9]*" "$1" | head -n 1 | sed 's/.*: //')
    [ -n "$v" ] || fail "$1: no key \"$2\""
    echo "$v"
}

expect() {    # expect WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: loggen says $3, the log says $2"
}

# 1. Determinism.
"$LOGGEN" --lines 20000 --seed 42 --out "$tmp/a.log" --truth "$tmp/a.json"
"$LOGGEN" --lines 20000 --seed 42 --out "$tmp/b.log" --truth "$tmp/b.json"
"$LOGGEN" --lines 20000 --seed 43 --out "$tmp/c.log"
cmp -s "$tmp/a.log" "$tmp/b.log" || fail "same seed, different logs"
cmp -s "$tmp/a.json" "$tmp/b.json" || fail "same seed, different truths"
cmp -s "$tmp/a.log" "$tmp/c.log" && fail "seeds 42 and 43 gave the same log"
"$LOGGEN" --lines 20000 --seed 42 > "$tmp/stdout.log"
cmp -s "$tmp/a.log" "$tmp/stdout.log" || fail "--out and standard output differ"

# 2. The default mix.
t=$tmp/a.json
lines=$(jget "$t" lines)
valid=$(jget "$t" valid)
malformed=$(jget "$t" malformed)
expect "lines" "$(wc -l < "$tmp/a.log" | tr -d ' ')" "$lines"
expect "lines" 20000 "$lines"
expect "valid + malformed" $((valid + malformed)) "$lines"
expect "requests" "$valid" "$(jget "$t" requests)"
expect "clients total" $(($(jget "$t" ipv4) + $(jget "$t" ipv6) + $(jget "$t" other))) \
    "$(jget "$t" total)"
[ "$malformed" -gt 0 ] || fail "the default mix has no malformed line"
[ "$(jget "$t" ipv6)" -gt 0 ] || fail "the default mix has no IPv6 client"
[ "$(tail -c 1 "$tmp/a.log" | od -An -c | tr -d ' ')" = '\n' ] || fail "no final newline"

# An empty log is a valid request too.
"$LOGGEN" --lines 0 --out "$tmp/empty.log" --truth "$tmp/empty.json"
[ ! -s "$tmp/empty.log" ] || fail "--lines 0 wrote something"
expect "lines of an empty log" 0 "$(jget "$tmp/empty.json" lines)"

# 3. Every line valid: awk redoes the truth.
for format in combined common vhost_combined; do
    log=$tmp/$format.log
    t=$tmp/$format.json
    "$LOGGEN" --lines 20000 --seed 7 --malformed 0 --ipv6 0 --format "$format" \
        --out "$log" --truth "$t"
    # The client is the first field, or the second after vhost_combined's %v:%p.
    field=1
    [ "$format" = vhost_combined ] && field=2
    # Fields split at '"': $1 ends with the timestamp, $2 is the request (it
    # never holds a quote), $3 is " status size ".
    awk -F '"' -v cf="$field" -v urls="$tmp/urls" '
        function days(y, m, d) {    # days from 1970-01-01, proleptic Gregorian
            y -= (m <= 2)
            era = int(y / 400)
            yoe = y - era * 400
            doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
            return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
        }
        BEGIN {
            split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", names, " ")
            for (i = 1; i <= 12; i++) mon[names[i]] = i
        }
        {
            lines++
            split($1, pre, " ")
            c = pre[cf]
            if (c ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) { if (!(c in v4)) { v4[c]; nv4++ } }
            else if (!(c in host)) { host[c]; nhost++ }

            s = substr($1, index($1, "[") + 1, 26)    # dd/Mon/yyyy:HH:MM:SS +hhmm
            off = (substr(s, 23, 2) * 3600 + substr(s, 25, 2) * 60) * (substr(s, 22, 1) == "-" ? -1 : 1)
            ts = days(substr(s, 8, 4) + 0, mon[substr(s, 4, 3)], substr(s, 1, 2) + 0) * 86400 \
                 + substr(s, 13, 2) * 3600 + substr(s, 16, 2) * 60 + substr(s, 19, 2) - off
            if (lines == 1 || ts < first) first = ts
            if (lines == 1 || ts > last) last = ts
            per[ts]++

            n = split($2, tok, / +/)
            if (n == 2 || n == 3) url[tok[2]]++
            else unparsed++

            split($3, ss, " ")
            if (ss[2] != "-") bytes += ss[2]
        }
        END {
            best = 0
            for (ts in per)
                if (per[ts] > best || (per[ts] == best && ts + 0 < peak)) { best = per[ts]; peak = ts + 0 }
            for (u in url) printf "%d %s\n", url[u], u > urls
            printf "lines %d\nunparsed_requests %d\nbytes %.0f\nipv4 %d\nother %d\n", \
                lines, unparsed, bytes, nv4, nhost
            printf "first_ts %d\nlast_ts %d\npeak %d %d\n", first, last, peak, best
        }' "$log" > "$tmp/awk.out"

    got() { sed -n "s/^$1 //p" "$tmp/awk.out"; }
    expect "$format: lines" "$(got lines)" "$(jget "$t" lines)"
    expect "$format: valid" "$(got lines)" "$(jget "$t" valid)"
    expect "$format: malformed" 0 "$(jget "$t" malformed)"
    expect "$format: unparsed_requests" "$(got unparsed_requests)" "$(jget "$t" unparsed_requests)"
    expect "$format: bytes" "$(got bytes)" "$(jget "$t" bytes)"
    expect "$format: ipv4 clients" "$(got ipv4)" "$(jget "$t" ipv4)"
    expect "$format: ipv6 clients" 0 "$(jget "$t" ipv6)"
    expect "$format: other clients" "$(got other)" "$(jget "$t" other)"
    expect "$format: first_ts" "$(got first_ts)" "$(jget "$t" first_ts)"
    expect "$format: last_ts" "$(got last_ts)" "$(jget "$t" last_ts)"
    peak=$(grep -o '"peak": {"second": [0-9]*, "requests": [0-9]*}' "$t" |
           sed 's/.*"second": \([0-9]*\), "requests": \([0-9]*\)}/\1 \2/')
    expect "$format: peak (second count)" "$(got peak)" "$peak"

    sort -k1,1nr -k2,2 "$tmp/urls" | head -n 10 > "$tmp/top.awk"
    grep -o '{"url": "[^"]*", "count": [0-9]*}' "$t" |
        sed 's/{"url": "\(.*\)", "count": \([0-9]*\)}/\2 \1/' > "$tmp/top.truth"
    cmp -s "$tmp/top.awk" "$tmp/top.truth" ||
        fail "$format: top 10 differs (count url; the log's, then loggen's):
$(cat "$tmp/top.awk")
--
$(cat "$tmp/top.truth")"
done

if command -v jq >/dev/null 2>&1; then
    for form in caddy json; do
        "$LOGGEN" --lines 3000 --seed 9 --malformed 0 --ipv6 0 --hostnames 0 --format "$form" \
            --handshakes 30 --proxies 3 --ports 100 --out "$tmp/$form.log" --truth "$tmp/$form.truth"
        "$LOGGEN" --lines 3000 --seed 9 --malformed 0 --ipv6 0 --hostnames 0 --format "$form" \
            --handshakes 30 --proxies 3 --ports 100 --out "$tmp/$form.2"
        cmp -s "$tmp/$form.log" "$tmp/$form.2" || fail "$form: two runs differ"
        jq -c . "$tmp/$form.log" >/dev/null || fail "$form: a line is not JSON"
        expect "$form: valid" "$(jq -s length "$tmp/$form.log")" "$(jq .valid "$tmp/$form.truth")"
    done
    t=$tmp/caddy.truth
    expect "caddy: clients" "$(jq -r '.request.client_ip | sub(":[0-9]+$"; "")' "$tmp/caddy.log" | sort -u | wc -l | tr -d ' ')" \
        "$(jq .clients.total "$t")"
    expect "caddy: not HTTP" "$(jq -r '.request.method' "$tmp/caddy.log" | grep -c '^\\')" "$(jq .non_http_requests "$t")"
    expect "caddy: timed" "$(jq -s length "$tmp/caddy.log")" "$(jq .response_time.count "$t")"
    expect "caddy: slowest" "$(jq -s 'map(.duration) | max' "$tmp/caddy.log")" "$(jq .response_time.max "$t")"
    expect "json: not HTTP" "$(jq -r '.request' "$tmp/json.log" | grep -c '^\\')" "$(jq .non_http_requests "$tmp/json.truth")"
fi

echo "test_loggen: ok"
