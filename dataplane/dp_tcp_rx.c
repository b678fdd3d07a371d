/* Receive entry: header validation, demultiplexing, passive open (SYN and
 * SYN-cookie ACK) and RSTs for segments nobody owns. */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/dp_tcp_int.h"

#define TCP_HLEN 20

/* Header fields of a TCP segment, parsed without touching the mbuf. */
struct rx_hdr {
	struct dp_tcp_key key;
	uint32_t ihl, doff;
	struct dp_tcp_seg seg;
};

/* Check lengths and read the fixed header. Returns 0, or a pointer to the
 * counter of the reason to drop. */
static uint64_t *parse_hdr(struct dp_tcp_stack *st, struct rte_mbuf *m, struct rx_hdr *h)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;

	if (ihl < 20 || m->pkt_len < ihl + TCP_HLEN)
		return &st->stats.drop_bad_hdr_len;
	if (m->data_len < ihl + TCP_HLEN)
		return &st->stats.drop_multiseg_hdr;
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + ihl);
	uint32_t doff = (uint32_t)(th->data_off >> 4) * 4;
	if (doff < TCP_HLEN || doff > m->pkt_len - ihl)
		return &st->stats.drop_bad_hdr_len;
	if (m->data_len < ihl + doff)
		return &st->stats.drop_multiseg_hdr;
	h->ihl = ihl;
	h->doff = doff;
	h->key.rip = ip->src_addr;
	h->key.lip = ip->dst_addr;
	h->key.rport = th->src_port;
	h->key.lport = th->dst_port;
	h->seg.seq = rte_be_to_cpu_32(th->sent_seq);
	h->seg.ack = rte_be_to_cpu_32(th->recv_ack);
	h->seg.wnd = rte_be_to_cpu_16(th->rx_win);
	h->seg.flags = th->tcp_flags & 0x3f;
	h->seg.len = m->pkt_len - ihl - doff;
	h->seg.m = NULL;
	return NULL;
}

static int csum_ok(struct rte_mbuf *m, uint32_t ihl)
{
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return 1;
	if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return 0;
	/* Over data and checksum field, a correct segment sums to all ones. */
	return dp_tcp_l4_sum(m, rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *), ihl) == 0xffff;
}

/* RST answering a segment (RFC 9293 3.10.7.1): seq = its ACK when it had
 * one, else seq 0 and ACK covering it. Never for a RST. */
static int rst_reply(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
		     const struct dp_tcp_seg *s)
{
	struct dp_tcp_conn tmp;

	if (s->flags & DP_TH_RST)
		return 0;
	/* Borrow the conn emitter with a throwaway conn on the stack. */
	memset(&tmp, 0, sizeof(tmp));
	tmp.st = st;
	tmp.key = *k;
	if (s->flags & DP_TH_ACK) {
		tmp.snd_nxt = s->ack;
		return dp_tcp_send_rst_conn_flags(&tmp, DP_TH_RST);
	}
	tmp.rcv_nxt = s->seq + s->len + ((s->flags & DP_TH_SYN) ? 1 : 0) +
		      ((s->flags & DP_TH_FIN) ? 1 : 0);
	tmp.snd_nxt = 0;
	return dp_tcp_send_rst_conn_flags(&tmp, DP_TH_RST | DP_TH_ACK);
}

static void negotiate(struct dp_tcp_conn *c, const struct dp_tcp_opts *o)
{
	const struct dp_tcp_cfg *cfg = &c->st->cfg;
	uint32_t mss = o->has_mss ? o->mss : 536;

	c->ws_ok = o->has_wscale && !cfg->no_wscale;
	c->snd_wscale = c->ws_ok ? o->wscale : 0;
	c->rcv_wscale = c->ws_ok ? cfg->wscale : 0;
	c->sack_ok = o->sack_ok && cfg->sack;
	c->ts_ok = o->has_ts && cfg->timestamps;
	c->ts_recent = o->tsval;
	if (mss > cfg->mss)
		mss = cfg->mss;
	if (mss < 64) /* keep room for options and sane segment counts */
		mss = 64;
	c->mss = (uint16_t)mss;
}

