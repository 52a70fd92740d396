#!/usr/bin/env bash
# ctl_status.sh - the control socket, end to end over tls with passwords:
# `culvertctl status --json` parses and its byte counters grow by at least
# a transfer made through the tunnel; `kick` ends a session; `reload` with
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
lab_client_conf "$LAB_TMP/u.conf" cert= key= username=alice "password-file=$LAB_TMP/alice.pass"
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

ctl status >"$LAB_TMP/status.txt" 2>"$LAB_TMP/ctl.err" || fail "culvertctl status failed: $(cat "$LAB_TMP/ctl.err")"
grep -qE '^alice +tls +192\.0\.2\.2:[0-9]+ +203\.0\.113\.' "$LAB_TMP/status.txt" ||
	fail "status has no line for alice over tls: $(cat "$LAB_TMP/status.txt")"
ok "status shows alice: $(grep '^alice' "$LAB_TMP/status.txt" | tr -s ' ')"

before=$(json "[s for s in d['sessions'] if s['identity']=='alice'][0]['tx_bytes']")
[[ $(json "len(d['sessions'])") == 2 ]] || fail "status --json lists $(json "len(d['sessions'])") sessions, expected 2"
lab_xfer 4
after=$(json "[s for s in d['sessions'] if s['identity']=='alice'][0]['rx_bytes']")
(( after >= 4 * 1024 * 1024 )) ||
	fail "alice's rx_bytes is $after after a 4 MiB transfer from her"
ok "status --json parses; alice's rx_bytes grew to $after with a 4 MiB transfer (tx before: $before)"

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
