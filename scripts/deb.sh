#!/usr/bin/env bash
# deb.sh [OUTDIR]: builds the Debian package logtally_VERSION_ARCH.deb from
# this working tree (committed or not) into OUTDIR (default build-deb/),
# with debian/ (dh, CMake), and prints its path.
#
# dpkg-buildpackage writes its results next to the source directory, so the
# tree is copied into a temporary directory first (without build*/ and
# .git) and the .deb copied out: nothing is written outside OUTDIR.  The
# package's version (debian/changelog) must be the project's (CMake): the
# binaries print the one, dpkg the other.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^project(logtally VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -S Version)
[ "${deb_version%%[-+~]*}" = "$version" ] || {
  echo "deb.sh: debian/changelog says $deb_version, CMakeLists.txt $version" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$work/logtally-$version
mkdir "$src"
tar -c --exclude='./build*' --exclude=./.git . | tar -x -C "$src"
# Build with at most two jobs: CI machines are small and shared.
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2 ${DEB_BUILD_OPTIONS:-}" \
  dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "deb.sh: dpkg-buildpackage failed (the log's end is above)" >&2
  exit 1
}
arch=$(dpkg --print-architecture)
deb=logtally_${deb_version}_${arch}.deb
cp "$work/$deb" "$out/"
echo "$out/$deb"
