/* dp_tcp: the dataplane's userspace TCP, server side (passive open only).
 *
 * One stack object per worker lcore; a stack and its connections are never
 * touched by another lcore. The worker feeds it validated IPv4 packets
 * (dp_tcp_input), calls dp_tcp_timers() every loop, and gives it a function
 * to emit IPv4 packets (dp_tcp_ops.ip_output).
 *
 * Transmit is built for fan-out: dp_tcp_send() queues payload by reference
 * (one refcount per mbuf segment), each emitted segment is a small header mbuf
 * chained to indirect mbufs attached to that payload, and retransmissions
 * resend the same referenced bytes. Payload is never copied on the send path.
 *
 * Receive: in-order payload is handed to the app as the received mbuf chain
 * with the headers trimmed (no copy); out-of-order segments wait in a bounded
 * queue. Times are in microseconds from a monotonic clock the worker supplies.
 */
#ifndef DP_TCP_H
#define DP_TCP_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

struct dp_tcp_stack;
struct dp_tcp_conn;

/* Congestion controllers (dp_tcp_cfg.cc). */
enum dp_tcp_cc_algo {
	DP_TCP_CC_CUBIC = 0,
	DP_TCP_CC_NEWRENO = 1,
};

/* Stack configuration. Zero in any numeric field means "use the default"
 * (dp_tcp_cfg_defaults() fills every field explicitly). Read-only once the
 * stack is created. */
struct dp_tcp_cfg {
	uint32_t local_ip;        /* the appliance's address, network order */
	uint32_t max_conns;       /* connection table size, all states (4096) */
	uint32_t syn_backlog;     /* half-open (SYN_RECEIVED) conns before cookies (256) */
	uint32_t ooo_max_bytes;   /* out-of-order bytes held per conn (256 KiB) */
	uint32_t snd_buf_max;     /* unacknowledged + unsent bytes per conn (1 MiB) */
	uint32_t snd_refs_max;    /* payload references queued per conn (256) */
	uint32_t rcv_wnd;         /* receive window offered, bytes (256 KiB) */
	uint16_t mss;             /* our MSS, also the cap on what we send (1460) */
	uint8_t wscale;           /* window shift we offer, 0..14 (7) */
	uint8_t no_wscale;        /* 1: do not offer window scaling */
	int sack;                 /* offer/accept SACK (1) */
	int timestamps;           /* offer/accept RFC 7323 timestamps (1) */
	int syncookies;           /* 1: cookies when the SYN backlog is full (default);
	                           * 0: drop SYNs when full; 2: always cookies */
	int tx_csum_offload;      /* 1: set TX offload flags instead of computing
	                           * IPv4/TCP checksums in software */
	int cc;                   /* enum dp_tcp_cc_algo */
	uint32_t init_cwnd_segs;  /* initial window, segments (10) */
	uint32_t delack_ms;       /* delayed-ACK timer (40) */
	uint32_t rto_init_ms;     /* RTO before any RTT sample (1000) */
	uint32_t rto_min_ms;      /* (200) */
	uint32_t rto_max_ms;      /* (60000) */
	uint32_t max_retries;     /* RTO expiries in a row before reset (8) */
	uint32_t syn_retries;     /* SYN-ACK retransmissions before dropping (3) */
	uint32_t idle_timeout_ms; /* no segment from the peer for this long: reset (300000) */
	uint32_t keepalive_ms;    /* idle time before the first keepalive; 0 = off (75000);
	                           * probes every keepalive_intvl_ms, reset after
	                           * keepalive_probes unanswered */
	uint32_t keepalive_intvl_ms; /* (10000) */
	uint32_t keepalive_probes;   /* (5) */
	uint32_t time_wait_ms;    /* TIME_WAIT duration (1000; short on purpose) */
	uint32_t fin_wait2_ms;    /* FIN_WAIT_2 without peer FIN before reset (30000) */
	uint32_t persist_max_ms;  /* cap of the zero-window probe interval (60000) */
	uint32_t tick_us;         /* timer wheel granularity (1000) */
	uint64_t secret_seed;     /* 0: random per stack; else deterministic (tests) */
};

/* Fill *cfg with the defaults named above (local_ip = 0). */
void dp_tcp_cfg_defaults(struct dp_tcp_cfg *cfg);

