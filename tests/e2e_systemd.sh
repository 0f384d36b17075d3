#!/usr/bin/env bash
# e2e_systemd.sh PART LOGTALLYD SOURCE_DIR UNIT NOTIFY_LISTEN HAVE_SYSTEMD LOGTALLY
# The daemon as systemd sees it, without systemd running: the real built
# logtallyd, with systemd's environment faked.  PART is one of
#
#   ready    sd_notify: a datagram socket bound by tests/notify_listen.c
#            stands in for systemd's, named by NOTIFY_SOCKET.
#            1. READY=1 comes once, and only when the API socket already
#               listens (notify_listen connects to it the moment READY=1
#               arrives); /healthz answers; STATUS= lines follow with the
#               ingest's progress; no WATCHDOG=1 without WATCHDOG_USEC;
#               SIGTERM sends STOPPING=1, exits 0, removes the socket.
#            2. WATCHDOG_USEC=2000000 and WATCHDOG_PID = the daemon's pid
#               (set by a shell that then execs the daemon, so both are the
#               same process): WATCHDOG=1 comes at least every second.
#            3. WATCHDOG_PID of another process: no WATCHDOG=1, as
#               sd_watchdog_enabled(3) says.
#            Skipped (77) when logtallyd was built without libsystemd
#            (HAVE_SYSTEMD is 0): it then sends nothing.
#   verify   `systemd-analyze verify` on the unit CMake generated (UNIT)
#            and on systemd/logtallyd.socket, which it requires.  The
#            generated unit names the installed binaries, which need not
#            exist here, and verify refuses an Exec*= that is not
#            executable; so the test copies the units into a temporary
#            directory with every Exec*= that runs logtallyd or logtally
#            pointed at LOGTALLYD or LOGTALLY, and verifies the copies.
#            ExecReload= must not need /bin/kill (a minimal system has
#            none): it runs `logtally reload`.  The man pages named by
#            Documentation= are checked too, against docs/man/ through
#            MANPATH (with --man=no when man(1) is missing).  Any message
#            about the unit fails the test: verify exits 0 on mere warnings
#            such as an unknown key.  Skipped (77) without systemd-analyze
#            (Debian package systemd).
#   activate socket activation without systemd running, through
#            systemd-socket-activate(1), which passes a listening socket
#            as systemd does (LISTEN_FDS, LISTEN_PID):
#            1. the daemon answers on the socket it was passed, not on the
#               configured one (which it does not create), and says so;
#            2. SIGTERM: exit 0, and the passed socket's file is still
#               there (it is not the daemon's to remove; under systemd,
#               clients wait in its backlog for the next daemon, which
#               tests/e2e_systemd_boot.sh checks);
#            3. LISTEN_FDS naming a descriptor that is not a listening
#               socket: the daemon refuses to start, saying why.
#            Skipped (77) without systemd-socket-activate or libsystemd.
#   journal  the log prefix: with JOURNAL_STREAM naming stderr, every line
#            starts with "<N>", the syslog priority journald reads (<6>
#            info, <3> error, ...); without it, with "logtallyd: ".
set -euo pipefail
part=$1
logtallyd=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")   # absolute: the unit needs it
srcdir=$3
unit=$4
notify_listen=$5
have_systemd=$6
logtally=${7:-}
[ -z "$logtally" ] || logtally=$(cd "$(dirname "$logtally")" && pwd)/$(basename "$logtally")

