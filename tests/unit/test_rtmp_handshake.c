/* rtmp_handshake: our client against our server (plain, digest in both
 * schemes), a corrupted digest (fallback and strict), C0C1 shaped like
 * ffmpeg's and librtmp's checked with an independent HMAC computation,
 * incremental feeding, bytes after C2, guard-page truncation, errors. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtmp/rtmp_err.h"
#include "rtmp/rtmp_handshake.h"
#include "tests/unit/util_rtmp_guard.h"

#define HS 1536

struct pair {
	struct rtmp_hs srv, cli;
	uint64_t srv_seed, cli_seed;
	uint8_t out[RTMP_HS_OUT_MAX];
};

static void pair_init(struct pair *p, int digest, enum rtmp_hs_scheme scheme, int strict)
{
	struct rtmp_hs_config sc = { rtmp_test_rand_fill, &p->srv_seed, 1000, 0, 0, strict, { 0 } };
	struct rtmp_hs_config cc = { rtmp_test_rand_fill, &p->cli_seed, 2000, digest, scheme, 1,
				     { 0 } };

	p->srv_seed = 0xabcdef01;
	p->cli_seed = 0x12345678;
	CU_ASSERT_EQUAL(rtmp_hs_server_init(&p->srv, &sc), 0);
	CU_ASSERT_EQUAL(rtmp_hs_client_init(&p->cli, &cc), 0);
}

/* Run the whole exchange, feeding step bytes at a time. */
static void pair_run(struct pair *p, size_t step)
{
	uint8_t c0c1[1 + HS], s012[RTMP_HS_OUT_MAX], c2[HS];
	size_t olen, pos, s_len = 0, c2_len = 0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(rtmp_hs_client_start(&p->cli, c0c1, sizeof(c0c1)), 1 + HS);
	for (pos = 0; pos < sizeof(c0c1); pos += step) {
		size_t n = sizeof(c0c1) - pos < step ? sizeof(c0c1) - pos : step;

		rc = rtmp_hs_feed(&p->srv, c0c1 + pos, n, p->out, sizeof(p->out), &olen);
		CU_ASSERT_EQUAL_FATAL(rc, (int)n);
		if (olen) {
			memcpy(s012, p->out, olen);
			s_len = olen;
		}
	}
	CU_ASSERT_EQUAL_FATAL(s_len, RTMP_HS_OUT_MAX);
	for (pos = 0; pos < s_len; pos += step) {
		size_t n = s_len - pos < step ? s_len - pos : step;

		rc = rtmp_hs_feed(&p->cli, s012 + pos, n, p->out, sizeof(p->out), &olen);
		CU_ASSERT_EQUAL_FATAL(rc, (int)n);
		if (olen) {
			memcpy(c2, p->out, olen);
			c2_len = olen;
		}
	}
	CU_ASSERT_EQUAL_FATAL(c2_len, HS);
	CU_ASSERT(rtmp_hs_done(&p->cli));
	/* C2 followed by chunk bytes: those are left for the chunk layer. */
	{
		uint8_t tail[HS + 5];

		memcpy(tail, c2, HS);
		memset(tail + HS, 0x03, 5);
		rc = rtmp_hs_feed(&p->srv, tail, sizeof(tail), p->out, sizeof(p->out), &olen);
		CU_ASSERT_EQUAL(rc, HS);
		CU_ASSERT_EQUAL(olen, 0);
	}
	CU_ASSERT(rtmp_hs_done(&p->srv));
}

static void test_plain(void)
{
	struct pair p;

	pair_init(&p, 0, RTMP_HS_SCHEME0, 0);
	pair_run(&p, 100000);
	CU_ASSERT_EQUAL(p.srv.peer_digest, 0);
	CU_ASSERT_EQUAL(p.cli.peer_digest, 0);
	CU_ASSERT_EQUAL(p.srv.peer_echo_ok, 1);
	CU_ASSERT_EQUAL(p.cli.peer_echo_ok, 1);
	CU_ASSERT_EQUAL(p.srv.peer_epoch, 2000);
	CU_ASSERT_EQUAL(p.cli.peer_epoch, 1000);
	CU_ASSERT_EQUAL(memcmp(p.srv.peer_version, "\0\0\0\0", 4), 0);
}

