/* dp_net: Ethernet/ARP/IPv4/ICMP below TCP, driven with synthetic frames and
 * fake outputs (wire, exception, other workers). Every emitted frame is
 * captured and its bytes asserted; every test checks that no mbuf leaked. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/dp_conf.h"
#include "dataplane/dp_net.h"
#include "dataplane/dp_tcp.h"
#include "tests/unit/util_dp_eal.h"

#define OUR_IP RTE_BE32(0xc6120002)   /* 198.18.0.2 */
#define PEER_IP RTE_BE32(0xc6120001)  /* 198.18.0.1 */
#define PEER2_IP RTE_BE32(0xc6120009) /* 198.18.0.9 */
#define GW_IP RTE_BE32(0xc61200fe)    /* 198.18.0.254 */
#define FAR_IP RTE_BE32(0x0a000001)   /* 10.0.0.1, off-link */
#define MASK24 RTE_BE32(0xffffff00)
#define ETH_LEN 14
#define MAXCAP 64
#define SEC 1000000ULL

static const struct rte_ether_addr our_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x02 } };
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x01 } };
static const struct rte_ether_addr peer2_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x09 } };
static const struct rte_ether_addr gw_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0xfe } };

struct cap {
	struct rte_mbuf *tx[MAXCAP], *exc[MAXCAP], *fwd[MAXCAP];
	uint16_t fwd_to[MAXCAP];
	int ntx, nexc, nfwd;
	int fwd_fail;
};

struct fix {
	struct dp_net net;
	struct cap cap;
	struct rte_mempool *pool;
	unsigned base_in_use;
};

static void cap_tx(void *arg, struct rte_mbuf *m)
{
	struct cap *c = &((struct fix *)arg)->cap;
	if (c->ntx < MAXCAP)
		c->tx[c->ntx++] = m;
	else
		rte_pktmbuf_free(m);
}

static void cap_exc(void *arg, struct rte_mbuf *m)
{
	struct cap *c = &((struct fix *)arg)->cap;
	if (c->nexc < MAXCAP)
		c->exc[c->nexc++] = m;
	else
		rte_pktmbuf_free(m);
}

static int cap_fwd(void *arg, uint16_t w, struct rte_mbuf *m)
{
	struct cap *c = &((struct fix *)arg)->cap;
	if (c->fwd_fail || c->nfwd >= MAXCAP)
		return -ENOBUFS;
	c->fwd_to[c->nfwd] = w;
	c->fwd[c->nfwd++] = m;
	return 0;
}

static void cap_clear(struct cap *c)
{
	for (int i = 0; i < c->ntx; i++)
		rte_pktmbuf_free(c->tx[i]);
	for (int i = 0; i < c->nexc; i++)
		rte_pktmbuf_free(c->exc[i]);
	for (int i = 0; i < c->nfwd; i++)
		rte_pktmbuf_free(c->fwd[i]);
	c->ntx = c->nexc = c->nfwd = 0;
}

/* workers: 1 = no dispatch; exc: exception path present. */
static void fix_init(struct fix *f, uint16_t worker, uint16_t workers, int exc, uint32_t gw)
{
	struct dp_net_cfg cfg = {
		.ip = OUR_IP, .netmask = MASK24, .gateway = gw, .mac = our_mac,
		.worker_id = worker, .nb_workers = workers, .soft_dispatch = 1,
		.rx_csum_flags = 1, .arp_timeout_us = 300 * SEC,
	};
	struct dp_net_ops ops = {
		.tx = cap_tx, .tx_exception = exc ? cap_exc : NULL,
		.forward = workers > 1 ? cap_fwd : NULL, .arg = f,
	};
	memset(f, 0, sizeof(*f));
	f->pool = util_dp_pool();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->pool);
	f->base_in_use = rte_mempool_in_use_count(f->pool);
	CU_ASSERT_EQUAL_FATAL(dp_net_init(&f->net, &cfg, &ops, f->pool), 0);
}

static void fix_fini(struct fix *f)
{
	cap_clear(&f->cap);
	dp_net_fini(&f->net);
	/* every mbuf the stack touched is back in the pool */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(f->pool), f->base_in_use);
}

/* ---- frame builders ---- */

static struct rte_mbuf *frame(struct fix *f, const void *bytes, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->pool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	char *p = rte_pktmbuf_append(m, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memcpy(p, bytes, len);
	return m;
}

static void eth_fill(uint8_t *b, const struct rte_ether_addr *dst,
		     const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)b;
	eh->dst_addr = *dst;
	eh->src_addr = *src;
	eh->ether_type = rte_cpu_to_be_16(type);
}

static struct rte_mbuf *arp_frame(struct fix *f, uint16_t op, const struct rte_ether_addr *sha,
				  uint32_t sip, uint32_t tip)
{
	uint8_t b[60] = { 0 };
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(b + ETH_LEN);

	eth_fill(b, op == RTE_ARP_OP_REQUEST ? &bcast : &our_mac, sha, RTE_ETHER_TYPE_ARP);
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(op);
	ah->arp_data.arp_sha = *sha;
	ah->arp_data.arp_sip = sip;
	if (op == RTE_ARP_OP_REPLY)
		ah->arp_data.arp_tha = our_mac;
	ah->arp_data.arp_tip = tip;
	return frame(f, b, sizeof(b));
}

