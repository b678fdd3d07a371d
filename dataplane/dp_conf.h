/* dp_conf: the [dataplane] section of lifecast.conf.
 *
 * Loaded once on the main lcore before workers launch, read-only afterwards.
 * Every key has a default (see the table in dp_conf.c), so lifecast-dp runs
 * without a file on the test-bed addresses.
 */
#ifndef DP_CONF_H
#define DP_CONF_H

#include <stdint.h>

#include "controlplane/cp_config.h"

enum dp_idle_mode {
	DP_IDLE_POLL = 0,     /* busy-poll always (production) */
	DP_IDLE_ADAPTIVE = 1, /* back off with short sleeps after empty polls */
};

struct dp_conf {
	/* raw values as the loader fills them */
	char address[CP_CONF_STR_MAX];        /* "198.18.0.2/24" */
	char gateway[CP_CONF_STR_MAX];        /* "" = none (on-link only) */
	char port[CP_CONF_STR_MAX];           /* ethdev name; "" = first port */
	char exception_iface[CP_CONF_STR_MAX]; /* kernel TAP name; "" = none */
	char idle[CP_CONF_STR_MAX];           /* "poll" | "adaptive" */
	char stats_socket[CP_CONF_STR_MAX];   /* Unix socket path; "" = off */
	char tcp_cc[CP_CONF_STR_MAX];         /* "cubic" | "newreno" */
	uint64_t idle_sleep_max_us;
	uint64_t mbufs;          /* per worker pool */
	uint64_t hdr_mbufs;      /* per worker header pool */
	uint64_t rx_desc, tx_desc;
	uint64_t ring_size;      /* inter-worker ring */
	uint64_t arp_timeout_ms;
	int echo, discard, source;
	int telemetry;
	int csum_offload;     /* use the port's checksum offloads when it has them */
	uint64_t tcp_max_conns, tcp_syn_backlog, tcp_mss, tcp_rcv_wnd, tcp_snd_buf;
	uint64_t tcp_time_wait_ms, tcp_idle_timeout_ms;
	uint64_t tcp_syncookies;
	/* RTMP fan-out and the control-plane IPC */
	char cp_socket[CP_CONF_STR_MAX];      /* "" = off */
	uint64_t cp_queue_max;
	int rtmp;
	uint64_t rtmp_port, rtmp_chunk_size, rtmp_log_entries, rtmp_log_bytes;
	uint64_t rtmp_skip_backlog, rtmp_viewer_mem_cap, rtmp_stall_timeout_ms;
	uint64_t rtmp_send_budget, rtmp_ring_size;

	/* derived by dp_conf_load */
	uint32_t ip;        /* network order */
	uint32_t netmask;   /* network order */
	uint32_t gw;        /* network order, 0 = none */
	enum dp_idle_mode idle_mode;
	int cc;             /* enum dp_tcp_cc_algo */
};

/* Fill *c with the defaults, then the [dataplane] section of path (NULL:
 * defaults only), then derive the binary fields (address, mask, gateway,
 * idle mode). Returns 0, or -errno with a "file:line: reason" or
 * "key: reason" message in err (-ENOENT missing file, -EINVAL bad value). */
int dp_conf_load(const char *path, struct dp_conf *c, char *err, size_t errlen);

/* Parse "a.b.c.d/len" into network-order address and mask.
 * Returns 0 or -EINVAL. */
int dp_conf_parse_cidr(const char *s, uint32_t *ip, uint32_t *mask);

#endif /* DP_CONF_H */
