/* Small HTTP/1.1 server with exact-path routes. See cp_http.h. */
#include "controlplane/cp_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/cp_log.h"

#define HTTP_CONNS_MAX 256
#define HTTP_BUF       (CP_HTTP_HEAD_MAX + CP_HTTP_BODY_MAX)

struct http_route {
	struct http_route *next;
	char *path;
	cp_http_handler fn;
	void *arg;
};

struct cp_http {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct http_route *routes;
	struct cp_http_conn *conns;
	size_t nconns;
	uint64_t timeout_ms; /* per-connection deadline, see cp_http_set_timeout */
	int stopping, open;
};

struct cp_http_conn {
	struct cp_http *srv;
	struct cp_http_conn *prev, *next;
	uv_tcp_t *tcp;
	uv_timer_t timer; /* deadline from accept; closed with the connection */
	uv_write_t wreq;
	char *buf;
	size_t len;
	size_t used; /* bytes of buf the request being handled took */
	char *out;
	int done;    /* a response is queued or the socket was detached */
	int handles; /* of tcp and timer, not yet through their close callback */
};

/* ---------------------------------------------------------------- parser */

static const char *find_head_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return buf + i + 1;
	return NULL;
}

static int is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_request_line(const char *p, const char *end, struct cp_http_request *req,
			      const char **next)
{
	const char *s = p;
	while (p < end && is_tchar(*p))
		p++;
	if (p == s || p >= end || *p != ' ')
		return -EINVAL;
	req->method = s;
	req->method_len = (size_t)(p - s);
	s = ++p;
	while (p < end && *p != ' ' && *p != '\r')
		p++;
	if (p == s || p >= end || *p != ' ' || *s != '/')
		return -EINVAL;
	const char *q = memchr(s, '?', (size_t)(p - s));
	req->path = s;
	req->path_len = (size_t)((q ? q : p) - s);
	req->query = q ? q + 1 : "";
	req->query_len = q ? (size_t)(p - q - 1) : 0;
	p++;
	if (end - p < 10 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
	    p[8] != '\r' || p[9] != '\n')
		return -EINVAL;
	req->minor = p[7] - '0';
	*next = p + 10;
	return 0;
}

static int parse_header(const char *p, const char *end, struct cp_http_request *req,
			const char **next)
{
	const char *eol = p;
	while (eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'))
		eol++;
	if (eol + 1 >= end)
		return -EINVAL;
	const char *colon = p;
	while (colon < eol && is_tchar(*colon))
		colon++;
	if (colon == p || colon == eol || *colon != ':')
		return -EINVAL;
	if (req->nheaders == CP_HTTP_HEADERS_MAX)
		return -EMSGSIZE;
	const char *v = colon + 1, *ve = eol;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	struct cp_http_header *h = &req->headers[req->nheaders++];
	h->name = p;
	h->name_len = (size_t)(colon - p);
	h->value = v;
	h->value_len = (size_t)(ve - v);
	*next = eol + 2;
	return 0;
}

static int content_length(const struct cp_http_request *req, size_t *out)
{
	size_t n;
	const char *v = cp_http_header(req, "Content-Length", &n);
	*out = 0;
	if (!v)
		return 0;
	if (n == 0 || n > 9)
		return n > 9 ? -EMSGSIZE : -EINVAL;
	size_t cl = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		cl = cl * 10 + (size_t)(v[i] - '0');
	}
	if (cl > CP_HTTP_BODY_MAX)
		return -EMSGSIZE;
	*out = cl;
	return 0;
}

ssize_t cp_http_parse(const char *buf, size_t len, struct cp_http_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t scan = len < CP_HTTP_HEAD_MAX ? len : CP_HTTP_HEAD_MAX;
	const char *end = find_head_end(buf, scan);
	if (!end)
		return len >= CP_HTTP_HEAD_MAX ? -EMSGSIZE : 0;
	const char *p;
	int rc = parse_request_line(buf, end, req, &p);
	if (rc < 0)
		return rc;
	while (p < end - 2) {
		rc = parse_header(p, end, req, &p);
		if (rc < 0)
			return rc;
	}
	if (cp_http_header(req, "Transfer-Encoding", NULL))
		return -EINVAL; /* no chunked request bodies */
	size_t cl;
	if ((rc = content_length(req, &cl)) < 0)
		return rc;
	size_t head = (size_t)(end - buf);
	if (len - head < cl)
		return 0;
	req->body = end;
	req->body_len = cl;
	return (ssize_t)(head + cl);
}

