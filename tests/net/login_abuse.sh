#!/usr/bin/env bash
# login_abuse.sh - strangers that log in badly, many at once, must neither
# fill the gateway's log nor out-guess its back-off nor keep real clients
# waiting. While U (bob) keeps a steady ping to V (less than 1% loss):
#   1. U2 makes 300 logins without credentials: fewer than 60 log lines
#      (a few per host, then a summary of what was not logged);
#   2. U2 sends 200 guesses at alice's password at once: at most a handful
#      are checked before the back-off refuses the rest unchecked;
#   3. U3 guesses at alice, logging in as its own user mallory between
#      guesses: mallory's logins do not reset alice's back-off;
#   4. U5 sends two bursts of 200 guesses at once while a real client on
#      U4 (carol) logs in: carol is up within 3 s, at her first try.
# The attacks are culvert-loadgen runs, bounded in count and time.
# Hosts: drawing in lab.sh (U4 and U5 as U2 and U3).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

PINGS=800         # at 0.05 s: 40 s, covering every attack

lab_require
lab_require_tls tls
lab_require_loadgen
lab_up
for n in 2 3 4 5; do lab_add_client "$n"; done
lab_forwarding on
lab_pki "$LAB_TMP/pki"
users=$LAB_TMP/users
for u in alice bob carol mallory; do lab_passwd "$users" "$u" "$u pass"; done
(umask 077 && printf 'bob pass\n' >"$LAB_TMP/bob.pass" && printf 'carol pass\n' >"$LAB_TMP/carol.pass")
lab_server_conf "$LAB_TMP/gw.conf" auth=password "password-file=$users"
lab_client_conf "$LAB_TMP/u.conf" cert= key= username=bob "password-file=$LAB_TMP/bob.pass"
lab_client_conf "$LAB_TMP/u4.conf" cert= key= username=carol "password-file=$LAB_TMP/carol.pass"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
ok "u (bob) is up over tls with a password"

lab_steady_ping "$PINGS"

# loadgen NS NAME [OPTIONS...] : culvert-loadgen from NS against the
# gateway, sessions that say bye as soon as they are up; waits for it
# (bounded) and keeps its summary in $LAB_TMP/NAME.out
loadgen() {
	local ns=$1 name=$2
	shift 2
	printf '[%s] culvert-loadgen %s\n' "$ns" "$*" >&2
	ip netns exec "$(lab__ns "$ns")" timeout 40 "$CULVERT_LOADGEN" --transport tls \
		--remote "$LAB_GW_EP" --ca "$LAB_PKI/ca.crt" --server-name vpn.example.org \
		--hold 0 --duration 30 "$@" >"$LAB_TMP/$name.out" 2>"$LAB_TMP/$name.err" </dev/null
	return 0
}
counter() { echo "${LAB_COUNTERS[$1]:-0}"; }

# ---- 1. refused logins do not fill the log
lab_counters gw || fail "no counters from the gateway"
refused0=$(counter refused)
lines0=$(wc -l <"${LAB_LOG[gw]}")
loadgen u2 nocreds --sessions 50 --parallel 50 --total 300
lab_counters gw || fail "no counters from the gateway"
refused=$(($(counter refused) - refused0))
lines=$(($(wc -l <"${LAB_LOG[gw]}") - lines0 - 1))   # less the counters line
((refused == 300)) || fail "the gateway refused $refused of 300 logins without credentials: $(cat "$LAB_TMP/nocreds.out")"
((lines < 60)) || fail "300 refused logins added $lines lines to the gateway's log"
ok "300 refused logins without credentials add $lines log lines ($(counter refusals_unlogged) not logged)"

# ---- 2. parallel guesses: the checks under way count
lab_counters gw || fail "no counters from the gateway"
failed0=$(counter auth_failed) refused0=$(counter refused)
loadgen u2 parallel --user alice --password 'a guess' --sessions 200 --parallel 200 --total 200
lab_counters gw || fail "no counters from the gateway"
checked=$(($(counter auth_failed) - failed0))
refused=$(($(counter refused) - refused0))
((refused == 200)) || fail "200 wrong guesses at once: $refused refused: $(cat "$LAB_TMP/parallel.out")"
((checked <= 8)) || fail "200 guesses at alice's password at once: $checked were checked (a handful at most)"
ok "200 guesses at once at alice's password: $checked checked, the rest refused by the back-off"

# ---- 3. a login of one's own does not reset the back-off of another user
lab_counters gw || fail "no counters from the gateway"
failed0=$(counter auth_failed) throttled0=$(counter auth_throttled)
for i in 1 2 3 4 5 6 7 8 9 10; do
	loadgen u3 own --user mallory --password 'mallory pass' --sessions 1
	grep -q '1 completed' "$LAB_TMP/own.out" || fail "mallory's own login failed: $(cat "$LAB_TMP/own.out" "$LAB_TMP/own.err")"
	loadgen u3 guess --user alice --password "guess $i" --sessions 1
done
lab_counters gw || fail "no counters from the gateway"
checked=$(($(counter auth_failed) - failed0))
throttled=$(($(counter auth_throttled) - throttled0))
((checked <= 5 && throttled >= 5)) ||
	fail "10 guesses at alice, each after a login as mallory: $checked checked, $throttled held back by the back-off"
ok "10 guesses at alice between logins as mallory: $checked checked, $throttled held back"

# ---- 4. bursts from one host do not keep another's login waiting
loadgen u5 burst1 --user ghost1 --password 'a guess' --sessions 200 --parallel 200 --total 200 &
b1=$!
loadgen u5 burst2 --user ghost2 --password 'a guess' --sessions 200 --parallel 200 --total 200 &
b2=$!
sleep 0.5
t0=$(lab__usec)
lab_start u4 u4 "$LAB_TMP/u4.conf"
lab_wait_log u4 'tunnel up' 3 || fail "carol (u4) did not get her tunnel within 3 s while u5 sent two bursts of guesses"
took=$((($(lab__usec) - t0) / 1000))
wait "$b1" "$b2"
hellos=$(grep -c 'saying hello' "${LAB_LOG[u4]}")
((hellos == 1)) || fail "carol (u4) was turned away before she got in: $(grep -E 'refused|ended' "${LAB_LOG[u4]}" | head -n 2)"
ok "carol logs in during two bursts of 200 guesses from u5, at her first try, up after $took ms"

# The summary of what phase 1 did not log.
lab_wait_log gw 'more refused logins in the last 10 s were not logged' 12 ||
	fail "the gateway never said how many refused logins it did not log"
ok "the gateway says: $(grep -o '[0-9.]*: [0-9]* more refused logins.*' "${LAB_LOG[gw]}" | head -n 1)"

lab_steady_ping_check "through the attacks"
lab_alive gw || fail "gateway died"
exit 0
