#include "controlplane/cp_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_rand.h"
#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_err.h"
#include "rtmp/rtmp_handshake.h"

#define READ_BUF 65536
#define TICK_MS 250
#define STATS_EVERY_MS 10000
#define CLOSE_FLUSH_MS 2000   /* graceful close: time allowed to flush */
#define MEDIA_BATCH_MSGS 32
#define MEDIA_BATCH_BYTES (256 * 1024)

enum conn_state { CS_HANDSHAKE, CS_RTMP, CS_CLOSING };

/* One media write: up to MEDIA_BATCH_MSGS messages, each an own header (or a
 * private copy on the extended-timestamp path) plus the shared body. */
struct media_req {
	uv_write_t req;
	struct cp_conn *conn;
	unsigned n;
	size_t bytes;
	struct cp_msg *msgs[MEDIA_BATCH_MSGS];
	uint8_t *priv[MEDIA_BATCH_MSGS];
	uint8_t hdr[MEDIA_BATCH_MSGS][12];
	uv_buf_t bufs[2 * MEDIA_BATCH_MSGS];
};

/* One control write: bytes produced by the chunk writer, copied. */
struct ctl_req {
	uv_write_t req;
	size_t len;
	uint8_t data[];
};

struct cp_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shutdown;
	struct cp_server *srv;
	struct cp_conn *prev, *next;
	uint64_t id;
	enum conn_state state;
	int handles;               /* open libuv handles */
	const char *reason;
	char peer[64];
	uint64_t t_start, t_hs_done, t_last_in, t_media_start;
	struct rtmp_hs *hs;
	struct rtmp_conn rc;
	int rc_ready;
	struct cp_session *sess;
	/* viewer side */
	struct cp_viewer viewer;
	uint32_t play_msid;
	int media_busy;
	/* control output collected during one callback, flushed after it */
	uint8_t *obuf;
	size_t olen, ocap;
	uint64_t queued;           /* control bytes handed to libuv, not written */
	uint8_t rbuf[READ_BUF];
};

static void conn_close(struct cp_conn *c, const char *reason, int graceful);
static void pump(struct cp_conn *c);

static uint64_t now_ms(const struct cp_conn *c)
{
	return uv_now(c->srv->loop);
}

/* ---- output ---- */

static int out_append(void *ctx, const uint8_t *p, size_t n)
{
	struct cp_conn *c = ctx;
	if (c->state == CS_CLOSING)
		return 0;
	if (c->olen + n + c->queued > c->srv->conf->conn_memory_cap)
		return -ENOBUFS;
	if (c->olen + n > c->ocap) {
		size_t ncap = c->ocap ? c->ocap : 4096;
		while (ncap < c->olen + n)
			ncap *= 2;
		uint8_t *nb = realloc(c->obuf, ncap);
		if (!nb)
			return -ENOMEM;
		c->obuf = nb;
		c->ocap = ncap;
	}
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

static void on_ctl_written(uv_write_t *req, int status)
{
	struct ctl_req *w = (struct ctl_req *)req;
	struct cp_conn *c = req->data;
	c->queued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		conn_close(c, "write error", 0);
}

/* Hand collected control bytes to libuv (before any later media write, so
 * the byte order on the wire is the order of production). */
static int flush(struct cp_conn *c)
{
	if (c->olen == 0 || c->state == CS_CLOSING)
		return 0;
	struct ctl_req *w = malloc(sizeof(*w) + c->olen);
	if (!w)
		return -ENOMEM;
	memcpy(w->data, c->obuf, c->olen);
	w->len = c->olen;
	w->req.data = c;
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_ctl_written);
	if (rc < 0) {
		free(w);
		return rc;
	}
	c->queued += c->olen;
	c->olen = 0;
	return 0;
}

/* ---- transport ops for the session ---- */

static int t_send(void *t, const struct rtmp_msg *m)
{
	struct cp_conn *c = t;
	if (c->state == CS_CLOSING)
		return 0;
	return rtmp_conn_send(&c->rc, m);
}

