#!/usr/bin/env bash
# threads.sh - what more event loops buy a gateway (`threads`): the same
# gateway with threads = 1 and threads = 2 (THREADS_LIST), one after the
# other, each measured on the lab of tests/net/lab.sh:
#   1. full handshakes with certificate authentication a second: one
#      culvert-loadgen in U churns THREADS_CHURN sessions (handshake,
#      welcome, bye at once; THREADS_PARALLEL under way at a time) over
#      dtls and over tls, pinned with taskset to CPU THREADS_LG_CPU (the
#      last one; empty: not pinned), from THREADS_SOURCES (16) outer
#      addresses (the gateway steers datagrams to a loop by their source
#      address: one address would put every dtls handshake on one loop);
#      the gateway's certificate has a THREADS_SERVER_KEY (ecdsa, the
#      lab's P-256; rsa2048, rsa3072, rsa4096: the gateway signs with RSA
#      and the client verifies, so the gateway's share of a handshake is
#      most of it, as on a gateway whose clients are elsewhere);
#   2. iperf3: four real clients (culvertd in U, U2, U3, U4, one TCP
#      stream each to V at once, THREADS_SECS seconds) over dtls and
#      over tls; with two loops the clients are spread two and two (a
#      client on the busier loop starts again, from a new source port,
#      until they are: at most 12 starts), and the split is printed;
#   3. each loop's CPU time, from /proc/PID/task/TID/stat (loop 0 the
#      main thread, loop N the thread cv-loopN; "other" is the rest of
#      the process: workers, and threads that ended), before and after
#      each run: CPU seconds per GB each loop's own sessions carried
#      (their rx_bytes + tx_bytes in status --json, by "loop").
# One table, the ratio of 2 loops to 1 for each figure, and a model of a
# 16-core gateway from the per-loop figures (its assumptions printed).
# The figures are kept in BENCH_RESULTS (bench/results)/threads-DATE.tsv.
# Root; not part of make check; a few minutes. Run from a built tree,
# one bench at a time on a shared machine:
#
#   sudo bench/threads.sh
#   sudo THREADS_SECS=5 THREADS_CHURN=1000 bench/threads.sh
#   sudo THREADS_LIST="1 2 4" THREADS_TRANSPORTS=dtls bench/threads.sh
#   sudo THREADS_SERVER_KEY=rsa3072 THREADS_SECS=3 bench/threads.sh
#   bench/threads.sh --report bench/results/threads-DATE.tsv   # again, no root
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

