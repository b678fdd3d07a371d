/* Worker lcores: creation on the worker's NUMA node, the poll loop, TX
 * buffering and the adaptive idle policy. */
#include "dataplane/dp_worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_tcp.h"

#define HDR_DATAROOM 256          /* TCP/IP headers + L2 headroom */
#define POOL_CACHE 256
#define IDLE_SPINS 256            /* empty polls before the first sleep */
#define RX_BURSTS_MAX 16          /* data port bursts taken per loop while full */
#define IDLE_FIRST_SLEEP_US 8
#define ARP_TICK_US 1000

static void txbuf_drop_bad(struct dp_txbuf *tb, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
	if (tb->drop_bad)
		(*tb->drop_bad)++;
}

/* Drop the frames longer than the port can send, keeping the order of the
 * rest: the PMD would refuse them (net_tap: for ever, at the burst head). */
static void txbuf_drop_oversize(struct dp_txbuf *tb)
{
	uint16_t keep = 0;

	for (uint16_t i = 0; i < tb->n; i++) {
		if (tb->pkts[i]->pkt_len > tb->max_frame)
			txbuf_drop_bad(tb, tb->pkts[i]);
		else
			tb->pkts[keep++] = tb->pkts[i];
	}
	tb->n = keep;
}

/* The port took nothing: after DP_TXBUF_STALL_MS of that, whatever it
 * objects to in the head frame, the head goes, so one bad frame cannot
 * block the queue (and ARP replies, ACKs, RSTs behind it) for ever. */
static void txbuf_stalled(struct dp_txbuf *tb)
{
	uint64_t now = rte_get_tsc_cycles();

	if (!tb->stall_tsc) {
		tb->stall_tsc = now;
		return;
	}
	if (now - tb->stall_tsc < rte_get_tsc_hz() / 1000 * DP_TXBUF_STALL_MS)
		return;
	txbuf_drop_bad(tb, tb->pkts[0]);
	tb->n--;
	memmove(tb->pkts, tb->pkts + 1, sizeof(tb->pkts[0]) * tb->n);
	tb->stall_tsc = now;
}

/* net_memif's zero-copy TX (DPDK 22.11) mishandles chained frames in two
 * ways. Its loop places four frames per free-slot check, so when chains use
 * up the ring inside those four its free count wraps below zero and it
 * overwrites descriptors and mbuf pointers still in flight (a crash a few
 * seconds into a fan-out benchmark): bursts of at most four frames never
 * take that path. And a chain that does not fit in the slots left is half
 * placed: the segments it got to keep an extra reference it never drops,
 * while the frame counts as not sent. The frame is then retried, so that
 * reference is undone here, segment by segment against the counts noted
 * before the burst (segments of one frame are private to it). */
#define MEMIF_SEGS_NOTED 64

static uint16_t txbuf_burst_memif(struct dp_txbuf *tb)
{
	uint16_t sent = 0;

	while (sent < tb->n) {
		uint16_t want = (uint16_t)RTE_MIN(tb->n - sent, DP_TXBUF_MEMIF_BURST);
		uint16_t refs[DP_TXBUF_MEMIF_BURST][MEMIF_SEGS_NOTED];
		uint16_t k, s;
		struct rte_mbuf *m;

		for (k = 0; k < want; k++)
			for (m = tb->pkts[sent + k], s = 0; m && s < MEMIF_SEGS_NOTED; m = m->next)
				refs[k][s++] = rte_mbuf_refcnt_read(m);
		k = rte_eth_tx_burst(tb->port, tb->queue, tb->pkts + sent, want);
		sent = (uint16_t)(sent + k);
		if (k == want)
			continue;
		for (m = tb->pkts[sent], s = 0; m && s < MEMIF_SEGS_NOTED; m = m->next, s++)
			if (rte_mbuf_refcnt_read(m) > refs[k][s])
				rte_mbuf_refcnt_update(m, -1);
		break;
	}
	return sent;
}

uint16_t dp_txbuf_flush(struct dp_txbuf *tb)
{
	uint16_t sent;

	if (tb->max_frame)
		txbuf_drop_oversize(tb);
	if (tb->n == 0)
		return 0;
	if (tb->memif)
		sent = txbuf_burst_memif(tb);
	else
		sent = rte_eth_tx_burst(tb->port, tb->queue, tb->pkts, tb->n);
	if (sent < tb->n)
		memmove(tb->pkts, tb->pkts + sent, sizeof(tb->pkts[0]) * (size_t)(tb->n - sent));
	tb->n = (uint16_t)(tb->n - sent);
	if (sent)
		tb->stall_tsc = 0;
	else
		txbuf_stalled(tb);
	return tb->n;
}

