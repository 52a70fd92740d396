#!/usr/bin/env bash
# config_errors.sh - culvertd --check-config refuses bad configurations with
# a message a user can act on, and accepts a good one. No root, no network:
# only temp files.
# shellcheck disable=SC2317,SC2001  # helpers are called through check()
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail

[[ -n ${CULVERTD:-} && -x $CULVERTD ]] || {
	echo "CULVERTD is not set to an executable (it is '${CULVERTD:-}'): run this through make check" >&2
	exit 99
}
: "${CULVERT_PLUGIN_DIR:?run this through make check}" "${CULVERT_TEST_PLUGIN_DIR:?run this through make check}"

T=$(mktemp -d "${TMPDIR:-/tmp}/cvt-config_errors-$$.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
failed=0

# conf NAME : stdin -> $T/NAME.conf ; run NAME : --check-config on it,
# setting RC and ERR (stderr and stdout together, as a user sees them).
conf() { cat >"$T/$1.conf"; }
run() {
	RC=0
	ERR=$(timeout 10 "$CULVERTD" -c "$T/$1.conf" --check-config 2>&1 </dev/null) || RC=$?
}
# check DESCRIPTION CONDITION... : one line of output; on failure show why
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		echo "#   exit status $RC, output:"
		sed 's/^/#     /' <<<"${ERR:-(nothing)}"
		failed=$((failed + 1))
	fi
}
refused() { ((RC != 0 && RC != 124)); }
says() { grep -Eq -- "$1" <<<"$ERR"; }
says_all() {
	local re
	for re in "$@"; do says "$re" || return 1; done
}

common_server="listen = 192.0.2.1:4433
device = cv0
pool = 203.0.113.0/24
route = 198.51.100.0/24"

# 1. a transport nobody ships: name it and list what exists
conf pigeon <<-EOF
mode = server
transport = carrier-pigeon
insecure = yes
$common_server
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run pigeon
check "unknown transport 'carrier-pigeon' is refused" refused
check "the error names carrier-pigeon and lists udp among the plugins found" \
	says_all 'carrier-pigeon' '\budp\b'

# 2. a plugin built for ABI 999: refused, naming both versions
conf wrongabi <<-EOF
mode = server
transport = wrongabi
$common_server
plugin-dir = $CULVERT_TEST_PLUGIN_DIR
EOF
run wrongabi
check "a plugin built for ABI 999 is refused" refused
check "the error names the plugin's ABI 999 and culvertd's ABI 1" \
	says_all 'wrongabi' '\b999\b' '(version|ABI) 1\b'

# 2b. a plugin that leaves send() unset: refused, naming the callback
conf nosend <<-EOF
mode = server
transport = nosend
insecure = yes
$common_server
plugin-dir = $CULVERT_TEST_PLUGIN_DIR
EOF
run nosend
check "a plugin without send() is refused" refused
check "the error names the plugin and the callback send" \
	says_all 'nosend' "callback 'send' unset"

# 2c. a plugin with the first release's table (it ends before reload,
# stats and wire): loaded, and nothing past its size is used; its
# create() refuses, and says so
conf oldtable <<-EOF
mode = server
transport = oldtable
insecure = yes
$common_server
plugin-dir = $CULVERT_TEST_PLUGIN_DIR
EOF
run oldtable
check "a plugin with the first release's smaller table is loaded (its create refuses)" \
	says_all 'oldtable: oldtable is a test plugin' "transport 'oldtable' cannot start"

# 3. udp carries no security: without insecure = yes it is refused
conf noinsecure <<-EOF
mode = server
transport = udp
$common_server
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run noinsecure
check "udp without 'insecure = yes' is refused" refused
check "the error mentions insecure" says 'insecure'

# 4. a bad prefix: FILE:LINE: key 'pool': ... with the right line (5)
conf badpool <<-EOF
# line 1
mode = server
transport = udp
insecure = yes
pool = 203.0.113.0/33
listen = 192.0.2.1:4433
device = cv0
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run badpool
check "pool = 203.0.113.0/33 is refused" refused
check "the error reads '$T/badpool.conf:5: key 'pool': ...'" \
	says "(^|[ :])$T/badpool.conf:5: key 'pool': .*203\.0\.113\.0/33"
