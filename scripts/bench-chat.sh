#!/usr/bin/env bash
# bench-chat: CLIENTS IRC clients in one channel, RATE messages/s in for
# BENCH_SECONDS, every delivery checked by tests/tools/chat_load; p50/p99
# delivery latency and the Hyperscan scan rate (1,000-rule database) for
# lifecast-cp, then the same load against Debian's ngircd as the reference.
# When ngircd cannot get CLIENTS members into the channel within
# JOIN_TIMEOUT (its JOIN/NAMES cost grows faster than linearly), both
# servers are also run at REF_CLIENTS so there is a like-for-like ratio.
# Loopback only, ports 16690-16693. Writes the "bench-chat" section of
# BENCHMARKS.md.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
CLIENTS=${CLIENTS:-10000}
RATE=${RATE:-500}
SECS=${BENCH_SECONDS:-5}
SENDERS=${SENDERS:-500}
SRCS=${SRC_ADDRS:-10}
REF_CLIENTS=${REF_CLIENTS:-3000}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-240}
IRC=16690 RTMP=16692 NG=16693

make -j2 "$B/lifecast-cp" "$B/tools/chat_load" >/dev/null 2>&1 ||
  echo "bench-chat: build of lifecast-cp/chat_load failed; using existing binaries" >&2
[ -x "$B/tools/chat_load" ] || { echo "bench-chat: $B/tools/chat_load missing"; exit 1; }
command -v ngircd >/dev/null || { echo "bench-chat: ngircd not installed"; exit 1; }
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((CLIENTS + 1000)) ] || { echo "bench-chat: need RLIMIT_NOFILE >= $((CLIENTS + 1000))"; exit 1; }

T=$(mktemp -d /tmp/lc-bench-chat.XXXXXX)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
PID=
stop_server() {
  [ -n "$PID" ] || return 0
  kill "$PID" 2>/dev/null
  for i in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  PID=
}
cleanup() { stop_server; rm -rf "$T"; }
trap cleanup EXIT

/usr/bin/python3 - "$T/rules" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        f.write("/badword%04d/i %s\n" % (i, ["block", "mask", "hold-for-review", "timeout-user"][i % 4]))
PYEOF

cat > "$T/lc.conf" <<CONF
[chat]
record = no
max_clients = $((CLIENTS + 100))
max_per_ip = $((CLIENTS / SRCS + 100))
flood_burst = 0
sendq = 1m
open_channels = yes
[http]
enabled = no
[archive]
enabled = no
CONF

cat > "$T/ngircd.conf" <<CONF
[Global]
Name = bench.ngircd
Info = lifecast bench reference
Listen = 127.0.0.1
Ports = $NG
MotdPhrase = bench
PidFile = $T/ngircd.pid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxListSize = 100000
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
CONF

start_lifecast() {
  if [ -x "$B/lifecast-cp" ] && "$B/lifecast-cp" --help 2>&1 | grep -q -- --chat-rules; then
    "$B/lifecast-cp" -c "$T/lc.conf" --kernel-listen 127.0.0.1:$RTMP --chat-listen 127.0.0.1:$IRC \
      --chat-rules "$T/rules" > "$T/lc.log" 2>&1 &
    SERVER_NAME="lifecast-cp"
  else
    "$B/tools/chat_server" "$T/lc.conf" 127.0.0.1:$IRC "$T/rules" > "$T/lc.log" 2>&1 &
    SERVER_NAME="chat_server (lifecast chat module)"
  fi
  PID=$!
  for i in $(seq 300); do grep -q "rules loaded: 1000" "$T/lc.log" && return 0; sleep 0.1; done
  echo "bench-chat: lifecast did not load its rules"; cat "$T/lc.log"; exit 1
}
start_ngircd() {
  ngircd -n -f "$T/ngircd.conf" > "$T/ng.log" 2>&1 &
  PID=$!
  for i in $(seq 50); do grep -q "Now listening" "$T/ng.log" && return 0; sleep 0.1; done
  echo "bench-chat: ngircd did not start"; cat "$T/ng.log"; exit 1
}
load() { # port clients out [extra]
  timeout $((JOIN_TIMEOUT + 400)) "$B/tools/chat_load" -p "$1" -n "$2" -s "$SENDERS" -r "$RATE" \
    -d "$SECS" -a "$SRCS" -w 10 -J "$JOIN_TIMEOUT" ${4:-} > "$3" 2> "$3.err"
  echo "  load rc=$? ($(grep -c . "$3") result lines)"
}
val() { grep "^RESULT $2" "$1" | head -1; }

run_pair() { # clients suffix
  echo "== lifecast, $1 clients"; start_lifecast; load $IRC "$1" "$T/lc$2.out" -S; stop_server
  sed 's/^/  /' "$T/lc$2.out"
  echo "== ngircd, $1 clients"; start_ngircd; load $NG "$1" "$T/ng$2.out"; stop_server
  sed 's/^/  /' "$T/ng$2.out"
}

run_pair "$CLIENTS" ""
REF=""
if ! grep -q "^RESULT latency_us" "$T/ng.out"; then
  REF="$REF_CLIENTS"
  run_pair "$REF_CLIENTS" "_ref"
fi

