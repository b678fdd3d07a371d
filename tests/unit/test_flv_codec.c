/* flv_codec: sniffing of legacy and Enhanced RTMP video, audio, H.264 SPS
 * dimensions from real encoder output, AAC AudioSpecificConfig. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "flv/flv_codec.h"
#include "tests/unit/util_flv.h"

/* SPS NAL units written by libx264 (ffmpeg 5.1) for testsrc at each size. */
static const uint8_t sps_320x240_baseline[] = {
	0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
	0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80 };
static const uint8_t sps_1280x720_main[] = {
	0x67, 0x4d, 0x40, 0x1f, 0xec, 0xa0, 0x28, 0x02, 0xdd, 0x80, 0x88, 0x00, 0x00, 0x03,
	0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x90, 0x78, 0xc1, 0x8c, 0xb0 };
static const uint8_t sps_1920x1080_high[] = {
	0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
	0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58 };
static const uint8_t sps_636x358_high[] = {
	0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xee, 0x6c, 0x04, 0x40, 0x00,
	0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x8b, 0x65, 0x80 };
static const uint8_t sps_320x240_444[] = {
	0x67, 0xf4, 0x00, 0x0d, 0x91, 0x9b, 0x28, 0x28, 0x3f, 0x60, 0x22, 0x00, 0x00, 0x03,
	0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x64, 0x1e, 0x28, 0x53, 0x2c };
static const uint8_t sps_1920x1080_444[] = {
	0x67, 0xf4, 0x00, 0x28, 0x91, 0x9b, 0x28, 0x0f, 0x00, 0x44, 0xfc, 0x4e, 0x02, 0x20,
	0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x06, 0x41, 0xe3, 0x06, 0x32, 0xc0 };
static const uint8_t sps_1920x1080_interlaced[] = {
	0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x04, 0x4f, 0xde, 0x02, 0x20, 0x00,
	0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x06, 0x43, 0xe2, 0xc5, 0xb2, 0xc0 };

struct sps_case {
	const uint8_t *nal;
	size_t len;
	uint32_t w, h;
	uint8_t profile, level, chroma;
};

#define SPS(a, w, h, p, l, c) { a, sizeof(a), w, h, p, l, c }
static const struct sps_case sps_cases[] = {
	SPS(sps_320x240_baseline, 320, 240, 66, 13, 1),
	SPS(sps_1280x720_main, 1280, 720, 77, 31, 1),
	SPS(sps_1920x1080_high, 1920, 1080, 100, 40, 1),
	SPS(sps_636x358_high, 636, 358, 100, 30, 1),
	SPS(sps_320x240_444, 320, 240, 244, 13, 3),
	SPS(sps_1920x1080_444, 1920, 1080, 244, 40, 3),
	SPS(sps_1920x1080_interlaced, 1920, 1080, 100, 40, 1),
};
#define N_SPS (sizeof(sps_cases) / sizeof(sps_cases[0]))

static void test_sps_dimensions(void)
{
	struct flv_avc_info ai;
	for (size_t i = 0; i < N_SPS; i++) {
		const struct sps_case *c = &sps_cases[i];
		CU_ASSERT_EQUAL(flv_avc_parse_sps(c->nal, c->len, &ai), 0);
		CU_ASSERT_EQUAL(ai.width, c->w);
		CU_ASSERT_EQUAL(ai.height, c->h);
		CU_ASSERT_EQUAL(ai.profile_idc, c->profile);
		CU_ASSERT_EQUAL(ai.level_idc, c->level);
		CU_ASSERT_EQUAL(ai.chroma_format_idc, c->chroma);
	}
}

/* Every prefix of every SPS, placed before a guard page: either an error or
 * (when the cut only removes trailing VUI bits) the full answer. */
static void test_sps_truncation(void)
{
	struct flv_guard g;
	struct flv_avc_info ai;
	CU_ASSERT_EQUAL_FATAL(flv_guard_init(&g, 64), 0);
	unsigned errors = 0;
	for (size_t i = 0; i < N_SPS; i++) {
		const struct sps_case *c = &sps_cases[i];
		for (size_t n = 0; n < c->len; n++) {
			int rc = flv_avc_parse_sps(flv_guard_place(&g, c->nal, n), n, &ai);
			if (rc == 0) {
				CU_ASSERT_EQUAL(ai.width, c->w);
				CU_ASSERT_EQUAL(ai.height, c->h);
			} else {
				CU_ASSERT_EQUAL(rc, -FLV_E_SPS);
				errors++;
			}
		}
	}
	CU_ASSERT(errors >= N_SPS * 6); /* at least the header-sized prefixes fail */
	flv_guard_free(&g);
}

