#!/usr/bin/env bash
# make bench-tcp: single-worker throughput of the dataplane's `source`
# service over net_memif, next to the Linux stack serving the same pattern
# over a veth pair, measured in the same run.
#
#   dataplane: lifecast-dp (1 worker, idle = poll, memif server, 198.18.0.2)
#              <-memif-> build/tools/dp_tcpsink (DPDK, memif client, 198.18.0.1):
#              one TCP connection, every byte verified, every checksum checked.
#   Linux:     build/tools/dp_ksource in netns lct-bb (198.18.3.2) <-veth->
#              build/tools/dp_tcpclient -m source -c 1 in netns lct-ba, every
#              byte verified; once with the default offloads (TSO/GSO/GRO) and
#              once with them off (MTU-sized packets, as the dataplane sends).
# Each side is pinned to its own CPU (server side CPU 0, client side CPU 1).
#
# Environment: B=build, BENCH_SECONDS=10, BENCH_NO_DOC=1 (do not rewrite the
# bench-tcp section of BENCHMARKS.md). Needs root. Prints a table; exits 1 when
# a measurement failed (nothing received, or a verification error).
set -u

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1
B="${B:-build}"
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
SECS=${BENCH_SECONDS:-10}
RUN=/run/lifecast
MEMIF_SOCK=$RUN/bench-memif.sock
STATS_SOCK=$RUN/bench-dp.sock
DP_PREFIX=lc-bench-dp
SINK_PREFIX=lc-bench-sink
NS_A=lct-ba
NS_B=lct-bb
TMP=$(mktemp -d /tmp/lc-bench-tcp.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del $NS_A 2>/dev/null
	ip netns del $NS_B 2>/dev/null
	rm -f "$MEMIF_SOCK" "$STATS_SOCK"
	rm -rf "/var/run/dpdk/$DP_PREFIX" "/var/run/dpdk/$SINK_PREFIX" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench-tcp: $*" >&2; exit 1; }
field() { sed -n "s/.*[ :]$2=\([^ ]*\).*/\1/p" <<<"$1" | head -1; }

[ "$(id -u)" -eq 0 ] || die "needs root"
for t in "$B/lifecast-dp" "$B/tools/dp_tcpsink" "$B/tools/dp_ksource" "$B/tools/dp_tcpclient"; do
	[ -x "$t" ] || die "$t missing (make all)"
done
mkdir -p "$RUN"
rm -f "$MEMIF_SOCK" "$STATS_SOCK"

# ---- 1. dataplane over memif ----
cat >"$TMP/lifecast.conf" <<EOF
[dataplane]
address = 198.18.0.2/24
exception_iface =
idle = poll
stats_socket = $STATS_SOCK
EOF
# Main lcore and the single worker on CPU 0 (the main lcore only serves the
# stats socket), the sink alone on CPU 1.
"$B/lifecast-dp" --lcores 0@0,1@0 --no-huge -m 512 --no-pci --file-prefix $DP_PREFIX \
	--vdev "net_memif0,role=server,socket=$MEMIF_SOCK,socket-abstract=no" --log-level='*:warning' \
	-- -c "$TMP/lifecast.conf" >"$TMP/dp.log" 2>&1 &
DP_PID=$!
PIDS+=("$DP_PID")
for ((k = 0; k < 100; k++)); do
	[ -S "$MEMIF_SOCK" ] && [ -S "$STATS_SOCK" ] && break
	kill -0 $DP_PID 2>/dev/null || { cat "$TMP/dp.log"; die "lifecast-dp exited"; }
	sleep 0.1
done
[ -S "$MEMIF_SOCK" ] || { cat "$TMP/dp.log"; die "no memif socket from lifecast-dp"; }

timeout $((SECS + 40)) "$B/tools/dp_tcpsink" -l 1 --no-huge -m 256 --no-pci \
	--file-prefix $SINK_PREFIX --no-telemetry --log-level='*:warning' \
	--vdev "net_memif0,role=client,socket=$MEMIF_SOCK,socket-abstract=no" \
	-- -l 198.18.0.1 -r 198.18.0.2 -p 19 -T "$SECS" -a 2 >"$TMP/sink.log" 2>&1
SINK_RC=$?
DP_LINE=$(grep '^dp_tcpsink: bytes' "$TMP/sink.log")
kill "$DP_PID" 2>/dev/null
wait "$DP_PID" 2>/dev/null
if [ $SINK_RC -ne 0 ] || [ -z "$DP_LINE" ]; then
	cat "$TMP/sink.log"
	tail -20 "$TMP/dp.log"
	die "dataplane measurement failed (dp_tcpsink rc=$SINK_RC)"
fi
DP_GBPS=$(field "$DP_LINE" gbps)
DP_MPPS=$(field "$DP_LINE" mpps)
DP_BYTES=$(field "$DP_LINE" bytes)
DP_PKTS=$(field "$DP_LINE" pkts)

# ---- 2. Linux over veth ----
ip netns del $NS_A 2>/dev/null
ip netns del $NS_B 2>/dev/null
ip netns add $NS_A && ip netns add $NS_B || die "netns"
ip link add lct-bva netns $NS_A type veth peer name lct-bvb netns $NS_B || die "veth"
ip -n $NS_A addr add 198.18.3.1/24 dev lct-bva
ip -n $NS_B addr add 198.18.3.2/24 dev lct-bvb
for ns in $NS_A $NS_B; do ip -n $ns link set lo up; done
ip -n $NS_A link set lct-bva up
ip -n $NS_B link set lct-bvb up
ip netns exec $NS_B taskset -c 0 "$B/tools/dp_ksource" -a 198.18.3.2 -p 19 -T $((SECS * 3 + 60)) \
	>"$TMP/ksource.log" 2>&1 &
PIDS+=("$!")
for ((k = 0; k < 50; k++)); do
	ip netns exec $NS_B ss -Hltn "sport = :19" | grep -q . && break
	sleep 0.1
done

# linux_run LABEL: one timed single-connection run; sets L_GBPS L_MPPS L_PKTS L_BYTES.
linux_run() {
	local rx0 rx1 out
	rx0=$(ip netns exec $NS_A cat /sys/class/net/lct-bva/statistics/rx_packets)
	out=$(ip netns exec $NS_A taskset -c 1 timeout $((SECS + 30)) "$B/tools/dp_tcpclient" \
		-m source -a 198.18.3.2 -c 1 -d "$SECS" 2>"$TMP/kclient-$1.err")
	local rc=$?
	rx1=$(ip netns exec $NS_A cat /sys/class/net/lct-bva/statistics/rx_packets)
	if [ $rc -ne 0 ] || [ "$(field "$out" mismatches)" != 0 ]; then
		echo "$out"
		cat "$TMP/kclient-$1.err"
		die "Linux measurement '$1' failed (rc=$rc)"
	fi
	L_BYTES=$(field "$out" rx_bytes)
	L_GBPS=$(field "$out" gbps)
	L_PKTS=$((rx1 - rx0))
	L_MPPS=$(awk -v p="$L_PKTS" -v s="$(field "$out" secs)" 'BEGIN { printf "%.3f", p / s / 1e6 }')
}
linux_run offload
LO_GBPS=$L_GBPS LO_MPPS=$L_MPPS LO_PKTS=$L_PKTS LO_BYTES=$L_BYTES
for ns_if in "$NS_A lct-bva" "$NS_B lct-bvb"; do
	set -- $ns_if
	ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
done
linux_run mtu
LM_GBPS=$L_GBPS LM_MPPS=$L_MPPS LM_PKTS=$L_PKTS LM_BYTES=$L_BYTES

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
avgpkt() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }'; }
CPU=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
NCPU=$(nproc)
TABLE=$(
	printf '| %-46s | %8s | %8s | %14s | %16s |\n' "single TCP flow, source pattern, ${SECS}s" "Gbit/s" "Mpps" "bytes/packet" "dataplane/this"
	printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "----------" "----------" "----------------" "------------------"
	printf '| %-46s | %8s | %8s | %14s | %16s |\n' "lifecast-dp, 1 worker (poll), net_memif" "$DP_GBPS" "$DP_MPPS" "$(avgpkt "$DP_BYTES" "$DP_PKTS")" "1.00"
	printf '| %-46s | %8s | %8s | %14s | %16s |\n' "Linux, veth, default offloads (TSO/GSO/GRO)" "$LO_GBPS" "$LO_MPPS" "$(avgpkt "$LO_BYTES" "$LO_PKTS")" "$(ratio "$DP_GBPS" "$LO_GBPS")"
	printf '| %-46s | %8s | %8s | %14s | %16s |\n' "Linux, veth, offloads off (MTU packets)" "$LM_GBPS" "$LM_MPPS" "$(avgpkt "$LM_BYTES" "$LM_PKTS")" "$(ratio "$DP_GBPS" "$LM_GBPS")"
)
echo
echo "$TABLE"
echo
echo "RESULT bench_tcp dp_gbps=$DP_GBPS dp_mpps=$DP_MPPS linux_gbps=$LO_GBPS linux_mpps=$LO_MPPS linux_mtu_gbps=$LM_GBPS linux_mtu_mpps=$LM_MPPS dp_over_linux=$(ratio "$DP_GBPS" "$LO_GBPS") dp_over_linux_mtu=$(ratio "$DP_GBPS" "$LM_GBPS")"

