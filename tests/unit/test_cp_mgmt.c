/* cp_mgmt: request framing (guard page, every truncation), the dispatcher
 * against a real engine and key table, reload, metrics text, and the
 * atomic [keys] rewrite of lifecast.conf. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_metrics.h"
#include "controlplane/cp_mgmt.h"
#include "controlplane/cp_mgmt_int.h"
#include "controlplane/cp_session.h"
#include "controlplane/cp_stream.h"

/* ---- helpers ---- */

struct tdir {
	char dir[64];
	char conf[96];
};

static void tdir_make(struct tdir *t, const char *conf_text)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/lc-mgmt-unit.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	snprintf(t->conf, sizeof(t->conf), "%s/lc.conf", t->dir);
	FILE *f = fopen(t->conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(conf_text, f);
	fclose(f);
}

static void tdir_rm(struct tdir *t)
{
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[400];
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(t->dir);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = buf ? fread(buf, 1, 65535, f) : 0;
	(void)n;
	fclose(f);
	return buf;
}

/* ---- framing, with the input right before a PROT_NONE page ---- */

static void test_frame_guard(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(mem != MAP_FAILED);
	CU_ASSERT_FATAL(mprotect(mem + pg, pg, PROT_NONE) == 0);
	const char *in = "{\"cmd\":\"status\"}\r\n{\"cmd\":\"streams\"}\n";
	size_t len = strlen(in), first = strlen("{\"cmd\":\"status\"}\r\n");
	for (size_t cut = 0; cut <= len; cut++) {
		char *p = (char *)mem + pg - cut;
		memcpy(p, in, cut);
		size_t ll = 0;
		ssize_t n = cp_mgmt_frame(p, cut, CP_MGMT_LINE_MAX, &ll);
		if (cut < first) {
			CU_ASSERT_EQUAL(n, 0);
		} else {
			CU_ASSERT_EQUAL(n, (ssize_t)first);
			CU_ASSERT_EQUAL(ll, first - 2); /* "\r\n" not part of the line */
		}
	}
	munmap(mem, 2 * pg);
}

static void test_frame_limits(void)
{
	char buf[64];
	size_t ll = 99;
	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(cp_mgmt_frame(buf, 16, 16, &ll), -EMSGSIZE);
	CU_ASSERT_EQUAL(cp_mgmt_frame(buf, 15, 16, &ll), 0);
	buf[15] = '\n';
	CU_ASSERT_EQUAL(cp_mgmt_frame(buf, 16, 16, &ll), 16);
	CU_ASSERT_EQUAL(ll, 15);
	buf[0] = '\n';
	CU_ASSERT_EQUAL(cp_mgmt_frame(buf, 16, 16, &ll), 1);
	CU_ASSERT_EQUAL(ll, 0);
	/* A newline past max does not count. */
	memset(buf, 'x', sizeof(buf));
	buf[40] = '\n';
	CU_ASSERT_EQUAL(cp_mgmt_frame(buf, 64, 32, &ll), -EMSGSIZE);
}

/* ---- dispatcher fixture: engine + conf + keys + mgmt, no loop ---- */

struct fx {
	struct tdir t;
	struct cp_rtmp_conf conf;
	struct cp_keytab keys;
	struct cp_engine eng;
	struct cp_mgmt *m;
};

static const char *base_conf =
	"# fixture\n"
	"[rtmp]\n"
	"apps = live:keyed test:open\n"
	"viewer_hard_limit = 16M\n"
	"\n"
	"[keys]\n"
	"# channel = secret\n"
	"alice = secret-alice-1234\n"
	"\n"
	"[chat_tokens]\n"
	"alice = token-1\n"
	"[control]\n"
	"bitrate_window = 5s\n";

