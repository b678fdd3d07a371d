/* Prometheus text exposition of the control plane's counters. */
#include "controlplane/cp_metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_http.h"
#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt_int.h"

struct tbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void tprintf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct tbuf *b, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !b->oom; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

size_t cp_metrics_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (; *in; in++) {
		const char *rep = *in == '\\' ? "\\\\" : *in == '"' ? "\\\"" : *in == '\n' ? "\\n" :
				  NULL;
		size_t n = rep ? 2 : 1;
		if (o + n >= cap)
			break;
		if (rep)
			memcpy(out + o, rep, 2);
		else
			out[o] = *in;
		o += n;
	}
	out[o] = '\0';
	return o;
}

static void family(struct tbuf *b, const char *name, const char *type, const char *help)
{
	tprintf(b, "# HELP lifecast_%s %s\n# TYPE lifecast_%s %s\n", name, help, name, type);
}

static void one(struct tbuf *b, const char *name, const char *type, const char *help,
		uint64_t v)
{
	family(b, name, type, help);
	tprintf(b, "lifecast_%s %llu\n", name, (unsigned long long)v);
}

static void engine(struct tbuf *b, struct cp_mgmt *m)
{
	const struct cp_engine *e = m->env.eng;
	const struct cp_counters *c = &e->reg.c;
	size_t live = 0;
	for (const struct cp_stream *s = e->reg.streams; s; s = s->next_in_reg)
		live += s->live ? 1 : 0;
	one(b, "up", "gauge", "1 while the control plane runs", 1);
	one(b, "uptime_seconds", "gauge", "seconds since lifecast-cp started",
	    (cp_mgmt_now(m) - m->started_ms) / 1000);
	one(b, "draining", "gauge", "1 while new viewers are refused (lifecastctl drain)",
	    (uint64_t)e->draining);
	one(b, "streams", "gauge", "streams known to the registry", e->reg.nstreams);
	one(b, "streams_live", "gauge", "streams live (published or in their grace period)", live);
	one(b, "publishers", "gauge", "sessions publishing", e->publishers_now);
	one(b, "viewers", "gauge", "sessions playing", e->viewers_now);
	one(b, "sessions", "gauge", "RTMP sessions past the handshake", e->sessions_now);
	one(b, "sessions_total", "counter", "RTMP sessions since start", e->sessions_total);
	one(b, "bytes_in_total", "counter", "media bytes received from publishers", c->bytes_in);
	one(b, "bytes_out_total", "counter", "media bytes sent to viewers", c->bytes_out);
	one(b, "messages_in_total", "counter", "media messages received", c->msgs_in);
	one(b, "messages_out_total", "counter", "media messages sent", c->msgs_out);
	one(b, "viewer_skips_total", "counter", "slow viewers skipped to a keyframe", c->skips);
	one(b, "viewer_slow_kicks_total", "counter", "slow viewers disconnected", c->slow_kicks);
	family(b, "refused_total", "counter", "publish/play refused, by reason");
	tprintf(b, "lifecast_refused_total{reason=\"stream_key\"} %llu\n"
		"lifecast_refused_total{reason=\"stream_busy\"} %llu\n"
		"lifecast_refused_total{reason=\"draining\"} %llu\n",
		(unsigned long long)e->rejected_keys, (unsigned long long)e->rejected_busy,
		(unsigned long long)e->rejected_drain);
	one(b, "bad_commands_total", "counter", "malformed RTMP commands", e->bad_commands);
}

/* One per-stream family: value(s) for each stream. */
static void per_stream(struct tbuf *b, struct cp_mgmt *m, const char *name, const char *type,
		       const char *help, uint64_t (*val)(struct cp_mgmt *, const struct cp_stream *))
{
	family(b, name, type, help);
	for (const struct cp_stream *s = m->env.eng->reg.streams; s; s = s->next_in_reg) {
		char app[2 * CP_APP_NAME_MAX], st[2 * CP_STREAM_NAME_MAX];
		cp_metrics_escape(s->app, app, sizeof(app));
		cp_metrics_escape(s->name, st, sizeof(st));
		tprintf(b, "lifecast_%s{app=\"%s\",stream=\"%s\"} %llu\n", name, app, st,
			(unsigned long long)val(m, s));
	}
}

