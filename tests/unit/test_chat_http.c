/* cp_http_parse (the control plane's HTTP request parser, used for the
 * /chat WebSocket upgrade): complete requests, every truncation, limits and
 * malformed heads, each placed before a guard page. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int test_chat_http_register(void)
{
	CU_pSuite s = CU_add_suite("chat_http", NULL, NULL);
	if (!s || !CU_add_test(s, "upgrade request", test_request) ||
	    !CU_add_test(s, "every truncation", test_truncations) ||
	    !CU_add_test(s, "content-length body", test_body) ||
	    !CU_add_test(s, "malformed and oversized", test_errors))
		return -1;
	return 0;
}
