/* Fuzz the command and data parsers (types 20, 17, 18, 15) and the
 * @setDataFrame rewrite; every returned slice must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_cmd.h"

static void in_input(struct rtmp_str s, const uint8_t *data, size_t size)
{
	if (s.len == 0)
		return;
	if ((const uint8_t *)s.ptr < data || (const uint8_t *)s.ptr + s.len > data + size)
		abort();
}

static const uint8_t cmd_types[2] = { RTMP_MSG_COMMAND_AMF0, RTMP_MSG_COMMAND_AMF3 };
static const uint8_t data_types[2] = { RTMP_MSG_DATA_AMF0, RTMP_MSG_DATA_AMF3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtmp_amf0_node nodes[256];
	struct rtmp_amf0_arena a;
	struct rtmp_cmd c;
	struct rtmp_data d;
	uint8_t *out;
	int i, rc;

	for (i = 0; i < 2; i++) {
		rtmp_amf0_arena_init(&a, nodes, 256);
		if (rtmp_cmd_parse(cmd_types[i], data, size, &a, &c) == 0) {
			in_input(c.name, data, size);
			in_input(c.app, data, size);
			in_input(c.tc_url, data, size);
			in_input(c.stream, data, size);
			in_input(c.code, data, size);
			if (c.cmd_obj >= (int)a.used || c.args >= (int)a.used || c.info >= (int)a.used)
				abort();
		}
		rtmp_amf0_arena_init(&a, nodes, 256);
		if (rtmp_data_parse(data_types[i], data, size, &a, &d) == 0) {
			in_input(d.handler, data, size);
			in_input(d.name, data, size);
			if (d.payload_off > size)
				abort();
		}
		out = malloc(size + 1);
		if (!out)
			abort();
		rc = rtmp_data_strip_setdataframe(data_types[i], data, size, out, size);
		if (rc > (int)size)
			abort();
		free(out);
	}
	return 0;
}
