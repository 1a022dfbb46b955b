/* SPDX-License-Identifier: BSD-3-Clause
 * The policy per production burst: the copy half (classify -> sample ->
 * copy) before production tx, and the shadow half (the policy's stage list,
 * stage.h) after it; the short path runs the same list in short form.
 *
 * st_policy_copy (before production tx):
 *  1. Runts (shorter than an Ethernet header) are counted as malformed once
 *     and never classified (st_copy_live).
 *  2. Only when something reads it: every packet is parsed once into the
 *     normalised key (classify.h), signatures are evaluated when the policy
 *     has any, and the symmetric flow hash is computed when a session samples
 *     per flow or a target encapsulates.
 *  3. Sessions, in order, in groups of 16: a group none of whose sessions
 *     lists this queue's source bits is skipped; otherwise one
 *     rte_acl_classify over the whole burst gives, per session (category),
 *     its first matching rule. A session decided without the classifier
 *     (first rule matches everything) reads its fixed rule.
 *  4. Per offered session (session-major, packets as bits of a 64-bit mask):
 *     packets whose target an earlier session already took are skipped
 *     (unless match_all; skipped sessions count nothing); the deciding rule
 *     counts a hit; reject or no rule = no copy (classify). Accept: matched,
 *     then sampling and the rate cap (sample.h), then the copy of the first
 *     snaplen bytes (copy.h). A copy counts in its session at each step.
 * st_policy_shadow (after production tx): the policy's shadow stages over
 * the burst's copies, in the order of its list.
 */
#include <string.h>

#include <rte_acl.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "lcore.h"
#include "marks.h"
#include "classify.h"
#include "sample.h"
#include "copy.h"
#include "compiled_policy.h"

_Static_assert(ST_MAX_TARGETS <= 16, "targets taken per packet fit a uint16_t");

/* Copies decided so far become pending copies and go through the shadow
 * stages: only with match_all and many sessions, when the decisions fill up
 * before the burst is done. */
static void
flush_decisions(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
		const struct st_decision *dec, uint32_t nd, struct st_burst *b)
{
	st_copy_materialize(lc, pol, pkts, dec, nd, b, 0);
	st_policy_shadow(lc, pol);
}

