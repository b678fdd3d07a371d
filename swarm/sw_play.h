/* sw_play: the RTMP side of one simulated viewer.
 *
 * Transport-agnostic (bytes in, bytes out through a hook), so it runs over
 * the swarm's userspace TCP and in unit tests. Sequence: client handshake
 * (plain, or digest with cfg.digest), connect, createStream, play; then
 * every audio, video and data message goes to the media hook. Protocol
 * control (acknowledgements, pings, chunk size) is done by rtmp_conn.
 *
 * Memory: the handshake state (about 3 KiB) lives only until the handshake
 * completes; afterwards the chunk reader holds one reassembly buffer per
 * chunk stream in use, each as large as the biggest message seen on it
 * (keyframes), bounded by SW_PLAY_MAX_MSG.
 */
#ifndef SW_PLAY_H
#define SW_PLAY_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_handshake.h"

#define SW_PLAY_MAX_MSG (4u << 20)
#define SW_PLAY_REASON_MAX 96

enum sw_play_state {
	SW_PLAY_INIT = 0,
	SW_PLAY_HANDSHAKE,   /* C0C1 sent */
	SW_PLAY_CONNECT,     /* connect sent */
	SW_PLAY_CREATE,      /* createStream sent */
	SW_PLAY_PLAY,        /* play sent, waiting for NetStream.Play.Start */
	SW_PLAY_MEDIA,       /* playing */
	SW_PLAY_FAILED
};

struct sw_play_cfg {
	const char *app;      /* "live" */
	const char *tc_url;   /* "rtmp://198.18.0.2:1935/live" */
	const char *stream;   /* stream name */
	int digest;           /* FP9 digest handshake */
};

/* send: bytes for the peer, in order; return 0 or -errno (fatal).
 * media: one audio (8), video (9) or data (15/18) message; msg->data is
 *   valid during the call only. Return 0 or a negative value (fatal). */
struct sw_play_hooks {
	int (*send)(void *ctx, const uint8_t *p, size_t n);
	int (*media)(void *ctx, const struct rtmp_msg *m);
};

struct sw_play {
	enum sw_play_state state;
	const struct sw_play_cfg *cfg;
	const struct sw_play_hooks *hooks;
	void *ctx;
	uint64_t rng;               /* handshake randomness (not secret) */
	struct rtmp_hs *hs;         /* only during the handshake */
	struct rtmp_conn conn;
	int conn_ok;
	double stream_id;
	uint64_t media_msgs, media_bytes;
	char reason[SW_PLAY_REASON_MAX]; /* why FAILED */
};

/* Prepare a player; cfg, hooks and ctx must outlive it. seed varies the
 * handshake bytes. Returns 0, -EINVAL or -ENOMEM. */
int sw_play_init(struct sw_play *p, const struct sw_play_cfg *cfg,
		 const struct sw_play_hooks *hooks, void *ctx, uint64_t seed);

/* The transport is connected: send C0+C1. Returns 0 or -errno. */
int sw_play_start(struct sw_play *p);

/* Feed received bytes (any split). Returns 0, or a negative error after
 * which the state is FAILED and p->reason says why (handshake failure,
 * chunk-layer error, _error or a failing onStatus, hook error). */
int sw_play_input(struct sw_play *p, const uint8_t *buf, size_t len);

/* Release everything. Safe to call twice. */
void sw_play_fini(struct sw_play *p);

#endif /* SW_PLAY_H */
