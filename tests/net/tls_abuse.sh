#!/usr/bin/env bash
# tls_abuse.sh - strangers that open TCP connections and never finish a
# TLS handshake must not hurt real clients. While U keeps a steady ping to V
# (less than 1% loss allowed): U2 stalls mid-handshake (a TLS record header
# and nothing more) and must be cut off after handshake-timeout; then U2
# floods the gateway with 300 connections that never handshake, held open
# (and reopened when closed) for several seconds, during which a new client
# on U3 must still get its tunnel. Afterwards the gateway holds no stray
# connections. Hosts: drawing in lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

HS_TIMEOUT=3      # the gateway's handshake-timeout, seconds
FLOOD=300         # connections held at once
FLOOD_SECS=8      # how long the flood lasts
PINGS=300         # at 0.05 s: 15 s, covering the stall and the flood

lab_require
lab_require_tls tls
perl -MIO::Select -MTime::HiRes -e 1 2>/dev/null || skip "perl with Time::HiRes not found (it opens the connections): install perl"
lab_up
lab_add_client 2
lab_add_client 3
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "handshake-timeout=$HS_TIMEOUT"
lab_client_conf "$LAB_TMP/u.conf"
lab_client_conf "$LAB_TMP/u3.conf" "cert=$LAB_PKI/carol.crt" "key=$LAB_PKI/carol.key"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'tls: listening' 10 || fail "gateway did not log 'tls: listening' within 10 s"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "client u did not log 'tunnel up' within 15 s"
ok "u is up over tls; gateway has handshake-timeout = $HS_TIMEOUT"

estab() {   # TCP connections the gateway has established on its port
	ip netns exec "$LAB_GW" ss -Htn state established "( sport = :$LAB_PORT )" | wc -l
}

# The steady ping, in the background for the whole test.
printf '[u] ping -c %s -i 0.05 %s  (in the background)\n' "$PINGS" "$LAB_V_LAN" >&2
ip netns exec "$LAB_U" timeout $((PINGS / 20 + 20)) \
	ping -c "$PINGS" -i 0.05 -W 1 "$LAB_V_LAN" >"$LAB_TMP/steady.ping" 2>&1 </dev/null &
ping_pid=$!
lab_bg "$ping_pid"

