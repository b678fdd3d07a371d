/* Incremental FLV reader, and repair of truncated or corrupted files. */
#include <errno.h>
#include <string.h>

#include "flv/flv_codec.h"
#include "flv/flv_reader.h"

void flv_reader_init(struct flv_reader *r, uint32_t max_data)
{
	memset(r, 0, sizeof(*r));
	r->max_data = (max_data == 0 || max_data > FLV_TAG_DATA_MAX) ? FLV_TAG_DATA_MAX : max_data;
}

int flv_reader_next(struct flv_reader *r, const uint8_t *buf, size_t len, struct flv_item *out)
{
	int rc;

	if (!r->in_tags) {
		rc = flv_header_parse(buf, len, &out->header);
		if (rc <= 0)
			return rc;
		out->kind = FLV_ITEM_HEADER;
		r->in_tags = 1;
	} else {
		rc = flv_tag_parse(buf, len, r->max_data, &out->tag);
		if (rc <= 0)
			return rc;
		out->kind = FLV_ITEM_TAG;
		r->tags++;
	}
	out->offset = r->offset;
	r->offset += (uint64_t)rc;
	return rc;
}

/* ---- repair ---- */

typedef int (*flv_scan_fn)(void *arg, const struct flv_tag *t);

/* A position is a plausible tag start when a whole tag parses there and is
 * followed either by the end of the input or by another whole tag: two
 * chained PreviousTagSize matches do not happen by chance. */
static int flv_resync_ok(const uint8_t *buf, size_t len, size_t q)
{
	struct flv_tag t;
	int rc = flv_tag_parse(buf + q, len - q, FLV_TAG_DATA_MAX, &t);
	if (rc <= 0)
		return 0;
	size_t next = q + (size_t)rc;
	if (next == len)
		return 1;
	return flv_tag_parse(buf + next, len - next, FLV_TAG_DATA_MAX, &t) > 0;
}

static size_t flv_resync(const uint8_t *buf, size_t len, size_t from)
{
	for (size_t q = from; q + flv_tag_encoded_size(0) <= len; q++)
		if (flv_resync_ok(buf, len, q))
			return q;
	return len;
}

static void flv_scan_count(struct flv_repair_report *rep, const struct flv_tag *t,
			   uint32_t *min_ts, uint32_t *max_ts)
{
	struct flv_media_info mi;

	if (rep->tags == 0)
		*min_ts = *max_ts = t->timestamp;
	if (t->timestamp < *min_ts)
		*min_ts = t->timestamp;
	if (t->timestamp > *max_ts)
		*max_ts = t->timestamp;
	rep->tags++;
	if (t->type == FLV_TAG_VIDEO) {
		rep->video_tags++;
		if (flv_sniff_video(t->data, t->data_size, &mi) == 0 && mi.keyframe)
			rep->keyframes++;
	} else if (t->type == FLV_TAG_AUDIO) {
		rep->audio_tags++;
	} else {
		rep->script_tags++;
	}
}

static void flv_scan_error(struct flv_repair_report *rep, int err, size_t pos)
{
	if (rep->first_error == 0) {
		rep->first_error = err;
		rep->first_error_offset = pos;
	}
}

static int flv_scan(const uint8_t *buf, size_t len, struct flv_repair_report *rep,
		    struct flv_header *hdr, flv_scan_fn fn, void *arg)
{
	struct flv_tag t;
	uint32_t min_ts = 0, max_ts = 0;

	memset(rep, 0, sizeof(*rep));
	rep->input_len = len;
	int rc = flv_header_parse(buf, len, hdr);
	if (rc == 0)
		return -FLV_E_EMPTY;
	if (rc < 0)
		return rc;
	size_t pos = (size_t)rc;
	rep->valid_end = pos;
	while (pos < len) {
		rc = flv_tag_parse(buf + pos, len - pos, FLV_TAG_DATA_MAX, &t);
		if (rc > 0) {
			flv_scan_count(rep, &t, &min_ts, &max_ts);
			if (fn && (rc = fn(arg, &t)) != 0)
				return rc;
			pos += (size_t)t.data_size + FLV_TAG_HEADER_SIZE + FLV_PREV_SIZE_LEN;
			rep->valid_end = pos;
			continue;
		}
		/* Incomplete or bad: either the real end (truncation) or a
		 * corrupt stretch with whole tags after it. */
		size_t q = flv_resync(buf, len, pos + 1);
		if (q == len) {
			if (rc < 0)
				flv_scan_error(rep, rc, pos);
			break;
		}
		flv_scan_error(rep, rc < 0 ? rc : -FLV_E_TAG_TOO_BIG, pos);
		rep->skipped_bytes += q - pos;
		rep->resyncs++;
		pos = q;
	}
	rep->truncated_bytes = len - rep->valid_end;
	rep->duration_ms = max_ts - min_ts;
	return 0;
}

int flv_repair_scan(const uint8_t *buf, size_t len, struct flv_repair_report *rep)
{
	struct flv_header hdr;
	return flv_scan(buf, len, rep, &hdr, NULL, NULL);
}

static int flv_repair_put(void *arg, const struct flv_tag *t)
{
	int rc = flv_writer_write_tag(arg, t->type, t->timestamp, t->data, t->data_size);
	/* A damaged onMetaData is only skipped; sink errors stop the repair. */
	return rc == -FLV_E_AMF ? 0 : rc;
}

int flv_repair(const uint8_t *buf, size_t len, const struct flv_sink *out,
	       const struct flv_writer_opts *opts, struct flv_repair_report *rep)
{
	struct flv_header hdr;
	struct flv_writer_opts o = { 0 };
	struct flv_writer_stats st;
	int rc;

	/* Header first, so the copy keeps the original's track flags. */
	rc = flv_header_parse(buf, len, &hdr);
	if (rc <= 0) {
		memset(rep, 0, sizeof(*rep));
		rep->input_len = len;
		return rc == 0 ? -FLV_E_EMPTY : rc;
	}
	if (opts) {
		o = *opts;
	} else {
		o.no_audio = !hdr.has_audio;
		o.no_video = !hdr.has_video;
	}
	struct flv_writer *w = flv_writer_open(out, &o);
	if (!w)
		return -errno;
	rc = flv_scan(buf, len, rep, &hdr, flv_repair_put, w);
	int crc = flv_writer_close(w);
	if (rc == 0)
		rc = crc;
	flv_writer_get_stats(w, &st);
	rep->output_len = st.bytes;
	flv_writer_free(w);
	return rc;
}
