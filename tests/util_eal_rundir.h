/* Test programs run the EAL with --no-shconf, which still creates an empty
 * runtime directory (/var/run/dpdk/<file-prefix>) and never removes it:
 * remove it at exit so test runs leave nothing behind. */
#ifndef LC_TESTS_UTIL_EAL_RUNDIR_H
#define LC_TESTS_UTIL_EAL_RUNDIR_H

#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

static void util_eal_rundir_remove(void)
{
	rmdir(rte_eal_get_runtime_dir()); /* fails harmlessly if not empty */
}

/* Call once after a successful rte_eal_init(). */
static inline void util_eal_rundir_remove_at_exit(void)
{
	atexit(util_eal_rundir_remove);
}

#endif
