#!/usr/bin/env bash
# RTMP through the dataplane across a lossy link: the client side goes
# through tests/tools/net_impair (3% loss and 10 ms delay each way; this
# kernel has no sch_netem), publisher included. 2 ffmpeg recordings and 10
# cp_rtmpplay viewers must still get byte-identical frames; the dataplane
# must have retransmitted.
. "$(dirname "$0")/test_fanout_common.bash"
fo_init
[ -x "$TOOLS/net_impair" ] || fo_skip "$TOOLS/net_impair not built"
fo_up
IMPAIR_MAC=02:00:c6:12:00:f1
fo_client ip addr flush dev lc-cli0 || fo_fail "flush lc-cli0"
fo_client ip link set lc-cli0 arp off
fo_client ip link set lc-cli0 address "$IMPAIR_MAC"
fo_bg impair ip netns exec "$FO_CLIENT_NS" "$TOOLS/net_impair" --wire lc-cli0 --tap lc-cli1 \
	--loss 3 --delay 10 --dir both --seed 11 --duration 170 --stats "$FO_TMP/impair.stats"
IMPAIR=$FO_LAST_PID
for ((k = 0; k < 50; k++)); do fo_client ip link show lc-cli1 >/dev/null 2>&1 && break; sleep 0.1; done
fo_client ip link set lc-cli1 address 02:00:c6:12:00:01 || fo_fail "net_impair did not create lc-cli1"
fo_client ip addr add 198.18.0.1/24 dev lc-cli1
fo_client ip link set lc-cli1 up
fo_client ping -c 3 -i 0.2 -W 2 "$FO_ADDR" >/dev/null || fo_fail "no ping through the impaired link"
ret0=$(fo_stat tcp_retransmits)

REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 18 600
URL=rtmp://$FO_ADDR/test/lossy
fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 15 || fo_fail "the dataplane never ingested the published stream"
sleep 1.5
fo_rtmpplay play --url "$URL" --ref "$REF" -n 10 --seconds 11 --min-video 200
PLAY=$FO_LAST_PID
fo_record_ffmpeg ff1 "$URL" 10; F1=$FO_LAST_PID
fo_record_ffmpeg ff2 "$URL" 10; F2=$FO_LAST_PID
fo_wait "$PLAY" "$F1" "$F2"
grep '^RESULT rtmpplay_summary' "$FO_TMP/play.log" | sed 's/rtmpplay_summary/fanout_lossy_viewers/'
grep -q 'rtmpplay_summary viewers=10 ok=10 mismatches=0 ' "$FO_TMP/play.log" ||
	fo_check_fail "viewers over the lossy link: $(grep 'ok=0' "$FO_TMP/play.log" | head -2)"
for n in ff1 ff2; do fo_check_recording "$n" "$REF" 200; done
ret1=$(fo_stat tcp_retransmits)
kill "$IMPAIR"
wait "$IMPAIR" 2>/dev/null
lost=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^lost=/) { sub("lost=", "", $i); s += $i } } END { print s + 0 }' "$FO_TMP/impair.stats" 2>/dev/null)
fo_assert_num impair_lost_frames "${lost:-0}" -gt 0
fo_assert_num dp_retransmits $((ret1 - ret0)) -gt 0
fo_result "fanout_lossy loss_pct=3 impair_lost=$lost dp_retransmits=$((ret1 - ret0))"
kill "$PUB" 2>/dev/null
fo_finish
