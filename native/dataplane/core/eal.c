/* SPDX-License-Identifier: BSD-3-Clause
 * EAL lifetime, version and port listing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_version.h>

#include "dp.h"
#include "error.h"

const char *
st_dp_version(void)
{
	/* What the operator needs when reporting a problem: our ABI and DPDK's. */
	static char v[96];

	if (v[0] == '\0')
		snprintf(v, sizeof(v), "shadowtap-dataplane 0.1.0 (%s)", rte_version());
	return v;
}

int
st_dp_eal_init(int argc, char **argv, struct st_error *err)
{
	int rc;

	st_error_clear(err);
	/* EAL keeps global state that rte_eal_cleanup does not fully reset:
	 * a second init in one process is refused here, before DPDK sees it. */
	if (st_dp_state_get() != ST_DP_NO_EAL) {
		st_error_set(err, "ST_ERR_EAL_ALREADY", "", EALREADY,
			     "EAL was already initialised in this process (pid %d); "
			     "start a new data-plane process instead", (int)getpid());
		return -EALREADY;
	}
	if (argc < 1 || argv == NULL) {
		st_error_set(err, "ST_ERR_EAL_INIT", "ealArgs", EINVAL,
			     "EAL arguments must start with a program name");
		return -EINVAL;
	}
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		int e = rte_errno;

		/* A failed init still consumed the process's one chance. */
		st_dp_state_set(ST_DP_CLEANED);
		st_error_set(err, "ST_ERR_EAL_INIT", "ealArgs", e,
			     "rte_eal_init failed: %s (rte_errno %d)", rte_strerror(e), e);
		return -(e ? e : EINVAL);
	}
	st_dp_state_set(ST_DP_IDLE);
	return 0;
}

int
st_dp_eal_cleanup(struct st_error *err)
{
	int s = st_dp_state_get();
	int rc;

	st_error_clear(err);
	if (s == ST_DP_NO_EAL || s == ST_DP_CLEANED)
		return 0;
	if (s == ST_DP_SETTING_UP) {
		st_error_set(err, "ST_ERR_BUSY", "", EBUSY,
			     "a start is still in progress; wait for it before cleanup");
		return -EBUSY;
	}
	if (s == ST_DP_READY || s == ST_DP_RUNNING) {
		rc = st_dp_stop(err);
		if (rc < 0)
			return rc;
	}
	rc = rte_eal_cleanup();
	st_dp_state_set(ST_DP_CLEANED);
	if (rc < 0) {
		int e = rte_errno ? rte_errno : -rc;

		st_error_set(err, "ST_ERR_EAL_CLEANUP", "", e,
			     "rte_eal_cleanup failed: %s", rte_strerror(e));
		return -e;
	}
	return 0;
}

int
st_dp_port_list(struct st_port_info *out, uint16_t max, uint16_t *nb_out)
{
	uint16_t pid, n = 0;
	int s = st_dp_state_get();

	*nb_out = 0;
	if (s == ST_DP_NO_EAL || s == ST_DP_CLEANED)
		return -ENODEV;
	RTE_ETH_FOREACH_DEV(pid) {
		struct rte_eth_dev_info info;
		struct rte_ether_addr mac;
		struct st_port_info *p;

		if (n >= max)
			break;
		p = &out[n];
		memset(p, 0, sizeof(*p));
		p->port_id = pid;
		p->switch_domain = -1;
		if (rte_eth_dev_get_name_by_port(pid, p->name) != 0)
			snprintf(p->name, sizeof(p->name), "port%u", pid);
		if (rte_eth_dev_info_get(pid, &info) == 0) {
			snprintf(p->driver, sizeof(p->driver), "%s",
				 info.driver_name ? info.driver_name : "");
			p->max_rx_queues = info.max_rx_queues;
			p->max_tx_queues = info.max_tx_queues;
			/* ports of one domain can send to each other in transfer rules */
			if (info.switch_info.domain_id != RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID)
				p->switch_domain = info.switch_info.domain_id;
		}
		if (rte_eth_macaddr_get(pid, &mac) == 0)
			memcpy(p->mac, mac.addr_bytes, sizeof(p->mac));
		n++;
	}
	*nb_out = n;
	return 0;
}
