/* TCP option parsing and writing (RFC 9293 3.1, RFC 7323, RFC 2018). */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_tcp_int.h"

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WS 3
#define OPT_SACK_PERM 4
#define OPT_SACK 5
#define OPT_TS 8

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One option with its length byte already validated against the buffer.
 * Wrong fixed lengths are errors: a peer that sends them is broken or
 * hostile, and guessing would misread the rest of the header. */
static int opt_one(uint8_t kind, const uint8_t *v, uint32_t olen, int syn, struct dp_tcp_opts *o)
{
	switch (kind) {
	case OPT_MSS:
		if (olen != 4)
			return -EINVAL;
		if (syn) {
			o->has_mss = 1;
			o->mss = be16(v);
		}
		return 0;
	case OPT_WS:
		if (olen != 3)
			return -EINVAL;
		if (syn) {
			o->has_wscale = 1;
			o->wscale = v[0] > 14 ? 14 : v[0]; /* RFC 7323 2.3 */
		}
		return 0;
	case OPT_SACK_PERM:
		if (olen != 2)
			return -EINVAL;
		if (syn)
			o->sack_ok = 1;
		return 0;
	case OPT_TS:
		if (olen != 10)
			return -EINVAL;
		o->has_ts = 1;
		o->tsval = be32(v);
		o->tsecr = be32(v + 4);
		return 0;
	case OPT_SACK:
		if (olen < 10 || (olen - 2) % 8 != 0 || (olen - 2) / 8 > DP_TCP_MAX_OPT_SACK)
			return -EINVAL;
		o->nsack = (uint8_t)((olen - 2) / 8);
		for (uint32_t i = 0; i < o->nsack; i++) {
			o->sack[i][0] = be32(v + 8 * i);
			o->sack[i][1] = be32(v + 8 * i + 4);
		}
		return 0;
	default:
		return 0; /* unknown options are skipped by length */
	}
}

/* Parse the option bytes buf[0..len) of a segment (syn: the segment carries
 * SYN, so MSS / window scale / SACK-permitted count). Fills *o (zeroed
 * first). Never reads past len. Returns 0, or -EINVAL for a malformed option
 * length (the segment must be dropped). */
int dp_tcp_opts_parse(const uint8_t *buf, uint32_t len, int syn, struct dp_tcp_opts *o)
{
	uint32_t i = 0;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		uint8_t kind = buf[i];
		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -EINVAL;
		uint32_t olen = buf[i + 1];
		if (olen < 2 || olen > len - i)
			return -EINVAL;
		if (opt_one(kind, buf + i + 2, olen, syn, o) < 0)
			return -EINVAL;
		i += olen;
	}
	return 0;
}

/* Write SYN-ACK options at p (room for 20 bytes). Returns bytes written, a
 * multiple of 4. */
uint32_t dp_tcp_opts_write_syn(uint8_t *p, uint16_t mss, int ws, uint8_t wscale, int sack,
			       int ts, uint32_t tsval, uint32_t tsecr)
{
	uint32_t n = 0;

	p[n++] = OPT_MSS;
	p[n++] = 4;
	put16(p + n, mss);
	n += 2;
	if (ts) {
		if (sack) {
			p[n++] = OPT_SACK_PERM;
			p[n++] = 2;
		} else {
			p[n++] = OPT_NOP;
			p[n++] = OPT_NOP;
		}
		p[n++] = OPT_TS;
		p[n++] = 10;
		put32(p + n, tsval);
		put32(p + n + 4, tsecr);
		n += 8;
	} else if (sack) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_NOP;
		p[n++] = OPT_SACK_PERM;
		p[n++] = 2;
	}
	if (ws) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_WS;
		p[n++] = 3;
		p[n++] = wscale;
	}
	return n;
}

/* Write the options of a synchronized-state segment at p (room for 40
 * bytes): timestamps when ts, then up to nsack SACK blocks (trimmed to what
 * fits). Returns bytes written, a multiple of 4. */
uint32_t dp_tcp_opts_write(uint8_t *p, int ts, uint32_t tsval, uint32_t tsecr,
			   const struct dp_tcp_range *sack, uint32_t nsack)
{
	uint32_t n = 0;

	if (ts) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_NOP;
		p[n++] = OPT_TS;
		p[n++] = 10;
		put32(p + n, tsval);
		put32(p + n + 4, tsecr);
		n += 8;
	}
	if (nsack > (ts ? 3u : 4u))
		nsack = ts ? 3u : 4u;
	if (nsack) {
		p[n++] = OPT_NOP;
		p[n++] = OPT_NOP;
		p[n++] = OPT_SACK;
		p[n++] = (uint8_t)(2 + 8 * nsack);
		for (uint32_t i = 0; i < nsack; i++) {
			put32(p + n, sack[i].start);
			put32(p + n + 4, sack[i].end);
			n += 8;
		}
	}
	return n;
}
