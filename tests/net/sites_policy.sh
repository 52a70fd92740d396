#!/usr/bin/env bash
# sites_policy.sh - per-client policy on the sites topology (drawing:
# lab.sh, "Sites"), over tls, auth = certificate: the routers' groups and
# networks from client-config-dir, the road warriors' groups from their
# certificates' OU (cert-group = ou).
#   - refusals at --check-config, naming file, line and the other party:
#     overlapping networks of two clients, a network over the pool, one
#     holding the gateway's own address, a static address outside the pool
#     or given twice, a network in a group's file; a reload with one of
#     them is refused and every session stays
#   - a reload that adds site C: R3 comes up with its network, X reaches Z,
#     and X's ping to Y running all along loses nothing
#   - R1 sends from site C's network, or from nobody's: dropped, counted
#     (spoofed_network, spoofed_source), nothing reaches Z (captured there)
#   - sales (restrict-to-routes) cannot reach Z, which only engineering is
#     routed to, even with a route of its own: counted (outside_routes),
#     nothing reaches Z; engineering can
#   - a reload that changes R1's routes ends R1's session, which comes back
#     with them; one that turns restrict-to-routes off for sales updates
#     sam's session in place, and sam reaches Z
#   - nothing left behind
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
command -v tcpdump >/dev/null || skip "tcpdump not found: install tcpdump"
lab_sites_up
lab_add_client 4 u4
lab_pki "$LAB_TMP/pki"
lab_pki_client r1
lab_pki_client r3
lab_pki_client eve engineering
lab_pki_client sam sales

CCD=$LAB_TMP/clients GROUP_DIR=$LAB_TMP/groups
mkdir -p "$CCD" "$GROUP_DIR"
cat >"$LAB_TMP/gw.conf" <<EOF
mode      = server
transport = tls
listen    = $LAB_GW_EP
device    = $LAB_DEV
pool      = 203.0.113.0/24
route     = 198.18.2.0/24
cert      = $LAB_PKI/server.crt
key       = $LAB_PKI/server.key
ca        = $LAB_PKI/ca.crt
auth      = certificate
cert-group = ou
client-config-dir = $CCD
group-config-dir  = $GROUP_DIR
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
printf '%s\n' 'network = 198.18.1.0/24' 'group = sites' >"$CCD/r1"
printf '%s\n' 'route = 198.18.0.0/16' >"$GROUP_DIR/sites"
printf '%s\n' 'route = 198.18.3.0/24' >"$GROUP_DIR/engineering"
printf '%s\n' '# sales reaches site B, and only where its routes lead' \
	'restrict-to-routes = yes' >"$GROUP_DIR/sales"

# ---- refusals at --check-config
check() {   # check : --check-config in the gateway's namespace; CHECK_RC, CHECK_OUT
	CHECK_OUT=$(ip netns exec "$LAB_GW" "$CULVERTD" -c "$LAB_TMP/gw.conf" --check-config 2>&1)
	CHECK_RC=$?
}
refused() {   # refused FILE CONTENT ERE WHAT : FILE with CONTENT is refused, saying ERE
	local file=$1 content=$2 ere=$3 what=$4
	printf '%s\n' "$content" >"$file"
	check
	rm -f "$file"
	((CHECK_RC != 0)) || fail "$what: --check-config accepted it"
	grep -Eq -- "$ere" <<<"$CHECK_OUT" || fail "$what: no /$ere/ in: $CHECK_OUT"
	ok "$what: $(grep -E -- "$ere" <<<"$CHECK_OUT" | head -n 1 | sed 's/^[0-9:.]* //')"
}
check
((CHECK_RC == 0)) || fail "the gateway's config does not pass --check-config: $CHECK_OUT"
refused "$CCD/r9" 'network = 198.18.1.128/25' \
	"$CCD/r9:1: network 198\.18\.1\.128/25 overlaps network 198\.18\.1\.0/24 of 'r1' \($CCD/r1:1\)" \
	"overlapping networks of two clients"
refused "$CCD/r9" $'# over the pool\nnetwork = 203.0.113.128/25' \
	"$CCD/r9:2: network 203\.0\.113\.128/25 overlaps pool 203\.0\.113\.0/24" \
	"a network over the pool"
refused "$CCD/r9" 'network = 198.18.2.0/24' \
	"$CCD/r9:1: network 198\.18\.2\.0/24 holds 198\.18\.2\.1, an address of this gateway \(on lan\)" \
	"a network holding the gateway's own address"
