#!/usr/bin/env bash
# dtls_abuse.sh - strangers that pass the cookie exchange and then stall
# their DTLS handshake must not hurt real clients. The gateway allows
# max-handshakes = 4 and handshake-timeout = 3. U2 starts 16 DTLS clients
# (openssl s_client -dtls) that get the gateway's cookie but never its
# ServerHello (an nftables rule on the gateway drops its big datagrams to
# U2), so each holds a handshake until it is evicted or times out, and
# comes back with its cookie when it is. Meanwhile U keeps a steady ping
# to V (less than 1% loss allowed), the gateway logs that it evicts the
# oldest handshakes (max-handshakes), and a new client on U3 gets its
# tunnel. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=dtls
HS_TIMEOUT=3      # the gateway's handshake-timeout, seconds
MAX_HS=4          # the gateway's max-handshakes
STALLERS=16       # DTLS clients on U2 that never finish
STALL_SECS=8      # how long they try
PINGS=200         # at 0.05 s: 10 s, covering the stall

lab_require
lab_require_tls "$T"
command -v openssl >/dev/null || skip "openssl not found (it plays the stalled clients): install openssl"
command -v nft >/dev/null || skip "nft not found: install nftables"
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T" "handshake-timeout=$HS_TIMEOUT" \
	"max-handshakes=$MAX_HS"
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u3.conf" "transport=$T" "cert=$LAB_PKI/carol.crt" \
	"key=$LAB_PKI/carol.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
ok "u is up over $T; gateway has max-handshakes = $MAX_HS, handshake-timeout = $HS_TIMEOUT"

# U2 gets HelloVerifyRequests (72-byte IP packets) but nothing bigger.
ip netns exec "$LAB_GW" nft -f - <<EOF || fail "cannot load the nftables rule"
table ip cvt_stall {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 192.0.2.3 udp sport $LAB_PORT ip length > 100 counter drop
	}
}
EOF

printf '[u] ping -c %s -i 0.05 %s  (in the background)\n' "$PINGS" "$LAB_V_LAN" >&2
ip netns exec "$LAB_U" timeout $((PINGS / 20 + 20)) \
	ping -c "$PINGS" -i 0.05 -W 1 "$LAB_V_LAN" >"$LAB_TMP/steady.ping" 2>&1 </dev/null &
ping_pid=$!
lab_bg "$ping_pid"

printf '[u2] %s x openssl s_client -dtls -connect %s  (in the background, %s s)\n' \
	"$STALLERS" "$LAB_GW_PUB:$LAB_PORT" "$STALL_SECS" >&2
stallers=()
for ((i = 0; i < STALLERS; i++)); do
	ip netns exec "$(lab__ns u2)" timeout "$STALL_SECS" openssl s_client -dtls \
		-connect "$LAB_GW_PUB:$LAB_PORT" </dev/null >"$LAB_TMP/staller$i.out" 2>&1 &
	stallers+=("$!")
	lab_bg "$!"
done
lab_wait_log gw 'the oldest of [0-9]+ handshakes under way, making room for 192\.0\.2\.3:[0-9]+ \(max-handshakes\)' 5 ||
	fail "the gateway did not evict the oldest handshake while $STALLERS stalled: $(grep -c . "${LAB_LOG[gw]}") lines of log, $(ip netns exec "$LAB_GW" nft list table ip cvt_stall | grep -o 'packets [0-9]*') dropped to u2"
ok "gateway evicts the oldest handshakes: $(grep -o 'dropped 192.0.2.3:[0-9]*: the oldest.*' "${LAB_LOG[gw]}" | head -n 1)"

lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 'tunnel up' $((STALL_SECS - 3)) ||
	fail "a new client (u3) did not get its tunnel while the handshakes stalled"
n=0
for p in "${stallers[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
((n > MAX_HS)) || fail "only $n stallers still ran when u3 came up, so this proves nothing"
ok "a new client (u3) gets its tunnel while $n stalled clients keep trying"
lab_ping 3 u3
((LAB_PING_RECEIVED >= 2)) || fail "ping u3 -> V during the stall: $LAB_PING_RECEIVED of 3"
ok "ping u3 -> V during the stall: $LAB_PING_RECEIVED of 3"

for p in "${stallers[@]}"; do wait "$p" 2>/dev/null; done
evicted=$(grep -c 'making room for' "${LAB_LOG[gw]}")
ok "stall over: $evicted handshakes evicted, $(ip netns exec "$LAB_GW" nft list table ip cvt_stall | grep -o 'packets [0-9]*') dropped to u2"
lab_wait_log gw "refused 192\.0\.2\.3:[0-9]+: no DTLS handshake within $HS_TIMEOUT s" $((HS_TIMEOUT + 3)) ||
	fail "the last stalled handshakes did not time out on the gateway"
ok "the last stalled handshakes time out: $(grep -o 'refused 192.0.2.3:[0-9]*: no DTLS handshake.*' "${LAB_LOG[gw]}" | tail -n 1)"

lab__deadline $((PINGS / 20 + 20))
for ((i = 0; i < (PINGS / 20 + 20) * 10; i++)); do
	grep -q 'packets transmitted' "$LAB_TMP/steady.ping" && break
	lab__before || break
	sleep 0.1
done
wait "$ping_pid" 2>/dev/null
sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/steady.ping")
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/steady.ping")
[[ -n $sent && -n $got ]] || fail "the steady ping did not finish: $(tail -n 3 "$LAB_TMP/steady.ping")"
((sent == PINGS && (sent - got) * 100 < sent)) ||
	fail "steady ping u -> V through the stall: $got of $sent replies (1% loss or more)"
ok "steady ping u -> V through the stall: $got of $sent replies"
lab_alive gw || fail "gateway died"
lab_alive u || fail "client u died"
lab_stop u3 || fail "client u3 exited with status $? on SIGTERM"
lab_stop u || fail "client u exited with status $? on SIGTERM"
lab_stop gw || fail "gateway exited with status $? on SIGTERM"
ok "every culvertd exits 0 on SIGTERM"
exit 0
