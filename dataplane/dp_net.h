/* dp_net: the per-worker network stack below TCP — Ethernet classification,
 * ARP (responder + small resolver table), IPv4 validation and output, ICMP
 * echo, software flow dispatch and the exception path decision.
 *
 * A struct dp_net belongs to one worker lcore and is never touched by
 * another. It knows nothing about ethdev ports: everything it emits goes
 * through struct dp_net_ops (wire, exception port, another worker), so unit
 * tests and the fuzzer drive it with fake outputs.
 *
 * Ownership: every function taking an mbuf consumes it (sends, keeps or frees
 * it), unless its comment says otherwise.
 */
#ifndef DP_NET_H
#define DP_NET_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

struct dp_tcp_stack;

#define DP_ARP_ENTRIES 64       /* per worker; peers are few: gateway + on-link */
#define DP_ARP_PENDING 4        /* packets queued per unresolved address */
#define DP_ARP_RETRY_US 1000000 /* resend an unanswered request after 1 s */
#define DP_ARP_MAX_TRIES 3      /* then drop the queued packets */

/* Counters of one worker. X-macro so the exporters walk them by name. */
#define DP_NET_STATS_FIELDS(X) \
	X(rx_pkts) X(rx_bytes) X(tx_pkts) X(tx_bytes) \
	X(exc_rx_pkts) X(exc_tx_pkts) X(fwd_out) X(fwd_in) \
	X(arp_requests_rcvd) X(arp_replies_rcvd) X(arp_replies_sent) X(arp_requests_sent) \
	X(arp_learned) X(arp_expired) X(arp_queued) X(arp_mirrored) \
	X(icmp_echo_replies) X(tcp_in) X(tcp_rst_closed) \
	X(drop_eth_short) X(drop_eth_not_us) X(drop_eth_type) \
	X(drop_arp_bad) X(drop_arp_exc_reply) \
	X(drop_ip_short) X(drop_ip_version) X(drop_ip_ihl) X(drop_ip_len) X(drop_ip_csum) \
	X(drop_ip_frag) X(drop_ip_options) X(drop_ip_not_us) X(drop_ip_proto) \
	X(drop_tcp_short) X(drop_icmp_bad) X(drop_icmp_csum) \
	X(drop_arp_unresolved) X(drop_arp_queue_full) X(drop_arp_table_full) X(drop_no_route) \
	X(drop_no_mbuf) X(drop_tx_full) X(drop_tx_bad) X(drop_fwd_full) X(drop_exc_full)

struct dp_net_stats {
#define DP_NET_STAT_DECL(n) uint64_t n;
	DP_NET_STATS_FIELDS(DP_NET_STAT_DECL)
#undef DP_NET_STAT_DECL
};

struct dp_net_cfg {
	uint32_t ip;        /* our address, network order */
	uint32_t netmask;   /* network order */
	uint32_t gateway;   /* network order, 0 = on-link only */
	struct rte_ether_addr mac;
	uint16_t worker_id; /* this worker's index, 0..nb_workers-1 */
	uint16_t nb_workers;
	int soft_dispatch;  /* 1: hash TCP flows in software and forward */
	int rx_csum_flags;  /* 1: trust RX checksum flags when the PMD sets them */
	uint64_t arp_timeout_us;
};

/* Outputs. Each callback takes ownership of m. */
struct dp_net_ops {
	/* Transmit a complete Ethernet frame on the data port. */
	void (*tx)(void *arg, struct rte_mbuf *m);
	/* Hand a frame to the kernel exception interface; NULL = no exception
	 * path (closed TCP ports get a RST, the rest is dropped). */
	void (*tx_exception)(void *arg, struct rte_mbuf *m);
	/* Queue a frame to worker `worker` (which calls dp_net_rx_peer on it).
	 * Returns 0, or -ENOBUFS when the ring is full (m is then still the
	 * caller's). NULL with nb_workers == 1. */
	int (*forward)(void *arg, uint16_t worker, struct rte_mbuf *m);
	void *arg;
};

enum dp_arp_state { DP_ARP_FREE = 0, DP_ARP_INCOMPLETE, DP_ARP_REACHABLE };

struct dp_arp_entry {
	uint32_t ip;              /* network order */
	uint8_t state;            /* enum dp_arp_state */
	uint8_t tries;            /* requests sent while INCOMPLETE */
	uint8_t npending;
	uint8_t passive;          /* learned from a request to us, never used
				   * for output: evicted first */
	struct rte_ether_addr mac;
	uint64_t updated_us;      /* last confirmation (REACHABLE) */
	uint64_t requested_us;    /* last request sent */
	struct rte_mbuf *pending[DP_ARP_PENDING]; /* IPv4 packets, data at IP header */
};