/* IPv4 packet with `plen` payload bytes after the IP header, valid checksum. */
static uint16_t ipv4_fill(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto,
			  const void *payload, uint16_t plen)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);

	eth_fill(b, &our_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + plen));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	memcpy(ip + 1, payload, plen);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return (uint16_t)(ETH_LEN + 20 + plen);
}

static struct rte_mbuf *icmp_echo(struct fix *f, uint32_t src, uint16_t id, uint16_t seq,
				  const char *data)
{
	uint8_t icmp[128] = { 0 }, b[256];
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)icmp;
	uint16_t dl = (uint16_t)strlen(data);

	ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	ic->icmp_ident = rte_cpu_to_be_16(id);
	ic->icmp_seq_nb = rte_cpu_to_be_16(seq);
	memcpy(icmp + 8, data, dl);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8u + dl);
	return frame(f, b, ipv4_fill(b, src, OUR_IP, IPPROTO_ICMP, icmp, (uint16_t)(8 + dl)));
}

static struct rte_mbuf *tcp_frame(struct fix *f, uint32_t src, uint16_t sport, uint16_t dport,
				  uint8_t flags)
{
	uint8_t b[128];
	struct rte_tcp_hdr th;
	uint16_t len;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tp;

	memset(&th, 0, sizeof(th));
	th.src_port = rte_cpu_to_be_16(sport);
	th.dst_port = rte_cpu_to_be_16(dport);
	th.sent_seq = rte_cpu_to_be_32(1000);
	th.data_off = 5 << 4;
	th.tcp_flags = flags;
	th.rx_win = rte_cpu_to_be_16(65535);
	len = ipv4_fill(b, src, OUR_IP, IPPROTO_TCP, &th, sizeof(th));
	ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);
	tp = (struct rte_tcp_hdr *)(ip + 1);
	tp->cksum = rte_ipv4_udptcp_cksum(ip, tp);
	return frame(f, b, len);
}

static const struct rte_arp_hdr *arp_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, ETH_LEN);
}

static const struct rte_ether_hdr *eth_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
}

/* Teach f's table the peer (as if it had ARPed us). */
static void learn_peer(struct fix *f, const struct rte_ether_addr *mac, uint32_t ip)
{
	dp_net_rx(&f->net, arp_frame(f, RTE_ARP_OP_REQUEST, mac, ip, OUR_IP), 0);
	CU_ASSERT_PTR_NOT_NULL(dp_arp_lookup(&f->net, ip));
	cap_clear(&f->cap);
}

/* ---- ARP ---- */

static void test_arp_request_reply(void)
{
	struct fix f;
	fix_init(&f, 0, 2, 1, 0);
	dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &peer_mac, PEER_IP, OUR_IP), 5);

	/* one reply on the wire, with exactly the right fields */
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	const struct rte_ether_hdr *eh = eth_of(f.cap.tx[0]);
	const struct rte_arp_hdr *ah = arp_of(f.cap.tx[0]);
	CU_ASSERT(rte_is_same_ether_addr(&eh->dst_addr, &peer_mac));
	CU_ASSERT(rte_is_same_ether_addr(&eh->src_addr, &our_mac));
	CU_ASSERT_EQUAL(eh->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP));
	CU_ASSERT_EQUAL(ah->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	CU_ASSERT(rte_is_same_ether_addr(&ah->arp_data.arp_sha, &our_mac));
	CU_ASSERT_EQUAL(ah->arp_data.arp_sip, OUR_IP);
	CU_ASSERT(rte_is_same_ether_addr(&ah->arp_data.arp_tha, &peer_mac));
	CU_ASSERT_EQUAL(ah->arp_data.arp_tip, PEER_IP);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(f.cap.tx[0]), 60);

	/* the request is mirrored to the kernel and copied to worker 1 */
	CU_ASSERT_EQUAL_FATAL(f.cap.nexc, 1);
	CU_ASSERT_EQUAL(arp_of(f.cap.exc[0])->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
	CU_ASSERT_EQUAL(arp_of(f.cap.exc[0])->arp_data.arp_sip, PEER_IP);
	CU_ASSERT_EQUAL_FATAL(f.cap.nfwd, 1);
	CU_ASSERT_EQUAL(f.cap.fwd_to[0], 1);

	/* learned (the sender asked for us) */
	const struct dp_arp_entry *e = dp_arp_lookup(&f.net, PEER_IP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT(rte_is_same_ether_addr(&e->mac, &peer_mac));
	CU_ASSERT_EQUAL(f.net.st.arp_requests_rcvd, 1);
	CU_ASSERT_EQUAL(f.net.st.arp_replies_sent, 1);
	CU_ASSERT_EQUAL(f.net.st.arp_mirrored, 1);
	CU_ASSERT_EQUAL(f.net.st.fwd_out, 1);

	/* an unpadded 42-byte request (as a TAP delivers it) gets a padded reply */
	struct rte_mbuf *shortreq = arp_frame(&f, RTE_ARP_OP_REQUEST, &peer_mac, PEER_IP, OUR_IP);
	rte_pktmbuf_trim(shortreq, 60 - 42);
	dp_net_rx(&f.net, shortreq, 5);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 2);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(f.cap.tx[1]), 60);
	CU_ASSERT_EQUAL(arp_of(f.cap.tx[1])->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	CU_ASSERT_EQUAL(arp_of(f.cap.tx[1])->arp_data.arp_tip, PEER_IP);

	/* a peer worker learns from the copy, answers nothing */
	struct fix g;
	fix_init(&g, 1, 2, 1, 0);
	dp_net_rx_peer(&g.net, f.cap.fwd[0], 6);
	f.cap.fwd[0] = NULL; /* consumed by g; the rest is freed by cap_clear */
	CU_ASSERT_PTR_NOT_NULL(dp_arp_lookup(&g.net, PEER_IP));
	CU_ASSERT_EQUAL(g.cap.ntx + g.cap.nexc + g.cap.nfwd, 0);
	CU_ASSERT_EQUAL(g.net.st.fwd_in, 1);
	cap_clear(&f.cap);
	g.base_in_use = f.base_in_use; /* nested fixture: check against the outer baseline */
	fix_fini(&g);
	fix_fini(&f);
}

