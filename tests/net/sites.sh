#!/usr/bin/env bash
# sites.sh - site to site through the gateway (drawing: lab.sh, "Sites").
# Site A (X behind R1), site B (Y on the gateway R2's LAN) and site C (Z
# behind R3), plus a road warrior U; over $CVT_TRANSPORT (tls; dtls by
# sites_dtls.sh). The gateway knows from its client-config-dir which
# network lies behind which client, and gives R1 a static address; the
# group of each comes from the password file (auth =
# certificate+password).
#   - X pings Y and Z, Y and Z ping X, U reaches Y and Z (engineering),
#     over IPv4 and IPv6; Y sees X's own address (no NAT)
#   - 20 MB X -> Z over TCP arrives whole (sha256)
#   - status shows each session's networks and group
#   - R3 gone: its network's route leaves the gateway; R3 back: it returns;
#     R1 killed and started again before its session timed out: the new
#     session takes its address and network over at once
#   - diagnose on R1 (tls run only): forwarding off, strict rp_filter on
#     its LAN, and a host of site A whose default route does not lead to
#     R1, each named with its fix
#   - nothing left behind: no route through cv0, no throw route, anywhere
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=${CVT_TRANSPORT:-tls}

lab_require
lab_require_tls "$T"
command -v python3 >/dev/null || skip "python3 not found"
lab_sites_up
lab_pki "$LAB_TMP/pki"
lab_pki_client r1
lab_pki_client r3

# ---- the gateway (R2), its per-client files, the password file
CCD=$LAB_TMP/clients GROUP_DIR=$LAB_TMP/groups PW=$LAB_TMP/users
mkdir -p "$CCD" "$GROUP_DIR"
cat >"$LAB_TMP/gw.conf" <<EOF
mode      = server
transport = tls, dtls
listen    = $LAB_GW_EP
device    = $LAB_DEV
pool      = 203.0.113.0/24
pool6     = 2001:db8:100::/64
route     = 198.18.2.0/24       # site B, the gateway's own LAN: for everyone
route     = 2001:db8:b::/48
cert      = $LAB_PKI/server.crt
key       = $LAB_PKI/server.key
ca        = $LAB_PKI/ca.crt
auth      = certificate+password
password-file = $PW
client-config-dir = $CCD
group-config-dir  = $GROUP_DIR
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
cat >"$CCD/r1" <<EOF
# site A's router
address = 203.0.113.11
address = 2001:db8:100::11
network = 198.18.1.0/24
network = 2001:db8:a::/48
EOF
cat >"$CCD/r3" <<EOF
# site C's router
network = 198.18.3.0/24
network = 2001:db8:c::/48
EOF
cat >"$GROUP_DIR/sites" <<EOF
# every site reaches every other: one route for all of them (each site's
# own stays local on its router)
route = 198.18.0.0/16
route = 2001:db8:a::/48
route = 2001:db8:c::/48
EOF
cat >"$GROUP_DIR/engineering" <<EOF
route = 198.18.3.0/24
route = 2001:db8:c::/48
EOF
lab_passwd "$PW" r1 r1-secret
lab_passwd "$PW" r3 r3-secret
lab_passwd "$PW" alice alice-secret
# culvertctl passwd --user-group: the group in the password file's third field
printf '%s\n' r1-secret | "$CULVERTCTL" passwd --user-group sites "$PW" r1 >/dev/null 2>&1 ||
	fail "culvertctl passwd --user-group sites"
printf '%s\n' r3-secret | "$CULVERTCTL" passwd --user-group sites "$PW" r3 >/dev/null 2>&1 ||
	fail "culvertctl passwd --user-group sites"
printf '%s\n' alice-secret | "$CULVERTCTL" passwd --user-group engineering "$PW" alice >/dev/null 2>&1 ||
	fail "culvertctl passwd --user-group engineering"
grep -q '^r1:\$.*:sites$' "$PW" || fail "the password file has no group for r1: $(cat "$PW")"

client() {   # client NAME NS : a client config with NAME's certificate and password
	printf '%s\n' "$1-secret" >"$LAB_TMP/$1.pass"
	chmod 600 "$LAB_TMP/$1.pass"
	lab_client_conf "$LAB_TMP/$1.conf" "transport=$T" \
		"cert=$LAB_PKI/$1.crt" "key=$LAB_PKI/$1.key" \
		"username=$1" "password-file=$LAB_TMP/$1.pass"
}
client r1
client r3
client alice

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "$T: listening" 10 || fail "the gateway did not listen within 10 s"
lab_start r1 r1 "$LAB_TMP/r1.conf"
lab_start r3 r3 "$LAB_TMP/r3.conf"
lab_start u u "$LAB_TMP/alice.conf"
for n in r1 r3 u; do
	lab_wait_log "$n" 'tunnel up' 15 || fail "$n: no 'tunnel up' within 15 s"
