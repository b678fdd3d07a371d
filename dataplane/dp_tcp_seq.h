/* Wrap-safe TCP sequence arithmetic (RFC 793 / RFC 1982 serial numbers).
 * Every comparison of sequence numbers, ACK numbers and timestamps in the
 * TCP code goes through these helpers: a plain `<` breaks at 2^32. */
#ifndef DP_TCP_SEQ_H
#define DP_TCP_SEQ_H

#include <stdint.h>

static inline int32_t dp_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline int dp_seq_lt(uint32_t a, uint32_t b)
{
	return dp_seq_diff(a, b) < 0;
}

static inline int dp_seq_leq(uint32_t a, uint32_t b)
{
	return dp_seq_diff(a, b) <= 0;
}

static inline int dp_seq_gt(uint32_t a, uint32_t b)
{
	return dp_seq_diff(a, b) > 0;
}

static inline int dp_seq_geq(uint32_t a, uint32_t b)
{
	return dp_seq_diff(a, b) >= 0;
}

static inline uint32_t dp_seq_max(uint32_t a, uint32_t b)
{
	return dp_seq_gt(a, b) ? a : b;
}

static inline uint32_t dp_seq_min(uint32_t a, uint32_t b)
{
	return dp_seq_lt(a, b) ? a : b;
}

/* lo <= s < hi, all modulo 2^32. */
static inline int dp_seq_in(uint32_t s, uint32_t lo, uint32_t hi)
{
	return dp_seq_geq(s, lo) && dp_seq_lt(s, hi);
}

#endif /* DP_TCP_SEQ_H */
