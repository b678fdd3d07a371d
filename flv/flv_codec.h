/* Codec sniffing on FLV tag bodies, which are byte for byte the payloads of
 * RTMP audio (type 8) and video (type 9) messages.
 *
 * Video, legacy (FLV spec annex E.4.3.1): UB4 FrameType | UB4 CodecID, and for
 * AVC: UI8 AVCPacketType, SI24 CompositionTime.
 * Video, Enhanced RTMP (v1/v2): bit 7 IsExHeader = 1, UB3 FrameType,
 * UB4 PacketType, FourCC (be32), then for hvc1 CodedFrames an SI24
 * CompositionTime; CodedFramesX has none.
 * Audio: UB4 SoundFormat | UB2 SoundRate | UB1 SoundSize | UB1 SoundType, and
 * for AAC: UI8 AACPacketType.
 *
 * Everything here is a parser in the STYLE sense: (buf, len), never reads past
 * len, allocates nothing, returns 0 or -FLV_E_* (see flv_tag.h).
 */
#ifndef FLV_CODEC_H
#define FLV_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "flv/flv_tag.h"

/* Legacy video CodecID (also the value of onMetaData videocodecid). */
enum flv_video_codec {
	FLV_VCODEC_JPEG = 1,
	FLV_VCODEC_H263 = 2,       /* Sorenson H.263 */
	FLV_VCODEC_SCREEN = 3,
	FLV_VCODEC_VP6 = 4,        /* On2 VP6 */
	FLV_VCODEC_VP6A = 5,       /* On2 VP6 with alpha */
	FLV_VCODEC_SCREEN2 = 6,
	FLV_VCODEC_AVC = 7,
	FLV_VCODEC_HEVC_EXT = 12,  /* de-facto id some muxers use for HEVC */
};

enum flv_frame_type {
	FLV_FRAME_KEY = 1,
	FLV_FRAME_INTER = 2,
	FLV_FRAME_DISPOSABLE = 3,  /* disposable inter frame (H.263 only) */
	FLV_FRAME_GENERATED = 4,   /* generated keyframe (server use only) */
	FLV_FRAME_COMMAND = 5,     /* video info / command frame, no picture */
};

enum flv_avc_packet {
	FLV_AVC_SEQUENCE_HEADER = 0,
	FLV_AVC_NALU = 1,
	FLV_AVC_END_OF_SEQUENCE = 2,
};

/* Enhanced RTMP video PacketType. */
enum flv_ex_packet {
	FLV_EX_SEQUENCE_START = 0,
	FLV_EX_CODED_FRAMES = 1,
	FLV_EX_SEQUENCE_END = 2,
	FLV_EX_CODED_FRAMES_X = 3,
	FLV_EX_METADATA = 4,
	FLV_EX_MPEG2TS_SEQUENCE_START = 5,
	FLV_EX_MULTITRACK = 6,     /* v2: not described further (fourcc = 0) */
	FLV_EX_MODEX = 7,          /* v2: not described further (fourcc = 0) */
};

#define FLV_FOURCC(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define FLV_FOURCC_AVC  FLV_FOURCC('a', 'v', 'c', '1')
#define FLV_FOURCC_HEVC FLV_FOURCC('h', 'v', 'c', '1')
#define FLV_FOURCC_AV1  FLV_FOURCC('a', 'v', '0', '1')
#define FLV_FOURCC_VP9  FLV_FOURCC('v', 'p', '0', '9')

/* SoundFormat (also the value of onMetaData audiocodecid). */
enum flv_sound_format {
	FLV_SOUND_PCM = 0,         /* platform endian */
	FLV_SOUND_ADPCM = 1,
	FLV_SOUND_MP3 = 2,
	FLV_SOUND_PCM_LE = 3,
	FLV_SOUND_NELLY16 = 4,
	FLV_SOUND_NELLY8 = 5,
	FLV_SOUND_NELLY = 6,
	FLV_SOUND_G711A = 7,
	FLV_SOUND_G711U = 8,
	FLV_SOUND_AAC = 10,
	FLV_SOUND_SPEEX = 11,
	FLV_SOUND_MP3_8K = 14,
	FLV_SOUND_DEVICE = 15,
};

