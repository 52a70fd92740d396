#!/usr/bin/env bash
# mtu_blackhole.sh - a path MTU black hole between U and the gateway: a
# router whose link towards the gateway carries 1280 bytes, and which
# sends no ICMP (as broken PPPoE links and filtering boxes do). Over dtls
# and over tls, a 10 MiB TCP transfer each way arrives whole (sha256),
# and not one IP fragment crosses the router: culvert found the size that
# fits by itself and said so in its log.
#
#    cvt-u-$ID              cvt-r-$ID                         cvt-gw-$ID
#  +-----------------+    +--------------------------------+    +-----------------+
#  | u0 MTU 1500     |veth| r0 MTU 1280       r1 MTU 1280  |veth| gw0 MTU 1500    |
#  | 192.0.2.130/25  +----+ 192.0.2.129/25    192.0.2.126/25 +----+ 192.0.2.1/25    |
#  | 192.0.2.0/25    |    | nftables: no ICMP error leaves |    | 192.0.2.128/25  |
#  |  via .129       |    | or crosses it                  |    |  via .126       |
#  +-----------------+    +--------------------------------+    +-----------------+
#                                                                 gw1 -- V as in lab.sh
#
#   The router forwards no packet over 1280 bytes either way, and tells
#   nobody: the path carries 1280 bytes, and neither end's own interface
#   says so. Fragments are counted where they arrive (nftables on u0 and
#   gw0). About 30 s: dtls 5 s, tls 25 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
MB=10

lab_require
command -v nft >/dev/null || skip "nft not found: install nftables"
LAB_U_PUB=192.0.2.130
LAB_R=cvt-r-$LAB_ID