const char *cp_http_header(const struct cp_http_request *req, const char *name, size_t *len)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct cp_http_header *h = &req->headers[i];
		if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
			if (len)
				*len = h->value_len;
			return h->value;
		}
	}
	return NULL;
}

int cp_http_header_has_token(const struct cp_http_request *req, const char *name,
			     const char *token)
{
	size_t n, tn = strlen(token);
	const char *v = cp_http_header(req, name, &n);
	if (!v)
		return 0;
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tn && strncasecmp(v + s, token, tn) == 0)
			return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- server */

static void srv_maybe_free(struct cp_http *srv)
{
	if (!srv->stopping || srv->open > 0)
		return;
	while (srv->routes) {
		struct http_route *r = srv->routes;
		srv->routes = r->next;
		free(r->path);
		free(r);
	}
	free(srv);
}

static void conn_unlink(struct cp_http_conn *c)
{
	struct cp_http *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
}

/* Close callback of the timer and (unless detached) of the socket: c goes
 * when the last of them is through. After a detach c->tcp is the caller's. */
static void on_conn_close(uv_handle_t *h)
{
	struct cp_http_conn *c = h->data;
	struct cp_http *srv = c->srv;
	if (--c->handles > 0)
		return;
	if (c->done != 2)
		free(c->tcp);
	free(c->buf);
	free(c->out);
	free(c);
	srv->open--;
	srv_maybe_free(srv);
}

static void conn_close(struct cp_http_conn *c)
{
	if (uv_is_closing((uv_handle_t *)c->tcp))
		return;
	conn_unlink(c);
	uv_close((uv_handle_t *)&c->timer, on_conn_close);
	uv_close((uv_handle_t *)c->tcp, on_conn_close);
}

/* The client did not get through its request (or take the response) in
 * time: it would hold one of HTTP_CONNS_MAX slots for ever otherwise. */
static void on_conn_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static const char *reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void on_resp_written(uv_write_t *req, int status)
{
	conn_close(req->data);
}

void cp_http_respond(struct cp_http_conn *c, int status, const char *ctype, const char *body,
		     size_t len)
{
	if (c->done)
		return;
	c->done = 1;
	uv_read_stop((uv_stream_t *)c->tcp);
	char head[256];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  status, reason(status), ctype ? ctype : "text/plain", len);
	c->out = malloc((size_t)hn + len);
	if (!c->out) {
		conn_close(c);
		return;
	}
	memcpy(c->out, head, (size_t)hn);
	if (len)
		memcpy(c->out + hn, body, len);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)((size_t)hn + len));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)c->tcp, &b, 1, on_resp_written) < 0)
		conn_close(c);
}

static void error_reply(struct cp_http_conn *c, int status)
{
	const char *msg = reason(status);
	cp_http_respond(c, status, "text/plain", msg, strlen(msg));
}

uv_tcp_t *cp_http_detach(struct cp_http_conn *c, char **rest, size_t *rest_len)
{
	size_t n = c->len - c->used;
	*rest = n ? malloc(n) : NULL;
	*rest_len = *rest ? n : 0; /* out of memory: the bytes are lost, as a reset would */
	if (*rest)
		memcpy(*rest, c->buf + c->used, n);
	c->done = 2;
	uv_read_stop((uv_stream_t *)c->tcp);
	return c->tcp;
}

int cp_http_peer(struct cp_http_conn *c, char *ip, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int rc = uv_tcp_getpeername(c->tcp, (struct sockaddr *)&ss, &len);
	if (rc < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		return uv_ip6_name((struct sockaddr_in6 *)&ss, ip, cap);
	return uv_ip4_name((struct sockaddr_in *)&ss, ip, cap);
}

static struct http_route *route_find(struct cp_http *srv, const char *path, size_t n)
{
	for (struct http_route *r = srv->routes; r; r = r->next)
		if (strlen(r->path) == n && memcmp(r->path, path, n) == 0)
			return r;
	return NULL;
}

/* After a detach the socket belongs to the handler: close only our part
 * (the timer); c is freed in its close callback. */
static void conn_release(struct cp_http_conn *c)
{
	conn_unlink(c);
	c->handles--; /* the socket is no longer ours to close */
	uv_close((uv_handle_t *)&c->timer, on_conn_close);
}

static void handle_request(struct cp_http_conn *c, const struct cp_http_request *req,
			   size_t used)
{
	struct http_route *r = route_find(c->srv, req->path, req->path_len);
	if (!r) {
		error_reply(c, 404);
		return;
	}
	c->used = used;
	r->fn(r->arg, c, req);
	if (c->done == 2) {
		conn_release(c);
		return;
	}
	if (!c->done)
		error_reply(c, 503); /* a handler that forgot to answer */
}

static void on_http_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct cp_http_conn *c = h->data;
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(HTTP_BUF - c->len));
}

