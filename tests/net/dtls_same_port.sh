#!/usr/bin/env bash
# dtls_same_port.sh - a client that dies without a word (SIGKILL) and comes
# back on the same address and port gets a new session at once, over dtls;
# the gateway does not make it wait for the dead session's keepalive
# timeout, and nobody else could have done the same.
#
# U's ephemeral port range is one port wide while each culvertd starts, so
# the second gets the first one's port (and wide again afterwards: ping
# takes its ICMP identifiers from the same range). The gateway, which still holds the first session
# there, must log "192.0.2.2:PORT began a new DTLS session (did it
# restart?); the old one ends" once the new handshake is done (never
# before: the old session carries data until then), and the new tunnel
# pings V. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=dtls
PORT=40000

lab_require
lab_require_tls "$T"
lab_up
lab_forwarding on
WIDE=$(ip netns exec "$LAB_U" sysctl -n net.ipv4.ip_local_port_range | tr -s '\t ' ' ')
ports() { ip netns exec "$LAB_U" sysctl -qw net.ipv4.ip_local_port_range="$1"; }
ports "$PORT $PORT" || skip "cannot narrow the ephemeral port range in U's namespace"
ports "$WIDE" || fail "cannot widen the ephemeral port range again to '$WIDE'"
# start_on_port NAME : start U's culvertd with only PORT to take; wait
# (bounded) until its socket is there, then widen the range again.
start_on_port() {
	local i
	ports "$PORT $PORT" || fail "cannot narrow the ephemeral port range"
	lab_start "$1" u "$LAB_TMP/u.conf"
	lab__deadline 10
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$LAB_U" ss -Hnu dst "$LAB_GW_PUB:$LAB_PORT" | grep -q "$LAB_U_PUB:$PORT " && break
		lab__before || break
		sleep 0.1
	done
	ports "$WIDE" || fail "cannot widen the ephemeral port range again"
}
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
start_on_port u1
lab_wait_log u1 'tunnel up' 15 || fail "client did not log 'tunnel up' within 15 s"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V: $LAB_PING_RECEIVED of 3 replies"
ss=$(ip netns exec "$LAB_U" ss -Hnu dst "$LAB_GW_PUB:$LAB_PORT")
[[ $ss == *"$LAB_U_PUB:$PORT "* ]] || fail "the client's socket is not on port $PORT: $ss"
ok "tunnel up over $T from $LAB_U_PUB:$PORT, ping U -> V: $LAB_PING_RECEIVED of 3"

kill -KILL "${LAB_PID[u1]}"
wait "${LAB_PID[u1]}" 2>/dev/null
start=$(lab__usec)
start_on_port u2
lab_wait_log u2 'tunnel up' 15 || fail "the restarted client did not log 'tunnel up' within 15 s"
took=$((($(lab__usec) - start) / 1000))
re="192\.0\.2\.2:$PORT began a new DTLS session \(did it restart\?\); the old one ends"
lab_wait_log gw "$re" 5 || fail "the gateway did not log /$re/"
ss=$(ip netns exec "$LAB_U" ss -Hnu dst "$LAB_GW_PUB:$LAB_PORT")
[[ $ss == *"$LAB_U_PUB:$PORT "* ]] || fail "the new client's socket is not on port $PORT: $ss"
ok "the restarted client, on the same port, is up after $took ms; gateway: $(grep -Eo "$re" "${LAB_LOG[gw]}")"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V after the restart: $LAB_PING_RECEIVED of 3 replies"
ok "ping U -> V after the restart: $LAB_PING_RECEIVED of 3"
(($(grep -c 'session alice up' "${LAB_LOG[gw]}") == 2)) ||
	fail "the gateway logged 'session alice up' $(grep -c 'session alice up' "${LAB_LOG[gw]}") times, expected 2"
grep -q 'session alice ended' "${LAB_LOG[gw]}" || fail "the gateway did not end the old session"
ok "gateway: the old session ended, the new one is up: $(grep -E 'session alice (up|ended)' "${LAB_LOG[gw]}" | sed 's/^[0-9:.]* //' | paste -sd '|')"

lab_stop u2 || fail "client exited with status $? on SIGTERM"
lab_stop gw || fail "gateway exited with status $? on SIGTERM"
ok "both ends exit 0 on SIGTERM"
exit 0