static void test_digest_schemes(void)
{
	int scheme;

	for (scheme = 0; scheme < 2; scheme++) {
		struct pair p;

		pair_init(&p, 1, (enum rtmp_hs_scheme)scheme, 0);
		pair_run(&p, scheme ? 1 : 700); /* one byte at a time in scheme 1 */
		CU_ASSERT_EQUAL(p.srv.peer_digest, 1);
		CU_ASSERT_EQUAL(p.srv.peer_scheme, (enum rtmp_hs_scheme)scheme);
		CU_ASSERT_EQUAL(p.cli.peer_digest, 1);
		CU_ASSERT_EQUAL(p.cli.peer_scheme, (enum rtmp_hs_scheme)scheme);
		CU_ASSERT_EQUAL(p.srv.peer_echo_ok, 1);
		CU_ASSERT_EQUAL(p.cli.peer_echo_ok, 1);
		CU_ASSERT_EQUAL(memcmp(p.srv.peer_version, "\x09\x00\x7c\x02", 4), 0);
		CU_ASSERT_EQUAL(memcmp(p.cli.peer_version, "\x0d\x0e\x0a\x0d", 4), 0);
	}
}

/* Independent digest computation (what ffmpeg and librtmp do). */
static void ref_digest(const uint8_t *pkt, uint32_t base, const uint8_t *key, int klen,
		       uint8_t *out, uint32_t *off)
{
	uint8_t msg[HS - 32];
	unsigned int l;

	*off = (uint32_t)(pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3]) % 728 +
	       base + 4;
	memcpy(msg, pkt, *off);
	memcpy(msg + *off, pkt + *off + 32, HS - *off - 32);
	HMAC(EVP_sha256(), key, klen, msg, sizeof(msg), out, &l);
}

/* A client's C0C1 as ffmpeg (version 9.0.124.2) or librtmp (128.0.7.2) build
 * it: digest in scheme 0 keyed with the 30-byte Flash Player key. */
static void make_c0c1(uint8_t *c0c1, const uint8_t ver[4], uint64_t seed, int scheme)
{
	uint8_t *c1 = c0c1 + 1, d[32];
	uint32_t off;

	c0c1[0] = 3;
	rtmp_test_rand_fill(&seed, c1, HS);
	memset(c1, 0, 4);
	memcpy(c1 + 4, ver, 4);
	ref_digest(c1, scheme ? 772 : 8, rtmp_hs_fp_key, 30, d, &off);
	memcpy(c1 + off, d, 32);
}

static void check_server_answer(const uint8_t *c1, const uint8_t *s012, int scheme)
{
	const uint8_t *s1 = s012 + 1, *s2 = s1 + HS;
	uint8_t d[32], key[32], sig[32];
	uint32_t off, coff;
	unsigned int l;

	CU_ASSERT_EQUAL(s012[0], 3);
	/* S1 carries a digest under the 36-byte FMS key in the client's scheme */
	ref_digest(s1, scheme ? 772 : 8, rtmp_hs_fms_key, 36, d, &off);
	CU_ASSERT_EQUAL(memcmp(s1 + off, d, 32), 0);
	CU_ASSERT(s1[4] >= 3); /* ffmpeg checks the server version byte */
	/* S2 = random + HMAC(HMAC(full FMS key, C1 digest), S2[0..1504)) */
	ref_digest(c1, scheme ? 772 : 8, rtmp_hs_fp_key, 30, d, &coff);
	HMAC(EVP_sha256(), rtmp_hs_fms_key, 68, c1 + coff, 32, key, &l);
	HMAC(EVP_sha256(), key, 32, s2, HS - 32, sig, &l);
	CU_ASSERT_EQUAL(memcmp(s2 + HS - 32, sig, 32), 0);
}

static void test_recorded_clients(void)
{
	static const uint8_t ffmpeg_ver[4] = { 9, 0, 124, 2 };
	static const uint8_t librtmp_ver[4] = { 0x80, 0x00, 0x07, 0x02 };
	const uint8_t *vers[2] = { ffmpeg_ver, librtmp_ver };
	int v, scheme;

	for (v = 0; v < 2; v++) {
		for (scheme = 0; scheme < 2; scheme++) {
			uint64_t seed = 7;
			struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 1, { 0 } };
			struct rtmp_hs srv;
			uint8_t c0c1[1 + HS], out[RTMP_HS_OUT_MAX];
			size_t olen;

			make_c0c1(c0c1, vers[v], 1000 + (uint64_t)v, scheme);
			rtmp_hs_server_init(&srv, &sc);
			CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1, sizeof(c0c1), out, sizeof(out), &olen),
					1 + HS);
			CU_ASSERT_EQUAL_FATAL(olen, RTMP_HS_OUT_MAX);
			CU_ASSERT_EQUAL(srv.peer_digest, 1);
			CU_ASSERT_EQUAL(srv.peer_scheme, (enum rtmp_hs_scheme)scheme);
			check_server_answer(c0c1 + 1, out, scheme);
		}
	}
}

/* A digest C1 whose digest is wrong: nginx-rtmp falls back to the plain
 * handshake; strict mode rejects. */
