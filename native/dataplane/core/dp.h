/* SPDX-License-Identifier: BSD-3-Clause
 * The data plane's global state and its lifecycle states (lifecycle.c sets
 * up, launches and stops; eal.c initialises and cleans EAL up; stats.c
 * reads the counters).
 *
 * Tables the workers read are immutable once published and swapped with one
 * rte_rcu_qsbr (rcu below), each on its own: the compiled policy (policy/),
 * the NIC MARKs honoured (marks.h). The fault table of the failure-injection
 * engine joins them the same way: a third pointer here and in struct
 * st_lcore_conf, loaded once per round like the others, installed under
 * policy_lock with its own rte_rcu_qsbr_synchronize, so arming a fault never
 * recompiles the policy and a policy swap never disarms a fault. It does not
 * exist yet.
 */
#ifndef ST_DP_H
#define ST_DP_H

#include <stdint.h>
#include <pthread.h>

#include <rte_ethdev.h>

#include "st_dataplane.h"
#include "port.h"
#include "lcore.h"

struct rte_mempool;
struct rte_rcu_qsbr;
struct st_policy;
struct st_marks;
struct st_fault_table;
struct st_impair_worker;

enum st_dp_state {
	ST_DP_NO_EAL = 0,
	ST_DP_IDLE,        /* EAL up, nothing configured */
	ST_DP_SETTING_UP,  /* st_dp_setup in progress (maybe on another thread) */
	ST_DP_READY,       /* ports started, workers not launched */
	ST_DP_RUNNING,
	ST_DP_CLEANED,     /* rte_eal_cleanup done: EAL cannot come back */
};

struct st_dp {
	int state;                       /* enum st_dp_state, atomic access */
	uint8_t quit;                    /* workers exit when set */
	uint8_t counters_valid;          /* lcores[] hold a completed setup's counters */
	uint8_t ports_closed;            /* some ethdev was closed: no new setup */
	uint16_t nb_ports;
	uint16_t nb_workers;
	struct st_port_rt ports[ST_MAX_PORTS];
	struct rte_mempool *prod_pool;
	struct rte_mempool *shadow_pool;
	/* The current policy (workers load it with acquire once per round) and
	 * whether it was installed (1) or derived from the start plan (0). The lock
	 * serialises install, setup and teardown; never taken by workers. */
	struct st_policy *policy;
	struct st_marks *marks;          /* NULL: no MARK honoured */
	uint8_t policy_installed;
	uint32_t policy_generation;
	pthread_mutex_t policy_lock;
	struct rte_rcu_qsbr *rcu;
	/* The fault table (NULL: none armed), per-worker fault state and delay
	 * lines, and the link_down ports: named (bit = start plan index) or all
	 * shadow ports; set down by the driver, or only dropped in software. */
	struct st_fault_table *faults;
	uint32_t faults_generation;
	uint32_t faults_links;
	uint8_t faults_links_all;
	uint32_t links_down, links_soft;
	int links_rc[ST_MAX_PORTS];       /* what rte_eth_dev_set_link_down said */
	struct st_impair_worker *imp[ST_MAX_WORKERS];
	/* Serialises fault installs and counter reads with the per-worker
	 * state's creation and release; not policy_lock, which a policy compile
	 * holds for seconds (a stats poll must not wait for it). Taken inside
	 * policy_lock by setup and teardown, alone otherwise. */
	pthread_mutex_t faults_lock;
	struct st_start_plan plan;             /* the running start plan, for binding installs */
	/* last hw counters, kept when ports are closed so stats stay readable */
	struct rte_eth_stats hw_last[ST_MAX_PORTS];
	struct st_lcore lcores[ST_MAX_WORKERS];
	/* reliability (docs/reliability.md) */
	struct st_quarantine quarantine;  /* fixed at setup from the start plan */
	volatile uint8_t forward_only;    /* workers do no shadow work while set */
	/* pools a standby made ahead (st_dp_prepare); setup takes them when the
	 * start plan asks for the same sizes */
	struct rte_mempool *ready_prod, *ready_shadow;
	uint32_t ready_prod_n, ready_shadow_n;
};

extern struct st_dp st_dp_g;

static inline int
st_dp_state_get(void)
{
	return __atomic_load_n(&st_dp_g.state, __ATOMIC_ACQUIRE);
}

static inline void
st_dp_state_set(int s)
{
	__atomic_store_n(&st_dp_g.state, s, __ATOMIC_RELEASE);
}

#endif /* ST_DP_H */
