#!/usr/bin/env bash
# client_restart.sh - a dtls client is killed (SIGKILL: nothing removed,
# no bye) and started again:
#   - what it left in U (the rules that choose its table, block-ipv6's
#     unreachable ::/0 in table 51821) is there after the kill, and gone
#     as soon as the next culvertd starts, before its tunnel is up (the
#     gateway is out of reach meanwhile, an nftables drop);
#   - the new session takes the old one's place on the gateway at once:
#     one session, the same inner address, sessions_replaced counted;
#   - killed again and not restarted, the gateway ends its session
#     within the keepalive timeout (2, 8), and a later start gets the
#     same address back;
#   - a tls client killed while V streams to it: the gateway says what
#     happened in words, not in GnuTLS's ("Error in the push function",
#     "The specified session has been invalidated").
# Topology: lab.sh. About 25 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

lab_require
lab_require_tls dtls
command -v nft >/dev/null || skip "nft is needed to keep the gateway out of reach (apt-get install nftables)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=dtls, tls" "keepalive=2, 8"
lab_client_conf "$LAB_TMP/u.conf" transport=dtls block-ipv6=yes

leftovers() {   # what a client's run puts in U outside cv0
	{
		ip -n "$LAB_U" -4 rule show | grep -E '^3270[01]:'
		ip -n "$LAB_U" -6 rule show | grep -E '^3270[01]:'
		ip -n "$LAB_U" -6 route show table 51821
	} 2>/dev/null
}

fault_start gw u dtls
a0=$FAULT_A0
ok "tunnel up: U has $a0"

fault_kill u
left=$(leftovers)
[[ $left == *"unreachable ::/0"* || $left == *"unreachable default"* ]] ||
	fail "SIGKILL left no unreachable ::/0 in table 51821: the checks below would prove nothing ($left)"
[[ $(grep -c '^3270[01]:' <<<"$left") -ge 2 ]] || fail "SIGKILL left no rules behind: $left"
ok "SIGKILL left $(wc -l <<<"$left") rules and routes in U"

in_ns gw nft -f - <<NFT || fail "cannot add the drop rule"
table inet cvt_cut {
	chain in { type filter hook input priority 0; ip saddr $LAB_U_PUB udp dport $LAB_PORT drop; }
}
NFT
t0=$(fault_now)
lab_start u2 u "$LAB_TMP/u.conf"
lab_wait_log u2 'waiting for the server' 10 || fail "U did not start again"
[[ -z $(leftovers) ]] || fail "the new client's start left these in place: $(leftovers)"
ok "the next start removed the rules and the unreachable route before its tunnel is up"
in_ns gw nft delete table inet cvt_cut || fail "cannot remove the drop rule"
lab_wait_log u2 'tunnel up' 10 || fail "U did not come back within 10 s of the gateway in reach again"
[[ $(lab_inner u) == "$a0" ]] || fail "U came back with $(lab_inner u), not $a0"
[[ $(fault_sessions gw) == 1 ]] || fail "the gateway shows $(fault_sessions gw) sessions, not 1"
lab_wait_log gw 'session .* from .* replaces its session from .*, which ends' 2 ||
	fail "the gateway did not say the new session replaced the old one"
lab_counters gw || fail "no counters from the gateway"
[[ ${LAB_COUNTERS[sessions_replaced]:-0} == 1 ]] ||
	fail "sessions_replaced is ${LAB_COUNTERS[sessions_replaced]:-none}, not 1"
ok "U back $(fault_since "$t0") s after its start, with $a0: one session on the gateway, the old one replaced"
lab_ping 3 u
((LAB_PING_RECEIVED >= 2)) || fail "no ping through the new session"

fault_kill u2
t0=$(fault_now)
lab_wait_log gw 'ended: no sign of life for 8 s' 12 ||
	fail "the gateway did not end the killed client's session within 12 s (timeout 8 s)"
[[ $(fault_sessions gw) == 0 ]] || fail "the gateway still shows $(fault_sessions gw) sessions"
ok "killed and not restarted: the gateway ended its session $(fault_since "$t0") s later (timeout 8 s)"
lab_start u3 u "$LAB_TMP/u.conf"
lab_wait_log u3 'tunnel up' 15 || fail "U did not come up a third time"
[[ $(lab_inner u) == "$a0" ]] || fail "U came back with $(lab_inner u), not $a0"
ok "started later, U gets $a0 back"
lab_stop u3 || fail "U did not stop cleanly"

lab_client_conf "$LAB_TMP/u.conf" transport=tls
lab_start u4 u "$LAB_TMP/u.conf"
lab_wait_log u4 'tunnel up' 15 || fail "U did not come up over tls"
fault_stream_start 20000
sleep 1
fault_kill u4
lab_wait_log gw 'alice ended: .*(link lost|cannot send)' 10 ||
	fail "the gateway did not end the killed tls client's session"
said=$(grep -E 'tls: |alice ended' "${LAB_LOG[gw]}" | tail -n 3)
! grep -Eq 'push function|has been invalidated' <<<"$said" ||
	fail "the gateway says it in GnuTLS's words: $said"
grep -Eq 'went away|closed the TCP connection|reset by peer|Broken pipe' <<<"$said" ||
	fail "the gateway does not say the client went away: $said"
ok "a tls client killed mid-stream: the gateway says \"$(tail -n 1 <<<"$said" | cut -c14-)\""
exit 0
