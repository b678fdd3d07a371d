/* Fuzz the dataplane RX path: arbitrary Ethernet frames into dp_net (ARP,
 * IPv4, ICMP, dispatch, exception decision) and on into the real TCP stack
 * with the real test services (echo, discard, source) behind it.
 *
 * Input: byte 0 = setup (bit 0: exception path present, bit 1: two workers
 * so flows get forwarded; forwarded frames come back through rx_peer), then
 * records:
 *   op (1 byte): bits 0-1 entry: 0 rx, 1 rx_peer, 2 rx_exception, 3 clock
 *                bit 2: fix the IPv4 and TCP checksums
 *                bit 3: set seq/ack to follow the stack's last segment
 *   clock op: 1 byte, advance by value * 10 ms (timers run)
 *   frame op: 2 bytes big-endian length (capped at 1514), then the frame.
 * Every input starts from a fresh stack; at the end every mbuf must be back
 * in the pool (a leak aborts).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/dp_net.h"
#include "dataplane/dp_services.h"
#include "dataplane/dp_tcp.h"
#include "tests/util_eal_rundir.h"

#define OUR_IP RTE_BE32(0xc6120002)
#define PEER_IP RTE_BE32(0xc6120001)
#define MAX_FRAME 1514
#define MAX_FWD 64
#define ETH_LEN 14

struct harness {
	struct rte_mempool *pool;
	struct dp_net net;
	struct rte_mbuf *fwd[MAX_FWD];
	int nfwd;
	uint32_t out_seq_end, out_ack; /* last TCP segment the stack emitted */
	uint64_t now;
};

/* One process-wide harness: libFuzzer calls us from a single thread and the
 * EAL can only be initialised once. */
static struct harness H;

static void note_tcp_out(struct harness *h, struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	uint32_t ihl, tot, thl, plen;

	if (rte_pktmbuf_data_len(m) < ETH_LEN + 20 + 20)
		return;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, ETH_LEN);
	if (ip->next_proto_id != IPPROTO_TCP)
		return;
	ihl = (ip->version_ihl & 0xf) * 4u;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (ETH_LEN + ihl + 20 > rte_pktmbuf_data_len(m))
		return;
	th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, ETH_LEN + ihl);
	thl = (th->data_off >> 4) * 4u;
	plen = tot > ihl + thl ? tot - ihl - thl : 0;
	h->out_seq_end = rte_be_to_cpu_32(th->sent_seq) + plen +
			 ((th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) ? 1 : 0);
	h->out_ack = rte_be_to_cpu_32(th->recv_ack);
}

static void f_tx(void *arg, struct rte_mbuf *m)
{
	note_tcp_out(arg, m);
	rte_pktmbuf_free(m);
}

static void f_exc(void *arg, struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

static int f_fwd(void *arg, uint16_t w, struct rte_mbuf *m)
{
	struct harness *h = arg;

	if (h->nfwd >= MAX_FWD)
		return -ENOBUFS;
	h->fwd[h->nfwd++] = m;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { "fuzz_dp_rx", "--no-huge", "-m", "256", "--no-pci", "--file-prefix=fuzzdprx",
			"--no-telemetry", "--no-shconf", "--log-level=*:critical", "-l", "0", NULL };

	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		abort();
	}
	util_eal_rundir_remove_at_exit();
	H.pool = rte_pktmbuf_pool_create("fuzz_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	if (!H.pool)
		abort();
	return 0;
}

/* Make the frame's IPv4 and TCP checksums right so the fuzzer reaches the
 * TCP state machine; optionally follow the stack's sequence numbers. */
static void fixup(struct harness *h, uint8_t *b, uint16_t len, int follow)
{
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t ihl, tot;

	if (len < ETH_LEN + 20 || b[12] != 0x08 || b[13] != 0x00)
		return;
	ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);
	ihl = (ip->version_ihl & 0xf) * 4u;
	tot = rte_be_to_cpu_16(ip->total_length);
	if (ihl < 20 || ETH_LEN + ihl > len || tot < ihl || ETH_LEN + tot > len)
		return;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, ihl);
	if (ip->next_proto_id != IPPROTO_TCP || tot < ihl + 20)
		return;
	th = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	if (follow) {
		th->sent_seq = rte_cpu_to_be_32(h->out_ack);
		th->recv_ack = rte_cpu_to_be_32(h->out_seq_end);
	}
	th->cksum = 0;
	uint32_t sum = rte_ipv4_phdr_cksum(ip, 0) + rte_raw_cksum(th, tot - ihl);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	th->cksum = (uint16_t)~sum;
}

