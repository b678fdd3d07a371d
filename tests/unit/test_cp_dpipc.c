/* cp_dpipc: the control plane's side of the dataplane IPC, against a fake
 * dataplane speaking dataplane/dp_ipc_proto.h on a real SEQPACKET socket:
 * HELLO, handshake relay and handover, the command flow as SESSION_MSGs,
 * publish/attach ordering, archive copies, grace -> STREAM_END, reconnect
 * with resync, timeouts, bad datagrams and fragmentation both ways. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "controlplane/cp_dpipc.h"
#include "controlplane/cp_dpipc_link.h"
#include "dataplane/dp_ipc_proto.h"
#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_handshake.h"

/* One received message, payload copied. */
struct rx {
	struct dp_ipc_hdr h;
	uint8_t *p;
	size_t len;
};

struct arch_rec {
	unsigned msgs;
	uint8_t type;
	uint32_t ts;
	size_t len;
	uint8_t first;
};

/* The fake dataplane plus the control plane under test. */
struct bed {
	char path[108];
	int lfd, fd;
	struct dp_ipc_reasm ra;
	uint8_t buf[DP_IPC_FRAG_MAX + 1];
	uv_loop_t loop;
	struct cp_rtmp_conf conf;
	struct cp_keytab keys;
	struct cp_engine eng;
	struct cp_dpipc *d;
	struct arch_rec ar;
	int keep_info;             /* 0: the periodic SESSION_INFO_REQ is skipped */
	unsigned info_reqs;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_loop(struct bed *b)
{
	uv_run(&b->loop, UV_RUN_NOWAIT);
}

static void on_state(void *arg, struct cp_stream *s, int live)
{
	cp_dpipc_stream_state(arg, s, live);
}

static void on_arch(void *arg, const struct cp_stream *s, uint8_t type, uint32_t ts,
		    const uint8_t *p, size_t len)
{
	struct arch_rec *a = arg;
	a->msgs++;
	a->type = type;
	a->ts = ts;
	a->len = len;
	a->first = len ? p[0] : 0;
}

static int accept_cp(struct bed *b, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (mono_ms() < end) {
		run_loop(b);
		int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd >= 0) {
			b->fd = fd;
			return 0;
		}
		usleep(2000);
	}
	return -1;
}

