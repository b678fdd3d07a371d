/* dp_worker end to end on a ring-backed ethdev (net_ring vdev, whose RX and
 * TX share one ring): frames injected into the ring go through the real
 * worker iteration, net stack, TCP stack and test services; what the worker
 * transmits is read back from the ring and checked byte by byte. Also the TX
 * buffer's behaviour when the port pushes back. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "dataplane/dp_port.h"
#include "dataplane/dp_source.h"
#include "dataplane/dp_worker.h"
#include "tests/unit/util_dp_eal.h"

#define RING_DEV "net_ring_dpw0"
#define RING_NAME "ETH_RXTX0_" RING_DEV
#define OUR_IP RTE_BE32(0xc6120002)
#define PEER_IP RTE_BE32(0xc6120001)
#define ETH_LEN 14
#define MAXF 64

static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x01 } };

struct wfix {
	uint16_t port;
	struct rte_ring *ring;
	struct rte_ether_addr mac;
	struct dp_app *app;
	struct dp_worker *w;
	struct rte_mbuf *out[MAXF];
	int nout;
};

static int ring_port(uint16_t *port, struct rte_ring **ring)
{
	if (rte_eth_dev_get_port_by_name(RING_DEV, port) != 0 && rte_dev_probe(RING_DEV) != 0)
		return -1;
	if (rte_eth_dev_get_port_by_name(RING_DEV, port) != 0)
		return -1;
	*ring = rte_ring_lookup(RING_NAME);
	return *ring ? 0 : -1;
}

static void out_clear(struct wfix *f)
{
	for (int i = 0; i < f->nout; i++)
		rte_pktmbuf_free(f->out[i]);
	f->nout = 0;
}

/* Run the worker, then collect what it sent (it is in the shared ring). */
static void step(struct wfix *f, int iterations)
{
	struct rte_mbuf *m;

	for (int i = 0; i < iterations; i++) {
		dp_worker_iterate(f->w);
		while (rte_ring_dequeue(f->ring, (void **)&m) == 0) {
			if (f->nout < MAXF)
				f->out[f->nout++] = m;
			else
				rte_pktmbuf_free(m);
		}
	}
}

static void inject(struct wfix *f, const void *frame, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(util_dp_pool());
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(rte_pktmbuf_append(m, len), frame, len);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue(f->ring, m), 0);
}

static void arp_request(struct wfix *f, uint32_t tip)
{
	uint8_t b[60] = { 0 };
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(b + ETH_LEN);

	memset(b, 0xff, 6);
	memcpy(b + 6, &peer_mac, 6);
	b[12] = 0x08;
	b[13] = 0x06;
	ah->arp_hardware = rte_cpu_to_be_16(1);
	ah->arp_protocol = rte_cpu_to_be_16(0x0800);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	ah->arp_data.arp_sha = peer_mac;
	ah->arp_data.arp_sip = PEER_IP;
	ah->arp_data.arp_tip = tip;
	inject(f, b, sizeof(b));
}

static int wfix_init(struct wfix *f)
{
	char msg[256];

	memset(f, 0, sizeof(*f));
	if (ring_port(&f->port, &f->ring) != 0)
		return -1;
	rte_eth_macaddr_get(f->port, &f->mac);
	f->app = calloc(1, sizeof(*f->app));
	if (!f->app || dp_conf_load(NULL, &f->app->conf, msg, sizeof(msg)) != 0)
		return -1;
	f->app->conf.mbufs = 1023;
	f->app->conf.hdr_mbufs = 1023;
	f->app->conf.tcp_max_conns = 64;
	f->app->conf.ring_size = 64;
	f->app->port = f->port;
	f->app->exc_port = DP_PORT_NONE;
	f->app->nb_workers = 1;
	f->app->nb_rxq = 1;
	f->app->tsc_per_us = rte_get_tsc_hz() / 1000000;
	f->w = dp_worker_create(f->app, 0, rte_lcore_id(), &f->mac, msg, sizeof(msg));
	if (!f->w) {
		fprintf(stderr, "worker: %s\n", msg);
		return -1;
	}
	f->app->workers[0] = f->w;
	if (dp_port_start(f->port, 1, 1, &f->w->pool, 64, 64, 0, 0, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "port: %s\n", msg);
		return -1;
	}
	/* the peer asks for our MAC first, as a real client does */
	arp_request(f, OUR_IP);
	step(f, 1);
	return 0;
}

