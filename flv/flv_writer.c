/* FLV file writer: preamble with reserved onMetaData, tags appended one whole
 * tag per sink write, metadata fixed up in place at close. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flv/flv_amf.h"
#include "flv/flv_codec.h"
#include "flv/flv_writer.h"

/* Measured values; a publisher's value is only a fallback for these. */
struct flv_meta_vals {
	double width, height, framerate, videocodecid, audiocodecid;
	double videodatarate, audiodatarate, audiosamplerate, audiosamplesize, stereo;
};

struct flv_writer {
	struct flv_sink sink;
	uint32_t capacity;       /* keyframe index capacity */
	uint32_t reserve;        /* bytes for publisher properties */
	uint8_t rebase, no_audio, no_video;
	uint8_t started;         /* preamble written */
	uint8_t closed;
	uint8_t have_first;
	int err;                 /* sticky sink error */

	uint32_t first_ts;       /* rebase origin (input timestamps) */
	uint32_t min_ts, max_ts; /* output timestamps */
	uint8_t have_ts;
	uint32_t first_video_ts, last_video_ts;
	uint64_t video_frames;

	struct flv_meta_vals measured, fallback;
	uint16_t have_measured, have_fallback; /* bit per field, see FLV_MV_* */

	uint8_t *extra;          /* publisher properties, AMF0 property encoding */
	size_t extra_len;
	uint32_t extra_count;

	double *kf_times;        /* seconds */
	double *kf_pos;          /* file offsets */
	uint64_t kf_seen;        /* keyframes counted for thinning */
	uint32_t last_kf_ts;
	uint64_t last_kf_pos;

	uint32_t meta_body_size; /* reserved onMetaData body size */
	uint8_t *scratch;        /* one encoded tag */
	size_t scratch_cap;

	struct flv_writer_stats st;
};

enum {
	FLV_MV_WIDTH, FLV_MV_HEIGHT, FLV_MV_FRAMERATE, FLV_MV_VCODEC, FLV_MV_ACODEC,
	FLV_MV_VRATE, FLV_MV_ARATE, FLV_MV_SRATE, FLV_MV_SSIZE, FLV_MV_STEREO, FLV_MV_N_
};

struct flv_mv_key {
	const char *name;
	size_t off;
};

static const struct flv_mv_key flv_mv_keys[FLV_MV_N_] = {
	[FLV_MV_WIDTH] = { "width", offsetof(struct flv_meta_vals, width) },
	[FLV_MV_HEIGHT] = { "height", offsetof(struct flv_meta_vals, height) },
	[FLV_MV_FRAMERATE] = { "framerate", offsetof(struct flv_meta_vals, framerate) },
	[FLV_MV_VCODEC] = { "videocodecid", offsetof(struct flv_meta_vals, videocodecid) },
	[FLV_MV_ACODEC] = { "audiocodecid", offsetof(struct flv_meta_vals, audiocodecid) },
	[FLV_MV_VRATE] = { "videodatarate", offsetof(struct flv_meta_vals, videodatarate) },
	[FLV_MV_ARATE] = { "audiodatarate", offsetof(struct flv_meta_vals, audiodatarate) },
	[FLV_MV_SRATE] = { "audiosamplerate", offsetof(struct flv_meta_vals, audiosamplerate) },
	[FLV_MV_SSIZE] = { "audiosamplesize", offsetof(struct flv_meta_vals, audiosamplesize) },
	[FLV_MV_STEREO] = { "stereo", offsetof(struct flv_meta_vals, stereo) },
};

/* Properties the writer always writes itself; publisher copies are dropped
 * so no name appears twice. */
static const char *const flv_own_keys[] = {
	"duration", "filesize", "hasVideo", "hasAudio", "hasKeyframes", "hasMetadata",
	"canSeekToEnd", "lasttimestamp", "lastkeyframetimestamp", "lastkeyframelocation",
	"keyframes", "padding", "metadatacreator", "datasize", "videosize", "audiosize",
};

#define FLV_META_NAME "onMetaData"
#define FLV_PAD_NAME "padding"
#define FLV_CREATOR "lifecast"

