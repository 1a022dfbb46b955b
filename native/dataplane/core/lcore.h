/* SPDX-License-Identifier: BSD-3-Clause
 * Per-lcore state of the fast path (the l3fwd lcore_conf way): a read-only
 * part built at setup (lifecycle.c), the counters the worker alone writes,
 * and the scratch space of the burst being handled.
 *
 * Counter conventions (the contract in st_dataplane.h leaves these open):
 * - mirror_packets/bytes count copies accepted by a shadow tx queue, once per
 *   target port that accepted it; a copy refused by a full queue is counted in
 *   dropped[tx_full] once per refusing port. dropped[] counts copies (one per
 *   mirroring session of a packet); reasons without a global slot (rate,
 *   firewall, encap) are counted per session only. With the default policy
 *   and one shadow port, every production rx packet ends up in exactly one of
 *   mirror_packets or dropped[].
 * - Per session (slot) and per rule (slot) counters live per lcore here, so
 *   they survive policy swaps; stats.c sums them.
 * - Egress- and shadow-role ports are polled so their queues never fill, and
 *   what they receive is counted in the port's rx counters and freed: nothing
 *   received there is ever forwarded. Shadow rx also feeds shadow_rx_packets.
 * - Production packets forwarded in inline mode count as tx on the egress port;
 *   those its tx queue refused are freed and counted in its tx_dropped.
 */
#ifndef ST_LCORE_H
#define ST_LCORE_H

#include <stdint.h>

#include <rte_common.h>

#include "st_dataplane.h"
#include "policy.h"
#include "flight.h"
#include "quarantine.h"
#include "impair.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_rcu_qsbr;
struct st_policy;
struct st_marks;

#define ST_BURST_DEFAULT      32
#define ST_BURST_MAX          64
/* Empty polls before an adaptive worker starts napping, and the nap. */
#define ST_IDLE_SPINS         100
#define ST_IDLE_SLEEP_US      100

struct st_lcore;
struct st_rxq;

/* What a port's role does with a received burst (rx.c). */
typedef void (*st_rx_fn)(struct st_lcore *lc, const struct st_rxq *q,
			 const struct st_policy *pol, const struct st_marks *mk,
			 struct rte_mbuf **pkts, uint16_t n);

/* The deadline step: run by the worker loop once the TSC passes the
 * deadline it last returned (the first time at once). It is where work that
 * waits for time rather than for packets belongs: a delay line releasing
 * what is due, tx buffers drained on a deadline (l3fwd's BURST_TX_DRAIN_US).
 * Returns the next deadline (TSC). NULL (today: nothing needs one) costs
 * the loop one predictable branch per round and no TSC read. An adaptive
 * worker's idle nap (ST_IDLE_SLEEP_US) may run it that much late; a delay
 * line that needs better will keep its worker out of naps while it holds
 * packets. */
typedef uint64_t (*st_deadline_fn)(struct st_lcore *lc, uint64_t now);

/* One (port, queue) a worker polls, with its handler chosen at setup. */
struct st_rxq {
	st_rx_fn handle;
	uint16_t port_id;
	uint16_t queue;
	uint16_t port_idx;         /* start plan index, for counters */
	uint16_t egress_port_id;   /* ST_NO_PORT: production rx is not forwarded */
	uint16_t egress_idx;
	uint32_t src_bits;         /* policy source bits of what this queue delivers */
	uint64_t pace_tsc;         /* TSC cycles per packet when paced, else 0 */
};

