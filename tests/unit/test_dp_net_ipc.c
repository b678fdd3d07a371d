/* dp_stats / dp_ipc: the stats document and the SEQPACKET request/response
 * socket, against a hand-built application with one worker. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dp_ipc.h"
#include "dataplane/dp_stats.h"
#include "dataplane/dp_worker.h"
#include "tests/unit/util_dp_eal.h"

struct ipc_fix {
	struct dp_app *app;
	struct dp_worker *w;
};

static void ipc_fix_init(struct ipc_fix *f)
{
	f->app = calloc(1, sizeof(*f->app));
	f->w = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*f->w));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->app);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->w);
	memset(f->w, 0, sizeof(*f->w));
	f->w->app = f->app;
	f->w->lcore = 3;
	f->w->rxq = 0;
	f->w->pool = util_dp_pool();
	f->w->hdr_pool = util_dp_pool();
	f->w->ring = rte_ring_create("t_ipc_ring", 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->w->ring);
	f->w->net.st.rx_pkts = 5;
	f->w->net.st.drop_ip_csum = 2;
	f->w->loop.sleeps = 11;
	f->w->loop.loop_cycles = 5000;
	f->w->loop.busy_cycles = 1200;
	f->w->svc.bytes_echoed = 77;
	f->app->nb_workers = 1;
	f->app->workers[0] = f->w;
}

static void ipc_fix_fini(struct ipc_fix *f)
{
	rte_ring_free(f->w->ring);
	free(f->w);
	free(f->app);
}

static void test_stats_json(void)
{
	struct ipc_fix f;
	char buf[16384];
	char tiny[64];

	ipc_fix_init(&f);
	int n = dp_stats_json(f.app, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	char head[128];
	snprintf(head, sizeof(head), "{\"workers\":1,\"tsc_hz\":%llu,\"link\":null,\"total\":{\"rx_pkts\":5,",
		 (unsigned long long)rte_get_tsc_hz());
	CU_ASSERT_EQUAL(strncmp(buf, head, strlen(head)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"loop_cycles\":5000,\"busy_cycles\":1200,"));
	/* buffers in use are counted as whole pool objects */
	{
		struct rte_mbuf *m = rte_pktmbuf_alloc(f.w->pool);
		const struct rte_mempool *mp = f.w->pool;
		char want[64];

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_FATAL(dp_stats_json(f.app, buf, sizeof(buf)) > 0);
		snprintf(want, sizeof(want), "\"mem_buffer_bytes\":%llu,",
			 (unsigned long long)(2 * rte_mempool_in_use_count(mp) *
					      (mp->header_size + mp->elt_size + mp->trailer_size)));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, want));
		rte_pktmbuf_free(m);
		n = dp_stats_json(f.app, buf, sizeof(buf));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"drop_ip_csum\":2,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"sleeps\":11,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"svc_bytes_echoed\":77,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"tcp_retransmits\":0,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"tcp_syn_cookies_sent\":0,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"per_worker\":[{\"id\":0,\"lcore\":3,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"pool_in_use\":"));
	CU_ASSERT_EQUAL(strcmp(buf + n - 3, "}]}"), 0);
	/* balanced braces: a well-formed single object */
	int depth = 0, min = 1;
	for (int i = 0; i < n; i++) {
		depth += buf[i] == '{' ? 1 : buf[i] == '}' ? -1 : 0;
		if (i < n - 1 && depth < min)
			min = depth;
	}
	CU_ASSERT_EQUAL(depth, 0);
	CU_ASSERT_EQUAL(min, 1);
	/* a short buffer is an error, never a truncated document */
	CU_ASSERT_EQUAL(dp_stats_json(f.app, tiny, sizeof(tiny)), -ENOSPC);
	CU_ASSERT_EQUAL(tiny[0], '\0');
	ipc_fix_fini(&f);
}