/* Limits and the drop counter of a worker TX buffer on port. */
static void txbuf_setup(struct dp_txbuf *tb, uint16_t port, uint16_t queue, uint64_t *drop_bad)
{
	uint16_t mtu = 0;
	struct rte_eth_dev_info di;

	tb->port = port;
	tb->memif = port != DP_PORT_NONE && rte_eth_dev_info_get(port, &di) == 0 &&
		    di.driver_name && strcmp(di.driver_name, "net_memif") == 0;
	tb->queue = queue;
	tb->drop_bad = drop_bad;
	if (port != DP_PORT_NONE && rte_eth_dev_get_mtu(port, &mtu) == 0 && mtu)
		tb->max_frame = (uint16_t)(mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN);
}

void dp_txbuf_discard(struct dp_txbuf *tb, uint64_t *drops)
{
	for (uint16_t i = 0; i < tb->n; i++) {
		rte_pktmbuf_free(tb->pkts[i]);
		(*drops)++;
	}
	tb->n = 0;
}

static void txbuf_add(struct dp_txbuf *tb, struct rte_mbuf *m, uint64_t *drops)
{
	if (tb->n >= DP_BURST)
		dp_txbuf_flush(tb);
	if (tb->n == DP_TXBUF_SIZE) {
		rte_pktmbuf_free(m); /* the port has not taken anything for a while */
		(*drops)++;
		return;
	}
	tb->pkts[tb->n++] = m;
}

static void worker_tx(void *arg, struct rte_mbuf *m)
{
	struct dp_worker *w = arg;

	txbuf_add(&w->tx_data, m, &w->net.st.drop_tx_full);
}

static void worker_tx_exc(void *arg, struct rte_mbuf *m)
{
	struct dp_worker *w = arg;

	/* RX flags must not look like TX offload requests to the TAP. */
	m->ol_flags = 0;
	txbuf_add(&w->tx_exc, m, &w->net.st.drop_exc_full);
}

static int worker_forward(void *arg, uint16_t to, struct rte_mbuf *m)
{
	struct dp_worker *w = arg;

	if (to >= w->app->nb_workers)
		return -EINVAL;
	return rte_ring_enqueue(w->app->workers[to]->ring, m) == 0 ? 0 : -ENOBUFS;
}

static int worker_net_init(struct dp_worker *w, const struct rte_ether_addr *mac)
{
	const struct dp_app *app = w->app;
	struct dp_net_cfg cfg = {
		.ip = app->conf.ip,
		.netmask = app->conf.netmask,
		.gateway = app->conf.gw,
		.mac = *mac,
		.worker_id = w->id,
		.nb_workers = app->nb_workers,
		.soft_dispatch = !app->hw_rss,
		.rx_csum_flags = app->rx_csum,
		.arp_timeout_us = app->conf.arp_timeout_ms * 1000,
	};
	struct dp_net_ops ops = {
		.tx = worker_tx,
		.tx_exception = app->exc_port != DP_PORT_NONE ? worker_tx_exc : NULL,
		.forward = app->nb_workers > 1 ? worker_forward : NULL,
		.arg = w,
	};
	return dp_net_init(&w->net, &cfg, &ops, w->pool);
}

/* Room in the data port's TX buffer (the TCP stack's arg is &w->net). */
static uint32_t worker_tx_room(void *arg)
{
	const struct dp_worker *w = container_of(arg, struct dp_worker, net);

	return (uint32_t)(DP_TXBUF_SIZE - w->tx_data.n);
}

static struct dp_tcp_stack *worker_tcp_create(struct dp_worker *w)
{
	const struct dp_conf *c = &w->app->conf;
	struct dp_tcp_cfg cfg;
	struct dp_tcp_ops ops = { .ip_output = dp_net_ip_output, .tx_room = worker_tx_room,
				  .arg = &w->net };

	dp_tcp_cfg_defaults(&cfg);
	cfg.local_ip = c->ip;
	cfg.max_conns = (uint32_t)c->tcp_max_conns;
	cfg.syn_backlog = (uint32_t)c->tcp_syn_backlog;
	cfg.syncookies = (int)c->tcp_syncookies;
	cfg.mss = (uint16_t)c->tcp_mss;
	cfg.rcv_wnd = (uint32_t)c->tcp_rcv_wnd;
	cfg.snd_buf_max = (uint32_t)c->tcp_snd_buf;
	cfg.time_wait_ms = (uint32_t)c->tcp_time_wait_ms;
	cfg.idle_timeout_ms = (uint32_t)c->tcp_idle_timeout_ms;
	cfg.cc = c->cc;
	cfg.tx_csum_offload = w->app->tx_csum;
	return dp_tcp_stack_create(&cfg, w->socket, w->hdr_pool, &ops);
}

