/* sw_net: packet I/O of the load generator (see sw_net.h). */
#define ALLOW_EXPERIMENTAL_API 1
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "swarm/sw_net.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define MBUF_CACHE 256
#define TX_RETRIES 64
#define L2 ((uint32_t)sizeof(struct rte_ether_hdr))

static int port_start(uint16_t pid, uint16_t nq, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(pid, nq, nq, &conf)) != 0)
		return rc < 0 ? rc : -rc;
	for (uint16_t q = 0; q < nq; q++)
		if ((rc = rte_eth_rx_queue_setup(pid, q, RX_DESC, rte_eth_dev_socket_id(pid), NULL,
						 pool)) != 0 ||
		    (rc = rte_eth_tx_queue_setup(pid, q, TX_DESC, rte_eth_dev_socket_id(pid),
						 NULL)) != 0)
			return rc < 0 ? rc : -rc;
	if ((rc = rte_eth_dev_start(pid)) != 0)
		return rc < 0 ? rc : -rc;
	return 0;
}

int sw_net_init(struct sw_net *n, const struct sw_net_cfg *cfg, unsigned link_wait_s)
{
	struct rte_eth_link link;
	uint16_t pid = cfg->port_id;
	int rc;

	memset(n, 0, sizeof(*n));
	n->cfg = *cfg;
	if (n->cfg.nb_queues == 0)
		n->cfg.nb_queues = 1;
	if (!rte_eth_dev_is_valid_port(pid) ||
	    (cfg->bridge_port != SW_NET_NO_BRIDGE &&
	     (!rte_eth_dev_is_valid_port(cfg->bridge_port) || cfg->bridge_port == pid)))
		return -ENODEV;
	n->pool = rte_pktmbuf_pool_create("sw_pool", cfg->nb_mbufs, MBUF_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (n->pool == NULL)
		return -rte_errno;
	if ((rc = port_start(pid, n->cfg.nb_queues, n->pool)) != 0)
		goto err;
	if (cfg->bridge_port != SW_NET_NO_BRIDGE && (rc = port_start(cfg->bridge_port, 1, n->pool)) != 0) {
		rte_eth_dev_stop(pid);
		goto err;
	}
	rte_eth_macaddr_get(pid, &n->lmac);
	for (unsigned k = 0; k < link_wait_s * 10; k++) {
		rte_eth_link_get_nowait(pid, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(100);
	}
	rc = -ENOLINK;
	rte_eth_dev_stop(pid);
	if (cfg->bridge_port != SW_NET_NO_BRIDGE)
		rte_eth_dev_stop(cfg->bridge_port);
err:
	rte_mempool_free(n->pool);
	n->pool = NULL;
	return rc < 0 ? rc : -rc;
}

void sw_net_fini(struct sw_net *n)
{
	if (n->pool == NULL)
		return;
	sw_net_flush(n);
	for (uint32_t k = 0; k < n->ntx; k++)
		rte_pktmbuf_free(n->tx[(n->txh + k) % SW_NET_TXQ]);
	n->ntx = 0;
	rte_eth_dev_stop(n->cfg.port_id);
	rte_eth_dev_close(n->cfg.port_id);
	if (n->cfg.bridge_port != SW_NET_NO_BRIDGE) {
		rte_eth_dev_stop(n->cfg.bridge_port);
		rte_eth_dev_close(n->cfg.bridge_port);
	}
	rte_mempool_free(n->pool);
	n->pool = NULL;
}

uint16_t sw_net_flush(struct sw_net *n)
{
	uint32_t sent = 0;

	/* The queue is a ring: send up to its wrap, then from its start. What
	 * the port does not take waits for the next flush (a SYN or a command
	 * lost here would cost its sender a timeout). */
	for (int k = 0; k < TX_RETRIES && n->ntx > 0; k++) {
		uint32_t chunk = RTE_MIN(n->ntx, (uint32_t)SW_NET_TXQ - n->txh);
		uint16_t want = (uint16_t)RTE_MIN(chunk, (uint32_t)UINT16_MAX);
		uint16_t got = rte_eth_tx_burst(n->cfg.port_id, 0, n->tx + n->txh, want);

		n->txh = (n->txh + got) % SW_NET_TXQ;
		n->ntx -= got;
		sent += got;
		if (got == want && n->txh == 0 && n->ntx > 0)
			k--; /* wrapped: the rest is a fresh burst, not a retry */
	}
	n->st.tx_pkts += sent;
	return (uint16_t)RTE_MIN(sent, (uint32_t)UINT16_MAX);
}

static struct rte_mbuf *frame_alloc(struct sw_net *n, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);

	if (m != NULL && rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		m = NULL;
	}
	if (m == NULL)
		n->st.tx_nombuf++;
	return m;
}

static void queue(struct sw_net *n, struct rte_mbuf *m)
{
	if (n->ntx == SW_NET_TXQ)
		sw_net_flush(n);
	if (n->ntx == SW_NET_TXQ) {
		rte_pktmbuf_free(m); /* the port has taken nothing for a while */
		n->st.tx_drops++;
		return;
	}
	n->tx[(n->txh + n->ntx) % SW_NET_TXQ] = m;
	n->ntx++;
}

void sw_net_arp_fill(void *frame, uint16_t op, const struct rte_ether_addr *sha, uint32_t sip,
		     const struct rte_ether_addr *tha, uint32_t tip)
{
	struct rte_ether_hdr *eh = frame;
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);

	if (tha == NULL)
		memset(&eh->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	else
		rte_ether_addr_copy(tha, &eh->dst_addr);
	rte_ether_addr_copy(sha, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(sha, &ah->arp_data.arp_sha);
	ah->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	if (tha == NULL)
		memset(&ah->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	else
		rte_ether_addr_copy(tha, &ah->arp_data.arp_tha);
	ah->arp_data.arp_tip = rte_cpu_to_be_32(tip);
}

static void send_arp(struct sw_net *n, uint16_t op, const struct rte_ether_addr *tha,
		     uint32_t sip, uint32_t tip)
{
	struct rte_mbuf *m = frame_alloc(n, (uint16_t)(L2 + sizeof(struct rte_arp_hdr)));

	if (m == NULL)
		return;
	sw_net_arp_fill(rte_pktmbuf_mtod(m, void *), op, &n->lmac, sip, tha, tip);
	queue(n, m);
}

void sw_net_arp_request(struct sw_net *n)
{
	n->st.arp_requests++;
	send_arp(n, RTE_ARP_OP_REQUEST, NULL, n->cfg.base_ip, n->cfg.server_ip);
}

/* 1 when ip (host order) is one of the swarm's addresses. */
static int ours(const struct sw_net *n, uint32_t ip)
{
	uint32_t nips = (n->cfg.nviewers + n->cfg.ports_per_ip - 1) / n->cfg.ports_per_ip;

	return ip - n->cfg.base_ip < nips;
}

/* Returns 1 when the frame was the swarm's business only (a request for
 * one of our addresses), 0 when a bridge should pass it on. */
static int rx_arp(struct sw_net *n, struct rte_mbuf *m)
{
	const struct rte_arp_hdr *ah;
	uint32_t sip, tip;

	n->st.rx_arp++;
	if (rte_pktmbuf_data_len(m) < L2 + sizeof(*ah))
		return 1;
	ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, L2);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return 0;
	sip = rte_be_to_cpu_32(ah->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(ah->arp_data.arp_tip);
	if (sip == n->cfg.server_ip) {
		rte_ether_addr_copy(&ah->arp_data.arp_sha, &n->rmac);
		n->rmac_ok = 1;
	}
	if (ours(n, tip)) {
		if (ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
			n->st.arp_replies++;
			send_arp(n, RTE_ARP_OP_REPLY, &ah->arp_data.arp_sha, tip, sip);
		}
		return 1;
	}
	return 0;
}

/* Validate IPv4 + TCP headers of a contiguous frame; fill s (payload
 * pointer into the frame). Returns the viewer index or UINT32_MAX. */
static uint32_t parse_tcp(struct sw_net *n, uint8_t *f, uint32_t flen, struct sw_seg *s)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + L2);
	struct rte_tcp_hdr *th;
	uint32_t ihl, iplen, thl, v;

	if (flen < L2 + sizeof(*ip) + sizeof(*th))
		return UINT32_MAX;
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	iplen = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < 20 || iplen < ihl + sizeof(*th) ||
	    iplen > flen - L2 || ip->next_proto_id != IPPROTO_TCP ||
	    (rte_be_to_cpu_16(ip->fragment_offset) & 0x3fff) != 0 ||
	    rte_be_to_cpu_32(ip->src_addr) != n->cfg.server_ip)
		return UINT32_MAX;
	th = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	thl = (uint32_t)(th->data_off >> 4) * 4;
	if (thl < 20 || ihl + thl > iplen || rte_be_to_cpu_16(th->src_port) != n->cfg.server_port)
		return UINT32_MAX;
	if (n->cfg.check_csum &&
	    (rte_raw_cksum(ip, ihl) != 0xffff || rte_ipv4_udptcp_cksum_verify(ip, th) != 0)) {
		n->st.rx_csum_err++;
		return UINT32_MAX;
	}
	v = sw_net_viewer_of(n, rte_be_to_cpu_32(ip->dst_addr), rte_be_to_cpu_16(th->dst_port));
	if (v == UINT32_MAX) {
		n->st.rx_no_viewer++;
		return v;
	}
	memset(s, 0, sizeof(*s));
	if (sw_tcp_parse_opts((uint8_t *)(th + 1), thl - 20, s) != 0)
		return UINT32_MAX;
	s->seq = rte_be_to_cpu_32(th->sent_seq);
	s->ack = rte_be_to_cpu_32(th->recv_ack);
	s->wnd = rte_be_to_cpu_16(th->rx_win);
	s->flags = th->tcp_flags;
	s->data = (uint8_t *)th + thl;
	s->len = iplen - ihl - thl;
	return v;
}

