/* Internals shared by dp_rtmp.c (sessions, commands) and dp_rtmp_fan.c
 * (ingest, views, viewer scheduling). Not a public header. */
#ifndef DP_RTMP_INT_H
#define DP_RTMP_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dp_cpipc.h"
#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_stream.h"
#include "rtmp/rtmp_amf0.h"
#include "rtmp/rtmp_conn.h"

struct dp_tcp_conn;

enum dp_rsess_state {
	DP_RS_HANDSHAKE = 0,   /* forwarding C0/C1/C2 to the control plane */
	DP_RS_WAIT_HANDOVER,   /* C2 forwarded, holding what follows */
	DP_RS_CHUNK,           /* rtmp_conn runs here */
};

#define DP_RS_HELD_MAX (64u * 1024u) /* bytes held between C2 and HANDOVER */
#define DP_RS_PRE_MAX 3              /* metadata + video + audio sequence headers */

struct dp_lstream;

struct dp_rsess {
	struct dp_rtmp *r;
	struct dp_tcp_conn *conn;
	uint64_t id;
	uint32_t idx;
	uint8_t state;              /* enum dp_rsess_state */
	uint8_t role;               /* enum dp_ipc_role */
	uint8_t rc_ok;              /* rc initialised */
	uint8_t closing;            /* SESSION_CLOSE: shut down once txq is out */
	uint8_t shut;               /* FIN queued */
	uint32_t peer_ip;
	uint16_t peer_port, local_port;
	uint32_t hs_fwd;            /* handshake bytes forwarded */
	uint8_t *held;              /* bytes after C2 (malloc'd) */
	uint32_t held_len;
	struct rte_mbuf *txq;       /* command/control bytes not yet accepted */
	uint32_t txq_off;
	struct rtmp_conn rc;
	const uint8_t *in_seg;      /* segment being fed to rc (copy accounting) */
	size_t in_seg_len;
	/* publisher */
	int32_t pslot;              /* -1 = not publishing */
	uint64_t pstream;
	uint32_t pmsid;
	uint32_t epoch;
	int clock_set;
	uint32_t ts_off;            /* added to publisher timestamps */
	uint32_t last_clock;
	/* viewer */
	int32_t vslot;              /* -1 = not attached */
	uint32_t vidx;              /* index in r->viewers */
	uint32_t vmsid;
	uint8_t need_start;         /* waiting for the view's snapshot */
	uint8_t wait_key;           /* no keyframe yet: skip to the first one */
	uint64_t cur_seq;           /* next log entry to send */
	struct rte_mbuf *cur;       /* entry in flight (own reference) */
	uint32_t cur_off;           /* bytes of cur accepted by TCP */
	struct rte_mbuf *pre[DP_RS_PRE_MAX]; /* preamble to send first (own refs) */
	uint8_t npre, pre_i;
	/* seq of the metadata / video / audio sequence header this viewer
	 * last got: a skip re-sends only what changed (the shared bytes
	 * carry their original timestamps, which would go backwards) */
	uint64_t have_seq[DP_RS_PRE_MAX];
	uint32_t last_una;
	uint64_t stall_since_us;
	/* fan-out scheduling: only viewers with a reason to send are visited */
	TAILQ_ENTRY(dp_rsess) vlink;  /* in its stream's viewer list */
	TAILQ_ENTRY(dp_rsess) rlink;  /* in the worker's ready list */
	uint8_t ready;              /* in the ready list */
	uint8_t swept;              /* put there by the safety sweep only */
	/* counters */
	uint64_t bytes_in, bytes_out, skips;
};

/* One worker's state for one stream. */
struct dp_lstream {
	struct dp_view v;
	uint32_t slot;
	struct dp_rsess *publisher;  /* local publishing session, NULL = none */
	int master;                  /* the stream's publisher is or was on this worker */
	int pending;                 /* waiting for a snapshot from the publisher's worker */
	uint64_t pending_since_us;
	uint32_t nviewers;
	TAILQ_HEAD(, dp_rsess) vlist; /* its viewers on this worker */
	uint8_t woken;               /* new entries: its viewers go ready */
	uint64_t bytes_sent, skips, resets, skip_bytes;
};

#define DP_RTMP_TIMER_US 100000  /* slow-viewer and snapshot timers */
#define DP_RTMP_SNAPSHOT_WAIT_US 1000000
/* Events waiting for room in the event ring (the main lcore is slow):
 * deferred in order instead of spinning; past the bound session events are
 * dropped and counted. Must-arrive markers (RESYNC end) ignore the bound. */
#define DP_RTMP_EVQ_MAX 8192

/* Per-stream counters published by the worker for other lcores: a single
 * writer sequence lock (odd = being written). */
struct dp_rtmp_snap {
	_Atomic uint32_t seq;
	uint32_t n;
	struct dp_rtmp_stream_stats s[DP_STREAMS_MAX];
};

