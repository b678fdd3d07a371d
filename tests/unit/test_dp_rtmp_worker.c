/* RTMP fan-out at worker level: real workers (dp_worker_iterate) on a
 * ring-backed ethdev, their TCP stack and RTMP service, and the main lcore's
 * control-plane relay (dp_cpipc) on a real SOCK_SEQPACKET socket. The test
 * plays both the clients (a small TCP + RTMP client speaking through the
 * ring) and the control plane (the other end of the socket).
 *
 * Checked byte by byte: handshake bytes relayed both ways, HANDOVER with
 * bytes held past C2, commands as SESSION_MSG, publisher ingest, archive
 * copies, two viewers receiving identical canonical bytes that start with
 * metadata + sequence headers + keyframe, a slow viewer skipping to the
 * newest keyframe, republish in grace continuing the stream clock, a lost
 * entry (pool empty) turning into a skip, malformed commands counted, rings
 * full on both sides without anybody spinning, per-stream stats snapshots,
 * and two workers (GOP snapshot sent to the viewer's worker). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "dataplane/dp_cpipc.h"
#include "dataplane/dp_net.h"
#include "dataplane/dp_port.h"
#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_stats.h"
#include "dataplane/dp_tcp.h"
#include "dataplane/dp_worker.h"
#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_chunk.h"
#include "tests/unit/util_dp_eal.h"

#define RING_DEV "net_ring_dprw0"
#define OUR_IP RTE_BE32(0xc6120002)
#define PEER_IP RTE_BE32(0xc6120001)
#define ETH_LEN 14
#define CHUNK 4096          /* the appliance's chunk size */
#define PUB_CHUNK 128       /* publishers keep the default: multi-chunk messages */
#define MSS 1400
#define NCLI 8
#define STREAM 7
#define MAXW 2
#define HS_LEN 1536

static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0xc6, 0x12, 0, 0x01 } };

/* ---- the test's TCP client ---- */

struct tcli {
	int used;
	uint16_t port;
	uint32_t snd_nxt, rcv_nxt;
	uint16_t wnd;
	int est, rst, fin;
	uint8_t *rx;
	size_t rxlen, rxcap;
	size_t rd_off;          /* RTMP parsing position in rx */
	uint64_t sid;           /* session id the control plane saw */
	struct rtmp_chunk_writer wr;
};

/* A whole message the control plane received. */
struct cpm {
	struct dp_ipc_hdr h;
	uint8_t *p;
};

struct fx {
	uint16_t port;
	struct rte_ring *rings[MAXW];
	struct rte_ether_addr mac;
	struct dp_app *app;
	struct dp_cpipc *cp;
	char path[108];
	int cfd;
	struct dp_ipc_reasm reasm;
	struct cpm *msgs;
	size_t nmsgs, capmsgs;
	struct rte_mbuf *inq[4096]; /* client frames waiting for ring 0 */
	unsigned inq_n;
	struct tcli cli[NCLI];
	uint32_t chunk;             /* the appliance's chunk size */
};

/* ---- ring port ---- */

static int ring_port(struct fx *f, unsigned nw)
{
	if (rte_eth_dev_get_port_by_name(RING_DEV, &f->port) != 0 && rte_dev_probe(RING_DEV) != 0)
		return -1;
	if (rte_eth_dev_get_port_by_name(RING_DEV, &f->port) != 0)
		return -1;
	for (unsigned i = 0; i < nw; i++) {
		char name[64];

		snprintf(name, sizeof(name), "ETH_RXTX%u_%s", i, RING_DEV);
		f->rings[i] = rte_ring_lookup(name);
		if (!f->rings[i])
			return -1;
	}
	return 0;
}

/* ---- frames ---- */

static void client_frame(struct fx *f, struct tcli *c, uint8_t flags, const uint8_t *data,
			 uint16_t dlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(util_dp_pool());
	uint8_t *b;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	b = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(ETH_LEN + 40 + dlen));
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	eh = (struct rte_ether_hdr *)b;
	ip = (struct rte_ipv4_hdr *)(b + ETH_LEN);
	th = (struct rte_tcp_hdr *)(ip + 1);
	eh->dst_addr = f->mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, 40);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(40 + dlen));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = PEER_IP;
	ip->dst_addr = OUR_IP;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = rte_cpu_to_be_16(c->port);
	th->dst_port = rte_cpu_to_be_16(1935);
	th->sent_seq = rte_cpu_to_be_32(c->snd_nxt);
	th->recv_ack = rte_cpu_to_be_32(c->rcv_nxt);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(c->wnd);
	if (dlen)
		memcpy(th + 1, data, dlen);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	CU_ASSERT_FATAL(f->inq_n < sizeof(f->inq) / sizeof(f->inq[0]));
	f->inq[f->inq_n++] = m;
}

static void rx_append(struct tcli *c, const uint8_t *p, size_t n)
{
	if (c->rxlen + n > c->rxcap) {
		size_t cap = c->rxcap ? c->rxcap : 65536;

		while (cap < c->rxlen + n)
			cap *= 2;
		c->rx = realloc(c->rx, cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c->rx);
		c->rxcap = cap;
	}
	memcpy(c->rx + c->rxlen, p, n);
	c->rxlen += n;
}

/* A frame the appliance sent: feed it to the client it is for. */
static void server_frame(struct fx *f, struct rte_mbuf *m)
{
	uint8_t buf[2048];
	const size_t cap = sizeof(buf);
	const uint8_t *p;
	const struct rte_ipv4_hdr *ip;
	const struct rte_tcp_hdr *th;
	struct tcli *c = NULL;
	uint32_t len = rte_pktmbuf_pkt_len(m), seq, thl, dlen;
	uint16_t dport;

	if (len > cap || len < ETH_LEN + 40)
		goto out;
	p = rte_pktmbuf_read(m, 0, len, buf);
	ip = (const struct rte_ipv4_hdr *)(p + ETH_LEN);
	if (((const struct rte_ether_hdr *)p)->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != IPPROTO_TCP)
		goto out;
	th = (const struct rte_tcp_hdr *)(ip + 1);
	dport = rte_be_to_cpu_16(th->dst_port);
	for (int i = 0; i < NCLI; i++)
		if (f->cli[i].used && f->cli[i].port == dport)
			c = &f->cli[i];
	if (!c)
		goto out;
	thl = (th->data_off >> 4) * 4u;
	seq = rte_be_to_cpu_32(th->sent_seq);
	dlen = rte_be_to_cpu_16(ip->total_length) - 20 - thl;
	if (th->tcp_flags & RTE_TCP_RST_FLAG) {
		c->rst = 1;
		goto out;
	}
	if ((th->tcp_flags & RTE_TCP_SYN_FLAG) && !c->est) {
		c->rcv_nxt = seq + 1;
		c->est = 1;
		client_frame(f, c, RTE_TCP_ACK_FLAG, NULL, 0);
		goto out;
	}
	/* in order only: the ring loses nothing, retransmissions are old */
	if (dlen && seq == c->rcv_nxt && c->wnd) {
		rx_append(c, (const uint8_t *)th + thl, dlen);
		c->rcv_nxt += dlen;
	}
	if ((th->tcp_flags & RTE_TCP_FIN_FLAG) && seq + dlen == c->rcv_nxt) {
		c->rcv_nxt++;
		c->fin = 1;
	}
	if (dlen || (th->tcp_flags & RTE_TCP_FIN_FLAG))
		client_frame(f, c, RTE_TCP_ACK_FLAG, NULL, 0);
out:
	rte_pktmbuf_free(m);
}

/* ---- the control plane's end of the socket ---- */

