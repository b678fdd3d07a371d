#!/usr/bin/env bash
# Chat over plain IRC against the real lifecast-cp: registration, JOIN and
# PRIVMSG fan-out with server-time/msgid tags, op/voice/ban/timeout/slow
# mode, flood control, message deletion, the .chat.jsonl record, and the
# `ii` client from Debian as a second real client. Ports 16660-16662.
set -u
B=${B:-build}
IRC=16660 HTTP=16661 RTMP=16662
PY=/usr/bin/python3
command -v ii >/dev/null || { echo "ii not installed"; exit 77; }
$PY -c 'import socket' || { echo "no python3"; exit 77; }

T=$(mktemp -d /tmp/lc-chat-irc.XXXXXX)
SRV_PID= II_PID=
cleanup() {
  [ -n "$II_PID" ] && kill "$II_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

cat > "$T/lc.conf" <<CONF
[chat]
record_dir = $T/archive
flood_burst = 30
flood_rate = 5
max_per_ip = 12
reg_timeout = 2s
motd = lifecast test chat
[http]
listen = 127.0.0.1:$HTTP
[archive]
# the test must not write outside its temp dir
enabled = no
[keys]
demo = s3cret
other = k2
[chat_tokens]
other = tok2
CONF

# The real daemon when it carries the chat; the stand-alone harness otherwise.
if [ -x "$B/lifecast-cp" ] && "$B/lifecast-cp" --help 2>&1 | grep -q -- --chat-listen; then
  "$B/lifecast-cp" -c "$T/lc.conf" --kernel-listen 127.0.0.1:$RTMP \
    --chat-listen 127.0.0.1:$IRC > "$T/srv.log" 2>&1 &
  echo "server: lifecast-cp"
  SERVER_KIND=cp
else
  "$B/tools/chat_server" "$T/lc.conf" 127.0.0.1:$IRC > "$T/srv.log" 2>&1 &
  echo "server: tools/chat_server (lifecast-cp without chat)"
fi
SRV_PID=$!
for i in $(seq 50); do
  grep -q "chat: listening" "$T/srv.log" && break
  kill -0 $SRV_PID 2>/dev/null || { cat "$T/srv.log"; exit 1; }
  sleep 0.1
done
grep -q "chat: listening" "$T/srv.log" || { echo "chat did not start"; cat "$T/srv.log"; exit 1; }

# ii: Debian's file-based client, joined before the scripted clients.
ii -s 127.0.0.1 -p $IRC -n iiuser -i "$T/ii" > "$T/ii.log" 2>&1 &
II_PID=$!
for i in $(seq 50); do [ -p "$T/ii/127.0.0.1/in" ] && break; sleep 0.1; done
[ -p "$T/ii/127.0.0.1/in" ] || { echo "ii did not connect"; cat "$T/ii.log"; exit 1; }
echo "/j #demo" > "$T/ii/127.0.0.1/in"
for i in $(seq 50); do [ -p "$T/ii/127.0.0.1/#demo/in" ] && break; sleep 0.1; done
[ -p "$T/ii/127.0.0.1/#demo/in" ] || { echo "ii did not join"; exit 1; }

RTMP_URL=
if [ "${SERVER_KIND:-}" = cp ] && command -v ffmpeg >/dev/null; then
  RTMP_URL="rtmp://127.0.0.1:$RTMP/live/s3cret"
fi
RTMP_URL="$RTMP_URL" IIDIR="$T/ii/127.0.0.1/#demo" ARCHIVE="$T/archive" PYTHONPATH="$LC_ROOT/tests/tools:${PYTHONPATH:-}" \
  $PY - $IRC <<'PYEOF'
import os, re, sys, time, glob, json
from chat_client import Client, check, fail
port = int(sys.argv[1])
TS = r"@time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"

# --- registration, capabilities, broadcaster token
alice = Client(port, "alice", caps="server-time message-tags echo-message multi-prefix", password="s3cret")
check(any(" 005 alice " in l and "CHANMODES=b,k,lSF,imntU" in l and "PREFIX=(ov)@+" in l for l in alice.lines), "005 ISUPPORT")
check(any(l.endswith("CAP * ACK :server-time message-tags echo-message multi-prefix") for l in alice.lines), "CAP ACK")
bob = Client(port, "bob")
carol = Client(port, "carol", caps="server-time")
dup = Client(port, "dup", register=False)
dup.send("NICK bob", "NICK 9bad", "USER d 0 * :d", "JOIN #demo")
dup.expect(r"^:lifecast\.chat 433 \* bob :Nickname is already in use$")
dup.expect(r"^:lifecast\.chat 432 \* 9bad :Erroneous nickname$")
dup.expect(r"^:lifecast\.chat 451 \* :You have not registered$")
dup.close()

alice.send("JOIN #demo")
alice.expect(TS + r" :alice!alice@127\.0\.0\.1 JOIN #demo$")
alice.expect(TS + r" :lifecast\.chat MODE #demo \+o alice$")
alice.expect(r" 332 alice #demo :demo \| offline$")
l = alice.expect(r" 353 alice = #demo :")
check("@alice" in l and "iiuser" in l, "NAMES lists the broadcaster as op and the ii user")
bob.send("JOIN #demo")
bob.expect(r"^:bob!bob@127\.0\.0\.1 JOIN #demo$")
carol.send("JOIN #demo", "JOIN #nosuch")
carol.expect(TS + r" :carol!carol@127\.0\.0\.1 JOIN #demo$")
carol.expect(r" 403 carol #nosuch :No such channel$")

# --- fan-out with tags per capability
bob.send("PRIVMSG #demo :hello all")
la = alice.expect(r":bob!bob@127\.0\.0\.1 PRIVMSG #demo :hello all$")
m = re.match(TS + r";msgid=([0-9a-f]+-\d+) :bob!bob@127\.0\.0\.1 PRIVMSG #demo :hello all$", la)
check(m is not None, "alice (server-time+message-tags) gets time and msgid: " + la)
bob_msgid = m.group(1)
carol.expect(TS + r" :bob!bob@127\.0\.0\.1 PRIVMSG #demo :hello all$")
bob.absent(r"PRIVMSG #demo :hello all")
alice.send("PRIVMSG #demo :welcome bob")
alice.expect(TS + r";msgid=\S+ :alice!alice@127\.0\.0\.1 PRIVMSG #demo :welcome bob$")  # echo-message
bob.expect(r"^:alice!alice@127\.0\.0\.1 PRIVMSG #demo :welcome bob$")

# --- ii sees the channel traffic and can talk
out = os.path.join(os.environ["IIDIR"], "out")
deadline = time.time() + 5
while time.time() < deadline:
    if os.path.exists(out) and "<bob> hello all" in open(out).read():
        break
    time.sleep(0.1)
check("<bob> hello all" in open(out).read(), "ii received bob's message")
with open(os.path.join(os.environ["IIDIR"], "in"), "w") as f:
    f.write("greetings from ii\n")
bob.expect(r"^:iiuser!\S+@127\.0\.0\.1 PRIVMSG #demo :greetings from ii$")
check(True, "ii's message fanned out to bob")

# --- moderated, voice, op checks
alice.send("MODE #demo +m")
bob.expect(r"^:alice!alice@127\.0\.0\.1 MODE #demo \+m$")
bob.send("PRIVMSG #demo :can I talk")
bob.expect(r" 404 bob #demo :Cannot send to channel \(\+m\)$")
carol.absent(r"can I talk")
bob.send("MODE #demo +o bob")
bob.expect(r" 482 bob #demo :You're not channel operator$")
alice.send("MODE #demo +v bob")
bob.expect(r":alice!alice@127\.0\.0\.1 MODE #demo \+v bob$")
bob.send("PRIVMSG #demo :voiced now")
carol.expect(r":bob!bob@127\.0\.0\.1 PRIVMSG #demo :voiced now$")
alice.send("MODE #demo -m", "MODE #demo")
alice.expect(r" 324 alice #demo \+nt$")

# --- ban
alice.send("MODE #demo +b carol")
carol.expect(r":alice!alice@127\.0\.0\.1 MODE #demo \+b carol!\*@\*$")
carol.send("PRIVMSG #demo :am I banned")
carol.expect(r" 404 carol #demo :Cannot send to channel \(you are banned or timed out\)$")
carol.send("PART #demo", "JOIN #demo")
carol.expect(r" 474 carol #demo :Cannot join channel \(\+b\)$")
alice.send("MODE #demo +b", "MODE #demo -b carol!*@*")
alice.expect(r" 367 alice #demo carol!\*@\* alice \d+$")
alice.expect(r" 368 alice #demo :End of channel ban list$")
carol.send("JOIN #demo")
carol.expect(r":carol!carol@127\.0\.0\.1 JOIN #demo$")

# --- timeout (a ban that expires) by the broadcaster's moderator
alice.send("MODE #demo +o carol")
carol.expect(r"MODE #demo \+o carol$")
carol.send("TIMEOUT #demo bob 2 :cool down")
bob.expect(r"^:lifecast\.chat MODE #demo \+b bob!\*@\*$")
bob.expect(r"^:lifecast\.chat NOTICE #demo :bob has been timed out for 2 seconds \(cool down\)$")
bob.send("MODE #demo -v bob")  # not op: refused, stays voiced but banned
bob.send("PRIVMSG #demo :muted?")
bob.expect(r" 404 bob #demo :Cannot send to channel \(you are banned or timed out\)$")
bob.expect(r"^:lifecast\.chat MODE #demo -b bob!\*@\*$", timeout=5)
bob.send("PRIVMSG #demo :back again")
alice.expect(r":bob!bob@127\.0\.0\.1 PRIVMSG #demo :back again$")
carol.send("TIMEOUT #demo alice 5")
carol.expect(r" 482 carol #demo :You cannot time out the broadcaster$")

# --- slow mode
dave = Client(port, "dave")
dave.send("JOIN #demo")
dave.expect(r"JOIN #demo$")
alice.send("MODE #demo +S 3")
dave.expect(r"MODE #demo \+S 3$")
dave.send("PRIVMSG #demo :first", "PRIVMSG #demo :second")
alice.expect(r":dave!dave@127\.0\.0\.1 PRIVMSG #demo :first$")
dave.expect(r" 404 dave #demo :Cannot send to channel \(slow mode: wait 3 s\)$")
alice.absent(r"PRIVMSG #demo :second")
alice.send("PRIVMSG #demo :ops are exempt 1", "PRIVMSG #demo :ops are exempt 2")
dave.expect(r"ops are exempt 1$")
dave.expect(r"ops are exempt 2$")
alice.send("MODE #demo -S")

# --- topic (the stream title; the live state is appended) and KICK
dave.send("TOPIC #demo :my title")
dave.expect(r" 482 dave #demo :You're not channel operator$")
alice.send("TOPIC #demo :Speedrun night")
dave.expect(r":alice!alice@127\.0\.0\.1 TOPIC #demo :Speedrun night \| offline$")
alice.send("KICK #demo dave :enough")
dave.expect(r"^:alice!alice@127\.0\.0\.1 KICK #demo dave :enough$")
carol.expect(r":alice!alice@127\.0\.0\.1 KICK #demo dave :enough$")
dave.send("PRIVMSG #demo :still here?")
dave.expect(r" 404 dave #demo :Cannot send to channel \(no external messages\)$")
dave.send("JOIN #demo")
dave.expect(r" 332 dave #demo :Speedrun night \| offline$")

# --- message deletion
alice.send("CLEARMSG #demo " + bob_msgid)
alice.expect(r"^" + TS + r";target-msg-id=" + re.escape(bob_msgid) + r";login=bob :lifecast\.chat CLEARMSG #demo :$")
dave.expect(r"^:lifecast\.chat NOTICE #demo :A message from bob was deleted by alice$")
bob.send("CLEARMSG #demo " + bob_msgid)
bob.expect(r" 482 bob #demo :You're not channel operator$")

# --- input limits and errors
bob.send("PRIVMSG #demo :" + "x" * 600)
bob.expect(r" 417 bob :Input line was too long$")
bob.send("FROBNICATE", "JOIN bad", "PRIVMSG #demo")
bob.expect(r" 421 bob FROBNICATE :Unknown command$")
bob.expect(r" 476 bob bad :Bad Channel Mask$")
bob.expect(r" 412 bob :No text to send$")
bob.send("WHOIS alice", "PING :tok123")
bob.expect(r" 311 bob alice alice 127\.0\.0\.1 \* :Real alice$")
bob.expect(r" 319 bob alice :@#demo$")
bob.expect(r" 318 bob alice :End of /WHOIS list$")
bob.expect(r"^:lifecast\.chat PONG lifecast\.chat :tok123$")

# --- flood control: a burst over the bucket disconnects
eve = Client(port, "eve")
eve.send("JOIN #demo")
eve.expect(r"JOIN #demo$")
eve.send(*["PRIVMSG #demo :flood %d" % i for i in range(60)])
eve.expect(r"^ERROR :Closing Link: 127\.0\.0\.1 \(Excess Flood\)$")
check(eve.closed(), "flooder disconnected")
alice.expect(r":eve!eve@127\.0\.0\.1 QUIT :Excess Flood$")
n = sum(1 for l in alice.lines if "PRIVMSG #demo :flood" in l)
check(0 < n <= 30, "flood messages before the cut bounded by the burst (%d)" % n)

# --- chat token from [chat_tokens] wins over the stream key
bc = Client(port, "bc", password="tok2")
bc.send("JOIN #other")
bc.expect(r":lifecast\.chat MODE #other \+o bc$")
nb = Client(port, "nb", password="k2")
nb.send("JOIN #other")
nb.expect(r"JOIN #other$")
nb.absent(r"MODE #other \+o nb")

# --- QUIT fan-out
bob.send("QUIT :bye now")
bob.expect(r"^ERROR :Closing Link: 127\.0\.0\.1 \(Quit\)$")
alice.expect(r":bob!bob@127\.0\.0\.1 QUIT :Quit: bye now$")

# --- registration timeout: a silent connection is dropped with a reason
idle = Client(port, "idle", register=False)
idle.expect(r"^ERROR :Closing Link: 127\.0\.0\.1 \(Registration timeout\)$", timeout=5)
check(idle.closed(), "unregistered connection closed after reg_timeout")

# --- per-IP connection limit (12): alice carol dave bc nb + ii = 6 open now
extra = [Client(port, "x%d" % i) for i in range(6)]
over = Client(port, "x6", register=False)
over.expect(r"^ERROR :Closing Link: too many connections from your address$")
check(over.closed(), "13th connection from 127.0.0.1 refused")
for x in extra:
    x.send("QUIT")
    x.closed()

# --- the record next to the archive
files = glob.glob(os.path.join(os.environ["ARCHIVE"], "live", "demo", "*.chat.jsonl"))
check(len(files) == 1, "one .chat.jsonl segment for #demo: %s" % files)
recs = [json.loads(l) for l in open(files[0])]
hello = [r for r in recs if r.get("msg") == "hello all"]
check(len(hello) == 1 and hello[0]["nick"] == "bob" and hello[0]["action"] == "none"
      and hello[0]["msgid"] == bob_msgid and re.match(r"\d{4}-\d\d-\d\dT", hello[0]["time"]),
      "record has time, nick, msgid, message, action")
check(any(r["action"] == "delete" and r["msgid"] == bob_msgid for r in recs), "deletion recorded")
check(any(r["action"] == "timeout" and r["nick"] == "bob" for r in recs), "timeout recorded")
print("RESULT chat_irc_records %d" % len(recs))

# --- a live stream shows in the topic (real RTMP publish through lifecast-cp)
if os.environ.get("RTMP_URL"):
    import subprocess
    ff = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i",
                           "testsrc=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-g", "10",
                           "-f", "flv", os.environ["RTMP_URL"]])
    alice.expect(r":lifecast\.chat TOPIC #demo :Speedrun night \| LIVE$", timeout=10)
    ff.wait(timeout=30)
    alice.expect(r":lifecast\.chat TOPIC #demo :Speedrun night \| offline$", timeout=15)
    check(True, "topic follows the stream: LIVE while publishing, offline after")
PYEOF
rc=$?
[ $rc -eq 0 ] || { echo "--- server log"; tail -20 "$T/srv.log"; }
exit $rc
