/* Helpers shared by the flv unit suites: guard-page input placement and an
 * in-memory flv_sink. */
#ifndef UTIL_FLV_H
#define UTIL_FLV_H

#include <stddef.h>
#include <stdint.h>

#include "flv/flv_writer.h"

/* Input placed so its last byte is the last readable byte before a
 * PROT_NONE page: any read past len faults at once. */
struct flv_guard {
	uint8_t *base;
	size_t map_len;
	size_t data_len; /* readable bytes before the guard page */
};

/* Map room for inputs up to max_len bytes plus one guard page. 0 or -errno. */
int flv_guard_init(struct flv_guard *g, size_t max_len);
/* Copy data (len <= max_len) to end exactly at the guard page; returns the
 * copy. With len 0 the returned pointer is the guard page itself. */
const uint8_t *flv_guard_place(struct flv_guard *g, const uint8_t *data, size_t len);
void flv_guard_free(struct flv_guard *g);

/* Growable memory sink. fail_after: when > 0, writes fail with -EIO once
 * that many write calls succeeded. */
struct flv_memsink {
	uint8_t *buf;
	size_t len, cap;
	unsigned writes, pwrites;
	unsigned fail_after;
};

void flv_memsink_init(struct flv_memsink *m, struct flv_sink *sink);
void flv_memsink_free(struct flv_memsink *m);

#endif

/* Sample stream for writer/reader tests: an AVC sequence header (1920x1080
 * SPS), an AAC sequence header (44.1 kHz stereo), then `frames` video frames
 * 40 ms apart, a keyframe every `gop` frames, and one AAC frame after each
 * video frame. Body bytes vary per tag so misplaced data is caught. */
#define FLV_SAMPLE_FRAME_MS 40u

/* Write the sample through w (not closed). Returns 0 or the first error. */
int flv_sample_write(struct flv_writer *w, unsigned frames, unsigned gop);
/* Number of tags flv_sample_write produces. */
static inline unsigned flv_sample_tags(unsigned frames)
{
	return 2 + 2 * frames;
}
/* Build a whole sample file into m (initialised here). 0 or error. */
int flv_sample_file(struct flv_memsink *m, unsigned frames, unsigned gop,
		    const struct flv_writer_opts *opts);