static void cp_read(struct fx *f)
{
	static uint8_t buf[DP_IPC_FRAG_MAX];

	for (;;) {
		ssize_t n = recv(f->cfd, buf, sizeof(buf), MSG_DONTWAIT);
		struct dp_ipc_hdr h, whole;
		const uint8_t *p = NULL;
		size_t plen = 0;

		if (n <= 0)
			return;
		CU_ASSERT_EQUAL_FATAL(dp_ipc_hdr_parse(buf, (size_t)n, &h), 0);
		int rc = dp_ipc_reasm_push(&f->reasm, &h, buf + DP_IPC_HDR_LEN, &whole, &p, &plen);
		CU_ASSERT_FATAL(rc >= 0);
		if (rc == 0)
			continue;
		if (f->nmsgs == f->capmsgs) {
			f->capmsgs = f->capmsgs ? f->capmsgs * 2 : 256;
			f->msgs = realloc(f->msgs, f->capmsgs * sizeof(*f->msgs));
			CU_ASSERT_PTR_NOT_NULL_FATAL(f->msgs);
		}
		f->msgs[f->nmsgs].h = whole;
		f->msgs[f->nmsgs].p = malloc(plen + 1);
		memcpy(f->msgs[f->nmsgs].p, p, plen);
		f->nmsgs++;
	}
}

static void cp_send(struct fx *f, uint16_t type, uint64_t sess, uint64_t stream, const void *p,
		    uint32_t len)
{
	uint8_t b[DP_IPC_FRAG_MAX];
	struct dp_ipc_hdr h;

	CU_ASSERT_FATAL(len + DP_IPC_HDR_LEN <= sizeof(b));
	dp_ipc_hdr_init(&h, type, sess, stream, len);
	memcpy(b, &h, sizeof(h));
	if (len)
		memcpy(b + sizeof(h), p, len);
	CU_ASSERT_EQUAL_FATAL(send(f->cfd, b, sizeof(h) + len, 0), (ssize_t)(sizeof(h) + len));
}

/* Remove and return the first message of type (and session when non-zero);
 * the caller frees ->p. Returns 0 when found. */
static int cp_take(struct fx *f, uint16_t type, uint64_t sess, struct cpm *out)
{
	for (size_t i = 0; i < f->nmsgs; i++) {
		if (f->msgs[i].h.type != type || (sess && f->msgs[i].h.session != sess))
			continue;
		*out = f->msgs[i];
		memmove(f->msgs + i, f->msgs + i + 1, (f->nmsgs - i - 1) * sizeof(*f->msgs));
		f->nmsgs--;
		return 0;
	}
	return -1;
}

static size_t cp_count(const struct fx *f, uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < f->nmsgs; i++)
		n += f->msgs[i].h.type == type;
	return n;
}

static void cp_drop_all(struct fx *f)
{
	for (size_t i = 0; i < f->nmsgs; i++)
		free(f->msgs[i].p);
	f->nmsgs = 0;
}

/* ---- pumping ---- */

static void drain_ring(struct fx *f, unsigned i)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(f->rings[i], (void **)&m) == 0)
		server_frame(f, m);
}

/* One round: main lcore, then each worker (ring 0 gets at most one RX
 * burst of client frames right before worker 0 polls, so what the ring
 * holds afterwards is only what the workers sent), then the socket. */
static void pump_main(struct fx *f, int run_main)
{
	if (run_main)
		dp_cpipc_run(f->cp);
	for (unsigned w = 0; w < f->app->nb_workers; w++) {
		if (w == 0 && f->inq_n) {
			unsigned n = f->inq_n < DP_BURST ? f->inq_n : DP_BURST;

			CU_ASSERT_EQUAL_FATAL(rte_ring_enqueue_bulk(f->rings[0], (void **)f->inq, n, NULL), n);
			memmove(f->inq, f->inq + n, (f->inq_n - n) * sizeof(f->inq[0]));
			f->inq_n -= n;
		}
		dp_worker_iterate(f->app->workers[w]);
		for (unsigned k = 0; k < f->app->nb_workers; k++)
			drain_ring(f, k);
	}
	if (run_main)
		dp_cpipc_run(f->cp);
	cp_read(f);
}

static void pump(struct fx *f, int rounds)
{
	for (int i = 0; i < rounds; i++)
		pump_main(f, 1);
}

/* Pump until cond or a bound; the bound makes a broken path a failure,
 * never a hang. */
#define PUMP_UNTIL(f, cond) \
	do { \
		for (int _i = 0; _i < 3000 && !(cond); _i++) { \
			pump(f, 1); \
			if (_i > 200) \
				rte_delay_us_sleep(100); \
		} \
	} while (0)

/* ---- fixture ---- */

/* The peer asks for our MAC first, as a real client does: the worker
 * learns the peer's MAC from it. */
static void arp_request(struct fx *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(util_dp_pool());
	uint8_t b[60] = { 0 };
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(b + ETH_LEN);
	char *dst;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
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
	ah->arp_data.arp_tip = OUR_IP;
	dst = rte_pktmbuf_append(m, sizeof(b));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
	memcpy(dst, b, sizeof(b));
	f->inq[f->inq_n++] = m;
}

static int fx_init_chunk(struct fx *f, unsigned nw, uint32_t chunk)
{
	char msg[256];
	struct sockaddr_un sa;
	struct rte_mempool *pools[MAXW];

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->chunk = chunk;
	if (ring_port(f, nw) != 0)
		return -1;
	rte_eth_macaddr_get(f->port, &f->mac);
	f->app = calloc(1, sizeof(*f->app));
	if (!f->app || dp_conf_load(NULL, &f->app->conf, msg, sizeof(msg)) != 0)
		return -1;
	f->app->conf.mbufs = 2047;
	f->app->conf.hdr_mbufs = 4095;
	f->app->conf.tcp_max_conns = 64;
	f->app->conf.ring_size = 256;
	f->app->conf.rtmp_ring_size = 64;     /* small: rings fill in the tests */
	f->app->conf.tcp_snd_buf = 16384;
	f->app->conf.rtmp_skip_backlog = 16384;
	f->app->conf.idle_mode = DP_IDLE_POLL;
	f->app->port = f->port;
	f->app->exc_port = DP_PORT_NONE;
	f->app->nb_workers = (uint16_t)nw;
	f->app->nb_rxq = 1;
	f->app->tsc_per_us = rte_get_tsc_hz() / 1000000;
	f->app->rtmp = dp_rtmp_shared_create(chunk);
	if (!f->app->rtmp)
		return -1;
	for (unsigned w = 0; w < nw; w++) {
		f->app->workers[w] = dp_worker_create(f->app, (uint16_t)w, rte_lcore_id(), &f->mac,
						      msg, sizeof(msg));
		if (!f->app->workers[w]) {
			fprintf(stderr, "worker: %s\n", msg);
			return -1;
		}
		pools[w] = f->app->workers[w]->pool;
	}
	if (dp_port_start(f->port, 1, (uint16_t)nw, pools, 256, 256, 0, 0, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "port: %s\n", msg);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "/tmp/lc-unit-cp-%d.sock", (int)getpid());
	f->cp = dp_cpipc_open(f->app, f->path);
	if (!f->cp)
		return -1;
	f->cfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, f->path, strlen(f->path));
	if (f->cfd < 0 || connect(f->cfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	dp_ipc_reasm_init(&f->reasm, 0);
	arp_request(f);
	pump_main(f, 0);
	return 0;
}

static int fx_init(struct fx *f, unsigned nw)
{
	return fx_init_chunk(f, nw, CHUNK);
}

static void fx_fini(struct fx *f)
{
	for (unsigned w = 0; w < f->app->nb_workers; w++)
		dp_worker_stop(f->app->workers[w]);
	for (unsigned w = 0; w < f->app->nb_workers; w++)
		drain_ring(f, w);
	for (unsigned i = 0; i < f->inq_n; i++)
		rte_pktmbuf_free(f->inq[i]);
	f->inq_n = 0;
	close(f->cfd);
	dp_cpipc_close(f->cp); /* queued archive copies hold entry references */
	for (unsigned w = 0; w < f->app->nb_workers; w++)
		dp_rtmp_release(f->app->workers[w]->rtmp);
	for (unsigned w = 0; w < f->app->nb_workers; w++) {
		struct dp_worker *wk = f->app->workers[w];

		char name[32];
		struct rte_mempool *ep;

		snprintf(name, sizeof(name), "dp_ent%u", w);
		ep = rte_mempool_lookup(name);
		CU_ASSERT(ep && rte_mempool_in_use_count(ep) == 0);
		dp_rtmp_free(wk->rtmp);
		wk->rtmp = NULL;
		CU_ASSERT_EQUAL(rte_mempool_in_use_count(wk->pool), 0);
		CU_ASSERT_EQUAL(rte_mempool_in_use_count(wk->hdr_pool), 0);

	}
	rte_eth_dev_stop(f->port);
	for (unsigned w = 0; w < f->app->nb_workers; w++)
		dp_worker_free(f->app->workers[w]);
	dp_rtmp_shared_free(f->app->rtmp);
	free(f->app);
	cp_drop_all(f);
	free(f->msgs);
	dp_ipc_reasm_fini(&f->reasm);
	for (int i = 0; i < NCLI; i++)
		free(f->cli[i].rx);
}

/* HELLO -> HELLO_ACK + RESYNC_DONE. */
static void cp_hello(struct fx *f)
{
	struct dp_ipc_hello he = { DP_IPC_VERSION, (uint32_t)getpid() };
	struct dp_ipc_hello_ack ack;
	struct cpm m;

	cp_send(f, DP_IPC_HELLO, 0, 0, &he, sizeof(he));
	PUMP_UNTIL(f, cp_count(f, DP_IPC_RESYNC_DONE) == 1);
	CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_HELLO_ACK, 0, &m), 0);
	CU_ASSERT_EQUAL(m.h.len, sizeof(ack));
	memcpy(&ack, m.p, sizeof(ack));
	CU_ASSERT_EQUAL(ack.workers, f->app->nb_workers);
	CU_ASSERT_EQUAL(ack.chunk_size, f->chunk);
	free(m.p);
	CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_RESYNC_DONE, 0, &m), 0);
	free(m.p);
	CU_ASSERT(dp_cpipc_connected(f->cp));
}

