/* dp_tcp: the TCP state machine driven by synthetic IPv4/TCP packets built in
 * mbufs, with a fake clock; every packet the stack emits is captured, its
 * checksums verified and its fields asserted. */
#define ALLOW_EXPERIMENTAL_API
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/dp_tcp.h"
#include "dataplane/dp_tcp_int.h"
#include "dataplane/dp_tcp_seq.h"
#include "tests/unit/util_dp_eal.h"

#define LIP RTE_BE32(0xc6120002) /* 198.18.0.2 */
#define RIP RTE_BE32(0xc6120001) /* 198.18.0.1 */
#define PORT 7000
#define MAXOUT 512
#define RXMAX (1 << 20)

#define F_MSS 1
#define F_WS 2
#define F_SACK 4
#define F_TS 8
#define F_ALL (F_MSS | F_WS | F_SACK | F_TS)

struct oseg {
	uint32_t seq, ack, len;
	uint32_t optlen; /* TCP option bytes */
	uint8_t flags;
	uint16_t wnd;
	struct dp_tcp_opts o;
	uint8_t data[4096];
};

struct app {
	struct dp_tcp_conn *conn;
	int accepts, refuse, closes, peer_fin, writable;
	int close_reason;
	int shutdown_on_fin, abort_on_data;
	uint32_t nrx;
	uint8_t *rx;
};

struct h {
	struct dp_tcp_stack *st;
	struct rte_mbuf *out[MAXOUT];
	int nout, head;
	uint64_t now;
	uint32_t cts; /* client timestamp clock */
	struct app app;
	uint32_t ciss, siss; /* client / server ISN */
	uint16_t sport;
	int flags;       /* options the client offered */
	int limit_room;  /* 1: the output path reports `room` free frames */
	uint32_t room;
};

/* ---- app callbacks ---- */
static int on_accept(void *arg, struct dp_tcp_conn *c, void **conn_arg)
{
	struct app *a = arg;
	a->accepts++;
	if (a->refuse)
		return -1;
	a->conn = c;
	*conn_arg = a;
	return 0;
}

static void on_data(void *arg, struct dp_tcp_conn *c, struct rte_mbuf *m)
{
	struct app *a = arg;
	uint32_t n = m->pkt_len;
	if (a->nrx + n <= RXMAX) {
		const void *p = rte_pktmbuf_read(m, 0, n, a->rx + a->nrx);
		if (p != a->rx + a->nrx)
			memcpy(a->rx + a->nrx, p, n);
		a->nrx += n;
	}
	rte_pktmbuf_free(m);
	if (a->abort_on_data) {
		dp_tcp_abort(c);
		a->conn = NULL;
	}
}

static void on_writable(void *arg, struct dp_tcp_conn *c)
{
	((struct app *)arg)->writable++;
}

static void on_close(void *arg, struct dp_tcp_conn *c, int reason)
{
	struct app *a = arg;
	if (reason == DP_TCP_CLOSE_PEER_FIN) {
		a->peer_fin++;
		if (a->shutdown_on_fin)
			dp_tcp_shutdown(c);
		return;
	}
	a->closes++;
	a->close_reason = reason;
	a->conn = NULL;
}

static const struct dp_tcp_app test_app = { on_accept, on_data, on_writable, on_close };

static void cap_output(void *arg, struct rte_mbuf *m)
{
	struct h *h = arg;
	if (h->nout - h->head >= MAXOUT || h->nout >= MAXOUT) {
		rte_pktmbuf_free(m);
		return;
	}
	h->out[h->nout++] = m;
}

static uint32_t cap_room(void *arg)
{
	const struct h *h = arg;

	return h->limit_room ? h->room : UINT32_MAX;
}

/* ---- harness ---- */
static void h_init(struct h *h, struct dp_tcp_cfg *cfg)
{
	struct dp_tcp_cfg d;
	struct dp_tcp_ops ops = { .ip_output = cap_output, .tx_room = cap_room, .arg = h };

	memset(h, 0, sizeof(*h));
	if (!cfg) {
		dp_tcp_cfg_defaults(&d);
		cfg = &d;
	}
	cfg->local_ip = LIP;
	cfg->secret_seed = 42;
	h->app.rx = malloc(RXMAX);
	h->now = 1000000;
	h->cts = 5000;
	h->sport = 40000;
	h->st = dp_tcp_stack_create(cfg, SOCKET_ID_ANY, util_dp_pool(), &ops);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->st);
	CU_ASSERT_EQUAL_FATAL(dp_tcp_listen(h->st, PORT, &test_app, &h->app), 0);
}

static void h_drain(struct h *h)
{
	for (int i = h->head; i < h->nout; i++)
		rte_pktmbuf_free(h->out[i]);
	h->nout = h->head = 0;
}

static void h_fini(struct h *h)
{
	h_drain(h);
	dp_tcp_stack_destroy(h->st);
	h_drain(h);
	free(h->app.rx);
}

static uint32_t put_opts(uint8_t *p, int f, uint16_t mss, uint8_t ws, uint32_t tsval,
			 uint32_t tsecr)
{
	uint32_t n = 0;
	if (f & F_MSS) {
		p[n++] = 2; p[n++] = 4; p[n++] = mss >> 8; p[n++] = mss & 0xff;
	}
	if (f & F_WS) {
		p[n++] = 1; p[n++] = 3; p[n++] = 3; p[n++] = ws;
	}
	if (f & F_SACK) {
		p[n++] = 1; p[n++] = 1; p[n++] = 4; p[n++] = 2;
	}
	if (f & F_TS) {
		p[n++] = 1; p[n++] = 1; p[n++] = 8; p[n++] = 10;
		uint32_t v = rte_cpu_to_be_32(tsval), e = rte_cpu_to_be_32(tsecr);
		memcpy(p + n, &v, 4); memcpy(p + n + 4, &e, 4);
		n += 8;
	}
	return n;
}

/* A raw segment from the client. */
static struct rte_mbuf *mk(struct h *h, uint32_t seq, uint32_t ack, uint8_t flags,
			   uint16_t wnd, const uint8_t *opt, uint32_t optlen, const uint8_t *data,
			   uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(util_dp_pool());
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	uint32_t thl = 20 + optlen;
	CU_ASSERT_PTR_NOT_NULL_FATAL(rte_pktmbuf_append(m, (uint16_t)(20 + thl + len)));
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + 20);
	memset(p, 0, 40);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + thl + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = RIP;
	ip->dst_addr = LIP;
	th->src_port = rte_cpu_to_be_16(h->sport);
	th->dst_port = rte_cpu_to_be_16(PORT);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen)
		memcpy(p + 40, opt, optlen);
	if (len)
		memcpy(p + 20 + thl, data, len);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

static int feed(struct h *h, struct rte_mbuf *m)
{
	int rc = dp_tcp_input(h->st, m, h->now);
	if (rc == -ENOENT)
		rte_pktmbuf_free(m);
	return rc;
}

/* The TCP checksum of m verified over a linear copy, independently of how
 * the chain is cut (the mbuf helpers are what is under test). */
static int flat_csum_ok(const struct rte_mbuf *m)
{
	static uint8_t flat[9100];
	const void *p;

	if (m->pkt_len > sizeof(flat))
		return 0;
	p = rte_pktmbuf_read(m, 0, m->pkt_len, flat);
	if (p != flat)
		memcpy(flat, p, m->pkt_len);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)flat;
	return rte_ipv4_udptcp_cksum_verify(ip, ip + 1) == 0;
}

/* Pop the oldest emitted segment; 0 when none. Checks both checksums. */
static int pop(struct h *h, struct oseg *o)
{
	if (h->head >= h->nout) {
		h->nout = h->head = 0;
		return 0;
	}
	struct rte_mbuf *m = h->out[h->head++];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM)) { /* else the port fills them */
		CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0);
		CU_ASSERT_EQUAL(flat_csum_ok(m), 1);
	}
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), m->pkt_len);
	CU_ASSERT(rte_pktmbuf_headroom(m) >= DP_TCP_L2_HEADROOM);
	CU_ASSERT_EQUAL(ip->dst_addr, RIP);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint32_t thl = (th->data_off >> 4) * 4;
	memset(o, 0, sizeof(*o));
	o->seq = rte_be_to_cpu_32(th->sent_seq);
	o->ack = rte_be_to_cpu_32(th->recv_ack);
	o->flags = th->tcp_flags;
	o->wnd = rte_be_to_cpu_16(th->rx_win);
	CU_ASSERT_EQUAL(dp_tcp_opts_parse((uint8_t *)th + 20, thl - 20, o->flags & DP_TH_SYN,
					  &o->o), 0);
	o->len = m->pkt_len - 20 - thl;
	o->optlen = thl - 20;
	if (o->len && o->len <= sizeof(o->data)) {
		const void *p = rte_pktmbuf_read(m, 20 + thl, o->len, o->data);
		if (p != o->data)
			memcpy(o->data, p, o->len);
	}
	rte_pktmbuf_free(m);
	if (h->head >= h->nout)
		h->nout = h->head = 0;
	return 1;
}

static int pending(const struct h *h)
{
	return h->nout - h->head;
}

static void tick(struct h *h, uint64_t us)
{
	h->now += us;
	dp_tcp_timers(h->st, h->now);
}

/* Client segment in an established conn (options: timestamps when offered). */
static int csend(struct h *h, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
		 const uint8_t *data, uint32_t len)
{
	uint8_t opt[40];
	uint32_t ol = 0;
	if (h->flags & F_TS)
		ol = put_opts(opt, F_TS, 0, 0, ++h->cts, h->app.conn ? 0 : 0);
	if ((h->flags & F_TS) && h->app.conn) {
		/* echo the server's latest TSval: good enough for RTT checks */
		uint32_t e = rte_cpu_to_be_32(dp_tcp_ts_now(h->st));
		memcpy(opt + 8, &e, 4);
	}
	return feed(h, mk(h, seq, ack, flags, wnd, opt, ol, data, len));
}

/* Full three-way handshake offering option set f. Returns the SYN-ACK. */
static void handshake(struct h *h, int f, uint32_t ciss, uint16_t mss, uint8_t ws,
		      struct oseg *synack)
{
	uint8_t opt[40];
	uint32_t ol = put_opts(opt, f, mss, ws, h->cts, 0);

	h->flags = f;
	h->ciss = ciss;
	CU_ASSERT_EQUAL(feed(h, mk(h, ciss, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0)), 0);
	CU_ASSERT_FATAL(pop(h, synack));
	CU_ASSERT_EQUAL(synack->flags, DP_TH_SYN | DP_TH_ACK);
	CU_ASSERT_EQUAL(synack->ack, ciss + 1);
	h->siss = synack->seq;
	CU_ASSERT_EQUAL(csend(h, ciss + 1, h->siss + 1, DP_TH_ACK, 65535, NULL, 0), 0);
	CU_ASSERT_EQUAL(h->app.accepts, 1);
	CU_ASSERT_PTR_NOT_NULL(h->app.conn);
}

