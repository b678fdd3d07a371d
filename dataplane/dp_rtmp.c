/* RTMP service of a worker: sessions, handshake relay, chunk layer,
 * commands from the control plane. Ingest and fan-out: dp_rtmp_fan.c. */
#include "dataplane/dp_rtmp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_rtmp_int.h"
#include "dataplane/dp_tcp.h"
#include "dataplane/dp_worker.h"
#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_err.h"

struct dp_rtmp_shared *dp_rtmp_shared_create(uint32_t chunk_size)
{
	struct dp_rtmp_shared *sh = rte_zmalloc("dp_rtmp_shared", sizeof(*sh),
						RTE_CACHE_LINE_SIZE);

	if (!sh) {
		errno = ENOMEM;
		return NULL;
	}
	sh->chunk_size = chunk_size;
	for (int i = 0; i < DP_STREAMS_MAX; i++)
		atomic_store(&sh->streams.slot[i].pub_worker, -1);
	return sh;
}

void dp_rtmp_shared_free(struct dp_rtmp_shared *sh)
{
	rte_free(sh);
}

struct rte_ring *dp_rtmp_cmd_ring(const struct dp_rtmp *r)
{
	return r->cmd;
}

struct rte_ring *dp_rtmp_evt_ring(const struct dp_rtmp *r)
{
	return r->evt;
}

const struct dp_rtmp_stats *dp_rtmp_stats(const struct dp_rtmp *r)
{
	return &r->st;
}

uint64_t dp_rtmp_session_bytes(const struct dp_rtmp *r)
{
	/* Sessions take the default chunk limits: a csid table of max_streams
	 * entries from the reassembly allocator at hand-over. Reassembly
	 * buffers are excluded: a complete message becomes a stream log entry,
	 * shared by every viewer. */
	static const struct rtmp_chunk_limits lim = RTMP_CHUNK_LIMITS_DEFAULT;
	uint64_t open = r->st.sessions_opened - r->st.sessions_closed;

	return open * (sizeof(struct dp_rsess) +
		       (uint64_t)lim.max_streams * sizeof(struct rtmp_chunk_stream));
}

struct dp_rtmp *dp_rtmp_of(const struct dp_rtmp *r, uint16_t worker)
{
	const struct dp_app *app = r->w->app;

	if (worker >= app->nb_workers || !app->workers[worker])
		return NULL;
	return app->workers[worker]->rtmp;
}

/* Events keep their order: once one waits in evq, the later ones queue
 * behind it until dp_rtmp_poll() moves them into the ring. */
static void emit_queued(struct dp_rtmp *r, struct dp_cpmsg *m, uint32_t limit)
{
	if (r->evq.n == 0 && rte_ring_enqueue(r->evt, m) == 0)
		return;
	if (dp_msgq_push(&r->evq, m, limit) == 0) {
		r->st.events_deferred++;
		return;
	}
	r->st.events_dropped++;
	dp_cpmsg_free(m);
}

void dp_rtmp_emit(struct dp_rtmp *r, struct dp_cpmsg *m)
{
	emit_queued(r, m, DP_RTMP_EVQ_MAX);
}

int dp_rtmp_emit_archive(struct dp_rtmp *r, struct dp_cpmsg *m)
{
	/* Archive copies never wait: behind deferred events or in a full
	 * ring they are dropped (the archive starts a new segment). */
	if (r->evq.n == 0 && rte_ring_enqueue(r->evt, m) == 0)
		return 0;
	r->st.archive_dropped++;
	dp_cpmsg_free(m);
	return -ENOBUFS;
}

/* ---- reassembly buffers ---- */

void *dp_reasm_alloc(void *ctx, size_t size)
{
	struct dp_rtmp *r = ctx;
	uint8_t *base = rte_malloc_socket("dp_reasm", size + DP_REASM_HDR, DP_REASM_HDR,
					  r->w->socket);

	return base ? base + DP_REASM_HDR : NULL;
}

void dp_reasm_free(void *ctx, void *p, size_t size)
{
	rte_free((uint8_t *)p - DP_REASM_HDR);
}

/* ---- output of control/command bytes ---- */

/* Append bytes to the session's txq. Never writes into an mbuf the TCP
 * stack references (refcnt > 1): a fresh one is chained instead. */
int dp_rsess_out(void *ctx, const uint8_t *p, size_t n)
{
	struct dp_rsess *s = ctx;
	struct rte_mempool *pool = s->r->w->pool;

	s->r->st.ctl_bytes_copied += n;
	while (n > 0) {
		struct rte_mbuf *tail = s->txq ? rte_pktmbuf_lastseg(s->txq) : NULL;
		uint16_t room = 0, take;

		if (tail && rte_mbuf_refcnt_read(tail) == 1)
			room = rte_pktmbuf_tailroom(tail);
		if (room == 0) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

			if (!m)
				return -ENOMEM;
			if (!s->txq) {
				s->txq = m;
				s->txq_off = 0;
			} else if (rte_pktmbuf_chain(s->txq, m) != 0) {
				rte_pktmbuf_free(m);
				return -ENOBUFS;
			}
			continue;
		}
		take = n < room ? (uint16_t)n : room;
		memcpy(rte_pktmbuf_append(tail, take), p, take);
		if (tail != s->txq)
			s->txq->pkt_len += take;
		p += take;
		n -= take;
	}
	return 0;
}

