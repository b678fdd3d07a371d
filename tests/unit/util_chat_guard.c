/* Guard-page placement for parser tests. See util_chat_guard.h. */
#include "tests/unit/util_chat_guard.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

char *chat_guard_place(struct chat_guard *g, const void *data, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (len + page - 1) / page * page;
	if (body == 0)
		body = page;
	g->maplen = body + page;
	g->base = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->base == MAP_FAILED) {
		g->base = NULL;
		return NULL;
	}
	char *guard = (char *)g->base + body;
	if (mprotect(guard, page, PROT_NONE) < 0) {
		munmap(g->base, g->maplen);
		g->base = NULL;
		return NULL;
	}
	char *p = guard - len;
	memcpy(p, data, len);
	return p;
}

void chat_guard_free(struct chat_guard *g)
{
	if (g->base)
		munmap(g->base, g->maplen);
	g->base = NULL;
}
