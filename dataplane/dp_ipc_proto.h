/* dp_ipc_proto: the control-plane <-> dataplane protocol (version 1).
 *
 * Transport: one Unix SOCK_SEQPACKET connection. The dataplane listens on
 * [dataplane] cp_socket (default /run/lifecast/cp.sock); the control plane
 * connects and reconnects with back-off forever. A new control plane
 * replaces the old one.
 *
 * Every datagram is a struct dp_ipc_hdr followed by hdr.len payload bytes.
 * Both processes run on the same host, so fields are in host byte order, but
 * every field has a fixed width and every struct is packed with its size
 * checked at compile time. A message whose payload does not fit in one
 * datagram (DP_IPC_FRAG_MAX bytes including the header) is split into
 * fragments: every fragment but the last carries DP_IPC_F_MORE; all carry
 * the same type, session and stream; the receiver concatenates the payloads
 * (bounded by DP_IPC_PROTO_MSG_MAX). Fragments of one message are never
 * interleaved with another message in the same direction.
 *
 * Session ids are chosen by the dataplane (the worker is encoded in them);
 * stream ids are chosen by the control plane. 0 means "none" for both.
 *
 * This header is self-contained (libc only, static inline helpers) so both
 * sides build the same encoder, decoder and reassembler. Decoders take
 * (buf, len), never read past len, and return 0 or a negative errno:
 * -EBADMSG malformed, -EPROTONOSUPPORT wrong version, -EMSGSIZE too big.
 */
#ifndef DP_IPC_PROTO_H
#define DP_IPC_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DP_IPC_MAGIC 0x4C434950u   /* "LCIP" */
#define DP_IPC_VERSION 1
#define DP_IPC_FRAG_MAX (60u * 1024u) /* one datagram, header included */
/* Largest reassembled payload: an RTMP message (24-bit length) plus the
 * largest fixed part in front of it. */
#define DP_IPC_PROTO_MSG_MAX ((1u << 24) + 256u)
/* Older name, kept for the control plane's code. dataplane/dp_ipc.h (the
 * stats socket) has a macro of the same name: files including both include
 * dp_ipc.h first and use DP_IPC_PROTO_MSG_MAX. */
#ifndef DP_IPC_H
#define DP_IPC_MSG_MAX DP_IPC_PROTO_MSG_MAX
#endif
#define DP_IPC_SOCKET_DEFAULT "/run/lifecast/cp.sock"

/* hdr.flags */
#define DP_IPC_F_MORE 0x1u         /* fragment: more of this message follows */

enum dp_ipc_type {
	DP_IPC_HELLO = 1,            /* cp->dp: struct dp_ipc_hello */
	DP_IPC_HELLO_ACK = 2,        /* dp->cp: struct dp_ipc_hello_ack */
	DP_IPC_RESYNC_SESSION = 3,   /* dp->cp: struct dp_ipc_resync_session */
	DP_IPC_RESYNC_STREAM = 4,    /* dp->cp: struct dp_ipc_resync_stream (hdr.stream) */
	DP_IPC_RESYNC_DONE = 5,      /* dp->cp: struct dp_ipc_resync_done */
	DP_IPC_SESSION_OPEN = 6,     /* dp->cp: struct dp_ipc_session_open */
	DP_IPC_SESSION_DATA = 7,     /* both: raw handshake bytes (dp->cp: received;
				      * cp->dp: to send) */
	DP_IPC_SESSION_HANDOVER = 8, /* cp->dp: struct dp_ipc_handover + bytes past C2 */
	DP_IPC_SESSION_MSG = 9,      /* both: struct dp_ipc_msg + message payload */
	DP_IPC_SESSION_PUBLISH = 10, /* cp->dp: struct dp_ipc_publish (hdr.stream) */
	DP_IPC_SESSION_UNPUBLISH = 11, /* cp->dp: no payload; the stream enters grace */
	DP_IPC_SESSION_ATTACH = 12,  /* cp->dp: struct dp_ipc_attach (hdr.stream) */
	DP_IPC_SESSION_DETACH = 13,  /* cp->dp: no payload */
	DP_IPC_SESSION_CLOSE = 14,   /* both: struct dp_ipc_close */
	DP_IPC_STREAM_STATE = 15,    /* both: struct dp_ipc_stream_state (hdr.stream) */
	DP_IPC_ARCHIVE_MSG = 16,     /* dp->cp: struct dp_ipc_archive + payload (hdr.stream) */
	DP_IPC_STATS_REQ = 17,       /* cp->dp: no payload */
	DP_IPC_STATS = 18,           /* dp->cp: JSON text (not NUL-terminated) */
	DP_IPC_SESSION_INFO_REQ = 19, /* cp->dp: no payload */
	DP_IPC_SESSION_INFO = 20,    /* dp->cp: struct dp_ipc_session_info[] (0 or more) */
	DP_IPC_TYPE_MAX = 20
};

