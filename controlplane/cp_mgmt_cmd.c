/* Management commands about the running engine: status, streams, sessions,
 * kick, stream stop, drain, and the stream bitrate sampler. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_dpipc.h"
#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt_int.h"
#include "flv/flv_codec.h"

#define J(v) ((json_int_t)(v))

int cp_mgmt_split_stream(const char *s, char *app, size_t acap, char *name, size_t ncap)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash == s || slash[1] == '\0' || strchr(slash + 1, '/'))
		return -EINVAL;
	size_t alen = (size_t)(slash - s);
	if (alen >= acap || strlen(slash + 1) >= ncap)
		return -EINVAL;
	memcpy(app, s, alen);
	app[alen] = '\0';
	snprintf(name, ncap, "%s", slash + 1);
	return 0;
}

/* ---- bitrate sampler ---- */

static struct cp_mgmt_rate *rate_slot(struct cp_mgmt *m, uint64_t id, int create)
{
	struct cp_mgmt_rate *free_slot = NULL;
	for (size_t i = 0; i < CP_MGMT_RATE_STREAMS; i++) {
		if (m->rates[i].stream_id == id)
			return &m->rates[i];
		if (!free_slot && m->rates[i].stream_id == 0)
			free_slot = &m->rates[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->stream_id = id;
	return free_slot;
}

void cp_mgmt_sample_streams(struct cp_mgmt *m)
{
	uint64_t now = cp_mgmt_now(m);
	for (size_t i = 0; i < CP_MGMT_RATE_STREAMS; i++)
		m->rates[i].seen = 0;
	for (struct cp_stream *s = m->env.eng->reg.streams; s; s = s->next_in_reg) {
		struct cp_mgmt_rate *r = rate_slot(m, s->id, 1);
		if (!r)
			continue; /* more streams than tracked: bitrate shows 0 */
		r->seen = 1;
		r->t_ms[r->head] = now;
		r->bytes[r->head] = s->c.bytes_in;
		r->head = (r->head + 1) % CP_MGMT_RATE_SLOTS;
		if (r->n < CP_MGMT_RATE_SLOTS)
			r->n++;
	}
	for (size_t i = 0; i < CP_MGMT_RATE_STREAMS; i++)
		if (!m->rates[i].seen)
			m->rates[i].stream_id = 0;
	const struct cp_counters *c = &m->env.eng->reg.c;
	m->tot_prev_ms = m->tot_cur_ms;
	m->tot_prev_in = m->tot_cur_in;
	m->tot_prev_out = m->tot_cur_out;
	m->tot_prev_msgs = m->tot_cur_msgs;
	m->tot_cur_ms = now;
	m->tot_cur_in = c->bytes_in;
	m->tot_cur_out = c->bytes_out;
	m->tot_cur_msgs = c->msgs_in + c->msgs_out;
}

uint64_t cp_mgmt_stream_bps(const struct cp_mgmt *m, uint64_t stream_id)
{
	const struct cp_mgmt_rate *r = rate_slot((struct cp_mgmt *)m, stream_id, 0);
	if (!r || r->n < 2)
		return 0;
	unsigned newest = (r->head + CP_MGMT_RATE_SLOTS - 1) % CP_MGMT_RATE_SLOTS;
	unsigned oldest = newest;
	for (unsigned k = 1; k < r->n; k++) {
		unsigned i = (newest + CP_MGMT_RATE_SLOTS - k) % CP_MGMT_RATE_SLOTS;
		if (r->t_ms[newest] - r->t_ms[i] > m->conf.bitrate_window_ms)
			break;
		oldest = i;
	}
	uint64_t dt = r->t_ms[newest] - r->t_ms[oldest];
	if (dt == 0)
		return 0;
	return (r->bytes[newest] - r->bytes[oldest]) * 8 * 1000 / dt;
}

/* ---- helpers ---- */

struct conn_find {
	const void *sess;     /* match by session pointer, or */
	uint64_t sess_id;     /* by session id */
	struct cp_session *found;
	char peer[64];
	uint64_t started_ms;
};

static int find_conn_cb(void *arg, const struct cp_conn_info *ci)
{
	struct conn_find *f = arg;
	if (!ci->sess || (f->sess ? (const void *)ci->sess != f->sess : ci->sess->id != f->sess_id))
		return 0;
	f->found = ci->sess;
	snprintf(f->peer, sizeof(f->peer), "%s", ci->peer);
	f->started_ms = ci->started_ms;
	return 1;
}

static const char *video_codec(const struct cp_msg *m, char *buf, size_t cap)
{
	struct flv_media_info mi;
	if (!m || flv_sniff_video(m->body, m->len < 16 ? m->len : 16, &mi) != 0)
		return "";
	uint32_t f = mi.fourcc;
	if (!mi.enhanced && mi.codec_id == FLV_VCODEC_HEVC_EXT)
		f = FLV_FOURCC_HEVC;
	if (f == FLV_FOURCC_AVC)
		return "h264";
	if (f == FLV_FOURCC_HEVC)
		return "hevc";
	if (f == FLV_FOURCC_AV1)
		return "av1";
	if (f == FLV_FOURCC_VP9)
		return "vp9";
	if (mi.enhanced)
		snprintf(buf, cap, "%c%c%c%c", (char)(f >> 24), (char)(f >> 16), (char)(f >> 8),
			 (char)f);
	else
		snprintf(buf, cap, "flv-video-%u", mi.codec_id);
	return buf;
}

static const char *audio_codec(const struct cp_msg *m, char *buf, size_t cap)
{
	struct flv_media_info mi;
	if (!m || flv_sniff_audio(m->body, m->len < 16 ? m->len : 16, &mi) != 0)
		return "";
	switch (mi.codec_id) {
	case FLV_SOUND_AAC: return "aac";
	case FLV_SOUND_MP3: case FLV_SOUND_MP3_8K: return "mp3";
	case FLV_SOUND_SPEEX: return "speex";
	case FLV_SOUND_G711A: return "pcma";
	case FLV_SOUND_G711U: return "pcmu";
	default: snprintf(buf, cap, "flv-audio-%u", mi.codec_id); return buf;
	}
}

/* ---- status ---- */

static json_t *engine_totals(const struct cp_mgmt *m)
{
	const struct cp_engine *e = m->env.eng;
	const struct cp_counters *c = &e->reg.c;
	size_t live = 0;
	for (const struct cp_stream *s = e->reg.streams; s; s = s->next_in_reg)
		live += s->live ? 1 : 0;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "streams", J(e->reg.nstreams), "live_streams", J(live),
			 "publishers", J(e->publishers_now), "viewers", J(e->viewers_now),
			 "sessions", J(e->sessions_now), "sessions_total", J(e->sessions_total),
			 "bytes_in", J(c->bytes_in), "bytes_out", J(c->bytes_out),
			 "msgs_in", J(c->msgs_in), "msgs_out", J(c->msgs_out),
			 "skips", J(c->skips), "slow_kicks", J(c->slow_kicks),
			 "rejected_keys", J(e->rejected_keys), "rejected_busy", J(e->rejected_busy),
			 "rejected_drain", J(e->rejected_drain), "bad_commands", J(e->bad_commands));
}

static json_t *ports(const struct cp_mgmt *m)
{
	json_t *a = json_array();
	char addr[80] = "";
	if (m->env.srv) {
		struct sockaddr_storage ss;
		int len = sizeof(ss);
		char host[64] = "?";
		int port = 0;
		if (uv_tcp_getsockname(&m->env.srv->listener, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET6) {
				uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
				port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			} else {
				uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
				port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			}
		}
		snprintf(addr, sizeof(addr), "%s:%d", host, port);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", "rtmp", "transport",
						   "kernel", "listen", addr));
	}
	if (m->path[0])
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", "mgmt", "transport",
						   "unix", "listen", m->path));
	return a;
}

