/* Codec sniffing on FLV audio/video tag bodies, H.264 SPS and AAC ASC. */
#include <string.h>

#include "flv/flv_codec.h"

static const uint32_t flv_sound_rates[4] = { 5512, 11025, 22050, 44100 };
static const uint32_t flv_aac_rates[13] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000,
					    22050, 16000, 12000, 11025, 8000, 7350 };

static int32_t flv_si24(const uint8_t *p)
{
	uint32_t v = flv_be24(p);
	return (v & 0x800000) ? (int32_t)(v | 0xFF000000u) : (int32_t)v;
}

static int flv_sniff_legacy_video(const uint8_t *buf, size_t len, struct flv_media_info *out)
{
	out->codec_id = buf[0] & 0x0F;
	size_t hdr = 1;

	if (out->codec_id == FLV_VCODEC_AVC) {
		out->fourcc = FLV_FOURCC_AVC;
		if (len < 5)
			return -FLV_E_EMPTY;
		out->packet_type = buf[1];
		out->composition_time = flv_si24(buf + 2);
		hdr = 5;
		out->sequence_header = out->packet_type == FLV_AVC_SEQUENCE_HEADER;
		out->end_of_sequence = out->packet_type == FLV_AVC_END_OF_SEQUENCE;
		out->keyframe = out->frame_type == FLV_FRAME_KEY && out->packet_type == FLV_AVC_NALU;
	} else if (out->codec_id == FLV_VCODEC_VP6 || out->codec_id == FLV_VCODEC_VP6A) {
		/* VP6 carries a size-adjustment byte (VP6A: an alpha offset too)
		 * before the frame; it belongs to the codec payload proper. */
		out->keyframe = out->frame_type == FLV_FRAME_KEY;
	} else {
		out->keyframe = out->frame_type == FLV_FRAME_KEY;
	}
	out->payload = buf + hdr;
	out->payload_len = len - hdr;
	return 0;
}

static int flv_sniff_ex_video(const uint8_t *buf, size_t len, struct flv_media_info *out)
{
	out->enhanced = 1;
	out->frame_type = (buf[0] >> 4) & 0x07;
	out->packet_type = buf[0] & 0x0F;
	out->command_frame = out->frame_type == FLV_FRAME_COMMAND;
	if (out->packet_type == FLV_EX_MULTITRACK || out->packet_type == FLV_EX_MODEX) {
		/* v2 wrappers: the FourCC sits behind further headers. */
		out->payload = buf + 1;
		out->payload_len = len - 1;
		return 0;
	}
	if (len < 5)
		return -FLV_E_EMPTY;
	out->fourcc = flv_be32(buf + 1);
	size_t hdr = 5;
	if (out->packet_type == FLV_EX_CODED_FRAMES && out->fourcc == FLV_FOURCC_HEVC) {
		/* Only HEVC (and AVC) CodedFrames carry a composition time. */
		if (len < 8)
			return -FLV_E_EMPTY;
		out->composition_time = flv_si24(buf + 5);
		hdr = 8;
	}
	out->sequence_header = out->packet_type == FLV_EX_SEQUENCE_START ||
			       out->packet_type == FLV_EX_MPEG2TS_SEQUENCE_START;
	out->end_of_sequence = out->packet_type == FLV_EX_SEQUENCE_END;
	out->metadata = out->packet_type == FLV_EX_METADATA;
	out->keyframe = out->frame_type == FLV_FRAME_KEY &&
			(out->packet_type == FLV_EX_CODED_FRAMES ||
			 out->packet_type == FLV_EX_CODED_FRAMES_X);
	out->payload = buf + hdr;
	out->payload_len = len - hdr;
	return 0;
}

int flv_sniff_video(const uint8_t *buf, size_t len, struct flv_media_info *out)
{
	memset(out, 0, sizeof(*out));
	out->is_video = 1;
	if (len < 1)
		return -FLV_E_EMPTY;
	if (buf[0] & 0x80)
		return flv_sniff_ex_video(buf, len, out);
	out->frame_type = buf[0] >> 4;
	out->command_frame = out->frame_type == FLV_FRAME_COMMAND;
	return flv_sniff_legacy_video(buf, len, out);
}

int flv_sniff_audio(const uint8_t *buf, size_t len, struct flv_media_info *out)
{
	memset(out, 0, sizeof(*out));
	out->is_audio = 1;
	if (len < 1)
		return -FLV_E_EMPTY;
	out->codec_id = buf[0] >> 4;
	out->sound_rate = (buf[0] >> 2) & 3;
	out->sound_size = (buf[0] >> 1) & 1;
	out->sound_type = buf[0] & 1;
	out->sample_rate = flv_sound_rates[out->sound_rate];
	if (out->codec_id == FLV_SOUND_NELLY8 || out->codec_id == FLV_SOUND_G711A ||
	    out->codec_id == FLV_SOUND_G711U)
		out->sample_rate = 8000;
	else if (out->codec_id == FLV_SOUND_NELLY16 || out->codec_id == FLV_SOUND_SPEEX)
		out->sample_rate = 16000;
	else if (out->codec_id == FLV_SOUND_MP3_8K)
		out->sample_rate = 8000;
	size_t hdr = 1;
	if (out->codec_id == FLV_SOUND_AAC) {
		if (len < 2)
			return -FLV_E_EMPTY;
		out->packet_type = buf[1];
		out->sequence_header = out->packet_type == FLV_AAC_SEQUENCE_HEADER;
		hdr = 2;
	}
	/* Every audio frame is a random access point. */
	out->keyframe = !out->sequence_header;
	out->payload = buf + hdr;
	out->payload_len = len - hdr;
	return 0;
}

