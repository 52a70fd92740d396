#!/usr/bin/env bash
# diagnose.sh - `culvertctl diagnose` on the lab over udp. On the healthy
# lab it finds nothing wrong on either side (exit 0, no "problem:"). Then
# each mistake that makes the lab fail for newcomers is made in the
# namespaces; diagnose must name it (exit 1) with its fix, the first fix
# command is run as printed, and diagnose must be content again:
#   gateway: IPv4 forwarding off; strict rp_filter; an nftables rule that
#            drops the listen port; a forward chain that drops by policy
#   client:  a local route that takes part of the pushed network; a path
#            MTU too small for the tunnel's; the daemon not running
# Drawing of the lab: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
command -v nft >/dev/null || skip "nft not found: install nftables"
[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || {
	echo "CULVERTCTL is not set to an executable (it is '${CULVERTCTL:-}'): run this through make check" >&2
	exit 99
}
lab_up
lab_forwarding on
lab_write_configs
GW_CONF=$LAB_TMP/gw.conf
U_CONF=$LAB_TMP/u.conf

lab_start gw gw "$GW_CONF"
lab_wait_log gw 'listening on' 10 || fail "gateway did not start listening"
lab_start u u "$U_CONF"
lab_wait_log u 'tunnel up' 10 || fail "client did not log 'tunnel up' within 10 s"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V: $LAB_PING_RECEIVED of 3 replies on the healthy lab"

# diagnose NS CONF : culvertctl diagnose in NS; DIAG_RC, and the output in
# $LAB_TMP/diag.out (stdout) and diag.err
diagnose() {
	in_ns "$1" "$CULVERTCTL" -c "$2" diagnose >"$LAB_TMP/diag.out" 2>"$LAB_TMP/diag.err"
	DIAG_RC=$?
}
diag_fail() {
	fail "$*; diagnose said (exit $DIAG_RC):
$(cat "$LAB_TMP/diag.out" "$LAB_TMP/diag.err")"
}

# healthy NS CONF WHAT : exit 0 and no "problem:" line
healthy() {
	diagnose "$1" "$2"
	grep -q '^problem:' "$LAB_TMP/diag.out" && diag_fail "$3: diagnose reports a problem"
	((DIAG_RC == 0)) || diag_fail "$3: diagnose exits $DIAG_RC"
	grep -q '^no problems found$' "$LAB_TMP/diag.out" || diag_fail "$3: no summary line"
	ok "$3: diagnose in $1 finds no problem"
}

# problem NS CONF PROBLEM-ERE FIX-ERE WHAT : exit 1, a "problem:" line
# matching PROBLEM-ERE followed by a "fix:" line matching FIX-ERE; that
# fix command is kept in DIAG_FIX
problem() {
	local ns=$1 conf=$2 pre=$3 fre=$4 what=$5
	diagnose "$ns" "$conf"
	((DIAG_RC == 1)) || diag_fail "$what: diagnose exits $DIAG_RC, not 1"
	DIAG_FIX=$(awk -v pre="^problem: .*$pre" '
		found && /^fix: / { sub(/^fix: /, ""); print; exit }
		$0 ~ pre { found = 1 }' "$LAB_TMP/diag.out")
	[[ -n $DIAG_FIX ]] || diag_fail "$what: no 'problem: ...$pre' with a 'fix:' line"
	[[ $DIAG_FIX =~ $fre ]] || diag_fail "$what: the fix is '$DIAG_FIX', not /$fre/"
	ok "$what: diagnose names it, fix: $DIAG_FIX"
}

# run_fix NS : run the fix that problem() kept, as printed, in NS
run_fix() {
	in_ns "$1" sh -c "$DIAG_FIX" || fail "the fix '$DIAG_FIX' failed in $1"
}

healthy gw "$GW_CONF" "healthy gateway"
grep -q "^note: hosts on $LAB_LAN_NET need a route back to the pool $LAB_POOL" "$LAB_TMP/diag.out" &&
	grep -qx "    ip route add $LAB_POOL via $LAB_GW_LAN" "$LAB_TMP/diag.out" ||
	diag_fail "no reminder that V needs 'ip route add $LAB_POOL via $LAB_GW_LAN'"
ok "the gateway reminds that hosts on $LAB_LAN_NET need: ip route add $LAB_POOL via $LAB_GW_LAN"
grep -q '^ok: culvertd answers on .*, 1 session$' "$LAB_TMP/diag.out" ||
	diag_fail "the gateway's daemon check does not count its one session"
ok "the gateway's culvertd answers, with its one session"
healthy u "$U_CONF" "healthy client"
grep -q "^ok: culvertd answers on .*, its tunnel to .* is up$" "$LAB_TMP/diag.out" ||
	diag_fail "the client's daemon check does not see its tunnel up"
ok "the client's culvertd answers, its tunnel up"

# --- gateway: forwarding off
lab_forwarding off
problem gw "$GW_CONF" 'IPv4 forwarding is off' '^sysctl -w net\.ipv4\.ip_forward=1$' "forwarding off"
run_fix gw
healthy gw "$GW_CONF" "forwarding back on"

# --- gateway: strict reverse-path filtering, from conf/all
in_ns gw sysctl -qw net.ipv4.conf.all.rp_filter=1 || fail "cannot set rp_filter in the gateway"
problem gw "$GW_CONF" 'strict reverse-path filtering on cv0' \
	'^sysctl -w net\.ipv4\.conf\.cv0\.rp_filter=2$' "strict rp_filter on the gateway's cv0"
problem gw "$GW_CONF" 'strict reverse-path filtering on gw1' \
	'^sysctl -w net\.ipv4\.conf\.gw1\.rp_filter=2$' "strict rp_filter on the gateway's LAN side (gw1)"
in_ns gw sysctl -qw net.ipv4.conf.all.rp_filter=0 || fail "cannot reset rp_filter in the gateway"
healthy gw "$GW_CONF" "rp_filter back to off"

# --- gateway: an nftables rule dropping the listen port
in_ns gw nft -f - <<-EOF || fail "cannot load the nftables drop rule in the gateway"
	table inet cvt_test {
		chain input {
			type filter hook input priority 0; policy accept;
			ct state invalid drop
			udp dport $LAB_PORT counter drop
		}
	}
EOF
problem gw "$GW_CONF" "nftables: rule handle [0-9]+ in chain input of table inet cvt_test drops udp port $LAB_PORT" \
	"^nft insert rule inet cvt_test input udp dport $LAB_PORT accept\$" "nftables drop rule on udp port $LAB_PORT"
run_fix gw
healthy gw "$GW_CONF" "the listen port accepted before the drop rule"
in_ns gw nft delete table inet cvt_test || fail "cannot delete the test table"

# --- gateway: a forward chain whose policy drops, with no rule for the tunnel
in_ns gw nft -f - <<-EOF || fail "cannot load the nftables forward chain in the gateway"
	table inet cvt_test {
		chain forward {
			type filter hook forward priority 0; policy drop;
		}
	}
EOF
problem gw "$GW_CONF" "the drop policy of chain forward of table inet cvt_test drops what clients" \
	"^nft insert rule inet cvt_test forward iifname cv0 ip saddr ${LAB_POOL//./\\.} accept\$" \
	"forward policy drop, going out"
run_fix gw
problem gw "$GW_CONF" "the drop policy of chain forward of table inet cvt_test drops the replies" \
	"^nft insert rule inet cvt_test forward oifname cv0 ip daddr ${LAB_POOL//./\\.} ct state established,related accept\$" \
	"forward policy drop, coming back"
run_fix gw
healthy gw "$GW_CONF" "the tunnel's traffic accepted in the forward chain"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V after diagnose's nft fixes: $LAB_PING_RECEIVED of 3 replies"
ok "U reaches V through the forward chain with diagnose's two rules"
in_ns gw nft delete table inet cvt_test || fail "cannot delete the test table"

# --- client: a more specific local route in main takes nothing from the
# tunnel, whose routes are in culvert's own table, chosen first
in_ns u ip route add 198.51.100.0/25 via "$LAB_GW_PUB" dev u0 || fail "cannot add the conflicting route"
healthy u "$U_CONF" "a more specific route in main (the tunnel's table comes first)"
in_ns u ip route get "$LAB_V_LAN" | grep -q "dev $LAB_DEV" ||
	fail "with 198.51.100.0/25 in main, V is not reached through $LAB_DEV: $(ip -n "$LAB_U" route get "$LAB_V_LAN")"
ok "with 198.51.100.0/25 via u0 in main, V is still reached through $LAB_DEV"
in_ns u ip route del 198.51.100.0/25 via "$LAB_GW_PUB" dev u0 || fail "cannot remove the route"

# --- client: the path to the gateway takes less than cv0's MTU + framing
in_ns u ip link set dev u0 mtu 1400 || fail "cannot lower u0's MTU"
problem u "$U_CONF" "cv0's MTU 1400 \+ 29 bytes of udp framing = 1429 is more than the 1400 bytes u0 takes" \
	'^ip link set dev cv0 mtu 1371 ' "path MTU below the tunnel's"
run_fix u
healthy u "$U_CONF" "cv0's MTU lowered to fit"
in_ns u ip link set dev u0 mtu 1500 || fail "cannot restore u0's MTU"

# --- gateway: transports whose plugins do not say what they add on the
# wire: one with the first release's table (its size ends before `wire`,
# and what lies after it would crash if read), one that does not load.
# Each gets a note, their MTU and firewall checks are skipped, and
# diagnose goes on.
sed -e 's/^transport *=.*/transport = oldtable, wrongabi/' \
	-e "s|^plugin-dir *=.*|plugin-dir = $CULVERT_TEST_PLUGIN_DIR|" "$GW_CONF" >"$LAB_TMP/gw-old.conf"
diagnose gw "$LAB_TMP/gw-old.conf"
grep -q "^note: transport oldtable: its plugin does not say what it adds on the wire" "$LAB_TMP/diag.out" ||
	diag_fail "no note that oldtable's plugin does not say what it adds on the wire"
grep -q "^note: transport wrongabi: its plugin did not load from $CULVERT_TEST_PLUGIN_DIR" "$LAB_TMP/diag.out" ||
	diag_fail "no note that wrongabi's plugin did not load"
grep -q '^no problems found$' "$LAB_TMP/diag.out" && ((DIAG_RC == 0)) ||
	diag_fail "diagnose did not finish cleanly with plugins that say nothing of the wire"
grep -Eq 'framing|nftables lets|port [0-9]+ comes in' "$LAB_TMP/diag.out" &&
	diag_fail "diagnose checked the MTU or firewall of a transport it knows nothing of"
ok "a plugin without 'wire' in its table, and one that does not load, get a note each; diagnose goes on"

# --- client: the daemon not running
lab_stop u 10 || fail "the client did not stop cleanly"
problem u "$U_CONF" "culvertd is not running" "^culvertd -c ${U_CONF//./\\.}\$" "client daemon stopped"
lab_alive gw || fail "the gateway died during the test"
