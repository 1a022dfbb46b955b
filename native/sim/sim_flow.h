/* SPDX-License-Identifier: BSD-3-Clause
 * What net_shadowsim's rule compiler shares between sim_flow.c (the rule,
 * its attributes and pattern, rte_flow_ops) and sim_flow_actions.c (its
 * actions): the compile state of one rule and the refusal helpers, so every
 * refusal fills struct rte_flow_error the same way.
 */
#ifndef ST_SIM_FLOW_H
#define ST_SIM_FLOW_H

#include <stdbool.h>

#include <rte_flow.h>

#include "sim.h"

/* One rule being validated (and compiled when r is not a scratch copy). */
struct st_sim_compile {
	struct st_sim_dev *sd;
	const struct st_sim_profile *p;
	const struct rte_flow_attr *attr;
	struct rte_flow_error *error;
	struct st_sim_rule *r;
	enum st_sim_domain d;
	/* what the pattern names */
	bool l2, vlan, ipv4, ipv6, tcp, udp;
	/* what the actions so far did */
	int fates;
	bool encap, pushed_vlan, sample, jump;
	bool modify;
	const struct rte_flow_action *first_modify;
};

extern const char *const st_sim_domain_names[ST_SIM_NDOMAINS];

/* Fills *error (message in a per-thread buffer that outlives the call) and returns -err. */
int st_sim_refuse(struct rte_flow_error *error, int err, enum rte_flow_error_type type, const void *cause,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The family's own wording first, then what the emulator saw. */
int st_sim_refuse_item(struct st_sim_compile *c, const struct rte_flow_item *item, const char *why);
int st_sim_refuse_action(struct st_sim_compile *c, const struct rte_flow_action *a, const char *why);
/* DPDK's name of an item or action type, or "(unknown ...)". */
const char *st_sim_iname(int t);
const char *st_sim_aname(int t);

/* Checks and compiles an action list (a rule's, or a SAMPLE's copy list when in_sample). */
int st_sim_compile_actions(struct st_sim_compile *c, const struct rte_flow_action *actions, bool in_sample,
			   enum st_sim_sample_case sc, struct st_sim_op *ops, uint16_t max, uint16_t *nops);

#endif /* ST_SIM_FLOW_H */
