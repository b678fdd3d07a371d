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
	uint8_t kind;
	uint8_t peer_fin;   /* peer sent FIN */
	uint8_t shut;       /* we sent (queued) FIN */
	uint8_t hdr_len;    /* source: bytes of the count received */
	uint8_t hdr[8];
	struct rte_mbuf *pend; /* echo: bytes not yet accepted; source: current chunk */
	uint32_t pend_off;     /* bytes of pend already accepted by the stack */
	uint64_t want, sent;   /* source: bytes asked for / accepted */
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

static void svc_release(struct svc_conn *s)
{
	rte_pktmbuf_free(s->pend);
	s->pend = NULL;
	rte_mempool_put(s->ctx->state_pool, s);
}

/* ---- echo ---- */

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
	/* What we still hold shrinks the window: the peer cannot outrun us. */
	dp_tcp_rcv_hold(c, s->pend ? s->pend->pkt_len - s->pend_off : 0);
	if (!s->pend && s->peer_fin)
		svc_shutdown(s, c);
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
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->ctx->payload_pool);
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

static void source_push(struct svc_conn *s, struct dp_tcp_conn *c)
{
	while (s->sent < s->want) {
		uint32_t left;
		int rc;

		if (!s->pend) {
			s->pend = source_chunk(s);
			s->pend_off = 0;
			if (!s->pend)
				return; /* pool empty: on_writable will retry */
		}
		left = s->pend->pkt_len - s->pend_off;
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
			return;
		rte_pktmbuf_free(s->pend);
		s->pend = NULL;
	}
	if (s->sent >= s->want && s->hdr_len == sizeof(s->hdr))
		svc_shutdown(s, c);
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

static int svc_accept(struct dp_svc_ctx *ctx, uint8_t kind, void **conn_arg)
{
	struct svc_conn *s;

	if (rte_mempool_get(ctx->state_pool, (void **)&s) != 0) {
		ctx->refused++;
		return -ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->kind = kind;
	ctx->conns++;
	*conn_arg = s;
	return 0;
}

static int echo_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, SVC_ECHO, conn_arg);
}

static int discard_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, SVC_DISCARD, conn_arg);
}

static int source_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	return svc_accept(app_arg, SVC_SOURCE, conn_arg);
}

static void svc_writable(void *arg, struct dp_tcp_conn *c)
{
	struct svc_conn *s = arg;

	if (s->kind == SVC_ECHO)
		echo_push(s, c);
	else if (s->kind == SVC_SOURCE && s->hdr_len == sizeof(s->hdr))
		source_push(s, c);
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
	memset(ctx, 0, sizeof(*ctx));
	ctx->payload_pool = payload_pool;
	ctx->state_pool = rte_mempool_create(name, max_conns, sizeof(struct svc_conn), 0, 0,
					     NULL, NULL, NULL, NULL, socket,
					     RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	return ctx->state_pool ? 0 : -ENOMEM;
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
}
