/* Management socket: framing, dispatch, life cycle and the 1 s sampler. */
#include "controlplane/cp_mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_metrics.h"
#include "controlplane/cp_mgmt_int.h"

#define SAMPLE_MS 1000
/* Unsent replies per client above which its requests are no longer read
 * (a client that pipelines requests and never reads the answers would
 * otherwise grow our memory without bound); reading resumes once the
 * replies are written. At most one reply more than this is queued. */
#define CLIENT_UNSENT_MAX (256u * 1024u)

#define OFF(f) offsetof(struct cp_mgmt_conf, f)
const struct cp_conf_key cp_mgmt_conf_keys[] = {
	{ "control", "socket", CP_CONF_STR, OFF(socket), CP_MGMT_DEFAULT_SOCKET, 0, 0, 0,
	  "Unix socket of the management interface (lifecastctl -s; --mgmt-socket overrides)" },
	{ "control", "bitrate_window", CP_CONF_DURATION, OFF(bitrate_window_ms), "5s", 1000,
	  15000, 1, "stream bitrates shown by lifecastctl and /metrics average this long" },
};
const size_t cp_mgmt_conf_nkeys = sizeof(cp_mgmt_conf_keys) / sizeof(cp_mgmt_conf_keys[0]);
#undef OFF

struct cp_mgmt_client {
	uv_pipe_t pipe;
	struct cp_mgmt *m;
	struct cp_mgmt_client *prev, *next;
	char *buf;
	size_t len;
	size_t unsent;   /* bytes queued in uv_write, not yet written */
	int closing;
	int paused;      /* reading stopped until unsent drops to the limit */
};

struct out_req {
	uv_write_t req;
	struct cp_mgmt_client *c;
	size_t len;
	char data[];
};

/* ---- framing and dispatch ---- */

ssize_t cp_mgmt_frame(const char *buf, size_t len, size_t max, size_t *line_len)
{
	size_t scan = len < max ? len : max;
	const char *nl = memchr(buf, '\n', scan);
	if (!nl)
		return len >= max ? -EMSGSIZE : 0;
	size_t n = (size_t)(nl - buf);
	*line_len = (n > 0 && buf[n - 1] == '\r') ? n - 1 : n;
	return (ssize_t)(n + 1);
}

static int cmd_help(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);
static int cmd_chat_reload(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n);

static const struct {
	const char *name;
	cp_mgmt_cmd_fn fn;
	const char *help;
} cmds[] = {
	{ "status", cp_mgmt_cmd_status, "uptime, version, mode, ports, totals" },
	{ "streams", cp_mgmt_cmd_streams, "live streams with codecs, bitrate, viewers" },
	{ "sessions", cp_mgmt_cmd_sessions, "connections [stream]" },
	{ "kick", cp_mgmt_cmd_kick, "disconnect one session [session]" },
	{ "stream_stop", cp_mgmt_cmd_stream_stop, "disconnect a publisher, end its stream [stream]" },
	{ "keys_list", cp_mgmt_cmd_keys_list, "stream keys (secrets masked)" },
	{ "keys_add", cp_mgmt_cmd_keys_add, "add or change a stream key [channel, secret]" },
	{ "keys_revoke", cp_mgmt_cmd_keys_revoke, "remove a stream key [channel]" },
	{ "archive_list", cp_mgmt_cmd_archive_list, "recordings [app, stream]" },
	{ "archive_repair", cp_mgmt_cmd_archive_repair, "repair a recording [file]" },
	{ "stats", cp_mgmt_cmd_stats, "per-worker rates, drops, retransmits" },
	{ "drain", cp_mgmt_cmd_drain, "refuse new viewers [on]" },
	{ "reload", cp_mgmt_cmd_reload, "re-read lifecast.conf, apply what can change live" },
	{ "chat_rules_reload", cmd_chat_reload, "recompile the chat moderation rules" },
	{ "help", cmd_help, "this list" },
};

static int cmd_help(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		json_object_set_new(o, cmds[i].name, json_string(cmds[i].help));
	*res = o;
	return 0;
}

static int cmd_chat_reload(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	if (!m->chat_reload) {
		snprintf(err, n, "chat is not running");
		return -ENOTSUP;
	}
	int rc = m->chat_reload(m->chat_ctx);
	if (rc != 0) {
		snprintf(err, n, rc == -EBUSY ? "a rules reload is already running" :
			 "rules reload failed: %s", strerror(-rc));
		return rc;
	}
	*res = json_pack("{s:s}", "status", "scheduled");
	return 0;
}

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOTSUP: return "ENOTSUP";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EMSGSIZE: return "EMSGSIZE";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	default: return "EFAIL";
	}
}