static int worker_pools(struct dp_worker *w, char *msg, size_t msglen)
{
	const struct dp_conf *c = &w->app->conf;
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "dp_mb%u", w->id);
	w->pool = rte_pktmbuf_pool_create(name, (unsigned)c->mbufs, POOL_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, w->socket);
	snprintf(name, sizeof(name), "dp_hdr%u", w->id);
	w->hdr_pool = rte_pktmbuf_pool_create(name, (unsigned)c->hdr_mbufs, POOL_CACHE, 0,
					      HDR_DATAROOM, w->socket);
	snprintf(name, sizeof(name), "dp_ring%u", w->id);
	w->ring = rte_ring_create(name, (unsigned)c->ring_size, w->socket, RING_F_SC_DEQ);
	if (!w->pool || !w->hdr_pool || !w->ring) {
		snprintf(msg, msglen, "worker %u: mempool/ring on socket %d: %s", w->id,
			 w->socket, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static int worker_services(struct dp_worker *w, char *msg, size_t msglen)
{
	const struct dp_conf *c = &w->app->conf;
	char name[RTE_MEMPOOL_NAMESIZE];
	int rc;

	snprintf(name, sizeof(name), "dp_svc%u", w->id);
	rc = dp_services_init(&w->svc, name, (unsigned)c->tcp_max_conns, w->socket, w->pool);
	if (rc == 0)
		rc = dp_services_listen(w->tcp, &w->svc, c->echo, c->discard, c->source);
	if (rc != 0)
		snprintf(msg, msglen, "worker %u: services: %s", w->id, strerror(-rc));
	return rc;
}

struct dp_worker *dp_worker_create(struct dp_app *app, uint16_t id, unsigned lcore,
				   const struct rte_ether_addr *mac, char *msg, size_t msglen)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct dp_worker *w = rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
						 socket);

	if (!w) {
		snprintf(msg, msglen, "worker %u: no memory on socket %d", id, socket);
		errno = ENOMEM;
		return NULL;
	}
	w->id = id;
	w->lcore = lcore;
	w->socket = socket;
	w->app = app;
	w->rxq = id < app->nb_rxq ? id : DP_PORT_NONE;
	txbuf_setup(&w->tx_data, app->port, id, &w->net.st.drop_tx_bad);
	txbuf_setup(&w->tx_exc, app->exc_port, id, &w->net.st.drop_tx_bad);
	if (worker_pools(w, msg, msglen) != 0 || worker_net_init(w, mac) != 0)
		goto fail;
	w->tcp = worker_tcp_create(w);
	if (!w->tcp) {
		snprintf(msg, msglen, "worker %u: tcp stack: %s", id, strerror(errno));
		goto fail;
	}
	w->net.tcp = w->tcp;
	if (worker_services(w, msg, msglen) != 0)
		goto fail;
	if (app->rtmp && app->conf.rtmp) {
		w->rtmp = dp_rtmp_create(w, app->rtmp);
		if (!w->rtmp) {
			snprintf(msg, msglen, "worker %u: rtmp service: %s", id, strerror(errno));
			goto fail;
		}
	}
	return w;
fail:
	dp_worker_free(w);
	errno = ENOMEM;
	return NULL;
}

void dp_worker_free(struct dp_worker *w)
{
	if (!w)
		return;
	dp_tcp_stack_destroy(w->tcp);
	w->tcp = NULL;
	w->net.tcp = NULL;
	dp_rtmp_free(w->rtmp); /* after the stack: its on_close released the sessions */
	w->rtmp = NULL;
	dp_net_fini(&w->net);
	dp_txbuf_discard(&w->tx_data, &w->net.st.drop_tx_full);
	dp_txbuf_discard(&w->tx_exc, &w->net.st.drop_exc_full);
	dp_services_fini(&w->svc);
	rte_ring_free(w->ring);
	rte_mempool_free(w->hdr_pool);
	rte_mempool_free(w->pool);
	rte_free(w);
}

static inline uint64_t worker_now_us(const struct dp_worker *w)
{
	return rte_get_tsc_cycles() / w->app->tsc_per_us;
}

