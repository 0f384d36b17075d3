#!/usr/bin/env bash
# e2e_logrotate.sh LOGTALLYD LOGTALLY LOGGEN [SEED [SCHEME...]]
# Exactly once under the real logrotate.  One run per scheme: create,
# copytruncate, compress + delaycompress, dateext, olddir, and rotate 3
# with maxage.  In each, a writer appends a generated log in small chunks
# at a steady rate, opening the path for each chunk (as a server does after
# its postrotate reload); `logrotate -f` rotates it at random moments; two
# daemons follow it, one configured with the plain path and one with the
# glob access.log* (for olddir also old/access.log*), and both are killed
# with SIGKILL at random moments and restarted, with some rotations while
# they are down.  At least 30 rotations and 10 kills per scheme; at the end
# each daemon's lines, valid, malformed, clients, peak and top 10 equal the
# writer's truth, and again after one more kill -9 and restart.
#
# What the test does not ask: rotate N and maxage delete rotated files, and
# a file deleted before the daemon read it is lost (README, "Nothing lost,
# nothing counted twice").  So rotations are at least 0.3 s apart while the
# daemons run, at most rotate - 1 happen while they are down, and a rotation
# that deletes a file, or follows a restart, first waits (up to 10 s) until
# the daemons have counted as many lines as were written before that file
# was rotated, and then 0.5 s for a checkpoint to hold them.  With copytruncate the
# writer pauses while logrotate runs: lines written between logrotate's copy
# and its truncation are lost by logrotate itself.  With create the writer
# never creates the file (logrotate does); in the other schemes (nocreate,
# logrotate's default) it does, as a server reopening its log would.
#
# The seed ($RANDOM unless given) is printed; with it the same chunks and
# the same schedule are drawn again (the timing still differs).
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
seed=${4:-$RANDOM}
shift $(( $# < 4 ? $# : 4 ))
schemes=("$@")
[ ${#schemes[@]} -gt 0 ] || schemes=(create copytruncate compress dateext olddir maxage)
. "$(dirname "$0")/e2e_common.sh"
logrotate=$(command -v logrotate || echo /usr/sbin/logrotate)
[ -x "$logrotate" ] || { echo "logrotate is not installed (scripts/deps.sh installs it)"; exit 1; }
echo "seed $seed (to draw the same again: $0 ... $seed)"
RANDOM=$seed

declare -A dpid=()
writer=
lr_cleanup() {
  local n
  for n in "${!dpid[@]}"; do [ -n "${dpid[$n]}" ] && kill -9 "${dpid[$n]}" 2>/dev/null; done
  [ -n "$writer" ] && kill "$writer" 2>/dev/null
  e2e_cleanup
}
trap lr_cleanup EXIT

fields='[.lines, .valid, .malformed, .clients.ipv4, .clients.ipv6, .clients.other,
         .clients.total, .peak.requests, (.top[:10] | map([.url, .count]))]'

# fail_in NAME WHY: fails showing daemon NAME's last messages.
fail_in() { cp "$dir/$1.err" "$tmp/daemon.err"; fail "$scheme/$1: $2"; }

start_d() {
  local n=$1 i
  rm -f "$dir/$n.sock"
  "$logtallyd" -c "$dir/$n.yaml" 2>>"$dir/$n.err" &
  dpid[$n]=$!
  for i in $(seq 600); do
    kill -0 "${dpid[$n]}" 2>/dev/null || fail_in "$n" "the daemon exited at start"
    curl -s --max-time 2 --unix-socket "$dir/$n.sock" http://localhost/healthz >/dev/null 2>&1 &&
      return 0
    sleep 0.1
  done
  fail_in "$n" "no answer on /healthz within 60 s"
}

kill_d() {
  kill -9 "${dpid[$1]}" 2>/dev/null || fail_in "$1" "the daemon was not running when it was to be killed"
  wait "${dpid[$1]}" 2>/dev/null || true
  dpid[$1]=
}

lines_d() {
  local v
  v=$(curl -sf --max-time 5 --unix-socket "$dir/$1.sock" http://localhost/v1/summary 2>/dev/null |
    jq -r .lines 2>/dev/null) || true
  [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

written() { local w; w=$(<"$dir/written") || true; echo "${w:-0}"; }

# Paces the next rotation: waits until both daemons have counted at least
# $1 lines, for at most 10 s, and no longer than 2 s without progress (a
# daemon that lost lines would never get there).
catch_up() {
  local n i got last still waited=0
  for n in plain glob; do
    last=-1 still=0
    for i in $(seq 100); do
      got=$(lines_d "$n")
      [ "$got" -ge "$1" ] && break
      waited=1
      kill -0 "${dpid[$n]}" 2>/dev/null || fail_in "$n" "the daemon died"
      if [ "$got" = "$last" ]; then still=$((still + 1)); else still=0; fi
      last=$got
      [ "$still" -lt 20 ] || break
      sleep 0.1
    done
    [ "$got" -ge "$1" ] || slow=$((slow + 1))
  done
  # What was just read is in a checkpoint before the file may go (a kill
  # right after would otherwise read it again from an older checkpoint).
  [ "$waited" = 0 ] || sleep 0.5
}

# One forced rotation; hist[] keeps the lines written before each.
rotate_now() {
  hist+=("$(written)")
  if [ "$scheme" = copytruncate ]; then
    flock "$dir/lock" "$logrotate" -f -s "$dir/lr.status" "$dir/lr.conf" 2>"$dir/lr.err" ||
      fail "$scheme: logrotate failed: $(cat "$dir/lr.err")"
  else
    "$logrotate" -f -s "$dir/lr.status" "$dir/lr.conf" 2>"$dir/lr.err" ||
      fail "$scheme: logrotate failed: $(cat "$dir/lr.err")"
  fi
  rotations=$((rotations + 1))
}

# A random duration between $1 and $2 seconds (in steps of 10 ms).
between() { awk -v a="$1" -v b="$2" -v r=$RANDOM 'BEGIN{printf "%.2f", a + (b - a) * r / 32767}'; }

# compare NAME WHAT SETTLE: polls NAME's summary (through the client) until
# it equals the truth, then for SETTLE s more; fails after 60 s, after 15 s
# without a change, or at once when more lines than written are counted.
compare() {
  local n=$1 what=$2 settle=$3 want got start since= last= changed
  want=$(jq -c "$fields" "$dir/truth.json")
  start=$(date +%s%N)
  changed=$start
  while :; do
    got=$("$logtally" -s "$dir/$n.sock" summary --json 2>/dev/null | jq -c "$fields" 2>/dev/null) || true
    [[ $got == '['[0-9]* ]] || got='?'
    [ "$got" = "$last" ] || { last=$got; changed=$(date +%s%N); }
    [ $(( ($(date +%s%N) - changed) / 1000000000 )) -lt 15 ] || fail_in "$n" "$what: unchanged for 15 s
  want $want
  got  $got"
    if [ "$got" != '?' ] && [ "$(jq '.[0]' <<<"$got")" -gt "$(jq '.[0]' <<<"$want")" ]; then
      fail_in "$n" "$what: more lines than written
  want $want
  got  $got"
    fi
    if [ "$got" = "$want" ]; then
      [ -n "$since" ] || since=$(date +%s%N)
      [ $(( ($(date +%s%N) - since) / 1000000 )) -lt $((settle * 1000)) ] || break
    elif [ -n "$since" ]; then
      fail_in "$n" "$what: equal to the truth, then
  want $want
  got  $got"
    fi
    [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 60 ] || fail_in "$n" "$what: after 60 s
  want $want
  got  $got"
    sleep 0.2
  done
  echo "  $scheme/$n, $what: $(jq '.[0]' <<<"$got") lines; valid, malformed, clients, peak and" \
    "top 10 equal the truth"
}

run_scheme() {
  scheme=$1
  local index=$2 keep=5 maxdown=2 gap_up="0.3 0.5" gap_down="0.1 0.2" lines=15000 span=16
  dir=$tmp/$scheme
  local logs=$dir/logs
  mkdir -p "$logs" "$dir/chunks"
  local how
  case $scheme in
    create) how="create 0644" ;;
    copytruncate) how="copytruncate" ;;
    compress) how=$'compress\n    delaycompress' ;;
    # %s makes a new name every second: rotations are 1 s apart here.
    dateext)
      how=$'dateext\n    dateformat -%Y%m%d-%s'
      gap_up="1.03 1.1" gap_down="1.03 1.1" lines=25000 span=40 ;;
    olddir) how="olddir $logs/old"; mkdir "$logs/old" ;;
    maxage) how="maxage 1"; keep=3 ;;
  esac
  [ "$maxdown" -lt "$keep" ] || maxdown=$((keep - 1))
  cat >"$dir/lr.conf" <<CONF
