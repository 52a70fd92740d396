#!/usr/bin/env bash
# link_outage.sh - U's link to the outside (u0) is down for 25 s, long
# enough that its dtls session ends (keepalive 1, 4) and its client
# sleeps in a back-off that has grown to 16 s: when the link comes back,
# the kernel's netlink events (a route to the gateway again, over a link
# that is up) wake the client, and the tunnel is back within 1.5 s of
# the link, with the same inner address. Topology: lab.sh. About 35 s.
#
# The jittered back-off (1, 2, 4, 8, 16 s, +-25%) would put the next
# attempt 2 to 10 s after the link returns: without the wake-up this
# test fails every time.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$(dirname "$0")/fault_lib.sh"

DOWN=25    # seconds the link is down
BOUND=1.5  # seconds from the link's return to the tunnel's

lab_require
lab_require_tls dtls
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" transport=dtls "keepalive=1, 4"
lab_client_conf "$LAB_TMP/u.conf" transport=dtls

fault_start gw u dtls
a0=$FAULT_A0
ok "tunnel up: U has $a0"

t0=$(fault_now)
in_ns u ip link set u0 down || fail "cannot take u0 down"
lab_wait_log u 'ended' 8 || fail "U's session did not end within 8 s of its link going down"
ok "u0 down: U's session ended $(fault_since "$t0") s later (keepalive timeout 4 s)"
left=$(awk -v d="$DOWN" -v s="$(fault_since "$t0")" 'BEGIN { x = d - s; print (x > 0 ? x : 0) }')
sleep "$left"
lab_alive u || fail "U's culvertd died during the outage"
in_ns u ip link set u0 up || fail "cannot bring u0 up"
t1=$(fault_now)
fault_wait_count u 'tunnel up' 2 20 || fail "the tunnel was not back within 20 s of the link"
took=$(awk -v a="$FAULT_AT" -v b="$t1" 'BEGIN { printf "%.2f", a - b }')
awk -v x="$took" -v b="$BOUND" 'BEGIN { exit !(x <= b) }' ||
	fail "the tunnel was back $took s after the link, more than $BOUND s"
ok "u0 up after $DOWN s: the tunnel back $took s later"
[[ $(lab_inner u) == "$a0" ]] || fail "U came back with $(lab_inner u), not $a0"
lab_ping 3 u
((LAB_PING_RECEIVED >= 2)) || fail "no ping after the outage"
ok "same inner address $a0, ping works"
exit 0
