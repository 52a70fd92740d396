#!/usr/bin/env bash
# ctl_status.sh - the control socket, end to end over tls with passwords:
# `culvertctl status` has its header (mode, version, uptime, listen
# address, sessions up and pending), each session with its TLS version
# and cipher, keys' age and traffic in human units, the counters at 0
# only with --all; `show NAME` has one session in full; `status --json`
# parses, says null for what is absent, and its byte counters grow by at
# least a transfer made through the tunnel; `status --page N --page-size
# 1` lists one session a page and says which; `kick` ends a session; `reload` with
# a new password file keeps the live session up (a ping running across it
# loses nothing) and refuses a removed user at the next connect; a reload
# of a broken file keeps the running config. Topology: lab.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON (apt-get install python3)"
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
users=$LAB_TMP/users
lab_passwd "$users" alice 'alice pass'
lab_passwd "$users" bob 'bob pass'
printf 'alice pass\n' >"$LAB_TMP/alice.pass"
printf 'bob pass\n' >"$LAB_TMP/bob.pass"
chmod 600 "$LAB_TMP"/*.pass
lab_server_conf "$LAB_TMP/gw.conf" auth=password "password-file=$users"
lab_client_conf "$LAB_TMP/u.conf" cert= key= username=alice "password-file=$LAB_TMP/alice.pass" \
	rekey-interval=2
lab_client_conf "$LAB_TMP/u2.conf" cert= key= username=bob "password-file=$LAB_TMP/bob.pass"

lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "tls: listening" 10 || fail "gateway did not start listening"
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[gw]}" "$@"; }
json() {   # json PYTHON-EXPRESSION-ON-d : evaluate against status --json
	ctl status --json >"$LAB_TMP/status.json" 2>"$LAB_TMP/ctl.err" ||
		fail "culvertctl status --json failed: $(cat "$LAB_TMP/ctl.err")"
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$LAB_TMP/status.json" ||
		fail "status --json is not the JSON expected: $(cat "$LAB_TMP/status.json")"
}

lab_start u u "$LAB_TMP/u.conf"
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u 'tunnel up' 15 || fail "alice did not connect"
lab_wait_log u2 'tunnel up' 15 || fail "bob did not connect"
ok "alice and bob connected with passwords"

status() {   # status [ARGS] : culvertctl status into $LAB_TMP/status.txt
	ctl status "$@" >"$LAB_TMP/status.txt" 2>"$LAB_TMP/ctl.err" ||
		fail "culvertctl status $* failed: $(cat "$LAB_TMP/ctl.err")"
}
has() {   # has ERE WHAT : status.txt has a line matching ERE
	grep -qE "$1" "$LAB_TMP/status.txt" || fail "status has no $2: $(cat "$LAB_TMP/status.txt")"
}
status
has '^culvertd [0-9][^ ]*: server, up [0-9]+ seconds? \(since 20[0-9-]+ [0-9:]+ UTC\)$' "header line"
has '^listen: 192\.0\.2\.1:4433 \(tls\)$' "listen line"
has '^sessions: 2 up, 0 pending \(max-clients [0-9]+\)$' "count of sessions"
has '^session alice: up over tls, TLS1\.[23], [A-Z0-9-]+$' "line for alice over tls with its TLS version and cipher"
has '^  outer: 192\.0\.2\.2:[0-9]+  inner: 203\.0\.113\.[0-9]+$' "outer and inner address of a session"
has '^  connected: (just now|[0-9]+ seconds? ago)  keys made: (just now|[0-9]+ seconds? ago)$' "time of connection and of the keys"
ok "status has its header and alice's session: $(grep -A1 '^session alice' "$LAB_TMP/status.txt" | tr -s ' ' | tr '\n' ' ')"
grep -qE '^  (spoofed_source|malformed|no_route): 0$' "$LAB_TMP/status.txt" &&
	fail "status shows counters at 0 without --all: $(cat "$LAB_TMP/status.txt")"
has '^  sessions_up: 2$' "sessions_up counter"
status --all
has '^  spoofed_source: 0$' "spoofed_source: 0 with --all"
has '^  tls\.junk: 0$' "tls.junk: 0 with --all"
ok "the counters at 0 show only with --all"

# Pages: two sessions, one a page; each page lists its own, says which,
# and the JSON says the same; --page all lists both, a page beyond the
# last none, and a bad page is refused with the reason.
status --page-size 1
[[ $(grep -c '^session ' "$LAB_TMP/status.txt") == 1 ]] || fail "--page-size 1 lists $(grep -c '^session ' "$LAB_TMP/status.txt") sessions: $(cat "$LAB_TMP/status.txt")"
has '^sessions 1-1 of 2 listed \(page 1 of 2\): culvertctl status --page N for the others, --page all for every one$' "note of page 1 of 2"
first=$(sed -n 's/^session \([a-z]*\):.*/\1/p' "$LAB_TMP/status.txt")
status --page 2 --page-size 1
has '^sessions 2-2 of 2 listed \(page 2 of 2\)$' "note of page 2 of 2"
second=$(sed -n 's/^session \([a-z]*\):.*/\1/p' "$LAB_TMP/status.txt")
[[ "$(printf '%s\n' "$first" "$second" | sort | tr '\n' ' ')" == "alice bob " ]] ||
	fail "pages 1 and 2 of size 1 list '$first' and '$second', not alice and bob"
