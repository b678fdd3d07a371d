/* rtmp_amf0: every type round trip, truncation before a guard page, depth
 * bombs, huge declared lengths, references, typed errors, encoder bounds. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_amf0.h"
#include "rtmp/rtmp_err.h"
#include "tests/unit/util_rtmp_guard.h"

#define LONG_LEN 70000

/* One of every type, top level: returns the encoded length. */
static int build_all(uint8_t *buf, size_t cap, char *longs)
{
	struct rtmp_amf0_w w;

	memset(longs, 'L', LONG_LEN);
	rtmp_amf0_w_init(&w, buf, cap);
	rtmp_amf0_put_number(&w, 3.5);                      /* 0 */
	rtmp_amf0_put_bool(&w, 1);                          /* 1 */
	rtmp_amf0_put_cstring(&w, "hello");                 /* 2 */
	rtmp_amf0_put_object_begin(&w);                     /* 3: complex #0 */
	rtmp_amf0_put_prop_number(&w, "a", -1);             /* 4 */
	rtmp_amf0_put_key(&w, "nested", 6);
	rtmp_amf0_put_object_begin(&w);                     /* 5: complex #1 */
	rtmp_amf0_put_prop_bool(&w, "f", 0);                /* 6 */
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_key(&w, "self", 4);
	rtmp_amf0_put_reference(&w, 0);                     /* 7 */
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_null(&w);                             /* 8 */
	rtmp_amf0_put_undefined(&w);                        /* 9 */
	rtmp_amf0_put_reference(&w, 1);                     /* 10 */
	rtmp_amf0_put_ecma_begin(&w, 2);                    /* 11: complex #2 */
	rtmp_amf0_put_prop_string(&w, "k", "v");            /* 12 */
	rtmp_amf0_put_prop_number(&w, "n", 42);             /* 13 */
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_strict_array_begin(&w, 3);            /* 14: complex #3 */
	rtmp_amf0_put_number(&w, 1);                        /* 15 */
	rtmp_amf0_put_cstring(&w, "x");                     /* 16 */
	rtmp_amf0_put_null(&w);                             /* 17 */
	rtmp_amf0_put_date(&w, 1700000000000.0, 0);         /* 18 */
	rtmp_amf0_put_long_string(&w, longs, LONG_LEN);     /* 19 */
	rtmp_amf0_put_typed_object_begin(&w, "cls", 3);     /* 20: complex #4 */
	rtmp_amf0_put_prop_number(&w, "x", 1);              /* 21 */
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_xml(&w, "<a/>", 4);                   /* 22 */
	rtmp_amf0_put_unsupported(&w);                      /* 23 */
	rtmp_amf0_put_string(&w, longs, LONG_LEN);          /* 24: becomes a long string */
	return rtmp_amf0_w_result(&w);
}

#define NTOP 15

