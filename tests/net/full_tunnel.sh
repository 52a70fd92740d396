#!/usr/bin/env bash
# full_tunnel.sh - `route = default` on the client: everything goes into
# the tunnel through culvert's own routing table, the tunnel's own packets
# still go out physically (marked sockets, no loop), a more specific route
# added to main later (a rogue DHCP server: TunnelVision) cannot pull
# traffic out, block-ipv6 drops IPv6 that would go around the tunnel, and
# the pushed DNS reaches up-script, and kill-switch keeps everything from
# leaking while the client reconnects. Stopping leaves `ip rule` and every
# routing table exactly as they were.
#
# lab.sh's topology plus an "internet" behind the gateway, which NATs the
# pool to it, and IPv6 on the physical side only (the tunnel is IPv4):
#
#   cvt-u-$ID              cvt-gw-$ID                          cvt-inet-$ID
#   u0 192.0.2.2/24  ----  gw0 192.0.2.1/24     gw2 198.51.100.129/25 ---- i0 198.51.100.130/25
#      2001:db8::2/64          2001:db8::1/64       2001:db8:1::1/64          2001:db8:1::2/64
#                          nft masquerade 203.0.113.0/24 out of gw2       default via the gateway
#
# U reaches 198.51.100.130 only through the gateway: by the tunnel (the
# internet sees the gateway's 198.51.100.129) or, with a route in main,
# physically (it sees U's own 192.0.2.2).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

INET=cvt-inet-$LAB_ID
INET_ADDR=198.51.100.130
INET_GW=198.51.100.129
INET6_ADDR=2001:db8:1::2