static void pattern(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i + seed) * 2654435761u >> 13);
}

/* A payload chain the test owns (refcount 1 on every segment), at most
 * 2000 bytes per segment, bytes pattern(seed) over the whole chain. */
static struct rte_mbuf *payload(uint32_t n, uint32_t seed)
{
	struct rte_mbuf *head = NULL;
	uint32_t done = 0;

	do {
		uint32_t k = n - done > 2000 ? 2000 : n - done;
		struct rte_mbuf *m = rte_pktmbuf_alloc(util_dp_pool());
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rte_pktmbuf_append(m, (uint16_t)k));
		pattern(rte_pktmbuf_mtod(m, uint8_t *), k, seed + done);
		if (!head)
			head = m;
		else
			CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_chain(head, m), 0);
		done += k;
	} while (done < n);
	return head;
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

/* ---- tests ---- */

static void test_seq_helpers(void)
{
	CU_ASSERT(dp_seq_lt(0xfffffff0u, 0x10u));
	CU_ASSERT(dp_seq_gt(0x10u, 0xfffffff0u));
	CU_ASSERT(dp_seq_leq(5, 5));
	CU_ASSERT(dp_seq_in(0x2, 0xfffffffeu, 0x5));
	CU_ASSERT(!dp_seq_in(0x5, 0xfffffffeu, 0x5));
	CU_ASSERT_EQUAL(dp_seq_max(0xffffffffu, 1), 1);
	CU_ASSERT_EQUAL(dp_seq_min(0xffffffffu, 1), 0xffffffffu);
}

static void test_handshake_options(void)
{
	static const struct { int f; uint16_t mss; } cases[] = {
		{ 0, 0 }, { F_MSS, 1200 }, { F_MSS | F_WS, 1400 }, { F_MSS | F_SACK, 1460 },
		{ F_MSS | F_TS, 1460 }, { F_ALL, 9000 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct h h;
		struct oseg sa;
		struct dp_tcp_conn_info ci;
		h_init(&h, NULL);
		handshake(&h, cases[i].f, 1000 + i, cases[i].mss, 5, &sa);
		int f = cases[i].f;
		CU_ASSERT(sa.o.has_mss);
		CU_ASSERT_EQUAL(sa.o.mss, 1460);
		CU_ASSERT_EQUAL(sa.o.has_wscale, !!(f & F_WS));
		CU_ASSERT_EQUAL(sa.o.sack_ok, !!(f & F_SACK));
		CU_ASSERT_EQUAL(sa.o.has_ts, !!(f & F_TS));
		if (f & F_TS)
			CU_ASSERT_EQUAL(sa.o.tsecr, h.cts - 1);
		if (f & F_WS)
			CU_ASSERT_EQUAL(sa.o.wscale, 7); /* the default shift */
		CU_ASSERT_FATAL(h.app.conn != NULL);
		dp_tcp_conn_info(h.app.conn, &ci);
		CU_ASSERT_EQUAL(ci.state, DP_TCP_ESTABLISHED);
		uint32_t want = (f & F_MSS) ? (cases[i].mss > 1460 ? 1460 : cases[i].mss) : 536;
		CU_ASSERT_EQUAL(ci.mss, want - ((f & F_TS) ? 12 : 0));
		CU_ASSERT_EQUAL(ci.snd_wscale, (f & F_WS) ? 5 : 0);
		CU_ASSERT_EQUAL(ci.sack_ok, !!(f & F_SACK));
		CU_ASSERT_EQUAL(ci.ts_ok, !!(f & F_TS));
		CU_ASSERT_EQUAL(ci.snd_wnd, (f & F_WS) ? 65535u << 5 : 65535u);
		CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_ESTABLISHED, 1);
		CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_SYN_RECEIVED, 0);
		CU_ASSERT_EQUAL(pending(&h), 0);
		h_fini(&h);
	}
}

static void test_data_in_order_and_wrap(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t buf[3000];

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_WS, 0xfffffa00u, 1460, 0, &sa);
	pattern(buf, sizeof(buf), 7);
	uint32_t seq = h.ciss + 1;
	/* Three segments crossing 2^32. */
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(csend(&h, seq, h.siss + 1, DP_TH_ACK, 65535, buf + i * 1000, 1000),
				0);
		seq += 1000;
	}
	CU_ASSERT_EQUAL(h.app.nrx, 3000);
	CU_ASSERT_EQUAL(memcmp(h.app.rx, buf, 3000), 0);
	/* 3000 bytes: two full-sized segments' worth (2 x 1460), ACKed at
	 * once although no segment was full-sized. */
	CU_ASSERT_EQUAL(pending(&h), 1);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, h.ciss + 1 + 3000);
	CU_ASSERT(dp_seq_lt(h.ciss, o.ack) && o.ack < h.ciss); /* wrapped */
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->delayed_acks, 0);
	/* Less than that: the delayed-ACK timer. */
	CU_ASSERT_EQUAL(csend(&h, seq, h.siss + 1, DP_TH_ACK, 65535, buf, 1000), 0);
	CU_ASSERT_EQUAL(pending(&h), 0);
	tick(&h, 41000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, h.ciss + 1 + 4000);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->delayed_acks, 1);
	h_fini(&h);
}

static void test_delack_two_full(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t buf[1460 * 2];

	h_init(&h, NULL);
	handshake(&h, F_MSS, 100, 1460, 0, &sa);
	pattern(buf, sizeof(buf), 1);
	csend(&h, 101, h.siss + 1, DP_TH_ACK, 65535, buf, 1460);
	CU_ASSERT_EQUAL(pending(&h), 0);
	csend(&h, 101 + 1460, h.siss + 1, DP_TH_ACK, 65535, buf + 1460, 1460);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, 101 + 2920);
	CU_ASSERT_EQUAL(o.flags, DP_TH_ACK);
	h_fini(&h);
}

static void test_window_scaling(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_conn_info ci;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.rcv_wnd = 1 << 20;
	cfg.wscale = 4;
	h_init(&h, &cfg);
	handshake(&h, F_MSS | F_WS, 1, 1460, 7, &sa);
	CU_ASSERT_EQUAL(sa.o.wscale, 5); /* 1 MiB needs shift 5 */
	CU_ASSERT_EQUAL(sa.wnd, 65535);  /* never scaled in SYN-ACK */
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 100, NULL, 0);
	dp_tcp_conn_info(h.app.conn, &ci);
	CU_ASSERT_EQUAL(ci.snd_wnd, 100u << 7);
	/* Our window field carries rcv_wnd >> 5. */
	struct rte_mbuf *p = payload(10, 0);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 10), 10);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.wnd, (1u << 20) >> 5);
	CU_ASSERT_EQUAL(o.len, 10);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void test_zero_window_persist(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.persist_max_ms = 4000;
	cfg.keepalive_ms = 0;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 0, NULL, 0); /* window closed */
	h.app.conn->rto_us = 1000000; /* as if no RTT sample yet */
	struct rte_mbuf *p = payload(1000, 3);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 1000), 1000);
	CU_ASSERT_EQUAL(pending(&h), 0); /* nothing may go out */
	uint64_t expect[] = { 1000000, 2000000, 4000000, 4000000 };
	for (int i = 0; i < 4; i++) {
		tick(&h, expect[i] - 1000);
		CU_ASSERT_EQUAL(pending(&h), 0);
		tick(&h, 1000);
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.seq, h.siss); /* snd_una - 1: probe */
		CU_ASSERT_EQUAL(o.len, 0);
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->window_probes, 4);
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 65535, NULL, 0); /* window opens */
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, h.siss + 1);
	CU_ASSERT_EQUAL(o.len, 1000);
	uint8_t want[1000];
	pattern(want, 1000, 3);
	CU_ASSERT_EQUAL(memcmp(o.data, want, 1000), 0);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void test_receive_zero_window(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;
	uint8_t buf[2000];

	dp_tcp_cfg_defaults(&cfg);
	cfg.rcv_wnd = 4000;
	cfg.no_wscale = 1;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	CU_ASSERT_EQUAL(sa.wnd, 4000);
	dp_tcp_rcv_hold(h.app.conn, 4000); /* the app keeps everything */
	pattern(buf, sizeof(buf), 9);
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 65535, buf, 2000);
	csend(&h, 2002, h.siss + 1, DP_TH_ACK, 65535, buf, 2000);
	tick(&h, 50000);
	while (pop(&h, &o))
		;
	CU_ASSERT_EQUAL(o.ack, 4002);
	CU_ASSERT_EQUAL(o.wnd, 0);
	/* Beyond the window: data dropped, ACK repeats the zero window. */
	csend(&h, 4002, h.siss + 1, DP_TH_ACK, 65535, buf, 100);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, 4002);
	CU_ASSERT_EQUAL(o.wnd, 0);
	CU_ASSERT_EQUAL(h.app.nrx, 4000);
	/* The app consumes: a window update goes out at once. */
	dp_tcp_rcv_hold(h.app.conn, 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.wnd, 4000);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->window_updates, 1);
	h_fini(&h);
}

static void test_rto_backoff(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.rto_max_ms = 8000;
	cfg.max_retries = 6;
	cfg.keepalive_ms = 0;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	/* RTT sample from the handshake was 0: RTO = rto_min 200 ms. Without
	 * a sample (we force the initial RTO) the ladder starts at 1 s. */
	struct dp_tcp_conn_info ci;
	dp_tcp_conn_info(h.app.conn, &ci);
	CU_ASSERT_EQUAL(ci.rto_us, 200000);
	h.app.conn->rto_us = 1000000;
	struct rte_mbuf *p = payload(500, 5);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 500), 500);
	CU_ASSERT_FATAL(pop(&h, &o));
	uint8_t first[500];
	memcpy(first, o.data, 500);
	uint64_t ladder[] = { 1, 2, 4, 8, 8, 8 };
	for (int i = 0; i < 6; i++) {
		tick(&h, ladder[i] * 1000000 - 1000);
		CU_ASSERT_EQUAL(pending(&h), 0);
		tick(&h, 1000);
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.seq, h.siss + 1);
		CU_ASSERT_EQUAL(o.len, 500);
		CU_ASSERT_EQUAL(memcmp(o.data, first, 500), 0); /* the same bytes */
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->rto_events, 6);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->retransmits, 6);
	/* Seventh expiry: give up, RST, -ETIMEDOUT. */
	tick(&h, 8000000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_RST);
	CU_ASSERT_EQUAL(h.app.close_reason, -ETIMEDOUT);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(p), 1);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Queue n segments of 1000 bytes, pop them; returns the payload mbuf. */
