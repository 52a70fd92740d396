# shellcheck shell=bash disable=SC2034  # the LAB_* names are for the tests
# lab.sh - the VPN tunneling lab out of network namespaces, sourced by every
# test in tests/net/ and by ./quickstart demo.
#
#    host U (client)        gateway (server)               host V (on the LAN)
#    cvt-u-$ID              cvt-gw-$ID                     cvt-v-$ID
#  +-----------------+    +------------------------------+    +------------------+
#  |              u0 |veth| gw0                      gw1 |veth| v0               |
#  |    192.0.2.2/24 +----+ 192.0.2.1/24 198.51.100.1/24 +----+ 198.51.100.2/24  |
#  |                 |    |                              |    |                  |
#  | culvertd client |    | culvertd server, listening   |    | default route    |
#  |                 |    | on 192.0.2.1:4433            |    | via 198.51.100.1 |
#  | cv0 203.0.113.2 #====# cv0 203.0.113.1              |    |                  |
#  +-----------------+ ^  +------------------------------+    +------------------+
#                      |
#       the tunnel: culvert's messages between u0 and gw0, in udp datagrams
#       (transport udp) or in a TLS session over TCP (transport tls)
#
#   U has no route to 198.51.100.0/24 (and no default route) until culvertd
#   installs one through cv0. V's only way back to 203.0.113.2 is its default
#   route via the gateway. The gateway forwards only after `lab_forwarding on`.
#   No NAT anywhere: V sees U's inner address.
#
#   More clients (lab_add_client N, N = 2..9) sit on the same public /24, each
#   on its own veth to the gateway, which reaches each by a host route:
#
#    cvt-u2-$ID                  cvt-gw-$ID
#  +-----------------+         +------------------------------------------+
#  |  u0 192.0.2.3/24+---------+ gw0b (no address; 192.0.2.3/32 dev gw0b) |
#  +-----------------+         |                                          |
#    cvt-u3-$ID                |                                          |
#  +-----------------+         |                                          |
#  |  u0 192.0.2.4/24+---------+ gw0c (no address; 192.0.2.4/32 dev gw0c) |
#  +-----------------+         +------------------------------------------+
#
#   Client N's public address is 192.0.2.(N+1); its inner address is whatever
#   the pool hands out (lab_inner NS tells). gw0 and U are exactly as above.
#   lab_add_client N NAME names the namespace cvt-NAME-$ID instead.
#
#   Sites (lab_sites_up): the two-site picture of every VPN text, with a
#   third site. The gateway is R2, router of site B; R1 and R3 are two more
#   clients (lab_add_client 2 r1, 3 r3) that route for sites A and C. U is
#   a road warrior as above, V is left as it is.
#
#    site A                   site B (the gateway's LAN)          site C
#    cvt-x-$ID                cvt-y-$ID                           cvt-z-$ID
#   +------------------+     +------------------+     +------------------+
#   | x0 198.18.1.10/24|     | y0 198.18.2.10/24|     | z0 198.18.3.10/24|
#   | 2001:db8:a:1::10 |     | 2001:db8:b:1::10 |     | 2001:db8:c:1::10 |
#   +--------+---------+     +--------+---------+     +--------+---------+
#            |                        |                        |
#   +--------+---------+     +--------+-------------+ +--------+---------+
#   | lan 198.18.1.1   |     | lan 198.18.2.1       | | lan 198.18.3.1   |
#   | 2001:db8:a:1::1  |     | 2001:db8:b:1::1      | | 2001:db8:c:1::1  |
#   | R1 cvt-r1-$ID    |     | R2 = the gateway     | | R3 cvt-r3-$ID    |
#   | u0 192.0.2.3     +-----+ gw0b   gw0   gw0c    +-+ u0 192.0.2.4     |
#   +------------------+     +--------+-------------+ +------------------+
#                                     | gw0 192.0.2.1
#                            U (cvt-u-$ID) 192.0.2.2, a road warrior
#
#   Hosts X, Y, Z route everything via their router's .1 (and ::1). R1 and
#   R3 forward (IPv4 and IPv6); their sites are reached through the tunnel
#   only once culvertd routes them: the gateway is told which network lies
#   behind which client by its per-client files, and installs the routes.
#
# Everything is named with $LAB_ID (test name + PID), so tests run in parallel.
# CULVERT_TEST_THREADS=N in the environment (1..64, or auto): lab_start puts
# `threads = N` on line 1 of every server config it starts culvertd with
# that has no `threads` line of its own, so every gateway of the suite runs
# N event loops (CI runs it with 1 and with 2); a test that needs a number
# sets it. Clients run one loop (the key is the server's).
# One EXIT trap, set when this file is sourced, ends every process started
# here (by PID), deletes the namespaces and the temp dir, on success, failure,
# or a signal. Tests must not set their own EXIT/INT/TERM traps.
#
# Functions:
#   lab_require                 skip (77) without root, /dev/net/tun, ip, socat, ping
#   lab_up                      namespaces, veths, addresses, routes (forwarding off)
#   lab_down                    what the EXIT trap does, for use before the end
#   lab_again                   lab_down, then a new temp dir for the next lab_up
#   lab_forwarding on|off       IPv4 forwarding in the gateway
#   lab_write_configs           $LAB_TMP/gw.conf and $LAB_TMP/u.conf (udp, insecure)
#   lab_start NAME NS CONF      start culvertd in NS, log to $LAB_TMP/NAME.log
#                               (a server's CONF gets threads = $CULVERT_TEST_THREADS if set)
#   lab_stop NAME [SECS]        SIGTERM, wait (bounded); returns culvertd's status
#   lab_alive NAME              is NAME's culvertd still running?
#   lab_wait_log NAME ERE SECS  poll NAME's log for ERE; 1 on timeout or death
#   lab_counters NAME           SIGUSR1, parse the next `counters:` line into
#                               the associative array LAB_COUNTERS
#   lab_counters_as NAME ARRAY  the same, copied into the global array ARRAY
#   lab_ping COUNT [NS [TO]]    ping V (or TO) from U (or NS); sets LAB_PING_RECEIVED
#   lab_pings FROM TO...        3 pings from FROM to each TO; fail unless all answer
#                               (naming $LAB_PINGS_WHERE, if set, in the failure)
#   lab_steady_ping COUNT       a ping U -> V every 0.05 s in the background,
#                               for the length of an attack
#   lab_steady_ping_check WHAT  wait for it (bounded); fail unless it lost < 1%
#   lab_xfer MB                 TCP transfer U -> V (see xfer.sh)
#   lab_xfer_between FROM TO ADDR MB   the same from any namespace to any
#                               (xfer.sh)
#   in_ns NS CMD...             run CMD in NS (u, u2.., gw, v or a full name), echoing it
#
#   lab_add_client N [NAME]     one more client namespace, cvt-uN-$ID (N = 2..9),
#                               or cvt-NAME-$ID
#   lab_sites_up                the sites topology (drawing above): lab_up, R1, R3,
#                               hosts X, Y, Z; forwarding on in R1, R3 and the gateway
#   lab_cv_routes NS            print NS's routes through cv0 and culvert's throw
#                               routes (empty: nothing left behind)
#   lab_inner NS                print NS's inner IPv4 address (on cv0)
#   lab_require_tls [T]         skip (77) without certtool or the plugin T (tls)
#   lab_require_loadgen         skip (77) without culvert-loadgen ($CULVERT_LOADGEN)
#   lab_pki DIR                 test certificates and keys in DIR (see there)
#   lab_pki_client NAME [OU]    one more client certificate there, CN NAME, OU OU
#   lab_pki_server NAME KEY     one more server certificate there, a KEY of rsa3072 (...)
#   lab_tls_configs             $LAB_TMP/gw.conf and $LAB_TMP/u.conf over tls,
#                               auth = certificate, U presents alice's cert
#   lab_server_conf FILE [K=V..]  a tls server config; K=V replaces or adds
#   lab_client_conf FILE [K=V..]  a key, K= removes it (see lab__conf)
#   lab_passwd FILE USER PASS   add USER to a server's password-file
#   lab_capture NAME NS DEV     tcpdump -w $LAB_TMP/NAME.pcap (lab_capture_stop)
#   lab_tunnel T [K=V..]        lab_up, forwarding on, and U's tunnel to the
#                               gateway over transport T, up (K=V: U's config)
#   ok "text" / fail "text"     one result line; fail also prints every log, exits 1

