/* ICMP: the dataplane answers echo requests to our address itself (fast
 * ping, and proof the dataplane is alive); every other ICMP message goes to
 * the kernel, which owns error handling for its own sockets. */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/dp_net.h"

#define ICMP_HDR_LEN 8
#define REPLY_TTL 64

/* Checksum over the ICMP message (header + data, across segments). */
static int icmp_csum_ok(const struct rte_mbuf *m, uint16_t off, uint16_t len)
{
	uint16_t sum = 0;

	if (rte_raw_cksum_mbuf(m, off, len, &sum) != 0)
		return 0;
	return sum == 0xffff;
}

static void icmp_to_exception(struct dp_net *n, struct rte_mbuf *m)
{
	rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));
	dp_net_to_exception(n, m, &n->st.drop_ip_proto);
}

/* Turn the echo request in m into its reply, in place. */
static void icmp_echo_reply(struct dp_net *n, struct rte_mbuf *m, uint16_t ihl, uint16_t len)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_icmp_hdr *ic = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, ihl);
	uint32_t peer = ip->src_addr;
	uint16_t sum = 0;

	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_cksum = 0;
	rte_raw_cksum_mbuf(m, ihl, len, &sum);
	ic->icmp_cksum = (uint16_t)~sum;
	if (ic->icmp_cksum == 0)
		ic->icmp_cksum = 0xffff;

	ip->dst_addr = peer;
	ip->src_addr = n->cfg.ip;
	ip->time_to_live = REPLY_TTL;
	ip->fragment_offset = 0;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	m->ol_flags = 0;
	n->st.icmp_echo_replies++;
	dp_net_ip_output(n, m);
}

void dp_icmp_input(struct dp_net *n, struct rte_mbuf *m, uint16_t ihl)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	uint16_t len = (uint16_t)(tot - ihl);
	const struct rte_icmp_hdr *ic;

	if (len < ICMP_HDR_LEN || (uint32_t)ihl + ICMP_HDR_LEN > rte_pktmbuf_data_len(m)) {
		n->st.drop_icmp_bad++;
		rte_pktmbuf_free(m);
		return;
	}
	ic = rte_pktmbuf_mtod_offset(m, const struct rte_icmp_hdr *, ihl);
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0) {
		icmp_to_exception(n, m);
		return;
	}
	if (!icmp_csum_ok(m, ihl, len)) {
		n->st.drop_icmp_csum++;
		rte_pktmbuf_free(m);
		return;
	}
	if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) {
		n->st.drop_icmp_bad++; /* shared data: never write into it */
		rte_pktmbuf_free(m);
		return;
	}
	icmp_echo_reply(n, m, ihl, len);
}