static void test_arp_not_for_us(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, 0);
	/* request for someone else: no reply, sender not learned (RFC 826) */
	dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &peer_mac, PEER_IP, PEER2_IP), 0);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	CU_ASSERT_PTR_NULL(dp_arp_lookup(&f.net, PEER_IP));
	/* malformed: wrong hardware length */
	struct rte_mbuf *m = arp_frame(&f, RTE_ARP_OP_REQUEST, &peer_mac, PEER_IP, OUR_IP);
	rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, ETH_LEN)->arp_hlen = 8;
	dp_net_rx(&f.net, m, 0);
	/* truncated */
	m = arp_frame(&f, RTE_ARP_OP_REQUEST, &peer_mac, PEER_IP, OUR_IP);
	rte_pktmbuf_trim(m, 60 - 30);
	dp_net_rx(&f.net, m, 0);
	CU_ASSERT_EQUAL(f.net.st.drop_arp_bad, 2);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	CU_ASSERT_PTR_NULL(dp_arp_lookup(&f.net, PEER_IP));
	fix_fini(&f);
}

static uint8_t ip_packet_buf[256];

/* An IPv4 packet (data at IP header, L2 headroom) as the TCP stack emits. */
static struct rte_mbuf *out_packet(struct fix *f, uint32_t dst, uint8_t tag)
{
	uint8_t payload[8] = { tag, tag, tag, tag, tag, tag, tag, tag };
	uint16_t len = ipv4_fill(ip_packet_buf, OUR_IP, dst, IPPROTO_UDP, payload, 8);
	struct rte_mbuf *m = frame(f, ip_packet_buf, len);
	rte_pktmbuf_adj(m, ETH_LEN);
	return m;
}

static void test_arp_resolve_queue(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, 0);
	for (uint8_t i = 0; i < DP_ARP_PENDING + 1; i++)
		dp_net_ip_output(&f.net, out_packet(&f, PEER2_IP, i));
	/* one broadcast request, the rest queued, the overflow dropped */
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	const struct rte_ether_hdr *eh = eth_of(f.cap.tx[0]);
	CU_ASSERT(rte_is_broadcast_ether_addr(&eh->dst_addr));
	CU_ASSERT_EQUAL(arp_of(f.cap.tx[0])->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
	CU_ASSERT_EQUAL(arp_of(f.cap.tx[0])->arp_data.arp_tip, PEER2_IP);
	CU_ASSERT_EQUAL(arp_of(f.cap.tx[0])->arp_data.arp_sip, OUR_IP);
	CU_ASSERT_EQUAL(f.net.st.arp_queued, DP_ARP_PENDING);
	CU_ASSERT_EQUAL(f.net.st.drop_arp_queue_full, 1);
	cap_clear(&f.cap);

	/* the reply releases the queue in order, to the learned MAC */
	dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REPLY, &peer2_mac, PEER2_IP, OUR_IP), 10);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, DP_ARP_PENDING);
	for (int i = 0; i < DP_ARP_PENDING; i++) {
		struct rte_mbuf *m = f.cap.tx[i];
		CU_ASSERT(rte_is_same_ether_addr(&eth_of(m)->dst_addr, &peer2_mac));
		CU_ASSERT(rte_is_same_ether_addr(&eth_of(m)->src_addr, &our_mac));
		CU_ASSERT_EQUAL(eth_of(m)->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
		CU_ASSERT_EQUAL(*rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN + 20), i);
		CU_ASSERT_EQUAL(m->l2_len, ETH_LEN);
	}
	CU_ASSERT_EQUAL(f.net.st.arp_replies_rcvd, 1);
	cap_clear(&f.cap);

	/* resolved: the next packet goes out at once */
	dp_net_ip_output(&f.net, out_packet(&f, PEER2_IP, 9));
	CU_ASSERT_EQUAL(f.cap.ntx, 1);
	fix_fini(&f);
}

