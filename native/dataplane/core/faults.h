/* SPDX-License-Identifier: BSD-3-Clause
 * The fault table in the running data plane (issue 13): installed with its
 * own RCU swap, independently of the policy (faults.c), and the fault
 * stages of the shadow path (impair_stage.c, stage.h).
 *
 * - st_fault_key_stage (first in the list): notes from each copy, before
 *   the rewrite, what faults match on (struct st_imp_meta: production
 *   addresses, protocol, ports, session slot, shadow port, direction).
 * - st_impair_stage (between encap and tx): the fault table over the copies
 *   (impair.h): what passes goes on to tx; delayed copies wait in the
 *   worker's delay line, remembering their session slot and shadow ports in
 *   the mbuf (hash.usr), so a policy swap while they wait cannot send them
 *   elsewhere.
 * - st_impair_deadline (the worker's deadline step): sends what is due to
 *   the ports it was meant for, counted like any copy (mirror packets,
 *   session mirrored, port tx, tx_full when a queue refuses it).
 *
 * Each worker's delay line holds ST_FAULT_LINE_CAPACITY packets and its
 * timing wheel reaches ST_FAULT_WHEEL_SPAN_NS; a table built for a bigger
 * line is refused (lineCapacity, wheelSpanNs). A copy a fault holds keeps
 * its shadow mbuf: a long delay at a high rate needs a shadow pool sized
 * for it (the start plan's shadowPoolMbufs), or copies fail as nomem.
 *
 * A copy goes to all of its target's ports; the fault's `port` matches the
 * target's first port.
 */
#ifndef ST_FAULTS_H
#define ST_FAULTS_H

#include <stdint.h>

#include "st_dataplane.h"
#include "impair.h"

#ifdef __cplusplus
extern "C" {
#endif

struct st_lcore;
struct st_pending;
struct st_policy;

#define ST_FAULT_LINE_CAPACITY 65536u
#define ST_FAULT_WHEEL_SPAN_NS 1000000000ull
#define ST_FAULT_WARN_LEN 256

struct st_fault_install_result {
	uint32_t generation;
	uint16_t nb_warnings;
	char warnings[ST_MAX_PORTS + 1][ST_FAULT_WARN_LEN];
};

struct st_fault_counters {
	uint32_t id;
	uint16_t slot;
	struct st_fault_stats s;   /* summed over the workers */
};

struct st_fault_snapshot {
	uint32_t generation;
	uint16_t nb;
	struct st_fault_counters f[ST_IMP_MAX_FAULTS];
};

/* ---- control (faults.c; the Node main thread) ------------------------------ */

/* Build, check and swap in a new fault table (nb_faults == 0 disarms
 * everything); link_down faults set their shadow ports down where the port
 * supports it (warnings say per port). Before setup the table is kept and
 * takes effect when the workers start. */
int st_dp_faults_install(const struct st_fault_table_conf *conf,
			 struct st_fault_install_result *res, struct st_error *err);
/* The current table's faults and their counters. */
void st_dp_fault_snapshot(struct st_fault_snapshot *out);
/* Applied delays of fault `slot` recorded by the workers (ns), oldest first
 * per worker. */
uint32_t st_dp_fault_delay_samples(uint16_t slot, uint64_t *out, uint32_t max);

/* lifecycle.c: per-worker state at setup (after build_lcores) and the
 * links of the installed table; freed at teardown (before the pools). */
int st_dp_faults_setup(struct st_error *err);
void st_dp_faults_teardown(void);

/* ---- fast path (impair_stage.c) --------------------------------------------- */

uint32_t st_fault_key_stage(struct st_lcore *lc, const struct st_policy *pol,
			    struct st_pending *p, uint32_t n);
uint32_t st_impair_stage(struct st_lcore *lc, const struct st_policy *pol,
			 struct st_pending *p, uint32_t n);
/* Their short forms (stage.h): the copies of a simple policy's one session,
 * in a vector of one burst; only for tables that do not duplicate. */
uint16_t st_fault_key_stage_short(struct st_lcore *lc, const struct st_policy *pol,
				  struct rte_mbuf **m, uint16_t n);
uint16_t st_impair_stage_short(struct st_lcore *lc, const struct st_policy *pol,
			       struct rte_mbuf **m, uint16_t n);
/* The deadline step with a fault armed or copies held: releases what is
 * due, returns when it is next needed. */
uint64_t st_impair_deadline(struct st_lcore *lc, uint64_t now);

#ifdef __cplusplus
}
#endif

#endif /* ST_FAULTS_H */
