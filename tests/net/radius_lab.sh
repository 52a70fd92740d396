#!/usr/bin/env bash
# radius_lab.sh - logins asked of RADIUS (auth = radius) against a real
# FreeRADIUS, in the sites topology (lab.sh) with the RADIUS servers on
# the gateway's management LAN (radius.sh). The primary server,
# 198.18.100.20, is down without a word (radius_standin.py --silent);
# FreeRADIUS on 198.18.100.10 is the backup.
#   - U (alice) logs in through the backup; the gateway says the primary
#     did not answer, after how long, and that it tries the backup; the
#     next login goes to the backup at once
#   - alice gets the static address and the group of her Access-Accept
#     (Framed-IP-Address, Filter-Id); status (text and JSON) shows that
#     she came through RADIUS, which server, and her group
#   - R1 (r1) gets its address and the networks behind it from its reply
#     (Framed-Route, Framed-IPv6-Route): the gateway routes them into the
#     tunnel, and Y reaches X over IPv4 and IPv6
#   - R3's reply names a network inside R1's: refused, naming the clash
#   - a wrong password: refused, and the client reads FreeRADIUS's
#     Reply-Message
#   - a wrong shared secret: refused as "cannot reach", and the gateway's
#     log says the server signs with another secret; put right and
#     reloaded, the same client gets in
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/radius.sh
. "$(dirname "$0")/radius.sh"

lab_require
lab_require_tls tls
radius_require
lab_sites_up
radius_up
lab_pki "$LAB_TMP/pki"

SECRET='s3cret shared with FreeRADIUS'
radius_standin primary "$RADIUS_STANDIN" --silent
radius_freeradius backup "$RADIUS_ADDR" "$SECRET" '
alice	Cleartext-Password := "alice pass"
	Framed-IP-Address = 203.0.113.50,
	Filter-Id = "engineering",
	Reply-Message = "Welcome, alice"
r1	Cleartext-Password := "r1 pass"
	Framed-IP-Address = 203.0.113.11,
	Framed-Route = "198.18.1.0/24 0.0.0.0 1",
	Framed-IPv6-Route = "2001:db8:a::/48 :: 1",
	Filter-Id = "sites"
r3	Cleartext-Password := "r3 pass"
	Framed-Route = "198.18.1.128/25",
	Filter-Id = "sites"
bob	Cleartext-Password := "bob pass"'

GROUP_DIR=$LAB_TMP/groups
mkdir -p "$GROUP_DIR"
printf 'route = 198.18.0.0/16\nroute = 2001:db8:b::/48\n' >"$GROUP_DIR/sites"
printf 'route = 198.18.1.0/24\n' >"$GROUP_DIR/engineering"
(umask 077 && printf '%s\n' "$SECRET" >"$LAB_TMP/radius.secret")
lab_server_conf "$LAB_TMP/gw.conf" auth=radius ca= \
	"pool6=2001:db8:100::/64" "route=198.18.2.0/24" \
	"radius-server=$RADIUS_STANDIN" "radius-server=$RADIUS_ADDR" \
	"radius-secret-file=$LAB_TMP/radius.secret" \
	radius-timeout=1 radius-retries=1 radius-accounting-server=none \
	"group-config-dir=$GROUP_DIR"
# lab__conf keeps one line per key: the second server by hand.
sed -i "s|^radius-server .*|radius-server = $RADIUS_STANDIN\nradius-server = $RADIUS_ADDR|" "$LAB_TMP/gw.conf"
"$CULVERTD" -c "$LAB_TMP/gw.conf" --check-config >"$LAB_TMP/check.out" 2>&1 ||
	fail "--check-config: $(cat "$LAB_TMP/check.out")"

client() {   # client NAME USER PASSWORD : a password client's config
	(umask 077 && printf '%s\n' "$3" >"$LAB_TMP/$1.pass")
	lab_client_conf "$LAB_TMP/$1.conf" cert= key= "username=$2" \
		"password-file=$LAB_TMP/$1.pass"
}
client alice alice 'alice pass'
client r1 r1 'r1 pass'
client r3 r3 'r3 pass'
client bob1 bob 'not bob pass'
client bob2 bob 'bob pass'
client bob3 bob 'bob pass'

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not listen within 10 s"

# ---- the primary is down: alice gets in through the backup
lab_start u u "$LAB_TMP/alice.conf"
lab_wait_log u 'tunnel up' 15 || fail "alice: no tunnel within 15 s"
grep -q "RADIUS server $RADIUS_STANDIN:1812 did not answer alice's login in [0-9.]* s (2 tries, 1 s apart); trying $RADIUS_ADDR:1812" \
	"${LAB_LOG[gw]}" || fail "the gateway did not say that the primary was silent and the backup tried"
grep -q "RADIUS server $RADIUS_ADDR:1812 accepts user 'alice'" "${LAB_LOG[gw]}" ||
	fail "the gateway did not say which server accepted alice"
ok "primary down: '$(grep -o 'RADIUS server [^ ]* did not answer.*' "${LAB_LOG[gw]}" | head -n 1)'"

