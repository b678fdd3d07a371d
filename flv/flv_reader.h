/* Incremental FLV reader and file repair.
 *
 * The reader is a small state machine over caller-held bytes, in the
 * picohttpparser style: the caller passes the unconsumed bytes it holds
 * (a whole file in memory, or a buffer it refills from a file in chunks);
 * each call returns how many bytes one item used, 0 for "need more", or an
 * error. The reader never buffers or allocates.
 *
 * Repair scans a possibly truncated or corrupted file, keeps every whole tag
 * (header + data + matching PreviousTagSize), skips corrupt stretches by
 * resynchronising on the next run of valid tags, and writes a clean copy
 * through flv_writer, so the copy gets fresh metadata: duration, filesize and
 * keyframe index; the original onMetaData's other properties are merged.
 */
#ifndef FLV_READER_H
#define FLV_READER_H

#include <stddef.h>
#include <stdint.h>

#include "flv/flv_tag.h"
#include "flv/flv_writer.h"

enum flv_item_kind {
	FLV_ITEM_HEADER = 1,  /* the file header and PreviousTagSize0 */
	FLV_ITEM_TAG = 2,     /* one whole tag */
};

struct flv_item {
	enum flv_item_kind kind;
	uint64_t offset;          /* file offset of the item's first byte */
	struct flv_header header; /* FLV_ITEM_HEADER */
	struct flv_tag tag;       /* FLV_ITEM_TAG; tag.data points into buf */
};

struct flv_reader {
	uint64_t offset;   /* file offset of the next byte expected */
	uint32_t max_data; /* largest tag DataSize accepted */
	uint8_t in_tags;   /* header already consumed */
	uint8_t _pad[3];
	uint64_t tags;     /* tags returned so far */
};

/* Initialise a reader at the start of a file. max_data bounds a tag's
 * DataSize (0 = FLV_TAG_DATA_MAX), so a caller buffering input in chunks
 * knows the most it ever needs to hold: FLV_TAG_HEADER_SIZE + max_data + 4. */
void flv_reader_init(struct flv_reader *r, uint32_t max_data);

/* Read the next item from buf, which holds the file bytes starting at
 * r->offset. Returns bytes consumed (> 0) with *out filled, 0 when buf holds
 * no whole item (at end of file this means the rest is truncated), or
 * -FLV_E_* (the reader does not advance; repair resynchronises instead). */
int flv_reader_next(struct flv_reader *r, const uint8_t *buf, size_t len, struct flv_item *out);

struct flv_repair_report {
	uint64_t input_len;
	uint64_t valid_end;       /* end of the last whole tag (truncation point
				   * when < input_len and no corruption) */
	uint64_t truncated_bytes; /* input_len - valid_end */
	uint64_t skipped_bytes;   /* corrupt bytes skipped in the middle */
	uint32_t resyncs;         /* corrupt stretches skipped */
	uint64_t tags;            /* whole tags kept */
	uint64_t video_tags, audio_tags, script_tags, keyframes;
	uint32_t duration_ms;     /* last tag timestamp - first */
	int first_error;          /* first -FLV_E_* met, 0 when none */
	uint64_t first_error_offset;
	uint64_t output_len;      /* bytes written to the sink (flv_repair) */
};

/* Scan buf (a whole file) without writing: fill *rep. Returns 0 when a file
 * header was found (even if tags are damaged), or the header's error
 * (-FLV_E_SIGNATURE, ...), or -FLV_E_EMPTY when buf is shorter than a header. */
int flv_repair_scan(const uint8_t *buf, size_t len, struct flv_repair_report *rep);

/* Scan like flv_repair_scan and write a repaired copy to `out` through an
 * flv_writer with `opts` (NULL = defaults; timestamps are not rebased unless
 * asked). Tags are kept in order and unchanged; the original onMetaData is
 * merged into the new one. Returns 0, a header error, or the sink's -errno. */
int flv_repair(const uint8_t *buf, size_t len, const struct flv_sink *out,
	       const struct flv_writer_opts *opts, struct flv_repair_report *rep);

#endif
