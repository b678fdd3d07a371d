#!/usr/bin/env bash
# 20,000 short connections through the dataplane's `echo` (connect, 1 KiB
# echoed and verified, close), 64 at a time, then no leak: the connection
# table and both mbuf pools return to the counts they had before the run.
. "$(dirname "$0")/test_dp_common.bash"

TOTAL=${DP_SHORT_TOTAL:-20000}
CONC=${DP_SHORT_CONC:-64}
dp_init dp_tcpclient
dp_testbed_up
# The client closes first and keeps TIME_WAIT; let it reuse ports so 20,000
# connections never run out of ephemeral ports.
dp_client sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="10000 60999"
dp_client ping -c 1 -W 2 "$DP_ADDR" >/dev/null || dp_fail "dataplane does not answer ping"
sleep 0.5
dp_stats_save "$DP_TMP/stats.base.json"

dp_client timeout 170 "$TOOLS/dp_tcpclient" -m short -a "$DP_ADDR" -c "$CONC" -n "$TOTAL" -b 1024 \
	-t 20 -T 150 >"$DP_TMP/short.out" 2>"$DP_TMP/short.err"
rc=$?
DP_OUT=$(grep '^dp_tcpclient:' "$DP_TMP/short.out")
echo "$DP_OUT"
head -20 "$DP_TMP/short.err"
[ $rc -eq 0 ] || dp_check_fail "short clients exited $rc"
dp_expect_clean short "$TOTAL" 1024
secs=$(dp_field "$DP_OUT" secs)
cps=$(awk -v n="$TOTAL" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print 0 }')
dp_result "dp_short conns=$TOTAL ok=$(dp_field "$DP_OUT" ok) secs=$secs conns_per_s=$cps"

dp_stats_save "$DP_TMP/stats.after.json"
opened=$(( $(dp_stat tcp_conns_opened "$DP_TMP/stats.after.json") - $(dp_stat tcp_conns_opened "$DP_TMP/stats.base.json") ))
dp_assert_num tcp_conns_opened_during_run "$opened" -ge "$TOTAL"
dp_wait_idle 20 "$DP_TMP/stats.base.json" tcp_conns pool_in_use hdr_pool_in_use
dp_stats_save "$DP_TMP/stats.idle.json"
dp_result "dp_short_idle tcp_conns=$(dp_stat tcp_conns "$DP_TMP/stats.idle.json") pool_in_use=$(dp_stat pool_in_use "$DP_TMP/stats.idle.json") hdr_pool_in_use=$(dp_stat hdr_pool_in_use "$DP_TMP/stats.idle.json") base_pool_in_use=$(dp_stat pool_in_use "$DP_TMP/stats.base.json")"
dp_finish
