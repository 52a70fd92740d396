# bench/lab_env.sh - sourced (never run) by the bench scripts that build
# the test suite's lab (scale.sh, restart.sh, faults.sh, failover.sh,
# threads.sh, lab-iperf.sh, udp-gso.sh):
# the build tree's culvertd, culvertctl, plugins and culvert-loadgen
# unless the environment names others, then tests/net/lab.sh.
# shellcheck shell=bash
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
export CULVERTD=${CULVERTD:-$TOP/src/culvertd}
export CULVERTCTL=${CULVERTCTL:-$TOP/src/culvertctl}
export CULVERT_PLUGIN_DIR=${CULVERT_PLUGIN_DIR:-$TOP/plugins}
LOADGEN=${CULVERT_LOADGEN:-$TOP/bench/loadgen/culvert-loadgen}
# shellcheck source=tests/net/lab.sh
. "$TOP/tests/net/lab.sh"

cpu_ticks() {   # utime + stime of the lab's culvertd processes, in clock ticks
	local n sum=0 f
	for n in gw u; do
		f=$(cut -d' ' -f14,15 "/proc/${LAB_PID[$n]}/stat" 2>/dev/null) || continue
		sum=$((sum + ${f% *} + ${f#* }))
	done
	echo "$sum"
}

# loadgen_hold NS NAME SESSIONS DURATION [OPTIONS...] : culvert-loadgen
# in NS holding SESSIONS of alice's that come back when lost
# (--reconnect), its summary in $LAB_TMP/lg-NAME.json and its log in
# lg-NAME.log, its pid in LG; returns once all are up (within LG_UP_SECS,
# 120 s). Each pings LG_RATE times a second (1; 0: keepalives alone),
# LG_PARALLEL (64) handshakes at a time.
loadgen_hold() {
	local ns=$1 name=$2 n=$3 duration=$4
	shift 4
	ip netns exec "$ns" "$LOADGEN" "$@" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
		--server-name vpn.example.org --cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" \
		--sessions "$n" --hold 3600 --rate "${LG_RATE:-1}" --parallel "${LG_PARALLEL:-64}" \
		--duration "$duration" --reconnect --json >"$LAB_TMP/lg-$name.json" 2>"$LAB_TMP/lg-$name.log" </dev/null &
	LG=$!
	lab_bg "$LG"
	lab__deadline "${LG_UP_SECS:-120}"
	until grep -q 'all .* sessions up' "$LAB_TMP/lg-$name.log"; do
		lab__before && kill -0 "$LG" 2>/dev/null ||
			fail "$name: not all $n sessions came up: $(tail -n 5 "$LAB_TMP/lg-$name.log")"
		sleep 0.2
	done
}

# loadgen_back NAME WHAT : once loadgen_hold's NAME says every session is
# back up (within LG_BACK_SECS, 60 s, of WHAT, which the failure names),
# the time it says (EPOCHREALTIME) in BACK_AT.
loadgen_back() {
	lab__deadline "${LG_BACK_SECS:-60}"
	until grep -q 'sessions back up at' "$LAB_TMP/lg-$1.log"; do
		lab__before || fail "$1: not every session was back within ${LG_BACK_SECS:-60} s of $2"
		sleep 0.1
	done
	BACK_AT=$(sed -n 's/.*sessions back up at \([0-9.]*\).*/\1/p' "$LAB_TMP/lg-$1.log" | tail -n 1)
}

# loadgen_field NAME KEY : KEY of loadgen NAME's JSON summary, once it ended
loadgen_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$LAB_TMP/lg-$1.json" "$2"
}

# peak NAME ERE : the most lines of NAME's log matching ERE within one
# 100 ms (the log's times to the tenth of a second).
peak() {
	grep -E -- "$2" "${LAB_LOG[$1]}" | cut -c1-11 | uniq -c | sort -rn | head -n 1 | awk '{ print $1 + 0 }'
}

# bench_scale_limits SESSIONS : what SESSIONS sessions at once need
# beyond a test's few: the open files hard limit of this shell (culvertd
# and culvert-loadgen take their soft limits from it; raising it needs
# CAP_SYS_RESOURCE, which a container may lack: then it stays, said on
# stderr, and LAB_FD_HARD tells the scripts what they have), and in the
# gateway's namespace the TCP accept and SYN backlogs (a tls storm
# queues thousands of connections at once). Root.
bench_scale_limits() {
	local need=$(($1 + 4096))
	if (($(ulimit -Hn) < need)) && ! ulimit -Hn "$need" 2>/dev/null; then
		echo "# the open files hard limit stays $(ulimit -Hn), below $need: no CAP_SYS_RESOURCE here (fs.nr_open is $(cat /proc/sys/fs/nr_open)); tls sessions, a socket each in culvertd, are capped by it" >&2
	fi
	LAB_FD_HARD=$(ulimit -Hn)
	ip netns exec "$LAB_GW" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 ||
		fail "cannot raise the gateway's somaxconn and tcp_max_syn_backlog"
}

# loadgen_split SESSIONS : the sizes of the culvert-loadgen processes
# that hold SESSIONS between them, each a socket a session within the
# open files hard limit (256 kept for its own), in LG_PARTS.
loadgen_split() {
	local n=$1 per=$(($(ulimit -Hn) - 256)) k i
	k=$(((n + per - 1) / per))
	LG_PARTS=()
	for ((i = 0; i < k; i++)); do
		LG_PARTS+=($((n / k + (i < n % k ? 1 : 0))))
	done
}

# loadgen_sources SESSIONS : U's outer addresses for SESSIONS sessions
# of one transport, LG_PER_SOURCE (25,000) each (an address has 28,232
# ephemeral ports a protocol by default); the list, comma-separated, in
# LG_SOURCES for culvert-loadgen --source. The first is LAB_U_PUB; over
# IPv6 each other one is a host of its own /48 (2001:db8:fN::2/64 on
# u0, routed by the gateway through gw0), so that the gateway's bounds
# on links waiting for hello per host and per network (src/server/
# pending.h) see as many clients' sites as addresses; over IPv4 they
# are 192.0.2.101 and on, in the lab's /24.
loadgen_sources() {
	local per=${LG_PER_SOURCE:-25000}
	local n=$((($1 + per - 1) / per)) i a
	LG_SOURCES=$LAB_U_PUB
	for ((i = 1; i < n; i++)); do
		if [[ $LAB_U_PUB == *:* ]]; then
			a=2001:db8:f$i::2
			ip -n "$LAB_GW" -6 route replace "2001:db8:f$i::/64" dev gw0 ||
				fail "cannot route 2001:db8:f$i::/64 to U"
			ip -n "$LAB_U" addr replace "$a/64" dev u0 nodad ||
				fail "cannot add the outer address $a to U"
		else
			a=192.0.2.$((100 + i))
			ip -n "$LAB_U" addr replace "$a/$LAB_PUB_LEN" dev u0 ||
				fail "cannot add the outer address $a to U"
		fi
		LG_SOURCES+=,$a
	done
}
