/* Test services on the dataplane TCP: echo, discard, source. */
#include "dataplane/dp_services.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/dp_source.h"
#include "dataplane/dp_tcp.h"

enum svc_kind { SVC_ECHO = 1, SVC_DISCARD, SVC_SOURCE };

struct svc_conn {
	struct dp_svc_ctx *ctx;
	struct dp_tcp_conn *c;
	uint8_t kind;
	uint8_t peer_fin;   /* peer sent FIN */
	uint8_t shut;       /* we sent (queued) FIN */
	uint8_t hdr_len;    /* source: bytes of the count received */
	uint8_t waiting;    /* source: on ctx->src_wait */
	uint8_t hdr[8];
	struct rte_mbuf *pend; /* echo: bytes not yet accepted; source: current chunk */
	uint32_t pend_off;     /* bytes of pend already accepted by the stack */
	uint64_t want, sent;   /* source: bytes asked for / accepted */
	TAILQ_ENTRY(svc_conn) wait;
};

/* Free the leading segments of chain m that lie wholly before *off, so a
 * long-running echo does not accumulate sent data. Returns the new head. */
static struct rte_mbuf *chain_consume(struct rte_mbuf *m, uint32_t *off)
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

static void svc_shutdown(struct svc_conn *s, struct dp_tcp_conn *c)
{
	if (s->shut)
		return;
	s->shut = 1;
	dp_tcp_shutdown(c);
}

static void src_unwait(struct svc_conn *s)
{
	if (!s->waiting)
		return;
	TAILQ_REMOVE(&s->ctx->src_wait, s, wait);
	s->waiting = 0;
}

static void src_wake(struct dp_svc_ctx *ctx);

static void svc_release(struct svc_conn *s)
{
	struct dp_svc_ctx *ctx = s->ctx;
	int src = s->kind == SVC_SOURCE;

	src_unwait(s);
	rte_pktmbuf_free(s->pend);
	s->pend = NULL;
	if (s->kind == SVC_ECHO)
		ctx->echo_active--;
	else if (src)
		ctx->src_active--;
	rte_mempool_put(ctx->state_pool, s);
	if (src)
		src_wake(ctx); /* its chunks are back, its share is free */
}

/* ---- echo ---- */

/* Receive buffer of one echo conn: its share of the part of the RX pool
 * echo may hold, counted in full-sized segments (one mbuf each); the
 * minimum while the pool runs low whatever the reason, so RX keeps a
 * reserve for the ACKs that free it. */
