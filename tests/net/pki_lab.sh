#!/usr/bin/env bash
# pki_lab.sh - certificates made by `culvertctl pki` carry a real tunnel.
# A CA, the gateway's certificate for vpn.example.org (and 192.0.2.1), and
# client certificates for alice, bob and carol: alice (server-name
# vpn.example.org) and bob (no server-name: the host of remote, 192.0.2.1,
# in the IP SAN) get through and ping V; carol, with server-name
# wrong.example.org, is refused by name checking. Then `pki revoke` writes
# a CRL that certtool lists and verifies against the CA (enforcing it is
# culvertd's business, tested elsewhere). Hosts U, U2, U3 and the gateway:
# drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls
[[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]] || {
	echo "CULVERTCTL is not set to an executable (it is '${CULVERTCTL:-}'): run this through make check" >&2
	exit 99
}

P=$LAB_TMP/pki
LAB_PKI=$P   # lab_server_conf's defaults name it; every path is overridden below
OUT=$LAB_TMP/pki.out
pki() {   # pki ARGS... : culvertctl pki ARGS, which must succeed
	printf '[host] culvertctl pki %s\n' "$*" >&2
	"$CULVERTCTL" pki "$@" >"$OUT" 2>&1 || fail "culvertctl pki $*: $(cat "$OUT")"
	sed 's/^/    /' "$OUT"
}
pki_refused() {   # pki_refused ERE ARGS... : culvertctl pki ARGS must fail, saying ERE
	local re=$1
	shift
	printf '[host] culvertctl pki %s (must fail)\n' "$*" >&2
	"$CULVERTCTL" pki "$@" >"$OUT" 2>&1 && fail "culvertctl pki $* succeeded: $(cat "$OUT")"
	grep -Eq -- "$re" "$OUT" || fail "culvertctl pki $* did not say '$re': $(cat "$OUT")"
	sed 's/^/    /' "$OUT"
}
mode() { stat -c %a "$1"; }
serial() {   # serial FILE.crt : its serial, in hex, as certtool prints it
	certtool -i --infile "$1" 2>/dev/null | sed -n 's/^[[:space:]]*Serial Number (hex): //p'
}

# ------------------------------------------------------------ the PKI
pki init "$P" --cn "culvert lab CA"
pki server "$P" vpn.example.org --ip "$LAB_GW_PUB"
for u in alice bob carol; do
	pki client "$P" "$u"
done
for n in ca vpn.example.org alice bob carol; do
	[[ $(mode "$P/$n.key") == 600 ]] || fail "$P/$n.key has mode $(mode "$P/$n.key"), not 600"
	[[ $(mode "$P/$n.crt") == 644 ]] || fail "$P/$n.crt has mode $(mode "$P/$n.crt"), not 644"
done
[[ $(mode "$P") == 700 ]] || fail "$P has mode $(mode "$P"), not 700"
ok "culvertctl pki made a CA, vpn.example.org, alice, bob and carol: keys 600, certificates 644"

info=$(certtool -i --infile "$P/vpn.example.org.crt" 2>&1)
for want in 'Subject: CN=vpn.example.org' 'Issuer: CN=culvert lab CA' 'DNSname: vpn.example.org' \
	"IPAddress: $LAB_GW_PUB" 'TLS WWW Server' 'Certificate Authority \(CA\): FALSE'; do
	grep -Eq -- "$want" <<<"$info" || fail "vpn.example.org.crt lacks '$want': $info"
done
grep -q 'TLS WWW Client' <<<"$(certtool -i --infile "$P/alice.crt" 2>&1)" ||
	fail "alice.crt has no key purpose TLS WWW Client"
for n in vpn.example.org alice; do
	certtool --verify --load-ca-certificate "$P/ca.crt" --infile "$P/$n.crt" >"$OUT" 2>&1 ||
		fail "certtool --verify $n.crt against ca.crt: $(cat "$OUT")"
done
ok "certtool reads vpn.example.org.crt (SAN dns + ip, server auth) and verifies it and alice.crt"

before=$(sha256sum "$P/ca.crt" "$P/ca.key" "$P/alice.crt" "$P/alice.key")
pki_refused 'ca\.crt exists: not replacing it' init "$P"
pki_refused 'alice\.crt exists: not replacing it' client "$P" alice
pki_refused "'bad_name/x' is not a user name" client "$P" bad_name/x
pki_refused "'192\.0\.2\.300' is not an IPv4 or IPv6 address" server "$P" other.example.org --ip 192.0.2.300
[[ $(sha256sum "$P/ca.crt" "$P/ca.key" "$P/alice.crt" "$P/alice.key") == "$before" ]] ||
	fail "a refused culvertctl pki changed the CA's or alice's files"
[[ -z $(find "$P" -name '.*' -o -name 'other*') ]] || fail "files left behind in $P: $(ls -A "$P")"
ok "culvertctl pki refuses to overwrite, and refuses bad names, leaving nothing behind"

# ------------------------------------------------------------ the tunnel
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_server_conf "$LAB_TMP/gw.conf" "cert=$P/vpn.example.org.crt" \
	"key=$P/vpn.example.org.key" "ca=$P/ca.crt"