struct dp_ipc_hdr {
	uint32_t magic;      /* DP_IPC_MAGIC */
	uint16_t version;    /* DP_IPC_VERSION */
	uint16_t type;       /* enum dp_ipc_type */
	uint32_t len;        /* payload bytes in this datagram after the header */
	uint32_t flags;      /* DP_IPC_F_* */
	uint64_t session;    /* session id or 0 */
	uint64_t stream;     /* stream id or 0 */
} __attribute__((packed));

#define DP_IPC_HDR_LEN ((uint32_t)sizeof(struct dp_ipc_hdr))
#define DP_IPC_FRAG_PAYLOAD (DP_IPC_FRAG_MAX - DP_IPC_HDR_LEN)

#define DP_IPC_APP_MAX 64    /* NUL-terminated in the fields below */
#define DP_IPC_NAME_MAX 128

enum dp_ipc_role { DP_IPC_ROLE_NONE = 0, DP_IPC_ROLE_PUBLISHER = 1, DP_IPC_ROLE_VIEWER = 2 };

enum dp_ipc_stream_st {
	DP_IPC_STREAM_LIVE = 1,    /* dp->cp: a publisher is feeding it */
	DP_IPC_STREAM_GRACE = 2,   /* dp->cp: the publisher is gone (disconnect or
				    * UNPUBLISH); viewers stay attached */
	DP_IPC_STREAM_ENDED = 3,   /* cp->dp: STREAM_END, grace is over: free the
				    * log once no viewer remains; dp->cp: freed */
};

struct dp_ipc_hello {
	uint32_t version;
	uint32_t pid;
} __attribute__((packed));

struct dp_ipc_hello_ack {
	uint32_t version;
	uint16_t workers;
	uint16_t reserved;
	uint32_t chunk_size;   /* the appliance's out chunk size (stream logs) */
	uint32_t reserved2;
	uint64_t boot_id;      /* changes on every dataplane start */
} __attribute__((packed));

/* Addresses: IPv4 in network order, ports in host order. */
struct dp_ipc_session_open {
	uint16_t worker;
	uint16_t peer_port;
	uint16_t local_port;
	uint16_t reserved;
	uint32_t peer_ip;
	uint32_t local_ip;
} __attribute__((packed));

/* Chunk-layer state handed over after the handshake (rtmp_conn_state). */
struct dp_ipc_handover {
	uint32_t in_chunk_size;   /* 0 = 128 */
	uint32_t out_chunk_size;  /* 0 = 128 */
	uint32_t in_window;
	uint32_t out_window;
	uint64_t bytes_in;        /* handshake bytes counted so far */
	uint64_t bytes_out;
} __attribute__((packed));
/* followed by the bytes received past C2 */

struct dp_ipc_msg {
	uint8_t type;             /* RTMP message type */
	uint8_t reserved[3];
	uint32_t timestamp;
	uint32_t msid;
	uint32_t csid;            /* cp->dp: 0 = canonical csid for the type */
} __attribute__((packed));
/* followed by the message payload */