static uint64_t s_viewers(struct cp_mgmt *m, const struct cp_stream *s) { return s->nviewers; }
static uint64_t s_live(struct cp_mgmt *m, const struct cp_stream *s) { return (uint64_t)s->live; }
static uint64_t s_in(struct cp_mgmt *m, const struct cp_stream *s) { return s->c.bytes_in; }
static uint64_t s_out(struct cp_mgmt *m, const struct cp_stream *s) { return s->c.bytes_out; }
static uint64_t s_skips(struct cp_mgmt *m, const struct cp_stream *s) { return s->c.skips; }
static uint64_t s_kicks(struct cp_mgmt *m, const struct cp_stream *s) { return s->c.slow_kicks; }
static uint64_t s_bps(struct cp_mgmt *m, const struct cp_stream *s)
{
	return cp_mgmt_stream_bps(m, s->id);
}

static void streams(struct tbuf *b, struct cp_mgmt *m)
{
	per_stream(b, m, "stream_live", "gauge", "1 while the stream is live", s_live);
	per_stream(b, m, "stream_viewers", "gauge", "viewers of the stream", s_viewers);
	per_stream(b, m, "stream_bitrate_bps", "gauge",
		   "publisher bitrate averaged over [control] bitrate_window", s_bps);
	per_stream(b, m, "stream_bytes_in_total", "counter", "media bytes received", s_in);
	per_stream(b, m, "stream_bytes_out_total", "counter", "media bytes sent", s_out);
	per_stream(b, m, "stream_viewer_skips_total", "counter", "viewer skips", s_skips);
	per_stream(b, m, "stream_viewer_slow_kicks_total", "counter", "slow viewers kicked", s_kicks);
}

