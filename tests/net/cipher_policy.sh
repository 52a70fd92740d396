#!/usr/bin/env bash
# cipher_policy.sh - the default priorities of tls and dtls accept only
# AEAD ciphers with forward secrecy. The gateway listens on tls and dtls
# (one port) with an RSA certificate, the key that static RSA key exchange
# and DHE-RSA need, so that a refusal below is the priorities' and not the
# key type's. From U, gnutls-cli (with alice's certificate, as auth =
# certificate asks) offers in turn, on TLS 1.2 and on DTLS 1.2 (--udp):
#   CBC with SHA-1 (ECDHE, else as NORMAL)   must be refused
#   static RSA key exchange                  must be refused
#   DHE with the RSA key                     must be refused
#   gnutls-cli's defaults                    must connect, with an AEAD cipher
# and openssl s_client, a second implementation, offers CBC-SHA1 with
# static RSA (AES128-SHA) over TLS 1.2 and over DTLS 1.2, and is refused.
# Hosts: drawing in lab.sh (U and the gateway only).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_require_tls dtls
command -v gnutls-cli >/dev/null || skip "gnutls-cli not found: install gnutls-bin"
command -v openssl >/dev/null || skip "openssl not found: install openssl"
lab_up
lab_pki "$LAB_TMP/pki"

# The gateway's RSA certificate: same names as 'server', signed by ca.
printf '%s\n' 'cn = "vpn.example.org"' 'dns_name = "vpn.example.org"' \
	'ip_address = "192.0.2.1"' tls_www_server signing_key encryption_key \
	'activation_date = "2020-01-01 00:00:00 UTC"' \
	'expiration_date = "2099-12-31 23:59:59 UTC"' >"$LAB_TMP/rsa.tmpl"
(umask 077 && certtool --generate-privkey --key-type=rsa --bits=2048 \
	--outfile "$LAB_PKI/server-rsa.key" >/dev/null 2>"$LAB_TMP/certtool.err") ||
	fail "certtool: cannot make an RSA key: $(cat "$LAB_TMP/certtool.err")"
certtool --generate-certificate --load-privkey "$LAB_PKI/server-rsa.key" \
	--load-ca-certificate "$LAB_PKI/ca.crt" --load-ca-privkey "$LAB_PKI/ca.key" \
	--template "$LAB_TMP/rsa.tmpl" --outfile "$LAB_PKI/server-rsa.crt" \
	>/dev/null 2>"$LAB_TMP/certtool.err" ||
	fail "certtool: cannot sign the RSA certificate: $(cat "$LAB_TMP/certtool.err")"

lab_server_conf "$LAB_TMP/gw.conf" "transport=tls, dtls" \
	"cert=$LAB_PKI/server-rsa.crt" "key=$LAB_PKI/server-rsa.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
lab_wait_log gw 'dtls: listening' 10 || fail "gateway did not log 'dtls: listening' within 10 s"
ok "the gateway listens on tls and dtls with an RSA certificate"

# probe NAME UDP PRIORITY : gnutls-cli from U, its output in $LAB_TMP/NAME.out;
# returns gnutls-cli's status. UDP: --udp or "".
probe() {
	local name=$1 udp=$2 prio=$3
	# shellcheck disable=SC2086  # $udp is one word or none
	in_ns u timeout 15 gnutls-cli $udp --priority "$prio" \
		--x509cafile "$LAB_PKI/ca.crt" --x509certfile "$LAB_PKI/alice.crt" \
		--x509keyfile "$LAB_PKI/alice.key" -p "$LAB_PORT" "$LAB_GW_PUB" \
		</dev/null >"$LAB_TMP/$name.out" 2>&1
}

# refused NAME UDP PRIORITY WHAT : the probe must fail its handshake.
refused() {
	local name=$1 udp=$2 prio=$3 what=$4
	if probe "$name" "$udp" "$prio" || grep -q 'Handshake was completed' "$LAB_TMP/$name.out"; then
		fail "$what was accepted: $(grep -E '^- (Description|Version|Key Exchange|Cipher|MAC)' "$LAB_TMP/$name.out" | tr '\n' ' ')"
	fi
	ok "$what is refused: $(grep -m 1 -E '\*\*\*|Error' "$LAB_TMP/$name.out")"
}

for t in tls dtls; do
	if [[ $t == tls ]]; then udp= v=TLS1.2; else udp=--udp v=DTLS1.2; fi
	refused "$t-cbc" "$udp" "NORMAL:-VERS-ALL:+VERS-$v:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+SHA1" \
		"$t: a $v offer of CBC with SHA-1 only"
	refused "$t-rsa" "$udp" "NORMAL:-VERS-ALL:+VERS-$v:-KX-ALL:+RSA" \
		"$t: a $v offer of static RSA key exchange only"
	refused "$t-dhe" "$udp" "NORMAL:-VERS-ALL:+VERS-$v:-KX-ALL:+DHE-RSA" \
		"$t: a $v offer of DHE-RSA only"
	probe "$t-default" "$udp" NORMAL ||
		fail "$t: gnutls-cli with its defaults did not connect: $(grep -m 2 -E '\*\*\*|Error' "$LAB_TMP/$t-default.out")"
	desc=$(sed -n 's/^- Description: //p' "$LAB_TMP/$t-default.out")
	[[ $desc == *-GCM* || $desc == *CHACHA20-POLY1305* ]] ||
		fail "$t: the default client got '$desc', not an AEAD cipher"
	ok "$t: gnutls-cli with its defaults connects: $desc"
done

# openssl: AES128-SHA is static RSA with AES-128-CBC and SHA-1.
for t in tls dtls; do
	if [[ $t == tls ]]; then flag=-tls1_2; else flag=-dtls1_2; fi
	in_ns u timeout 15 openssl s_client "$flag" -cipher AES128-SHA \
		-CAfile "$LAB_PKI/ca.crt" -cert "$LAB_PKI/alice.crt" -key "$LAB_PKI/alice.key" \
		-connect "$LAB_GW_PUB:$LAB_PORT" </dev/null >"$LAB_TMP/$t-openssl.out" 2>&1
	cipher=$(sed -n 's/^ *Cipher *: *//p' "$LAB_TMP/$t-openssl.out" | head -n 1)
	[[ -z $cipher || $cipher == 0000 || $cipher == '(NONE)' ]] ||
		fail "$t: openssl s_client $flag -cipher AES128-SHA got cipher $cipher"
	ok "$t: openssl s_client $flag -cipher AES128-SHA is refused"
done

lab_alive gw || fail "the gateway died"
lab_stop gw || fail "the gateway exited with status $? on SIGTERM"
ok "the gateway exits 0 on SIGTERM"
exit 0
