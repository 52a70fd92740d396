#!/usr/bin/env bash
# offload_xfer.sh - the fast path with TUN offloads (offload = yes, the
# default): 50 MiB TCP transfers U -> V and V -> U arrive whole over udp,
# tls and dtls, and the counters prove the large-segment code carried them:
# over tls large segments crossed whole (gso_whole, PROTO_DATA_GSO), over
# udp and dtls they were split in software (gso_split), with their TCP
# checksums left to the far side (csum_left, PROTO_DATA_PARTIAL), and
# joined again before TUN (gro_joined). Then a client with offload = no
# against a gateway with offloads: no large segment crosses, no checksum
# is left undone, and both transfers still arrive whole (an old peer, or
# one without TSO, interoperates).
# CVT_OFFLOAD_MB sets the size (default 50).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
MB=${CVT_OFFLOAD_MB:-50}

lab_require
lab_require_tls tls
lab_require_tls dtls

# lab_run TRANSPORT [CLIENT-KEY=VALUE...] : a fresh lab, both transfers,
# the counters of both sides in GW and U (udp: no extra keys)
lab_run() {
	local t=$1
	shift
	lab_tunnel "$t" "$@"
	lab_xfer_between u v "$LAB_V_LAN" "$MB" || fail "$t: $MB MiB TCP U -> V did not arrive whole"
	ok "$t: $MB MiB U -> V in ${XFER_SECS}s, sha256 matches"
	lab_xfer_between v u "$(lab_inner u)" "$MB" || fail "$t: $MB MiB TCP V -> U did not arrive whole"
	ok "$t: $MB MiB V -> U in ${XFER_SECS}s, sha256 matches"
	lab_counters_as gw GW || fail "$t: no counters from the gateway"
	lab_counters_as u U || fail "$t: no counters from the client"
	for side in GW U; do
		local -n c=$side
		((${c[malformed]:-1} == 0 && ${c[spoofed_source]:-1} == 0)) ||
			fail "$t: $side counts malformed=${c[malformed]:-} spoofed_source=${c[spoofed_source]:-}"
	done
}

for t in udp dtls tls; do
	lab_run "$t"
	if [[ $t == tls ]]; then
		grep -q 'large TCP segments cross tls whole' "${LAB_LOG[u]}" ||
			fail "tls: the client did not log that large segments cross whole"
		((${U[gso_whole]:-0} > 0 && ${GW[gso_whole]:-0} > 0)) ||
			fail "tls: large segments sent whole: client ${U[gso_whole]:-}, gateway ${GW[gso_whole]:-} (expected both > 0)"
		ok "tls: large segments crossed whole both ways (client ${U[gso_whole]}, gateway ${GW[gso_whole]})"
	else
		((${U[gso_split]:-0} > 0 && ${GW[gso_split]:-0} > 0)) ||
			fail "$t: large segments split: client ${U[gso_split]:-}, gateway ${GW[gso_split]:-} (expected both > 0)"
		((${U[gro_joined]:-0} > 0 && ${GW[gro_joined]:-0} > 0)) ||
			fail "$t: packets joined before TUN: client ${U[gro_joined]:-}, gateway ${GW[gro_joined]:-} (expected both > 0)"
		((${U[csum_left]:-0} >= ${U[gso_split]} && ${GW[csum_left]:-0} >= ${GW[gso_split]})) ||
			fail "$t: packets sent with their checksum left to do: client ${U[csum_left]:-} of ${U[gso_split]} split, gateway ${GW[csum_left]:-} of ${GW[gso_split]}"
		ok "$t: segments split (client ${U[gso_split]}, gateway ${GW[gso_split]}), checksums left to the far side (client ${U[csum_left]}, gateway ${GW[csum_left]}), joined again (client ${U[gro_joined]}, gateway ${GW[gro_joined]})"
	fi
	lab_again
done

# A client without offloads, as an older culvert would be: it does not
# ask for large segments, so the gateway sends none and splits instead.
lab_run tls offload=no
grep -q 'large TCP segments cross' "${LAB_LOG[u]}" &&
	fail "tls, offload = no: the client says large segments cross whole"
((${GW[gso_whole]:-1} == 0 && ${U[gso_whole]:-1} == 0)) ||
	fail "tls, offload = no: large segments sent whole: gateway ${GW[gso_whole]:-}, client ${U[gso_whole]:-} (expected 0)"
((${GW[gso_split]:-0} > 0)) ||
	fail "tls, offload = no: the gateway split no large segment for the client"
((${GW[csum_left]:-1} == 0)) ||
	fail "tls, offload = no: the gateway left ${GW[csum_left]:-} checksums to a client that cannot take them"
ok "tls, client with offload = no: nothing whole, the gateway split ${GW[gso_split]} segments, both transfers whole"