static void test_arp_retry_giveup(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, 0);
	dp_net_timers(&f.net, 0);
	dp_net_ip_output(&f.net, out_packet(&f, PEER2_IP, 1));
	dp_net_ip_output(&f.net, out_packet(&f, PEER2_IP, 2));
	CU_ASSERT_EQUAL(f.net.st.arp_requests_sent, 1);
	dp_net_timers(&f.net, SEC / 2); /* not due yet */
	CU_ASSERT_EQUAL(f.net.st.arp_requests_sent, 1);
	dp_net_timers(&f.net, SEC);
	CU_ASSERT_EQUAL(f.net.st.arp_requests_sent, 2);
	dp_net_timers(&f.net, 2 * SEC);
	CU_ASSERT_EQUAL(f.net.st.arp_requests_sent, DP_ARP_MAX_TRIES);
	dp_net_timers(&f.net, 3 * SEC); /* gives up: queued packets dropped */
	CU_ASSERT_EQUAL(f.net.st.arp_requests_sent, DP_ARP_MAX_TRIES);
	CU_ASSERT_EQUAL(f.net.st.drop_arp_unresolved, 2);
	CU_ASSERT_EQUAL(f.cap.ntx, DP_ARP_MAX_TRIES); /* only the requests */
	fix_fini(&f);
}

static void test_arp_aging(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, 0);
	f.net.now_us = 0;
	learn_peer(&f, &peer_mac, PEER_IP);
	dp_net_timers(&f.net, 299 * SEC);
	CU_ASSERT_PTR_NOT_NULL(dp_arp_lookup(&f.net, PEER_IP));
	/* in use after 3/4 of the lifetime: refreshed in the background */
	dp_net_ip_output(&f.net, out_packet(&f, PEER_IP, 1));
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 2);
	CU_ASSERT_EQUAL(eth_of(f.cap.tx[0])->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP));
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(f.cap.tx[1])->dst_addr, &peer_mac));
	dp_net_timers(&f.net, 300 * SEC);
	CU_ASSERT_PTR_NULL(dp_arp_lookup(&f.net, PEER_IP));
	CU_ASSERT_EQUAL(f.net.st.arp_expired, 1);
	fix_fini(&f);
}

/* A flood of ARP requests to us from new on-link senders (anybody can
 * forge them) fills the table: it never evicts the gateway's entry, nor a
 * peer we send to while passively learned entries can go instead. */
static void test_arp_flood_keeps_gateway(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, GW_IP);
	dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &gw_mac, GW_IP, OUR_IP), 1);
	dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &peer2_mac, PEER2_IP, OUR_IP), 2);
	f.net.now_us = 3;
	dp_net_ip_output(&f.net, out_packet(&f, PEER2_IP, 1)); /* in use: not passive */
	cap_clear(&f.cap);
	for (unsigned i = 0; i < 2 * DP_ARP_ENTRIES; i++) {
		struct rte_ether_addr mac = { { 0x02, 0x66, 0, 0, 0, (uint8_t)i } };
		uint32_t ip = rte_cpu_to_be_32(0xc6120010u + i);

		dp_net_rx(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &mac, ip, OUR_IP), 10 + i);
		cap_clear(&f.cap);
	}
	const struct dp_arp_entry *e = dp_arp_lookup(&f.net, GW_IP);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT(rte_is_same_ether_addr(&e->mac, &gw_mac));
	CU_ASSERT_PTR_NOT_NULL(dp_arp_lookup(&f.net, PEER2_IP));
	/* the newest senders are known: passive entries made room */
	CU_ASSERT_PTR_NOT_NULL(dp_arp_lookup(&f.net,
					     rte_cpu_to_be_32(0xc6120010u + 2 * DP_ARP_ENTRIES - 1)));
	dp_net_ip_output(&f.net, out_packet(&f, FAR_IP, 3));
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(f.cap.tx[0])->dst_addr, &gw_mac));
	fix_fini(&f);
}

static void test_route_gateway(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 0, GW_IP);
	learn_peer(&f, &gw_mac, GW_IP);
	dp_net_ip_output(&f.net, out_packet(&f, FAR_IP, 3));
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(f.cap.tx[0])->dst_addr, &gw_mac));
	fix_fini(&f);

	fix_init(&f, 0, 1, 0, 0); /* no gateway: off-link is unroutable */
	dp_net_ip_output(&f.net, out_packet(&f, FAR_IP, 3));
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	CU_ASSERT_EQUAL(f.net.st.drop_no_route, 1);
	fix_fini(&f);
}

/* ---- IPv4 validation ---- */

enum bad { BAD_VERSION, BAD_IHL_SMALL, BAD_IHL_BIG, BAD_LEN_BIG, BAD_LEN_SMALL, BAD_CSUM,
	   BAD_MF, BAD_OFFSET, BAD_OPTIONS, BAD_NOT_US, BAD_SHORT, BAD_COUNT };

