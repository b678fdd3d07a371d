/* Fast generation and verification of the `source` byte pattern for the
 * dataplane test tools (dp_tcpclient, dp_ksource, dp_tcpsink).
 *
 * dp_source_byte(i) costs a multiply per byte, too slow to verify gigabytes
 * at line rate. Bits 13..20 of i * K depend only on i mod 2^21, so
 *     dp_source_byte(i) == tab[i mod 2^21] ^ (uint8_t)(i >> 20)
 * with tab[x] = (uint8_t)((x * K) >> 13): one table lookup and an XOR.
 * dp_pat_init() checks that identity against dp_source_byte() itself, so a
 * change of the pattern in dataplane/dp_source.h cannot silently desync the
 * tools from the service.
 */
#ifndef DP_TOOL_PATTERN_H
#define DP_TOOL_PATTERN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataplane/dp_source.h"

#define DP_PAT_BITS 21
#define DP_PAT_SIZE (1u << DP_PAT_BITS)
#define DP_PAT_MASK (DP_PAT_SIZE - 1)

struct dp_pat {
	uint8_t *tab; /* DP_PAT_SIZE bytes */
};

/* Byte i of the stream through the table. */
static inline uint8_t dp_pat_byte(const struct dp_pat *p, uint64_t i)
{
	return (uint8_t)(p->tab[i & DP_PAT_MASK] ^ (uint8_t)(i >> 20));
}

/* Build the table and cross-check it against dp_source_byte() on indices
 * spread over the whole 64-bit range. Returns 0, -ENOMEM, or -EPROTO when the
 * table shortcut no longer matches the pattern function. */
static inline int dp_pat_init(struct dp_pat *p)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	p->tab = malloc(DP_PAT_SIZE);
	if (p->tab == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < DP_PAT_SIZE; k++)
		p->tab[k] = (uint8_t)(((uint64_t)k * 2654435761ULL) >> 13);
	for (int k = 0; k < 65536; k++) {
		/* xorshift64: cheap spread of sample indices */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t i = k < 4096 ? (uint64_t)k : (k & 1 ? x : x >> 24);
		if (dp_pat_byte(p, i) != dp_source_byte(i)) {
			free(p->tab);
			p->tab = NULL;
			return -EPROTO;
		}
	}
	return 0;
}

static inline void dp_pat_free(struct dp_pat *p)
{
	free(p->tab);
	p->tab = NULL;
}

/* Write stream bytes off..off+n-1 into buf. */
static inline void dp_pat_fill(const struct dp_pat *p, uint64_t off, uint8_t *buf, size_t n)
{
	size_t k = 0;

	while (k < n) {
		/* Within one 1 MiB block the XOR term is constant and the table
		 * index runs contiguously: a tight, vectorisable loop. */
		uint64_t i = off + k;
		size_t run = (size_t)((1u << 20) - (i & ((1u << 20) - 1)));
		if (run > n - k)
			run = n - k;
		const uint8_t *t = p->tab + (i & DP_PAT_MASK);
		uint8_t hi = (uint8_t)(i >> 20);
		for (size_t j = 0; j < run; j++)
			buf[k + j] = (uint8_t)(t[j] ^ hi);
		k += run;
	}
}

/* Compare buf[0..n) with stream bytes off..off+n-1. Returns n when every byte
 * matches, else the index in buf of the first mismatch. */
static inline size_t dp_pat_check(const struct dp_pat *p, uint64_t off, const uint8_t *buf,
				  size_t n)
{
	size_t k = 0;

	while (k < n) {
		uint64_t i = off + k;
		size_t run = (size_t)((1u << 20) - (i & ((1u << 20) - 1)));
		if (run > n - k)
			run = n - k;
		const uint8_t *t = p->tab + (i & DP_PAT_MASK);
		uint8_t hi = (uint8_t)(i >> 20);
		uint8_t diff = 0;
		for (size_t j = 0; j < run; j++)
			diff |= (uint8_t)(buf[k + j] ^ t[j] ^ hi);
		if (diff != 0) {
			for (size_t j = 0; j < run; j++)
				if ((uint8_t)(buf[k + j] ^ t[j] ^ hi) != 0)
					return k + j;
		}
		k += run;
	}
	return n;
}

#endif
