/* Kernel randomness for the RTMP handshakes (C1/S1 random, digest keys). */
#include "controlplane/cp_rand.h"

#include <errno.h>
#include <sys/random.h>

int cp_rand_fill(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
