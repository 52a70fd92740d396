#!/usr/bin/env bash
# tap_lab.sh - layer 2 (device-type = tap): two clients join the LAN's
# Ethernet segment through the gateway's bridge, one over dtls, one over
# tls. Each gets a DHCP lease and an IPv6 address (router advertisement)
# from a real dnsmasq on V through the tunnel, pings V and the other
# client; V's neighbour table holds their MAC addresses; a 20 MiB TCP
# transfer arrives intact; `culvertctl status` shows each session's MACs.
# Then the attacks: frames from another client's MAC address (dropped,
# counted, the victim unhurt), more MACs than max-macs, a broadcast flood
# (the other client's ping loses under 1%, the flood reaches it at
# flood-rate); and a TUN client against the TAP gateway, and a TAP client
# against a TUN gateway, refused with words on both sides. Between them:
# V's full-size packets to a dtls client fragmented or told the MTU,
# diagnose finding the TAP device off its bridge, and a third client over
# udp with a static address. About 30 s.
#
#   U  (cvt-u)   cv0 TAP ==dtls==\                     (cvt-v)
#                                 gateway (cvt-gw): cv0 TAP --- br0 --- gw1 === v0  V
#   U2 (cvt-u2)  cv0 TAP ==tls===/   198.51.100.1/24, 2001:db8:21::1/64      198.51.100.2/24
#                                                                          2001:db8:21::2/64
#   U3 (cvt-u3): the refused ones                                          dnsmasq: DHCP
#                                                                          .100-.150, RA
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v dnsmasq >/dev/null || skip "dnsmasq not found: install dnsmasq-base"
command -v busybox >/dev/null || skip "busybox not found (its udhcpc is the DHCP client): install busybox"
command -v python3 >/dev/null || skip "python3 not found"
[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || {
	echo "CULVERTCTL is not set to an executable: run this through make check" >&2
	exit 99
}

NET6=2001:db8:21
lab_up
lab_add_client 2
lab_add_client 3
# The gateway's LAN side becomes a bridge: gw1 its port, the address on it.
in_ns gw ip link add br0 type bridge || fail "cannot make bridge br0"
lab__ip "$LAB_GW" addr del "$LAB_GW_LAN/24" dev gw1
lab__ip "$LAB_GW" link set gw1 master br0
lab__ip "$LAB_GW" addr add "$LAB_GW_LAN/24" dev br0
lab__ip "$LAB_GW" addr add "$NET6::1/64" dev br0 nodad
lab__ip "$LAB_GW" link set br0 up
lab__ip "$LAB_V" addr add "$NET6::2/64" dev v0 nodad
lab__wait 5 ip netns exec "$LAB_V" ping -c 1 -W 1 -q "$LAB_GW_LAN" ||
	fail "V cannot reach the gateway through br0"

# dnsmasq on V, in the foreground, no DNS, its files in our temp dir.
printf '[v] dnsmasq -k (DHCP 198.51.100.100-150, RA for %s::/64)\n' "$NET6" >&2
ip netns exec "$LAB_V" timeout 120 dnsmasq -k --conf-file=/dev/null --port=0 \
	--user=root --interface=v0 --bind-interfaces --log-facility=- --log-dhcp \
	--dhcp-range=198.51.100.100,198.51.100.150,255.255.255.0,10m \
	--dhcp-range=$NET6::,ra-only,64 --enable-ra \
	--dhcp-leasefile="$LAB_TMP/dnsmasq.leases" --pid-file="$LAB_TMP/dnsmasq.pid" \
	>"$LAB_TMP/dnsmasq.log" 2>&1 </dev/null &
lab_bg "$!"

lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
lab_server_conf "$LAB_TMP/gw.conf" "transport=dtls, tls" pool= route= \
	device-type=tap bridge=br0 client-to-client=yes
lab_client_conf "$LAB_TMP/u.conf" transport=dtls device-type=tap
lab_client_conf "$LAB_TMP/u2.conf" transport=tls device-type=tap \
	"cert=$P/bob.crt" "key=$P/bob.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the TAP gateway did not listen within 10 s"
grep -q 'cv0 (TAP) is up, a port of bridge br0' "${LAB_LOG[gw]}" ||
	fail "the gateway did not say its TAP device joined br0"
master=$(ip -n "$LAB_GW" -o link show cv0 | grep -o 'master [a-z0-9]*')
[[ $master == 'master br0' ]] || fail "cv0 is not a port of br0 in the gateway: '$master'"
ip -n "$LAB_GW" -d link show cv0 | grep -q 'hairpin on' ||
	fail "client-to-client = yes, but the bridge's hairpin is off on cv0"
ok "the gateway's TAP device cv0 is a port of br0, hairpin on (client-to-client)"

declare -A over=([u]=dtls [u2]=tls) mac=() lease=()
for c in u u2; do
	lab_start "$c" "$c" "$LAB_TMP/$c.conf"
done
for c in u u2; do
	lab_wait_log "$c" 'tunnel up' 15 || fail "TAP client $c did not log 'tunnel up' within 15 s"
	grep -q "tunnel up: cv0 (TAP) on the server's LAN over ${over[$c]}" "${LAB_LOG[$c]}" ||
		fail "client $c is not up over ${over[$c]}: $(grep 'tunnel up' "${LAB_LOG[$c]}")"
	mac[$c]=$(ip netns exec "$(lab__ns "$c")" cat /sys/class/net/cv0/address)
done
ok "u (dtls) and u2 (tls) are up as TAP clients: MACs ${mac[u]}, ${mac[u2]}"

# DHCP through the tunnel: busybox udhcpc, with a script that only puts
# the address on cv0 (nothing in /etc is touched).
cat >"$LAB_TMP/udhcpc.sh" <<-'EOF'
	#!/bin/sh
	[ "$1" = bound ] || [ "$1" = renew ] || exit 0
	ip addr replace "$ip/${mask:-24}" dev "$interface"
EOF
chmod +x "$LAB_TMP/udhcpc.sh"
for c in u u2; do
	in_ns "$c" timeout 30 busybox udhcpc -f -q -n -t 10 -T 2 -i cv0 \
		-s "$LAB_TMP/udhcpc.sh" >"$LAB_TMP/udhcpc-$c.log" 2>&1 ||
		fail "$c got no DHCP lease through the tunnel: $(cat "$LAB_TMP/udhcpc-$c.log"; tail -n 5 "$LAB_TMP/dnsmasq.log")"
	lease[$c]=$(ip -n "$(lab__ns "$c")" -4 -o addr show dev cv0 | awk '{ sub("/.*", "", $4); print $4; exit }')
	[[ ${lease[$c]} == 198.51.100.1[0-5][0-9] ]] ||
		fail "$c's address on cv0 is '${lease[$c]}', not one of dnsmasq's 198.51.100.100-150"
	grep -qi "${mac[$c]}" "$LAB_TMP/dnsmasq.leases" ||
		fail "dnsmasq's leases do not hold $c's MAC ${mac[$c]}: $(cat "$LAB_TMP/dnsmasq.leases")"
done
ok "DHCP from dnsmasq on V through the tunnel: u ${lease[u]}, u2 ${lease[u2]}"

for c in u u2; do
	lab_ping 3 "$c"
	((LAB_PING_RECEIVED >= 2)) || fail "ping $c -> V: $LAB_PING_RECEIVED of 3 replies"
done
lab_ping 3 u "${lease[u2]}"
((LAB_PING_RECEIVED >= 2)) || fail "ping u -> u2 (${lease[u2]}): $LAB_PING_RECEIVED of 3 replies"
ok "u and u2 ping V, and u pings u2 across the bridge's hairpin"
neigh=$(ip -n "$LAB_V" neigh show dev v0)
for c in u u2; do
	grep -qi "${lease[$c]} .*lladdr ${mac[$c]}" <<<"$neigh" ||
		fail "V's neighbour table has no ${lease[$c]} at ${mac[$c]} ($c): $neigh"
done
ok "V's neighbour table holds both clients' MACs: $(tr '\n' ';' <<<"$neigh")"

# IPv6 from dnsmasq's router advertisements (SLAAC on cv0).
lab__wait 15 sh -c "ip -n $LAB_U -6 addr show dev cv0 scope global | grep -q '$NET6:'" ||
	fail "u got no IPv6 address in $NET6::/64 from V's router advertisements: $(ip -n "$LAB_U" -6 addr show dev cv0)"
lab__wait 5 ip netns exec "$LAB_U" ping -6 -c 1 -W 1 "$NET6::2" ||
	fail "u cannot ping V's $NET6::2 over IPv6"
ok "u took an IPv6 address from V's router advertisement and pings V over IPv6"

# V's full-size packets to u, whose dtls link carries frames of 1400
# bytes of IP: cut into fragments without DF, told the size with DF.
out=$(in_ns v timeout 10 ping -M dont -s 1472 -c 2 -W 2 "${lease[u]}" 2>&1)
grep -q ' 2 received' <<<"$out" || fail "V's 1500-byte pings without DF did not reach u in fragments: $out"
out=$(in_ns v timeout 10 ping -M do -s 1472 -c 2 -W 2 "${lease[u]}" 2>&1)
grep -q 'mtu = 1400' <<<"$out" || fail "V's 1500-byte pings with DF got no 'fragmentation needed' saying 1400: $out"
ok "V's 1500-byte packets to u: fragmented without DF, answered 'mtu = 1400' with DF"

lab_xfer_between u v "$LAB_V_LAN" 20 || fail "20 MiB TCP transfer u -> V over the TAP tunnel failed"
ok "20 MiB TCP u -> V over dtls in ${XFER_SECS}s, sha256 matches"

ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }
ctl status >"$LAB_TMP/status.txt" 2>&1 || fail "culvertctl status: $(cat "$LAB_TMP/status.txt")"
for c in u u2; do
	grep -qi "macs: .*${mac[$c]}" "$LAB_TMP/status.txt" ||
		fail "culvertctl status shows no 'macs: ... ${mac[$c]}' for $c: $(cat "$LAB_TMP/status.txt")"
