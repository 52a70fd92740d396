#!/usr/bin/env bash
# ipv6_only_inner.sh - an IPv6-only tunnel: the gateway has pool6 and no
# pool, so its welcome carries ADDR6 and no ADDR4. The lab (drawing in
# lab.sh) plus an IPv6 LAN behind the gateway, as in ipv6_inner.sh:
#
#   gateway gw1 2001:db8:200::1/64 ---- v0 2001:db8:200::2/64 on V
#   V: 2001:db8:100::/64 via 2001:db8:200::1 (the way back to pool6)
#
# The gateway has pool6 = 2001:db8:100::/64 and pushes only
# route = 2001:db8:200::/64. Over tls, dtls and udp: U gets
# 2001:db8:100::2/64 on cv0 and no IPv4 address, no IPv4 route through
# cv0; ping -6 U -> V crosses the tunnel (the gateway's rx/tx counters
# move with it); an IPv4 packet U pushes into the tunnel (a host route to
# V through cv0) is dropped by the gateway and counted (spoofed_source),
# and V never answers it. Over tls, the up-script sees
# CULVERT_INNER_ADDRESS6 and CULVERT_ROUTES but no CULVERT_INNER_ADDRESS,
# and culvertctl status on both sides shows none for IPv4 ("-", JSON null). A client's own
# route = default makes IPv4 unreachable instead of letting it leak; a
# session below 1280 bytes is refused with a reason.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
POOL6=2001:db8:100::/64
LAN6=2001:db8:200::/64
GW_LAN6=2001:db8:200::1
V_LAN6=2001:db8:200::2
N=5

lab_require
lab_require_tls tls
lab_require_tls dtls
lab_up
ip netns exec "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
	fail "cannot turn IPv6 forwarding on in the gateway"
# IPv4 forwarding on too: an IPv4 packet the gateway let through would
# reach V, and V's answer would find its way back to U outside the tunnel.
lab_forwarding on
lab__ip "$LAB_GW" addr add "$GW_LAN6/64" dev gw1 nodad
lab__ip "$LAB_V" addr add "$V_LAN6/64" dev v0 nodad
lab__ip "$LAB_V" -6 route add "$POOL6" via "$GW_LAN6"
lab__wait 5 ip netns exec "$LAB_V" ping -6 -c 1 -W 1 -q "$GW_LAN6" ||
	fail "V cannot reach the gateway on $LAN6"
lab_pki "$LAB_TMP/pki"
cat >"$LAB_TMP/up.sh" <<EOF
#!/bin/sh
env | grep '^CULVERT_' >"$LAB_TMP/up.env.tmp" && mv "$LAB_TMP/up.env.tmp" "$LAB_TMP/up.env"
EOF
chmod +x "$LAB_TMP/up.sh"

