#!/usr/bin/env bash
# udp_gso.sh - UDP sent with GSO (UDP_SEGMENT, as QUIC stacks send) crosses
# the tunnel (hosts: the drawing in lab.sh). tests/net/udp_gso.py sends
# 10 bursts of 40 datagrams of 1200 bytes (the last of each shorter), one
# sendmsg() per burst, from U to V and from V to U; the receiver checks
# that every datagram arrived once, intact (its kernel drops a datagram
# whose UDP checksum is wrong, so arrival proves the checksum too).
#  - tls: both TUN devices have USO (Linux 6.2), so each burst leaves the
#    sender's TUN as one large UDP segment, crosses whole (DATA_GSO of gso
#    type UDP_L4: udp_gso_tx) and enters the far TUN whole (udp_gso_rx);
#    the client logs that UDP crosses whole too, and culvertctl show says so.
#  - dtls and udp: a datagram transport carries one datagram per message:
#    each burst still leaves the TUN whole, and culvertd splits it into
#    datagrams with their checksums left to the far kernel
#    (udp_gso_split); nothing crosses whole, but the far culvertd joins
#    them again into one write into its TUN (gro_joined).
#  - tls with a client without offloads (offload = no, as an older peer):
#    V's bursts reach the gateway whole and the gateway splits them for
#    the client with every UDP checksum computed in software, which U's
#    kernel verifies.
# About 25 s.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
BURSTS=10
PER=40
PORT=5000

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 not found (the UDP sender)"
[[ $(uname -r) =~ ^([0-9]+)\.([0-9]+) ]] &&
	((BASH_REMATCH[1] > 6 || (BASH_REMATCH[1] == 6 && BASH_REMATCH[2] >= 2))) ||
	skip "Linux $(uname -r) has no USO on TUN (6.2 has it)"

# what each side counted, for a failure's message
sides() {
	local name k out=""
	for name in u gw; do
		lab_counters "$name" || continue
		out+="$name:"
		for k in tx_packets rx_packets udp_gso_tx udp_gso_split udp_gso_rx no_route too_big tun_full malformed; do
			out+=" $k=${LAB_COUNTERS[$k]:-}"
		done
		out+="; "
	done
	echo "$out"
}

# gso_pass WHAT FROM TO ADDR : the bursts from FROM to ADDR in TO, all
# datagrams intact, or fail
gso_pass() {
	local what=$1 from=$2 to=$3 addr=$4 out=$LAB_TMP/recv-$PORT rpid status
	PORT=$((PORT + 1))
	ip netns exec "$(lab__ns "$to")" timeout 60 python3 "$lab__dir/udp_gso.py" \
		recv "$addr" "$PORT" $((BURSTS * PER)) 3 </dev/null >"$out" 2>&1 &
	rpid=$!
	lab_bg "$rpid"
	lab__wait 5 grep -q listening "$out" || fail "$what: the receiver did not start: $(cat "$out")"
	in_ns "$from" timeout 30 python3 "$lab__dir/udp_gso.py" send "$addr" "$PORT" \
		"$BURSTS" 1200 "$PER" >"$out.send" 2>"$out.err" ||
		fail "$what: the sender failed: $(cat "$out.err")"
	wait "$rpid"
	status=$?
	((status == 0)) ||
		fail "$what: not every datagram arrived intact (expected $((BURSTS * PER))): $(tail -n 1 "$out"); $(sides)"
	ok "$what: $(tail -n 1 "$out") in ${BURSTS} UDP_SEGMENT sends ($(cat "$out.send") s)"
}

# both T [K=V...] : a fresh lab over T, U -> V and V -> U, the counters
# of both sides in GW and U
both() {
	local t=$1
	lab_tunnel "$@"
	gso_pass "$t: U -> V" u v "$LAB_V_LAN"
	gso_pass "$t: V -> U" v u "$(lab_inner u)"
	lab_counters_as gw GW || fail "$t: no counters from the gateway"
	lab_counters_as u U || fail "$t: no counters from the client"
	for side in GW U; do
		local -n c=$side
		((${c[malformed]:-1} == 0)) || fail "$t: $side counts malformed=${c[malformed]:-}"
	done
}

both tls
grep -q 'USO (large TCP and UDP segments)' "${LAB_LOG[u]}" ||
	fail "tls: the client did not log that its TUN has USO"
grep -q 'large TCP segments cross tls whole (offload), and UDP ones too (USO)' "${LAB_LOG[u]}" ||
	fail "tls: the client did not log that UDP crosses whole"