done
ctl status --json >"$LAB_TMP/status.json" 2>&1 || fail "culvertctl status --json failed"
python3 - "$LAB_TMP/status.json" "${mac[u]}" <<-'EOF' || fail "status --json does not give alice's MACs"
	import json, sys
	d = json.load(open(sys.argv[1]))
	macs = [s["macs"] for s in d["sessions"] if s["name"] == "alice"][0]
	sys.exit(0 if sys.argv[2].lower() in macs else 1)
EOF
ok "culvertctl status (text and JSON) shows each session's MAC addresses"

# diagnose: content with the bridge; a TAP device taken off it is named,
# with the command that puts it back.
diag() {
	in_ns "$1" "$CULVERTCTL" -c "$2" diagnose >"$LAB_TMP/diag.out" 2>&1
}
diag gw "$LAB_TMP/gw.conf" || fail "diagnose on the TAP gateway: $(cat "$LAB_TMP/diag.out")"
grep -q '^ok: cv0 (TAP) is a port of bridge br0' "$LAB_TMP/diag.out" ||
	fail "diagnose did not see cv0 on br0: $(cat "$LAB_TMP/diag.out")"
diag u "$LAB_TMP/u.conf" || fail "diagnose on u: $(cat "$LAB_TMP/diag.out")"
grep -q '^ok: cv0 (TAP) has an IPv4 address on the LAN' "$LAB_TMP/diag.out" ||
	fail "diagnose on u did not see its lease: $(cat "$LAB_TMP/diag.out")"
