/* dp_tcpsink: a DPDK TCP sink for the `source` service, the client side of
 * `make bench-tcp`.
 *
 *   dp_tcpsink [EAL args] -- [-l LOCAL_IP] [-r REMOTE_IP] [-p PORT]
 *              [-T SECONDS] [-b BYTES] [-a ACK_EVERY] [-w WSCALE] [-c 0|1]
 *
 * Runs on one lcore against the first ethdev (net_memif in client role in the
 * benchmark). It resolves REMOTE_IP by ARP (and answers ARP for LOCAL_IP),
 * opens one TCP connection to REMOTE_IP:PORT (SYN with MSS and a window-scale
 * option, no SACK, no timestamps), sends the 8-byte big-endian count, then
 * takes what arrives in order, verifying every payload byte against
 * dp_source_byte() and, with -c 1, every TCP checksum. It acknowledges every
 * ACK_EVERY-th in-order segment and whatever is left when the RX queue runs
 * dry, duplicates ACKs at once for anything out of order, and always offers
 * the full (scaled) window: the sink consumes as fast as it receives.
 *
 * Without -b it asks for an endless stream, measures for SECONDS from the
 * first payload byte, then resets the connection; with -b it asks for BYTES
 * and expects exactly that much followed by FIN (bounded by SECONDS too).
 * Prints
 *   dp_tcpsink: bytes=.. pkts=.. secs=.. gbps=.. mpps=.. mismatches=.. ooo=..
 *               dup=.. acks=.. csum_errors=.. fin=0|1
 * Exit 0 only when payload arrived, nothing mismatched and (with -b) the
 * whole count arrived.
 */
#define ALLOW_EXPERIMENTAL_API 1

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include "swarm/sw_net.h"
#include "tests/tools/dp_tool_pattern.h"

#define NB_MBUFS 8191
#define MBUF_CACHE 256
#define RX_DESC 1024
#define TX_DESC 1024
#define BURST 64
#define ENDLESS (1ULL << 62)
#define LINK_WAIT_S 15
#define ARP_RETRY_MS 200
#define SYN_RETRY_MS 1000
#define SYN_TRIES 8
#define IDLE_LIMIT_S 5 /* nothing received for this long while established: give up */

enum state { ST_ARP, ST_SYN_SENT, ST_ESTABLISHED, ST_DONE };

struct sink_opts {
	uint32_t lip, rip; /* network order */
	uint16_t rport;
	double secs;
	uint64_t bytes;    /* 0 = endless, timed */
	uint32_t ack_every;
	uint8_t wscale;
	int check_csum;
};

struct sink {
	struct sink_opts o;
	struct dp_pat pat;
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr lmac, rmac;
	enum state st;
	uint16_t lport;
	uint32_t iss, snd_nxt, rcv_nxt;
	uint32_t req_acked; /* the 8-byte request was acknowledged */
	uint32_t unacked_segs;
	uint64_t want;
	uint64_t hz, t_first, t_end, t_last_rx, t_last_tx_ctl;
	int tries;
	/* results */
	uint64_t bytes, pkts, ooo, dup, acks, mismatches, csum_errors, other;
	int fin, reset;
	uint64_t first_bad;
};

/* ---- packet construction ---- */

static struct rte_mbuf *pkt_alloc(struct sink *s, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->pool);

	if (m != NULL && rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		m = NULL;
	}
	return m;
}

static void tx_one(struct sink *s, struct rte_mbuf *m)
{
	/* memif copies into its ring; retry briefly when the ring is full. */
	for (int k = 0; k < 1000; k++)
		if (rte_eth_tx_burst(s->port_id, 0, &m, 1) == 1)
			return;
	rte_pktmbuf_free(m);
}

static void send_arp(struct sink *s, uint16_t op, const struct rte_ether_addr *tha, uint32_t tip)
{
	struct rte_mbuf *m = pkt_alloc(s, sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr));

	if (m == NULL)
		return;
	/* s->o.lip and tip are in network order, the frame writer takes host order */
	sw_net_arp_fill(rte_pktmbuf_mtod(m, void *), op, &s->lmac, rte_be_to_cpu_32(s->o.lip),
			op == RTE_ARP_OP_REQUEST ? NULL : tha, rte_be_to_cpu_32(tip));
	tx_one(s, m);
}

