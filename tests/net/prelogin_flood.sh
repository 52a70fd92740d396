#!/usr/bin/env bash
# prelogin_flood.sh - strangers that complete TLS handshakes and never say
# hello must not keep real clients out. While U keeps a steady ping to V
# (less than 1% loss allowed), U2 opens about 200 such links a second
# (culvert-loadgen --attack silent) for 26 s, far more than the gateway's
# places for links waiting for hello (1,024 in all); 10 s into it, when
# they would all be taken, a real client on U3 logs in with a password
# and must be up within 15 s, the flood still on, at its first try. The gateway must
# have ended silent links to make room, said so in a rate-limited line,
# and ended every one of them within hello-timeout (5 s) or sooner.
# Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

RATE=200          # silent links a second from U2
SECS=26           # how long the flood lasts
START=10          # when the real client starts, into the flood
PINGS=600         # at 0.05 s: 30 s, covering the flood

lab_require
lab_require_tls tls
lab_require_loadgen
command -v python3 >/dev/null || skip "python3 is needed to read loadgen's JSON"
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
users=$LAB_TMP/users
lab_passwd "$users" alice 'alice pass'
lab_passwd "$users" carol 'carol pass'
(umask 077 && printf 'alice pass\n' >"$LAB_TMP/alice.pass" && printf 'carol pass\n' >"$LAB_TMP/carol.pass")
lab_server_conf "$LAB_TMP/gw.conf" auth=password "password-file=$users"
lab_client_conf "$LAB_TMP/u.conf" cert= key= username=alice "password-file=$LAB_TMP/alice.pass"
lab_client_conf "$LAB_TMP/u3.conf" cert= key= username=carol "password-file=$LAB_TMP/carol.pass"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
ok "u (alice) is up over tls with a password"

lab_steady_ping "$PINGS"

printf '[u2] culvert-loadgen --attack silent --connect-rate %s for %s s\n' "$RATE" "$SECS" >&2
ip netns exec "$(lab__ns u2)" timeout $((SECS + 30)) "$CULVERT_LOADGEN" \
	--transport tls --remote "$LAB_GW_EP" --ca "$LAB_PKI/ca.crt" \
	--server-name vpn.example.org --attack silent --sessions 1500 \
	--total $((RATE * SECS)) --parallel 64 --connect-rate "$RATE" \
	--duration "$SECS" --json >"$LAB_TMP/flood.json" 2>"$LAB_TMP/flood.err" </dev/null &
flood_pid=$!
lab_bg "$flood_pid"
flood_st=$(lab__starttime "$flood_pid")

sleep "$START"
lab__alive "$flood_pid" "$flood_st" ||
	fail "the flood ended before the real client started: $(tail -n 5 "$LAB_TMP/flood.err")"
estab=$(ip netns exec "$LAB_GW" ss -Htn state established "( sport = :$LAB_PORT )" | wc -l)
ok "$START s into the flood the gateway holds $estab TCP connections"
t0=$(lab__usec)
lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 'tunnel up' 15 ||
	fail "a real client (u3, carol) did not get its tunnel within 15 s during the flood"
took=$((($(lab__usec) - t0) / 1000))
lab__alive "$flood_pid" "$flood_st" ||
	fail "the flood ended before u3 came up, so this proves nothing: $(tail -n 5 "$LAB_TMP/flood.err")"
# Turned away, it would come back after its back-off and might slip into
# a place freed a moment before: its first link must be the one.
hellos=$(grep -c 'saying hello' "${LAB_LOG[u3]}")
((hellos == 1)) ||
	fail "the real client (u3) was turned away $((hellos - 1)) times before it got in: $(grep -E 'ended|reconnecting' "${LAB_LOG[u3]}" | head -n 2)"
ok "a real client (u3) logs in during the flood at its first try, up after $took ms"
lab_ping 3 u3
((LAB_PING_RECEIVED >= 2)) || fail "ping u3 -> V during the flood: $LAB_PING_RECEIVED of 3"

lab__deadline $((SECS + 30))
for ((i = 0; i < (SECS + 30) * 10; i++)); do
	lab__alive "$flood_pid" "$flood_st" || break
	lab__before || break
	sleep 0.1
done
wait "$flood_pid" 2>/dev/null
json=$(tail -n 1 "$LAB_TMP/flood.json")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$json" "$1"; }
started=$(field started 2>/dev/null) || fail "culvert-loadgen said no summary: $(tail -n 5 "$LAB_TMP/flood.err")"
ended=$(field silent_ended)
avg=$(field silent_avg_s)
ok "flood over: $started silent links opened, $ended ended by the gateway after $avg s on average"
((started >= RATE * SECS / 2)) || fail "the flood opened only $started links (wanted about $((RATE * SECS)))"
awk -v a="$avg" 'BEGIN { exit !(a <= 5.5) }' ||
	fail "silent links lived $avg s on average, longer than hello-timeout (5 s)"

lab_counters gw || fail "no counters from the gateway"
evicted=${LAB_COUNTERS[pending_evicted]:-0}
((evicted > 0)) || fail "pending_evicted is $evicted: no silent link gave way to a newer one"
lab_wait_log gw 'to make room for .* already wait for hello, the most allowed' 1 ||
	fail "the gateway did not log why it ended silent links"
lines=$(grep -c 'to make room for' "${LAB_LOG[gw]}")
((lines <= 20)) || fail "$lines lines about silent links ended for $evicted of them: not rate-limited"
ok "the gateway ended $evicted silent links to make room, in $lines log lines (rate-limited)"

lab_steady_ping_check "through the flood"
lab_alive gw || fail "gateway died"
lab_alive u || fail "client u died"
exit 0
