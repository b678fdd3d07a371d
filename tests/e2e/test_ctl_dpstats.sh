#!/usr/bin/env bash
# lifecastctl stats / status / /metrics with dataplane counters: a stand-in
# for lifecast-dp's stats socket ([dataplane] stats_socket, SOCK_SEQPACKET,
# "stats" -> the JSON of dp_stats_json) whose counters grow at known rates,
# so pps, Gbit/s, drops and retransmits can be checked exactly. Also covers
# /metrics on an own HTTP server (--no-chat) and the fallback to engine
# totals when the dataplane goes away. Ports 19443-19444 on 127.0.0.1.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
RTMP_PORT=19443; HTTP_PORT=19444
CP="$B/lifecast-cp"; CTL="$B/lifecastctl"
for t in python3 curl; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$CP" ] && [ -x "$CTL" ] || { echo "FAIL: $CP or $CTL not built"; exit 1; }

W=$(mktemp -d /tmp/lc-ctldp.XXXXXX)
cleanup() {
  [ -n "${DPPID:-}" ] && kill "$DPPID" 2>/dev/null
  [ -n "${CPPID:-}" ] && kill "$CPPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
checks=0
fail() { echo "FAIL: $*"; echo "--- lifecast-cp log (tail)"; tail -20 "$W/cp.log"; exit 1; }
ok() { checks=$((checks+1)); echo "ok $checks - $*"; }
jcheck() {
  local r; r=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>&1) \
    || fail "$3: cannot evaluate ($r)"
  [ "$r" = "True" ] || { head -c 3000 "$1"; echo; fail "$3 ($2 -> $r)"; }
  ok "$3"
}
wait_for() { local n=$(( $1 * 10 )) desc=$2; shift 2
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; fail "timeout: $desc"; }

# Counters follow wall time: worker i sends (i+1)*1000 packets/s of 1250
# bytes (10 Mbit/s per 1000 pps), receives half of that; drops grow 5/s on
# worker 1 only; retransmits 7/s on worker 0.
cat > "$W/fakedp.py" <<'PY'
import json, os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path); s.listen(4)
t0 = time.monotonic()
def view(i, t):
    tx = int((i + 1) * 1000 * t); rx = tx // 2
    v = {"rx_pkts": rx, "rx_bytes": rx * 1250, "tx_pkts": tx, "tx_bytes": tx * 1250,
         "drop_ip_csum": int(5 * t) if i == 1 else 0, "drop_no_mbuf": 0,
         "tcp_retransmits": int(7 * t) if i == 0 else 0, "pool_in_use": 100 + i}
    return v
while True:
    c, _ = s.accept()
    req = c.recv(512)
    t = time.monotonic() - t0
    if req.strip() == b"stats":
        w = [dict(view(i, t), id=i, lcore=i + 1, socket=0, rxq=i) for i in range(2)]
        tot = {k: sum(x[k] for x in w) for k in view(0, 0)}
        c.send(json.dumps({"workers": 2, "total": tot, "per_worker": w}).encode())
    else:
        c.send(b'{"error":"unknown request"}')
    c.close()
PY
python3 "$W/fakedp.py" "$W/dp.sock" & DPPID=$!
wait_for 5 "fake stats socket" test -S "$W/dp.sock"

cat > "$W/lc.conf" <<EOF
[dataplane]
stats_socket = $W/dp.sock
[rtmp]
apps = test:open
[archive]
enabled = no
[http]
listen = 127.0.0.1:$HTTP_PORT
[control]
socket = $W/m.sock
EOF
"$CP" -c "$W/lc.conf" --kernel-listen "127.0.0.1:$RTMP_PORT" --no-chat > "$W/cp.log" 2>&1 &
CPPID=$!
wait_for 10 "lifecast-cp ready" grep -q "lifecast-cp ready" "$W/cp.log"
ctl() { "$CTL" -c "$W/lc.conf" "$@"; }   # socket from [control]
wait_for 10 "dataplane sampled twice" sh -c "'$CTL' -c '$W/lc.conf' --json stats | grep -q '\"interval_ms\": [1-9]'"

ctl --json stats > "$W/x.json" || fail "stats"
jcheck "$W/x.json" "d['source']=='dataplane' and d['workers']==2 and len(d['per_worker'])==2" "stats: from the dataplane, 2 workers"
jcheck "$W/x.json" "all(abs(w['tx_pps']-(w['id']+1)*1000)<=60 and abs(w['rx_pps']-(w['id']+1)*500)<=40 for w in d['per_worker'])" "stats: per-worker pps (1000/2000 tx, 500/1000 rx)"
jcheck "$W/x.json" "all(abs(w['tx_gbps']-(w['id']+1)*0.01)<0.001 for w in d['per_worker'])" "stats: per-worker Gbit/s"
jcheck "$W/x.json" "d['per_worker'][1]['drops']['ip_csum']>0 and d['per_worker'][0]['drops']['ip_csum']==0 and d['per_worker'][1]['drops']['no_mbuf']==0" "stats: drops by reason"
jcheck "$W/x.json" "d['per_worker'][0]['retransmits']>0 and d['per_worker'][1]['retransmits']==0 and d['total']['retransmits']==d['per_worker'][0]['retransmits']" "stats: retransmits"
"$CTL" -c "$W/lc.conf" stats > "$W/x.txt" || fail "stats table"
grep -Eq "^worker 1: rx [0-9]+ pps .* drops [1-9]" "$W/x.txt" && grep -q "drop ip_csum" "$W/x.txt" \
  || fail "stats table: $(cat "$W/x.txt")"
ok "stats table"
ctl --json status > "$W/s.json" || fail "status"
jcheck "$W/s.json" "d['mode']=='kernel' and d['workers']==2 and d['dataplane']['connected']==True and d['dataplane']['stats_socket']=='$W/dp.sock'" "status: dataplane connected, its worker count"

curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" > "$W/metrics" || fail "/metrics on the own HTTP server (--no-chat)"
grep -q '^lifecast_dataplane_connected 1$' "$W/metrics" && \
  grep -Eq '^lifecast_dp_tx_pkts\{worker="1"\} [1-9][0-9]*$' "$W/metrics" && \
  grep -q '^# TYPE lifecast_dp_drop_ip_csum untyped$' "$W/metrics" && \
  grep -q '^lifecast_dp_pool_in_use{worker="1"} 101$' "$W/metrics" || fail "dataplane metrics: $(grep dp_ "$W/metrics" | head)"
ok "/metrics: per-worker dataplane series"

kill "$DPPID"; wait "$DPPID" 2>/dev/null; DPPID=
gone() { ctl --json status > "$W/s.json" && grep -q '"connected": false' "$W/s.json"; }
wait_for 5 "dataplane loss noticed" gone
ctl --json stats > "$W/x.json" || fail "stats"
jcheck "$W/x.json" "d['source']=='engine' and d['workers']==1" "stats: engine totals without the dataplane"
jcheck "$W/s.json" "d['dataplane']['error'].startswith('connect ')" "status: reason of the loss"
grep -q "mgmt: dataplane stats unavailable" "$W/cp.log" || fail "loss not logged"
ok "loss logged once"
echo "RESULT ctl_dpstats_checks=$checks"
exit 0
