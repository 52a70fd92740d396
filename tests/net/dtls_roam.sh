#!/usr/bin/env bash
# dtls_roam.sh - a client whose NAT gives it a new port in mid-session keeps
# its session over dtls, and nobody else can move it.
#
# The NAT rebinding is played by the gateway itself: stateless nftables
# rules in its namespace rewrite the source port of U's datagrams as they
# arrive on gw0 (OLD -> NEW), and the destination port of the gateway's
# answers back (NEW -> OLD), so U's culvertd never notices. The gateway
# must then log "192.0.2.2:OLD moved to 192.0.2.2:NEW" and U still pings V,
# on the same session. A data record that does not authenticate, or a
# replayed one, sent from yet another port of U's address must not move
# the session. Without the rules, the session moves back. culvertctl
# status follows each move. Drawing: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=dtls

lab_require
lab_require_tls "$T"
command -v nft >/dev/null || skip "nft not found: install nftables"
command -v tcpdump >/dev/null || skip "tcpdump not found: install tcpdump"
command -v python3 >/dev/null || skip "python3 not found: install python3"
command -v ss >/dev/null || skip "ss not found: install iproute2"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"
PCAP_PY=$(dirname "$0")/dtls_pcap.py

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client did not log 'tunnel up' within 15 s"
lab_capture u2gw gw gw0 udp and src host "$LAB_U_PUB" and dst port "$LAB_PORT"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V: $LAB_PING_RECEIVED of 3 replies"
lab_capture_stop u2gw
old=$(ip netns exec "$LAB_U" ss -Hnu dst "$LAB_GW_PUB:$LAB_PORT" |
	awk -v me="$LAB_U_PUB:" '{ for (i = 1; i <= NF; i++) if (index($i, me) == 1) { print substr($i, length(me) + 1); exit } }')
[[ $old =~ ^[0-9]+$ ]] || fail "cannot find U's UDP port towards the gateway: $(ip netns exec "$LAB_U" ss -Hnu 2>&1)"
new=40000
[[ $old == "$new" ]] && new=40001
ok "tunnel up over $T from $LAB_U_PUB:$old, ping U -> V: $LAB_PING_RECEIVED of 3"

# The "NAT": before conntrack (priority raw - 100), both ways.
nat_on() {
	ip netns exec "$LAB_GW" nft -f - <<-EOF || fail "cannot load the nftables rules"
	table ip cvt_roam {
		chain pre {
			type filter hook prerouting priority -400; policy accept;
			ip saddr $LAB_U_PUB udp sport $old udp dport $LAB_PORT udp sport set $new
		}
		chain out {
			type filter hook output priority -400; policy accept;
			ip daddr $LAB_U_PUB udp sport $LAB_PORT udp dport $new udp dport set $old
		}
	}
	EOF
}
nat_on
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V after the port changed: $LAB_PING_RECEIVED of 5 replies"
lab_wait_log gw "192\.0\.2\.2:$old moved to 192\.0\.2\.2:$new" 5 ||
	fail "the gateway did not log '192.0.2.2:$old moved to 192.0.2.2:$new'"
ok "the port changed $old -> $new: gateway logs '$(grep -o "192.0.2.2:$old moved to .*" "${LAB_LOG[gw]}" | head -n 1)', ping U -> V: $LAB_PING_RECEIVED of 5"
outer_is() {   # outer_is ADDRESS: the gateway's status shows alice there
	local got
	got=$("$CULVERTCTL" -s "${LAB_SOCK[gw]}" status --json 2>&1 |
		python3 -c 'import json,sys; print(" ".join(s["outer"] for s in json.load(sys.stdin)["sessions"]))' 2>&1)
	[[ $got == "$1" ]] || fail "culvertctl status shows alice at '$got', expected $1"
}
outer_is "192.0.2.2:$new"
ok "culvertctl status shows alice at her new address 192.0.2.2:$new"

# Strangers from a third port of U's address: a forged record, then an
# old record of U's (GnuTLS's replay window drops it): no move.
mapfile -t data < <(python3 "$PCAP_PY" list "$LAB_TMP/u2gw.pcap" 2>/dev/null | awk '$3 == 23 && $4 >= 1 { print $1 }')
((${#data[@]} >= 2)) || fail "the capture holds ${#data[@]} data records from U, expected 2+"
moves=$(grep -c ' moved to ' "${LAB_LOG[gw]}")
in_ns u python3 "$PCAP_PY" send "$LAB_TMP/u2gw.pcap" "$LAB_GW_PUB" 1 50000 "${data[0]}" ||
	fail "cannot send the forged record"
in_ns u python3 "$PCAP_PY" send "$LAB_TMP/u2gw.pcap" "$LAB_GW_PUB" 0 50000 "${data[@]}" ||
	fail "cannot send the replayed records"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V after the strangers: $LAB_PING_RECEIVED of 3 replies"
(($(grep -c ' moved to ' "${LAB_LOG[gw]}") == moves)) ||
	fail "a forged or replayed record moved the session: $(grep ' moved to ' "${LAB_LOG[gw]}" | tail -n 1)"
ok "a forged and ${#data[@]} replayed records from port 50000 moved nothing; ping U -> V: $LAB_PING_RECEIVED of 3"

# The "NAT" lets go: U's datagrams come from its own port again.
ip netns exec "$LAB_GW" nft delete table ip cvt_roam || fail "cannot delete the nftables rules"
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V after the port changed back: $LAB_PING_RECEIVED of 5 replies"
lab_wait_log gw "192\.0\.2\.2:$new moved to 192\.0\.2\.2:$old" 5 ||
	fail "the gateway did not log '192.0.2.2:$new moved to 192.0.2.2:$old'"
outer_is "192.0.2.2:$old"
ok "the port changed back: gateway logs '192.0.2.2:$new moved to 192.0.2.2:$old', status shows it"

n=$(grep -c 'session alice up' "${LAB_LOG[gw]}")
((n == 1)) || fail "the gateway logged 'session alice up' $n times: the moves made new sessions"
grep -qE 'session .* ended' "${LAB_LOG[gw]}" &&
	fail "a session ended on the gateway: $(grep -E 'session .* ended' "${LAB_LOG[gw]}")"
ok "one session all along: one 'session alice up', no end"
lab_stop u || fail "client exited with status $? on SIGTERM"
lab_wait_log gw 'session alice ended' 10 || fail "the gateway did not see the client leave"
lab_stop gw || fail "gateway exited with status $? on SIGTERM"
ok "both ends exit 0 on SIGTERM"
exit 0
