/* SPDX-License-Identifier: BSD-3-Clause
 * The copy stage: the decisions of the classify and sample stages become
 * copies in the shadow pool (copy_node.c), before the originals go to
 * production tx. It has no control side of its own: the one thing it reads
 * of a policy, a session's snaplen, is compiled with the session.
 *
 * A truncated copy keeps snaplen bytes, but never less than the headers the
 * rewrite translates, and control-plane payloads it translates whole
 * (st_copy_len). Tap mode: a packet with exactly one copy that is not
 * truncated is taken itself, no copy. Copies of different sessions may leave
 * in session order rather than packet order.
 */
#ifndef ST_COPY_H
#define ST_COPY_H

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "lcore.h"

struct st_policy;

/* One copy to make: packet pkt of the burst for session (index). */
struct st_decision {
	uint16_t pkt;
	uint16_t session;
};

/* What the copy stage needs to know of a burst; packets are bits (a burst
 * is at most 64 packets). */
struct st_burst {
	uint64_t once;          /* packets with at least one copy decided */
	uint64_t multi;         /* ... with two or more (tap mode: no in-place) */
	uint64_t first_done;    /* packets whose first copy exists (anomalies) */
	const uint32_t *hash;   /* flow hashes, or NULL */
};

_Static_assert(ST_BURST_MAX <= 64, "a burst is a 64-bit mask");

/* Packets of the burst that can be classified and copied (bits); a runt,
 * shorter than an Ethernet header, is counted as what it is (and
 * rte_pktmbuf_copy would refuse an empty frame). What the rx check repaired
 * is never offered (rx_check.h). */
static inline uint64_t
st_copy_live(struct st_lcore *lc, struct rte_mbuf *const *pkts, uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const uint64_t nocopy = lc->work.nocopy;
	uint64_t live = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (unlikely(nocopy >> i & 1))
			continue;
		if (likely(rte_pktmbuf_pkt_len(pkts[i]) >= RTE_ETHER_HDR_LEN)) {
			live |= UINT64_C(1) << i;
		} else {
			c->dropped[ST_DROP_MALFORMED]++;
			c->anomalies[ST_ANOM_TRUNC_L2]++;
		}
	}
	return live;
}

/* How many bytes a copy of m truncated to snaplen keeps (len: its length). */
uint32_t st_copy_len(const struct rte_mbuf *m, uint32_t snaplen, uint32_t len);

/* Turn decisions into pending copies (lc->work). `final`: every decision of
 * the burst is known, so a tap-mode packet with exactly one may be taken
 * itself. Copies are allocated in one bulk call. */
void st_copy_materialize(struct st_lcore *lc, const struct st_policy *pol,
			 struct rte_mbuf **pkts, const struct st_decision *dec, uint32_t nd,
			 struct st_burst *b, int final);

#endif /* ST_COPY_H */
