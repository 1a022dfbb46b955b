/* SPDX-License-Identifier: BSD-3-Clause
 * The measure stage's control side (main thread): check and install the
 * configuration with one state per worker, ask ports for rx timestamps, sum
 * the workers' counters for a scrape, read their event rings.
 *
 * A configuration is installed before the workers start (the host installs
 * it with every start plan) and stays until the next install or the process
 * ends: workers never see it change, so no RCU is needed. Installing while
 * workers run is refused (ST_ERR_STATE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>

#include <rte_acl.h>
#include <rte_errno.h>

#include "measure_int.h"
#include "classify.h"
#include "error.h"
#include "dp.h"

static struct st_measure *installed;

int
st_measure_installed(void)
{
	return installed != NULL;
}

int
st_measure_needed(const struct st_policy *pol)
{
	(void)pol;
	return installed != NULL && installed->conf.shadow_tx;
}

static int
check(const struct st_meas_conf *c, struct st_error *err)
{
	uint16_t i;

	if (c->nb_workers < 1 || c->nb_workers > ST_MAX_WORKERS)
		return ST_INVALID(err, "measure.workers|expected 1..%u, got %u",
				  ST_MAX_WORKERS, c->nb_workers);
	if (c->flows < ST_MEAS_FLOWS_MIN || c->flows > ST_MEAS_FLOWS_MAX ||
	    (c->flows & (c->flows - 1)) != 0)
		return ST_INVALID(err, "measure.flows|expected a power of two in %u..%u, got %u",
				  ST_MEAS_FLOWS_MIN, ST_MEAS_FLOWS_MAX, c->flows);
	if (c->flow_idle_ns == 0)
		return ST_INVALID(err, "measure.flowIdleMs|expected more than 0");
	if (c->nb_classes > ST_MEAS_MAX_CLASSES)
		return ST_INVALID(err, "measure.classes|expected at most %u, got %u",
				  ST_MEAS_MAX_CLASSES, c->nb_classes);
	if (c->nb_class_rules > ST_MEAS_MAX_CLASS_RULES ||
	    (c->nb_class_rules != 0 && c->class_rules == NULL))
		return ST_INVALID(err, "measure.classRules|expected at most %u rules, got %u",
				  ST_MEAS_MAX_CLASS_RULES, c->nb_class_rules);
	for (i = 0; i < c->nb_class_rules; i++)
		if (c->class_rules[i].session >= c->nb_classes ||
		    (i > 0 && c->class_rules[i].session < c->class_rules[i - 1].session))
			return ST_INVALID(err, "measure.classRules[%u].session|expected a class index "
					  "below %u, in order, got %u", i, c->nb_classes,
					  c->class_rules[i].session);
	if (c->nb_vms > ST_MEAS_MAX_VMS)
		return ST_INVALID(err, "measure.vms|expected at most %u, got %u",
				  ST_MEAS_MAX_VMS, c->nb_vms);
	for (i = 0; i < c->nb_vms; i++)
		if (c->vm[i].len[0] > (c->vm[i].v6 ? 128 : 32) ||
		    c->vm[i].len[1] > (c->vm[i].v6 ? 128 : 32))
			return ST_INVALID(err, "measure.vms[%u]|prefix length out of range", i);
	if (c->scan_ports < 1 || c->scan_ports > ST_MEAS_SCAN_MAX)
		return ST_INVALID(err, "measure.scanPorts|expected 1..%u, got %u",
				  ST_MEAS_SCAN_MAX, c->scan_ports);
	if (c->scan_hosts < 1 || c->scan_hosts > ST_MEAS_SCAN_MAX)
		return ST_INVALID(err, "measure.scanHosts|expected 1..%u, got %u",
				  ST_MEAS_SCAN_MAX, c->scan_hosts);
	if (c->syn_min < 1 || c->syn_ratio_pct > 100)
		return ST_INVALID(err, "measure.synMin|expected synMin >= 1 and synRatioPct <= 100");
	if (c->garp_per_s < 1)
		return ST_INVALID(err, "measure.garpPerSecond|expected at least 1");
	if (c->nb_dhcp_allow > ST_MEAS_MAX_ALLOW || c->nb_dhcp6_allow > ST_MEAS_MAX_ALLOW ||
	    c->nb_ra_allow > ST_MEAS_MAX_ALLOW)
		return ST_INVALID(err, "measure.allow|expected at most %u addresses per list",
				  ST_MEAS_MAX_ALLOW);
	return 0;
}

/* The class table: one rte_acl context over the classifier's own key
 * (classify.h), one category; a packet's result is the first listed class
 * whose rules match it (priority falls with the rule's order, and rules go
 * class by class), as userdata class + 1; 0 is "other". */
