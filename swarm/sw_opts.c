/* sw_opts: command line of lifecast-swarm (after the EAL's `--`).
 * A table of options, each with its range; numbers go through strtod's end
 * pointer and the range check. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/sw_swarm.h"

enum opt_kind { K_U32, K_DBL, K_IP, K_STR, K_BOOL, K_MODE, K_PCT };

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off;
	double lo, hi;
	const char *help;
};

#define OFF(f) offsetof(struct sw_opts, f)

static const struct opt_def defs[] = {
	{ "mode", K_MODE, OFF(mode), 0, 0, "rtmp|source: RTMP viewers, or readers of the source service" },
	{ "viewers", K_U32, OFF(nviewers), 1, 1000000, "number of viewers (default 10)" },
	{ "server", K_IP, OFF(server_ip), 0, 0, "server address (default 198.18.0.2)" },
	{ "port", K_U32, OFF(server_port), 1, 65535, "server TCP port (default 1935, source 19)" },
	{ "client-base", K_IP, OFF(base_ip), 0, 0, "first viewer address (default 198.18.0.10)" },
	{ "ports-per-ip", K_U32, OFF(ports_per_ip), 1, 60000, "viewers per address (default 1000)" },
	{ "port-base", K_U32, OFF(port_base), 1024, 65535, "first viewer port (default 10000)" },
	{ "ethdev", K_U32, OFF(port_id), 0, 1023, "DPDK port id (default 0)" },
	{ "bridge", K_U32, OFF(bridge_port), 0, 1023,
	  "bridge this port (a kernel TAP) to --ethdev for frames that are not ours" },
	{ "duration", K_DBL, OFF(duration_s), 0.1, 3600, "seconds of run after the first join (default 10)" },
	{ "delay", K_DBL, OFF(delay_s), 0, 600, "seconds before the first viewer connects (default 0)" },
	{ "rate", K_DBL, OFF(join_rate), 0.1, 1e6, "new connections per second (default 1000)" },
	{ "join-timeout", K_DBL, OFF(join_timeout_s), 0.1, 600, "seconds from SYN to media (default 10)" },
	{ "app", K_STR, OFF(app), 0, 0, "RTMP application (default live)" },
	{ "stream", K_STR, OFF(stream), 0, 0, "stream name (default test)" },
	{ "digest", K_BOOL, OFF(digest), 0, 1, "FP9 digest handshake (default 0)" },
	{ "ack-every", K_U32, OFF(ack_every), 1, 16, "ACK every Nth in-order segment (default 2)" },
	{ "wscale", K_U32, OFF(wscale), 0, 14, "window scale we announce (default 7)" },
	{ "rwnd", K_U32, OFF(rwnd), 1024, 1u << 30, "advertised window bytes (default 262144)" },
	{ "mss", K_U32, OFF(mss), 88, 9000, "MSS we announce (default 1460)" },
	{ "sack", K_BOOL, OFF(sack), 0, 1, "announce SACK-permitted (default 1)" },
	{ "timestamps", K_BOOL, OFF(timestamps), 0, 1, "announce timestamps (default 1)" },
	{ "csum", K_BOOL, OFF(check_csum), 0, 1, "verify received checksums (default 1)" },
	{ "loss", K_PCT, OFF(loss_ppm), 0, 50, "drop this percentage of received segments (default 0)" },
	{ "cap-kbps", K_U32, OFF(cap_kbps), 0, 100000000, "police capped viewers to this rate (0 off)" },
	{ "cap-viewers", K_U32, OFF(cap_viewers), 0, 1000000, "how many viewers are capped (default all)" },
	{ "verify-every", K_U32, OFF(verify_every), 1, 1000000, "verify every Nth viewer fully (default 1)" },
	{ "ref", K_STR, OFF(ref_path), 0, 0, "reference FLV file (default: the first viewer)" },
	{ "stall-ms", K_U32, OFF(stall_ms), 50, 60000, "media gap counted as a stall (default 1000)" },
	{ "queues", K_U32, OFF(nb_queues), 1, 64,
	  "queue pairs on --ethdev, received from in turn: as many as the server's workers on memif (default 1)" },
	{ "mbufs", K_U32, OFF(nb_mbufs), 1023, 1u << 22, "mbuf pool size (default 16383)" },
	{ "viewers-csv", K_STR, OFF(viewers_csv), 0, 0,
	  "write one line per viewer to this file (goodput, join, stalls, skips...)" },
	{ "json", K_BOOL, OFF(json), 0, 1, "final summary as JSON (default 0)" },
	{ "progress", K_BOOL, OFF(progress), 0, 1, "progress line on stderr each second (default 1)" },
	{ "linger", K_BOOL, OFF(linger), 0, 1,
	  "after the summary keep the link up, dropping what arrives, until SIGINT/SIGTERM (default 0)" },
};
#define NDEFS (sizeof(defs) / sizeof(defs[0]))

static void defaults(struct sw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = SW_MODE_RTMP;
	o->nviewers = 10;
	o->server_ip = 0xc6120002;  /* 198.18.0.2 */
	o->base_ip = 0xc612000a;    /* 198.18.0.10 */
	o->ports_per_ip = 1000;
	o->port_base = 10000;
	o->bridge_port = SW_NET_NO_BRIDGE;
	o->duration_s = 10;
	o->join_rate = 1000;
	o->join_timeout_s = 10;
	o->ack_every = 2;
	o->wscale = 7;
	o->rwnd = 262144;
	o->mss = 1460;
	o->sack = o->timestamps = o->check_csum = o->progress = 1;
	o->verify_every = 1;
	o->stall_ms = 1000;
	o->nb_mbufs = 16383;
	o->nb_queues = 1;
	o->cap_viewers = UINT32_MAX;
	snprintf(o->app, sizeof(o->app), "live");
	snprintf(o->stream, sizeof(o->stream), "test");
}

