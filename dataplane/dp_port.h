/* dp_port: ethdev bring-up for the data port and the exception TAP.
 *
 * Works with any PMD: capabilities decide RSS (symmetric key, only where the
 * PMD really steers flows), checksum offloads and multi-segment TX.
 */
#ifndef DP_PORT_H
#define DP_PORT_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

struct dp_port_caps {
	char driver[64];
	int socket;            /* NUMA node of the device, SOCKET_ID_ANY if unknown */
	uint16_t max_rxq, max_txq;
	int rss;               /* real hardware RSS on IPv4/TCP */
	int rx_csum;           /* RX IPv4 + TCP checksum flags */
	int tx_csum;           /* TX IPv4 + TCP checksum offload */
	int multiseg;          /* TX of mbuf chains */
	struct rte_ether_addr mac;
};

/* Find a port by ethdev name; an empty name picks the first valid port
 * other than `skip` (DP_PORT_NONE-like UINT16_MAX for none).
 * Returns 0 or -ENODEV. */
int dp_port_lookup(const char *name, uint16_t skip, uint16_t *port);

/* Query what the port can do (and its MAC). Returns 0 or -errno. */
int dp_port_query(uint16_t port, struct dp_port_caps *caps);

/* Configure and start port with nb_rxq RX queues (queue i fed from
 * rx_pools[i]) and nb_txq TX queues; RSS with the symmetric key when
 * use_rss, checksum offloads when use_csum and supported. Returns 0 or
 * -errno with a reason in msg. */
int dp_port_start(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq,
		  struct rte_mempool *const *rx_pools, uint16_t rx_desc, uint16_t tx_desc,
		  int use_rss, int use_csum, char *msg, size_t msglen);

/* Create the kernel exception interface `iface` (net_tap PMD) carrying
 * `mac`, in the calling process's network namespace. Returns 0 and its
 * port id, or -errno. */
int dp_port_create_exception(const char *iface, const struct rte_ether_addr *mac,
			     uint16_t *port);

/* Stop and close a started port (errors are logged, not returned). */
void dp_port_close(uint16_t port);

#endif /* DP_PORT_H */
