# shellcheck shell=bash disable=SC2034  # SYS_* are read by peers.sh, which sources this
# culvert-systems.sh - culvert's transports as systems of bench/peers.sh:
# culvert-udp, culvert-tls and culvert-dtls, and culvert-tap (dtls with
# device-type = tap: U on the LAN's Ethernet segment through the
# gateway's bridge, beside the TUN figures). Sourced by peers.sh through
# PEERS_EXTRA (bench/run.sh sets it), so it uses peers.sh's lab ($GW, $HU,
# the addresses), spawn, wait_for, log and $OUT.
#
# Which culvert: $CULVERTD, $CULVERTCTL and $CULVERT_PLUGIN_DIR, as `make
# check` and `make bench` set them for the build tree (src/culvertd,
# src/culvertctl, plugins/ with the uninstalled .la files); unset, the
# installed culvertd and culvertctl on $PATH and their built-in plugin dir.
#
# Like tests/net/lab.sh: the gateway listens on 192.0.2.1:4433, hands out
# 203.0.113.0/24 (it takes .1, U gets .2) and pushes 198.51.100.0/24; tls and
# dtls use certificates made once per output dir with `culvertctl pki`
# (certtool if there is no culvertctl), auth = certificate both ways.
# culvert-tap turns the gateway's lan0 into a port of a bridge br0 that
# holds 198.51.100.1, and gives U's TAP device the static address
# 198.51.100.2/24: V answers it on its own LAN, through the bridge.

CULVERT_PORT=${CULVERT_PORT:-4433}

culvert_find() {   # culvert_find : CVT_D, CVT_CTL, CVT_PLUGINS or an error
	CVT_D=${CULVERTD:-$(command -v culvertd 2>/dev/null)}
	CVT_CTL=${CULVERTCTL:-$(command -v culvertctl 2>/dev/null)}
	CVT_PLUGINS=${CULVERT_PLUGIN_DIR:-}
	[[ -n $CVT_D && -x $CVT_D ]] || {
		log "$CUR_SYS: no culvertd: set CULVERTD (make bench does) or install culvert"
		return 1
	}
	[[ -z $CVT_PLUGINS || -d $CVT_PLUGINS ]] || {
		log "$CUR_SYS: CULVERT_PLUGIN_DIR=$CVT_PLUGINS is not a directory"
		return 1
	}
}

culvert_pki() {   # certificates in $OUT/culvert-pki: ca, server (gw.cvt.test, 192.0.2.1), hu
	local d=$OUT/culvert-pki
	[[ -s $d/hu.crt && -s $d/server.crt ]] && return 0
	rm -rf "$d"
	if [[ -n $CVT_CTL && -x $CVT_CTL ]]; then
		{ "$CVT_CTL" pki init "$d" --cn "cvt bench CA" &&
			"$CVT_CTL" pki server "$d" server --dns gw.cvt.test --ip "$G_PUB" &&
			"$CVT_CTL" pki client "$d" hu; } >"$OUT/log/culvert-pki.log" 2>&1 ||
			{ log "culvertctl pki failed, see $OUT/log/culvert-pki.log"; return 1; }
		return 0
	fi
	need_pkgs certtool:gnutls-bin || return 1
	(
		set -e
		umask 077; mkdir -p "$d"; cd "$d"
		printf '%s\n' 'cn = "cvt bench CA"' ca cert_signing_key 'expiration_days = 30' >ca.tmpl
		printf '%s\n' 'cn = "gw.cvt.test"' 'dns_name = "gw.cvt.test"' "ip_address = \"$G_PUB\"" \
			tls_www_server signing_key 'expiration_days = 30' >server.tmpl
		printf '%s\n' 'cn = "hu"' tls_www_client signing_key 'expiration_days = 30' >hu.tmpl
		certtool --generate-privkey --key-type=ecdsa --outfile ca.key
		certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.crt
		for n in server hu; do
			certtool --generate-privkey --key-type=ecdsa --outfile $n.key
			certtool --generate-certificate --load-privkey $n.key --load-ca-certificate ca.crt \
				--load-ca-privkey ca.key --template $n.tmpl --outfile $n.crt
		done
	) >"$OUT/log/culvert-pki.log" 2>&1 || { log "certtool failed, see $OUT/log/culvert-pki.log"; return 1; }
}

U_TAP=198.51.100.2

culvert_bridge() {   # the gateway's lan0 a port of br0, its address on br0
	nsx "$GW" ip link add br0 type bridge &&
		nsx "$GW" ip addr del "$G_LAN/24" dev lan0 &&
		nsx "$GW" ip link set lan0 master br0 &&
		nsx "$GW" ip addr add "$G_LAN/24" dev br0 &&
		nsx "$GW" ip link set br0 up || {
		log "$CUR_SYS: cannot make the gateway's bridge br0"
		return 1
	}
}

