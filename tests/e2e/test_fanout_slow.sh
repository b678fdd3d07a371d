#!/usr/bin/env bash
# A slow viewer does not slow the others. The viewer sits in its own
# namespace behind lc-client, on a veth shaped with tbf to 200 kbit/s (this
# kernel has no sch_netem; tbf is the real thing for a rate cap); the
# dataplane reaches it through its gateway (lc-client forwards). The stream
# is ~1 Mbit/s, so the slow viewer falls behind and must skip whole GOPs:
# its messages are still a valid run between skips (cp_rtmpplay
# --expect-skips), the skips are counted by the dataplane, and the 20 fast
# viewers plus 2 ffmpeg recordings receive every message, none skipped.
. "$(dirname "$0")/test_fanout_common.bash"
command -v tc >/dev/null || fo_skip "tc missing"
fo_init
SLOW_NS=lc-slow-$LC_TB_NAME
export LC_DP_CONF="gateway=198.18.0.1;rtmp_skip_backlog=256k"
fo_up
ip netns del "$SLOW_NS" 2>/dev/null
ip netns add "$SLOW_NS" || fo_fail "netns $SLOW_NS"
fo_on_exit "ip netns del $SLOW_NS"
ip link add fos0 netns "$FO_CLIENT_NS" type veth peer name fos1 netns "$SLOW_NS" || fo_fail "veth"
fo_client sysctl -qw net.ipv4.ip_forward=1
fo_client sysctl -qw net.ipv4.conf.all.rp_filter=0
fo_client ip addr add 198.18.1.1/24 dev fos0
fo_client ip link set fos0 up
ip -n "$SLOW_NS" link set lo up
ip -n "$SLOW_NS" addr add 198.18.1.2/24 dev fos1
ip -n "$SLOW_NS" link set fos1 up
ip -n "$SLOW_NS" route add default via 198.18.1.1
fo_client tc qdisc add dev fos0 root tbf rate 200kbit burst 8kb latency 300ms ||
	fo_skip "tbf not available"
ip netns exec "$SLOW_NS" ping -c 2 -i 0.2 -W 2 "$FO_ADDR" >/dev/null ||
	fo_fail "no route from the slow namespace through the dataplane's gateway"

REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 26 1000
URL=rtmp://$FO_ADDR/test/slow
fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
sleep 1
skips0=$(fo_stat rtmp_skips)
fo_bg slow ip netns exec "$SLOW_NS" timeout 60 "$TOOLS/cp_rtmpplay" --url "$URL" --ref "$REF" \
	-n 1 --seconds 18 --expect-skips --min-video 20
SLOW=$FO_LAST_PID
sleep 1
fo_rtmpplay fast --url "$URL" --ref "$REF" -n 20 --seconds 15 --min-video 300
FAST=$FO_LAST_PID
fo_record_ffmpeg ff1 "$URL" 14; F1=$FO_LAST_PID
fo_record_ffmpeg ff2 "$URL" 14; F2=$FO_LAST_PID
fo_wait "$FAST" "$F1" "$F2" "$SLOW"
skips1=$(fo_stat rtmp_skips)
grep '^RESULT rtmpplay viewer=0 ' "$FO_TMP/slow.log" | sed 's/rtmpplay viewer=0/fanout_slow_viewer/'
grep '^RESULT rtmpplay_summary' "$FO_TMP/fast.log" | sed 's/rtmpplay_summary/fanout_fast_viewers/'
grep -q 'rtmpplay_summary viewers=20 ok=20 mismatches=0 skips=0 ' "$FO_TMP/fast.log" ||
	fo_check_fail "fast viewers disturbed: $(grep 'ok=0' "$FO_TMP/fast.log" | head -2)"
# every fast viewer got the same number of video messages (+-1 GOP of join skew)
python3 - "$FO_TMP/fast.log" <<'PY' || fo_check_fail "fast viewers received different amounts"
import re, sys
v = [int(m.group(1)) for m in re.finditer(r'viewer=\d+ ok=1 msgs=\d+ video=(\d+)', open(sys.argv[1]).read())]
sys.exit(0 if v and max(v) - min(v) <= 50 else 1)
PY
grep -q 'ok=1' "$FO_TMP/slow.log" || fo_check_fail "slow viewer's stream invalid: $(grep why= "$FO_TMP/slow.log")"
slow_skips=$(grep -o 'viewer=0 ok=[01] [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* skips=[0-9]*' "$FO_TMP/slow.log" | grep -o 'skips=[0-9]*' | cut -d= -f2)
fo_assert_num slow_viewer_skips "${slow_skips:-0}" -gt 0
fo_assert_num dataplane_skips $((skips1 - skips0)) -gt 0
for n in ff1 ff2; do fo_check_recording "$n" "$REF" 300; done
fo_result "fanout_slow dp_skips=$((skips1 - skips0)) slow_viewer_skips=${slow_skips:-0} link=200kbit stream_kbit=1000"
kill "$PUB" 2>/dev/null
fo_finish
