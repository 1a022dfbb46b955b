/* SPDX-License-Identifier: BSD-3-Clause
 * Ports: find the ethdev EAL created for a start plan port, give every worker its
 * own queues, start it; and undo all of that.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_log.h>

#include "error.h"
#include "port.h"
#include "measure.h"

/* Appends the names of the ethdevs that do exist, so a typo in a start plan port's
 * device can be fixed without reading the EAL log. */
static void
list_ethdevs(char *buf, size_t len)
{
	uint16_t pid;
	size_t off = 0;
	int first = 1;

	buf[0] = '\0';
	RTE_ETH_FOREACH_DEV(pid) {
		char name[RTE_ETH_NAME_MAX_LEN];
		int w;

		if (rte_eth_dev_get_name_by_port(pid, name) != 0)
			continue;
		w = snprintf(buf + off, len - off, "%s%s", first ? "" : ", ", name);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
		first = 0;
	}
	if (first)
		snprintf(buf, len, "(none: check the --vdev/-a EAL arguments)");
}

int
st_port_resolve(const struct st_start_plan *sp, uint16_t i, uint16_t *port_id,
		struct st_error *err)
{
	const char *dev = sp->ports[i].device;
	char field[48];
	char names[320];
	int rc;

	snprintf(field, sizeof(field), "ports[%u].device", i);
	rc = rte_eth_dev_get_port_by_name(dev, port_id);
	if (rc == 0)
		return 0;
	list_ethdevs(names, sizeof(names));
	st_error_set(err, "ST_ERR_PORT_NOT_FOUND", field, -rc,
		     "port '%s': no ethdev named '%s'; existing ethdevs: %s",
		     sp->ports[i].name, dev, names);
	return rc < 0 ? rc : -ENODEV;
}

static int
port_fail(struct st_error *err, const char *code, const char *field, int rc,
	  const char *what, const struct st_start_plan *sp, uint16_t i)
{
	st_error_set(err, code, field, -rc, "port '%s' (%s): %s failed: %s",
		     sp->ports[i].name, sp->ports[i].device, what,
		     rte_strerror(-rc));
	return rc;
}

/* Decide queue counts: worker w owns rx queue w and tx queue w of every port.
 * need_tx: some worker transmits on this port (egress target or shadow). */
static int
port_start_plan_queues(const struct st_start_plan *sp, uint16_t i, int need_tx,
		 const struct rte_eth_dev_info *info, struct st_port_rt *rt,
		 struct st_error *err)
{
	const struct st_port_conf *pc = &sp->ports[i];
	uint16_t w = sp->nb_workers;
	char field[48];

	snprintf(field, sizeof(field), "ports[%u].device", i);
	if (pc->role == ST_ROLE_PRODUCTION && info->max_rx_queues < w) {
		st_error_set(err, "ST_ERR_PORT_QUEUES", field, EINVAL,
			     "production port '%s' (%s) has at most %u rx queue(s) "
			     "but the plan has %u workers, each needing its own rx queue; "
			     "use at most %u worker(s) (dataplane.workers) or a device with "
			     "more queues",
			     pc->name, pc->device, info->max_rx_queues, w,
			     info->max_rx_queues);
		return -EINVAL;
	}
	if (need_tx && info->max_tx_queues < w) {
		st_error_set(err, "ST_ERR_PORT_QUEUES", field, EINVAL,
			     "port '%s' (%s) has at most %u tx queue(s) but the plan "
			     "has %u workers, each needing its own tx queue on it",
			     pc->name, pc->device, info->max_tx_queues, w);
		return -EINVAL;
	}
	/* Devices without rx (a write-only capture) are simply never polled. */
	rt->nb_rxq = RTE_MIN(w, info->max_rx_queues);
	rt->nb_txq = RTE_MIN(w, info->max_tx_queues);
	if (rt->nb_rxq == 0 && rt->nb_txq == 0) {
		st_error_set(err, "ST_ERR_PORT_QUEUES", field, EINVAL,
			     "port '%s' (%s) offers neither rx nor tx queues",
			     pc->name, pc->device);
		return -EINVAL;
	}
	return 0;
}

static int
port_needs_tx(const struct st_start_plan *sp, uint16_t i)
{
	uint16_t k;

	for (k = 0; k < sp->nb_shadow_ports; k++)
		if (sp->shadow_ports[k] == (int16_t)i)
			return 1;
	if (sp->mode != ST_MODE_INLINE)
		return 0;
	for (k = 0; k < sp->nb_ports; k++)
		if (sp->ports[k].role == ST_ROLE_PRODUCTION &&
		    sp->ports[k].egress == (int16_t)i)
			return 1;
	return 0;
}

