#!/usr/bin/env bash
# bench/run.sh -- logtally against wc -l, logswan, GoAccess and an awk
# pipeline, on a generated combined log whose exact answers are known.
#
#   bench/run.sh [--runs N] [--lines N] [--seed S] [--threads N]
#                [--goaccess-runs N] [--scaling] [--memory-limit SIZE]
#                [--daemon] [--follow] [--rate N] [--seconds S]
#                [--sweep] [--huge] [--data DIR] [--build DIR]
#
# One command, from a fresh Debian 12 machine: installs what is missing (the
# project's own scripts/deps.sh, then the peers logswan, goaccess and GNU
# time, as root or through sudo), builds Release into build-bench/,
# generates the log with tools/loggen (reused when a file of the same size
# and seed is already in --data), warms the page cache, checks that
# logtally's answers equal the generator's truth (and stops loudly if not),
# then runs every tool --runs times, round-robin so that a slow minute of
# the machine hurts all of them alike, and prints markdown: the machine,
# medians of wall time, MB/s, lines/s and peak RSS, the ratios the
# specification sets as targets, and 1 vs all threads.
#
#   --runs N           timed runs of each tool (default 5)
#   --lines N          lines in the log (default 5,000,000: about 880 MB)
#   --seed S           loggen seed (default 1)
#   --threads N        logtally's "all threads" setting (default nproc)
#   --goaccess-runs N  GoAccess takes minutes on the default log, so it
#                      runs fewer times (default 1; 0 skips it)
#   --scaling          instead: logtally on 1x, 2x and 4x copies of the log
#                      (same distinct keys) and on generated logs of 1x,
#                      2x and 4x --lines: time and peak RSS against size
#   --memory-limit S   with --scaling: also run the largest file inside a
#                      memory cgroup of S (e.g. 512M) that holds the page
#                      cache too, so the file is larger than the memory the
#                      process may use (needs root and cgroup v1 or v2)
#   --daemon           instead: logtallyd's initial ingest of the log (it is
#                      there before the daemon starts) with threads: 1 and
#                      threads: --threads, until /v1/summary counts every line;
#                      wall time, peak RSS, and the answers against the truth
#   --follow           instead: logtallyd following a file that grows by
#                      --rate lines per second (default 1,000,000) for
#                      --seconds (default 5), lines taken from the log,
#                      while /v1/summary is asked every 10 ms: sustained
#                      rate, visibility delay of each write, answer times
#   --sweep            instead: the cardinality sweep: four --lines logs
#                      with about 140 K, 500 K, 1.5 M and 3 M distinct
#                      clients (and 100 K to 1 M URLs); for each, wc -l,
#                      logtally with 1 and --threads threads (and with
#                      --threads keeping time buckets, as the daemon
#                      does), logswan,
#                      DuckDB (a regular-expression parse into distinct
#                      clients, top 10 URLs and the busiest second) and
#                      logtallyd's initial ingest with the latency of
#                      /v1/summary asked every 20 ms meanwhile
#   --huge             instead: a log of at least 50 GB with at least 10 M
#                      distinct clients (written once into --data, reused),
#                      read cold by logtally inside an 8 GiB memory cgroup
#                      that also holds the page cache, with the default
#                      configuration, then again with the exact-client
#                      budget lowered so that the HyperLogLog takes over
#                      mid-file; answers against the generator's truth
#                      (needs root, cgroup v1 or v2, 60 GB of disk; about
#                      25 minutes)
#   --no-idle-wait     start each timed run at once instead of waiting (up
#                      to two minutes) for an idle machine; runs that start
#                      on a busy machine are still counted and reported
#   --data DIR         where logs live (default /tmp/logtally-bench)
#   --build DIR        build directory (default build-bench)
#
# Default run: about 6 minutes on a 2-core machine, 4 of them GoAccess.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5 lines=5000000 seed=1 threads=$(nproc) goaccess_runs=1 scaling=0 memlimit= daemon=0 follow=0 rate=1000000 seconds=5
sweep=0 huge=0 idle_wait=1
data=/tmp/logtally-bench build=build-bench
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --goaccess-runs) goaccess_runs=$2; shift 2 ;;
    --scaling) scaling=1; shift ;;
    --memory-limit) memlimit=$2; shift 2 ;;
    --daemon) daemon=1; shift ;;
    --follow) follow=1; shift ;;
    --sweep) sweep=1; shift ;;
    --huge) huge=1; shift ;;
    --no-idle-wait) idle_wait=0; shift ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
