#!/usr/bin/env bash
# lifecastctl against a running lifecast-cp (kernel sockets, chat and
# archive on, temp config): every command with --json checked field by
# field, exit codes of errors, keys add/revoke with real publishes, kick,
# stream stop, drain, reload, archive list/repair, stats, /metrics parsed
# and compared with the JSON numbers. Ports 19440-19449 on 127.0.0.1.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"
RTMP_PORT=19440; IRC_PORT=19441; HTTP_PORT=19442
CP="$B/lifecast-cp"; CTL="$B/lifecastctl"
for t in ffmpeg python3 curl; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$CP" ] && [ -x "$CTL" ] || { echo "FAIL: $CP or $CTL not built"; exit 1; }

W=$(mktemp -d /tmp/lc-ctl.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "${CPPID:-}" ] && kill "$CPPID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT INT TERM
checks=0
fail() { echo "FAIL: $*"; echo "--- lifecast-cp log (tail)"; tail -30 "$W/cp.log"; exit 1; }
ok() { checks=$((checks+1)); echo "ok $checks - $*"; }
ctl() { "$CTL" -s "$W/m.sock" "$@"; }
# jget FILE EXPR: evaluate a Python expression over the JSON in FILE (as d).
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# jcheck FILE EXPR DESC: EXPR must be true.
jcheck() {
  local r; r=$(jget "$1" "$2" 2>&1) || fail "$3: cannot evaluate ($r)"
  [ "$r" = "True" ] || { echo "--- $1:"; head -c 3000 "$1"; echo; fail "$3 ($2 -> $r)"; }
  ok "$3"
}
# expect_rc RC DESC CMD...: run and check the exit code.
expect_rc() {
  local want=$1 desc=$2; shift 2
  "$@" > "$W/out" 2> "$W/err"; local rc=$?
  [ "$rc" = "$want" ] || fail "$desc: exit $rc, want $want ($(cat "$W/err"))"
  ok "$desc (exit $rc)"
}
wait_for() { # wait_for SECONDS DESC CMD...
  local n=$(( $1 * 10 )) desc=$2; shift 2
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  fail "timeout: $desc"
}

cat > "$W/lc.conf" <<EOF
# test configuration
[rtmp]
apps = live:keyed test:open
publish_grace = 3s
viewer_skip_threshold = 4M

[keys]
# stream keys of the test
alice = secret-alice-1234

[archive]
dir = $W/archive
min_free = 0

[chat]
listen = 127.0.0.1:$IRC_PORT
rules = $W/rules
record_dir = $W/archive

[http]
listen = 127.0.0.1:$HTTP_PORT

[control]
socket = $W/unused.sock
bitrate_window = 3s
EOF
cp "$W/lc.conf" "$W/lc.conf.orig"
echo '/badword/i mask' > "$W/rules"

# Media: 40 s, small picture (two cores are shared), keyframe every second.
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=320x180:rate=25 -f lavfi -i sine \
  -t 40 -c:v libx264 -preset ultrafast -g 25 -c:a aac -b:a 64k -f flv "$W/ref.flv" \
  || fail "encoding the reference failed"
ref_bps=$(python3 -c "import os; print(int(os.path.getsize('$W/ref.flv')*8/40))")

"$CP" -c "$W/lc.conf" --kernel-listen "127.0.0.1:$RTMP_PORT" --mgmt-socket "$W/m.sock" -v \
  > "$W/cp.log" 2>&1 &
CPPID=$!
wait_for 10 "lifecast-cp ready" grep -q "lifecast-cp ready" "$W/cp.log"
[ -S "$W/m.sock" ] || fail "--mgmt-socket not honoured"
[ ! -e "$W/unused.sock" ] || fail "[control] socket used despite --mgmt-socket"
ok "--mgmt-socket overrides [control] socket"
URL="rtmp://127.0.0.1:$RTMP_PORT/live"

