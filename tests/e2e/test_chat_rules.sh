#!/usr/bin/env bash
# Hyperscan moderation against the real lifecast-cp: a generated 1,000-rule
# file (block / mask / hold-for-review / timeout-user) compiled into one
# database, then a reload with a broken pattern (old rules stay, the error
# names the line) and a good reload (new rules win). Ports 16663-16665.
set -u
B=${B:-build}
IRC=16663 HTTP=16664 RTMP=16665
PY=/usr/bin/python3
T=$(mktemp -d /tmp/lc-chat-rules.XXXXXX)
SRV_PID=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# 1,000 rules: 997 generated words plus three hand-written ones.
$PY - "$T/rules" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("# generated moderation rules\n")
    for i in range(997):
        action = ["block", "mask"][i % 2]
        f.write("/badword%04d/i %s\n" % (i, action))
    f.write("/review\\s+me/i hold-for-review\n")
    f.write("/sp[a@]m{3,}/i timeout-user 2\n")
    f.write("/darn(it)?/i mask\n")
PYEOF
[ "$(grep -c '^/' "$T/rules")" -eq 1000 ] || { echo "rule file is not 1000 rules"; exit 1; }

cat > "$T/lc.conf" <<CONF
[chat]
record_dir = $T/archive
flood_burst = 100
[http]
listen = 127.0.0.1:$HTTP
[archive]
# the test must not write outside its temp dir
enabled = no
[keys]
demo = s3cret
CONF

if [ -x "$B/lifecast-cp" ] && "$B/lifecast-cp" --help 2>&1 | grep -q -- --chat-rules; then
  "$B/lifecast-cp" -c "$T/lc.conf" --kernel-listen 127.0.0.1:$RTMP --chat-listen 127.0.0.1:$IRC \
    --chat-rules "$T/rules" > "$T/srv.log" 2>&1 &
  echo "server: lifecast-cp"
else
  "$B/tools/chat_server" "$T/lc.conf" 127.0.0.1:$IRC "$T/rules" > "$T/srv.log" 2>&1 &
  echo "server: tools/chat_server"
fi
SRV_PID=$!
wait_log() { # pattern, tries of 0.1 s
  for i in $(seq "$2"); do grep -q "$1" "$T/srv.log" && return 0; kill -0 $SRV_PID 2>/dev/null || break; sleep 0.1; done
  echo "log never matched: $1"; cat "$T/srv.log"; return 1
}
start=$(date +%s%N)
wait_log "rules loaded: 1000 rules" 600 || exit 1
echo "RESULT chat_rules_compile_ms $(( ($(date +%s%N) - start) / 1000000 )) (1000 rules, incl. start-up)"

RULES="$T/rules" SRV_LOG="$T/srv.log" SRV_PID=$SRV_PID ARCHIVE="$T/archive" \
PYTHONPATH="$LC_ROOT/tests/tools:${PYTHONPATH:-}" $PY - $IRC <<'PYEOF'
import os, re, sys, time, glob, json, signal
from chat_client import Client, check, fail
port = int(sys.argv[1])
mod = Client(port, "mod", password="s3cret")
u = Client(port, "user1")
w = Client(port, "watcher", caps="message-tags")
for c in (mod, u, w):
    c.send("JOIN #demo")
    c.expect(r" 366 %s #demo " % c.nick)

def said(text):
    u.send("PRIVMSG #demo :" + text)

# block: the sender is told, nobody receives it
said("you BADWORD0002 you")
u.expect(r" 404 user1 #demo :Cannot send to channel \(message blocked by moderation\)$")
# mask: the matched span is replaced, byte for byte
said("oh badword0995 and DarnIt!")
l = w.expect(r"PRIVMSG #demo :")
check(l.endswith(":user1!user1@127.0.0.1 PRIVMSG #demo :oh *********** and ******!"), "masked delivery: " + l)
w.absent(r"BADWORD0002")
# hold-for-review: ops see it, others do not until APPROVE
said("please review   me now")
u.expect(r"NOTICE user1 :Your message to #demo is held for review$")
h = mod.expect(r"NOTICE #demo :\[held (\S+) rule 999\] <user1> please review   me now$")
msgid = re.search(r"\[held (\S+) ", h).group(1)
w.absent(r"please review")
mod.send("APPROVE #demo " + msgid)
w.expect(r"^@msgid=" + re.escape(msgid) + r" :user1!user1@127\.0\.0\.1 PRIVMSG #demo :please review   me now$")
# timeout-user: dropped and muted for the rule's 2 s
said("buy spammmm")
u.expect(r"^:lifecast\.chat MODE #demo \+b user1!\*@\*$")
u.expect(r"#demo :user1 has been timed out for 2 seconds \(moderation rule\)$")
said("clean but muted")
u.expect(r" 404 user1 #demo :Cannot send to channel \(you are banned or timed out\)$")
u.expect(r"MODE #demo -b user1!\*@\*$", timeout=5)
said("clean again")
w.expect(r"PRIVMSG #demo :clean again$")

# reload with a broken pattern on line 501: old rules stay active
rules = open(os.environ["RULES"]).read().split("\n")
rules[500] = "/broken(pattern/ block"
open(os.environ["RULES"], "w").write("\n".join(rules) + "/newword/ block\n")
os.kill(int(os.environ["SRV_PID"]), signal.SIGUSR1)
deadline = time.time() + 30
while time.time() < deadline and "line 501" not in open(os.environ["SRV_LOG"]).read():
    time.sleep(0.1)
log = open(os.environ["SRV_LOG"]).read()
check(re.search(r"chat: rules \S+: line 501: .*; keeping the 1000 active rules", log) is not None,
      "broken reload reports line 501 and keeps the old rules")
said("still badword0995 masked, newword passes")
w.expect(r"PRIVMSG #demo :still \*{11} masked, newword passes$")

# a good reload replaces the database
open(os.environ["RULES"], "w").write("/newword/ block\n/badword0998/ mask\n")
os.kill(int(os.environ["SRV_PID"]), signal.SIGUSR1)
deadline = time.time() + 30
while time.time() < deadline and "rules loaded: 2 rules" not in open(os.environ["SRV_LOG"]).read():
    time.sleep(0.1)
check("rules loaded: 2 rules" in open(os.environ["SRV_LOG"]).read(), "good reload loaded 2 rules")
said("newword now")
u.expect(r" 404 user1 #demo :Cannot send to channel \(message blocked by moderation\)$")
said("badword0001 passes now")
w.expect(r"PRIVMSG #demo :badword0001 passes now$")

mod.send("STATS h")
s = mod.expect(r" 249 mod h :rules=2 scans=(\d+) bytes=(\d+) ns=(\d+)$")
scans, nbytes, ns = map(int, re.search(r"scans=(\d+) bytes=(\d+) ns=(\d+)", s).groups())
check(scans == 8 and nbytes > 100, "scanner counted %d scans" % scans)

recs = [json.loads(l) for f in glob.glob(os.path.join(os.environ["ARCHIVE"], "live", "demo", "*.chat.jsonl")) for l in open(f)]
acts = {r["action"] for r in recs}
check({"block", "mask", "hold-for-review", "approved", "timeout-user"} <= acts, "moderation actions recorded: %s" % sorted(acts))
check(any(r["action"] == "block" and r.get("rule_line") == 4 for r in recs), "block record names rule line 4")
PYEOF