note() { echo "bench: $*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

# --- set-up: the project's dependencies, the peers, a Release build --------
scripts/deps.sh
peers=(logswan goaccess time jq gawk)
missing=()
for p in "${peers[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  note "installing ${missing[*]}"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
note "building Release into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target logtally logtallyd loggen follow >/dev/null
if [ "$sweep" -eq 1 ] && [ ! -d "$data/duckdb/node_modules/@duckdb/node-api" ]; then
  note "installing DuckDB (npm @duckdb/node-api) into $data/duckdb"
  mkdir -p "$data/duckdb"
  (cd "$data/duckdb" && npm install --no-audit --no-fund --silent @duckdb/node-api@1.5.6-r.1 >&2)
fi
logtally=$PWD/$build/cli/logtally
logtallyd=$PWD/$build/daemon/logtallyd
loggen=$PWD/$build/tools/loggen
mkdir -p "$data"

# --- data: a log and its truth, made once per size and seed -----------------
# make_log N: prints the path of an N-line log with seed $seed, generating it
# (and its truth beside it) unless it is already there.
make_log() {
  local n=$1 log="$data/access-$1-s$seed.log"
  if [ ! -s "$log" ] || [ ! -s "${log%.log}.json" ] ||
     [ "$(jq -r .lines "${log%.log}.json" 2>/dev/null)" != "$n" ]; then
    note "generating $log"
    "$loggen" --lines "$n" --seed "$seed" --out "$log.tmp" --truth "${log%.log}.json" >&2
    mv "$log.tmp" "$log"
  fi
  echo "$log"
}

warm() { cat "$1" >/dev/null; cat "$1" >/dev/null; }

# check_answers LOG THREADS: logtally's counts must equal the truth.
check_answers() {
  local log=$1 t=$2 fields want got
  fields='[.lines, .valid, .malformed, .unparsed_requests, .requests, .bytes,
           .clients.ipv4, .clients.ipv6, .clients.other, .clients.total,
           .first_ts, .last_ts, .peak.second, .peak.requests,
           (.top[:10] | map([.url, .count]))]'
  want=$(jq -c "$fields" "${log%.log}.json")
  got=$("$logtally" analyze --json --threads "$t" "$log" | jq -c "$fields")
  if [ "$want" != "$got" ]; then
    echo "want: $want" >&2
    echo "got:  $got" >&2
    die "logtally --threads $t does not give the generator's truth for $log"
  fi
  note "answers equal the truth ($(basename "$log"), --threads $t)"
}

# --- timing ---------------------------------------------------------------
# wait_idle: waits (up to two minutes) until the CPUs have been nearly idle
# for half a second, so that another job on the machine does not steal a
# core from a timed run; counts the runs that had to start on a busy
# machine anyway, and the report says so.
busy_runs=0
cpu_busy() {   # percent of CPU time not idle over half a second
  local a b
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ </proc/stat
  sleep 0.5
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ </proc/stat
  a=$(( (u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1) ))
  b=$(( a + (i2 + w2) - (i1 + w1) ))
  echo $(( b > 0 ? 100 * a / b : 0 ))
}
wait_idle() {
  local tries
  if [ "$idle_wait" -eq 0 ]; then
    [ "$(cpu_busy)" -lt 10 ] || busy_runs=$((busy_runs + 1))
    return 0
  fi
  for ((tries = 0; tries < 240; tries++)); do
    [ "$(cpu_busy)" -lt 10 ] && return 0
    [ "$tries" -eq 0 ] && note "waiting for the machine to be idle"
  done
  busy_runs=$((busy_runs + 1))
}

# timed NAME CMD...: runs CMD once, appends "wall_seconds rss_kib" to
# $tmp/NAME.  The wall time is taken in nanoseconds around GNU time, whose
# own %e has only 10 ms steps; GNU time gives the peak RSS.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timed() {
  local name=$1 t0 t1; shift
  wait_idle
  t0=$(date +%s%N)
  /usr/bin/time -f "%M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" ||
    { cat "$tmp/stderr" >&2; die "$name failed"; }
  t1=$(date +%s%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b - a) / 1e9}') $(cat "$tmp/time")" >>"$tmp/$name"
}
median_col() {   # median_col NAME COLUMN
  sort -n -k"$2" "$tmp/$1" | awk -v c="$2" '{v[NR]=$c} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
}

busy_note() {
  [ "$busy_runs" -eq 0 ] && return 0
  echo
  if [ "$idle_wait" -eq 0 ]; then
    echo "**Warning:** $busy_runs timed runs started while other processes kept the CPUs over 10 % busy"
    echo "(\`--no-idle-wait\`); those numbers are not to be trusted on their own."
    return 0
  fi
  echo "**Warning:** $busy_runs timed runs started while other processes kept the CPUs busy for two"
  echo "minutes; those numbers are not to be trusted."
}

machine() {
  echo "## Machine"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') |"
  echo "| cores (nproc) | $(nproc) |"
  echo "| memory | $(free -g | awk '/^Mem:/{print $2}') GiB |"
  echo "| kernel | $(uname -r) |"
  echo "| logtally | $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- lib cli tools 2>/dev/null || echo ' (lib/, cli/ or tools/ modified)') |"
  echo "| logswan | $(dpkg-query -W -f='${Version}' logswan) |"
  echo "| GoAccess | $(dpkg-query -W -f='${Version}' goaccess) |"
  echo "| date | $(date -u +%Y-%m-%dT%H:%MZ) |"
  echo
}