/* ---- clients ---- */

/* A client port whose flow the software hash gives to worker w. */
static uint16_t port_for(struct fx *f, uint16_t w, uint16_t from)
{
	for (uint16_t p = from;; p++)
		if (dp_net_flow_worker(PEER_IP, OUR_IP, p, 1935, f->app->nb_workers) == w)
			return p;
}

static struct tcli *cli_connect(struct fx *f, uint16_t port)
{
	struct tcli *c = NULL;

	for (int i = 0; i < NCLI && !c; i++)
		if (!f->cli[i].used)
			c = &f->cli[i];
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	free(c->rx);
	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->port = port;
	c->snd_nxt = 1000u * port;
	c->wnd = 65535;
	rtmp_chunk_writer_init(&c->wr, PUB_CHUNK);
	client_frame(f, c, RTE_TCP_SYN_FLAG, NULL, 0);
	c->snd_nxt++;
	PUMP_UNTIL(f, c->est);
	CU_ASSERT_FATAL(c->est);
	return c;
}

static void cli_send(struct fx *f, struct tcli *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		uint16_t k = n < MSS ? (uint16_t)n : MSS;

		client_frame(f, c, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, p, k);
		c->snd_nxt += k;
		p += k;
		n -= k;
		if (f->inq_n >= 64)
			pump(f, 2);
	}
}

/* Send one RTMP message chunked at the publisher's chunk size. */
static void cli_msg(struct fx *f, struct tcli *c, uint8_t type, uint32_t ts, uint32_t csid,
		    const uint8_t *p, uint32_t len)
{
	struct rtmp_msg m = { ts, len, 1, csid, type, p };
	size_t cap = rtmp_chunk_write_size(&c->wr, &m);
	uint8_t *b = malloc(cap);

	CU_ASSERT_EQUAL_FATAL(rtmp_chunk_write(&c->wr, &m, b, cap), (ssize_t)cap);
	cli_send(f, c, b, cap);
	free(b);
}

static void pattern(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

/* Full session set-up through the control plane: SESSION_OPEN, C0C1 relayed,
 * S0S1S2 sent back, C2 relayed while `after` (bytes past C2) is held, then
 * HANDOVER. Returns the client with c->sid set. */
static struct tcli *session(struct fx *f, uint16_t port, const uint8_t *after, size_t alen)
{
	static uint8_t c01[1 + HS_LEN], s012[1 + 2 * HS_LEN], c2[HS_LEN + 512];
	struct dp_ipc_session_open o;
	struct dp_ipc_handover ho;
	struct tcli *c = cli_connect(f, port);
	struct cpm m;
	uint8_t got[1 + 2 * HS_LEN];
	size_t have = 0;

	PUMP_UNTIL(f, cp_count(f, DP_IPC_SESSION_OPEN) > 0);
	CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_SESSION_OPEN, 0, &m), 0);
	memcpy(&o, m.p, sizeof(o));
	free(m.p);
	CU_ASSERT_EQUAL(o.peer_port, port);
	CU_ASSERT_EQUAL(o.peer_ip, PEER_IP);
	CU_ASSERT_EQUAL(o.local_port, 1935);
	CU_ASSERT_EQUAL(o.worker, dp_ipc_session_worker(m.h.session));
	CU_ASSERT_EQUAL(o.worker, dp_net_flow_worker(PEER_IP, OUR_IP, port, 1935,
						      f->app->nb_workers));
	c->sid = m.h.session;
	/* C0 + C1: relayed as SESSION_DATA, byte for byte */
	c01[0] = 3;
	pattern(c01 + 1, HS_LEN, (uint8_t)port);
	cli_send(f, c, c01, sizeof(c01));
	while (have < sizeof(c01)) {
		PUMP_UNTIL(f, cp_count(f, DP_IPC_SESSION_DATA) > 0);
		CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_SESSION_DATA, c->sid, &m), 0);
		CU_ASSERT_FATAL(have + m.h.len <= sizeof(got));
		memcpy(got + have, m.p, m.h.len);
		have += m.h.len;
		free(m.p);
	}
	CU_ASSERT_EQUAL(memcmp(got, c01, sizeof(c01)), 0);
	/* S0 S1 S2 from the control plane reach the client unchanged */
	s012[0] = 3;
	pattern(s012 + 1, 2 * HS_LEN, 0x5a);
	cp_send(f, DP_IPC_SESSION_DATA, c->sid, 0, s012, sizeof(s012));
	PUMP_UNTIL(f, c->rxlen >= sizeof(s012));
	CU_ASSERT_EQUAL_FATAL(c->rxlen, sizeof(s012));
	CU_ASSERT_EQUAL(memcmp(c->rx, s012, sizeof(s012)), 0);
	c->rd_off = c->rxlen;
	/* C2 and what follows in the same segment: only C2 is relayed */
	pattern(c2, HS_LEN, 0x33);
	CU_ASSERT_FATAL(alen <= sizeof(c2) - HS_LEN);
	if (alen)
		memcpy(c2 + HS_LEN, after, alen);
	cli_send(f, c, c2, HS_LEN + alen);
	have = 0;
	while (have < HS_LEN) {
		PUMP_UNTIL(f, cp_count(f, DP_IPC_SESSION_DATA) > 0);
		CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_SESSION_DATA, c->sid, &m), 0);
		CU_ASSERT(memcmp(m.p, c2 + have, m.h.len) == 0);
		have += m.h.len;
		free(m.p);
	}
	CU_ASSERT_EQUAL(have, HS_LEN);
	pump(f, 3);
	CU_ASSERT_EQUAL(cp_count(f, DP_IPC_SESSION_DATA), 0); /* held, not relayed */
	memset(&ho, 0, sizeof(ho));
	ho.in_chunk_size = PUB_CHUNK;
	ho.out_chunk_size = 128;
	ho.bytes_in = 1 + 2 * HS_LEN;
	ho.bytes_out = 1 + 2 * HS_LEN;
	cp_send(f, DP_IPC_SESSION_HANDOVER, c->sid, 0, &ho, sizeof(ho));
	pump(f, 3);
	return c;
}

/* ---- RTMP parsing of what a client received ---- */

struct rmsg {
	uint8_t type;
	uint32_t ts, len, csid, msid;
	uint8_t *p;
	size_t off, end;        /* byte range in the client's rx */
};

/* Parse everything from c->rd_off; returns the number of messages. The
 * reader state is per client call chain, so callers parse once. */
