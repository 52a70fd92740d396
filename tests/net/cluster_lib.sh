# shellcheck shell=bash disable=SC2034  # lab.sh's names, and ours for the tests
# cluster_lib.sh - the cluster's lab, sourced after lab.sh by
# tests/net/cluster.sh and bench/failover.sh: two gateways on one
# outside bridge and one LAN, a router R with host V behind it, and BIRD
# on R and both gateways speaking BGP (culvert.conf(5), CLUSTER).
#
#   clients, each in a namespace of its own, on the outside bridge
#   (cvt-out-$ID: br0), 192.0.2.100+N
#        |                    |
#   gw1 192.0.2.1        gw2 192.0.2.5
#   cvt-g1-$ID           cvt-g2-$ID      culvertd, announce-table 100
#   lan 198.51.100.11    lan 198.51.100.12   (protocol 147); BIRD: kernel
#       2001:db8:100::11     2001:db8:100::12  table 100 -> BGP (AS 6500N)
#        |                    |
#   +----+--------------------+----+
#   | R cvt-r-$ID  brl 198.51.100.1, 2001:db8:100::1; BIRD AS 65000:
#   |                BGP -> its kernel
#   | v 198.18.0.1, 2001:db8:200::1
#   +--------------+---------------+
#                  |
#   V cvt-v-$ID 198.18.0.10, 2001:db8:200::10, default via R
#
# Functions:
#   cl_require                  skip (77) without bird and birdc
#   cl_topology                 the namespaces, links, addresses, routes
#   cl_client_ns N              cvt-cN-$ID on the outside, 192.0.2.(100+N)
#   cl_birds                    BIRD on R, gw1 and gw2; waits for BGP (v4, v6)
#   cl_birdc NAME ARGS...       birdc on NAME's (r, gw1, gw2) socket
#   cl_path ADDR                R's path to ADDR (v4 or v6, or a prefix): gw1, gw2,
#                               both or none
#   cl_wait_path ADDR gwN SECS  wait (bounded) until it is gwN (or none)
#   cl_until SECS CMD...        CMD every 50 ms until it succeeds (bounded)

GW1_PUB=192.0.2.1 GW2_PUB=192.0.2.5
NS_OUT=cvt-out-$LAB_ID NS_R=cvt-r-$LAB_ID NS_G2=cvt-g2-$LAB_ID

cl_require() {
	command -v bird >/dev/null && command -v birdc >/dev/null ||
		skip "bird not found: install bird2"
}

# ------------------------------------------------------------ topology
cl_ns() {   # cl_ns NS : a namespace of ours, lo up
	ip netns add "$1" 2>"$LAB_TMP/netns.err" ||
		skip "cannot create network namespaces: $(cat "$LAB_TMP/netns.err")"
	LAB_NETNS_MADE=1
	LAB_EXTRA_NS+=("$1")
	lab__ip "$1" link set lo up
}

cl_outside() {   # cl_outside NS ADDR : NS on the outside bridge
	local port=o$((++CL_PORTS))
	ip link add u0 netns "$1" type veth peer name "$port" netns "$NS_OUT" ||
		fail "veth u0 ($1) <-> $port"
	lab__ip "$NS_OUT" link set "$port" master br0 up
	lab__ip "$1" addr add "$2/24" dev u0
	lab__ip "$1" link set u0 up
}

cl_topology() {
	local g
	CL_PORTS=0
	cl_ns "$NS_OUT"
	lab__ip "$NS_OUT" link add br0 type bridge
	lab__ip "$NS_OUT" link set br0 up
	cl_ns "$NS_R"
	cl_ns "$LAB_V"
	lab__ip "$NS_R" link add brl type bridge
	lab__ip "$NS_R" addr add 198.51.100.1/24 dev brl
	lab__ip "$NS_R" addr add 2001:db8:100::1/64 dev brl nodad
	lab__ip "$NS_R" link set brl up
	ip link add v netns "$NS_R" type veth peer name v0 netns "$LAB_V" || fail "veth v <-> v0"
	lab__ip "$NS_R" addr add 198.18.0.1/24 dev v
	lab__ip "$NS_R" addr add 2001:db8:200::1/64 dev v nodad
	lab__ip "$NS_R" link set v up
	lab__ip "$LAB_V" addr add 198.18.0.10/24 dev v0
	lab__ip "$LAB_V" addr add 2001:db8:200::10/64 dev v0 nodad
	lab__ip "$LAB_V" link set v0 up
	lab__ip "$LAB_V" route add default via 198.18.0.1
	lab__ip "$LAB_V" -6 route add default via 2001:db8:200::1
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 || fail "forwarding in R"
	for g in 1 2; do
		local ns=cvt-g$g-$LAB_ID
		cl_ns "$ns"
		cl_outside "$ns" "$([[ $g == 1 ]] && echo $GW1_PUB || echo $GW2_PUB)"
		ip link add lan netns "$ns" type veth peer name "g$g" netns "$NS_R" ||
			fail "veth lan (gw$g) <-> g$g"
		lab__ip "$NS_R" link set "g$g" master brl up
		lab__ip "$ns" addr add "198.51.100.1$g/24" dev lan
		lab__ip "$ns" addr add "2001:db8:100::1$g/64" dev lan nodad
		lab__ip "$ns" link set lan up
		lab__ip "$ns" route add 198.18.0.0/24 via 198.51.100.1
		lab__ip "$ns" -6 route add 2001:db8:200::/64 via 2001:db8:100::1
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 || fail "forwarding in gw$g"
	done
	lab__wait 5 ip netns exec "$NS_G2" ping -c 1 -W 1 -q 198.51.100.1 ||
		fail "gw2 cannot reach R"
	lab__wait 5 ip netns exec "$LAB_V" ping -c 1 -W 1 -q 198.51.100.11 ||
		fail "V cannot reach gw1 through R"
}