LAB_ID=${LAB_ID:-$(basename "$0" .sh)-$$}
LAB_U=cvt-u-$LAB_ID
LAB_GW=cvt-gw-$LAB_ID
LAB_V=cvt-v-$LAB_ID

LAB_U_PUB=192.0.2.2
LAB_GW_PUB=192.0.2.1
LAB_GW_LAN=198.51.100.1
LAB_V_LAN=198.51.100.2
LAB_LAN_NET=198.51.100.0/24
LAB_POOL=203.0.113.0/24
LAB_GW_IN=203.0.113.1
LAB_U_IN=203.0.113.2
LAB_PORT=4433
LAB_DEV=cv0
# LAB_OUTER=6: U and the gateway speak IPv6 only on the outside (u0, gw0 in
# 2001:db8::/64, no IPv4 there); LAB_GW_EP is the endpoint form either way.
LAB_PUB_LEN=24
if [[ ${LAB_OUTER:-4} == 6 ]]; then
	LAB_U_PUB=2001:db8::2 LAB_GW_PUB=2001:db8::1 LAB_PUB_LEN=64
fi
LAB_GW_EP=$LAB_GW_PUB:$LAB_PORT
LAB_OUTER6_FLAGS=
[[ $LAB_GW_PUB == *:* ]] && LAB_OUTER6_FLAGS=nodad
[[ $LAB_GW_PUB == *:* ]] && LAB_GW_EP=[$LAB_GW_PUB]:$LAB_PORT

LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$LAB_ID.XXXXXX") || {
	echo "lab.sh: cannot create a temp dir" >&2
	exit 99
}
# -g: global even when this file is sourced inside a function (quickstart)
declare -gA LAB_PID=() LAB_START=() LAB_LOG=() LAB_NSOF=() LAB_COUNTERS=() LAB_SOCK=()
declare -gA LAB_NAMED=()   # lab_add_client's and lab_sites_up's names -> namespaces
LAB_NAMES=()      # every daemon started, in order (their logs are printed on failure)
LAB_BG=()         # other background processes: "pid starttime"
LAB_EXTRA_NS=()   # namespaces of lab_add_client, removed with the others
LAB_NETNS_MADE=0

lab__dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/net/xfer.sh
. "$lab__dir/xfer.sh"

# ----------------------------------------------------------- small helpers
# Polling loops are bounded twice: by wall-clock time (a deadline from
# lab__deadline, checked by lab__before) and by a count of turns.
lab__usec() { local t=${EPOCHREALTIME//[!0-9]/}; echo "${t:-$((SECONDS * 1000000))}"; }
lab__deadline() { LAB_DEADLINE=$(($(lab__usec) + $1 * 1000000)); }
lab__before() { (($(lab__usec) < LAB_DEADLINE)); }
lab__ns() {   # u|u2..u9|gw|v|NAME -> namespace name; anything else is taken as is
	case $1 in
	u) echo "$LAB_U" ;; gw) echo "$LAB_GW" ;; v) echo "$LAB_V" ;;
	u[2-9]) echo "cvt-$1-$LAB_ID" ;;
	cvt-*) echo "$1" ;;
	*) [[ -n ${LAB_NAMED[$1]:-} ]] && echo "${LAB_NAMED[$1]}" || echo "$1" ;;
	esac
}
lab__short() {   # namespace name -> u|u2..u9|gw|v|NAME for messages
	case $1 in
	"$LAB_U" | u) echo u ;; "$LAB_GW" | gw) echo gw ;; "$LAB_V" | v) echo v ;;
	"cvt-"*"-$LAB_ID") local n=${1#cvt-}; echo "${n%-"$LAB_ID"}" ;;
	*) echo "$1" ;;
	esac
}
lab__all_ns() { echo "$LAB_U" "$LAB_GW" "$LAB_V" "${LAB_EXTRA_NS[@]}"; }

