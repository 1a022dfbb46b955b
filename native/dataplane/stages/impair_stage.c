/* SPDX-License-Identifier: BSD-3-Clause
 * The fault stages of the shadow path and the delay line's release
 * (faults.h says what each does and when it runs).
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "lcore.h"
#include "classify.h"
#include "compiled_policy.h"
#include "tx.h"
#include "faults.h"
#include "flight.h"
#include "measure.h"

/* Source bits of "received on port i" are the even ones (lifecycle.c). */
#define ST_SRC_RX_BITS UINT32_C(0x55555555)

/* What faults match on, from the classifier's parse of the copy. */
static inline void
key_to_meta(struct st_imp_meta *m, const struct st_key *k)
{
	m->ip_version = k->has_addr ? k->ip_version : 0;
	if (m->ip_version != 0) {
		memcpy(m->src, k->src_hi, 12);
		memcpy(m->src + 12, k->src_lo, 4);
		memcpy(m->dst, k->dst_hi, 12);
		memcpy(m->dst + 12, k->dst_lo, 4);
	} else {
		memset(m->src, 0, sizeof(m->src));
		memset(m->dst, 0, sizeof(m->dst));
	}
	m->proto = k->proto;
	m->sport = st_rd16(k->sport);
	m->dport = st_rd16(k->dport);
}

uint32_t
st_fault_key_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
		   uint32_t n)
{
	struct st_pol_work *wk = &lc->work;
	const struct st_flight_mark was = st_flight_save(lc->conf.flight);
	struct st_key k;
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct st_imp_meta *m = &wk->meta[i];
		const struct st_pol_session *ps = &pol->sessions[p[i].session];
		const struct st_pol_target *t = &pol->targets[ps->target];
		const struct rte_mbuf *mb = p[i].m;

		st_flight_at(lc->conf.flight, ST_FLIGHT_FAULT_KEY, mb);
		st_test_crash_check_at(ST_FLIGHT_FAULT_KEY, mb);
		/* The copy is still the original's bytes (the rewrite comes
		 * next): parsed the classifier's way, never past the segment. */
		st_key_parse(&k, rte_pktmbuf_mtod(mb, const uint8_t *), rte_pktmbuf_data_len(mb));
		key_to_meta(m, &k);
		m->session = ps->slot;
		m->port = t->nb_ports != 0 ? t->port_idx[0] : ST_IMP_ANY16;
		/* Offered for "received on" a port, or only for "forwarded out of" one. */
		m->dir = (ps->sources & wk->src_bits & ST_SRC_RX_BITS) != 0 ? ST_IMP_DIR_RX :
			ST_IMP_DIR_TX;
		p[i].mi = (uint16_t)i;
	}
	st_flight_restore(lc->conf.flight, was);
	return n;
}

uint32_t
st_impair_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
		uint32_t n)
{
	struct st_pol_work *wk = &lc->work;
	struct rte_mbuf *in[ST_PENDING_MAX], *out[ST_PENDING_MAX];
	uint32_t tags[ST_PENDING_MAX];
	const struct st_flight_mark was = st_flight_save(lc->conf.flight);
	uint32_t i, k;
	uint16_t no;

	for (i = 0; i < n; i++) {
		const struct st_pol_session *ps = &pol->sessions[p[i].session];
		const struct st_pol_target *t = &pol->targets[ps->target];
		uint32_t mask = 0;
		uint16_t j;

		st_flight_at(lc->conf.flight, ST_FLIGHT_IMPAIR, p[i].m);
		st_test_crash_check_at(ST_FLIGHT_IMPAIR, p[i].m);
		/* Earlier stages compacted p[] in order, so mi >= i: forward. */
		if (p[i].mi != i)
			wk->meta[i] = wk->meta[p[i].mi];
		wk->meta[i].tag = i;
		for (j = 0; j < t->nb_ports; j++)
			mask |= UINT32_C(1) << t->port_idx[j];
		/* Where a delayed copy goes, and whose it is, travel with it in
		 * the delay line's entry, not in the mbuf: the release sends
		 * without reading a cold mbuf first. */
		wk->meta[i].held_tag = mask << 16 | ps->slot;
		in[i] = p[i].m;
		wk->scratch[i] = p[i];
	}
	/* The fault table works on the batch: no one packet to name. */
	st_flight_at(lc->conf.flight, ST_FLIGHT_IMPAIR, NULL);
	no = st_impair_process(lc->conf.imp, wk->faults, in, wk->meta, (uint16_t)n, rte_rdtsc(),
			       out, tags, ST_PENDING_MAX);
	{
		const uint64_t due = st_impair_next_due(lc->conf.imp);

		if (due < lc->ctr.imp_due)
			lc->ctr.imp_due = due;
	}
	/* Input order, a duplicate (a new mbuf) right after its original. */
	for (k = 0; k < no; k++) {
		p[k] = wk->scratch[tags[k]];
		if (out[k] != p[k].m) {
			p[k].m = out[k];
			p[k].first = 0;
		}
	}
	st_flight_restore(lc->conf.flight, was);
	return no;
}

