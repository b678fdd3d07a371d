/* Remote session transport: RTMP sessions whose TCP connection and chunk
 * layer live in the dataplane (lifecast-dp), driven over the IPC socket of
 * dataplane/dp_ipc_proto.h.
 *
 * Per session: SESSION_OPEN creates it; the RTMP handshake runs here on the
 * SESSION_DATA bytes (answers go back as SESSION_DATA); once C2 is in,
 * SESSION_HANDOVER gives the dataplane the chunk layer with the bytes that
 * followed C2, and a cp_session runs the command flow on SESSION_MSGs. The
 * session's transport ops map to: send/control -> SESSION_MSG, play ->
 * SESSION_ATTACH, stop -> SESSION_DETACH, close -> SESSION_CLOSE, accepted
 * publish -> SESSION_PUBLISH, unpublish -> SESSION_UNPUBLISH. Media never
 * comes here; the stream registry keeps the streams' life cycle (grace
 * period, PublishNotify / UnpublishNotify to viewers as SESSION_MSG) and
 * STREAM_STATE(ENDED) tells the dataplane when a stream's grace is over.
 * ARCHIVE_MSG copies go to the engine's stream_message hook (the archive),
 * the same hook the kernel transport feeds.
 *
 * Restart of either side: the link reconnects with back-off; after
 * HELLO/HELLO_ACK the dataplane replays its live sessions and streams
 * (RESYNC_*), which are rebuilt here without sending anything to the
 * clients. Stream ids are seeded from the clock so a restarted control
 * plane never reuses an id the dataplane still holds.
 *
 * Limits: handshake and command timeouts of [rtmp]; a session closing here
 * is forgotten after CLOSE_LINGER even if the dataplane never confirms.
 */
#ifndef CP_DPIPC_H
#define CP_DPIPC_H

#include <stdint.h>
#include <uv.h>

#include "controlplane/cp_session.h"

struct cp_dpipc;

struct cp_dpipc_hooks {
	/* Optional: archive copies of stream s were dropped by the dataplane
	 * (socket full, or control plane absent): the recording should start
	 * a new segment. */
	void (*archive_gap)(void *arg, struct cp_stream *s, uint32_t dropped);
	void *arg;
};

struct cp_dpipc_stats {
	uint64_t sessions_now, sessions_opened, handshakes, hs_failures, hs_timeouts;
	uint64_t cmd_timeouts, closed_by_dp, closed_by_cp, unknown_session;
	uint64_t resyncs, resync_sessions, resync_streams, resync_failures;
	uint64_t archive_msgs, archive_bytes, archive_dropped;
	uint64_t stream_ends_sent, bad_msgs;
	uint64_t dp_boot_id, dp_workers, dp_chunk_size;
	int connected, ready;      /* link up; HELLO_ACK received */
};

/* Create the transport for eng (which must outlive it) and start connecting
 * to the dataplane socket at path. Also ticks the engine (grace periods).
 * Returns NULL with errno (ENAMETOOLONG, ENOMEM). */
struct cp_dpipc *cp_dpipc_create(uv_loop_t *loop, struct cp_engine *eng, const char *path,
				 const struct cp_dpipc_hooks *hooks);

/* Engine stream-state hook: a stream ended (live 0) -> STREAM_STATE ENDED
 * to the dataplane. Install with cp_engine_set_state_hook, or call from
 * the owner's hook. */
void cp_dpipc_stream_state(struct cp_dpipc *d, struct cp_stream *s, int live);

/* Ask the dataplane for its stats; cb gets the JSON text (valid during the
 * call) or NULL when the link went down first. One request at a time:
 * -EBUSY; -ENOTCONN when not connected. */
int cp_dpipc_request_stats(struct cp_dpipc *d, void (*cb)(void *arg, const char *json,
							 size_t len), void *arg);

/* One session of the dataplane for `lifecastctl sessions`: what this side
 * knows (SESSION_OPEN / PUBLISH / ATTACH) plus the latest SESSION_INFO
 * snapshot, pulled every CP_DPIPC_INFO_MS while the link is ready
 * (have_info 0: no snapshot lists it yet; counters are then 0). */
#define CP_DPIPC_INFO_MS 1000
struct cp_dpipc_sess_info {
	uint64_t id;
	const char *peer;
	const char *role;          /* "publisher", "viewer", "none" */
	const char *state;         /* "handshake", "connected", "publishing", "playing",
				    * "waiting", "closing"... */
	const struct cp_stream *stream; /* NULL: none */
	uint16_t worker;
	int have_info;
	uint64_t bytes_in, bytes_out, skips;
	uint32_t rtt_us, cwnd;
	uint64_t started_ms, info_ms;  /* loop time of SESSION_OPEN / of the snapshot */
};

/* Call fn for every session (stop when it returns non-zero, returned). */
int cp_dpipc_foreach_session(struct cp_dpipc *d,
			     int (*fn)(void *arg, const struct cp_dpipc_sess_info *si), void *arg);

/* Close session id (SESSION_CLOSE to the dataplane) with reason. Returns 0,
 * or -ENOENT when unknown or already closing. */
int cp_dpipc_kick(struct cp_dpipc *d, uint64_t id, const char *reason);

/* Handle dgram[0..len) as a datagram from the dataplane (tests and
 * fuzzers; answers go to the socket if connected, else nowhere). Returns 0
 * or -errno as the link would drop for it. */
int cp_dpipc_inject(struct cp_dpipc *d, const uint8_t *dgram, size_t len);

/* Counters. */
void cp_dpipc_get_stats(const struct cp_dpipc *d, struct cp_dpipc_stats *out);

/* Log the counters (info). */
void cp_dpipc_log_stats(const struct cp_dpipc *d);

/* Forget every session (their cp_sessions are freed), close the link and
 * the timers. d is freed once the loop has run the close callbacks. NULL:
 * no-op. */
void cp_dpipc_destroy(struct cp_dpipc *d);

#endif
