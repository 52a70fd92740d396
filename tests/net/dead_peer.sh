#!/usr/bin/env bash
# dead_peer.sh - the path between U and the gateway is cut (an nftables
# drop rule on the gateway): with keepalive = 1, 4 both ends notice within
# the timeout, and when the path is back the client reconnects by itself
# and the ping works again. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
command -v nft >/dev/null || skip "nft is needed to cut the path (apt-get install nftables)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "keepalive=1, 4"
lab_client_conf "$LAB_TMP/u.conf"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "U did not come up"
lab_ping 3 u || fail "no ping before the cut"
ok "tunnel up, ping works"

in_ns gw nft -f - <<NFT || fail "cannot add the drop rule"
table inet cvt_cut {
	chain in { type filter hook input priority 0; tcp dport $LAB_PORT drop; }
	chain out { type filter hook output priority 0; tcp sport $LAB_PORT drop; }
}
NFT
t0=$SECONDS
ok "path cut: tcp port $LAB_PORT dropped on the gateway"
lab_wait_log gw 'ended: no sign of life for 4 s' 8 ||
	fail "the gateway did not notice the dead client within 8 s (timeout 4 s)"
lab_wait_log u 'ended: no sign of life for 4 s' 8 ||
	fail "the client did not notice the dead gateway within 8 s (timeout 4 s)"
ok "both ends noticed within $((SECONDS - t0)) s (keepalive timeout 4 s)"

# Counted before the path comes back: the client may reconnect at once.
ups=$(grep -c 'tunnel up' "${LAB_LOG[u]}")
in_ns gw nft delete table inet cvt_cut || fail "cannot remove the drop rule"
lab__wait 40 bash -c "[[ \$(grep -c 'tunnel up' '${LAB_LOG[u]}') -gt $ups ]]" ||
	fail "the client did not reconnect within 40 s of the path coming back"
ok "the client reconnected by itself"
lab_ping 3 u || fail "no ping after the reconnect"
ok "ping works again: $LAB_PING_RECEIVED of 3"
exit 0
