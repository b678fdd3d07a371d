#include "controlplane/cp_rtmp_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct cp_rtmp_conf, f)

const struct cp_conf_key cp_rtmp_conf_keys[] = {
	{ "rtmp", "listen", CP_CONF_ADDR, OFF(listen), ":1935", 0, 0, 0,
	  "address and TCP port of the RTMP listener (--kernel-listen overrides)" },
	{ "rtmp", "dataplane", CP_CONF_STR, OFF(dataplane), "", 0, 0, 0,
	  "dataplane IPC socket (lifecast-dp [dataplane] cp_socket); empty = kernel sockets only" },
	{ "rtmp", "chunk_size", CP_CONF_UINT, OFF(chunk_size), "4096", 128, 65536, 0,
	  "outgoing chunk size announced with Set Chunk Size" },
	{ "rtmp", "max_message_size", CP_CONF_SIZE, OFF(max_message_size), "8M", 1024,
	  16777215, 0, "largest RTMP message accepted from a client (24-bit length field)" },
	{ "rtmp", "chunk_size_cap", CP_CONF_UINT, OFF(chunk_size_cap), "65536", 128,
	  16777215, 0, "largest chunk size a client may set" },
	{ "rtmp", "window_ack_size", CP_CONF_SIZE, OFF(window_ack_size), "2500000", 4096,
	  0x7fffffff, 0, "Window Acknowledgement Size announced at connect" },
	{ "rtmp", "handshake_timeout", CP_CONF_DURATION, OFF(handshake_timeout_ms), "5s", 100,
	  0, 1, "time allowed for C0/C1/C2" },
	{ "rtmp", "command_timeout", CP_CONF_DURATION, OFF(command_timeout_ms), "10s", 100, 0,
	  1, "time allowed from the handshake to publish or play" },
	{ "rtmp", "idle_timeout", CP_CONF_DURATION, OFF(idle_timeout_ms), "30s", 100, 0, 1,
	  "publisher silent, or viewer not draining, for this long: disconnect" },
	{ "rtmp", "max_connections", CP_CONF_UINT, OFF(max_connections), "1024", 1, 1000000, 1,
	  "simultaneous RTMP connections; more are accepted and closed at once" },
	{ "rtmp", "conn_memory_cap", CP_CONF_SIZE, OFF(conn_memory_cap), "32M", 65536, 0, 1,
	  "per connection: input, message reassembly and queued control output" },
	{ "rtmp", "viewer_skip_threshold", CP_CONF_SIZE, OFF(viewer_skip_threshold), "4M", 1024,
	  0, 1, "viewer backlog (bytes) past which it skips to the newest keyframe" },
	{ "rtmp", "viewer_hard_limit", CP_CONF_SIZE, OFF(viewer_hard_limit), "16M", 1024, 0, 1,
	  "viewer backlog (bytes) past which it is disconnected" },
	{ "rtmp", "viewer_sndbuf", CP_CONF_SIZE, OFF(viewer_sndbuf), "0", 0, 64 << 20, 1,
	  "kernel send buffer of viewer sockets (0 = autotuning); smaller sees slow viewers sooner" },
	{ "rtmp", "gop_cache_max", CP_CONF_SIZE, OFF(gop_cache_max), "16M", 0, 0, 1,
	  "bytes of the current GOP kept so new viewers start at a keyframe (0 = off)" },
	{ "rtmp", "publish_grace", CP_CONF_DURATION, OFF(publish_grace_ms), "5s", 0, 0, 1,
	  "after a publisher leaves, viewers wait this long for it to come back" },
	{ "rtmp", "play_wait", CP_CONF_BOOL, OFF(play_wait), "yes", 0, 0, 1,
	  "play of a stream not live: wait for it (yes) or NetStream.Play.StreamNotFound (no)" },
	{ "rtmp", "open_publish", CP_CONF_BOOL, OFF(open_publish), "no", 0, 0, 1,
	  "every app accepts any stream name, unknown apps included (--open-publish)" },
	{ "rtmp", "apps", CP_CONF_STR, OFF(apps_spec), "live:keyed test:open", 0, 0, 1,
	  "apps served, NAME:open (any stream name) or NAME:keyed (stream keys from [keys])" },
};
const size_t cp_rtmp_conf_nkeys = sizeof(cp_rtmp_conf_keys) / sizeof(cp_rtmp_conf_keys[0]);

