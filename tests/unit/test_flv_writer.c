/* flv_writer: preamble, in-place metadata fix-up, keyframe index and its
 * thinning, publisher metadata merge, sink errors, and truncation of a
 * written file at every byte. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flv/flv_amf.h"
#include "flv/flv_codec.h"
#include "flv/flv_reader.h"
#include "flv/flv_writer.h"
#include "tests/unit/util_flv.h"

/* What the tests read back from onMetaData. */
struct meta {
	int ok;
	double duration, filesize, width, height, framerate, vcodec, acodec, srate;
	int stereo;
	uint32_t nkf;
	double times[64], pos[64];
	char encoder[32], title[32];
	int has_custom;
	double custom;
	int props;
};

static void meta_string(const struct flv_amf_prop *p, char *dst, size_t cap)
{
	const uint8_t *s;
	size_t n;
	if (flv_amf_read_string(p->value, p->value_len, &s, &n) > 0 && n < cap) {
		memcpy(dst, s, n);
		dst[n] = 0;
	}
}

static uint32_t meta_array(const uint8_t *v, size_t len, double *out, uint32_t cap)
{
	if (len < 5 || v[0] != FLV_AMF_STRICT_ARRAY)
		return 0;
	uint32_t n = flv_be32(v + 1);
	for (uint32_t i = 0; i < n && i < cap && 5 + 9 * (size_t)(i + 1) <= len; i++)
		flv_amf_get_number(v + 5 + 9 * (size_t)i, 9, &out[i]);
	return n;
}

static void meta_kf_prop(void *arg, const struct flv_amf_prop *p)
{
	struct meta *m = arg;
	if (p->name_len == 5 && memcmp(p->name, "times", 5) == 0)
		m->nkf = meta_array(p->value, p->value_len, m->times, 64);
	else if (p->name_len == 13 && memcmp(p->name, "filepositions", 13) == 0)
		meta_array(p->value, p->value_len, m->pos, 64);
}

#define IS(key) (p->name_len == strlen(key) && memcmp(p->name, key, p->name_len) == 0)

static void meta_prop(void *arg, const struct flv_amf_prop *p)
{
	struct meta *m = arg;
	double v = 0;
	flv_amf_get_number(p->value, p->value_len, &v);
	m->props++;
	if (IS("duration"))
		m->duration = v;
	else if (IS("filesize"))
		m->filesize = v;
	else if (IS("width"))
		m->width = v;
	else if (IS("height"))
		m->height = v;
	else if (IS("framerate"))
		m->framerate = v;
	else if (IS("videocodecid"))
		m->vcodec = v;
	else if (IS("audiocodecid"))
		m->acodec = v;
	else if (IS("audiosamplerate"))
		m->srate = v;
	else if (IS("stereo"))
		m->stereo = p->value[0] == FLV_AMF_BOOLEAN && p->value[1];
	else if (IS("encoder"))
		meta_string(p, m->encoder, sizeof(m->encoder));
	else if (IS("title"))
		meta_string(p, m->title, sizeof(m->title));
	else if (IS("custom")) {
		m->has_custom = 1;
		m->custom = v;
	} else if (IS("keyframes"))
		flv_amf_each_prop(p->value, p->value_len, meta_kf_prop, m);
}

/* Parse the onMetaData tag right after the header; returns its total size. */
static int read_meta(const uint8_t *buf, size_t len, struct meta *m)
{
	struct flv_tag t;
	const uint8_t *s;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (len < 13)
		return -1;
	int rc = flv_tag_parse(buf + 13, len - 13, FLV_TAG_DATA_MAX, &t);
	if (rc <= 0 || t.type != FLV_TAG_SCRIPT)
		return -1;
	int k = flv_amf_read_string(t.data, t.data_size, &s, &n);
	if (k < 0 || n != 10 || memcmp(s, "onMetaData", 10) != 0)
		return -1;
	int e = flv_amf_each_prop(t.data + k, t.data_size - (size_t)k, meta_prop, m);
	/* The ECMA array must end exactly at the end of the tag body. */
	m->ok = e > 0 && (size_t)k + (size_t)e == t.data_size;
	return rc;
}