static uint32_t echo_share(const struct dp_svc_ctx *ctx)
{
	const struct rte_mempool *mp = ctx->payload_pool;
	uint64_t mbufs = (uint64_t)mp->size * DP_SVC_ECHO_POOL_PCT / 100;
	uint64_t bytes = mbufs * DP_SVC_ECHO_SEG / (ctx->echo_active ? ctx->echo_active : 1);

	if (rte_mempool_avail_count(mp) < mp->size * DP_SVC_RX_RESERVE_PCT / 100)
		bytes = 0;

	if (bytes < DP_SVC_ECHO_MIN_WND)
		bytes = DP_SVC_ECHO_MIN_WND;
	return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

/* Everything echo holds counts against its window: the bytes the stack
 * has not accepted yet and the bytes it queued but the peer has not
 * acknowledged (they pin the same RX mbufs). While the stack holds any,
 * ask for a callback on the peer's next ACK to reopen the window. */
static void echo_flow(struct svc_conn *s, struct dp_tcp_conn *c)
{
	uint32_t queued = dp_tcp_send_queued(c);
	uint32_t held = (s->pend ? s->pend->pkt_len - s->pend_off : 0) + queued;
	struct dp_tcp_conn_info ci;

	/* Small segments cost a whole mbuf each: count what they pin. */
	dp_tcp_conn_info(c, &ci);
	uint64_t segs = (uint64_t)(s->pend ? s->pend->nb_segs : 0) + dp_tcp_send_refs(c) +
			ci.ooo_segs;

	if (segs * DP_SVC_ECHO_SEG > held)
		held = segs * DP_SVC_ECHO_SEG > UINT32_MAX / 2 ? UINT32_MAX / 2
							      : (uint32_t)(segs * DP_SVC_ECHO_SEG);

	dp_tcp_rcv_limit(c, echo_share(s->ctx));
	dp_tcp_rcv_hold(c, held);
	if (queued)
		dp_tcp_notify_writable(c);
}

static void echo_push(struct svc_conn *s, struct dp_tcp_conn *c)
{
	while (s->pend) {
		uint32_t left = s->pend->pkt_len - s->pend_off;
		int rc = dp_tcp_send(c, s->pend, s->pend_off, left);

		if (rc == -EAGAIN || rc == 0)
			break;
		if (rc < 0) { /* closing: nothing more can be sent */
			rte_pktmbuf_free(s->pend);
			s->pend = NULL;
			break;
		}
		s->ctx->bytes_echoed += (uint32_t)rc;
		s->pend_off += (uint32_t)rc;
		if ((uint32_t)rc == left) {
			rte_pktmbuf_free(s->pend); /* the stack holds its own refs */
			s->pend = NULL;
			s->pend_off = 0;
			break;
		}
		s->pend = chain_consume(s->pend, &s->pend_off);
		break; /* partial: wait for on_writable */
	}
	if (!s->pend && s->peer_fin)
		svc_shutdown(s, c);
	if (!s->shut)
		echo_flow(s, c); /* the peer cannot outrun what we may hold */
}

static void echo_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	struct svc_conn *s = arg;

	if (s->shut) {
		rte_pktmbuf_free(m);
		return;
	}
	if (!s->pend) {
		s->pend = m;
		s->pend_off = 0;
	} else if (rte_pktmbuf_chain(s->pend, m) != 0) {
		rte_pktmbuf_free(m); /* segment limit: cannot hold it, reset */
		dp_tcp_abort(c);
		svc_release(s);
		return;
	}
	echo_push(s, c);
}

/* ---- discard ---- */

static void discard_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	struct svc_conn *s = arg;

	s->ctx->bytes_discarded += m->pkt_len;
	rte_pktmbuf_free(m);
}

/* ---- source ---- */

static uint64_t be64_read(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static struct rte_mbuf *source_chunk(struct svc_conn *s)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->ctx->src_pool);
	uint64_t left = s->want - s->sent;
	uint32_t len;
	uint8_t *p;

	if (!m)
		return NULL;
	len = rte_pktmbuf_tailroom(m);
	if (len > left)
		len = (uint32_t)left;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	dp_source_fill(p, s->sent, len);
	return m;
}

/* Bytes conn c may have queued (unacknowledged + unsent): its fair share
 * of the source pool, and no more than what is in flight plus one window
 * (the peer's or the congestion window, whichever limits) — queueing more
 * only pins chunks other conns could use. */
static uint32_t source_budget(const struct svc_conn *s, struct dp_tcp_conn *c)
{
	const struct dp_svc_ctx *ctx = s->ctx;
	struct dp_tcp_conn_info ci;
	uint64_t pool = (uint64_t)ctx->src_pool->size * DP_SVC_SRC_CHUNK;
	uint64_t share = pool / (ctx->src_active ? ctx->src_active : 1);
	uint64_t wnd, pipe;

	dp_tcp_conn_info(c, &ci);
	wnd = ci.cwnd < ci.snd_wnd ? ci.cwnd : ci.snd_wnd;
	if (wnd < 2 * DP_SVC_SRC_CHUNK)
		wnd = 2 * DP_SVC_SRC_CHUNK;
	pipe = (uint64_t)ci.unacked_bytes + wnd;
	/* A conn pins up to two partly acknowledged chunks beyond its bytes. */
	share = share > 4 * DP_SVC_SRC_CHUNK ? share - 2 * DP_SVC_SRC_CHUNK
					      : 2 * DP_SVC_SRC_CHUNK;
	return (uint32_t)(pipe < share ? pipe : share);
}