static struct rte_mbuf *send_segs(struct h *h, int n, struct oseg *segs)
{
	struct rte_mbuf *p = payload((uint32_t)n * 1000, 11);
	CU_ASSERT_EQUAL(dp_tcp_send(h->app.conn, p, 0, (uint32_t)n * 1000), n * 1000);
	for (int i = 0; i < n; i++) {
		CU_ASSERT_FATAL(pop(h, &segs[i]));
		CU_ASSERT_EQUAL(segs[i].seq, h->siss + 1 + (uint32_t)i * 1000);
		CU_ASSERT_EQUAL(segs[i].len, 1000);
	}
	CU_ASSERT_EQUAL(pending(h), 0);
	return p;
}

static void test_fast_retransmit(void)
{
	struct h h;
	struct oseg sa, o, segs[10];

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1000, 0, &sa);
	struct rte_mbuf *p = send_segs(&h, 10, segs);
	uint32_t una = h.siss + 1;
	csend(&h, 2, una + 1000, DP_TH_ACK, 65535, NULL, 0); /* first ACKed */
	for (int i = 0; i < 2; i++) {
		csend(&h, 2, una + 1000, DP_TH_ACK, 65535, NULL, 0);
		CU_ASSERT_EQUAL(pending(&h), 0);
	}
	csend(&h, 2, una + 1000, DP_TH_ACK, 65535, NULL, 0); /* third dup */
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, una + 1000);
	CU_ASSERT_EQUAL(o.len, 1000);
	CU_ASSERT_EQUAL(memcmp(o.data, segs[1].data, 1000), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->fast_retransmits, 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->dup_acks, 3);
	/* Full ACK ends recovery with cwnd = ssthresh. */
	csend(&h, 2, una + 10000, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->in_recovery, 0);
	CU_ASSERT_EQUAL(dp_tcp_send_queued(h.app.conn), 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(p), 1);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void csack(struct h *h, uint32_t ack, const uint32_t (*blk)[2], int n)
{
	uint8_t opt[40];
	uint32_t ol = 0;
	opt[ol++] = 1; opt[ol++] = 1; opt[ol++] = 5; opt[ol++] = (uint8_t)(2 + 8 * n);
	for (int i = 0; i < n; i++) {
		uint32_t a = rte_cpu_to_be_32(blk[i][0]), b = rte_cpu_to_be_32(blk[i][1]);
		memcpy(opt + ol, &a, 4); memcpy(opt + ol + 4, &b, 4);
		ol += 8;
	}
	feed(h, mk(h, h->ciss + 1, ack, DP_TH_ACK, 65535, opt, ol, NULL, 0));
}

static void test_sack_recovery(void)
{
	struct h h;
	struct oseg sa, o, segs[10];

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_SACK, 1, 1000, 0, &sa);
	struct rte_mbuf *p = send_segs(&h, 10, segs);
	uint32_t b = h.siss + 1;
	/* Segments 0 and 3 lost; 1-2 and 4-9 arrived. */
	/* Loss is declared on the third dup ACK, which is also when three
	 * segments' worth is SACKed (RFC 6675 DupThresh). */
	uint32_t blk1[1][2] = { { b + 1000, b + 2000 } };
	uint32_t blk2[1][2] = { { b + 1000, b + 3000 } };
	uint32_t blk3[2][2] = { { b + 4000, b + 5000 }, { b + 1000, b + 3000 } };
	uint32_t blk4[2][2] = { { b + 4000, b + 10000 }, { b + 1000, b + 3000 } };
	csack(&h, b, blk1, 1);
	csack(&h, b, blk2, 1);
	CU_ASSERT_EQUAL(pending(&h), 0);
	csack(&h, b, blk3, 2);
	/* Third dup ACK: the first hole only. */
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, b);
	CU_ASSERT_EQUAL(memcmp(o.data, segs[0].data, 1000), 0);
	CU_ASSERT_EQUAL(pending(&h), 0);
	/* Next dup ACK: the second hole, nothing SACKed. */
	csack(&h, b, blk4, 2);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, b + 3000);
	CU_ASSERT_EQUAL(memcmp(o.data, segs[3].data, 1000), 0);
	while (pop(&h, &o))
		CU_ASSERT(!dp_seq_in(o.seq, b + 1000, b + 3000) && !dp_seq_in(o.seq, b + 4000, b + 10000));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->retransmits, 2);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->sack_recoveries, 1);
	/* Partial ACK up to the second hole, then the full ACK. */
	uint32_t blk5[1][2] = { { b + 4000, b + 10000 } };
	csack(&h, b + 3000, blk5, 1);
	while (pop(&h, &o))
		CU_ASSERT(!dp_seq_in(o.seq, b + 4000, b + 10000));
	csend(&h, 2, b + 10000, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->in_recovery, 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(p), 1);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Byte j of payload(n, seed) (pattern() runs on over the chain). */
static uint8_t payload_byte(uint32_t j, uint32_t seed)
{
	return (uint8_t)((j + seed) * 2654435761u >> 13);
}

/* Regression: data segments carrying SACK blocks on top of the timestamp
 * were built with the full 1448-byte payload, 1472 bytes of TCP payload +
 * options against the peer's MSS of 1460: an IP packet of 1512 bytes the
 * 1500-MTU port refused, wedging the TX queue. Options count against the
 * MSS (RFC 6691): the payload shrinks instead. */
static void test_mss_counts_sack_options(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t d[100];
	uint32_t next, bytes = 0;
	int segs = 0, with_sack = 0;

	h_init(&h, NULL);
	handshake(&h, F_ALL, 1, 1460, 7, &sa);
	/* Out-of-order data from the client: from now on our segments carry a
	 * SACK block besides the timestamp. */
	pattern(d, sizeof(d), 3);
	csend(&h, 2 + 1000, h.siss + 1, DP_TH_ACK, 65535, d, sizeof(d));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.o.nsack, 1);
	CU_ASSERT_EQUAL(o.ack, 2);
	struct rte_mbuf *p = payload(20000, 5);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 20000), 20000);
	next = h.siss + 1;
	while (pop(&h, &o)) {
		CU_ASSERT(o.len + o.optlen <= 1460);     /* within the peer's MSS */
		CU_ASSERT(20 + 20 + o.optlen + o.len <= 1500); /* and the MTU */
		CU_ASSERT_EQUAL(o.seq, next);
		with_sack += o.o.nsack == 1;
		for (uint32_t i = 0; i < o.len; i++)
			if (o.data[i] != payload_byte(o.seq - (h.siss + 1) + i, 5)) {
				CU_FAIL("payload byte");
				break;
			}
		next += o.len;
		bytes += o.len;
		segs++;
	}
	/* The initial window (10 x 1460) went out in full-sized pieces. */
	CU_ASSERT(segs >= 10);
	CU_ASSERT_EQUAL(with_sack, segs);
	CU_ASSERT(bytes >= 10u * (1460 - 24) && bytes <= 10u * 1460);
	CU_ASSERT_EQUAL(h.app.conn->snd_nxt, next);
	/* The hole filled: no SACK, full 1448-byte segments again. */
	uint8_t fill[1000];
	pattern(fill, sizeof(fill), 4);
	csend(&h, 2, next, DP_TH_ACK, 65535, fill, sizeof(fill));
	CU_ASSERT_EQUAL(h.app.conn->nooo, 0);
	CU_ASSERT_EQUAL(h.app.nrx, 1100);
	CU_ASSERT_EQUAL(memcmp(h.app.rx + 1000, d, sizeof(d)), 0);
	int full = 0;
	while (pop(&h, &o)) {
		CU_ASSERT(o.len + o.optlen <= 1460);
		CU_ASSERT_EQUAL(o.o.nsack, 0);
		full += o.len == 1448;
	}
	CU_ASSERT(full > 0);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* A retransmission at a cut boundary carries the same bytes, and a FIN
 * never rides on a segment cut short (it belongs after the last byte). */
static void test_retransmit_cut_keeps_fin_last(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t d[10];

	h_init(&h, NULL);
	handshake(&h, F_ALL, 1, 1460, 7, &sa);
	struct rte_mbuf *p = payload(1448, 9);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 1448), 1448);
	CU_ASSERT_EQUAL(dp_tcp_shutdown(h.app.conn), 0);
	uint32_t b = h.siss + 1;
	int fin_seen = 0;
	while (pop(&h, &o))
		fin_seen |= (o.flags & DP_TH_FIN) != 0;
	CU_ASSERT_EQUAL(fin_seen, 1);
	/* Out-of-order data arrives, then the RTO: the resend carries a SACK
	 * block, so 1448 bytes no longer fit one segment. */
	pattern(d, sizeof(d), 1);
	csend(&h, 2 + 500, b, DP_TH_ACK, 65535, d, sizeof(d));
	h_drain(&h);
	tick(&h, 1100000);
	/* All 1448 bytes come back, in order and intact, in at least two
	 * pieces, and the FIN rides only on (or after) the last one. */
	uint32_t next = b;
	int ndata = 0;
	fin_seen = 0;
	while (pop(&h, &o)) {
		CU_ASSERT(o.len + o.optlen <= 1460);
		CU_ASSERT_EQUAL(fin_seen, 0); /* nothing after the FIN */
		if (o.len) {
			CU_ASSERT_EQUAL(o.seq, next);
			CU_ASSERT_EQUAL(o.o.nsack, 1);
			for (uint32_t i = 0; i < o.len; i++)
				if (o.data[i] != payload_byte(o.seq - b + i, 9)) {
					CU_FAIL("payload byte");
					break;
				}
			next += o.len;
			ndata++;
		}
		if (o.flags & DP_TH_FIN) {
			CU_ASSERT_EQUAL(o.seq + o.len, b + 1448);
			fin_seen = 1;
		}
	}
	CU_ASSERT_EQUAL(next, b + 1448);
	CU_ASSERT_EQUAL(fin_seen, 1);
	CU_ASSERT(ndata >= 2);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Regression: when the peer sends data too (echo clients do), its ACKs
 * carry payload and so are never duplicate ACKs (RFC 5681); the SACK blocks
 * on them were ignored and every loss waited for the RTO. They must start
 * SACK recovery (RFC 6675) like pure dup ACKs do. */
static void test_sack_on_data_segments_recovers(void)
{
	struct h h;
	struct oseg sa, o, segs[10];
	uint8_t d[50];
	uint8_t opt[40];

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_SACK, 1, 1000, 0, &sa);
	struct rte_mbuf *p = send_segs(&h, 10, segs);
	uint32_t b = h.siss + 1, cseq = 2;
	pattern(d, sizeof(d), 7);
	/* Segment 0 lost: each client data segment SACKs one more. */
	for (int k = 1; k <= 3; k++) {
		uint32_t ol = 0, a = rte_cpu_to_be_32(b + 1000);
		uint32_t e = rte_cpu_to_be_32(b + 1000 + 1000u * (uint32_t)k);
		opt[ol++] = 1; opt[ol++] = 1; opt[ol++] = 5; opt[ol++] = 10;
		memcpy(opt + ol, &a, 4); memcpy(opt + ol + 4, &e, 4);
		ol += 8;
		feed(&h, mk(&h, cseq, b, DP_TH_ACK, 65535, opt, ol, d, sizeof(d)));
		cseq += sizeof(d);
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->fast_retransmits, 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->rto_events, 0);
	int resent = 0;
	while (pop(&h, &o))
		if (o.len && o.seq == b) {
			resent++;
			CU_ASSERT_EQUAL(memcmp(o.data, segs[0].data, 1000), 0);
		}
	CU_ASSERT_EQUAL(resent, 1);
	CU_ASSERT_EQUAL(h.app.nrx, 3u * sizeof(d));
	csend(&h, cseq, b + 10000, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->in_recovery, 0);
	CU_ASSERT_EQUAL(dp_tcp_send_queued(h.app.conn), 0);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Regression: with TX checksum offload, a segment whose payload spans an
 * odd-length piece got a wrong TCP checksum from net_tap (it sums each
 * piece on its own) and the peer dropped it, and every retransmission of
 * it, for ever. Such chains are checksummed in software; the others keep
 * the offload. */
