#!/usr/bin/env bash
# RTMP through the dataplane with real clients: ffmpeg publishes H.264+AAC to
# rtmp://198.18.0.2/test/NAME (the dataplane ingests, lifecast-cp runs the
# handshake and commands); 3 ffmpeg and 2 rtmpdump viewers join mid-GOP and
# record 10 s each. Every recording must decode cleanly, start on a keyframe,
# and its video packets must be byte-identical to a contiguous run of the
# published ones. The archive (fed by ARCHIVE_MSG copies) must hold a
# recording of the stream too.
. "$(dirname "$0")/test_fanout_common.bash"
fo_init
fo_up
REF=$FO_TMP/ref.flv
fo_make_ref "$REF" 16 800
URL=rtmp://$FO_ADDR/test/clients

fo_publish pub "$REF" "$URL"
PUB=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
sleep 2.5 # join mid-GOP: viewers must start at the cached keyframe
pids=()
for i in 1 2 3; do fo_record_ffmpeg "ff$i" "$URL" 10; pids+=("$FO_LAST_PID"); done
for i in 1 2; do fo_record_rtmpdump "rd$i" "$URL" 10; pids+=("$FO_LAST_PID"); done
fo_wait "${pids[@]}"
for n in ff1 ff2 ff3 rd1 rd2; do fo_check_recording "$n" "$REF" 200; done
fo_wait "$PUB"
grep -q . "$FO_TMP/pub.log" && fo_check_fail "publisher errors: $(head -3 "$FO_TMP/pub.log")"

sent=$(fo_stat rtmp_payload_bytes_sent)
copied=$(fo_stat rtmp_payload_bytes_copied)
fo_result "fanout_clients payload_bytes_sent=$sent payload_bytes_copied=$copied"
fo_assert_num rtmp_payload_bytes_sent "$sent" -gt 0
# The archive got its copies: one recording of test/clients.
sleep 6 # publish_grace: the stream ends, its segment is closed
arch=$(find "/run/lifecast-testbed-$LC_TB_NAME/archive/test/clients" -name '*.flv*' 2>/dev/null | head -1)
if [ -n "$arch" ]; then
	frames=$(ffprobe -v error -select_streams v -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$arch" 2>/dev/null)
	fo_result "fanout_archive file=$(basename "$arch") video_frames=${frames:-0}"
	fo_assert_num archive_video_frames "${frames:-0}" -ge 300
else
	fo_check_fail "no archive recording under test/clients"
fi
fo_finish
