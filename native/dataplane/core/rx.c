/* SPDX-License-Identifier: BSD-3-Clause
 * The rx step's handlers, one per port role: what a received burst becomes.
 * Production: let the policy copy what it mirrors, forward production, then
 * let the policy run its shadow stages over the copies. Tap: the same, with
 * nothing forwarded. Egress and shadow: counted and freed, never forwarded.
 *
 * Production mbufs are never written: every rewrite happens on a private
 * copy from the shadow pool (or, in tap mode, on an input that is itself a
 * copy), so a shadow-side fault or a full shadow queue cannot touch or slow
 * production beyond the copy.
 *
 * Measurement (the measure stage, measure.h) runs here: on production rx in
 * st_rx_production/st_rx_tap and on shadow rx in st_rx_shadow; per worker
 * with one writer, read by measure_ctl.c.
 */
#include <rte_branch_prediction.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "lcore.h"
#include "port.h"
#include "marks.h"
#include "compiled_policy.h"
#include "measure.h"
#include "faults.h"

/* The measure stage (measure.h) over what a port role received. */
/* The short path (compiled_policy.h, "simple") serves this round: the policy
 * is simple and either no fault is armed, or the fault stages' short forms
 * can take the table (it never makes more copies than it is given). */
static inline int
st_simple_ok(const struct st_lcore *lc, const struct st_policy *pol)
{
	return pol->simple && (lc->work.faults == NULL ||
			       (pol->simple_f && !st_fault_table_grows(lc->work.faults)));
}

static inline void
measure_rx(struct st_lcore *lc, const struct st_rxq *q, uint8_t side,
	   struct rte_mbuf **pkts, uint16_t n)
{
	struct st_measure *ms = st_measure_get();

	if (unlikely(ms != NULL))
		st_measure_burst(ms, lc->conf.worker, side, q->port_id, pkts, n);
}

static inline uint64_t
frame_bytes(struct rte_mbuf **pkts, uint16_t from, uint16_t to)
{
	uint64_t b = 0;

	for (; from < to; from++)
		b += rte_pktmbuf_pkt_len(pkts[from]);
	return b;
}

/* Production side of a burst: counted on the way in, forwarded to the egress
 * port untouched (inline) or released. */