$logs/access.log {
    rotate $keep
    missingok
    ifempty
    nomail
    $how
}
CONF
  local n src
  for n in plain glob; do
    src="  - path: $logs/access.log"$'\n'"    rotate_wait: 1s"
    if [ "$n" = glob ]; then
      src="  - path: \"$logs/access.log*\""$'\n'"    rotate_wait: 1s"
      [ "$scheme" != olddir ] ||
        src+=$'\n'"  - path: \"$logs/old/access.log*\""$'\n'"    rotate_wait: 1s"
    fi
    cat >"$dir/$n.yaml" <<YAML
socket: $dir/$n.sock
state_dir: $dir/$n.state
checkpoint_interval: 200ms
sources:
$src
YAML
  done

  "$loggen" --lines "$lines" --seed $((seed * 10 + index)) --out "$dir/all.log" --truth "$dir/truth.json"
  # Chunks of 1 to 60 lines, named index-lines_written_after_it.
  awk -v d="$dir/chunks" -v s=$((seed * 10 + index)) 'BEGIN { srand(s) }
    { if (left == 0) { if (f) close(f); left = 1 + int(rand() * 60); f = sprintf("%s/%06d-%d", d, ++k, NR + left - 1) }
      print > f; left-- }
    END { if (f) close(f) }' "$dir/all.log"
  # The last chunk may be short: its name must hold the real count.
  local last
  last=$(ls "$dir/chunks" | tail -1)
  [ "$last" = "${last%-*}-$lines" ] || mv "$dir/chunks/$last" "$dir/chunks/${last%-*}-$lines"
  local nchunks pace
  nchunks=$(ls "$dir/chunks" | wc -l)
  pace=$(awk -v s="$span" -v n="$nchunks" 'BEGIN{printf "%.3f", s / n}')

  : >"$logs/access.log"
  echo 0 >"$dir/written"
  start_d plain
  start_d glob
  ( cd "$dir/chunks"
    for f in *; do
      if [ "$scheme" = copytruncate ]; then
        flock "$dir/lock" cat "$f" >>"$logs/access.log"
      elif [ "$scheme" = create ]; then
        # Never creates the file: that is logrotate's job here, and a file
        # created between its rename and its create would fail the latter.
        until dd if="$f" of="$logs/access.log" oflag=append conv=notrunc,nocreat status=none \
          2>/dev/null; do sleep 0.01; done
      else
        cat "$f" >>"$logs/access.log"
      fi
      printf '%s\n' "${f#*-}" >"$dir/written"
      sleep "$pace"
    done ) &
  writer=$!

  rotations=0 kills=0 down=0 slow=0 aged=0 hist=()
  local t0 i d ups k
  t0=$(date +%s)
  while [ "$rotations" -lt 30 ] || [ "$kills" -lt 10 ]; do
    ups=$((1 + RANDOM % 3))
    for i in $(seq "$ups"); do
      sleep "$(between $gap_up)"
      # The file the next rotation deletes must have been read.
      k=$(( ${#hist[@]} - keep + 1 ))
      [ "$k" -lt 0 ] || catch_up "${hist[$k]}"
      # maxage: now and then a rotated file that was read is made two days
      # old, so the next rotation deletes it before its turn.
      if [ "$scheme" = maxage ] && [ $((RANDOM % 3)) = 0 ] && [ -e "$logs/access.log.2" ]; then
        catch_up "${hist[${#hist[@]} - 1]}"
        sleep 0.5
        touch -d '2 days ago' "$logs/access.log.2"
        aged=$((aged + 1))
      fi
      rotate_now
    done
    # Killed at a random moment after the last rotation, one then the other.
    sleep "$(between 0 0.4)"
    kill_d plain
    sleep "$(between 0 0.2)"
    kill_d glob
    kills=$((kills + 1))
    d=$((RANDOM % (maxdown + 1)))
    [ "$kills" != 1 ] || d=1
    for i in $(seq "$d"); do
      sleep "$(between $gap_down)"
      rotate_now
      down=$((down + 1))
    done
    sleep "$(between 0 0.3)"
    start_d plain
    start_d glob
    catch_up "${hist[${#hist[@]} - 1]}"
  done
  wait "$writer"
  writer=
  echo "  $scheme: $rotations rotations ($down while the daemons were down), $kills kills -9," \
    "$lines lines, in $(( $(date +%s) - t0 )) s; $slow catch-up waits ran out; $aged files aged for maxage"
  # Both daemons are compared before the scheme fails, so that a report
  # shows both counts.
  local bad=0
  for n in plain glob; do ( compare "$n" "at the end" 2 ) || bad=1; done
  [ "$bad" = 0 ] || exit 1
  for n in plain glob; do kill_d "$n"; start_d "$n"; done
  for n in plain glob; do ( compare "$n" "after one more kill -9 and restart" 1 ) || bad=1; done
  [ "$bad" = 0 ] || exit 1
  for n in plain glob; do
    kill -TERM "${dpid[$n]}"
    wait "${dpid[$n]}" || fail_in "$n" "exit status $? after SIGTERM"
    dpid[$n]=
  done
}

index=0 failed=()
for s in "${schemes[@]}"; do
  case $s in
    create | copytruncate | compress | dateext | olddir | maxage) ;;
    *) echo "unknown scheme $s"; exit 2 ;;
  esac
  echo "== $s"
  index=$((index + 1))
  # Each scheme in a subshell: one that fails does not hide the others.
  set +e
  (
    set -e
    trap 'for n in "${!dpid[@]}"; do [ -n "${dpid[$n]}" ] && kill -9 "${dpid[$n]}" 2>/dev/null; done
          [ -n "$writer" ] && kill "$writer" 2>/dev/null; true' EXIT
    run_scheme "$s" "$index"
  )
  [ $? = 0 ] || failed+=("$s")
  set -e
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (seed $seed)"
  exit 1
fi
echo "logrotate: every scheme counted every line exactly once (seed $seed)"