# report FILE : the table and the 16-core model from a run's results
report() {
	python3 - "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = dict(kv.split('=') for kv in lines[0].split())
hz = int(head['hz'])
R = {}
for l in lines[1:]:
    k, v = l.split('\t', 1)
    R[tuple(k.split(','))] = v
ns, ts = head['loops'].split(','), head['transports'].split(',')
def snap(s):
    return {k: int(v) for k, v in (kv.split('=') for kv in s.split())}
def cpu_s(n, t, what):
    c = snap(R[(n, t, what)])
    return {k: v / hz for k, v in c.items()}
def loops_str(c, n):
    return ' '.join('%.2f' % c.get(str(l), 0) for l in range(int(n))) + ' | %.2f' % c.get('other', 0)

print('loadgen pinned to CPU %s, from %s addresses; %s handshakes a run, the gateway\'s key %s; '
      'iperf3 %s s, 4 clients at once'
      % (head['lg_cpu'], head.get('sources', '1'), head['churn'], head.get('server_key', 'ecdsa'),
         head['secs']))
print('%-5s %-5s %-10s %13s %5s %5s  %-24s %s' % ('loops', 'tport', 'test', 'result', 'ratio', 'split',
      'CPU s: loop0 .. | other', 'per loop'))
base = {}
model = {}
for t in ts:
    for n in ns:
        # handshakes
        hs = float(R[(n, t, 'hs')])
        c = cpu_s(n, t, 'hs_cpu')
        up = int(R[(n, t, 'hs_up')])
        per = ' '.join('l%d %.0f hs/CPU-s' % (l, up / int(n) / c[str(l)]) if c.get(str(l)) else 'l%d -' % l
                       for l in range(int(n)))
        base.setdefault((t, 'hs'), hs)
        print('%-5s %-5s %-10s %11.1f/s %5s %5s  %-24s %s; loadgen %s of a core%s' % (n, t, 'handshakes', hs,
              '%.2f' % (hs / base[(t, 'hs')]), '-', loops_str(c, n), per, R[(n, t, 'lg_core')],
              '' if R[(n, t, 'hs_failed')] == '0' else '  (%s failed)' % R[(n, t, 'hs_failed')]))
        if int(n) >= 2:
            model[(t, 'hs')] = (up, c, int(n))
        # throughput
        mbps = int(R[(n, t, 'mbps')])
        c = cpu_s(n, t, 'x_cpu')
        b = snap(R[(n, t, 'x_bytes')])
        per = ' '.join('l%d %.2f s/GB' % (l, c.get(str(l), 0) / (b[str(l)] / 1e9)) if b.get(str(l)) else 'l%d -' % l
                       for l in range(int(n)))
        base.setdefault((t, 'x'), mbps)
        print('%-5s %-5s %-10s %6d Mbit/s %5s %5s  %-24s %s' % (n, t, 'iperf3 x4', mbps,
              '%.2f' % (mbps / base[(t, 'x')] if base[(t, 'x')] else 0), R[(n, t, 'split')], loops_str(c, n), per))
        if int(n) >= 2:
            model[(t, 'x')] = (c, b, int(n))

print()
print('16-core model, from the runs with the most loops: a gateway whose 16 loops each have a core of')
print('their own (clients, loadgen and iperf3 elsewhere), the kernel spreading sessions evenly, the')
print("per-loop costs measured here unchanged; handshakes split evenly over the loops (SO_REUSEPORT over")
print("thousands of source ports), loop 0 adding the control of every session (login, lease, welcome):")
print('its CPU beyond the mean of the others, per handshake, is the control share that caps the total.')
print("A loop's CPU holds the kernel's work in its system calls (sockets, TUN, the veth to the next")
print('namespace), not what interrupts cost elsewhere, nor a real NIC.')
for t in ts:
    busy = [(n, R[(n, t, 'lg_core')]) for n in ns if float(R[(n, t, 'lg_core')]) >= 0.9]
    if busy:
        print('Here, %s: the handshake runs were limited by loadgen, which kept its core busy (%s of it with %s),'
              % (t, ', '.join(c for _, c in busy), ' and '.join('%s loops' % n for n, _ in busy)))
        print("    not by the gateway's loops: the model uses their CPU per handshake, not the rate.")
for t in ts:
    if (t, 'hs') in model:
        up, c, n = model[(t, 'hs')]
        others = [c.get(str(l), 0) for l in range(1, n)]
        t_hs = sum(others) / len(others) / (up / n)        # CPU-s a handshake costs a loop
        t_ctl = (c.get('0', 0) - sum(others) / len(others)) / up   # loop 0's extra per session
        res = 2.0 / hz / up   # two clock ticks over the run: what the difference can tell
        bound = t_ctl < res   # below that, take the resolution as the bound
        t_ctl = max(t_ctl, res)
        h16 = 1 / (t_hs / 16 + t_ctl)
        hs_line = ('%s%.0f handshakes/s (%.2f ms of a loop each; loop 0 %s%.3f ms more each, its control share, '
                   'which alone caps it at %s%.0f/s)'
                   % ('at least ' if bound else '', h16, t_hs * 1e3, 'at most ' if bound else '',
                      t_ctl * 1e3, 'at least ' if bound else '', 1 / t_ctl))
    else:
        hs_line = 'no run with 2 loops or more'
    if (t, 'x') in model:
        c, b, n = model[(t, 'x')]
        caps = [b[str(l)] / 1e9 * 8 / c[str(l)] for l in range(n) if b.get(str(l)) and c.get(str(l))]
        x_line = ('%.1f Gbit/s (16 x %.2f Gbit/s a loop-core, the slower loop of %s)'
                  % (16 * min(caps), min(caps), ' and '.join('%.2f' % x for x in caps))) if caps else 'no per-loop figure'
    else:
        x_line = 'no run with 2 loops or more'
    print('16-core model, %s: %s; throughput %s' % (t, hs_line, x_line))
PY
}
if [[ ${1:-} == --report ]]; then
	report "${2:?usage: threads.sh --report RESULTS/threads-DATE.tsv}"
	exit
fi

export LAB_ID=${LAB_ID:-bench-threads-$$}
# shellcheck source=bench/lab_env.sh
. "$(dirname "$0")/lab_env.sh"

