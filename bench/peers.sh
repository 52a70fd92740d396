#!/usr/bin/env bash
# peers.sh - side-by-side performance baseline of existing VPNs in the
# road-warrior lab, so that culvert can be measured against them in one run.
#
# Origin: a copy of the team's shared/bench/peers.sh (the script the first
# baselines were measured with), brought into the repository so that
# `make bench` works from a fresh clone. The method is unchanged (same lab,
# same iperf3/ping tests and CPU accounting, same tables and medians); the
# changes are: namespaces named cvt-bench-* by default and one run at a time
# (a lock), leftovers inside our namespaces ended before they are deleted, a
# system that fails to come up gives a row with status "failed: WHY" instead
# of no row, an optional sys_NAME_up hook run once the tunnel carries traffic,
# the median table written for one run too, --median-tsv and --fields,
# packages installed without their recommends, the loss columns (TCP
# through 0, 1 and 5 % random loss on the outer link, made with nftables),
# ping at 2 ms intervals and beside one saturating TCP stream, and the UDP
# test's datagrams per CPU second of both VPN ends.
# bench/run.sh (`make bench`) drives it with bench/culvert-systems.sh.
#
# usage: peers.sh [-r RUNS] [-o DIR] [-l] [SYSTEM...]
#   -r RUNS   run every selected system RUNS times (interleaved), print each
#             run's table and the median table (default 1)
#   -o DIR    where results, logs and generated configs go (default: $TMPDIR/culvert-bench or /tmp/culvert-bench)
#   -l        list the systems and exit
#   SYSTEM    any of: raw wireguard openvpn-udp openvpn-tcp openvpn-tcp-nodelay
#             ocserv-dtls ocserv-tls tinc fastd custom crypto
#             (default: all but custom)
#   peers.sh --median FILE.tsv...   print the median table of saved runs
#   peers.sh --median-tsv FILE.tsv... the same medians as TSV (no header)
#   peers.sh --fields               the TSV's field names, one line
#   peers.sh --up SYSTEM | --down   leave one system's lab up for inspection
#
# The lab (namespaces carry $NS_PREFIX, default "cvt-bench-", as the
# project's rules ask of every namespace we create):
#   cvt-bench-hu  host U, the VPN client   pub0 192.0.2.2/24
#   cvt-bench-gw  the gateway, VPN server  pub0 192.0.2.1/24, lan0 198.51.100.1/24,
#                                          IPv4 forwarding on
#   cvt-bench-hv  host V on the LAN        lan0 198.51.100.11/24, default via .1
# Tunnel-inner addresses: 203.0.113.0/24 (server .1, client .2 or from the
# pool). No NAT: V sees U's inner address. U has no route to 198.51.100.0/24
# but the one the VPN installs, and the gateway's nftables guard drops anything
# forwarded between pub0 and lan0 directly, so U reaches V only through the
# tunnel. "raw" is the exception: no tunnel, no guard, U routes via 192.0.2.1.
#
# Adding a system: write a function sys_NAME (dashes in NAME become
# underscores) that starts the server in $GW and the client in $HU with
# `spawn srv|cli NS CMD...` (foreground processes only: their PIDs are what
# the CPU accounting reads and what teardown kills) and sets SYS_VERSION,
# SYS_TRANSPORT, SYS_CIPHER. Put it here or in a file named by $PEERS_EXTRA,
# which is sourced. An optional sys_NAME_up runs once the tunnel carries
# traffic (to read the negotiated cipher from a log, say). The runner waits
# for V to answer through the tunnel, then measures. A daemon named on the
# command line needs no function at all:
#   CUSTOM_NAME=culvert-udp CUSTOM_VERSION="culvert 0.1" CUSTOM_TRANSPORT=udp \
#   CUSTOM_GW_CMD="culvertd -c gw.conf -f" CUSTOM_HU_CMD="culvertd -c u.conf -f" \
#   peers.sh raw custom openvpn-udp
#
# Traffic goes only between the namespaces made here, to documentation
# addresses. Every load is bounded (iperf3 -t, timeout). Only processes this
# script started are ended, by PID: those it recorded, then anything left
# inside its own namespaces (forked workers). Namespaces are removed at start
# and end, on Ctrl-C too.

set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/culvert-bench}
NS_PREFIX=${NS_PREFIX:-cvt-bench-}
HU=${NS_PREFIX}hu GW=${NS_PREFIX}gw HV=${NS_PREFIX}hv
U_PUB=192.0.2.2 G_PUB=192.0.2.1 G_LAN=198.51.100.1 V_LAN=198.51.100.11
LAN_NET=198.51.100.0/24 INNER_NET=203.0.113.0/24 G_IN=203.0.113.1 U_IN=203.0.113.2
TCP_SECS=${TCP_SECS:-10}      # iperf3 -t for the TCP tests
UDP_SECS=${UDP_SECS:-5}       # iperf3 -t for the UDP test
UDP_RATE=${UDP_RATE:-2G}      # offered UDP rate
UDP_LEN=${UDP_LEN:-1200}      # UDP payload: fits every tunnel's MTU unfragmented
PINGS=${PINGS:-20}
PINGS2=${PINGS2:-200}         # pings at 2 ms intervals (rtt2_ms)
LOAD_PINGS=${LOAD_PINGS:-40}  # pings at 50 ms beside one saturating TCP stream (rtt_load_ms)
UP_TIMEOUT=${UP_TIMEOUT:-30}  # seconds to wait for a tunnel to carry traffic
LOSS_SECS=${LOSS_SECS:-5}     # iperf3 -t for each loss test; 0: no loss tests
ALL_SYSTEMS="raw wireguard openvpn-udp openvpn-tcp openvpn-tcp-nodelay ocserv-dtls ocserv-tls tinc fastd crypto"
LOCK=${LOCK:-${TMPDIR:-/tmp}/culvert-bench-$NS_PREFIX.lock}   # one run per lab name at a time
# Every result is one TSV line with these fields; FMTS says how each is shown
# (s: text, N: decimals). The first twelve are the main table, the rest
# details; status is "ok", "incomplete" (a test gave no number) or "failed:
# WHY".
FIELDS="system version transport tcp_mbps tcp_rev_mbps udp_mbps udp_loss_pct udp_kpps_per_core
 rtt_ms rtt2_ms rtt_load_ms cpu_s_per_GB tcp_loss0_mbps tcp_loss1_mbps tcp_loss5_mbps
 mtu cipher cli_cpu_pct cli_sys_pct srv_cpu_pct srv_sys_pct hot_thread hot_thread_pct
 cpu_s_per_GB_rev box_busy_pct outer_udp_pct udp_sent_mbps
 rtt2_p50_ms rtt_load_p90_ms rtt_load_max_ms load_tcp_mbps status"
