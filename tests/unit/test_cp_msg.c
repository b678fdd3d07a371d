/* cp_msg: canonical chunked form (checked by decoding it with the rtmp
 * chunk reader), the private extended-timestamp path, classification of
 * FLV payloads (legacy and Enhanced RTMP), inputs at a guard page. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "controlplane/cp_msg.h"
#include "rtmp/rtmp_chunk.h"

/* Decode wire bytes with a reader at chunk size cs; expects one message. */
static int decode_one(const uint8_t *wire, size_t len, uint32_t cs, struct rtmp_msg *out,
		      uint8_t *copy)
{
	struct rtmp_chunk_reader r;
	if (rtmp_chunk_reader_init(&r, NULL, NULL, cs) != 0)
		return -1;
	size_t used = 0;
	int rc = rtmp_chunk_read(&r, wire, len, out, &used);
	if (rc == 1) {
		memcpy(copy, out->data, out->length);
		out->data = copy;
		rc = used == len ? 1 : -2;
	}
	rtmp_chunk_reader_fini(&r);
	return rc;
}

static void test_canonical_roundtrip(void)
{
	size_t len = 10000;
	uint8_t *p = malloc(len), *copy = malloc(len);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	p[0] = 0x27;
	p[1] = 1;
	unsigned fl = cp_msg_classify(CP_MT_VIDEO, p, len);
	struct cp_msg *m = cp_msg_new(CP_MT_VIDEO, 5000, p, len, 4096, fl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->refcnt, 1);
	CU_ASSERT_EQUAL(m->body_len, len + 2); /* two fmt 3 continuation headers */
	CU_ASSERT_EQUAL(cp_msg_wire_len(m), 12 + len + 2);
	CU_ASSERT_EQUAL(m->body[4096], 0xC0 | CP_CSID_VIDEO);

	uint8_t *wire = malloc(cp_msg_wire_len(m));
	CU_ASSERT_EQUAL(cp_msg_viewer_header(m, 1234, 7, wire), 12);
	memcpy(wire + 12, m->body, m->body_len);
	struct rtmp_msg out;
	CU_ASSERT_EQUAL(decode_one(wire, cp_msg_wire_len(m), 4096, &out, copy), 1);
	CU_ASSERT_EQUAL(out.timestamp, 1234);
	CU_ASSERT_EQUAL(out.msid, 7);
	CU_ASSERT_EQUAL(out.csid, CP_CSID_VIDEO);
	CU_ASSERT_EQUAL(out.type, 9);
	CU_ASSERT_EQUAL(out.length, len);
	CU_ASSERT_EQUAL(memcmp(copy, p, len), 0);

	/* the stored canonical header decodes too (stream clock, msid 1) */
	memcpy(wire, m->hdr, 12);
	CU_ASSERT_EQUAL(decode_one(wire, cp_msg_wire_len(m), 4096, &out, copy), 1);
	CU_ASSERT_EQUAL(out.timestamp, 5000);
	CU_ASSERT_EQUAL(out.msid, 1);

	/* payload recovery */
	memset(copy, 0, len);
	cp_msg_payload(m, 4096, copy);
	CU_ASSERT_EQUAL(memcmp(copy, p, len), 0);

	/* viewer timestamp >= 0xFFFFFF: no shared header, private copy with
	 * extended timestamps in every chunk */
	CU_ASSERT_EQUAL(cp_msg_viewer_header(m, 0x1000000, 1, wire), 0);
	size_t plen = 0;
	uint8_t *priv = cp_msg_encode_private(m, 0x1000000, 1, 4096, &plen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(priv);
	CU_ASSERT_EQUAL(plen, 12 + 4 + len + 2 * 5);
	CU_ASSERT_EQUAL(decode_one(priv, plen, 4096, &out, copy), 1);
	CU_ASSERT_EQUAL(out.timestamp, 0x1000000);
	CU_ASSERT_EQUAL(memcmp(copy, p, len), 0);
	free(priv);

	cp_msg_get(m);
	CU_ASSERT_EQUAL(m->refcnt, 2);
	cp_msg_put(m);
	cp_msg_put(m);
	cp_msg_put(NULL);
	free(wire);
	free(p);
	free(copy);
}

static void test_small_and_invalid(void)
{
	uint8_t a[2] = { 0xaf, 0x00 };
	struct cp_msg *m = cp_msg_new(CP_MT_AUDIO, 0, a, 2, 128, cp_msg_classify(8, a, 2));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->body_len, 2);
	CU_ASSERT_EQUAL(m->csid, CP_CSID_AUDIO);
	CU_ASSERT_EQUAL(m->flags, CP_MSG_F_AUDIO | CP_MSG_F_SEQHDR);
	cp_msg_put(m);
	m = cp_msg_new(CP_MT_AUDIO, 0, a, 0, 128, 0); /* empty message */
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->body_len, 0);
	cp_msg_put(m);
	errno = 0;
	CU_ASSERT_PTR_NULL(cp_msg_new(20, 0, a, 2, 128, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NULL(cp_msg_new(CP_MT_VIDEO, 0, a, 0x1000000, 128, 0));
	CU_ASSERT_PTR_NULL(cp_msg_new(CP_MT_VIDEO, 0, a, 2, 0, 0));
}

static void test_classify(void)
{
	static const uint8_t avc_seq[] = { 0x17, 0, 0, 0, 0, 1, 0x64 };
	static const uint8_t avc_key[] = { 0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65 };
	static const uint8_t avc_inter[] = { 0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41 };
	static const uint8_t hevc_seq[] = { 0x90, 'h', 'v', 'c', '1', 1, 2, 3 };
	static const uint8_t hevc_key[] = { 0x91, 'h', 'v', 'c', '1', 0, 0, 0, 9 };
	static const uint8_t hevc_keyx[] = { 0x93, 'h', 'v', 'c', '1', 9 };
	static const uint8_t hevc_inter[] = { 0xa1, 'h', 'v', 'c', '1', 0, 0, 0, 9 };
	static const uint8_t aac_raw[] = { 0xaf, 1, 0x21 };
	static const uint8_t mp3[] = { 0x2f, 0xff };
	static const uint8_t meta[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5 };
	static const uint8_t other[] = { 2, 0, 3, 'f', 'o', 'o', 5 };
	CU_ASSERT_EQUAL(cp_msg_classify(9, avc_seq, sizeof(avc_seq)), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(cp_msg_classify(9, avc_key, sizeof(avc_key)), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(cp_msg_classify(9, avc_inter, sizeof(avc_inter)), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(cp_msg_classify(9, hevc_seq, sizeof(hevc_seq)), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(cp_msg_classify(9, hevc_key, sizeof(hevc_key)), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(cp_msg_classify(9, hevc_keyx, sizeof(hevc_keyx)), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(cp_msg_classify(9, hevc_inter, sizeof(hevc_inter)), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(cp_msg_classify(8, aac_raw, sizeof(aac_raw)), CP_MSG_F_AUDIO);
	CU_ASSERT_EQUAL(cp_msg_classify(8, mp3, sizeof(mp3)), CP_MSG_F_AUDIO);
	CU_ASSERT_EQUAL(cp_msg_classify(18, meta, sizeof(meta)), CP_MSG_F_METADATA);
	CU_ASSERT_EQUAL(cp_msg_classify(18, other, sizeof(other)), 0);
	CU_ASSERT_EQUAL(cp_msg_classify(9, avc_key, 0), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(cp_msg_classify(20, avc_key, sizeof(avc_key)), 0);
}

/* Every truncation of each payload, ending right at a PROT_NONE page. */
static void test_classify_guard_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(map != MAP_FAILED);
	CU_ASSERT_EQUAL_FATAL(mprotect(map + pg, (size_t)pg, PROT_NONE), 0);
	static const uint8_t in[][12] = {
		{ 0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65 }, { 0x91, 'h', 'v', 'c', '1', 0, 0, 0, 9 },
		{ 0xaf, 0 }, { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't' },
	};
	static const uint8_t types[] = { 9, 9, 8, 18 };
	for (size_t k = 0; k < 4; k++) {
		for (size_t n = 0; n <= sizeof(in[k]); n++) {
			uint8_t *p = map + pg - n;
			memcpy(p, in[k], n);
			unsigned f = cp_msg_classify(types[k], p, n);
			CU_ASSERT_TRUE(f <= 0x1f);
		}
	}
	munmap(map, (size_t)pg * 2);
}

int test_cp_msg_register(void)
{
	CU_pSuite s = CU_add_suite("cp_msg", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "canonical round trip", test_canonical_roundtrip) ||
	    !CU_add_test(s, "small and invalid", test_small_and_invalid) ||
	    !CU_add_test(s, "classify", test_classify) ||
	    !CU_add_test(s, "classify at guard page", test_classify_guard_page))
		return -1;
	return 0;
}
