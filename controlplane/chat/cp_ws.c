/* IRC over WebSocket on the HTTP port's /chat route: the handshake is ours
 * (RFC 6455 Sec-WebSocket-Accept with OpenSSL SHA-1 + base64), framing is
 * wslay's. Each text (or binary) message carries one or more IRC lines;
 * every line we send is one text frame without CRLF, as ergo and Twitch do.
 * The client then goes through the same IRC code as a plain TCP client. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <wslay/wslay.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/cp_http.h"
#include "controlplane/cp_log.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct cp_chat_ws {
	wslay_event_context_ptr ctx;
	struct chat_client *c;
	const char *in;   /* bytes of the current read, consumed by recv_cb */
	size_t inlen;
};

/* base64(SHA1(key + GUID)) into out (>= 29 bytes). */
static int ws_accept_key(const char *key, size_t n, char *out)
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[128];
	if (n == 0 || n > 64)
		return -EINVAL;
	memcpy(buf, key, n);
	memcpy(buf + n, WS_GUID, sizeof(WS_GUID) - 1);
	SHA1((const unsigned char *)buf, n + sizeof(WS_GUID) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
	return 0;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
		       void *user)
{
	struct cp_chat_ws *ws = user;
	if (ws->inlen == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = len < ws->inlen ? len : ws->inlen;
	memcpy(buf, ws->in, n);
	ws->in += n;
	ws->inlen -= n;
	return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	struct cp_chat_ws *ws = user;
	struct chat_client *c = ws->c;
	if (c->writing || cp_chat_buf_append(&c->pend, (const char *)data, len, c->chat->conf.sendq) < 0) {
		/* Socket busy: wslay keeps the frame and retries on the next flush. */
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		   void *user)
{
	struct cp_chat_ws *ws = user;
	if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
		return; /* ping/pong/close are answered by wslay */
	cp_chat_client_input(ws->c, (const char *)arg->msg, arg->msg_length);
	if (arg->msg_length && arg->msg[arg->msg_length - 1] != '\n' && !ws->c->closing)
		cp_chat_client_input(ws->c, "\n", 1); /* a message is a whole line */
}

static const struct wslay_event_callbacks ws_callbacks = {
	recv_cb, send_cb, NULL, NULL, NULL, NULL, on_msg,
};

static void on_ws_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct chat_client *c = h->data;
	*buf = uv_buf_init(c->chat->rbuf, sizeof(c->chat->rbuf));
}

/* Feed received bytes to wslay; may quit the client. */
static void ws_input(struct chat_client *c, const char *buf, size_t len)
{
	struct cp_chat_ws *ws = c->ws;
	ws->in = buf;
	ws->inlen = len;
	int rc = wslay_event_recv(ws->ctx);
	ws->inlen = 0;
	if (c->closing)
		return;
	if (rc != 0 || (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))) {
		cp_chat_client_quit(c, "WebSocket closed", rc ? "WebSocket protocol error" : "WebSocket closed");
		return;
	}
	cp_chat_mark_dirty(c); /* pongs and close replies */
}

static void on_ws_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct chat_client *c = s->data;
	if (nread < 0) {
		cp_chat_client_quit(c, "Client closed connection", "Client closed connection");
		return;
	}
	ws_input(c, buf->base, (size_t)nread);
}

int cp_chat_ws_queue(struct chat_client *c, const char *line, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)line, len };
	return wslay_event_queue_msg(c->ws->ctx, &m) == 0 ? 0 : -ENOBUFS;
}

void cp_chat_ws_flush(struct chat_client *c)
{
	if (!c->writing)
		wslay_event_send(c->ws->ctx);
}

size_t cp_chat_ws_queued(const struct chat_client *c)
{
	return wslay_event_get_queued_msg_length(c->ws->ctx);
}

void cp_chat_ws_free(struct cp_chat_ws *ws)
{
	if (!ws)
		return;
	wslay_event_context_free(ws->ctx);
	free(ws);
}

static void on_refused_close(uv_handle_t *h)
{
	free(h);
}

static int ws_request_ok(const struct cp_http_request *req)
{
	size_t vn;
	const char *v = cp_http_header(req, "Sec-WebSocket-Version", &vn);
	return req->method_len == 3 && memcmp(req->method, "GET", 3) == 0 &&
	       cp_http_header_has_token(req, "Upgrade", "websocket") &&
	       cp_http_header_has_token(req, "Connection", "upgrade") && v && vn == 2 &&
	       memcmp(v, "13", 2) == 0;
}

/* Start the IRC client on the detached socket, 101 reply first in its
 * queue; rest (frames that came with the upgrade request) is its first input. */
static void ws_begin(struct cp_chat *chat, uv_tcp_t *tcp, const char *accept, int ircv3_proto,
		     const char *rest, size_t rest_len)
{
	struct chat_client *c = cp_chat_ws_accept(chat, tcp);
	struct cp_chat_ws *ws = NULL;
	if (!c) {
		uv_close((uv_handle_t *)tcp, on_refused_close);
		return;
	}
	if (!(ws = calloc(1, sizeof(*ws))) ||
	    wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0) {
		free(ws);
		cp_chat_client_quit(c, "Out of memory", "Out of memory");
		return;
	}
	ws->c = c;
	wslay_event_config_set_max_recv_msg_length(ws->ctx, CP_IRC_LINE_MAX_TAGGED);
	char resp[256];
	int n = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
			 accept, ircv3_proto ? "Sec-WebSocket-Protocol: text.ircv3.net\r\n" : "");
	cp_chat_buf_append(&c->pend, resp, (size_t)n, chat->conf.sendq);
	c->ws = ws;
	cp_chat_mark_dirty(c);
	uv_read_start((uv_stream_t *)tcp, on_ws_alloc, on_ws_read);
	if (rest_len)
		ws_input(c, rest, rest_len);
}

static void ws_handler(void *arg, struct cp_http_conn *conn, const struct cp_http_request *req)
{
	struct cp_chat *chat = arg;
	size_t kn;
	const char *key = cp_http_header(req, "Sec-WebSocket-Key", &kn);
	char accept[64];
	if (!ws_request_ok(req)) {
		const char *msg = "IRC over WebSocket: send a WebSocket upgrade (version 13)\n";
		cp_http_respond(conn, 426, "text/plain", msg, strlen(msg));
		return;
	}
	if (!key || ws_accept_key(key, kn, accept) < 0) {
		cp_http_respond(conn, 400, "text/plain", "bad Sec-WebSocket-Key\n", 22);
		return;
	}
	int proto = cp_http_header_has_token(req, "Sec-WebSocket-Protocol", "text.ircv3.net");
	char *rest;
	size_t rest_len;
	uv_tcp_t *tcp = cp_http_detach(conn, &rest, &rest_len);
	/* Clients may send frames right behind the request, before the 101. */
	ws_begin(chat, tcp, accept, proto, rest, rest_len);
	free(rest);
}

int cp_chat_ws_attach(struct cp_chat *chat, struct cp_http *http)
{
	int rc = cp_http_route(http, "/chat", ws_handler, chat);
	if (rc < 0)
		cp_err("chat: cannot register /chat: %s", strerror(-rc));
	return rc;
}