static double *flv_mv(struct flv_meta_vals *v, int k)
{
	return (double *)((char *)v + flv_mv_keys[k].off);
}

static void flv_measure(struct flv_writer *w, int k, double v)
{
	*flv_mv(&w->measured, k) = v;
	w->have_measured |= (uint16_t)(1u << k);
}

static double flv_value(struct flv_writer *w, int k)
{
	if (w->have_measured & (1u << k))
		return *flv_mv(&w->measured, k);
	if (w->have_fallback & (1u << k))
		return *flv_mv(&w->fallback, k);
	return 0;
}

/* ---- construction ---- */

static uint32_t flv_clamp(uint32_t v, uint32_t dflt, uint32_t lo, uint32_t hi)
{
	if (v == 0)
		v = dflt;
	return v < lo ? lo : v > hi ? hi : v;
}

struct flv_writer *flv_writer_open(const struct flv_sink *sink, const struct flv_writer_opts *opts)
{
	struct flv_writer_opts o = { 0 };
	struct flv_writer *w = NULL;

	if (!sink || !sink->write || !sink->pwrite) {
		errno = EINVAL;
		return NULL;
	}
	if (opts)
		o = *opts;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto fail;
	w->sink = *sink;
	w->capacity = flv_clamp(o.keyframe_capacity, FLV_WRITER_KEYFRAMES_DEFAULT, 2,
				FLV_WRITER_KEYFRAMES_MAX);
	w->reserve = o.reserve == 0 ? FLV_WRITER_RESERVE_DEFAULT
				    : (o.reserve > FLV_WRITER_RESERVE_MAX ? FLV_WRITER_RESERVE_MAX : o.reserve);
	w->rebase = o.rebase;
	w->no_audio = o.no_audio;
	w->no_video = o.no_video;
	w->st.index_stride = 1;
	w->kf_times = calloc(w->capacity, sizeof(double));
	w->kf_pos = calloc(w->capacity, sizeof(double));
	w->extra = malloc(w->reserve);
	if (!w->kf_times || !w->kf_pos || !w->extra)
		goto fail;
	return w;
fail:
	flv_writer_free(w);
	errno = ENOMEM;
	return NULL;
}

void flv_writer_free(struct flv_writer *w)
{
	if (!w)
		return;
	free(w->kf_times);
	w->kf_times = NULL;
	free(w->kf_pos);
	w->kf_pos = NULL;
	free(w->extra);
	w->extra = NULL;
	free(w->scratch);
	w->scratch = NULL;
	free(w);
}

/* ---- metadata merge ---- */

static int flv_name_is(const uint8_t *n, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(n, s, len) == 0;
}

/* Remove a property named (n, len) from the extras, if present. */
static void flv_extra_remove(struct flv_writer *w, const uint8_t *n, size_t len)
{
	size_t pos = 0;
	while (pos < w->extra_len) {
		size_t nl = flv_be16(w->extra + pos);
		int vl = flv_amf_skip_value(w->extra + pos + 2 + nl, w->extra_len - pos - 2 - nl, 0);
		size_t plen = 2 + nl + (size_t)(vl < 0 ? 0 : vl); /* stored props are valid */
		if (nl != len || memcmp(w->extra + pos + 2, n, len) != 0) {
			pos += plen;
			continue;
		}
		memmove(w->extra + pos, w->extra + pos + plen, w->extra_len - pos - plen);
		w->extra_len -= plen;
		w->extra_count--;
		return;
	}
}

static void flv_merge_prop(void *arg, const struct flv_amf_prop *p)
{
	struct flv_writer *w = arg;
	double v;

	for (size_t i = 0; i < sizeof(flv_own_keys) / sizeof(flv_own_keys[0]); i++)
		if (flv_name_is(p->name, p->name_len, flv_own_keys[i]))
			return;
	for (int k = 0; k < FLV_MV_N_; k++) {
		if (!flv_name_is(p->name, p->name_len, flv_mv_keys[k].name))
			continue;
		if (flv_amf_get_number(p->value, p->value_len, &v) == 0) {
			*flv_mv(&w->fallback, k) = v;
			w->have_fallback |= (uint16_t)(1u << k);
		}
		return;
	}
	flv_extra_remove(w, p->name, p->name_len);
	if (p->raw_len > w->reserve - w->extra_len) {
		w->st.dropped_props++;
		return;
	}
	memcpy(w->extra + w->extra_len, p->raw, p->raw_len);
	w->extra_len += p->raw_len;
	w->extra_count++;
}

