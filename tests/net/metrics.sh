#!/usr/bin/env bash
# metrics.sh - the metrics, end to end: the gateway serves them on
# metrics-listen (198.51.100.1:9820, its LAN side), a real Prometheus in
# V's namespace scrapes them every second, and the test reads counters
# back through Prometheus's HTTP API (/api/v1/query): the session U made,
# the packets its ping carried, alice's own traffic. promtool check
# metrics judges what the endpoint serves and what `culvertctl metrics`
# prints. The endpoint answers only GET /metrics, and a client that holds
# connections open does not keep Prometheus out. Topology: lab.sh, with
# Prometheus in V (the management side):
#
#   U (client) ==tls==> gateway :9820 <-- scrape -- V: prometheus, 127.0.0.1:9090
#
# Prometheus runs in the foreground of its namespace with its own config
# and storage in the test's temp dir, and is stopped by PID.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # automake may run us with sh
set -u -o pipefail
# shellcheck source=tests/net/lab.sh
. "$(dirname "$0")/lab.sh"

lab_require
lab_require_tls tls
for c in prometheus promtool curl python3; do
	command -v "$c" >/dev/null || skip "$c not found (apt-get install prometheus curl python3)"
done
printf 'mode = client\ntransport = udp\ninsecure = yes\nremote = 192.0.2.1:1\nmetrics-listen = 127.0.0.1:1\n' >"$LAB_TMP/mhd.conf"
out=$("$CULVERTD" -c "$LAB_TMP/mhd.conf" --check-config 2>&1)
[[ $out == *"without libmicrohttpd"* ]] && skip "culvertd was built without libmicrohttpd"

METRICS=198.51.100.1:9820
lab_up
lab_forwarding on
lab_pki "$LAB_TMP/pki"
lab_server_conf "$LAB_TMP/gw.conf" "metrics-listen=$METRICS"
lab_client_conf "$LAB_TMP/u.conf"
lab_start gw gw "$LAB_TMP/gw.conf"
lab_wait_log gw "metrics on http://$METRICS/metrics" 10 || fail "the gateway does not serve its metrics"
lab_start u u "$LAB_TMP/u.conf"
lab_wait_log u 'tunnel up' 15 || fail "alice did not connect"
lab_ping 5
((LAB_PING_RECEIVED == 5)) || fail "ping U -> V: $LAB_PING_RECEIVED of 5"
ok "alice is up over tls, 5 pings crossed"

get() {   # get PATH [CURL ARGS] : from V, the gateway's HTTP answer
	local path=$1
	shift
	ip netns exec "$LAB_V" curl -sS --max-time 5 "$@" "http://$METRICS$path"
}
get /metrics >"$LAB_TMP/served.prom" || fail "GET /metrics from V failed"
promtool check metrics <"$LAB_TMP/served.prom" >"$LAB_TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics on what metrics-listen serves: $(cat "$LAB_TMP/promtool.out")"
grep -q '^culvert_session_info{id="[0-9]*",session="alice",transport="tls",state="up",outer="192.0.2.2:[0-9]*",inner="203.0.113.2",inner6="",protocol="TLS1.[23]",cipher="[A-Z0-9-]*"} 1$' "$LAB_TMP/served.prom" ||
	fail "no culvert_session_info for alice: $(grep session_info "$LAB_TMP/served.prom")"
grep -q '^process_resident_memory_bytes [1-9]' "$LAB_TMP/served.prom" || fail "no process_resident_memory_bytes"
ok "metrics-listen serves $(grep -c '^# TYPE' "$LAB_TMP/served.prom") families that promtool passes, alice's session among them"
"$CULVERTCTL" -s "${LAB_SOCK[gw]}" metrics >"$LAB_TMP/textfile.prom" 2>&1 || fail "culvertctl metrics: $(cat "$LAB_TMP/textfile.prom")"
promtool check metrics <"$LAB_TMP/textfile.prom" >"$LAB_TMP/promtool.out" 2>&1 ||
	fail "promtool check metrics on culvertctl metrics: $(cat "$LAB_TMP/promtool.out")"
grep -q '^process_' "$LAB_TMP/textfile.prom" && fail "culvertctl metrics has process_* (node_exporter has its own)"
grep -q '^culvert_process_open_fds [1-9]' "$LAB_TMP/textfile.prom" || fail "culvertctl metrics has no culvert_process_open_fds"
ok "culvertctl metrics passes promtool too, with culvert_process_* for node_exporter's textfile collector"