static int parse_app(struct cp_app *a, const char *tok, size_t len, char *err, size_t errlen)
{
	const char *colon = memchr(tok, ':', len);
	size_t nlen = colon ? (size_t)(colon - tok) : len;
	if (nlen == 0 || nlen >= sizeof(a->name)) {
		snprintf(err, errlen, "rtmp.apps: bad app name in '%.*s'", (int)len, tok);
		return -EINVAL;
	}
	memcpy(a->name, tok, nlen);
	a->name[nlen] = '\0';
	a->open = 0;
	if (!colon)
		return 0;
	const char *mode = colon + 1;
	size_t mlen = len - nlen - 1;
	if (mlen == 4 && memcmp(mode, "open", 4) == 0)
		a->open = 1;
	else if (!(mlen == 5 && memcmp(mode, "keyed", 5) == 0)) {
		snprintf(err, errlen, "rtmp.apps: '%.*s': mode must be open or keyed", (int)len,
			 tok);
		return -EINVAL;
	}
	return 0;
}

int cp_rtmp_conf_parse_apps(struct cp_rtmp_conf *c, const char *spec, char *err,
			    size_t errlen)
{
	size_t n = 0;
	const char *p = spec;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, " \t,");
		if (n == CP_APPS_MAX) {
			snprintf(err, errlen, "rtmp.apps: more than %d apps", CP_APPS_MAX);
			return -EINVAL;
		}
		int rc = parse_app(&c->apps[n], p, len, err, errlen);
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(c->apps[i].name, c->apps[n].name) == 0) {
				snprintf(err, errlen, "rtmp.apps: app '%s' listed twice",
					 c->apps[n].name);
				return -EINVAL;
			}
		}
		n++;
		p += len;
	}
	c->napps = n;
	return 0;
}

int cp_rtmp_conf_load(const char *path, struct cp_rtmp_conf *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	int rc = cp_conf_load(path, cp_rtmp_conf_keys, cp_rtmp_conf_nkeys, c, err, errlen);
	if (rc != 0)
		return rc;
	rc = cp_rtmp_conf_parse_apps(c, c->apps_spec, err, errlen);
	if (rc != 0)
		return rc;
	if (c->viewer_skip_threshold > c->viewer_hard_limit) {
		snprintf(err, errlen, "rtmp.viewer_skip_threshold must not exceed viewer_hard_limit");
		return -EINVAL;
	}
	return 0;
}

const struct cp_app *cp_rtmp_conf_app(const struct cp_rtmp_conf *c, const char *name,
				      struct cp_app *fallback)
{
	for (size_t i = 0; i < c->napps; i++)
		if (strcmp(c->apps[i].name, name) == 0)
			return &c->apps[i];
	if (!c->open_publish || strlen(name) >= sizeof(fallback->name) || name[0] == '\0')
		return NULL;
	snprintf(fallback->name, sizeof(fallback->name), "%s", name);
	fallback->open = 1;
	return fallback;
}

int cp_keytab_add(struct cp_keytab *t, const char *channel, const char *secret)
{
	size_t cl = strlen(channel), sl = strlen(secret);
	if (cl == 0 || sl == 0 || cl >= CP_STREAM_NAME_MAX || sl >= CP_STREAM_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].channel, channel) == 0 || strcmp(t->v[i].secret, secret) == 0)
			return -EINVAL;
	if (t->n == CP_KEYTAB_MAX)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct cp_keytab_entry *nv = realloc(t->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = ncap;
	}
	memcpy(t->v[t->n].channel, channel, cl + 1);
	memcpy(t->v[t->n].secret, secret, sl + 1);
	t->n++;
	return 0;
}

struct keys_ctx {
	struct cp_keytab *t;
	const char *path;
	char *err;
	size_t errlen;
};

static int key_pair(void *arg, const char *key, const char *value, int line)
{
	struct keys_ctx *k = arg;
	int rc = cp_keytab_add(k->t, key, value);
	if (rc != 0)
		snprintf(k->err, k->errlen, "%s:%d: [keys] %s: %s", k->path, line, key,
			 rc == -EINVAL ? "empty, too long, or duplicate channel/secret" :
			 strerror(-rc));
	return rc;
}

int cp_keytab_load(struct cp_keytab *t, const char *path, char *err, size_t errlen)
{
	if (!path)
		return 0;
	struct keys_ctx k = { t, path, err, errlen };
	return cp_conf_pairs(path, "keys", key_pair, &k, err, errlen);
}

const char *cp_keytab_channel(const struct cp_keytab *t, const char *secret)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].secret, secret) == 0)
			return t->v[i].channel;
	return NULL;
}

void cp_keytab_free(struct cp_keytab *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
	t->cap = 0;
}