[ "${BENCH_NO_DOC:-0}" = 1 ] && exit 0
DOC="$ROOT/BENCHMARKS.md"
SECTION=$(cat <<EOF
<!-- bench-tcp:begin (generated by scripts/bench-tcp.sh; edit the script, not this section) -->
## bench-tcp: dataplane TCP vs the Linux stack

Measured here on a shared 2-core VM ($CPU, $NCPU vCPUs, KVM), $(date -u +%Y-%m-%d),
with \`make bench-tcp\` (= \`bash scripts/bench-tcp.sh\`, BENCH_SECONDS=$SECS).
Other work was running on the same two vCPUs, so treat the numbers as indicative.

- **Dataplane**: \`lifecast-dp\` with one worker (\`idle = poll\`), serving \`source\` (port 19) on
  a \`net_memif\` server port; \`tests/tools/dp_tcpsink\`, a second DPDK process on the memif
  client side, opens one TCP connection, ACKs every 2nd segment, and verifies every payload byte
  and every TCP checksum. Dataplane main lcore and worker on CPU 0, sink on CPU 1.
- **Linux**: \`tests/tools/dp_ksource\` (kernel sockets, same byte pattern) in one netns, the
  kernel client \`dp_tcpclient -m source -c 1\` in another, joined by a veth pair, every byte
  verified; server on CPU 0, client on CPU 1. Once with veth's default offloads (TSO/GSO/GRO:
  "packets" are then up to 64 KB super-packets), once with them off (MTU-sized packets, the
  dataplane's situation).
- Gbit/s is verified payload goodput; packets/s counts payload segments as the receiver saw them.

$TABLE

Dataplane / Linux (default offloads) = $(ratio "$DP_GBPS" "$LO_GBPS"); dataplane / Linux (offloads
off) = $(ratio "$DP_GBPS" "$LM_GBPS").
<!-- bench-tcp:end -->
EOF
)
if [ ! -f "$DOC" ]; then
	printf '# lifecast benchmarks\n\nEach section is written by its benchmark script.\n\n' >"$DOC"
fi
python3 - "$DOC" "$SECTION" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2]
doc = open(path).read()
pat = re.compile(r"<!-- bench-tcp:begin.*?<!-- bench-tcp:end -->", re.S)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(doc)
EOF
echo "bench-tcp: wrote the bench-tcp section of BENCHMARKS.md"
