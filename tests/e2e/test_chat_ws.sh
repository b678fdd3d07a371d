#!/usr/bin/env bash
# IRC over WebSocket on the control plane's HTTP port (/chat): a
# python3-websockets client and a plain IRC client exchange messages through
# the real lifecast-cp; plus the HTTP router's 404 and 426 answers.
# Ports 16666-16668.
set -u
B=${B:-build}
IRC=16666 HTTP=16667 RTMP=16668
PY=/usr/bin/python3
$PY -c 'import websockets' 2>/dev/null || { echo "python3-websockets missing"; exit 77; }
T=$(mktemp -d /tmp/lc-chat-ws.XXXXXX)
SRV_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cat > "$T/lc.conf" <<CONF
[chat]
record_dir = $T/archive
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

PYTHONPATH="$LC_ROOT/tests/tools:${PYTHONPATH:-}" $PY - $IRC $HTTP <<'PYEOF'
import asyncio, re, sys, socket
import websockets
from chat_client import Client, check, fail
irc, http = int(sys.argv[1]), int(sys.argv[2])

def http_get(path, extra=""):
    s = socket.create_connection(("127.0.0.1", http), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, extra)).encode())
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data.decode(errors="replace")

r = http_get("/nope")
check(r.startswith("HTTP/1.1 404 Not Found\r\n") and "Connection: close" in r, "unknown path is 404")
r = http_get("/chat")
check(r.startswith("HTTP/1.1 426 Upgrade Required\r\n"), "plain GET /chat is 426")
r = http_get("/chat", "X: " + "y" * 9000 + "\r\n")
check(r.startswith("HTTP/1.1 431 "), "oversized request head is 431")

async def recv_until(ws, pattern, timeout=5):
    rx = re.compile(pattern)
    seen = []
    try:
        while True:
            m = await asyncio.wait_for(ws.recv(), timeout)
            for line in m.split("\r\n"):
                if not line:
                    continue
                seen.append(line)
                if rx.search(line):
                    return line
    except asyncio.TimeoutError:
        fail("ws: no frame matching %r; saw:\n  %s" % (pattern, "\n  ".join(seen[-15:])))

async def main():
    async with websockets.connect("ws://127.0.0.1:%d/chat" % http, subprotocols=["text.ircv3.net"]) as ws:
        check(ws.subprotocol == "text.ircv3.net", "subprotocol text.ircv3.net negotiated")
        await ws.send("CAP LS 302")
        await recv_until(ws, r"CAP \* LS :message-tags server-time")
        await ws.send("CAP REQ :server-time")
        await ws.send("NICK webby")
        await ws.send("USER webby 0 * :Web User")
        await ws.send("CAP END")
        l = await recv_until(ws, r" 001 webby ")
        check(not l.endswith("\r\n") and l == ":lifecast.chat 001 webby :Welcome to the lifecast chat network webby!webby@127.0.0.1",
              "one IRC line per text frame, no CRLF: " + l)
        await ws.send("JOIN #demo")
        await recv_until(ws, r" 366 webby #demo ")
        plain = Client(irc, "plainy")
        plain.send("JOIN #demo")
        plain.expect(r" 353 plainy = #demo :webby plainy$")
        await recv_until(ws, r"^@time=\S+ :plainy!plainy@127\.0\.0\.1 JOIN #demo$")
        # plain -> websocket
        plain.send("PRIVMSG #demo :hello websocket")
        l = await recv_until(ws, r"PRIVMSG #demo")
        check(re.match(r"^@time=\d{4}-\S+Z :plainy!plainy@127\.0\.0\.1 PRIVMSG #demo :hello websocket$", l) is not None,
              "websocket client got the plain client's message: " + l)
        # websocket -> plain, two lines in one message with CRLF inside
        await ws.send("PRIVMSG #demo :hello plain\r\nPRIVMSG #demo :second line")
        plain.expect(r"^:webby!webby@127\.0\.0\.1 PRIVMSG #demo :hello plain$")
        plain.expect(r"^:webby!webby@127\.0\.0\.1 PRIVMSG #demo :second line$")
        check(True, "plain client got both websocket lines")
        await ws.send("QUIT :leaving")
        await recv_until(ws, r"^ERROR :Closing Link: 127\.0\.0\.1 \(Quit\)$")
        plain.expect(r"^:webby!webby@127\.0\.0\.1 QUIT :Quit: leaving$")
        check(True, "websocket QUIT fanned out to the plain client")
    # a WebSocket ping is answered by the server (wslay)
    async with websockets.connect("ws://127.0.0.1:%d/chat" % http) as ws:
        pong = await ws.ping()
        await asyncio.wait_for(pong, 5)
        check(True, "websocket ping answered")

asyncio.run(main())
PYEOF
