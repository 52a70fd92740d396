#!/usr/bin/env bash
# server_restart.sh - the gateway restarts under two clients: each is back
# within 10 s with the inner address it had (it asks for it back with
# PREVIOUS4, since the new gateway remembers nothing), and a ping running
# through the restart recovers. Topology: lab.sh, hosts U and U2.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
lab_server_conf "$LAB_TMP/gw.conf"
lab_client_conf "$LAB_TMP/u.conf"
lab_client_conf "$LAB_TMP/u2.conf" "cert=$P/bob.crt" "key=$P/bob.key"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "U did not come up"
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u2 'tunnel up' 15 || fail "U2 did not come up"
a_u=$(lab_inner u)
a_u2=$(lab_inner u2)
ok "before the restart: U has $a_u, U2 has $a_u2"

in_ns u timeout 30 ping -i 0.2 -W 1 -c 120 "$LAB_V_LAN" >"$LAB_TMP/ping.txt" 2>&1 &
ping_pid=$!
lab_bg "$ping_pid"
sleep 1
lab_stop gw || fail "the gateway did not stop on SIGTERM"
# The second gateway is a new process: it starts with an empty pool.
unset 'LAB_PID[gw]'
mv "${LAB_LOG[gw]}" "$LAB_TMP/gw-first.log"
t0=$SECONDS
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not start again"
lab__wait 10 bash -c "[[ \$(grep -c 'session .* up over tls' '${LAB_LOG[gw]}') -ge 2 ]]" ||
	fail "the clients were not back within 10 s of the restart"
ok "both clients back $((SECONDS - t0)) s after the restart"
[[ $(lab_inner u) == "$a_u" ]] || fail "U came back with $(lab_inner u), not $a_u"
[[ $(lab_inner u2) == "$a_u2" ]] || fail "U2 came back with $(lab_inner u2), not $a_u2"
ok "each client has its address back: U $a_u, U2 $a_u2"
wait "$ping_pid"
tail_ok=$(tail -n 20 "$LAB_TMP/ping.txt" | grep -c 'bytes from')
((tail_ok >= 5)) || fail "the ping did not recover: $(tail -n 8 "$LAB_TMP/ping.txt")"
ok "the ping running through the restart recovered ($(grep -Eo '[0-9]+ received' "$LAB_TMP/ping.txt"))"
exit 0
