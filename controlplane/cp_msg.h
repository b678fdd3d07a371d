/* Shared media messages: encoded once, sent by reference to every viewer.
 *
 * A cp_msg holds one RTMP message in canonical chunked form (DESIGN "byte
 * path" step 4): a fmt 0 first-chunk header with the stream-clock timestamp
 * and message stream id 1, then the payload cut at the appliance's chunk size
 * with 1-byte fmt 3 continuation headers on a fixed chunk stream id per
 * message type. The bytes after the first header (`body`) are the same for
 * every viewer; a viewer only needs its own 12-byte first header, carrying its
 * rebased timestamp (cp_msg_viewer_header). The one exception is a viewer
 * timestamp >= 0xFFFFFF: continuations then carry the extended timestamp, so
 * that viewer gets a private copy (cp_msg_encode_private).
 *
 * Refcounted, single-threaded (the control-plane loop). Immutable after
 * cp_msg_new returns.
 */
#ifndef CP_MSG_H
#define CP_MSG_H

#include <stddef.h>
#include <stdint.h>

/* RTMP message type ids used by the media path. */
#define CP_MT_AUDIO 8
#define CP_MT_VIDEO 9
#define CP_MT_DATA_AMF0 18

/* Fixed chunk stream ids of the media path, the rtmp library's canonical
 * ones (RTMP_CSID_AUDIO/DATA/VIDEO). Commands and protocol control use 2
 * and 3, so media never shares header-compression state with them. */
#define CP_CSID_AUDIO 4
#define CP_CSID_DATA 5
#define CP_CSID_VIDEO 6

enum cp_msg_flags {
	CP_MSG_F_VIDEO = 1u << 0,
	CP_MSG_F_AUDIO = 1u << 1,
	CP_MSG_F_KEYFRAME = 1u << 2,  /* video keyframe (not a sequence header) */
	CP_MSG_F_SEQHDR = 1u << 3,    /* codec configuration (AVC/HEVC/AAC/...) */
	CP_MSG_F_METADATA = 1u << 4,  /* onMetaData */
};

struct cp_msg {
	uint32_t refcnt;
	uint8_t type;
	uint8_t flags;
	uint8_t csid;
	uint32_t ts;         /* stream clock, ms */
	uint32_t len;        /* payload length */
	uint64_t log_off;    /* stream log: bytes of all earlier entries */
	uint8_t hdr[12];     /* canonical fmt 0 header (ts, msid 1) */
	size_t body_len;     /* payload + continuation headers */
	uint8_t body[];
};

/* Classify an audio/video/data payload (first bytes only, as FLV tags:
 * legacy codec ids and Enhanced RTMP FourCC headers). Returns CP_MSG_F_*. */
unsigned cp_msg_classify(uint8_t type, const uint8_t *p, size_t len);

/* Build a message of `type` with payload p[0..len), stream-clock `ts`,
 * chunked at `chunk_size` (>= 1). `flags` from cp_msg_classify.
 * Returns a message with refcount 1, or NULL with errno (ENOMEM, EINVAL when
 * len >= 2^24 or the type has no media chunk stream). */
struct cp_msg *cp_msg_new(uint8_t type, uint32_t ts, const uint8_t *p, size_t len,
			  uint32_t chunk_size, unsigned flags);

/* Take / drop a reference; the last drop frees. put(NULL) is a no-op. */
static inline struct cp_msg *cp_msg_get(struct cp_msg *m)
{
	m->refcnt++;
	return m;
}
void cp_msg_put(struct cp_msg *m);

/* Bytes a viewer sends for this message: header + body. */
static inline size_t cp_msg_wire_len(const struct cp_msg *m)
{
	return sizeof(m->hdr) + m->body_len;
}

/* Write the 12-byte first-chunk header for one viewer (its timestamp and
 * message stream id) into out. Returns 12, or 0 when ts >= 0xFFFFFF: then
 * the caller must use cp_msg_encode_private. */
size_t cp_msg_viewer_header(const struct cp_msg *m, uint32_t ts, uint32_t msid,
			    uint8_t out[12]);

/* Whole chunked message for one viewer, extended timestamps included.
 * Returns a malloc'd buffer (caller frees) and its length in *outlen, or NULL
 * with errno. The slow path for viewer timestamps >= 0xFFFFFF. */
uint8_t *cp_msg_encode_private(const struct cp_msg *m, uint32_t ts, uint32_t msid,
			       uint32_t chunk_size, size_t *outlen);

/* Copy the payload of m (without continuation headers) into out[0..m->len).
 * chunk_size must be the one m was built with. */
void cp_msg_payload(const struct cp_msg *m, uint32_t chunk_size, uint8_t *out);

#endif