static int t_control(void *t, enum cp_ctl_kind kind, uint32_t v)
{
	struct cp_conn *c = t;
	if (c->state == CS_CLOSING)
		return 0;
	switch (kind) {
	case CP_CTL_WINDOW_ACK:
		return rtmp_conn_send_window(&c->rc, v);
	case CP_CTL_PEER_BW:
		return rtmp_conn_send_peer_bw(&c->rc, v, RTMP_BW_DYNAMIC);
	case CP_CTL_CHUNK_SIZE:
		return rtmp_conn_set_chunk_size(&c->rc, v);
	case CP_CTL_STREAM_BEGIN:
		return rtmp_conn_send_user(&c->rc, RTMP_UC_STREAM_BEGIN, v);
	case CP_CTL_STREAM_EOF:
		return rtmp_conn_send_user(&c->rc, RTMP_UC_STREAM_EOF, v);
	}
	return -EINVAL;
}

static void viewer_event(struct cp_viewer *v, enum cp_viewer_event ev, const char *reason)
{
	struct cp_conn *c = v->arg;
	switch (ev) {
	case CP_VIEWER_WAKE:
		pump(c);
		break;
	case CP_VIEWER_KICK:
		conn_close(c, reason, 0);
		break;
	case CP_VIEWER_LIVE:
	case CP_VIEWER_UNPUBLISHED:
		cp_session_viewer_event(c->sess, ev);
		if (flush(c) != 0)
			conn_close(c, "output failed", 0);
		break;
	}
}

static const struct cp_viewer_ops viewer_ops = { viewer_event };

static int t_play(void *t, struct cp_stream *s, uint32_t msid)
{
	struct cp_conn *c = t;
	if (c->state == CS_CLOSING)
		return 0;
	memset(&c->viewer, 0, sizeof(c->viewer));
	c->viewer.ops = &viewer_ops;
	c->viewer.arg = c;
	c->play_msid = msid;
	if (c->srv->conf->viewer_sndbuf > 0) {
		/* Bound what the kernel hides from the backlog policy. */
		int sz = (int)c->srv->conf->viewer_sndbuf;
		uv_send_buffer_size((uv_handle_t *)&c->tcp, &sz);
	}
	/* onStatus Play.Start etc. must precede the preamble on the wire. */
	int rc = flush(c);
	if (rc != 0)
		return rc;
	cp_viewer_attach(s, &c->viewer);
	pump(c);
	return 0;
}

static void t_stop(void *t)
{
	struct cp_conn *c = t;
	cp_viewer_detach(&c->viewer);
}

static void t_close(void *t, const char *reason)
{
	conn_close(t, reason, 1);
}

static const struct cp_transport_ops transport_ops = {
	t_send, t_control, t_play, t_stop, t_close,
};

/* ---- media ---- */

static void media_req_free(struct media_req *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		cp_msg_put(r->msgs[i]);
		free(r->priv[i]);
	}
	free(r);
}

static void on_media_written(uv_write_t *req, int status)
{
	struct media_req *r = (struct media_req *)req;
	struct cp_conn *c = r->conn;
	media_req_free(r);
	c->media_busy = 0;
	c->viewer.inflight = 0;
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_close(c, "viewer write error", 0);
		return;
	}
	if (c->state != CS_CLOSING)
		pump(c);
}

