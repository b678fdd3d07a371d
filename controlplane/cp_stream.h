/* Stream registry, stream logs (GOP cache) and viewer cursors.
 *
 * Every live stream has a log: a ring of shared cp_msg entries in publish
 * order, numbered by a 64-bit sequence, each knowing its byte offset in the
 * stream. A viewer is a cursor into that log plus counters; fan-out never
 * copies a message per viewer. The log keeps the current GOP (from the last
 * keyframe, up to gop_cache_max bytes) so a new viewer starts at once on a
 * keyframe, and a tail of viewer_hard_limit bytes for slow viewers.
 *
 * Slow viewers (backlog = log bytes not yet taken + bytes in flight): past
 * viewer_skip_threshold the cursor jumps to the newest keyframe (whole
 * messages, codec headers re-sent) and the skip is counted; past
 * viewer_hard_limit, or when its cursor fell out of the log, the viewer is
 * kicked (event CP_VIEWER_KICK) and counted.
 *
 * Timestamps: the stream clock is the publisher's clock shifted so that it
 * continues across publisher takeover and republish; each viewer rebases it
 * to its own first message and clamps it so it never goes backwards.
 *
 * No I/O and no event loop: the transport wires events to sockets. All calls
 * from one thread.
 */
#ifndef CP_STREAM_H
#define CP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/cp_msg.h"
#include "controlplane/cp_rtmp_conf.h"

struct cp_stream;
struct cp_viewer;
struct cp_registry;

struct cp_stream_limits {
	uint32_t chunk_size;
	uint64_t skip_threshold;
	uint64_t hard_limit;
	uint64_t gop_cache_max;
	uint64_t grace_ms;
};

/* Counters kept per stream and summed per registry. */
struct cp_counters {
	uint64_t msgs_in, bytes_in, keyframes;
	uint64_t msgs_out, bytes_out;
	uint64_t viewers_total, skips, skipped_msgs, slow_kicks;
	uint64_t publishes, takeovers, rejected_msgs;
};

enum cp_viewer_event {
	CP_VIEWER_WAKE,        /* new data to take with cp_viewer_next */
	CP_VIEWER_LIVE,        /* the stream (re)started: send PublishNotify */
	CP_VIEWER_UNPUBLISHED, /* publisher gone past the grace period */
	CP_VIEWER_KICK,        /* too slow: close the connection (reason given) */
};

struct cp_viewer_ops {
	/* Called synchronously from registry calls. May call cp_viewer_next or
	 * cp_viewer_detach on *this* viewer only. */
	void (*event)(struct cp_viewer *v, enum cp_viewer_event ev, const char *reason);
};

enum cp_viewer_state { CP_VS_DETACHED, CP_VS_WAIT_KEY, CP_VS_PREAMBLE, CP_VS_RUN };

#define CP_PREAMBLE_MAX 3

struct cp_viewer {
	/* owned by the registry while attached */
	struct cp_stream *stream;
	struct cp_viewer *prev, *next;
	enum cp_viewer_state state;
	uint64_t cursor;
	struct cp_msg *pre[CP_PREAMBLE_MAX];
	unsigned npre, ipre;
	uint32_t ts_base, last_ts;
	int started, kicked;
	/* set by the transport */
	const struct cp_viewer_ops *ops;
	void *arg;
	uint64_t inflight; /* bytes handed to the socket, not yet written */
	/* counters */
	uint64_t msgs_sent, bytes_sent, skips;
};

struct cp_stream {
	struct cp_registry *reg;
	struct cp_stream *next_in_reg;
	char app[CP_APP_NAME_MAX];
	char name[CP_STREAM_NAME_MAX];
	uint64_t id;
	/* publisher */
	void *publisher;         /* opaque owner (session), NULL when none */
	char pub_key[CP_STREAM_NAME_MAX];
	int live;                /* published, or within the grace period */
	uint64_t unpublished_at; /* ms, when publisher became NULL while live */
	int clock_pending;       /* next message starts a new publisher clock */
	uint32_t ts_offset, ts_max;
	int ts_valid, seen_video;
	/* log */
	struct cp_msg **ring;
	uint64_t cap, tail, head, head_off;
	uint64_t last_key;
	int have_key;
	struct cp_msg *meta, *vseq, *aseq;   /* latest */
	struct cp_msg *gop_vseq, *gop_aseq;  /* valid at last_key */
	/* viewers */
	struct cp_viewer *viewers;
	size_t nviewers;
	int in_cb;               /* iterating viewers: do not free */
	uint32_t last_ts;        /* stream clock of the last ingested message */
	void *user;              /* owner's slot (the archive recording); not freed here */
	struct cp_counters c;
};

