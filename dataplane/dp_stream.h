/* dp_stream: stream logs for the RTMP fan-out.
 *
 * An ENTRY is one media or metadata message in canonical chunked form
 * (rtmp/rtmp_chunk.h: fmt 0 first chunk with the absolute stream-clock
 * timestamp, fmt 3 continuations, fixed csid per type, msid 1, the
 * appliance's chunk size), written once into a chain of mbufs. Its metadata
 * (struct dp_entry_meta) sits in the head mbuf's headroom, written before the
 * entry is shared and read-only afterwards. Every holder (stream views of
 * several workers, TCP send queues, fan-out rings, the archive queue) owns
 * one reference on the head mbuf (rte_mbuf_refcnt_update on each segment via
 * dp_entry_ref / rte_pktmbuf_free).
 *
 * A VIEW is one worker's local picture of a stream: a bounded ring of entry
 * references indexed by the stream-wide sequence number, with the positions
 * a new viewer starts from (last metadata, codec sequence headers, last
 * keyframe). Views are touched only by their worker.
 *
 * The stream TABLE is shared by every lcore (allocated by the main lcore,
 * fixed size): per stream the id, which worker publishes it, which workers
 * want its entries (bit mask), the next sequence number and the clock
 * where a republish continues. Only atomics cross lcores.
 */
#ifndef DP_STREAM_H
#define DP_STREAM_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define DP_ENTRY_KEYFRAME 0x01   /* video keyframe a decoder can start at */
#define DP_ENTRY_SEQHDR   0x02   /* codec sequence header (AVC/HEVC config, AAC ASC) */
#define DP_ENTRY_METADATA 0x04   /* onMetaData */
#define DP_ENTRY_AUDIO    0x08
#define DP_ENTRY_VIDEO    0x10

struct dp_entry_meta {
	uint64_t stream;      /* stream id (control plane's) */
	uint64_t seq;         /* stream-wide sequence number, from 1 */
	uint32_t ts;          /* stream clock, ms */
	uint32_t plen;        /* message payload bytes */
	uint32_t clen;        /* canonical bytes (== head pkt_len) */
	uint32_t chunk;       /* chunk size of the canonical form */
	uint32_t epoch;       /* publisher generation (increments on republish) */
	uint32_t slot;        /* shared stream table slot */
	uint8_t type;         /* RTMP message type (8, 9, 18) */
	uint8_t flags;        /* DP_ENTRY_* */
};

static inline const struct dp_entry_meta *dp_entry_meta(const struct rte_mbuf *m)
{
	return (const struct dp_entry_meta *)m->buf_addr;
}

/* Flags for a media message payload: sniffs audio/video with flv_codec,
 * type 18 is metadata. */
uint8_t dp_entry_classify(uint8_t type, const uint8_t *p, size_t len);

/* Build an entry from a message payload: canonical bytes are written once
 * into mbufs from pool (a chain when they exceed one mbuf). meta->clen and
 * meta->chunk are filled here; the rest is taken from *meta. Returns the head
 * mbuf holding one reference for the caller, or NULL (errno ENOMEM, or
 * EINVAL for a payload above the RTMP length limit or a bad chunk size).
 * *copied is increased by the payload bytes copied. */
struct rte_mbuf *dp_entry_build(struct rte_mempool *pool, const struct dp_entry_meta *meta,
				const uint8_t *payload, uint32_t chunk, uint64_t *copied);

/* Build an entry around payload bytes that already sit in an external
 * buffer (the chunk reader's reassembly buffer, written once): the chunk
 * headers go into small mbufs from hdr_pool, each payload slice is an
 * mbuf from hdr_pool attached to the buffer (rte_pktmbuf_attach_extbuf,
 * one shinfo reference per slice). No payload byte is copied. payload has
 * IOVA iova; shinfo manages the buffer and the caller keeps its own
 * reference (drop it after the call). Returns the head with one reference
 * for the caller, or NULL (errno ENOMEM, EINVAL). */
struct rte_mbuf *dp_entry_build_ext(struct rte_mempool *hdr_pool,
				    const struct dp_entry_meta *meta, uint8_t *payload,
				    rte_iova_t iova, struct rte_mbuf_ext_shared_info *shinfo,
				    uint32_t chunk);

/* Take one more reference on every segment of entry m. */
void dp_entry_ref(struct rte_mbuf *m);

/* Describe payload bytes [from, from + n) of entry m (the message body,
 * without chunk headers) as iovecs pointing into the mbufs (no copy).
 * Returns the iovecs used (<= max) and sets *mapped to the bytes they
 * describe: n, or a prefix of the range when max iovecs ran out (a small
 * chunk size needs one iovec per chunk at least). -EINVAL when the range
 * exceeds the payload or the chain (*mapped is then meaningless). */
