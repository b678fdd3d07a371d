#!/usr/bin/env bash
# Enhanced RTMP (HEVC in FourCC 'hvc1' video tags) through lifecast-cp.
# Needs an ffmpeg whose FLV muxer writes HEVC (ffmpeg >= 6.1); with older ones
# the suite skips, saying so. The engine side (Enhanced RTMP sequence start /
# coded frames detection for the GOP cache) is covered by unit-cp.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
PORT="${LC_HEVC_PORT:-19355}"
command -v ffmpeg >/dev/null || { echo "SKIP: ffmpeg not installed"; exit 77; }
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx265 || { echo "SKIP: ffmpeg has no libx265"; exit 77; }
W=$(mktemp -d /tmp/lc-hevc.XXXXXX)
CPPID=; PUB=
cleanup() { kill $PUB $CPPID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT INT TERM

if ! ffmpeg -nostdin -v error -f lavfi -i testsrc=size=320x240:rate=25 -t 6 -pix_fmt yuv420p \
     -c:v libx265 -x265-params log-level=error:keyint=25 -f flv -y "$W/ref.flv" > "$W/enc.log" 2>&1; then
  why=$(grep -m1 -i "not compatible\|error" "$W/enc.log")
  echo "SKIP: ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3) cannot mux HEVC into FLV/RTMP (${why:-unknown error})"
  exit 77
fi
ffmpeg -nostdin -v error -i "$W/ref.flv" -map 0:v -c copy -f framemd5 "$W/ref.md5" || exit 1

"$B/lifecast-cp" --kernel-listen "127.0.0.1:$PORT" --open-publish --no-chat > "$W/cp.log" 2>&1 &
CPPID=$!
sleep 0.5
URL="rtmp://127.0.0.1:$PORT/test/hevc"
timeout 30 ffmpeg -nostdin -v error -re -i "$W/ref.flv" -c copy -f flv "$URL" > "$W/pub.log" 2>&1 &
PUB=$!
sleep 1.5
timeout 20 ffmpeg -nostdin -v error -i "$URL" -c copy -t 3 -y "$W/v.flv" > "$W/v.log" 2>&1 \
  || { echo "FAIL: viewer: $(tail -2 "$W/v.log")"; exit 1; }
codec=$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 "$W/v.flv")
[ "$codec" = hevc ] || { echo "FAIL: viewer got codec '$codec'"; exit 1; }
first=$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 "$W/v.flv" | head -1)
case "$first" in *K*) ;; *) echo "FAIL: first HEVC packet is not a keyframe"; exit 1 ;; esac
ffmpeg -nostdin -v error -i "$W/v.flv" -map 0:v -c copy -f framemd5 "$W/v.md5"
n=$(grep -vc '^#' "$W/v.md5")
grep -v '^#' "$W/v.md5" | cut -d, -f5,6 > "$W/got"
grep -v '^#' "$W/ref.md5" | cut -d, -f5,6 > "$W/ref"
if grep -vxFf "$W/ref" "$W/got" | grep -q .; then echo "FAIL: HEVC frames differ from the published ones"; exit 1; fi
echo "RESULT hevc viewer frames=$n codec=$codec"
echo PASS
