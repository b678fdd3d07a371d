/* rtmp_chunk: writer -> reader round trips at random split points and chunk
 * sizes, hand-built header bytes, extended timestamps, csid boundaries,
 * canonical form, limits and typed errors, guard-page truncation. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_err.h"
#include "tests/unit/util_rtmp_guard.h"

#define NMSG 300

struct tmsg {
	struct rtmp_msg m;
	uint8_t *buf;
};

/* Counting allocator: checks every free matches an alloc. */
struct count_alloc {
	size_t live_bytes;
	int live_blocks;
	int fail_after; /* < 0: never fail */
};

static void *ca_alloc(void *ctx, size_t n)
{
	struct count_alloc *c = ctx;

	if (c->fail_after == 0)
		return NULL;
	if (c->fail_after > 0)
		c->fail_after--;
	c->live_bytes += n;
	c->live_blocks++;
	return malloc(n);
}

static void ca_free(void *ctx, void *p, size_t n)
{
	struct count_alloc *c = ctx;

	c->live_bytes -= n;
	c->live_blocks--;
	free(p);
}

/* Read every message in buf, feeding pieces of random size (max_piece 0 =
 * all at once); compare with want[]. Returns messages matched or -1. */
static int read_all(struct rtmp_chunk_reader *r, const uint8_t *buf, size_t len,
		    const struct tmsg *want, int nwant, uint64_t *seed, size_t max_piece)
{
	size_t pos = 0, piece_end = 0;
	int got = 0;

	while (pos < len) {
		struct rtmp_msg m;
		size_t used;
		int rc;

		if (piece_end <= pos) {
			size_t step = max_piece ? 1 + rtmp_test_rand(seed) % max_piece : len;

			piece_end = pos + step > len ? len : pos + step;
		}
		rc = rtmp_chunk_read(r, buf + pos, piece_end - pos, &m, &used);
		if (rc < 0)
			return -1;
		pos += used;
		if (rc == 0)
			continue;
		if (m.type == RTMP_MSG_SET_CHUNK_SIZE)
			continue; /* writer-inserted size changes */
		if (got >= nwant)
			return -1;
		if (m.type != want[got].m.type || m.length != want[got].m.length ||
		    m.msid != want[got].m.msid || m.csid != want[got].m.csid ||
		    m.timestamp != want[got].m.timestamp ||
		    (m.length && memcmp(m.data, want[got].buf, m.length) != 0))
			return -1;
		got++;
	}
	return got;
}

static const uint32_t csids[] = { 2, 3, 4, 5, 6, 7, 63, 64, 65, 319, 320, 321, 1000, 65599 };

static void gen_msgs(struct tmsg *t, int n, uint64_t *seed)
{
	uint32_t ts[sizeof(csids) / sizeof(csids[0])] = { 0 };
	int i;

	for (i = 0; i < n; i++) {
		uint32_t k = rtmp_test_rand(seed) % (sizeof(csids) / sizeof(csids[0]));
		uint32_t r = rtmp_test_rand(seed) % 100, j;

		t[i].m.csid = csids[k];
		t[i].m.type = (uint8_t)(r < 40 ? 9 : r < 70 ? 8 : r < 80 ? 18 : 20);
		t[i].m.msid = r < 95 ? 1 : rtmp_test_rand(seed);
		/* Mostly regular deltas (fmt 2/3), sometimes a jump past 2^24, back in
		 * time, or across the 32-bit wrap. */
		if (r < 70)
			ts[k] += 33;
		else if (r < 80)
			ts[k] += rtmp_test_rand(seed) % 1000;
		else if (r < 88)
			ts[k] += 0x01000000u + rtmp_test_rand(seed);
		else if (r < 94)
			ts[k] -= rtmp_test_rand(seed) % 5000;
		else
			ts[k] = 0xFFFFFF00u + rtmp_test_rand(seed) % 0x200;
		t[i].m.timestamp = ts[k];
		r = rtmp_test_rand(seed) % 100;
		t[i].m.length = r < 5 ? 0 : r < 50 ? 20 + rtmp_test_rand(seed) % 200
			      : r < 95 ? rtmp_test_rand(seed) % 5000 : rtmp_test_rand(seed) % 70000;
		if (r >= 30 && r < 50)
			t[i].m.length = 100; /* repeated lengths exercise fmt 2/3 */
		if (rtmp_test_rand(seed) % 100 < 30) {
			/* a steady audio stream: same csid, type, length and delta,
			 * which the writer sends as fmt-3 new messages */
			k = 2;
			t[i].m.csid = csids[k];
			t[i].m.type = RTMP_MSG_AUDIO;
			t[i].m.msid = 1;
			ts[k] += 23;
			t[i].m.timestamp = ts[k];
			t[i].m.length = 100;
		}
		t[i].buf = malloc(t[i].m.length + 1);
		for (j = 0; j < t[i].m.length; j++)
			t[i].buf[j] = (uint8_t)rtmp_test_rand(seed);
		t[i].m.data = t[i].buf;
	}
}

