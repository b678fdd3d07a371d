/* sw_tcp: compact client TCP of the load generator (see sw_tcp.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/sw_tcp.h"

#define OOO_MASK (SW_TCP_OOO_BYTES - 1)

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline uint32_t ts_now(uint64_t now_us)
{
	return (uint32_t)(now_us / 1000); /* 1 ms timestamp clock */
}

int sw_tcp_init(struct sw_tcp *t, const struct sw_tcp_cfg *cfg)
{
	if (cfg->mss < 64 || cfg->wscale > 14 || cfg->ack_every < 1 || cfg->ack_every > 16 ||
	    cfg->rwnd == 0 || (cfg->rwnd >> cfg->wscale) > 65535)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->sbuf = malloc(SW_TCP_SNDBUF);
	if (t->sbuf == NULL)
		return -ENOMEM;
	t->cfg = *cfg;
	t->iss = cfg->iss;
	t->snd_una = t->snd_nxt = t->snd_max = cfg->iss;
	t->rto_us = SW_TCP_RTO_MIN_US * 5; /* 1 s for the SYN, RFC 6298 */
	t->peer_mss = 536;
	return 0;
}

void sw_tcp_fini(struct sw_tcp *t)
{
	free(t->sbuf);
	t->sbuf = NULL;
	free(t->ooo);
	t->ooo = NULL;
}

/* The window field we advertise: constant, we consume at once. During the
 * handshake the field is unscaled (RFC 7323 2.2). */
static uint16_t adv_wnd(const struct sw_tcp *t, int syn)
{
	uint32_t w = syn || !t->ws_ok ? t->cfg.rwnd : t->cfg.rwnd >> t->cfg.wscale;

	return (uint16_t)(w > 65535 ? 65535 : w);
}

static void fill_sack(const struct sw_tcp *t, struct sw_tcp_out *o)
{
	if (!t->sack_ok || t->ooo == NULL)
		return;
	/* RFC 2018 wants the most recent block first; ranges are few, and the
	 * lowest ones matter most for the sender's recovery. */
	for (uint32_t k = 0; k < t->ooo->nr && o->nsack < 3; k++)
		o->sack[o->nsack++] = t->ooo->r[k];
}

static int emit(struct sw_tcp *t, uint8_t flags, uint32_t seq, const uint8_t *data, uint32_t len,
		uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	struct sw_tcp_out o;

	memset(&o, 0, sizeof(o));
	o.flags = flags;
	o.seq = seq;
	o.ack = (flags & SW_TH_ACK) ? t->rcv_nxt : 0;
	o.data = data;
	o.len = len;
	o.wnd = adv_wnd(t, flags & SW_TH_SYN);
	if (flags & SW_TH_SYN) {
		o.syn_opts = 1;
		o.mss = t->cfg.mss;
		o.ws = t->cfg.wscale;
		o.sack_perm = t->cfg.sack;
		o.ts = t->cfg.timestamps;
	} else {
		o.ts = t->ts_ok;
		if (!(flags & SW_TH_RST))
			fill_sack(t, &o);
	}
	o.tsval = ts_now(now_us);
	o.tsecr = t->ts_recent;
	if (flags & SW_TH_ACK) {
		t->acks_sent++;
		t->unacked_segs = 0;
	}
	return ops->emit(ctx, &o);
}

static void send_ack(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	emit(t, SW_TH_ACK, t->snd_nxt, NULL, 0, now_us, ops, ctx);
}

int sw_tcp_connect(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	if (t->state != SW_TCP_CLOSED)
		return -EISCONN;
	t->state = SW_TCP_SYN_SENT;
	t->snd_nxt = t->snd_max = t->iss + 1;
	t->rto_at_us = now_us + t->rto_us;
	emit(t, SW_TH_SYN, t->iss, NULL, 0, now_us, ops, ctx);
	return 0;
}

/* Send queued bytes the peer's window allows, MSS at a time. */
static void output(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	uint32_t off = t->snd_nxt - t->snd_una;
	uint32_t mss = t->peer_mss < t->cfg.mss ? t->peer_mss : t->cfg.mss;

	if (t->ts_ok)
		mss -= 12; /* the timestamp option eats into every segment */
	while (off < t->slen && off < t->snd_wnd) {
		uint32_t n = t->slen - off;
		if (n > mss)
			n = mss;
		if (n > t->snd_wnd - off)
			n = t->snd_wnd - off;
		emit(t, SW_TH_ACK | SW_TH_PSH, t->snd_nxt, t->sbuf + off, n, now_us, ops, ctx);
		t->snd_nxt += n;
		off += n;
		if (seq_diff(t->snd_nxt, t->snd_max) > 0)
			t->snd_max = t->snd_nxt;
		if (t->rto_at_us == 0)
			t->rto_at_us = now_us + t->rto_us;
	}
}

