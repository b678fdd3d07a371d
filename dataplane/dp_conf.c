/* [dataplane] configuration: declarative key table, then derived fields. */
#include "dataplane/dp_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/dp_tcp.h"

#define K(name, type, field, def, min, max, help) \
	{ "dataplane", name, type, offsetof(struct dp_conf, field), def, min, max, 0, help }

static const struct cp_conf_key dp_conf_keys[] = {
	K("address", CP_CONF_STR, address, "198.18.0.2/24", 0, 0,
	  "appliance IPv4 address/prefix served by the dataplane"),
	K("gateway", CP_CONF_STR, gateway, "", 0, 0, "default gateway; empty = on-link only"),
	K("port", CP_CONF_STR, port, "", 0, 0, "data port ethdev name; empty = first port"),
	K("exception_iface", CP_CONF_STR, exception_iface, "lc0", 0, 0,
	  "kernel TAP for traffic the dataplane does not own; empty = none (RST closed ports)"),
	K("idle", CP_CONF_STR, idle, "poll", 0, 0, "poll | adaptive"),
	K("idle_sleep_max_us", CP_CONF_UINT, idle_sleep_max_us, "200", 1, 100000,
	  "adaptive idle: longest sleep between polls"),
	K("stats_socket", CP_CONF_STR, stats_socket, "/run/lifecast/dp.sock", 0, 0,
	  "Unix SOCK_SEQPACKET socket for stats/IPC; empty = off"),
	K("telemetry", CP_CONF_BOOL, telemetry, "yes", 0, 0, "register /lifecast/* telemetry commands"),
	K("csum_offload", CP_CONF_BOOL, csum_offload, "yes", 0, 0,
	  "use the port's IPv4/TCP checksum offloads when it has them"),
	K("mbufs", CP_CONF_UINT, mbufs, "8191", 1023, 1048575, "packet mbufs per worker"),
	K("hdr_mbufs", CP_CONF_UINT, hdr_mbufs, "8191", 1023, 1048575, "header mbufs per worker"),
	K("rx_desc", CP_CONF_UINT, rx_desc, "1024", 64, 16384, "RX descriptors per queue"),
	K("tx_desc", CP_CONF_UINT, tx_desc, "1024", 64, 16384, "TX descriptors per queue"),
	K("ring_size", CP_CONF_UINT, ring_size, "4096", 64, 1048576, "inter-worker ring (power of 2)"),
	K("arp_timeout", CP_CONF_DURATION, arp_timeout_ms, "300s", 1000, 86400000,
	  "age of an ARP entry before it is dropped"),
	K("echo", CP_CONF_BOOL, echo, "yes", 0, 0, "TCP echo service on port 7"),
	K("discard", CP_CONF_BOOL, discard, "yes", 0, 0, "TCP discard service on port 9"),
	K("source", CP_CONF_BOOL, source, "yes", 0, 0, "TCP source (pattern) service on port 19"),
	K("tcp_max_conns", CP_CONF_UINT, tcp_max_conns, "4096", 16, 4194304, "connections per worker"),
	K("tcp_syn_backlog", CP_CONF_UINT, tcp_syn_backlog, "256", 1, 1048576,
	  "half-open connections per worker before SYN cookies"),
	K("tcp_syncookies", CP_CONF_UINT, tcp_syncookies, "1", 0, 2, "0 off, 1 when full, 2 always"),
	K("tcp_mss", CP_CONF_UINT, tcp_mss, "1460", 536, 9000, "MSS we offer"),
	K("tcp_rcv_wnd", CP_CONF_SIZE, tcp_rcv_wnd, "256k", 4096, 1 << 30, "receive window"),
	K("tcp_snd_buf", CP_CONF_SIZE, tcp_snd_buf, "1m", 4096, 1 << 30, "send buffer per conn"),
	K("tcp_time_wait", CP_CONF_DURATION, tcp_time_wait_ms, "1000ms", 1, 240000, "TIME_WAIT"),
	K("tcp_idle_timeout", CP_CONF_DURATION, tcp_idle_timeout_ms, "300s", 1000, 86400000,
	  "reset a connection silent for this long"),
	K("tcp_cc", CP_CONF_STR, tcp_cc, "cubic", 0, 0, "cubic | newreno"),
	K("cp_socket", CP_CONF_STR, cp_socket, "/run/lifecast/cp.sock", 0, 0,
	  "Unix SOCK_SEQPACKET socket the control plane connects to; empty = off"),
	K("cp_queue_max", CP_CONF_SIZE, cp_queue_max, "8m", 65536, 1 << 30,
	  "bytes queued towards the control plane before archive copies are dropped"),
	K("rtmp", CP_CONF_BOOL, rtmp, "yes", 0, 0, "RTMP fan-out service in every worker"),
	K("rtmp_port", CP_CONF_UINT, rtmp_port, "1935", 1, 65535, "RTMP TCP port"),
	K("rtmp_chunk_size", CP_CONF_UINT, rtmp_chunk_size, "4096", 128, 65536,
	  "the appliance's out chunk size (stream logs are chunked with it)"),
	K("rtmp_log_entries", CP_CONF_UINT, rtmp_log_entries, "2048", 64, 65536,
	  "messages a stream log keeps per worker (rounded up to a power of 2)"),
	K("rtmp_log_bytes", CP_CONF_SIZE, rtmp_log_bytes, "32m", 65536, 1 << 30,
	  "canonical bytes a stream log keeps per worker"),
	K("rtmp_skip_backlog", CP_CONF_SIZE, rtmp_skip_backlog, "2m", 4096, 1 << 30,
	  "a viewer this far behind the log skips to the newest keyframe"),
	K("rtmp_viewer_mem_cap", CP_CONF_SIZE, rtmp_viewer_mem_cap, "4m", 4096, 1 << 30,
	  "bytes a viewer may hold (queued + unsent) before it is reset"),
	K("rtmp_stall_timeout", CP_CONF_DURATION, rtmp_stall_timeout_ms, "10s", 100, 3600000,
	  "a viewer with data queued and no ACK progress for this long is reset"),
	K("rtmp_send_budget", CP_CONF_SIZE, rtmp_send_budget, "64k", 1024, 1 << 24,
	  "bytes one viewer may be given per scheduling round"),
	K("rtmp_ring_size", CP_CONF_UINT, rtmp_ring_size, "4096", 64, 1048576,
	  "main<->worker and fan-out rings (power of 2)"),
};

