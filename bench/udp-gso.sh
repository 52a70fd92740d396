#!/usr/bin/env bash
# udp-gso.sh - UDP as QUIC stacks send it (UDP_SEGMENT: 40 datagrams of
# 1200 bytes in one send) through the lab's tunnel, U -> V, beside the
# same datagrams sent one per send; per transport. With USO on the TUN
# device (Linux 6.2) each such send leaves TUN as one large segment. Not
# part of make check: a before/after figure for the fast path.
#
#   sudo CULVERTD=src/culvertd CULVERT_PLUGIN_DIR=plugins CULVERTCTL=src/culvertctl \
#        bench/udp-gso.sh [SECS [TRANSPORT...]]      (default: 5 udp tls dtls)
#
# The sender (tests/net/udp_gso.py blast) sends as fast as it can; V's
# kernel counts what arrives at a socket that is never read (Udp
# InDatagrams + InErrors of V's /proc/net/snmp), so no reader limits it.
# One line per transport and kind of send:
#   tls gso  sent 2400 Mbit/s  arrived 1650 Mbit/s (137500 datagrams/s)  loss 31.2%  0.91 cpu-s/GB
# (Mbit/s of UDP payload; cpu-s/GB: both culvertd processes, per GB arrived).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
SECS=${1:-5}
shift
(($#)) || set -- udp tls dtls
SEG=1200
export LAB_ID=bench-$$
# shellcheck source=bench/lab_env.sh
. "$here/lab_env.sh"
lab_require
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 77; }
py=$here/../tests/net/udp_gso.py

arrived() {   # datagrams V's UDP has seen, delivered or dropped at the socket
	ip netns exec "$LAB_V" awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $2 + $4 }' /proc/net/snmp
}

# one KIND COUNT PORT : a blast of COUNT datagrams per send, its line
one() {
	local t=$1 kind=$2 count=$3 port=$4 a0 a1 c0 c1 out hz
	hz=$(getconf CLK_TCK)
	ip netns exec "$LAB_V" timeout $((SECS + 20)) python3 "$py" sink "$LAB_V_LAN" "$port" \
		$((SECS + 5)) </dev/null >"$LAB_TMP/sink-$port" 2>&1 &
	lab_bg $!
	lab__wait 5 grep -q listening "$LAB_TMP/sink-$port" || fail "no sink in V"
	a0=$(arrived)
	c0=$(cpu_ticks)
	out=$(ip netns exec "$LAB_U" timeout $((SECS + 15)) python3 "$py" blast "$LAB_V_LAN" "$port" \
		"$SECS" "$SEG" "$count")
	sleep 0.5	# what is still under way
	c1=$(cpu_ticks)
	a1=$(arrived)
	read -r sent secs <<<"$out"
	awk -v t="$t" -v k="$kind" -v s="${sent:-0}" -v d="${secs:-1}" -v n=$((a1 - a0)) \
		-v c=$((c1 - c0)) -v hz="$hz" -v seg="$SEG" 'BEGIN {
		gb = n * seg / 1e9
		printf "%s %-5s sent %.0f Mbit/s  arrived %.0f Mbit/s (%.0f datagrams/s)  loss %.1f%%  %.2f cpu-s/GB\n",
			t, k, s * seg * 8 / d / 1e6, n * seg * 8 / d / 1e6, n / d,
			s ? 100 * (s - n) / s : 0, gb ? c / hz / gb : 0 }'
}

for t; do
	lab_tunnel "$t"
	grep -h 'offloads on\|no TSO' "${LAB_LOG[u]}" | sed 's/^/  u: /'
	one "$t" gso 40 6001
	one "$t" plain 1 6002
	lab_again
done
