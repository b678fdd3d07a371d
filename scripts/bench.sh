#!/usr/bin/env bash
# make bench: RTMP fan-out, lifecast-dp against nginx-rtmp, same machine,
# same run, same stream.
#
#   stream     2.5 Mbit/s H.264 (CBR) + AAC FLV from ffmpeg's test sources,
#              published with `ffmpeg -re -stream_loop -1 -c copy` (CPU 1).
#   dataplane  lifecast-dp (1 worker, idle = poll) and lifecast-cp on CPU 0,
#              on a net_memif link: the dataplane is the memif client in
#              zero-copy mode (hugepages, reserved here and given back) so
#              the virtual link adds no copy on its side; without hugepages
#              it falls back to the copying server role and says so.
#              lifecast-swarm (DPDK, the other memif end) on CPU 1 plays N
#              viewers, verifies every TCP checksum and every message
#              (type, length, timestamp, CRC-32C) against the other
#              viewers'; the publisher reaches the dataplane through the
#              swarm's TAP bridge.
#   nginx      nginx + libnginx-mod-rtmp, 1 worker pinned to CPU 0, on
#              127.0.0.1:21935; build/tools/cp_rtmpplay (kernel sockets,
#              epoll) on CPU 1 plays N viewers and checks every payload
#              against the FLV.
#
# Ladder: N climbs through BENCH_N; a server that fails an N is not run at
# larger ones, and one bisection step between its last good and first bad N
# narrows its capacity. Then the dataplane with 2 workers and in memif copy
# mode at its largest good N. Figures: delivered Gbit/s, server core time per
# delivered Gbit (dataplane: its workers' busy TSC cycles, i.e. poll loops
# that did work; nginx: worker utime+stime plus CPU 0 softirq), viewers
# sustained (every viewer >= 99 % of the stream in real time, no mismatch,
# no checksum error), join latency p50/p99, memory per viewer, the load
# generator's own busy share. Writes the bench-rtmp section of
# BENCHMARKS.md unless BENCH_NO_DOC=1. Needs root. Bounded: about 12 minutes
# with the defaults.
#
#   BENCH_SECONDS  measured seconds per run (10)
#   BENCH_N        ladder of viewer counts ("200 400 800 1600 3200 6400")
#   BENCH_ZC       1: memif zero-copy (default when hugepages can be had), 0: copy
#   BENCH_DP_ONLY  1: the dataplane's ladder only (no nginx, no extra rows, no report)
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1
. scripts/bench/lib.bash

SECS=${BENCH_SECONDS:-10}
LADDER=${BENCH_N:-"200 400 800 1600 3200 6400"}
NS=lcsw-bench
NGX_PORT=21935
PREFIX_DP=lc-swbench-dp
PREFIX_SW=lc-swbench-sw
STREAM_KBPS=2430 # measured rate of the generated stream (video + audio + FLV)
HUGE_PAGES=768   # 1.5 GiB of 2 MB pages for the dataplane in zero-copy mode

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"
for t in lifecast-dp lifecast-cp lifecast-swarm tools/cp_rtmpplay; do
	[ -x "$B/$t" ] || die "$B/$t missing (make all)"
done
command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] ||
	die "nginx with libnginx-mod-rtmp missing (scripts/install-deps.sh)"
SB_TMP=$(mktemp -d /tmp/lc-bench-rtmp.XXXXXX)
trap sb_cleanup EXIT
trap 'exit 130' INT TERM
sb_on_exit "rm -rf /var/run/dpdk/$PREFIX_SW; ip netns del $NS"
STREAM="$B/bench/stream.flv"
sb_make_stream "$STREAM" 20 || die "encoding the stream"
HZ=$(getconf CLK_TCK)

# ---- hugepages for memif zero-copy (given back on exit) ----
ZC=${BENCH_ZC:-1}
HUGE_MNT=$SB_TMP/huge
if [ "$ZC" = 1 ]; then
	NR=/proc/sys/vm/nr_hugepages
	HUGE_OLD=$(cat $NR)
	mkdir -p "$HUGE_MNT"
	if bash scripts/hugepages.sh -n "$HUGE_PAGES" -m "$HUGE_MNT" >"$SB_TMP/huge.log" 2>&1; then
		sb_on_exit "umount $HUGE_MNT; echo $HUGE_OLD > $NR"
	else
		sb_log "no $HUGE_PAGES hugepages ($(tail -1 "$SB_TMP/huge.log")): memif copy mode"
		umount "$HUGE_MNT" 2>/dev/null
		echo "$HUGE_OLD" >$NR
		ZC=0
	fi
