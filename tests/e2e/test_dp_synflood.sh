#!/usr/bin/env bash
# A bounded SYN flood from spoofed sources (198.19.0.0/16, raw socket in the
# client namespace) while `source` transfers run: the dataplane must switch to
# SYN cookies, keep the half-open table within its backlog, and finish every
# transfer intact. SYN-ACKs to the spoofed sources have no route out of the
# dataplane (on-link only), or die in lc-client (no forwarding): they stay
# half-open, as in a real flood.
. "$(dirname "$0")/test_dp_common.bash"

BACKLOG=128
FLOOD_N=${DP_FLOOD_N:-40000}
FLOOD_PPS=${DP_FLOOD_PPS:-4000}
CONNS=16
BYTES=16777216
dp_init dp_tcpclient dp_synflood
LC_DP_CONF="tcp_syn_backlog=$BACKLOG" dp_testbed_up
dp_client ping -c 1 -W 2 "$DP_ADDR" >/dev/null || dp_fail "dataplane does not answer ping"
dp_stats_save "$DP_TMP/stats.base.json"

dp_bg flood ip netns exec "$DP_CLIENT_NS" "$TOOLS/dp_synflood" -d "$DP_ADDR" -p 19 \
	-n "$FLOOD_N" -r "$FLOOD_PPS" -t 30 -s 198.19.0.0/16
FLOOD_PID=$DP_LAST_PID
# Sample the half-open gauge while the flood runs.
dp_bg sampler bash -c "while kill -0 $FLOOD_PID 2>/dev/null; do
	B='$B' bash '$TESTBED' stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"total\"][\"tcp_conns_SYN_RECEIVED\"])' 2>/dev/null
	sleep 0.3; done"
SAMPLER_PID=$DP_LAST_PID
sleep 2
dp_run_clients source source "$CONNS" "$BYTES" 60 || dp_check_fail "source clients during the flood failed"
# The transfers must have run under the flood, not after it.
kill -0 "$FLOOD_PID" 2>/dev/null || dp_check_fail "the flood ended before the transfers did (raise DP_FLOOD_N)"
dp_expect_clean source "$CONNS" "$BYTES"
src_secs=$(dp_field "$DP_OUT" secs)
src_gbps=$(dp_field "$DP_OUT" gbps)
wait "$FLOOD_PID"
wait "$SAMPLER_PID" 2>/dev/null
cat "$DP_TMP/flood.log"
sent=$(dp_field "$(cat "$DP_TMP/flood.log")" sent)
dp_stats_save "$DP_TMP/stats.after.json"
max_syn=$(sort -n "$DP_TMP/sampler.log" | tail -1)
samples=$(grep -c . "$DP_TMP/sampler.log")
cookies=$(dp_stat tcp_syn_cookies_sent "$DP_TMP/stats.after.json")
[ "${sent:-0}" -eq "$FLOOD_N" ] || dp_check_fail "flooder sent ${sent:-0} of $FLOOD_N"
dp_assert_num tcp_syn_cookies_sent "$cookies" -gt 0
dp_assert_num flood_samples "$samples" -gt 3
dp_assert_num max_conns_SYN_RECEIVED "${max_syn:-nan}" -le "$BACKLOG"
dp_assert_num max_conns_SYN_RECEIVED "${max_syn:-nan}" -gt 0
dp_result "dp_synflood flood_sent=$sent flood_pps=$FLOOD_PPS syn_cookies_sent=$cookies max_syn_received=$max_syn backlog=$BACKLOG drop_syn_backlog=$(dp_stat tcp_drop_syn_backlog "$DP_TMP/stats.after.json")"
dp_result "dp_synflood_transfers conns=$CONNS bytes_each=$BYTES ok=$(dp_field "$DP_OUT" ok) mismatches=$(dp_field "$DP_OUT" mismatches) secs=$src_secs gbps=$src_gbps"
dp_finish