static void test_corrupted_digest(void)
{
	static const uint8_t ver[4] = { 9, 0, 124, 2 };
	uint8_t c0c1[1 + HS], out[RTMP_HS_OUT_MAX];
	uint64_t seed = 5;
	struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 0, { 0 } };
	struct rtmp_hs srv;
	uint32_t off;
	size_t olen;

	make_c0c1(c0c1, ver, 77, 0);
	off = rtmp_hs_digest_offset(c0c1 + 1, RTMP_HS_SCHEME0);
	c0c1[1 + off + 5] ^= 0x40;
	rtmp_hs_server_init(&srv, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1, sizeof(c0c1), out, sizeof(out), &olen), 1 + HS);
	CU_ASSERT_EQUAL(olen, RTMP_HS_OUT_MAX);
	CU_ASSERT_EQUAL(srv.peer_digest, 0);
	CU_ASSERT_EQUAL(memcmp(out + 1 + 4, "\0\0\0\0", 4), 0);   /* plain S1 */
	CU_ASSERT_EQUAL(memcmp(out + 1 + HS, c0c1 + 1, HS), 0);  /* S2 echoes C1 */
	CU_ASSERT_EQUAL(srv.state, RTMP_HS_S_WAIT_C2);

	sc.strict = 1;
	rtmp_hs_server_init(&srv, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1, sizeof(c0c1), out, sizeof(out), &olen),
			-RTMP_E_HS_DIGEST);
	CU_ASSERT_EQUAL(olen, 0);
	CU_ASSERT_EQUAL(srv.state, RTMP_HS_FAILED);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1, 1, out, sizeof(out), &olen), -RTMP_E_HS_STATE);
}

/* Every prefix of C0C1 placed before a guard page: all consumed, no output. */
static void test_guard_prefixes(void)
{
	static const uint8_t ver[4] = { 9, 0, 124, 2 };
	uint8_t c0c1[1 + HS], out[RTMP_HS_OUT_MAX];
	size_t cut;

	make_c0c1(c0c1, ver, 3, 1);
	for (cut = 0; cut <= sizeof(c0c1); cut += (cut < 20 || cut > HS - 20) ? 1 : 97) {
		uint64_t seed = 1;
		struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 0, { 0 } };
		struct rtmp_hs srv;
		struct rtmp_guard g;
		const uint8_t *in = rtmp_guard_place(&g, c0c1, cut);
		size_t olen = 99;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		rtmp_hs_server_init(&srv, &sc);
		CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, in, cut, out, sizeof(out), &olen), (int)cut);
		CU_ASSERT_EQUAL(olen, cut == sizeof(c0c1) ? RTMP_HS_OUT_MAX : 0);
		rtmp_guard_release(&g);
	}
}

/* ffmpeg as a publisher echoes S1 as C2 even after a digest handshake;
 * that counts as a good echo, random bytes do not (and neither fails). */
static void test_c2_forms(void)
{
	static const uint8_t ver[4] = { 9, 0, 124, 2 };
	uint8_t c0c1[1 + HS], out[RTMP_HS_OUT_MAX], c2[HS];
	int form;

	make_c0c1(c0c1, ver, 11, 0);
	for (form = 0; form < 2; form++) {
		uint64_t seed = 2;
		struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 0, { 0 } };
		struct rtmp_hs srv;
		size_t olen;

		rtmp_hs_server_init(&srv, &sc);
		rtmp_hs_feed(&srv, c0c1, sizeof(c0c1), out, sizeof(out), &olen);
		CU_ASSERT_EQUAL_FATAL(olen, RTMP_HS_OUT_MAX);
		if (form == 0)
			memcpy(c2, out + 1, HS);
		else
			memset(c2, 0x33, HS);
		CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c2, HS, out, sizeof(out), &olen), HS);
		CU_ASSERT(rtmp_hs_done(&srv));
		CU_ASSERT_EQUAL(srv.peer_echo_ok, form == 0);
	}
}

static int rand_fail(void *ctx, uint8_t *b, size_t n)
{
	return -EIO;
}

