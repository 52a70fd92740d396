#!/usr/bin/env bash
# run.sh - `make bench`: culvert over udp, tls and dtls (and TAP over dtls)
# beside raw veth and
# the peer VPNs, in one run of bench/peers.sh, then the comparison, a CSV and
# a chart. Run as root (network namespaces), from `make bench` in a built
# tree, which sets CULVERTD, CULVERTCTL and CULVERT_PLUGIN_DIR to the build's
# culvertd, culvertctl and plugins/ (run by hand, it looks for ../src/culvertd
# beside this script, then for an installed culvertd).
#
# Environment (make bench VAR=value passes them too):
#   BENCH_RUNS      rounds, interleaved; medians are reported (default 5:
#                   ping is noisy here, and fewer rounds quote noise)
#   BENCH_SYSTEMS   systems to run (default: culvert-udp culvert-tls
#                   culvert-dtls culvert-tap raw and every peer of peers.sh); `crypto`
#                   adds the one-core crypto ceiling
#   BENCH_QUICK=1   culvert's four systems and raw, one round, 3 s iperf3
#                   runs: a quick look for developers (BENCH_SYSTEMS and
#                   BENCH_RUNS still win when set)
#   BENCH_RESULTS   where results go (default: bench/ beside this script,
#                   results/); each run makes RESULTS/YYYYMMDD-HHMMSS/ with
#                   results.csv, comparison.csv, results.png, report.txt,
#                   host.txt, and work/ (peers.sh's logs, configs, raw JSON)
#   TCP_SECS UDP_SECS UDP_RATE UDP_LEN PINGS PINGS2 LOAD_PINGS UP_TIMEOUT LOSS_SECS
#                   passed to peers.sh (LOSS_SECS=0: no loss columns)
#
#   BENCH_CHART=0   no chart (and no gnuplot-nox installed for it)
#
#   run.sh --report RESULTS/DATE   the medians, CSVs, comparison and chart
#                   again from that run's saved rounds (work/results/*-rN.tsv):
#                   no root, no lab, nothing installed
#
# Exit status: 0 when every culvert system was measured (a peer that failed
# to come up is reported as failed and does not change it), 1 otherwise.
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEERS=$BENCH_DIR/peers.sh
CULVERT_SYSTEMS="culvert-udp culvert-tls culvert-dtls culvert-tap"
PEER_SYSTEMS="wireguard openvpn-udp openvpn-tcp openvpn-tcp-nodelay ocserv-tls ocserv-dtls tinc fastd"

say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

