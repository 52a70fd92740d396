#!/usr/bin/env bash
# scale.sh - how many sessions one gateway holds, what each costs it in
# memory, and how many full handshakes with authentication it makes a
# second (issue 9). Root; not part of make check. Run from a built tree:
#
#   sudo bench/scale.sh                 # SCALE_SESSIONS=1000 by default
#   sudo SCALE_TOGETHER=1 bench/scale.sh   # and every transport's at once
#   sudo LAB_OUTER=6 SCALE_SESSIONS=50000 SCALE_TOGETHER=1 SCALE_ACTIVE=1 \
#        bench/scale.sh                 # 100,000 (issue 22)
#
# SCALE_SESSIONS_TLS, SCALE_SESSIONS_DTLS: one transport's count apart.
# A tls session is a socket in culvertd: where the open files hard limit
# cannot be raised (no CAP_SYS_RESOURCE), tls is capped below it, and
# the script says so. Each culvert-loadgen holds at most the hard limit
# less 256; more sessions take several, from as many of U's addresses
# as the ports need (loadgen_split, loadgen_sources). SCALE_EACH=0 skips
# the per-transport rounds; SCALE_ACTIVE=1 measures one real dtls
# client's iperf3 TCP and ping through the gateway, idle and with every
# session held (medians of SCALE_ACTIVE_ROUNDS, 5, rounds); culvertctl status's time is measured with them held.
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
# Targets (issue 9): <= 64 KiB per session, >= 500 handshakes/s; issue
# 22: 100,000 at <= 32 KiB each, status within a second, the active
# session within 10% of its figures on an idle gateway.
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
SCALE_EACH=${SCALE_EACH:-1}
SCALE_ACTIVE=${SCALE_ACTIVE:-0}
SCALE_ACTIVE_ROUNDS=${SCALE_ACTIVE_ROUNDS:-5}
SCALE_POOL6=2001:db8:1000::/64
SCALE_GW6=2001:db8:1000::1
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
lab_require
for t in $SCALE_TRANSPORTS; do lab_require_tls "$t"; done

declare -A HELD=()
ALL=0 MOST=0
for t in $SCALE_TRANSPORTS; do
	v=SCALE_SESSIONS_${t^^}
	HELD[$t]=${!v:-$SCALE_SESSIONS}
done

lab_up
# A socket a session on each side: the hard limit is what culvertd and
# culvert-loadgen take; the ports, from as many of U's addresses as they
# need.
for t in $SCALE_TRANSPORTS; do ALL=$((ALL + HELD[$t])); done
bench_scale_limits "$ALL"
TLS_MAX=$((LAB_FD_HARD - 1024))
if [[ -n ${HELD[tls]:-} ]] && ((HELD[tls] > TLS_MAX)); then
	echo "# tls: $TLS_MAX sessions, not ${HELD[tls]}: culvertd's open files hard limit is $LAB_FD_HARD (a socket a tls session, 1024 kept)"
	HELD[tls]=$TLS_MAX
fi
ALL=0
for t in $SCALE_TRANSPORTS; do
	ALL=$((ALL + HELD[$t]))
	((HELD[$t] > MOST)) && MOST=${HELD[$t]}
