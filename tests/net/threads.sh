#!/usr/bin/env bash
# threads.sh - one event loop per core: a gateway with threads = 2 (loop 0
# the main thread, loop 1 the thread cv-loop1), on the sites topology of
# lab.sh (drawing there) with road warriors U, U4, U5, U6 (dtls, tls,
# dtls, tls) and the site routers R1 (dtls) and R3 (tls). The kernel
# spreads the clients over the loops' sockets (SO_REUSEPORT) by their
# addresses and ports: more clients join (U7, U8) until both loops hold
# sessions, and a client whose session must sit on a given loop starts
# again (a new source port) until it does. Every client renews its keys
# every 2 s and every 2 MiB (rekey-interval, rekey-bytes).
#   - status: `loops: 2`, "loops": 2 and each session's "loop"; sessions
#     on both loops; `show NAME` says the same loop
#   - every client reaches V
#   - client-to-client between A on loop 0 and B on loop 1: pings both
#     ways, 8 MiB each way intact (sha256); cv-loop1 spent CPU on them
#   - site to site with R1 and R3 on different loops: X and Z ping each
#     other, 8 MiB X -> Z intact, X reaches Y
#   - rekeys of B (loop 1) while 400 pings B -> A and B -> V lose nothing,
#     in one session
#   - reloads of a client-config-dir file touching B (loop 1): its group
#     turns restrict-to-routes on in place (B no longer reaches A, counted
#     as outside_routes, still reaches V), then off (B reaches A again);
#     a new route ends B's session, which comes back with it and reaches Y
#   - `culvertctl kick` of a session on loop 1: it leaves status, its
#     client comes back and reaches V
#   - loop 0 stopped (its thread alone, ptrace) for 8 s while 8 dtls
#     links from 8 addresses come to both loops (culvert-loadgen): a
#     session on loop 1 keeps reaching V, and a stranger's records from
#     8 more addresses get stateless resets; once loop 0 runs again all
#     8 links become sessions
#   - the gateway exits 0 on SIGTERM
# About 55 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON (apt-get install python3)"
lab_sites_up
for n in 4 5 6 7 8; do lab_add_client "$n"; done
lab_pki "$LAB_TMP/pki"

# Each client's identity (its certificate's CN) is its namespace's short
# name, U's is u1; ROAM are the road warriors, in the order they join.
declare -A NS_OF=([u1]=u [u4]=u4 [u5]=u5 [u6]=u6 [u7]=u7 [u8]=u8 [r1]=r1 [r3]=r3)
declare -A T_OF=([u1]=dtls [u4]=tls [u5]=dtls [u6]=tls [u7]=dtls [u8]=tls [r1]=dtls [r3]=tls)
declare -A CUR=() TRIES=()   # identity -> its running culvertd's lab name; starts
ROAM=(u1 u4 u5 u6)
MORE=(u7 u8)

CCD=$LAB_TMP/clients GROUP_DIR=$LAB_TMP/groups
mkdir -p "$CCD" "$GROUP_DIR"
# duplicate-identity: culvert-loadgen's 8 sessions are all alice's (e)
lab_server_conf "$LAB_TMP/gw.conf" threads=2 "transport=tls, dtls" duplicate-identity=yes \
	client-to-client=yes "client-config-dir=$CCD" "group-config-dir=$GROUP_DIR"
printf '%s\n' 'network = 198.18.1.0/24' 'group = sites' >"$CCD/r1"
printf '%s\n' 'network = 198.18.3.0/24' 'group = sites' >"$CCD/r3"
printf '%s\n' 'route = 198.18.0.0/16' >"$GROUP_DIR/sites"
printf '%s\n' '# only where its routes lead: not to the other clients' \
	'restrict-to-routes = yes' >"$GROUP_DIR/locked"
