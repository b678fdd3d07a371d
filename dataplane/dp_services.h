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

#include <rte_mempool.h>

struct dp_tcp_stack;

/* Per worker: where service state and generated payload come from. */
struct dp_svc_ctx {
	struct rte_mempool *payload_pool; /* source payload mbufs (not owned) */
	struct rte_mempool *state_pool;   /* per-connection state (owned) */
	uint64_t conns, refused, bytes_echoed, bytes_discarded, bytes_sourced;
};

/* Create the state pool (one object per possible connection, on socket) in
 * ctx. name must be unique in the process. Returns 0 or -errno. */
int dp_services_init(struct dp_svc_ctx *ctx, const char *name, unsigned max_conns,
		     int socket, struct rte_mempool *payload_pool);

/* Listen on the enabled services' ports of st. ctx must outlive st.
 * Returns 0 or the -errno of dp_tcp_listen. */
int dp_services_listen(struct dp_tcp_stack *st, struct dp_svc_ctx *ctx, int echo,
		       int discard, int source);

/* Free the state pool (after the TCP stack is destroyed). */
void dp_services_fini(struct dp_svc_ctx *ctx);

#endif /* DP_SERVICES_H */