static inline void
production_out(struct st_lcore *lc, const struct st_rxq *q, struct rte_mbuf **pkts,
	       uint16_t n, uint64_t bytes)
{
	struct st_lcore_ctr *c = &lc->ctr;

	if (q->egress_port_id != ST_NO_PORT) {
		struct st_port_ctr *ec = &c->ports[q->egress_idx];
		uint16_t sent = rte_eth_tx_burst(q->egress_port_id, lc->conf.worker, pkts, n);
		uint64_t sent_bytes = bytes;

		if (unlikely(sent < n)) {
			sent_bytes -= frame_bytes(pkts, sent, n);
			rte_pktmbuf_free_bulk(&pkts[sent], (unsigned int)(n - sent));
			ec->tx_dropped += (uint64_t)(n - sent);
		}
		ec->tx_packets += sent;
		ec->tx_bytes += sent_bytes;
	} else {
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

void
st_rx_production(ST_RX_ARGS)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_nic_burst nb;
	struct rte_mbuf *cps[ST_BURST_MAX];
	uint64_t marked = 0, bytes;
	uint16_t i, nc = 0;

	/* 0. MARKs set by the NIC's rules: one OR per packet when there are none. */
	for (i = 0; i < n; i++)
		marked |= (uint64_t)((pkts[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID) != 0) << i;
	if (unlikely(marked != 0)) {
		nb.skip = nb.copies = nb.drop = 0;
		st_nic_marks(lc, q, pol, mk, pkts, marked, &nb);
		/* A NIC-made copy the rx check repaired is not finished either. */
		nb.copies &= ~lc->work.nocopy;
		if (nb.drop == 0 && nb.skip == 0)
			marked = 0;
	}

	/* 1. Copies first: once an original is handed to tx the driver may
	 * free and recycle it at any moment. A burst no session is offered
	 * costs one AND. */
	lc->work.src_bits = q->src_bits;
	if (likely(marked == 0)) {
		if (pol != NULL && (pol->sources & q->src_bits) != 0) {
			if (st_simple_ok(lc, pol))
				nc = st_simple_copy(lc, pol, pkts, n, cps, 0);
			else
				st_policy_copy(lc, q, pol, pkts, n, NULL);
		}
	} else {
		uint16_t k = 0;

		if (pol != NULL && ((pol->sources & q->src_bits) != 0 || nb.copies != 0))
			st_policy_copy(lc, q, pol, pkts, n, &nb);
		/* NIC-made copies never go to production: they are done with
		 * (copied into the shadow pool) or stray. */
		for (i = 0; i < n; i++) {
			if (nb.drop >> i & 1)
				rte_pktmbuf_free(pkts[i]);
			else
				pkts[k++] = pkts[i];
		}
		n = k;
	}
	/* Production as mirrored: after the NIC's own copies are set aside,
	 * before anything is sent (nothing here writes a packet). */
	measure_rx(lc, q, ST_MEAS_PRODUCTION, pkts, n);
	bytes = frame_bytes(pkts, 0, n);
	c->ports[q->port_idx].rx_packets += n;
	c->ports[q->port_idx].rx_bytes += bytes;
	/* 2. Production continues untouched. */
	if (n != 0)
		production_out(lc, q, pkts, n, bytes);
	/* 3. The shadow side: rewrite, filter, encapsulate, send. */
	if (nc != 0)
		st_simple_shadow(lc, pol, cps, nc);
	if (lc->work.nb != 0)
		st_policy_shadow(lc, pol);
}

/* Tap mode: what arrives is already a copy (SPAN/TAP port), so nothing goes
 * back to production; a packet with exactly one untruncated copy is
 * translated in place (st_policy_copy takes it and clears its slot). */
void
st_rx_tap(ST_RX_ARGS)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct rte_mbuf *cps[ST_BURST_MAX];
	uint16_t i, k = 0, nc = 0;

	/* MARKs are not read here: nothing a tap port receives goes to
	 * production, and the planner places no rule on tap ports. */
	(void)mk;
	/* Before the copy, which may translate a packet in place. */
	measure_rx(lc, q, ST_MEAS_PRODUCTION, pkts, n);
	c->ports[q->port_idx].rx_packets += n;
	c->ports[q->port_idx].rx_bytes += frame_bytes(pkts, 0, n);
	lc->work.src_bits = q->src_bits;
	if (pol != NULL && (pol->sources & q->src_bits) != 0) {
		if (st_simple_ok(lc, pol))
			nc = st_simple_copy(lc, pol, pkts, n, cps, 1);
		else
			st_policy_copy(lc, q, pol, pkts, n, NULL);
	}
	if (nc != n) {
		for (i = 0; i < n; i++)
			if (pkts[i] != NULL)
				pkts[k++] = pkts[i];
		if (k != 0)
			rte_pktmbuf_free_bulk(pkts, k);
	}
	if (nc != 0)
		st_simple_shadow(lc, pol, cps, nc);
	if (lc->work.nb != 0)
		st_policy_shadow(lc, pol);
}

/* Egress-role ports: whatever arrives there (e.g. replies on the far side of
 * an inline pair when only one direction is configured) is counted, freed. */
void
st_rx_sink(ST_RX_ARGS)
{
	struct st_port_ctr *pc = &lc->ctr.ports[q->port_idx];

	(void)pol;
	(void)mk;
	pc->rx_packets += n;
	pc->rx_bytes += frame_bytes(pkts, 0, n);
	rte_pktmbuf_free_bulk(pkts, n);
}

/* Shadow-role ports: the replica's own traffic is measured and dropped, and
 * never reaches a production port. */
void
st_rx_shadow(ST_RX_ARGS)
{
	lc->ctr.shadow_rx_packets += n;
	measure_rx(lc, q, ST_MEAS_SHADOW, pkts, n);
	st_rx_sink(lc, q, pol, mk, pkts, n);
}
