/* SPDX-License-Identifier: BSD-3-Clause
 * The sample stage: of the packets a session accepted, the ones it mirrors.
 * Sampling per packet (xorshift64* per lcore) or per flow (the symmetric
 * flow hash below a threshold), then the session's rate cap: token buckets
 * per worker in packets and in bits on the shadow wire, encapsulation
 * included, each worker getting rate / nb_workers. sample_ctl.c sizes the
 * buckets for the running start plan; sample_node.c decides per packet.
 */
#ifndef ST_SAMPLE_H
#define ST_SAMPLE_H

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "st_dataplane.h"
#include "compiled_policy.h"
#include "copy.h"

struct st_lcore;

static inline uint64_t
st_xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Token buckets, refilled lazily from the TSC. The first use starts the
 * clock with a full bucket. */
static inline int
st_bucket_take(struct st_bucket *b, uint64_t now, double bits)
{
	if (unlikely(b->last_tsc == 0)) {
		b->last_tsc = now;
	} else if (now > b->last_tsc) {
		double dt = (double)(now - b->last_tsc);

		b->pps_tokens += dt * b->pps_per_tsc;
		if (b->pps_tokens > b->pps_depth)
			b->pps_tokens = b->pps_depth;
		b->bps_tokens += dt * b->bps_per_tsc;
		if (b->bps_tokens > b->bps_depth)
			b->bps_tokens = b->bps_depth;
		b->last_tsc = now;
	}
	if (b->pps_per_tsc > 0 && b->pps_tokens < 1.0)
		return 0;
	if (b->bps_per_tsc > 0 && b->bps_tokens < bits)
		return 0;
	if (b->pps_per_tsc > 0)
		b->pps_tokens -= 1.0;
	if (b->bps_per_tsc > 0)
		b->bps_tokens -= bits;
	return 1;
}

/* The session's rate cap for one copy of m (the copy's length as truncation
 * leaves it, headers kept, plus what encapsulation adds): 1 = within the
 * cap. `buckets` and `now` are this worker's, set whenever the policy has a
 * capped session. */
static inline int
st_within_rate(const struct st_policy *pol, const struct st_pol_session *ps,
	       struct st_bucket *buckets, uint64_t now, const struct rte_mbuf *m)
{
	uint32_t len;

	if (ps->bucket < 0)
		return 1;
	len = rte_pktmbuf_pkt_len(m);
	if (ps->snaplen != 0 && len > ps->snaplen)
		len = st_copy_len(m, ps->snaplen, len);
	return st_bucket_take(&buckets[ps->bucket], now,
			      8.0 * (len + pol->targets[ps->target].wire_extra));
}

/* Fill every worker's buckets for the start plan's worker count (control time). */
void st_sample_bind(struct st_policy *pol, const struct st_start_plan *sp);

/* Sampling and the rate cap for the packets session si accepted (acc,
 * bits), in packet order: a decision per surviving packet appended to
 * dec[*nd], b updated; counts sampled and rate drops in the session. Stops
 * when dec holds ST_PENDING_MAX decisions and returns the packets not yet
 * seen (the caller makes and sends those copies, then calls again); else 0.
 * hash: the burst's flow hashes (flow sampling); rng: this lcore's. */
uint64_t st_sample_session(struct st_lcore *lc, const struct st_policy *pol, uint16_t si,
			   uint64_t acc, struct rte_mbuf *const *pkts, const uint32_t *hash,
			   struct st_bucket *buckets, uint64_t now, uint64_t *rng,
			   struct st_decision *dec, uint32_t *nd, struct st_burst *b);

#endif /* ST_SAMPLE_H */
