#!/usr/bin/env bash
# crl.sh - revocation end to end, over tls and then over dtls. The gateway
# runs with `crl =` the list of a `culvertctl pki` CA; alice (U) and bob (U2)
# connect with their certificates, and bob pings V steadily across
# everything. Then `pki revoke` alice and `culvertctl reload`: alice's
# session ends within seconds, the gateway says it is because her
# certificate is revoked, her reconnects are refused at the handshake
# (revoked, in both logs), while bob's session stays the same one and his
# ping loses nothing. A reload with a corrupt CRL fails, names the file
# and keeps the sessions; a CRL that does not load at start is an error
# naming it. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON (apt-get install python3)"
[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || {
	echo "CULVERTCTL is not set to an executable (it is '${CULVERTCTL:-}'): run this through make check" >&2
	exit 99
}

P=$LAB_TMP/pki
LAB_PKI=$P
OUT=$LAB_TMP/out
pki() {   # pki ARGS... : culvertctl pki ARGS, which must succeed
	"$CULVERTCTL" pki "$@" >"$OUT" 2>&1 || fail "culvertctl pki $*: $(cat "$OUT")"
}
pki init "$P" --cn "culvert crl CA"
pki server "$P" vpn.example.org --ip "$LAB_GW_PUB"
for t in tls dtls; do
	pki client "$P" "alice_$t"
	pki client "$P" "bob_$t"
done
pki crl "$P"   # the empty list the gateway starts with
ok "a CA, vpn.example.org, alice_tls, bob_tls, alice_dtls, bob_dtls and an empty crl.pem"

lab_up
lab_add_client 2
lab_forwarding on

# ---------------------------------------------------- a CRL that does not load
server_conf() {   # server_conf TRANSPORT FILE [K=V...]
	local t=$1 f=$2
	shift 2
	lab_server_conf "$f" "transport=$t" "cert=$P/vpn.example.org.crt" \
		"key=$P/vpn.example.org.key" "ca=$P/ca.crt" "crl=$P/crl.pem" "$@"
}
printf 'not a CRL\n' >"$LAB_TMP/bad.pem"
server_conf tls "$LAB_TMP/bad.conf" "crl=$LAB_TMP/bad.pem"
in_ns gw "$CULVERTD" -c "$LAB_TMP/bad.conf" --check-config >"$OUT" 2>&1 &&
	fail "--check-config accepted crl = $LAB_TMP/bad.pem: $(cat "$OUT")"
grep -q "'crl' ($LAB_TMP/bad.pem) holds no PEM certificate revocation list" "$OUT" ||
	fail "--check-config with a bad crl did not name it: $(cat "$OUT")"
server_conf tls "$LAB_TMP/bad.conf" "crl=$LAB_TMP/missing.pem"
in_ns gw "$CULVERTD" -c "$LAB_TMP/bad.conf" --check-config >"$OUT" 2>&1 &&
	fail "--check-config accepted a crl that does not exist"
grep -q "cannot read 'crl' ($LAB_TMP/missing.pem): No such file or directory" "$OUT" ||
	fail "--check-config with a missing crl did not name it: $(cat "$OUT")"
ok "a crl that is not one, or is missing, is an error naming the file"

# ---------------------------------------------------- both transports
json() {   # json NAME PYTHON-EXPRESSION-ON-d : evaluate against NAME's status --json
	"$CULVERTCTL" -s "${LAB_SOCK[$1]}" status --json >"$LAB_TMP/status.json" 2>"$OUT" ||
		fail "culvertctl status --json failed: $(cat "$OUT")"
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$LAB_TMP/status.json" ||
		fail "status --json is not the JSON expected: $(cat "$LAB_TMP/status.json")"
}
session_of() {   # session_of GW USER : "outer since" of USER's session, or empty
	json "$1" "' '.join(s['outer']+' '+s['since'] for s in d['sessions'] if s['identity']=='$2')"
}

for t in tls dtls; do
	gw=gw_$t u=u_$t u2=u2_$t alice=alice_$t bob=bob_$t
	server_conf "$t" "$LAB_TMP/$gw.conf"
	lab_client_conf "$LAB_TMP/$u.conf" "transport=$t" "ca=$P/ca.crt" \
		"cert=$P/$alice.crt" "key=$P/$alice.key"
	lab_client_conf "$LAB_TMP/$u2.conf" "transport=$t" "ca=$P/ca.crt" \
		"cert=$P/$bob.crt" "key=$P/$bob.key"
	lab_start "$gw" gw "$LAB_TMP/$gw.conf"
	lab_wait_log "$gw" "$t: listening" 10 || fail "$t: the gateway did not start listening"
	lab_start "$u" u "$LAB_TMP/$u.conf"
	lab_start "$u2" u2 "$LAB_TMP/$u2.conf"
	lab_wait_log "$u" 'tunnel up' 15 || fail "$t: alice did not connect"
	lab_wait_log "$u2" 'tunnel up' 15 || fail "$t: bob did not connect"
	lab_ping 3 u2
	((LAB_PING_RECEIVED == 3)) || fail "$t: bob's first ping got $LAB_PING_RECEIVED of 3"
	ok "$t: alice and bob are up with crl = crl.pem (empty), bob pings V"

	bob_before=$(session_of "$gw" "$bob")
	[[ -n $bob_before && -n $(session_of "$gw" "$alice") ]] ||
		fail "$t: status --json lacks alice or bob: $(cat "$LAB_TMP/status.json")"
	# 20 s of pings, 10 a second: across the revocation, the reload, the
	# refused reconnects and the corrupt reload below.
	in_ns u2 timeout 40 ping -c 200 -i 0.1 -W 2 "$LAB_V_LAN" >"$LAB_TMP/ping_$t.txt" 2>&1 &
	ping_pid=$!
	lab_bg "$ping_pid"
	sleep 1

	pki revoke "$P" "$alice"
	"$CULVERTCTL" -s "${LAB_SOCK[$gw]}" reload >"$OUT" 2>&1 || fail "$t: culvertctl reload failed: $(cat "$OUT")"
	lab__deadline 5
	while [[ -n $(session_of "$gw" "$alice") ]]; do
		lab__before || fail "$t: alice's session is still in status --json 5 s after the reload"
		sleep 0.2
	done
	ok "$t: after pki revoke $alice and reload, alice's session is gone from status --json"
	grep -Eq "$t: ending the link to 192\.0\.2\.2:[0-9]+: its certificate \('$alice', serial [0-9a-f]+\) is revoked: 'crl' \(${P//./\\.}/crl\.pem\) lists it" "${LAB_LOG[$gw]}" ||
		fail "$t: the gateway did not log why it ended alice's link"
	grep -Eq "session $alice .*(ended|closed|down).*revoked" "${LAB_LOG[$gw]}" ||
		fail "$t: the gateway did not log the end of alice's session with the reason"
	ok "$t: the gateway says alice's certificate is revoked"
	lab_wait_log "$u" "session .* ended: .*[Rr]evoked" 5 ||
		fail "$t: alice's own log does not say her session ended because her certificate is revoked"
	ok "$t: alice's log says why: $(grep -m1 -E 'session .* ended' "${LAB_LOG[$u]}" | cut -d' ' -f2-)"

	lab_wait_log "$gw" "refused 192\.0\.2\.2:[0-9]+: its certificate \('$alice', serial [0-9a-f]+\) is revoked" 15 ||
		fail "$t: the gateway did not refuse alice's reconnect as revoked"
	lab_wait_log "$u" "[Rr]evoked" 5 || fail "$t: alice's log does not say her certificate is revoked"
	sleep 3
	[[ -z $(session_of "$gw" "$alice") ]] || fail "$t: alice came back after her revocation"
	ok "$t: alice's reconnects are refused at the handshake (revoked, in both logs)"

	# A corrupt CRL: the reload fails, names the file, and changes nothing.
	cp "$P/crl.pem" "$LAB_TMP/crl.good"
	printf -- '-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n' >"$P/crl.pem"
	"$CULVERTCTL" -s "${LAB_SOCK[$gw]}" reload >"$OUT" 2>&1 && fail "$t: a reload with a corrupt crl succeeded"
	grep -q "refused" "$OUT" || fail "$t: culvertctl reload did not report the failure: $(cat "$OUT")"
	lab_wait_log "$gw" "$t: 'crl' \(${P//./\\.}/crl\.pem\) holds no PEM certificate revocation list" 5 ||
		fail "$t: the gateway did not name the corrupt crl"
	lab_wait_log "$gw" "reload failed; the running config stays in force" 5 ||
		fail "$t: the gateway did not say the reload failed"
	cp "$LAB_TMP/crl.good" "$P/crl.pem"
	ok "$t: a reload with a corrupt crl fails, naming it, and keeps the running credentials"

	wait "$ping_pid"
	got=$(grep -Eo '[0-9]+ received' "$LAB_TMP/ping_$t.txt" | cut -d' ' -f1)
	[[ ${got:-0} == 200 ]] || fail "$t: bob's ping across it all got ${got:-0} of 200: $(tail -3 "$LAB_TMP/ping_$t.txt")"
	[[ $(session_of "$gw" "$bob") == "$bob_before" ]] ||
		fail "$t: bob's session changed: '$bob_before' before, '$(session_of "$gw" "$bob")' after"
	ok "$t: bob kept the same session ($bob_before), 200 of 200 pings across it all"

	for n in "$u" "$u2" "$gw"; do
		lab_stop "$n"
		rc=$?
		((rc == 0)) || fail "$t: $n's culvertd exited with status $rc after SIGTERM"
	done
done
exit 0