/* One TCP segment from the sink: flags, optional payload, SYN options. */
static void send_tcp(struct sink *s, uint8_t flags, uint32_t seq, const void *data, uint16_t dlen)
{
	uint16_t optlen = (flags & RTE_TCP_SYN_FLAG) ? 8 : 0;
	uint16_t l4len = (uint16_t)(sizeof(struct rte_tcp_hdr) + optlen + dlen);
	uint16_t iplen = (uint16_t)(sizeof(struct rte_ipv4_hdr) + l4len);
	struct rte_mbuf *m = pkt_alloc(s, (uint16_t)(sizeof(struct rte_ether_hdr) + iplen));
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint8_t *opt;

	if (m == NULL)
		return;
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	th = (struct rte_tcp_hdr *)(ip + 1);
	opt = (uint8_t *)(th + 1);
	rte_ether_addr_copy(&s->rmac, &eh->dst_addr);
	rte_ether_addr_copy(&s->lmac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(iplen);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = s->o.lip;
	ip->dst_addr = s->o.rip;
	th->src_port = rte_cpu_to_be_16(s->lport);
	th->dst_port = rte_cpu_to_be_16(s->o.rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & RTE_TCP_ACK_FLAG) ? s->rcv_nxt : 0);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	/* Always the largest field value: unscaled in the SYN, 65535 << wscale
	 * afterwards. The sink never buffers, so it never needs to shrink it. */
	th->rx_win = rte_cpu_to_be_16(65535);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen) {
		opt[0] = 2, opt[1] = 4, opt[2] = 1460 >> 8, opt[3] = 1460 & 0xff; /* MSS */
		opt[4] = 1, opt[5] = 3, opt[6] = 3, opt[7] = s->o.wscale;         /* NOP, WS */
	}
	if (dlen)
		memcpy(opt + optlen, data, dlen);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	if (flags & RTE_TCP_ACK_FLAG)
		s->acks++;
	tx_one(s, m);
}

static void send_ack(struct sink *s)
{
	send_tcp(s, RTE_TCP_ACK_FLAG, s->snd_nxt, NULL, 0);
	s->unacked_segs = 0;
}

static void send_request(struct sink *s)
{
	uint8_t req[8];

	for (int k = 0; k < 8; k++)
		req[k] = (uint8_t)(s->want >> (56 - 8 * k));
	send_tcp(s, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, s->iss + 1, req, 8);
	s->unacked_segs = 0;
}

/* ---- receive ---- */

static void rx_arp(struct sink *s, struct rte_mbuf *m)
{
	struct rte_arp_hdr *ah;

	if (rte_pktmbuf_data_len(m) < sizeof(struct rte_ether_hdr) + sizeof(*ah))
		return;
	ah = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	if (ah->arp_data.arp_sip == s->o.rip) {
		rte_ether_addr_copy(&ah->arp_data.arp_sha, &s->rmac);
		if (s->st == ST_ARP) {
			s->st = ST_SYN_SENT;
			s->tries = 0;
			s->t_last_tx_ctl = 0;
		}
	}
	if (ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
	    ah->arp_data.arp_tip == s->o.lip)
		send_arp(s, RTE_ARP_OP_REPLY, &ah->arp_data.arp_sha, ah->arp_data.arp_sip);
}

/* Verify len payload bytes of an in-order segment starting off bytes into
 * the chain (past the headers, and past any part the sink already had when
 * a retransmission overlaps rcv_nxt). */
static void verify_payload(struct sink *s, const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint64_t pos = s->bytes;

	while (m != NULL && len > 0) {
		if (off >= m->data_len) {
			off -= m->data_len;
			m = m->next;
			continue;
		}
		uint32_t n = m->data_len - off;
		if (n > len)
			n = len;
		const uint8_t *p = rte_pktmbuf_mtod_offset(m, const uint8_t *, off);
		size_t bad = dp_pat_check(&s->pat, pos, p, n);
		if (bad != n) {
			if (s->mismatches == 0)
				s->first_bad = pos + bad;
			s->mismatches++;
			return;
		}
		pos += n;
		len -= n;
		off = 0;
		m = m->next;
	}
}

