#!/usr/bin/env bash
# Send-queue limit: a client that stops reading is disconnected with
# "SendQ exceeded" once its unsent output passes [chat] sendq, while the
# channel keeps flowing to everyone else. Ports 16669-16671.
set -u
B=${B:-build}
IRC=16669 HTTP=16670 RTMP=16671
PY=/usr/bin/python3
T=$(mktemp -d /tmp/lc-chat-limits.XXXXXX)
SRV_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cat > "$T/lc.conf" <<CONF
[chat]
record = no
sendq = 8k
sndbuf = 16k
flood_burst = 40
[http]
listen = 127.0.0.1:$HTTP
[archive]
# the test must not write outside its temp dir
enabled = no
[keys]
demo = s3cret
CONF
. "$LC_ROOT/tests/e2e/chat_lib.bash"
chat_start_server

PYTHONPATH="$LC_ROOT/tests/tools:${PYTHONPATH:-}" $PY - $IRC <<'PYEOF'
import socket, sys, time
from chat_client import Client, check, fail
port = int(sys.argv[1])
watch = Client(port, "watch")
watch.send("JOIN #demo")
watch.expect(r" 366 watch #demo ")
# the slow reader: tiny receive buffer, registers, joins, then never reads
slow = socket.socket()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
slow.connect(("127.0.0.1", port))
slow.sendall(b"NICK slow\r\nUSER slow 0 * :slow\r\nJOIN #demo\r\n")
watch.expect(r":slow!slow@127\.0\.0\.1 JOIN #demo$")
senders = [Client(port, "s%d" % i) for i in range(4)]
for s in senders:
    s.send("JOIN #demo")
    s.expect(r" 366 %s #demo " % s.nick)
pad = "x" * 400
total = 0
for rnd in range(35):
    for s in senders:
        s.send("PRIVMSG #demo :%s %d %s" % (s.nick, rnd, pad))
        total += 1
    time.sleep(0.02)
watch.expect(r":slow!slow@127\.0\.0\.1 QUIT :SendQ exceeded$", timeout=10)
check(True, "slow reader disconnected with SendQ exceeded")
deadline = time.time() + 10
while sum(1 for l in watch.lines if " PRIVMSG #demo :s" in l) < total and time.time() < deadline:
    watch._fill(deadline)
got = sum(1 for l in watch.lines if " PRIVMSG #demo :s" in l)
check(got == total, "the reading member got all %d messages (%d)" % (total, got))
watch.send("STATS h")
l = watch.expect(r" 249 watch h :clients=")
check("sendq_kills=1" in l, "server counted one send-queue kill: " + l)
PYEOF