/* Locate the onMetaData value in a script body; returns its offset, 0 when
 * the body is another script tag, or -FLV_E_AMF. */
static int flv_meta_value_offset(const uint8_t *body, size_t len)
{
	const uint8_t *s;
	size_t n;
	int rc = flv_amf_read_string(body, len, &s, &n);
	if (rc < 0)
		return rc;
	size_t pos = (size_t)rc;
	if (flv_name_is(s, n, "@setDataFrame")) {
		rc = flv_amf_read_string(body + pos, len - pos, &s, &n);
		if (rc < 0)
			return rc;
		pos += (size_t)rc;
	}
	if (!flv_name_is(s, n, FLV_META_NAME))
		return 0;
	return (int)pos;
}

int flv_writer_set_metadata(struct flv_writer *w, const uint8_t *body, size_t len)
{
	if (w->closed)
		return -FLV_E_STATE;
	int off = flv_meta_value_offset(body, len);
	if (off <= 0)
		return -FLV_E_AMF;
	/* Validate first so a malformed object merges nothing. */
	int rc = flv_amf_each_prop(body + off, len - (size_t)off, NULL, NULL);
	if (rc < 0)
		return rc;
	flv_amf_each_prop(body + off, len - (size_t)off, flv_merge_prop, w);
	w->st.merged_props = w->extra_count;
	return 0;
}

/* ---- onMetaData encoding ---- */

static void flv_put_num_prop(struct flv_amf_out *o, const char *name, double v)
{
	flv_amf_put_name(o, name);
	flv_amf_put_number(o, v);
}

static void flv_put_bool_prop(struct flv_amf_out *o, const char *name, int v)
{
	flv_amf_put_name(o, name);
	flv_amf_put_bool(o, v);
}

static void flv_put_array(struct flv_amf_out *o, const char *name, const double *v, uint32_t n)
{
	flv_amf_put_name(o, name);
	flv_amf_put_u8(o, FLV_AMF_STRICT_ARRAY);
	flv_amf_put_u32(o, n);
	for (uint32_t i = 0; i < n; i++)
		flv_amf_put_number(o, v[i]);
}

static double flv_duration_s(const struct flv_writer *w)
{
	if (!w->have_ts)
		return 0;
	double d = (double)(w->max_ts - w->min_ts);
	/* The last video frame lasts one frame interval, as muxers count it. */
	if (w->video_frames > 1 && w->last_video_ts > w->first_video_ts)
		d += (double)(w->last_video_ts - w->first_video_ts) / (double)(w->video_frames - 1);
	return d / 1000.0;
}

/* Encode the whole onMetaData body; entries = keyframe entries to include,
 * pad = number of filler bytes. */