lab_client_conf "$LAB_TMP/u.conf" "ca=$P/ca.crt" server-name=vpn.example.org \
	"cert=$P/alice.crt" "key=$P/alice.key"
lab_client_conf "$LAB_TMP/u2.conf" "ca=$P/ca.crt" server-name= \
	"cert=$P/bob.crt" "key=$P/bob.key"
lab_client_conf "$LAB_TMP/u3.conf" "ca=$P/ca.crt" server-name=wrong.example.org \
	"cert=$P/carol.crt" "key=$P/carol.key"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
ok "gateway listens with vpn.example.org.crt"

declare -A user=([u]=alice [u2]=bob)
for c in u u2; do
	lab_start "$c" "$c" "$LAB_TMP/$c.conf"
done
for c in u u2; do
	lab_wait_log "$c" 'tunnel up' 15 || fail "client $c (${user[$c]}) did not log 'tunnel up' within 15 s"
	inner=$(lab_inner "$c")
	[[ -n $inner ]] || fail "client $c has no address on $LAB_DEV"
	grep -qE "session ${user[$c]} up over tls: inner address ${inner//./\\.}( |$)" "${LAB_LOG[gw]}" ||
		fail "gateway did not log 'session ${user[$c]} up over tls: inner address $inner'"
done
ok "alice and bob are up, and the gateway names them by their certificates' CN"
grep -q "certificate valid for '$LAB_GW_PUB'" "${LAB_LOG[u2]}" ||
	fail "u2 (no server-name) did not check the server's certificate for $LAB_GW_PUB, the host of remote"
ok "bob, without server-name, accepted the certificate for $LAB_GW_PUB (its IP SAN)"

for c in u u2; do
	lab_ping 3 "$c"
	((LAB_PING_RECEIVED >= 2)) || fail "ping $c -> V: $LAB_PING_RECEIVED of 3 replies"
	ok "ping $c (${user[$c]}) -> V: $LAB_PING_RECEIVED of 3 replies"
done

lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 "the server's certificate is not valid for server-name 'wrong\.example\.org'" 15 ||
	fail "carol (server-name wrong.example.org) did not log that the certificate is not valid for it"
grep -q 'tunnel up' "${LAB_LOG[u3]}" && fail "carol got a tunnel with server-name wrong.example.org"
ok "carol, with server-name wrong.example.org, is refused: not valid for server-name"

# ------------------------------------------------------------ revocation
bob_serial=$(serial "$P/bob.crt")
alice_serial=$(serial "$P/alice.crt")
[[ -n $bob_serial && -n $alice_serial ]] || fail "certtool printed no serial for bob.crt or alice.crt"
pki revoke "$P" bob
grep -q "revoked bob (serial $bob_serial)" "$OUT" || fail "pki revoke did not report bob's serial $bob_serial"
[[ $(mode "$P/crl.pem") == 644 ]] || fail "$P/crl.pem has mode $(mode "$P/crl.pem"), not 644"
crl=$(certtool --crl-info --infile "$P/crl.pem" 2>&1) || fail "certtool cannot read crl.pem: $crl"
grep -q "Serial Number (hex): $bob_serial" <<<"$crl" || fail "crl.pem does not list bob's serial $bob_serial: $crl"
grep -q "Serial Number (hex): $alice_serial" <<<"$crl" && fail "crl.pem lists alice's serial too: $crl"
grep -q 'Revoked certificates (1)' <<<"$crl" || fail "crl.pem does not hold exactly one certificate: $crl"
certtool --verify-crl --load-ca-certificate "$P/ca.crt" --infile "$P/crl.pem" >"$OUT" 2>&1 ||
	fail "certtool --verify-crl against ca.crt: $(cat "$OUT")"
grep -q 'Verified' "$OUT" || fail "certtool --verify-crl did not say Verified: $(cat "$OUT")"
ok "pki revoke bob: crl.pem lists serial $bob_serial, and verifies against ca.crt"

pki revoke "$P" alice
crl=$(certtool --crl-info --infile "$P/crl.pem" 2>&1) || fail "certtool cannot read crl.pem: $crl"
for s in "$bob_serial" "$alice_serial"; do
	grep -q "Serial Number (hex): $s" <<<"$crl" || fail "crl.pem does not list $s after revoking alice: $crl"
done
grep -q 'CRL Number (not critical): 02' <<<"$crl" || fail "crl.pem's number is not 02 after two revocations: $crl"
certtool --verify-crl --load-ca-certificate "$P/ca.crt" --infile "$P/crl.pem" >"$OUT" 2>&1 ||
	fail "certtool --verify-crl after extending: $(cat "$OUT")"
pki_refused 'ca\.crt is the CA itself' revoke "$P" ca
pki_refused 'nobody\.crt: No such file or directory' revoke "$P" nobody
ok "pki revoke alice extends the list (bob and alice, number 02), still verified"

for c in u u2 gw; do
	lab_stop "$c"
	rc=$?
	((rc == 0)) || fail "$c's culvertd exited with status $rc after SIGTERM"
done
ok "gateway and clients exit 0 on SIGTERM"
exit 0
