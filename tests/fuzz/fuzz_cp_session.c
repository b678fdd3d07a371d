/* libFuzzer target: the RTMP message layer (cp_session) and the stream
 * registry behind it, driven by arbitrary message sequences from two
 * sessions (a would-be publisher and a would-be viewer) through a fake
 * transport. Input: records of [session:1 bit | type index:7 bits][len:be16]
 * [payload]. Any crash, leak or sanitizer report is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_session.h"

struct fz {
	struct cp_session *s;
	struct cp_viewer v;
	int closed;
};

static int f_send(void *t, const struct rtmp_msg *m) { return 0; }
static int f_control(void *t, enum cp_ctl_kind k, uint32_t v) { return 0; }

static void f_event(struct cp_viewer *v, enum cp_viewer_event ev, const char *why)
{
	struct fz *f = v->arg;
	struct cp_msg *m;
	uint32_t ts;
	if (ev == CP_VIEWER_WAKE) {
		while (cp_viewer_next(v, &m, &ts) == 1)
			;
	} else if (ev == CP_VIEWER_KICK) {
		cp_viewer_detach(v);
		f->closed = 1;
	} else {
		cp_session_viewer_event(f->s, ev);
	}
}
static const struct cp_viewer_ops f_vops = { f_event };

static int f_play(void *t, struct cp_stream *s, uint32_t msid)
{
	struct fz *f = t;
	memset(&f->v, 0, sizeof(f->v));
	f->v.ops = &f_vops;
	f->v.arg = f;
	return cp_viewer_attach(s, &f->v);
}
static void f_stop(void *t) { cp_viewer_detach(&((struct fz *)t)->v); }
static void f_close(void *t, const char *reason) { ((struct fz *)t)->closed = 1; }

static const struct cp_transport_ops ops = { f_send, f_control, f_play, f_stop, f_close };

static const uint8_t types[] = { 20, 18, 8, 9, 22, 17, 15, 4, 1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_rtmp_conf conf;
	struct cp_keytab keys = { 0 };
	struct cp_engine eng;
	char err[128];
	cp_log_set_level(CP_LOG_ERR); /* keep the fuzzer output readable */
	if (cp_rtmp_conf_load(NULL, &conf, err, sizeof(err)) != 0)
		abort();
	conf.publish_grace_ms = 0;
	conf.viewer_skip_threshold = 4096;
	conf.viewer_hard_limit = 16384;
	conf.gop_cache_max = 8192;
	conf.chunk_size = 128;
	cp_keytab_add(&keys, "alice", "s3cret");
	cp_engine_init(&eng, &conf, &keys, NULL);
	struct fz f[2];
	memset(f, 0, sizeof(f));
	for (int i = 0; i < 2; i++)
		f[i].s = cp_session_new(&eng, &ops, &f[i]);
	uint32_t ts = 0;
	while (size >= 3) {
		struct fz *x = &f[data[0] >> 7];
		uint8_t type = types[(data[0] & 0x7f) % sizeof(types)];
		size_t len = ((size_t)data[1] << 8) | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (!x->closed) {
			struct rtmp_msg m = { ts, (uint32_t)len, 1, 3, type, data };
			if (cp_session_on_message(x->s, &m) != 0)
				x->closed = 1;
		}
		ts += 20;
		data += len;
		size -= len;
		cp_engine_tick(&eng, ts);
	}
	for (int i = 0; i < 2; i++)
		cp_session_free(f[i].s);
	cp_engine_fini(&eng);
	cp_keytab_free(&keys);
	return 0;
}
