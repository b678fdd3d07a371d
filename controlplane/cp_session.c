#include "controlplane/cp_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_log.h"
#include "rtmp/rtmp_amf0.h"
#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_err.h"

#define CMD_NODES 256
#define REPLY_MAX 1024

/* ---- engine ---- */

static void reg_live(void *arg, struct cp_stream *s, int live)
{
	struct cp_engine *e = arg;
	if (e->state_hook)
		e->state_hook(e->state_arg, s, live);
	cp_info("stream=%s/%s id=%llu %s", s->app, s->name, (unsigned long long)s->id,
		live ? "live" : "offline");
	if (e->hooks.stream_live)
		e->hooks.stream_live(e->hooks.arg, s->app, s->name, live);
}

static const struct cp_registry_ops reg_ops = { reg_live };

int cp_engine_init(struct cp_engine *e, const struct cp_rtmp_conf *conf,
		   const struct cp_keytab *keys, const struct cp_engine_hooks *hooks)
{
	memset(e, 0, sizeof(*e));
	e->conf = conf;
	e->keys = keys;
	if (hooks)
		e->hooks = *hooks;
	struct cp_stream_limits lim = {
		.chunk_size = (uint32_t)conf->chunk_size,
		.skip_threshold = conf->viewer_skip_threshold,
		.hard_limit = conf->viewer_hard_limit,
		.gop_cache_max = conf->gop_cache_max,
		.grace_ms = conf->publish_grace_ms,
	};
	cp_registry_init(&e->reg, &lim, &reg_ops, e);
	e->next_session_id = 1;
	return 0;
}

void cp_engine_set_state_hook(struct cp_engine *e, cp_stream_state_fn fn, void *arg)
{
	e->state_hook = fn;
	e->state_arg = arg;
}

void cp_engine_fini(struct cp_engine *e)
{
	cp_registry_fini(&e->reg);
}

void cp_engine_tick(struct cp_engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	cp_registry_tick(&e->reg, now_ms);
}

static void log_counters(const char *what, const struct cp_counters *c)
{
	cp_info("stats %s msgs_in=%llu bytes_in=%llu keyframes=%llu msgs_out=%llu bytes_out=%llu "
		"viewers_total=%llu skips=%llu skipped_msgs=%llu slow_kicks=%llu publishes=%llu "
		"takeovers=%llu",
		what, (unsigned long long)c->msgs_in, (unsigned long long)c->bytes_in,
		(unsigned long long)c->keyframes, (unsigned long long)c->msgs_out,
		(unsigned long long)c->bytes_out, (unsigned long long)c->viewers_total,
		(unsigned long long)c->skips, (unsigned long long)c->skipped_msgs,
		(unsigned long long)c->slow_kicks, (unsigned long long)c->publishes,
		(unsigned long long)c->takeovers);
}

void cp_engine_log_stats(const struct cp_engine *e)
{
	cp_info("stats global sessions=%llu sessions_total=%llu publishers=%llu viewers=%llu "
		"streams=%zu rejected_keys=%llu rejected_busy=%llu bad_commands=%llu",
		(unsigned long long)e->sessions_now, (unsigned long long)e->sessions_total,
		(unsigned long long)e->publishers_now, (unsigned long long)e->viewers_now,
		e->reg.nstreams, (unsigned long long)e->rejected_keys,
		(unsigned long long)e->rejected_busy, (unsigned long long)e->bad_commands);
	log_counters("global", &e->reg.c);
	for (const struct cp_stream *s = e->reg.streams; s; s = s->next_in_reg) {
		char what[CP_APP_NAME_MAX + CP_STREAM_NAME_MAX + 32];
		snprintf(what, sizeof(what), "stream=%s/%s viewers=%zu log_bytes=%llu", s->app,
			 s->name, s->nviewers, (unsigned long long)cp_stream_log_bytes(s));
		log_counters(what, &s->c);
	}
}

/* ---- sending ---- */

