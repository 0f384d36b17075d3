#!/usr/bin/env bash
# Configures and builds into build/ (Release), or into $1 with extra CMake
# arguments after it: scripts/build.sh build-asan -DLT_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
