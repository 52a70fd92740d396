#!/usr/bin/env bash
# tls_lab.sh - three clients at once over tls, each proving itself with its
# own certificate (auth = certificate): each pings V, a TCP transfer from
# each arrives intact, V sees three distinct inner addresses, clients cannot
# reach each other (client-to-client = no), and SIGTERM removes devices and
# routes. Hosts U, U2, U3 and the gateway: drawing in lab.sh.
# CVT_TRANSPORT=dtls runs the same scenario over another secure transport.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=${CVT_TRANSPORT:-tls}

lab_require
lab_require_tls "$T"
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T"
# alice names the server explicitly; bob relies on the default server-name,
# the host of remote (192.0.2.1, in the certificate's IP SAN); carol too.
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u2.conf" "transport=$T" server-name= \
	"cert=$P/bob.crt" "key=$P/bob.key"
# Over dtls, carol's client asks for larger socket buffers.
extra=()
[[ $T == dtls ]] && extra=("[dtls]=" socket-buffer=2M)
lab_client_conf "$LAB_TMP/u3.conf" "transport=$T" server-name= \
	"cert=$P/carol.crt" "key=$P/carol.key" "${extra[@]}"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
ok "gateway listens over $T"

clients=(u u2 u3)
declare -A user=([u]=alice [u2]=bob [u3]=carol) inner=()
for c in "${clients[@]}"; do
	lab_start "$c" "$c" "$LAB_TMP/$c.conf"
done
for c in "${clients[@]}"; do
	lab_wait_log "$c" 'tunnel up' 15 || fail "client $c (${user[$c]}) did not log 'tunnel up' within 15 s"
	grep -q "tunnel up.* over $T" "${LAB_LOG[$c]}" ||
		fail "client $c's tunnel is not over $T: $(grep 'tunnel up' "${LAB_LOG[$c]}")"
	inner[$c]=$(lab_inner "$c")
	[[ -n ${inner[$c]} ]] || fail "client $c has no address on $LAB_DEV"
done
ok "three clients up over $T at once: u=${inner[u]} u2=${inner[u2]} u3=${inner[u3]}"
if [[ $T == dtls ]]; then
	# rb: what the kernel grants, twice what was asked ([dtls] socket-buffer)
	rb() { ip netns exec "$1" ss -Huamn "$2" | grep -o 'rb[0-9]*' | sort -u | paste -sd ' '; }
	[[ $(rb "$LAB_GW" "sport = :$LAB_PORT") == rb1048576 ]] ||
		fail "the gateway's dtls sockets hold $(rb "$LAB_GW" "sport = :$LAB_PORT"), not rb1048576 (socket-buffer 512K, the default)"
	[[ $(rb "$(lab__ns u3)" "dport = :$LAB_PORT") == rb4194304 ]] ||
		fail "carol's dtls socket holds $(rb "$(lab__ns u3)" "dport = :$LAB_PORT"), not rb4194304 ([dtls] socket-buffer = 2M)"
	ok "dtls sockets hold what socket-buffer says: 512K (the default) on the gateway, 2M on carol's client"
fi
for c in "${clients[@]}"; do
	grep -qE "session ${user[$c]} up over $T: inner address ${inner[$c]//./\\.}( |$)" "${LAB_LOG[gw]}" ||
		fail "gateway did not log 'session ${user[$c]} up over $T: inner address ${inner[$c]}' (${user[$c]} is the CN of $c's certificate)"
done
ok "gateway names each session for its certificate's CN: $(grep -Eo 'session [a-z]+ up' "${LAB_LOG[gw]}" | cut -d' ' -f2 | paste -sd ' ')"
grep -q "certificate valid for '192.0.2.1'" "${LAB_LOG[u2]}" ||
	fail "u2 (no server-name) did not check the server's certificate for 192.0.2.1, the host of remote"