/* Free leading segments wholly sent (the stack holds its own refs). */
static struct rte_mbuf *txq_consume(struct rte_mbuf *m, uint32_t *off)
{
	while (m->next && *off >= m->data_len) {
		struct rte_mbuf *next = m->next;

		next->pkt_len = m->pkt_len - m->data_len;
		next->nb_segs = (uint16_t)(m->nb_segs - 1);
		*off -= m->data_len;
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	return m;
}

/* Push txq into TCP. Returns 1 when txq is empty afterwards, 0 when bytes
 * wait for send space, -errno when the connection cannot send. Once our FIN
 * is queued (shut) nothing more can go out: -EPIPE then means the session
 * is closing, not that it failed; what txq holds is dropped and 1 returned. */
int dp_rsess_flush(struct dp_rsess *s)
{
	uint32_t left;
	int rc;

	if (!s->txq)
		goto empty;
	/* A viewer's media message is half sent: command bytes would land in
	 * the middle of its chunks. They wait until the message is out (the
	 * fan-out's next visit finishes it, then flushes them). */
	if (s->cur)
		return 0;
	left = s->txq->pkt_len - s->txq_off;
	rc = left ? dp_tcp_send(s->conn, s->txq, s->txq_off, left) : 0;
	if (rc == -EAGAIN)
		return 0;
	if (rc == -EPIPE && s->shut) {
		rte_pktmbuf_free(s->txq);
		s->txq = NULL;
		s->txq_off = 0;
		return 1;
	}
	if (rc < 0)
		return rc;
	s->bytes_out += (uint32_t)rc;
	s->txq_off += (uint32_t)rc;
	if ((uint32_t)rc < left) {
		s->txq = txq_consume(s->txq, &s->txq_off);
		return 0;
	}
	rte_pktmbuf_free(s->txq);
	s->txq = NULL;
	s->txq_off = 0;
empty:
	if (s->closing && !s->shut && !s->cur) {
		s->shut = 1;
		dp_tcp_shutdown(s->conn);
	}
	return 1;
}

/* ---- session table ---- */

static struct dp_rsess *sess_find(struct dp_rtmp *r, uint64_t id)
{
	uint32_t idx = (uint32_t)(id & 0xFFFFFF);
	struct dp_rsess *s;

	if (dp_ipc_session_worker(id) != r->w->id || idx >= r->max_sess)
		return NULL;
	s = r->sess[idx];
	return s && s->id == id ? s : NULL;
}

static struct dp_rsess *sess_alloc(struct dp_rtmp *r)
{
	for (uint32_t k = 0; k < r->max_sess; k++) {
		uint32_t idx = (r->next_idx + k) % r->max_sess;
		struct dp_rsess *s;

		if (r->sess[idx])
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		r->gen++;
		s->r = r;
		s->idx = idx;
		s->id = ((uint64_t)r->w->id << 56) | ((uint64_t)(r->gen & 0xFFFFFFFFu) << 24) | idx;
		s->pslot = -1;
		s->vslot = -1;
		r->sess[idx] = s;
		r->next_idx = idx + 1;
		return s;
	}
	return NULL;
}

static void sess_emit_close(struct dp_rsess *s, int reason, const char *text)
{
	struct dp_cpmsg *m;
	struct dp_ipc_close c;

	if (!atomic_load_explicit(&s->r->sh->cp_up, memory_order_relaxed))
		return;
	m = dp_cpmsg_new(DP_IPC_SESSION_CLOSE, s->id, 0, sizeof(c));
	if (!m)
		return;
	memset(&c, 0, sizeof(c));
	c.reason = reason;
	c.bytes_in = s->bytes_in;
	c.bytes_out = s->bytes_out;
	c.skips = s->skips;
	dp_ipc_str_set(c.text, sizeof(c.text), text);
	memcpy(m->data, &c, sizeof(c));
	dp_rtmp_emit(s->r, m);
}

/* The connection is gone (or being reset by us): release everything. */
static void sess_release(struct dp_rsess *s, int reason, const char *text)
{
	struct dp_rtmp *r = s->r;

	if (s->pslot >= 0)
		dp_fan_unpublish(s);
	if (s->vslot >= 0)
		dp_fan_detach(s);
	sess_emit_close(s, reason, text);
	if (s->rc_ok)
		rtmp_conn_fini(&s->rc);
	rte_pktmbuf_free(s->txq);
	free(s->held);
	r->sess[s->idx] = NULL;
	r->st.sessions_closed++;
	free(s);
}

void dp_rsess_reset(struct dp_rsess *s, const char *why)
{
	struct dp_tcp_conn *c = s->conn;

	cp_debug("rtmp: session %llx reset: %s", (unsigned long long)s->id, why);
	sess_release(s, -ECONNRESET, why);
	dp_tcp_abort(c);
}

/* ---- TCP callbacks ---- */

static int rtmp_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	struct dp_rtmp *r = app_arg;
	struct dp_tcp_conn_info ci;
	struct dp_ipc_session_open o;
	struct dp_cpmsg *m;
	struct dp_rsess *s;

