/* lifecast-dp: the DPDK dataplane process.
 *
 *   lifecast-dp [EAL args] -- -c lifecast.conf [-v]
 *
 * Main lcore: configuration, ports, workers, then the IPC socket and signal
 * handling until SIGINT/SIGTERM. Worker lcores: dp_worker_main.
 * Signals are blocked before the EAL creates its threads and read through a
 * signalfd on the main lcore, so no signal handler and no global flag exist.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_conf.h"
#include "dataplane/dp_ipc.h"      /* before dp_cpipc.h: see dp_ipc_proto.h */
#include "dataplane/dp_cpipc.h"
#include "dataplane/dp_port.h"
#include "dataplane/dp_rtmp.h"
#include "dataplane/dp_stats.h"
#include "dataplane/dp_worker.h"

#define MAIN_POLL_MS 100

struct dp_opts {
	const char *conf_path;
	int verbose;
};

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- -c lifecast.conf [-v]\n"
		"  -c FILE  configuration ([dataplane] section)\n"
		"  -v       debug logging\n", prog);
}

static int parse_opts(int argc, char **argv, struct dp_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((c = getopt(argc, argv, "c:vh")) != -1) {
		switch (c) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

/* Block the quit signals in every thread (EAL threads inherit the mask)
 * and return a signalfd for them. */
static int signals_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Data port and, when configured, the exception TAP with the same MAC. */
static int ports_find(struct dp_app *app, struct dp_port_caps *caps)
{
	int rc = dp_port_lookup(app->conf.port, DP_PORT_NONE, &app->port);

	if (rc != 0) {
		cp_err("no data port%s%s (give one with --vdev or -a)",
		       app->conf.port[0] ? " named " : "", app->conf.port);
		return rc;
	}
	rc = dp_port_query(app->port, caps);
	if (rc != 0) {
		cp_err("port %u: %s", app->port, strerror(-rc));
		return rc;
	}
	app->exc_port = DP_PORT_NONE;
	if (app->conf.exception_iface[0] != '\0') {
		rc = dp_port_create_exception(app->conf.exception_iface, &caps->mac,
					      &app->exc_port);
		if (rc != 0) {
			cp_err("exception interface %s: %s", app->conf.exception_iface,
			       strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int plan_queues(struct dp_app *app, const struct dp_port_caps *caps)
{
	app->nb_workers = (uint16_t)(rte_lcore_count() - 1);
	if (app->nb_workers == 0 || app->nb_workers > DP_MAX_WORKERS) {
		cp_err("need 1..%d worker lcores besides the main one (e.g. -l 0,1), have %u",
		       DP_MAX_WORKERS, app->nb_workers);
		return -EINVAL;
	}
	if (caps->max_txq < app->nb_workers) {
		cp_err("port %u (%s) has %u TX queues, %u workers need one each", app->port,
		       caps->driver, caps->max_txq, app->nb_workers);
		return -EINVAL;
	}
	app->nb_rxq = caps->max_rxq < app->nb_workers ? caps->max_rxq : app->nb_workers;
	app->hw_rss = caps->rss && app->nb_rxq == app->nb_workers && app->nb_workers > 1;
	app->rx_csum = caps->rx_csum && app->conf.csum_offload;
	app->tx_csum = caps->tx_csum && app->conf.csum_offload;
	app->tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (app->tsc_per_us == 0)
		app->tsc_per_us = 1;
	if (!caps->multiseg)
		cp_warn("port %u (%s): no multi-segment TX; zero-copy sends will fail",
			app->port, caps->driver);
	cp_info("port %u (%s) socket %d: %u workers, %u rx queues, flow steering %s",
		app->port, caps->driver, caps->socket, app->nb_workers, app->nb_rxq,
		app->hw_rss ? "hardware RSS (symmetric)" : "software hash");
	return 0;
}

static int workers_create(struct dp_app *app, const struct dp_port_caps *caps)
{
	char msg[256];
	unsigned lcore;
	uint16_t id = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		int sock = (int)rte_lcore_to_socket_id(lcore);

		if (caps->socket >= 0 && sock != caps->socket)
			cp_warn("worker %u (lcore %u) is on socket %d, port %u on socket %d: "
				"cross-node traffic", id, lcore, sock, app->port, caps->socket);
		app->workers[id] = dp_worker_create(app, id, lcore, &caps->mac, msg, sizeof(msg));
		if (!app->workers[id]) {
			cp_err("%s", msg);
			return -ENOMEM;
		}
		id++;
	}
	return 0;
}

static int ports_start(struct dp_app *app)
{
	struct rte_mempool *pools[DP_MAX_WORKERS];
	char msg[256];
	int rc;

	for (uint16_t i = 0; i < app->nb_workers; i++)
		pools[i] = app->workers[i]->pool;
	rc = dp_port_start(app->port, app->nb_rxq, app->nb_workers, pools,
			   (uint16_t)app->conf.rx_desc, (uint16_t)app->conf.tx_desc, app->hw_rss,
			   app->conf.csum_offload, msg, sizeof(msg));
	if (rc == 0 && app->exc_port != DP_PORT_NONE)
		/* One RX queue per worker too: the kernel spreads what it sends
		 * over the TAP's queues (and net_tap wants as many RX as TX). */
		rc = dp_port_start(app->exc_port, app->nb_workers, app->nb_workers, pools,
				   (uint16_t)app->conf.rx_desc, (uint16_t)app->conf.tx_desc, 0, 0,
				   msg, sizeof(msg));
	if (rc != 0)
		cp_err("%s", msg);
	return rc;
}

static void main_loop(struct dp_app *app, struct dp_ipc *ipc, struct dp_cpipc *cp, int sfd)
{
	for (;;) {
		/* The control-plane socket is serviced without blocking; while it
		 * is in use the stats poll waits at most 1 ms so handshake bytes
		 * and commands are relayed promptly. */
		unsigned work = cp ? dp_cpipc_run(cp) : 0;
		int rc = dp_ipc_poll(ipc, app, sfd, cp ? (work ? 0 : 1) : MAIN_POLL_MS);

		if (rc == 1) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				cp_info("signal %u: shutting down", si.ssi_signo);
				return;
			}
		} else if (rc < 0) {
			cp_err("main loop: poll: %s", strerror(-rc));
			return;
		}
	}
}

static int unlink_hugefile(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
			   void *arg)
{
	char link[64], path[PATH_MAX];
	int fd = rte_memseg_get_fd_thread_unsafe(ms);
	ssize_t n;

	if (fd < 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		unlink(path); /* several segments may share a file: ENOENT is fine */
	}
	return 0;
}

/* The EAL keeps its hugepage files for secondary processes (dpdk-dumpcap,
 * dpdk-proc-info) while we run; at shutdown unlink them so the pages go
 * back to the kernel when the process exits. */
static void hugepages_release(void)
{
	if (rte_eal_has_hugepages())
		rte_memseg_walk(unlink_hugefile, NULL);
}

static void app_teardown(struct dp_app *app, int ports_started)
{
	if (ports_started) {
		dp_port_close(app->port);
		if (app->exc_port != DP_PORT_NONE)
			dp_port_close(app->exc_port);
	}
	for (uint16_t i = 0; i < DP_MAX_WORKERS; i++) {
		dp_worker_free(app->workers[i]);
		app->workers[i] = NULL;
	}
}

static int app_run(struct dp_app *app, int sfd)
{
	struct dp_port_caps caps;
	struct dp_ipc ipc = { .lfd = -1 };
	struct dp_cpipc *cp = NULL;
	int rc, started = 0;
	unsigned lcore;

	rc = ports_find(app, &caps);
	if (rc == 0)
		rc = plan_queues(app, &caps);
	if (rc == 0 && app->conf.rtmp) {
		app->rtmp = dp_rtmp_shared_create((uint32_t)app->conf.rtmp_chunk_size);
		rc = app->rtmp ? 0 : -ENOMEM;
	}
	if (rc == 0)
		rc = workers_create(app, &caps);
	if (rc == 0)
		rc = ports_start(app);
	if (rc != 0)
		goto out;
	started = 1;
	if (app->conf.stats_socket[0] != '\0') {
		rc = dp_ipc_open(&ipc, app->conf.stats_socket);
		if (rc != 0) {
			cp_err("stats socket %s: %s", app->conf.stats_socket, strerror(-rc));
			goto out;
		}
	}
	if (app->rtmp && app->conf.cp_socket[0] != '\0') {
		cp = dp_cpipc_open(app, app->conf.cp_socket);
		if (!cp) {
			rc = -errno;
			cp_err("control-plane socket %s: %s", app->conf.cp_socket, strerror(errno));
			goto out;
		}
	}
	if (app->conf.telemetry && dp_stats_telemetry_register(app) != 0)
		cp_warn("telemetry commands not registered");
	RTE_LCORE_FOREACH_WORKER(lcore) {
		for (uint16_t i = 0; i < app->nb_workers; i++)
			if (app->workers[i]->lcore == lcore)
				rte_eal_remote_launch(dp_worker_main, app->workers[i], lcore);
	}
	cp_info("lifecast-dp ready: %s mac %02x:%02x:%02x:%02x:%02x:%02x, stats %s",
		app->conf.address, caps.mac.addr_bytes[0], caps.mac.addr_bytes[1],
		caps.mac.addr_bytes[2], caps.mac.addr_bytes[3], caps.mac.addr_bytes[4],
		caps.mac.addr_bytes[5], app->conf.stats_socket);
	main_loop(app, &ipc, cp, sfd);
	atomic_store(&app->quit, 1);
	rte_eal_mp_wait_lcore();
out:
	dp_cpipc_close(cp); /* queued messages hold entry references: before the pools go */
	for (uint16_t i = 0; i < app->nb_workers; i++)
		if (app->workers[i])
			dp_rtmp_release(app->workers[i]->rtmp); /* all, before any pool goes */
	dp_ipc_close(&ipc);
	app_teardown(app, started);
	dp_rtmp_shared_free(app->rtmp);
	app->rtmp = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	struct dp_opts opts;
	struct dp_app *app = NULL;
	char err[512];
	int sfd, n, rc;

	sfd = signals_setup();
	if (sfd < 0) {
		perror("signalfd");
		return 1;
	}
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "lifecast-dp: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (parse_opts(argc - n, argv + n, &opts) != 0) {
		usage(argv[0]);
		rc = 2;
		goto eal;
	}
	cp_log_set_level(opts.verbose ? CP_LOG_DEBUG : CP_LOG_INFO);
	app = calloc(1, sizeof(*app));
	if (!app) {
		rc = 1;
		goto eal;
	}
	if (dp_conf_load(opts.conf_path, &app->conf, err, sizeof(err)) != 0) {
		cp_err("config: %s", err);
		rc = 1;
		goto eal;
	}
	rc = app_run(app, sfd) == 0 ? 0 : 1;
eal:
	hugepages_release();
	rte_eal_cleanup(); /* stops the telemetry thread before app goes */
	free(app);
	close(sfd);
	cp_info("lifecast-dp exited (%d)", rc);
	return rc;
}
