#!/usr/bin/env bash
# failover.sh - how a cluster's failover time grows with the sessions on
# the gateway that dies (issue 20). For each count in FAILOVER_SESSIONS
# (default "20 500"): that many clients (culvert-loadgen --reconnect over
# tls, --remote gw1,gw2, each pinging its gateway once a second) all on
# gw1, gw1 killed with SIGKILL; the time from the kill to the last client
# welcomed on gw2, to the router's BIRD holding every client's /128 via
# gw2, how many got their address back, and the most welcomes in one
# 100 ms (the slots of failover-spread: no storm). Root; not part of make
# check. Run from a built tree:
#
#   sudo bench/failover.sh
#   sudo FAILOVER_SESSIONS="20 100 500" FAILOVER_SPREAD=3.2 bench/failover.sh
#
# The lab of tests/net/cluster_lib.sh (two gateways, router R, BIRD and
# BGP on all three); the tunnel is IPv6 only (pool6 = 2001:db8:1000::/64
# on both gateways, as bench/scale.sh: the IPv4 documentation ranges hold
# no pool of 500), every session is alice (duplicate-identity = yes).
# Over tls a killed gateway's TCP connections reset at once, so this
# measures the move itself (failover-spread, handshakes, routes, BGP),
# not detection, which over dtls adds a probe or two (culvert.conf(5),
# CLUSTER).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
# shellcheck source=bench/lab_env.sh
. "$(dirname "$0")/lab_env.sh"
# shellcheck source=tests/net/cluster_lib.sh
. "$TOP/tests/net/cluster_lib.sh"

FAILOVER_SESSIONS=${FAILOVER_SESSIONS:-20 500}
FAILOVER_SPREAD=${FAILOVER_SPREAD:-5}
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
lab_require
lab_require_tls tls
cl_require
max=0
for n in $FAILOVER_SESSIONS; do ((n > max)) && max=$n; done
if (($(ulimit -Hn) < max + 256)); then
	echo "# the hard open files limit ($(ulimit -Hn)) is too low for $max sessions" >&2
	exit 1
fi

cl_topology
cl_birds
cl_client_ns 1
lab_pki "$LAB_TMP/pki"
for g in 1 2; do
	lab_server_conf "$LAB_TMP/gw$g.conf" \
		"listen=$([[ $g == 1 ]] && echo $GW1_PUB || echo $GW2_PUB):4433" \
		pool= route= pool6=2001:db8:1000::/64 route=2001:db8:200::/64 \
		duplicate-identity=yes "max-clients=$((max + 16))" \
		announce-table=100 "state-dir=$LAB_TMP/state$g"
done
run=0
start_gw() {   # start_gw N : gwN's culvertd, under a new name each time
	run=$((run + 1))
	GW[$1]=gw$1-$run
	lab_start "${GW[$1]}" "cvt-g$1-$LAB_ID" "$LAB_TMP/gw$1.conf"
	lab_wait_log "${GW[$1]}" 'tls: listening' 15 || fail "gw$1 did not start"
}
# R's routes learned from PROTOCOL (gw1_6, gw2_6)
routes() {
	cl_birdc r show route count protocol "$1" | awk '/routes for/ { print $1; exit }'
}
routes_are() { [[ $(routes "$1") == "$2" ]]; }
wait_routes() { cl_until "$3" routes_are "$1" "$2"; }   # PROTOCOL COUNT SECS
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
now() { echo "${EPOCHREALTIME/,/.}"; }

declare -A GW=()
start_gw 2
printf '%8s %9s %10s %10s %9s %11s\n' sessions spread "all back" "R via gw2" "same addr" "peak/100ms"
for n in $FAILOVER_SESSIONS; do
	start_gw 1
	loadgen_hold "cvt-c1-$LAB_ID" "$n" "$n" 300 --transport tls \
		--remote "$GW1_PUB:4433,$GW2_PUB:4433" --failover-spread "$FAILOVER_SPREAD"
	wait_routes gw1_6 "$n" 60 || fail "$n: R has $(routes gw1_6) routes via gw1, not $n"
	welcomes_before=$(grep -c 'session .* up over' "${LAB_LOG[${GW[2]}]}")
	sleep 1
	t_kill=$(now)
	kill -KILL "${LAB_PID[${GW[1]}]}"
	wait "${LAB_PID[${GW[1]}]}" 2>/dev/null
	wait_routes gw2_6 "$n" 120 || fail "$n: R has $(routes gw2_6) routes via gw2 after 120 s, not $n"
	t_routes=$(now)
	loadgen_back "$n" "the kill"
	at=$BACK_AT
	kill -TERM "$LG"
	wait "$LG"
	f() { loadgen_field "$n" "$1"; }
	# The welcomes since the kill only.
	tail -n +"$((welcomes_before + 1))" "${LAB_LOG[${GW[2]}]}" >"$LAB_TMP/after-$n.log"
	LAB_LOG[after-$n]=$LAB_TMP/after-$n.log
	printf '%8s %8ss %9ss %9ss %9s %11s\n' "$n" "$FAILOVER_SPREAD" "$(since "$at" "$t_kill")" \
		"$(since "$t_routes" "$t_kill")" "$(f back_same_address)/$(f back)" \
		"$(peak "after-$n" 'session .* up over')"
	wait_routes gw2_6 0 30 || echo "# $n: R still has $(routes gw2_6) routes via gw2 after the sessions ended"
done
