#!/usr/bin/env bash
# faults.sh - what each fault costs a TCP connection through the tunnel
# (issue 23): a stream from V to U's inner address (tests/net/
# tcp_stream.py, 512 KiB/s), the fault, then whether the connection
# lived (the same socket, its bytes counting again) and for how long no
# byte arrived. Faults: the gateway killed (SIGKILL) and started again
# 2 s later; U's link down 5, 30 and 120 s; U's culvertd killed and
# started again at once. The lab of tests/net/lab.sh with its defaults
# (keepalive 10, 60). Root; not part of make check; about 12 minutes.
#
#   sudo bench/faults.sh
#   sudo FAULTS_TRANSPORTS=dtls FAULTS_LINK="5 30" bench/faults.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
# shellcheck source=bench/lab_env.sh
. "$(dirname "$0")/lab_env.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$TOP/tests/net/fault_lib.sh"

FAULTS_TRANSPORTS=${FAULTS_TRANSPORTS:-dtls tls udp}
FAULTS_LINK=${FAULTS_LINK:-5 30 120}
lab_require
lab_require_tls dtls
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"

n=0
up() {   # up T : a gateway and U over T, a stream from V to U
	local t=$1
	n=$((n + 1))
	GW=gw$n U=u$n
	fault_configs "$t"
	fault_start "$GW" "$U" "$t"
	fault_stream_start
	sleep 2
}
start_u() {
	lab_start "$U" u "$LAB_TMP/u.conf"
	lab_wait_log "$U" 'tunnel up' 20 || fail "U did not come up"
}
down() {
	fault_stream_stop
	lab_stop "$U" 5
	lab_stop "$GW" 5
}
# The stream after a fault that ended at T_END: "yes STALL" or "no WHY".
outcome() {
	local stall
	if fault_stream_grows 200; then
		stall=$(awk -v a="$(fault_now)" -v b="$T_END" -v r="$FAULT_RESUMED" 'BEGIN { printf "%.1f", a - b }')
		echo "yes $stall"
	else
		echo "no $(fault_stream_state)"
	fi
}
row() { printf '%-26s %-5s %-9s %s\n' "$1" "$2" "$3" "$4"; }

row fault transport survived "stalled s after the fault (tunnel back s)"
for t in $FAULTS_TRANSPORTS; do
	up "$t"
	ups=$(fault_count "$U" 'tunnel up')
	fault_kill "$GW"
	sleep 2
	n=$((n + 1)); GW=gw$n
	lab_start "$GW" gw "$LAB_TMP/gw.conf"
	lab_wait_log "$GW" "$t: listening" 10 || fail "$t: the gateway did not start again"
	T_END=$(fault_now)
	fault_wait_count "$U" 'tunnel up' $((ups + 1)) 120 && back=$(awk -v a="$FAULT_AT" -v b="$T_END" 'BEGIN { printf "%.1f", a - b }') || back=-
	read -r ok stall <<<"$(outcome)"
	row "gateway SIGKILL, 2 s" "$t" "$ok" "$stall ($back)"
	down

	[[ $t == udp ]] && continue
	for secs in $FAULTS_LINK; do
		up "$t"
		ups=$(fault_count "$U" 'tunnel up')
		in_ns u ip link set u0 down
		sleep "$secs"
		in_ns u ip link set u0 up
		T_END=$(fault_now)
		# a session that lived through the outage logs no new tunnel up
		if fault_wait_count "$U" 'tunnel up' $((ups + 1)) 3; then
			back=$(awk -v a="$FAULT_AT" -v b="$T_END" 'BEGIN { printf "%.1f", a - b }')
		else
			back="same session"
		fi
		read -r ok stall <<<"$(outcome)"
		row "U's link down ${secs} s" "$t" "$ok" "$stall ($back)"
		down
	done

	up "$t"
	fault_kill "$U"
	n=$((n + 1)); U=u$n
	start_u
	T_END=$(fault_now)
	read -r ok stall <<<"$(outcome)"
	row "client SIGKILL, restarted" "$t" "$ok" "$stall (-)"
	down
done
