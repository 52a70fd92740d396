#!/usr/bin/env bash
# loss.sh - 5% of the packets between U and the gateway are lost, each
# way (nftables, numgen random, on the gateway's outside), over dtls and
# then tls: 50 MiB from U to V arrive intact (sha256), on the one
# session that was up before (no false doubt: a probe and its answer
# both lost must not replace a working session), and the time it took
# is reported. tls carries TCP inside TCP, which collapses under loss
# (culvert.conf(5), TRANSPORTS): the bound here is only CI's.
# Topology: lab.sh. About 10 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

MB=50
LOSS=5   # percent, each way

lab_require
lab_require_tls dtls
command -v nft >/dev/null || skip "nft is needed to lose packets (apt-get install nftables)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"

lossy() {   # lossy on|off : LOSS% of what crosses gw0, each way
	if [[ $1 == off ]]; then
		in_ns gw nft delete table inet cvt_loss
		return
	fi
	in_ns gw nft -f - <<NFT
table inet cvt_loss {
	chain in { type filter hook input priority 0; iifname "gw0" numgen random mod 100 < $LOSS drop; }
	chain out { type filter hook output priority 0; oifname "gw0" numgen random mod 100 < $LOSS drop; }
}
NFT
}

for t in dtls tls; do
	fault_configs "$t"
	fault_start "gw-$t" "u-$t" "$t"
	lossy on || fail "cannot add the loss rules"
	lab_xfer "$MB" || fail "$t: $MB MiB with $LOSS% loss each way did not arrive intact"
	ok "$t: $MB MiB with $LOSS% loss each way arrived intact in $XFER_SECS s ($(awk -v b="$XFER_BYTES" -v s="$XFER_SECS" 'BEGIN { printf "%.0f", b * 8 / s / 1e6 }') Mbit/s), sha256 $XFER_RECV_SUM"
	lossy off || fail "cannot remove the loss rules"
	(($(fault_count "u-$t" 'tunnel up') == 1)) && ! grep -q 'ended' "${LAB_LOG[u-$t]}" ||
		fail "$t: U's session did not last the transfer"
	ok "$t: one session throughout (U doubted it $(fault_count "u-$t" 'in doubt') times, and kept it)"
	lab_stop "u-$t" || fail "$t: U did not stop cleanly"
	lab_stop "gw-$t" || fail "$t: the gateway did not stop cleanly"
done
exit 0