static void test_fixup(void)
{
	struct flv_memsink m;
	struct flv_sink sink;
	struct flv_meta_before { int size; } before;
	struct meta md;

	flv_memsink_init(&m, &sink);
	struct flv_writer *w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(m.len, 0); /* nothing before the first tag */
	CU_ASSERT_EQUAL(flv_sample_write(w, 30, 10), 0);
	/* Preamble written and valid before close: duration 0, no index. */
	before.size = read_meta(m.buf, m.len, &md);
	CU_ASSERT(before.size > 0);
	CU_ASSERT(md.ok);
	CU_ASSERT_EQUAL(md.duration, 0);
	CU_ASSERT_EQUAL(md.nkf, 0);
	size_t len_before = m.len;
	uint8_t *copy = malloc(m.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, m.buf, m.len);

	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	CU_ASSERT_EQUAL(m.len, len_before); /* close appends nothing */
	CU_ASSERT_EQUAL(m.pwrites, 1);
	int after = read_meta(m.buf, m.len, &md);
	CU_ASSERT_EQUAL(after, before.size);
	/* Only the metadata body changed; every tag after it is untouched. */
	size_t meta_end = 13 + (size_t)after;
	CU_ASSERT_EQUAL(memcmp(copy, m.buf, 13), 0);
	CU_ASSERT_EQUAL(memcmp(copy + meta_end, m.buf + meta_end, m.len - meta_end), 0);
	CU_ASSERT(md.ok);
	/* last tag (audio, 29 * 40 + 1 ms) + one 40 ms frame interval */
	CU_ASSERT_DOUBLE_EQUAL(md.duration, 1.201, 1e-9);
	CU_ASSERT_EQUAL(md.filesize, (double)m.len);
	CU_ASSERT_EQUAL(md.width, 1920);
	CU_ASSERT_EQUAL(md.height, 1080);
	CU_ASSERT_DOUBLE_EQUAL(md.framerate, 25.0, 1e-9);
	CU_ASSERT_EQUAL(md.vcodec, 7);
	CU_ASSERT_EQUAL(md.acodec, 10);
	CU_ASSERT_EQUAL(md.srate, 44100);
	CU_ASSERT_EQUAL(md.stereo, 1);
	CU_ASSERT_EQUAL(md.nkf, 3);
	for (uint32_t i = 0; i < md.nkf && i < 3; i++) {
		CU_ASSERT_DOUBLE_EQUAL(md.times[i], i * 0.4, 1e-9);
		size_t pos = (size_t)md.pos[i];
		struct flv_tag t;
		CU_ASSERT_FATAL(pos < m.len);
		CU_ASSERT(flv_tag_parse(m.buf + pos, m.len - pos, FLV_TAG_DATA_MAX, &t) > 0);
		CU_ASSERT_EQUAL(t.type, FLV_TAG_VIDEO);
		CU_ASSERT_EQUAL(t.data[0], 0x17);
		CU_ASSERT_EQUAL(t.data[1], 1);
		CU_ASSERT_EQUAL(t.timestamp, i * 400);
	}
	struct flv_writer_stats st;
	flv_writer_get_stats(w, &st);
	CU_ASSERT_EQUAL(st.tags, flv_sample_tags(30));
	CU_ASSERT_EQUAL(st.keyframes, 3);
	CU_ASSERT_EQUAL(st.indexed, 3);
	CU_ASSERT_EQUAL(st.bytes, m.len);
	CU_ASSERT_EQUAL(st.metadata_offset, 13);
	CU_ASSERT_EQUAL(st.metadata_size, (uint32_t)after);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_AUDIO, 0, (const uint8_t *)"\xAF\x01", 2),
			-FLV_E_STATE);
	flv_writer_free(w);
	free(copy);
	flv_memsink_free(&m);
}