static void test_ipc_handle(void)
{
	struct ipc_fix f;
	char out[16384];

	ipc_fix_init(&f);
	CU_ASSERT_EQUAL(dp_ipc_handle(f.app, "ping", 4, out, sizeof(out)), 4);
	CU_ASSERT_STRING_EQUAL(out, "pong");
	CU_ASSERT(dp_ipc_handle(f.app, "stats\n", 6, out, sizeof(out)) > 0);
	CU_ASSERT_EQUAL(strncmp(out, "{\"workers\":1", 12), 0);
	CU_ASSERT(dp_ipc_handle(f.app, "statsx", 6, out, sizeof(out)) > 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"error\":\"unknown request\"}");
	CU_ASSERT(dp_ipc_handle(f.app, "", 0, out, sizeof(out)) > 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"error\":\"unknown request\"}");
	ipc_fix_fini(&f);
}

/* Send req, let the server poll until the reply is there. */
static ssize_t roundtrip(struct dp_ipc *ipc, struct dp_app *app, int c, const char *req,
			 char *out, size_t outlen)
{
	if (send(c, req, strlen(req), 0) != (ssize_t)strlen(req))
		return -1;
	for (int i = 0; i < 20; i++) {
		dp_ipc_poll(ipc, app, -1, 20);
		ssize_t n = recv(c, out, outlen - 1, MSG_DONTWAIT);
		if (n >= 0) {
			out[n] = '\0';
			return n;
		}
	}
	return -1;
}

static void test_ipc_socket(void)
{
	struct ipc_fix f;
	struct dp_ipc ipc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[96], out[65536];
	int p[2];

	ipc_fix_init(&f);
	snprintf(path, sizeof(path), "/tmp/lc-dp-ipc-%d/sub/dp.sock", (int)getpid());
	CU_ASSERT_EQUAL_FATAL(dp_ipc_open(&ipc, path), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);

	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CU_ASSERT_FATAL(c >= 0);
	memcpy(sa.sun_path, path, strlen(path));
	CU_ASSERT_EQUAL_FATAL(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT(roundtrip(&ipc, f.app, c, "ping", out, sizeof(out)) == 4);
	CU_ASSERT_STRING_EQUAL(out, "pong");
	CU_ASSERT(roundtrip(&ipc, f.app, c, "stats", out, sizeof(out)) > 100);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"rx_pkts\":5,"));
	CU_ASSERT(roundtrip(&ipc, f.app, c, "nope", out, sizeof(out)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unknown request"));

	/* the extra fd (the signalfd in lifecast-dp) is reported */
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	CU_ASSERT_EQUAL(dp_ipc_poll(&ipc, f.app, p[0], 0), 0);
	CU_ASSERT_EQUAL(write(p[1], "x", 1), 1);
	CU_ASSERT_EQUAL(dp_ipc_poll(&ipc, f.app, p[0], 100), 1);
	close(p[0]);
	close(p[1]);

	/* a client that goes away is dropped, the server carries on */
	close(c);
	dp_ipc_poll(&ipc, f.app, -1, 20);
	for (int i = 0; i < DP_IPC_MAX_CLIENTS; i++)
		CU_ASSERT_EQUAL(ipc.cfd[i], -1);

	dp_ipc_close(&ipc);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	dp_ipc_close(&ipc); /* idempotent */
	char dir[96];
	snprintf(dir, sizeof(dir), "/tmp/lc-dp-ipc-%d/sub", (int)getpid());
	rmdir(dir);
	snprintf(dir, sizeof(dir), "/tmp/lc-dp-ipc-%d", (int)getpid());
	rmdir(dir);
	ipc_fix_fini(&f);
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

int test_dp_net_ipc_register(void)
{
	CU_pSuite s = CU_add_suite("dp_stats_ipc", suite_init, NULL);
	if (!s ||
	    !CU_add_test(s, "stats json", test_stats_json) ||
	    !CU_add_test(s, "ipc request handling", test_ipc_handle) ||
	    !CU_add_test(s, "ipc socket round trips", test_ipc_socket))
		return -1;
	return 0;
}
