# shellcheck shell=bash
# radius.sh - RADIUS servers for the tests of tests/net/, sourced after
# lab.sh: FreeRADIUS (the Debian package) run in the foreground with a
# configuration the test writes, and radius_standin.py, a server that
# misbehaves on purpose. They live in a namespace of their own, on the
# gateway's management LAN:
#
#    gateway cvt-gw-$ID                 RADIUS servers cvt-rad-$ID
#  +------------------------+  veth  +----------------------------------+
#  | gw9 198.18.100.1/24    +--------+ r0 198.18.100.10/24  FreeRADIUS   |
#  |                        |        |    198.18.100.11/24  a second one |
#  |                        |        |    198.18.100.20/24  a stand-in   |
#  +------------------------+        +----------------------------------+
#
# Functions:
#   radius_require              skip (77) without freeradius or python3
#   radius_up                   the namespace and its link (after lab_up)
#   radius_freeradius NAME ADDR SECRET USERS
#                               FreeRADIUS -X on ADDR, ports 1812 and 1813,
#                               the gateway its client with SECRET, USERS its
#                               users file (text); config, detail file and
#                               log in $LAB_TMP/NAME/ and $LAB_TMP/NAME.log;
#                               waits until it serves (bounded)
#   radius_standin NAME ADDR [ARGS...]  radius_standin.py on ADDR:1812
#   radius_detail NAME          FreeRADIUS NAME's accounting records, one a
#                               line: "Status key=value key=value ..."
# Each server is one of lab.sh's daemons: ended by PID at the end, its log
# printed on failure.

RADIUS_GW=198.18.100.1
RADIUS_ADDR=198.18.100.10
RADIUS_ADDR2=198.18.100.11
RADIUS_STANDIN=198.18.100.20

radius_require() {
	command -v freeradius >/dev/null || skip "freeradius not found: install freeradius"
	command -v python3 >/dev/null || skip "python3 not found"
}

radius_up() {
	local ns a
	lab__host rad
	ns=$(lab__ns rad)
	ip link add gw9 netns "$LAB_GW" type veth peer name r0 netns "$ns" ||
		fail "veth gw9 <-> r0"
	lab__ip "$LAB_GW" addr add "$RADIUS_GW/24" dev gw9
	for a in "$RADIUS_ADDR" "$RADIUS_ADDR2" "$RADIUS_STANDIN"; do
		lab__ip "$ns" addr add "$a/24" dev r0
	done
	lab__ip "$LAB_GW" link set gw9 up
	lab__ip "$ns" link set r0 up
	lab__wait 5 ip netns exec "$ns" ping -c 1 -W 1 -q "$RADIUS_GW" ||
		fail "the RADIUS namespace cannot reach the gateway on 198.18.100.0/24"
}

# radius__start NAME CMD... : CMD in the RADIUS namespace as one of
# lab.sh's daemons.
radius__start() {
	local name=$1 ns
	shift
	ns=$(lab__ns rad)
	[[ -z ${LAB_PID[$name]:-} ]] || fail "radius: '$name' was started before"
	LAB_LOG[$name]=$LAB_TMP/$name.log
	LAB_NSOF[$name]=$ns
	printf '[rad] %s\n' "$*" >&2
	ip netns exec "$ns" "$@" >"${LAB_LOG[$name]}" 2>&1 </dev/null &
	LAB_PID[$name]=$!
	LAB_START[$name]=$(lab__starttime "$!")
	LAB_NAMES+=("$name")
}

radius_freeradius() {
	local name=$1 addr=$2 secret=$3 users=$4 dir=$LAB_TMP/$1
	mkdir -p "$dir" || fail "cannot make $dir"
	printf '%s\n' "$users" >"$dir/users"
	cat >"$dir/radiusd.conf" <<-EOF
	# FreeRADIUS for $LAB_ID: pap against a users file, accounting to a
	# detail file; nothing else.
	prefix = /usr
	raddbdir = $dir
	logdir = $dir
	radacctdir = $dir
	run_dir = $dir
	libdir = /usr/lib/freeradius
	pidfile = $dir/radiusd.pid
	name = radiusd
	max_request_time = 30
	cleanup_delay = 0
	max_requests = 4096
	log {
		destination = stdout
		auth = yes
	}
	security {
		max_attributes = 200
		reject_delay = 0
		status_server = yes
	}
	client gateway {
		ipaddr = $RADIUS_GW
		secret = "$secret"
	}
	modules {
		files {
			filename = $dir/users
		}
		pap {
		}
		detail {
			filename = $dir/detail
			header = "%t"
			permissions = 0600
		}
	}
	server default {
		listen {
			type = auth
			ipaddr = $addr
			port = 1812
		}
		listen {
			type = acct
			ipaddr = $addr
			port = 1813
		}
		authorize {
			files
			pap
		}
		authenticate {
			pap
		}
		accounting {
			detail
		}
		post-auth {
			Post-Auth-Type REJECT {
				update reply {
					Reply-Message := "Login refused: check your password, or call the helpdesk"
				}
			}
		}
	}
	EOF
	radius__start "$name" freeradius -X -d "$dir" -n radiusd
	lab_wait_log "$name" 'Ready to process requests' 15 ||
		fail "FreeRADIUS $name did not start within 15 s"
}

radius_standin() {
	local name=$1 addr=$2
	shift 2
	radius__start "$name" timeout 300 python3 "$lab__dir/radius_standin.py" \
		--listen "$addr:1812" "$@"
	lab_wait_log "$name" 'listening on' 10 || fail "the stand-in $name did not start"
}

# One line per record of FreeRADIUS's detail file: its Acct-Status-Type,
# then each attribute as name=value, quotes dropped.
radius_detail() {
	awk '
		/^[A-Z][a-z][a-z] / { if (rec != "") print rec; rec = ""; next }
		/^\t/ {
			sub(/^\t/, ""); n = index($0, " = ");
			k = substr($0, 1, n - 1); v = substr($0, n + 3); gsub(/"/, "", v);
			if (k == "Acct-Status-Type") rec = v rec; else rec = rec " " k "=" v
		}
		END { if (rec != "") print rec }
	' "$LAB_TMP/$1/detail" 2>/dev/null
}
