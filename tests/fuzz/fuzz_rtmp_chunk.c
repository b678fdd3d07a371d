/* Fuzz the chunk reader: the input is split at points derived from its first
 * bytes; every delivered message is re-chunked in canonical form and read
 * back by a second reader, which must give the same message. The same bytes
 * then go through rtmp_conn (protocol control handling). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_conn.h"

static void check_canonical(const struct rtmp_msg *m)
{
	size_t cap = rtmp_chunk_canonical_size(m->length, m->timestamp, 64);
	uint8_t *buf = malloc(cap);
	struct rtmp_chunk_reader r;
	struct rtmp_msg back;
	size_t used;

	if (!buf)
		abort();
	if (rtmp_chunk_write_canonical(m, 64, buf, cap) != (ssize_t)cap)
		abort();
	if (rtmp_chunk_reader_init(&r, NULL, NULL, 64) != 0)
		abort();
	if (rtmp_chunk_read(&r, buf, cap, &back, &used) != 1 || used != cap ||
	    back.length != m->length || back.type != m->type || back.timestamp != m->timestamp ||
	    (m->length && memcmp(back.data, m->data, m->length) != 0))
		abort();
	rtmp_chunk_reader_fini(&r);
	free(buf);
}

static int sink_msg(void *ctx, const struct rtmp_msg *m)
{
	return 0;
}

static int sink_out(void *ctx, const uint8_t *p, size_t n)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtmp_chunk_limits lim = { 1 << 20, 1 << 16, 8, 1 << 18 };
	struct rtmp_chunk_reader r;
	struct rtmp_conn_config cfg;
	struct rtmp_conn c;
	uint32_t seed;
	size_t pos = 0;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if (rtmp_chunk_reader_init(&r, &lim, NULL, 1 + (seed & 0xff)) != 0)
		abort();
	while (pos < size) {
		size_t piece = 1 + (seed % 97), used;
		struct rtmp_msg m;
		int rc;

		seed = seed * 1103515245u + 12345u;
		if (piece > size - pos)
			piece = size - pos;
		rc = rtmp_chunk_read(&r, data + pos, piece, &m, &used);
		if (used > piece)
			abort();
		pos += used;
		if (rc < 0)
			break;
		if (rc == 1)
			check_canonical(&m);
	}
	rtmp_chunk_reader_fini(&r);

	memset(&cfg, 0, sizeof(cfg));
	cfg.limits = lim;
	cfg.on_msg = sink_msg;
	cfg.on_out = sink_out;
	if (rtmp_conn_init(&c, &cfg) != 0)
		abort();
	rtmp_conn_input(&c, data, size);
	rtmp_conn_fini(&c);
	return 0;
}