int sw_tcp_send(struct sw_tcp *t, const void *p, uint32_t n, uint64_t now_us,
		const struct sw_tcp_ops *ops, void *ctx)
{
	if (t->state != SW_TCP_ESTABLISHED)
		return -ENOTCONN;
	if (n > SW_TCP_SNDBUF - t->slen)
		return -ENOBUFS;
	memcpy(t->sbuf + t->slen, p, n);
	t->slen += n;
	output(t, now_us, ops, ctx);
	return 0;
}

static void fail(struct sw_tcp *t, int err)
{
	t->state = SW_TCP_FAILED;
	t->err = err;
	t->rto_at_us = 0;
}

static void take_options(struct sw_tcp *t, const struct sw_seg *s)
{
	if (s->has_mss && s->mss >= 64)
		t->peer_mss = s->mss;
	t->ws_ok = s->has_ws;
	t->snd_ws = s->has_ws ? (s->ws > 14 ? 14 : s->ws) : 0;
	t->ts_ok = t->cfg.timestamps && s->has_ts;
	t->sack_ok = t->cfg.sack && s->sack_ok;
	if (!t->ws_ok)
		t->cfg.wscale = 0;
}

static void input_syn_sent(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
			   const struct sw_tcp_ops *ops, void *ctx)
{
	if ((s->flags & (SW_TH_SYN | SW_TH_ACK)) != (SW_TH_SYN | SW_TH_ACK) ||
	    s->ack != t->iss + 1)
		return;
	take_options(t, s);
	t->irs = s->seq;
	t->rcv_nxt = s->seq + 1;
	t->snd_una = t->iss + 1;
	t->snd_wnd = s->wnd; /* a SYN's window is never scaled */
	if (s->has_ts)
		t->ts_recent = s->tsval;
	t->state = SW_TCP_ESTABLISHED;
	t->rto_at_us = 0;
	t->tries = 0;
	t->rto_us = SW_TCP_RTO_MIN_US;
	send_ack(t, now_us, ops, ctx);
}

/* The peer acknowledged up to ack: drop those bytes from the send buffer. */
static void input_ack(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us)
{
	uint32_t n;

	if (!(s->flags & SW_TH_ACK))
		return;
	t->snd_wnd = (uint32_t)s->wnd << t->snd_ws;
	if (seq_diff(s->ack, t->snd_una) <= 0 || seq_diff(s->ack, t->snd_max) > 0)
		return;
	n = s->ack - t->snd_una;
	if (n > t->slen)
		n = t->slen;
	memmove(t->sbuf, t->sbuf + n, t->slen - n);
	t->slen -= n;
	t->snd_una = s->ack;
	if (seq_diff(t->snd_nxt, t->snd_una) < 0)
		t->snd_nxt = t->snd_una;
	t->tries = 0;
	t->rto_us = SW_TCP_RTO_MIN_US;
	t->rto_at_us = t->slen ? now_us + t->rto_us : 0;
}

/* Insert [seq, seq+len) into the reassembly ranges, merging neighbours.
 * Returns 0, or -ENOSPC when it lies beyond the buffer or no range is free. */
static int ooo_insert(struct sw_tcp *t, uint32_t seq, const uint8_t *p, uint32_t len)
{
	struct sw_tcp_ooo *q = t->ooo;
	uint32_t end = seq + len, k, j;

	if (seq_diff(end, t->rcv_nxt + SW_TCP_OOO_BYTES) > 0)
		return -ENOSPC;
	for (k = 0; k < q->nr && seq_diff(q->r[k].start, seq) < 0; k++)
		;
	if (q->nr == SW_TCP_OOO_RANGES &&
	    !(k > 0 && seq_diff(q->r[k - 1].end, seq) >= 0) &&
	    !(k < q->nr && seq_diff(q->r[k].start, end) <= 0))
		return -ENOSPC;
	for (uint32_t i = 0; i < len; i++)
		q->buf[(seq + i) & OOO_MASK] = p[i];
	memmove(&q->r[k + 1], &q->r[k], (q->nr - k) * sizeof(q->r[0]));
	q->r[k].start = seq;
	q->r[k].end = end;
	q->nr++;
	/* Merge overlapping or touching ranges. */
	for (k = 0, j = 1; j < q->nr; j++) {
		if (seq_diff(q->r[j].start, q->r[k].end) <= 0) {
			if (seq_diff(q->r[j].end, q->r[k].end) > 0)
				q->r[k].end = q->r[j].end;
		} else {
			q->r[++k] = q->r[j];
		}
	}
	q->nr = k + 1;
	return 0;
}

