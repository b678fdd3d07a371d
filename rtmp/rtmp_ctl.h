/* Protocol control (types 1-6) and User Control (type 4) message bodies:
 * builders into caller buffers and a parser. Sent on csid 2 with msid 0. */
#ifndef RTMP_CTL_H
#define RTMP_CTL_H

#include <stddef.h>
#include <stdint.h>

enum rtmp_uc_event {
	RTMP_UC_STREAM_BEGIN = 0,
	RTMP_UC_STREAM_EOF = 1,
	RTMP_UC_STREAM_DRY = 2,
	RTMP_UC_SET_BUFFER_LENGTH = 3,
	RTMP_UC_STREAM_IS_RECORDED = 4,
	RTMP_UC_PING_REQUEST = 6,
	RTMP_UC_PING_RESPONSE = 7
};

/* Set Peer Bandwidth limit types. */
enum rtmp_bw_limit { RTMP_BW_HARD = 0, RTMP_BW_SOFT = 1, RTMP_BW_DYNAMIC = 2 };

/* Largest control message body (Set Buffer Length: 2 + 4 + 4). */
#define RTMP_CTL_BODY_MAX 10

/* A parsed control message. */
struct rtmp_ctl {
	uint8_t type;       /* RTMP_MSG_SET_CHUNK_SIZE .. RTMP_MSG_SET_PEER_BW */
	uint16_t event;     /* user control event (type 4 only) */
	uint32_t value;     /* chunk size, csid, sequence number, window,
			     * bandwidth, stream id or ping timestamp */
	uint32_t value2;    /* buffer length ms (SetBufferLength) */
	uint8_t limit;      /* Set Peer Bandwidth limit type */
};

/* Parse the body of a control message of type 1..6. Returns 0, or
 * -RTMP_E_CTL_MALFORMED when the body is too short or a value is out of
 * range, or -EINVAL when type is not a control type. Extra trailing bytes
 * are tolerated (some encoders pad). Unknown user control events parse with
 * their event id and first 4-byte value when present. */
int rtmp_ctl_parse(uint8_t type, const uint8_t *body, size_t len, struct rtmp_ctl *out);

/* Builders: write the message body into buf (cap >= RTMP_CTL_BODY_MAX is
 * always enough) and return its length, or -ENOSPC. */
int rtmp_ctl_set_chunk_size(uint8_t *buf, size_t cap, uint32_t size);
int rtmp_ctl_abort(uint8_t *buf, size_t cap, uint32_t csid);
int rtmp_ctl_ack(uint8_t *buf, size_t cap, uint32_t seq);
int rtmp_ctl_window_ack_size(uint8_t *buf, size_t cap, uint32_t window);
int rtmp_ctl_set_peer_bw(uint8_t *buf, size_t cap, uint32_t window, enum rtmp_bw_limit limit);
/* User Control with a 4-byte value (StreamBegin/EOF/Dry/IsRecorded: stream
 * id; PingRequest/Response: timestamp). */
int rtmp_ctl_user(uint8_t *buf, size_t cap, enum rtmp_uc_event ev, uint32_t value);
int rtmp_ctl_set_buffer_length(uint8_t *buf, size_t cap, uint32_t msid, uint32_t ms);

#endif
