/* The connection state machine for arriving segments (RFC 9293 3.10.7.4),
 * with RFC 5961 RST/SYN handling, RFC 7323 PAWS, RFC 6582/2018 recovery and
 * the bounded out-of-order queue. */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_tcp_int.h"

#define SEG_DROP 2 /* internal: segment fully handled (freed) */

static void seg_free(struct dp_tcp_seg *s)
{
	rte_pktmbuf_free(s->m);
	s->m = NULL;
}

/* Remove the first n bytes of chain m (n < m->pkt_len). Returns the new
 * head (leading segments that became empty are freed). */
static struct rte_mbuf *chain_trim_front(struct rte_mbuf *m, uint32_t n)
{
	uint32_t total = m->pkt_len - n;
	uint16_t nb = m->nb_segs;

	while (m && n >= m->data_len) {
		struct rte_mbuf *next = m->next;
		n -= m->data_len;
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		nb--;
		m = next;
	}
	if (!m)
		return NULL;
	m->data_off = (uint16_t)(m->data_off + n);
	m->data_len = (uint16_t)(m->data_len - n);
	m->pkt_len = total;
	m->nb_segs = nb;
	return m;
}

/* Keep only the first keep bytes of chain m (0 < keep <= pkt_len). */
static void chain_trim_back(struct rte_mbuf *m, uint32_t keep)
{
	struct rte_mbuf *s = m;
	uint32_t acc = 0;
	uint16_t nb = 0;

	while (s) {
		nb++;
		if (acc + s->data_len >= keep) {
			s->data_len = (uint16_t)(keep - acc);
			rte_pktmbuf_free(s->next);
			s->next = NULL;
			break;
		}
		acc += s->data_len;
		s = s->next;
	}
	m->pkt_len = keep;
	m->nb_segs = nb;
}

static void note_rx(struct dp_tcp_conn *c)
{
	const struct dp_tcp_cfg *cfg = &c->st->cfg;
	uint64_t now = c->st->now_us;

	c->last_rx_us = now;
	if (cfg->idle_timeout_ms)
		c->t_idle = now + (uint64_t)cfg->idle_timeout_ms * 1000;
	if (cfg->keepalive_ms && c->state != DP_TCP_SYN_RECEIVED) {
		c->t_keep = now + (uint64_t)cfg->keepalive_ms * 1000;
		c->keep_sent = 0;
	}
}

/* RFC 9293 3.10.7.4 first check, against the window we advertised, read
 * as Linux's tcp_sequence() does: a segment is acceptable unless it lies
 * wholly before what we last acknowledged or starts past the right edge.
 * The strict RFC test rejects two segments real peers send, with fatal
 * results once both ends retransmit: a pure ACK from a peer that filled
 * our window (its seq IS the right edge), and a retransmission that
 * starts before rcv_nxt and runs past a small window. Their ACK fields
 * must count (RFC 9293 allows valid ACKs even into a zero window); data
 * outside the window is trimmed afterwards. */
static int seq_acceptable(const struct dp_tcp_conn *c, const struct dp_tcp_seg *s)
{
	uint32_t wnd = c->rcv_adv - c->rcv_nxt;
	uint32_t slen = s->len + ((s->flags & DP_TH_FIN) ? 1 : 0);
	uint32_t lo = dp_seq_lt(c->last_ack_sent, c->rcv_nxt) ? c->last_ack_sent : c->rcv_nxt;

	if (dp_seq_gt(c->rcv_nxt, c->rcv_adv))
		wnd = 0;
	if (s->seq == c->rcv_nxt)
		return 1;
	return dp_seq_geq(s->seq + slen, lo) && dp_seq_leq(s->seq, c->rcv_nxt + wnd);
}

/* RFC 7323 5.3 PAWS: a timestamp older than ts_recent marks an old
 * duplicate. */
static int paws_reject(const struct dp_tcp_conn *c, const struct dp_tcp_seg *s)
{
	return c->ts_ok && s->opts.has_ts && !(s->flags & DP_TH_RST) &&
	       dp_seq_lt(s->opts.tsval, c->ts_recent);
}

