# e2e_once_common.sh -- sourced, after e2e_common.sh, by the scripts that
# check "nothing lost, nothing counted twice" (e2e_exactly_once.sh,
# e2e_checkpoint.sh, e2e_source_kinds.sh): each check is a function
# check_NAME run in a subshell with its own directory (then $tmp) and
# daemon, so that one failing check neither hides nor disturbs the others;
# run_checks runs them all, or those named, and says which failed.
#
# Helpers for a check:
#   gen N SEED          a loggen log of N lines in $tmp/all.log, its truth in
#                       $tmp/truth.json; lines A to B of it: part A B
#   write_config F ...  a configuration in F: socket $sock, state_dir
#                       $tmp/state, then the YAML lines given
#   start_daemon F      logtallyd -c F in the background ($pid), stderr to
#                       $tmp/daemon.err, returns once /healthz answers
#   "${as_nobody[@]}" CMD...
#                       CMD run as nobody:nogroup (need_root checks first)
#   start_daemon_as_nobody F
#   need_root WHAT      returns 1, with a notice, when users cannot be
#                       switched; else lets nobody into $tmp
#   wait_health JQ WHAT [SECONDS]
#                       until /healthz's JSON satisfies the jq test JQ
#   stop_daemon         SIGTERM, and the exit status must be 0
#   api PATH            the body of GET PATH on $sock
#   want_lines N WHAT [SETTLE]
#   want_truth WHAT [SETTLE]
#                       polls /v1/summary until its lines (or every field of
#                       $tmp/truth.json that is compared) equal the truth,
#                       then keeps checking for SETTLE seconds (default 2.5)
#                       that they stay equal: a line counted twice is often
#                       counted a moment later (a rescan, a poll), and must
#                       not slip through.  Fails after $want_deadline s, or
#                       when the summary has not changed for $want_stall s,
#                       or at once when more lines than written are counted
#                       (counts never go down).
#   source_state PATH   the "state" of PATH's entry in /v1/sources
sock=
want_deadline=${want_deadline:-40}
want_stall=${want_stall:-12}
fields='[.lines, .valid, .malformed, .clients.ipv4, .clients.ipv6, .clients.other,
         .clients.total, .peak.requests, (.top[:10] | map([.url, .count]))]'

gen() {
  "$loggen" --lines "$1" --seed "$2" --out "$tmp/all.log" --truth "$tmp/truth.json"
}
part() { sed -n "$1,$2p" "$tmp/all.log"; }

write_config() {
  local f=$1
  shift
  { echo "socket: $sock"
    echo "state_dir: $tmp/state"
    printf '%s\n' "$@"; } >"$f"
}

