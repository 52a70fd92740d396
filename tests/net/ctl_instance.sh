#!/usr/bin/env bash
# ctl_instance.sh - which culvertd culvertctl talks to without -c or -s:
# the only one that runs, found in /run/culvert; when two run, an error
# that names both; -n NAME for the instance of NAME.conf (culvertd@NAME),
# through the daemon's own rule for its socket (control_instance_path);
# -n of one that does not run fails naming where it looked. The test runs
# in a mount namespace of its own with an empty tmpfs on /run, so that no
# other culvertd on the machine (another test's) is in the way, and
# culvertd meets a /run without /run/culvert, as after a boot.
# Topology: lab.sh (the gateway and U, over tls).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
if [[ -z ${LAB_OWN_RUN:-} ]]; then
	[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (a mount namespace)"; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: unshare not found (util-linux)"; exit 77; }
	LAB_OWN_RUN=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
mount -t tmpfs -o mode=0755,size=8m cvt-run /run || skip "cannot mount a tmpfs on /run in a mount namespace"
[[ ! -e /run/culvert ]] || fail "/run/culvert exists in a fresh tmpfs"
ok "a /run of our own, without /run/culvert"

lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gateway.conf"
lab_client_conf "$LAB_TMP/u.conf"
grep -q control-socket "$LAB_TMP/gateway.conf" "$LAB_TMP/u.conf" && fail "a config names a control-socket"
ctl() {   # ctl ARGS : culvertctl, its output (both streams) in $LAB_TMP/ctl.out
	timeout 15 "$CULVERTCTL" "$@" >"$LAB_TMP/ctl.out" 2>&1
}

ctl status && fail "culvertctl status succeeded with no culvertd running: $(cat "$LAB_TMP/ctl.out")"
grep -q 'no culvertd answers in /run/culvert' "$LAB_TMP/ctl.out" ||
	fail "culvertctl status with none running said: $(cat "$LAB_TMP/ctl.out")"
ok "with none running, culvertctl status says so"

lab_start gw gw "$LAB_TMP/gateway.conf"
lab_wait_log gw "tls: listening" 10 || fail "gateway did not start listening"
ctl status || fail "culvertctl status (the only instance) failed: $(cat "$LAB_TMP/ctl.out")"
grep -q '^culvertd [^ ]*: server, up ' "$LAB_TMP/ctl.out" || fail "culvertctl status showed: $(cat "$LAB_TMP/ctl.out")"
ok "culvertctl status finds the only instance, the gateway"

lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "U did not connect"
ctl status && fail "culvertctl status chose one of two instances: $(cat "$LAB_TMP/ctl.out")"
grep -qE '2 culvertd instances run: (gateway, u|u, gateway); choose one with -n NAME' "$LAB_TMP/ctl.out" ||
	fail "culvertctl status with two running said: $(cat "$LAB_TMP/ctl.out")"
ok "with two running, culvertctl status names both: $(cat "$LAB_TMP/ctl.out")"

ctl -n gateway status || fail "culvertctl -n gateway status: $(cat "$LAB_TMP/ctl.out")"
grep -q '^culvertd [^ ]*: server, ' "$LAB_TMP/ctl.out" || fail "-n gateway showed: $(cat "$LAB_TMP/ctl.out")"
grep -q '^session alice: up over tls' "$LAB_TMP/ctl.out" || fail "-n gateway does not show alice: $(cat "$LAB_TMP/ctl.out")"
ctl -n u status || fail "culvertctl -n u status: $(cat "$LAB_TMP/ctl.out")"
grep -q '^culvertd [^ ]*: client, ' "$LAB_TMP/ctl.out" || fail "-n u showed: $(cat "$LAB_TMP/ctl.out")"
ctl -n gateway show alice || fail "culvertctl -n gateway show alice: $(cat "$LAB_TMP/ctl.out")"
ok "-n gateway and -n u reach the instance of gateway.conf and of u.conf"

ctl -n nosuch status && fail "culvertctl -n nosuch succeeded: $(cat "$LAB_TMP/ctl.out")"
grep -q 'cannot reach culvertd at /run/culvert/.*nosuch' "$LAB_TMP/ctl.out" ||
	fail "culvertctl -n nosuch said: $(cat "$LAB_TMP/ctl.out")"
ctl -n ../etc status && fail "culvertctl -n ../etc succeeded"
grep -q "is not an instance name" "$LAB_TMP/ctl.out" || fail "culvertctl -n ../etc said: $(cat "$LAB_TMP/ctl.out")"
ok "-n of an instance that does not run, or of a path, fails saying why"

lab_stop u || fail "U did not stop cleanly"
ctl status || fail "culvertctl status after U stopped: $(cat "$LAB_TMP/ctl.out")"
grep -q '^culvertd [^ ]*: server, ' "$LAB_TMP/ctl.out" || fail "after U stopped, status showed: $(cat "$LAB_TMP/ctl.out")"
ok "once U stopped, the gateway is the only instance again"
exit 0