/* The data port's link as the dataplane reports it: "up 10000 Mbit/s full",
 * "down", or why it is not known. */
static void link_state(const struct cp_mgmt *m, int dp, char *out, size_t n)
{
	json_t *l = dp && m->dp.cur ? json_object_get(m->dp.cur, "link") : NULL;
	if (!dp) {
		snprintf(out, n, "n/a (kernel sockets)");
	} else if (!json_is_object(l)) {
		snprintf(out, n, "unknown (not in the dataplane's stats)");
	} else if (!json_is_true(json_object_get(l, "up"))) {
		snprintf(out, n, "down");
	} else {
		snprintf(out, n, "up %lld Mbit/s %s",
			 (long long)json_integer_value(json_object_get(l, "speed_mbps")),
			 json_is_true(json_object_get(l, "full_duplex")) ? "full" : "half");
	}
}

int cp_mgmt_cmd_status(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	uint64_t now = cp_mgmt_now(m);
	int dp = m->dp.connected;
	json_int_t workers = 1;
	char link[64];
	link_state(m, dp, link, sizeof(link));
	if (dp && m->dp.cur)
		workers = json_integer_value(json_object_get(m->dp.cur, "workers"));
	*res = json_pack("{s:s,s:I,s:I,s:s,s:I,s:s,s:o,s:b,s:{s:s,s:b,s:s},s:o}",
			 "version", CP_MGMT_VERSION, "pid", J(getpid()),
			 "uptime_s", J((now - m->started_ms) / 1000),
			 "mode", m->env.mode, "workers", workers,
			 "link", link,
			 "ports", ports(m),
			 "draining", m->env.eng->draining,
			 "dataplane", "stats_socket", m->dp.path, "connected", dp,
			 "error", m->dp.last_error, "totals", engine_totals(m));
	return *res ? 0 : -ENOMEM;
}