static void flv_meta_encode(struct flv_writer *w, struct flv_amf_out *o, uint32_t entries,
			    size_t pad, uint64_t filesize)
{
	double dur = flv_duration_s(w);
	int has_v = w->st.video_tags > 0, has_a = w->st.audio_tags > 0;

	flv_amf_put_string(o, FLV_META_NAME, strlen(FLV_META_NAME));
	flv_amf_put_u8(o, FLV_AMF_ECMA_ARRAY);
	flv_amf_put_u32(o, 23 + w->extra_count);
	flv_put_num_prop(o, "duration", dur);
	flv_put_num_prop(o, "filesize", (double)filesize);
	for (int k = 0; k < FLV_MV_N_; k++) {
		if (k == FLV_MV_STEREO)
			flv_put_bool_prop(o, flv_mv_keys[k].name, flv_value(w, k) != 0);
		else
			flv_put_num_prop(o, flv_mv_keys[k].name, flv_value(w, k));
	}
	flv_put_bool_prop(o, "hasVideo", has_v);
	flv_put_bool_prop(o, "hasAudio", has_a);
	flv_put_bool_prop(o, "hasKeyframes", entries > 0);
	flv_put_bool_prop(o, "hasMetadata", 1);
	flv_put_bool_prop(o, "canSeekToEnd", w->st.keyframes > 0 && w->last_kf_ts == w->max_ts);
	flv_put_num_prop(o, "lasttimestamp", (double)(w->max_ts - w->min_ts) / 1000.0);
	flv_put_num_prop(o, "lastkeyframetimestamp", (double)w->last_kf_ts / 1000.0);
	flv_put_num_prop(o, "lastkeyframelocation", (double)w->last_kf_pos);
	flv_amf_put_name(o, "metadatacreator");
	flv_amf_put_string(o, FLV_CREATOR, strlen(FLV_CREATOR));
	flv_amf_put_bytes(o, w->extra, w->extra_len);
	flv_amf_put_name(o, "keyframes");
	flv_amf_put_u8(o, FLV_AMF_OBJECT);
	flv_put_array(o, "times", w->kf_times, entries);
	flv_put_array(o, "filepositions", w->kf_pos, entries);
	flv_amf_put_object_end(o);
	/* Filler: a strict array of `pad` nulls, one byte each, so any size is
	 * reachable exactly. (A long string would trip players that read
	 * string values into small fixed buffers.) */
	flv_amf_put_name(o, FLV_PAD_NAME);
	flv_amf_put_u8(o, FLV_AMF_STRICT_ARRAY);
	flv_amf_put_u32(o, (uint32_t)pad);
	if (!o->overflow && pad <= o->cap - o->len) {
		memset(o->p + o->len, FLV_AMF_NULL, pad);
		o->len += pad;
	} else {
		o->overflow = 1;
	}
	flv_amf_put_object_end(o);
}

/* Size of the body with `entries` index entries, a full extras reserve and
 * no padding; used once to fix the reserved size. */
static size_t flv_meta_max_size(struct flv_writer *w)
{
	/* The layout without extras, index entries or padding is a few hundred
	 * bytes; encode it once to measure it. */
	uint8_t tmp[1024];
	struct flv_amf_out o = { .p = tmp, .cap = sizeof(tmp) };
	size_t saved_len = w->extra_len;
	uint32_t saved_cnt = w->extra_count;

	w->extra_len = 0;
	w->extra_count = 0;
	flv_meta_encode(w, &o, 0, 0, 0);
	w->extra_len = saved_len;
	w->extra_count = saved_cnt;
	return o.len + w->reserve + 2 * (size_t)w->capacity * FLV_AMF_NUMBER_SIZE;
}

/* Build the body at exactly meta_body_size bytes into buf. */
static int flv_meta_build(struct flv_writer *w, uint8_t *buf, uint64_t filesize)
{
	struct flv_amf_out o = { .p = buf, .cap = w->meta_body_size };
	flv_meta_encode(w, &o, w->st.indexed, 0, filesize);
	if (o.overflow || o.len > w->meta_body_size)
		return -FLV_E_STATE;
	size_t pad = w->meta_body_size - o.len;
	o.len = 0;
	flv_meta_encode(w, &o, w->st.indexed, pad, filesize);
	if (o.overflow || o.len != w->meta_body_size)
		return -FLV_E_STATE;
	return 0;
}

/* ---- output ---- */

static int flv_scratch(struct flv_writer *w, size_t need)
{
	if (need <= w->scratch_cap)
		return 0;
	size_t cap = w->scratch_cap ? w->scratch_cap : 4096;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(w->scratch, cap);
	if (!p)
		return -ENOMEM;
	w->scratch = p;
	w->scratch_cap = cap;
	return 0;
}

static int flv_emit(struct flv_writer *w, const uint8_t *buf, size_t len)
{
	int rc = w->sink.write(w->sink.ctx, buf, len);
	if (rc != 0) {
		w->err = rc < 0 ? rc : -EIO;
		return w->err;
	}
	w->st.bytes += len;
	return 0;
}

