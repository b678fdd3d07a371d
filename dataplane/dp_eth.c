/* Ethernet layer: classify received frames (ours / exception / drop), the
 * exception path and the software flow dispatch hash. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

#include "dataplane/dp_net.h"

/* Repeating 0x6d5a makes the Toeplitz hash symmetric: swapping source and
 * destination (address and port) leaves it unchanged, because the key is
 * periodic with the 16-bit period of the swapped fields. */
static const uint8_t dp_rss_key[DP_NET_RSS_KEY_LEN] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

const uint8_t *dp_net_rss_key(void)
{
	return dp_rss_key;
}

uint32_t dp_net_flow_hash(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
			  uint16_t dst_port)
{
	/* rte_softrss takes the tuple as host-order 32-bit words, the layout
	 * NICs hash: src addr, dst addr, src port << 16 | dst port. */
	uint32_t tuple[3] = {
		rte_be_to_cpu_32(src_ip),
		rte_be_to_cpu_32(dst_ip),
		((uint32_t)src_port << 16) | dst_port,
	};
	return rte_softrss(tuple, 3, dp_rss_key);
}

uint16_t dp_net_flow_worker(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port,
			    uint16_t dst_port, uint16_t nb_workers)
{
	if (nb_workers <= 1)
		return 0;
	return (uint16_t)(dp_net_flow_hash(src_ip, dst_ip, src_port, dst_port) % nb_workers);
}

int dp_net_init(struct dp_net *n, const struct dp_net_cfg *cfg, const struct dp_net_ops *ops,
		struct rte_mempool *pool)
{
	if (!cfg || !ops || !ops->tx || !pool || cfg->nb_workers == 0 ||
	    cfg->worker_id >= cfg->nb_workers || (cfg->nb_workers > 1 && !ops->forward))
		return -EINVAL;
	memset(n, 0, sizeof(*n));
	n->cfg = *cfg;
	n->ops = *ops;
	n->pool = pool;
	return 0;
}

void dp_net_fini(struct dp_net *n)
{
	for (unsigned i = 0; i < DP_ARP_ENTRIES; i++) {
		struct dp_arp_entry *e = &n->arp[i];
		for (unsigned k = 0; k < e->npending; k++) {
			rte_pktmbuf_free(e->pending[k]);
			e->pending[k] = NULL;
		}
		e->npending = 0;
		e->state = DP_ARP_FREE;
	}
}

void dp_net_tx(struct dp_net *n, struct rte_mbuf *m)
{
	n->st.tx_pkts++;
	n->st.tx_bytes += rte_pktmbuf_pkt_len(m);
	n->ops.tx(n->ops.arg, m);
}

void dp_net_to_exception(struct dp_net *n, struct rte_mbuf *m, uint64_t *drop)
{
	if (!n->ops.tx_exception) {
		(*drop)++;
		rte_pktmbuf_free(m);
		return;
	}
	n->st.exc_tx_pkts++;
	n->ops.tx_exception(n->ops.arg, m);
}

/* Unicast to our MAC, or broadcast/multicast (ARP, DHCP, IPv6 ND...). */
static int frame_for_us(const struct dp_net *n, const struct rte_ether_hdr *eh)
{
	return rte_is_same_ether_addr(&eh->dst_addr, &n->cfg.mac) ||
	       rte_is_multicast_ether_addr(&eh->dst_addr);
}

static void eth_input(struct dp_net *n, struct rte_mbuf *m, int from_peer)
{
	const struct rte_ether_hdr *eh;
	uint16_t type;

	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr)) {
		n->st.drop_eth_short++;
		rte_pktmbuf_free(m);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!frame_for_us(n, eh)) {
		n->st.drop_eth_not_us++;
		rte_pktmbuf_free(m);
		return;
	}
	type = rte_be_to_cpu_16(eh->ether_type);
	if (type == RTE_ETHER_TYPE_ARP) {
		dp_arp_input(n, m, from_peer);
	} else if (type == RTE_ETHER_TYPE_IPV4) {
		dp_ipv4_input(n, m, from_peer);
	} else if (from_peer) {
		n->st.drop_eth_type++; /* peers only forward ARP and IPv4 */
		rte_pktmbuf_free(m);
	} else {
		/* IPv6, VLAN, LLDP...: the kernel decides. */
		dp_net_to_exception(n, m, &n->st.drop_eth_type);
	}
}

void dp_net_rx(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us)
{
	n->now_us = now_us;
	n->st.rx_pkts++;
	n->st.rx_bytes += rte_pktmbuf_pkt_len(m);
	eth_input(n, m, 0);
}

void dp_net_rx_peer(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us)
{
	n->now_us = now_us;
	n->st.fwd_in++;
	eth_input(n, m, 1);
}

void dp_net_rx_exception(struct dp_net *n, struct rte_mbuf *m, uint64_t now_us)
{
	const struct rte_ether_hdr *eh;
	const struct rte_arp_hdr *ah;

	n->now_us = now_us;
	n->st.exc_rx_pkts++;
	if (rte_pktmbuf_data_len(m) < sizeof(*eh)) {
		n->st.drop_eth_short++;
		rte_pktmbuf_free(m);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
	    rte_pktmbuf_data_len(m) >= sizeof(*eh) + sizeof(*ah)) {
		ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, sizeof(*eh));
		if (ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
			n->st.drop_arp_exc_reply++;
			rte_pktmbuf_free(m);
			return;
		}
	}
	dp_net_tx(n, m);
}