static void test_csum_offload_odd_pieces(void)
{
	struct dp_tcp_cfg cfg;
	struct h h;
	struct oseg sa;
	struct rte_mbuf *a, *b, *m;

	dp_tcp_cfg_defaults(&cfg);
	cfg.tx_csum_offload = 1;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	a = payload(1001, 0);
	b = payload(1001, 1001);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_chain(a, b), 0);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, a, 0, 2002), 2002);
	CU_ASSERT_EQUAL_FATAL(pending(&h), 2);
	/* 1460 = 1001 + 459: odd inner piece, software checksum, verifiable */
	m = h.out[h.head];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	CU_ASSERT_EQUAL(m->nb_segs, 3);
	CU_ASSERT_EQUAL(m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM, 0);
	CU_ASSERT_EQUAL(flat_csum_ok(m), 1);
	CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0);
	/* 542 bytes in one piece: offloaded, the field holds the pseudo-header sum */
	m = h.out[h.head + 1];
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	CU_ASSERT_EQUAL(m->nb_segs, 2);
	CU_ASSERT((m->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM) != 0);
	CU_ASSERT_EQUAL(m->l3_len, 20);
	CU_ASSERT_EQUAL(m->l4_len, 20);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	CU_ASSERT_EQUAL(th->cksum, rte_ipv4_phdr_cksum(ip, m->ol_flags));
	h_drain(&h);
	rte_pktmbuf_free(a);
	h_fini(&h);
}

/* A pure ACK with a timestamp echoing tsecr and SACK blocks. */
static void ack_ts_sack(struct h *h, uint32_t ack, uint32_t tsecr, const uint32_t (*blk)[2], int n)
{
	uint8_t opt[40];
	uint32_t ol = put_opts(opt, F_TS, 0, 0, ++h->cts, tsecr);

	if (n) {
		opt[ol++] = 1; opt[ol++] = 1; opt[ol++] = 5; opt[ol++] = (uint8_t)(2 + 8 * n);
		for (int i = 0; i < n; i++) {
			uint32_t a = rte_cpu_to_be_32(blk[i][0]), b = rte_cpu_to_be_32(blk[i][1]);
			memcpy(opt + ol, &a, 4); memcpy(opt + ol + 4, &b, 4);
			ol += 8;
		}
	}
	feed(h, mk(h, h->ciss + 1, ack, DP_TH_ACK, 65535, opt, ol, NULL, 0));
}

/* Three SACKed segments above segment 0 start a fast retransmission; then
 * the ACK for everything arrives echoing echo_retransmit ? the resent
 * segment's timestamp : the original's. Returns the conn's cwnd before
 * the retransmission. */
static uint32_t reorder_episode(struct h *h, int echo_retransmit, struct rte_mbuf **p)
{
	struct oseg sa, o, segs[10];
	uint32_t b, cwnd, ts_orig, ts_rexmt = 0;

	h_init(h, NULL);
	handshake(h, F_MSS | F_SACK | F_TS, 1, 1012, 0, &sa);
	*p = send_segs(h, 10, segs);
	b = h->siss + 1;
	ts_orig = segs[0].o.tsval;
	cwnd = h->app.conn->cwnd;
	tick(h, 5000);
	for (uint32_t k = 1; k <= 3; k++) {
		uint32_t blk[1][2] = { { b + 1000, b + 1000 + 1000 * k } };
		ack_ts_sack(h, b, ts_orig, blk, 1);
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h->st)->fast_retransmits, 1);
	CU_ASSERT_EQUAL(h->app.conn->in_recovery, 1);
	CU_ASSERT(h->app.conn->ssthresh < cwnd);
	while (pop(h, &o))
		if (o.seq == b && o.len == 1000)
			ts_rexmt = o.o.tsval;
	CU_ASSERT(dp_seq_gt(ts_rexmt, ts_orig));
	ack_ts_sack(h, b + 10000, echo_retransmit ? ts_rexmt : ts_orig, NULL, 0);
	return cwnd;
}

/* Regression for the reordering path (net_impair sends 25% of frames
 * ahead of the others): a fast retransmission whose original arrives after
 * all (Eifel, RFC 3522: the ACK echoes the original's timestamp) is undone
 * and DupThresh grows; a real loss keeps the reduced window. */
static void test_spurious_recovery_undo(void)
{
	struct h h;
	struct rte_mbuf *p;

	uint32_t cwnd = reorder_episode(&h, 0, &p);
	CU_ASSERT_EQUAL(h.app.conn->in_recovery, 0);
	CU_ASSERT(h.app.conn->cwnd >= cwnd);
	CU_ASSERT(h.app.conn->ssthresh > cwnd); /* slow start threshold restored */
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->spurious_recoveries, 1);
	CU_ASSERT_EQUAL(h.app.conn->reord, 5); /* SACK reached 4 segments past the hole */
	rte_pktmbuf_free(p);
	h_fini(&h);

	cwnd = reorder_episode(&h, 1, &p);
	CU_ASSERT_EQUAL(h.app.conn->in_recovery, 0);
	CU_ASSERT(h.app.conn->cwnd < cwnd);
	CU_ASSERT(h.app.conn->ssthresh < cwnd);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->spurious_recoveries, 0);
	CU_ASSERT_EQUAL(h.app.conn->reord, DP_TCP_DUPTHRESH);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Regression: Linux counts a FIN in the right edge of a SACK block. After
 * an RTO the send loop skipped SACKed data up to the end of the data, found
 * that spot still "SACKed" (by the FIN's byte) and spun there for ever,
 * freezing the worker. */
static void test_sack_covering_fin_after_rto(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_SACK, 1, 1000, 0, &sa);
	struct rte_mbuf *p = payload(3000, 4);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 3000), 3000);
	CU_ASSERT_EQUAL(dp_tcp_shutdown(h.app.conn), 0);
	h_drain(&h);
	uint32_t b = h.siss + 1;
	uint32_t blk[1][2] = { { b + 1000, b + 3001 } }; /* data 1000.. and the FIN */
	csack(&h, b, blk, 1);
	h_drain(&h);
	tick(&h, 1100000); /* RTO */
	int first = 0, fin = 0, n = 0;
	while (pop(&h, &o)) {
		n++;
		first += o.seq == b && o.len == 1000;
		fin += (o.flags & DP_TH_FIN) != 0;
		CU_ASSERT(!(o.len && dp_seq_in(o.seq, b + 1000, b + 3000)));
	}
	CU_ASSERT_EQUAL(first, 1);
	CU_ASSERT(n <= 2 && fin <= 1);
	/* Everything acknowledged: the conn moves on. */
	csend(&h, 2, b + 3001, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->state, DP_TCP_FIN_WAIT_2);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Regression: a fast retransmission took a full MSS from the send queue
 * even when less than that had ever been sent (the peer's window had cut
 * the original short), so the peer got bytes past snd_max, acknowledged
 * them, and every such ACK was dropped as acknowledging unsent data: the
 * conn stalled for good. */
static void test_retransmit_never_past_snd_max(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_SACK, 1, 1460, 0, &sa);
	uint32_t b = h.siss + 1;
	csend(&h, 2, b, DP_TH_ACK, 1000, NULL, 0); /* the peer's window: 1000 */
	struct rte_mbuf *p = payload(3000, 8);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 3000), 3000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.len, 1000);
	CU_ASSERT_EQUAL(pending(&h), 0);
	for (int i = 0; i < 3; i++)
		csend(&h, 2, b, DP_TH_ACK, 1000, NULL, 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->fast_retransmits, 1);
	int n = 0;
	while (pop(&h, &o)) {
		CU_ASSERT(dp_seq_leq(o.seq + o.len, h.app.conn->snd_max));
		if (o.len) {
			n++;
			CU_ASSERT_EQUAL(o.seq, b);
			CU_ASSERT_EQUAL(o.len, 1000);
			CU_ASSERT_EQUAL(o.data[999], payload_byte(999, 8));
		}
	}
	CU_ASSERT_EQUAL(n, 1);
	/* The peer acknowledges all it got: accepted, the rest flows. */
	csend(&h, 2, b + 1000, DP_TH_ACK, 4000, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->snd_una, b + 1000);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->drop_bad_ack, 0);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* Regression (lossy echo conns frozen for good): (1) a pure ACK from a
 * peer that filled our window carries seq == our right edge, and (2) a
 * retransmission may start before rcv_nxt and run past a small window;
 * the strict RFC test dropped both, ACK field included, while (3) our own
 * pure ACKs after an RTO carried seq = snd_nxt (rewound to snd_una), which
 * Linux drops as old duplicates. Each side then ignored the other. */
static void test_acceptability_and_ack_seq(void)
{
	struct dp_tcp_cfg cfg;
	struct h h;
	struct oseg sa, o;
	uint8_t d[2200];

	dp_tcp_cfg_defaults(&cfg);
	cfg.rcv_wnd = 4000;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	CU_ASSERT_EQUAL(sa.wnd, 4000);
	uint32_t b = h.siss + 1;
	pattern(d, sizeof(d), 6);
	struct rte_mbuf *p = payload(6000, 2);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 6000), 6000);
	h_drain(&h);
	/* The peer sends 4000 bytes, the last 1000 get lost on the way. */
	for (uint32_t k = 0; k < 2; k++)
		csend(&h, 2 + 1000 * k, b, DP_TH_ACK, 65535, d, 1000);
	/* The app keeps it all; the third segment's ACK (two full-sized
	 * segments' worth since the last) then offers [3001, 4001). */
	dp_tcp_rcv_hold(h.app.conn, 3000);
	csend(&h, 2 + 2000, b, DP_TH_ACK, 65535, d, 1000);
	h_drain(&h);
	uint64_t drops = dp_tcp_stats(h.st)->drop_out_of_window;
	/* (1) its ACK of our first segment, seq = its snd_nxt = our right edge */
	csend(&h, 4002, b + 1000, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.conn->snd_una, b + 1000);
	/* (2) a resend of [2501, 4501): old, in window and beyond, acking more */
	csend(&h, 2502, b + 2000, DP_TH_ACK, 65535, d, 2000);
	CU_ASSERT_EQUAL(h.app.conn->snd_una, b + 2000);
	CU_ASSERT_EQUAL(h.app.conn->rcv_nxt, 4002); /* [3001, 4001) taken, the rest trimmed */
	CU_ASSERT_EQUAL(h.app.nrx, 4000);
	CU_ASSERT_EQUAL(memcmp(h.app.rx + 3000, d + 500, 1000), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->drop_out_of_window, drops);
	/* still refused: wholly old, or past the right edge */
	csend(&h, 1000, b + 2000, DP_TH_ACK, 65535, d, 500);
	csend(&h, 9000, b + 2000, DP_TH_ACK, 65535, d, 100);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->drop_out_of_window, drops + 2);
	h_drain(&h);
	/* (3) RTO: snd_nxt goes back to snd_una, a pure ACK still says snd_max */
	tick(&h, 1100000);
	h_drain(&h);
	CU_ASSERT(dp_seq_lt(h.app.conn->snd_nxt, h.app.conn->snd_max));
	dp_tcp_send_ack(h.app.conn);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.len, 0);
	CU_ASSERT_EQUAL(o.seq, h.app.conn->snd_max);
	CU_ASSERT_EQUAL(o.seq, b + 6000);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

