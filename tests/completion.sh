#!/usr/bin/env bash
# completion.sh LOGTALLY COMPLETION_FILE
# The bash completion of logtally (cli/logtally.bash-completion), driven as
# bash drives it (COMP_WORDS, COMP_CWORD, then the function `complete`
# registered), and held to the binary it completes:
#   1. the first word offers exactly the subcommands `logtally --help` lists;
#   2. each subcommand offers exactly the options its --help prints
#      (analyze, merge), or only options the client's --help prints, and
#      together all of them (the daemon's commands share one usage);
#   3. --format offers exactly the format names `analyze --help` lists,
#      and `logtally analyze --format NAME` accepts each one;
#   4. --step offers the steps, prefixes narrow the offer, files are
#      offered where a command takes them.
set -euo pipefail
logtally=$1
completion=$2
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=/dev/null
source "$completion"
func=$(complete -p logtally | sed -E 's/.*-F ([^ ]+) .*/\1/')
[ -n "$func" ] || { echo "FAIL: $completion registers no function for logtally"; exit 1; }

# offers WORD...: what completing the last word (may be "") offers, sorted.
offers() {
  COMP_WORDS=(logtally "$@")
  COMP_CWORD=$#
  COMPREPLY=()
  "$func" logtally "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u
}
same() {   # same WHAT WANT GOT
  [ "$2" = "$3" ] || bad "$1: offered [$(echo $3)], want [$(echo $2)]"
}

echo "1. subcommands"
want=$("$logtally" --help | awk '/^  [a-z]+ / && $1 != "logtally" {print $1}' | sort -u)
[ "$(echo "$want" | wc -l)" -ge 9 ] || bad "logtally --help lists only: $want"
same "logtally <TAB>" "$want" "$(offers "")"
same "logtally -s SOCK <TAB>" "$want" "$(offers -s /tmp/x.sock "")"
same "logtally su<TAB>" "summary" "$(offers su)"
same "logtally --v<TAB>" "--version" "$(offers --v)"

echo "2. options of each subcommand"
helpopts() { "$logtally" "$@" --help | grep -o -- '--[a-z][a-z-]*' | sort -u; }
for cmd in analyze merge; do
  same "logtally $cmd --<TAB>" "$(helpopts "$cmd")" "$(offers "$cmd" --)"
done
# The client's usage does not print --help, which every command takes.
client=$(printf '%s\n--help\n' "$(helpopts summary)" | sort -u)
union=""
for cmd in summary top rps status vhosts sources hll snapshot reload; do
  got=$(offers "$cmd" --)
  [ -n "$got" ] || bad "logtally $cmd --<TAB> offers nothing"
  extra=$(comm -13 <(echo "$client") <(echo "$got"))
  [ -z "$extra" ] || bad "logtally $cmd offers options its --help does not print: $extra"
  union=$(printf '%s\n%s\n' "$union" "$got" | sed '/^$/d' | sort -u)
done
same "the daemon commands' options together" "$client" "$union"

echo "3. format names"
# "-f, --format F   common | combined | ... |\n    json | auto, an Apache LogFormat string":
# the names run, over as many lines as they take, up to the first comma.
want=$("$logtally" analyze --help |
  awk '/--format F/ {on = 1; sub(/.*--format F */, "")} on {s = s " " $0; if (/,/) exit}
       END {print s}' | cut -d, -f1 | tr -s ' |' '\n' | sed '/^$/d' | sort -u)
echo "$want" | grep -qx json || bad "no json among the format names of analyze --help: $want"
[ -n "$want" ] || bad "no format names in logtally analyze --help"
same "logtally analyze --format <TAB>" "$want" "$(offers analyze --format "")"
same "logtally analyze -f vh<TAB>" "vhost_combined" "$(offers analyze -f vh)"
: >"$tmp/empty.log"
# auto needs a line to name a format from; the others take an empty file.
echo '192.0.2.1 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"' >"$tmp/one.log"
for f in $want; do
  in=$tmp/empty.log
  [ "$f" != auto ] || in=$tmp/one.log
  "$logtally" analyze --format "$f" "$in" >/dev/null 2>&1 ||
    bad "the offered format '$f' is refused by logtally analyze --format"
done

echo "4. steps and files"
same "logtally rps --step <TAB>" "$(printf '1d\n1h\n1m\n1s')" "$(offers rps --step "")"
"$logtally" summary --help | grep -q '1s|1m|1h|1d' || bad "the client's --help no longer lists 1s|1m|1h|1d"
touch "$tmp/access.log"
same "logtally analyze FILE<TAB>" "$tmp/access.log" "$(offers analyze "$tmp/acc")"
same "logtally top <TAB> (a count, not a file)" "" "$(offers top "$tmp/acc")"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
