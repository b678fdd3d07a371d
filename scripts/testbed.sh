#!/usr/bin/env bash
# Test-bed for lifecast-dp: two network namespaces, no NIC needed.
#
#   lc-client  kernel TCP clients; interface lc-cli0 = 198.18.0.1/24, MAC 02:00:c6:12:00:01
#   lc-node    the appliance: lifecast-dp owns 198.18.0.2 (MAC 02:00:c6:12:00:02) through
#              a net_tap port whose kernel side is lc-cli0 (moved into lc-client once the
#              port is started); the kernel TAP lc0 (same IP and MAC) is the exception path
#              for everything the dataplane does not serve (ssh, chat, ping of kernel...).
#              lifecast-cp runs there too, connected to the dataplane's IPC socket: RTMP
#              works from lc-client with no set-up: rtmp://198.18.0.2/test/NAME (open app,
#              any name), rtmp://198.18.0.2/live/SECRET (keyed: channel testbed, secret
#              testbed-secret); chat (IRC) on 198.18.0.2:6667 through the exception path.
#
# Usage: scripts/testbed.sh COMMAND
#   up                 start clean (removes leftovers of a previous run or crash first;
#                      refuses while a live lifecast-dp from an earlier `up` runs);
#                      prints KEY=VALUE lines: CLIENT_NS NODE_NS CLIENT_IP NODE_IP CLIENT_IF
#                      DP_PID DP_LOG CONF STATS_SOCK TELEMETRY_SOCK CP_PID CP_LOG CP_SOCK
#                      ARCHIVE_DIR (CP_* empty with LC_CP=0)
#   down               stop lifecast-cp and lifecast-dp (SIGTERM, then SIGKILL after 10 s), kill whatever
#                      still runs inside the two namespaces, delete them and all state
#                      (config, log, sockets, DPDK runtime files). Always exits 0.
#   status             exit 0 and print state when up and lifecast-dp alive, else exit 1
#   stats              the dataplane's stats JSON (IPC socket request "stats"), one line:
#                        {"workers":N,"total":{...},"per_worker":[{"id":0,"lcore":1,...},...]}
#                      counters by name: rx_pkts tx_pkts exc_tx_pkts fwd_out drop_<reason>
#                      arp_* icmp_echo_replies; tcp_<field> for every dp_tcp_stats field
#                      (tcp_retransmits, tcp_syn_cookies_sent, tcp_conns_ESTABLISHED...);
#                      pool_in_use/hdr_pool_in_use (mbufs out of the worker pools; the RX
#                      rings hold ~rx_desc per queue even when idle), tcp_conns, sleeps...
#   telemetry [CMD]    a DPDK telemetry command (default /lifecast/stats), JSON
#   exec [client|node] CMD...   run CMD inside a namespace (default: client)
#   log                print lifecast-dp's log
#   cp-start           start lifecast-cp in lc-node (when not running) and wait until the
#                      dataplane answered its HELLO; prints CP_PID=
#   cp-stop [-9]       stop lifecast-cp (SIGTERM, or SIGKILL with -9: a crash)
#   cp-log             print lifecast-cp's log
#
# Environment:
#   B=build            build tree holding lifecast-dp (B=build-asan for sanitizer runs)
#   LC_WORKERS=1       worker lcores (lcores may share the 2 CPUs: idle = adaptive)
#   LC_CONF=FILE       extra configuration appended after the test-bed defaults (its
#                      [dataplane] keys override them)
#   LC_DP_CONF="k=v;k=v"  [dataplane] overrides without a file
#   LC_DP_ARGS="..."   extra EAL arguments (e.g. --log-level=pmd.net.tap:debug)
#   LC_DP_WAIT=30      seconds to wait for the dataplane to come up
#   LC_CP=1            0: do not start lifecast-cp with `up`
#   LC_CP_ARGS="..."   extra lifecast-cp arguments (e.g. -v)
#   LC_CP_WAIT=10      seconds to wait for lifecast-cp to reach the dataplane
#   LC_TB_NAME=x       a second, independent test-bed: namespaces lc-client-x / lc-node-x,
#                      state /run/lifecast-testbed-x, stats /run/lifecast-x/dp.sock
#                      (same addresses: the namespaces isolate them)
#
# The dataplane runs without hugepages (--no-huge -m 512), file prefix lc-tb.
set -u

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
B="${B:-build}"
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
S=${LC_TB_NAME:+-$LC_TB_NAME}
STATE=/run/lifecast-testbed$S
LOCK=/run/lock/lifecast-testbed$S.lock
CLIENT_NS=lc-client$S
NODE_NS=lc-node$S
CLIENT_IF=lc-cli0
EXC_IF=lc0
CLIENT_IP=198.18.0.1
NODE_IP=198.18.0.2
PREFIX=24
CLIENT_MAC=02:00:c6:12:00:01
NODE_MAC=02:00:c6:12:00:02
FILE_PREFIX=lc-tb$S
STATS_SOCK=/run/lifecast$S/dp.sock
TELEMETRY_SOCK=/var/run/dpdk/$FILE_PREFIX/dpdk_telemetry.v2
CP_SOCK=/run/lifecast$S/cp.sock
ARCHIVE_DIR=$STATE/archive