# --- --daemon: the daemon's initial ingest ------------------------------------
# daemon_ingest NAME THREADS: starts logtallyd on $log with an empty state
# directory and asks /v1/summary every 20 ms until it counts every line;
# appends "wall_seconds peak_rss_kib" to $tmp/NAME and each answer's time
# to first byte (ms, curl's connection included) to $tmp/NAME.lat, checks
# the last answer against the truth (first run of each NAME only) and
# stops the daemon.
daemon_ingest() {
  local name=$1 t=$2 dir="$tmp/daemon" t0 t1 n pid hwm fields want got
  rm -rf "$dir" && mkdir -p "$dir"
  cat >"$dir/c.yaml" <<YAML
socket: $dir/s.sock
state_dir: $dir/state
threads: $t
sources:
  - path: $log
YAML
  wait_idle
  t0=$(date +%s%N)
  "$logtallyd" -c "$dir/c.yaml" 2>"$dir/err" &
  pid=$!
  for ((n = 0; n < 500; n++)); do [ -S "$dir/s.sock" ] && break; sleep 0.01; done
  # The poller spends only curl's time: the daemon's readers run at nice
  # 10, so a jq and an awk per answer (30 ms of CPU each time, measured)
  # took most of a core from them and lengthened the ingest measured.
  local head re='^\{"lines":([0-9]+)'
  : >"$dir/ttfb"
  for ((n = 0; n < 60000; n++)); do
    curl -s --unix-socket "$dir/s.sock" -o "$dir/answer" -w '%{time_starttransfer}\n' \
      "http://localhost/v1/summary?n=10" >>"$dir/ttfb" || true
    head=
    read -r -n 40 head <"$dir/answer" || true
    [[ $head =~ $re ]] && [ "${BASH_REMATCH[1]}" = "$lines" ] && break
    sleep 0.02
  done
  t1=$(date +%s%N)
  awk '$1 > 0 { printf "%.3f\n", $1 * 1000 }' "$dir/ttfb" >>"$tmp/$name.lat"
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
  if [ ! -s "$tmp/$name" ]; then
    fields='[.lines, .valid, .malformed, .unparsed_requests, .bytes, .clients.ipv4, .clients.ipv6,
             .clients.other, .clients.total, .peak.second, .peak.requests,
             (.top[:10] | map([.url, .count]))]'
    want=$(jq -c "$fields" "${log%.log}.json")
    got=$(jq -c "$fields" "$dir/answer")
    [ "$want" = "$got" ] || { kill "$pid"; die "logtallyd threads: $t on $log: $got, not $want"; }
    note "logtallyd threads: $t on $log: answers equal the truth"
  fi
  kill "$pid"
  wait "$pid" || die "logtallyd exited $?: $(tail -3 "$dir/err")"
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b - a) / 1e9}') $hwm" >>"$tmp/$name"
}

if [ "$daemon" -eq 1 ]; then
  log=$(make_log "$lines")
  size=$(stat -c %s "$log")
  for ((r = 1; r <= runs; r++)); do
    note "round $r of $runs"
    warm "$log"
    daemon_ingest daemon_1 1
    daemon_ingest daemon_all "$threads"
  done
  machine
  echo "## logtallyd: initial ingest of $lines lines, $(awk -v s="$size" 'BEGIN{printf "%.0f", s/1e6}') MB, page-cached; median of $runs runs"
  echo
  echo "Command: \`bench/run.sh --daemon --runs $runs --lines $lines --seed $seed --threads $threads\`"
  echo
  echo "From the start of \`logtallyd\` until \`/v1/summary\` counts every line (asked every 20 ms);"
  echo "the last answer checked against the generator's truth."
  echo
  echo "| threads | wall s | MB/s | lines/s | peak RSS MiB | speed-up |"
  echo "|---:|---:|---:|---:|---:|---:|"
  d1=$(median_col daemon_1 1)
  for n in daemon_1 daemon_all; do
    w=$(median_col "$n" 1) m=$(median_col "$n" 2)
    awk -v t="$([ "$n" = daemon_1 ] && echo 1 || echo "$threads")" -v w="$w" -v m="$m" -v s="$size" \
        -v l="$lines" -v d1="$d1" 'BEGIN{
      printf "| %s | %.3f | %.0f | %.2fM | %.1f | %.2fx |\n", t, w, s / w / 1e6, l / w / 1e6, m / 1024, d1 / w }'
  done
  busy_note
  exit 0
fi

# --- --follow: the daemon keeping up with a growing file ------------------------
if [ "$follow" -eq 1 ]; then
  log=$(make_log "$lines")
  warm "$log"
  dir="$tmp/live"
  for ((r = 1; r <= runs; r++)); do
    note "round $r of $runs"
    rm -rf "$dir" && mkdir -p "$dir"
    : >"$dir/live.log"
    cat >"$dir/c.yaml" <<YAML
socket: $dir/s.sock
state_dir: $dir/state
threads: $threads
sources:
  - path: $dir/live.log
