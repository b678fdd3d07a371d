#include "controlplane/cp_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flv/flv_codec.h"

#define TS_EXT 0xFFFFFFu

static void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	put_be24(p + 1, v);
}

/* Audio/video: flv_sniff knows legacy codec ids and Enhanced RTMP headers. */
static unsigned classify_av(uint8_t type, const uint8_t *p, size_t len)
{
	unsigned f = type == CP_MT_VIDEO ? CP_MSG_F_VIDEO : CP_MSG_F_AUDIO;
	struct flv_media_info mi;
	if (flv_sniff(type, p, len, &mi) != 0)
		return f; /* too short to say more: plain media */
	if (mi.sequence_header)
		f |= CP_MSG_F_SEQHDR;
	else if (mi.is_video && mi.keyframe)
		f |= CP_MSG_F_KEYFRAME;
	return f;
}

unsigned cp_msg_classify(uint8_t type, const uint8_t *p, size_t len)
{
	static const uint8_t meta[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a',
					'D', 'a', 't', 'a' };
	switch (type) {
	case CP_MT_VIDEO:
	case CP_MT_AUDIO:
		return classify_av(type, p, len);
	case CP_MT_DATA_AMF0:
		if (len >= sizeof(meta) && memcmp(p, meta, sizeof(meta)) == 0)
			return CP_MSG_F_METADATA;
		return 0;
	default:
		return 0;
	}
}

static int type_csid(uint8_t type)
{
	switch (type) {
	case CP_MT_AUDIO:
		return CP_CSID_AUDIO;
	case CP_MT_VIDEO:
		return CP_CSID_VIDEO;
	case CP_MT_DATA_AMF0:
		return CP_CSID_DATA;
	default:
		return -1;
	}
}

/* fmt 0 header: basic header (csid < 64) + ts, length, type, msid (LE). */
static void write_header(uint8_t *h, uint8_t csid, uint32_t ts, uint32_t len, uint8_t type,
			 uint32_t msid)
{
	h[0] = csid; /* fmt 0 */
	put_be24(h + 1, ts >= TS_EXT ? TS_EXT : ts);
	put_be24(h + 4, len);
	h[7] = type;
	h[8] = (uint8_t)msid;
	h[9] = (uint8_t)(msid >> 8);
	h[10] = (uint8_t)(msid >> 16);
	h[11] = (uint8_t)(msid >> 24);
}

/* Chunked payload after the first header; `ext` inserts the extended
 * timestamp after each continuation header (and before the first chunk). */
static size_t chunked_len(size_t len, uint32_t chunk_size, int ext)
{
	size_t nchunks = len == 0 ? 1 : (len + chunk_size - 1) / chunk_size;
	return len + (nchunks - 1) * (1 + (ext ? 4 : 0)) + (ext ? 4 : 0);
}

static void write_chunked(uint8_t *out, uint8_t csid, const uint8_t *p, size_t len,
			  uint32_t chunk_size, int ext, uint32_t ts)
{
	if (ext) {
		put_be32(out, ts);
		out += 4;
	}
	size_t off = 0;
	while (off < len) {
		if (off > 0) {
			*out++ = (uint8_t)(0xC0 | csid); /* fmt 3 */
			if (ext) {
				put_be32(out, ts);
				out += 4;
			}
		}
		size_t n = len - off < chunk_size ? len - off : chunk_size;
		memcpy(out, p + off, n);
		out += n;
		off += n;
	}
}

struct cp_msg *cp_msg_new(uint8_t type, uint32_t ts, const uint8_t *p, size_t len,
			  uint32_t chunk_size, unsigned flags)
{
	int csid = type_csid(type);
	if (csid < 0 || len > TS_EXT || chunk_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	/* The canonical form never needs extended timestamps in the body: a
	 * stream clock >= 0xFFFFFF is still stored in `ts`, and viewers whose
	 * own timestamp needs it take the private path. */
	size_t blen = chunked_len(len, chunk_size, 0);
	struct cp_msg *m = malloc(sizeof(*m) + blen);
	if (!m)
		return NULL;
	m->refcnt = 1;
	m->type = type;
	m->flags = (uint8_t)flags;
	m->csid = (uint8_t)csid;
	m->ts = ts;
	m->len = (uint32_t)len;
	m->log_off = 0;
	m->body_len = blen;
	write_header(m->hdr, (uint8_t)csid, ts < TS_EXT ? ts : 0, (uint32_t)len, type, 1);
	write_chunked(m->body, (uint8_t)csid, p, len, chunk_size, 0, 0);
	return m;
}

void cp_msg_put(struct cp_msg *m)
{
	if (!m)
		return;
	if (--m->refcnt == 0)
		free(m);
}

size_t cp_msg_viewer_header(const struct cp_msg *m, uint32_t ts, uint32_t msid,
			    uint8_t out[12])
{
	if (ts >= TS_EXT)
		return 0;
	write_header(out, m->csid, ts, m->len, m->type, msid);
	return 12;
}

void cp_msg_payload(const struct cp_msg *m, uint32_t chunk_size, uint8_t *out)
{
	const uint8_t *in = m->body;
	size_t off = 0;
	while (off < m->len) {
		if (off > 0)
			in++; /* fmt 3 basic header */
		size_t n = m->len - off < chunk_size ? m->len - off : chunk_size;
		memcpy(out + off, in, n);
		in += n;
		off += n;
	}
}

uint8_t *cp_msg_encode_private(const struct cp_msg *m, uint32_t ts, uint32_t msid,
			       uint32_t chunk_size, size_t *outlen)
{
	int ext = ts >= TS_EXT;
	size_t blen = chunked_len(m->len, chunk_size, ext);
	uint8_t *payload = malloc(m->len ? m->len : 1);
	uint8_t *out = malloc(12 + blen);
	if (!payload || !out) {
		free(payload);
		free(out);
		errno = ENOMEM;
		return NULL;
	}
	cp_msg_payload(m, chunk_size, payload);
	write_header(out, m->csid, ts, m->len, m->type, msid);
	write_chunked(out + 12, m->csid, payload, m->len, chunk_size, ext, ts);
	free(payload);
	*outlen = 12 + blen;
	return out;
}
