#!/usr/bin/env bash
# conformance.sh LOGTALLY REALLOGS_DIR
# Runs `logtally analyze --json` on each real log and compares it with an
# independent parse (reference.awk): lines, valid, malformed, unparsed
# requests, distinct IPv4 / IPv6 / other clients, top URL and its count,
# peak-second count.  Skips (exit 77) with a notice when the logs are absent.
set -euo pipefail
logtally=$1
dir=$2
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -d "$dir" ]; then
  echo "NOTICE: $dir does not exist; real-log conformance skipped"
  exit 77
fi

fail=0
checked=0
for log in "$dir"/*.log; do
  name=$(basename "$log")
  format=combined
  case "$name" in nasa-*) format=common ;; esac
  ref=$(LC_ALL=C gawk -f "$here/reference.awk" "$log")
  get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$ref"; }
  if [ "$(get zones)" != 1 ]; then
    echo "$name: the reference needs a single UTC offset, saw $(get zones)"; fail=1; continue
  fi
  top_url=${ref#*top_url=}
  json=$("$logtally" analyze --json --format "$format" "$log")
  got=$(jq -r '[.lines, .valid, .malformed, .unparsed_requests, .clients.ipv4, .clients.ipv6,
                .clients.other, .peak.requests, .top[0].count, .top[0].url] | @tsv' <<<"$json")
  want=$(printf '%s\t' "$(get lines)" "$(get valid)" "$(get malformed)" "$(get unparsed)" \
           "$(get ipv4)" "$(get ipv6)" "$(get other)" "$(get peak)" "$(get top_count)")
  want="$want$top_url"
  total=$(jq -r '.clients.total == .clients.ipv4 + .clients.ipv6 + .clients.other and .clients.exact' <<<"$json")
  if [ "$got" != "$want" ] || [ "$total" != true ]; then
    echo "$name: MISMATCH"
    echo "  fields: lines valid malformed unparsed ipv4 ipv6 other peak top_count top_url"
    echo "  want:   $want"
    echo "  got:    $got (total consistent and exact: $total)"
    fail=1
  else
    echo "$name: ok ($got)"
  fi
  checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || { echo "no *.log in $dir"; exit 1; }
exit $fail