static void reset_by_peer(struct dp_tcp_conn *c)
{
	c->st->stats.rst_rcvd++;
	c->st->stats.conns_reset++;
	dp_tcp_conn_final(c, -ECONNRESET);
	dp_tcp_conn_destroy(c);
}

/* RFC 5961 3.2: only an exact RST resets; one merely in the window gets a
 * challenge ACK (the peer answers a real loss of state with a proper RST). */
static int rst_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	seg_free(s);
	if (s->seq == c->rcv_nxt) {
		reset_by_peer(c);
		return SEG_DROP;
	}
	c->st->stats.rst_challenge_acks++;
	dp_tcp_send_ack(c);
	return SEG_DROP;
}

static void enter_time_wait(struct dp_tcp_conn *c)
{
	dp_tcp_set_state(c, DP_TCP_TIME_WAIT);
	c->t_rexmt = 0;
	c->t_persist = 0;
	c->t_keep = 0;
	c->t_idle = 0;
	c->t_2msl = c->st->now_us + (uint64_t)c->st->cfg.time_wait_ms * 1000;
	dp_tcp_sndq_flush(c);
	c->queued = 0;
	dp_tcp_conn_final(c, DP_TCP_CLOSE_DONE);
}

/* Our FIN was acknowledged. Returns SEG_DROP when the conn is gone. */
static int fin_acked(struct dp_tcp_conn *c)
{
	switch (c->state) {
	case DP_TCP_FIN_WAIT_1:
		dp_tcp_set_state(c, DP_TCP_FIN_WAIT_2);
		c->t_2msl = c->st->now_us + (uint64_t)c->st->cfg.fin_wait2_ms * 1000;
		return 0;
	case DP_TCP_CLOSING:
		enter_time_wait(c);
		return 0;
	case DP_TCP_LAST_ACK:
		dp_tcp_conn_final(c, DP_TCP_CLOSE_DONE);
		dp_tcp_conn_destroy(c);
		return SEG_DROP;
	default:
		return 0;
	}
}

static void rtt_from_ack(struct dp_tcp_conn *c, const struct dp_tcp_seg *s)
{
	if (c->ts_ok && s->opts.has_ts && s->opts.tsecr) {
		int32_t d = dp_seq_diff(dp_tcp_ts_now(c->st), s->opts.tsecr);
		if (d >= 0 && d < 600000)
			dp_tcp_rtt_sample(c, (uint32_t)d * (1000000 / DP_TCP_TS_HZ) +
						     (1000000 / DP_TCP_TS_HZ) / 2);
		c->rtt_start_us = 0;
		return;
	}
	if (c->rtt_start_us && dp_seq_gt(s->ack, c->rtt_seq)) {
		dp_tcp_rtt_sample(c, (uint32_t)(c->st->now_us - c->rtt_start_us));
		c->rtt_start_us = 0;
	}
}

/* In recovery with SACK: resend the next hole above what we already
 * resent. Returns 1 when something went out. */
static int sack_rexmit_hole(struct dp_tcp_conn *c)
{
	uint32_t hs, he;
	int n;

	if (!c->sack_ok || !dp_tcp_sack_next_hole(c, c->hi_rxt, &hs, &he))
		return 0;
	n = dp_tcp_retransmit(c, hs, he - hs);
	if (n <= 0)
		return 0;
	c->hi_rxt = hs + (uint32_t)n;
	return 1;
}

static void partial_ack(struct dp_tcp_conn *c, uint32_t acked)
{
	/* RFC 6582 3.2 step 4 / RFC 6675: resend the next loss, deflate. */
	if (dp_seq_leq(c->hi_rxt, c->snd_una) || !c->sack_ok) {
		int n = dp_tcp_retransmit(c, c->snd_una, UINT32_MAX);
		if (n > 0)
			c->hi_rxt = dp_seq_max(c->hi_rxt, c->snd_una + (uint32_t)n);
	} else {
		sack_rexmit_hole(c);
	}
	c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
	c->cwnd += c->mss;
}

