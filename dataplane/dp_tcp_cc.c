/* Congestion control: NewReno (RFC 5681 / RFC 6582 window rules) and CUBIC
 * (RFC 8312), chosen per stack by cfg.cc. Windows are in bytes; CUBIC's
 * curve is computed in segments as the RFC writes it. */
#include <math.h>

#include "dataplane/dp_tcp_int.h"

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7

static uint32_t flight(const struct dp_tcp_conn *c)
{
	return (uint32_t)(c->snd_max - c->snd_una);
}

/* Initial window (RFC 6928 style, cfg.init_cwnd_segs) and an unbounded
 * slow-start threshold. */
void dp_tcp_cc_init(struct dp_tcp_conn *c)
{
	c->cwnd = c->st->cfg.init_cwnd_segs * c->mss;
	c->ssthresh = UINT32_MAX / 2;
	c->cwnd_acc = 0;
	c->cubic_wmax = 0;
	c->cubic_k = 0;
	c->cubic_epoch_us = 0;
	c->cubic_west = 0;
}

static void reno_ca(struct dp_tcp_conn *c, uint32_t acked)
{
	/* Byte counting: one MSS per cwnd of acknowledged bytes. */
	c->cwnd_acc += acked;
	if (c->cwnd_acc >= c->cwnd) {
		c->cwnd_acc -= c->cwnd;
		c->cwnd += c->mss;
	}
}

static void cubic_ca(struct dp_tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	double mss = c->mss;
	double cwnd_seg = c->cwnd / mss;
	double rtt_s = (c->srtt_us ? c->srtt_us : 100000) / 1e6;

	if (!c->cubic_epoch_us) {
		c->cubic_epoch_us = now_us;
		if (c->cubic_wmax < cwnd_seg) {
			c->cubic_k = 0;
			c->cubic_wmax = cwnd_seg;
		} else {
			c->cubic_k = cbrt(c->cubic_wmax * (1 - CUBIC_BETA) / CUBIC_C);
		}
		c->cubic_west = cwnd_seg;
	}
	double t = (now_us - c->cubic_epoch_us) / 1e6;
	double d = t + rtt_s - c->cubic_k;
	double target = CUBIC_C * d * d * d + c->cubic_wmax;
	/* TCP-friendly region (RFC 8312 4.2). */
	c->cubic_west += 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA) * (acked / mss) / cwnd_seg;
	if (c->cubic_west > target)
		target = c->cubic_west;
	if (target > 1.5 * cwnd_seg)
		target = 1.5 * cwnd_seg; /* at most +50% per RTT */
	if (target <= cwnd_seg) {
		reno_ca(c, acked / 8 ? acked / 8 : 1); /* near W_max: grow slowly */
		return;
	}
	/* cwnd grows by (target - cwnd) / cwnd segments per acknowledged MSS. */
	c->cwnd_acc += (uint32_t)((target - cwnd_seg) / cwnd_seg * acked);
	if (c->cwnd_acc >= c->mss) {
		c->cwnd += c->cwnd_acc / c->mss * c->mss;
		c->cwnd_acc %= c->mss;
	}
}

/* acked new bytes arrived outside recovery. */
void dp_tcp_cc_on_ack(struct dp_tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	if (c->in_recovery || acked == 0)
		return;
	if (c->cwnd < c->ssthresh) {
		/* RFC 3465 with L = 2 MSS. */
		c->cwnd += acked < 2u * c->mss ? acked : 2u * c->mss;
		return;
	}
	if (c->st->cfg.cc == DP_TCP_CC_CUBIC)
		cubic_ca(c, acked, now_us);
	else
		reno_ca(c, acked);
	if (c->cwnd > (1u << 30))
		c->cwnd = 1u << 30;
}

/* Loss detected: by RTO (rto != 0, cwnd collapses to one segment) or by
 * duplicate ACKs / SACK (fast recovery; the caller inflates afterwards). */
void dp_tcp_cc_on_loss(struct dp_tcp_conn *c, int rto, uint64_t now_us)
{
	uint32_t two = 2u * c->mss;

	(void)now_us;
	if (c->st->cfg.cc == DP_TCP_CC_CUBIC) {
		double cwnd_seg = (double)c->cwnd / c->mss;
		/* Fast convergence (RFC 8312 4.6). */
		if (cwnd_seg < c->cubic_wmax)
			c->cubic_wmax = cwnd_seg * (1 + CUBIC_BETA) / 2;
		else
			c->cubic_wmax = cwnd_seg;
		c->ssthresh = (uint32_t)(c->cwnd * CUBIC_BETA);
		c->cubic_epoch_us = 0;
	} else {
		c->ssthresh = flight(c) / 2;
	}
	if (c->ssthresh < two)
		c->ssthresh = two;
	c->cwnd_acc = 0;
	c->cwnd = rto ? c->mss : c->ssthresh;
}

/* Full ACK ended fast recovery: deflate to ssthresh (RFC 6582 3.2 step 3). */
void dp_tcp_cc_exit_recovery(struct dp_tcp_conn *c, uint64_t now_us)
{
	uint32_t f = flight(c) + c->mss;

	(void)now_us;
	c->cwnd = c->ssthresh < f ? c->ssthresh : f;
	if (c->cwnd < c->mss)
		c->cwnd = c->mss;
	c->in_recovery = 0;
}
