#!/usr/bin/env bash
# `make run`: the appliance on the test-bed (scripts/testbed.sh: lifecast-dp
# on a TAP port + lifecast-cp, clients in the lc-client namespace) with a demo
# broadcast published from lc-client, and how to watch it. Ctrl-C stops
# everything this script started.
#
# When the test-bed cannot start (not root, no network namespaces, no
# lifecast-dp), it says why and falls back to lifecast-cp alone on kernel
# sockets (LC_DEMO_LISTEN, default 127.0.0.1:1935).
#
#   scripts/run-demo.sh [--kernel] [--listen HOST:PORT] [--no-chat]
#     --kernel   skip the test-bed: lifecast-cp on kernel sockets only
#   env: B (build dir, default build), LC_DEMO_LISTEN, LC_WORKERS (test-bed workers)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B="${B:-build}"
LISTEN="${LC_DEMO_LISTEN:-127.0.0.1:1935}"
CHAT=1
KERNEL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) KERNEL=1; shift ;;
    --listen) LISTEN="$2"; KERNEL=1; shift 2 ;;
    --no-chat) CHAT=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-demo: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v ffmpeg >/dev/null || { echo "run-demo: ffmpeg is missing (scripts/install-deps.sh)" >&2; exit 1; }

RUN=$(mktemp -d /tmp/lifecast-demo.XXXXXX)
MODE=; CPPID=; PUBLOOP=
stop() {
  trap - EXIT INT TERM
  echo
  echo "run-demo: stopping"
  [ -n "$PUBLOOP" ] && kill "$PUBLOOP" 2>/dev/null
  if [ "$MODE" = testbed ]; then
    B="$B" bash scripts/testbed.sh down
  elif [ -n "$CPPID" ]; then
    kill -INT "$CPPID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CPPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CPPID" 2>/dev/null
  fi
  wait 2>/dev/null
  echo "run-demo: logs were in $RUN (removed)"
  rm -rf "$RUN"
  exit 0
}
trap stop EXIT INT TERM

# Why the test-bed cannot run here, or nothing.
testbed_blocker() {
  [ "$(id -u)" -eq 0 ] || { echo "not root (network namespaces and TAP devices need it)"; return; }
  command -v ip >/dev/null || { echo "iproute2 missing"; return; }
  if [ ! -x "$B/lifecast-dp" ] || [ ! -x "$B/lifecast-cp" ]; then
    echo "run-demo: building lifecast-dp and lifecast-cp" >&2
    make -j2 B="$B" "$B/lifecast-dp" "$B/lifecast-cp" >"$RUN/build.log" 2>&1 ||
      { echo "the build failed (see $RUN/build.log)"; return; }
  fi
}

start_testbed() {
  local why
  why=$(testbed_blocker)
  if [ -n "$why" ]; then
    echo "run-demo: test-bed unavailable: $why"
    return 1
  fi
  if ! B="$B" LC_CP_ARGS="$([ $CHAT -eq 0 ] && echo --no-chat)" bash scripts/testbed.sh up \
    >"$RUN/testbed.log" 2>&1; then
    echo "run-demo: test-bed did not start:"; tail -5 "$RUN/testbed.log" | sed 's/^/  /'
    B="$B" bash scripts/testbed.sh down >/dev/null 2>&1
    return 1
  fi
  if ! grep -q '^CP_PID=[0-9]' "$RUN/testbed.log" ||
     ! B="$B" bash scripts/testbed.sh cp-log | grep -q "dataplane ready"; then
    echo "run-demo: lifecast-cp did not reach the dataplane:"
    B="$B" bash scripts/testbed.sh cp-log | tail -5 | sed 's/^/  /'
    B="$B" bash scripts/testbed.sh down >/dev/null 2>&1
    return 1
  fi
  MODE=testbed
}