inner6() {   # inner6 NS : NS's global IPv6 address on cv0, with its length
	ip -n "$(lab__ns "$1")" -6 -o addr show dev "$LAB_DEV" scope global 2>/dev/null |
		awk '{ print $4; exit }'
}
counters() {   # counters NAME : the gateway NAME's counters into LAB_COUNTERS
	lab_counters "$1" || fail "gateway $1 logged no 'counters:' line after SIGUSR1"
}
ping_count() {   # ping_count NS DEST COUNT [ARGS...] : echo the replies received
	local out
	out=$(in_ns "$1" timeout $(($3 * 2 + 5)) ping -c "$3" -i 0.2 -W 2 "${@:4}" "$2" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /' >&2
	sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out"
}

for T in tls dtls udp; do
	gw=gw-$T u=u-$T
	if [[ $T == udp ]]; then
		lab_write_configs
		sed -i -e '/^pool /d' -e "s|^route .*|route = $LAN6|" "$LAB_TMP/gw.conf"
		printf 'pool6 = %s\n' "$POOL6" >>"$LAB_TMP/gw.conf"
		mv "$LAB_TMP/gw.conf" "$LAB_TMP/$gw.conf"
		mv "$LAB_TMP/u.conf" "$LAB_TMP/$u.conf"
	else
		# pool= removes the key: IPv6 only.
		lab_server_conf "$LAB_TMP/$gw.conf" "transport=$T" pool= \
			"route=$LAN6" "pool6=$POOL6"
		lab_client_conf "$LAB_TMP/$u.conf" "transport=$T" "up-script=$LAB_TMP/up.sh"
	fi
	grep -q '^pool ' "$LAB_TMP/$gw.conf" && fail "the $T gateway's config still has a pool"
	out=$("$CULVERTD" -c "$LAB_TMP/$gw.conf" --check-config 2>&1) ||
		fail "--check-config refuses the IPv6-only gateway: $out"
	grep -q "pool6 $POOL6 (IPv6 only)" <<<"$out" ||
		fail "--check-config does not say the gateway is IPv6 only: $out"
	rm -f "$LAB_TMP/up.env"
	lab_start "$gw" gw "$LAB_TMP/$gw.conf"
	lab_wait_log "$gw" "$T: listening" 10 || fail "gateway did not listen over $T"
	grep -q "IPv6 only (no pool)" "${LAB_LOG[$gw]}" ||
		fail "the gateway did not log that it runs IPv6 only"
	if [[ $T == tls ]]; then
		# diagnose knows there is no IPv4 pool: it speaks of pool6 and
		# IPv6 forwarding, never of an empty IPv4 pool.
		in_ns gw "$CULVERTCTL" -c "$LAB_TMP/$gw.conf" diagnose >"$LAB_TMP/diag.out" 2>&1
		grep -q 'IPv6 forwarding is on' "$LAB_TMP/diag.out" ||
			fail "diagnose on the IPv6-only gateway: $(cat "$LAB_TMP/diag.out")"
		! grep -Eq '\(none\)|0\.0\.0\.0|IPv4 forwarding' "$LAB_TMP/diag.out" ||
			fail "diagnose on the IPv6-only gateway speaks of IPv4: $(cat "$LAB_TMP/diag.out")"
		ok "tls: diagnose on the IPv6-only gateway checks IPv6 forwarding and nothing of IPv4"
	fi
	lab_start "$u" u "$LAB_TMP/$u.conf"
	lab_wait_log "$u" 'tunnel up' 15 || fail "U did not come up over $T"
	a6=$(inner6 u)
	[[ $a6 == 2001:db8:100::2/64 ]] || fail "U's inner IPv6 address over $T is '$a6', not 2001:db8:100::2/64"
	a6=${a6%/*}
	v4=$(ip -n "$LAB_U" -4 -o addr show dev "$LAB_DEV" 2>&1)
	[[ -z $v4 ]] || fail "U's $LAB_DEV has an IPv4 address on an IPv6-only tunnel: $v4"
	v4=$(ip -n "$LAB_U" -4 route show table all dev "$LAB_DEV" 2>&1)
	[[ -z $v4 ]] || fail "U routes IPv4 through $LAB_DEV on an IPv6-only tunnel: $v4"
	grep -q "tunnel up: $a6/64 on $LAB_DEV over $T" "${LAB_LOG[$u]}" ||
		fail "U's 'tunnel up' line does not name $a6/64 alone: $(grep 'tunnel up' "${LAB_LOG[$u]}")"
	ok "$T: U has $a6/64 on $LAB_DEV, no IPv4 address and no IPv4 route there"
	in_ns u ip -6 route get "$V_LAN6" | grep -q "dev $LAB_DEV" ||
		fail "U's route to $V_LAN6 does not go through $LAB_DEV: $(ip -n "$LAB_U" -6 route 2>&1)"

	counters "$gw"
	rx0=${LAB_COUNTERS[rx_packets]} tx0=${LAB_COUNTERS[tx_packets]}
	got=$(ping_count u "$V_LAN6" "$N" -6)
	((${got:-0} >= N - 1)) || fail "ping -6 U -> V over $T: ${got:-0} of $N"
	counters "$gw"
	rx=${LAB_COUNTERS[rx_packets]} tx=${LAB_COUNTERS[tx_packets]}
	((rx >= rx0 + got && tx >= tx0 + got)) ||
		fail "the gateway's counters did not move with $got pings: rx_packets $rx0 -> $rx, tx_packets $tx0 -> $tx"
	ok "$T: ping -6 U -> V ($V_LAN6) crosses the tunnel: $got of $N, gateway rx_packets $rx0 -> $rx, tx_packets $tx0 -> $tx"

	# An IPv4 packet into the tunnel: a host route to V through cv0 (U's
	# main table; the source is then u0's address). Were it delivered,
	# V's answer would reach U outside the tunnel, via the gateway.
	counters "$gw"
	before=${LAB_COUNTERS[spoofed_source]:-}
	[[ $before =~ ^[0-9]+$ ]] || fail "the counters line has no spoofed_source"
	lab__ip "$LAB_U" route add "$LAB_V_LAN/32" dev "$LAB_DEV"
	got=$(ping_count u "$LAB_V_LAN" "$N" -4)
	lab__ip "$LAB_U" route del "$LAB_V_LAN/32" dev "$LAB_DEV"
	((${got:-0} == 0)) || fail "V answered $got IPv4 pings U sent into the IPv6-only tunnel over $T"
	counters "$gw"
	after=${LAB_COUNTERS[spoofed_source]}
	((after >= before + N)) ||
		fail "spoofed_source went $before -> $after after $N IPv4 pings into the IPv6-only tunnel over $T"
	ok "$T: $N IPv4 pings into the tunnel go unanswered, dropped and counted (spoofed_source $before -> $after)"
	got=$(ping_count u "$V_LAN6" 3 -6)
	((${got:-0} >= 2)) || fail "U no longer reaches V over IPv6 after the IPv4 packets: ${got:-0} of 3"

	if [[ $T == tls ]]; then
		lab__wait 5 test -s "$LAB_TMP/up.env" || fail "the up-script did not run"
		{ grep -qx "CULVERT_INNER_ADDRESS6=$a6/64" "$LAB_TMP/up.env" &&
			grep -qx "CULVERT_ROUTES=$LAN6" "$LAB_TMP/up.env"; } ||
			fail "the up-script's environment lacks CULVERT_INNER_ADDRESS6=$a6/64 or CULVERT_ROUTES=$LAN6: $(cat "$LAB_TMP/up.env")"
		! grep -q '^CULVERT_INNER_ADDRESS=' "$LAB_TMP/up.env" ||
			fail "the up-script sees an IPv4 CULVERT_INNER_ADDRESS on an IPv6-only tunnel: $(cat "$LAB_TMP/up.env")"
		ok "tls: the up-script sees CULVERT_INNER_ADDRESS6=$a6/64 and CULVERT_ROUTES=$LAN6, no CULVERT_INNER_ADDRESS"
		"$CULVERTCTL" -s "${LAB_SOCK[$gw]}" status --json >"$LAB_TMP/status.json" 2>&1 ||
			fail "culvertctl status --json: $(cat "$LAB_TMP/status.json")"
		got=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['sessions'][0]; print(s['inner'], s['inner6'])" "$LAB_TMP/status.json") ||
			fail "status --json: $(cat "$LAB_TMP/status.json")"
		[[ $got == "None $a6" ]] || fail "the gateway's status shows inner, inner6 '$got', expected null and $a6"
		"$CULVERTCTL" -s "${LAB_SOCK[$u]}" status >"$LAB_TMP/status-u.txt" 2>&1 ||
			fail "culvertctl status on U: $(cat "$LAB_TMP/status-u.txt")"
		grep -qE "^  outer: .*  inner: - $a6\$" "$LAB_TMP/status-u.txt" || fail "U's status does not show $a6: $(cat "$LAB_TMP/status-u.txt")"
		ok "tls: culvertctl status shows no IPv4 address and $a6, on the gateway and on U"
	fi
	for n in "$u" "$gw"; do
		lab_stop "$n" || fail "$n did not stop cleanly"
	done
	[[ -z $(ip -n "$LAB_U" -6 route show table all "$LAN6" 2>/dev/null) ]] ||
		fail "U still routes $LAN6 after its culvertd stopped"
done

# A client's own route = default on an IPv6-only tunnel: ::/0 through
# cv0, and 0.0.0.0/0 unreachable in the tunnel's table, so that IPv4
# fails at once instead of leaking around the tunnel.
lab_server_conf "$LAB_TMP/gw-full.conf" pool= "route=$LAN6" "pool6=$POOL6"
lab_client_conf "$LAB_TMP/u-full.conf" route=default
lab_start gw-full gw "$LAB_TMP/gw-full.conf"
lab_wait_log gw-full 'tls: listening' 10 || fail "gateway did not listen over tls"
lab_start u-full u "$LAB_TMP/u-full.conf"
lab_wait_log u-full 'tunnel up' 15 || fail "U did not come up with route = default"
table=$(ip -n "$LAB_U" -4 route show table 51821 2>&1)
grep -q '^unreachable default' <<<"$table" ||
	fail "U's tunnel table has no 'unreachable default' for IPv4 on an IPv6-only full tunnel: $table"
table6=$(ip -n "$LAB_U" -6 route show table 51821 2>&1)
grep -q "^default dev $LAB_DEV" <<<"$table6" ||
	fail "U's tunnel table has no IPv6 default through $LAB_DEV: $table6"
out=$(in_ns u timeout 5 ping -4 -c 1 -W 2 "$LAB_V_LAN" 2>&1)
grep -Eqi 'unreachable|no route to host' <<<"$out" || fail "an IPv4 ping from U on an IPv6-only full tunnel did not fail as unreachable: $out"
got=$(ping_count u "$V_LAN6" 3 -6)
((${got:-0} >= 2)) || fail "ping -6 U -> V through the IPv6-only full tunnel: ${got:-0} of 3"
ok "route = default on an IPv6-only tunnel: ::/0 through $LAB_DEV ($got of 3 pings), IPv4 unreachable, no leak"
for n in u-full gw-full; do
	lab_stop "$n" || fail "$n did not stop cleanly"
done
[[ -z $(ip -n "$LAB_U" -4 route show table 51821 2>/dev/null) ]] ||
	fail "U left IPv4 routes in its tunnel table after it stopped"

# A session below IPv6's 1280 ([dtls] mtu = 1200) has nothing left on an
# IPv6-only tunnel: the gateway refuses it and says why, instead of a
# session that carries nothing.
lab_server_conf "$LAB_TMP/gw-small.conf" transport=dtls pool= "route=$LAN6" "pool6=$POOL6" \
	"[dtls]=" mtu=1200
lab_client_conf "$LAB_TMP/u-small.conf" transport=dtls "[dtls]=" mtu=1200
lab_start gw-small gw "$LAB_TMP/gw-small.conf"
lab_wait_log gw-small 'dtls: listening' 10 || fail "gateway did not listen over dtls"
lab_start u-small u "$LAB_TMP/u-small.conf"
lab_wait_log gw-small 'refusing .*below IPv6.s minimum of 1280, and this server has only IPv6 inside' 15 ||
	fail "the gateway did not refuse a session below 1280 bytes with a reason"
lab_wait_log u-small 'tunnel MTU too small for IPv6' 10 ||
	fail "U did not log the gateway's reason"
! grep -q 'tunnel up' "${LAB_LOG[u-small]}" || fail "U came up on an IPv6-only tunnel below 1280 bytes"
ok "dtls with mtu 1200 on an IPv6-only gateway: refused, both sides say why"
exit 0