log() { echo "testbed: $*" >&2; }

dp_pid() { cat "$STATE/dp.pid" 2>/dev/null; }

# Alive and not a zombie (an exiting dataplane lingers while the kernel
# removes its TAP interfaces).
pid_alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
		! grep -qE '^State:[[:space:]]+[ZX]' "/proc/$1/status" 2>/dev/null
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# Kill processes left inside one of our namespaces (started by tests in it).
ns_kill_all() {
	local ns=$1 p
	ns_exists "$ns" || return 0
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	sleep 0.2
	for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}

stop_dp() {
	local pid i
	pid=$(dp_pid)
	if pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
		if pid_alive "$pid"; then
			log "lifecast-dp $pid ignored SIGTERM for 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			sleep 0.2
		fi
	fi
}

cp_pid() { cat "$STATE/cp.pid" 2>/dev/null; }

# stop_cp [-9]: SIGTERM (SIGKILL after 10 s), or SIGKILL at once with -9.
stop_cp() {
	local pid i sig=TERM
	[ "${1:-}" = "-9" ] && sig=KILL
	pid=$(cp_pid)
	if pid_alive "$pid"; then
		kill -$sig "$pid" 2>/dev/null
		for i in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
		pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	rm -f "$STATE/cp.pid"
}

# start_cp: lifecast-cp in the node namespace with the test-bed's config;
# waits until the dataplane acknowledged its HELLO (LC_CP_WAIT seconds).
start_cp() {
	local pid i conf=$STATE/lifecast.conf
	pid=$(cp_pid)
	if pid_alive "$pid"; then
		echo "CP_PID=$pid"
		return 0
	fi
	[ -x "$B/lifecast-cp" ] || { log "$B/lifecast-cp not built"; return 1; }
	mkdir -p "$ARCHIVE_DIR"
	# The log is appended to across restarts: only what this instance writes
	# counts, or a restart would see its predecessor's lines.
	local from
	from=$(($(stat -c %s "$STATE/cp.log" 2>/dev/null || echo 0) + 1))
	# shellcheck disable=SC2086
	ip netns exec "$NODE_NS" "$B/lifecast-cp" -c "$conf" ${LC_CP_ARGS:-} \
		</dev/null >>"$STATE/cp.log" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$STATE/cp.pid"
	# Ready once the dataplane's sessions and streams are adopted (the resync
	# follows the HELLO answer), so a caller can rely on them at once.
	for i in $(seq 1 $((${LC_CP_WAIT:-10} * 10))); do
		pid_alive "$pid" || { log "lifecast-cp exited during start-up"; tail -5 "$STATE/cp.log" >&2; return 1; }
		tail -c "+$from" "$STATE/cp.log" 2>/dev/null | grep -q "dataplane resync done" &&
			{ echo "CP_PID=$pid"; return 0; }
		sleep 0.1
	done
	log "lifecast-cp $pid did not reach the dataplane in ${LC_CP_WAIT:-10} s (RTMP unavailable)"
	echo "CP_PID=$pid"
	return 1
}