/* Add message m (viewer timestamp ts) to r. Returns 0 or -ENOMEM. */
static int media_add(struct cp_conn *c, struct media_req *r, struct cp_msg *m, uint32_t ts)
{
	unsigned i = r->n;
	r->priv[i] = NULL;
	if (cp_msg_viewer_header(m, ts, c->play_msid, r->hdr[i]) == 12) {
		r->bufs[2 * i] = uv_buf_init((char *)r->hdr[i], 12);
		r->bufs[2 * i + 1] = uv_buf_init((char *)m->body, (unsigned)m->body_len);
		r->bytes += cp_msg_wire_len(m);
	} else {
		size_t len;
		r->priv[i] = cp_msg_encode_private(m, ts, c->play_msid,
						   (uint32_t)c->srv->conf->chunk_size, &len);
		if (!r->priv[i])
			return -ENOMEM;
		r->bufs[2 * i] = uv_buf_init((char *)r->priv[i], (unsigned)len);
		r->bufs[2 * i + 1] = uv_buf_init(NULL, 0);
		r->bytes += len;
	}
	r->msgs[i] = cp_msg_get(m);
	r->n++;
	return 0;
}

/* Write the viewer's next batch, one write in flight at a time: backlog
 * stays in the stream log (shared), where the skip policy can see it. */
static void pump(struct cp_conn *c)
{
	if (c->media_busy || c->state == CS_CLOSING || !c->viewer.stream)
		return;
	if (flush(c) != 0) {
		conn_close(c, "output failed", 0);
		return;
	}
	struct media_req *r = calloc(1, sizeof(*r));
	if (!r) {
		conn_close(c, "out of memory", 0);
		return;
	}
	r->conn = c;
	struct cp_msg *m;
	uint32_t ts;
	int rc = 0;
	while (r->n < MEDIA_BATCH_MSGS && r->bytes < MEDIA_BATCH_BYTES &&
	       (rc = cp_viewer_next(&c->viewer, &m, &ts)) == 1) {
		if (media_add(c, r, m, ts) != 0) {
			rc = -ENOMEM;
			break;
		}
	}
	if (rc < 0 || r->n == 0) {
		media_req_free(r);
		if (rc < 0)
			conn_close(c, rc == -EPIPE ? "viewer too slow" : "out of memory", 0);
		return;
	}
	rc = uv_write(&r->req, (uv_stream_t *)&c->tcp, r->bufs, 2 * r->n, on_media_written);
	if (rc < 0) {
		media_req_free(r);
		conn_close(c, "viewer write failed", 0);
		return;
	}
	c->media_busy = 1;
	c->viewer.inflight = r->bytes;
	c->t_media_start = now_ms(c);
	rtmp_conn_note_out(&c->rc, r->bytes, 0);
}

/* ---- input ---- */

static int on_msg(void *ctx, const struct rtmp_msg *m)
{
	struct cp_conn *c = ctx;
	return cp_session_on_message(c->sess, m);
}

static int start_rtmp(struct cp_conn *c)
{
	const struct cp_rtmp_conf *cf = c->srv->conf;
	struct rtmp_conn_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.limits.max_chunk_size = (uint32_t)cf->chunk_size_cap;
	cfg.limits.max_msg_size = (uint32_t)cf->max_message_size;
	cfg.limits.max_streams = 16;
	cfg.limits.max_buffered = (uint32_t)(cf->conn_memory_cap > 0xFFFFFFFFu ? 0xFFFFFFFFu :
					     cf->conn_memory_cap);
	cfg.on_msg = on_msg;
	cfg.on_out = out_append;
	cfg.ctx = c;
	int rc = rtmp_conn_init(&c->rc, &cfg);
	if (rc != 0)
		return rc;
	c->rc_ready = 1;
	c->sess = cp_session_new(c->srv->eng, &transport_ops, c);
	if (!c->sess)
		return -ENOMEM;
	c->state = CS_RTMP;
	c->t_hs_done = now_ms(c);
	cp_debug("sess=%llu conn=%llu handshake done (%s)", (unsigned long long)c->sess->id,
		 (unsigned long long)c->id, c->hs->peer_digest ? "digest" : "plain");
	free(c->hs);
	c->hs = NULL;
	return 0;
}

