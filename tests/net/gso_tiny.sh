#!/usr/bin/env bash
# gso_tiny.sh - a large segment whose segment size is absurd is dropped,
# not made into thousands of packets on the LAN. A client on U2
# (culvert-loadgen --attack gso1, bob's certificate) sends, once up, one
# PROTO_DATA_GSO message: a TCP segment of 1000 bytes to V, port 9, with
# a segment size of 1 (which the gateway's kernel would split into 1000
# one-byte packets). The gateway must count it as malformed, and a
# capture on its LAN side (gw1) must see no packet of it; meanwhile the
# attacker's own pings still cross, and U's steady ping to V loses less
# than 1%. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

PINGS=200         # at 0.05 s: 10 s

lab_require
lab_require_tls tls
lab_require_loadgen
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf"
lab_client_conf "$LAB_TMP/u.conf"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
ok "u (alice) is up over tls"

lab_steady_ping "$PINGS"

lab_capture lan gw gw1 tcp dst port 9
lab_counters gw || fail "no counters from the gateway"
malformed0=${LAB_COUNTERS[malformed]:-0}
printf '[u2] culvert-loadgen --attack gso1 --attack-to %s\n' "$LAB_V_LAN" >&2
ip netns exec "$(lab__ns u2)" timeout 30 "$CULVERT_LOADGEN" --transport tls \
	--remote "$LAB_GW_EP" --ca "$LAB_PKI/ca.crt" --server-name vpn.example.org \
	--cert "$LAB_PKI/bob.crt" --key "$LAB_PKI/bob.key" --attack gso1 \
	--attack-to "$LAB_V_LAN" --sessions 1 --hold 2 --rate 2 --duration 20 \
	>"$LAB_TMP/gso1.out" 2>"$LAB_TMP/gso1.err" </dev/null
sed 's/^/    /' "$LAB_TMP/gso1.out"
grep -q 'gso1: 1 segments of gso size 1 sent' "$LAB_TMP/gso1.out" ||
	fail "the segment was not sent: $(cat "$LAB_TMP/gso1.out" "$LAB_TMP/gso1.err")"
grep -q 'pings: [1-9][0-9]* sent, [1-9][0-9]* answered' "$LAB_TMP/gso1.out" ||
	fail "the attacker's own pings did not cross, so this proves nothing: $(cat "$LAB_TMP/gso1.out")"
sleep 1
lab_capture_stop lan
lab_counters gw || fail "no counters from the gateway"
malformed=$((${LAB_COUNTERS[malformed]:-0} - malformed0))
((malformed >= 1)) || fail "the gateway did not count the segment of gso size 1 as malformed"
n=$(tcpdump -nr "$LAB_TMP/lan.pcap" 2>/dev/null | wc -l)
((n == 0)) || fail "$n packets of the segment left the gateway on its LAN side: $(tcpdump -nr "$LAB_TMP/lan.pcap" 2>/dev/null | head -n 3)"
ok "the segment of gso size 1 is counted as malformed ($malformed), and nothing of it reaches the LAN"
lab_wait_log gw 'large segment: segment size below 536 bytes' 1 ||
	fail "the gateway did not say why it dropped the segment"

lab_steady_ping_check "during the attack"
lab_alive gw || fail "gateway died"
exit 0
