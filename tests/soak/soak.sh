#!/usr/bin/env bash
# soak.sh - the churn soak (`make soak`; root; not part of make check).
#
# One gateway listens on tls and dtls at once (192.0.2.1:4433, TCP and
# UDP), auth = certificate+password. From host U, culvert-loadgen drives
# SOAK_CLIENTS sessions (default 200) over SOAK_SECONDS (default 300), half
# over tls and half over dtls, each up for a while, pinging the gateway's
# inner address, then saying bye; every 5th session misbehaves (a control
# message before its hello, a message of an unknown type, a packet from
# another session's inner address). At the same time inject.py sends junk,
# truncated and oversized records, and ClientHellos with forged cookies, to
# the listen ports. Hosts: the drawing in tests/net/lab.sh (U and the
# gateway only).
#
# It fails unless:
#  - every session the loadgens had welcomed is in the gateway's
#    sessions_up, and every session opened was closed at the end;
#  - each kind of abuse is counted under its name in `culvertctl status`
#    (tls.junk, tls.truncated_record, tls.oversized_record,
#    dtls.junk_datagram, dtls.bad_cookie, dtls.truncated_record,
#    dtls.oversized_record, before_hello, unknown_type, spoofed_source);
#  - the well-behaved traffic lost under 1% of its pings;
#  - the gateway, after every session ended, holds as many fds as after
#    the warm-up and its RSS grew by no more than SOAK_RSS_MARGIN_KB
#    (default 2048) or 10%, whichever is larger (not asserted under ASan,
#    whose quarantine holds freed memory on purpose; LeakSanitizer then
#    judges leaks at the gateway's exit);
#  - the gateway exits cleanly (status 0) at the end.
#
# CI's short variant: SOAK_SECONDS=45 SOAK_CLIENTS=60 make soak
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail
SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/net/lab.sh
. "$SOAK_DIR/../net/lab.sh"

SOAK_SECONDS=${SOAK_SECONDS:-300}
SOAK_CLIENTS=${SOAK_CLIENTS:-200}
SOAK_RSS_MARGIN_KB=${SOAK_RSS_MARGIN_KB:-2048}
LOADGEN=${CULVERT_LOADGEN:-}
PASSWORD=soak-password-1

[[ $SOAK_SECONDS =~ ^[0-9]+$ && $SOAK_SECONDS -ge 20 && $SOAK_SECONDS -le 86400 ]] ||
	{ echo "SOAK_SECONDS must be 20-86400, not '$SOAK_SECONDS'" >&2; exit 99; }
[[ $SOAK_CLIENTS =~ ^[0-9]+$ && $SOAK_CLIENTS -ge 4 && $SOAK_CLIENTS -le 100000 ]] ||
	{ echo "SOAK_CLIENTS must be 4-100000, not '$SOAK_CLIENTS'" >&2; exit 99; }
[[ -n $LOADGEN && -x $LOADGEN ]] ||
	{ echo "CULVERT_LOADGEN is not set to culvert-loadgen: run this through make soak" >&2; exit 99; }
lab_require
lab_require_tls tls
lab_require_tls dtls
command -v python3 >/dev/null || skip "python3 not found: install python3"

# Per transport: the sessions over the run, how many at once, and how
# long each is up, so that the run fills SOAK_SECONDS (with room for the
# handshakes and the drains).
PER=$((SOAK_CLIENTS / 2))
# At most 3 at once: each loadgen logs in as one user from one host, and
# the gateway lets a user at a host have 3 password checks under way
# before it makes the next wait (src/server/throttle.h).
AT_ONCE=$((PER / 10 > 2 ? PER / 10 : 2))
((AT_ONCE <= 3)) || AT_ONCE=3
HOLD=$((SOAK_SECONDS * AT_ONCE * 7 / (PER * 10)))
((HOLD >= 2)) || HOLD=2
RATE=5

lab_up
lab_pki "$LAB_TMP/pki"
lab_passwd "$LAB_TMP/users" alice "$PASSWORD"
lab_passwd "$LAB_TMP/users" bob "$PASSWORD"
# The tls sessions are all alice, the dtls ones bob: duplicate-identity =
# yes lets them be many at once, as a shared account would be.
lab_server_conf "$LAB_TMP/gw.conf" "transport=tls, dtls" \
	auth=certificate+password "password-file=$LAB_TMP/users" \
	duplicate-identity=yes
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'listening on .*UDP' 15 || fail "the gateway does not listen on dtls"
lab_wait_log gw 'listening on .*TCP' 5 || fail "the gateway does not listen on tls"
GW_PID=${LAB_PID[gw]}