static int parse_all(struct tcli *c, struct rtmp_chunk_reader *rd, struct rmsg *out, int max)
{
	int n = 0;

	while (c->rd_off < c->rxlen && n < max) {
		struct rtmp_msg m;
		size_t used;
		size_t start = c->rd_off;
		int rc = rtmp_chunk_read(rd, c->rx + c->rd_off, c->rxlen - c->rd_off, &m, &used);

		CU_ASSERT_FATAL(rc >= 0);
		c->rd_off += used;
		if (rc == 0)
			break;
		out[n] = (struct rmsg){ m.type, m.timestamp, m.length, m.csid, m.msid, NULL,
					start, c->rd_off };
		out[n].p = malloc(m.length + 1);
		if (m.length)
			memcpy(out[n].p, m.data, m.length);
		n++;
	}
	return n;
}

static void rmsg_free(struct rmsg *m, int n)
{
	for (int i = 0; i < n; i++)
		free(m[i].p);
}

/* ---- media the publisher sends ---- */

#define META_LEN 60
static void make_meta(uint8_t *b, size_t *len, size_t *strip)
{
	size_t o = 0;
	const char *k = "width";
	double w = 640.0;
	uint64_t bits;

	b[o++] = 0x02; b[o++] = 0; b[o++] = 13;
	memcpy(b + o, "@setDataFrame", 13); o += 13;
	*strip = o;
	b[o++] = 0x02; b[o++] = 0; b[o++] = 10;
	memcpy(b + o, "onMetaData", 10); o += 10;
	b[o++] = 0x08; b[o++] = 0; b[o++] = 0; b[o++] = 0; b[o++] = 1;
	b[o++] = 0; b[o++] = 5;
	memcpy(b + o, k, 5); o += 5;
	b[o++] = 0x00;
	memcpy(&bits, &w, 8);
	for (int i = 7; i >= 0; i--)
		b[o++] = (uint8_t)(bits >> (8 * i));
	b[o++] = 0; b[o++] = 0; b[o++] = 9;
	*len = o;
}

/* Video: AVC, keyframe or inter; sizes chosen to span several chunks. */
static size_t make_video(uint8_t *b, int key, int seqhdr, size_t len, uint8_t seed)
{
	pattern(b, len, seed);
	b[0] = key || seqhdr ? 0x17 : 0x27;
	b[1] = seqhdr ? 0 : 1;
	b[2] = b[3] = b[4] = 0;
	return len;
}

static size_t make_audio(uint8_t *b, int seqhdr, size_t len, uint8_t seed)
{
	pattern(b, len, seed);
	b[0] = 0xAF;
	b[1] = seqhdr ? 0 : 1;
	return len;
}

/* What a published message looks like to viewers. */
struct pub {
	uint8_t type;
	uint32_t ts;           /* stream clock */
	uint32_t len;
	uint8_t *p;            /* stored payload */
	int key;
};

struct plog {
	struct pub m[256];
	int n;
};

static void publish_msg(struct fx *f, struct tcli *c, struct plog *pl, uint8_t type,
			uint32_t ts, uint32_t clock, const uint8_t *p, uint32_t len, uint32_t skip,
			int key)
{
	cli_msg(f, c, type, ts, type == 9 ? 6 : type == 8 ? 4 : 5, p, len);
	if (!pl)
		return;
	CU_ASSERT_FATAL(pl->n < 256);
	pl->m[pl->n] = (struct pub){ type, clock, len - skip, malloc(len), key };
	memcpy(pl->m[pl->n].p, p + skip, len - skip);
	pl->n++;
}

static void plog_free(struct plog *pl)
{
	for (int i = 0; i < pl->n; i++)
		free(pl->m[i].p);
	pl->n = 0;
}

/* The preamble and one GOP: metadata, AVC + AAC sequence headers, a
 * keyframe, then inter frames with audio in between. */
static void publish_gop(struct fx *f, struct tcli *c, struct plog *pl, uint32_t ts0,
			uint32_t clock0, int preamble, int frames, uint8_t seed)
{
	static uint8_t b[16384];
	size_t len, strip;

	if (preamble) {
		make_meta(b, &len, &strip);
		publish_msg(f, c, pl, 18, ts0, clock0, b, (uint32_t)len, (uint32_t)strip, 0);
		len = make_video(b, 0, 1, 40, seed);
		publish_msg(f, c, pl, 9, ts0, clock0, b, (uint32_t)len, 0, 0);
		len = make_audio(b, 1, 4, seed);
		publish_msg(f, c, pl, 8, ts0, clock0, b, (uint32_t)len, 0, 0);
	}
	len = make_video(b, 1, 0, 9000, seed);
	publish_msg(f, c, pl, 9, ts0, clock0, b, (uint32_t)len, 0, 1);
	for (int i = 1; i <= frames; i++) {
		len = make_audio(b, 0, 90, (uint8_t)(seed + i));
		publish_msg(f, c, pl, 8, ts0 + 40u * i - 10, clock0 + 40u * i - 10, b,
			    (uint32_t)len, 0, 0);
		len = make_video(b, 0, 0, 1500 + 100 * i, (uint8_t)(seed + i));
		publish_msg(f, c, pl, 9, ts0 + 40u * i, clock0 + 40u * i, b, (uint32_t)len, 0, 0);
	}
	pump(f, 4);
}

/* Canonical bytes of a published message, as the rtmp library writes them. */
static size_t canon(const struct pub *p, uint8_t *out, size_t cap)
{
	struct rtmp_msg m = { p->ts, p->len, 1, 0, p->type, p->p };
	ssize_t n = rtmp_chunk_write_canonical(&m, CHUNK, out, cap);

	CU_ASSERT_FATAL(n > 0);
	return (size_t)n;
}

/* Check that msgs[0..] equal published messages pl[from..from+n) exactly:
 * type, timestamp, payload, and canonical bytes on the wire. */
static void expect_msgs(const struct tcli *c, const struct rmsg *got, const struct plog *pl,
			int from, int n)
{
	static uint8_t buf[65536];

	for (int i = 0; i < n; i++) {
		const struct pub *p = &pl->m[from + i];
		size_t cl = canon(p, buf, sizeof(buf));

		CU_ASSERT_EQUAL(got[i].type, p->type);
		CU_ASSERT_EQUAL(got[i].ts, p->ts);
		CU_ASSERT_EQUAL(got[i].msid, 1);
		CU_ASSERT_EQUAL_FATAL(got[i].len, p->len);
		CU_ASSERT(memcmp(got[i].p, p->p, p->len) == 0);
		CU_ASSERT_EQUAL(got[i].end - got[i].off, cl);
		CU_ASSERT(memcmp(c->rx + got[i].off, buf, cl) == 0);
	}
}

static void attach(struct fx *f, struct tcli *c)
{
	struct dp_ipc_attach at = { 1, 0 };

	cp_send(f, DP_IPC_SESSION_ATTACH, c->sid, STREAM, &at, sizeof(at));
	pump(f, 6);
}

static void publish_cmd(struct fx *f, struct tcli *c)
{
	struct dp_ipc_publish pb;
	struct cpm m;
	struct dp_ipc_stream_state st;

	memset(&pb, 0, sizeof(pb));
	dp_ipc_str_set(pb.app, sizeof(pb.app), "test");
	dp_ipc_str_set(pb.name, sizeof(pb.name), "x");
	pb.msid = 1;
	cp_send(f, DP_IPC_SESSION_PUBLISH, c->sid, STREAM, &pb, sizeof(pb));
	PUMP_UNTIL(f, cp_count(f, DP_IPC_STREAM_STATE) > 0);
	CU_ASSERT_EQUAL_FATAL(cp_take(f, DP_IPC_STREAM_STATE, 0, &m), 0);
	memcpy(&st, m.p, sizeof(st));
	CU_ASSERT_EQUAL(st.state, DP_IPC_STREAM_LIVE);
	CU_ASSERT_EQUAL(st.publisher, c->sid);
	CU_ASSERT_EQUAL(m.h.stream, STREAM);
	free(m.p);
}

static uint64_t wst(struct fx *f, unsigned w, size_t off)
{
	return ((const uint64_t *)dp_rtmp_stats(f->app->workers[w]->rtmp))[off / sizeof(uint64_t)];
}
#define ST(f, w, field) wst(f, w, offsetof(struct dp_rtmp_stats, field))

/* ---- tests ---- */

struct stream_seen {
	int n;
	uint64_t stream, entries;
	uint32_t viewers;
	int publishing;
};