static void wfix_fini(struct wfix *f)
{
	dp_worker_stop(f->w);
	step(f, 1);
	out_clear(f);
	/* everything the worker allocated came back */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(f->w->pool), 0);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(f->w->hdr_pool), 0);
	rte_eth_dev_stop(f->port);
	dp_worker_free(f->w);
	free(f->app);
}

/* ---- client-side frames ---- */

static uint16_t ip_frame(struct wfix *f, uint8_t *b, uint8_t proto, const void *l4, uint16_t len)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)b;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);

	eh->dst_addr = f->mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = PEER_IP;
	ip->dst_addr = OUR_IP;
	memcpy(ip + 1, l4, len);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	return (uint16_t)(ETH_LEN + 20 + len);
}

static void send_tcp(struct wfix *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		     uint8_t flags, const void *data, uint16_t dlen)
{
	uint8_t l4[256], b[320];
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)l4;

	memset(th, 0, sizeof(*th));
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	if (dlen)
		memcpy(l4 + 20, data, dlen);
	inject(f, b, ip_frame(f, b, IPPROTO_TCP, l4, (uint16_t)(20 + dlen)));
}

/* A TCP segment the worker sent, linearised, checksums verified. */
struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t sport, dport, len;
	uint8_t data[2048];
};

static int parse_seg(struct rte_mbuf *m, struct seg *s)
{
	uint8_t buf[2100];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	const uint8_t *p;
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	uint32_t thl;

	if (len > sizeof(buf) || len < ETH_LEN + 40)
		return -1;
	p = rte_pktmbuf_read(m, 0, len, buf);
	if (p != buf)
		memcpy(buf, p, len);
	ip = (const struct rte_ipv4_hdr *)(buf + ETH_LEN);
	if (ip->next_proto_id != IPPROTO_TCP)
		return -1;
	th = (const struct rte_tcp_hdr *)(ip + 1);
	CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0);
	CU_ASSERT_EQUAL(rte_ipv4_udptcp_cksum(ip, th), 0); /* over a valid segment: 0 */
	CU_ASSERT(rte_is_same_ether_addr(&((const struct rte_ether_hdr *)buf)->dst_addr,
					 &peer_mac));
	thl = (th->data_off >> 4) * 4u;
	s->seq = rte_be_to_cpu_32(th->sent_seq);
	s->ack = rte_be_to_cpu_32(th->recv_ack);
	s->flags = th->tcp_flags;
	s->sport = rte_be_to_cpu_16(th->src_port);
	s->dport = rte_be_to_cpu_16(th->dst_port);
	s->len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - thl);
	if (s->len > sizeof(s->data))
		return -1;
	memcpy(s->data, (const uint8_t *)th + thl, s->len);
	return 0;
}

