/* Port bring-up: capabilities, queues, symmetric RSS, offloads. */
#include "dataplane/dp_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "controlplane/cp_log.h"
#include "dataplane/dp_net.h"

#define EXC_DEV_NAME "net_tap_exc"
#define RSS_KEY_MAX 64

int dp_port_lookup(const char *name, uint16_t skip, uint16_t *port)
{
	uint16_t p;

	if (name && name[0] != '\0')
		return rte_eth_dev_get_port_by_name(name, port) == 0 ? 0 : -ENODEV;
	RTE_ETH_FOREACH_DEV(p) {
		if (p != skip) {
			*port = p;
			return 0;
		}
	}
	return -ENODEV;
}

int dp_port_query(uint16_t port, struct dp_port_caps *caps)
{
	struct rte_eth_dev_info di;
	int rc;

	memset(caps, 0, sizeof(*caps));
	rc = rte_eth_dev_info_get(port, &di);
	if (rc != 0)
		return rc;
	snprintf(caps->driver, sizeof(caps->driver), "%s", di.driver_name);
	caps->socket = rte_eth_dev_socket_id(port);
	caps->max_rxq = di.max_rx_queues;
	caps->max_txq = di.max_tx_queues;
	/* net_tap advertises RSS but only applies it through rte_flow BPF
	 * programs; treat it as a single-hash-less port and dispatch in
	 * software. */
	caps->rss = (di.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0 &&
		    di.max_rx_queues > 1 && strcmp(di.driver_name, "net_tap") != 0;
	caps->rx_csum = (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) &&
			(di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	caps->tx_csum = (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) &&
			(di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
	caps->multiseg = (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
	return rte_eth_macaddr_get(port, &caps->mac);
}

/* The NIC's key length may differ from 40; the 0x6d5a period keeps the hash
 * of the 12-byte tuple identical whatever the length. */
static void rss_conf_fill(struct rte_eth_conf *conf, const struct rte_eth_dev_info *di,
			  uint8_t *key)
{
	uint8_t len = di->hash_key_size ? di->hash_key_size : DP_NET_RSS_KEY_LEN;

	if (len > RSS_KEY_MAX)
		len = RSS_KEY_MAX;
	for (uint8_t i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = key;
	conf->rx_adv_conf.rss_conf.rss_key_len = len;
	conf->rx_adv_conf.rss_conf.rss_hf =
		(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP) & di->flow_type_rss_offloads;
}

static void offloads_fill(struct rte_eth_conf *conf, const struct rte_eth_dev_info *di,
			  int use_csum)
{
	uint64_t rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	uint64_t tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

	if (use_csum && (di->rx_offload_capa & rx) == rx)
		conf->rxmode.offloads |= rx;
	if (use_csum && (di->tx_offload_capa & tx) == tx)
		conf->txmode.offloads |= tx;
	if (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
}

static int queues_setup(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq,
			struct rte_mempool *const *rx_pools, uint16_t rx_desc, uint16_t tx_desc,
			const struct rte_eth_conf *conf, const struct rte_eth_dev_info *di,
			char *msg, size_t msglen)
{
	int socket = rte_eth_dev_socket_id(port);
	struct rte_eth_rxconf rxc = di->default_rxconf;
	struct rte_eth_txconf txc = di->default_txconf;
	int rc;

	rxc.offloads = conf->rxmode.offloads;
	txc.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, rx_desc, socket, &rxc, rx_pools[q]);
		if (rc != 0) {
			snprintf(msg, msglen, "port %u rx queue %u: %s", port, q, strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(port, q, tx_desc, socket, &txc);
		if (rc != 0) {
			snprintf(msg, msglen, "port %u tx queue %u: %s", port, q, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int dp_port_start(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq,
		  struct rte_mempool *const *rx_pools, uint16_t rx_desc, uint16_t tx_desc,
		  int use_rss, int use_csum, char *msg, size_t msglen)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info di;
	uint8_t key[RSS_KEY_MAX];
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &di);
	if (rc != 0) {
		snprintf(msg, msglen, "port %u: info: %s", port, strerror(-rc));
		return rc;
	}
	if (use_rss && nb_rxq > 1)
		rss_conf_fill(&conf, &di, key);
	offloads_fill(&conf, &di, use_csum);
	rc = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
	if (rc != 0) {
		snprintf(msg, msglen, "port %u: configure %u/%u queues: %s", port, nb_rxq, nb_txq,
			 strerror(-rc));
		return rc;
	}
	uint16_t rxd = rx_desc, txd = tx_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	rc = queues_setup(port, nb_rxq, nb_txq, rx_pools, rxd, txd, &conf, &di, msg, msglen);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_start(port);
	if (rc != 0) {
		snprintf(msg, msglen, "port %u: start: %s", port, strerror(-rc));
		return rc;
	}
	cp_info("port %u (%s) started: %u rx / %u tx queues, rss %s, offloads rx 0x%llx tx 0x%llx",
		port, di.driver_name, nb_rxq, nb_txq, conf.rxmode.mq_mode ? "on" : "off",
		(unsigned long long)conf.rxmode.offloads,
		(unsigned long long)conf.txmode.offloads);
	return 0;
}

int dp_port_create_exception(const char *iface, const struct rte_ether_addr *mac,
			     uint16_t *port)
{
	char args[256], macs[RTE_ETHER_ADDR_FMT_SIZE];
	int rc;

	rte_ether_format_addr(macs, sizeof(macs), mac);
	rc = snprintf(args, sizeof(args), EXC_DEV_NAME ",iface=%s,mac=%s", iface, macs);
	if (rc < 0 || (size_t)rc >= sizeof(args))
		return -EINVAL;
	rc = rte_dev_probe(args);
	if (rc != 0)
		return rc;
	return rte_eth_dev_get_port_by_name(EXC_DEV_NAME, port) == 0 ? 0 : -ENODEV;
}

void dp_port_close(uint16_t port)
{
	int rc = rte_eth_dev_stop(port);

	if (rc != 0)
		cp_warn("port %u: stop: %s", port, strerror(-rc));
	rc = rte_eth_dev_close(port);
	if (rc != 0)
		cp_warn("port %u: close: %s", port, strerror(-rc));
}
