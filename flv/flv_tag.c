/* FLV file header and tag codec. */
#include <errno.h>
#include <string.h>

#include "flv/flv_tag.h"

static const char *const flv_err_text[FLV_E_MAX_ - FLV_E_SIGNATURE] = {
	[FLV_E_SIGNATURE - FLV_E_SIGNATURE] = "not an FLV file (bad signature)",
	[FLV_E_VERSION - FLV_E_SIGNATURE] = "unsupported FLV version",
	[FLV_E_HEADER_OFFSET - FLV_E_SIGNATURE] = "FLV header data offset out of range",
	[FLV_E_PREV_SIZE0 - FLV_E_SIGNATURE] = "PreviousTagSize0 is not zero",
	[FLV_E_TAG_TYPE - FLV_E_SIGNATURE] = "unknown FLV tag type or reserved bits set",
	[FLV_E_STREAM_ID - FLV_E_SIGNATURE] = "FLV tag stream id is not zero",
	[FLV_E_TAG_TOO_BIG - FLV_E_SIGNATURE] = "FLV tag data size above limit",
	[FLV_E_PREV_SIZE - FLV_E_SIGNATURE] = "PreviousTagSize does not match the tag",
	[FLV_E_EMPTY - FLV_E_SIGNATURE] = "body too short for its header",
	[FLV_E_AMF - FLV_E_SIGNATURE] = "malformed AMF0 script data",
	[FLV_E_SPS - FLV_E_SIGNATURE] = "malformed H.264 sequence parameter set",
	[FLV_E_AVCC - FLV_E_SIGNATURE] = "malformed AVC decoder configuration record",
	[FLV_E_CODEC - FLV_E_SIGNATURE] = "unsupported or malformed codec data",
	[FLV_E_STATE - FLV_E_SIGNATURE] = "call not valid in this state",
};

const char *flv_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= FLV_E_SIGNATURE && code < FLV_E_MAX_)
		return flv_err_text[code - FLV_E_SIGNATURE];
	if (code == 0)
		return "success";
	return strerror(code);
}

int flv_header_parse(const uint8_t *buf, size_t len, struct flv_header *out)
{
	/* Decide on the signature as early as the bytes allow, so garbage is
	 * rejected without waiting for more input. */
	size_t n = len < 3 ? len : 3;

	if (n && memcmp(buf, "FLV", n) != 0)
		return -FLV_E_SIGNATURE;
	if (len < FLV_HEADER_SIZE)
		return 0;
	if (buf[3] != 1)
		return -FLV_E_VERSION;
	uint32_t off = flv_be32(buf + 5);
	if (off < FLV_HEADER_SIZE || off > FLV_HEADER_OFFSET_MAX)
		return -FLV_E_HEADER_OFFSET;
	if (len < (size_t)off + FLV_PREV_SIZE_LEN)
		return 0;
	if (flv_be32(buf + off) != 0)
		return -FLV_E_PREV_SIZE0;
	out->version = buf[3];
	out->has_audio = (buf[4] & FLV_HDR_FLAG_AUDIO) != 0;
	out->has_video = (buf[4] & FLV_HDR_FLAG_VIDEO) != 0;
	out->data_offset = off;
	return (int)(off + FLV_PREV_SIZE_LEN);
}

int flv_header_encode(uint8_t *buf, size_t cap, int has_audio, int has_video)
{
	if (cap < FLV_HEADER_SIZE + FLV_PREV_SIZE_LEN)
		return -ENOSPC;
	buf[0] = 'F';
	buf[1] = 'L';
	buf[2] = 'V';
	buf[3] = 1;
	buf[4] = (uint8_t)((has_audio ? FLV_HDR_FLAG_AUDIO : 0) | (has_video ? FLV_HDR_FLAG_VIDEO : 0));
	flv_put_be32(buf + 5, FLV_HEADER_SIZE);
	flv_put_be32(buf + 9, 0);
	return FLV_HEADER_SIZE + FLV_PREV_SIZE_LEN;
}

static int flv_type_valid(uint8_t t)
{
	return t == FLV_TAG_AUDIO || t == FLV_TAG_VIDEO || t == FLV_TAG_SCRIPT;
}

int flv_tag_header_parse(const uint8_t *buf, size_t len, uint32_t max_data,
			 struct flv_tag *out)
{
	if (len < 1)
		return 0;
	/* Bits 6-7 are reserved and must be 0; bit 5 is the Filter flag. */
	if ((buf[0] & 0xC0) != 0 || !flv_type_valid(buf[0] & 0x1F))
		return -FLV_E_TAG_TYPE;
	if (len < FLV_TAG_HEADER_SIZE)
		return 0;
	if (flv_be24(buf + 8) != 0)
		return -FLV_E_STREAM_ID;
	uint32_t size = flv_be24(buf + 1);
	if (size > max_data)
		return -FLV_E_TAG_TOO_BIG;
	out->type = buf[0] & 0x1F;
	out->filter = (buf[0] & 0x20) != 0;
	out->data_size = size;
	out->timestamp = flv_be24(buf + 4) | ((uint32_t)buf[7] << 24);
	out->data = NULL;
	return FLV_TAG_HEADER_SIZE;
}

int flv_tag_parse(const uint8_t *buf, size_t len, uint32_t max_data, struct flv_tag *out)
{
	struct flv_tag t;
	int rc = flv_tag_header_parse(buf, len, max_data, &t);
	if (rc <= 0)
		return rc;
	size_t total = flv_tag_encoded_size(t.data_size);
	if (len < total)
		return 0;
	if (flv_be32(buf + FLV_TAG_HEADER_SIZE + t.data_size) != FLV_TAG_HEADER_SIZE + t.data_size)
		return -FLV_E_PREV_SIZE;
	t.data = buf + FLV_TAG_HEADER_SIZE;
	*out = t;
	return (int)total;
}

int flv_tag_header_encode(uint8_t *buf, size_t cap, uint8_t type, uint32_t timestamp,
			  uint32_t data_size)
{
	if (!flv_type_valid(type) || data_size > FLV_TAG_DATA_MAX)
		return -EINVAL;
	if (cap < FLV_TAG_HEADER_SIZE)
		return -ENOSPC;
	buf[0] = type;
	flv_put_be24(buf + 1, data_size);
	flv_put_be24(buf + 4, timestamp & 0xFFFFFF);
	buf[7] = (uint8_t)(timestamp >> 24);
	flv_put_be24(buf + 8, 0);
	return FLV_TAG_HEADER_SIZE;
}

int flv_tag_encode(uint8_t *buf, size_t cap, uint8_t type, uint32_t timestamp,
		   const uint8_t *data, uint32_t data_size)
{
	if (!flv_type_valid(type) || data_size > FLV_TAG_DATA_MAX)
		return -EINVAL;
	size_t total = flv_tag_encoded_size(data_size);
	if (cap < total)
		return -ENOSPC;
	flv_tag_header_encode(buf, cap, type, timestamp, data_size);
	if (data_size)
		memcpy(buf + FLV_TAG_HEADER_SIZE, data, data_size);
	flv_put_be32(buf + FLV_TAG_HEADER_SIZE + data_size, FLV_TAG_HEADER_SIZE + data_size);
	return (int)total;
}