refused "$CCD/r9" 'address = 198.51.100.7' \
	"$CCD/r9:1: address 198\.51\.100\.7 is not a client address of pool 203\.0\.113\.0/24" \
	"a static address outside the pool"
printf '%s\n' 'address = 203.0.113.11' >"$CCD/r8"
refused "$CCD/r9" 'address = 203.0.113.11' \
	"$CCD/r9:1: address 203\.0\.113\.11 is given to 'r8' too \($CCD/r8:1\)" \
	"a static address given twice"
rm -f "$CCD/r8"
refused "$GROUP_DIR/lab" 'network = 198.18.9.0/24' \
	"$GROUP_DIR/lab:1: key 'network' belongs in a client's file, not a group's" \
	"a network in a group's file"

# ---- the running gateway
lab_client_conf "$LAB_TMP/r1.conf" "cert=$LAB_PKI/r1.crt" "key=$LAB_PKI/r1.key"
lab_client_conf "$LAB_TMP/r3.conf" "cert=$LAB_PKI/r3.crt" "key=$LAB_PKI/r3.key"
lab_client_conf "$LAB_TMP/eve.conf" "cert=$LAB_PKI/eve.crt" "key=$LAB_PKI/eve.key"
lab_client_conf "$LAB_TMP/sam.conf" "cert=$LAB_PKI/sam.crt" "key=$LAB_PKI/sam.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not listen within 10 s"
lab_start r1 r1 "$LAB_TMP/r1.conf"
lab_start eve u "$LAB_TMP/eve.conf"
lab_start sam u4 "$LAB_TMP/sam.conf"
for n in r1 eve sam; do
	lab_wait_log "$n" 'tunnel up' 15 || fail "$n: no 'tunnel up' within 15 s"
done
lab_wait_log gw 'session sam up .*; group sales' 5 || fail "sam is not in group sales (its OU)"
lab_wait_log gw 'session eve up .*; group engineering' 5 || fail "eve is not in group engineering (its OU)"
ok "R1, eve and sam are up; eve and sam in the groups of their certificates' OU"
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }

# ---- a reload adds site C while X pings Y
in_ns x timeout 30 ping -c 100 -i 0.1 -W 2 198.18.2.10 >"$LAB_TMP/xy.ping" 2>&1 &
xy=$!
lab_bg "$xy"
sleep 1
printf '%s\n' 'network = 198.18.3.0/24' 'group = sites' >"$CCD/r3"
refused "$CCD/r9" 'network = 198.18.3.0/25' "overlaps network 198\.18\.3\.0/24 of 'r3'" \
	"with r3 in place, a network inside its"
printf '%s\n' 'network = 198.18.3.0/25' >"$CCD/r9"
ctl reload >/dev/null 2>&1 && fail "a reload with overlapping networks was accepted"
lab_wait_log gw "$CCD/r9:1: network 198\.18\.3\.0/25 overlaps" 5 || fail "the refused reload did not say why"
rm -f "$CCD/r9"
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_start r3 r3 "$LAB_TMP/r3.conf"
lab_wait_log r3 'tunnel up' 15 || fail "R3: no 'tunnel up' within 15 s"
lab_ping 3 x 198.18.3.10
((LAB_PING_RECEIVED == 3)) || fail "after the reload X reaches Z $LAB_PING_RECEIVED of 3 times"
wait "$xy"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$LAB_TMP/xy.ping")
((got == 100)) || fail "X's ping to Y lost $((100 - ${got:-0})) of 100 across the reloads: $(tail -n 3 "$LAB_TMP/xy.ping")"
grep -q 'session r1 ended' "${LAB_LOG[gw]}" && fail "R1's session ended across a reload that did not touch it"
ok "a reload added site C: X reaches Z, and X's 100 pings to Y across both reloads all came back"

# ---- spoofed sources from R1, captured on Z
lab_capture z z h0 icmp
lab_counters gw || fail "no counters from the gateway"
net0=${LAB_COUNTERS[spoofed_network]:-0} src0=${LAB_COUNTERS[spoofed_source]:-0}
ip -n "$(lab__ns r1)" addr add 198.18.3.77/32 dev lo
ip -n "$(lab__ns r1)" addr add 198.18.9.9/32 dev lo
in_ns r1 timeout 10 ping -c 5 -i 0.1 -W 1 -I 198.18.3.77 198.18.3.10 >/dev/null 2>&1
in_ns r1 timeout 10 ping -c 5 -i 0.1 -W 1 -I 198.18.9.9 198.18.3.10 >/dev/null 2>&1
lab_ping 2 x 198.18.3.10   # the control: what may pass is captured
lab_capture_stop z
lab_counters gw || fail "no counters from the gateway"
((LAB_COUNTERS[spoofed_network] >= net0 + 5 && LAB_COUNTERS[spoofed_source] >= src0 + 5)) ||
	fail "spoofed_network $net0 -> ${LAB_COUNTERS[spoofed_network]}, spoofed_source $src0 -> ${LAB_COUNTERS[spoofed_source]}"
