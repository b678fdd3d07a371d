#!/usr/bin/env bash
# The control plane dies (kill -9) during playback: the publisher keeps
# streaming and 5 real viewers (3 ffmpeg, 2 rtmpdump) record on without a
# frame gap (contiguous run of the published frames). After lifecast-cp is
# restarted it resynchronises with the dataplane: a new viewer can join the
# running stream and a new publisher can publish a second stream, both
# verified message by message.
. "$(dirname "$0")/test_fanout_common.bash"
fo_init
fo_up
REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 30 800
REF2=$FO_TMP/ref2.flv
fo_make_ref "$REF2" 12 500 testsrc2
URL=rtmp://$FO_ADDR/test/cpkill

fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
sleep 2
pids=()
for i in 1 2 3; do fo_record_ffmpeg "ff$i" "$URL" 12; pids+=("$FO_LAST_PID"); done
for i in 1 2; do fo_record_rtmpdump "rd$i" "$URL" 12; pids+=("$FO_LAST_PID"); done
sleep 3
cp=$(fo_cp_pid)
[ -n "$cp" ] || fo_fail "no lifecast-cp pid"
fo_log "kill -9 lifecast-cp ($cp) during playback"
kill -9 "$cp"
in0=$(fo_stat rtmp_ingest_msgs)
sleep 3
in1=$(fo_stat rtmp_ingest_msgs)
fo_assert_num ingest_while_cp_dead $((in1 - in0)) -gt 50
fo_log "restarting lifecast-cp"
fo_tb cp-start >"$FO_TMP/cp-restart.log" 2>&1 || fo_fail "lifecast-cp restart: $(cat "$FO_TMP/cp-restart.log")"
resync=$(fo_tb cp-log | grep -o "resync done: [0-9]* sessions, [0-9]* streams" | tail -1)
fo_result "fanout_cpkill cp_down_s=3 ingest_msgs_while_down=$((in1 - in0)) ${resync// /_}"
case "$resync" in *": 0 sessions"*|"") fo_check_fail "no sessions resynced after the restart ($resync)" ;; esac
# While the recordings go on: a new viewer of the running stream, and a new
# publisher of a second stream with its own viewers.
fo_publish pub2 "$REF2" "rtmp://$FO_ADDR/test/second"
PUB2=$FO_LAST_PID
fo_rtmpplay late --url "$URL" --ref "$REF" -n 3 --seconds 5 --min-video 100
LATE=$FO_LAST_PID
sleep 2.5
fo_rtmpplay second --url "rtmp://$FO_ADDR/test/second" --ref "$REF2" -n 3 --seconds 5 --min-video 100
SECOND=$FO_LAST_PID
fo_wait "${pids[@]}" "$LATE" "$SECOND"
for n in ff1 ff2 ff3 rd1 rd2; do fo_check_recording "$n" "$REF" 250; done
grep '^RESULT rtmpplay_summary' "$FO_TMP/late.log" | sed 's/rtmpplay_summary/cpkill_late_viewers/'
grep '^RESULT rtmpplay_summary' "$FO_TMP/second.log" | sed 's/rtmpplay_summary/cpkill_new_publisher/'
grep -q 'rtmpplay_summary viewers=3 ok=3 ' "$FO_TMP/late.log" || fo_check_fail "late viewers after the restart: $(grep why= "$FO_TMP/late.log" | head -2)"
grep -q 'rtmpplay_summary viewers=3 ok=3 ' "$FO_TMP/second.log" || fo_check_fail "viewers of the new publisher: $(grep why= "$FO_TMP/second.log" | head -2)"
kill "$PUB" "$PUB2" 2>/dev/null
fo_finish
