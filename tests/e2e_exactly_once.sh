#!/usr/bin/env bash
# e2e_exactly_once.sh LOGTALLYD LOGTALLY LOGGEN [CHECK...]
# A file is known by its identity, never by its path: what operators do to
# their logs (rotate them under a glob, spell a path twice, rename a file
# and back, switch a symlink, reload the configuration, rotate twice in a
# row, keep writing to a rotated file, compress a rotation, copytruncate)
# must count every line written exactly once.  One check per case; each
# compares the daemon's /v1/summary with the truth of the lines written,
# and keeps comparing for a few seconds so that a line counted twice a
# moment later is caught.  The numbers in the comments are what the daemon
# of commit 90cc6cc reported, before files were known by identity.
# With CHECK names, only those checks run.
set -euo pipefail
logtallyd=$1
logtally=$2
loggen=$3
shift 3
here=$(dirname "$0")
. "$here/e2e_common.sh"
. "$here/e2e_once_common.sh"

# A glob matching the rotated files, as config/logtally.yaml's example does:
# the renamed access.log.1 and the compressed access.log.2.gz are files the
# daemon already read.  Truth 1,500, then 1,700 (was 2,500, then 4,200).
check_glob_rotation() {
  mkdir "$tmp/logs"
  gen 1700 101
  part 1 1000 >"$tmp/logs/access.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: \"$tmp/logs/access.log*\""
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "access.log read" 0.5
  mv "$tmp/logs/access.log" "$tmp/logs/access.log.1"
  part 1001 1500 >"$tmp/logs/access.log"
  want_lines 1500 "glob access.log*, rename rotation"
  # delaycompress: .1 becomes .2 and is compressed, the current one .1.
  mv "$tmp/logs/access.log.1" "$tmp/logs/access.log.2"
  mv "$tmp/logs/access.log" "$tmp/logs/access.log.1"
  : >"$tmp/logs/access.log"
  gzip "$tmp/logs/access.log.2"
  part 1501 1700 >>"$tmp/logs/access.log"
  want_truth "a second rotation, with .2 gzipped" 3
}

# One file named three ways.  Truth 1,000 (was 3,000).
check_respelled() {
  mkdir "$tmp/logs"
  gen 1000 102
  part 1 700 >"$tmp/logs/a.log"
  ln -s logs/a.log "$tmp/link.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/logs/a.log" \
    "  - path: $tmp/logs//a.log" "  - path: $tmp/link.log"
  start_daemon "$tmp/c.yaml"
  part 701 1000 >>"$tmp/logs/a.log"
  want_truth "one file as a.log, logs//a.log and through a symlink" 3
}

# mv a.log a.tmp; mv a.tmp a.log: the same file back.  Truth 1,000 (was
# 2,000).
check_rename_back() {
  gen 1000 103
  part 1 900 >"$tmp/a.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/a.log"
  start_daemon "$tmp/c.yaml"
  want_lines 900 "a.log read" 0.5
  mv "$tmp/a.log" "$tmp/a.tmp"
  sleep 1
  mv "$tmp/a.tmp" "$tmp/a.log"
  sleep 1
  part 901 1000 >>"$tmp/a.log"
  want_truth "mv a.log a.tmp; mv a.tmp a.log; 100 lines more" 3
}

# ln -sfn A current, then B, then back to A, which gets 10 more lines.
# Truth 1,510 (was 2,510).
check_symlink_switch() {
  gen 1510 104
  part 1 1000 >"$tmp/A"
  part 1001 1500 >"$tmp/B"
  ln -sfn A "$tmp/current"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/current"
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "current -> A" 0.5
  ln -sfn B "$tmp/current"
  want_lines 1500 "current -> B" 1
  ln -sfn A "$tmp/current"
  sleep 1.5
  part 1501 1510 >>"$tmp/A"
  want_truth "current -> A again, 10 lines appended to A" 3
}