has '^  sessions_up: 2$' "counters on page 2"
status --page 3 --page-size 1
has '^no page 3: 2 sessions, 2 pages$' "note of a page beyond the last"
grep -q '^session ' "$LAB_TMP/status.txt" && fail "page 3 of 2 lists a session: $(cat "$LAB_TMP/status.txt")"
status --page all --page-size 1
[[ $(grep -c '^session ' "$LAB_TMP/status.txt") == 2 ]] || fail "--page all lists $(grep -c '^session ' "$LAB_TMP/status.txt") sessions"
grep -q 'listed' "$LAB_TMP/status.txt" && fail "--page all has a page note: $(cat "$LAB_TMP/status.txt")"
got=$(ctl status --json --page 2 --page-size 1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print([s["name"] for s in d["sessions"]], d["page"])')
[[ $got == "['$second'] {'page': 2, 'pages': 2, 'from': 2, 'count': 1, 'total': 2}" ]] ||
	fail "status --json --page 2 --page-size 1 gives $got"
ctl status --page 0 >"$LAB_TMP/status.txt" 2>&1 && fail "status --page 0 succeeded: $(cat "$LAB_TMP/status.txt")"
grep -q -- '--page takes a number from 1, or all' "$LAB_TMP/status.txt" || fail "status --page 0 said: $(cat "$LAB_TMP/status.txt")"
ok "status pages: $first on page 1, $second on page 2 of size 1 (text and JSON), none on page 3, both with --page all; --page 0 refused"

"$CULVERTCTL" -s "${LAB_SOCK[u]}" status >"$LAB_TMP/status.txt" 2>&1 || fail "culvertctl status on U: $(cat "$LAB_TMP/status.txt")"
has '^culvertd [^ ]+: client, ' "client's header"
has '^remote: 192\.0\.2\.1:4433 \(tls\)$' "client's remote line"
has '  certificate: expires in [0-9]+ (years?|days?)' "expiry of the server's certificate on the client"
ok "a client's status: its remote, and when the server's certificate expires"

before=$(json "[s for s in d['sessions'] if s['name']=='alice'][0]['tx_bytes']")
[[ $(json "len(d['sessions'])") == 2 ]] || fail "status --json lists $(json "len(d['sessions'])") sessions, expected 2"
lab_xfer 4
after=$(json "[s for s in d['sessions'] if s['name']=='alice'][0]['rx_bytes']")
(( after >= 4 * 1024 * 1024 )) ||
	fail "alice's rx_bytes is $after after a 4 MiB transfer from her"
ok "status --json parses; alice's rx_bytes grew to $after with a 4 MiB transfer (tx before: $before)"
# What is absent is null: no pool6, no client certificate (auth = password).
got=$(json "[(s['inner6'], s['peer_cert_expires'], s['identity'], s['protocol'][:3], s['keys_made'] is None, d['culvertd']['mode'], d['culvertd']['transports'][0]['listen']) for s in d['sessions'] if s['name']=='alice'][0]")
[[ $got == "(None, None, 'alice', 'TLS', False, 'server', '192.0.2.1:4433')" ]] ||
	fail "status --json gives alice's (inner6, peer_cert_expires, identity, protocol, keys_made is null, mode, listen) as $got"
json "sorted(k for s in d['sessions'] for k in s if s[k] is None) == ['group', 'group', 'inner6', 'inner6', 'peer_cert_expires', 'peer_cert_expires', 'radius', 'radius']" | grep -qx True ||
	fail "status --json has other nulls than group, inner6, peer_cert_expires and radius: $(cat "$LAB_TMP/status.json")"
[[ $(json "[s['login'] for s in d['sessions']]") == "['password', 'password']" ]] ||
	fail "status --json does not say the sessions logged in by password: $(cat "$LAB_TMP/status.json")"
ok "status --json: null for alice's inner6 and peer certificate, her TLS version and keys"
status
has '^  received [4-9]\.[0-9] MiB in [0-9]+ packets, sent [0-9.]+ (B|KiB|MiB) in [0-9]+ packets; last heard ' "traffic in MiB for alice"
ok "status shows the traffic in human units: $(grep -A3 '^session alice' "$LAB_TMP/status.txt" | tail -1)"

# alice rekeys every 2 s: both sides count the KeyUpdates and date the keys.
rekeys() {   # rekeys NAME : the rekeys of NAME's only session, from its status --json
	"$CULVERTCTL" -s "${LAB_SOCK[$1]}" status --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["rekeys"])'
}
for ((i = 0; i < 50; i++)); do
	[[ $(rekeys u) =~ ^[1-9] && $(json "[s['rekeys'] for s in d['sessions'] if s['name']=='alice'][0]") =~ ^[1-9] ]] && break
	sleep 0.2