in_ns gw ip link set cv0 nomaster || fail "cannot take cv0 off br0"
diag gw "$LAB_TMP/gw.conf" && fail "diagnose finds no problem with cv0 off the bridge: $(cat "$LAB_TMP/diag.out")"
grep -q '^problem: cv0 (TAP) is not attached to any bridge' "$LAB_TMP/diag.out" ||
	fail "diagnose did not name the TAP device off its bridge: $(cat "$LAB_TMP/diag.out")"
fix=$(sed -n 's/^fix: \([^#]*[^ #]\) *#.*/\1/p' "$LAB_TMP/diag.out" | head -n 1)
[[ $fix == 'ip link set cv0 master br0' ]] || fail "diagnose's fix is '$fix'"
in_ns gw $fix || fail "the fix '$fix' failed"
# A new port starts with the hairpin off: on again, for client-to-client.
in_ns gw ip link set cv0 type bridge_slave hairpin on || fail "hairpin on"
diag gw "$LAB_TMP/gw.conf" || fail "diagnose after the fix: $(cat "$LAB_TMP/diag.out")"
ok "diagnose: content on the gateway and on u; names cv0 off its bridge, and its fix works"

# u sends as u2: gratuitous ARP from u2's MAC, claiming u2's address.
lab_counters gw || fail "no counters from the gateway"
spoofed=${LAB_COUNTERS[spoofed_mac]:-x}
[[ $spoofed =~ ^[0-9]+$ ]] || fail "the counters line has no spoofed_mac"
in_ns u timeout 10 python3 "$HERE/tap_frames.py" arp cv0 "${mac[u2]}" "${lease[u2]}" 50 >/dev/null ||
	fail "tap_frames.py arp failed"
