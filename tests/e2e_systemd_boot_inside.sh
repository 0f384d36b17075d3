#!/bin/bash
# e2e_systemd_boot_inside.sh -- run by tests/e2e_systemd_boot.sh inside the
# booted Debian 12 system (as root, from a oneshot unit, systemd as PID 1).
# /lt-in holds the package (logtally.deb), its next version
# (logtally-up.deb), the sample log and the expected version; each check
# appends "ok: ..." or "FAIL: ..." to /lt-out/results, the first failure
# stops the script (with the unit's status and journal in /lt-out/diag),
# and "done" is written last.  In order:
#
#   install   dpkg -i: the user logtally created by the postinst, the unit
#             and the socket enabled and started, the conffile, binaries,
#             man pages, completion, --version; there is no /bin/kill.
#   start     `systemctl enable --now logtallyd` on a configuration that
#             follows /var/log/apache2/access.log (root:adm 0640) returns
#             with the service active and the API answering; `systemctl
#             status` shows "Following: 3,000 lines, 2,982 valid".
#   access    alice (group logtally) runs `logtally summary`: exit 0; bob
#             gets exit 4 and a message naming the socket and the group.
#   reload    a valid new configuration (a second log) takes effect through
#             `systemctl reload`; a broken one makes it fail with
#             file:line:col in `systemctl status`, and the old
#             configuration stays (the second log is still followed).
#   journal   `journalctl -u logtallyd -p warning` has the warning about an
#             unreadable log at priority 4, and no info lines.
#   hardening the daemon has adm as a supplementary group (its user is not
#             in adm), no capabilities, no new privileges, a seccomp
#             filter; in its mount namespace, as its user, writing a
#             world-writable directory fails (read-only file system) while
#             its state directory is writable.
#   watchdog  WatchdogSec=3s in a drop-in: a SIGSTOPped daemon is killed
#             and restarted by systemd; counts resume exactly.
#   kill -9   restarted by Restart=on-failure; a client that connects while
#             it is down is answered; counts exact.
#   activate  `systemctl stop logtallyd.service`: the socket file stays
#             (systemd's), and a client connecting starts the daemon and is
#             answered; clients during `systemctl restart` are all answered.
#   stop      stopping socket and service removes the socket and keeps the
#             checkpoint; the next start resumes from it exactly.
#   upgrade   dpkg -i of the next version: no question asked, the changed
#             conffile kept, the daemon restarted, counts exact.
#   purge     dpkg --purge: units stopped and gone, /etc/logtally,
#             /var/lib/logtally and the socket gone.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
out=/lt-out/results
sock=/run/logtally/logtally.sock
conf=/etc/logtally/logtally.yaml
apache=/var/log/apache2/access.log
nginx=/var/log/nginx/access.log
: >"$out"

diag() {
  {
    echo "--- systemctl status"
    systemctl status --no-pager -l -n 40 logtallyd.service logtallyd.socket
    echo "--- journal of this boot"
    journalctl -b --no-pager -n 120
  } >/lt-out/diag 2>&1
}
fail() { echo "FAIL: $*" >>"$out"; diag; exit 1; }
ok() { echo "ok: $*" >>"$out"; }
t() { timeout 30 "$@"; }

# lines: what the daemon reports as lines read (root may use the socket).
lines() { t logtally summary 2>/dev/null | awk '/^Lines/ {gsub(",", "", $2); print $2}'; }
# counts_are N: the daemon reaches exactly N lines within 15 s and stays
# there for 1.5 s (a line counted twice would show up as more).
counts_are() {
  local n=""
  for _ in $(seq 150); do
    n=$(lines)
    [ "$n" = "$1" ] && break
    sleep 0.1
  done
  [ "$n" = "$1" ] || fail "$2: the daemon counts ${n:-no} lines (or does not answer), not $1"
  sleep 1.5
  n=$(lines)
  [ "$n" = "$1" ] || fail "$2: the daemon counted $1 lines, then $n"
}
prop() { systemctl show -p "$1" --value logtallyd.service; }
# active_again OLD_PID: the service is active with another main process
# within 25 s.
active_again() {
  local p
  for _ in $(seq 250); do
    p=$(prop MainPID)
    [ "$(prop ActiveState)" = active ] && [ "$p" != 0 ] && [ "$p" != "$1" ] && return 0
    sleep 0.1
  done
  fail "$2: the service is not active again with a new process within 25 s"
}
append() { head -n "$2" /lt-in/access.log >>"$1"; }
# The second log starts with other lines than the first: a file that
# starts with the same bytes as a known one is taken for a copy of it.
append_other() { tail -n "$2" /lt-in/access.log >>"$1"; }