static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static void rx_established(struct sink *s, struct rte_mbuf *m, const struct rte_tcp_hdr *th,
			   uint32_t hoff, uint32_t dlen)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	uint32_t end = seq + dlen;

	if ((th->tcp_flags & RTE_TCP_ACK_FLAG) &&
	    seq_diff(rte_be_to_cpu_32(th->recv_ack), s->iss + 9) >= 0)
		s->req_acked = 1;
	if (dlen > 0) {
		if (seq_diff(seq, s->rcv_nxt) > 0) {
			s->ooo++; /* a hole before it: drop, the peer resends */
			send_ack(s);
			return;
		}
		if (seq_diff(end, s->rcv_nxt) <= 0) {
			s->dup++;
			send_ack(s);
			return;
		}
		uint32_t skip = s->rcv_nxt - seq;
		uint32_t n = dlen - skip;
		if (s->bytes + n > s->want) {
			s->other++; /* more than asked for: a protocol error of the peer */
			n = (uint32_t)(s->want - s->bytes);
		}
		if (s->t_first == 0)
			s->t_first = rte_get_tsc_cycles();
		verify_payload(s, m, hoff + skip, n);
		s->bytes += n;
		s->pkts++;
		s->rcv_nxt += n;
		if (++s->unacked_segs >= s->o.ack_every)
			send_ack(s);
	}
	if ((th->tcp_flags & RTE_TCP_FIN_FLAG) && seq_diff(end, s->rcv_nxt) == 0) {
		s->rcv_nxt++;
		s->fin = 1;
		send_ack(s);
		s->st = ST_DONE;
	}
}

static void rx_syn_sent(struct sink *s, const struct rte_tcp_hdr *th)
{
	uint8_t want = RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG;

	if ((th->tcp_flags & want) != want || rte_be_to_cpu_32(th->recv_ack) != s->iss + 1)
		return;
	s->rcv_nxt = rte_be_to_cpu_32(th->sent_seq) + 1;
	s->snd_nxt = s->iss + 1 + 8;
	s->st = ST_ESTABLISHED;
	send_request(s);
	s->t_last_tx_ctl = rte_get_tsc_cycles();
}

static void rx_ipv4(struct sink *s, struct rte_mbuf *m)
{
	uint32_t l2 = sizeof(struct rte_ether_hdr);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint32_t ihl, iplen, thl;

	if (rte_pktmbuf_data_len(m) < l2 + sizeof(*ip) + sizeof(*th))
		return;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2);
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	iplen = rte_be_to_cpu_16(ip->total_length);
	if (ip->next_proto_id != IPPROTO_TCP || ip->dst_addr != s->o.lip ||
	    ip->src_addr != s->o.rip || ihl < 20 || iplen > rte_pktmbuf_pkt_len(m) - l2 ||
	    rte_pktmbuf_data_len(m) < l2 + ihl + sizeof(*th))
		return;
	th = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
	thl = (uint32_t)(th->data_off >> 4) * 4;
	if (th->src_port != rte_cpu_to_be_16(s->o.rport) ||
	    th->dst_port != rte_cpu_to_be_16(s->lport) || thl < 20 || ihl + thl > iplen)
		return;
	/* Trim Ethernet padding so the checksum covers only the datagram. */
	if (rte_pktmbuf_pkt_len(m) > l2 + iplen)
		rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - (l2 + iplen));
	if (s->o.check_csum &&
	    rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)(l2 + ihl)) != 0) {
		s->csum_errors++;
		return;
	}
	s->t_last_rx = rte_get_tsc_cycles();
	if (th->tcp_flags & RTE_TCP_RST_FLAG) {
		s->reset = 1;
		s->st = ST_DONE;
		return;
	}
	if (s->st == ST_SYN_SENT)
		rx_syn_sent(s, th);
	else if (s->st == ST_ESTABLISHED)
		rx_established(s, m, th, l2 + ihl + thl, iplen - ihl - thl);
}

static void rx_burst(struct sink *s)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n = rte_eth_rx_burst(s->port_id, 0, pkts, BURST);

	for (uint16_t k = 0; k < n; k++) {
		struct rte_mbuf *m = pkts[k];
		if (rte_pktmbuf_data_len(m) >= sizeof(struct rte_ether_hdr)) {
			struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
			if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
				rx_arp(s, m);
			else if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
				rx_ipv4(s, m);
		}
		rte_pktmbuf_free(m);
	}
	/* Queue drained: acknowledge the remainder instead of waiting for the
	 * next segment (the peer may have nothing more in flight). */
	if (n < BURST && s->unacked_segs > 0 && s->st == ST_ESTABLISHED)
		send_ack(s);
}

