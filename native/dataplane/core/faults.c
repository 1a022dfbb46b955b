/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the fault table in the running data plane (faults.h):
 * install (build, check against the workers' delay lines, RCU swap on its
 * own, link_down on the ports that support it), the counters, and the
 * per-worker state made at setup and freed at teardown.
 *
 * The table is swapped under faults_lock (which serialises it with the
 * per-worker state's creation and release at setup and teardown, but not
 * with a policy compile) with its own rte_rcu_qsbr_synchronize: a
 * fault is armed or disarmed without recompiling the policy, and a policy
 * swap never touches the faults. An empty table is published as NULL, so a
 * worker tells "no fault armed" from the pointer alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "error.h"
#include "dp.h"
#include "faults.h"

/* A warning: what happened on the port (name) and the driver's reason. */
static void
warn(struct st_fault_install_result *res, const char *what, const char *name, int rc)
{
	char *w;

	if (res == NULL || res->nb_warnings >= RTE_DIM(res->warnings))
		return;
	w = res->warnings[res->nb_warnings++];
	if (name == NULL)
		snprintf(w, ST_FAULT_WARN_LEN, "%.200s", what);
	else if (rc == 0)
		snprintf(w, ST_FAULT_WARN_LEN, "port '%.32s': %.150s", name, what);
	else
		snprintf(w, ST_FAULT_WARN_LEN, "port '%.32s': %.100s (%.60s)", name, what,
			 rte_strerror(-rc));
}

/* The ports link_down faults name (bit = start plan index); *all: one names
 * every shadow port (no port in its match). */
static uint32_t
links_named(const struct st_fault_table_conf *conf, uint8_t *all)
{
	uint32_t want = 0;
	uint16_t i;

	*all = 0;
	for (i = 0; i < conf->nb_faults; i++) {
		const struct st_fault_conf *f = &conf->faults[i];

		if (f->kind != ST_FAULT_LINK_DOWN)
			continue;
		if (f->match.port == ST_IMP_ANY16)
			*all = 1;
		else if (f->match.port < ST_MAX_PORTS)
			want |= UINT32_C(1) << f->match.port;
	}
	return want;
}

/* The installed table's link_down ports in the running start plan. */
static uint32_t
links_wanted(void)
{
	const struct st_dp *g = &st_dp_g;
	uint32_t want = g->faults_links;
	uint16_t k;

	if (g->faults_links_all)
		for (k = 0; k < g->plan.nb_shadow_ports; k++)
			want |= UINT32_C(1) << g->plan.shadow_ports[k];
	return want;
}

/* Ports taken down or up to match `want`: rte_eth_dev_set_link_down where
 * the driver has it. The copies are dropped in software either way (the
 * impair stage), since a PMD with no link (net_pcap, net_null) would
 * otherwise keep sending; the warnings say which ports really went down. */
static void
apply_links(uint32_t want, struct st_fault_install_result *res)
{
	struct st_dp *g = &st_dp_g;
	uint16_t i;

	for (i = 0; i < g->nb_ports; i++) {
		const char *name = g->plan.ports[i].name;
		const uint32_t bit = UINT32_C(1) << i;
		int rc;

		if (!g->ports[i].started)
			continue;
		if ((want & bit) && !(g->links_down & bit) && !(g->links_soft & bit)) {
			rc = rte_eth_dev_set_link_down(g->ports[i].port_id);
			if (rc == 0)
				g->links_down |= bit;
			else
				g->links_soft |= bit;
			g->links_rc[i] = rc;
		} else if (!(want & bit) && (g->links_down & bit)) {
			rc = rte_eth_dev_set_link_up(g->ports[i].port_id);
			g->links_down &= ~bit;
			if (rc != 0)
				warn(res, "rte_eth_dev_set_link_up after link_down failed", name, rc);
		} else if (!(want & bit)) {
			g->links_soft &= ~bit;
		}
		/* Every link_down port, every time: what the table in force does. */
		if (g->links_down & bit)
			warn(res, "link_down: link set down (rte_eth_dev_set_link_down); "
			     "copies for it are also dropped in software", name, 0);
		else if (g->links_soft & bit)
			warn(res, "link_down: rte_eth_dev_set_link_down not supported; "
			     "copies for it are dropped in software", name, g->links_rc[i]);
	}
}

