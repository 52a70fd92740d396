#!/usr/bin/env bash
# dns_resolved.sh - the DNS a server pushes goes to systemd-resolved's D-Bus
# API on the client: SetLinkDNS and SetLinkDomains for the TUN device when
# the tunnel comes up, RevertLink when it goes down, and nothing in
# up-script's environment. Without resolved on the bus the client says so
# and up-script gets CULVERT_DNS instead. Topology: lab.sh (udp).
#
# No real resolved runs here: a private dbus-daemon stands in for the
# system bus (DBUS_SYSTEM_BUS_ADDRESS, which sd-bus honours) and
# tests/helpers/fake_resolved owns org.freedesktop.resolve1 on it and
# prints every call it gets. That proves what culvertd sends, not what a
# real resolved makes of it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
command -v dbus-daemon >/dev/null || skip "dbus-daemon not found: install dbus"
[[ -x ${CULVERT_FAKE_RESOLVED:-} ]] || skip "no tests/helpers/fake_resolved (built without libsystemd)"
lab_up
lab_forwarding on
lab_write_configs
printf '%s\n' "dns = 198.51.100.53" "dns = 2001:db8::53" "dns-domain = corp.example" \
	"dns-domain = ~internal.example" >>"$LAB_TMP/gw.conf"
H=$LAB_TMP/hooks
mkdir -p "$H"
cat >"$H/record" <<'SH'
#!/bin/sh
env | grep '^CULVERT_' | sort >"$(dirname "$0")/$1.env"
SH
chmod 755 "$H/record"
printf '%s\n' "route = default" "up-script = $H/record" "down-script = $H/record" >>"$LAB_TMP/u.conf"

# A private bus that lets anyone own and call anything.
cat >"$LAB_TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$LAB_TMP/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
timeout 120 dbus-daemon --config-file="$LAB_TMP/bus.conf" --nofork --nopidfile \
	>"$LAB_TMP/bus.out" 2>&1 </dev/null &
lab_bg "$!"
lab__wait 5 test -S "$LAB_TMP/bus" || fail "dbus-daemon did not start: $(cat "$LAB_TMP/bus.out")"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$LAB_TMP/bus
timeout 100 "$CULVERT_FAKE_RESOLVED" 90 >"$LAB_TMP/resolved.out" 2>&1 </dev/null &
lab_bg "$!"
fake=$!
lab__wait 5 grep -q ready "$LAB_TMP/resolved.out" ||
	fail "fake_resolved did not start: $(cat "$LAB_TMP/resolved.out")"
ok "a private system bus with a stand-in for systemd-resolved"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'udp: listening|listening' 10 || true
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client did not come up"
# route = default over udp: the transport's marked socket keeps the
# tunnel's own datagrams out of the tunnel.
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V with route = default over udp: $LAB_PING_RECEIVED of 3"
ok "route = default over udp: U reaches V ($LAB_PING_RECEIVED of 3)"
ifindex=$(ip -n "$LAB_U" -o link show dev "$LAB_DEV" | cut -d: -f1)
lab__wait 5 grep -q SetLinkDomains "$LAB_TMP/resolved.out" || fail "no call reached resolved: $(cat "$LAB_TMP/resolved.out")"
grep -qxF "SetLinkDNS $ifindex 198.51.100.53 2001:db8::53" "$LAB_TMP/resolved.out" ||
	fail "SetLinkDNS was not for $LAB_DEV ($ifindex) with both servers: $(cat "$LAB_TMP/resolved.out")"
grep -qxF "SetLinkDomains $ifindex corp.example:0 internal.example:1 .:1" "$LAB_TMP/resolved.out" ||
	fail "SetLinkDomains was not the search domain, the routing-only one and '.' for the default route: $(cat "$LAB_TMP/resolved.out")"
ok "resolved got: $(grep SetLink "$LAB_TMP/resolved.out" | tr '\n' ';')"
grep -q 'DNS for cv0 handed to systemd-resolved' "${LAB_LOG[u]}" || fail "the client did not log it"
lab__wait 5 test -s "$H/up.env" || fail "up-script did not run"
grep -q '^CULVERT_DNS' "$H/up.env" && fail "up-script got CULVERT_DNS although resolved took it"
ok "up-script gets no CULVERT_DNS when resolved took it"

lab_stop u || fail "client did not exit 0"
lab__wait 5 grep -qxF "RevertLink $ifindex" "$LAB_TMP/resolved.out" ||
	fail "no RevertLink $ifindex when the tunnel went down: $(cat "$LAB_TMP/resolved.out")"
ok "RevertLink $ifindex when the client stopped"

# Without resolved on the bus: the client says so, and up-script gets it.
kill "$fake"
wait "$fake" 2>/dev/null
rm -f "$H/up.env"
lab_start u2 u "$LAB_TMP/u.conf"
lab_wait_log u2 'tunnel up' 15 || fail "client did not come up without resolved"
grep -q 'systemd-resolved did not take the pushed DNS' "${LAB_LOG[u2]}" ||
	fail "the client did not say that resolved is not there"
lab__wait 5 test -s "$H/up.env" || fail "up-script did not run"
grep -qxF "CULVERT_DNS=198.51.100.53 2001:db8::53" "$H/up.env" ||
	fail "up-script lacks CULVERT_DNS: $(tr '\n' ' ' <"$H/up.env")"
ok "without resolved: $(grep -o 'systemd-resolved did not take[^:]*: [^)]*' "${LAB_LOG[u2]}" | head -n 1); up-script got CULVERT_DNS"
lab_stop u2 || fail "client did not exit 0"
exit 0