done
ok "R1, R3 and U are up over $T"

# ---- what the gateway holds
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }
json() {   # json PYTHON-EXPRESSION-ON-s : about the session of identity $SESSION
	ctl status --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/ctl.err" ||
		fail "status --json: $(cat "$LAB_TMP/ctl.err")"
	python3 -c "import json,sys
d=json.load(open(sys.argv[1]))
s=[x for x in d['sessions'] if x['identity']==sys.argv[2]][0]
print($1)" "$LAB_TMP/status.json" "$SESSION" ||
		fail "status --json: no session '$SESSION' as expected: $(cat "$LAB_TMP/status.json")"
}
SESSION=r1
[[ $(json "s['inner']") == 203.0.113.11 && $(json "s['inner6']") == 2001:db8:100::11 ]] ||
	fail "r1 has $(json "s['inner']") and $(json "s['inner6']"), not its static addresses"
[[ $(json "','.join(s['networks'])") == "198.18.1.0/24,2001:db8:a::/48" &&
	$(json "s['group']") == sites ]] ||
	fail "r1: networks $(json "s['networks']"), group $(json "s['group']")"
SESSION=alice
[[ $(json "s['group']") == engineering && $(json "len(s['networks'])") == 0 ]] ||
	fail "alice: group $(json "s['group']"), networks $(json "s['networks']")"
ctl status >"$LAB_TMP/status.txt" || fail "culvertctl status"
grep -A2 '^session r3:' "$LAB_TMP/status.txt" |
	grep -Eq '^  group: sites  networks: 198\.18\.3\.0/24 2001:db8:c::/48$' ||
	fail "the status line of r3 lacks its group and networks: $(cat "$LAB_TMP/status.txt")"
ok "status: r1 has its static addresses, networks and group; alice is in engineering"
gw_routes=$(ip -n "$LAB_GW" route show dev "$LAB_DEV"; ip -n "$LAB_GW" -6 route show dev "$LAB_DEV")
for net in 198.18.1.0/24 198.18.3.0/24 2001:db8:a::/48 2001:db8:c::/48; do
	grep -q "^$net " <<<"$gw_routes" || fail "the gateway has no route for $net via $LAB_DEV: $gw_routes"
done
ok "the gateway routes the sites' networks into $LAB_DEV"

# ---- traffic: pings both ways, IPv4 and IPv6
pings() {   # pings FROM TO... : lab_pings, then say so
	lab_pings "$@"
	ok "$1 reaches ${*:2}"
}
pings x 198.18.2.10 198.18.3.10 2001:db8:b:1::10 2001:db8:c:1::10
pings y 198.18.1.10 2001:db8:a:1::10
pings z 198.18.1.10 2001:db8:a:1::10
pings u 198.18.2.10 198.18.3.10

# Y sees X's own address: no NAT anywhere.
in_ns y timeout 10 socat -u TCP-LISTEN:5003,reuseaddr SYSTEM:'echo $SOCAT_PEERADDR' \
	>"$LAB_TMP/peer" 2>/dev/null &
lab_bg $!
lab__wait 5 ip netns exec "$(lab__ns y)" sh -c 'ss -Hltn "sport = :5003" | grep -q .' ||
	fail "socat on Y does not listen"
in_ns x timeout 5 socat -u - TCP:198.18.2.10:5003 </dev/null || fail "X cannot connect to Y"
lab__wait 5 test -s "$LAB_TMP/peer"
[[ $(cat "$LAB_TMP/peer") == 198.18.1.10 ]] || fail "Y saw '$(cat "$LAB_TMP/peer")', not X's 198.18.1.10"
ok "Y sees X's own address 198.18.1.10"

LAB_V=$(lab__ns z) LAB_V_LAN=198.18.3.10 lab_xfer 20 5001 x ||
	fail "20 MB X -> Z did not arrive whole"
ok "20 MB X -> Z over $T arrived whole in ${XFER_SECS}s (sha256 $XFER_RECV_SUM)"

# ---- sessions come and go, their routes with them
lab_stop r3 || fail "R3 did not stop cleanly"
lab__wait 5 sh -c "! ip -n $LAB_GW route show dev $LAB_DEV | grep -q '^198.18.3.0/24'" ||
	fail "R3 gone, the gateway still routes 198.18.3.0/24: $(ip -n "$LAB_GW" route show dev "$LAB_DEV")"
[[ -z $(lab_cv_routes r3) ]] || fail "R3 left routes behind: $(lab_cv_routes r3)"
lab_start r3b r3 "$LAB_TMP/r3.conf"
lab_wait_log r3b 'tunnel up' 15 || fail "R3 did not come back"
pings x 198.18.3.10
ok "R3 gone: its routes went with it; R3 back: they came back"

