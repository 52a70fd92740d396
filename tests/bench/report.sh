#!/usr/bin/env bash
# report.sh - `make bench`'s arithmetic on made-up rounds, without root or a
# lab: bench/run.sh --report takes the medians per system over three rounds
# (skipping a round where a system failed), keeps the failure with its reason,
# compares culvert-tls with ocserv-tls, with raw and with the best peer (the
# loss columns too), and exits 1 because a culvert system was never measured.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail

SRC=${CULVERT_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v column >/dev/null || { echo "SKIP: column not found: install bsdextrautils"; exit 77; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cvt-bench-report.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT

fail() { printf 'not ok - %s\n' "$*"; exit 1; }
ok() { printf 'ok - %s\n' "$*"; }

# one line of peers.sh's TSV (bench/peers.sh --fields): system, tcp, rev,
# udp, rtt, cpu, status, then the small-packet rate (kpps per CPU second),
# the RTT at 2 ms intervals and beside a TCP stream; TCP through 0, 1 and 5 %
# loss are tcp, tcp / 2 and tcp / 10
row() {
	local s=$1 tcp=$2 rev=$3 udp=$4 rtt=$5 cpu=$6 st=$7 kpps=$8 rtt2=$9 load=${10}
	printf '%s\t' "$s" "$s 1.0" "proto" "$tcp" "$rev" "$udp" 10.00 "$kpps" "$rtt" "$rtt2" "$load" "$cpu" \
		"$tcp" $((tcp / 2)) $((tcp / 10)) \
		1400 "cipher" 10 5 10 5 "srv:x" 10 "$cpu" 100 100 500 "$rtt2" "$load" "$load" "$tcp"
	printf '%s\n' "$st"
}
dead() { printf '%s\t?\t?' "$1"; for ((i = 4; i <= 31; i++)); do printf '\t-'; done; printf '\t%s\n' "$2"; }

# the layout above is peers.sh's
fields=$(bash "$SRC/bench/peers.sh" --fields)
(($(wc -w <<<"$fields") == 32)) || fail "peers.sh has $(wc -w <<<"$fields") fields; row() here writes 32: update it"
[[ $fields == *" udp_kpps_per_core rtt_ms rtt2_ms rtt_load_ms cpu_s_per_GB "* ]] ||
	fail "peers.sh's fields are not in the order row() writes them: $fields"

R=$TMP/20260101-000000/work/results
mkdir -p "$R"
{
	row culvert-tls 300 200 50 0.600 10.00 ok 300 0.300 2.000
	dead culvert-udp "failed: setup failed"
	row ocserv-tls 100 100 40 1.200 20.00 ok 60 0.800 9.000
	row raw 2000 2000 400 0.100 - ok - 0.050 0.400
	row wireguard 150 140 60 1.000 30.00 ok 80 0.500 5.000
} >"$R/20260101-000000-r1.tsv"
{
	row culvert-tls 100 220 52 0.500 12.00 ok 320 0.200 1.000
	dead culvert-udp "failed: setup failed"
	row ocserv-tls 110 90 42 1.100 22.00 ok 70 0.700 8.000
	row raw 2100 1900 410 0.090 - ok - 0.040 0.300
	dead wireguard "failed: V not reachable through it after 30s"
} >"$R/20260101-000000-r2.tsv"
{
	row culvert-tls 200 210 51 0.700 11.00 ok 310 0.250 3.000
	dead culvert-udp "failed: setup failed"
	row ocserv-tls 120 80 44 1.000 24.00 ok 50 0.900 10.000
	row raw 1900 2100 420 0.110 - ok - 0.060 0.500
	row wireguard 170 160 70 0.900 28.00 ok 100 0.400 4.000
} >"$R/20260101-000000-r3.tsv"

out=$(BENCH_CHART=0 bash "$SRC/bench/run.sh" --report "$TMP/20260101-000000" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
D=$TMP/20260101-000000

((rc == 1)) || fail "run.sh --report exits $rc, not 1, when culvert-udp failed in every round"
ok "a culvert system that was never measured fails the bench"

[[ $(head -n 1 "$D/results.csv") == system,version,transport,tcp_mbps,* ]] ||
	fail "results.csv has no header: $(head -n 1 "$D/results.csv")"
(($(wc -l <"$D/results.csv") == 6)) || fail "results.csv: not a header and 5 systems"
grep -q '^"culvert-tls","culvert-tls 1.0","proto",200,210,51,10.00,310,0.600,0.250,2.000,11.00,200,100,20,1400,' "$D/results.csv" ||
	fail "culvert-tls's medians (tcp 200, rev 210, udp 51, 310 kpps per core, rtt 0.600, 0.250 at 2 ms, 2.000 under load, cpu 11.00, through loss 200 100 20) are not in results.csv"
ok "results.csv holds the median of each figure over the rounds"

grep -q '^"wireguard",.*,160,150,65,.*"ok in 2/3 runs; failed: V not reachable' "$D/results.csv" ||
	fail "wireguard: the medians of its two good rounds, and its failure, are not in results.csv"
grep -q '^"culvert-udp",.*"failed: setup failed"$' "$D/results.csv" ||
	fail "culvert-udp's failure and its reason are not in results.csv"
grep -q 'culvert-udp: failed: setup failed' <<<"$out" || fail "the report does not list culvert-udp as failed"
ok "a failed round is left out of the medians, a failed system is listed with its reason"

grep -q '^culvert-tls,ocserv-tls,ocserv-tls,tcp_mbps,200,110,182$' "$D/comparison.csv" ||
	fail "culvert-tls against ocserv-tls (tcp 200 / 110 = 182 %) is not in comparison.csv"
grep -q '^culvert-tls,ocserv-tls,ocserv-tls,cpu_s_per_GB,11.00,22.00,50$' "$D/comparison.csv" ||
	fail "culvert-tls against ocserv-tls (cpu 11 / 22 = 50 %) is not in comparison.csv"
grep -q '^culvert-tls,raw,raw,tcp_mbps,200,2000,10$' "$D/comparison.csv" ||
	fail "culvert-tls against raw (200 / 2000 = 10 %) is not in comparison.csv"
grep -q 'cpu_s_per_GB' <<<"$(grep '^culvert-tls,raw,' "$D/comparison.csv")" &&
	fail "culvert-tls is compared with raw on CPU per GB, which raw does not have"
ok "culvert-tls is compared with ocserv-tls and with no tunnel"

grep -q '^culvert-tls,best peer,wireguard,rtt_ms,0.600,0.950,63$' "$D/comparison.csv" ||
	fail "the best peer's RTT (wireguard, 0.950) is not the comparison's"
grep -q '^culvert-tls,best peer,wireguard,rtt_load_ms,2.000,4.500,44$' "$D/comparison.csv" ||
	fail "the best peer under load (wireguard, 4.500 ms) is not the comparison's"
grep -q '^culvert-tls,best peer,wireguard,rtt2_ms,0.250,0.450,56$' "$D/comparison.csv" ||
	fail "the best peer at 2 ms intervals (wireguard, 0.450 ms) is not the comparison's"
grep -q '^culvert-tls,best peer,wireguard,udp_kpps_per_core,310,90,344$' "$D/comparison.csv" ||
	fail "the best peer's small-packet rate per CPU second (wireguard, 90: higher is better) is not the comparison's"
grep -q '^culvert-tls,raw,raw,udp_kpps_per_core' "$D/comparison.csv" &&
	fail "culvert-tls is compared with raw on packets per CPU second, which raw does not have"
grep -q 'raw (no tunnel) .*2.000 vs 0.400: +1.600 ms' <<<"$out" ||
	fail "the report does not give the RTT under load culvert-tls adds to raw in ms"
grep -q '^culvert-tls,best peer,ocserv-tls,cpu_s_per_GB,11.00,22.00,50$' "$D/comparison.csv" ||
	fail "the best peer's CPU per GB (ocserv-tls, 22.00) is not the comparison's"
grep -q '^culvert-tls,best peer,wireguard,tcp_mbps,200,160,125$' "$D/comparison.csv" ||
	fail "the best peer's TCP throughput (wireguard, 160) is not the comparison's"
grep -q '^culvert-tls,ocserv-tls,ocserv-tls,tcp_loss5_mbps,20,11,182$' "$D/comparison.csv" ||
	fail "culvert-tls against ocserv-tls through 5 % loss (20 / 11 = 182 %) is not in comparison.csv"
grep -q '^culvert-tls,best peer,wireguard,tcp_loss1_mbps,100,80,125$' "$D/comparison.csv" ||
	fail "the best peer through 1 % loss (wireguard, 80) is not the comparison's"
grep -q 'raw (no tunnel) .*0.600 vs 0.100: +0.500 ms' <<<"$out" ||
	fail "the report does not give the RTT culvert-tls adds to raw in ms"
ok "every culvert figure is compared with the best peer for that figure"
