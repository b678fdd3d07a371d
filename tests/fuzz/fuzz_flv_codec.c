/* Fuzz codec sniffing, the H.264 SPS / AVCC parsers and the AAC ASC parser.
 * The first byte picks the tag type, the rest is the body. */
#include <stdint.h>
#include <stdlib.h>

#include "flv/flv_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flv_media_info mi;
	struct flv_avc_info ai;
	uint32_t rate;
	uint8_t ch;

	if (size < 1)
		return 0;
	uint8_t type = (data[0] & 1) ? FLV_TAG_VIDEO : FLV_TAG_AUDIO;
	const uint8_t *b = data + 1;
	size_t n = size - 1;
	if (flv_sniff(type, b, n, &mi) == 0) {
		if (mi.payload < b || mi.payload + mi.payload_len != b + n)
			abort();
		if (mi.keyframe && (mi.sequence_header || mi.end_of_sequence))
			abort();
		if (mi.sequence_header && mi.fourcc == FLV_FOURCC_AVC &&
		    flv_avc_parse_config(mi.payload, mi.payload_len, &ai) == 0 &&
		    (ai.width == 0 || ai.height == 0 || ai.width > 16384 || ai.height > 32768))
			abort();
	}
	if (flv_avc_parse_sps(b, n, &ai) == 0 && (ai.width == 0 || ai.height == 0))
		abort();
	flv_avc_parse_config(b, n, &ai);
	flv_aac_parse_asc(b, n, &rate, &ch);
	return 0;
}