/* Eifel detection (RFC 3522) of a fast retransmission the network did not
 * need: the first ACK past the retransmitted segment echoes a timestamp
 * older than the retransmission, so the original got there, only late
 * (reordering: net_impair, multipath, ...). Undo the window reduction and
 * raise DupThresh to the reordering seen (Linux's tp->reordering), or every
 * reordered window would halve cwnd. Returns 1 when undone. */
static int spurious_recovery(struct dp_tcp_conn *c, const struct dp_tcp_seg *s)
{
	if (!c->undo_ok || !c->in_recovery)
		return 0;
	c->undo_ok = 0;
	if (!s->opts.has_ts || !s->opts.tsecr || !dp_seq_lt(s->opts.tsecr, c->undo_tsval))
		return 0;
	c->cwnd = c->cwnd > c->undo_cwnd ? c->cwnd : c->undo_cwnd;
	c->ssthresh = c->ssthresh > c->undo_ssthresh ? c->ssthresh : c->undo_ssthresh;
	c->cubic_wmax = c->undo_wmax;
	c->in_recovery = 0;
	c->recover = s->ack; /* a real loss further on may recover at once */
	if (c->undo_extent + 1 > c->reord)
		c->reord = (uint8_t)(c->undo_extent + 1 < DP_TCP_REORDER_MAX ? c->undo_extent + 1
									  : DP_TCP_REORDER_MAX);
	c->st->stats.spurious_recoveries++;
	return 1;
}

