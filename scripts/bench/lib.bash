# Shared helpers of `make bench` (scripts/bench.sh) and the swarm's e2e tests
# (tests/e2e/test_swarm_*.sh). Source it after setting B (build dir).
#
# Every process started through sb_bg is stopped by sb_cleanup (install it
# with `trap sb_cleanup EXIT`), as are the network namespaces and DPDK
# runtime directories registered with sb_on_exit.
#
# Addresses: 198.18.0.0/15 only. The dataplane is 198.18.0.2/16; swarm
# viewers start at 198.18.0.10; a kernel publisher, bridged to the memif
# link by the swarm, is 198.18.0.5. nginx runs on loopback, ports 21935+.

SB_ROOT="${SB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
B="${B:-build}"
case "$B" in /*) ;; *) B="$SB_ROOT/$B" ;; esac
SB_TMP="${SB_TMP:-}"
SB_PIDS=()
SB_CLEANUPS=()
SB_DP_ADDR=198.18.0.2
SB_PUB_ADDR=198.18.0.5

sb_log() { echo "[$(date +%T)] $*" >&2; }

sb_cleanup() {
	local rc=$? p k
	for p in "${SB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	for p in "${SB_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ((k = ${#SB_CLEANUPS[@]} - 1; k >= 0; k--)); do
		eval "${SB_CLEANUPS[$k]}" >/dev/null 2>&1
	done
	[ -n "$SB_TMP" ] && [ -z "${SB_KEEP:-}" ] && rm -rf "$SB_TMP"
	return $rc
}

sb_on_exit() { SB_CLEANUPS+=("$1"); }

# sb_bg NAME CMD...: run in the background, output in $SB_TMP/NAME.log.
sb_bg() {
	local name=$1
	shift
	"$@" >"$SB_TMP/$name.log" 2>&1 &
	SB_LAST_PID=$!
	SB_PIDS+=("$SB_LAST_PID")
}

# sb_wait_report PID LOG SECS: wait for the swarm's JSON summary in LOG (a
# swarm run with --linger 1 keeps its memif link up after it, so the server
# can be stopped first), or for PID to exit. 0 when the summary is there.
sb_wait_report() {
	local pid=$1 log=$2 secs=$3 k
	for ((k = 0; k < secs * 10; k++)); do
		grep -q '^{' "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^{' "$log" 2>/dev/null
}

# sb_stop PID: stop one process we started and wait for it.
sb_stop() {
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# sb_make_stream OUT SECS: the benchmark stream, 2.5 Mbit/s H.264 (CBR,
# 1280x720, 30 fps, GOP 2 s) + AAC, from ffmpeg's test sources. Cached.
sb_make_stream() {
	local out=$1 secs=$2
	[ -s "$out" ] && return 0
	mkdir -p "$(dirname "$out")"
	ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=1280x720:rate=30 \
		-f lavfi -i sine=frequency=440:sample_rate=44100 -t "$secs" \
		-c:v libx264 -preset veryfast -b:v 2300k -minrate 2300k -maxrate 2300k \
		-bufsize 2300k -x264-params nal-hrd=cbr -g 60 -keyint_min 60 -sc_threshold 0 \
		-pix_fmt yuv420p -c:a aac -b:a 128k -ar 44100 -f flv "$out.tmp" &&
		mv "$out.tmp" "$out"
}

# sb_stats SOCK: the dataplane's stats JSON.
sb_stats() {
	python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(2)
s.connect(sys.argv[1])
s.send(b"stats")
print(s.recv(1 << 22).decode())
EOF
}

# sb_json FILE EXPR: evaluate a Python expression on the JSON object `d`
# read from the first line of FILE that starts with '{'.
sb_json() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
d = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line)
        break
if d is None:
    print("nan")
else:
    print(eval(sys.argv[2], {"d": d}))
EOF
}

# sb_dp_conf FILE MEMIF_SOCK STATS_SOCK CP_SOCK IDLE: a lifecast.conf for the
# dataplane on a memif link (no exception path) plus lifecast-cp's sections.
sb_dp_conf() {
	cat >"$1" <<EOF
[dataplane]
address = $SB_DP_ADDR/16
exception_iface =
idle = $5
stats_socket = $3
cp_socket = $4
mbufs = 32767
hdr_mbufs = 131071
tcp_max_conns = 16384
[rtmp]
dataplane = $4
apps = live:open
[archive]
dir = $SB_TMP/archive
EOF
}

# sb_start_dp NAME CONF LCORES MEMIF_ROLE_ARGS PREFIX: lifecast-dp with a
# net_memif port; waits for its stats socket. Sets SB_DP_PID.
sb_start_dp() {
	local name=$1 conf=$2 lcores=$3 memif=$4 prefix=$5 stats k
	stats=$(sed -n 's/^stats_socket = //p' "$conf")
	rm -f "$stats"
	sb_on_exit "rm -rf /var/run/dpdk/$prefix"
	# SB_DP_MEM: EAL memory options (hugepages for memif zero-copy).
	# shellcheck disable=SC2086
	# SB_DP_WRAP: a command to run the dataplane under (e.g. gdb -batch ...).
	# It runs in $SB_TMP with core dumps on, so a crash leaves its core
	# there (kept with SB_KEEP=1).
	# shellcheck disable=SC2086
	sb_bg "$name" bash -c 'cd "$1" && ulimit -c unlimited && shift && exec "$@"' _ "$SB_TMP" \
		${SB_DP_WRAP:-} "$B/lifecast-dp" --lcores "$lcores" ${SB_DP_MEM:---no-huge -m 1024} --no-pci \
		--file-prefix "$prefix" --vdev "net_memif0,$memif" --log-level='*:warning' -- -c "$conf"
	SB_DP_PID=$SB_LAST_PID
	for ((k = 0; k < 100; k++)); do
		[ -S "$stats" ] && return 0
		kill -0 "$SB_DP_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$SB_TMP/$name.log" >&2
	return 1
}

# sb_start_cp NAME CONF CPU: lifecast-cp on the dataplane's IPC socket;
# waits for "dataplane ready". Sets SB_CP_PID.
sb_start_cp() {
	local k
	sb_bg "$1" taskset -c "$3" "$B/lifecast-cp" -c "$2"
	SB_CP_PID=$SB_LAST_PID
	for ((k = 0; k < 100; k++)); do
		grep -q "dataplane ready" "$SB_TMP/$1.log" 2>/dev/null && return 0
		kill -0 "$SB_CP_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$SB_TMP/$1.log" >&2
	return 1
}

# sb_pub_ns NS TAPIF: the publisher's namespace, once the swarm created its
# TAP (bridge) interface TAPIF in it: address and link.
sb_pub_ns_up() {
	local ns=$1 tap=$2 k
	for ((k = 0; k < 100; k++)); do
		ip -n "$ns" link show "$tap" >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$ns" addr add "$SB_PUB_ADDR/16" dev "$tap" &&
		ip -n "$ns" link set "$tap" up
}

# sb_proc_cpu_ticks PID: utime+stime of a process and its threads (clock ticks).
sb_proc_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# sb_softirq_ticks CPU: softirq ticks of one CPU from /proc/stat.
sb_softirq_ticks() {
	awk -v c="cpu$1" '$1 == c { print $8 }' /proc/stat
}

# sb_cpu_busy_ticks CPU: non-idle ticks of one CPU (all but idle and iowait).
sb_cpu_busy_ticks() {
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