check "the error for /33 gives the range a pool may have, /8 to /30" \
	says "'203\.0\.113\.0/33' is not a usable pool \(expected an IPv4 prefix from /8 to /30\)"

# 5. a misspelt key: an error that suggests the right one (line 3)
conf typo <<-EOF
mode = server
transport = udp
pol = 203.0.113.0/24
insecure = yes
listen = 192.0.2.1:4433
device = cv0
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run typo
check "unknown key 'pol' is refused" refused
check "the error is at line 3, names 'pol' and suggests 'pool'" \
	says_all "$T/typo.conf:3:" "'pol'" "'?pool'?"

# 6. the lab's gateway config, and a client's: accepted
conf good <<-EOF
# gateway of the lab
mode = server
transport = udp
insecure = yes            # udp has no crypto: explicit opt-in
listen = 192.0.2.1:4433
device = cv0
pool = 203.0.113.0/24
route = 198.51.100.0/24

plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run good
check "a good server config passes --check-config (exit 0)" test "$RC" -eq 0
conf goodclient <<-EOF
mode = client
transport = udp
insecure = yes
remote = 192.0.2.1:4433
device = cv0
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run goodclient
check "a good client config passes --check-config (exit 0)" test "$RC" -eq 0

# 7. pam-service with user: pam_unix, run by the unprivileged daemon,
# checks no password but that user's own; culvertd warns (and starts).
if getent passwd nobody >/dev/null; then
	conf pamuser <<-EOF
	mode = server
	transport = udp
	insecure = yes
	listen = 192.0.2.1:4433
	pool = 203.0.113.0/24
	auth = password
	pam-service = login
	user = nobody
	plugin-dir = $CULVERT_PLUGIN_DIR
	EOF
	run pamuser
	pam_warned() { test "$RC" -eq 0 && says "pam-service = login with user = nobody" && says "unix_chkpwd"; }
	check "pam-service with user = nobody passes, with a warning that pam_unix cannot check others" pam_warned
fi

# 8. a file that does not exist: refused, naming it
RC=0
ERR=$(timeout 10 "$CULVERTD" -c "$T/missing.conf" --check-config 2>&1 </dev/null) || RC=$?
missing_named() { refused && says "$T/missing.conf"; }
check "a missing config file is refused, naming the file" missing_named

# 8. full tunnel and DNS keys: good ones pass, bad ones name the line
conf fulltunnel <<-EOF
mode = client
transport = udp
insecure = yes
remote = 192.0.2.1:4433
route = default
route = 198.51.100.0/24
route-table = 1000
fwmark = 0x10
block-ipv6 = yes
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run fulltunnel
check "a client with route = default, route-table, fwmark, block-ipv6 passes" test "$RC" -eq 0
conf badtable <<-EOF
mode = client
transport = udp
insecure = yes
remote = 192.0.2.1:4433
route-table = 254
fwmark = 0
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run badtable
check "route-table = 254 (main) and fwmark = 0 are refused, each at its line" \
	says_all "badtable.conf:5: key 'route-table': '254' is not a table number" \
	"badtable.conf:6: key 'fwmark': '0' is not a firewall mark"
conf dns <<-EOF
mode = server
transport = udp
insecure = yes
$common_server
route = default
dns = 198.51.100.53
dns = 2001:db8::53
dns-domain = corp.example
dns-domain = ~internal.example
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run dns
check "a server pushing route = default, dns and dns-domain passes" test "$RC" -eq 0
conf baddns <<-EOF
mode = server
transport = udp
insecure = yes
$common_server
dns = dns.example
dns-domain = corp;example
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run baddns
check "a DNS server by name and a domain with ';' are refused, each at its line" \
	says_all "baddns.conf:8: key 'dns': 'dns.example' is not an IPv4 or IPv6 address" \
	"baddns.conf:9: key 'dns-domain': 'corp;example' is not a domain name"