static void test_sps_errors(void)
{
	struct flv_avc_info ai;
	uint8_t x[sizeof(sps_1280x720_main)];

	memcpy(x, sps_1280x720_main, sizeof(x));
	x[0] = 0x68; /* PPS, not SPS */
	CU_ASSERT_EQUAL(flv_avc_parse_sps(x, sizeof(x), &ai), -FLV_E_SPS);
	const uint8_t zeros[16] = { 0x67, 0x42, 0, 0x1e }; /* ue() with 32+ leading zeros */
	CU_ASSERT_EQUAL(flv_avc_parse_sps(zeros, sizeof(zeros), &ai), -FLV_E_SPS);
	/* baseline, sps_id 0, log2_max_frame_num 0, poc type 2, 1 ref, gaps 0,
	 * width in mbs = 4096 (ue 4095): beyond any level, rejected. */
	const uint8_t wide[] = { 0x67, 0x42, 0x00, 0x1e, 0xDA, 0x00, 0x04, 0x00, 0x3A };
	CU_ASSERT_EQUAL(flv_avc_parse_sps(wide, sizeof(wide), &ai), -FLV_E_SPS);
	/* High 4:4:4 SPS whose scaling list has a delta_scale of about -2^31
	 * (found by fuzzing): out of range, rejected without overflow. */
	const uint8_t bad_scale[] = {
		0x67, 0xf4, 0x00, 0x0d, 0x90, 0xab, 0x00, 0x00, 0x00, 0x0a, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
		0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0x00, 0xff, 0xd8, 0x00, 0x00, 0x00, 0x44 };
	CU_ASSERT_EQUAL(flv_avc_parse_sps(bad_scale, sizeof(bad_scale), &ai), -FLV_E_SPS);
	/* The same SPS with 20 mbs (ue 19) is fine: 320 x 16, no cropping. */
	const uint8_t narrow[] = { 0x67, 0x42, 0x00, 0x1e, 0xDA, 0x05, 0x3A };
	CU_ASSERT_EQUAL(flv_avc_parse_sps(narrow, sizeof(narrow), &ai), 0);
	CU_ASSERT_EQUAL(ai.width, 320);
	CU_ASSERT_EQUAL(ai.height, 16);
}

/* AVC sequence header tag body around the 1080p SPS. */
static size_t make_avc_seq(uint8_t *b)
{
	size_t n = 0;
	const uint8_t hdr[] = { 0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1 };
	memcpy(b, hdr, sizeof(hdr));
	n = sizeof(hdr);
	flv_put_be16(b + n, sizeof(sps_1920x1080_high));
	n += 2;
	memcpy(b + n, sps_1920x1080_high, sizeof(sps_1920x1080_high));
	n += sizeof(sps_1920x1080_high);
	const uint8_t pps[] = { 0x01, 0x00, 0x04, 0x68, 0xeb, 0xe3, 0xcb };
	memcpy(b + n, pps, sizeof(pps));
	return n + sizeof(pps);
}

