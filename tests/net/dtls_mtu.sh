#!/usr/bin/env bash
# dtls_mtu.sh - with [dtls] mtu = 1200 no tunnel datagram may exceed 1200
# bytes: the client's TUN MTU is set below it, and a packet from V too big
# for the session is answered by the gateway with ICMP "fragmentation
# needed" naming the MTU that fits, instead of being lost silently; a
# packet that fits crosses. A packet without DF of any size up to the
# gateway's own TUN MTU (1400) crosses too, in fragments the gateway cuts
# as a router would. About 10 s. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls dtls
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" transport=dtls "[dtls]=" mtu=1200
lab_client_conf "$LAB_TMP/u.conf" transport=dtls "[dtls]=" mtu=1200

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'dtls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "U did not come up over dtls"
mtu=$(in_ns u cat "/sys/class/net/$LAB_DEV/mtu")
((mtu < 1200 - 28 && mtu >= 576)) ||
	fail "U's $LAB_DEV has MTU $mtu: a full packet would not fit a 1200-byte datagram"
ok "U's $LAB_DEV has MTU $mtu (path MTU 1200 minus IP, UDP and DTLS overhead)"

u_inner=$(lab_inner u)
# Without DF, every size up to the gateway's TUN MTU: those above the
# session's are cut into fragments on the gateway, joined again on U.
# (First: after the "fragmentation needed" below, V would cut its own.)
lab_counters gw || fail "no counters from the gateway"
before=${LAB_COUNTERS[fragmented]:-0}
sizes=(1000 $((mtu - 29)) $((mtu - 28)) $((mtu - 27)) $((mtu - 20)) 1200 1250 1300 1350 1371 1372)
for n in "${sizes[@]}"; do
	out=$(in_ns v ping -c 1 -W 2 -M dont -s "$n" "$u_inner" 2>&1)
	grep -q ' 0% packet loss' <<<"$out" ||
		fail "a packet of $((n + 28)) bytes without DF did not cross a session of MTU $mtu: $out"
done
ok "packets without DF of $((sizes[0] + 28))..$((sizes[-1] + 28)) bytes cross (${#sizes[@]} sizes)"
lab_counters gw || fail "no counters from the gateway"
cut=$((${LAB_COUNTERS[fragmented]:-0} - before)) above=0
for n in "${sizes[@]}"; do ((n + 28 > mtu && ++above)); done
((cut >= above)) || fail "the gateway fragmented $cut packets, expected the $above above $mtu bytes"
ok "the gateway fragmented them (fragmented=$cut)"
# V sends a packet as large as the gateway's TUN takes (1400) with DF set.
out=$(in_ns v ping -c 2 -W 2 -M do -s $((1400 - 28)) "$u_inner" 2>&1)
echo "$out" | grep -Eq "Frag needed and DF set \(mtu = $mtu\)|mtu = $mtu" ||
	fail "V got no 'fragmentation needed (mtu = $mtu)' for a 1400-byte packet: $out"
ok "V is told 'fragmentation needed, mtu $mtu' for a packet too big for the session"
lab_counters gw || fail "no counters from the gateway"
((${LAB_COUNTERS[too_big]:-0} >= 1)) || fail "the gateway did not count the too-big packet"
ok "the gateway counted it (too_big=${LAB_COUNTERS[too_big]})"
out=$(in_ns v ping -c 2 -W 2 -M do -s $((mtu - 28)) "$u_inner" 2>&1)
grep -q ' 0% packet loss' <<<"$out" || fail "a packet of exactly $mtu bytes did not cross: $out"
ok "a packet of exactly $mtu bytes crosses"

exit 0
