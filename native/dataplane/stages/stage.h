/* SPDX-License-Identifier: BSD-3-Clause
 * The shadow path as an ordered list of stages.
 *
 * A production burst meets the policy in two halves around production tx
 * (policy_node.c): before it, classify -> sample -> copy decide and make the
 * copies, session by session over the burst's packets as bits (the copies
 * must exist before the driver may recycle the originals); after it, the
 * copies go through the stages below, in the order of st_shadow_stages[]
 * (policy_ctl.c), the one place that order is written. A policy's compile
 * keeps only the stages it has work for (struct st_policy.stages): a policy
 * without firewall rules has no firewall stage, one without encapsulation
 * no encap stage; rewrite and tx are always there.
 *
 * Every stage has a general form, over the pending copies of a burst
 * (struct st_pending: copy, original length, flow hash, session), and may
 * have a short form, over a plain vector of whole copies of the one session
 * of a simple policy. The short path (st_simple_shadow) runs the same list,
 * calling the short forms; a policy whose list holds a stage without one is
 * not simple (st_policy.simple), so the short path can never skip a stage.
 *
 * Both forms return how many copies go on (compacted to the front, order
 * kept); a stage frees and counts the copies it drops. tx sends everything
 * and returns 0.
 *
 * Two stages work only while a fault is armed (faults.h): fault_key,
 * first, notes what faults match on from each copy before the rewrite
 * changes it (production addresses, ports, session, shadow port,
 * direction), and impair, between encap and tx, applies the fault table to
 * what would leave on the wire (drop, delay line, corrupt, duplicate,
 * reorder, rate); its delay line releases through the worker's deadline
 * step (lcore.h). A compile lists the policy's stages twice: without them
 * (struct st_policy.stages) and with them (stages_f). The worker takes
 * the second list only in rounds where the fault table it loaded has a
 * fault, so with no fault armed neither stage is in the loop. Their short
 * forms serve a simple policy while the armed table never duplicates (the
 * short path's vectors hold one burst: st_fault_table_grows); with a
 * duplicating fault armed every burst takes the general path.
 * Measurement is mostly an rx-step stage (production rx as mirrored,
 * before any fault; shadow rx), plus measure between impair and tx in this
 * list while measurement is installed: the copies as they leave, after the
 * faults, the shadow side's outgoing half.
 */
#ifndef ST_STAGE_H
#define ST_STAGE_H

#include <stdint.h>

struct rte_mbuf;
struct st_lcore;
struct st_pending;
struct st_policy;

enum st_stage_id {
	ST_STAGE_REWRITE = 0,
	ST_STAGE_FIREWALL,
	ST_STAGE_ENCAP,
	ST_STAGE_MEASURE,              /* shadow side, as sent (measure.h) */
	ST_STAGE_TX,
	ST_STAGE_FAULT_KEY,
	ST_STAGE_IMPAIR,
	ST_STAGE__COUNT
};

typedef uint32_t (*st_stage_fn)(struct st_lcore *lc, const struct st_policy *pol,
				struct st_pending *p, uint32_t n);
typedef uint16_t (*st_stage_short_fn)(struct st_lcore *lc, const struct st_policy *pol,
				      struct rte_mbuf **m, uint16_t n);

/* Stages of the rx step: not in a policy's list, they see every packet a
 * port role receives (core/rx.c), production and shadow side alike, and are
 * on when installed whatever the policy: measure (measure.h: installed with
 * the start plan; off, one load and one branch per burst). */
enum st_rx_stage_id {
	ST_RX_STAGE_MEASURE = 0,
	ST_RX_STAGE__COUNT
};

/* One entry of a compiled policy's list. */
struct st_stage {
	st_stage_fn run;
	st_stage_short_fn run_short;   /* NULL: no short form */
	uint8_t id;                    /* enum st_stage_id */
};

#endif /* ST_STAGE_H */
