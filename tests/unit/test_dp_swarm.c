/* swarm: the load generator's client TCP (handshake, reassembly, SACK,
 * retransmission, options) and its message-sequence verification. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/sw_tcp.h"
#include "swarm/sw_verify.h"

#define MAXOUT 64

struct cap {
	struct sw_tcp_out out[MAXOUT];
	uint32_t nout;
	uint8_t rx[1 << 16];
	uint32_t nrx;
	int fail_deliver;
};

static int cap_emit(void *ctx, const struct sw_tcp_out *o)
{
	struct cap *c = ctx;

	if (c->nout < MAXOUT)
		c->out[c->nout++] = *o;
	return 0;
}

static int cap_deliver(void *ctx, const uint8_t *p, uint32_t n)
{
	struct cap *c = ctx;

	if (c->fail_deliver)
		return -EPROTO;
	CU_ASSERT_FATAL(c->nrx + n <= sizeof(c->rx));
	memcpy(c->rx + c->nrx, p, n);
	c->nrx += n;
	return 0;
}

static const struct sw_tcp_ops ops = { cap_emit, cap_deliver };
static const struct sw_tcp_cfg cfg = { 1000, 1460, 7, 2, 262144, 1, 1 };

/* A connection in ESTABLISHED with the peer's ISN irs (data from irs + 1). */
static void establish_irs(struct sw_tcp *t, struct cap *c, uint32_t irs)
{
	struct sw_seg s = { 0 };

	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL_FATAL(sw_tcp_init(t, &cfg), 0);
	CU_ASSERT_EQUAL(sw_tcp_connect(t, 0, &ops, c), 0);
	CU_ASSERT_EQUAL(c->nout, 1);
	CU_ASSERT_EQUAL(c->out[0].flags, SW_TH_SYN);
	CU_ASSERT_EQUAL(c->out[0].seq, 1000);
	s.flags = SW_TH_SYN | SW_TH_ACK;
	s.seq = irs;
	s.ack = 1001;
	s.wnd = 65535;
	s.has_ws = 1;
	s.ws = 2;
	s.sack_ok = 1;
	s.has_ts = 1;
	s.tsval = 77;
	CU_ASSERT_EQUAL(sw_tcp_input(t, &s, 10, &ops, c), 0);
	CU_ASSERT_EQUAL(t->state, SW_TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(c->out[1].flags, SW_TH_ACK);
	CU_ASSERT_EQUAL(c->out[1].ack, irs + 1);
	CU_ASSERT_EQUAL(c->out[1].tsecr, 77);
	c->nout = 0;
}

/* The same with the peer's ISN 5000 (data from 5001). */
static void establish(struct sw_tcp *t, struct cap *c)
{
	establish_irs(t, c, 5000);
}

static struct sw_seg data_seg(uint32_t seq, const uint8_t *p, uint32_t len)
{
	struct sw_seg s = { 0 };

	s.flags = SW_TH_ACK;
	s.seq = seq;
	s.ack = 1001;
	s.wnd = 1000;
	s.data = p;
	s.len = len;
	return s;
}

static void test_handshake_and_in_order(void)
{
	struct sw_tcp t;
	struct cap c;
	uint8_t buf[300];
	struct sw_seg s;

	for (int k = 0; k < 300; k++)
		buf[k] = (uint8_t)k;
	establish(&t, &c);
	s = data_seg(5001, buf, 100);
	sw_tcp_input(&t, &s, 20, &ops, &c);
	CU_ASSERT_EQUAL(c.nout, 0); /* ack every 2nd segment */
	s = data_seg(5101, buf + 100, 100);
	sw_tcp_input(&t, &s, 21, &ops, &c);
	CU_ASSERT_EQUAL(c.nout, 1);
	CU_ASSERT_EQUAL(c.out[0].ack, 5201);
	/* window is scaled after the handshake: 262144 >> 7 */
	CU_ASSERT_EQUAL(c.out[0].wnd, 2048);
	/* duplicate: acknowledged at once, not delivered again */
	sw_tcp_input(&t, &s, 22, &ops, &c);
	CU_ASSERT_EQUAL(c.nout, 2);
	CU_ASSERT_EQUAL(t.dup_segs, 1);
	/* partial overlap: only the new bytes are delivered */
	s = data_seg(5151, buf + 150, 150);
	sw_tcp_input(&t, &s, 23, &ops, &c);
	CU_ASSERT_EQUAL(c.nrx, 300);
	CU_ASSERT_EQUAL(memcmp(c.rx, buf, 300), 0);
	sw_tcp_flush_ack(&t, 24, &ops, &c);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].ack, 5301);
	sw_tcp_fini(&t);
}