static void test_sniff_avc(void)
{
	uint8_t b[128];
	struct flv_media_info mi;
	struct flv_avc_info ai;

	size_t n = make_avc_seq(b);
	CU_ASSERT_EQUAL(flv_sniff(FLV_TAG_VIDEO, b, n, &mi), 0);
	CU_ASSERT(mi.is_video && !mi.is_audio && !mi.enhanced);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_VCODEC_AVC);
	CU_ASSERT_EQUAL(mi.fourcc, FLV_FOURCC_AVC);
	CU_ASSERT_EQUAL(mi.frame_type, FLV_FRAME_KEY);
	CU_ASSERT_EQUAL(mi.sequence_header, 1);
	CU_ASSERT_EQUAL(mi.keyframe, 0); /* configuration, not a picture */
	CU_ASSERT_EQUAL(mi.payload_len, n - 5);
	CU_ASSERT_EQUAL(flv_avc_parse_config(mi.payload, mi.payload_len, &ai), 0);
	CU_ASSERT_EQUAL(ai.width, 1920);
	CU_ASSERT_EQUAL(ai.height, 1080);
	CU_ASSERT_EQUAL(ai.nal_length_size, 4);

	const uint8_t key[] = { 0x17, 0x01, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0x65 };
	CU_ASSERT_EQUAL(flv_sniff_video(key, sizeof(key), &mi), 0);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(mi.packet_type, FLV_AVC_NALU);
	CU_ASSERT_EQUAL(mi.composition_time, 80);
	CU_ASSERT_EQUAL(mi.payload_len, 5);
	const uint8_t inter[] = { 0x27, 0x01, 0xFF, 0xFF, 0xF6, 0, 0, 0, 1, 0x41 };
	CU_ASSERT_EQUAL(flv_sniff_video(inter, sizeof(inter), &mi), 0);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	CU_ASSERT_EQUAL(mi.frame_type, FLV_FRAME_INTER);
	CU_ASSERT_EQUAL(mi.composition_time, -10);
	const uint8_t eos[] = { 0x17, 0x02, 0, 0, 0 };
	CU_ASSERT_EQUAL(flv_sniff_video(eos, sizeof(eos), &mi), 0);
	CU_ASSERT_EQUAL(mi.end_of_sequence, 1);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	const uint8_t cmd[] = { 0x57, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_video(cmd, sizeof(cmd), &mi), -FLV_E_EMPTY);
	const uint8_t cmd5[] = { 0x57, 0x01, 0, 0, 0 };
	CU_ASSERT_EQUAL(flv_sniff_video(cmd5, sizeof(cmd5), &mi), 0);
	CU_ASSERT_EQUAL(mi.command_frame, 1);
	CU_ASSERT_EQUAL(mi.keyframe, 0);

	/* Malformed configuration records. */
	CU_ASSERT_EQUAL(flv_avc_parse_config(b + 5, 5, &ai), -FLV_E_AVCC);
	b[5] = 2; /* version */
	CU_ASSERT_EQUAL(flv_avc_parse_config(b + 5, n - 5, &ai), -FLV_E_AVCC);
	b[5] = 1;
	flv_put_be16(b + 11, 200); /* SPS length past the end */
	CU_ASSERT_EQUAL(flv_avc_parse_config(b + 5, n - 5, &ai), -FLV_E_AVCC);
}

static void test_sniff_legacy_other(void)
{
	struct flv_media_info mi;
	const uint8_t h263_key[] = { 0x12, 0x00, 0x00, 0x84 };
	CU_ASSERT_EQUAL(flv_sniff_video(h263_key, sizeof(h263_key), &mi), 0);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_VCODEC_H263);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(mi.fourcc, 0);
	CU_ASSERT_EQUAL(mi.payload_len, 3);
	const uint8_t h263_disp[] = { 0x32, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_video(h263_disp, sizeof(h263_disp), &mi), 0);
	CU_ASSERT_EQUAL(mi.frame_type, FLV_FRAME_DISPOSABLE);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	const uint8_t vp6[] = { 0x14, 0x00, 0x01 };
	CU_ASSERT_EQUAL(flv_sniff_video(vp6, sizeof(vp6), &mi), 0);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_VCODEC_VP6);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(flv_sniff_video(vp6, 0, &mi), -FLV_E_EMPTY);
	CU_ASSERT_EQUAL(flv_sniff(FLV_TAG_SCRIPT, vp6, sizeof(vp6), &mi), -FLV_E_TAG_TYPE);
}

