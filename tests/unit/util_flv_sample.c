/* Sample FLV streams for the writer and reader suites. */
#include <string.h>

#include "flv/flv_tag.h"
#include "tests/unit/util_flv.h"

static const uint8_t sample_avc_seq[] = {
	0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x1b,
	0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
	0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
	0x01, 0x00, 0x04, 0x68, 0xeb, 0xe3, 0xcb };
static const uint8_t sample_aac_seq[] = { 0xAF, 0x00, 0x12, 0x10 };

int flv_sample_write(struct flv_writer *w, unsigned frames, unsigned gop)
{
	uint8_t body[96];
	int rc = flv_writer_write_tag(w, FLV_TAG_VIDEO, 0, sample_avc_seq, sizeof(sample_avc_seq));
	if (rc == 0)
		rc = flv_writer_write_tag(w, FLV_TAG_AUDIO, 0, sample_aac_seq, sizeof(sample_aac_seq));
	for (unsigned i = 0; rc == 0 && i < frames; i++) {
		uint32_t ts = i * FLV_SAMPLE_FRAME_MS;
		size_t n = 20 + (i * 7) % 60;
		body[0] = (i % gop == 0) ? 0x17 : 0x27;
		body[1] = 1; /* AVC NALU */
		body[2] = body[3] = body[4] = 0;
		for (size_t k = 5; k < n; k++)
			body[k] = (uint8_t)(i + k);
		rc = flv_writer_write_tag(w, FLV_TAG_VIDEO, ts, body, n);
		if (rc != 0)
			break;
		body[0] = 0xAF;
		body[1] = 0x01;
		for (size_t k = 2; k < 12; k++)
			body[k] = (uint8_t)(i * 3 + k);
		rc = flv_writer_write_tag(w, FLV_TAG_AUDIO, ts + 1, body, 12);
	}
	return rc;
}

int flv_sample_file(struct flv_memsink *m, unsigned frames, unsigned gop,
		    const struct flv_writer_opts *opts)
{
	struct flv_sink sink;
	flv_memsink_init(m, &sink);
	struct flv_writer *w = flv_writer_open(&sink, opts);
	if (!w)
		return -1;
	int rc = flv_sample_write(w, frames, gop);
	int crc = flv_writer_close(w);
	flv_writer_free(w);
	return rc ? rc : crc;
}
