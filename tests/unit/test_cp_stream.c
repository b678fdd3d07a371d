/* cp_stream: registry, stream log / GOP cache, viewer cursors, slow-viewer
 * policy, timestamp rebasing, publish/takeover/grace. Driven by synthetic
 * FLV payloads, no sockets. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "controlplane/cp_stream.h"

/* FLV payloads: AVC keyframe/inter/sequence header, AAC header/raw. */
static uint8_t pl[4096];

static size_t mk(uint8_t b0, uint8_t b1, size_t len, uint8_t fill)
{
	memset(pl, fill, sizeof(pl));
	pl[0] = b0;
	pl[1] = b1;
	pl[2] = pl[3] = pl[4] = 0; /* composition time */
	return len;
}

#define VKEY(len, f) 9, mk(0x17, 0x01, (len), (f))
#define VINTER(len, f) 9, mk(0x27, 0x01, (len), (f))
#define VSEQ() 9, mk(0x17, 0x00, 16, 0x5a)
#define ASEQ() 8, mk(0xaf, 0x00, 4, 0x12)
#define AUD(len) 8, mk(0xaf, 0x01, (len), 0x33)

static int ingest(struct cp_stream *s, uint8_t type, size_t len, uint32_t ts)
{
	return cp_stream_ingest(s, type, ts, pl, len);
}

static int ingest_meta(struct cp_stream *s)
{
	static const uint8_t meta[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a',
					't', 'a', 0x03, 0x00, 0x00, 0x09 };
	return cp_stream_ingest(s, 18, 0, meta, sizeof(meta));
}

struct rec {
	int wake, live, unpub, kick;
	const char *why;
};

static void rec_event(struct cp_viewer *v, enum cp_viewer_event ev, const char *why)
{
	struct rec *r = v->arg;
	switch (ev) {
	case CP_VIEWER_WAKE: r->wake++; break;
	case CP_VIEWER_LIVE: r->live++; break;
	case CP_VIEWER_UNPUBLISHED: r->unpub++; break;
	case CP_VIEWER_KICK: r->kick++; r->why = why; cp_viewer_detach(v); break;
	}
}

static const struct cp_viewer_ops rec_ops = { rec_event };

static void viewer_init(struct cp_viewer *v, struct rec *r)
{
	memset(v, 0, sizeof(*v));
	memset(r, 0, sizeof(*r));
	v->ops = &rec_ops;
	v->arg = r;
}

static struct cp_registry reg;
static int live_calls[2];

static void on_live(void *arg, struct cp_stream *s, int live)
{
	live_calls[live ? 1 : 0]++;
}
static const struct cp_registry_ops reg_ops = { on_live };

static void setup(uint64_t skip, uint64_t hard, uint64_t gop, uint64_t grace)
{
	struct cp_stream_limits lim = { 128, skip, hard, gop, grace };
	cp_registry_init(&reg, &lim, &reg_ops, NULL);
	live_calls[0] = live_calls[1] = 0;
}

static struct cp_stream *publish(const char *name, void *owner)
{
	struct cp_stream *s = cp_registry_get(&reg, "live", name);
	void *prev;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(cp_stream_publish(s, owner, "k", &prev), 0);
	return s;
}

static union {
	struct cp_msg m;
	uint8_t raw[sizeof(struct cp_msg) + 64];
} dummy;

/* Take the next message; returns its flags, or -1 when nothing was ready. */
static int take(struct cp_viewer *v, uint32_t *ts, struct cp_msg **out)
{
	struct cp_msg *m = NULL;
	uint32_t t;
	int rc = cp_viewer_next(v, &m, &t);
	if (out)
		*out = &dummy.m; /* safe to inspect even when the assert failed */
	if (rc != 1)
		return -1;
	if (ts)
		*ts = t;
	if (out)
		*out = m;
	return m->flags;
}

