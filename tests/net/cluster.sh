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
# The lab: tests/net/cluster_lib.sh. Every client has static addresses from
# the same client-config-dir on both gateways (c0: 203.0.113.10 and
# 2001:db8:1000::a, cN: 203.0.113.(10+N) and the same in IPv6), both
# gateways serve the same pools, and V reaches a client only by the /32
# its gateway announces.
#
# 1. Over tls, then dtls: c0 comes up on its first gateway; V streams TCP
#    to it, and c0 pings V. That gateway's culvertd gets SIGKILL: c0 moves to
#    the other with the same addresses, R learns the new paths (/32 and
#    /128), the stream lives on; the interruption is measured. The killed
#    one starts again, and `culvertctl drain` on the other moves c0 back
#    (interruption measured again), then undrain. c0 stops: R routes
#    neither of its addresses any more.
# 2. c1..c20 spread over both gateways (the split is printed); gw1 killed:
#    all are on gw2 within the bound, no two welcomed within 100 ms.
# 3. Every session ended: table 100 empty, no 203.0.113.x route in R's
#    BIRD. About 60 s.
. "$(dirname "$0")/lab.sh"
lab_require
lab_require_tls tls
command -v python3 >/dev/null || skip "python3 not found (the TCP stream)"

# shellcheck source=tests/net/cluster_lib.sh
. "$(dirname "$0")/cluster_lib.sh"
cl_require

HERD=${CLUSTER_CLIENTS:-20}
# The bound of a move after a gateway died: detection (tls: its TCP
# connections reset at once; dtls: ICMP port unreachable at the client's
# next packet), failover-spread (the default, 5 s: slots of 156 ms, jitter
# up to 39 ms, so neighbours connect at least 117 ms apart), one handshake
# and login, BIRD and BGP at once.
SPREAD=5
BOUND=8

# ----------------------------------------------------------- culvertd
cl_configs() {
	local g n
	lab_pki "$LAB_TMP/pki"
	mkdir -p "$LAB_TMP/clients"
	: >"$LAB_TMP/users"
	for ((n = 0; n <= HERD; n++)); do
		printf 'address = 203.0.113.%d\naddress = 2001:db8:1000::%x\n' \
			$((10 + n)) $((10 + n)) >"$LAB_TMP/clients/c$n"
		# c0 routes a network of its own: a site behind it
		((n)) || printf 'network = 198.18.9.0/24\n' >>"$LAB_TMP/clients/c$n"
		printf 'secret-%d\n' "$n" >"$LAB_TMP/c$n.pass"
		chmod 600 "$LAB_TMP/c$n.pass"
		lab_passwd "$LAB_TMP/users" "c$n" "secret-$n"
	done
	for g in 1 2; do
		lab_server_conf "$LAB_TMP/gw$g.conf" \
			"listen=$([[ $g == 1 ]] && echo $GW1_PUB || echo $GW2_PUB):4433" \
			"transport=tls, dtls" pool6=2001:db8:1000::/64 \
			route=198.18.0.0/24 auth=password "password-file=$LAB_TMP/users" \
			"client-config-dir=$LAB_TMP/clients" announce-table=100 \
			"keepalive=2, 6" "state-dir=$LAB_TMP/state$g"
	done
}

