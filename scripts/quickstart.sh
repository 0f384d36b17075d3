#!/usr/bin/env bash
# Quick start: install what is missing, build, and analyse the bundled
# sample log (sample/access.log, made by tools/loggen).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
echo
echo "$ build/cli/logtally analyze sample/access.log"
build/cli/logtally analyze sample/access.log