static void check_tree(const struct rtmp_amf0_arena *a)
{
	const struct rtmp_amf0_node *n = a->nodes;

	CU_ASSERT_EQUAL(a->used, 25);
	CU_ASSERT_EQUAL(n[0].type, RTMP_AMF0_NUMBER);
	CU_ASSERT_DOUBLE_EQUAL(n[0].u.num, 3.5, 0);
	CU_ASSERT_EQUAL(n[1].type, RTMP_AMF0_BOOLEAN);
	CU_ASSERT_EQUAL(n[1].u.boolean, 1);
	CU_ASSERT(rtmp_amf0_str_eq(a, 2, "hello"));
	CU_ASSERT_EQUAL(n[3].type, RTMP_AMF0_OBJECT);
	CU_ASSERT_EQUAL(n[3].count, 3);
	CU_ASSERT_EQUAL(n[3].end, 8);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 3, "a"), 4);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 3, "nested"), 5);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 3, "self"), 7);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 3, "missing"), -ENOENT);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 0, "a"), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 5, "f"), 6);
	CU_ASSERT_EQUAL(n[6].u.boolean, 0);
	CU_ASSERT_EQUAL(rtmp_amf0_resolve(a, 7), 3);   /* self reference */
	CU_ASSERT_EQUAL(rtmp_amf0_resolve(a, 10), 5);  /* the nested object */
	CU_ASSERT_EQUAL(rtmp_amf0_resolve(a, 0), 0);
	CU_ASSERT_EQUAL(n[8].type, RTMP_AMF0_NULL);
	CU_ASSERT_EQUAL(n[9].type, RTMP_AMF0_UNDEFINED);
	CU_ASSERT_EQUAL(n[11].type, RTMP_AMF0_ECMA_ARRAY);
	CU_ASSERT_EQUAL(n[11].u.ref, 2);
	CU_ASSERT(rtmp_amf0_str_eq(a, (uint32_t)rtmp_amf0_get(a, 11, "k"), "v"));
	CU_ASSERT_DOUBLE_EQUAL(n[rtmp_amf0_get(a, 11, "n")].u.num, 42, 0);
	CU_ASSERT_EQUAL(n[14].type, RTMP_AMF0_STRICT_ARRAY);
	CU_ASSERT_EQUAL(n[14].count, 3);
	CU_ASSERT(rtmp_amf0_str_eq(a, 16, "x"));
	CU_ASSERT_EQUAL(n[16].key.len, 0);
	CU_ASSERT_EQUAL(n[18].type, RTMP_AMF0_DATE);
	CU_ASSERT_DOUBLE_EQUAL(n[18].u.num, 1700000000000.0, 0);
	CU_ASSERT_EQUAL(n[19].type, RTMP_AMF0_LONG_STRING);
	CU_ASSERT_EQUAL(n[19].u.str.len, LONG_LEN);
	CU_ASSERT_EQUAL(n[20].type, RTMP_AMF0_TYPED_OBJECT);
	CU_ASSERT(rtmp_str_eq(n[20].u.str, "cls"));
	CU_ASSERT_EQUAL(rtmp_amf0_get(a, 20, "x"), 21);
	CU_ASSERT_EQUAL(n[22].type, RTMP_AMF0_XML_DOCUMENT);
	CU_ASSERT(rtmp_str_eq(n[22].u.str, "<a/>"));
	CU_ASSERT_EQUAL(n[23].type, RTMP_AMF0_UNSUPPORTED);
	CU_ASSERT_EQUAL(n[24].type, RTMP_AMF0_LONG_STRING);
	CU_ASSERT_EQUAL(rtmp_amf0_nth(a, 0, 3), 3);
	CU_ASSERT_EQUAL(rtmp_amf0_nth(a, 0, 4), 8);
	CU_ASSERT_EQUAL(rtmp_amf0_nth(a, 0, NTOP - 1), 24);
	CU_ASSERT_EQUAL(rtmp_amf0_nth(a, 0, NTOP), -ENOENT);
}

static void test_all_types_roundtrip(void)
{
	size_t cap = 2 * LONG_LEN + 4096;
	uint8_t *buf = malloc(cap), *re = malloc(cap);
	char *longs = malloc(LONG_LEN);
	struct rtmp_amf0_node nodes[64];
	struct rtmp_amf0_arena a;
	struct rtmp_amf0_w w;
	int len = build_all(buf, cap, longs), i;

	CU_ASSERT_FATAL(len > 2 * LONG_LEN);
	rtmp_amf0_arena_init(&a, nodes, 64);
	CU_ASSERT_EQUAL(rtmp_amf0_decode_all(&a, buf, (size_t)len), NTOP);
	check_tree(&a);
	/* Re-encoding every top-level value gives the same bytes. */
	rtmp_amf0_w_init(&w, re, cap);
	for (i = 0; i < NTOP; i++)
		rtmp_amf0_put_node(&w, &a, (uint32_t)rtmp_amf0_nth(&a, 0, (uint32_t)i));
	CU_ASSERT_EQUAL(rtmp_amf0_w_result(&w), len);
	CU_ASSERT_EQUAL(memcmp(buf, re, (size_t)len), 0);
	free(buf);
	free(re);
	free(longs);
}

/* Every prefix of a nested value before a guard page: need more (0) until
 * complete, and the arena is left untouched. */
static void test_truncation_guard(void)
{
	uint8_t buf[256];
	struct rtmp_amf0_node nodes[32];
	struct rtmp_amf0_arena a;
	struct rtmp_amf0_w w;
	size_t cut;
	int len;

	rtmp_amf0_w_init(&w, buf, sizeof(buf));
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "app", "live");
	rtmp_amf0_put_key(&w, "arr", 3);
	rtmp_amf0_put_strict_array_begin(&w, 2);
	rtmp_amf0_put_date(&w, 5, 0);
	rtmp_amf0_put_ecma_begin(&w, 1);
	rtmp_amf0_put_prop_number(&w, "z", 9);
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_key(&w, "t", 1);
	rtmp_amf0_put_typed_object_begin(&w, "C", 1);
	rtmp_amf0_put_key(&w, "r", 1);
	rtmp_amf0_put_reference(&w, 0);
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_key(&w, "l", 1);
	rtmp_amf0_put_long_string(&w, "abc", 3);
	rtmp_amf0_put_object_end(&w);
	len = rtmp_amf0_w_result(&w);
	CU_ASSERT_FATAL(len > 0);
	for (cut = 0; cut <= (size_t)len; cut++) {
		struct rtmp_guard g;
		const uint8_t *in = rtmp_guard_place(&g, buf, cut);
		uint32_t root = 77;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		rtmp_amf0_arena_init(&a, nodes, 32);
		rc = rtmp_amf0_decode(&a, in, cut, &root);
		if (cut < (size_t)len) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(a.used, 0);
			rtmp_amf0_arena_init(&a, nodes, 32);
			CU_ASSERT_EQUAL(rtmp_amf0_decode_all(&a, in, cut),
					cut == 0 ? 0 : -RTMP_E_TRUNCATED);
		} else {
			CU_ASSERT_EQUAL(rc, len);
			CU_ASSERT_EQUAL(root, 0);
			CU_ASSERT_EQUAL(a.used, 9);
			CU_ASSERT(rtmp_amf0_str_eq(&a, (uint32_t)rtmp_amf0_get(&a, 0, "app"), "live"));
		}
		rtmp_guard_release(&g);
	}
}

