#!/usr/bin/env bash
# detached.sh - culvertd without -f, as an init script or an administrator
# runs it, on a machine just booted (/run empty: no /run/culvert), both
# ends as `user = nobody`:
#   - the command returns once the daemon serves; a second start of the
#     same instance fails, with the reason on stderr and status 1;
#   - each instance makes /run/culvert/NAME itself, gives it to nobody,
#     and writes its pid file there;
#   - the detached daemons answer SIGHUP (reload) and SIGTERM: the
#     client's stop removes its policy rules, and each stop its pid file
#     and control socket;
#   - with the CA and password file made by culvertctl --group nogroup,
#     the unprivileged gateway reloads them: a revoked client is cut off,
#     without a warning about file modes;
#   - and the log goes to syslog, here a journald of the test's own.
# Topology: lab.sh; /run, /dev and the journal: journald.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/journald.sh
. "$(dirname "$0")/journald.sh"
jd_reexec "$@"
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || { echo "CULVERTCTL is not set: run this through make check" >&2; exit 99; }
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
	skip "no user nobody or group nogroup on this system"
jd_fresh_run
jd_start
lab_up
lab_forwarding on

# The instances are named after this test, so that runs at once do not
# meet in /run/culvert.
GW=cvt-$LAB_ID-gw U=cvt-$LAB_ID-u
GW_CONF=$LAB_TMP/$GW.conf U_CONF=$LAB_TMP/$U.conf
GW_RUN=/run/culvert/$GW U_RUN=/run/culvert/$U
OUT=$LAB_TMP/out
# The unprivileged daemons read the files below again on a reload.
chmod 711 "$LAB_TMP"

# ---- the files, made by the tools for a daemon that runs as nogroup
P=$LAB_TMP/pki
ctl() { "$CULVERTCTL" "$@" >"$OUT" 2>&1 || fail "culvertctl $*: $(cat "$OUT")"; }
ctl pki init "$P" --group nogroup
ctl pki server "$P" vpn.example.org --ip 192.0.2.1
ctl pki client "$P" alice
ctl pki crl "$P"
printf 'alice pw\n' | ctl passwd --group nogroup "$P/users" alice
printf 'alice pw\n' >"$LAB_TMP/alice.pass"
chgrp nogroup "$LAB_TMP/alice.pass" && chmod 640 "$LAB_TMP/alice.pass"
[[ $(stat -c '%U:%G %a' "$P") == "root:nogroup 750" ]] || fail "pki init --group: $P is $(stat -c '%U:%G %a' "$P")"
for f in vpn.example.org.key alice.key users; do
	[[ $(stat -c '%U:%G %a' "$P/$f") == "root:nogroup 640" ]] ||
		fail "$P/$f is $(stat -c '%U:%G %a' "$P/$f"), not root:nogroup 640"
done
[[ $(stat -c '%a' "$P/ca.key") == 600 ]] || fail "the CA's key is $(stat -c '%a' "$P/ca.key"), not 600"
ok "pki init --group and passwd --group: keys and password file root:nogroup 640, the CA's key 600"

LAB_PKI=$P
lab_server_conf "$GW_CONF" user=nobody group=nogroup auth=certificate+password \
	"password-file=$P/users" "cert=$P/vpn.example.org.crt" "key=$P/vpn.example.org.key" \
	"crl=$P/crl.pem"
lab_client_conf "$U_CONF" user=nobody username=alice "password-file=$LAB_TMP/alice.pass"

read_pid() {   # read_pid RUNDIR : PID = the pid in its pid file, checked
	PID=$(cat "$1/culvertd.pid" 2>/dev/null) || fail "no pid file $1/culvertd.pid"
	[[ $PID =~ ^[0-9]+$ && $(cat "/proc/$PID/comm" 2>/dev/null) == culvertd ]] ||
		fail "$1/culvertd.pid holds '$PID', which is no culvertd"
	lab_bg "$PID"
}
START=$LAB_TMP/start.out   # what a start printed
start() {   # start NS CONF : culvertd detached; returns its status
	in_ns "$1" timeout 30 "$CULVERTD" -c "$2" -v >"$START" 2>&1
}
stop() {   # stop PID NAME : SIGTERM; it must be gone within 10 s
	local i
	kill -TERM "$1"
	for ((i = 0; i < 100; i++)); do
		[[ -e /proc/$1 ]] || return 0
		sleep 0.1
	done
	fail "$2 (pid $1) is still running 10 s after SIGTERM"
}
as_nobody() {   # as_nobody PID NAME
	[[ $(awk '/^Uid:/ { print $2 }' "/proc/$1/status") == "$(id -u nobody)" ]] ||
		fail "$2 (pid $1) does not run as nobody"
}

# ---- the gateway, detached
start gw "$GW_CONF" || fail "culvertd -c $GW_CONF (detached) exited with $?: $(cat "$START")"
read_pid "$GW_RUN"
GW_PID=$PID
as_nobody "$GW_PID" gateway
[[ $(stat -c '%U:%G %a' /run/culvert) == "root:root 755" ]] ||
	fail "/run/culvert is $(stat -c '%U:%G %a' /run/culvert), not root:root 755"