static int send_body(struct cp_session *s, uint8_t type, uint32_t msid, const uint8_t *p,
		     int len)
{
	if (len < 0)
		return len;
	struct rtmp_msg m = {
		.timestamp = 0,
		.length = (uint32_t)len,
		.msid = msid,
		/* Every session message uses the command chunk stream, so the
		 * media path's raw fmt 0 chunks on csid 4-6 never meet the
		 * writer's header compression. */
		.csid = RTMP_CSID_COMMAND,
		.type = type,
		.data = p,
	};
	return s->ops->send(s->t, &m);
}

static int send_status(struct cp_session *s, const char *level, const char *code,
		       const char *desc, const char *details)
{
	uint8_t buf[REPLY_MAX];
	struct rtmp_status st = { level, code, desc, details, NULL };
	return send_body(s, RTMP_MSG_COMMAND_AMF0, s->msid,
			 buf, rtmp_cmd_build_onstatus(buf, sizeof(buf), &st));
}

static int fail(struct cp_session *s, int err, const char *reason)
{
	if (!s->closing) {
		s->closing = 1;
		s->close_reason = reason;
		s->ops->close(s->t, reason);
	}
	return err;
}

/* ---- helpers ---- */

/* Copy a slice into a C string; names end at '?' (query strings carry
 * tokens some encoders append). Returns 0 or -EINVAL (empty, too long, or
 * containing '/' or control bytes). */
static int slice_name(struct rtmp_str in, char *out, size_t cap, int allow_slash)
{
	size_t n = 0;
	while (n < in.len && in.ptr[n] != '?')
		n++;
	while (n > 0 && in.ptr[n - 1] == '/')
		n--; /* "app/" as some clients send it */
	if (n == 0 || n >= cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in.ptr[i];
		if (ch < 0x20 || ch == 0x7f || (!allow_slash && ch == '/'))
			return -EINVAL;
	}
	memcpy(out, in.ptr, n);
	out[n] = '\0';
	return 0;
}

static const char *role_name(enum cp_role r)
{
	return r == CP_ROLE_PUBLISHER ? "publisher" : r == CP_ROLE_VIEWER ? "viewer" : "none";
}

/* Leave the publisher or viewer role (stream keeps its grace period). */
static void leave_role(struct cp_session *s)
{
	struct cp_engine *e = s->eng;
	/* Log first: stopping a viewer may free an ended stream. */
	if (s->role != CP_ROLE_NONE && s->stream)
		cp_info("sess=%llu stream=%s/%s %s left", (unsigned long long)s->id,
			s->stream->app, s->stream->name, role_name(s->role));
	if (s->role == CP_ROLE_PUBLISHER) {
		if (s->ingest)
			s->ingest->unpublish(s->t);
		if (s->stream)
			cp_stream_unpublish(s->stream, s, e->now_ms);
		e->publishers_now--;
	} else if (s->role == CP_ROLE_VIEWER) {
		s->ops->stop(s->t);
		e->viewers_now--;
	}
	s->role = CP_ROLE_NONE;
	s->stream = NULL;
}

/* ---- commands ---- */

static int on_connect(struct cp_session *s, const struct rtmp_cmd *c)
{
	struct cp_engine *e = s->eng;
	uint8_t buf[REPLY_MAX];
	struct cp_app fallback;
	const struct cp_app *app = NULL;
	if (s->connected)
		return fail(s, -EPROTO, "second connect");
	if (slice_name(c->app, s->app, sizeof(s->app), 1) == 0)
		app = cp_rtmp_conf_app(e->conf, s->app, &fallback);
	if (!app) {
		cp_warn("sess=%llu connect rejected: unknown app '%.*s'", (unsigned long long)s->id,
			(int)(c->app.len > 64 ? 64 : c->app.len), c->app.ptr ? c->app.ptr : "");
		send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf,
			  rtmp_cmd_build_connect_error(buf, sizeof(buf), c->txn, "unknown app"));
		return fail(s, -EACCES, "connect to unknown app");
	}
	s->app_open = app->open || e->conf->open_publish;
	s->object_encoding = c->object_encoding;
	int rc = s->ops->control(s->t, CP_CTL_WINDOW_ACK, (uint32_t)e->conf->window_ack_size);
	if (rc == 0)
		rc = s->ops->control(s->t, CP_CTL_PEER_BW, (uint32_t)e->conf->window_ack_size);
	if (rc == 0)
		rc = s->ops->control(s->t, CP_CTL_CHUNK_SIZE, (uint32_t)e->conf->chunk_size);
	struct rtmp_connect_result r = { NULL, 0, c->object_encoding, NULL };
	if (rc == 0)
		rc = send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf,
			       rtmp_cmd_build_connect_result(buf, sizeof(buf), c->txn, &r));
	if (rc != 0)
		return fail(s, rc, "connect reply failed");
	s->connected = 1;
	cp_info("sess=%llu connect app=%s (%s)", (unsigned long long)s->id, s->app,
		s->app_open ? "open" : "keyed");
	return 0;
}

