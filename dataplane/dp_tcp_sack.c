/* SACK (RFC 2018): the sender's scoreboard of ranges the peer holds, and
 * the receiver's blocks built from the out-of-order queue. */
#include <string.h>

#include "dataplane/dp_tcp_int.h"

static void score_insert(struct dp_tcp_conn *c, uint32_t s, uint32_t e)
{
	struct dp_tcp_range *r = c->sacked;
	uint32_t n = c->nsacked, i = 0;

	while (i < n && dp_seq_lt(r[i].end, s))
		i++;
	/* r[i] is the first range that may touch [s, e): merge all that do. */
	uint32_t j = i;
	while (j < n && dp_seq_leq(r[j].start, e)) {
		s = dp_seq_min(s, r[j].start);
		e = dp_seq_max(e, r[j].end);
		j++;
	}
	if (j == i && n == DP_TCP_SACK_SCORE) {
		/* Full: forget the highest range (worst case we resend it). */
		if (i == n)
			return;
		n--;
	}
	memmove(&r[i + 1], &r[j], (n - j) * sizeof(*r));
	r[i].start = s;
	r[i].end = e;
	c->nsacked = (uint8_t)(n - (j - i) + 1);
}

/* Merge the SACK blocks of an incoming ACK into the scoreboard. Blocks
 * outside (snd_una, snd_max] (D-SACK, stale or forged) are ignored. */
void dp_tcp_sack_update(struct dp_tcp_conn *c, const struct dp_tcp_opts *o)
{
	for (uint32_t i = 0; i < o->nsack; i++) {
		uint32_t s = o->sack[i][0], e = o->sack[i][1];
		if (!dp_seq_lt(s, e) || dp_seq_leq(e, c->snd_una) || dp_seq_gt(e, c->snd_max))
			continue;
		if (dp_seq_lt(s, c->snd_una))
			s = c->snd_una;
		c->st->stats.sack_blocks_rcvd++;
		score_insert(c, s, e);
	}
}

/* Drop what snd_una has passed. */
void dp_tcp_sack_prune(struct dp_tcp_conn *c)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < c->nsacked; i++) {
		struct dp_tcp_range r = c->sacked[i];
		if (dp_seq_leq(r.end, c->snd_una))
			continue;
		if (dp_seq_lt(r.start, c->snd_una))
			r.start = c->snd_una;
		c->sacked[k++] = r;
	}
	c->nsacked = (uint8_t)k;
}

uint32_t dp_tcp_sack_bytes(const struct dp_tcp_conn *c)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < c->nsacked; i++)
		n += c->sacked[i].end - c->sacked[i].start;
	return n;
}

/* Highest SACKed sequence (snd_una when nothing is SACKed). */
uint32_t dp_tcp_sack_highest(const struct dp_tcp_conn *c)
{
	return c->nsacked ? c->sacked[c->nsacked - 1].end : c->snd_una;
}

/* Is seq SACKed? If so *run_end is the end of its range. */
int dp_tcp_sack_is_sacked(const struct dp_tcp_conn *c, uint32_t seq, uint32_t *run_end)
{
	for (uint32_t i = 0; i < c->nsacked; i++) {
		if (dp_seq_in(seq, c->sacked[i].start, c->sacked[i].end)) {
			*run_end = c->sacked[i].end;
			return 1;
		}
	}
	return 0;
}

/* First hole at or after from and below the highest SACKed byte: the bytes
 * presumed lost (RFC 6675 "IsLost" simplified to "below a SACKed range").
 * Returns 1 with [*hole_start, *hole_end), or 0 when there is none. */
int dp_tcp_sack_next_hole(const struct dp_tcp_conn *c, uint32_t from, uint32_t *hole_start,
			  uint32_t *hole_end)
{
	uint32_t s = dp_seq_max(from, c->snd_una);

	for (uint32_t i = 0; i < c->nsacked; i++) {
		const struct dp_tcp_range *r = &c->sacked[i];
		if (dp_seq_leq(r->end, s))
			continue;
		if (dp_seq_lt(s, r->start)) {
			*hole_start = s;
			*hole_end = r->start;
			return 1;
		}
		s = r->end; /* inside a SACKed range: skip past it */
	}
	return 0;
}

/* Receiver side: SACK blocks describing the out-of-order queue, the block
 * holding the most recently received segment first (RFC 2018 4), then the
 * others from the highest down. Returns the count written (<= max). */
uint32_t dp_tcp_sack_blocks_out(const struct dp_tcp_conn *c, struct dp_tcp_range *out,
				uint32_t max)
{
	struct dp_tcp_range all[DP_TCP_OOO_SLOTS];
	uint32_t n = 0, k = 0, first = UINT32_MAX;

	for (uint32_t i = 0; i < c->nooo; i++) {
		const struct dp_tcp_ooo *o = &c->ooo[i];
		if (n && all[n - 1].end == o->seq) {
			all[n - 1].end = o->seq + o->len;
		} else {
			all[n].start = o->seq;
			all[n].end = o->seq + o->len;
			n++;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (dp_seq_in(c->last_ooo_seq, all[i].start, all[i].end))
			first = i;
	if (first != UINT32_MAX && k < max)
		out[k++] = all[first];
	for (uint32_t i = n; i-- > 0 && k < max;)
		if (i != first)
			out[k++] = all[i];
	return k;
}
