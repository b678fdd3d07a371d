/* Guard-page helper and deterministic randomness for the rtmp suites. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/util_rtmp_guard.h"

const uint8_t *rtmp_guard_place(struct rtmp_guard *g, const void *data, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (len + page - 1) / page * page;
	uint8_t *p;

	if (body == 0)
		body = page;
	g->map_len = body + page;
	p = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		g->base = NULL;
		return NULL;
	}
	if (mprotect(p + body, page, PROT_NONE) != 0) {
		munmap(p, g->map_len);
		g->base = NULL;
		return NULL;
	}
	g->base = p;
	if (len)
		memcpy(p + body - len, data, len);
	return p + body - len;
}

void rtmp_guard_release(struct rtmp_guard *g)
{
	if (!g->base)
		return;
	munmap(g->base, g->map_len);
	g->base = NULL;
}

int rtmp_test_rand_fill(void *ctx, uint8_t *buf, size_t len)
{
	uint64_t *s = ctx;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rtmp_test_rand(s);
	return 0;
}