# ---- usage and reachability errors ----
expect_rc 2 "no command is a usage error" "$CTL" -s "$W/m.sock"
expect_rc 2 "unknown command" ctl frobnicate
expect_rc 2 "kick needs a number" ctl kick abc
expect_rc 2 "keys add needs two arguments" ctl keys add onlyone
expect_rc 2 "drain takes on|off" ctl drain maybe
expect_rc 3 "unreachable socket" "$CTL" -s "$W/none.sock" status
for c in status streams sessions kick "stream stop" "keys list" "keys add" "keys revoke" \
         "archive list" "archive repair" stats drain reload "chat rules reload"; do
  # shellcheck disable=SC2086
  "$CTL" $c --help > "$W/help" 2>&1 || fail "$c --help exit $?"
  grep -q "^usage: lifecastctl $c" "$W/help" || fail "$c --help: $(cat "$W/help")"
done
ok "--help of 14 commands"

# ---- status ----
ctl --json status > "$W/s.json" || fail "status"
jcheck "$W/s.json" "d['mode']=='kernel' and d['version']!='' and d['pid']==$CPPID" "status: mode, version, pid"
jcheck "$W/s.json" "{'name':'rtmp','transport':'kernel','listen':'127.0.0.1:$RTMP_PORT'} in d['ports']" "status: rtmp port"
jcheck "$W/s.json" "any(p['name']=='mgmt' and p['listen']=='$W/m.sock' for p in d['ports'])" "status: mgmt socket"
jcheck "$W/s.json" "d['draining']==False and d['totals']['streams']==0 and d['workers']==1" "status: idle totals"

# ---- keys add -> publish works ----
expect_rc 0 "keys add bob" ctl keys add bob secret-bob-5678
grep -q '^bob = secret-bob-5678$' "$W/lc.conf" || fail "bob not in lc.conf"
python3 - "$W/lc.conf.orig" "$W/lc.conf" <<'PY' || fail "keys add changed more than one line"
import sys
a = open(sys.argv[1]).read().splitlines(); b = open(sys.argv[2]).read().splitlines()
i = b.index('bob = secret-bob-5678')
assert b[:i] + b[i+1:] == a, (a, b)
assert b[i-1] == 'alice = secret-alice-1234'
PY
ok "keys add: one line added after the last key, rest of the file intact"
ctl --json keys list > "$W/k.json" || fail "keys list"
jcheck "$W/k.json" "[k['channel'] for k in d['keys']]==['alice','bob'] and d['keys'][1]['secret']=='****5678' and d['persisted']" "keys list: both, masked"
expect_rc 1 "keys add with another channel's secret" ctl keys add eve secret-bob-5678

# publish_key SECRET LOG: ffmpeg publishes ref.flv with a stream key (PUB_PID).
publish_key() {
  timeout 90 ffmpeg -nostdin -v error -re -i "$W/ref.flv" -c copy -f flv "$URL/$1" > "$W/$2" 2>&1 &
  PUB_PID=$!; pids+=("$PUB_PID")
}
# stream_live STREAM COND: `streams` shows STREAM live with COND (a Python test of s).
stream_live() { ctl --json streams > "$W/st.json" 2>/dev/null && \
  [ "$(jget "$W/st.json" "any(s['stream']=='$1' and s['live'] and $2 for s in d)")" = True ]; }
publish_key secret-bob-5678 pub.log; PUB=$PUB_PID
wait_for 15 "live/bob live with a bitrate" stream_live live/bob "s['bitrate_bps']>0"
ok "publish with the added key works"
sleep 3   # a full bitrate window
ctl --json streams > "$W/st.json"
jcheck "$W/st.json" "[s for s in d if s['stream']=='live/bob'][0]['video_codec']=='h264' and [s for s in d if s['stream']=='live/bob'][0]['audio_codec']=='aac'" "streams: codecs h264/aac"
jcheck "$W/st.json" "(lambda s: s['publisher']['peer'].startswith('127.0.0.1:') and s['publisher']['session']>0 and s['viewers']==0 and s['uptime_s']>=3)([s for s in d if s['stream']=='live/bob'][0])" "streams: publisher, viewers, uptime"
jcheck "$W/st.json" "(lambda s: 0.5*$ref_bps < s['bitrate_bps'] < 2.0*$ref_bps)([s for s in d if s['stream']=='live/bob'][0])" "streams: bitrate within 2x of the file's ($ref_bps bit/s)"
bps=$(jget "$W/st.json" "[s for s in d if s['stream']=='live/bob'][0]['bitrate_bps']")
rec=$(jget "$W/st.json" "[s for s in d if s['stream']=='live/bob'][0]['recording']")
case "$rec" in "$W/archive/live/bob/"*.flv.part) ok "streams: recording $rec" ;; *) fail "recording path '$rec'" ;; esac
pub_sess=$(jget "$W/st.json" "[s for s in d if s['stream']=='live/bob'][0]['publisher']['session']")