YAML
    wait_idle
    "$logtallyd" -c "$dir/c.yaml" 2>"$dir/err" &
    pid=$!
    for ((n = 0; n < 500; n++)); do [ -S "$dir/s.sock" ] && break; sleep 0.01; done
    "$PWD/$build/bench/follow" "$dir/s.sock" "$log" "$dir/live.log" "$rate" "$seconds" >>"$tmp/follow" ||
      { kill "$pid"; die "the daemon did not count every appended line: $(tail -1 "$tmp/follow")"; }
    kill "$pid"
    wait "$pid" || die "logtallyd exited $?: $(tail -3 "$dir/err")"
  done
  machine
  echo "## logtallyd following a file that grows by $rate lines/s for $seconds s ($runs runs)"
  echo
  echo "Command: \`bench/run.sh --follow --runs $runs --rate $rate --seconds $seconds --threads $threads\`"
  echo
  echo "Lines of the generated log appended every 10 ms; \`/v1/summary?n=10\` asked every 10 ms over"
  echo "one connection. Visibility: from each write until an answer counts its lines. Sustained: lines"
  echo "over the time from the first write until the last line was counted."
  echo
  echo "| run | lines | offered lines/s | sustained lines/s | last line counted after | visibility p50 / p99 / max ms | answers p50 / p99 / max ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "| %d | %d | %.2fM | %.2fM | %.0f ms | %.0f / %.0f / %.0f | %.2f / %.2f / %.2f |\n", NR, v["lines"],
           v["offered"] / 1e6, v["sustained"] / 1e6, v["tail_ms"], v["vis_p50_ms"], v["vis_p99_ms"],
           v["vis_max_ms"], v["api_p50_ms"], v["api_p99_ms"], v["api_max_ms"] }' "$tmp/follow"
  echo
  echo "## Targets (SPEC, \"Performance targets\", the daemon)"
  echo
  echo "| target | measured (worst run) | |"
  echo "|---|---:|---|"
  awk -v rate="$rate" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         if (NR == 1 || v["sustained"] < sus) sus = v["sustained"]
         if (NR == 1 || v["offered"] < off) off = v["offered"]
         if (v["vis_max_ms"] > vis) vis = v["vis_max_ms"]
         if (v["api_p99_ms"] > api) api = v["api_p99_ms"] }
       END {
         ok = off >= 0.99e6 && vis <= 250
         printf "| 1 M appended lines per second sustained | offered %.2fM/s, kept up (sustained %.2fM/s) | %s |\n", off / 1e6, sus / 1e6, ok ? "met" : "**not met**"
         printf "| a line appended visible within 250 ms | %.0f ms (max) | %s |\n", vis, vis <= 250 ? "met" : "**not met**"
         printf "| answers under 5 ms at p99 while ingesting | %.2f ms | %s |\n", api, api <= 5 ? "met" : "**not met**" }' "$tmp/follow"
  busy_note
  exit 0
fi

# --- --sweep: cardinality ------------------------------------------------------
# sweep_log NAME LOGGEN_ARGS...: prints the path of the sweep's log NAME
# (--lines lines, seed $seed), generating it and its truth unless present.
sweep_log() {
  local name=$1 log="$data/sweep-$1-$lines-s$seed.log"; shift
  if [ ! -s "$log" ] || [ ! -s "${log%.log}.json" ] ||
     [ "$(jq -r .lines "${log%.log}.json" 2>/dev/null)" != "$lines" ]; then
    note "generating $log"
    "$loggen" --lines "$lines" --seed "$seed" "$@" --out "$log.tmp" --truth "${log%.log}.json" >&2
    mv "$log.tmp" "$log"
  fi
  echo "$log"
}

# duckdb_check LOG: DuckDB's answers against the truth, as a short note.
duckdb_check() {
  local got want
  got=$(node "$duckdb_js" "$1")
  want=$(jq -c '{clients: .clients.total, top: [.top[:10][] | [.url, .count]],
                 peak: {second: .peak.second, requests: .peak.requests}}' "${1%.log}.json")
  jq -n -r --argjson g "$got" --argjson w "$want" '
    "clients \($g.clients) (truth \($w.clients)), top 10 " +
    (if ($g.top | map(.[0])) == ($w.top | map(.[0])) then "same URLs" else "other URLs" end) +
    ", counts " + (if $g.top == $w.top then "equal" else "off by up to \([range(0; $w.top | length) | ($w.top[.][1] - ($g.top[.][1] // 0)) | fabs] | max)" end) +
    ", peak " + (if $g.peak == $w.peak then "equal" else "\($g.peak.requests) at \($g.peak.second) (truth \($w.peak.requests) at \($w.peak.second))" end)'
}