static void test_gop_attach(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 0);
	int owner;
	struct cp_stream *s = publish("a", &owner);
	CU_ASSERT_EQUAL(live_calls[1], 1);
	CU_ASSERT_EQUAL(ingest_meta(s), 0);
	CU_ASSERT_EQUAL(ingest(s, VSEQ(), 0), 0);
	CU_ASSERT_EQUAL(ingest(s, ASEQ(), 0), 0);
	CU_ASSERT_EQUAL(ingest(s, VKEY(100, 1), 1000), 0);
	CU_ASSERT_EQUAL(ingest(s, VINTER(50, 2), 1040), 0);
	CU_ASSERT_EQUAL(ingest(s, AUD(20), 1045), 0);
	CU_ASSERT_EQUAL(ingest(s, VKEY(120, 3), 3000), 0);
	CU_ASSERT_EQUAL(ingest(s, VINTER(60, 4), 3040), 0);
	CU_ASSERT_EQUAL(ingest(s, AUD(20), 3050), 0);
	CU_ASSERT_TRUE(cp_stream_gop_cached(s));
	CU_ASSERT_EQUAL(s->c.keyframes, 2);

	struct cp_viewer v;
	struct rec r;
	viewer_init(&v, &r);
	CU_ASSERT_EQUAL(cp_viewer_attach(s, &v), 0);
	uint32_t ts;
	struct cp_msg *m = NULL;
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_METADATA);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_AUDIO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(take(&v, &ts, &m), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(ts, 0); /* rebased to the viewer's first media */
	CU_ASSERT_EQUAL(m->len, 120);
	CU_ASSERT_EQUAL(m->body[5], 3); /* payload of the second keyframe */
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(ts, 40);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_AUDIO);
	CU_ASSERT_EQUAL(ts, 50);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), -1);
	CU_ASSERT_EQUAL(v.msgs_sent, 6);

	/* live: a new message wakes the viewer and is next */
	CU_ASSERT_EQUAL(ingest(s, VINTER(70, 5), 3080), 0);
	CU_ASSERT_EQUAL(r.wake, 1);
	CU_ASSERT_EQUAL(take(&v, &ts, &m), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(ts, 80);
	CU_ASSERT_EQUAL(m->len, 70);
	cp_viewer_detach(&v);
	cp_registry_fini(&reg);
}

static void test_shared_by_reference(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 0);
	int owner;
	struct cp_stream *s = publish("b", &owner);
	struct cp_viewer v1, v2;
	struct rec r1, r2;
	viewer_init(&v1, &r1);
	viewer_init(&v2, &r2);
	cp_viewer_attach(s, &v1);
	cp_viewer_attach(s, &v2);
	CU_ASSERT_EQUAL(s->nviewers, 2);
	CU_ASSERT_EQUAL(ingest(s, VKEY(300, 7), 0), 0);
	CU_ASSERT_EQUAL(r1.wake, 1);
	CU_ASSERT_EQUAL(r2.wake, 1);
	struct cp_msg *a = NULL, *b = NULL;
	CU_ASSERT_EQUAL(take(&v1, NULL, &a), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(take(&v2, NULL, &b), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_PTR_EQUAL(a, b); /* one encoding, shared */
	CU_ASSERT_EQUAL(a->refcnt, 1); /* only the log holds it; viewers are cursors */
	CU_ASSERT_EQUAL(s->c.msgs_out, 2);
	cp_viewer_detach(&v1);
	cp_viewer_detach(&v2);
	CU_ASSERT_EQUAL(s->nviewers, 0);
	cp_registry_fini(&reg);
}

static void test_wait_for_keyframe(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 0);
	struct cp_stream *s = cp_registry_get(&reg, "live", "later");
	struct cp_viewer v;
	struct rec r;
	viewer_init(&v, &r);
	cp_viewer_attach(s, &v);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), -1);
	int owner;
	void *prev;
	CU_ASSERT_EQUAL(cp_stream_publish(s, &owner, "x", &prev), 0);
	CU_ASSERT_EQUAL(r.live, 1);
	ingest(s, VSEQ(), 500);
	ingest(s, ASEQ(), 500);
	ingest(s, VINTER(40, 1), 500); /* not a start point */
	ingest(s, AUD(10), 510);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), -1);
	CU_ASSERT_EQUAL(r.wake, 0);
	ingest(s, VKEY(40, 2), 540);
	CU_ASSERT_EQUAL(r.wake, 1);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), CP_MSG_F_AUDIO | CP_MSG_F_SEQHDR);
	uint32_t ts;
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(ts, 0);
	cp_viewer_detach(&v);
	cp_registry_fini(&reg);
}