/* The short forms: the copies of a simple policy's one session, whole
 * frames, in a vector of one burst (stage.h). The same meta and the same
 * table as the general forms, so the same decisions. */
uint16_t
st_fault_key_stage_short(struct st_lcore *lc, const struct st_policy *pol,
			 struct rte_mbuf **m, uint16_t n)
{
	struct st_pol_work *wk = &lc->work;
	const struct st_pol_session *ps = &pol->sessions[0];
	const struct st_pol_target *t = &pol->targets[ps->target];
	const uint16_t port = t->nb_ports != 0 ? t->port_idx[0] : ST_IMP_ANY16;
	const uint8_t dir = (ps->sources & wk->src_bits & ST_SRC_RX_BITS) != 0 ?
		ST_IMP_DIR_RX : ST_IMP_DIR_TX;
	const struct st_flight_mark was = st_flight_save(lc->conf.flight);
	uint32_t mask = 0;
	struct st_key k;
	uint16_t i, j;

	for (j = 0; j < t->nb_ports; j++)
		mask |= UINT32_C(1) << t->port_idx[j];
	for (i = 0; i < n; i++) {
		struct st_imp_meta *mt = &wk->meta[i];

		st_flight_at(lc->conf.flight, ST_FLIGHT_FAULT_KEY, m[i]);
		st_test_crash_check_at(ST_FLIGHT_FAULT_KEY, m[i]);
		st_key_parse(&k, rte_pktmbuf_mtod(m[i], const uint8_t *), rte_pktmbuf_data_len(m[i]));
		key_to_meta(mt, &k);
		mt->session = ps->slot;
		mt->port = port;
		mt->dir = dir;
		mt->tag = i;
		mt->held_tag = mask << 16 | ps->slot;
	}
	st_flight_restore(lc->conf.flight, was);
	return n;
}

uint16_t
st_impair_stage_short(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **m,
		      uint16_t n)
{
	struct st_pol_work *wk = &lc->work;
	struct rte_mbuf *out[ST_BURST_MAX];
	uint32_t tags[ST_BURST_MAX];
	const struct st_flight_mark was = st_flight_save(lc->conf.flight);
	uint16_t i, no;

	(void)pol;
	for (i = 0; i < n; i++) {
		st_flight_at(lc->conf.flight, ST_FLIGHT_IMPAIR, m[i]);
		st_test_crash_check_at(ST_FLIGHT_IMPAIR, m[i]);
	}
	/* The fault table works on the batch: no one packet to name. */
	st_flight_at(lc->conf.flight, ST_FLIGHT_IMPAIR, NULL);
	/* The short path is taken only for tables that do not duplicate
	 * (st_simple_ok): out never holds more than the n copies given. */
	no = st_impair_process(lc->conf.imp, wk->faults, m, wk->meta, n, rte_rdtsc(), out, tags,
			       ST_BURST_MAX);
	{
		const uint64_t due = st_impair_next_due(lc->conf.imp);

		if (due < lc->ctr.imp_due)
			lc->ctr.imp_due = due;
	}
	memcpy(m, out, sizeof(*m) * no);
	st_flight_restore(lc->conf.flight, was);
	return no;
}

/* Copies due now, sent in runs of the same session and ports, a tx burst at
 * a time (their mbufs prefetched by the release). */
uint64_t
st_impair_deadline(struct st_lcore *lc, uint64_t now)
{
	struct st_impair_worker *w = lc->conf.imp;
	struct rte_mbuf *m[ST_BURST_MAX];
	uint32_t tags[ST_BURST_MAX];
	uint16_t slot[ST_BURST_MAX];
	uint16_t n, i, start;
	int rounds = 0;

	/* Bounded: a backlog is worked off over several rounds, between the
	 * production bursts, not in one. */
	while (rounds++ < 8 && (n = st_impair_release(w, now, m, tags, ST_BURST_MAX)) != 0) {
		for (i = 0; i < n; i++)
			slot[i] = (uint16_t)(tags[i] & 0xffff);
		for (start = 0; start < n; start = i) {
			const uint32_t mask = tags[start] >> 16;
			uint16_t id[ST_MAX_PORTS], idx[ST_MAX_PORTS], np = 0, b;

			for (i = start; i < n && tags[i] >> 16 == mask; i++)
				;
			for (b = 0; b < ST_MAX_PORTS; b++) {
				if (mask >> b & 1) {
					id[np] = lc->conf.plan_port_id[b];
					idx[np] = b;
					np++;
				}
			}
			if (np == 0) {
				rte_pktmbuf_free_bulk(&m[start], (unsigned int)(i - start));
				continue;
			}
			st_measure_released(lc, &m[start], (uint16_t)(i - start));
			st_tx_ports(lc, np, id, idx, &m[start], &slot[start], (uint16_t)(i - start));
		}
		if (n < ST_BURST_MAX)
			break;
	}
	return st_impair_next_due(w);
}