/* Provided by the worker. */
struct dp_tcp_ops {
	/* Send one IPv4 packet: m->data starts at the IPv4 header, headroom
	 * >= DP_TCP_L2_HEADROOM bytes for L2. IPv4 and TCP checksums are filled,
	 * or, with cfg.tx_csum_offload, the offload flags and l2/l3/l4 lengths
	 * are set (l2_len = 0: the worker sets it when it prepends L2) and the
	 * TCP checksum field holds the pseudo-header sum. m may be a chain (header
	 * mbuf + indirect payload mbufs). Ownership of m passes to the callee in
	 * all cases (it frees it when it cannot send). */
	void (*ip_output)(void *arg, struct rte_mbuf *m);
	/* Frames ip_output can still take without dropping (the worker's TX
	 * buffer); NULL = no limit. Below DP_TCP_TX_RESERVE a connection stops
	 * sending data and waits in line for dp_tcp_tx_resume(): a fan-out
	 * round to thousands of viewers must queue, not overflow the port and
	 * fall back on retransmission. ACKs and RSTs still go (the reserve). */
	uint32_t (*tx_room)(void *arg);
	void *arg;
};

#define DP_TCP_TX_RESERVE 32

#define DP_TCP_L2_HEADROOM 64 /* headroom left in front of every emitted packet */

/* One per listening port (a service: echo, source, RTMP). Callbacks run on
 * the worker lcore from inside dp_tcp_input() / dp_tcp_timers(); they may call
 * dp_tcp_send / dp_tcp_shutdown / dp_tcp_abort on the connection they are
 * given. */
struct dp_tcp_app {
	/* Three-way handshake completed (the conn is ESTABLISHED and may send).
	 * Return 0 and set *conn_arg to accept; nonzero refuses: the peer gets a
	 * RST and the conn is gone. */
	int (*on_accept)(void *app_arg, struct dp_tcp_conn *c, void **conn_arg);
	/* In-order payload: a chain (may be multi-segment) whose data starts at
	 * the payload; pkt_len is the byte count. Ownership passes to the app. */
	void (*on_data)(void *conn_arg, struct dp_tcp_conn *c, struct rte_mbuf *m);
	/* Send space became available after a dp_tcp_send() accepted less than
	 * asked (or was refused with -EAGAIN). Optional (may be NULL). */
	void (*on_writable)(void *conn_arg, struct dp_tcp_conn *c);
	/* reason == DP_TCP_CLOSE_PEER_FIN (0): the peer finished sending; the conn
	 * lives on and the app may still send, then dp_tcp_shutdown().
	 * Any other reason is final: the conn pointer is dead after the call.
	 *   DP_TCP_CLOSE_DONE (1): both directions closed gracefully;
	 *   -ECONNRESET: the peer reset; -ETIMEDOUT: retransmission, keepalive,
	 *   idle or FIN_WAIT_2 timeout; -ECONNABORTED: stack destroyed.
	 * Not called after the app's own dp_tcp_abort(). */
	void (*on_close)(void *conn_arg, struct dp_tcp_conn *c, int reason);
};

#define DP_TCP_CLOSE_PEER_FIN 0
#define DP_TCP_CLOSE_DONE 1

/* Create a stack on NUMA socket socket_id (SOCKET_ID_ANY allowed): connection
 * table, connection pool and timer wheel are allocated there. hdr_pool is a
 * pktmbuf pool (data room >= DP_TCP_L2_HEADROOM + 120) used for header mbufs,
 * pure ACKs, RSTs and the indirect mbufs that reference payload; the stack
 * does not own it. cfg and ops are copied. Returns NULL and sets errno
 * (EINVAL bad cfg, ENOMEM, EEXIST). */
struct dp_tcp_stack *dp_tcp_stack_create(const struct dp_tcp_cfg *cfg, int socket_id,
					 struct rte_mempool *hdr_pool,
					 const struct dp_tcp_ops *ops);

/* Send RST to every live connection (no callbacks except on_close with
 * -ECONNABORTED), free everything. NULL is accepted. */
void dp_tcp_stack_destroy(struct dp_tcp_stack *st);

/* Register app on local TCP port. app is copied; app_arg is passed to
 * on_accept. Returns 0, -EADDRINUSE when the port already listens, -EINVAL. */
int dp_tcp_listen(struct dp_tcp_stack *st, uint16_t port, const struct dp_tcp_app *app,
		  void *app_arg);

/* Stop accepting new connections on port (existing ones carry on).
 * Returns 0 or -ENOENT. */
int dp_tcp_unlisten(struct dp_tcp_stack *st, uint16_t port);

