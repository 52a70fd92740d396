#!/bin/bash
# cluster.sh - two gateways, one inner address: failover and drain, with the
# host routes announced by a real BIRD (culvert.conf(5), CLUSTER).
#
#   clients c0 (U) and c1..c20, each in cvt-cN-$ID, on the outside bridge
#   192.0.2.100+N          (cvt-out-$ID: bridge br0)
#        |                    |                      |
#   gw1 192.0.2.1        gw2 192.0.2.5
#   cvt-g1-$ID           cvt-g2-$ID      culvertd (tls, announce-table 100,
#   lan 198.51.100.11    lan 198.51.100.12  protocol 147) and BIRD: kernel
#        |                    |             table 100 -> BGP (AS 65001, 65002)
#   +----+--------------------+----+
#   | R cvt-r-$ID  br 198.51.100.1 |  BIRD: BGP (AS 65000) -> its kernel
#   | v 198.18.0.1                 |
#   +--------------+---------------+
#                  |
#   V cvt-v-$ID 198.18.0.10, default via 198.18.0.1
#
# Every client has a static address from the same client-config-dir on both
# gateways (c0: 203.0.113.10, cN: 203.0.113.(10+N)), both gateways serve the
# same pool, and V reaches a client only by the /32 its gateway announces.
#
# 1. c0 comes up on its first gateway; V streams TCP to it and pings it.
#    That gateway's culvertd gets SIGKILL: c0 moves to the other with the
#    same address, R learns the new path, the stream lives on; the
#    interruption is measured. Then `culvertctl drain` there moves it back
#    (interruption measured again), and undrain.
# 2. c1..c20 spread over both gateways (the split is printed); gw1 killed:
#    all are on gw2 within the bound, no two welcomed within 100 ms.
# 3. Every session ended: no 203.0.113.x route is left in R's BIRD.
# About 60 s.
. "$(dirname "$0")/lab.sh"
lab_require
lab_require_tls tls
command -v python3 >/dev/null || skip "python3 not found (the TCP stream)"

# shellcheck source=tests/net/cluster_lib.sh
. "$lab__dir/cluster_lib.sh"
cl_require

HERD=${CLUSTER_CLIENTS:-20}
# The bound of a move after a gateway died (tls: its TCP connections reset
# at once): failover-spread, one handshake and login, BIRD and BGP at once.
# 6.4 s: slots of 200 ms, jitter up to 50 ms, so neighbours come back at
# least 150 ms apart, and the 100 ms asked keeps a margin under load.
SPREAD=6.4
BOUND=9

# ----------------------------------------------------------- culvertd
cl_configs() {
	local g n
	lab_pki "$LAB_TMP/pki"
	mkdir -p "$LAB_TMP/clients"
	: >"$LAB_TMP/users"
	for ((n = 0; n <= HERD; n++)); do
		printf 'address = 203.0.113.%d\n' $((10 + n)) >"$LAB_TMP/clients/c$n"
		printf 'secret-%d\n' "$n" >"$LAB_TMP/c$n.pass"
		chmod 600 "$LAB_TMP/c$n.pass"
		lab_passwd "$LAB_TMP/users" "c$n" "secret-$n"
	done
	for g in 1 2; do
		lab_server_conf "$LAB_TMP/gw$g.conf" \
			"listen=$([[ $g == 1 ]] && echo $GW1_PUB || echo $GW2_PUB):4433" \
			route=198.18.0.0/24 auth=password "password-file=$LAB_TMP/users" \
			"client-config-dir=$LAB_TMP/clients" announce-table=100 \
			"keepalive=2, 6" "state-dir=$LAB_TMP/state$g"
	done
}

cl_client_conf() {   # cl_client_conf N : $LAB_TMP/cN.conf
	lab_client_conf "$LAB_TMP/c$1.conf" \
		"remote=$GW1_PUB:4433, $GW2_PUB:4433" cert= key= "username=c$1" \
		"password-file=$LAB_TMP/c$1.pass" "failover-spread=$SPREAD"
}

