#!/usr/bin/env bash
# tls_capture.sh - what crosses the public network over tls is unreadable.
# tcpdump on the gateway's public veth (gw0) records a transfer from U to V
# of 2 MiB of a known text ("CULVERT-CLEARTEXT-CANARY-" over and over); the
# capture must not hold the text once. The control, first: the same capture
# of the same transfer over the plain udp transport finds the text
# thousands of times, so this test can fail. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=${CVT_TRANSPORT:-tls}
CANARY=CULVERT-CLEARTEXT-CANARY-
MB=2

lab_require
lab_require_tls "$T"
command -v tcpdump >/dev/null || skip "tcpdump not found: install tcpdump"
lab_up
lab_forwarding on
# (no pipefail here: yes(1) ends by SIGPIPE, as it should)
(set +o pipefail && yes "$CANARY" | tr -d '\n' | head -c $((MB * 1024 * 1024))) >"$LAB_TMP/canary"
[[ $(stat -c %s "$LAB_TMP/canary") == $((MB * 1024 * 1024)) ]] || fail "cannot write the canary file"
total=$((MB * 1024 * 1024 / ${#CANARY}))

# leg NAME TRANSPORT GWCONF UCONF : start both ends, capture a transfer of
# the canary on gw0, stop both ends; FOUND = times the text is in the capture,
# CAPTURED = bytes of the capture, DROPPED = packets tcpdump says it missed.
leg() {
	local name=$1 t=$2 rc
	lab_start "gw-$name" gw "$3"
	lab_start "u-$name" u "$4"
	lab_wait_log "u-$name" 'tunnel up' 15 || fail "$name: client did not log 'tunnel up' within 15 s"
	grep -q "tunnel up.* over $t" "${LAB_LOG[u-$name]}" ||
		fail "$name: the tunnel is not over $t: $(grep 'tunnel up' "${LAB_LOG[u-$name]}")"
	lab_capture "$name" gw gw0
	lab_xfer "$MB" 5001 u "$LAB_TMP/canary" || fail "$name: the canary transfer U -> V failed"
	lab_capture_stop "$name"
	FOUND=$(grep -aoF -- "$CANARY" "$LAB_TMP/$name.pcap" | wc -l)
	CAPTURED=$(stat -c %s "$LAB_TMP/$name.pcap")
	DROPPED=$(sed -n 's/^\([0-9][0-9]*\) packets dropped by kernel.*/\1/p' "$LAB_TMP/$name.tcpdump")
	lab_stop "u-$name" || fail "$name: client exited with status $? on SIGTERM"
	lab_stop "gw-$name" || fail "$name: gateway exited with status $? on SIGTERM"
	((CAPTURED >= MB * 1024 * 1024)) ||
		fail "$name: the capture on gw0 holds only $CAPTURED bytes for a $MB MiB transfer: the traffic went elsewhere"
}

# The control: plain udp carries the text in the clear.
lab_write_configs
leg udp udp "$LAB_TMP/gw.conf" "$LAB_TMP/u.conf"
((FOUND >= total / 2)) ||
	fail "control: the capture of the udp transfer holds the text only $FOUND times (of $total sent): this capture method cannot see it"
ok "control over udp: the capture on gw0 ($CAPTURED bytes) holds '$CANARY' $FOUND times (of $total sent)"

lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw-$T.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u-$T.conf" "transport=$T"
leg "$T" "$T" "$LAB_TMP/gw-$T.conf" "$LAB_TMP/u-$T.conf"
((FOUND == 0)) || fail "over $T, the capture on gw0 holds '$CANARY' $FOUND times"
[[ $DROPPED == 0 ]] ||
	fail "over $T, tcpdump missed '$DROPPED' packets: a clean capture proves nothing then"
# Nor any shorter piece of it (a record boundary could cut the whole text).
for piece in CLEARTEXT-CANARY CULVERT-CLEAR; do
	n=$(grep -aoF -- "$piece" "$LAB_TMP/$T.pcap" | wc -l)
	((n == 0)) || fail "over $T, the capture on gw0 holds '$piece' $n times"
done
ok "over $T: the capture on gw0 ($CAPTURED bytes) holds no trace of '$CANARY'"
exit 0
