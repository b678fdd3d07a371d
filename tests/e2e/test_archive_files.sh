#!/usr/bin/env bash
# Archive recordings from real media: an ffmpeg H.264+AAC FLV is fed tag by
# tag through the archive API (tests/tools/cp_archive_feed), then
#  1. rotation: every segment passes flvmeta --check, durations add up to
#     the source's, each segment seeks (ffmpeg -ss) to a keyframe whose
#     decoded frames are identical to the source's (framemd5);
#  2. crash: the feeder is killed with SIGKILL mid-recording, the .part is
#     repaired and decodes completely (every video packet decodes);
#  3. disk full (root only): the archive lives on a 2 MiB tmpfs in a private
#     mount namespace; the write fails with ENOSPC, recording stops (counter),
#     space is freed, recording resumes with a new segment, all files valid.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"

for t in ffmpeg ffprobe flvmeta python3; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done

tmp=$(mktemp -d /tmp/lc-arch-e2e.XXXXXX)
feeder_pid=
cleanup() {
  [ -n "$feeder_pid" ] && kill -9 "$feeder_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

feed="$B/tools/cp_archive_feed"
if [ ! -x "$feed" ]; then
  make -s -j2 B="$B" "$feed" >/dev/null 2>&1 || fail "cannot build $feed"
fi

src="$tmp/src.flv"
timeout 120 ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 \
  -f lavfi -i sine=frequency=440:sample_rate=44100 -t 10 -c:v libx264 -preset ultrafast \
  -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$src" \
  || fail "ffmpeg source"
src_dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src")

stat_of() { awk -v k="$2" '$1 == "stat" && $2 == k { print $3 }' "$1"; }

check_flv() { # file -> flvmeta errors must be 0
  local out
  out=$(flvmeta --check "$1" 2>&1)
  echo "$out" | grep -q '^0 error(s)' || { echo "$out" | tail -5; fail "flvmeta --check $1"; }
}

# ---- 1. rotation ----
conf="$tmp/a.conf"
printf '[archive]\ndir = %s/rec\nsegment_duration = 4s\nmin_free = 0\n' "$tmp" > "$conf"
timeout 60 "$feed" -c "$conf" -i "$src" -a live -s cam > "$tmp/feed1.out" 2> "$tmp/feed1.err" \
  || { cat "$tmp/feed1.err"; fail "feeder"; }
mapfile -t segs < <(ls "$tmp"/rec/live/cam/*.flv 2>/dev/null | sort)
[ ${#segs[@]} -eq 3 ] || fail "expected 3 segments of 4 s, got ${#segs[@]}"
ls "$tmp"/rec/live/cam/ | grep -qv '^[0-9]\{8\}T[0-9]\{6\}Z\.flv$' && fail "unexpected file names"
[ "$(stat_of "$tmp/feed1.out" segments_closed)" = 3 ] || fail "segments_closed"
[ "$(stat_of "$tmp/feed1.out" write_errors)" = 0 ] || fail "write errors"
total=0
for s in "${segs[@]}"; do
  check_flv "$s"
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$s")
  # first video packet of each segment is a keyframe at time 0
  first=$(ffprobe -v error -select_streams v -show_entries packet=pts_time,flags -of csv=p=0 \
          -read_intervals '%+#1' "$s" | head -1)
  case "$first" in 0.000000,K*) ;; *) fail "segment $s does not start with a keyframe at 0 ($first)";; esac
  total=$(python3 -c "print($total + $d)")
done
python3 -c "import sys; sys.exit(0 if abs($total - $src_dur) <= 1.0 else 1)" \
  || fail "recorded duration $total vs source $src_dur"
echo "RESULT archive_segments=${#segs[@]} recorded_s=$total source_s=$src_dur"

# seek into the middle segment: 2 s after its start = 6 s into the source
md5s() { ffmpeg -hide_banner -loglevel error -ss "$1" -i "$2" -an -frames:v 10 -f framemd5 - \
         | grep -v '^#' | awk -F, '{ print $6 }'; }
md5s 2 "${segs[1]}" > "$tmp/seek.md5"
md5s 6 "$src" > "$tmp/src.md5"
[ "$(wc -l < "$tmp/seek.md5")" -eq 10 ] || fail "seek decoded $(wc -l < "$tmp/seek.md5") frames"
cmp -s "$tmp/seek.md5" "$tmp/src.md5" || fail "frames after seek differ from the source"
echo "RESULT archive_seek_frames_identical=10"

# ---- 2. kill -9 mid-recording, then repair ----
conf2="$tmp/b.conf"
printf '[archive]\ndir = %s/crash\nmin_free = 0\n' "$tmp" > "$conf2"
"$feed" -c "$conf2" -i "$src" -a live -s crash --realtime > /dev/null 2>&1 &
feeder_pid=$!
sleep 3.5
kill -9 "$feeder_pid"; wait "$feeder_pid" 2>/dev/null; feeder_pid=
mapfile -t parts < <(ls "$tmp"/crash/live/crash/*.flv.part 2>/dev/null)
[ ${#parts[@]} -eq 1 ] || fail "expected one .part after kill -9, got ${#parts[@]}"
# the partial file already plays up to its last whole tag
ffprobe -v error "${parts[0]}" >/dev/null 2>&1 || fail "partial file unreadable"
"$feed" --repair "${parts[0]}" > "$tmp/repair.out" || { cat "$tmp/repair.out"; fail "repair"; }
fixed="${parts[0]%.part}"
[ -f "$fixed" ] && [ ! -e "${parts[0]}" ] || fail "repair did not produce $fixed"
check_flv "$fixed"
pk=$(ffprobe -v error -select_streams v -count_packets -count_frames \
     -show_entries stream=nb_read_packets,nb_read_frames -of csv=p=0 "$fixed")
npk=${pk%,*}; nfr=${pk#*,}
[ "$npk" -gt 25 ] || fail "repaired file has only $npk video packets"
[ "$npk" = "$nfr" ] || fail "repaired file: $npk packets but $nfr decoded frames"
errs=$(ffmpeg -hide_banner -v error -i "$fixed" -f null - 2>&1 | wc -l)
[ "$errs" -eq 0 ] || fail "decoding the repaired file printed $errs errors"
rdur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$fixed")
echo "RESULT archive_crash_repaired_frames=$nfr duration_s=$rdur ($(cat "$tmp/repair.out" | sed 's/.*: //'))"

# ---- 3. disk full on a tmpfs (root) ----
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
  echo "RESULT archive_tmpfs=skipped (not root)"
  exit 0
fi
mkdir -p "$tmp/small"
conf3="$tmp/c.conf"
printf '[archive]\ndir = %s/small/rec\nmin_free = 0\ncheck_interval = 100ms\n' "$tmp" > "$conf3"
timeout 60 unshare -m bash -c '
  set -e
  mount --make-rprivate / 2>/dev/null || true
  mount -t tmpfs -o size=2m tmpfs "$1/small"
  head -c 1700000 /dev/zero > "$1/small/filler"
  "$2" -c "$3" -i "$4" -a live -s full --realtime --unlink-on-error "$1/small/filler" \
    > "$1/feed3.out" 2> "$1/feed3.err"
  mkdir -p "$1/out" && cp -r "$1/small/rec" "$1/out/"
' _ "$tmp" "$feed" "$conf3" "$src" || { cat "$tmp/feed3.err" 2>/dev/null; fail "tmpfs run"; }
[ "$(stat_of "$tmp/feed3.out" write_errors)" = 1 ] || fail "write_errors != 1"
[ "$(stat_of "$tmp/feed3.out" resumes)" = 1 ] || fail "recording did not resume"
grep -q "recording stopped: write failed: No space left on device" "$tmp/feed3.err" \
  || fail "no clear log line for ENOSPC"
mapfile -t fsegs < <(ls "$tmp"/out/rec/live/full/ 2>/dev/null)
[ ${#fsegs[@]} -eq 2 ] || fail "expected 2 files after the disk-full run, got: ${fsegs[*]}"
for s in "${fsegs[@]}"; do
  case "$s" in *.flv) ;; *) fail "unfinished file $s";; esac
  check_flv "$tmp/out/rec/live/full/$s"
done
d1=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp/out/rec/live/full/${fsegs[0]}")
d2=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp/out/rec/live/full/${fsegs[1]}")
echo "RESULT archive_tmpfs write_errors=1 resumes=1 before_s=$d1 after_s=$d2 dropped=$(stat_of "$tmp/feed3.out" msgs_dropped)"
exit 0