struct dp_ipc_publish {
	char app[DP_IPC_APP_MAX];
	char name[DP_IPC_NAME_MAX];
	uint32_t msid;            /* the publisher's message stream id */
	uint32_t reserved;
} __attribute__((packed));

struct dp_ipc_attach {
	uint32_t msid;            /* viewers play on this msid (1) */
	uint32_t reserved;
} __attribute__((packed));

struct dp_ipc_close {
	int32_t reason;           /* 0 or -errno (dp->cp: why it went) */
	uint32_t reserved;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t skips;           /* slow-viewer skips */
	char text[64];            /* NUL-terminated reason text */
} __attribute__((packed));

struct dp_ipc_stream_state {
	uint32_t state;           /* enum dp_ipc_stream_st */
	uint32_t viewers;
	uint64_t publisher;       /* session id or 0 */
} __attribute__((packed));

struct dp_ipc_archive {
	uint8_t type;             /* 8, 9 or 18 */
	uint8_t flags;            /* DP_IPC_AR_* */
	uint16_t reserved;
	uint32_t timestamp;       /* stream clock, ms */
	uint32_t dropped;         /* copies dropped since the previous one sent */
	uint32_t reserved2;
} __attribute__((packed));
/* followed by the message payload (FLV tag body) */

#define DP_IPC_AR_KEYFRAME 0x1
#define DP_IPC_AR_SEQHDR 0x2
#define DP_IPC_AR_METADATA 0x4

struct dp_ipc_resync_session {
	uint16_t worker;
	uint8_t role;             /* enum dp_ipc_role */
	uint8_t reserved;
	uint32_t peer_ip;
	uint16_t peer_port;
	uint16_t local_port;
	uint32_t msid;
	uint32_t in_chunk_size;
	uint32_t out_chunk_size;
	uint32_t attached;        /* viewer: 1 when attached to hdr.stream's log */
	uint32_t reserved2;
	uint64_t stream;          /* stream id or 0 */
	char app[DP_IPC_APP_MAX];
	char name[DP_IPC_NAME_MAX];
} __attribute__((packed));

struct dp_ipc_resync_stream {
	uint32_t state;           /* LIVE or GRACE */
	uint32_t viewers;
	uint64_t publisher;       /* session id or 0 */
	char app[DP_IPC_APP_MAX];
	char name[DP_IPC_NAME_MAX];
} __attribute__((packed));

struct dp_ipc_resync_done {
	uint32_t sessions;
	uint32_t streams;
} __attribute__((packed));

/* SESSION_INFO: one entry per live session of the dataplane, from the
 * workers' snapshots (at most DP_RTMP_TIMER_US old). The payload is a
 * whole number of entries. */
enum dp_ipc_sess_st {
	DP_IPC_SST_HANDSHAKE = 0,  /* C0/C1/C2 going to the control plane */
	DP_IPC_SST_HANDOVER = 1,   /* C2 forwarded, waiting for the HANDOVER */
	DP_IPC_SST_CONNECTED = 2,  /* chunk layer here, neither publishing nor playing */
	DP_IPC_SST_PUBLISHING = 3,
	DP_IPC_SST_PLAYING = 4,
	DP_IPC_SST_CLOSING = 5,    /* SESSION_CLOSE received, output draining */
	DP_IPC_SST_MAX = 5
};

struct dp_ipc_session_info {
	uint64_t id;              /* session id */
	uint64_t stream;          /* published or attached stream id, or 0 */
	uint32_t peer_ip;         /* network order */
	uint16_t peer_port;       /* host order */
	uint16_t worker;
	uint8_t role;             /* enum dp_ipc_role */
	uint8_t state;            /* enum dp_ipc_sess_st */
	uint16_t reserved;
	uint32_t srtt_us;         /* smoothed RTT, 0 = no sample yet */
	uint32_t cwnd;            /* congestion window, bytes */
	uint32_t retransmits;     /* reserved: 0 */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t skips;           /* slow-viewer skips */
} __attribute__((packed));

