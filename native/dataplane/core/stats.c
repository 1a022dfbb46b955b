/* SPDX-License-Identifier: BSD-3-Clause
 * Counter snapshot: per-lcore software counters summed with relaxed 64-bit
 * loads (each has one writer, so a load never sees a torn value), plus the
 * ethdev's own counters. After a stop the last counters stay readable.
 * Policy counters are per slot (session and rule slots are stable across
 * swaps), so they are summed without looking at the policy itself.
 */
#include <string.h>

#include <rte_ethdev.h>

#include "dp.h"
#include "capture.h"
#include "rewrite.h"

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int
st_dp_stats(struct st_stats *out)
{
	struct st_dp *g = &st_dp_g;
	int s = st_dp_state_get();
	int live = s == ST_DP_READY || s == ST_DP_RUNNING;
	uint16_t w, i, k;

	memset(out, 0, sizeof(*out));
	/* During setup the counters are being rebuilt: report nothing yet. */
	if (s == ST_DP_SETTING_UP || !g->counters_valid)
		return 0;

	out->nb_ports = g->nb_ports;
	out->nb_workers = g->nb_workers;
	out->forward_only = __atomic_load_n(&g->forward_only, __ATOMIC_RELAXED);
	for (w = 0; w < g->nb_workers; w++) {
		const struct st_lcore *lc = &g->lcores[w];
		const struct st_lcore_ctr *c = &lc->ctr;
		struct st_worker_stats *ws = &out->workers[w];

		ws->lcore = lc->conf.lcore;
		ws->loops = LD(c->loops);
		ws->busy_loops = LD(c->busy_loops);
		ws->rx_packets = LD(c->rx_packets);
		ws->mirror_packets = LD(c->mirror_packets);
		ws->mirror_bytes = LD(c->mirror_bytes);
		out->mirror_packets += ws->mirror_packets;
		out->mirror_bytes += ws->mirror_bytes;
		out->translated_packets += LD(c->translated_packets);
		out->shadow_rx_packets += LD(c->shadow_rx_packets);
		out->nic_copies += LD(c->nic_copies);
		out->nic_decided += LD(c->nic_decided);
		out->quarantined += LD(c->quarantined);
		for (k = 0; k < ST_DROP__COUNT; k++)
			out->dropped[k] += LD(c->dropped[k]);
		for (k = 0; k < ST_ANOM__COUNT; k++)
			out->anomalies[k] += LD(c->anomalies[k]);
		for (k = 0; k < ST_RXBAD__COUNT; k++)
			out->rx_invalid[k] += LD(c->rx_invalid[k]);
		for (k = 0; k < ST_LEAK__COUNT; k++)
			for (unsigned int r = 0; r < ST_LEAK_R__COUNT; r++) {
				out->leak[k][r][0] += LD(c->leak[k][r][0]);
				out->leak[k][r][1] += LD(c->leak[k][r][1]);
			}
		out->bgp_flows_evicted += st_rt_state_evicted(g->lcores[w].conf.rt, ST_RT_TABLE_BGP);
		out->dns_tcp_flows_evicted += st_rt_state_evicted(g->lcores[w].conf.rt, ST_RT_TABLE_DNS);
		for (i = 0; i < g->nb_ports; i++) {
			const struct st_port_ctr *pc = &c->ports[i];
			struct st_port_stats *ps = &out->ports[i];

			ps->rx_packets += LD(pc->rx_packets);
			ps->rx_bytes += LD(pc->rx_bytes);
			ps->tx_packets += LD(pc->tx_packets);
			ps->tx_bytes += LD(pc->tx_bytes);
			ps->tx_dropped += LD(pc->tx_dropped);
		}
	}

	for (i = 0; i < g->nb_ports; i++) {
		struct st_port_stats *ps = &out->ports[i];
		struct rte_eth_stats hw;

		if (live && g->ports[i].started) {
			if (rte_eth_stats_get(g->ports[i].port_id, &hw) != 0)
				continue;
		} else {
			hw = g->hw_last[i];
		}
		ps->hw_ipackets = hw.ipackets;
		ps->hw_opackets = hw.opackets;
		ps->hw_ibytes = hw.ibytes;
		ps->hw_obytes = hw.obytes;
		ps->hw_imissed = hw.imissed;
		ps->hw_ierrors = hw.ierrors;
		ps->hw_oerrors = hw.oerrors;
		ps->hw_rx_nombuf = hw.rx_nombuf;
	}
	for (i = 0; i < g->nb_ports; i++) {
		struct st_port_stats *ps = &out->ports[i];
		struct st_capture_stats cs;

		if (st_capture_stats(g->ports[i].port_id, &cs) != 0)
			continue;
		ps->is_capture = 1;
		ps->cap_packets = cs.packets;
		ps->cap_bytes = cs.bytes;
		ps->cap_rotations = cs.rotations;
		ps->cap_files_removed = cs.files_removed;
		ps->cap_ring_full = cs.ring_full;
		ps->cap_nomem = cs.nomem;
		ps->cap_write_errors = cs.write_errors;
	}
	return 0;
}

int
st_dp_policy_stats(struct st_session_stats *out, uint16_t nb_slots, uint64_t *rule_hits,
		   uint32_t nb_rule_slots, uint32_t *generation)
{
	struct st_dp *g = &st_dp_g;
	int s = st_dp_state_get();
	uint16_t w, i, k;
	uint32_t r;

	if (nb_slots > ST_MAX_SESSIONS)
		nb_slots = ST_MAX_SESSIONS;
	if (nb_rule_slots > ST_MAX_RULES)
		nb_rule_slots = ST_MAX_RULES;
	if (out != NULL)
		memset(out, 0, sizeof(*out) * nb_slots);
	if (rule_hits != NULL)
		memset(rule_hits, 0, sizeof(*rule_hits) * nb_rule_slots);
	if (generation != NULL)
		*generation = LD(g->policy_generation);
	if (s == ST_DP_SETTING_UP || !g->counters_valid)
		return 0;

	for (w = 0; w < g->nb_workers; w++) {
		const struct st_lcore_ctr *c = &g->lcores[w].ctr;

		for (i = 0; out != NULL && i < nb_slots; i++) {
			const struct st_session_stats *a = &c->sess[i];
			struct st_session_stats *o = &out[i];

			o->matched += LD(a->matched);
			o->sampled += LD(a->sampled);
			o->mirrored_packets += LD(a->mirrored_packets);
			o->mirrored_bytes += LD(a->mirrored_bytes);
			o->truncated += LD(a->truncated);
			o->unmapped_seen += LD(a->unmapped_seen);
			for (k = 0; k < ST_SDROP__COUNT; k++)
				o->dropped[k] += LD(a->dropped[k]);
		}
		for (r = 0; rule_hits != NULL && r < nb_rule_slots; r++)
			rule_hits[r] += LD(c->rule_hits[r]);
	}
	return 0;
}