/* Hand over what the reassembly buffer now holds in order. */
static int ooo_drain(struct sw_tcp *t, const struct sw_tcp_ops *ops, void *ctx)
{
	struct sw_tcp_ooo *q = t->ooo;
	int rc;

	while (q != NULL && q->nr > 0 && seq_diff(q->r[0].start, t->rcv_nxt) <= 0) {
		struct sw_sack_block r = q->r[0];
		memmove(&q->r[0], &q->r[1], (q->nr - 1) * sizeof(q->r[0]));
		q->nr--;
		if (seq_diff(r.end, t->rcv_nxt) <= 0)
			continue;
		uint32_t n = r.end - t->rcv_nxt, pos = t->rcv_nxt & OOO_MASK;
		uint32_t first = n < SW_TCP_OOO_BYTES - pos ? n : SW_TCP_OOO_BYTES - pos;
		t->rcv_nxt += n;
		t->rx_bytes += n;
		if ((rc = ops->deliver(ctx, q->buf + pos, first)) != 0)
			return rc;
		if (first < n && (rc = ops->deliver(ctx, q->buf, n - first)) != 0)
			return rc;
	}
	return 0;
}

static int input_ooo(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
		     const struct sw_tcp_ops *ops, void *ctx)
{
	t->ooo_segs++;
	if (t->ooo == NULL) {
		t->ooo = malloc(sizeof(*t->ooo));
		if (t->ooo != NULL)
			t->ooo->nr = 0;
	}
	if (t->ooo == NULL || ooo_insert(t, s->seq, s->data, s->len) != 0)
		t->ooo_drops++; /* the peer resends it */
	send_ack(t, now_us, ops, ctx);
	return 0;
}

static int input_data(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
		      const struct sw_tcp_ops *ops, void *ctx)
{
	uint32_t skip, n;
	int rc, had_holes;

	if (seq_diff(s->seq, t->rcv_nxt) > 0)
		return input_ooo(t, s, now_us, ops, ctx);
	if (seq_diff(s->seq + s->len, t->rcv_nxt) <= 0) {
		t->dup_segs++;
		send_ack(t, now_us, ops, ctx);
		return 0;
	}
	skip = t->rcv_nxt - s->seq;
	n = s->len - skip;
	t->rcv_nxt += n;
	t->rx_bytes += n;
	t->rx_segs++;
	if ((rc = ops->deliver(ctx, s->data + skip, n)) != 0)
		return rc;
	had_holes = t->ooo != NULL && t->ooo->nr > 0;
	if ((rc = ooo_drain(t, ops, ctx)) != 0)
		return rc;
	/* A segment that filled a hole is acknowledged at once (RFC 5681 4.2). */
	if (had_holes || ++t->unacked_segs >= t->cfg.ack_every)
		send_ack(t, now_us, ops, ctx);
	return 0;
}

static void input_fin(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	t->rcv_nxt++;
	if (t->state == SW_TCP_ESTABLISHED) {
		emit(t, SW_TH_FIN | SW_TH_ACK, t->snd_nxt, NULL, 0, now_us, ops, ctx);
		t->snd_nxt++;
		t->state = SW_TCP_FIN_SENT;
	} else {
		send_ack(t, now_us, ops, ctx);
	}
	t->rto_at_us = 0;
}

static int input_established(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
			     const struct sw_tcp_ops *ops, void *ctx)
{
	int rc = 0;

	if (t->ts_ok && s->has_ts && seq_diff(s->seq, t->rcv_nxt) <= 0)
		t->ts_recent = s->tsval;
	if (s->flags & SW_TH_SYN) {
		/* A retransmitted SYN-ACK: our ACK was lost. */
		send_ack(t, now_us, ops, ctx);
		return 0;
	}
	input_ack(t, s, now_us);
	if (s->len > 0)
		rc = input_data(t, s, now_us, ops, ctx);
	if (rc == 0 && (s->flags & SW_TH_FIN) && seq_diff(s->seq + s->len, t->rcv_nxt) == 0)
		input_fin(t, now_us, ops, ctx);
	if (rc == 0 && t->state == SW_TCP_ESTABLISHED)
		output(t, now_us, ops, ctx);
	if (t->state == SW_TCP_FIN_SENT && seq_diff(t->snd_una, t->snd_nxt) >= 0)
		t->state = SW_TCP_DONE;
	return rc;
}

int sw_tcp_input(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
		 const struct sw_tcp_ops *ops, void *ctx)
{
	if (s->flags & SW_TH_RST) {
		/* Accept a reset only inside the window (RFC 5961 in spirit). */
		if (t->state == SW_TCP_SYN_SENT ? (s->flags & SW_TH_ACK) && s->ack == t->iss + 1
						: seq_diff(s->seq, t->rcv_nxt) >= 0 &&
						  seq_diff(s->seq, t->rcv_nxt + t->cfg.rwnd) < 0)
			fail(t, -ECONNRESET);
		return 0;
	}
	switch (t->state) {
	case SW_TCP_SYN_SENT:
		input_syn_sent(t, s, now_us, ops, ctx);
		return 0;
	case SW_TCP_ESTABLISHED:
	case SW_TCP_FIN_SENT:
		return input_established(t, s, now_us, ops, ctx);
	default:
		return 0;
	}
}