# SIGHUP after changing only the format, to an alias of the same one.
# Truth 1,000 (was 2,000).
check_reload_format() {
  gen 1000 105
  part 1 800 >"$tmp/a.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/a.log" "    format: combined"
  start_daemon "$tmp/c.yaml"
  want_lines 800 "format combined" 0.5
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/a.log" "    format: nginx"
  kill -HUP "$pid"
  for _ in $(seq 50); do grep -qi "reload" "$tmp/daemon.err" && break; sleep 0.1; done
  grep -qi "reload" "$tmp/daemon.err" || fail "no word of a reload after SIGHUP"
  part 801 1000 >>"$tmp/a.log"
  want_truth "SIGHUP with format: nginx, then 200 lines more" 3
}

# A source removed by a reload, then added back by another.  Truth 1,000
# (was 3,000).
check_reload_readd() {
  gen 1000 106
  part 1 1000 >"$tmp/a.log"
  write_config "$tmp/with.yaml" "sources:" "  - path: $tmp/a.log"
  write_config "$tmp/without.yaml" "sources:" "  - path: $tmp/other.log"
  cp "$tmp/with.yaml" "$tmp/c.yaml"
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "a.log read" 0.5
  cp "$tmp/without.yaml" "$tmp/c.yaml"
  "$logtally" -s "$sock" reload >/dev/null || fail "reload without a.log refused"
  want_lines 1000 "a.log removed by a reload" 1.5
  cp "$tmp/with.yaml" "$tmp/c.yaml"
  "$logtally" -s "$sock" reload >/dev/null || fail "reload with a.log refused"
  want_truth "a.log added back by a reload" 3
}

# Two rename rotations in a row, faster than the daemon looks: the file in
# between (B, now access.log.1) was never opened by the daemon, and is found
# among the path's siblings.  Truth 2,100 (was 1,100: B never read).
check_two_rotations() {
  gen 2100 107
  part 1 1000 >"$tmp/access.log"
  part 1001 2000 >"$tmp/B"
  part 2001 2100 >"$tmp/C"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "access.log (A) read" 0.5
  # Both rotations in one process, within a millisecond.
  perl -e '
    my ($log, $b, $c) = @ARGV;
    sub slurp { local $/; open my $f, "<", $_[0] or die "$_[0]: $!"; my $s = <$f>; $s }
    sub spit { open my $f, ">", $_[0] or die "$_[0]: $!"; print $f $_[1]; close $f or die }
    my ($B, $C) = (slurp($b), slurp($c));
    rename $log, "$log.1" or die;  spit($log, $B);
    rename "$log.1", "$log.2" or die;  rename $log, "$log.1" or die;  spit($log, $C);
  ' "$tmp/access.log" "$tmp/B" "$tmp/C"
  want_truth "two rotations before the daemon opened B" 3
}

# The writer keeps the rotated file open and adds a line every 3 s; with
# rotate_wait: 10s each of them counts.  (Was 1 of 5: the rotated file was
# dropped 2 s after it last grew, a fixed delay.)
check_late_writer() {
  gen 1005 108
  part 1 1000 >"$tmp/access.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log" "    rotate_wait: 10s"
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "access.log read" 0.5
  exec 7>>"$tmp/access.log"
  mv "$tmp/access.log" "$tmp/access.log.1"
  : >"$tmp/access.log"
  for i in 1 2 3 4 5; do
    sleep 3
    part $((1000 + i)) $((1000 + i)) >&7
    want_deadline=6 want_lines $((1000 + i)) "late line $i, 3 s after the one before" 0.2
  done
  exec 7>&-
  want_truth "the rotated file's 5 late lines" 2
}