start_kernel() {
  local extra=()
  [ $CHAT -eq 0 ] && extra+=(--no-chat)
  [ -x "$B/lifecast-cp" ] || make -j2 B="$B" "$B/lifecast-cp" || exit 1
  "$B/lifecast-cp" -c lifecast.conf --kernel-listen "$LISTEN" --no-archive "${extra[@]}" \
    > "$RUN/lifecast-cp.log" 2>&1 &
  CPPID=$!
  for _ in $(seq 30); do
    grep -q "lifecast-cp ready" "$RUN/lifecast-cp.log" && { MODE=kernel; return 0; }
    kill -0 "$CPPID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$CPPID" 2>/dev/null
  CPPID=
  if [ $CHAT -eq 1 ]; then
    echo "run-demo: lifecast-cp did not start with chat, retrying without it"
    CHAT=0
    start_kernel
    return
  fi
  echo "run-demo: lifecast-cp failed to start:"; tail -5 "$RUN/lifecast-cp.log"
  exit 1
}

if [ $KERNEL -eq 1 ] || ! start_testbed; then
  [ $KERNEL -eq 1 ] || echo "run-demo: falling back to lifecast-cp alone on kernel sockets ($LISTEN)"
  start_kernel
fi

if [ "$MODE" = testbed ]; then
  URL="rtmp://198.18.0.2/test/demo"
  PUB=(ip netns exec lc-client)
  EXEC="sudo scripts/testbed.sh exec"
else
  URL="rtmp://${LISTEN%:*}:${LISTEN##*:}/test/demo"
  PUB=()
  EXEC=""
fi

# Demo broadcast: test pattern with a wall clock, 1 kHz tone. Restarted if it
# ever drops (e.g. server restarted), until Ctrl-C.
VF="drawtext=text='lifecast demo %{localtime\:%H\\\\\:%M\\\\\:%S}':x=20:y=20:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6"
if ! ffmpeg -nostdin -v error -f lavfi -i testsrc=size=16x16:rate=1 -frames:v 1 -vf "$VF" -f null - 2>/dev/null; then
  VF="null"  # no drawtext/font here: testsrc's own counter still shows time
fi
(
  trap 'kill $FF 2>/dev/null; exit 0' TERM INT
  while :; do
    "${PUB[@]}" ffmpeg -nostdin -v error -re -f lavfi -i "testsrc=size=640x360:rate=25" \
      -f lavfi -i "sine=frequency=1000:sample_rate=44100" -vf "$VF" \
      -c:v libx264 -preset veryfast -tune zerolatency -g 50 -b:v 1M \
      -c:a aac -b:a 96k -f flv "$URL" >> "$RUN/publisher.log" 2>&1 &
    FF=$!
    wait $FF
    sleep 1
  done
) &
PUBLOOP=$!

if [ "$MODE" = testbed ]; then
  cat <<MSG

  lifecast test-bed is up: lifecast-dp owns 198.18.0.2 (namespace lc-node, TAP port),
  lifecast-cp runs the handshakes and commands over its IPC socket.
  demo broadcast (ffmpeg in lc-client): $URL

  watch it from the client namespace:
    $EXEC ffplay $URL
    $EXEC rtmpdump -v -r $URL -o - | ffplay -
    $EXEC ffmpeg -i $URL -c copy -t 10 /tmp/demo.flv
  publish your own:
    $EXEC ffmpeg -re -i FILE -c copy -f flv rtmp://198.18.0.2/test/NAME
    keyed app: rtmp://198.18.0.2/live/testbed-secret, viewers play rtmp://198.18.0.2/live/testbed
  chat (IRC, through the exception path): $EXEC irssi -c 198.18.0.2 -p 6667
  dataplane counters: scripts/testbed.sh stats     logs: scripts/testbed.sh log | cp-log
  Ctrl-C stops everything.

MSG
  while B="$B" bash scripts/testbed.sh status >/dev/null 2>&1; do sleep 2; done
  echo "run-demo: the test-bed went down:"; B="$B" bash scripts/testbed.sh log | tail -5
else
  cat <<MSG

  lifecast-cp is serving RTMP on $LISTEN (kernel sockets), pid $CPPID
  demo broadcast: $URL (ffmpeg test pattern + clock, 1 kHz tone)

  watch it:
    ffplay $URL
    rtmpdump -v -r $URL -o - | ffplay -
  publish your own: ffmpeg -re -i FILE -c copy -f flv rtmp://$LISTEN/test/NAME
  server log: $RUN/lifecast-cp.log     Ctrl-C stops everything.

MSG
  while kill -0 "$CPPID" 2>/dev/null; do sleep 1; done
  echo "run-demo: lifecast-cp exited:"; tail -5 "$RUN/lifecast-cp.log"
fi