static void server(struct tbuf *b, struct cp_mgmt *m)
{
	const struct cp_server *srv = m->env.srv;
	if (!srv)
		return;
	one(b, "connections", "gauge", "open RTMP connections (kernel sockets)", srv->nconns);
	one(b, "connections_accepted_total", "counter", "RTMP connections accepted",
	    srv->st.accepted);
	one(b, "connections_refused_total", "counter", "connections over max_connections",
	    srv->st.refused_max);
	family(b, "connections_closed_total", "counter", "RTMP connections closed, by cause");
	const struct { const char *k; uint64_t v; } c[] = {
		{ "handshake_timeout", srv->st.hs_timeouts }, { "command_timeout", srv->st.cmd_timeouts },
		{ "idle_timeout", srv->st.idle_timeouts }, { "protocol_error", srv->st.proto_errors },
		{ "memory_cap", srv->st.mem_caps }, { "any", srv->st.closed },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		tprintf(b, "lifecast_connections_closed_total{cause=\"%s\"} %llu\n", c[i].k,
			(unsigned long long)c[i].v);
}

static void mgmt(struct tbuf *b, struct cp_mgmt *m)
{
	one(b, "mgmt_requests_total", "counter", "management requests", m->st.requests);
	one(b, "mgmt_errors_total", "counter", "management requests that failed", m->st.errors);
	one(b, "operator_kicks_total", "counter", "sessions kicked by the operator", m->st.kicks);
	one(b, "operator_stream_stops_total", "counter", "streams stopped by the operator",
	    m->st.stream_stops);
	one(b, "keys_changes_total", "counter", "stream keys added or revoked live",
	    m->st.keys_changes);
	one(b, "key_revoked_publishers_total", "counter",
	    "publishers disconnected because their stream key was revoked or replaced",
	    m->st.key_cuts);
	one(b, "reloads_total", "counter", "configuration reloads", m->st.reloads);
	one(b, "stream_keys", "gauge", "stream keys configured", m->env.keys->n);
}

static void archive(struct tbuf *b, struct cp_mgmt *m)
{
	if (!m->archive)
		return;
	struct cp_archive_stats a;
	cp_archive_stats(m->archive, &a);
	one(b, "archive_recordings_active", "gauge", "recordings open", a.active);
	one(b, "archive_recordings_total", "counter", "streams recorded", a.recordings);
	one(b, "archive_segments_opened_total", "counter", "segments opened", a.segments_opened);
	one(b, "archive_segments_closed_total", "counter", "segments closed", a.segments_closed);
	one(b, "archive_bytes_written_total", "counter", "bytes written", a.bytes_written);
	one(b, "archive_tags_written_total", "counter", "FLV tags written", a.tags_written);
	one(b, "archive_write_errors_total", "counter", "recordings stopped by a failed write",
	    a.write_errors);
	one(b, "archive_low_space_stops_total", "counter", "recordings stopped for free space",
	    a.low_space_stops);
	one(b, "archive_messages_dropped_total", "counter", "messages not recorded",
	    a.msgs_dropped);
	one(b, "archive_retention_files_total", "counter", "recordings deleted by retention",
	    a.retention_files);
	one(b, "archive_free_bytes", "gauge", "free space of the archive filesystem", a.free_bytes);
}

/* Dataplane: every integer counter of each worker, as {worker} series. */
static void dataplane(struct tbuf *b, struct cp_mgmt *m)
{
	one(b, "dataplane_connected", "gauge", "1 when the dataplane's stats socket answers",
	    (uint64_t)m->dp.connected);
	json_t *workers = m->dp.connected ? json_object_get(m->dp.cur, "per_worker") : NULL;
	json_t *first = json_array_get(workers, 0);
	const char *k;
	json_t *v;
	json_object_foreach(first, k, v) {
		if (!json_is_integer(v) || !strcmp(k, "id") || !strcmp(k, "lcore") ||
		    !strcmp(k, "socket") || !strcmp(k, "rxq"))
			continue;
		char fam[96];
		snprintf(fam, sizeof(fam), "dp_%s", k);
		/* Gauges (pool, ring, conns) and counters share one shape in the
		 * dataplane's JSON; untyped says no more than it knows. */
		family(b, fam, "untyped", "dataplane worker counter (see dp_stats)");
		size_t i;
		json_t *w;
		json_array_foreach(workers, i, w) {
			json_t *x = json_object_get(w, k);
			tprintf(b, "lifecast_dp_%s{worker=\"%llu\"} %lld\n", k,
				(unsigned long long)json_integer_value(json_object_get(w, "id")),
				json_is_integer(x) ? (long long)json_integer_value(x) : 0LL);
		}
	}
}

int cp_metrics_render(struct cp_mgmt *m, char **out, size_t *len)
{
	struct tbuf b = { malloc(16384), 0, 16384, 0 };
	b.oom = b.p == NULL;
	engine(&b, m);
	streams(&b, m);
	server(&b, m);
	mgmt(&b, m);
	archive(&b, m);
	dataplane(&b, m);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

static void on_metrics(void *arg, struct cp_http_conn *conn, const struct cp_http_request *req)
{
	char *text;
	size_t len;
	if (cp_metrics_render(arg, &text, &len) != 0) {
		cp_http_respond(conn, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	cp_http_respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

struct http_conf {
	int enabled;
	char listen[CP_CONF_STR_MAX];
	uint64_t timeout_ms; /* 0: cp_http's default */
};

static int read_http(void *arg, const char *key, const char *value, int line)
{
	struct http_conf *h = arg;
	if (strcmp(key, "listen") == 0)
		snprintf(h->listen, sizeof(h->listen), "%s", value);
	else if (strcmp(key, "enabled") == 0 && cp_conf_parse_bool(value, &h->enabled) != 0)
		return -EINVAL;
	else if (strcmp(key, "request_timeout") == 0 &&
		 cp_conf_parse_duration_ms(value, &h->timeout_ms) != 0)
		return -EINVAL;
	return 0;
}

int cp_mgmt_metrics_start(struct cp_mgmt *m, struct cp_http *http)
{
	if (!http) {
		/* [http] belongs to the chat's key table; read it as plain pairs
		 * so this module does not depend on that table. */
		struct http_conf h = { 1, "", 0 };
		struct cp_conf_addr a;
		char err[256];
		if (m->env.conf_path &&
		    cp_conf_pairs(m->env.conf_path, "http", read_http, &h, err, sizeof(err)) != 0)
			return -EINVAL;
		/* Only an explicit [http] listen: the default port is the
		 * chat's, and a second process must not grab it. */
		if (!h.enabled || !h.listen[0])
			return 0;
		if (cp_conf_parse_addr(h.listen, &a) != 0)
			return -EINVAL;
		m->own_http = cp_http_start(m->env.loop, a.host, a.port);
		if (!m->own_http) {
			cp_err("metrics: http listen on %s: %s", h.listen, strerror(errno));
			return -errno;
		}
		cp_http_set_timeout(m->own_http, h.timeout_ms);
		http = m->own_http;
	}
	int rc = cp_http_route(http, "/metrics", on_metrics, m);
	if (rc == 0)
		cp_info("metrics: serving /metrics");
	return rc;
}

void cp_metrics_stop(struct cp_mgmt *m)
{
	cp_http_stop(m->own_http);
	m->own_http = NULL;
}