cl_client_conf() {   # cl_client_conf N [K=V...] : $LAB_TMP/cN.conf
	local n=$1
	shift
	lab_client_conf "$LAB_TMP/c$n.conf" \
		"remote=$GW1_PUB:4433, $GW2_PUB:4433" cert= key= "username=c$n" \
		"password-file=$LAB_TMP/c$n.pass" "failover-spread=$SPREAD" "$@"
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
# The receiver in c0 logs every silence longer than 0.2 s into
# $CL_S.silences; the longest one from FROM on is the interruption.
cl_stream_start() {   # cl_stream_start PORT
	CL_S=$LAB_TMP/stream-$1
	ip netns exec "cvt-c0-$LAB_ID" timeout 300 python3 "$lab__dir/tcp_stream.py" \
		recv "$1" "$CL_S" "$CL_S.silences" </dev/null >"$CL_S.recv.err" 2>&1 &
	lab_bg "$!"
	lab__wait 5 test -s "$CL_S" || fail "the receiver in c0 did not start"
	ip netns exec "$LAB_V" timeout 300 python3 "$lab__dir/tcp_stream.py" \
		send 203.0.113.10 "$1" 256 </dev/null >"$CL_S.send.err" 2>&1 &
	CL_SENDER=$!
	lab_bg "$!"
	lab__wait 10 bash -c "read -r n s p <'$CL_S' && [[ \$s == open ]] && ((n > 0))" ||
		fail "no TCP stream from V to c0: $(cat "$CL_S.send.err" "$CL_S")"
	read -r _ _ CL_PEER <"$CL_S"
}

cl_stream_state() { local a b c; read -r a b c <"$CL_S"; echo "$a $b $c"; }

# cl_interruption FROM : the longest silence of the stream that ended after
# FROM (epoch seconds), in seconds; "0.00" when none was longer than 0.2 s
cl_interruption() {
	awk -v from="$1" '$1 + $2 >= from && $2 > max { max = $2 } END { printf "%.2f", max + 0 }' \
		"$CL_S.silences" 2>/dev/null || echo "0.00"
}

cl_stream_grows() {   # cl_stream_grows SECS : more bytes, same connection
	local a b c n0 i
	read -r n0 b c <"$CL_S"
	lab__deadline "$1"
	for ((i = 0; i < $1 * 20 && i < 2000; i++)); do
		read -r a b c <"$CL_S"
		[[ $b == open ]] || return 1
		((a > n0)) && [[ $c == "$CL_PEER" ]] && return 0
		lab__before || break
		sleep 0.05
	done
	return 1
}

# cl_ping NAME COUNT : c0 pings V every 50 ms in the background
cl_ping() {
	ip netns exec "cvt-c0-$LAB_ID" ping -i 0.05 -c "$2" -W 1 198.18.0.10 >"$LAB_TMP/ping-$1" 2>&1 &
	CL_PING=$!
	lab_bg "$!"
}

cl_since() { awk -v a="$(cl_stamp)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }
cl_received() { grep -o '[0-9]* received' "$1" | cut -d' ' -f1; }

# A gateway killed before: started again under its name, its old log kept.
cl_gateway_restart() {
	local g=$1 names=() x
	for x in "${LAB_NAMES[@]}"; do [[ $x == "$g" ]] || names+=("$x"); done
	LAB_PID[$g]='' LAB_NAMES=("${names[@]}")
	mv "${LAB_LOG[$g]}" "${LAB_LOG[$g]}.killed"
	cl_gateway "${g#gw}"
}

# ================================================= 1. c0, over tls and dtls
cl_part1() {   # cl_part1 TRANSPORT PORT
	local t=$1 c=c0-$1 first other t0 gap path got addr6
	cl_client_conf 0 "transport=$t"
	lab_start "$c" "cvt-c0-$LAB_ID" "$LAB_TMP/c0.conf"
	lab_wait_log "$c" "tunnel up" 15 || fail "$t: c0 did not come up"
	addr6=2001:db8:1000::a
	lab__wait 10 bash -c "[[ \$(ip -n cvt-c0-$LAB_ID -o addr show dev cv0) == *203.0.113.10/*$addr6/* ]]" ||
		fail "$t: c0 does not have its static addresses 203.0.113.10 and $addr6: $(ip -n "cvt-c0-$LAB_ID" -o addr show dev cv0)"
	first=$(cl_on 0)
	[[ $first != none ]] || fail "$t: no gateway holds c0's session"
	other=gw2
	[[ $first == gw2 ]] && other=gw1
	cl_wait_path 203.0.113.10 "$first" 10 ||
		fail "$t: R has no route to 203.0.113.10 via $first: $(cl_birdc r show route)"
	cl_wait_path "$addr6" "$first" 10 ||
		fail "$t: R has no route to $addr6 via $first: $(cl_birdc r show route table master6)"
	cl_wait_path 198.18.9.0/24 "$first" 5 ||
		fail "$t: R has no route to c0's network 198.18.9.0/24 via $first: $(cl_birdc r show route)"
	got=$(ip -n "cvt-${first/gw/g}-$LAB_ID" route show table 100 proto 147)
	[[ $got == *"203.0.113.10 dev cv0"* ]] ||
		fail "$t: $first has no route 203.0.113.10 dev cv0 proto 147 in table 100: $got"
	ok "$t: c0 up on $first (its first choice) with 203.0.113.10 and $addr6; $first has them in table 100 (protocol 147); R routes both, and c0's network 198.18.9.0/24, via $first"

	cl_stream_start "$2"
	cl_ping "$t-kill" 300
	sleep 1
	t0=$(cl_stamp)
	kill -KILL "${LAB_PID[$first]}"
	wait "${LAB_PID[$first]}" 2>/dev/null
	cl_wait_path 203.0.113.10 "$other" "$BOUND" ||
		fail "$t: R did not learn the path via $other within $BOUND s: $(cl_birdc r show route)"
	path=$(cl_since "$t0")
	[[ $(cl_on 0) == "$other" ]] || fail "$t: c0 is not on $other"
	cl_stream_grows 10 || fail "$t: the stream did not go on over $other: $(cl_stream_state)"
	cl_wait_path "$addr6" "$other" 5 || fail "$t: R has no route to $addr6 via $other"
	cl_wait_path 198.18.9.0/24 "$other" 5 || fail "$t: R has no route to 198.18.9.0/24 via $other"
	sleep 1
	gap=$(cl_interruption "$t0")
	wait "$CL_PING"
	[[ $(ip -n "cvt-c0-$LAB_ID" -4 -o addr show dev cv0) == *203.0.113.10/* ]] ||
		fail "$t: c0 lost its address 203.0.113.10"
	awk -v g="$gap" 'BEGIN { exit !(g < 5) }' ||
		fail "$t: the stream stopped $gap s after $first was killed (target under 5 s)"
	ok "$t: $first killed: c0 on $other with the same addresses, R's path via $other after $path s, the same TCP connection; the stream stopped for $gap s (TCP's own back-off included); ping: $(cl_received "$LAB_TMP/ping-$t-kill") of 300 answered"
	CL_KILL_GAP[$t]=$gap

	cl_gateway_restart "$first"
	cl_ping "$t-drain" 100
	sleep 0.5
	t0=$(cl_stamp)
	got=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" drain 2>&1) || fail "$t: culvertctl drain on $other: $got"
	[[ $got == *"1 session told to move"* ]] || fail "$t: culvertctl drain said: $got"
	cl_wait_path 203.0.113.10 "$first" 5 ||
		fail "$t: R did not learn the path via $first after the drain: $(cl_birdc r show route)"
	path=$(cl_since "$t0")
	[[ $(cl_on 0) == "$first" ]] || fail "$t: c0 is not back on $first after the drain"
	cl_stream_grows 10 || fail "$t: the stream did not go on after the drain: $(cl_stream_state)"
	sleep 1
	gap=$(cl_interruption "$t0")
	wait "$CL_PING"
	awk -v g="$gap" 'BEGIN { exit !(g < 1) }' ||
		fail "$t: the stream stopped $gap s at the drain (target under 1 s)"
	got=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" status 2>&1)
	[[ $got == *"drained: new sessions refused"* ]] || fail "$t: status of the drained $other: $got"
	got=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" status --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["culvertd"]["drained"])')
	[[ $got == True ]] || fail "$t: status --json of the drained $other: drained is $got"
	got=$("$CULVERTCTL" -s "${LAB_SOCK[$c]}" status 2>&1)
	[[ $got == *"remote: $([[ $first == gw1 ]] && echo $GW1_PUB || echo $GW2_PUB):4433 ($t)"* ]] ||
		fail "$t: c0's status does not name $first as its remote: $got"
	lab_wait_log "$c" "the gateway is drained and says to move; trying a new session" 1 &&
		lab_wait_log "$c" "the new session over $t took over" 1 ||
		fail "$t: c0 did not move beside its session, told MOVE"
	ok "$t: drain on $other: c0 told MOVE, back on $first beside its session, R's path after $path s, the same TCP connection; the stream stopped for $gap s (0: never over 0.2 s); ping: $(cl_received "$LAB_TMP/ping-$t-drain") of 100 answered"
	CL_DRAIN_GAP[$t]=$gap
	got=$("$CULVERTCTL" -s "${LAB_SOCK[$other]}" undrain 2>&1) || fail "$t: culvertctl undrain: $got"
	[[ $("$CULVERTCTL" -s "${LAB_SOCK[$other]}" status 2>&1) != *drained* ]] ||
		fail "$t: $other still says it is drained after undrain"
	[[ $(cl_path 203.0.113.10) == "$first" ]] || fail "$t: R still has a path to 203.0.113.10 via $other"

	kill -TERM "$CL_SENDER" 2>/dev/null
	lab_stop "$c" 5 || fail "$t: c0 did not stop cleanly"
	cl_wait_path 203.0.113.10 none 5 || fail "$t: R still routes 203.0.113.10 after c0 stopped: $(cl_birdc r show route)"
	cl_wait_path "$addr6" none 5 || fail "$t: R still routes $addr6 after c0 stopped"
	cl_wait_path 198.18.9.0/24 none 5 || fail "$t: R still routes 198.18.9.0/24 after c0 stopped"
}

declare -A CL_KILL_GAP=() CL_DRAIN_GAP=()
cl_topology
cl_birds
cl_configs
cl_gateway 1
cl_gateway 2
cl_client_ns 0
cl_part1 tls 5002
cl_part1 dtls 5003

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
on1=0 on2=0 movers=()
for ((n = 1; n <= HERD; n++)); do
	if [[ $(cl_on "$n") == gw1 ]]; then
		((++on1))
		movers+=("$n")
	else
		((++on2))
	fi
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
# When each client that moved connected to gw2 (its log, HH:MM:SS.mmm):
# the first time, since gw1 was its first choice.
for n in "${movers[@]}"; do
	grep -m 1 "connecting to $GW2_PUB:4433" "${LAB_LOG[c$n]}" ||
		fail "c$n never connected to gw2"
done | awk '{ split($1, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }' | sort -n >"$LAB_TMP/connects"
moved=$(grep -c "session c[0-9]* up over" "${LAB_LOG[gw2]}")
((moved - welcomed_before == on1)) ||
	fail "gw2 welcomed $((moved - welcomed_before)) sessions after the kill, not $on1"
read -r first_c last_c min_gap < <(awk 'NR == 1 { f = $1 } NR > 1 && (min == "" || $1 - p < min) { min = $1 - p } { p = $1 } END { printf "%.3f %.3f %.3f\n", f, p, (min == "" ? 99 : min) }' "$LAB_TMP/connects")
awk -v m="$min_gap" 'BEGIN { exit !(m >= 0.1) }' ||
	fail "two clients connected to gw2 within $min_gap s of each other (failover-spread): $(tr '\n' ' ' <"$LAB_TMP/connects")"
ok "gw1 killed: all $HERD on gw2 after $t_all s (bound $BOUND s); the $on1 that moved connected over $(awk -v a="$last_c" -v b="$first_c" 'BEGIN { printf "%.2f", a - b }') s, at least $min_gap s apart"

# ============================================ 3. routes gone with sessions
for ((n = 1; n <= HERD; n++)); do
	lab_stop "c$n" 5 >/dev/null
done
lab__wait 5 bash -c "! birdc -s '$LAB_TMP/bird-r/sock' show route | grep -q '203\.0\.113\.'" ||
	fail "R still has routes to clients: $(cl_birdc r show route)"
[[ -z $(ip -n "$NS_G2" route show table 100) ]] ||
	fail "gw2 left routes in table 100: $(ip -n "$NS_G2" route show table 100)"
ok "every client stopped: table 100 on gw2 empty, no 203.0.113.x route left in R's BIRD"
# ============================== 4. a drained gateway refuses new sessions
# A client whose first choice is gw2, started while gw2 is drained: refused
# (REFUSE draining), it goes to gw1 after its back-off, not back and forth.
pick=
for ((n = 1; n <= HERD; n++)); do
	grep -q "order: $GW2_PUB:4433 first" "${LAB_LOG[c$n]}" && { pick=$n; break; }
done
[[ -n $pick ]] || fail "no client chose gw2 first"
cl_gateway_restart gw1
got=$("$CULVERTCTL" -s "${LAB_SOCK[gw2]}" drain 2>&1) || fail "culvertctl drain on gw2: $got"
[[ $got == *"0 sessions told to move"* ]] || fail "culvertctl drain on an empty gw2 said: $got"
lab_start "c$pick-again" "cvt-c$pick-$LAB_ID" "$LAB_TMP/c$pick.conf"
lab_wait_log "c$pick-again" "tunnel up" 5 || fail "c$pick did not come up on gw1 while gw2 is drained"
[[ $(cl_on "$pick") == gw1 ]] || fail "c$pick is not on gw1"
lab_wait_log gw2 "refusing .*: drained" 1 || fail "gw2 did not log its refusal of c$pick"
[[ $("$CULVERTCTL" -s "${LAB_SOCK[gw2]}" status) == *"refused.draining: 1"* ]] ||
	fail "gw2 did not count the refusal as refused.draining: $("$CULVERTCTL" -s "${LAB_SOCK[gw2]}" status)"
[[ $(grep -c "connecting to" "${LAB_LOG[c$pick-again]}") == 2 ]] ||
	fail "c$pick did not connect exactly twice (gw2, then gw1): $(grep connecting "${LAB_LOG[c$pick-again]}")"
ok "c$pick, whose first choice is gw2, refused by the drained gw2 (refused.draining), is up on gw1 after one back-off"

# A client of gw1 alone cannot be told to move: a bye, reason draining.
got=$("$CULVERTCTL" -s "${LAB_SOCK[gw2]}" undrain 2>&1) || fail "culvertctl undrain on gw2: $got"
lab_client_conf "$LAB_TMP/solo.conf" "remote=$GW1_PUB:4433" cert= key= username=c2 \
	"password-file=$LAB_TMP/c2.pass"
lab_start solo "cvt-c2-$LAB_ID" "$LAB_TMP/solo.conf"
lab_wait_log solo "tunnel up" 5 || fail "solo (c2, gw1 only) did not come up"
got=$("$CULVERTCTL" -s "${LAB_SOCK[gw1]}" drain 2>&1) || fail "culvertctl drain on gw1: $got"
[[ $got == *"2 sessions told to move"* ]] || fail "culvertctl drain on gw1 said: $got"
lab_wait_log solo "said bye \(draining: connect to another gateway\)" 3 ||
	fail "solo was not told bye, draining"
lab_wait_log gw1 "session c2: ended, it cannot be told to move" 1 || fail "gw1 did not say why it ended solo's session"
cl_until 5 bash -c "[[ \$(\"$CULVERTCTL\" -s '${LAB_SOCK[gw2]}' show c$pick 2>/dev/null) ]]" ||
	fail "c$pick did not move from the drained gw1 to gw2"
ok "drain on gw1: c$pick moved to gw2 (MOVE), solo, which knows gw1 alone, was told bye (draining)"

ok "the stream's interruptions: gateway killed ${CL_KILL_GAP[tls]} s over tls, ${CL_KILL_GAP[dtls]} s over dtls; drain ${CL_DRAIN_GAP[tls]} s over tls, ${CL_DRAIN_GAP[dtls]} s over dtls"