static void free_msgs(struct tmsg *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(t[i].buf);
}

/* Write msgs with the compressing writer, changing the chunk size (with a Set
 * Chunk Size message) every so often. */
static size_t write_all(struct tmsg *t, int n, uint8_t *out, size_t cap, uint64_t *seed,
			const uint32_t *sizes, int nsizes)
{
	struct rtmp_chunk_writer w;
	size_t len = 0;
	int i;

	CU_ASSERT_EQUAL_FATAL(rtmp_chunk_writer_init(&w, RTMP_CHUNK_SIZE_DEFAULT), 0);
	for (i = 0; i < n; i++) {
		ssize_t rc;
		size_t pred;

		if (i % 40 == 0) {
			uint32_t cs = sizes[rtmp_test_rand(seed) % nsizes];
			uint8_t body[4] = { (uint8_t)(cs >> 24), (uint8_t)(cs >> 16),
					    (uint8_t)(cs >> 8), (uint8_t)cs };
			struct rtmp_msg m = { 0, 4, 0, 2, RTMP_MSG_SET_CHUNK_SIZE, body };

			rc = rtmp_chunk_write(&w, &m, out + len, cap - len);
			CU_ASSERT_FATAL(rc > 0);
			len += (size_t)rc;
			rtmp_chunk_writer_set_chunk_size(&w, cs);
		}
		pred = rtmp_chunk_write_size(&w, &t[i].m);
		rc = rtmp_chunk_write(&w, &t[i].m, out + len, cap - len);
		CU_ASSERT_FATAL(rc > 0);
		CU_ASSERT_EQUAL(pred, (size_t)rc);
		len += (size_t)rc;
	}
	return len;
}

static void test_roundtrip_random(void)
{
	static const uint32_t sizes[] = { 1, 7, 128, 4096, 60000, 1u << 20 };
	uint64_t seed = 0x1234567u;
	struct tmsg *t = calloc(NMSG, sizeof(*t));
	size_t cap = 64u << 20, len;
	uint8_t *out = malloc(cap);
	int pass;

	gen_msgs(t, NMSG, &seed);
	len = write_all(t, NMSG, out, cap, &seed, sizes, 6);
	for (pass = 0; pass < 4; pass++) {
		struct count_alloc ca = { 0, 0, -1 };
		struct rtmp_alloc al = { ca_alloc, ca_free, &ca };
		struct rtmp_chunk_limits lim = RTMP_CHUNK_LIMITS_DEFAULT;
		struct rtmp_chunk_reader r;
		static const size_t pieces[] = { 0, 1, 17, 3000 };

		lim.max_streams = 16;
		CU_ASSERT_EQUAL_FATAL(rtmp_chunk_reader_init(&r, &lim, &al, 128), 0);
		CU_ASSERT_EQUAL(read_all(&r, out, len, t, NMSG, &seed, pieces[pass]), NMSG);
		CU_ASSERT(ca.live_bytes <= lim.max_buffered + 16 * sizeof(struct rtmp_chunk_stream));
		CU_ASSERT_EQUAL(r.bytes_in, len);
		rtmp_chunk_reader_fini(&r);
		CU_ASSERT_EQUAL(ca.live_bytes, 0);
		CU_ASSERT_EQUAL(ca.live_blocks, 0);
	}
	free_msgs(t, NMSG);
	free(t);
	free(out);
}

