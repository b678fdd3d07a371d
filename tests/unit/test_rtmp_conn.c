/* rtmp_conn and rtmp_ctl: two connections back to back, protocol control
 * handled inside (chunk size, window + acknowledgements, peer bandwidth,
 * pings, user control events), messages delivered upward with content,
 * hand-over of the state, malformed control, callback errors. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_err.h"
#include "tests/unit/util_rtmp_guard.h"

#define OUTCAP (1 << 20)

struct side {
	struct rtmp_conn c;
	uint8_t *out;            /* bytes it sent */
	size_t out_len;
	struct rtmp_msg msgs[64];
	uint8_t *msg_data[64];
	int nmsgs;
	struct rtmp_conn_event evs[64];
	int nevs;
	int fail_msg;            /* on_msg returns this when non-zero */
};

static int on_msg(void *ctx, const struct rtmp_msg *m)
{
	struct side *s = ctx;

	if (s->fail_msg)
		return s->fail_msg;
	if (s->nmsgs < 64) {
		s->msgs[s->nmsgs] = *m;
		s->msg_data[s->nmsgs] = malloc(m->length + 1);
		if (m->length)
			memcpy(s->msg_data[s->nmsgs], m->data, m->length);
		s->nmsgs++;
	}
	return 0;
}

static int on_out(void *ctx, const uint8_t *p, size_t n)
{
	struct side *s = ctx;

	if (s->out_len + n > OUTCAP)
		return -ENOSPC;
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	return 0;
}

static void on_event(void *ctx, const struct rtmp_conn_event *ev)
{
	struct side *s = ctx;

	if (s->nevs < 64)
		s->evs[s->nevs++] = *ev;
}

static void side_init(struct side *s, const struct rtmp_conn_state *st)
{
	struct rtmp_conn_config cfg;

	memset(s, 0, sizeof(*s));
	memset(&cfg, 0, sizeof(cfg));
	if (st)
		cfg.state = *st;
	cfg.on_msg = on_msg;
	cfg.on_out = on_out;
	cfg.on_event = on_event;
	cfg.ctx = s;
	s->out = malloc(OUTCAP);
	CU_ASSERT_EQUAL_FATAL(rtmp_conn_init(&s->c, &cfg), 0);
}

static void side_fini(struct side *s)
{
	int i;

	for (i = 0; i < s->nmsgs; i++)
		free(s->msg_data[i]);
	rtmp_conn_fini(&s->c);
	free(s->out);
}

/* Move what from sent to the peer, in pieces of step bytes. */
static int pump(struct side *from, struct side *to, size_t step)
{
	size_t pos = 0;
	int rc = 0;

	while (pos < from->out_len && rc == 0) {
		size_t n = from->out_len - pos < step ? from->out_len - pos : step;

		rc = rtmp_conn_input(&to->c, from->out + pos, n);
		pos += n;
	}
	from->out_len = 0;
	return rc;
}

static int find_ev(const struct side *s, enum rtmp_conn_event_kind k, int nth)
{
	int i;

	for (i = 0; i < s->nevs; i++)
		if (s->evs[i].kind == k && nth-- == 0)
			return i;
	return -1;
}