static void test_depth_bomb(void)
{
	size_t n = 3000, i;
	uint8_t *b = malloc(n * 4 + 8);
	struct rtmp_amf0_node nodes[4096];
	struct rtmp_amf0_arena a;
	uint32_t root;

	/* {"a": {"a": {...}}} nested 3000 deep, never closed */
	for (i = 0; i < n; i++) {
		b[i * 4] = RTMP_AMF0_OBJECT;
		b[i * 4 + 1] = 0;
		b[i * 4 + 2] = 1;
		b[i * 4 + 3] = 'a';
	}
	rtmp_amf0_arena_init(&a, nodes, 4096);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, b, n * 4, &root), -RTMP_E_AMF_DEPTH);
	CU_ASSERT_EQUAL(a.used, 0);
	/* strict arrays of one element, 3000 deep */
	free(b);
	b = malloc(n * 5 + 8);
	for (i = 0; i < n; i++) {
		b[i * 5] = RTMP_AMF0_STRICT_ARRAY;
		b[i * 5 + 1] = b[i * 5 + 2] = b[i * 5 + 3] = 0;
		b[i * 5 + 4] = 1;
	}
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, b, n * 5, &root), -RTMP_E_AMF_DEPTH);
	/* exactly the limit is fine: 16 nested arrays around a null */
	b[16 * 5] = RTMP_AMF0_NULL;
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, b, 16 * 5 + 1, &root), 16 * 5 + 1);
	CU_ASSERT_EQUAL(a.used, 17);
	a.used = 0;
	a.max_depth = 15;
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, b, 16 * 5 + 1, &root), -RTMP_E_AMF_DEPTH);
	a.max_depth = 0;
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, b, 16 * 5 + 1, &root), -EINVAL);
	free(b);
}

static void test_huge_lengths(void)
{
	struct rtmp_amf0_node nodes[8];
	struct rtmp_amf0_arena a;
	uint32_t root;
	static const uint8_t long_huge[] = { 0x0c, 0xff, 0xff, 0xff, 0xff, 'a' };
	static const uint8_t xml_huge[] = { 0x0f, 0x10, 0x00, 0x00, 0x00 };
	static const uint8_t str_short[] = { 0x02, 0xff, 0xff, 'a', 'b' };
	static const uint8_t arr_huge[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x05 };
	static const uint8_t ecma_huge[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0, 0, 9 };

	rtmp_amf0_arena_init(&a, nodes, 8);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, long_huge, sizeof(long_huge), &root),
			-RTMP_E_AMF_LENGTH);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, xml_huge, sizeof(xml_huge), &root), -RTMP_E_AMF_LENGTH);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, str_short, sizeof(str_short), &root), 0);
	CU_ASSERT_EQUAL(rtmp_amf0_decode_all(&a, str_short, sizeof(str_short)), -RTMP_E_TRUNCATED);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, arr_huge, sizeof(arr_huge), &root),
			-RTMP_E_AMF_TOO_MANY);
	/* the ECMA count is only a hint: an empty one with a huge count is fine */
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, ecma_huge, sizeof(ecma_huge), &root), 8);
	CU_ASSERT_EQUAL(a.nodes[root].count, 0);
	CU_ASSERT_EQUAL(a.used, 1);
}

