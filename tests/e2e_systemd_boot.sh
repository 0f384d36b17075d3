#!/usr/bin/env bash
# e2e_systemd_boot.sh SOURCE_DIR
# logtally as a new user meets it: the Debian package installed on a
# minimal Debian 12 system booted with systemd 252 as PID 1.
#
#   1. scripts/deb.sh builds the package from SOURCE_DIR; lintian must
#      report no error; a copy with a higher version (same contents,
#      repacked with dpkg-deb) stands in for the next release.
#   2. A Debian 12 tree (`debootstrap --variant=minbase`, with systemd and
#      the package's dependencies, and nothing else: no procps, so no
#      /bin/kill) is made once and cached in $LT_BOOT_CACHE (default
#      /var/cache/logtally-test/debian12), outside the clone, so fresh
#      clones on the same machine reuse it; it is made again when the
#      package's dependencies change.  Each run boots a copy.
#   3. The copy is booted with
#        systemd-nspawn -q -b -D ROOT --console=pipe --register=no --keep-unit
#      and a oneshot unit runs tests/e2e_systemd_boot_inside.sh once the
#      system is up.  It installs the package, checks (its header lists
#      what), writes one line per check to /lt-out/results (a directory
#      of this host, bound into the container) and powers the system off.
#   4. This script prints the results and fails unless the inside script
#      reached its end with every check passed.
#
# Everything is bounded in time: debootstrap 240 s, the boot 240 s, each
# command inside 30 s or less.  From a cold cache it takes about
# 2 minutes, warm about 1.
#
# Exit 77 (skipped) with a plain message when it cannot run: not root, a
# tool missing (scripts/deps.sh installs them), systemd-nspawn not
# permitted to boot a system here (an unprivileged container), or the
# tree must be made and Debian's archive is not reachable.
set -euo pipefail
src=$(cd "$1" && pwd)
cache=${LT_BOOT_CACHE:-/var/cache/logtally-test/debian12}
mirror=${LT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "systemd-nspawn and debootstrap need root"
for tool in debootstrap:debootstrap systemd-nspawn:systemd-container dpkg-buildpackage:dpkg-dev \
            dh:debhelper lintian:lintian flock:util-linux curl:curl; do
  command -v "${tool%%:*}" >/dev/null ||
    skip "${tool%%:*} is missing (Debian package ${tool##*:}; scripts/deps.sh installs it)"
done

tmp=$(mktemp -d /var/tmp/logtally-boot.XXXXXX)
nspawn_pid=
cleanup() {
  [ -n "$nspawn_pid" ] && kill -9 "$nspawn_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/out/diag "$tmp"/console.log; do
    [ -s "$f" ] && { echo "--- $(basename "$f") (last 60 lines)"; tail -60 "$f"; }
  done
  exit 1
}
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started)) s"; }

echo "1. the package"
deb=$(timeout 300 "$src/scripts/deb.sh" "$tmp/deb") || fail "scripts/deb.sh could not build the package"
echo "  built $(basename "$deb") ($(elapsed))"
timeout 120 lintian --fail-on error "$deb" >"$tmp/lintian.out" 2>&1 ||
  { cat "$tmp/lintian.out"; fail "lintian reports errors on $(basename "$deb")"; }
echo "  lintian: no error, $(grep -cE '^[WIPX]: ' "$tmp/lintian.out" || true) other tags"
grep -E '^[WIPX]: ' "$tmp/lintian.out" | sed 's/^/    /' || true
version=$(dpkg-deb -f "$deb" Version)
mkdir "$tmp/up"
dpkg-deb -R "$deb" "$tmp/up/pkg"
sed -i "s/^Version: .*/Version: $version+boot1/" "$tmp/up/pkg/DEBIAN/control"
dpkg-deb -b --root-owner-group "$tmp/up/pkg" "$tmp/up/logtally-up.deb" >/dev/null
echo "  and $version+boot1, the same contents, for the upgrade"
# The tree needs the package's dependencies (first alternatives, without
# versions), so that dpkg -i works without the network.
# systemd is in the list anyway: it is the system booted.
depends=$({ echo systemd; dpkg-deb -f "$deb" Depends | tr ',' '\n'; } |
  sed -E 's/\|.*//; s/\(.*\)//; s/ //g' | sed '/^$/d' | sort -u | paste -sd, -)