static int new_ack(struct dp_tcp_conn *c, struct dp_tcp_seg *s, uint32_t acked)
{
	int fin = c->fin_sent && dp_seq_gt(s->ack, c->fin_seq);
	uint32_t data = acked - (fin ? 1u : 0u);

	spurious_recovery(c, s);
	rtt_from_ack(c, s);
	c->backoff = 0;
	c->snd_una = s->ack;
	dp_tcp_sndq_ack(c, data);
	if (dp_seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	if (dp_seq_lt(c->hi_rxt, c->snd_una))
		c->hi_rxt = c->snd_una;
	dp_tcp_sack_prune(c);
	if (c->in_recovery) {
		if (dp_seq_geq(s->ack, c->recover))
			dp_tcp_cc_exit_recovery(c, c->st->now_us);
		else
			partial_ack(c, data);
	} else {
		dp_tcp_cc_on_ack(c, data, c->st->now_us);
	}
	c->dupacks = 0;
	c->t_rexmt = c->snd_una == c->snd_max ? 0 : c->st->now_us + c->rto_us;
	if (fin)
		return fin_acked(c);
	return 0;
}

/* DupThresh dup ACKs, or SACK already shows DupThresh segments' worth above
 * a hole (RFC 6675); never twice for the same window (RFC 6582 4.1).
 * DupThresh starts at 3 and grows with the reordering the path showed. */
static void maybe_enter_recovery(struct dp_tcp_conn *c)
{
	uint32_t mss = dp_tcp_data_mss(c);
	/* Never more than half the segments in flight: a small window must
	 * still find its losses without waiting for the RTO. */
	uint32_t half = (c->snd_max - c->snd_una) / mss / 2;
	uint32_t thresh = c->reord;
	int loss;

	if (thresh > half)
		thresh = half > DP_TCP_DUPTHRESH ? half : DP_TCP_DUPTHRESH;
	loss = c->dupacks >= thresh ||
		   (c->sack_ok && dp_tcp_sack_bytes(c) >= thresh * mss);

	if (!loss || (c->recover && dp_seq_lt(c->snd_una, c->recover)))
		return;
	/* What to restore if this proves spurious. */
	c->undo_ok = c->ts_ok;
	c->undo_tsval = dp_tcp_ts_now(c->st);
	c->undo_cwnd = c->cwnd;
	c->undo_ssthresh = c->ssthresh;
	c->undo_wmax = c->cubic_wmax;
	c->undo_extent = c->nsacked ? (dp_tcp_sack_highest(c) - c->snd_una) / mss : c->dupacks;
	c->st->stats.fast_retransmits++;
	if (c->sack_ok && c->nsacked)
		c->st->stats.sack_recoveries++;
	dp_tcp_cc_on_loss(c, 0, c->st->now_us);
	c->recover = c->snd_max;
	c->in_recovery = 1;
	c->hi_rxt = c->snd_una;
	int n = dp_tcp_retransmit(c, c->snd_una, UINT32_MAX);
	if (n > 0)
		c->hi_rxt = c->snd_una + (uint32_t)n;
	c->cwnd = c->ssthresh + 3u * c->mss;
	c->t_rexmt = c->st->now_us + c->rto_us;
}

/* A duplicate ACK in the RFC 5681 sense: pure, same ACK, same window,
 * data outstanding. */
static void dup_ack(struct dp_tcp_conn *c)
{
	c->st->stats.dup_acks++;
	c->dupacks++;
	if (c->in_recovery) {
		c->cwnd += c->mss; /* each dup ACK: a segment left the network */
		sack_rexmit_hole(c);
		return;
	}
	maybe_enter_recovery(c);
}

/* An ACK that moves nothing but carries SACK blocks on a data segment (the
 * peer sends too, as echo clients do): not a dup ACK (RFC 5681), but its
 * SACK information is as good (RFC 6675), so loss detection and hole
 * repair run on it too; without this a bidirectional flow only recovers
 * by RTO. */
static void sack_only_ack(struct dp_tcp_conn *c)
{
	if (c->in_recovery)
		sack_rexmit_hole(c);
	else
		maybe_enter_recovery(c);
}

/* ACK field processing. Returns 0 to go on with the payload, SEG_DROP when
 * the segment is finished (or the conn is gone). */
static int ack_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	uint32_t old_wnd = c->snd_wnd;

	if (dp_seq_gt(s->ack, c->snd_max)) {
		c->st->stats.drop_bad_ack++;
		seg_free(s);
		dp_tcp_send_ack(c);
		return SEG_DROP;
	}
	/* RFC 9293 3.10.7.4: only an acceptable ACK (SND.UNA =< SEG.ACK =<
	 * SND.NXT, the upper bound checked above) may update the window, and
	 * only when newer by SND.WL1/SND.WL2; an old ACK never does. */
	if (dp_seq_geq(s->ack, c->snd_una) &&
	    (dp_seq_lt(c->snd_wl1, s->seq) ||
	     (c->snd_wl1 == s->seq && dp_seq_leq(c->snd_wl2, s->ack)))) {
		c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
	}
	if (c->sack_ok && s->opts.nsack)
		dp_tcp_sack_update(c, &s->opts);
	if (dp_seq_gt(s->ack, c->snd_una))
		return new_ack(c, s, s->ack - c->snd_una);
	if (s->ack != c->snd_una || c->snd_max == c->snd_una)
		return 0;
	if (s->len == 0 && !(s->flags & DP_TH_FIN) && c->snd_wnd == old_wnd)
		dup_ack(c);
	else if (c->sack_ok && s->opts.nsack)
		sack_only_ack(c);
	return 0;
}

static int deliver(struct dp_tcp_conn *c, struct rte_mbuf *m, uint32_t len)
{
	c->rcv_nxt += len;
	c->st->stats.rx_payload_bytes += len;
	if (!c->accepted) {
		rte_pktmbuf_free(m); /* app gone (abort raced): discard */
		return 0;
	}
	c->lst->app.on_data(c->conn_arg, c, m);
	return c->dead ? SEG_DROP : 0;
}

