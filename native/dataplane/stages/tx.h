/* SPDX-License-Identifier: BSD-3-Clause
 * The tx stage: the last of the shadow path (stage.h). A policy's targets
 * are compiled and bound by tx_ctl.c (ports, encapsulation templates); the
 * node (tx_node.c) sends each target's copies to every port of the target,
 * one reference per port, and counts what each queue accepted or refused.
 */
#ifndef ST_TX_H
#define ST_TX_H

#include <stdint.h>

#include "st_dataplane.h"
#include "policy.h"

struct rte_mbuf;
struct st_lcore;
struct st_pending;
struct st_policy;

/* Targets of conf into pol (ports, encapsulation template, what it adds on
 * the wire); sets pol->any_encap. err names "policy.targets[i]...". */
int st_tx_compile_targets(struct st_policy *pol, const struct st_policy_conf *conf,
			  struct st_error *err);
/* Resolve target ports against the running start plan's ports. */
int st_tx_bind(struct st_policy *pol, const struct st_start_plan *sp, struct st_error *err);

/* Send n copies to each of nb_ports ports (one reference per port; a
 * queue that refuses one drops that reference), counted per session slot
 * and port: the tx of a target, and of the delay line's releases. */
void st_tx_ports(struct st_lcore *lc, uint16_t nb_ports, const uint16_t *port_id,
		 const uint16_t *port_idx, struct rte_mbuf **m, const uint16_t *slot, uint16_t n);

uint32_t st_tx_stage(struct st_lcore *lc, const struct st_policy *pol,
		     struct st_pending *p, uint32_t n);
uint16_t st_tx_stage_short(struct st_lcore *lc, const struct st_policy *pol,
			   struct rte_mbuf **m, uint16_t n);

#endif /* ST_TX_H */