static struct rte_mbuf *bad_packet(struct fix *f, enum bad which)
{
	uint8_t b[128] = { 0 }, payload[16] = { 0 };
	uint16_t len = ipv4_fill(b, PEER_IP, OUR_IP, IPPROTO_UDP, payload, sizeof(payload));
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);
	int fix_csum = 1;

	switch (which) {
	case BAD_VERSION: ip->version_ihl = 0x65; break;
	case BAD_IHL_SMALL: ip->version_ihl = 0x44; break;
	case BAD_IHL_BIG: ip->version_ihl = 0x4f; break;
	case BAD_LEN_BIG: ip->total_length = rte_cpu_to_be_16(200); break;
	case BAD_LEN_SMALL: ip->total_length = rte_cpu_to_be_16(19); break;
	case BAD_CSUM: ip->hdr_checksum ^= 0x0101; fix_csum = 0; break;
	case BAD_MF: ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG); break;
	case BAD_OFFSET: ip->fragment_offset = rte_cpu_to_be_16(8); break;
	case BAD_OPTIONS:
		/* IHL 6 with a NOP option word: well-formed but unsupported */
		memmove((uint8_t *)ip + 24, (uint8_t *)ip + 20, sizeof(payload));
		memset((uint8_t *)ip + 20, 1, 4);
		ip->version_ihl = 0x46;
		ip->total_length = rte_cpu_to_be_16(24 + sizeof(payload));
		len += 4;
		break;
	case BAD_NOT_US: ip->dst_addr = PEER2_IP; break;
	case BAD_SHORT: len = ETH_LEN + 19; fix_csum = 0; break;
	default: break;
	}
	if (fix_csum) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	return frame(f, b, len);
}

static void test_ipv4_validation(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 1, 0);
	for (int i = 0; i < BAD_COUNT; i++)
		dp_net_rx(&f.net, bad_packet(&f, (enum bad)i), 0);
	/* each bad field dropped and counted once; nothing reaches the kernel */
	CU_ASSERT_EQUAL(f.net.st.drop_ip_version, 1);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_ihl, 2);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_len, 2);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_csum, 1);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_frag, 2);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_options, 1);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_not_us, 1);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_short, 1);
	CU_ASSERT_EQUAL(f.net.st.rx_pkts, BAD_COUNT);
	CU_ASSERT_EQUAL(f.cap.ntx + f.cap.nexc + f.cap.nfwd, 0);

	/* the PMD's verdict is trusted when it gives one */
	struct rte_mbuf *m = bad_packet(&f, BAD_NOT_US);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_LEN)->dst_addr = OUR_IP;
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
	dp_net_rx(&f.net, m, 0);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_csum, 2);

	/* control: the unmodified packet (UDP) goes to the kernel, padding trimmed */
	uint8_t b[128] = { 0 }, payload[16] = { 7 };
	uint16_t len = ipv4_fill(b, PEER_IP, OUR_IP, IPPROTO_UDP, payload, sizeof(payload));
	dp_net_rx(&f.net, frame(&f, b, (uint16_t)(len + 10)), 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.nexc, 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(f.cap.exc[0]), len);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(f.cap.exc[0], void *), b, len), 0);
	fix_fini(&f);
}

/* ---- ICMP ---- */

static void test_icmp_echo(void)
{
	struct fix f;
	const char *data = "lifecast-ping-payload";
	uint16_t dl = (uint16_t)strlen(data);

	fix_init(&f, 0, 1, 1, 0);
	learn_peer(&f, &peer_mac, PEER_IP);
	dp_net_rx(&f.net, icmp_echo(&f, PEER_IP, 0x4242, 7, data), 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	CU_ASSERT_EQUAL(f.cap.nexc, 0);
	struct rte_mbuf *m = f.cap.tx[0];
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								ETH_LEN);
	const struct rte_icmp_hdr *ic = (const struct rte_icmp_hdr *)(ip + 1);
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(m)->dst_addr, &peer_mac));
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(m)->src_addr, &our_mac));
	CU_ASSERT_EQUAL(ip->src_addr, OUR_IP);
	CU_ASSERT_EQUAL(ip->dst_addr, PEER_IP);
	CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0); /* checksum over a valid header folds to 0 */
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), 20 + 8 + dl);
	CU_ASSERT_EQUAL(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	CU_ASSERT_EQUAL(ic->icmp_code, 0);
	CU_ASSERT_EQUAL(ic->icmp_ident, rte_cpu_to_be_16(0x4242));
	CU_ASSERT_EQUAL(ic->icmp_seq_nb, rte_cpu_to_be_16(7));
	CU_ASSERT_EQUAL(memcmp(ic + 1, data, dl), 0);
	CU_ASSERT_EQUAL(rte_raw_cksum(ic, 8u + dl), 0xffff);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), ETH_LEN + 20 + 8 + dl);
	CU_ASSERT_EQUAL(f.net.st.icmp_echo_replies, 1);
	cap_clear(&f.cap);

	/* corrupted ICMP checksum: dropped, counted */
	m = icmp_echo(&f, PEER_IP, 1, 1, "x");
	rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN + 20 + 8)[0] ^= 0xff;
	dp_net_rx(&f.net, m, 0);
	CU_ASSERT_EQUAL(f.net.st.drop_icmp_csum, 1);
	/* truncated ICMP header */
	uint8_t b[64], tiny[4] = { 8, 0, 0, 0 };
	dp_net_rx(&f.net, frame(&f, b, ipv4_fill(b, PEER_IP, OUR_IP, IPPROTO_ICMP, tiny, 4)), 0);
	CU_ASSERT_EQUAL(f.net.st.drop_icmp_bad, 1);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);

	/* other ICMP (an echo reply to the kernel's own ping) goes to the kernel */
	m = icmp_echo(&f, PEER_IP, 1, 1, "k");
	rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, ETH_LEN + 20)->icmp_type = 0;
	dp_net_rx(&f.net, m, 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.nexc, 1);
	CU_ASSERT_EQUAL(eth_of(f.cap.exc[0])->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
	fix_fini(&f);
}