FMTS="s s s 0 0 0 2 0 3 3 3 2 0 0 0 s s 0 0 0 0 s 0 2 0 0 0 3 3 3 0 s"
MAIN_FIELDS=15
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[peers %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# --------------------------------------------------------------- dependencies
need_pkgs() {   # need_pkgs CMD:PKG... - apt-get install what is missing
	local want=() c p
	for c in "$@"; do p=${c#*:}; c=${c%%:*}
		command -v "$c" >/dev/null 2>&1 || [[ -e $c ]] || want+=("$p"); done
	((${#want[@]})) || return 0
	log "installing ${want[*]}"
	[[ -n $(find /var/lib/apt/lists -name '*Packages*' -print -quit 2>/dev/null) ]] ||
		apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null ||
		{ log "error: apt-get install ${want[*]} failed"; return 1; }
}

# ---------------------------------------------------- processes we started
# $OUT/pids holds "pid starttime" of every process spawned, across runs, so
# that a re-run ends exactly the leftovers of an earlier one and nothing else.
SRV_PIDS=() CLI_PIDS=()
starttime() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }
	set -- $s; echo "${20}"; }
spawn() {   # spawn srv|cli NS CMD... : run CMD in NS, in the background, logged
	local role=$1 ns=$2; shift 2
	local logf="$OUT/log/${CUR_SYS:-misc}-$role.log"
	echo "+ ip netns exec $ns $*" >>"$logf"
	ip netns exec "$ns" "$@" >>"$logf" 2>&1 </dev/null 9>&- &
	local pid=$!
	echo "$pid $(starttime $pid) $role $ns $1" >>"$OUT/pids"
	case $role in srv) SRV_PIDS+=("$pid") ;; cli) CLI_PIDS+=("$pid") ;; esac
}
end_pid() {   # end one of our PIDs if it is still the same process
	local pid=$1 st=$2 i
	[[ $(starttime "$pid") == "$st" ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 30); do [[ $(starttime "$pid") == "$st" ]] || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null; sleep 0.1
}
end_ours() {
	[[ -f $OUT/pids ]] || return 0
	local pid st rest
	# clients first, so that they say goodbye to a server that still listens
	tac "$OUT/pids" | while read -r pid st rest; do end_pid "$pid" "$st"; done
	rm -f "$OUT/pids"
	SRV_PIDS=() CLI_PIDS=()
}
tree_pids() {   # PIDs given and all their descendants (ocserv forks workers)
	local all; all=$(ps -e -o pid=,ppid=)
	local frontier=("$@") seen=() p
	while ((${#frontier[@]})); do
		p=${frontier[0]}; frontier=("${frontier[@]:1}")
		[[ -d /proc/$p ]] || continue
		seen+=("$p")
		frontier+=($(awk -v pp="$p" '$2==pp {print $1}' <<<"$all"))
	done
	echo "${seen[@]}"
}
cpu_ticks() {   # "utime stime" summed over the given PIDs and descendants
	local p s u=0 k=0
	for p in $(tree_pids "$@"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue; s=${s##*) }
		set -- $s; u=$((u + ${12})) k=$((k + ${13}))
	done
	echo "$u $k"
}
thread_ticks() {   # thread_ticks ROLE PIDS... : "role:comm/tid ticks" per thread
	local role=$1 p t s c; shift
	for p in $(tree_pids "$@"); do
		for t in /proc/$p/task/*; do
			s=$(cat "$t/stat" 2>/dev/null) || continue
			c=${s#*(}; c=${c%%)*}; c=${c// /_}; s=${s##*) }
			set -- $s; echo "$role:$c/${t##*/} $((${12} + ${13}))"
		done
	done
}
box_cpu() { awk '/^cpu /{print $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
outer_pkts() {   # datagrams and segments the gateway itself received: UDP TCP
	nsx "$GW" awk '/^Udp: [0-9]/{u=$2} /^Tcp: [0-9]/{t=$11} END{print u, t}' /proc/net/snmp
}

# ------------------------------------------------------------------- the lab
end_leftovers() {   # whatever still runs inside our namespaces was started here
	local sig ns pid i left
	for sig in TERM KILL; do
		left=0
		for ns in "$HU" "$GW" "$HV"; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
				kill -"$sig" "$pid" 2>/dev/null && left=1
			done
		done
		((left)) || return 0
		for ((i = 0; i < 20; i++)); do
			sleep 0.1
			left=0
			for ns in "$HU" "$GW" "$HV"; do
				[[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && left=1
			done
			((left)) || return 0
		done
	done
}
lab_down() {
	end_ours
	end_leftovers
	local ns
	for ns in "$HU" "$GW" "$HV"; do ip netns del "$ns" 2>/dev/null; done
	return 0
}
lab_up() {   # lab_up [guard]: the three namespaces, addresses, routes
	local guard=${1:-guard}
	lab_down
	ip netns add "$HU" && ip netns add "$GW" && ip netns add "$HV" || die "ip netns add"
	local ns; for ns in "$HU" "$GW" "$HV"; do nsx "$ns" ip link set lo up; done
	ip link add pub0 netns "$HU" type veth peer name pub0 netns "$GW" || die "veth pub0"
	ip link add lan0 netns "$GW" type veth peer name lan0 netns "$HV" || die "veth lan0"
	nsx "$HU" ip addr add $U_PUB/24 dev pub0
	nsx "$GW" ip addr add $G_PUB/24 dev pub0
	nsx "$GW" ip addr add $G_LAN/24 dev lan0
	nsx "$HV" ip addr add $V_LAN/24 dev lan0
	for ns in "$HU" "$GW"; do nsx "$ns" ip link set pub0 up; done
	for ns in "$GW" "$HV"; do nsx "$ns" ip link set lan0 up; done
	nsx "$HV" ip route add default via $G_LAN
	nsx "$GW" sysctl -qw net.ipv4.ip_forward=1
	if [[ $guard == guard ]]; then
		nsx "$GW" nft -f - <<-EOF || die "nft guard"
		table inet cvt_guard {
			chain forward {
				type filter hook forward priority 0; policy accept;
				iifname "pub0" oifname "lan0" counter drop
				iifname "lan0" oifname "pub0" counter drop
			}
		}
		EOF
	fi
	# iperf3 server on V for the whole system's measurements
	spawn lab "$HV" iperf3 -s -B $V_LAN
}

# ------------------------------------------------------------ shared PKI
# One small CA (ECDSA P-256) for OpenVPN and ocserv; made once, kept in $OUT/pki.
pki_ensure() {
	local d=$OUT/pki
	[[ -s $d/client.crt ]] && return 0
	mkdir -p "$d"; (
	cd "$d" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.crt -days 3650 -subj "/CN=cvt bench CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout server.key -out server.csr -subj "/CN=gw.cvt.test"
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out server.crt -days 3650 -extfile <(printf '%s\n' \
		"subjectAltName=DNS:gw.cvt.test,IP:$G_PUB" "extendedKeyUsage=serverAuth" \
		"keyUsage=critical,digitalSignature")
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout client.key -out client.csr -subj "/CN=hu"
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out client.crt -days 3650 -extfile <(printf '%s\n' \
		"extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature")
	) >"$OUT/log/pki.log" 2>&1 || { log "PKI generation failed, see $OUT/log/pki.log"; return 1; }
	chmod 644 "$d"/*.crt "$d"/*.key   # ocserv workers run as nobody; bench-only keys
}
wait_for() {   # wait_for SECONDS CMD... : poll CMD every 0.1 s
	local n=$(($1 * 10)); shift
	while ((n-- > 0)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# =================================================================== systems
# Each sets SYS_VERSION SYS_TRANSPORT SYS_CIPHER and starts its daemons.

sys_raw() {
	SYS_GUARD=noguard
	SYS_VERSION="linux $(uname -r | cut -d- -f1)" SYS_TRANSPORT="none (routed)" SYS_CIPHER=none
	nsx "$HU" ip route add $LAN_NET via $G_PUB
}

sys_wireguard() {
	need_pkgs wireguard-go:wireguard-go wg:wireguard-tools || return 1
	SYS_VERSION="wireguard-go $(wireguard-go --version | awk '{print $2; exit}')"
	SYS_TRANSPORT="udp (userspace)" SYS_CIPHER="Noise_IK ChaCha20-Poly1305"
	local d=$OUT/wireguard; mkdir -p "$d"
	[[ -s $d/hu.key ]] || { umask 077; wg genkey >"$d/gw.key"; wg genkey >"$d/hu.key"; umask 022; }
	wg pubkey <"$d/gw.key" >"$d/gw.pub"; wg pubkey <"$d/hu.key" >"$d/hu.pub"
	# UAPI sockets live in /var/run/wireguard, shared by all namespaces:
	# the interface names must differ.
	spawn srv "$GW" env WG_PROCESS_FOREGROUND=1 wireguard-go -f wg-gw
	spawn cli "$HU" env WG_PROCESS_FOREGROUND=1 wireguard-go -f wg-hu
	wait_for 10 test -S /var/run/wireguard/wg-gw.sock || { log "$CUR_SYS: wireguard-go gw did not start"; return 1; }
	wait_for 10 test -S /var/run/wireguard/wg-hu.sock || { log "$CUR_SYS: wireguard-go hu did not start"; return 1; }
	nsx "$GW" wg set wg-gw listen-port 51820 private-key "$d/gw.key" \
		peer "$(cat "$d/hu.pub")" allowed-ips $U_IN/32
	nsx "$GW" ip addr add $G_IN/24 dev wg-gw
	nsx "$GW" ip link set wg-gw up
	nsx "$HU" wg set wg-hu private-key "$d/hu.key" \
		peer "$(cat "$d/gw.pub")" endpoint $G_PUB:51820 allowed-ips $INNER_NET,$LAN_NET
	nsx "$HU" ip addr add $U_IN/24 dev wg-hu
	nsx "$HU" ip link set wg-hu up
	nsx "$HU" ip route add $LAN_NET dev wg-hu
}

openvpn_common() {   # openvpn_common udp|tcp [nodelay]
	local proto=$1 variant=${2:-}
	need_pkgs openvpn:openvpn openssl:openssl || return 1
	pki_ensure || return 1
	SYS_VERSION="openvpn $(openvpn --version | awk 'NR==1{print $2}')"
	SYS_TRANSPORT="$proto (userspace, no DCO)"
	# tcp-nodelay: TCP_NODELAY on the server's socket, pushed to the client.
	# Without it Nagle holds back sub-MSS packet writes: 3x slower here.
	local nodelay="# tcp-nodelay off (default)"
	[[ $variant == nodelay ]] && nodelay="tcp-nodelay" SYS_TRANSPORT="tcp+nodelay (userspace, no DCO)"
	local tag=$proto${variant:+-$variant}
	SYS_CIPHER="TLS1.3 ECDSA-P256; data AES-256-GCM"
	local d=$OUT/openvpn p=$OUT/pki; mkdir -p "$d"
	local sproto=udp cproto=udp
	[[ $proto == tcp ]] && sproto=tcp-server cproto=tcp-client
	cat >"$d/server-$tag.conf" <<-EOF
	# OpenVPN 2.6 gateway, written by peers.sh
	dev tun
	dev-type tun
	proto $sproto
	local $G_PUB
	port 1194
	topology subnet
	server ${INNER_NET%/*} 255.255.255.0
	push "route ${LAN_NET%/*} 255.255.255.0"
	ca $p/ca.crt
	cert $p/server.crt
	key $p/server.key
	dh none
	data-ciphers AES-256-GCM
	tls-version-min 1.2
	disable-dco
	$nodelay
	keepalive 10 60
	verb 3
	EOF
	cat >"$d/client-$tag.conf" <<-EOF
	# OpenVPN 2.6 road-warrior client, written by peers.sh
	client
	dev tun
	proto $cproto
	remote $G_PUB 1194
	nobind
	ca $p/ca.crt
	cert $p/client.crt
	key $p/client.key
	remote-cert-tls server
	verify-x509-name gw.cvt.test name
	data-ciphers AES-256-GCM
	disable-dco
	verb 3
	EOF
	spawn srv "$GW" openvpn --config "$d/server-$tag.conf"
	wait_for 10 nsx "$GW" ip link show tun0 || { log "$CUR_SYS: openvpn server did not create tun0"; return 1; }
	spawn cli "$HU" openvpn --config "$d/client-$tag.conf"
}
sys_openvpn_udp() { openvpn_common udp; }
sys_openvpn_tcp() { openvpn_common tcp; }
sys_openvpn_tcp_nodelay() { openvpn_common tcp nodelay; }

ocserv_common() {   # ocserv_common dtls|tls
	local mode=$1
	need_pkgs ocserv:ocserv openconnect:openconnect openssl:openssl || return 1
	pki_ensure || return 1
	SYS_VERSION="ocserv $(ocserv --version 2>&1 | awk '/^ocserv/{print $2; exit}') + openconnect $(openconnect --version 2>&1 | awk '/^OpenConnect version/{print $3; exit}' | sed 's/^v//')"
	local d=$OUT/ocserv p=$OUT/pki; mkdir -p "$d" /run/cvt-ocserv
	# plain password auth: user "bench", password in $d/pass
	[[ -s $d/pass ]] || echo "bench-$RANDOM$RANDOM" >"$d/pass"
	echo "bench:*:$(openssl passwd -6 -stdin <"$d/pass")" >"$d/ocpasswd"
	local udpline="udp-port = 443" dtlsopt=()
	if [[ $mode == tls ]]; then udpline="# no udp-port: TLS over TCP only"; dtlsopt=(--no-dtls); fi
	SYS_TRANSPORT=$([[ $mode == tls ]] && echo "TLS/tcp only" || echo "DTLS/udp (+TLS/tcp control)")
	cat >"$d/ocserv-$mode.conf" <<-EOF
	# ocserv gateway, written by peers.sh
	auth = "plain[passwd=$d/ocpasswd]"
	listen-host = $G_PUB
	tcp-port = 443
	$udpline
	run-as-user = nobody
	run-as-group = nogroup
	socket-file = /run/cvt-ocserv/sock
	pid-file = /run/cvt-ocserv/pid
	server-cert = $p/server.crt
	server-key = $p/server.key
	isolate-workers = true
	max-clients = 8
	max-same-clients = 4
	max-ban-score = 0
	keepalive = 32400
	dpd = 90
	mobile-dpd = 1800
	switch-to-tcp-timeout = 25
	try-mtu-discovery = false
	tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
	auth-timeout = 240
	min-reauth-time = 1
	cookie-timeout = 300
	deny-roaming = false
	rekey-time = 172800
	rekey-method = ssl
	use-occtl = false
	device = vpns
	predictable-ips = true
	ipv4-network = ${INNER_NET%/*}
	ipv4-netmask = 255.255.255.0
	route = ${LAN_NET%/*}/255.255.255.0
	ping-leases = false
	cisco-client-compat = true
	dtls-legacy = true
	EOF
	# openconnect's --script: addresses and pushed routes only (no DNS, no
	# default route), instead of vpnc-script, which would edit resolv.conf
	# when a DNS server is pushed.
	cat >"$d/oc-script.sh" <<-'EOF'
	#!/bin/sh
	# minimal vpnc-script for the bench: address, MTU, pushed split routes
	case "$reason" in
	connect)
		ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}"
		ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
		i=0
		while [ "$i" -lt "${CISCO_SPLIT_INC:-0}" ]; do
			eval a=\$CISCO_SPLIT_INC_${i}_ADDR m=\$CISCO_SPLIT_INC_${i}_MASKLEN
			ip route replace "$a/$m" dev "$TUNDEV" src "$INTERNAL_IP4_ADDRESS"
			i=$((i + 1))
		done
		echo "oc-script: $TUNDEV $INTERNAL_IP4_ADDRESS mtu $INTERNAL_IP4_MTU routes $CISCO_SPLIT_INC"
		;;
	disconnect) ip link set dev "$TUNDEV" down 2>/dev/null ;;
	esac
	exit 0
	EOF
	chmod 755 "$d/oc-script.sh"
	spawn srv "$GW" ocserv -f -c "$d/ocserv-$mode.conf"
	wait_for 10 sh -c "ip netns exec $GW ss -ltnH 'sport = :443' | grep -q ." ||
		{ log "$CUR_SYS: ocserv did not listen on $G_PUB:443"; return 1; }
	# stdin carries the password; spawn gives /dev/null, so redirect here
	local logf="$OUT/log/${CUR_SYS}-cli.log"
	echo "+ openconnect ${dtlsopt[*]} https://$G_PUB/" >>"$logf"
	ip netns exec "$HU" openconnect --non-inter --passwd-on-stdin -u bench \
		--cafile "$p/ca.crt" --script "$d/oc-script.sh" -i oc-hu "${dtlsopt[@]}" \
		"https://$G_PUB:443/" <"$d/pass" >>"$logf" 2>&1 9>&- &
	local pid=$!; echo "$pid $(starttime $pid) cli $HU openconnect" >>"$OUT/pids"; CLI_PIDS+=("$pid")
}
ocserv_cipher() {   # after the tunnel is up, read the ciphersuites from the client log
	local f="$OUT/log/${CUR_SYS}-cli.log" t dt
	t=$(grep -oE 'Connected to HTTPS on .* with ciphersuite \S+' "$f" | tail -1 | awk '{print $NF}')
	dt=$(grep -oE 'Established DTLS connection.*Ciphersuite \S+' "$f" | tail -1 | awk '{print $NF}')
	# "(TLS1.3)-(ECDHE-SECP256R1)-(...)" -> "TLS1.3 ECDHE-SECP256R1 ..."
	t=$(sed 's/^(//; s/)\.\{0,1\}$//; s/)-(/ /g' <<<"$t")
	dt=$(sed 's/^(//; s/)\.\{0,1\}$//; s/)-(/ /g' <<<"$dt")
	SYS_CIPHER="${t:-?}${dt:+; data $dt}"
}
sys_ocserv_dtls() { ocserv_common dtls; }
sys_ocserv_tls() { ocserv_common tls; }

sys_tinc() {
	need_pkgs tincd:tinc || return 1
	SYS_VERSION="tinc $(tincd --version | awk 'NR==1{print $3}')"
	SYS_TRANSPORT="udp data, tcp meta (router mode)"
	SYS_CIPHER="RSA-2048 meta; data aes-256-cbc + HMAC-SHA256"
	local d=$OUT/tinc n
	for n in gw hu; do
		mkdir -p "$d/$n/hosts"
		{ echo "Name = $n"; echo "Mode = router"; echo "Interface = tinc-$n"
		  echo "AddressFamily = ipv4"; echo "PingTimeout = 30"
		  if [[ $n == gw ]]; then echo "BindToAddress = $G_PUB"; else echo "ConnectTo = gw"; fi
		} >"$d/$n/tinc.conf"
	done
	# host files: subnets, cipher and digest, public key
	local hostcfg_gw hostcfg_hu
	hostcfg_gw=$(printf '%s\n' "Address = $G_PUB" "Port = 655" "Subnet = $G_IN/32" \
		"Subnet = $LAN_NET" "Cipher = aes-256-cbc" "Digest = sha256")
	hostcfg_hu=$(printf '%s\n' "Subnet = $U_IN/32" "Cipher = aes-256-cbc" "Digest = sha256")
	for n in gw hu; do
		if [[ ! -s $d/$n/rsa_key.priv ]]; then
			openssl genrsa -traditional -out "$d/$n/rsa_key.priv" 2048 2>/dev/null
			chmod 600 "$d/$n/rsa_key.priv"
		fi
		openssl rsa -in "$d/$n/rsa_key.priv" -RSAPublicKey_out 2>/dev/null >"$d/$n.pub"
	done
	for n in gw hu; do
		{ echo "$hostcfg_gw"; cat "$d/gw.pub"; } >"$d/$n/hosts/gw"
		{ echo "$hostcfg_hu"; cat "$d/hu.pub"; } >"$d/$n/hosts/hu"
	done
	printf '#!/bin/sh\nip addr add %s/24 dev "$INTERFACE"\nip link set "$INTERFACE" up\n' \
		$G_IN >"$d/gw/tinc-up"
	printf '#!/bin/sh\nip addr add %s/24 dev "$INTERFACE"\nip link set "$INTERFACE" up\nip route add %s dev "$INTERFACE"\n' \
		$U_IN $LAN_NET >"$d/hu/tinc-up"
	chmod 755 "$d"/*/tinc-up
	spawn srv "$GW" tincd -c "$d/gw" -D -d1 --pidfile="$d/gw.pid" --logfile="$OUT/log/tinc-srv.tinclog"
	wait_for 10 nsx "$GW" ip link show tinc-gw || { log "$CUR_SYS: tincd gw did not start"; return 1; }
	spawn cli "$HU" tincd -c "$d/hu" -D -d1 --pidfile="$d/hu.pid" --logfile="$OUT/log/tinc-cli.tinclog"
	# tinc 1.0 sends packets larger than the path MTU it has confirmed so far
	# over the TCP meta connection while it probes (one round a second, up
	# to 30): let it settle, or the first run measures TCP-in-TCP. The
	# outer_udp_pct detail column shows how much really went over UDP.
	SYS_WARMUP=${TINC_SETTLE:-12}
}

sys_fastd() {
	need_pkgs fastd:fastd || return 1
	SYS_VERSION="fastd $(fastd --version | awk '{print $2}' | sed 's/^v//')"
	SYS_TRANSPORT="udp (tun mode)" SYS_CIPHER="ec25519-fhmqvc; salsa2012+umac"
	local d=$OUT/fastd n; mkdir -p "$d"
	for n in gw hu; do
		[[ -s $d/$n.secret ]] ||
			fastd --generate-key --machine-readable >"$d/$n.secret" 2>/dev/null
		printf 'secret "%s";\n' "$(cat "$d/$n.secret")" >"$d/$n.secret.conf"
		fastd --config "$d/$n.secret.conf" --show-key --machine-readable >"$d/$n.pub" 2>/dev/null
	done
	cat >"$d/gw.conf" <<-EOF
	log level info;
	mode tun;
	interface "fastd-gw";
	bind $G_PUB:10000;
	method "salsa2012+umac";
	include "$d/gw.secret.conf";
	mtu 1400;
	on up "ip addr add $G_IN/24 dev \$INTERFACE && ip link set up dev \$INTERFACE";
	peer "hu" { key "$(cat "$d/hu.pub")"; }
	EOF
	cat >"$d/hu.conf" <<-EOF
	log level info;
	mode tun;
	interface "fastd-hu";
	bind $U_PUB:10000;
	method "salsa2012+umac";
	include "$d/hu.secret.conf";
	mtu 1400;
	on up "ip addr add $U_IN/24 dev \$INTERFACE && ip link set up dev \$INTERFACE && ip route add $LAN_NET dev \$INTERFACE";
	peer "gw" { key "$(cat "$d/gw.pub")"; remote $G_PUB:10000; }
	EOF
	spawn srv "$GW" fastd --config "$d/gw.conf"
	wait_for 10 nsx "$GW" ip link show fastd-gw || { log "$CUR_SYS: fastd gw did not start"; return 1; }
	spawn cli "$HU" fastd --config "$d/hu.conf"
}

sys_custom() {   # the daemon under test, named by the environment (see top)
	: "${CUSTOM_GW_CMD:?set CUSTOM_GW_CMD}" "${CUSTOM_HU_CMD:?set CUSTOM_HU_CMD}"
	SYS_NAME=${CUSTOM_NAME:-custom}
	SYS_VERSION=${CUSTOM_VERSION:-custom} SYS_TRANSPORT=${CUSTOM_TRANSPORT:-?}
	SYS_CIPHER=${CUSTOM_CIPHER:-?}
	spawn srv "$GW" bash -c "exec $CUSTOM_GW_CMD"
	sleep "${CUSTOM_GW_DELAY:-1}"
	spawn cli "$HU" bash -c "exec $CUSTOM_HU_CMD"
}

# ============================================================ crypto ceiling
crypto_ceiling() {   # one-core crypto throughput: what a tunnel could reach at best
	need_pkgs gnutls-cli:gnutls-bin openssl:openssl cc:gcc pkg-config:pkg-config \
		/usr/include/gnutls/crypto.h:libgnutls28-dev || return 1
	local f=$OUT/log/crypto.log c
	echo
	echo "== crypto ceiling, one core of: $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
	cc -O2 -o "$OUT/gnutls-aead-speed" "$BENCH_DIR/gnutls-aead-speed.c" \
		$(pkg-config --cflags --libs gnutls) || { log "cannot build gnutls-aead-speed"; return 1; }
	"$OUT/gnutls-aead-speed" 1 | sed 's/^/  /'
	echo "  $(openssl version | cut -d' ' -f1-2) speed -evp, GB/s at 1400 and 16384 bytes:"
	for c in aes-128-gcm aes-256-gcm chacha20-poly1305; do
		local a b
		a=$(timeout 30 openssl speed -seconds 1 -bytes 1400 -evp "$c" 2>/dev/null | tail -1 | awk '{print $NF}')
		b=$(timeout 60 openssl speed -seconds 1 -evp "$c" 2>/dev/null | tail -1 | awk '{print $NF}')
		printf '  %-18s %6s GB/s  %6s GB/s\n' "$c" \
			"$(awk -v x="${a%k}" 'BEGIN{printf "%.2f", x*1000/1e9}')" \
			"$(awk -v x="${b%k}" 'BEGIN{printf "%.2f", x*1000/1e9}')"
	done
	echo "  gnutls-cli --benchmark-ciphers (16 KiB buffers; it has no AES-256-GCM):"
	timeout 300 gnutls-cli --benchmark-ciphers >"$f" 2>&1
	grep -E '^ *(AES-128-GCM|AES-256-GCM|CHACHA20-POLY1305|AES-128-CBC-SHA256) ' "$f" | sed 's/^ */    /'
	echo "  (full gnutls-cli output: $f)"
}

# ============================================================= measuring
fmt() { awk -v v="$1" -v p="${2:-1}" 'BEGIN{ if (v=="" || v=="-") print "-"; else printf "%.*f\n", p, v }'; }
iperf() {   # iperf OUTFILE ARGS... : bounded iperf3 client in hu, JSON out
	local f=$1; shift
	# recorded like the daemons, so that a killed run's client is ended too
	ip netns exec "$HU" timeout $((TCP_SECS + UDP_SECS + 20)) iperf3 -c $V_LAN -J "$@" >"$f" 2>&1 9>&- &
	local pid=$!; echo "$pid $(starttime $pid)" >>"$OUT/pids"
	wait "$pid"
}

ping_stats() {   # ping_stats COUNT INTERVAL -> "mean p50 p90 max" ms of U's pings to V, or "- - - -"
	local secs; secs=$(awk -v c="$1" -v i="$2" 'BEGIN{printf "%d", c * i + 5}')
	nsx "$HU" timeout "$secs" ping -n -c "$1" -i "$2" -W 1 $V_LAN 2>/dev/null |
		awk '/ time=/ { sub(/.* time=/, ""); a[++n] = $1 + 0; s += $1 }
		function q(p,   k) { k = int(p * n + 0.999999); return a[k < 1 ? 1 : k] }
		END { if (!n) { print "- - - -"; exit }
			for (j = 2; j <= n; j++) { x = a[j]; p = j - 1; while (p > 0 && a[p] > x) { a[p + 1] = a[p]; p-- } a[p + 1] = x }
			print s / n, q(0.5), q(0.9), a[n] }'
}
rtt_under_load() {   # rtt_under_load R -> "mean p90 max load_mbps": pings beside one TCP stream U -> V
	# the stream runs for the whole ping (1 s to ramp up, LOAD_PINGS at 50
	# ms, 1 s to spare), bounded by iperf3 -t and timeout like every load
	local f=$1-load.json secs stats mean p50 p90 max mbps
	secs=$(awk -v c="$LOAD_PINGS" 'BEGIN{printf "%d", c * 0.05 + 2.999}')
	ip netns exec "$HU" timeout $((secs + 20)) iperf3 -c $V_LAN -J -t "$secs" >"$f" 2>&1 9>&- &
	local pid=$!; echo "$pid $(starttime $pid)" >>"$OUT/pids"
	sleep 1
	read -r mean p50 p90 max < <(ping_stats "$LOAD_PINGS" 0.05)
	wait "$pid"
	mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$f" 2>/dev/null)
	[[ $mbps =~ ^[0-9.]+$ ]] || { log "$CUR_SYS: the TCP stream beside the pings failed, see $f"; mean=- p90=- max=- mbps=-; }
	echo "$mean $p90 $max $mbps"
}

measure() {   # measure SYS -> one TSV line on stdout
	local sys=$1; local r=$OUT/raw/$RUN_ID-$sys; mkdir -p "$OUT/raw"
	# RTT idle, at 50 ms and at 2 ms intervals, then beside a bulk stream
	local rtt rtt2 rtt2_p50 p50 p90 max rtt_load load_p90 load_max load_mbps
	read -r rtt p50 p90 max < <(ping_stats "$PINGS" 0.05)
	read -r rtt2 rtt2_p50 p90 max < <(ping_stats "$PINGS2" 0.002)
	sleep 1
	read -r rtt_load load_p90 load_max load_mbps < <(rtt_under_load "$r")
	sleep 1
	# TCP forward (U sends to V), with CPU accounting of both VPN ends
	local c0 s0 b0 o0 t0 c1 s1 b1 o1 t1
	c0=$(cpu_ticks "${CLI_PIDS[@]}") s0=$(cpu_ticks "${SRV_PIDS[@]}") b0=$(box_cpu) o0=$(outer_pkts)
	t0=$( { thread_ticks cli "${CLI_PIDS[@]}"; thread_ticks srv "${SRV_PIDS[@]}"; } )
	iperf "$r-tcp.json" -t "$TCP_SECS"
	c1=$(cpu_ticks "${CLI_PIDS[@]}") s1=$(cpu_ticks "${SRV_PIDS[@]}") b1=$(box_cpu) o1=$(outer_pkts)
	t1=$( { thread_ticks cli "${CLI_PIDS[@]}"; thread_ticks srv "${SRV_PIDS[@]}"; } )
	local tcp bytes secs
	tcp=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$r-tcp.json" 2>/dev/null)
	bytes=$(jq -r '.end.sum_received.bytes' "$r-tcp.json" 2>/dev/null)
	secs=$(jq -r '.end.sum_received.seconds' "$r-tcp.json" 2>/dev/null)
	local cpu_gb=- cli_pct=- cli_sys=- srv_pct=- srv_sys=- hot=- hot_pct=- busy outer_udp=-
	if [[ $sys != raw && $bytes =~ ^[0-9]+$ ]] && ((bytes > 0)); then
		read -r cpu_gb cli_pct cli_sys srv_pct srv_sys < <(awk -v c0="$c0" -v c1="$c1" \
			-v s0="$s0" -v s1="$s1" -v h="$CLK_TCK" -v b="$bytes" -v t="$secs" 'BEGIN{
			split(c0, a, " "); split(c1, z, " "); cu=(z[1]-a[1])/h; ck=(z[2]-a[2])/h
			split(s0, a, " "); split(s1, z, " "); su=(z[1]-a[1])/h; sk=(z[2]-a[2])/h
			print (cu+ck+su+sk)/(b/1e9), 100*(cu+ck)/t, 100*ck/t, 100*(su+sk)/t, 100*sk/t }')
		# the busiest single thread of either end: is one core the limit?
		read -r hot hot_pct < <(awk -v h="$CLK_TCK" -v t="$secs" '
			NR==FNR { a[$1]=$2; next } { d=$2-a[$1]; if (d>m) { m=d; w=$1 } }
			END { sub(/\/[0-9]+$/, "", w); print (w=="" ? "-" : w), 100*m/h/t }' \
			<(echo "$t0") <(echo "$t1"))
		outer_udp=$(awk -v a="$o0" -v b="$o1" 'BEGIN{split(a,x," "); split(b,y," ");
			u=y[1]-x[1]; t=y[2]-x[2]; print (u+t>0) ? 100*u/(u+t) : "-"}')
	fi
	busy=$(awk -v a="$b0" -v b="$b1" 'BEGIN{split(a,x," "); split(b,y," ");
		print 100*(y[1]-x[1])/(y[2]-x[2])}')
	sleep 1
	# TCP reverse (V sends to U)
	local r0 r1
	r0=$(cpu_ticks "${CLI_PIDS[@]}" "${SRV_PIDS[@]}")
	iperf "$r-tcprev.json" -t "$TCP_SECS" -R
	r1=$(cpu_ticks "${CLI_PIDS[@]}" "${SRV_PIDS[@]}")
	local rev rbytes cpu_gb_rev=-
	rev=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$r-tcprev.json" 2>/dev/null)
	rbytes=$(jq -r '.end.sum_received.bytes' "$r-tcprev.json" 2>/dev/null)
	if [[ $sys != raw && $rbytes =~ ^[0-9]+$ ]] && ((rbytes > 0)); then
		cpu_gb_rev=$(awk -v a="$r0" -v z="$r1" -v h="$CLK_TCK" -v b="$rbytes" 'BEGIN{
			split(a, x, " "); split(z, y, " "); print (y[1]+y[2]-x[1]-x[2])/h/(b/1e9)}')
	fi
	sleep 1
	# UDP at a high offered rate, fixed datagram size; the datagrams that
	# arrived per CPU second of both VPN ends is the small-packet figure
	local u0 u1
	u0=$(cpu_ticks "${CLI_PIDS[@]}" "${SRV_PIDS[@]}")
	iperf "$r-udp.json" -u -b "$UDP_RATE" -l "$UDP_LEN" -t "$UDP_SECS"
	u1=$(cpu_ticks "${CLI_PIDS[@]}" "${SRV_PIDS[@]}")
	local udp loss sent pkts kpps=-
	sent=$(jq -r '.end.sum.bits_per_second / 1e6' "$r-udp.json" 2>/dev/null)
	loss=$(jq -r '.end.sum.lost_percent' "$r-udp.json" 2>/dev/null)
	udp=$(awk -v s="$sent" -v l="$loss" 'BEGIN{ if (s=="" || l=="") print "-"; else print s*(1-l/100)}')
	pkts=$(jq -r '.end.sum.packets - .end.sum.lost_packets' "$r-udp.json" 2>/dev/null)
	if [[ $sys != raw && $pkts =~ ^[0-9]+$ ]]; then
		kpps=$(awk -v a="$u0" -v z="$u1" -v h="$CLK_TCK" -v p="$pkts" 'BEGIN{
			split(a, x, " "); split(z, y, " "); c = (y[1]+y[2]-x[1]-x[2])/h
			print (c > 0) ? p / c / 1000 : "-"}')
	fi
	[[ $tcp =~ ^[0-9.]+$ ]] || { log "$sys: TCP test failed, see $r-tcp.json"; tcp=-; }
	[[ $rev =~ ^[0-9.]+$ ]] || { log "$sys: reverse TCP test failed, see $r-tcprev.json"; rev=-; }
	[[ $loss =~ ^[0-9.e+-]+$ ]] || { log "$sys: UDP test failed, see $r-udp.json"; udp=- loss=- sent=-; }
	local mtu; mtu=$(nsx "$HU" ip -o link show dev "$(tun_dev)" 2>/dev/null | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
	# TCP through random loss, last: it changes the outer link
	local lossy=(- - -) i pct
	if ((LOSS_SECS > 0)); then
		i=0
		for pct in 0 1 5; do
			sleep 1
			lossy[i++]=$(loss_tcp "$r" "$pct")
		done
		loss_set 0
	fi
	local status=ok
	[[ $tcp == - || $rev == - || $udp == - || ${rtt:--} == - || ${rtt2:--} == - || ${rtt_load:--} == - ]] &&
		status=incomplete
	local vals=("${SYS_NAME:-$sys}" "$SYS_VERSION" "$SYS_TRANSPORT" "$tcp" "$rev" "$udp" "$loss" "$kpps"
		"${rtt:--}" "${rtt2:--}" "${rtt_load:--}" "$cpu_gb" "${lossy[@]}" "${mtu:-?}" "$SYS_CIPHER"
		"$cli_pct" "$cli_sys" "$srv_pct" "$srv_sys" "$hot" "$hot_pct" "$cpu_gb_rev" "$busy" "$outer_udp"
		"$sent" "${rtt2_p50:--}" "${load_p90:--}" "${load_max:--}" "${load_mbps:--}" "$status")
	printf '%s\t' "${vals[@]}" | sed 's/\t$//' | format_line
}
format_line() {   # round each numeric field of TSV lines as FMTS says
	awk -F'\t' -v OFS='\t' -v fmts="$FMTS" 'BEGIN{ n=split(fmts, f, " ") }
	{ for (i=1; i<=NF; i++) if (f[i] != "s" && $i != "-" && $i != "" && $i+0 == $i)
		$i=sprintf("%.*f", f[i], $i); print }'
}
tun_dev() { nsx "$HU" ip -o route get $V_LAN 2>/dev/null | grep -o 'dev [^ ]*' | cut -d' ' -f2; }

# ------------------------------------------------------------ random loss
# The loss columns: one TCP stream U -> V while the outer link (pub0, the
# path every system's outer packets take, raw's too) drops PCT % of the
# packets each way at random, with nftables (numgen), as netem would. Each
# end's pub0 sends one packet per skb (gso_max_segs 1), so that a drop is
# one packet on the wire, not a 64 KiB batch; the 0 % column runs the same
# way, so the three compare with each other (tcp_mbps is with batches).
loss_set() {   # loss_set PCT : PCT % of the packets into pub0 dropped, each end
	local ns
	for ns in "$HU" "$GW"; do
		nsx "$ns" ip link set pub0 gso_max_segs 1 || return 1
		nsx "$ns" nft delete table netdev cvt_loss 2>/dev/null
		((${1} > 0)) || continue
		nsx "$ns" nft -f - <<-EOF || return 1
		table netdev cvt_loss {
			chain in {
				type filter hook ingress device pub0 priority 0;
				numgen random mod 100 < $1 counter drop
			}
		}
		EOF
	done
}
loss_tcp() {   # loss_tcp R PCT -> Mbit/s of one TCP stream U -> V, or -
	local f=$1-tcploss$2.json mbps
	loss_set "$2" || { log "$CUR_SYS: cannot set $2 % loss with nftables"; echo -; return; }
	iperf "$f" -t "$LOSS_SECS"
	mbps=$(jq -r '.end.sum_received.bits_per_second / 1e6' "$f" 2>/dev/null)
	[[ $mbps =~ ^[0-9.]+$ ]] || { log "$CUR_SYS: TCP at $2 % loss failed, see $f"; mbps=-; }
	echo "$mbps"
}

bring_up() {   # bring_up NAME: the lab with NAME's tunnel carrying traffic
	local sys=$1 fn=sys_${1//-/_}
	CUR_SYS=$sys SYS_NAME=$sys SYS_GUARD=guard SYS_WARMUP=1 SYS_VERSION=? SYS_TRANSPORT=? SYS_CIPHER=?
	FAIL_WHY=
	declare -F "$fn" >/dev/null || { FAIL_WHY="unknown system"; log "unknown system '$sys' (try -l)"; return 1; }
	: >"$OUT/log/$sys-srv.log"; : >"$OUT/log/$sys-cli.log"
	# the lab is built with the guard; raw removes it in its function
	lab_up guard
	"$fn" || { FAIL_WHY="setup failed"; log "$sys: setup failed; logs: $OUT/log/$sys-*.log"; lab_down; return 1; }
	[[ $SYS_GUARD == noguard ]] && nsx "$GW" nft delete table inet cvt_guard
	# wait until V answers through the tunnel
	if ! wait_for "$UP_TIMEOUT" nsx "$HU" ping -c1 -W1 -q $V_LAN; then
		FAIL_WHY="V not reachable through it after ${UP_TIMEOUT}s"
		log "$sys: V ($V_LAN) not reachable after ${UP_TIMEOUT}s; logs: $OUT/log/$sys-*.log"
		lab_down; return 1
	fi
	local dev; dev=$(tun_dev)
	if [[ $sys != raw && $dev == pub0 ]]; then
		FAIL_WHY="route to V via pub0, not a tunnel"
		log "$sys: route to V goes via pub0, not a tunnel: refusing to measure"; lab_down; return 1
	fi
	[[ $sys == ocserv-* ]] && ocserv_cipher
	declare -F "${fn}_up" >/dev/null && "${fn}_up"
	sleep "$SYS_WARMUP"
	nsx "$HU" ping -c 5 -i 0.2 -q $V_LAN >/dev/null 2>&1   # warm-up
	log "$sys: up via $dev ($SYS_VERSION, $SYS_TRANSPORT)"
}
run_system() {   # run_system NAME -> TSV line on stdout; a "failed: WHY" row on failure
	if ! bring_up "$1"; then
		failed_row "$1" "$FAIL_WHY"
		return 1
	fi
	measure "$1"
	lab_down
}
failed_row() {   # failed_row NAME WHY : a result line with no numbers
	local n i vals=("${SYS_NAME:-$1}" "$SYS_VERSION" "$SYS_TRANSPORT")
	n=$(wc -w <<<"$FIELDS")
	for ((i = 4; i < n; i++)); do vals+=(-); done
	vals+=("failed: ${2:-setup failed}")
	printf '%s\t' "${vals[@]}" | sed 's/\t$//'; echo
}

# ================================================================= tables
print_table() {   # print_table TSV: the main table and the detail table
	local f=$1 n; n=$(wc -w <<<"$FIELDS")
	# the status (last field) goes in the main table: a failed system shows why
	{ echo $FIELDS | cut -d' ' -f1-$MAIN_FIELDS,$n | tr ' ' '\t'; cut -f1-$MAIN_FIELDS,$n "$f"; } | column -t -s $'\t'
	echo
	{ echo $FIELDS | cut -d' ' -f1,$((MAIN_FIELDS + 1))-$((n - 1)) | tr ' ' '\t'
	  cut -f1,$((MAIN_FIELDS + 1))-$((n - 1)) "$f"; } | column -t -s $'\t'
}
median_tsv() {   # median_tsv FILE... : per system, the median of each numeric field
	awk -F'\t' -v OFS='\t' -v fmts="$FMTS" '
	BEGIN { nfields=split(fmts, f, " ") }
	{ k=$1; if (!(k in cnt)) order[++n]=k
	  c=++cnt[k]; for (i=1; i<=NF; i++) v[k, i, c]=$i; if (NF > nf[k]) nf[k]=NF }
	function med(k, i,   m, a, j, x, p) {
		m=0; for (j=1; j<=cnt[k]; j++) { x=v[k, i, j]; if (x != "-" && x != "" && x+0 == x) a[++m]=x+0 }
		if (m == 0) return "-"
		for (j=2; j<=m; j++) { x=a[j]; p=j-1; while (p>0 && a[p]>x) { a[p+1]=a[p]; p-- } a[p+1]=x }
		return (m%2) ? a[(m+1)/2] : (a[m/2]+a[m/2+1])/2 }
	function txt(k, i,   j) {   # the first run that knew it (a failed run may not)
		for (j=1; j<=cnt[k]; j++) if (v[k, i, j] != "?" && v[k, i, j] != "-" && v[k, i, j] != "") return v[k, i, j]
		return v[k, i, 1] }
	function status(k, i,   j, good, why) {   # ok, or how many runs were ok and why not
		good=0; why=""
		for (j=1; j<=cnt[k]; j++) if (v[k, i, j] == "ok") good++; else if (why == "") why=v[k, i, j]
		if (good == cnt[k]) return "ok"
		if (good == 0) return why
		return "ok in " good "/" cnt[k] " runs; " why }
	END { for (o=1; o<=n; o++) { k=order[o]; line=k
		for (i=2; i<=nf[k]; i++) line=line OFS (i == nf[k] && i == nfields ? status(k, i) : f[i] == "s" ? txt(k, i) : med(k, i))
		print line } }' "$@" | format_line
}
field_no() {   # field_no NAME : its column in the TSV (1-based)
	echo $FIELDS | tr ' ' '\n' | grep -nx -- "$1" | cut -d: -f1
}
spread() {   # spread FILE... : per system, min..max of the throughputs and RTTs over runs
	local cols="" n
	for n in tcp_mbps tcp_rev_mbps udp_mbps rtt_ms rtt2_ms rtt_load_ms; do cols+="$(field_no $n) "; done
	awk -F'\t' -v cols="$cols" 'BEGIN { nc = split(cols, col, " ") }
		{ k=$1; if (!(k in s)) { s[k]=1; o[++n]=k; c[k]=0 } c[k]++
		for (j=1; j<=nc; j++) { i=col[j]; if ($i=="-" || $i=="") continue
			if (!((k,i) in lo) || $i+0<lo[k,i]) lo[k,i]=$i+0; if (!((k,i) in hi) || $i+0>hi[k,i]) hi[k,i]=$i+0 } }
		END { printf "%-20s %5s %-14s %-14s %-14s %-14s %-14s %-14s\n", "system", "runs", "tcp min..max",
			"rev min..max", "udp min..max", "rtt min..max", "rtt2 min..max", "load min..max"
		for (m=1; m<=n; m++) { k=o[m]; printf "%-20s %5d", k, c[k]
			for (j=1; j<=nc; j++) printf " %-14s", lo[k,col[j]]".."hi[k,col[j]]; print "" } }' "$@"
}

# ================================================================== main
take_lock() {   # one run per lab at a time: the namespace names are fixed
	exec 9>"$LOCK" || die "cannot open the lock $LOCK"
	flock -n 9 || die "another bench run uses the $NS_PREFIX* namespaces (lock $LOCK held)"
}
main() {
	local runs=1 list=0
	if [[ ${1:-} == --median ]]; then shift; local t; t=$(mktemp)
		median_tsv "$@" >"$t"; print_table "$t"; echo; spread "$@"; rm -f "$t"; return; fi
	[[ ${1:-} == --median-tsv ]] && { shift; median_tsv "$@"; return; }
	[[ ${1:-} == --fields ]] && { echo $FIELDS; return 0; }
	# --up NAME: leave the lab up with NAME's tunnel, for poking at by hand
	# (strace, perf, tcpdump); --down removes it and ends its processes.
	if [[ ${1:-} == --up || ${1:-} == --down ]]; then
		mkdir -p "$OUT/log"; take_lock; lab_down
		[[ $1 == --down ]] && return 0
		[[ -n ${PEERS_EXTRA:-} ]] && { source "$PEERS_EXTRA" || die "cannot source $PEERS_EXTRA"; }
		need_pkgs iperf3:iperf3 jq:jq nft:nftables || return 1
		bring_up "${2:?--up needs a system name}" || return 1
		echo "up: $2 (pid starttime role netns command):"; cat "$OUT/pids"
		echo "try: ip netns exec $HU iperf3 -c $V_LAN -t 5;  then: $0 --down"
		return 0
	fi
	while getopts "r:o:lh" o; do case $o in
		r) runs=$OPTARG ;; o) OUT=$OPTARG ;; l) list=1 ;;
		*) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;; esac; done
	shift $((OPTIND - 1))
	local systems=("$@"); ((${#systems[@]})) || systems=($ALL_SYSTEMS)
	((list)) && { echo "$ALL_SYSTEMS custom"; return 0; }
	[[ $(id -u) == 0 ]] || die "must run as root (network namespaces)"
	[[ -c /dev/net/tun ]] || die "/dev/net/tun missing"
	mkdir -p "$OUT/log" "$OUT/results"
	take_lock
	[[ -n ${PEERS_EXTRA:-} ]] && { source "$PEERS_EXTRA" || die "cannot source $PEERS_EXTRA"; }
	need_pkgs iperf3:iperf3 jq:jq nft:nftables column:bsdextrautils ip:iproute2 ping:iputils-ping ||
		die "cannot install the tools the bench needs"
	trap 'lab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	lab_down
	local stamp; stamp=$(date +%Y%m%d-%H%M%S)
	local files=() r s crypto=0 nsys=0
	for s in "${systems[@]}"; do [[ $s == crypto ]] && crypto=1 || nsys=$((nsys + 1)); done
	((nsys)) || runs=0
	for ((r = 1; r <= runs; r++)); do
		RUN_ID=$stamp-r$r
		local f=$OUT/results/$RUN_ID.tsv; : >"$f"; files+=("$f")
		for s in "${systems[@]}"; do
			[[ $s == crypto ]] && continue
			log "run $r/$runs: $s"
			run_system "$s" >>"$f" || log "$s: no result in run $r"
		done
		echo; echo "== run $r/$runs ($f)"; print_table "$f"
	done
	# the median file is written for one run too: it is what bench/run.sh reads
	local t=$OUT/results/$stamp-median.tsv
	((runs)) && median_tsv "${files[@]}" >"$t"
	if ((runs > 1)); then
		echo; echo "== median of $runs runs"
		print_table "$t"
		echo; spread "${files[@]}"
	fi
	((crypto)) && crypto_ceiling
	return 0
}
main "$@"