	/* No control plane: nobody can run the handshake. */
	if (!atomic_load_explicit(&r->sh->cp_up, memory_order_relaxed)) {
		r->st.sessions_refused++;
		return -ENOTCONN;
	}
	m = dp_cpmsg_new(DP_IPC_SESSION_OPEN, 0, 0, sizeof(o));
	s = m ? sess_alloc(r) : NULL;
	if (!s) {
		dp_cpmsg_free(m);
		r->st.sessions_refused++;
		return -ENOMEM;
	}
	s->conn = c;
	dp_tcp_conn_info(c, &ci);
	s->peer_ip = ci.peer_ip;
	s->peer_port = ci.peer_port;
	s->local_port = ci.local_port;
	memset(&o, 0, sizeof(o));
	o.worker = r->w->id;
	o.peer_ip = ci.peer_ip;
	o.peer_port = ci.peer_port;
	o.local_port = ci.local_port;
	o.local_ip = r->w->app->conf.ip;
	memcpy(m->data, &o, sizeof(o));
	m->h.session = s->id;
	dp_rtmp_emit(r, m);
	r->st.sessions_opened++;
	*conn_arg = s;
	return 0;
}

static int held_add(struct dp_rsess *s, const uint8_t *p, uint32_t n)
{
	uint8_t *nb;

	if (n == 0)
		return 0;
	if (s->held_len + n > DP_RS_HELD_MAX)
		return -ENOBUFS;
	nb = realloc(s->held, s->held_len + n);
	if (!nb)
		return -ENOMEM;
	s->held = nb;
	memcpy(s->held + s->held_len, p, n);
	s->held_len += n;
	s->r->st.ctl_bytes_copied += n;
	return 0;
}

/* Handshake: forward up to the end of C2, hold the rest. */
static int hs_input(struct dp_rsess *s, const uint8_t *p, uint32_t n)
{
	uint32_t fwd = 0;

	if (s->state == DP_RS_HANDSHAKE) {
		struct dp_cpmsg *m;

		fwd = DP_RTMP_HANDSHAKE_LEN - s->hs_fwd;
		if (fwd > n)
			fwd = n;
		m = dp_cpmsg_new(DP_IPC_SESSION_DATA, s->id, 0, fwd);
		if (!m)
			return -ENOMEM;
		memcpy(m->data, p, fwd);
		s->r->st.handshake_bytes += fwd;
		s->r->st.ctl_bytes_copied += fwd;
		dp_rtmp_emit(s->r, m);
		s->hs_fwd += fwd;
		if (s->hs_fwd == DP_RTMP_HANDSHAKE_LEN)
			s->state = DP_RS_WAIT_HANDOVER;
	}
	return held_add(s, p + fwd, n - fwd);
}

static int chunk_input(struct dp_rsess *s, const uint8_t *p, uint32_t n)
{
	int rc;

	s->in_seg = p;
	s->in_seg_len = n;
	rc = rtmp_conn_input(&s->rc, p, n);
	s->in_seg = NULL;
	return rc;
}

static void rtmp_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	struct dp_rsess *s = arg;
	int rc = 0;

	s->bytes_in += m->pkt_len;
	for (struct rte_mbuf *seg = m; seg && rc == 0; seg = seg->next) {
		const uint8_t *p = rte_pktmbuf_mtod(seg, const uint8_t *);

		if (s->state == DP_RS_CHUNK)
			rc = chunk_input(s, p, seg->data_len);
		else
			rc = hs_input(s, p, seg->data_len);
	}
	rte_pktmbuf_free(m);
	if (rc == 0)
		rc = dp_rsess_flush(s) < 0 ? -EPIPE : 0;
	if (rc != 0) {
		s->r->st.rtmp_errors++;
		dp_rsess_reset(s, "protocol error");
		return;
	}
	dp_fan_wake(s); /* replies it provoked went out first */
}

static void rtmp_writable(void *arg, struct dp_tcp_conn *c)
{
	struct dp_rsess *s = arg;

	/* Not flushed (a media message in flight goes first): the visit
	 * finishes the message, then flushes. */
	if (dp_rsess_flush(s) >= 0)
		dp_fan_wake(s);
}

static void rtmp_close(void *arg, struct dp_tcp_conn *c, int reason)
{
	struct dp_rsess *s = arg;

	if (reason == DP_TCP_CLOSE_PEER_FIN) {
		/* RTMP has no half-close: the client is leaving. */
		if (!s->shut) {
			s->shut = 1;
			dp_tcp_shutdown(c);
		}
		return;
	}
	sess_release(s, reason == DP_TCP_CLOSE_DONE ? 0 : reason,
		     reason == DP_TCP_CLOSE_DONE ? "closed" : "connection lost");
}

