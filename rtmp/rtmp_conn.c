/* Chunk layer of one connection: protocol control handled here, other
 * messages delivered upward, outgoing messages chunked. */
#include <errno.h>
#include <string.h>

#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_err.h"

static const struct rtmp_chunk_limits conn_default_limits = RTMP_CHUNK_LIMITS_DEFAULT;

int rtmp_conn_init(struct rtmp_conn *c, const struct rtmp_conn_config *cfg)
{
	struct rtmp_chunk_limits lim = cfg->limits;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!cfg->on_msg || !cfg->on_out)
		return -EINVAL;
	if (lim.max_chunk_size == 0 && lim.max_msg_size == 0 && lim.max_streams == 0 &&
	    lim.max_buffered == 0)
		lim = conn_default_limits;
	c->st = cfg->state;
	if (c->st.in_chunk_size == 0)
		c->st.in_chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
	if (c->st.out_chunk_size == 0)
		c->st.out_chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
	rc = rtmp_chunk_writer_init(&c->wr, c->st.out_chunk_size);
	if (rc < 0)
		return rc;
	rc = rtmp_chunk_reader_init(&c->rd, &lim, &cfg->alloc, c->st.in_chunk_size);
	if (rc < 0)
		return rc;
	c->rd.bytes_in = c->st.bytes_in;
	c->on_msg = cfg->on_msg;
	c->on_out = cfg->on_out;
	c->on_event = cfg->on_event;
	c->ctx = cfg->ctx;
	return 0;
}

void rtmp_conn_fini(struct rtmp_conn *c)
{
	rtmp_chunk_reader_fini(&c->rd);
}

static int conn_out(void *ctx, const uint8_t *p, size_t n)
{
	struct rtmp_conn *c = ctx;
	int rc = c->on_out(c->ctx, p, n);

	if (rc == 0)
		c->st.bytes_out += n;
	return rc;
}

int rtmp_conn_send(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	struct rtmp_msg x = *m;

	if (x.csid == 0)
		x.csid = rtmp_chunk_canonical_csid(x.type);
	return rtmp_chunk_write_emit(&c->wr, &x, conn_out, c);
}

/* Protocol control messages go on csid 2, msid 0, timestamp 0. */
static int conn_send_ctl(struct rtmp_conn *c, uint8_t type, const uint8_t *body, int len)
{
	struct rtmp_msg m = { 0, 0, 0, RTMP_CSID_CONTROL, type, body };

	if (len < 0)
		return len;
	m.length = (uint32_t)len;
	return rtmp_conn_send(c, &m);
}

int rtmp_conn_set_chunk_size(struct rtmp_conn *c, uint32_t size)
{
	uint8_t b[RTMP_CTL_BODY_MAX];
	int rc = conn_send_ctl(c, RTMP_MSG_SET_CHUNK_SIZE, b,
			       rtmp_ctl_set_chunk_size(b, sizeof(b), size));

	if (rc < 0)
		return rc;
	c->st.out_chunk_size = size;
	return rtmp_chunk_writer_set_chunk_size(&c->wr, size);
}

int rtmp_conn_send_window(struct rtmp_conn *c, uint32_t window)
{
	uint8_t b[RTMP_CTL_BODY_MAX];
	int rc = conn_send_ctl(c, RTMP_MSG_WINDOW_ACK_SIZE, b,
			       rtmp_ctl_window_ack_size(b, sizeof(b), window));

	if (rc == 0)
		c->st.out_window = window;
	return rc;
}

int rtmp_conn_send_peer_bw(struct rtmp_conn *c, uint32_t window, enum rtmp_bw_limit limit)
{
	uint8_t b[RTMP_CTL_BODY_MAX];

	return conn_send_ctl(c, RTMP_MSG_SET_PEER_BW, b,
			     rtmp_ctl_set_peer_bw(b, sizeof(b), window, limit));
}

int rtmp_conn_send_user(struct rtmp_conn *c, enum rtmp_uc_event ev, uint32_t value)
{
	uint8_t b[RTMP_CTL_BODY_MAX];

	return conn_send_ctl(c, RTMP_MSG_USER_CONTROL, b, rtmp_ctl_user(b, sizeof(b), ev, value));
}

static void conn_event(struct rtmp_conn *c, enum rtmp_conn_event_kind kind, uint32_t value,
		       uint32_t value2, uint8_t limit)
{
	struct rtmp_conn_event ev = { kind, value, value2, limit };

	if (c->on_event)
		c->on_event(c->ctx, &ev);
}

int rtmp_conn_send_ack(struct rtmp_conn *c)
{
	uint8_t b[RTMP_CTL_BODY_MAX];
	uint32_t seq = (uint32_t)c->st.bytes_in; /* the sequence number wraps */
	int rc = conn_send_ctl(c, RTMP_MSG_ACK, b, rtmp_ctl_ack(b, sizeof(b), seq));

	if (rc == 0) {
		c->st.last_ack_sent = c->st.bytes_in;
		conn_event(c, RTMP_CONN_EV_ACK_SENT, seq, 0, 0);
	}
	return rc;
}

