/* lifecast-cp: the control-plane daemon.
 *
 * Loads lifecast.conf ([rtmp], [keys]; chat and archive read their own
 * sections), starts the RTMP session engine on the dataplane's IPC socket
 * (--dataplane PATH or [rtmp] dataplane) and/or on kernel sockets
 * (--kernel-listen, or [rtmp] listen when there is no dataplane), the
 * archive when a config file is given (unless --no-archive), the chat
 * service unless --no-chat, and runs the libuv loop until SIGINT/SIGTERM.
 * Shutdown closes every connection and handle, then frees the engine.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_config.h"
#include "controlplane/cp_dpipc.h"
#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt.h"
#include "controlplane/cp_rtmp_conf.h"
#include "controlplane/cp_server.h"
#include "controlplane/cp_session.h"

#if !defined(CP_NO_CHAT) && __has_include("controlplane/chat/cp_chat.h")
#include "controlplane/chat/cp_chat.h"
#define CP_HAVE_CHAT 1
#else
#define CP_HAVE_CHAT 0
#endif

struct opts {
	const char *conf_path;
	const char *kernel_listen;
	const char *chat_listen;
	const char *chat_rules;
	const char *dataplane;
	const char *mgmt_socket;
	int no_archive;
	int open_publish;
	int verbose;
	int no_chat;
};

struct app {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm, sigusr1;
	struct cp_rtmp_conf conf;
	struct cp_keytab keys;
	struct cp_engine eng;
	struct cp_server srv;
	int srv_started;
	struct cp_dpipc *dp;
	struct cp_archive *archive;
	void *chat;
	struct cp_mgmt *mgmt;
	int quitting;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifecast-cp [-c lifecast.conf] [--dataplane PATH] [--kernel-listen ADDR:PORT]\n"
		"                   [--open-publish] [--no-archive] [--no-chat] [--chat-listen ADDR:PORT]\n"
		"                   [--chat-rules FILE] [-v]\n"
		"\n"
		"  -c, --config FILE        configuration file (default: none, built-in defaults)\n"
		"      --dataplane PATH     serve RTMP through lifecast-dp's IPC socket (overrides\n"
		"                           [rtmp] dataplane); reconnects forever\n"
		"      --kernel-listen A:P  serve RTMP on kernel sockets at A:P; without a dataplane,\n"
		"                           [rtmp] listen is served the same way\n"
		"      --no-archive         do not record streams ([archive] needs -c anyway)\n"
		"      --open-publish       every app accepts any stream name (no stream keys)\n"
		"      --no-chat            do not start the chat service\n"
		"      --chat-listen A:P    IRC listener (overrides [chat] listen)\n"
		"      --chat-rules FILE    moderation rules (overrides [chat] rules)\n"
		"      --mgmt-socket PATH   lifecastctl's socket (overrides [control] socket)\n"
		"  -v, --verbose            debug logging (periodic stats every 10 s)\n"
		"  -h, --help               this text\n"
		"\n"
		"Signals: SIGINT/SIGTERM shut down cleanly; SIGUSR1 logs statistics.\n"
		"[rtmp] keys (default):\n");
	for (size_t i = 0; i < cp_rtmp_conf_nkeys; i++) {
		const struct cp_conf_key *k = &cp_rtmp_conf_keys[i];
		fprintf(f, "  %-22s %-22s %s\n", k->name, k->def ? k->def : "", k->help);
	}
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_KL = 256, O_OPEN, O_NOCHAT, O_CHATL, O_CHATR, O_DP, O_NOARCH, O_MGMT };
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "kernel-listen", required_argument, NULL, O_KL },
		{ "dataplane", required_argument, NULL, O_DP },
		{ "no-archive", no_argument, NULL, O_NOARCH },
		{ "open-publish", no_argument, NULL, O_OPEN },
		{ "no-chat", no_argument, NULL, O_NOCHAT },
		{ "chat-listen", required_argument, NULL, O_CHATL },
		{ "chat-rules", required_argument, NULL, O_CHATR },
		{ "mgmt-socket", required_argument, NULL, O_MGMT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "c:vh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf_path = optarg; break;
		case O_KL: o->kernel_listen = optarg; break;
		case O_DP: o->dataplane = optarg; break;
		case O_NOARCH: o->no_archive = 1; break;
		case O_OPEN: o->open_publish = 1; break;
		case O_NOCHAT: o->no_chat = 1; break;
		case O_CHATL: o->chat_listen = optarg; break;
		case O_CHATR: o->chat_rules = optarg; break;
		case O_MGMT: o->mgmt_socket = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lifecast-cp: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int load_config(struct app *a, const struct opts *o)
{
	char err[512];
	int rc = cp_rtmp_conf_load(o->conf_path, &a->conf, err, sizeof(err));
	if (rc == 0 && o->kernel_listen)
		rc = cp_conf_set(cp_rtmp_conf_keys, cp_rtmp_conf_nkeys, &a->conf, "rtmp", "listen",
				 o->kernel_listen, err, sizeof(err));
	if (rc == 0 && o->dataplane)
		rc = cp_conf_set(cp_rtmp_conf_keys, cp_rtmp_conf_nkeys, &a->conf, "rtmp", "dataplane",
				 o->dataplane, err, sizeof(err));
	if (rc == 0 && o->open_publish)
		a->conf.open_publish = 1;
	if (rc == 0)
		rc = cp_keytab_load(&a->keys, o->conf_path, err, sizeof(err));
	if (rc != 0)
		cp_err("config: %s", err);
	return rc;
}

static void on_stream_live(void *arg, const char *app, const char *name, int live)
{
#if CP_HAVE_CHAT
	struct app *a = arg;
	if (a->chat)
		cp_chat_stream_live(a->chat, app, name, live);
#endif
}

/* ---- archive: one path for both transports ----
 * The kernel transport reports ingest through the engine's stream_message
 * hook, the dataplane transport calls the same hook for each ARCHIVE_MSG. */