if [ "$sweep" -eq 1 ]; then
  # An ES module finds its packages beside it, so the script runs from
  # where DuckDB was installed.
  cp bench/duckdb.mjs "$data/duckdb/duckdb.mjs"
  duckdb_js=$data/duckdb/duckdb.mjs
  specs=("140k:" "500k:--clients 550000 --client-skew 0 --visit 4 --urls 100000"
         "1500k:--clients 1920000 --client-skew 0 --visit 2 --urls 200000"
         "3m:--clients 4000000 --client-skew 0 --visit 1 --urls 1000000")
  : >"$tmp/rows"
  : >"$tmp/notes"
  for spec in "${specs[@]}"; do
    name=${spec%%:*}
    # shellcheck disable=SC2086
    log=$(sweep_log "$name" ${spec#*:})
    size=$(stat -L -c %s "$log")
    warm "$log"
    check_answers "$log" "$threads"
    check_answers "$log" 1
    for n in wc lt1 ltall ltwin logswan duckdb ld; do rm -f "$tmp/$n" "$tmp/$n.lat"; done
    for ((r = 1; r <= runs; r++)); do
      note "$name: round $r of $runs"
      warm "$log"
      timed wc wc -l "$log"
      timed lt1 "$logtally" analyze --json --threads 1 "$log"
      timed ltall "$logtally" analyze --json --threads "$threads" "$log"
      # With the time buckets the daemon keeps (a window makes analyze keep them).
      timed ltwin "$logtally" analyze --json --threads "$threads" --from 1970-01-01T00:00:00Z \
            --to 2100-01-01T00:00:00Z "$log"
      timed logswan logswan "$log"
      timed duckdb node "$duckdb_js" "$log"
      daemon_ingest ld "$threads"
    done
    echo "| $name | $(duckdb_check "$log") |" >>"$tmp/notes"
    lat=$(sort -n "$tmp/ld.lat" | awk '{v[NR]=$1} END{p = int(NR * 0.99); if (p < 1) p = 1; printf "%.1f / %.1f / %.1f", v[int((NR+1)/2)], v[p], v[NR]}')
    clients=$(jq .clients.total "${log%.log}.json")
    urls=$("$logtally" analyze --json --threads "$threads" "$log" | jq .urls.distinct)
    awk -v c="$clients" -v u="$urls" -v s="$size" -v wc="$(median_col wc 1)" -v t1="$(median_col lt1 1)" \
        -v ta="$(median_col ltall 1)" -v ls="$(median_col logswan 1)" -v dk="$(median_col duckdb 1)" \
        -v rss1="$(median_col lt1 2)" -v rssa="$(median_col ltall 2)" -v rssd="$(median_col duckdb 2)" \
        -v dm="$(median_col ld 1)" -v drss="$(median_col ld 2)" -v lat="$lat" \
        -v tw="$(median_col ltwin 1)" 'BEGIN{
      printf "| %.2fM / %.2fM | %.0f | %.3f | %.3f | %.3f | **%.2fx** | %.2fx | %.3f | %.1fx | %.2f | %.1fx | %.0f / %.0f | %.3f | %.2f | %.2fx / %.2fx | %s | %.0f / %.0f |\n",
        c / 1e6, u / 1e6, s / 1e6, wc, t1, ta, t1 / ta, ta / wc, ls, ls / ta, dk, dk / ta,
        rss1 / 1024, rssa / 1024, tw, dm, dm / ta, dm / tw, lat, drss / 1024, rssd / 1024 }' >>"$tmp/rows"
  done
  machine
  echo "## Cardinality sweep: $lines-line combined logs, page-cached; median of $runs runs"
  echo
  echo "Command: \`bench/run.sh --sweep --runs $runs --lines $lines --seed $seed --threads $threads\`"
  echo
  echo "Logs from tools/loggen (\`--client-skew 0 --visit N --clients N --urls N\` for the larger"
  echo "populations; the first row is loggen's default).  logtally's answers with 1 and $threads threads,"
  echo "and logtallyd's, equal the generator's truth on every row (checked before timing).  \"daemon\" is"
  echo "logtallyd's initial ingest with \`threads: $threads\`, from its start until \`/v1/summary\` counts"
  echo "every line; the answer times are those of \`/v1/summary?n=10\`, asked every 20 ms meanwhile (time"
  echo "to first byte, curl's connection included).  \"with windows\" is \`analyze\` with $threads threads keeping"
  echo "the time buckets the daemon keeps (\`--from 1970-01-01T00:00:00Z --to 2100-01-01T00:00:00Z\`)."
  echo
  echo "| distinct clients / URLs | MB | \`wc -l\` s | logtally 1 thread s | logtally $threads threads s | $threads vs 1 | vs \`wc -l\` | logswan s | logswan / logtally | DuckDB s | DuckDB / logtally | peak RSS MiB (1 / $threads) | with windows s | daemon ingest s | daemon / analyze (plain / with windows) | answers during ingest p50 / p99 / max ms | RSS MiB daemon / DuckDB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  cat "$tmp/rows"
  echo
  echo "DuckDB's regular-expression answers against the truth (it takes the client field as written:"
  echo "\`::ffff:\` forms and the case of IPv6 addresses and hostnames make more distinct clients; lines"
  echo "that are not UTF-8 are dropped):"
  echo
  echo "| log | DuckDB |"
  echo "|---|---|"
  cat "$tmp/notes"
  busy_note
  exit 0
fi

# --- --huge: the seed's scenario, 50 GB on 8 GiB ------------------------------------
if [ "$huge" -eq 1 ]; then
  hlines=284000000
  log="$data/huge-$hlines-s$seed.log"
  if [ ! -s "$log" ] || [ ! -s "${log%.log}.json" ]; then
    note "generating $log (about 50 GB; minutes)"
    "$loggen" --lines "$hlines" --seed "$seed" --clients 30000000 --client-skew 0 --visit 8 \
      --urls 2000000 --out "$log.tmp" --truth "${log%.log}.json" >&2
    mv "$log.tmp" "$log"
  fi
  size=$(stat -c %s "$log")
  [ "$size" -ge 50000000000 ] || die "$log is only $size bytes"
  cg=
  if [ -w /sys/fs/cgroup/memory ]; then                       # cgroup v1
    cg=/sys/fs/cgroup/memory/logtally-huge.$$
    mkdir "$cg" && echo 8G >"$cg/memory.limit_in_bytes"
    peak_file=$cg/memory.max_usage_in_bytes
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ]; then     # cgroup v2
    cg=/sys/fs/cgroup/logtally-huge.$$
    mkdir "$cg" && echo 8G >"$cg/memory.max"
    peak_file=$cg/memory.peak
  fi
  [ -n "$cg" ] || die "--huge needs a writable memory cgroup (run as root)"
  trap 'rmdir "$cg" 2>/dev/null; rm -rf "$tmp"' EXIT
  # huge_run NAME ARGS...: logtally on the cold log inside the cgroup.
  huge_run() {
    local name=$1; shift
    sync; echo 3 >/proc/sys/vm/drop_caches
    wait_idle
    local t0; t0=$(date +%s%N)
    sh -c "echo \$\$ >'$cg/cgroup.procs'; exec /usr/bin/time -f '%M' -o '$tmp/time' '$logtally' analyze --json --threads '$threads' $* '$log'" >"$tmp/$name.json" ||
      die "logtally failed inside the cgroup"
    echo "$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b - a) / 1e9}') $(cat "$tmp/time") $(cat "$peak_file")" >"$tmp/$name"
  }
  huge_run default
  clients=$(jq .clients.total "${log%.log}.json")
  # 64 MiB holds a few million addresses: the sketch takes over early on.
  budget=64MiB
  huge_run lowered --exact-clients-bytes "$budget"
  machine
  echo "## The seed's scenario: $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1e9}') GB, $hlines lines, $(awk -v c="$clients" 'BEGIN{printf "%.1f", c/1e6}') M distinct clients, read cold in an 8 GiB memory cgroup"
  echo
  echo "Command: \`bench/run.sh --huge --threads $threads\`.  The cgroup holds the page cache too, so the"
  echo "file is read from disk."
  echo
  echo "| run | wall s | MB/s | peak RSS MiB | cgroup peak MiB | clients (truth $clients) | clients exact | URLs exact, error bound | top 10 equal the truth |"
  echo "|---|---:|---:|---:|---:|---:|---|---|---|"
  for name in default lowered; do
    read -r w m p <"$tmp/$name"
    j=$tmp/$name.json
    top=$( [ "$(jq -c '[.top[:10][] | [.url, .count]]' "$j")" = "$(jq -c '[.top[:10][] | [.url, .count]]' "${log%.log}.json")" ] && echo yes || echo no)
    label=$([ "$name" = default ] && echo "default configuration" || echo "\`--exact-clients-bytes $budget\`")
    awk -v n="$label" -v w="$w" -v s="$size" -v m="$m" -v p="$p" -v c="$(jq .clients.total "$j")" \
        -v t="$clients" -v ex="$(jq .clients.exact "$j")" -v ue="$(jq -r '"\(.urls.exact), \(.urls.error_bound)"' "$j")" -v top="$top" 'BEGIN{
      printf "| %s | %.1f | %.0f | %.0f | %.0f | %d (%+.2f %%) | %s | %s | %s |\n", n, w, s / w / 1e6, m / 1024, p / 1048576, c, (c - t) * 100 / t, ex, ue, top }'
  done
  busy_note
  exit 0
