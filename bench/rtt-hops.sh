#!/usr/bin/env bash
# rtt-hops.sh - where a ping's round trip through the tunnel goes, hop by
# hop, per transport. Root; not part of make check.
#
#   sudo bench/rtt-hops.sh [PINGS [INTERVAL [TRANSPORT...]]]
#                                      (default: 40 0.05 udp tls dtls)
#
# In the lab of tests/net/lab.sh, tcpdump watches U's cv0 and u0 and the
# gateway's gw0, cv0 and gw1 while U pings V through the tunnel. Each echo
# is followed through eight timestamps, all from one kernel clock:
#
#   client out   U's cv0 (the request leaves ping) -> u0 (culvertd U sent it)
#   wire         u0 -> the gateway's gw0
#   gateway in   gw0 -> the gateway's cv0 (culvertd wrote it into TUN)
#   LAN          cv0 -> the reply back on gw1 (forwarding, V's answer)
#   gateway fwd  gw1 -> cv0 (the reply routed into TUN)
#   gateway out  cv0 -> gw0 (culvertd read it and sent it)
#   client in    gw0 -> U's cv0 (wire, and culvertd U wrote it into TUN)
#
# and prints the median of each, the median TUN-to-TUN time, and ping's
# own mean RTT (which adds ping's wakeup). The first packet of a round trip
# after an idle gap wakes a sleeping culvertd on an idle CPU: compare
# INTERVAL 0.05 (the bench's ping) with 0.002.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
PINGS=${1:-40}
INTERVAL=${2:-0.05}
shift 2 2>/dev/null || shift $#
(($#)) || set -- udp tls dtls
export CULVERTD=${CULVERTD:-$here/../src/culvertd}
export CULVERTCTL=${CULVERTCTL:-$here/../src/culvertctl}
export CULVERT_PLUGIN_DIR=${CULVERT_PLUGIN_DIR:-$here/../plugins}
export LAB_ID=hops-$$
# shellcheck source=tests/net/lab.sh
. "$here/../tests/net/lab.sh"
lab_require
command -v tcpdump >/dev/null || { echo "tcpdump not found: apt-get install tcpdump" >&2; exit 77; }

# Seven hops from the five captures, read from stdin as lines
# "TAG EPOCH TEXT"; arguments: U's and the gateway's public addresses.
HOPS_PY=$(cat <<'EOF'
import re, statistics, sys
u_pub, gw_pub = sys.argv[1], sys.argv[2]
ev = []
for line in sys.stdin:
    tag, ts, text = line.split(" ", 2)
    ev.append((float(ts), tag, text))
ev.sort()
def outer(text, src, dst):
    return f"IP {src}." in text and f" > {dst}." in text
def next_outer(tag, src, dst, t):
    for ts, g, text in ev:
        if ts >= t and g == tag and outer(text, src, dst):
            return ts
def icmp(tag, kind, seq):
    for ts, g, text in ev:
        if g == tag and f"ICMP echo {kind}" in text and f"seq {seq}," in text:
            return ts
seqs = sorted({int(m.group(1)) for _, g, t in ev if g == "u_cv0"
               for m in [re.search(r"echo request.*seq (\d+),", t)] if m})
names = ["client out", "wire", "gateway in", "LAN", "gateway fwd",
         "gateway out", "client in", "TUN to TUN"]
rows = []
for s in seqs:
    t1 = icmp("u_cv0", "request", s)
    t2 = t1 and next_outer("u_u0", u_pub, gw_pub, t1)
    t3 = t2 and next_outer("gw_gw0", u_pub, gw_pub, t2)
    t4 = icmp("gw_cv0", "request", s)
    t5 = icmp("gw_gw1", "reply", s)
    t6 = icmp("gw_cv0", "reply", s)
    t7 = t6 and next_outer("gw_gw0", gw_pub, u_pub, t6)
    t8 = icmp("u_cv0", "reply", s)
    t = [t1, t2, t3, t4, t5, t6, t7, t8]
    if all(t) and t == sorted(t):
        rows.append([b - a for a, b in zip(t, t[1:])] + [t8 - t1])
if not rows:
    print("no complete round trip in the captures"); sys.exit(1)
med = [statistics.median(c) * 1e6 for c in zip(*rows)]
print(f"{len(rows)} round trips; medians in microseconds:")
print("  " + "  ".join(f"{n} {m:.0f}" for n, m in zip(names, med)))
EOF
)
hops() { python3 -c "$HOPS_PY" "$@"; }

# tcpdump without --immediate-mode (unlike lab_capture): woken per
# buffer, not per packet, so that watching adds no wakeups to the trip.
CAPS=()
cap() {   # cap NAME NS DEV FILTER...
	local name=$1 ns=$2 dev=$3 i
	shift 3
	ip netns exec "$ns" timeout 120 tcpdump -i "$dev" -n -s 128 -Z root \
		-w "$LAB_TMP/$name.pcap" "$@" >"$LAB_TMP/$name.tcpdump" 2>&1 </dev/null &
	CAPS+=("$!")
	lab_bg "$!"
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$LAB_TMP/$name.tcpdump" && return 0
		sleep 0.05
	done
	fail "tcpdump $name did not start: $(cat "$LAB_TMP/$name.tcpdump")"
}

run() {   # run TRANSPORT
	local t=$1 rtt
	lab_tunnel "$t"
	lab_ping 3 >/dev/null
	# Outer packets bigger than a bare TCP acknowledgement only.
	cap u_cv0 "$LAB_U" cv0 icmp
	cap u_u0 "$LAB_U" u0 greater 100
	cap gw_gw0 "$LAB_GW" gw0 greater 100
	cap gw_cv0 "$LAB_GW" cv0 icmp
	cap gw_gw1 "$LAB_GW" gw1 icmp
	rtt=$(ip netns exec "$LAB_U" ping -q -c "$PINGS" -i "$INTERVAL" "$LAB_V_LAN" 2>/dev/null |
		sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	sleep 1.5   # tcpdump's kernel buffer hands over its last block
	local c
	for c in "${CAPS[@]}"; do kill -TERM "$c"; wait "$c"; done
	CAPS=()
	echo "$t: ping every ${INTERVAL}s, mean RTT ${rtt:-?} ms"
	for c in u_cv0 u_u0 gw_gw0 gw_cv0 gw_gw1; do
		tcpdump -r "$LAB_TMP/$c.pcap" -n -tt --nano 2>/dev/null | sed "s/^/$c /"
	done | hops "$LAB_U_PUB" "$LAB_GW_PUB"
	lab_down
}

for t; do
	run "$t"
	LAB_NAMES=() LAB_PID=() LAB_START=() LAB_BG=()
	LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-$LAB_ID.XXXXXX")
done