static void on_stream_state(void *arg, struct cp_stream *s, int live)
{
	struct app *a = arg;
	if (!live)
		cp_dpipc_stream_state(a->dp, s, 0);
	if (!a->archive)
		return;
	if (live && !s->user) {
		struct cp_app fb;
		const struct cp_app *app = cp_rtmp_conf_app(&a->conf, s->app, &fb);
		s->user = cp_archive_stream_start(a->archive, s->app, s->name, app && !app->open);
	} else if (!live) {
		cp_archive_stream_end(s->user);
		s->user = NULL;
	}
}

static void on_stream_message(void *arg, const struct cp_stream *s, uint8_t type, uint32_t ts,
			      const uint8_t *p, size_t len)
{
	cp_archive_stream_message(s->user, type, ts, p, len);
}

/* Copies were lost: close the segment, go on in a new one from the next
 * keyframe (a recording with a hole would play wrong). */
static void on_archive_gap(void *arg, struct cp_stream *s, uint32_t dropped)
{
	struct app *a = arg;
	if (!a->archive || !s->user)
		return;
	cp_warn("stream=%s/%s %u archive copies lost: new segment", s->app, s->name, dropped);
	cp_archive_stream_end(s->user);
	struct cp_app fb;
	const struct cp_app *app = cp_rtmp_conf_app(&a->conf, s->app, &fb);
	s->user = cp_archive_stream_start(a->archive, s->app, s->name, app && !app->open);
}

static int start_archive(struct app *a, const struct opts *o)
{
	char err[256];
	if (!o->conf_path || o->no_archive)
		return 0;
	a->archive = cp_archive_create(&a->loop, o->conf_path, err, sizeof(err));
	if (!a->archive && errno != 0) {
		cp_err("archive: %s", err);
		return -1;
	}
	return 0;
}

static int start_dataplane(struct app *a)
{
	if (a->conf.dataplane[0] == '\0')
		return 0;
	struct cp_dpipc_hooks h = { on_archive_gap, a };
	a->dp = cp_dpipc_create(&a->loop, &a->eng, a->conf.dataplane, &h);
	if (!a->dp) {
		cp_err("dataplane %s: %s", a->conf.dataplane, strerror(errno));
		return -1;
	}
	return 0;
}

static void log_stats(struct app *a)
{
	if (a->srv_started)
		cp_server_log_stats(&a->srv);
	else
		cp_engine_log_stats(&a->eng);
	if (a->dp)
		cp_dpipc_log_stats(a->dp);
}

