/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the sample stage (sample.h): the rate buckets of a
 * policy's capped sessions, for the running start plan's workers.
 */
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "sample.h"

/* Each worker gets rate / nb_workers, a burst allowance of 10 ms of it (at
 * least 32 packets, 64 KiB), and starts full. */
void
st_sample_bind(struct st_policy *pol, const struct st_start_plan *sp)
{
	const double hz = (double)rte_get_tsc_hz();
	const uint32_t nbw = sp->nb_workers ? sp->nb_workers : 1;
	uint32_t i, w;

	for (i = 0; i < pol->nb_sessions; i++) {
		const struct st_pol_session *s = &pol->sessions[i];
		double pps, bps;

		if (s->bucket < 0)
			continue;
		pps = (double)s->rate_pps / nbw;
		bps = (double)s->rate_bps / nbw;
		for (w = 0; w < ST_MAX_WORKERS; w++) {
			struct st_bucket *b = &pol->buckets[w * pol->nb_buckets + s->bucket];

			memset(b, 0, sizeof(*b));
			b->pps_per_tsc = pps / hz;
			b->bps_per_tsc = bps / hz;
			b->pps_depth = RTE_MAX(pps / 100.0, 32.0);
			b->bps_depth = RTE_MAX(bps / 100.0, 65536.0 * 8);
			b->pps_tokens = b->pps_depth;
			b->bps_tokens = b->bps_depth;
			b->last_tsc = 0;
		}
	}
}
