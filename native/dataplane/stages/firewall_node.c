/* SPDX-License-Identifier: BSD-3-Clause
 * The shadow firewall stage (firewall.h).
 */
#include <rte_acl.h>
#include <rte_common.h>
#include <rte_mbuf.h>

#include "lcore.h"
#include "classify.h"
#include "firewall.h"
#include "compiled_policy.h"

/* Shadow firewall over pending copies [from, to): denied ones are freed and
 * their slot's mbuf set to NULL. */
static void
firewall(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p, uint32_t from,
	 uint32_t to)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_key keys[ST_BURST_MAX];
	const uint8_t *kp[ST_BURST_MAX];
	uint32_t idx[ST_BURST_MAX];
	uint32_t res[ST_BURST_MAX];
	uint32_t i, nk = 0;

	for (i = from; i < to; i++) {
		struct rte_mbuf *m = p[i].m;

		if (m == NULL)
			continue;
		st_key_parse(&keys[nk], rte_pktmbuf_mtod(m, const uint8_t *),
			     rte_pktmbuf_data_len(m));
		if (keys[nk].ip_version == 0)
			continue;   /* ARP, LLDP...: security rules are about IP */
		kp[nk] = (const uint8_t *)&keys[nk];
		idx[nk] = i;
		nk++;
	}
	if (nk == 0)
		return;
	if (pol->fw != NULL)
		rte_acl_classify(pol->fw, kp, res, nk, 1);
	for (i = 0; i < nk; i++) {
		uint8_t action = pol->fw != NULL && res[i] != 0 ? pol->fw_action[res[i] - 1] :
			pol->fw_default;

		if (action == ST_RULE_ACCEPT)
			continue;
		c->sess[pol->sessions[p[idx[i]].session].slot].dropped[ST_SDROP_FIREWALL]++;
		rte_pktmbuf_free(p[idx[i]].m);
		p[idx[i]].m = NULL;
	}
}

uint32_t
st_firewall_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
		  uint32_t n)
{
	uint32_t i, k;

	for (i = 0; i < n; i += ST_BURST_MAX)
		firewall(lc, pol, p, i, RTE_MIN(n, i + ST_BURST_MAX));
	for (i = 0, k = 0; i < n; i++)
		if (p[i].m != NULL)
			p[k++] = p[i];
	return k;
}