in_ns() {   # in_ns NS CMD... : print "[ns] CMD" on stderr, then run it there
	local ns; ns=$(lab__ns "$1"); shift
	printf '[%s] %s\n' "$(lab__short "$ns")" "$*" >&2
	ip netns exec "$ns" "$@"
}

ok() { printf 'ok - %s\n' "$*"; }

lab_dump_logs() {
	local n
	for n in "${LAB_NAMES[@]}"; do
		printf '\n----- culvertd log: %s (namespace %s) -----\n' "$n" "${LAB_NSOF[$n]}"
		cat "${LAB_LOG[$n]}" 2>/dev/null || echo "(no log)"
	done
	((${#LAB_NAMES[@]})) && printf -- '----- end of logs -----\n'
	return 0
}

fail() {   # fail MESSAGE : the failure, then the culvertd logs of both sides
	printf 'not ok - %s\n' "$*"
	lab_dump_logs
	exit 1
}

skip() {   # skip REASON : automake's "skipped"
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# ------------------------------------------------------------ processes
# The start time (field 22 of /proc/PID/stat) is kept with each PID so that a
# PID the kernel has reused for someone else's process is never signalled.
lab__starttime() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	[[ $1 != Z ]] || return 1   # exited, not yet reaped
	echo "${20}"
}
lab__alive() {   # lab__alive PID STARTTIME
	[[ -n $2 && $(lab__starttime "$1") == "$2" ]]
}
lab__end() {   # lab__end PID STARTTIME SECS : TERM, wait, KILL; bounded
	local pid=$1 st=$2 i
	lab__alive "$pid" "$st" || return 0
	kill -TERM "$pid" 2>/dev/null
	lab__deadline "$3"
	for ((i = 0; i < $3 * 20 && i < 1000; i++)); do
		lab__alive "$pid" "$st" || return 0
		lab__before || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		lab__alive "$pid" "$st" || return 0
		sleep 0.1
	done
}
# Anything still running inside our namespaces was started by this test
# (a child a daemon forked, say): end it, by PID, so no process outlives
# the test holding a deleted namespace alive.
lab__end_leftovers() {
	local ns pid sig i left
	for sig in TERM KILL; do
		left=0
		for ns in $(lab__all_ns); do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
				[[ $sig == TERM ]] &&
					echo "lab.sh: ending leftover PID $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) in $ns" >&2
				kill -"$sig" "$pid" 2>/dev/null && left=1
			done
		done
		((left)) || return 0
		for ((i = 0; i < 20; i++)); do
			sleep 0.1
			left=0
			for ns in $(lab__all_ns); do
				[[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && left=1
			done
			((left)) || return 0
		done
	done
}
lab_bg() {   # lab_bg PID : have cleanup end this background process too
	LAB_BG+=("$1 $(lab__starttime "$1")")
}

lab_down() {   # end our processes, delete the namespaces and the temp dir
	local n p st
	for n in "${LAB_NAMES[@]}"; do
		lab__end "${LAB_PID[$n]}" "${LAB_START[$n]}" 3
	done
	for p in "${LAB_BG[@]}"; do
		read -r p st <<<"$p"
		lab__end "$p" "$st" 2
	done
	LAB_BG=()
	if ((LAB_NETNS_MADE)); then
		lab__end_leftovers
		for n in $(lab__all_ns); do
			ip netns del "$n" 2>/dev/null
			# a test's own /etc/hosts for NS (ipv6_outer.sh)
			[[ -d /etc/netns/$n ]] && rm -rf "/etc/netns/$n"
		done
		LAB_EXTRA_NS=()
		LAB_NETNS_MADE=0
	fi
	if [[ -n ${LAB_KEEP_TMP:-} ]]; then
		echo "lab.sh: kept $LAB_TMP" >&2
	else
		rm -rf "$LAB_TMP"
	fi
	return 0
}
lab_again() {   # lab_down, then ready for another lab_up in the same run
	lab_down
	LAB_NAMES=() LAB_PID=() LAB_START=() LAB_LOG=() LAB_BG=()
	LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$LAB_ID.XXXXXX") || fail "no temp dir"
}

lab__cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	lab_down
	exit "$rc"
}
trap lab__cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ----------------------------------------------------------------- checks
lab_require() {
	[[ $(id -u) == 0 ]] || skip "needs root (network namespaces, TUN)"
	[[ -c /dev/net/tun ]] || skip "/dev/net/tun missing (modprobe tun)"
	command -v ip >/dev/null || skip "ip not found: install iproute2"
	command -v socat >/dev/null || skip "socat not found: install socat"
	command -v ping >/dev/null || skip "ping not found: install iputils-ping"
	command -v timeout >/dev/null || skip "timeout not found: install coreutils"
	[[ -n ${CULVERTD:-} && -x $CULVERTD ]] || {
		echo "CULVERTD is not set to an executable (it is '${CULVERTD:-}'): run this through make check" >&2
		exit 99
	}
	[[ -n ${CULVERT_PLUGIN_DIR:-} && -d $CULVERT_PLUGIN_DIR ]] || {
		echo "CULVERT_PLUGIN_DIR is not set to a directory: run this through make check" >&2
		exit 99
	}
}

# ---------------------------------------------------------------- the lab
lab_up() {
	ip netns add "$LAB_U" 2>"$LAB_TMP/netns.err" ||
		skip "cannot create network namespaces: $(cat "$LAB_TMP/netns.err")"
	LAB_NETNS_MADE=1
	ip netns add "$LAB_GW" || fail "ip netns add $LAB_GW"
	ip netns add "$LAB_V" || fail "ip netns add $LAB_V"
	local ns
	for ns in "$LAB_U" "$LAB_GW" "$LAB_V"; do
		ip -n "$ns" link set lo up || fail "lo up in $ns"
	done
	# The veth ends are created inside the namespaces: no name ever exists
	# in the host's namespace, so parallel labs cannot collide.
	ip link add u0 netns "$LAB_U" type veth peer name gw0 netns "$LAB_GW" ||
		fail "veth u0 <-> gw0"
	ip link add gw1 netns "$LAB_GW" type veth peer name v0 netns "$LAB_V" ||
		fail "veth gw1 <-> v0"
	# nodad: an IPv6 outer address is usable at once (LAB_OUTER=6)
	lab__ip "$LAB_U" addr add "$LAB_U_PUB/$LAB_PUB_LEN" dev u0 ${LAB_OUTER6_FLAGS:-}
	lab__ip "$LAB_GW" addr add "$LAB_GW_PUB/$LAB_PUB_LEN" dev gw0 ${LAB_OUTER6_FLAGS:-}
	lab__ip "$LAB_GW" addr add "$LAB_GW_LAN/24" dev gw1
	lab__ip "$LAB_V" addr add "$LAB_V_LAN/24" dev v0
	lab__ip "$LAB_U" link set u0 up
	lab__ip "$LAB_GW" link set gw0 up
	lab__ip "$LAB_GW" link set gw1 up
	lab__ip "$LAB_V" link set v0 up
	ip -n "$LAB_V" route add default via "$LAB_GW_LAN" || fail "V's default route"
	lab_forwarding off
	# Wait (bounded) for both veths to pass traffic; IPv6 DAD is not involved.
	lab__wait 5 ip netns exec "$LAB_U" ping -c 1 -W 1 -q "$LAB_GW_PUB" ||
		fail "U cannot reach the gateway on 192.0.2.0/24"
	lab__wait 5 ip netns exec "$LAB_V" ping -c 1 -W 1 -q "$LAB_GW_LAN" ||
		fail "V cannot reach the gateway on 198.51.100.0/24"
}

# lab_add_client N [NAME] : host UN, cvt-uN-$ID (or cvt-NAME-$ID), one more
# client on the public /24 (drawing at the top). Call after lab_up.
lab_add_client() {
	local n=$1 ns gwdev pub letters=(- - b c d e f g h i)
	[[ $n =~ ^[2-9]$ ]] || fail "lab_add_client: N must be 2..9, not '$n'"
	((LAB_NETNS_MADE)) || fail "lab_add_client $n: call lab_up first"
	ns=$(lab__ns "u$n")
	if [[ -n ${2:-} ]]; then
		ns=cvt-$2-$LAB_ID
		LAB_NAMED[$2]=$ns
	fi
	gwdev=gw0${letters[n]}
	pub=192.0.2.$((n + 1))
	ip netns add "$ns" || fail "ip netns add $ns"
	LAB_EXTRA_NS+=("$ns")
	lab__ip "$ns" link set lo up
	ip link add u0 netns "$ns" type veth peer name "$gwdev" netns "$LAB_GW" ||
		fail "veth u0 ($ns) <-> $gwdev"
	lab__ip "$ns" addr add "$pub/24" dev u0
	lab__ip "$ns" link set u0 up
	lab__ip "$LAB_GW" link set "$gwdev" up
	# The gateway's 192.0.2.1 lives on gw0; a host route sends UN's replies
	# out of gwdev, and the kernel answers UN's ARP for 192.0.2.1 there.
	lab__ip "$LAB_GW" route add "$pub/32" dev "$gwdev" src "$LAB_GW_PUB"
	lab__wait 5 ip netns exec "$ns" ping -c 1 -W 1 -q "$LAB_GW_PUB" ||
		fail "u$n ($pub) cannot reach the gateway on 192.0.2.0/24"
}

# lab__host NAME : one more namespace, cvt-NAME-$ID, with lo up
lab__host() {
	local ns=cvt-$1-$LAB_ID
	ip netns add "$ns" || fail "ip netns add $ns"
	LAB_EXTRA_NS+=("$ns")
	LAB_NAMED[$1]=$ns
	lab__ip "$ns" link set lo up
}

# lab__site_lan ROUTER HOST N L : site N's LAN, 198.18.N.0/24 and
# 2001:db8:L:1::/64, between ROUTER's "lan" (.1, ::1) and HOST's h0 (.10,
# ::10), HOST routing everything via the router; forwarding on in ROUTER.
lab__site_lan() {
	local router host=$2 n=$3 l=$4 rns hns
	rns=$(lab__ns "$1")
	lab__host "$host"
	hns=$(lab__ns "$host")
	ip link add lan netns "$rns" type veth peer name h0 netns "$hns" ||
		fail "veth lan ($1) <-> h0 ($host)"
	lab__ip "$rns" addr add "198.18.$n.1/24" dev lan
	lab__ip "$rns" addr add "2001:db8:$l:1::1/64" dev lan nodad
	lab__ip "$hns" addr add "198.18.$n.10/24" dev h0
	lab__ip "$hns" addr add "2001:db8:$l:1::10/64" dev h0 nodad
	lab__ip "$rns" link set lan up
	lab__ip "$hns" link set h0 up
	lab__ip "$hns" route add default via "198.18.$n.1"
	lab__ip "$hns" -6 route add default via "2001:db8:$l:1::1"
	ip netns exec "$rns" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 || fail "forwarding on in $1"
	lab__wait 5 ip netns exec "$hns" ping -c 1 -W 1 -q "198.18.$n.1" ||
		fail "$host cannot reach its router $1 on 198.18.$n.0/24"
}

lab_sites_up() {   # the sites topology: drawing at the top
	lab_up
	lab_forwarding on
	ip netns exec "$LAB_GW" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
		fail "IPv6 forwarding on in the gateway"
	lab_add_client 2 r1
	lab_add_client 3 r3
	lab__site_lan r1 x 1 a
	lab__site_lan gw y 2 b
	lab__site_lan r3 z 3 c
}

# lab_cv_routes NS : NS's routes that culvertd made: through $LAB_DEV in
# any table, and the throw routes of a client's table (51821). Empty when
# none is left.
lab_cv_routes() {
	local ns
	ns=$(lab__ns "$1")
	{
		ip -n "$ns" -4 route show table all dev "$LAB_DEV" 2>/dev/null
		ip -n "$ns" -6 route show table all dev "$LAB_DEV" 2>/dev/null
		ip -n "$ns" -4 route show table all type throw 2>/dev/null
		ip -n "$ns" -6 route show table all type throw 2>/dev/null
	} | grep -v '^$'
}

lab_inner() {   # lab_inner NS : NS's first IPv4 address on the tunnel device
	ip -n "$(lab__ns "$1")" -4 -o addr show dev "$LAB_DEV" 2>/dev/null |
		awk '{ sub("/.*", "", $4); print $4; exit }'
}

lab__ip() {   # lab__ip NS ARGS... : ip -n NS ARGS, or fail naming the command
	ip -n "$@" || fail "ip -n $*"
}

lab__wait() {   # lab__wait SECS CMD... : retry CMD every 0.1 s for SECS
	local i
	lab__deadline "$1"
	for ((i = 0; i < $1 * 20 && i < 1000; i++)); do
		"${@:2}" >/dev/null 2>&1 && return 0
		lab__before || return 1
		sleep 0.1
	done
	return 1
}

lab_forwarding() {   # lab_forwarding on|off
	local v=0
	[[ $1 == on ]] && v=1
	ip netns exec "$LAB_GW" sysctl -qw net.ipv4.ip_forward=$v ||
		fail "cannot set net.ipv4.ip_forward=$v in the gateway"
}

lab_write_configs() {   # the lab's two configs, plain udp
	cat >"$LAB_TMP/gw.conf" <<-EOF
	# gateway: the server of the lab
	mode      = server
	transport = udp
	insecure  = yes              # udp has no crypto: explicit opt-in
	listen    = $LAB_GW_EP
	device    = $LAB_DEV
	pool      = $LAB_POOL     # gateway takes .1, the client gets .2
	route     = $LAB_LAN_NET   # pushed to clients
	plugin-dir = $CULVERT_PLUGIN_DIR
	state-dir = $LAB_TMP/state # reset.key, kept across the gateway's restarts
	EOF
	cat >"$LAB_TMP/u.conf" <<-EOF
	# host U: the client
	mode      = client
	transport = udp
	insecure  = yes
	remote    = $LAB_GW_EP
	device    = $LAB_DEV
	plugin-dir = $CULVERT_PLUGIN_DIR
	EOF
}

lab_tunnel() {   # lab_tunnel TRANSPORT [K=V...] : see the header
	local t=$1
	shift
	lab_up
	lab_forwarding on
	if [[ $t == udp ]]; then
		lab_write_configs
	else
		lab_require_tls "$t"
		lab_pki "$LAB_TMP/pki"
		lab_server_conf "$LAB_TMP/gw.conf" "transport=$t"
		lab_client_conf "$LAB_TMP/u.conf" "transport=$t" "$@"
	fi
	lab_start gw gw "$LAB_TMP/gw.conf"
	lab_wait_log gw "$t: listening" 10 || fail "$t: the gateway did not listen within 10 s"
	lab_start u u "$LAB_TMP/u.conf"
	lab_wait_log u 'tunnel up' 15 || fail "$t: the client did not log 'tunnel up' within 15 s"
}

# --------------------------------------------------- tls: certificates, configs
lab_require_tls() {   # lab_require_tls [TRANSPORT] : certtool, and the plugin (tls)
	local t=${1:-tls}
	command -v certtool >/dev/null || skip "certtool not found: install gnutls-bin"
	[[ -e $CULVERT_PLUGIN_DIR/$t.la || -e $CULVERT_PLUGIN_DIR/$t.so ]] ||
		skip "no $t plugin in $CULVERT_PLUGIN_DIR (was it built?)"
}

lab_require_loadgen() {   # the attacks' tool, built by make (bench/loadgen)
	[[ -n ${CULVERT_LOADGEN:-} && -x $CULVERT_LOADGEN ]] ||
		skip "CULVERT_LOADGEN is not set to an executable (run this through make check)"
}

# lab_pki DIR : a small PKI for the tests, made with certtool, ECDSA P-256
# (fast to make). Sets LAB_PKI=DIR. Every NAME below is NAME.crt + NAME.key
# (keys mode 600). Good certificates are valid from 2020 to 2099, so a test
# never depends on the day it runs.
#   ca          the lab's CA; gateway and clients trust it
#   server      CN vpn.example.org, SAN dns vpn.example.org + ip 192.0.2.1
#   alice bob carol   client certificates (CN = the name), signed by ca
#   other-ca    an unrelated CA
#   mallory     a client certificate (CN mallory) signed by other-ca
#   dave-expired  a client certificate (CN dave) signed by ca, valid only in 2020
#   other-server  the server's names, but signed by other-ca
#   expired     the server's names, signed by ca, valid only in 2020
#   future      the server's names, signed by ca, valid from 2090
lab_pki() {
	local dir=$1 n
	{ mkdir -p "$dir" && chmod 700 "$dir"; } || fail "lab_pki: cannot make $dir"
	LAB_PKI=$dir
	lab__tmpl "$dir/ca.tmpl" 'cn = "culvert test CA"' ca cert_signing_key crl_signing_key
	lab__tmpl "$dir/other-ca.tmpl" 'cn = "someone else CA"' ca cert_signing_key
	lab__server_tmpl "$dir/server.tmpl"
	for n in alice bob carol mallory dave; do
		lab__tmpl "$dir/$n.tmpl" "cn = \"$n\"" tls_www_client signing_key
	done
	lab__selfsign "$dir" ca
	lab__selfsign "$dir" other-ca
	lab__sign "$dir" server ca server
	lab__sign "$dir" alice ca alice
	lab__sign "$dir" bob ca bob
	lab__sign "$dir" carol ca carol
	lab__sign "$dir" mallory other-ca mallory
	lab__sign "$dir" other-server other-ca server
	sed -e '/^activation_date/d' -e '/^expiration_date/d' "$dir/server.tmpl" >"$dir/expired.tmpl"
	sed -e '/^activation_date/d' -e '/^expiration_date/d' "$dir/dave.tmpl" >"$dir/dave-expired.tmpl"
	cp "$dir/expired.tmpl" "$dir/future.tmpl"
	printf '%s\n' 'activation_date = "2020-01-01 00:00:00 UTC"' \
		'expiration_date = "2020-12-31 23:59:59 UTC"' |
		tee -a "$dir/dave-expired.tmpl" >>"$dir/expired.tmpl"
	printf '%s\n' 'activation_date = "2090-01-01 00:00:00 UTC"' \
		'expiration_date = "2099-12-31 23:59:59 UTC"' >>"$dir/future.tmpl"
	lab__sign "$dir" expired ca expired
	lab__sign "$dir" future ca future
	lab__sign "$dir" dave-expired ca dave-expired
	rm -f "$dir"/*.tmpl
}
# lab_pki_client NAME [OU] : one more client certificate in $LAB_PKI, CN
# NAME (and organizational unit OU), signed by the lab's CA.
lab_pki_client() {
	local dir=$LAB_PKI
	lab__tmpl "$dir/$1.tmpl" "cn = \"$1\"" ${2:+"unit = \"$2\""} \
		tls_www_client signing_key
	lab__sign "$dir" "$1" ca "$1"
	rm -f "$dir/$1.tmpl"
}
# lab_pki_server NAME KEY : one more server certificate in $LAB_PKI (the
# names of `server`), signed by the lab's CA, with a KEY of rsa2048,
# rsa3072 or rsa4096 (a gateway's handshake then costs it more than its
# client: it signs with RSA, the client verifies) or ecdsa.
lab_pki_server() {
	local dir=$LAB_PKI
	lab__server_tmpl "$dir/$1.tmpl"
	lab__sign "$dir" "$1" ca "$1" "$2"
	rm -f "$dir/$1.tmpl"
}
lab__server_tmpl() {   # lab__server_tmpl FILE : the gateway's names, as `server`
	lab__tmpl "$1" 'cn = "vpn.example.org"' 'dns_name = "vpn.example.org"' \
		'ip_address = "192.0.2.1"' tls_www_server signing_key
}
lab__tmpl() {   # lab__tmpl FILE LINE... : a certtool template, valid 2020-2099
	local f=$1
	shift
	printf '%s\n' "$@" 'activation_date = "2020-01-01 00:00:00 UTC"' \
		'expiration_date = "2099-12-31 23:59:59 UTC"' >"$f"
}
lab__key() {   # lab__key DIR NAME [KEY] : DIR/NAME.key, mode 600 from its creation
	local kind=(--key-type=ecdsa --curve=secp256r1)
	case ${3:-ecdsa} in
	ecdsa) ;;
	rsa2048 | rsa3072 | rsa4096) kind=(--key-type=rsa --bits="${3#rsa}") ;;
	*) fail "lab__key: no key type $3 (ecdsa, rsa2048, rsa3072, rsa4096)" ;;
	esac
	(umask 077 && certtool --generate-privkey "${kind[@]}" \
		--outfile "$1/$2.key" >/dev/null 2>"$1/$2.err") ||
		fail "certtool: cannot make key $2: $(cat "$1/$2.err")"
	chmod 600 "$1/$2.key"
}
lab__selfsign() {   # lab__selfsign DIR NAME
	lab__key "$1" "$2"
	certtool --generate-self-signed --load-privkey "$1/$2.key" \
		--template "$1/$2.tmpl" --outfile "$1/$2.crt" >/dev/null 2>"$1/$2.err" ||
		fail "certtool: cannot make $2.crt: $(cat "$1/$2.err")"
	rm -f "$1/$2.err"
}
lab__sign() {   # lab__sign DIR NAME CA TEMPLATE [KEY]
	lab__key "$1" "$2" "${5:-}"
	certtool --generate-certificate --load-privkey "$1/$2.key" \
		--load-ca-certificate "$1/$3.crt" --load-ca-privkey "$1/$3.key" \
		--template "$1/$4.tmpl" --outfile "$1/$2.crt" >/dev/null 2>"$1/$2.err" ||
		fail "certtool: cannot make $2.crt: $(cat "$1/$2.err")"
	rm -f "$1/$2.err"
}

# lab__conf FILE TITLE DEFAULT... -- OVERRIDE... : write a config of KEY=VALUE
# words, one `key = value` line each, in order. An OVERRIDE KEY=VALUE
# replaces the default of KEY or, for a new KEY, is added at the end; KEY=
# drops KEY. A KEY starting with '[' is written as is (a section line), so
# "[tls]=" "mtu=1300" as the last overrides make a section.
lab__conf() {
	local file=$1 title=$2 kv k i found
	local -a keys=() vals=()
	shift 2
	while (($#)) && [[ $1 != -- ]]; do
		keys+=("${1%%=*}") vals+=("${1#*=}")
		shift
	done
	(($#)) && shift
	for kv; do
		k=${kv%%=*} found=0
		for i in "${!keys[@]}"; do
			if [[ ${keys[i]} == "$k" && $k != \[* ]]; then
				vals[i]=${kv#*=} found=1
				break
			fi
		done
		((found)) || keys+=("$k") vals+=("${kv#*=}")
	done
	{
		printf '# %s\n' "$title"
		for i in "${!keys[@]}"; do
			if [[ ${keys[i]} == \[* ]]; then
				printf '%s\n' "${keys[i]}"
			elif [[ -n ${vals[i]} ]]; then
				printf '%-13s = %s\n' "${keys[i]}" "${vals[i]}"
			fi
		done
	} >"$file" || fail "cannot write $file"
}

# lab_server_conf FILE [KEY=VALUE...] : the gateway over tls, certificates
# from lab_pki, auth = certificate unless overridden.
lab_server_conf() {
	local file=$1
	shift
	lab__conf "$file" "gateway: the server of the lab, over tls" \
		mode=server transport=tls "listen=$LAB_GW_EP" "device=$LAB_DEV" \
		"pool=$LAB_POOL" "route=$LAB_LAN_NET" \
		"cert=$LAB_PKI/server.crt" "key=$LAB_PKI/server.key" "ca=$LAB_PKI/ca.crt" \
		auth=certificate "plugin-dir=$CULVERT_PLUGIN_DIR" \
		"state-dir=$LAB_TMP/state" -- "$@"
}

# lab_client_conf FILE [KEY=VALUE...] : a client over tls presenting alice's
# certificate; for a password client, override cert= key= and add
# username=... password-file=...
lab_client_conf() {
	local file=$1
	shift
	lab__conf "$file" "a client of the lab, over tls" \
		mode=client transport=tls "remote=$LAB_GW_EP" "device=$LAB_DEV" \
		"ca=$LAB_PKI/ca.crt" server-name=vpn.example.org \
		"cert=$LAB_PKI/alice.crt" "key=$LAB_PKI/alice.key" \
		"plugin-dir=$CULVERT_PLUGIN_DIR" -- "$@"
}

lab_tls_configs() {   # the lab's two configs over tls: what lab_write_configs is for udp
	[[ -n ${LAB_PKI:-} ]] || lab_pki "$LAB_TMP/pki"
	lab_server_conf "$LAB_TMP/gw.conf"
	lab_client_conf "$LAB_TMP/u.conf"
}

# lab_passwd FILE USER PASSWORD : culvertctl passwd, the password on stdin
lab_passwd() {
	[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || {
		echo "CULVERTCTL is not set to an executable (it is '${CULVERTCTL:-}'): run this through make check" >&2
		exit 99
	}
	printf '%s\n' "$3" | "$CULVERTCTL" passwd "$1" "$2" >"$LAB_TMP/passwd.out" 2>&1 ||
		fail "culvertctl passwd $1 $2: $(cat "$LAB_TMP/passwd.out")"
	chmod 600 "$1"
}

# ------------------------------------------------------------- captures
# lab_capture NAME NS DEV [FILTER...] : tcpdump in NS on DEV, every packet
# whole, into $LAB_TMP/NAME.pcap; returns once tcpdump listens (bounded).
# lab_capture_stop NAME : SIGTERM (tcpdump flushes the file and exits), then
# a bounded wait.
declare -gA LAB_CAP=()   # NAME -> "pid starttime"
lab_capture() {
	local name=$1 ns dev=$3 i
	ns=$(lab__ns "$2")
	shift 3
	command -v tcpdump >/dev/null || skip "tcpdump not found: install tcpdump"
	# -Z root: tcpdump would otherwise drop to its own user, who cannot
	# write into our mode-700 temp dir. --immediate-mode: no packet waits in a
	# kernel block at SIGTERM; -B 64 MiB: none is dropped during a transfer.
	printf '[%s] tcpdump -i %s -w %s.pcap %s\n' "$(lab__short "$ns")" "$dev" "$name" "$*" >&2
	ip netns exec "$ns" timeout 120 tcpdump -i "$dev" -n -s 0 -B 65536 --immediate-mode -Z root \
		-w "$LAB_TMP/$name.pcap" "$@" >"$LAB_TMP/$name.tcpdump" 2>&1 </dev/null &
	LAB_CAP[$name]="$! $(lab__starttime "$!")"
	lab_bg "$!"
	lab__deadline 10
	for ((i = 0; i < 200; i++)); do
		grep -q 'listening on' "$LAB_TMP/$name.tcpdump" && return 0
		lab__before || break
		sleep 0.05
	done
	fail "tcpdump $name did not start: $(cat "$LAB_TMP/$name.tcpdump")"
}
lab_capture_stop() {
	local pid st
	read -r pid st <<<"${LAB_CAP[$1]}"
	lab__end "$pid" "$st" 5
	wait "$pid" 2>/dev/null
	return 0
}

# ------------------------------------------------------------- culvertd
lab_start() {   # lab_start NAME NS CONF
	local name=$1 ns conf=$3
	ns=$(lab__ns "$2")
	[[ -z ${LAB_PID[$name]:-} ]] || fail "lab_start: '$name' was started before"
	LAB_LOG[$name]=$LAB_TMP/$name.log
	LAB_NSOF[$name]=$ns
	# Each daemon's control socket in this test's own directory: the
	# default under /run/culvert/ is shared by tests running at once
	# (unless the test has a /run of its own: LAB_OWN_RUN, ctl_instance.sh).
	# LAB_DEFAULT_SOCKET=1: the default, /run/culvert/NAME/control.sock
	# for NAME.conf (name the file after $LAB_ID then).
	if [[ -n ${LAB_DEFAULT_SOCKET:-} ]]; then
		LAB_SOCK[$name]=/run/culvert/$(basename "$conf" .conf)/control.sock
	elif [[ -z ${LAB_OWN_RUN:-} ]] && ! grep -q '^[[:space:]]*control-socket' "$conf"; then
		sed -i "1i control-socket = $LAB_TMP/$name.sock" "$conf"
	fi
	[[ -n ${LAB_DEFAULT_SOCKET:-} ]] ||
		LAB_SOCK[$name]=$(sed -n 's/^[[:space:]]*control-socket[[:space:]]*=[[:space:]]*//p' "$conf" | head -n 1)
	# CULVERT_TEST_THREADS=N: every gateway runs with threads = N unless
	# its test chose (CI runs the whole suite with 1 and with 2 loops). A
	# client runs one loop, and refuses the key.
	if [[ -n ${CULVERT_TEST_THREADS:-} ]] &&
		grep -q '^[[:space:]]*mode[[:space:]]*=[[:space:]]*server' "$conf" &&
		! grep -q '^[[:space:]]*threads[[:space:]]*=' "$conf"; then
		sed -i "1i threads = $CULVERT_TEST_THREADS" "$conf"
	fi
	ip netns exec "$ns" "$CULVERTD" -c "$conf" -f -v >"${LAB_LOG[$name]}" 2>&1 </dev/null &
	LAB_PID[$name]=$!
	LAB_START[$name]=$(lab__starttime "$!")
	LAB_NAMES+=("$name")
	# It may already have exited (a config error); then LAB_START is
	# empty, lab_alive says no, and the log tells why.
	return 0
}

lab_alive() { lab__alive "${LAB_PID[$1]}" "${LAB_START[$1]}"; }

lab_stop() {   # lab_stop NAME [SECS] -> culvertd's exit status (124: had to KILL)
	local name=$1 secs=${2:-10} pid i rc
	pid=${LAB_PID[$name]}
	if lab_alive "$name"; then
		kill -TERM "$pid" 2>/dev/null
		lab__deadline "$secs"
		for ((i = 0; i < secs * 20 && i < 1000; i++)); do
			lab_alive "$name" || break
			lab__before || break
			sleep 0.1
		done
		if lab_alive "$name"; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

lab_wait_log() {   # lab_wait_log NAME ERE SECS
	local name=$1 re=$2 i
	lab__deadline "$3"
	for ((i = 0; i < $3 * 20 && i < 1000; i++)); do
		grep -Eq -- "$re" "${LAB_LOG[$name]}" 2>/dev/null && return 0
		# one last look after it died: it may have logged on its way out
		if ! lab_alive "$name"; then
			grep -Eq -- "$re" "${LAB_LOG[$name]}" 2>/dev/null
			return
		fi
		lab__before || break
		sleep 0.1
	done
	grep -Eq -- "$re" "${LAB_LOG[$name]}" 2>/dev/null
}

lab_counters() {   # lab_counters NAME : fills LAB_COUNTERS from a fresh `counters:` line
	local name=$1 log before i line kv
	log=${LAB_LOG[$name]}
	lab_alive "$name" || return 1
	before=$(grep -c 'counters: ' "$log")
	kill -USR1 "${LAB_PID[$name]}" || return 1
	lab__deadline 5
	for ((i = 0; i < 100; i++)); do
		(($(grep -c 'counters: ' "$log") > before)) && break
		lab__before || break
		sleep 0.1
	done
	line=$(grep 'counters: ' "$log" | tail -n 1)
	(($(grep -c 'counters: ' "$log") > before)) || return 1
	LAB_COUNTERS=()
	for kv in ${line#*counters: }; do
		[[ $kv == *=* ]] && LAB_COUNTERS[${kv%%=*}]=${kv#*=}
	done
	return 0
}

lab_counters_as() {   # lab_counters_as NAME ARRAY : lab_counters NAME, copied into the global ARRAY
	local k
	lab_counters "$1" || return 1
	declare -gA "$2"
	local -n lab__into=$2
	lab__into=()
	for k in "${!LAB_COUNTERS[@]}"; do lab__into[$k]=${LAB_COUNTERS[$k]}; done
}

lab_ping() {   # lab_ping COUNT [NS [TO]] : ping V (or TO) from U (or NS); LAB_PING_RECEIVED = replies
	local out
	out=$(in_ns "${2:-u}" timeout $(($1 * 2 + 5)) ping -c "$1" -i 0.2 -W 2 "${3:-$LAB_V_LAN}" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /'
	LAB_PING_RECEIVED=$(sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out")
	LAB_PING_RECEIVED=${LAB_PING_RECEIVED:-0}
}
lab_pings() {   # lab_pings FROM TO... : 3 pings each, all answered, else fail
	local from=$1 to
	shift
	for to; do
		lab_ping 3 "$from" "$to"
		((LAB_PING_RECEIVED == 3)) ||
			fail "$from -> $to: $LAB_PING_RECEIVED of 3 answers${LAB_PINGS_WHERE:+ ($LAB_PINGS_WHERE)}"
	done
}

# The good client's ping during an attack: COUNT pings U -> V at 0.05 s
# (COUNT / 20 seconds), then lab_steady_ping_check says whether fewer than
# 1% were lost.
lab_steady_ping() {   # lab_steady_ping COUNT
	LAB_STEADY_COUNT=$1
	printf '[u] ping -c %s -i 0.05 %s  (in the background)\n' "$1" "$LAB_V_LAN" >&2
	ip netns exec "$LAB_U" timeout $(($1 / 20 + 20)) \
		ping -c "$1" -i 0.05 -W 1 "$LAB_V_LAN" >"$LAB_TMP/steady.ping" 2>&1 </dev/null &
	LAB_STEADY_PID=$!
	lab_bg "$LAB_STEADY_PID"
}
lab_steady_ping_check() {   # lab_steady_ping_check WHAT : WHAT names the attack
	local n=$LAB_STEADY_COUNT i sent got
	lab__deadline $((n / 20 + 20))
	for ((i = 0; i < (n / 20 + 20) * 10; i++)); do
		grep -q 'packets transmitted' "$LAB_TMP/steady.ping" && break
		lab__before || break
		sleep 0.1
	done
	wait "$LAB_STEADY_PID" 2>/dev/null
	sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/steady.ping")
	got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/steady.ping")
	[[ -n $sent && -n $got ]] || fail "the steady ping did not finish: $(tail -n 3 "$LAB_TMP/steady.ping")"
	((sent == n && (sent - got) * 100 < sent)) ||
		fail "steady ping u -> V $1: $got of $sent replies (1% loss or more)"
	ok "steady ping u -> V $1: $got of $sent replies"
}