static void seen_stream(void *arg, const struct dp_rtmp_stream_stats *s)
{
	struct stream_seen *x = arg;

	x->n++;
	x->stream = s->stream;
	x->viewers = s->viewers;
	x->entries = s->entries;
	x->publishing = s->publishing;
}

/* The main scenario on one worker. */
static void test_one_worker(void)
{
	static struct plog pl;
	struct fx f;
	struct rtmp_chunk_reader rd1, rd2;
	static struct rmsg g1[300], g2[300];
	struct tcli *pub, *v1, *v2;
	uint8_t cmd[32];
	struct cpm m;
	struct dp_ipc_msg im;
	int n1, n2;

	CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
	cp_hello(&f);
	/* a command in the same segment as C2: held until HANDOVER, then
	 * forwarded as one SESSION_MSG */
	struct rtmp_chunk_writer wr;
	uint8_t after[256];
	pattern(cmd, sizeof(cmd), 9);
	cmd[0] = 0x02; /* AMF0 string marker: opaque to the dataplane */
	struct rtmp_msg cm = { 0, sizeof(cmd), 0, 3, 20, cmd };
	rtmp_chunk_writer_init(&wr, PUB_CHUNK);
	ssize_t alen = rtmp_chunk_write(&wr, &cm, after, sizeof(after));
	CU_ASSERT_FATAL(alen > 0);
	pub = session(&f, 40000, after, (size_t)alen);
	pub->wr = wr; /* the client's writer state continues */
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_SESSION_MSG) > 0);
	CU_ASSERT_EQUAL_FATAL(cp_take(&f, DP_IPC_SESSION_MSG, pub->sid, &m), 0);
	CU_ASSERT_EQUAL(m.h.len, sizeof(im) + sizeof(cmd));
	memcpy(&im, m.p, sizeof(im));
	CU_ASSERT_EQUAL(im.type, 20);
	CU_ASSERT_EQUAL(im.csid, 3);
	CU_ASSERT(memcmp(m.p + sizeof(im), cmd, sizeof(cmd)) == 0);
	free(m.p);
	CU_ASSERT_EQUAL(ST(&f, 0, handovers), 1);

	publish_cmd(&f, pub);
	publish_gop(&f, pub, &pl, 1000, 1000, 1, 3, 1);
	CU_ASSERT_EQUAL(ST(&f, 0, ingest_msgs), (uint64_t)pl.n);
	/* an archive copy of every message, payload intact */
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_ARCHIVE_MSG) >= (size_t)pl.n);
	for (int i = 0; i < pl.n; i++) {
		struct dp_ipc_archive ar;

		CU_ASSERT_EQUAL_FATAL(cp_take(&f, DP_IPC_ARCHIVE_MSG, 0, &m), 0);
		memcpy(&ar, m.p, sizeof(ar));
		CU_ASSERT_EQUAL(m.h.stream, STREAM);
		CU_ASSERT_EQUAL(ar.type, pl.m[i].type);
		CU_ASSERT_EQUAL(ar.timestamp, pl.m[i].ts);
		CU_ASSERT_EQUAL(!!(ar.flags & DP_IPC_AR_KEYFRAME), pl.m[i].key);
		CU_ASSERT_EQUAL_FATAL(m.h.len, sizeof(ar) + pl.m[i].len);
		CU_ASSERT(memcmp(m.p + sizeof(ar), pl.m[i].p, pl.m[i].len) == 0);
		free(m.p);
	}
	/* payload written once: every ingested byte copied exactly once */
	CU_ASSERT_EQUAL(ST(&f, 0, payload_bytes_copied), ST(&f, 0, ingest_bytes));

	/* two viewers join mid-GOP */
	v1 = session(&f, 40001, NULL, 0);
	v2 = session(&f, 40002, NULL, 0);
	attach(&f, v1);
	attach(&f, v2);
	/* live: a second GOP after more inter frames */
	int live_from = pl.n;
	publish_gop(&f, pub, &pl, 1200, 1200, 0, 4, 2);
	PUMP_UNTIL(&f, v1->rxlen > 60000 && v2->rxlen == v1->rxlen);
	pump(&f, 20);

	rtmp_chunk_reader_init(&rd1, NULL, NULL, 128);
	rtmp_chunk_reader_init(&rd2, NULL, NULL, 128);
	n1 = parse_all(v1, &rd1, g1, 300);
	n2 = parse_all(v2, &rd2, g2, 300);
	/* both viewers got the very same bytes */
	CU_ASSERT_EQUAL(v1->rxlen, v2->rxlen);
	CU_ASSERT(memcmp(v1->rx, v2->rx, v1->rxlen) == 0);
	CU_ASSERT_EQUAL(n1, n2);
	/* Set Chunk Size to ours, then metadata, AVC and AAC sequence headers,
	 * the GOP from the keyframe, then live: in canonical form */
	CU_ASSERT_FATAL(n1 >= 1 + 3 + 7 + (pl.n - live_from));
	CU_ASSERT_EQUAL(g1[0].type, 1);
	CU_ASSERT_EQUAL(g1[0].len, 4);
	CU_ASSERT_EQUAL(rtmp_be32(g1[0].p), CHUNK);
	expect_msgs(v1, g1 + 1, &pl, 0, 3);          /* preamble */
	expect_msgs(v1, g1 + 4, &pl, 3, pl.n - 3);   /* GOP + live */
	CU_ASSERT_EQUAL(n1, 1 + pl.n);
	CU_ASSERT_EQUAL(ST(&f, 0, skips), 0);

	/* per-stream stats come from the worker's snapshot */
	struct stream_seen seen = { 0 };
	dp_rtmp_snapshot(f.app->workers[0]->rtmp);
	CU_ASSERT_EQUAL(dp_rtmp_foreach_stream(f.app->workers[0]->rtmp, seen_stream, &seen), 1);
	CU_ASSERT_EQUAL(seen.n, 1);
	CU_ASSERT_EQUAL(seen.stream, STREAM);
	CU_ASSERT_EQUAL(seen.viewers, 2);
	CU_ASSERT_EQUAL(seen.publishing, 1);
	CU_ASSERT_EQUAL(seen.entries, (uint64_t)pl.n);
	static char json[1 << 20];
	CU_ASSERT(dp_stats_json(f.app, json, sizeof(json)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"streams\":[{\"stream\":7,\"viewers\":2,"));
	/* session memory: the publisher and two viewers, each a TCP
	 * connection object plus RTMP session state */
	{
		const char *p = strstr(json, "\"mem_session_bytes\":");
		const struct dp_tcp_stack *tcp = f.app->workers[0]->tcp;

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		unsigned long long mem = strtoull(p + 20, NULL, 10);
		CU_ASSERT_EQUAL(dp_tcp_conn_count(tcp), 3);
		CU_ASSERT(mem > 3 * dp_tcp_conn_obj_bytes(tcp));
		CU_ASSERT_EQUAL(mem - 3 * dp_tcp_conn_obj_bytes(tcp),
				dp_rtmp_session_bytes(f.app->workers[0]->rtmp));
		CU_ASSERT(dp_rtmp_session_bytes(f.app->workers[0]->rtmp) % 3 == 0);
	}

	/* ---- a lost entry (pool empty) becomes a skip to the next keyframe */
	struct rte_mbuf *hog[4096];
	int nh = 0;
	struct rte_mempool *pool = f.app->workers[0]->pool;
	uint64_t skips0 = ST(&f, 0, skips);
	int before_loss = pl.n;
	static uint8_t b[16384];
	size_t len;

	pump(&f, 4);
	struct rte_mempool *epool = rte_mempool_lookup("dp_ent0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(epool);
	while (nh < 4096 && (hog[nh] = rte_pktmbuf_alloc(pool)) != NULL)
		nh++;
	static struct rte_mbuf *ehog[16384];
	int neh = 0;
	while (neh < 16384 && (ehog[neh] = rte_pktmbuf_alloc(epool)) != NULL)
		neh++;
	len = make_video(b, 0, 0, 2000, 77);
	publish_msg(&f, pub, NULL, 9, 1500, 1500, b, (uint32_t)len, 0, 0); /* lost */
	pump(&f, 4);
	for (int i = 0; i < nh; i++)
		rte_pktmbuf_free(hog[i]);
	for (int i = 0; i < neh; i++)
		rte_pktmbuf_free(ehog[i]);
	CU_ASSERT_EQUAL(ST(&f, 0, entries_lost), 1);
	len = make_video(b, 0, 0, 2000, 78);
	publish_msg(&f, pub, NULL, 9, 1540, 1540, b, (uint32_t)len, 0, 0); /* after the hole */
	publish_gop(&f, pub, &pl, 1580, 1580, 0, 1, 3);
	pump(&f, 20);
	/* each viewer skipped once, straight to the next keyframe (its
	 * decoder configuration did not change: no preamble again) */
	CU_ASSERT_EQUAL(ST(&f, 0, skips), skips0 + 2);
	if (ST(&f, 0, skips) != skips0 + 2)
		fprintf(stderr, "skips %llu -> %llu lost %llu gaps %llu\n", (unsigned long long)skips0,
			(unsigned long long)ST(&f, 0, skips), (unsigned long long)ST(&f, 0, entries_lost),
			(unsigned long long)ST(&f, 0, log_gaps));
	int k1 = parse_all(v1, &rd1, g1 + n1, 300 - n1);
	CU_ASSERT_EQUAL_FATAL(k1, pl.n - before_loss);
	expect_msgs(v1, g1 + n1, &pl, before_loss, pl.n - before_loss);
	CU_ASSERT(pl.m[before_loss].key);
	n1 += k1;
	int k2 = parse_all(v2, &rd2, g2 + n2, 300 - n2);
	CU_ASSERT_EQUAL(k2, k1);
	n2 += k2;

	/* ---- a slow viewer (window closed) skips to the newest keyframe */
	struct tcli *v3 = session(&f, 40003, NULL, 0);
	struct rtmp_chunk_reader rd3;
	static struct rmsg g3[300];
	attach(&f, v3);
	pump(&f, 10);
	rtmp_chunk_reader_init(&rd3, NULL, NULL, 128);
	int n3 = parse_all(v3, &rd3, g3, 300);
	CU_ASSERT(n3 >= 5); /* set chunk size, preamble, keyframe... */
	v3->wnd = 0;
	client_frame(&f, v3, RTE_TCP_ACK_FLAG, NULL, 0);
	pump(&f, 4);
	uint64_t sk = ST(&f, 0, skips);
	int gop_from = pl.n;
	for (int g = 0; g < 3; g++) {
		gop_from = pl.n;
		publish_gop(&f, pub, &pl, 1700 + 400u * g, 1700 + 400u * g, 0, 4, (uint8_t)(10 + g));
	}
	pump(&f, 10);
	/* the fast viewers were not held back: they have everything */
	int k = parse_all(v1, &rd1, g1 + n1, 300 - n1);
	CU_ASSERT_EQUAL(n1 + k, 1 + 3 + (pl.n - 3));
	expect_msgs(v1, g1 + n1, &pl, pl.n - k, k);
	n1 += k;
	/* window open again: v3 finishes the message it was in, then skips
	 * to the newest keyframe; it ends on the newest GOP, intact */
	v3->wnd = 65535;
	client_frame(&f, v3, RTE_TCP_ACK_FLAG, NULL, 0);
	pump(&f, 300);
	CU_ASSERT(ST(&f, 0, skips) > sk);
	CU_ASSERT(ST(&f, 0, skip_bytes) > 0);
	int more = parse_all(v3, &rd3, g3 + n3, 300 - n3);
	CU_ASSERT_FATAL(more >= pl.n - gop_from);
	CU_ASSERT(more < pl.n - n3); /* something was skipped */
	expect_msgs(v3, g3 + n3 + more - (pl.n - gop_from), &pl, gop_from, pl.n - gop_from);
	/* never backwards in time, whole messages only (the reader parsed
	 * every byte) */
	CU_ASSERT_EQUAL(v3->rd_off, v3->rxlen);
	for (int i = 2; i < n3 + more; i++)
		CU_ASSERT(g3[i].ts >= g3[i - 1].ts);

	/* ---- republish in grace: the stream clock continues */
	uint32_t last_clock = pl.m[pl.n - 1].ts;
	cp_send(&f, DP_IPC_SESSION_UNPUBLISH, pub->sid, STREAM, NULL, 0);
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_STREAM_STATE) > 0);
	CU_ASSERT_EQUAL_FATAL(cp_take(&f, DP_IPC_STREAM_STATE, 0, &m), 0);
	CU_ASSERT_EQUAL(((struct dp_ipc_stream_state *)m.p)->state, DP_IPC_STREAM_GRACE);
	free(m.p);
	struct tcli *pub2 = session(&f, 40004, NULL, 0);
	publish_cmd(&f, pub2);
	int re_from = pl.n;
	/* the new publisher starts its timestamps at 0 */
	publish_gop(&f, pub2, &pl, 0, last_clock + 1, 1, 2, 40);
	pump(&f, 20);
	k = parse_all(v1, &rd1, g1 + n1, 300 - n1);
	CU_ASSERT_EQUAL_FATAL(k, pl.n - re_from);
	expect_msgs(v1, g1 + n1, &pl, re_from, k);
	CU_ASSERT_EQUAL(g1[n1 + 3].ts, last_clock + 1); /* the keyframe */
	n1 += k;
	for (int i = 2; i < n1; i++)
		CU_ASSERT(g1[i].ts >= g1[i - 1].ts);

	/* ---- a malformed command resets the session and is counted */
	uint64_t errs = ST(&f, 0, cmd_errors);
	struct {
		struct dp_ipc_msg im;
		uint8_t v[2];
	} __attribute__((packed)) bad = { { 1, { 0 }, 0, 0, 2 }, { 0, 1 } };
	/* Set Chunk Size with a 2-byte body: well-formed IPC, bad RTMP */
	cp_send(&f, DP_IPC_SESSION_MSG, v2->sid, 0, &bad, sizeof(bad));
	PUMP_UNTIL(&f, v2->rst);
	CU_ASSERT(v2->rst);
	CU_ASSERT_EQUAL(ST(&f, 0, cmd_errors), errs + 1);
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_SESSION_CLOSE) > 0);
	if (cp_take(&f, DP_IPC_SESSION_CLOSE, v2->sid, &m) == 0)
		free(m.p);
	else
		CU_FAIL("no SESSION_CLOSE for the reset session");
	CU_ASSERT_EQUAL(ST(&f, 0, rtmp_errors), 0);

	rmsg_free(g1, n1);
	rmsg_free(g2, n2);
	rmsg_free(g3, n3 + more);
	rtmp_chunk_reader_fini(&rd1);
	rtmp_chunk_reader_fini(&rd2);
	rtmp_chunk_reader_fini(&rd3);
	plog_free(&pl);
	fx_fini(&f);
}