# A .gz read while gzip is still writing it (its input stalls for 6 s): it
# must not be read before it is complete, and never marked read early.
# Truth 200,000 (was 33,160, marked done and never retried).
check_gz_growing() {
  mkdir "$tmp/logs"
  gen 200000 109
  part 1 60000 >"$tmp/p1"
  part 60001 200000 >"$tmp/p2"
  write_config "$tmp/c.yaml" "sources:" "  - path: \"$tmp/logs/*.gz\""
  start_daemon "$tmp/c.yaml"
  gz=$tmp/logs/access.log.2.gz
  { cat "$tmp/p1"; sleep 6; cat "$tmp/p2"; } | gzip -c >"$gz" &
  gzip_job=$!
  check_cleanup() { kill "$gzip_job" 2>/dev/null; }
  # Once gzip's output stops growing, the stall has begun.
  local last=-1 same=0 size
  while [ "$same" -lt 5 ]; do
    size=$(stat -c %s "$gz" 2>/dev/null || echo 0)
    if [ "$size" -gt 0 ] && [ "$size" = "$last" ]; then same=$((same + 1)); else same=0; fi
    last=$size
    sleep 0.2
  done
  echo "  the .gz stalls at $size bytes"
  local state lines
  for _ in $(seq 10); do
    state=$(source_state "$gz")
    lines=$(lines_now)
    case "$state" in
      *read* | *done*) fail "an incomplete .gz ($size bytes) is in state $state, $lines lines counted" ;;
    esac
    [ "$lines" = 0 ] || fail "lines of an incomplete .gz were counted: $lines, state $state"
    sleep 0.3
  done
  echo "  while incomplete: state $state, 0 lines counted"
  wait "$gzip_job"
  # The daemon may wait for the size to be stable a while: a longer stall.
  want_deadline=120 want_stall=30 want_truth "the .gz once complete" 3
  state=$(source_state "$gz")
  case "$state" in
    read | done) echo "  state of the complete .gz: $state" ;;
    *) fail "the complete .gz is in state $state, not read" ;;
  esac
}

# copytruncate, 30 times, each time refilled at once to at least the old
# size (so the size alone does not show the truncation), with 20 lines
# appended just before each copy that only the copy may still hold.  Every
# line written counts once (was 29,971 of 91,000).
check_copytruncate() {
  gen 43000 110
  part 1 1000 >"$tmp/access.log"
  write_config "$tmp/c.yaml" "sources:" "  - path: $tmp/access.log"
  start_daemon "$tmp/c.yaml"
  want_lines 1000 "access.log read" 0.5
  used=$(perl -MTime::HiRes=sleep -e '
    my ($log, $all, $cycles) = @ARGV;
    open my $in, "<", $all or die; my @l = <$in>; close $in;
    my $i = 1000;
    sub take { my $n = shift; die "out of lines\n" if $i + $n > @l; my $s = join "", @l[$i .. $i + $n - 1]; $i += $n; $s }
    sub append { open my $f, ">>", $log or die; print $f $_[0]; close $f or die }
    for my $c (1 .. $cycles) {
      append(take(20));
      unlink "$log.2"; rename "$log.1", "$log.2" if -e "$log.1";
      open my $src, "<", $log or die; local $/; my $copy = <$src>; close $src;
      open my $dst, ">", "$log.1" or die; print $dst $copy; close $dst or die;
      my $old = length $copy;
      my $fill = "";
      $fill .= take(1) while length $fill <= $old;
      open my $f, "+<", $log or die; truncate $f, 0 or die; syswrite $f, $fill or die; close $f;
      sleep 0.2 + rand 0.2;
    }
    append(join "", @l[$i .. $#l]);
    print scalar @l, "\n";
  ' "$tmp/access.log" "$tmp/all.log" 30)
  echo "  30 copytruncate cycles written ($used lines in all)"
  want_deadline=60 want_truth "30 copytruncates refilled past the old size" 3
  echo "  truncations seen: $(api /v1/sources | jq -c --arg p "$tmp/access.log" \
    '[.sources[] | select(.path == $p) | .truncations]')"
}

run_checks glob_rotation respelled rename_back symlink_switch reload_format reload_readd \
  two_rotations late_writer gz_growing copytruncate -- "$@"