static void fx_init(struct fx *f)
{
	char err[512];
	memset(f, 0, sizeof(*f));
	tdir_make(&f->t, base_conf);
	CU_ASSERT_FATAL(cp_rtmp_conf_load(f->t.conf, &f->conf, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(cp_keytab_load(&f->keys, f->t.conf, err, sizeof(err)) == 0);
	cp_engine_init(&f->eng, &f->conf, &f->keys, NULL);
	f->eng.now_ms = 1000;
	struct cp_mgmt_env env = { NULL, f->t.conf, &f->eng, &f->conf, &f->keys, NULL, "kernel", NULL };
	f->m = cp_mgmt_create(&env, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->m);
}

static void fx_fini(struct fx *f)
{
	cp_mgmt_stop(f->m);
	cp_engine_fini(&f->eng);
	cp_keytab_free(&f->keys);
	tdir_rm(&f->t);
}

/* Send one request; returns the parsed answer (caller decrefs). */
static json_t *req(struct fx *f, const char *line)
{
	char *out = NULL;
	CU_ASSERT_EQUAL_FATAL(cp_mgmt_handle(f->m, line, strlen(line), &out), 0);
	json_t *a = json_loads(out, 0, NULL);
	free(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	return a;
}

static int is_error(json_t *a, const char *errname)
{
	return json_is_false(json_object_get(a, "ok")) &&
	       strcmp(json_string_value(json_object_get(a, "errno")), errname) == 0 &&
	       json_string_length(json_object_get(a, "error")) > 0;
}

static json_t *result(json_t *a)
{
	CU_ASSERT(json_is_true(json_object_get(a, "ok")));
	return json_object_get(a, "result");
}

static void test_dispatch_errors(void)
{
	struct fx f;
	fx_init(&f);
	const struct { const char *line, *err; } bad[] = {
		{ "", "EINVAL" }, { "{", "EINVAL" }, { "[1,2]", "EINVAL" }, { "{}", "EINVAL" },
		{ "{\"cmd\":7}", "EINVAL" }, { "{\"cmd\":\"nope\"}", "EINVAL" },
		{ "{\"cmd\":\"status\",\"cmd\":\"streams\"}", "EINVAL" },
		{ "{\"cmd\":\"kick\"}", "EINVAL" }, { "{\"cmd\":\"kick\",\"session\":\"3\"}", "EINVAL" },
		{ "{\"cmd\":\"kick\",\"session\":-1}", "EINVAL" },
		{ "{\"cmd\":\"kick\",\"session\":5}", "ENOENT" },
		{ "{\"cmd\":\"stream_stop\",\"stream\":\"nope\"}", "EINVAL" },
		{ "{\"cmd\":\"stream_stop\",\"stream\":\"a/b/c\"}", "EINVAL" },
		{ "{\"cmd\":\"stream_stop\",\"stream\":\"live/x\"}", "ENOENT" },
		{ "{\"cmd\":\"drain\",\"on\":\"yes\"}", "EINVAL" },
		{ "{\"cmd\":\"sessions\",\"stream\":3}", "EINVAL" },
		{ "{\"cmd\":\"keys_add\",\"channel\":\"bob\"}", "EINVAL" },
		{ "{\"cmd\":\"keys_add\",\"channel\":\"b b\",\"secret\":\"s1234\"}", "EINVAL" },
		{ "{\"cmd\":\"keys_add\",\"channel\":\"bob\",\"secret\":\"x=y\"}", "EINVAL" },
		{ "{\"cmd\":\"keys_add\",\"channel\":\"bob\",\"secret\":\"secret-alice-1234\"}", "EEXIST" },
		{ "{\"cmd\":\"keys_revoke\",\"channel\":\"nobody\"}", "ENOENT" },
		{ "{\"cmd\":\"archive_list\"}", "ENOTSUP" },
		{ "{\"cmd\":\"archive_repair\",\"file\":\"/etc/passwd\"}", "ENOENT" },
		{ "{\"cmd\":\"chat_rules_reload\"}", "ENOTSUP" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *a = req(&f, bad[i].line);
		if (!is_error(a, bad[i].err))
			fprintf(stderr, "\n  request %s: %s\n", bad[i].line, json_dumps(a, 0));
		CU_ASSERT(is_error(a, bad[i].err));
		json_decref(a);
	}
	struct cp_mgmt_stats st;
	cp_mgmt_get_stats(f.m, &st);
	CU_ASSERT_EQUAL(st.requests, sizeof(bad) / sizeof(bad[0]));
	CU_ASSERT_EQUAL(st.errors, sizeof(bad) / sizeof(bad[0]));
	fx_fini(&f);
}

static void test_dispatch_status_drain(void)
{
	struct fx f;
	fx_init(&f);
	json_t *a = req(&f, "{\"cmd\":\"help\"}");
	CU_ASSERT(json_is_string(json_object_get(result(a), "reload")));
	json_decref(a);
	a = req(&f, "{\"cmd\":\"status\"}");
	json_t *r = result(a);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "mode")), "kernel");
	CU_ASSERT(json_is_false(json_object_get(r, "draining")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(r, "totals"), "streams")), 0);
	json_decref(a);
	a = req(&f, "{\"cmd\":\"drain\",\"on\":true}");
	CU_ASSERT(json_is_true(json_object_get(result(a), "draining")));
	CU_ASSERT_EQUAL(f.eng.draining, 1);
	json_decref(a);
	a = req(&f, "{\"cmd\":\"drain\",\"on\":false}");
	CU_ASSERT_EQUAL(f.eng.draining, 0);
	json_decref(a);
	a = req(&f, "{\"cmd\":\"sessions\"}"); /* no transport: empty list */
	CU_ASSERT_EQUAL(json_array_size(result(a)), 0);
	json_decref(a);
	fx_fini(&f);
}

