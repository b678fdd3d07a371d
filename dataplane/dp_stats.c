/* Stats export: JSON for the IPC socket, dicts for DPDK telemetry. */
#include "dataplane/dp_stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_tcp.h"
#include "dataplane/dp_worker.h"

/* Flat view of one worker (or the sum): every exported counter by name. */
struct stat_view {
	struct dp_net_stats net;
	struct dp_tcp_stats tcp;
	struct dp_rtmp_stats rtmp;
	uint64_t loops, busy_loops, sleeps, sleep_us_total, loop_cycles, busy_cycles;
	/* Memory held for sessions: TCP connection objects plus RTMP session
	 * state, and packet buffers in use (RX/payload and header/indirect
	 * mbufs, whole objects); per viewer = the growth over viewers. */
	uint64_t mem_session_bytes, mem_buffer_bytes;
	uint64_t pool_in_use, pool_avail, hdr_pool_in_use, hdr_pool_avail, ring_count;
	uint64_t tcp_conns;
	uint64_t svc_conns, svc_refused, svc_bytes_echoed, svc_bytes_discarded,
		svc_bytes_sourced;
};

#define EXTRA_FIELDS(X) \
	X(loops) X(busy_loops) X(sleeps) X(sleep_us_total) X(loop_cycles) X(busy_cycles) \
	X(mem_session_bytes) X(mem_buffer_bytes) \
	X(pool_in_use) X(pool_avail) X(hdr_pool_in_use) X(hdr_pool_avail) X(ring_count) \
	X(tcp_conns) X(svc_conns) X(svc_refused) X(svc_bytes_echoed) X(svc_bytes_discarded) \
	X(svc_bytes_sourced)

/* Whole footprint of one mempool object (header, element, trailer), as
 * the pool was laid out. */
static uint64_t pool_obj_bytes(const struct rte_mempool *mp)
{
	return rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
}

static void view_worker(const struct dp_worker *w, int quitting, struct stat_view *v)
{
	memset(v, 0, sizeof(*v));
	v->net = w->net.st;
	/* The stack is freed by its worker on the way out. */
	if (!quitting && w->tcp) {
		v->tcp = *dp_tcp_stats(w->tcp);
		v->tcp_conns = dp_tcp_conn_count(w->tcp);
		v->mem_session_bytes = v->tcp_conns * dp_tcp_conn_obj_bytes(w->tcp);
	}
	if (w->rtmp) {
		v->rtmp = *dp_rtmp_stats(w->rtmp);
		v->mem_session_bytes += dp_rtmp_session_bytes(w->rtmp);
	}
	v->loops = w->loop.loops;
	v->busy_loops = w->loop.busy_loops;
	v->sleeps = w->loop.sleeps;
	v->sleep_us_total = w->loop.sleep_us_total;
	v->loop_cycles = w->loop.loop_cycles;
	v->busy_cycles = w->loop.busy_cycles;
	v->pool_in_use = rte_mempool_in_use_count(w->pool);
	v->pool_avail = rte_mempool_avail_count(w->pool);
	v->hdr_pool_in_use = rte_mempool_in_use_count(w->hdr_pool);
	v->hdr_pool_avail = rte_mempool_avail_count(w->hdr_pool);
	v->ring_count = rte_ring_count(w->ring);
	v->mem_buffer_bytes = v->pool_in_use * pool_obj_bytes(w->pool) +
			      v->hdr_pool_in_use * pool_obj_bytes(w->hdr_pool);
	v->svc_conns = w->svc.conns;
	v->svc_refused = w->svc.refused;
	v->svc_bytes_echoed = w->svc.bytes_echoed;
	v->svc_bytes_discarded = w->svc.bytes_discarded;
	v->svc_bytes_sourced = w->svc.bytes_sourced;
}

