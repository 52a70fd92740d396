#!/usr/bin/env bash
# tls_refusals.sh - every way a tls session must be refused, one case per
# line of the table below: a client that does not trust the server (wrong
# CA, wrong name, expired or not yet valid certificate, an impostor signed
# by another CA), and a server that does not trust the client (wrong
# password, unknown user, locked user, no client certificate, a certificate
# from another CA, alice's certificate with mallory's password, a
# certificate whose name holds a shell's metacharacter). Each case gets a
# fresh gateway; the bad client runs on
# U, must never get `tunnel up`, and the refusal must be logged in words a
# user can act on; then a good client on U2 still gets through and pings V.
# Hosts: drawing in lab.sh. CVT_TRANSPORT=dtls runs the same table over dtls.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"
T=${CVT_TRANSPORT:-tls}

lab_require
lab_require_tls "$T"
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
U=$LAB_TMP/users
lab_passwd "$U" alice 'correct horse'
lab_passwd "$U" bob 'battery staple'
lab_passwd "$U" carol 'carol 2 password'
lab_passwd "$U" mallory 'mallory password'
# carol is locked the way an admin does it: '!' before her hash.
sed -i 's/^carol:/carol:!/' "$U"
grep -q '^carol:!' "$U" || fail "could not lock carol in $U: $(cat "$U")"
pass() { (umask 077 && printf '%s\n' "$2" >"$LAB_TMP/$1.pass"); }
pass alice 'correct horse'
pass bob 'battery staple'
pass carol 'carol 2 password'
pass mallory 'mallory password'
pass wrong 'incorrect horse'
# eve's name, signed by the lab's CA, holds a character a shell reads.
lab__tmpl "$P/eve.tmpl" 'cn = "eve&id"' tls_www_client signing_key
lab__sign "$P" eve ca eve
ok "PKI in $P, users alice, bob, carol (locked), mallory in $U"

SPW="auth=password password-file=$U"   # a gateway that wants passwords
NOCERT="cert= key="                    # a client without a certificate
# name | gateway's K=V | bad client's K=V | where and what the refusal says
# (u: the bad client's log, gw: the gateway's; ERE, ';' between several)
NOTOK="gw:does not accept this server's certificate"   # the gateway's side of it
cases=(
	"wrong-ca          | | ca=$P/other-ca.crt | u:cannot connect to 192\.0\.2\.1:$LAB_PORT: the server's certificate is not signed by the CA in 'ca';$NOTOK"
	"impostor-server   | cert=$P/other-server.crt key=$P/other-server.key | | u:the server's certificate is not signed by the CA in 'ca';$NOTOK"
	"wrong-server-name | | server-name=wrong.example.org | u:the server's certificate is not valid for server-name 'wrong\.example\.org';$NOTOK"
	"expired-server    | cert=$P/expired.crt key=$P/expired.key | | u:the server's certificate has expired;$NOTOK"
	"future-server     | cert=$P/future.crt key=$P/future.key | | u:the server's certificate is not valid yet;$NOTOK"
	"wrong-password    | $SPW | $NOCERT username=alice password-file=$LAB_TMP/wrong.pass | u:refused us: authentication failed: wrong username or password;gw:refusing 192\.0\.2\.2:[0-9]+: user 'alice': wrong password"
	"unknown-user      | $SPW | $NOCERT username=dave password-file=$LAB_TMP/alice.pass | u:refused us: authentication failed: wrong username or password;gw:refusing 192\.0\.2\.2:[0-9]+: user 'dave': unknown user"
	"locked-user       | $SPW | $NOCERT username=carol password-file=$LAB_TMP/carol.pass | u:refused us: authentication failed: wrong username or password;gw:refusing 192\.0\.2\.2:[0-9]+: user 'carol': locked user"
	"no-client-cert    | auth=certificate | $NOCERT | u:the server refused the D?TLS handshake.*set 'cert' and 'key';gw:no client certificate"
	"foreign-client-cert | auth=certificate | cert=$P/mallory.crt key=$P/mallory.key | u:the server refused the D?TLS handshake.*'cert' is not signed by a CA the server trusts;gw:no client certificate"
	"expired-client-cert | auth=certificate | cert=$P/dave-expired.crt key=$P/dave-expired.key | u:'cert' .* expired on .*renew it;gw:refused 192\.0\.2\.2:[0-9]+: its certificate has expired"
	"cert-user-mismatch | auth=certificate+password password-file=$U | username=mallory password-file=$LAB_TMP/mallory.pass | u:refused us: authentication failed: the username is not the name in your certificate;gw:refusing 192\.0\.2\.2:[0-9]+: certificate 'alice' with the password of user 'mallory': the user name must be the certificate's name"
	"unsafe-identity   | auth=certificate | cert=$P/eve.crt key=$P/eve.key | u:refused us: authentication failed: the name in your certificate holds characters;gw:refusing 192\.0\.2\.2:[0-9]+: the name in its certificate, 'eve&id', holds characters other than"
)

