#!/usr/bin/env bash
# Archive of live streams, end to end: the real build/lifecast-cp on kernel
# sockets (-c CONFIG with [archive]), a real ffmpeg publisher (H.264+AAC
# testsrc, -g 50, pre-encoded, published with -re -c copy), real ffmpeg
# viewers (-c copy recordings).
#  a. live run: the recording passes flvmeta --check, its duration is within
#     1 s of the published file's, and ffmpeg -ss MID starts at the nearest
#     keyframe with packets byte-identical to the source's from that keyframe
#     (and decoded frames identical too);
#  b. kill -9 of lifecast-cp mid-recording, restart with the same config: the
#     .part is repaired at start (log line, .part gone), flvmeta-clean, every
#     video packet decodes (to the last complete frame, no decode error);
#  c. (root) archive dir on a 3 MiB tmpfs in a private mount namespace that
#     fills up: the viewer receives every frame (contiguous byte-identical
#     run to the end), recording stops (counter in /metrics, log line) and
#     resumes with a new segment once a filler file is deleted.
# Ports 19460-19479 on 127.0.0.1. Exit 0 pass, 1 fail, 77 when (c) was
# skipped (not root) after (a) and (b) passed.
set -u
SELF=$(readlink -f "$0")
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
CP="$B/lifecast-cp"; CTL="$B/lifecastctl"

for t in ffmpeg ffprobe flvmeta python3 curl; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$CP" ] && [ -x "$CTL" ] || { echo "FAIL: $CP or $CTL not built"; exit 1; }

# (c) needs a private mount namespace: re-run the whole suite inside one, so
# the tmpfs disappears with the suite's last process whatever happens.
if [ "$(id -u)" = 0 ] && [ -z "${LC_ARCHLIVE_NS:-}" ] && command -v unshare >/dev/null &&
   unshare -m --propagation private true 2>/dev/null; then
  LC_ARCHLIVE_NS=1 exec unshare -m --propagation private -- bash "$SELF" "$@"
fi

# shellcheck source=lib.bash
. tests/e2e/lib.bash

W=$(mktemp -d /tmp/lc-archlive.XXXXXX)
pids=()
MOUNTED=
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "$MOUNTED" ] && umount -l "$MOUNTED" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T0=$SECONDS
CUR_LOG=
fail() {
  echo "FAIL: $*"
  [ -n "$CUR_LOG" ] && [ -f "$CUR_LOG" ] && { echo "--- $CUR_LOG (tail)"; tail -25 "$CUR_LOG"; }
  exit 1
}
wait_for() { # wait_for SECONDS DESC CMD...
  local n=$(( $1 * 10 )) desc=$2; shift 2
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  fail "timeout ($1 s): $desc"
}
bg() { # bg LOG CMD...: background process, pid in BGPID and in pids
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  BGPID=$!; pids+=("$BGPID")
}
stop_pid() { # stop_pid PID [SIG]: signal, wait
  kill "-${2:-TERM}" "$1" 2>/dev/null; wait "$1" 2>/dev/null
}
stop_cp() { # SIGTERM: a clean shutdown exits 0
  kill "$CPPID" 2>/dev/null; wait "$CPPID"; local rc=$?
  [ "$rc" = 0 ] || fail "lifecast-cp exit $rc after SIGTERM"
}
check_flv() { # check_flv FILE: flvmeta --check reports 0 errors
  local out
  out=$(flvmeta --check "$1" 2>&1)
  echo "$out" | grep -q '^0 error(s)' || { echo "$out" | tail -5; fail "flvmeta --check $(basename "$1")"; }
}
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }
metric() { # metric PORT NAME: value of one /metrics sample
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v k="lifecast_$2" '$1 == k { print $2 }'
}
is_live() { # is_live SOCK STREAM
  "$CTL" -s "$1" --json streams 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(s["stream"] == sys.argv[1] and s["live"] for s in d) else 1)' "$2"
}
# write_conf NAME RTMP_PORT HTTP_PORT ARCHIVE_DIR EXTRA_ARCHIVE_LINES
write_conf() {
  cat > "$W/$1.conf" <<EOF
[rtmp]
publish_grace = 1s

[archive]
dir = $4
$5

[http]
listen = 127.0.0.1:$3

[control]
socket = $W/$1.sock
EOF
}
start_cp() { # start_cp NAME RTMP_PORT: lifecast-cp with NAME.conf, log NAME.log (appended)
  CUR_LOG="$W/$1.log"
  local n0; n0=$(cat "$W/$1.log" 2>/dev/null | grep -c "lifecast-cp ready")
  "$CP" -c "$W/$1.conf" --kernel-listen "127.0.0.1:$2" --mgmt-socket "$W/$1.sock" --no-chat \
    >> "$W/$1.log" 2>&1 &
  CPPID=$!; pids+=("$CPPID")
  ready() { [ "$(grep -c "lifecast-cp ready" "$W/$1.log")" -gt "$2" ]; }
  wait_for 10 "lifecast-cp $1 ready" ready "$1" "$n0"
  kill -0 "$CPPID" 2>/dev/null || fail "lifecast-cp $1 exited"
}
publish() { # publish LOG URL: -re -c copy of the source
  bg "$1" timeout 60 ffmpeg -nostdin -v error -re -i "$SRC" -c copy -f flv "$2"
  PUBPID=$BGPID
}

