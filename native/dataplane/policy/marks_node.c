/* SPDX-License-Identifier: BSD-3-Clause
 * Reading the NIC's MARKs on a production burst (marks.h). Called by the rx
 * step only when some packet of the burst carries a MARK.
 */
#include <rte_mbuf.h>

#include "marks.h"
#include "compiled_policy.h"

void
st_nic_marks(struct st_lcore *lc, const struct st_rxq *q, const struct st_policy *pol,
	     const struct st_marks *mk, struct rte_mbuf **pkts, uint64_t marked,
	     struct st_nic_burst *nb)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const uint8_t *kind = mk != NULL && mk->on[q->port_idx] ? mk->kind[q->port_idx] : NULL;

	while (marked != 0) {
		const unsigned int pi = (unsigned int)__builtin_ctzll(marked);
		const uint64_t bit = UINT64_C(1) << pi;
		const uint32_t id = pkts[pi]->hash.fdir.hi;
		uint32_t slot = id - ST_MARK_COPY_BASE;

		marked &= marked - 1;
		if (slot < ST_MAX_SESSIONS) {
			const int16_t si = kind != NULL && (kind[slot] & ST_MARK_KIND_NIC_COPY) && pol != NULL
				? pol->slot_si[slot] : -1;

			nb->drop |= bit;
			if (si >= 0) {
				nb->copies |= bit;
				nb->copy_si[pi] = (uint16_t)si;
				c->nic_copies++;
			} else {
				c->dropped[ST_DROP_NIC_COPY]++;
			}
			continue;
		}
		slot = id - ST_MARK_DECIDED_BASE;
		if (slot < ST_MAX_SESSIONS && kind != NULL && (kind[slot] & ST_MARK_KIND_NIC_DECIDED) &&
		    pol != NULL && pol->slot_si[slot] >= 0) {
			nb->skip |= bit;
			c->nic_decided++;
			c->sess[slot].matched++;
		}
	}
}
