/* The control plane's end of the dataplane IPC socket (dataplane/dp_ipc_proto.h):
 * one Unix SOCK_SEQPACKET connection, connected and re-connected with
 * back-off forever, whole messages in and out.
 *
 * Output: a message is cut into datagrams of at most DP_IPC_FRAG_MAX bytes
 * (MORE flag on all but the last) and sent without blocking; what the
 * socket does not take is queued (copied) and flushed when it becomes
 * writable. The queue is bounded: past out_cap bytes the link is dropped
 * and re-established, since a control plane that cannot talk to the
 * dataplane must resynchronise anyway.
 * Input: datagrams are checked (dp_ipc_hdr_parse) and reassembled (bounded);
 * a malformed datagram is counted and skipped, a version mismatch drops the
 * link.
 *
 * Single-threaded: every call on the loop thread.
 */
#ifndef CP_DPIPC_LINK_H
#define CP_DPIPC_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "dataplane/dp_ipc_proto.h"

struct cp_dplink;

struct cp_dplink_cbs {
	/* Connected (the owner sends HELLO now). */
	void (*up)(void *ctx);
	/* Connection lost (EOF, error, overflow, or cp_dplink_drop); queued
	 * output is gone. A reconnect is already scheduled. */
	void (*down)(void *ctx, const char *why);
	/* One whole message; p is valid during the call only. Returning
	 * non-zero drops the link (protocol violation). */
	int (*msg)(void *ctx, const struct dp_ipc_hdr *h, const uint8_t *p, size_t len);
	void *ctx;
};

struct cp_dplink_stats {
	uint64_t connects, connect_failures, disconnects;
	uint64_t msgs_in, msgs_out, dgrams_in, dgrams_out, bytes_in, bytes_out;
	uint64_t bad_dgrams, queued_now, queue_peak, overflows;
};

struct cp_dplink_out;

struct cp_dplink {
	uv_loop_t *loop;
	uv_timer_t retry;
	uv_poll_t *poll;           /* per connection, freed by its close callback */
	int fd;                    /* -1 when not connected */
	int closing;
	int handles;               /* retry timer + live poll handles */
	char path[108];
	uint64_t backoff_ms;
	size_t out_cap;
	struct cp_dplink_out *oq_head, *oq_tail;
	size_t oq_bytes;
	struct dp_ipc_reasm rx;
	uint8_t *rbuf;             /* DP_IPC_FRAG_MAX */
	struct cp_dplink_cbs cbs;
	struct cp_dplink_stats st;
	void (*closed)(struct cp_dplink *l);
};

#define CP_DPLINK_BACKOFF_MIN_MS 100
#define CP_DPLINK_BACKOFF_MAX_MS 2000
#define CP_DPLINK_OUT_CAP (64u << 20)

/* Start connecting to the socket at path (the first attempt runs on the
 * next loop iteration). l is caller memory that must stay put until the
 * `closed` callback of cp_dplink_close. Returns 0, -ENAMETOOLONG or -ENOMEM. */
int cp_dplink_start(struct cp_dplink *l, uv_loop_t *loop, const char *path,
		    const struct cp_dplink_cbs *cbs);

/* 1 while connected. */
static inline int cp_dplink_up(const struct cp_dplink *l)
{
	return l->fd >= 0;
}

/* Send one message: header fields, then payload = fixed[0..flen) followed
 * by var[0..vlen) (either may be empty). Fragments as needed. Returns 0,
 * -ENOTCONN (not connected: nothing sent), -EMSGSIZE (payload above
 * DP_IPC_MSG_MAX), -ENOBUFS (queue over its cap: the link is being
 * dropped), -ENOMEM. */
int cp_dplink_send(struct cp_dplink *l, uint16_t type, uint64_t session, uint64_t stream,
		   const void *fixed, size_t flen, const void *var, size_t vlen);

/* Process dgram[0..len) as if it had been received (tests, fuzzers):
 * checked, reassembled, dispatched. Returns 0, or -errno when it would
 * have dropped a real link (version mismatch, owner's protocol error). */
int cp_dplink_inject(struct cp_dplink *l, const uint8_t *dgram, size_t len);

/* Drop the current connection (protocol error seen by the owner); the
 * down callback runs and a reconnect is scheduled. */
void cp_dplink_drop(struct cp_dplink *l, const char *why);

/* Stop for good: close the socket and the handles; `closed` is called
 * once they are all closed (the loop must run). No callbacks after this
 * call except `closed`. */
void cp_dplink_close(struct cp_dplink *l, void (*closed)(struct cp_dplink *l));

#endif
