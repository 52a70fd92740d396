#!/usr/bin/env bash
# huge_handshake.sh - a stranger's unfinished handshake holds only a few
# tens of KiB of the gateway's memory, however much it announces and
# sends. The gateway serves tls and dtls; U keeps a steady ping to V over
# tls and U3 over dtls (less than 1% loss allowed each). From U2:
#   tls:  48 TCP connections each announce a 16 MiB ClientHello and keep
#         sending it, 16 KiB records as fast as the gateway reads them;
#   dtls: 48 clients pass the cookie exchange with a real ClientHello,
#         then send fragments of a 16 MiB Certificate message.
# Each attack lasts ATTACK_SECS; the gateway's resident memory (VmRSS)
# must grow by less than 64 MB in each, and the plugin counters
# tls.handshake_too_large and dtls.handshake_too_large must move.
# Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

CONNS=48          # attacking connections (tls) or clients (dtls)
ATTACK_SECS=5     # each attack
RSS_MAX_KB=$((64 * 1024))
PINGS=300         # at 0.05 s: 15 s, covering both attacks

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 not found (it plays the attackers): install python3"
ATTACKER=$(dirname "$0")/huge_handshake.py
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=tls, dtls"
lab_client_conf "$LAB_TMP/u.conf"
lab_client_conf "$LAB_TMP/u3.conf" transport=dtls "cert=$LAB_PKI/carol.crt" \
	"key=$LAB_PKI/carol.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'dtls: listening' 10 || fail "gateway did not log 'dtls: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not come up over tls"
lab_wait_log u3 'tunnel up' 15 || fail "client u3 did not come up over dtls"
ok "u is up over tls, u3 over dtls"

steady_ping() {   # steady_ping NS OUT : in the background
	printf '[%s] ping -c %s -i 0.05 %s  (in the background)\n' "$1" "$PINGS" "$LAB_V_LAN" >&2
	ip netns exec "$(lab__ns "$1")" timeout $((PINGS / 20 + 20)) \
		ping -c "$PINGS" -i 0.05 -W 1 "$LAB_V_LAN" >"$2" 2>&1 </dev/null &
	lab_bg "$!"
	PING_PIDS+=("$!")
}
PING_PIDS=()
steady_ping u "$LAB_TMP/u.ping"
steady_ping u3 "$LAB_TMP/u3.ping"

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/${LAB_PID[gw]}/status"; }

# attack tls|dtls : run the attacker from U2 while sampling the gateway's
# RSS every 0.1 s; sets GROWTH_KB (peak less the RSS before).
attack() {
	local mode=$1 before peak now i apid
	before=$(rss_kb)
	peak=$before
	printf '[u2] %s %s %s %s %s %s  (in the background)\n' "$ATTACKER" "$mode" \
		"$LAB_GW_PUB" "$LAB_PORT" "$CONNS" "$ATTACK_SECS" >&2
	ip netns exec "$(lab__ns u2)" timeout $((ATTACK_SECS + 20)) python3 "$ATTACKER" \
		"$mode" "$LAB_GW_PUB" "$LAB_PORT" "$CONNS" "$ATTACK_SECS" \
		>"$LAB_TMP/$mode.attack" 2>&1 </dev/null &
	apid=$!
	lab_bg "$apid"
	lab__deadline $((ATTACK_SECS + 25))
	for ((i = 0; i < (ATTACK_SECS + 25) * 10; i++)); do
		kill -0 "$apid" 2>/dev/null || break
		lab__before || break
		now=$(rss_kb)
		((${now:-0} > peak)) && peak=$now
		sleep 0.1
	done
	wait "$apid" || fail "$mode: the attacker failed: $(cat "$LAB_TMP/$mode.attack")"
	now=$(rss_kb)
	((${now:-0} > peak)) && peak=$now
	GROWTH_KB=$((peak - before))
	printf '    %s; gateway RSS %s kB before, %s kB at most\n' \
		"$(cat "$LAB_TMP/$mode.attack")" "$before" "$peak"
}

for mode in tls dtls; do
	lab_counters gw || fail "no counters from the gateway"
	cut_before=${LAB_COUNTERS[$mode.handshake_too_large]:-0}
	attack "$mode"
	lab_alive gw || fail "$mode: the gateway died during the attack"
	((GROWTH_KB < RSS_MAX_KB)) ||
		fail "$mode: the gateway's RSS grew by $((GROWTH_KB / 1024)) MB under $CONNS huge handshakes (at most $((RSS_MAX_KB / 1024)) allowed)"
	ok "$mode: the gateway's RSS grew by $((GROWTH_KB / 1024)) MB under $CONNS huge handshakes"
	lab_counters gw || fail "no counters from the gateway"
	cut=$((${LAB_COUNTERS[$mode.handshake_too_large]:-0} - cut_before))
	((cut > 0)) || fail "$mode: $mode.handshake_too_large did not move (${LAB_COUNTERS[$mode.handshake_too_large]:-unset})"
	ok "$mode: $cut handshakes cut off as too large ($mode.handshake_too_large)"
done
grep -q 'refused 192\.0\.2\.3:[0-9]*: .*handshake.*KiB' "${LAB_LOG[gw]}" ||
	fail "the gateway did not log why it cut the handshakes off"
ok "the gateway says why: $(grep -o 'refused 192\.0\.2\.3:[0-9]*: .*KiB.*' "${LAB_LOG[gw]}" | head -n 1)"

for ns in u u3; do
	lab__deadline $((PINGS / 20 + 20))
	for ((i = 0; i < (PINGS / 20 + 20) * 10; i++)); do
		grep -q 'packets transmitted' "$LAB_TMP/$ns.ping" && break
		lab__before || break
		sleep 0.1
	done
	sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/$ns.ping")
	got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/$ns.ping")
	[[ -n $sent && -n $got ]] || fail "$ns: the steady ping did not finish: $(tail -n 3 "$LAB_TMP/$ns.ping")"
	((sent == PINGS && (sent - got) * 100 < sent)) ||
		fail "$ns: steady ping through the attacks: $got of $sent replies (1% loss or more)"
	ok "$ns: steady ping through the attacks: $got of $sent replies"
done
for p in "${PING_PIDS[@]}"; do wait "$p" 2>/dev/null; done
lab_stop u3 || fail "client u3 exited with status $? on SIGTERM"
lab_stop u || fail "client u exited with status $? on SIGTERM"
lab_stop gw || fail "gateway exited with status $? on SIGTERM"
ok "every culvertd exits 0 on SIGTERM"
exit 0
