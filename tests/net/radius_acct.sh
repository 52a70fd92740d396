#!/usr/bin/env bash
# radius_acct.sh - RADIUS accounting and the limits an Access-Accept sets,
# against FreeRADIUS writing a detail file (radius.sh), in the lab of
# lab.sh with a second client U2.
#   - alice (Acct-Interim-Interval = 5, a Class): Start when she is up,
#     an Interim-Update while she pings, Stop when her client stops
#     (User-Request); the octets and packets are what the test sent
#     through the tunnel (within 1%); Start names the NAS (identifier,
#     address), her NAS port type, outer and inner addresses, and echoes
#     her Class
#   - carol (Session-Timeout = 3): her session ends after 3 s
#     (Session-Timeout); dave (Idle-Timeout = 2) sends nothing and is
#     ended (Idle-Timeout); erin is kicked (Admin-Reset); grace's client
#     dies (Lost-Carrier); frank is up when the gateway stops
#     (Admin-Reboot, sent before it exits)
#   - Acct-Session-Id: one per session, none reused after a restart, which
#     reads its servers and secret from a radcli file (radius-config) and
#     asks a certificate too (auth = certificate+radius)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/radius.sh
. "$(dirname "$0")/radius.sh"

PINGS=300 SIZE=1000	# alice's traffic: 300 x (1000 + 28) bytes each way

lab_require
lab_require_tls tls
radius_require
lab_up
lab_add_client 2
lab_forwarding on
radius_up
lab_pki "$LAB_TMP/pki"

SECRET=accounting-secret
radius_freeradius fr "$RADIUS_ADDR" "$SECRET" '
alice	Cleartext-Password := "alice pass"
	Acct-Interim-Interval = 5,
	Class = "culvert-test-class"
carol	Cleartext-Password := "carol pass"
	Session-Timeout = 3
dave	Cleartext-Password := "dave pass"
	Idle-Timeout = 2
erin	Cleartext-Password := "erin pass"
grace	Cleartext-Password := "grace pass"
frank	Cleartext-Password := "frank pass"'
(umask 077 && printf '%s\n' "$SECRET" >"$LAB_TMP/radius.secret")
lab_server_conf "$LAB_TMP/gw.conf" auth=radius ca= \
	"radius-server=$RADIUS_ADDR" "radius-secret-file=$LAB_TMP/radius.secret" \
	radius-timeout=1
for u in alice carol dave erin grace frank; do
	(umask 077 && printf '%s pass\n' "$u" >"$LAB_TMP/$u.pass")
	lab_client_conf "$LAB_TMP/$u.conf" cert= key= "username=$u" \
		"password-file=$LAB_TMP/$u.pass"
done
# after the restart, alice presents her certificate too
lab_client_conf "$LAB_TMP/alice2.conf" username=alice "password-file=$LAB_TMP/alice.pass"

