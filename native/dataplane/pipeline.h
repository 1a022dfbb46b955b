/* SPDX-License-Identifier: BSD-3-Clause
 * Internal types shared by the data-plane files (not part of the public API).
 *
 * Split the VPP way: mirror_ctl.c builds everything below at control time
 * (ports, pools, rewrite tables, per-lcore config); mirror_node.c is the
 * per-lcore fast path and only reads that config; stats.c sums counters.
 *
 * Counter conventions (the contract in st_dataplane.h leaves these open):
 * - mirror_packets/bytes count copies accepted by a shadow tx queue, once per
 *   shadow port that accepted it; a copy refused by a full queue is counted in
 *   dropped[tx_full] once per refusing port. With one shadow port, every
 *   production rx packet ends up in exactly one of mirror_packets or dropped[].
 * - Egress- and shadow-role ports are polled so their queues never fill, and
 *   what they receive is counted in the port's rx counters and freed: nothing
 *   received there is ever forwarded. Shadow rx also feeds shadow_rx_packets.
 * - Production packets forwarded in inline mode count as tx on the egress port;
 *   those its tx queue refused are freed and counted in its tx_dropped.
 */
#ifndef ST_PIPELINE_H
#define ST_PIPELINE_H

#include <stdint.h>
#include <stdarg.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "st_dataplane.h"
#include "rewrite.h"

#define ST_BURST_DEFAULT      32
#define ST_BURST_MAX          64
#define ST_DESC_DEFAULT       1024
/* Empty polls before an adaptive worker starts napping, and the nap. */
#define ST_IDLE_SPINS         100
#define ST_IDLE_SLEEP_US      100
#define ST_NO_PORT            UINT16_MAX

/* ---- errors (eal.c) ------------------------------------------------------ */

void st_error_set(struct st_error *err, const char *code, const char *field,
		  int errnum, const char *fmt, ...) __rte_format_printf(5, 6);
void st_error_clear(struct st_error *err);

/* ---- ports (port.c) ------------------------------------------------------ */

/* What the control side decided for one plan port. */
struct st_port_rt {
	uint16_t port_id;     /* ethdev port id */
	uint16_t nb_rxq;      /* queues configured (0: never polled) */
	uint16_t nb_txq;
	uint16_t rx_desc, tx_desc;
	int socket;
	uint8_t configured;   /* rte_eth_dev_configure succeeded: close on undo */
	uint8_t started;
};

/* Resolve plan port i by ethdev name. */
int st_port_resolve(const struct st_plan *plan, uint16_t i, uint16_t *port_id,
		    struct st_error *err);
/* Configure queues (rx queues from mp, none when nb_rxq is 0) and start. */
int st_port_configure(const struct st_plan *plan, uint16_t i,
		      struct st_port_rt *rt, struct rte_mempool *mp,
		      struct st_error *err);
/* Stop (if started) and close (if configured); safe to call twice. */
void st_port_release(struct st_port_rt *rt);

/* ---- the per-lcore fast path (mirror_node.c) ---------------------------- */

struct st_lcore;
struct st_rxq;

typedef void (*st_rx_fn)(struct st_lcore *lc, const struct st_rxq *q,
			 struct rte_mbuf **pkts, uint16_t n);

/* One (port, queue) a worker polls, with its handler chosen at setup. */
struct st_rxq {
	st_rx_fn handle;
	uint16_t port_id;
	uint16_t queue;
	uint16_t port_idx;         /* plan index, for counters */
	uint16_t egress_port_id;   /* ST_NO_PORT: production rx is not forwarded */
	uint16_t egress_idx;
	uint64_t pace_tsc;         /* TSC cycles per packet when paced, else 0 */
};

/* Read-only after setup. */
struct st_lcore_conf {
	uint16_t lcore;
	uint16_t worker;           /* also the tx queue this worker owns */
	uint16_t burst;
	uint8_t idle;              /* enum st_idle */
	uint8_t mirror;            /* 0 when there is no shadow port: no copies */
	uint16_t nb_rxq;
	uint16_t nb_shadow;
	struct st_rxq rxq[ST_MAX_PORTS];
	uint16_t shadow_port_id[ST_MAX_PORTS];
	uint16_t shadow_idx[ST_MAX_PORTS];
	struct rte_mempool *shadow_pool;
	const struct st_rewrite_tables *tables;
	const volatile uint8_t *quit;
};

struct st_port_ctr {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;
};

/* Written only by the owning worker; read by stats.c with relaxed loads. */
struct st_lcore_ctr {
	uint64_t loops, busy_loops;
	uint64_t rx_packets;
	uint64_t mirror_packets, mirror_bytes;
	uint64_t translated_packets;
	uint64_t shadow_rx_packets;
	uint64_t dropped[ST_DROP__COUNT];
	uint64_t anomalies[ST_ANOM__COUNT];
	struct st_port_ctr ports[ST_MAX_PORTS];
	/* Not a counter but the same single writer: the TSC at which each paced
	 * rxq (same index as conf.rxq) may next deliver a packet. */
	uint64_t pace_next[ST_MAX_PORTS];
};

/* Config and counters on separate cache lines so that stats readers and the
 * config never share a line with the counters being written. */
struct st_lcore {
	struct st_lcore_conf conf __rte_cache_aligned;
	struct st_lcore_ctr ctr __rte_cache_aligned;
} __rte_cache_aligned;

void st_rx_production(struct st_lcore *lc, const struct st_rxq *q,
		      struct rte_mbuf **pkts, uint16_t n);
void st_rx_tap(struct st_lcore *lc, const struct st_rxq *q,
	       struct rte_mbuf **pkts, uint16_t n);
void st_rx_sink(struct st_lcore *lc, const struct st_rxq *q,
		struct rte_mbuf **pkts, uint16_t n);
void st_rx_shadow(struct st_lcore *lc, const struct st_rxq *q,
		  struct rte_mbuf **pkts, uint16_t n);
int st_worker_main(void *arg);

/* ---- global data-plane state (mirror_ctl.c) ------------------------------ */

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
	struct st_rewrite_tables *tables;
	/* last hw counters, kept when ports are closed so stats stay readable */
	struct rte_eth_stats hw_last[ST_MAX_PORTS];
	struct st_lcore lcores[ST_MAX_WORKERS];
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

#endif /* ST_PIPELINE_H */
