/* Chunk stream reader: incremental header parsing, per-csid reassembly in
 * bounded buffers from the caller's allocator. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_err.h"

/* Message header length per fmt. */
static const uint8_t chunk_mh_len[4] = { 11, 7, 3, 0 };

static const struct rtmp_chunk_limits chunk_default_limits = RTMP_CHUNK_LIMITS_DEFAULT;

static void *chunk_default_alloc(void *ctx, size_t size)
{
	return malloc(size);
}

static void chunk_default_free(void *ctx, void *p, size_t size)
{
	free(p);
}

int rtmp_chunk_reader_init(struct rtmp_chunk_reader *r, const struct rtmp_chunk_limits *lim,
			   const struct rtmp_alloc *alloc, uint32_t chunk_size)
{
	size_t tbl;

	memset(r, 0, sizeof(*r));
	r->lim = lim ? *lim : chunk_default_limits;
	if (r->lim.max_chunk_size == 0 || r->lim.max_chunk_size > RTMP_CHUNK_SIZE_MAX ||
	    r->lim.max_msg_size > RTMP_MSG_LEN_MAX || r->lim.max_streams == 0 ||
	    r->lim.max_streams > RTMP_CSID_MAX - 1)
		return -EINVAL;
	if (chunk_size == 0 || chunk_size > r->lim.max_chunk_size)
		return -EINVAL;
	r->alloc.alloc = alloc && alloc->alloc ? alloc->alloc : chunk_default_alloc;
	r->alloc.free = alloc && alloc->free ? alloc->free : chunk_default_free;
	r->alloc.ctx = alloc ? alloc->ctx : NULL;
	r->chunk_size = chunk_size;
	tbl = sizeof(*r->streams) * r->lim.max_streams;
	r->streams = r->alloc.alloc(r->alloc.ctx, tbl);
	if (!r->streams)
		return -ENOMEM;
	memset(r->streams, 0, tbl);
	return 0;
}

static void chunk_free_buf(struct rtmp_chunk_reader *r, struct rtmp_chunk_stream *s)
{
	if (!s->buf)
		return;
	r->alloc.free(r->alloc.ctx, s->buf, s->cap);
	r->buffered -= s->cap;
	s->buf = NULL;
	s->cap = 0;
}

void rtmp_chunk_reader_fini(struct rtmp_chunk_reader *r)
{
	uint32_t i;

	if (!r->streams)
		return;
	for (i = 0; i < r->nstreams; i++)
		chunk_free_buf(r, &r->streams[i]);
	r->alloc.free(r->alloc.ctx, r->streams, sizeof(*r->streams) * r->lim.max_streams);
	r->streams = NULL;
	r->nstreams = 0;
	r->cur = NULL;
}

int rtmp_chunk_reader_set_chunk_size(struct rtmp_chunk_reader *r, uint32_t size)
{
	if (size == 0 || size > RTMP_CHUNK_SIZE_MAX || size > r->lim.max_chunk_size)
		return -RTMP_E_CHUNK_SIZE;
	r->chunk_size = size;
	return 0;
}

static struct rtmp_chunk_stream *chunk_find(struct rtmp_chunk_reader *r, uint32_t csid)
{
	uint32_t i;

	for (i = 0; i < r->nstreams; i++)
		if (r->streams[i].csid == csid)
			return &r->streams[i];
	return NULL;
}

int rtmp_chunk_reader_abort(struct rtmp_chunk_reader *r, uint32_t csid)
{
	struct rtmp_chunk_stream *s = chunk_find(r, csid);

	if (!s)
		return -ENOENT;
	s->received = 0;
	return 0;
}

void *rtmp_chunk_reader_take(struct rtmp_chunk_reader *r, const struct rtmp_msg *msg,
			     size_t *size)
{
	struct rtmp_chunk_stream *s = chunk_find(r, msg->csid);
	void *p;

	if (!s || !s->buf || msg->data != s->buf || s->received != 0)
		return NULL;
	p = s->buf;
	*size = s->cap;
	r->buffered -= s->cap;
	s->buf = NULL;
	s->cap = 0;
	return p;
}

/* Basic header length from its first byte. */
static uint8_t chunk_basic_len(uint8_t b0)
{
	switch (b0 & 0x3f) {
	case 0:
		return 2;
	case 1:
		return 3;
	default:
		return 1;
	}
}