static void test_back_to_back(void)
{
	struct side a, b;
	uint8_t video[10000];
	struct rtmp_msg m = { 40, sizeof(video), 1, 0, RTMP_MSG_VIDEO, video };
	uint8_t cmd[] = { 0x02, 0x00, 0x04, 'p', 'l', 'a', 'y' };
	struct rtmp_msg mc = { 0, sizeof(cmd), 0, 0, RTMP_MSG_COMMAND_AMF0, cmd };
	size_t i;
	int e;

	for (i = 0; i < sizeof(video); i++)
		video[i] = (uint8_t)(i * 13);
	side_init(&a, NULL);
	side_init(&b, NULL);
	CU_ASSERT_EQUAL(rtmp_conn_set_chunk_size(&a.c, 4096), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send_window(&a.c, 5000), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send_peer_bw(&a.c, 2500000, RTMP_BW_DYNAMIC), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send_user(&a.c, RTMP_UC_STREAM_BEGIN, 1), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send_user(&a.c, RTMP_UC_PING_REQUEST, 777), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send(&a.c, &mc), 0);
	CU_ASSERT_EQUAL(rtmp_conn_send(&a.c, &m), 0);
	m.timestamp = 80;
	CU_ASSERT_EQUAL(rtmp_conn_send(&a.c, &m), 0);
	CU_ASSERT_EQUAL(a.c.st.bytes_out, a.out_len);
	CU_ASSERT_EQUAL(pump(&a, &b, 333), 0);

	/* b: two non-control messages, with content, on the canonical csids */
	CU_ASSERT_EQUAL_FATAL(b.nmsgs, 3);
	CU_ASSERT_EQUAL(b.msgs[0].type, RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_EQUAL(b.msgs[0].csid, RTMP_CSID_COMMAND);
	CU_ASSERT_EQUAL(memcmp(b.msg_data[0], cmd, sizeof(cmd)), 0);
	CU_ASSERT_EQUAL(b.msgs[1].type, RTMP_MSG_VIDEO);
	CU_ASSERT_EQUAL(b.msgs[1].csid, RTMP_CSID_VIDEO);
	CU_ASSERT_EQUAL(b.msgs[1].timestamp, 40);
	CU_ASSERT_EQUAL(b.msgs[2].timestamp, 80);
	CU_ASSERT_EQUAL(memcmp(b.msg_data[2], video, sizeof(video)), 0);
	/* b applied chunk size and window; answered the ping and the bandwidth */
	CU_ASSERT_EQUAL(b.c.rd.chunk_size, 4096);
	CU_ASSERT_EQUAL(b.c.st.in_chunk_size, 4096);
	CU_ASSERT_EQUAL(b.c.st.in_window, 5000);
	CU_ASSERT_EQUAL(b.c.st.peer_bw, 2500000);
	CU_ASSERT_EQUAL(b.c.st.out_window, 2500000);
	e = find_ev(&b, RTMP_CONN_EV_STREAM_BEGIN, 0);
	CU_ASSERT(e >= 0 && b.evs[e].value == 1);
	e = find_ev(&b, RTMP_CONN_EV_PEER_BW, 0);
	CU_ASSERT(e >= 0 && b.evs[e].limit == RTMP_BW_DYNAMIC);
	e = find_ev(&b, RTMP_CONN_EV_PING_REQUEST, 0);
	CU_ASSERT(e >= 0 && b.evs[e].value == 777);
	/* about 20 KB received with a 5000-byte window, fed 333 bytes at a time:
	 * an acknowledgement at least every 5000 bytes, never more often */
	{
		uint32_t prev = 0, n = 0;

		for (i = 0; i < (size_t)b.nevs; i++) {
			if (b.evs[i].kind != RTMP_CONN_EV_ACK_SENT)
				continue;
			CU_ASSERT(b.evs[i].value - prev >= 5000);
			CU_ASSERT(b.evs[i].value - prev < 5000 + 333);
			prev = b.evs[i].value;
			n++;
		}
		CU_ASSERT(b.c.st.bytes_in - prev < 5000 + 333); /* none missed */
		CU_ASSERT(n >= 3);
	}
	CU_ASSERT_EQUAL(b.c.st.bytes_in, a.c.st.bytes_out);

	/* back to a: the window answer, the acks, the ping response */
	CU_ASSERT_EQUAL(pump(&b, &a, 1), 0);
	CU_ASSERT_EQUAL(a.nmsgs, 0);
	e = find_ev(&a, RTMP_CONN_EV_PING_RESPONSE, 0);
	CU_ASSERT(e >= 0 && a.evs[e].value == 777);
	e = find_ev(&a, RTMP_CONN_EV_WINDOW, 0);
	CU_ASSERT(e >= 0 && a.evs[e].value == 2500000);
	CU_ASSERT(find_ev(&a, RTMP_CONN_EV_ACK, 2) >= 0);
	e = find_ev(&b, RTMP_CONN_EV_ACK_SENT, 2);
	CU_ASSERT(e >= 0 && a.c.st.peer_acked == b.evs[e].value);
	side_fini(&a);
	side_fini(&b);
}

/* The chunk layer continues in another instance with the exported state. */
static void test_handover(void)
{
	struct side a, b, b2;
	struct rtmp_conn_state st;
	uint8_t p[3000];
	struct rtmp_msg m = { 5, sizeof(p), 1, 0, RTMP_MSG_AUDIO, p };

	memset(p, 0x77, sizeof(p));
	side_init(&a, NULL);
	side_init(&b, NULL);
	rtmp_conn_set_chunk_size(&a.c, 8192);
	rtmp_conn_send_window(&a.c, 1000000);
	CU_ASSERT_EQUAL(a.out_len, 16 + 12); /* fmt 0, then fmt 1 on csid 2 */
	pump(&a, &b, 1 << 20);
	rtmp_conn_get_state(&b.c, &st);
	CU_ASSERT_EQUAL(st.in_chunk_size, 8192);
	CU_ASSERT_EQUAL(st.in_window, 1000000);
	CU_ASSERT_EQUAL(st.bytes_in, 28);
	side_init(&b2, &st);
	CU_ASSERT_EQUAL(b2.c.rd.chunk_size, 8192);
	rtmp_conn_send(&a.c, &m);
	CU_ASSERT_EQUAL(a.out_len, 12 + sizeof(p)); /* one chunk at 8192 */
	CU_ASSERT_EQUAL(pump(&a, &b2, 1 << 20), 0);
	CU_ASSERT_EQUAL_FATAL(b2.nmsgs, 1);
	CU_ASSERT_EQUAL(b2.msgs[0].length, sizeof(p));
	CU_ASSERT_EQUAL(b2.msg_data[0][2999], 0x77);
	CU_ASSERT_EQUAL(b2.c.st.bytes_in, 28 + 12 + sizeof(p));
	side_fini(&a);
	side_fini(&b);
	side_fini(&b2);
}

static void test_errors(void)
{
	struct side a, b;
	uint8_t shortbody[2] = { 0, 0 };
	struct rtmp_msg bad = { 0, 2, 0, 2, RTMP_MSG_WINDOW_ACK_SIZE, shortbody };
	uint8_t x[4] = { 1, 2, 3, 4 };
	struct rtmp_msg ok = { 0, 4, 1, 0, RTMP_MSG_DATA_AMF0, x };
	struct rtmp_conn_config cfg;

	side_init(&a, NULL);
	side_init(&b, NULL);
	rtmp_conn_send(&a.c, &bad);
	CU_ASSERT_EQUAL(pump(&a, &b, 100), -RTMP_E_CTL_MALFORMED);
	CU_ASSERT_EQUAL(rtmp_conn_input(&b.c, x, 1), -RTMP_E_CTL_MALFORMED); /* sticky */
	side_fini(&b);
	side_init(&b, NULL);
	rtmp_conn_note_out(&a.c, 0, 1); /* fresh peer: full headers again */
	b.fail_msg = -ECONNRESET;
	rtmp_conn_send(&a.c, &ok);
	CU_ASSERT_EQUAL(pump(&a, &b, 100), -ECONNRESET);
	side_fini(&b);
	side_init(&b, NULL);
	rtmp_conn_note_out(&a.c, 0, 1);
	b.fail_msg = 5; /* positive: go on */
	rtmp_conn_send(&a.c, &ok);
	CU_ASSERT_EQUAL(pump(&a, &b, 100), 0);
	side_fini(&a);
	side_fini(&b);
	memset(&cfg, 0, sizeof(cfg));
	CU_ASSERT_EQUAL(rtmp_conn_init(&a.c, &cfg), -EINVAL);
}

static void test_ctl_bytes(void)
{
	uint8_t b[RTMP_CTL_BODY_MAX];
	struct rtmp_ctl c;

	CU_ASSERT_EQUAL(rtmp_ctl_set_chunk_size(b, sizeof(b), 4096), 4);
	CU_ASSERT_EQUAL(memcmp(b, "\x00\x00\x10\x00", 4), 0);
	CU_ASSERT_EQUAL(rtmp_ctl_set_chunk_size(b, sizeof(b), 0), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_ctl_set_peer_bw(b, sizeof(b), 2500000, RTMP_BW_DYNAMIC), 5);
	CU_ASSERT_EQUAL(memcmp(b, "\x00\x26\x25\xa0\x02", 5), 0);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_SET_PEER_BW, b, 5, &c), 0);
	CU_ASSERT_EQUAL(c.value, 2500000);
	CU_ASSERT_EQUAL(c.limit, RTMP_BW_DYNAMIC);
	b[4] = 3;
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_SET_PEER_BW, b, 5, &c), -RTMP_E_CTL_MALFORMED);
	CU_ASSERT_EQUAL(rtmp_ctl_user(b, sizeof(b), RTMP_UC_STREAM_BEGIN, 1), 6);
	CU_ASSERT_EQUAL(memcmp(b, "\x00\x00\x00\x00\x00\x01", 6), 0);
	CU_ASSERT_EQUAL(rtmp_ctl_set_buffer_length(b, sizeof(b), 1, 3000), 10);
	CU_ASSERT_EQUAL(memcmp(b, "\x00\x03\x00\x00\x00\x01\x00\x00\x0b\xb8", 10), 0);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_USER_CONTROL, b, 10, &c), 0);
	CU_ASSERT_EQUAL(c.event, RTMP_UC_SET_BUFFER_LENGTH);
	CU_ASSERT_EQUAL(c.value, 1);
	CU_ASSERT_EQUAL(c.value2, 3000);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_USER_CONTROL, b, 9, &c), -RTMP_E_CTL_MALFORMED);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_USER_CONTROL, b, 1, &c), -RTMP_E_CTL_MALFORMED);
	CU_ASSERT_EQUAL(rtmp_ctl_ack(b, 3, 1), -ENOSPC);
	CU_ASSERT_EQUAL(rtmp_ctl_ack(b, 4, 0x01020304), 4);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_ACK, b, 4, &c), 0);
	CU_ASSERT_EQUAL(c.value, 0x01020304);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_ACK, b, 3, &c), -RTMP_E_CTL_MALFORMED);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(RTMP_MSG_AUDIO, b, 4, &c), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_ctl_abort(b, 4, 6), 4);
	CU_ASSERT_EQUAL(rtmp_ctl_window_ack_size(b, 4, 2500000), 4);
	CU_ASSERT_EQUAL(memcmp(b, "\x00\x26\x25\xa0", 4), 0);
}

