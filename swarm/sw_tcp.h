/* sw_tcp: the load generator's compact client TCP, one per simulated viewer.
 *
 * Pure protocol logic: no DPDK, no I/O, no clock of its own. The caller
 * parses arriving segments into struct sw_seg, passes the time, and gets
 * segments to send and in-order payload back through struct sw_tcp_ops, so
 * the same code runs in lifecast-swarm and in unit tests.
 *
 * What it does (a viewer mostly receives):
 *  - active open: SYN with MSS, window scale, SACK-permitted and timestamps;
 *    SYN retransmission with back-off;
 *  - in-order delivery; out-of-order segments are kept in a bounded
 *    reassembly buffer (allocated on first use, SW_TCP_OOO_BYTES) with up to
 *    SW_TCP_OOO_RANGES ranges, reported back as SACK blocks;
 *  - ACK every ack_every-th in-order segment, at once for anything out of
 *    order or duplicate, and for the remainder when the caller calls
 *    sw_tcp_flush_ack() at the end of a receive burst;
 *  - a constant advertised window (the application consumes at once);
 *  - its own sends (handshake, commands) are buffered (SW_TCP_SNDBUF) and
 *    retransmitted on RTO (go-back-N from snd_una, exponential back-off);
 *  - FIN from the peer is acknowledged and answered; RST ends the connection.
 */
#ifndef SW_TCP_H
#define SW_TCP_H

#include <stdint.h>

#define SW_TCP_SNDBUF 8192         /* our own bytes in flight or queued */
#define SW_TCP_OOO_BYTES (1u << 18) /* reassembly buffer, power of two */
#define SW_TCP_OOO_RANGES 8
#define SW_TCP_RTO_MIN_US 200000u
#define SW_TCP_RTO_MAX_US 4000000u
#define SW_TCP_SYN_TRIES 6
#define SW_TCP_DATA_TRIES 8

enum sw_tcp_state {
	SW_TCP_CLOSED = 0,
	SW_TCP_SYN_SENT,
	SW_TCP_ESTABLISHED,
	SW_TCP_FIN_SENT,  /* peer closed, our FIN sent */
	SW_TCP_DONE,      /* closed cleanly or by us */
	SW_TCP_FAILED     /* reset by the peer or retransmissions exhausted */
};

/* TCP flag bits (wire values). */
#define SW_TH_FIN 0x01
#define SW_TH_SYN 0x02
#define SW_TH_RST 0x04
#define SW_TH_PSH 0x08
#define SW_TH_ACK 0x10

/* An arriving segment, header fields in host order, options parsed. */
struct sw_seg {
	uint32_t seq, ack;
	uint16_t wnd;          /* raw field, unscaled */
	uint8_t flags;
	uint8_t has_ts, has_mss, has_ws, sack_ok;
	uint8_t ws;
	uint16_t mss;
	uint32_t tsval, tsecr;
	const uint8_t *data;   /* payload, contiguous */
	uint32_t len;
};

struct sw_sack_block {
	uint32_t start, end;
};

/* A segment to send. data points into the connection's send buffer and is
 * valid only during the emit call. */
struct sw_tcp_out {
	uint8_t flags;
	uint8_t syn_opts;      /* SYN: put MSS and WS (and TS) */
	uint8_t sack_perm;     /* SYN: put SACK-permitted */
	uint8_t ts;            /* put a timestamp option */
	uint8_t ws;
	uint8_t nsack;         /* SACK blocks to put (<= 3) */
	uint16_t mss;
	uint16_t wnd;          /* field value (already scaled down) */
	uint32_t seq, ack;
	uint32_t tsval, tsecr;
	struct sw_sack_block sack[3];
	const uint8_t *data;
	uint32_t len;
};

/* Caller hooks, shared by every connection; ctx is per call.
 * emit: build and queue a segment; return 0 or -errno (a failure drops the
 *   segment: TCP recovers by retransmission, so it is not fatal).
 * deliver: n in-order payload bytes; return 0 or a negative value, which
 *   makes sw_tcp_input() return it (the caller then aborts the connection). */
struct sw_tcp_ops {
	int (*emit)(void *ctx, const struct sw_tcp_out *o);
	int (*deliver)(void *ctx, const uint8_t *p, uint32_t n);
};

