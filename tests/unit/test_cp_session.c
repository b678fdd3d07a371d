/* cp_session: the command flow driven by synthetic messages through a fake
 * transport that records everything the session asks for. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controlplane/cp_session.h"
#include "rtmp/rtmp_cmd.h"

#define MAX_EV 64

struct ev {
	char what[16];     /* "send", "ctl", "play", "stop", "close" */
	uint8_t type;
	uint32_t msid, value;
	char name[256];    /* command name, data handler, app/stream */
	char code[64];     /* onStatus / _result info code */
	double num;        /* createStream result id */
};

struct fake {
	struct cp_session *s;
	struct ev ev[MAX_EV];
	int n;
	struct cp_viewer v;
	int closed;
	char reason[96];
};

static void str_copy(char *out, size_t cap, struct rtmp_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	if (s.ptr)
		memcpy(out, s.ptr, n);
	out[n] = '\0';
}

static struct ev *add(struct fake *f, const char *what)
{
	CU_ASSERT_FATAL(f->n < MAX_EV);
	struct ev *e = &f->ev[f->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->what, sizeof(e->what), "%s", what);
	return e;
}

static int f_send(void *t, const struct rtmp_msg *m)
{
	struct fake *f = t;
	struct ev *e = add(f, "send");
	e->type = m->type;
	e->msid = m->msid;
	CU_ASSERT_EQUAL(m->csid, 3); /* session messages stay off the media csids */
	struct rtmp_amf0_node nodes[64];
	struct rtmp_amf0_arena a;
	rtmp_amf0_arena_init(&a, nodes, 64);
	if (m->type == 20) {
		struct rtmp_cmd c;
		CU_ASSERT_EQUAL_FATAL(rtmp_cmd_parse(20, m->data, m->length, &a, &c), 0);
		str_copy(e->name, sizeof(e->name), c.name);
		str_copy(e->code, sizeof(e->code), c.code);
		e->num = c.stream_id;
	} else if (m->type == 18) {
		struct rtmp_data d;
		CU_ASSERT_EQUAL_FATAL(rtmp_data_parse(18, m->data, m->length, &a, &d), 0);
		str_copy(e->name, sizeof(e->name), d.handler);
	}
	return 0;
}

static int f_control(void *t, enum cp_ctl_kind k, uint32_t v)
{
	struct ev *e = add(t, "ctl");
	e->type = (uint8_t)k;
	e->value = v;
	return 0;
}

static void f_viewer_event(struct cp_viewer *v, enum cp_viewer_event ev, const char *why)
{
	struct fake *f = v->arg;
	if (ev == CP_VIEWER_LIVE || ev == CP_VIEWER_UNPUBLISHED)
		cp_session_viewer_event(f->s, ev);
}
static const struct cp_viewer_ops f_vops = { f_viewer_event };

static int f_play(void *t, struct cp_stream *s, uint32_t msid)
{
	struct fake *f = t;
	struct ev *e = add(f, "play");
	e->msid = msid;
	snprintf(e->name, sizeof(e->name), "%s/%s", s->app, s->name);
	memset(&f->v, 0, sizeof(f->v));
	f->v.ops = &f_vops;
	f->v.arg = f;
	return cp_viewer_attach(s, &f->v);
}

static void f_stop(void *t)
{
	struct fake *f = t;
	add(f, "stop");
	cp_viewer_detach(&f->v);
}

