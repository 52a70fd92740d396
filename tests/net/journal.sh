#!/usr/bin/env bash
# journal.sh - culvertd as the systemd unit runs it (-f, stderr on the
# journal's stream, JOURNAL_STREAM set), against a real systemd-journald
# of the test's own (journald.sh):
#   - every line reaches the journal natively, with its priority:
#     journalctl -p warning shows a refused login and not the session up;
#   - lines about a session carry SESSION, USER, PEER and TRANSPORT, so
#     that journalctl USER=alice finds alice's session, and its SESSION
#     number its whole life, from up to ended;
#   - nothing goes twice (natively and on the stream);
#   - where the journal does not answer, the lines go to stderr with
#     "<N>" priority prefixes and no time of culvertd's own.
# Topology: lab.sh, hosts U and U2.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/journald.sh
. "$(dirname "$0")/journald.sh"
jd_reexec "$@"
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
command -v python3 >/dev/null || skip "python3 not found"
jd_start
lab_up
lab_add_client 2
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_passwd "$LAB_TMP/users" alice "alice pw"
printf 'alice pw\n' >"$LAB_TMP/alice.pass"
printf 'not it\n' >"$LAB_TMP/wrong.pass"
chmod 600 "$LAB_TMP"/*.pass
# In our own /run (journald.sh): the default control socket is ours alone.
lab_server_conf "$LAB_TMP/gw.conf" auth=password "password-file=$LAB_TMP/users"
lab_client_conf "$LAB_TMP/u.conf" username=alice "password-file=$LAB_TMP/alice.pass"
lab_client_conf "$LAB_TMP/u2.conf" username=alice "password-file=$LAB_TMP/wrong.pass" \
	refused-retry=never

# The gateway as the unit runs it: -f, stdout and stderr on the stream.
jd_stream gw culvertd-gw "$CULVERTD" -c "$LAB_TMP/gw.conf" -f -v
GW_PID=$JD_PID
jd_wait 10 'tls: listening' _PID="$GW_PID" ||
	fail "the gateway logged nothing to the journal: $(jd_journal -n 20 -o cat)"
ok "the gateway under the journal's stream logs to the journal"

lab_start u u "$LAB_TMP/u.conf"
jd_wait 15 'session alice up over tls' USER=alice ||
	fail "journalctl USER=alice does not show alice's session: $(jd_journal -o verbose -n 5)"
lab_start u2 u2 "$LAB_TMP/u2.conf"
lab_wait_log u2 'trying again cannot fix that' 15 || fail "the wrong password was not refused"
lab_stop u
jd_wait 10 'session alice ended' USER=alice || fail "alice's session did not end in the journal"

# The fields of alice's lines, as JSON from journalctl itself.
jd_journal USER=alice -o json >"$LAB_TMP/alice.json"
python3 - "$LAB_TMP/alice.json" "$GW_PID" <<'EOF' >"$LAB_TMP/fields.txt" 2>&1 || fail "alice's entries: $(cat "$LAB_TMP/fields.txt")"
import json, re, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def one(pattern):
    found = [e for e in entries if re.search(pattern, e.get("MESSAGE", ""))]
    assert found, "no entry matches %r among %r" % (pattern, [e.get("MESSAGE") for e in entries])
    return found[0]
up, ended = one(r"^session alice up over tls"), one(r"^session alice ended")
for e in (up, ended):
    assert e["_PID"] == sys.argv[2], e
    assert e["SYSLOG_IDENTIFIER"] == "culvertd", e
    assert e["TRANSPORT"] == "tls", e
    assert re.fullmatch(r"192\.0\.2\.2:\d+", e["PEER"]), e
    assert re.fullmatch(r"\d+", e["SESSION"]), e
assert up["SESSION"] == ended["SESSION"], (up["SESSION"], ended["SESSION"])
assert up["PRIORITY"] == "5", up
print("SESSION=%s PEER=%s TRANSPORT=%s PRIORITY=%s" % (up["SESSION"], up["PEER"], up["TRANSPORT"], up["PRIORITY"]))
EOF
ok "lines about alice's session carry USER=alice $(cat "$LAB_TMP/fields.txt")"
session=$(sed -n 's/^SESSION=\([0-9]*\) .*/\1/p' "$LAB_TMP/fields.txt")
jd_journal SESSION="$session" _PID="$GW_PID" -o cat >"$LAB_TMP/session.txt"
grep -q 'up over tls' "$LAB_TMP/session.txt" && grep -q 'ended' "$LAB_TMP/session.txt" ||
	fail "journalctl SESSION=$session lacks its start or end: $(cat "$LAB_TMP/session.txt")"
ok "journalctl SESSION=$session shows that session from up to ended ($(wc -l <"$LAB_TMP/session.txt") lines)"

# Priorities: -p warning has the refusal, and no notice or info.
jd_journal _PID="$GW_PID" -p warning -o cat >"$LAB_TMP/warnings.txt"
grep -q "refusing 192\.0\.2\.3:[0-9]*: user 'alice': wrong password" "$LAB_TMP/warnings.txt" ||
	fail "journalctl -p warning lacks the refused login: $(cat "$LAB_TMP/warnings.txt")"
grep -Eq 'session alice up|listening' "$LAB_TMP/warnings.txt" &&
	fail "journalctl -p warning shows notice and info lines: $(cat "$LAB_TMP/warnings.txt")"
# Into a variable, not "| grep -q": under pipefail, grep leaving at the
# first match can fail the writer with SIGPIPE.
notices=$(jd_journal _PID="$GW_PID" -p notice..notice -o cat)
grep -q 'tls: listening' <<<"$notices" ||
	fail "'tls: listening' is not at priority notice"
ok "journalctl -p warning: $(head -n 1 "$LAB_TMP/warnings.txt")"
[[ -z $(jd_journal SYSLOG_IDENTIFIER=culvertd-gw -o cat) ]] ||
	fail "lines went to the journal twice, natively and on the stream: $(jd_journal SYSLOG_IDENTIFIER=culvertd-gw -o cat | head)"
ok "nothing went twice (natively and on the stream)"

# Without a journal to talk to, the stream's own format: "<N>" prefixes.
printf 'mode = server\nlisten = 192.0.2.1:4433\nbogus = 1\n' >"$LAB_TMP/bad.conf"
unshare -m --propagation private bash -c '
	mount -t tmpfs nojournal /run/systemd/journal || exit 99   # ours (journald.sh)
	exec 2>"$1"
	JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) "$2" -c "$3" --check-config
	' - "$LAB_TMP/stream.txt" "$CULVERTD" "$LAB_TMP/bad.conf"
grep -Eq "^<3>$LAB_TMP/bad\.conf:3: unknown key 'bogus'" "$LAB_TMP/stream.txt" ||
	fail "no '<3>' line on the stream without a journal: $(cat "$LAB_TMP/stream.txt")"
grep -Evq '^<[0-7]>' "$LAB_TMP/stream.txt" &&
	fail "a line without a priority prefix: $(cat "$LAB_TMP/stream.txt")"
ok "without a journal, stderr lines carry '<N>': $(head -n 1 "$LAB_TMP/stream.txt")"
"$CULVERTD" -c "$LAB_TMP/bad.conf" --check-config 2>"$LAB_TMP/plain.txt"
grep -q "^culvertd: error: $LAB_TMP/bad.conf:3: unknown key 'bogus'" "$LAB_TMP/plain.txt" ||
	fail "without JOURNAL_STREAM the words changed: $(cat "$LAB_TMP/plain.txt")"
ok "without JOURNAL_STREAM, the usual 'error:' lines"
exit 0