/* Per-session view published by the worker the same way (cap entries,
 * allocated with the worker). */
struct dp_rtmp_sess_snap {
	_Atomic uint32_t seq;
	uint32_t n, cap;
	struct dp_ipc_session_info e[];
};

struct dp_rtmp {
	struct dp_worker *w;
	struct dp_rtmp_shared *sh;
	struct rte_ring *cmd, *evt, *fan;
	struct rte_mempool *ent_pool; /* small mbufs: entry headers, extbuf slices */
	uint32_t chunk;
	uint32_t max_sess;
	uint32_t gen;
	uint32_t next_idx;
	struct dp_rsess **sess;      /* by idx */
	struct dp_rsess **viewers;   /* attached viewers, dense */
	uint32_t nviewers;
	/* Viewers to visit in the next fan-out round: woken by a new log
	 * entry of their stream, TCP send space, a command, a start or a
	 * round cut short by the send budget. Visiting every viewer each poll
	 * loop instead costs a pass over thousands of sessions per loop. */
	TAILQ_HEAD(, dp_rsess) ready;
	uint32_t nready;
	uint32_t woken[DP_STREAMS_MAX]; /* slots of streams with new entries */
	uint32_t nwoken;
	struct dp_lstream *ls[DP_STREAMS_MAX];
	uint64_t now_us, last_timer_us;
	struct rtmp_amf0_node nodes[128]; /* scratch for metadata parsing */
	struct dp_msgq evq;          /* events the event ring had no room for */
	struct dp_rtmp_snap *snap;   /* per-stream counters for other lcores */
	struct dp_rtmp_sess_snap *ssnap; /* per-session view for other lcores */
	struct dp_rtmp_stats st;
};


/* Fan ring items: entry pointers (mbufs are 64-byte aligned, low bits 0)
 * with tag bits, or control words with bit 0 set. */
#define DP_FAN_CTL 0x1u
#define DP_FAN_SNAP 0x2u       /* entry of a snapshot */
#define DP_FAN_PRE 0x4u        /* snapshot preamble (metadata / sequence header) */
#define DP_FAN_TAGS 0x7u
#define DP_FAN_GOP_REQ 1u      /* ctl: worker asks the publisher's worker for a snapshot */
#define DP_FAN_SNAP_END 2u     /* ctl: snapshot complete */

static inline uintptr_t dp_fan_ctl(uint32_t kind, uint32_t worker, uint32_t slot)
{
	return ((uintptr_t)slot << 16) | ((uintptr_t)worker << 8) | ((uintptr_t)kind << 1) |
	       DP_FAN_CTL;
}

/* dp_rtmp.c */
void dp_rtmp_emit(struct dp_rtmp *r, struct dp_cpmsg *m);
/* Queue an archive copy: dropped (and counted) rather than deferred. */
int dp_rtmp_emit_archive(struct dp_rtmp *r, struct dp_cpmsg *m);
int dp_rsess_out(void *ctx, const uint8_t *p, size_t n);
int dp_rsess_flush(struct dp_rsess *s);
void dp_rsess_reset(struct dp_rsess *s, const char *why);
struct dp_rtmp *dp_rtmp_of(const struct dp_rtmp *r, uint16_t worker);

/* Reassembly buffers of the chunk readers: rte_malloc'd (IOVA-able) with
 * room for an rte_mbuf_ext_shared_info in front, so a completed message can
 * become an entry's external buffer without a copy. */
#define DP_REASM_HDR 64
void *dp_reasm_alloc(void *ctx, size_t size);
void dp_reasm_free(void *ctx, void *p, size_t size);

/* dp_rtmp_fan.c */
/* Ingest a media/metadata message of a publisher. reasm: the chunk reader
 * reassembled it (its buffer can be taken instead of copied). */
int dp_fan_ingest(struct dp_rsess *s, const struct rtmp_msg *m, int reasm);
int dp_fan_publish(struct dp_rsess *s, int32_t slot, uint64_t stream, uint32_t msid);
void dp_fan_unpublish(struct dp_rsess *s);
int dp_fan_attach(struct dp_rsess *s, int32_t slot, uint64_t stream, uint32_t msid);
void dp_fan_detach(struct dp_rsess *s);
/* Viewer s may have something to send now (TCP space, a command's bytes
 * went out): visit it in the next round. No-op for other sessions. */
void dp_fan_wake(struct dp_rsess *s);
void dp_fan_stream_end(struct dp_rtmp *r, int32_t slot);
unsigned dp_fan_rx(struct dp_rtmp *r);
unsigned dp_fan_schedule(struct dp_rtmp *r);
void dp_fan_timers(struct dp_rtmp *r);
void dp_fan_free_all(struct dp_rtmp *r);

#endif /* DP_RTMP_INT_H */