/* ---- control timers: ARP, SYN, request retransmission ---- */

static int timers(struct sink *s, uint64_t now)
{
	uint64_t ms = s->hz / 1000;

	switch (s->st) {
	case ST_ARP:
		if (now - s->t_last_tx_ctl >= ARP_RETRY_MS * ms) {
			send_arp(s, RTE_ARP_OP_REQUEST, NULL, s->o.rip);
			s->t_last_tx_ctl = now;
		}
		break;
	case ST_SYN_SENT:
		if (now - s->t_last_tx_ctl >= SYN_RETRY_MS * ms) {
			if (s->tries++ >= SYN_TRIES) {
				fprintf(stderr, "dp_tcpsink: no SYN-ACK after %d SYNs\n", SYN_TRIES);
				return -ETIMEDOUT;
			}
			send_tcp(s, RTE_TCP_SYN_FLAG, s->iss, NULL, 0);
			s->t_last_tx_ctl = now;
		}
		break;
	case ST_ESTABLISHED:
		if (!s->req_acked && s->bytes == 0 && now - s->t_last_tx_ctl >= SYN_RETRY_MS * ms) {
			send_request(s);
			s->t_last_tx_ctl = now;
		}
		if (now - s->t_last_rx >= IDLE_LIMIT_S * s->hz) {
			fprintf(stderr, "dp_tcpsink: nothing received for %d s\n", IDLE_LIMIT_S);
			return -ETIMEDOUT;
		}
		break;
	case ST_DONE:
		break;
	}
	return 0;
}

static int quit_requested(void)
{
	sigset_t pend;

	return sigpending(&pend) == 0 && (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM));
}

static int run(struct sink *s)
{
	uint64_t start = rte_get_tsc_cycles(), limit = (uint64_t)(s->o.secs * (double)s->hz);
	uint64_t setup_limit = (uint64_t)LINK_WAIT_S * s->hz;
	uint32_t loops = 0;
	int err = 0;

	s->st = ST_ARP;
	s->t_last_tx_ctl = 0;
	while (s->st != ST_DONE) {
		rx_burst(s);
		uint64_t now = rte_get_tsc_cycles();
		if ((err = timers(s, now)) != 0)
			break;
		if (s->t_first != 0 ? now - s->t_first >= limit : now - start >= setup_limit + limit) {
			if (s->o.bytes != 0 && s->t_first != 0)
				fprintf(stderr, "dp_tcpsink: time limit before the whole count\n");
			if (s->t_first == 0) {
				fprintf(stderr, "dp_tcpsink: no payload within the time limit\n");
				err = -ETIMEDOUT;
			}
			break;
		}
		if ((++loops & 0xfff) == 0 && quit_requested()) {
			err = -EINTR;
			break;
		}
	}
	s->t_end = rte_get_tsc_cycles();
	if (s->st == ST_ESTABLISHED)
		send_tcp(s, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, s->snd_nxt, NULL, 0);
	return err;
}

/* ---- setup ---- */

