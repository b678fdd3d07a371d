/* dp_cpipc: the main lcore's side of the control-plane IPC
 * (dataplane/dp_ipc_proto.h).
 *
 * One control plane at a time on a non-blocking SOCK_SEQPACKET listener (a
 * new connection replaces the old one). Received messages are reassembled,
 * checked, and relayed to the worker that owns the session (the worker is
 * encoded in the session id) through that worker's command ring; events of
 * the workers come back through their event rings and are queued towards the
 * socket. The main lcore never blocks on the socket: the outgoing queue is
 * bounded (conf cp_queue_max); archive copies are dropped first when it
 * fills, and counted. HELLO is answered with HELLO_ACK, then every worker
 * reports its sessions and streams (RESYNC_*), then RESYNC_DONE.
 */
#ifndef DP_CPIPC_H
#define DP_CPIPC_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/dp_ipc_proto.h"

struct dp_app;

/* Internal message types on the rings, beyond the protocol's. */
#define DP_CPMSG_CP_UP 200        /* main -> worker: a control plane said HELLO */
#define DP_CPMSG_CP_DOWN 201      /* main -> worker: the control plane is gone */
#define DP_CPMSG_RESYNC_REQ 202   /* main -> worker: report sessions and streams */
#define DP_CPMSG_RESYNC_END 203   /* worker -> main: struct dp_ipc_resync_done */

/* One message on a main<->worker ring (malloc'd, owned by whoever holds it).
 * h.len is the length of data[]; for ARCHIVE_MSG the media payload is not in
 * data[] but referenced by ref (one reference held), data[] holding the
 * struct dp_ipc_archive. */
struct dp_cpmsg {
	struct dp_ipc_hdr h;
	struct rte_mbuf *ref;
	int32_t slot;             /* stream table slot, -1 = none (set by main) */
	uint32_t reserved;
	uint8_t data[];
};

/* Allocate a message with len data bytes (zeroed). NULL on ENOMEM. */
struct dp_cpmsg *dp_cpmsg_new(uint16_t type, uint64_t session, uint64_t stream, uint32_t len);

/* Free m and drop its reference (NULL accepted). */
void dp_cpmsg_free(struct dp_cpmsg *m);

/* Payload bytes the message puts on the wire (data[] plus referenced). */
uint32_t dp_cpmsg_wire_len(const struct dp_cpmsg *m);

/* FIFO of messages, grown on demand: what a ring had no room for waits
 * here, in order, instead of the producer spinning (worker events, main
 * lcore commands). Owned by one lcore. */
struct dp_msgq {
	struct dp_cpmsg **v;
	uint32_t head, n, cap;
};

/* Append m. Returns 0 (ownership passes), -ENOBUFS when limit is non-zero
 * and n >= limit, -ENOMEM. On error the caller keeps m. */
int dp_msgq_push(struct dp_msgq *q, struct dp_cpmsg *m, uint32_t limit);

/* Move queued messages to ring, oldest first, while it has room. Returns
 * the number moved. */
unsigned dp_msgq_flush(struct dp_msgq *q, struct rte_ring *ring);

/* Free every queued message and the storage (the queue is empty and
 * reusable afterwards). */
void dp_msgq_fini(struct dp_msgq *q);

struct dp_cpipc_stats {
	uint64_t connects, disconnects, replaced;
	uint64_t rx_msgs, rx_bytes, rx_errors, rx_unroutable;
	uint64_t tx_msgs, tx_bytes, tx_dgrams;
	uint64_t archive_sent, archive_dropped, msgs_dropped, cmds_dropped, cmds_deferred;
	uint64_t queue_bytes, queue_peak;
};

struct dp_cpipc;

/* Open the listener at path (parent directories made, stale socket
 * replaced). app's workers must exist (their rings are used). Returns the
 * server or NULL with errno set. */
struct dp_cpipc *dp_cpipc_open(struct dp_app *app, const char *path);

/* Do everything that is ready without blocking: accept, read and relay
 * commands, drain worker events, write the queue. Returns the work done
 * (messages moved), 0 when idle. */
unsigned dp_cpipc_run(struct dp_cpipc *x);

/* Close the client and the listener, unlink the socket, free queued
 * messages. NULL accepted. */
void dp_cpipc_close(struct dp_cpipc *x);

/* Counters (main lcore; other lcores tolerate torn reads). */
const struct dp_cpipc_stats *dp_cpipc_stats(const struct dp_cpipc *x);

/* 1 while a control plane is connected and said HELLO. */
int dp_cpipc_connected(const struct dp_cpipc *x);

#endif /* DP_CPIPC_H */