static int use_cookie(const struct dp_tcp_stack *st)
{
	int full = st->nsynrcvd >= st->cfg.syn_backlog || st->nconns >= st->cfg.max_conns;

	return st->cfg.syncookies == 2 || (full && st->cfg.syncookies == 1);
}

static void syn_cookie_reply(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			     const struct dp_tcp_seg *s)
{
	uint16_t mss;
	uint32_t cookie = dp_tcp_cookie_make(st, k, s->seq, s->opts.has_mss ? s->opts.mss : 0,
					     &mss);

	st->stats.syn_cookies_sent++;
	st->last_cookie_us = st->now_us ? st->now_us : 1;
	dp_tcp_send_synack_cookie(st, k, cookie, s->seq + 1, &s->opts, mss);
}

static void passive_open(struct dp_tcp_stack *st, struct dp_tcp_listener *l,
			 const struct dp_tcp_key *k, const struct dp_tcp_seg *s)
{
	struct dp_tcp_conn *c;

	if (use_cookie(st)) {
		syn_cookie_reply(st, k, s);
		return;
	}
	if (st->nsynrcvd >= st->cfg.syn_backlog) {
		st->stats.drop_syn_backlog++;
		return;
	}
	c = dp_tcp_conn_new(st, k, l);
	if (!c)
		return;
	negotiate(c, &s->opts);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->iss = dp_tcp_isn(st, k);
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->snd_max = c->iss + 1;
	c->snd_wnd = s->wnd; /* never scaled in a SYN */
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	c->last_rx_us = st->now_us;
	dp_tcp_set_state(c, DP_TCP_SYN_RECEIVED);
	dp_tcp_send_synack(c);
	c->rtt_start_us = st->now_us ? st->now_us : 1;
	c->t_rexmt = st->now_us + c->rto_us;
	dp_tcp_timer_update(c);
}

/* The ACK completing a cookie handshake: rebuild the conn from the cookie
 * and the timestamp echo. Returns the conn, or NULL (caller answers RST). */
static struct dp_tcp_conn *cookie_open(struct dp_tcp_stack *st, struct dp_tcp_listener *l,
				       const struct dp_tcp_key *k, const struct dp_tcp_seg *s)
{
	struct dp_tcp_opts o;
	uint16_t mss;
	struct dp_tcp_conn *c;
	int rc;

	if (!st->cfg.syncookies)
		return NULL;
	rc = dp_tcp_cookie_check(st, k, s->seq - 1, s->ack - 1, &mss);
	if (rc < 0) {
		if (rc == -EINVAL) /* -ENOENT: no cookie sent recently */
			st->stats.syn_cookies_failed++;
		return NULL;
	}
	c = dp_tcp_conn_new(st, k, l);
	if (!c)
		return NULL;
	st->stats.syn_cookies_validated++;
	memset(&o, 0, sizeof(o));
	o.has_mss = 1;
	o.mss = mss;
	if (s->opts.has_ts && st->cfg.timestamps) {
		int ws_ok, sack;
		o.has_ts = 1;
		o.tsval = s->opts.tsval;
		dp_tcp_cookie_ts_decode(s->opts.tsecr, &ws_ok, &o.wscale, &sack);
		o.has_wscale = (uint8_t)ws_ok;
		o.sack_ok = (uint8_t)sack;
	}
	negotiate(c, &o);
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->iss = s->ack - 1;
	c->snd_una = s->ack;
	c->snd_nxt = s->ack;
	c->snd_max = s->ack;
	c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->rcv_adv = c->rcv_nxt + (st->cfg.rcv_wnd > 65535 ? 65535 : st->cfg.rcv_wnd);
	c->last_ack_sent = c->rcv_nxt; /* the cookie's SYN-ACK acked up to here */
	c->last_rx_us = st->now_us;
	dp_tcp_set_state(c, DP_TCP_SYN_RECEIVED);
	if (dp_tcp_conn_establish(c) < 0)
		return NULL;
	return c;
}

/* Run the conn state machine on s, holding c across callbacks. */
static int conn_rx(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	int rc;

	c->busy++;
	rc = dp_tcp_conn_input(c, s);
	c->busy--;
	if (c->dead)
		dp_tcp_conn_release(c);
	return rc;
}

