/* ARP: answer for our address, learn peers into a small per-worker table,
 * resolve next hops for output (queueing a few packets meanwhile), age
 * entries. Every valid ARP frame from the wire is mirrored to the exception
 * interface so the kernel sharing our address learns its neighbours too, and
 * copied to the other workers so their tables learn the same answers. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/dp_net.h"

#define ARP_FRAME_LEN (sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr))
#define ETH_MIN_FRAME 60 /* without FCS; real NICs pad, we do it explicitly */

static struct dp_arp_entry *arp_find(struct dp_net *n, uint32_t ip)
{
	for (unsigned i = 0; i < DP_ARP_ENTRIES; i++)
		if (n->arp[i].state != DP_ARP_FREE && n->arp[i].ip == ip)
			return &n->arp[i];
	return NULL;
}

const struct dp_arp_entry *dp_arp_lookup(const struct dp_net *n, uint32_t ip)
{
	for (unsigned i = 0; i < DP_ARP_ENTRIES; i++)
		if (n->arp[i].state == DP_ARP_REACHABLE && n->arp[i].ip == ip)
			return &n->arp[i];
	return NULL;
}

static void arp_entry_clear(struct dp_net *n, struct dp_arp_entry *e, uint64_t *drop)
{
	for (unsigned k = 0; k < e->npending; k++) {
		rte_pktmbuf_free(e->pending[k]);
		e->pending[k] = NULL;
		if (drop)
			(*drop)++;
	}
	memset(e, 0, sizeof(*e));
}

/* Whether e may be evicted for a new entry. The gateway's entry never is
 * (every off-link packet needs it); entries being resolved are kept (they
 * hold queued packets); a passively learned entry (passive: an ARP request
 * from an unknown sender, which anybody on the link can forge) may only
 * evict another passive one. */
static int arp_evictable(const struct dp_net *n, const struct dp_arp_entry *e, int passive)
{
	if (e->state != DP_ARP_REACHABLE || e->ip == n->cfg.gateway)
		return 0;
	return !passive || e->passive;
}

/* A free slot, else the least recently confirmed evictable entry, passive
 * ones first. NULL when nothing may go. */
static struct dp_arp_entry *arp_alloc(struct dp_net *n, uint32_t ip, int passive)
{
	struct dp_arp_entry *victim = NULL;

	for (unsigned i = 0; i < DP_ARP_ENTRIES; i++) {
		struct dp_arp_entry *e = &n->arp[i];
		if (e->state == DP_ARP_FREE) {
			victim = e;
			break;
		}
		if (!arp_evictable(n, e, passive))
			continue;
		if (!victim || e->passive > victim->passive ||
		    (e->passive == victim->passive && e->updated_us < victim->updated_us))
			victim = e;
	}
	if (!victim)
		return NULL;
	arp_entry_clear(n, victim, NULL);
	victim->ip = ip;
	victim->passive = (uint8_t)passive;
	return victim;
}