/* Returns bytes of p consumed by the handshake, or a negative error. */
static int do_handshake(struct cp_conn *c, const uint8_t *p, size_t len)
{
	uint8_t out[RTMP_HS_OUT_MAX];
	size_t olen = 0;
	int n = rtmp_hs_feed(c->hs, p, len, out, sizeof(out), &olen);
	if (n < 0)
		return n;
	if (olen > 0) {
		int rc = out_append(c, out, olen);
		if (rc == 0)
			rc = flush(c);
		if (rc != 0)
			return rc;
	}
	if (rtmp_hs_done(c->hs)) {
		int rc = start_rtmp(c);
		if (rc != 0)
			return rc;
	}
	return n;
}

static void handle_input(struct cp_conn *c, const uint8_t *p, size_t len)
{
	c->t_last_in = now_ms(c);
	if (c->state == CS_HANDSHAKE) {
		int n = do_handshake(c, p, len);
		if (n < 0) {
			cp_warn("conn=%llu peer=%s handshake failed: %s", (unsigned long long)c->id,
				c->peer, rtmp_strerror(n));
			c->srv->st.proto_errors++;
			conn_close(c, "bad handshake", 0);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
	if (c->state == CS_RTMP && len > 0) {
		int rc = rtmp_conn_input(&c->rc, p, len);
		if (rc < 0 && c->state != CS_CLOSING) {
			cp_warn("sess=%llu peer=%s protocol error: %s", (unsigned long long)c->sess->id,
				c->peer, rc == -ENOBUFS ? "connection memory cap" : rtmp_strerror(rc));
			if (rc == -ENOBUFS || rc == -RTMP_E_MEM_LIMIT)
				c->srv->st.mem_caps++;
			else
				c->srv->st.proto_errors++;
			conn_close(c, "protocol error", 0);
			return;
		}
	}
	if (flush(c) != 0)
		conn_close(c, "output failed", 0);
	else if (c->state != CS_CLOSING && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
		 c->srv->conf->conn_memory_cap) {
		c->srv->st.mem_caps++;
		conn_close(c, "connection memory cap (peer not reading)", 0);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct cp_conn *c = h->data;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct cp_conn *c = s->data;
	if (nread < 0) {
		conn_close(c, nread == UV_EOF ? "peer closed" : "read error", 0);
		return;
	}
	if (nread > 0 && c->state != CS_CLOSING)
		handle_input(c, (const uint8_t *)buf->base, (size_t)nread);
}

/* ---- timers and life cycle ---- */

static void check_timeouts(struct cp_conn *c, uint64_t now)
{
	const struct cp_rtmp_conf *cf = c->srv->conf;
	if (c->state == CS_HANDSHAKE && now - c->t_start >= cf->handshake_timeout_ms) {
		c->srv->st.hs_timeouts++;
		conn_close(c, "handshake timeout", 0);
	} else if (c->state == CS_RTMP && !cp_session_active(c->sess) &&
		   now - c->t_hs_done >= cf->command_timeout_ms) {
		c->srv->st.cmd_timeouts++;
		conn_close(c, "command timeout", 0);
	} else if (c->state == CS_RTMP && c->sess->role == CP_ROLE_PUBLISHER &&
		   now - c->t_last_in >= cf->idle_timeout_ms) {
		c->srv->st.idle_timeouts++;
		conn_close(c, "publisher idle timeout", 0);
	} else if (c->state == CS_RTMP && c->media_busy &&
		   now - c->t_media_start >= cf->idle_timeout_ms) {
		c->srv->st.idle_timeouts++;
		conn_close(c, "viewer stalled (not reading)", 0);
	}
}

static void close_handles(struct cp_conn *c);

static void on_conn_timer(uv_timer_t *t)
{
	struct cp_conn *c = t->data;
	if (c->state == CS_CLOSING) {
		close_handles(c); /* graceful close did not flush in time */
		return;
	}
	check_timeouts(c, uv_now(t->loop));
}

static void conn_free(struct cp_conn *c)
{
	struct cp_server *srv = c->srv;
	cp_session_free(c->sess); /* unpublishes / detaches through the ops */
	c->sess = NULL;
	cp_viewer_detach(&c->viewer);
	if (c->rc_ready)
		rtmp_conn_fini(&c->rc);
	free(c->hs);
	free(c->obuf);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	srv->st.closed++;
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct cp_conn *c = h->data;
	if (--c->handles == 0)
		conn_free(c);
}

static void close_handles(struct cp_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	close_handles(req->data);
}

/* Close c: stop reading, detach the viewer at once (a kicked viewer must
 * release the log now), then either flush queued output (graceful, bounded
 * by CLOSE_FLUSH_MS) or drop it. The session is freed from the close
 * callback, never inside the caller's stack. */
static void conn_close(struct cp_conn *c, const char *reason, int graceful)
{
	if (c->state == CS_CLOSING)
		return;
	if (graceful)
		flush(c);
	c->state = CS_CLOSING;
	c->reason = reason;
	cp_info("sess=%llu conn=%llu peer=%s closed: %s",
		c->sess ? (unsigned long long)c->sess->id : 0ULL, (unsigned long long)c->id,
		c->peer, reason);
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->sess)
		cp_session_detach(c->sess); /* unpublish / detach the viewer now */
	cp_viewer_detach(&c->viewer);
	if (graceful && !c->srv->stopping) {
		c->shutdown.data = c;
		if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) == 0 &&
		    uv_timer_start(&c->timer, on_conn_timer, CLOSE_FLUSH_MS, 0) == 0)
			return;
	}
	close_handles(c);
}

