#!/usr/bin/env bash
# example_transport.sh - the example transport of doc/examples/transport
# (plaintcp: culvert's messages over plain TCP, 2-byte lengths, no crypto)
# built as a stranger builds a fourth transport: its own Makefile, the
# ABI header and nothing else of culvert's. Loaded by culvertd from
# plugin-dir, it must carry the lab's ping and a TCP transfer; refused
# without insecure = yes; after the gateway went away, the client's
# connect() on the same instance fails, then succeeds once the gateway
# is back; its counters show in the log, and culvertctl diagnose reads
# its wire table. Drawing of the lab: lab.sh.
#
# In make check it is built against the source tree's include/
# (CULVERT_CFLAGS=-I...); .ci/packaging runs it against the installed
# packages: CULVERT_EXAMPLE_PKGCONFIG=yes builds through pkg-config and the
# installed culvert-dev, CULVERT_EXAMPLE_DIR names the installed copy of
# the example (/usr/share/doc/culvert/examples/transport).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
: "${CULVERT_SRCDIR:?run this through make check}"
command -v make >/dev/null || skip "make not found"
command -v "${CC:-cc}" >/dev/null || skip "no C compiler (${CC:-cc})"
SRC=${CULVERT_EXAMPLE_DIR:-$CULVERT_SRCDIR/doc/examples/transport}
EX=$LAB_TMP/example

# --- build it, as its Makefile says, in a copy (the source may be read-only)
[[ -f $SRC/plaintcp.c && -f $SRC/Makefile ]] || fail "no example in $SRC"
grep -n '^#include "' "$SRC/plaintcp.c" &&
	fail "plaintcp.c includes a header of its own: it must need <culvert/transport.h> only"
mkdir -p "$EX" && cp "$SRC/plaintcp.c" "$SRC/Makefile" "$EX/" || fail "cannot copy $SRC"
if [[ ${CULVERT_EXAMPLE_PKGCONFIG:-} == yes ]]; then
	pkg-config --exists culvert-transport ||
		fail "pkg-config finds no culvert-transport: is culvert-dev installed?"
	header=$(pkg-config --variable=includedir culvert-transport)/culvert/transport.h
	[[ -f $header ]] || fail "culvert-transport.pc points at $header, which does not exist"
	build=(make -C "$EX" CFLAGS="-O2 -g -Werror")
	how="pkg-config, $header"
else
	build=(make -C "$EX" CFLAGS="-O2 -g -Werror" "CULVERT_CFLAGS=-I$CULVERT_SRCDIR/include")
	how="$CULVERT_SRCDIR/include"
fi
"${build[@]}" >"$LAB_TMP/build.log" 2>&1 || fail "the example does not build: $(cat "$LAB_TMP/build.log")"
[[ -f $EX/plaintcp.so ]] || fail "make built no plaintcp.so: $(cat "$LAB_TMP/build.log")"
ok "plaintcp.so built by its own Makefile against $how"

lab_up
lab_forwarding on
lab_write_configs
for c in gw u; do
	sed -i -e 's/^transport *=.*/transport = plaintcp/' \
		-e "s|^plugin-dir *=.*|plugin-dir = $EX|" "$LAB_TMP/$c.conf" || fail "cannot edit $c.conf"
done

# --- no security: refused without insecure = yes
sed '/^insecure/d' "$LAB_TMP/gw.conf" >"$LAB_TMP/secure.conf"
out=$("$CULVERTD" -c "$LAB_TMP/secure.conf" --check-config 2>&1) &&
	fail "culvertd took plaintcp without insecure = yes: $out"
grep -q "insecure = yes" <<<"$out" || fail "the refusal does not mention insecure = yes: $out"
ok "without insecure = yes culvertd refuses plaintcp: $(head -n 1 <<<"$out")"

# --- the lab through it
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'plaintcp: listening on' 10 || fail "the gateway did not listen over plaintcp"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "the client did not log 'tunnel up' within 15 s"
grep -q 'tunnel up: .* over plaintcp' "${LAB_LOG[u]}" || fail "the tunnel is not over plaintcp"
ok "tunnel up over plaintcp"
lab_ping 5
((LAB_PING_RECEIVED >= 4)) || fail "ping U -> V over plaintcp: $LAB_PING_RECEIVED of 5 replies"
ok "ping U -> V over plaintcp: $LAB_PING_RECEIVED of 5 replies"
lab_xfer 5 || fail "5 MiB TCP transfer U -> V over plaintcp failed"
ok "5 MiB TCP U -> V over plaintcp in ${XFER_SECS}s, sha256 matches on both ends"
# CV_TRANSPORT_GSO: large TCP segments from U's TUN went whole, in
# messages of up to max_msg bytes, and the example framed them as any.
lab_counters u || fail "no counters from the client"
((${LAB_COUNTERS[gso_whole]:-0} > 0)) ||
	fail "no large segment crossed whole (gso_whole ${LAB_COUNTERS[gso_whole]:-}): $(grep -c 'large TCP segments cross' "${LAB_LOG[u]}") 'cross whole' lines in U's log"
ok "large TCP segments crossed plaintcp whole: gso_whole=${LAB_COUNTERS[gso_whole]}"

lab_counters gw || fail "no counters from the gateway"
[[ ${LAB_COUNTERS[plaintcp.connections]:-} == 1 ]] ||
	fail "the gateway's plaintcp.connections is '${LAB_COUNTERS[plaintcp.connections]:-}', not 1"
ok "its counters show in the gateway's log: plaintcp.connections=1"

if [[ -n ${CULVERTCTL:-} && -x $CULVERTCTL ]]; then
	in_ns gw "$CULVERTCTL" -c "$LAB_TMP/gw.conf" diagnose >"$LAB_TMP/diag.out" 2>&1
	grep -q '^ok: plaintcp runs over TCP' "$LAB_TMP/diag.out" ||
		fail "culvertctl diagnose did not read plaintcp's wire table: $(cat "$LAB_TMP/diag.out")"
	ok "culvertctl diagnose reads plaintcp's wire table: $(grep '^ok: plaintcp' "$LAB_TMP/diag.out")"
fi

# --- the gateway goes away: the client's connect() on the same instance
# fails (refused), and succeeds once the gateway is back
lab_stop gw || fail "the gateway did not stop on SIGTERM"
unset 'LAB_PID[gw]'
mv "${LAB_LOG[gw]}" "$LAB_TMP/gw-first.log"
lab_wait_log u 'plaintcp: cannot connect to .*refused' 15 ||
	fail "the client did not report a refused connect while the gateway was away"
ok "while the gateway is away the client's connect fails: $(grep -o 'plaintcp: cannot connect.*' "${LAB_LOG[u]}" | head -n 1)"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw 'plaintcp: listening on' 10 || fail "the gateway did not listen again"
lab__wait 20 bash -c "[[ \$(grep -c 'tunnel up' '${LAB_LOG[u]}') -ge 2 ]]" ||
	fail "the client did not come back within 20 s of the gateway"
lab_ping 3
((LAB_PING_RECEIVED >= 2)) || fail "ping U -> V after the reconnect: $LAB_PING_RECEIVED of 3 replies"
ok "connect() again on the same instance: the tunnel is back, ping $LAB_PING_RECEIVED of 3"

lab_stop u
rc=$?
((rc == 0)) || fail "the client's culvertd exited with status $rc after SIGTERM"
ok "the client stops cleanly (destroy)"
exit 0