lab_require
lab_require_tls tls
command -v nft >/dev/null || skip "nft not found: install nftables"
lab_up
LAB_EXTRA_NS+=("$INET")   # removed with the others
ip netns add "$INET" || fail "ip netns add $INET"
ip -n "$INET" link set lo up
ip link add gw2 netns "$LAB_GW" type veth peer name i0 netns "$INET" || fail "veth gw2 <-> i0"
lab__ip "$LAB_GW" addr add "$INET_GW/25" dev gw2
lab__ip "$LAB_GW" link set gw2 up
lab__ip "$INET" addr add "$INET_ADDR/25" dev i0
lab__ip "$INET" link set i0 up
lab__ip "$INET" route add default via "$INET_GW"
# IPv6 on the physical path only; nodad: usable at once.
lab__ip "$LAB_U" addr add 2001:db8::2/64 dev u0 nodad
lab__ip "$LAB_GW" addr add 2001:db8::1/64 dev gw0 nodad
lab__ip "$LAB_GW" addr add 2001:db8:1::1/64 dev gw2 nodad
lab__ip "$INET" addr add "$INET6_ADDR/64" dev i0 nodad
lab__ip "$LAB_U" route add 2001:db8:1::/64 via 2001:db8::1
lab__ip "$INET" route add default via 2001:db8:1::1
in_ns gw sysctl -qw net.ipv6.conf.all.forwarding=1 || fail "IPv6 forwarding on the gateway"
lab_forwarding on
in_ns gw nft -f - <<EOF || fail "nft masquerade on the gateway"
table ip cvt_nat {
	chain post {
		type nat hook postrouting priority 100;
		oifname "gw2" ip saddr $LAB_POOL masquerade
	}
}
EOF
# What the internet sees: pings counted by source.
in_ns "$INET" nft -f - <<EOF || fail "nft counters in the internet"
table ip cvt_seen {
	counter via_tunnel {}
	counter physical {}
	chain in { type filter hook input priority 0;
		ip saddr $INET_GW icmp type echo-request counter name via_tunnel
		ip saddr $LAB_U_PUB icmp type echo-request counter name physical
	}
}
EOF
seen() {   # seen via_tunnel|physical -> packets counted so far
	ip netns exec "$INET" nft list counter ip cvt_seen "$1" |
		awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
ping_inet() {   # ping_inet COUNT [-6]: replies received from the internet
	local dst=$INET_ADDR
	[[ ${2:-} == -6 ]] && dst=$INET6_ADDR
	ip netns exec "$LAB_U" ping ${2:-} -c "$1" -i 0.2 -W 2 -q "$dst" 2>&1 |
		awk '/received/ { for (i = 1; i <= NF; i++) if ($i ~ /^received,?$/) print $(i - 1) }'
}
state() {   # the routing state of U that must come back exactly
	ip -n "$LAB_U" -4 rule show
	ip -n "$LAB_U" -6 rule show
	ip -n "$LAB_U" -4 route show table all
	ip -n "$LAB_U" -6 route show table all | grep -v '^multicast\|cached\|expires'
}
bytes() {   # bytes NS DEV rx|tx
	ip netns exec "$(lab__ns "$1")" cat "/sys/class/net/$2/statistics/$3_bytes"
}

# ---- before the tunnel: U reaches nothing beyond the gateway over IPv4
# but IPv6 leaks around any IPv4-only tunnel: proof that the check below
# can fail.
[[ $(ping_inet 1) == 1 ]] && fail "U reaches $INET_ADDR before the tunnel: the lab is wrong"
[[ $(ping_inet 3 -6) -ge 2 ]] || fail "U cannot reach $INET6_ADDR over IPv6 physically: the lab is wrong"
ok "before the tunnel: $INET_ADDR unreachable from U, $INET6_ADDR reachable over IPv6 (would leak)"
# Without culvert's rules a more specific route in main wins: the counters
# below can tell a leak from the tunnel.
ip -n "$LAB_U" route add "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0 || fail "rogue route"
[[ $(ping_inet 2) == 2 && $(seen physical) -ge 2 ]] ||
	fail "a route in main does not reach the internet physically: the lab is wrong"
ip -n "$LAB_U" route del "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0
ok "without the tunnel, a route in main sends U's pings physically (the internet counts them)"
# u0's link-local address (and its routes in table local) may still be on
# its way from IPv6 address autoconfiguration: wait for it, bounded, so
# that the snapshot does not change under the test by itself.
for ((i = 0; i < 50; i++)); do
	ll=$(ip -n "$LAB_U" -6 addr show dev u0 scope link)
	[[ $ll == *inet6* && $ll != *tentative* ]] && break
	sleep 0.1
done
before=$(state)

lab_pki "$LAB_TMP/pki"
H=$LAB_TMP/hooks
mkdir -p "$H"
cat >"$H/record" <<'SH'
#!/bin/sh
env | grep '^CULVERT_' | sort >"$(dirname "$0")/$1.env"
SH
chmod 755 "$H/record"
lab_server_conf "$LAB_TMP/gw.conf" "route="
# Repeated keys: lab_server_conf would keep only the last of each.
printf '%s\n' "dns = 198.51.100.53" "dns = 2001:db8::53" "dns-domain = corp.example" \
	"dns-domain = ~internal.example" >>"$LAB_TMP/gw.conf"
lab_client_conf "$LAB_TMP/u.conf" "route=default" "block-ipv6=yes" "kill-switch=yes" \
	"up-script=$H/record" "down-script=$H/record"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client did not come up"
grep -q 'routes: 0\.0\.0\.0/0, unreachable ::/0 (table 51821)' "${LAB_LOG[u]}" ||
	fail "client did not log the default route and block-ipv6's: $(grep 'tunnel up' "${LAB_LOG[u]}")"
ok "client is up: $(grep -o 'routes: .*' "${LAB_LOG[u]}")"
# Into variables, not "| grep -q": ip flushes each rule as it prints it,
# so a grep that quits at the first match can SIGPIPE it, and pipefail
# takes that for a failure.
rules4=$(in_ns u ip rule show)
rules6=$(in_ns u ip -6 rule show)
[[ $rules4 == *"not from all fwmark 0xca6d lookup 51821"* ]] ||
	fail "no 'not fwmark lookup 51821' rule in U: $rules4"
[[ $rules6 == *"fwmark 0xca6d lookup main"* ]] ||
	fail "no IPv6 'fwmark lookup main' rule in U: $rules6"
ok "U has the rules: $(ip -n "$LAB_U" rule show | grep -c 0xca6d) IPv4, $(ip -n "$LAB_U" -6 rule show | grep -c 0xca6d) IPv6"

# ---- everything goes into the tunnel; the tunnel's own packets do not
v0=$(seen via_tunnel) p0=$(seen physical)
n=$(ping_inet 5)
((n >= 4)) || fail "U reaches the internet through the tunnel: $n of 5 replies"
(($(seen via_tunnel) >= v0 + 4 && $(seen physical) == p0)) ||
	fail "the internet saw $(($(seen via_tunnel) - v0)) pings from the gateway's NAT and $(($(seen physical) - p0)) from U"
ok "U reaches $INET_ADDR through the tunnel ($n of 5), the internet sees the gateway's address"

lab_wait_log u 'tunnel up' 1
tun0=$(bytes u "$LAB_DEV" tx) phys0=$(bytes u u0 tx)
ip netns exec "$INET" timeout 60 socat -u TCP-LISTEN:5002,bind=$INET_ADDR,reuseaddr \
	"CREATE:$LAB_TMP/inet.recv" 2>"$LAB_TMP/inet.err" </dev/null &
lab_bg "$!"
lab__wait 5 sh -c "ip netns exec $INET ss -Htln 'sport = :5002' | grep -q ." ||
	fail "socat did not listen in the internet"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$LAB_TMP/send"
in_ns u timeout 60 socat -u "OPEN:$LAB_TMP/send" "TCP:$INET_ADDR:5002" ||
	fail "8 MiB TCP transfer U -> internet failed"
lab__wait 20 sh -c "[ \$(stat -c %s $LAB_TMP/inet.recv 2>/dev/null || echo 0) -ge $((8 * 1024 * 1024)) ]" ||
	fail "the internet received $(stat -c %s "$LAB_TMP/inet.recv" 2>/dev/null) of 8388608 bytes"
tun=$(($(bytes u "$LAB_DEV" tx) - tun0)) phys=$(($(bytes u u0 tx) - phys0))
# The outer packets must leave on u0 (a loop would send them back into
# cv0, and u0 would carry next to nothing). Not byte for byte: a packet
# the tunnel drops under load counts on cv0, and again when TCP resends
# it, but only once on u0.
((tun >= 8 * 1024 * 1024 && phys * 100 >= tun * 90)) ||
	fail "during 8 MiB: $LAB_DEV sent $tun bytes, u0 $phys: the tunnel's packets did not go out physically"
((phys < 2 * tun)) || fail "u0 sent $phys bytes for $tun inner: packets went round more than once (a loop)"
grep -q 'session .* ended' "${LAB_LOG[u]}" && fail "the session ended during the transfer"
[[ $(grep -c 'tunnel up' "${LAB_LOG[u]}") == 1 ]] || fail "the tunnel went down and up again"
ok "8 MiB to the internet through the tunnel: $LAB_DEV sent $tun bytes, u0 $phys (outer, once each); the session stayed up"

# ---- TunnelVision: a more specific route in main towards the physical side
in_ns u ip route add "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0 || fail "rogue route"
v0=$(seen via_tunnel) p0=$(seen physical)
n=$(ping_inet 5)
((n >= 4)) || fail "with the rogue route: $n of 5 replies"
(($(seen physical) == p0 && $(seen via_tunnel) >= v0 + 4)) ||
	fail "with a rogue route in main the pings left the tunnel: physical $p0 -> $(seen physical), tunnel $v0 -> $(seen via_tunnel)"
ok "a more specific route in main (rogue DHCP) does not pull traffic out of the tunnel"
in_ns u ip route del "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0

# ---- block-ipv6: IPv6 is unreachable instead of leaking
out=$(ip netns exec "$LAB_U" ping -6 -c 1 -W 2 "$INET6_ADDR" 2>&1) &&
	fail "IPv6 ping went around the IPv4 tunnel: $out"
ok "IPv6 to $INET6_ADDR is blocked while the tunnel is up: $(echo "$out" | head -n 2 | tr '\n' ' ')"

# ---- DNS: no systemd-resolved in the lab, so up-script gets it
lab__wait 5 test -s "$H/up.env" || fail "up-script did not run"
grep -qxF "CULVERT_DNS=198.51.100.53 2001:db8::53" "$H/up.env" ||
	fail "up-script lacks the DNS servers: $(tr '\n' ' ' <"$H/up.env")"
grep -qxF "CULVERT_DNS_DOMAIN=corp.example ~internal.example" "$H/up.env" ||
	fail "up-script lacks the DNS domains: $(tr '\n' ' ' <"$H/up.env")"
grep -qxF "CULVERT_ROUTES=0.0.0.0/0" "$H/up.env" || fail "up-script's CULVERT_ROUTES: $(tr '\n' ' ' <"$H/up.env")"
grep -Eq 'system D-Bus|systemd-resolved did not take|built without libsystemd' "${LAB_LOG[u]}" ||
	fail "the client did not say why resolved was not used"
ok "up-script got the pushed DNS: $(grep CULVERT_DNS "$H/up.env" | tr '\n' ' '); log: $(grep -Eo '(no system D-Bus|systemd-resolved did not take|built without libsystemd)[^:]*' "${LAB_LOG[u]}" | head -n 1)"

# ---- kill-switch: the gateway goes away. Until the next session what the
# tunnel carried goes nowhere, even with a route in main that would take
# it out physically; the next session takes the table over.
in_ns u ip route add "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0 || fail "rogue route"
lab_stop gw || fail "gateway exited with status $?"
lab_wait_log u 'kill-switch: until the next session' 25 ||
	fail "the client did not block the tunnel's routes when its session ended"
table=$(ip -n "$LAB_U" route show table 51821)
[[ $table == *"unreachable default"* ]] || fail "table 51821 while reconnecting: $table"
p0=$(seen physical)
n=$(ping_inet 3)
[[ ${n:-0} == 0 ]] || fail "U reached the internet ($n of 3) while the tunnel was down"
(($(seen physical) == p0)) || fail "$(($(seen physical) - p0)) pings left U physically while the tunnel was down"
ok "gateway gone: table 51821 holds '$(echo "$table" | head -n 1)', pings fail and none leaves physically"
lab_start gw2 gw "$LAB_TMP/gw.conf"
lab_wait_log gw2 'tls: listening' 10 || fail "gateway did not start again"
lab__wait 30 sh -c "[ \$(grep -c 'tunnel up' '${LAB_LOG[u]}') -ge 2 ]" ||
	fail "the client did not come back within 30 s: $(tail -n 3 "${LAB_LOG[u]}")"
v0=$(seen via_tunnel) p0=$(seen physical)
n=$(ping_inet 3)
((${n:-0} >= 2 && $(seen via_tunnel) >= v0 + 2 && $(seen physical) == p0)) ||
	fail "after the reconnect: $n of 3 replies, tunnel $v0 -> $(seen via_tunnel), physical $p0 -> $(seen physical)"
table=$(ip -n "$LAB_U" route show table 51821)
[[ $table != *"unreachable default"* && $table == *"default dev $LAB_DEV"* ]] ||
	fail "table 51821 after the reconnect: $table"
in_ns u ip route del "$INET_ADDR/32" via "$LAB_GW_PUB" dev u0
ok "the next session took the table over: $n of 3 pings through the tunnel, none physical"

# ---- stopping leaves U's routing exactly as before
lab_stop u
rc=$?
((rc == 0)) || fail "client exited with $rc"
lab__wait 5 test -s "$H/down.env" || fail "down-script did not run"
grep -qxF "CULVERT_DNS=198.51.100.53 2001:db8::53" "$H/down.env" || fail "down-script lacks CULVERT_DNS"
after=$(state)
[[ $after == "$before" ]] || fail "U's rules and routes differ after the client stopped:
$(diff <(echo "$before") <(echo "$after"))"
ok "after SIGTERM, ip rule and ip route show table all in U are exactly as before"
[[ $(ping_inet 3 -6) -ge 2 ]] || fail "IPv6 does not work again after the tunnel went down"
ok "IPv6 works again after the client stopped"

# ---- a crash leaves rules behind; the next start removes them
lab_start u2 u "$LAB_TMP/u.conf"
lab_wait_log u2 'tunnel up' 15 || fail "client did not come up again"
kill -KILL "${LAB_PID[u2]}"
lab__wait 5 sh -c "! kill -0 ${LAB_PID[u2]} 2>/dev/null"
crashed=$(state)
[[ $crashed != "$before" ]] || fail "SIGKILL left nothing behind: the check below proves nothing"
ok "SIGKILL leaves: $(diff <(echo "$before") <(echo "$crashed") | grep -c '^>') lines of rules and routes"
sed -i '/^route /d;/^block-ipv6/d' "$LAB_TMP/u.conf"
lab_start u3 u "$LAB_TMP/u.conf"
lab_wait_log u3 'earlier culvertd left' 15 || fail "the next start did not clean up"
lab_wait_log u3 'tunnel up' 15 || fail "client did not come up after the crash"
lab_stop u3
[[ $(state) == "$before" ]] || fail "after a crash and a clean run, U's routing differs:
$(diff <(echo "$before") <(state))"
ok "the next start removed what the crash left; after it, U's routing is as before"
exit 0
