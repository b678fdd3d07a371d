/* Fuzz dp_tcp_input: the input is a sequence of records, each one TCP
 * segment (header + options + payload, arbitrary bytes) wrapped in a valid
 * IPv4 header and fed to one stack with a listener on ports 7 and 80, with
 * the clock advancing between records so timers run. The app echoes data and
 * sometimes shuts down or aborts. After each input the stack is destroyed
 * and every mbuf must be back in the pool (leak oracle).
 *
 * Record: u8 ctl, u8 len_hi, u8 len_lo, then len bytes (clipped).
 *   ctl bit 0: fix the TCP checksum (else left as given)
 *   ctl bit 1: overwrite the ACK field with the end of the last segment the
 *              stack emitted (lets the fuzzer complete handshakes)
 *   ctl bit 2: overwrite the sequence field with the last ACK it emitted
 *   ctl bits 3..7: advance the clock by that many * 37 ms first */
#define ALLOW_EXPERIMENTAL_API
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/dp_tcp.h"
#include "tests/util_eal_rundir.h"

#define POOL_N 2047
#define LIP RTE_BE32(0xc6120002)
#define RIP RTE_BE32(0xc6120001)

struct fz {
	struct rte_mempool *mp;
	struct dp_tcp_stack *st;
	uint32_t nout;
	uint32_t last_end, last_ack; /* of the last emitted segment */
};

static struct rte_mempool *fz_pool(void)
{
	return rte_mempool_lookup("fz_tcp_pool");
}

static void out(void *arg, struct rte_mbuf *m)
{
	struct fz *f = arg;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	uint8_t flat[65536];

	/* Everything the stack emits must be a well-formed packet. The TCP
	 * checksum is checked over a flat copy: DPDK 22.11's chained-mbuf
	 * verifier is wrong for odd-length segments (the stack computes its own
	 * checksum for the same reason). */
	const struct rte_ipv4_hdr *fip =
		m->pkt_len <= sizeof(flat) ? rte_pktmbuf_read(m, 0, m->pkt_len, flat) : NULL;
	if (!fip || rte_ipv4_cksum(ip) != 0 ||
	    rte_ipv4_udptcp_cksum_verify(fip, (const uint8_t *)fip + 20) != 0 ||
	    rte_be_to_cpu_16(ip->total_length) != m->pkt_len)
		abort();
	f->nout++;
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	uint32_t plen = m->pkt_len - 20 - (uint32_t)(th->data_off >> 4) * 4;
	f->last_end = rte_be_to_cpu_32(th->sent_seq) + plen +
		      ((th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) ? 1 : 0);
	f->last_ack = rte_be_to_cpu_32(th->recv_ack);
	rte_pktmbuf_free(m);
}

static int on_accept(void *app_arg, struct dp_tcp_conn *c, void **conn_arg)
{
	*conn_arg = app_arg;
	return 0;
}

static void on_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	uint32_t n = m->pkt_len;
	uint8_t first = 0;

	if (n)
		first = *(const uint8_t *)rte_pktmbuf_read(m, 0, 1, &first);
	if (first == 'Q') {
		rte_pktmbuf_free(m);
		dp_tcp_abort(c);
		return;
	}
	dp_tcp_send(c, m, 0, n); /* echo by reference */
	rte_pktmbuf_free(m);
	if (first == 'S')
		dp_tcp_shutdown(c);
	if (first == 'H')
		dp_tcp_rcv_hold(c, 1u << 20);
}

static void on_close(void *arg, struct dp_tcp_conn *c, int reason)
{
	if (reason == DP_TCP_CLOSE_PEER_FIN)
		dp_tcp_shutdown(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { "fuzz", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			"--no-telemetry", "--log-level=*:error", "-l", "0",
			"--file-prefix=fuzzdptcp", NULL };

	if (rte_eal_init(11, eal) < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		abort();
	}
	util_eal_rundir_remove_at_exit();
	if (!rte_pktmbuf_pool_create("fz_tcp_pool", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY))
		abort();
	return 0;
}

static void feed_one(struct fz *f, const uint8_t *p, uint32_t len, uint8_t ctl, uint64_t now)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(f->mp);

	if (!m)
		return;
	if (len > 1400)
		len = 1400;
	if (!rte_pktmbuf_append(m, (uint16_t)(20 + len))) {
		rte_pktmbuf_free(m);
		return;
	}
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)d;
	memset(d, 0, 20);
	memcpy(d + 20, p, len);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = RIP;
	ip->dst_addr = LIP;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (len >= 20) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(d + 20);
		if (ctl & 2)
			th->recv_ack = rte_cpu_to_be_32(f->last_end);
		if (ctl & 4)
			th->sent_seq = rte_cpu_to_be_32(f->last_ack);
	}
	if ((ctl & 1) && len >= 20) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(d + 20);
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	int rc = dp_tcp_input(f->st, m, now);
	if (rc == -ENOENT)
		dp_tcp_reply_rst(f->st, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { .mp = fz_pool() };
	struct dp_tcp_ops ops = { .ip_output = out, .arg = &f };
	struct dp_tcp_app app = { on_accept, on_data, NULL, on_close };
	struct dp_tcp_cfg cfg;
	uint64_t now = 1000000;
	unsigned avail0 = rte_mempool_avail_count(f.mp);

	dp_tcp_cfg_defaults(&cfg);
	cfg.local_ip = LIP;
	cfg.max_conns = 16;
	cfg.syn_backlog = 2;
	cfg.ooo_max_bytes = 8000;
	cfg.rcv_wnd = 16384;
	cfg.snd_buf_max = 32768;
	cfg.snd_refs_max = 16;
	cfg.time_wait_ms = 100;
	cfg.keepalive_ms = 2000;
	cfg.keepalive_intvl_ms = 300;
	cfg.idle_timeout_ms = 20000;
	cfg.secret_seed = 7;
	cfg.cc = size & 1;
	f.st = dp_tcp_stack_create(&cfg, SOCKET_ID_ANY, f.mp, &ops);
	if (!f.st)
		abort();
	dp_tcp_listen(f.st, 7, &app, NULL);
	dp_tcp_listen(f.st, 80, &app, NULL);
	while (size >= 3) {
		uint8_t ctl = data[0];
		uint32_t len = ((uint32_t)data[1] << 8) | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = (uint32_t)size;
		now += (uint64_t)(ctl >> 3) * 37000;
		dp_tcp_timers(f.st, now);
		feed_one(&f, data, len, ctl, now);
		data += len;
		size -= len;
	}
	/* Let every timer run out: retransmissions, keepalives, TIME_WAIT. */
	for (int i = 0; i < 40; i++) {
		now += 3000000;
		dp_tcp_timers(f.st, now);
	}
	dp_tcp_stack_destroy(f.st);
	if (rte_mempool_avail_count(f.mp) != avail0) {
		fprintf(stderr, "mbuf leak: %u -> %u\n", avail0, rte_mempool_avail_count(f.mp));
		abort();
	}
	return 0;
}
