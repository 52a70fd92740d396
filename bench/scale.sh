#!/usr/bin/env bash
# scale.sh - how many sessions one gateway holds, what each costs it in
# memory, and how many full handshakes with authentication it makes a
# second (issue 9). Root; not part of make check. Run from a built tree:
#
#   sudo bench/scale.sh                 # SCALE_SESSIONS=1000 by default
#   sudo SCALE_TOGETHER=1 bench/scale.sh   # and every transport's at once
#
# The lab of tests/net/lab.sh (U and the gateway), the gateway listening on
# tls and dtls with auth = certificate. For each transport, culvert-loadgen
# in U:
#   1. holds SCALE_SESSIONS sessions at once (every one authenticated by
#      its client certificate and welcomed), and the gateway's RSS is read
#      while they are up: RSS per session = (held - idle) / sessions;
#   2. churns SCALE_CHURN sessions (handshake, welcome, bye at once),
#      SCALE_PARALLEL handshakes under way at a time: handshakes a second.
# With SCALE_TOGETHER=1, then SCALE_SESSIONS sessions of every transport
# at once (2,000 for tls and dtls): RSS per session over all of them.
# Targets (issue 9): <= 64 KiB per session, >= 500 handshakes/s.
#
# The tunnel is IPv6 only: the gateway has pool6 = 2001:db8:1000::/64 and
# no IPv4 pool (DESIGN.md: tests use documentation addresses only, and
# the IPv4 ones hold no pool of 1,000 clients; 2001:db8::/32 holds any).
# It does not overlap the lab's other IPv6 networks (tests/net/lab.sh,
# ipv6_inner.sh: 2001:db8::/64, 2001:db8:100::/64, 2001:db8:200::/64).
# culvert-loadgen takes the ADDR6-only welcomes; every SCALE_SESSIONS is
# really held, and the gateway raises its open files limit to the hard
# one (the script checks the hard limit is enough).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
# shellcheck source=bench/lab_env.sh
. "$(dirname "$0")/lab_env.sh"

SCALE_SESSIONS=${SCALE_SESSIONS:-1000}
SCALE_CHURN=${SCALE_CHURN:-2000}
SCALE_PARALLEL=${SCALE_PARALLEL:-64}
SCALE_TRANSPORTS=${SCALE_TRANSPORTS:-tls dtls}
SCALE_TOGETHER=${SCALE_TOGETHER:-0}
SCALE_POOL6=2001:db8:1000::/64
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
lab_require
for t in $SCALE_TRANSPORTS; do lab_require_tls "$t"; done

HELD=$SCALE_SESSIONS
N_TRANSPORTS=$(wc -w <<<"$SCALE_TRANSPORTS")
ALL=$HELD
((SCALE_TOGETHER)) && ALL=$((HELD * N_TRANSPORTS))
# A socket a session on each side (and a few more of GnuTLS's), in one
# process each: the hard limit is what culvertd and culvert-loadgen take.
if (($(ulimit -Hn) < ALL + 256)); then
	echo "# the hard open files limit ($(ulimit -Hn)) is below $((ALL + 256)) for $ALL sessions: raise it (ulimit -Hn)" >&2
	exit 1
fi

lab_up
lab_pki "$LAB_TMP/pki"
# pool= and route= remove the lab's IPv4 pool and LAN route: IPv6 only.
# Every session is alice: duplicate-identity = yes keeps them all.
lab_server_conf "$LAB_TMP/gw.conf" "transport=$(echo "$SCALE_TRANSPORTS" | sed 's/ /, /g')" \
	pool= route= "pool6=$SCALE_POOL6" duplicate-identity=yes \
	auth=certificate "max-clients=$((ALL + 16))"
lab_start gw gw "$LAB_TMP/gw.conf"
for t in $SCALE_TRANSPORTS; do
	lab_wait_log gw "$t: listening on" 15 || fail "the gateway does not listen on $t"