cl_client_ns() {   # cl_client_ns N : cvt-cN-$ID on the outside, 192.0.2.(100+N)
	local ns=cvt-c$1-$LAB_ID
	cl_ns "$ns"
	cl_outside "$ns" "192.0.2.$((100 + $1))"
}

# --------------------------------------------------------------- BIRD
cl_bird() {   # cl_bird NAME NS CONF-TEXT : BIRD in the foreground in NS
	local dir=$LAB_TMP/bird-$1
	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/bird.conf"
	ip netns exec "$2" bird -p -c "$dir/bird.conf" >"$dir/parse.log" 2>&1 ||
		fail "bird $1: the configuration does not parse: $(cat "$dir/parse.log")"
	ip netns exec "$2" bird -f -c "$dir/bird.conf" -s "$dir/sock" \
		</dev/null >"$dir/log" 2>&1 &
	lab_bg "$!"
	lab__wait 10 birdc -s "$dir/sock" show status || fail "bird $1 does not answer on $dir/sock"
}

cl_birdc() { birdc -s "$LAB_TMP/bird-$1/sock" "${@:2}" 2>&1; }

cl_birds() {
	local g
	cl_bird r "$NS_R" "router id 198.51.100.1;
protocol device { scan time 10; }
protocol kernel { ipv4 { import none; export all; }; }
protocol kernel { ipv6 { import none; export all; }; }
template bgp gateways {
	local as 65000;
	connect delay time 1; connect retry time 1; hold time 6;
}
protocol bgp gw1 from gateways {
	neighbor 198.51.100.11 as 65001; ipv4 { import all; export none; };
}
protocol bgp gw2 from gateways {
	neighbor 198.51.100.12 as 65002; ipv4 { import all; export none; };
}
protocol bgp gw1_6 from gateways {
	neighbor 2001:db8:100::11 as 65001; ipv6 { import all; export none; };
}
protocol bgp gw2_6 from gateways {
	neighbor 2001:db8:100::12 as 65002; ipv6 { import all; export none; };
}"
	for g in 1 2; do
		cl_bird "gw$g" "cvt-g$g-$LAB_ID" "router id 198.51.100.1$g;
protocol device { scan time 10; }
# culvertd's host routes: table 100, protocol 147 (culvert.conf(5), CLUSTER).
# scan time 1: a culvertd killed takes its TUN device, and the kernel its
# routes, without a netlink message for each; the scan notices within 1 s.
ipv4 table culvert4;
ipv6 table culvert6;
protocol kernel culvert_routes {
	kernel table 100; learn; scan time 1;
	ipv4 { table culvert4; import where krt_source = 147; export none; };
}
protocol kernel culvert_routes6 {
	kernel table 100; learn; scan time 1;
	ipv6 { table culvert6; import where krt_source = 147; export none; };
}
template bgp uplink {
	local as 6500$g;
	connect delay time 1; connect retry time 1; hold time 6;
}
protocol bgp lan4 from uplink {
	neighbor 198.51.100.1 as 65000;
	ipv4 { table culvert4; import none; export all; next hop self; };
}
protocol bgp lan6 from uplink {
	neighbor 2001:db8:100::1 as 65000;
	ipv6 { table culvert6; import none; export all; next hop self; };
}"
	done
	for g in gw1 gw2 gw1_6 gw2_6; do
		lab__wait 20 bash -c "birdc -s '$LAB_TMP/bird-r/sock' show protocols $g | grep -q Established" ||
			fail "R's BGP session $g is not established: $(cl_birdc r show protocols all "$g")"
	done
	ok "BIRD on R, gw1 and gw2: BGP established (IPv4 and IPv6)"
}

# R's path to ADDR (IPv4 or IPv6, or a PREFIX/LENGTH): "gw1", "gw2",
# "both" or "none"
cl_path() {
	local out gw1=198.51.100.11 gw2=198.51.100.12 p=$1
	if [[ $1 == *:* ]]; then
		[[ $p == */* ]] || p=$p/128
		out=$(cl_birdc r show route "$p" table master6)
		gw1=2001:db8:100::11 gw2=2001:db8:100::12
	else
		[[ $p == */* ]] || p=$p/32
		out=$(cl_birdc r show route "$p")
	fi
	if [[ $out == *"via $gw1 "* && $out == *"via $gw2 "* ]]; then echo both
	elif [[ $out == *"via $gw1 "* ]]; then echo gw1
	elif [[ $out == *"via $gw2 "* ]]; then echo gw2
	else echo none; fi
}

# cl_until SECS CMD... : CMD every 50 ms until it succeeds; 1 after SECS
cl_until() {
	local i
	lab__deadline "$1"
	for ((i = 0; i < $1 * 20 && i < 20000; i++)); do
		"${@:2}" && return 0
		lab__before || break
		sleep 0.05
	done
	return 1
}

cl_path_is() { [[ $(cl_path "$1") == "$2" ]]; }
cl_wait_path() { cl_until "$3" cl_path_is "$1" "$2"; }   # ADDR gwN|none SECS