/* ---- software dispatch ---- */

/* Independent bit-by-bit Toeplitz, to check the one in use. */
static uint32_t toeplitz_ref(const uint8_t *in, int len, const uint8_t *key)
{
	uint32_t h = 0;
	for (int i = 0; i < len * 8; i++) {
		if (in[i / 8] & (0x80 >> (i % 8))) {
			uint32_t window = 0;
			for (int k = 0; k < 32; k++) {
				int bit = i + k;
				window = (window << 1) | ((key[bit / 8] >> (7 - bit % 8)) & 1);
			}
			h ^= window;
		}
	}
	return h;
}

static void test_dispatch_symmetry(void)
{
	unsigned count[4] = { 0 };
	uint32_t seed = 12345;

	for (int i = 0; i < 4000; i++) {
		seed = seed * 1103515245u + 12345u;
		uint32_t a = rte_cpu_to_be_32(0xc6120000u | (seed >> 16));
		seed = seed * 1103515245u + 12345u;
		uint32_t b = rte_cpu_to_be_32(0xc6130000u | (seed >> 16));
		seed = seed * 1103515245u + 12345u;
		uint16_t pa = (uint16_t)(seed >> 8), pb = (uint16_t)(1935 + i % 3);

		uint32_t h = dp_net_flow_hash(a, b, pa, pb);
		CU_ASSERT_EQUAL(h, dp_net_flow_hash(b, a, pb, pa));
		for (uint16_t n = 1; n <= 4; n++)
			CU_ASSERT_EQUAL(dp_net_flow_worker(a, b, pa, pb, n),
					dp_net_flow_worker(b, a, pb, pa, n));
		uint16_t w = dp_net_flow_worker(a, b, pa, pb, 4);
		CU_ASSERT(w < 4);
		count[w < 4 ? w : 0]++;
		if (i < 50) {
			uint8_t in[12];
			memcpy(in, &a, 4);
			memcpy(in + 4, &b, 4);
			in[8] = (uint8_t)(pa >> 8); in[9] = (uint8_t)pa;
			in[10] = (uint8_t)(pb >> 8); in[11] = (uint8_t)pb;
			CU_ASSERT_EQUAL(h, toeplitz_ref(in, 12, dp_net_rss_key()));
		}
	}
	/* spread: each of 4 workers gets a fair share (expected 1000) */
	for (int w = 0; w < 4; w++)
		CU_ASSERT(count[w] > 800 && count[w] < 1200);
	CU_ASSERT_EQUAL(dp_net_flow_worker(1, 2, 3, 4, 1), 0);
}

/* ---- RX classification ---- */

struct tapp { int accepts; };
static int t_accept(void *arg, struct dp_tcp_conn *c, void **ca)
{
	((struct tapp *)arg)->accepts++;
	*ca = arg;
	return 0;
}
static void t_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}
static void t_close(void *arg, struct dp_tcp_conn *c, int reason) {}

static struct dp_tcp_stack *make_stack(struct fix *f, struct tapp *a)
{
	static const struct dp_tcp_app app = { t_accept, t_data, NULL, t_close };
	struct dp_tcp_cfg cfg;
	struct dp_tcp_ops ops = { .ip_output = dp_net_ip_output, .arg = &f->net };
	dp_tcp_cfg_defaults(&cfg);
	cfg.local_ip = OUR_IP;
	cfg.max_conns = 64;
	cfg.secret_seed = 42;
	struct dp_tcp_stack *st = dp_tcp_stack_create(&cfg, SOCKET_ID_ANY, f->pool, &ops);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(dp_tcp_listen(st, 7, &app, a), 0);
	f->net.tcp = st;
	return st;
}

static const struct rte_tcp_hdr *tcp_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, ETH_LEN + 20);
}