static void test_thinning(void)
{
	struct flv_memsink m;
	struct meta md;
	struct flv_writer_opts o = { .keyframe_capacity = 4 };

	/* 20 keyframes (every 2nd frame) into 4 slots: halved at the 5th, 9th
	 * and 17th, leaving keyframes 0, 8, 16. */
	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 40, 2, &o), 0);
	CU_ASSERT(read_meta(m.buf, m.len, &md) > 0);
	CU_ASSERT(md.ok);
	CU_ASSERT_EQUAL(md.nkf, 3);
	CU_ASSERT_DOUBLE_EQUAL(md.times[0], 0.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(md.times[1], 8 * 2 * 0.04, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(md.times[2], 16 * 2 * 0.04, 1e-9);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(m.buf[(size_t)md.pos[i] + 11], 0x17);
	flv_memsink_free(&m);

	/* Exactly at capacity: no thinning. */
	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 8, 2, &o), 0);
	CU_ASSERT(read_meta(m.buf, m.len, &md) > 0);
	CU_ASSERT_EQUAL(md.nkf, 4);
	CU_ASSERT_DOUBLE_EQUAL(md.times[3], 6 * 0.04, 1e-9);
	flv_memsink_free(&m);
}

/* Script body: [@setDataFrame] "onMetaData" ECMA array of given props. */
static size_t make_meta(uint8_t *b, size_t cap, int set_data_frame, const char *enc,
			double width, const char *big)
{
	struct flv_amf_out o = { .p = b, .cap = cap };
	if (set_data_frame)
		flv_amf_put_string(&o, "@setDataFrame", 13);
	flv_amf_put_string(&o, "onMetaData", 10);
	flv_amf_put_u8(&o, FLV_AMF_ECMA_ARRAY);
	flv_amf_put_u32(&o, 4);
	flv_amf_put_name(&o, "encoder");
	flv_amf_put_string(&o, enc, strlen(enc));
	flv_amf_put_name(&o, "width");
	flv_amf_put_number(&o, width);
	flv_amf_put_name(&o, "duration");
	flv_amf_put_number(&o, 99);
	flv_amf_put_name(&o, "custom");
	flv_amf_put_number(&o, 7.5);
	if (big) {
		flv_amf_put_name(&o, "big");
		flv_amf_put_string(&o, big, strlen(big));
	}
	flv_amf_put_object_end(&o);
	return o.overflow ? 0 : o.len;
}

static void test_merge(void)
{
	struct flv_memsink m;
	struct flv_sink sink;
	struct meta md;
	uint8_t b[512];
	char big[200];
	struct flv_writer_opts o = { .reserve = 100 };

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	flv_memsink_init(&m, &sink);
	struct flv_writer *w = flv_writer_open(&sink, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	size_t n = make_meta(b, sizeof(b), 1, "obs-first", 1280, big);
	CU_ASSERT_EQUAL(flv_writer_set_metadata(w, b, n), 0);
	/* A later onMetaData tag replaces "encoder", keeps one copy. */
	n = make_meta(b, sizeof(b), 0, "obs-29.1", 1280, NULL);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_SCRIPT, 0, b, n), 0);
	CU_ASSERT_EQUAL(flv_sample_write(w, 5, 5), 0);
	/* Malformed metadata: typed error, nothing written or merged. */
	size_t before = m.len;
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_SCRIPT, 0, b, n - 4), -FLV_E_AMF);
	CU_ASSERT_EQUAL(m.len, before);
	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	struct flv_writer_stats st;
	flv_writer_get_stats(w, &st);
	CU_ASSERT_EQUAL(st.merged_props, 2);  /* encoder, custom */
	CU_ASSERT_EQUAL(st.dropped_props, 1); /* big: over the 100-byte reserve */
	CU_ASSERT_EQUAL(st.script_tags, 0);   /* metadata is merged, not written */
	CU_ASSERT(read_meta(m.buf, m.len, &md) > 0);
	CU_ASSERT(md.ok);
	CU_ASSERT_STRING_EQUAL(md.encoder, "obs-29.1");
	CU_ASSERT_EQUAL(md.has_custom, 1);
	CU_ASSERT_EQUAL(md.custom, 7.5);
	CU_ASSERT_EQUAL(md.width, 1920);   /* measured from the SPS, not 1280 */
	CU_ASSERT(md.duration < 1.0);      /* measured, not the publisher's 99 */
	flv_writer_free(w);
	flv_memsink_free(&m);

	/* Without video the publisher's width is the fallback. Other script
	 * tags pass through unchanged. */
	flv_memsink_init(&m, &sink);
	w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	n = make_meta(b, sizeof(b), 1, "enc", 854, NULL);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_SCRIPT, 0, b, n), 0);
	struct flv_amf_out ao = { .p = b, .cap = sizeof(b) };
	flv_amf_put_string(&ao, "onCuePoint", 10);
	flv_amf_put_number(&ao, 1);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_SCRIPT, 500, b, ao.len), 0);
	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	CU_ASSERT(read_meta(m.buf, m.len, &md) > 0);
	CU_ASSERT_EQUAL(md.width, 854);
	int msize = read_meta(m.buf, m.len, &md);
	struct flv_tag t;
	CU_ASSERT_EQUAL(flv_tag_parse(m.buf + 13 + msize, m.len - 13 - (size_t)msize,
				      FLV_TAG_DATA_MAX, &t), (int)flv_tag_encoded_size((uint32_t)ao.len));
	CU_ASSERT_EQUAL(t.type, FLV_TAG_SCRIPT);
	CU_ASSERT_EQUAL(t.timestamp, 500);
	CU_ASSERT_EQUAL(memcmp(t.data, b, ao.len), 0);
	flv_writer_free(w);
	flv_memsink_free(&m);
}