/* dp_tcp_rcv_limit caps the window offered; dp_tcp_notify_writable asks for
 * one on_writable after the next ACK. */
static void test_rcv_limit_and_notify(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t d[1000];

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	dp_tcp_rcv_limit(h.app.conn, 8000);
	pattern(d, sizeof(d), 2);
	csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_PSH, 65535, d, sizeof(d));
	tick(&h, 50000); /* delayed ACK */
	CU_ASSERT_FATAL(pop(&h, &o));
	/* The SYN-ACK offered 65535 (right edge 1 + 65535): never taken back. */
	CU_ASSERT_EQUAL(o.ack, 1002);
	CU_ASSERT_EQUAL(o.wnd, 65535 - 1000);
	/* Once the old edge is consumed, the window is the limit less what the
	 * app holds. */
	h.app.conn->rcv_adv = h.app.conn->rcv_nxt;
	dp_tcp_rcv_hold(h.app.conn, 3000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.wnd, 5000);
	dp_tcp_rcv_limit(h.app.conn, 0);
	dp_tcp_rcv_hold(h.app.conn, 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.wnd, 65535); /* back to cfg.rcv_wnd, unscaled field */
	int before = h.app.writable;
	csend(&h, 1002, h.siss + 1, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.writable, before);
	dp_tcp_notify_writable(h.app.conn);
	csend(&h, 1002, h.siss + 1, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.writable, before + 1);
	csend(&h, 1002, h.siss + 1, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.writable, before + 1); /* once */
	h_fini(&h);
}

static void test_zero_copy_send(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS | F_TS, 1, 1460, 0, &sa);
	/* A two-segment payload chain, sent from an offset inside segment 1. */
	struct rte_mbuf *a = payload(1500, 1), *b2 = payload(1500, 2);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_chain(a, b2), 0);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, a, 100, 2500), 2500);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->send_refs_held, 2);
	uint8_t want[3000], got[2500];
	pattern(want, 1500, 1);
	pattern(want + 1500, 1500, 2);
	uint32_t n = 0;
	/* In-flight segments reference the payload too (indirect mbufs). */
	CU_ASSERT(rte_mbuf_refcnt_read(a) >= 3);
	CU_ASSERT(rte_mbuf_refcnt_read(b2) >= 3);
	while (pending(&h)) {
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.seq, h.siss + 1 + n);
		memcpy(got + n, o.data, o.len);
		n += o.len;
	}
	CU_ASSERT_EQUAL(n, 2500);
	CU_ASSERT_EQUAL(memcmp(got, want + 100, 2500), 0);
	/* Sent segments freed: the queue's reference alone remains. */
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(a), 2);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(b2), 2);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->payload_bytes_copied, 0);
	/* Drop the first segment's ACK; the RTO resends identical bytes. */
	tick(&h, 1100000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, h.siss + 1);
	CU_ASSERT_EQUAL(memcmp(o.data, want + 100, o.len), 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(a), 2);
	csend(&h, 2, h.siss + 1 + 2500, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(a), 1);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(b2), 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->send_refs_held, 0);
	rte_pktmbuf_free(a);
	h_fini(&h);
}

/* A full output path holds data back (no drop, no retransmission needed),
 * lets ACKs through, and dp_tcp_tx_resume() sends what waited, in order;
 * a connection destroyed while waiting leaves the line. */
static void test_tx_backpressure(void)
{
	struct h h;
	struct oseg sa, o;
	uint8_t want[3000], got[3000];
	uint32_t n = 0;

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	h_drain(&h);
	h.limit_room = 1;
	h.room = DP_TCP_TX_RESERVE - 1;
	struct rte_mbuf *p = payload(3000, 7);
	pattern(want, 3000, 7);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 3000), 3000);
	CU_ASSERT_EQUAL(pending(&h), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->tx_blocked, 1);
	CU_ASSERT_EQUAL(dp_tcp_tx_resume(h.st), 0); /* still no room */
	/* the peer's data is acknowledged all the same */
	uint8_t d[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_PSH, 65535, d, 10);
	csend(&h, 12, h.siss + 1, DP_TH_ACK | DP_TH_PSH, 65535, d, 10);
	if (!pending(&h))
		tick(&h, 200000); /* a delayed ACK */
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.len, 0);
	CU_ASSERT_EQUAL(o.ack, 22);
	CU_ASSERT_EQUAL(pending(&h), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->tx_blocked, 1); /* once in line */
	/* room again: everything that waited goes, byte for byte */
	h.room = 1000;
	CU_ASSERT_EQUAL(dp_tcp_tx_resume(h.st), 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->tx_resumed, 1);
	while (pending(&h)) {
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.seq, h.siss + 1 + n);
		CU_ASSERT_FATAL(n + o.len <= sizeof(got));
		memcpy(got + n, o.data, o.len);
		n += o.len;
	}
	CU_ASSERT_EQUAL(n, 3000);
	CU_ASSERT_EQUAL(memcmp(got, want, 3000), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->retransmits, 0);
	csend(&h, 22, h.siss + 1 + 3000, DP_TH_ACK, 65535, NULL, 0);
	/* blocked, then aborted: the line forgets it */
	h.room = 0;
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 1000), 1000);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->tx_blocked, 2);
	dp_tcp_abort(h.app.conn);
	h_drain(&h);
	h.room = 1000;
	CU_ASSERT_EQUAL(dp_tcp_tx_resume(h.st), 0);
	CU_ASSERT_EQUAL(pending(&h), 0);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void test_send_limits(void)
{
	struct h h;
	struct oseg sa;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.snd_buf_max = 3000;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	struct rte_mbuf *p = payload(2000, 1);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 2000), 2000);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 2000), 1000);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 0, 10), -EAGAIN);
	CU_ASSERT_EQUAL(dp_tcp_send(h.app.conn, p, 1990, 11), -EINVAL);
	h_drain(&h);
	csend(&h, 2, h.siss + 1 + 3000, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.writable, 1);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(p), 1);
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void test_ooo_queue(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;
	uint8_t buf[6000];

	dp_tcp_cfg_defaults(&cfg);
	cfg.ooo_max_bytes = 2500;
	h_init(&h, &cfg);
	handshake(&h, F_MSS | F_SACK, 1000, 1460, 0, &sa);
	pattern(buf, sizeof(buf), 4);
	uint32_t s0 = 1001;
	csend(&h, s0 + 2000, h.siss + 1, DP_TH_ACK, 65535, buf + 2000, 1000);
	CU_ASSERT_FATAL(pop(&h, &o)); /* immediate dup ACK with SACK */
	CU_ASSERT_EQUAL(o.ack, s0);
	CU_ASSERT_EQUAL(o.o.nsack, 1);
	CU_ASSERT_EQUAL(o.o.sack[0][0], s0 + 2000);
	CU_ASSERT_EQUAL(o.o.sack[0][1], s0 + 3000);
	csend(&h, s0 + 4000, h.siss + 1, DP_TH_ACK, 65535, buf + 4000, 1000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.o.nsack, 2);
	CU_ASSERT_EQUAL(o.o.sack[0][0], s0 + 4000); /* most recent first */
	CU_ASSERT_EQUAL(o.o.sack[1][0], s0 + 2000);
	/* Third segment would exceed 2500 queued bytes: dropped, counted. */
	csend(&h, s0 + 5000, h.siss + 1, DP_TH_ACK, 65535, buf + 5000, 1000);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->drop_ooo_overflow, 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->ooo_bytes_held, 2000);
	h_drain(&h);
	CU_ASSERT_EQUAL(h.app.nrx, 0);
	/* Fill the holes: everything up to 5000 comes out in order. */
	csend(&h, s0, h.siss + 1, DP_TH_ACK, 65535, buf, 2000);
	CU_ASSERT_EQUAL(h.app.nrx, 3000);
	csend(&h, s0 + 3000, h.siss + 1, DP_TH_ACK, 65535, buf + 3000, 1000);
	CU_ASSERT_EQUAL(h.app.nrx, 5000);
	CU_ASSERT_EQUAL(memcmp(h.app.rx, buf, 5000), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->ooo_bytes_held, 0);
	while (pop(&h, &o))
		;
	CU_ASSERT_EQUAL(o.ack, s0 + 5000);
	CU_ASSERT_EQUAL(o.o.nsack, 0);
	/* Overlapping retransmission: only the new part is delivered. */
	csend(&h, s0 + 4500, h.siss + 1, DP_TH_ACK, 65535, buf + 4500, 1500);
	CU_ASSERT_EQUAL(h.app.nrx, 6000);
	CU_ASSERT_EQUAL(memcmp(h.app.rx, buf, 6000), 0);
	h_fini(&h);
}

static void corrupt_and_feed(struct h *h, struct rte_mbuf *m, int field)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *opt = (uint8_t *)(th + 1);
	switch (field) {
	case 0: th->data_off = 4 << 4; break;             /* < 5 words */
	case 1: th->data_off = 15 << 4; break;            /* past the packet */
	case 2: th->cksum ^= 0x1234; break;               /* checksum */
	case 3: opt[1] = 0; break;                        /* option length 0 */
	case 4: opt[1] = 40; break;                       /* option past header */
	case 5: opt[1] = 5; break;                        /* MSS with length 5 */
	}
	if (field >= 3 || field <= 1) {
		th->cksum = 0;
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	CU_ASSERT_EQUAL(feed(h, m), 0);
}