for id in "${!NS_OF[@]}"; do
	lab_pki_client "$id"
	lab_client_conf "$LAB_TMP/$id.conf" "transport=${T_OF[$id]}" \
		"cert=$LAB_PKI/$id.crt" "key=$LAB_PKI/$id.key" rekey-interval=2 rekey-bytes=2M
done

lab_start gw gw "$LAB_TMP/gw.conf"
for t in dtls '[^d]tls'; do
	lab_wait_log gw "$t: listening" 10 || fail "the gateway did not listen on ${t#'[^d]'} within 10 s"
done
GW_PID=${LAB_PID[gw]}
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }
gw_alive() {   # gw_alive WHAT : fail, saying how the gateway ended, unless it runs
	local rc
	lab_alive gw && return 0
	wait "$GW_PID"
	rc=$?
	((rc > 128)) && fail "the gateway died of signal $((rc - 128)) ($(kill -l $((rc - 128)))) after $1"
	fail "the gateway exited with status $rc after $1"
}

# ---- the gateway's threads
thread_tid() {   # thread_tid NAME : the gateway's thread called NAME
	local t
	for t in /proc/"$GW_PID"/task/*; do
		[[ $(cat "$t/comm" 2>/dev/null) == "$1" ]] && { echo "${t##*/}"; return 0; }
	done
	return 1
}
thread_ticks() {   # thread_ticks TID : its utime + stime, in clock ticks
	local s
	s=$(cat "/proc/$GW_PID/task/$1/stat") || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}
LOOP1_TID=$(thread_tid cv-loop1) || fail "the gateway has no thread cv-loop1 with threads = 2: $(cat /proc/"$GW_PID"/task/*/comm | tr '\n' ' ')"
thread_tid cv-loop2 >/dev/null && fail "the gateway has a thread cv-loop2 with threads = 2"
ok "threads = 2: the gateway runs its main thread and cv-loop1 (thread $LOOP1_TID)"

# ---- the clients
up() {   # up ID : start ID's culvertd (again), wait for its tunnel and its session
	local id=$1 name
	TRIES[$id]=$((${TRIES[$id]:-0} + 1))
	name=$id.${TRIES[$id]}
	[[ -n ${CUR[$id]:-} ]] && { lab_stop "${CUR[$id]}" || fail "$id did not stop cleanly"; }
	CUR[$id]=$name
	lab_start "$name" "${NS_OF[$id]}" "$LAB_TMP/$id.conf"
	lab_wait_log "$name" 'tunnel up' 15 || fail "$id: no 'tunnel up' over ${T_OF[$id]} within 15 s"
}
status_json() {
	ctl status --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/ctl.err" || {
		gw_alive "the last step"
		fail "culvertctl status --json: $(cat "$LAB_TMP/ctl.err")"
	}
}
st() {   # st PYTHON-EXPRESSION : on d (status --json) and up (identity -> session up)
	status_json
	python3 -c "import json,sys
d=json.load(open(sys.argv[1]))
up={s['identity']: s for s in d['sessions'] if s['state'] == 'up'}
print($1)" "$LAB_TMP/status.json" ||
		fail "status --json is not what was expected: $(cat "$LAB_TMP/status.json")"
}
loop_of() {   # loop_of ID : the loop of ID's session (once the gateway has it up)
	local i l
	for ((i = 0; i < 50; i++)); do
		l=$(st "up['$1']['loop'] if '$1' in up else ''")
		[[ -n $l ]] && { echo "$l"; return 0; }
		sleep 0.1
	done
	fail "$1's session is not up in the gateway's status: $(cat "$LAB_TMP/status.json")"
}
on_loops() {   # on_loops : the loops that hold sessions, e.g. "0 1"
	st "' '.join(str(l) for l in sorted(set(s['loop'] for s in up.values())))"
}
# place ID LOOP : start ID again (each time from a new source port) until
# its session is on LOOP; at most 10 starts, so 1 in 1024 by chance. A tls
# client only: the kernel gives a TCP connection to a loop by its
# addresses and ports, a dtls datagram by its source address alone (so
# that a roam keeps it on its loop), which a new port does not change.
place() {
	local id=$1 want=$2 i
	for ((i = 0; i < 10; i++)); do
		[[ $(loop_of "$id") == "$want" ]] && return 0
		up "$id"
	done
	fail "$id: 10 starts from 10 source ports, its session never on loop $want: does the kernel spread the clients over both loops' sockets (SO_REUSEPORT)?"
}

