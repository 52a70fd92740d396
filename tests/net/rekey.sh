#!/usr/bin/env bash
# rekey.sh - keys are renewed by time and by volume on tls and on dtls
# while traffic runs, and not one packet is lost. The gateway serves tls
# and dtls; [tls] rekey-records = 300 has it renew its own tls sending
# keys often. U comes up over tls, then over dtls, each time with
# rekey-interval = 2 and rekey-bytes = 2M, and runs 1,000 pings to V at
# 0.01 s while it sends V 16 MiB in 256 KiB pieces 0.1 s apart (about 7
# s). Each time: every ping answered, the transfer intact (checksums
# compared), at least three rekeys of U's during the transfer and three
# of the gateway's during the run (TLS 1.3 KeyUpdates; on dtls a new DTLS
# session made beside the old one), all in one session. On dtls the
# gateway drops its own answers to U's rekey bindings (nftables), so that
# U switches keys only when data under the new keys reaches it: until
# then U still sends under the old keys, which the gateway must read
# after its own switch (dtls.old_key_records). Both sides' status counts
# the session's rekeys. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

PINGS=1000
XFER_MB=16

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON (apt-get install python3)"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=tls, dtls" "[tls]=" rekey-records=300
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'dtls: listening' 10 || fail "gateway did not start"

# rekeys NAME : the rekeys that NAME's status --json gives its session that is up
rekeys() {
	"$CULVERTCTL" -s "${LAB_SOCK[$1]}" status --json | python3 -c 'import json,sys
s = [s for s in json.load(sys.stdin)["sessions"] if s["state"] == "up"]
print(s[-1]["rekeys"] if s else "none")'
}

for t in tls dtls; do
	if [[ $t == tls ]]; then what='new TLS keys with'; else what='new DTLS keys with'; fi
	lab_client_conf "$LAB_TMP/u-$t.conf" "transport=$t" rekey-interval=2 rekey-bytes=2M
	lab_start "u-$t" u "$LAB_TMP/u-$t.conf"
	lab_wait_log "u-$t" 'tunnel up' 15 || fail "$t: U did not come up"
	gw_before=$(grep -c "$what" "${LAB_LOG[gw]}")
	if [[ $t == dtls ]]; then
		# The answer: a 38-byte message in one DTLS application data
		# record, 75 bytes with ChaCha20-Poly1305, 83 with AES-GCM.
		ip netns exec "$LAB_GW" nft -f - <<-EOF || fail "cannot load the nftables rule"
		table ip cvt_rekey {
			chain out {
				type filter hook output priority 0; policy accept;
				ip daddr $LAB_U_PUB udp sport $LAB_PORT udp length { 75, 83 } @th,64,8 23 counter drop
			}
		}
		EOF
	fi

	printf '[u] ping -c %s -i 0.01 %s  (in the background)\n' "$PINGS" "$LAB_V_LAN" >&2
	ip netns exec "$LAB_U" timeout $((PINGS / 100 + 20)) \
		ping -c "$PINGS" -i 0.01 -W 2 "$LAB_V_LAN" >"$LAB_TMP/$t.ping" 2>&1 </dev/null &
	ping_pid=$!
	lab_bg "$ping_pid"
	u_before=$(grep -c "$what" "${LAB_LOG[u-$t]}")
	LAB_XFER_PACE=0.1 lab_xfer "$XFER_MB" ||
		fail "$t: the $XFER_MB MiB transfer across rekeys did not arrive intact"
	n=$(($(grep -c "$what" "${LAB_LOG[u-$t]}") - u_before))
	wait "$ping_pid"
	got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/$t.ping")
	[[ ${got:-0} == "$PINGS" ]] ||
		fail "$t: a ping run across rekeys got ${got:-0} of $PINGS: $(tail -n 2 "$LAB_TMP/$t.ping")"
	ok "$t: $PINGS of $PINGS pings across the rekeys; the $XFER_MB MiB transfer arrived intact"

	((n >= 3)) || fail "$t: U renewed its keys $n times during the transfer (at least 3 expected)"
	g=$(($(grep -c "$what" "${LAB_LOG[gw]}") - gw_before))
	((g >= 3)) || fail "$t: the gateway renewed its keys $g times (at least 3 expected)"
	[[ $(grep -c 'tunnel up' "${LAB_LOG[u-$t]}") == 1 ]] || fail "$t: the session did not survive the rekeys"
	lab_counters gw || fail "no counters from the gateway"
	((${LAB_COUNTERS[$t.rekeys]:-0} >= g)) ||
		fail "$t: the gateway's $t.rekeys is ${LAB_COUNTERS[$t.rekeys]:-unset}, below the $g rekeys it logged"
	ok "$t: U renewed its keys $n times during the transfer, the gateway $g times during the run ($t.rekeys = ${LAB_COUNTERS[$t.rekeys]}), all in one session"
	r_u=$(rekeys "u-$t") r_gw=$(rekeys gw)
	[[ $r_u =~ ^[0-9]+$ && $r_gw =~ ^[0-9]+$ ]] && ((r_u >= 3 && r_gw >= 3)) ||
		fail "$t: status counts $r_u rekeys of the session on U and $r_gw on the gateway (at least 3 each expected)"
	ok "$t: status counts the session's rekeys: $r_u on U, $r_gw on the gateway"
	if [[ $t == dtls ]]; then
		dropped=$(ip netns exec "$LAB_GW" nft list table ip cvt_rekey | grep -o 'packets [0-9]*' | cut -d' ' -f2)
		((${dropped:-0} > 0)) || fail "dtls: the nftables rule dropped none of the gateway's answers to U's bindings"
		((${LAB_COUNTERS[dtls.old_key_records]:-0} > 0)) ||
			fail "dtls: the gateway read no record under the old keys after its switch (dtls.old_key_records = ${LAB_COUNTERS[dtls.old_key_records]:-unset})"
		ok "dtls: with $dropped answers dropped, the gateway read ${LAB_COUNTERS[dtls.old_key_records]} records under the old keys after its switches, and lost none"
	fi
	lab_stop "u-$t" || fail "$t: U exited with status $? on SIGTERM"
done
lab_stop gw || fail "the gateway exited with status $? on SIGTERM"
ok "every culvertd exits 0 on SIGTERM"
exit 0