static void test_malformed(void)
{
	struct h h;
	struct oseg sa;
	uint8_t opt[40];

	h_init(&h, NULL);
	for (int f = 0; f < 6; f++) {
		uint32_t ol = put_opts(opt, F_MSS | F_TS, 1460, 0, 1, 0);
		corrupt_and_feed(&h, mk(&h, 77, 0, DP_TH_SYN, 1000, opt, ol, NULL, 0), f);
	}
	const struct dp_tcp_stats *s = dp_tcp_stats(h.st);
	CU_ASSERT_EQUAL(s->drop_bad_hdr_len, 2);
	CU_ASSERT_EQUAL(s->drop_bad_csum, 1);
	CU_ASSERT_EQUAL(s->drop_bad_opt_len, 3);
	CU_ASSERT_EQUAL(pending(&h), 0);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	/* SYN+FIN is nonsense. */
	feed(&h, mk(&h, 77, 0, DP_TH_SYN | DP_TH_FIN, 1000, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(s->drop_bad_flags, 1);
	/* Truncated: IP total shorter than a TCP header. */
	struct rte_mbuf *m = mk(&h, 77, 0, DP_TH_SYN, 1000, NULL, 0, NULL, 0);
	rte_pktmbuf_trim(m, 8);
	feed(&h, m);
	CU_ASSERT_EQUAL(s->drop_bad_hdr_len, 3);
	/* NIC said the checksum is good: the bad one is not rechecked. */
	m = mk(&h, 77, 0, DP_TH_SYN, 1000, NULL, 0, NULL, 0);
	rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, 20)->cksum ^= 1;
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	feed(&h, m);
	CU_ASSERT(pop(&h, &sa));
	CU_ASSERT_EQUAL(sa.flags, DP_TH_SYN | DP_TH_ACK);
	h_fini(&h);
}

static void test_peer_close_first(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	h.app.shutdown_on_fin = 1;
	struct dp_tcp_conn *c = h.app.conn;
	csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.peer_fin, 1);
	CU_ASSERT_EQUAL(c->state, DP_TCP_LAST_ACK);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, 3);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_FIN);
	CU_ASSERT_EQUAL(o.seq, h.siss + 1);
	/* FIN lost: retransmitted on RTO. */
	tick(&h, 1100000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_FIN);
	CU_ASSERT_EQUAL(o.seq, h.siss + 1);
	csend(&h, 3, h.siss + 2, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(h.app.closes, 1);
	CU_ASSERT_EQUAL(h.app.close_reason, DP_TCP_CLOSE_DONE);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_LAST_ACK, 0);
	h_fini(&h);
}

/* Regression: the ACK that ends LAST_ACK may carry (ignored) data; its mbuf
 * must be freed with the conn. */
static void test_last_ack_with_data(void)
{
	struct h h;
	struct oseg sa;
	struct rte_mempool *mp = util_dp_pool();

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	h.app.shutdown_on_fin = 1;
	csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
	h_drain(&h);
	unsigned avail = rte_mempool_avail_count(mp);
	csend(&h, 3, h.siss + 2, DP_TH_ACK | DP_TH_PSH, 65535, (const uint8_t *)"late", 4);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(h.app.nrx, 0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(mp), avail);
	h_fini(&h);
}

static void test_active_close_time_wait(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.time_wait_ms = 500;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	struct dp_tcp_conn *c = h.app.conn;
	CU_ASSERT_EQUAL(dp_tcp_shutdown(c), 0);
	CU_ASSERT_EQUAL(dp_tcp_shutdown(c), -ENOTCONN);
	CU_ASSERT_EQUAL(c->state, DP_TCP_FIN_WAIT_1);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_ACK | DP_TH_FIN);
	csend(&h, 2, h.siss + 2, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(c->state, DP_TCP_FIN_WAIT_2);
	/* Data still flows towards us in FIN_WAIT_2. */
	csend(&h, 2, h.siss + 2, DP_TH_ACK, 65535, (const uint8_t *)"tail", 4);
	CU_ASSERT_EQUAL(h.app.nrx, 4);
	csend(&h, 6, h.siss + 2, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
	CU_ASSERT_EQUAL(c->state, DP_TCP_TIME_WAIT);
	CU_ASSERT_EQUAL(h.app.close_reason, DP_TCP_CLOSE_DONE);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_TIME_WAIT, 1);
	while (pop(&h, &o))
		;
	CU_ASSERT_EQUAL(o.ack, 7);
	/* A retransmitted FIN is ACKed again. */
	csend(&h, 6, h.siss + 2, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, 7);
	/* RFC 1337: RSTs, even exact ones, do not end TIME_WAIT early. */
	uint64_t ign = dp_tcp_stats(h.st)->rst_ignored;
	csend(&h, 7, 0, DP_TH_RST, 0, NULL, 0);
	csend(&h, 7, h.siss + 2, DP_TH_RST | DP_TH_ACK, 0, NULL, 0);
	csend(&h, 1000, 0, DP_TH_RST, 0, NULL, 0);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
	CU_ASSERT_EQUAL(c->state, DP_TCP_TIME_WAIT);
	CU_ASSERT_EQUAL(pending(&h), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->rst_ignored, ign + 3);
	tick(&h, 499000);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
	tick(&h, 2000);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->time_wait_expired, 1);
	h_fini(&h);
}

static void test_simultaneous_close(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	struct dp_tcp_conn *c = h.app.conn;
	dp_tcp_shutdown(c);
	h_drain(&h);
	/* Peer's FIN crosses ours: it does not ACK our FIN. */
	csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
	CU_ASSERT_EQUAL(c->state, DP_TCP_CLOSING);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.ack, 3);
	csend(&h, 3, h.siss + 2, DP_TH_ACK, 65535, NULL, 0);
	CU_ASSERT_EQUAL(c->state, DP_TCP_TIME_WAIT);
	CU_ASSERT_EQUAL(h.app.close_reason, DP_TCP_CLOSE_DONE);
	/* A new SYN with a higher sequence takes over the TIME_WAIT tuple. */
	uint8_t opt[8];
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	feed(&h, mk(&h, 100000, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_SYN | DP_TH_ACK);
	CU_ASSERT_EQUAL(o.ack, 100001);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_SYN_RECEIVED, 1);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_TIME_WAIT, 0);
	h_fini(&h);
}

/* RST handling per state: exact RST resets, in-window gets a challenge. */
static void test_rst_states(void)
{
	for (int st = 0; st < 6; st++) {
		struct h h;
		struct oseg sa, o;
		h_init(&h, NULL);
		handshake(&h, F_MSS, 1, 1460, 0, &sa);
		struct dp_tcp_conn *c = h.app.conn;
		uint32_t rseq = 2;
		switch (st) {
		case 1: /* CLOSE_WAIT */
			csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
			rseq = 3;
			CU_ASSERT_EQUAL(c->state, DP_TCP_CLOSE_WAIT);
			break;
		case 2: /* FIN_WAIT_1 */
			dp_tcp_shutdown(c);
			CU_ASSERT_EQUAL(c->state, DP_TCP_FIN_WAIT_1);
			break;
		case 3: /* FIN_WAIT_2 */
			dp_tcp_shutdown(c);
			csend(&h, 2, h.siss + 2, DP_TH_ACK, 65535, NULL, 0);
			CU_ASSERT_EQUAL(c->state, DP_TCP_FIN_WAIT_2);
			break;
		case 4: /* LAST_ACK */
			csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
			dp_tcp_shutdown(c);
			rseq = 3;
			CU_ASSERT_EQUAL(c->state, DP_TCP_LAST_ACK);
			break;
		case 5: /* CLOSING */
			dp_tcp_shutdown(c);
			csend(&h, 2, h.siss + 1, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
			rseq = 3;
			CU_ASSERT_EQUAL(c->state, DP_TCP_CLOSING);
			break;
		}
		h_drain(&h);
		/* Out of window: ignored silently. */
		csend(&h, rseq + 10000000, 0, DP_TH_RST, 0, NULL, 0);
		CU_ASSERT_EQUAL(pending(&h), 0);
		CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->rst_ignored, 1);
		/* In window, not exact: challenge ACK. */
		csend(&h, rseq + 100, 0, DP_TH_RST, 0, NULL, 0);
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.flags, DP_TH_ACK);
		CU_ASSERT_EQUAL(o.ack, rseq);
		CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
		/* Exact: gone. */
		csend(&h, rseq, 0, DP_TH_RST, 0, NULL, 0);
		CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
		CU_ASSERT_EQUAL(h.app.close_reason, -ECONNRESET);
		CU_ASSERT_EQUAL(pending(&h), 0);
		h_fini(&h);
	}
}

