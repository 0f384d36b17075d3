#!/usr/bin/env bash
# man_pages.sh SOURCE_DIR LOGTALLYD LOGTALLY
# The manual pages in docs/man/ are hand-written, so this keeps them honest:
#   1. groff formats each one without a single warning (-ww);
#   2. every long option that `logtallyd --help`, `logtally --help` and the
#      subcommands' --help print is documented in the matching page;
#   3. every configuration key of lib/config.c is in logtally.yaml(5);
#   4. every endpoint of daemon/api.c is in logtallyd(8).
# Skipped (77) without groff (Debian package groff-base).
set -euo pipefail
src=$1
logtallyd=$2
logtally=$3
man=$src/docs/man
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v groff >/dev/null || { echo "SKIP: groff is missing (Debian package groff-base)"; exit 77; }

echo "1. groff -man -ww: no warnings"
for page in "$man"/*.[158]; do
  out=$(groff -man -Tutf8 -ww -z "$page" 2>&1) || bad "groff failed on $page"
  [ -z "$out" ] || bad "$(basename "$page"): $out"
done

# documented PAGE OPTION...: each --option appears in PAGE, written \-\-opt\-ion.
documented() {
  local page=$1 opt
  shift
  for opt in "$@"; do
    grep -qF -- "$(printf '%s' "$opt" | sed 's/-/\\-/g')" "$man/$page" || bad "$page does not document $opt"
  done
}
echo "2. every option of --help is documented"
# shellcheck disable=SC2046  # one word per option
documented logtallyd.8 $("$logtallyd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
# shellcheck disable=SC2046
documented logtally.1 $({ "$logtally" --help; "$logtally" analyze --help; "$logtally" summary --help; } |
  grep -o -- '--[a-z][a-z-]*' | sort -u)

echo "3. every configuration key is in logtally.yaml(5)"
keys=$(sed -n 's/^ *{"\([a-z_]*\)", CFG_.*/\1/p' "$src/lib/config.c" | sort -u)
[ -n "$keys" ] || bad "no keys found in lib/config.c"
for k in $keys; do
  grep -qE "^\.BR? $k( |$)" "$man/logtally.yaml.5" || bad "logtally.yaml.5 has no entry for $k"
done

echo "4. every endpoint is in logtallyd(8)"
endpoints=$(sed -n 's/^ *{"\(\/[^"]*\)", "\([A-Z]*\)",.*/\2 \1/p' "$src/daemon/api.c")
[ -n "$endpoints" ] || bad "no endpoints found in daemon/api.c"
while read -r method path; do
  grep -qE "^\.BR? \"?$method $path" "$man/logtallyd.8" || bad "logtallyd.8 does not document $method $path"
done <<<"$endpoints"

[ "$fails" -eq 0 ] || exit 1
echo "ok"