/* Hand-built: fmt 0 with extended timestamp 0x01000000, 300 bytes at chunk
 * size 128: continuations are fmt 3 repeating the 4-byte extended field. */
static void test_extended_fmt3_repeat(void)
{
	uint8_t payload[300], want[400], out[400];
	struct rtmp_msg m = { 0x01000000u, 300, 1, 6, RTMP_MSG_VIDEO, payload }, got;
	struct rtmp_chunk_writer w;
	struct rtmp_chunk_reader r;
	size_t n = 0, used, i;
	ssize_t wl;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	want[n++] = 0x06;
	want[n++] = 0xff, want[n++] = 0xff, want[n++] = 0xff;
	want[n++] = 0x00, want[n++] = 0x01, want[n++] = 0x2c;
	want[n++] = 0x09;
	want[n++] = 1, want[n++] = 0, want[n++] = 0, want[n++] = 0;
	want[n++] = 0x01, want[n++] = 0, want[n++] = 0, want[n++] = 0;
	for (i = 0; i < 300; i += 128) {
		if (i) {
			want[n++] = 0xc6;
			want[n++] = 0x01, want[n++] = 0, want[n++] = 0, want[n++] = 0;
		}
		memcpy(want + n, payload + i, 300 - i < 128 ? 300 - i : 128);
		n += 300 - i < 128 ? 300 - i : 128;
	}
	CU_ASSERT_EQUAL(rtmp_chunk_writer_init(&w, 128), 0);
	wl = rtmp_chunk_write(&w, &m, out, sizeof(out));
	CU_ASSERT_EQUAL_FATAL(wl, (ssize_t)n);
	CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
	/* Canonical form of the same message is byte-identical here. */
	CU_ASSERT_EQUAL(rtmp_chunk_write_canonical(&m, 128, out, sizeof(out)), (ssize_t)n);
	CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_size(300, 0x01000000u, 128), n);

	CU_ASSERT_EQUAL_FATAL(rtmp_chunk_reader_init(&r, NULL, NULL, 128), 0);
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, want, n, &got, &used), 1);
	CU_ASSERT_EQUAL(used, n);
	CU_ASSERT_EQUAL(got.timestamp, 0x01000000u);
	CU_ASSERT_EQUAL(got.length, 300);
	CU_ASSERT_EQUAL(got.csid, 6);
	CU_ASSERT_EQUAL(got.msid, 1);
	CU_ASSERT_EQUAL(memcmp(got.data, payload, 300), 0);
	rtmp_chunk_reader_fini(&r);
}

/* fmt 0 ts 1000, fmt 2 delta 40 (ts 1040), fmt 3 new message (ts 1080),
 * then a wrap: fmt 0 0xFFFFFFF0 (extended) + fmt 2 delta 0x20 = 0x10. */
static void test_delta_and_wrap(void)
{
	static const uint8_t in[] = {
		0x04, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x02, 0x08, 0x01, 0x00, 0x00, 0x00, 0xaa, 0xbb,
		0x84, 0x00, 0x00, 0x28, 0xcc, 0xdd,
		0xc4, 0xee, 0xff,
		0x04, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xf0, 0x11,
		0x84, 0x00, 0x00, 0x20, 0x22,
	};
	static const uint32_t ts[] = { 1000, 1040, 1080, 0xFFFFFFF0u, 0x10 };
	struct rtmp_chunk_reader r;
	struct rtmp_msg m;
	size_t pos = 0, used;
	int i;

	CU_ASSERT_EQUAL_FATAL(rtmp_chunk_reader_init(&r, NULL, NULL, 128), 0);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL_FATAL(rtmp_chunk_read(&r, in + pos, sizeof(in) - pos, &m, &used), 1);
		pos += used;
		CU_ASSERT_EQUAL(m.timestamp, ts[i]);
		CU_ASSERT_EQUAL(m.type, 8);
		CU_ASSERT_EQUAL(m.csid, 4);
	}
	CU_ASSERT_EQUAL(m.data[0], 0x22);
	CU_ASSERT_EQUAL(pos, sizeof(in));
	rtmp_chunk_reader_fini(&r);
}

