#!/usr/bin/env bash
# fallback_retry.sh - a client with transport = dtls, tls, on a network
# that drops UDP, falls back to tls; once UDP passes again it goes back
# to dtls by itself (fallback-retry = 3): a new dtls session beside the
# tls one takes its place, with the same inner address, one session on
# the gateway, and a TCP stream from V through the tunnel lives on.
# Without fallback-retry it would stay on tls for the life of the
# session. Topology: lab.sh. About 20 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

lab_require
lab_require_tls dtls
command -v nft >/dev/null || skip "nft is needed to drop UDP (apt-get install nftables)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=dtls, tls"
lab_client_conf "$LAB_TMP/u.conf" "transport=dtls, tls" fallback-timeout=2 \
	fallback-retry=3

in_ns gw nft -f - <<NFT || fail "cannot add the UDP drop rule"
table inet cvt_noudp {
	chain in { type filter hook input priority 0; udp dport $LAB_PORT drop; }
}
NFT
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up: .* over tls' 15 || fail "U did not come up over tls"
a0=$(lab_inner u)
fault_stream_start
ok "UDP dropped: U fell back to tls, has $a0, a TCP stream from V runs"

in_ns gw nft delete table inet cvt_noudp || fail "cannot remove the drop rule"
t0=$(fault_now)
lab_wait_log u 'tunnel up: .* over dtls' 10 || fail "U did not go back to dtls within 10 s"
ok "UDP passes again: U back on dtls $(fault_since "$t0") s later (fallback-retry 3 s)"
[[ $(lab_inner u) == "$a0" ]] || fail "U has $(lab_inner u) on dtls, not $a0"
lab__wait 5 bash -c "[[ \$(\"$CULVERTCTL\" -s '${LAB_SOCK[gw]}' status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"sessions\"]))') == 1 ]]" ||
	fail "the gateway shows $(fault_sessions gw) sessions, not 1"
ok "same inner address $a0, one session on the gateway"
fault_stream_grows 15 || fail "the TCP stream did not live on: $(cat "$FAULT_STREAM")"
ok "the TCP stream ($FAULT_STREAM_PEER) lives on through the change of transport"
exit 0
