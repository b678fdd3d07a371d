/* The `source` test service's byte pattern (TCP port 19).
 *
 * A client sends an 8-byte big-endian count N; the service answers with
 * exactly N bytes, byte i being dp_source_byte(i) (i counted from the first
 * payload byte), then sends FIN. Verifiers (tests/tools, e2e scripts) use the
 * same function, so the pattern lives here and nowhere else.
 */
#ifndef DP_SOURCE_H
#define DP_SOURCE_H

#include <stdint.h>

#define DP_SOURCE_PORT 19
#define DP_ECHO_PORT 7
#define DP_DISCARD_PORT 9

/* Byte i of the source stream. The multiplier spreads consecutive indices
 * over all byte values; the (i >> 20) term makes every megabyte differ, so
 * a stream that skips or repeats whole blocks is caught. */
static inline uint8_t dp_source_byte(uint64_t i)
{
	return (uint8_t)(((i * 2654435761ULL) >> 13) ^ (i >> 20));
}

/* Fill buf[0..len) with bytes off..off+len-1 of the stream. */
static inline void dp_source_fill(uint8_t *buf, uint64_t off, uint32_t len)
{
	for (uint32_t k = 0; k < len; k++)
		buf[k] = dp_source_byte(off + k);
}

#endif