static void test_classify_own_vs_exception(void)
{
	struct fix f;
	struct tapp a = { 0 };
	fix_init(&f, 0, 1, 1, 0);
	struct dp_tcp_stack *st = make_stack(&f, &a);
	learn_peer(&f, &peer_mac, PEER_IP);

	/* SYN to a dataplane listener: the stack answers SYN-ACK on the wire */
	dp_net_rx(&f.net, tcp_frame(&f, PEER_IP, 40000, 7, RTE_TCP_SYN_FLAG), 1000);
	CU_ASSERT_EQUAL(f.cap.nexc, 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	CU_ASSERT_EQUAL(tcp_of(f.cap.tx[0])->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(tcp_of(f.cap.tx[0])->dst_port, rte_cpu_to_be_16(40000));
	CU_ASSERT(rte_is_same_ether_addr(&eth_of(f.cap.tx[0])->dst_addr, &peer_mac));
	cap_clear(&f.cap);

	/* SYN to a port nobody in the dataplane serves: to the kernel, intact */
	struct rte_mbuf *m = tcp_frame(&f, PEER_IP, 40001, 2222, RTE_TCP_SYN_FLAG);
	uint8_t copy[128];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	memcpy(copy, rte_pktmbuf_mtod(m, void *), len);
	dp_net_rx(&f.net, m, 1000);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.nexc, 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(f.cap.exc[0]), len);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(f.cap.exc[0], void *), copy, len), 0);
	cap_clear(&f.cap);

	/* UDP, IPv6 and broadcast IPv4 belong to the kernel */
	uint8_t b[128], pl[8] = { 0 };
	dp_net_rx(&f.net, frame(&f, b, ipv4_fill(b, PEER_IP, OUR_IP, IPPROTO_UDP, pl, 8)), 0);
	dp_net_rx(&f.net, frame(&f, b, ipv4_fill(b, PEER_IP, RTE_BE32(0xc61200ff), IPPROTO_UDP,
					      pl, 8)), 0);
	eth_fill(b, &our_mac, &peer_mac, RTE_ETHER_TYPE_IPV6);
	dp_net_rx(&f.net, frame(&f, b, 60), 0);
	CU_ASSERT_EQUAL(f.cap.nexc, 3);
	/* unicast to another MAC: not ours at all */
	eth_fill(b, &peer2_mac, &peer_mac, RTE_ETHER_TYPE_IPV4);
	dp_net_rx(&f.net, frame(&f, b, 60), 0);
	CU_ASSERT_EQUAL(f.net.st.drop_eth_not_us, 1);
	CU_ASSERT_EQUAL(f.cap.nexc, 3);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	cap_clear(&f.cap);

	dp_tcp_stack_destroy(st); /* RSTs the half-open connection */
	f.net.tcp = NULL;
	fix_fini(&f);
}

static void test_classify_no_exception_rst(void)
{
	struct fix f;
	struct tapp a = { 0 };
	fix_init(&f, 0, 1, 0, 0);
	struct dp_tcp_stack *st = make_stack(&f, &a);
	learn_peer(&f, &peer_mac, PEER_IP);

	/* closed port and no kernel behind us: RST, ACKing the SYN */
	dp_net_rx(&f.net, tcp_frame(&f, PEER_IP, 40002, 2222, RTE_TCP_SYN_FLAG), 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 1);
	const struct rte_tcp_hdr *th = tcp_of(f.cap.tx[0]);
	CU_ASSERT(th->tcp_flags & RTE_TCP_RST_FLAG);
	CU_ASSERT_EQUAL(th->recv_ack, rte_cpu_to_be_32(1001));
	CU_ASSERT_EQUAL(f.net.st.tcp_rst_closed, 1);
	cap_clear(&f.cap);

	/* UDP with no kernel: dropped, counted */
	uint8_t b[128], pl[8] = { 0 };
	dp_net_rx(&f.net, frame(&f, b, ipv4_fill(b, PEER_IP, OUR_IP, IPPROTO_UDP, pl, 8)), 0);
	CU_ASSERT_EQUAL(f.net.st.drop_ip_proto, 1);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	dp_tcp_stack_destroy(st);
	f.net.tcp = NULL;
	fix_fini(&f);
}

static void test_classify_dispatch(void)
{
	struct fix f;
	uint16_t port = 40000;

	/* find a client port whose flow belongs to worker 1 of 2 */
	while (dp_net_flow_worker(PEER_IP, OUR_IP, port, 7, 2) != 1)
		port++;
	fix_init(&f, 0, 2, 1, 0);
	dp_net_rx(&f.net, tcp_frame(&f, PEER_IP, port, 7, RTE_TCP_SYN_FLAG), 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.nfwd, 1);
	CU_ASSERT_EQUAL(f.cap.fwd_to[0], 1);
	CU_ASSERT_EQUAL(f.net.st.fwd_out, 1);
	CU_ASSERT_EQUAL(f.net.st.tcp_in, 0);
	/* a full ring drops and counts */
	f.cap.fwd_fail = 1;
	dp_net_rx(&f.net, tcp_frame(&f, PEER_IP, port, 7, RTE_TCP_SYN_FLAG), 0);
	CU_ASSERT_EQUAL(f.net.st.drop_fwd_full, 1);

	/* worker 1 takes the forwarded frame without dispatching it again */
	struct fix g;
	struct tapp a = { 0 };
	fix_init(&g, 1, 2, 1, 0);
	struct dp_tcp_stack *st = make_stack(&g, &a);
	learn_peer(&g, &peer_mac, PEER_IP);
	dp_net_rx_peer(&g.net, f.cap.fwd[0], 0);
	f.cap.fwd[0] = NULL; /* consumed by g */
	CU_ASSERT_EQUAL(g.cap.nfwd, 0);
	CU_ASSERT_EQUAL(g.net.st.tcp_in, 1);
	CU_ASSERT_EQUAL_FATAL(g.cap.ntx, 1);
	CU_ASSERT_EQUAL(tcp_of(g.cap.tx[0])->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	cap_clear(&g.cap);
	dp_tcp_stack_destroy(st);
	g.net.tcp = NULL;
	cap_clear(&f.cap);
	g.base_in_use = f.base_in_use; /* nested fixture: check against the outer baseline */
	fix_fini(&g);
	fix_fini(&f);
}

static void test_exception_output(void)
{
	struct fix f;
	fix_init(&f, 0, 1, 1, 0);
	/* the kernel's ARP reply is redundant (we answer ARP): dropped */
	dp_net_rx_exception(&f.net, arp_frame(&f, RTE_ARP_OP_REPLY, &our_mac, OUR_IP, PEER_IP), 0);
	CU_ASSERT_EQUAL(f.net.st.drop_arp_exc_reply, 1);
	CU_ASSERT_EQUAL(f.cap.ntx, 0);
	/* its requests and IP packets go out unchanged */
	dp_net_rx_exception(&f.net, arp_frame(&f, RTE_ARP_OP_REQUEST, &our_mac, OUR_IP, PEER_IP), 0);
	uint8_t b[128], pl[8] = { 1, 2, 3 };
	uint16_t len = ipv4_fill(b, OUR_IP, PEER_IP, IPPROTO_UDP, pl, 8);
	dp_net_rx_exception(&f.net, frame(&f, b, len), 0);
	CU_ASSERT_EQUAL_FATAL(f.cap.ntx, 2);
	CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(f.cap.tx[1], void *), b, len), 0);
	CU_ASSERT_EQUAL(f.net.st.exc_rx_pkts, 3);
	CU_ASSERT_EQUAL(f.net.st.tx_pkts, 2);
	fix_fini(&f);
}

