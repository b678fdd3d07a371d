/* dp_stats: the dataplane's counters as JSON (IPC socket) and through DPDK
 * telemetry (/lifecast/stats, /lifecast/worker,<id>).
 *
 * Counters live in each worker (struct dp_net_stats, the TCP stack's
 * dp_tcp_stats, loop accounting, mempool use) and are read here from the
 * main lcore or the telemetry thread without locks: every counter is an
 * aligned 64-bit word written by one lcore, so a reader sees an old or a
 * new value, never a torn one.
 */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stddef.h>

struct dp_app;

/* Write the stats document into buf (NUL-terminated):
 *   {"workers":N,"total":{...},"per_worker":[{"id":0,...},...]}
 * "total" sums every counter (gauges included) over the workers.
 * Returns the length written, or -ENOSPC when buf is too small. */
int dp_stats_json(const struct dp_app *app, char *buf, size_t len);

/* Register the telemetry commands for app. The telemetry callbacks have no
 * user argument in DPDK 22.11, so app is kept in this module: call once on
 * the main lcore before workers launch; app must outlive the process.
 * Returns 0 or -errno. */
int dp_stats_telemetry_register(const struct dp_app *app);

#endif /* DP_STATS_H */
