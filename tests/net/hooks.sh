#!/usr/bin/env bash
# hooks.sh - the administrator's scripts: client-connect-script sees the
# client's identity and addresses and refuses bob by exiting 1;
# client-disconnect-script runs when alice leaves; on the client,
# up-script sees the device, address and pushed routes and down-script
# runs when the tunnel goes down. Topology: lab.sh, hosts U and U2.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
P=$LAB_PKI
H=$LAB_TMP/hooks
mkdir -p "$H"
# Each script leaves its environment in a file named for its event and
# the identity (or "client"); bob is not welcome.
cat >"$H/record" <<'SH'
#!/bin/sh
env | grep '^CULVERT_' | sort >"$(dirname "$0")/$1-${CULVERT_IDENTITY:-client}.env"
[ "$1" = client-connect ] && [ "$CULVERT_IDENTITY" = bob ] && exit 1
exit 0
SH
chmod 755 "$H/record"
lab_server_conf "$LAB_TMP/gw.conf" "client-connect-script=$H/record" \
	"client-disconnect-script=$H/record"
lab_client_conf "$LAB_TMP/u.conf" "up-script=$H/record" "down-script=$H/record"
lab_client_conf "$LAB_TMP/u2.conf" "cert=$P/bob.crt" "key=$P/bob.key"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not start"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "alice was not let in"
lab__wait 5 test -s "$H/up-client.env" || fail "up-script did not run on U"
expect() {   # expect FILE LINE
	grep -qxF "$2" "$1" || fail "$(basename "$1") lacks '$2': $(tr '\n' ' ' <"$1")"
}
f=$H/client-connect-alice.env
expect "$f" CULVERT_EVENT=client-connect
expect "$f" CULVERT_IDENTITY=alice
expect "$f" CULVERT_INNER_ADDRESS=203.0.113.2
expect "$f" "CULVERT_DEVICE=$LAB_DEV"
expect "$f" CULVERT_TRANSPORT=tls
grep -q '^CULVERT_OUTER_ADDRESS=192\.0\.2\.2:[0-9]*$' "$f" || fail "client-connect saw no outer address"
ok "client-connect-script saw alice: $(tr '\n' ' ' <"$f")"
f=$H/up-client.env
expect "$f" CULVERT_EVENT=up
expect "$f" CULVERT_INNER_ADDRESS=203.0.113.2/24
expect "$f" CULVERT_ROUTES=198.51.100.0/24
expect "$f" "CULVERT_OUTER_ADDRESS=$LAB_GW_PUB:$LAB_PORT"
ok "up-script saw the tunnel: $(tr '\n' ' ' <"$f")"
lab_ping 3 u || fail "no ping for alice"

lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u2 "refused us: refused by policy: refused by the server's policy" 15 ||
	fail "bob was not refused by the client-connect-script"
lab_wait_log gw 'client-connect-script said no \(exit status 1\)' 5 ||
	fail "the gateway did not log why bob was refused"
grep -q 'tunnel up' "${LAB_LOG[u2]}" && fail "bob got a tunnel"
ok "client-connect-script refused bob (exit 1), and the gateway says so"

lab_stop u
lab__wait 5 test -s "$H/down-client.env" || fail "down-script did not run when U stopped"
expect "$H/down-client.env" CULVERT_EVENT=down
ok "down-script ran when U's tunnel went down"
lab__wait 10 test -s "$H/client-disconnect-alice.env" ||
	fail "client-disconnect-script did not run when alice left"
ok "client-disconnect-script ran when alice left"
exit 0