static void peer_name(uv_tcp_t *tcp, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[48] = "?";
	int port = 0;
	snprintf(out, cap, "?");
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	snprintf(out, cap, "%s:%d", host, port);
}

static void on_refused_closed(uv_handle_t *h)
{
	free(h);
}

static void refuse(struct cp_server *srv)
{
	uv_tcp_t *t = malloc(sizeof(*t));
	if (!t)
		return;
	uv_tcp_init(srv->loop, t);
	if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0) {
		char peer[64];
		peer_name(t, peer, sizeof(peer));
		cp_warn("peer=%s refused: max_connections (%llu) reached", peer,
			(unsigned long long)srv->conf->max_connections);
	}
	srv->st.refused_max++;
	uv_close((uv_handle_t *)t, on_refused_closed);
}

static int conn_setup(struct cp_server *srv, struct cp_conn *c)
{
	struct rtmp_hs_config hcfg;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.rand = cp_rand_fill;
	hcfg.epoch = (uint32_t)uv_now(srv->loop);
	c->hs = malloc(sizeof(*c->hs));
	if (!c->hs)
		return -ENOMEM;
	int rc = rtmp_hs_server_init(c->hs, &hcfg);
	if (rc != 0)
		return rc;
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(&c->tcp, c->peer, sizeof(c->peer));
	rc = uv_timer_start(&c->timer, on_conn_timer, TICK_MS, TICK_MS);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	return rc;
}

static void on_connection(uv_stream_t *l, int status)
{
	struct cp_server *srv = l->data;
	if (status < 0 || srv->stopping)
		return;
	if (srv->nconns >= srv->conf->max_connections) {
		refuse(srv);
		return;
	}
	struct cp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = srv;
	c->id = srv->next_conn_id++;
	c->t_start = c->t_last_in = uv_now(srv->loop);
	c->viewer.arg = c;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles = 2;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->st.accepted++;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || conn_setup(srv, c) != 0) {
		conn_close(c, "accept failed", 0);
		return;
	}
	cp_debug("conn=%llu peer=%s accepted", (unsigned long long)c->id, c->peer);
}

static void on_tick(uv_timer_t *t)
{
	struct cp_server *srv = t->data;
	uint64_t now = uv_now(srv->loop);
	cp_engine_tick(srv->eng, now);
	if (now - srv->last_stats_ms >= STATS_EVERY_MS) {
		srv->last_stats_ms = now;
		if (cp_log_get_level() <= CP_LOG_DEBUG)
			cp_server_log_stats(srv);
	}
}