# ---- what her Access-Accept said
[[ $(lab_inner u) == 203.0.113.50 ]] || fail "alice has $(lab_inner u), not her Framed-IP-Address 203.0.113.50"
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }
ctl status --json >"$LAB_TMP/status.json" 2>&1 || fail "status --json: $(cat "$LAB_TMP/status.json")"
python3 - "$LAB_TMP/status.json" "$RADIUS_ADDR:1812" <<'EOF' || fail "status --json does not show alice's RADIUS login: $(cat "$LAB_TMP/status.json")"
import json, sys
d = json.load(open(sys.argv[1]))
s = [x for x in d["sessions"] if x["identity"] == "alice"][0]
assert s["login"] == "radius", s["login"]
assert s["group"] == "engineering", s["group"]
assert s["inner"] == "203.0.113.50", s["inner"]
assert s["radius"]["server"] == sys.argv[2], s["radius"]
assert s["radius"]["acct_session_id"], s["radius"]
assert s["radius"]["session_timeout"] is None, s["radius"]
EOF
ctl status >"$LAB_TMP/status.txt" 2>&1 || fail "status: $(cat "$LAB_TMP/status.txt")"
grep -q "group: engineering" "$LAB_TMP/status.txt" && grep -q "radius: $RADIUS_ADDR:1812" "$LAB_TMP/status.txt" ||
	fail "culvertctl status does not show alice's group and RADIUS server: $(cat "$LAB_TMP/status.txt")"
ok "alice: Framed-IP-Address 203.0.113.50, group engineering from Filter-Id, shown by status"

# ---- R1: its networks from its reply, routed; straight to the backup
lab_start r1 r1 "$LAB_TMP/r1.conf"
lab_wait_log r1 'tunnel up' 10 || fail "r1: no tunnel within 10 s"
(($(grep -c 'did not answer' "${LAB_LOG[gw]}") == 1)) ||
	fail "r1's login waited for the silent primary again: $(grep 'did not answer' "${LAB_LOG[gw]}")"
[[ $(lab_inner r1) == 203.0.113.11 ]] || fail "r1 has $(lab_inner r1), not 203.0.113.11"
ip -n "$LAB_GW" route show 198.18.1.0/24 | grep -q "dev $LAB_DEV" ||
	fail "the gateway does not route r1's Framed-Route 198.18.1.0/24 into the tunnel: $(ip -n "$LAB_GW" route)"
ip -n "$LAB_GW" -6 route show 2001:db8:a::/48 | grep -q "dev $LAB_DEV" ||
	fail "the gateway does not route r1's Framed-IPv6-Route 2001:db8:a::/48: $(ip -n "$LAB_GW" -6 route)"
lab_ping 3 y 198.18.1.10
((LAB_PING_RECEIVED == 3)) || fail "Y cannot reach X behind r1 through its Framed-Route"
lab_ping 3 y 2001:db8:a:1::10
((LAB_PING_RECEIVED == 3)) || fail "Y cannot reach X over IPv6 through r1's Framed-IPv6-Route"
ok "r1: Framed-Route and Framed-IPv6-Route routed into the tunnel; Y reaches X, IPv4 and IPv6"

# ---- R3: a network inside R1's
lab_start r3 r3 "$LAB_TMP/r3.conf"
lab_wait_log gw "refusing .*its network 198.18.1.128/25 overlaps network 198.18.1.0/24 of session r1" 10 ||
	fail "r3's overlapping Framed-Route was not refused naming r1's network"
lab_wait_log r3 'refused us' 5 || fail "r3 was not told it is refused"
lab_stop r3
ip -n "$LAB_GW" route show 198.18.1.128/25 | grep -q . && fail "r3's refused network is routed anyway"
ok "r3's Framed-Route inside r1's network refused: $(grep -o 'its network 198.18.1.128/25 overlaps.*' "${LAB_LOG[gw]}" | head -n 1)"

# ---- a wrong password: refused with FreeRADIUS's Reply-Message
lab_start bob1 r3 "$LAB_TMP/bob1.conf"
lab_wait_log bob1 'refused us: .*Login refused: check your password, or call the helpdesk' 10 ||
	fail "bob's wrong password: the client did not show the Reply-Message"
lab_stop bob1
grep -q "user 'bob': RADIUS server $RADIUS_ADDR:1812 says no" "${LAB_LOG[gw]}" ||
	fail "the gateway did not log bob's refusal"
ok "a wrong password: the client reads '$(grep -o 'Login refused[^"]*' "${LAB_LOG[bob1]}" | head -n 1)'"

# ---- a wrong shared secret: said in words; put right, bob gets in
(umask 077 && printf 'not the secret\n' >"$LAB_TMP/radius.secret")
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_start bob2 r3 "$LAB_TMP/bob2.conf"
lab_wait_log gw "RADIUS server $RADIUS_ADDR:1812 did not answer bob's login .*its answer to a probe is signed with another shared secret" 15 ||
	fail "a wrong shared secret was not named in the gateway's log"
lab_wait_log bob2 'refused us: busy.*: the server cannot reach its RADIUS server' 10 ||
	fail "bob was not told that the server cannot reach its RADIUS server"
grep -q 'Shared secret is incorrect' "${LAB_LOG[backup]}" ||
	fail "FreeRADIUS did not see a wrong secret"
lab_stop bob2
ok "a wrong shared secret: '$(grep -o 'its answer to a probe is signed.*' "${LAB_LOG[gw]}" | head -n 1)'"
(umask 077 && printf '%s\n' "$SECRET" >"$LAB_TMP/radius.secret")
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "reload: $(cat "$LAB_TMP/reload.out")"
lab_start bob3 r3 "$LAB_TMP/bob3.conf"
lab_wait_log bob3 'tunnel up' 15 || fail "bob did not get in once the secret was put right"
ok "the secret put right and reloaded: bob is in"

# alice and r1 stayed up through it all
lab_ping 3 u "$LAB_GW_IN"
((LAB_PING_RECEIVED == 3)) || fail "alice's tunnel is gone"
lab_alive gw || fail "the gateway died"
exit 0