fi

if [ "$scaling" -eq 0 ]; then
  log=$(make_log "$lines")
  size=$(stat -c %s "$log")
  warm "$log"
  check_answers "$log" "$threads"
  check_answers "$log" 1

  awk_pipeline="LC_ALL=C awk '{print \$1}' '$log' | LC_ALL=C sort -u | wc -l"
  names=(wc logtally_all logswan logtally_1 awk)
  for ((r = 1; r <= runs; r++)); do
    note "round $r of $runs"
    warm "$log"
    timed wc wc -l "$log"
    timed logtally_all "$logtally" analyze --json --threads "$threads" "$log"
    timed logswan logswan "$log"
    timed logtally_1 "$logtally" analyze --json --threads 1 "$log"
    timed awk sh -c "$awk_pipeline"
    if [ "$r" -le "$goaccess_runs" ]; then
      note "GoAccess (minutes)"
      timed goaccess goaccess "$log" --log-format=COMBINED --no-progress -o "$tmp/goaccess.json"
    fi
  done
  [ "$goaccess_runs" -gt 0 ] && names+=(goaccess)

  machine
  echo "## $lines lines, $(awk -v s="$size" 'BEGIN{printf "%.0f", s/1e6}') MB, page-cached; median of $runs runs (GoAccess: $goaccess_runs)"
  echo
  echo "Command: \`bench/run.sh --runs $runs --lines $lines --seed $seed --threads $threads --goaccess-runs $goaccess_runs\`"
  echo
  echo "| tool | wall s | MB/s | lines/s | peak RSS MiB | logtally ($threads threads) is |"
  echo "|---|---:|---:|---:|---:|---|"
  lt=$(median_col logtally_all 1)
  for n in "${names[@]}"; do
    w=$(median_col "$n" 1) m=$(median_col "$n" 2)
    case $n in
      wc) label='`wc -l`' ;;
      logtally_all) label="\`logtally analyze --json\` ($threads threads)" ;;
      logtally_1) label='`logtally analyze --json --threads 1`' ;;
      awk) label="\`awk '{print \$1}' \| sort -u \| wc -l\`" ;;
      *) label="\`$n\`" ;;
    esac
    LABEL=$label awk -v w="$w" -v m="$m" -v s="$size" -v l="$lines" -v lt="$lt" -v n="$n" 'BEGIN{
      label = ENVIRON["LABEL"];
      if (n == "logtally_all") rel = "-";
      else if (w >= lt) rel = sprintf("%.1fx faster", w / lt);
      else rel = sprintf("%.1fx slower", lt / w);
      printf "| %s | %.3f | %.0f | %.2fM | %.1f | %s |\n", label, w, s / w / 1e6, l / w / 1e6, m / 1024, rel }'
  done
  echo
  echo "## Targets (SPEC, \"Performance targets\")"
  echo
  echo "| target | measured | |"
  echo "|---|---:|---|"
  wc_w=$(median_col wc 1) ls_w=$(median_col logswan 1) t1=$(median_col logtally_1 1)
  rss=$(awk '{if ($2 > m) m = $2} END{print m}' "$tmp/logtally_all" "$tmp/logtally_1")
  row() { awk -v what="$1" -v v="$2" -v ok="$3" -v fmt="$4" 'BEGIN{printf "| %s | " fmt " | %s |\n", what, v, ok ? "met" : "**not met**"}'; }
  r=$(awk -v a="$lt" -v b="$wc_w" 'BEGIN{print a / b}')
  row "within 5x of \`wc -l\` (long-run goal 3x)" "$r" "$(awk -v r="$r" 'BEGIN{print r <= 5}')" "%.2fx"
  r=$(awk -v a="$ls_w" -v b="$lt" 'BEGIN{print a / b}')
  row "at least 3x faster than logswan" "$r" "$(awk -v r="$r" 'BEGIN{print r >= 3}')" "%.1fx"
  if [ "$goaccess_runs" -gt 0 ]; then
    r=$(awk -v a="$(median_col goaccess 1)" -v b="$lt" 'BEGIN{print a / b}')
    row "at least 100x faster than GoAccess" "$r" "$(awk -v r="$r" 'BEGIN{print r >= 100}')" "%.0fx"
  fi
  r=$(awk -v m="$rss" 'BEGIN{print m / 1024}')
  row "peak RSS at most 128 MiB (worst run)" "$r" "$(awk -v r="$r" 'BEGIN{print r <= 128}')" "%.1f MiB"
  r=$(awk -v a="$t1" -v b="$lt" 'BEGIN{print a / b}')
  row "1 thread vs $threads: at least 1.7x" "$r" "$(awk -v r="$r" 'BEGIN{print r >= 1.7}')" "%.2fx"
  echo
  echo "Answers: logtally with 1 and $threads threads equal the generator's truth (checked with jq before timing)."
  busy_note
  exit 0