/* Returns 1 when the frame was for a viewer (or bad), 0 when it is
 * someone else's (a bridge passes it on). */
static int rx_ipv4(struct sw_net *n, struct rte_mbuf *m, sw_net_rx_fn fn, void *ctx)
{
	uint32_t flen = rte_pktmbuf_pkt_len(m), v;
	uint8_t *f;
	struct sw_seg s;

	if (m->nb_segs == 1) {
		f = rte_pktmbuf_mtod(m, uint8_t *);
	} else {
		/* Chained frame (jumbo over small mbufs): linearise. */
		if (flen > SW_NET_SCRATCH) {
			n->st.rx_bad++;
			return 1;
		}
		f = (uint8_t *)rte_pktmbuf_read(m, 0, flen, n->scratch);
		if (f == NULL) {
			n->st.rx_bad++;
			return 1;
		}
	}
	if (flen >= L2 + sizeof(struct rte_ipv4_hdr) &&
	    !ours(n, rte_be_to_cpu_32(((const struct rte_ipv4_hdr *)(f + L2))->dst_addr)))
		return 0;
	v = parse_tcp(n, f, flen, &s);
	if (v == UINT32_MAX) {
		n->st.rx_bad++;
		return 1;
	}
	n->st.rx_tcp++;
	fn(ctx, v, &s);
	return 1;
}

