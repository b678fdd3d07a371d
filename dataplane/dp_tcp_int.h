/* dp_tcp internals shared by the dp_tcp_*.c files. Not for other modules:
 * they use dataplane/dp_tcp.h only. */
#ifndef DP_TCP_INT_H
#define DP_TCP_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/dp_tcp.h"
#include "dataplane/dp_tcp_seq.h"

#define DP_TCP_MAX_LISTEN 16
#define DP_TCP_OOO_SLOTS 32     /* out-of-order segments held per conn */
#define DP_TCP_SACK_SCORE 8     /* SACKed ranges remembered per conn */
#define DP_TCP_WHEEL_SLOTS 4096 /* power of two */
#define DP_TCP_MAX_OPT_SACK 4
#define DP_TCP_TS_HZ 1000       /* our timestamp clock: milliseconds */
#define DP_TCP_DUPTHRESH 3      /* RFC 5681 / 6675 DupThresh, the starting point */
#define DP_TCP_REORDER_MAX 127  /* cap of the adapted threshold, segments */

/* TCP header flags. */
#define DP_TH_FIN 0x01
#define DP_TH_SYN 0x02
#define DP_TH_RST 0x04
#define DP_TH_PSH 0x08
#define DP_TH_ACK 0x10
#define DP_TH_URG 0x20

/* Connection table key, all fields in network order. */
struct dp_tcp_key {
	uint32_t rip;
	uint32_t lip;
	uint16_t rport;
	uint16_t lport;
};

/* Parsed TCP options of one segment. */
struct dp_tcp_opts {
	uint16_t mss;
	uint8_t wscale;
	uint8_t has_mss, has_wscale, sack_ok, has_ts;
	uint8_t nsack;
	uint32_t tsval, tsecr;
	uint32_t sack[DP_TCP_MAX_OPT_SACK][2];
};

/* One queued payload reference: len bytes at byte off of segment seg's data.
 * The queue owns one refcount on seg per entry. */
struct dp_tcp_sndref {
	struct rte_mbuf *seg;
	uint32_t off;
	uint32_t len;
};

struct dp_tcp_ooo {
	uint32_t seq;
	uint32_t len;
	struct rte_mbuf *m;  /* payload chain, headers trimmed */
};

struct dp_tcp_range {
	uint32_t start, end;
};

struct dp_tcp_listener {
	uint16_t port; /* host order, 0 = free slot */
	struct dp_tcp_app app;
	void *app_arg;
};

/* Everything the input path knows about the segment being processed. */
struct dp_tcp_seg {
	uint32_t seq, ack;
	uint32_t len;       /* payload bytes */
	uint16_t wnd;       /* raw window field */
	uint8_t flags;
	struct dp_tcp_opts opts;
	struct rte_mbuf *m; /* payload only (headers trimmed), may be NULL */
};