cl_gateway() {   # cl_gateway N : start gwN's culvertd
	lab_start "gw$1" "cvt-g$1-$LAB_ID" "$LAB_TMP/gw$1.conf"
	lab_wait_log "gw$1" "tls: listening" 10 || fail "gw$1 did not start"
}

# Which gateway holds cN's session now: gw1, gw2 or none
cl_on() {
	local g
	for g in gw1 gw2; do
		lab_alive "$g" || continue
		"$CULVERTCTL" -s "${LAB_SOCK[$g]}" show "c$1" >/dev/null 2>&1 && { echo "$g"; return; }
	done
	echo none
}

cl_stamp() { echo "${EPOCHREALTIME/,/.}"; }

# --------------------------------------------------- the stream and ping
# The receiver in c0 logs every silence longer than 0.2 s; the longest one
# from FROM on is the interruption.
cl_stream_start() {
	ip netns exec cvt-c0-$LAB_ID timeout 300 python3 "$lab__dir/tcp_stream.py" \
		recv 5002 "$LAB_TMP/stream" "$LAB_TMP/silences" </dev/null >"$LAB_TMP/recv.err" 2>&1 &
	lab_bg "$!"
	lab__wait 5 test -s "$LAB_TMP/stream" || fail "the receiver in c0 did not start"
	ip netns exec "$LAB_V" timeout 300 python3 "$lab__dir/tcp_stream.py" \
		send 203.0.113.10 5002 256 </dev/null >"$LAB_TMP/send.err" 2>&1 &
	lab_bg "$!"
	lab__wait 10 bash -c "read -r n s p <'$LAB_TMP/stream' && [[ \$s == open ]] && ((n > 0))" ||
		fail "no TCP stream from V to c0: $(cat "$LAB_TMP/send.err" "$LAB_TMP/stream")"
	read -r _ _ CL_PEER <"$LAB_TMP/stream"
}

cl_stream_state() { local a b c; read -r a b c <"$LAB_TMP/stream"; echo "$a $b $c"; }

# cl_interruption FROM : the longest silence of the stream that ended after
# FROM (epoch seconds), in seconds; "0" when none was longer than 0.2 s
cl_interruption() {
	awk -v from="$1" '$1 + $2 >= from && $2 > max { max = $2 } END { printf "%.2f", max + 0 }' \
		"$LAB_TMP/silences" 2>/dev/null || echo "?"
}

cl_stream_grows() {   # cl_stream_grows SECS : more bytes, same connection
	local a b c n0 i
	read -r n0 b c <"$LAB_TMP/stream"
	lab__deadline "$1"
	for ((i = 0; i < $1 * 20 && i < 2000; i++)); do
		read -r a b c <"$LAB_TMP/stream"
		[[ $b == open ]] || return 1
		((a > n0)) && [[ $c == "$CL_PEER" ]] && return 0
		lab__before || break
		sleep 0.05
	done
	return 1
}

# ================================================================ 1. c0
cl_topology
cl_birds
cl_configs
cl_gateway 1
cl_gateway 2
cl_client_ns 0
cl_client_conf 0
lab_start c0 "cvt-c0-$LAB_ID" "$LAB_TMP/c0.conf"
lab_wait_log c0 "tunnel up" 15 || fail "c0 did not come up"
lab__wait 10 bash -c "[[ \$(ip -n cvt-c0-$LAB_ID -4 -o addr show dev cv0) == *203.0.113.10/* ]]" ||
	fail "c0 does not have its static address 203.0.113.10"
first=$(cl_on 0)
[[ $first != none ]] || fail "no gateway holds c0's session"
other=gw2
[[ $first == gw2 ]] && other=gw1
cl_wait_path 203.0.113.10 "$first" 10 ||
	fail "R has no route to 203.0.113.10 via $first: $(cl_birdc r show route)"
ok "c0 is up on $first (its first choice) with 203.0.113.10; R routes it via $first"
ip -n "cvt-${first/gw/g}-$LAB_ID" route show table 100 proto 147 | grep -q '^203.0.113.10 dev cv0' ||
	fail "$first has no route 203.0.113.10 dev cv0 proto 147 in table 100: $(ip -n "cvt-${first/gw/g}-$LAB_ID" route show table all proto 147)"