[[ $(stat -c '%U:%G %a' "$GW_RUN") == "nobody:nogroup 750" ]] ||
	fail "$GW_RUN is $(stat -c '%U:%G %a' "$GW_RUN"), not nobody:nogroup 750"
[[ $(stat -c '%U:%G %a' "$GW_RUN/control.sock") == "root:nogroup 660" ]] ||
	fail "$GW_RUN/control.sock is $(stat -c '%U:%G %a' "$GW_RUN/control.sock" 2>&1)"
ctl -s "$GW_RUN/control.sock" status
ok "the detached gateway (pid $GW_PID, as nobody) made /run/culvert and $GW_RUN (nobody:nogroup 750) with its pid file and socket"
grep -q 'running as user nobody' "$START" || fail "the setup's log did not reach the terminal: $(cat "$START")"
jd_wait 5 "serving in the background as pid $GW_PID" _PID="$GW_PID" SYSLOG_IDENTIFIER=culvertd ||
	fail "the detached gateway's log is not in the journal (syslog): $(jd_journal -n 20)"
ok "the setup logs to the terminal, the detached daemon to syslog: $(jd_journal _PID="$GW_PID" -o cat | head -n 1)"

start gw "$GW_CONF" && fail "a second start of the running instance succeeded"
grep -q "another culvertd answers on $GW_RUN/control.sock" "$START" ||
	fail "a second start did not say why it failed: $(cat "$START")"
[[ $(cat "$GW_RUN/culvertd.pid") == "$GW_PID" ]] || fail "the second start replaced the pid file"
ok "a second start exits 1 with the reason on stderr: $(grep -o 'another culvertd.*' "$START")"

# ---- the client, detached: reload, and a stop while its tunnel is up
start u "$U_CONF" || fail "culvertd -c $U_CONF (detached) exited with $?: $(cat "$START")"
read_pid "$U_RUN"
U_PID=$PID
as_nobody "$U_PID" client
jd_wait 15 'tunnel up' _PID="$U_PID" || fail "the detached client logged no 'tunnel up': $(jd_journal _PID="$U_PID" -o cat)"
lab_ping 3
((LAB_PING_RECEIVED == 3)) || fail "ping through the detached daemons: $LAB_PING_RECEIVED of 3"
ok "the detached client (pid $U_PID) is up: ping U -> V"

kill -HUP "$U_PID"
jd_wait 5 'reloaded .*\.conf' _PID="$U_PID" || fail "the detached client did not reload on SIGHUP"
ok "SIGHUP reloads the detached client"

rules() { ip -n "$LAB_U" rule show | grep -c 'lookup 51821'; }
(($(rules) > 0)) || fail "the client installed no rule for table 51821"
stop "$U_PID" client
(($(rules) == 0)) || fail "the client's rules stayed after SIGTERM: $(ip -n "$LAB_U" rule show)"
[[ -e $U_RUN/culvertd.pid ]] && fail "the client left $U_RUN/culvertd.pid"
[[ -e $U_RUN/control.sock ]] && fail "the client left $U_RUN/control.sock"
jd_wait 5 'culvertd stopped' _PID="$U_PID" || fail "the client's last words are missing from the journal"
ok "SIGTERM stops the detached client: its rules, pid file and socket are gone"

# ---- a reload of the unprivileged gateway: the CRL and the password file
start u "$U_CONF" || fail "the client did not start again: $(cat "$START")"
read_pid "$U_RUN"
U_PID=$PID
jd_wait 15 'tunnel up' _PID="$U_PID" || fail "the client did not come up again"
ctl pki revoke "$P" alice
kill -HUP "$GW_PID"
jd_wait 5 'reloaded .*\.conf' _PID="$GW_PID" ||
	fail "the unprivileged gateway did not reload: $(jd_journal _PID="$GW_PID" -o cat | tail -n 5)"
jd_wait 15 'certificate refused: trying again cannot fix that' _PID="$U_PID" ||
	fail "revoked alice was not refused: $(jd_journal _PID="$U_PID" -o cat | tail -n 8)"
jd_journal _PID="$GW_PID" -o cat | grep -E 'revoked' >/dev/null ||
	fail "the gateway did not say alice is revoked"
jd_journal _PID="$GW_PID" -o cat | grep -E 'chmod|can be read|reload failed' &&
	fail "the gateway warned about its files, or failed a reload"
ok "as nobody, the gateway reloads the CRL and password file (root:nogroup 640): revoked alice is refused, no warning"

# ---- stopping the gateway
stop "$U_PID" client
stop "$GW_PID" gateway
[[ -e $GW_RUN/culvertd.pid || -e $GW_RUN/control.sock ]] &&
	fail "the gateway left $(ls "$GW_RUN")"
jd_wait 5 'Terminated: stopping' _PID="$GW_PID" || fail "the gateway did not log its SIGTERM"
ok "SIGTERM stops the detached gateway: pid file and socket removed"
exit 0