int
st_port_configure(const struct st_start_plan *sp, uint16_t i,
		  struct st_port_rt *rt, struct rte_mempool *mp,
		  struct st_error *err)
{
	const struct st_port_conf *pc = &sp->ports[i];
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	char field[48];
	uint16_t q;
	int rc;

	snprintf(field, sizeof(field), "ports[%u].device", i);
	rc = rte_eth_dev_info_get(rt->port_id, &info);
	if (rc != 0)
		return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
				 "rte_eth_dev_info_get", sp, i);
	rc = port_start_plan_queues(sp, i, port_needs_tx(sp, i), &info, rt, err);
	if (rc != 0)
		return rc;

	memset(&conf, 0, sizeof(conf));
	/* Several workers only help if the NIC spreads flows over their queues. */
	if (rt->nb_rxq > 1) {
		uint64_t hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);

		if (hf != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		}
	}
	/* Copies of jumbo frames may be chained; never ask for fast free
	 * because shadow copies are sent with refcnt > 1. */
	conf.txmode.offloads = info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* Rx timestamps for the measure stage, where the port has them. */
	conf.rxmode.offloads |= st_measure_rx_offloads(rt->port_id, info.driver_name,
						       info.rx_offload_capa);

	/* Ask for rte_flow MARK delivery before configure (DPDK requires
	 * that order); PMDs without the op answer ENOTSUP and need nothing. */
	{
		uint64_t meta = RTE_ETH_RX_METADATA_USER_MARK;

		(void)rte_eth_rx_metadata_negotiate(rt->port_id, &meta);
	}

	rc = rte_eth_dev_configure(rt->port_id, rt->nb_rxq, rt->nb_txq, &conf);
	if (rc != 0)
		return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
				 "rte_eth_dev_configure", sp, i);
	rt->configured = 1;

	rt->rx_desc = pc->rx_desc ? pc->rx_desc : ST_DESC_DEFAULT;
	rt->tx_desc = pc->tx_desc ? pc->tx_desc : ST_DESC_DEFAULT;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(rt->port_id, &rt->rx_desc, &rt->tx_desc);
	if (rc != 0)
		return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
				 "rte_eth_dev_adjust_nb_rx_tx_desc", sp, i);

	rt->socket = rte_eth_dev_socket_id(rt->port_id);
	if (rt->socket < 0)
		rt->socket = SOCKET_ID_ANY;
	for (q = 0; q < rt->nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(rt->port_id, q, rt->rx_desc, rt->socket,
					    NULL, mp);
		if (rc != 0)
			return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
					 "rte_eth_rx_queue_setup", sp, i);
	}
	for (q = 0; q < rt->nb_txq; q++) {
		struct rte_eth_txconf txconf = info.default_txconf;

		txconf.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(rt->port_id, q, rt->tx_desc, rt->socket,
					    &txconf);
		if (rc != 0)
			return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
					 "rte_eth_tx_queue_setup", sp, i);
	}

	rc = rte_eth_dev_start(rt->port_id);
	if (rc != 0)
		return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
				 "rte_eth_dev_start", sp, i);
	rt->started = 1;

	if (pc->promiscuous) {
		snprintf(field, sizeof(field), "ports[%u].promiscuous", i);
		rc = rte_eth_promiscuous_enable(rt->port_id);
		/* Capture files, rings and null devices have no MAC filter to
		 * open: nothing is lost without promiscuous mode there. */
		if (rc == -ENOTSUP)
			RTE_LOG(INFO, USER1, "shadowtap: port '%s' (%s): promiscuous "
				"mode not supported by the driver; ignored\n",
				pc->name, pc->device);
		else if (rc != 0)
			return port_fail(err, "ST_ERR_PORT_CONFIG", field, rc,
					 "rte_eth_promiscuous_enable", sp, i);
	}
	return 0;
}

void
st_port_release(struct st_port_rt *rt)
{
	if (rt->started) {
		int rc = rte_eth_dev_stop(rt->port_id);

		if (rc != 0)
			RTE_LOG(WARNING, USER1, "shadowtap: port %u: stop failed: %s\n",
				rt->port_id, rte_strerror(-rc));
		rt->started = 0;
	}
	if (rt->configured) {
		int rc = rte_eth_dev_close(rt->port_id);

		if (rc != 0)
			RTE_LOG(WARNING, USER1, "shadowtap: port %u: close failed: %s\n",
				rt->port_id, rte_strerror(-rc));
		rt->configured = 0;
	}
}
