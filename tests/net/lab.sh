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
#  |                 |    | on udp 192.0.2.1:4433        |    | via 198.51.100.1 |
#  | cv0 203.0.113.2 #====# cv0 203.0.113.1              |    |                  |
#  +-----------------+ ^  +------------------------------+    +------------------+
#                      |
#       the tunnel: culvert's messages inside udp datagrams between u0 and gw0
#
#   U has no route to 198.51.100.0/24 (and no default route) until culvertd
#   installs one through cv0. V's only way back to 203.0.113.2 is its default
#   route via the gateway. The gateway forwards only after `lab_forwarding on`.
#   No NAT anywhere: V sees U's inner address.
#
# Everything is named with $LAB_ID (test name + PID), so tests run in parallel.
# One EXIT trap, set when this file is sourced, ends every process started
# here (by PID), deletes the namespaces and the temp dir, on success, failure,
# or a signal. Tests must not set their own EXIT/INT/TERM traps.
#
# Functions:
#   lab_require                 skip (77) without root, /dev/net/tun, ip, socat, ping
#   lab_up                      namespaces, veths, addresses, routes (forwarding off)
#   lab_down                    what the EXIT trap does, for use before the end
#   lab_forwarding on|off       IPv4 forwarding in the gateway
#   lab_write_configs           $LAB_TMP/gw.conf and $LAB_TMP/u.conf (udp, insecure)
#   lab_start NAME NS CONF      start culvertd in NS, log to $LAB_TMP/NAME.log
#   lab_stop NAME [SECS]        SIGTERM, wait (bounded); returns culvertd's status
#   lab_alive NAME              is NAME's culvertd still running?
#   lab_wait_log NAME ERE SECS  poll NAME's log for ERE; 1 on timeout or death
#   lab_counters NAME           SIGUSR1, parse the next `counters:` line into
#                               the associative array LAB_COUNTERS
#   lab_ping COUNT              ping V from U; sets LAB_PING_RECEIVED
#   lab_xfer MB                 TCP transfer U -> V (see xfer.sh)
#   in_ns NS CMD...             run CMD in NS (u, gw, v or a full name), echoing it
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

LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$LAB_ID.XXXXXX") || {
	echo "lab.sh: cannot create a temp dir" >&2
	exit 99
}
declare -A LAB_PID=() LAB_START=() LAB_LOG=() LAB_NSOF=() LAB_COUNTERS=()
LAB_NAMES=()      # every daemon started, in order (their logs are printed on failure)
LAB_BG=()         # other background processes: "pid starttime"
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
lab__ns() {   # u|gw|v -> namespace name; anything else is taken as is
	case $1 in
	u) echo "$LAB_U" ;; gw) echo "$LAB_GW" ;; v) echo "$LAB_V" ;; *) echo "$1" ;;
	esac
}
lab__short() {   # namespace name -> u|gw|v for messages
	case $1 in
	"$LAB_U" | u) echo u ;; "$LAB_GW" | gw) echo gw ;; "$LAB_V" | v) echo v ;; *) echo "$1" ;;
	esac
}

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
		for ns in "$LAB_U" "$LAB_GW" "$LAB_V"; do
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
			for ns in "$LAB_U" "$LAB_GW" "$LAB_V"; do
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
		for n in "$LAB_U" "$LAB_GW" "$LAB_V"; do
			ip netns del "$n" 2>/dev/null
		done
		LAB_NETNS_MADE=0
	fi
	if [[ -n ${LAB_KEEP_TMP:-} ]]; then
		echo "lab.sh: kept $LAB_TMP" >&2
	else
		rm -rf "$LAB_TMP"
	fi
	return 0
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
	lab__ip "$LAB_U" addr add "$LAB_U_PUB/24" dev u0
	lab__ip "$LAB_GW" addr add "$LAB_GW_PUB/24" dev gw0
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
	listen    = $LAB_GW_PUB:$LAB_PORT
	device    = $LAB_DEV
	pool      = $LAB_POOL     # gateway takes .1, the client gets .2
	route     = $LAB_LAN_NET   # pushed to clients
	plugin-dir = $CULVERT_PLUGIN_DIR
	EOF
	cat >"$LAB_TMP/u.conf" <<-EOF
	# host U: the client
	mode      = client
	transport = udp
	insecure  = yes
	remote    = $LAB_GW_PUB:$LAB_PORT
	device    = $LAB_DEV
	plugin-dir = $CULVERT_PLUGIN_DIR
	EOF
}

# ------------------------------------------------------------- culvertd
lab_start() {   # lab_start NAME NS CONF
	local name=$1 ns conf=$3
	ns=$(lab__ns "$2")
	[[ -z ${LAB_PID[$name]:-} ]] || fail "lab_start: '$name' was started before"
	LAB_LOG[$name]=$LAB_TMP/$name.log
	LAB_NSOF[$name]=$ns
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

lab_ping() {   # lab_ping COUNT : ping V from U; LAB_PING_RECEIVED = replies
	local out
	out=$(in_ns u timeout $(($1 * 2 + 5)) ping -c "$1" -i 0.2 -W 2 "$LAB_V_LAN" 2>&1)
	printf '%s\n' "$out" | sed 's/^/    /'
	LAB_PING_RECEIVED=$(sed -n 's/.* \([0-9][0-9]*\) \(packets \)\{0,1\}received.*/\1/p' <<<"$out")
	LAB_PING_RECEIVED=${LAB_PING_RECEIVED:-0}
}