int flv_sniff(uint8_t tag_type, const uint8_t *buf, size_t len, struct flv_media_info *out)
{
	if (tag_type == FLV_TAG_VIDEO)
		return flv_sniff_video(buf, len, out);
	if (tag_type == FLV_TAG_AUDIO)
		return flv_sniff_audio(buf, len, out);
	memset(out, 0, sizeof(*out));
	return -FLV_E_TAG_TYPE;
}

/* ---- H.264 SPS: bit reader over the RBSP, emulation prevention removed ---- */

struct flv_bits {
	const uint8_t *p;
	size_t len;
	size_t pos;      /* next byte of the NAL to load */
	uint32_t zeros;  /* consecutive zero bytes loaded */
	uint32_t cur;    /* current RBSP byte */
	int left;        /* bits left in cur */
	int err;
	int raw;         /* 1: plain bytes, no emulation prevention (not a NAL) */
};

static void flv_bits_load(struct flv_bits *b)
{
	if (!b->raw && b->pos < b->len && b->zeros >= 2 && b->p[b->pos] == 3) {
		/* 00 00 03 -> 00 00: drop the emulation prevention byte. */
		b->pos++;
		b->zeros = 0;
	}
	if (b->pos >= b->len) {
		b->err = 1;
		b->cur = 0;
		b->left = 8;
		return;
	}
	b->cur = b->p[b->pos++];
	b->zeros = b->cur == 0 ? b->zeros + 1 : 0;
	b->left = 8;
}

static uint32_t flv_bits_u1(struct flv_bits *b)
{
	if (b->left == 0)
		flv_bits_load(b);
	b->left--;
	return (b->cur >> b->left) & 1;
}

static uint32_t flv_bits_u(struct flv_bits *b, int n)
{
	uint32_t v = 0;
	while (n-- > 0)
		v = (v << 1) | flv_bits_u1(b);
	return v;
}

/* ue(v): at most 31 leading zeros, so values fit in 32 bits. */
static uint32_t flv_bits_ue(struct flv_bits *b)
{
	int lz = 0;
	while (!b->err && flv_bits_u1(b) == 0) {
		if (++lz > 31) {
			b->err = 1;
			return 0;
		}
	}
	if (b->err)
		return 0;
	return (uint32_t)(((uint64_t)1 << lz) - 1 + flv_bits_u(b, lz));
}

static int64_t flv_bits_se(struct flv_bits *b)
{
	int64_t k = flv_bits_ue(b);
	return (k & 1) ? (k + 1) / 2 : -(k / 2);
}

static int flv_sps_high_profile(uint8_t p)
{
	return p == 100 || p == 110 || p == 122 || p == 244 || p == 44 || p == 83 ||
	       p == 86 || p == 118 || p == 128 || p == 138 || p == 139 || p == 134 || p == 135;
}

static void flv_sps_skip_scaling_list(struct flv_bits *b, int size)
{
	int32_t last = 8, next = 8;
	for (int j = 0; j < size && !b->err; j++) {
		if (next != 0) {
			int64_t delta = flv_bits_se(b);
			if (delta < -128 || delta > 127) { /* delta_scale range */
				b->err = 1;
				return;
			}
			next = (int32_t)((last + delta + 256) % 256);
		}
		last = next == 0 ? last : next;
	}
}

/* chroma_format_idc and friends for the High profiles; returns chroma
 * array type via *sep (separate colour planes). */
static int flv_sps_chroma(struct flv_bits *b, struct flv_avc_info *out, int *sep)
{
	uint32_t cf = flv_bits_ue(b);
	if (cf > 3)
		return -1;
	out->chroma_format_idc = (uint8_t)cf;
	if (cf == 3)
		*sep = (int)flv_bits_u1(b);
	if (flv_bits_ue(b) > 6 || flv_bits_ue(b) > 6) /* bit depths - 8 */
		return -1;
	flv_bits_u1(b); /* qpprime_y_zero_transform_bypass_flag */
	if (flv_bits_u1(b)) {
		int n = cf == 3 ? 12 : 8;
		for (int i = 0; i < n && !b->err; i++)
			if (flv_bits_u1(b))
				flv_sps_skip_scaling_list(b, i < 6 ? 16 : 64);
	}
	return 0;
}