_Static_assert(sizeof(struct dp_ipc_hdr) == 32, "hdr");
_Static_assert(sizeof(struct dp_ipc_session_info) == 64, "session_info");
_Static_assert(sizeof(struct dp_ipc_hello) == 8, "hello");
_Static_assert(sizeof(struct dp_ipc_hello_ack) == 24, "hello_ack");
_Static_assert(sizeof(struct dp_ipc_session_open) == 16, "open");
_Static_assert(sizeof(struct dp_ipc_handover) == 32, "handover");
_Static_assert(sizeof(struct dp_ipc_msg) == 16, "msg");
_Static_assert(sizeof(struct dp_ipc_publish) == 200, "publish");
_Static_assert(sizeof(struct dp_ipc_attach) == 8, "attach");
_Static_assert(sizeof(struct dp_ipc_close) == 96, "close");
_Static_assert(sizeof(struct dp_ipc_stream_state) == 16, "stream_state");
_Static_assert(sizeof(struct dp_ipc_archive) == 16, "archive");
_Static_assert(sizeof(struct dp_ipc_resync_session) == 232, "resync_session");
_Static_assert(sizeof(struct dp_ipc_resync_stream) == 208, "resync_stream");
_Static_assert(sizeof(struct dp_ipc_resync_done) == 8, "resync_done");

/* Size of the fixed part in front of a message's payload, and whether
 * trailing bytes follow it (1: variable payload after the fixed part;
 * 0: exactly the fixed part). -1 for an unknown type. */
static const struct dp_ipc_type_desc { uint16_t fixed; uint8_t var; } dp_ipc_types[DP_IPC_TYPE_MAX + 1] = {
	[DP_IPC_HELLO] = { sizeof(struct dp_ipc_hello), 0 },
	[DP_IPC_HELLO_ACK] = { sizeof(struct dp_ipc_hello_ack), 0 },
	[DP_IPC_RESYNC_SESSION] = { sizeof(struct dp_ipc_resync_session), 0 },
	[DP_IPC_RESYNC_STREAM] = { sizeof(struct dp_ipc_resync_stream), 0 },
	[DP_IPC_RESYNC_DONE] = { sizeof(struct dp_ipc_resync_done), 0 },
	[DP_IPC_SESSION_OPEN] = { sizeof(struct dp_ipc_session_open), 0 },
	[DP_IPC_SESSION_DATA] = { 0, 1 },
	[DP_IPC_SESSION_HANDOVER] = { sizeof(struct dp_ipc_handover), 1 },
	[DP_IPC_SESSION_MSG] = { sizeof(struct dp_ipc_msg), 1 },
	[DP_IPC_SESSION_PUBLISH] = { sizeof(struct dp_ipc_publish), 0 },
	[DP_IPC_SESSION_UNPUBLISH] = { 0, 0 },
	[DP_IPC_SESSION_ATTACH] = { sizeof(struct dp_ipc_attach), 0 },
	[DP_IPC_SESSION_DETACH] = { 0, 0 },
	[DP_IPC_SESSION_CLOSE] = { sizeof(struct dp_ipc_close), 0 },
	[DP_IPC_STREAM_STATE] = { sizeof(struct dp_ipc_stream_state), 0 },
	[DP_IPC_ARCHIVE_MSG] = { sizeof(struct dp_ipc_archive), 1 },
	[DP_IPC_STATS_REQ] = { 0, 0 },
	[DP_IPC_STATS] = { 0, 1 },
	[DP_IPC_SESSION_INFO_REQ] = { 0, 0 },
	[DP_IPC_SESSION_INFO] = { 0, 1 },
};

static inline int dp_ipc_fixed_len(uint16_t type, int *variable)
{
	*variable = 0;
	if (type == 0 || type > DP_IPC_TYPE_MAX)
		return -1;
	*variable = dp_ipc_types[type].var;
	return dp_ipc_types[type].fixed;
}