/usr/bin/python3 - "$T" "$CLIENTS" "$RATE" "$SECS" "$SENDERS" "$REF" "$SERVER_NAME" "$LOAD0" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PYEOF'
import re, sys, os, datetime
T, clients, rate, secs, senders, ref, server, load0, load1 = sys.argv[1:10]
def parse(path):
    r = {}
    if not os.path.exists(path):
        return r
    for l in open(path):
        m = re.match(r"RESULT (\S+) (.*)", l.strip())
        if m:  # repeated keys (server_stats) are kept together
            r[m.group(1)] = (r[m.group(1)] + " " if m.group(1) in r else "") + m.group(2)
    return r
def row(name, r, n):
    if "latency_us" not in r:
        why = r.get("join_incomplete") or r.get("connect_incomplete") or "no result"
        return "| %-38s | %6s | did not reach the message phase: %s |" % (name, n, why)
    lat = re.match(r"p50 (\d+) p99 (\d+) max (\d+)", r["latency_us"]).groups()
    d = re.match(r"(\d+) of (\d+) expected, missing (\d+), duplicates (\d+)", r["deliveries"]).groups()
    rate_ = re.match(r"(\d+)", r["delivery_rate"]).group(1)
    return "| %-38s | %6s | %8s | %10s / %10s | %7s | %4s | %9.1f | %9.1f | %9.1f |" % (
        name, n, r.get("join_s", "?"), d[0], d[1], d[2], d[3], int(rate_) / 1e6,
        int(lat[0]) / 1000, int(lat[1]) / 1000)
def hs(r):
    m = re.search(r"rules=(\d+) scans=(\d+) bytes=(\d+) ns=(\d+)", r.get("server_stats", ""))
    if not m:
        return None
    rules, scans, b, ns = map(int, m.groups())
    return rules, scans, b, ns
lc, ng = parse(T + "/lc.out"), parse(T + "/ng.out")
lcr, ngr = parse(T + "/lc_ref.out"), parse(T + "/ng_ref.out")
hdr = ("| server | clients | join s | delivered / expected | missing | dup | M deliveries/s | p50 ms | p99 ms |\n"
       "|---|---|---|---|---|---|---|---|---|")
out = []
out.append("<!-- bench-chat:begin (generated by scripts/bench-chat.sh; edit the script, not this section) -->")
out.append("## bench-chat: IRC fan-out, lifecast chat vs ngircd")
out.append("")
out.append("Measured %s UTC on the shared 2-core VM with `make bench-chat` (= `bash scripts/bench-chat.sh`)."
           % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
out.append("Load: `tests/tools/chat_load` (one thread, epoll), %s clients from %s source addresses in "
           "127.0.0.0/8, all in one channel; %s msg/s in for %s s, spread over %s senders; every "
           "receiver checks every sequence number (lost and duplicate deliveries counted); latency is "
           "send-to-receive on one monotonic clock, so it includes queueing in the server and in the load "
           "tool, which shares the same two vCPUs. lifecast runs as %s with a 1,000-rule Hyperscan "
           "database (block/mask/hold/timeout, none matching the load) scanning every message; "
           "ngircd 26.1 from Debian with unlimited connections per IP, no DNS/ident."
           % (clients, os.environ.get("SRC_ADDRS", "10"), rate, secs, senders, server))
out.append("Load average (1/5/15 min) at start %s, at end %s: other work shares these two vCPUs, so "
           "absolute numbers move a lot between runs; the ratio within one run is the meaningful figure."
           % (load0, load1))
out.append("")
out.append(hdr)
out.append(row("lifecast chat", lc, clients))
out.append(row("ngircd (reference)", ng, clients))
if ref:
    out.append(row("lifecast chat", lcr, ref))
    out.append(row("ngircd (reference)", ngr, ref))
out.append("")
def ratio(a, b, label):
    try:
        ra = int(re.match(r"(\d+)", a["delivery_rate"]).group(1))
        rb = int(re.match(r"(\d+)", b["delivery_rate"]).group(1))
        la = int(re.match(r"p50 (\d+)", a["latency_us"]).group(1))
        lb = int(re.match(r"p50 (\d+)", b["latency_us"]).group(1))
        ja, jb = float(a["join_s"]), float(b["join_s"])
        return ("%s: delivery rate lifecast/ngircd = %.2f, p50 latency ngircd/lifecast = %.2f, "
                "join time ngircd/lifecast = %.1f." % (label, ra / rb, lb / max(la, 1), jb / max(ja, 0.01)))
    except (KeyError, AttributeError, ValueError):
        return "%s: no ratio (a run did not complete)." % label
out.append(ratio(lc, ng, "%s clients" % clients))
if ref:
    out.append("")
    out.append(ratio(lcr, ngr, "%s clients" % ref))
h = hs(lc)
if h:
    rules, scans, b, ns = h
    out.append("")
    out.append("Hyperscan (lifecast, %s clients run): %d rules in one database, %d messages scanned, "
               "%.1f MB/s and %.2f M messages/s of scan time (%.2f us per message, timer overhead "
               "included)." % (clients, rules, scans, b / ns * 1e3, scans / ns * 1e3, ns / scans / 1e3))
out.append("<!-- bench-chat:end -->")
section = "\n".join(out) + "\n"
print(section)
path = "BENCHMARKS.md"
text = open(path).read() if os.path.exists(path) else "# lifecast benchmarks\n\nEach section is written by its benchmark script.\n"
m = re.search(r"<!-- bench-chat:begin.*?<!-- bench-chat:end -->\n?", text, re.S)
text = text[:m.start()] + section + text[m.end():] if m else text.rstrip("\n") + "\n\n" + section
open(path, "w").write(text)
PYEOF
