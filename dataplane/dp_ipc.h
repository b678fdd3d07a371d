/* dp_ipc: the dataplane's Unix SOCK_SEQPACKET socket, served by the main
 * lcore. One request per message, one reply per message.
 *
 * Requests (ASCII, no terminator needed):
 *   "stats"  -> the JSON document of dp_stats_json()
 *   "ping"   -> "pong"
 * anything else -> {"error":"unknown request"}
 * The control-plane protocol (sessions, streams) will extend this socket.
 */
#ifndef DP_IPC_H
#define DP_IPC_H

#include <stddef.h>

#define DP_IPC_MAX_CLIENTS 8
#define DP_IPC_MSG_MAX (256 * 1024)

struct dp_app;

struct dp_ipc {
	int lfd;                        /* listening socket, -1 when closed */
	int cfd[DP_IPC_MAX_CLIENTS];    /* connected clients, -1 = free */
	char path[108];
	char *buf;                      /* reply buffer, DP_IPC_MSG_MAX */
};

/* Create the socket at path (parent directory created, a stale socket
 * replaced). Returns 0 or -errno. */
int dp_ipc_open(struct dp_ipc *ipc, const char *path);

/* Wait up to timeout_ms for the IPC socket or extra_fd (-1: none), serve
 * every ready request. Returns 1 when extra_fd became readable, 0
 * otherwise, -errno on a poll failure. */
int dp_ipc_poll(struct dp_ipc *ipc, const struct dp_app *app, int extra_fd, int timeout_ms);

/* Close everything and unlink the socket file. Safe on a closed ipc. */
void dp_ipc_close(struct dp_ipc *ipc);

/* Build the reply to one request into out (NUL-terminated). Returns the
 * reply length or -errno. Exposed for tests. */
int dp_ipc_handle(const struct dp_app *app, const char *req, size_t reqlen, char *out,
		  size_t outlen);

#endif /* DP_IPC_H */
