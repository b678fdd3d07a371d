/* cp_http_parse (the control plane's HTTP request parser, used for the
 * /chat WebSocket upgrade): complete requests, every truncation, limits and
 * malformed heads, each placed before a guard page. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_http.h"
#include "tests/unit/util_chat_guard.h"

static const char *upgrade =
	"GET /chat?x=1 HTTP/1.1\r\n"
	"Host: 127.0.0.1\r\n"
	"Upgrade: websocket\r\n"
	"Connection: keep-alive, Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version:13\r\n"
	"\r\n";

static void test_request(void)
{
	struct chat_guard g;
	struct cp_http_request r;
	size_t len = strlen(upgrade);
	char *p = chat_guard_place(&g, upgrade, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(cp_http_parse(p, len, &r), (ssize_t)len);
	CU_ASSERT(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);
	CU_ASSERT(r.path_len == 5 && memcmp(r.path, "/chat", 5) == 0);
	CU_ASSERT(r.query_len == 3 && memcmp(r.query, "x=1", 3) == 0);
	CU_ASSERT_EQUAL(r.minor, 1);
	CU_ASSERT_EQUAL(r.nheaders, 5);
	size_t n;
	const char *v = cp_http_header(&r, "sec-websocket-version", &n);
	CU_ASSERT(v && n == 2 && memcmp(v, "13", 2) == 0);
	CU_ASSERT(cp_http_header_has_token(&r, "Connection", "upgrade"));
	CU_ASSERT(!cp_http_header_has_token(&r, "Connection", "close"));
	CU_ASSERT(cp_http_header_has_token(&r, "Upgrade", "WebSocket"));
	CU_ASSERT_PTR_NULL(cp_http_header(&r, "Cookie", NULL));
	chat_guard_free(&g);
}

static void test_truncations(void)
{
	size_t len = strlen(upgrade);
	for (size_t cut = 0; cut < len; cut++) {
		struct chat_guard g;
		struct cp_http_request r;
		char *p = chat_guard_place(&g, upgrade, cut);
		CU_ASSERT_EQUAL(cp_http_parse(p, cut, &r), 0);
		chat_guard_free(&g);
	}
}

static void test_body(void)
{
	const char *req = "POST /x HTTP/1.0\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
	struct chat_guard g;
	struct cp_http_request r;
	char *p = chat_guard_place(&g, req, strlen(req) - 6);
	CU_ASSERT_EQUAL(cp_http_parse(p, strlen(req) - 6, &r), 0); /* body incomplete */
	chat_guard_free(&g);
	p = chat_guard_place(&g, req, strlen(req));
	CU_ASSERT_EQUAL(cp_http_parse(p, strlen(req), &r), (ssize_t)strlen(req) - 5);
	CU_ASSERT(r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
	CU_ASSERT_EQUAL(r.minor, 0);
	chat_guard_free(&g);
}