THREADS_LIST=${THREADS_LIST:-1 2}
THREADS_TRANSPORTS=${THREADS_TRANSPORTS:-dtls tls}
THREADS_SECS=${THREADS_SECS:-10}
THREADS_CHURN=${THREADS_CHURN:-2000}
THREADS_PARALLEL=${THREADS_PARALLEL:-128}
THREADS_LG_CPU=${THREADS_LG_CPU-$(($(nproc) - 1))}
THREADS_SOURCES=${THREADS_SOURCES:-16}
THREADS_SERVER_KEY=${THREADS_SERVER_KEY:-ecdsa}
CLIENTS=(u u2 u3 u4)
HZ=$(getconf CLK_TCK)
[[ -x $LOADGEN ]] || { echo "no culvert-loadgen at $LOADGEN: build the tree first (make)" >&2; exit 99; }
command -v iperf3 >/dev/null || skip "iperf3 not found: apt-get install iperf3"
command -v python3 >/dev/null || skip "python3 not found"
[[ -z $THREADS_LG_CPU ]] || command -v taskset >/dev/null || skip "taskset not found (util-linux)"
lab_require
for t in $THREADS_TRANSPORTS; do lab_require_tls "$t"; done

lab_up
lab_forwarding on
for n in 2 3 4; do lab_add_client "$n"; done
lab_pki "$LAB_TMP/pki"
SERVER_CERT=()
if [[ $THREADS_SERVER_KEY != ecdsa ]]; then
	lab_pki_server "server-$THREADS_SERVER_KEY" "$THREADS_SERVER_KEY"
	SERVER_CERT=("cert=$LAB_PKI/server-$THREADS_SERVER_KEY.crt" "key=$LAB_PKI/server-$THREADS_SERVER_KEY.key")
fi
LG_PER_SOURCE=1 loadgen_sources "$THREADS_SOURCES"
for c in "${CLIENTS[@]}"; do
	lab_pki_client "c-$c"
	for t in $THREADS_TRANSPORTS; do
		lab_client_conf "$LAB_TMP/$c-$t.conf" "transport=$t" \
			"cert=$LAB_PKI/c-$c.crt" "key=$LAB_PKI/c-$c.key"
	done
done

# ---- the gateway and its threads
GW='' GW_PID=''
ctl() { "$CULVERTCTL" -s "${LAB_SOCK[$GW]}" "$@"; }
start_gw() {   # start_gw LOOPS
	GW=gw$1
	lab_server_conf "$LAB_TMP/$GW.conf" "threads=$1" "transport=${THREADS_TRANSPORTS// /, }" \
		duplicate-identity=yes "${SERVER_CERT[@]}"
	lab_start "$GW" gw "$LAB_TMP/$GW.conf"
	for t in $THREADS_TRANSPORTS; do
		lab_wait_log "$GW" "(^|[^d])$t: listening" 15 || fail "threads = $1: the gateway does not listen on $t"
	done
	GW_PID=${LAB_PID[$GW]}
	local loops
	loops=$(ctl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["culvertd"].get("loops"))')
	[[ $loops == "$1" ]] || fail "threads = $1: status --json says loops: $loops"
	[[ $1 == 1 ]] || grep -qx "cv-loop$(($1 - 1))" /proc/"$GW_PID"/task/*/comm 2>/dev/null ||
		fail "threads = $1: the gateway has no thread cv-loop$(($1 - 1)): $(cat /proc/"$GW_PID"/task/*/comm | tr '\n' ' ')"
}

# cpu_snap : the gateway's CPU ticks, "0=T 1=T ... other=T": loop 0 the
# main thread, loop N cv-loopN, other the process's total less the loops
# (its other threads, and those that ended)
cpu_snap() {
	python3 - "$GW_PID" <<'PY'
import os, sys
pid = sys.argv[1]
def ticks(path):
    s = open(path).read()
    f = s[s.rindex(')') + 2:].split()
    return int(f[11]) + int(f[12])
loops = {}
for tid in os.listdir(f'/proc/{pid}/task'):
    try:
        comm = open(f'/proc/{pid}/task/{tid}/comm').read().strip()
        t = ticks(f'/proc/{pid}/task/{tid}/stat')
    except OSError:
        continue
    if tid == pid:
        loops[0] = t
    elif comm.startswith('cv-loop') and comm[7:].isdigit():
        loops[int(comm[7:])] = t
total = ticks(f'/proc/{pid}/stat')
# rounding: the process's total may read a tick below its threads' sum
print(' '.join(f'{k}={v}' for k, v in sorted(loops.items())), f'other={max(total - sum(loops.values()), 0)}')
PY
}
# bytes_snap : each loop's sessions' rx_bytes + tx_bytes, "0=B 1=B ..."
bytes_snap() {
	ctl status --json | python3 -c 'import json,sys
d = json.load(sys.stdin); b = {}
for s in d["sessions"]:
    b[s["loop"]] = b.get(s["loop"], 0) + s["rx_bytes"] + s["tx_bytes"]
print(" ".join(f"{k}={v}" for k, v in sorted(b.items())))'
}
# diff A B : B - A, key by key ("0=... other=...")
diff_snap() {
	python3 -c 'import sys
a = dict(kv.split("=") for kv in sys.argv[1].split())
b = dict(kv.split("=") for kv in sys.argv[2].split())
print(" ".join(f"{k}={int(v) - int(a.get(k, 0))}" for k, v in b.items()))' "$1" "$2"
}