static uint32_t chunk_csid(const uint8_t *h)
{
	switch (h[0] & 0x3f) {
	case 0:
		return 64u + h[1];
	case 1:
		return 64u + h[1] + 256u * h[2];
	default:
		return h[0] & 0x3fu;
	}
}

/* Total header length given the bytes collected so far: returns the number
 * of bytes needed to know more (or the full length once known), or an error
 * for a fmt-3 header on an unknown csid (its length depends on that state). */
static int chunk_hdr_need(struct rtmp_chunk_reader *r)
{
	uint8_t basic, fmt, mh;
	struct rtmp_chunk_stream *s;

	if (r->hdr_have < 1)
		return 1;
	basic = chunk_basic_len(r->hdr[0]);
	if (r->hdr_have < basic)
		return basic;
	fmt = r->hdr[0] >> 6;
	mh = chunk_mh_len[fmt];
	if (r->hdr_have < basic + mh)
		return basic + mh;
	if (fmt < 3)
		return basic + mh + (rtmp_be24(r->hdr + basic) == RTMP_EXT_TS ? 4 : 0);
	s = chunk_find(r, chunk_csid(r->hdr));
	if (!s)
		return -RTMP_E_CHUNK_NO_PREV;
	return basic + (s->ext ? 4 : 0);
}

static int chunk_stream_get(struct rtmp_chunk_reader *r, uint32_t csid, uint8_t fmt,
			    struct rtmp_chunk_stream **out)
{
	struct rtmp_chunk_stream *s = chunk_find(r, csid);

	if (!s) {
		if (fmt != 0)
			return -RTMP_E_CHUNK_NO_PREV;
		if (r->nstreams >= r->lim.max_streams)
			return -RTMP_E_TOO_MANY_STREAMS;
		s = &r->streams[r->nstreams++];
		memset(s, 0, sizeof(*s));
		s->csid = csid;
		s->in_use = 1;
	}
	*out = s;
	return 0;
}

/* Apply a complete header in r->hdr to its stream; sets r->cur. */
static int chunk_hdr_apply(struct rtmp_chunk_reader *r)
{
	const uint8_t *h = r->hdr;
	uint8_t fmt = h[0] >> 6, basic = chunk_basic_len(h[0]);
	const uint8_t *mh = h + basic;
	struct rtmp_chunk_stream *s;
	uint32_t field = 0;
	int rc;

	rc = chunk_stream_get(r, chunk_csid(h), fmt, &s);
	if (rc < 0)
		return rc;
	if (fmt == 3) {
		if (s->received == 0)
			s->timestamp += s->delta; /* new message, same delta */
		r->cur = s;
		return 0;
	}
	if (s->received != 0)
		return -RTMP_E_CHUNK_HEADER;
	field = rtmp_be24(mh);
	s->ext = field == RTMP_EXT_TS;
	if (s->ext)
		field = rtmp_be32(mh + chunk_mh_len[fmt]);
	if (fmt <= 1) {
		s->length = rtmp_be24(mh + 3);
		s->type = mh[6];
	}
	if (fmt == 0) {
		s->msid = rtmp_le32(mh + 7);
		s->timestamp = field;
	} else {
		s->timestamp += field;
	}
	s->delta = field;
	r->cur = s;
	return 0;
}

/* Make room for the current message in s->buf within the memory budget,
 * first releasing idle buffers of other streams if needed. */
static int chunk_reserve(struct rtmp_chunk_reader *r, struct rtmp_chunk_stream *s)
{
	uint32_t i;

	if (s->cap >= s->length)
		return 0;
	chunk_free_buf(r, s);
	for (i = 0; i < r->nstreams && r->buffered + s->length > r->lim.max_buffered; i++)
		if (r->streams[i].received == 0)
			chunk_free_buf(r, &r->streams[i]);
	if (r->buffered + s->length > r->lim.max_buffered)
		return -RTMP_E_MEM_LIMIT;
	s->buf = r->alloc.alloc(r->alloc.ctx, s->length);
	if (!s->buf)
		return -ENOMEM;
	s->cap = s->length;
	r->buffered += s->cap;
	return 0;
}

static void chunk_fill_msg(const struct rtmp_chunk_stream *s, const uint8_t *data,
			   struct rtmp_msg *msg)
{
	msg->timestamp = s->timestamp;
	msg->length = s->length;
	msg->msid = s->msid;
	msg->csid = s->csid;
	msg->type = s->type;
	msg->data = data;
}