/* ---- streams ---- */

static json_t *stream_json(struct cp_mgmt *m, const struct cp_stream *s)
{
	char vb[16], ab[24], name[CP_APP_NAME_MAX + CP_STREAM_NAME_MAX + 2];
	uint64_t now = cp_mgmt_now(m);
	json_t *pub = json_null();
	if (s->publisher) {
		const struct cp_session *ps = s->publisher;
		struct conn_find f = { .sess = ps };
		if (m->env.srv)
			cp_server_foreach_conn(m->env.srv, find_conn_cb, &f);
		pub = json_pack("{s:I,s:s}", "session", J(ps->id), "peer", f.found ? f.peer : "");
	}
	/* The file on disk: a segment is STAMP.flv.part until it is closed. */
	char rec[4096] = "";
	const char *seg = m->archive && s->user ? cp_archive_rec_path(s->user) : "";
	if (seg[0])
		snprintf(rec, sizeof(rec), "%s.part", seg);
	const struct cp_mgmt_rate *r = rate_slot(m, s->id, 0);
	uint64_t since = r && r->n ? r->t_ms[(r->head + CP_MGMT_RATE_SLOTS - r->n) %
					       CP_MGMT_RATE_SLOTS] : now;
	snprintf(name, sizeof(name), "%s/%s", s->app, s->name);
	return json_pack("{s:I,s:s,s:s,s:s,s:b,s:o,s:s,s:s,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I,"
			 "s:I}",
			 "id", J(s->id), "stream", name, "app", s->app, "name", s->name,
			 "live", s->live, "publisher", pub,
			 "video_codec", video_codec(s->vseq, vb, sizeof(vb)),
			 "audio_codec", audio_codec(s->aseq, ab, sizeof(ab)),
			 "bitrate_bps", J(cp_mgmt_stream_bps(m, s->id)), "viewers", J(s->nviewers),
			 "uptime_s", J((now - since) / 1000), "recording", rec,
			 "bytes_in", J(s->c.bytes_in), "bytes_out", J(s->c.bytes_out),
			 "msgs_in", J(s->c.msgs_in), "keyframes", J(s->c.keyframes),
			 "skips", J(s->c.skips), "slow_kicks", J(s->c.slow_kicks));
}

int cp_mgmt_cmd_streams(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	json_t *a = json_array();
	for (const struct cp_stream *s = m->env.eng->reg.streams; s; s = s->next_in_reg)
		json_array_append_new(a, stream_json(m, s));
	*res = a;
	return 0;
}

/* ---- sessions ---- */

struct sess_walk {
	struct cp_mgmt *m;
	const char *filter;   /* "app/name" or NULL */
	json_t *out;
};