static int flv_sps_poc(struct flv_bits *b)
{
	if (flv_bits_ue(b) > 12) /* log2_max_frame_num_minus4 */
		return -1;
	uint32_t poc_type = flv_bits_ue(b);
	if (poc_type == 0) {
		if (flv_bits_ue(b) > 12)
			return -1;
	} else if (poc_type == 1) {
		flv_bits_u1(b);
		flv_bits_se(b);
		flv_bits_se(b);
		uint32_t n = flv_bits_ue(b);
		if (n > 255)
			return -1;
		for (uint32_t i = 0; i < n && !b->err; i++)
			flv_bits_se(b);
	} else if (poc_type != 2) {
		return -1;
	}
	return 0;
}

int flv_avc_parse_sps(const uint8_t *nal, size_t len, struct flv_avc_info *out)
{
	struct flv_bits b = { .p = nal, .len = len };
	int sep = 0;

	memset(out, 0, sizeof(*out));
	if (len < 4 || (nal[0] & 0x1F) != 7 || (nal[0] & 0x80))
		return -FLV_E_SPS;
	b.pos = 1;
	out->profile_idc = (uint8_t)flv_bits_u(&b, 8);
	out->constraint_flags = (uint8_t)flv_bits_u(&b, 8);
	out->level_idc = (uint8_t)flv_bits_u(&b, 8);
	out->chroma_format_idc = 1;
	if (flv_bits_ue(&b) > 31) /* seq_parameter_set_id */
		return -FLV_E_SPS;
	if (flv_sps_high_profile(out->profile_idc) && flv_sps_chroma(&b, out, &sep) != 0)
		return -FLV_E_SPS;
	if (flv_sps_poc(&b) != 0)
		return -FLV_E_SPS;
	flv_bits_ue(&b); /* max_num_ref_frames */
	flv_bits_u1(&b); /* gaps_in_frame_num_value_allowed_flag */
	uint32_t w_mbs = flv_bits_ue(&b) + 1;
	uint32_t h_units = flv_bits_ue(&b) + 1;
	uint32_t frame_mbs_only = flv_bits_u1(&b);
	if (!frame_mbs_only)
		flv_bits_u1(&b); /* mb_adaptive_frame_field_flag */
	flv_bits_u1(&b); /* direct_8x8_inference_flag */
	uint32_t crop[4] = { 0, 0, 0, 0 };
	if (flv_bits_u1(&b))
		for (int i = 0; i < 4; i++)
			crop[i] = flv_bits_ue(&b);
	if (b.err || w_mbs > 1024 || h_units > 1024) /* 16384 px: beyond any level */
		return -FLV_E_SPS;

	uint32_t cx = 1, cy = 2 - frame_mbs_only;
	uint32_t cat = sep ? 0 : out->chroma_format_idc;
	if (cat != 0) {
		cx = (cat == 1 || cat == 2) ? 2 : 1;
		cy = (cat == 1 ? 2 : 1) * (2 - frame_mbs_only);
	}
	uint64_t w = (uint64_t)w_mbs * 16;
	uint64_t h = (uint64_t)h_units * 16 * (2 - frame_mbs_only);
	uint64_t cw = (uint64_t)cx * ((uint64_t)crop[0] + crop[1]);
	uint64_t ch = (uint64_t)cy * ((uint64_t)crop[2] + crop[3]);
	if (cw >= w || ch >= h)
		return -FLV_E_SPS;
	out->width = (uint32_t)(w - cw);
	out->height = (uint32_t)(h - ch);
	return 0;
}

int flv_avc_parse_config(const uint8_t *buf, size_t len, struct flv_avc_info *out)
{
	memset(out, 0, sizeof(*out));
	/* version, profile, compat, level, 0xFC|lengthSizeMinusOne, 0xE0|numSPS */
	if (len < 6 || buf[0] != 1)
		return -FLV_E_AVCC;
	uint8_t nal_len = (uint8_t)((buf[4] & 3) + 1);
	if (nal_len == 3 || (buf[5] & 0x1F) == 0)
		return -FLV_E_AVCC;
	if (len < 8)
		return -FLV_E_AVCC;
	size_t sps_len = flv_be16(buf + 6);
	if (sps_len == 0 || sps_len > len - 8)
		return -FLV_E_AVCC;
	int rc = flv_avc_parse_sps(buf + 8, sps_len, out);
	if (rc != 0)
		return rc;
	out->nal_length_size = nal_len;
	return 0;
}

int flv_aac_parse_asc(const uint8_t *buf, size_t len, uint32_t *sample_rate,
		      uint8_t *channels)
{
	struct flv_bits b = { .p = buf, .len = len, .raw = 1 };

	if (len < 2)
		return -FLV_E_CODEC;
	uint32_t aot = flv_bits_u(&b, 5);
	if (aot == 31)
		aot = 32 + flv_bits_u(&b, 6);
	uint32_t idx = flv_bits_u(&b, 4);
	uint32_t rate;
	if (idx == 15)
		rate = flv_bits_u(&b, 24);
	else if (idx < 13)
		rate = flv_aac_rates[idx];
	else
		return -FLV_E_CODEC;
	uint32_t ch = flv_bits_u(&b, 4);
	if (b.err || aot == 0 || rate == 0)
		return -FLV_E_CODEC;
	*sample_rate = rate;
	*channels = (uint8_t)ch;
	return 0;
}