culvert_common() {   # culvert_common udp|tls|dtls [tap] : server in $GW, client in $HU
	local t=$1 kind=${2:-tun} d=$OUT/culvert
	culvert_find || return 1
	mkdir -p "$d"
	SYS_VERSION=$("$CVT_D" --version 2>/dev/null | awk '{print $1, $2; exit}')
	[[ -n $SYS_VERSION ]] || { log "$CUR_SYS: $CVT_D --version failed"; return 1; }
	local plug=() sec_gw=() sec_u=()
	[[ -n $CVT_PLUGINS ]] && plug=("plugin-dir = $CVT_PLUGINS")
	case $t in
	udp)
		SYS_TRANSPORT="udp (userspace, no crypto)" SYS_CIPHER=none
		sec_gw=("insecure = yes") sec_u=("insecure = yes")
		;;
	tls | dtls)
		[[ $t == tls ]] && SYS_TRANSPORT="TLS/tcp" || SYS_TRANSPORT="DTLS/udp"
		SYS_CIPHER="?"   # read from the client's log once up (sys_culvert_*_up)
		culvert_pki || return 1
		local p=$OUT/culvert-pki
		sec_gw=("cert = $p/server.crt" "key = $p/server.key" "ca = $p/ca.crt"
			"auth = certificate")
		sec_u=("ca = $p/ca.crt" "server-name = gw.cvt.test"
			"cert = $p/hu.crt" "key = $p/hu.key")
		;;
	*) log "culvert_common: unknown transport $t"; return 1 ;;
	esac
	# what the tunnel carries: IP packets to the pool's addresses, or
	# Ethernet frames on the LAN's segment
	local inner_gw=("pool = $INNER_NET" "route = $LAN_NET") inner_u=()
	if [[ $kind == tap ]]; then
		culvert_bridge || return 1
		inner_gw=("device-type = tap" "bridge = br0")
		inner_u=("device-type = tap" "address = $U_TAP/24")
		SYS_TRANSPORT="$SYS_TRANSPORT, TAP (layer 2)"
	fi
	local n=$t
	[[ $kind == tap ]] && n=tap-$t
	# control sockets in our own dir: the default under /run/culvert/ may
	# belong to a culvertd that has nothing to do with the bench
	printf '%s\n' "# the gateway, written by bench/culvert-systems.sh" \
		"mode = server" "transport = $t" "listen = $G_PUB:$CULVERT_PORT" "device = cv0" \
		"${inner_gw[@]}" "control-socket = $d/gw-$n.sock" \
		"state-dir = $d/state" \
		"${sec_gw[@]}" "${plug[@]}" >"$d/gw-$n.conf"
	printf '%s\n' "# host U, written by bench/culvert-systems.sh" \
		"mode = client" "transport = $t" "remote = $G_PUB:$CULVERT_PORT" "device = cv0" \
		"${inner_u[@]}" "control-socket = $d/hu-$n.sock" "${sec_u[@]}" "${plug[@]}" \
		>"$d/hu-$n.conf"
	"$CVT_D" -c "$d/gw-$n.conf" --check-config >"$OUT/log/$CUR_SYS-check.log" 2>&1 || {
		log "$CUR_SYS: the gateway's config does not pass --check-config: $(tail -n 1 "$OUT/log/$CUR_SYS-check.log")"
		return 1
	}
	# -v: the client logs the negotiated TLS version and cipher at info;
	# neither end logs per packet at that level
	spawn srv "$GW" "$CVT_D" -c "$d/gw-$n.conf" -f -v
	local ss=-lunH
	[[ $t == tls ]] && ss=-ltnH
	wait_for 10 sh -c "ip netns exec $GW ss $ss 'sport = :$CULVERT_PORT' | grep -q ." || {
		log "$CUR_SYS: culvertd did not listen on $G_PUB:$CULVERT_PORT; see $OUT/log/$CUR_SYS-srv.log"
		return 1
	}
	spawn cli "$HU" "$CVT_D" -c "$d/hu-$n.conf" -f -v
}

culvert_cipher() {   # after the tunnel is up: "TLS1.3, AES-256-GCM, SECP256R1" from U's log
	local f=$OUT/log/$CUR_SYS-cli.log desc
	# "tls: TLS with 192.0.2.1:4433: TLS1.3, AES-256-GCM, SECP256R1; certificate ..."
	desc=$(sed -n 's/.* D\{0,1\}TLS with [^ ]*: \([^;]*\);.*/\1/p' "$f" | tail -n 1)
	[[ -n $desc ]] && SYS_CIPHER=$desc
	return 0
}

sys_culvert_udp() { culvert_common udp; }
sys_culvert_tls() { culvert_common tls; }
sys_culvert_tls_up() { culvert_cipher; }
sys_culvert_dtls() { culvert_common dtls; }
sys_culvert_dtls_up() { culvert_cipher; }
sys_culvert_tap() { culvert_common dtls tap; }
sys_culvert_tap_up() { culvert_cipher; }
