/* RTMP message handling: the command flow of one session, above the chunk
 * layer and independent of where that layer runs.
 *
 * A session sees whole messages (commands, data, audio, video) and acts
 * through a small transport interface: send a message, send a protocol
 * control message, attach/detach the viewer side to a stream, close. Two
 * transports are meant to exist: local (libuv socket + rtmp_conn in this
 * process, cp_server.c) and remote (the dataplane's chunk layer over IPC,
 * where "attach" becomes SESSION_ATTACH and media never reaches us).
 *
 * Command flow handled: connect (Window Ack Size, Set Peer Bandwidth and Set
 * Chunk Size before _result), releaseStream, FCPublish (onFCPublish),
 * createStream, publish (stream keys, takeover), @setDataFrame, FCUnpublish,
 * deleteStream, closeStream, play (StreamBegin, Play.Reset, Play.Start,
 * |RtmpSampleAccess, then the stream's preamble and media), getStreamLength,
 * _checkbw, pause, receiveAudio/receiveVideo (accepted, no effect), anything
 * else with a transaction id gets _error.
 *
 * Play of a stream that is not live: with [rtmp] play_wait (default) the
 * viewer gets Play.Reset/Play.Start and waits; when a publisher arrives it
 * gets NetStream.Play.PublishNotify, then metadata, codec headers and media
 * from the first keyframe. When the publisher leaves for longer than the
 * grace period, viewers get NetStream.Play.UnpublishNotify and keep waiting
 * (players such as ffmpeg and rtmpdump end there). With play_wait = no:
 * NetStream.Play.StreamNotFound and the connection is closed.
 */
#ifndef CP_SESSION_H
#define CP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "controlplane/cp_rtmp_conf.h"
#include "controlplane/cp_stream.h"
#include "rtmp/rtmp_chunk.h"

enum cp_ctl_kind {
	CP_CTL_WINDOW_ACK,   /* Window Acknowledgement Size (value) */
	CP_CTL_PEER_BW,      /* Set Peer Bandwidth (value, dynamic) */
	CP_CTL_CHUNK_SIZE,   /* Set Chunk Size (value); transport switches its writer */
	CP_CTL_STREAM_BEGIN, /* User Control StreamBegin (value = msid) */
	CP_CTL_STREAM_EOF,   /* User Control StreamEOF (value = msid) */
};

/* What a session needs from the transport carrying it. Every function
 * returns 0 or -errno; after close() the transport ignores further output
 * and frees the session itself later (never inside these calls). */
struct cp_transport_ops {
	/* Send a command or data message (m->csid set by the session). */
	int (*send)(void *t, const struct rtmp_msg *m);
	int (*control)(void *t, enum cp_ctl_kind kind, uint32_t value);
	/* Feed this session as a viewer of s from now on, on message stream
	 * msid: preamble, then media from the cached GOP's keyframe. */
	int (*play)(void *t, struct cp_stream *s, uint32_t msid);
	/* Stop feeding (closeStream, deleteStream). */
	void (*stop)(void *t);
	/* Close the connection once queued output is written; reason is logged. */
	void (*close)(void *t, const char *reason);
};

/* Optional extra ops of a transport whose chunk layer ingests media itself
 * (the dataplane): set with cp_session_set_ingest_ops. */
struct cp_ingest_ops {
	/* A publish of s was accepted on message stream msid: from now on the
	 * transport feeds s itself. Called before Publish.Start is sent, so
	 * the publisher's first media already finds the stream attached. */
	int (*publish)(void *t, struct cp_stream *s, uint32_t msid);
	/* The session stopped publishing (FCUnpublish, deleteStream,
	 * connection gone); the stream enters its grace period. */
	void (*unpublish)(void *t);
};

struct cp_engine_hooks {
	/* A stream went live / ended (after the grace period). */
	void (*stream_live)(void *arg, const char *app, const char *name, int live);
	/* Optional: every message a publisher added to stream s (audio, video,
	 * onMetaData without @setDataFrame), ts on the stream clock (continues
	 * across republish); for the archive. p is valid during the call only.
	 * The dataplane transport calls it too, for each ARCHIVE_MSG. */
	void (*stream_message)(void *arg, const struct cp_stream *s, uint8_t type, uint32_t ts,
			       const uint8_t *p, size_t len);
	void *arg;
};

/* Optional hook with the stream itself (its id and `user` slot), called
 * before hooks.stream_live; set with cp_engine_set_state_hook. */
typedef void (*cp_stream_state_fn)(void *arg, struct cp_stream *s, int live);

