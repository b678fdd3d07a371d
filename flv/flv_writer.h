/* FLV file writer with an up-front, fixed-size onMetaData that is fixed up in
 * place at close.
 *
 * Output goes through a caller-supplied sink, so the archive can run the
 * writer on a worker thread against a file and tests can write to memory.
 *
 * File produced:
 *   header | PreviousTagSize0 | onMetaData script tag (reserved size) | tags...
 *
 * The preamble (header + onMetaData) is written when the first media tag
 * arrives (or at close for an empty file), so publisher metadata sent before
 * the media (@setDataFrame right after publish) is merged into it. The
 * onMetaData tag is sized for the keyframe index capacity and a reserve for
 * merged properties; at close it is rewritten with the real values at exactly
 * the same size: the space not used is absorbed by a "padding" property
 * (a strict array of one-byte nulls), so no tag after it moves and every file position stays right.
 *
 * Measured values: duration, filesize, width/height (AVC SPS), framerate,
 * data rates, codec ids (Enhanced RTMP video: the FourCC as a number),
 * audio sample rate and stereo (AAC: from the AudioSpecificConfig).
 *
 * Keyframe index: times[] (seconds) and filepositions[] (offset of the video
 * tag's first byte). When more keyframes arrive than the capacity holds, the
 * index is thinned evenly: every other entry is dropped and from then on only
 * every 2^k-th keyframe is recorded, so the index always spans the whole file
 * with at most `capacity` entries, evenly spread (seeking lands on an indexed
 * keyframe at or before the target, just further back).
 *
 * Crash safety: each tag (header + data + PreviousTagSize) goes to the sink in
 * ONE write call after the preamble, and bytes are only ever appended except
 * for the same-size metadata fix-up. A file cut off at any byte therefore is
 * a prefix: the preamble (valid even before fix-up, duration 0), whole tags,
 * and at most one partial tag at the end, which every player and flv_repair()
 * ignore. Nothing earlier in the file depends on bytes written later.
 */
#ifndef FLV_WRITER_H
#define FLV_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "flv/flv_tag.h"

/* Output sink. Both callbacks return 0 or -errno; a short write is an error
 * the sink must report itself (e.g. -EIO). */
struct flv_sink {
	void *ctx;
	/* Append len bytes at the current end of the output. */
	int (*write)(void *ctx, const void *buf, size_t len);
	/* Overwrite len bytes at offset off, which lie inside what was already
	 * written; used once, at close, for the metadata fix-up. */
	int (*pwrite)(void *ctx, uint64_t off, const void *buf, size_t len);
};

#define FLV_WRITER_KEYFRAMES_DEFAULT 1000u
#define FLV_WRITER_KEYFRAMES_MAX     10000u
#define FLV_WRITER_RESERVE_DEFAULT   1024u
#define FLV_WRITER_RESERVE_MAX       8192u

struct flv_writer_opts {
	uint32_t keyframe_capacity; /* 0 = default; clamped to 2..KEYFRAMES_MAX */
	uint32_t reserve;           /* bytes for merged publisher properties;
				     * 0 = default; clamped to RESERVE_MAX */
	uint8_t rebase;             /* 1: the first tag's timestamp becomes 0 */
	uint8_t no_audio;           /* 1: header flag says no audio track */
	uint8_t no_video;           /* 1: header flag says no video track */
};

/* Statistics, also the basis of the metadata values. */
struct flv_writer_stats {
	uint64_t bytes;            /* file size so far */
	uint64_t tags, video_tags, audio_tags, script_tags;
	uint64_t video_bytes, audio_bytes; /* tag data bytes */
	uint64_t keyframes;        /* keyframes seen (not only indexed ones) */
	uint32_t indexed;          /* entries in the keyframe index */
	uint32_t index_stride;     /* 1, 2, 4, ...: thinning factor */
	uint32_t duration_ms;
	uint32_t last_keyframe_ms;
	uint32_t merged_props;     /* publisher properties kept */
	uint32_t dropped_props;    /* publisher properties not fitting the reserve */
	uint32_t metadata_offset;  /* offset of the onMetaData tag */
	uint32_t metadata_size;    /* its total size incl. PreviousTagSize */
};

struct flv_writer;

/* Create a writer on `sink` (copied; sink->ctx stays the caller's). opts may
 * be NULL for defaults. Nothing is written yet. Returns NULL with errno
 * ENOMEM, or EINVAL when the sink lacks a callback. */
struct flv_writer *flv_writer_open(const struct flv_sink *sink, const struct flv_writer_opts *opts);

/* Merge a publisher's metadata: `body` is a script data tag body or an RTMP
 * data message: ["@setDataFrame",] "onMetaData", object | ECMA array. Values
 * the writer measures itself (duration, filesize, width, height, codec ids,
 * keyframes, ...) are overridden by the measurement when one exists; any
 * other property is kept verbatim while it fits the reserve. May be called
 * any time before close; later calls add or replace properties.
 * Returns 0, -FLV_E_AMF (nothing merged), or -FLV_E_STATE after close. */
int flv_writer_set_metadata(struct flv_writer *w, const uint8_t *body, size_t len);

/* Append one tag. Audio and video bodies are sniffed (keyframes, codec ids,
 * AVC SPS dimensions, AAC sample rate). A script tag whose name is onMetaData
 * or @setDataFrame is merged (see flv_writer_set_metadata) instead of being
 * written; other script tags (onCuePoint, onTextData, ...) are written as is.
 * timestamp is in ms; with opts.rebase it is made relative to the first tag.
 * Returns 0, -FLV_E_AMF for a malformed onMetaData tag (dropped; the writer
 * stays usable), -FLV_E_STATE after close, -EINVAL (bad type or len > FLV_TAG_DATA_MAX), -ENOMEM, or the
 * sink's error, which is sticky: every later call returns it too. */
int flv_writer_write_tag(struct flv_writer *w, uint8_t type, uint32_t timestamp,
			 const uint8_t *data, size_t len);

/* Finish: write the preamble if no tag came, rewrite onMetaData in place
 * with the final values. Returns 0 or the first error seen. The writer is
 * not freed (stats stay readable); use flv_writer_free. */
int flv_writer_close(struct flv_writer *w);

/* Current statistics (valid before and after close). */
void flv_writer_get_stats(const struct flv_writer *w, struct flv_writer_stats *out);

/* Free the writer (does not close it: an unclosed file keeps its up-front
 * metadata). NULL is accepted. */
void flv_writer_free(struct flv_writer *w);

#endif
