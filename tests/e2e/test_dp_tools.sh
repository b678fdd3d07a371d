#!/usr/bin/env bash
# The dataplane test tools checked against the Linux TCP stack, without the
# dataplane: if these are wrong, every other test_dp_* suite means nothing.
#   - dp_tcpclient echo/source/short against dp_ksource over a veth pair,
#     with content verification; and it must FAIL on corrupted bytes, on a
#     refused connection and on an unreachable peer (deadline);
#   - dp_synflood refuses destinations and sources outside 198.18.0.0/15,
#     and a flood at a Linux listener makes it send SYN cookies while
#     verified transfers keep working;
#   - dp_tcpsink (DPDK, net_tap) completes a verified transfer from the
#     Linux stack, and reports the corrupted byte when there is one.
# Namespaces lct-a / lct-b / lct-s, addresses 198.18.1.0/24 and 198.18.2.0/24.
. "$(dirname "$0")/test_dp_common.bash"

dp_init dp_tcpclient dp_ksource dp_synflood dp_tcpsink
A=lct-a
S=lct-b
dp_netns_pair "$A" "$S" 198.18.1.1 198.18.1.2
# The flood's spoofed sources route back toward lct-a, which does not forward:
# SYN-ACKs die there, so the half-open entries stay half-open.
ip -n "$S" route add 198.19.0.0/16 via 198.18.1.1

dp_bg ksrc ip netns exec "$S" "$TOOLS/dp_ksource" -a 198.18.1.2 -p 19 -T 170
dp_bg kecho ip netns exec "$S" "$TOOLS/dp_ksource" -m echo -a 198.18.1.2 -p 7 -T 170
dp_bg kbad ip netns exec "$S" "$TOOLS/dp_ksource" -a 198.18.1.2 -p 1919 -T 170 -x 5000000
for p in 7 19 1919; do dp_wait_listen "$S" $p 5 || dp_fail "dp_ksource not listening on $p"; done

client() { ip netns exec "$A" timeout 120 "$TOOLS/dp_tcpclient" "$@" 2>"$DP_TMP/client.err"; }

# 1. Positive transfers: every byte verified, every connection ok.
for spec in "echo 64 16M" "source 64 16M"; do
	set -- $spec
	out=$(client -m "$1" -a 198.18.1.2 -c "$2" -b "$3" -t 60)
	rc=$?
	echo "$out"
	if [ $rc -ne 0 ] || [ "$(dp_field "$out" ok)" != "$2" ] || [ "$(dp_field "$out" mismatches)" != 0 ]; then
		cat "$DP_TMP/client.err"
		dp_check_fail "$1 x$2 x$3 against Linux: rc=$rc"
	fi
	dp_result "tools_kernel_$1 conns=$2 bytes_each=$3 gbps=$(dp_field "$out" gbps) ok=$(dp_field "$out" ok)"
done
want=$((64 * 16 * 1048576))
[ "$(dp_field "$out" rx_bytes)" = "$want" ] || dp_check_fail "source rx_bytes != $want"

out=$(client -m short -a 198.18.1.2 -c 32 -n 3000 -b 1K -t 20)
rc=$?
echo "$out"
[ $rc -eq 0 ] && [ "$(dp_field "$out" ok)" = 3000 ] && [ "$(dp_field "$out" rx_bytes)" = $((3000 * 1024)) ] ||
	dp_check_fail "short x3000 against Linux: rc=$rc"
dp_result "tools_kernel_short conns=3000 secs=$(dp_field "$out" secs)"

# 2. Negative: the verifier must catch a flipped byte at its exact offset.
out=$(client -m source -a 198.18.1.2 -p 1919 -c 4 -b 8M -t 20)
rc=$?
echo "$out"
[ $rc -eq 1 ] && [ "$(dp_field "$out" mismatches)" = 4 ] || dp_check_fail "corruption not detected (rc=$rc)"
grep -q "mismatch: byte 5000000 " "$DP_TMP/client.err" || dp_check_fail "mismatch offset not reported"
out=$(client -m source -a 198.18.1.2 -p 1920 -c 2 -b 1M -t 5)
[ $? -eq 1 ] && [ "$(dp_field "$out" connect_errors)" = 2 ] || dp_check_fail "refused connection not reported"
out=$(client -m echo -a 198.18.1.77 -c 2 -b 1M -t 2)
[ $? -eq 1 ] && [ "$(dp_field "$out" timeouts)" = 2 ] || dp_check_fail "deadline not enforced: $out"