static void shutdown_all(struct app *a)
{
	if (a->quitting)
		return;
	a->quitting = 1;
	cp_info("shutting down");
	log_stats(a);
	cp_mgmt_stop(a->mgmt); /* first: it borrows the server, archive and chat */
	a->mgmt = NULL;
	if (a->srv_started)
		cp_server_stop(&a->srv);
	cp_dpipc_destroy(a->dp);
	a->dp = NULL;
	/* Recordings are closed by the archive itself; streams forget them. */
	for (struct cp_stream *st = a->eng.reg.streams; st; st = st->next_in_reg)
		st->user = NULL;
	cp_archive_destroy(a->archive);
	a->archive = NULL;
#if CP_HAVE_CHAT
	cp_chat_stop(a->chat);
	a->chat = NULL;
#endif
	uv_close((uv_handle_t *)&a->sigint, NULL);
	uv_close((uv_handle_t *)&a->sigterm, NULL);
	uv_close((uv_handle_t *)&a->sigusr1, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct app *a = h->data;
	if (signum == SIGUSR1) {
		log_stats(a);
		return;
	}
	shutdown_all(a);
}

#if CP_HAVE_CHAT
static int chat_rules_reload(void *chat)
{
	return cp_chat_rules_reload(chat);
}
#endif

static int start_chat(struct app *a, const struct opts *o)
{
#if CP_HAVE_CHAT
	if (o->no_chat)
		return 0;
	struct cp_chat_overrides ov = { o->chat_listen, o->chat_rules };
	a->chat = cp_chat_start(&a->loop, o->conf_path, &ov);
	if (!a->chat) {
		cp_err("chat: start failed: %s (use --no-chat to run without it)", strerror(errno));
		return -errno;
	}
#else
	(void)a;
	if (!o->no_chat)
		cp_warn("chat: not built in, running without it");
#endif
	return 0;
}

/* Management socket and /metrics (on the chat's HTTP server if it runs). */
static int start_mgmt(struct app *a, const struct opts *o)
{
	struct cp_mgmt_env env = { &a->loop, o->conf_path, &a->eng, &a->conf, &a->keys,
				   a->srv_started ? &a->srv : NULL, a->dp ? "dataplane" : "kernel",
				   a->dp };
#if CP_HAVE_CHAT
	a->mgmt = cp_mgmt_launch(&env, o->mgmt_socket, a->archive, a->chat ? cp_chat_http(a->chat) :
				 NULL, a->chat ? chat_rules_reload : NULL, a->chat);
#else
	a->mgmt = cp_mgmt_launch(&env, o->mgmt_socket, a->archive, NULL, NULL, NULL);
#endif
	/* The default socket being unusable is not fatal; an explicit one is. */
	return a->mgmt || !o->mgmt_socket ? 0 : -1;
}

static int start_signals(struct app *a)
{
	uv_signal_t *hs[] = { &a->sigint, &a->sigterm, &a->sigusr1 };
	int sigs[] = { SIGINT, SIGTERM, SIGUSR1 };
	for (int i = 0; i < 3; i++) {
		uv_signal_init(&a->loop, hs[i]);
		hs[i]->data = a;
		int rc = uv_signal_start(hs[i], on_signal, sigs[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc != 0)
		return 2;
	cp_log_set_level(o.verbose ? CP_LOG_DEBUG : CP_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);

	struct app *a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	int exit_code = 1;
	if (load_config(a, &o) != 0)
		goto out_conf;
	if (uv_loop_init(&a->loop) != 0)
		goto out_conf;
	struct cp_engine_hooks hooks = { on_stream_live, on_stream_message, a };
	cp_engine_init(&a->eng, &a->conf, &a->keys, &hooks);
	cp_engine_set_state_hook(&a->eng, on_stream_state, a);
	if (start_signals(a) != 0 || start_archive(a, &o) != 0 || start_dataplane(a) != 0)
		goto out_loop;
	/* With a dataplane, kernel sockets only when asked for explicitly. */
	if (!a->dp || o.kernel_listen) {
		if (cp_server_start(&a->srv, &a->loop, &a->eng, &a->conf.listen) != 0)
			goto out_loop;
		a->srv_started = 1;
	}
	if (start_chat(a, &o) != 0 || start_mgmt(a, &o) != 0)
		goto out_loop;
	cp_info("lifecast-cp ready (apps: %s%s, keys: %zu, rtmp via %s%s%s, archive %s)",
		a->conf.apps_spec, a->conf.open_publish ? ", open publish" : "", a->keys.n,
		a->dp ? "dataplane " : "", a->dp ? a->conf.dataplane : "",
		a->srv_started ? (a->dp ? " + kernel sockets" : "kernel sockets") : "",
		a->archive ? cp_archive_dir(a->archive) : "off");
	uv_run(&a->loop, UV_RUN_DEFAULT);
	exit_code = 0;
out_loop:
	shutdown_all(a);
	while (uv_run(&a->loop, UV_RUN_DEFAULT) != 0)
		;
	cp_engine_fini(&a->eng);
	if (uv_loop_close(&a->loop) != 0)
		cp_warn("event loop closed with handles still open");
out_conf:
	cp_keytab_free(&a->keys);
	free(a);
	if (exit_code == 0)
		cp_info("bye");
	return exit_code;
}
