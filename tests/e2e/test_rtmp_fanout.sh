#!/usr/bin/env bash
# RTMP fan-out on kernel sockets: one ffmpeg publisher, 3 ffmpeg viewers and
# 2 rtmpdump viewers at the same time. Every recording must decode cleanly,
# start on a keyframe, and its video packets must be byte-identical to a
# contiguous run of the published packets (reference: the file that is
# published with -re -c copy, so the comparison is exact).
set -u
. "$(dirname "$0")/lib.bash"
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
PORT="${LC_FANOUT_PORT:-19351}"
CP="$B/lifecast-cp"
for t in ffmpeg ffprobe rtmpdump python3; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$CP" ] || { echo "FAIL: $CP not built"; exit 1; }

W=$(mktemp -d /tmp/lc-fanout.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "${CPPID:-}" ] && kill "$CPPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; echo "--- lifecast-cp log (tail)"; tail -25 "$W/cp.log"; exit 1; }

# 1. Reference: 14 s of H.264 + AAC, keyframe every 2 s.
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine \
  -t 14 -c:v libx264 -preset veryfast -g 50 -c:a aac -f flv "$W/ref.flv" \
  || fail "encoding the reference failed"
ffmpeg -nostdin -v error -i "$W/ref.flv" -map 0:v -c copy -f framemd5 "$W/ref.md5" \
  || fail "hashing the reference failed"

# 2. Server.
"$CP" --kernel-listen "127.0.0.1:$PORT" --open-publish --no-chat > "$W/cp.log" 2>&1 &
CPPID=$!
for _ in $(seq 50); do
  grep -q "rtmp listening" "$W/cp.log" 2>/dev/null && break
  kill -0 "$CPPID" 2>/dev/null || fail "lifecast-cp exited at start"
  sleep 0.1
done
URL="rtmp://127.0.0.1:$PORT/test/fanout"

# 3. Publisher, then 5 viewers while it runs.
timeout 40 ffmpeg -nostdin -v error -re -i "$W/ref.flv" -c copy -f flv "$URL" \
  > "$W/pub.log" 2>&1 &
PUBPID=$!
pids+=("$PUBPID")
sleep 3   # join mid-GOP: viewers must start at the cached keyframe
for i in 1 2 3; do
  timeout 30 ffmpeg -nostdin -v error -i "$URL" -c copy -t 10 -y "$W/ff$i.flv" \
    > "$W/ff$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do
  timeout 30 rtmpdump -q -v -r "$URL" -B 10 -o "$W/rd$i.flv" > "$W/rd$i.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
pids=()
kill -0 "$CPPID" 2>/dev/null || fail "lifecast-cp died during the test"

# 4. Check every recording.
nref=$(grep -vc '^#' "$W/ref.md5")
echo "reference: $nref video packets"
rc=0
# Each viewer recorded ~10 s: at least 200 video frames at 25 fps.
for f in ff1 ff2 ff3 rd1 rd2; do
  out=$(lc_check_recording "$W/$f.flv" "$W/ref.md5" 200) || { echo "FAIL: $f $out"; rc=1; continue; }
  set -- $out
  echo "RESULT fanout viewer=$f frames=$1 matched=$3 ref_start=$2"
done

# 5. Clean shutdown on SIGINT, counters sane.
kill -INT "$CPPID"
for _ in $(seq 50); do kill -0 "$CPPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$CPPID" 2>/dev/null; then fail "lifecast-cp did not exit on SIGINT"; fi
wait "$CPPID"; cprc=$?
CPPID=
[ "$cprc" -eq 0 ] || fail "lifecast-cp exit status $cprc"
grep -q "bye" "$W/cp.log" || fail "no clean shutdown line"
if grep -E "error|protocol error|kicked" "$W/cp.log" | grep -v "errors=0" | grep -q .; then
  fail "unexpected errors in the server log"
fi
stats=$(grep "stats global msgs_in" "$W/cp.log" | tail -1)
echo "RESULT fanout server ${stats#*stats global }"
[ $rc -eq 0 ] && echo "PASS" || fail "some viewers failed"
exit $rc