static void test_skip_to_keyframe(void)
{
	/* Each frame ~1 KiB on the wire; skip past 3 KiB of backlog. */
	setup(3000, 1 << 20, 1 << 20, 0);
	int owner;
	struct cp_stream *s = publish("slow", &owner);
	ingest(s, VSEQ(), 0);
	ingest(s, VKEY(1000, 1), 0);
	struct cp_viewer v;
	struct rec r;
	viewer_init(&v, &r);
	cp_viewer_attach(s, &v);
	uint32_t ts, last = 0;
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	/* viewer stops reading; the stream goes on with a keyframe every 5 */
	for (uint32_t i = 1; i <= 12; i++)
		ingest(s, (i % 5 == 0) ? 9 : 9, mk(i % 5 == 0 ? 0x17 : 0x27, 1, 1000, (uint8_t)i),
		       i * 40);
	CU_ASSERT_TRUE(v.skips >= 1);
	CU_ASSERT_EQUAL(s->c.skips, v.skips);
	CU_ASSERT_EQUAL(reg.c.skips, v.skips);
	CU_ASSERT_TRUE(s->c.skipped_msgs >= 4);
	CU_ASSERT_EQUAL(r.kick, 0);
	/* resumes with the codec header, then the newest keyframe (i = 10) */
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_SEQHDR);
	struct cp_msg *m = NULL;
	CU_ASSERT_EQUAL(take(&v, &ts, &m), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(m->body[5], 10);
	CU_ASSERT_EQUAL(ts, 400);
	last = ts;
	int n = 0, flags;
	while ((flags = take(&v, &ts, &m)) != -1) {
		CU_ASSERT_TRUE(ts >= last);
		last = ts;
		n++;
	}
	CU_ASSERT_EQUAL(n, 2); /* frames 11 and 12 */
	CU_ASSERT_TRUE(cp_viewer_backlog(&v) == 0);
	cp_viewer_detach(&v);
	cp_registry_fini(&reg);
}

static void test_hard_limit_kick(void)
{
	setup(2000, 5000, 1 << 20, 0);
	int owner;
	struct cp_stream *s = publish("stuck", &owner);
	ingest(s, VKEY(1000, 1), 0);
	struct cp_viewer v, fast;
	struct rec r, rf;
	viewer_init(&v, &r);
	viewer_init(&fast, &rf);
	cp_viewer_attach(s, &v);
	cp_viewer_attach(s, &fast);
	/* no keyframe to skip to: backlog grows past the hard limit */
	for (uint32_t i = 1; i <= 8 && !r.kick; i++) {
		ingest(s, VINTER(1000, (uint8_t)i), i * 40);
		while (take(&fast, NULL, NULL) != -1)
			; /* the fast viewer keeps up */
	}
	CU_ASSERT_EQUAL(r.kick, 1);
	CU_ASSERT_STRING_EQUAL(r.why, "backlog over hard limit");
	CU_ASSERT_EQUAL(s->c.slow_kicks, 1);
	CU_ASSERT_EQUAL(s->nviewers, 1);
	CU_ASSERT_EQUAL(rf.kick, 0);
	CU_ASSERT_EQUAL(cp_viewer_next(&v, NULL, NULL), -EPIPE);
	/* the fast viewer still gets everything after the kick */
	ingest(s, VINTER(10, 99), 1000);
	struct cp_msg *m = NULL;
	CU_ASSERT_EQUAL(take(&fast, NULL, &m), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(m->body[5], 99);
	cp_viewer_detach(&fast);
	cp_registry_fini(&reg);
}

static void test_log_bounded(void)
{
	setup(2000, 8000, 4000, 0);
	int owner;
	struct cp_stream *s = publish("bounded", &owner);
	for (uint32_t i = 0; i < 2000; i++)
		ingest(s, 9, mk(i % 50 == 0 ? 0x17 : 0x27, 1, 500, 1), i * 40);
	/* hard limit + one message of slack; the GOP (50 x ~520 B) is over
	 * gop_cache_max, so it is not kept beyond that */
	CU_ASSERT_TRUE(cp_stream_log_bytes(s) <= 8000 + 600);
	CU_ASSERT_FALSE(cp_stream_gop_cached(s));
	CU_ASSERT_EQUAL(s->c.msgs_in, 2000);
	cp_registry_fini(&reg);
}

static void test_takeover_and_timestamps(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 5000);
	int a, b, c;
	void *prev = NULL;
	struct cp_stream *s = cp_registry_get(&reg, "live", "chan");
	CU_ASSERT_EQUAL(cp_stream_publish(s, &a, "secret", &prev), 0);
	ingest(s, VKEY(10, 1), 100000);
	struct cp_viewer v;
	struct rec r;
	viewer_init(&v, &r);
	cp_viewer_attach(s, &v);
	uint32_t ts;
	ingest(s, VINTER(10, 2), 100040);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_EQUAL(ts, 0);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO);
	CU_ASSERT_EQUAL(ts, 40);
	/* other key: refused; same key: takeover, previous owner returned */
	CU_ASSERT_EQUAL(cp_stream_publish(s, &b, "other", &prev), -EBUSY);
	CU_ASSERT_EQUAL(cp_stream_publish(s, &b, "secret", &prev), 1);
	CU_ASSERT_PTR_EQUAL(prev, &a);
	CU_ASSERT_EQUAL(s->c.takeovers, 1);
	cp_stream_unpublish(s, &a, 0); /* old owner leaving changes nothing */
	CU_ASSERT_PTR_EQUAL(s->publisher, &b);
	/* new publisher restarts its clock at 0: viewer time goes on */
	ingest(s, VKEY(10, 3), 0);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_TRUE(ts > 40);
	uint32_t t1 = ts;
	/* publisher leaves and a third comes back within the grace period */
	cp_stream_unpublish(s, &b, 1000);
	cp_registry_tick(&reg, 3000);
	CU_ASSERT_TRUE(s->live);
	CU_ASSERT_EQUAL(r.unpub, 0);
	CU_ASSERT_EQUAL(cp_stream_publish(s, &c, "whatever", &prev), 0);
	CU_ASSERT_EQUAL(r.live, 0); /* never went offline */
	ingest(s, VKEY(10, 4), 50);
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_VIDEO | CP_MSG_F_KEYFRAME);
	CU_ASSERT_TRUE(ts > t1);
	/* leaves for good: offline after the grace period */
	cp_stream_unpublish(s, &c, 10000);
	cp_registry_tick(&reg, 14000);
	CU_ASSERT_TRUE(s->live);
	cp_registry_tick(&reg, 15000);
	CU_ASSERT_FALSE(s->live);
	CU_ASSERT_EQUAL(r.unpub, 1);
	CU_ASSERT_EQUAL(live_calls[0], 1);
	CU_ASSERT_EQUAL(cp_stream_log_bytes(s), 0);
	/* the waiting viewer keeps the stream; its detach frees it */
	CU_ASSERT_PTR_EQUAL(cp_registry_find(&reg, "live", "chan"), s);
	cp_viewer_detach(&v);
	CU_ASSERT_PTR_NULL(cp_registry_find(&reg, "live", "chan"));
	CU_ASSERT_EQUAL(reg.nstreams, 0);
	cp_registry_fini(&reg);
}