static void test_sniff_enhanced(void)
{
	struct flv_media_info mi;
	const uint8_t hevc_seq[] = { 0x90, 'h', 'v', 'c', '1', 0x01, 0x01, 0x60 };
	CU_ASSERT_EQUAL(flv_sniff_video(hevc_seq, sizeof(hevc_seq), &mi), 0);
	CU_ASSERT_EQUAL(mi.enhanced, 1);
	CU_ASSERT_EQUAL(mi.fourcc, FLV_FOURCC_HEVC);
	CU_ASSERT_EQUAL(mi.packet_type, FLV_EX_SEQUENCE_START);
	CU_ASSERT_EQUAL(mi.sequence_header, 1);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	CU_ASSERT_EQUAL(mi.payload_len, 3);
	CU_ASSERT_EQUAL(mi.payload[0], 0x01);

	const uint8_t hevc_key[] = { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28, 0, 0, 0, 2, 0x26 };
	CU_ASSERT_EQUAL(flv_sniff_video(hevc_key, sizeof(hevc_key), &mi), 0);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(mi.composition_time, 40);
	CU_ASSERT_EQUAL(mi.payload_len, 5);
	CU_ASSERT_EQUAL(flv_sniff_video(hevc_key, 7, &mi), -FLV_E_EMPTY);

	const uint8_t hevc_x[] = { 0xA3, 'h', 'v', 'c', '1', 0, 0, 0, 2, 0x02 };
	CU_ASSERT_EQUAL(flv_sniff_video(hevc_x, sizeof(hevc_x), &mi), 0);
	CU_ASSERT_EQUAL(mi.packet_type, FLV_EX_CODED_FRAMES_X);
	CU_ASSERT_EQUAL(mi.frame_type, FLV_FRAME_INTER);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	CU_ASSERT_EQUAL(mi.composition_time, 0);
	CU_ASSERT_EQUAL(mi.payload_len, 5);

	const uint8_t av1_seq[] = { 0x90, 'a', 'v', '0', '1', 0x81, 0x08, 0x0c, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_video(av1_seq, sizeof(av1_seq), &mi), 0);
	CU_ASSERT_EQUAL(mi.fourcc, FLV_FOURCC_AV1);
	CU_ASSERT_EQUAL(mi.sequence_header, 1);
	const uint8_t av1_key[] = { 0x91, 'a', 'v', '0', '1', 0x12, 0x00, 0x0a };
	CU_ASSERT_EQUAL(flv_sniff_video(av1_key, sizeof(av1_key), &mi), 0);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(mi.payload_len, 3); /* AV1 coded frames carry no CTS */

	const uint8_t vp9_key[] = { 0x91, 'v', 'p', '0', '9', 0x82, 0x49, 0x83 };
	CU_ASSERT_EQUAL(flv_sniff_video(vp9_key, sizeof(vp9_key), &mi), 0);
	CU_ASSERT_EQUAL(mi.fourcc, FLV_FOURCC_VP9);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	const uint8_t vp9_end[] = { 0x92, 'v', 'p', '0', '9' };
	CU_ASSERT_EQUAL(flv_sniff_video(vp9_end, sizeof(vp9_end), &mi), 0);
	CU_ASSERT_EQUAL(mi.end_of_sequence, 1);
	const uint8_t meta[] = { 0xD4, 'h', 'v', 'c', '1', 0x02, 0x00, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_video(meta, sizeof(meta), &mi), 0);
	CU_ASSERT_EQUAL(mi.metadata, 1);
	CU_ASSERT_EQUAL(mi.command_frame, 1);
	CU_ASSERT_EQUAL(mi.keyframe, 0);
	const uint8_t multi[] = { 0x96, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_video(multi, sizeof(multi), &mi), 0);
	CU_ASSERT_EQUAL(mi.packet_type, FLV_EX_MULTITRACK);
	CU_ASSERT_EQUAL(mi.fourcc, 0);
	CU_ASSERT_EQUAL(flv_sniff_video(hevc_seq, 4, &mi), -FLV_E_EMPTY);
}