/* Handshake from client port sport to dport; returns the server's ISN + 1. */
static uint32_t connect_to(struct wfix *f, uint16_t sport, uint16_t dport, uint32_t iss)
{
	struct seg s;

	send_tcp(f, sport, dport, iss, 0, RTE_TCP_SYN_FLAG, NULL, 0);
	step(f, 1);
	CU_ASSERT_EQUAL_FATAL(f->nout, 1);
	CU_ASSERT_EQUAL_FATAL(parse_seg(f->out[0], &s), 0);
	CU_ASSERT_EQUAL(s.flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	CU_ASSERT_EQUAL(s.ack, iss + 1);
	CU_ASSERT_EQUAL(s.dport, sport);
	out_clear(f);
	send_tcp(f, sport, dport, iss + 1, s.seq + 1, RTE_TCP_ACK_FLAG, NULL, 0);
	step(f, 1);
	return s.seq + 1;
}

/* ---- tests ---- */

static void test_txbuf_pushback(void)
{
	struct wfix f;
	struct dp_txbuf tb = { 0 };
	struct rte_mbuf *fill[1020], *mine[10], *got[1024];
	uint64_t drops = 0;

	CU_ASSERT_EQUAL_FATAL(ring_port(&f.port, &f.ring), 0);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(util_dp_pool(), fill, 1020), 0);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(util_dp_pool(), mine, 10), 0);
	/* 1023 slots, 1020 taken: the port takes 3 of our 10 frames */
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_bulk(f.ring, (void **)fill, 1020, NULL), 1020);
	tb.port = f.port;
	tb.queue = 0;
	tb.n = 10;
	memcpy(tb.pkts, mine, sizeof(mine));
	struct rte_mempool *pool = util_dp_pool();
	char msg[256];
	CU_ASSERT_EQUAL_FATAL(dp_port_start(f.port, 1, 1, &pool, 64, 64, 0, 0, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 7);
	CU_ASSERT_PTR_EQUAL(tb.pkts[0], mine[3]); /* order kept */
	CU_ASSERT_PTR_EQUAL(tb.pkts[6], mine[9]);
	unsigned n = rte_ring_dequeue_burst(f.ring, (void **)got, 1024, NULL);
	CU_ASSERT_EQUAL(n, 1023);
	CU_ASSERT_PTR_EQUAL(got[1020], mine[0]);
	CU_ASSERT_PTR_EQUAL(got[1022], mine[2]);
	/* room again: the rest leaves in order, nothing was dropped */
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 0);
	n = rte_ring_dequeue_burst(f.ring, (void **)(got + 1023), 1, NULL);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_PTR_EQUAL(got[1023], mine[3]);
	struct rte_mbuf *rest[6];
	CU_ASSERT_EQUAL(rte_ring_dequeue_burst(f.ring, (void **)rest, 6, NULL), 6);
	rte_pktmbuf_free_bulk(got, 1024);
	rte_pktmbuf_free_bulk(rest, 6);
	/* discard frees and counts what is left */
	CU_ASSERT_EQUAL(rte_pktmbuf_alloc_bulk(util_dp_pool(), tb.pkts, 2), 0);
	tb.n = 2;
	dp_txbuf_discard(&tb, &drops);
	CU_ASSERT_EQUAL(drops, 2);
	CU_ASSERT_EQUAL(tb.n, 0);
	rte_eth_dev_stop(f.port);
}

/* Regression: a frame the port refuses (net_tap: longer than its MTU) sat
 * at the head of the buffer for ever and everything behind it was dropped
 * as drop_tx_full. Oversize frames are dropped before the burst; a head
 * the port takes nothing of for DP_TXBUF_STALL_MS is dropped as refused.
 * Both are counted, the other frames leave in order. */