static void feed(struct harness *h, uint8_t op, const uint8_t *p, uint16_t len)
{
	uint8_t b[MAX_FRAME];
	struct rte_mbuf *m;

	memcpy(b, p, len);
	if (op & 4)
		fixup(h, b, len, op & 8);
	m = rte_pktmbuf_alloc(h->pool);
	if (!m)
		return;
	memcpy(rte_pktmbuf_append(m, len), b, len);
	switch (op & 3) {
	case 0: dp_net_rx(&h->net, m, h->now); break;
	case 1: dp_net_rx_peer(&h->net, m, h->now); break;
	default: dp_net_rx_exception(&h->net, m, h->now); break;
	}
}

static void drain_fwd(struct harness *h)
{
	for (int round = 0; round < 4 && h->nfwd > 0; round++) {
		struct rte_mbuf *q[MAX_FWD];
		int n = h->nfwd;

		memcpy(q, h->fwd, sizeof(q[0]) * (size_t)n);
		h->nfwd = 0;
		for (int i = 0; i < n; i++)
			dp_net_rx_peer(&h->net, q[i], h->now);
	}
	for (int i = 0; i < h->nfwd; i++)
		rte_pktmbuf_free(h->fwd[i]);
	h->nfwd = 0;
}

static struct dp_tcp_stack *stack_up(struct harness *h, struct dp_svc_ctx *svc)
{
	struct dp_tcp_cfg cfg;
	struct dp_tcp_ops ops = { .ip_output = dp_net_ip_output, .arg = &h->net };
	struct dp_tcp_stack *st;

	dp_tcp_cfg_defaults(&cfg);
	cfg.local_ip = OUR_IP;
	cfg.max_conns = 32;
	cfg.syn_backlog = 4;
	cfg.secret_seed = 1;
	st = dp_tcp_stack_create(&cfg, SOCKET_ID_ANY, h->pool, &ops);
	if (!st)
		abort();
	if (dp_services_listen(st, svc, 1, 1, 1) != 0)
		abort();
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h = &H;
	struct dp_svc_ctx svc;
	unsigned base;

	if (size < 1)
		return 0;
	base = rte_mempool_in_use_count(h->pool);
	struct dp_net_cfg cfg = {
		.ip = OUR_IP, .netmask = RTE_BE32(0xffffff00), .gateway = RTE_BE32(0xc61200fe),
		.mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x02 } },
		.worker_id = 0, .nb_workers = (data[0] & 2) ? 2 : 1, .soft_dispatch = 1,
		.rx_csum_flags = 0, .arp_timeout_us = 300000000ULL,
	};
	struct dp_net_ops ops = {
		.tx = f_tx, .tx_exception = (data[0] & 1) ? f_exc : NULL, .forward = f_fwd, .arg = h,
	};
	if (dp_net_init(&h->net, &cfg, &ops, h->pool) != 0)
		abort();
	if (dp_services_init(&svc, "fuzz_svc", 32, SOCKET_ID_ANY, h->pool) != 0)
		abort();
	h->net.tcp = stack_up(h, &svc);
	h->now = 1000000;
	h->out_seq_end = h->out_ack = 0;

	size_t off = 1;
	while (off < size) {
		uint8_t op = data[off++];
		if ((op & 3) == 3) {
			if (off >= size)
				break;
			h->now += (uint64_t)data[off++] * 10000;
			dp_tcp_timers(h->net.tcp, h->now);
			dp_net_timers(&h->net, h->now);
			continue;
		}
		if (off + 2 > size)
			break;
		uint16_t len = (uint16_t)((data[off] << 8) | data[off + 1]);
		off += 2;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		if (len > size - off)
			len = (uint16_t)(size - off);
		feed(h, op, data + off, len);
		off += len;
		drain_fwd(h);
		dp_tcp_timers(h->net.tcp, h->now);
	}
	if (getenv("FUZZ_DP_RX_VERBOSE")) {
		const struct dp_tcp_stats *ts = dp_tcp_stats(h->net.tcp);
		fprintf(stderr, "rx %llu tcp_in %llu opened %llu rx_payload %llu tx_payload %llu "
			"echoed %llu sourced %llu\n",
			(unsigned long long)h->net.st.rx_pkts, (unsigned long long)h->net.st.tcp_in,
			(unsigned long long)ts->conns_opened,
			(unsigned long long)ts->rx_payload_bytes,
			(unsigned long long)ts->tx_payload_bytes,
			(unsigned long long)svc.bytes_echoed, (unsigned long long)svc.bytes_sourced);
	}
	dp_tcp_stack_destroy(h->net.tcp);
	h->net.tcp = NULL;
	drain_fwd(h);
	dp_net_fini(&h->net);
	dp_services_fini(&svc);
	if (rte_mempool_in_use_count(h->pool) != base) {
		fprintf(stderr, "mbuf leak: %u in use, %u before\n",
			rte_mempool_in_use_count(h->pool), base);
		abort();
	}
	return 0;
}
