#!/usr/bin/env bash
# Runs every test: installs what is missing, builds with warnings as
# errors, runs the Check suites and the end-to-end tests (CTest), then the
# whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
# then every fuzz target for a fixed time (fuzz/run.sh).  The boot test
# (tests/e2e_systemd_boot.sh: the Debian package on Debian 12 booted with
# systemd) runs in the first stage only: it builds its own package, so the
# sanitizer build does not register it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== Release build, all tests"
scripts/build.sh build -DLT_WERROR=ON
(cd build && ctest --output-on-failure -j 2)

echo "== ASan + UBSan build, all tests"
scripts/build.sh build-asan -DLT_WERROR=ON -DLT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 2)

echo "== Fuzz targets, a fixed time each"
fuzz/run.sh