fi

# ---- dataplane ----
# dp_run N WORKERS ZC: one measured run; prints
# "gbps ok joined p50 p99 cores gen_busy mism csum_err mem_per_viewer_bytes rt_min".
DP_NAN="nan 0 0 nan nan nan nan nan nan nan nan"
dp_run() {
	local n=$1 workers=$2 zc=$3 lcores=0@0,1@0 memif=$SB_TMP/memif.sock out
	local rate=$((n / 5 > 200 ? n / 5 : 200)) dprole swrole sw="" dp cp pub
	# The swarm's run counts from the first join: the ramp, then SECS of
	# every viewer on, over which the dataplane's counters are sampled.
	local ramp=$(((n + rate - 1) / rate))
	[ "$workers" = 2 ] && lcores=0@0,1@0,2@1
	ip netns del $NS 2>/dev/null
	ip netns add $NS && ip -n $NS link set lo up
	rm -f "$memif"
	# Two workers on two vCPUs: the second shares CPU 1 with the load
	# generator, so the workers sleep when idle (busy cycles exclude sleeps).
	local idle=poll
	[ "$workers" = 2 ] && idle=adaptive
	sb_dp_conf "$SB_TMP/lc.conf" "$memif" "$SB_TMP/dp.sock" "$SB_TMP/cp.sock" $idle
	mkdir -p "$SB_TMP/archive"
	if [ "$zc" = 1 ]; then
		# memif zero-copy is the client's: the dataplane lends its hugepage
		# memory to the link; the swarm serves the socket.
		# rsize=12: 4096-slot rings, the descriptor count of a typical NIC queue
		dprole="role=client,zero-copy=yes,rsize=12,socket=$memif,socket-abstract=no"
		swrole="role=server,socket=$memif,socket-abstract=no"
		SB_DP_MEM="--huge-dir $HUGE_MNT --single-file-segments -m 1024"
	else
		dprole="role=server,socket=$memif,socket-abstract=no"
		swrole="role=client,rsize=${BENCH_COPY_RSIZE:-12},socket=$memif,socket-abstract=no"
		SB_DP_MEM="--no-huge -m 1024"
	fi
	start_swarm() {
		sb_bg swarm ip netns exec $NS taskset -c 1 "$B/lifecast-swarm" -l 1 \
			--no-huge -m 2048 --no-pci --file-prefix $PREFIX_SW --no-telemetry \
			--log-level='*:error' --vdev "net_memif0,$swrole" \
			--vdev net_tap0,iface=lcswpub0 -- --bridge 1 --queues "$workers" --delay 6 \
			--viewers "$n" --rate "$rate" --duration "$((SECS + ramp))" --app live --stream bench \
			--json 1 --csum 1 --progress 0 --linger 1 ${BENCH_SWARM_ARGS:-}
		sw=$SB_LAST_PID
	}
	[ "$zc" = 1 ] && { start_swarm; sleep 0.5; }
	sb_start_dp "dp-$n-$workers-$zc" "$SB_TMP/lc.conf" "$lcores" "$dprole" $PREFIX_DP ||
		{ [ -n "$sw" ] && sb_stop "$sw"; echo "dataplane did not start" >&2; return 1; }
	dp=$SB_DP_PID
	sb_start_cp cp "$SB_TMP/lc.conf" 0 ||
		{ sb_stop "$dp"; [ -n "$sw" ] && sb_stop "$sw"; echo "no control plane link" >&2; return 1; }
	cp=$SB_CP_PID
	[ "$zc" = 1 ] || start_swarm
	sb_pub_ns_up $NS lcswpub0
	sb_bg pub ip netns exec $NS taskset -c 1 ffmpeg -nostdin -v error -re \
		-stream_loop -1 -i "$STREAM" -c copy -f flv "rtmp://$SB_DP_ADDR:1935/live/bench"
	pub=$SB_LAST_PID
	# Publisher only (viewers start 6 s after the swarm's link is up),
	# then every viewer joined, then the end of the swarm's run.
	sleep 4
	sb_stats "$SB_TMP/dp.sock" >"$SB_TMP/s_base.json"
	sleep $((3 + ramp + 1))
	sb_stats "$SB_TMP/dp.sock" >"$SB_TMP/s0.json"
	local t0 t1
	t0=$(date +%s.%N)
	sb_wait_report "$sw" "$SB_TMP/swarm.log" $((SECS + ramp + 60))
	sb_stats "$SB_TMP/dp.sock" >"$SB_TMP/s1.json"
	t1=$(date +%s.%N)
	if ! kill -0 "$dp" 2>/dev/null; then
		local st
		wait "$dp"
		st=$?
		echo "dataplane exited during the run (status $st), N=$n workers=$workers zc=$zc" >&2
		echo "N=$n workers=$workers zero-copy=$zc status $st" >>"$SB_TMP/dp-deaths"
	fi
	out=$SB_TMP/swarm.log
	cp "$out" "$SB_TMP/dp-$n-$workers-$zc.json"
	for f in s_base s0 s1; do cp "$SB_TMP/$f.json" "$SB_TMP/dp-$n-$workers-$zc.$f.json"; done
	# The dataplane goes before the swarm lets its memif link down.
	sb_stop "$pub"; sb_stop "$cp"; sb_stop "$dp"; sb_stop "$sw"
	ip netns del $NS 2>/dev/null
	python3 - "$out" "$SB_TMP" "$t0" "$t1" "$n" <<'EOF'
import json, sys
d = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        d = json.loads(line); break
try:
    sb, s0, s1 = (json.load(open(sys.argv[2] + "/" + f)) for f in ("s_base.json", "s0.json", "s1.json"))
except Exception:
    d = None
if d is None:
    print("nan 0 0 nan nan nan nan nan nan nan nan"); sys.exit()
el, n = float(sys.argv[4]) - float(sys.argv[3]), int(sys.argv[5])
busy = sum(b["busy_cycles"] - a["busy_cycles"] for a, b in zip(s0["per_worker"], s1["per_worker"]))
cores = busy / s1["tsc_hz"] / el if el > 0 else float("nan")
# Delivered goodput over the same steady-state window as the cores: new
# payload bytes the dataplane's TCP sent (retransmissions excluded).
t0, t1 = s0["total"], s1["total"]
good = (t1["tcp_tx_payload_bytes"] - t1["tcp_retransmit_bytes"]) - \
       (t0["tcp_tx_payload_bytes"] - t0["tcp_retransmit_bytes"])
gbps = good * 8 / el / 1e9 if el > 0 else float("nan")
mem = lambda s: s["total"]["mem_session_bytes"] + s["total"]["mem_buffer_bytes"]
# per viewer: over the connections that came since the publisher-only sample
conns = s0["total"]["tcp_conns"] - sb["total"]["tcp_conns"]
print("%.4f %d %d %.1f %.1f %.3f %.1f %d %d %.0f %.3f" % (gbps, d["ok"], d["joined"],
      d["join_ms"]["p50"], d["join_ms"]["p99"], cores, d["generator_busy_pct"],
      d["mismatches"] + d["config_mismatches"], d["net"]["csum_errors"],
      (mem(s0) - mem(sb)) / conns if conns > 0 else float("nan"), d["realtime"]["min"]))
EOF
}

