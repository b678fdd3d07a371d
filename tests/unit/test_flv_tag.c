/* flv_tag: file header and tag codec, truncation at every byte before a
 * guard page, malformed inputs. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "flv/flv_tag.h"
#include "tests/unit/util_flv.h"

static void test_header_roundtrip(void)
{
	uint8_t b[13];
	struct flv_header h;

	CU_ASSERT_EQUAL(flv_header_encode(b, sizeof(b), 1, 1), 13);
	const uint8_t want[13] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };
	CU_ASSERT_EQUAL(memcmp(b, want, 13), 0);
	CU_ASSERT_EQUAL(flv_header_parse(b, 13, &h), 13);
	CU_ASSERT_EQUAL(h.version, 1);
	CU_ASSERT_EQUAL(h.has_audio, 1);
	CU_ASSERT_EQUAL(h.has_video, 1);
	CU_ASSERT_EQUAL(h.data_offset, 9);
	CU_ASSERT_EQUAL(flv_header_encode(b, sizeof(b), 0, 1), 13);
	CU_ASSERT_EQUAL(b[4], FLV_HDR_FLAG_VIDEO);
	CU_ASSERT_EQUAL(flv_header_parse(b, 13, &h), 13);
	CU_ASSERT_EQUAL(h.has_audio, 0);
	CU_ASSERT_EQUAL(flv_header_encode(b, 12, 1, 1), -ENOSPC);
}

static void test_header_errors(void)
{
	struct flv_header h;
	uint8_t b[32] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };

	uint8_t bad[13];
	memcpy(bad, b, 13);
	bad[1] = 'X';
	CU_ASSERT_EQUAL(flv_header_parse(bad, 13, &h), -FLV_E_SIGNATURE);
	/* Garbage is refused as soon as its first byte is seen. */
	CU_ASSERT_EQUAL(flv_header_parse((const uint8_t *)"G", 1, &h), -FLV_E_SIGNATURE);
	memcpy(bad, b, 13);
	bad[3] = 2;
	CU_ASSERT_EQUAL(flv_header_parse(bad, 13, &h), -FLV_E_VERSION);
	memcpy(bad, b, 13);
	bad[8] = 8;
	CU_ASSERT_EQUAL(flv_header_parse(bad, 13, &h), -FLV_E_HEADER_OFFSET);
	memcpy(bad, b, 13);
	flv_put_be32(bad + 5, 0x7FFFFFFF);
	CU_ASSERT_EQUAL(flv_header_parse(bad, 13, &h), -FLV_E_HEADER_OFFSET);
	memcpy(bad, b, 13);
	bad[12] = 1;
	CU_ASSERT_EQUAL(flv_header_parse(bad, 13, &h), -FLV_E_PREV_SIZE0);
	/* A larger data offset: extra header bytes are skipped. */
	flv_put_be32(b + 5, 12);
	memset(b + 9, 0xAA, 3);
	memset(b + 12, 0, 4);
	CU_ASSERT_EQUAL(flv_header_parse(b, 15, &h), 0);
	CU_ASSERT_EQUAL(flv_header_parse(b, 16, &h), 16);
	CU_ASSERT_EQUAL(h.data_offset, 12);
}

static void test_header_truncation(void)
{
	struct flv_guard g;
	struct flv_header h;
	uint8_t b[13];

	CU_ASSERT_EQUAL_FATAL(flv_guard_init(&g, 64), 0);
	flv_header_encode(b, sizeof(b), 1, 0);
	for (size_t n = 0; n < 13; n++)
		CU_ASSERT_EQUAL(flv_header_parse(flv_guard_place(&g, b, n), n, &h), 0);
	CU_ASSERT_EQUAL(flv_header_parse(flv_guard_place(&g, b, 13), 13, &h), 13);
	flv_guard_free(&g);
}

