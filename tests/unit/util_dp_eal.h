/* Shared helpers for dataplane unit suites: EAL without hugepages or root. */
#ifndef UTIL_DP_EAL_H
#define UTIL_DP_EAL_H

#include <rte_mempool.h>

/* Initialise the EAL once per process (--no-huge -m 512 --no-pci --no-shconf,
 * --no-telemetry, errors-only logging). Safe to call from every suite init.
 * Returns 0 or -1 (the reason is printed). */
int util_dp_eal_init(void);

/* The shared test pktmbuf pool (UTIL_DP_POOL_SIZE mbufs, default data room),
 * created on first use; NULL when the EAL is down or memory ran out. */
struct rte_mempool *util_dp_pool(void);

#define UTIL_DP_POOL_SIZE 8191

#endif /* UTIL_DP_EAL_H */