# ---- nginx ----
ngx_conf() {
	sed -e "s|@DIR@|$SB_TMP|g; s|@LISTEN@|127.0.0.1:$NGX_PORT|; s|@CPU@|01|" \
		scripts/bench/nginx-rtmp.conf.in >"$SB_TMP/nginx.conf"
}

# ngx_run N: prints "gbps ok joined p50 p99 cores cpu1_busy_pct rss_bytes_per_viewer player_pct".
NGX_NAN="nan 0 0 nan nan nan nan nan nan"
ngx_run() {
	local n=$1 master worker c0 c1 q0 q1 r0 r1 t0 t1 ramp
	# the dataplane's join rate: max(200, N / 5) viewers per second
	ramp=$(awk -v n="$n" 'BEGIN { r = n / 5 > 200 ? n / 5 : 200; printf "%.3f", 1000 / r }')
	ngx_conf
	sb_bg nginx taskset -c 0 nginx -c "$SB_TMP/nginx.conf" -p "$SB_TMP"
	master=$SB_LAST_PID
	for _ in $(seq 50); do
		worker=$(pgrep -P "$master" | head -1)
		[ -n "$worker" ] && ss -Hltn "sport = :$NGX_PORT" | grep -q . && break
		sleep 0.1
	done
	[ -n "$worker" ] || { echo "nginx did not start" >&2; return 1; }
	sb_bg ngpub taskset -c 1 ffmpeg -nostdin -v error -re -stream_loop -1 \
		-i "$STREAM" -c copy -f flv "rtmp://127.0.0.1:$NGX_PORT/live/bench"
	local pub=$SB_LAST_PID
	sleep 3
	r0=$(awk '/VmRSS/ { print $2 }' "/proc/$worker/status")
	c0=$(sb_proc_cpu_ticks "$worker"); q0=$(sb_softirq_ticks 0); t0=$(date +%s.%N)
	local g0 g1
	g0=$(sb_cpu_busy_ticks 1)
	# The player's own CPU time (its children's rusage) tells whether the
	# load generator, not nginx, is what saturates.
	OUT="$SB_TMP/play-$n" taskset -c 1 timeout $((SECS + n / 200 + 90)) python3 -c '
import os, resource, subprocess, sys
out = os.environ["OUT"]
rc = subprocess.call(sys.argv[1:], stdout=open(out + ".json", "w"))
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(out + ".cpu", "w").write("%.3f\n" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' "$B/tools/cp_rtmpplay" --url "rtmp://127.0.0.1:$NGX_PORT/live/bench" \
		--ref "$STREAM" --loop -n "$n" --ramp "$ramp" --seconds "$SECS" --json \
		2>"$SB_TMP/play-$n.err"
	c1=$(sb_proc_cpu_ticks "$worker"); q1=$(sb_softirq_ticks 0); t1=$(date +%s.%N)
	g1=$(sb_cpu_busy_ticks 1)
	r1=$(awk '/VmRSS/ { print $2 }' "/proc/$worker/status")
	sb_stop "$pub"; sb_stop "$master"
	python3 - "$SB_TMP/play-$n" "$((c1 - c0 + q1 - q0))" "$HZ" "$t0" "$t1" "$((r1 - r0))" \
		"$n" "$SECS" "$((g1 - g0))" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1] + ".json"))
    gen_cpu = float(open(sys.argv[1] + ".cpu").read())
    cpu1_busy = int(sys.argv[9]) / int(sys.argv[3])
