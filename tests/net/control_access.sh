#!/usr/bin/env bash
# control_access.sh - who may do what through the control socket. The
# socket is born with its final mode (0660), even under umask 000: bind
# runs under a umask of 0117, and nothing chmods the socket afterwards
# (strace shows it), so there is no moment at which anyone may connect.
# A user who may connect (here: uid 65534 in the socket's group, root)
# may ask for status, but kick, reload and drain are refused to it with words
# and a log line; once a reload names a group of its in admin-group,
# the same user may reload and kick. Hosts: drawing in lab.sh (the
# gateway only, over udp).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

OTHER=65534       # a uid that is not root
OTHER_GROUP=65534 # a group of its, named in admin-group later

lab_require
command -v setpriv >/dev/null || skip "setpriv not found: install util-linux"
admins=$(getent group "$OTHER_GROUP" | cut -d: -f1)
[[ -n $admins ]] || skip "no group $OTHER_GROUP on this system to name in admin-group"
lab_up
lab_write_configs
# The socket where uid OTHER can reach it: LAB_TMP is root's 0700.
chmod 711 "$LAB_TMP"
sock=$LAB_TMP/gw.sock
sed -i "1i control-socket = $sock" "$LAB_TMP/gw.conf"

# 1. Born 0660 under umask 000. culvertd stops on its own after binding
# the socket (device = lo is no TUN device), so strace sees it all.
# LeakSanitizer cannot work under ptrace: a sanitized culvertd leaves its
# leaks to the untraced run below.
if command -v strace >/dev/null; then
	sed "s/^device .*/device = lo/" "$LAB_TMP/gw.conf" >"$LAB_TMP/bind.conf"
	in_ns gw env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		sh -c 'umask 000; exec "$@"' sh strace -f -qq -o "$LAB_TMP/bind.trace" \
		-e trace=umask,bind,chmod,fchmodat,fchmod "$CULVERTD" -c "$LAB_TMP/bind.conf" -f \
		>"$LAB_TMP/bind.log" 2>&1 </dev/null
	grep -q "bind(.*\"$sock\"" "$LAB_TMP/bind.trace" ||
		fail "culvertd never bound $sock: $(tail -n 3 "$LAB_TMP/bind.log")"
	bound=$(grep -n "bind(.*\"$sock\"" "$LAB_TMP/bind.trace" | head -n 1 | cut -d: -f1)
	sed -n "$((bound - 1))p" "$LAB_TMP/bind.trace" | grep -q 'umask(0117)' ||
		fail "the control socket was not bound under umask 0117: $(sed -n "$((bound - 1)),${bound}p" "$LAB_TMP/bind.trace")"
	grep -E "chmod.*\"$sock\"" "$LAB_TMP/bind.trace" &&
		fail "culvertd changed the control socket's mode after bind, when anyone could already connect"
	ok "the control socket is bound under umask 0117 and never chmod'ed after"
else
	echo "# strace not found: the bind is not traced"
fi

# 2. The same, as it runs: the daemon started under umask 000.
umask 000
lab_start gw gw "$LAB_TMP/gw.conf"
umask 022
lab_wait_log gw 'udp: listening' 10 || fail "the gateway did not start listening"
[[ $(stat -c '%a' "$sock") == 660 ]] ||
	fail "under umask 000 the control socket is mode $(stat -c '%a' "$sock"), not 660"
ok "under umask 000 the control socket is mode 660"

# as_other CMD... : culvertctl as uid OTHER, in the socket's group (root),
# with admin-group's group among its supplementary ones.
as_other() {
	setpriv --reuid="$OTHER" --regid=0 --groups="$OTHER_GROUP" \
		"$CULVERTCTL" -s "$sock" "$@"
}

as_other status >"$LAB_TMP/status.out" 2>&1 ||
	fail "uid $OTHER in the socket's group cannot ask for status: $(cat "$LAB_TMP/status.out")"
ok "uid $OTHER in the socket's group may ask for status"
for op in reload "kick alice" drain undrain; do
	# shellcheck disable=SC2086  # "kick alice": two words
	as_other $op >"$LAB_TMP/op.out" 2>&1 &&
		fail "uid $OTHER, not root nor in admin-group, may $op"
	grep -q 'permission denied: kick, reload and drain are for root and admin-group' "$LAB_TMP/op.out" ||
		fail "a refused $op said: $(cat "$LAB_TMP/op.out")"
done
lab_wait_log gw "control socket: refused 'kick' from uid $OTHER" 2 ||
	fail "the gateway did not log the refused kick"
ok "uid $OTHER may not reload, kick, drain or undrain: $(head -n 1 "$LAB_TMP/op.out")"

printf 'admin-group = %s\n' "$admins" >>"$LAB_TMP/gw.conf"
"$CULVERTCTL" -s "$sock" reload >"$LAB_TMP/reload.out" 2>&1 ||
	fail "root's reload failed: $(cat "$LAB_TMP/reload.out")"
as_other reload >"$LAB_TMP/op.out" 2>&1 ||
	fail "uid $OTHER in admin-group '$admins' may not reload: $(cat "$LAB_TMP/op.out")"
as_other kick nobody-here >"$LAB_TMP/op.out" 2>&1
grep -q 'no session of that name' "$LAB_TMP/op.out" ||
	fail "uid $OTHER in admin-group '$admins' may not kick: $(cat "$LAB_TMP/op.out")"
ok "with admin-group = $admins, uid $OTHER may reload and kick"
exit 0