done
((i < 50)) || fail "no rekey counted within 10 s of rekey-interval = 2: U says $(rekeys u), the gateway $(json "[s['rekeys'] for s in d['sessions'] if s['name']=='alice'][0]")"
age=$(json "[s['keys_age_s'] for s in d['sessions'] if s['name']=='alice'][0]")
((age <= 3)) || fail "alice's keys are $age s old with rekey-interval = 2"
ok "rekeys counted on both sides ($(rekeys u) on U), keys $age s old on the gateway"

ctl show alice >"$LAB_TMP/show.txt" 2>&1 || fail "culvertctl show alice: $(cat "$LAB_TMP/show.txt")"
for re in '^session alice$' '^  state: up$' '^  transport: tls$' '^  protocol: TLS1\.[23]$' \
	'^  cipher: [A-Z0-9-]+$' '^  outer address: 192\.0\.2\.2:[0-9]+$' '^  inner IPv6 address: -$' \
	'^  keys made: 20[0-9-]+ [0-9:]+ UTC \(.*\), [0-9]+ rekeys since the handshake$' \
	'^  received: [0-9]{7,} bytes \([4-9]\.[0-9] MiB\) in [0-9]+ packets$'; do
	grep -qE "$re" "$LAB_TMP/show.txt" || fail "show alice has no line like $re: $(cat "$LAB_TMP/show.txt")"
done
grep -q '^session bob' "$LAB_TMP/show.txt" && fail "show alice shows bob: $(cat "$LAB_TMP/show.txt")"
ctl show --json alice | python3 -c 'import json,sys; s=json.load(sys.stdin)["sessions"]; assert len(s) == 1 and s[0]["name"] == "alice", s' ||
	fail "show --json alice is not alice's session alone"