static void bed_up(struct bed *b, uint64_t grace_ms, uint64_t hs_timeout_ms)
{
	char err[256];
	memset(b, 0, sizeof(*b));
	snprintf(b->path, sizeof(b->path), "/tmp/lc-test-dpipc-%d.sock", (int)getpid());
	unlink(b->path);
	b->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", b->path);
	CU_ASSERT_FATAL(bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(listen(b->lfd, 4) == 0);
	b->fd = -1;
	dp_ipc_reasm_init(&b->ra, 0);
	CU_ASSERT_FATAL(uv_loop_init(&b->loop) == 0);
	CU_ASSERT_FATAL(cp_rtmp_conf_load(NULL, &b->conf, err, sizeof(err)) == 0);
	b->conf.publish_grace_ms = grace_ms;
	b->conf.handshake_timeout_ms = hs_timeout_ms;
	CU_ASSERT_FATAL(cp_keytab_add(&b->keys, "alice", "secret-a") == 0);
	struct cp_engine_hooks hooks = { NULL, on_arch, &b->ar };
	cp_engine_init(&b->eng, &b->conf, &b->keys, &hooks);
	b->d = cp_dpipc_create(&b->loop, &b->eng, b->path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b->d);
	cp_engine_set_state_hook(&b->eng, on_state, b->d);
	CU_ASSERT_FATAL(accept_cp(b, 2000) == 0);
}

static void bed_down(struct bed *b)
{
	cp_dpipc_destroy(b->d);
	while (uv_run(&b->loop, UV_RUN_DEFAULT) != 0)
		;
	cp_engine_fini(&b->eng);
	CU_ASSERT_EQUAL(uv_loop_close(&b->loop), 0);
	cp_keytab_free(&b->keys);
	dp_ipc_reasm_fini(&b->ra);
	if (b->fd >= 0)
		close(b->fd);
	close(b->lfd);
	unlink(b->path);
}

/* Send a message as the dataplane does (fragmented when large). */
static void dp_send(struct bed *b, uint16_t type, uint64_t sess, uint64_t stream,
		    const void *fixed, size_t flen, const void *var, size_t vlen)
{
	size_t total = flen + vlen;
	uint8_t *all = malloc(total + 1);
	if (flen)
		memcpy(all, fixed, flen);
	if (vlen)
		memcpy(all + flen, var, vlen);
	struct dp_ipc_hdr whole, fh;
	dp_ipc_hdr_init(&whole, type, sess, stream, (uint32_t)total);
	size_t off = 0;
	do {
		dp_ipc_frag_hdr(&fh, &whole, total, off);
		uint8_t *dg = malloc(DP_IPC_HDR_LEN + fh.len);
		memcpy(dg, &fh, DP_IPC_HDR_LEN);
		memcpy(dg + DP_IPC_HDR_LEN, all + off, fh.len);
		ssize_t w;
		while ((w = send(b->fd, dg, DP_IPC_HDR_LEN + fh.len, MSG_NOSIGNAL)) < 0 &&
		       errno == EAGAIN)
			run_loop(b);
		CU_ASSERT_EQUAL(w, (ssize_t)(DP_IPC_HDR_LEN + fh.len));
		free(dg);
		off += fh.len;
	} while (off < total);
	free(all);
}

/* Next whole message from the control plane within ms, or 0. */
static int dp_recv(struct bed *b, struct rx *out, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	memset(out, 0, sizeof(*out));
	while (mono_ms() < end) {
		run_loop(b);
		ssize_t n = recv(b->fd, b->buf, sizeof(b->buf), MSG_DONTWAIT);
		if (n <= 0) {
			if (n == 0)
				return 0;
			struct pollfd p = { b->fd, POLLIN, 0 };
			poll(&p, 1, 2);
			continue;
		}
		struct dp_ipc_hdr h;
		const uint8_t *pl;
		size_t plen;
		if (dp_ipc_hdr_parse(b->buf, (size_t)n, &h) != 0)
			return 0;
		int rc = dp_ipc_reasm_push(&b->ra, &h, b->buf + DP_IPC_HDR_LEN, &out->h, &pl, &plen);
		if (rc < 0)
			return 0;
		if (rc == 1 && out->h.type == DP_IPC_SESSION_INFO_REQ && !b->keep_info) {
			b->info_reqs++;
			continue;
		}
		if (rc == 1) {
			out->p = malloc(plen + 1);
			memcpy(out->p, pl, plen);
			out->len = plen;
			return 1;
		}
	}
	return 0;
}

/* Next message, which must be of type; returns it (caller frees p). */
static struct rx expect(struct bed *b, uint16_t type)
{
	struct rx r;
	int got = dp_recv(b, &r, 2000);
	CU_ASSERT_EQUAL(got, 1);
	CU_ASSERT_EQUAL(r.h.type, type);
	if (got && r.h.type != type)
		fprintf(stderr, "expected %s, got %s\n", dp_ipc_type_name(type),
			dp_ipc_type_name(r.h.type));
	return r;
}

static void expect_none(struct bed *b, int ms)
{
	struct rx r;
	int got = dp_recv(b, &r, ms);
	CU_ASSERT_EQUAL(got, 0);
	if (got)
		fprintf(stderr, "unexpected %s\n", dp_ipc_type_name(r.h.type));
	free(r.p);
}

/* A SESSION_MSG: its RTMP type, and for commands the parsed command. */
static uint8_t expect_msg(struct bed *b, uint64_t sess, char *code, size_t codecap,
			  double *stream_id)
{
	struct rx r = expect(b, DP_IPC_SESSION_MSG);
	struct dp_ipc_msg m;
	const uint8_t *rest = NULL;
	size_t rlen = 0;
	uint8_t type = 0;
	CU_ASSERT_EQUAL(r.h.session, sess);
	if (r.h.type == DP_IPC_SESSION_MSG &&
	    dp_ipc_decode(r.h.type, r.p, r.len, &m, sizeof(m), &rest, &rlen) == 0) {
		type = m.type;
		if (code)
			code[0] = '\0';
		if (m.type == RTMP_MSG_COMMAND_AMF0) {
			struct rtmp_amf0_node nodes[64];
			struct rtmp_amf0_arena a;
			struct rtmp_cmd c;
			rtmp_amf0_arena_init(&a, nodes, 64);
			CU_ASSERT_EQUAL(rtmp_cmd_parse(m.type, rest, rlen, &a, &c), 0);
			if (code && c.code.ptr)
				snprintf(code, codecap, "%.*s", (int)c.code.len, c.code.ptr);
			if (code && !c.code.ptr)
				snprintf(code, codecap, "%.*s", (int)c.name.len, c.name.ptr);
			if (stream_id)
				*stream_id = c.stream_id;
		}
	}
	free(r.p);
	return type;
}

static void hello(struct bed *b)
{
	struct rx r = expect(b, DP_IPC_HELLO);
	struct dp_ipc_hello h;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &h, sizeof(h), NULL, NULL), 0);
	CU_ASSERT_EQUAL(h.version, DP_IPC_VERSION);
	CU_ASSERT_EQUAL(h.pid, (uint32_t)getpid());
	free(r.p);
	struct dp_ipc_hello_ack a = { DP_IPC_VERSION, 2, 0, 4096, 0, 0xB007 };
	dp_send(b, DP_IPC_HELLO_ACK, 0, 0, &a, sizeof(a), NULL, 0);
}

static int rnd(void *ctx, uint8_t *p, size_t n)
{
	return getrandom(p, n, 0) == (ssize_t)n ? 0 : -EIO;
}