static void test_sniff_audio(void)
{
	struct flv_media_info mi;
	uint32_t rate = 0;
	uint8_t ch = 0;

	const uint8_t aac_seq[] = { 0xAF, 0x00, 0x12, 0x10 };
	CU_ASSERT_EQUAL(flv_sniff(FLV_TAG_AUDIO, aac_seq, sizeof(aac_seq), &mi), 0);
	CU_ASSERT(mi.is_audio && !mi.is_video);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_SOUND_AAC);
	CU_ASSERT_EQUAL(mi.sequence_header, 1);
	CU_ASSERT_EQUAL(mi.sound_rate, 3);
	CU_ASSERT_EQUAL(mi.sound_size, 1);
	CU_ASSERT_EQUAL(mi.sound_type, 1);
	CU_ASSERT_EQUAL(mi.payload_len, 2);
	CU_ASSERT_EQUAL(flv_aac_parse_asc(mi.payload, mi.payload_len, &rate, &ch), 0);
	CU_ASSERT_EQUAL(rate, 44100);
	CU_ASSERT_EQUAL(ch, 2);
	const uint8_t asc48m[] = { 0x11, 0x88 };
	CU_ASSERT_EQUAL(flv_aac_parse_asc(asc48m, 2, &rate, &ch), 0);
	CU_ASSERT_EQUAL(rate, 48000);
	CU_ASSERT_EQUAL(ch, 1);
	const uint8_t ascbad[] = { 0x17, 0x88 }; /* frequency index 14: reserved */
	CU_ASSERT_EQUAL(flv_aac_parse_asc(ascbad, 2, &rate, &ch), -FLV_E_CODEC);
	CU_ASSERT_EQUAL(flv_aac_parse_asc(asc48m, 1, &rate, &ch), -FLV_E_CODEC);

	const uint8_t aac_raw[] = { 0xAF, 0x01, 0x21, 0x10 };
	CU_ASSERT_EQUAL(flv_sniff_audio(aac_raw, sizeof(aac_raw), &mi), 0);
	CU_ASSERT_EQUAL(mi.packet_type, FLV_AAC_RAW);
	CU_ASSERT_EQUAL(mi.sequence_header, 0);
	CU_ASSERT_EQUAL(mi.keyframe, 1);
	CU_ASSERT_EQUAL(flv_sniff_audio(aac_raw, 1, &mi), -FLV_E_EMPTY);

	const uint8_t mp3[] = { 0x2F, 0xFF, 0xFB };
	CU_ASSERT_EQUAL(flv_sniff_audio(mp3, sizeof(mp3), &mi), 0);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_SOUND_MP3);
	CU_ASSERT_EQUAL(mi.sample_rate, 44100);
	CU_ASSERT_EQUAL(mi.payload_len, 2);
	const uint8_t pcm[] = { 0x3A, 0x00 }; /* PCM LE, 22 kHz, 16 bit, mono */
	CU_ASSERT_EQUAL(flv_sniff_audio(pcm, sizeof(pcm), &mi), 0);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_SOUND_PCM_LE);
	CU_ASSERT_EQUAL(mi.sample_rate, 22050);
	CU_ASSERT_EQUAL(mi.sound_type, 0);
	const uint8_t speex[] = { 0xB2, 0x00 };
	CU_ASSERT_EQUAL(flv_sniff_audio(speex, sizeof(speex), &mi), 0);
	CU_ASSERT_EQUAL(mi.codec_id, FLV_SOUND_SPEEX);
	CU_ASSERT_EQUAL(mi.sample_rate, 16000);
	CU_ASSERT_EQUAL(flv_sniff_audio(speex, 0, &mi), -FLV_E_EMPTY);
}

/* Each sample body truncated at every length before a guard page. */
static void test_sniff_truncation(void)
{
	struct flv_guard g;
	struct flv_media_info mi;
	uint8_t seq[128];
	size_t seq_len = make_avc_seq(seq);
	const uint8_t hevc_key[] = { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28, 0 };
	const uint8_t aac[] = { 0xAF, 0x00, 0x12, 0x10 };
	const struct { const uint8_t *b; size_t n; uint8_t type; size_t min; } s[] = {
		{ seq, seq_len, FLV_TAG_VIDEO, 5 },
		{ hevc_key, sizeof(hevc_key), FLV_TAG_VIDEO, 8 },
		{ aac, sizeof(aac), FLV_TAG_AUDIO, 2 },
	};
	CU_ASSERT_EQUAL_FATAL(flv_guard_init(&g, sizeof(seq)), 0);
	for (size_t i = 0; i < 3; i++) {
		for (size_t n = 0; n <= s[i].n; n++) {
			const uint8_t *p = flv_guard_place(&g, s[i].b, n);
			int rc = flv_sniff(s[i].type, p, n, &mi);
			CU_ASSERT_EQUAL(rc, n < s[i].min ? -FLV_E_EMPTY : 0);
			if (rc == 0)
				CU_ASSERT_EQUAL(mi.payload + mi.payload_len, p + n);
		}
	}
	struct flv_avc_info ai;
	for (size_t n = 0; n + 5 <= seq_len; n++) {
		int rc = flv_avc_parse_config(flv_guard_place(&g, seq + 5, n), n, &ai);
		CU_ASSERT(rc == 0 || rc == -FLV_E_AVCC || rc == -FLV_E_SPS);
	}
	flv_guard_free(&g);
}

int test_flv_codec_register(void)
{
	CU_pSuite s = CU_add_suite("flv_codec", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "SPS dimensions (x264 samples)", test_sps_dimensions) ||
	    !CU_add_test(s, "SPS truncation at guard page", test_sps_truncation) ||
	    !CU_add_test(s, "SPS errors", test_sps_errors) ||
	    !CU_add_test(s, "sniff AVC", test_sniff_avc) ||
	    !CU_add_test(s, "sniff H.263 / VP6", test_sniff_legacy_other) ||
	    !CU_add_test(s, "sniff enhanced HEVC/AV1/VP9", test_sniff_enhanced) ||
	    !CU_add_test(s, "sniff audio", test_sniff_audio) ||
	    !CU_add_test(s, "sniff truncation at guard page", test_sniff_truncation))
		return -1;
	return 0;
}