except Exception:
    print("nan 0 0 nan nan nan nan nan nan"); sys.exit()
ticks, hz, el = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[5]) - float(sys.argv[4])
n, secs = int(sys.argv[7]), float(sys.argv[8])
vs = d["viewers"]
# real time: >= 99 % of the video frames the stream carried (30 fps) from
# the viewer's join to the end, and the player's own content checks passed.
ok = sum(1 for v in vs if v["ok"] and v["join_ms"] >= 0 and
         v["video"] >= 0.99 * 30 * (secs - v["join_ms"] / 1000))
joined = sum(1 for v in vs if v["video"] > 0)
gbps = sum(v["bytes"] for v in vs) * 8 / el / 1e9 if el else 0
s = d["summary"]
# Generator load: all of CPU 1's busy time (player, its kernel network
# work, the publisher), which is what saturates first on loopback.
print("%.4f %d %d %.1f %.1f %.3f %.1f %.0f %.1f" % (gbps, ok, joined, s["join_p50_ms"], s["join_p99_ms"],
      ticks / hz / el if el else 0, 100 * cpu1_busy / el if el else 0, int(sys.argv[6]) * 1024 / n,
      100 * gen_cpu / el if el else 0))
EOF
}

# ---- the ladder ----
declare -A DPR NGR # N -> result line
DP_OK=0 DP_BAD=0 NG_OK=0 NG_BAD=0
dp_step() {
	local n=$1 r
	sb_log "dataplane, N=$n"
	dp_run "$n" 1 "$ZC" >"$SB_TMP/r" || echo "$DP_NAN" >"$SB_TMP/r"
	r=$(cat "$SB_TMP/r")
	DPR[$n]=$r
	set -- $r
	if [ "$2" = "$n" ] && [ "$8" = 0 ] && [ "$9" = 0 ]; then
		[ "$n" -gt "$DP_OK" ] && DP_OK=$n
	elif [ "$DP_BAD" = 0 ] || [ "$n" -lt "$DP_BAD" ]; then
		DP_BAD=$n
	fi
}
ngx_step() {
	local n=$1 r
	[ -n "${BENCH_DP_ONLY:-}" ] && return 0
	sb_log "nginx, N=$n"
	ngx_run "$n" >"$SB_TMP/r" || echo "$NGX_NAN" >"$SB_TMP/r"
	r=$(cat "$SB_TMP/r")
	NGR[$n]=$r
	set -- $r
	if [ "$2" = "$n" ]; then
		[ "$n" -gt "$NG_OK" ] && NG_OK=$n
	elif [ "$NG_BAD" = 0 ] || [ "$n" -lt "$NG_BAD" ]; then
		NG_BAD=$n
	fi
}
for n in $LADDER; do
	[ "$DP_BAD" = 0 ] && dp_step "$n"
	[ "$NG_BAD" = 0 ] && ngx_step "$n"
	[ "$DP_BAD" != 0 ] && [ "$NG_BAD" != 0 ] && break
