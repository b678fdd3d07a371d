/* Small HTTP/1.1 server on the control plane's HTTP port, with exact-path
 * routing. One request per connection (responses carry Connection: close),
 * which is all Prometheus scrapes and WebSocket upgrades need.
 *
 * Limits: request head 8 KiB, 32 headers, body 64 KiB (Content-Length only,
 * no chunked uploads); anything larger is answered 431/413 and closed.
 * Runs on the libuv loop; every function is loop-thread only.
 */
#ifndef CP_HTTP_H
#define CP_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CP_HTTP_HEAD_MAX    8192
#define CP_HTTP_HEADERS_MAX 32
#define CP_HTTP_BODY_MAX    65536
#define CP_HTTP_TIMEOUT_MS  10000 /* default of cp_http_set_timeout */

struct cp_http;
struct cp_http_conn;

struct cp_http_header {
	const char *name, *value;
	size_t name_len, value_len;
};

/* Slices point into the connection's buffer; valid during the handler call. */
struct cp_http_request {
	const char *method, *path, *query; /* query "" when absent */
	size_t method_len, path_len, query_len;
	int minor;                         /* HTTP/1.minor */
	struct cp_http_header headers[CP_HTTP_HEADERS_MAX];
	size_t nheaders;
	const char *body;
	size_t body_len;
};

/* A route handler must either cp_http_respond() or cp_http_detach() before
 * returning. */
typedef void (*cp_http_handler)(void *arg, struct cp_http_conn *conn,
				const struct cp_http_request *req);

/* Listen on host:port ("" or NULL host = any IPv4). Returns the server, or
 * NULL with errno set (EADDRINUSE, EINVAL ...). */
struct cp_http *cp_http_start(uv_loop_t *loop, const char *host, uint16_t port);

/* A connection that has not been answered (or detached) and fully sent
 * its response within ms of being accepted is closed, so idle clients
 * cannot hold every connection slot. Applies to connections accepted
 * afterwards; 0 restores the default (CP_HTTP_TIMEOUT_MS). Detached
 * sockets are not affected. */
void cp_http_set_timeout(struct cp_http *srv, uint64_t ms);

/* Route requests whose path equals `path` (query string ignored) to fn.
 * Returns 0, -EEXIST (path taken), -EINVAL or -ENOMEM. */
int cp_http_route(struct cp_http *srv, const char *path, cp_http_handler fn, void *arg);

/* Close the listener and every open connection; frees srv once the loop has
 * run the close callbacks. Detached sockets are not affected. srv may be NULL. */
void cp_http_stop(struct cp_http *srv);

/* Parse one request head+body from buf[0..len) into req.
 * Returns bytes consumed (> 0), 0 when more input is needed, or -EMSGSIZE
 * (head or body over the limits), -EINVAL (malformed). Allocates nothing. */
ssize_t cp_http_parse(const char *buf, size_t len, struct cp_http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const char *cp_http_header(const struct cp_http_request *req, const char *name, size_t *len);

/* Does a comma-separated header value contain token (case-insensitive)? */
int cp_http_header_has_token(const struct cp_http_request *req, const char *name,
			     const char *token);

/* Send a complete response (copies body) and close after it is written. */
void cp_http_respond(struct cp_http_conn *conn, int status, const char *content_type,
		     const char *body, size_t len);

/* Hand the socket to the caller (WebSocket upgrade). Reading is stopped and
 * handle->data is the caller's to set; the caller owns the uv_tcp_t (it was
 * malloc'ed: free it in its close callback). Bytes received after the request
 * are copied to *rest (malloc'ed, caller frees; NULL when none).
 * conn is invalid afterwards. */
uv_tcp_t *cp_http_detach(struct cp_http_conn *conn, char **rest, size_t *rest_len);

/* Peer address of the connection as text. Returns 0 or -errno. */
int cp_http_peer(struct cp_http_conn *conn, char *ip, size_t cap);

#endif