api() { curl -sf --max-time 10 --unix-socket "$sock" "http://localhost$1"; }
lines_now() {
  local v
  v=$(api /v1/summary 2>/dev/null | jq -r .lines 2>/dev/null) || true
  [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo '?'
}

# Waits until the daemon $pid answers /healthz on $sock (60 s: sanitized
# builds start slowly); fails at once when it exits.
wait_ready() {
  local i
  for i in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      local status=0
      wait "$pid" || status=$?
      pid=
      fail "the daemon exited with status $status at start"
    fi
    [ -S "$sock" ] && curl -s --max-time 2 --unix-socket "$sock" http://localhost/healthz \
      >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "the daemon did not answer /healthz within 60 s"
}

start_daemon() {
  rm -f "$sock"
  "$logtallyd" -c "$1" 2>>"$tmp/daemon.err" &
  pid=$!
  wait_ready
}

# A command, not a function: "${as_nobody[@]}" CMD & gives CMD's own pid.
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
start_daemon_as_nobody() {
  rm -f "$sock"
  "${as_nobody[@]}" "$logtallyd" -c "$1" 2>>"$tmp/daemon.err" &
  pid=$!
  wait_ready
}
# Checks that need root to switch users return early through this.
need_root() {
  if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
    echo "  NOTICE: not root, or no nobody user or setpriv: $1 skipped"
    return 1
  fi
  # nobody must reach the check's directory.
  chmod 711 "$(dirname "$tmp")"
  chmod 755 "$tmp"
}

health() { curl -s --max-time 5 --unix-socket "$sock" http://localhost/healthz; }
# wait_health JQ WHAT [SECONDS]: until /healthz's JSON satisfies JQ.
wait_health() {
  local i got
  for i in $(seq $(( ${3:-10} * 10 ))); do
    got=$(health 2>/dev/null) || true
    jq -e "$1" >/dev/null 2>&1 <<<"$got" && { echo "  $2: /healthz $got"; return 0; }
    sleep 0.1
  done
  fail "$2: /healthz does not satisfy $1 after ${3:-10} s: $got"
}

stop_daemon() {
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=
  [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
}

kill_daemon() {
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}

# want_lines N WHAT [SETTLE]
want_lines() {
  local want=$1 what=$2 settle=${3:-2.5} got start equal_since= last= last_change
  start=$(date +%s%N)
  last_change=$start
  while :; do
    got=$(lines_now)
    local now
    now=$(date +%s%N)
    [ "$got" = "$last" ] || { last=$got; last_change=$now; }
    [ $(( (now - last_change) / 1000000000 )) -lt "$want_stall" ] ||
      fail "$what: want $want lines, got $got, unchanged for $want_stall s"
    if [ "$got" = "$want" ]; then
      [ -n "$equal_since" ] || equal_since=$now
      if [ $(( (now - equal_since) / 1000000 )) -ge "$(awk -v s="$settle" 'BEGIN{print int(s*1000)}')" ]; then
        echo "  $what: want $want lines, got $got (stable for ${settle} s)"
        return 0
      fi
    elif [ -n "$equal_since" ]; then
      fail "$what: the count was $want, the truth, then became $got"
    elif [ "$got" != '?' ] && [ "$got" -gt "$want" ]; then
      fail "$what: want $want lines, got $got: lines counted twice"
    fi
    [ $(( (now - start) / 1000000000 )) -lt "$want_deadline" ] ||
      fail "$what: want $want lines, got $got after $want_deadline s"
    sleep 0.1
  done
}

# want_truth WHAT [SETTLE]: every compared field of $tmp/truth.json.
want_truth() {
  local what=$1 settle=${2:-2.5} want got start now equal_since= last= last_change
  want=$(jq -c "$fields" "$tmp/truth.json")
  start=$(date +%s%N)
  last_change=$start
  while :; do
    got=$(api /v1/summary 2>/dev/null | jq -c "$fields" 2>/dev/null) || true
    [[ $got == '['[0-9]* ]] || got='?'
    now=$(date +%s%N)
    [ "$got" = "$last" ] || { last=$got; last_change=$now; }
    [ $(( (now - last_change) / 1000000000 )) -lt "$want_stall" ] || fail "$what: unchanged for $want_stall s
  want $want
  got  $got"
    if [ "$got" = "$want" ]; then
      [ -n "$equal_since" ] || equal_since=$now
      if [ $(( (now - equal_since) / 1000000 )) -ge "$(awk -v s="$settle" 'BEGIN{print int(s*1000)}')" ]; then
        echo "  $what: lines, valid, malformed, clients, peak and top 10 equal the truth"
        echo "    ($(echo "$got" | cut -c1-100)...)"
        return 0
      fi
    elif [ -n "$equal_since" ]; then
      fail "$what: the summary equalled the truth, then changed
  want $want
  got  $got"
    elif [ "$got" != '?' ] && [ "$(jq '.[0]' <<<"$got")" -gt "$(jq '.[0]' <<<"$want")" ]; then
      fail "$what: more lines than written: counted twice
  want $want
  got  $got"
    fi
    [ $(( (now - start) / 1000000000 )) -lt "$want_deadline" ] || fail "$what: after $want_deadline s
  want $want
  got  $got"
    sleep 0.1
  done
}

source_state() {
  api /v1/sources | jq -r --arg p "$1" '[.sources[] | select(.path == $p)] |
    if length == 0 then "absent" else map(.state) | join(",") end'
}

# run_checks ALL... -- [NAMES...]: runs check_NAME for each name after --
# (or, when none is given, for each of ALL), each in a subshell with errexit
# and its own $tmp, $sock and daemon; prints a summary and fails when any
# check failed.
run_checks() {
  local all=() chosen=() name failed=() status
  while [ $# -gt 0 ] && [ "$1" != -- ]; do all+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  chosen=("$@")
  [ ${#chosen[@]} -gt 0 ] || chosen=("${all[@]}")
  for name in "${chosen[@]}"; do
    echo "== $name"
    set +e
    (
      set -e
      tmp=$tmp/$name
      mkdir -p "$tmp"
      sock=$tmp/s.sock
      pid=
      trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; check_cleanup 2>/dev/null || true' EXIT
      "check_$name"
    )
    status=$?
    set -e
    [ "$status" = 0 ] || failed+=("$name")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${#failed[@]} of ${#chosen[@]} checks: ${failed[*]}"
    exit 1
  fi
  echo "all ${#chosen[@]} checks passed"
}
# A check may define check_cleanup to stop what else it started.
check_cleanup() { :; }
