/* SPDX-License-Identifier: BSD-3-Clause
 * The measure stage in the policy's shadow stage list (stage.h), just
 * before tx: the copies as they leave for the replica are the shadow side's
 * outgoing half (its SYNs, requests, TSvals), timed by the TSC as they are
 * sent; what the replica answers comes back on a shadow port and is measured
 * by the rx step (core/rx.c). Together they give the shadow side's RTTs.
 * Listed only while measurement is installed with shadow_tx
 * (st_measure_needed, measure_ctl.c, at policy compile): otherwise a
 * policy's list has no such stage. A shadow port that receives a full copy
 * of the replica's traffic (a SPAN) sees the copies again: shadow_tx off.
 */
#include <rte_mbuf.h>

#include "lcore.h"
#include "stage.h"
#include "measure.h"
#include "measure_int.h"

uint32_t
st_measure_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p, uint32_t n)
{
	struct st_measure *ms = st_measure_get();
	struct rte_mbuf *m[ST_BURST_MAX];
	uint32_t i = 0;

	(void)pol;
	if (ms == NULL)
		return n;
	while (i < n) {
		uint16_t k = 0;

		for (; i < n && k < ST_BURST_MAX; i++)
			m[k++] = p[i].m;
		st_measure_burst(ms, lc->conf.worker, ST_MEAS_SHADOW, ST_MEAS_NO_PORT, m, k);
	}
	return n;
}

uint16_t
st_measure_stage_short(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **m,
		       uint16_t n)
{
	struct st_measure *ms = st_measure_get();

	(void)pol;
	if (ms != NULL)
		st_measure_burst(ms, lc->conf.worker, ST_MEAS_SHADOW, ST_MEAS_NO_PORT, m, n);
	return n;
}

/* Copies the delay line held leave from the worker's deadline step
 * (impair_stage.c, st_impair_deadline), not through the stage list: they are
 * measured here, as they go, like the rest (the stage above saw them only as
 * "held"). Without it the shadow side would show no packets at all while a
 * delay fault holds every copy. */
void
st_measure_released(struct st_lcore *lc, struct rte_mbuf *const *m, uint16_t n)
{
	struct st_measure *ms = st_measure_get();

	if (ms != NULL && ms->conf.shadow_tx && n != 0)
		st_measure_burst(ms, lc->conf.worker, ST_MEAS_SHADOW, ST_MEAS_NO_PORT, m, n);
}