/* Shared by every session of one process. */
struct cp_engine {
	const struct cp_rtmp_conf *conf;
	const struct cp_keytab *keys;
	struct cp_registry reg;
	struct cp_engine_hooks hooks;
	cp_stream_state_fn state_hook;
	void *state_arg;
	uint64_t now_ms;         /* updated by the owner (event loop time) */
	uint64_t next_session_id;
	uint64_t sessions_now, sessions_total, publishers_now, viewers_now;
	uint64_t rejected_keys, rejected_busy, bad_commands;
	int draining;             /* maintenance: new plays are refused (lifecastctl drain) */
	uint64_t rejected_drain;
};

/* Set up an engine over conf and keys (both must outlive it). hooks may be
 * NULL. Returns 0. */
int cp_engine_init(struct cp_engine *e, const struct cp_rtmp_conf *conf,
		   const struct cp_keytab *keys, const struct cp_engine_hooks *hooks);

/* Install the stream-state hook (NULL removes it). */
void cp_engine_set_state_hook(struct cp_engine *e, cp_stream_state_fn fn, void *arg);

/* Free every stream. Sessions must be gone (or never touched again). */
void cp_engine_fini(struct cp_engine *e);

/* Advance the clock and run the grace-period bookkeeping. */
void cp_engine_tick(struct cp_engine *e, uint64_t now_ms);

/* Log one line of global counters and one per stream (info level). */
void cp_engine_log_stats(const struct cp_engine *e);

enum cp_role { CP_ROLE_NONE = 0, CP_ROLE_PUBLISHER, CP_ROLE_VIEWER };

struct cp_session {
	struct cp_engine *eng;
	const struct cp_transport_ops *ops;
	const struct cp_ingest_ops *ingest; /* NULL for the local transport */
	void *t;
	uint64_t id;
	int connected;
	int closing;
	enum cp_role role;
	struct cp_stream *stream;
	uint32_t msid;            /* stream id of publish/play */
	uint32_t next_msid;
	double object_encoding;
	char app[CP_APP_NAME_MAX];
	int app_open;
	const char *close_reason; /* static string, set when closing */
};

/* Create a session for a connection whose handshake is done. Returns NULL
 * with errno ENOMEM. The caller owns it: cp_session_free when the
 * connection is gone. */
struct cp_session *cp_session_new(struct cp_engine *e, const struct cp_transport_ops *ops,
				  void *t);

/* Give the session a transport's ingest ops (before any message). */
static inline void cp_session_set_ingest_ops(struct cp_session *s, const struct cp_ingest_ops *o)
{
	s->ingest = o;
}

/* The connection is going away: unpublish / stop playing now, so the
 * stream never outlives what the session points at. Idempotent. The
 * transport calls it when it starts closing; cp_session_free does it too. */
void cp_session_detach(struct cp_session *s);

/* Unpublish / stop playing, then free. Safe on NULL. */
void cp_session_free(struct cp_session *s);

/* Handle one message from the chunk layer (protocol control already
 * handled there). Returns 0, or -errno when the connection must be closed
 * (the session has already called ops->close with the reason; bad input is
 * -EPROTO, refused publish -EACCES). */
int cp_session_on_message(struct cp_session *s, const struct rtmp_msg *m);

/* State of a session carried over from an earlier control-plane process
 * (dataplane resync): the connection is past connect, and may publish or
 * play a stream. */
struct cp_session_restore {
	const char *app;          /* connected app */
	enum cp_role role;
	struct cp_stream *stream; /* required unless role is NONE */
	uint32_t msid;
};

/* Put a fresh session (from cp_session_new) into state r without sending
 * anything: connected to r->app, and for a publisher the stream's publisher
 * again (key: the channel's secret for keyed apps), for a viewer counted
 * as one (the transport attaches its cp_viewer itself). A publisher with
 * the same key is taken over and closed, as on publish. Returns 0, -EINVAL
 * (unknown app, missing stream), or -EBUSY (the stream already has another
 * publisher). */
int cp_session_restore(struct cp_session *s, const struct cp_session_restore *r);

/* What the operator sees of a session in `sessions`: "handshake" (NULL:
 * no session yet), "publishing", "playing" / "waiting" (its stream is live
 * or not), "connected" or "handshake-done". Closing is the transport's. */
const char *cp_session_state_name(const struct cp_session *s);

/* Forward a viewer event from the stream (LIVE, UNPUBLISHED) as onStatus. */
void cp_session_viewer_event(struct cp_session *s, enum cp_viewer_event ev);

/* 1 once the session publishes or plays (the command timeout stops). */
static inline int cp_session_active(const struct cp_session *s)
{
	return s->role != CP_ROLE_NONE;
}

#endif