spoofed=$(tcpdump -r "$LAB_TMP/z.pcap" -n 'src 198.18.3.77 or src 198.18.9.9' 2>/dev/null | wc -l)
control=$(tcpdump -r "$LAB_TMP/z.pcap" -n 'src 198.18.1.10' 2>/dev/null | wc -l)
((spoofed == 0 && control >= 2)) || fail "Z saw $spoofed spoofed packets and $control of X's"
ok "R1 sending from site C's network (or nobody's): counted (spoofed_network +$((LAB_COUNTERS[spoofed_network] - net0)), spoofed_source +$((LAB_COUNTERS[spoofed_source] - src0))), nothing reached Z"

# ---- sales cannot reach what only engineering is routed to
SAM=$(lab_inner u4)
lab_ping 3 u4 198.18.2.10
((LAB_PING_RECEIVED == 3)) || fail "sam reaches Y $LAB_PING_RECEIVED of 3 times"
lab_ping 3 u 198.18.3.10
((LAB_PING_RECEIVED == 3)) || fail "eve (engineering) reaches Z $LAB_PING_RECEIVED of 3 times"
ip -n "$(lab__ns u4)" route add 198.18.3.0/24 dev "$LAB_DEV"
lab_capture z2 z h0 icmp
lab_counters gw
out0=${LAB_COUNTERS[outside_routes]:-0}
lab_ping 5 u4 198.18.3.10
lab_capture_stop z2
lab_counters gw
((LAB_PING_RECEIVED == 0 && LAB_COUNTERS[outside_routes] >= out0 + 5)) ||
	fail "sam reached Z $LAB_PING_RECEIVED times; outside_routes $out0 -> ${LAB_COUNTERS[outside_routes]}"
leaked=$(tcpdump -r "$LAB_TMP/z2.pcap" -n "src $SAM" 2>/dev/null | wc -l)
((leaked == 0)) || fail "Z saw $leaked packets from sam ($SAM)"
ok "sales (sam, $SAM), with a route of its own, cannot reach Z: outside_routes +$((LAB_COUNTERS[outside_routes] - out0)), nothing on Z; engineering can"

# ---- reloads that touch sessions
printf '%s\n' 'restrict-to-routes = no' >"$GROUP_DIR/sales"
printf '%s\n' 'network = 198.18.1.0/24' 'group = sites' 'route = 198.51.100.0/24' >"$CCD/r1"
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_wait_log gw 'session r1: the reload changed its routes' 5 || fail "R1's session was not ended for its new route"
lab_wait_log gw 'session sam: now in group sales, restrict-to-routes off' 5 ||
	fail "sam's session was not updated in place"
grep -q 'session sam ended' "${LAB_LOG[gw]}" && fail "sam's session ended for a change of restrict-to-routes"
lab_wait_log r1 'tunnel up: .*198\.51\.100\.0/24' 15 || fail "R1 did not come back with its new route"
lab_ping 3 u4 198.18.3.10
((LAB_PING_RECEIVED == 3)) || fail "sam, no longer restricted, reaches Z $LAB_PING_RECEIVED of 3 times"
lab_ping 3 x 198.18.3.10
((LAB_PING_RECEIVED == 3)) || fail "X reaches Z $LAB_PING_RECEIVED of 3 times after R1 came back"
ok "a reload ended R1's session for its new route (it came back with it), and let sam's be, updated in place"

# ---- nothing left behind
for n in sam eve r1 r3; do
	lab_stop "$n" || fail "$n did not stop cleanly"
done
left=$(ip -n "$LAB_GW" route show dev "$LAB_DEV")
grep -q '^198\.18' <<<"$left" && fail "the gateway still routes a site after every client left: $left"
lab_stop gw || fail "the gateway did not stop cleanly"
for ns in gw r1 r3 u u4 x y z; do
	left=$(lab_cv_routes "$ns")
	[[ -z $left ]] || fail "$ns: routes left behind: $left"
done
ok "no route through $LAB_DEV and no throw route is left in any namespace"
