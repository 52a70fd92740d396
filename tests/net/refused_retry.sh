#!/usr/bin/env bash
# refused_retry.sh - a client tells a refusal that trying again cannot fix
# from one that passes:
#   - a wrong password: said once, then nothing for refused-retry (the
#     gateway sees one attempt, not one a second); fixing the password
#     file and a reload bring the tunnel up at once;
#   - a server certificate refused (wrong server-name), with
#     refused-retry = never: culvertd stops, status 3;
#   - a full server (max-clients), which says "busy, try again later":
#     the usual back-off, attempt after attempt.
# Topology: lab.sh, hosts U, U2 and U3.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_passwd "$LAB_TMP/users" alice "alice pw"
printf 'not it\n' >"$LAB_TMP/u.pass"
printf 'alice pw\n' >"$LAB_TMP/good.pass"
chmod 600 "$LAB_TMP"/*.pass
lab_server_conf "$LAB_TMP/gw.conf" auth=password "password-file=$LAB_TMP/users" max-clients=1
lab_client_conf "$LAB_TMP/u.conf" username=alice "password-file=$LAB_TMP/u.pass" refused-retry=60
lab_client_conf "$LAB_TMP/u2.conf" server-name=other.example.org refused-retry=never
lab_client_conf "$LAB_TMP/u3.conf" username=alice "password-file=$LAB_TMP/good.pass"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "the gateway did not listen"

# ---- a wrong password: once, then quiet until a reload
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'authentication failed: trying again cannot fix that; the next attempt in 60 s \(refused-retry\), or at once after a reload' 15 ||
	fail "U did not say that retrying cannot fix a wrong password"
sleep 4   # the usual back-off would have tried twice by now
n=$(grep -c "refusing 192\.0\.2\.2:[0-9]*: user 'alice': wrong password" "${LAB_LOG[gw]}")
((n == 1)) || fail "the gateway saw $n attempts with the wrong password in 4 s, not 1"
grep -q 'reconnecting in' "${LAB_LOG[u]}" && fail "U took its usual back-off after a wrong password"
ok "a wrong password: one attempt, then U waits refused-retry: $(grep -o 'authentication failed: trying.*' "${LAB_LOG[u]}")"

cp "$LAB_TMP/good.pass" "$LAB_TMP/u.pass"
kill -HUP "${LAB_PID[u]}"
lab_wait_log u 'reloaded: trying again now' 5 || fail "a reload did not end U's wait"
lab_wait_log u 'tunnel up' 10 || fail "U did not come up after the password was fixed and reloaded"
lab_ping 3
((LAB_PING_RECEIVED == 3)) || fail "ping after the reload: $LAB_PING_RECEIVED of 3"
ok "password fixed, SIGHUP: the password file is read again and U is up at once"

# ---- a full server: busy, the usual back-off
lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 'refused us: busy, try again later: the server is full' 15 ||
	fail "U3 was not told the server is full"
lab_wait_log u3 'reconnecting in' 5 || fail "U3 did not take its usual back-off"
lab__deadline 10
while (($(grep -c 'max-clients reached' "${LAB_LOG[gw]}") < 2)); do
	lab__before || fail "U3 did not try again while the server was full"
	sleep 0.2
done
grep -q 'trying again cannot fix' "${LAB_LOG[u3]}" && fail "U3 took a full server for a final refusal"
ok "a full server: U3 keeps trying with its usual back-off ($(grep -c 'max-clients reached' "${LAB_LOG[gw]}") attempts)"
lab_stop u3

# ---- the server's certificate refused, refused-retry = never
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u2 "certificate refused: trying again cannot fix that; culvertd stops \(refused-retry = never\)" 15 ||
	fail "U2 did not stop on a server certificate it refuses"
# It stops by itself: wait for that, signal nothing (bounded).
lab__deadline 10
while lab_alive u2; do
	lab__before || fail "U2 is still running 10 s after it said it stops"
	sleep 0.1
done
lab_stop u2
rc=$?
((rc == 3)) || fail "U2 ended with status $rc, not 3"
ok "a refused server certificate with refused-retry = never: culvertd stops with status 3"
exit 0
