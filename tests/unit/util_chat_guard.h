/* Place parser input right before a PROT_NONE page so any read past len
 * faults at once (the picohttpparser test technique). */
#ifndef UTIL_CHAT_GUARD_H
#define UTIL_CHAT_GUARD_H

#include <stddef.h>

struct chat_guard {
	void *base;
	size_t maplen;
};

/* Copy data[0..len) so that its last byte is the last byte before the guard
 * page. Returns the copy, or NULL (errno set). Free with chat_guard_free. */
char *chat_guard_place(struct chat_guard *g, const void *data, size_t len);
void chat_guard_free(struct chat_guard *g);

#endif
