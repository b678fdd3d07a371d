#!/usr/bin/env bash
# `make run`: start lifecast-cp on kernel sockets with a demo broadcast and
# print how to watch it. Ctrl-C stops everything this script started.
#
#   scripts/run-demo.sh [--listen HOST:PORT] [--no-chat]
#   env: B (build dir, default build), LC_DEMO_LISTEN (default 127.0.0.1:1935)
set -u
cd "$(dirname "$0")/.."
B="${B:-build}"
LISTEN="${LC_DEMO_LISTEN:-127.0.0.1:1935}"
CHAT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --listen) LISTEN="$2"; shift 2 ;;
    --no-chat) CHAT=0; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run-demo: unknown argument $1" >&2; exit 2 ;;
  esac
done
HOST="${LISTEN%:*}"; PORT="${LISTEN##*:}"
for t in ffmpeg; do
  command -v "$t" >/dev/null || { echo "run-demo: $t is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ ! -x "$B/lifecast-cp" ]; then
  echo "run-demo: building $B/lifecast-cp"
  make -j2 B="$B" "$B/lifecast-cp" || exit 1
fi

RUN=$(mktemp -d /tmp/lifecast-demo.XXXXXX)
CPPID=; PUBLOOP=
stop() {
  trap - EXIT INT TERM
  echo
  echo "run-demo: stopping"
  [ -n "$PUBLOOP" ] && kill "$PUBLOOP" 2>/dev/null
  [ -n "$CPPID" ] && kill -INT "$CPPID" 2>/dev/null
  for _ in $(seq 50); do
    { [ -z "$CPPID" ] || ! kill -0 "$CPPID" 2>/dev/null; } && break
    sleep 0.1
  done
  [ -n "$CPPID" ] && kill -KILL "$CPPID" 2>/dev/null
  wait 2>/dev/null
  echo "run-demo: logs were in $RUN (removed)"
  rm -rf "$RUN"
  exit 0
}
trap stop EXIT INT TERM

start_cp() {
  local extra=("$@")
  "$B/lifecast-cp" -c lifecast.conf --kernel-listen "$LISTEN" "${extra[@]}" \
    > "$RUN/lifecast-cp.log" 2>&1 &
  CPPID=$!
  for _ in $(seq 30); do
    grep -q "lifecast-cp ready" "$RUN/lifecast-cp.log" && return 0
    kill -0 "$CPPID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$CPPID" 2>/dev/null
  CPPID=
  return 1
}
if [ $CHAT -eq 1 ] && ! start_cp; then
  echo "run-demo: lifecast-cp did not start with chat:"
  tail -3 "$RUN/lifecast-cp.log" | sed 's/^/  /'
  echo "run-demo: retrying without chat"
  CHAT=0
fi
if [ -z "$CPPID" ] && ! start_cp --no-chat; then
  echo "run-demo: lifecast-cp failed to start:"; tail -5 "$RUN/lifecast-cp.log"
  exit 1
fi

# Demo broadcast: test pattern with a wall clock, 1 kHz tone. Restarted if it
# ever drops (e.g. server restarted), until Ctrl-C.
VF="drawtext=text='lifecast demo %{localtime\:%H\\\\\:%M\\\\\:%S}':x=20:y=20:fontsize=32:fontcolor=white:box=1:boxcolor=black@0.6"
if ! ffmpeg -nostdin -v error -f lavfi -i testsrc=size=16x16:rate=1 -frames:v 1 -vf "$VF" -f null - 2>/dev/null; then
  VF="null"  # no drawtext/font here: testsrc's own counter still shows time
fi
URL_IN="rtmp://$HOST:$PORT/test/demo"
(
  trap 'kill $FF 2>/dev/null; exit 0' TERM INT
  while :; do
    ffmpeg -nostdin -v error -re -f lavfi -i "testsrc=size=1280x720:rate=30" \
      -f lavfi -i "sine=frequency=1000:sample_rate=44100" -vf "$VF" \
      -c:v libx264 -preset veryfast -tune zerolatency -g 60 -b:v 2M \
      -c:a aac -b:a 128k -f flv "$URL_IN" >> "$RUN/publisher.log" 2>&1 &
    FF=$!
    wait $FF
    sleep 1
  done
) &
PUBLOOP=$!

cat <<MSG

  lifecast-cp is serving RTMP on $HOST:$PORT (kernel sockets), pid $CPPID
  demo broadcast: $URL_IN (ffmpeg test pattern + clock, 1 kHz tone)

  watch it:
    ffplay $URL_IN
    rtmpdump -v -r $URL_IN -o - | ffplay -
    vlc $URL_IN
  publish your own: ffmpeg -re -i FILE -c copy -f flv rtmp://$HOST:$PORT/test/NAME
$( [ $CHAT -eq 1 ] && echo "  chat: see the [chat] section of lifecast.conf (IRC, one #channel per stream)" )
  server log: $RUN/lifecast-cp.log     Ctrl-C stops everything.

MSG
while kill -0 "$CPPID" 2>/dev/null; do sleep 1; done
echo "run-demo: lifecast-cp exited:"; tail -5 "$RUN/lifecast-cp.log"