/* Publisher on worker 0, viewers on workers 0 and 1: the second worker gets
 * the GOP as a snapshot from the publisher's worker, then live entries over
 * its fan ring, by reference (no payload copy there). */
static void test_two_workers(void)
{
	static struct plog pl;
	static struct rmsg g0[200], g1[200];
	struct fx f;
	struct rtmp_chunk_reader rd0, rd1;
	struct tcli *pub, *v0, *v1;
	int n0, n1;

	CU_ASSERT_EQUAL_FATAL(fx_init(&f, 2), 0);
	cp_hello(&f);
	pub = session(&f, port_for(&f, 0, 41000), NULL, 0);
	publish_cmd(&f, pub);
	publish_gop(&f, pub, &pl, 0, 0, 1, 3, 5);
	v0 = session(&f, port_for(&f, 0, 41100), NULL, 0);
	v1 = session(&f, port_for(&f, 1, 41200), NULL, 0);
	CU_ASSERT_EQUAL(dp_ipc_session_worker(v1->sid), 1);
	attach(&f, v0);
	attach(&f, v1);
	pump(&f, 10);
	publish_gop(&f, pub, &pl, 200, 200, 0, 2, 6);
	PUMP_UNTIL(&f, v1->rxlen > 20000 && v0->rxlen == v1->rxlen);
	pump(&f, 20);
	rtmp_chunk_reader_init(&rd0, NULL, NULL, 128);
	rtmp_chunk_reader_init(&rd1, NULL, NULL, 128);
	n0 = parse_all(v0, &rd0, g0, 200);
	n1 = parse_all(v1, &rd1, g1, 200);
	CU_ASSERT_EQUAL(v0->rxlen, v1->rxlen);
	CU_ASSERT(memcmp(v0->rx, v1->rx, v0->rxlen) == 0);
	CU_ASSERT_EQUAL_FATAL(n1, 1 + pl.n);
	CU_ASSERT_EQUAL(g1[0].type, 1);
	expect_msgs(v1, g1 + 1, &pl, 0, pl.n);
	CU_ASSERT(ST(&f, 0, fanout_enqueued) > 0);
	CU_ASSERT(ST(&f, 1, fanout_received) > 0);
	CU_ASSERT_EQUAL(ST(&f, 0, fanout_dropped), 0);
	CU_ASSERT_EQUAL(ST(&f, 1, payload_bytes_copied), 0);
	CU_ASSERT_EQUAL(ST(&f, 1, ingest_msgs), 0);
	CU_ASSERT(ST(&f, 1, payload_bytes_sent) > 20000);
	/* worker 1 lists the stream with one viewer, not publishing */
	struct stream_seen seen = { 0 };
	dp_rtmp_snapshot(f.app->workers[1]->rtmp);
	CU_ASSERT_EQUAL(dp_rtmp_foreach_stream(f.app->workers[1]->rtmp, seen_stream, &seen), 1);
	CU_ASSERT_EQUAL(seen.viewers, 1);
	CU_ASSERT_EQUAL(seen.publishing, 0);
	/* resync lists the three sessions and the stream */
	struct dp_ipc_hello he = { DP_IPC_VERSION, 1 };
	struct cpm m;
	struct dp_ipc_resync_done d;
	cp_drop_all(&f);
	cp_send(&f, DP_IPC_HELLO, 0, 0, &he, sizeof(he));
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_RESYNC_DONE) == 1);
	CU_ASSERT_EQUAL_FATAL(cp_take(&f, DP_IPC_RESYNC_DONE, 0, &m), 0);
	memcpy(&d, m.p, sizeof(d));
	free(m.p);
	CU_ASSERT_EQUAL(d.sessions, 3);
	CU_ASSERT_EQUAL(d.streams, 1);
	CU_ASSERT_EQUAL(cp_count(&f, DP_IPC_RESYNC_SESSION), 3);
	rmsg_free(g0, n0);
	rmsg_free(g1, n1);
	rtmp_chunk_reader_fini(&rd0);
	rtmp_chunk_reader_fini(&rd1);
	plog_free(&pl);
	fx_fini(&f);
}

