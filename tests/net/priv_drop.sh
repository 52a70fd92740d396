#!/usr/bin/env bash
# priv_drop.sh - with `user = nobody`, both ends run as that user after
# setup with CAP_NET_ADMIN as their only capability, and the tunnel still
# works: a ping, and a second client that connects afterwards (a new
# session on the dropped gateway, a new address and routes on the dropped
# client). The gateway's control socket sits where it does by default,
# in the instance's own /run/culvert/NAME, which culvertd makes itself
# (also when /run/culvert does not exist) and gives to nobody, who can
# then remove the socket when the unprivileged gateway stops. It runs on
# an empty /run, as after a boot (journald.sh).
# Topology: lab.sh, hosts U and U2.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/journald.sh
. "$(dirname "$0")/journald.sh"
jd_reexec "$@"
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
getent passwd nobody >/dev/null || skip "no user 'nobody' on this system"
group=$(id -gn nobody)
jd_fresh_run
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
# The default socket, /run/culvert/NAME/control.sock for NAME.conf; the
# file is named after this test, so that tests running at once do not
# meet there.
GW_CONF=$LAB_TMP/cvt-$LAB_ID-gw.conf
run_dir=/run/culvert/cvt-$LAB_ID-gw
sock=$run_dir/control.sock
lab_server_conf "$GW_CONF" user=nobody "group=$group"
lab_client_conf "$LAB_TMP/u.conf" user=nobody
lab_client_conf "$LAB_TMP/u2.conf" user=nobody "cert=$P/bob.crt" "key=$P/bob.key"

# A capability set as /proc shows it: CAP_NET_ADMIN is bit 12.
NET_ADMIN_ONLY=0000000000001000
check_dropped() {   # check_dropped NAME
	local pid=${LAB_PID[$1]} uid cap
	uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
	cap=$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")
	[[ $uid == "$(id -u nobody) $(id -u nobody) $(id -u nobody) $(id -u nobody)" ]] ||
		fail "$1 (pid $pid) runs with uids '$uid', not nobody's"
	[[ $cap == "$NET_ADMIN_ONLY" ]] ||
		fail "$1 (pid $pid) has effective capabilities $cap, expected $NET_ADMIN_ONLY (CAP_NET_ADMIN only)"
	local bnd
	bnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status")
	(( (16#$bnd & ~16#$NET_ADMIN_ONLY) == 0 )) ||
		fail "$1 (pid $pid) could regain other capabilities: CapBnd $bnd"
	[[ $(awk '/^CapPrm:/ { print $2 }' "/proc/$pid/status") == "$NET_ADMIN_ONLY" ]] ||
		fail "$1 (pid $pid) keeps other permitted capabilities"
	ok "$1 runs as nobody with CAP_NET_ADMIN only (CapEff $cap)"
}

LAB_DEFAULT_SOCKET=1 lab_start gw gw "$GW_CONF"
lab_wait_log gw 'running as user nobody' 10 || fail "gateway did not drop to user nobody"
check_dropped gw
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client U did not come up"
check_dropped u
lab_ping 5 u || fail "no ping through the tunnel after the privilege drop"
ok "ping U -> V: $LAB_PING_RECEIVED of 5"

# A client that arrives after both dropped: a new session on the gateway,
# and on U2 an address and routes installed by an unprivileged daemon.
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u2 'tunnel up' 15 || fail "a client connecting after the drop did not come up"
check_dropped u2
lab_ping 5 u2 || fail "no ping from the client that connected after the drop"
ok "a client connecting after the drop works: $LAB_PING_RECEIVED of 5"

lab_stop u
in_ns u ip link show "$LAB_DEV" >/dev/null 2>&1 && fail "U's $LAB_DEV survived the stop of its unprivileged daemon"
ok "U's $LAB_DEV is gone after the unprivileged daemon stopped"

[[ -S $sock ]] || fail "the gateway's control socket $sock does not exist"
[[ $(stat -c '%U:%G %a' "$sock") == "root:$group 660" ]] ||
	fail "$sock is $(stat -c '%U:%G %a' "$sock"), not root:$group 660"
[[ $(stat -c '%U:%G %a' "$run_dir") == "nobody:$group 750" ]] ||
	fail "$run_dir is $(stat -c '%U:%G %a' "$run_dir"), not nobody:$group 750"
"$CULVERTCTL" -s "$sock" status >"$LAB_TMP/status.txt" 2>&1 ||
	fail "culvertctl status through $sock failed: $(cat "$LAB_TMP/status.txt")"
lab_stop u2
lab_stop gw
rc=$?
((rc == 0)) || fail "the unprivileged gateway exited with status $rc"
[[ -e $sock ]] && { rm -f "$sock"; rmdir "$run_dir"; fail "the unprivileged gateway left its control socket $sock behind"; }
# Empty; nobody may not remove it from root's /run/culvert.
rmdir "$run_dir" || fail "$run_dir is not empty: $(ls -A "$run_dir")"
ok "the unprivileged gateway removed its control socket from $run_dir when it stopped"
exit 0