static void f_close(void *t, const char *reason)
{
	struct fake *f = t;
	add(f, "close");
	f->closed = 1;
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static const struct cp_transport_ops f_ops = { f_send, f_control, f_play, f_stop, f_close };

static struct cp_rtmp_conf conf;
static struct cp_keytab keys;
static struct cp_engine eng;

static void engine_up(int play_wait)
{
	char err[128];
	CU_ASSERT_EQUAL_FATAL(cp_rtmp_conf_load(NULL, &conf, err, sizeof(err)), 0);
	conf.play_wait = play_wait;
	conf.publish_grace_ms = 0;
	memset(&keys, 0, sizeof(keys));
	CU_ASSERT_EQUAL_FATAL(cp_keytab_add(&keys, "alice", "s3cret"), 0);
	cp_engine_init(&eng, &conf, &keys, NULL);
}

static void engine_down(void)
{
	cp_engine_fini(&eng);
	cp_keytab_free(&keys);
}

static void fake_up(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->s = cp_session_new(&eng, &f_ops, f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->s);
}

static void fake_down(struct fake *f)
{
	cp_session_free(f->s);
	f->s = NULL;
}

static int feed(struct fake *f, uint8_t type, uint32_t msid, const uint8_t *b, int len)
{
	CU_ASSERT_FATAL(len >= 0);
	struct rtmp_msg m = { 0, (uint32_t)len, msid, 3, type, b };
	return cp_session_on_message(f->s, &m);
}

static int do_connect(struct fake *f, const char *app)
{
	uint8_t b[512];
	struct rtmp_connect_params p = { .app = app, .tc_url = "rtmp://x/app" };
	return feed(f, 20, 0, b, rtmp_cmd_build_connect(b, sizeof(b), 1, &p));
}

static int do_publish(struct fake *f, const char *name)
{
	uint8_t b[512];
	feed(f, 20, 0, b, rtmp_cmd_build_create_stream(b, sizeof(b), 4));
	return feed(f, 20, 1, b, rtmp_cmd_build_publish(b, sizeof(b), 0, name, RTMP_PUBLISH_LIVE));
}

static int do_play(struct fake *f, const char *name)
{
	uint8_t b[512];
	feed(f, 20, 0, b, rtmp_cmd_build_create_stream(b, sizeof(b), 2));
	return feed(f, 20, 1, b, rtmp_cmd_build_play(b, sizeof(b), 0, name, -2, -1, -1));
}

/* Index of the first event at or after from matching what/code, or -1. */
static int find(const struct fake *f, int from, const char *what, const char *code)
{
	for (int i = from; i < f->n; i++)
		if (!strcmp(f->ev[i].what, what) && (!code || !strcmp(f->ev[i].code, code) ||
						     !strcmp(f->ev[i].name, code)))
			return i;
	return -1;
}

static void test_connect_flow(void)
{
	engine_up(1);
	struct fake f;
	fake_up(&f);
	CU_ASSERT_EQUAL(do_connect(&f, "test"), 0);
	/* Window Ack Size, Set Peer Bandwidth, Set Chunk Size, then _result */
	CU_ASSERT_EQUAL_FATAL(f.n, 4);
	CU_ASSERT_STRING_EQUAL(f.ev[0].what, "ctl");
	CU_ASSERT_EQUAL(f.ev[0].type, CP_CTL_WINDOW_ACK);
	CU_ASSERT_EQUAL(f.ev[0].value, 2500000);
	CU_ASSERT_EQUAL(f.ev[1].type, CP_CTL_PEER_BW);
	CU_ASSERT_EQUAL(f.ev[2].type, CP_CTL_CHUNK_SIZE);
	CU_ASSERT_EQUAL(f.ev[2].value, 4096);
	CU_ASSERT_STRING_EQUAL(f.ev[3].name, "_result");
	CU_ASSERT_STRING_EQUAL(f.ev[3].code, "NetConnection.Connect.Success");
	/* releaseStream / FCPublish / createStream */
	uint8_t b[256];
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_stream_call(b, sizeof(b), "releaseStream", 2, "x")), 0);
	CU_ASSERT_STRING_EQUAL(f.ev[f.n - 1].name, "_result");
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_stream_call(b, sizeof(b), "FCPublish", 3, "x")), 0);
	CU_ASSERT_TRUE(find(&f, 5, "send", "onFCPublish") > 0);
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_create_stream(b, sizeof(b), 4)), 0);
	CU_ASSERT_STRING_EQUAL(f.ev[f.n - 1].name, "_result");
	CU_ASSERT_EQUAL(f.ev[f.n - 1].num, 1);
	/* unknown call with a transaction id: _error; _checkbw: _result */
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_stream_call(b, sizeof(b), "noSuchCall", 5, "x")), 0);
	CU_ASSERT_STRING_EQUAL(f.ev[f.n - 1].name, "_error");
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_stream_call(b, sizeof(b), "_checkbw", 6, "x")), 0);
	CU_ASSERT_STRING_EQUAL(f.ev[f.n - 1].name, "_result");
	CU_ASSERT_FALSE(f.closed);
	fake_down(&f);
	engine_down();
}

