/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the shadow firewall: the policy's translated security
 * rules as a second rte_acl context over the same key as the classifier
 * (one category; first rule wins), and the action of each rule.
 */
#include <errno.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "error.h"
#include "classify.h"
#include "firewall.h"
#include "compiled_policy.h"

int
st_firewall_build(struct st_policy *pol, const struct st_policy_conf *c,
	       struct st_acl_rule *scratch, struct st_error *err)
{
	uint32_t i;
	int rc, wide = 0;

	pol->fw_default = c->fw_default;
	if (c->nb_fw_rules == 0)
		return 0;
	pol->fw_action = rte_zmalloc("st_fw_action", c->nb_fw_rules, 0);
	if (pol->fw_action == NULL)
		return st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "policy.fwRules|out of memory");
	for (i = 0; i < c->nb_fw_rules; i++) {
		const struct st_fw_rule *r = &c->fw_rules[i];
		struct st_acl_rule *a = &scratch[i];

		memset(a, 0, sizeof(*a));
		st_classify_acl_common(a, r->ip_version, r->proto, r->proto_mask, r->src, r->src_len, r->dst,
			   r->dst_len, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi);
		a->data.category_mask = 1;
		a->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		a->data.userdata = i + 1;
		pol->fw_action[i] = r->action;
		wide |= st_classify_prefix_is_wide(r->src, r->src_len) || st_classify_prefix_is_wide(r->dst, r->dst_len);
	}
	pol->fw = st_classify_acl_create(c->nb_fw_rules, err, "policy.fwRules");
	if (pol->fw == NULL)
		return -ENOMEM;
	rc = rte_acl_add_rules(pol->fw, (const struct rte_acl_rule *)scratch, c->nb_fw_rules);
	if (rc != 0)
		return st_error_fieldf(err, "ST_ERR_POLICY_COMPILE", -rc, "policy.fwRules|cannot add %u "
			       "rules to the firewall: %s", c->nb_fw_rules, rte_strerror(-rc));
	return st_classify_acl_build(pol->fw, 1, wide, err, "policy.fwRules", c->nb_fw_rules);
}

int
st_firewall_needed(const struct st_policy *pol)
{
	return pol->fw_enabled;
}