# --- install -----------------------------------------------------------------
[ ! -e /bin/kill ] && [ ! -e /usr/bin/kill ] || fail "this system has a kill(1); the test wants none"
ok "no /bin/kill on this system (procps is not installed)"
export DEBIAN_FRONTEND=noninteractive
t dpkg -i /lt-in/logtally.deb </dev/null >/lt-out/dpkg-install.log 2>&1 ||
  fail "dpkg -i logtally.deb: $(tail -3 /lt-out/dpkg-install.log)"
getent passwd logtally >/dev/null || fail "the postinst did not create the user logtally"
for u in logtallyd.service logtallyd.socket; do
  [ "$(systemctl is-enabled $u)" = enabled ] || fail "$u is not enabled after install"
  [ "$(systemctl is-active $u)" = active ] || fail "$u is not active after install"
done
[ "$(stat -c '%A %U %G' $sock)" = "srw-rw---- logtally logtally" ] ||
  fail "the socket is $(stat -c '%A %U %G' $sock), not srw-rw---- logtally logtally"
dpkg-query -W -f='${Conffiles}\n' logtally | grep -q "^ $conf " || fail "$conf is not a conffile"
for f in /usr/bin/logtally /usr/sbin/logtallyd /usr/share/man/man1/logtally.1.gz \
         /usr/share/man/man5/logtally.yaml.5.gz /usr/share/man/man8/logtallyd.8.gz \
         /usr/share/bash-completion/completions/logtally /usr/lib/sysusers.d/logtally.conf; do
  [ -e "$f" ] || fail "the package did not install $f"
done
want=$(cat /lt-in/version)
[ "$(logtally --version | head -n1)" = "logtally $want" ] || fail "logtally --version: $(logtally --version)"
logtallyd --version | grep -q '^features: +systemd' || fail "logtallyd --version: $(logtallyd --version)"
ok "dpkg -i: user logtally, units enabled and active, socket srw-rw---- logtally logtally, conffile, $(logtallyd --version | head -n1)"

# --- start -------------------------------------------------------------------
install -d -o root -g adm -m 0750 /var/log/apache2 /var/log/nginx
install -o root -g adm -m 0640 /lt-in/access.log $apache
install -o root -g adm -m 0640 /dev/null $nginx
install -d -m 0700 /var/log/secret
install -m 0600 /dev/null /var/log/secret/access.log
cat >$conf <<YAML
# changed by the boot test: the upgrade must keep it
socket: $sock
state_dir: /var/lib/logtally
checkpoint_interval: 1s
sources:
  - path: $apache
    format: combined
  - path: /var/log/secret/access.log
    format: combined
YAML
cp $conf /lt-out/good.yaml
t systemctl disable --now logtallyd.service logtallyd.socket >/dev/null 2>&1 || fail "systemctl disable --now"
[ ! -e $sock ] || fail "the socket is still there after disable --now"
t systemctl enable --now logtallyd.service >/dev/null 2>&1 || fail "systemctl enable --now logtallyd failed"
state=$(prop ActiveState)/$(prop SubState)
[ "$state" = active/running ] || fail "systemctl enable --now returned with the service $state"
t logtally summary >/dev/null || fail "the API does not answer right after systemctl enable --now returned"
[ "$(prop Type)" = notify ] || fail "the service is Type=$(prop Type), not notify"
[ "$(systemctl is-enabled logtallyd.socket)" = enabled ] || fail "enable logtallyd did not enable the socket"
ok "systemctl enable --now logtallyd returned with the service active/running (Type=notify) and the API answering"
status=""
for _ in $(seq 150); do
  status=$(prop StatusText)
  [ "$status" = "Following: 3,000 lines, 2,982 valid" ] && break
  sleep 0.1