# ---- viewers, sessions ----
for i in 1 2; do
  timeout 90 ffmpeg -nostdin -v error -i "$URL/bob" -c copy -f flv -y "$W/v$i.flv" > "$W/v$i.log" 2>&1 &
  eval "V$i=$!"; pids+=($!)
done
two_viewers() { ctl --json status > "$W/s.json" && [ "$(jget "$W/s.json" "d['totals']['viewers']")" = 2 ]; }
wait_for 10 "2 viewers" two_viewers
sleep 1
ctl --json sessions > "$W/se.json" || fail "sessions"
jcheck "$W/se.json" "len(d)==3 and sorted(s['role'] for s in d)==['publisher','viewer','viewer']" "sessions: 1 publisher + 2 viewers"
jcheck "$W/se.json" "all(s['stream']=='live/bob' and s['peer'].startswith('127.0.0.1:') and s['worker']==0 for s in d)" "sessions: stream, peer, worker"
jcheck "$W/se.json" "all(s['state']=='playing' and s['bytes_out']>10000 and s['skips']==0 for s in d if s['role']=='viewer')" "sessions: viewers playing, bytes out"
jcheck "$W/se.json" "all(s['state']=='publishing' and s['bytes_in']>10000 and s['id']==$pub_sess for s in d if s['role']=='publisher')" "sessions: publisher publishing, bytes in"
jcheck "$W/se.json" "all(isinstance(s['rtt_us'],int) and s['rtt_us']>=0 and s['cwnd']>0 and s['mss']>0 for s in d)" "sessions: TCP_INFO rtt/cwnd"
ctl --json sessions --stream live/bob > "$W/se2.json" || fail "command for se2.json failed"; jcheck "$W/se2.json" "len(d)==3" "sessions --stream live/bob"
ctl --json sessions --stream live/none > "$W/se3.json" || fail "command for se3.json failed"; jcheck "$W/se3.json" "d==[]" "sessions --stream of another stream: none"
ctl sessions > "$W/table" && grep -q "^ID .*PEER .*ROLE .*RTT_MS .*CWND" "$W/table" && ok "sessions table header" || fail "sessions table: $(cat "$W/table")"

# ---- metrics vs JSON (viewer/publisher gauges are stable now) ----
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" > "$W/metrics" || fail "curl /metrics"
ctl --json status > "$W/s.json"
python3 - "$W/metrics" "$W/s.json" > "$W/mcheck" 2>&1 <<'PY' || { cat "$W/mcheck"; fail "/metrics content"; }
import json, re, sys
text = open(sys.argv[1]).read(); st = json.load(open(sys.argv[2]))
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r'^(%s)(\{%s(?:,%s)*\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$' % (name, lab, lab))
typed = {}; vals = {}
assert text.endswith('\n')
for ln in text.splitlines():
    if ln.startswith('# HELP '):
        assert re.match(r'^# HELP %s .*$' % name, ln), ln
    elif ln.startswith('# TYPE '):
        m = re.match(r'^# TYPE (%s) (counter|gauge|untyped|histogram|summary)$' % name, ln)
        assert m, ln; assert m.group(1) not in typed, 'TYPE twice: ' + ln; typed[m.group(1)] = 1
    else:
        m = sample.match(ln); assert m, 'bad line: ' + ln
        assert m.group(1) in typed, 'sample before TYPE: ' + ln
        vals[m.group(1) + (m.group(2) or '')] = float(m.group(3))
t = st['totals']
def eq(k, v):
    assert vals[k] == v, '%s = %s, want %s' % (k, vals.get(k), v)