static void test_reassembly_and_sack(void)
{
	struct sw_tcp t;
	struct cap c;
	uint8_t buf[500];
	struct sw_seg s;

	for (int k = 0; k < 500; k++)
		buf[k] = (uint8_t)(k * 7);
	establish(&t, &c);
	/* segments 3 and 5 first, then 2, 4, 1 */
	s = data_seg(5201, buf + 200, 100);
	sw_tcp_input(&t, &s, 1, &ops, &c);
	CU_ASSERT_EQUAL(c.nrx, 0);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].nsack, 1);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].sack[0].start, 5201);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].sack[0].end, 5301);
	s = data_seg(5401, buf + 400, 100);
	sw_tcp_input(&t, &s, 2, &ops, &c);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].nsack, 2);
	s = data_seg(5101, buf + 100, 100);
	sw_tcp_input(&t, &s, 3, &ops, &c);
	/* 2 and 3 merged into one range */
	CU_ASSERT_EQUAL(c.out[c.nout - 1].nsack, 2);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].sack[0].start, 5101);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].sack[0].end, 5301);
	s = data_seg(5301, buf + 300, 100);
	sw_tcp_input(&t, &s, 4, &ops, &c);
	CU_ASSERT_EQUAL(c.nrx, 0);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].nsack, 1);
	s = data_seg(5001, buf, 100);
	sw_tcp_input(&t, &s, 5, &ops, &c);
	CU_ASSERT_EQUAL(c.nrx, 500);
	CU_ASSERT_EQUAL(memcmp(c.rx, buf, 500), 0);
	CU_ASSERT_EQUAL(t.rcv_nxt, 5501);
	/* the hole filler is acknowledged at once, without SACK blocks left */
	CU_ASSERT_EQUAL(c.out[c.nout - 1].ack, 5501);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].nsack, 0);
	/* beyond the reassembly buffer: dropped, counted */
	s = data_seg(5501 + SW_TCP_OOO_BYTES, buf, 100);
	sw_tcp_input(&t, &s, 6, &ops, &c);
	CU_ASSERT_EQUAL(t.ooo_drops, 1);
	sw_tcp_fini(&t);
}

/* Eight holes fill every reassembly range; a segment that only extends one
 * of them must be merged in place (it once shifted the range list past its
 * end, over the first bytes of the reassembly buffer), and the stream must
 * come out byte for byte once the holes are filled, in any order. */
