# shellcheck shell=bash
# journald.sh - a fresh /run and a systemd-journald of the test's own, for
# the tests of what culvertd leaves in /run and what it logs to the
# journal and to syslog (detached.sh, journal.sh). Nothing here is seen
# outside the test: it runs in a mount namespace of its own, where
#   - /run is an empty tmpfs, as after a boot: no /run/culvert;
#   - /var/log/journal, if the machine has one, is an empty tmpfs too, so
#     that the machine's journal gets nothing;
#   - /dev is a tmpfs with the few nodes a test uses bound from the real
#     one, and /dev/log pointing at this journald's syslog socket;
#   - systemd-journald runs with its sockets in /run/systemd/journal.
#
#   jd_reexec "$@"      first thing in a test, before lab.sh is sourced:
#                       run the test again in its own mount namespace
#   jd_fresh_run        the empty /run (call before lab_up)
#   jd_start            /dev, /dev/log and journald (in the empty /run,
#                       made first if need be); skip (77) without them
#   jd_journal ARGS...  journalctl on this journal (--no-pager)
#   jd_wait SECS ERE [FILTER...]  poll until jd_journal FILTER... shows ERE;
#                       1 on timeout
#   jd_stream NS TAG CMD...  CMD in NS (backgrounded, PID in JD_PID), its
#                       stdout and stderr on journald's stream under TAG,
#                       JOURNAL_STREAM set as systemd sets it for a service

JD_JOURNALD=${JD_JOURNALD:-/lib/systemd/systemd-journald}

jd_reexec() {
	[[ -n ${CVT_MOUNT_NS:-} ]] && return 0
	# Without root or unshare, lab_require skips the test later.
	[[ $(id -u) == 0 ]] && command -v unshare >/dev/null || return 0
	CVT_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
}

JD_FRESH=0
jd_fresh_run() {
	[[ -n ${CVT_MOUNT_NS:-} ]] || skip "not in a mount namespace of our own (no unshare?)"
	mount -t tmpfs -o mode=755 cvt-run /run || fail "cannot mount a tmpfs on /run"
	[[ ! -e /run/culvert ]] || fail "a fresh /run has /run/culvert"
	JD_FRESH=1
	ok "/run is empty, as after a boot: no /run/culvert"
}

jd__dev() {   # a /dev of our own, with /dev/log
	# The nodes are made again (mknod), not bound from the real /dev:
	# nothing of the real one is reachable from here, not even by a
	# cleanup that removes too much.
	local n t major minor
	local -A nodes=()
	for n in null zero full random urandom tty net/tun; do
		[[ -c /dev/$n ]] || continue
		read -r major minor < <(stat -c '%t %T' "/dev/$n")
		nodes[$n]="$((16#$major)) $((16#$minor))"
	done
	mount -t tmpfs -o mode=755 cvt-dev /dev || fail "cannot mount a tmpfs on /dev"
	mkdir -p /dev/net /dev/pts /dev/shm
	for n in "${!nodes[@]}"; do
		read -r major minor <<<"${nodes[$n]}"
		mknod -m 666 "/dev/$n" c "$major" "$minor" || fail "cannot make /dev/$n"
	done
	chmod 600 /dev/net/tun 2>/dev/null
	mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts &&
		ln -s pts/ptmx /dev/ptmx
	ln -s /proc/self/fd /dev/fd
	for t in stdin:0 stdout:1 stderr:2; do
		ln -s "/proc/self/fd/${t#*:}" "/dev/${t%%:*}"
	done
	ln -s /run/systemd/journal/dev-log /dev/log
}

jd_start() {
	local i
	[[ -n ${CVT_MOUNT_NS:-} ]] || skip "not in a mount namespace of our own (no unshare?)"
	[[ -x $JD_JOURNALD ]] || skip "no $JD_JOURNALD: install systemd"
	command -v journalctl >/dev/null || skip "no journalctl: install systemd"
	command -v systemd-cat >/dev/null || skip "no systemd-cat: install systemd"
	# Never the machine's /run: journald's sockets go into ours.
	((JD_FRESH)) || jd_fresh_run
	mkdir -p /run/systemd/journal /run/log || fail "cannot make /run/systemd/journal"
	mount -t tmpfs cvt-log /run/log || fail "cannot mount a tmpfs on /run/log"
	[[ -d /var/log/journal ]] && { mount -t tmpfs cvt-journal /var/log/journal || fail "cannot hide /var/log/journal"; }
	jd__dev
	"$JD_JOURNALD" >"$LAB_TMP/journald.log" 2>&1 </dev/null &
	lab_bg "$!"
	lab__deadline 10
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/systemd/journal/socket && -S /run/systemd/journal/stdout &&
			-S /run/systemd/journal/dev-log ]] && break
		lab__before || break
		sleep 0.1
	done
	[[ -S /run/systemd/journal/socket ]] ||
		fail "systemd-journald did not start: $(cat "$LAB_TMP/journald.log")"
	ok "a journald of our own runs (sockets in /run/systemd/journal, /dev/log)"
}

jd_journal() { journalctl -D /run/log/journal --no-pager -q "$@"; }

jd_wait() {   # jd_wait SECS ERE [FILTER...] : until the journal has ERE
	local secs=$1 re=$2 i
	shift 2
	lab__deadline "$secs"
	for ((i = 0; i < secs * 10 && i < 600; i++)); do
		jd_journal "$@" 2>/dev/null | grep -Eq -- "$re" && return 0
		lab__before || break
		sleep 0.1
	done
	jd_journal "$@" 2>/dev/null | grep -Eq -- "$re"
}

jd_stream() {   # jd_stream NS TAG CMD... ; JD_PID
	local ns tag=$2
	ns=$(lab__ns "$1")
	shift 2
	# systemd-cat and each shell exec: JD_PID ends up culvertd's own.
	# shellcheck disable=SC2016
	ip netns exec "$ns" systemd-cat -t "$tag" bash -c \
		'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); export JOURNAL_STREAM; exec "$@"' \
		- "$@" </dev/null &
	JD_PID=$!
	lab_bg "$JD_PID"
}