static const char *const dp_ipc_type_names[DP_IPC_TYPE_MAX + 1] = {
	"?", "HELLO", "HELLO_ACK", "RESYNC_SESSION", "RESYNC_STREAM", "RESYNC_DONE",
	"SESSION_OPEN", "SESSION_DATA", "SESSION_HANDOVER", "SESSION_MSG",
	"SESSION_PUBLISH", "SESSION_UNPUBLISH", "SESSION_ATTACH", "SESSION_DETACH",
	"SESSION_CLOSE", "STREAM_STATE", "ARCHIVE_MSG", "STATS_REQ", "STATS",
	"SESSION_INFO_REQ", "SESSION_INFO",
};

/* Name of a type for logs ("?" when unknown). */
static inline const char *dp_ipc_type_name(uint16_t type)
{
	return type <= DP_IPC_TYPE_MAX ? dp_ipc_type_names[type] : "?";
}

/* Fill a header for a whole (unfragmented) message. */
static inline void dp_ipc_hdr_init(struct dp_ipc_hdr *h, uint16_t type, uint64_t session,
				   uint64_t stream, uint32_t len)
{
	h->magic = DP_IPC_MAGIC;
	h->version = DP_IPC_VERSION;
	h->type = type;
	h->len = len;
	h->flags = 0;
	h->session = session;
	h->stream = stream;
}

/* Check one received datagram buf[0..len) and copy its header to *h.
 * Returns 0 (payload = buf + DP_IPC_HDR_LEN, h->len bytes, exactly the rest
 * of the datagram), -EBADMSG (short, bad magic, unknown type, length field
 * not matching the datagram, unknown flags), -EPROTONOSUPPORT (version),
 * -EMSGSIZE (datagram above DP_IPC_FRAG_MAX). */
static inline int dp_ipc_hdr_parse(const void *buf, size_t len, struct dp_ipc_hdr *h)
{
	int var;

	if (len > DP_IPC_FRAG_MAX)
		return -EMSGSIZE;
	if (len < DP_IPC_HDR_LEN)
		return -EBADMSG;
	memcpy(h, buf, DP_IPC_HDR_LEN);
	if (h->magic != DP_IPC_MAGIC)
		return -EBADMSG;
	if (h->version != DP_IPC_VERSION)
		return -EPROTONOSUPPORT;
	if (dp_ipc_fixed_len(h->type, &var) < 0)
		return -EBADMSG;
	if ((h->flags & ~DP_IPC_F_MORE) != 0 || (uint64_t)h->len != len - DP_IPC_HDR_LEN)
		return -EBADMSG;
	return 0;
}

/* Validate the payload length of a whole message of type. Returns 0 or
 * -EBADMSG (shorter than the fixed part, or trailing bytes after a fixed-only
 * message), -EMSGSIZE (above DP_IPC_PROTO_MSG_MAX). */
static inline int dp_ipc_check_len(uint16_t type, size_t len)
{
	int var, fixed = dp_ipc_fixed_len(type, &var);

	if (fixed < 0)
		return -EBADMSG;
	if (len > DP_IPC_PROTO_MSG_MAX)
		return -EMSGSIZE;
	if (len < (size_t)fixed || (!var && len != (size_t)fixed))
		return -EBADMSG;
	return 0;
}

/* A fixed-size string field is valid when it holds a NUL. */
static inline int dp_ipc_str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* Copy src into a fixed field (truncated, always NUL-terminated, rest zero). */
static inline void dp_ipc_str_set(char *dst, size_t cap, const char *src)
{
	memset(dst, 0, cap);
	for (size_t i = 0; src && i + 1 < cap && src[i]; i++)
		dst[i] = src[i];
}

/* Decode the fixed part of a whole message into out (outlen = sizeof the
 * struct for type) and point *rest, *restlen at what follows. Validates the
 * length (dp_ipc_check_len) and the string fields. Returns 0 or -EBADMSG /
 * -EMSGSIZE. rest slices into p (no copy). */
