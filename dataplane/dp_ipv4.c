/* IPv4: header validation with a counter per failed check, the decision
 * between dataplane (ICMP echo, TCP we serve), another worker (software flow
 * dispatch) and the exception path; and output routing. */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/dp_net.h"
#include "dataplane/dp_tcp.h"

#define ETH_LEN ((uint32_t)sizeof(struct rte_ether_hdr))

static void drop(struct dp_net *n, struct rte_mbuf *m, uint64_t *counter)
{
	(*counter)++;
	rte_pktmbuf_free(m);
}

/* Checks version, IHL, total length against the frame and the checksum.
 * Returns the header length in bytes, or 0 after dropping m. */
static uint16_t ipv4_check(struct dp_net *n, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip)
{
	uint16_t ihl, tot;
	uint64_t csum_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	if ((ip->version_ihl >> 4) != 4) {
		drop(n, m, &n->st.drop_ip_version);
		return 0;
	}
	ihl = (uint16_t)((ip->version_ihl & 0x0f) * 4);
	if (ihl < sizeof(struct rte_ipv4_hdr) || ETH_LEN + ihl > rte_pktmbuf_data_len(m)) {
		drop(n, m, &n->st.drop_ip_ihl);
		return 0;
	}
	tot = rte_be_to_cpu_16(ip->total_length);
	if (tot < ihl || ETH_LEN + tot > rte_pktmbuf_pkt_len(m)) {
		drop(n, m, &n->st.drop_ip_len);
		return 0;
	}
	if (n->cfg.rx_csum_flags && csum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
		drop(n, m, &n->st.drop_ip_csum);
		return 0;
	}
	if (!(n->cfg.rx_csum_flags && csum_flags == RTE_MBUF_F_RX_IP_CKSUM_GOOD) &&
	    rte_raw_cksum(ip, ihl) != 0xffff) {
		drop(n, m, &n->st.drop_ip_csum);
		return 0;
	}
	return ihl;
}

/* Broadcast (limited or directed) and multicast are the kernel's business. */
static int ipv4_is_bcast_mcast(const struct dp_net *n, uint32_t dst)
{
	uint32_t h = rte_be_to_cpu_32(dst);

	return dst == 0xffffffffu || (h & 0xf0000000u) == 0xe0000000u ||
	       dst == (n->cfg.ip | ~n->cfg.netmask);
}

/* TCP to us: dispatch to the owning worker, else feed the stack, else the
 * exception path (or a RST when there is none). m->data at Ethernet. */
static void ipv4_tcp(struct dp_net *n, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
		     uint16_t ihl, int from_peer)
{
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	int rc;

	if (tot < ihl + sizeof(struct rte_tcp_hdr) ||
	    ETH_LEN + ihl + 4 > rte_pktmbuf_data_len(m)) {
		drop(n, m, &n->st.drop_tcp_short);
		return;
	}
	if (!from_peer && n->cfg.soft_dispatch && n->cfg.nb_workers > 1) {
		const struct rte_tcp_hdr *th =
			rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, ETH_LEN + ihl);
		uint16_t w = dp_net_flow_worker(ip->src_addr, ip->dst_addr,
						rte_be_to_cpu_16(th->src_port),
						rte_be_to_cpu_16(th->dst_port), n->cfg.nb_workers);
		if (w != n->cfg.worker_id) {
			if (n->ops.forward(n->ops.arg, w, m) != 0)
				drop(n, m, &n->st.drop_fwd_full);
			else
				n->st.fwd_out++;
			return;
		}
	}
	n->st.tcp_in++;
	rte_pktmbuf_adj(m, ETH_LEN);
	rc = n->tcp ? dp_tcp_input(n->tcp, m, n->now_us) : -ENOENT;
	if (rc != -ENOENT)
		return;
	if (n->ops.tx_exception) {
		rte_pktmbuf_prepend(m, ETH_LEN); /* the header bytes are still there */
		n->st.exc_tx_pkts++;
		n->ops.tx_exception(n->ops.arg, m);
	} else if (n->tcp) {
		n->st.tcp_rst_closed++;
		dp_tcp_reply_rst(n->tcp, m);
	} else {
		drop(n, m, &n->st.drop_ip_proto);
	}
}

void dp_ipv4_input(struct dp_net *n, struct rte_mbuf *m, int from_peer)
{
	const struct rte_ipv4_hdr *ip;
	uint16_t ihl, tot;
	uint32_t frame;

	if (rte_pktmbuf_data_len(m) < ETH_LEN + sizeof(struct rte_ipv4_hdr)) {
		drop(n, m, &n->st.drop_ip_short);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_LEN);
	ihl = ipv4_check(n, m, ip);
	if (ihl == 0)
		return;
	if (ip->dst_addr != n->cfg.ip) {
		if (ipv4_is_bcast_mcast(n, ip->dst_addr))
			dp_net_to_exception(n, m, &n->st.drop_ip_not_us);
		else
			drop(n, m, &n->st.drop_ip_not_us);
		return;
	}
	if (ip->fragment_offset &
	    rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		drop(n, m, &n->st.drop_ip_frag);
		return;
	}
	if (ihl != sizeof(struct rte_ipv4_hdr)) {
		drop(n, m, &n->st.drop_ip_options);
		return;
	}
	/* Trim Ethernet padding so pkt_len == ETH + total length. */
	tot = rte_be_to_cpu_16(ip->total_length);
	frame = rte_pktmbuf_pkt_len(m);
	if (frame > ETH_LEN + tot && rte_pktmbuf_trim(m, (uint16_t)(frame - ETH_LEN - tot)) != 0) {
		drop(n, m, &n->st.drop_ip_len);
		return;
	}
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
		ipv4_tcp(n, m, ip, ihl, from_peer);
		break;
	case IPPROTO_ICMP:
		rte_pktmbuf_adj(m, ETH_LEN);
		dp_icmp_input(n, m, ihl);
		break;
	default:
		/* UDP and the rest belong to the kernel. */
		dp_net_to_exception(n, m, &n->st.drop_ip_proto);
		break;
	}
}

void dp_net_ip_output(void *arg, struct rte_mbuf *m)
{
	struct dp_net *n = arg;
	const struct rte_ipv4_hdr *ip;
	uint32_t nh;

	if (rte_pktmbuf_data_len(m) < sizeof(*ip)) {
		drop(n, m, &n->st.drop_no_route);
		return;
	}
	ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	nh = ip->dst_addr;
	if (!dp_net_on_link(n, nh)) {
		if (n->cfg.gateway == 0) {
			drop(n, m, &n->st.drop_no_route);
			return;
		}
		nh = n->cfg.gateway;
	}
	dp_arp_output(n, m, nh);
}
