# shellcheck shell=bash disable=SC2034  # the XFER_* results are for the tests
# xfer.sh - the lab's TCP transfer, sourced by lab.sh (uses its names).
#
#   lab_xfer MB [PORT [FROM [SOURCE]]]
#
# V listens with socat on 198.51.100.2:PORT (default 5001); for the one
# connection it accepts, a small receiver records SOCAT_PEERADDR (the source
# address V saw) and the data, then its sha256. U (or the namespace FROM:
# u2, u3...) sends MB MiB read from SOURCE (default /dev/urandom; a file
# shorter than MB MiB sends less). With LAB_XFER_PACE=SECS set, U sends
# it in 256 KiB pieces SECS apart, so that it runs for a while (across
# rekeys, say). Every step is bounded by timeout(1) or a counted poll.
# Sets XFER_SENT_SUM, XFER_RECV_SUM, XFER_PEER, XFER_BYTES, XFER_SECS;
# returns 0 when the data arrived whole, 1 otherwise (with a reason on stderr).
#
#   lab_xfer_between FROM TO ADDR MB
#
# MB MiB over TCP from namespace FROM to a listener in TO on ADDR:5002,
# either way through the tunnel; 0 when what arrived has the sha256 of
# what was sent (XFER_SECS: how long it took). The receiver writes a file
# that the test hashes itself: lab_xfer's receiver may be killed by socat
# before it has hashed 50 MiB on a busy machine.

lab_xfer() {
	local mb=$1 port=${2:-5001} from=${3:-u} src=${4:-/dev/urandom}
	local d="$LAB_TMP/xfer" i pid t0 t1
	local limit=$((30 + mb * 3))   # seconds: generous for a slow CI box
	rm -rf "$d"
	mkdir -p "$d" || return 1
	XFER_SENT_SUM='' XFER_RECV_SUM='' XFER_PEER='' XFER_BYTES=0 XFER_SECS=''

	head -c $((mb * 1024 * 1024)) "$src" >"$d/send" || return 1
	XFER_SENT_SUM=$(sha256sum <"$d/send" | cut -d' ' -f1)

	# Temp files and mv: the test sees a file only once it is complete.
	cat >"$d/recv.sh" <<-'EOF'
	#!/bin/sh
	printf '%s\n' "$SOCAT_PEERADDR" >"$1/peer.tmp" && mv "$1/peer.tmp" "$1/peer"
	cat >"$1/recv"
	sha256sum <"$1/recv" | cut -d' ' -f1 >"$1/recv.sum.tmp" && mv "$1/recv.sum.tmp" "$1/recv.sum"
	EOF
	chmod +x "$d/recv.sh"

	# An IPv6 LAB_V_LAN (tests/net/ipv6_inner.sh) needs socat's TCP6 and [].
	local tcp=TCP host=$LAB_V_LAN
	[[ $LAB_V_LAN == *:* ]] && tcp=TCP6 host=[$LAB_V_LAN]
	printf '[v] socat -u %s-LISTEN:%s,bind=%s EXEC:recv.sh  (records SOCAT_PEERADDR)\n' \
		"$tcp" "$port" "$host" >&2
	# -t: after the sender's EOF, socat gives recv.sh that long to hash
	# what it got before ending it (its default, 0.5 s, is too short for
	# 50 MiB on a busy machine).
	ip netns exec "$LAB_V" timeout "$limit" socat -u -t "$limit" \
		"$tcp-LISTEN:$port,bind=$host,reuseaddr" "EXEC:$d/recv.sh $d" \
		2>"$d/listen.err" </dev/null &
	pid=$!
	lab_bg "$pid"
	lab__wait 5 lab__listening "$port" || {
		echo "xfer: socat on V did not listen on $LAB_V_LAN:$port: $(cat "$d/listen.err")" >&2
		return 1
	}

	t0=$(date +%s.%N)
	lab__xfer_source "$d/send" "$mb" | in_ns "$from" timeout "$limit" socat -u - \
		"$tcp:$host:$port,connect-timeout=5" 2>"$d/send.err" || {
		echo "xfer: sending from $from failed: $(cat "$d/send.err")" >&2
		return 1
	}
	lab__deadline "$limit"
	for ((i = 0; i < limit * 20; i++)); do
		[[ -f $d/recv.sum ]] && break
		lab__before || break
		sleep 0.1
	done
	t1=$(date +%s.%N)
	[[ -f $d/recv.sum ]] || {
		echo "xfer: V did not finish receiving within ${limit}s" >&2
		return 1
	}
	XFER_RECV_SUM=$(cat "$d/recv.sum")
	XFER_PEER=$(cat "$d/peer" 2>/dev/null)
	XFER_BYTES=$(stat -c %s "$d/recv")
	XFER_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	rm -f "$d/send" "$d/recv"
	[[ $XFER_SENT_SUM == "$XFER_RECV_SUM" ]] || {
		echo "xfer: checksum mismatch: sent $XFER_SENT_SUM, V got $XFER_RECV_SUM ($XFER_BYTES bytes)" >&2
		return 1
	}
	return 0
}

# lab__xfer_source FILE MB : FILE on stdout, at once or, with
# LAB_XFER_PACE, in 256 KiB pieces that far apart (at most 4 per MiB).
lab__xfer_source() {
	local i
	if [[ -z ${LAB_XFER_PACE:-} ]]; then
		cat "$1"
		return
	fi
	for ((i = 0; i < $2 * 4; i++)); do
		dd if="$1" bs=256K skip="$i" count=1 status=none
		sleep "$LAB_XFER_PACE"
	done
}

lab__listening() {   # lab__listening PORT : V has a TCP listener on PORT
	ip netns exec "$LAB_V" ss -Hltn "sport = :$1" | grep -q .
}

lab_xfer_between() {
	local from=$1 to=$2 addr=$3 mb=$4 d="$LAB_TMP/xfer-$1" pid i
	local limit=$((30 + mb * 3))
	rm -rf "$d" && mkdir -p "$d" || return 1
	head -c $((mb * 1024 * 1024)) /dev/urandom >"$d/send"
	ip netns exec "$(lab__ns "$to")" timeout "$limit" socat -u \
		"TCP-LISTEN:5002,bind=$addr,reuseaddr" "CREATE:$d/recv" \
		2>"$d/listen.err" </dev/null &
	pid=$!
	lab_bg "$pid"
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$(lab__ns "$to")" ss -Hltn 'sport = :5002' | grep -q . && break
		sleep 0.1
	done
	XFER_SECS=$(date +%s.%N)
	ip netns exec "$(lab__ns "$from")" timeout "$limit" socat -u "OPEN:$d/send" \
		"TCP:$addr:5002,connect-timeout=5" 2>"$d/send.err" || {
		echo "xfer: $from could not send within $limit s: $(cat "$d/send.err")" >&2
		# A reset may come from either end: what the receiver saw.
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "xfer: the receiver in $to got $(stat -c %s "$d/recv" 2>/dev/null || echo 0) bytes and said: $(cat "$d/listen.err")" >&2
		return 1
	}
	wait "$pid" 2>/dev/null
	XFER_SECS=$(awk -v a="$XFER_SECS" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	[[ $(sha256sum <"$d/send") == "$(sha256sum <"$d/recv")" ]] || {
		echo "xfer: $to got $(stat -c %s "$d/recv") bytes that differ from what $from sent" >&2
		return 1
	}
	rm -f "$d/send" "$d/recv"
}