/* Writer compression: fmt 0, then fmt 1 (length change), fmt 2 (delta
 * change), fmt 3 (same delta). */
static void test_writer_fmt_choice(void)
{
	uint8_t p[8] = { 0 }, out[64];
	struct rtmp_chunk_writer w;
	struct rtmp_msg m = { 0, 4, 1, 4, RTMP_MSG_AUDIO, p };

	rtmp_chunk_writer_init(&w, 128);
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 12 + 4);
	CU_ASSERT_EQUAL(out[0], 0x04);
	m.length = 8, m.timestamp = 20;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 8 + 8);
	CU_ASSERT_EQUAL(out[0], 0x44);
	m.timestamp = 50;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 4 + 8);
	CU_ASSERT_EQUAL(out[0], 0x84);
	CU_ASSERT_EQUAL(out[3], 30);
	m.timestamp = 80;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 1 + 8);
	CU_ASSERT_EQUAL(out[0], 0xc4);
	/* Too small: -ENOSPC and the state is unchanged (still fmt 3 next). */
	m.timestamp = 110;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, 8), -ENOSPC);
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 9);
	CU_ASSERT_EQUAL(out[0], 0xc4);
	/* Going back in time or a new msid forces fmt 0. */
	m.timestamp = 10;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 12 + 8);
	m.msid = 2;
	m.timestamp = 20;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 12 + 8);
	CU_ASSERT_EQUAL(out[8], 2);
	rtmp_chunk_writer_invalidate(&w);
	m.timestamp = 30;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), 12 + 8);
	m.csid = 1;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), -EINVAL);
	m.csid = 65600;
	CU_ASSERT_EQUAL(rtmp_chunk_write(&w, &m, out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_chunk_writer_init(&w, 0), -EINVAL);
}

