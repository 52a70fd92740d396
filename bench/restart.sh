#!/usr/bin/env bash
# restart.sh - how long a gateway's crash costs its clients (issue 23):
# RESTART_SESSIONS clients (culvert-loadgen --reconnect, each pinging the
# gateway once a second) per transport, the gateway killed with SIGKILL
# and started again RESTART_GAP seconds later; the time from its restart
# to the last client back, how many got their address back, how many
# learned of it from a stateless reset, and how the returns spread (the
# most welcomes in one 100 ms: no storm). Root; not part of make check.
# Run from a built tree:
#
#   sudo bench/restart.sh                     # 500 sessions, dtls and udp
#   sudo RESTART_SESSIONS=1 bench/restart.sh
#   sudo LAB_OUTER=6 RESTART_SESSIONS=50000 RESTART_TRANSPORTS="tls dtls" \
#        RESTART_TOGETHER=1 RESTART_SIGNAL=TERM RESTART_RATE=0 bench/restart.sh
#
# RESTART_SIGNAL=TERM stops the gateway as an administrator does (it says
# bye to every client, which comes back after culvertd's back-off,
# 1 s +-25%, doubling while the gateway is not back); RESTART_TOGETHER=1
# holds every transport's sessions at once and restarts the gateway
# once, the storm of all of them (issue 22: 100,000, "until all are
# back"); RESTART_RATE (1) is each session's pings a second, 0 for
# keepalives alone; RESTART_PARALLEL (64) the handshakes each
# culvert-loadgen has under way at once, its ramp and its storm alike.
#
# The lab of tests/net/lab.sh (U and the gateway); the tunnel is IPv6
# only (pool6 = 2001:db8:1000::/64, as bench/scale.sh: the IPv4
# documentation ranges hold no pool of 500), every session is alice
# (duplicate-identity = yes), udp listens on port 4434 beside dtls ([dtls] listen).
# Target (issue 23): every client back within 3 s of the restart, with
# the same address.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
# shellcheck source=bench/lab_env.sh
. "$(dirname "$0")/lab_env.sh"
# shellcheck source=tests/net/fault_lib.sh
. "$TOP/tests/net/fault_lib.sh"

RESTART_SESSIONS=${RESTART_SESSIONS:-500}
RESTART_TRANSPORTS=${RESTART_TRANSPORTS:-dtls udp}
RESTART_GAP=${RESTART_GAP:-2}
RESTART_SIGNAL=${RESTART_SIGNAL:-KILL}
RESTART_TOGETHER=${RESTART_TOGETHER:-0}
RESTART_PARALLEL=${RESTART_PARALLEL:-64}
RESTART_RATE=${RESTART_RATE:-1}
[[ $RESTART_SIGNAL == KILL || $RESTART_SIGNAL == TERM ]] ||
	{ echo "RESTART_SIGNAL is KILL or TERM, not $RESTART_SIGNAL" >&2; exit 2; }
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
lab_require
for t in $RESTART_TRANSPORTS; do [[ $t == udp ]] || lab_require_tls "$t"; done
N_TRANSPORTS=$(wc -w <<<"$RESTART_TRANSPORTS")
ALL=$RESTART_SESSIONS
((RESTART_TOGETHER)) && ALL=$((RESTART_SESSIONS * N_TRANSPORTS))

lab_up
bench_scale_limits "$ALL"
# A tls session is a socket in culvertd: below its open files limit.
declare -A COUNT=()
for t in $RESTART_TRANSPORTS; do COUNT[$t]=$RESTART_SESSIONS; done
if [[ -n ${COUNT[tls]:-} ]] && ((COUNT[tls] > LAB_FD_HARD - 1024)); then
	COUNT[tls]=$((LAB_FD_HARD - 1024))
	echo "# tls: ${COUNT[tls]} sessions, not $RESTART_SESSIONS: culvertd's open files hard limit is $LAB_FD_HARD"
	((RESTART_TOGETHER)) && ALL=$((ALL - RESTART_SESSIONS + COUNT[tls]))
fi
# The loadgen's deadlines grow with the count: a ramp of some 300
# handshakes a second, a storm given twice that.
export LG_RATE=$RESTART_RATE
export LG_UP_SECS=$((120 + RESTART_SESSIONS / 200)) LG_BACK_SECS=$((60 + ALL / 100))
loadgen_sources "$RESTART_SESSIONS"
lab_pki "$LAB_TMP/pki"
# udp on port 4434 (the global listen), tls and dtls on the lab's port.
lab_server_conf "$LAB_TMP/gw.conf" "transport=$(echo "$RESTART_TRANSPORTS" | sed 's/ /, /g')" insecure=yes \
	pool= route= pool6=2001:db8:1000::/64 duplicate-identity=yes \
	"max-clients=$((ALL + 16))" "listen=${LAB_GW_EP%:*}:4434"
for t in tls dtls; do
	[[ " $RESTART_TRANSPORTS " == *" $t "* ]] && printf '[%s]\nlisten = %s\n' "$t" "$LAB_GW_EP" >>"$LAB_TMP/gw.conf"