static int
build_classes(struct st_measure *ms, const struct st_meas_conf *c, struct st_error *err)
{
	struct st_acl_rule *scratch;
	uint32_t i;
	int rc;

	if (c->nb_classes == 0 || c->nb_class_rules == 0)
		return 0;
	scratch = calloc(c->nb_class_rules, sizeof(*scratch));
	if (scratch == NULL)
		return -ENOMEM;
	for (i = 0; i < c->nb_class_rules; i++) {
		int wide;

		st_classify_acl_from_rule(&scratch[i], &c->class_rules[i]);
		wide = st_classify_prefix_is_wide(c->class_rules[i].src, c->class_rules[i].src_len) ||
		       st_classify_prefix_is_wide(c->class_rules[i].dst, c->class_rules[i].dst_len);
		if (wide) {
			free(scratch);
			return ST_INVALID(err, "measure.classRules[%u]|a class matches on ports and "
					  "protocols, not on IPv6 prefixes", i);
		}
		scratch[i].data.category_mask = 1;
		scratch[i].data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		scratch[i].data.userdata = (uint32_t)c->class_rules[i].session + 1;
	}
	ms->class_acl = st_classify_acl_create(c->nb_class_rules, err, "measure.classes");
	if (ms->class_acl == NULL) {
		free(scratch);
		return -ENOMEM;
	}
	rc = rte_acl_add_rules(ms->class_acl, (const struct rte_acl_rule *)scratch, c->nb_class_rules);
	free(scratch);
	if (rc != 0)
		return st_error_fieldf(err, "ST_ERR_POLICY_COMPILE", -rc, "measure.classes|cannot add "
				       "%u class rules: %s", c->nb_class_rules, rte_strerror(-rc));
	return st_classify_acl_build(ms->class_acl, 1, 0, err, "measure.classes", c->nb_class_rules);
}

static void
release(struct st_measure *ms)
{
	unsigned int i;

	if (ms == NULL)
		return;
	if (ms->class_acl != NULL)
		rte_acl_free(ms->class_acl);
	for (i = 0; i < ST_MAX_WORKERS; i++) {
		if (ms->w[i] != NULL) {
			free(ms->w[i]->flows);
			free(ms->w[i]);
		}
	}
	free(ms);
}

int
st_measure_install(const struct st_meas_conf *conf, struct st_error *err)
{
	struct st_measure *ms;
	unsigned int i;
	int rc;

	if (conf != NULL && (rc = check(conf, err)) != 0)
		return rc;
	if (st_dp_state_get() == ST_DP_RUNNING || st_dp_state_get() == ST_DP_SETTING_UP) {
		st_error_set(err, "ST_ERR_STATE", "measure", EBUSY,
			     "measurement is installed before a start, not while workers run");
		return -EBUSY;
	}
	if (conf == NULL) {
		st_measure_remove();
		return 0;
	}
	ms = calloc(1, sizeof(*ms));
	if (ms == NULL)
		goto nomem;
	ms->conf = *conf;
	ms->conf.class_rules = NULL;
	rc = build_classes(ms, conf, err);
	if (rc != 0) {
		release(ms);
		if (rc == -ENOMEM && err->code[0] == '\0')
			goto nomem_only;
		return rc;
	}
	/* (tsc * ns_mult) >> 32 is ns; exact enough for ~10 GHz TSCs. */
	ms->ns_mult = (uint64_t)(((unsigned __int128)1000000000u << 32) / rte_get_tsc_hz());
	ms->ts_offset = -1;
	/* TSC times are reported as epoch times, like net_pcap's stamps. */
	{
		struct timespec now;
		uint64_t tsc_ns = (uint64_t)(((unsigned __int128)rte_rdtsc() * ms->ns_mult) >> 32);

		clock_gettime(CLOCK_REALTIME, &now);
		ms->tsc_epoch_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec - tsc_ns;
	}
	for (i = 0; i < conf->nb_workers; i++) {
		struct st_meas_worker *w = aligned_alloc(RTE_CACHE_LINE_SIZE,
			RTE_ALIGN_CEIL(sizeof(*w), RTE_CACHE_LINE_SIZE));

		if (w == NULL)
			goto nomem;
		memset(w, 0, sizeof(*w));
		ms->w[i] = w;
		w->flows = calloc(conf->flows, sizeof(*w->flows));
		if (w->flows == NULL)
			goto nomem;
	}
	st_measure_remove();
	installed = ms;
	return 0;
nomem:
	release(ms);
nomem_only:
	st_error_set(err, "ST_ERR_NOMEM", "measure.flows", ENOMEM,
		     "cannot allocate the measurement tables (%u flows per worker)", conf->flows);
	return -ENOMEM;
}

void
st_measure_remove(void)
{
	/* Only between runs: no worker holds the pointer. */
	__atomic_store_n(&st_measure_cur, NULL, __ATOMIC_RELEASE);
	release(installed);
	installed = NULL;
}

