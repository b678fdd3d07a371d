/* lifecast-cp: the control-plane daemon.
 *
 * Loads lifecast.conf ([rtmp], [keys]; chat reads its own sections), starts
 * the RTMP session engine on kernel sockets (--kernel-listen, or [rtmp]
 * listen), the chat service unless --no-chat, and runs the libuv loop until
 * SIGINT/SIGTERM. Shutdown closes every connection and handle, then frees
 * the engine.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "controlplane/cp_config.h"
#include "controlplane/cp_log.h"
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
	void *chat;
	int quitting;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lifecast-cp [-c lifecast.conf] [--kernel-listen ADDR:PORT] [--open-publish]\n"
		"                   [--no-chat] [--chat-listen ADDR:PORT] [--chat-rules FILE] [-v]\n"
		"\n"
		"  -c, --config FILE        configuration file (default: none, built-in defaults)\n"
		"      --kernel-listen A:P  serve RTMP on kernel sockets at A:P (no dataplane);\n"
		"                           without it, [rtmp] listen is served the same way\n"
		"      --open-publish       every app accepts any stream name (no stream keys)\n"
		"      --no-chat            do not start the chat service\n"
		"      --chat-listen A:P    IRC listener (overrides [chat] listen)\n"
		"      --chat-rules FILE    moderation rules (overrides [chat] rules)\n"
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
	enum { O_KL = 256, O_OPEN, O_NOCHAT, O_CHATL, O_CHATR };
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "kernel-listen", required_argument, NULL, O_KL },
		{ "open-publish", no_argument, NULL, O_OPEN },
		{ "no-chat", no_argument, NULL, O_NOCHAT },
		{ "chat-listen", required_argument, NULL, O_CHATL },
		{ "chat-rules", required_argument, NULL, O_CHATR },
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
		case O_OPEN: o->open_publish = 1; break;
		case O_NOCHAT: o->no_chat = 1; break;
		case O_CHATL: o->chat_listen = optarg; break;
		case O_CHATR: o->chat_rules = optarg; break;
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

static void shutdown_all(struct app *a)
{
	if (a->quitting)
		return;
	a->quitting = 1;
	cp_info("shutting down");
	if (a->srv_started) {
		cp_server_log_stats(&a->srv);
		cp_server_stop(&a->srv);
	}
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
		if (a->srv_started)
			cp_server_log_stats(&a->srv);
		return;
	}
	shutdown_all(a);
}

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
	struct cp_engine_hooks hooks = { on_stream_live, NULL, a };
	cp_engine_init(&a->eng, &a->conf, &a->keys, &hooks);
	if (start_signals(a) != 0)
		goto out_loop;
	if (!o.kernel_listen)
		cp_info("no dataplane transport in this build: serving [rtmp] listen on kernel sockets");
	if (cp_server_start(&a->srv, &a->loop, &a->eng, &a->conf.listen) != 0)
		goto out_loop;
	a->srv_started = 1;
	if (start_chat(a, &o) != 0)
		goto out_loop;
	cp_info("lifecast-cp ready (apps: %s%s, keys: %zu)", a->conf.apps_spec,
		a->conf.open_publish ? ", open publish" : "", a->keys.n);
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
