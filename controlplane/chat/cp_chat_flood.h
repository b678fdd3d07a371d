/* Token bucket for per-connection flood control and per-user slow mode.
 * Integer milli-tokens so refill is exact at any rate and never drifts. */
#ifndef CP_CHAT_FLOOD_H
#define CP_CHAT_FLOOD_H

#include <stdint.h>

struct cp_chat_bucket {
	uint64_t milli; /* tokens * 1000 */
	uint64_t last_ms;
};

/* Start full: a new client may send `burst` lines at once. */
void cp_chat_bucket_init(struct cp_chat_bucket *b, uint64_t now_ms, uint32_t burst);

/* Refill by rate_per_s tokens per second since the last call (capped at
 * burst), then take one token. Returns 0 when a token was taken, -EAGAIN when
 * the bucket is empty (nothing taken). A clock going backwards refills
 * nothing. burst 0 means unlimited. */
int cp_chat_bucket_take(struct cp_chat_bucket *b, uint64_t now_ms, uint32_t rate_per_s,
			uint32_t burst);

#endif
