#!/usr/bin/env bash
# ICMP echo answered by the dataplane, and the exception path: TCP to a port
# the dataplane does not serve reaches a kernel socket in lc-node through the
# TAP lc0 (same IP and MAC), both ways, with the content verified.
. "$(dirname "$0")/test_dp_common.bash"

EXC_ECHO_PORT=7007
EXC_SRC_PORT=1919
dp_init dp_tcpclient dp_ksource
dp_testbed_up
dp_stats_save "$DP_TMP/stats.base.json"

# 1. ping: 10 echo requests of 56 and 1400 bytes, all answered.
for size in 56 1400; do
	out=$(dp_client ping -c 10 -i 0.05 -W 2 -s $size "$DP_ADDR" 2>&1)
	echo "$out" | tail -2
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	[ "${rx:-0}" -eq 10 ] || dp_check_fail "ping -s $size: ${rx:-0} of 10 replies"
	rtt=$(sed -n 's/.*= [0-9.]*\/\([0-9.]*\)\/.*/\1/p' <<<"$out")
	dp_result "dp_ping size=$size replies=${rx:-0} avg_rtt_ms=${rtt:-nan}"
done
dp_stats_save "$DP_TMP/stats.ping.json"
replies=$(( $(dp_stat icmp_echo_replies "$DP_TMP/stats.ping.json") - $(dp_stat icmp_echo_replies "$DP_TMP/stats.base.json") ))
dp_assert_num icmp_echo_replies_by_dataplane "$replies" -ge 20

# 2. Exception path: kernel servers on lc0's address in lc-node.
dp_bg kecho ip netns exec "$DP_NODE_NS" "$TOOLS/dp_ksource" -m echo -a "$DP_ADDR" -p $EXC_ECHO_PORT -T 150
dp_bg ksrc ip netns exec "$DP_NODE_NS" "$TOOLS/dp_ksource" -m source -a "$DP_ADDR" -p $EXC_SRC_PORT -T 150
dp_wait_listen "$DP_NODE_NS" $EXC_ECHO_PORT 5 && dp_wait_listen "$DP_NODE_NS" $EXC_SRC_PORT 5 ||
	dp_fail "kernel servers in lc-node did not start"
dp_run_clients exc_echo echo 4 1048576 40 $EXC_ECHO_PORT || dp_check_fail "echo through the exception path failed"
dp_expect_clean exc_echo 4 1048576
dp_result "dp_exception_echo conns=4 bytes_each=1048576 secs=$(dp_field "$DP_OUT" secs) gbps=$(dp_field "$DP_OUT" gbps)"
dp_run_clients exc_source source 4 4194304 40 $EXC_SRC_PORT || dp_check_fail "source through the exception path failed"
dp_expect_clean exc_source 4 4194304
dp_result "dp_exception_source conns=4 bytes_each=4194304 secs=$(dp_field "$DP_OUT" secs) gbps=$(dp_field "$DP_OUT" gbps)"

dp_stats_save "$DP_TMP/stats.after.json"
exc_rx=$(( $(dp_stat exc_rx_pkts "$DP_TMP/stats.after.json") - $(dp_stat exc_rx_pkts "$DP_TMP/stats.ping.json") ))
exc_tx=$(( $(dp_stat exc_tx_pkts "$DP_TMP/stats.after.json") - $(dp_stat exc_tx_pkts "$DP_TMP/stats.ping.json") ))
dp_assert_num exc_rx_pkts "$exc_rx" -gt 100
dp_assert_num exc_tx_pkts "$exc_tx" -gt 100
dp_result "dp_exception_path exc_rx_pkts=$exc_rx exc_tx_pkts=$exc_tx"

# 3. A port nobody serves is refused (RST from the kernel via lc0).
dp_run_clients refused echo 1 1024 5 7999
[ "$(dp_field "$DP_OUT" connect_errors)" = 1 ] || dp_check_fail "connection to an unserved port was not refused"
dp_finish