/* Read-only after setup. */
struct st_lcore_conf {
	uint16_t lcore;
	uint16_t worker;           /* also the tx queue this worker owns */
	uint16_t burst;
	uint8_t idle;              /* enum st_idle */
	uint8_t tap;               /* tap mode: production rx is itself a copy */
	uint16_t nb_rxq;
	struct st_rxq rxq[ST_MAX_PORTS];
	struct rte_mempool *shadow_pool;
	struct st_policy *const *policy;   /* the current policy; RCU-protected */
	struct st_marks *const *marks;     /* the NIC MARKs honoured; RCU-protected, may be NULL */
	st_deadline_fn deadline_step;      /* NULL: no deadline step */
	struct st_flight_slot *flight;     /* this worker's flight recorder slot, or NULL */
	struct st_rt_state *rt;            /* routing translators' state (rewrite.h), or NULL */
	const struct st_quarantine *quarantine; /* NULL or empty: no quarantine */
	const volatile uint8_t *forward_only;   /* set: no shadow work this round */
	struct st_fault_table *const *faults;   /* the fault table; RCU-protected, may be NULL */
	struct st_impair_worker *imp;           /* this worker's fault state and delay line */
	uint16_t plan_port_id[ST_MAX_PORTS];    /* start plan index -> ethdev id (delay line release) */
	struct rte_rcu_qsbr *rcu;
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
	uint64_t nic_copies;               /* NIC-made copies finished in software */
	uint64_t nic_decided;              /* production packets the NIC decided and copied */
	uint64_t quarantined;              /* production packets skipped for their quarantined signature */
	uint64_t dropped[ST_DROP__COUNT];
	uint64_t anomalies[ST_ANOM__COUNT];
	uint64_t leak[ST_LEAK__COUNT][ST_LEAK_R__COUNT][2];   /* leak.h */
	uint64_t rx_invalid[ST_RXBAD__COUNT];
	struct st_port_ctr ports[ST_MAX_PORTS];
	/* Not counters but the same single writer: the TSC at which each paced
	 * rxq (same index as conf.rxq) may next deliver a packet, and when the
	 * deadline step is next due. */
	uint64_t pace_next[ST_MAX_PORTS];
	uint64_t deadline_tsc;
	uint64_t imp_due;                  /* next copy due in the delay line; UINT64_MAX: none held */
	uint64_t rng;                      /* per packet sampling (xorshift64*) */
	/* Per session and per rule slot: stable across policy swaps. */
	struct st_session_stats sess[ST_MAX_SESSIONS];
	uint64_t rule_hits[ST_MAX_RULES];
};

/* Copies made for one burst, waiting for the shadow stages (stage.h).
 * Without match_all a packet has at most one copy per target, so a burst
 * never overflows it; with match_all and many sessions it is flushed early. */
#define ST_PENDING_MAX (ST_BURST_MAX * ST_MAX_TARGETS)

struct st_pending {
	struct rte_mbuf *m;
	uint32_t wire_len;         /* length of the original frame */
	uint32_t hash;             /* flow hash of the original (encap entropy) */
	uint16_t session;          /* index in the policy */
	uint8_t first;             /* first copy of its packet: counts anomalies */
	uint16_t mi;               /* with a fault armed: its st_pol_work.meta[] entry */
};

struct st_pol_work {
	/* Packets of the burst being handled that the rx check repaired
	 * (rx_check.h): forwarded, never offered to the policy. */
	uint64_t nocopy;
	uint16_t nb;
	struct st_pending p[ST_PENDING_MAX];
	/* The fault table loaded for this round (NULL or empty: none armed),
	 * the source bits of the queue whose burst is handled, and the fault
	 * stages' scratch (faults.h). */
	const struct st_fault_table *faults;
	uint32_t src_bits;
	struct st_imp_meta meta[ST_PENDING_MAX];
	struct st_pending scratch[ST_PENDING_MAX];
};

/* Config and counters on separate cache lines so that stats readers and the
 * config never share a line with the counters being written. */
struct st_lcore {
	struct st_lcore_conf conf __rte_cache_aligned;
	struct st_lcore_ctr ctr __rte_cache_aligned;
	struct st_pol_work work __rte_cache_aligned;
} __rte_cache_aligned;

/* rx.c: one handler per port role. */
#define ST_RX_ARGS struct st_lcore *lc, const struct st_rxq *q, \
	const struct st_policy *pol, const struct st_marks *mk, \
	struct rte_mbuf **pkts, uint16_t n
void st_rx_production(ST_RX_ARGS);
void st_rx_tap(ST_RX_ARGS);
void st_rx_sink(ST_RX_ARGS);
void st_rx_shadow(ST_RX_ARGS);

/* worker.c: the loop an lcore runs (arg: its struct st_lcore). */
int st_worker_main(void *arg);

#endif /* ST_LCORE_H */