done
# One bisection step each, and the other server at that N too (same-N rows).
for side in dp ngx; do
	if [ $side = dp ]; then lo=$DP_OK hi=$DP_BAD; else lo=$NG_OK hi=$NG_BAD; fi
	[ "$hi" != 0 ] && [ "$lo" != 0 ] || continue
	mid=$(((lo + hi) / 2 / 50 * 50))
	[ "$mid" -gt "$lo" ] && [ "$mid" -lt "$hi" ] || continue
	# (not above a count the server already failed)
	[ -n "${DPR[$mid]:-}" ] || { [ "$DP_BAD" != 0 ] && [ "$mid" -gt "$DP_BAD" ]; } || dp_step "$mid"
	[ -n "${NGR[$mid]:-}" ] || { [ "$NG_BAD" != 0 ] && [ "$mid" -gt "$NG_BAD" ]; } || ngx_step "$mid"
done

# ---- who failed at the dataplane's first bad N: the same run with the load
# generator's own work lightened (every 16th viewer verified, no checksums) ----
RL=""
if [ "$DP_BAD" != 0 ] && [ -z "${BENCH_DP_ONLY:-}" ]; then
	sb_log "dataplane, N=$DP_BAD again, the load generator verifying less"
	BENCH_SWARM_ARGS="--verify-every 16 --csum 0" dp_run "$DP_BAD" 1 "$ZC" >"$SB_TMP/r" ||
		echo "$DP_NAN" >"$SB_TMP/r"
	RL=$(cat "$SB_TMP/r")
fi

# ---- scaling and the link's copy, at the dataplane's largest good N ----
TOPN=$DP_OK
[ "$TOPN" = 0 ] && TOPN=${LADDER%% *}
[ -n "${BENCH_DP_ONLY:-}" ] && exit 0
sb_log "dataplane, 2 workers, N=$TOPN"
dp_run "$TOPN" 2 "$ZC" >"$SB_TMP/r" || echo "$DP_NAN" >"$SB_TMP/r"
R2=$(cat "$SB_TMP/r")
RC=""
if [ "$ZC" = 1 ]; then
	sb_log "dataplane, memif copy mode, N=$TOPN"
	dp_run "$TOPN" 1 0 >"$SB_TMP/r" || echo "$DP_NAN" >"$SB_TMP/r"
	RC=$(cat "$SB_TMP/r")
fi

# ---- report ----
REPORT=$(python3 - "$STREAM_KBPS" "$TOPN" "$ZC" "$R2" "$RC" "$DP_OK" "$NG_OK" "$DP_BAD" "$NG_BAD" \
	"$(for k in "${!DPR[@]}"; do echo "$k ${DPR[$k]}"; done)" \
	"$(for k in "${!NGR[@]}"; do echo "$k ${NGR[$k]}"; done)" \
	"$(cat "$SB_TMP/dp-deaths" 2>/dev/null)" "$RL" <<'EOF'
import math, sys
kbps, topn, zc, r2, rc = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5]
dp_ok, ng_ok, dp_bad, ng_bad = (int(x) for x in sys.argv[6:10])
def rows(text, keys):
    out = {}
    for line in text.splitlines():
        f = line.split()
        if f:
            out[int(f[0])] = dict(zip(keys, (float(x) for x in f[1:])))
    return out