# Whatever systemd set for the process running the tests must not leak in.
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM LISTEN_FDS LISTEN_PID

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*.err "$tmp"/*.notes; do
    [ -s "$f" ] && sed "s|^|  $(basename "$f"): |" "$f" | tail -20
  done
  exit 1
}
skip() { echo "SKIP: $*"; exit 77; }

sock=$tmp/logtally.sock
cp "$srcdir/sample/access.log" "$tmp/access.log"
cat >"$tmp/logtally.yaml" <<YAML
socket: $sock
state_dir: $tmp/state
sources:
  - path: $tmp/access.log
    format: combined
YAML

# waits_for FILE REGEX SECONDS: until a line of FILE matches.
waits_for() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Starts notify_listen on $tmp/NAME.sock for SECONDS, writing $tmp/NAME.notes.
start_listener() {
  local name=$1 seconds=$2
  "$notify_listen" "$tmp/$name.sock" "$seconds" "$sock" >"$tmp/$name.notes" 2>"$tmp/$name.listen.err" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$tmp/$name.sock" ] && return 0; sleep 0.02; done
  fail "notify_listen did not bind $tmp/$name.sock"
}

# stop_daemon PID: SIGTERM, then its exit status must be 0.
stop_daemon() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  [ "$rc" -eq 0 ] || fail "logtallyd exited $rc after SIGTERM"
}

part_ready() {
  [ "$have_systemd" = 1 ] || skip "logtallyd was built without libsystemd: it sends no notifications"

  echo "1. READY=1 after the socket listens, STATUS= follows, STOPPING=1 on SIGTERM"
  start_listener plain 30
  NOTIFY_SOCKET=$tmp/plain.sock "$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/plain.err" &
  pid=$!
  pids+=("$pid")
  waits_for "$tmp/plain.notes" '^READY=1$' 5 || fail "no READY=1 within 5 s"
  # notify_listen prints its probe of the API socket just before READY=1.
  probe=$(grep -B1 -m1 '^READY=1$' "$tmp/plain.notes" | head -n1)
  [ "$probe" = "PROBE=ok" ] || fail "READY=1 came before the API socket listened ($probe)"
  echo "  READY=1 arrived with the API socket already listening"
  if command -v curl >/dev/null; then
    health=$(curl -sf --unix-socket "$sock" http://localhost/healthz) || fail "GET /healthz failed after READY=1"
    [ "$(echo "$health" | jq -r .status)" = ok ] || fail "GET /healthz answered $health"
    echo "  GET /healthz: $health"
  else
    echo "  (curl is missing: GET /healthz not checked)"
  fi
  # The status timer ticks every second; the sample's 3,000 lines are read
  # by then.
  waits_for "$tmp/plain.notes" '^STATUS=.*3,?000' 4 ||
    fail "no STATUS= line with the 3,000 lines read within 4 s"
  ready_at=$(grep -n -m1 '^READY=1$' "$tmp/plain.notes" | cut -d: -f1)
  status_at=$(grep -n '^STATUS=' "$tmp/plain.notes" | tail -n1 | cut -d: -f1)
  [ "$status_at" -gt "$ready_at" ] || fail "no STATUS= line after READY=1"
  echo "  $(grep '^STATUS=' "$tmp/plain.notes" | tail -n1)"
  sleep 1.2
  [ "$(grep -c '^READY=1$' "$tmp/plain.notes")" -eq 1 ] || fail "READY=1 was sent more than once"
  ! grep -q '^WATCHDOG=' "$tmp/plain.notes" || fail "WATCHDOG=1 without WATCHDOG_USEC"
  echo "  READY=1 once, no WATCHDOG=1 without WATCHDOG_USEC"
  stop_daemon "$pid"
  waits_for "$tmp/plain.notes" '^STOPPING=1$' 2 || fail "no STOPPING=1 on SIGTERM"
  [ ! -e "$sock" ] || fail "the socket is still there after SIGTERM"
  echo "  SIGTERM: STOPPING=1, exit 0, socket removed"

  echo "2. WATCHDOG=1 with WATCHDOG_USEC=2000000 and WATCHDOG_PID = the daemon"
  start_listener watchdog 30
  # The shell's pid is the daemon's: exec replaces the shell, keeping it.
  NOTIFY_SOCKET=$tmp/watchdog.sock WATCHDOG_USEC=2000000 \
    sh -c 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" "$@"' \
    "$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/watchdog.err" &
  pid=$!
  pids+=("$pid")
  waits_for "$tmp/watchdog.notes" '^READY=1$' 5 || fail "no READY=1 within 5 s"
  start=$(date +%s%N)
  for _ in $(seq 70); do
    [ "$(grep -c '^WATCHDOG=1$' "$tmp/watchdog.notes")" -ge 2 ] && break
    sleep 0.05
  done
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  n=$(grep -c '^WATCHDOG=1$' "$tmp/watchdog.notes" || true)
  [ "$n" -ge 2 ] || fail "$n WATCHDOG=1 in 3.5 s after READY=1 (want one a second)"
  echo "  2 WATCHDOG=1 within $took ms of READY=1 (the interval is 2 s)"
  stop_daemon "$pid"

  echo "3. no WATCHDOG=1 when WATCHDOG_PID names another process"
  start_listener otherpid 30
  NOTIFY_SOCKET=$tmp/otherpid.sock WATCHDOG_USEC=2000000 WATCHDOG_PID=$$ \
    "$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/otherpid.err" &
  pid=$!
  pids+=("$pid")
  waits_for "$tmp/otherpid.notes" '^READY=1$' 5 || fail "no READY=1 within 5 s"
  sleep 2.2
  ! grep -q '^WATCHDOG=' "$tmp/otherpid.notes" || fail "WATCHDOG=1 although WATCHDOG_PID is not the daemon's"
  echo "  none in 2.2 s"
  stop_daemon "$pid"
}

part_verify() {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian package systemd)"
  [ -f "$unit" ] || fail "no generated unit at $unit"
  ! grep -n '@[A-Za-z_]*@' "$unit" || fail "$unit holds an unreplaced @VARIABLE@"
  grep -q '^ExecStart=/.*/logtallyd -c /.*/logtally/logtally.yaml$' "$unit" ||
    fail "ExecStart= of $unit does not run logtallyd -c .../logtally/logtally.yaml"
  mkdir "$tmp/unit"
  ! grep -q '^Exec.*/kill' "$unit" || fail "$unit runs kill(1), which a minimal system does not have"
  grep -q '^ExecReload=/.*/logtally reload$' "$unit" || fail "ExecReload= of $unit is not 'logtally reload'"
  sed -E -e "s#^(Exec[A-Za-z]*=)[^ ]*/logtallyd( |$)#\1$logtallyd\2#" \
    -e "s#^(Exec[A-Za-z]*=)[^ ]*/logtally( |$)#\1$logtally\2#" "$unit" >"$tmp/unit/logtallyd.service"
  cp "$srcdir/systemd/logtallyd.socket" "$tmp/unit/"
  echo "verifying a copy of $unit with logtallyd at $logtallyd, and logtallyd.socket:"
  grep '^Exec' "$tmp/unit/logtallyd.service" | sed 's/^/  /'
  man=--man=no
  if command -v man >/dev/null; then
    for page in "$srcdir"/docs/man/*.[158]; do
      mkdir -p "$tmp/man/man${page##*.}"
      cp "$page" "$tmp/man/man${page##*.}/"
    done
    man=--man=yes
  fi
  rc=0
  (cd "$tmp/unit" && MANPATH=$tmp/man systemd-analyze verify "$man" ./logtallyd.service ./logtallyd.socket) \
    >"$tmp/verify.out" 2>&1 || rc=$?
  sed 's/^/  /' "$tmp/verify.out"
  [ "$rc" -eq 0 ] || fail "systemd-analyze verify exited $rc"
  ! grep -q 'logtallyd' "$tmp/verify.out" || fail "systemd-analyze verify complained about the unit"
  echo "  systemd-analyze verify $man: accepted"
  # Not a pass/fail check, a record: how exposed the service is.
  if systemd-analyze security --offline=true "$tmp/unit/logtallyd.service" >"$tmp/security.out" 2>&1; then
    grep 'Overall exposure' "$tmp/security.out" | sed 's/^→ */  /'
  fi
}