static int simple_result(struct cp_session *s, double txn)
{
	uint8_t buf[REPLY_MAX];
	if (txn == 0)
		return 0; /* no transaction: no answer expected */
	return send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf,
			 rtmp_cmd_build_simple_result(buf, sizeof(buf), txn));
}

static int on_fcpublish(struct cp_session *s, const struct rtmp_cmd *c, int unpublish)
{
	uint8_t buf[REPLY_MAX];
	char name[CP_STREAM_NAME_MAX] = "";
	(void)slice_name(c->stream, name, sizeof(name), 0);
	/* Never echo a stream key: the description is a generic text. */
	int rc = simple_result(s, c->txn);
	if (rc == 0)
		rc = send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf,
			       rtmp_cmd_build_onfcpublish(buf, sizeof(buf), unpublish,
							  unpublish ? RTMP_NS_UNPUBLISH_SUCCESS :
							  RTMP_NS_PUBLISH_START,
							  "FCPublish"));
	return rc;
}

static int on_create_stream(struct cp_session *s, const struct rtmp_cmd *c)
{
	uint8_t buf[REPLY_MAX];
	if (s->next_msid == 0)
		s->next_msid = RTMP_CANONICAL_MSID;
	uint32_t id = s->next_msid++;
	if (s->next_msid > 64)
		return fail(s, -EPROTO, "too many createStream");
	return send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf,
			 rtmp_cmd_build_create_stream_result(buf, sizeof(buf), c->txn, id));
}

static int publish_refused(struct cp_session *s, const char *why, const char *reason)
{
	send_status(s, "error", RTMP_NS_PUBLISH_BADNAME, why, NULL);
	return fail(s, -EACCES, reason);
}

/* Decide the channel and key of a publish. Returns 0 or -EACCES. */
static int publish_channel(struct cp_session *s, const char *name, char *channel, size_t cap)
{
	if (s->app_open) {
		snprintf(channel, cap, "%s", name);
		return 0;
	}
	const char *ch = cp_keytab_channel(s->eng->keys, name);
	if (!ch)
		return -EACCES;
	snprintf(channel, cap, "%s", ch);
	return 0;
}

static void kick_previous(struct cp_session *prev)
{
	/* The stream already belongs to the new publisher: the old session
	 * must not unpublish it when it goes away. */
	prev->role = CP_ROLE_NONE;
	prev->stream = NULL;
	prev->eng->publishers_now--;
	fail(prev, -ECONNRESET, "replaced by a publisher with the same key");
}