/* No chunk left: wait in line; src_wake() retries when chunks come back. */
static void source_starved(struct svc_conn *s, struct dp_tcp_conn *c)
{
	s->ctx->src_pool_empty++;
	if (!s->waiting) {
		TAILQ_INSERT_TAIL(&s->ctx->src_wait, s, wait);
		s->waiting = 1;
	}
	dp_tcp_notify_writable(c);
}

static void source_push(struct svc_conn *s, struct dp_tcp_conn *c)
{
	while (s->sent < s->want) {
		uint32_t left, queued = dp_tcp_send_queued(c), budget = source_budget(s, c);
		int rc;

		if (queued >= budget) {
			dp_tcp_notify_writable(c); /* more after the next ACK */
			return;
		}
		if (!s->pend) {
			s->pend = source_chunk(s);
			s->pend_off = 0;
			if (!s->pend) {
				source_starved(s, c);
				return;
			}
		}
		left = s->pend->pkt_len - s->pend_off;
		if (left > budget - queued)
			left = budget - queued;
		rc = dp_tcp_send(c, s->pend, s->pend_off, left);
		if (rc <= 0) {
			if (rc != -EAGAIN && rc != 0)
				s->sent = s->want; /* closing: give up */
			break;
		}
		s->sent += (uint32_t)rc;
		s->ctx->bytes_sourced += (uint32_t)rc;
		s->pend_off += (uint32_t)rc;
		if ((uint32_t)rc < left)
			return; /* stack full: on_writable follows */
		if (s->pend_off < s->pend->pkt_len)
			continue; /* budget reached: the loop head notes it */
		rte_pktmbuf_free(s->pend);
		s->pend = NULL;
	}
	if (s->sent >= s->want && s->hdr_len == sizeof(s->hdr))
		svc_shutdown(s, c);
}

/* Chunks came back (a conn was acknowledged or went away): let the conns
 * that found the pool empty try again, in arrival order. Each is taken off
 * the line first and queues itself again if still short. */
static void src_wake(struct dp_svc_ctx *ctx)
{
	uint32_t n = 0, max = ctx->src_active;
	struct svc_conn *s;

	while (n++ < max && (s = TAILQ_FIRST(&ctx->src_wait)) != NULL) {
		src_unwait(s);
		source_push(s, s->c);
		if (s->waiting)
			break; /* still empty: the rest would fail too */
	}
}

static void source_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	struct svc_conn *s = arg;
	uint32_t need = sizeof(s->hdr) - s->hdr_len;

	if (need > 0) {
		uint32_t take = m->pkt_len < need ? m->pkt_len : need;
		const void *p = rte_pktmbuf_read(m, 0, take, s->hdr + s->hdr_len);

		if (p != s->hdr + s->hdr_len)
			memcpy(s->hdr + s->hdr_len, p, take);
		s->hdr_len = (uint8_t)(s->hdr_len + take);
		if (s->hdr_len == sizeof(s->hdr)) {
			s->want = be64_read(s->hdr);
			source_push(s, c);
		}
	}
	rte_pktmbuf_free(m); /* bytes after the count are ignored */
}

/* ---- common callbacks ---- */

static int svc_accept(struct dp_svc_ctx *ctx, struct dp_tcp_conn *c, uint8_t kind,
		      void **conn_arg)
{
	struct svc_conn *s;

	if (rte_mempool_get(ctx->state_pool, (void **)&s) != 0) {
		ctx->refused++;
		return -ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->c = c;
	s->kind = kind;
	ctx->conns++;
	if (kind == SVC_ECHO)
		ctx->echo_active++;
	else if (kind == SVC_SOURCE)
		ctx->src_active++;
	*conn_arg = s;
	return 0;
}

static int echo_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, c, SVC_ECHO, conn_arg);
}