/* ---- configuration ---- */

static void test_conf(void)
{
	struct dp_conf c;
	char err[256];
	uint32_t ip, mask;

	CU_ASSERT_EQUAL(dp_conf_load(NULL, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.ip, OUR_IP);
	CU_ASSERT_EQUAL(c.netmask, MASK24);
	CU_ASSERT_EQUAL(c.idle_mode, DP_IDLE_POLL);
	CU_ASSERT_EQUAL(dp_conf_parse_cidr("10.1.2.3/8", &ip, &mask), 0);
	CU_ASSERT_EQUAL(ip, RTE_BE32(0x0a010203));
	CU_ASSERT_EQUAL(mask, RTE_BE32(0xff000000));
	CU_ASSERT_EQUAL(dp_conf_parse_cidr("10.1.2.3/33", &ip, &mask), -EINVAL);
	CU_ASSERT_EQUAL(dp_conf_parse_cidr("10.1.2/8", &ip, &mask), -EINVAL);
	CU_ASSERT_EQUAL(dp_conf_parse_cidr("/8", &ip, &mask), -EINVAL);

	char path[64];
	snprintf(path, sizeof(path), "/tmp/lc-dpconf-%d.conf", (int)getpid());
	FILE *fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs("[dataplane]\naddress = 10.9.0.5/16\ngateway = 10.9.0.1\nidle = adaptive\n"
	      "[chat]\nwhatever = 1\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(dp_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.ip, RTE_BE32(0x0a090005));
	CU_ASSERT_EQUAL(c.gw, RTE_BE32(0x0a090001));
	CU_ASSERT_EQUAL(c.idle_mode, DP_IDLE_ADAPTIVE);
	fp = fopen(path, "w");
	fputs("[dataplane]\naddress = 10.9.0.5/16\ngateway = 10.10.0.1\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(dp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "gateway"));
	fp = fopen(path, "w");
	fputs("[dataplane]\nidle = sometimes\n", fp);
	fclose(fp);
	CU_ASSERT_EQUAL(dp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "idle"));
	unlink(path);
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

int test_dp_net_register(void)
{
	CU_pSuite s = CU_add_suite("dp_net", suite_init, NULL);
	if (!s ||
	    !CU_add_test(s, "arp request/reply/mirror/peer copy", test_arp_request_reply) ||
	    !CU_add_test(s, "arp not for us / malformed", test_arp_not_for_us) ||
	    !CU_add_test(s, "arp resolve with queue", test_arp_resolve_queue) ||
	    !CU_add_test(s, "arp retry and give up", test_arp_retry_giveup) ||
	    !CU_add_test(s, "arp aging and refresh", test_arp_aging) ||
	    !CU_add_test(s, "arp flood keeps the gateway", test_arp_flood_keeps_gateway) ||
	    !CU_add_test(s, "route via gateway", test_route_gateway) ||
	    !CU_add_test(s, "ipv4 header validation", test_ipv4_validation) ||
	    !CU_add_test(s, "icmp echo reply", test_icmp_echo) ||
	    !CU_add_test(s, "dispatch hash symmetry", test_dispatch_symmetry) ||
	    !CU_add_test(s, "classify own vs exception", test_classify_own_vs_exception) ||
	    !CU_add_test(s, "classify without exception: RST", test_classify_no_exception_rst) ||
	    !CU_add_test(s, "classify dispatch to worker", test_classify_dispatch) ||
	    !CU_add_test(s, "exception output", test_exception_output) ||
	    !CU_add_test(s, "dataplane config", test_conf))
		return -1;
	return 0;
}
