/* lifecast-swarm: a DPDK RTMP viewer-load generator.
 *
 *   lifecast-swarm [EAL args] -- [options]     (--help lists them)
 *
 * Plays N RTMP viewers over its own userspace TCP against a server reached
 * through the first DPDK port (typically net_memif facing lifecast-dp),
 * verifies each viewer's message sequence, and reports goodput, join
 * latency, stalls and skips (progress each second on stderr, a summary on
 * stdout, JSON with --json). With --mode source it reads the dataplane's
 * `source` test service instead and verifies every byte.
 *
 * Exit status: 0 when every viewer joined and nothing mismatched, 1 when
 * the run completed otherwise, 2 on a setup error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "swarm/sw_swarm.h"

#define LINK_WAIT_S 15

/* SIGINT/SIGTERM stay blocked and pending: polled, no handler, no flag. */
static int quit_requested(void)
{
	sigset_t pend;

	return sigpending(&pend) == 0 && (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM));
}

static int setup_net(struct sw_swarm *sw)
{
	struct sw_net_cfg nc = {
		.port_id = sw->o.port_id,
		.server_ip = sw->o.server_ip,
		.server_port = sw->o.server_port,
		.base_ip = sw->o.base_ip,
		.nviewers = sw->o.nviewers,
		.ports_per_ip = sw->o.ports_per_ip,
		.port_base = sw->o.port_base,
		.nb_mbufs = sw->o.nb_mbufs,
		.nb_queues = (uint16_t)sw->o.nb_queues,
		.check_csum = sw->o.check_csum,
		.bridge_port = sw->o.bridge_port,
	};
	int rc = sw_net_init(&sw->net, &nc, LINK_WAIT_S);

	if (rc != 0)
		fprintf(stderr, "swarm: port %u: %s\n", sw->o.port_id, strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct sw_opts o;
	struct sw_swarm *sw = NULL;
	char err[256];
	sigset_t mask;
	int n, rc = 2;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "swarm: EAL init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	argv[n] = argv[0];
	if (sw_opts_parse(&o, argc - n, argv + n, err, sizeof(err)) != 0) {
		if (strcmp(err, "help") != 0)
			fprintf(stderr, "swarm: %s\n", err);
		sw_opts_usage(stderr);
		goto out_eal;
	}
	sw = malloc(sizeof(*sw));
	if (sw == NULL || sw_swarm_init(sw, &o) != 0) {
		fprintf(stderr, "swarm: setup failed\n");
		free(sw);
		sw = NULL;
		goto out_eal;
	}
	if (setup_net(sw) != 0)
		goto out_sw;
	if (sw_swarm_run(sw, quit_requested) != 0) {
		fprintf(stderr, "swarm: the server did not answer ARP\n");
		goto out_net;
	}
	rc = sw_swarm_report(sw);
	if (o.linger) {
		/* A memif peer that disconnects unmaps the shared rings under
		 * the other side's running TX (a crash in DPDK 22.11's PMD):
		 * the server is stopped first, then this process. */
		fflush(stdout);
		fflush(stderr);
		while (!quit_requested()) {
			sw_net_drain(&sw->net);
			rte_delay_us_sleep(1000);
		}
	}
out_net:
	sw_net_fini(&sw->net);
out_sw:
	sw_swarm_fini(sw);
	free(sw);
out_eal:
	rte_eal_cleanup();
	return rc;
}
