#!/usr/bin/env bash
# flv writer / reader / repair against real tools: rewrite an ffmpeg-made
# H.264+AAC FLV with flv_writer, check it with flvmeta and ffprobe, seek into
# it with ffmpeg and compare decoded frames with the source, then truncate it
# at several offsets and check that --repair yields valid, decodable files.
set -u
cd "${LC_ROOT:-$(dirname "$0")/../..}"
B="${B:-build}"

for t in ffmpeg ffprobe flvmeta python3; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done

tmp=$(mktemp -d /tmp/lc-flv-e2e.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

tool="$B/tools/flv_rewrite"
if [ ! -x "$tool" ]; then
  # Build only what this test needs, so an unrelated broken target elsewhere
  # does not hide the result.
  tool="$tmp/flv_rewrite"
  cc -std=gnu11 -O2 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -Wno-unused-parameter \
     -o "$tool" tests/tools/flv_rewrite.c flv/*.c || fail "cannot build flv_rewrite"
fi

# Scans an FLV: prints "<end of last whole tag> <whole video NALU tags>".
scan_py='
import struct, sys
d = open(sys.argv[1], "rb").read()
pos = struct.unpack(">I", d[5:9])[0] + 4
end, frames = pos, 0
while pos + 11 <= len(d):
    size = int.from_bytes(d[pos+1:pos+4], "big")
    total = 11 + size + 4
    if pos + total > len(d): break
    if d[pos] == 9 and size >= 2 and d[pos+11] & 0x0f == 7 and d[pos+12] == 1:
        frames += 1
    pos += total
    end = pos
print(end, frames)
'

src="$tmp/src.flv"; out="$tmp/out.flv"
ffmpeg -v error -y -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
  -c:v libx264 -g 50 -c:a aac -t 20 "$src" || fail "ffmpeg could not make the source"

summary=$("$tool" "$src" "$out") || fail "flv_rewrite failed"
echo "$summary"
cmp -s "$src" "$out" && fail "output identical to input (nothing rewritten?)"

# 1. flvmeta --check: zero errors.
chk=$(flvmeta --check "$out" 2>&1); rc=$?
echo "$chk" | tail -3
nerr=$(echo "$chk" | sed -n 's/^\([0-9]*\) error(s).*/\1/p' | tail -1)
[ "$rc" -eq 0 ] && [ "${nerr:-x}" = 0 ] || fail "flvmeta --check: rc=$rc errors=${nerr:-?}"

# 2. keyframe index: as many entries as the source has keyframes, each
#    position on a video keyframe tag.
nkey=$(ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 "$src" | grep -c K)
flvmeta --dump -j "$out" > "$tmp/meta.json" || fail "flvmeta --dump"
idx=$(python3 - "$tmp/meta.json" "$out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
d = open(sys.argv[2], "rb").read()
kf = m["keyframes"]
t, p = kf["times"], kf["filepositions"]
assert len(t) == len(p), "times/filepositions differ"
for pos in p:
    pos = int(pos)
    assert d[pos] == 9 and d[pos + 11] >> 4 == 1, "position %d is not a video keyframe" % pos
assert m["width"] == 640 and m["height"] == 360, "dimensions %r x %r" % (m["width"], m["height"])
assert int(m["filesize"]) == len(d), "filesize %r != %d" % (m["filesize"], len(d))
assert m["videocodecid"] == 7 and m["audiocodecid"] == 10
print(len(t))
PY
) || fail "keyframe index check: $idx"
[ "$idx" -eq "$nkey" ] || fail "keyframe index has $idx entries, source has $nkey keyframes"

# 3. durations within 0.5 s.
dsrc=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src")
dout=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out")
python3 -c "import sys; sys.exit(0 if abs($dsrc - $dout) <= 0.5 else 1)" \
  || fail "duration $dout vs source $dsrc"

# 4. seek to 10 s: decoding starts on a keyframe at or before 10 s (within
#    one GOP) and the frames are the source's frames from that keyframe on.
md5s() { ffmpeg -v error "$@" -map 0:v -fps_mode passthrough -f framemd5 - | grep -v '^#' | awk -F, '{print $NF}'; }
md5s -i "$src" > "$tmp/src.md5"
md5s -noaccurate_seek -ss 10 -i "$out" -frames:v 50 > "$tmp/seek.md5"
nseek=$(wc -l < "$tmp/seek.md5")
[ "$nseek" -eq 50 ] || fail "seek decoded $nseek frames"
ffprobe -v error -select_streams v -show_frames -show_entries frame=key_frame -of csv=p=0 "$src" \
  | grep -E '^[01]' | cut -c1 | grep -n 1 | cut -d: -f1 > "$tmp/keylines"
first=$(head -1 "$tmp/seek.md5")
line=$(grep -n -m1 "$first" "$tmp/src.md5" | cut -d: -f1)
[ -n "$line" ] || fail "first seeked frame is not a source frame"
grep -qx "$line" "$tmp/keylines" || fail "seek started at source frame $line, not a keyframe"
[ "$line" -gt 201 ] || [ "$line" -eq 201 ] || fail "seek landed before 8 s (frame $line)"
[ "$line" -le 251 ] || fail "seek landed after 10 s (frame $line)"
sed -n "${line},$((line + 49))p" "$tmp/src.md5" | cmp -s - "$tmp/seek.md5" \
  || fail "seeked frames differ from source frames $line.."
seek_ms=$( { /usr/bin/time -f %e ffmpeg -v error -ss 10 -i "$out" -map 0:v -frames:v 1 -f null - ; } 2>&1 | tail -1)

# 4b. a keyframe index smaller than the file needs is thinned evenly:
#     10 keyframes into 4 slots keep keyframes 0, 4, 8 (0 s, 8 s, 16 s).
thin="$tmp/thin.flv"
"$tool" --keyframes 4 "$src" "$thin" > /dev/null || fail "rewrite --keyframes 4"
flvmeta --check "$thin" > /dev/null 2>&1 || fail "flvmeta --check on thinned file"
thin_times=$(flvmeta --dump -j "$thin" | python3 -c 'import json,sys; print(",".join("%g" % t for t in json.load(sys.stdin)["keyframes"]["times"]))')
[ "$thin_times" = "0,8,16" ] || fail "thinned index times: $thin_times"
md5s -noaccurate_seek -ss 10 -i "$thin" -frames:v 50 | cmp -s - "$tmp/seek.md5" \
  || fail "seek in thinned file differs"

# 5. truncate and repair.
size=$(stat -c %s "$out")
nrep=0
for off in 57 20011 100003 $((size / 2 + 17)) $((size - 5)); do
  cut="$tmp/cut.flv"; rep="$tmp/rep.flv"
  head -c "$off" "$out" > "$cut"
  read -r end frames < <(python3 -c "$scan_py" "$cut")
  r=$("$tool" --repair "$cut" "$rep") || fail "repair at $off failed"
  echo "cut $off: $r"
  echo "$r" | grep -q " valid_end=$end " || fail "repair at $off: valid_end != $end"
  chk=$(flvmeta --check "$rep" 2>&1); rc=$?
  nerr=$(echo "$chk" | sed -n 's/^\([0-9]*\) error(s).*/\1/p' | tail -1)
  [ "$rc" -eq 0 ] && [ "${nerr:-x}" = 0 ] || { echo "$chk" | tail -5; fail "repaired cut $off: flvmeta errors=${nerr:-?}"; }
  if [ "$frames" -gt 0 ]; then
    md5s -i "$rep" > "$tmp/rep.md5"
    got=$(wc -l < "$tmp/rep.md5")
    [ "$got" -eq "$frames" ] || fail "repaired cut $off decodes $got frames, $frames complete"
    # With B-frames the packets kept are a prefix in decode order, not in
    # presentation order: every decoded picture must be a source picture.
    bad=$(sort "$tmp/src.md5" | comm -13 - <(sort "$tmp/rep.md5") | wc -l)
    [ "$bad" -eq 0 ] || fail "repaired cut $off: $bad decoded frames are not source frames"
    rdur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$rep")
    echo "RESULT repair_cut_${off}_frames=$frames repaired_duration_s=$rdur"
  fi
  nrep=$((nrep + 1))
done

echo "RESULT $summary"
echo "RESULT flvmeta_errors=0 keyframes_indexed=$idx source_keyframes=$nkey"
echo "RESULT duration_src_s=$dsrc duration_out_s=$dout"
echo "RESULT seek_10s_start_frame=$((line - 1)) frames_identical=$nseek seek_decode_s=$seek_ms"
echo "RESULT thinned_index_times=$thin_times"
echo "RESULT repaired_files_ok=$nrep"
exit 0