done
grep -q "IPv6 only (no pool)" "${LAB_LOG[gw]}" || fail "the gateway is not IPv6 only"
GW_PID=${LAB_PID[gw]}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }
# The gateway's CPU time (user + system) in clock ticks: handshakes per
# CPU second tell its capacity even on a machine busy with other work.
cpu_ticks() { local s; s=$(cat "/proc/$GW_PID/stat"); s=${s##*) }; set -- $s; echo $((${12} + ${13})); }
HZ=$(getconf CLK_TCK)
sessions_now() {
	"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["sessions"])'
}
wait_idle() {
	local i
	for ((i = 0; i < 150; i++)); do
		[[ $(sessions_now) == 0 ]] && return 0
		sleep 0.2
	done
	return 1
}
loadgen() {   # loadgen NAME TRANSPORT ARGS... : in U, in the background
	local name=$1 t=$2
	shift 2
	ip netns exec "$LAB_U" "$LOADGEN" --transport "$t" --remote "$LAB_GW_PUB:$LAB_PORT" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
		--server-name vpn.example.org --cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" \
		--json "$@" >"$LAB_TMP/$name.json" 2>"$LAB_TMP/$name.log" </dev/null &
	LG=$!
	lab_bg "$LG"
}
# wait_all_up NAME COUNT PID : until NAME's loadgen says all COUNT are up
wait_all_up() {
	lab__deadline 240
	until grep -q 'all .* sessions up' "$LAB_TMP/$1.log"; do
		lab__before && lab__alive "$3" "$(lab__starttime "$3")" ||
			fail "$1: not all $2 sessions came up: $(grep -v '^\[' "$LAB_TMP/$1.log" | tail -n 5)"
		sleep 0.2
	done
}
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$LAB_TMP/$1.json" "$2"; }

# Warm-up: GnuTLS and the heap at working size before the idle figure.
for t in $SCALE_TRANSPORTS; do
	loadgen warm-$t "$t" --sessions 8 --total 32 --hold 0 --rate 0 --duration 60
	wait "$LG"
done
wait_idle || fail "sessions left after the warm-up"
IDLE=$(rss_kb)
echo "# idle gateway (after a warm-up): RSS $IDLE KiB"
printf '%-6s %8s %10s %12s %10s %11s %16s\n' transport held "RSS KiB" "KiB/session" "ramp hs/s" "churn hs/s" "hs/gw-CPU-second"

for t in $SCALE_TRANSPORTS; do
	# 1. hold HELD sessions
	loadgen hold-$t "$t" --sessions "$HELD" --total "$HELD" --hold 3600 --rate 0 \
		--parallel "$SCALE_PARALLEL" --duration 300
	wait_all_up "hold-$t" "$HELD" "$LG"
	sleep 2   # the last welcomes' keepalive timers, GnuTLS's buffers settle
	ON_GW=$(sessions_now)
	RSS=$(rss_kb)
	kill -TERM "$LG"
	wait "$LG"
	[[ $ON_GW == "$HELD" ]] || fail "$t: the gateway holds $ON_GW sessions, not $HELD"
	PER=$(((RSS - IDLE) / HELD))
	RAMP=$(field hold-$t ramp_rate)
	wait_idle || fail "$t: sessions left after the hold"
	# 2. churn: handshakes a second
	CPU0=$(cpu_ticks)
	loadgen churn-$t "$t" --sessions "$SCALE_PARALLEL" --total "$SCALE_CHURN" --hold 0 --rate 0 \
		--parallel "$SCALE_PARALLEL" --duration 120
	wait "$LG"
	CPU=$(($(cpu_ticks) - CPU0))
	PER_CPU=$(python3 -c 'import sys; print(round(int(sys.argv[1]) * int(sys.argv[3]) / max(int(sys.argv[2]), 1)))' \
		"$(field churn-$t up)" "$CPU" "$HZ")
	[[ $(field churn-$t failed) == 0 ]] ||
		echo "# $t churn: $(field churn-$t failed) handshakes failed: $(grep -v '^\[' "$LAB_TMP/churn-$t.log" | tail -n 3)"
	CHURN=$(field churn-$t handshake_rate)
	wait_idle || fail "$t: sessions left after the churn"
	printf '%-6s %8s %10s %12s %10s %11s %16s\n' "$t" "$HELD" "$RSS" "$PER" "$RAMP" "$CHURN" "$PER_CPU"
	echo "# $t: hold $(cat "$LAB_TMP/hold-$t.json")"
	echo "# $t: churn $(cat "$LAB_TMP/churn-$t.json")"
done
if ((SCALE_TOGETHER && N_TRANSPORTS > 1)); then
	# Every transport's HELD sessions at once, one loadgen each.
	declare -A LGS=()
	for t in $SCALE_TRANSPORTS; do
		loadgen together-$t "$t" --sessions "$HELD" --total "$HELD" --hold 3600 --rate 0 \
			--parallel "$SCALE_PARALLEL" --duration 400
		LGS[$t]=$LG
	done
	for t in $SCALE_TRANSPORTS; do
		wait_all_up "together-$t" "$HELD" "${LGS[$t]}"
	done
	sleep 2
	ON_GW=$(sessions_now)
	RSS=$(rss_kb)
	FDS=$(find "/proc/$GW_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
	for t in $SCALE_TRANSPORTS; do
		kill -TERM "${LGS[$t]}"
		wait "${LGS[$t]}"
	done
	[[ $ON_GW == "$ALL" ]] || fail "together: the gateway holds $ON_GW sessions, not $ALL"
	printf '%-6s %8s %10s %12s %10s\n' together "$ALL" "$RSS" "$(((RSS - IDLE) / ALL))" "fds $FDS"
	for t in $SCALE_TRANSPORTS; do
		echo "# together $t: $(cat "$LAB_TMP/together-$t.json")"
	done
	wait_idle || fail "together: sessions left after the hold"
fi
"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status --all | grep -E '^ *(sessions_|refused|tls\.(handshake|evicted)|dtls\.(handshake|evicted))' | sed 's/^ */# /'
lab_stop gw 15 || fail "the gateway did not exit cleanly"