/* Encode the onMetaData tag into scratch; returns its total size or error. */
static int flv_meta_tag(struct flv_writer *w, uint64_t filesize)
{
	size_t total = flv_tag_encoded_size(w->meta_body_size);
	int rc = flv_scratch(w, total);
	if (rc != 0)
		return rc;
	rc = flv_meta_build(w, w->scratch + FLV_TAG_HEADER_SIZE, filesize);
	if (rc != 0)
		return rc;
	flv_tag_header_encode(w->scratch, total, FLV_TAG_SCRIPT, 0, w->meta_body_size);
	flv_put_be32(w->scratch + FLV_TAG_HEADER_SIZE + w->meta_body_size,
		     FLV_TAG_HEADER_SIZE + w->meta_body_size);
	return (int)total;
}

static int flv_start(struct flv_writer *w)
{
	uint8_t hdr[FLV_HEADER_SIZE + FLV_PREV_SIZE_LEN];

	w->meta_body_size = (uint32_t)flv_meta_max_size(w);
	flv_header_encode(hdr, sizeof(hdr), !w->no_audio, !w->no_video);
	int rc = flv_emit(w, hdr, sizeof(hdr));
	if (rc != 0)
		return rc;
	w->st.metadata_offset = (uint32_t)w->st.bytes;
	rc = flv_meta_tag(w, 0);
	if (rc < 0)
		return rc;
	w->st.metadata_size = (uint32_t)rc;
	rc = flv_emit(w, w->scratch, (size_t)rc);
	if (rc != 0)
		return rc;
	w->started = 1;
	return 0;
}

/* ---- per-tag bookkeeping ---- */

static void flv_index_thin(struct flv_writer *w)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < w->st.indexed; i += 2, n++) {
		w->kf_times[n] = w->kf_times[i];
		w->kf_pos[n] = w->kf_pos[i];
	}
	w->st.indexed = n;
	w->st.index_stride *= 2;
}

static void flv_index_add(struct flv_writer *w, uint32_t ts, uint64_t pos)
{
	uint64_t seq = w->kf_seen++;
	if (w->st.indexed == w->capacity && seq % w->st.index_stride == 0)
		flv_index_thin(w);
	if (seq % w->st.index_stride != 0)
		return;
	w->kf_times[w->st.indexed] = (double)ts / 1000.0;
	w->kf_pos[w->st.indexed] = (double)pos;
	w->st.indexed++;
}

static void flv_note_video(struct flv_writer *w, const uint8_t *data, size_t len,
			   uint32_t ts, uint64_t pos)
{
	struct flv_media_info mi;
	struct flv_avc_info avc;

	w->st.video_tags++;
	w->st.video_bytes += len;
	if (flv_sniff_video(data, len, &mi) != 0)
		return;
	/* Enhanced RTMP: videocodecid carries the FourCC as a number. */
	if (!mi.enhanced)
		flv_measure(w, FLV_MV_VCODEC, mi.codec_id);
	else if (mi.fourcc != 0)
		flv_measure(w, FLV_MV_VCODEC, (double)mi.fourcc);
	if (mi.sequence_header && mi.fourcc == FLV_FOURCC_AVC && !mi.enhanced &&
	    flv_avc_parse_config(mi.payload, mi.payload_len, &avc) == 0) {
		flv_measure(w, FLV_MV_WIDTH, avc.width);
		flv_measure(w, FLV_MV_HEIGHT, avc.height);
	}
	if (mi.sequence_header || mi.end_of_sequence || mi.command_frame || mi.metadata)
		return;
	if (w->video_frames++ == 0)
		w->first_video_ts = ts;
	w->last_video_ts = ts;
	if (mi.keyframe) {
		w->st.keyframes++;
		w->last_kf_ts = ts;
		w->last_kf_pos = pos;
		w->st.last_keyframe_ms = ts;
		flv_index_add(w, ts, pos);
	}
}

static void flv_note_audio(struct flv_writer *w, const uint8_t *data, size_t len)
{
	struct flv_media_info mi;
	uint32_t rate;
	uint8_t ch;

	w->st.audio_tags++;
	w->st.audio_bytes += len;
	if (flv_sniff_audio(data, len, &mi) != 0)
		return;
	flv_measure(w, FLV_MV_ACODEC, mi.codec_id);
	flv_measure(w, FLV_MV_SSIZE, mi.sound_size ? 16 : 8);
	if (mi.codec_id == FLV_SOUND_AAC) {
		if (mi.sequence_header &&
		    flv_aac_parse_asc(mi.payload, mi.payload_len, &rate, &ch) == 0) {
			flv_measure(w, FLV_MV_SRATE, rate);
			flv_measure(w, FLV_MV_STEREO, ch >= 2);
		}
		return;
	}
	flv_measure(w, FLV_MV_SRATE, mi.sample_rate);
	flv_measure(w, FLV_MV_STEREO, mi.sound_type);
}