static unsigned worker_poll(struct dp_worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n, work = 0;

	/* A full burst means more is waiting: a loop that also ran a fan-out
	 * round to thousands of viewers takes up to RX_BURSTS_MAX bursts, or
	 * their ACKs back up in the port's ring and are lost there. */
	for (unsigned b = 0; w->rxq != DP_PORT_NONE && b < RX_BURSTS_MAX; b++) {
		n = rte_eth_rx_burst(w->app->port, w->rxq, pkts, DP_BURST);
		for (unsigned i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
			dp_net_rx(&w->net, pkts[i], now);
		}
		work += n;
		if (n < DP_BURST)
			break;
	}
	n = rte_ring_dequeue_burst(w->ring, (void **)pkts, DP_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		dp_net_rx_peer(&w->net, pkts[i], now);
	work += n;
	if (w->app->exc_port != DP_PORT_NONE) {
		n = rte_eth_rx_burst(w->app->exc_port, w->id, pkts, DP_BURST);
		for (unsigned i = 0; i < n; i++)
			dp_net_rx_exception(&w->net, pkts[i], now);
		work += n;
	}
	return work;
}

/* Adaptive: after IDLE_SPINS empty polls sleep, doubling up to the
 * configured maximum; any packet resets the back-off. */
static void worker_idle(struct dp_worker *w, unsigned work, uint64_t cycles)
{
	struct dp_worker_loop *l = &w->loop;

	l->loop_cycles += cycles;
	if (work) {
		l->busy_loops++;
		l->busy_cycles += cycles;
		l->empty_run = 0;
		l->sleep_us = 0;
		return;
	}
	if (w->app->conf.idle_mode == DP_IDLE_POLL || ++l->empty_run < IDLE_SPINS)
		return;
	l->sleep_us = l->sleep_us ? l->sleep_us * 2 : IDLE_FIRST_SLEEP_US;
	if (l->sleep_us > w->app->conf.idle_sleep_max_us)
		l->sleep_us = (uint32_t)w->app->conf.idle_sleep_max_us;
	rte_delay_us_sleep(l->sleep_us);
	l->sleeps++;
	l->sleep_us_total += l->sleep_us;
}

unsigned dp_worker_iterate(struct dp_worker *w)
{
	uint64_t now = worker_now_us(w);
	unsigned work = worker_poll(w, now);

	if (w->tcp)
		dp_tcp_timers(w->tcp, now);
	if (w->rtmp && w->tcp)
		work += dp_rtmp_poll(w->rtmp, now);
	if (now - w->loop.last_arp_us >= ARP_TICK_US) {
		dp_net_timers(&w->net, now);
		w->loop.last_arp_us = now;
	}
	/* Frames the port pushed back count as work: no sleeping on them. */
	work += dp_txbuf_flush(&w->tx_data);
	/* Connections that stopped on a full buffer go on while it has room;
	 * what they send leaves with the next loop's flush. */
	if (w->tcp)
		work += dp_tcp_tx_resume(w->tcp);
	if (w->tx_exc.port != DP_PORT_NONE)
		work += dp_txbuf_flush(&w->tx_exc);
	w->loop.loops++;
	return work;
}

void dp_worker_stop(struct dp_worker *w)
{
	struct dp_tcp_stack *tcp = w->tcp;

	w->tcp = NULL; /* stats readers stop looking first */
	w->net.tcp = NULL;
	dp_tcp_stack_destroy(tcp);
	for (int i = 0; i < 100 && dp_txbuf_flush(&w->tx_data) > 0; i++)
		rte_delay_us_sleep(100);
	dp_txbuf_discard(&w->tx_data, &w->net.st.drop_tx_full);
	if (w->tx_exc.port != DP_PORT_NONE) {
		dp_txbuf_flush(&w->tx_exc);
		dp_txbuf_discard(&w->tx_exc, &w->net.st.drop_exc_full);
	}
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;

	cp_info("worker %u on lcore %u (socket %d) rx queue %d", w->id, w->lcore, w->socket,
		w->rxq == DP_PORT_NONE ? -1 : (int)w->rxq);
	while (!atomic_load_explicit(&w->app->quit, memory_order_relaxed)) {
		uint64_t t0 = rte_rdtsc();
		unsigned work = dp_worker_iterate(w);

		worker_idle(w, work, rte_rdtsc() - t0);
	}
	dp_worker_stop(w);
	cp_info("worker %u stopped after %llu loops", w->id, (unsigned long long)w->loop.loops);
	return 0;
}