# ---- 1. handshakes a second
# loadgen NAME TRANSPORT ARGS... : in U, pinned, to the end (bounded by
# its --duration); its summary in NAME.json, its wall-clock and CPU
# seconds (user, system) in NAME.time
loadgen() {
	local name=$1 t=$2 TIMEFORMAT='%R %U %S'
	shift 2
	local pin=()
	[[ -n $THREADS_LG_CPU ]] && pin=(taskset -c "$THREADS_LG_CPU")
	{
		time ip netns exec "$LAB_U" "${pin[@]}" "$LOADGEN" --transport "$t" --remote "$LAB_GW_EP" \
			--plugin-dir "$CULVERT_PLUGIN_DIR" --ca "$LAB_PKI/ca.crt" \
			--server-name vpn.example.org --cert "$LAB_PKI/alice.crt" --key "$LAB_PKI/alice.key" \
			--source "$LG_SOURCES" --hold 0 --rate 0 --json "$@" \
			>"$LAB_TMP/$name.json" 2>"$LAB_TMP/$name.log" </dev/null
	} 2>"$LAB_TMP/$name.time"
}
lg_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$LAB_TMP/$1.json" "$2"; }
declare -A R=()   # results: R[N,T,key]
handshakes() {   # handshakes LOOPS TRANSPORT
	local n=$1 t=$2 c0 c1 name=churn-$1-$2
	loadgen "warm-$n-$t" "$t" --sessions 8 --total 32 --parallel 8 --duration 60
	c0=$(cpu_snap)
	loadgen "$name" "$t" --sessions "$THREADS_PARALLEL" --total "$THREADS_CHURN" \
		--parallel "$THREADS_PARALLEL" --duration 180
	c1=$(cpu_snap)
	R[$n,$t,hs]=$(lg_field "$name" handshake_rate)
	R[$n,$t,hs_up]=$(lg_field "$name" up)
	R[$n,$t,hs_failed]=$(lg_field "$name" failed)
	R[$n,$t,hs_cpu]=$(diff_snap "$c0" "$c1")
	R[$n,$t,lg_core]=$(awk '{ printf "%.2f", ($2 + $3) / $1 }' "$LAB_TMP/$name.time")
	((R[$n,$t,hs_up] > 0)) || fail "threads = $n, $t: no handshake completed: $(tail -n 3 "$LAB_TMP/$name.log")"
}

