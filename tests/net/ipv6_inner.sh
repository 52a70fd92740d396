#!/usr/bin/env bash
# ipv6_inner.sh - IPv6 inside the tunnel. The lab (drawing in lab.sh) plus
# an IPv6 LAN behind the gateway:
#
#   gateway gw1 2001:db8:200::1/64 ---- v0 2001:db8:200::2/64 on V
#   V: 2001:db8:100::/64 via 2001:db8:200::1 (the way back to pool6)
#
# The gateway has pool6 = 2001:db8:100::/64 (it takes ::1) and pushes
# route = 2001:db8:200::/64 as well as the IPv4 LAN. Over tls and over
# dtls: U gets 2001:db8:100::2 and U2 ::3 on cv0 with the route, U pings
# V's 2001:db8:200::2, a TCP transfer over IPv6 arrives intact with U's
# inner IPv6 address as its source, U reaches U2 over IPv6
# (client-to-client = yes), a ping U sends from an IPv6 address it was
# not given is dropped and counted (spoofed_source), and culvertctl status
# shows the IPv6 addresses. Over tls, the up-script sees
# CULVERT_INNER_ADDRESS6, and after a restart of the gateway both clients
# are back with their IPv6 addresses (PREVIOUS6). Over dtls with
# [dtls] mtu = 1400, V's IPv6 packet too big for the session is answered
# with ICMPv6 "packet too big" naming the MTU that fits.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
POOL6=2001:db8:100::/64
LAN6=2001:db8:200::/64
GW_LAN6=2001:db8:200::1
V_LAN6=2001:db8:200::2
FAKE6=2001:db8:100::77
N=5

lab_require
lab_require_tls tls
lab_require_tls dtls
lab_up
lab_add_client 2
lab_forwarding on
# With pool6 and IPv6 forwarding off, culvertctl diagnose says so, with
# the fix; once it is on, diagnose says that too.
lab_write_configs
printf 'pool6 = %s\n' "$POOL6" >>"$LAB_TMP/gw.conf"
ip netns exec "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=0 ||
	fail "cannot turn IPv6 forwarding off in the gateway"
in_ns gw "$CULVERTCTL" -c "$LAB_TMP/gw.conf" diagnose >"$LAB_TMP/diag.out" 2>&1
grep -q 'IPv6 forwarding is off' "$LAB_TMP/diag.out" &&
	grep -q 'net.ipv6.conf.all.forwarding=1' "$LAB_TMP/diag.out" ||
	fail "diagnose with pool6 and IPv6 forwarding off did not say so: $(cat "$LAB_TMP/diag.out")"
ok "diagnose with pool6: 'IPv6 forwarding is off', with the sysctl that fixes it"
ip netns exec "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
	fail "cannot turn IPv6 forwarding on in the gateway"
in_ns gw "$CULVERTCTL" -c "$LAB_TMP/gw.conf" diagnose >"$LAB_TMP/diag.out" 2>&1
grep -q 'IPv6 forwarding is on' "$LAB_TMP/diag.out" ||
	fail "diagnose with IPv6 forwarding on did not say so: $(cat "$LAB_TMP/diag.out")"
ok "diagnose: 'IPv6 forwarding is on' once it is"
lab__ip "$LAB_GW" addr add "$GW_LAN6/64" dev gw1 nodad
lab__ip "$LAB_V" addr add "$V_LAN6/64" dev v0 nodad
lab__ip "$LAB_V" -6 route add "$POOL6" via "$GW_LAN6"
lab__wait 5 ip netns exec "$LAB_V" ping -6 -c 1 -W 1 -q "$GW_LAN6" ||
	fail "V cannot reach the gateway on $LAN6"
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
cat >"$LAB_TMP/up.sh" <<EOF
#!/bin/sh
env | grep '^CULVERT_' >"$LAB_TMP/up.env.tmp" && mv "$LAB_TMP/up.env.tmp" "$LAB_TMP/up.env"
EOF
chmod +x "$LAB_TMP/up.sh"

