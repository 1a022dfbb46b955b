/* SPDX-License-Identifier: BSD-3-Clause
 * The worker loop an lcore runs: per round, load the policy and MARK
 * pointers once, poll each of its (port, queue)s (rx step: pacing, the rx
 * check, the port role's handler in rx.c), run the deadline step when its
 * TSC deadline has passed, report an RCU quiescent state, nap when idle.
 *
 * Rules kept here: counters are plain uint64_t with this lcore as the only
 * writer; no locks, atomic read-modify-writes, allocation (besides mbufs),
 * logging or system calls in the loop (the adaptive idle nap is the one
 * deliberate exception, and only when nothing arrived).
 *
 * The policy pointer is loaded once per poll round and the worker reports an
 * RCU quiescent state at the end of every round, so an install can free the
 * old policy as soon as every worker has finished the round it was in.
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "lcore.h"
#include "rx_check.h"
#include "faults.h"

/* Packets whose signature is quarantined (quarantine.h): forwarded, never
 * offered to the policy, counted. */
static void
quarantine_burst(struct st_lcore *lc, struct rte_mbuf *const *pkts, uint16_t n)
{
	const struct st_quarantine *qt = lc->conf.quarantine;
	const uint64_t now = rte_rdtsc();
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (lc->work.nocopy >> i & 1)
			continue;
		if (st_quarantined(qt, st_mbuf_signature(pkts[i]), now)) {
			lc->work.nocopy |= UINT64_C(1) << i;
			lc->ctr.quarantined++;
		}
	}
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
	const st_deadline_fn deadline_step = cf->deadline_step;
	uint32_t empty = 0;

	rte_rcu_qsbr_thread_register(rcu, tid);
	rte_rcu_qsbr_thread_online(rcu, tid);
	while (likely(*cf->quit == 0)) {
		/* One load per round: every packet of the round sees one whole
		 * policy, old or new. */
		/* Forward-only (a crash loop): no policy, so no shadow work. */
		const struct st_policy *pol = unlikely(*cf->forward_only)
			? NULL : __atomic_load_n(cf->policy, __ATOMIC_ACQUIRE);
		const struct st_marks *mk = __atomic_load_n(cf->marks, __ATOMIC_ACQUIRE);
		/* The fault table, loaded once per round like the policy: NULL
		 * (none armed) keeps the fault stages out of this round. */
		const struct st_fault_table *ft = pol == NULL ? NULL :
			__atomic_load_n(cf->faults, __ATOMIC_ACQUIRE);
		uint32_t got = 0;
		uint16_t i;

		c->loops++;
		lc->work.faults = ft;
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
			if (unlikely(cf->quarantine != NULL))
				quarantine_burst(lc, pkts, n);
			if (cf->flight != NULL) {
				cf->flight->port_id = q->port_id;
				cf->flight->bursts++;
				st_flight_at(cf->flight, ST_FLIGHT_RX, NULL);
			}
			q->handle(lc, q, pol, mk, pkts, n);
			st_flight_at(cf->flight, ST_FLIGHT_IDLE, NULL);
		}
		/* The delay line's release, while a fault is armed or copies
		 * are held (its due time is UINT64_MAX otherwise). */
		if (unlikely(ft != NULL || c->imp_due != UINT64_MAX)) {
			const uint64_t now = rte_rdtsc();

			if (now >= c->imp_due)
				c->imp_due = st_impair_deadline(lc, now);
		}
		/* The deadline step (lcore.h), under the same policy pointer. */
		if (unlikely(deadline_step != NULL)) {
			const uint64_t now = rte_rdtsc();

			if (now >= c->deadline_tsc)
				c->deadline_tsc = deadline_step(lc, now);
		}
		/* Done with this round's policy pointer. */
		rte_rcu_qsbr_quiescent(rcu, tid);
		if (got != 0) {
			c->rx_packets += got;
			c->busy_loops++;
			empty = 0;
		} else if (adaptive && c->imp_due == UINT64_MAX && ++empty >= ST_IDLE_SPINS) {
			/* (never while the delay line holds copies: a nap would
			 * release them that much late) */
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