static const struct dp_tcp_app rtmp_app = {
	.on_accept = rtmp_accept, .on_data = rtmp_data,
	.on_writable = rtmp_writable, .on_close = rtmp_close,
};

/* ---- chunk layer callbacks ---- */

static int forward_msg(struct dp_rsess *s, const struct rtmp_msg *msg)
{
	struct dp_ipc_msg im = { .type = msg->type, .timestamp = msg->timestamp,
				 .msid = msg->msid, .csid = msg->csid };
	struct dp_cpmsg *m;

	if (!atomic_load_explicit(&s->r->sh->cp_up, memory_order_relaxed)) {
		s->r->st.msgs_to_cp_dropped++; /* answered once the cp is back: never */
		return 0;
	}
	m = dp_cpmsg_new(DP_IPC_SESSION_MSG, s->id, 0, (uint32_t)sizeof(im) + msg->length);
	if (!m) {
		s->r->st.msgs_to_cp_dropped++;
		return 0;
	}
	memcpy(m->data, &im, sizeof(im));
	memcpy(m->data + sizeof(im), msg->data, msg->length);
	s->r->st.ctl_bytes_copied += msg->length;
	s->r->st.msgs_to_cp++;
	dp_rtmp_emit(s->r, m);
	return 0;
}

static int conn_on_msg(void *ctx, const struct rtmp_msg *msg)
{
	struct dp_rsess *s = ctx;
	int media = msg->type == RTMP_MSG_AUDIO || msg->type == RTMP_MSG_VIDEO;

	if (s->pslot >= 0 && (media || msg->type == RTMP_MSG_DATA_AMF0 ||
			      msg->type == RTMP_MSG_DATA_AMF3)) {
		/* The reader delivers in place when the message lies whole in
		 * the segment; otherwise it reassembled (copied) it: that copy
		 * is the one write of the payload when ingest takes the buffer. */
		int reasm = msg->length &&
			    (msg->data < s->in_seg || msg->data >= s->in_seg + s->in_seg_len);

		if (reasm) {
			s->r->st.reasm_bytes_copied += msg->length;
			s->r->st.payload_bytes_copied += msg->length;
		}
		return dp_fan_ingest(s, msg, reasm);
	}
	if (media) {
		s->r->st.bad_cmds++; /* media from a session that does not publish */
		return 0;
	}
	return forward_msg(s, msg);
}

/* ---- commands from the control plane ---- */