part_activate() {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is missing (Debian package systemd)"
  [ "$have_systemd" = 1 ] || skip "logtallyd was built without libsystemd: no socket activation"
  [ -n "$logtally" ] || fail "no LOGTALLY argument"
  passed=$tmp/passed.sock

  echo "1. the daemon answers on the socket it was passed"
  # systemd-socket-activate listens on $passed and starts the daemon at the
  # first connection, handing it the socket as fd 3.
  systemd-socket-activate -l "$passed" "$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/activate.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do [ -S "$passed" ] && break; sleep 0.02; done
  [ -S "$passed" ] || fail "systemd-socket-activate did not listen on $passed"
  # The first connection starts the daemon, which answers it; the sample is
  # read soon after.
  for _ in $(seq 100); do
    out=$(timeout 10 "$logtally" -s "$passed" summary) || fail "logtally summary on the passed socket failed"
    echo "$out" | grep -q '^Lines  *3,000 ' && break
    sleep 0.05
  done
  echo "$out" | grep -q '^Lines  *3,000 ' || fail "the daemon did not count the sample: $out"
  echo "  $(echo "$out" | head -n1)"
  [ ! -e "$sock" ] || fail "the daemon created the configured socket $sock although it was passed one"
  grep -q "listening on $passed, the socket systemd passed" "$tmp/activate.err" ||
    fail "the daemon did not say it listens on the passed socket"
  echo "  on $passed; the configured $sock was not created"

  echo "2. SIGTERM leaves the passed socket, which still accepts"
  daemon=$(pgrep -P "$pid" -x logtallyd || true)
  [ -n "$daemon" ] || daemon=$pid    # systemd-socket-activate execs the daemon in place
  kill -TERM "$daemon"
  for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$daemon" 2>/dev/null || fail "the daemon did not exit on SIGTERM"
  wait "$pid" 2>/dev/null && rc=0 || rc=$?
  [ "$rc" -eq 0 ] || fail "logtallyd exited $rc after SIGTERM"
  [ -S "$passed" ] || fail "the daemon removed $passed, the socket it was passed"
  echo "  exit 0; $passed still there"

  echo "3. LISTEN_FDS on something that is not a listening socket"
  rc=0
  sh -c 'LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS; exec "$0" "$@" 3</dev/null' \
    "$logtallyd" -c "$tmp/logtally.yaml" >"$tmp/notsock.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "the daemon started on a passed descriptor that is not a socket"
  grep -q 'not a listening Unix stream socket' "$tmp/notsock.out" ||
    fail "no message naming the bad passed descriptor: $(cat "$tmp/notsock.out")"
  sed 's/^/  /' "$tmp/notsock.out" | grep 'not a listening'
  [ ! -e "$sock" ] || fail "the daemon bound $sock after refusing the passed descriptor"
}