/* Prepend Ethernet to an IPv4 packet and transmit it. */
static void arp_send_ipv4(struct dp_net *n, struct rte_mbuf *m, const struct rte_ether_addr *dst)
{
	struct rte_ether_hdr *eh =
		(struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(struct rte_ether_hdr));

	if (!eh) {
		n->st.drop_no_mbuf++; /* no headroom: a bug upstream, never crash */
		rte_pktmbuf_free(m);
		return;
	}
	rte_ether_addr_copy(dst, &eh->dst_addr);
	rte_ether_addr_copy(&n->cfg.mac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	m->l2_len = sizeof(struct rte_ether_hdr);
	dp_net_tx(n, m);
}

static void arp_fill(struct rte_arp_hdr *ah, uint16_t op, const struct rte_ether_addr *sha,
		     uint32_t sip, const struct rte_ether_addr *tha, uint32_t tip)
{
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = 4;
	ah->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(sha, &ah->arp_data.arp_sha);
	ah->arp_data.arp_sip = sip;
	rte_ether_addr_copy(tha, &ah->arp_data.arp_tha);
	ah->arp_data.arp_tip = tip;
}

static void arp_send_request(struct dp_net *n, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(n->pool);
	struct rte_ether_addr zero = { { 0 } };
	struct rte_ether_hdr *eh;
	char *p;

	if (!m) {
		n->st.drop_no_mbuf++;
		return;
	}
	p = rte_pktmbuf_append(m, ETH_MIN_FRAME);
	if (!p) {
		rte_pktmbuf_free(m);
		n->st.drop_no_mbuf++;
		return;
	}
	memset(p, 0, ETH_MIN_FRAME);
	eh = (struct rte_ether_hdr *)p;
	memset(&eh->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&n->cfg.mac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp_fill((struct rte_arp_hdr *)(eh + 1), RTE_ARP_OP_REQUEST, &n->cfg.mac, n->cfg.ip,
		 &zero, tip);
	n->st.arp_requests_sent++;
	dp_net_tx(n, m);
}

static void arp_flush_pending(struct dp_net *n, struct dp_arp_entry *e)
{
	uint8_t cnt = e->npending;

	e->npending = 0;
	for (unsigned k = 0; k < cnt; k++) {
		struct rte_mbuf *m = e->pending[k];
		e->pending[k] = NULL;
		arp_send_ipv4(n, m, &e->mac);
	}
}

/* RFC 826 merge: refresh a known sender; create it only when the packet is
 * addressed to us (we will talk to it). */
static void arp_learn(struct dp_net *n, uint32_t sip, const struct rte_ether_addr *sha,
		      int to_us)
{
	struct dp_arp_entry *e;

	if (sip == 0 || sip == n->cfg.ip || !dp_net_on_link(n, sip) ||
	    !rte_is_unicast_ether_addr(sha) || rte_is_zero_ether_addr(sha))
		return;
	e = arp_find(n, sip);
	if (!e) {
		if (!to_us)
			return;
		e = arp_alloc(n, sip, 1);
		if (!e) {
			n->st.drop_arp_table_full++;
			return;
		}
	}
	rte_ether_addr_copy(sha, &e->mac);
	e->updated_us = n->now_us;
	e->tries = 0;
	if (e->state != DP_ARP_REACHABLE)
		n->st.arp_learned++;
	e->state = DP_ARP_REACHABLE;
	arp_flush_pending(n, e);
}

/* Copies for the kernel (so it sees the replies to its own requests and
 * learns neighbours) and for the other workers' tables. Copies, not clones:
 * the original may be rewritten into our reply. */
static void arp_share(struct dp_net *n, struct rte_mbuf *m)
{
	struct rte_mbuf *c;

	if (n->ops.tx_exception) {
		c = rte_pktmbuf_copy(m, n->pool, 0, UINT32_MAX);
		if (c) {
			n->st.arp_mirrored++;
			n->st.exc_tx_pkts++;
			n->ops.tx_exception(n->ops.arg, c);
		} else {
			n->st.drop_no_mbuf++;
		}
	}
	for (uint16_t w = 0; w < n->cfg.nb_workers; w++) {
		if (w == n->cfg.worker_id)
			continue;
		c = rte_pktmbuf_copy(m, n->pool, 0, UINT32_MAX);
		if (!c) {
			n->st.drop_no_mbuf++;
			continue;
		}
		if (n->ops.forward(n->ops.arg, w, c) != 0) {
			n->st.drop_fwd_full++;
			rte_pktmbuf_free(c);
			continue;
		}
		n->st.fwd_out++;
	}
}

/* Rewrite the request in m into our reply, in place. */
static void arp_reply(struct dp_net *n, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *ah = (struct rte_arp_hdr *)(eh + 1);
	struct rte_ether_addr peer_mac = ah->arp_data.arp_sha;
	uint32_t peer_ip = ah->arp_data.arp_sip;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (RTE_MBUF_CLONED(m) || rte_mbuf_refcnt_read(m) != 1 || m->nb_segs != 1) {
		n->st.drop_arp_bad++; /* shared data: never write into it */
		rte_pktmbuf_free(m);
		return;
	}
	if (len > ETH_MIN_FRAME) {
		rte_pktmbuf_trim(m, (uint16_t)(len - ETH_MIN_FRAME));
	} else if (len < ETH_MIN_FRAME) {
		/* unpadded request (a TAP delivers 42 bytes): pad the reply */
		char *pad = rte_pktmbuf_append(m, (uint16_t)(ETH_MIN_FRAME - len));
		if (pad)
			memset(pad, 0, ETH_MIN_FRAME - len);
	}
	rte_ether_addr_copy(&peer_mac, &eh->dst_addr);
	rte_ether_addr_copy(&n->cfg.mac, &eh->src_addr);
	arp_fill(ah, RTE_ARP_OP_REPLY, &n->cfg.mac, n->cfg.ip, &peer_mac, peer_ip);
	m->ol_flags = 0;
	n->st.arp_replies_sent++;
	dp_net_tx(n, m);
}

static int arp_valid(const struct rte_mbuf *m, const struct rte_arp_hdr **out)
{
	const struct rte_arp_hdr *ah;
	uint16_t op;

	if (rte_pktmbuf_data_len(m) < ARP_FRAME_LEN)
		return 0;
	ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	op = rte_be_to_cpu_16(ah->arp_opcode);
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ah->arp_hlen != RTE_ETHER_ADDR_LEN || ah->arp_plen != 4 ||
	    (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY))
		return 0;
	*out = ah;
	return 1;
}

void dp_arp_input(struct dp_net *n, struct rte_mbuf *m, int learn_only)
{
	const struct rte_arp_hdr *ah;
	int to_us, request;

	if (!arp_valid(m, &ah)) {
		n->st.drop_arp_bad++;
		rte_pktmbuf_free(m);
		return;
	}
	to_us = ah->arp_data.arp_tip == n->cfg.ip;
	request = ah->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp_learn(n, ah->arp_data.arp_sip, &ah->arp_data.arp_sha, to_us);
	if (learn_only) {
		rte_pktmbuf_free(m);
		return;
	}
	if (request)
		n->st.arp_requests_rcvd++;
	else
		n->st.arp_replies_rcvd++;
	arp_share(n, m);
	if (request && to_us && ah->arp_data.arp_sip != n->cfg.ip)
		arp_reply(n, m);
	else
		rte_pktmbuf_free(m);
}

void dp_arp_output(struct dp_net *n, struct rte_mbuf *m, uint32_t nh)
{
	struct dp_arp_entry *e = arp_find(n, nh);

	if (e && e->state == DP_ARP_REACHABLE) {
		e->passive = 0; /* we talk to it */
		/* Refresh in the background before the entry ages out. */
		if (n->now_us - e->updated_us > n->cfg.arp_timeout_us / 4 * 3 &&
		    n->now_us - e->requested_us > DP_ARP_RETRY_US) {
			e->requested_us = n->now_us;
			arp_send_request(n, nh);
		}
		arp_send_ipv4(n, m, &e->mac);
		return;
	}
	if (!e) {
		e = arp_alloc(n, nh, 0);
		if (!e) {
			n->st.drop_arp_table_full++;
			rte_pktmbuf_free(m);
			return;
		}
		e->state = DP_ARP_INCOMPLETE;
		e->tries = 1;
		e->requested_us = n->now_us;
		arp_send_request(n, nh);
	}
	if (e->npending >= DP_ARP_PENDING) {
		n->st.drop_arp_queue_full++;
		rte_pktmbuf_free(m);
		return;
	}
	e->pending[e->npending++] = m;
	n->st.arp_queued++;
}

void dp_arp_timers(struct dp_net *n)
{
	for (unsigned i = 0; i < DP_ARP_ENTRIES; i++) {
		struct dp_arp_entry *e = &n->arp[i];

		if (e->state == DP_ARP_REACHABLE &&
		    n->now_us - e->updated_us >= n->cfg.arp_timeout_us) {
			n->st.arp_expired++;
			arp_entry_clear(n, e, NULL);
		} else if (e->state == DP_ARP_INCOMPLETE &&
			   n->now_us - e->requested_us >= DP_ARP_RETRY_US) {
			if (e->tries >= DP_ARP_MAX_TRIES) {
				arp_entry_clear(n, e, &n->st.drop_arp_unresolved);
				continue;
			}
			e->tries++;
			e->requested_us = n->now_us;
			arp_send_request(n, e->ip);
		}
	}
}

void dp_net_timers(struct dp_net *n, uint64_t now_us)
{
	n->now_us = now_us;
	dp_arp_timers(n);
}