REPORT_ONLY=0
if [[ ${1:-} == --report ]]; then
	# the report again from a finished run's rounds
	REPORT_ONLY=1
	DIR=$(cd "${2:?usage: run.sh --report RESULTS/DATE}" && pwd) || exit 1
	STAMP=${DIR##*/}
	ROUNDS=("$DIR"/work/results/*-r[0-9]*.tsv)
	[[ -s ${ROUNDS[0]} ]] || die "no rounds (work/results/*-rN.tsv) in $DIR"
	BENCH_RUNS=${#ROUNDS[@]}
	BENCH_SYSTEMS=$(cut -f1 "${ROUNDS[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
	REPORT=/dev/null
fi

# ------------------------------------------------------------ settings
if ((REPORT_ONLY)); then
	:
elif [[ ${BENCH_QUICK:-0} == 1 ]]; then
	BENCH_RUNS=${BENCH_RUNS:-1}
	BENCH_SYSTEMS=${BENCH_SYSTEMS:-"$CULVERT_SYSTEMS raw"}
	export TCP_SECS=${TCP_SECS:-3} UDP_SECS=${UDP_SECS:-2} PINGS=${PINGS:-10}
	export PINGS2=${PINGS2:-100} LOAD_PINGS=${LOAD_PINGS:-20}
	export LOSS_SECS=${LOSS_SECS:-3}
fi
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_SYSTEMS=${BENCH_SYSTEMS:-"$CULVERT_SYSTEMS raw $PEER_SYSTEMS"}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results}
[[ $BENCH_RUNS =~ ^[1-9][0-9]?$ ]] || die "BENCH_RUNS must be 1..99, not '$BENCH_RUNS'"

run_bench() {   # the lab, every system, BENCH_RUNS rounds: sets DIR STAMP REPORT ROUNDS
	[[ $(id -u) == 0 ]] || die "make bench needs root: it builds the lab out of network namespaces and TUN devices"
	[[ -c /dev/net/tun ]] || die "/dev/net/tun is missing (modprobe tun)"

	# the culvert under test: the build tree's, else an installed one
	if [[ -z ${CULVERTD:-} && -x $BENCH_DIR/../src/culvertd ]]; then
		top=$(cd "$BENCH_DIR/.." && pwd)
		export CULVERTD=$top/src/culvertd CULVERTCTL=$top/src/culvertctl CULVERT_PLUGIN_DIR=$top/plugins
	fi
	export CULVERTD=${CULVERTD:-$(command -v culvertd 2>/dev/null)}
	[[ -n $CULVERTD && -x $CULVERTD ]] || die "no culvertd: run 'make bench' in a built tree, or set CULVERTD"
	export PEERS_EXTRA=$BENCH_DIR/culvert-systems.sh

	STAMP=$(date +%Y%m%d-%H%M%S)
	DIR=$BENCH_RESULTS/$STAMP
	mkdir -p "$DIR/work" || die "cannot make $DIR"
	REPORT=$DIR/report.txt

	# ------------------------------------------------------------ the host
	# The figures depend on what else the box is doing: say it next to them.
	host_info() {
		echo "date:      $(date -u '+%F %T UTC')"
		echo "host:      $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
		echo "kernel:    $(uname -r)"
		echo "culvertd:  $CULVERTD ($("$CULVERTD" --version 2>/dev/null | head -n 1))"
		local rev; rev=$(git -C "$BENCH_DIR" describe --always --dirty 2>/dev/null) && echo "commit:    $rev"
		echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"
		echo "settings:  BENCH_RUNS=$BENCH_RUNS TCP_SECS=${TCP_SECS:-10} UDP_SECS=${UDP_SECS:-5} UDP_RATE=${UDP_RATE:-2G} PINGS=${PINGS:-20} PINGS2=${PINGS2:-200} LOAD_PINGS=${LOAD_PINGS:-40} LOSS_SECS=${LOSS_SECS:-5}"
		echo "systems:   $BENCH_SYSTEMS"
	}
	host_info >"$DIR/host.txt"

	# ------------------------------------------------------------ the run
	say "results in $DIR; $BENCH_RUNS round(s) of: $BENCH_SYSTEMS"
	{ echo "== culvert bench $STAMP"; cat "$DIR/host.txt"; } | tee "$REPORT"
	# Ctrl-C: peers.sh ends what it started and removes its namespaces; this
	# script waits for that (bash runs the trap once the pipeline is over), and
	# tee ignores the signal so that peers.sh can still write while it cleans up.
	trap 'say "interrupted; peers.sh ended what it started"; exit 130' INT
	trap 'exit 143' TERM
	# shellcheck disable=SC2086  # BENCH_SYSTEMS is a list of words
	OUT=$DIR/work bash "$PEERS" -r "$BENCH_RUNS" -o "$DIR/work" $BENCH_SYSTEMS |
		(trap '' INT; exec tee -a "$REPORT")
	rc=${PIPESTATUS[0]}
	((rc == 130 || rc == 143 || rc == 129)) && { say "interrupted; everything it started is ended"; exit "$rc"; }
	echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the run" >>"$DIR/host.txt"

	ROUNDS=("$DIR"/work/results/*-r[0-9]*.tsv)
	[[ -s ${ROUNDS[0]} ]] || die "peers.sh gave no results (exit $rc); logs in $DIR/work/log"
}
((REPORT_ONLY)) || run_bench

# medians over the rounds, as peers.sh computes them
MEDIAN=$DIR/median.tsv
bash "$PEERS" --median-tsv "${ROUNDS[@]}" >"$MEDIAN" || die "peers.sh --median-tsv failed"

# ------------------------------------------------------------ results.csv
FIELDS=$(bash "$PEERS" --fields)
csv() {   # TSV on stdin -> CSV on stdout, every text field quoted
	awk -F'\t' '{ for (i = 1; i <= NF; i++) { v = $i
		if (v !~ /^-?[0-9.]+$/) { gsub(/"/, "\"\"", v); v = "\"" v "\"" }
		printf "%s%s", v, (i < NF ? "," : "\n") } }'
}
{ tr ' ' ',' <<<"$FIELDS"; csv <"$MEDIAN"; } >"$DIR/results.csv"
col() { tr ' ' '\n' <<<"$FIELDS" | grep -nx -- "$1" | cut -d: -f1; }   # col NAME: its column

# ------------------------------------------------------------ comparison
# culvert-X against ocserv-X (tls, dtls), culvert-udp against raw veth (what
# no tunnel gives), and every culvert system's RTT and CPU per GB against
# the best peer that was measured. Values are culvert as % of the other:
# above 100 % is better for throughput, below 100 % for RTT and CPU.
# What is compared, throughput first; the loss columns are TCP U -> V through
# 0, 1 and 5 % random loss each way.
# the small-packet rate per CPU second; the round trip idle at 50 ms and 2
# ms intervals and beside one saturating TCP stream; CPU per GB.
METRICS="tcp_mbps tcp_rev_mbps udp_mbps udp_kpps_per_core tcp_loss0_mbps tcp_loss1_mbps tcp_loss5_mbps rtt_ms rtt2_ms rtt_load_ms cpu_s_per_GB"
# lower is better for these, higher for the rest
LOWER_BETTER="rtt_ms rtt2_ms rtt_load_ms cpu_s_per_GB"
compare() {   # compare MEDIAN.tsv -> comparison CSV lines
	awk -F'\t' -v culvert="$CULVERT_SYSTEMS" -v metrics="$METRICS" -v fields="$FIELDS" -v lower="$LOWER_BETTER" '
	BEGIN { nf = split(fields, fn, " "); for (i = 1; i <= nf; i++) col[fn[i]] = i
		nl = split(lower, lw, " "); for (i = 1; i <= nl; i++) low[lw[i]] = 1 }
	function num(x) { return x != "-" && x != "" && x + 0 == x }
	function pct(a, b) { return (num(a) && num(b) && b + 0 > 0) ? sprintf("%.0f", 100 * a / b) : "-" }
	function row(c, against, other, m, a, b) {
		if (!num(a)) return   # culvert has no figure: the list of failures says why
		printf "%s,%s,%s,%s,%s,%s,%s\n", c, against, other, m, num(a) ? a : "-", num(b) ? b : "-", pct(a, b) }
	function better(m, x, y) { return (m in low) ? x + 0 < y + 0 : x + 0 > y + 0 }
	{ sys[NR] = $1; n = NR; known[$1] = 1
	  for (i = 1; i <= nf; i++) val[$1, fn[i]] = $i }
	END {
		split(culvert, cs, " "); for (i in cs) isc[cs[i]] = 1
		nm = split(metrics, ms, " ")
		# the best peer for each metric: not culvert, not raw (no tunnel)
		for (i = 1; i <= n; i++) { s = sys[i]; if (s in isc || s == "raw") continue
			for (j = 1; j <= nm; j++) { m = ms[j]
				if (num(val[s, m]) && (best[m] == "" || better(m, val[s, m], val[best[m], m]))) best[m] = s } }
		print "culvert,against,other_system,metric,culvert_value,other_value,culvert_pct_of_other"
		for (i = 1; i <= n; i++) { c = sys[i]; if (!(c in isc)) continue
			# its own kind of peer (ocserv-tls, ocserv-dtls), then no tunnel at all
			t = c; sub(/^culvert-/, "", t)
			np = 0; if (("ocserv-" t) in known) pl[++np] = "ocserv-" t; if ("raw" in known) pl[++np] = "raw"
			# TAP beside TUN, both over dtls: what layer 2 costs
			if (c == "culvert-tap" && ("culvert-dtls" in known)) pl[++np] = "culvert-dtls"
			for (j = 1; j <= np; j++) { p = pl[j]
				for (k = 1; k <= nm; k++) if (p != "raw" || (ms[k] != "cpu_s_per_GB" && ms[k] != "udp_kpps_per_core"))
					row(c, p, p, ms[k], val[c, ms[k]], val[p, ms[k]]) }
			# and, figure by figure, the best of the peers that were measured
			for (k = 1; k <= nm; k++) { m = ms[k]
				if (best[m] != "") row(c, "best peer", best[m], m, val[c, m], val[best[m], m]) }
		} }' "$1"
}
compare "$MEDIAN" >"$DIR/comparison.csv"

print_comparison() {   # the comparison CSV as a table, one line per culvert system and other
	awk -F, -v metrics="$METRICS" 'NR == 1 { next }
	{ k = $1 SUBSEP $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k; c[k] = $1; o[k] = $2 }
	  v[k, $4] = $5 " / " $6 ($2 != $3 ? " " $3 : "") " = " $7 ($7 == "-" ? "" : "%")
	  # the latency a tunnel adds is clearer in ms than in %
	  if ($2 == "raw" && $4 ~ /^rtt/ && $5 != "-" && $6 != "-") v[k, $4] = sprintf("%s vs %s: +%.3f ms", $5, $6, $5 - $6) }
	END {
		nm = split(metrics, m, " ")
		printf "%s\t%s", "culvert", "against"; for (j = 1; j <= nm; j++) printf "\t%s", m[j]; print ""
		for (i = 1; i <= n; i++) { k = order[i]; printf "%s\t%s", c[k], (o[k] == "raw" ? "raw (no tunnel)" : o[k])
			for (j = 1; j <= nm; j++) printf "\t%s", ((k, m[j]) in v) ? v[k, m[j]] : "."; print "" } }' "$1" |
		column -t -s $'\t'
}
failed_list() {   # systems that failed in some run or every run, with why
	awk -F'\t' '$NF != "ok" { print "  " $1 ": " $NF }' "$MEDIAN"
}
{
	echo
	echo "== culvert against the others (median of $BENCH_RUNS run(s)); culvert / other = culvert as % of other"
	echo "   more than 100 % is better for throughput and udp_kpps_per_core, less than 100 % is better for rtt_* and cpu_s_per_GB"
	print_comparison "$DIR/comparison.csv"
	if [[ -n $(failed_list) ]]; then
		echo
		echo "== failed or incomplete (logs in $DIR/work/log):"
		failed_list
	fi
	echo
	echo "== the host during the run (figures on a busy box are low and noisy)"
	grep -sE '^(host|load):' "$DIR/host.txt" | sed 's/^/   /'
	awk -F'\t' -v c="$(col box_busy_pct)" '$c ~ /^[0-9.]+$/ { s += $c; k++ } END { if (k) printf "   box_busy_pct during the TCP tests, mean over systems: %.0f %%\n", s / k }' "$MEDIAN"
} | tee "$DIR/comparison.txt" | tee -a "$REPORT"

# ------------------------------------------------------------ the chart
need_gnuplot() {
	[[ ${BENCH_CHART:-1} != 0 ]] || return 1
	command -v gnuplot >/dev/null && return 0
	((REPORT_ONLY)) && return 1
	say "installing gnuplot-nox for the chart"
	[[ -n $(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null) ]] || apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1
}
chart() {   # results.png: throughput, RTT and CPU per GB, one bar group per system
	local dat=$DIR/chart.dat raw_note
	# gnuplot reads whitespace-separated columns: system tcp rev udp rtt cpu,
	# TCP through 0, 1 and 5 % loss, rtt at 2 ms intervals and under load
	local cols="" n
	for n in tcp_mbps tcp_rev_mbps udp_mbps rtt_ms cpu_s_per_GB tcp_loss0_mbps tcp_loss1_mbps \
		tcp_loss5_mbps rtt2_ms rtt_load_ms; do cols+="$(col $n) "; done
	awk -F'\t' -v cols="$cols" 'BEGIN { nc = split(cols, c, " ") }
		$1 != "raw" { printf "%s", $1; for (j = 1; j <= nc; j++) printf " %s", $c[j]; print "" }' "$MEDIAN" >"$dat"
	raw_note=$(awk -F'\t' '$1 == "raw" { printf "raw veth, no tunnel: %s / %s / %s Mbit/s", $4, $5, $6 }' "$MEDIAN")
	local host
	host=$(awk '/^host:/ { sub(/^host: */, ""); sub(/,.*/, ""); h = $0 }
		/^load:.*before/ { l = $2 } END { printf "%s, load %s before", h, l }' "$DIR/host.txt" 2>/dev/null)
	local term="pngcairo size 1100,1700 font 'sans,10'"
	gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 || term="png size 1100,1700"
	gnuplot >"$DIR/gnuplot.log" 2>&1 <<-EOF
	set terminal $term
	set output '$DIR/results.png'
	set datafile missing '-'
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set boxwidth 0.9
	set grid ytics
	set xtics rotate by 30 right noenhanced
	set key top right
	set yrange [0:*]
	set multiplot layout 4,1 title "culvert bench $STAMP: median of $BENCH_RUNS run(s); $host" noenhanced
	set title "throughput through the tunnel, Mbit/s ($raw_note)" noenhanced
	plot '$dat' using 2:xtic(1) title 'TCP U->V', '' using 3 title 'TCP V->U', '' using 4 title 'UDP arrived'
	set title "TCP U->V through random loss on the outer link, each way, Mbit/s"
	plot '$dat' using 7:xtic(1) title '0 %', '' using 8 title '1 %', '' using 9 title '5 %'
	set title "ping RTT U->V, ms (lower is better)"
	plot '$dat' using 5:xtic(1) title 'idle, 50 ms apart' lc rgb '#8060c0', '' using 10 title 'idle, 2 ms apart', '' using 11 title 'beside one TCP stream'
	set title "CPU seconds per GB carried, both VPN ends (lower is better)"
	plot '$dat' using 6:xtic(1) title 'CPU s/GB' lc rgb '#c06040'
	unset multiplot
	EOF
}
if [[ ${BENCH_CHART:-1} == 0 ]]; then
	:
elif need_gnuplot && chart && [[ -s $DIR/results.png ]]; then
	say "chart: $DIR/results.png"
else
	say "no chart (gnuplot missing or failed: $DIR/gnuplot.log)"
fi
say "report: ${REPORT/#\/dev\/null/$DIR/comparison.txt}; CSV: $DIR/results.csv, $DIR/comparison.csv"

# culvert itself must have been measured; a peer may fail without failing the bench
bad=0
for s in $BENCH_SYSTEMS; do
	[[ $s == culvert-* ]] || continue
	st=$(awk -F'\t' -v s="$s" '$1 == s { print $NF }' "$MEDIAN")
	[[ $st == ok* ]] || { say "$s: ${st:-no result}"; bad=1; }
done
exit "$bad"
