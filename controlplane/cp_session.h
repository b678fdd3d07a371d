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

struct cp_engine_hooks {
	/* A stream went live / ended (after the grace period). */
	void (*stream_live)(void *arg, const char *app, const char *name, int live);
	/* Optional: every message a publisher added to stream s (audio, video,
	 * onMetaData without @setDataFrame), as the publisher timestamped it;
	 * for the archive. p is valid during the call only. */
	void (*stream_message)(void *arg, const struct cp_stream *s, uint8_t type, uint32_t ts,
			       const uint8_t *p, size_t len);
	void *arg;
};

/* Shared by every session of one process. */
struct cp_engine {
	const struct cp_rtmp_conf *conf;
	const struct cp_keytab *keys;
	struct cp_registry reg;
	struct cp_engine_hooks hooks;
	uint64_t now_ms;         /* updated by the owner (event loop time) */
	uint64_t next_session_id;
	uint64_t sessions_now, sessions_total, publishers_now, viewers_now;
	uint64_t rejected_keys, rejected_busy, bad_commands;
};

/* Set up an engine over conf and keys (both must outlive it). hooks may be
 * NULL. Returns 0. */
int cp_engine_init(struct cp_engine *e, const struct cp_rtmp_conf *conf,
		   const struct cp_keytab *keys, const struct cp_engine_hooks *hooks);

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

/* Forward a viewer event from the stream (LIVE, UNPUBLISHED) as onStatus. */
void cp_session_viewer_event(struct cp_session *s, enum cp_viewer_event ev);

/* 1 once the session publishes or plays (the command timeout stops). */
static inline int cp_session_active(const struct cp_session *s)
{
	return s->role != CP_ROLE_NONE;
}

#endif