/* The control plane's closing word, then SESSION_CLOSE, in one batch (the
 * type 20 message stands for the final onStatus). */
static void cp_close(struct fx *f, struct tcli *c, uint8_t tag)
{
	uint8_t b[sizeof(struct dp_ipc_msg) + 16];
	struct dp_ipc_msg im = { 20, { 0 }, 0, 1, 3 };
	struct dp_ipc_close cl;

	memcpy(b, &im, sizeof(im));
	pattern(b + sizeof(im), 16, tag);
	b[sizeof(im)] = 0x02;
	cp_send(f, DP_IPC_SESSION_MSG, c->sid, 0, b, sizeof(b));
	memset(&cl, 0, sizeof(cl));
	cp_send(f, DP_IPC_SESSION_CLOSE, c->sid, 0, &cl, sizeof(cl));
}

/* The last message a client received is the control plane's closing word. */
static void expect_last_word(struct tcli *c, uint8_t tag)
{
	static struct rmsg g[300];
	struct rtmp_chunk_reader rd;
	uint8_t want[16];
	int n;

	rtmp_chunk_reader_init(&rd, NULL, NULL, 128);
	n = parse_all(c, &rd, g, 300);
	pattern(want, sizeof(want), tag);
	want[0] = 0x02;
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(g[n - 1].type, 20);
	CU_ASSERT(g[n - 1].len == sizeof(want) && memcmp(g[n - 1].p, want, sizeof(want)) == 0);
	rmsg_free(g, n);
	rtmp_chunk_reader_fini(&rd);
}

/* Appliance chunk size 128 (the smallest the config allows): the archive
 * copy of a large keyframe needs more iovecs than one datagram may carry;
 * it goes out in shorter fragments and the control-plane link stays up.
 * Then sessions closing while media keeps coming: after SESSION_CLOSE, after
 * the client's FIN, and a control-plane message after our FIN: each ends
 * with a FIN, never a RST, and nothing counts as an error. */
static void test_small_chunk_and_close(void)
{
	static uint8_t big[40000];
	static struct plog pl;
	struct fx f;
	struct tcli *pub, *v1, *v2, *v3;
	struct cpm m;
	struct dp_ipc_archive ar;
	uint8_t b[256];
	size_t len;

	CU_ASSERT_EQUAL_FATAL(fx_init_chunk(&f, 1, 128), 0);
	cp_hello(&f);
	pub = session(&f, 43000, NULL, 0);
	publish_cmd(&f, pub);
	publish_gop(&f, pub, &pl, 0, 0, 1, 1, 3);
	len = make_video(big, 1, 0, sizeof(big), 9);
	publish_msg(&f, pub, &pl, 9, 100, 100, big, (uint32_t)len, 0, 1);
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_ARCHIVE_MSG) >= (size_t)pl.n);
	CU_ASSERT(dp_cpipc_connected(f.cp));
	CU_ASSERT_EQUAL_FATAL(cp_count(&f, DP_IPC_ARCHIVE_MSG), (size_t)pl.n);
	for (int i = 0; i < pl.n; i++) {
		CU_ASSERT_EQUAL_FATAL(cp_take(&f, DP_IPC_ARCHIVE_MSG, 0, &m), 0);
		CU_ASSERT_EQUAL_FATAL(m.h.len, sizeof(ar) + pl.m[i].len);
		CU_ASSERT(memcmp(m.p + sizeof(ar), pl.m[i].p, pl.m[i].len) == 0);
		free(m.p);
	}
	CU_ASSERT(dp_cpipc_stats(f.cp)->tx_dgrams > dp_cpipc_stats(f.cp)->tx_msgs);

	/* viewers caught up with the log */
	v1 = session(&f, 43001, NULL, 0);
	v2 = session(&f, 43002, NULL, 0);
	v3 = session(&f, 43003, NULL, 0);
	attach(&f, v1);
	attach(&f, v2);
	pump(&f, 50);
	CU_ASSERT_FATAL(v1->rxlen > sizeof(big) && v2->rxlen == v1->rxlen);
	uint64_t errs = ST(&f, 0, cmd_errors);

	/* SESSION_CLOSE for v1 while a new entry waits for it */
	len = make_audio(b, 0, 90, 1);
	publish_msg(&f, pub, NULL, 8, 200, 200, b, (uint32_t)len, 0, 0);
	cp_close(&f, v1, 0x41);
	PUMP_UNTIL(&f, v1->fin || v1->rst);
	pump(&f, 4);
	CU_ASSERT(v1->fin);
	CU_ASSERT(!v1->rst);
	expect_last_word(v1, 0x41);

	/* v2's client leaves (FIN) while a new entry waits for it */
	len = make_audio(b, 0, 90, 2);
	publish_msg(&f, pub, NULL, 8, 240, 240, b, (uint32_t)len, 0, 0);
	client_frame(&f, v2, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, NULL, 0);
	v2->snd_nxt++;
	PUMP_UNTIL(&f, v2->fin || v2->rst);
	pump(&f, 4);
	CU_ASSERT(v2->fin);
	CU_ASSERT(!v2->rst);

	/* a control-plane message right behind SESSION_CLOSE (FIN queued) */
	cp_close(&f, v3, 0x42);
	uint8_t mb[sizeof(struct dp_ipc_msg) + 4] = { 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3 };
	mb[sizeof(struct dp_ipc_msg)] = 0x02;
	cp_send(&f, DP_IPC_SESSION_MSG, v3->sid, 0, mb, sizeof(mb));
	PUMP_UNTIL(&f, v3->fin || v3->rst);
	pump(&f, 4);
	CU_ASSERT(v3->fin);
	CU_ASSERT(!v3->rst);
	expect_last_word(v3, 0x42);
	CU_ASSERT_EQUAL(ST(&f, 0, cmd_errors), errs);
	CU_ASSERT_EQUAL(ST(&f, 0, rtmp_errors), 0);
	CU_ASSERT(dp_cpipc_connected(f.cp));
	plog_free(&pl);
	fx_fini(&f);
}