static uint32_t flv_out_ts(struct flv_writer *w, uint32_t ts)
{
	if (!w->have_first) {
		w->have_first = 1;
		w->first_ts = ts;
	}
	if (w->rebase)
		ts = ts >= w->first_ts ? ts - w->first_ts : 0;
	if (!w->have_ts) {
		w->have_ts = 1;
		w->min_ts = w->max_ts = ts;
	}
	if (ts < w->min_ts)
		w->min_ts = ts;
	if (ts > w->max_ts)
		w->max_ts = ts;
	return ts;
}

int flv_writer_write_tag(struct flv_writer *w, uint8_t type, uint32_t timestamp,
			 const uint8_t *data, size_t len)
{
	if (w->closed)
		return -FLV_E_STATE;
	if (w->err)
		return w->err;
	if ((type != FLV_TAG_AUDIO && type != FLV_TAG_VIDEO && type != FLV_TAG_SCRIPT) ||
	    len > FLV_TAG_DATA_MAX || (len && !data))
		return -EINVAL;
	if (type == FLV_TAG_SCRIPT && flv_meta_value_offset(data, len) > 0)
		return flv_writer_set_metadata(w, data, len);
	if (!w->started) {
		int rc = flv_start(w);
		if (rc != 0)
			return rc;
	}
	uint32_t ts = flv_out_ts(w, timestamp);
	uint64_t pos = w->st.bytes;
	size_t total = flv_tag_encoded_size((uint32_t)len);
	int rc = flv_scratch(w, total);
	if (rc != 0)
		return rc;
	flv_tag_encode(w->scratch, total, type, ts, data, (uint32_t)len);
	rc = flv_emit(w, w->scratch, total);
	if (rc != 0)
		return rc;
	w->st.tags++;
	if (type == FLV_TAG_VIDEO)
		flv_note_video(w, data, len, ts, pos);
	else if (type == FLV_TAG_AUDIO)
		flv_note_audio(w, data, len);
	else
		w->st.script_tags++;
	return 0;
}

static void flv_finish_values(struct flv_writer *w)
{
	double dur = flv_duration_s(w);
	if (w->video_frames > 1 && w->last_video_ts > w->first_video_ts)
		flv_measure(w, FLV_MV_FRAMERATE,
			    (double)(w->video_frames - 1) * 1000.0 /
				    (double)(w->last_video_ts - w->first_video_ts));
	if (dur > 0) {
		if (w->st.video_bytes)
			flv_measure(w, FLV_MV_VRATE, (double)w->st.video_bytes * 8 / 1000.0 / dur);
		if (w->st.audio_bytes)
			flv_measure(w, FLV_MV_ARATE, (double)w->st.audio_bytes * 8 / 1000.0 / dur);
	}
}

int flv_writer_close(struct flv_writer *w)
{
	if (w->closed)
		return w->err;
	w->closed = 1;
	if (w->err)
		return w->err;
	if (!w->started) {
		int rc = flv_start(w);
		if (rc != 0)
			return rc;
	}
	flv_finish_values(w);
	int rc = flv_meta_tag(w, w->st.bytes);
	if (rc < 0)
		return w->err = rc;
	rc = w->sink.pwrite(w->sink.ctx, w->st.metadata_offset, w->scratch, (size_t)rc);
	if (rc != 0)
		w->err = rc < 0 ? rc : -EIO;
	return w->err;
}

void flv_writer_get_stats(const struct flv_writer *w, struct flv_writer_stats *out)
{
	*out = w->st;
	double ms = flv_duration_s(w) * 1000.0 + 0.5;
	/* 32-bit timestamps plus one frame interval can pass UINT32_MAX. */
	out->duration_ms = ms >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
	out->merged_props = w->extra_count;
}