ok "$first: 203.0.113.10 dev cv0 in table 100, protocol 147"

cl_stream_start
ip netns exec "$LAB_V" ping -i 0.05 -c 300 -W 1 203.0.113.10 >"$LAB_TMP/ping1" 2>&1 &
lab_bg "$!"
CL_PING=$!
sleep 1
t_kill=$(cl_stamp)
kill -KILL "${LAB_PID[$first]}"
wait "${LAB_PID[$first]}" 2>/dev/null
cl_wait_path 203.0.113.10 "$other" "$BOUND" ||
	fail "R did not learn the path via $other within $BOUND s: $(cl_birdc r show route)"
t_path=$(cl_stamp)
[[ $(cl_on 0) == "$other" ]] || fail "c0 is not on $other"
cl_stream_grows 10 || fail "the stream did not go on over $other: $(cl_stream_state)"
sleep 1
kill_gap=$(cl_interruption "$t_kill")
wait "$CL_PING"
kill_lost=$(grep -o '[0-9]* received' "$LAB_TMP/ping1" | cut -d' ' -f1)
[[ $(ip -n "cvt-c0-$LAB_ID" -4 -o addr show dev cv0) == *203.0.113.10/* ]] ||
	fail "c0 lost its address 203.0.113.10"
awk -v g="$kill_gap" 'BEGIN { exit !(g < 5) }' ||
	fail "the stream stopped $kill_gap s after $first was killed (target under 5 s)"
ok "$first killed: c0 on $other with 203.0.113.10, R's path via $other after $(awk -v a="$t_path" -v b="$t_kill" 'BEGIN { printf "%.2f", a - b }') s, the same TCP connection; the stream stopped for $kill_gap s (TCP's own back-off included); ping: ${kill_lost:-?} of 300 answered"

# Drain: back to the first (restarted meanwhile).
cl_gateway_restart() {
	local g=$1 ns
	ns=cvt-g${g#gw}-$LAB_ID
	local names=() x
	for x in "${LAB_NAMES[@]}"; do [[ $x == "$g" ]] || names+=("$x"); done
	LAB_PID[$g]= LAB_NAMES=("${names[@]}")
	mv "${LAB_LOG[$g]}" "${LAB_LOG[$g]}.killed"
	cl_gateway "${g#gw}"
}
cl_gateway_restart "$first"
ip netns exec "$LAB_V" ping -i 0.05 -c 100 -W 1 203.0.113.10 >"$LAB_TMP/ping2" 2>&1 &
lab_bg "$!"
CL_PING=$!
sleep 0.5
t_drain=$(cl_stamp)
out=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" drain 2>&1) || fail "culvertctl drain on $other: $out"
[[ $out == *"1 session told to move"* ]] || fail "culvertctl drain said: $out"
cl_wait_path 203.0.113.10 "$first" 5 ||
	fail "R did not learn the path via $first after the drain: $(cl_birdc r show route)"
t_path=$(cl_stamp)
[[ $(cl_on 0) == "$first" ]] || fail "c0 is not back on $first after the drain"
cl_stream_grows 10 || fail "the stream did not go on after the drain: $(cl_stream_state)"
sleep 1
drain_gap=$(cl_interruption "$t_drain")
wait "$CL_PING"
drain_lost=$(grep -o '[0-9]* received' "$LAB_TMP/ping2" | cut -d' ' -f1)
awk -v g="$drain_gap" 'BEGIN { exit !(g < 1) }' ||
	fail "the stream stopped $drain_gap s at the drain (target under 1 s)"
ok "drain on $other: c0 back on $first, R's path after $(awk -v a="$t_path" -v b="$t_drain" 'BEGIN { printf "%.2f", a - b }') s, the same TCP connection; the stream stopped for $drain_gap s (0: never over 0.2 s); ping: ${drain_lost:-?} of 100 answered"
lab_wait_log "$other" "refused|REFUSE|drain" 1 >/dev/null
out=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" undrain 2>&1) || fail "culvertctl undrain: $out"
[[ $(cl_path 203.0.113.10) == "$first" ]] || fail "R still has a path to 203.0.113.10 via $other"
ok "undrain on $other; $other announces nothing of c0 any more"

# ============================================================ 2. the herd
for ((n = 1; n <= HERD; n++)); do
	cl_client_ns "$n"
	cl_client_conf "$n"
	lab_start "c$n" "cvt-c$n-$LAB_ID" "$LAB_TMP/c$n.conf"
done
lab__deadline 30
for ((n = 1; n <= HERD; n++)); do
	while [[ $(cl_on "$n") == none ]]; do
		lab__before || fail "c$n has no session after 30 s"
		sleep 0.1
	done
done
on1=0 on2=0
for ((n = 1; n <= HERD; n++)); do
	[[ $(cl_on "$n") == gw1 ]] && ((++on1)) || ((++on2))
done
ok "$HERD clients spread by the hash of their names: $on1 on gw1, $on2 on gw2"
((on1 > 0)) || fail "no client chose gw1 first"
# Kill gw1 and restart nothing: all on gw2 within the bound.
welcomed_before=$(grep -c "session c[0-9]* up over" "${LAB_LOG[gw2]}")
t_kill=$(cl_stamp)
kill -KILL "${LAB_PID[gw1]}"
wait "${LAB_PID[gw1]}" 2>/dev/null
lab__deadline $((BOUND + 2))
while :; do
	n_on2=0
	for ((n = 1; n <= HERD; n++)); do
		[[ $(cl_on "$n") == gw2 ]] && ((++n_on2))
	done
	((n_on2 == HERD)) && break
	lab__before || fail "after $((BOUND + 2)) s only $n_on2 of $HERD clients are on gw2"
	sleep 0.2
done
t_all=$(awk -v a="$(cl_stamp)" -v b="$t_kill" 'BEGIN { printf "%.2f", a - b }')
# The welcomes of the clients that moved, from gw2's log (HH:MM:SS.mmm).
grep "session c[0-9]* up over" "${LAB_LOG[gw2]}" | tail -n +$((welcomed_before + 1)) |
	grep -v "session c0 up" | awk '{ split($1, t, ":"); print (t[1] * 3600 + t[2] * 60 + t[3]) }' | sort -n >"$LAB_TMP/welcomes"
moved=$(wc -l <"$LAB_TMP/welcomes")
((moved == on1)) || fail "gw2 welcomed $moved sessions after the kill, not $on1"
read -r first_w last_w min_gap < <(awk 'NR == 1 { f = $1 } NR > 1 && (min == "" || $1 - p < min) { min = $1 - p } { p = $1 } END { printf "%.3f %.3f %.3f\n", f, p, (min == "" ? 99 : min) }' "$LAB_TMP/welcomes")
awk -v m="$min_gap" 'BEGIN { exit !(m >= 0.1) }' ||
	fail "two clients came back to gw2 within $min_gap s of each other (failover-spread)"
ok "gw1 killed: all $HERD on gw2 after $t_all s (bound $BOUND s), the $on1 that moved welcomed over $(awk -v a="$last_w" -v b="$first_w" 'BEGIN { printf "%.2f", a - b }') s, at least $min_gap s apart"

# ============================================ 3. routes gone with sessions
for ((n = 0; n <= HERD; n++)); do
	lab_stop "c$n" 5 >/dev/null
done
lab__wait 5 bash -c "! birdc -s '$LAB_TMP/bird-r/sock' show route | grep -q '203\.0\.113\.'" ||
	fail "R still has routes to clients: $(cl_birdc r show route)"
[[ -z $(ip -n "$NS_G2" route show table 100) ]] ||
	fail "gw2 left routes in table 100: $(ip -n "$NS_G2" route show table 100)"
ok "every client stopped: table 100 on gw2 empty, no 203.0.113.x route left in R's BIRD"
