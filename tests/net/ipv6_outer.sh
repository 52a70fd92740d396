#!/usr/bin/env bash
# ipv6_outer.sh - the tunnel over an IPv6-only outside. The lab with
# LAB_OUTER=6: U is 2001:db8::2 and the gateway 2001:db8::1 on u0/gw0, and
# there is no IPv4 between them (drawing in lab.sh; the LAN behind the
# gateway stays IPv4). Over tls, dtls and udp in turn, the gateway listens
# on [2001:db8::1]:4433, U connects there, pings V and sends a TCP transfer
# that arrives intact. Then:
#   - remote = a name with two AAAA records, the first one refusing: the
#     client tries each address in getaddrinfo's order until one connects
#     (the name comes from an /etc/hosts of U's namespace only);
#   - dual stack: with IPv4 added to the outside, listen = [::]:4433 takes
#     an IPv4 client, shown as plain 192.0.2.2:PORT (not ::ffff:...) in
#     the log and in culvertctl status, over tls and over udp.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
LAB_OUTER=6
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_require_tls dtls
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"

[[ -z $(ip -n "$LAB_U" -4 -o addr show dev u0) ]] ||
	fail "U's u0 has an IPv4 address in the IPv6-only lab"
[[ -z $(ip -n "$LAB_GW" -4 -o addr show dev gw0) ]] ||
	fail "the gateway's gw0 has an IPv4 address in the IPv6-only lab"
ok "the outside is IPv6 only: U $LAB_U_PUB, gateway $LAB_GW_PUB, no IPv4 on u0 or gw0"