# The staller: a TLS record header (handshake, 512 bytes to follow), 2 of
# the 512 bytes, then silence. Reports when the gateway hangs up.
# shellcheck disable=SC2016  # perl code, not shell
stall=$(in_ns u2 timeout 30 perl -MIO::Socket::INET -MIO::Select -MTime::HiRes=time -e '
	my ($peer, $limit) = @ARGV;
	my $s = IO::Socket::INET->new(PeerAddr => $peer, Proto => "tcp", Timeout => 3)
		or die "connect $peer: $@\n";
	syswrite($s, "\x16\x03\x01\x02\x00\x01\x00") == 7 or die "write: $!\n";
	my $t0 = time;
	my $sel = IO::Select->new($s);
	while (time - $t0 < $limit) {
		next unless $sel->can_read(0.2);
		my $n = sysread($s, my $buf, 4096);
		if (!$n) { printf "%.1f\n", time - $t0; exit 0 }
	}
	print "open\n";' "$LAB_GW_PUB:$LAB_PORT" $((HS_TIMEOUT + 10)) 2>"$LAB_TMP/stall.err")
[[ $stall =~ ^[0-9.]+$ ]] ||
	fail "a client stalled mid-handshake was not cut off within $((HS_TIMEOUT + 10)) s: $stall $(cat "$LAB_TMP/stall.err")"
awk -v t="$stall" -v h="$HS_TIMEOUT" 'BEGIN { exit !(t >= h - 1 && t <= h + 3) }' ||
	fail "a stalled handshake was cut off after ${stall}s, expected about handshake-timeout ($HS_TIMEOUT s)"
ok "a client stalled mid-handshake is cut off after ${stall}s (handshake-timeout $HS_TIMEOUT)"

# The flood: FLOOD connections that send nothing, each reopened when the
# gateway closes it, for FLOOD_SECS; at most 20 * FLOOD connects in all.
printf '[u2] perl: %s TCP connections to %s held %s s, reopened when closed\n' \
	"$FLOOD" "$LAB_GW_PUB:$LAB_PORT" "$FLOOD_SECS" >&2
# shellcheck disable=SC2016  # perl code, not shell
ip netns exec "$(lab__ns u2)" timeout $((FLOOD_SECS + 15)) perl -MIO::Socket::INET \
	-MIO::Select -MTime::HiRes=time,sleep -e '
	my ($peer, $n, $secs, $max) = @ARGV;
	$| = 1;
	my ($tries, $opened, $closed, $failed, $most) = (0, 0, 0, 0, 0);
	my $end = time + $secs;
	my @s;
	sub one {
		$tries++;
		my $s = IO::Socket::INET->new(PeerAddr => $peer, Proto => "tcp", Timeout => 1);
		$s ? $opened++ : $failed++;
		return $s;
	}
	for my $i (0 .. $n - 1) { last if time >= $end; $s[$i] = one() }
	print "flood: ", scalar(grep { defined } @s), " open\n";
	while (time < $end) {
		my $sel = IO::Select->new(grep { defined } @s);
		for my $r ($sel->can_read(0.1)) {
			next if sysread($r, my $buf, 4096);
			for (@s) { $_ = undef if defined && $_ == $r }
			close $r;
			$closed++;
		}
		my $open = grep { defined } @s;
		$most = $open if $open > $most;
		for (@s) { last if time >= $end || $tries >= $max; $_ //= one() }
		sleep 0.05;
	}
	print "flood: $tries connects, $opened made, $failed failed, $closed closed by the gateway, at most $most open at once\n";
	' "$LAB_GW_PUB:$LAB_PORT" "$FLOOD" "$FLOOD_SECS" $((FLOOD * 20)) \
	>"$LAB_TMP/flood.out" 2>&1 </dev/null &
flood_pid=$!
lab_bg "$flood_pid"
flood_st=$(lab__starttime "$flood_pid")
lab__deadline 10
for ((i = 0; i < 200; i++)); do
	grep -q 'open$' "$LAB_TMP/flood.out" && break
	lab__alive "$flood_pid" "$flood_st" || break
	lab__before || break
	sleep 0.05
done
grep -q 'open$' "$LAB_TMP/flood.out" || fail "the flood did not start: $(cat "$LAB_TMP/flood.out")"
ok "$(grep 'open$' "$LAB_TMP/flood.out"); the gateway holds $(estab) TCP connections"

# A new client in the middle of the flood.
lab_start u3 u3 "$LAB_TMP/u3.conf"
lab_wait_log u3 'tunnel up' $((FLOOD_SECS - 2)) ||
	fail "a new client (u3) did not get its tunnel during the flood: $(cat "$LAB_TMP/flood.out")"
lab__alive "$flood_pid" "$flood_st" ||
	fail "the flood ended before u3 came up, so this proves nothing: $(cat "$LAB_TMP/flood.out")"
ok "a new client (u3) gets its tunnel during the flood"
lab_ping 3 u3
((LAB_PING_RECEIVED >= 2)) || fail "ping u3 -> V during the flood: $LAB_PING_RECEIVED of 3"
ok "ping u3 -> V during the flood: $LAB_PING_RECEIVED of 3"

lab__deadline $((FLOOD_SECS + 15))
for ((i = 0; i < (FLOOD_SECS + 15) * 10; i++)); do
	lab__alive "$flood_pid" "$flood_st" || break
	lab__before || break
	sleep 0.1
done
wait "$flood_pid" 2>/dev/null
sed 's/^/    /' "$LAB_TMP/flood.out"
grep -q 'connects' "$LAB_TMP/flood.out" || fail "the flood did not finish properly"
ok "flood over: $(grep connects "$LAB_TMP/flood.out" | sed 's/^flood: //')"

lab__deadline $((PINGS / 20 + 20))
for ((i = 0; i < (PINGS / 20 + 20) * 10; i++)); do
	grep -q 'packets transmitted' "$LAB_TMP/steady.ping" && break
	lab__before || break
	sleep 0.1
done
wait "$ping_pid" 2>/dev/null
sent=$(sed -n 's/^\([0-9][0-9]*\) packets transmitted.*/\1/p' "$LAB_TMP/steady.ping")
got=$(sed -n 's/.* \([0-9][0-9]*\) received.*/\1/p' "$LAB_TMP/steady.ping")
[[ -n $sent && -n $got ]] || fail "the steady ping did not finish: $(tail -n 3 "$LAB_TMP/steady.ping")"
tail -n 2 "$LAB_TMP/steady.ping" | sed 's/^/    /'
((sent == PINGS && (sent - got) * 100 < sent)) ||
	fail "steady ping u -> V through the stall and the flood: $got of $sent replies (1% loss or more)"
ok "steady ping u -> V through the stall and the flood: $got of $sent replies"

# Nothing of the flood may stay: only u's and u3's connections remain.
lab__deadline $((HS_TIMEOUT + 5))
for ((i = 0; i < (HS_TIMEOUT + 5) * 10; i++)); do
	(($(estab) <= 2)) && break
	lab__before || break
	sleep 0.1
done
n=$(estab)
((n <= 2)) || fail "the gateway still holds $n TCP connections $((HS_TIMEOUT + 5)) s after the flood (expected 2)"
ok "the gateway is back to $n TCP connections (u and u3)"
lab_alive gw || fail "gateway died"
lab_alive u || fail "client u died"
lab_counters gw && echo "# $(grep 'counters: ' "${LAB_LOG[gw]}" | tail -n 1)"
exit 0