static void test_audio_only(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 0);
	int owner;
	struct cp_stream *s = publish("radio", &owner);
	ingest(s, ASEQ(), 0);
	ingest(s, AUD(100), 0);
	ingest(s, AUD(100), 23);
	struct cp_viewer v;
	struct rec r;
	viewer_init(&v, &r);
	cp_viewer_attach(s, &v);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), CP_MSG_F_AUDIO | CP_MSG_F_SEQHDR);
	CU_ASSERT_EQUAL(take(&v, NULL, NULL), -1);
	ingest(s, AUD(100), 46);
	uint32_t ts;
	CU_ASSERT_EQUAL(take(&v, &ts, NULL), CP_MSG_F_AUDIO);
	CU_ASSERT_EQUAL(ts, 0);
	cp_viewer_detach(&v);
	cp_registry_fini(&reg);
}

static void test_bad_input(void)
{
	setup(1 << 20, 1 << 22, 1 << 22, 0);
	int owner;
	struct cp_stream *s = publish("bad", &owner);
	CU_ASSERT_EQUAL(cp_stream_ingest(s, 20, 0, pl, 10), -EINVAL); /* not media */
	CU_ASSERT_EQUAL(cp_stream_ingest(s, 9, 0, pl, 0), 0);         /* empty: plain frame */
	CU_ASSERT_EQUAL(cp_stream_ingest(s, 18, 0, pl, 3), 0);        /* not onMetaData: dropped */
	CU_ASSERT_EQUAL(s->c.msgs_in, 1);
	CU_ASSERT_EQUAL(s->c.rejected_msgs, 2);
	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_PTR_NULL(cp_registry_get(&reg, "live", longname));
	cp_registry_fini(&reg);
}

int test_cp_stream_register(void)
{
	CU_pSuite s = CU_add_suite("cp_stream", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "GOP cache attach", test_gop_attach) ||
	    !CU_add_test(s, "shared by reference", test_shared_by_reference) ||
	    !CU_add_test(s, "wait for keyframe", test_wait_for_keyframe) ||
	    !CU_add_test(s, "skip to keyframe", test_skip_to_keyframe) ||
	    !CU_add_test(s, "hard limit kick", test_hard_limit_kick) ||
	    !CU_add_test(s, "log bounded", test_log_bounded) ||
	    !CU_add_test(s, "takeover, grace, timestamps", test_takeover_and_timestamps) ||
	    !CU_add_test(s, "audio only", test_audio_only) ||
	    !CU_add_test(s, "bad input", test_bad_input))
		return -1;
	return 0;
}
