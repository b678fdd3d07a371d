/* libFuzzer target: the management socket's request path: line framing
 * (cp_mgmt_frame) and the JSON dispatcher (cp_mgmt_handle) over a real
 * engine with one live stream, a publisher session behind a fake
 * transport, and a key table. Input: bytes as a client would send them
 * (newline-separated requests). Any crash, leak or sanitizer report is a
 * finding; every answer must itself be a JSON object with "ok". */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt.h"

static int f_send(void *t, const struct rtmp_msg *m) { return 0; }
static int f_control(void *t, enum cp_ctl_kind k, uint32_t v) { return 0; }
static int f_play(void *t, struct cp_stream *s, uint32_t msid) { return 0; }
static void f_stop(void *t) { }
static void f_close(void *t, const char *reason) { *(int *)t = 1; }
static const struct cp_transport_ops ops = { f_send, f_control, f_play, f_stop, f_close };

static void answer_ok(struct cp_mgmt *m, const char *p, size_t n)
{
	char *out = NULL;
	if (cp_mgmt_handle(m, p, n, &out) != 0)
		return;
	json_t *a = json_loads(out, 0, NULL);
	if (!a || !json_is_boolean(json_object_get(a, "ok")))
		abort(); /* the daemon must always answer well-formed JSON */
	json_decref(a);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cp_rtmp_conf conf;
	struct cp_keytab keys = { 0 };
	struct cp_engine eng;
	char err[256];
	int closed = 0;
	cp_log_set_level(CP_LOG_ERR);
	if (cp_rtmp_conf_load(NULL, &conf, err, sizeof(err)) != 0)
		return 0;
	cp_keytab_add(&keys, "alice", "secret-alice-1234");
	cp_engine_init(&eng, &conf, &keys, NULL);
	struct cp_session *pub = cp_session_new(&eng, &ops, &closed);
	struct cp_stream *st = cp_registry_get(&eng.reg, "live", "alice");
	void *prev = NULL;
	if (pub && st && cp_stream_publish(st, pub, "secret-alice-1234", &prev) == 0) {
		pub->role = CP_ROLE_PUBLISHER;
		pub->stream = st;
		eng.publishers_now++;
	}
	struct cp_mgmt_env env = { NULL, NULL, &eng, &conf, &keys, NULL, "kernel", NULL };
	struct cp_mgmt *m = cp_mgmt_create(&env, err, sizeof(err));
	const char *p = (const char *)data;
	size_t left = size;
	while (m && left > 0) {
		size_t ll;
		ssize_t n = cp_mgmt_frame(p, left, 4096, &ll);
		if (n <= 0) {
			answer_ok(m, p, left < 4096 ? left : 4096); /* the unterminated tail */
			break;
		}
		answer_ok(m, p, ll);
		p += n;
		left -= (size_t)n;
	}
	cp_mgmt_stop(m);
	cp_session_free(pub);
	cp_engine_fini(&eng);
	cp_keytab_free(&keys);
	return 0;
}