# ---- 2. four clients' iperf3
loop_of() {   # loop_of CLIENT : its session's loop
	ctl status --json | python3 -c 'import json,sys
s = [s for s in json.load(sys.stdin)["sessions"] if s["identity"] == sys.argv[1] and s["state"] == "up"]
print(s[-1]["loop"] if s else "")' "c-$1"
}
declare -A CUR=() TRY=()
client_up() {   # client_up CLIENT TRANSPORT : (re)start its culvertd, until its session is up
	local c=$1 t=$2 i
	[[ -n ${CUR[$c]:-} ]] && lab_stop "${CUR[$c]}" >/dev/null
	TRY[$c]=$((${TRY[$c]:-0} + 1))
	CUR[$c]=$c-$t-$GW-${TRY[$c]}
	lab_start "${CUR[$c]}" "$c" "$LAB_TMP/$c-$t.conf"
	lab_wait_log "${CUR[$c]}" 'tunnel up' 20 || fail "$GW, $t: $c did not come up"
	for ((i = 0; i < 50; i++)); do
		[[ -n $(loop_of "$c") ]] && return 0
		sleep 0.1
	done
	fail "$GW, $t: $c's session is not in the gateway's status"
}
split() {   # split LOOPS : the clients on each loop, "2/2"
	local c l
	local -a on=()
	for ((l = 0; l < $1; l++)); do on[l]=0; done
	for c in "${CLIENTS[@]}"; do
		l=$(loop_of "$c")
		on[${l:-0}]=$((${on[${l:-0}]:-0} + 1))
	done
	(IFS=/; echo "${on[*]}")
}
spread() {   # spread LOOPS TRANSPORT : restart clients until no loop holds more than its share
	local n=$1 t=$2 i c l most share=$(((${#CLIENTS[@]} + $1 - 1) / $1))
	for ((i = 0; i < 12; i++)); do
		most=$(split "$n" | tr / '\n' | sort -n | tail -n 1)
		((most <= share)) && return 0
		# a client of the fullest loop starts again
		l=$(split "$n" | tr / '\n' | grep -nx "$most" | head -n 1 | cut -d: -f1)
		for c in "${CLIENTS[@]}"; do
			[[ $(loop_of "$c") == $((l - 1)) ]] && break
		done
		client_up "$c" "$t"
	done
	echo "# $GW, $t: the clients stay $(split "$n") over the loops after 12 starts" >&2
}
throughput() {   # throughput LOOPS TRANSPORT
	local n=$1 t=$2 c i c0 c1 b0 b1 port pids=()
	for c in "${CLIENTS[@]}"; do client_up "$c" "$t"; done
	((n > 1)) && spread "$n" "$t"
	R[$n,$t,split]=$(split "$n")
	for ((i = 0; i < ${#CLIENTS[@]}; i++)); do
		port=$((5201 + i))
		ip netns exec "$LAB_V" timeout $((THREADS_SECS + 30)) iperf3 -s -1 -B "$LAB_V_LAN" -p "$port" \
			>/dev/null 2>&1 </dev/null &
		lab_bg $!
	done
	for ((i = 0; i < 50; i++)); do
		(($(ip netns exec "$LAB_V" ss -Hltn 'sport >= :5201 and sport <= :5204' | wc -l) == ${#CLIENTS[@]})) && break
		sleep 0.1
	done
	b0=$(bytes_snap) c0=$(cpu_snap)
	for ((i = 0; i < ${#CLIENTS[@]}; i++)); do
		c=${CLIENTS[i]}
		ip netns exec "$(lab__ns "$c")" timeout $((THREADS_SECS + 20)) iperf3 -c "$LAB_V_LAN" -p $((5201 + i)) \
			-t "$THREADS_SECS" -J >"$LAB_TMP/iperf-$n-$t-$c.json" 2>/dev/null </dev/null &
		pids+=($!)
		lab_bg $!
	done
	for i in "${pids[@]}"; do wait "$i"; done
	c1=$(cpu_snap) b1=$(bytes_snap)
	R[$n,$t,mbps]=$(python3 -c 'import json,sys
t = 0
for f in sys.argv[1:]:
    try:
        t += json.load(open(f))["end"]["sum_received"]["bits_per_second"]
    except (OSError, ValueError, KeyError):
        print("# %s: no result" % f, file=sys.stderr)
print(round(t / 1e6))' "$LAB_TMP"/iperf-"$n"-"$t"-*.json)
	R[$n,$t,x_cpu]=$(diff_snap "$c0" "$c1")
	R[$n,$t,x_bytes]=$(diff_snap "$b0" "$b1")
	for c in "${CLIENTS[@]}"; do lab_stop "${CUR[$c]}" >/dev/null; CUR[$c]=; done
}

# ---- the runs
for n in $THREADS_LIST; do
	start_gw "$n"
	for t in $THREADS_TRANSPORTS; do
		echo "# threads = $n, $t: handshakes" >&2
		handshakes "$n" "$t"
		echo "# threads = $n, $t: iperf3, ${#CLIENTS[@]} clients" >&2
		throughput "$n" "$t"
	done
	lab_stop "$GW" 30 || echo "# threads = $n: the gateway did not exit cleanly" >&2
done

# ---- the results, kept, then the table and the model
RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results}
mkdir -p "$RESULTS" || fail "cannot make $RESULTS"
OUT=$RESULTS/threads-$(date +%Y%m%d-%H%M%S).tsv
{
	echo "hz=$HZ lg_cpu=${THREADS_LG_CPU:-none} churn=$THREADS_CHURN secs=$THREADS_SECS loops=${THREADS_LIST// /,} transports=${THREADS_TRANSPORTS// /,} server_key=$THREADS_SERVER_KEY sources=$THREADS_SOURCES"
	for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done
} >"$OUT"
report "$OUT"
echo "# the figures: $OUT (bench/threads.sh --report FILE prints this again)"