static void test_csid_boundaries(void)
{
	static const struct { uint32_t csid; uint8_t b[3]; size_t n; } cases[] = {
		{ 2, { 0x02 }, 1 }, { 63, { 0x3f }, 1 }, { 64, { 0x00, 0x00 }, 2 },
		{ 319, { 0x00, 0xff }, 2 }, { 320, { 0x01, 0x00, 0x01 }, 3 },
		{ 65599, { 0x01, 0xff, 0xff }, 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[3] = { 1, 2, 3 }, out[32];
		struct rtmp_msg m = { 5, 3, 1, cases[i].csid, 20, p }, got;
		struct rtmp_chunk_writer w;
		struct rtmp_chunk_reader r;
		size_t used;
		ssize_t n;

		rtmp_chunk_writer_init(&w, 128);
		n = rtmp_chunk_write(&w, &m, out, sizeof(out));
		CU_ASSERT_EQUAL(n, (ssize_t)(cases[i].n + 11 + 3));
		CU_ASSERT_EQUAL(memcmp(out, cases[i].b, cases[i].n), 0);
		rtmp_chunk_reader_init(&r, NULL, NULL, 128);
		CU_ASSERT_EQUAL(rtmp_chunk_read(&r, out, (size_t)n, &got, &used), 1);
		CU_ASSERT_EQUAL(got.csid, cases[i].csid);
		CU_ASSERT_EQUAL(got.data[2], 3);
		rtmp_chunk_reader_fini(&r);
	}
}

static size_t put_fmt0(uint8_t *b, uint32_t csid, uint32_t len, uint8_t type)
{
	b[0] = (uint8_t)csid;
	b[1] = b[2] = b[3] = 0;
	b[4] = (uint8_t)(len >> 16), b[5] = (uint8_t)(len >> 8), b[6] = (uint8_t)len;
	b[7] = type;
	b[8] = 1, b[9] = b[10] = b[11] = 0;
	return 12;
}

static int read_err(struct rtmp_chunk_reader *r, const uint8_t *b, size_t n)
{
	struct rtmp_msg m;
	size_t used, pos = 0;
	int rc;

	do {
		rc = rtmp_chunk_read(r, b + pos, n - pos, &m, &used);
		pos += used;
	} while (rc == 1 && pos < n);
	return rc;
}

static void test_limits(void)
{
	struct rtmp_chunk_limits lim = { 1 << 16, 1000, 3, 1500 };
	struct rtmp_chunk_reader r;
	uint8_t b[4096];
	size_t n;

	/* message too big */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	n = put_fmt0(b, 4, 1001, 9);
	CU_ASSERT_EQUAL(read_err(&r, b, n), -RTMP_E_MSG_TOO_BIG);
	rtmp_chunk_reader_fini(&r);
	/* chunk size above the cap, zero, and with the high bit */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	n = put_fmt0(b, 2, 4, 1);
	b[n] = 0, b[n + 1] = 1, b[n + 2] = 0, b[n + 3] = 1;
	CU_ASSERT_EQUAL(read_err(&r, b, n + 4), -RTMP_E_CHUNK_SIZE);
	rtmp_chunk_reader_fini(&r);
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	b[n] = 0, b[n + 1] = 0, b[n + 2] = 0, b[n + 3] = 0;
	CU_ASSERT_EQUAL(read_err(&r, b, n + 4), -RTMP_E_CHUNK_SIZE);
	rtmp_chunk_reader_fini(&r);
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	b[n] = 0x80, b[n + 1] = 0, b[n + 2] = 0x10, b[n + 3] = 0;
	CU_ASSERT_EQUAL(read_err(&r, b, n + 4), -RTMP_E_CHUNK_SIZE);
	rtmp_chunk_reader_fini(&r);
	/* a valid one is applied: 200-byte message in one chunk afterwards */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	b[n] = 0, b[n + 1] = 0, b[n + 2] = 1, b[n + 3] = 0;
	n += 4;
	n += put_fmt0(b + n, 5, 200, 18);
	memset(b + n, 0x55, 200);
	CU_ASSERT_EQUAL(read_err(&r, b, n + 200), 1);
	CU_ASSERT_EQUAL(r.chunk_size, 256);
	rtmp_chunk_reader_fini(&r);
	/* too many chunk streams */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	n = 0;
	n += put_fmt0(b + n, 3, 0, 20);
	n += put_fmt0(b + n, 4, 0, 20);
	n += put_fmt0(b + n, 5, 0, 20);
	n += put_fmt0(b + n, 6, 0, 20);
	CU_ASSERT_EQUAL(read_err(&r, b, n), -RTMP_E_TOO_MANY_STREAMS);
	rtmp_chunk_reader_fini(&r);
	/* memory budget: two partial 900-byte messages exceed 1500 */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	n = put_fmt0(b, 4, 900, 9);
	memset(b + n, 1, 128);
	n += 128;
	n += put_fmt0(b + n, 6, 900, 9);
	memset(b + n, 1, 128);
	n += 128;
	CU_ASSERT_EQUAL(read_err(&r, b, n), -RTMP_E_MEM_LIMIT);
	rtmp_chunk_reader_fini(&r);
	/* compressed header on an unknown csid, fmt 3 included */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	b[0] = 0x44;
	CU_ASSERT_EQUAL(read_err(&r, b, 8), -RTMP_E_CHUNK_NO_PREV);
	rtmp_chunk_reader_fini(&r);
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	b[0] = 0xc4;
	CU_ASSERT_EQUAL(read_err(&r, b, 1), -RTMP_E_CHUNK_NO_PREV);
	rtmp_chunk_reader_fini(&r);
	/* a new fmt 0 header while the csid's message is incomplete */
	rtmp_chunk_reader_init(&r, &lim, NULL, 128);
	n = put_fmt0(b, 4, 200, 9);
	memset(b + n, 1, 128);
	n += 128;
	n += put_fmt0(b + n, 4, 10, 9);
	CU_ASSERT_EQUAL(read_err(&r, b, n), -RTMP_E_CHUNK_HEADER);
	rtmp_chunk_reader_fini(&r);
	/* bad init arguments */
	CU_ASSERT_EQUAL(rtmp_chunk_reader_init(&r, &lim, NULL, 0), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_chunk_reader_init(&r, &lim, NULL, 1 << 17), -EINVAL);
	lim.max_msg_size = 1 << 24;
	CU_ASSERT_EQUAL(rtmp_chunk_reader_init(&r, &lim, NULL, 128), -EINVAL);
}

static void test_alloc_failure(void)
{
	struct count_alloc ca = { 0, 0, 0 };
	struct rtmp_alloc al = { ca_alloc, ca_free, &ca };
	struct rtmp_chunk_reader r;
	uint8_t b[300];
	size_t n;

	CU_ASSERT_EQUAL(rtmp_chunk_reader_init(&r, NULL, &al, 128), -ENOMEM);
	ca.fail_after = 1; /* the table succeeds, the reassembly buffer fails */
	CU_ASSERT_EQUAL_FATAL(rtmp_chunk_reader_init(&r, NULL, &al, 128), 0);
	n = put_fmt0(b, 4, 200, 9);
	memset(b + n, 0, 200);
	CU_ASSERT_EQUAL(read_err(&r, b, n + 200), -ENOMEM);
	rtmp_chunk_reader_fini(&r);
	rtmp_chunk_reader_fini(&r);
	CU_ASSERT_EQUAL(ca.live_blocks, 0);
}

/* Abort drops a partial message; the csid then takes a fresh fmt 0. */
static void test_abort(void)
{
	struct rtmp_chunk_reader r;
	struct rtmp_msg m;
	uint8_t b[1024];
	size_t n, used;

	rtmp_chunk_reader_init(&r, NULL, NULL, 128);
	n = put_fmt0(b, 4, 200, 9);
	memset(b + n, 1, 128);
	n += 128;
	n += put_fmt0(b + n, 2, 4, RTMP_MSG_ABORT);
	b[n++] = 0, b[n++] = 0, b[n++] = 0, b[n++] = 4;
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b, n, &m, &used), 1);
	CU_ASSERT_EQUAL(m.type, RTMP_MSG_ABORT);
	CU_ASSERT_EQUAL(used, n);
	n = put_fmt0(b, 4, 3, 9);
	b[n++] = 7, b[n++] = 8, b[n++] = 9;
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b, n, &m, &used), 1);
	CU_ASSERT_EQUAL(m.length, 3);
	CU_ASSERT_EQUAL(m.data[2], 9);
	CU_ASSERT_EQUAL(rtmp_chunk_reader_abort(&r, 99), -ENOENT);
	rtmp_chunk_reader_fini(&r);
}