struct dp_net {
	struct dp_net_cfg cfg;
	struct dp_net_ops ops;
	struct dp_tcp_stack *tcp;  /* may be NULL (no TCP: treated as no listener) */
	struct rte_mempool *pool;  /* ARP requests and mirrored copies */
	uint64_t now_us;           /* clock of the current burst */
	struct dp_net_stats st;
	struct dp_arp_entry arp[DP_ARP_ENTRIES];
};

/* Initialise n (zeroes everything, copies cfg and ops). pool must outlive n.
 * The TCP stack is attached afterwards by setting n->tcp (its ip_output is
 * dp_net_ip_output with arg n). Returns 0 or -EINVAL. */
int dp_net_init(struct dp_net *n, const struct dp_net_cfg *cfg, const struct dp_net_ops *ops,
		struct rte_mempool *pool);

/* Free the packets still waiting for ARP resolution. n->tcp is not touched. */
void dp_net_fini(struct dp_net *n);

/* A frame received on the data port (data at the Ethernet header). */
void dp_net_rx(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us);

/* A frame forwarded by another worker: TCP of a flow that hashes here, or a
 * copy of an ARP packet to learn from. */
void dp_net_rx_peer(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us);

/* A frame the kernel sent on the exception interface: goes out of the data
 * port, except ARP replies (the dataplane answers ARP for the shared address
 * itself, so the kernel's duplicates are dropped). */
void dp_net_rx_exception(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us);

/* dp_tcp_ops.ip_output: arg is the struct dp_net. m->data at the IPv4
 * header with headroom for Ethernet; route (on-link or gateway), resolve the
 * next hop (queueing while ARP is pending), prepend Ethernet and transmit. */
void dp_net_ip_output(void *arg, struct rte_mbuf *m);

/* Age ARP entries, resend or give up unanswered requests. Call every loop
 * (cheap when nothing is due). */
void dp_net_timers(struct dp_net *n, uint64_t now_us);

/* The worker owning a TCP/IPv4 flow: symmetric Toeplitz hash (key of repeated
 * 0x6d5a, the one programmed into NIC RSS) of the 4-tuple, so a flow and its
 * reverse land on the same worker. Addresses network order, ports host order.
 * Returns 0..nb_workers-1 (0 when nb_workers <= 1). */
uint16_t dp_net_flow_worker(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
			    uint16_t dst_port, uint16_t nb_workers);

/* The raw 32-bit hash dp_net_flow_worker() uses (equal to the NIC's RSS
 * hash with dp_net_rss_key()). */
uint32_t dp_net_flow_hash(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
			  uint16_t dst_port);

/* The 40-byte symmetric RSS key (read-only). */
const uint8_t *dp_net_rss_key(void);
#define DP_NET_RSS_KEY_LEN 40

/* The REACHABLE entry for ip (network order), or NULL. For stats/tests. */
const struct dp_arp_entry *dp_arp_lookup(const struct dp_net *n, uint32_t ip);

/* ---- internal to dp_eth.c / dp_arp.c / dp_ipv4.c / dp_icmp.c ---- */

/* ARP frame (data at Ethernet). learn_only: a peer's copy, only update the
 * table. */
void dp_arp_input(struct dp_net *n, struct rte_mbuf *m, int learn_only);
/* Send IPv4 packet m (data at IP header) to next hop nh (network order). */
void dp_arp_output(struct dp_net *n, struct rte_mbuf *m, uint32_t nh);
void dp_arp_timers(struct dp_net *n);
/* IPv4 frame (data at Ethernet). from_peer: forwarded, do not dispatch. */
void dp_ipv4_input(struct dp_net *n, struct rte_mbuf *m, int from_peer);
/* ICMP packet to us: m->data at the IPv4 header, pkt_len == total length,
 * header validated. Echo requests are answered, the rest goes to the
 * exception path. */
void dp_icmp_input(struct dp_net *n, struct rte_mbuf *m, uint16_t ihl_bytes);
/* Hand a frame (data at Ethernet) to the exception path, or drop it and
 * count *drop when there is none. */
void dp_net_to_exception(struct dp_net *n, struct rte_mbuf *m, uint64_t *drop);
/* Transmit a finished frame on the wire, counting it. */
void dp_net_tx(struct dp_net *n, struct rte_mbuf *m);

static inline int dp_net_on_link(const struct dp_net *n, uint32_t ip)
{
	return (ip & n->cfg.netmask) == (n->cfg.ip & n->cfg.netmask);
}

#endif /* DP_NET_H */