fi

# --- --scaling: 1x, 2x, 4x ----------------------------------------------------
# copies_of LOG K: prints the path of a file holding K copies of LOG, made
# once.  Its answers are the truth of LOG with every count times K and the
# same distinct clients, URLs and seconds.
copies_of() {
  local log=$1 k=$2 out="${1%.log}-x$2.log"
  if [ "$k" -eq 1 ]; then echo "$log"; return; fi
  if [ ! -s "$out" ] || [ "$(stat -c %s "$out")" -ne $(($(stat -c %s "$log") * k)) ]; then
    note "making $out"
    for ((i = 0; i < k; i++)); do cat "$log"; done >"$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

check_copies() {   # check_copies LOG K COPIES
  local fields want got
  fields='[.lines, .valid, .malformed, .unparsed_requests, .bytes, .clients.total, .first_ts,
           .last_ts, .peak.second, .peak.requests, (.top[:10] | map([.url, .count]))]'
  want=$(jq -c --argjson k "$2" '[.lines * $k, .valid * $k, .malformed * $k,
           .unparsed_requests * $k, .bytes * $k, .clients.total, .first_ts, .last_ts,
           .peak.second, .peak.requests * $k, (.top[:10] | map([.url, .count * $k]))]' "${1%.log}.json")
  got=$("$logtally" analyze --json --threads "$threads" "$3" | jq -c "$fields")
  [ "$want" = "$got" ] || { echo "want: $want" >&2; echo "got:  $got" >&2; die "wrong answers for $3"; }
  note "answers equal $2 times the truth ($(basename "$3"))"
}

