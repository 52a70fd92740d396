#!/usr/bin/env bash
# dtls_replay.sh - DTLS records replayed or forged by someone on the path
# are dropped, counted and logged, and the session lives on.
#
# tcpdump on the gateway's public veth (gw0) records U's datagrams to the
# gateway: the handshake, then the records of a few pings. dtls_pcap.py
# sends them again, byte for byte, from U's own address and port (a raw IP
# socket in U's namespace: U's culvertd keeps its socket). The gateway must log
#   dtls: dropped N replayed records from 192.0.2.2:PORT (M on this link)
# with M = every replayed data record, a forged record (a fresh sequence
# number, a flipped bit) as
#   dropped 1 records from 192.0.2.2:PORT that failed authentication
# and the replayed handshake must not end or replace the session: the
# same session still pings V afterwards. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=dtls

lab_require
lab_require_tls "$T"
command -v tcpdump >/dev/null || skip "tcpdump not found: install tcpdump"
command -v python3 >/dev/null || skip "python3 not found: install python3"
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "transport=$T"
lab_client_conf "$LAB_TMP/u.conf" "transport=$T"

PCAP_PY=$(dirname "$0")/dtls_pcap.py   # reads the capture, sends datagrams again

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
lab_capture u2gw gw gw0 udp and src host "$LAB_U_PUB" and dst port "$LAB_PORT"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client did not log 'tunnel up' within 15 s"
grep -q "tunnel up.* over $T" "${LAB_LOG[u]}" || fail "the tunnel is not over $T"
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V before the replays: $LAB_PING_RECEIVED of 5 replies"
ok "tunnel up over $T, ping U -> V: $LAB_PING_RECEIVED of 5"
lab_capture_stop u2gw

python3 "$PCAP_PY" list "$LAB_TMP/u2gw.pcap" >"$LAB_TMP/list" 2>"$LAB_TMP/list.err" ||
	fail "cannot read the capture: $(cat "$LAB_TMP/list.err")"
# Handshake datagrams (plain, epoch 0) and data records (type 23, epoch 1).
mapfile -t hs < <(awk '$4 == 0 { print $1 }' "$LAB_TMP/list")
mapfile -t data < <(awk '$3 == 23 && $4 >= 1 { print $1 }' "$LAB_TMP/list")
port=$(awk '$3 == 23 { p = $2 } END { print p }' "$LAB_TMP/list")
((${#hs[@]} >= 2 && ${#data[@]} >= 6)) ||
	fail "the capture holds ${#hs[@]} handshake and ${#data[@]} data datagrams from U, expected 2+ and 6+: $(cat "$LAB_TMP/list")"
[[ $port =~ ^[0-9]+$ ]] || fail "no source port in the capture"
peer="192\.0\.2\.2:$port"
ok "captured U's handshake (${#hs[@]} datagrams) and ${#data[@]} data records, from $LAB_U_PUB:$port"
grep -q "replayed records" "${LAB_LOG[gw]}" && fail "the gateway logged replays before any: $(grep 'replayed records' "${LAB_LOG[gw]}")"

# Five data records once each, the last of them three more times: 8 replays.
replays=("${data[@]: -5}")
last=${replays[4]}
in_ns u python3 "$PCAP_PY" send "$LAB_TMP/u2gw.pcap" "$LAB_GW_PUB" 0 - \
	"${replays[@]}" "$last" "$last" "$last" || fail "cannot send the replays"
want=8
lab__deadline 10
for ((i = 0; i < 100; i++)); do
	total=$(grep -E "dropped [0-9]+ replayed records from $peer" "${LAB_LOG[gw]}" |
		sed -E 's/.*\(([0-9]+) on this link\).*/\1/' | sort -n | tail -n 1)
	((${total:-0} >= want)) && break
	lab__before || break
	sleep 0.1
done
((${total:-0} == want)) ||
	fail "the gateway counted '${total:-none}' replayed records from $LAB_U_PUB:$port, expected $want: $(grep -E 'replayed|dropped' "${LAB_LOG[gw]}")"
ok "gateway dropped and logged the $want replayed records: $(grep -E "replayed records from $peer" "${LAB_LOG[gw]}" | tail -n 1 | sed 's/^[0-9:.]* //')"

# A forged record, with a fresh sequence number: it fails authentication.
in_ns u python3 "$PCAP_PY" send "$LAB_TMP/u2gw.pcap" "$LAB_GW_PUB" 1 - "$last" ||
	fail "cannot send the forged record"
lab_wait_log gw "dropped 1 records from $peer that failed authentication" 5 ||
	fail "the gateway did not log the forged record: $(grep -E 'dropped' "${LAB_LOG[gw]}")"
ok "gateway dropped and logged the forged record: $(grep -E "from $peer that failed" "${LAB_LOG[gw]}" | tail -n 1 | sed 's/^[0-9:.]* //')"

# The whole handshake again, from U's address and port, while the session
# is up: at most a new handshake that cannot finish; never a new session,
# nor the end of this one.
in_ns u python3 "$PCAP_PY" send "$LAB_TMP/u2gw.pcap" "$LAB_GW_PUB" 0 - "${hs[@]}" ||
	fail "cannot replay the handshake"
sleep 1
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V after the replays: $LAB_PING_RECEIVED of 5 replies"
ok "ping U -> V after the replays: $LAB_PING_RECEIVED of 5"
lab_alive gw || fail "the gateway died"
lab_alive u || fail "the client died"
n=$(grep -c 'session alice up' "${LAB_LOG[gw]}")
((n == 1)) || fail "the gateway logged 'session alice up' $n times: the replays made a new session"
grep -qE 'session .* ended' "${LAB_LOG[gw]}" &&
	fail "a session ended on the gateway: $(grep -E 'session .* ended' "${LAB_LOG[gw]}")"
grep -qE 'session .* ended|cannot connect|reconnecting' "${LAB_LOG[u]}" &&
	fail "the client lost its session: $(grep -E 'ended|cannot connect|reconnecting' "${LAB_LOG[u]}")"
ok "the session lived through the replays: one 'session alice up', no end on either side"

lab_stop u || fail "client exited with status $? on SIGTERM"
lab_stop gw || fail "gateway exited with status $? on SIGTERM"
ok "both ends exit 0 on SIGTERM"
exit 0
