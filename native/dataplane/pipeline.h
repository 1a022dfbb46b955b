/* SPDX-License-Identifier: BSD-3-Clause
 * Internal types shared by the data-plane files (not part of the public API).
 *
 * Split the VPP way: mirror_ctl.c builds everything below at control time
 * (ports, pools, rewrite tables, per-lcore config); mirror_node.c is the
 * per-lcore fast path and only reads that config; stats.c sums counters.
 *
 * Mirroring is policy-driven (policy.h): policy_ctl.c compiles a policy into
 * an immutable struct st_policy that workers read through one pointer,
 * loaded once per poll round and swapped with rte_rcu_qsbr; policy_node.c is
 * the per-burst classification and shadow work that mirror_node.c calls.
 * Without an installed policy, setup derives the skeleton's behaviour from the
 * plan: one session, every production port's rx, accept all, target = the
 * plan's shadow ports, the plan's maps and MACs.
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
#ifndef ST_PIPELINE_H
#define ST_PIPELINE_H

#include <stdint.h>
#include <stdarg.h>
#include <pthread.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "st_dataplane.h"
#include "policy.h"
#include "rewrite.h"
#include "encap.h"

struct rte_acl_ctx;
struct rte_rcu_qsbr;
struct st_rw_shared;

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

/* ---- the compiled policy (policy_ctl.c builds, policy_node.c reads) ------ */

/* Sessions are evaluated in groups of up to RTE_ACL_MAX_CATEGORIES
 * consecutive sessions: one rte_acl context per group, one category per
 * session that needs the classifier. */
#define ST_GROUP_SESSIONS 16

struct st_pol_session {
	uint32_t sources;          /* bit 2 * port + dir */
	uint16_t slot;             /* counter slot */
	uint16_t target;
	uint8_t sample_mode;       /* enum st_sample_mode */
	uint8_t category;          /* in the group's context when acl */
	uint8_t acl;               /* 1: decided by rte_acl; 0: by fixed_rule */
	uint32_t sample_threshold;
	uint32_t snaplen;          /* 0 = whole frame */
	int32_t fixed_rule;        /* !acl: the rule deciding every packet, -1 = none */
	int32_t bucket;            /* index into the rate buckets, -1 = no cap */
	uint64_t rate_pps, rate_bps;
};

struct st_pol_rule {
	uint32_t slot;
	uint8_t action;            /* enum st_rule_action */
};

struct st_pol_group {
	struct rte_acl_ctx *acl;   /* NULL when no session of the group needs it */
	uint16_t first, count;     /* sessions [first, first + count) */
	uint32_t categories;       /* as built; what rte_acl_classify is given */
	uint32_t sources;          /* union of the group's sessions' sources */
};

struct st_pol_target {
	uint16_t nb_ports;
	uint16_t port_idx[ST_MAX_PORTS];   /* plan indexes */
	uint16_t port_id[ST_MAX_PORTS];    /* ethdev ids, filled when bound to a plan */
	uint16_t wire_extra;               /* bytes the encapsulation adds */
	struct st_encap_tmpl tmpl;
};

struct st_pol_sig {
	uint8_t base, len;
	uint16_t offset;
	uint8_t value[ST_SIG_MAX_LEN];
	uint8_t mask[ST_SIG_MAX_LEN];
};

/* Token buckets of one capped session on one worker: written by that worker
 * only; a cache line each so workers never share one. Tokens are in packets
 * and bits; the per-TSC rates are this worker's share (rate / nb_workers). */
struct st_bucket {
	double pps_tokens, bps_tokens;
	double pps_per_tsc, bps_per_tsc;
	double pps_depth, bps_depth;
	uint64_t last_tsc;
} __rte_cache_aligned;

