/* SPDX-License-Identifier: BSD-3-Clause
 * The tx stage (tx.h): per target, its copies in order to each of its
 * ports. Mirrored packets/bytes count once per target port that accepted the
 * copy (bytes as sent, encapsulation included), like the global counters; a
 * queue that refuses a copy drops that reference (dropped{tx_full}, the
 * port's tx_dropped).
 */
#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "lcore.h"
#include "tx.h"
#include "compiled_policy.h"

/* Send copies to a target's ports (or a delayed copy's): one reference per port, a queue that
 * refuses a copy drops that reference. Lengths and slots are read before
 * the first tx: a PMD may free what it sent inside rte_eth_tx_burst. */
void
st_tx_ports(struct st_lcore *lc, uint16_t nb_ports, const uint16_t *port_id,
	    const uint16_t *port_idx, struct rte_mbuf **m, const uint16_t *slot, uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	uint32_t len[ST_PENDING_MAX];
	uint16_t j, i;

	for (i = 0; i < n; i++)
		len[i] = rte_pktmbuf_pkt_len(m[i]);
	if (nb_ports > 1)
		for (i = 0; i < n; i++)
			rte_mbuf_refcnt_update(m[i], (int16_t)(nb_ports - 1));
	for (j = 0; j < nb_ports; j++) {
		struct st_port_ctr *pc = &c->ports[port_idx[j]];
		uint16_t sent = rte_eth_tx_burst(port_id[j], lc->conf.worker, m, n);
		uint64_t bytes = 0, run_pk = 0, run_by = 0;
		uint16_t run_slot = n != 0 ? slot[0] : 0;

		/* Per session, in runs: a burst's copies mostly share a session,
		 * and one add per run beats a read-modify-write per copy. */
		for (i = 0; i < sent; i++) {
			if (slot[i] != run_slot) {
				c->sess[run_slot].mirrored_packets += run_pk;
				c->sess[run_slot].mirrored_bytes += run_by;
				run_slot = slot[i];
				run_pk = run_by = 0;
			}
			run_pk++;
			run_by += len[i];
			bytes += len[i];
		}
		if (run_pk != 0) {
			c->sess[run_slot].mirrored_packets += run_pk;
			c->sess[run_slot].mirrored_bytes += run_by;
		}
		for (i = sent; i < n; i++) {
			c->sess[slot[i]].dropped[ST_SDROP_TX_FULL]++;
			rte_pktmbuf_free(m[i]);
		}
		if (unlikely(sent < n)) {
			c->dropped[ST_DROP_TX_FULL] += (uint64_t)(n - sent);
			pc->tx_dropped += (uint64_t)(n - sent);
		}
		pc->tx_packets += sent;
		pc->tx_bytes += bytes;
		c->mirror_packets += sent;
		c->mirror_bytes += bytes;
	}
}

/* Target by target, each with its copies in their order. Copies for a
 * target index beyond nb_targets cannot exist (checked at compile): they
 * are returned, and the caller frees them rather than leak them. */
uint32_t
st_tx_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p, uint32_t n)
{
	struct rte_mbuf *out[ST_PENDING_MAX];
	uint16_t slot[ST_PENDING_MAX];
	uint32_t i, k;
	uint16_t t;

	for (t = 0; t < pol->nb_targets && n != 0; t++) {
		uint16_t nb = 0;

		for (i = 0, k = 0; i < n; i++) {
			const struct st_pol_session *ps = &pol->sessions[p[i].session];

			if (ps->target != t) {
				p[k++] = p[i];
				continue;
			}
			out[nb] = p[i].m;
			slot[nb] = ps->slot;
			nb++;
		}
		n = k;
		if (nb != 0)
			st_tx_ports(lc, pol->targets[t].nb_ports, pol->targets[t].port_id,
				    pol->targets[t].port_idx, out, slot, nb);
	}
	return n;
}

uint16_t
st_tx_stage_short(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **m,
		  uint16_t n)
{
	const struct st_pol_session *ps = &pol->sessions[0];
	uint16_t slot[ST_BURST_MAX];
	uint16_t i;

	for (i = 0; i < n; i++)
		slot[i] = ps->slot;
	st_tx_ports(lc, pol->targets[ps->target].nb_ports, pol->targets[ps->target].port_id,
		    pol->targets[ps->target].port_idx, m, slot, n);
	return 0;
}