static void test_tag_roundtrip(void)
{
	uint8_t data[300], b[400];
	struct flv_tag t;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	/* Timestamp above 24 bits exercises the extended byte. */
	int n = flv_tag_encode(b, sizeof(b), FLV_TAG_VIDEO, 0x12345678, data, sizeof(data));
	CU_ASSERT_EQUAL(n, 11 + 300 + 4);
	const uint8_t hdr[11] = { 9, 0x00, 0x01, 0x2C, 0x34, 0x56, 0x78, 0x12, 0, 0, 0 };
	CU_ASSERT_EQUAL(memcmp(b, hdr, 11), 0);
	CU_ASSERT_EQUAL(flv_be32(b + 311), 311);
	CU_ASSERT_EQUAL(flv_tag_parse(b, (size_t)n, FLV_TAG_DATA_MAX, &t), n);
	CU_ASSERT_EQUAL(t.type, FLV_TAG_VIDEO);
	CU_ASSERT_EQUAL(t.filter, 0);
	CU_ASSERT_EQUAL(t.timestamp, 0x12345678);
	CU_ASSERT_EQUAL(t.data_size, 300);
	CU_ASSERT_PTR_EQUAL(t.data, b + 11);
	CU_ASSERT_EQUAL(memcmp(t.data, data, 300), 0);
	/* Empty tag, each type. */
	const uint8_t types[3] = { FLV_TAG_AUDIO, FLV_TAG_VIDEO, FLV_TAG_SCRIPT };
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(flv_tag_encode(b, sizeof(b), types[i], 40, NULL, 0), 15);
		CU_ASSERT_EQUAL(flv_tag_parse(b, 15, FLV_TAG_DATA_MAX, &t), 15);
		CU_ASSERT_EQUAL(t.type, types[i]);
		CU_ASSERT_EQUAL(t.timestamp, 40);
	}
	CU_ASSERT_EQUAL(flv_tag_encode(b, 14, FLV_TAG_AUDIO, 0, NULL, 0), -ENOSPC);
	CU_ASSERT_EQUAL(flv_tag_encode(b, sizeof(b), 7, 0, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(flv_tag_header_encode(b, sizeof(b), 8, 0, 0x1000000), -EINVAL);
	CU_ASSERT_EQUAL(flv_tag_encoded_size(10), 25);
}

static void test_tag_truncation(void)
{
	struct flv_guard g;
	struct flv_tag t;
	uint8_t data[64], b[128];

	memset(data, 0x5A, sizeof(data));
	int n = flv_tag_encode(b, sizeof(b), FLV_TAG_AUDIO, 1000, data, sizeof(data));
	CU_ASSERT_EQUAL_FATAL(n, 79);
	CU_ASSERT_EQUAL_FATAL(flv_guard_init(&g, sizeof(b)), 0);
	for (int k = 0; k < n; k++) {
		const uint8_t *p = flv_guard_place(&g, b, (size_t)k);
		CU_ASSERT_EQUAL(flv_tag_parse(p, (size_t)k, FLV_TAG_DATA_MAX, &t), 0);
		int want = k >= 11 ? 11 : 0;
		CU_ASSERT_EQUAL(flv_tag_header_parse(p, (size_t)k, FLV_TAG_DATA_MAX, &t), want);
	}
	const uint8_t *p = flv_guard_place(&g, b, (size_t)n);
	CU_ASSERT_EQUAL(flv_tag_parse(p, (size_t)n, FLV_TAG_DATA_MAX, &t), n);
	CU_ASSERT_EQUAL(t.timestamp, 1000);
	CU_ASSERT_EQUAL(t.data[63], 0x5A);
	flv_guard_free(&g);
}

static void test_tag_errors(void)
{
	uint8_t b[64];
	struct flv_tag t;

	flv_tag_encode(b, sizeof(b), FLV_TAG_VIDEO, 0, (const uint8_t *)"abcd", 4);
	uint8_t x[64];
	memcpy(x, b, 19);
	x[0] = 10;
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), -FLV_E_TAG_TYPE);
	/* The type is judged from the first byte alone. */
	CU_ASSERT_EQUAL(flv_tag_parse(x, 1, FLV_TAG_DATA_MAX, &t), -FLV_E_TAG_TYPE);
	x[0] = 0x40 | FLV_TAG_VIDEO; /* reserved bit */
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), -FLV_E_TAG_TYPE);
	x[0] = 0x20 | FLV_TAG_VIDEO; /* Filter bit: valid, reported */
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), 19);
	CU_ASSERT_EQUAL(t.filter, 1);
	memcpy(x, b, 19);
	x[10] = 1;
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), -FLV_E_STREAM_ID);
	memcpy(x, b, 19);
	x[18] = 16; /* PreviousTagSize 16 instead of 15 */
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), -FLV_E_PREV_SIZE);
	/* A huge declared size is "need more" under the format limit, but an
	 * error once above the caller's limit (no unbounded buffering). */
	memcpy(x, b, 19);
	flv_put_be24(x + 1, 0xFFFFFF);
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, FLV_TAG_DATA_MAX, &t), 0);
	CU_ASSERT_EQUAL(flv_tag_parse(x, 19, 1 << 20, &t), -FLV_E_TAG_TOO_BIG);
	CU_ASSERT_EQUAL(flv_tag_header_parse(x, 11, 1 << 20, &t), -FLV_E_TAG_TOO_BIG);
}

static void test_strerror(void)
{
	CU_ASSERT_STRING_EQUAL(flv_strerror(-FLV_E_SIGNATURE), "not an FLV file (bad signature)");
	CU_ASSERT_STRING_EQUAL(flv_strerror(FLV_E_PREV_SIZE), "PreviousTagSize does not match the tag");
	CU_ASSERT_STRING_EQUAL(flv_strerror(0), "success");
	CU_ASSERT_STRING_EQUAL(flv_strerror(-ENOSPC), strerror(ENOSPC));
	for (int e = FLV_E_SIGNATURE; e < FLV_E_MAX_; e++)
		CU_ASSERT_PTR_NOT_NULL(flv_strerror(-e));
}

int test_flv_tag_register(void)
{
	CU_pSuite s = CU_add_suite("flv_tag", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "header round trip", test_header_roundtrip) ||
	    !CU_add_test(s, "header errors", test_header_errors) ||
	    !CU_add_test(s, "header truncation at guard page", test_header_truncation) ||
	    !CU_add_test(s, "tag round trip", test_tag_roundtrip) ||
	    !CU_add_test(s, "tag truncation at guard page", test_tag_truncation) ||
	    !CU_add_test(s, "tag errors", test_tag_errors) ||
	    !CU_add_test(s, "strerror", test_strerror))
		return -1;
	return 0;
}