static int conn_user_control(struct rtmp_conn *c, const struct rtmp_ctl *ctl)
{
	switch (ctl->event) {
	case RTMP_UC_PING_REQUEST:
		conn_event(c, RTMP_CONN_EV_PING_REQUEST, ctl->value, 0, 0);
		return rtmp_conn_send_user(c, RTMP_UC_PING_RESPONSE, ctl->value);
	case RTMP_UC_PING_RESPONSE:
		conn_event(c, RTMP_CONN_EV_PING_RESPONSE, ctl->value, 0, 0);
		return 0;
	case RTMP_UC_STREAM_BEGIN:
		conn_event(c, RTMP_CONN_EV_STREAM_BEGIN, ctl->value, 0, 0);
		return 0;
	case RTMP_UC_STREAM_EOF:
		conn_event(c, RTMP_CONN_EV_STREAM_EOF, ctl->value, 0, 0);
		return 0;
	case RTMP_UC_STREAM_DRY:
		conn_event(c, RTMP_CONN_EV_STREAM_DRY, ctl->value, 0, 0);
		return 0;
	case RTMP_UC_STREAM_IS_RECORDED:
		conn_event(c, RTMP_CONN_EV_STREAM_IS_RECORDED, ctl->value, 0, 0);
		return 0;
	case RTMP_UC_SET_BUFFER_LENGTH:
		conn_event(c, RTMP_CONN_EV_BUFFER_LENGTH, ctl->value, ctl->value2, 0);
		return 0;
	default:
		return 0; /* unknown events are ignored, as servers do */
	}
}

/* Handle a protocol control message (types 1..6). */
static int conn_control(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	struct rtmp_ctl ctl;
	int rc = rtmp_ctl_parse(m->type, m->data, m->length, &ctl);

	if (rc < 0)
		return rc;
	switch (m->type) {
	case RTMP_MSG_SET_CHUNK_SIZE: /* already applied by the reader */
		c->st.in_chunk_size = c->rd.chunk_size;
		conn_event(c, RTMP_CONN_EV_CHUNK_SIZE, ctl.value, 0, 0);
		return 0;
	case RTMP_MSG_ABORT:
		conn_event(c, RTMP_CONN_EV_ABORT, ctl.value, 0, 0);
		return 0;
	case RTMP_MSG_ACK:
		c->st.peer_acked = ctl.value;
		conn_event(c, RTMP_CONN_EV_ACK, ctl.value, 0, 0);
		return 0;
	case RTMP_MSG_WINDOW_ACK_SIZE:
		c->st.in_window = ctl.value;
		conn_event(c, RTMP_CONN_EV_WINDOW, ctl.value, 0, 0);
		return 0;
	case RTMP_MSG_SET_PEER_BW:
		c->st.peer_bw = ctl.value;
		conn_event(c, RTMP_CONN_EV_PEER_BW, ctl.value, 0, ctl.limit);
		/* Answer with our window when it differs (RTMP spec 5.4.5). */
		if (ctl.value != c->st.out_window)
			return rtmp_conn_send_window(c, ctl.value);
		return 0;
	default:
		return conn_user_control(c, &ctl);
	}
}

static int conn_maybe_ack(struct rtmp_conn *c)
{
	if (c->st.in_window == 0 || c->st.bytes_in - c->st.last_ack_sent < c->st.in_window)
		return 0;
	return rtmp_conn_send_ack(c);
}

/* Hand a non-control message upward; positive callback values mean "go on". */
static int conn_deliver(struct rtmp_conn *c, const struct rtmp_msg *m)
{
	int rc = c->on_msg(c->ctx, m);

	return rc < 0 ? rc : 0;
}

int rtmp_conn_input(struct rtmp_conn *c, const uint8_t *buf, size_t len)
{
	struct rtmp_msg m;
	size_t used, pos = 0;
	int rc;

	if (c->failed)
		return c->failed;
	do {
		rc = rtmp_chunk_read(&c->rd, buf + pos, len - pos, &m, &used);
		pos += used;
		c->st.bytes_in += used;
		if (rc == 1 && m.type >= RTMP_MSG_SET_CHUNK_SIZE && m.type <= RTMP_MSG_SET_PEER_BW)
			rc = conn_control(c, &m);
		else if (rc == 1)
			rc = conn_deliver(c, &m);
		if (rc == 0)
			rc = conn_maybe_ack(c);
	} while (rc == 0 && pos < len);
	if (rc < 0)
		c->failed = rc;
	return rc;
}

void rtmp_conn_note_out(struct rtmp_conn *c, uint64_t n, int invalidate)
{
	c->st.bytes_out += n;
	if (invalidate)
		rtmp_chunk_writer_invalidate(&c->wr);
}

void rtmp_conn_get_state(const struct rtmp_conn *c, struct rtmp_conn_state *out)
{
	*out = c->st;
	out->in_chunk_size = c->rd.chunk_size;
	out->out_chunk_size = c->wr.chunk_size;
}
