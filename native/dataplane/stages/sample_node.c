/* SPDX-License-Identifier: BSD-3-Clause
 * The sample stage per burst (sample.h).
 */
#include <rte_mbuf.h>

#include "lcore.h"
#include "sample.h"

uint64_t
st_sample_session(struct st_lcore *lc, const struct st_policy *pol, uint16_t si,
		  uint64_t acc, struct rte_mbuf *const *pkts, const uint32_t *hash,
		  struct st_bucket *buckets, uint64_t now, uint64_t *rng,
		  struct st_decision *dec, uint32_t *nd, struct st_burst *b)
{
	const struct st_pol_session *ps = &pol->sessions[si];
	struct st_session_stats *st = &lc->ctr.sess[ps->slot];
	uint64_t sampled = 0, rate_drops = 0;
	uint32_t k = *nd;

	while (acc != 0) {
		const unsigned int pi = (unsigned int)__builtin_ctzll(acc);
		const uint64_t bit = UINT64_C(1) << pi;

		acc &= acc - 1;
		if (ps->sample_mode == ST_SAMPLE_PACKET) {
			if ((uint32_t)(st_xorshift64s(rng) >> 32) >= ps->sample_threshold)
				continue;
		} else if (ps->sample_mode == ST_SAMPLE_FLOW) {
			if (hash[pi] >= ps->sample_threshold)
				continue;
		}
		sampled++;
		if (!st_within_rate(pol, ps, buckets, now, pkts[pi])) {
			rate_drops++;
			continue;
		}
		dec[k].pkt = (uint16_t)pi;
		dec[k].session = si;
		k++;
		b->multi |= b->once & bit;
		b->once |= bit;
		if (unlikely(k == ST_PENDING_MAX))
			break;
	}
	*nd = k;
	st->sampled += sampled;
	if (rate_drops != 0)
		st->dropped[ST_SDROP_RATE] += rate_drops;
	return acc;
}
