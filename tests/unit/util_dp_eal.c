/* EAL bring-up for dataplane unit suites. Idempotent without process-wide
 * state of our own: a second rte_eal_init() reports EALREADY, and the pool is
 * found again by name. */
#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "tests/unit/util_dp_eal.h"
#include "tests/util_eal_rundir.h"

#define UTIL_DP_POOL_NAME "util_dp_pool"

int util_dp_eal_init(void)
{
	/* --in-memory is refused together with --no-huge (legacy memory mode);
	 * --no-shconf turns off shared files and the multi-process channel, so
	 * concurrent runners with the same prefix do not meet. */
	char *argv[] = {
		"unit-dp", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
		"--no-telemetry", "--log-level=*:error", "-l", "0", "--file-prefix=unitdp", NULL,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1;

	if (rte_lcore_count() > 0) /* zero until the EAL is up */
		return 0;
	if (rte_eal_init(argc, argv) >= 0) {
		util_eal_rundir_remove_at_exit();
		return 0;
	}
	if (rte_errno == EALREADY)
		return 0;
	fprintf(stderr, "util_dp_eal_init: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
	return -1;
}

struct rte_mempool *util_dp_pool(void)
{
	struct rte_mempool *mp = rte_mempool_lookup(UTIL_DP_POOL_NAME);

	if (mp)
		return mp;
	mp = rte_pktmbuf_pool_create(UTIL_DP_POOL_NAME, UTIL_DP_POOL_SIZE, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (!mp)
		fprintf(stderr, "util_dp_pool: %s\n", rte_strerror(rte_errno));
	return mp;
}
