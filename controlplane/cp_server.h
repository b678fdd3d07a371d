/* Local session transport: RTMP on kernel sockets with libuv.
 *
 * Each accepted connection runs the handshake (rtmp_hs), then the chunk
 * layer (rtmp_conn) in this process, and hands whole messages to a
 * cp_session. Viewers are fed from their stream's log by reference: each
 * write is a batch of (own 12-byte header, shared message body) buffer pairs.
 * This is what `lifecast-cp --kernel-listen` serves.
 *
 * Limits enforced here: max connections (extra ones are accepted and closed
 * at once), handshake timeout, command timeout (handshake done -> publish or
 * play), idle timeout (a publisher sending nothing, a viewer write not
 * progressing), per-connection memory cap (reassembly + queued control
 * output). Protocol errors close only that connection, with the reason
 * logged.
 */
#ifndef CP_SERVER_H
#define CP_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "controlplane/cp_session.h"

struct cp_conn;

struct cp_server_stats {
	uint64_t accepted, refused_max, closed;
	uint64_t hs_timeouts, cmd_timeouts, idle_timeouts, proto_errors, mem_caps;
};

struct cp_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t tick;
	struct cp_engine *eng;
	const struct cp_rtmp_conf *conf;
	struct cp_conn *conns;     /* doubly linked */
	uint64_t nconns;
	uint64_t next_conn_id;
	uint64_t last_stats_ms;
	int stopping;
	int open_handles;          /* listener + tick still open */
	struct cp_server_stats st;
};

/* Listen on addr ("" host = any, IPv4 or IPv6 literal) and serve RTMP with
 * eng on loop. srv is caller memory that must stay put until the loop has
 * run the close callbacks after cp_server_stop. Returns 0 or -errno
 * (bind/listen failure, e.g. -EADDRINUSE), logged. */
int cp_server_start(struct cp_server *srv, uv_loop_t *loop, struct cp_engine *eng,
		    const struct cp_conf_addr *addr);

/* Stop listening and close every connection now (no flush). The handles
 * finish closing on the next loop iterations; run the loop until it has no
 * more handles before freeing srv. Safe to call twice. */
void cp_server_stop(struct cp_server *srv);

/* Log the server's and the engine's counters (info). */
void cp_server_log_stats(const struct cp_server *srv);

/* One connection as the management interface shows it (borrowed: valid
 * during the callback only). */
struct cp_conn_info {
	uint64_t conn_id;
	struct cp_session *sess;         /* NULL during the handshake */
	const struct cp_viewer *viewer;  /* the viewer side (stream NULL if none) */
	const char *peer;                /* "ip:port" */
	int fd;                          /* the socket, for TCP_INFO; -1 if unknown */
	int closing;
	uint64_t started_ms;             /* loop time of accept */
	uint64_t bytes_in, bytes_out;    /* RTMP bytes, handshake excluded */
};

/* Call fn for every connection, in no particular order, until it returns
 * non-zero; returns that value or 0. fn must not close connections (collect
 * ids and act after the walk). */
int cp_server_foreach_conn(const struct cp_server *srv,
			   int (*fn)(void *arg, const struct cp_conn_info *ci), void *arg);

#endif