lab_ping 5 u2
((LAB_PING_RECEIVED == 5)) || fail "u2 lost its connectivity to V after u sent as its MAC: $LAB_PING_RECEIVED of 5"
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[spoofed_mac] >= spoofed + 50)) ||
	fail "spoofed_mac went $spoofed -> ${LAB_COUNTERS[spoofed_mac]} after 50 frames from u2's MAC"
grep -qi "${lease[u2]} .*lladdr ${mac[u2]}" <<<"$(ip -n "$LAB_V" neigh show dev v0)" ||
	fail "V's neighbour entry of u2 was taken over: $(ip -n "$LAB_V" neigh show dev v0)"
ok "50 frames from u with u2's MAC dropped (spoofed_mac $spoofed -> ${LAB_COUNTERS[spoofed_mac]}), u2 pings V 5 of 5"

# max-macs = 4: u has one; three more are learned, the next one is not.
limited=${LAB_COUNTERS[mac_limit]:-0}
for m in 02:00:5e:10:00:01 02:00:5e:10:00:02 02:00:5e:10:00:03 02:00:5e:10:00:04; do
	in_ns u python3 "$HERE/tap_frames.py" arp cv0 "$m" 198.51.100.99 1 >/dev/null ||
		fail "tap_frames.py arp failed"
done
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[mac_limit] == limited + 1)) ||
	fail "mac_limit went $limited -> ${LAB_COUNTERS[mac_limit]} after u showed its 5th MAC (max-macs = 4)"
n=$(ctl show alice | grep -io 'macs:.*' | grep -o '..:..:..:..:..:..' | wc -l)
((n == 4)) || fail "alice owns $n MACs, expected 4 (max-macs): $(ctl show alice)"
ok "u may send from 4 MACs (max-macs): the 5th is refused (mac_limit $limited -> ${LAB_COUNTERS[mac_limit]})"

# u floods broadcasts; u2's ping to V must not suffer, and u's flood
# reaches u2 at flood-rate (100 frames a second) at most.
limited=${LAB_COUNTERS[flood_limited]:-0}
rx0=$(ip netns exec "$(lab__ns u2)" cat /sys/class/net/cv0/statistics/rx_packets)
printf '[u2] ping -c 200 -i 0.02 %s  (in the background)\n' "$LAB_V_LAN" >&2
ip netns exec "$(lab__ns u2)" timeout 20 ping -c 200 -i 0.02 -W 1 "$LAB_V_LAN" \
	>"$LAB_TMP/u2.ping" 2>&1 </dev/null &
ping_pid=$!
lab_bg "$ping_pid"
t0=$(lab__usec)
flooded=$(in_ns u timeout 15 python3 "$HERE/tap_frames.py" flood cv0 4 400000) ||
	fail "tap_frames.py flood failed"
wait "$ping_pid" 2>/dev/null
secs=$((($(lab__usec) - t0) / 1000000 + 1))
rx1=$(ip netns exec "$(lab__ns u2)" cat /sys/class/net/cv0/statistics/rx_packets)
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/u2.ping")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_TMP/u2.ping")
[[ -n $sent && -n $got ]] || fail "u2's ping did not finish: $(tail -n 3 "$LAB_TMP/u2.ping")"
((sent == 200 && (sent - got) * 100 < sent)) ||
	fail "u2's ping to V during u's broadcast flood: $got of $sent replies (1% loss or more)"
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[flood_limited] > limited + 1000)) ||
	fail "u sent $flooded broadcasts, flood_limited went only $limited -> ${LAB_COUNTERS[flood_limited]}"
# At most a second's burst and flood-rate a second reach u2, beside its
# 200 ping replies and the LAN's own few frames.
((rx1 - rx0 < 200 + 100 + 100 * secs + 100)) ||
	fail "u2 received $((rx1 - rx0)) frames in $secs s of u's flood (flood-rate 100)"
ok "u's flood of $flooded broadcasts: u2 pings V $got of $sent, receives $((rx1 - rx0)) frames in ${secs}s, flood_limited $limited -> ${LAB_COUNTERS[flood_limited]}"