# scale_row LABEL LOG MULT: times logtally on LOG and prints a table row.
scale_row() {
  local size w m
  size=$(stat -c %s "$2")
  : >"$tmp/scale"
  for ((r = 1; r <= runs; r++)); do
    warm "$2"
    timed scale "$logtally" analyze --json --threads "$threads" "$2"
  done
  w=$(median_col scale 1) m=$(median_col scale 2)
  [ "$3" -eq 1 ] && base=$w
  awk -v n="$1" -v s="$size" -v w="$w" -v b="$base" -v mult="$3" -v m="$m" 'BEGIN{
    printf "| %s | %.0f | %d | %.3f | %.2f | %.0f | %.1f |\n", n, s / 1e6, mult, w, w / b, s / w / 1e6, m / 1024 }'
}

machine
echo "## Size scaling: logtally analyze --json, $threads threads, median of $runs runs"
echo
echo "The same log repeated: the bytes grow, the distinct clients, URLs and seconds do not."
echo
echo "| lines | MB | size / 1x | wall s | time / 1x | MB/s | peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
one=$(make_log "$lines")
for mult in 1 2 4; do
  log=$(copies_of "$one" "$mult")
  check_copies "$one" "$mult" "$log"
  scale_row "$((lines * mult))" "$log" "$mult"
  biggest=$log
done
echo
echo "Generated logs of 1x, 2x and 4x the lines: loggen's populations of clients and URLs grow with"
echo "the line count, so the tables (and the peak RSS) grow too."
echo
echo "| lines | MB | size / 1x | wall s | time / 1x | MB/s | peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for mult in 1 2 4; do
  log=$(make_log "$((lines * mult))")
  check_answers "$log" "$threads"
  scale_row "$((lines * mult))" "$log" "$mult"
done
echo
echo "Doubling the file should double the time (within 15 %).  Reading takes no memory in proportion"
echo "to the file (it is mapped 8 MiB at a time per reader), so with the same distinct keys the peak"
echo "RSS stays flat; it grows only with the tables."
busy_note

if [ -n "$memlimit" ]; then
  echo
  echo "## Larger than the memory it may use: $(basename "$biggest") in a $memlimit memory cgroup"
  echo
  # The cgroup counts the page cache too, so the file cannot stay cached and
  # is read from disk; only the process's own memory must fit.
  cg=
  if [ -w /sys/fs/cgroup/memory ]; then                       # cgroup v1
    cg=/sys/fs/cgroup/memory/logtally-bench.$$
    mkdir "$cg"
    echo "$memlimit" >"$cg/memory.limit_in_bytes"
    limit_file=$cg/memory.limit_in_bytes peak_file=$cg/memory.max_usage_in_bytes
  elif [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
    cg=/sys/fs/cgroup/logtally-bench.$$                      # cgroup v2
    mkdir "$cg"
    echo "$memlimit" >"$cg/memory.max"
    limit_file=$cg/memory.max peak_file=$cg/memory.peak
  fi
  if [ -z "$cg" ]; then
    echo "No writable memory cgroup here (run as root); skipped.  The table above shows peak RSS on"
    echo "the 4x file equal to the 1x file, which is what bounds memory on a file of any size."
  else
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true   # cold: read from disk
    wait_idle
    t0=$(date +%s%N)
    sh -c "echo \$\$ >'$cg/cgroup.procs'; exec /usr/bin/time -f '%M' -o '$tmp/time' '$logtally' analyze --json --threads '$threads' '$biggest'" >"$tmp/limited.json" ||
      { rmdir "$cg" 2>/dev/null; die "logtally failed inside the $memlimit cgroup"; }
    read -r m <"$tmp/time"
    w=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.2f", (b - a) / 1e9}')
    peak=$(cat "$peak_file" 2>/dev/null || echo 0)
    rmdir "$cg" 2>/dev/null || true
    fields='[.lines, .valid, .clients.total, .urls.distinct, .peak.requests]'
    [ "$(jq -c "$fields" "$tmp/limited.json")" = "$("$logtally" analyze --json --threads "$threads" "$biggest" | jq -c "$fields")" ] ||
      die "the answers inside the cgroup differ"
    echo "| file MB | cgroup limit | wall s (cold, from disk) | peak RSS MiB | cgroup peak (RSS + page cache) MiB |"
    echo "|---:|---:|---:|---:|---:|"
    awk -v s="$(stat -c %s "$biggest")" -v l="$memlimit" -v w="$w" -v m="$m" -v p="$peak" 'BEGIN{
      printf "| %.0f | %s | %.2f | %.1f | %.0f |\n", s / 1e6, l, w, m / 1024, p / 1048576 }'
    echo
    echo "The answers inside the cgroup equal those of an unconstrained run."
  fi
fi