eq('lifecast_viewers', t['viewers']); eq('lifecast_viewers', 2)
eq('lifecast_publishers', t['publishers']); eq('lifecast_publishers', 1)
eq('lifecast_streams_live', t['live_streams'])
eq('lifecast_stream_viewers{app="live",stream="bob"}', 2)
eq('lifecast_stream_live{app="live",stream="bob"}', 1)
eq('lifecast_stream_keys', 2)
eq('lifecast_draining', 0)
eq('lifecast_archive_recordings_active', 1)
assert vals['lifecast_bytes_in_total'] >= t['bytes_in'] > 0 or vals['lifecast_bytes_in_total'] <= t['bytes_in']
print('metrics lines:', len(text.splitlines()), 'samples:', len(vals))
PY
ok "/metrics: every line valid exposition format, gauges equal the JSON ($(tail -1 "$W/mcheck"))"

# ---- drain ----
expect_rc 0 "drain on" ctl drain on
ctl --json status > "$W/s.json"; jcheck "$W/s.json" "d['draining']==True" "status: draining"
b0=$(ctl --json sessions | python3 -c 'import json,sys; print(sum(s["bytes_out"] for s in json.load(sys.stdin) if s["role"]=="viewer"))')
timeout 15 ffmpeg -nostdin -v error -i "$URL/bob" -c copy -t 2 -f flv -y "$W/v3.flv" > "$W/v3.log" 2>&1
v3rc=$?
[ "$v3rc" != 0 ] || fail "a new viewer played while draining"
grep -q "play refused: draining" "$W/cp.log" || fail "no drain refusal in the log"
ok "drain: new viewer refused (ffmpeg exit $v3rc)"
sleep 2
ctl --json sessions > "$W/se.json"
jcheck "$W/se.json" "sum(1 for s in d if s['role']=='viewer' and s['state']=='playing')==2 and sum(s['bytes_out'] for s in d if s['role']=='viewer')>$b0" "drain: existing viewers keep playing"
expect_rc 0 "drain off" ctl drain off
ctl --json status > "$W/s.json"; jcheck "$W/s.json" "d['draining']==False and d['totals']['rejected_drain']==1" "status: drain off, 1 refusal counted"

# ---- kick ----
vid=$(jget "$W/se.json" "[s for s in d if s['role']=='viewer'][0]['id']")
t0=$(date +%s%N)
ctl --json kick "$vid" > "$W/kick.json" || fail "kick $vid"
jcheck "$W/kick.json" "d['session']==$vid and d['role']=='viewer' and d['peer'].startswith('127.0.0.1:')" "kick: answer names the viewer"
one_viewer_left() {
  local n=0; kill -0 "$V1" 2>/dev/null && n=$((n+1)); kill -0 "$V2" 2>/dev/null && n=$((n+1)); [ "$n" = 1 ]; }
wait_for 10 "kicked viewer disconnects" one_viewer_left
kick_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "kick: one viewer process ended after ${kick_ms} ms"
ctl --json sessions > "$W/se.json"
jcheck "$W/se.json" "all(s['id']!=$vid for s in d) and sum(1 for s in d if s['role']=='viewer')==1" "kick: session gone"
expect_rc 1 "kick of a gone session" ctl kick "$vid"
grep -q "sess=$vid peer=127.0.0.1:[0-9]* kicked by operator" "$W/cp.log" || fail "kick log line without ids"
ok "log: kick line carries sess= id"

# ---- archive list (live recording) ----
ctl --json archive list live/bob > "$W/a.json" || fail "archive list"
jcheck "$W/a.json" "any(f['path']=='$rec' and f['partial'] and f['app']=='live' and f['stream']=='bob' and f['size']>0 for f in d['files'])" "archive list shows the live recording"
ctl --json archive list test > "$W/a2.json" || fail "command for a2.json failed"; jcheck "$W/a2.json" "d['files']==[]" "archive list of another app: empty"

# ---- reload: a reloadable and a non-reloadable change, a key added by hand ----
sed -i -e 's/^viewer_skip_threshold = 4M/viewer_skip_threshold = 6M/' \
       -e 's/^publish_grace = 3s/publish_grace = 3s\nchunk_size = 8192/' \
       -e 's/^alice = secret-alice-1234/alice = secret-alice-1234\ncarol = secret-carol-9999/' "$W/lc.conf"