static char *error_answer(int rc, const char *msg)
{
	json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", msg, "errno", errno_name(-rc));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static char *run(struct cp_mgmt *m, json_t *req)
{
	char err[512] = "";
	const char *name = json_string_value(json_object_get(req, "cmd"));
	if (!name) {
		m->st.errors++;
		return error_answer(-EINVAL, "request has no \"cmd\" string");
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, name) != 0)
			continue;
		json_t *result = NULL;
		int rc = cmds[i].fn(m, req, &result, err, sizeof(err));
		if (rc != 0) {
			json_decref(result);
			m->st.errors++;
			return error_answer(rc, err[0] ? err : strerror(-rc));
		}
		json_t *o = json_pack("{s:b,s:o}", "ok", 1, "result", result ? result : json_null());
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		return s;
	}
	m->st.errors++;
	snprintf(err, sizeof(err), "unknown command '%.64s' (try help)", name);
	return error_answer(-EINVAL, err);
}

int cp_mgmt_handle(struct cp_mgmt *m, const char *line, size_t len, char **out)
{
	json_error_t je;
	m->st.requests++;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!req || !json_is_object(req)) {
		char err[256];
		snprintf(err, sizeof(err), "bad request: %s", req ? "not a JSON object" : je.text);
		json_decref(req);
		m->st.errors++;
		*out = error_answer(-EINVAL, err);
	} else {
		*out = run(m, req);
		json_decref(req);
	}
	return *out ? 0 : -ENOMEM;
}

/* ---- clients ---- */

static void on_client_closed(uv_handle_t *h)
{
	struct cp_mgmt_client *c = h->data;
	struct cp_mgmt *m = c->m;
	if (c->prev)
		c->prev->next = c->next;
	else
		m->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->buf);
	free(c);
	if (--m->handles == 0 && m->stopping)
		free(m);
}