static int resolve(const struct cp_conf_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->host[0] == '\0')
		return uv_ip4_addr("0.0.0.0", a->port, (struct sockaddr_in *)ss);
	if (strchr(a->host, ':'))
		return uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)ss);
	return uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)ss);
}

static void on_srv_handle_closed(uv_handle_t *h)
{
	struct cp_server *srv = h->data;
	srv->open_handles--;
}

int cp_server_start(struct cp_server *srv, uv_loop_t *loop, struct cp_engine *eng,
		    const struct cp_conf_addr *addr)
{
	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->eng = eng;
	srv->conf = eng->conf;
	srv->next_conn_id = 1;
	struct sockaddr_storage ss;
	int rc = resolve(addr, &ss);
	if (rc != 0) {
		cp_err("rtmp listen %s:%u: bad address", addr->host, addr->port);
		return rc;
	}
	uv_tcp_init(loop, &srv->listener);
	uv_timer_init(loop, &srv->tick);
	srv->listener.data = srv;
	srv->tick.data = srv;
	srv->open_handles = 2;
	rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
	if (rc == 0)
		rc = uv_timer_start(&srv->tick, on_tick, 1000, 1000);
	if (rc != 0) {
		cp_err("rtmp listen %s:%u: %s", addr->host[0] ? addr->host : "*", addr->port,
		       uv_strerror(rc));
		srv->stopping = 1;
		uv_close((uv_handle_t *)&srv->listener, on_srv_handle_closed);
		uv_close((uv_handle_t *)&srv->tick, on_srv_handle_closed);
		return rc;
	}
	cp_info("rtmp listening on %s:%u (kernel sockets)", addr->host[0] ? addr->host : "*",
		addr->port);
	return 0;
}

void cp_server_stop(struct cp_server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = 1;
	uv_close((uv_handle_t *)&srv->listener, on_srv_handle_closed);
	uv_close((uv_handle_t *)&srv->tick, on_srv_handle_closed);
	for (struct cp_conn *c = srv->conns; c; c = c->next)
		conn_close(c, "server shutdown", 0);
}

void cp_server_log_stats(const struct cp_server *srv)
{
	const struct cp_server_stats *s = &srv->st;
	cp_info("stats server conns=%llu accepted=%llu refused_max=%llu closed=%llu "
		"hs_timeouts=%llu cmd_timeouts=%llu idle_timeouts=%llu proto_errors=%llu mem_caps=%llu",
		(unsigned long long)srv->nconns, (unsigned long long)s->accepted,
		(unsigned long long)s->refused_max, (unsigned long long)s->closed,
		(unsigned long long)s->hs_timeouts, (unsigned long long)s->cmd_timeouts,
		(unsigned long long)s->idle_timeouts, (unsigned long long)s->proto_errors,
		(unsigned long long)s->mem_caps);
	cp_engine_log_stats(srv->eng);
}

int cp_server_foreach_conn(const struct cp_server *srv,
			   int (*fn)(void *arg, const struct cp_conn_info *ci), void *arg)
{
	for (const struct cp_conn *c = srv->conns; c; c = c->next) {
		struct cp_conn_info ci = { c->id, c->sess, &c->viewer, c->peer, -1,
					   c->state == CS_CLOSING, c->t_start, 0, 0 };
		uv_os_fd_t fd;
		if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) == 0)
			ci.fd = fd;
		if (c->rc_ready) {
			struct rtmp_conn_state st;
			rtmp_conn_get_state(&c->rc, &st);
			ci.bytes_in = st.bytes_in;
			ci.bytes_out = st.bytes_out;
		}
		int rc = fn(arg, &ci);
		if (rc != 0)
			return rc;
	}
	return 0;
}
