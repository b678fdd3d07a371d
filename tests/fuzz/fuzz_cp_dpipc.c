/* libFuzzer target: the control plane's side of the dataplane IPC
 * (cp_dpipc): datagram checks, reassembly, and every message handler
 * (handshake relay, session messages into cp_session, resync, archive
 * copies, stream states) on arbitrary input. Input: records of
 * [kind:1][flags:1][session:1][stream:1][len:be16][payload]; kind 0xFF sends
 * the payload as a raw datagram, otherwise a valid header of type
 * kind % 19 is built around it so the fuzzer reaches the handlers. The
 * engine clock advances 100 ms per record (timeouts, grace periods). Any
 * crash, leak or sanitizer report is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "controlplane/cp_dpipc.h"
#include "controlplane/cp_log.h"
#include "dataplane/dp_ipc_proto.h"

static void arch(void *arg, const struct cp_stream *s, uint8_t type, uint32_t ts,
		 const uint8_t *p, size_t len)
{
	if (len)
		*(volatile uint8_t *)arg ^= p[len - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_rtmp_conf conf;
	struct cp_keytab keys = { 0 };
	struct cp_engine eng;
	uv_loop_t loop;
	char err[128];
	uint8_t sink = 0;
	cp_log_set_level(CP_LOG_ERR); /* keep the fuzzer output readable */
	if (cp_rtmp_conf_load(NULL, &conf, err, sizeof(err)) != 0 || uv_loop_init(&loop) != 0)
		return 0;
	cp_keytab_add(&keys, "chan", "key");
	struct cp_engine_hooks hooks = { NULL, arch, &sink };
	cp_engine_init(&eng, &conf, &keys, &hooks);
	struct cp_dpipc *d = cp_dpipc_create(&loop, &eng, "/nonexistent/lifecast-fuzz.sock", NULL);
	if (!d)
		goto out;
	uint8_t *dg = malloc(DP_IPC_FRAG_MAX + 1);
	uint64_t now = 0;
	while (size >= 6) {
		uint8_t kind = data[0], flags = data[1];
		uint64_t sess = data[2] % 8, stream = data[3] % 4;
		size_t len = ((size_t)data[4] << 8) | data[5];
		data += 6;
		size -= 6;
		if (len > size)
			len = size;
		if (kind == 0xFF) {
			cp_dpipc_inject(d, data, len);
		} else if (len + DP_IPC_HDR_LEN <= DP_IPC_FRAG_MAX) {
			struct dp_ipc_hdr h;
			dp_ipc_hdr_init(&h, (uint16_t)(kind % (DP_IPC_TYPE_MAX + 1)), sess, stream,
					(uint32_t)len);
			h.flags = flags & DP_IPC_F_MORE;
			memcpy(dg, &h, DP_IPC_HDR_LEN);
			memcpy(dg + DP_IPC_HDR_LEN, data, len);
			cp_dpipc_inject(d, dg, DP_IPC_HDR_LEN + len);
		}
		data += len;
		size -= len;
		now += 100;
		cp_engine_tick(&eng, now);
	}
	free(dg);
	cp_dpipc_destroy(d);
	while (uv_run(&loop, UV_RUN_DEFAULT) != 0)
		;
out:
	cp_engine_fini(&eng);
	uv_loop_close(&loop);
	cp_keytab_free(&keys);
	return 0;
}
