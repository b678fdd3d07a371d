/* RTMP chunk stream reader and writer. Pure byte transforms, no I/O.
 *
 * Reader: incremental over arbitrary split points (one byte at a time works).
 * It handles fmt 0..3 headers, 1/2/3-byte basic headers (csid 2..65599),
 * extended timestamps, including the rule that a fmt-3 chunk repeats the
 * 4-byte extended field when the previous header on that csid had one, and
 * 32-bit timestamp wrap (timestamps are absolute uint32 ms, wrapping).
 * A fmt-3 chunk that starts a new message uses the previous timestamp delta;
 * after a fmt-0 header that delta is the fmt-0 timestamp field (the Adobe
 * spec's reading, as ffmpeg and librtmp do). Set Chunk Size and
 * Abort are applied by the reader itself (and still delivered).
 * Reassembly buffers come from a caller-supplied allocator and are bounded
 * by the limits; a message that fits in one chunk and lies whole in the
 * caller's input is delivered in place without a copy.
 *
 * Writer: a message becomes chunks at the current out chunk size, with
 * fmt 0/1/2/3 header compression per csid like real servers do, plus the
 * CANONICAL form used by stream logs (see rtmp_chunk_write_canonical()).
 */
#ifndef RTMP_CHUNK_H
#define RTMP_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Message type ids. */
enum rtmp_msg_type {
	RTMP_MSG_SET_CHUNK_SIZE = 1,
	RTMP_MSG_ABORT = 2,
	RTMP_MSG_ACK = 3,
	RTMP_MSG_USER_CONTROL = 4,
	RTMP_MSG_WINDOW_ACK_SIZE = 5,
	RTMP_MSG_SET_PEER_BW = 6,
	RTMP_MSG_AUDIO = 8,
	RTMP_MSG_VIDEO = 9,
	RTMP_MSG_DATA_AMF3 = 15,
	RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
	RTMP_MSG_COMMAND_AMF3 = 17,
	RTMP_MSG_DATA_AMF0 = 18,
	RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
	RTMP_MSG_COMMAND_AMF0 = 20,
	RTMP_MSG_AGGREGATE = 22
};

/* Fixed chunk stream ids of the canonical form (and good defaults for the
 * compressing writer): one csid per kind so that interleaved audio and video
 * never disturb each other's header state. */
#define RTMP_CSID_CONTROL 2  /* protocol control and user control (msid 0) */
#define RTMP_CSID_COMMAND 3  /* command messages (types 17, 20) */
#define RTMP_CSID_AUDIO   4  /* type 8 */
#define RTMP_CSID_DATA    5  /* data messages (types 15, 18), e.g. onMetaData */
#define RTMP_CSID_VIDEO   6  /* type 9 */
#define RTMP_CSID_MIN     2
#define RTMP_CSID_MAX     65599
/* Message stream id of the canonical form (the stream id our server hands
 * out in createStream). */
#define RTMP_CANONICAL_MSID 1

#define RTMP_CHUNK_SIZE_DEFAULT 128
#define RTMP_CHUNK_SIZE_MAX     0x7FFFFFFFu
#define RTMP_MSG_LEN_MAX        0xFFFFFFu  /* 24-bit length field */
#define RTMP_EXT_TS             0xFFFFFFu  /* timestamp field value meaning "extended" */
/* Longest chunk header: 3-byte basic + 11-byte fmt 0 + 4-byte extended. */
#define RTMP_CHUNK_HDR_MAX      18

/* One message, in or out. On delivery, data is valid until the next call
 * on the reader and, when delivered in place, as long as the input buffer
 * given to that call is unchanged. */
struct rtmp_msg {
	uint32_t timestamp; /* absolute ms, uint32 wrapping */
	uint32_t length;    /* payload bytes, <= RTMP_MSG_LEN_MAX */
	uint32_t msid;      /* message stream id */
	uint32_t csid;      /* chunk stream id (2..65599) */
	uint8_t type;       /* enum rtmp_msg_type */
	const uint8_t *data;
};

/* Injectable allocator for the reader's reassembly buffers and csid table.
 * free receives the size given to alloc. NULL function pointers in the
 * struct given to init mean malloc/free. */
struct rtmp_alloc {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx;
};

struct rtmp_chunk_limits {
	uint32_t max_chunk_size; /* cap on the peer's Set Chunk Size (1..2^31-1) */
	uint32_t max_msg_size;   /* largest message accepted (<= 2^24-1) */
	uint32_t max_streams;    /* distinct chunk streams a peer may use */
	uint32_t max_buffered;   /* total bytes of reassembly buffers */
};