ok "u2, without server-name, checked the certificate for the host of remote (192.0.2.1)"
lab_counters gw || fail "gateway logged no 'counters:' line after SIGUSR1"
[[ ${LAB_COUNTERS[sessions]:-} == 3 ]] ||
	fail "gateway counts '${LAB_COUNTERS[sessions]:-}' sessions, expected 3"
ok "gateway counts 3 sessions"

for c in "${clients[@]}"; do
	lab_ping 3 "$c"
	((LAB_PING_RECEIVED >= 2)) || fail "ping $c -> V: $LAB_PING_RECEIVED of 3 replies"
	ok "ping $c -> V: $LAB_PING_RECEIVED of 3 replies"
done

declare -A seen=()
for c in "${clients[@]}"; do
	lab_xfer 2 5001 "$c" || fail "2 MiB TCP transfer $c -> V failed"
	[[ $XFER_PEER == "${inner[$c]}" ]] ||
		fail "V saw $c's transfer come from '$XFER_PEER', not $c's inner address ${inner[$c]}"
	seen[$XFER_PEER]=$c
	ok "2 MiB TCP $c -> V in ${XFER_SECS}s, sha256 matches, V saw $XFER_PEER"
done
((${#seen[@]} == 3)) || fail "V saw ${#seen[@]} distinct source addresses, expected 3: ${!seen[*]}"
ok "V saw three distinct inner addresses: ${!seen[*]}"

# client-to-client is off by default: u's packets to u2 are dropped, counted.
lab_counters gw || fail "no counters from the gateway"
c2c=${LAB_COUNTERS[client_to_client]:-}
[[ $c2c =~ ^[0-9]+$ ]] || fail "counters line has no client_to_client: $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"
out=$(in_ns u timeout 10 ping -c 3 -i 0.2 -W 1 "${inner[u2]}" 2>&1)
grep -q ' 0 received' <<<"$out" || fail "u reached u2 (${inner[u2]}) through the gateway: $out"
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[client_to_client] >= c2c + 3)) ||
	fail "client_to_client went $c2c -> ${LAB_COUNTERS[client_to_client]} after 3 pings u -> u2"
ok "u cannot reach u2's ${inner[u2]} (client_to_client $c2c -> ${LAB_COUNTERS[client_to_client]})"

for c in "${clients[@]}"; do
	lab_stop "$c"
	rc=$?
	((rc == 0)) || fail "client $c's culvertd exited with status $rc after SIGTERM"
	ip netns exec "$(lab__ns "$c")" ip link show dev "$LAB_DEV" >/dev/null 2>&1 &&
		fail "$LAB_DEV still exists in $c after its client stopped"
	routes=$(ip -n "$(lab__ns "$c")" -4 route show to match "$LAB_V_LAN" 2>&1)
	[[ -z $routes ]] || fail "$c still has a route towards $LAB_LAN_NET: $routes"
done
ok "each client exits 0 on SIGTERM, leaving no $LAB_DEV and no route to $LAB_LAN_NET"

lab__deadline 10
for ((i = 0; i < 50; i++)); do
	(($(grep -cE 'session .* ended' "${LAB_LOG[gw]}") >= 3)) && break
	lab__before || break
	sleep 0.2
done
n=$(grep -cE 'session .* ended' "${LAB_LOG[gw]}")
((n >= 3)) || fail "gateway logged the end of $n sessions, expected 3"
ok "gateway logs the end of the three sessions"
lab_counters gw || fail "gateway logged no counters after the clients left"
[[ ${LAB_COUNTERS[sessions]:-} == 0 ]] ||
	fail "gateway still counts '${LAB_COUNTERS[sessions]:-}' sessions after the clients left"
ok "gateway counts 0 sessions"

lab_stop gw
rc=$?
((rc == 0)) || fail "gateway's culvertd exited with status $rc after SIGTERM"
ip netns exec "$LAB_GW" ip link show dev "$LAB_DEV" >/dev/null 2>&1 &&
	fail "$LAB_DEV still exists in the gateway after it stopped"
ok "gateway exits 0 on SIGTERM, $LAB_DEV is gone"
exit 0
