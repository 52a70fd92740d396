#!/usr/bin/env bash
# password_prompt.sh - a client without password-file asks on its
# terminal (a pty here, driven by python3), and Control-C there stops it:
# in the foreground and detached, within seconds, with status 1, a line
# that says so, and the terminal's echo back on. After a password is
# typed, ^C is the loop's again: a clean stop, status 0.
# Topology: lab.sh, host U alone (no gateway runs: the client only asks).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
command -v python3 >/dev/null || skip "python3 not found"
lab_up
lab_pki "$LAB_TMP/pki"
lab_client_conf "$LAB_TMP/u.conf" username=alice "control-socket=$LAB_TMP/u.sock"

# prompt MODE : culvertd on a pty in U; MODE is how the test answers the
# prompt: "interrupt" (^C), or "type" (a password, then ^C once it
# connects). Prints the pty's output, then "status N" and "echo on|off".
prompt() {
	python3 - "$1" "$LAB_U" "$CULVERTD" "$LAB_TMP/u.conf" "${@:2}" <<'EOF'
import os, pty, select, sys, termios, time
mode, ns, culvertd, conf, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("ip", ["ip", "netns", "exec", ns, culvertd, "-c", conf, "-v"] + extra)
out = b""
def read_until(word, secs):
    global out
    end = time.monotonic() + secs
    while word not in out and time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return word in out
ok = read_until(b"Password for alice", 15)
if ok:
    time.sleep(0.3)            # asking now, signals blocked for the loop
    if mode == "type":
        os.write(fd, b"some password\n")
        read_until(b"connecting to", 10)
        time.sleep(0.3)
    os.write(fd, b"\x03")
status = None
end = time.monotonic() + 10
while time.monotonic() < end:
    read_until(b"\0", 0.1)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
echo = "on" if termios.tcgetattr(fd)[3] & termios.ECHO else "off"
sys.stdout.write(out.decode(errors="replace"))
print("\nstatus %s\necho %s" % (status, echo))
EOF
}

check() {   # check NAME OUTPUT STATUS ERE
	grep -q "^status $3\$" "$2" || fail "$1: culvertd ended with $(grep '^status' "$2"), expected $3: $(cat "$2")"
	grep -q '^echo on$' "$2" || fail "$1: the terminal's echo is still off"
	grep -Eq -- "$4" "$2" || fail "$1: no '$4' in: $(cat "$2")"
	ok "$1: status $3, echo on, '$(grep -Eo -- "$4" "$2" | head -n 1)'"
}

prompt interrupt -f >"$LAB_TMP/fg.out"
check "^C at the prompt, in the foreground" "$LAB_TMP/fg.out" 1 'Interrupt at the password prompt: stopping'
ip -n "$LAB_U" link show "$LAB_DEV" >/dev/null 2>&1 && fail "cv0 survived the interrupted client"

prompt interrupt >"$LAB_TMP/bg.out"
check "^C at the prompt, detaching" "$LAB_TMP/bg.out" 1 'Interrupt at the password prompt: stopping'

prompt type -f >"$LAB_TMP/typed.out"
check "^C once the password is typed and it connects" "$LAB_TMP/typed.out" 0 'Interrupt: stopping'
exit 0