int
st_dp_faults_install(const struct st_fault_table_conf *conf, struct st_fault_install_result *res,
		     struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	struct st_fault_table *t = NULL;
	int s;

	st_error_clear(err);
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (conf->line_capacity > ST_FAULT_LINE_CAPACITY) {
		st_error_set(err, "ST_ERR_FAULT_INVALID", "lineCapacity", EINVAL,
			     "%u packets; each worker's delay line holds %u",
			     conf->line_capacity, ST_FAULT_LINE_CAPACITY);
		return -EINVAL;
	}
	if (conf->wheel_span_ns > ST_FAULT_WHEEL_SPAN_NS) {
		st_error_set(err, "ST_ERR_FAULT_INVALID", "wheelSpanNs", EINVAL,
			     "%llu ns; each worker's timing wheel reaches %llu ns",
			     (unsigned long long)conf->wheel_span_ns, ST_FAULT_WHEEL_SPAN_NS);
		return -EINVAL;
	}
	if (conf->nb_faults != 0) {
		t = st_fault_table_build(conf, err);
		if (t == NULL)
			return -EINVAL;
	}
	pthread_mutex_lock(&g->faults_lock);
	s = st_dp_state_get();
	/* Workers offline or not registered: the wait ends at once. */
	st_fault_table_swap(&g->faults, t, g->rcu);
	g->faults_generation = conf->generation;
	g->faults_links = links_named(conf, &g->faults_links_all);
	if (s == ST_DP_READY || s == ST_DP_RUNNING)
		apply_links(links_wanted(), res);
	else if (g->faults_links != 0 || g->faults_links_all)
		warn(res, "link_down: no port is started yet; the links are set when the "
		     "data plane starts, copies are dropped in software", NULL, 0);
	if (res != NULL)
		res->generation = conf->generation;
	pthread_mutex_unlock(&g->faults_lock);
	return 0;
}

void
st_dp_fault_snapshot(struct st_fault_snapshot *out)
{
	struct st_dp *g = &st_dp_g;
	const struct st_fault_table *t;
	uint16_t i, w;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&g->faults_lock);
	t = g->faults;
	out->generation = g->faults_generation;
	out->nb = st_fault_table_size(t);
	for (i = 0; i < out->nb; i++) {
		st_fault_table_ident(t, i, &out->f[i].id, &out->f[i].slot);
		for (w = 0; w < ST_MAX_WORKERS; w++)
			st_impair_stats_add(g->imp[w], out->f[i].slot, &out->f[i].s);
	}
	pthread_mutex_unlock(&g->faults_lock);
}

uint32_t
st_dp_fault_delay_samples(uint16_t slot, uint64_t *out, uint32_t max)
{
	struct st_dp *g = &st_dp_g;
	uint32_t n = 0;
	uint16_t w;

	pthread_mutex_lock(&g->faults_lock);
	for (w = 0; w < ST_MAX_WORKERS && n < max; w++)
		if (g->imp[w] != NULL)
			n += st_impair_delay_samples(g->imp[w], slot, out + n, max - n);
	pthread_mutex_unlock(&g->faults_lock);
	return n;
}

/* With policy_lock held (taking faults_lock), after build_lcores. */
int
st_dp_faults_setup(struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	uint16_t w, i;

	pthread_mutex_lock(&g->faults_lock);
	for (w = 0; w < g->nb_workers; w++) {
		struct st_lcore *lc = &g->lcores[w];
		int socket = (int)rte_lcore_to_socket_id(lc->conf.lcore);

		g->imp[w] = st_impair_worker_create(ST_FAULT_LINE_CAPACITY, ST_FAULT_WHEEL_SPAN_NS,
						    rte_get_tsc_hz(), w, socket, err);
		if (g->imp[w] == NULL) {
			pthread_mutex_unlock(&g->faults_lock);
			return -ENOMEM;
		}
		lc->conf.imp = g->imp[w];
		lc->conf.faults = (struct st_fault_table *const *)&g->faults;
		lc->ctr.imp_due = UINT64_MAX;
		for (i = 0; i < g->nb_ports; i++)
			lc->conf.plan_port_id[i] = g->ports[i].port_id;
	}
	g->links_down = g->links_soft = 0;
	if (g->faults != NULL)
		apply_links(links_wanted(), NULL);
	pthread_mutex_unlock(&g->faults_lock);
	return 0;
}

/* With policy_lock held, no worker running, before the pools are freed
 * (held copies go back to the shadow pool). */
void
st_dp_faults_teardown(void)
{
	struct st_dp *g = &st_dp_g;
	uint16_t w;

	pthread_mutex_lock(&g->faults_lock);
	for (w = 0; w < ST_MAX_WORKERS; w++) {
		st_impair_worker_free(g->imp[w]);
		g->imp[w] = NULL;
	}
	g->links_down = g->links_soft = 0;
	pthread_mutex_unlock(&g->faults_lock);
}
