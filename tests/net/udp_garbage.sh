#!/usr/bin/env bash
# udp_garbage.sh - whatever arrives on the gateway's udp port from a stranger
# (junk, an empty datagram, a truncated hello, data before any hello) is
# counted and dropped; the gateway stays up and the real tunnel keeps
# working. Drawing of the lab: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
command -v perl >/dev/null || skip "perl not found (it sends the datagrams): install perl-base"
lab_up
lab_forwarding on
lab_write_configs
lab_start gw gw "$LAB_TMP/gw.conf"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 10 || fail "client did not log 'tunnel up' within 10 s"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "tunnel does not carry ping before any garbage"
ok "tunnel up, ping U -> V works"

# send_udp ARG... : from U, one new socket (so a source port that is not
# the client's), one datagram per ARG: hex bytes ("" is an empty datagram),
# or burst:N for N datagrams of random length (0-1399) and contents whose
# type byte is anything but hello (a well-formed random hello would rightly
# open a session).
send_udp() {
	printf '[u] udp from a new socket to %s: %s\n' "$LAB_GW_PUB:$LAB_PORT" "${*:-(empty)}" |
		cut -c 1-160 >&2
	# shellcheck disable=SC2016  # perl code, not shell
	ip netns exec "$LAB_U" timeout 10 perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(Proto => "udp", PeerAddr => shift @ARGV)
			or die "socket: $@\n";
		open(my $r, "<:raw", "/dev/urandom") or die "/dev/urandom: $!\n";
		my @out;
		for my $a (@ARGV) {
			if ($a =~ /^burst:(\d+)$/) {
				for (1 .. $1) {
					read($r, my $b, 1 + int(rand(1400))) or die "read: $!\n";
					substr($b, 0, 1) = "\x02" if substr($b, 0, 1) eq "\x01";
					push @out, $b;
				}
			} else {
				push @out, pack("H*", $a);
			}
		}
		printf STDERR "    from source port %d: %d datagram(s)\n", $s->sockport, scalar @out;
		for my $b (@out) {
			defined $s->send($b) or die "send: $!\n";
		}' "$LAB_GW_PUB:$LAB_PORT" "$@" || fail "could not send datagrams from U"
}
rand_hex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }

counter() {   # counter NAME : CV = NAME from a fresh counters line of the gateway
	lab_counters gw || fail "gateway logged no 'counters:' line after SIGUSR1"
	CV=${LAB_COUNTERS[$1]:-}
	[[ $CV =~ ^[0-9]+$ ]] ||
		fail "counters line has no numeric '$1': $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"
}
# counter_rises NAME FROM : wait (bounded) until counter NAME (in CV) exceeds
# FROM; the datagrams may still sit in the socket when the signal is handled.
counter_rises() {
	local i
	for ((i = 0; i < 10; i++)); do
		counter "$1"
		((CV > $2)) && return 0
		sleep 0.2
	done
	return 1
}

counter malformed
malformed=$CV
counter unknown_type
unknown_type=$CV
counter before_hello
before_hello=$CV
counter sessions
((CV == 1)) || fail "gateway counts $CV sessions before the garbage, expected 1"
echo "# before: $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"

# Junk: unknown type bytes (0x80-0xff first), random lengths and contents;
# counted apart from malformed messages of known types.
junk=()
for ((i = 0; i < 5; i++)); do
	junk+=("$(printf '%02x' $((0x80 + RANDOM % 128)))$(rand_hex $((RANDOM % 300)))")
done
send_udp "${junk[@]}"
counter_rises unknown_type "$unknown_type" || fail "unknown_type stayed at $CV after 5 junk datagrams"
ok "5 junk datagrams: unknown_type $unknown_type -> $CV"

send_udp ""
counter_rises malformed "$malformed" || fail "malformed stayed at $CV after an empty datagram"
ok "empty datagram: malformed $malformed -> $CV"
malformed=$CV

send_udp 01
counter_rises malformed "$malformed" ||
	fail "malformed stayed at $CV after a truncated hello (one byte 0x01)"
ok "truncated hello: malformed $malformed -> $CV"

send_udp "00$(rand_hex 20)"
counter_rises before_hello "$before_hello" ||
	fail "before_hello stayed at $CV after a data message from a peer that never said hello"
ok "data before hello: before_hello $before_hello -> $CV"


# A burst of mixed garbage of every type byte but hello.
send_udp burst:200
sleep 0.5
lab_alive gw || fail "gateway died after a burst of 200 garbage datagrams"
ok "gateway survives a burst of 200 garbage datagrams"

lab_alive u || fail "client died"
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V after the garbage: $LAB_PING_RECEIVED of 5 replies"
ok "ping U -> V after the garbage: $LAB_PING_RECEIVED of 5 replies"
lab_counters gw && echo "# after: $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"

# Each stranger's source port may hold pre-hello state for a while (udp has
# no handshake of its own), but only a while: it must expire, leaving the
# client's session alone. Bounded: 30 s, one look a second.
lab__deadline 30
for ((i = 0; i < 40; i++)); do
	counter sessions
	((CV == 1)) && break
	lab__before || break
	sleep 1
done
((CV == 1)) || fail "gateway still counts $CV sessions 30 s after the garbage, expected 1"
ok "no state from the garbage is left after ${i}s (sessions=1)"
lab_alive gw || fail "gateway died"
ok "gateway still running"
exit 0
