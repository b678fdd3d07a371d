/* Chunk writer: header compression per csid, and the canonical form. */
#include <errno.h>
#include <string.h>

#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_err.h"

/* Message header length per fmt. */
static const uint8_t chunk_wmh_len[4] = { 11, 7, 3, 0 };

/* The first header of a message as decided by the writer. */
struct chunk_plan {
	uint8_t fmt;
	uint32_t field;   /* timestamp or delta written (or repeated for fmt 3) */
	int ext;          /* field goes to the extended timestamp */
};

int rtmp_chunk_writer_init(struct rtmp_chunk_writer *w, uint32_t chunk_size)
{
	memset(w, 0, sizeof(*w));
	return rtmp_chunk_writer_set_chunk_size(w, chunk_size);
}

int rtmp_chunk_writer_set_chunk_size(struct rtmp_chunk_writer *w, uint32_t chunk_size)
{
	if (chunk_size == 0 || chunk_size > RTMP_CHUNK_SIZE_MAX)
		return -EINVAL;
	w->chunk_size = chunk_size;
	return 0;
}

void rtmp_chunk_writer_invalidate(struct rtmp_chunk_writer *w)
{
	memset(w->slots, 0, sizeof(w->slots));
}

static size_t chunk_basic_size(uint32_t csid)
{
	return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static int chunk_msg_valid(const struct rtmp_msg *m)
{
	return m->csid >= RTMP_CSID_MIN && m->csid <= RTMP_CSID_MAX &&
	       m->length <= RTMP_MSG_LEN_MAX && (m->length == 0 || m->data);
}

static size_t chunk_encode_basic(uint8_t *p, uint8_t fmt, uint32_t csid)
{
	if (csid < 64) {
		p[0] = (uint8_t)(fmt << 6 | csid);
		return 1;
	}
	if (csid < 320) {
		p[0] = (uint8_t)(fmt << 6);
		p[1] = (uint8_t)(csid - 64);
		return 2;
	}
	p[0] = (uint8_t)(fmt << 6 | 1);
	p[1] = (uint8_t)((csid - 64) & 0xff);
	p[2] = (uint8_t)((csid - 64) >> 8);
	return 3;
}

/* Encode a first-chunk header; returns its length (<= RTMP_CHUNK_HDR_MAX). */
static size_t chunk_encode_first(uint8_t *p, const struct chunk_plan *pl, const struct rtmp_msg *m,
				 uint32_t msid)
{
	size_t n = chunk_encode_basic(p, pl->fmt, m->csid);

	if (pl->fmt <= 2) {
		rtmp_put_be24(p + n, pl->ext ? RTMP_EXT_TS : pl->field);
		n += 3;
	}
	if (pl->fmt <= 1) {
		rtmp_put_be24(p + n, m->length);
		p[n + 3] = m->type;
		n += 4;
	}
	if (pl->fmt == 0) {
		rtmp_put_le32(p + n, msid);
		n += 4;
	}
	if (pl->ext) {
		rtmp_put_be32(p + n, pl->field);
		n += 4;
	}
	return n;
}

/* Continuation header: fmt 3, plus the extended field when the first had one. */
static size_t chunk_encode_cont(uint8_t *p, const struct chunk_plan *pl, uint32_t csid)
{
	size_t n = chunk_encode_basic(p, 3, csid);

	if (pl->ext) {
		rtmp_put_be32(p + n, pl->field);
		n += 4;
	}
	return n;
}

static size_t chunk_first_size(const struct chunk_plan *pl, uint32_t csid)
{
	return chunk_basic_size(csid) + chunk_wmh_len[pl->fmt] + (pl->ext ? 4 : 0);
}

static size_t chunk_total_size(const struct chunk_plan *pl, uint32_t csid, uint32_t len,
			       uint32_t chunk_size)
{
	size_t nchunks = len == 0 ? 1 : ((size_t)len + chunk_size - 1) / chunk_size;
	size_t cont = chunk_basic_size(csid) + (pl->ext ? 4 : 0);

	return chunk_first_size(pl, csid) + len + (nchunks - 1) * cont;
}

static const struct rtmp_chunk_wslot *chunk_slot_find(const struct rtmp_chunk_writer *w,
						      uint32_t csid)
{
	uint32_t i;

	for (i = 0; i < RTMP_CHUNK_WRITER_SLOTS; i++)
		if (w->slots[i].csid == csid)
			return &w->slots[i];
	return NULL;
}

static void chunk_plan_for(const struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			   struct chunk_plan *pl)
{
	const struct rtmp_chunk_wslot *s = chunk_slot_find(w, m->csid);
	uint32_t delta;

	if (!s || s->msid != m->msid || (uint32_t)(m->timestamp - s->timestamp) >= 0x80000000u) {
		pl->fmt = 0;
		pl->field = m->timestamp;
	} else {
		delta = m->timestamp - s->timestamp;
		pl->field = delta;
		if (s->length != m->length || s->type != m->type)
			pl->fmt = 1;
		else if (s->delta != delta || s->fmt == 0)
			pl->fmt = 2; /* fmt 3 after fmt 0 is read differently by servers */
		else
			pl->fmt = 3;
	}
	pl->ext = pl->field >= RTMP_EXT_TS;
}

static void chunk_slot_update(struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			      const struct chunk_plan *pl)
{
	struct rtmp_chunk_wslot *s = (struct rtmp_chunk_wslot *)chunk_slot_find(w, m->csid);
	uint32_t i;

	if (!s) {
		for (i = 0; i < RTMP_CHUNK_WRITER_SLOTS && !s; i++)
			if (w->slots[i].csid == 0)
				s = &w->slots[i];
		if (!s) {
			s = &w->slots[w->next_slot];
			w->next_slot = (w->next_slot + 1) % RTMP_CHUNK_WRITER_SLOTS;
		}
	}
	s->csid = m->csid;
	s->timestamp = m->timestamp;
	s->delta = pl->field;
	s->length = m->length;
	s->msid = m->msid;
	s->type = m->type;
	s->fmt = pl->fmt;
}

size_t rtmp_chunk_write_size(const struct rtmp_chunk_writer *w, const struct rtmp_msg *m)
{
	struct chunk_plan pl;

	if (!chunk_msg_valid(m))
		return 0;
	chunk_plan_for(w, m, &pl);
	return chunk_total_size(&pl, m->csid, m->length, w->chunk_size);
}

/* Emit all chunks of m under plan pl. */
static int chunk_emit(const struct chunk_plan *pl, const struct rtmp_msg *m, uint32_t msid,
		      uint32_t chunk_size, int (*out)(void *ctx, const uint8_t *p, size_t n),
		      void *ctx)
{
	uint8_t hdr[RTMP_CHUNK_HDR_MAX];
	uint32_t off = 0, n;
	int rc;

	rc = out(ctx, hdr, chunk_encode_first(hdr, pl, m, msid));
	for (;;) {
		if (rc != 0)
			return rc;
		n = m->length - off < chunk_size ? m->length - off : chunk_size;
		if (n > 0) {
			rc = out(ctx, m->data + off, n);
			if (rc != 0)
				return rc;
		}
		off += n;
		if (off >= m->length)
			return 0;
		rc = out(ctx, hdr, chunk_encode_cont(hdr, pl, m->csid));
	}
}

int rtmp_chunk_write_emit(struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			  int (*out)(void *ctx, const uint8_t *p, size_t n), void *ctx)
{
	struct chunk_plan pl;

	if (!chunk_msg_valid(m))
		return -EINVAL;
	chunk_plan_for(w, m, &pl);
	chunk_slot_update(w, m, &pl);
	return chunk_emit(&pl, m, m->msid, w->chunk_size, out, ctx);
}

struct chunk_sink {
	uint8_t *buf;
	size_t len;
};

static int chunk_sink_copy(void *ctx, const uint8_t *p, size_t n)
{
	struct chunk_sink *s = ctx;

	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

ssize_t rtmp_chunk_write(struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			 uint8_t *buf, size_t cap)
{
	struct chunk_sink sink = { buf, 0 };
	struct chunk_plan pl;
	size_t need;

	if (!chunk_msg_valid(m))
		return -EINVAL;
	chunk_plan_for(w, m, &pl);
	need = chunk_total_size(&pl, m->csid, m->length, w->chunk_size);
	if (need > cap)
		return -ENOSPC;
	chunk_slot_update(w, m, &pl);
	chunk_emit(&pl, m, m->msid, w->chunk_size, chunk_sink_copy, &sink);
	return (ssize_t)sink.len;
}

uint32_t rtmp_chunk_canonical_csid(uint8_t type)
{
	switch (type) {
	case RTMP_MSG_SET_CHUNK_SIZE:
	case RTMP_MSG_ABORT:
	case RTMP_MSG_ACK:
	case RTMP_MSG_USER_CONTROL:
	case RTMP_MSG_WINDOW_ACK_SIZE:
	case RTMP_MSG_SET_PEER_BW:
		return RTMP_CSID_CONTROL;
	case RTMP_MSG_AUDIO:
		return RTMP_CSID_AUDIO;
	case RTMP_MSG_VIDEO:
		return RTMP_CSID_VIDEO;
	case RTMP_MSG_DATA_AMF3:
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_SHARED_OBJECT_AMF3:
	case RTMP_MSG_SHARED_OBJECT_AMF0:
	case RTMP_MSG_AGGREGATE:
		return RTMP_CSID_DATA;
	default:
		return RTMP_CSID_COMMAND;
	}
}

static void chunk_canonical_plan(uint32_t ts, struct chunk_plan *pl)
{
	pl->fmt = 0;
	pl->field = ts;
	pl->ext = ts >= RTMP_EXT_TS;
}

size_t rtmp_chunk_canonical_size(uint32_t len, uint32_t ts, uint32_t chunk_size)
{
	struct chunk_plan pl;

	if (chunk_size == 0)
		return 0;
	chunk_canonical_plan(ts, &pl);
	/* Canonical csids are all below 64: one-byte basic headers. */
	return chunk_total_size(&pl, RTMP_CSID_CONTROL, len, chunk_size);
}

ssize_t rtmp_chunk_write_canonical(const struct rtmp_msg *m, uint32_t chunk_size,
				   uint8_t *buf, size_t cap)
{
	struct chunk_sink sink = { buf, 0 };
	struct rtmp_msg c = *m;
	struct chunk_plan pl;

	c.csid = rtmp_chunk_canonical_csid(m->type);
	c.msid = RTMP_CANONICAL_MSID;
	if (!chunk_msg_valid(&c) || chunk_size == 0 || chunk_size > RTMP_CHUNK_SIZE_MAX)
		return -EINVAL;
	chunk_canonical_plan(m->timestamp, &pl);
	if (chunk_total_size(&pl, c.csid, c.length, chunk_size) > cap)
		return -ENOSPC;
	chunk_emit(&pl, &c, c.msid, chunk_size, chunk_sink_copy, &sink);
	return (ssize_t)sink.len;
}
