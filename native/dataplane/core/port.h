/* SPDX-License-Identifier: BSD-3-Clause
 * Ports (port.c): find the ethdev EAL created for a start plan port, give every
 * worker its own rx and tx queue on it, start it; and undo all of that.
 */
#ifndef ST_PORT_H
#define ST_PORT_H

#include <stdint.h>

#include "st_dataplane.h"

struct rte_mempool;

#define ST_DESC_DEFAULT       1024
#define ST_NO_PORT            UINT16_MAX

/* What the control side decided for one start plan port. */
struct st_port_rt {
	uint16_t port_id;     /* ethdev port id */
	uint16_t nb_rxq;      /* queues configured (0: never polled) */
	uint16_t nb_txq;
	uint16_t rx_desc, tx_desc;
	int socket;
	uint8_t configured;   /* rte_eth_dev_configure succeeded: close on undo */
	uint8_t started;
};

/* Resolve start plan port i by ethdev name. */
int st_port_resolve(const struct st_start_plan *sp, uint16_t i, uint16_t *port_id,
		    struct st_error *err);
/* Configure queues (rx queues from mp, none when nb_rxq is 0) and start. */
int st_port_configure(const struct st_start_plan *sp, uint16_t i,
		      struct st_port_rt *rt, struct rte_mempool *mp,
		      struct st_error *err);
/* Stop (if started) and close (if configured); safe to call twice. */
void st_port_release(struct st_port_rt *rt);

#endif /* ST_PORT_H */