static int on_publish(struct cp_session *s, const struct rtmp_cmd *c, uint32_t msid)
{
	struct cp_engine *e = s->eng;
	char name[CP_STREAM_NAME_MAX], channel[CP_STREAM_NAME_MAX];
	if (!s->connected || s->role != CP_ROLE_NONE)
		return fail(s, -EPROTO, "publish out of order");
	s->msid = msid ? msid : RTMP_CANONICAL_MSID;
	if (slice_name(c->stream, name, sizeof(name), 0) != 0)
		return publish_refused(s, "bad stream name", "bad stream name");
	if (publish_channel(s, name, channel, sizeof(channel)) != 0) {
		e->rejected_keys++;
		cp_warn("sess=%llu app=%s publish rejected: wrong stream key",
			(unsigned long long)s->id, s->app);
		return publish_refused(s, "invalid stream key", "wrong stream key");
	}
	struct cp_stream *st = cp_registry_get(&e->reg, s->app, channel);
	if (!st)
		return publish_refused(s, "cannot create stream", "stream create failed");
	/* Keyed: the secret identifies the broadcaster, so the same key may
	 * take over (encoder reconnecting before its old TCP died). Open: no
	 * identity, so a name that is live stays with its publisher. */
	char key[CP_STREAM_NAME_MAX];
	if (s->app_open)
		snprintf(key, sizeof(key), "\001session-%llu", (unsigned long long)s->id);
	else
		snprintf(key, sizeof(key), "%s", name);
	void *prev = NULL;
	int rc = cp_stream_publish(st, s, key, &prev);
	if (rc == -EBUSY) {
		e->rejected_busy++;
		cp_warn("sess=%llu stream=%s/%s publish rejected: already live",
			(unsigned long long)s->id, s->app, channel);
		cp_registry_tick(&e->reg, e->now_ms); /* frees st if we created it */
		return publish_refused(s, "stream already publishing", "stream already live");
	}
	if (prev)
		kick_previous(prev);
	s->role = CP_ROLE_PUBLISHER;
	s->stream = st;
	e->publishers_now++;
	rc = s->ingest ? s->ingest->publish(s->t, st, s->msid) : 0;
	if (rc != 0)
		return fail(s, rc, "publish attach failed");
	rc = s->ops->control(s->t, CP_CTL_STREAM_BEGIN, s->msid);
	if (rc == 0)
		rc = send_status(s, "status", RTMP_NS_PUBLISH_START, "Start publishing", channel);
	cp_info("sess=%llu stream=%s/%s publish accepted%s", (unsigned long long)s->id, s->app,
		channel, prev ? " (takeover)" : "");
	return rc;
}

static int on_play(struct cp_session *s, const struct rtmp_cmd *c, uint32_t msid)
{
	struct cp_engine *e = s->eng;
	char name[CP_STREAM_NAME_MAX];
	uint8_t buf[REPLY_MAX];
	if (!s->connected || s->role != CP_ROLE_NONE)
		return fail(s, -EPROTO, "play out of order");
	s->msid = msid ? msid : RTMP_CANONICAL_MSID;
	if (slice_name(c->stream, name, sizeof(name), 0) != 0) {
		send_status(s, "error", RTMP_NS_PLAY_STREAMNOTFOUND, "bad stream name", NULL);
		return fail(s, -EINVAL, "bad play name");
	}
	if (e->draining) {
		e->rejected_drain++;
		send_status(s, "error", "NetStream.Play.Failed", "server draining", name);
		return fail(s, -EAGAIN, "play refused: draining");
	}
	struct cp_stream *st = cp_registry_find(&e->reg, s->app, name);
	if ((!st || !st->live) && !e->conf->play_wait) {
		send_status(s, "error", RTMP_NS_PLAY_STREAMNOTFOUND, "No such stream", name);
		return fail(s, -ENOENT, "play of a stream not live");
	}
	if (!st)
		st = cp_registry_get(&e->reg, s->app, name);
	if (!st)
		return fail(s, -ENOMEM, "stream create failed");
	int rc = s->ops->control(s->t, CP_CTL_STREAM_BEGIN, s->msid);
	if (rc == 0)
		rc = send_status(s, "status", RTMP_NS_PLAY_RESET, "Playing and resetting", name);
	if (rc == 0)
		rc = send_status(s, "status", RTMP_NS_PLAY_START, "Started playing", name);
	if (rc == 0)
		rc = send_body(s, RTMP_MSG_DATA_AMF0, s->msid, buf,
			       rtmp_cmd_build_sample_access(buf, sizeof(buf)));
	if (rc != 0)
		return fail(s, rc, "play reply failed");
	cp_info("sess=%llu stream=%s/%s play (%s)", (unsigned long long)s->id, s->app, name,
		st->live ? "live" : "waiting for publisher");
	s->role = CP_ROLE_VIEWER;
	s->stream = st;
	e->viewers_now++;
	/* st may be gone after this call if the transport closed meanwhile. */
	rc = s->ops->play(s->t, st, s->msid);
	return rc != 0 ? fail(s, rc, "viewer attach failed") : 0;
}