void
st_policy_copy(struct st_lcore *lc, const struct st_rxq *q, const struct st_policy *pol,
	       struct rte_mbuf **pkts, uint16_t n, const struct st_nic_burst *nb)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const uint32_t src = q->src_bits;
	struct st_key keys[ST_BURST_MAX];
	const uint8_t *kp[ST_BURST_MAX];
	uint32_t res[ST_BURST_MAX * RTE_ACL_MAX_CATEGORIES];
	uint32_t hash[ST_BURST_MAX];
	/* per target: packets a session has already taken it for */
	uint64_t taken[ST_MAX_TARGETS];
	struct st_decision dec[ST_PENDING_MAX];
	struct st_burst b = { 0, 0, 0, pol->need_hash ? hash : NULL };
	struct st_bucket *buckets = NULL;
	uint64_t rng = c->rng;
	uint64_t live = st_copy_live(lc, pkts, n), now = 0;
	uint32_t nd = 0;
	uint16_t gi;

	/* What the NIC decided (and copied) or copied is not classified again. */
	if (unlikely(nb != NULL))
		live &= ~(nb->skip | nb->drop);
	if (unlikely(live == 0) && (nb == NULL || nb->copies == 0))
		return;
	memset(taken, 0, sizeof(taken[0]) * pol->nb_targets);

	if (pol->need_key)
		st_classify_keys(pol, pkts, n, keys, kp, hash);
	if (pol->nb_buckets != 0) {
		now = rte_rdtsc();
		buckets = &pol->buckets[(uint32_t)lc->conf.worker * pol->nb_buckets];
	}

	/* Session-major: a packet still meets its sessions in order (what a
	 * session may do with it depends only on the targets earlier sessions
	 * took), and a session's counters stay in registers for the burst. */
	for (gi = 0; gi < pol->nb_groups; gi++) {
		const struct st_pol_group *g = &pol->groups[gi];
		uint32_t offered = 0, acl_offered = 0;
		const uint32_t cats = g->categories;
		uint16_t k;

		if ((g->sources & src) == 0)
			continue;
		for (k = 0; k < g->count; k++) {
			const struct st_pol_session *ps = &pol->sessions[g->first + k];

			if ((ps->sources & src) != 0) {
				offered |= UINT32_C(1) << k;
				if (ps->acl)
					acl_offered |= UINT32_C(1) << k;
			}
		}
		if (acl_offered != 0)
			rte_acl_classify(g->acl, kp, res, n, cats);

		while (offered != 0) {
			const uint16_t si = (uint16_t)(g->first + __builtin_ctz(offered));
			const struct st_pol_session *ps = &pol->sessions[si];
			const uint16_t t = ps->target;
			uint64_t todo = live & ~(pol->match_all ? 0 : taken[t]);
			uint64_t acc;

			offered &= offered - 1;
			if (todo == 0)
				continue;
			/* classify: the deciding rule of each packet */
			acc = st_classify_session(lc, pol, ps, todo, res, cats, keys);
			if (acc == 0)
				continue;
			taken[t] |= acc;
			c->sess[ps->slot].matched += (uint64_t)__builtin_popcountll(acc);
			/* sample, rate cap: a decision per surviving packet */
			do {
				acc = st_sample_session(lc, pol, si, acc, pkts, hash, buckets, now,
							&rng, dec, &nd, &b);
				if (unlikely(nd == ST_PENDING_MAX)) {
					flush_decisions(lc, pol, pkts, dec, nd, &b);
					nd = 0;
				}
			} while (acc != 0);
		}
	}
	/* NIC-made copies: matched and sampled in hardware; the rate cap and
	 * the rest apply as to a copy software decided. */
	if (unlikely(nb != NULL) && nb->copies != 0) {
		uint64_t cps = nb->copies;

		while (cps != 0) {
			const unsigned int pi = (unsigned int)__builtin_ctzll(cps);
			const uint16_t si = nb->copy_si[pi];
			const struct st_pol_session *ps = &pol->sessions[si];

			cps &= cps - 1;
			c->sess[ps->slot].sampled++;
			if (!st_within_rate(pol, ps, buckets, now, pkts[pi])) {
				c->sess[ps->slot].dropped[ST_SDROP_RATE]++;
				continue;
			}
			if (unlikely(nd == ST_PENDING_MAX)) {
				flush_decisions(lc, pol, pkts, dec, nd, &b);
				nd = 0;
			}
			dec[nd].pkt = (uint16_t)pi;
			dec[nd].session = si;
			nd++;
		}
	}
	c->rng = rng;
	/* copy */
	if (nd != 0)
		st_copy_materialize(lc, pol, pkts, dec, nd, &b, 1);
}

void
st_policy_shadow(struct st_lcore *lc, const struct st_policy *pol)
{
	struct st_pol_work *wk = &lc->work;
	/* With a fault armed this round, the list with the fault stages. */
	const struct st_stage *st = wk->faults == NULL ? pol->stages : pol->stages_f;
	const uint8_t ns = wk->faults == NULL ? pol->nb_stages : pol->nb_stages_f;
	uint32_t n = wk->nb, i;
	uint8_t s;

	wk->nb = 0;
	for (s = 0; s < ns && n != 0; s++)
		n = st[s].run(lc, pol, wk->p, n);
	/* tx sends every copy whose target exists; anything left (a copy for a
	 * target index beyond nb_targets, which the compile rules out) is a
	 * bug, freed rather than leaked. */
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(wk->p[i].m);
}

/* ---- the short path (pol->simple) ---------------------------------------
 * The copy half is st_simple_copy (copy_node.c); the shadow half is the same
 * stage list, each stage in its short form (a simple policy has only stages
 * that have one). */
void
st_simple_shadow(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **cps,
		 uint16_t n)
{
	/* With a fault armed this round, the list with the fault stages (the
	 * caller took the short path only if they can serve it: st_simple_ok). */
	const struct st_stage *st = lc->work.faults == NULL ? pol->stages : pol->stages_f;
	const uint8_t ns = lc->work.faults == NULL ? pol->nb_stages : pol->nb_stages_f;
	uint8_t s;

	for (s = 0; s < ns && n != 0; s++)
		n = st[s].run_short(lc, pol, cps, n);
}