static void test_rebase_and_empty(void)
{
	struct flv_memsink m;
	struct flv_sink sink;
	struct meta md;
	struct flv_writer_opts o = { .rebase = 1, .no_video = 1 };
	const uint8_t aac[] = { 0xAF, 0x01, 0x11, 0x22 };

	flv_memsink_init(&m, &sink);
	struct flv_writer *w = flv_writer_open(&sink, &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_AUDIO, 90000, aac, sizeof(aac)), 0);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_AUDIO, 91000, aac, sizeof(aac)), 0);
	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	CU_ASSERT_EQUAL(m.buf[4], FLV_HDR_FLAG_AUDIO);
	int ms = read_meta(m.buf, m.len, &md);
	CU_ASSERT(ms > 0 && md.ok);
	CU_ASSERT_DOUBLE_EQUAL(md.duration, 1.0, 1e-9);
	CU_ASSERT_EQUAL(md.nkf, 0);
	struct flv_tag t;
	size_t p = 13 + (size_t)ms;
	CU_ASSERT(flv_tag_parse(m.buf + p, m.len - p, FLV_TAG_DATA_MAX, &t) > 0);
	CU_ASSERT_EQUAL(t.timestamp, 0);
	p += flv_tag_encoded_size(t.data_size);
	CU_ASSERT(flv_tag_parse(m.buf + p, m.len - p, FLV_TAG_DATA_MAX, &t) > 0);
	CU_ASSERT_EQUAL(t.timestamp, 1000);
	flv_writer_free(w);
	flv_memsink_free(&m);

	/* Timestamps spanning the whole 32-bit range: the duration in the
	 * stats saturates instead of overflowing. */
	flv_memsink_init(&m, &sink);
	w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	const uint8_t key[] = { 0x17, 0x01, 0, 0, 0, 0x65 };
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_VIDEO, 0, key, sizeof(key)), 0);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_VIDEO, 0xFFFFFFF0u, key, sizeof(key)), 0);
	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	struct flv_writer_stats st;
	flv_writer_get_stats(w, &st);
	CU_ASSERT_EQUAL(st.duration_ms, UINT32_MAX);
	CU_ASSERT_EQUAL(st.keyframes, 2);
	flv_writer_free(w);
	flv_memsink_free(&m);

	/* No tag at all: close still produces a valid header + metadata. */
	flv_memsink_init(&m, &sink);
	w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(flv_writer_close(w), 0);
	ms = read_meta(m.buf, m.len, &md);
	CU_ASSERT(ms > 0 && md.ok);
	CU_ASSERT_EQUAL(m.len, 13 + (size_t)ms);
	CU_ASSERT_EQUAL(md.filesize, (double)m.len);
	flv_writer_free(w);
	flv_memsink_free(&m);
}

