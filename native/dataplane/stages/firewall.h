/* SPDX-License-Identifier: BSD-3-Clause
 * The shadow firewall stage: the policy's security rules, translated into
 * the shadow address space, enforced on the copies after the rewrite (so the
 * translated rules apply). IP copies only: ARP, LLDP and other non-IP
 * copies are not filtered. One rte_acl context over the classifier's key
 * (firewall_ctl.c); one classify call per 64 copies (firewall_node.c). A
 * denied copy is freed and counted per session as dropped{firewall}.
 */
#ifndef ST_FIREWALL_H
#define ST_FIREWALL_H

#include <stdint.h>

#include "st_dataplane.h"
#include "policy.h"
#include "classify.h"

struct st_lcore;
struct st_pending;
struct st_policy;

/* The firewall of conf into pol (scratch: room for its rules). */
int st_firewall_build(struct st_policy *pol, const struct st_policy_conf *c,
		      struct st_acl_rule *scratch, struct st_error *err);
/* In the shadow path when the policy enables it. */
int st_firewall_needed(const struct st_policy *pol);

uint32_t st_firewall_stage(struct st_lcore *lc, const struct st_policy *pol,
			   struct st_pending *p, uint32_t n);

#endif /* ST_FIREWALL_H */
