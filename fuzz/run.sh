#!/usr/bin/env bash
# Builds the fuzz targets in build-fuzz/ (clang, libFuzzer, ASan, UBSan) and
# runs each for SECONDS (default 25; eleven targets, so about 5 minutes
# plus the build), each on a temporary copy of its seed corpus so the
# committed corpus does not grow.  Exits non-zero when any target finds a
# crash, a leak, a timeout or a failed check, printing where the reproducer
# was kept.  Bugs already recorded in fuzz/crashes/ are stepped around
# (LT_FUZZ_SKIP_KNOWN=1, see README.md), so a run looks for new ones.
#
#   fuzz/run.sh [SECONDS] [TARGET...]       (targets: parse parse_diff config
#                                            hll_import json_string gz
#                                            snapshot http qtime jsonscan cut)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-25}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(parse parse_diff config hll_import json_string gz snapshot http qtime jsonscan cut)
export LT_FUZZ_SKIP_KNOWN=1

# Longest input each target is given: lines, a YAML file, a dense HLL blob
# plus slack, a string, a stream (runs expand it far beyond this), a
# snapshot (49,152 bytes of sketches plus the rest), requests.
declare -A max_len=([parse]=4096 [parse_diff]=2048 [config]=4096 [hll_import]=12400
                    [json_string]=1024 [gz]=16384 [snapshot]=65536 [http]=4096 [qtime]=64
                    [jsonscan]=2048 [cut]=512)

CC=clang cmake -S . -B build-fuzz -DLT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target fuzz -j "$(nproc)" >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kept=build-fuzz/artifacts
failed=()

for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "fuzz: unknown target $t" >&2; exit 2; }
  mkdir -p "$work/$t/corpus" "$work/$t/out"
  cp -r "fuzz/corpus/$t/." "$work/$t/corpus/"
  echo "== fuzz_$t: ${secs}s"
  if build-fuzz/fuzz/fuzz_"$t" "$work/$t/corpus" \
       -dict="fuzz/$t.dict" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
       -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/$t/out/" \
       >"$work/$t/log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' \
      "$work/$t/log" | tr '\n' ' '
    echo
  else
    tail -n 60 "$work/$t/log"
    mkdir -p "$kept/$t"
    cp "$work/$t/log" "$kept/$t/log"
    for a in "$work/$t/out/"*; do
      [ -e "$a" ] || continue
      cp "$a" "$kept/$t/"
      echo "fuzz_$t: reproducer $kept/$t/$(basename "$a")"
      echo "  rerun: build-fuzz/fuzz/fuzz_$t $kept/$t/$(basename "$a")"
    done
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (logs and reproducers in $kept/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs}s without a finding"