int dp_entry_payload_iov(const struct rte_mbuf *m, uint32_t from, uint32_t n,
			 struct iovec *iov, int max, uint32_t *mapped);

/* ---- per-worker view of one stream ---- */

struct dp_view_slot {
	struct rte_mbuf *m;   /* NULL = empty */
	uint64_t off;         /* stream byte offset of the entry's first byte */
};

struct dp_view {
	uint64_t stream;        /* stream id */
	uint32_t slot;          /* index in the shared table */
	uint32_t mask;          /* ring size - 1 */
	struct dp_view_slot *ring;
	uint64_t first_seq;     /* oldest seq held (0 = empty) */
	uint64_t last_seq;      /* newest seq held */
	uint64_t bytes_held;    /* canonical bytes held in the ring */
	uint64_t bytes_max;
	uint64_t end_off;       /* stream byte offset after the newest entry */
	uint64_t key_seq;       /* newest keyframe held, 0 = none */
	struct rte_mbuf *meta;  /* latest onMetaData (own reference) */
	struct rte_mbuf *vsh;   /* latest video sequence header */
	struct rte_mbuf *ash;   /* latest audio sequence header */
	uint32_t epoch;         /* epoch of the newest entry */
	uint64_t epoch_key_seq; /* first keyframe of the newest epoch, 0 = none yet */
	int gap;                /* entries were lost (fan-out ring full) */
	/* counters */
	uint64_t appended, evicted, gaps;
};

/* Create/destroy a view with room for entries (rounded up to a power of 2)
 * and bytes_max canonical bytes. Returns 0 / -ENOMEM. fini drops every
 * reference it holds. */
int dp_view_init(struct dp_view *v, uint64_t stream, uint32_t slot, uint32_t entries,
		 uint64_t bytes_max);
void dp_view_fini(struct dp_view *v);

/* Append entry m (the view takes over the caller's reference). Entries must
 * come in increasing seq; a seq jump is recorded as a gap: the entries held
 * before it are dropped (metadata and sequence headers are kept) and
 * viewers resume at the next keyframe. The
 * oldest entries are evicted past the entry or byte bound. Returns 0, or
 * -EINVAL when m's seq is not newer than the last (m is freed). */
int dp_view_append(struct dp_view *v, struct rte_mbuf *m);

/* Record m as the latest metadata / sequence header without putting it in
 * the ring (a snapshot's preamble from another worker). Takes over the
 * caller's reference. */
void dp_view_note_preamble(struct dp_view *v, struct rte_mbuf *m);

/* Entry with sequence seq, or NULL when not held. */
struct rte_mbuf *dp_view_get(const struct dp_view *v, uint64_t seq);

/* Stream byte offset of entry seq (held). */
uint64_t dp_view_offset(const struct dp_view *v, uint64_t seq);

/* Seq of the first keyframe at or after seq held, 0 when none. */
uint64_t dp_view_next_key(const struct dp_view *v, uint64_t seq);

/* Drop every entry (stream ended), keep the view itself. */
void dp_view_clear(struct dp_view *v);

/* ---- shared stream table ---- */

#define DP_STREAMS_MAX 1024
#define DP_STREAM_APP_MAX 64
#define DP_STREAM_NAME_MAX 128

struct dp_sslot {
	_Atomic uint64_t id;          /* 0 = free */
	_Atomic int32_t pub_worker;   /* worker of the current publisher, -1 = none */
	_Atomic uint32_t ended;       /* STREAM_END received */
	_Atomic uint64_t sub_mask;    /* workers that want entries */
	_Atomic uint64_t next_seq;    /* seq the next entry gets (publisher side) */
	_Atomic uint32_t clock_next;  /* where a republish continues the clock */
	_Atomic uint32_t clock_valid;
	_Atomic uint32_t epoch;
	_Atomic uint32_t ar_dropped;  /* archive copies dropped since the last sent */
	/* written by the main lcore before the slot is handed to a worker */
	char app[DP_STREAM_APP_MAX];
	char name[DP_STREAM_NAME_MAX];
} __rte_cache_aligned;

struct dp_streams {
	struct dp_sslot slot[DP_STREAMS_MAX];
};

/* Main lcore: the slot of stream id, allocated when create and absent.
 * Returns the index or -ENOENT / -ENOSPC. */
int dp_streams_lookup(struct dp_streams *t, uint64_t id, int create);

/* Main lcore: free slots whose stream ended and nobody uses any more.
 * Returns the number freed. */
unsigned dp_streams_reap(struct dp_streams *t);

#endif /* DP_STREAM_H */