/* Every prefix of a valid stream, placed before a guard page: need-more until
 * the first message is complete, never a read past the prefix. */
static void test_guard_truncation(void)
{
	uint8_t p[300], out[1024];
	struct rtmp_msg m = { 0x01020304u, 300, 1, 320, RTMP_MSG_VIDEO, p };
	struct rtmp_chunk_writer w;
	size_t i, cut;
	ssize_t n;

	for (i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)i;
	rtmp_chunk_writer_init(&w, 100);
	n = rtmp_chunk_write(&w, &m, out, sizeof(out));
	CU_ASSERT_FATAL(n > 300);
	for (cut = 0; cut <= (size_t)n; cut++) {
		struct rtmp_guard g;
		struct rtmp_chunk_reader r;
		struct rtmp_msg got;
		const uint8_t *in = rtmp_guard_place(&g, out, cut);
		size_t used;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		rtmp_chunk_reader_init(&r, NULL, NULL, 100);
		rc = rtmp_chunk_read(&r, in, cut, &got, &used);
		CU_ASSERT_EQUAL(used, cut);
		if (cut < (size_t)n) {
			CU_ASSERT_EQUAL(rc, 0);
		} else {
			CU_ASSERT_EQUAL(rc, 1);
			CU_ASSERT_EQUAL(got.timestamp, 0x01020304u);
			CU_ASSERT_EQUAL(got.csid, 320);
			CU_ASSERT_EQUAL(memcmp(got.data, p, 300), 0);
		}
		rtmp_chunk_reader_fini(&r);
		rtmp_guard_release(&g);
	}
}