echo "2. a Debian 12 tree with systemd (cache: $cache)"
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock -w 300 9 || fail "the cache $cache stayed locked for 300 s"
recipe="debootstrap --variant=minbase --include=$depends $suite"
if [ ! -f "$cache/.logtally-recipe" ] || [ "$(cat "$cache/.logtally-recipe")" != "$recipe" ]; then
  timeout 20 curl -sfI "$mirror/dists/$suite/Release" >/dev/null ||
    skip "Debian's archive ($mirror) is not reachable, and the tree must be made"
  rm -rf "$cache.new" "$cache"
  echo "  making it: $recipe"
  if ! timeout 240 debootstrap --variant=minbase --include="$depends" "$suite" \
      "$cache.new" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log"
    rm -rf "$cache.new"
    fail "debootstrap failed"
  fi
  # No apt lists or downloaded packages in the cache: they are not needed.
  rm -rf "$cache.new"/var/cache/apt/archives/*.deb "$cache.new"/var/lib/apt/lists/*
  echo "$recipe" >"$cache.new/.logtally-recipe"
  mv "$cache.new" "$cache"
  echo "  made ($(elapsed))"
else
  echo "  cached"
fi
root=$tmp/root
cp -a --reflink=auto "$cache" "$root"
exec 9>&-
echo "  copied ($(elapsed))"

# What the container sees: /lt-in read-only (packages, the sample log, the
# inside script), /lt-out writable (results).
mkdir -p "$tmp/in" "$tmp/out"
cp "$deb" "$tmp/in/logtally.deb"
cp "$tmp/up/logtally-up.deb" "$tmp/in/logtally-up.deb"
cp "$src/sample/access.log" "$tmp/in/access.log"
cp "$src/tests/e2e_systemd_boot_inside.sh" "$tmp/in/inside.sh"
echo "$version" >"$tmp/in/version"
chmod -R a+rX "$tmp/in"
cat >"$root/etc/systemd/system/logtally-boot-test.service" <<'UNIT'
[Unit]
Description=logtally boot test (tests/e2e_systemd_boot_inside.sh)
After=multi-user.target
# Whatever happens, the container stops: the host reads the results then.
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=/bin/bash /lt-in/inside.sh
StandardOutput=append:/lt-out/inside.log
StandardError=append:/lt-out/inside.log
TimeoutStartSec=200

[Install]
WantedBy=multi-user.target
UNIT
ln -s ../logtally-boot-test.service "$root/etc/systemd/system/multi-user.target.wants/"

echo "3. booting it (systemd as PID 1)"
timeout -k 10 240 systemd-nspawn -q -b -D "$root" --console=pipe --register=no --keep-unit \
  --private-network --bind-ro="$tmp/in:/lt-in" --bind="$tmp/out:/lt-out" \
  </dev/null >"$tmp/console.log" 2>&1 &
nspawn_pid=$!
rc=0
wait "$nspawn_pid" || rc=$?
nspawn_pid=
echo "  the container stopped, status $rc ($(elapsed))"

echo "4. results"
if [ ! -s "$tmp/out/results" ] && grep -q 'Operation not permitted' "$tmp/console.log"; then
  # An unprivileged container, for one: nspawn cannot set up another.
  skip "systemd-nspawn cannot boot a system here: $(grep -m1 'Operation not permitted' "$tmp/console.log")"
fi
[ -s "$tmp/out/results" ] || fail "the inside script wrote no results (did the system boot?)"
sed 's/^/  /' "$tmp/out/results"
! grep -q '^FAIL' "$tmp/out/results" || fail "a check failed inside the booted system"
grep -q '^done$' "$tmp/out/results" || fail "the inside script did not reach its end"
[ "$rc" -eq 0 ] || fail "systemd-nspawn exited $rc"
echo "ok ($(elapsed))"
