/* Stand-alone chat service for tests: runs cp_chat_start on its own libuv
 * loop, for use when lifecast-cp is not available.
 *   chat_server CONF [LISTEN [RULES]]
 * SIGTERM/SIGINT stop it cleanly; SIGUSR1 reloads the rules (in the module). */
#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "controlplane/chat/cp_chat.h"

struct srv {
	struct cp_chat *chat;
	uv_signal_t term, intr;
};

static void on_stop(uv_signal_t *h, int sig)
{
	struct srv *s = h->data;
	cp_chat_stop(s->chat);
	s->chat = NULL;
	uv_close((uv_handle_t *)&s->term, NULL);
	uv_close((uv_handle_t *)&s->intr, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CONF [LISTEN [RULES]]\n", argv[0]);
		return 2;
	}
	struct cp_chat_overrides ov = { argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : NULL };
	struct srv s;
	uv_loop_t *loop = uv_default_loop();
	signal(SIGPIPE, SIG_IGN);
	s.chat = cp_chat_start(loop, argv[1], &ov);
	if (!s.chat) {
		perror("chat_server: cp_chat_start");
		return 1;
	}
	uv_signal_init(loop, &s.term);
	uv_signal_init(loop, &s.intr);
	s.term.data = s.intr.data = &s;
	uv_signal_start(&s.term, on_stop, SIGTERM);
	uv_signal_start(&s.intr, on_stop, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return 0;
}
