/* Segment construction and the send path.
 *
 * Every emitted segment is a header mbuf (IPv4 + TCP + options, with
 * DP_TCP_L2_HEADROOM free in front) chained to indirect mbufs attached to
 * the payload the app queued: payload bytes are referenced, never copied,
 * and a retransmission rebuilds the chain over the same bytes. */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/dp_tcp_int.h"

#define IP_HLEN 20
#define TCP_HLEN 20
#define IP_DF 0x4000

/* Everything one outgoing segment needs. */
struct seg_out {
	uint32_t sip, dip;     /* network order */
	uint16_t sport, dport; /* network order */
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	const uint8_t *opts;
	uint32_t optlen;
	struct rte_mbuf *payload; /* chain, consumed */
};

uint32_t dp_tcp_ts_now(const struct dp_tcp_stack *st)
{
	return (uint32_t)(st->now_us / (1000000 / DP_TCP_TS_HZ)) + st->ts_offset;
}

/* Payload bytes per full segment: the send MSS less the timestamp option
 * every segment carries. A segment that also carries SACK blocks is cut
 * shorter still by xmit(). */
uint32_t dp_tcp_data_mss(const struct dp_tcp_conn *c)
{
	return c->mss - (c->ts_ok ? 12u : 0u);
}

/* A chain whose inner segments all have even lengths. A one's-complement
 * sum taken piecewise is only right when every piece but the last is even
 * (an odd piece shifts the byte lanes of the next); net_tap's TX checksum
 * "offload" sums per segment without correcting for that, and the peer
 * silently drops the segment as corrupt, on every retransmission too. */
static int chain_even(const struct rte_mbuf *m)
{
	for (; m && m->next; m = m->next)
		if (m->data_len & 1)
			return 0;
	return 1;
}

/* One's-complement sum of the IPv4 pseudo-header and bytes [l4_off,
 * pkt_len) of chain m, folded to 16 bits. Each piece is summed on its own
 * and, when it starts at an odd offset of the segment, byte-swapped into
 * the right lanes: rte_ipv4_udptcp_cksum_mbuf() of DPDK 22.11 gets chains
 * with odd-length pieces wrong, and payload slices of any length are what
 * zero-copy sending produces. */
uint16_t dp_tcp_l4_sum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4_off)
{
	uint64_t sum = rte_ipv4_phdr_cksum(ip, 0);
	uint32_t done = 0;

	for (; m; m = m->next) {
		uint32_t len = m->data_len;
		if (l4_off >= len) {
			l4_off -= len;
			continue;
		}
		len -= l4_off;
		uint32_t s = __rte_raw_cksum_reduce(
			__rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t *, l4_off), len, 0));
		l4_off = 0;
		sum += (done & 1) ? rte_bswap16((uint16_t)s) : s;
		done += len;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void fill_csum(struct dp_tcp_stack *st, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
		      struct rte_tcp_hdr *th, uint32_t thlen)
{
	if (st->cfg.tx_csum_offload && chain_even(m)) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
		m->l2_len = 0;
		m->l3_len = IP_HLEN;
		m->l4_len = thlen;
		ip->hdr_checksum = 0;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		return;
	}
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = 0;
	uint16_t ck = (uint16_t)~dp_tcp_l4_sum(m, ip, IP_HLEN);
	th->cksum = ck ? ck : 0xffff;
}

/* Build and hand one segment to ip_output. Returns 0 or -ENOBUFS (the
 * payload chain is freed either way). */
