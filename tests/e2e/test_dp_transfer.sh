#!/usr/bin/env bash
# Bulk TCP through the dataplane on a clean link, against the Linux stack:
# 64 connections each push 16 MiB through `echo` (port 7) and get every byte
# back, then 64 connections each receive 16 MiB from `source` (port 19); every
# byte is verified by dp_tcpclient, every connection has a deadline. After the
# run the connection table and mbuf pools must return to their idle counts.
. "$(dirname "$0")/test_dp_common.bash"

CONNS=${DP_CONNS:-64}
BYTES=${DP_BYTES:-16777216}
dp_init dp_tcpclient
dp_testbed_up
dp_stats_save "$DP_TMP/stats.base.json"

dp_run_clients echo echo "$CONNS" "$BYTES" 75 || dp_check_fail "echo clients exited non-zero"
dp_expect_clean echo "$CONNS" "$BYTES"
dp_result "dp_clean_echo conns=$CONNS bytes_each=$BYTES secs=$(dp_field "$DP_OUT" secs) gbps=$(dp_field "$DP_OUT" gbps) mismatches=$(dp_field "$DP_OUT" mismatches)"

dp_run_clients source source "$CONNS" "$BYTES" 75 || dp_check_fail "source clients exited non-zero"
dp_expect_clean source "$CONNS" "$BYTES"
dp_result "dp_clean_source conns=$CONNS bytes_each=$BYTES secs=$(dp_field "$DP_OUT" secs) gbps=$(dp_field "$DP_OUT" gbps) mismatches=$(dp_field "$DP_OUT" mismatches)"

dp_stats_save "$DP_TMP/stats.after.json"
for k in tcp_retransmits tcp_fast_retransmits tcp_rto_events tcp_conns_opened svc_bytes_echoed svc_bytes_sourced; do
	dp_log "$k=$(dp_stat $k "$DP_TMP/stats.after.json")"
done
dp_assert_num svc_bytes_echoed "$(dp_stat svc_bytes_echoed "$DP_TMP/stats.after.json")" -ge $((CONNS * BYTES))
dp_assert_num svc_bytes_sourced "$(dp_stat svc_bytes_sourced "$DP_TMP/stats.after.json")" -ge $((CONNS * BYTES))
dp_assert_num tcp_conns_opened "$(dp_stat tcp_conns_opened "$DP_TMP/stats.after.json")" -ge $((2 * CONNS))
dp_result "dp_clean_stats retransmits=$(dp_stat tcp_retransmits "$DP_TMP/stats.after.json") conns_opened=$(dp_stat tcp_conns_opened "$DP_TMP/stats.after.json")"

# No leak: every connection gone (TIME_WAIT is short in the dataplane) and
# every mbuf back in its pool.
dp_wait_idle 15 "$DP_TMP/stats.base.json" tcp_conns pool_in_use hdr_pool_in_use
dp_finish