static int on_unpublish_or_close(struct cp_session *s, const struct rtmp_cmd *c)
{
	int was_pub = s->role == CP_ROLE_PUBLISHER;
	leave_role(s);
	if (c->kind == RTMP_CMD_FCUNPUBLISH)
		return on_fcpublish(s, c, 1);
	if (was_pub && c->kind != RTMP_CMD_DELETE_STREAM)
		return send_status(s, "status", RTMP_NS_UNPUBLISH_SUCCESS, "Stop publishing", NULL);
	return 0;
}

static int unknown_command(struct cp_session *s, const struct rtmp_cmd *c)
{
	uint8_t buf[REPLY_MAX];
	cp_debug("sess=%llu ignoring command '%.*s'", (unsigned long long)s->id,
		 (int)(c->name.len > 64 ? 64 : c->name.len), c->name.ptr);
	if (c->txn == 0)
		return 0;
	/* _error with a generic status object, as FMS answers unknown calls. */
	struct rtmp_amf0_w w;
	rtmp_amf0_w_init(&w, buf, sizeof(buf));
	rtmp_amf0_put_cstring(&w, "_error");
	rtmp_amf0_put_number(&w, c->txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "level", "error");
	rtmp_amf0_put_prop_string(&w, "code", "NetConnection.Call.Failed");
	rtmp_amf0_put_prop_string(&w, "description", "Method not found");
	rtmp_amf0_put_object_end(&w);
	return send_body(s, RTMP_MSG_COMMAND_AMF0, 0, buf, rtmp_amf0_w_result(&w));
}

static int is_named(const struct rtmp_cmd *c, const char *name)
{
	return rtmp_str_eq(c->name, name);
}

static int on_command(struct cp_session *s, const struct rtmp_msg *m)
{
	struct rtmp_amf0_node nodes[CMD_NODES];
	struct rtmp_amf0_arena a;
	struct rtmp_cmd c;
	rtmp_amf0_arena_init(&a, nodes, CMD_NODES);
	int rc = rtmp_cmd_parse(m->type, m->data, m->length, &a, &c);
	if (rc < 0) {
		s->eng->bad_commands++;
		cp_warn("sess=%llu malformed command: %s", (unsigned long long)s->id,
			rtmp_strerror(rc));
		return fail(s, -EPROTO, "malformed command");
	}
	if (c.kind != RTMP_CMD_CONNECT && !s->connected)
		return fail(s, -EPROTO, "command before connect");
	switch (c.kind) {
	case RTMP_CMD_CONNECT:
		return on_connect(s, &c);
	case RTMP_CMD_RELEASE_STREAM:
	case RTMP_CMD_GET_STREAM_LENGTH:
	case RTMP_CMD_CHECKBW:
	case RTMP_CMD_FCSUBSCRIBE:
		return simple_result(s, c.txn);
	case RTMP_CMD_FCPUBLISH:
		return on_fcpublish(s, &c, 0);
	case RTMP_CMD_CREATE_STREAM:
		return on_create_stream(s, &c);
	case RTMP_CMD_PUBLISH:
		return on_publish(s, &c, m->msid);
	case RTMP_CMD_PLAY:
		return on_play(s, &c, m->msid);
	case RTMP_CMD_FCUNPUBLISH:
	case RTMP_CMD_DELETE_STREAM:
	case RTMP_CMD_CLOSE_STREAM:
		return on_unpublish_or_close(s, &c);
	case RTMP_CMD_RESULT:
	case RTMP_CMD_ERROR:
	case RTMP_CMD_ONSTATUS:
	case RTMP_CMD_PAUSE:
		return 0;
	default:
		if (is_named(&c, "ping") || is_named(&c, "receiveAudio") ||
		    is_named(&c, "receiveVideo"))
			return simple_result(s, c.txn);
		return unknown_command(s, &c);
	}
}