static int cmd_handover(struct dp_rsess *s, const struct dp_cpmsg *m)
{
	struct rtmp_conn_config cfg;
	struct dp_ipc_handover ho;
	const uint8_t *rest;
	size_t restlen;
	int rc;

	if (s->state == DP_RS_CHUNK)
		return -EALREADY;
	rc = dp_ipc_decode(DP_IPC_SESSION_HANDOVER, m->data, m->h.len, &ho, sizeof(ho), &rest,
			   &restlen);
	if (rc != 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.state.in_chunk_size = ho.in_chunk_size;
	cfg.state.out_chunk_size = ho.out_chunk_size;
	cfg.state.in_window = ho.in_window;
	cfg.state.out_window = ho.out_window;
	cfg.state.bytes_in = ho.bytes_in;
	cfg.state.last_ack_sent = ho.bytes_in;
	cfg.state.bytes_out = ho.bytes_out;
	cfg.on_msg = conn_on_msg;
	cfg.on_out = dp_rsess_out;
	cfg.ctx = s;
	cfg.alloc.alloc = dp_reasm_alloc;
	cfg.alloc.free = dp_reasm_free;
	cfg.alloc.ctx = s->r;
	rc = rtmp_conn_init(&s->rc, &cfg);
	if (rc != 0)
		return rc;
	s->rc_ok = 1;
	s->state = DP_RS_CHUNK;
	s->r->st.handovers++;
	/* What the control plane received past C2 comes first, then ours. */
	if (restlen)
		rc = chunk_input(s, rest, restlen);
	if (rc == 0 && s->held_len)
		rc = chunk_input(s, s->held, s->held_len);
	free(s->held);
	s->held = NULL;
	s->held_len = 0;
	return rc;
}

/* A protocol control message from the control plane: sent through rc so
 * the writer applies it (chunk size) and the state records it. */
static int cmd_control(struct dp_rsess *s, const struct dp_ipc_msg *im, const uint8_t *p,
		       size_t n)
{
	struct rtmp_ctl ctl;
	int rc = rtmp_ctl_parse(im->type, p, n, &ctl);

	if (rc != 0)
		return rc;
	switch (im->type) {
	case RTMP_MSG_SET_CHUNK_SIZE:
		return rtmp_conn_set_chunk_size(&s->rc, ctl.value);
	case RTMP_MSG_WINDOW_ACK_SIZE:
		return rtmp_conn_send_window(&s->rc, ctl.value);
	case RTMP_MSG_SET_PEER_BW:
		return rtmp_conn_send_peer_bw(&s->rc, ctl.value, (enum rtmp_bw_limit)ctl.limit);
	default: {
		struct rtmp_msg msg = { 0, (uint32_t)n, 0, RTMP_CSID_CONTROL, im->type, p };

		return rtmp_conn_send(&s->rc, &msg);
	}
	}
}

static int cmd_msg(struct dp_rsess *s, const struct dp_cpmsg *m)
{
	struct dp_ipc_msg im;
	const uint8_t *p;
	size_t n;
	int rc = dp_ipc_decode(DP_IPC_SESSION_MSG, m->data, m->h.len, &im, sizeof(im), &p, &n);

	if (rc != 0)
		return rc;
	if (s->state != DP_RS_CHUNK || n > RTMP_MSG_LEN_MAX)
		return -EPROTO;
	s->r->st.msgs_from_cp++;
	if (im.type >= RTMP_MSG_SET_CHUNK_SIZE && im.type <= RTMP_MSG_SET_PEER_BW) {
		rc = cmd_control(s, &im, p, n);
	} else {
		struct rtmp_msg msg = { im.timestamp, (uint32_t)n, im.msid, im.csid, im.type, p };

		rc = rtmp_conn_send(&s->rc, &msg);
	}
	if (rc == 0)
		rc = dp_rsess_flush(s) < 0 ? -EPIPE : 0;
	return rc;
}

static int cmd_data(struct dp_rsess *s, const struct dp_cpmsg *m)
{
	int rc;

	if (s->state == DP_RS_CHUNK)
		return -EPROTO;
	rc = dp_rsess_out(s, m->data, m->h.len);
	if (rc == 0)
		rc = dp_rsess_flush(s) < 0 ? -EPIPE : 0;
	return rc;
}

static int cmd_publish(struct dp_rsess *s, const struct dp_cpmsg *m)
{
	struct dp_ipc_publish pb;
	int rc = dp_ipc_decode(DP_IPC_SESSION_PUBLISH, m->data, m->h.len, &pb, sizeof(pb), NULL,
			       NULL);

	if (rc != 0)
		return rc;
	if (s->state != DP_RS_CHUNK || m->slot < 0 || s->vslot >= 0)
		return -EPROTO;
	if (s->pslot >= 0)
		dp_fan_unpublish(s);
	return dp_fan_publish(s, m->slot, m->h.stream, pb.msid);
}

static int cmd_attach(struct dp_rsess *s, const struct dp_cpmsg *m)
{
	struct dp_ipc_attach at;
	int rc = dp_ipc_decode(DP_IPC_SESSION_ATTACH, m->data, m->h.len, &at, sizeof(at), NULL,
			       NULL);

	if (rc != 0)
		return rc;
	if (s->state != DP_RS_CHUNK || m->slot < 0 || s->pslot >= 0)
		return -EPROTO;
	if (s->vslot >= 0)
		dp_fan_detach(s);
	return dp_fan_attach(s, m->slot, m->h.stream, at.msid);
}

static int cmd_session(struct dp_rtmp *r, struct dp_rsess *s, const struct dp_cpmsg *m)
{
	switch (m->h.type) {
	case DP_IPC_SESSION_DATA:
		return cmd_data(s, m);
	case DP_IPC_SESSION_HANDOVER:
		return cmd_handover(s, m);
	case DP_IPC_SESSION_MSG:
		return cmd_msg(s, m);
	case DP_IPC_SESSION_PUBLISH:
		return cmd_publish(s, m);
	case DP_IPC_SESSION_UNPUBLISH:
		if (s->pslot >= 0)
			dp_fan_unpublish(s);
		return 0;
	case DP_IPC_SESSION_ATTACH:
		return cmd_attach(s, m);
	case DP_IPC_SESSION_DETACH:
		if (s->vslot >= 0)
			dp_fan_detach(s);
		return 0;
	case DP_IPC_SESSION_CLOSE:
		s->closing = 1;
		dp_rsess_flush(s);
		return 0;
	default:
		return -EBADMSG;
	}
}

/* Close every session still in the handshake (its control plane is gone). */
static void close_handshakes(struct dp_rtmp *r)
{
	for (uint32_t i = 0; i < r->max_sess; i++) {
		struct dp_rsess *s = r->sess[i];

		if (s && s->state != DP_RS_CHUNK)
			dp_rsess_reset(s, "control plane gone during handshake");
	}
}

static void resync_session(struct dp_rtmp *r, struct dp_rsess *s)
{
	struct dp_ipc_resync_session rs;
	struct dp_cpmsg *m;
	int32_t slot = s->pslot >= 0 ? s->pslot : s->vslot;
	const struct dp_sslot *sl = slot >= 0 ? &r->sh->streams.slot[slot] : NULL;

	memset(&rs, 0, sizeof(rs));
	rs.worker = r->w->id;
	rs.role = s->pslot >= 0 ? DP_IPC_ROLE_PUBLISHER :
		  s->vslot >= 0 ? DP_IPC_ROLE_VIEWER : DP_IPC_ROLE_NONE;
	rs.peer_ip = s->peer_ip;
	rs.peer_port = s->peer_port;
	rs.local_port = s->local_port;
	rs.msid = s->pslot >= 0 ? s->pmsid : s->vmsid;
	rs.in_chunk_size = s->rc.rd.chunk_size;
	rs.out_chunk_size = s->rc.wr.chunk_size;
	rs.attached = s->vslot >= 0;
	rs.stream = s->pslot >= 0 ? s->pstream : sl ? atomic_load(&sl->id) : 0;
	if (sl) {
		dp_ipc_str_set(rs.app, sizeof(rs.app), sl->app);
		dp_ipc_str_set(rs.name, sizeof(rs.name), sl->name);
	}
	m = dp_cpmsg_new(DP_IPC_RESYNC_SESSION, s->id, rs.stream, sizeof(rs));
	if (!m)
		return;
	memcpy(m->data, &rs, sizeof(rs));
	dp_rtmp_emit(r, m);
}

static uint32_t resync_streams(struct dp_rtmp *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < DP_STREAMS_MAX; i++) {
		struct dp_lstream *ls = r->ls[i];
		const struct dp_sslot *sl = &r->sh->streams.slot[i];
		struct dp_ipc_resync_stream rs;
		struct dp_cpmsg *m;

		if (!ls || !ls->master)
			continue;
		memset(&rs, 0, sizeof(rs));
		rs.state = ls->publisher ? DP_IPC_STREAM_LIVE : DP_IPC_STREAM_GRACE;
		rs.viewers = ls->nviewers;
		rs.publisher = ls->publisher ? ls->publisher->id : 0;
		dp_ipc_str_set(rs.app, sizeof(rs.app), sl->app);
		dp_ipc_str_set(rs.name, sizeof(rs.name), sl->name);
		m = dp_cpmsg_new(DP_IPC_RESYNC_STREAM, rs.publisher, ls->v.stream, sizeof(rs));
		if (!m)
			continue;
		memcpy(m->data, &rs, sizeof(rs));
		dp_rtmp_emit(r, m);
		n++;
	}
	return n;
}