done
((SCALE_TOGETHER)) || ALL=$MOST
loadgen_sources "$MOST"
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
# The counters' line (SIGUSR1), not status: cheap with 100,000 sessions.
sessions_now() {
	lab_counters gw && echo "${LAB_COUNTERS[sessions]}"
}
wait_idle() {
	local i
	for ((i = 0; i < 150 + ALL / 100; i++)); do
		[[ $(sessions_now) == 0 ]] && return 0
		sleep 0.2
	done
	return 1
}
loadgen() {   # loadgen NAME TRANSPORT ARGS... : in U, in the background
	local name=$1 t=$2
	shift 2
	ip netns exec "$LAB_U" "$LOADGEN" --transport "$t" --remote "$LAB_GW_EP" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
		--server-name vpn.example.org --cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" \
		--source "$LG_SOURCES" --json "$@" >"$LAB_TMP/$name.json" 2>"$LAB_TMP/$name.log" </dev/null &
	LG=$!
	lab_bg "$LG"
}
# lg_ticks : the CPU ticks (user + system) of every culvert-loadgen held now
lg_ticks() {
	local pid sum=0 s
	for pid in ${PARTS[*]}; do
		s=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		s=${s##*) }
		set -- $s
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}
# hold NAME TRANSPORT COUNT SECS [WAYS] : COUNT sessions held, over as
# many culvert-loadgen as the open files limit needs (NAME.1, NAME.2...),
# their pids in PARTS[NAME]; SCALE_PARALLEL handshakes under way between
# them and the WAYS (1) holds made at once, as the gateway lets one host
# have 64 links waiting for hello (src/server/pending.h).
declare -A PARTS=()
hold() {
	local name=$1 t=$2 n=$3 secs=$4 ways=${5:-1} i=0 part par
	loadgen_split "$n"
	par=$((SCALE_PARALLEL / (${#LG_PARTS[@]} * ways)))
	((par >= 4)) || par=4
	PARTS[$name]=
	for part in "${LG_PARTS[@]}"; do
		i=$((i + 1))
		loadgen "$name.$i" "$t" --sessions "$part" --total "$part" --hold 3600 --rate 0 \
			--parallel "$par" --duration "$secs"
		PARTS[$name]+=" $LG"
	done
}
# wait_all_up NAME COUNT : until every part of NAME says all its sessions are up
wait_all_up() {
	local i=0 pid
	lab__deadline $((240 + $2 / 100))
	for pid in ${PARTS[$1]}; do
		i=$((i + 1))
		until grep -q 'all .* sessions up' "$LAB_TMP/$1.$i.log"; do
			lab__before && lab__alive "$pid" "$(lab__starttime "$pid")" ||
				fail "$1.$i: not all its sessions came up: $(grep -v '^\[' "$LAB_TMP/$1.$i.log" | tail -n 5)"
			sleep 0.2
		done
	done
}
release() {   # release NAME : the parts of NAME say bye and end
	local pid
	for pid in ${PARTS[$1]}; do kill -TERM "$pid"; done
	for pid in ${PARTS[$1]}; do wait "$pid"; done
}
# field NAME KEY [sum|max] : KEY of NAME's JSON summary (of its parts: summed, or the most)
field() {
	python3 - "$LAB_TMP" "$1" "$2" "${3:-one}" <<'PY'
import glob, json, sys
d, name, key, how = sys.argv[1:]
files = sorted(glob.glob(f"{d}/{name}.json")) or sorted(glob.glob(f"{d}/{name}.[0-9]*.json"))
vals = [json.load(open(f))[key] for f in files]
print(round(sum(vals), 1) if how == "sum" else max(vals) if how == "max" else vals[0])
PY
}
summaries() {   # summaries NAME : every part's JSON summary, one line each
	local f
	for f in "$LAB_TMP/$1".*.json; do echo "# $1: $(cat "$f")"; done
}

# active NAME : one real client (culvertd over dtls in U, its own TUN
# device) beside whatever the gateway holds, SCALE_ACTIVE_ROUNDS times:
# iperf3 TCP through it to the gateway's inner address for 3 s, then 40
# pings at 50 ms; one line, the medians (ping is noisy here: one round
# quotes noise), and every round's figures.
ACTIVE_N=0
active() {
	local name=$1 cl pid r mbps=() rtt=()
	ACTIVE_N=$((ACTIVE_N + 1))
	cl=u$ACTIVE_N
	lab_client_conf "$LAB_TMP/$cl.conf" transport=dtls
	lab_start "$cl" u "$LAB_TMP/$cl.conf"
	lab_wait_log "$cl" 'tunnel up' 60 || fail "$name: the active client did not come up within 60 s"
	for ((r = 0; r < SCALE_ACTIVE_ROUNDS; r++)); do
		ip netns exec "$LAB_GW" timeout 30 iperf3 -s -1 -B "$SCALE_GW6" >/dev/null 2>&1 &
		pid=$!
		lab_bg "$pid"
		sleep 0.5
		mbps+=("$(ip netns exec "$LAB_U" timeout 20 iperf3 -c "$SCALE_GW6" -t 3 -J |
			python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))')")
		wait "$pid"
		rtt+=("$(ip netns exec "$LAB_U" ping -6 -c 40 -i 0.05 -q "$SCALE_GW6" | sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p')")
	done
	lab_stop "$cl" 10 >/dev/null
	python3 - "$name" "${mbps[*]}" "${rtt[*]}" <<-'PY'
	import statistics, sys
	name, mbps, rtt = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
	med = lambda v: statistics.median(float(x) for x in v) if v else float('nan')
	print('# active session, %s: tcp %.0f Mbit/s, ping %.3f ms (medians of %d rounds: %s Mbit/s; %s ms)'
	      % (name, med(mbps), med(rtt), len(rtt), ' '.join(mbps), ' '.join(rtt)))
	PY
}

# status_time : how long culvertctl status (a page, and every session;
# text and JSON) takes, and how much it says, with every session held.
status_time() {
	local f t0 t1
	for f in "" "--json" "--page all" "--json --page all"; do
		t0=$EPOCHREALTIME
		# shellcheck disable=SC2086
		"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status $f >"$LAB_TMP/status.out" 2>&1
		t1=$EPOCHREALTIME
		printf '# culvertctl status %s: %.3f s, %s bytes\n' "$f" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$(wc -c <"$LAB_TMP/status.out")"
	done
}

# Warm-up: GnuTLS and the heap at working size before the idle figure.
for t in $SCALE_TRANSPORTS; do
	loadgen warm-$t "$t" --sessions 8 --total 32 --hold 0 --rate 0 --duration 60
	wait "$LG"
done
wait_idle || fail "sessions left after the warm-up"
IDLE=$(rss_kb)
echo "# idle gateway (after a warm-up): RSS $IDLE KiB"
((SCALE_ACTIVE)) && active "idle gateway"
printf '%-6s %8s %10s %12s %10s %11s %16s\n' transport held "RSS KiB" "KiB/session" "ramp hs/s" "churn hs/s" "hs/gw-CPU-second"

((SCALE_EACH)) && for t in $SCALE_TRANSPORTS; do
	n=${HELD[$t]}
	# 1. hold n sessions
	hold "hold-$t" "$t" "$n" $((300 + n / 50))
	wait_all_up "hold-$t" "$n"
	sleep 2   # the last welcomes' keepalive timers, GnuTLS's buffers settle
	ON_GW=$(sessions_now)
	RSS=$(rss_kb)
	release "hold-$t"
	[[ $ON_GW == "$n" ]] || fail "$t: the gateway holds $ON_GW sessions, not $n"
	PER=$(((RSS - IDLE) / n))
	RAMP=$(python3 -c 'import sys; print(round(int(sys.argv[1]) / float(sys.argv[2]), 1))' "$n" "$(field "hold-$t" ramp_s max)")
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
	printf '%-6s %8s %10s %12s %10s %11s %16s\n' "$t" "$n" "$RSS" "$PER" "$RAMP" "$CHURN" "$PER_CPU"
	summaries "hold-$t"
	echo "# $t: churn $(cat "$LAB_TMP/churn-$t.json")"
done
if ((SCALE_TOGETHER && $(wc -w <<<"$SCALE_TRANSPORTS") > 1)); then
	# Every transport's sessions at once.
	T0=$EPOCHREALTIME
	for t in $SCALE_TRANSPORTS; do
		hold "together-$t" "$t" "${HELD[$t]}" $((400 + ALL / 50)) "$(wc -w <<<"$SCALE_TRANSPORTS")"
	done
	for t in $SCALE_TRANSPORTS; do
		wait_all_up "together-$t" "${HELD[$t]}"
	done
	T1=$EPOCHREALTIME
	sleep 2
	ON_GW=$(sessions_now)
	RSS=$(rss_kb)
	FDS=$(find "/proc/$GW_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
	status_time
	((SCALE_ACTIVE)) && active "$ALL sessions held"
	# Keepalives running: the gateway's CPU over 20 s of holding them,
	# and its clients' (every culvert-loadgen, on this same machine).
	CPU0=$(cpu_ticks) LG0=$(lg_ticks)
	sleep 20
	HOLD_CPU=$(python3 -c 'import sys; print(round(100 * int(sys.argv[1]) / int(sys.argv[2]) / 20, 1))' "$(($(cpu_ticks) - CPU0))" "$HZ")
	LG_CPU=$(python3 -c 'import sys; print(round(100 * int(sys.argv[1]) / int(sys.argv[2]) / 20, 1))' "$(($(lg_ticks) - LG0))" "$HZ")
	for t in $SCALE_TRANSPORTS; do release "together-$t"; done
	[[ $ON_GW == "$ALL" ]] || fail "together: the gateway holds $ON_GW sessions, not $ALL"
	printf '%-6s %8s %10s %12s %10s\n' together "$ALL" "$RSS" "$(((RSS - IDLE) / ALL))" "fds $FDS"
	awk -v a="$T0" -v b="$T1" -v n="$ALL" -v c="$HOLD_CPU" -v l="$LG_CPU" \
		'BEGIN { printf "# together: all %d up in %.1f s (%.0f handshakes/s); holding them costs the gateway %s%% of a core (their clients, culvert-loadgen on this machine: %s%%)\n", n, b - a, n / (b - a), c, l }'
	for t in $SCALE_TRANSPORTS; do summaries "together-$t"; done
	wait_idle || fail "together: sessions left after the hold"
fi
"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status --all --page-size 1 | grep -E '^ *(sessions_|refused|tls\.(handshake|evicted)|dtls\.(handshake|evicted))' | sed 's/^ */# /'
grep -E 'open files' "${LAB_LOG[gw]}" | sed 's/^/# gateway: /'
lab_stop gw 60 || fail "the gateway did not exit cleanly"