/* Canonical messages: a fresh reader may start at any message boundary. */
static void test_canonical_any_boundary(void)
{
	uint64_t seed = 99;
	struct tmsg t[40];
	uint8_t *out = malloc(1 << 20);
	size_t off[41], len = 0;
	int i, k;

	gen_msgs(t, 40, &seed);
	for (i = 0; i < 40; i++) {
		ssize_t n;

		off[i] = len;
		n = rtmp_chunk_write_canonical(&t[i].m, 4096, out + len, (1 << 20) - len);
		CU_ASSERT_FATAL(n > 0);
		CU_ASSERT_EQUAL((size_t)n, rtmp_chunk_canonical_size(t[i].m.length,
								      t[i].m.timestamp, 4096));
		CU_ASSERT_EQUAL(out[len] & 0xc0, 0); /* fmt 0 */
		CU_ASSERT_EQUAL(out[len] & 0x3f, rtmp_chunk_canonical_csid(t[i].m.type));
		/* the expected reading: canonical csid and msid */
		t[i].m.csid = rtmp_chunk_canonical_csid(t[i].m.type);
		t[i].m.msid = RTMP_CANONICAL_MSID;
		len += (size_t)n;
	}
	off[40] = len;
	for (k = 0; k < 40; k += 7) {
		struct rtmp_chunk_reader r;

		rtmp_chunk_reader_init(&r, NULL, NULL, 4096);
		CU_ASSERT_EQUAL(read_all(&r, out + off[k], len - off[k], t + k, 40 - k, &seed, 50),
				40 - k);
		rtmp_chunk_reader_fini(&r);
	}
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_csid(RTMP_MSG_AUDIO), RTMP_CSID_AUDIO);
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_csid(RTMP_MSG_VIDEO), RTMP_CSID_VIDEO);
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_csid(RTMP_MSG_DATA_AMF0), RTMP_CSID_DATA);
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_csid(RTMP_MSG_COMMAND_AMF0), RTMP_CSID_COMMAND);
	CU_ASSERT_EQUAL(rtmp_chunk_canonical_csid(RTMP_MSG_ACK), RTMP_CSID_CONTROL);
	CU_ASSERT_EQUAL(rtmp_chunk_write_canonical(&t[0].m, 4096, out, 3), -ENOSPC);
	free_msgs(t, 40);
	free(out);
}

/* Chunks of two messages interleaved on different csids, with a Set Chunk
 * Size in between: the first-completed message comes out first and the
 * continuation uses the new size. */
static void test_interleave(void)
{
	struct rtmp_chunk_reader r;
	struct rtmp_msg m;
	uint8_t b[1024];
	size_t n = 0, pos = 0, used, i;

	n += put_fmt0(b + n, 4, 400, 9);
	for (i = 0; i < 128; i++)
		b[n++] = (uint8_t)i;
	n += put_fmt0(b + n, 2, 4, RTMP_MSG_SET_CHUNK_SIZE);
	b[n++] = 0, b[n++] = 0, b[n++] = 1, b[n++] = 0x2c; /* 300 */
	n += put_fmt0(b + n, 6, 5, 8);
	memcpy(b + n, "audio", 5);
	n += 5;
	b[n++] = 0xc4;
	for (i = 128; i < 400; i++)
		b[n++] = (uint8_t)i;
	rtmp_chunk_reader_init(&r, NULL, NULL, 128);
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b, n, &m, &used), 1);
	CU_ASSERT_EQUAL(m.type, RTMP_MSG_SET_CHUNK_SIZE);
	CU_ASSERT_EQUAL(r.chunk_size, 300);
	pos += used;
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b + pos, n - pos, &m, &used), 1);
	CU_ASSERT_EQUAL(m.csid, 6);
	CU_ASSERT_EQUAL(memcmp(m.data, "audio", 5), 0);
	pos += used;
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b + pos, n - pos, &m, &used), 1);
	pos += used;
	CU_ASSERT_EQUAL(pos, n);
	CU_ASSERT_EQUAL(m.csid, 4);
	CU_ASSERT_EQUAL(m.length, 400);
	for (i = 0; i < 400; i++)
		if (m.data[i] != (uint8_t)i)
			break;
	CU_ASSERT_EQUAL(i, 400);
	rtmp_chunk_reader_fini(&r);
}

