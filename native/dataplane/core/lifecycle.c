/* SPDX-License-Identifier: BSD-3-Clause
 * The data plane's lifecycle and global state (dp.h): check the start plan's
 * invariants, resolve and start ports, create the two mempools, bind the
 * installed policy (or derive the default one from the start plan), build each
 * worker's read-only config, launch and stop the workers, tear it all down.
 *
 * Setup may run on a libuv thread (it can be slow with real NICs); launch and
 * stop run on the EAL main lcore (the Node main thread), as EAL requires.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "faults.h"
#include "error.h"
#include "field_check.h"
#include "port.h"
#include "lcore.h"
#include "rewrite.h"
#include "compiled_policy.h"

struct st_dp st_dp_g = { .policy_lock = PTHREAD_MUTEX_INITIALIZER,
			  .faults_lock = PTHREAD_MUTEX_INITIALIZER };

/* Bumped by every setup so pool and table names never collide with ones a
 * previous run has not released yet. */
static unsigned int setup_gen;

static int
start_plan_invalid(struct st_error *err, const char *field, const char *fmt, ...)
	__rte_format_printf(3, 4);

static int
start_plan_invalid(struct st_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	st_error_set(err, "ST_ERR_PLAN_INVALID", field, EINVAL, "%s", "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The TypeScript planner validates too, and the binding checks JS types;
 * the ranges are checked here, in the order the binding reads the fields
 * and in its words (field_check.h), and the invariants below: what the
 * fast path relies on, checked where it is relied on. */
int
st_start_plan_check(const struct st_start_plan *sp, struct st_error *err)
{
	char f[48];
	uint16_t i, k;
	int rc;

	st_error_clear(err);
	if ((rc = st_field_int(err, sp->mode, 0, ST_MODE_TAP, "mode")) != 0 ||
	    (rc = st_field_int(err, sp->unmapped, 0, ST_UNMAPPED_MIRROR, "unmapped")) != 0 ||
	    (rc = st_field_int(err, sp->idle, 0, ST_IDLE_ADAPTIVE, "idle")) != 0 ||
	    (rc = st_field_int(err, sp->burst, 0, ST_BURST_MAX, "burst")) != 0)
		return rc;
	if (sp->nb_workers < 1)
		return st_field_error(err, "workerLcores", "expected at least one worker lcore");
	if (sp->nb_workers > ST_MAX_WORKERS)
		return st_field_count_error(err, "workerLcores", ST_MAX_WORKERS, sp->nb_workers);
	if (sp->nb_ports < 1)
		return st_field_error(err, "ports", "expected at least one port");
	if (sp->nb_ports > ST_MAX_PORTS)
		return st_field_count_error(err, "ports", ST_MAX_PORTS, sp->nb_ports);
	for (i = 0; i < sp->nb_ports; i++) {
		const struct st_port_conf *p = &sp->ports[i];

		snprintf(f, sizeof(f), "ports[%u].name", i);
		if (p->name[0] == '\0')
			return st_field_error(err, f, "must not be empty");
		snprintf(f, sizeof(f), "ports[%u].device", i);
		if (p->device[0] == '\0')
			return st_field_error(err, f, "must not be empty");
		if ((rc = st_field_int(err, p->role, 0, ST_ROLE_SHADOW, "ports[%u].role", i)) != 0 ||
		    (rc = st_field_int(err, p->egress, -1, sp->nb_ports - 1,
				       "ports[%u].egress", i)) != 0 ||
		    (rc = st_field_int(err, p->rx_pps, 0, ST_MAX_RX_PPS, "ports[%u].rxPps", i)) != 0)
			return rc;
	}
	if (sp->nb_shadow_ports > ST_MAX_PORTS)
		return st_field_count_error(err, "shadowPorts", ST_MAX_PORTS, sp->nb_shadow_ports);
	for (k = 0; k < sp->nb_shadow_ports; k++)
		if ((rc = st_field_int(err, sp->shadow_ports[k], 0, sp->nb_ports - 1,
				       "shadowPorts[%u]", k)) != 0)
			return rc;
	if (sp->nb_map4 > ST_MAX_MAPS)
		return st_field_count_error(err, "map4", ST_MAX_MAPS, sp->nb_map4);
	for (k = 0; k < sp->nb_map4; k++)
		if ((rc = st_field_int(err, sp->map4[k].len, 0, 32, "map4[%u].len", k)) != 0)
			return rc;
	if (sp->nb_map6 > ST_MAX_MAPS)
		return st_field_count_error(err, "map6", ST_MAX_MAPS, sp->nb_map6);
	for (k = 0; k < sp->nb_map6; k++)
		if ((rc = st_field_int(err, sp->map6[k].len, 0, 128, "map6[%u].len", k)) != 0)
			return rc;
	return 0;
}

/* What the fields cannot say one by one: devices and shadow ports used
 * twice, port roles that do not fit together. Checked by setup, after
 * st_start_plan_check. */
static int
check_invariants(const struct st_start_plan *sp, struct st_error *err)
{
	char f[48];
	uint16_t i, k;

	for (i = 0; i < sp->nb_ports; i++) {
		const struct st_port_conf *p = &sp->ports[i];

		snprintf(f, sizeof(f), "ports[%u].device", i);
		if (memchr(p->device, '\0', ST_DEV_LEN) == NULL)
			return start_plan_invalid(err, f, "port '%.*s': device must be a non-empty "
					    "ethdev name", ST_NAME_LEN, p->name);
		for (k = 0; k < i; k++)
			if (strcmp(sp->ports[k].device, p->device) == 0)
				return start_plan_invalid(err, f, "device '%s' is already used by "
						    "ports[%u]; each port needs its own device",
						    p->device, k);
	}
	for (k = 0; k < sp->nb_shadow_ports; k++) {
		int16_t s = sp->shadow_ports[k];

		snprintf(f, sizeof(f), "shadowPorts[%u]", k);
		if (sp->ports[s].role != ST_ROLE_SHADOW)
			return start_plan_invalid(err, f, "ports[%d] '%s' is not a shadow-role port; "
					    "copies may only leave on shadow ports", s,
					    sp->ports[s].name);
		for (i = 0; i < k; i++)
			if (sp->shadow_ports[i] == s)
				return start_plan_invalid(err, f, "ports[%d] is listed twice", s);
	}
	for (i = 0; i < sp->nb_ports; i++) {
		const struct st_port_conf *p = &sp->ports[i];

		snprintf(f, sizeof(f), "ports[%u].egress", i);
		if (p->egress == (int16_t)i)
			return start_plan_invalid(err, f, "egress must be -1 or the index of "
					    "another port (0..%u), got %d",
					    sp->nb_ports - 1, p->egress);
		if (p->role != ST_ROLE_PRODUCTION || sp->mode != ST_MODE_INLINE)
			continue;
		if (p->egress < 0)
			return start_plan_invalid(err, f, "production port '%s' needs an egress "
					    "port in inline mode, or its traffic would stop",
					    p->name);
		/* Production must never reach the shadow side. */
		if (sp->ports[p->egress].role == ST_ROLE_SHADOW)
			return start_plan_invalid(err, f, "production port '%s' cannot forward to "
					    "ports[%d] '%s', a shadow port", p->name, p->egress,
					    sp->ports[p->egress].name);
	}
	return 0;
}

static int
check_lcores(const struct st_start_plan *sp, struct st_error *err)
{
	unsigned int main_lcore = rte_get_main_lcore();
	char f[48];
	uint16_t w, k;

	for (w = 0; w < sp->nb_workers; w++) {
		unsigned int l = sp->worker_lcores[w];

		snprintf(f, sizeof(f), "workerLcores[%u]", w);
		for (k = 0; k < w; k++)
			if (sp->worker_lcores[k] == l)
				return start_plan_invalid(err, f, "lcore %u is listed twice", l);
		/* A service lcore is enabled, just not for us: sending the
		 * operator to -l would not help. */
		if (l < RTE_MAX_LCORE && rte_eal_lcore_role(l) == ROLE_SERVICE) {
			st_error_set(err, "ST_ERR_LCORE_UNAVAILABLE", f, EBUSY,
				     "lcore %u is an EAL service lcore (-s/-S); workers need "
				     "lcores EAL runs as ordinary ones", l);
			return -EBUSY;
		}
		if (l >= RTE_MAX_LCORE || !rte_lcore_is_enabled(l)) {
			st_error_set(err, "ST_ERR_LCORE_UNAVAILABLE", f, EINVAL,
				     "lcore %u is not enabled in EAL (add it to -l/--lcores)", l);
			return -EINVAL;
		}
		if (l == main_lcore) {
			st_error_set(err, "ST_ERR_LCORE_UNAVAILABLE", f, EINVAL,
				     "lcore %u is the EAL main lcore (the Node thread); "
				     "workers need other lcores", l);
			return -EINVAL;
		}
		if (rte_eal_get_lcore_state(l) != WAIT) {
			st_error_set(err, "ST_ERR_LCORE_UNAVAILABLE", f, EBUSY,
				     "lcore %u is already running something", l);
			return -EBUSY;
		}
	}
	return 0;
}

/* Round up to 2^k - 1, the size a mempool's ring uses best. */
static uint32_t
pool_round(uint64_t n)
{
	uint64_t p = 1;

	while (p - 1 < n && p < (1ull << 31))
		p <<= 1;
	return (uint32_t)(p - 1);
}

static unsigned int
pool_cache(uint32_t n)
{
	return RTE_MIN(256u, n / 4);
}

/* Enough for every descriptor that can hold one of the pool's mbufs, the
 * per-lcore caches and a burst in flight per worker, plus headroom. */
static void
pool_sizes(const struct st_start_plan *sp, uint32_t *prod, uint32_t *shadow)
{
	uint64_t w = sp->nb_workers;
	uint64_t burst = sp->burst ? sp->burst : ST_BURST_DEFAULT;
	uint64_t p = 0, s = 0;
	uint16_t i;

	for (i = 0; i < sp->nb_ports; i++) {
		const struct st_port_conf *pc = &sp->ports[i];
		uint64_t rxd = pc->rx_desc ? pc->rx_desc : ST_DESC_DEFAULT;
		uint64_t txd = pc->tx_desc ? pc->tx_desc : ST_DESC_DEFAULT;

		if (pc->role == ST_ROLE_SHADOW)
			s += w * (rxd + txd);
		else
			p += w * (rxd + txd);
	}
	p += w * (burst + 384) + 1024;
	s += w * (2 * burst + 384) + 1024;
	*prod = sp->prod_pool_mbufs ? sp->prod_pool_mbufs : pool_round(p);
	*shadow = sp->shadow_pool_mbufs ? sp->shadow_pool_mbufs : pool_round(s);
}

static int
pool_socket(const struct st_start_plan *sp)
{
	uint16_t i;

	for (i = 0; i < sp->nb_ports; i++) {
		if (sp->ports[i].role == ST_ROLE_PRODUCTION) {
			int s = rte_eth_dev_socket_id(st_dp_g.ports[i].port_id);

			return s >= 0 ? s : SOCKET_ID_ANY;
		}
	}
	return SOCKET_ID_ANY;
}

/* field is the start plan's name, setting the config key an operator edits;
 * sized says whether the size came from the start plan (else automatic). */
static struct rte_mempool *
pool_create(const char *what, const char *field, const char *setting, int sized,
	    uint32_t n, int socket, struct st_error *err)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	snprintf(name, sizeof(name), "st_%s_%u", what, setup_gen);
	mp = rte_pktmbuf_pool_create(name, n, pool_cache(n), 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (mp == NULL) {
		int e = rte_errno;
		/* what one mbuf costs, header and data room included */
		uint64_t mib = ((uint64_t)n * (RTE_MBUF_DEFAULT_BUF_SIZE + 192) + (1u << 20) - 1) >> 20;

		st_error_set(err, "ST_ERR_NOMEM", field, e,
			     "cannot create the %s mempool of %u mbufs (about %" PRIu64
			     " MiB): %s; EAL memory is too small: raise "
			     "dataplane.eal.memory_mb%s%s%s", what, n, mib, rte_strerror(e),
			     sized ? " or set " : "", sized ? setting : "",
			     sized ? " lower" : " (the pool size is automatic)");
	}
	return mp;
}

/* Release everything setup created, in reverse order. Main thread or the
 * setup thread; never while workers run; with policy_lock held. */
static void
teardown(void)
{
	struct st_dp *g = &st_dp_g;
	int i;

	for (i = (int)g->nb_ports - 1; i >= 0; i--) {
		struct st_port_rt *rt = &g->ports[i];

		if (rt->started)
			rte_eth_stats_get(rt->port_id, &g->hw_last[i]);
		if (rt->configured)
			g->ports_closed = 1;
		st_port_release(rt);
	}
	/* No worker runs: nothing can hold the policy. */
	st_policy_free(g->policy);
	__atomic_store_n(&g->policy, NULL, __ATOMIC_RELEASE);
	rte_free(g->marks);
	__atomic_store_n(&g->marks, NULL, __ATOMIC_RELEASE);
	g->policy_installed = 0;
	st_flight_close();
	/* Copies still held in delay lines go back to the shadow pool. */
	st_dp_faults_teardown();
	/* After the ports: closed queues have handed their mbufs back. */
	rte_mempool_free(g->shadow_pool);
	g->shadow_pool = NULL;
	rte_mempool_free(g->prod_pool);
	g->prod_pool = NULL;
}

static void
build_lcores(const struct st_start_plan *sp)
{
	struct st_dp *g = &st_dp_g;
	uint16_t burst = sp->burst ? sp->burst : ST_BURST_DEFAULT;
	uint16_t w, i;

	for (w = 0; w < sp->nb_workers; w++) {
		struct st_lcore *lc = &g->lcores[w];
		struct st_lcore_conf *cf = &lc->conf;
		/* The routing translators' state (1.1 MiB: two flow tables) outlives a setup, so
		 * a stats read never meets a freed one; it starts empty. */
		struct st_rt_state *rt = lc->conf.rt;

		memset(lc, 0, sizeof(*lc));
		if (rt == NULL)
			rt = st_rt_state_new(SOCKET_ID_ANY);
		else
			st_rt_state_reset(rt);
		cf->rt = rt;
		cf->lcore = sp->worker_lcores[w];
		cf->worker = w;
		cf->burst = burst;
		cf->idle = sp->idle;
		cf->tap = sp->mode == ST_MODE_TAP;
		cf->shadow_pool = g->shadow_pool;
		cf->policy = (struct st_policy *const *)&g->policy;
		cf->marks = (struct st_marks *const *)&g->marks;
		cf->rcu = g->rcu;
		cf->quit = &g->quit;
		cf->flight = st_flight_slot(w);
		cf->quarantine = g->quarantine.n != 0 ? &g->quarantine : NULL;
		cf->forward_only = &g->forward_only;
		/* Distinct per worker, never 0 (xorshift's fixed point). */
		lc->ctr.rng = rte_get_tsc_cycles() ^ (0x9e3779b97f4a7c15ull * (w + 1));
		if (lc->ctr.rng == 0)
			lc->ctr.rng = 1;

		for (i = 0; i < sp->nb_ports; i++) {
			const struct st_port_conf *pc = &sp->ports[i];
			struct st_rxq *q;

			/* Worker w polls queue w; a port with fewer rx queues
			 * than workers (or none) is polled by the first ones. */
			if (w >= g->ports[i].nb_rxq)
				continue;
			q = &cf->rxq[cf->nb_rxq++];
			q->port_id = g->ports[i].port_id;
			q->queue = w;
			q->port_idx = i;
			q->egress_port_id = ST_NO_PORT;
			q->egress_idx = 0;
			switch (pc->role) {
			case ST_ROLE_PRODUCTION:
				/* Tap mode: the input is already a copy, so a packet
				 * with one copy is translated in place. */
				q->handle = sp->mode == ST_MODE_TAP ? st_rx_tap :
					st_rx_production;
				q->src_bits = UINT32_C(1) << (2 * i);
				if (pc->rx_pps != 0) {
					uint64_t share = pc->rx_pps / g->ports[i].nb_rxq;

					q->pace_tsc = rte_get_tsc_hz() / (share ? share : 1);
					if (q->pace_tsc == 0)
						q->pace_tsc = 1;
				}
				if (sp->mode == ST_MODE_INLINE && pc->egress >= 0) {
					q->egress_port_id = g->ports[pc->egress].port_id;
					q->egress_idx = (uint16_t)pc->egress;
					/* forwarded: also "tx out of the egress port" */
					q->src_bits |= UINT32_C(1) << (2 * pc->egress + 1);
				}
				break;
			case ST_ROLE_SHADOW:
				q->handle = st_rx_shadow;
				break;
			default:
				q->handle = st_rx_sink;
				break;
			}
		}
	}
}

/* The flight recorder, the quarantine table and forward-only, from the start plan. */
static int
reliability_setup(const struct st_start_plan *sp, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	const uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint16_t i, j;

	if (sp->flight_path[0] != '\0') {
		int rc = st_flight_open(sp->flight_path, sp->nb_workers, sp->worker_lcores, err);

		if (rc != 0)
			return rc;
	}
	memset(&g->quarantine, 0, sizeof(g->quarantine));
	for (i = 0; i < sp->nb_quarantine && i < ST_QUAR_MAX; i++) {
		const struct st_quarantine_conf *q = &sp->quarantine[i];
		const uint64_t sig = (uint64_t)q->len << 32 | q->crc;
		const uint64_t until = now + q->ttl_ms * (hz / 1000);

		/* sorted by signature (insertion: at most 64) */
		for (j = g->quarantine.n; j > 0 && g->quarantine.sig[j - 1] > sig; j--) {
			g->quarantine.sig[j] = g->quarantine.sig[j - 1];
			g->quarantine.until_tsc[j] = g->quarantine.until_tsc[j - 1];
		}
		g->quarantine.sig[j] = sig;
		g->quarantine.until_tsc[j] = until;
		g->quarantine.n++;
	}
	g->forward_only = sp->forward_only != 0;
	st_test_crash_setup();
	return 0;
}

int
st_dp_prepare(const struct st_start_plan *sp, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	uint32_t prod_n, shadow_n;

	st_error_clear(err);
	if (st_dp_state_get() != ST_DP_IDLE || g->ready_prod != NULL) {
		st_error_set(err, "ST_ERR_STATE", "", EBUSY,
			     "prepare: EAL must be up and nothing set up or prepared yet");
		return -EBUSY;
	}
	pool_sizes(sp, &prod_n, &shadow_n);
	/* No port exists yet to ask for its NUMA socket (rte_eth_dev_socket_id
	 * of a port that is not there is not safe in 22.11): any socket. */
	g->ready_prod = pool_create("production", "prodPoolMbufs", "dataplane.mempool.production_mbufs",
				    sp->prod_pool_mbufs != 0, prod_n, SOCKET_ID_ANY, err);
	if (g->ready_prod == NULL)
		return -ENOMEM;
	g->ready_shadow = pool_create("shadow", "shadowPoolMbufs", "dataplane.mempool.shadow_mbufs",
				      sp->shadow_pool_mbufs != 0, shadow_n, SOCKET_ID_ANY, err);
	if (g->ready_shadow == NULL) {
		rte_mempool_free(g->ready_prod);
		g->ready_prod = NULL;
		return -ENOMEM;
	}
	g->ready_prod_n = prod_n;
	g->ready_shadow_n = shadow_n;
	return 0;
}

int
st_dp_probe_device(const char *devargs, struct st_error *err)
{
	int rc;

	st_error_clear(err);
	rc = rte_dev_probe(devargs);
	if (rc != 0) {
		st_error_set(err, "ST_ERR_PORT_NOT_FOUND", "devices", -rc,
			     "cannot take device '%s' over (rte_dev_probe): %s", devargs,
			     rte_strerror(-rc));
		return rc;
	}
	return 0;
}

void
st_dp_forward_only(int on)
{
	__atomic_store_n(&st_dp_g.forward_only, (uint8_t)(on != 0), __ATOMIC_RELEASE);
}

int
st_dp_setup(const struct st_start_plan *sp, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	int expected = ST_DP_IDLE;
	uint32_t prod_n, shadow_n;
	uint16_t i;
	int rc;

	st_error_clear(err);
	if (!__atomic_compare_exchange_n(&g->state, &expected, ST_DP_SETTING_UP, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (expected == ST_DP_NO_EAL || expected == ST_DP_CLEANED)
			st_error_set(err, "ST_ERR_EAL_NOT_READY", "", ENODEV,
				     "EAL is not initialised in this process");
		else
			st_error_set(err, "ST_ERR_STATE", "", EBUSY,
				     "the data plane is already set up or running; stop it first");
		return expected == ST_DP_NO_EAL || expected == ST_DP_CLEANED ? -ENODEV : -EBUSY;
	}
	if (g->ports_closed) {
		/* rte_eth_dev_close released the ethdevs; EAL cannot probe
		 * them again in this process. */
		st_error_set(err, "ST_ERR_STATE", "", ENODEV,
			     "ports were closed by the previous stop or failed start; "
			     "a new plan needs a new data-plane process");
		st_dp_state_set(ST_DP_IDLE);
		return -ENODEV;
	}
	/* Held for the whole setup: an install arriving meanwhile waits, then
	 * finds the data plane ready and binds itself. */
	pthread_mutex_lock(&g->policy_lock);
	g->counters_valid = 0;
	setup_gen++;
	memset(g->ports, 0, sizeof(g->ports));
	memset(g->hw_last, 0, sizeof(g->hw_last));
	g->nb_ports = 0;
	g->nb_workers = 0;
	g->quit = 0;

	rc = st_start_plan_check(sp, err);
	if (rc == 0)
		rc = check_invariants(sp, err);
	if (rc == 0)
		rc = check_lcores(sp, err);
	if (rc != 0)
		goto fail;

	/* Resolve every port before touching any, so a typo costs nothing. */
	for (i = 0; i < sp->nb_ports; i++) {
		rc = st_port_resolve(sp, i, &g->ports[i].port_id, err);
		if (rc != 0)
			goto fail;
	}
	g->nb_ports = sp->nb_ports;

	/* Two pools: copies can exhaust only their own, never production rx.
	 * A standby made them ahead (st_dp_prepare): taken as they are. */
	pool_sizes(sp, &prod_n, &shadow_n);
	if (g->ready_prod != NULL && g->ready_prod_n == prod_n && g->ready_shadow_n == shadow_n) {
		g->prod_pool = g->ready_prod;
		g->shadow_pool = g->ready_shadow;
		g->ready_prod = g->ready_shadow = NULL;
	}
	if (g->prod_pool == NULL)
		g->prod_pool = pool_create("production", "prodPoolMbufs",
					   "dataplane.mempool.production_mbufs",
					   sp->prod_pool_mbufs != 0, prod_n, pool_socket(sp), err);
	if (g->prod_pool == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (g->shadow_pool == NULL)
		g->shadow_pool = pool_create("shadow", "shadowPoolMbufs",
					     "dataplane.mempool.shadow_mbufs",
					     sp->shadow_pool_mbufs != 0, shadow_n, pool_socket(sp), err);
	if (g->shadow_pool == NULL) {
		rc = -ENOMEM;
		goto fail;
	}

	if (g->rcu == NULL) {
		size_t sz = rte_rcu_qsbr_get_memsize(ST_MAX_WORKERS);

		g->rcu = rte_zmalloc("st_rcu", sz, RTE_CACHE_LINE_SIZE);
		if (g->rcu == NULL) {
			st_error_set(err, "ST_ERR_NOMEM", "", ENOMEM,
				     "cannot allocate the RCU state for %u workers",
				     ST_MAX_WORKERS);
			rc = -ENOMEM;
			goto fail;
		}
	}
	rte_rcu_qsbr_init(g->rcu, ST_MAX_WORKERS);

	for (i = 0; i < sp->nb_ports; i++) {
		struct rte_mempool *mp = sp->ports[i].role == ST_ROLE_SHADOW ?
			g->shadow_pool : g->prod_pool;

		rc = st_port_configure(sp, i, &g->ports[i], mp, err);
		if (rc != 0)
			goto fail;
	}

	/* The policy: the one installed before setup, bound to this start plan now,
	 * or the skeleton's behaviour derived from the start plan. */
	memcpy(&g->plan, sp, sizeof(g->plan));
	if (g->policy == NULL) {
		struct st_policy *pol = st_policy_from_start_plan(sp, err);

		if (pol == NULL) {
			if (err != NULL && err->code[0] == '\0')
				st_error_set(err, "ST_ERR_REWRITE", "", EINVAL,
					     "cannot compile the rewrite tables");
			rc = -EINVAL;
			goto fail;
		}
		__atomic_store_n(&g->policy, pol, __ATOMIC_RELEASE);
		g->policy_installed = 0;
		__atomic_store_n(&g->policy_generation, pol->generation, __ATOMIC_RELAXED);
	}
	rc = st_policy_bind(g->policy, sp, err);
	if (rc != 0)
		goto fail;

	rc = reliability_setup(sp, err);
	if (rc != 0)
		goto fail;
	g->nb_workers = sp->nb_workers;
	build_lcores(sp);
	rc = st_dp_faults_setup(err);
	if (rc != 0)
		goto fail;
	g->counters_valid = 1;
	st_dp_state_set(ST_DP_READY);
	pthread_mutex_unlock(&g->policy_lock);
	return 0;

fail:
	teardown();
	g->nb_ports = 0;
	g->nb_workers = 0;
	st_dp_state_set(ST_DP_IDLE);
	pthread_mutex_unlock(&g->policy_lock);
	return rc < 0 ? rc : -EINVAL;
}

static int
require_main_lcore(const char *what, struct st_error *err)
{
	if (rte_lcore_id() == rte_get_main_lcore())
		return 0;
	st_error_set(err, "ST_ERR_NOT_MAIN_LCORE", "", EPERM,
		     "%s must be called from the thread that initialised EAL", what);
	return -EPERM;
}

static void
stop_workers(void)
{
	__atomic_store_n(&st_dp_g.quit, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
}

int
st_dp_launch(struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	uint16_t w;
	int rc;

	st_error_clear(err);
	if (st_dp_state_get() != ST_DP_READY) {
		st_error_set(err, "ST_ERR_STATE", "", EINVAL,
			     "nothing to launch: the data plane is not set up");
		return -EINVAL;
	}
	rc = require_main_lcore("st_dp_launch", err);
	if (rc != 0)
		return rc;
	g->quit = 0;
	for (w = 0; w < g->nb_workers; w++) {
		struct st_lcore *lc = &g->lcores[w];

		rc = rte_eal_remote_launch(st_worker_main, lc, lc->conf.lcore);
		if (rc != 0) {
			char f[48];

			snprintf(f, sizeof(f), "workerLcores[%u]", w);
			st_error_set(err, "ST_ERR_LAUNCH", f, -rc,
				     "cannot launch a worker on lcore %u: %s",
				     lc->conf.lcore, rte_strerror(-rc));
			/* Leave nothing half-started. */
			stop_workers();
			pthread_mutex_lock(&g->policy_lock);
			teardown();
			pthread_mutex_unlock(&g->policy_lock);
			st_dp_state_set(ST_DP_IDLE);
			return rc;
		}
	}
	st_dp_state_set(ST_DP_RUNNING);
	return 0;
}

int
st_dp_stop(struct st_error *err)
{
	int s = st_dp_state_get();
	int rc;

	st_error_clear(err);
	if (s == ST_DP_SETTING_UP) {
		st_error_set(err, "ST_ERR_BUSY", "", EBUSY,
			     "a start is in progress; stop once it has finished");
		return -EBUSY;
	}
	if (s != ST_DP_READY && s != ST_DP_RUNNING)
		return 0;
	rc = require_main_lcore("st_dp_stop", err);
	if (rc != 0)
		return rc;
	if (s == ST_DP_RUNNING)
		stop_workers();
	/* Waits for an install in progress (its RCU wait ends as the workers
	 * went offline on their way out). */
	pthread_mutex_lock(&st_dp_g.policy_lock);
	teardown();
	st_dp_state_set(ST_DP_IDLE);
	pthread_mutex_unlock(&st_dp_g.policy_lock);
	return 0;
}
