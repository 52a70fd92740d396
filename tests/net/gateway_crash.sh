#!/usr/bin/env bash
# gateway_crash.sh - the gateway is killed (SIGKILL: no bye, no state
# written), over dtls, then over udp:
#   - a forged stateless reset (the gateway's address and port, a wrong
#     token) ends nothing;
#   - killed and started again 2 s later: the client is back within 3 s
#     of the restart (the restarted gateway answers the client's probes
#     with a stateless reset carrying the token of its session, or the
#     client's ICMP-prompted new session beside the dead one is
#     welcomed), with the inner address it had and one session on the
#     gateway, and a TCP stream from V to the client through the tunnel
#     is still the same connection afterwards, its bytes counting on;
#   - killed and started again at once: back on a stateless reset.
# Topology: lab.sh. About 35 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

BOUND=3   # seconds from the restart to the client's tunnel up

lab_require
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 not found (the TCP stream)"
command -v ss >/dev/null || skip "ss not found: install iproute2"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"

# forge T : a reset of transport T's shape (udp: a RESET, type 0x0a) with
# a random token, from the gateway's address and port to U's socket: U
# must ignore it.
forge() {
	local t=$1 port payload token
	port=$(ip netns exec "$LAB_U" ss -Hun dst "$LAB_GW_PUB:$LAB_PORT" |
		awk '{ n = split($4, a, ":"); print a[n]; exit }')
	[[ -n $port ]] || fail "$t: no UDP socket of U towards the gateway"
	token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	if [[ $t == udp ]]; then
		payload=0a$(printf '0%.0s' {1..32})$token
	else   # a DTLS application-data header, 16 random bytes, the token
		payload=17fefd$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')0020$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')$token
	fi
	in_ns gw python3 "$lab__dir/udp_forge.py" "$LAB_GW_PUB" "$LAB_PORT" \
		"$LAB_U_PUB" "$port" "$payload" || fail "$t: cannot forge a datagram"
}

crash() {   # crash TRANSPORT
	local t=$1 a0 t_listen took ups resets
	fault_configs "$t"
	fault_start "gw-$t" "u-$t" "$t"
	a0=$FAULT_A0
	fault_stream_start
	sleep 1
	ok "$t: tunnel up, U has $a0, a TCP stream from V to U ($FAULT_STREAM_PEER) runs"

	forge "$t"
	sleep 0.5
	! grep -q 'ended' "${LAB_LOG[u-$t]}" || fail "$t: a forged reset ended U's session"
	ok "$t: a reset with a wrong token, from the gateway's address and port, ends nothing"

	fault_kill "gw-$t"
	ok "$t: gateway killed with SIGKILL at $(fault_stream_bytes) bytes"
	sleep 2
	lab_start "gw2-$t" gw "$LAB_TMP/gw.conf"
	lab_wait_log "gw2-$t" "$t: listening" 10 || fail "$t: the gateway did not start again"
	t_listen=$(fault_now)
	fault_wait_count "u-$t" 'tunnel up' 2 20 ||
		fail "$t: U was not back within 20 s of the gateway's restart"
	took=$(awk -v a="$FAULT_AT" -v b="$t_listen" 'BEGIN { printf "%.2f", a - b }')
	awk -v x="$took" -v b="$BOUND" 'BEGIN { exit !(x <= b) }' ||
		fail "$t: U was back $took s after the gateway's restart, more than $BOUND s"
	ok "$t: U back $took s after the restart"
	[[ $(lab_inner u) == "$a0" ]] || fail "$t: U came back with $(lab_inner u), not $a0"
	[[ $(fault_sessions "gw2-$t") == 1 ]] ||
		fail "$t: the gateway shows $(fault_sessions "gw2-$t") sessions, not 1"
	ok "$t: with the same inner address $a0, one session on the gateway"
	fault_stream_grows 30 ||
		fail "$t: the TCP stream did not go on: $(cat "$FAULT_STREAM")"
	ok "$t: the TCP stream is the same connection ($FAULT_STREAM_PEER), its bytes counting again $FAULT_RESUMED s later"

	# At once: the stream's next probe finds the new gateway.
	sleep 1
	ups=$(fault_count "u-$t" 'tunnel up')
	resets=$(fault_count "u-$t" 'stateless reset')
	fault_kill "gw2-$t"
	lab_start "gw3-$t" gw "$LAB_TMP/gw.conf"
	lab_wait_log "gw3-$t" "$t: listening" 10 || fail "$t: the gateway did not start a third time"
	t_listen=$(fault_now)
	fault_wait_count "u-$t" 'tunnel up' $((ups + 1)) 20 ||
		fail "$t: U was not back within 20 s of the gateway's second restart"
	took=$(awk -v a="$FAULT_AT" -v b="$t_listen" 'BEGIN { printf "%.2f", a - b }')
	(($(fault_count "u-$t" 'stateless reset') > resets)) ||
		fail "$t: U came back, but not on a stateless reset"
	[[ $(lab_inner u) == "$a0" ]] || fail "$t: U came back with $(lab_inner u), not $a0"
	ok "$t: restarted at once: U back $took s later, told by a stateless reset"

	fault_stream_stop
	lab_stop "u-$t" || fail "$t: U did not stop cleanly"
	lab_stop "gw3-$t" || fail "$t: the gateway did not stop cleanly"
}

crash dtls
crash udp
exit 0