/* Hand up whatever the out-of-order queue now holds in order. */
static int ooo_drain(struct dp_tcp_conn *c)
{
	while (c->nooo && dp_seq_leq(c->ooo[0].seq, c->rcv_nxt)) {
		struct dp_tcp_ooo e = c->ooo[0];
		memmove(&c->ooo[0], &c->ooo[1], (c->nooo - 1) * sizeof(c->ooo[0]));
		c->nooo--;
		c->ooo_bytes -= e.len;
		c->st->stats.ooo_bytes_held -= e.len;
		if (dp_seq_leq(e.seq + e.len, c->rcv_nxt)) {
			rte_pktmbuf_free(e.m);
			continue;
		}
		uint32_t skip = c->rcv_nxt - e.seq;
		if (skip)
			e.m = chain_trim_front(e.m, skip);
		if (deliver(c, e.m, e.len - skip))
			return SEG_DROP;
	}
	return 0;
}

/* Queue an out-of-order segment, trimmed so entries never overlap. Drops
 * (and counts) when slots or ooo_max_bytes run out. */
static void ooo_insert(struct dp_tcp_conn *c, struct rte_mbuf *m, uint32_t seq, uint32_t len)
{
	uint32_t i = 0;

	while (i < c->nooo && dp_seq_lt(c->ooo[i].seq, seq))
		i++;
	if (i > 0) {
		uint32_t pend = c->ooo[i - 1].seq + c->ooo[i - 1].len;
		if (dp_seq_geq(pend, seq + len))
			goto dup;
		if (dp_seq_gt(pend, seq)) {
			m = chain_trim_front(m, pend - seq);
			len -= pend - seq;
			seq = pend;
		}
	}
	if (i < c->nooo && dp_seq_gt(seq + len, c->ooo[i].seq)) {
		if (c->ooo[i].seq == seq)
			goto dup;
		len = c->ooo[i].seq - seq;
		chain_trim_back(m, len);
	}
	if (c->nooo == DP_TCP_OOO_SLOTS || c->ooo_bytes + len > c->st->cfg.ooo_max_bytes) {
		c->st->stats.drop_ooo_overflow++;
		rte_pktmbuf_free(m);
		return;
	}
	memmove(&c->ooo[i + 1], &c->ooo[i], (c->nooo - i) * sizeof(c->ooo[0]));
	c->ooo[i] = (struct dp_tcp_ooo){ seq, len, m };
	c->nooo++;
	c->ooo_bytes += len;
	c->last_ooo_seq = seq;
	c->st->stats.ooo_segs++;
	c->st->stats.ooo_bytes_queued += len;
	c->st->stats.ooo_bytes_held += len;
	return;
dup:
	c->last_ooo_seq = seq;
	rte_pktmbuf_free(m);
}

/* The peer's FIN is next in sequence. */
static int fin_input(struct dp_tcp_conn *c)
{
	c->rcv_nxt++;
	c->fin_rcvd = 1;
	c->ack_now = 1;
	c->ooo_fin = 0;
	switch (c->state) {
	case DP_TCP_ESTABLISHED:
		dp_tcp_set_state(c, DP_TCP_CLOSE_WAIT);
		if (c->accepted) {
			dp_tcp_send_ack(c); /* before the app reacts */
			c->lst->app.on_close(c->conn_arg, c, DP_TCP_CLOSE_PEER_FIN);
		}
		return c->dead ? SEG_DROP : 0;
	case DP_TCP_FIN_WAIT_1:
		dp_tcp_set_state(c, DP_TCP_CLOSING); /* simultaneous close */
		return 0;
	case DP_TCP_FIN_WAIT_2:
		c->t_2msl = 0;
		dp_tcp_send_ack(c);
		enter_time_wait(c);
		return c->dead ? SEG_DROP : 0;
	default:
		return 0;
	}
}

static void arm_delack(struct dp_tcp_conn *c)
{
	if (c->rcv_nxt == c->last_ack_sent)
		return; /* the app's reply carried the ACK already */
	/* RFC 1122 / 5681: ACK at least every second full-sized segment,
	 * counted in bytes (as Linux does): a sender writing small segments
	 * (an encoder with Nagle off) is otherwise ACKed by the timer only and
	 * held to a few segments per delayed-ACK period. */
	if (c->rcv_nxt - c->last_ack_sent >= 2 * dp_tcp_data_mss(c)) {
		c->ack_now = 1;
		return;
	}
	if (!c->t_delack)
		c->t_delack = c->st->now_us + (uint64_t)c->st->cfg.delack_ms * 1000;
}

