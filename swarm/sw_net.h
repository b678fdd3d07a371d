/* sw_net: the load generator's packet I/O on one DPDK port and queue:
 * port setup, ARP (resolving the server, answering for every address the
 * swarm uses), and IPv4/TCP segments in and out.
 *
 * Addressing: viewer i uses address base_ip + i / ports_per_ip and port
 * port_base + i % ports_per_ip, so every viewer has its own 4-tuple and the
 * reverse mapping (address, port) -> viewer index is arithmetic.
 *
 * Ownership: every received mbuf is freed here; sw_net_rx() hands parsed
 * segments to a callback whose payload pointer is valid during the call.
 * Built segments are queued (up to SW_NET_TXQ); sw_net_flush() sends
 * them, frames the port does not take stay queued for the next flush, and
 * only a frame arriving at a full queue is dropped (TCP retransmits) and
 * counted.
 */
#ifndef SW_NET_H
#define SW_NET_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "swarm/sw_tcp.h"

#define SW_NET_BURST 64
#define SW_NET_TXQ 16384 /* frames held while the port pushes back */
#define SW_NET_SCRATCH 9216  /* largest frame linearised from a chain */

struct sw_net_cfg {
	uint16_t port_id;
	uint32_t server_ip;     /* host order */
	uint16_t server_port;
	uint32_t base_ip;       /* host order, first viewer address */
	uint32_t nviewers;
	uint32_t ports_per_ip;
	uint16_t port_base;
	uint32_t nb_mbufs;
	uint16_t nb_queues;     /* queue pairs on port_id; 0 = 1. Sends go out on
				 * queue 0, receives are polled from each in turn
				 * (a memif peer only delivers on rings that exist
				 * on both sides) */
	int check_csum;         /* verify IPv4 and TCP checksums on receive */
	uint16_t bridge_port;   /* SW_NET_NO_BRIDGE, or a second port (a kernel
				 * TAP) bridged to port_id for every frame that
				 * is not the swarm's: lets a kernel publisher
				 * reach a server that has only this link */
};

#define SW_NET_NO_BRIDGE UINT16_MAX

struct sw_net_stats {
	uint64_t rx_pkts, rx_tcp, rx_arp, rx_other, rx_bad, rx_csum_err, rx_no_viewer;
	uint64_t tx_pkts, tx_drops, tx_nombuf, arp_replies, arp_requests;
	uint64_t bridged_out, bridged_in, bridge_drops;
};

struct sw_net {
	struct sw_net_cfg cfg;
	struct rte_mempool *pool;
	struct rte_ether_addr lmac, rmac;
	int rmac_ok;
	uint32_t txh, ntx;      /* TX queue ring: first frame, frames queued */
	uint16_t rxq;           /* next RX queue to poll */
	struct rte_mbuf *tx[SW_NET_TXQ];
	struct sw_net_stats st;
	uint8_t scratch[SW_NET_SCRATCH];
};

/* Write an Ethernet + ARP frame (L2 header then the ARP body, 42 bytes)
 * at frame: opcode op, sender sha/sip, target tha/tip (addresses in host
 * order); tha NULL = a broadcast request (target hardware address zero). */
void sw_net_arp_fill(void *frame, uint16_t op, const struct rte_ether_addr *sha, uint32_t sip,
		     const struct rte_ether_addr *tha, uint32_t tip);

/* Segment arrival callback: the viewer index and the parsed segment. */
typedef void (*sw_net_rx_fn)(void *ctx, uint32_t viewer, const struct sw_seg *s);

/* Create the mbuf pool, configure port cfg->port_id with one RX and one TX
 * queue, start it, and wait up to link_wait_s for the link. Returns 0 or
 * -errno (-ENOLINK when the link stayed down). */
int sw_net_init(struct sw_net *n, const struct sw_net_cfg *cfg, unsigned link_wait_s);

/* Stop and close the port, free the pool. */
void sw_net_fini(struct sw_net *n);

/* Broadcast an ARP request for the server address from the first viewer
 * address. */
void sw_net_arp_request(struct sw_net *n);

/* Receive one burst: ARP is handled here (server MAC learnt, requests for
 * our addresses answered), TCP segments for our viewers go to fn; with a
 * bridge, frames that are not the swarm's cross to the other port (both
 * directions). Returns the number of packets received. */
uint16_t sw_net_rx(struct sw_net *n, sw_net_rx_fn fn, void *ctx);

/* Queue a TCP segment from viewer (address, port derived from the index).
 * Returns 0, -EHOSTUNREACH (server MAC unknown) or -ENOBUFS. */
int sw_net_tx_tcp(struct sw_net *n, uint32_t viewer, const struct sw_tcp_out *o);

/* Send the queued TX batch. Returns the frames sent. */
uint16_t sw_net_flush(struct sw_net *n);

/* Receive and drop whatever waits on every queue and the bridge. */
void sw_net_drain(struct sw_net *n);

/* Viewer address (host order) and port. */
static inline uint32_t sw_net_viewer_ip(const struct sw_net *n, uint32_t viewer)
{
	return n->cfg.base_ip + viewer / n->cfg.ports_per_ip;
}

static inline uint16_t sw_net_viewer_port(const struct sw_net *n, uint32_t viewer)
{
	return (uint16_t)(n->cfg.port_base + viewer % n->cfg.ports_per_ip);
}

/* Viewer index for (address, port), host order; UINT32_MAX when none. */
static inline uint32_t sw_net_viewer_of(const struct sw_net *n, uint32_t ip, uint16_t port)
{
	uint32_t a = ip - n->cfg.base_ip, p = (uint32_t)(uint16_t)(port - n->cfg.port_base);
	uint64_t v;

	if (p >= n->cfg.ports_per_ip)
		return UINT32_MAX;
	v = (uint64_t)a * n->cfg.ports_per_ip + p;
	return v < n->cfg.nviewers ? (uint32_t)v : UINT32_MAX;
}

#endif /* SW_NET_H */