static void test_errors(void)
{
	const struct {
		const char *req;
		ssize_t rc;
	} cases[] = {
		{ "GET /x HTTP/2.0\r\n\r\n", -EINVAL },
		{ "GET x HTTP/1.1\r\n\r\n", -EINVAL },
		{ "G(T /x HTTP/1.1\r\n\r\n", -EINVAL },
		{ "GET /x HTTP/1.1\r\nNoColon\r\n\r\n", -EINVAL },
		{ "GET /x HTTP/1.1\r\n: v\r\n\r\n", -EINVAL },
		{ "POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", -EINVAL },
		{ "POST /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", -EMSGSIZE },
		{ "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_guard g;
		struct cp_http_request r;
		size_t len = strlen(cases[i].req);
		char *p = chat_guard_place(&g, cases[i].req, len);
		CU_ASSERT_EQUAL(cp_http_parse(p, len, &r), cases[i].rc);
		chat_guard_free(&g);
	}
	/* too many headers */
	char *big = malloc(CP_HTTP_HEAD_MAX + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < CP_HTTP_HEADERS_MAX + 1; i++)
		strcat(big, "A: b\r\n");
	strcat(big, "\r\n");
	struct chat_guard g;
	struct cp_http_request r;
	char *p = chat_guard_place(&g, big, strlen(big));
	CU_ASSERT_EQUAL(cp_http_parse(p, strlen(big), &r), -EMSGSIZE);
	chat_guard_free(&g);
	/* a head that never ends */
	memset(big, 'a', CP_HTTP_HEAD_MAX);
	p = chat_guard_place(&g, big, CP_HTTP_HEAD_MAX);
	CU_ASSERT_EQUAL(cp_http_parse(p, CP_HTTP_HEAD_MAX, &r), -EMSGSIZE);
	chat_guard_free(&g);
	free(big);
}

/* ---- the server: deadline per connection, detach hands over the rest ---- */

struct srv_fx {
	uv_loop_t loop;
	struct cp_http *srv;
	uint16_t port;
	uv_tcp_t *detached;
	char rest[64];
	size_t rest_len;
};

static void on_detach(void *arg, struct cp_http_conn *conn, const struct cp_http_request *req)
{
	struct srv_fx *f = arg;
	char *rest;
	size_t n;
	f->detached = cp_http_detach(conn, &rest, &n);
	f->rest_len = n < sizeof(f->rest) ? n : sizeof(f->rest);
	if (n)
		memcpy(f->rest, rest, f->rest_len);
	free(rest);
}

static void srv_up(struct srv_fx *f)
{
	memset(f, 0, sizeof(*f));
	CU_ASSERT_EQUAL_FATAL(uv_loop_init(&f->loop), 0);
	for (int i = 0; i < 50 && !f->srv; i++) {
		f->port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 30000);
		f->srv = cp_http_start(&f->loop, "127.0.0.1", f->port);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->srv);
	cp_http_set_timeout(f->srv, 200);
	CU_ASSERT_EQUAL(cp_http_route(f->srv, "/d", on_detach, f), 0);
}

static void on_freed(uv_handle_t *h)
{
	free(h);
}

static void srv_down(struct srv_fx *f)
{
	if (f->detached)
		uv_close((uv_handle_t *)f->detached, on_freed);
	cp_http_stop(f->srv);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	CU_ASSERT_EQUAL(uv_loop_close(&f->loop), 0);
}

static int client(const struct srv_fx *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop for ms; then 1 when the server closed fd (EOF or reset),
 * 0 when it is still open. */
static int closed_after(struct srv_fx *f, int fd, uint64_t ms)
{
	char b[256];
	for (uint64_t end = mono_ms() + ms; mono_ms() < end;) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ssize_t n;
	while ((n = read(fd, b, sizeof(b))) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN);
}

static void test_server_timeout(void)
{
	struct srv_fx f;
	srv_up(&f);
	int idle = client(&f), part = client(&f);
	CU_ASSERT_EQUAL(write(part, "GET /d HTTP/1.1\r\n", 17), 17);
	CU_ASSERT_FALSE(closed_after(&f, idle, 50));
	CU_ASSERT_TRUE(closed_after(&f, idle, 1000)); /* deadline 200 ms */
	CU_ASSERT_TRUE(closed_after(&f, part, 0));
	close(idle);
	close(part);
	srv_down(&f);
}

static void test_server_detach(void)
{
	struct srv_fx f;
	srv_up(&f);
	int fd = client(&f);
	static const char req[] = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n\x81\x85XYZ";
	CU_ASSERT_EQUAL(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	for (uint64_t end = mono_ms() + 1000; !f.detached && mono_ms() < end;)
		uv_run(&f.loop, UV_RUN_NOWAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.detached);
	/* bytes behind the request go to the new owner */
	CU_ASSERT_EQUAL(f.rest_len, 5);
	CU_ASSERT(memcmp(f.rest, "\x81\x85XYZ", 5) == 0);
	/* the deadline does not apply to a detached socket */
	CU_ASSERT_FALSE(closed_after(&f, fd, 500));
	close(fd);
	srv_down(&f);
}

int test_chat_http_register(void)
{
	CU_pSuite s = CU_add_suite("chat_http", NULL, NULL);
	if (!s || !CU_add_test(s, "upgrade request", test_request) ||
	    !CU_add_test(s, "every truncation", test_truncations) ||
	    !CU_add_test(s, "content-length body", test_body) ||
	    !CU_add_test(s, "malformed and oversized", test_errors) ||
	    !CU_add_test(s, "server: request deadline", test_server_timeout) ||
	    !CU_add_test(s, "server: detach keeps the rest", test_server_detach))
		return -1;
	return 0;
}
