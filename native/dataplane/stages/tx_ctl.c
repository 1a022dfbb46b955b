/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the tx stage (tx.h): a policy's targets, and their ports
 * resolved against the running start plan.
 */
#include <errno.h>

#include "error.h"
#include "dp.h"
#include "encap.h"
#include "tx.h"
#include "compiled_policy.h"

int
st_tx_compile_targets(struct st_policy *pol, const struct st_policy_conf *c,
		      struct st_error *err)
{
	uint32_t i;

	for (i = 0; i < c->nb_targets; i++) {
		const struct st_target_conf *tc = &c->targets[i];
		struct st_pol_target *t = &pol->targets[i];

		t->nb_ports = tc->nb_ports;
		for (uint32_t k = 0; k < tc->nb_ports; k++)
			t->port_idx[k] = (uint16_t)tc->ports[k];
		if (st_encap_build(tc, (uint16_t)i, &t->tmpl, err) != 0) {
			if (err != NULL && err->code[0] == '\0')
				st_error_fieldf(err, "ST_ERR_ENCAP", EINVAL, "policy.targets[%u]|cannot "
						"build the encapsulation", i);
			return -EINVAL;
		}
		t->wire_extra = tc->encap == ST_ENCAP_NONE ? 0 : t->tmpl.hdr_len;
		pol->any_encap |= tc->encap != ST_ENCAP_NONE;
	}
	return 0;
}

int
st_tx_bind(struct st_policy *pol, const struct st_start_plan *sp, struct st_error *err)
{
	uint32_t i, k;

	for (i = 0; i < pol->nb_targets; i++) {
		struct st_pol_target *t = &pol->targets[i];

		for (k = 0; k < t->nb_ports; k++) {
			uint16_t p = t->port_idx[k];

			if (p >= sp->nb_ports)
				return ST_INVALID(err, "policy.targets[%u].ports[%u]|expected a port "
						  "index below %u, got %u", i, k, sp->nb_ports, p);
			if (sp->ports[p].role != ST_ROLE_SHADOW)
				return ST_INVALID(err, "policy.targets[%u].ports[%u]|ports[%u] '%s' is "
						  "not a shadow-role port; copies may only leave on "
						  "shadow ports", i, k, p, sp->ports[p].name);
			t->port_id[k] = st_dp_g.ports[p].port_id;
		}
	}
	return 0;
}