enum flv_aac_packet {
	FLV_AAC_SEQUENCE_HEADER = 0,
	FLV_AAC_RAW = 1,
};

/* What one audio or video tag body is. Flags are 0/1. */
struct flv_media_info {
	uint8_t is_video;
	uint8_t is_audio;
	uint8_t enhanced;         /* Enhanced RTMP ex-header video */
	uint8_t codec_id;         /* legacy CodecID / SoundFormat; 0 for enhanced */
	uint32_t fourcc;          /* video: FLV_FOURCC_* (avc1 for legacy AVC), else 0 */
	uint8_t frame_type;       /* enum flv_frame_type (video) */
	uint8_t packet_type;      /* AVCPacketType / ex PacketType / AACPacketType */
	uint8_t keyframe;         /* a coded keyframe a decoder can start at */
	uint8_t sequence_header;  /* decoder configuration (AVC/ex seq start, AAC ASC) */
	uint8_t end_of_sequence;
	uint8_t command_frame;    /* frame type 5: carries no picture */
	uint8_t metadata;         /* ex PacketType Metadata */
	int32_t composition_time; /* ms, signed; 0 when the format has none */
	/* audio */
	uint8_t sound_rate;       /* 0..3 = 5.5, 11, 22, 44 kHz code */
	uint8_t sound_size;       /* 0 = 8 bit, 1 = 16 bit */
	uint8_t sound_type;       /* 0 = mono, 1 = stereo */
	uint32_t sample_rate;     /* Hz from sound_rate (AAC: always 44100 in FLV) */
	/* the codec payload after the FLV-level header bytes (slice into buf) */
	const uint8_t *payload;
	size_t payload_len;
};

/* Describe a video tag body. Returns 0, or -FLV_E_EMPTY when buf is too short
 * for the header its first byte announces. Unknown legacy codec ids and
 * unknown ex packet types are reported as they are, not as errors. */
int flv_sniff_video(const uint8_t *buf, size_t len, struct flv_media_info *out);

/* Describe an audio tag body. Returns 0 or -FLV_E_EMPTY. */
int flv_sniff_audio(const uint8_t *buf, size_t len, struct flv_media_info *out);

/* Dispatch on tag type (FLV_TAG_AUDIO / FLV_TAG_VIDEO). Returns 0,
 * -FLV_E_EMPTY, or -FLV_E_TAG_TYPE for any other type. */
int flv_sniff(uint8_t tag_type, const uint8_t *buf, size_t len, struct flv_media_info *out);

/* What the archive's onMetaData needs from an H.264 SPS. */
struct flv_avc_info {
	uint8_t profile_idc;
	uint8_t constraint_flags;
	uint8_t level_idc;
	uint8_t chroma_format_idc;
	uint8_t nal_length_size;  /* from the AVCC record; 0 when parsing an SPS alone */
	uint32_t width;           /* luma pixels after frame cropping */
	uint32_t height;
};

/* Parse an H.264 sequence parameter set NAL unit (starting with its NAL
 * header byte, nal_unit_type 7; emulation-prevention bytes are removed on the
 * fly). Fills width/height with cropping applied. Returns 0, or -FLV_E_SPS
 * when the NAL is not an SPS, is truncated, or holds out-of-range values. */
int flv_avc_parse_sps(const uint8_t *nal, size_t len, struct flv_avc_info *out);

/* Parse an AVCDecoderConfigurationRecord (the payload of an AVC sequence
 * header, i.e. flv_media_info.payload) and its first SPS. Returns 0,
 * -FLV_E_AVCC for a malformed record or one without SPS, or -FLV_E_SPS. */
int flv_avc_parse_config(const uint8_t *buf, size_t len, struct flv_avc_info *out);

/* Sample rate in Hz for an AAC AudioSpecificConfig (payload of an AAC
 * sequence header), with channel count; FLV's own rate bits always say 44 kHz
 * for AAC, so the archive reads the real rate here. Returns 0 or -FLV_E_CODEC. */
int flv_aac_parse_asc(const uint8_t *buf, size_t len, uint32_t *sample_rate,
		      uint8_t *channels);

#endif
