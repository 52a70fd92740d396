#!/usr/bin/env bash
# malicious_server.sh - a server that answers hello with a crafted welcome
# (tests/tools/fake_server, in the gateway's namespace instead of culvertd)
# cannot crash or misconfigure a client. For each scenario a fresh client
# culvertd over udp must log the refusal naming the problem, say bye with
# the right reason, leave `ip route` and `ip addr` of its namespace exactly
# as they were (no address on cv0, cv0 still down), and keep running, back
# off and try again. One good scenario shows the same checks catch a
# welcome that is installed. Drawing of the lab: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
FAKE_SERVER=$(dirname "$CULVERTD")/../tests/tools/fake_server
[[ -x $FAKE_SERVER ]] || {
	echo "no $FAKE_SERVER: run this through make check" >&2
	exit 99
}
lab_up
lab_write_configs

# start_fake SCENARIO : the fake server on the gateway's address and port.
# It is registered as a lab daemon, so its output is printed on failure,
# lab_stop ends it by PID, and the EXIT trap ends it whatever happens.
start_fake() {
	local name=fake-$1
	LAB_LOG[$name]=$LAB_TMP/$name.log
	LAB_NSOF[$name]=$LAB_GW
	printf '[gw] %s %s %s %s\n' "$FAKE_SERVER" "$LAB_GW_PUB" "$LAB_PORT" "$1" >&2
	ip netns exec "$LAB_GW" "$FAKE_SERVER" "$LAB_GW_PUB" "$LAB_PORT" "$1" 60 \
		>"${LAB_LOG[$name]}" 2>&1 </dev/null &
	LAB_PID[$name]=$!
	LAB_START[$name]=$(lab__starttime "$!")
	LAB_NAMES+=("$name")
	lab_wait_log "$name" '^listening on' 5 || fail "fake server ($1) did not start"
}

net_state() {   # the client namespace's addresses and routes, every table
	ip -n "$LAB_U" -o addr show
	ip -n "$LAB_U" route show table all
	ip -n "$LAB_U" -6 route show table all
}

# IPv6 duplicate address detection settles u0's link-local address (and
# adds its local route) a moment after lab_up: wait for it, bounded.
dad_done() { ! ip -n "$LAB_U" -6 addr show | grep -q tentative; }
lab__wait 5 dad_done || fail "u0's IPv6 link-local address stays tentative"
BEFORE=$(net_state)

# scenario NAME BYE_REASON ERE : the client must log "server ... sent ...: ERE"
scenario() {
	local sc=$1 reason=$2 re=$3 client=u-$1 after
	start_fake "$sc"
	lab_start "$client" u "$LAB_TMP/u.conf"
	lab_wait_log "fake-$sc" '^welcome ' 10 || fail "$sc: the fake server sent no welcome"
	lab_wait_log "$client" "server $LAB_GW_PUB:$LAB_PORT sent .*: $re" 10 ||
		fail "$sc: the client did not log the refusal '$re'"
	lab_wait_log "fake-$sc" "^bye from .*: reason $reason " 5 ||
		fail "$sc: no bye with reason $reason reached the server"
	lab_wait_log "$client" 'reconnecting in' 5 ||
		fail "$sc: the client did not schedule a reconnect"
	after=$(net_state)
	[[ $after == "$BEFORE" ]] ||
		fail "$sc: addresses or routes changed:
$(diff <(echo "$BEFORE") <(echo "$after"))"
	ip -n "$LAB_U" -o link show dev "$LAB_DEV" | grep -q '[<,]UP[,>]' &&
		fail "$sc: $LAB_DEV was set up"
	grep -q 'tunnel up' "${LAB_LOG[$client]}" && fail "$sc: the client logged 'tunnel up'"
	lab_alive "$client" || fail "$sc: the client culvertd is gone"
	lab_stop "$client" 10 || fail "$sc: the client did not stop cleanly (status $?)"
	lab_stop "fake-$sc" 5
	ok "$sc: refused ($(grep -Eo "sent .*: $re" "${LAB_LOG[$client]}" | head -n 1 | cut -c 1-120)), nothing installed, bye reason $reason"
}

# The good welcome first: the same observations see what is installed.
start_fake good
lab_start u-good u "$LAB_TMP/u.conf"
lab_wait_log u-good 'tunnel up' 10 || fail "good: the client did not accept the lab's welcome"
after=$(net_state)
[[ $after != "$BEFORE" ]] || fail "good: the welcome changed nothing the test can see"
grep -q "inet $LAB_U_IN/24 .*$LAB_DEV\|$LAB_DEV .*inet $LAB_U_IN/24" <<<"$after" ||
	fail "good: no $LAB_U_IN/24 on $LAB_DEV: $after"
grep -q "^$LAB_LAN_NET dev $LAB_DEV" <<<"$after" || fail "good: no route to $LAB_LAN_NET: $after"
lab_stop u-good 10 || fail "good: the client did not stop cleanly"
lab_stop fake-good 5
# The kernel deletes cv0 and its routes a moment after culvertd exits.
state_as_before() { [[ $(net_state) == "$BEFORE" ]]; }
lab__wait 5 state_as_before ||
	fail "good: the client left addresses or routes behind:
$(diff <(echo "$BEFORE") <(net_state))"
ok "good: accepted and installed, and removed at the end"

scenario bad-address 5 'address 127\.0\.0\.2/8 is a loopback address'
scenario loopback-route 5 'route 2 \(127\.0\.0\.0/8\) leads to loopback addresses'
scenario multicast-route 5 'route 2 \(224\.0\.0\.0/4\) leads to multicast addresses'
scenario route-covers-server 5 "route 2 \\(192\\.0\\.2\\.0/24\\) covers the server's address 192\\.0\\.2\\.1"
scenario default-route 7 "route 2 \\(0\\.0\\.0\\.0/0\\) would send all of this client's traffic .*accept-default-route is no"
scenario route6 5 'route 2 \(2001:db8::/32\) is IPv6, but the server assigned no inner IPv6 address'
scenario server4-alone 5 'SERVER4 without ADDR4'
scenario route4-alone 5 'route 1 \(198\.51\.100\.0/24\) is IPv4, but the server assigned no inner IPv4 address'
scenario no-address 5 'welcome without ADDR4 or ADDR6'
scenario tiny-mtu 5 'MTU 500 out of range 576-65535'
scenario too-many-routes 5 'more than 64 routes'
scenario oversized 5 'oversized control message \([0-9]+ bytes, at most 1024\)'
scenario truncated 5 'truncated attribute'
scenario garbage 5 'truncated attribute'
scenario critical-attr 5 'unknown critical attribute 0x81'
