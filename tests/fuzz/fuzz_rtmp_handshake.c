/* Fuzz the handshake: the server is fed the input (split by its first
 * byte), then a client is fed the same input as S0S1S2. Outputs must stay
 * within bounds and the consumed counts within the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_handshake.h"

static int fill(void *ctx, uint8_t *buf, size_t len)
{
	memset(buf, 0x5a, len);
	return 0;
}

static void run(struct rtmp_hs *hs, const uint8_t *data, size_t size, size_t step)
{
	uint8_t out[RTMP_HS_OUT_MAX];
	size_t pos = 0, olen;

	while (pos < size && !rtmp_hs_done(hs)) {
		size_t n = size - pos < step ? size - pos : step;
		int rc = rtmp_hs_feed(hs, data + pos, n, out, sizeof(out), &olen);

		if (rc < 0)
			return;
		if ((size_t)rc > n || olen > sizeof(out))
			abort();
		pos += (size_t)rc;
		if ((size_t)rc < n && !rtmp_hs_done(hs))
			abort(); /* only a finished handshake leaves bytes */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtmp_hs_config cfg = { fill, NULL, 0, 0, RTMP_HS_SCHEME0, 0, { 0 } };
	uint8_t c0c1[1 + RTMP_HS_SIZE];
	struct rtmp_hs hs;
	size_t step;

	if (size < 1)
		return 0;
	step = 1 + data[0] * 13u;
	data++;
	size--;
	cfg.strict = step & 1;
	if (rtmp_hs_server_init(&hs, &cfg) != 0)
		abort();
	run(&hs, data, size, step);
	cfg.digest = (step >> 1) & 1;
	cfg.scheme = (step >> 2) & 1 ? RTMP_HS_SCHEME1 : RTMP_HS_SCHEME0;
	if (rtmp_hs_client_init(&hs, &cfg) != 0 ||
	    rtmp_hs_client_start(&hs, c0c1, sizeof(c0c1)) != (int)sizeof(c0c1))
		abort();
	run(&hs, data, size, step);
	return 0;
}