struct st_policy {
	uint32_t generation;
	uint8_t match_all;
	uint8_t need_key;          /* something reads the parsed key */
	uint8_t need_hash;         /* flow sampling or encapsulation */
	uint8_t bound;             /* target ports and rates resolved for a plan */
	/* The common shape, served by the short path (st_simple_copy): one
	 * session, decided without the classifier by an accepting rule, every
	 * packet, no rate cap, whole frames, no signatures, no encapsulation,
	 * no firewall. Same output and counters as the general path. */
	uint8_t simple;
	uint32_t sources;          /* union of every session's sources */
	uint16_t nb_sessions;
	uint16_t nb_groups;
	uint16_t nb_targets;
	uint16_t nb_signatures;
	uint32_t nb_rules;
	uint32_t nb_buckets;       /* capped sessions; buckets[worker * nb_buckets + b] */
	struct st_pol_session *sessions;
	struct st_pol_rule *rules;
	struct st_pol_group *groups;
	struct st_bucket *buckets;
	struct st_rewrite_tables *rw;  /* = rws->tables, for the fast path */
	struct st_rw_shared *rws;      /* shared with the previous policy when the
					* topology did not change */
	struct rte_acl_ctx *fw;    /* NULL: no firewall rules (fw_default decides) */
	uint8_t fw_enabled;        /* copies of IP packets go through the firewall */
	uint8_t fw_default;        /* enum st_rule_action */
	uint8_t *fw_action;        /* per firewall rule */
	struct st_pol_target targets[ST_MAX_TARGETS];
	struct st_pol_sig signatures[ST_MAX_SIGNATURES];
	/* counter slot -> session index, -1 = no such session (NIC MARKs name slots) */
	int16_t slot_si[ST_MAX_SESSIONS];
};

/* The NIC MARKs the software path honours (st_dp_marks_install): per plan
 * port, per session slot, ST_MARK_KIND_* bits. Immutable once published;
 * swapped with the same RCU as the policy. Slots are stable across policy
 * swaps, so a policy update does not invalidate it; a slot whose session is
 * gone is simply not honoured. */
struct st_marks {
	uint8_t on[ST_MAX_PORTS];
	uint8_t kind[ST_MAX_PORTS][ST_MAX_SESSIONS];
};

/* What the NIC's MARKs say about one production burst (bits = packets). */
struct st_nic_burst {
	uint64_t skip;             /* the NIC decided and copied: software makes no copy */
	uint64_t copies;           /* NIC-made copies software finishes (never forwarded) */
	uint64_t drop;             /* copies + stray copies: never forwarded to production */
	uint16_t copy_si[ST_BURST_MAX];  /* per copy: the session index */
};

/* Compile conf; NULL + err on failure (nothing left allocated). `current`
 * (may be NULL): the running policy, whose rewrite tables are shared when the
 * topology part of conf is the same. Control threads only, under policy_lock. */
struct st_policy *st_policy_compile(const struct st_policy_conf *conf,
				    const struct st_policy *current,
				    struct st_error *err);
/* Resolve target ports and per-worker rates against a plan and the ports
 * started for it; err names "policy.<field>". */
int st_policy_bind(struct st_policy *pol, const struct st_plan *plan,
		   struct st_error *err);
void st_policy_free(struct st_policy *pol);
/* The skeleton's behaviour as a policy (see the top of this file). */
struct st_policy *st_policy_from_plan(const struct st_plan *plan,
				      struct st_error *err);

/* ---- the per-lcore fast path (mirror_node.c) ---------------------------- */

struct st_lcore;
struct st_rxq;

struct st_marks;

typedef void (*st_rx_fn)(struct st_lcore *lc, const struct st_rxq *q,
			 const struct st_policy *pol, const struct st_marks *mk,
			 struct rte_mbuf **pkts, uint16_t n);