static void listener_rx(struct dp_tcp_stack *st, struct dp_tcp_listener *l,
			const struct dp_tcp_key *k, struct dp_tcp_seg *s)
{
	uint8_t f = s->flags;

	if (f & DP_TH_RST) {
		st->stats.drop_no_conn++;
		goto free;
	}
	if ((f & (DP_TH_SYN | DP_TH_ACK)) == DP_TH_SYN) {
		rte_pktmbuf_free(s->m); /* no data on a SYN (no TCP Fast Open) */
		s->m = NULL;
		passive_open(st, l, k, s);
		return;
	}
	if ((f & (DP_TH_SYN | DP_TH_ACK)) == DP_TH_ACK) {
		struct dp_tcp_conn *c = cookie_open(st, l, k, s);
		if (c) {
			conn_rx(c, s);
			return;
		}
	}
	st->stats.drop_no_conn++;
	rst_reply(st, k, s);
free:
	rte_pktmbuf_free(s->m);
	s->m = NULL;
}

/* Strip IPv4 + TCP headers; the payload (if any) stays as s->m. */
static void take_payload(struct rte_mbuf *m, const struct rx_hdr *h, struct dp_tcp_seg *s)
{
	if (h->seg.len == 0) {
		rte_pktmbuf_free(m);
		s->m = NULL;
		return;
	}
	rte_pktmbuf_adj(m, (uint16_t)(h->ihl + h->doff));
	m->ol_flags = 0;
	s->m = m;
}

static int bad_flags(uint8_t f)
{
	return ((f & DP_TH_SYN) && (f & (DP_TH_FIN | DP_TH_RST))) || f == 0 ||
	       (!(f & DP_TH_ACK) && !(f & DP_TH_SYN) && !(f & DP_TH_RST));
}

int dp_tcp_input(struct dp_tcp_stack *st, struct rte_mbuf *m, uint64_t now_us)
{
	struct rx_hdr h;
	struct dp_tcp_conn *c = NULL;
	struct dp_tcp_listener *l = NULL;
	void *data;
	uint64_t *drop;

	if (now_us > st->now_us)
		st->now_us = now_us;
	drop = parse_hdr(st, m, &h);
	if (drop)
		goto drop;
	if (rte_hash_lookup_data(st->tbl, &h.key, &data) >= 0)
		c = data;
	else if (!(l = dp_tcp_find_listener(st, rte_be_to_cpu_16(h.key.lport))))
		return -ENOENT;
	st->stats.rx_segs++;
	st->stats.rx_bytes += m->pkt_len;
	drop = &st->stats.drop_bad_csum;
	if (!csum_ok(m, h.ihl))
		goto drop;
	drop = &st->stats.drop_bad_opt_len;
	if (dp_tcp_opts_parse(rte_pktmbuf_mtod_offset(m, const uint8_t *, h.ihl + TCP_HLEN),
			      h.doff - TCP_HLEN, h.seg.flags & DP_TH_SYN, &h.seg.opts) < 0)
		goto drop;
	drop = &st->stats.drop_bad_flags;
	if (bad_flags(h.seg.flags))
		goto drop;
	take_payload(m, &h, &h.seg);
	if (c && conn_rx(c, &h.seg) == 1) {
		/* TIME_WAIT reused by a new SYN: treat it as a fresh open. */
		l = dp_tcp_find_listener(st, rte_be_to_cpu_16(h.key.lport));
		c = NULL;
		if (!l) {
			rte_pktmbuf_free(h.seg.m);
			return 0;
		}
	}
	if (!c)
		listener_rx(st, l, &h.key, &h.seg);
	return 0;
drop:
	(*drop)++;
	rte_pktmbuf_free(m);
	return 0;
}

int dp_tcp_reply_rst(struct dp_tcp_stack *st, struct rte_mbuf *m)
{
	struct rx_hdr h;
	int rc = -EINVAL;

	if (!parse_hdr(st, m, &h) && csum_ok(m, h.ihl))
		rc = rst_reply(st, &h.key, &h.seg);
	rte_pktmbuf_free(m);
	return rc;
}
