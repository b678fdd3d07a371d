#!/usr/bin/env bash
# lifecast-cp limits on kernel sockets: garbage input, stalled handshake,
# command timeout, oversized/malformed messages, wrong stream key (BadName),
# publish of a name already live, same-key takeover, slow viewers (one skips,
# one is disconnected) while a normal viewer still receives every frame, and
# max_connections. Each bad client affects only its own connection.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
PORT="${LC_LIMITS_PORT:-19352}"
PORT2=$((PORT + 1))
CP="$B/lifecast-cp"
RC="$B/tools/cp_rtmpc"
for t in ffmpeg ffprobe python3; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$CP" ] || { echo "FAIL: $CP not built"; exit 1; }
[ -x "$RC" ] || { echo "FAIL: $RC not built (make $RC)"; exit 1; }

W=$(mktemp -d /tmp/lc-limits.XXXXXX)
pids=()
CPPID=; CP2PID=
cleanup() {
  for p in "${pids[@]}" $CPPID $CP2PID; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
rc=0
fail() { echo "FAIL: $*"; rc=1; }
die() { echo "FAIL: $*"; echo "--- server log (tail)"; tail -30 "$W/cp.log"; exit 1; }

cat > "$W/lc.conf" <<CONF
[rtmp]
apps = live:keyed test:open
handshake_timeout = 1s
command_timeout = 2s
idle_timeout = 4s
max_connections = 64
viewer_skip_threshold = 256k
viewer_hard_limit = 8M
viewer_sndbuf = 64k
gop_cache_max = 16M
publish_grace = 1s
[keys]
alice = s3cret
bob = hunter2
CONF

start_cp() { # conf port log; pid in $!
  "$CP" -c "$1" --kernel-listen "127.0.0.1:$2" --no-chat > "$3" 2>&1 &
}
wait_listen() {
  for _ in $(seq 50); do grep -q "rtmp listening" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
start_cp "$W/lc.conf" "$PORT" "$W/cp.log"; CPPID=$!
wait_listen "$W/cp.log" || die "server did not start"

# Raw-socket probes. Prints the time until the server closed, in ms, or
# "open" when it did not close within 6 s.
probe() { # mode
  python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(6)
def handshake():
    s.sendall(b"\x03" + bytes(1536))
    got = b""
    while len(got) < 1 + 2 * 1536:
        d = s.recv(65536)
        if not d: raise SystemExit("closed during handshake")
        got += d
    s.sendall(got[1:1537])  # C2 = echo of S1
if mode == "garbage":
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
elif mode == "stall":
    s.sendall(b"\x03\x00\x00")   # C0 and 2 bytes of C1, then nothing
elif mode == "idle":
    handshake()                  # then no command at all
elif mode == "badchunk":
    handshake()
    # fmt 0 on csid 3, length 0xFFFFFF (over max_message_size), type 20
    s.sendall(bytes([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0]) + b"x" * 100)
elif mode == "badamf":
    handshake()
    body = b"\x02\x00\x07connect\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x03\x00\x03app\x11\x22"
    s.sendall(bytes([0x03, 0, 0, 0, 0, 0, len(body), 20, 0, 0, 0, 0]) + body)
t0 = time.time()
try:
    while True:
        d = s.recv(65536)
        if not d: break
except socket.timeout:
    print("open"); sys.exit(0)
except ConnectionResetError:
    pass
print(int((time.time() - t0) * 1000))
PY
}

# 1. garbage instead of a handshake: closed at once
t=$(probe garbage); echo "garbage handshake: closed after ${t} ms"
[ "$t" != open ] && [ "$t" -lt 1000 ] || fail "garbage handshake not closed at once ($t)"
grep -q "handshake failed" "$W/cp.log" || fail "no 'handshake failed' log line"
# 2. stalled handshake: handshake_timeout (1 s)
t=$(probe stall); echo "RESULT limits handshake_timeout_ms=$t (configured 1000)"
[ "$t" != open ] && [ "$t" -ge 900 ] && [ "$t" -lt 2500 ] || fail "stalled handshake not closed by the timeout ($t)"
grep -q "closed: handshake timeout" "$W/cp.log" || fail "no 'handshake timeout' log line"
# 3. handshake done, no command: command_timeout (2 s)
t=$(probe idle); echo "RESULT limits command_timeout_ms=$t (configured 2000)"
[ "$t" != open ] && [ "$t" -ge 1900 ] && [ "$t" -lt 3500 ] || fail "idle session not closed by the command timeout ($t)"
grep -q "closed: command timeout" "$W/cp.log" || fail "no 'command timeout' log line"
# 4. oversized chunk message and malformed AMF: that connection only
t=$(probe badchunk); echo "oversized message: closed after ${t} ms"
[ "$t" != open ] && [ "$t" -lt 1000 ] || fail "oversized message not rejected ($t)"
t=$(probe badamf); echo "malformed AMF command: closed after ${t} ms"
[ "$t" != open ] && [ "$t" -lt 1000 ] || fail "malformed command not rejected ($t)"
grep -q "protocol error" "$W/cp.log" || fail "no 'protocol error' log line"
grep -q "malformed command" "$W/cp.log" || fail "no 'malformed command' log line"
kill -0 "$CPPID" || die "server died on bad input"

# 5. stream keys. Wrong key: BadName and the connection is closed.
out=$("$RC" 127.0.0.1 "$PORT" live wrongkey publish --expect NetStream.Publish.BadName --seconds 5)
echo "$out" | sed 's/^/  wrong key: /'
echo "$out" | grep -q "STATUS NetStream.Publish.BadName" || fail "wrong key: no BadName"
echo "$out" | grep -q "CLOSED" || fail "wrong key: connection not closed"
grep -q "publish rejected: wrong stream key" "$W/cp.log" || fail "no wrong-key log line"
# ffmpeg sees the refusal too
timeout 10 ffmpeg -nostdin -v error -re -f lavfi -i testsrc=size=160x120:rate=25 -t 3 \
  -c:v libx264 -preset ultrafast -f flv "rtmp://127.0.0.1:$PORT/live/nope" > "$W/ffbad.log" 2>&1 \
  && fail "ffmpeg publish with a wrong key succeeded"
echo "  ffmpeg wrong key: $(head -c 200 "$W/ffbad.log" | tr '\n' ' ')"

# Reference for the slow-viewer part: ~1.3 MB/s so buffers fill fast.
ffmpeg -nostdin -v error -f lavfi -i "testsrc=size=640x360:rate=25,noise=alls=30:allf=t+u" \
  -f lavfi -i sine -t 12 -c:v libx264 -preset ultrafast -qp 18 -g 25 -c:a aac -f flv "$W/ref.flv" \
  || die "reference encode failed"
ffmpeg -nostdin -v error -i "$W/ref.flv" -map 0:v -c copy -f framemd5 "$W/ref.md5"
echo "reference: $(stat -c %s "$W/ref.flv") bytes, $(grep -vc '^#' "$W/ref.md5") video packets"

# Right key publishes the channel; viewers play the channel name.
timeout 30 ffmpeg -nostdin -v error -re -i "$W/ref.flv" -c copy -f flv \
  "rtmp://127.0.0.1:$PORT/live/s3cret" > "$W/pub.log" 2>&1 &
PUB=$!; pids+=($PUB)
sleep 1.5
grep -q "stream=live/alice publish accepted" "$W/cp.log" || fail "keyed publish not accepted"

# normal viewer (must get every frame), one that stalls 3 s then resumes
# (skips), one that stops reading for good (disconnected)
timeout 30 ffmpeg -nostdin -v error -i "rtmp://127.0.0.1:$PORT/live/alice" -c copy -t 8 \
  -y "$W/good.flv" > "$W/good.log" 2>&1 &
GOOD=$!; pids+=($GOOD)
"$RC" 127.0.0.1 "$PORT" live alice play --rcvbuf 8192 --stall-after 200000 --hold 3 \
  --seconds 6 --resume 4 > "$W/skip.out" 2>&1 &
SKIP=$!; pids+=($SKIP)
"$RC" 127.0.0.1 "$PORT" live alice play --rcvbuf 8192 --stall-after 200000 --hold 8 \
  --seconds 6 > "$W/stuck.out" 2>&1 &
STUCK=$!; pids+=($STUCK)

# publishing the live channel's name (not its key) is refused
sleep 1
out=$("$RC" 127.0.0.1 "$PORT" live alice publish --expect NetStream.Publish.BadName --seconds 5)
echo "$out" | grep -q "STATUS NetStream.Publish.BadName" || fail "publish of the channel name was not refused"

wait $GOOD $SKIP $STUCK
echo "  skip viewer: $(tr '\n' ' ' < "$W/skip.out")"
echo "  stuck viewer: $(tr '\n' ' ' < "$W/stuck.out")"
grep -q "^CLOSED" "$W/stuck.out" || fail "stuck viewer was not disconnected"
grep -Eq "viewer kicked|viewer stalled" "$W/cp.log" || fail "no slow-viewer disconnect logged"
grep -q "viewer skipped" "$W/cp.log" || fail "no skip logged for the temporarily stalled viewer"
grep -q "first_key=1" "$W/skip.out" || fail "skip viewer did not start on a keyframe"
resumed=$(sed -n 's/^RESUMED msgs=\([0-9]*\).*/\1/p' "$W/skip.out")
[ "${resumed:-0}" -gt 50 ] || fail "skip viewer got too little after resuming (${resumed:-0})"

# the normal viewer decodes and holds a contiguous run of the published frames
errs=$(ffmpeg -nostdin -v error -i "$W/good.flv" -f null - 2>&1)
[ -z "$errs" ] || fail "normal viewer decode errors: $(echo "$errs" | head -2)"
ffmpeg -nostdin -v error -i "$W/good.flv" -map 0:v -c copy -f framemd5 "$W/good.md5"
m=$(python3 - "$W/ref.md5" "$W/good.md5" <<'PY'
import sys
def load(p):
    return [tuple(x.strip() for x in l.split(',')[4:6]) for l in open(p) if not l.startswith('#')]
ref, got = load(sys.argv[1]), load(sys.argv[2])
s = ref.index(got[0]) if got and got[0] in ref else -1
n = 0
while s >= 0 and n < len(got) and s + n < len(ref) and ref[s + n] == got[n]:
    n += 1
print(len(got), n)
PY
)
set -- $m
echo "RESULT limits normal_viewer frames=$1 matched=$2 (while two slow viewers stalled)"
[ "$1" -ge 190 ] && [ "$1" -eq "$2" ] || fail "normal viewer missed frames ($m)"
wait $PUB 2>/dev/null

# same-key takeover: the new publisher gets Publish.Start, the old one is cut
timeout 30 ffmpeg -nostdin -v error -re -f lavfi -i testsrc=size=160x120:rate=25 -t 20 \
  -c:v libx264 -preset ultrafast -f flv "rtmp://127.0.0.1:$PORT/live/hunter2" > "$W/pub2.log" 2>&1 &
PUB2=$!; pids+=($PUB2)
sleep 1.5
out=$("$RC" 127.0.0.1 "$PORT" live hunter2 publish --expect NetStream.Publish.Start --seconds 3)
echo "$out" | grep -q "STATUS NetStream.Publish.Start" || fail "same-key takeover refused"
grep -q "stream=live/bob publish accepted (takeover)" "$W/cp.log" || fail "no takeover logged"
grep -q "closed: replaced by a publisher with the same key" "$W/cp.log" || fail "old publisher not cut"
for _ in $(seq 30); do kill -0 $PUB2 2>/dev/null || break; sleep 0.1; done
kill -0 $PUB2 2>/dev/null && fail "replaced ffmpeg publisher still running"
wait $PUB2 2>/dev/null
pids=()

# 6. viewers of a stream that is not live: wait, get PublishNotify when it
# starts and UnpublishNotify when its publisher is gone past the grace
# period; one that gives up while waiting leaves the server unharmed
"$RC" 127.0.0.1 "$PORT" test waiting play --seconds 1 > /dev/null
"$RC" 127.0.0.1 "$PORT" test later play --expect NetStream.Play.UnpublishNotify --seconds 10 \
  > "$W/wait.out" 2>&1 &
WAITV=$!; pids+=($WAITV)
sleep 0.5
"$RC" 127.0.0.1 "$PORT" test later publish --expect NetStream.Publish.Start --seconds 3 > /dev/null \
  || fail "publish to the open app refused"
wait $WAITV || fail "waiting viewer did not get UnpublishNotify"
echo "  waiting viewer: $(tr '\n' ' ' < "$W/wait.out")"
grep -q "STATUS NetStream.Play.PublishNotify" "$W/wait.out" || fail "waiting viewer got no PublishNotify"
grep -q "stream=test/later id=[0-9]* offline" "$W/cp.log" || fail "stream did not go offline after the grace period"
pids=()
kill -0 "$CPPID" || die "server died"

# 7. max_connections on a second instance
sed -e 's/^max_connections = .*/max_connections = 3/' -e 's/^handshake_timeout = .*/handshake_timeout = 10s/' \
  "$W/lc.conf" > "$W/lc2.conf"
start_cp "$W/lc2.conf" "$PORT2" "$W/cp2.log"; CP2PID=$!
wait_listen "$W/cp2.log" || die "second server did not start"
res=$(python3 - "$PORT2" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port))
extra.settimeout(2)
try:
    refused = extra.recv(1) == b""
except socket.timeout:
    refused = False
except ConnectionResetError:
    refused = True
# the three admitted ones still work: a C0+C1 gets S0S1S2
ok = 0
for k in keep:
    k.settimeout(2)
    k.sendall(b"\x03" + bytes(1536))
    got = b""
    try:
        while len(got) < 3073:
            d = k.recv(65536)
            if not d: break
            got += d
    except socket.timeout:
        pass
    ok += len(got) >= 3073
print("refused" if refused else "admitted", ok)
PY
)
echo "RESULT limits max_connections=3 fourth=$(echo $res | cut -d' ' -f1) admitted_working=$(echo $res | cut -d' ' -f2)"
[ "$res" = "refused 3" ] || fail "max_connections not enforced ($res)"
grep -q "refused: max_connections" "$W/cp2.log" || fail "no max_connections log line"

# counters and clean exit
kill -USR1 "$CPPID"; sleep 0.3
st=$(grep "stats global msgs_in" "$W/cp.log" | tail -1)
echo "RESULT limits ${st#*stats }"
sv=$(grep "stats server" "$W/cp.log" | tail -1)
echo "RESULT limits ${sv#*stats }"
for p in $CPPID $CP2PID; do kill -TERM "$p"; done
for p in $CPPID $CP2PID; do wait "$p" || fail "server $p exit status $?"; done
CPPID=; CP2PID=
grep -q bye "$W/cp.log" || fail "no clean shutdown"
[ $rc -eq 0 ] && echo PASS || { echo "--- server log (tail)"; tail -40 "$W/cp.log"; }
exit $rc