static void on_http_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct cp_http_conn *c = s->data;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	struct cp_http_request req;
	ssize_t rc = cp_http_parse(c->buf, c->len, &req);
	if (rc == 0 && c->len < HTTP_BUF)
		return;
	if (rc <= 0) {
		error_reply(c, rc == -EMSGSIZE || rc == 0 ? 431 : 400);
		return;
	}
	handle_request(c, &req, (size_t)rc);
}

static void on_reject(uv_handle_t *h)
{
	free(h);
}

static void on_http_conn(uv_stream_t *ls, int status)
{
	struct cp_http *srv = ls->data;
	if (status < 0 || srv->stopping)
		return;
	uv_tcp_t *tcp = malloc(sizeof(*tcp));
	if (!tcp || uv_tcp_init(srv->loop, tcp) < 0) {
		free(tcp);
		return;
	}
	struct cp_http_conn *c = NULL;
	if (uv_accept(ls, (uv_stream_t *)tcp) < 0 || srv->nconns >= HTTP_CONNS_MAX ||
	    !(c = calloc(1, sizeof(*c))) || !(c->buf = malloc(HTTP_BUF))) {
		if (c)
			free(c);
		uv_close((uv_handle_t *)tcp, on_reject);
		return;
	}
	c->srv = srv;
	c->tcp = tcp;
	tcp->data = c;
	uv_timer_init(srv->loop, &c->timer); /* cannot fail */
	c->timer.data = c;
	c->handles = 2;
	uv_timer_start(&c->timer, on_conn_timeout, srv->timeout_ms, 0);
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->open++;
	uv_read_start((uv_stream_t *)tcp, on_http_alloc, on_http_read);
}

struct cp_http *cp_http_start(uv_loop_t *loop, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	int rc;
	struct cp_http *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		errno = ENOMEM;
		return NULL;
	}
	srv->loop = loop;
	srv->timeout_ms = CP_HTTP_TIMEOUT_MS;
	host = (host && host[0]) ? host : "0.0.0.0";
	rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss)
			       : uv_ip4_addr(host, port, (struct sockaddr_in *)&ss);
	if (rc < 0 || (rc = uv_tcp_init(loop, &srv->listener)) < 0) {
		free(srv);
		errno = -rc;
		return NULL;
	}
	srv->open = 1;
	srv->listener.data = srv;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_http_conn)) < 0) {
		cp_http_stop(srv);
		errno = -rc;
		return NULL;
	}
	return srv;
}

void cp_http_set_timeout(struct cp_http *srv, uint64_t ms)
{
	srv->timeout_ms = ms ? ms : CP_HTTP_TIMEOUT_MS;
}

int cp_http_route(struct cp_http *srv, const char *path, cp_http_handler fn, void *arg)
{
	if (!srv || !path || path[0] != '/' || !fn)
		return -EINVAL;
	if (route_find(srv, path, strlen(path)))
		return -EEXIST;
	struct http_route *r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		free(r);
		return -ENOMEM;
	}
	r->fn = fn;
	r->arg = arg;
	r->next = srv->routes;
	srv->routes = r;
	return 0;
}

static void on_listener_close(uv_handle_t *h)
{
	struct cp_http *srv = h->data;
	srv->open--;
	srv_maybe_free(srv);
}

void cp_http_stop(struct cp_http *srv)
{
	if (!srv || srv->stopping)
		return;
	srv->stopping = 1;
	while (srv->conns)
		conn_close(srv->conns);
	uv_close((uv_handle_t *)&srv->listener, on_listener_close);
}