static void test_dispatch_streams(void)
{
	struct fx f;
	fx_init(&f);
	struct cp_session owner;
	memset(&owner, 0, sizeof(owner));
	owner.id = 7;
	struct cp_stream *st = cp_registry_get(&f.eng.reg, "live", "alice");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	void *prev = NULL;
	CU_ASSERT_EQUAL(cp_stream_publish(st, &owner, "secret-alice-1234", &prev), 0);
	static const uint8_t avc_seq[] = { 0x17, 0x00, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff };
	static const uint8_t aac_seq[] = { 0xaf, 0x00, 0x12, 0x10 };
	uint8_t frame[1000] = { 0x17, 0x01 };
	CU_ASSERT_EQUAL(cp_stream_ingest(st, 9, 0, avc_seq, sizeof(avc_seq)), 0);
	CU_ASSERT_EQUAL(cp_stream_ingest(st, 8, 0, aac_seq, sizeof(aac_seq)), 0);
	cp_mgmt_sample_streams(f.m);              /* t = 1000 ms */
	CU_ASSERT_EQUAL(cp_stream_ingest(st, 9, 40, frame, sizeof(frame)), 0);
	f.eng.now_ms = 2000;
	cp_mgmt_sample_streams(f.m);              /* 1000 bytes in 1 s */
	CU_ASSERT_EQUAL(cp_mgmt_stream_bps(f.m, st->id), 8000);
	json_t *a = req(&f, "{\"cmd\":\"streams\"}");
	json_t *s = json_array_get(result(a), 0);
	CU_ASSERT_EQUAL(json_array_size(result(a)), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "stream")), "live/alice");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "video_codec")), "h264");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s, "audio_codec")), "aac");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "bitrate_bps")), 8000);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(s, "publisher"),
							   "session")), 7);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "uptime_s")), 1);
	CU_ASSERT(json_is_true(json_object_get(s, "live")));
	json_decref(a);
	/* Metrics: the same numbers, well-formed. */
	char *text;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(cp_metrics_render(f.m, &text, &len), 0);
	CU_ASSERT_EQUAL(strlen(text), len);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nlifecast_stream_bitrate_bps{app=\"live\",stream=\"alice\"} 8000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nlifecast_streams_live 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nlifecast_stream_keys 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE lifecast_bytes_in_total counter\n"));
	free(text);
	cp_stream_unpublish(st, &owner, f.eng.now_ms);
	fx_fini(&f);
}

