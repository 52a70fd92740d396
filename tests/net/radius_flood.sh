#!/usr/bin/env bash
# radius_flood.sh - RADIUS that answers slowly, badly, or not at all, while
# an established session's traffic must not notice (radius.sh; the lab
# of lab.sh with U2 as the attacker). The RADIUS server is
# radius_standin.py, answering every login after 1 s; the accounting
# server is another, silent one.
#   - alice (U) logs in, although the accounting server is dead: its
#     silence is logged, her login is not held up by it
#   - U2 floods the gateway with 200 logins at once; each takes the slow
#     server 1 s, on the login threads (a few per host at a time), never
#     on the event loop: alice's steady ping loses nothing
#   - answers the gateway must not believe: a forged Access-Accept (not
#     signed with the secret), a malformed one, one over 4096 bytes are
#     discarded, logged and counted, and those logins refused; an
#     Access-Challenge is refused with words that say it is not
#     supported yet, which the client shows
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
# shellcheck source=tests/net/radius.sh
. "$(dirname "$0")/radius.sh"

PINGS=400	# at 0.05 s: 20 s, over the whole flood
pids=()

lab_require
lab_require_tls tls
lab_require_loadgen
command -v python3 >/dev/null || skip "python3 not found"
lab_up
lab_add_client 2
lab_forwarding on
radius_up
lab_pki "$LAB_TMP/pki"

radius_standin slow "$RADIUS_STANDIN" --secret testing123 --delay 1
radius_standin deadacct "$RADIUS_ADDR2" --silent
(umask 077 && printf 'testing123\n' >"$LAB_TMP/radius.secret")
lab_server_conf "$LAB_TMP/gw.conf" auth=radius ca= \
	"radius-server=$RADIUS_STANDIN" "radius-secret-file=$LAB_TMP/radius.secret" \
	"radius-accounting-server=$RADIUS_ADDR2:1812" radius-timeout=2 radius-retries=0
(umask 077 && printf 'alice pass\n' >"$LAB_TMP/alice.pass")
lab_client_conf "$LAB_TMP/u.conf" cert= key= username=alice "password-file=$LAB_TMP/alice.pass"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not listen within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 10 || fail "alice: no tunnel within 10 s"
lab_wait_log gw "RADIUS server $RADIUS_ADDR2:1812 did not answer the accounting Start of session alice in [0-9.]* s" 8 ||
	fail "the dead accounting server's silence was not logged"
ok "alice is up although the accounting server is dead: '$(grep -o 'RADIUS server [^ ]* did not answer the accounting.*' "${LAB_LOG[gw]}" | head -n 1)'"

# loadgen NAME USER [OPTIONS...] : culvert-loadgen from U2, sessions
# that say bye once up; waits (bounded), its summary in $LAB_TMP/NAME.out
loadgen() {
	local name=$1 user=$2
	shift 2
	printf '[u2] culvert-loadgen --user %s %s\n' "$user" "$*" >&2
	ip netns exec "$(lab__ns u2)" timeout 40 "$CULVERT_LOADGEN" --transport tls \
		--remote "$LAB_GW_EP" --ca "$LAB_PKI/ca.crt" --server-name vpn.example.org \
		--user "$user" --password 'any' --hold 0 --duration 30 "$@" \
		>"$LAB_TMP/$name.out" 2>"$LAB_TMP/$name.err" </dev/null
	return 0
}
counter() { echo "${LAB_COUNTERS[$1]:-0}"; }

# ---- a flood of logins against the slow server: a burst of 200 at once
# (the back-off lets a few through), and a steady stream of four users
# with two logins each under way, all the while
lab_steady_ping "$PINGS"
sleep 1
lab_counters gw || fail "no counters from the gateway"
accepted0=$(counter radius_accepted)
for i in 1 2 3 4; do
	loadgen "stream$i" "flood$i" --sessions 2 --parallel 2 --total 12 &
	pids+=($!)
done
loadgen burst burst --sessions 200 --parallel 200 --total 200
wait "${pids[@]}"
lab_counters gw || fail "no counters from the gateway"
accepted=$(($(counter radius_accepted) - accepted0))
((accepted >= 30)) || fail "the flood: only $accepted logins were accepted by the slow RADIUS server: $(cat "$LAB_TMP"/stream*.out)"
ok "a burst of 200 logins and 48 more in streams from U2: $accepted accepted by the slow server (1 s each), $(counter refused) refused in all"
lab_steady_ping_check "through a flood of logins against a slow RADIUS server"
sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/steady.ping")
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/steady.ping")
((got == sent)) || fail "alice's ping lost $((sent - got)) of $sent during the flood"
ok "alice's ping lost nothing during the flood"

# ---- answers not to believe, and a challenge
lab_counters gw || fail "no counters from the gateway"
bad0=$(counter radius_bad_authenticator) mal0=$(counter radius_malformed)
loadgen forged forged1 --sessions 1 &
f=$!
loadgen garbage garbage1 --sessions 1 &
g=$!
loadgen huge huge1 --sessions 1 &
h=$!
# the challenge with a real client: what its user reads
lab_client_conf "$LAB_TMP/challenge.conf" cert= key= username=challenge1 \
	"password-file=$LAB_TMP/alice.pass"
lab_start challenge u2 "$LAB_TMP/challenge.conf"
lab_wait_log challenge 'refused us: .*a challenge, such as a one-time code.*does not support yet' 10 ||
	fail "the client was not told that challenges are not supported yet"
lab_stop challenge
wait "$f" "$g" "$h"
for n in forged garbage huge; do
	grep -q '0 completed' "$LAB_TMP/$n.out" || fail "the $n answer let a login in: $(cat "$LAB_TMP/$n.out")"
done
lab_counters gw || fail "no counters from the gateway"
(($(counter radius_bad_authenticator) > bad0)) || fail "the forged Access-Accept was not counted as radius_bad_authenticator"
(($(counter radius_malformed) >= mal0 + 2)) || fail "the malformed and the oversized answers were not counted as radius_malformed"
(($(counter radius_challenged) == 1)) || fail "the Access-Challenge was not counted"
for re in "discarded an answer to forged1's login \(20 bytes\): its Response Authenticator does not check" \
	"discarded an answer to garbage1's login \([0-9]* bytes\): an attribute runs past the end of the packet" \
	"discarded an answer to huge1's login \(5000 bytes\): longer than the 4096 bytes RADIUS allows" \
	"user 'challenge1': RADIUS server $RADIUS_STANDIN:1812 asks a challenge \(\"Enter your one-time code\"\), which culvert does not support yet"; do
	grep -Eq "$re" "${LAB_LOG[gw]}" || fail "the gateway's log does not say: $re"
done
ok "a forged, a malformed and an oversized answer discarded, logged and counted; a challenge refused in words, which the client shows"
lab_alive gw || fail "the gateway died"
lab_ping 3 u "$LAB_GW_IN"
((LAB_PING_RECEIVED == 3)) || fail "alice's tunnel is gone"
exit 0
