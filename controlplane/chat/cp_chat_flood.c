/* Token bucket. See cp_chat_flood.h. */
#include "controlplane/chat/cp_chat_flood.h"

#include <errno.h>

void cp_chat_bucket_init(struct cp_chat_bucket *b, uint64_t now_ms, uint32_t burst)
{
	b->milli = (uint64_t)burst * 1000;
	b->last_ms = now_ms;
}

int cp_chat_bucket_take(struct cp_chat_bucket *b, uint64_t now_ms, uint32_t rate_per_s,
			uint32_t burst)
{
	if (burst == 0)
		return 0;
	uint64_t cap = (uint64_t)burst * 1000;
	if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * rate_per_s; /* ms * tokens/s = milli */
		b->milli = (cap - b->milli < add) ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli > cap)
		b->milli = cap;
	if (b->milli < 1000)
		return -EAGAIN;
	b->milli -= 1000;
	return 0;
}