# Each burst is one large segment from the sender's TUN, unless the
# sending kernel split one (a few may be, under load).
((${U[udp_gso_tx]:-0} >= BURSTS / 2 && ${GW[udp_gso_rx]:-0} >= BURSTS / 2)) ||
	fail "tls: U -> V whole: client udp_gso_tx ${U[udp_gso_tx]:-}, gateway udp_gso_rx ${GW[udp_gso_rx]:-} (expected >= $((BURSTS / 2)))"
((${GW[udp_gso_tx]:-0} >= BURSTS / 2 && ${U[udp_gso_rx]:-0} >= BURSTS / 2)) ||
	fail "tls: V -> U whole: gateway udp_gso_tx ${GW[udp_gso_tx]:-}, client udp_gso_rx ${U[udp_gso_rx]:-} (expected >= $((BURSTS / 2)))"
((${U[udp_gso_split]:-1} == 0 && ${GW[udp_gso_split]:-1} == 0)) ||
	fail "tls: large UDP segments split: client ${U[udp_gso_split]:-}, gateway ${GW[udp_gso_split]:-} (expected 0)"
in_ns gw "$CULVERTCTL" -c "$LAB_TMP/gw.conf" show alice >"$LAB_TMP/show.out" 2>&1
grep -q 'large segments whole: yes (TCP and UDP)' "$LAB_TMP/show.out" ||
	fail "tls: culvertctl show does not say UDP crosses whole: $(cat "$LAB_TMP/show.out")"
ok "tls: large UDP segments crossed whole (U -> V ${U[udp_gso_tx]} sent, ${GW[udp_gso_rx]} into the gateway's TUN; V -> U ${GW[udp_gso_tx]} sent, ${U[udp_gso_rx]} into U's)"

for t in dtls udp; do
	lab_again
	both "$t"
	((${U[udp_gso_split]:-0} >= BURSTS / 2 && ${GW[udp_gso_split]:-0} >= BURSTS / 2)) ||
		fail "$t: large UDP segments split: client ${U[udp_gso_split]:-}, gateway ${GW[udp_gso_split]:-} (expected >= $((BURSTS / 2)))"
	((${U[udp_gso_tx]:-1} + ${GW[udp_gso_tx]:-1} + ${U[udp_gso_rx]:-1} + ${GW[udp_gso_rx]:-1} == 0)) ||
		fail "$t: large UDP segments crossed whole a datagram transport: tx ${U[udp_gso_tx]:-}/${GW[udp_gso_tx]:-}, rx ${U[udp_gso_rx]:-}/${GW[udp_gso_rx]:-}"
	((${U[csum_left]:-0} >= ${U[udp_gso_split]} * PER)) ||
		fail "$t: the client left ${U[csum_left]:-} checksums to the gateway's kernel (expected >= $((${U[udp_gso_split]} * PER)))"
	# Joined again before TUN: most of each burst's 40 datagrams.
	((${GW[gro_joined]:-0} >= BURSTS * PER / 2 && ${U[gro_joined]:-0} >= BURSTS * PER / 2)) ||
		fail "$t: datagrams joined before TUN: gateway ${GW[gro_joined]:-}, client ${U[gro_joined]:-} (expected >= $((BURSTS * PER / 2)))"
	ok "$t: large UDP segments read whole and split (client ${U[udp_gso_split]}, gateway ${GW[udp_gso_split]}), checksums left to the far side, joined again (gateway ${GW[gro_joined]}, client ${U[gro_joined]})"
done

# A client without offloads: it takes neither large segments nor
# checksums left to do, so the gateway computes every datagram's.
lab_again
both tls offload=no
grep -q 'and UDP ones too' "${LAB_LOG[u]}" &&
	fail "tls, offload = no: the client says UDP crosses whole"
((${GW[udp_gso_split]:-0} >= BURSTS / 2 && ${GW[udp_gso_tx]:-1} == 0)) ||
	fail "tls, offload = no: the gateway split ${GW[udp_gso_split]:-} and sent ${GW[udp_gso_tx]:-} whole (expected >= $((BURSTS / 2)) and 0)"
((${GW[csum_left]:-1} == 0)) ||
	fail "tls, offload = no: the gateway left ${GW[csum_left]:-} checksums to a client that cannot take them"
ok "tls, client with offload = no: the gateway split ${GW[udp_gso_split]} large UDP segments with every checksum done; all arrived"