static void view_add(struct stat_view *sum, const struct stat_view *v)
{
	const uint64_t *src = (const uint64_t *)v;
	uint64_t *dst = (uint64_t *)sum;

	/* struct stat_view is made of uint64_t only */
	for (size_t i = 0; i < sizeof(*v) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static void view_total(const struct dp_app *app, struct stat_view *sum)
{
	int quitting = atomic_load(&((struct dp_app *)app)->quit);
	struct stat_view v;

	memset(sum, 0, sizeof(*sum));
	for (uint16_t i = 0; i < app->nb_workers; i++) {
		view_worker(app->workers[i], quitting, &v);
		view_add(sum, &v);
	}
}

/* ---- JSON ---- */

struct jbuf {
	char *p;
	size_t len, off;
	int overflow;
};

static void jprintf(struct jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jprintf(struct jbuf *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->p + j->off, j->len - j->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->len - j->off) {
		j->overflow = 1;
		return;
	}
	j->off += (size_t)n;
}

static void json_view(struct jbuf *j, const struct stat_view *v)
{
	const char *sep = "";
#define J_NET(n) jprintf(j, "%s\"" #n "\":%llu", sep, (unsigned long long)v->net.n); sep = ",";
#define J_TCP(n) jprintf(j, ",\"tcp_" #n "\":%llu", (unsigned long long)v->tcp.n);
#define J_EXTRA(n) jprintf(j, ",\"" #n "\":%llu", (unsigned long long)v->n);
#define J_RTMP(n) jprintf(j, ",\"rtmp_" #n "\":%llu", (unsigned long long)v->rtmp.n);
	DP_NET_STATS_FIELDS(J_NET)
	DP_TCP_STATS_FIELDS(J_TCP)
	EXTRA_FIELDS(J_EXTRA)
	DP_RTMP_STATS_FIELDS(J_RTMP)
#undef J_RTMP
#undef J_NET
#undef J_TCP
#undef J_EXTRA
}

static void json_stream(void *arg, const struct dp_rtmp_stream_stats *s)
{
	struct jbuf *j = arg;

	jprintf(j, "%s{\"stream\":%llu,\"viewers\":%u,\"publishing\":%d,\"entries\":%llu,"
		"\"bytes_sent\":%llu,\"skips\":%llu,\"resets\":%llu,\"skip_bytes\":%llu,"
		"\"gaps\":%llu}", j->off && j->p[j->off - 1] == '[' ? "" : ",",
		(unsigned long long)s->stream, s->viewers, s->publishing,
		(unsigned long long)s->entries, (unsigned long long)s->bytes_sent,
		(unsigned long long)s->skips, (unsigned long long)s->resets,
		(unsigned long long)s->skip_bytes, (unsigned long long)s->gaps);
}

/* Link state of the data port, for the operator's `status`. Ethdev names are
 * PCI addresses or vdev names, so they need no JSON escaping. */
static void json_link(struct jbuf *j, uint16_t port)
{
	struct rte_eth_link link;
	char name[RTE_ETH_NAME_MAX_LEN] = "";

	if (!rte_eth_dev_is_valid_port(port) || rte_eth_link_get_nowait(port, &link) != 0 ||
	    rte_eth_dev_get_name_by_port(port, name) != 0) {
		jprintf(j, ",\"link\":null");
		return;
	}
	jprintf(j, ",\"link\":{\"port\":\"%s\",\"up\":%s,\"speed_mbps\":%u,\"full_duplex\":%s}",
		name, link.link_status ? "true" : "false", link.link_speed,
		link.link_duplex ? "true" : "false");
}

int dp_stats_json(const struct dp_app *app, char *buf, size_t len)
{
	struct jbuf j = { buf, len, 0, 0 };
	int quitting = atomic_load(&((struct dp_app *)app)->quit);
	struct stat_view v;

	if (len == 0)
		return -ENOSPC;
	view_total(app, &v);
	jprintf(&j, "{\"workers\":%u,\"tsc_hz\":%llu", app->nb_workers,
		(unsigned long long)rte_get_tsc_hz());
	json_link(&j, app->port);
	jprintf(&j, ",\"total\":{");
	json_view(&j, &v);
	jprintf(&j, "},\"per_worker\":[");
	for (uint16_t i = 0; i < app->nb_workers; i++) {
		const struct dp_worker *w = app->workers[i];

		view_worker(w, quitting, &v);
		jprintf(&j, "%s{\"id\":%u,\"lcore\":%u,\"socket\":%d,\"rxq\":%d,", i ? "," : "",
			w->id, w->lcore, w->socket, w->rxq == DP_PORT_NONE ? -1 : (int)w->rxq);
		json_view(&j, &v);
		/* Per stream fan-out: read without locks from another lcore;
		 * only while the workers run the stream set can change under
		 * us, so it is listed when quitting is not set (torn values
		 * tolerated like every counter here). */
		if (w->rtmp && !quitting) {
			jprintf(&j, ",\"streams\":[");
			dp_rtmp_foreach_stream(w->rtmp, json_stream, &j);
			jprintf(&j, "]");
		}
		jprintf(&j, "}");
	}
	jprintf(&j, "]}");
	if (j.overflow) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)j.off;
}

/* ---- telemetry ---- */

/* Set once before workers launch, read-only afterwards (see header). */
static const struct dp_app *tel_app;

static void tel_view(struct rte_tel_data *d, const struct stat_view *v)
{
	rte_tel_data_start_dict(d);
#define T_NET(n) rte_tel_data_add_dict_u64(d, #n, v->net.n);
#define T_TCP(n) rte_tel_data_add_dict_u64(d, "tcp_" #n, v->tcp.n);
#define T_EXTRA(n) rte_tel_data_add_dict_u64(d, #n, v->n);
#define T_RTMP(n) rte_tel_data_add_dict_u64(d, "rtmp_" #n, v->rtmp.n);
	DP_NET_STATS_FIELDS(T_NET)
	DP_TCP_STATS_FIELDS(T_TCP)
	EXTRA_FIELDS(T_EXTRA)
	DP_RTMP_STATS_FIELDS(T_RTMP)
#undef T_RTMP
#undef T_NET
#undef T_TCP
#undef T_EXTRA
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct stat_view v;

	if (atomic_load(&((struct dp_app *)tel_app)->quit))
		return -EBUSY; /* workers are going away */
	view_total(tel_app, &v);
	tel_view(d, &v);
	rte_tel_data_add_dict_u64(d, "workers", tel_app->nb_workers);
	return 0;
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct stat_view v;
	char *end;
	unsigned long id;

	if (atomic_load(&((struct dp_app *)tel_app)->quit))
		return -EBUSY;
	if (!params || !*params)
		return -EINVAL;
	id = strtoul(params, &end, 10);
	if (*end != '\0' || id >= tel_app->nb_workers)
		return -EINVAL;
	view_worker(tel_app->workers[id], atomic_load(&((struct dp_app *)tel_app)->quit), &v);
	tel_view(d, &v);
	return 0;
}

int dp_stats_telemetry_register(const struct dp_app *app)
{
	int rc;

	tel_app = app;
	rc = rte_telemetry_register_cmd("/lifecast/stats", tel_stats,
					"Dataplane counters summed over workers. No parameters");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/lifecast/worker", tel_worker,
						"One worker's counters. Parameter: worker id");
	return rc;
}