# status_json : the gateway's status --json, its counters into CNT: the
# core's by name (before_hello), the transports' as tls.junk.
declare -A CNT=()
status_json() {
	local k v
	"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/status.err" ||
		fail "culvertctl status --json: $(cat "$LAB_TMP/status.err")"
	CNT=()
	while read -r k v; do CNT[$k]=$v; done < <(python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
for k, v in st["counters"].items(): print(k, v)
for t, c in st.get("transports", {}).items():
    for k, v in c.items(): print(t + "." + k, v)' "$LAB_TMP/status.json") ||
		fail "culvertctl status --json printed no JSON: $(cat "$LAB_TMP/status.json")"
}
counter() { echo "${CNT[$1]:-missing}"; }
# loadgen NAME TRANSPORT SESSIONS TOTAL HOLD [ARGS...] : in U, in the
# background, JSON summary in $LAB_TMP/NAME.json, log in NAME.log
loadgen() {
	local name=$1 t=$2 n=$3 total=$4 hold=$5 user=alice
	shift 5
	[[ $t == tls ]] || user=bob
	in_ns u "$LOADGEN" --transport "$t" --remote "$LAB_GW_PUB:$LAB_PORT" \
		--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
		--server-name vpn.example.org --cert "$LAB_PKI/$user.crt" --key "$LAB_PKI/$user.key" \
		--user "$user" --password "$PASSWORD" --sessions "$n" --total "$total" \
		--hold "$hold" --rate "$RATE" --duration $((SOAK_SECONDS + 60)) --json "$@" \
		>"$LAB_TMP/$name.json" 2>"$LAB_TMP/$name.log" </dev/null &
	LG_PIDS+=("$!")
	LG_NAMES+=("$name")
	lab_bg "$!"
}
# wait_loadgens : their exit, bounded by their own --duration. A loadgen
# exits 1 when sessions failed (judged from its summary), anything else
# is a crash or a sanitizer's report.
wait_loadgens() {
	local i rc
	for i in "${!LG_PIDS[@]}"; do
		wait "${LG_PIDS[i]}"
		rc=$?
		((rc <= 1)) || fail "culvert-loadgen ${LG_NAMES[i]} exited with status $rc: $(grep -v '^\[' "$LAB_TMP/${LG_NAMES[i]}.log" | tail -n 30)"
	done
	LG_PIDS=() LG_NAMES=()
}
# summaries NAME... : read the loadgens' JSON summaries for field NAME KEY
declare -A FIELD=()
summaries() {
	local n k v
	for n; do
		while read -r k v; do FIELD[$n.$k]=$v; done < <(python3 -c '
import json, sys
for k, v in json.load(open(sys.argv[1])).items(): print(k, v)' "$LAB_TMP/$n.json" 2>/dev/null)
	done
}
field() { echo "${FIELD[$1.$2]:-missing}"; }
# wait_idle SECS : until the gateway holds no session
wait_idle() {
	local i
	lab__deadline "$1"
	for ((i = 0; i < $1 * 5; i++)); do
		status_json
		[[ $(counter sessions) == 0 ]] && return 0
		lab__before || break
		sleep 0.2
	done
	return 1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status"; }
fds() { find "/proc/$GW_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# ---- warm-up: as many sessions at once as the soak holds, so that the
# gateway's heap and GnuTLS's caches reach their working size first.
LG_PIDS=() LG_NAMES=()
loadgen warm-tls tls "$AT_ONCE" "$AT_ONCE" 2
loadgen warm-dtls dtls "$AT_ONCE" "$AT_ONCE" 2
wait_loadgens
summaries warm-tls warm-dtls
for n in warm-tls warm-dtls; do
	[[ $(field $n failed) == 0 && $(field $n up) == "$AT_ONCE" ]] ||
		fail "warm-up $n: $(cat "$LAB_TMP/$n.json") $(tail -n 5 "$LAB_TMP/$n.log")"
done
wait_idle 15 || fail "sessions still open on the gateway after the warm-up"
RSS0=$(rss_kb) FD0=$(fds)
echo "# after warm-up: gateway RSS ${RSS0} KiB, ${FD0} fds"

# ---- the soak
echo "# soak: $SOAK_CLIENTS sessions over ${SOAK_SECONDS} s: per transport $PER, $AT_ONCE at once, each up ${HOLD} s, $RATE pings/s"
# The injector speaks from U's namespace, as a stranger there would.
ip netns exec "$LAB_U" python3 "$SOAK_DIR/inject.py" "$LAB_GW_PUB" "$LAB_PORT" "$LAB_PORT" \
	$((SOAK_SECONDS - 10)) >"$LAB_TMP/inject.json" 2>"$LAB_TMP/inject.log" </dev/null &
INJ=$!
lab_bg "$INJ"
loadgen soak-tls tls "$AT_ONCE" "$PER" "$HOLD" --abuse-every 5
loadgen soak-dtls dtls "$AT_ONCE" "$PER" "$HOLD" --abuse-every 5
wait_loadgens
wait "$INJ" || fail "inject.py failed: $(cat "$LAB_TMP/inject.log")"
summaries soak-tls soak-dtls
echo "# injected: $(cat "$LAB_TMP/inject.json")"
for n in soak-tls soak-dtls; do
	echo "# $n: $(cat "$LAB_TMP/$n.json")"
	[[ -s $LAB_TMP/$n.json ]] || fail "$n printed no summary: $(tail -n 20 "$LAB_TMP/$n.log")"
	[[ $(field $n failed) == 0 && $(field $n refused) == 0 && $(field $n lost) == 0 ]] ||
		fail "$n: sessions failed: $(grep -v '^\[' "$LAB_TMP/$n.log" | tail -n 20)"
	[[ $(field $n completed) == "$PER" ]] ||
		fail "$n: $(field $n completed) of $PER sessions completed within the run"
	python3 -c 'import sys; sys.exit(float(sys.argv[1]) >= 1.0)' "$(field $n ping_loss_pct)" ||
		fail "$n: $(field $n ping_loss_pct)% of the pings were lost (1% at most)"
	ok "$n: $PER sessions up, pinged and ended; $(field $n ping_loss_pct)% ping loss"
done

# ---- accounting: every session, every kind of abuse
wait_idle 15 || fail "sessions still open on the gateway after the soak"
"$CULVERTCTL" -c "$LAB_TMP/gw.conf" status >"$LAB_TMP/status.txt" 2>&1
sed 's/^/    /' "$LAB_TMP/status.txt"
UP=0
for n in warm-tls warm-dtls soak-tls soak-dtls; do UP=$((UP + $(field $n up))); done
[[ $(counter sessions_up) == "$UP" ]] ||
	fail "the gateway welcomed $(counter sessions_up) sessions, the loadgens $UP"
[[ $(counter sessions_opened) == "$(counter sessions_closed)" ]] ||
	fail "sessions opened $(counter sessions_opened), closed $(counter sessions_closed)"
HS=$(($(counter tls.handshakes) + $(counter dtls.handshakes)))
((HS >= UP)) || fail "the transports count $HS handshakes for $UP sessions"
ok "every session accounted for: $UP welcomed by the gateway and the loadgens, $HS handshakes"
for c in tls.junk tls.truncated_record tls.oversized_record dtls.junk_datagram \
	dtls.bad_cookie dtls.truncated_record dtls.oversized_record \
	before_hello unknown_type spoofed_source; do
	v=$(counter "$c")
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || fail "abuse counter $c is '$v', not above 0"
	grep -q "^ *$c: [1-9]" "$LAB_TMP/status.txt" || fail "culvertctl status shows no '$c:' line above 0"
done
ok "each kind of abuse dropped and counted by name"

# ---- leaks: memory and fds, with every session over
RSS1=$(rss_kb) FD1=$(fds)
GROWTH=$((RSS1 - RSS0))
MARGIN=$((RSS0 / 10 > SOAK_RSS_MARGIN_KB ? RSS0 / 10 : SOAK_RSS_MARGIN_KB))
echo "# at the end: gateway RSS ${RSS1} KiB (${GROWTH} KiB more than after warm-up; at most $MARGIN), ${FD1} fds (${FD0} after warm-up)"
((FD1 == FD0)) || { ls -l "/proc/$GW_PID/fd" >&2; fail "the gateway holds $FD1 fds, $FD0 after warm-up"; }
if grep -q 'libasan' "/proc/$GW_PID/maps" 2>/dev/null; then
	ok "fds steady; RSS growth not judged under ASan (LeakSanitizer judges at exit)"
else
	((GROWTH <= MARGIN)) || fail "the gateway's RSS grew by $GROWTH KiB (at most $MARGIN)"
	ok "fds steady, RSS grew by $GROWTH KiB (at most $MARGIN)"
fi
lab_stop gw 15
rc=$?
((rc == 0)) || fail "the gateway exited with status $rc (a sanitizer's report is in its log)"
ok "the gateway exits cleanly"