static const char *sess_state(const struct cp_conn_info *ci)
{
	if (ci->closing)
		return "closing";
	return cp_session_state_name(ci->sess);
}

static void tcp_info_json(json_t *o, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
		json_object_set_new(o, "rtt_us", json_null());
		json_object_set_new(o, "cwnd", json_null());
		return;
	}
	json_object_set_new(o, "rtt_us", json_integer(ti.tcpi_rtt));
	json_object_set_new(o, "rttvar_us", json_integer(ti.tcpi_rttvar));
	json_object_set_new(o, "cwnd", json_integer(ti.tcpi_snd_cwnd));
	json_object_set_new(o, "mss", json_integer(ti.tcpi_snd_mss));
	json_object_set_new(o, "retransmits", json_integer(ti.tcpi_total_retrans));
}

static int sess_cb(void *arg, const struct cp_conn_info *ci)
{
	struct sess_walk *w = arg;
	const struct cp_session *s = ci->sess;
	char sname[CP_APP_NAME_MAX + CP_STREAM_NAME_MAX + 2] = "";
	if (s && s->stream)
		snprintf(sname, sizeof(sname), "%s/%s", s->stream->app, s->stream->name);
	if (w->filter && strcmp(w->filter, sname) != 0)
		return 0;
	const char *role = !s ? "none" : s->role == CP_ROLE_PUBLISHER ? "publisher" :
			   s->role == CP_ROLE_VIEWER ? "viewer" : "none";
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}",
			      "id", J(s ? s->id : 0), "conn", J(ci->conn_id), "peer", ci->peer,
			      "role", role, "state", sess_state(ci), "stream", sname,
			      "worker", J(0), "bytes_in", J(ci->bytes_in),
			      "bytes_out", J(ci->bytes_out),
			      "skips", J(ci->viewer ? ci->viewer->skips : 0),
			      "uptime_s", J((cp_mgmt_now(w->m) - ci->started_ms) / 1000));
	if (!o)
		return -ENOMEM;
	tcp_info_json(o, ci->fd);
	json_array_append_new(w->out, o);
	return 0;
}

/* Dataplane sessions: the transport's table and its latest snapshot. */
static int dp_sess_cb(void *arg, const struct cp_dpipc_sess_info *si)
{
	struct sess_walk *w = arg;
	char sname[CP_APP_NAME_MAX + CP_STREAM_NAME_MAX + 2] = "";
	if (si->stream)
		snprintf(sname, sizeof(sname), "%s/%s", si->stream->app, si->stream->name);
	if (w->filter && strcmp(w->filter, sname) != 0)
		return 0;
	uint64_t now = cp_mgmt_now(w->m);
	json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}",
			      "id", J(si->id), "conn", J(si->id), "peer", si->peer,
			      "role", si->role, "state", si->state, "stream", sname,
			      "worker", J(si->worker), "bytes_in", J(si->bytes_in),
			      "bytes_out", J(si->bytes_out), "skips", J(si->skips),
			      "uptime_s", J(now >= si->started_ms ? (now - si->started_ms) / 1000 : 0));
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "rtt_us", si->have_info ? json_integer(si->rtt_us) : json_null());
	json_object_set_new(o, "cwnd", si->have_info ? json_integer(si->cwnd) : json_null());
	json_object_set_new(o, "info_age_ms", si->have_info && now >= si->info_ms ?
			    json_integer(J(now - si->info_ms)) : json_null());
	json_array_append_new(w->out, o);
	return 0;
}

int cp_mgmt_cmd_sessions(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	json_t *f = json_object_get(req, "stream");
	if (f && !json_is_string(f)) {
		snprintf(err, n, "\"stream\" must be a string APP/NAME");
		return -EINVAL;
	}
	struct sess_walk w = { m, f ? json_string_value(f) : NULL, json_array() };
	if (m->env.srv)
		cp_server_foreach_conn(m->env.srv, sess_cb, &w);
	if (m->env.dp)
		cp_dpipc_foreach_session(m->env.dp, dp_sess_cb, &w);
	*res = w.out;
	return 0;
}

/* ---- actions ---- */

