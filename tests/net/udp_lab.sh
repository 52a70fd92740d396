#!/usr/bin/env bash
# udp_lab.sh - the whole lab over the plain udp transport: U reaches V
# through the tunnel, V sees U's inner address, and stopping the client
# removes its device and routes. Drawing of the lab: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_up
lab_write_configs

# Before the tunnel: U has no route to the LAN at all.
ip netns exec "$LAB_U" ip route get "$LAB_V_LAN" >/dev/null 2>&1 &&
	fail "U already has a route to $LAB_V_LAN before the tunnel: the lab is wrong"
ok "U has no route to $LAB_LAN_NET before the tunnel"

# The gateway pushes a route while it cannot forward: it must say so.
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'net\.ipv4\.ip_forward' 10 ||
	fail "gateway with route= and ip_forward=0 did not warn about net.ipv4.ip_forward"
ok "gateway warns that net.ipv4.ip_forward is off"
lab_alive gw || fail "gateway exited after the forwarding warning"
lab_forwarding on

lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 10 || fail "client did not log 'tunnel up' within 10 s"
ok "client logs 'tunnel up'"

in_ns u ip -4 -o addr show dev "$LAB_DEV" | grep -q "inet $LAB_U_IN/" ||
	fail "U's $LAB_DEV does not have $LAB_U_IN: $(ip -n "$LAB_U" -4 -o addr show dev "$LAB_DEV" 2>&1)"
ok "U's $LAB_DEV has $LAB_U_IN"
in_ns u ip -4 route get "$LAB_V_LAN" | grep -q "dev $LAB_DEV" ||
	fail "U's route to $LAB_V_LAN does not go through $LAB_DEV: $(ip -n "$LAB_U" route 2>&1)"
ok "U routes $LAB_LAN_NET through $LAB_DEV"

lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V: $LAB_PING_RECEIVED of 5 replies"
ok "ping U -> V through the tunnel: $LAB_PING_RECEIVED of 5 replies"

lab_xfer 10 || fail "10 MiB TCP transfer U -> V failed"
ok "10 MiB TCP U -> V in ${XFER_SECS}s, sha256 ${XFER_RECV_SUM:0:16}... matches on both ends"
[[ $XFER_PEER == "$LAB_U_IN" ]] ||
	fail "V saw the transfer come from '$XFER_PEER', not U's inner address $LAB_U_IN"
ok "V saw source $XFER_PEER (U's inner address, no NAT)"

lab_stop u
rc=$?
((rc == 0)) || fail "client's culvertd exited with status $rc after SIGTERM"
ok "client exits 0 on SIGTERM"
ip netns exec "$LAB_U" ip link show dev "$LAB_DEV" >/dev/null 2>&1 &&
	fail "$LAB_DEV still exists in U after the client stopped"
ok "$LAB_DEV is gone from U"
routes=$(ip -n "$LAB_U" -4 route show to match "$LAB_V_LAN" 2>&1)
[[ -z $routes ]] || fail "U still has a route towards $LAB_LAN_NET: $routes"
ok "no route to $LAB_LAN_NET remains in U"

lab_wait_log gw 'session .* ended' 10 ||
	fail "gateway did not log the end of the session"
ok "gateway logs the end of the session: $(grep -E 'session .* ended' "${LAB_LOG[gw]}" | tail -n 1)"
lab_alive gw || fail "gateway died"

lab_stop gw
rc=$?
((rc == 0)) || fail "gateway's culvertd exited with status $rc after SIGTERM"
ok "gateway exits 0 on SIGTERM"
ip netns exec "$LAB_GW" ip link show dev "$LAB_DEV" >/dev/null 2>&1 &&
	fail "$LAB_DEV still exists in the gateway after it stopped"
ok "$LAB_DEV is gone from the gateway"
exit 0