uint64_t
st_measure_rx_offloads(uint16_t port_id, const char *driver, uint64_t capa)
{
	struct st_measure *ms = installed;
	const int pcap = driver != NULL && strcmp(driver, "net_pcap") == 0;

	if (ms == NULL || port_id >= RTE_MAX_ETHPORTS)
		return 0;
	/* Published here: port setup comes before the workers launch. */
	__atomic_store_n(&st_measure_cur, ms, __ATOMIC_RELEASE);
	if ((capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) == 0 && !pcap)
		return 0;
	/* The field and flag every PMD that stamps packets shares; net_pcap
	 * registers them at probe and stamps every packet it reads from a
	 * file with the record's time, without listing the offload. */
	if (ms->ts_offset < 0 &&
	    rte_mbuf_dyn_rx_timestamp_register(&ms->ts_offset, &ms->ts_flag) != 0) {
		ms->ts_offset = -1;
		return 0;
	}
	/* Only net_pcap's stamps are known to be the epoch time (in ST_PCAP_TS_NS
	 * units); a NIC's raw clock needs its frequency (docs/measurement.md),
	 * so those ports are timed by the TSC. */
	ms->port_ns[port_id] = pcap ? ST_PCAP_TS_NS : 0;
	return (capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0 ? RTE_ETH_RX_OFFLOAD_TIMESTAMP : 0;
}

static inline uint64_t
ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int
st_measure_snapshot(struct st_meas_snapshot *s)
{
	const struct st_measure *ms = installed;
	unsigned int i, side, v, k, b;

	memset(s, 0, sizeof(*s));
	if (ms == NULL)
		return -1;
	s->nb_vms = ms->conf.nb_vms;
	s->nb_classes = ms->class_acl != NULL ? ms->conf.nb_classes : 0;
	s->flows_capacity = (uint64_t)ms->conf.flows * ms->conf.nb_workers;
	for (i = 0; i < ms->conf.nb_workers; i++) {
		const struct st_meas_worker *w = ms->w[i];

		s->flows_active += ld(&w->flows_active);
		s->flows_created += ld(&w->flows_created);
		s->flows_evicted += ld(&w->flows_evicted);
		s->flows_expired += ld(&w->flows_expired);
		s->ts_rx += ld(&w->ts_rx);
		s->ts_tsc += ld(&w->ts_tsc);
		s->malformed += ld(&w->malformed);
		s->events += ld(&w->ev_seq);
		for (side = 0; side < ST_MEAS__SIDES; side++) {
			for (v = 0; v <= ms->conf.nb_vms; v++) {
				const struct st_meas_vm_ctr *src = &w->side[side][v];
				struct st_meas_vm_ctr *dst = &s->side[side][v];

				for (k = 0; k < ST_MPROTO__COUNT; k++) {
					dst->packets[k] += ld(&src->packets[k]);
					dst->bytes[k] += ld(&src->bytes[k]);
				}
				for (k = 0; k < ST_MTCP__COUNT; k++)
					dst->tcp[k] += ld(&src->tcp[k]);
				for (k = 0; k <= s->nb_classes; k++) {
					dst->cls_packets[k] += ld(&src->cls_packets[k]);
					dst->cls_bytes[k] += ld(&src->cls_bytes[k]);
				}
				for (k = 0; k < ST_RTT__COUNT; k++) {
					for (b = 0; b <= ST_MEAS_HIST_BUCKETS; b++)
						dst->rtt[k].bucket[b] += ld(&src->rtt[k].bucket[b]);
					dst->rtt[k].count += ld(&src->rtt[k].count);
					dst->rtt[k].sum_ns += ld(&src->rtt[k].sum_ns);
				}
			}
		}
	}
	return 0;
}

uint32_t
st_measure_events(uint16_t wi, uint64_t after, struct st_meas_event *out, uint32_t max,
		  uint64_t *lost, uint64_t *next)
{
	const struct st_measure *ms = installed;
	const struct st_meas_worker *w;
	uint64_t head, s;
	uint32_t n = 0;

	*lost = 0;
	*next = after;
	if (ms == NULL || wi >= ms->conf.nb_workers)
		return 0;
	w = ms->w[wi];
	head = __atomic_load_n(&w->ev_seq, __ATOMIC_ACQUIRE);
	if (head > ST_MEAS_EVENTS && after < head - ST_MEAS_EVENTS) {
		*lost = head - ST_MEAS_EVENTS - after;
		after = head - ST_MEAS_EVENTS;
		*next = after;
	}
	for (s = after + 1; s <= head && n < max; s++) {
		const struct st_meas_event *e = &w->ring[s % ST_MEAS_EVENTS];
		uint64_t before = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), again;

		out[n] = *e;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		again = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
		if (before != s || again != s) {
			/* Rewritten (lapped) or still being written. */
			if (before == 0 || again == 0) {
				/* Being written: stop here, read it next time. */
				break;
			}
			(*lost)++;
			*next = s;
			continue;
		}
		n++;
		*next = s;
	}
	return n;
}
