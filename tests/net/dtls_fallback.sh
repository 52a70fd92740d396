#!/usr/bin/env bash
# dtls_fallback.sh - UDP is blocked on the gateway (an nftables drop rule
# in its namespace): a client with `transport = dtls, tls` gives dtls
# fallback-timeout seconds, logs the switch, and is connected over tls
# within that time plus a margin; traffic flows. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls dtls
lab_require_tls tls
command -v nft >/dev/null || skip "nft is needed to block UDP (apt-get install nftables)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=dtls, tls"
lab_client_conf "$LAB_TMP/u.conf" "transport=dtls, tls" fallback-timeout=3

in_ns gw nft -f - <<NFT || fail "cannot add the UDP drop rule"
table inet cvt_noudp {
	chain in { type filter hook input priority 0; udp dport $LAB_PORT drop; }
}
NFT
ok "UDP to port $LAB_PORT dropped on the gateway"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'dtls: listening' 10 || fail "gateway does not listen over dtls"
lab_wait_log gw 'tls: listening' 10 || fail "gateway does not listen over tls"
t0=$SECONDS
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 12 || fail "no tunnel within 12 s (fallback-timeout 3 s)"
took=$((SECONDS - t0))
grep -q 'tunnel up.* over tls' "${LAB_LOG[u]}" ||
	fail "the tunnel is not over tls: $(grep 'tunnel up' "${LAB_LOG[u]}")"
grep -q 'no dtls link to .* after 3 s; falling back to tls' "${LAB_LOG[u]}" ||
	fail "the client did not log its switch from dtls to tls"
ok "fell back from dtls to tls and came up in ${took} s (fallback-timeout 3 s)"
lab_ping 5 u || fail "no ping over the tls fallback"
ok "ping over the fallback: $LAB_PING_RECEIVED of 5"
lab_xfer 2
exit 0