static void test_sink_errors(void)
{
	struct flv_memsink m;
	struct flv_sink sink;

	flv_memsink_init(&m, &sink);
	m.fail_after = 4; /* header, metadata, two tags */
	struct flv_writer *w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(flv_sample_write(w, 10, 5), -EIO);
	CU_ASSERT_EQUAL(m.writes, 4);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_AUDIO, 0, (const uint8_t *)"\xAF\x01", 2), -EIO);
	CU_ASSERT_EQUAL(flv_writer_close(w), -EIO);
	CU_ASSERT_EQUAL(m.pwrites, 0);
	flv_writer_free(w);
	flv_memsink_free(&m);

	struct flv_sink bad = { .ctx = NULL, .write = sink.write, .pwrite = NULL };
	errno = 0;
	CU_ASSERT_PTR_NULL(flv_writer_open(&bad, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	flv_memsink_init(&m, &sink);
	w = flv_writer_open(&sink, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, 7, 0, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(flv_writer_write_tag(w, FLV_TAG_VIDEO, 0, NULL, 0x1000000), -EINVAL);
	CU_ASSERT_EQUAL(m.len, 0);
	flv_writer_free(w); /* unclosed: allowed */
	flv_memsink_free(&m);
}

/* Cut the file at every byte: the reader must return exactly the whole tags
 * that end at or before the cut, and need-more for the rest. */
static void test_truncate_every_byte(void)
{
	struct flv_memsink m;
	struct flv_guard g;
	struct flv_writer_opts o = { .keyframe_capacity = 2, .reserve = 16 };

	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 6, 3, &o), 0);
	/* Tag ends in the whole file. */
	size_t ends[32];
	unsigned nends = 0;
	struct flv_reader r;
	struct flv_item it;
	size_t pos = 0;
	int rc;
	flv_reader_init(&r, 0);
	while ((rc = flv_reader_next(&r, m.buf + pos, m.len - pos, &it)) > 0) {
		pos += (size_t)rc;
		if (it.kind == FLV_ITEM_TAG && nends < 32)
			ends[nends++] = pos;
	}
	CU_ASSERT_EQUAL(pos, m.len);
	CU_ASSERT_EQUAL(nends, 1 + flv_sample_tags(6)); /* + onMetaData */
	CU_ASSERT_EQUAL_FATAL(flv_guard_init(&g, m.len), 0);
	unsigned mismatches = 0;
	for (size_t cut = 0; cut <= m.len; cut++) {
		const uint8_t *p = flv_guard_place(&g, m.buf, cut);
		unsigned tags = 0, want = 0;
		size_t at = 0, last_end = 0;
		flv_reader_init(&r, 0);
		while ((rc = flv_reader_next(&r, p + at, cut - at, &it)) > 0) {
			at += (size_t)rc;
			if (it.kind == FLV_ITEM_TAG) {
				/* Content check: the tag bytes are the original's. */
				if (memcmp(it.tag.data, m.buf + (it.tag.data - p), it.tag.data_size) != 0)
					mismatches++;
				tags++;
				last_end = at;
			}
		}
		while (want < nends && ends[want] <= cut)
			want++;
		if (rc != 0 || tags != want)
			mismatches++;
		struct flv_repair_report rep;
		if (cut >= 13) {
			if (flv_repair_scan(p, cut, &rep) != 0 || rep.tags != want ||
			    rep.valid_end != (want ? last_end : 13) || rep.skipped_bytes != 0)
				mismatches++;
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	flv_guard_free(&g);
	flv_memsink_free(&m);
}

int test_flv_writer_register(void)
{
	CU_pSuite s = CU_add_suite("flv_writer", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "metadata fix-up in place", test_fixup) ||
	    !CU_add_test(s, "keyframe index thinning", test_thinning) ||
	    !CU_add_test(s, "publisher metadata merge", test_merge) ||
	    !CU_add_test(s, "rebase, audio-only, empty file", test_rebase_and_empty) ||
	    !CU_add_test(s, "sink errors and bad arguments", test_sink_errors) ||
	    !CU_add_test(s, "truncate at every byte", test_truncate_every_byte))
		return -1;
	return 0;
}