static void test_txbuf_unsendable(void)
{
	struct wfix f;
	struct dp_txbuf tb = { 0 };
	struct rte_mbuf *big, *ok[3], *fill[1023], *got[8];
	uint64_t bad = 0;
	struct rte_mempool *pool = util_dp_pool();
	char msg[256];

	CU_ASSERT_EQUAL_FATAL(ring_port(&f.port, &f.ring), 0);
	CU_ASSERT_EQUAL_FATAL(dp_port_start(f.port, 1, 1, &pool, 64, 64, 0, 0, msg, sizeof(msg)), 0);
	tb.port = f.port;
	tb.max_frame = 1518;
	tb.drop_bad = &bad;
	big = rte_pktmbuf_alloc(pool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	/* 1542 bytes in a chain, as the TCP stack builds them */
	CU_ASSERT_PTR_NOT_NULL_FATAL(rte_pktmbuf_append(big, 1000));
	struct rte_mbuf *tail = rte_pktmbuf_alloc(pool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rte_pktmbuf_append(tail, 542));
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_chain(big, tail), 0);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(pool, ok, 3), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_PTR_NOT_NULL(rte_pktmbuf_append(ok[i], i == 2 ? 1518 : 60));
	tb.pkts[0] = big;
	tb.pkts[1] = ok[0];
	tb.pkts[2] = ok[1];
	tb.pkts[3] = ok[2];
	tb.n = 4;
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 0);
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_EQUAL(rte_ring_dequeue_burst(f.ring, (void **)got, 8, NULL), 3);
	CU_ASSERT_PTR_EQUAL(got[0], ok[0]);
	CU_ASSERT_PTR_EQUAL(got[2], ok[2]); /* exactly max_frame passes */
	rte_pktmbuf_free_bulk(got, 3);

	/* A port that takes nothing at all: the head goes after the stall
	 * time, not before, and the rest waits its turn. */
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(pool, fill, 1023), 0);
	CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_bulk(f.ring, (void **)fill, 1023, NULL), 1023);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(pool, ok, 2), 0);
	tb.pkts[0] = ok[0];
	tb.pkts[1] = ok[1];
	tb.n = 2;
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 2);
	rte_delay_us_sleep(DP_TXBUF_STALL_MS * 1000 / 2);
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 2);
	CU_ASSERT_EQUAL(bad, 1);
	rte_delay_us_sleep(DP_TXBUF_STALL_MS * 1000 / 2 + 20000);
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 1);
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT_PTR_EQUAL(tb.pkts[0], ok[1]);
	/* room again: it leaves, and the stall clock restarts from zero */
	CU_ASSERT_EQUAL(rte_ring_dequeue_burst(f.ring, (void **)fill, 1023, NULL), 1023);
	rte_pktmbuf_free_bulk(fill, 1023);
	CU_ASSERT_EQUAL(dp_txbuf_flush(&tb), 0);
	CU_ASSERT_EQUAL(tb.stall_tsc, 0);
	CU_ASSERT_EQUAL(rte_ring_dequeue_burst(f.ring, (void **)got, 8, NULL), 1);
	CU_ASSERT_PTR_EQUAL(got[0], ok[1]);
	rte_pktmbuf_free(got[0]);
	CU_ASSERT_EQUAL(bad, 2);
	rte_eth_dev_stop(f.port);
}