part_journal() {
  echo "1. with JOURNAL_STREAM naming stderr: <N> priorities"
  : >"$tmp/journal.err"
  stream=$(stat -c '%d:%i' "$tmp/journal.err")
  JOURNAL_STREAM=$stream "$logtallyd" -c "$tmp/logtally.yaml" 2>>"$tmp/journal.err" &
  pid=$!
  pids+=("$pid")
  waits_for "$tmp/journal.err" 'listening on' 5 || fail "the daemon did not log 'listening on'"
  # A reload that fails is logged as an error; the daemon keeps running.
  cp "$tmp/logtally.yaml" "$tmp/good.yaml"
  echo "no_such_key: 1" >>"$tmp/logtally.yaml"
  kill -HUP "$pid"
  waits_for "$tmp/journal.err" 'not reloaded' 5 || fail "a bad configuration on SIGHUP was not logged"
  cp "$tmp/good.yaml" "$tmp/logtally.yaml"
  stop_daemon "$pid"
  sed 's/^/  /' "$tmp/journal.err"
  grep -q '^<6>listening on ' "$tmp/journal.err" || fail "'listening on' is not logged at priority 6 (info)"
  grep -q '^<3>configuration not reloaded' "$tmp/journal.err" ||
    fail "the refused reload is not logged at priority 3 (error)"
  grep -q '^<6>stopping' "$tmp/journal.err" || fail "'stopping' is not logged at priority 6 (info)"
  ! grep -qv '^<[0-7]>' "$tmp/journal.err" || fail "a line without a <N> prefix under JOURNAL_STREAM"

  echo "2. without JOURNAL_STREAM: 'logtallyd: '"
  "$logtallyd" -c "$tmp/logtally.yaml" 2>"$tmp/plain.err" &
  pid=$!
  pids+=("$pid")
  waits_for "$tmp/plain.err" 'listening on' 5 || fail "the daemon did not log 'listening on'"
  stop_daemon "$pid"
  sed 's/^/  /' "$tmp/plain.err"
  ! grep -qv '^logtallyd: ' "$tmp/plain.err" || fail "a line without the 'logtallyd: ' prefix"
}

case $part in
ready) part_ready ;;
verify) part_verify ;;
journal) part_journal ;;
activate) part_activate ;;
*) echo "usage: e2e_systemd.sh ready|verify|journal|activate LOGTALLYD SOURCE_DIR UNIT NOTIFY_LISTEN HAVE_SYSTEMD LOGTALLY" >&2; exit 2 ;;
esac
echo "ok"
