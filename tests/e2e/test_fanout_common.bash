# Shared helpers of the RTMP-through-the-dataplane suites (tests/e2e/test_fanout_*.sh).
# Sourced, never run (run.sh only picks up test_*.sh).
#
# Every suite: fo_init (skips when it cannot run), fo_up (test-bed with
# lifecast-cp, its own namespaces lc-client-fo / lc-node-fo so it never
# disturbs another test-bed), real clients in the client namespace, checks
# that record failures with fo_check_fail, fo_finish. The EXIT trap stops
# every process started with fo_bg and takes the test-bed down.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

LC_ROOT="${LC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
B="${B:-build}"
case "$B" in /*) ;; *) B="$LC_ROOT/$B" ;; esac
TOOLS="$B/tools"
TESTBED="$LC_ROOT/scripts/testbed.sh"
export LC_TB_NAME="${LC_TB_NAME:-fo}"
FO_CLIENT_NS=lc-client-$LC_TB_NAME
FO_NODE_NS=lc-node-$LC_TB_NAME
FO_ADDR=198.18.0.2
FO_TMP=""
FO_FAILS=0

fo_log() { echo "[$(date +%T)] $*"; }
fo_skip() { echo "SKIP: $*"; exit 77; }
fo_fail() { echo "FAIL: $*"; fo_diagnose; exit 1; }
fo_check_fail() { echo "CHECK FAILED: $*"; FO_FAILS=$((FO_FAILS + 1)); }
fo_result() { echo "RESULT $*"; }

fo_cleanup() {
	local rc=$?
	lc_stop_all 0.3
	B="$B" bash "$TESTBED" down >/dev/null 2>&1
	# FO_KEEP=1 keeps logs and recordings for a post-mortem
	if [ -n "$FO_TMP" ] && [ -z "${FO_KEEP:-}" ]; then
		rm -rf "$FO_TMP"
	elif [ -n "$FO_TMP" ]; then
		echo "logs kept in $FO_TMP"
	fi
	return $rc
}

# fo_init: root, binaries and clients present; temp dir; trap.
fo_init() {
	local t
	[ "$(id -u)" -eq 0 ] || fo_skip "needs root (network namespaces)"
	for t in ffmpeg ffprobe rtmpdump python3 ip; do
		command -v "$t" >/dev/null || fo_skip "$t not installed"
	done
	for t in lifecast-dp lifecast-cp tools/cp_rtmpplay; do
		[ -x "$B/$t" ] || fo_skip "$B/$t not built"
	done
	lc_begin fo fo_cleanup
	FO_TMP=$LC_TMP
}

fo_on_exit() { lc_on_exit "$1"; }

# fo_bg NAME CMD...: background process, output in $FO_TMP/NAME.log.
fo_bg() {
	lc_bg "$FO_TMP" "$@"
	FO_LAST_PID=$LC_LAST_PID
}

fo_tb() { B="$B" bash "$TESTBED" "$@"; }
fo_client() { fo_tb exec client "$@"; }

# fo_up: test-bed with lifecast-cp connected (skip when the dataplane has
# no control-plane socket, fail when the control plane never gets ready).
fo_up() {
	fo_tb down >/dev/null 2>&1
	fo_tb up >"$FO_TMP/testbed-up.log" 2>&1 || {
		cat "$FO_TMP/testbed-up.log"
		fo_fail "scripts/testbed.sh up failed"
	}
	grep -q '^CP_PID=[0-9]' "$FO_TMP/testbed-up.log" || fo_fail "lifecast-cp did not start"
	fo_tb cp-log | grep -q "dataplane ready" || {
		fo_tb cp-log | tail -5
		fo_fail "lifecast-cp never reached the dataplane"
	}
	fo_log "test-bed up: $(grep -E '^(DP_PID|CP_PID)=' "$FO_TMP/testbed-up.log" | tr '\n' ' ')"
}

# fo_cp_pid: pid of the running lifecast-cp.
fo_cp_pid() { cat "/run/lifecast-testbed-$LC_TB_NAME/cp.pid" 2>/dev/null; }

# fo_make_ref FILE SECONDS [KBIT] [SOURCE]: H.264 (keyframe every 2 s, 25 fps)
# + AAC, with noise so the video bitrate is about KBIT (default 1000);
# SOURCE is the lavfi video source (default testsrc; another one gives
# frames no other reference has).
fo_make_ref() {
	local out=$1 secs=$2 kbit=${3:-1000} src=${4:-testsrc}
	ffmpeg -nostdin -v error -f lavfi -i "$src=size=640x360:rate=25" -f lavfi \
		-i "sine=frequency=440" -t "$secs" -vf "noise=alls=12:allf=t" -c:v libx264 \
		-preset veryfast -b:v "${kbit}k" -maxrate "${kbit}k" -bufsize "${kbit}k" -g 50 \
		-keyint_min 50 -sc_threshold 0 -c:a aac -b:a 64k -f flv -y "$out" ||
		fo_fail "encoding the reference failed"
	ffmpeg -nostdin -v error -i "$out" -map 0:v -c copy -f framemd5 -y "$out.md5" ||
		fo_fail "hashing the reference failed"
}

# fo_publish NAME REF URL [extra ffmpeg input args]: ffmpeg publisher in the
# client namespace (-re, -c copy).
fo_publish() {
	local name=$1 ref=$2 url=$3
	shift 3
	fo_bg "$name" ip netns exec "$FO_CLIENT_NS" timeout 120 ffmpeg -nostdin -v error -re "$@" \
		-i "$ref" -c copy -f flv "$url"
}

# fo_wait_stream SECS: until the dataplane reports a live stream's ingest.
fo_wait_ingest() {
	local secs=$1 k v
	for ((k = 0; k < secs * 5; k++)); do
		v=$(fo_stat rtmp_ingest_msgs)
		[ "$v" != nan ] && [ "$v" -gt 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# fo_record_ffmpeg NAME URL SECS / fo_record_rtmpdump NAME URL SECS: real
# players recording to $FO_TMP/NAME.flv in the client namespace.
fo_record_ffmpeg() {
	fo_bg "$1" ip netns exec "$FO_CLIENT_NS" timeout $(($3 + 30)) ffmpeg -nostdin -v error \
		-i "$2" -c copy -t "$3" -y "$FO_TMP/$1.flv"
}
# rtmpdump's --stop counts stream time, which may run ahead of its own
# join time: SIGINT (a clean stop, file closed) bounds its wall time too.
fo_record_rtmpdump() {
	fo_bg "$1" ip netns exec "$FO_CLIENT_NS" timeout -s INT $(($3 + 4)) rtmpdump -q -v -r "$2" \
		-B "$3" -o "$FO_TMP/$1.flv"
}

# fo_check_recording NAME REF [MIN_FRAMES]: $FO_TMP/NAME.flv passes
# lc_check_recording against REF's framemd5 (default 200 frames). Prints a
# RESULT line; records a failed check otherwise.
fo_check_recording() {
	local name=$1 ref=$2 min=${3:-200} out
	out=$(lc_check_recording "$FO_TMP/$name.flv" "$ref.md5" "$min") ||
		{ fo_check_fail "$name $out"; return 1; }
	set -- $out
	fo_result "fanout_recording viewer=$name frames=$1 matched=$3 ref_start=$2"
}

# fo_check_monotonic NAME: packet timestamps of every stream never go back.
fo_check_monotonic() {
	local name=$1 bad
	bad=$(ffprobe -v error -show_entries packet=stream_index,dts -of csv=p=0 "$FO_TMP/$name.flv" |
		awk -F, '$2 != "N/A" { if (($1 in last) && $2 < last[$1]) n++; last[$1] = $2 } END { print n + 0 }')
	[ "$bad" = 0 ] || fo_check_fail "$name: $bad timestamps went backwards"
}

# fo_stat KEY [FILE]: counter from the dataplane stats "total" object.
fo_stat() {
	local key=$1 file=${2:-}
	if [ -z "$file" ]; then
		file="$FO_TMP/stats.now.json"
		fo_tb stats >"$file" 2>/dev/null
	fi
	python3 -c '
import json, sys
try:
    print(int(json.load(open(sys.argv[2]))["total"][sys.argv[1]]))
except Exception:
    print("nan")
' "$key" "$file"
}

fo_assert_num() {
	local name=$1 v=$2 op=$3 lim=$4
	if [ "$v" = nan ] || [ -z "$v" ]; then
		fo_check_fail "$name: not found"
		return 1
	fi
	[ "$v" "$op" "$lim" ] || { fo_check_fail "$name = $v, expected $op $lim"; return 1; }
	fo_log "ok: $name = $v ($op $lim)"
}

# fo_rtmpplay NAME ARGS...: cp_rtmpplay in the client namespace (background).
fo_rtmpplay() {
	local name=$1
	shift
	fo_bg "$name" ip netns exec "$FO_CLIENT_NS" timeout 150 "$TOOLS/cp_rtmpplay" "$@"
}

fo_wait() {
	local p
	for p in "$@"; do wait "$p" 2>/dev/null; done
}

fo_diagnose() {
	[ -n "$FO_TMP" ] || return 0
	local f
	for f in "$FO_TMP"/pub*.log; do
		[ -s "$f" ] && { echo "--- $(basename "$f") ---"; tail -3 "$f"; }
	done
	echo "--- lifecast-cp log (tail) ---"
	fo_tb cp-log 2>/dev/null | tail -15
	echo "--- lifecast-dp log (tail) ---"
	fo_tb log 2>/dev/null | tail -10
	echo "--- dataplane rtmp counters ---"
	fo_tb stats 2>/dev/null | python3 -c '
import json, sys
try:
    t = json.load(sys.stdin)["total"]
    print(" ".join("%s=%s" % (k, v) for k, v in t.items() if k.startswith("rtmp_") and v))
except Exception:
    print("stats unavailable")
'
}

fo_finish() {
	if [ "$FO_FAILS" -ne 0 ]; then
		fo_diagnose
		echo "FAIL: $FO_FAILS check(s) failed"
		exit 1
	fi
	echo "PASS"
	exit 0
}