struct cp_registry_ops {
	/* A stream went live (1) or ended after its grace period (0). */
	void (*live)(void *arg, struct cp_stream *s, int live);
};

struct cp_registry {
	struct cp_stream_limits lim;
	struct cp_stream *streams;
	size_t nstreams;
	uint64_t next_id;
	struct cp_counters c;
	const struct cp_registry_ops *ops;
	void *arg;
};

/* Initialise an empty registry. ops may be NULL. */
void cp_registry_init(struct cp_registry *r, const struct cp_stream_limits *lim,
		      const struct cp_registry_ops *ops, void *arg);

/* Free every stream and its log. Viewers still attached are detached
 * without events; their owners must not touch them afterwards. */
void cp_registry_fini(struct cp_registry *r);

/* The stream app/name, or NULL. */
struct cp_stream *cp_registry_find(struct cp_registry *r, const char *app, const char *name);

/* The stream app/name, created (not live) when missing. NULL + errno
 * (EINVAL for over-long names, ENOMEM). */
struct cp_stream *cp_registry_get(struct cp_registry *r, const char *app, const char *name);

/* The stream app/name, created with the given id when missing (state
 * carried over from an earlier process); later ids from this registry are
 * above it. NULL + errno (EINVAL, EEXIST when app/name exists with another
 * id or id is taken by another stream, ENOMEM). */
struct cp_stream *cp_registry_adopt(struct cp_registry *r, const char *app, const char *name,
				    uint64_t id);

/* The stream with this id, or NULL. */
struct cp_stream *cp_registry_find_id(struct cp_registry *r, uint64_t id);

/* Grace-period bookkeeping: end every stream whose publisher left more than
 * grace_ms before now_ms (viewers get CP_VIEWER_UNPUBLISHED, ops->live(0)),
 * and free streams with neither publisher nor viewers. */
void cp_registry_tick(struct cp_registry *r, uint64_t now_ms);

/* Start publishing s as `owner` with key `key` (the secret or the stream
 * name). If another publisher is connected: with the same key it is replaced
 * (takeover, returns 1 and the previous owner in *prev, which the caller must
 * disconnect); otherwise -EBUSY. Returns 0 on a fresh publish (viewers get
 * CP_VIEWER_LIVE if the stream was not live), 1 on takeover, -EBUSY. */
int cp_stream_publish(struct cp_stream *s, void *owner, const char *key, void **prev);

/* The publisher `owner` left at now_ms. No-op when owner is not the
 * current publisher (already replaced). With grace 0 the stream ends now. */
void cp_stream_unpublish(struct cp_stream *s, void *owner, uint64_t now_ms);

/* End a live stream that has no publisher now, skipping the rest of its
 * grace period (viewers are told at once). Freed by the next tick if unused. */
void cp_stream_end_now(struct cp_stream *s);

/* Restore a stream that an earlier process left in its grace period (no
 * publisher, viewers waiting): live from now, ending at now_ms + grace
 * unless a publisher comes back. Reports live(1) when it was not live. */
void cp_stream_restore_grace(struct cp_stream *s, uint64_t now_ms);

/* Append one publisher message (type 8, 9 or 18; data messages already
 * stripped of @setDataFrame). ts is the publisher's timestamp.
 * Returns 0, -EINVAL (type/size) or -ENOMEM. Viewers get WAKE or KICK. */
int cp_stream_ingest(struct cp_stream *s, uint8_t type, uint32_t ts, const uint8_t *p,
		     size_t len);

/* Attach v (zeroed or detached; ops/arg set) to s. It starts at the cached
 * GOP's keyframe with metadata and sequence headers first, or waits for the
 * next keyframe. Returns 0. */
int cp_viewer_attach(struct cp_stream *s, struct cp_viewer *v);

/* Detach; drops references it holds. Safe on a detached viewer. May free
 * the stream when it was the last user of an ended stream. */
void cp_viewer_detach(struct cp_viewer *v);

/* Next message for v: returns 1 with *m (borrowed: take cp_msg_get to keep
 * it past the next registry call) and its viewer timestamp *ts; 0 when
 * nothing is ready; -EPIPE when v was kicked. Counts msgs/bytes sent. */
int cp_viewer_next(struct cp_viewer *v, struct cp_msg **m, uint32_t *ts);

/* Unsent backlog of v in bytes, in-flight bytes included. */
uint64_t cp_viewer_backlog(const struct cp_viewer *v);

/* Bytes retained in s's log, and whether a GOP is cached. */
uint64_t cp_stream_log_bytes(const struct cp_stream *s);
int cp_stream_gop_cached(const struct cp_stream *s);

#endif
