/* Fuzz the FLV reader, repair scan and repair (writer included) on arbitrary
 * bytes. Checks invariants, not just absence of crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flv/flv_reader.h"

struct mem {
	uint8_t *buf;
	size_t len, cap;
};

static int mem_write(void *ctx, const void *b, size_t n)
{
	struct mem *m = ctx;
	if (n > m->cap - m->len) {
		size_t cap = m->cap ? m->cap : 4096;
		while (cap - m->len < n)
			cap *= 2;
		uint8_t *p = realloc(m->buf, cap);
		if (!p)
			return -12;
		m->buf = p;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, b, n);
	m->len += n;
	return 0;
}

static int mem_pwrite(void *ctx, uint64_t off, const void *b, size_t n)
{
	struct mem *m = ctx;
	if (off > m->len || n > m->len - off)
		abort(); /* the writer rewrote bytes it never wrote */
	memcpy(m->buf + off, b, n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flv_reader r;
	struct flv_item it;
	size_t pos = 0;
	int rc;

	flv_reader_init(&r, 1 << 16);
	while ((rc = flv_reader_next(&r, data + pos, size - pos, &it)) > 0) {
		if (it.kind == FLV_ITEM_TAG &&
		    (it.tag.data < data || it.tag.data + it.tag.data_size > data + size))
			abort();
		pos += (size_t)rc;
	}
	if (pos > size)
		abort();

	struct flv_repair_report rep;
	if (flv_repair_scan(data, size, &rep) == 0 &&
	    (rep.valid_end > size || rep.valid_end + rep.truncated_bytes != size))
		abort();

	struct mem m = { 0 };
	struct flv_sink sink = { .ctx = &m, .write = mem_write, .pwrite = mem_pwrite };
	struct flv_writer_opts o = { .keyframe_capacity = 4, .reserve = 256 };
	if (flv_repair(data, size, &sink, &o, &rep) == 0) {
		/* The repaired copy must itself be clean. */
		struct flv_repair_report again;
		if (flv_repair_scan(m.buf, m.len, &again) != 0 || again.first_error != 0 ||
		    again.truncated_bytes != 0 || again.tags < rep.tags - rep.script_tags ||
		    m.len != rep.output_len)
			abort();
	}
	free(m.buf);
	return 0;
}