static void client_close(struct cp_mgmt_client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void client_drain(struct cp_mgmt_client *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

/* Runs before the client's close callback (uv_close cancels pending writes
 * with UV_ECANCELED first), so w->c is still valid. */
static void on_written(uv_write_t *req, int status)
{
	struct out_req *w = (struct out_req *)req;
	struct cp_mgmt_client *c = w->c;
	c->unsent -= w->len;
	free(w);
	if (!c->paused || c->closing || c->unsent > CLIENT_UNSENT_MAX)
		return;
	c->paused = 0;
	client_drain(c); /* lines buffered when reading stopped */
	if (!c->paused && !c->closing &&
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0)
		client_close(c);
}

static int client_send(struct cp_mgmt_client *c, const char *s)
{
	size_t n = strlen(s);
	struct out_req *w = malloc(sizeof(*w) + n + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w->data, s, n);
	w->data[n] = '\n';
	w->len = n + 1;
	w->c = c;
	uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written);
	if (rc != 0) {
		free(w);
		return rc;
	}
	c->unsent += w->len;
	if (c->unsent > CLIENT_UNSENT_MAX && !c->paused) {
		c->paused = 1;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
	return 0;
}

/* Answer every complete line in the client's buffer. */
static void client_drain(struct cp_mgmt_client *c)
{
	size_t off = 0;
	while (!c->closing && !c->paused && off < c->len) {
		size_t ll;
		ssize_t n = cp_mgmt_frame(c->buf + off, c->len - off, CP_MGMT_LINE_MAX, &ll);
		if (n == 0)
			break;
		char *ans = NULL;
		if (n < 0) {
			ans = error_answer(-EMSGSIZE, "request line too long");
			if (ans)
				client_send(c, ans);
			free(ans);
			client_close(c);
			return;
		}
		if (cp_mgmt_handle(c->m, c->buf + off, ll, &ans) != 0 || client_send(c, ans) != 0)
			client_close(c);
		free(ans);
		off += (size_t)n;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct cp_mgmt_client *c = h->data;
	/* Buffer holds at most one line: CP_MGMT_LINE_MAX + one read. */
	size_t want = c->len + 4096;
	char *nb = want <= CP_MGMT_LINE_MAX + 4096 ? realloc(c->buf, want) : NULL;
	if (!nb) {
		*b = uv_buf_init(NULL, 0);
		return;
	}
	c->buf = nb;
	*b = uv_buf_init(c->buf + c->len, 4096);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct cp_mgmt_client *c = s->data;
	if (nread < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)nread;
	client_drain(c);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct cp_mgmt *m = l->data;
	if (status < 0 || m->stopping)
		return;
	struct cp_mgmt_client *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->m = m;
	uv_pipe_init(m->env.loop, &c->pipe, 0);
	c->pipe.data = c;
	m->handles++;
	c->next = m->clients;
	if (m->clients)
		m->clients->prev = c;
	m->clients = c;
	if (uv_accept(l, (uv_stream_t *)&c->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0)
		client_close(c);
}

/* ---- life cycle ---- */

uint64_t cp_mgmt_now(const struct cp_mgmt *m)
{
	return m->env.loop ? uv_now(m->env.loop) : m->env.eng->now_ms;
}

static int read_dp_socket(void *arg, const char *key, const char *value, int line)
{
	struct cp_mgmt *m = arg;
	if (strcmp(key, "stats_socket") == 0)
		snprintf(m->dp.path, sizeof(m->dp.path), "%s", value);
	return 0;
}

struct cp_mgmt *cp_mgmt_create(const struct cp_mgmt_env *env, char *err, size_t errlen)
{
	struct cp_mgmt *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->env = *env;
	if (env->conf_path)
		snprintf(m->conf_path, sizeof(m->conf_path), "%s", env->conf_path);
	m->env.conf_path = env->conf_path ? m->conf_path : NULL;
	if (!m->env.mode)
		m->env.mode = "kernel";
	int rc = cp_conf_load(env->conf_path, cp_mgmt_conf_keys, cp_mgmt_conf_nkeys, &m->conf,
			      err, errlen);
	if (rc == 0 && env->conf_path)
		rc = cp_conf_pairs(env->conf_path, "dataplane", read_dp_socket, m, err, errlen);
	if (rc == 0)
		rc = cp_mgmt_reload_init(m, err, errlen);
	if (rc != 0) {
		free(m);
		errno = -rc;
		return NULL;
	}
	m->started_ms = cp_mgmt_now(m);
	m->started_wall = time(NULL);
	return m;
}

void cp_mgmt_set_archive(struct cp_mgmt *m, struct cp_archive *a)
{
	m->archive = a;
}

void cp_mgmt_set_chat(struct cp_mgmt *m, int (*chat_reload)(void *ctx), void *ctx)
{
	m->chat_reload = chat_reload;
	m->chat_ctx = ctx;
}

void cp_mgmt_get_stats(const struct cp_mgmt *m, struct cp_mgmt_stats *out)
{
	*out = m->st;
}

static void on_sample(uv_timer_t *t)
{
	struct cp_mgmt *m = t->data;
	cp_mgmt_sample_streams(m);
	cp_mgmt_dp_sample(m);
}

/* mkdir -p of the socket's directory (one level is all /run/lifecast needs,
 * but temp paths in tests may need more). */
static void make_parent(const char *path)
{
	char dir[sizeof(((struct cp_mgmt *)0)->path)];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

/* Does something accept connections on the socket file? (Never steal the
 * socket of a running daemon.) */
static int socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int alive = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return alive;
}

int cp_mgmt_listen(struct cp_mgmt *m, const char *path)
{
	const char *p = path ? path : m->conf.socket;
	if (strlen(p) >= sizeof(m->path)) {
		cp_err("mgmt: socket path too long: %s", p);
		return -ENAMETOOLONG;
	}
	memcpy(m->path, p, strlen(p) + 1); /* length checked above */
	make_parent(m->path);
	if (socket_alive(m->path)) {
		cp_err("mgmt: %s is in use by another process", m->path);
		return -EADDRINUSE;
	}
	unlink(m->path); /* a previous run that crashed left it behind */
	uv_pipe_init(m->env.loop, &m->listener, 0);
	m->listener.data = m;
	m->handles++;
	m->listening = 1;
	int rc = uv_pipe_bind(&m->listener, m->path);
	if (rc == 0) {
		chmod(m->path, 0660); /* operators' group only */
		rc = uv_listen((uv_stream_t *)&m->listener, 16, on_connection);
	}
	if (rc != 0) {
		cp_err("mgmt: listen on %s: %s", m->path, uv_strerror(rc));
		return rc;
	}
	uv_timer_init(m->env.loop, &m->sampler);
	m->sampler.data = m;
	m->handles++;
	m->timer_on = 1;
	uv_timer_start(&m->sampler, on_sample, SAMPLE_MS, SAMPLE_MS);
	cp_info("mgmt: listening on %s", m->path);
	return 0;
}

static void on_own_closed(uv_handle_t *h)
{
	struct cp_mgmt *m = h->data;
	if (--m->handles == 0 && m->stopping)
		free(m);
}

void cp_mgmt_stop(struct cp_mgmt *m)
{
	if (!m || m->stopping)
		return;
	m->stopping = 1;
	cp_metrics_stop(m);
	cp_mgmt_dp_fini(m);
	for (struct cp_mgmt_client *c = m->clients; c; c = c->next)
		client_close(c);
	if (m->listening) {
		uv_close((uv_handle_t *)&m->listener, on_own_closed);
		unlink(m->path);
	}
	if (m->timer_on)
		uv_close((uv_handle_t *)&m->sampler, on_own_closed);
	if (m->handles == 0)
		free(m);
}

struct cp_mgmt *cp_mgmt_launch(const struct cp_mgmt_env *env, const char *sock,
			       struct cp_archive *archive, struct cp_http *http,
			       int (*chat_reload)(void *ctx), void *chat_ctx)
{
	char err[512];
	struct cp_mgmt *m = cp_mgmt_create(env, err, sizeof(err));
	if (!m) {
		cp_err("mgmt: %s", err);
		return NULL;
	}
	cp_mgmt_set_archive(m, archive);
	cp_mgmt_set_chat(m, chat_reload, chat_ctx);
	if (cp_mgmt_listen(m, sock) != 0) {
		cp_mgmt_stop(m);
		return NULL;
	}
	if (cp_mgmt_metrics_start(m, http) != 0)
		cp_warn("metrics: /metrics not served");
	return m;
}