/* Defaults: chunk size cap 2^31-1 (chunk size costs no memory here),
 * messages up to 8 MiB, 16 chunk streams, 16 MiB of reassembly buffers. */
#define RTMP_CHUNK_LIMITS_DEFAULT { RTMP_CHUNK_SIZE_MAX, 8u << 20, 16, 16u << 20 }

/* Per chunk stream reader state. */
struct rtmp_chunk_stream {
	uint32_t csid;
	uint32_t timestamp;  /* absolute timestamp of the current/last message */
	uint32_t delta;      /* timestamp field of the last header (delta or absolute) */
	uint32_t length;     /* message length of the last header */
	uint32_t msid;
	uint32_t received;   /* payload bytes received of the current message */
	uint32_t cap;        /* capacity of buf */
	uint8_t type;
	uint8_t ext;         /* last header carried an extended timestamp */
	uint8_t in_use;
	uint8_t *buf;        /* reassembly buffer (from the allocator) */
};

/* Embeddable reader. Fields are private; use the functions below. */
struct rtmp_chunk_reader {
	struct rtmp_chunk_limits lim;
	struct rtmp_alloc alloc;
	struct rtmp_chunk_stream *streams; /* lim.max_streams entries */
	uint32_t nstreams;     /* entries in use */
	uint32_t chunk_size;   /* current in chunk size */
	uint64_t buffered;     /* sum of reassembly capacities */
	uint64_t bytes_in;     /* total bytes consumed (for acknowledgements) */
	struct rtmp_chunk_stream *cur; /* stream of the chunk being read */
	uint32_t chunk_left;   /* payload bytes left in the current chunk */
	uint8_t hdr[RTMP_CHUNK_HDR_MAX];
	uint8_t hdr_have;      /* header bytes collected so far */
	uint8_t in_payload;    /* 1 while reading chunk payload */
};

/* Initialise a reader. lim NULL = defaults, alloc NULL = malloc/free.
 * chunk_size is the initial in chunk size (128, or the value negotiated
 * before a hand-over). Allocates the csid table through the allocator.
 * Returns 0, -EINVAL (bad limits/chunk size) or -ENOMEM. */
int rtmp_chunk_reader_init(struct rtmp_chunk_reader *r, const struct rtmp_chunk_limits *lim,
			   const struct rtmp_alloc *alloc, uint32_t chunk_size);

/* Release every buffer; the reader must be re-initialised before reuse.
 * Safe to call twice. */
void rtmp_chunk_reader_fini(struct rtmp_chunk_reader *r);

/* Read from buf[0..len). Stops after the first complete message.
 * Returns 1 and fills *msg when a message was completed, 0 when all input was
 * consumed without completing one (need more), or a negative error
 * (-RTMP_E_CHUNK_*, -RTMP_E_MSG_TOO_BIG, -RTMP_E_TOO_MANY_STREAMS,
 * -RTMP_E_MEM_LIMIT, -ENOMEM). *consumed always receives the number of
 * bytes consumed by this call (also on error). Never reads past len.
 * After an error the stream is unusable: close the connection.
 * Set Chunk Size (type 1) and Abort (type 2) messages are applied before
 * being returned; a bad Set Chunk Size value fails with -RTMP_E_CHUNK_SIZE. */
int rtmp_chunk_read(struct rtmp_chunk_reader *r, const uint8_t *buf, size_t len,
		    struct rtmp_msg *msg, size_t *consumed);

/* Change the in chunk size directly (e.g. restoring after a hand-over).
 * Returns 0 or -RTMP_E_CHUNK_SIZE. */
int rtmp_chunk_reader_set_chunk_size(struct rtmp_chunk_reader *r, uint32_t size);

/* Drop the partial message on csid (what Abort does). Returns 0, or -ENOENT
 * when csid was never used. */
int rtmp_chunk_reader_abort(struct rtmp_chunk_reader *r, uint32_t csid);

/* Take ownership of the reassembly buffer that holds msg->data, msg being
 * the message the reader completed last (call before the next read, e.g.
 * from rtmp_conn's on_msg). The reader forgets the buffer and allocates a
 * new one for the next message on that chunk stream, so the caller may keep
 * the bytes (a zero-copy consumer). Returns the buffer, *size its allocated
 * size (release it with the reader's allocator free(ctx, p, *size)), or
 * NULL when msg was delivered in place (no reassembly buffer). */