do_down() {
	stop_cp
	stop_dp
	ns_kill_all "$CLIENT_NS"
	ns_kill_all "$NODE_NS"
	ns_exists "$CLIENT_NS" && ip netns del "$CLIENT_NS"
	ns_exists "$NODE_NS" && ip netns del "$NODE_NS"
	rm -f "$STATS_SOCK" "$CP_SOCK"
	rm -rf "/var/run/dpdk/$FILE_PREFIX"
	rm -f /dev/hugepages/"$FILE_PREFIX"map_* 2>/dev/null
	# keep the last log for post-mortems, drop the rest
	if [ -d "$STATE" ]; then
		[ -f "$STATE/dp.log" ] && mv -f "$STATE/dp.log" "/tmp/lifecast-testbed$S-last.log"
		[ -f "$STATE/cp.log" ] && mv -f "$STATE/cp.log" "/tmp/lifecast-testbed$S-cp-last.log"
		rm -rf "$STATE"
	fi
	return 0
}

write_conf() {
	local conf=$STATE/lifecast.conf kv
	{
		echo "# generated by scripts/testbed.sh"
		echo "[dataplane]"
		echo "address = $NODE_IP/$PREFIX"
		echo "exception_iface = $EXC_IF"
		echo "idle = adaptive"
		echo "idle_sleep_max_us = 500"
		echo "stats_socket = $STATS_SOCK"
		echo "mbufs = 8191"
		echo "hdr_mbufs = 8191"
		echo "cp_socket = $CP_SOCK"
		# lifecast-cp's sections (the dataplane skips them)
		echo "[rtmp]"
		echo "dataplane = $CP_SOCK"
		echo "apps = live:keyed test:open"
		echo "[keys]"
		echo "testbed = testbed-secret"
		echo "[archive]"
		echo "dir = $ARCHIVE_DIR"
		echo "min_free = 16M"
		echo "[chat]"
		echo "listen = :6667"
		echo "record_dir = $ARCHIVE_DIR"
		echo "[http]"
		echo "listen = :8080"
		echo "[control]"
		echo "socket = /run/lifecast$S/cp-mgmt.sock"
		if [ -n "${LC_CONF:-}" ]; then
			echo "# from $LC_CONF"
			cat "$LC_CONF"
			echo
		fi
		if [ -n "${LC_DP_CONF:-}" ]; then
			echo "[dataplane]"
			tr ';' '\n' <<<"$LC_DP_CONF" | sed '/^[[:space:]]*$/d'
		fi
	} >"$conf"
	echo "$conf"
}

# --lcores: main lcore 0 on CPU 0, workers spread over the CPUs we have.
lcores_arg() {
	local n=${LC_WORKERS:-1} ncpu i s
	ncpu=$(nproc)
	s="0@0"
	for i in $(seq 1 "$n"); do s="$s,$i@$((i % ncpu))"; done
	echo "$s"
}

wait_up() {
	local pid=$1 i
	for i in $(seq 1 $((${LC_DP_WAIT:-30} * 10))); do
		pid_alive "$pid" || { log "lifecast-dp exited during start-up"; return 1; }
		if [ -S "$STATS_SOCK" ] && ip -n "$NODE_NS" link show "$CLIENT_IF" >/dev/null 2>&1 &&
			ip -n "$NODE_NS" link show "$EXC_IF" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	log "lifecast-dp not ready after ${LC_DP_WAIT:-30} s"
	return 1
}

setup_links() {
	# The TAP's kernel side moves to the client only now: net_tap brings it
	# up by name when the port starts, which needs it in lc-node.
	ip -n "$NODE_NS" link set "$CLIENT_IF" netns "$CLIENT_NS" || return 1
	ip netns exec "$CLIENT_NS" sysctl -qw "net.ipv6.conf.all.disable_ipv6=1"
	ip -n "$CLIENT_NS" link set lo up
	ip -n "$CLIENT_NS" link set "$CLIENT_IF" address "$CLIENT_MAC" || return 1
	ip -n "$CLIENT_NS" addr add "$CLIENT_IP/$PREFIX" dev "$CLIENT_IF" || return 1
	ip -n "$CLIENT_NS" link set "$CLIENT_IF" up || return 1
	ip netns exec "$NODE_NS" sysctl -qw "net.ipv6.conf.all.disable_ipv6=1"
	ip -n "$NODE_NS" link set lo up
	ip -n "$NODE_NS" addr add "$NODE_IP/$PREFIX" dev "$EXC_IF" || return 1
	ip -n "$NODE_NS" link set "$EXC_IF" up || return 1
}

