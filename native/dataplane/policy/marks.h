/* SPDX-License-Identifier: BSD-3-Clause
 * The NIC MARKs the software path honours (st_dp_marks_install, policy.h):
 * installed by marks_ctl.c, read on production rx by marks_node.c.
 */
#ifndef ST_MARKS_H
#define ST_MARKS_H

#include <stdint.h>

#include "st_dataplane.h"
#include "policy.h"
#include "lcore.h"

struct rte_mbuf;
struct st_policy;
struct st_rxq;

/* Per start plan port, per session slot, ST_MARK_KIND_* bits. Immutable once
 * published; swapped with the same RCU as the policy, but on its own. Slots
 * are stable across policy swaps, so a policy update does not invalidate
 * it; a slot whose session is gone is simply not honoured. */
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

/* Read the MARKs of a burst (`marked`: the packets carrying one, as bits)
 * into nb, whose fields the caller has zeroed; counts nic_copies,
 * nic_decided and dropped{nic_copy}. A copy-range MARK always lands in
 * nb->drop: whether or not it is installed, it never reaches production. */
void st_nic_marks(struct st_lcore *lc, const struct st_rxq *q, const struct st_policy *pol,
		  const struct st_marks *mk, struct rte_mbuf **pkts, uint64_t marked,
		  struct st_nic_burst *nb);

#endif /* ST_MARKS_H */