static int emit(struct dp_tcp_stack *st, const struct seg_out *o)
{
	uint32_t thlen = TCP_HLEN + o->optlen;
	struct rte_mbuf *m = rte_pktmbuf_alloc(st->hdr_pool);
	uint32_t plen = o->payload ? o->payload->pkt_len : 0;

	if (!m)
		goto nobufs;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(IP_HLEN + thlen));
	if (!p)
		goto nobufs;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + IP_HLEN);
	memset(ip, 0, IP_HLEN);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(IP_HLEN + thlen + plen));
	ip->packet_id = rte_cpu_to_be_16(st->ip_id++);
	ip->fragment_offset = rte_cpu_to_be_16(IP_DF);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = o->sip;
	ip->dst_addr = o->dip;
	th->src_port = o->sport;
	th->dst_port = o->dport;
	th->sent_seq = rte_cpu_to_be_32(o->seq);
	th->recv_ack = rte_cpu_to_be_32(o->ack);
	th->data_off = (uint8_t)((thlen / 4) << 4);
	th->tcp_flags = o->flags;
	th->rx_win = rte_cpu_to_be_16(o->wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (o->optlen)
		memcpy(p + IP_HLEN + TCP_HLEN, o->opts, o->optlen);
	if (o->payload && rte_pktmbuf_chain(m, o->payload) != 0) {
		rte_pktmbuf_free(m);
		m = NULL;
		goto nobufs;
	}
	fill_csum(st, m, ip, th, thlen);
	st->stats.tx_segs++;
	st->stats.tx_bytes += m->pkt_len;
	st->stats.tx_payload_bytes += plen;
	if (o->flags & DP_TH_RST)
		st->stats.rst_sent++;
	st->ops.ip_output(st->ops.arg, m);
	return 0;
nobufs:
	st->stats.drop_no_mbuf++;
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(o->payload);
	return -ENOBUFS;
}

/* Window we can offer: the configured buffer less what the app holds and
 * what waits out of order, never moving the right edge back (RFC 9293
 * 3.8.6.2.2), capped by what the window field can express. */
uint32_t dp_tcp_rcv_window(const struct dp_tcp_conn *c)
{
	uint32_t buf = c->st->cfg.rcv_wnd;
	uint32_t used = c->app_held + c->ooo_bytes;
	uint32_t cap = 65535u << c->rcv_wscale;

	if (c->rcv_buf && c->rcv_buf < buf)
		buf = c->rcv_buf;
	uint32_t avail = buf > used ? buf - used : 0;
	if (avail > cap)
		avail = cap;
	/* Receiver SWS avoidance (RFC 1122 4.2.3.3): do not offer slivers. */
	if (avail < c->mss && avail < buf / 2)
		avail = 0;
	uint32_t edge = c->rcv_nxt + avail;
	if (dp_seq_lt(edge, c->rcv_adv))
		edge = c->rcv_adv;
	return edge - c->rcv_nxt;
}

static void conn_addr(const struct dp_tcp_conn *c, struct seg_out *o)
{
	memset(o, 0, sizeof(*o));
	o->sip = c->key.lip;
	o->dip = c->key.rip;
	o->sport = c->key.lport;
	o->dport = c->key.rport;
}

/* Slice [off, off + len) of the send queue (off from snd_una) into a chain
 * of indirect mbufs. Returns NULL on mbuf exhaustion. */