struct dp_tcp_conn {
	struct dp_tcp_stack *st;
	struct dp_tcp_key key;
	uint8_t state;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t sack_ok, ts_ok, ws_ok;
	uint8_t in_table, busy, dead;    /* dead: destroyed, free when !busy */
	uint8_t tx_blocked;              /* waiting in st->blocked for TX room */
	TAILQ_ENTRY(dp_tcp_conn) bl;
	uint8_t accepted;                /* on_accept said yes */
	uint8_t fin_queued, fin_sent, fin_rcvd;
	uint8_t want_writable, in_recovery;
	uint8_t ack_now;
	uint8_t ooo_fin;                 /* a FIN seen at ooo_fin_seq */
	uint8_t backoff, syn_retries, keep_sent;
	uint16_t mss;                    /* send MSS, payload bytes w/o options */
	uint16_t dupacks;
	uint8_t reord;                   /* DupThresh in use, raised on reordering */
	uint8_t undo_ok;                 /* recovery may still prove spurious */
	uint32_t undo_tsval;             /* our TSval when recovery started */
	uint32_t undo_cwnd, undo_ssthresh, undo_extent;
	double undo_wmax;

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_wl1, snd_wl2;
	uint32_t queued;                 /* payload bytes from snd_una on */
	uint32_t fin_seq;                /* valid when fin_queued */
	uint32_t recover, hi_rxt;
	uint32_t nref, ref_head;
	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv, app_held;
	uint32_t rcv_buf;                /* dp_tcp_rcv_limit(); 0 = cfg.rcv_wnd */
	uint32_t ts_recent, last_ack_sent;
	uint32_t ooo_bytes, ooo_fin_seq, last_ooo_seq;
	uint8_t nooo, nsacked;
	/* RTT (RFC 6298) */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t rtt_seq;
	uint64_t rtt_start_us;           /* 0: no segment timed */
	/* congestion control */
	uint32_t cwnd, ssthresh, cwnd_acc;
	double cubic_wmax, cubic_k, cubic_west;
	uint64_t cubic_epoch_us;
	/* timers: absolute deadlines in us, 0 = off */
	uint64_t t_rexmt, t_delack, t_persist, t_keep, t_idle, t_2msl;
	uint64_t last_rx_us;
	uint32_t persist_backoff;
	/* timer wheel link; list of all conns of the stack */
	struct dp_tcp_conn *w_next, **w_pprev;
	struct dp_tcp_conn *a_next, **a_pprev;
	uint64_t w_deadline;
	/* app */
	struct dp_tcp_listener *lst;
	void *conn_arg;
	uint64_t retransmits;
	struct dp_tcp_range sacked[DP_TCP_SACK_SCORE];
	struct dp_tcp_ooo ooo[DP_TCP_OOO_SLOTS];
	struct dp_tcp_sndref refs[]; /* cfg.snd_refs_max entries, a ring */
};

struct dp_tcp_stack {
	struct dp_tcp_cfg cfg;
	struct dp_tcp_ops ops;
	struct rte_mempool *hdr_pool;
	struct rte_mempool *conn_pool;
	struct rte_hash *tbl;
	int socket_id;
	uint32_t nconns, nsynrcvd;
	uint16_t ip_id;
	uint64_t now_us;
	uint64_t last_cookie_us;
	uint64_t sip_key[2];
	uint32_t ts_offset;
	struct dp_tcp_listener lst[DP_TCP_MAX_LISTEN];
	struct dp_tcp_conn **wheel;
	struct dp_tcp_conn *all;         /* every conn in the table */
	TAILQ_HEAD(dp_tcp_blocked, dp_tcp_conn) blocked; /* stopped on a full TX buffer */
	uint8_t tx_resuming;             /* inside dp_tcp_tx_resume */
	uint64_t wheel_tick;             /* last tick processed */
	struct dp_tcp_stats stats;
	char name[RTE_MEMPOOL_NAMESIZE];
};

/* dp_tcp_opts.c */
int dp_tcp_opts_parse(const uint8_t *buf, uint32_t len, int syn, struct dp_tcp_opts *o);
uint32_t dp_tcp_opts_write_syn(uint8_t *p, uint16_t mss, int ws, uint8_t wscale, int sack,
			       int ts, uint32_t tsval, uint32_t tsecr);
uint32_t dp_tcp_opts_write(uint8_t *p, int ts, uint32_t tsval, uint32_t tsecr,
			   const struct dp_tcp_range *sack, uint32_t nsack);

/* dp_tcp_syncookie.c */
uint64_t dp_tcp_siphash(const uint64_t key[2], const uint8_t *data, uint32_t len);
uint32_t dp_tcp_cookie_make(const struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			    uint32_t peer_isn, uint16_t peer_mss, uint16_t *mss_out);
int dp_tcp_cookie_check(const struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			uint32_t peer_isn, uint32_t cookie, uint16_t *mss_out);
uint32_t dp_tcp_cookie_ts_encode(uint32_t tsval, int wscale_ok, uint8_t wscale, int sack);
void dp_tcp_cookie_ts_decode(uint32_t tsecr, int *wscale_ok, uint8_t *wscale, int *sack);
uint32_t dp_tcp_isn(const struct dp_tcp_stack *st, const struct dp_tcp_key *k);

