/* SPDX-License-Identifier: BSD-3-Clause
 * The per-lcore fast path: poll, let the policy copy what it mirrors, forward
 * production, then let the policy finish and send the copies.
 *
 * Rules kept here: counters are plain uint64_t with this lcore as the only
 * writer; no locks, atomic read-modify-writes, allocation (besides mbufs),
 * logging or system calls in the loop (the adaptive idle nap is the one
 * deliberate exception, and only when nothing arrived). Production mbufs are
 * never written: every rewrite happens on a private copy from the shadow pool
 * (or, in tap mode, on an input that is itself a copy), so a shadow-side fault
 * or a full shadow queue cannot touch or slow production beyond the copy.
 *
 * The policy pointer is loaded once per poll round and the worker reports an
 * RCU quiescent state at the end of every round, so an install can free the
 * old policy as soon as every worker has finished the round it was in.
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "pipeline.h"
#include "rx_check.h"

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

/* What the NIC's MARKs say about a burst (policy.h, "NIC MARKs"). Called only
 * when some packet carries a MARK. A copy-range MARK is never forwarded to
 * production, whether or not it is installed. */
static void
nic_marks(struct st_lcore *lc, const struct st_rxq *q, const struct st_policy *pol,
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
		nic_marks(lc, q, pol, mk, pkts, marked, &nb);
		/* A NIC-made copy the rx check repaired is not finished either. */
		nb.copies &= ~lc->work.nocopy;
		if (nb.drop == 0 && nb.skip == 0)
			marked = 0;
	}

	/* 1. Copies first: once an original is handed to tx the driver may
	 * free and recycle it at any moment. A burst no session is offered
	 * costs one AND. */
	if (likely(marked == 0)) {
		if (pol != NULL && (pol->sources & q->src_bits) != 0) {
			if (pol->simple)
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
	c->ports[q->port_idx].rx_packets += n;
	c->ports[q->port_idx].rx_bytes += frame_bytes(pkts, 0, n);
	if (pol != NULL && (pol->sources & q->src_bits) != 0) {
		if (pol->simple)
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
	st_rx_sink(lc, q, pol, mk, pkts, n);
}

int
st_worker_main(void *arg)
{
	struct st_lcore *lc = arg;
	const struct st_lcore_conf *cf = &lc->conf;
	struct st_lcore_ctr *c = &lc->ctr;
	struct rte_mbuf *pkts[ST_BURST_MAX];
	const uint16_t burst = cf->burst;
	const int adaptive = cf->idle == ST_IDLE_ADAPTIVE;
	struct rte_rcu_qsbr *rcu = cf->rcu;
	const unsigned int tid = cf->worker;
	uint32_t empty = 0;

	rte_rcu_qsbr_thread_register(rcu, tid);
	rte_rcu_qsbr_thread_online(rcu, tid);
	while (likely(*cf->quit == 0)) {
		/* One load per round: every packet of the round sees one whole
		 * policy, old or new. */
		const struct st_policy *pol = __atomic_load_n(cf->policy, __ATOMIC_ACQUIRE);
		const struct st_marks *mk = __atomic_load_n(cf->marks, __ATOMIC_ACQUIRE);
		uint32_t got = 0;
		uint16_t i;

		c->loops++;
		for (i = 0; i < cf->nb_rxq; i++) {
			const struct st_rxq *q = &cf->rxq[i];
			uint16_t want = burst, n;
			uint64_t now = 0, suspects;

			if (unlikely(q->pace_tsc != 0)) {
				/* Replay pacing: deliver at most one packet per
				 * pace_tsc cycles, in bursts, with up to one burst of
				 * credit saved while idle. */
				uint64_t next = c->pace_next[i], credit;

				now = rte_rdtsc();
				if (now < next)
					continue;
				credit = (now - next) / q->pace_tsc + 1;
				if (credit < want)
					want = (uint16_t)credit;
			}
			n = rte_eth_rx_burst(q->port_id, q->queue, pkts, want);
			if (unlikely(q->pace_tsc != 0) && n != 0) {
				uint64_t window = (uint64_t)burst * q->pace_tsc;

				if (now > window && c->pace_next[i] < now - window)
					c->pace_next[i] = now - window;
				c->pace_next[i] += (uint64_t)n * q->pace_tsc;
			}
			if (n == 0)
				continue;
			got += n;
			/* No length the driver claims is read before it is
			 * checked (rx_check.h). */
			lc->work.nocopy = 0;
			suspects = st_rx_suspects(pkts, n);
			if (unlikely(suspects != 0)) {
				n = st_rx_check_burst(pkts, n, suspects, c->rx_invalid,
						      &lc->work.nocopy);
				if (n == 0)
					continue;
			}
			q->handle(lc, q, pol, mk, pkts, n);
		}
		/* Done with this round's policy pointer. */
		rte_rcu_qsbr_quiescent(rcu, tid);
		if (got != 0) {
			c->rx_packets += got;
			c->busy_loops++;
			empty = 0;
		} else if (adaptive && ++empty >= ST_IDLE_SPINS) {
			/* Keep a core free on shared test and demo hosts; stay in
			 * naps until traffic comes back. Offline while asleep so
			 * a policy swap never waits for the nap. */
			empty = ST_IDLE_SPINS;
			rte_rcu_qsbr_thread_offline(rcu, tid);
			rte_delay_us_sleep(ST_IDLE_SLEEP_US);
			rte_rcu_qsbr_thread_online(rcu, tid);
		}
	}
	rte_rcu_qsbr_thread_offline(rcu, tid);
	rte_rcu_qsbr_thread_unregister(rcu, tid);
	return 0;
}