ctl --json reload > "$W/r.json" || fail "reload"
jcheck "$W/r.json" "d['applied']==['rtmp.viewer_skip_threshold'] and d['restart_required']==['rtmp.chunk_size']" "reload: skip threshold applied, chunk_size needs a restart"
jcheck "$W/r.json" "d['keys']['added']==['carol'] and d['keys']['removed']==[] and d['keys']['changed']==[]" "reload: key carol added"
ctl --json reload > "$W/r2.json" || fail "command for r2.json failed"; jcheck "$W/r2.json" "d['applied']==[] and d['restart_required']==['rtmp.chunk_size']" "reload again: chunk_size still differs from the running value"
cp "$W/lc.conf" "$W/lc.good"; echo "bogus_key = 1" >> "$W/lc.conf"
sed -i 's/^\[control\]/[control]\nbitrate_window = 99h/' "$W/lc.conf"
expect_rc 1 "reload of a bad file is refused" ctl reload
cp "$W/lc.good" "$W/lc.conf"

# ---- stream stop ----
ctl --json stream stop live/bob > "$W/ss.json" || fail "stream stop"
jcheck "$W/ss.json" "d['publisher_session']==$pub_sess and d['ended']==True" "stream stop: publisher named, stream ended"
pub_gone() { ! kill -0 "$PUB" 2>/dev/null; }
wait_for 10 "publisher disconnected" pub_gone
ok "stream stop: publisher ffmpeg ended"
viewers_gone() { ! kill -0 "$V1" 2>/dev/null && ! kill -0 "$V2" 2>/dev/null; }
wait_for 15 "remaining viewer ended (UnpublishNotify)" viewers_gone
ok "stream stop: remaining viewer ended"
ctl --json streams > "$W/st.json"; jcheck "$W/st.json" "not any(s['stream']=='live/bob' and s['live'] for s in d)" "streams: live/bob gone"
expect_rc 1 "stream stop of a stream not live" ctl stream stop live/bob

# ---- keys revoke -> BadName ----
expect_rc 0 "keys revoke bob" ctl keys revoke bob
! grep -q '^bob' "$W/lc.conf" || fail "bob still in lc.conf"
grep -q '^# stream keys of the test$' "$W/lc.conf" && grep -q '^carol = secret-carol-9999$' "$W/lc.conf" \
  && grep -q "^dir = $W/archive\$" "$W/lc.conf" || fail "revoke damaged lc.conf"
ok "keys revoke: line removed, comments, other keys and sections kept"
expect_rc 1 "keys revoke of an unknown channel" ctl keys revoke bob
rk0=$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["rejected_keys"])')
timeout 15 ffmpeg -nostdin -v error -re -i "$W/ref.flv" -t 2 -c copy -f flv "$URL/secret-bob-5678" \
  > "$W/pub2.log" 2>&1 && fail "publish with a revoked key succeeded"
ctl --json status > "$W/s.json"
jcheck "$W/s.json" "d['totals']['rejected_keys']==$rk0+1" "revoked key: publish refused (BadName), counted"
grep -q "publish rejected: wrong stream key" "$W/cp.log" || fail "no BadName in the log"

# ---- keys revoke of a live channel: its publisher is cut at once ----
publish_key secret-carol-9999 pub3.log; PUB3=$PUB_PID
wait_for 15 "live/carol live" stream_live live/carol "s['bytes_in']>0"
carol_sess=$(jget "$W/st.json" "[s for s in d if s['stream']=='live/carol'][0]['publisher']['session']")
ctl --json keys revoke carol > "$W/kr.json" || fail "keys revoke carol"
jcheck "$W/kr.json" "d['publishers_cut']==[{'stream':'live/carol','publisher_session':$carol_sess}]" "keys revoke: live publisher of carol named as cut"
ctl --json streams > "$W/st.json"; jcheck "$W/st.json" "not any(s['stream']=='live/carol' and s['live'] for s in d)" "keys revoke: live/carol ended at once"
pub3_gone() { ! kill -0 "$PUB3" 2>/dev/null; }
wait_for 10 "carol's publisher disconnected" pub3_gone
ok "keys revoke: carol's ffmpeg publisher ended"
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" | grep -qx 'lifecast_key_revoked_publishers_total 1' \
  && ok "metrics: key_revoked_publishers_total 1" || fail "key_revoked_publishers_total is not 1"

