/* dp_services: the dataplane's TCP test services — echo (7), discard (9)
 * and source (19, pattern in dp_source.h). They exercise the TCP stack's
 * zero-copy send and flow control the way the RTMP fan-out will: echo sends
 * the received mbufs back by reference, source by reference to mbufs it
 * fills once; both stop when dp_tcp_send accepts less and resume from
 * on_writable.
 */
#ifndef DP_SERVICES_H
#define DP_SERVICES_H

#include <stdint.h>
#include <sys/queue.h>

#include <rte_mempool.h>

struct dp_tcp_stack;
struct svc_conn;

/* Memory budgets. Everything a service keeps is bounded per worker, so
 * many connections at once cannot starve the RX path of mbufs (a stack
 * that cannot receive never sees the ACKs that would free its memory):
 *  - echo keeps the received mbufs (RX pool) until the peer acknowledges
 *    their echo; each conn's receive window is sized to its share of
 *    DP_SVC_ECHO_POOL_PCT of the RX pool (>= DP_SVC_ECHO_MIN_WND), what it
 *    holds counted in mbufs (pending, queued to send, out of order) as
 *    well as bytes; the rest of the pool is for the RX descriptors and
 *    the data already in flight inside windows offered earlier;
 *  - source payload comes from a pool of its own (DP_SVC_SRC_MBUFS chunks
 *    of DP_SVC_SRC_CHUNK bytes), shared fairly among the source conns, and
 *    a conn keeps at most about one congestion window unsent. */
#define DP_SVC_ECHO_POOL_PCT 25
#define DP_SVC_ECHO_MIN_WND (8u * 1460u)
#define DP_SVC_ECHO_SEG 1448u     /* bytes an RX mbuf is assumed to carry at least */
#define DP_SVC_RX_RESERVE_PCT 40  /* RX pool free below this: echo windows shrink to the minimum */
#define DP_SVC_SRC_MBUFS 2047
#define DP_SVC_SRC_CHUNK 8192u

/* Per worker: where service state and generated payload come from. */
struct dp_svc_ctx {
	struct rte_mempool *payload_pool; /* RX mbufs echo holds on to (not owned) */
	struct rte_mempool *src_pool;     /* source payload chunks (owned) */
	struct rte_mempool *state_pool;   /* per-connection state (owned) */
	uint32_t echo_active, src_active; /* live conns per service */
	TAILQ_HEAD(svc_wait, svc_conn) src_wait; /* source conns waiting for a chunk */
	uint64_t conns, refused, bytes_echoed, bytes_discarded, bytes_sourced;
	uint64_t src_pool_empty;          /* times a source conn found no chunk */
};

/* Create the state pool (one object per possible connection, on socket)
 * and the source payload pool in ctx; payload_pool is the RX pool echo
 * budgets against. name must be unique in the process (at most 20 chars).
 * Returns 0 or -errno (ctx holds nothing on error). */
int dp_services_init(struct dp_svc_ctx *ctx, const char *name, unsigned max_conns,
		     int socket, struct rte_mempool *payload_pool);

/* Listen on the enabled services' ports of st. ctx must outlive st.
 * Returns 0 or the -errno of dp_tcp_listen. */
int dp_services_listen(struct dp_tcp_stack *st, struct dp_svc_ctx *ctx, int echo,
		       int discard, int source);

/* Free the pools (after the TCP stack is destroyed). */
void dp_services_fini(struct dp_svc_ctx *ctx);

#endif /* DP_SERVICES_H */