/* Every short prefix of every control body, before a guard page, is a typed
 * error; the full body parses. */
static void test_ctl_truncation(void)
{
	uint8_t b[6][RTMP_CTL_BODY_MAX];
	static const uint8_t types[6] = { RTMP_MSG_SET_CHUNK_SIZE, RTMP_MSG_ABORT, RTMP_MSG_ACK,
					  RTMP_MSG_WINDOW_ACK_SIZE, RTMP_MSG_SET_PEER_BW,
					  RTMP_MSG_USER_CONTROL };
	int len[6], t, cut;

	len[0] = rtmp_ctl_set_chunk_size(b[0], RTMP_CTL_BODY_MAX, 4096);
	len[1] = rtmp_ctl_abort(b[1], RTMP_CTL_BODY_MAX, 4);
	len[2] = rtmp_ctl_ack(b[2], RTMP_CTL_BODY_MAX, 99);
	len[3] = rtmp_ctl_window_ack_size(b[3], RTMP_CTL_BODY_MAX, 5000);
	len[4] = rtmp_ctl_set_peer_bw(b[4], RTMP_CTL_BODY_MAX, 5000, RTMP_BW_SOFT);
	len[5] = rtmp_ctl_user(b[5], RTMP_CTL_BODY_MAX, RTMP_UC_PING_REQUEST, 1234);
	for (t = 0; t < 6; t++) {
		for (cut = 0; cut <= len[t]; cut++) {
			struct rtmp_guard g;
			const uint8_t *in = rtmp_guard_place(&g, b[t], (size_t)cut);
			struct rtmp_ctl c;
			int rc;

			CU_ASSERT_PTR_NOT_NULL_FATAL(in);
			rc = rtmp_ctl_parse(types[t], in, (size_t)cut, &c);
			CU_ASSERT_EQUAL(rc, cut < len[t] ? -RTMP_E_CTL_MALFORMED : 0);
			if (cut == len[t])
				CU_ASSERT(c.value == 4096 || c.value == 4 || c.value == 99 ||
					  c.value == 5000 || c.value == 1234);
			rtmp_guard_release(&g);
		}
	}
}

int test_rtmp_conn_register(void)
{
	CU_pSuite s = CU_add_suite("rtmp_conn", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "back to back", test_back_to_back) ||
	    !CU_add_test(s, "hand-over", test_handover) ||
	    !CU_add_test(s, "errors", test_errors) ||
	    !CU_add_test(s, "control bytes", test_ctl_bytes) ||
	    !CU_add_test(s, "control truncation", test_ctl_truncation))
		return -1;
	return 0;
}