/* Add one publisher message to the stream and hand a copy to the hook. */
static int ingest(struct cp_session *s, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	int rc = cp_stream_ingest(s->stream, type, ts, p, len);
	const struct cp_engine_hooks *h = &s->eng->hooks;
	if (rc == 0 && h->stream_message)
		h->stream_message(h->arg, s->stream, type, s->stream->last_ts, p, len);
	return rc;
}

/* @setDataFrame onMetaData {..} -> onMetaData {..}; other data is dropped. */
static int on_data(struct cp_session *s, const struct rtmp_msg *m)
{
	if (s->role != CP_ROLE_PUBLISHER)
		return 0;
	struct rtmp_amf0_node nodes[CMD_NODES];
	struct rtmp_amf0_arena a;
	struct rtmp_data d;
	rtmp_amf0_arena_init(&a, nodes, CMD_NODES);
	int rc = rtmp_data_parse(m->type, m->data, m->length, &a, &d);
	if (rc < 0) {
		cp_warn("sess=%llu malformed data message dropped: %s", (unsigned long long)s->id,
			rtmp_strerror(rc));
		return 0;
	}
	if (!rtmp_str_eq(d.name, "onMetaData"))
		return 0;
	return ingest(s, RTMP_MSG_DATA_AMF0, m->timestamp, m->data + d.payload_off,
		      m->length - d.payload_off);
}

/* Aggregate (type 22): a run of FLV tags (type, size24, ts24+8, sid24, body,
 * prev-size32); sub-tag timestamps are relative to the first one. */
static int on_aggregate(struct cp_session *s, const struct rtmp_msg *m)
{
	const uint8_t *p = m->data;
	size_t left = m->length;
	uint32_t first = 0;
	int have_first = 0;
	while (left > 0) {
		if (left < 11)
			return fail(s, -EPROTO, "truncated aggregate message");
		uint8_t type = p[0];
		uint32_t size = rtmp_be24(p + 1);
		uint32_t ts = rtmp_be24(p + 4) | ((uint32_t)p[7] << 24);
		if (size > left - 11 || left - 11 - size < 4)
			return fail(s, -EPROTO, "truncated aggregate message");
		if (!have_first) {
			first = ts;
			have_first = 1;
		}
		if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO) {
			int rc = ingest(s, type, m->timestamp + (ts - first), p + 11, size);
			if (rc != 0)
				return rc;
		}
		p += 11 + size + 4;
		left -= 11 + size + 4;
	}
	return 0;
}

static int on_media(struct cp_session *s, const struct rtmp_msg *m)
{
	if (s->role != CP_ROLE_PUBLISHER || !s->stream)
		return 0; /* media from a non-publisher is dropped, like FMS does */
	int rc = m->type == RTMP_MSG_AGGREGATE ? on_aggregate(s, m) :
		 ingest(s, m->type, m->timestamp, m->data, m->length);
	if (rc != 0 && !s->closing) {
		cp_warn("sess=%llu stream=%s/%s message dropped: %s", (unsigned long long)s->id,
			s->stream->app, s->stream->name, strerror(-rc));
		if (rc == -ENOMEM)
			return fail(s, rc, "out of memory");
	}
	if (s->closing)
		return rc < 0 ? rc : -ECONNRESET;
	return 0;
}

int cp_session_on_message(struct cp_session *s, const struct rtmp_msg *m)
{
	if (s->closing)
		return -ECONNRESET;
	switch (m->type) {
	case RTMP_MSG_COMMAND_AMF0:
	case RTMP_MSG_COMMAND_AMF3:
		return on_command(s, m);
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_DATA_AMF3:
		return on_data(s, m);
	case RTMP_MSG_AUDIO:
	case RTMP_MSG_VIDEO:
	case RTMP_MSG_AGGREGATE:
		return on_media(s, m);
	default:
		cp_debug("sess=%llu ignoring message type %u", (unsigned long long)s->id, m->type);
		return 0;
	}
}

