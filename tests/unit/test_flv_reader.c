/* flv_reader: incremental reading in small chunks, typed errors, and
 * flv_repair on truncated and corrupted files. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "flv/flv_reader.h"
#include "tests/unit/util_flv.h"

#define MAXTAGS 256

struct seen {
	unsigned n;
	uint64_t off[MAXTAGS];
	uint32_t ts[MAXTAGS], size[MAXTAGS];
	uint8_t type[MAXTAGS];
};

/* Read the whole buffer in one go. Returns the last rc. */
static int read_all(const uint8_t *buf, size_t len, struct seen *s, size_t *used)
{
	struct flv_reader r;
	struct flv_item it;
	size_t pos = 0;
	int rc;
	memset(s, 0, sizeof(*s));
	flv_reader_init(&r, 0);
	while ((rc = flv_reader_next(&r, buf + pos, len - pos, &it)) > 0) {
		CU_ASSERT_EQUAL(it.offset, pos);
		pos += (size_t)rc;
		if (it.kind == FLV_ITEM_TAG && s->n < MAXTAGS) {
			s->off[s->n] = it.offset;
			s->ts[s->n] = it.tag.timestamp;
			s->size[s->n] = it.tag.data_size;
			s->type[s->n] = it.tag.type;
			s->n++;
		}
	}
	*used = pos;
	return rc;
}

/* The caller keeps a window of unconsumed bytes and adds `chunk` bytes at a
 * time, as a file reader would. */
static void test_incremental(void)
{
	struct flv_memsink m;
	struct seen whole, inc;
	size_t used;

	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 20, 5, NULL), 0);
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &whole, &used), 0);
	CU_ASSERT_EQUAL(used, m.len);
	CU_ASSERT_EQUAL(whole.n, 1 + flv_sample_tags(20));
	const size_t chunks[] = { 1, 7, 4096 };
	for (size_t c = 0; c < 3; c++) {
		struct flv_reader r;
		struct flv_item it;
		size_t start = 0, avail = 0;
		memset(&inc, 0, sizeof(inc));
		flv_reader_init(&r, 0);
		while (start < m.len) {
			int rc = flv_reader_next(&r, m.buf + start, avail, &it);
			if (rc < 0)
				break;
			if (rc == 0) {
				if (start + avail == m.len)
					break;
				avail += chunks[c];
				if (start + avail > m.len)
					avail = m.len - start;
				continue;
			}
			if (it.kind == FLV_ITEM_TAG && inc.n < MAXTAGS) {
				inc.off[inc.n] = it.offset;
				inc.ts[inc.n] = it.tag.timestamp;
				inc.size[inc.n] = it.tag.data_size;
				inc.type[inc.n] = it.tag.type;
				inc.n++;
			}
			start += (size_t)rc;
			avail -= (size_t)rc;
		}
		CU_ASSERT_EQUAL(start, m.len);
		CU_ASSERT_EQUAL(inc.n, whole.n);
		CU_ASSERT_EQUAL(memcmp(&inc, &whole, sizeof(inc)), 0);
	}
	flv_memsink_free(&m);
}

static void test_reader_errors(void)
{
	struct flv_memsink m;
	struct flv_reader r;
	struct flv_item it;
	struct seen s;
	size_t used;

	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 4, 2, NULL), 0);
	/* A limit below the metadata tag's size is a typed error, so a reader
	 * fed from a socket or a damaged file never waits for 16 MB. */
	flv_reader_init(&r, 64);
	CU_ASSERT_EQUAL(flv_reader_next(&r, m.buf, m.len, &it), 13);
	CU_ASSERT_EQUAL(it.kind, FLV_ITEM_HEADER);
	CU_ASSERT_EQUAL(flv_reader_next(&r, m.buf + 13, m.len - 13, &it), -FLV_E_TAG_TOO_BIG);
	CU_ASSERT_EQUAL(r.offset, 13); /* no advance on error */
	/* Bad PreviousTagSize in the second tag. */
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &s, &used), 0);
	size_t t1 = (size_t)s.off[1], t2 = (size_t)s.off[2];
	m.buf[t2 - 1] ^= 0x01;
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &s, &used), -FLV_E_PREV_SIZE);
	CU_ASSERT_EQUAL(used, t1);
	CU_ASSERT_EQUAL(s.n, 1);
	m.buf[t2 - 1] ^= 0x01;
	m.buf[0] = 'f';
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &s, &used), -FLV_E_SIGNATURE);
	flv_memsink_free(&m);
}

