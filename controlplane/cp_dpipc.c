#include "controlplane/cp_dpipc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_dpipc_link.h"
#include "controlplane/cp_log.h"
#include "controlplane/cp_rand.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_err.h"
#include "rtmp/rtmp_handshake.h"

#define TICK_MS 250
#define CLOSE_LINGER_MS 5000   /* forget a closing session the dataplane never confirmed */
#define NBUCKETS 4096          /* session hash (chained) */
#define RESYNC_MAX (1u << 20)  /* entries buffered between HELLO_ACK and RESYNC_DONE */

enum rs_state { RS_HANDSHAKE, RS_RTMP, RS_CLOSING };

/* One dataplane session as seen from here. */
struct rsess {
	struct cp_dpipc *d;
	struct rsess *next;        /* hash chain */
	uint64_t id;               /* the dataplane's session id */
	enum rs_state state;
	int gone;                  /* the dataplane no longer has it: send nothing */
	uint16_t worker;
	char peer[48];
	uint64_t t_start, t_hs_done, t_close;
	uint64_t hs_in;            /* handshake bytes consumed */
	struct rtmp_hs *hs;
	struct cp_session *sess;
	struct cp_viewer viewer;   /* registry events only: media flows in the dataplane */
	struct dp_ipc_session_info info; /* latest SESSION_INFO entry (info.id 0: none) */
	uint64_t info_ms;
};

struct resync_sess {
	uint64_t id;
	struct dp_ipc_resync_session r;
};

struct resync_stream {
	uint64_t id;
	struct dp_ipc_resync_stream r;
};

struct cp_dpipc {
	uv_loop_t *loop;
	struct cp_engine *eng;
	struct cp_dpipc_hooks hooks;
	struct cp_dplink link;
	uv_timer_t tick;
	int handles;
	int closing;
	struct rsess *buckets[NBUCKETS];
	/* resync in progress: entries buffered until RESYNC_DONE */
	int resyncing;
	struct resync_sess *rs_v;
	size_t rs_n, rs_cap;
	struct resync_stream *rt_v;
	size_t rt_n, rt_cap;
	/* pending stats request */
	void (*stats_cb)(void *arg, const char *json, size_t len);
	void *stats_arg;
	uint64_t info_req_ms;      /* last SESSION_INFO_REQ sent */
	struct cp_dpipc_stats st;
};

static uint64_t now_ms(const struct cp_dpipc *d)
{
	return uv_now(d->loop);
}

/* ---- session table ---- */

static struct rsess **bucket(struct cp_dpipc *d, uint64_t id)
{
	uint64_t h = id * 0x9E3779B97F4A7C15ull;
	return &d->buckets[(h >> 40) % NBUCKETS];
}