struct sw_tcp_cfg {
	uint32_t iss;
	uint16_t mss;          /* what we announce */
	uint8_t wscale;        /* what we announce (0..14) */
	uint8_t ack_every;     /* 1..16 */
	uint32_t rwnd;         /* advertised window in bytes */
	uint8_t sack;          /* announce SACK-permitted */
	uint8_t timestamps;    /* announce timestamps */
};

struct sw_tcp_ooo {
	uint32_t nr;
	/* sorted by start, disjoint, at most SW_TCP_OOO_RANGES between calls;
	 * the spare entry holds an insert into a full list that the merge
	 * then folds into its neighbour */
	struct sw_sack_block r[SW_TCP_OOO_RANGES + 1];
	uint8_t buf[SW_TCP_OOO_BYTES];            /* indexed by seq mod size */
};

struct sw_tcp {
	enum sw_tcp_state state;
	struct sw_tcp_cfg cfg;
	uint32_t iss, snd_una, snd_nxt, snd_max; /* snd_max: highest sent */
	uint32_t rcv_nxt, irs;
	uint32_t snd_wnd;          /* peer's window in bytes */
	uint8_t snd_ws;            /* peer's window scale (0 when not agreed) */
	uint8_t ws_ok, ts_ok, sack_ok;
	uint16_t peer_mss;
	uint32_t ts_recent;
	uint32_t unacked_segs;     /* in-order segments not yet acknowledged */
	uint32_t tries;            /* retransmissions of the current snd_una */
	uint64_t rto_us, rto_at_us; /* rto_at_us 0: timer off */
	uint32_t slen;             /* bytes in sbuf, starting at snd_una */
	uint8_t *sbuf;             /* SW_TCP_SNDBUF, allocated by init */
	struct sw_tcp_ooo *ooo;    /* allocated on the first out-of-order segment */
	/* counters */
	uint64_t rx_bytes, rx_segs, ooo_segs, dup_segs, acks_sent, rexmits, ooo_drops;
	int err;                   /* why FAILED: -ECONNRESET, -ETIMEDOUT */
};

/* Prepare a connection (state CLOSED). Allocates the send buffer.
 * Returns 0, -EINVAL (bad cfg) or -ENOMEM. */
int sw_tcp_init(struct sw_tcp *t, const struct sw_tcp_cfg *cfg);

/* Free the buffers. Safe on a zeroed or already finished struct. */
void sw_tcp_fini(struct sw_tcp *t);

/* Send the SYN (state SYN_SENT). Returns 0 or -EISCONN when not CLOSED. */
int sw_tcp_connect(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx);

/* Process one arriving segment for this connection. In-order payload goes to
 * ops->deliver before this returns; ACKs and our queued data go out through
 * ops->emit. Returns 0, or the deliver hook's negative value. State changes
 * (ESTABLISHED, FAILED, ...) are read from t->state. */
int sw_tcp_input(struct sw_tcp *t, const struct sw_seg *s, uint64_t now_us,
		 const struct sw_tcp_ops *ops, void *ctx);

/* Queue n bytes of our own for sending (sent now if the window allows).
 * Returns 0, -ENOBUFS when they do not fit in the send buffer, -ENOTCONN
 * before ESTABLISHED. */
int sw_tcp_send(struct sw_tcp *t, const void *p, uint32_t n, uint64_t now_us,
		const struct sw_tcp_ops *ops, void *ctx);

/* Acknowledge in-order segments still unacknowledged (end of an RX burst). */
void sw_tcp_flush_ack(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx);

/* Run the retransmission timer. Returns 1 when the connection just failed
 * (retries exhausted), else 0. */
int sw_tcp_timer(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx);

/* Abort: send RST (when connected) and go to DONE. */
void sw_tcp_abort(struct sw_tcp *t, uint64_t now_us, const struct sw_tcp_ops *ops, void *ctx);

/* Parse the options area of a TCP header (opt[0..len)) into s. Unknown
 * options are skipped by their length. Returns 0 or -EBADMSG for a
 * malformed option list (length byte missing, < 2, or past len). */
int sw_tcp_parse_opts(const uint8_t *opt, uint32_t len, struct sw_seg *s);

/* Write the options for o into opt (cap >= 40). Returns the length written,
 * a multiple of 4 (NOP-padded). */
uint32_t sw_tcp_write_opts(const struct sw_tcp_out *o, uint8_t *opt);

#endif /* SW_TCP_H */