/* Close a session through its transport, as the session itself does on a
 * fatal error (so both transports handle it the same way). */
static void close_session(struct cp_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->close_reason = reason;
	s->ops->close(s->t, reason);
}

static int session_arg(json_t *req, uint64_t *id, char *err, size_t n)
{
	json_t *v = json_object_get(req, "session");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(err, n, "\"session\" must be a positive integer");
		return -EINVAL;
	}
	*id = (uint64_t)json_integer_value(v);
	return 0;
}

struct dp_kick {
	uint64_t id;
	struct cp_dpipc_sess_info si;
	char peer[64], role[16];
};

static int dp_kick_find(void *arg, const struct cp_dpipc_sess_info *si)
{
	struct dp_kick *k = arg;
	if (si->id != k->id)
		return 0;
	k->si = *si;
	snprintf(k->peer, sizeof(k->peer), "%s", si->peer);
	snprintf(k->role, sizeof(k->role), "%s", si->role);
	return 1;
}

int cp_mgmt_cmd_kick(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	uint64_t id;
	int rc = session_arg(req, &id, err, n);
	if (rc != 0)
		return rc;
	struct conn_find f = { .sess_id = id };
	if (m->env.srv)
		cp_server_foreach_conn(m->env.srv, find_conn_cb, &f);
	if ((!f.found || f.found->closing) && m->env.dp) {
		struct dp_kick k = { .id = id };
		cp_dpipc_foreach_session(m->env.dp, dp_kick_find, &k);
		if (k.si.id && cp_dpipc_kick(m->env.dp, id, "kicked by operator") == 0) {
			cp_info("sess=%llu peer=%s kicked by operator", (unsigned long long)id,
				k.peer);
			*res = json_pack("{s:I,s:s,s:s}", "session", J(id), "peer", k.peer,
					 "role", k.role);
			m->st.kicks++;
			return *res ? 0 : -ENOMEM;
		}
	}
	if (!f.found || f.found->closing) {
		snprintf(err, n, "no session %llu", (unsigned long long)id);
		return -ENOENT;
	}
	const char *role = f.found->role == CP_ROLE_PUBLISHER ? "publisher" :
			   f.found->role == CP_ROLE_VIEWER ? "viewer" : "none";
	cp_info("sess=%llu peer=%s kicked by operator", (unsigned long long)id, f.peer);
	*res = json_pack("{s:I,s:s,s:s}", "session", J(id), "peer", f.peer, "role", role);
	close_session(f.found, "kicked by operator");
	m->st.kicks++;
	return 0;
}

static int stream_arg(struct cp_mgmt *m, json_t *req, struct cp_stream **out, char *err, size_t n)
{
	char app[CP_APP_NAME_MAX], name[CP_STREAM_NAME_MAX];
	const char *s = json_string_value(json_object_get(req, "stream"));
	if (cp_mgmt_split_stream(s, app, sizeof(app), name, sizeof(name)) != 0) {
		snprintf(err, n, "\"stream\" must be APP/NAME");
		return -EINVAL;
	}
	*out = cp_registry_find(&m->env.eng->reg, app, name);
	if (!*out || !(*out)->live) {
		snprintf(err, n, "stream %s is not live", s);
		return -ENOENT;
	}
	return 0;
}

uint64_t cp_mgmt_end_stream(struct cp_mgmt *m, struct cp_stream *st, const char *reason,
			    int *ended)
{
	struct cp_engine *e = m->env.eng;
	uint64_t id = st->id, sess = 0;
	if (st->publisher) {
		struct cp_session *p = st->publisher;
		sess = p->id;
		close_session(p, reason);
	}
	/* The publisher left: skip its grace period so viewers are told at once
	 * (a reconnecting encoder would otherwise resume the stream). */
	*ended = 0;
	st = cp_registry_find_id(&e->reg, id);
	if (st && !st->publisher) {
		cp_stream_end_now(st);
		cp_registry_tick(&e->reg, e->now_ms);
		st = cp_registry_find_id(&e->reg, id);
		*ended = !st || !st->live;
	}
	return sess;
}