void *rtmp_chunk_reader_take(struct rtmp_chunk_reader *r, const struct rtmp_msg *msg,
			     size_t *size);

/* ---- writer ---- */

#define RTMP_CHUNK_WRITER_SLOTS 8

struct rtmp_chunk_wslot {
	uint32_t csid;       /* 0 = unused */
	uint32_t timestamp;
	uint32_t delta;      /* timestamp field of the last header */
	uint32_t length;
	uint32_t msid;
	uint8_t type;
	uint8_t fmt;         /* fmt of the last first-chunk header */
};

/* Embeddable writer with header compression state for up to
 * RTMP_CHUNK_WRITER_SLOTS chunk streams (others always get fmt 0). */
struct rtmp_chunk_writer {
	uint32_t chunk_size;
	uint32_t next_slot;
	struct rtmp_chunk_wslot slots[RTMP_CHUNK_WRITER_SLOTS];
};

/* Initialise with an out chunk size (1..2^31-1). Returns 0 or -EINVAL. */
int rtmp_chunk_writer_init(struct rtmp_chunk_writer *w, uint32_t chunk_size);

/* Change the out chunk size for the following messages. Send the Set Chunk
 * Size message first (with the old size). Returns 0 or -EINVAL. */
int rtmp_chunk_writer_set_chunk_size(struct rtmp_chunk_writer *w, uint32_t chunk_size);

/* Forget every header: the next message on each csid gets fmt 0. Call this
 * when other bytes (e.g. canonical stream-log bytes) were interleaved into
 * the same connection on csids this writer uses. */
void rtmp_chunk_writer_invalidate(struct rtmp_chunk_writer *w);

/* Exact number of bytes rtmp_chunk_write() would produce for m now.
 * m->csid must be 2..65599 and m->length <= RTMP_MSG_LEN_MAX (else 0). */
size_t rtmp_chunk_write_size(const struct rtmp_chunk_writer *w, const struct rtmp_msg *m);

/* Chunk m (m->data holds m->length bytes) into buf. Chooses fmt 0 for the
 * first message on a csid, a msid change or a timestamp going backwards;
 * fmt 1 when length or type changed; fmt 2 when only the delta changed;
 * fmt 3 when the message repeats the previous one's length, type and delta
 * (and the previous header was fmt 1 or 2). Continuations are fmt 3, with the
 * extended timestamp repeated when the first header had one. Returns the
 * number of bytes written, -ENOSPC (cap too small; state unchanged) or
 * -EINVAL (bad csid/length). */
ssize_t rtmp_chunk_write(struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			 uint8_t *buf, size_t cap);

/* Emit form of rtmp_chunk_write(): calls out(ctx, p, n) for each header and
 * payload slice in order (payload slices point into m->data; no copy).
 * Stops at and returns the first non-zero value out returns (state is
 * updated anyway, since bytes may already be gone); 0 on success, -EINVAL. */
int rtmp_chunk_write_emit(struct rtmp_chunk_writer *w, const struct rtmp_msg *m,
			  int (*out)(void *ctx, const uint8_t *p, size_t n), void *ctx);

/* The canonical csid for a message type: RTMP_CSID_CONTROL for types 1-6,
 * AUDIO for 8, VIDEO for 9, DATA for 15/18 (and 16/19/22), COMMAND otherwise. */
uint32_t rtmp_chunk_canonical_csid(uint8_t type);

/* Exact size of the canonical form of a message of length len with
 * timestamp ts at chunk_size (>= 1). */
size_t rtmp_chunk_canonical_size(uint32_t len, uint32_t ts, uint32_t chunk_size);

/* CANONICAL form used by stream logs: first chunk fmt 0 carrying the
 * absolute timestamp (extended when >= 0xFFFFFF, repeated in every fmt-3
 * continuation), continuations fmt 3, csid from rtmp_chunk_canonical_csid(),
 * msid RTMP_CANONICAL_MSID whatever m->msid says. Since every message starts
 * with a full fmt-0 header, the bytes of each message are valid for any
 * viewer at any message boundary, provided the viewer's in chunk size is
 * chunk_size. Ignores m->csid and m->msid. Returns bytes written, -ENOSPC or
 * -EINVAL. */
ssize_t rtmp_chunk_write_canonical(const struct rtmp_msg *m, uint32_t chunk_size,
				   uint8_t *buf, size_t cap);

#endif
