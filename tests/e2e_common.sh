# e2e_common.sh -- sourced by the end-to-end scripts that run logtallyd:
# a temporary directory $tmp, removed on exit with the daemon whose pid is
# in $pid (killed); fail() says why, and shows the daemon's last messages
# when it wrote any to $tmp/daemon.err.
tmp=$(mktemp -d)
pid=
e2e_cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap e2e_cleanup EXIT
fail() {
  echo "FAIL: $*"
  [ -s "$tmp/daemon.err" ] && tail -20 "$tmp/daemon.err" | sed 's/^/  daemon: /'
  exit 1
}