static void test_metrics_escape(void)
{
	char out[32];
	CU_ASSERT_EQUAL(cp_metrics_escape("a\"b\\c\nd", out, sizeof(out)), 10);
	CU_ASSERT_STRING_EQUAL(out, "a\\\"b\\\\c\\nd");
	/* Cut before an escape that would not fit, never in its middle. */
	CU_ASSERT_EQUAL(cp_metrics_escape("ab\"", out, 4), 2);
	CU_ASSERT_STRING_EQUAL(out, "ab");
	CU_ASSERT_EQUAL(cp_metrics_escape("abc", out, 1), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	struct fx f;
	fx_init(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cp_registry_get(&f.eng.reg, "test", "q\"u\\o"));
	char *text;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(cp_metrics_render(f.m, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "lifecast_stream_viewers{app=\"test\",stream=\"q\\\"u\\\\o\"} 0\n"));
	free(text);
	fx_fini(&f);
}

static void test_dispatch_keys(void)
{
	struct fx f;
	fx_init(&f);
	json_t *a = req(&f, "{\"cmd\":\"keys_add\",\"channel\":\"bob\",\"secret\":\"secret-bob-5678\"}");
	CU_ASSERT(json_is_false(json_object_get(result(a), "replaced")));
	json_decref(a);
	CU_ASSERT_STRING_EQUAL(cp_keytab_channel(&f.keys, "secret-bob-5678"), "bob");
	a = req(&f, "{\"cmd\":\"keys_add\",\"channel\":\"bob\",\"secret\":\"secret-bob-9999\"}");
	CU_ASSERT(json_is_true(json_object_get(result(a), "replaced")));
	json_decref(a);
	CU_ASSERT_PTR_NULL(cp_keytab_channel(&f.keys, "secret-bob-5678"));
	CU_ASSERT_STRING_EQUAL(cp_keytab_channel(&f.keys, "secret-bob-9999"), "bob");
	a = req(&f, "{\"cmd\":\"keys_list\"}");
	json_t *k = json_object_get(result(a), "keys");
	CU_ASSERT_EQUAL(json_array_size(k), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(k, 1), "secret")),
			       "****9999");
	json_decref(a);
	/* The file agrees with the live table. */
	struct cp_keytab t = { 0 };
	char err[256];
	CU_ASSERT_EQUAL(cp_keytab_load(&t, f.t.conf, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(t.n, 2);
	CU_ASSERT_STRING_EQUAL(cp_keytab_channel(&t, "secret-bob-9999"), "bob");
	cp_keytab_free(&t);
	a = req(&f, "{\"cmd\":\"keys_revoke\",\"channel\":\"alice\"}");
	CU_ASSERT(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	CU_ASSERT_EQUAL(f.keys.n, 1);
	CU_ASSERT_PTR_NULL(cp_keytab_channel(&f.keys, "secret-alice-1234"));
	char *txt = slurp(f.t.conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
	CU_ASSERT_PTR_NULL(strstr(txt, "secret-alice"));
	CU_ASSERT_PTR_NOT_NULL(strstr(txt, "[chat_tokens]\nalice = token-1\n")); /* other section */
	free(txt);
	fx_fini(&f);
}

/* A transport whose close unpublishes at once, as the real ones do. */
static const char *fake_close_reason;
static void fake_close(void *t, const char *reason)
{
	struct cp_session *s = t;
	fake_close_reason = reason;
	if (s->stream)
		cp_stream_unpublish(s->stream, s, s->eng->now_ms);
	s->stream = NULL;
}
static const struct cp_transport_ops fake_ops = { .close = fake_close };

static void fake_publish(struct fx *f, struct cp_session *s, uint64_t id, const char *app,
			 const char *name, const char *key)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->eng = &f->eng;
	s->ops = &fake_ops;
	s->t = s;
	s->role = CP_ROLE_PUBLISHER;
	s->stream = cp_registry_get(&f->eng.reg, app, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->stream);
	void *prev = NULL;
	CU_ASSERT_EQUAL_FATAL(cp_stream_publish(s->stream, s, key, &prev), 0);
}

static int stream_live(struct fx *f, const char *app, const char *name)
{
	struct cp_stream *st = cp_registry_find(&f->eng.reg, app, name);
	return st && st->live;
}

/* Revoking or replacing a key cuts the publisher that used it and ends its
 * stream; other keys' and open apps' publishers stay. */
static void test_keys_cut_publishers(void)
{
	struct fx f;
	fx_init(&f);
	struct cp_session alice, open, alice2;
	fake_publish(&f, &alice, 7, "live", "alice", "secret-alice-1234");
	fake_publish(&f, &open, 8, "test", "x", "\001session-8");
	/* A new channel's key cuts nobody. */
	json_t *a = req(&f, "{\"cmd\":\"keys_add\",\"channel\":\"bob\",\"secret\":\"secret-bob-5678\"}");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(result(a), "publishers_cut")), 0);
	json_decref(a);
	CU_ASSERT(stream_live(&f, "live", "alice") && stream_live(&f, "test", "x"));
	/* Re-keying alice cuts the publisher on the old secret. */
	fake_close_reason = NULL;
	a = req(&f, "{\"cmd\":\"keys_add\",\"channel\":\"alice\",\"secret\":\"secret-alice-new1\"}");
	json_t *cut = json_object_get(result(a), "publishers_cut");
	CU_ASSERT_EQUAL(json_array_size(cut), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(cut, 0), "stream")),
			       "live/alice");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(cut, 0),
							   "publisher_session")), 7);
	json_decref(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake_close_reason);
	CU_ASSERT_STRING_EQUAL(fake_close_reason, "stream key revoked");
	CU_ASSERT(!stream_live(&f, "live", "alice")); /* ended, no grace period */
	CU_ASSERT(stream_live(&f, "test", "x"));
	/* Back on the new key; revoking alice cuts it again. */
	fake_publish(&f, &alice2, 9, "live", "alice", "secret-alice-new1");
	a = req(&f, "{\"cmd\":\"keys_revoke\",\"channel\":\"alice\"}");
	cut = json_object_get(result(a), "publishers_cut");
	CU_ASSERT_EQUAL(json_array_size(cut), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(cut, 0),
							   "publisher_session")), 9);
	json_decref(a);
	CU_ASSERT(!stream_live(&f, "live", "alice"));
	CU_ASSERT(stream_live(&f, "test", "x"));
	/* A key removed by hand from the file: reload cuts its publisher. */
	struct cp_session bob;
	fake_publish(&f, &bob, 10, "live", "bob", "secret-bob-5678");
	FILE *fp = fopen(f.t.conf, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[rtmp]\napps = live:keyed test:open\n[keys]\ncarol = secret-carol-1\n", fp);
	fclose(fp);
	a = req(&f, "{\"cmd\":\"reload\"}");
	cut = json_object_get(json_object_get(result(a), "keys"), "publishers_cut");
	CU_ASSERT_EQUAL(json_array_size(cut), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(cut, 0), "stream")),
			       "live/bob");
	json_decref(a);
	CU_ASSERT(!stream_live(&f, "live", "bob"));
	CU_ASSERT(stream_live(&f, "test", "x"));
	char *text;
	size_t len;
	CU_ASSERT_EQUAL_FATAL(cp_metrics_render(f.m, &text, &len), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nlifecast_key_revoked_publishers_total 3\n"));
	free(text);
	cp_stream_unpublish(open.stream, &open, f.eng.now_ms);
	fx_fini(&f);
}

