#!/usr/bin/env bash
# Publisher disconnect and republish within the grace period: viewers stay
# attached and keep playing; each recording decodes as one file with
# monotonic timestamps, and holds frames of both publishers (the first
# publisher's run, then the second's from its first keyframe).
. "$(dirname "$0")/test_fanout_common.bash"
fo_init
fo_up
REF=$FO_TMP/ref.flv
REF2=$FO_TMP/ref2.flv
fo_make_ref "$REF" 8 600
fo_make_ref "$REF2" 10 600 testsrc2
URL=rtmp://$FO_ADDR/test/again

fo_publish pub1 "$REF" "$URL"
PUB1=$FO_LAST_PID
fo_wait_ingest 10 || fo_fail "the dataplane never ingested the published stream"
sleep 1
pids=()
for i in 1 2; do fo_record_ffmpeg "ff$i" "$URL" 12; pids+=("$FO_LAST_PID"); done
fo_record_rtmpdump rd1 "$URL" 12; pids+=("$FO_LAST_PID")
fo_wait "$PUB1" # first publisher ends after ~8 s
sleep 1         # well within publish_grace (5 s)
fo_publish pub2 "$REF2" "$URL"
PUB2=$FO_LAST_PID
fo_wait "${pids[@]}"
kill "$PUB2" 2>/dev/null
for n in ff1 ff2 rd1; do
	rec="$FO_TMP/$n.flv"
	[ -s "$rec" ] || { fo_check_fail "$n recorded nothing"; continue; }
	errs=$(ffmpeg -nostdin -v error -i "$rec" -f null - 2>&1)
	[ -z "$errs" ] || fo_check_fail "$n decode errors: $(echo "$errs" | head -2)"
	fo_check_monotonic "$n"
	ffmpeg -nostdin -v error -i "$rec" -map 0:v -c copy -f framemd5 -y "$FO_TMP/$n.md5"
	out=$(python3 - "$REF.md5" "$REF2.md5" "$FO_TMP/$n.md5" <<'PY'
import sys
def load(p):
    return [tuple(x.strip() for x in l.split(',')[4:6]) for l in open(p) if not l.startswith('#')]
a, b, got = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
sa, sb = set(a), set(b)
na = sum(1 for g in got if g in sa)
nb = sum(1 for g in got if g in sb)
other = len(got) - na - nb
# order: every frame of the first publisher precedes every frame of the second
last_a = max([i for i, g in enumerate(got) if g in sa], default=-1)
first_b = min([i for i, g in enumerate(got) if g in sb], default=len(got))
print(len(got), na, nb, other, int(last_a < first_b))
PY
	)
	set -- $out
	fo_result "fanout_republish viewer=$n frames=$1 first_publisher=$2 second_publisher=$3 foreign=$4 ordered=$5"
	[ "$2" -ge 50 ] && [ "$3" -ge 50 ] && [ "$4" = 0 ] && [ "$5" = 1 ] ||
		fo_check_fail "$n: expected frames of both publishers in order, got $out"
done
fo_finish
