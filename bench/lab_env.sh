# bench/lab_env.sh - sourced (never run) by the bench scripts that build
# the test suite's lab (scale.sh, restart.sh, faults.sh, failover.sh,
# lab-iperf.sh, udp-gso.sh):
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
# lg-NAME.log, its pid in LG; returns once all are up (within 120 s).
loadgen_hold() {
	local ns=$1 name=$2 n=$3 duration=$4
	shift 4
	ip netns exec "$ns" "$LOADGEN" "$@" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
		--server-name vpn.example.org --cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" \
		--sessions "$n" --hold 3600 --rate 1 --parallel 64 \
		--duration "$duration" --reconnect --json >"$LAB_TMP/lg-$name.json" 2>"$LAB_TMP/lg-$name.log" </dev/null &
	LG=$!
	lab_bg "$LG"
	lab__deadline 120
	until grep -q 'all .* sessions up' "$LAB_TMP/lg-$name.log"; do
		lab__before && kill -0 "$LG" 2>/dev/null ||
			fail "$name: not all $n sessions came up: $(tail -n 5 "$LAB_TMP/lg-$name.log")"
		sleep 0.2
	done
}

# loadgen_back NAME WHAT : once loadgen_hold's NAME says every session is
# back up (within 60 s of WHAT, which the failure names), the time it
# says (EPOCHREALTIME) in BACK_AT.
loadgen_back() {
	lab__deadline 60
	until grep -q 'sessions back up at' "$LAB_TMP/lg-$1.log"; do
		lab__before || fail "$1: not every session was back within 60 s of $2"
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