static void test_errors(void)
{
	struct rtmp_amf0_node nodes[4];
	struct rtmp_amf0_arena a;
	uint32_t root;
	static const uint8_t bad_marker[] = { 0x12 };
	static const uint8_t movieclip[] = { 0x04 };
	static const uint8_t recordset[] = { 0x0e };
	static const uint8_t avmplus[] = { 0x11, 0x01 };
	static const uint8_t stray_end[] = { 0x09 };
	static const uint8_t end_in_array[] = { 0x0a, 0, 0, 0, 1, 0x09 };
	static const uint8_t bad_ref[] = { 0x07, 0x00, 0x00 };
	static const uint8_t ref_ahead[] = { 0x03, 0, 1, 'r', 0x07, 0, 1, 0, 0, 9 };
	static const uint8_t five_nulls[] = { 0x0a, 0, 0, 0, 4, 5, 5, 5, 5 };
	static const uint8_t obj_nulls[] = { 0x03, 0, 1, 'a', 5, 0, 1, 'b', 5, 0, 1, 'c', 5,
					     0, 1, 'd', 5, 0, 0, 9 };

	rtmp_amf0_arena_init(&a, nodes, 4);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, bad_marker, 1, &root), -RTMP_E_AMF_TYPE);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, movieclip, 1, &root), -RTMP_E_AMF_TYPE);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, recordset, 1, &root), -RTMP_E_AMF_TYPE);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, avmplus, 2, &root), -RTMP_E_AMF3);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, stray_end, 1, &root), -RTMP_E_AMF_SYNTAX);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, end_in_array, sizeof(end_in_array), &root),
			-RTMP_E_AMF_SYNTAX);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, bad_ref, 3, &root), -RTMP_E_AMF_REF);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, ref_ahead, sizeof(ref_ahead), &root),
			-RTMP_E_AMF_REF);
	/* 4 nodes: the array and 4 nulls do not fit, the object of 4 neither */
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, five_nulls, sizeof(five_nulls), &root),
			-RTMP_E_AMF_TOO_MANY);
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, obj_nulls, sizeof(obj_nulls), &root),
			-RTMP_E_AMF_TOO_MANY);
	CU_ASSERT_EQUAL(a.used, 0);
	/* the count is refused before any input is missing... */
	CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, five_nulls, sizeof(five_nulls) - 1, &root),
			-RTMP_E_AMF_TOO_MANY);
	/* ...while with room for it, a short input is need-more */
	{
		struct rtmp_amf0_node more[8];

		rtmp_amf0_arena_init(&a, more, 8);
		CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, five_nulls, sizeof(five_nulls) - 1, &root), 0);
		CU_ASSERT_EQUAL(rtmp_amf0_decode(&a, five_nulls, sizeof(five_nulls), &root), 9);
		CU_ASSERT_EQUAL(a.nodes[0].count, 4);
	}
	/* error messages exist for every code and for errno values */
	CU_ASSERT_STRING_EQUAL(rtmp_strerror(-RTMP_E_AMF_DEPTH), "amf0: nesting too deep");
	CU_ASSERT_PTR_NOT_NULL(strstr(rtmp_strerror(-ENOMEM), "memory"));
	for (int e = RTMP_E_FIRST; e < RTMP_E_LAST; e++)
		CU_ASSERT_PTR_NOT_NULL(rtmp_strerror(-e));
	CU_ASSERT_STRING_EQUAL(rtmp_strerror(123456), "unknown error");
}

static void test_encoder_bounds(void)
{
	uint8_t buf[16];
	struct rtmp_amf0_w w;

	rtmp_amf0_w_init(&w, buf, sizeof(buf));
	CU_ASSERT_EQUAL(rtmp_amf0_put_number(&w, 1), 0);
	CU_ASSERT_EQUAL(rtmp_amf0_put_cstring(&w, "abcd"), 0);
	CU_ASSERT_EQUAL(rtmp_amf0_w_result(&w), 16);
	CU_ASSERT_EQUAL(rtmp_amf0_put_null(&w), -ENOSPC);
	CU_ASSERT_EQUAL(rtmp_amf0_put_bool(&w, 1), -ENOSPC); /* sticky */
	CU_ASSERT_EQUAL(rtmp_amf0_w_result(&w), -ENOSPC);
	CU_ASSERT_EQUAL(w.len, 16);
	/* exact bytes of a number and a string */
	CU_ASSERT_EQUAL(buf[0], 0x00);
	CU_ASSERT_EQUAL(buf[1], 0x3f);
	CU_ASSERT_EQUAL(buf[2], 0xf0);
	CU_ASSERT_EQUAL(buf[9], 0x02);
	CU_ASSERT_EQUAL(buf[10], 0x00);
	CU_ASSERT_EQUAL(buf[11], 0x04);
	CU_ASSERT_EQUAL(memcmp(buf + 12, "abcd", 4), 0);
}

int test_rtmp_amf0_register(void)
{
	CU_pSuite s = CU_add_suite("rtmp_amf0", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "all types roundtrip", test_all_types_roundtrip) ||
	    !CU_add_test(s, "truncation before guard page", test_truncation_guard) ||
	    !CU_add_test(s, "depth bomb", test_depth_bomb) ||
	    !CU_add_test(s, "huge lengths", test_huge_lengths) ||
	    !CU_add_test(s, "errors", test_errors) ||
	    !CU_add_test(s, "encoder bounds", test_encoder_bounds))
		return -1;
	return 0;
}