int cp_mgmt_cmd_stream_stop(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	struct cp_stream *st;
	int rc = stream_arg(m, req, &st, err, n);
	if (rc != 0)
		return rc;
	uint64_t id = st->id;
	int ended;
	cp_info("stream=%s/%s id=%llu stopped by operator", st->app, st->name,
		(unsigned long long)id);
	uint64_t sess = cp_mgmt_end_stream(m, st, "stream stopped by operator", &ended);
	m->st.stream_stops++;
	*res = json_pack("{s:I,s:I,s:b}", "stream_id", J(id), "publisher_session", J(sess),
			 "ended", ended);
	return 0;
}

int cp_mgmt_cmd_drain(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	json_t *on = json_object_get(req, "on");
	if (on && !json_is_boolean(on)) {
		snprintf(err, n, "\"on\" must be true or false");
		return -EINVAL;
	}
	struct cp_engine *e = m->env.eng;
	int want = on ? json_is_true(on) : 1;
	if (want != e->draining)
		cp_info("drain %s by operator (viewers=%llu)", want ? "on" : "off",
			(unsigned long long)e->viewers_now);
	e->draining = want;
	*res = json_pack("{s:b,s:I,s:I}", "draining", want, "viewers", J(e->viewers_now),
			 "rejected_drain", J(e->rejected_drain));
	return 0;
}

/* ---- archive ---- */

struct arch_walk {
	json_t *out;
	size_t max;
};

static int arch_cb(void *arg, const struct cp_archive_entry *e)
{
	struct arch_walk *w = arg;
	if (json_array_size(w->out) >= w->max)
		return 1;
	json_array_append_new(w->out, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:b}",
				"app", e->app, "stream", e->stream, "path", e->path,
				"size", J(e->size), "duration_ms", J(e->duration_ms),
				"mtime", J(e->mtime), "partial", e->partial));
	return 0;
}

static const char *archive_root(struct cp_mgmt *m, char *buf, size_t cap)
{
	if (m->archive)
		return cp_archive_dir(m->archive);
	snprintf(buf, cap, "%s", "");
	return buf;
}

int cp_mgmt_cmd_archive_list(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	char buf[8];
	const char *dir = archive_root(m, buf, sizeof(buf));
	const char *app = json_string_value(json_object_get(req, "app"));
	const char *stream = json_string_value(json_object_get(req, "stream"));
	if (!dir[0]) {
		snprintf(err, n, "archive is not enabled");
		return -ENOTSUP;
	}
	if (stream && !app) {
		snprintf(err, n, "\"stream\" needs \"app\"");
		return -EINVAL;
	}
	struct arch_walk w = { json_array(), 10000 };
	int rc = cp_archive_list(dir, app, stream, arch_cb, &w);
	if (rc < 0 && rc != -ENOENT) {
		json_decref(w.out);
		snprintf(err, n, "cannot read %s: %s", dir, strerror(-rc));
		return rc;
	}
	*res = json_pack("{s:s,s:o}", "dir", dir, "files", w.out);
	return 0;
}

int cp_mgmt_cmd_archive_repair(struct cp_mgmt *m, json_t *req, json_t **res, char *err,
			       size_t n)
{
	char buf[8], real_dir[4096], real_file[4096];
	const char *dir = archive_root(m, buf, sizeof(buf));
	const char *file = json_string_value(json_object_get(req, "file"));
	if (!file) {
		snprintf(err, n, "\"file\" must be a path");
		return -EINVAL;
	}
	/* Only recordings of this archive: the daemon may run with rights the
	 * operator's shell does not have. */
	if (!dir[0] || !realpath(dir, real_dir) || !realpath(file, real_file) ||
	    strncmp(real_file, real_dir, strlen(real_dir)) != 0 ||
	    real_file[strlen(real_dir)] != '/') {
		snprintf(err, n, "%s: not a file under the archive directory", file);
		return -ENOENT;
	}
	int rc = cp_archive_repair_file(real_file, err, n);
	if (rc != 0)
		return rc <= -FLV_E_SIGNATURE ? -EINVAL : rc; /* not an FLV file */
	cp_info("archive: %s repaired by operator", real_file);
	*res = json_pack("{s:s,s:b}", "file", real_file, "repaired", 1);
	return 0;
}