# 9. IPv6 inside: pool6 alone is an IPv6-only tunnel and passes; an IPv4
# route without pool (the v4 twin of the next) and an IPv6 route without
# pool6 are refused, a /65 is no pool6; each error at its line. A good
# one passes.
conf pool6only <<-EOF
mode = server
transport = udp
insecure = yes
pool6 = 2001:db8:100::/64
route = 2001:db8:200::/64
listen = [2001:db8::1]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run pool6only
check "pool6 without pool (an IPv6-only tunnel) passes --check-config" test "$RC" -eq 0
conf route4 <<-EOF
mode = server
transport = udp
insecure = yes
pool6 = 2001:db8:100::/64
route = 2001:db8:200::/64
route = 198.51.100.0/24
route = default
listen = [2001:db8::1]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run route4
check "an IPv4 route, and route = default, without pool are refused, each at its line" \
	says_all "$T/route4.conf:6: route 198.51.100.0/24 is IPv4, but there is no 'pool'" \
	"$T/route4.conf:7: route default is IPv4 .*route = ::/0"
conf nopool <<-EOF
mode = server
transport = udp
insecure = yes
listen = [2001:db8::1]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run nopool
check "a server with neither pool nor pool6 is refused, naming both" \
	says "key 'pool' or 'pool6' is missing for mode = server"
conf route6 <<-EOF
mode = server
transport = udp
insecure = yes
pool = 203.0.113.0/24
route = 2001:db8:200::/64
listen = [::]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run route6
check "an IPv6 route without pool6 is refused at its line" \
	says "$T/route6.conf:5: route 2001:db8:200::/64 is IPv6, but there is no 'pool6'"
conf pool6wide <<-EOF
mode = server
transport = udp
insecure = yes
pool = 203.0.113.0/24
pool6 = 2001:db8:100::/65
listen = [::]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run pool6wide
check "pool6 = .../65 is refused at its line" \
	says "$T/pool6wide.conf:5: key 'pool6': .*/16 to /64"
conf good6 <<-EOF
mode = server
transport = udp
insecure = yes
pool = 203.0.113.0/24
pool6 = 2001:db8:100::/64
route = 198.51.100.0/24
route = 2001:db8:200::/64
listen = [2001:db8::1]:4433
plugin-dir = $CULVERT_PLUGIN_DIR
EOF
run good6
check "pool6 with an IPv6 route and an IPv6 listen passes --check-config" test "$RC" -eq 0

# --help lists the keys of the plugins' sections too, with -c FILE from
# FILE's plugin-dir.
RC=0
ERR=$(timeout 10 "$CULVERTD" -c "$T/good6.conf" --help 2>&1 </dev/null) || RC=$?
check "culvertd -c FILE --help exits 0" test "$RC" -eq 0
check "--help lists the core's keys and those of the [tls], [dtls] and [udp] sections" \
	says_all '^  offload ' '^  metrics-listen ' '^Keys of a \[tls\] section:' '^Keys of a \[dtls\] section:' \
	'^  mtu +path MTU' '^Keys of a \[udp\] section:' '^  socket-buffer '
# 12. a key or password file every user may read: refused, as sshd does,
# unless strict-modes = no; the daemon's group may read it (0640)
printf 'not really a key\n' >"$T/server.key"
printf 'alice:!\n' >"$T/users"
chmod 644 "$T/server.key"
chmod 604 "$T/users"
secrets() {   # secrets NAME [LINE] : a server naming both files
	conf "$1" <<-EOF
	mode = server
	transport = udp
	insecure = yes
	$common_server
	key = $T/server.key
	password-file = $T/users
	plugin-dir = $CULVERT_PLUGIN_DIR
	${2:-}
	EOF
	run "$1"
}
secrets readable
check "a key and a password file every user may read are refused" refused
check "the error names each file, its mode and the fix" \
	says_all "'key' \($T/server.key\) can be read by every user \(mode 0644\).*chmod o-rwx" \
	"'password-file' \($T/users\) can be read by every user \(mode 0604\)"
secrets lax 'strict-modes = no'
check "strict-modes = no lets them be used, with a warning" \
	eval '((RC == 0)) && says "used anyway: strict-modes = no"'
chmod 640 "$T/server.key" "$T/users"
secrets private
check "mode 0640 (the daemon's group may read) passes --check-config" test "$RC" -eq 0

((failed == 0)) || {
	echo "# $failed check(s) failed"
	exit 1
}
exit 0