trim() { local s=$1; s=${s#"${s%%[! ]*}"}; printf '%s' "${s%"${s##*[! ]}"}"; }
words() { read -ra W <<<"$1"; }   # the K=V words of a field (paths have no spaces)

run_case() {   # run_case LINE
	local name sconf cconf expect e re rc gw log said good=() exps=()
	IFS='|' read -r name sconf cconf expect <<<"$1"
	name=$(trim "$name")
	IFS=';' read -ra exps <<<"$(trim "$expect")"
	echo "# case $name"

	words "$sconf"
	lab_server_conf "$LAB_TMP/gw-$name.conf" "transport=$T" "${W[@]}"
	lab_start "gw-$name" gw "$LAB_TMP/gw-$name.conf"
	lab_wait_log "gw-$name" "$T: listening" 10 ||
		fail "$name: gateway did not log '$T: listening' within 10 s"

	words "$cconf"
	lab_client_conf "$LAB_TMP/bad-$name.conf" "transport=$T" "${W[@]}"
	lab_start "bad-$name" u "$LAB_TMP/bad-$name.conf"
	said=()
	for e in "${exps[@]}"; do
		re=${e#*:}
		case ${e%%:*} in
		u) log=bad-$name ;;
		gw) log=gw-$name ;;
		*) fail "internal: case $name: '$e' is neither u: nor gw:" ;;
		esac
		lab_wait_log "$log" "$re" 15 ||
			fail "$name: ${log%%-*} did not log /$re/ within 15 s"
		said+=("${log%%-*}: \"$(grep -Eo -- "$re.*" "${LAB_LOG[$log]}" | head -n 1 | cut -c 1-100)\"")
	done
	grep -q 'tunnel up' "${LAB_LOG[bad-$name]}" && fail "$name: the bad client got 'tunnel up'"
	[[ -z $(lab_inner u) ]] || fail "$name: the bad client has $(lab_inner u) on $LAB_DEV"
	lab_alive "gw-$name" || fail "$name: the gateway died"
	ok "$name: refused; ${said[*]}"

	# The good client: bob, with whatever this gateway asks for. It runs
	# while the bad one keeps trying, from another address (so a back-off
	# that the bad one earned does not apply to it). When the case gave the
	# gateway a bad certificate, no good client could trust it: a gateway
	# with the good one takes its place.
	gw=gw-$name
	if [[ $sconf == *cert=* ]]; then
		lab_stop "bad-$name"
		(($? != 124)) || fail "$name: the refused client did not stop on SIGTERM"
		lab_stop "$gw" || fail "$name: gateway exited with status $? on SIGTERM"
		gw=gw2-$name
		lab_server_conf "$LAB_TMP/$gw.conf" "transport=$T"
		lab_start "$gw" gw "$LAB_TMP/$gw.conf"
		lab_wait_log "$gw" "$T: listening" 10 ||
			fail "$name: the good gateway did not log '$T: listening' within 10 s"
	fi
	if [[ $sconf == *auth=certificate+password* ]]; then
		good=("cert=$P/bob.crt" "key=$P/bob.key" username=bob "password-file=$LAB_TMP/bob.pass")
	elif [[ $sconf == *auth=password* ]]; then
		good=(cert= key= username=bob "password-file=$LAB_TMP/bob.pass")
	else
		good=("cert=$P/bob.crt" "key=$P/bob.key")
	fi
	lab_client_conf "$LAB_TMP/good-$name.conf" "transport=$T" "${good[@]}"
	lab_start "good-$name" u2 "$LAB_TMP/good-$name.conf"
	lab_wait_log "good-$name" 'tunnel up' 15 ||
		fail "$name: the good client (u2, bob) did not get 'tunnel up' within 15 s"
	lab_ping 2 u2
	((LAB_PING_RECEIVED >= 1)) || fail "$name: the good client's ping -> V got no reply"
	ok "$name: a good client still gets through, ping u2 -> V: $LAB_PING_RECEIVED of 2"

	if [[ $sconf == *password-file=* ]]; then
		lab_counters "$gw" || fail "$name: no counters from the gateway"
		((${LAB_COUNTERS[auth_failed]:-0} >= 1)) ||
			fail "$name: auth_failed is '${LAB_COUNTERS[auth_failed]:-}' after a refused login"
		((${LAB_COUNTERS[refused]:-0} >= 1)) ||
			fail "$name: refused is '${LAB_COUNTERS[refused]:-}' after a refused login"
	fi

	lab_stop "good-$name" || fail "$name: good client exited with status $? on SIGTERM"
	lab_stop "bad-$name"
	rc=$?
	((rc != 124)) || fail "$name: the refused client did not stop on SIGTERM"
	lab_stop "$gw" || fail "$name: gateway exited with status $? on SIGTERM"
}

for c in "${cases[@]}"; do
	run_case "$c"
done

# A GnuTLS client sends no certificate that the server's list of CAs does
# not cover (foreign-client-cert above); openssl sends it anyway, and the
# gateway must check it and say why it is refused.
if command -v openssl >/dev/null; then
	echo "# case forced-foreign-client-cert"
	ossl=()
	[[ $T == dtls ]] && ossl=(-dtls)
	lab_server_conf "$LAB_TMP/gw-forced.conf" "transport=$T"
	lab_start gw-forced gw "$LAB_TMP/gw-forced.conf"
	lab_wait_log gw-forced "$T: listening" 10 || fail "gateway did not log '$T: listening' within 10 s"
	in_ns u timeout 10 openssl s_client "${ossl[@]}" -connect "$LAB_GW_PUB:$LAB_PORT" \
		-cert "$P/mallory.crt" -key "$P/mallory.key" -CAfile "$P/ca.crt" \
		</dev/null >"$LAB_TMP/forced.out" 2>&1
	re="refused 192\.0\.2\.2:[0-9]+: its certificate is not signed by the CA in 'ca'"
	lab_wait_log gw-forced "$re" 10 ||
		fail "forced-foreign-client-cert: the gateway did not log /$re/; openssl said: $(grep -iE 'alert|error' "$LAB_TMP/forced.out" | head -n 3)"
	ok "forced-foreign-client-cert: refused; gw: \"$(grep -Eo -- "$re.*" "${LAB_LOG[gw-forced]}" | head -n 1 | cut -c 1-100)\""
	lab_stop gw-forced || fail "gateway exited with status $? on SIGTERM"
else
	echo "# openssl not found: no forced-foreign-client-cert case"
fi
ok "every refusal over $T is logged, and good clients get through after each"
exit 0
