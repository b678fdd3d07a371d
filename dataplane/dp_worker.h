/* dp_worker: the process-wide application object and the per-worker lcore
 * state and loop.
 *
 * struct dp_app is built by the main lcore and is read-only once workers
 * launch (except `quit`, an atomic flag). Each struct dp_worker belongs to
 * one worker lcore: its net stack, TCP stack, mempools, TX buffers and idle
 * state. Other lcores only read its counters (torn reads tolerated) and
 * enqueue to its ring.
 */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/dp_conf.h"
#include "dataplane/dp_net.h"
#include "dataplane/dp_services.h"

#define DP_MAX_WORKERS 64
#define DP_BURST 32
#define DP_PORT_NONE UINT16_MAX

struct dp_worker;
struct dp_rtmp;
struct dp_rtmp_shared;

struct dp_app {
	struct dp_conf conf;
	uint16_t port;          /* data port */
	uint16_t exc_port;      /* exception TAP port, DP_PORT_NONE when off */
	uint16_t nb_workers;
	uint16_t nb_rxq;        /* data port RX queues (<= nb_workers) */
	int hw_rss;             /* the NIC steers flows (symmetric RSS) */
	int rx_csum;            /* the port flags RX checksums */
	int tx_csum;            /* the port computes IPv4/TCP checksums */
	uint64_t tsc_per_us;
	struct dp_worker *workers[DP_MAX_WORKERS];
	struct dp_rtmp_shared *rtmp; /* RTMP fan-out shared state; NULL = no RTMP service */
	atomic_int quit;        /* set by the main lcore on SIGINT/SIGTERM */
};

#define DP_TXBUF_SIZE 1024 /* frames held while the port pushes back: a fan-out
			    * round to every viewer of a worker comes as one burst */
#define DP_TXBUF_STALL_MS 100 /* port took nothing this long: its head frame is refused */
#define DP_TXBUF_MEMIF_BURST 4 /* see txbuf_burst_memif() */

/* Frames waiting for rte_eth_tx_burst. What the port does not take stays
 * queued for the next loop (a TAP's kernel side pushes back under load);
 * only a full buffer drops. A frame the port can never send must not block
 * the frames behind it: frames longer than max_frame are dropped before
 * the burst, and when the port has taken nothing for DP_TXBUF_STALL_MS the
 * head frame is dropped as refused (net_tap refuses a frame it cannot
 * write by stopping the burst there, for ever). Both count in *drop_bad. */
struct dp_txbuf {
	uint16_t port, queue, n;
	uint16_t max_frame;     /* MTU + Ethernet header + one VLAN tag; 0 = unchecked */
	uint8_t memif;          /* net_memif: bursts of at most DP_TXBUF_MEMIF_BURST
				 * and partial-chain repair (dp_worker.c) */
	uint64_t stall_tsc;     /* first flush of the current run that sent nothing; 0 = none */
	uint64_t *drop_bad;     /* counter for unsendable frames; NULL = not counted */
	struct rte_mbuf *pkts[DP_TXBUF_SIZE];
};

/* Loop accounting, for the stats and the idle policy. */
struct dp_worker_loop {
	uint64_t loops, busy_loops, sleeps, sleep_us_total;
	/* TSC cycles spent in iterations, all of them and those that did work
	 * (sleeps excluded): busy_cycles / tsc_hz is the core time the worker
	 * needed, whatever its idle policy burns on top. */
	uint64_t loop_cycles, busy_cycles;
	uint32_t empty_run;   /* consecutive empty polls */
	uint32_t sleep_us;    /* current back-off */
	uint64_t last_arp_us; /* last ARP timer run */
};

struct dp_worker {
	uint16_t id;
	unsigned lcore;
	int socket;
	struct dp_app *app;
	struct rte_mempool *pool;      /* RX + payload mbufs */
	struct rte_mempool *hdr_pool;  /* TCP headers / indirect mbufs */
	struct rte_ring *ring;         /* frames forwarded by other workers (MP/SC) */
	uint16_t rxq;                  /* data port RX queue or DP_PORT_NONE */
	struct dp_txbuf tx_data;
	struct dp_txbuf tx_exc;
	struct dp_worker_loop loop;
	struct dp_tcp_stack *tcp;
	struct dp_svc_ctx svc;
	struct dp_rtmp *rtmp;          /* RTMP service, NULL when off */
	struct dp_net net;
} __rte_cache_aligned;

/* Allocate worker `id` for lcore on its NUMA socket: mempools, ring, net
 * stack, TCP stack and test services. The app's ports must already be
 * known (ids) but need not be started (the pools feed their RX queues).
 * Returns the worker or NULL with errno set; msg explains. */
struct dp_worker *dp_worker_create(struct dp_app *app, uint16_t id, unsigned lcore,
				   const struct rte_ether_addr *mac, char *msg, size_t msglen);

/* Free a worker after its lcore returned (NULL accepted). */
void dp_worker_free(struct dp_worker *w);

/* lcore entry point (rte_eal_remote_launch): loops until app->quit, then
 * resets its connections (dp_tcp_stack_destroy), flushes and returns 0. */
int dp_worker_main(void *arg);

/* One loop iteration without the idle policy: poll the RX queues and the
 * ring, run timers, flush TX. Returns the work done (frames handled plus
 * frames still waiting for the port). Used by dp_worker_main, and by tests
 * to drive a worker step by step on the calling thread. */
unsigned dp_worker_iterate(struct dp_worker *w);

/* Reset every connection of the worker (dp_tcp_stack_destroy) and push
 * the resulting RSTs out of its TX queue; call on the worker's lcore after
 * its loop ended, before the port stops. */
void dp_worker_stop(struct dp_worker *w);

/* Send the buffered frames; what the port did not take stays buffered,
 * in order, except unsendable frames (see struct dp_txbuf), which are
 * freed and counted. Returns the number of frames still buffered. */
uint16_t dp_txbuf_flush(struct dp_txbuf *tb);

/* Free whatever is still buffered, counting it in *drops (shutdown). */
void dp_txbuf_discard(struct dp_txbuf *tb, uint64_t *drops);

#endif /* DP_WORKER_H */