/* A single-chunk message whole in the input is delivered without a copy. */
static void test_zero_copy(void)
{
	struct rtmp_chunk_reader r;
	struct rtmp_msg m;
	uint8_t b[64];
	size_t n = put_fmt0(b, 4, 10, 8), used;

	memset(b + n, 0x42, 10);
	rtmp_chunk_reader_init(&r, NULL, NULL, 128);
	CU_ASSERT_EQUAL(rtmp_chunk_read(&r, b, n + 10, &m, &used), 1);
	CU_ASSERT_PTR_EQUAL(m.data, b + n);
	CU_ASSERT_EQUAL(r.buffered, 0);
	rtmp_chunk_reader_fini(&r);
}

struct emit_sink {
	uint8_t b[2048];
	size_t len;
	int calls;
};

static int emit_copy(void *ctx, const uint8_t *q, size_t k)
{
	struct emit_sink *s = ctx;

	memcpy(s->b + s->len, q, k);
	s->len += k;
	s->calls++;
	return 0;
}

static int emit_fail(void *ctx, const uint8_t *q, size_t k)
{
	return -EPIPE;
}

static void test_emit(void)
{
	uint8_t p[1000], out[2048];
	struct rtmp_msg m = { 7, 1000, 1, 6, 9, p };
	struct rtmp_chunk_writer w1, w2;
	struct emit_sink sink = { { 0 }, 0, 0 };
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(i ^ 0x5a);
	rtmp_chunk_writer_init(&w1, 300);
	rtmp_chunk_writer_init(&w2, 300);
	n = rtmp_chunk_write(&w1, &m, out, sizeof(out));
	CU_ASSERT_EQUAL(rtmp_chunk_write_emit(&w2, &m, emit_copy, &sink), 0);
	CU_ASSERT_EQUAL((ssize_t)sink.len, n);
	CU_ASSERT_EQUAL(memcmp(sink.b, out, (size_t)n), 0);
	CU_ASSERT_EQUAL(sink.calls, 8); /* 4 headers + 4 payload slices */
	CU_ASSERT_EQUAL(rtmp_chunk_write_emit(&w2, &m, emit_fail, NULL), -EPIPE);
}

int test_rtmp_chunk_register(void)
{
	CU_pSuite s = CU_add_suite("rtmp_chunk", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "roundtrip random", test_roundtrip_random) ||
	    !CU_add_test(s, "extended ts fmt3 repeat", test_extended_fmt3_repeat) ||
	    !CU_add_test(s, "deltas and 32-bit wrap", test_delta_and_wrap) ||
	    !CU_add_test(s, "writer fmt choice", test_writer_fmt_choice) ||
	    !CU_add_test(s, "csid boundaries", test_csid_boundaries) ||
	    !CU_add_test(s, "limits", test_limits) ||
	    !CU_add_test(s, "alloc failure", test_alloc_failure) ||
	    !CU_add_test(s, "abort", test_abort) ||
	    !CU_add_test(s, "guard truncation", test_guard_truncation) ||
	    !CU_add_test(s, "canonical any boundary", test_canonical_any_boundary) ||
	    !CU_add_test(s, "zero copy", test_zero_copy) ||
	    !CU_add_test(s, "interleave", test_interleave) ||
	    !CU_add_test(s, "emit", test_emit))
		return -1;
	return 0;
}