static void test_errors(void)
{
	uint64_t seed = 1;
	struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 0, { 0 } };
	struct rtmp_hs hs;
	uint8_t in[1 + HS] = { 6 }, out[RTMP_HS_OUT_MAX];
	size_t olen;

	rtmp_hs_server_init(&hs, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&hs, in, 1, out, sizeof(out), &olen), -RTMP_E_HS_VERSION);
	rtmp_hs_server_init(&hs, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&hs, in, 1, out, 100, &olen), -ENOSPC);
	CU_ASSERT_EQUAL(rtmp_hs_client_start(&hs, out, sizeof(out)), -RTMP_E_HS_STATE);
	rtmp_hs_client_init(&hs, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&hs, in, 1, out, sizeof(out), &olen), -RTMP_E_HS_STATE);
	CU_ASSERT_EQUAL(rtmp_hs_client_start(&hs, out, 10), -ENOSPC);
	sc.rand = NULL;
	CU_ASSERT_EQUAL(rtmp_hs_server_init(&hs, &sc), -EINVAL);
	sc.rand = rand_fail;
	rtmp_hs_client_init(&hs, &sc);
	CU_ASSERT_EQUAL(rtmp_hs_client_start(&hs, out, sizeof(out)), -EIO);
	rtmp_hs_server_init(&hs, &sc);
	in[0] = 3;
	CU_ASSERT_EQUAL(rtmp_hs_feed(&hs, in, sizeof(in), out, sizeof(out), &olen), -EIO);
	CU_ASSERT_EQUAL(hs.state, RTMP_HS_FAILED);
}

/* Strict client against a server answer with a broken S2 signature. */
static void test_client_strict(void)
{
	struct pair p;
	uint8_t c0c1[1 + HS], s012[RTMP_HS_OUT_MAX];
	size_t olen;

	pair_init(&p, 1, RTMP_HS_SCHEME0, 0);
	CU_ASSERT_EQUAL(rtmp_hs_client_start(&p.cli, c0c1, sizeof(c0c1)), 1 + HS);
	rtmp_hs_feed(&p.srv, c0c1, sizeof(c0c1), s012, sizeof(s012), &olen);
	CU_ASSERT_EQUAL_FATAL(olen, RTMP_HS_OUT_MAX);
	s012[RTMP_HS_OUT_MAX - 1] ^= 1;
	CU_ASSERT_EQUAL(rtmp_hs_feed(&p.cli, s012, olen, p.out, sizeof(p.out), &olen),
			-RTMP_E_HS_DIGEST);
	/* a bad S0 version byte */
	pair_init(&p, 0, RTMP_HS_SCHEME0, 0);
	rtmp_hs_client_start(&p.cli, c0c1, sizeof(c0c1));
	s012[0] = 0x06;
	CU_ASSERT_EQUAL(rtmp_hs_feed(&p.cli, s012, 10, p.out, sizeof(p.out), &olen),
			-RTMP_E_HS_VERSION);
}

/* An empty feed (NULL, 0), as a transport may pass between reads, consumes
 * nothing, sends nothing and leaves the state as it was; under UBSan this
 * also proves no library call sees the NULL pointer. */
static void test_empty_feed(void)
{
	uint64_t seed = 7;
	struct rtmp_hs_config sc = { rtmp_test_rand_fill, &seed, 0, 0, 0, 0, { 0 } };
	struct rtmp_hs srv;
	uint8_t out[RTMP_HS_OUT_MAX];
	size_t out_len = 99;

	CU_ASSERT_EQUAL_FATAL(rtmp_hs_server_init(&srv, &sc), 0);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, NULL, 0, out, sizeof(out), &out_len), 0);
	CU_ASSERT_EQUAL(out_len, 0);
	CU_ASSERT_FALSE(rtmp_hs_done(&srv));
	/* Half of C0C1, then an empty feed, then the rest: S0S1S2 only once. */
	uint8_t c0c1[1537] = { 3 };
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1, 700, out, sizeof(out), &out_len), 700);
	CU_ASSERT_EQUAL(out_len, 0);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, NULL, 0, out, sizeof(out), &out_len), 0);
	CU_ASSERT_EQUAL(out_len, 0);
	CU_ASSERT_EQUAL(rtmp_hs_feed(&srv, c0c1 + 700, 837, out, sizeof(out), &out_len), 837);
	CU_ASSERT_EQUAL(out_len, 1 + 1536 + 1536);
}

int test_rtmp_handshake_register(void)
{
	CU_pSuite s = CU_add_suite("rtmp_handshake", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "plain", test_plain) ||
	    !CU_add_test(s, "empty feed", test_empty_feed) ||
	    !CU_add_test(s, "digest both schemes", test_digest_schemes) ||
	    !CU_add_test(s, "recorded ffmpeg/librtmp C0C1", test_recorded_clients) ||
	    !CU_add_test(s, "corrupted digest", test_corrupted_digest) ||
	    !CU_add_test(s, "guard prefixes", test_guard_prefixes) ||
	    !CU_add_test(s, "C2 forms", test_c2_forms) ||
	    !CU_add_test(s, "errors", test_errors) ||
	    !CU_add_test(s, "client strict", test_client_strict))
		return -1;
	return 0;
}