static void test_rst_syn_received_and_syn_challenge(void)
{
	struct h h;
	struct oseg o, sa;
	uint8_t opt[8];

	h_init(&h, NULL);
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	feed(&h, mk(&h, 500, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
	/* Retransmitted SYN: SYN-ACK again, same ISN. */
	feed(&h, mk(&h, 500, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	CU_ASSERT_EQUAL(sa.seq, o.seq);
	/* A wrong ACK draws a RST with seq = that ACK. */
	feed(&h, mk(&h, 501, o.seq + 50, DP_TH_ACK, 65535, NULL, 0, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	CU_ASSERT_EQUAL(sa.flags, DP_TH_RST);
	CU_ASSERT_EQUAL(sa.seq, o.seq + 50);
	feed(&h, mk(&h, 501, 0, DP_TH_RST, 0, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(h.app.accepts, 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_SYN_RECEIVED, 0);
	/* SYN on an established conn: challenge ACK, conn intact. */
	h.sport++;
	handshake(&h, F_MSS, 9000, 1460, 0, &sa);
	feed(&h, mk(&h, 12345, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_ACK);
	CU_ASSERT_EQUAL(o.ack, 9001);
	CU_ASSERT_EQUAL(h.app.conn->state, DP_TCP_ESTABLISHED);
	h_fini(&h);
}

static void test_synack_retries(void)
{
	struct h h;
	struct oseg o;
	uint8_t opt[8];

	h_init(&h, NULL);
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	feed(&h, mk(&h, 500, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	uint64_t gaps[] = { 1, 2, 4 };
	for (int i = 0; i < 3; i++) {
		tick(&h, gaps[i] * 1000000);
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.flags, DP_TH_SYN | DP_TH_ACK);
	}
	tick(&h, 8000000);
	CU_ASSERT_EQUAL(pending(&h), 0);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	h_fini(&h);
}

static void test_syn_cookies(void)
{
	struct h h;
	struct oseg o, sa;
	struct dp_tcp_cfg cfg;
	uint8_t opt[40];
	struct dp_tcp_conn_info ci;

	dp_tcp_cfg_defaults(&cfg);
	cfg.syn_backlog = 2;
	h_init(&h, &cfg);
	for (int i = 0; i < 2; i++) {
		uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
		h.sport = (uint16_t)(1000 + i);
		feed(&h, mk(&h, 100, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
		CU_ASSERT(pop(&h, &o));
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_SYN_RECEIVED, 2);
	/* Queue full: the next SYN gets a cookie and leaves no state. */
	h.sport = 2000;
	uint32_t ol = put_opts(opt, F_ALL, 1400, 6, 777, 0);
	feed(&h, mk(&h, 5000, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	CU_ASSERT_EQUAL(sa.flags, DP_TH_SYN | DP_TH_ACK);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_sent, 1);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 2);
	CU_ASSERT(sa.o.has_ts && sa.o.has_wscale && sa.o.sack_ok);
	CU_ASSERT_EQUAL(sa.o.tsecr, 777);
	/* A forged ACK fails and is answered with RST. */
	ol = put_opts(opt, F_TS, 0, 0, 778, sa.o.tsval);
	feed(&h, mk(&h, 5001, sa.seq + 2, DP_TH_ACK, 100, opt, ol, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_failed, 1);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	/* The real ACK (carrying data) creates the conn. */
	tick(&h, 3000000);
	feed(&h, mk(&h, 5001, sa.seq + 1, DP_TH_ACK, 100, opt, ol, (const uint8_t *)"hello", 5));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 1);
	CU_ASSERT_FATAL(h.app.conn != NULL);
	CU_ASSERT_EQUAL(h.app.nrx, 5);
	CU_ASSERT_EQUAL(memcmp(h.app.rx, "hello", 5), 0);
	dp_tcp_conn_info(h.app.conn, &ci);
	CU_ASSERT_EQUAL(ci.state, DP_TCP_ESTABLISHED);
	CU_ASSERT_EQUAL(ci.mss, 1400 - 12);
	CU_ASSERT_EQUAL(ci.snd_wscale, 6);
	CU_ASSERT_EQUAL(ci.rcv_wscale, sa.o.wscale);
	CU_ASSERT_EQUAL(ci.snd_wnd, 100u << 6);
	CU_ASSERT(ci.sack_ok && ci.ts_ok);
	/* Without timestamps a cookie conn has no scaling and no SACK. */
	h.sport = 2001;
	h.app.conn = NULL;
	h_drain(&h); /* SYN-ACK retransmissions of the half-open pair */
	ol = put_opts(opt, F_MSS | F_WS | F_SACK, 1000, 6, 0, 0);
	feed(&h, mk(&h, 7000, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	CU_ASSERT(!sa.o.has_wscale && !sa.o.sack_ok && !sa.o.has_ts);
	feed(&h, mk(&h, 7001, sa.seq + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_FATAL(h.app.conn != NULL);
	dp_tcp_conn_info(h.app.conn, &ci);
	CU_ASSERT_EQUAL(ci.mss, 536); /* cookie table: 536, 1024, ... */
	CU_ASSERT_EQUAL(ci.snd_wscale, 0);
	CU_ASSERT(!ci.sack_ok);
	/* Cookies from two periods ago are refused. */
	h.sport = 2002;
	feed(&h, mk(&h, 8000, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	tick(&h, 130000000);
	h_drain(&h);
	/* A fresh cookie keeps cookie ACKs checked, so the period test is
	 * what refuses the old one (counted as a failure). */
	uint64_t sent = dp_tcp_stats(h.st)->syn_cookies_sent;
	for (int i = 0; i < 4 && dp_tcp_stats(h.st)->syn_cookies_sent == sent; i++) {
		h.sport = (uint16_t)(3000 + i);
		feed(&h, mk(&h, 100, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	}
	CU_ASSERT_EQUAL_FATAL(dp_tcp_stats(h.st)->syn_cookies_sent, sent + 1);
	h_drain(&h);
	h.sport = 2002;
	uint64_t failed = dp_tcp_stats(h.st)->syn_cookies_failed;
	feed(&h, mk(&h, 8001, sa.seq + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 2);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_failed, failed + 1);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	h_fini(&h);
}

/* The key the receive path builds for a segment from the client. */
static struct dp_tcp_key client_key(const struct h *h)
{
	struct dp_tcp_key k;

	memset(&k, 0, sizeof(k));
	k.rip = RIP;
	k.lip = LIP;
	k.rport = rte_cpu_to_be_16(h->sport);
	k.lport = rte_cpu_to_be_16(PORT);
	return k;
}

/* Regression: with syncookies=1 every bare ACK to a listening port was
 * checked as a cookie, sent or not, so a blind attacker could open conns
 * by guessing. A cookie ACK is only considered while a cookie went out
 * within the cookie lifetime (2 periods, 128 s). */
static void test_syn_cookie_needs_recent_cookie(void)
{
	struct h h;
	struct oseg o;
	struct dp_tcp_cfg cfg;
	struct dp_tcp_key k;
	uint8_t opt[8];
	uint16_t mss;
	uint32_t ck;

	dp_tcp_cfg_defaults(&cfg);
	cfg.syncookies = 1;
	cfg.syn_backlog = 1;
	h_init(&h, &cfg);
	/* No cookie ever sent: a valid-looking cookie ACK is refused. */
	h.sport = 4000;
	k = client_key(&h);
	h.st->now_us = h.now;
	ck = dp_tcp_cookie_make(h.st, &k, 5000, 1460, &mss);
	feed(&h, mk(&h, 5001, ck + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_failed, 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	/* Fill the backlog so one cookie goes out: now the same ACK passes
	 * (the harness makes cookies the way the stack does). */
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	h.sport = 4001;
	feed(&h, mk(&h, 100, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	h.sport = 4002;
	feed(&h, mk(&h, 100, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_EQUAL_FATAL(dp_tcp_stats(h.st)->syn_cookies_sent, 1);
	h_drain(&h);
	h.sport = 4000;
	feed(&h, mk(&h, 5001, ck + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 1);
	CU_ASSERT_PTR_NOT_NULL(h.app.conn);
	/* 129 s without a cookie: a cookie valid for this very period is
	 * refused again. */
	tick(&h, 129000000);
	h_drain(&h);
	h.sport = 4003;
	k = client_key(&h);
	ck = dp_tcp_cookie_make(h.st, &k, 6000, 1460, &mss);
	uint64_t nconns = dp_tcp_conn_count(h.st);
	feed(&h, mk(&h, 6001, ck + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 1);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), nconns);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	h_fini(&h);
}

/* Regression: the MSS index (cookie bits 24-26) was outside the hash, so
 * any of the 8 indices validated and a forged ACK had 2^-21 odds, not
 * 2^-24. Changing the index must break the cookie. */
static void test_syn_cookie_hash_covers_mss(void)
{
	struct h h;
	struct oseg o, sa;
	struct dp_tcp_cfg cfg;
	uint8_t opt[8];

	dp_tcp_cfg_defaults(&cfg);
	cfg.syncookies = 2;
	h_init(&h, &cfg);
	h.sport = 4100;
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	feed(&h, mk(&h, 9000, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &sa));
	CU_ASSERT_EQUAL(sa.flags, DP_TH_SYN | DP_TH_ACK);
	CU_ASSERT_EQUAL((sa.seq >> 24) & 7, 7); /* 1460 */
	for (uint32_t j = 1; j < 8; j++) {
		uint32_t forged = sa.seq ^ (j << 24);
		feed(&h, mk(&h, 9001, forged + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
		CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
		CU_ASSERT_FATAL(pop(&h, &o));
		CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	}
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_failed, 7);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 0);
	feed(&h, mk(&h, 9001, sa.seq + 1, DP_TH_ACK, 100, NULL, 0, NULL, 0));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->syn_cookies_validated, 1);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
	h_fini(&h);
}

/* Regression: the send window was taken from any segment newer by
 * SND.WL1, even one whose ACK is older than SND.UNA (RFC 9293 3.10.7.4
 * only lets an acceptable ACK update it). */
static void test_old_ack_keeps_window(void)
{
	struct h h;
	struct oseg sa, o;

	h_init(&h, NULL);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	struct dp_tcp_conn *c = h.app.conn;
	uint32_t b = h.siss + 1;
	struct rte_mbuf *p = payload(1000, 3);
	CU_ASSERT_EQUAL(dp_tcp_send(c, p, 0, 1000), 1000);
	h_drain(&h);
	csend(&h, 2, b + 1000, DP_TH_ACK, 60000, (const uint8_t *)"0123456789", 10);
	CU_ASSERT_EQUAL(c->snd_una, b + 1000);
	CU_ASSERT_EQUAL(c->snd_wnd, 60000);
	/* Newer data (SEG.SEQ > SND.WL1) carrying an old ACK and window. */
	csend(&h, 12, b, DP_TH_ACK, 1, (const uint8_t *)"abcdefghij", 10);
	CU_ASSERT_EQUAL(h.app.nrx, 20); /* the data itself is fine */
	CU_ASSERT_EQUAL(c->snd_una, b + 1000);
	CU_ASSERT_EQUAL(c->snd_wnd, 60000);
	CU_ASSERT_EQUAL(c->snd_wl1, 2);
	CU_ASSERT_EQUAL(c->snd_wl2, b + 1000);
	/* SEG.ACK == SND.UNA is acceptable: a window update goes through. */
	csend(&h, 22, b + 1000, DP_TH_ACK, 30000, NULL, 0);
	CU_ASSERT_EQUAL(c->snd_wnd, 30000);
	CU_ASSERT_EQUAL(c->snd_wl1, 22);
	while (pop(&h, &o))
		;
	rte_pktmbuf_free(p);
	h_fini(&h);
}

static void test_idle_and_keepalive(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;

	dp_tcp_cfg_defaults(&cfg);
	cfg.keepalive_ms = 2000;
	cfg.keepalive_intvl_ms = 500;
	cfg.keepalive_probes = 3;
	cfg.idle_timeout_ms = 60000;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	tick(&h, 1999000);
	CU_ASSERT_EQUAL(pending(&h), 0);
	tick(&h, 1000);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.seq, h.siss); /* snd_una - 1 */
	CU_ASSERT_EQUAL(o.len, 0);
	/* The peer answers: the keepalive clock restarts. */
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 65535, NULL, 0);
	tick(&h, 1999000);
	CU_ASSERT_EQUAL(pending(&h), 0);
	tick(&h, 1000);
	CU_ASSERT(pop(&h, &o));
	tick(&h, 500000);
	CU_ASSERT(pop(&h, &o));
	tick(&h, 500000);
	CU_ASSERT(pop(&h, &o));
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->keepalive_probes, 4);
	tick(&h, 500000); /* three unanswered: reset */
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_RST);
	CU_ASSERT_EQUAL(h.app.close_reason, -ETIMEDOUT);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	h_fini(&h);

	/* Idle timeout with keepalive off. */
	dp_tcp_cfg_defaults(&cfg);
	cfg.keepalive_ms = 0;
	cfg.idle_timeout_ms = 3000;
	h_init(&h, &cfg);
	handshake(&h, F_MSS, 1, 1460, 0, &sa);
	tick(&h, 2000000);
	csend(&h, 2, h.siss + 1, DP_TH_ACK, 65535, (const uint8_t *)"x", 1);
	tick(&h, 2999000);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 1);
	h_drain(&h);
	tick(&h, 2000);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->idle_timeouts, 1);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_RST);
	h_fini(&h);
}

static void test_rst_closed_port(void)
{
	struct h h;
	struct oseg o;

	h_init(&h, NULL);
	/* SYN to a port nobody listens on: -ENOENT, mbuf untouched. */
	struct rte_mbuf *m = mk(&h, 1000, 0, DP_TH_SYN, 65535, NULL, 0, NULL, 0);
	rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, 20)->dst_port = rte_cpu_to_be_16(81);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	CU_ASSERT_EQUAL(dp_tcp_input(h.st, m, h.now), -ENOENT);
	CU_ASSERT_EQUAL(rte_pktmbuf_pkt_len(m), 40);
	CU_ASSERT_EQUAL(dp_tcp_reply_rst(h.st, m), 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST | DP_TH_ACK);
	CU_ASSERT_EQUAL(o.seq, 0);
	CU_ASSERT_EQUAL(o.ack, 1001);
	/* ACK-bearing segment: RST seq = its ACK, no ACK flag. */
	m = mk(&h, 1000, 4242, DP_TH_ACK, 65535, NULL, 0, (const uint8_t *)"abc", 3);
	CU_ASSERT_EQUAL(dp_tcp_reply_rst(h.st, m), 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	CU_ASSERT_EQUAL(o.seq, 4242);
	/* Never a RST for a RST. */
	m = mk(&h, 1000, 0, DP_TH_RST, 0, NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(dp_tcp_reply_rst(h.st, m), 0);
	CU_ASSERT_EQUAL(pending(&h), 0);
	/* Stray ACK to a listening port: RST too. */
	feed(&h, mk(&h, 1000, 999, DP_TH_ACK, 65535, NULL, 0, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT_EQUAL(o.flags, DP_TH_RST);
	CU_ASSERT_EQUAL(o.seq, 999);
	h_fini(&h);
}

static void test_refuse_and_abort(void)
{
	struct h h;
	struct oseg o;
	uint8_t opt[8];

	h_init(&h, NULL);
	h.app.refuse = 1;
	uint32_t ol = put_opts(opt, F_MSS, 1460, 0, 0, 0);
	feed(&h, mk(&h, 10, 0, DP_TH_SYN, 65535, opt, ol, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	feed(&h, mk(&h, 11, o.seq + 1, DP_TH_ACK, 65535, NULL, 0, NULL, 0));
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_RST);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(dp_tcp_stats(h.st)->conns_refused, 1);
	/* Abort from inside on_data: the conn dies after the callback. */
	h.app.refuse = 0;
	h.app.accepts = 0;
	h.sport++;
	handshake(&h, F_MSS, 50, 1460, 0, &o);
	h.app.abort_on_data = 1;
	csend(&h, 51, h.siss + 1, DP_TH_ACK, 65535, (const uint8_t *)"zz", 2);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(h.app.closes, 0);
	CU_ASSERT_FATAL(pop(&h, &o));
	CU_ASSERT(o.flags & DP_TH_RST);
	h_fini(&h);
}

static void test_no_leak_cycles(void)
{
	struct h h;
	struct oseg sa, o;
	struct dp_tcp_cfg cfg;
	struct rte_mempool *mp = util_dp_pool();

	dp_tcp_cfg_defaults(&cfg);
	cfg.time_wait_ms = 10;
	cfg.max_conns = 64;
	h_init(&h, &cfg);
	unsigned avail0 = rte_mempool_avail_count(mp);
	for (int i = 0; i < 300; i++) {
		h.sport = (uint16_t)(10000 + i);
		h.app.conn = NULL;
		h.app.accepts = 0;
		handshake(&h, i % 2 ? F_ALL : F_MSS, (uint32_t)i * 7919u, 1460, 2, &sa);
		struct rte_mbuf *p = payload(3000, (uint32_t)i);
		dp_tcp_send(h.app.conn, p, 0, 3000);
		rte_pktmbuf_free(p);
		csend(&h, h.ciss + 1, h.siss + 1, DP_TH_ACK, 65535, (const uint8_t *)"ping", 4);
		if (i % 3 == 0) {
			csend(&h, h.ciss + 5, h.siss + 1, DP_TH_RST, 0, NULL, 0);
		} else if (i % 3 == 1) {
			h.app.shutdown_on_fin = 1;
			csend(&h, h.ciss + 5, h.siss + 3001, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
			csend(&h, h.ciss + 6, h.siss + 3002, DP_TH_ACK, 65535, NULL, 0);
			h.app.shutdown_on_fin = 0;
		} else {
			dp_tcp_shutdown(h.app.conn);
			csend(&h, h.ciss + 5, h.siss + 3002, DP_TH_ACK | DP_TH_FIN, 65535, NULL, 0);
			tick(&h, 20000);
		}
		while (pop(&h, &o))
			;
	}
	tick(&h, 1000000);
	h_drain(&h);
	CU_ASSERT_EQUAL(dp_tcp_conn_count(h.st), 0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(mp), avail0);
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(h.st->conn_pool), 0);
	const struct dp_tcp_stats *s = dp_tcp_stats(h.st);
	CU_ASSERT_EQUAL(s->conns_opened, 300);
	CU_ASSERT_EQUAL(s->conns_closed, 300);
	CU_ASSERT_EQUAL(s->send_refs_held, 0);
	CU_ASSERT_EQUAL(s->conns_ESTABLISHED + s->conns_TIME_WAIT + s->conns_LAST_ACK, 0);
	h_fini(&h);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(mp), avail0);
}

static void test_cc_growth(void)
{
	for (int algo = 0; algo < 2; algo++) {
		struct h h;
		struct oseg sa, o;
		struct dp_tcp_cfg cfg;
		dp_tcp_cfg_defaults(&cfg);
		cfg.cc = algo;
		h_init(&h, &cfg);
		handshake(&h, F_MSS, 1, 1000, 0, &sa);
		struct dp_tcp_conn *c = h.app.conn;
		CU_ASSERT_EQUAL(c->cwnd, 10000);
		struct rte_mbuf *p = payload(2000, 1);
		uint32_t acked = h.siss + 1;
		/* Slow start: each ACK of 2 segments adds 2 MSS. */
		for (int i = 0; i < 5; i++) {
			dp_tcp_send(c, p, 0, 2000);
			while (pop(&h, &o))
				;
			acked += 2000;
			h.now += 10000;
			csend(&h, 2, acked, DP_TH_ACK, 65535, NULL, 0);
		}
		CU_ASSERT_EQUAL(c->cwnd, 20000);
		/* Loss by 3 dup ACKs: NewReno halves flight, CUBIC keeps 0.7. */
		dp_tcp_send(c, p, 0, 2000);
		dp_tcp_send(c, p, 0, 2000);
		h_drain(&h);
		for (int i = 0; i < 3; i++)
			csend(&h, 2, acked, DP_TH_ACK, 65535, NULL, 0);
		CU_ASSERT_EQUAL(c->ssthresh, algo == DP_TCP_CC_CUBIC ? 14000u : 2000u);
		csend(&h, 2, acked + 4000, DP_TH_ACK, 65535, NULL, 0);
		CU_ASSERT(!c->in_recovery);
		CU_ASSERT(c->cwnd <= c->ssthresh);
		rte_pktmbuf_free(p);
		h_fini(&h);
	}
}

int test_dp_tcp_register(void)
{
	CU_pSuite s = CU_add_suite("dp_tcp", suite_init, NULL);
	if (!s ||
	    !CU_add_test(s, "seq helpers", test_seq_helpers) ||
	    !CU_add_test(s, "handshake option combos", test_handshake_options) ||
	    !CU_add_test(s, "in-order data across 2^32", test_data_in_order_and_wrap) ||
	    !CU_add_test(s, "delayed ack every 2nd full seg", test_delack_two_full) ||
	    !CU_add_test(s, "window scaling", test_window_scaling) ||
	    !CU_add_test(s, "zero window persist", test_zero_window_persist) ||
	    !CU_add_test(s, "receive zero window", test_receive_zero_window) ||
	    !CU_add_test(s, "rto backoff", test_rto_backoff) ||
	    !CU_add_test(s, "fast retransmit", test_fast_retransmit) ||
	    !CU_add_test(s, "sack recovery", test_sack_recovery) ||
	    !CU_add_test(s, "mss counts sack options", test_mss_counts_sack_options) ||
	    !CU_add_test(s, "cut retransmit keeps fin last", test_retransmit_cut_keeps_fin_last) ||
	    !CU_add_test(s, "sack on data segments recovers", test_sack_on_data_segments_recovers) ||
	    !CU_add_test(s, "rcv limit and notify writable", test_rcv_limit_and_notify) ||
	    !CU_add_test(s, "csum offload and odd pieces", test_csum_offload_odd_pieces) ||
	    !CU_add_test(s, "spurious recovery undone", test_spurious_recovery_undo) ||
	    !CU_add_test(s, "sack covering fin after rto", test_sack_covering_fin_after_rto) ||
	    !CU_add_test(s, "retransmit never past snd_max", test_retransmit_never_past_snd_max) ||
	    !CU_add_test(s, "acceptability and ack seq", test_acceptability_and_ack_seq) ||
	    !CU_add_test(s, "zero-copy send", test_zero_copy_send) ||
	    !CU_add_test(s, "tx backpressure", test_tx_backpressure) ||
	    !CU_add_test(s, "send limits", test_send_limits) ||
	    !CU_add_test(s, "ooo queue", test_ooo_queue) ||
	    !CU_add_test(s, "malformed", test_malformed) ||
	    !CU_add_test(s, "peer closes first", test_peer_close_first) ||
	    !CU_add_test(s, "last ack with data", test_last_ack_with_data) ||
	    !CU_add_test(s, "active close time wait", test_active_close_time_wait) ||
	    !CU_add_test(s, "simultaneous close", test_simultaneous_close) ||
	    !CU_add_test(s, "rst per state", test_rst_states) ||
	    !CU_add_test(s, "rst syn_received, syn challenge", test_rst_syn_received_and_syn_challenge) ||
	    !CU_add_test(s, "synack retries", test_synack_retries) ||
	    !CU_add_test(s, "syn cookies", test_syn_cookies) ||
	    !CU_add_test(s, "syn cookie needs a recent cookie", test_syn_cookie_needs_recent_cookie) ||
	    !CU_add_test(s, "syn cookie hash covers mss", test_syn_cookie_hash_covers_mss) ||
	    !CU_add_test(s, "old ack keeps window", test_old_ack_keeps_window) ||
	    !CU_add_test(s, "idle and keepalive", test_idle_and_keepalive) ||
	    !CU_add_test(s, "rst for closed port", test_rst_closed_port) ||
	    !CU_add_test(s, "refuse and abort", test_refuse_and_abort) ||
	    !CU_add_test(s, "no leak over cycles", test_no_leak_cycles) ||
	    !CU_add_test(s, "cc growth and loss", test_cc_growth))
		return -1;
	return 0;
}
