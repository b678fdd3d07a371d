#!/usr/bin/env bash
# lifecastctl in dataplane mode: while ffmpeg publishes through the dataplane
# and 3 ffmpeg viewers play, `lifecastctl --json sessions` lists the
# publisher and the viewers from the dataplane's session snapshots
# (SESSION_INFO): non-zero bytes, a plausible RTT and cwnd, worker, state.
# `lifecastctl kick ID` of one viewer disconnects it (SESSION_CLOSE); the
# other viewers and the publisher carry on and record cleanly.
. "$(dirname "$0")/test_fanout_common.bash"
fo_init
[ -x "$B/lifecastctl" ] || fo_skip "$B/lifecastctl not built"
fo_up
MGMT=/run/lifecast-$LC_TB_NAME/cp-mgmt.sock
ctl() { "$B/lifecastctl" -s "$MGMT" "$@"; }
REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 22 600
URL=rtmp://$FO_ADDR/test/ctl

fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
vp=()
for i in 1 2 3; do fo_record_ffmpeg "v$i" "$URL" 14; vp+=("$FO_LAST_PID"); done
sleep 3.5 # two SESSION_INFO pulls (every 1 s) after the viewers joined

# status in dataplane mode: the data port's link as the dataplane's PMD reports
# it. net_tap asks the kernel about its interface by name in the dataplane's
# namespace; the test-bed moved that interface to the client namespace, so
# the PMD says "down" while traffic flows. Either answer proves the field
# comes from the dataplane rather than "unknown".
ctl --json status >"$FO_TMP/status.json" || fo_fail "lifecastctl status failed"
link=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["mode"], "|", d["link"])' "$FO_TMP/status.json")
case "$link" in
  "dataplane | up "*" Mbit/s "*|"dataplane | down") echo "RESULT fanout_ctl_status $link" ;;
  *) fo_fail "status in dataplane mode: want mode dataplane and the PMD's link state, got '$link'" ;;
esac
ctl --json sessions >"$FO_TMP/sessions.json" || fo_fail "lifecastctl sessions failed: $(cat "$FO_TMP/sessions.json")"
ctl --json sessions --stream test/ctl >"$FO_TMP/sessions_f.json" || fo_fail "sessions --stream failed"
ctl sessions >"$FO_TMP/sessions.txt" || fo_fail "lifecastctl sessions (table) failed"
check=$(python3 - "$FO_TMP/sessions.json" "$FO_TMP/sessions_f.json" <<'PY'
import json, sys
def load(f):
    d = json.load(open(f))
    return d["result"] if isinstance(d, dict) and "result" in d else d
a, f = load(sys.argv[1]), load(sys.argv[2])
bad = []
pubs = [s for s in a if s["role"] == "publisher"]
views = [s for s in a if s["role"] == "viewer"]
if len(pubs) != 1: bad.append("publishers=%d" % len(pubs))
if len(views) != 3: bad.append("viewers=%d" % len(views))
for s in pubs + views:
    tag = "%s %s" % (s["role"], s["id"])
    if not s["peer"].startswith("198.18.0.1:"): bad.append(tag + " peer " + s["peer"])
    if s["stream"] != "test/ctl": bad.append(tag + " stream " + s["stream"])
    if s["bytes_in"] <= 0 or s["bytes_out"] <= 0: bad.append(tag + " bytes %d/%d" % (s["bytes_in"], s["bytes_out"]))
    if s["rtt_us"] is None or not (0 < s["rtt_us"] < 2000000): bad.append(tag + " rtt %r" % s["rtt_us"])
    if s["cwnd"] is None or s["cwnd"] <= 0: bad.append(tag + " cwnd %r" % s["cwnd"])
    if "worker" not in s or "skips" not in s: bad.append(tag + " fields")
for s in pubs:
    if s["state"] != "publishing": bad.append("publisher state " + s["state"])
    if s["bytes_in"] < 100000: bad.append("publisher bytes_in %d" % s["bytes_in"])
for s in views:
    if s["state"] != "playing": bad.append("viewer state " + s["state"])
    if s["bytes_out"] < 50000: bad.append("viewer bytes_out %d" % s["bytes_out"])
if sorted(s["id"] for s in f) != sorted(s["id"] for s in pubs + views): bad.append("--stream filter")
if bad:
    print("BAD " + "; ".join(bad))
else:
    print("OK %d %s" % (views[0]["id"], " ".join("%s:rtt=%dus,cwnd=%d,in=%d,out=%d" % (s["role"], s["rtt_us"], s["cwnd"], s["bytes_in"], s["bytes_out"]) for s in pubs + views)))
PY
)
case "$check" in
OK*) fo_result "fanout_ctl_sessions ${check#OK * }" ;;
*) cat "$FO_TMP/sessions.json"; fo_check_fail "sessions: $check" ;;
esac
grep -q "publishing" "$FO_TMP/sessions.txt" || fo_check_fail "table has no publisher: $(cat "$FO_TMP/sessions.txt")"
kid=$(echo "$check" | awk '/^OK/ {print $2}')

if [ -n "$kid" ]; then
	ctl --json kick "$kid" >"$FO_TMP/kick.json" || fo_check_fail "kick $kid failed: $(cat "$FO_TMP/kick.json")"
	ctl kick 999999999 >/dev/null 2>&1 && fo_check_fail "kick of an unknown session succeeded"
	# the kicked viewer's ffmpeg exits within a few seconds; the others play on
	gone=0
	for ((k = 0; k < 50; k++)); do
		gone=0
		for p in "${vp[@]}"; do kill -0 "$p" 2>/dev/null || gone=$((gone + 1)); done
		[ "$gone" -ge 1 ] && break
		sleep 0.1
	done
	fo_assert_num kicked_viewers_gone "$gone" -eq 1
	sleep 2.5
	ctl --json sessions >"$FO_TMP/after.json"
	left=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d = d.get("result", d) if isinstance(d, dict) else d
ids = [s["id"] for s in d if s["role"] == "viewer"]
print("%d %d" % (len(ids), int(sys.argv[2]) in [s["id"] for s in d]))' "$FO_TMP/after.json" "$kid")
	fo_assert_num viewers_after_kick "${left% *}" -eq 2
	fo_assert_num kicked_listed_after "${left#* }" -eq 0
fi
fo_wait "${vp[@]}"
ok=0
for n in v1 v2 v3; do
	out=$(lc_check_recording "$FO_TMP/$n.flv" "$REF.md5" 250 2>/dev/null) && ok=$((ok + 1))
done
fo_assert_num viewers_complete "$ok" -eq 2
kill -0 "$PUB" 2>/dev/null || fo_check_fail "the publisher stopped early"
fo_wait "$PUB"
fo_finish