# ---- archive repair ----
wait_for 10 "segment closed" test -n "$(ls "$W"/archive/live/bob/*.flv 2>/dev/null)"
seg=$(ls "$W"/archive/live/bob/*.flv | head -1)
head -c $(( $(stat -c %s "$seg") - 333 )) "$seg" > "$W/archive/live/bob/torn.flv"
ctl --json archive repair "$W/archive/live/bob/torn.flv" > "$W/rp.json" || fail "archive repair: $(cat "$W/rp.json")"
jcheck "$W/rp.json" "d['repaired']==True and d['file'].endswith('/torn.flv')" "archive repair of a torn file"
ffmpeg -nostdin -v error -i "$W/archive/live/bob/torn.flv" -f null - 2> "$W/dec" && [ ! -s "$W/dec" ] \
  || fail "repaired file does not decode cleanly: $(head -3 "$W/dec")"
ok "repaired file decodes cleanly"
cp "$seg" "$W/outside.flv"
expect_rc 1 "archive repair outside the archive" ctl archive repair "$W/outside.flv"

# ---- stats, chat, metrics after the fact ----
ctl --json stats > "$W/x.json" || fail "stats"
ctl --json status > "$W/s.json"
jcheck "$W/x.json" "d['source']=='engine' and d['workers']==1 and d['per_worker'][0]['bytes_in']==$(jget "$W/s.json" "d['totals']['bytes_in']") and d['per_worker'][0]['drops']['slow_kicks']==0" "stats: engine totals"
ctl --json chat rules reload > "$W/c.json" || fail "command for c.json failed"; jcheck "$W/c.json" "d['status']=='scheduled'" "chat rules reload scheduled"
# Start-up compile + this reload, then one more with a second rule.
loaded() { [ "$(grep -c "chat: rules loaded: $1 rules" "$W/cp.log")" -ge "$2" ]; }
wait_for 10 "first reload compiled" loaded 1 2
printf '/badword/i mask\n/spam+/ block\n' > "$W/rules"
ctl chat rules reload > /dev/null || fail "chat rules reload"
wait_for 10 "chat reports 2 rules" loaded 2 1
ok "chat rules reload: new rule file compiled (2 rules)"
curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" > "$W/metrics" || fail "curl /metrics"
python3 - "$W/metrics" "$W/s.json" "$W/x.json" <<'PY' || fail "/metrics after the run"
import json, sys
vals = {}
for ln in open(sys.argv[1]):
    if not ln.startswith('#'):
        k, v = ln.rsplit(' ', 1); vals[k] = float(v)
t = json.load(open(sys.argv[2]))['totals']; x = json.load(open(sys.argv[3]))
for k, v in [('lifecast_bytes_in_total', t['bytes_in']), ('lifecast_bytes_out_total', t['bytes_out']),
             ('lifecast_sessions_total', t['sessions_total']), ('lifecast_viewers', 0),
             ('lifecast_operator_kicks_total', 1), ('lifecast_operator_stream_stops_total', 1),
             ('lifecast_key_revoked_publishers_total', 1),
             ('lifecast_refused_total{reason="draining"}', t['rejected_drain']),
             ('lifecast_refused_total{reason="stream_key"}', t['rejected_keys']),
             ('lifecast_stream_keys', 1), ('lifecast_reloads_total', 2)]:
    assert vals.get(k) == v, (k, vals.get(k), v)
assert vals['lifecast_bytes_in_total'] == x['per_worker'][0]['bytes_in']
PY
ok "/metrics counters equal status/stats JSON"
grep -q " debug " "$W/cp.log" || fail "-v gave no debug lines"
grep -Eq "info  sess=[0-9]+ stream=live/bob publish accepted" "$W/cp.log" || fail "publish log line lacks ids"
ok "log: -v debug lines, session/stream ids on engine events"

kill "$CPPID"; wait "$CPPID"; cprc=$?; CPPID=
[ "$cprc" = 0 ] || fail "lifecast-cp exit $cprc"
[ ! -e "$W/m.sock" ] || fail "socket file left behind"
ok "clean shutdown removes the socket"
echo "RESULT ctl_checks=$checks"
echo "RESULT stream_bitrate_kbps=$((bps/1000)) file_kbps=$((ref_bps/1000))"
echo "RESULT kick_to_disconnect_ms=$kick_ms"
exit 0