static void test_reassembly_full_ranges(void)
{
	struct sw_tcp t;
	struct cap c;
	static uint8_t buf[3400];
	struct sw_seg s;

	for (int k = 0; k < (int)sizeof(buf); k++)
		buf[k] = (uint8_t)(k * 7 + 3);
	/* Stream offset 500 sits at reassembly buffer position 0 (in range 2
	 * below), where an overrun of the range list would land. */
	const uint32_t D = SW_TCP_OOO_BYTES - 500; /* sequence number of offset 0 */
	establish_irs(&t, &c, D - 1);
	/* ranges at 200k + 100 .. 200k + 200, k = 0..7: holes before each */
	for (int k = 0; k < SW_TCP_OOO_RANGES; k++) {
		s = data_seg(D + 200 * k + 100, buf + 200 * k + 100, 100);
		sw_tcp_input(&t, &s, 30, &ops, &c);
	}
	CU_ASSERT_EQUAL(t.ooo->nr, SW_TCP_OOO_RANGES);
	/* full list: extend range 3 at its end, and range 5 at its start */
	s = data_seg(D + 200 * 3 + 200, buf + 200 * 3 + 200, 50);
	sw_tcp_input(&t, &s, 31, &ops, &c);
	s = data_seg(D + 200 * 5 + 60, buf + 200 * 5 + 60, 40);
	sw_tcp_input(&t, &s, 32, &ops, &c);
	CU_ASSERT_EQUAL(t.ooo->nr, SW_TCP_OOO_RANGES);
	CU_ASSERT_EQUAL(t.ooo->r[3].end, D + 200 * 3 + 250);
	CU_ASSERT_EQUAL(t.ooo->r[5].start, D + 200 * 5 + 60);
	/* a ninth disjoint range does not fit: dropped, the peer resends it */
	s = data_seg(D + 1700, buf + 1700, 100);
	sw_tcp_input(&t, &s, 33, &ops, &c);
	CU_ASSERT_EQUAL(t.ooo_drops, 1);
	/* fill every hole from the last to the first, then the tail */
	for (int k = SW_TCP_OOO_RANGES - 1; k >= 0; k--) {
		s = data_seg(D + 200 * k, buf + 200 * k, 100);
		sw_tcp_input(&t, &s, 40, &ops, &c);
	}
	s = data_seg(D + 1600, buf + 1600, 1800);
	sw_tcp_input(&t, &s, 41, &ops, &c);
	CU_ASSERT_EQUAL(c.nrx, sizeof(buf));
	CU_ASSERT_EQUAL(memcmp(c.rx, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(t.ooo->nr, 0);
	sw_tcp_fini(&t);
}

static void test_send_retransmit_and_ack(void)
{
	struct sw_tcp t;
	struct cap c;
	uint8_t req[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct sw_seg s;

	establish(&t, &c);
	CU_ASSERT_EQUAL(sw_tcp_send(&t, req, 8, 100, &ops, &c), 0);
	CU_ASSERT_EQUAL(c.nout, 1);
	CU_ASSERT_EQUAL(c.out[0].len, 8);
	CU_ASSERT_EQUAL(c.out[0].seq, 1001);
	/* no ACK: retransmitted after the RTO, same bytes */
	CU_ASSERT_EQUAL(sw_tcp_timer(&t, 100 + SW_TCP_RTO_MIN_US - 1, &ops, &c), 0);
	CU_ASSERT_EQUAL(c.nout, 1);
	CU_ASSERT_EQUAL(sw_tcp_timer(&t, 100 + SW_TCP_RTO_MIN_US, &ops, &c), 0);
	CU_ASSERT_EQUAL(c.nout, 2);
	CU_ASSERT_EQUAL(c.out[1].seq, 1001);
	CU_ASSERT_EQUAL(memcmp(c.out[1].data, req, 8), 0);
	CU_ASSERT_EQUAL(t.rexmits, 1);
	/* acknowledged: buffer empty, timer off */
	s = data_seg(5001, NULL, 0);
	s.ack = 1009;
	sw_tcp_input(&t, &s, 300000, &ops, &c);
	CU_ASSERT_EQUAL(t.slen, 0);
	CU_ASSERT_EQUAL(t.rto_at_us, 0);
	/* a send larger than the buffer is refused */
	static uint8_t big[SW_TCP_SNDBUF + 1];
	CU_ASSERT_EQUAL(sw_tcp_send(&t, big, sizeof(big), 1, &ops, &c), -ENOBUFS);
	sw_tcp_fini(&t);
}

static void test_rst_fin_and_deliver_error(void)
{
	struct sw_tcp t;
	struct cap c;
	uint8_t b[10] = { 0 };
	struct sw_seg s;

	establish(&t, &c);
	/* out-of-window RST ignored, in-window RST fails the connection */
	s = data_seg(5001 + 10000000, NULL, 0);
	s.flags = SW_TH_RST;
	sw_tcp_input(&t, &s, 1, &ops, &c);
	CU_ASSERT_EQUAL(t.state, SW_TCP_ESTABLISHED);
	s.seq = 5001;
	sw_tcp_input(&t, &s, 2, &ops, &c);
	CU_ASSERT_EQUAL(t.state, SW_TCP_FAILED);
	CU_ASSERT_EQUAL(t.err, -ECONNRESET);
	sw_tcp_fini(&t);

	establish(&t, &c);
	s = data_seg(5001, b, 10);
	s.flags |= SW_TH_FIN;
	sw_tcp_input(&t, &s, 1, &ops, &c);
	CU_ASSERT_EQUAL(t.state, SW_TCP_FIN_SENT);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].flags, SW_TH_FIN | SW_TH_ACK);
	CU_ASSERT_EQUAL(c.out[c.nout - 1].ack, 5012);
	sw_tcp_fini(&t);

	establish(&t, &c);
	c.fail_deliver = 1;
	s = data_seg(5001, b, 10);
	CU_ASSERT_EQUAL(sw_tcp_input(&t, &s, 1, &ops, &c), -EPROTO);
	sw_tcp_fini(&t);
	/* bad configuration */
	struct sw_tcp_cfg bad = cfg;
	bad.wscale = 15;
	CU_ASSERT_EQUAL(sw_tcp_init(&t, &bad), -EINVAL);
}

static void test_options(void)
{
	struct sw_tcp_out o = { 0 };
	struct sw_seg s = { 0 };
	uint8_t opt[40];
	uint32_t n;

	o.syn_opts = 1;
	o.sack_perm = 1;
	o.ts = 1;
	o.mss = 1460;
	o.ws = 7;
	o.tsval = 0x01020304;
	o.tsecr = 0x05060708;
	n = sw_tcp_write_opts(&o, opt);
	CU_ASSERT_EQUAL(n, 24);
	CU_ASSERT_EQUAL(n % 4, 0);
	CU_ASSERT_EQUAL(sw_tcp_parse_opts(opt, n, &s), 0);
	CU_ASSERT(s.has_mss && s.mss == 1460);
	CU_ASSERT(s.has_ws && s.ws == 7);
	CU_ASSERT(s.sack_ok);
	CU_ASSERT(s.has_ts && s.tsval == 0x01020304 && s.tsecr == 0x05060708);
	/* SACK blocks: 4 + 8 per block, plus timestamps */
	memset(&o, 0, sizeof(o));
	o.ts = 1;
	o.nsack = 3;
	CU_ASSERT_EQUAL(sw_tcp_write_opts(&o, opt), 40);
	/* malformed: length past the end, length < 2, kind without length */
	const uint8_t bad1[] = { 2, 6, 0, 0 }, bad2[] = { 8, 1 }, bad3[] = { 1, 1, 3 };
	CU_ASSERT_EQUAL(sw_tcp_parse_opts(bad1, sizeof(bad1), &s), -EBADMSG);
	CU_ASSERT_EQUAL(sw_tcp_parse_opts(bad2, sizeof(bad2), &s), -EBADMSG);
	CU_ASSERT_EQUAL(sw_tcp_parse_opts(bad3, sizeof(bad3), &s), -EBADMSG);
	/* end-of-list stops parsing; unknown options are skipped */
	const uint8_t ok[] = { 30, 3, 9, 0, 99, 99 };
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(sw_tcp_parse_opts(ok, sizeof(ok), &s), 0);
	CU_ASSERT(!s.has_mss && !s.has_ws);
}

/* ---- verification ---- */

static void rec(struct sw_rec *r, uint8_t type, uint32_t ts, uint8_t b0, uint8_t b1, uint8_t fill)
{
	uint8_t p[64];

	memset(p, fill, sizeof(p));
	p[0] = b0;
	p[1] = b1;
	sw_rec_make(r, type, ts, p, sizeof(p));
}

static void test_verify_live(void)
{
	struct sw_ref ref;
	struct sw_cursor a = { 0 }, b = { 0 };
	struct sw_rec seq[6], hdr, meta, x;

	CU_ASSERT_EQUAL_FATAL(sw_ref_init(&ref, 100), 0);
	rec(&hdr, 9, 0, 0x17, 0, 1);       /* AVC sequence header */
	CU_ASSERT(hdr.flags & SW_REC_CONFIG);
	rec(&meta, 18, 0, 0x02, 0, 2);
	CU_ASSERT(meta.flags & SW_REC_CONFIG);
	rec(&seq[0], 9, 100, 0x17, 1, 3);  /* keyframe */
	CU_ASSERT(seq[0].flags & SW_REC_KEY);
	rec(&seq[1], 8, 110, 0xaf, 1, 4);
	rec(&seq[2], 9, 133, 0x27, 1, 5);
	rec(&seq[3], 9, 166, 0x17, 1, 6);  /* keyframe */
	rec(&seq[4], 8, 170, 0xaf, 1, 7);
	rec(&seq[5], 9, 200, 0x27, 1, 8);
	/* viewer a is first: it builds the reference */
	CU_ASSERT_EQUAL(sw_verify(&ref, &a, &hdr), SW_V_APPENDED);
	for (int k = 0; k < 6; k++)
		CU_ASSERT_EQUAL(sw_verify(&ref, &a, &seq[k]), k == 0 ? SW_V_APPENDED : SW_V_APPENDED);
	CU_ASSERT_EQUAL(ref.n, 6);
	/* viewer b joins at the second keyframe, then sees the same */
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &hdr), SW_V_OK);
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &seq[3]), SW_V_OK);
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &seq[4]), SW_V_OK);
	/* a changed payload is a mismatch */
	rec(&x, 9, 200, 0x27, 1, 9);
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &x), SW_V_MISMATCH);
	CU_ASSERT_EQUAL(b.mismatches, 1);
	/* a different codec header is a config mismatch */
	rec(&x, 9, 0, 0x17, 0, 42);
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &x), SW_V_MISMATCH);
	CU_ASSERT_EQUAL(b.cfg_mismatches, 1);
	/* a second data message with another handler is learnt, not a mismatch */
	CU_ASSERT_EQUAL(sw_verify(&ref, &b, &meta), SW_V_APPENDED);
	sw_ref_fini(&ref);

	/* skip: a viewer jumps from seq[1] to the keyframe seq[3] */
	struct sw_cursor c = { 0 };
	CU_ASSERT_EQUAL_FATAL(sw_ref_init(&ref, 100), 0);
	memset(&a, 0, sizeof(a));
	for (int k = 0; k < 6; k++)
		sw_verify(&ref, &a, &seq[k]);
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &seq[0]), SW_V_OK);
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &seq[1]), SW_V_OK);
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &seq[3]), SW_V_SKIP);
	CU_ASSERT_EQUAL(c.skips, 1);
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &seq[4]), SW_V_OK);
	CU_ASSERT_EQUAL(c.mismatches, 0);
	/* a non-keyframe jump is a mismatch, not a skip */
	struct sw_cursor d = { 0 };
	sw_verify(&ref, &d, &seq[0]);
	CU_ASSERT_EQUAL(sw_verify(&ref, &d, &seq[2]), SW_V_MISMATCH);
	/* the reference is bounded */
	struct sw_ref small;
	struct sw_cursor e = { 0 };
	CU_ASSERT_EQUAL_FATAL(sw_ref_init(&small, 2), 0);
	sw_verify(&small, &e, &seq[0]);
	sw_verify(&small, &e, &seq[1]);
	CU_ASSERT_EQUAL(sw_verify(&small, &e, &seq[2]), SW_V_UNVERIFIED);
	CU_ASSERT_EQUAL(small.full_drops, 1);
	sw_ref_fini(&small);
	sw_ref_fini(&ref);
	CU_ASSERT_EQUAL(sw_ref_init(&small, 0), -EINVAL);
}