static int data_state(const struct dp_tcp_conn *c)
{
	return c->state == DP_TCP_ESTABLISHED || c->state == DP_TCP_FIN_WAIT_1 ||
	       c->state == DP_TCP_FIN_WAIT_2;
}

/* Trim s to [rcv_nxt, right window edge). Returns 0 when nothing new. */
static int trim_to_window(struct dp_tcp_conn *c, struct dp_tcp_seg *s, int *fin)
{
	uint32_t wnd = dp_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;

	if (dp_seq_lt(s->seq, c->rcv_nxt)) {
		uint32_t d = c->rcv_nxt - s->seq;
		c->ack_now = 1; /* a duplicate: tell the peer where we are */
		if (d >= s->len) {
			seg_free(s);
			if (d > s->len)
				*fin = 0; /* an old FIN, already consumed */
			s->len = 0;
			s->seq = c->rcv_nxt;
		} else {
			s->m = chain_trim_front(s->m, d);
			s->len -= d;
			s->seq = c->rcv_nxt;
		}
	}
	uint32_t off = s->seq - c->rcv_nxt;
	if (off >= wnd && s->len) {
		seg_free(s);
		s->len = 0;
		*fin = 0;
		c->ack_now = 1;
		return 0;
	}
	if (s->len && off + s->len > wnd) {
		s->len = wnd - off;
		chain_trim_back(s->m, s->len);
		*fin = 0;
		c->ack_now = 1;
	}
	return s->len || *fin;
}

static int data_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	int fin = (s->flags & DP_TH_FIN) != 0;

	if (!data_state(c)) {
		/* Data after the peer's FIN is a protocol error; a repeated FIN
		 * needs an ACK. */
		if (s->len || fin)
			c->ack_now = 1;
		seg_free(s);
		return 0;
	}
	if (!trim_to_window(c, s, &fin))
		return 0;
	if (s->seq != c->rcv_nxt) {
		if (s->len)
			ooo_insert(c, s->m, s->seq, s->len);
		else
			rte_pktmbuf_free(s->m);
		s->m = NULL;
		if (fin) {
			c->ooo_fin = 1;
			c->ooo_fin_seq = s->seq + s->len;
		}
		c->ack_now = 1; /* dup ACK with SACK blocks: fast retransmit */
		return 0;
	}
	int had_ooo = c->nooo != 0;
	if (s->len) {
		struct rte_mbuf *m = s->m;
		s->m = NULL;
		if (deliver(c, m, s->len) || ooo_drain(c))
			return SEG_DROP;
		if (had_ooo)
			c->ack_now = 1; /* filled a hole: ACK at once */
		else
			arm_delack(c);
	}
	if (fin || (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt))
		return fin_input(c);
	return 0;
}

/* SYN_RECEIVED: wait for the ACK of our SYN-ACK. Returns 1 to continue in
 * ESTABLISHED, SEG_DROP when done. */
static int synrcvd_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	if (s->flags & DP_TH_RST) {
		seg_free(s);
		if (dp_seq_in(s->seq, c->rcv_nxt, c->rcv_nxt + 65536)) {
			c->st->stats.rst_rcvd++;
			dp_tcp_conn_destroy(c);
		}
		return SEG_DROP;
	}
	if (s->flags & DP_TH_SYN) {
		seg_free(s);
		if (s->seq == c->irs) /* our SYN-ACK was lost */
			dp_tcp_send_synack(c);
		return SEG_DROP;
	}
	if (!(s->flags & DP_TH_ACK) || s->ack != c->iss + 1 ||
	    !dp_seq_in(s->seq, c->rcv_nxt, c->rcv_nxt + 65536)) {
		c->st->stats.drop_bad_ack++;
		seg_free(s);
		if ((s->flags & DP_TH_ACK) && s->ack != c->iss + 1)
			dp_tcp_send_rst_conn_flags(&(struct dp_tcp_conn){ .st = c->st, .key = c->key,
									   .snd_nxt = s->ack },
						   DP_TH_RST);
		return SEG_DROP;
	}
	if (c->rtt_start_us && !c->syn_retries)
		dp_tcp_rtt_sample(c, (uint32_t)(c->st->now_us - c->rtt_start_us));
	c->rtt_start_us = 0;
	c->snd_una = s->ack;
	c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (c->ts_ok && s->opts.has_ts)
		c->ts_recent = s->opts.tsval;
	if (dp_tcp_conn_establish(c) < 0) {
		seg_free(s);
		return SEG_DROP;
	}
	return 1;
}