static void test_repair_truncated(void)
{
	struct flv_memsink m, out;
	struct flv_sink sink;
	struct flv_repair_report rep;
	struct seen orig, fixed;
	size_t used;

	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 30, 10, NULL), 0);
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &orig, &used), 0);
	/* Cut inside tag 40 (0 = onMetaData). */
	size_t cut = (size_t)orig.off[40] + 9;
	flv_memsink_init(&out, &sink);
	CU_ASSERT_EQUAL(flv_repair(m.buf, cut, &sink, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.input_len, cut);
	CU_ASSERT_EQUAL(rep.valid_end, orig.off[40]);
	CU_ASSERT_EQUAL(rep.truncated_bytes, 9);
	CU_ASSERT_EQUAL(rep.tags, 40);
	CU_ASSERT_EQUAL(rep.script_tags, 1);
	CU_ASSERT_EQUAL(rep.first_error, 0);
	CU_ASSERT_EQUAL(rep.output_len, out.len);
	/* Tags 1..39 become 39 tags after the new onMetaData: same positions,
	 * since the metadata keeps its reserved size. */
	CU_ASSERT_EQUAL(read_all(out.buf, out.len, &fixed, &used), 0);
	CU_ASSERT_EQUAL(used, out.len);
	CU_ASSERT_EQUAL(fixed.n, 40);
	CU_ASSERT_EQUAL(memcmp(out.buf + orig.off[1], m.buf + orig.off[1],
			       (size_t)(orig.off[40] - orig.off[1])), 0);
	struct flv_repair_report again;
	CU_ASSERT_EQUAL(flv_repair_scan(out.buf, out.len, &again), 0);
	CU_ASSERT_EQUAL(again.truncated_bytes, 0);
	CU_ASSERT_EQUAL(again.first_error, 0);
	CU_ASSERT_EQUAL(again.keyframes, rep.keyframes);
	CU_ASSERT_EQUAL(rep.keyframes, 2); /* frames 0 and 10 are before the cut */
	flv_memsink_free(&out);
	flv_memsink_free(&m);
}

static void test_repair_corrupt(void)
{
	struct flv_memsink m, out;
	struct flv_sink sink;
	struct flv_repair_report rep;
	struct seen orig, fixed;
	size_t used;

	CU_ASSERT_EQUAL_FATAL(flv_sample_file(&m, 30, 10, NULL), 0);
	CU_ASSERT_EQUAL(read_all(m.buf, m.len, &orig, &used), 0);
	/* Damage tag 10's stream id and tag 20's size field. */
	m.buf[orig.off[10] + 9] = 0x42;
	m.buf[orig.off[20] + 1] = 0x7F;
	flv_memsink_init(&out, &sink);
	CU_ASSERT_EQUAL(flv_repair(m.buf, m.len, &sink, NULL, &rep), 0);
	CU_ASSERT_EQUAL(rep.resyncs, 2);
	CU_ASSERT_EQUAL(rep.tags, orig.n - 2);
	CU_ASSERT_EQUAL(rep.skipped_bytes, (orig.off[11] - orig.off[10]) + (orig.off[21] - orig.off[20]));
	CU_ASSERT_EQUAL(rep.first_error, -FLV_E_STREAM_ID);
	CU_ASSERT_EQUAL(rep.first_error_offset, orig.off[10]);
	CU_ASSERT_EQUAL(rep.valid_end, m.len);
	CU_ASSERT_EQUAL(read_all(out.buf, out.len, &fixed, &used), 0);
	CU_ASSERT_EQUAL(used, out.len);
	CU_ASSERT_EQUAL(fixed.n, orig.n - 2);
	/* The kept tags are the originals in order (timestamps match). */
	CU_ASSERT_EQUAL(fixed.ts[10], orig.ts[11]);
	CU_ASSERT_EQUAL(fixed.ts[19], orig.ts[21]);
	flv_memsink_free(&out);

	/* Header damage and short input. */
	flv_memsink_init(&out, &sink);
	CU_ASSERT_EQUAL(flv_repair(m.buf, 5, &sink, NULL, &rep), -FLV_E_EMPTY);
	m.buf[3] = 9;
	CU_ASSERT_EQUAL(flv_repair(m.buf, m.len, &sink, NULL, &rep), -FLV_E_VERSION);
	CU_ASSERT_EQUAL(flv_repair_scan(m.buf, m.len, &rep), -FLV_E_VERSION);
	CU_ASSERT_EQUAL(out.len, 0);
	flv_memsink_free(&out);
	flv_memsink_free(&m);
}

int test_flv_reader_register(void)
{
	CU_pSuite s = CU_add_suite("flv_reader", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "incremental chunks", test_incremental) ||
	    !CU_add_test(s, "reader errors", test_reader_errors) ||
	    !CU_add_test(s, "repair truncated file", test_repair_truncated) ||
	    !CU_add_test(s, "repair corrupted file", test_repair_corrupt))
		return -1;
	return 0;
}