# run_transport T : the lab over T on the IPv6 outside, then stop both sides.
run_transport() {
	local t=$1 extra=()
	[[ $t == udp ]] && extra=(insecure=yes cert= key= ca= server-name=)
	lab_server_conf "$LAB_TMP/gw-$t.conf" "transport=$t" "${extra[@]}"
	lab_client_conf "$LAB_TMP/u-$t.conf" "transport=$t" "${extra[@]}"
	grep -q "^listen *= \[2001:db8::1\]:$LAB_PORT\$" "$LAB_TMP/gw-$t.conf" ||
		fail "gateway config does not listen on [2001:db8::1]:$LAB_PORT: $(cat "$LAB_TMP/gw-$t.conf")"
	lab_start "gw-$t" gw "$LAB_TMP/gw-$t.conf"
	lab_wait_log "gw-$t" "$t: listening" 10 || fail "gateway did not listen over $t"
	lab_start "u-$t" u "$LAB_TMP/u-$t.conf"
	lab_wait_log "u-$t" 'tunnel up' 15 || fail "client did not come up over $t within 15 s"
	grep -qF "over $t to [2001:db8::1]:$LAB_PORT" "${LAB_LOG[u-$t]}" ||
		fail "client's tunnel is not over $t to [2001:db8::1]:$LAB_PORT: $(grep 'tunnel up' "${LAB_LOG[u-$t]}")"
	"$CULVERTCTL" -s "${LAB_SOCK[gw-$t]}" status >"$LAB_TMP/status-$t.txt" 2>&1 ||
		fail "culvertctl status over $t: $(cat "$LAB_TMP/status-$t.txt")"
	grep -qE "^  outer: \[2001:db8::2\]:[0-9]+ " "$LAB_TMP/status-$t.txt" ||
		fail "status does not show the client at [2001:db8::2]: $(cat "$LAB_TMP/status-$t.txt")"
	ok "$t over IPv6: U up to [2001:db8::1]:$LAB_PORT, status shows it from [2001:db8::2]"
	lab_ping 5
	((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V over $t: $LAB_PING_RECEIVED of 5"
	ok "ping U -> V over $t on IPv6: $LAB_PING_RECEIVED of 5"
	lab_xfer 4 || fail "4 MiB TCP transfer U -> V over $t failed"
	ok "4 MiB TCP U -> V over $t on IPv6 in ${XFER_SECS}s, sha256 matches"
	lab_stop "u-$t" || fail "client over $t did not stop cleanly"
	lab_stop "gw-$t" || fail "gateway over $t did not stop cleanly"
}
for t in tls dtls udp; do
	run_transport "$t"
done

# A name with two IPv6 addresses, the first one refusing. ::3 also belongs
# to the gateway, which listens only on ::1; RFC 6724's longest matching
# prefix (::2 shares 127 bits with ::3, 126 with ::1) puts ::3 first.
lab__ip "$LAB_GW" addr add 2001:db8::3/64 dev gw0 nodad
mkdir -p "/etc/netns/$LAB_U" || fail "cannot make /etc/netns/$LAB_U"
printf '%s\n' '2001:db8::3 vpn.example.org' '2001:db8::1 vpn.example.org' \
	>"/etc/netns/$LAB_U/hosts"
order=$(in_ns u getent ahostsv6 vpn.example.org | awk '$2 == "STREAM" { print $1 }' | paste -sd ' ')
[[ $order == "2001:db8::3 2001:db8::1" ]] ||
	fail "in U, vpn.example.org resolves to '$order', expected '2001:db8::3 2001:db8::1'"
ok "in U, vpn.example.org resolves to $order"
for t in tls dtls; do
	lab_server_conf "$LAB_TMP/gw-n$t.conf" "transport=$t"
	lab_client_conf "$LAB_TMP/u-n$t.conf" "transport=$t" "remote=vpn.example.org:$LAB_PORT"
	lab_start "gw-n$t" gw "$LAB_TMP/gw-n$t.conf"
	lab_wait_log "gw-n$t" "$t: listening" 10 || fail "gateway did not listen over $t"
	lab_start "u-n$t" u "$LAB_TMP/u-n$t.conf"
	lab_wait_log "u-n$t" 'tunnel up' 20 || fail "client with remote = vpn.example.org did not come up over $t"
	grep -qF "over $t to [2001:db8::1]:$LAB_PORT" "${LAB_LOG[u-n$t]}" ||
		fail "client did not end up at [2001:db8::1]: $(grep 'tunnel up' "${LAB_LOG[u-n$t]}")"
	grep -qE "\[2001:db8::3\]:$LAB_PORT refused.*trying the next address" "${LAB_LOG[u-n$t]}" ||
		fail "client over $t did not try [2001:db8::3] first and say it moved on"
	lab_ping 3
	((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V over $t by name: $LAB_PING_RECEIVED of 3"
	ok "$t: remote = vpn.example.org:$LAB_PORT, [2001:db8::3] refused, [2001:db8::1] connected; ping $LAB_PING_RECEIVED of 3"
	lab_stop "u-n$t" || fail "client over $t did not stop cleanly"
	lab_stop "gw-n$t" || fail "gateway over $t did not stop cleanly"
done

# Dual stack: IPv4 on the outside too, the gateway on [::].
lab__ip "$LAB_U" addr add 192.0.2.2/24 dev u0
lab__ip "$LAB_GW" addr add 192.0.2.1/24 dev gw0
lab__wait 5 ip netns exec "$LAB_U" ping -c 1 -W 1 -q 192.0.2.1 ||
	fail "U cannot reach 192.0.2.1 after adding IPv4 to the outside"
for t in tls udp; do
	extra=()
	[[ $t == udp ]] && extra=(insecure=yes cert= key= ca= server-name=)
	lab_server_conf "$LAB_TMP/gw-ds$t.conf" "transport=$t" "listen=[::]:$LAB_PORT" "${extra[@]}"
	lab_client_conf "$LAB_TMP/u-ds$t.conf" "transport=$t" "remote=192.0.2.1:$LAB_PORT" "${extra[@]}"
	lab_start "gw-ds$t" gw "$LAB_TMP/gw-ds$t.conf"
	lab_wait_log "gw-ds$t" "$t: listening" 10 || fail "gateway did not listen on [::] over $t"
	lab_start "u-ds$t" u "$LAB_TMP/u-ds$t.conf"
	lab_wait_log "u-ds$t" 'tunnel up' 15 || fail "IPv4 client of a [::] gateway did not come up over $t"
	"$CULVERTCTL" -s "${LAB_SOCK[gw-ds$t]}" status >"$LAB_TMP/status-d$t.txt" 2>&1 ||
		fail "culvertctl status: $(cat "$LAB_TMP/status-d$t.txt")"
	grep -qE "^  outer: 192\.0\.2\.2:[0-9]+ " "$LAB_TMP/status-d$t.txt" ||
		fail "status does not show the IPv4 client as 192.0.2.2:PORT: $(cat "$LAB_TMP/status-d$t.txt")"
	grep -q 'ffff' "$LAB_TMP/status-d$t.txt" "${LAB_LOG[gw-ds$t]}" &&
		fail "a v4-mapped address shows in the status or the log: $(grep ffff "$LAB_TMP/status-d$t.txt" "${LAB_LOG[gw-ds$t]}")"
	lab_ping 3
	((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V over $t via [::]: $LAB_PING_RECEIVED of 3"
	ok "$t: listen = [::]:$LAB_PORT takes IPv4 client 192.0.2.2, shown as such; ping $LAB_PING_RECEIVED of 3"
	lab_stop "u-ds$t" || fail "client over $t did not stop cleanly"
	lab_stop "gw-ds$t" || fail "gateway over $t did not stop cleanly"
done
exit 0