static void test_reload(void)
{
	struct fx f;
	fx_init(&f);
	char *txt = slurp(f.t.conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(txt);
	/* Reloadable: viewer_hard_limit; not: chunk_size; keys: carol added. */
	char *p = strstr(txt, "viewer_hard_limit = 16M");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, "viewer_hard_limit = 32M", 23);
	FILE *fp = fopen(f.t.conf, "w");
	fprintf(fp, "%s[rtmp]\nchunk_size = 8192\n[keys]\ncarol = secret-carol-1\n", txt);
	fclose(fp);
	free(txt);
	json_t *a = req(&f, "{\"cmd\":\"reload\"}");
	json_t *r = result(a);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "applied")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(r, "applied"), 0)),
			       "rtmp.viewer_hard_limit");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "restart_required")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(r, "restart_required"),
								0)), "rtmp.chunk_size");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(json_object_get(r,
							"keys"), "added"), 0)), "carol");
	json_decref(a);
	CU_ASSERT_EQUAL(f.conf.viewer_hard_limit, 32u << 20);
	CU_ASSERT_EQUAL(f.eng.reg.lim.hard_limit, 32u << 20);   /* registry follows */
	CU_ASSERT_EQUAL(f.conf.chunk_size, 4096);               /* not live */
	CU_ASSERT_STRING_EQUAL(cp_keytab_channel(&f.keys, "secret-carol-1"), "carol");
	/* A bad file changes nothing. */
	fp = fopen(f.t.conf, "a");
	fprintf(fp, "[rtmp]\nviewer_hard_limit = lots\n");
	fclose(fp);
	a = req(&f, "{\"cmd\":\"reload\"}");
	CU_ASSERT(is_error(a, "EINVAL"));
	json_decref(a);
	CU_ASSERT_EQUAL(f.conf.viewer_hard_limit, 32u << 20);
	fx_fini(&f);
}

