/* dp_rtmp: the RTMP service of one worker (TCP port [dataplane] rtmp_port).
 *
 * Per session:
 *   HANDSHAKE  the client's first 3073 bytes (C0, C1, C2) go to the control
 *              plane as SESSION_DATA; its answers (SESSION_DATA) are sent.
 *              Bytes after C2 are held until SESSION_HANDOVER.
 *   CHUNK      after SESSION_HANDOVER the worker runs rtmp_conn: protocol
 *              control is handled here, commands and data go to the control
 *              plane as SESSION_MSG, its SESSION_MSGs are chunked and sent.
 *   publisher  after SESSION_PUBLISH, audio/video/metadata messages become
 *              stream-log entries (dp_stream.h), fanned out to every worker
 *              with viewers and copied to the archive (ARCHIVE_MSG).
 *   viewer     after SESSION_ATTACH the worker feeds the session from its
 *              view of the stream log: metadata, sequence headers, the GOP
 *              from the newest keyframe, then live entries, by reference.
 * The control plane being absent stops only handshakes (refused) and
 * commands (unanswered); media keeps flowing.
 *
 * Everything here runs on the worker's lcore; other lcores reach it through
 * its rings (commands from the main lcore, entries from other workers).
 */
#ifndef DP_RTMP_H
#define DP_RTMP_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/dp_stream.h"

struct dp_worker;
struct dp_tcp_stack;

#define DP_RTMP_HANDSHAKE_LEN 3073 /* C0 + C1 + C2 */

/* Shared by every lcore: the stream table and the control plane's
 * presence. Allocated by the main lcore before workers launch. */
struct dp_rtmp_shared {
	struct dp_streams streams;
	atomic_int cp_up;         /* a control plane is connected and said HELLO */
	uint32_t chunk_size;      /* the appliance's out chunk size */
};

/* Allocate the shared state (rte_zmalloc). NULL with errno. */
struct dp_rtmp_shared *dp_rtmp_shared_create(uint32_t chunk_size);
void dp_rtmp_shared_free(struct dp_rtmp_shared *sh);

/* Per worker counters (exported by dp_stats). */
#define DP_RTMP_STATS_FIELDS(X) \
	X(sessions_opened) X(sessions_closed) X(sessions_refused) X(handshake_bytes) \
	X(handovers) X(msgs_to_cp) X(msgs_from_cp) X(msgs_to_cp_dropped) X(publishers) \
	X(viewers) X(ingest_msgs) X(ingest_bytes) X(payload_bytes_copied) \
	X(reasm_bytes_copied) X(ctl_bytes_copied) X(payload_bytes_sent) X(media_msgs_sent) \
	X(fanout_enqueued) X(fanout_dropped) X(fanout_received) X(archive_enqueued) \
	X(archive_dropped) X(skips) X(skip_bytes) X(resets) X(stalls) X(log_gaps) \
	X(republish_jumps) X(events_dropped) X(events_deferred) X(bad_cmds) X(cmd_errors) \
	X(rtmp_errors) X(entries_lost) X(fan_visits) X(fan_sweep_sends)

struct dp_rtmp_stats {
#define DP_RTMP_STAT_DECL(n) uint64_t n;
	DP_RTMP_STATS_FIELDS(DP_RTMP_STAT_DECL)
#undef DP_RTMP_STAT_DECL
};

struct dp_rtmp;

/* Create the service of worker w: rings (commands, events, fan-out), state
 * pools, and listen on the RTMP port of w->tcp. sh must outlive it.
 * Returns NULL with errno set. */
struct dp_rtmp *dp_rtmp_create(struct dp_worker *w, struct dp_rtmp_shared *sh);

/* Drop every entry reference the service holds (sessions, views, queued
 * messages, rings) after its worker stopped. Entries of one worker's pools
 * sit in other workers' views and rings, so shutdown releases every
 * worker's service before any worker's pools are freed. Idempotent; NULL
 * accepted. */
void dp_rtmp_release(struct dp_rtmp *r);

/* Free after the worker's TCP stack is destroyed (its on_close callbacks
 * released the sessions); releases first. NULL accepted. */
void dp_rtmp_free(struct dp_rtmp *r);

/* One poll step on the worker lcore: commands from the main lcore, entries
 * from other workers, viewer scheduling, slow-viewer timers. Returns the
 * work done. */
unsigned dp_rtmp_poll(struct dp_rtmp *r, uint64_t now_us);

/* Rings the main lcore uses: commands in (SP/SC), events out (SP/SC). */
struct rte_ring *dp_rtmp_cmd_ring(const struct dp_rtmp *r);
struct rte_ring *dp_rtmp_evt_ring(const struct dp_rtmp *r);

/* Counters (torn reads tolerated from other lcores).
 * payload_bytes_copied counts every copy of media payload bytes made on the
 * ingest path (chunk reassembly included), so payload_bytes_copied /
 * payload_bytes_sent is the fan-out's real copy ratio; reasm_bytes_copied is
 * the part of it the chunk reader made. entries_lost: media messages that
 * could not become log entries (pool empty); viewers of the stream resume at
 * the next keyframe. cmd_errors: control-plane commands rejected as
 * malformed or out of place (the session is reset and the reason logged).
 * fan_visits: viewer visits of the fan-out scheduler; fan_sweep_sends:
 * viewers that had something to send found only by the periodic safety
 * sweep (a wake-up the scheduler missed; 0 when it is right). */
const struct dp_rtmp_stats *dp_rtmp_stats(const struct dp_rtmp *r);

/* Heap bytes held by the worker's open RTMP sessions: session state and
 * the chunk reader's stream table (reassembly buffers become shared log
 * entries and are not counted). */
uint64_t dp_rtmp_session_bytes(const struct dp_rtmp *r);

/* Per stream fan-out counters of this worker, for the stats JSON. The
 * worker publishes them every DP_RTMP_TIMER_US into a snapshot guarded by a
 * sequence counter; this copies a consistent snapshot (never touching the
 * worker's stream objects, which it may free at any time) and calls fn for
 * each stream in it. Safe from any lcore or thread while the worker runs.
 * Returns the number of streams reported, or -EAGAIN when the writer kept
 * the snapshot busy (nothing reported), -ENOMEM. */
struct dp_rtmp_stream_stats {
	uint64_t stream;
	uint32_t viewers;
	int publishing;
	uint64_t entries, bytes_sent, skips, resets, skip_bytes, gaps;
};
int dp_rtmp_foreach_stream(const struct dp_rtmp *r,
			   void (*fn)(void *arg, const struct dp_rtmp_stream_stats *s), void *arg);

/* Per session view of this worker (SESSION_INFO): copies up to cap
 * entries of the worker's latest session snapshot (published with the
 * stream snapshot, same sequence-lock model) into out. Safe from any lcore
 * while the worker runs. Returns the number copied or -EAGAIN (writer kept
 * it busy). At most DP_RTMP_SESS_SNAP_MAX sessions per worker are listed. */
#define DP_RTMP_SESS_SNAP_MAX 65536u
struct dp_ipc_session_info;
int dp_rtmp_copy_sessions(const struct dp_rtmp *r, struct dp_ipc_session_info *out,
			  uint32_t cap);
/* Capacity of a worker's session snapshot (entries). */
uint32_t dp_rtmp_sess_snap_cap(const struct dp_rtmp *r);

/* Worker lcore: publish the per-stream snapshot now (also done by the
 * timers of dp_rtmp_poll). */
void dp_rtmp_snapshot(struct dp_rtmp *r);

#endif /* DP_RTMP_H */
