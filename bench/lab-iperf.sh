#!/usr/bin/env bash
# lab-iperf.sh - one iperf3 TCP stream through the lab's tunnel, U -> V and
# V -> U, per transport; also CPU seconds per GB of both culvertd processes
# (utime + stime from /proc/PID/stat over the run) and the idle ping RTT.
# Not part of make check: a quick before/after figure for the fast path.
#
#   sudo CULVERTD=src/culvertd CULVERT_PLUGIN_DIR=plugins CULVERTCTL=src/culvertctl \
#        bench/lab-iperf.sh [SECS [TRANSPORT...]]      (default: 5 udp tls dtls)
#
# Prints one line per transport and direction:
#   tls U->V 3950 Mbit/s 1.23 cpu-s/GB   and   tls rtt 0.071 ms
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
SECS=${1:-5}
shift
(($#)) || set -- udp tls dtls
export LAB_ID=bench-$$
# shellcheck source=bench/lab_env.sh
. "$here/lab_env.sh"
command -v iperf3 >/dev/null || { echo "iperf3 not found: apt-get install iperf3" >&2; exit 77; }
lab_require

run() {   # run TRANSPORT
	local t=$1 dir rev out bits bytes c0 c1 hz
	hz=$(getconf CLK_TCK)
	lab_tunnel "$t"
	ip netns exec "$LAB_V" timeout $((SECS * 4 + 20)) iperf3 -s -1 -B "$LAB_V_LAN" >/dev/null 2>&1 &
	lab_bg $!
	sleep 0.3
	for dir in U-\>V V-\>U; do
		rev=; [[ $dir == V* ]] && rev=-R
		c0=$(cpu_ticks)
		out=$(ip netns exec "$LAB_U" timeout $((SECS + 15)) iperf3 -c "$LAB_V_LAN" -t "$SECS" $rev -J 2>/dev/null)
		c1=$(cpu_ticks)
		bits=$(jq -r '.end.sum_received.bits_per_second // 0' <<<"$out" 2>/dev/null)
		bytes=$(jq -r '.end.sum_received.bytes // 0' <<<"$out" 2>/dev/null)
		awk -v t="$t" -v d="$dir" -v b="${bits:-0}" -v n="${bytes:-0}" -v c=$((c1 - c0)) -v hz="$hz" \
			'BEGIN { printf "%s %s %.0f Mbit/s %.2f cpu-s/GB\n", t, d, b / 1e6, n ? c / hz / (n / 1e9) : 0 }'
		if [[ -z $rev ]]; then
			ip netns exec "$LAB_V" timeout $((SECS * 4 + 20)) iperf3 -s -1 -B "$LAB_V_LAN" >/dev/null 2>&1 &
			lab_bg $!
			sleep 0.3
		fi
	done
	rtt=$(ip netns exec "$LAB_U" ping -q -c 20 -i 0.05 "$LAB_V_LAN" 2>/dev/null |
		sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	echo "$t rtt ${rtt:-?} ms"
	lab_again
}

command -v jq >/dev/null || { echo "jq not found: apt-get install jq" >&2; exit 77; }
for t; do
	run "$t"
done