/* Feed one packet. m->data is at the IPv4 header; the caller validated the
 * IPv4 header (version, IHL, total length vs frame, header checksum), trimmed
 * L2 padding so pkt_len == IPv4 total length, and made sure the IPv4 header is
 * in the first segment. Protocol must be TCP and the destination local_ip.
 * Returns 0 when consumed (m freed or kept; malformed segments are counted
 * and dropped), -ENOENT when no listener and no connection match (m untouched:
 * the caller hands it to the exception path, or calls dp_tcp_reply_rst()).
 * now_us: the worker's monotonic clock. */
int dp_tcp_input(struct dp_tcp_stack *st, struct rte_mbuf *m, uint64_t now_us);

/* Answer a segment for which dp_tcp_input() returned -ENOENT with a RST as
 * RFC 793 says (never a RST to a RST). Consumes m. Returns 0, -EINVAL when m
 * is not a usable TCP segment (freed anyway), -ENOBUFS. */
int dp_tcp_reply_rst(struct dp_tcp_stack *st, struct rte_mbuf *m);

/* Run due timers (retransmission, delayed ACK, persist, keepalive, idle,
 * TIME_WAIT). Call every loop iteration or at least every tick_us. */
void dp_tcp_timers(struct dp_tcp_stack *st, uint64_t now_us);

/* Queue len bytes of data starting at byte off of the chain `data` for
 * sending, by reference: the stack takes one reference on each mbuf segment
 * it keeps (rte_mbuf_refcnt_update), never copies payload, and releases them
 * as the bytes are acknowledged. The caller keeps its own reference. Emits
 * what the windows allow at once. Returns the bytes accepted (may be < len
 * when snd_buf_max or snd_refs_max is reached; the rest is not referenced),
 * -EAGAIN when nothing fits, -EPIPE after dp_tcp_shutdown or in a closing
 * state, -EINVAL when off + len exceeds the chain. */
int dp_tcp_send(struct dp_tcp_conn *c, struct rte_mbuf *data, uint32_t off, uint32_t len);

/* Bytes dp_tcp_send() would accept now (ignoring the reference limit). */
uint32_t dp_tcp_send_space(const struct dp_tcp_conn *c);

/* Bytes queued and not yet acknowledged by the peer. */
uint32_t dp_tcp_send_queued(const struct dp_tcp_conn *c);

/* Payload references the send queue holds (about one per mbuf segment it
 * pins): what queued bytes cost in mbufs when they arrived in small
 * segments. */
uint32_t dp_tcp_send_refs(const struct dp_tcp_conn *c);

/* Tell the stack how many delivered bytes the app still holds unconsumed;
 * the advertised window shrinks by that much (receive flow control). When the
 * window opens again the stack sends a window update. */
void dp_tcp_rcv_hold(struct dp_tcp_conn *c, uint32_t app_buffered);

/* Cap the receive buffer of c at bytes (0: back to cfg.rcv_wnd): the window
 * offered is then at most bytes less what the app holds and what waits out
 * of order. An app that keeps delivered mbufs (echo, proxies) sizes it to
 * its share of the RX mempool so the peers of many conns together cannot
 * drain it. An already advertised right edge is never taken back (the
 * window closes as data arrives). Takes effect with the next segment sent
 * or dp_tcp_rcv_hold() call. */
void dp_tcp_rcv_limit(struct dp_tcp_conn *c, uint32_t bytes);

/* Ask for one on_writable after the next segment from the peer that leaves
 * send space (usually an ACK freeing queued bytes). For an app that stopped
 * queueing on a limit of its own (a memory budget) rather than on
 * dp_tcp_send's. */
void dp_tcp_notify_writable(struct dp_tcp_conn *c);

/* Replace the conn_arg given to callbacks. */
void dp_tcp_set_arg(struct dp_tcp_conn *c, void *conn_arg);

/* Send FIN after all queued data. Returns 0, or -ENOTCONN when already shut
 * down / closing. The conn stays valid until the final on_close. */
int dp_tcp_shutdown(struct dp_tcp_conn *c);

/* Send RST and free the conn at once; no on_close follows. The pointer is
 * dead after the call (even inside a callback: the stack defers the free). */
void dp_tcp_abort(struct dp_tcp_conn *c);

/* Connection states (dp_tcp_conn_info.state, stats conns_<state>). */
enum dp_tcp_state {
	DP_TCP_CLOSED = 0,
	DP_TCP_SYN_RECEIVED,
	DP_TCP_ESTABLISHED,
	DP_TCP_CLOSE_WAIT,
	DP_TCP_LAST_ACK,
	DP_TCP_FIN_WAIT_1,
	DP_TCP_FIN_WAIT_2,
	DP_TCP_CLOSING,
	DP_TCP_TIME_WAIT,
	DP_TCP_NSTATES
};

