#!/usr/bin/env bash
# rekey.sh - with rekey-interval = 1 the client has both directions' TLS
# 1.3 keys replaced every second (KeyUpdate) while a steady ping and a
# transfer run: no ping is lost and the transfer arrives intact.
# Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf"
lab_client_conf "$LAB_TMP/u.conf" rekey-interval=1

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "U did not come up"

in_ns u timeout 20 ping -i 0.1 -W 1 -c 80 "$LAB_V_LAN" >"$LAB_TMP/ping.txt" 2>&1 &
ping_pid=$!
lab_bg "$ping_pid"
lab_xfer 16
wait "$ping_pid"
got=$(grep -Eo '[0-9]+ received' "$LAB_TMP/ping.txt" | cut -d' ' -f1)
[[ ${got:-0} == 80 ]] || fail "a steady ping across rekeys got ${got:-0} of 80: $(tail -3 "$LAB_TMP/ping.txt")"
ok "80 of 80 pings across the rekeys; the 16 MiB transfer arrived intact"
n=$(grep -c 'new TLS keys with' "${LAB_LOG[u]}")
((n >= 4)) || fail "U rekeyed $n times in 8 s with rekey-interval = 1"
[[ $(grep -c 'tunnel up' "${LAB_LOG[u]}") == 1 ]] || fail "the session did not survive the rekeys"
ok "U rekeyed $n times, all in one session"
exit 0