/* Set Chunk Size and Abort take effect as soon as they are read. */
static int chunk_apply_control(struct rtmp_chunk_reader *r, const struct rtmp_msg *m)
{
	uint32_t v;

	if (m->type != RTMP_MSG_SET_CHUNK_SIZE && m->type != RTMP_MSG_ABORT)
		return 0;
	if (m->length < 4)
		return -RTMP_E_CTL_MALFORMED;
	v = rtmp_be32(m->data);
	if (m->type == RTMP_MSG_SET_CHUNK_SIZE)
		return rtmp_chunk_reader_set_chunk_size(r, v);
	rtmp_chunk_reader_abort(r, v); /* unknown csid: nothing to drop */
	return 0;
}

/* The header is complete: set up the payload of this chunk. Returns 1 with
 * *msg filled when the message completes without payload bytes or lies
 * whole in the input (delivered in place), 0 to go on, or an error. */
static int chunk_begin_payload(struct rtmp_chunk_reader *r, const uint8_t *in, size_t avail,
			       size_t *used, struct rtmp_msg *msg)
{
	struct rtmp_chunk_stream *s = r->cur;
	uint32_t left;
	int rc;

	r->hdr_have = 0;
	*used = 0;
	if (s->received == 0 && s->length > r->lim.max_msg_size)
		return -RTMP_E_MSG_TOO_BIG;
	left = s->length - s->received;
	r->chunk_left = left < r->chunk_size ? left : r->chunk_size;
	if (s->length == 0) {
		chunk_fill_msg(s, NULL, msg);
		return 1;
	}
	if (s->received == 0 && r->chunk_left == s->length && avail >= s->length) {
		*used = s->length;
		chunk_fill_msg(s, in, msg);
		return 1;
	}
	if (s->received == 0) {
		rc = chunk_reserve(r, s);
		if (rc < 0)
			return rc;
	}
	r->in_payload = 1;
	return 0;
}

/* Copy payload bytes; returns 1 and fills *msg when the message completes. */
static int chunk_payload(struct rtmp_chunk_reader *r, const uint8_t *in, size_t avail,
			 size_t *used, struct rtmp_msg *msg)
{
	struct rtmp_chunk_stream *s = r->cur;
	size_t n = avail < r->chunk_left ? avail : r->chunk_left;

	memcpy(s->buf + s->received, in, n);
	s->received += (uint32_t)n;
	r->chunk_left -= (uint32_t)n;
	*used = n;
	if (r->chunk_left != 0)
		return 0;
	r->in_payload = 0;
	if (s->received != s->length)
		return 0;
	s->received = 0;
	chunk_fill_msg(s, s->buf, msg);
	return 1;
}

/* Collect header bytes; returns 1 when the header is complete and applied,
 * 0 when more input is needed, or an error. */
static int chunk_header(struct rtmp_chunk_reader *r, const uint8_t *in, size_t avail,
			size_t *used)
{
	int need;

	*used = 0;
	for (;;) {
		need = chunk_hdr_need(r);
		if (need < 0)
			return need;
		if (r->hdr_have >= need)
			break;
		if (*used == avail)
			return 0;
		r->hdr[r->hdr_have++] = in[(*used)++];
	}
	need = chunk_hdr_apply(r);
	return need < 0 ? need : 1;
}

int rtmp_chunk_read(struct rtmp_chunk_reader *r, const uint8_t *buf, size_t len,
		    struct rtmp_msg *msg, size_t *consumed)
{
	size_t pos = 0, used;
	int rc = 0;

	while (pos < len) {
		if (r->in_payload) {
			rc = chunk_payload(r, buf + pos, len - pos, &used, msg);
			pos += used;
		} else {
			rc = chunk_header(r, buf + pos, len - pos, &used);
			pos += used;
			if (rc <= 0)
				break;
			rc = chunk_begin_payload(r, buf + pos, len - pos, &used, msg);
			pos += used;
		}
		if (rc != 0)
			break;
	}
	r->bytes_in += pos;
	*consumed = pos;
	if (rc == 1) {
		int crc = chunk_apply_control(r, msg);

		if (crc < 0)
			return crc;
	}
	return rc;
}