done
port() { [[ $1 == udp ]] && echo 4434 || echo "$LAB_PORT"; }

n=0
start_gw() {
	n=$((n + 1))
	GW=gw$n
	lab_start "$GW" gw "$LAB_TMP/gw.conf"
	for t in $RESTART_TRANSPORTS; do
		lab_wait_log "$GW" "$t: listening" 15 || fail "the gateway did not start"
	done
}
# stop_gw : RESTART_SIGNAL; how long a SIGTERM took in STOP_SECS
stop_gw() {
	local t0
	t0=$(fault_now)
	if [[ $RESTART_SIGNAL == KILL ]]; then
		fault_kill "$GW"
	else
		lab_stop "$GW" 120 || fail "the gateway did not stop within 120 s of SIGTERM"
	fi
	STOP_SECS=$(fault_since "$t0")
}
# hold T WAYS : RESTART_SESSIONS of transport T over as many loadgen_hold
# as the open files limit needs (T.1, T.2...), their names in NAMES[T],
# pids in LGS[T]; RESTART_PARALLEL handshakes under way between them
# and the WAYS transports held at once.
hold() {
	local t=$1 i=0 part
	loadgen_split "${COUNT[$t]}"
	LG_PARALLEL=$((RESTART_PARALLEL / (${#LG_PARTS[@]} * $2)))
	((LG_PARALLEL >= 4)) || LG_PARALLEL=4
	NAMES[$t]= LGS[$t]=
	for part in "${LG_PARTS[@]}"; do
		i=$((i + 1))
		loadgen_hold "$LAB_U" "$t.$i" "$part" $((600 + ALL / 50)) --transport "$t" \
			--remote "${LAB_GW_EP%:*}:$(port "$t")" --source "$LG_SOURCES"
		NAMES[$t]+=" $t.$i"
		LGS[$t]+=" $LG"
	done
}
# sum T KEY : KEY summed over T's loadgens; most T KEY: the largest
sum() {
	local name v=0
	for name in ${NAMES[$1]}; do v=$((v + $(loadgen_field "$name" "$2"))); done
	echo "$v"
}
most() {
	local name
	for name in ${NAMES[$1]}; do loadgen_field "$name" "$2"; done | sort -g | tail -n 1
}
# report T : T's row, once its loadgens ended
report() {
	local t=$1 took name
	took=$(awk -v a="${BACK[$t]}" -v b="$t_restart" 'BEGIN { printf "%.2f", a - b }')
	printf '%-5s %8s %10s %12s %8s %10s %12s %8s\n' "$t" "${COUNT[$t]}" "$took" \
		"$(sum "$t" back_same_address)/$(sum "$t" back)" "$(sum "$t" resets)" "${LAB_COUNTERS[resets_sent]}" \
		"$(peak "$GW" 'session .* up over')" "$STOP_SECS"
	echo "# $t: the slowest back after $(most "$t" back_max_s) s"
	for name in ${NAMES[$t]}; do echo "# $name: $(cat "$LAB_TMP/lg-$name.json")"; done
}
sessions_left() {
	lab__wait $((30 + ALL / 1000)) bash -c "[[ \$(\"$CULVERTCTL\" -s '${LAB_SOCK[$GW]}' status --json --page-size 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"counters\"][\"sessions\"])') == 0 ]]" ||
		echo "# sessions left on the gateway after the run"
}
# restart_round T... : hold T's sessions, restart the gateway, time their return
restart_round() {
	local t name pid
	for t in "$@"; do hold "$t" $#; done
	sleep 2
	stop_gw
	sleep "$RESTART_GAP"
	start_gw
	t_restart=$(fault_now)
	for t in "$@"; do
		BACK[$t]=0
		for name in ${NAMES[$t]}; do
			loadgen_back "$name" "the restart"
			BACK[$t]=$(printf '%s\n' "${BACK[$t]}" "$BACK_AT" | sort -g | tail -n 1)
		done
	done
	sleep 1
	lab_counters "$GW" || fail "no counters from the gateway"
	for t in "$@"; do
		for pid in ${LGS[$t]}; do kill -TERM "$pid"; done
		for pid in ${LGS[$t]}; do wait "$pid"; done
	done
	for t in "$@"; do report "$t"; done
	if (($# > 1)); then
		printf '# all %s sessions back %.2f s after the restart\n' "$ALL" \
			"$(printf '%s\n' "${BACK[@]}" | sort -n | tail -n 1 | awk -v b="$t_restart" '{ print $1 - b }')"
	fi
	sessions_left
}

declare -A LGS=() NAMES=() BACK=()
printf '%-5s %8s %10s %12s %8s %10s %12s %8s\n' transport sessions "back in s" "same addr" resets "gw resets" "peak/100ms" "stop s"
start_gw
if ((RESTART_TOGETHER)); then
	# shellcheck disable=SC2086
	restart_round $RESTART_TRANSPORTS
else
	for t in $RESTART_TRANSPORTS; do restart_round "$t"; done
fi
lab_stop "$GW" 120 || fail "the gateway did not exit cleanly"
