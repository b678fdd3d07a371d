#!/usr/bin/env bash
# 200 concurrent viewers through the dataplane: 190 cp_rtmpplay viewers (one
# process, each checking every audio/video message against the published
# sequence), 6 ffmpeg and 4 rtmpdump recordings checked frame by frame.
# Reports SYN-to-first-video p50/p99 and the dataplane's zero-copy ratio
# (payload bytes copied / payload bytes sent), which must stay below 0.01.
. "$(dirname "$0")/test_fanout_common.bash"
NPLAY=${FO_SCALE_PLAYERS:-190}
fo_init
fo_up
REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 20 500
URL=rtmp://$FO_ADDR/test/scale

fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
sleep 1.5
base="$FO_TMP/stats.base.json"
fo_tb stats >"$base"
fo_rtmpplay play --url "$URL" --ref "$REF" -n "$NPLAY" --ramp 10 --seconds 8 --min-video 150
PLAY=$FO_LAST_PID
pids=("$PLAY")
for i in 1 2 3 4 5 6; do fo_record_ffmpeg "ff$i" "$URL" 8; pids+=("$FO_LAST_PID"); done
for i in 1 2 3 4; do fo_record_rtmpdump "rd$i" "$URL" 8; pids+=("$FO_LAST_PID"); done
sleep 5
fo_tb stats >"$FO_TMP/stats.peak.json"
viewers=$(fo_stat rtmp_viewers "$FO_TMP/stats.peak.json")
fo_wait "${pids[@]}"
fo_tb stats >"$FO_TMP/stats.after.json"
sum=$(grep '^RESULT rtmpplay_summary' "$FO_TMP/play.log")
echo "$sum" | sed 's/rtmpplay_summary/fanout_scale_players/'
grep -q "rtmpplay_summary viewers=$NPLAY ok=$NPLAY " "$FO_TMP/play.log" ||
	fo_check_fail "cp_rtmpplay: not every viewer verified ($(grep -c 'ok=0' "$FO_TMP/play.log") failed; $(grep 'ok=0' "$FO_TMP/play.log" | head -2))"
for n in ff1 ff2 ff3 ff4 ff5 ff6 rd1 rd2 rd3 rd4; do fo_check_recording "$n" "$REF" 150; done
sent=$(( $(fo_stat rtmp_payload_bytes_sent "$FO_TMP/stats.after.json") - $(fo_stat rtmp_payload_bytes_sent "$base") ))
copied=$(( $(fo_stat rtmp_payload_bytes_copied "$FO_TMP/stats.after.json") - $(fo_stat rtmp_payload_bytes_copied "$base") ))
ratio=$(python3 -c "import sys; s, c = int(sys.argv[1]), int(sys.argv[2]); print('%.5f' % (c / s if s else 1))" "$sent" "$copied")
fo_result "fanout_scale viewers=$((NPLAY + 10)) dp_viewers_peak=$viewers payload_bytes_sent=$sent payload_bytes_copied=$copied copy_ratio=$ratio $(echo "$sum" | grep -o 'join_p50_ms=[^ ]* join_p99_ms=[^ ]*')"
fo_assert_num dp_viewers_peak "$viewers" -ge $((NPLAY + 5))
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 0.01 else 1)" "$ratio" ||
	fo_check_fail "zero-copy ratio $ratio >= 0.01"
kill "$PUB" 2>/dev/null
fo_finish