static void resync(struct dp_rtmp *r)
{
	struct dp_ipc_resync_done d = { 0, 0 };
	struct dp_cpmsg *m;

	/* Handshakes of the previous control plane cannot be resumed. */
	close_handshakes(r);
	for (uint32_t i = 0; i < r->max_sess; i++) {
		if (r->sess[i]) {
			resync_session(r, r->sess[i]);
			d.sessions++;
		}
	}
	d.streams = resync_streams(r);
	m = dp_cpmsg_new(DP_CPMSG_RESYNC_END, r->w->id, 0, sizeof(d));
	if (!m)
		return;
	memcpy(m->data, &d, sizeof(d));
	/* The end marker must not be lost (main waits for it) and the worker
	 * must not wait for main: it goes behind the deferred events. */
	emit_queued(r, m, 0);
}

static void cmd_one(struct dp_rtmp *r, struct dp_cpmsg *m)
{
	struct dp_rsess *s;
	int rc;

	switch (m->h.type) {
	case DP_CPMSG_CP_DOWN:
		close_handshakes(r);
		return;
	case DP_CPMSG_RESYNC_REQ:
		resync(r);
		return;
	case DP_IPC_STREAM_STATE:
		if (m->slot >= 0)
			dp_fan_stream_end(r, m->slot);
		return;
	default:
		break;
	}
	s = sess_find(r, m->h.session);
	if (!s)
		return; /* gone meanwhile: its SESSION_CLOSE is on its way */
	rc = cmd_session(r, s, m);
	if (rc == 0)
		dp_fan_wake(s); /* its command bytes went first: media may follow */
	if (rc == -EPIPE) {
		/* The connection queued its FIN already: nothing can be sent,
		 * the session is on its way out; not the control plane's fault. */
		s->closing = 1;
		return;
	}
	if (rc != 0) {
		/* The control plane sent something we cannot apply: the session
		 * is in an unknown state for both sides, so it goes, loudly. */
		r->st.cmd_errors++;
		cp_warn("rtmp: worker %u session %llx: control plane %s (%u bytes) rejected: %s; "
			"session reset", r->w->id, (unsigned long long)s->id,
			dp_ipc_type_name(m->h.type), m->h.len, rtmp_strerror(rc));
		dp_rsess_reset(s, "malformed command from the control plane");
	}
}

static unsigned cmd_poll(struct dp_rtmp *r)
{
	void *v[DP_BURST];
	unsigned n = rte_ring_dequeue_burst(r->cmd, v, DP_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		cmd_one(r, v[i]);
		dp_cpmsg_free(v[i]);
	}
	return n;
}