/* Open session id and run a client handshake through the control plane;
 * `extra` bytes follow C2 and must come back in the HANDOVER. */
static void open_session(struct bed *b, uint64_t id)
{
	struct dp_ipc_session_open o = { 0, 40000, 1935, 0, htonl(0xC6120001), htonl(0xC6120002) };
	dp_send(b, DP_IPC_SESSION_OPEN, id, 0, &o, sizeof(o), NULL, 0);
	struct rtmp_hs hs;
	struct rtmp_hs_config cfg = { .rand = rnd, .digest = 1 };
	uint8_t c01[RTMP_HS_OUT_MAX], out[RTMP_HS_OUT_MAX];
	CU_ASSERT_FATAL(rtmp_hs_client_init(&hs, &cfg) == 0);
	int n = rtmp_hs_client_start(&hs, c01, sizeof(c01));
	CU_ASSERT_FATAL(n == 1 + RTMP_HS_SIZE);
	/* split C0C1 in two to exercise partial feeding */
	dp_send(b, DP_IPC_SESSION_DATA, id, 0, c01, 700, NULL, 0);
	dp_send(b, DP_IPC_SESSION_DATA, id, 0, c01 + 700, (size_t)n - 700, NULL, 0);
	struct rx r = expect(b, DP_IPC_SESSION_DATA);
	CU_ASSERT_EQUAL(r.h.session, id);
	CU_ASSERT_EQUAL(r.len, 1 + 2 * RTMP_HS_SIZE);
	size_t olen = 0;
	int used = rtmp_hs_feed(&hs, r.p, r.len, out, sizeof(out), &olen);
	free(r.p);
	CU_ASSERT_EQUAL(used, 1 + 2 * RTMP_HS_SIZE);
	CU_ASSERT_FATAL(rtmp_hs_done(&hs) && olen == RTMP_HS_SIZE);
	CU_ASSERT(hs.peer_digest); /* the server answered the digest scheme */
	const uint8_t extra[] = { 0x03, 0xAA, 0xBB, 0xCC, 0xDD };
	dp_send(b, DP_IPC_SESSION_DATA, id, 0, out, olen, extra, sizeof(extra));
	r = expect(b, DP_IPC_SESSION_HANDOVER);
	struct dp_ipc_handover ho;
	const uint8_t *rest;
	size_t rlen;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &ho, sizeof(ho), &rest, &rlen), 0);
	CU_ASSERT_EQUAL(ho.in_chunk_size, 128);
	CU_ASSERT_EQUAL(ho.out_chunk_size, 128);
	CU_ASSERT_EQUAL(ho.bytes_in, 1 + 2 * RTMP_HS_SIZE);
	CU_ASSERT_EQUAL(rlen, sizeof(extra));
	CU_ASSERT(rlen == sizeof(extra) && memcmp(rest, extra, rlen) == 0);
	free(r.p);
}

static void send_cmd(struct bed *b, uint64_t id, const uint8_t *body, int len, uint32_t msid)
{
	CU_ASSERT_FATAL(len > 0);
	struct dp_ipc_msg m = { RTMP_MSG_COMMAND_AMF0, { 0 }, 0, msid, 3 };
	dp_send(b, DP_IPC_SESSION_MSG, id, 0, &m, sizeof(m), body, (size_t)len);
}

/* The next SESSION_MSG must be Set Chunk Size; returns its value. */
static uint32_t expect_chunk_size(struct bed *b, uint64_t sess)
{
	struct rx r = expect(b, DP_IPC_SESSION_MSG);
	struct dp_ipc_msg m;
	const uint8_t *rest = NULL;
	size_t rlen = 0;
	struct rtmp_ctl c = { 0 };
	CU_ASSERT_EQUAL(r.h.session, sess);
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &m, sizeof(m), &rest, &rlen), 0);
	CU_ASSERT_EQUAL(m.type, RTMP_MSG_SET_CHUNK_SIZE);
	CU_ASSERT_EQUAL(m.csid, 2);
	CU_ASSERT_EQUAL(m.msid, 0);
	CU_ASSERT_EQUAL(rtmp_ctl_parse(m.type, rest, rlen, &c), 0);
	free(r.p);
	return c.value;
}

/* connect + createStream; checks the replies' order and types. Set Chunk
 * Size carries the dataplane's chunk size (4096 in every HELLO_ACK here). */
