# Plumbing shared by the end-to-end suites and their helper files
# (test_dp_common.bash, test_fanout_common.bash, test_rtmp_fanout.sh).
# Sourced, never run: run.sh only picks up test_*.sh.
#
# One registry of what a suite started: lc_bg records background processes,
# lc_on_exit records clean-up commands; lc_stop_all, called from the suite's
# EXIT trap, stops the first and then runs the second, newest first.

[ -n "${LC_LIB_LOADED:-}" ] && return 0
LC_LIB_LOADED=1

LC_TMP=""
LC_PIDS=()
LC_CLEANUPS=()
LC_LAST_PID=""

# lc_begin TAG CLEANUP_FN: make LC_TMP (/tmp/lc-e2e-TAG.XXXXXX) and install
# CLEANUP_FN as the EXIT trap; INT and TERM exit 130 so that it runs.
lc_begin() {
	LC_TMP=$(mktemp -d "/tmp/lc-e2e-$1.XXXXXX")
	trap "$2" EXIT
	trap 'exit 130' INT TERM
}

# lc_on_exit CMD: run CMD (a string) at exit, after the processes are stopped.
lc_on_exit() { LC_CLEANUPS+=("$1"); }

# lc_bg DIR NAME CMD...: start CMD in the background, output in DIR/NAME.log;
# sets LC_LAST_PID.
lc_bg() {
	local dir=$1 name=$2
	shift 2
	"$@" >"$dir/$name.log" 2>&1 &
	LC_LAST_PID=$!
	LC_PIDS+=("$LC_LAST_PID")
}

# lc_stop_all GRACE: TERM every process lc_bg started, KILL those left after
# GRACE seconds, then run the lc_on_exit commands, newest first, quietly.
lc_stop_all() {
	local k
	for k in "${LC_PIDS[@]}"; do kill "$k" 2>/dev/null; done
	sleep "$1"
	for k in "${LC_PIDS[@]}"; do kill -9 "$k" 2>/dev/null; done
	for ((k = ${#LC_CLEANUPS[@]} - 1; k >= 0; k--)); do
		eval "${LC_CLEANUPS[$k]}" >/dev/null 2>&1
	done
}

# lc_check_recording REC REF_MD5 MIN_FRAMES: the FLV recording REC decodes
# without error, its first video packet is a keyframe, and its video packets
# (framemd5, written next to REC as NAME.md5) are byte-identical to a
# contiguous run of REF_MD5's that starts on a GOP boundary (the references
# have a keyframe every 50 frames) and holds at least MIN_FRAMES packets.
# Prints "FRAMES REF_START MATCHED" and returns 0, or prints why and returns
# 1; REC's player log, NAME.log next to it, is quoted when REC is empty.
lc_check_recording() {
	local rec=$1 ref=$2 min=$3 base=${1%.flv} errs first out
	[ -s "$rec" ] || { echo "recorded nothing ($(tail -2 "$base.log" 2>/dev/null))"; return 1; }
	errs=$(ffmpeg -nostdin -v error -i "$rec" -f null - 2>&1)
	[ -z "$errs" ] || { echo "decode errors: $(echo "$errs" | head -3)"; return 1; }
	first=$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 "$rec" | head -1)
	case "$first" in *K*) ;; *) echo "first video packet is not a keyframe ($first)"; return 1 ;; esac
	ffmpeg -nostdin -v error -i "$rec" -map 0:v -c copy -f framemd5 -y "$base.md5" ||
		{ echo "framemd5 failed"; return 1; }
	out=$(python3 - "$ref" "$base.md5" <<'PY'
import sys
def load(p):
    r = []
    for line in open(p):
        if line.startswith('#'):
            continue
        c = [x.strip() for x in line.split(',')]
        r.append((c[4], c[5]))  # size, md5 of the packet data
    return r
ref, got = load(sys.argv[1]), load(sys.argv[2])
if not got:
    print("EMPTY"); sys.exit(1)
starts = [i for i, h in enumerate(ref) if h == got[0]]
if not starts:
    print("NOSTART"); sys.exit(1)
s = starts[0]
n = 0
while n < len(got) and s + n < len(ref) and ref[s + n] == got[n]:
    n += 1
print(f"{len(got)} {s} {n}")
sys.exit(0 if n == len(got) else 1)
PY
	) || { echo "video is not a contiguous run of the reference ($out)"; return 1; }
	set -- $out
	[ "$1" -ge "$min" ] || { echo "only $1 video frames (want >= $min)"; return 1; }
	[ $(($2 % 50)) -eq 0 ] || { echo "run starts at reference frame $2, not a GOP start"; return 1; }
	echo "$out"
}
