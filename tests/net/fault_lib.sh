# shellcheck shell=bash disable=SC2034  # FAULT_* names are for the tests
# fault_lib.sh - what the fault tests share, sourced after lab.sh: a
# culvertd killed without a word, a long TCP stream through the tunnel
# that must survive the fault (tcp_stream.py), and clocks for recovery
# bounds. Every wait is bounded, by seconds and by a count of turns.
#
#   fault_configs T [K=V...]      $LAB_TMP/gw.conf and u.conf over T: the
#                                 lab's udp ones, or its tls ones with
#                                 transport = T (K=V: the client's, as
#                                 lab_client_conf)
#   fault_start GW U T            start the gateway GW and the client U on
#                                 $LAB_TMP/gw.conf and u.conf, over T, until
#                                 the tunnel is up; FAULT_A0: U's inner address
#   fault_kill NAME               SIGKILL culvertd NAME (no bye, nothing
#                                 removed), and reap it
#   fault_now                     seconds since the epoch, to the microsecond
#   fault_since T0                seconds from T0 (a fault_now) to now, 0.01
#   fault_count NAME ERE          lines of NAME's log that match ERE
#   fault_wait_count NAME ERE N SECS
#                                 until N lines match (1 on timeout); sets
#                                 FAULT_AT to fault_now when they did
#   fault_sessions NAME           sessions culvertctl status shows on NAME
#   fault_stream_start [KBPS]     a TCP stream from V to U's inner address,
#                                 port 5002, KBPS KiB/s (default 512): one
#                                 connection, counted in U
#   fault_stream_bytes            bytes U has received so far
#   fault_stream_state            open | listening | closed | error:WHY
#   fault_stream_grows SECS       wait for the count to grow past what it
#                                 is now on the same connection; 1 if it
#                                 does not within SECS, or the connection
#                                 ended; FAULT_RESUMED: the seconds it took
#   fault_stream_stop             end both ends of the stream

fault_configs() {
	local t=$1
	shift
	if [[ $t == udp ]]; then
		lab_write_configs
		return
	fi
	lab_server_conf "$LAB_TMP/gw.conf" "transport=$t"
	lab_client_conf "$LAB_TMP/u.conf" "transport=$t" "$@"
}

fault_start() {
	local gw=$1 u=$2 t=$3
	lab_start "$gw" gw "$LAB_TMP/gw.conf"
	lab_wait_log "$gw" "$t: listening" 10 || fail "$t: the gateway did not start"
	lab_start "$u" u "$LAB_TMP/u.conf"
	lab_wait_log "$u" 'tunnel up' 15 || fail "$t: U did not come up"
	FAULT_A0=$(lab_inner u)
}

fault_kill() {
	local name=$1
	lab_alive "$name" || fail "fault_kill: $name is not running"
	kill -KILL "${LAB_PID[$name]}" 2>/dev/null
	wait "${LAB_PID[$name]}" 2>/dev/null
	lab_alive "$name" && fail "fault_kill: $name survived SIGKILL"
	return 0
}

fault_now() { echo "${EPOCHREALTIME/,/.}"; }
fault_since() { awk -v a="$(fault_now)" -v b="$1" 'BEGIN { printf "%.2f", a - b }'; }

fault_count() { grep -Ec -- "$2" "${LAB_LOG[$1]}" 2>/dev/null; }

fault_wait_count() {
	local name=$1 re=$2 n=$3 i
	lab__deadline "$4"
	for ((i = 0; i < $4 * 50 && i < 5000; i++)); do
		if (($(fault_count "$name" "$re") >= n)); then
			FAULT_AT=$(fault_now)
			return 0
		fi
		lab__before || break
		sleep 0.02
	done
	return 1
}

fault_sessions() {
	"$CULVERTCTL" -s "${LAB_SOCK[$1]}" status --json 2>/dev/null |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))' 2>/dev/null ||
		echo "?"
}

FAULT_STREAM=$LAB_TMP/stream
fault_stream_start() {
	local kbps=${1:-512} inner
	inner=$(lab_inner u)
	[[ -n $inner ]] || fail "fault_stream_start: U has no inner address"
	command -v python3 >/dev/null || skip "python3 not found (the TCP stream)"
	rm -f "$FAULT_STREAM"
	ip netns exec "$LAB_U" timeout 300 python3 "$lab__dir/tcp_stream.py" \
		recv 5002 "$FAULT_STREAM" </dev/null >"$LAB_TMP/stream-recv.err" 2>&1 &
	lab_bg "$!"
	FAULT_STREAM_PIDS=("$!")
	lab__wait 5 test -s "$FAULT_STREAM" || fail "the stream's receiver in U did not start: $(cat "$LAB_TMP/stream-recv.err")"
	ip netns exec "$LAB_V" timeout 300 python3 "$lab__dir/tcp_stream.py" \
		send "$inner" 5002 "$kbps" </dev/null >"$LAB_TMP/stream-send.err" 2>&1 &
	lab_bg "$!"
	FAULT_STREAM_PIDS+=("$!")
	lab__wait 10 bash -c "read -r n s p <'$FAULT_STREAM' && [[ \$s == open ]] && ((n > 0))" ||
		fail "no TCP stream from V to U's $inner:5002: $(cat "$LAB_TMP/stream-send.err" "$FAULT_STREAM")"
	FAULT_STREAM_PEER=$(fault_stream_field 3)
}
fault_stream_field() { local a b c; read -r a b c <"$FAULT_STREAM" 2>/dev/null; case $1 in 1) echo "${a:-0}" ;; 2) echo "${b:-none}" ;; 3) echo "${c:--}" ;; esac; }
fault_stream_bytes() { fault_stream_field 1; }
fault_stream_state() { fault_stream_field 2; }

fault_stream_grows() {
	local from i t0
	from=$(fault_stream_bytes)
	t0=$(fault_now)
	lab__deadline "$1"
	for ((i = 0; i < $1 * 20 && i < 2000; i++)); do
		[[ $(fault_stream_state) == open ]] || return 1
		if (($(fault_stream_bytes) > from)); then
			FAULT_RESUMED=$(fault_since "$t0")
			[[ $(fault_stream_field 3) == "$FAULT_STREAM_PEER" ]] || return 1
			return 0
		fi
		lab__before || break
		sleep 0.05
	done
	return 1
}

fault_stream_stop() {
	local p
	for p in "${FAULT_STREAM_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${FAULT_STREAM_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	FAULT_STREAM_PIDS=()
}
