/* SYN cookies and initial sequence numbers.
 *
 * Cookie layout (the ISN of the SYN-ACK), as in classic BSD/Linux cookies:
 *   bits 31..27  t: coarse time, (now_s / 64) mod 32
 *   bits 26..24  index of the MSS in cookie_mss[]
 *   bits 23..0   SipHash-2-4(stack secret; 4-tuple, peer ISN, t, index) mod 2^24
 * The final ACK acknowledges cookie + 1; the cookie is valid when t is the
 * current or the previous period and the hash matches. The hash covers the
 * MSS index too, so a forged ACK must guess all 24 hash bits (not 21), and
 * no ACK is checked at all unless this stack sent a cookie within
 * COOKIE_RECENT_US (see dp_tcp_cookie_check()). Window scale and
 * SACK cannot fit in 32 bits, so when timestamps are on they ride in the low
 * six bits of our TSval and come back in the peer's TSecr (Linux does the
 * same); without timestamps a cookie connection has neither. */
#include <errno.h>
#include <string.h>

#include "dataplane/dp_tcp_int.h"

static const uint16_t cookie_mss[8] = { 536, 1024, 1220, 1300, 1360, 1400, 1440, 1460 };

#define COOKIE_PERIOD_US (64ULL * 1000000ULL)
/* A cookie lives at most two periods (t current or previous), so no genuine
 * one can be older than 2 x COOKIE_PERIOD_US: past that since the last
 * cookie sent, every cookie ACK is forged. Linux does the same with
 * TCP_SYNCOOKIE_VALID (two of its 60 s periods). */
#define COOKIE_RECENT_US (2 * COOKIE_PERIOD_US)
#define TS_OPT_BITS 6
#define TS_WS_NONE 0xf
#define TS_SACK_BIT 0x10

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t le64(const uint8_t *p, uint32_t n)
{
	uint64_t x = 0;
	for (uint32_t i = 0; i < n; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

/* SipHash-2-4 of data[0..len) under the 128-bit key. */
uint64_t dp_tcp_siphash(const uint64_t key[2], const uint8_t *data, uint32_t len)
{
	uint64_t v[4] = {
		key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
		key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL,
	};
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t m = le64(data + i, 8);
		v[3] ^= m;
		sip_round(v);
		sip_round(v);
		v[0] ^= m;
	}
	uint64_t b = ((uint64_t)len << 56) | le64(data + i, len - i);
	v[3] ^= b;
	sip_round(v);
	sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int r = 0; r < 4; r++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static uint32_t cookie_hash(const struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			    uint32_t peer_isn, uint32_t t, uint32_t idx)
{
	uint8_t buf[sizeof(*k) + 12];

	memcpy(buf, k, sizeof(*k));
	memcpy(buf + sizeof(*k), &peer_isn, 4);
	memcpy(buf + sizeof(*k) + 4, &t, 4);
	memcpy(buf + sizeof(*k) + 8, &idx, 4);
	return (uint32_t)dp_tcp_siphash(st->sip_key, buf, sizeof(buf)) & 0xffffff;
}

static uint32_t cookie_period(const struct dp_tcp_stack *st)
{
	return (uint32_t)(st->now_us / COOKIE_PERIOD_US) & 0x1f;
}

/* Build the cookie for a SYN from k with sequence peer_isn and MSS option
 * peer_mss (0 = none: 536). *mss_out receives the MSS the cookie encodes
 * (the largest table entry not above peer_mss). */
uint32_t dp_tcp_cookie_make(const struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			    uint32_t peer_isn, uint16_t peer_mss, uint16_t *mss_out)
{
	uint32_t idx = 0;
	uint32_t t = cookie_period(st);

	if (peer_mss == 0)
		peer_mss = 536;
	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= peer_mss)
			idx = i;
	*mss_out = cookie_mss[idx];
	return (t << 27) | (idx << 24) | cookie_hash(st, k, peer_isn, t, idx);
}

/* Validate cookie (the final ACK's ack - 1) for a peer whose ISN was
 * peer_isn (the ACK's seq - 1). Returns 0 and the encoded MSS; -ENOENT when
 * this stack sent no cookie within COOKIE_RECENT_US (the ACK cannot be
 * completing one; not worth counting as a failure); -EINVAL when forged or
 * older than one period. */
int dp_tcp_cookie_check(const struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			uint32_t peer_isn, uint32_t cookie, uint16_t *mss_out)
{
	uint32_t now_t = cookie_period(st);
	uint32_t t = cookie >> 27;
	uint32_t idx = (cookie >> 24) & 7;

	if (!st->last_cookie_us || st->now_us - st->last_cookie_us >= COOKIE_RECENT_US)
		return -ENOENT;
	if (t != now_t && t != ((now_t - 1) & 0x1f))
		return -EINVAL;
	if ((cookie & 0xffffff) != cookie_hash(st, k, peer_isn, t, idx))
		return -EINVAL;
	*mss_out = cookie_mss[idx];
	return 0;
}

/* Our TSval for a cookie SYN-ACK: the clock with the low bits replaced by
 * the peer's window scale (0xf = none) and the SACK flag. */
uint32_t dp_tcp_cookie_ts_encode(uint32_t tsval, int wscale_ok, uint8_t wscale, int sack)
{
	uint32_t bits = (wscale_ok ? (wscale & 0xf) : TS_WS_NONE) | (sack ? TS_SACK_BIT : 0);
	uint32_t base = tsval & ~((1u << TS_OPT_BITS) - 1);

	/* Keep the clock monotonic: never step back below tsval. */
	if (base + bits < tsval)
		base += 1u << TS_OPT_BITS;
	return base | bits;
}

/* Recover what dp_tcp_cookie_ts_encode() stored from the peer's TSecr. */
void dp_tcp_cookie_ts_decode(uint32_t tsecr, int *wscale_ok, uint8_t *wscale, int *sack)
{
	uint8_t ws = tsecr & 0xf;

	*wscale_ok = ws != TS_WS_NONE && ws <= 14;
	*wscale = *wscale_ok ? ws : 0;
	*sack = (tsecr & TS_SACK_BIT) != 0;
}

/* RFC 6528 ISN: a keyed hash of the 4-tuple plus a 4 us clock. */
uint32_t dp_tcp_isn(const struct dp_tcp_stack *st, const struct dp_tcp_key *k)
{
	uint8_t buf[sizeof(*k)];

	memcpy(buf, k, sizeof(*k));
	return (uint32_t)dp_tcp_siphash(st->sip_key, buf, sizeof(buf)) +
	       (uint32_t)(st->now_us / 4);
}