# R1 dies without a word; started again, its new session takes its static
# address and network over from the old one, which has not timed out. Over
# tls the kernel would close R1's connection for it: its last packets are
# dropped on the way out, as a crash that takes the host along would.
SESSION=r1
r1_port=$(json "s['outer'].rsplit(':', 1)[1]")
if [[ $T == tls ]]; then
	command -v nft >/dev/null || skip "nft not found: install nftables"
	in_ns r1 nft -f - <<-EOF || fail "cannot drop R1's last packets with nft"
		table inet cvt_sites {
			chain out {
				type filter hook output priority 0; policy accept;
				tcp sport $r1_port drop
			}
		}
	EOF
fi
kill -KILL "${LAB_PID[r1]}"
wait "${LAB_PID[r1]}" 2>/dev/null
lab_start r1b r1 "$LAB_TMP/r1.conf"
lab_wait_log r1b 'tunnel up' 15 || fail "R1 did not come back"
lab_wait_log gw 'session r1 from .* replaces its session from .*, which ends and gives back 203\.0\.113\.11, .*198\.18\.1\.0/24' 5 ||
	fail "the gateway did not say that r1's new session takes 203.0.113.11 and 198.18.1.0/24 over"
pings x 198.18.2.10 198.18.3.10
SESSION=r1
[[ $(json "s['inner']") == 203.0.113.11 ]] || fail "r1 came back with $(json "s['inner']")"
ok "R1 killed and back: its new session took 203.0.113.11 and 198.18.1.0/24 over at once"

# ---- diagnose on R1 (once: tls)
if [[ $T == tls ]]; then
	diag() {
		in_ns r1 "$CULVERTCTL" -c "$LAB_TMP/r1.conf" diagnose >"$LAB_TMP/diag.out" 2>&1
		DIAG_RC=$?
	}
	diag
	((DIAG_RC == 0)) || fail "diagnose on R1 is not content (exit $DIAG_RC): $(cat "$LAB_TMP/diag.out")"
	grep -q '^ok: 1 host of 198.18.1.0/24 answers from the tunnel' "$LAB_TMP/diag.out" ||
		fail "diagnose on R1 did not check X: $(cat "$LAB_TMP/diag.out")"
	ip netns exec "$(lab__ns r1)" sysctl -qw net.ipv4.ip_forward=0
	diag
	((DIAG_RC == 1)) && grep -q '^problem: IPv4 forwarding is off .*198.18.1.0/24' "$LAB_TMP/diag.out" ||
		fail "diagnose on R1 missed forwarding off: $(cat "$LAB_TMP/diag.out")"
	ip netns exec "$(lab__ns r1)" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$(lab__ns r1)" sysctl -qw net.ipv4.conf.lan.rp_filter=1
	diag
	((DIAG_RC == 1)) && grep -q '^problem: strict reverse-path filtering on lan' "$LAB_TMP/diag.out" &&
		grep -q '^fix: sysctl -w net.ipv4.conf.lan.rp_filter=2' "$LAB_TMP/diag.out" ||
		fail "diagnose on R1 missed strict rp_filter on its LAN: $(cat "$LAB_TMP/diag.out")"
	ip netns exec "$(lab__ns r1)" sysctl -qw net.ipv4.conf.lan.rp_filter=2
	ip -n "$(lab__ns x)" route replace default via 198.18.1.254
	diag
	((DIAG_RC == 1)) && grep -q '^problem: host 198.18.1.10 of 198.18.1.0/24 answers this router from 198.18.1.1 but not from the tunnel' "$LAB_TMP/diag.out" &&
		grep -q '^fix: ip route replace default via 198.18.1.1' "$LAB_TMP/diag.out" ||
		fail "diagnose on R1 missed X's default route: $(cat "$LAB_TMP/diag.out")"
	ip -n "$(lab__ns x)" route replace default via 198.18.1.1
	diag
	((DIAG_RC == 0)) || fail "diagnose on R1 after the fixes: $(cat "$LAB_TMP/diag.out")"
	ok "diagnose on R1 names forwarding off, strict rp_filter on its LAN and X's default route elsewhere, each with its fix"
fi

# ---- nothing left behind
for n in u r1b r3b; do
	lab_stop "$n" || fail "$n did not stop cleanly"
done
gw_left=$(ip -n "$LAB_GW" route show dev "$LAB_DEV"; ip -n "$LAB_GW" -6 route show dev "$LAB_DEV")
grep -Eq '^(198\.18|2001:db8:[ac]:)' <<<"$gw_left" &&
	fail "the gateway still routes a site after every client left: $gw_left"
lab_stop gw || fail "the gateway did not stop cleanly"
for ns in gw r1 r3 u x y z; do
	left=$(lab_cv_routes "$ns")
	[[ -z $left ]] || fail "$ns: routes left behind: $left"
done
ok "no route through $LAB_DEV and no throw route is left in any namespace"
