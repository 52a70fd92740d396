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
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
lab_require
lab_require_tls dtls
if (($(ulimit -Hn) < RESTART_SESSIONS + 256)); then
	echo "# the hard open files limit ($(ulimit -Hn)) is too low for $RESTART_SESSIONS sessions" >&2
	exit 1
fi

lab_up
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=dtls, udp" insecure=yes \
	pool= route= pool6=2001:db8:1000::/64 duplicate-identity=yes \
	"max-clients=$((RESTART_SESSIONS + 16))" "listen=$LAB_GW_PUB:4434"
printf '[dtls]\nlisten = %s:%s\n' "$LAB_GW_PUB" "$LAB_PORT" >>"$LAB_TMP/gw.conf"
port() { [[ $1 == udp ]] && echo 4434 || echo "$LAB_PORT"; }

n=0
start_gw() {
	n=$((n + 1))
	GW=gw$n
	lab_start "$GW" gw "$LAB_TMP/gw.conf"
	lab_wait_log "$GW" 'udp: listening' 15 || fail "the gateway did not start"
}

printf '%-5s %8s %10s %8s %8s %10s %12s\n' transport sessions "back in s" "same addr" resets "gw resets" "peak/100ms"
start_gw
for t in $RESTART_TRANSPORTS; do
	loadgen_hold "$LAB_U" "$t" "$RESTART_SESSIONS" 180 --transport "$t" \
		--remote "$LAB_GW_PUB:$(port "$t")"
	sleep 2
	fault_kill "$GW"
	sleep "$RESTART_GAP"
	start_gw
	t_restart=$(fault_now)
	loadgen_back "$t" "the restart"
	at=$BACK_AT
	took=$(awk -v a="$at" -v b="$t_restart" 'BEGIN { printf "%.2f", a - b }')
	sleep 1
	lab_counters "$GW" || fail "no counters from the gateway"
	kill -TERM "$LG"
	wait "$LG"
	f() { loadgen_field "$t" "$1"; }
	printf '%-5s %8s %10s %8s %8s %10s %12s\n' "$t" "$RESTART_SESSIONS" "$took" \
		"$(f back_same_address)/$(f back)" "$(f resets)" "${LAB_COUNTERS[resets_sent]}" \
		"$(peak "$GW" 'session .* up over')"
	echo "# $t: $(cat "$LAB_TMP/lg-$t.json")"
	lab__wait 30 bash -c "[[ \$(\"$CULVERTCTL\" -s '${LAB_SOCK[$GW]}' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"counters\"][\"sessions\"])') == 0 ]]" ||
		echo "# $t: sessions left on the gateway after the run"
done
lab_stop "$GW" 15 || fail "the gateway did not exit cleanly"
