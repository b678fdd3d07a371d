/* Protocol control and User Control message bodies. */
#include <errno.h>

#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_err.h"

static int ctl_u32(uint8_t *buf, size_t cap, uint32_t v)
{
	if (cap < 4)
		return -ENOSPC;
	rtmp_put_be32(buf, v);
	return 4;
}

int rtmp_ctl_set_chunk_size(uint8_t *buf, size_t cap, uint32_t size)
{
	if (size == 0 || size > RTMP_CHUNK_SIZE_MAX)
		return -EINVAL;
	return ctl_u32(buf, cap, size);
}

int rtmp_ctl_abort(uint8_t *buf, size_t cap, uint32_t csid)
{
	return ctl_u32(buf, cap, csid);
}

int rtmp_ctl_ack(uint8_t *buf, size_t cap, uint32_t seq)
{
	return ctl_u32(buf, cap, seq);
}

int rtmp_ctl_window_ack_size(uint8_t *buf, size_t cap, uint32_t window)
{
	return ctl_u32(buf, cap, window);
}

int rtmp_ctl_set_peer_bw(uint8_t *buf, size_t cap, uint32_t window, enum rtmp_bw_limit limit)
{
	if (cap < 5)
		return -ENOSPC;
	rtmp_put_be32(buf, window);
	buf[4] = (uint8_t)limit;
	return 5;
}

int rtmp_ctl_user(uint8_t *buf, size_t cap, enum rtmp_uc_event ev, uint32_t value)
{
	if (cap < 6)
		return -ENOSPC;
	rtmp_put_be16(buf, (uint16_t)ev);
	rtmp_put_be32(buf + 2, value);
	return 6;
}

int rtmp_ctl_set_buffer_length(uint8_t *buf, size_t cap, uint32_t msid, uint32_t ms)
{
	if (cap < 10)
		return -ENOSPC;
	rtmp_put_be16(buf, RTMP_UC_SET_BUFFER_LENGTH);
	rtmp_put_be32(buf + 2, msid);
	rtmp_put_be32(buf + 6, ms);
	return 10;
}

static int ctl_parse_user(const uint8_t *body, size_t len, struct rtmp_ctl *out)
{
	if (len < 2)
		return -RTMP_E_CTL_MALFORMED;
	out->event = rtmp_be16(body);
	switch (out->event) {
	case RTMP_UC_SET_BUFFER_LENGTH:
		if (len < 10)
			return -RTMP_E_CTL_MALFORMED;
		out->value = rtmp_be32(body + 2);
		out->value2 = rtmp_be32(body + 6);
		return 0;
	case RTMP_UC_STREAM_BEGIN:
	case RTMP_UC_STREAM_EOF:
	case RTMP_UC_STREAM_DRY:
	case RTMP_UC_STREAM_IS_RECORDED:
	case RTMP_UC_PING_REQUEST:
	case RTMP_UC_PING_RESPONSE:
		if (len < 6)
			return -RTMP_E_CTL_MALFORMED;
		out->value = rtmp_be32(body + 2);
		return 0;
	default:
		/* Unknown events (e.g. SWF verification) are reported as is. */
		if (len >= 6)
			out->value = rtmp_be32(body + 2);
		return 0;
	}
}

int rtmp_ctl_parse(uint8_t type, const uint8_t *body, size_t len, struct rtmp_ctl *out)
{
	*out = (struct rtmp_ctl){ .type = type };
	switch (type) {
	case RTMP_MSG_USER_CONTROL:
		return ctl_parse_user(body, len, out);
	case RTMP_MSG_SET_PEER_BW:
		if (len < 5 || body[4] > RTMP_BW_DYNAMIC)
			return -RTMP_E_CTL_MALFORMED;
		out->value = rtmp_be32(body);
		out->limit = body[4];
		return 0;
	case RTMP_MSG_SET_CHUNK_SIZE:
		if (len < 4)
			return -RTMP_E_CTL_MALFORMED;
		out->value = rtmp_be32(body);
		return out->value == 0 || out->value > RTMP_CHUNK_SIZE_MAX ? -RTMP_E_CTL_MALFORMED : 0;
	case RTMP_MSG_ABORT:
	case RTMP_MSG_ACK:
	case RTMP_MSG_WINDOW_ACK_SIZE:
		if (len < 4)
			return -RTMP_E_CTL_MALFORMED;
		out->value = rtmp_be32(body);
		return 0;
	default:
		return -EINVAL;
	}
}
