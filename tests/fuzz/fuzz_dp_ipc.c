/* Fuzz the control-plane IPC decoder: the input is split into datagrams
 * (2-byte big-endian length prefixes), each parsed, pushed through the
 * reassembler and, when whole, decoded by type. Nothing may crash, read
 * out of bounds or grow past the reassembly bound. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/dp_ipc_proto.h"

static void decode_whole(const struct dp_ipc_hdr *h, const uint8_t *p, size_t len)
{
	union {
		struct dp_ipc_hello hello;
		struct dp_ipc_hello_ack ack;
		struct dp_ipc_resync_session rss;
		struct dp_ipc_resync_stream rst;
		struct dp_ipc_resync_done rd;
		struct dp_ipc_session_open open;
		struct dp_ipc_handover ho;
		struct dp_ipc_msg msg;
		struct dp_ipc_publish pub;
		struct dp_ipc_attach at;
		struct dp_ipc_close cl;
		struct dp_ipc_stream_state st;
		struct dp_ipc_archive ar;
	} u;
	int var, fixed = dp_ipc_fixed_len(h->type, &var);
	const uint8_t *rest;
	size_t restlen;

	if (fixed < 0)
		return;
	if (dp_ipc_decode(h->type, p, len, &u, (size_t)fixed, &rest, &restlen) == 0 && restlen) {
		volatile uint8_t sink = rest[restlen - 1]; /* the slice must be readable */
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_ipc_reasm r;
	size_t off = 0;

	dp_ipc_reasm_init(&r, 1u << 20);
	while (off + 2 <= size) {
		size_t n = ((size_t)data[off] << 8) | data[off + 1];
		struct dp_ipc_hdr h, whole;
		const uint8_t *out;
		size_t outlen;

		off += 2;
		if (n > size - off)
			n = size - off;
		if (dp_ipc_hdr_parse(data + off, n, &h) == 0 &&
		    dp_ipc_reasm_push(&r, &h, data + off + DP_IPC_HDR_LEN, &whole, &out, &outlen) == 1)
			decode_whole(&whole, out, outlen);
		off += n;
	}
	dp_ipc_reasm_fini(&r);
	return 0;
}
