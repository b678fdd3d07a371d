/* The chunk layer of one RTMP connection after the handshake: bytes in ->
 * events out, messages in -> bytes out. Transport-agnostic, no globals, no
 * I/O, allocator injectable, so it runs as-is in the control plane, a DPDK
 * worker, tests and tools.
 *
 * Protocol control is handled here: Set Chunk Size and Abort (applied by the
 * reader), Acknowledgement (recorded), Window Acknowledgement Size (recorded;
 * an Acknowledgement is sent each time the received byte count crosses the
 * window), Set Peer Bandwidth (recorded; answered with a Window
 * Acknowledgement Size when it changes our out window, as servers do), User
 * Control PingRequest (answered with PingResponse), StreamBegin/EOF/Dry and
 * SetBufferLength (reported). Every other message (commands, data, audio,
 * video, shared objects, aggregates) goes to the on_msg callback.
 *
 * Hand-over: the handshake may run in one process and the chunk layer in
 * another. The receiving side calls rtmp_conn_init() with the negotiated
 * chunk sizes/windows (struct rtmp_conn_state, exported by
 * rtmp_conn_get_state()). Per-csid header state is not transferable, so hand
 * over at a point where both directions are at fresh chunk streams (right
 * after the handshake), or invalidate the writer (fmt 0 everywhere).
 */
#ifndef RTMP_CONN_H
#define RTMP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_ctl.h"

/* Control events reported to the owner (informational; already handled). */
enum rtmp_conn_event_kind {
	RTMP_CONN_EV_CHUNK_SIZE = 1, /* peer's chunk size changed: value */
	RTMP_CONN_EV_ACK,            /* peer acknowledged value bytes (uint32 wrapping) */
	RTMP_CONN_EV_WINDOW,         /* peer's window ack size: value */
	RTMP_CONN_EV_PEER_BW,        /* Set Peer Bandwidth: value, limit */
	RTMP_CONN_EV_STREAM_BEGIN,   /* value = msid */
	RTMP_CONN_EV_STREAM_EOF,
	RTMP_CONN_EV_STREAM_DRY,
	RTMP_CONN_EV_STREAM_IS_RECORDED,
	RTMP_CONN_EV_BUFFER_LENGTH,  /* value = msid, value2 = ms */
	RTMP_CONN_EV_PING_REQUEST,   /* value = peer timestamp (already answered) */
	RTMP_CONN_EV_PING_RESPONSE,  /* value = our timestamp echoed */
	RTMP_CONN_EV_ABORT,          /* value = csid */
	RTMP_CONN_EV_ACK_SENT        /* we sent an Acknowledgement: value = sequence */
};

struct rtmp_conn_event {
	enum rtmp_conn_event_kind kind;
	uint32_t value;
	uint32_t value2;
	uint8_t limit;
};

/* State that survives a hand-over. */
struct rtmp_conn_state {
	uint32_t in_chunk_size;   /* peer's chunk size (128 initially) */
	uint32_t out_chunk_size;  /* ours (128 initially) */
	uint32_t in_window;       /* peer's Window Ack Size: we ack every in_window bytes (0 = none) */
	uint32_t out_window;      /* window we announced to the peer (0 = none) */
	uint64_t bytes_in;        /* bytes received so far, handshake included if counted */
	uint64_t last_ack_sent;   /* bytes_in value of our last Acknowledgement */
	uint64_t bytes_out;       /* bytes produced so far */
	uint32_t peer_acked;      /* last sequence number the peer acknowledged */
	uint32_t peer_bw;         /* last Set Peer Bandwidth window (0 = none) */
};

struct rtmp_conn_config {
	struct rtmp_conn_state state;     /* zero = fresh connection, defaults applied */
	struct rtmp_chunk_limits limits;  /* all zero = RTMP_CHUNK_LIMITS_DEFAULT */
	struct rtmp_alloc alloc;          /* NULL fns = malloc/free */
	/* Deliver a non-control message. Return 0 to go on or a negative value
	 * to stop; rtmp_conn_input() then returns that value. msg->data is
	 * valid only during the call. */
	int (*on_msg)(void *ctx, const struct rtmp_msg *msg);
	/* Bytes to send, in order. Return 0 or a negative error. Called for
	 * every header and payload slice (payload slices point into the
	 * caller's message: copy or reference them before returning). */
	int (*on_out)(void *ctx, const uint8_t *p, size_t n);
	/* Optional: control events. Return value ignored. */
	void (*on_event)(void *ctx, const struct rtmp_conn_event *ev);
	void *ctx;
};

struct rtmp_conn {
	struct rtmp_chunk_reader rd;
	struct rtmp_chunk_writer wr;
	struct rtmp_conn_state st;
	int (*on_msg)(void *ctx, const struct rtmp_msg *msg);
	int (*on_out)(void *ctx, const uint8_t *p, size_t n);
	void (*on_event)(void *ctx, const struct rtmp_conn_event *ev);
	void *ctx;
	int failed;                       /* last fatal error, sticky */
};

/* Initialise from cfg (copied; on_msg and on_out are required). Zero fields
 * of cfg->state get the defaults (chunk sizes 128). Returns 0, -EINVAL or
 * -ENOMEM. */
int rtmp_conn_init(struct rtmp_conn *c, const struct rtmp_conn_config *cfg);

/* Release reassembly buffers. Safe to call twice. */
void rtmp_conn_fini(struct rtmp_conn *c);

/* Feed received bytes. Processes all of them: control messages are handled,
 * others delivered through on_msg, Acknowledgements and PingResponses are
 * sent through on_out. Returns 0, a chunk-layer error (see rtmp_chunk_read),
 * -RTMP_E_CTL_MALFORMED, or the first negative value returned by a callback.
 * Any error is sticky: later calls return it again. */
int rtmp_conn_input(struct rtmp_conn *c, const uint8_t *buf, size_t len);

/* Send one message (chunked with header compression at the current out
 * chunk size; m->csid 0 = canonical csid for the type). Returns 0, -EINVAL
 * or the on_out error. */
int rtmp_conn_send(struct rtmp_conn *c, const struct rtmp_msg *m);

/* Send Set Chunk Size and switch the writer to size. 0 or -errno. */
int rtmp_conn_set_chunk_size(struct rtmp_conn *c, uint32_t size);
/* Send Window Acknowledgement Size (our out window). 0 or -errno. */
int rtmp_conn_send_window(struct rtmp_conn *c, uint32_t window);
/* Send Set Peer Bandwidth. 0 or -errno. */
int rtmp_conn_send_peer_bw(struct rtmp_conn *c, uint32_t window, enum rtmp_bw_limit limit);
/* Send a User Control event with a 4-byte value (StreamBegin etc., pings).
 * 0 or -errno. */
int rtmp_conn_send_user(struct rtmp_conn *c, enum rtmp_uc_event ev, uint32_t value);
/* Send an Acknowledgement for everything received so far. 0 or -errno. */
int rtmp_conn_send_ack(struct rtmp_conn *c);

/* Account n bytes sent outside rtmp_conn (e.g. canonical stream-log bytes
 * written straight to the transport). Also invalidates the writer's header
 * state when invalidate is non-zero (see rtmp_chunk_writer_invalidate). */
void rtmp_conn_note_out(struct rtmp_conn *c, uint64_t n, int invalidate);

/* Snapshot of the hand-over state. */
void rtmp_conn_get_state(const struct rtmp_conn *c, struct rtmp_conn_state *out);

#endif