# A TUN client (carol) against this TAP gateway: refused, in words, both sides.
lab_client_conf "$LAB_TMP/u3.conf" transport=tls "cert=$P/carol.crt" "key=$P/carol.key"
lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 'refused us: refused by policy: this gateway carries Ethernet frames \(device-type = tap\): set device-type = tap on the client' 15 ||
	fail "the TUN client was not told why the TAP gateway refused it"
grep -q "refusing .*: the client's device is TUN (device-type = tun), this gateway's TAP (device-type = tap)" "${LAB_LOG[gw]}" ||
	fail "the TAP gateway did not log why it refused a TUN client"
grep -q 'tunnel up' "${LAB_LOG[u3]}" && fail "the TUN client came up against a TAP gateway"
lab_stop u3
ok "a TUN client and the TAP gateway refuse each other, both saying why"

# A TAP client against a TUN gateway (a second culvertd on port 4434).
lab_server_conf "$LAB_TMP/gw-tun.conf" transport=tls "listen=$LAB_GW_PUB:4434" device=cv1
lab_start gwtun gw "$LAB_TMP/gw-tun.conf"
lab_wait_log gwtun 'tls: listening' 10 || fail "the TUN gateway did not listen within 10 s"
lab_client_conf "$LAB_TMP/u3tap.conf" transport=tls "remote=$LAB_GW_PUB:4434" \
	"cert=$P/carol.crt" "key=$P/carol.key" device-type=tap
lab_start u3tap u3 "$LAB_TMP/u3tap.conf"
lab_wait_log u3tap 'refused us: refused by policy: this gateway carries IP packets \(device-type = tun\): set device-type = tun on the client' 15 ||
	fail "the TAP client was not told why the TUN gateway refused it"
grep -q "refusing .*: the client's device is TAP (device-type = tap), this gateway's TUN (device-type = tun)" "${LAB_LOG[gwtun]}" ||
	fail "the TUN gateway did not log why it refused a TAP client"
grep -q 'tunnel up' "${LAB_LOG[u3tap]}" && fail "the TAP client came up against a TUN gateway"
ok "a TAP client and a TUN gateway refuse each other, both saying why"

lab_stop u3tap

# udp too, and a static address instead of DHCP (a third gateway on the
# same bridge, port 4435).
lab__conf "$LAB_TMP/gw-udp.conf" "a TAP gateway over udp" mode=server transport=udp \
	insecure=yes "listen=$LAB_GW_PUB:4435" device=cv2 device-type=tap bridge=br0 \
	"plugin-dir=$CULVERT_PLUGIN_DIR"
lab__conf "$LAB_TMP/u3udp.conf" "a TAP client over udp" mode=client transport=udp \
	insecure=yes "remote=$LAB_GW_PUB:4435" device=cv0 device-type=tap \
	address=198.51.100.77/24 "plugin-dir=$CULVERT_PLUGIN_DIR"
lab_start gwudp gw "$LAB_TMP/gw-udp.conf"
lab_wait_log gwudp 'udp: listening' 10 || fail "the udp TAP gateway did not listen within 10 s"
lab_start u3udp u3 "$LAB_TMP/u3udp.conf"
lab_wait_log u3udp 'tunnel up: cv0 \(TAP\) on the server.s LAN over udp' 15 ||
	fail "the TAP client over udp did not come up"
ip -n "$(lab__ns u3)" -4 -o addr show dev cv0 | grep -q '198.51.100.77/24' ||
	fail "u3's static address is not on cv0: $(ip -n "$(lab__ns u3)" addr show dev cv0)"
lab_ping 3 u3
((LAB_PING_RECEIVED >= 2)) || fail "ping u3 -> V over udp: $LAB_PING_RECEIVED of 3 replies"
ok "a TAP client over udp with a static address (198.51.100.77) pings V"

for c in u3udp gwudp gwtun u u2 gw; do
	lab_stop "$c"
	rc=$?
	((rc == 0)) || fail "$c's culvertd exited with status $rc after SIGTERM"
done
ip -n "$LAB_GW" link show dev cv0 >/dev/null 2>&1 && fail "cv0 is still in the gateway after it stopped"
ok "every culvertd exits 0 on SIGTERM; the gateway's TAP device is gone"
exit 0