/* A tiny FLV: header, one script tag, AVC header, keyframe, audio. */
static size_t put_tag(uint8_t *p, uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
	p[0] = type;
	p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
	p[4] = (uint8_t)(ts >> 16), p[5] = (uint8_t)(ts >> 8), p[6] = (uint8_t)ts;
	p[7] = (uint8_t)(ts >> 24);
	p[8] = p[9] = p[10] = 0;
	memcpy(p + 11, d, n);
	uint32_t prev = 11 + n;
	p[11 + n] = (uint8_t)(prev >> 24), p[12 + n] = (uint8_t)(prev >> 16);
	p[13 + n] = (uint8_t)(prev >> 8), p[14 + n] = (uint8_t)prev;
	return 15 + n;
}

static void test_verify_fixed(void)
{
	uint8_t flv[512], meta[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a' };
	uint8_t avc[] = { 0x17, 0, 0, 0, 1, 2 }, key[] = { 0x17, 1, 0, 0, 0, 9, 9 };
	uint8_t aud[] = { 0xaf, 1, 5, 5 };
	const uint8_t hdr[] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };
	size_t n = sizeof(hdr);
	struct sw_ref ref;
	struct sw_cursor c = { 0 };
	struct sw_rec r;

	memcpy(flv, hdr, n);
	n += put_tag(flv + n, 18, 0, meta, sizeof(meta));
	n += put_tag(flv + n, 9, 0, avc, sizeof(avc));
	n += put_tag(flv + n, 9, 40, key, sizeof(key));
	n += put_tag(flv + n, 8, 45, aud, sizeof(aud));
	CU_ASSERT_EQUAL_FATAL(sw_ref_load_flv(&ref, flv, n, 100), 0);
	CU_ASSERT_EQUAL(ref.n, 2);
	CU_ASSERT_EQUAL(ref.ncfg, 2);
	/* a server that rebased timestamps by +1000 still verifies */
	sw_rec_make(&r, 9, 0, avc, sizeof(avc));
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &r), SW_V_OK);
	sw_rec_make(&r, 9, 1040, key, sizeof(key));
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &r), SW_V_OK);
	sw_rec_make(&r, 8, 1045, aud, sizeof(aud));
	CU_ASSERT_EQUAL(sw_verify(&ref, &c, &r), SW_V_OK);
	CU_ASSERT_EQUAL(c.mismatches, 0);
	sw_ref_fini(&ref);
	/* not an FLV */
	CU_ASSERT_NOT_EQUAL(sw_ref_load_flv(&ref, meta, sizeof(meta), 100), 0);
	/* header only: no tags */
	CU_ASSERT_EQUAL(sw_ref_load_flv(&ref, hdr, sizeof(hdr), 100), -EINVAL);
}

int test_dp_swarm_register(void)
{
	CU_pSuite s = CU_add_suite("dp_swarm", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "tcp handshake and in-order", test_handshake_and_in_order) == NULL ||
	    CU_add_test(s, "tcp reassembly and SACK", test_reassembly_and_sack) == NULL ||
	    CU_add_test(s, "tcp reassembly with every range in use", test_reassembly_full_ranges) == NULL ||
	    CU_add_test(s, "tcp send, retransmit, ack", test_send_retransmit_and_ack) == NULL ||
	    CU_add_test(s, "tcp rst, fin, deliver error", test_rst_fin_and_deliver_error) == NULL ||
	    CU_add_test(s, "tcp options", test_options) == NULL ||
	    CU_add_test(s, "verify live reference", test_verify_live) == NULL ||
	    CU_add_test(s, "verify fixed reference", test_verify_fixed) == NULL)
		return -1;
	return 0;
}