/* Name of a state ("ESTABLISHED"...); "?" when out of range. */
const char *dp_tcp_state_name(int state);

/* Per-stack counters. X-macro so the stats exporter can walk every field by
 * name: #define X(n) emit(#n, s->n); DP_TCP_STATS_FIELDS(X) */
#define DP_TCP_STATS_FIELDS(X) \
	X(rx_segs) X(rx_bytes) X(tx_segs) X(tx_bytes) \
	X(tx_payload_bytes) X(rx_payload_bytes) \
	X(drop_bad_csum) X(drop_bad_hdr_len) X(drop_bad_opt_len) X(drop_bad_flags) \
	X(drop_no_conn) X(drop_out_of_window) X(drop_ooo_overflow) X(drop_syn_backlog) \
	X(drop_table_full) X(drop_no_mbuf) X(drop_multiseg_hdr) X(drop_bad_ack) \
	X(rst_sent) X(rst_rcvd) X(rst_challenge_acks) X(rst_ignored) \
	X(conns_opened) X(conns_closed) X(conns_refused) X(conns_reset) X(conns_timed_out) \
	X(conns_SYN_RECEIVED) X(conns_ESTABLISHED) X(conns_CLOSE_WAIT) X(conns_LAST_ACK) \
	X(conns_FIN_WAIT_1) X(conns_FIN_WAIT_2) X(conns_CLOSING) X(conns_TIME_WAIT) \
	X(retransmits) X(retransmit_bytes) X(rto_events) X(fast_retransmits) \
	X(sack_recoveries) X(spurious_recoveries) X(sack_blocks_rcvd) X(sack_blocks_sent) \
	X(dup_acks) \
	X(syn_cookies_sent) X(syn_cookies_validated) X(syn_cookies_failed) \
	X(ooo_segs) X(ooo_bytes_queued) X(ooo_bytes_held) \
	X(delayed_acks) X(quick_acks) X(window_probes) X(window_updates) \
	X(keepalive_probes) X(idle_timeouts) X(time_wait_expired) \
	X(payload_bytes_copied) X(send_refs_held) X(tx_blocked) X(tx_resumed)

struct dp_tcp_stats {
#define DP_TCP_STAT_DECL(n) uint64_t n;
	DP_TCP_STATS_FIELDS(DP_TCP_STAT_DECL)
#undef DP_TCP_STAT_DECL
};

/* The stack's counters (live; read on the owning lcore, or tolerate torn
 * reads from another). conns_<state> are gauges, the rest only grow, except
 * ooo_bytes_held and send_refs_held (gauges). */
const struct dp_tcp_stats *dp_tcp_stats(const struct dp_tcp_stack *st);

/* Connections currently in the table (all states). */
uint32_t dp_tcp_conn_count(const struct dp_tcp_stack *st);

/* Let connections that stopped on a full TX buffer send again, oldest
 * first, while there is room. Call after the TX buffer was flushed.
 * Returns the connections resumed. */
unsigned dp_tcp_tx_resume(struct dp_tcp_stack *st);

/* Bytes one connection occupies in the connection pool (state plus its
 * send-reference array, with the pool's per-object overhead). */
uint64_t dp_tcp_conn_obj_bytes(const struct dp_tcp_stack *st);

struct dp_tcp_conn_info {
	uint32_t peer_ip;      /* network order */
	uint16_t peer_port;    /* host order */
	uint16_t local_port;   /* host order */
	int state;             /* enum dp_tcp_state */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t cwnd, ssthresh;   /* bytes */
	uint32_t snd_wnd;          /* peer's window, bytes (scaled) */
	uint32_t rcv_wnd;          /* window we advertise now, bytes */
	uint16_t mss;              /* effective send MSS (payload bytes) */
	uint8_t snd_wscale, rcv_wscale; /* shift applied to peer's / our window */
	uint8_t sack_ok, ts_ok;
	uint32_t snd_una, snd_nxt, rcv_nxt; /* raw sequence numbers */
	uint32_t unacked_bytes, queued_bytes;
	uint32_t ooo_bytes;
	uint32_t ooo_segs;         /* segments (mbuf chains) held out of order */
	uint64_t retransmits;
};

/* Fill *info with a snapshot of c. */
void dp_tcp_conn_info(const struct dp_tcp_conn *c, struct dp_tcp_conn_info *info);

#endif /* DP_TCP_H */
