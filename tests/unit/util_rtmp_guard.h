/* Guard-page placement for parser tests: the input ends exactly where a
 * PROT_NONE page begins, so any read past len faults at once. */
#ifndef UTIL_RTMP_GUARD_H
#define UTIL_RTMP_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct rtmp_guard {
	uint8_t *base;
	size_t map_len;
};

/* Map enough pages for len bytes plus one PROT_NONE page, copy data so it
 * ends at the boundary, return the copy (NULL on failure). len may be 0. */
const uint8_t *rtmp_guard_place(struct rtmp_guard *g, const void *data, size_t len);

/* Unmap; safe to call on a zeroed or released guard. */
void rtmp_guard_release(struct rtmp_guard *g);

/* Deterministic xorshift generator for tests. */
static inline uint32_t rtmp_test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* rand callback for the handshake: fills from the xorshift state in ctx. */
int rtmp_test_rand_fill(void *ctx, uint8_t *buf, size_t len);

#endif