# record STATUS USER [N] : the Nth (default: last) detail record of
# that status for USER
record() {
	radius_detail fr | grep -E "^$1 (.* )?User-Name=$2( |\$)" | { if [[ -n ${3:-} ]]; then sed -n "${3}p"; else tail -n 1; fi; }
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
wait_record() {   # wait_record STATUS USER SECS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[[ -n $(record "$1" "$2") ]] && return 0
		sleep 0.1
	done
	return 1
}
within1() {   # within1 GOT WANT : |GOT - WANT| <= 1% of WANT
	local d=$(($1 - $2))
	((d < 0)) && d=$((-d))
	((d * 100 <= $2))
}

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not listen within 10 s"

# ---- alice: Start, Interim-Update, Stop with what she sent
lab_start alice u "$LAB_TMP/alice.conf"
lab_wait_log alice 'tunnel up' 10 || fail "alice: no tunnel within 10 s"
wait_record Start alice 5 || fail "no accounting Start for alice in FreeRADIUS's detail file"
start=$(record Start alice)
[[ $(field "$start" NAS-Port-Type) == Virtual && $(field "$start" Calling-Station-Id) == "$LAB_U_PUB" &&
	$(field "$start" Framed-IP-Address) == "$LAB_U_IN" && $(field "$start" Class) == 0x* &&
	-n $(field "$start" Acct-Session-Id) && -n $(field "$start" NAS-Identifier) &&
	$(field "$start" NAS-IP-Address) == "$RADIUS_GW" ]] ||
	fail "alice's Start lacks what it should name: $start"
ok "alice's Start: $start"
in_ns u ping -c "$PINGS" -i 0.01 -s "$SIZE" -q "$LAB_V_LAN" >"$LAB_TMP/ping.out" 2>&1
grep -q " $PINGS received" "$LAB_TMP/ping.out" || fail "alice's pings were lost: $(cat "$LAB_TMP/ping.out")"
want=$((PINGS * (SIZE + 28)))
wait_record Interim-Update alice 8 || fail "no Interim-Update for alice within 8 s (Acct-Interim-Interval = 5)"
interim=$(record Interim-Update alice)
for ((i = 0; i < 80; i++)); do   # the first update may predate the pings
	interim=$(record Interim-Update alice)
	(($(field "$interim" Acct-Input-Octets) >= want)) && break
	sleep 0.1
done
within1 "$(field "$interim" Acct-Input-Octets)" "$want" ||
	fail "alice's Interim-Update says $(field "$interim" Acct-Input-Octets) octets in, the test sent $want: $interim"
ok "alice's Interim-Update: $(field "$interim" Acct-Input-Octets) octets in, $want sent"
lab_stop alice
wait_record Stop alice 5 || fail "no accounting Stop for alice"
stop=$(record Stop alice)
[[ $(field "$stop" Acct-Terminate-Cause) == User-Request ]] ||
	fail "alice stopped her client, but her Stop says: $stop"
for kv in "Acct-Input-Octets $want" "Acct-Output-Octets $want" \
	"Acct-Input-Packets $PINGS" "Acct-Output-Packets $PINGS"; do
	read -r k v <<<"$kv"
	within1 "$(field "$stop" "$k")" "$v" || fail "alice's Stop: $k is $(field "$stop" "$k"), the test sent $v: $stop"
done
[[ $(field "$stop" Acct-Input-Gigawords) == 0 && $(field "$stop" Acct-Session-Id) == "$(field "$start" Acct-Session-Id)" ]] ||
	fail "alice's Stop does not match her Start: $stop"
ok "alice's Stop: User-Request, $(field "$stop" Acct-Input-Octets)/$(field "$stop" Acct-Output-Octets) octets in/out, $want sent each way"

# ---- carol: Session-Timeout ends her session on time
lab_start carol u2 "$LAB_TMP/carol.conf"
lab_wait_log carol 'tunnel up' 10 || fail "carol: no tunnel within 10 s"
up=$(lab__usec)
lab_wait_log gw 'session carol ended: Session-Timeout of 3 s from RADIUS' 8 ||
	fail "carol's Session-Timeout of 3 s did not end her session"
took=$((($(lab__usec) - up) / 100000))
((took >= 25 && took <= 45)) || fail "carol's session of Session-Timeout 3 s lasted $((took / 10)).$((took % 10)) s"
lab_stop carol
wait_record Stop carol 5 || fail "no Stop for carol"
[[ $(field "$(record Stop carol 1)" Acct-Terminate-Cause) == Session-Timeout ]] ||
	fail "carol's Stop: $(record Stop carol 1)"
ok "carol's Session-Timeout of 3 s ended her session after $((took / 10)).$((took % 10)) s; Stop says Session-Timeout"

# ---- dave: Idle-Timeout
lab_start dave u "$LAB_TMP/dave.conf"
lab_wait_log dave 'tunnel up' 10 || fail "dave: no tunnel within 10 s"
lab_wait_log gw 'session dave ended: no packet within its Idle-Timeout of 2 s from RADIUS' 8 ||
	fail "dave sent nothing, and his Idle-Timeout of 2 s did not end his session"
lab_stop dave
wait_record Stop dave 5 && [[ $(field "$(record Stop dave 1)" Acct-Terminate-Cause) == Idle-Timeout ]] ||
	fail "dave's Stop: $(record Stop dave 1)"
ok "dave's Idle-Timeout ended his silent session; Stop says Idle-Timeout"

# ---- erin: kicked
lab_start erin u2 "$LAB_TMP/erin.conf"
lab_wait_log erin 'tunnel up' 10 || fail "erin: no tunnel within 10 s"
"$CULVERTCTL" -s "${LAB_SOCK[gw]}" kick erin >"$LAB_TMP/kick.out" 2>&1 || fail "kick: $(cat "$LAB_TMP/kick.out")"
lab_stop erin
wait_record Stop erin 5 && [[ $(field "$(record Stop erin 1)" Acct-Terminate-Cause) == Admin-Reset ]] ||
	fail "erin's Stop after a kick: $(record Stop erin 1)"
ok "erin kicked: Stop says Admin-Reset"

# ---- grace: her client dies
lab_start grace u2 "$LAB_TMP/grace.conf"
lab_wait_log grace 'tunnel up' 10 || fail "grace: no tunnel within 10 s"
kill -KILL "${LAB_PID[grace]}"
wait_record Stop grace 5 && [[ $(field "$(record Stop grace 1)" Acct-Terminate-Cause) == Lost-Carrier ]] ||
	fail "grace's Stop after her client died: $(record Stop grace 1)"
ok "grace's client killed: Stop says Lost-Carrier"

# ---- frank: up when the gateway stops
lab_start frank u "$LAB_TMP/frank.conf"
lab_wait_log frank 'tunnel up' 10 || fail "frank: no tunnel within 10 s"
lab_stop gw || fail "the gateway did not stop cleanly"
wait_record Stop frank 3 && [[ $(field "$(record Stop frank)" Acct-Terminate-Cause) == Admin-Reboot ]] ||
	fail "frank's Stop when the gateway stopped: $(record Stop frank)"
ok "the gateway stopped with frank up: his Stop (Admin-Reboot) went out before it exited"
lab_stop frank

# ---- a restart, with the servers from a radcli file: new Acct-Session-Ids
printf '%s\n' "authserver $RADIUS_ADDR:1812" "acctserver $RADIUS_ADDR:1813" \
	"servers $LAB_TMP/radcli.servers" "dictionary /etc/radcli/dictionary" \
	"radius_timeout 1" "radius_retries 1" "nas-identifier culvert-test-gw" \
	>"$LAB_TMP/radcli.conf"
(umask 077 && printf '%s %s\n' "$RADIUS_ADDR" "$SECRET" >"$LAB_TMP/radcli.servers")
sed -e "s|^radius-server .*|radius-config = $LAB_TMP/radcli.conf|" \
	-e '/^radius-secret-file/d' -e "s|^auth .*|auth = certificate+radius\nca = $LAB_PKI/ca.crt|" \
	"$LAB_TMP/gw.conf" >"$LAB_TMP/gw2.conf"
nas=culvert-test-gw
if ! "$CULVERTD" -c "$LAB_TMP/gw2.conf" --check-config >"$LAB_TMP/check.out" 2>&1; then
	grep -q 'built without radcli' "$LAB_TMP/check.out" ||
		fail "--check-config of a gateway with radius-config: $(cat "$LAB_TMP/check.out")"
	sed "s|^auth .*|auth = certificate+radius\nca = $LAB_PKI/ca.crt|" "$LAB_TMP/gw.conf" >"$LAB_TMP/gw2.conf"
	nas=$(field "$start" NAS-Identifier)
	ok "# culvertd without radcli: radius-config refused at --check-config; the keys again"
fi
lab_start gw2 gw "$LAB_TMP/gw2.conf"
lab_wait_log gw2 'tls: listening' 10 || fail "the gateway did not start again"
lab_start alice2 u "$LAB_TMP/alice2.conf"
lab_wait_log alice2 'tunnel up' 10 || fail "alice: no tunnel after the restart"
wait_record Start alice 5 && [[ -n $(record Start alice 2) ]] || fail "no second Start for alice"
[[ $(field "$(record Start alice 2)" NAS-Identifier) == "$nas" ]] ||
	fail "the gateway of radius-config did not name itself $nas: $(record Start alice 2)"
grep -q "session alice up" "${LAB_LOG[gw2]}" && grep -q "^auth *= certificate+radius" "$LAB_TMP/gw2.conf" ||
	fail "alice is not up through auth = certificate+radius"
ok "the gateway started again with auth = certificate+radius and $(grep -o 'radius-config = .*' "$LAB_TMP/gw2.conf" || echo 'its keys'): alice is in with her certificate and password, NAS-Identifier $nas"
ids=$(radius_detail fr | grep '^Start ' | sed -n 's/.* Acct-Session-Id=\([^ ]*\).*/\1/p')
n=$(wc -l <<<"$ids")
(($(sort <<<"$ids" | uniq -d | wc -l) == 0 && n >= 7)) ||
	fail "Acct-Session-Ids are not one per session: $ids"
[[ ${ids%%-*} != "$(tail -n 1 <<<"$ids" | cut -d- -f1)" ]] ||
	fail "the restarted gateway's Acct-Session-Ids start as the first run's: $ids"
ok "$n sessions over two runs, as many Acct-Session-Ids: $(tr '\n' ' ' <<<"$ids")"
exit 0