code=$(get / -o /dev/null -w '%{http_code}')
[[ $code == 404 ]] || fail "GET / answered $code, not 404"
code=$(get /metrics -o /dev/null -w '%{http_code}' -X POST)
[[ $code == 405 ]] || fail "POST /metrics answered $code, not 405"
ok "only GET /metrics is served (/ is 404, POST is 405)"

# ---- a real Prometheus in V scrapes the gateway
cat >"$LAB_TMP/prometheus.yml" <<-EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: culvert
    static_configs:
      - targets: ['$METRICS']
EOF2
promtool check config "$LAB_TMP/prometheus.yml" >"$LAB_TMP/promtool.out" 2>&1 ||
	fail "promtool check config: $(cat "$LAB_TMP/promtool.out")"
ip netns exec "$LAB_V" prometheus --config.file="$LAB_TMP/prometheus.yml" \
	--storage.tsdb.path="$LAB_TMP/prometheus-data" \
	--web.listen-address=127.0.0.1:9090 >"$LAB_TMP/prometheus.log" 2>&1 </dev/null &
PROM=$!
lab_bg "$PROM"
api() {   # api PROMQL : Prometheus's answer to an instant query, in V
	ip netns exec "$LAB_V" curl -sS --max-time 3 -G \
		--data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query
}
value() {   # value PROMQL : the first sample's value, or nothing
	api "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["data"]["result"] if d.get("status") == "success" else []
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
lab__wait 30 ip netns exec "$LAB_V" curl -sf --max-time 2 http://127.0.0.1:9090/-/ready ||
	fail "Prometheus is not ready within 30 s: $(tail -5 "$LAB_TMP/prometheus.log")"
lab__deadline 30
for ((i = 0; i < 150; i++)); do
	[[ $(value 'up{job="culvert"}') == 1 && -n $(value culvert_sessions_up_total) ]] && break
	lab__before || break
	sleep 0.2
done
[[ $(value 'up{job="culvert"}') == 1 ]] ||
	fail "Prometheus does not scrape the gateway: $(api 'up') $(tail -5 "$LAB_TMP/prometheus.log")"
got=$(value culvert_sessions_up_total)
[[ $got == 1 ]] || fail "Prometheus reads culvert_sessions_up_total as '$got', not 1"
ok "Prometheus scrapes the gateway, and reads back culvert_sessions_up_total = 1"

# New traffic shows up at the next scrapes: 10 more pings, 15 in all.
lab_ping 10
((LAB_PING_RECEIVED == 10)) || fail "ping U -> V: $LAB_PING_RECEIVED of 10"
lab__deadline 15
for ((i = 0; i < 75; i++)); do
	rx=$(value 'culvert_session_received_packets_total{session="alice"}')
	[[ $rx =~ ^[0-9]+$ ]] && ((rx >= 15)) && break
	lab__before || break
	sleep 0.2
done
[[ $rx =~ ^[0-9]+$ ]] && ((rx >= 15)) ||
	fail "Prometheus reads alice's received packets as '$rx', not 15 or more"
tls=$(value 'culvert_transport_handshakes_total{transport="tls",result="done"}')
[[ $tls == 1 ]] || fail "Prometheus reads the tls handshakes done as '$tls', not 1"
ok "Prometheus reads alice's $rx packets (15 pings and more) and 1 tls handshake"

# A client that holds connections open (4 from one address at most) does
# not keep the next scrape out.
for ((i = 0; i < 6; i++)); do
	ip netns exec "$LAB_GW" timeout 8 socat -u TCP:$METRICS,connect-timeout=2 /dev/null </dev/null >/dev/null 2>&1 &
	lab_bg "$!"
done
sleep 1
get /metrics -o /dev/null -w '%{http_code}' >"$LAB_TMP/code" 2>&1
[[ $(cat "$LAB_TMP/code") == 200 ]] ||
	fail "with idle connections held from the gateway, a scrape from V got: $(cat "$LAB_TMP/code")"
lab_alive gw || fail "the gateway died"
ok "6 idle connections from one address do not keep a scrape from V out"

kill -TERM "$PROM" 2>/dev/null
lab__deadline 10
for ((i = 0; i < 100; i++)); do
	kill -0 "$PROM" 2>/dev/null || break
	lab__before || break
	sleep 0.1
done
kill -0 "$PROM" 2>/dev/null && fail "Prometheus did not stop within 10 s of SIGTERM"
ok "Prometheus stopped"
exit 0