for id in "${ROAM[@]}" r1 r3; do up "$id"; done
for id in "${ROAM[@]}" r1 r3; do loop_of "$id" >/dev/null; done
while [[ $(on_loops) != "0 1" ]] && ((${#MORE[@]})); do
	up "${MORE[0]}"
	ROAM+=("${MORE[0]}")
	MORE=("${MORE[@]:1}")
	loop_of "${ROAM[-1]}" >/dev/null
done
n=$((${#ROAM[@]} + 2))
[[ $(on_loops) == "0 1" ]] ||
	fail "$n clients from $n source addresses, every session on loop $(on_loops): the kernel did not spread them over both loops (SO_REUSEPORT)"
ok "$n clients up (${ROAM[*]} r1 r3), sessions on loops $(on_loops)"

# ---- status sees both loops
[[ $(st "d['culvertd']['loops']") == 2 ]] || fail "status --json says loops: $(st "d['culvertd'].get('loops')"), not 2"
[[ $(st "sorted(set(s['loop'] for s in d['sessions'])) == [0, 1] and all(type(s['loop']) is int for s in d['sessions'])") == True ]] ||
	fail "status --json: the sessions' loops are not 0 and 1: $(st "[(s['identity'], s.get('loop')) for s in d['sessions']]")"
ctl status >"$LAB_TMP/status.txt" 2>&1 || fail "culvertctl status: $(cat "$LAB_TMP/status.txt")"
grep -Eq '^loops: 2$' "$LAB_TMP/status.txt" || fail "culvertctl status has no line 'loops: 2': $(cat "$LAB_TMP/status.txt")"
for id in "${ROAM[@]}" r1 r3; do
	l=$(loop_of "$id")
	ctl show "$id" >"$LAB_TMP/show.txt" 2>&1 || fail "culvertctl show $id: $(cat "$LAB_TMP/show.txt")"
	grep -Eq "^ *loop: $l\$" "$LAB_TMP/show.txt" ||
		fail "show $id has no line 'loop: $l' (status --json's): $(cat "$LAB_TMP/show.txt")"
done
counts=$(st "' '.join('loop %d: %d' % (l, sum(1 for s in up.values() if s['loop'] == l)) for l in (0, 1))")
ok "status: loops: 2; $counts sessions; show NAME says each one's loop"

# ---- (b) every client reaches V
for id in "${ROAM[@]}" r1 r3; do
	lab_ping 3 "${NS_OF[$id]}" "$LAB_V_LAN"
	((LAB_PING_RECEIVED == 3)) ||
		fail "$id (${T_OF[$id]}, loop $(loop_of "$id")) reaches V $LAB_PING_RECEIVED of 3 times"
done
gw_alive "the pings to V"
ok "every client reaches V, from both loops"

# ---- (a) client to client across the loops: A on loop 0, B on loop 1
pick() {   # pick LOOP : a road warrior whose session is on LOOP, or nothing
	local id
	for id in "${ROAM[@]}"; do
		[[ $(loop_of "$id") == "$1" ]] && { echo "$id"; return 0; }
	done
}
tls_roam() {   # tls_roam [BUT] : a tls road warrior other than BUT
	local id
	for id in "${ROAM[@]}"; do
		[[ ${T_OF[$id]} == tls && $id != "${1:-}" ]] && { echo "$id"; return 0; }
	done
}
A=$(pick 0)
[[ -n $A ]] || { A=$(tls_roam); place "$A" 0; }
B=$(pick 1)
[[ -n $B ]] || { B=$(tls_roam "$A"); place "$B" 1; }
[[ $(loop_of "$A") == 0 && $(loop_of "$B") == 1 ]] || fail "A ($A) and B ($B) are not on loops 0 and 1"
A_IN=$(lab_inner "${NS_OF[$A]}") B_IN=$(lab_inner "${NS_OF[$B]}")
lab_ping 3 "${NS_OF[$A]}" "$B_IN"
((LAB_PING_RECEIVED == 3)) || fail "$A (loop 0) -> $B (loop 1, $B_IN): $LAB_PING_RECEIVED of 3 answers"
lab_ping 3 "${NS_OF[$B]}" "$A_IN"
((LAB_PING_RECEIVED == 3)) || fail "$B (loop 1) -> $A (loop 0, $A_IN): $LAB_PING_RECEIVED of 3 answers"
ok "client to client across the loops: $A (${T_OF[$A]}, loop 0, $A_IN) and $B (${T_OF[$B]}, loop 1, $B_IN) ping each other"
ticks0=$(thread_ticks "$LOOP1_TID")
lab_xfer_between "${NS_OF[$A]}" "${NS_OF[$B]}" "$B_IN" 8 ||
	fail "8 MiB $A (loop 0) -> $B (loop 1) did not arrive whole"
t1=$XFER_SECS
lab_xfer_between "${NS_OF[$B]}" "${NS_OF[$A]}" "$A_IN" 8 ||
	fail "8 MiB $B (loop 1) -> $A (loop 0) did not arrive whole"
ticks=$(($(thread_ticks "$LOOP1_TID") - ticks0))
((ticks > 0)) || fail "cv-loop1 spent no CPU time while its session $B carried 16 MiB"
ok "8 MiB $A -> $B in ${t1}s and 8 MiB $B -> $A in ${XFER_SECS}s arrived whole (sha256), across rekeys; cv-loop1 spent $ticks ticks on them"

# ---- (d) site to site across the loops: R1 and R3 on different loops
L1=$(loop_of r1)
place r3 $((1 - L1))
LAB_PINGS_WHERE="R1 on loop $L1, R3 on loop $((1 - L1))"
lab_pings x 198.18.3.10 198.18.2.10
lab_pings z 198.18.1.10
LAB_V=$(lab__ns z) LAB_V_LAN=198.18.3.10 lab_xfer 8 5001 x ||
	fail "8 MiB X -> Z (R1 on loop $L1, R3 on loop $((1 - L1))) did not arrive whole"
gw_alive "site to site"
ok "site to site across the loops: R1 on loop $L1, R3 on loop $((1 - L1)); X and Z ping each other, X reaches Y, 8 MiB X -> Z arrived whole in ${XFER_SECS}s"

# ---- (c) rekeys on loop 1 while B's pings cross both loops
[[ $(loop_of "$B") == 1 ]] || fail "B ($B) left loop 1"
outer=$(st "up['$B']['outer']")
# The gateway's rekeys of B, as its status counts them (tls: the
# client's KeyUpdates; dtls: each new DTLS session).
rekeys() { st "up['$B']['rekeys'] or 0"; }
r0=$(rekeys)
bg_ping() {   # bg_ping NAME NS TO : 400 pings at 0.01 s, in the background
	ip netns exec "$(lab__ns "$2")" timeout 30 ping -c 400 -i 0.01 -W 2 "$3" \
		>"$LAB_TMP/$1.ping" 2>&1 </dev/null &
	lab_bg $!
	PIDS+=($!)
}
PIDS=()
bg_ping ba "${NS_OF[$B]}" "$A_IN"
bg_ping bv "${NS_OF[$B]}" "$LAB_V_LAN"
for p in "${PIDS[@]}"; do wait "$p"; done
for p in ba bv; do
	got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/$p.ping")
	[[ ${got:-0} == 400 ]] || fail "$B's pings across its rekeys ($p): ${got:-0} of 400: $(tail -n 2 "$LAB_TMP/$p.ping")"
done
r=$(($(rekeys) - r0))
((r >= 2)) || fail "$B (loop 1, rekey-interval = 2) renewed its keys $r times in 4 s of pings"
[[ $(st "up['$B']['outer']") == "$outer" && $(grep -c 'tunnel up' "${LAB_LOG[${CUR[$B]}]}") == 1 ]] ||
	fail "$B's session did not survive its rekeys"
gw_alive "B's rekeys"
ok "$B (${T_OF[$B]}, loop 1) renewed its keys $r times while 400 pings to $A (loop 0) and 400 to V all came back, in one session"

# ---- (c) reloads that touch B, on loop 1
lab_counters gw || fail "no counters from the gateway"
out0=${LAB_COUNTERS[outside_routes]:-0}
printf '%s\n' 'group = locked' >"$CCD/$B"
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_wait_log gw "session $B: now in group locked, restrict-to-routes on" 5 ||
	fail "the reload did not put $B's session in group locked in place"
lab_ping 3 "${NS_OF[$B]}" "$A_IN"
((LAB_PING_RECEIVED == 0)) || fail "$B, restricted to its routes by the reload, reached $A $LAB_PING_RECEIVED times"
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[outside_routes] >= out0 + 3)) ||
	fail "$B's pings to $A: outside_routes $out0 -> ${LAB_COUNTERS[outside_routes]}"
lab_ping 3 "${NS_OF[$B]}" "$LAB_V_LAN"
((LAB_PING_RECEIVED == 3)) || fail "$B, restricted to its routes, reaches V $LAB_PING_RECEIVED of 3 times"
rm -f "$CCD/$B"
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_wait_log gw "session $B: now in no group, restrict-to-routes off" 5 ||
	fail "the second reload did not lift $B's restriction in place"
lab_ping 3 "${NS_OF[$B]}" "$A_IN"
((LAB_PING_RECEIVED == 3)) || fail "$B, no longer restricted, reaches $A $LAB_PING_RECEIVED of 3 times"
[[ $(st "up['$B']['outer']") == "$outer" ]] || fail "$B's session did not stay across the reloads"
gw_alive "the reloads in place"
ok "reloads applied in place to $B on loop 1: restricted, it no longer reached $A (outside_routes +$((LAB_COUNTERS[outside_routes] - out0))) but reached V; lifted, it reaches $A again"

lab_ping 1 "${NS_OF[$B]}" 198.18.2.10
((LAB_PING_RECEIVED == 0)) || fail "$B reaches Y without a route to it"
printf '%s\n' 'route = 198.18.2.0/24' >"$CCD/$B"
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_wait_log gw "session $B: the reload changed its routes" 5 || fail "the reload did not end $B's session for its new route"
lab_wait_log "${CUR[$B]}" 'tunnel up: .*198\.18\.2\.0/24' 20 || fail "$B did not come back with its new route"
lab_ping 3 "${NS_OF[$B]}" 198.18.2.10
((LAB_PING_RECEIVED == 3)) || fail "$B, back with its route, reaches Y $LAB_PING_RECEIVED of 3 times"
gw_alive "the reload of B's route"
ok "a reload gave $B (loop 1) a route: its session ended, came back with it (now on loop $(loop_of "$B")) and reaches Y"

# ---- (c) kick a session on loop 1
K=
for id in "${ROAM[@]}" r1 r3; do
	[[ $(loop_of "$id") == 1 ]] && { K=$id; break; }
done
[[ -n $K ]] || { K=$(tls_roam); place "$K" 1; }
outer=$(st "up['$K']['outer']")
ctl kick "$K" >"$LAB_TMP/kick.out" 2>&1 || fail "culvertctl kick $K: $(cat "$LAB_TMP/kick.out")"
grep -q '^1 session ended' "$LAB_TMP/kick.out" || fail "kick $K said: $(cat "$LAB_TMP/kick.out")"
lab_wait_log gw "session $K kicked by the administrator" 5 || fail "the gateway did not log the kick of $K"
[[ $(st "sum(1 for s in d['sessions'] if s['outer'] == '$outer')") == 0 ]] ||
	fail "$K's kicked session ($outer) is still in status"
n=$(grep -c 'tunnel up' "${LAB_LOG[${CUR[$K]}]}")
lab__deadline 20
until (($(grep -c 'tunnel up' "${LAB_LOG[${CUR[$K]}]}") > n)); do
	gw_alive "the kick of $K (${T_OF[$K]}, loop 1)"
	lab__before || fail "$K did not come back within 20 s of its kick"
	sleep 0.1
done
lab_ping 3 "${NS_OF[$K]}" "$LAB_V_LAN"
((LAB_PING_RECEIVED == 3)) || fail "$K, back after its kick, reaches V $LAB_PING_RECEIVED of 3 times"
gw_alive "the kick"
ok "kick ended $K's session on loop 1 ($outer left status); it came back (on loop $(loop_of "$K")) and reaches V"

# ---- (e) loop 0 held still: loop 1 takes new links and goes on carrying
# A loop hands a link that came up to loop 0 without waiting for it: a
# loop 0 busy with handshakes of its own must not stop the others' (nor
# their packets). The main thread is stopped alone (ptrace; the process
# runs on), handshakes then come to both loops, and a session of loop 1
# must keep carrying pings meanwhile; once loop 0 runs again, every new
# link becomes a session.
freeze() {   # freeze TID SECS : stop that one thread for SECS, in the background
	python3 - "$1" "$2" >"$LAB_TMP/freeze.out" 2>&1 <<'PY' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000
tid, secs = int(sys.argv[1]), float(sys.argv[2])
for req in (SEIZE, INTERRUPT):
    if libc.ptrace(req, tid, None, None) != 0:
        sys.exit('ptrace: ' + os.strerror(ctypes.get_errno()))
libc.waitpid(tid, ctypes.byref(ctypes.c_int()), WALL)
print('stopped', flush=True)
time.sleep(secs)
libc.ptrace(DETACH, tid, None, None)
print('running', flush=True)
PY
	FREEZE=$!
	lab_bg "$FREEZE"
}
if [[ -n ${CULVERT_LOADGEN:-} && -x $CULVERT_LOADGEN ]]; then
	W=
	for id in "${ROAM[@]}" r1 r3; do
		[[ $(loop_of "$id") == 1 ]] && { W=$id; break; }
	done
	[[ -n $W ]] || { W=$(tls_roam); place "$W" 1; }
	# Eight outer addresses of U: the gateway steers a dtls client's
	# datagrams to a loop by its address, so both loops get links.
	SOURCES=
	for i in 1 2 3 4 5 6 7 8; do
		ip -n "$LAB_U" addr add "192.0.2.$((100 + i))/$LAB_PUB_LEN" dev u0 || fail "cannot add 192.0.2.$((100 + i)) to U"
		SOURCES+=${SOURCES:+,}192.0.2.$((100 + i))
	done
	n0=$(st "len(d['sessions'])")
	for i in 11 12 13 14 15 16 17 18; do   # a stranger's, for (e)'s records
		ip -n "$LAB_U" addr add "192.0.2.$((100 + i))/$LAB_PUB_LEN" dev u0 || fail "cannot add 192.0.2.$((100 + i)) to U"
	done
	freeze "${LAB_PID[gw]}" 8
	lab__deadline 5
	until grep -q stopped "$LAB_TMP/freeze.out"; do
		lab__before && kill -0 "$FREEZE" 2>/dev/null || fail "cannot stop the gateway's main thread: $(cat "$LAB_TMP/freeze.out")"
		sleep 0.05
	done
	ip netns exec "$LAB_U" timeout 40 "$CULVERT_LOADGEN" --transport dtls --remote "$LAB_GW_EP" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" --server-name vpn.example.org \
		--cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" --source "$SOURCES" \
		--sessions 8 --parallel 8 --hold 12 --rate 0 --duration 30 --json \
		>"$LAB_TMP/lg-frozen.json" 2>"$LAB_TMP/lg-frozen.log" </dev/null &
	LG=$!
	lab_bg "$LG"
	sleep 1   # their handshakes done, loop 1's links up
	lab_ping 3 "${NS_OF[$W]}" "$LAB_V_LAN"
	((LAB_PING_RECEIVED == 3)) ||
		fail "with loop 0 stopped and new links coming to loop 1, $W (${T_OF[$W]}, loop 1) reached V $LAB_PING_RECEIVED of 3 times"
	# A stranger's dtls records from 8 more addresses, as a client's of
	# a session the gateway lost: each earns a stateless reset, which a
	# loop makes without asking loop 0.
	resets=$(ip netns exec "$LAB_U" python3 - "${LAB_GW_EP%:*}" "${LAB_GW_EP##*:}" <<'PY'
import os, select, socket, sys, time
gw = (sys.argv[1], int(sys.argv[2]))
socks = []
for i in range(111, 119):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('192.0.2.%d' % i, 0))
    body = os.urandom(80)
    # application data, DTLS 1.2, epoch 1, a sequence number, its length
    s.sendto(bytes([23, 0xfe, 0xfd, 0, 1]) + os.urandom(6) + len(body).to_bytes(2, 'big') + body, gw)
    socks.append(s)
got, end = 0, time.time() + 1.5
while socks and time.time() < end:
    ready, _, _ = select.select(socks, [], [], max(0.0, end - time.time()))
    for s in ready:
        d = s.recv(2048)
        if len(d) < 93 and d[:3] == bytes([23, 0xfe, 0xfd]):
            got += 1
        socks.remove(s)
print(got)
PY
)
	((resets > 0)) || fail "with loop 0 stopped, none of 8 strangers' records from 8 addresses got a stateless reset: does a loop wait for loop 0 to make one?"
	grep -q stopped "$LAB_TMP/freeze.out" && ! grep -q running "$LAB_TMP/freeze.out" ||
		fail "loop 0 was not stopped all through the pings and the strangers' records: $(cat "$LAB_TMP/freeze.out")"
	wait "$FREEZE"
	lab__deadline 15
	until [[ $(st "len(d['sessions'])") -ge $((n0 + 8)) ]]; do
		gw_alive "loop 0 running again"
		lab__before || fail "loop 0 running again, $(($(st "len(d['sessions'])") - n0)) of the 8 links that came meanwhile became sessions within 15 s"
		sleep 0.2
	done
	on1=$(st "sum(1 for s in d['sessions'] if s['identity'] == 'alice' and s['loop'] == 1)")
	((on1 > 0)) || fail "none of the 8 links from 8 addresses came to loop 1: $(st "[(s['outer'], s['loop']) for s in d['sessions']]")"
	kill "$LG" 2>/dev/null
	wait "$LG" 2>/dev/null
	gw_alive "loop 0 held still"
	ok "loop 0 stopped for 8 s: $W (loop 1) reached V all the while new dtls links came ($on1 of 8 to loop 1) and $resets of 8 strangers' records got a stateless reset; running again, all 8 links became sessions"
else
	echo "# (e) skipped: CULVERT_LOADGEN is not set (make check sets it)"
fi

# ---- the end
for id in "${!CUR[@]}"; do
	lab_stop "${CUR[$id]}" || fail "$id did not stop cleanly"
done
lab_stop gw || fail "the gateway exited with status $? on SIGTERM"
ok "every culvertd exits 0 on SIGTERM"
exit 0
