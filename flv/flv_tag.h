/* FLV file header and tag codec (Adobe FLV file format, version 10.1, annex E).
 *
 * File layout:
 *   header (9 bytes: "FLV", version 1, flags, be32 data offset = 9)
 *   be32 PreviousTagSize0 = 0
 *   { tag header (11) | tag data (DataSize) | be32 PreviousTagSize = 11 + DataSize }*
 *
 * Tag header: UI8 flags (bits 0-4 type: 8 audio, 9 video, 18 script data; bit 5
 * Filter = encrypted; bits 6-7 reserved 0), UI24 DataSize, UI24 Timestamp,
 * UI8 TimestampExtended (upper 8 bits of the 32-bit millisecond timestamp),
 * UI24 StreamID = 0.
 *
 * Parsers take (buf, len) and return the number of bytes consumed (> 0), 0 when
 * more input is needed, or -FLV_E_* when the input is malformed. They never
 * read past len; output pointers are slices into buf (nothing is allocated).
 * Encoders write into (buf, cap) and return the number of bytes written or
 * -ENOSPC when cap is too small (nothing partial is promised in that case).
 */
#ifndef FLV_TAG_H
#define FLV_TAG_H

#include <stddef.h>
#include <stdint.h>

#define FLV_HEADER_SIZE      9u  /* signature + version + flags + offset */
#define FLV_PREV_SIZE_LEN    4u  /* the be32 PreviousTagSize field */
#define FLV_TAG_HEADER_SIZE  11u
#define FLV_TAG_DATA_MAX     0xFFFFFFu /* DataSize is 24 bits */
/* The largest data offset accepted in a file header. Version 1 files say 9;
 * a bigger value means extra header bytes a reader must skip. Anything past
 * this bound is treated as corruption rather than buffered. */
#define FLV_HEADER_OFFSET_MAX 1024u

/* Tag types (TagType field, low 5 bits). */
enum flv_tag_type {
	FLV_TAG_AUDIO = 8,
	FLV_TAG_VIDEO = 9,
	FLV_TAG_SCRIPT = 18,
};

/* Header flag bits. */
#define FLV_HDR_FLAG_AUDIO 0x04
#define FLV_HDR_FLAG_VIDEO 0x01

/* Typed errors. Functions return them negated; values are above the errno
 * range so -FLV_E_x and -errno never collide. */
enum flv_err {
	FLV_E_SIGNATURE = 2000, /* file does not start with "FLV" */
	FLV_E_VERSION,          /* header version is not 1 */
	FLV_E_HEADER_OFFSET,    /* data offset < 9 or > FLV_HEADER_OFFSET_MAX */
	FLV_E_PREV_SIZE0,       /* PreviousTagSize0 is not 0 */
	FLV_E_TAG_TYPE,         /* tag type is not 8, 9 or 18, or reserved bits set */
	FLV_E_STREAM_ID,        /* tag StreamID is not 0 */
	FLV_E_TAG_TOO_BIG,      /* DataSize above the caller's limit */
	FLV_E_PREV_SIZE,        /* PreviousTagSize does not equal 11 + DataSize */
	FLV_E_EMPTY,            /* a tag body too short to hold its codec header */
	FLV_E_AMF,              /* malformed AMF0 in a script data tag */
	FLV_E_SPS,              /* malformed H.264 sequence parameter set */
	FLV_E_AVCC,             /* malformed AVCDecoderConfigurationRecord */
	FLV_E_CODEC,            /* codec or packet type that cannot be described */
	FLV_E_STATE,            /* call not valid in the object's current state */
	FLV_E_MAX_
};

/* Human-readable text for a code returned by any flv_ function: accepts the
 * negative return value or the positive code, FLV_E_* or errno. Never NULL;
 * the string is static and must not be freed. */
const char *flv_strerror(int code);

struct flv_header {
	uint8_t version;      /* 1 */
	uint8_t has_audio;    /* TypeFlagsAudio */
	uint8_t has_video;    /* TypeFlagsVideo */
	uint32_t data_offset; /* where PreviousTagSize0 starts */
};

struct flv_tag {
	uint8_t type;          /* enum flv_tag_type */
	uint8_t filter;        /* 1 when the Filter (encryption) bit is set */
	uint32_t data_size;    /* DataSize */
	uint32_t timestamp;    /* milliseconds, extended byte already merged in */
	const uint8_t *data;   /* slice into the parsed buffer, data_size bytes */
};

/* Parse the file header and PreviousTagSize0 from the start of a file.
 * Returns data_offset + 4 (bytes to skip to reach the first tag), 0 when
 * len is too short to decide, or -FLV_E_SIGNATURE / -FLV_E_VERSION /
 * -FLV_E_HEADER_OFFSET / -FLV_E_PREV_SIZE0. Bytes between the 9-byte header
 * and data_offset are skipped unread. */
int flv_header_parse(const uint8_t *buf, size_t len, struct flv_header *out);

/* Write a version-1 file header with the given presence flags followed by
 * PreviousTagSize0. Returns 13 or -ENOSPC. */
int flv_header_encode(uint8_t *buf, size_t cap, int has_audio, int has_video);

/* Parse only the 11-byte tag header. out->data is NULL on return. Returns 11,
 * 0 when len < 11, or -FLV_E_TAG_TYPE / -FLV_E_STREAM_ID /
 * -FLV_E_TAG_TOO_BIG (data_size > max_data; pass FLV_TAG_DATA_MAX for no
 * limit beyond the format's own). */
int flv_tag_header_parse(const uint8_t *buf, size_t len, uint32_t max_data,
			 struct flv_tag *out);

/* Parse one whole tag: header, data and the PreviousTagSize that follows it,
 * which must equal 11 + DataSize. Returns 11 + DataSize + 4, 0 when the tag is
 * not complete in buf (a truncated tag is never half-reported), or any error
 * of flv_tag_header_parse, or -FLV_E_PREV_SIZE. out->data points into buf. */
int flv_tag_parse(const uint8_t *buf, size_t len, uint32_t max_data, struct flv_tag *out);

/* Size of the encoding of a tag with data_size bytes of data (header, data
 * and trailing PreviousTagSize). */
static inline size_t flv_tag_encoded_size(uint32_t data_size)
{
	return (size_t)FLV_TAG_HEADER_SIZE + data_size + FLV_PREV_SIZE_LEN;
}

/* Write a tag header (only; no data, no trailer). Returns 11, -ENOSPC, or
 * -EINVAL when type is not 8/9/18 or data_size > FLV_TAG_DATA_MAX. */
int flv_tag_header_encode(uint8_t *buf, size_t cap, uint8_t type, uint32_t timestamp,
			  uint32_t data_size);

/* Write a whole tag: header, data (copied from `data`, may be NULL when
 * data_size is 0) and PreviousTagSize. Returns flv_tag_encoded_size(data_size),
 * -ENOSPC or -EINVAL as flv_tag_header_encode. */
int flv_tag_encode(uint8_t *buf, size_t cap, uint8_t type, uint32_t timestamp,
		   const uint8_t *data, uint32_t data_size);

/* Explicit big-endian readers and writers; p must hold the bytes. */
static inline uint32_t flv_be16(const uint8_t *p)
{
	return ((uint32_t)p[0] << 8) | p[1];
}
static inline uint32_t flv_be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t flv_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void flv_put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void flv_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}
static inline void flv_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