/* One (port, queue) a worker polls, with its handler chosen at setup. */
struct st_rxq {
	st_rx_fn handle;
	uint16_t port_id;
	uint16_t queue;
	uint16_t port_idx;         /* plan index, for counters */
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
	uint64_t dropped[ST_DROP__COUNT];
	uint64_t anomalies[ST_ANOM__COUNT];
	uint64_t rx_invalid[ST_RXBAD__COUNT];
	struct st_port_ctr ports[ST_MAX_PORTS];
	/* Not a counter but the same single writer: the TSC at which each paced
	 * rxq (same index as conf.rxq) may next deliver a packet. */
	uint64_t pace_next[ST_MAX_PORTS];
	uint64_t rng;                      /* per packet sampling (xorshift64*) */
	/* Per session and per rule slot: stable across policy swaps. */
	struct st_session_stats sess[ST_MAX_SESSIONS];
	uint64_t rule_hits[ST_MAX_RULES];
};

/* Copies made for one burst, waiting for the shadow work. Without match_all
 * a packet has at most one copy per target, so a burst never overflows it;
 * with match_all and many sessions it is flushed early. */
#define ST_PENDING_MAX (ST_BURST_MAX * ST_MAX_TARGETS)

struct st_pending {
	struct rte_mbuf *m;
	uint32_t wire_len;         /* length of the original frame */
	uint32_t hash;             /* flow hash of the original (encap entropy) */
	uint16_t session;          /* index in the policy */
	uint8_t first;             /* first copy of its packet: counts anomalies */
};

struct st_pol_work {
	/* Packets of the burst being handled that the rx check repaired
	 * (rx_check.h): forwarded, never offered to the policy. */
	uint64_t nocopy;
	uint16_t nb;
	struct st_pending p[ST_PENDING_MAX];
};

/* Config and counters on separate cache lines so that stats readers and the
 * config never share a line with the counters being written. */
struct st_lcore {
	struct st_lcore_conf conf __rte_cache_aligned;
	struct st_lcore_ctr ctr __rte_cache_aligned;
	struct st_pol_work work __rte_cache_aligned;
} __rte_cache_aligned;

#define ST_RX_ARGS struct st_lcore *lc, const struct st_rxq *q, \
	const struct st_policy *pol, const struct st_marks *mk, \
	struct rte_mbuf **pkts, uint16_t n
void st_rx_production(ST_RX_ARGS);
void st_rx_tap(ST_RX_ARGS);
void st_rx_sink(ST_RX_ARGS);
void st_rx_shadow(ST_RX_ARGS);
int st_worker_main(void *arg);

/* policy_node.c, in the order a production burst needs them:
 * st_policy_copy() classifies the burst and makes the copies (before the
 * originals go to production tx, which may recycle them at once); in tap
 * mode it may take an original itself and sets pkts[i] = NULL. Then the
 * caller forwards or frees the originals, and st_policy_shadow() rewrites,
 * filters, encapsulates and sends the copies. */
void st_policy_copy(struct st_lcore *lc, const struct st_rxq *q,
		    const struct st_policy *pol, struct rte_mbuf **pkts, uint16_t n,
		    const struct st_nic_burst *nb);
void st_policy_shadow(struct st_lcore *lc, const struct st_policy *pol);
/* The short path for a simple policy (pol->simple), in the same two halves:
 * st_simple_copy() counts the burst's packets in the session and puts one
 * whole copy of each into cps[] (take: tap mode, the packet itself, and
 * pkts[i] = NULL), returning how many; st_simple_shadow() rewrites and
 * sends them. */
uint16_t st_simple_copy(struct st_lcore *lc, const struct st_policy *pol,
			struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **cps, int take);
void st_simple_shadow(struct st_lcore *lc, const struct st_policy *pol,
		      struct rte_mbuf **cps, uint16_t n);

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
	/* The current policy (workers load it with acquire once per round) and
	 * whether it was installed (1) or derived from the plan (0). The lock
	 * serialises install, setup and teardown; never taken by workers. */
	struct st_policy *policy;
	struct st_marks *marks;          /* NULL: no MARK honoured */
	uint8_t policy_installed;
	uint32_t policy_generation;
	pthread_mutex_t policy_lock;
	struct rte_rcu_qsbr *rcu;
	struct st_plan plan;             /* the running plan, for binding installs */
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
