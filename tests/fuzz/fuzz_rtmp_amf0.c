/* Fuzz the AMF0 decoder: whatever decodes must re-encode, and decoding the
 * re-encoding must re-encode to the same bytes (a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_amf0.h"

#define NODES 512

static int reencode(const struct rtmp_amf0_arena *a, int n, uint8_t *out, size_t cap)
{
	struct rtmp_amf0_w w;
	int i;

	rtmp_amf0_w_init(&w, out, cap);
	for (i = 0; i < n; i++) {
		int idx = rtmp_amf0_nth(a, 0, (uint32_t)i);

		if (idx < 0)
			abort();
		rtmp_amf0_put_node(&w, a, (uint32_t)idx);
	}
	return rtmp_amf0_w_result(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtmp_amf0_node n1[NODES], n2[NODES];
	struct rtmp_amf0_arena a1, a2;
	size_t cap = size * 2 + 64;
	uint8_t *e1, *e2;
	int n, l1, l2;
	uint32_t i;

	rtmp_amf0_arena_init(&a1, n1, NODES);
	n = rtmp_amf0_decode_all(&a1, data, size);
	if (n <= 0)
		return 0;
	for (i = 0; i < a1.used; i++)
		if (n1[i].type == RTMP_AMF0_REFERENCE && rtmp_amf0_resolve(&a1, i) < 0)
			abort();
	/* Re-encoding can grow: booleans normalised, strings kept; ECMA counts
	 * and 0-length keys are bounded by the input, so 2x + slack is ample. */
	e1 = malloc(cap);
	e2 = malloc(cap);
	if (!e1 || !e2)
		abort();
	l1 = reencode(&a1, n, e1, cap);
	if (l1 < 0)
		abort();
	rtmp_amf0_arena_init(&a2, n2, NODES);
	if (rtmp_amf0_decode_all(&a2, e1, (size_t)l1) != n || a2.used != a1.used)
		abort();
	l2 = reencode(&a2, n, e2, cap);
	if (l2 != l1 || memcmp(e1, e2, (size_t)l1) != 0)
		abort();
	free(e1);
	free(e2);
	return 0;
}