static int set_num(const struct opt_def *d, struct sw_opts *o, const char *arg)
{
	char *end;
	double x = strtod(arg, &end);
	uint8_t *base = (uint8_t *)o;

	if (end == arg || *end != '\0' || x < d->lo || x > d->hi)
		return -EINVAL;
	if (d->kind == K_DBL)
		*(double *)(base + d->off) = x;
	else if (d->kind == K_PCT)
		*(uint32_t *)(base + d->off) = (uint32_t)(x * 10000);
	else if (d->off == OFF(server_port) || d->off == OFF(port_base) || d->off == OFF(port_id) ||
		 d->off == OFF(bridge_port))
		*(uint16_t *)(base + d->off) = (uint16_t)x;
	else if (d->kind == K_BOOL)
		*(int *)(base + d->off) = x != 0;
	else
		*(uint32_t *)(base + d->off) = (uint32_t)x;
	return x == (double)(uint64_t)x || d->kind == K_DBL || d->kind == K_PCT ? 0 : -EINVAL;
}

static int set_opt(const struct opt_def *d, struct sw_opts *o, const char *arg, int *port_set)
{
	struct in_addr a;
	uint8_t *base = (uint8_t *)o;

	switch (d->kind) {
	case K_IP:
		if (inet_pton(AF_INET, arg, &a) != 1)
			return -EINVAL;
		*(uint32_t *)(base + d->off) = ntohl(a.s_addr);
		return 0;
	case K_STR: {
		size_t cap = d->off == OFF(ref_path) ? sizeof(o->ref_path) :
			     d->off == OFF(viewers_csv) ? sizeof(o->viewers_csv) : SW_NAME_MAX;
		if (strlen(arg) >= cap || arg[0] == '\0')
			return -EINVAL;
		memcpy(base + d->off, arg, strlen(arg) + 1);
		return 0;
	}
	case K_MODE:
		if (strcmp(arg, "rtmp") == 0)
			o->mode = SW_MODE_RTMP;
		else if (strcmp(arg, "source") == 0)
			o->mode = SW_MODE_SOURCE;
		else
			return -EINVAL;
		return 0;
	default:
		if (d->off == OFF(server_port))
			*port_set = 1;
		return set_num(d, o, arg);
	}
}

void sw_opts_usage(FILE *f)
{
	fprintf(f, "usage: lifecast-swarm [EAL args] -- [options]\n");
	for (size_t k = 0; k < NDEFS; k++)
		fprintf(f, "  --%-14s %s\n", defs[k].name, defs[k].help);
}

int sw_opts_parse(struct sw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	struct option lo[NDEFS + 2];
	int c, idx, port_set = 0;

	defaults(o);
	for (size_t k = 0; k < NDEFS; k++)
		lo[k] = (struct option){ defs[k].name, required_argument, NULL, (int)k };
	lo[NDEFS] = (struct option){ "help", no_argument, NULL, 'h' };
	memset(&lo[NDEFS + 1], 0, sizeof(lo[0]));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
		if (c == 'h' || c == '?' || c < 0 || (size_t)c >= NDEFS) {
			snprintf(err, errlen, "%s", c == 'h' ? "help" : "unknown option");
			return -EINVAL;
		}
		if (set_opt(&defs[c], o, optarg, &port_set) != 0) {
			snprintf(err, errlen, "--%s: bad value '%s'", defs[c].name, optarg);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!port_set)
		o->server_port = o->mode == SW_MODE_SOURCE ? 19 : 1935;
	if ((uint64_t)o->port_base + o->ports_per_ip > 65536) {
		snprintf(err, errlen, "--port-base + --ports-per-ip exceeds 65535");
		return -EINVAL;
	}
	if (o->rwnd >> o->wscale > 65535) {
		snprintf(err, errlen, "--rwnd needs a larger --wscale");
		return -EINVAL;
	}
	snprintf(o->tc_url, sizeof(o->tc_url), "rtmp://%u.%u.%u.%u:%u/%s", o->server_ip >> 24,
		 (o->server_ip >> 16) & 255, (o->server_ip >> 8) & 255, o->server_ip & 255,
		 o->server_port, o->app);
	return 0;
}
