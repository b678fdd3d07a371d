#!/usr/bin/env bash
# lifecast-swarm against lifecast-dp's RTMP fan-out over net_memif.
#
#   lifecast-dp (1 worker, memif server, 198.18.0.2) + lifecast-cp (IPC)
#   lifecast-swarm in netns lcsw-basic: memif client, SW_VIEWERS viewers
#     (default 50) from 198.18.0.10.., and a TAP bridged to the memif link
#     through which ffmpeg (198.18.0.5, same netns) publishes the test
#     stream with -re -c copy.
# Passes when every viewer joined, nothing failed, no message mismatched
# (each viewer's (type, length, timestamp, CRC) sequence against the others')
# and messages were verified. Skips (77) while the dataplane's RTMP service
# is not available (no control-plane link or no ingest).
set -u
cd "$(dirname "$0")/../.." || exit 1
. scripts/bench/lib.bash

N=${SW_VIEWERS:-50}
SECS=${SW_SECONDS:-10}
WORKERS=${SW_WORKERS:-1}
NS=lcsw-basic${SW_TAG:-}
PREFIX_DP=lc-swb-dp${SW_TAG:-}
PREFIX_SW=lc-swb-sw${SW_TAG:-}
case "$WORKERS" in
1) LCORES=0@0,1@0 ;;
2) LCORES=0@0,1@0,2@1 ;;
*) echo "SW_WORKERS: 1 or 2"; exit 2 ;;
esac

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; tail -20 "$SB_TMP"/*.log 2>/dev/null; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (netns, TAP)"
for t in lifecast-dp lifecast-cp lifecast-swarm; do
	[ -x "$B/$t" ] || skip "$B/$t not built"
done
ls dataplane/dp_rtmp*.c >/dev/null 2>&1 || skip "the dataplane has no RTMP service yet"
command -v ffmpeg >/dev/null || skip "ffmpeg missing"
SB_TMP=$(mktemp -d /tmp/lc-e2e-swarm.XXXXXX)
trap sb_cleanup EXIT
trap 'exit 130' INT TERM

STREAM="$B/bench/stream.flv"
sb_make_stream "$STREAM" 20 || fail "encoding the test stream"
ip netns del $NS 2>/dev/null
ip netns add $NS || fail "netns"
sb_on_exit "ip netns del $NS"
ip -n $NS link set lo up

MEMIF=$SB_TMP/memif.sock
sb_dp_conf "$SB_TMP/lc.conf" "$MEMIF" "$SB_TMP/dp.sock" "$SB_TMP/cp.sock" adaptive
mkdir -p "$SB_TMP/archive"
sb_start_dp dp "$SB_TMP/lc.conf" "$LCORES" "role=server,socket=$MEMIF,socket-abstract=no" $PREFIX_DP ||
	fail "lifecast-dp did not start"
sb_stats "$SB_TMP/dp.sock" | grep -q '"rtmp_' || skip "lifecast-dp exports no RTMP counters yet"
sb_start_cp cp "$SB_TMP/lc.conf" 0 || skip "lifecast-cp did not reach the dataplane (RTMP unavailable)"

# The swarm first (it owns the publisher's TAP), viewers after --delay.
sb_on_exit "rm -rf /var/run/dpdk/$PREFIX_SW"
sb_bg swarm ip netns exec $NS "$B/lifecast-swarm" -l 1 --no-huge -m 1024 \
	--no-pci --file-prefix $PREFIX_SW --no-telemetry --log-level='*:error' \
	--vdev "net_memif0,role=client,socket=$MEMIF,socket-abstract=no" \
	--vdev net_tap0,iface=lcswpub0 -- --bridge 1 --queues "$WORKERS" --delay 5 --viewers "$N" --rate 100 \
	--duration "$SECS" --app live --stream swarm --json 1 --viewers-csv "$SB_TMP/viewers.csv" \
	--linger 1 ${SW_EXTRA:-}
SW_PID=$SB_LAST_PID
sb_pub_ns_up $NS lcswpub0 || fail "publisher TAP did not appear"
sb_bg pub ip netns exec $NS ffmpeg -nostdin -v error -re -stream_loop -1 \
	-i "$STREAM" -c copy -f flv "rtmp://$SB_DP_ADDR:1935/live/swarm"
# The dataplane's own accounting once every viewer is connected (the rate
# is 100/s after a 5 s delay), sampled while the run is still on.
for ((k = 0; k < (5 + SECS) * 10; k++)); do
	sb_stats "$SB_TMP/dp.sock" >"$SB_TMP/stats_mid.json" 2>/dev/null
	python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["total"]["tcp_conns"] >= int(sys.argv[2]) else 1)' \
		"$SB_TMP/stats_mid.json" "$N" 2>/dev/null && break
	sleep 0.1
done
# The swarm lingers after its summary with the link up: the dataplane is
# stopped before the swarm (a memif peer leaving under running TX crashes
# DPDK 22.11's PMD).
OUT="$SB_TMP/swarm.log"
sb_wait_report "$SW_PID" "$OUT" $((SECS + 60))
grep -v '^{' "$OUT" | tail -4
J() { sb_json "$OUT" "$1"; }
[ "$(J 'd["viewers"]')" != nan ] || {
	grep -q "did not answer ARP" "$OUT" && fail "the dataplane never answered ARP over memif"
	fail "lifecast-swarm produced no summary"
}
if [ "$(J 'd["joined"]')" = 0 ] && ! sb_stats "$SB_TMP/dp.sock" | python3 -c \
	'import json,sys; t=json.load(sys.stdin)["total"]; sys.exit(0 if t.get("rtmp_ingest_msgs",0)>0 else 1)'; then
	skip "the dataplane ingested nothing from the publisher (RTMP publish not working yet)"
fi
echo "RESULT swarm_basic viewers=$N joined=$(J 'd["joined"]') failed=$(J 'd["failed"]') ok=$(J 'd["ok"]') mismatches=$(J 'd["mismatches"]') config_mismatches=$(J 'd["config_mismatches"]') verified_msgs=$(J 'd["verified_msgs"]') skips=$(J 'd["skips"]') stalls=$(J 'd["stalls"]')"
echo "RESULT swarm_basic_perf gbps=$(J 'd["gbps"]') join_p50_ms=$(J 'd["join_ms"]["p50"]') join_p99_ms=$(J 'd["join_ms"]["p99"]') realtime_min=$(J 'd["realtime"]["min"]') generator_busy_pct=$(J 'd["generator_busy_pct"]')"
[ "$(J 'd["joined"]')" = "$N" ] || fail "only $(J 'd["joined"]') of $N viewers joined"
[ "$(J 'd["failed"]')" = 0 ] || fail "$(J 'd["failed"]') viewers failed"
[ "$(J 'd["mismatches"] + d["config_mismatches"]')" = 0 ] || fail "message mismatches"
[ "$(J 'd["net"]["csum_errors"]')" = 0 ] || fail "checksum errors"
[ "$(J 'd["verified_msgs"] > 10 * d["viewers"]')" = True ] || fail "too few verified messages"
if [ -n "${SW_EXPECT_LOSS:-}" ]; then
	[ "$(J 'd["tcp"]["lost_injected"] > 100')" = True ] || fail "no loss was injected"
	sb_stats "$SB_TMP/dp.sock" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["total"]["tcp_retransmits"] > 100 else 1)' ||
		fail "the dataplane retransmitted nothing"
	echo "RESULT swarm_lossy lost_injected=$(J 'd["tcp"]["lost_injected"]') mismatches=0"
fi
# The fan-out scheduler visits viewers that were woken; its periodic safety
# sweep must never be what finds a viewer with something to send.
sb_stats "$SB_TMP/dp.sock" >"$SB_TMP/stats_end.json" 2>/dev/null || fail "dataplane stats at the end"
python3 - "$SB_TMP/stats_end.json" "$N" <<'EOF' || fail "fan-out scheduler counters"
import json, sys
t, n = json.load(open(sys.argv[1]))["total"], int(sys.argv[2])
print("RESULT swarm_fanout_sched visits=%d media_msgs_sent=%d sweep_sends=%d" % (
      t["rtmp_fan_visits"], t["rtmp_media_msgs_sent"], t["rtmp_fan_sweep_sends"]))
assert t["rtmp_fan_visits"] >= n, "fewer visits than viewers"
assert t["rtmp_fan_sweep_sends"] == 0, "viewers found only by the safety sweep"
EOF
sb_stop "$SB_DP_PID"
kill "$SW_PID" 2>/dev/null
wait "$SW_PID"
RC=$?
[ $RC -eq 0 ] || fail "lifecast-swarm exited $RC"
# Dataplane accounting while the viewers were on: each worker carried some
# of them (2 workers: the software dispatch spreads connections), busy
# cycles are a part of the loop cycles, and session memory covers at least
# the viewers' TCP connection objects.
python3 - "$SB_TMP/stats_mid.json" "$N" "$WORKERS" <<'EOF' || fail "dataplane accounting"
import json, sys
d, n, workers = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
pw = d["per_worker"]
assert d["workers"] == workers == len(pw), "worker count"
assert d["tsc_hz"] > 0
conns = [w["tcp_conns"] for w in pw]
print("dataplane: tcp_conns per worker %s, busy/loop cycles %s, session bytes %d" % (
      conns, ["%.3f" % (w["busy_cycles"] / w["loop_cycles"]) for w in pw], d["total"]["mem_session_bytes"]))
assert sum(conns) >= n, "connections %s < %d" % (conns, n)
assert all(c > 0 for c in conns), "a worker carried no connection: %s" % conns
assert all(0 < w["busy_cycles"] <= w["loop_cycles"] for w in pw), "busy cycles"
assert d["total"]["mem_session_bytes"] >= n * 1024, "session memory"
EOF
# The per-viewer report: one line per viewer, agreeing with the summary.
python3 - "$SB_TMP/viewers.csv" "$OUT" "$N" <<'EOF' || fail "per-viewer report"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
d = next(json.loads(l) for l in open(sys.argv[2]) if l.startswith("{"))
n = int(sys.argv[3])
assert len(rows) == n, "%d rows for %d viewers" % (len(rows), n)
assert sum(int(r["ok"]) for r in rows) == d["ok"], "ok count"
assert sum(int(r["bytes"]) for r in rows) == d["bytes"], "bytes"
assert sum(int(r["stalls"]) for r in rows) == d["stalls"], "stalls"
assert len({(r["ip"], r["port"]) for r in rows}) == n, "distinct endpoints"
joins = sorted(float(r["join_ms"]) for r in rows if r["joined"] == "1")
assert abs(joins[-1] - d["join_ms"]["max"]) < 0.01, "join max"
assert all(float(r["goodput_mbps"]) > 0 for r in rows), "goodput"
print("per-viewer report: %d rows, goodput %.3f..%.3f Mbit/s" % (len(rows),
      min(float(r["goodput_mbps"]) for r in rows), max(float(r["goodput_mbps"]) for r in rows)))
EOF
echo "RESULT swarm_basic_workers workers=$WORKERS"
echo PASS
