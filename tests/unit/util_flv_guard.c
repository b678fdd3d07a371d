/* Guard-page placement and memory sink for the flv unit suites. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/util_flv.h"

int flv_guard_init(struct flv_guard *g, size_t max_len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t data = (max_len + page - 1) / page * page;
	if (data == 0)
		data = page;
	g->map_len = data + page;
	g->data_len = data;
	g->base = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->base == MAP_FAILED) {
		g->base = NULL;
		return -errno;
	}
	if (mprotect(g->base + data, page, PROT_NONE) != 0) {
		int e = errno;
		munmap(g->base, g->map_len);
		g->base = NULL;
		return -e;
	}
	return 0;
}

const uint8_t *flv_guard_place(struct flv_guard *g, const uint8_t *data, size_t len)
{
	if (len > g->data_len)
		abort();
	uint8_t *dst = g->base + g->data_len - len;
	if (len)
		memcpy(dst, data, len);
	return dst;
}

void flv_guard_free(struct flv_guard *g)
{
	if (g->base)
		munmap(g->base, g->map_len);
	g->base = NULL;
}

static int flv_mem_reserve(struct flv_memsink *m, size_t need)
{
	if (need <= m->cap)
		return 0;
	size_t cap = m->cap ? m->cap : 4096;
	while (cap < need)
		cap *= 2;
	uint8_t *p = realloc(m->buf, cap);
	if (!p)
		return -ENOMEM;
	m->buf = p;
	m->cap = cap;
	return 0;
}

static int flv_mem_write(void *ctx, const void *buf, size_t len)
{
	struct flv_memsink *m = ctx;
	if (m->fail_after && m->writes >= m->fail_after)
		return -EIO;
	int rc = flv_mem_reserve(m, m->len + len);
	if (rc)
		return rc;
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	m->writes++;
	return 0;
}

static int flv_mem_pwrite(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct flv_memsink *m = ctx;
	if (off > m->len || len > m->len - off)
		return -EINVAL; /* the writer only rewrites what it wrote */
	memcpy(m->buf + off, buf, len);
	m->pwrites++;
	return 0;
}

void flv_memsink_init(struct flv_memsink *m, struct flv_sink *sink)
{
	memset(m, 0, sizeof(*m));
	sink->ctx = m;
	sink->write = flv_mem_write;
	sink->pwrite = flv_mem_pwrite;
}

void flv_memsink_free(struct flv_memsink *m)
{
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}