ctl show nobody >"$LAB_TMP/show.txt" 2>&1 && fail "show of an unknown name succeeded: $(cat "$LAB_TMP/show.txt")"
grep -q 'no session of that name' "$LAB_TMP/show.txt" || fail "show nobody said: $(cat "$LAB_TMP/show.txt")"
ok "show alice has her session in full (and --json alone); show of an unknown name fails"

# Reload with a new password file, while alice pings across it.
lab_passwd "$LAB_TMP/users.new" alice 'alice pass'
cp "$LAB_TMP/users.new" "$users"
in_ns u timeout 20 ping -c 60 -i 0.05 -W 1 "$LAB_V_LAN" >"$LAB_TMP/ping.txt" 2>&1 &
ping_pid=$!
lab_bg "$ping_pid"
sleep 1
ctl reload >"$LAB_TMP/reload.out" 2>&1 || fail "culvertctl reload failed: $(cat "$LAB_TMP/reload.out")"
lab_wait_log gw 'reloaded .*new settings apply to new sessions' 5 || fail "gateway did not log the reload"
wait "$ping_pid"
got=$(grep -Eo '[0-9]+ received' "$LAB_TMP/ping.txt" | cut -d' ' -f1)
[[ ${got:-0} == 60 ]] || fail "a ping across the reload got ${got:-0} of 60 replies: $(tail -3 "$LAB_TMP/ping.txt")"
ok "reload kept alice's session: 60 of 60 pings across it"
[[ $(json "len(d['sessions'])") == 2 ]] || fail "reload dropped a session"
ok "bob's live session stays after his removal from the file"

ctl kick bob >"$LAB_TMP/kick.out" 2>&1 || fail "culvertctl kick bob failed: $(cat "$LAB_TMP/kick.out")"
grep -q '1 session ended' "$LAB_TMP/kick.out" || fail "kick said: $(cat "$LAB_TMP/kick.out")"
lab_wait_log gw 'session bob kicked by the administrator' 5 || fail "gateway did not log the kick"
ok "kick ended bob's session"
lab_wait_log u2 'refused us: authentication failed' 20 ||
	fail "bob, removed by the reload, was not refused when he came back"
lab_wait_log gw "user 'bob': unknown user" 5 || fail "gateway did not log why bob was refused"
ok "bob, removed from the file, is refused at his next connect"
status
has '^  refused\.login_failed: [1-9][0-9]*$' "refused.login_failed line"
has '^  logins\.unknown_user: [1-9][0-9]*$' "logins.unknown_user line"
[[ $(json "d['logins']['ok'] >= 2 and d['logins']['unknown_user'] >= 1 and d['refused']['login_failed'] == d['logins']['unknown_user']") == True ]] ||
	fail "status --json counts logins and refusals as $(json "(d['logins'], d['refused'])")"
ok "status counts the refusal and the login by reason: $(grep -E '^  (refused|logins)\.' "$LAB_TMP/status.txt" | tr -s ' ' | tr '\n' ' ')"
ctl kick nobody >/dev/null 2>&1 && fail "kick of an unknown name succeeded"
ok "kick of an unknown name fails"

printf 'mode = server\npool = 10.0.0.0/33\n' >"$LAB_TMP/gw.conf.bad"
cp "$LAB_TMP/gw.conf" "$LAB_TMP/gw.conf.good"
cp "$LAB_TMP/gw.conf.bad" "$LAB_TMP/gw.conf"
ctl reload >/dev/null 2>&1 && fail "reload of a broken config succeeded"
lab_wait_log gw 'reload failed; the running config stays in force' 5 || fail "gateway did not say the reload failed"
cp "$LAB_TMP/gw.conf.good" "$LAB_TMP/gw.conf"
lab_ping 3 u || fail "the tunnel stopped working after a failed reload"
ok "a broken config is refused by reload and the tunnel keeps working"
exit 0