DK = "gbps ok joined p50 p99 cores gen mism csum mem rt".split()
NK = "gbps ok joined p50 p99 cores gen mem player".split()
dp, ng = rows(sys.argv[10], DK), rows(sys.argv[11], NK)
fin = lambda x: x == x and not math.isinf(x)
def f(x, fmt):
    return fmt % x if fin(x) else "n/a"
lines = []
P = lines.append
P("| N | lifecast-dp Gbit/s | dp ok | dp join p50/p99 ms | dp busy cores | dp KiB/viewer | swarm busy % "
  "| nginx Gbit/s | nginx ok | nginx join p50/p99 ms | nginx cores | nginx KiB/viewer | CPU 1 busy % "
  "| core-s per Gbit dp / nginx | nginx/dp |")
P("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
results = []
for n in sorted(set(dp) | set(ng)):
    d, g = dp.get(n), ng.get(n)
    cd = d["cores"] / d["gbps"] if d and d["gbps"] > 0 else float("nan")
    cg = g["cores"] / g["gbps"] if g and g["gbps"] > 0 else float("nan")
    ratio = cg / cd if fin(cd) and fin(cg) and cd > 0 else float("nan")
    dcol = ("%s | %d/%d%s | %s/%s | %s | %s | %s" % (f(d["gbps"], "%.3f"), d["ok"], n,
            "" if d["mism"] == 0 and d["csum"] == 0 else " (%s mism, %s csum)" % (f(d["mism"], "%.0f"), f(d["csum"], "%.0f")),
            f(d["p50"], "%.1f"), f(d["p99"], "%.1f"), f(d["cores"], "%.3f"),
            f(d["mem"] / 1024, "%.1f"), f(d["gen"], "%.1f"))) if d else "not run | | | | | "
    gcol = ("%s | %d/%d | %s/%s | %s | %s | %s" % (f(g["gbps"], "%.3f"), g["ok"], n,
            f(g["p50"], "%.1f"), f(g["p99"], "%.1f"), f(g["cores"], "%.3f"),
            f(g["mem"] / 1024, "%.1f"), f(g["gen"], "%.1f"))) if g else "not run | | | | | "
    P("| %d | %s | %s | %s / %s | %s |" % (n, dcol, gcol, f(cd, "%.3f"), f(cg, "%.3f"), f(ratio, "%.2f")))
    print("RESULT bench_rtmp n=%d dp=%s nginx=%s cpu_per_gbit_dp=%s cpu_per_gbit_nginx=%s ratio=%s" % (
        n, ",".join("%s:%s" % (k, v) for k, v in (d or {}).items()),
        ",".join("%s:%s" % (k, v) for k, v in (g or {}).items()), f(cd, "%.4f"), f(cg, "%.4f"),
        f(ratio, "%.3f")), file=sys.stderr)
P("")
def sat(side, bad, rows_, genkey):
    if not bad:
        return "not found within the ladder (every N passed)"
    r = rows_.get(bad)
    if r is None:
        return "fails at %d" % bad
    if not fin(r[genkey]):
        who = "not measured (the run failed)"
    elif r[genkey] >= 90:
        who = "the load generator's CPU (%.0f %% busy)" % r[genkey]
    elif r.get("cores", 0) >= 0.9:
        who = "the server's core (%.2f busy)" % r["cores"]
    else:
        who = ("not a saturated core by the counters (server %.2f busy cores, generator %.0f %%)"
               % (r["cores"], r[genkey]))
    return "first failure at N=%d (%d/%d ok); the limit there was %s" % (bad, r["ok"], bad, who)
P("- **Viewers sustained on one core**: lifecast-dp **%d**, nginx-rtmp **%d** (largest N where every "
  "viewer got >= 99 %% of the stream in real time with no mismatch). lifecast-dp: %s. nginx: %s." % (
  dp_ok, ng_ok, sat("dp", dp_bad, dp, "gen"), sat("ngx", ng_bad, ng, "gen")))
both = [n for n in dp if n in ng and dp[n]["ok"] == n and ng[n]["ok"] == n and dp[n]["gbps"] > 0 and ng[n]["gbps"] > 0]
if both:
    n = max(both)
    cd, cg = dp[n]["cores"] / dp[n]["gbps"], ng[n]["cores"] / ng[n]["gbps"]
    P("- **Headline, CPU per delivered Gbit/s at N=%d** (largest N both sustained): lifecast-dp %.3f "
      "core-s/Gbit, nginx %.3f: nginx needs **%.2fx** the dataplane's CPU for the same delivery." % (n, cd, cg, cg / cd))
    print("RESULT bench_rtmp_headline n=%d cpu_per_gbit_dp=%.4f cpu_per_gbit_nginx=%.4f nginx_over_dp=%.3f" % (
        n, cd, cg, cg / cd), file=sys.stderr)
def one(r):
    v = r.split()
    return dict(zip(DK, (float(x) for x in v))) if len(v) == len(DK) else None
s2 = one(r2)
if s2 and topn in dp:
    d1 = dp[topn]
    P("- **Scaling** at N=%d: 1 worker %.3f Gbit/s with %.3f busy cores; 2 workers %.3f Gbit/s, %.0f/%d ok, "
      "%.3f busy cores (%.2fx one worker's; the second worker shares CPU 1 with the load generator "
      "on this 2-vCPU machine, and its busy cycles include the time the kernel gave the generator "
      "in the middle of a busy iteration, so this shows that fan-out across workers is correct, "
      "not a speed-up)." % (topn, d1["gbps"], d1["cores"], s2["gbps"],
      s2["ok"], topn, s2["cores"], s2["cores"] / d1["cores"] if d1["cores"] > 0 else float("nan")))
    print("RESULT bench_rtmp_scaling n=%d workers=2 gbps=%.4f ok=%.0f cores=%.3f" % (topn, s2["gbps"], s2["ok"], s2["cores"]), file=sys.stderr)
sc = one(rc) if rc else None
if sc and topn in dp:
    d1 = dp[topn]
    P("- **memif copy mode** at N=%d (dataplane as the copying memif server, 4096-slot rings as in "
      "zero-copy): %.3f Gbit/s, %.0f/%d ok, "
      "%.3f busy cores, against %.3f busy cores as the zero-copy client in the ladder row (copy "
      "mode / zero-copy = %.2f)." % (topn, sc["gbps"], sc["ok"], topn, sc["cores"], d1["cores"],
      sc["cores"] / d1["cores"] if d1["cores"] > 0 else float("nan")))
if topn in dp:
    d1 = dp[topn]
    P("- **Memory per viewer**: lifecast-dp %.1f KiB at N=%d (its own accounting: TCP connection object "
      "and RTMP session state, plus the packet buffers in flight, growth over a publisher-only "
      "baseline / N; the stream's log is shared and not per viewer); nginx-rtmp: worker RSS growth / N "
      "in the table." % (d1["mem"] / 1024, topn))
    if d1["cores"] > 0 and d1["gbps"] > 0:
        vpc = d1["gbps"] / d1["cores"] * 1e6 / kbps
        line = 100e6 / kbps
        P("- **Projection to a 100 GbE host** (a projection, not a measurement): viewers per busy core here "
          "= %.3f Gbit/s / %.3f cores / %d kbit/s = **%.0f**; line rate is 100 Gbit/s / %d kbit/s = %.0f "
          "viewers, so about **%d worker cores** would fill it. Assumes fan-out cost stays linear in "
          "viewers and per core (per-worker state, no shared locks), that a real NIC does what memif "
          "did here for free or better (no copy; IPv4/TCP checksums offloaded, which the dataplane "
          "computes in software here), that the stream's log stays in cache/memory bandwidth is not "
          "the limit, and that this VM's cores are representative." % (d1["gbps"], d1["cores"], kbps,
          vpc, kbps, line, math.ceil(line / vpc)))
        print("RESULT bench_rtmp_projection viewers_per_core=%.0f cores_for_100gbe=%d" % (vpc, math.ceil(line / vpc)), file=sys.stderr)
sl = one(sys.argv[13]) if sys.argv[13] else None
if sl and dp_bad:
    passed = sl["ok"] == dp_bad and sl["mism"] == 0
    P("- **Who limits at N=%d**: the same dataplane run with the load generator verifying every 16th "
      "viewer and no checksums: %.0f/%d ok, %.3f Gbit/s, swarm %.0f %% busy, dataplane %.3f busy cores. %s" % (
      dp_bad, sl["ok"], dp_bad, sl["gbps"], sl["gen"], sl["cores"],
      "It passed: the load generator's verification work, not the dataplane, was the limit there."
      if passed else "It failed too: the dataplane or the link is the limit there."))
    print("RESULT bench_rtmp_light_generator n=%d ok=%.0f gbps=%.4f" % (dp_bad, sl["ok"], sl["gbps"]), file=sys.stderr)
deaths = [l for l in sys.argv[12].splitlines() if l.strip()]
P("- **Dataplane exits during a run**: %s." % (("; ".join(deaths) + " (status 139 = SIGSEGV; with "
  "SB_KEEP=1 the run's temporary directory keeps the core)") if deaths else "none"))
print("RESULT bench_rtmp_dp_deaths=%d" % len(deaths), file=sys.stderr)
print("\n".join(lines))
EOF
)
echo
echo "$REPORT"
[ "${BENCH_NO_DOC:-0}" = 1 ] && exit 0