static void test_rejections(void)
{
	engine_up(1);
	struct fake f;
	uint8_t b[256];
	/* command before connect */
	fake_up(&f);
	CU_ASSERT_EQUAL(feed(&f, 20, 0, b, rtmp_cmd_build_create_stream(b, sizeof(b), 2)), -EPROTO);
	CU_ASSERT_TRUE(f.closed);
	fake_down(&f);
	/* unknown app */
	fake_up(&f);
	CU_ASSERT_EQUAL(do_connect(&f, "nope"), -EACCES);
	CU_ASSERT_STRING_EQUAL(f.ev[0].name, "_error");
	CU_ASSERT_STRING_EQUAL(f.ev[0].code, "NetConnection.Connect.Rejected");
	CU_ASSERT_TRUE(f.closed);
	fake_down(&f);
	/* garbage command body */
	fake_up(&f);
	static const uint8_t junk[] = { 0x02, 0x00, 0x20, 'x' };
	CU_ASSERT_EQUAL(feed(&f, 20, 0, junk, sizeof(junk)), -EPROTO);
	CU_ASSERT_TRUE(f.closed);
	CU_ASSERT_EQUAL(eng.bad_commands, 1);
	fake_down(&f);
	/* wrong stream key on a keyed app */
	fake_up(&f);
	CU_ASSERT_EQUAL(do_connect(&f, "live"), 0);
	CU_ASSERT_EQUAL(do_publish(&f, "guess"), -EACCES);
	CU_ASSERT_TRUE(find(&f, 0, "send", "NetStream.Publish.BadName") > 0);
	CU_ASSERT_TRUE(f.closed);
	CU_ASSERT_STRING_EQUAL(f.reason, "wrong stream key");
	CU_ASSERT_EQUAL(eng.rejected_keys, 1);
	CU_ASSERT_PTR_NULL(cp_registry_find(&eng.reg, "live", "guess"));
	fake_down(&f);
	CU_ASSERT_EQUAL(eng.sessions_now, 0);
	engine_down();
}