# ---- source: 16 s H.264 + AAC, keyframe every 50 frames (2 s) ----
SRC="$W/src.flv"
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi \
  -i sine=frequency=440:sample_rate=44100 -t 16 -c:v libx264 -preset ultrafast -b:v 1200k \
  -g 50 -keyint_min 50 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$SRC" \
  || fail "encoding the source"
ffmpeg -nostdin -v error -i "$SRC" -map 0:v -c copy -f framemd5 -y "$W/ref.md5" || fail "ref md5"
REF_N=$(grep -vc '^#' "$W/ref.md5")
SRC_DUR=$(dur "$SRC")
[ "$REF_N" = 400 ] || fail "source has $REF_N video packets, want 400"

# =====================================================================
# (a) a live run, recorded
# =====================================================================
write_conf a 19460 19461 "$W/arch-a" "min_free = 0"
start_cp a 19460
publish "$W/pub-a.log" "rtmp://127.0.0.1:19460/test/a"
wait_for 10 "test/a live" is_live "$W/a.sock" test/a
wait "$PUBPID"; rc=$?
[ "$rc" = 0 ] || fail "publisher a exit $rc: $(tail -3 "$W/pub-a.log")"
# the stream ends after publish_grace; the segment is closed and renamed
a_done() { ! ls "$W"/arch-a/test/a/*.part >/dev/null 2>&1 && ls "$W"/arch-a/test/a/*.flv >/dev/null 2>&1; }
wait_for 10 "recording a closed" a_done
mapfile -t segs < <(ls "$W"/arch-a/test/a/)
[ ${#segs[@]} = 1 ] || fail "(a) expected one recording, got: ${segs[*]}"
RA="$W/arch-a/test/a/${segs[0]}"
check_flv "$RA"
RA_DUR=$(dur "$RA")
python3 -c "import sys; sys.exit(0 if abs($RA_DUR - $SRC_DUR) <= 1.0 else 1)" \
  || fail "(a) recorded duration $RA_DUR vs published $SRC_DUR"
out=$(lc_check_recording "$RA" "$W/ref.md5" 400) || fail "(a) recording content: $out"
# -ss MID: the packets start at the nearest keyframe at or before MID and
# equal the source's from that keyframe on; decoded frames equal too.
MID=7.0; KF=$(python3 -c "print(int($MID * 25) // 50 * 50)")
ffmpeg -nostdin -v error -ss "$MID" -i "$RA" -map 0:v -c copy -frames:v 50 -f framemd5 -y \
  "$W/seek-pk.md5" || fail "(a) seek -c copy"
seek=$(python3 - "$W/ref.md5" "$W/seek-pk.md5" "$KF" <<'PY'
import sys
def load(p):
    return [tuple(x.strip() for x in l.split(',')[4:6]) for l in open(p) if not l.startswith('#')]
ref, got, kf = load(sys.argv[1]), load(sys.argv[2]), int(sys.argv[3])
if len(got) != 50:
    print(f"got {len(got)} packets"); sys.exit(1)
starts = [i for i, h in enumerate(ref) if h == got[0]]
if starts != [kf]:
    print(f"first packet after seek is reference packet {starts}, want keyframe {kf}"); sys.exit(1)
same = sum(1 for a, b in zip(got, ref[kf:]) if a == b)
print(same); sys.exit(0 if same == 50 else 1)
PY
) || fail "(a) seek: $seek"
dec() { ffmpeg -nostdin -v error -ss "$MID" -i "$1" -an -frames:v 25 -f framemd5 - 2> "$2.err" |
        grep -v '^#' | awk -F, '{ print $6 }' > "$2"; }
dec "$RA" "$W/seek-dec.rec"; dec "$SRC" "$W/seek-dec.src"
[ ! -s "$W/seek-dec.rec.err" ] || fail "(a) decode errors after seek: $(head -3 "$W/seek-dec.rec.err")"
[ "$(wc -l < "$W/seek-dec.rec")" = 25 ] || fail "(a) seek decoded $(wc -l < "$W/seek-dec.rec") frames"
cmp -s "$W/seek-dec.rec" "$W/seek-dec.src" || fail "(a) decoded frames after -ss $MID differ from the source"
stop_cp
echo "RESULT a_live recorded_s=$RA_DUR published_s=$SRC_DUR video_packets=$(echo "$out" | cut -d' ' -f1)/$REF_N seek_mid=$MID keyframe=$KF identical_packets=$seek identical_decoded=25"

# =====================================================================
# (b) kill -9 mid-recording, restart, repair at start
# =====================================================================
write_conf b 19462 19463 "$W/arch-b" "min_free = 0"
start_cp b 19462
publish "$W/pub-b.log" "rtmp://127.0.0.1:19462/test/b"
wait_for 10 "test/b live" is_live "$W/b.sock" test/b
sleep 5
parts=("$W"/arch-b/test/b/*.flv.part)
[ -f "${parts[0]}" ] || fail "(b) no .part while recording"
kill -9 "$CPPID"; wait "$CPPID" 2>/dev/null
PART=${parts[0]}; PART_SIZE=$(stat -c %s "$PART")
stop_pid "$PUBPID" KILL
[ -f "$PART" ] || fail "(b) .part gone before the restart"
[ "$PART_SIZE" -gt 200000 ] || fail "(b) only $PART_SIZE bytes recorded in 5 s"
start_cp b 19462
wait_for 10 "repair at start logged" grep -q "archive: maintenance: 1 repaired, 0 not repairable" "$W/b.log"
FIXED=${PART%.part}
[ ! -e "$PART" ] || fail "(b) .part still there after the restart"
[ -f "$FIXED" ] || fail "(b) no $(basename "$FIXED") after the repair"
check_flv "$FIXED"
pk=$(ffprobe -v error -select_streams v -count_packets -count_frames \
     -show_entries stream=nb_read_packets,nb_read_frames -of csv=p=0 "$FIXED")
npk=${pk%,*}; nfr=${pk#*,}
[ "$npk" = "$nfr" ] || fail "(b) $npk video packets but $nfr decoded frames"
out=$(lc_check_recording "$FIXED" "$W/ref.md5" 100) || fail "(b) repaired content: $out"
set -- $out
[ "$2" = 0 ] && [ "$1" = "$npk" ] || fail "(b) repaired file is not the source from frame 0 ($out)"
B_DUR=$(dur "$FIXED")
stop_cp
echo "RESULT b_crash part_bytes=$PART_SIZE repaired_bytes=$(stat -c %s "$FIXED") video_packets=$npk decoded_frames=$nfr identical_from_0=$3 duration_s=$B_DUR"

# =====================================================================
# (c) archive on a small tmpfs that fills up (root, private namespace)
# =====================================================================
if [ "$(id -u)" != 0 ] || [ -z "${LC_ARCHLIVE_NS:-}" ]; then
  echo "RESULT c_tmpfs=skipped (needs root and a private mount namespace)"
  exit 77
fi
SMALL="$W/small"; mkdir -p "$SMALL"
mount -t tmpfs -o size=3m tmpfs "$SMALL" || fail "(c) mount tmpfs"
MOUNTED=$SMALL
MIN_FREE=262144
free_now() { python3 -c "import os; s = os.statvfs('$SMALL'); print(s.f_bavail * s.f_frsize)"; }
# leave ~700 kB above min_free for the recording (~4-5 s at this bitrate)
FILL=$(( $(free_now) - MIN_FREE - 700000 ))
head -c "$FILL" /dev/zero > "$SMALL/filler" || fail "(c) filler"
write_conf c 19464 19465 "$SMALL/rec" "min_free = $MIN_FREE
check_interval = 100ms"
start_cp c 19464
publish "$W/pub-c.log" "rtmp://127.0.0.1:19464/test/c"
wait_for 10 "test/c live" is_live "$W/c.sock" test/c
bg "$W/view-c.log" timeout -s INT 40 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:19464/test/c" \
  -c copy -f flv -y "$W/view-c.flv"
VIEWPID=$BGPID
stopped() { grep -q "archive: test/c: recording stopped: free space" "$W/c.log"; }
wait_for 12 "recording stopped for low space" stopped
STOP_T=$((SECONDS))
stops=$(metric 19465 archive_low_space_stops_total)
[ "${stops:-0}" = 1 ] || fail "(c) archive_low_space_stops_total=$stops, want 1"
grep -q "archive: $SMALL/rec: [0-9]* bytes free, min_free $MIN_FREE: recording stopped" "$W/c.log" \
  || fail "(c) no 'recording stopped' free-space log line"
kill -0 "$PUBPID" 2>/dev/null || fail "(c) publisher ended too early to test a resume"
free_stop=$(free_now)
# stopped: the segment is closed, nothing more is written
sleep 1
s1=$(du -sb "$SMALL/rec" | cut -f1); sleep 1; s2=$(du -sb "$SMALL/rec" | cut -f1)
[ "$s1" = "$s2" ] || fail "(c) archive still growing while stopped ($s1 -> $s2)"
ls "$SMALL"/rec/test/c/*.part >/dev/null 2>&1 && fail "(c) a .part is open while stopped"
rm -f "$SMALL/filler"
resumed() { grep -q "archive: test/c: recording resumed in $SMALL/rec/test/c/" "$W/c.log"; }
wait_for 6 "recording resumed after freeing space" resumed
RESUME_DT=$((SECONDS - STOP_T))
grep -q "bytes free, min_free $MIN_FREE: recording resumes" "$W/c.log" || fail "(c) no 'recording resumes' log line"
wait "$PUBPID"; rc=$?
[ "$rc" = 0 ] || fail "(c) publisher exit $rc: $(tail -3 "$W/pub-c.log")"
c_done() { ! ls "$SMALL"/rec/test/c/*.part >/dev/null 2>&1 && ! kill -0 "$VIEWPID" 2>/dev/null; }
for _ in $(seq 60); do c_done && break; sleep 0.1; done
kill -0 "$VIEWPID" 2>/dev/null && stop_pid "$VIEWPID" INT
wait "$VIEWPID" 2>/dev/null
c_done || fail "(c) segment not closed after the stream ended"
wr_err=$(metric 19465 archive_write_errors_total)
[ "${wr_err:-x}" = 0 ] || fail "(c) archive_write_errors_total=$wr_err, want 0 (stopped before the disk was full)"
[ "$(metric 19465 archive_low_space_stops_total)" = 1 ] || fail "(c) more than one stop"
# the viewer: every frame from its join to the end, byte-identical
out=$(lc_check_recording "$W/view-c.flv" "$W/ref.md5" 300) || fail "(c) viewer: $out"
set -- $out; VF=$1; VS=$2
[ $((VS + VF)) = "$REF_N" ] || fail "(c) viewer run ends at reference frame $((VS + VF)), not $REF_N"
# the archive: two closed segments, each a clean run of the source
mkdir -p "$W/c-out"; cp "$SMALL"/rec/test/c/* "$W/c-out/"
mapfile -t csegs < <(ls "$W/c-out" | sort)
[ ${#csegs[@]} = 2 ] || fail "(c) expected 2 segments (before the stop, after the resume), got: ${csegs[*]}"
info=""
prev_end=0
for s in "${csegs[@]}"; do
  case "$s" in *.flv) ;; *) fail "(c) unfinished file $s";; esac
  check_flv "$W/c-out/$s"
  o=$(lc_check_recording "$W/c-out/$s" "$W/ref.md5" 25) || fail "(c) segment $s: $o"
  set -- $o
  [ "$2" -ge "$prev_end" ] || fail "(c) segment $s overlaps the previous one"
  prev_end=$(($2 + $1))
  info="$info $2..$((prev_end - 1))"
done
echo "RESULT c_tmpfs low_space_stops=$stops write_errors=$wr_err free_at_stop=$free_stop resume_after_s=$RESUME_DT segments=${#csegs[@]} segment_frames=[${info# }] viewer_frames=$VF viewer_from=$VS viewer_to=$((VS + VF))/$REF_N"
stop_cp
echo "RESULT archive_live pass elapsed_s=$((SECONDS - T0))"
exit 0