/* dp_tcp_timer.c */
void dp_tcp_timer_update(struct dp_tcp_conn *c);
void dp_tcp_timer_unlink(struct dp_tcp_conn *c);
void dp_tcp_timer_run(struct dp_tcp_stack *st, uint64_t now_us);

/* dp_tcp_cc.c */
void dp_tcp_cc_init(struct dp_tcp_conn *c);
void dp_tcp_cc_on_ack(struct dp_tcp_conn *c, uint32_t acked, uint64_t now_us);
void dp_tcp_cc_on_loss(struct dp_tcp_conn *c, int rto, uint64_t now_us);
void dp_tcp_cc_exit_recovery(struct dp_tcp_conn *c, uint64_t now_us);

/* dp_tcp_sack.c */
void dp_tcp_sack_update(struct dp_tcp_conn *c, const struct dp_tcp_opts *o);
void dp_tcp_sack_prune(struct dp_tcp_conn *c);
uint32_t dp_tcp_sack_bytes(const struct dp_tcp_conn *c);
uint32_t dp_tcp_sack_highest(const struct dp_tcp_conn *c);
int dp_tcp_sack_is_sacked(const struct dp_tcp_conn *c, uint32_t seq, uint32_t *run_end);
int dp_tcp_sack_next_hole(const struct dp_tcp_conn *c, uint32_t from, uint32_t *hole_start,
			  uint32_t *hole_end);
uint32_t dp_tcp_sack_blocks_out(const struct dp_tcp_conn *c, struct dp_tcp_range *out,
				uint32_t max);

/* dp_tcp_output.c */
int dp_tcp_output(struct dp_tcp_conn *c);
int dp_tcp_send_ack(struct dp_tcp_conn *c);
int dp_tcp_send_synack(struct dp_tcp_conn *c);
int dp_tcp_send_synack_cookie(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
			      uint32_t iss, uint32_t rcv_nxt, const struct dp_tcp_opts *o,
			      uint16_t mss);
int dp_tcp_send_rst_conn(struct dp_tcp_conn *c);
int dp_tcp_send_rst_conn_flags(struct dp_tcp_conn *c, uint8_t flags);
int dp_tcp_send_probe(struct dp_tcp_conn *c);
int dp_tcp_retransmit(struct dp_tcp_conn *c, uint32_t seq, uint32_t maxlen);
void dp_tcp_sndq_ack(struct dp_tcp_conn *c, uint32_t bytes);
void dp_tcp_sndq_flush(struct dp_tcp_conn *c);
uint32_t dp_tcp_rcv_window(const struct dp_tcp_conn *c);
uint32_t dp_tcp_ts_now(const struct dp_tcp_stack *st);
uint32_t dp_tcp_data_mss(const struct dp_tcp_conn *c);
struct rte_ipv4_hdr;
uint16_t dp_tcp_l4_sum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4_off);

/* dp_tcp_input.c */
int dp_tcp_conn_input(struct dp_tcp_conn *c, struct dp_tcp_seg *s);

/* dp_tcp.c */
void dp_tcp_set_state(struct dp_tcp_conn *c, int state);
void dp_tcp_conn_destroy(struct dp_tcp_conn *c);
void dp_tcp_conn_final(struct dp_tcp_conn *c, int reason);
void dp_tcp_conn_release(struct dp_tcp_conn *c);
struct dp_tcp_conn *dp_tcp_conn_new(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
				    struct dp_tcp_listener *l);
void dp_tcp_conn_timers_fire(struct dp_tcp_conn *c, uint64_t now_us);
void dp_tcp_rtt_sample(struct dp_tcp_conn *c, uint32_t rtt_us);
struct dp_tcp_listener *dp_tcp_find_listener(struct dp_tcp_stack *st, uint16_t port);
int dp_tcp_conn_establish(struct dp_tcp_conn *c);

#endif /* DP_TCP_INT_H */