static struct rte_mbuf *sndq_slice(struct dp_tcp_conn *c, uint32_t off, uint32_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t cap = c->st->cfg.snd_refs_max;

	for (uint32_t i = 0; i < c->nref && len; i++) {
		const struct dp_tcp_sndref *r = &c->refs[(c->ref_head + i) % cap];
		if (off >= r->len) {
			off -= r->len;
			continue;
		}
		uint32_t n = r->len - off < len ? r->len - off : len;
		struct rte_mbuf *mi = rte_pktmbuf_alloc(c->st->hdr_pool);
		if (!mi)
			goto fail;
		rte_pktmbuf_attach(mi, r->seg);
		mi->data_off = (uint16_t)(r->off + off);
		mi->data_len = (uint16_t)n;
		mi->pkt_len = n;
		if (!head) {
			head = mi;
		} else {
			tail->next = mi;
			head->nb_segs++;
			head->pkt_len += n;
		}
		tail = mi;
		off = 0;
		len -= n;
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

static uint32_t conn_options(struct dp_tcp_conn *c, uint8_t *opts, int with_sack)
{
	struct dp_tcp_range blocks[DP_TCP_MAX_OPT_SACK];
	uint32_t nb = 0;

	if (with_sack && c->sack_ok && c->nooo) {
		nb = dp_tcp_sack_blocks_out(c, blocks, c->ts_ok ? 3 : 4);
		c->st->stats.sack_blocks_sent += nb;
	}
	return dp_tcp_opts_write(opts, c->ts_ok, dp_tcp_ts_now(c->st), c->ts_recent, blocks, nb);
}

/* Emit one segment of conn c: payload [seq, seq + len) from the send queue,
 * flags, the current ACK and window. Options count against the peer's MSS
 * (RFC 6691, Linux's mss_cache): when SACK blocks ride on a data segment
 * the payload is cut so header + options + payload never exceed
 * 40 + c->mss (<= cfg.mss, itself sized to the port MTU); FIN and PSH
 * belong to the last byte and go with the cut tail. Returns the payload
 * bytes sent (<= len) or -errno. Clears pending-ACK state. */
static int xmit(struct dp_tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint8_t opts[40];
	struct seg_out o;
	uint32_t wnd = dp_tcp_rcv_window(c);
	uint32_t field = wnd >> c->rcv_wscale;

	conn_addr(c, &o);
	if (field > 65535)
		field = 65535;
	o.seq = seq;
	o.ack = c->rcv_nxt;
	o.flags = flags;
	o.wnd = (uint16_t)field;
	o.opts = opts;
	o.optlen = conn_options(c, opts, !(flags & DP_TH_SYN));
	if (len && len + o.optlen > c->mss) {
		len = c->mss - o.optlen; /* mss >= 64 > 40 >= optlen */
		flags &= (uint8_t)~(DP_TH_FIN | DP_TH_PSH);
		o.flags = flags;
	}
	if (len) {
		o.payload = sndq_slice(c, seq - c->snd_una, len);
		if (!o.payload) {
			c->st->stats.drop_no_mbuf++;
			return -ENOBUFS;
		}
	}
	uint32_t edge = c->rcv_nxt + (field << c->rcv_wscale);
	if (dp_seq_gt(edge, c->rcv_adv))
		c->rcv_adv = edge;
	c->last_ack_sent = c->rcv_nxt;
	c->ack_now = 0;
	c->t_delack = 0;
	int rc = emit(c->st, &o);
	return rc < 0 ? rc : (int)len;
}

/* Pure ACK now (also window updates, dup ACKs with SACK blocks).
 * Returns 0 or -errno. Its seq is snd_max, as BSD does: after an RTO
 * snd_nxt is back at snd_una, below what the peer already holds, and a
 * pure ACK with such a seq is an "old duplicate" to Linux, its ACK field
 * ignored. */
int dp_tcp_send_ack(struct dp_tcp_conn *c)
{
	int rc = xmit(c, c->snd_max, 0, DP_TH_ACK);

	dp_tcp_timer_update(c);
	return rc < 0 ? rc : 0;
}

/* Probe with an already acknowledged sequence number (snd_una - 1, no data)
 * so the peer answers with an ACK carrying its window: zero-window probes and
 * keepalives. */
int dp_tcp_send_probe(struct dp_tcp_conn *c)
{
	int rc = xmit(c, c->snd_una - 1, 0, DP_TH_ACK);

	return rc < 0 ? rc : 0;
}

/* SYN-ACK for a conn in SYN_RECEIVED (first send and retransmissions). */
int dp_tcp_send_synack(struct dp_tcp_conn *c)
{
	uint8_t opts[40];
	struct seg_out o;

	conn_addr(c, &o);
	o.seq = c->iss;
	o.ack = c->rcv_nxt;
	o.flags = DP_TH_SYN | DP_TH_ACK;
	/* The window in a SYN-ACK is never scaled (RFC 7323 2.2). */
	o.wnd = (uint16_t)(c->st->cfg.rcv_wnd > 65535 ? 65535 : c->st->cfg.rcv_wnd);
	o.opts = opts;
	o.optlen = dp_tcp_opts_write_syn(opts, c->st->cfg.mss, c->ws_ok, c->rcv_wscale,
					 c->sack_ok, c->ts_ok, dp_tcp_ts_now(c->st),
					 c->ts_recent);
	c->rcv_adv = c->rcv_nxt + o.wnd;
	c->last_ack_sent = c->rcv_nxt;
	return emit(c->st, &o);
}

/* Stateless SYN-ACK carrying a cookie; options mirror what the SYN
 * offered, window scale and SACK folded into TSval when timestamps are on. */
int dp_tcp_send_synack_cookie(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			      uint32_t iss, uint32_t rcv_nxt, const struct dp_tcp_opts *in,
			      uint16_t mss)
{
	uint8_t opts[40];
	struct seg_out o;
	int ts = in->has_ts && st->cfg.timestamps;
	int ws = ts && in->has_wscale && !st->cfg.no_wscale;
	int sack = ts && in->sack_ok && st->cfg.sack;
	uint32_t tsval = 0;

	(void)mss;
	if (ts)
		tsval = dp_tcp_cookie_ts_encode(dp_tcp_ts_now(st), ws, in->wscale, sack);
	memset(&o, 0, sizeof(o));
	o.sip = k->lip;
	o.dip = k->rip;
	o.sport = k->lport;
	o.dport = k->rport;
	o.seq = iss;
	o.ack = rcv_nxt;
	o.flags = DP_TH_SYN | DP_TH_ACK;
	o.wnd = (uint16_t)(st->cfg.rcv_wnd > 65535 ? 65535 : st->cfg.rcv_wnd);
	o.opts = opts;
	o.optlen = dp_tcp_opts_write_syn(opts, st->cfg.mss, ws, st->cfg.wscale, sack, ts, tsval,
					 in->tsval);
	return emit(st, &o);
}

/* RST from conn state: seq = snd_nxt, and ack = rcv_nxt when flags carry
 * ACK. */
int dp_tcp_send_rst_conn_flags(struct dp_tcp_conn *c, uint8_t flags)
{
	struct seg_out o;

	conn_addr(c, &o);
	o.seq = c->snd_nxt;
	o.ack = (flags & DP_TH_ACK) ? c->rcv_nxt : 0;
	o.flags = flags;
	return emit(c->st, &o);
}

/* RST for a live conn (abort, timeouts). */
int dp_tcp_send_rst_conn(struct dp_tcp_conn *c)
{
	return dp_tcp_send_rst_conn_flags(c, DP_TH_RST | DP_TH_ACK);
}

static uint32_t sndq_end(const struct dp_tcp_conn *c)
{
	return c->snd_una + c->queued;
}

static void arm_rexmt(struct dp_tcp_conn *c)
{
	if (!c->t_rexmt)
		c->t_rexmt = c->st->now_us + c->rto_us;
}

/* One retransmission at seq (data up to maxlen bytes, or the FIN when seq
 * is the FIN's). Leaves snd_nxt alone. Returns bytes of sequence space sent
 * (0 when nothing to send there), or -errno. */
int dp_tcp_retransmit(struct dp_tcp_conn *c, uint32_t seq, uint32_t maxlen)
{
	uint32_t qend = sndq_end(c);
	/* Only what was sent before: queued bytes past snd_max are new data,
	 * and sending them here would leave snd_max behind what the peer
	 * holds, so its ACKs would look like ACKs of unsent data. */
	uint32_t end = dp_seq_lt(c->snd_max, qend) ? c->snd_max : qend;
	uint32_t len = 0;
	uint8_t flags = DP_TH_ACK;
	int rc;

	if (dp_seq_lt(seq, end)) {
		len = end - seq;
		if (len > dp_tcp_data_mss(c))
			len = dp_tcp_data_mss(c);
		if (len > maxlen)
			len = maxlen;
		if (seq + len == qend)
			flags |= DP_TH_PSH;
	}
	if (c->fin_sent && seq + len == qend && dp_seq_lt(qend, c->snd_max))
		flags |= DP_TH_FIN;
	if (!len && !(flags & DP_TH_FIN))
		return 0;
	rc = xmit(c, seq, len, flags);
	if (rc < 0)
		return rc;
	if ((uint32_t)rc < len) { /* cut to fit the options: no FIN yet */
		len = (uint32_t)rc;
		flags &= (uint8_t)~DP_TH_FIN;
	}
	c->st->stats.retransmits++;
	c->st->stats.retransmit_bytes += len;
	c->retransmits++;
	c->rtt_start_us = 0; /* Karn: no sample across a retransmission */
	arm_rexmt(c);
	return (int)(len + ((flags & DP_TH_FIN) ? 1 : 0));
}

/* The output path is short of room: data waits, ACKs still fit. */
static int tx_full(const struct dp_tcp_stack *st)
{
	return st->ops.tx_room && st->ops.tx_room(st->ops.arg) < DP_TCP_TX_RESERVE;
}

/* c must wait: no room, or others are already waiting for it (outside
 * dp_tcp_tx_resume, which serves the line in order). */
static int tx_must_wait(const struct dp_tcp_conn *c)
{
	const struct dp_tcp_stack *st = c->st;

	return tx_full(st) || (!st->tx_resuming && !TAILQ_EMPTY(&st->blocked));
}

static void tx_block(struct dp_tcp_conn *c)
{
	if (c->tx_blocked)
		return;
	c->tx_blocked = 1;
	TAILQ_INSERT_TAIL(&c->st->blocked, c, bl);
	c->st->stats.tx_blocked++;
}

unsigned dp_tcp_tx_resume(struct dp_tcp_stack *st)
{
	unsigned n = 0;

	st->tx_resuming = 1;
	while (!TAILQ_EMPTY(&st->blocked) && !tx_full(st)) {
		struct dp_tcp_conn *c = TAILQ_FIRST(&st->blocked);

		TAILQ_REMOVE(&st->blocked, c, bl);
		c->tx_blocked = 0;
		st->stats.tx_resumed++;
		n++;
		dp_tcp_output(c); /* may block it again, at the back of the line */
	}
	st->tx_resuming = 0;
	return n;
}

static int can_send_data(const struct dp_tcp_conn *c)
{
	switch (c->state) {
	case DP_TCP_ESTABLISHED:
	case DP_TCP_CLOSE_WAIT:
	case DP_TCP_FIN_WAIT_1:
	case DP_TCP_CLOSING:
	case DP_TCP_LAST_ACK:
		return 1;
	default:
		return 0;
	}
}

/* Next segment length at snd_nxt, 0 when window or data stop us. */
static uint32_t next_len(struct dp_tcp_conn *c, uint32_t end)
{
	uint32_t wnd = c->cwnd < c->snd_wnd ? c->cwnd : c->snd_wnd;
	uint32_t inflight = c->snd_nxt - c->snd_una;
	uint32_t left = end - c->snd_nxt;
	uint32_t mss = dp_tcp_data_mss(c);

	if (c->sack_ok && c->nsacked)
		inflight -= dp_tcp_sack_bytes(c) < inflight ? dp_tcp_sack_bytes(c) : inflight;
	if (inflight >= wnd)
		return 0;
	uint32_t len = wnd - inflight;
	if (len > mss)
		len = mss;
	if (len > left)
		len = left;
	/* Sender SWS avoidance: a short segment only when it ends the data or
	 * nothing is in flight. */
	if (len < mss && len < left && inflight > 0)
		return 0;
	/* Do not run into a SACKed range while resending after an RTO. */
	for (uint32_t i = 0; i < c->nsacked; i++) {
		uint32_t st = c->sacked[i].start;
		if (dp_seq_gt(st, c->snd_nxt) && dp_seq_lt(st, c->snd_nxt + len))
			len = st - c->snd_nxt;
	}
	return len;
}

static void update_persist(struct dp_tcp_conn *c, uint32_t end)
{
	if (dp_seq_lt(c->snd_nxt, end) && c->snd_wnd == 0 && c->snd_nxt == c->snd_una &&
	    !c->t_rexmt) {
		if (!c->t_persist) {
			uint64_t iv = (uint64_t)c->rto_us << c->persist_backoff;
			uint64_t cap = (uint64_t)c->st->cfg.persist_max_ms * 1000;
			c->t_persist = c->st->now_us + (iv < cap ? iv : cap);
		}
	} else {
		c->t_persist = 0;
		c->persist_backoff = 0;
	}
}

static int send_new_fin(struct dp_tcp_conn *c)
{
	int rc = xmit(c, c->snd_nxt, 0, DP_TH_ACK | DP_TH_FIN);

	if (rc < 0)
		return rc;
	if (dp_seq_lt(c->snd_nxt, c->snd_max))
		c->st->stats.retransmits++;
	c->fin_sent = 1;
	c->snd_nxt++;
	c->snd_max = dp_seq_max(c->snd_max, c->snd_nxt);
	arm_rexmt(c);
	return 1;
}

/* Send what the congestion and peer windows allow, then the FIN when queued
 * and due; a pure ACK if one is pending and nothing else carried it.
 * Returns segments sent or -errno. */
int dp_tcp_output(struct dp_tcp_conn *c)
{
	uint32_t end = sndq_end(c);
	int sent = 0;

	while (can_send_data(c)) {
		uint32_t run_end;
		/* Skip what the peer holds. A SACK block may cover our FIN (Linux
		 * counts it in a block's right edge): stop at the end of the data
		 * and let the FIN logic below decide, never loop in place. */
		if (dp_seq_lt(c->snd_nxt, c->snd_max) &&
		    dp_tcp_sack_is_sacked(c, c->snd_nxt, &run_end) &&
		    dp_seq_gt(dp_seq_min(run_end, end), c->snd_nxt)) {
			c->snd_nxt = dp_seq_min(run_end, end);
			continue;
		}
		if (dp_seq_lt(c->snd_nxt, end)) {
			uint32_t len = next_len(c, end);
			if (!len)
				break;
			if (tx_must_wait(c)) {
				tx_block(c);
				break;
			}
			uint8_t flags = DP_TH_ACK | (c->snd_nxt + len == end ? DP_TH_PSH : 0);
			int rexmt = dp_seq_lt(c->snd_nxt, c->snd_max);
			int n = xmit(c, c->snd_nxt, len, flags);
			if (n < 0)
				break;
			len = (uint32_t)n;
			if (rexmt) {
				c->st->stats.retransmits++;
				c->st->stats.retransmit_bytes += len;
				c->retransmits++;
			} else if (!c->rtt_start_us) {
				c->rtt_start_us = c->st->now_us;
				c->rtt_seq = c->snd_nxt;
			}
			c->snd_nxt += len;
			c->snd_max = dp_seq_max(c->snd_max, c->snd_nxt);
			arm_rexmt(c);
			sent++;
			continue;
		}
		if (c->fin_queued && c->snd_nxt == end && (!c->fin_sent || dp_seq_lt(c->snd_nxt,
									     c->snd_max))) {
			if (send_new_fin(c) > 0)
				sent++;
		}
		break;
	}
	update_persist(c, end);
	if (!sent && c->ack_now && c->state != DP_TCP_SYN_RECEIVED)
		dp_tcp_send_ack(c);
	dp_tcp_timer_update(c);
	return sent;
}

/* bytes at the front of the queue were acknowledged: drop their
 * references. */
void dp_tcp_sndq_ack(struct dp_tcp_conn *c, uint32_t bytes)
{
	uint32_t cap = c->st->cfg.snd_refs_max;

	if (bytes > c->queued)
		bytes = c->queued;
	c->queued -= bytes;
	while (bytes && c->nref) {
		struct dp_tcp_sndref *r = &c->refs[c->ref_head];
		if (bytes < r->len) {
			r->off += bytes;
			r->len -= bytes;
			break;
		}
		bytes -= r->len;
		rte_pktmbuf_free_seg(r->seg);
		r->seg = NULL;
		c->ref_head = (c->ref_head + 1) % cap;
		c->nref--;
		c->st->stats.send_refs_held--;
	}
}

/* Drop every queued reference (conn teardown). */
void dp_tcp_sndq_flush(struct dp_tcp_conn *c)
{
	dp_tcp_sndq_ack(c, c->queued);
	/* Zero-length entries cannot exist, but be exact about the count. */
	while (c->nref) {
		struct dp_tcp_sndref *r = &c->refs[c->ref_head];
		rte_pktmbuf_free_seg(r->seg);
		c->ref_head = (c->ref_head + 1) % c->st->cfg.snd_refs_max;
		c->nref--;
		c->st->stats.send_refs_held--;
	}
}