static void connect_app(struct bed *b, uint64_t id, const char *app)
{
	uint8_t buf[512];
	char code[128];
	struct rtmp_connect_params cp = { .app = app, .tc_url = "rtmp://198.18.0.2/x" };
	send_cmd(b, id, buf, rtmp_cmd_build_connect(buf, sizeof(buf), 1, &cp), 0);
	CU_ASSERT_EQUAL(expect_msg(b, id, NULL, 0, NULL), RTMP_MSG_WINDOW_ACK_SIZE);
	CU_ASSERT_EQUAL(expect_msg(b, id, NULL, 0, NULL), RTMP_MSG_SET_PEER_BW);
	CU_ASSERT_EQUAL(expect_chunk_size(b, id), 4096);
	CU_ASSERT_EQUAL(expect_msg(b, id, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetConnection.Connect.Success");
	send_cmd(b, id, buf, rtmp_cmd_build_create_stream(buf, sizeof(buf), 2), 0);
	double sid = 0;
	CU_ASSERT_EQUAL(expect_msg(b, id, code, sizeof(code), &sid), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_EQUAL(sid, 1);
}

/* publish NAME: SESSION_PUBLISH must precede Publish.Start. Returns the
 * stream id. */
static uint64_t publish(struct bed *b, uint64_t id, const char *app, const char *name)
{
	uint8_t buf[256];
	char code[128];
	send_cmd(b, id, buf, rtmp_cmd_build_publish(buf, sizeof(buf), 0, name, RTMP_PUBLISH_LIVE),
		 1);
	struct rx r = expect(b, DP_IPC_SESSION_PUBLISH);
	struct dp_ipc_publish p;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &p, sizeof(p), NULL, NULL), 0);
	CU_ASSERT_EQUAL(r.h.session, id);
	CU_ASSERT_STRING_EQUAL(p.app, app);
	CU_ASSERT_EQUAL(p.msid, 1);
	CU_ASSERT_NOT_EQUAL(r.h.stream, 0);
	uint64_t sid = r.h.stream;
	free(r.p);
	CU_ASSERT_EQUAL(expect_msg(b, id, NULL, 0, NULL), RTMP_MSG_USER_CONTROL);
	CU_ASSERT_EQUAL(expect_msg(b, id, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Publish.Start");
	return sid;
}

/* play NAME: preamble as SESSION_MSGs, then SESSION_ATTACH on msid 1. */
static uint64_t play(struct bed *b, uint64_t id, const char *name)
{
	uint8_t buf[256];
	char code[128];
	send_cmd(b, id, buf, rtmp_cmd_build_play(buf, sizeof(buf), 0, name, -2, -1, -1), 1);
	CU_ASSERT_EQUAL(expect_msg(b, id, NULL, 0, NULL), RTMP_MSG_USER_CONTROL);
	CU_ASSERT_EQUAL(expect_msg(b, id, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Play.Reset");
	CU_ASSERT_EQUAL(expect_msg(b, id, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Play.Start");
	CU_ASSERT_EQUAL(expect_msg(b, id, NULL, 0, NULL), RTMP_MSG_DATA_AMF0);
	struct rx r = expect(b, DP_IPC_SESSION_ATTACH);
	struct dp_ipc_attach a;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &a, sizeof(a), NULL, NULL), 0);
	CU_ASSERT_EQUAL(a.msid, 1);
	uint64_t sid = r.h.stream;
	free(r.p);
	return sid;
}

static void dp_close(struct bed *b, uint64_t id)
{
	struct dp_ipc_close c;
	memset(&c, 0, sizeof(c));
	dp_ipc_str_set(c.text, sizeof(c.text), "peer closed");
	dp_send(b, DP_IPC_SESSION_CLOSE, id, 0, &c, sizeof(c), NULL, 0);
}

static void wait_ms(struct bed *b, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (mono_ms() < end) {
		run_loop(b);
		usleep(2000);
	}
}

static void test_flow(void)
{
	struct bed b;
	char code[128];
	bed_up(&b, 300, 5000);
	hello(&b);
	struct dp_ipc_resync_done done = { 0, 0 };
	dp_send(&b, DP_IPC_RESYNC_DONE, 0, 0, &done, sizeof(done), NULL, 0);
	run_loop(&b);
	struct cp_dpipc_stats st;
	cp_dpipc_get_stats(b.d, &st);
	CU_ASSERT_EQUAL(st.ready, 1);
	CU_ASSERT_EQUAL(st.dp_workers, 2);
	CU_ASSERT_EQUAL(st.resyncs, 1);

	open_session(&b, 101);
	connect_app(&b, 101, "test");
	uint64_t sid = publish(&b, 101, "test", "demo");
	CU_ASSERT_EQUAL(b.eng.publishers_now, 1);

	open_session(&b, 202);
	connect_app(&b, 202, "test");
	CU_ASSERT_EQUAL(play(&b, 202, "demo"), sid);
	CU_ASSERT_EQUAL(b.eng.viewers_now, 1);

	/* archive copy: reaches the engine hook with the stream clock ts */
	struct dp_ipc_archive ar = { RTMP_MSG_VIDEO, DP_IPC_AR_KEYFRAME, 0, 1234, 0, 0 };
	uint8_t frame[3000];
	memset(frame, 0x5A, sizeof(frame));
	frame[0] = 0x17;
	dp_send(&b, DP_IPC_ARCHIVE_MSG, 0, sid, &ar, sizeof(ar), frame, sizeof(frame));
	wait_ms(&b, 20);
	CU_ASSERT_EQUAL(b.ar.msgs, 1);
	CU_ASSERT_EQUAL(b.ar.type, RTMP_MSG_VIDEO);
	CU_ASSERT_EQUAL(b.ar.ts, 1234);
	CU_ASSERT_EQUAL(b.ar.len, sizeof(frame));
	CU_ASSERT_EQUAL(b.ar.first, 0x17);
	/* unknown stream: dropped */
	dp_send(&b, DP_IPC_ARCHIVE_MSG, 0, sid + 99, &ar, sizeof(ar), frame, 10);
	wait_ms(&b, 20);
	CU_ASSERT_EQUAL(b.ar.msgs, 1);

	/* publisher gone: grace, then UnpublishNotify to the viewer and
	 * STREAM_END to the dataplane */
	dp_close(&b, 101);
	expect_none(&b, 150);
	CU_ASSERT_EQUAL(b.eng.publishers_now, 0);
	CU_ASSERT_EQUAL(expect_msg(&b, 202, NULL, 0, NULL), RTMP_MSG_USER_CONTROL); /* StreamEOF */
	CU_ASSERT_EQUAL(expect_msg(&b, 202, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Play.UnpublishNotify");
	struct rx r = expect(&b, DP_IPC_STREAM_STATE);
	struct dp_ipc_stream_state ss;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &ss, sizeof(ss), NULL, NULL), 0);
	CU_ASSERT_EQUAL(r.h.stream, sid);
	CU_ASSERT_EQUAL(ss.state, DP_IPC_STREAM_ENDED);
	CU_ASSERT_EQUAL(ss.viewers, 1);
	free(r.p);

	/* a new publisher of the same name: same stream id (viewer kept it),
	 * the waiting viewer gets PublishNotify */
	open_session(&b, 303);
	connect_app(&b, 303, "test");
	uint8_t buf[256];
	send_cmd(&b, 303, buf, rtmp_cmd_build_publish(buf, sizeof(buf), 0, "demo", RTMP_PUBLISH_LIVE),
		 1);
	r = expect(&b, DP_IPC_SESSION_MSG); /* PublishNotify to 202 comes first */
	CU_ASSERT_EQUAL(r.h.session, 202);
	free(r.p);
	r = expect(&b, DP_IPC_SESSION_PUBLISH);
	CU_ASSERT_EQUAL(r.h.stream, sid);
	free(r.p);
	CU_ASSERT_EQUAL(expect_msg(&b, 303, NULL, 0, NULL), RTMP_MSG_USER_CONTROL);
	CU_ASSERT_EQUAL(expect_msg(&b, 303, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Publish.Start");

	/* a second publisher of a live open name is refused and closed */
	open_session(&b, 404);
	connect_app(&b, 404, "test");
	send_cmd(&b, 404, buf, rtmp_cmd_build_publish(buf, sizeof(buf), 0, "demo", RTMP_PUBLISH_LIVE),
		 1);
	CU_ASSERT_EQUAL(expect_msg(&b, 404, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Publish.BadName");
	r = expect(&b, DP_IPC_SESSION_CLOSE);
	CU_ASSERT_EQUAL(r.h.session, 404);
	free(r.p);
	dp_close(&b, 404);

	/* viewer stops: DETACH */
	send_cmd(&b, 202, buf, rtmp_cmd_build_delete_stream(buf, sizeof(buf), 0, 1), 1);
	r = expect(&b, DP_IPC_SESSION_DETACH);
	CU_ASSERT_EQUAL(r.h.session, 202);
	free(r.p);
	CU_ASSERT_EQUAL(b.eng.viewers_now, 0);
	bed_down(&b);
}

static void test_keyed_and_timeouts(void)
{
	struct bed b;
	char code[128];
	uint8_t buf[256];
	bed_up(&b, 300, 300);
	b.conf.chunk_size = 8192; /* differs from the dataplane's: its size wins */
	hello(&b);
	/* keyed app: wrong key refused, the secret publishes the channel */
	open_session(&b, 7);
	connect_app(&b, 7, "live");
	send_cmd(&b, 7, buf, rtmp_cmd_build_publish(buf, sizeof(buf), 0, "nope", RTMP_PUBLISH_LIVE), 1);
	CU_ASSERT_EQUAL(expect_msg(&b, 7, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	CU_ASSERT_STRING_EQUAL(code, "NetStream.Publish.BadName");
	struct rx r = expect(&b, DP_IPC_SESSION_CLOSE);
	free(r.p);
	open_session(&b, 8);
	connect_app(&b, 8, "live");
	send_cmd(&b, 8, buf,
		 rtmp_cmd_build_publish(buf, sizeof(buf), 0, "secret-a", RTMP_PUBLISH_LIVE), 1);
	r = expect(&b, DP_IPC_SESSION_PUBLISH);
	struct dp_ipc_publish p;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &p, sizeof(p), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(p.name, "alice"); /* the channel, never the secret */
	free(r.p);
	expect_msg(&b, 8, NULL, 0, NULL);
	expect_msg(&b, 8, NULL, 0, NULL);
	/* handshake timeout: an open session that sends nothing is closed */
	struct dp_ipc_session_open o = { 0, 1, 1935, 0, 0, 0 };
	dp_send(&b, DP_IPC_SESSION_OPEN, 9, 0, &o, sizeof(o), NULL, 0);
	uint64_t t0 = mono_ms();
	r = expect(&b, DP_IPC_SESSION_CLOSE);
	CU_ASSERT_EQUAL(r.h.session, 9);
	CU_ASSERT(mono_ms() - t0 >= 200);
	free(r.p);
	/* a bad handshake version closes at once */
	uint8_t bad[1537] = { 9 };
	dp_send(&b, DP_IPC_SESSION_OPEN, 10, 0, &o, sizeof(o), NULL, 0);
	dp_send(&b, DP_IPC_SESSION_DATA, 10, 0, bad, sizeof(bad), NULL, 0);
	r = expect(&b, DP_IPC_SESSION_CLOSE);
	CU_ASSERT_EQUAL(r.h.session, 10);
	free(r.p);
	struct cp_dpipc_stats st;
	cp_dpipc_get_stats(b.d, &st);
	CU_ASSERT_EQUAL(st.hs_timeouts, 1);
	CU_ASSERT_EQUAL(st.hs_failures, 1);
	bed_down(&b);
}

static void resync_session(struct bed *b, uint64_t id, uint8_t role, uint64_t stream,
			   const char *app, const char *name)
{
	struct dp_ipc_resync_session r;
	memset(&r, 0, sizeof(r));
	r.role = role;
	r.msid = 1;
	r.attached = role == DP_IPC_ROLE_VIEWER;
	r.stream = stream;
	dp_ipc_str_set(r.app, sizeof(r.app), app);
	dp_ipc_str_set(r.name, sizeof(r.name), name);
	dp_send(b, DP_IPC_RESYNC_SESSION, id, 0, &r, sizeof(r), NULL, 0);
}

static void test_reconnect_resync(void)
{
	struct bed b;
	char code[128];
	uint8_t buf[256];
	bed_up(&b, 5000, 5000);
	hello(&b);
	/* the dataplane restarts its side: the control plane reconnects */
	close(b.fd);
	b.fd = -1;
	CU_ASSERT_FATAL(accept_cp(&b, 3000) == 0);
	hello(&b);
	const uint64_t sid = 77;
	struct dp_ipc_resync_stream rs;
	memset(&rs, 0, sizeof(rs));
	rs.state = DP_IPC_STREAM_LIVE;
	rs.viewers = 1;
	rs.publisher = 1001;
	dp_ipc_str_set(rs.app, sizeof(rs.app), "test");
	dp_ipc_str_set(rs.name, sizeof(rs.name), "kept");
	/* viewer listed before its publisher: order must not matter */
	resync_session(&b, 1002, DP_IPC_ROLE_VIEWER, sid, "test", "kept");
	resync_session(&b, 1001, DP_IPC_ROLE_PUBLISHER, sid, "test", "kept");
	resync_session(&b, 1003, DP_IPC_ROLE_NONE, 0, "test", "");
	dp_send(&b, DP_IPC_RESYNC_STREAM, 0, sid, &rs, sizeof(rs), NULL, 0);
	struct dp_ipc_resync_done done = { 3, 1 };
	dp_send(&b, DP_IPC_RESYNC_DONE, 0, 0, &done, sizeof(done), NULL, 0);
	/* nothing goes to the clients: they never noticed */
	expect_none(&b, 100);
	CU_ASSERT_EQUAL(b.eng.publishers_now, 1);
	CU_ASSERT_EQUAL(b.eng.viewers_now, 1);
	struct cp_stream *st = cp_registry_find_id(&b.eng.reg, sid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(st->live);
	CU_ASSERT_EQUAL(st->nviewers, 1);
	/* a new viewer joins the resynced stream */
	open_session(&b, 1004);
	connect_app(&b, 1004, "test");
	CU_ASSERT_EQUAL(play(&b, 1004, "kept"), sid);
	/* the resynced (already connected) session can still publish */
	send_cmd(&b, 1003, buf, rtmp_cmd_build_create_stream(buf, sizeof(buf), 5), 0);
	CU_ASSERT_EQUAL(expect_msg(&b, 1003, code, sizeof(code), NULL), RTMP_MSG_COMMAND_AMF0);
	uint64_t sid2 = publish(&b, 1003, "test", "fresh");
	CU_ASSERT(sid2 > sid); /* new ids never collide with the dataplane's */
	/* new streams get ids above every earlier process's */
	CU_ASSERT(sid2 > ((uint64_t)time(NULL) - 5) << 24);
	/* the resynced publisher leaves: grace runs here */
	dp_close(&b, 1001);
	wait_ms(&b, 20);
	CU_ASSERT_EQUAL(b.eng.publishers_now, 1);
	CU_ASSERT(st->live && !st->publisher);
	struct cp_dpipc_stats s;
	cp_dpipc_get_stats(b.d, &s);
	CU_ASSERT_EQUAL(s.resync_sessions, 3);
	CU_ASSERT_EQUAL(s.resync_streams, 1);
	CU_ASSERT_EQUAL(s.resync_failures, 0);
	bed_down(&b);
}

struct stats_ctx {
	size_t got;
	char first, last;
};

static void stats_cb(void *arg, const char *j, size_t len)
{
	struct stats_ctx *c = arg;
	c->got = j ? len : 0;
	if (j && len) {
		c->first = j[0];
		c->last = j[len - 1];
	}
}

static void test_link_robustness(void)
{
	struct bed b;
	bed_up(&b, 300, 5000);
	hello(&b);
	/* garbage datagram: skipped, link stays */
	uint8_t junk[40];
	memset(junk, 0xEE, sizeof(junk));
	CU_ASSERT_EQUAL(send(b.fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	/* fragmented STATS (120 KB) arrives whole */
	char *json = malloc(120000);
	memset(json, ' ', 120000);
	json[0] = '{';
	json[119999] = '}';
	struct stats_ctx ctx = { 0, 0, 0 };
	CU_ASSERT_EQUAL(cp_dpipc_request_stats(b.d, stats_cb, &ctx), 0);
	CU_ASSERT_EQUAL(cp_dpipc_request_stats(b.d, stats_cb, &ctx), -EBUSY);
	struct rx r = expect(&b, DP_IPC_STATS_REQ);
	free(r.p);
	dp_send(&b, DP_IPC_STATS, 0, 0, json, 120000, NULL, 0);
	wait_ms(&b, 30);
	CU_ASSERT_EQUAL(ctx.got, 120000);
	CU_ASSERT_EQUAL(ctx.first, '{');
	CU_ASSERT_EQUAL(ctx.last, '}');
	free(json);
	/* wrong protocol version: the link is dropped and comes back */
	struct dp_ipc_hdr h;
	dp_ipc_hdr_init(&h, DP_IPC_STATS, 0, 0, 0);
	h.version = DP_IPC_VERSION + 1;
	CU_ASSERT_EQUAL(send(b.fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	wait_ms(&b, 30);
	close(b.fd);
	b.fd = -1;
	CU_ASSERT_FATAL(accept_cp(&b, 3000) == 0);
	hello(&b);
	/* a 100 KB archive copy arrives in 2 fragments and is reassembled */
	struct dp_ipc_archive ar = { RTMP_MSG_AUDIO, 0, 0, 5, 0, 0 };
	uint8_t *big = malloc(100000);
	memset(big, 0xAF, 100000);
	open_session(&b, 1);
	connect_app(&b, 1, "test");
	uint64_t sid = publish(&b, 1, "test", "big");
	dp_send(&b, DP_IPC_ARCHIVE_MSG, 0, sid, &ar, sizeof(ar), big, 100000);
	wait_ms(&b, 30);
	CU_ASSERT_EQUAL(b.ar.msgs, 1);
	CU_ASSERT_EQUAL(b.ar.len, 100000);
	free(big);
	struct cp_dpipc_stats s;
	cp_dpipc_get_stats(b.d, &s);
	CU_ASSERT_EQUAL(s.connected, 1);
	bed_down(&b);
}

struct sess_seen {
	unsigned n;
	struct cp_dpipc_sess_info pub, view;
	char peer[48];
};

static int seen_cb(void *arg, const struct cp_dpipc_sess_info *si)
{
	struct sess_seen *w = arg;
	w->n++;
	if (si->id == 11) {
		w->pub = *si;
		snprintf(w->peer, sizeof(w->peer), "%s", si->peer);
	}
	if (si->id == 22)
		w->view = *si;
	return 0;
}

/* SESSION_INFO pulled every second; the table merges it; kick closes. */
static void test_session_info(void)
{
	struct bed b;
	bed_up(&b, 300, 5000);
	hello(&b);
	struct dp_ipc_resync_done done = { 0, 0 };
	dp_send(&b, DP_IPC_RESYNC_DONE, 0, 0, &done, sizeof(done), NULL, 0);
	open_session(&b, 11);
	connect_app(&b, 11, "test");
	uint64_t sid = publish(&b, 11, "test", "info");
	open_session(&b, 22);
	connect_app(&b, 22, "test");
	CU_ASSERT_EQUAL(play(&b, 22, "info"), sid);
	struct sess_seen w;
	memset(&w, 0, sizeof(w));
	cp_dpipc_foreach_session(b.d, seen_cb, &w);
	CU_ASSERT_EQUAL(w.n, 2);
	CU_ASSERT_EQUAL(w.pub.have_info, 0);
	CU_ASSERT_STRING_EQUAL(w.pub.role, "publisher");
	CU_ASSERT_STRING_EQUAL(w.view.role, "viewer");
	/* the periodic request */
	b.keep_info = 1;
	struct rx r;
	int got = 0;
	for (int i = 0; i < 3 && !got; i++) {
		got = dp_recv(&b, &r, 1500);
		if (got && r.h.type != DP_IPC_SESSION_INFO_REQ) {
			free(r.p);
			got = 0;
		}
	}
	CU_ASSERT_EQUAL_FATAL(got, 1);
	CU_ASSERT_EQUAL(r.len, 0);
	free(r.p);
	b.keep_info = 0;
	struct dp_ipc_session_info e[3];
	memset(e, 0, sizeof(e));
	e[0] = (struct dp_ipc_session_info){ .id = 11, .stream = sid, .role = DP_IPC_ROLE_PUBLISHER,
		.state = DP_IPC_SST_PUBLISHING, .srtt_us = 300, .cwnd = 29200,
		.bytes_in = 123456, .bytes_out = 3500 };
	e[1] = (struct dp_ipc_session_info){ .id = 22, .stream = sid, .role = DP_IPC_ROLE_VIEWER,
		.state = DP_IPC_SST_PLAYING, .srtt_us = 900, .cwnd = 14600,
		.bytes_in = 3600, .bytes_out = 99999, .skips = 2 };
	e[2] = (struct dp_ipc_session_info){ .id = 999, .state = DP_IPC_SST_HANDSHAKE };
	dp_send(&b, DP_IPC_SESSION_INFO, 0, 0, e, sizeof(e), NULL, 0);
	wait_ms(&b, 30);
	memset(&w, 0, sizeof(w));
	cp_dpipc_foreach_session(b.d, seen_cb, &w);
	CU_ASSERT_EQUAL(w.n, 2); /* an unknown id is not added */
	CU_ASSERT_EQUAL(w.pub.have_info, 1);
	CU_ASSERT_EQUAL(w.pub.bytes_in, 123456);
	CU_ASSERT_EQUAL(w.pub.rtt_us, 300);
	CU_ASSERT_STRING_EQUAL(w.pub.state, "publishing");
	CU_ASSERT_PTR_EQUAL(w.pub.stream, w.view.stream);
	CU_ASSERT_EQUAL(w.view.bytes_out, 99999);
	CU_ASSERT_EQUAL(w.view.cwnd, 14600);
	CU_ASSERT_EQUAL(w.view.skips, 2);
	/* malformed: not a whole number of entries; skipped, link stays */
	struct cp_dpipc_stats st0, st1;
	cp_dpipc_get_stats(b.d, &st0);
	dp_send(&b, DP_IPC_SESSION_INFO, 0, 0, e, sizeof(e) - 1, NULL, 0);
	wait_ms(&b, 30);
	cp_dpipc_get_stats(b.d, &st1);
	CU_ASSERT_EQUAL(st1.bad_msgs, st0.bad_msgs + 1);
	CU_ASSERT_EQUAL(st1.connected, 1);
	memset(&w, 0, sizeof(w));
	cp_dpipc_foreach_session(b.d, seen_cb, &w);
	CU_ASSERT_EQUAL(w.view.bytes_out, 99999);
	/* kick: SESSION_CLOSE for the viewer only */
	CU_ASSERT_EQUAL(cp_dpipc_kick(b.d, 22, "kicked by operator"), 0);
	CU_ASSERT_EQUAL(cp_dpipc_kick(b.d, 22, "kicked by operator"), -ENOENT);
	CU_ASSERT_EQUAL(cp_dpipc_kick(b.d, 12345, "kicked by operator"), -ENOENT);
	r = expect(&b, DP_IPC_SESSION_DETACH);
	CU_ASSERT_EQUAL(r.h.session, 22);
	free(r.p);
	r = expect(&b, DP_IPC_SESSION_CLOSE);
	CU_ASSERT_EQUAL(r.h.session, 22);
	struct dp_ipc_close c;
	CU_ASSERT_EQUAL(dp_ipc_decode(r.h.type, r.p, r.len, &c, sizeof(c), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(c.text, "kicked by operator");
	free(r.p);
	CU_ASSERT_EQUAL(b.eng.publishers_now, 1);
	bed_down(&b);
}

int test_cp_dpipc_register(void)
{
	CU_pSuite s = CU_add_suite("cp_dpipc", NULL, NULL);
	if (!s || !CU_add_test(s, "session flow over the dataplane", test_flow) ||
	    !CU_add_test(s, "keyed publish, handshake timeout and errors", test_keyed_and_timeouts) ||
	    !CU_add_test(s, "reconnect and resync", test_reconnect_resync) ||
	    !CU_add_test(s, "bad datagrams, version, fragments", test_link_robustness) ||
	    !CU_add_test(s, "session info and kick", test_session_info))
		return -1;
	return 0;
}
