/* sw_swarm: N simulated viewers on one lcore, their userspace TCP, their
 * RTMP players (or `source` pattern readers) and the measurements.
 *
 * One struct sw_swarm holds everything; it is built on the main lcore and
 * run there (the load generator is a single-core program: its saturation
 * is reported, see busy_pct). Nothing is global.
 */
#ifndef SW_SWARM_H
#define SW_SWARM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swarm/sw_net.h"
#include "swarm/sw_play.h"
#include "swarm/sw_tcp.h"
#include "swarm/sw_verify.h"
#include "tests/tools/dp_tool_pattern.h"

enum sw_mode { SW_MODE_RTMP = 0, SW_MODE_SOURCE = 1 };

#define SW_NAME_MAX 128

struct sw_opts {
	enum sw_mode mode;
	uint32_t nviewers;
	uint32_t server_ip, base_ip;   /* host order */
	uint16_t server_port, port_base;
	uint32_t ports_per_ip;
	uint16_t port_id;
	uint16_t bridge_port;           /* SW_NET_NO_BRIDGE = none */
	double duration_s;             /* measured run after the first join */
	double join_rate;              /* new connections per second */
	double delay_s;                /* wait before the first viewer connects */
	double join_timeout_s;         /* SYN to media, else the viewer failed */
	uint32_t ack_every, wscale, rwnd, mss;
	int sack, timestamps, check_csum, digest, json, progress, linger;
	uint32_t loss_ppm;             /* receive-side drop probability */
	uint32_t cap_kbps, cap_viewers; /* policer on the first cap_viewers */
	uint32_t verify_every;         /* full verification of every k-th viewer */
	uint32_t stall_ms;
	uint32_t nb_mbufs;
	uint32_t nb_queues;             /* queue pairs on port_id (RX polled in turn) */
	char app[SW_NAME_MAX], stream[SW_NAME_MAX], tc_url[2 * SW_NAME_MAX];
	char ref_path[256];            /* "" = live reference */
	char viewers_csv[256];         /* "" = no per-viewer report */
};

/* Fill o with defaults and parse argv (the arguments after `--`).
 * Returns 0, or -EINVAL with a message in err. */
int sw_opts_parse(struct sw_opts *o, int argc, char **argv, char *err, size_t errlen);

/* One line per option, for --help. */
void sw_opts_usage(FILE *f);

enum sw_vstate { SW_V_IDLE = 0, SW_V_CONNECTING, SW_V_JOINING, SW_V_PLAYING, SW_V_FAILED,
		 SW_V_CLOSED };

struct sw_viewer {
	struct sw_tcp tcp;
	struct sw_play *play;          /* RTMP mode, allocated at connect */
	struct sw_cursor cur;
	struct sw_swarm *sw;
	uint32_t idx;
	uint8_t vstate, touched, verify, capped;
	uint8_t have_ts;
	uint64_t t_syn_us, t_est_us, t_first_us, t_last_media_us, t_end_us;
	uint64_t app_bytes, src_bad;
	uint32_t last_video_ts;
	uint64_t content_ms;           /* media time received, skips excluded */
	uint64_t stalls, max_gap_us;
	uint64_t policed, lost;
	double tokens;                 /* policer bucket, bytes */
	uint64_t t_tokens_us;
	char reason[SW_PLAY_REASON_MAX];
};

struct sw_swarm {
	struct sw_opts o;
	struct sw_net net;
	struct sw_ref ref;
	struct dp_pat pat;
	struct sw_viewer *v;
	uint32_t *touched;             /* viewers with segments this burst */
	uint32_t ntouched;
	struct sw_play_cfg play_cfg;
	uint64_t hz, now_us, t0_us, t_first_join_us, t_stop_us;
	uint32_t started, joined, failed;
	uint64_t rng;
	uint64_t busy_cyc, loop_cyc, loops, busy_loops;
	uint64_t last_progress_us, last_timer_us, last_arp_us;
	uint64_t prog_bytes;           /* app bytes at the last progress line */
};

/* Build the swarm: options copied, reference loaded (--ref), pattern table
 * (source mode), viewer array. The port must be set up separately with
 * sw_net_init() on sw->net. Returns 0 or -errno (message on stderr). */
int sw_swarm_init(struct sw_swarm *sw, const struct sw_opts *o);

/* Run until the duration elapsed, every viewer failed, or quit() returns
 * non-zero. Returns 0, or -ETIMEDOUT when the server never answered ARP. */
int sw_swarm_run(struct sw_swarm *sw, int (*quit)(void));

/* Print the summary (text, or JSON with o.json) to stdout. Returns 0 when
 * every viewer joined and nothing mismatched, else 1 (the exit status). */
int sw_swarm_report(struct sw_swarm *sw);

/* Free viewers and the reference (not the port). */
void sw_swarm_fini(struct sw_swarm *sw);

#endif /* SW_SWARM_H */