const char *cp_session_state_name(const struct cp_session *s)
{
	if (!s)
		return "handshake";
	if (s->role == CP_ROLE_PUBLISHER)
		return "publishing";
	if (s->role == CP_ROLE_VIEWER)
		return s->stream && s->stream->live ? "playing" : "waiting";
	return s->connected ? "connected" : "handshake-done";
}

void cp_session_viewer_event(struct cp_session *s, enum cp_viewer_event ev)
{
	if (s->closing || s->role != CP_ROLE_VIEWER || !s->stream)
		return;
	const char *name = s->stream->name;
	if (ev == CP_VIEWER_LIVE) {
		send_status(s, "status", RTMP_NS_PLAY_PUBLISH, "Stream is now published", name);
	} else if (ev == CP_VIEWER_UNPUBLISHED) {
		s->ops->control(s->t, CP_CTL_STREAM_EOF, s->msid);
		send_status(s, "status", RTMP_NS_PLAY_UNPUBLISH, "Stream is now unpublished", name);
	}
}

/* The publish key of a resynced publisher, as on_publish chose it. */
static int restore_key(struct cp_session *s, const char *channel, char *key, size_t cap)
{
	if (s->app_open) {
		snprintf(key, cap, "\001session-%llu", (unsigned long long)s->id);
		return 0;
	}
	for (size_t i = 0; i < s->eng->keys->n; i++) {
		if (strcmp(s->eng->keys->v[i].channel, channel) == 0) {
			snprintf(key, cap, "%s", s->eng->keys->v[i].secret);
			return 0;
		}
	}
	return -EINVAL; /* key removed since: the publisher may go on, no takeover */
}

int cp_session_restore(struct cp_session *s, const struct cp_session_restore *r)
{
	struct cp_engine *e = s->eng;
	struct cp_app fallback;
	const struct cp_app *app = r->app ? cp_rtmp_conf_app(e->conf, r->app, &fallback) : NULL;
	if (!app || (r->role != CP_ROLE_NONE && !r->stream))
		return -EINVAL;
	snprintf(s->app, sizeof(s->app), "%s", r->app);
	s->app_open = app->open || e->conf->open_publish;
	s->connected = 1;
	s->msid = r->msid;
	if (r->msid >= s->next_msid)
		s->next_msid = r->msid + 1;
	if (r->role == CP_ROLE_PUBLISHER) {
		char key[CP_STREAM_NAME_MAX];
		void *prev = NULL;
		if (restore_key(s, r->stream->name, key, sizeof(key)) != 0)
			snprintf(key, sizeof(key), "\001restored-%llu", (unsigned long long)s->id);
		/* 1 = takeover (prev set): not a refusal */
		if (cp_stream_publish(r->stream, s, key, &prev) < 0)
			return -EBUSY;
		if (prev) /* same key: the stream is ours now, as in on_publish */
			kick_previous(prev);
		e->publishers_now++;
	} else if (r->role == CP_ROLE_VIEWER) {
		e->viewers_now++;
	}
	s->role = r->role;
	s->stream = r->role == CP_ROLE_NONE ? NULL : r->stream;
	return 0;
}

void cp_session_detach(struct cp_session *s)
{
	leave_role(s);
}

struct cp_session *cp_session_new(struct cp_engine *e, const struct cp_transport_ops *ops,
				  void *t)
{
	struct cp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->eng = e;
	s->ops = ops;
	s->t = t;
	s->id = e->next_session_id++;
	s->next_msid = RTMP_CANONICAL_MSID;
	e->sessions_now++;
	e->sessions_total++;
	return s;
}

void cp_session_free(struct cp_session *s)
{
	if (!s)
		return;
	leave_role(s);
	s->eng->sessions_now--;
	free(s);
}