/* A control-plane message for a viewer whose media message is half sent
 * (its TCP send buffer, 16 KB here, holds part of a 40 KB keyframe) waits
 * for the message to be out: its bytes never land inside the message's
 * chunks, whatever frees the send buffer first. */
static void test_cmd_behind_half_sent(void)
{
	static uint8_t big[40000];
	static struct rmsg g[300];
	static struct plog pl;
	struct rtmp_chunk_reader rd;
	struct fx f;
	struct tcli *pub, *v;
	uint8_t want[16];
	size_t len;
	int n, at = -1;

	CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
	cp_hello(&f);
	pub = session(&f, 43200, NULL, 0);
	publish_cmd(&f, pub);
	publish_gop(&f, pub, &pl, 0, 0, 1, 1, 5);
	v = session(&f, 43201, NULL, 0);
	attach(&f, v);
	pump(&f, 50);
	size_t before = v->rxlen;
	CU_ASSERT_FATAL(before > 0);
	len = make_video(big, 1, 0, sizeof(big), 11);
	publish_msg(&f, pub, &pl, 9, 200, 200, big, (uint32_t)len, 0, 1);
	PUMP_UNTIL(&f, v->rxlen > before);
	CU_ASSERT_FATAL(v->rxlen < before + len); /* half out */
	cp_close(&f, v, 0x43); /* a message, then SESSION_CLOSE */
	PUMP_UNTIL(&f, v->fin || v->rst);
	pump(&f, 4);
	CU_ASSERT(v->fin && !v->rst);
	rtmp_chunk_reader_init(&rd, NULL, NULL, 128);
	n = parse_all(v, &rd, g, 300);
	for (int i = 0; i < n; i++)
		if (g[i].type == 9 && g[i].len == len)
			at = i;
	CU_ASSERT_FATAL(at >= 0);
	CU_ASSERT(memcmp(g[at].p, big, len) == 0);
	pattern(want, sizeof(want), 0x43);
	want[0] = 0x02;
	CU_ASSERT_EQUAL_FATAL(n, at + 2); /* the keyframe, then the message */
	CU_ASSERT_EQUAL(g[at + 1].type, 20);
	CU_ASSERT(g[at + 1].len == sizeof(want) && memcmp(g[at + 1].p, want, sizeof(want)) == 0);
	CU_ASSERT_EQUAL(ST(&f, 0, cmd_errors), 0);
	rmsg_free(g, n);
	rtmp_chunk_reader_fini(&rd);
	plog_free(&pl);
	fx_fini(&f);
}

/* Only the main lcore runs (the worker is busy elsewhere). */
static void pump_main_only(struct fx *f, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		dp_cpipc_run(f->cp);
		cp_read(f);
	}
}

#define NCMD 200

/* Both rings full at once: the worker's event ring (commands from a client
 * the main lcore has not relayed yet) and its command ring (messages from
 * the control plane). Neither side waits for the other (the test is one
 * thread: a spin would never end); everything arrives, in order. */
static void test_rings_full(void)
{
	struct fx f;
	struct tcli *c;
	struct cpm m;
	uint8_t body[24];
	struct rtmp_chunk_reader rd;
	static struct rmsg g[NCMD + 8];

	alarm(120); /* a spin turns into a failure, not a hung suite */
	CU_ASSERT_EQUAL_FATAL(fx_init(&f, 1), 0);
	cp_hello(&f);
	c = session(&f, 42000, NULL, 0);
	/* client -> control plane: 200 commands while main sleeps */
	for (int i = 0; i < NCMD; i++) {
		pattern(body, sizeof(body), (uint8_t)i);
		body[0] = 0x02;
		body[1] = (uint8_t)i;
		cli_msg(&f, c, 20, 0, 3, body, sizeof(body));
		if (f.inq_n >= 16)
			for (int k = 0; k < 4; k++)
				pump_main(&f, 0);
	}
	for (int k = 0; k < 40; k++)
		pump_main(&f, 0);
	CU_ASSERT(ST(&f, 0, events_deferred) > 0);
	/* control plane -> client: 200 messages while the worker sleeps,
	 * then HELLO again (resync request to a worker whose event ring is
	 * full and whose command ring is full) */
	for (int i = 0; i < NCMD; i++) {
		uint8_t b[sizeof(struct dp_ipc_msg) + sizeof(body)];
		struct dp_ipc_msg im = { 20, { 0 }, (uint32_t)i, 1, 3 };

		pattern(body, sizeof(body), (uint8_t)(i + 100));
		body[0] = 0x02;
		memcpy(b, &im, sizeof(im));
		memcpy(b + sizeof(im), body, sizeof(body));
		cp_send(&f, DP_IPC_SESSION_MSG, c->sid, 0, b, sizeof(b));
	}
	struct dp_ipc_hello he = { DP_IPC_VERSION, 2 };
	cp_send(&f, DP_IPC_HELLO, 0, 0, &he, sizeof(he));
	pump_main_only(&f, 20);
	CU_ASSERT(dp_cpipc_stats(f.cp)->cmds_deferred > 0);
	for (int k = 0; k < 10; k++)
		pump_main(&f, 0); /* worker only: must not spin on its event ring */
	PUMP_UNTIL(&f, cp_count(&f, DP_IPC_RESYNC_DONE) == 1 &&
		       cp_count(&f, DP_IPC_SESSION_MSG) == NCMD);
	CU_ASSERT_EQUAL(ST(&f, 0, events_dropped), 0);
	CU_ASSERT_EQUAL(dp_cpipc_stats(f.cp)->cmds_dropped, 0);
	/* the 200 commands arrived once each, in order */
	CU_ASSERT_EQUAL(cp_count(&f, DP_IPC_SESSION_MSG), NCMD);
	for (int i = 0; i < NCMD; i++) {
		if (cp_take(&f, DP_IPC_SESSION_MSG, c->sid, &m) != 0) {
			CU_FAIL("command missing");
			break;
		}
		CU_ASSERT_EQUAL(m.p[sizeof(struct dp_ipc_msg) + 1], (uint8_t)i);
		free(m.p);
	}
	CU_ASSERT_EQUAL(cp_count(&f, DP_IPC_RESYNC_SESSION), 1);
	/* ... and the client got the control plane's 200 messages in order */
	PUMP_UNTIL(&f, c->rxlen - c->rd_off >= (size_t)NCMD * (12 + sizeof(body)));
	rtmp_chunk_reader_init(&rd, NULL, NULL, 128);
	int n = parse_all(c, &rd, g, NCMD + 8);
	CU_ASSERT_EQUAL(n, NCMD);
	for (int i = 0; i < n && i < NCMD; i++) {
		pattern(body, sizeof(body), (uint8_t)(i + 100));
		body[0] = 0x02;
		CU_ASSERT_EQUAL(g[i].type, 20);
		CU_ASSERT_EQUAL(g[i].ts, (uint32_t)i);
		CU_ASSERT(g[i].len == sizeof(body) && memcmp(g[i].p, body, sizeof(body)) == 0);
	}
	rmsg_free(g, n);
	rtmp_chunk_reader_fini(&rd);
	fx_fini(&f);
	alarm(0);
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

int test_dp_rtmp_worker_register(void)
{
	CU_pSuite s = CU_add_suite("dp_rtmp_worker", suite_init, NULL);

	if (!s ||
	    !CU_add_test(s, "one worker: relay, ingest, fan-out, skips, republish",
			 test_one_worker) ||
	    !CU_add_test(s, "two workers: snapshot and live by reference", test_two_workers) ||
	    !CU_add_test(s, "rings full on both sides: no spin, nothing lost", test_rings_full) ||
	    !CU_add_test(s, "control-plane message behind a half-sent media message",
			 test_cmd_behind_half_sent) ||
	    !CU_add_test(s, "chunk 128: short archive fragments; closing without RST",
			 test_small_chunk_and_close))
		return -1;
	return 0;
}