/* TIME_WAIT: re-ACK a retransmitted FIN, let a new SYN take the tuple
 * (returns 1: the caller opens a fresh conn). RSTs are ignored (RFC 1337,
 * TIME-WAIT assassination): an old duplicate or forged RST must not cut
 * the 2MSL wait short; the timer alone ends it. */
static int time_wait_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	if (s->flags & DP_TH_RST) {
		c->st->stats.rst_ignored++;
		seg_free(s);
		return SEG_DROP;
	}
	if ((s->flags & (DP_TH_SYN | DP_TH_ACK)) == DP_TH_SYN) {
		int newer = dp_seq_gt(s->seq, c->rcv_nxt) ||
			    (c->ts_ok && s->opts.has_ts && dp_seq_gt(s->opts.tsval, c->ts_recent));
		if (newer) {
			dp_tcp_conn_destroy(c);
			return 1;
		}
		seg_free(s);
		return SEG_DROP;
	}
	seg_free(s);
	if (s->flags & DP_TH_FIN) {
		c->t_2msl = c->st->now_us + (uint64_t)c->st->cfg.time_wait_ms * 1000;
		dp_tcp_send_ack(c);
	}
	return SEG_DROP;
}

static void maybe_writable(struct dp_tcp_conn *c)
{
	if (!c->want_writable || !c->accepted || dp_tcp_send_space(c) == 0)
		return;
	c->want_writable = 0;
	if (c->lst->app.on_writable)
		c->lst->app.on_writable(c->conn_arg, c);
}

/* Process one segment for conn c (headers already trimmed into s).
 * Returns 0 when consumed, 1 when a SYN reopened a TIME_WAIT tuple (c is
 * destroyed, s->m untouched; the caller runs the listener path). */
int dp_tcp_conn_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s)
{
	if (c->state == DP_TCP_TIME_WAIT)
		return time_wait_input(c, s) == 1 ? 1 : 0;
	if (c->state == DP_TCP_SYN_RECEIVED && synrcvd_input(c, s) != 1)
		return 0;
	if (paws_reject(c, s) || !seq_acceptable(c, s)) {
		c->st->stats.drop_out_of_window++;
		if (s->flags & DP_TH_RST)
			c->st->stats.rst_ignored++;
		else
			dp_tcp_send_ack(c);
		seg_free(s);
		return 0;
	}
	if (s->flags & DP_TH_RST) {
		rst_input(c, s);
		return 0;
	}
	if (s->flags & DP_TH_SYN) {
		/* RFC 5961 4.2: a SYN on a synchronized conn gets a challenge ACK. */
		c->st->stats.rst_challenge_acks++;
		seg_free(s);
		dp_tcp_send_ack(c);
		return 0;
	}
	if (!(s->flags & DP_TH_ACK)) {
		seg_free(s);
		return 0;
	}
	note_rx(c);
	if (c->ts_ok && s->opts.has_ts && dp_seq_leq(s->seq, c->last_ack_sent))
		c->ts_recent = s->opts.tsval;
	if (ack_input(c, s) == SEG_DROP || c->dead) {
		seg_free(s);
		return 0;
	}
	if (data_input(c, s) == SEG_DROP || c->dead) {
		seg_free(s);
		return 0;
	}
	seg_free(s);
	dp_tcp_output(c);
	if (!c->dead)
		maybe_writable(c);
	return 0;
}