# The lab's namespaces and V's side as lab_up makes them, then U moved
# behind the router.
blackhole_up() {
	lab_up
	lab_forwarding on
	ip netns add "$LAB_R" || fail "ip netns add $LAB_R"
	LAB_EXTRA_NS+=("$LAB_R")
	ip -n "$LAB_U" link del u0 || fail "cannot remove U's direct link"
	lab__ip "$LAB_R" link set lo up
	ip link add u0 netns "$LAB_U" type veth peer name r0 netns "$LAB_R" ||
		fail "veth u0 <-> r0"
	ip link add gw0 netns "$LAB_GW" type veth peer name r1 netns "$LAB_R" ||
		fail "veth gw0 <-> r1"
	lab__ip "$LAB_U" addr add 192.0.2.130/25 dev u0
	lab__ip "$LAB_R" addr add 192.0.2.129/25 dev r0
	lab__ip "$LAB_R" addr add 192.0.2.126/25 dev r1
	lab__ip "$LAB_GW" addr add 192.0.2.1/25 dev gw0
	lab__ip "$LAB_R" link set r0 mtu 1280
	lab__ip "$LAB_R" link set r1 mtu 1280
	for l in "$LAB_U u0" "$LAB_R r0" "$LAB_R r1" "$LAB_GW gw0"; do
		# shellcheck disable=SC2086
		lab__ip ${l% *} link set ${l#* } up
	done
	lab__ip "$LAB_U" route add 192.0.2.0/25 via 192.0.2.129
	lab__ip "$LAB_GW" route add 192.0.2.128/25 via 192.0.2.126
	ip netns exec "$LAB_R" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding in R"
	in_ns "$LAB_R" nft -f - <<-'EOF' || fail "nftables in the router"
	table inet blackhole {
		chain forward {
			type filter hook forward priority 0; policy accept;
			icmp type destination-unreachable drop
		}
		chain output {
			type filter hook output priority 0; policy accept;
			icmp type destination-unreachable drop
			icmpv6 type packet-too-big drop
		}
	}
	EOF
	# Fragments are counted where they arrive: the router makes its own
	# after every hook of its own has seen the packet whole.
	for l in "$LAB_U u0" "$LAB_GW gw0"; do
		in_ns "${l% *}" nft -f - <<-EOF || fail "nftables in ${l% *}"
		table netdev outer {
			counter fragments { }
			chain in {
				type filter hook ingress device ${l#* } priority 0;
				ip frag-off & 0x3fff != 0 counter name fragments
			}
		}
		EOF
	done
	lab__wait 5 ip netns exec "$LAB_U" ping -c 1 -W 1 -q "$LAB_GW_PUB" ||
		fail "U cannot reach the gateway through the router"
	# The black hole, proven both ways: a full-sized packet with DF
	# vanishes, and nothing comes back to say so.
	local from to
	for from in u gw; do
		to=$LAB_GW_PUB
		[[ $from == gw ]] && to=$LAB_U_PUB
		in_ns "$from" ping -c 1 -W 1 -M do -s 1400 "$to" >/dev/null 2>&1 &&
			fail "a 1428-byte packet from $from crossed the 1280-byte link"
		in_ns "$from" ping -c 1 -W 1 -M do -s 1252 "$to" >/dev/null 2>&1 ||
			fail "a 1280-byte packet from $from did not cross the router"
	done
	ok "the router carries 1280 bytes and says nothing about larger packets"
}

fragments() {   # how many IP fragments U and the gateway have received
	local ns n total=0
	for ns in "$LAB_U" "$LAB_GW"; do
		n=$(ip netns exec "$ns" nft list counter netdev outer fragments |
			sed -n 's/.*packets \([0-9]*\).*/\1/p')
		total=$((total + ${n:-0}))
	done
	echo "$total"
}

# logged NAME ERE : NAME's log has a line matching ERE; print it
logged() {
	local line
	line=$(grep -E -- "$2" "${LAB_LOG[$1]}" | head -n 1)
	[[ -n $line ]] || return 1
	ok "$t: $1 logged: ${line#* }"
}

# run TRANSPORT U-ERE GW-ERE : the tunnel through the black hole, a
# transfer each way (V -> U first: the gateway's segments are the first
# to vanish), then what each side logged that it found
run() {
	local t=$1 before frags
	blackhole_up
	lab_require_tls "$t"
	lab_pki "$LAB_TMP/pki"
	lab_server_conf "$LAB_TMP/gw.conf" "transport=$t"
	lab_client_conf "$LAB_TMP/u.conf" "transport=$t"
	lab_start gw gw "$LAB_TMP/gw.conf"
	lab_wait_log gw "$t: listening" 10 || fail "$t: the gateway did not listen within 10 s"
	lab_start u u "$LAB_TMP/u.conf"
	lab_wait_log u 'tunnel up' 15 || fail "$t: the client did not log 'tunnel up' within 15 s"
	before=$(fragments)
	lab_xfer_between v u "$(lab_inner u)" "$MB" || fail "$t: $MB MiB V -> U did not arrive whole through the black hole"
	ok "$t: $MB MiB V -> U in ${XFER_SECS}s through the black hole, sha256 matches"
	lab_xfer_between u v "$LAB_V_LAN" "$MB" || fail "$t: $MB MiB U -> V did not arrive whole through the black hole"
	ok "$t: $MB MiB U -> V in ${XFER_SECS}s through the black hole, sha256 matches"
	frags=$(($(fragments) - before))
	((frags == 0)) || fail "$t: $frags IP fragments crossed the outer path"
	ok "$t: no IP fragment crossed the outer path"
	logged u "$2" || fail "$t: the client did not log what it found ($2)"
	logged gw "$3" || fail "$t: the gateway did not log what it found ($3)"
	lab_down
	LAB_NAMES=() LAB_PID=() LAB_START=() LAB_LOG=()
	LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$LAB_ID.XXXXXX") || fail "no temp dir"
}

# Over the 1280-byte path, dtls records of 1215 bytes fit (1280 less 28
# bytes of IPv4 and UDP, 37 of DTLS 1.2 with AES-GCM): tunnel MTU 1214.
run dtls 'path MTU to .*tunnel MTU now 1214' 'path MTU to .*tunnel MTU now 1214'
run tls 'vanish.*connecting again in packets of at most 1280' \
	'vanish.*resetting the connection'
exit 0