/* Frames bridged out are sent at once; what the port refuses is dropped. */
static void bridge_send(struct sw_net *n, uint16_t pid, struct rte_mbuf **b, uint16_t cnt,
			uint64_t *ok)
{
	uint16_t sent = 0;

	for (int k = 0; k < TX_RETRIES && sent < cnt; k++)
		sent += rte_eth_tx_burst(pid, 0, b + sent, cnt - sent);
	for (uint16_t k = sent; k < cnt; k++)
		rte_pktmbuf_free(b[k]);
	*ok += sent;
	n->st.bridge_drops += cnt - sent;
}

/* Everything the kernel side sends goes to the server's link, in line with
 * the viewers' own frames: sent straight to a port that the viewers' ACKs
 * keep full, a publisher's frames were dropped (a fifth of them at 3200
 * viewers) and its TCP, not the server, set the stream's pace. */
static void bridge_in(struct sw_net *n)
{
	struct rte_mbuf *pkts[SW_NET_BURST];
	uint16_t nb = rte_eth_rx_burst(n->cfg.bridge_port, 0, pkts, SW_NET_BURST);

	for (uint16_t k = 0; k < nb; k++)
		queue(n, pkts[k]);
	n->st.bridged_in += nb;
}

uint16_t sw_net_rx(struct sw_net *n, sw_net_rx_fn fn, void *ctx)
{
	struct rte_mbuf *pkts[SW_NET_BURST];
	uint16_t q = n->rxq;
	uint16_t nb;

	n->rxq = (uint16_t)(q + 1 == n->cfg.nb_queues ? 0 : q + 1);
	nb = rte_eth_rx_burst(n->cfg.port_id, q, pkts, SW_NET_BURST);

	struct rte_mbuf *fwd[SW_NET_BURST];
	uint16_t nfwd = 0;

	n->st.rx_pkts += nb;
	for (uint16_t k = 0; k < nb; k++) {
		struct rte_mbuf *m = pkts[k];
		int mine = 1;
		if (k + 1 < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[k + 1], void *));
		if (rte_pktmbuf_data_len(m) >= L2) {
			const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
			if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
				mine = rx_ipv4(n, m, fn, ctx);
			else if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
				mine = rx_arp(n, m);
			else
				n->st.rx_other++;
		}
		if (!mine && n->cfg.bridge_port != SW_NET_NO_BRIDGE)
			fwd[nfwd++] = m; /* ownership passes to the bridge */
		else
			rte_pktmbuf_free(m);
	}
	if (nfwd > 0)
		bridge_send(n, n->cfg.bridge_port, fwd, nfwd, &n->st.bridged_out);
	if (n->cfg.bridge_port != SW_NET_NO_BRIDGE)
		bridge_in(n);
	return nb;
}