static inline int dp_ipc_decode(uint16_t type, const uint8_t *p, size_t len, void *out,
				size_t outlen, const uint8_t **rest, size_t *restlen)
{
	int var, fixed = dp_ipc_fixed_len(type, &var);
	int rc = dp_ipc_check_len(type, len);

	if (rc != 0)
		return rc;
	if ((size_t)fixed != outlen)
		return -EBADMSG;
	if (fixed)
		memcpy(out, p, (size_t)fixed);
	if (rest) {
		*rest = p + fixed;
		*restlen = len - (size_t)fixed;
	}
	switch (type) {
	case DP_IPC_SESSION_PUBLISH: {
		const struct dp_ipc_publish *x = out;
		if (!dp_ipc_str_ok(x->app, sizeof(x->app)) || !dp_ipc_str_ok(x->name, sizeof(x->name)))
			return -EBADMSG;
		break;
	}
	case DP_IPC_SESSION_CLOSE: {
		const struct dp_ipc_close *x = out;
		if (!dp_ipc_str_ok(x->text, sizeof(x->text)))
			return -EBADMSG;
		break;
	}
	case DP_IPC_RESYNC_SESSION: {
		const struct dp_ipc_resync_session *x = out;
		if (!dp_ipc_str_ok(x->app, sizeof(x->app)) || !dp_ipc_str_ok(x->name, sizeof(x->name)) ||
		    x->role > DP_IPC_ROLE_VIEWER)
			return -EBADMSG;
		break;
	}
	case DP_IPC_RESYNC_STREAM: {
		const struct dp_ipc_resync_stream *x = out;
		if (!dp_ipc_str_ok(x->app, sizeof(x->app)) || !dp_ipc_str_ok(x->name, sizeof(x->name)))
			return -EBADMSG;
		break;
	}
	case DP_IPC_STREAM_STATE: {
		const struct dp_ipc_stream_state *x = out;
		if (x->state < DP_IPC_STREAM_LIVE || x->state > DP_IPC_STREAM_ENDED)
			return -EBADMSG;
		break;
	}
	default:
		break;
	}
	return 0;
}

/* Entries of a SESSION_INFO payload p[0..len): validates every entry and
 * points *out at the first (unaligned: copy each with memcpy). Returns the
 * number of entries, or -EBADMSG (not a whole number of entries, or an
 * entry with a bad role or state), -EMSGSIZE. */
static inline long dp_ipc_session_info_decode(const uint8_t *p, size_t len, const uint8_t **out)
{
	const size_t esz = sizeof(struct dp_ipc_session_info);
	int rc = dp_ipc_check_len(DP_IPC_SESSION_INFO, len);

	if (rc != 0)
		return rc;
	if (len % esz != 0)
		return -EBADMSG;
	for (size_t off = 0; off < len; off += esz) {
		struct dp_ipc_session_info e;

		memcpy(&e, p + off, esz);
		if (e.role > DP_IPC_ROLE_VIEWER || e.state > DP_IPC_SST_MAX || e.id == 0)
			return -EBADMSG;
	}
	*out = p;
	return (long)(len / esz);
}

/* ---- fragmentation (sender) ----
 * For a message of `total` payload bytes, the fragment starting at payload
 * offset off carries dp_ipc_frag_len(total, off) bytes; dp_ipc_frag_hdr()
 * fills its header. Send header + payload[off .. off+n) as one datagram
 * (sendmsg with two iovecs), then off += n, until off == total. A message
 * with no payload is one datagram. */
static inline uint32_t dp_ipc_frag_len(size_t total, size_t off)
{
	size_t left = total - off;

	return (uint32_t)(left < DP_IPC_FRAG_PAYLOAD ? left : DP_IPC_FRAG_PAYLOAD);
}

static inline void dp_ipc_frag_hdr(struct dp_ipc_hdr *fh, const struct dp_ipc_hdr *whole,
				   size_t total, size_t off)
{
	uint32_t n = dp_ipc_frag_len(total, off);

	*fh = *whole;
	fh->len = n;
	fh->flags = (off + n < total) ? DP_IPC_F_MORE : 0;
}