static int port_setup(struct sink *s)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	int err;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "dp_tcpsink: no ethdev (pass --vdev net_memif0,role=client,...)\n");
		return -ENODEV;
	}
	s->port_id = 0;
	s->pool = rte_pktmbuf_pool_create("sink_pool", NB_MBUFS, MBUF_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (s->pool == NULL)
		return -rte_errno;
	if ((err = rte_eth_dev_configure(s->port_id, 1, 1, &conf)) != 0 ||
	    (err = rte_eth_rx_queue_setup(s->port_id, 0, RX_DESC, rte_eth_dev_socket_id(s->port_id),
					  NULL, s->pool)) != 0 ||
	    (err = rte_eth_tx_queue_setup(s->port_id, 0, TX_DESC, rte_eth_dev_socket_id(s->port_id),
					  NULL)) != 0 ||
	    (err = rte_eth_dev_start(s->port_id)) != 0)
		return err;
	rte_eth_macaddr_get(s->port_id, &s->lmac);
	for (int k = 0; k < LINK_WAIT_S * 10; k++) {
		rte_eth_link_get_nowait(s->port_id, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(100);
	}
	fprintf(stderr, "dp_tcpsink: link still down after %d s (is the server side up?)\n",
		LINK_WAIT_S);
	return -ENOLINK;
}

static int parse_opts(int argc, char **argv, struct sink_opts *o)
{
	struct in_addr a;
	int c;

	o->lip = htonl(0xc6120001); /* 198.18.0.1 */
	o->rip = htonl(0xc6120002); /* 198.18.0.2 */
	o->rport = DP_SOURCE_PORT;
	o->secs = 10;
	o->ack_every = 2;
	o->wscale = 9;
	o->check_csum = 1;
	while ((c = getopt(argc, argv, "l:r:p:T:b:a:w:c:")) != -1) {
		switch (c) {
		case 'l':
		case 'r':
			if (inet_pton(AF_INET, optarg, &a) != 1)
				return -EINVAL;
			*(c == 'l' ? &o->lip : &o->rip) = a.s_addr;
			break;
		case 'p': o->rport = (uint16_t)atoi(optarg); break;
		case 'T': o->secs = atof(optarg); break;
		case 'b': o->bytes = strtoull(optarg, NULL, 0); break;
		case 'a': o->ack_every = (uint32_t)atoi(optarg); break;
		case 'w': o->wscale = (uint8_t)atoi(optarg); break;
		case 'c': o->check_csum = atoi(optarg) != 0; break;
		default: return -EINVAL;
		}
	}
	if (optind != argc || o->rport == 0 || !(o->secs > 0) || o->secs > 600 ||
	    o->ack_every < 1 || o->ack_every > 16 || o->wscale > 14)
		return -EINVAL;
	return 0;
}

static void print_result(const struct sink *s)
{
	double secs = s->t_first ? (double)(s->t_end - s->t_first) / (double)s->hz : 0;

	printf("dp_tcpsink: bytes=%" PRIu64 " pkts=%" PRIu64 " secs=%.3f gbps=%.3f mpps=%.3f"
	       " mismatches=%" PRIu64 " ooo=%" PRIu64 " dup=%" PRIu64 " acks=%" PRIu64
	       " csum_errors=%" PRIu64 " fin=%d reset=%d\n",
	       s->bytes, s->pkts, secs, secs > 0 ? (double)s->bytes * 8 / secs / 1e9 : 0,
	       secs > 0 ? (double)s->pkts / secs / 1e6 : 0, s->mismatches, s->ooo, s->dup, s->acks,
	       s->csum_errors, s->fin, s->reset);
	if (s->mismatches)
		printf("dp_tcpsink: first mismatch at stream byte %" PRIu64 "\n", s->first_bad);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sink s;
	sigset_t mask;
	int n, err, rc = 1;

	memset(&s, 0, sizeof(s));
	/* Signals stay pending and are polled: no handler, no global flag. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "dp_tcpsink: EAL init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	if (parse_opts(argc, argv, &s.o) != 0) {
		fprintf(stderr, "usage: dp_tcpsink [EAL] -- [-l LOCAL_IP] [-r REMOTE_IP] [-p PORT]"
				" [-T SECONDS] [-b BYTES] [-a ACK_EVERY] [-w WSCALE] [-c 0|1]\n");
		goto out_eal;
	}
	if ((err = dp_pat_init(&s.pat)) != 0) {
		fprintf(stderr, "dp_tcpsink: pattern table: %s\n", strerror(-err));
		goto out_eal;
	}
	if ((err = port_setup(&s)) != 0) {
		fprintf(stderr, "dp_tcpsink: port setup: %s\n", strerror(err < 0 ? -err : err));
		goto out;
	}
	s.hz = rte_get_tsc_hz();
	s.want = s.o.bytes ? s.o.bytes : ENDLESS;
	s.lport = (uint16_t)(40000 + rte_rand() % 20000);
	s.iss = (uint32_t)rte_rand();
	err = run(&s);
	print_result(&s);
	rc = (err == 0 || err == -EINTR) && s.bytes > 0 && s.mismatches == 0 && s.csum_errors == 0 &&
	     !s.other && (s.o.bytes == 0 || (s.bytes == s.o.bytes && s.fin)) &&
	     (s.o.bytes != 0 || !s.reset) ? 0 : 1;
	rte_eth_dev_stop(s.port_id);
	rte_eth_dev_close(s.port_id);
out:
	dp_pat_free(&s.pat);
out_eal:
	rte_eal_cleanup();
	return rc;
}