static void test_publish_and_play(void)
{
	engine_up(1);
	struct fake pub, view;
	fake_up(&pub);
	fake_up(&view);
	CU_ASSERT_EQUAL(do_connect(&pub, "live"), 0);
	CU_ASSERT_EQUAL(do_publish(&pub, "s3cret?token=1"), 0);
	int i = find(&pub, 0, "ctl", NULL);
	CU_ASSERT_TRUE(i >= 0);
	i = find(&pub, 5, "ctl", NULL);
	CU_ASSERT_EQUAL(pub.ev[i].type, CP_CTL_STREAM_BEGIN);
	CU_ASSERT_EQUAL(pub.ev[i].value, 1);
	i = find(&pub, 0, "send", "NetStream.Publish.Start");
	CU_ASSERT_TRUE(i > 0);
	CU_ASSERT_EQUAL(pub.ev[i].msid, 1);
	struct cp_stream *st = cp_registry_find(&eng.reg, "live", "alice");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_TRUE(st->live);
	/* metadata through @setDataFrame, codec headers, a keyframe */
	static const uint8_t meta[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
					'F', 'r', 'a', 'm', 'e', 0x02, 0x00, 0x0a, 'o', 'n', 'M',
					'e', 't', 'a', 'D', 'a', 't', 'a', 0x03, 0x00, 0x00, 0x09 };
	static const uint8_t vseq[] = { 0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f };
	static const uint8_t key[] = { 0x17, 1, 0, 0, 0, 0, 0, 0, 2, 0x65, 0x88 };
	CU_ASSERT_EQUAL(feed(&pub, 18, 1, meta, sizeof(meta)), 0);
	CU_ASSERT_EQUAL(feed(&pub, 9, 1, vseq, sizeof(vseq)), 0);
	CU_ASSERT_EQUAL(feed(&pub, 9, 1, key, sizeof(key)), 0);
	CU_ASSERT_EQUAL(st->c.msgs_in, 3);
	CU_ASSERT_PTR_NOT_NULL(st->meta);
	CU_ASSERT_EQUAL(st->meta->len, sizeof(meta) - 16); /* @setDataFrame stripped */

	/* viewer plays the channel name */
	CU_ASSERT_EQUAL(do_connect(&view, "live"), 0);
	int base = view.n;
	CU_ASSERT_EQUAL(do_play(&view, "alice"), 0);
	int sb = find(&view, base, "ctl", NULL);
	int rs = find(&view, base, "send", "NetStream.Play.Reset");
	int ps = find(&view, base, "send", "NetStream.Play.Start");
	int sa = find(&view, base, "send", "|RtmpSampleAccess");
	int pl = find(&view, base, "play", NULL);
	CU_ASSERT_TRUE(sb > 0 && rs > sb && ps > rs && sa > ps && pl > sa);
	CU_ASSERT_EQUAL(view.ev[sb].type, CP_CTL_STREAM_BEGIN);
	CU_ASSERT_STRING_EQUAL(view.ev[pl].name, "live/alice");
	CU_ASSERT_EQUAL(st->nviewers, 1);
	/* the viewer starts with metadata, codec header, keyframe */
	struct cp_msg *m;
	uint32_t ts;
	CU_ASSERT_EQUAL(cp_viewer_next(&view.v, &m, &ts), 1);
	CU_ASSERT_EQUAL(m->flags, CP_MSG_F_METADATA);
	CU_ASSERT_EQUAL(cp_viewer_next(&view.v, &m, &ts), 1);
	CU_ASSERT_EQUAL(m->flags, CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(cp_viewer_next(&view.v, &m, &ts), 1);
	CU_ASSERT_EQUAL(m->flags, CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);

	/* media from the viewer is ignored, not ingested */
	CU_ASSERT_EQUAL(feed(&view, 9, 1, key, sizeof(key)), 0);
	CU_ASSERT_EQUAL(st->c.msgs_in, 3);

	/* same key from another session takes over; the old one is closed */
	struct fake pub2;
	fake_up(&pub2);
	CU_ASSERT_EQUAL(do_connect(&pub2, "live"), 0);
	CU_ASSERT_EQUAL(do_publish(&pub2, "s3cret"), 0);
	CU_ASSERT_TRUE(pub.closed);
	CU_ASSERT_STRING_EQUAL(pub.reason, "replaced by a publisher with the same key");
	CU_ASSERT_PTR_EQUAL(st->publisher, pub2.s);
	fake_down(&pub); /* must not unpublish the new owner */
	CU_ASSERT_TRUE(st->live);
	CU_ASSERT_EQUAL(eng.publishers_now, 1);

	/* FCUnpublish + deleteStream end it (grace 0): viewer told */
	uint8_t b[256];
	CU_ASSERT_EQUAL(feed(&pub2, 20, 0, b, rtmp_cmd_build_stream_call(b, sizeof(b), "FCUnpublish", 7, "s3cret")), 0);
	CU_ASSERT_FALSE(st->live);
	CU_ASSERT_TRUE(find(&view, 0, "send", "NetStream.Play.UnpublishNotify") > 0);
	CU_ASSERT_EQUAL(feed(&pub2, 20, 0, b, rtmp_cmd_build_delete_stream(b, sizeof(b), 8, 1)), 0);
	fake_down(&pub2);
	fake_down(&view);
	CU_ASSERT_EQUAL(eng.viewers_now, 0);
	CU_ASSERT_EQUAL(eng.publishers_now, 0);
	cp_engine_tick(&eng, 1);
	CU_ASSERT_EQUAL(eng.reg.nstreams, 0);
	engine_down();
}

/* A resynced publisher with the live publisher's key takes the stream
 * over: the old session is closed and no longer counted. */
static void test_restore_takeover(void)
{
	engine_up(1);
	struct fake pub, res;
	fake_up(&pub);
	fake_up(&res);
	CU_ASSERT_EQUAL(do_connect(&pub, "live"), 0);
	CU_ASSERT_EQUAL(do_publish(&pub, "s3cret"), 0);
	struct cp_stream *st = cp_registry_find(&eng.reg, "live", "alice");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(eng.publishers_now, 1);
	struct cp_session_restore r = { "live", CP_ROLE_PUBLISHER, st, 1 };
	CU_ASSERT_EQUAL(cp_session_restore(res.s, &r), 0);
	CU_ASSERT_PTR_EQUAL(st->publisher, res.s);
	CU_ASSERT_TRUE(pub.closed);
	CU_ASSERT_STRING_EQUAL(pub.reason, "replaced by a publisher with the same key");
	CU_ASSERT_EQUAL(eng.publishers_now, 1);
	fake_down(&pub); /* must not unpublish the new owner */
	CU_ASSERT_TRUE(st->live);
	CU_ASSERT_PTR_EQUAL(st->publisher, res.s);
	CU_ASSERT_EQUAL(eng.publishers_now, 1);
	fake_down(&res);
	CU_ASSERT_EQUAL(eng.publishers_now, 0);
	engine_down();
}

static void test_play_wait_and_busy(void)
{
	engine_up(1);
	struct fake view, p1, p2;
	fake_up(&view);
	CU_ASSERT_EQUAL(do_connect(&view, "test"), 0);
	CU_ASSERT_EQUAL(do_play(&view, "later"), 0);
	CU_ASSERT_TRUE(find(&view, 0, "send", "NetStream.Play.Start") > 0);
	CU_ASSERT_FALSE(view.closed);
	fake_up(&p1);
	CU_ASSERT_EQUAL(do_connect(&p1, "test"), 0);
	CU_ASSERT_EQUAL(do_publish(&p1, "later"), 0);
	CU_ASSERT_TRUE(find(&view, 0, "send", "NetStream.Play.PublishNotify") > 0);
	/* open app: the same name from another session is refused */
	fake_up(&p2);
	CU_ASSERT_EQUAL(do_connect(&p2, "test"), 0);
	CU_ASSERT_EQUAL(do_publish(&p2, "later"), -EACCES);
	CU_ASSERT_TRUE(find(&p2, 0, "send", "NetStream.Publish.BadName") > 0);
	CU_ASSERT_EQUAL(eng.rejected_busy, 1);
	fake_down(&p2);
	fake_down(&p1);
	fake_down(&view);
	engine_down();

	/* play_wait = no: StreamNotFound and close */
	engine_up(0);
	fake_up(&view);
	CU_ASSERT_EQUAL(do_connect(&view, "test"), 0);
	CU_ASSERT_EQUAL(do_play(&view, "none"), -ENOENT);
	CU_ASSERT_TRUE(find(&view, 0, "send", "NetStream.Play.StreamNotFound") > 0);
	CU_ASSERT_TRUE(view.closed);
	fake_down(&view);
	CU_ASSERT_EQUAL(eng.reg.nstreams, 0);
	engine_down();
}

struct hook_rec {
	int msgs, live, offline;
	uint8_t last_type;
	size_t last_len;
	uint8_t first_bytes[3];
};

static void h_live(void *arg, const char *app, const char *name, int live)
{
	struct hook_rec *h = arg;
	if (live)
		h->live++;
	else
		h->offline++;
}

static void h_msg(void *arg, const struct cp_stream *st, uint8_t type, uint32_t ts,
		  const uint8_t *p, size_t len)
{
	struct hook_rec *h = arg;
	h->msgs++;
	h->last_type = type;
	h->last_len = len;
	memcpy(h->first_bytes, p, len < 3 ? len : 3);
}

static void test_hooks(void)
{
	char err[128];
	struct hook_rec h = { 0 };
	struct cp_engine_hooks hooks = { h_live, h_msg, &h };
	CU_ASSERT_EQUAL_FATAL(cp_rtmp_conf_load(NULL, &conf, err, sizeof(err)), 0);
	conf.publish_grace_ms = 0;
	memset(&keys, 0, sizeof(keys));
	cp_engine_init(&eng, &conf, &keys, &hooks);
	struct fake pub;
	fake_up(&pub);
	CU_ASSERT_EQUAL(do_connect(&pub, "test"), 0);
	CU_ASSERT_EQUAL(do_publish(&pub, "rec"), 0);
	CU_ASSERT_EQUAL(h.live, 1);
	static const uint8_t meta[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
					'F', 'r', 'a', 'm', 'e', 0x02, 0x00, 0x0a, 'o', 'n', 'M',
					'e', 't', 'a', 'D', 'a', 't', 'a', 0x05 };
	static const uint8_t aud[] = { 0xaf, 1, 0x21, 0x22 };
	CU_ASSERT_EQUAL(feed(&pub, 18, 1, meta, sizeof(meta)), 0);
	CU_ASSERT_EQUAL(h.msgs, 1);
	CU_ASSERT_EQUAL(h.last_type, 18);
	CU_ASSERT_EQUAL(h.last_len, sizeof(meta) - 16);
	CU_ASSERT_EQUAL(h.first_bytes[2], 0x0a); /* "onMetaData", wrapper gone */
	CU_ASSERT_EQUAL(feed(&pub, 8, 1, aud, sizeof(aud)), 0);
	CU_ASSERT_EQUAL(h.msgs, 2);
	CU_ASSERT_EQUAL(h.last_len, sizeof(aud));
	/* aggregate of one audio tag: unrolled */
	static const uint8_t agg[] = { 8, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0xaf, 1, 0x21, 0x22,
				       0, 0, 0, 15 };
	CU_ASSERT_EQUAL(feed(&pub, 22, 1, agg, sizeof(agg)), 0);
	CU_ASSERT_EQUAL(h.msgs, 3);
	CU_ASSERT_EQUAL(h.last_type, 8);
	/* truncated aggregate: protocol error, connection closed */
	CU_ASSERT_EQUAL(feed(&pub, 22, 1, agg, sizeof(agg) - 6), -EPROTO);
	CU_ASSERT_TRUE(pub.closed);
	fake_down(&pub);
	cp_engine_tick(&eng, 1);
	CU_ASSERT_EQUAL(h.offline, 1);
	engine_down();
}

int test_cp_session_register(void)
{
	CU_pSuite s = CU_add_suite("cp_session", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "connect flow", test_connect_flow) ||
	    !CU_add_test(s, "rejections", test_rejections) ||
	    !CU_add_test(s, "publish and play", test_publish_and_play) ||
	    !CU_add_test(s, "play wait, busy name", test_play_wait_and_busy) ||
	    !CU_add_test(s, "restore takes over same key", test_restore_takeover) ||
	    !CU_add_test(s, "hooks and aggregates", test_hooks))
		return -1;
	return 0;
}