static int discard_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, c, SVC_DISCARD, conn_arg);
}

static int source_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, c, SVC_SOURCE, conn_arg);
}

static void svc_writable(void *arg, struct dp_tcp_conn *c)
{
	struct svc_conn *s = arg;

	if (s->kind == SVC_ECHO) {
		echo_push(s, c);
	} else if (s->kind == SVC_SOURCE && s->hdr_len == sizeof(s->hdr)) {
		/* This ACK freed chunks: first those already waiting for one. */
		if (!TAILQ_EMPTY(&s->ctx->src_wait))
			src_wake(s->ctx);
		if (!s->waiting)
			source_push(s, c);
		else
			dp_tcp_notify_writable(c); /* still in line: keep its ACKs waking it */
	}
}

static void svc_close(void *arg, struct dp_tcp_conn *c, int reason)
{
	struct svc_conn *s = arg;

	if (reason != DP_TCP_CLOSE_PEER_FIN) {
		svc_release(s); /* final: c is dead */
		return;
	}
	s->peer_fin = 1;
	if (s->kind == SVC_ECHO && s->pend)
		return; /* FIN once everything is echoed (echo_push) */
	if (s->kind == SVC_SOURCE && s->hdr_len == sizeof(s->hdr) && s->sent < s->want)
		return; /* the count arrived: finish sending first */
	svc_shutdown(s, c);
}

static const struct dp_tcp_app svc_echo = {
	.on_accept = echo_accept, .on_data = echo_data,
	.on_writable = svc_writable, .on_close = svc_close,
};
static const struct dp_tcp_app svc_discard = {
	.on_accept = discard_accept, .on_data = discard_data,
	.on_writable = svc_writable, .on_close = svc_close,
};
static const struct dp_tcp_app svc_source = {
	.on_accept = source_accept, .on_data = source_data,
	.on_writable = svc_writable, .on_close = svc_close,
};

int dp_services_init(struct dp_svc_ctx *ctx, const char *name, unsigned max_conns,
		     int socket, struct rte_mempool *payload_pool)
{
	char src_name[RTE_MEMPOOL_NAMESIZE];

	memset(ctx, 0, sizeof(*ctx));
	TAILQ_INIT(&ctx->src_wait);
	if (!payload_pool || snprintf(src_name, sizeof(src_name), "%s_src", name) >=
				     (int)sizeof(src_name))
		return -EINVAL;
	ctx->payload_pool = payload_pool;
	ctx->state_pool = rte_mempool_create(name, max_conns, sizeof(struct svc_conn), 0, 0,
					     NULL, NULL, NULL, NULL, socket,
					     RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	ctx->src_pool = rte_pktmbuf_pool_create(src_name, DP_SVC_SRC_MBUFS, 64, 0,
						RTE_PKTMBUF_HEADROOM + DP_SVC_SRC_CHUNK, socket);
	if (!ctx->state_pool || !ctx->src_pool) {
		dp_services_fini(ctx);
		return -ENOMEM;
	}
	return 0;
}

int dp_services_listen(struct dp_tcp_stack *st, struct dp_svc_ctx *ctx, int echo,
		       int discard, int source)
{
	int rc = 0;

	if (echo)
		rc = dp_tcp_listen(st, DP_ECHO_PORT, &svc_echo, ctx);
	if (rc == 0 && discard)
		rc = dp_tcp_listen(st, DP_DISCARD_PORT, &svc_discard, ctx);
	if (rc == 0 && source)
		rc = dp_tcp_listen(st, DP_SOURCE_PORT, &svc_source, ctx);
	return rc;
}

void dp_services_fini(struct dp_svc_ctx *ctx)
{
	rte_mempool_free(ctx->state_pool);
	ctx->state_pool = NULL;
	rte_mempool_free(ctx->src_pool);
	ctx->src_pool = NULL;
}