#define DP_CONF_NKEYS (sizeof(dp_conf_keys) / sizeof(dp_conf_keys[0]))

int dp_conf_parse_cidr(const char *s, uint32_t *ip, uint32_t *mask)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	uint64_t len = 32;
	struct in_addr a;

	if (!slash) {
		if (strlen(s) >= sizeof(buf))
			return -EINVAL;
		strcpy(buf, s);
	} else {
		size_t n = (size_t)(slash - s);
		if (n == 0 || n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (cp_conf_parse_uint(slash + 1, 1, 32, &len) != 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*ip = a.s_addr;
	*mask = htonl((uint32_t)(0xffffffffULL << (32 - len)));
	return 0;
}

static int derive(struct dp_conf *c, char *err, size_t errlen)
{
	struct in_addr a;

	if (dp_conf_parse_cidr(c->address, &c->ip, &c->netmask) != 0 || c->ip == 0) {
		snprintf(err, errlen, "dataplane.address: '%s' is not a.b.c.d/len", c->address);
		return -EINVAL;
	}
	c->gw = 0;
	if (c->gateway[0] != '\0') {
		if (inet_pton(AF_INET, c->gateway, &a) != 1 ||
		    (a.s_addr & c->netmask) != (c->ip & c->netmask)) {
			snprintf(err, errlen, "dataplane.gateway: '%s' is not an on-link IPv4 address",
				 c->gateway);
			return -EINVAL;
		}
		c->gw = a.s_addr;
	}
	if (strcmp(c->idle, "poll") == 0) {
		c->idle_mode = DP_IDLE_POLL;
	} else if (strcmp(c->idle, "adaptive") == 0) {
		c->idle_mode = DP_IDLE_ADAPTIVE;
	} else {
		snprintf(err, errlen, "dataplane.idle: '%s' is not poll or adaptive", c->idle);
		return -EINVAL;
	}
	if (strcmp(c->tcp_cc, "cubic") == 0) {
		c->cc = DP_TCP_CC_CUBIC;
	} else if (strcmp(c->tcp_cc, "newreno") == 0) {
		c->cc = DP_TCP_CC_NEWRENO;
	} else {
		snprintf(err, errlen, "dataplane.tcp_cc: '%s' is not cubic or newreno", c->tcp_cc);
		return -EINVAL;
	}
	if ((c->ring_size & (c->ring_size - 1)) != 0) {
		snprintf(err, errlen, "dataplane.ring_size: %llu is not a power of 2",
			 (unsigned long long)c->ring_size);
		return -EINVAL;
	}
	if ((c->rtmp_ring_size & (c->rtmp_ring_size - 1)) != 0) {
		snprintf(err, errlen, "dataplane.rtmp_ring_size: %llu is not a power of 2",
			 (unsigned long long)c->rtmp_ring_size);
		return -EINVAL;
	}
	return 0;
}

int dp_conf_load(const char *path, struct dp_conf *c, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = cp_conf_load(path, dp_conf_keys, DP_CONF_NKEYS, c, err, errlen);
	if (rc != 0)
		return rc;
	return derive(c, err, errlen);
}