/* Number of datagrams a message of total payload bytes needs (>= 1). */
static inline size_t dp_ipc_frag_count(size_t total)
{
	return total == 0 ? 1 : (total + DP_IPC_FRAG_PAYLOAD - 1) / DP_IPC_FRAG_PAYLOAD;
}

/* ---- reassembly (receiver) ----
 * One message at a time per direction. Buffers grow geometrically, bounded
 * by max (<= DP_IPC_PROTO_MSG_MAX). */
struct dp_ipc_reasm {
	struct dp_ipc_hdr first; /* header of the first fragment */
	uint8_t *buf;
	size_t len, cap, max;
	int active;              /* fragments collected, last not seen */
};

static inline void dp_ipc_reasm_init(struct dp_ipc_reasm *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max && max < DP_IPC_PROTO_MSG_MAX ? max : DP_IPC_PROTO_MSG_MAX;
}

static inline void dp_ipc_reasm_reset(struct dp_ipc_reasm *r)
{
	r->active = 0;
	r->len = 0;
}

static inline void dp_ipc_reasm_fini(struct dp_ipc_reasm *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	dp_ipc_reasm_reset(r);
}

static inline int dp_ipc_reasm_append(struct dp_ipc_reasm *r, const uint8_t *p, size_t n)
{
	if (r->len + n > r->max)
		return -EMSGSIZE;
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		uint8_t *nb;

		while (cap < r->len + n)
			cap *= 2;
		if (cap > r->max)
			cap = r->max;
		nb = realloc(r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	if (n)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
	return 0;
}

/* Feed one parsed datagram (h from dp_ipc_hdr_parse, payload p of h->len
 * bytes). Returns 1 when a whole message is ready: *whole gets its header
 * (len = total payload, flags 0) and *out, *outlen its payload (p itself for
 * an unfragmented message, else the reassembly buffer, valid until the next
 * call); 0 when more fragments are needed; -EBADMSG when a fragment does
 * not continue the message in progress (type/session/stream differ) or the
 * whole message has a bad length for its type; -EMSGSIZE past the bound;
 * -ENOMEM. After an error the partial message is dropped; the stream of
 * datagrams can go on with the next message. */
static inline int dp_ipc_reasm_push(struct dp_ipc_reasm *r, const struct dp_ipc_hdr *h,
				    const uint8_t *p, struct dp_ipc_hdr *whole,
				    const uint8_t **out, size_t *outlen)
{
	int rc;

	if (r->active && (h->type != r->first.type || h->session != r->first.session ||
			  h->stream != r->first.stream)) {
		dp_ipc_reasm_reset(r);
		return -EBADMSG;
	}
	if (!r->active && !(h->flags & DP_IPC_F_MORE)) {
		rc = dp_ipc_check_len(h->type, h->len);
		if (rc != 0)
			return rc;
		*whole = *h;
		*out = p;
		*outlen = h->len;
		return 1;
	}
	if (!r->active) {
		r->first = *h;
		r->active = 1;
		r->len = 0;
	}
	rc = dp_ipc_reasm_append(r, p, h->len);
	if (rc != 0) {
		dp_ipc_reasm_reset(r);
		return rc;
	}
	if (h->flags & DP_IPC_F_MORE)
		return 0;
	r->active = 0;
	rc = dp_ipc_check_len(r->first.type, r->len);
	if (rc != 0)
		return rc;
	*whole = r->first;
	whole->len = (uint32_t)r->len;
	whole->flags = 0;
	*out = r->buf;
	*outlen = r->len;
	return 1;
}

/* Session ids made by the dataplane: worker in the top 8 bits, then a
 * generation and a slot, so a worker finds its session without a search and
 * a stale id never reaches a newer session in the same slot. */
static inline uint16_t dp_ipc_session_worker(uint64_t id)
{
	return (uint16_t)(id >> 56);
}

#endif /* DP_IPC_PROTO_H */