done
[ "$status" = "Following: 3,000 lines, 2,982 valid" ] || fail "StatusText is '$status'"
systemctl status --no-pager logtallyd | grep -q 'Status: "Following: 3,000 lines, 2,982 valid"' ||
  fail "systemctl status does not show the progress"
ok "systemctl status: Status: \"$status\" (the log is root:adm 0640)"
# Nice=-10 for the loop; the pool threads that read the logs lower
# themselves to 0.
pid=$(prop MainPID)
loop_nice=$(awk '{ print $19 }' "/proc/$pid/stat")
pool=$(cat /proc/"$pid"/task/*/stat | awk '$19 == 0' | wc -l)
[ "$loop_nice" = -10 ] && [ "$pool" -ge 1 ] ||
  fail "the loop runs at nice $loop_nice, not -10, and $pool threads at nice 0"
ok "the loop at nice -10, $pool pool threads at nice 0"

# --- access ------------------------------------------------------------------
useradd -M -G logtally alice
useradd -M bob
got=$(t runuser -u alice -- logtally summary 2>&1) || fail "alice (group logtally): logtally summary failed: $got"
echo "$got" | grep -q '^Lines  *3,000 ' || fail "alice got: $got"
rc=0
got=$(t runuser -u bob -- logtally summary 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "bob: logtally summary exited $rc, not 4: $got"
echo "$got" | grep -q "$sock" && echo "$got" | grep -q "group 'logtally'" ||
  fail "bob's message does not name the socket and the group: $got"
ok "alice (group logtally): exit 0; bob: exit 4, \"$got\""

# --- reload ------------------------------------------------------------------
append_other $nginx 100
cat >>$conf <<YAML
  - path: $nginx
    format: nginx
YAML
t systemctl reload logtallyd 2>/lt-out/reload.err || fail "systemctl reload (valid): $(cat /lt-out/reload.err)"
counts_are 3100 "after a valid reload"
ok "systemctl reload with a second log: 3,100 lines"
cp $conf /lt-out/good.yaml
pid=$(prop MainPID)
echo "no_such_key: 1" >>$conf
bad_line=$(wc -l <$conf)
if t systemctl reload logtallyd 2>/lt-out/reload.err; then fail "systemctl reload succeeded on a broken configuration"; fi
systemctl status --no-pager -l -n 20 logtallyd >/lt-out/status.txt 2>&1
grep -q "$conf:$bad_line:1: unknown key 'no_such_key'" /lt-out/status.txt ||
  fail "systemctl status does not show $conf:$bad_line:1"
[ "$(prop MainPID)" = "$pid" ] && [ "$(prop ActiveState)" = active ] ||
  fail "the daemon did not survive the refused reload"
append_other $nginx 10
counts_are 3110 "after a refused reload (the old configuration follows the second log)"
ok "systemctl reload with a broken file fails, status shows \"$(grep -o "$conf:$bad_line:1: unknown key '[a-z_]*'" /lt-out/status.txt | head -n1)\", the old configuration stays"
cp /lt-out/good.yaml $conf

# --- journal -----------------------------------------------------------------
warn=$(journalctl -u logtallyd -p warning..warning --no-pager -o cat)
echo "$warn" | grep -q '/var/log/secret/access.log: .*Permission denied' ||
  fail "no warning about the unreadable log at priority 4: $warn"
! journalctl -u logtallyd -p warning --no-pager -o cat | grep -q 'listening on' ||
  fail "an info line ('listening on') is logged at warning or above"
journalctl -u logtallyd -p info..info --no-pager -o cat | grep -q 'listening on' ||
  fail "'listening on' is not in the journal at priority 6"
ok "journalctl -u logtallyd -p warning: \"$(echo "$warn" | grep -m1 'secret')\" at priority 4, info lines at 6"

# --- hardening ---------------------------------------------------------------
pid=$(prop MainPID)
adm=$(getent group adm | cut -d: -f3)
grep -qE "^Groups:.*\b$adm\b" /proc/$pid/status || fail "the daemon is not in the group adm ($adm)"
! id -nG logtally | grep -qw adm || fail "the user logtally is in adm itself"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status || fail "NoNewPrivs is not set"
grep -q '^CapEff:[[:space:]]*0000000000000000' /proc/$pid/status || fail "the daemon has capabilities"
grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status || fail "no seccomp filter"
install -d -m 1777 /srv/open
as_daemon() { t nsenter -t "$pid" -m setpriv --reuid logtally --regid logtally --clear-groups "$@"; }
t setpriv --reuid logtally --regid logtally --clear-groups touch /srv/open/outside ||
  fail "control: the user logtally cannot write /srv/open outside the service"
if err=$(as_daemon touch /srv/open/probe 2>&1); then fail "the daemon can write /srv/open (world-writable)"; fi
echo "$err" | grep -q 'Read-only file system' || fail "writing /srv/open failed, but not as read-only: $err"
as_daemon touch /var/lib/logtally/probe || fail "the daemon cannot write its state directory"
rm -f /var/lib/logtally/probe
ok "hardening: groups adm (not the user's), no capabilities, NoNewPrivs, seccomp; in its namespace: \"$err\", /var/lib/logtally writable"
ok "$(systemd-analyze security --no-pager logtallyd.service 2>/dev/null | grep -o 'Overall exposure level.*' || echo 'systemd-analyze security: no answer')"

# --- watchdog ----------------------------------------------------------------
mkdir -p /etc/systemd/system/logtallyd.service.d
printf '[Service]\nWatchdogSec=3s\n' >/etc/systemd/system/logtallyd.service.d/watchdog.conf
systemctl daemon-reload
t systemctl restart logtallyd || fail "restart with WatchdogSec=3s"
[ "$(prop WatchdogUSec)" = 3s ] || fail "WatchdogUSec is $(prop WatchdogUSec)"
append $apache 50
counts_are 3160 "before SIGSTOP"
sleep 1.2    # a checkpoint (every second) holds the 3,160 lines
pid=$(prop MainPID)
restarts=$(prop NRestarts)
kill -STOP "$pid"
append $apache 20
active_again "$pid" "after SIGSTOP with WatchdogSec=3s"
[ "$(prop NRestarts)" -gt "$restarts" ] || fail "NRestarts did not grow: not restarted by Restart="
journalctl -u logtallyd --no-pager -o cat | grep -q 'Watchdog timeout' || fail "no 'Watchdog timeout' in the journal"
counts_are 3180 "after the watchdog restart"
rm /etc/systemd/system/logtallyd.service.d/watchdog.conf
systemctl daemon-reload
ok "watchdog: SIGSTOPped daemon killed (Watchdog timeout) and restarted, 3,180 lines exactly"

# --- kill -9 -----------------------------------------------------------------
append $apache 30
counts_are 3210 "before kill -9"
sleep 1.2
pid=$(prop MainPID)
t systemctl kill -s KILL logtallyd
append $apache 40
# The daemon is down for RestartSec=2s: this client waits in the socket's
# backlog and is answered by the next one.
got=$(t logtally summary 2>&1) || fail "a client connecting after kill -9 was not answered: $got"
active_again "$pid" "after kill -9"
counts_are 3250 "after kill -9"
ok "kill -9: restarted, a client connecting meanwhile answered, 3,250 lines exactly"

# --- socket activation -------------------------------------------------------
t systemctl stop logtallyd.service 2>/dev/null || fail "systemctl stop logtallyd.service"
[ "$(prop ActiveState)" = inactive ] || fail "the service is $(prop ActiveState) after stop"
[ -S $sock ] || fail "stopping the service removed the socket (it is logtallyd.socket's)"
[ "$(systemctl is-active logtallyd.socket)" = active ] || fail "the socket unit stopped with the service"
got=$(t logtally summary 2>&1) || fail "a client of the stopped service was not answered: $got"
echo "$got" | grep -q '^Lines  *3,250 ' || fail "the reactivated daemon answered: $got"
[ "$(prop ActiveState)" = active ] || fail "the connection did not start the service"
ok "stop logtallyd.service: socket kept; a client connecting started the daemon and got 3,250 lines"
: >/lt-out/clients.rc
(
  for i in $(seq 400); do
    [ -e /lt-out/clients.stop ] && break
    t logtally summary >/dev/null 2>>/lt-out/clients.err
    echo $? >>/lt-out/clients.rc
  done
) &
loop=$!
sleep 0.3
for _ in 1 2 3; do t systemctl restart logtallyd || fail "systemctl restart"; done
sleep 0.3
touch /lt-out/clients.stop
wait $loop
n=$(grep -c . /lt-out/clients.rc)
bad=$(grep -vc '^0$' /lt-out/clients.rc)
[ "$n" -ge 5 ] || fail "only $n clients ran during the restarts"
[ "$bad" = 0 ] || fail "$bad of $n clients failed during systemctl restart: $(sort -u /lt-out/clients.err | head -3)"
ok "3 x systemctl restart while clients query: all $n answered"
# Six starts in ten seconds by now: more than StartLimitBurst= (5) allows
# for the start below.  An operator who restarts this often needs the same.
systemctl reset-failed logtallyd.service logtallyd.socket

# --- stop --------------------------------------------------------------------
t systemctl stop logtallyd.socket logtallyd.service || fail "systemctl stop logtallyd.socket logtallyd.service"
[ ! -e $sock ] || fail "the socket is still there after stopping socket and service"
[ -s /var/lib/logtally/logtally.state ] || fail "the checkpoint is gone after stop"
rc=0
t logtally summary >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "logtally summary exited $rc, not 3 (not running), after stop"
t systemctl start logtallyd || fail "systemctl start logtallyd after stop"
[ -S $sock ] || fail "systemctl start logtallyd did not bring the socket back"
counts_are 3250 "after stop and start"
ok "stop: socket gone, checkpoint kept, client exit 3; start: resumed, 3,250 lines"

# --- upgrade -----------------------------------------------------------------
pid=$(prop MainPID)
t dpkg -i /lt-in/logtally-up.deb </dev/null >/lt-out/dpkg-upgrade.log 2>&1 ||
  fail "dpkg -i logtally-up.deb: $(tail -3 /lt-out/dpkg-upgrade.log)"
! grep -q "Configuration file '$conf'" /lt-out/dpkg-upgrade.log || fail "the upgrade asked about $conf"
cmp -s $conf /lt-out/good.yaml || fail "the upgrade did not keep the changed $conf"
[ "$(dpkg-query -W -f='${Version}' logtally)" = "$want+boot1" ] || fail "the version after the upgrade is $(dpkg-query -W -f='${Version}' logtally)"
active_again "$pid" "after the upgrade"
counts_are 3250 "after the upgrade"
ok "upgrade to $want+boot1: no question, changed conffile kept, daemon restarted, 3,250 lines"

# --- purge -------------------------------------------------------------------
t dpkg --purge logtally </dev/null >/lt-out/dpkg-purge.log 2>&1 || fail "dpkg --purge: $(tail -3 /lt-out/dpkg-purge.log)"
for u in logtallyd.service logtallyd.socket; do
  [ "$(systemctl is-active $u)" != active ] || fail "$u is still active after purge"
done
left=$(ls -d /etc/logtally /var/lib/logtally $sock /usr/sbin/logtallyd /lib/systemd/system/logtallyd.* \
  $(find /etc/systemd -name 'logtallyd*') 2>/dev/null)
[ -z "$left" ] || fail "left after purge: $left"
grep -qx logtallyd /proc/[0-9]*/comm 2>/dev/null && fail "a logtallyd process is left after purge"
dpkg-query -W -f='${Status}' logtally 2>/dev/null | grep -qx 'install ok installed' && fail "dpkg still lists logtally as installed"
ok "purge: units stopped, no /etc/logtally, /var/lib/logtally, socket, binary or unit links left"

echo done >>"$out"