# 3. The flooder's address guard, then a flood against Linux syncookies.
for bad in "-d 8.8.8.8" "-d 198.20.0.1" "-d 198.18.1.2 -s 10.0.0.0/16" "-d 198.18.1.2 -s 198.16.0.0/12"; do
	ip netns exec "$A" "$TOOLS/dp_synflood" $bad -n 1 >/dev/null 2>&1
	[ $? -eq 2 ] || dp_check_fail "dp_synflood accepted '$bad'"
done
ip netns exec "$S" sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.tcp_max_syn_backlog=64
ip netns exec "$S" nstat -n >/dev/null
dp_bg flood ip netns exec "$A" "$TOOLS/dp_synflood" -d 198.18.1.2 -p 19 -n 20000 -r 5000 -t 10
FLOOD_PID=$DP_LAST_PID
sleep 1
out=$(client -m source -a 198.18.1.2 -c 8 -b 8M -t 30)
rc=$?
wait "$FLOOD_PID"
echo "$out"; cat "$DP_TMP/flood.log"
cookies=$(ip netns exec "$S" nstat -a TcpExtSyncookiesSent | awk '/SyncookiesSent/ { print $2 }')
sent=$(dp_field "$(cat "$DP_TMP/flood.log")" sent)
[ $rc -eq 0 ] || dp_check_fail "transfers during the flood failed"
[ "${sent:-0}" -eq 20000 ] || dp_check_fail "flooder sent ${sent:-0} of 20000"
[ "${cookies:-0}" -gt 0 ] || dp_check_fail "Linux sent no SYN cookies under the flood"
dp_result "tools_synflood sent=$sent linux_syncookies_sent=${cookies:-0}"

# 4. dp_tcpsink (DPDK over net_tap) against the Linux stack in lct-s.
ip netns del lct-s 2>/dev/null
ip netns add lct-s || dp_fail "netns lct-s"
dp_on_exit "ip netns del lct-s"
dp_on_exit "rm -rf /var/run/dpdk/lct-sink"
ip -n lct-s link set lo up
dp_bg ssrc ip netns exec lct-s "$TOOLS/dp_ksource" -a 0.0.0.0 -p 19 -T 170
dp_bg sbad ip netns exec lct-s "$TOOLS/dp_ksource" -a 0.0.0.0 -p 1919 -T 170 -x 3000000
dp_wait_listen lct-s 1919 5 || dp_fail "dp_ksource in lct-s"
sink() {
	local name=$1
	shift
	ip netns exec lct-s timeout 60 "$TOOLS/dp_tcpsink" -l 1 --no-huge -m 256 --no-pci \
		--file-prefix lct-sink --no-telemetry --log-level='*:critical' \
		--vdev net_tap0,iface=lcts0 -- -l 198.18.2.1 -r 198.18.2.2 "$@" >"$DP_TMP/$name.log" 2>&1 &
	local pid=$! k
	for ((k = 0; k < 100; k++)); do ip -n lct-s link show lcts0 >/dev/null 2>&1 && break; sleep 0.1; done
	ip -n lct-s addr add 198.18.2.2/24 dev lcts0
	ip -n lct-s link set lcts0 up
	wait $pid
}
sink sink_ok -T 20 -b 32000000
rc=$?
out=$(grep '^dp_tcpsink: bytes' "$DP_TMP/sink_ok.log")
cat "$DP_TMP/sink_ok.log"
[ $rc -eq 0 ] && [ "$(dp_field "$out" bytes)" = 32000000 ] && [ "$(dp_field "$out" fin)" = 1 ] &&
	[ "$(dp_field "$out" csum_errors)" = 0 ] || dp_check_fail "dp_tcpsink transfer from Linux (rc=$rc)"
dp_result "tools_tcpsink_tap bytes=$(dp_field "$out" bytes) gbps=$(dp_field "$out" gbps)"
sink sink_bad -T 20 -b 8000000 -p 1919
rc=$?
cat "$DP_TMP/sink_bad.log"
[ $rc -eq 1 ] && grep -q "first mismatch at stream byte 3000000$" "$DP_TMP/sink_bad.log" ||
	dp_check_fail "dp_tcpsink missed the corrupted byte (rc=$rc)"

dp_finish