static void test_worker_arp_icmp(void)
{
	struct wfix f;
	uint8_t b[128] = { 0 };
	struct rte_arp_hdr *ah;

	CU_ASSERT_EQUAL_FATAL(wfix_init(&f), 0);
	CU_ASSERT_EQUAL_FATAL(f.nout, 1); /* the reply to the ARP request init sent */
	ah = rte_pktmbuf_mtod_offset(f.out[0], struct rte_arp_hdr *, ETH_LEN);
	CU_ASSERT_EQUAL(ah->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	CU_ASSERT(rte_is_same_ether_addr(&ah->arp_data.arp_sha, &f.mac));
	CU_ASSERT(rte_is_same_ether_addr(&ah->arp_data.arp_tha, &peer_mac));
	CU_ASSERT_EQUAL(ah->arp_data.arp_sip, OUR_IP);
	CU_ASSERT_EQUAL(ah->arp_data.arp_tip, PEER_IP);
	CU_ASSERT_EQUAL(f.w->net.st.arp_replies_sent, 1);
	out_clear(&f);
	/* ARP request for another address: no answer */
	arp_request(&f, PEER_IP + RTE_BE32(5));
	step(&f, 1);
	CU_ASSERT_EQUAL(f.nout, 0);
	CU_ASSERT_EQUAL(f.w->net.st.arp_replies_sent, 1);

	/* ping */
	memcpy(b + 6, &peer_mac, 6);
	b[12] = 0x08; b[13] = 0x06;
	ah->arp_hardware = rte_cpu_to_be_16(1);
	ah->arp_protocol = rte_cpu_to_be_16(0x0800);
	ah->arp_hlen = 6;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	ah->arp_data.arp_sha = peer_mac;
	ah->arp_data.arp_sip = PEER_IP;
	ah->arp_data.arp_tip = OUR_IP;
	uint8_t icmp[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'l', 'i', 'f', 'e', 'c', 'a', 's', 't' };
	uint16_t ck = (uint16_t)~rte_raw_cksum(icmp, sizeof(icmp));
	memcpy(icmp + 2, &ck, 2);
	inject(&f, b, ip_frame(&f, b, IPPROTO_ICMP, icmp, sizeof(icmp)));
	step(&f, 1);
	CU_ASSERT_EQUAL_FATAL(f.nout, 1);
	const uint8_t *r = rte_pktmbuf_mtod_offset(f.out[0], const uint8_t *, ETH_LEN + 20);
	CU_ASSERT_EQUAL(r[0], 0);
	CU_ASSERT_EQUAL(memcmp(r + 4, icmp + 4, 12), 0);
	CU_ASSERT_EQUAL(f.w->net.st.icmp_echo_replies, 1);
	out_clear(&f);
	wfix_fini(&f);
}

static void test_worker_echo(void)
{
	struct wfix f;
	struct seg s;
	const char *msg = "hello, dataplane";
	uint16_t ml = (uint16_t)strlen(msg);
	int got_data = 0, got_fin = 0;

	CU_ASSERT_EQUAL_FATAL(wfix_init(&f), 0);
	out_clear(&f);
	uint32_t srv = connect_to(&f, 41000, DP_ECHO_PORT, 5000);
	out_clear(&f);
	send_tcp(&f, 41000, DP_ECHO_PORT, 5001, srv, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, msg, ml);
	step(&f, 2);
	for (int i = 0; i < f.nout; i++) {
		CU_ASSERT_EQUAL_FATAL(parse_seg(f.out[i], &s), 0);
		if (s.len > 0) {
			got_data++;
			CU_ASSERT_EQUAL(s.len, ml);
			CU_ASSERT_EQUAL(memcmp(s.data, msg, ml), 0);
			CU_ASSERT_EQUAL(s.seq, srv);
			CU_ASSERT_EQUAL(s.ack, 5001u + ml);
		}
	}
	CU_ASSERT_EQUAL(got_data, 1);
	out_clear(&f);
	/* our FIN: echo has nothing pending, so it closes its side too */
	send_tcp(&f, 41000, DP_ECHO_PORT, 5001u + ml, srv + ml,
		 RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, NULL, 0);
	step(&f, 2);
	for (int i = 0; i < f.nout; i++) {
		CU_ASSERT_EQUAL_FATAL(parse_seg(f.out[i], &s), 0);
		if (s.flags & RTE_TCP_FIN_FLAG) {
			got_fin++;
			CU_ASSERT_EQUAL(s.seq, srv + ml);
			CU_ASSERT_EQUAL(s.ack, 5001u + ml + 1);
		}
	}
	CU_ASSERT_EQUAL(got_fin, 1);
	CU_ASSERT_EQUAL(f.w->svc.bytes_echoed, ml);
	out_clear(&f);
	wfix_fini(&f);
}

static void test_worker_source(void)
{
	struct wfix f;
	struct seg s;
	uint8_t count[8] = { 0, 0, 0, 0, 0, 0, 0x0b, 0xb8 }; /* 3000, big-endian */
	static uint8_t got[4096];
	uint32_t want = 3000, high = 0;
	int fin = 0, bad = 0;

	CU_ASSERT_EQUAL_FATAL(wfix_init(&f), 0);
	out_clear(&f);
	uint32_t srv = connect_to(&f, 41001, DP_SOURCE_PORT, 9000);
	out_clear(&f);
	send_tcp(&f, 41001, DP_SOURCE_PORT, 9001, srv, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
		 count, 8);
	/* ACK what arrives until the FIN shows up */
	for (int round = 0; round < 20 && !fin; round++) {
		step(&f, 1);
		for (int i = 0; i < f.nout; i++) {
			CU_ASSERT_EQUAL_FATAL(parse_seg(f.out[i], &s), 0);
			uint32_t off = s.seq - srv;
			if (s.len && off + s.len <= sizeof(got)) {
				memcpy(got + off, s.data, s.len);
				if (off + s.len > high)
					high = off + s.len;
			}
			if (s.flags & RTE_TCP_FIN_FLAG) {
				fin = 1;
				CU_ASSERT_EQUAL(off + s.len, want);
			}
		}
		out_clear(&f);
		send_tcp(&f, 41001, DP_SOURCE_PORT, 9009, srv + high + (uint32_t)fin,
			 RTE_TCP_ACK_FLAG, NULL, 0);
	}
	step(&f, 1);
	out_clear(&f);
	CU_ASSERT_EQUAL(fin, 1);
	CU_ASSERT_EQUAL(high, want);
	for (uint32_t i = 0; i < want; i++)
		bad += got[i] != dp_source_byte(i);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(f.w->svc.bytes_sourced, want);
	wfix_fini(&f);
}

/* Regression: source took its payload from the RX pool, up to 1 MiB or
 * 256 references per conn whatever the window: a few conns emptied the
 * pool, RX stopped, the ACKs that would free it never arrived. Now its
 * chunks come from a pool of its own and a conn queues no more than what
 * is in flight plus one window. */
static void test_worker_source_bounded(void)
{
	struct wfix f;
	uint8_t count[8] = { 0, 0, 0, 0, 0x04, 0, 0, 0 }; /* 64 MiB each */
	uint32_t srv[4];
	unsigned rx_in_use;

	CU_ASSERT_EQUAL_FATAL(wfix_init(&f), 0);
	out_clear(&f);
	rx_in_use = rte_mempool_in_use_count(f.w->pool);
	for (int i = 0; i < 4; i++) {
		srv[i] = connect_to(&f, (uint16_t)(42000 + i), DP_SOURCE_PORT, 7000u * (uint32_t)i);
		out_clear(&f);
		send_tcp(&f, (uint16_t)(42000 + i), DP_SOURCE_PORT, 7000u * (uint32_t)i + 1, srv[i],
			 RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, count, 8);
		step(&f, 2);
		out_clear(&f);
	}
	/* Nothing acknowledged: each conn holds its initial window (10 x 536,
	 * no MSS option) plus at most one window of chunks unsent. */
	CU_ASSERT(f.w->svc.bytes_sourced > 4u * 5360);
	CU_ASSERT(f.w->svc.bytes_sourced <= 4u * (5360 + 2 * DP_SVC_SRC_CHUNK + DP_SVC_SRC_CHUNK));
	CU_ASSERT(rte_mempool_in_use_count(f.w->pool) <= rx_in_use + 8);
	CU_ASSERT(rte_mempool_in_use_count(f.w->svc.src_pool) <= 4u * 4);
	CU_ASSERT_EQUAL(f.w->svc.src_active, 4);
	/* An ACK for the first window lets that conn queue more, by budget. */
	uint64_t before = f.w->svc.bytes_sourced;
	send_tcp(&f, 42000, DP_SOURCE_PORT, 9, srv[0] + 5360, RTE_TCP_ACK_FLAG, NULL, 0);
	step(&f, 2);
	CU_ASSERT(f.w->svc.bytes_sourced > before);
	CU_ASSERT(f.w->svc.bytes_sourced <= before + 5360 + 2 * DP_SVC_SRC_CHUNK);
	out_clear(&f);
	wfix_fini(&f);
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

int test_dp_net_worker_register(void)
{
	CU_pSuite s = CU_add_suite("dp_worker", suite_init, NULL);
	if (!s ||
	    !CU_add_test(s, "tx buffer keeps what the port refuses", test_txbuf_pushback) ||
	    !CU_add_test(s, "tx buffer drops unsendable frames", test_txbuf_unsendable) ||
	    !CU_add_test(s, "worker: arp and icmp", test_worker_arp_icmp) ||
	    !CU_add_test(s, "worker: echo service", test_worker_echo) ||
	    !CU_add_test(s, "worker: source service pattern", test_worker_source) ||
	    !CU_add_test(s, "worker: source memory bounded", test_worker_source_bounded))
		return -1;
	return 0;
}