do_up() {
	local conf pid
	pid=$(dp_pid)
	if pid_alive "$pid"; then
		# another user's live test-bed: never pull it from under them
		log "test-bed in use (lifecast-dp pid $pid); run 'down' first"
		return 1
	fi
	do_down
	[ -x "$B/lifecast-dp" ] || { log "$B/lifecast-dp not built (make $B/lifecast-dp)"; return 1; }
	mkdir -p "$STATE" "$(dirname "$STATS_SOCK")"
	ip netns add "$CLIENT_NS" || return 1
	ip netns add "$NODE_NS" || { do_down; return 1; }
	ip -n "$NODE_NS" link set lo up
	conf=$(write_conf)
	# shellcheck disable=SC2086
	ip netns exec "$NODE_NS" "$B/lifecast-dp" --lcores "$(lcores_arg)" --no-huge -m 512 \
		--file-prefix "$FILE_PREFIX" --no-pci \
		--vdev "net_tap0,iface=$CLIENT_IF,mac=$NODE_MAC" ${LC_DP_ARGS:-} \
		-- -c "$conf" </dev/null >"$STATE/dp.log" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$STATE/dp.pid"
	if ! wait_up "$pid" || ! setup_links; then
		tail -30 "$STATE/dp.log" >&2
		do_down
		return 1
	fi
	echo "CLIENT_NS=$CLIENT_NS"
	echo "NODE_NS=$NODE_NS"
	echo "CLIENT_IF=$CLIENT_IF"
	echo "CLIENT_IP=$CLIENT_IP"
	echo "NODE_IP=$NODE_IP"
	echo "DP_PID=$pid"
	echo "DP_LOG=$STATE/dp.log"
	echo "CONF=$conf"
	echo "STATS_SOCK=$STATS_SOCK"
	echo "TELEMETRY_SOCK=$TELEMETRY_SOCK"
	if [ "${LC_CP:-1}" != 0 ]; then
		start_cp || log "continuing without a working control plane"
		echo "CP_LOG=$STATE/cp.log"
		echo "CP_SOCK=$CP_SOCK"
		echo "ARCHIVE_DIR=$ARCHIVE_DIR"
	else
		echo "CP_PID="
		echo "CP_LOG="
		echo "CP_SOCK="
		echo "ARCHIVE_DIR="
	fi
}

do_status() {
	local pid
	pid=$(dp_pid)
	if ns_exists "$CLIENT_NS" && ns_exists "$NODE_NS" && pid_alive "$pid"; then
		echo "up: lifecast-dp pid $pid, stats $STATS_SOCK"
		pid_alive "$(cp_pid)" && echo "lifecast-cp pid $(cp_pid), ipc $CP_SOCK" || echo "lifecast-cp not running"
		ip -n "$CLIENT_NS" -br addr show "$CLIENT_IF" 2>/dev/null
		ip -n "$NODE_NS" -br addr show "$EXC_IF" 2>/dev/null
		return 0
	fi
	echo "down"
	return 1
}

seqpacket_request() {
	python3 - "$1" "$2" "$3" <<'EOF'
import socket, sys
path, req, skip_hello = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(path)
if skip_hello:
    s.recv(1 << 20)  # telemetry greets with its version info first
s.send(req.encode())
print(s.recv(1 << 20).decode())
EOF
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
up)
	exec 9>"$LOCK"; flock -w 60 9 || { log "lock busy"; exit 1; }
	do_up ;;
down)
	exec 9>"$LOCK"; flock -w 60 9
	do_down ;;
status) do_status ;;
stats) seqpacket_request "$STATS_SOCK" stats 0 ;;
telemetry) seqpacket_request "$TELEMETRY_SOCK" "${1:-/lifecast/stats}" 1 ;;
log) cat "$STATE/dp.log" ;;
cp-log) cat "$STATE/cp.log" ;;
cp-start)
	pid_alive "$(dp_pid)" || { log "test-bed not up"; exit 1; }
	start_cp ;;
cp-stop) stop_cp "${1:-}" ;;
exec)
	ns=$CLIENT_NS
	case "${1:-}" in
	client) ns=$CLIENT_NS; shift ;;
	node) ns=$NODE_NS; shift ;;
	esac
	[ $# -gt 0 ] || { log "exec: no command"; exit 2; }
	exec ip netns exec "$ns" "$@" ;;
*)
	sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
	exit 2 ;;
esac