void sw_tcp_flush_ack(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	if (t->unacked_segs > 0 && t->state == SW_TCP_ESTABLISHED)
		send_ack(t, now_us, ops, ctx);
}

int sw_tcp_timer(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	if (t->rto_at_us == 0 || now_us < t->rto_at_us)
		return 0;
	if (t->state == SW_TCP_SYN_SENT) {
		if (++t->tries > SW_TCP_SYN_TRIES) {
			fail(t, -ETIMEDOUT);
			return 1;
		}
		t->rexmits++;
		emit(t, SW_TH_SYN, t->iss, NULL, 0, now_us, ops, ctx);
	} else if (t->state == SW_TCP_ESTABLISHED && t->slen > 0) {
		if (++t->tries > SW_TCP_DATA_TRIES) {
			fail(t, -ETIMEDOUT);
			return 1;
		}
		t->rexmits++;
		t->snd_nxt = t->snd_una; /* go-back-N: our sends are small */
		if (t->snd_wnd == 0)
			t->snd_wnd = 1; /* probe a closed window with one byte */
		output(t, now_us, ops, ctx);
	} else {
		t->rto_at_us = 0;
		return 0;
	}
	t->rto_us = t->rto_us * 2 > SW_TCP_RTO_MAX_US ? SW_TCP_RTO_MAX_US : t->rto_us * 2;
	t->rto_at_us = now_us + t->rto_us;
	return 0;
}

void sw_tcp_abort(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx)
{
	if (t->state == SW_TCP_ESTABLISHED || t->state == SW_TCP_FIN_SENT)
		emit(t, SW_TH_RST | SW_TH_ACK, t->snd_nxt, NULL, 0, now_us, ops, ctx);
	t->state = SW_TCP_DONE;
	t->rto_at_us = 0;
}

/* ---- options ---- */

static void opt_one(const uint8_t *o, uint8_t kind, uint8_t len, struct sw_seg *s)
{
	switch (kind) {
	case 2:
		if (len == 4) {
			s->has_mss = 1;
			s->mss = (uint16_t)(o[2] << 8 | o[3]);
		}
		break;
	case 3:
		if (len == 3) {
			s->has_ws = 1;
			s->ws = o[2];
		}
		break;
	case 4:
		if (len == 2)
			s->sack_ok = 1;
		break;
	case 8:
		if (len == 10) {
			s->has_ts = 1;
			s->tsval = (uint32_t)o[2] << 24 | (uint32_t)o[3] << 16 | (uint32_t)o[4] << 8 | o[5];
			s->tsecr = (uint32_t)o[6] << 24 | (uint32_t)o[7] << 16 | (uint32_t)o[8] << 8 | o[9];
		}
		break;
	default:
		break;
	}
}

int sw_tcp_parse_opts(const uint8_t *opt, uint32_t len, struct sw_seg *s)
{
	uint32_t k = 0;

	while (k < len) {
		uint8_t kind = opt[k];
		if (kind == 0)
			return 0; /* end of list */
		if (kind == 1) {
			k++;
			continue;
		}
		if (k + 1 >= len || opt[k + 1] < 2 || opt[k + 1] > len - k)
			return -EBADMSG;
		opt_one(opt + k, kind, opt[k + 1], s);
		k += opt[k + 1];
	}
	return 0;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

uint32_t sw_tcp_write_opts(const struct sw_tcp_out *o, uint8_t *opt)
{
	uint8_t *p = opt;

	if (o->syn_opts) {
		*p++ = 2, *p++ = 4, *p++ = (uint8_t)(o->mss >> 8), *p++ = (uint8_t)o->mss;
		*p++ = 1, *p++ = 3, *p++ = 3, *p++ = o->ws;
	}
	if (o->sack_perm)
		*p++ = 1, *p++ = 1, *p++ = 4, *p++ = 2;
	if (o->ts) {
		*p++ = 1, *p++ = 1, *p++ = 8, *p++ = 10;
		p = put32(p, o->tsval);
		p = put32(p, o->tsecr);
	}
	if (o->nsack > 0) {
		*p++ = 1, *p++ = 1, *p++ = 5, *p++ = (uint8_t)(2 + 8 * o->nsack);
		for (uint8_t k = 0; k < o->nsack; k++) {
			p = put32(p, o->sack[k].start);
			p = put32(p, o->sack[k].end);
		}
	}
	return (uint32_t)(p - opt);
}