inner6() {   # inner6 NS : NS's global IPv6 address on cv0, with its length
	ip -n "$(lab__ns "$1")" -6 -o addr show dev "$LAB_DEV" scope global 2>/dev/null |
		awk '{ print $4; exit }'
}
spoofed() {   # spoofed NAME : the gateway NAME's spoofed_source now
	lab_counters "$1" || fail "gateway $1 logged no 'counters:' line after SIGUSR1"
	SPOOFED=${LAB_COUNTERS[spoofed_source]:-}
	[[ $SPOOFED =~ ^[0-9]+$ ]] || fail "counters line has no spoofed_source"
}
ping6_ok() {   # ping6_ok NS DEST COUNT [ARGS...] : echo the replies received
	local out
	out=$(in_ns "$1" timeout $(($3 * 2 + 5)) ping -6 -c "$3" -i 0.2 -W 2 "${@:4}" "$2" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /' >&2
	sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' <<<"$out"
}

for T in tls dtls; do
	gw=gw-$T u=u-$T u2=u2-$T extra=()
	# A path MTU of 1400: the session carries less than the gateway's
	# TUN (1400) but still the 1280 IPv6 needs.
	[[ $T == dtls ]] && extra=("[dtls]=" mtu=1400)
	lab_server_conf "$LAB_TMP/$gw.conf" "transport=$T" "pool6=$POOL6" \
		client-to-client=yes "${extra[@]}"
	# A second route line, before any section.
	sed -i "2i route = $LAN6" "$LAB_TMP/$gw.conf"
	lab_client_conf "$LAB_TMP/$u.conf" "transport=$T" "up-script=$LAB_TMP/up.sh" "${extra[@]}"
	lab_client_conf "$LAB_TMP/$u2.conf" "transport=$T" "cert=$P/bob.crt" "key=$P/bob.key" "${extra[@]}"
	lab_start "$gw" gw "$LAB_TMP/$gw.conf"
	lab_wait_log "$gw" "$T: listening" 10 || fail "gateway did not listen over $T"
	grep -q "has 2001:db8:100::1/64 too" "${LAB_LOG[$gw]}" ||
		fail "gateway did not put 2001:db8:100::1/64 on $LAB_DEV"
	lab_start "$u" u "$LAB_TMP/$u.conf"
	lab_wait_log "$u" 'tunnel up' 15 || fail "U did not come up over $T"
	lab_start "$u2" u2 "$LAB_TMP/$u2.conf"
	lab_wait_log "$u2" 'tunnel up' 15 || fail "U2 did not come up over $T"
	a6=$(inner6 u) b6=$(inner6 u2)
	[[ $a6 == 2001:db8:100::2/64 && $b6 == 2001:db8:100::3/64 ]] ||
		fail "inner IPv6 addresses over $T: U '$a6', U2 '$b6' (expected ::2/64 and ::3/64)"
	a6=${a6%/*} b6=${b6%/*}
	ok "$T: U has $a6/64 and U2 $b6/64 on $LAB_DEV, next to $(lab_inner u) and $(lab_inner u2)"
	in_ns u ip -6 route get "$V_LAN6" | grep -q "dev $LAB_DEV" ||
		fail "U's route to $V_LAN6 does not go through $LAB_DEV: $(ip -n "$LAB_U" -6 route 2>&1)"
	ok "$T: U routes $LAN6 through $LAB_DEV"

	got=$(ping6_ok u "$V_LAN6" "$N")
	((got >= N - 1)) || fail "ping -6 U -> V over $T: ${got:-0} of $N"
	ok "$T: ping U -> V ($V_LAN6) over IPv6 inside: $got of $N"
	LAB_V_LAN=$V_LAN6 lab_xfer 4 5002 || fail "4 MiB TCP over IPv6 U -> V over $T failed"
	peer=$(python3 -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1].strip("[]")))' "$XFER_PEER")
	[[ $peer == "$a6" ]] ||
		fail "V saw the IPv6 transfer come from '$XFER_PEER', not U's $a6"
	ok "$T: 4 MiB TCP over IPv6 U -> V in ${XFER_SECS}s, sha256 matches, V saw $peer"
	got=$(ping6_ok u "$b6" 3)
	((got >= 2)) || fail "ping -6 U -> U2 ($b6) over $T with client-to-client = yes: ${got:-0} of 3"
	ok "$T: U reaches U2 at $b6 (client-to-client over IPv6)"

	"$CULVERTCTL" -s "${LAB_SOCK[$gw]}" status --json >"$LAB_TMP/status.json" 2>&1 ||
		fail "culvertctl status --json: $(cat "$LAB_TMP/status.json")"
	got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(sorted(s['inner6'] for s in d['sessions'])))" "$LAB_TMP/status.json") ||
		fail "status --json has no inner6: $(cat "$LAB_TMP/status.json")"
	[[ $got == "$a6 $b6" ]] || fail "gateway's status shows inner6 '$got', expected '$a6 $b6'"
	"$CULVERTCTL" -s "${LAB_SOCK[$u]}" status >"$LAB_TMP/status-u.txt" 2>&1 ||
		fail "culvertctl status on U: $(cat "$LAB_TMP/status-u.txt")"
	grep -qE "^  outer: .*  inner: .* $a6\$" "$LAB_TMP/status-u.txt" || fail "U's status does not show $a6: $(cat "$LAB_TMP/status-u.txt")"
	ok "$T: culvertctl status shows the IPv6 addresses, on the gateway ($got) and on U"

	# A source U was not given: dropped by the gateway, and counted.
	spoofed "$gw"
	before=$SPOOFED
	lab__ip "$LAB_U" addr add "$FAKE6/128" dev "$LAB_DEV" nodad
	got=$(ping6_ok u "$V_LAN6" "$N" -I "$FAKE6")
	((${got:-0} == 0)) || fail "V answered $got pings that U sent from $FAKE6 over $T"
	lab__ip "$LAB_U" addr del "$FAKE6/128" dev "$LAB_DEV"
	spoofed "$gw"
	((SPOOFED >= before + N)) ||
		fail "spoofed_source went $before -> $SPOOFED after $N IPv6 pings from $FAKE6"
	ok "$T: $N pings from U as $FAKE6 go unanswered, spoofed_source $before -> $SPOOFED"
	got=$(ping6_ok u "$V_LAN6" 3)
	((got >= 2)) || fail "U no longer reaches V over IPv6 after the spoofing: ${got:-0} of 3"

	if [[ $T == dtls ]]; then
		mtu=$(in_ns u cat "/sys/class/net/$LAB_DEV/mtu")
		out=$(in_ns v ping -6 -c 2 -W 2 -M do -s $((1400 - 48)) "$a6" 2>&1)
		grep -Eq "[Pp]acket too big.*mtu ?= ?$mtu" <<<"$out" ||
			fail "V got no ICMPv6 'packet too big (mtu $mtu)' for a 1400-byte packet: $out"
		ok "dtls: V is told 'packet too big, mtu $mtu' for an IPv6 packet too big for the session"
		out=$(in_ns v ping -6 -c 2 -W 2 -M do -s $((mtu - 48)) "$a6" 2>&1)
		grep -q ' 0% packet loss' <<<"$out" || fail "an IPv6 packet of exactly $mtu bytes did not cross: $out"
		ok "dtls: an IPv6 packet of exactly $mtu bytes crosses"
	else
		lab__wait 5 test -s "$LAB_TMP/up.env" || fail "the up-script did not run"
		grep -qx "CULVERT_INNER_ADDRESS6=$a6/64" "$LAB_TMP/up.env" ||
			fail "the up-script's environment has no CULVERT_INNER_ADDRESS6=$a6/64: $(cat "$LAB_TMP/up.env")"
		ok "tls: the up-script sees CULVERT_INNER_ADDRESS6=$a6/64"
		# A new gateway remembers nothing: each client asks for its
		# addresses back (PREVIOUS4, PREVIOUS6). U is held (SIGSTOP)
		# until U2 is back, so that a gateway ignoring PREVIOUS6 would
		# give U2 the first free address, ::2.
		kill -STOP "${LAB_PID[$u]}" || fail "cannot hold U"
		lab_stop "$gw" || fail "gateway did not stop"
		unset "LAB_PID[$gw]"
		mv "${LAB_LOG[$gw]}" "$LAB_TMP/$gw-first.log"
		lab_start "$gw" gw "$LAB_TMP/$gw.conf"
		lab_wait_log "$gw" "$T: listening" 10 || fail "gateway did not start again"
		lab_wait_log "$gw" 'session bob up' 15 || fail "U2 was not back within 15 s of the restart"
		kill -CONT "${LAB_PID[$u]}" || fail "cannot release U"
		lab_wait_log "$gw" 'session alice up' 15 || fail "U was not back within 15 s of its release"
		lab__wait 5 bash -c "ip -n '$LAB_U' -6 -o addr show dev '$LAB_DEV' scope global | grep -q ." ||
			fail "U has no IPv6 address on $LAB_DEV after the restart"
		[[ $(inner6 u) == "$a6/64" && $(inner6 u2) == "$b6/64" ]] ||
			fail "after the restart: U has '$(inner6 u)', U2 '$(inner6 u2)' (expected $a6/64, $b6/64)"
		got=$(ping6_ok u "$V_LAN6" 3)
		((got >= 2)) || fail "ping -6 U -> V after the restart: ${got:-0} of 3"
		ok "tls: after a gateway restart U is back with $a6 and U2 with $b6; ping $got of 3"
	fi
	for n in "$u" "$u2" "$gw"; do
		lab_stop "$n" || fail "$n did not stop cleanly"
	done
	[[ -z $(ip -n "$LAB_U" -6 route show "$LAN6" 2>/dev/null) ]] ||
		fail "U still routes $LAN6 after its culvertd stopped"
done

# A session whose MTU is below IPv6's 1280 ([dtls] mtu = 1200): Linux
# takes IPv6 off such a device, so the tunnel comes up on IPv4 alone,
# and both sides say why.
lab_server_conf "$LAB_TMP/gw-small.conf" transport=dtls "pool6=$POOL6" "[dtls]=" mtu=1200
sed -i "2i route = $LAN6" "$LAB_TMP/gw-small.conf"
lab_client_conf "$LAB_TMP/u-small.conf" transport=dtls "[dtls]=" mtu=1200
lab_start gw-small gw "$LAB_TMP/gw-small.conf"
lab_wait_log gw-small 'dtls: listening' 10 || fail "gateway did not listen over dtls"
lab_start u-small u "$LAB_TMP/u-small.conf"
lab_wait_log u-small 'tunnel up' 15 || fail "U did not come up over dtls with mtu 1200"
[[ -z $(inner6 u) ]] || fail "U has IPv6 address $(inner6 u) on a $LAB_DEV below 1280 bytes"
grep -q "routes: $LAB_LAN_NET (table [0-9]*)\$" "${LAB_LOG[u-small]}" ||
	fail "U without IPv6 inside was pushed more than $LAB_LAN_NET: $(grep 'tunnel up' "${LAB_LOG[u-small]}")"
grep -q 'no IPv6 inside: the tunnel MTU over dtls is .*below IPv6' "${LAB_LOG[gw-small]}" ||
	fail "the gateway did not say why it gave no IPv6 address"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "IPv4 ping U -> V with mtu 1200: $LAB_PING_RECEIVED of 3"
ok "dtls with mtu 1200: no IPv6 inside (below 1280), the gateway says why, IPv4 works ($LAB_PING_RECEIVED of 3)"
exit 0