static void rx_drop(uint16_t port, uint16_t queue)
{
	struct rte_mbuf *pkts[SW_NET_BURST];
	uint16_t nb;

	while ((nb = rte_eth_rx_burst(port, queue, pkts, SW_NET_BURST)) > 0)
		rte_pktmbuf_free_bulk(pkts, nb);
}

void sw_net_drain(struct sw_net *n)
{
	for (uint16_t q = 0; q < n->cfg.nb_queues; q++)
		rx_drop(n->cfg.port_id, q);
	if (n->cfg.bridge_port != SW_NET_NO_BRIDGE)
		rx_drop(n->cfg.bridge_port, 0);
}

int sw_net_tx_tcp(struct sw_net *n, uint32_t viewer, const struct sw_tcp_out *o)
{
	uint8_t opt[40];
	uint32_t optlen = sw_tcp_write_opts(o, opt);
	uint32_t l4 = (uint32_t)sizeof(struct rte_tcp_hdr) + optlen + o->len;
	uint32_t iplen = (uint32_t)sizeof(struct rte_ipv4_hdr) + l4;
	struct rte_mbuf *m;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	if (!n->rmac_ok)
		return -EHOSTUNREACH;
	m = frame_alloc(n, (uint16_t)(L2 + iplen));
	if (m == NULL)
		return -ENOBUFS;
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	rte_ether_addr_copy(&n->rmac, &eh->dst_addr);
	rte_ether_addr_copy(&n->lmac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)iplen);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(sw_net_viewer_ip(n, viewer));
	ip->dst_addr = rte_cpu_to_be_32(n->cfg.server_ip);
	th->src_port = rte_cpu_to_be_16(sw_net_viewer_port(n, viewer));
	th->dst_port = rte_cpu_to_be_16(n->cfg.server_port);
	th->sent_seq = rte_cpu_to_be_32(o->seq);
	th->recv_ack = rte_cpu_to_be_32(o->ack);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = o->flags;
	th->rx_win = rte_cpu_to_be_16(o->wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	memcpy(th + 1, opt, optlen);
	if (o->len)
		memcpy((uint8_t *)(th + 1) + optlen, o->data, o->len);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	queue(n, m);
	return 0;
}
