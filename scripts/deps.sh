#!/usr/bin/env bash
# Installs the Debian 12 packages logtally needs to build and test, when any
# is missing.  Runs apt-get as root, or through sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libxxhash-dev        # hashing for the tables
  check                # unit tests
  libyaml-dev libuv1-dev libhttp-parser-dev zlib1g-dev libsystemd-dev  # the daemon
  jq gawk curl         # end-to-end tests read JSON, compute truths, talk HTTP
  python3              # ... and read snapshots' and checkpoints' binary sections
  redis-server         # the HyperLogLog is checked against a real Redis
  logrotate            # tests/e2e_logrotate.sh rotates with the real one
  systemd groff-base man-db  # systemd-analyze verify, the unit's install dir, man pages
  clang libclang-rt-14-dev   # fuzz/run.sh: libFuzzer, ASan, UBSan
  bash-completion      # the completion's install dir (bash-completion.pc)
  debhelper dpkg-dev lintian      # scripts/deb.sh: the Debian package, checked
  debootstrap debian-archive-keyring systemd-container  # tests/e2e_systemd_boot.sh
  libjansson-dev       # fuzz/fuzz_jsonscan.c holds the JSON field scanner to jansson
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