static struct rsess *rs_find(struct cp_dpipc *d, uint64_t id)
{
	for (struct rsess *r = *bucket(d, id); r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void rs_unlink(struct rsess *rs)
{
	for (struct rsess **pp = bucket(rs->d, rs->id); *pp; pp = &(*pp)->next) {
		if (*pp == rs) {
			*pp = rs->next;
			rs->d->st.sessions_now--;
			return;
		}
	}
}

/* Forget rs entirely. Nothing is sent: either the dataplane said it is
 * gone, or the link is down, or we gave up waiting. */
static void rs_free(struct rsess *rs)
{
	rs->gone = 1;
	rs_unlink(rs);
	cp_session_free(rs->sess); /* leaves its role through the ops (sends suppressed) */
	rs->sess = NULL;
	cp_viewer_detach(&rs->viewer);
	free(rs->hs);
	free(rs);
}

static struct rsess *rs_new(struct cp_dpipc *d, uint64_t id)
{
	struct rsess *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->d = d;
	rs->id = id;
	rs->t_start = now_ms(d);
	rs->viewer.arg = rs;
	struct rsess **b = bucket(d, id);
	rs->next = *b;
	*b = rs;
	d->st.sessions_now++;
	return rs;
}

/* ---- output to the dataplane ---- */

static int rs_send(struct rsess *rs, uint16_t type, uint64_t stream, const void *fixed,
		   size_t flen, const void *var, size_t vlen)
{
	if (rs->gone)
		return 0;
	int rc = cp_dplink_send(&rs->d->link, type, rs->id, stream, fixed, flen, var, vlen);
	/* Link down: the session is forgotten with the link; not its error. */
	return rc == -ENOTCONN ? 0 : rc;
}

static int send_rtmp_msg(struct rsess *rs, uint8_t type, uint32_t ts, uint32_t msid,
			 uint32_t csid, const uint8_t *p, size_t len)
{
	struct dp_ipc_msg m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.timestamp = ts;
	m.msid = msid;
	m.csid = csid;
	return rs_send(rs, DP_IPC_SESSION_MSG, 0, &m, sizeof(m), p, len);
}

/* SESSION_CLOSE for a session we hold no state for. */
static void send_close_id(struct cp_dpipc *d, uint64_t id, const char *reason)
{
	struct dp_ipc_close c;
	memset(&c, 0, sizeof(c));
	dp_ipc_str_set(c.text, sizeof(c.text), reason);
	cp_dplink_send(&d->link, DP_IPC_SESSION_CLOSE, id, 0, &c, sizeof(c), NULL, 0);
}

static void rs_close(struct rsess *rs, const char *reason)
{
	if (rs->state == RS_CLOSING)
		return;
	rs->state = RS_CLOSING;
	rs->t_close = now_ms(rs->d);
	cp_info("sess=%llu peer=%s closed: %s", (unsigned long long)rs->id, rs->peer, reason);
	/* Unpublish / detach first, so the dataplane sees them before the close. */
	if (rs->sess)
		cp_session_detach(rs->sess);
	cp_viewer_detach(&rs->viewer);
	struct dp_ipc_close c;
	memset(&c, 0, sizeof(c));
	dp_ipc_str_set(c.text, sizeof(c.text), reason);
	rs_send(rs, DP_IPC_SESSION_CLOSE, 0, &c, sizeof(c), NULL, 0);
	rs->d->st.closed_by_cp++;
}

/* ---- transport ops for cp_session ---- */

static int t_send(void *t, const struct rtmp_msg *m)
{
	struct rsess *rs = t;
	if (rs->state == RS_CLOSING)
		return 0;
	return send_rtmp_msg(rs, m->type, m->timestamp, m->msid, m->csid, m->data, m->length);
}

static int t_control(void *t, enum cp_ctl_kind kind, uint32_t v)
{
	struct rsess *rs = t;
	uint8_t b[RTMP_CTL_BODY_MAX];
	int n = -EINVAL;
	uint8_t type = RTMP_MSG_USER_CONTROL;
	if (rs->state == RS_CLOSING)
		return 0;
	switch (kind) {
	case CP_CTL_WINDOW_ACK:
		type = RTMP_MSG_WINDOW_ACK_SIZE;
		n = rtmp_ctl_window_ack_size(b, sizeof(b), v);
		break;
	case CP_CTL_PEER_BW:
		type = RTMP_MSG_SET_PEER_BW;
		n = rtmp_ctl_set_peer_bw(b, sizeof(b), v, RTMP_BW_DYNAMIC);
		break;
	case CP_CTL_CHUNK_SIZE:
		/* The dataplane switches its writer when it sends this, and its
		 * stream logs are chunked at its own size: announce that one. */
		type = RTMP_MSG_SET_CHUNK_SIZE;
		if (rs->d->st.dp_chunk_size)
			v = (uint32_t)rs->d->st.dp_chunk_size;
		n = rtmp_ctl_set_chunk_size(b, sizeof(b), v);
		break;
	case CP_CTL_STREAM_BEGIN:
		n = rtmp_ctl_user(b, sizeof(b), RTMP_UC_STREAM_BEGIN, v);
		break;
	case CP_CTL_STREAM_EOF:
		n = rtmp_ctl_user(b, sizeof(b), RTMP_UC_STREAM_EOF, v);
		break;
	}
	if (n < 0)
		return n;
	return send_rtmp_msg(rs, type, 0, 0, RTMP_CSID_CONTROL, b, (size_t)n);
}

static void viewer_event(struct cp_viewer *v, enum cp_viewer_event ev, const char *reason)
{
	struct rsess *rs = v->arg;
	if (rs->state != RS_RTMP || !rs->sess)
		return;
	/* WAKE/KICK concern media, which flows in the dataplane. */
	if (ev == CP_VIEWER_LIVE || ev == CP_VIEWER_UNPUBLISHED)
		cp_session_viewer_event(rs->sess, ev);
}

static const struct cp_viewer_ops viewer_ops = { viewer_event };

static int t_play(void *t, struct cp_stream *s, uint32_t msid)
{
	struct rsess *rs = t;
	if (rs->state == RS_CLOSING)
		return 0;
	rs->viewer.ops = &viewer_ops;
	rs->viewer.arg = rs;
	cp_viewer_attach(s, &rs->viewer);
	struct dp_ipc_attach a;
	memset(&a, 0, sizeof(a));
	a.msid = msid;
	return rs_send(rs, DP_IPC_SESSION_ATTACH, s->id, &a, sizeof(a), NULL, 0);
}

static void t_stop(void *t)
{
	struct rsess *rs = t;
	int attached = rs->viewer.stream != NULL;
	cp_viewer_detach(&rs->viewer);
	if (attached)
		rs_send(rs, DP_IPC_SESSION_DETACH, 0, NULL, 0, NULL, 0);
}

static void t_close(void *t, const char *reason)
{
	rs_close(t, reason);
}

static const struct cp_transport_ops transport_ops = {
	t_send, t_control, t_play, t_stop, t_close,
};

static int t_publish(void *t, struct cp_stream *s, uint32_t msid)
{
	struct rsess *rs = t;
	struct dp_ipc_publish p;
	memset(&p, 0, sizeof(p));
	dp_ipc_str_set(p.app, sizeof(p.app), s->app);
	dp_ipc_str_set(p.name, sizeof(p.name), s->name);
	p.msid = msid;
	return rs_send(rs, DP_IPC_SESSION_PUBLISH, s->id, &p, sizeof(p), NULL, 0);
}

static void t_unpublish(void *t)
{
	rs_send(t, DP_IPC_SESSION_UNPUBLISH, 0, NULL, 0, NULL, 0);
}

static const struct cp_ingest_ops ingest_ops = { t_publish, t_unpublish };

static int attach_session(struct rsess *rs)
{
	rs->sess = cp_session_new(rs->d->eng, &transport_ops, rs);
	if (!rs->sess)
		return -ENOMEM;
	/* One id in every log line of both processes. */
	rs->sess->id = rs->id;
	cp_session_set_ingest_ops(rs->sess, &ingest_ops);
	rs->state = RS_RTMP;
	rs->t_hs_done = now_ms(rs->d);
	return 0;
}

/* ---- handshake ---- */

static int handover(struct rsess *rs, const uint8_t *rest, size_t restlen)
{
	struct dp_ipc_handover h;
	memset(&h, 0, sizeof(h));
	h.in_chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
	h.out_chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
	h.bytes_in = rs->hs_in;
	h.bytes_out = 1 + 2 * RTMP_HS_SIZE;
	cp_debug("sess=%llu handshake done (%s), handover with %zu bytes",
		 (unsigned long long)rs->id, rs->hs->peer_digest ? "digest" : "plain", restlen);
	free(rs->hs);
	rs->hs = NULL;
	rs->d->st.handshakes++;
	int rc = attach_session(rs);
	if (rc == 0)
		rc = rs_send(rs, DP_IPC_SESSION_HANDOVER, 0, &h, sizeof(h), rest, restlen);
	return rc;
}

static void on_session_data(struct rsess *rs, const uint8_t *p, size_t len)
{
	if (rs->state != RS_HANDSHAKE) {
		/* The dataplane must hold bytes past C2 until the HANDOVER. */
		cp_warn("sess=%llu %zu handshake bytes after the handover: closing",
			(unsigned long long)rs->id, len);
		rs->d->st.bad_msgs++;
		rs_close(rs, "bytes after handover");
		return;
	}
	uint8_t out[RTMP_HS_OUT_MAX];
	size_t olen = 0;
	int n = rtmp_hs_feed(rs->hs, p, len, out, sizeof(out), &olen);
	if (n < 0) {
		cp_warn("sess=%llu peer=%s handshake failed: %s", (unsigned long long)rs->id,
			rs->peer, rtmp_strerror(n));
		rs->d->st.hs_failures++;
		rs_close(rs, "bad handshake");
		return;
	}
	rs->hs_in += (uint64_t)n;
	int rc = olen ? rs_send(rs, DP_IPC_SESSION_DATA, 0, out, olen, NULL, 0) : 0;
	if (rc == 0 && rtmp_hs_done(rs->hs))
		rc = handover(rs, p + n, len - (size_t)n);
	if (rc != 0)
		rs_close(rs, "handshake output failed");
}

static void format_peer(char *out, size_t cap, uint32_t ip_be, uint16_t port)
{
	char a[INET_ADDRSTRLEN] = "?";
	struct in_addr in = { ip_be };
	inet_ntop(AF_INET, &in, a, sizeof(a));
	snprintf(out, cap, "%s:%u", a, port);
}

static void on_session_open(struct cp_dpipc *d, uint64_t id, const struct dp_ipc_session_open *o)
{
	struct rsess *old = rs_find(d, id);
	if (old)
		rs_free(old); /* the dataplane reused the id: the old one is gone */
	struct rsess *rs = rs_new(d, id);
	struct rtmp_hs_config hcfg;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.rand = cp_rand_fill;
	hcfg.epoch = (uint32_t)now_ms(d);
	if (rs)
		rs->hs = malloc(sizeof(*rs->hs));
	if (!rs || !rs->hs || rtmp_hs_server_init(rs->hs, &hcfg) != 0) {
		cp_err("sess=%llu cannot set up the handshake: out of memory", (unsigned long long)id);
		if (rs)
			rs_close(rs, "out of memory");
		else
			send_close_id(d, id, "out of memory");
		return;
	}
	rs->worker = o->worker;
	format_peer(rs->peer, sizeof(rs->peer), o->peer_ip, o->peer_port);
	d->st.sessions_opened++;
	cp_debug("sess=%llu peer=%s worker=%u opened", (unsigned long long)id, rs->peer, o->worker);
}

static void on_session_msg(struct rsess *rs, const struct dp_ipc_msg *m, const uint8_t *p,
			   size_t len)
{
	if (rs->state != RS_RTMP || !rs->sess)
		return; /* closing: the dataplane had it in flight */
	struct rtmp_msg msg = {
		.timestamp = m->timestamp,
		.length = (uint32_t)len,
		.msid = m->msid,
		.csid = m->csid,
		.type = m->type,
		.data = p,
	};
	cp_session_on_message(rs->sess, &msg); /* errors already closed the session */
}

static void on_session_close(struct cp_dpipc *d, struct rsess *rs, const struct dp_ipc_close *c)
{
	if (rs->state != RS_CLOSING) {
		d->st.closed_by_dp++;
		cp_info("sess=%llu peer=%s gone: %s (in=%llu out=%llu skips=%llu)",
			(unsigned long long)rs->id, rs->peer, c->text[0] ? c->text : "closed",
			(unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
			(unsigned long long)c->skips);
	}
	rs_free(rs);
}

/* ---- resync ---- */

static void resync_clear(struct cp_dpipc *d)
{
	free(d->rs_v);
	free(d->rt_v);
	d->rs_v = NULL;
	d->rt_v = NULL;
	d->rs_n = d->rs_cap = d->rt_n = d->rt_cap = 0;
	d->resyncing = 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	if (n >= RESYNC_MAX)
		return -E2BIG;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static void resync_add_session(struct cp_dpipc *d, uint64_t id,
			       const struct dp_ipc_resync_session *r)
{
	if (grow((void **)&d->rs_v, &d->rs_cap, d->rs_n, sizeof(*d->rs_v)) != 0) {
		d->st.resync_failures++;
		return;
	}
	d->rs_v[d->rs_n].id = id;
	d->rs_v[d->rs_n++].r = *r;
}

static void resync_add_stream(struct cp_dpipc *d, uint64_t id, const struct dp_ipc_resync_stream *r)
{
	if (grow((void **)&d->rt_v, &d->rt_cap, d->rt_n, sizeof(*d->rt_v)) != 0) {
		d->st.resync_failures++;
		return;
	}
	d->rt_v[d->rt_n].id = id;
	d->rt_v[d->rt_n++].r = *r;
}

/* Rebuild one session of the dataplane. Publishers go first (pass 0), so
 * viewers restored after them find their stream live without a
 * PublishNotify. */
static void resync_one(struct cp_dpipc *d, const struct resync_sess *e, int pass)
{
	const struct dp_ipc_resync_session *r = &e->r;
	int is_pub = r->role == DP_IPC_ROLE_PUBLISHER;
	if ((pass == 0) != is_pub)
		return;
	struct rsess *rs = rs_find(d, e->id);
	if (rs)
		rs_free(rs);
	rs = rs_new(d, e->id);
	if (!rs || attach_session(rs) != 0)
		goto fail;
	rs->worker = r->worker;
	format_peer(rs->peer, sizeof(rs->peer), r->peer_ip, r->peer_port);
	if (r->app[0] == '\0')
		return; /* not connected yet: the command timeout applies */
	struct cp_stream *st = r->stream ? cp_registry_find_id(&d->eng->reg, r->stream) : NULL;
	struct cp_session_restore sr = { r->app, CP_ROLE_NONE, NULL, r->msid };
	if (st && (is_pub || (r->role == DP_IPC_ROLE_VIEWER && r->attached))) {
		sr.role = is_pub ? CP_ROLE_PUBLISHER : CP_ROLE_VIEWER;
		sr.stream = st;
	}
	if (cp_session_restore(rs->sess, &sr) != 0)
		goto fail;
	if (sr.role == CP_ROLE_VIEWER) {
		rs->viewer.ops = &viewer_ops;
		cp_viewer_attach(st, &rs->viewer);
	}
	d->st.resync_sessions++;
	cp_info("sess=%llu peer=%s resynced (%s%s%s%s)", (unsigned long long)rs->id, rs->peer,
		is_pub ? "publisher of " : sr.role == CP_ROLE_VIEWER ? "viewer of " : "app ",
		sr.stream ? sr.stream->app : r->app, sr.stream ? "/" : "",
		sr.stream ? sr.stream->name : "");
	return;
fail:
	d->st.resync_failures++;
	cp_warn("sess=%llu cannot be resynced: closing it", (unsigned long long)e->id);
	if (rs)
		rs_close(rs, "resync failed");
	else
		send_close_id(d, e->id, "resync failed");
}

static void resync_apply(struct cp_dpipc *d)
{
	struct cp_registry *reg = &d->eng->reg;
	for (size_t i = 0; i < d->rt_n; i++) {
		const struct resync_stream *e = &d->rt_v[i];
		if (!cp_registry_adopt(reg, e->r.app, e->r.name, e->id)) {
			d->st.resync_failures++;
			cp_warn("stream=%s/%s id=%llu cannot be resynced: %s", e->r.app, e->r.name,
				(unsigned long long)e->id, strerror(errno));
			continue;
		}
		d->st.resync_streams++;
	}
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->rs_n; i++)
			resync_one(d, &d->rs_v[i], pass);
	/* Streams without their publisher (grace, or the publisher did not
	 * resync) count down their grace period from now. */
	for (size_t i = 0; i < d->rt_n; i++) {
		struct cp_stream *st = cp_registry_find_id(reg, d->rt_v[i].id);
		if (st && !st->publisher)
			cp_stream_restore_grace(st, now_ms(d));
	}
	cp_info("dataplane resync done: %zu sessions, %zu streams", d->rs_n, d->rt_n);
	d->st.resyncs++;
	resync_clear(d);
}

/* ---- dispatch ---- */

static void on_hello_ack(struct cp_dpipc *d, const struct dp_ipc_hello_ack *a)
{
	d->st.ready = 1;
	d->st.dp_boot_id = a->boot_id;
	d->st.dp_workers = a->workers;
	d->st.dp_chunk_size = a->chunk_size;
	if (a->chunk_size && a->chunk_size != d->eng->conf->chunk_size)
		cp_warn("dataplane chunk size %u differs from [rtmp] chunk_size %llu: clients "
			"are told the dataplane's", a->chunk_size,
			(unsigned long long)d->eng->conf->chunk_size);
	resync_clear(d);
	d->resyncing = 1;
	cp_info("dataplane ready: version %u, %u workers, chunk size %u, boot %016llx", a->version,
		a->workers, a->chunk_size, (unsigned long long)a->boot_id);
}

static void on_archive(struct cp_dpipc *d, uint64_t stream, const struct dp_ipc_archive *a,
		       const uint8_t *p, size_t len)
{
	struct cp_stream *st = cp_registry_find_id(&d->eng->reg, stream);
	d->st.archive_dropped += a->dropped;
	if (!st)
		return;
	if (a->dropped && d->hooks.archive_gap)
		d->hooks.archive_gap(d->hooks.arg, st, a->dropped);
	d->st.archive_msgs++;
	d->st.archive_bytes += len;
	const struct cp_engine_hooks *h = &d->eng->hooks;
	if (h->stream_message)
		h->stream_message(h->arg, st, a->type, a->timestamp, p, len);
}

static void on_stream_state(struct cp_dpipc *d, uint64_t stream,
			    const struct dp_ipc_stream_state *s)
{
	struct cp_stream *st = cp_registry_find_id(&d->eng->reg, stream);
	cp_debug("stream id=%llu dataplane state %u viewers=%u publisher=%llu",
		 (unsigned long long)stream, s->state, s->viewers, (unsigned long long)s->publisher);
	if (!st || s->state != DP_IPC_STREAM_GRACE || !st->publisher)
		return;
	/* The publisher left on the dataplane's side (its SESSION_CLOSE follows
	 * or preceded): make sure the grace period runs here. */
	struct rsess *rs = rs_find(d, s->publisher);
	if (rs && rs->sess && rs->sess->stream == st && rs->sess->role == CP_ROLE_PUBLISHER)
		cp_session_detach(rs->sess);
}

static void on_stats(struct cp_dpipc *d, const uint8_t *p, size_t len)
{
	void (*cb)(void *, const char *, size_t) = d->stats_cb;
	d->stats_cb = NULL;
	if (cb)
		cb(d->stats_arg, (const char *)p, len);
}

static void on_session_info(struct cp_dpipc *d, const uint8_t *p, long n)
{
	uint64_t now = now_ms(d);
	for (long i = 0; i < n; i++) {
		struct dp_ipc_session_info e;
		memcpy(&e, p + (size_t)i * sizeof(e), sizeof(e));
		struct rsess *rs = rs_find(d, e.id);
		if (!rs)
			continue;
		rs->info = e;
		rs->info_ms = now;
	}
}

/* Messages about one session. */
static int on_session_event(struct cp_dpipc *d, const struct dp_ipc_hdr *h, const uint8_t *p,
			    size_t len)
{
	struct rsess *rs = rs_find(d, h->session);
	if (!rs) {
		d->st.unknown_session++;
		return 0; /* closed here meanwhile */
	}
	if (h->type == DP_IPC_SESSION_DATA) {
		on_session_data(rs, p, len);
		return 0;
	}
	if (h->type == DP_IPC_SESSION_MSG) {
		struct dp_ipc_msg m;
		const uint8_t *rest;
		size_t rlen;
		if (dp_ipc_decode(h->type, p, len, &m, sizeof(m), &rest, &rlen) != 0)
			return -EBADMSG;
		on_session_msg(rs, &m, rest, rlen);
		return 0;
	}
	struct dp_ipc_close c;
	if (dp_ipc_decode(h->type, p, len, &c, sizeof(c), NULL, NULL) != 0)
		return -EBADMSG;
	on_session_close(d, rs, &c);
	return 0;
}

static int on_msg(void *ctx, const struct dp_ipc_hdr *h, const uint8_t *p, size_t len)
{
	struct cp_dpipc *d = ctx;
	union {
		struct dp_ipc_hello_ack ack;
		struct dp_ipc_session_open open;
		struct dp_ipc_resync_session rses;
		struct dp_ipc_resync_stream rstr;
		struct dp_ipc_resync_done done;
		struct dp_ipc_stream_state ss;
		struct dp_ipc_archive ar;
	} u;
	const uint8_t *rest = NULL;
	size_t rlen = 0;
	int rc = 0;
	switch (h->type) {
	case DP_IPC_HELLO_ACK:
		rc = dp_ipc_decode(h->type, p, len, &u.ack, sizeof(u.ack), NULL, NULL);
		if (rc == 0)
			on_hello_ack(d, &u.ack);
		break;
	case DP_IPC_RESYNC_SESSION:
		rc = dp_ipc_decode(h->type, p, len, &u.rses, sizeof(u.rses), NULL, NULL);
		if (rc == 0)
			resync_add_session(d, h->session, &u.rses);
		break;
	case DP_IPC_RESYNC_STREAM:
		rc = dp_ipc_decode(h->type, p, len, &u.rstr, sizeof(u.rstr), NULL, NULL);
		if (rc == 0)
			resync_add_stream(d, h->stream, &u.rstr);
		break;
	case DP_IPC_RESYNC_DONE:
		rc = dp_ipc_decode(h->type, p, len, &u.done, sizeof(u.done), NULL, NULL);
		if (rc == 0)
			resync_apply(d);
		break;
	case DP_IPC_SESSION_OPEN:
		rc = dp_ipc_decode(h->type, p, len, &u.open, sizeof(u.open), NULL, NULL);
		if (rc == 0)
			on_session_open(d, h->session, &u.open);
		break;
	case DP_IPC_SESSION_DATA:
	case DP_IPC_SESSION_MSG:
	case DP_IPC_SESSION_CLOSE:
		rc = on_session_event(d, h, p, len);
		break;
	case DP_IPC_STREAM_STATE:
		rc = dp_ipc_decode(h->type, p, len, &u.ss, sizeof(u.ss), NULL, NULL);
		if (rc == 0)
			on_stream_state(d, h->stream, &u.ss);
		break;
	case DP_IPC_ARCHIVE_MSG:
		rc = dp_ipc_decode(h->type, p, len, &u.ar, sizeof(u.ar), &rest, &rlen);
		if (rc == 0)
			on_archive(d, h->stream, &u.ar, rest, rlen);
		break;
	case DP_IPC_STATS:
		on_stats(d, p, len);
		break;
	case DP_IPC_SESSION_INFO: {
		long n = dp_ipc_session_info_decode(p, len, &rest);
		if (n < 0)
			rc = (int)n;
		else
			on_session_info(d, rest, n);
		break;
	}
	default:
		rc = -EBADMSG; /* a cp->dp type coming back */
		break;
	}
	if (rc != 0) {
		d->st.bad_msgs++;
		cp_warn("dataplane ipc: bad %s message (%zu bytes): %s", dp_ipc_type_name(h->type),
			len, strerror(-rc));
	}
	return 0; /* a bad message is skipped; the link stays */
}

/* ---- link events ---- */

static void forget_all(struct cp_dpipc *d)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		while (d->buckets[b])
			rs_free(d->buckets[b]);
}

static void on_up(void *ctx)
{
	struct cp_dpipc *d = ctx;
	struct dp_ipc_hello h = { DP_IPC_VERSION, (uint32_t)getpid() };
	d->st.connected = 1;
	cp_dplink_send(&d->link, DP_IPC_HELLO, 0, 0, &h, sizeof(h), NULL, 0);
}

static void on_down(void *ctx, const char *why)
{
	struct cp_dpipc *d = ctx;
	d->st.connected = 0;
	d->st.ready = 0;
	resync_clear(d);
	/* The dataplane replays what still exists when the link is back. */
	forget_all(d);
	on_stats(d, NULL, 0);
}

/* ---- timers ---- */

static void check_session(struct rsess *rs, uint64_t now)
{
	const struct cp_rtmp_conf *cf = rs->d->eng->conf;
	if (rs->state == RS_CLOSING) {
		if (now - rs->t_close >= CLOSE_LINGER_MS)
			rs_free(rs);
	} else if (rs->state == RS_HANDSHAKE && now - rs->t_start >= cf->handshake_timeout_ms) {
		rs->d->st.hs_timeouts++;
		rs_close(rs, "handshake timeout");
	} else if (rs->state == RS_RTMP && !cp_session_active(rs->sess) &&
		   now - rs->t_hs_done >= cf->command_timeout_ms) {
		rs->d->st.cmd_timeouts++;
		rs_close(rs, "command timeout");
	}
}

static void on_tick(uv_timer_t *t)
{
	struct cp_dpipc *d = t->data;
	uint64_t now = now_ms(d);
	cp_engine_tick(d->eng, now);
	if (d->st.ready && !d->resyncing && now - d->info_req_ms >= CP_DPIPC_INFO_MS &&
	    cp_dplink_send(&d->link, DP_IPC_SESSION_INFO_REQ, 0, 0, NULL, 0, NULL, 0) == 0)
		d->info_req_ms = now;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct rsess *rs = d->buckets[b];
		while (rs) {
			struct rsess *next = rs->next;
			check_session(rs, now);
			rs = next;
		}
	}
}

/* ---- public ---- */

struct cp_dpipc *cp_dpipc_create(uv_loop_t *loop, struct cp_engine *eng, const char *path,
				 const struct cp_dpipc_hooks *hooks)
{
	struct cp_dpipc *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = loop;
	d->eng = eng;
	if (hooks)
		d->hooks = *hooks;
	/* Stream ids outlive this process in the dataplane: start above any
	 * id an earlier control plane can have handed out. */
	uint64_t seed = (uint64_t)time(NULL) << 24;
	if (eng->reg.next_id < seed)
		eng->reg.next_id = seed;
	struct cp_dplink_cbs cbs = { on_up, on_down, on_msg, d };
	int rc = cp_dplink_start(&d->link, loop, path, &cbs);
	if (rc != 0) {
		free(d);
		errno = -rc;
		return NULL;
	}
	uv_timer_init(loop, &d->tick);
	d->tick.data = d;
	uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
	d->handles = 2;
	cp_info("dataplane transport: connecting to %s", path);
	return d;
}

void cp_dpipc_stream_state(struct cp_dpipc *d, struct cp_stream *s, int live)
{
	if (!d || live)
		return;
	struct dp_ipc_stream_state ss;
	memset(&ss, 0, sizeof(ss));
	ss.state = DP_IPC_STREAM_ENDED;
	ss.viewers = (uint32_t)s->nviewers;
	if (cp_dplink_send(&d->link, DP_IPC_STREAM_STATE, 0, s->id, &ss, sizeof(ss), NULL, 0) == 0)
		d->st.stream_ends_sent++;
}

int cp_dpipc_request_stats(struct cp_dpipc *d,
			   void (*cb)(void *arg, const char *json, size_t len), void *arg)
{
	if (d->stats_cb)
		return -EBUSY;
	int rc = cp_dplink_send(&d->link, DP_IPC_STATS_REQ, 0, 0, NULL, 0, NULL, 0);
	if (rc != 0)
		return rc;
	d->stats_cb = cb;
	d->stats_arg = arg;
	return 0;
}

static const char *rs_state_name(const struct rsess *rs)
{
	if (rs->state == RS_CLOSING || rs->info.state == DP_IPC_SST_CLOSING)
		return "closing";
	if (rs->state == RS_HANDSHAKE)
		return "handshake";
	return cp_session_state_name(rs->sess);
}

int cp_dpipc_foreach_session(struct cp_dpipc *d,
			     int (*fn)(void *arg, const struct cp_dpipc_sess_info *si), void *arg)
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct rsess *rs = d->buckets[b]; rs; rs = rs->next) {
			const struct cp_session *s = rs->sess;
			int have = rs->info.id == rs->id;
			struct cp_dpipc_sess_info si = {
				.id = rs->id, .peer = rs->peer,
				.role = !s ? "none" : s->role == CP_ROLE_PUBLISHER ? "publisher" :
					s->role == CP_ROLE_VIEWER ? "viewer" : "none",
				.state = rs_state_name(rs), .stream = s ? s->stream : NULL,
				.worker = rs->worker, .have_info = have,
				.bytes_in = have ? rs->info.bytes_in : 0,
				.bytes_out = have ? rs->info.bytes_out : 0,
				.skips = have ? rs->info.skips : 0,
				.rtt_us = have ? rs->info.srtt_us : 0,
				.cwnd = have ? rs->info.cwnd : 0,
				.started_ms = rs->t_start, .info_ms = rs->info_ms,
			};
			int rc = fn(arg, &si);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int cp_dpipc_kick(struct cp_dpipc *d, uint64_t id, const char *reason)
{
	struct rsess *rs = rs_find(d, id);
	if (!rs || rs->state == RS_CLOSING)
		return -ENOENT;
	rs_close(rs, reason);
	return 0;
}

int cp_dpipc_inject(struct cp_dpipc *d, const uint8_t *dgram, size_t len)
{
	return cp_dplink_inject(&d->link, dgram, len);
}

void cp_dpipc_get_stats(const struct cp_dpipc *d, struct cp_dpipc_stats *out)
{
	*out = d->st;
}

void cp_dpipc_log_stats(const struct cp_dpipc *d)
{
	const struct cp_dpipc_stats *s = &d->st;
	const struct cp_dplink_stats *l = &d->link.st;
	cp_info("stats dataplane connected=%d ready=%d sessions=%llu opened=%llu handshakes=%llu "
		"hs_failures=%llu hs_timeouts=%llu cmd_timeouts=%llu closed_by_dp=%llu "
		"closed_by_cp=%llu resyncs=%llu resync_sessions=%llu resync_streams=%llu "
		"resync_failures=%llu archive_msgs=%llu archive_dropped=%llu stream_ends=%llu "
		"bad_msgs=%llu connects=%llu disconnects=%llu msgs_in=%llu msgs_out=%llu "
		"queue_peak=%llu",
		s->connected, s->ready, (unsigned long long)s->sessions_now,
		(unsigned long long)s->sessions_opened, (unsigned long long)s->handshakes,
		(unsigned long long)s->hs_failures, (unsigned long long)s->hs_timeouts,
		(unsigned long long)s->cmd_timeouts, (unsigned long long)s->closed_by_dp,
		(unsigned long long)s->closed_by_cp, (unsigned long long)s->resyncs,
		(unsigned long long)s->resync_sessions, (unsigned long long)s->resync_streams,
		(unsigned long long)s->resync_failures, (unsigned long long)s->archive_msgs,
		(unsigned long long)s->archive_dropped, (unsigned long long)s->stream_ends_sent,
		(unsigned long long)s->bad_msgs, (unsigned long long)l->connects,
		(unsigned long long)l->disconnects, (unsigned long long)l->msgs_in,
		(unsigned long long)l->msgs_out, (unsigned long long)l->queue_peak);
}

static void maybe_free(struct cp_dpipc *d)
{
	if (--d->handles == 0)
		free(d);
}

static void on_link_closed(struct cp_dplink *l)
{
	maybe_free((struct cp_dpipc *)((char *)l - offsetof(struct cp_dpipc, link)));
}

static void on_tick_closed(uv_handle_t *h)
{
	maybe_free(h->data);
}

void cp_dpipc_destroy(struct cp_dpipc *d)
{
	if (!d || d->closing)
		return;
	d->closing = 1;
	on_down(d, "shutdown");
	cp_dplink_close(&d->link, on_link_closed);
	uv_close((uv_handle_t *)&d->tick, on_tick_closed);
}
