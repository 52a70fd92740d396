#!/usr/bin/env bash
# tls_spoof.sh - a client may only send from the inner address it was given.
# U, a proper tls client, sends pings to V from 203.0.113.77 (an address of
# the pool no one holds) and from U2's inner address (impersonating another
# client). V counts what arrives with nftables, before routing: none of it
# may reach V, and the gateway's spoofed_source counter rises by at least
# the number of packets. Pings from the right address are the control that
# V's counters do count. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=${CVT_TRANSPORT:-tls}
FAKE=203.0.113.77
N=5

lab_require
lab_require_tls "$T"
command -v nft >/dev/null || skip "nft not found: install nftables"
lab_up
lab_add_client 2
lab_forwarding on
# Only culvertd may stop the spoofed packets: the gateway's kernel must not
# (reverse-path filtering would drop some of them on its own).
ip netns exec "$LAB_GW" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
	net.ipv4.conf.default.rp_filter=0 || fail "cannot turn rp_filter off in the gateway"
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u2.conf" "transport=$T" "cert=$LAB_PKI/bob.crt" "key=$LAB_PKI/bob.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
lab_wait_log u2 'tunnel up' 15 || fail "client u2 did not log 'tunnel up' within 15 s"
U_IN=$(lab_inner u)
U2_IN=$(lab_inner u2)
[[ -n $U_IN && -n $U2_IN && $U_IN != "$U2_IN" ]] ||
	fail "inner addresses: u '$U_IN', u2 '$U2_IN'"
ok "u ($U_IN) and u2 ($U2_IN) are up over $T"

# V counts echo requests by source, before any routing decision.
in_ns v nft -f - <<-EOF || fail "cannot load the nftables counters on V"
	table inet cvt_spoof {
		counter from_u {}
		counter from_u2 {}
		counter from_fake {}
		chain pre {
			type filter hook prerouting priority -300; policy accept;
			ip saddr $U_IN icmp type echo-request counter name from_u
			ip saddr $U2_IN icmp type echo-request counter name from_u2
			ip saddr $FAKE counter name from_fake
		}
	}
EOF
vcount() {   # vcount NAME : packets V's counter NAME has seen
	ip netns exec "$LAB_V" nft list counter inet cvt_spoof "$1" |
		sed -n 's/.*packets \([0-9][0-9]*\).*/\1/p'
}
spoofed() {   # the gateway's spoofed_source now
	lab_counters gw || fail "gateway logged no 'counters:' line after SIGUSR1"
	[[ ${LAB_COUNTERS[spoofed_source]:-} =~ ^[0-9]+$ ]] ||
		fail "counters line has no spoofed_source: $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"
	SPOOFED=${LAB_COUNTERS[spoofed_source]}
}
# spoof_from ADDR : N pings from U to V with source ADDR (an address added
# to U's cv0 for the purpose); none may be answered or reach V.
spoof_from() {
	local out
	lab__ip "$LAB_U" addr add "$1/32" dev "$LAB_DEV"
	out=$(in_ns u timeout $((N + 10)) ping -c "$N" -i 0.2 -W 1 -I "$1" "$LAB_V_LAN" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /'
	grep -q ' 0 received' <<<"$out" || fail "V answered pings that U sent from $1"
	lab__ip "$LAB_U" addr del "$1/32" dev "$LAB_DEV"
}

lab_ping "$N" u
((LAB_PING_RECEIVED >= N - 1)) || fail "ping u -> V: $LAB_PING_RECEIVED of $N replies"
c=$(vcount from_u)
((c >= N)) || fail "V's nftables counter from_u counted '$c' packets after $N pings from $U_IN"
ok "control: $N pings from u's own $U_IN reach V (V counted $c)"

spoofed
before=$SPOOFED
spoof_from "$FAKE"
c=$(vcount from_fake)
((c == 0)) || fail "V received $c packets from $FAKE, an address u does not hold"
spoofed
((SPOOFED >= before + N)) ||
	fail "spoofed_source went $before -> $SPOOFED after $N spoofed pings (expected +$N)"
ok "$N pings from u with source $FAKE: none reach V, spoofed_source $before -> $SPOOFED"

before=$SPOOFED
spoof_from "$U2_IN"
c=$(vcount from_u2)
((c == 0)) || fail "V received $c echo requests from $U2_IN (u2's address) that u sent"
spoofed
((SPOOFED >= before + N)) ||
	fail "spoofed_source went $before -> $SPOOFED after $N pings from u as $U2_IN (expected +$N)"
ok "$N pings from u posing as u2 ($U2_IN): none reach V, spoofed_source $before -> $SPOOFED"

# Both still work, and the counter of u2's address counts u2's own pings.
lab_ping 3 u
((LAB_PING_RECEIVED >= 2)) || fail "ping u -> V after the spoofing: $LAB_PING_RECEIVED of 3"
lab_ping 3 u2
((LAB_PING_RECEIVED >= 2)) || fail "ping u2 -> V: $LAB_PING_RECEIVED of 3"
c=$(vcount from_u2)
((c >= 3)) || fail "V's counter from_u2 counted '$c' after 3 pings from u2 itself"
ok "u and u2 still reach V; u2's own pings are counted ($c)"
lab_alive gw || fail "gateway died"
lab_alive u || fail "client u died (or was thrown out for spoofing)"
exit 0