/* ---- [keys] rewrite ---- */

static void check_rewrite(const char *before, const char *channel, const char *secret, int rc,
			  const char *after)
{
	struct tdir t;
	tdir_make(&t, before);
	CU_ASSERT_EQUAL(cp_mgmt_keys_rewrite(t.conf, channel, secret), rc);
	char *got = slurp(t.conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	if (strcmp(got, after) != 0)
		fprintf(stderr, "\n  rewrite %s: got\n%s\n  want\n%s\n", channel, got, after);
	CU_ASSERT_STRING_EQUAL(got, after);
	CU_ASSERT_EQUAL(count_files(t.dir), 1); /* no temporary file left */
	free(got);
	tdir_rm(&t);
}

static void test_keys_rewrite(void)
{
	const char *f1 = "# top\n[a]\nx = 1\n\n[keys]\n# comment\nalice = s-alice\n\n[b]\nalice = other\n";
	check_rewrite(f1, "bob", "s-bob", 0,
		      "# top\n[a]\nx = 1\n\n[keys]\n# comment\nalice = s-alice\nbob = s-bob\n\n"
		      "[b]\nalice = other\n");
	check_rewrite(f1, "alice", "s-new", 0,
		      "# top\n[a]\nx = 1\n\n[keys]\n# comment\nalice = s-new\n\n[b]\nalice = other\n");
	check_rewrite(f1, "alice", NULL, 0,
		      "# top\n[a]\nx = 1\n\n[keys]\n# comment\n\n[b]\nalice = other\n");
	check_rewrite(f1, "carol", NULL, -ENOENT, f1);
	check_rewrite(f1, "bad name", "s", -EINVAL, f1);
	check_rewrite(f1, "bob", "s#x", -EINVAL, f1);
	check_rewrite(f1, "", "s", -EINVAL, f1);
	/* No [keys] section (and no final newline): appended. */
	check_rewrite("[a]\nx = 1", "bob", "s-bob", 0, "[a]\nx = 1\n\n[keys]\nbob = s-bob\n");
	/* Section of comments only, last in the file without newline. */
	check_rewrite("[keys]\n# alice = example", "bob", "s-bob", 0,
		      "[keys]\n# alice = example\nbob = s-bob\n");
	/* Indented keys and spaces around '=' are recognised. */
	check_rewrite("[ keys ]\n  alice=s1\n", "alice", "s2", 0, "[ keys ]\nalice = s2\n");
	/* CRLF lines are kept as they are. */
	check_rewrite("[keys]\r\nalice = s1\r\n[x]\r\n", "bob", "s2", 0,
		      "[keys]\r\nalice = s1\r\nbob = s2\n[x]\r\n");
}

static void test_keys_rewrite_atomic(void)
{
	struct tdir t;
	struct stat a, b;
	tdir_make(&t, "[keys]\nalice = s1\n");
	chmod(t.conf, 0640);
	CU_ASSERT_EQUAL_FATAL(stat(t.conf, &a), 0);
	CU_ASSERT_EQUAL(cp_mgmt_keys_rewrite(t.conf, "bob", "s2"), 0);
	CU_ASSERT_EQUAL_FATAL(stat(t.conf, &b), 0);
	CU_ASSERT_NOT_EQUAL(a.st_ino, b.st_ino);        /* replaced by rename, not rewritten */
	CU_ASSERT_EQUAL(b.st_mode & 07777, 0640);       /* mode kept */
	/* A read-only directory: the temp file cannot be created, the file
	 * stays as it was (skipped as root, who may write anyway). */
	if (geteuid() != 0) {
		chmod(t.dir, 0500);
		CU_ASSERT_EQUAL(cp_mgmt_keys_rewrite(t.conf, "carol", "s3"), -EACCES);
		chmod(t.dir, 0700);
	}
	char *got = slurp(t.conf);
	CU_ASSERT_STRING_EQUAL(got, "[keys]\nalice = s1\nbob = s2\n");
	free(got);
	CU_ASSERT_EQUAL(cp_mgmt_keys_rewrite("/nonexistent/lc.conf", "bob", "s2"), -ENOENT);
	CU_ASSERT_EQUAL(cp_mgmt_keys_rewrite(t.dir, "bob", "s2"), -EINVAL); /* a directory */
	tdir_rm(&t);
}

/* ---- a client that pipelines requests and never reads the answers ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Write what the socket takes of buf[*off..len), then run the loop once. */
static void pump(uv_loop_t *loop, int fd, const char *buf, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = write(fd, buf + *off, len - *off);
		if (n <= 0)
			break;
		*off += (size_t)n;
	}
	uv_run(loop, UV_RUN_NOWAIT);
}