unsigned dp_rtmp_poll(struct dp_rtmp *r, uint64_t now_us)
{
	unsigned work;

	r->now_us = now_us;
	if (r->evq.n)
		work = dp_msgq_flush(&r->evq, r->evt);
	else
		work = 0;
	work += cmd_poll(r);
	work += dp_fan_rx(r);
	work += dp_fan_schedule(r);
	if (now_us - r->last_timer_us >= DP_RTMP_TIMER_US) {
		r->last_timer_us = now_us;
		dp_fan_timers(r);
		dp_rtmp_snapshot(r);
	}
	return work;
}

/* ---- life cycle ---- */

static struct rte_ring *ring_make(const char *what, uint16_t id, unsigned size, int socket,
				  unsigned flags)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "dp_%s%u", what, id);
	return rte_ring_create(name, size, socket, flags);
}

struct dp_rtmp *dp_rtmp_create(struct dp_worker *w, struct dp_rtmp_shared *sh)
{
	const struct dp_conf *c = &w->app->conf;
	unsigned rs = (unsigned)c->rtmp_ring_size;
	struct dp_rtmp *r = rte_zmalloc_socket("dp_rtmp", sizeof(*r), RTE_CACHE_LINE_SIZE,
					       w->socket);
	int rc;

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->w = w;
	r->sh = sh;
	r->chunk = sh->chunk_size;
	r->max_sess = (uint32_t)c->tcp_max_conns;
	r->sess = calloc(r->max_sess, sizeof(*r->sess));
	r->snap = rte_zmalloc_socket("dp_rtmp_snap", sizeof(*r->snap), RTE_CACHE_LINE_SIZE,
				     w->socket);
	{
		uint32_t cap = r->max_sess < DP_RTMP_SESS_SNAP_MAX ? r->max_sess :
				DP_RTMP_SESS_SNAP_MAX;

		r->ssnap = rte_zmalloc_socket("dp_rtmp_ssnap", sizeof(*r->ssnap) +
					      (size_t)cap * sizeof(r->ssnap->e[0]),
					      RTE_CACHE_LINE_SIZE, w->socket);
		if (r->ssnap)
			r->ssnap->cap = cap;
	}
	r->viewers = calloc(r->max_sess, sizeof(*r->viewers));
	TAILQ_INIT(&r->ready);
	r->cmd = ring_make("rcmd", w->id, rs, w->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	r->evt = ring_make("revt", w->id, rs, w->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	r->fan = ring_make("rfan", w->id, rs, w->socket, RING_F_SC_DEQ);
	{
		char name[RTE_MEMPOOL_NAMESIZE];

		snprintf(name, sizeof(name), "dp_ent%u", w->id);
		r->ent_pool = rte_pktmbuf_pool_create(name, (unsigned)(2 * c->mbufs + 1), 256, 0,
						      RTE_PKTMBUF_HEADROOM + 64, w->socket);
	}
	if (!r->sess || !r->snap || !r->ssnap || !r->viewers || !r->cmd || !r->evt || !r->fan || !r->ent_pool) {
		dp_rtmp_free(r);
		errno = ENOMEM;
		return NULL;
	}
	rc = dp_tcp_listen(w->tcp, (uint16_t)c->rtmp_port, &rtmp_app, r);
	if (rc != 0) {
		dp_rtmp_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

static void ring_drain_msgs(struct rte_ring *ring)
{
	void *m;

	while (ring && rte_ring_dequeue(ring, &m) == 0)
		dp_cpmsg_free(m);
}

static void ring_drain_fan(struct rte_ring *ring)
{
	void *p;

	while (ring && rte_ring_dequeue(ring, &p) == 0) {
		if (!((uintptr_t)p & DP_FAN_CTL))
			rte_pktmbuf_free((struct rte_mbuf *)((uintptr_t)p & ~(uintptr_t)DP_FAN_TAGS));
	}
}

void dp_rtmp_release(struct dp_rtmp *r)
{
	if (!r)
		return;
	/* Sessions left (stack not destroyed yet): release them without
	 * touching their connections' callbacks. */
	for (uint32_t i = 0; r->sess && i < r->max_sess; i++)
		if (r->sess[i])
			sess_release(r->sess[i], -ECONNABORTED, "shutdown");
	dp_fan_free_all(r);
	dp_msgq_fini(&r->evq);
	ring_drain_msgs(r->cmd);
	ring_drain_msgs(r->evt);
	ring_drain_fan(r->fan);
}

void dp_rtmp_free(struct dp_rtmp *r)
{
	if (!r)
		return;
	dp_rtmp_release(r);
	rte_ring_free(r->cmd);
	rte_ring_free(r->evt);
	rte_ring_free(r->fan);
	free(r->sess);
	free(r->viewers);
	rte_free(r->snap);
	rte_free(r->ssnap);
	/* Entries still referenced elsewhere (an archive queue) must be gone:
	 * the main lcore closes its IPC before the workers are freed. */
	rte_mempool_free(r->ent_pool);
	rte_free(r);
}

static uint8_t sess_state_of(const struct dp_rsess *s)
{
	if (s->closing)
		return DP_IPC_SST_CLOSING;
	if (s->state == DP_RS_HANDSHAKE)
		return DP_IPC_SST_HANDSHAKE;
	if (s->state == DP_RS_WAIT_HANDOVER)
		return DP_IPC_SST_HANDOVER;
	if (s->pslot >= 0)
		return DP_IPC_SST_PUBLISHING;
	if (s->vslot >= 0)
		return DP_IPC_SST_PLAYING;
	return DP_IPC_SST_CONNECTED;
}

/* Session view (same seqlock model as the stream snapshot). */
static void sess_snapshot(struct dp_rtmp *r)
{
	struct dp_rtmp_sess_snap *sn = r->ssnap;
	uint32_t seq = atomic_load_explicit(&sn->seq, memory_order_relaxed);
	uint32_t n = 0;

	atomic_store_explicit(&sn->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (uint32_t i = 0; i < r->max_sess && n < sn->cap; i++) {
		const struct dp_rsess *s = r->sess[i];
		struct dp_tcp_conn_info ci;

		if (!s)
			continue;
		memset(&ci, 0, sizeof(ci));
		if (s->conn)
			dp_tcp_conn_info(s->conn, &ci);
		sn->e[n++] = (struct dp_ipc_session_info){
			.id = s->id, .stream = s->pslot >= 0 ? s->pstream :
			s->vslot >= 0 && r->ls[s->vslot] ? r->ls[s->vslot]->v.stream : 0,
			.peer_ip = s->peer_ip, .peer_port = s->peer_port,
			.worker = r->w->id, .role = s->role, .state = sess_state_of(s),
			.srtt_us = ci.srtt_us, .cwnd = ci.cwnd,
			.bytes_in = s->bytes_in, .bytes_out = s->bytes_out, .skips = s->skips,
		};
	}
	sn->n = n;
	atomic_store_explicit(&sn->seq, seq + 2, memory_order_release);
}

uint32_t dp_rtmp_sess_snap_cap(const struct dp_rtmp *r)
{
	return r->ssnap ? r->ssnap->cap : 0;
}

int dp_rtmp_copy_sessions(const struct dp_rtmp *r, struct dp_ipc_session_info *out,
			  uint32_t cap)
{
	const struct dp_rtmp_sess_snap *sn = r->ssnap;

	for (int t = 0; t < 64; t++) {
		uint32_t before = atomic_load_explicit(&sn->seq, memory_order_acquire);
		uint32_t n;

		if (before & 1) {
			rte_pause();
			continue;
		}
		n = sn->n < cap ? sn->n : cap;
		if (n > sn->cap)
			n = sn->cap;
		memcpy(out, sn->e, (size_t)n * sizeof(*out));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&sn->seq, memory_order_relaxed) == before)
			return (int)n;
	}
	return -EAGAIN;
}

void dp_rtmp_snapshot(struct dp_rtmp *r)
{
	struct dp_rtmp_snap *sn = r->snap;
	uint32_t seq = atomic_load_explicit(&sn->seq, memory_order_relaxed);
	uint32_t n = 0;

	atomic_store_explicit(&sn->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (uint32_t i = 0; i < DP_STREAMS_MAX; i++) {
		const struct dp_lstream *ls = r->ls[i];

		if (!ls)
			continue;
		sn->s[n++] = (struct dp_rtmp_stream_stats){
			.stream = ls->v.stream, .viewers = ls->nviewers,
			.publishing = ls->publisher != NULL, .entries = ls->v.appended,
			.bytes_sent = ls->bytes_sent, .skips = ls->skips, .resets = ls->resets,
			.skip_bytes = ls->skip_bytes, .gaps = ls->v.gaps,
		};
	}
	sn->n = n;
	atomic_store_explicit(&sn->seq, seq + 2, memory_order_release);
	sess_snapshot(r);
}

#define SNAP_READ_TRIES 64

int dp_rtmp_foreach_stream(const struct dp_rtmp *r,
			   void (*fn)(void *arg, const struct dp_rtmp_stream_stats *s), void *arg)
{
	const struct dp_rtmp_snap *sn = r->snap;
	struct dp_rtmp_stream_stats *copy = malloc(sizeof(sn->s));
	uint32_t n = 0;
	int ok = 0;

	if (!copy)
		return -ENOMEM;
	for (int t = 0; t < SNAP_READ_TRIES && !ok; t++) {
		uint32_t before = atomic_load_explicit(&sn->seq, memory_order_acquire);

		if (before & 1) {
			rte_pause();
			continue;
		}
		n = sn->n < DP_STREAMS_MAX ? sn->n : DP_STREAMS_MAX;
		memcpy(copy, sn->s, n * sizeof(*copy));
		atomic_thread_fence(memory_order_acquire);
		ok = atomic_load_explicit(&sn->seq, memory_order_relaxed) == before;
	}
	for (uint32_t i = 0; ok && i < n; i++)
		fn(arg, &copy[i]);
	free(copy);
	return ok ? (int)n : -EAGAIN;
}