CPU=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
if [ "$ZC" = 1 ]; then
	LINK="net_memif with the dataplane as the memif client in zero-copy mode ($HUGE_PAGES x 2 MB hugepages, --single-file-segments)"
else
	LINK="net_memif with the dataplane as the copying memif server (no hugepages could be reserved)"
fi
SECTION=$(cat <<EOF
<!-- bench-rtmp:begin (generated by scripts/bench.sh; edit the script, not this section) -->
## bench (RTMP fan-out): lifecast-dp vs nginx-rtmp

Measured $(date -u '+%Y-%m-%d %H:%M') UTC on this machine: $CPU, $(nproc) vCPUs (KVM), kernel
$(uname -r), shared with other work, so the ratios (same run) matter more than absolute numbers.
Reproduce with \`make bench\` (= \`bash scripts/bench.sh\`; BENCH_SECONDS=$SECS, BENCH_N="$LADDER").

- Stream: ${STREAM_KBPS} kbit/s (H.264 CBR 1280x720 30 fps GOP 2 s + AAC 128k), made once with ffmpeg
  testsrc, published with \`ffmpeg -re -stream_loop -1 -c copy\` on CPU 1.
- **lifecast-dp**: 1 worker (\`idle = poll\`) and lifecast-cp on CPU 0; $LINK.
  Load: \`lifecast-swarm\` (DPDK, the other memif end) on CPU 1; every TCP checksum and every
  viewer's messages (type, length, timestamp, CRC-32C) are verified.
- **nginx 1 worker + libnginx-mod-rtmp** (Debian), \`out_queue 4096\`, pinned to CPU 0, on loopback;
  load: \`build/tools/cp_rtmpplay\` (kernel sockets, epoll) on CPU 1, payloads checked against the FLV.
- "ok" = viewers that got >= 99 % of the stream in real time with no mismatch. Ladder: a server that
  fails an N is not run at larger N; one bisection step follows.
- dp Gbit/s and busy cores are measured over the same steady-state window (every viewer on):
  new TCP payload bytes the dataplane sent, and the worker's busy TSC cycles (iterations that
  did work, counted by the worker) / TSC Hz / seconds; nginx cores = worker utime+stime + CPU 0 softirq (/proc/stat). Core-s per
  Gbit = cores / delivered Gbit/s, lower is better; nginx/dp is the headline ratio. "swarm busy"
  is the DPDK generator's own busy-cycle share of CPU 1; for nginx, "CPU 1 busy" is all of CPU 1's
  non-idle time (player, its kernel network work and the publisher, /proc/stat).
- Busy cycles and idle iterations: the worker visits only viewers that have something to send
  (a ready list), so an iteration with nothing to do costs a few hundred cycles and busy cores
  track the worker's real load up to a saturated core (1.0).

$REPORT
<!-- bench-rtmp:end -->
EOF
)
DOC="$ROOT/BENCHMARKS.md"
[ -f "$DOC" ] || printf '# lifecast benchmarks\n\nEach section is written by its benchmark script.\n\n' >"$DOC"
python3 - "$DOC" "$SECTION" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2]
doc = open(path).read()
pat = re.compile(r"<!-- bench-rtmp:begin.*?<!-- bench-rtmp:end -->", re.S)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
EOF
echo "bench: wrote the bench-rtmp section of BENCHMARKS.md"