static void test_client_backpressure(void)
{
	enum { NREQ = 20000 };
	struct fx f;
	uv_loop_t loop;
	char err[512], sock[128];
	fx_init(&f);
	cp_mgmt_stop(f.m); /* the fixture's loop-less instance */
	CU_ASSERT_EQUAL_FATAL(uv_loop_init(&loop), 0);
	struct cp_mgmt_env env = { &loop, f.t.conf, &f.eng, &f.conf, &f.keys, NULL, "kernel", NULL };
	f.m = cp_mgmt_create(&env, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.m);
	snprintf(sock, sizeof(sock), "%s/mgmt.sock", f.t.dir);
	CU_ASSERT_EQUAL_FATAL(cp_mgmt_listen(f.m, sock), 0);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	CU_ASSERT_FATAL(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	static const char line[] = "{\"cmd\":\"help\"}\n";
	size_t len = (sizeof(line) - 1) * NREQ, off = 0;
	char *reqs = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reqs);
	for (size_t i = 0; i < NREQ; i++)
		memcpy(reqs + i * (sizeof(line) - 1), line, sizeof(line) - 1);

	/* Not reading: the server must stop taking requests, not queue
	 * every answer (about 1 KiB each) in memory. */
	for (uint64_t end = mono_ms() + 1000; mono_ms() < end;)
		pump(&loop, fd, reqs, len, &off);
	struct cp_mgmt_stats st;
	cp_mgmt_get_stats(f.m, &st);
	CU_ASSERT(st.requests > 0);
	CU_ASSERT(st.requests < NREQ / 4);

	/* Reading: every request is answered once the replies drain. */
	size_t lines = 0;
	char rb[65536];
	for (uint64_t end = mono_ms() + 10000; lines < NREQ && mono_ms() < end;) {
		ssize_t n;
		while ((n = read(fd, rb, sizeof(rb))) > 0)
			for (ssize_t i = 0; i < n; i++)
				lines += rb[i] == '\n';
		pump(&loop, fd, reqs, len, &off);
	}
	CU_ASSERT_EQUAL(lines, NREQ);
	cp_mgmt_get_stats(f.m, &st);
	CU_ASSERT_EQUAL(st.requests, NREQ);

	close(fd);
	free(reqs);
	cp_mgmt_stop(f.m);
	f.m = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	CU_ASSERT_EQUAL(uv_loop_close(&loop), 0);
	fx_fini(&f);
}

int test_cp_mgmt_register(void)
{
	CU_pSuite s = CU_add_suite("cp_mgmt", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "frame: guard page, every truncation", test_frame_guard) ||
	    !CU_add_test(s, "frame: limits", test_frame_limits) ||
	    !CU_add_test(s, "dispatch: errors", test_dispatch_errors) ||
	    !CU_add_test(s, "dispatch: status, drain", test_dispatch_status_drain) ||
	    !CU_add_test(s, "dispatch: streams, bitrate, metrics", test_dispatch_streams) ||
	    !CU_add_test(s, "metrics: label escaping", test_metrics_escape) ||
	    !CU_add_test(s, "dispatch: keys", test_dispatch_keys) ||
	    !CU_add_test(s, "keys: revoked or replaced keys cut their publishers",
			 test_keys_cut_publishers) ||
	    !CU_add_test(s, "dispatch: reload", test_reload) ||
	    !CU_add_test(s, "keys rewrite: content", test_keys_rewrite) ||
	    !CU_add_test(s, "keys rewrite: atomic", test_keys_rewrite_atomic) ||
	    !CU_add_test(s, "client: unsent replies bound reading", test_client_backpressure))
		return -1;
	return 0;
}
