/* Explicit byte-order readers and writers for RTMP wire fields.
 * RTMP is big-endian everywhere except the message stream id in a fmt-0
 * chunk header, which is little-endian. Every reader takes a pointer to at
 * least as many readable bytes as the field has; bounds are the caller's job
 * (parsers check len before calling). No host-order swapping is used, so the
 * code is correct on any host and free of alignment traps.
 */
#ifndef RTMP_BE_H
#define RTMP_BE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t rtmp_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rtmp_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t rtmp_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t rtmp_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t rtmp_be64(const uint8_t *p)
{
	return (uint64_t)rtmp_be32(p) << 32 | rtmp_be32(p + 4);
}

/* AMF0 numbers are IEEE-754 doubles in network order. */
static inline double rtmp_be_double(const uint8_t *p)
{
	uint64_t u = rtmp_be64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static inline void rtmp_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void rtmp_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void rtmp_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void rtmp_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void rtmp_put_be64(uint8_t *p, uint64_t v)
{
	rtmp_put_be32(p, (uint32_t)(v >> 32));
	rtmp_put_be32(p + 4, (uint32_t)v);
}

static inline void rtmp_put_be_double(uint8_t *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	rtmp_put_be64(p, u);
}

#endif
